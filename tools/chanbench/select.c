// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: the cost of a select over N cases (1, 8, 64, 512, 1024) with
 * one case ready, against poll() and epoll over N eventfds doing the same
 * job. One thread, pinned to CPU 0; each operation makes one of the N
 * ready (the next one in turn) and then finds and consumes it:
 *
 *   kchan-select   write one message, KCHAN_CTL_SELECT over N receive cases
 *   kchan-poll     write one message, poll() the N channels, read() it
 *   eventfd        write(1) to one eventfd, poll() the N, read() it
 *   eventfd-epoll  write(1) to one eventfd, epoll_wait() on an epoll that
 *                  holds the N (level-triggered), read() it
 *
 * Nothing blocks, so the times are the system calls' own cost. A select
 * and a poll() look at every case each time (O(N)); epoll only at the
 * ready one.
 */
#include "chanbench.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#define SEL_MAX_CASES	1024	/* the default max_select_cases */

enum sel_mech { S_SELECT, S_KPOLL, S_EVENTFD, S_EPOLL, NR_SEL_MECH };

static const char *const sel_names[NR_SEL_MECH] = {
	"kchan-select", "kchan-poll", "eventfd", "eventfd-epoll",
};

static bool sel_eventfd(enum sel_mech m)
{
	return m == S_EVENTFD || m == S_EPOLL;
}

struct sel_ctx {
	enum sel_mech m;
	int n;
	int ctl;
	int epfd;		/* S_EPOLL: holds fds[] */
	int fds[SEL_MAX_CASES];
	struct pollfd pfd[SEL_MAX_CASES];
	struct kchan_case cases[SEL_MAX_CASES];
	char buf[64];
	int next;
};

static void sel_open(struct sel_ctx *c, enum sel_mech m, int n)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->m = m;
	c->n = n;
	c->ctl = open(CHANCTL, O_RDWR | O_CLOEXEC);
	if (c->ctl < 0)
		die(CHANCTL ": %s", strerror(errno));
	c->epfd = m == S_EPOLL ? epoll_create1(EPOLL_CLOEXEC) : -1;
	if (m == S_EPOLL && c->epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		if (sel_eventfd(m))
			c->fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		else
			c->fds[i] = chan_new(1, sizeof(c->buf), O_NONBLOCK);
		if (c->fds[i] < 0)
			die("select bench: %s: %s", sel_names[m],
			    strerror(c->fds[i] == -1 ? errno : -c->fds[i]));
		c->pfd[i] = (struct pollfd){ .fd = c->fds[i], .events = POLLIN };
		c->cases[i] = (struct kchan_case){
			.fd = c->fds[i], .op = KCHAN_OP_RECV,
			.buf = (uintptr_t)c->buf, .len = sizeof(c->buf),
		};
		if (m == S_EPOLL &&
		    epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->fds[i], &ev))
			die("epoll_ctl: %s", strerror(errno));
	}
}

static void sel_close(struct sel_ctx *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		close(c->fds[i]);
	if (c->epfd >= 0)
		close(c->epfd);
	close(c->ctl);
}

/* One operation: make case @next ready, then find and consume it. */
static void sel_op(struct sel_ctx *c)
{
	struct kchan_select req = {
		.cases = (uintptr_t)c->cases, .ncases = c->n,
	};
	struct epoll_event ev;
	uint64_t one = 1;
	int k = c->next, i;

	c->next = (k + 1) % c->n;
	if (sel_eventfd(c->m)) {
		if (write(c->fds[k], &one, 8) != 8)
			die("eventfd write: %s", strerror(errno));
	} else if (write(c->fds[k], "ready", 5) != 5) {
		die("kchan write: %s", strerror(errno));
	}
	if (c->m == S_SELECT) {
		i = ioctl(c->ctl, KCHAN_CTL_SELECT, &req);
		if (i != k)
			die("select returned %d, not %d: %s", i, k,
			    strerror(errno));
		return;
	}
	if (c->m == S_EPOLL) {
		if (epoll_wait(c->epfd, &ev, 1, -1) != 1 || ev.data.u32 != (uint32_t)k)
			die("epoll_wait did not find the ready fd");
	} else if (poll(c->pfd, c->n, -1) != 1 ||
		   !(c->pfd[k].revents & POLLIN)) {
		die("poll did not find the ready fd");
	}
	if (read(c->fds[k], c->buf, sel_eventfd(c->m) ? 8 : sizeof(c->buf)) <= 0)
		die("read: %s", strerror(errno));
}

/* Time @iters operations; ns per operation. */
static double sel_batch(struct sel_ctx *c, long iters)
{
	uint64_t t0 = now_ns();
	long i;

	for (i = 0; i < iters; i++)
		sel_op(c);
	return (double)(now_ns() - t0) / iters;
}

void bench_select(void)
{
	static const int sizes[] = { 1, 8, 64, 512, SEL_MAX_CASES };
	static struct sel_ctx ctx[NR_SEL_MECH];
	double t[NR_SEL_MECH][MAX_RUNS];
	int runs = opt.runs, s, m, r;

	raise_nofile(NR_SEL_MECH * SEL_MAX_CASES + 256);
	pin(0);
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		int group = new_group(), n = sizes[s];
		long iters;

		progress("select, %d cases", n);
		for (m = 0; m < NR_SEL_MECH; m++)
			sel_open(&ctx[m], m, n);
		/*
		 * Calibrate on the slowest-looking one: poll over eventfds.
		 * --quick times 100, so it neither warms up nor probes.
		 */
		iters = 100;
		if (!opt.quick) {
			sel_batch(&ctx[S_EVENTFD], 50);
			iters = batch_iters(sel_batch(&ctx[S_EVENTFD], 200));
		}
		alarm(BATCH_TIMEOUT_S);
		for (r = 0; r < runs; r++)
			for (m = 0; m < NR_SEL_MECH; m++)
				t[m][r] = sel_batch(&ctx[m], iters);
		alarm(0);
		for (m = 0; m < NR_SEL_MECH; m++) {
			struct row *row = new_row(group);

			strcpy(row->bench, "select");
			snprintf(row->mech, sizeof(row->mech), "%s",
				 sel_names[m]);
			strcpy(row->cap, sel_eventfd(m) ? "-" : "1");
			snprintf(row->mode, sizeof(row->mode), "%d cases", n);
			strcpy(row->place, "cpu0");
			row->size = sel_eventfd(m) ? 8 : 5;
			row->iters = iters;
			row_set_runs(row, t[m], runs);
			row->sys_op = m == S_SELECT ? 2 : 3;
			row->sw_op = 0;
			row->wk_op = 0;
			snprintf(row->note, sizeof(row->note),
				 "one of %d ready: make it ready, find it, take it", n);
			sel_close(&ctx[m]);
		}
		group_ratios(group);
	}
	unpin();
}
