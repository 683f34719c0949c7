// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: an event loop that waits on an armed select over N channels
 * (1, 8, 64, 512, 1024) again and again, one of them made ready per
 * event, against epoll over N eventfds doing the same job. One thread,
 * pinned to CPU 0; each event makes the next one in turn ready, waits
 * for it in epoll_wait() and takes it:
 *
 *   kchan-persist  the N receive cases armed once with
 *                  KCHAN_SELECT_PERSIST: write one message, epoll_wait()
 *                  on an epoll that holds the select file, read() it
 *   kchan-rearm    the same loop armed one-shot: KCHAN_SEL_ARM all N
 *                  cases, write, epoll_wait(), read() (which disarms)
 *   eventfd-epoll  write(1) to one eventfd, epoll_wait() on an epoll that
 *                  holds the N (level-triggered), read() it
 *
 * Nothing blocks, so the times are the system calls' own cost. A one-shot
 * arm offers and withdraws every case per event (O(N)); a persistent
 * select and epoll only touch the ready one. T8 wants kchan-persist's
 * time per event at N = 1024 within 1.2x of N = 1.
 */
#include "chanbench.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#define EV_MAX_CASES	1024	/* the default max_select_cases */

enum ev_mech { E_PERSIST, E_REARM, E_EPOLL, NR_EV_MECH };

static const char *const ev_names[NR_EV_MECH] = {
	"kchan-persist", "kchan-rearm", "eventfd-epoll",
};

struct ev_ctx {
	enum ev_mech m;
	int n;
	int ctl;
	int sfd;		/* kchan: the select file, in epfd */
	int epfd;
	int fds[EV_MAX_CASES];
	struct kchan_case cases[EV_MAX_CASES];
	char buf[64];
	int next;
};

static void ev_arm(struct ev_ctx *c, unsigned int flags)
{
	struct kchan_select req = {
		.cases = (uintptr_t)c->cases, .ncases = c->n, .flags = flags,
	};

	if (ioctl(c->sfd, KCHAN_SEL_ARM, &req))
		die("KCHAN_SEL_ARM: %s (case %d)", strerror(errno), req.index);
}

static void ev_open(struct ev_ctx *c, enum ev_mech m, int n)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EV_MAX_CASES };
	int i;

	memset(c, 0, sizeof(*c));
	c->m = m;
	c->n = n;
	c->sfd = -1;
	c->ctl = open(CHANCTL, O_RDWR | O_CLOEXEC);
	if (c->ctl < 0)
		die(CHANCTL ": %s", strerror(errno));
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		if (m == E_EPOLL)
			c->fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		else
			c->fds[i] = chan_new(1, sizeof(c->buf), O_NONBLOCK);
		if (c->fds[i] < 0)
			die("evloop bench: %s: %s", ev_names[m],
			    strerror(c->fds[i] == -1 ? errno : -c->fds[i]));
		c->cases[i] = (struct kchan_case){
			.fd = c->fds[i], .op = KCHAN_OP_RECV,
			.buf = (uintptr_t)c->buf, .len = sizeof(c->buf),
		};
		ev.data.u32 = i;
		if (m == E_EPOLL &&
		    epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->fds[i], &ev))
			die("epoll_ctl: %s", strerror(errno));
	}
	if (m == E_EPOLL)
		return;
	c->sfd = ioctl(c->ctl, KCHAN_CTL_SELECT_FD, O_CLOEXEC | O_NONBLOCK);
	if (c->sfd < 0)
		die("KCHAN_CTL_SELECT_FD: %s", strerror(errno));
	ev.data.u32 = EV_MAX_CASES;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->sfd, &ev))
		die("epoll_ctl: %s", strerror(errno));
	if (m == E_PERSIST)
		ev_arm(c, KCHAN_SELECT_PERSIST);
}

static void ev_close(struct ev_ctx *c)
{
	int i;

	if (c->sfd >= 0)
		close(c->sfd);
	for (i = 0; i < c->n; i++)
		close(c->fds[i]);
	close(c->epfd);
	close(c->ctl);
}

/* One event: make case @next ready, wait for it, take it. */
static void ev_op(struct ev_ctx *c)
{
	struct kchan_select_result res;
	struct epoll_event ev;
	uint64_t one = 1;
	int k = c->next;

	c->next = (k + 1) % c->n;
	if (c->m == E_REARM)
		ev_arm(c, 0);
	if (c->m == E_EPOLL) {
		if (write(c->fds[k], &one, 8) != 8)
			die("eventfd write: %s", strerror(errno));
	} else if (write(c->fds[k], "ready", 5) != 5) {
		die("kchan write: %s", strerror(errno));
	}
	if (epoll_wait(c->epfd, &ev, 1, -1) != 1)
		die("epoll_wait: %s", strerror(errno));
	if (c->m == E_EPOLL) {
		if (ev.data.u32 != (uint32_t)k || read(c->fds[k], &one, 8) != 8)
			die("epoll_wait did not find the ready eventfd");
		return;
	}
	if (read(c->sfd, &res, sizeof(res)) != sizeof(res))
		die("select file read: %s", strerror(errno));
	if (res.index != k || res.result != 5)
		die("%s collected case %d (%lld), not %d", ev_names[c->m],
		    res.index, (long long)res.result, k);
}

/* Time @iters events; ns per event. */
static double ev_batch(struct ev_ctx *c, long iters)
{
	uint64_t t0 = now_ns();
	long i;

	for (i = 0; i < iters; i++)
		ev_op(c);
	return (double)(now_ns() - t0) / iters;
}

void bench_evloop(void)
{
	static const int sizes[] = { 1, 8, 64, 512, EV_MAX_CASES };
	static const char *const notes[NR_EV_MECH] = {
		"armed once, KCHAN_SELECT_PERSIST: write, epoll_wait, read",
		"KCHAN_SEL_ARM per event: arm, write, epoll_wait, read",
		"write, epoll_wait, read",
	};
	static struct ev_ctx ctx[NR_EV_MECH];
	double t[NR_EV_MECH][MAX_RUNS];
	int runs = opt.runs, s, m, r;

	raise_nofile(NR_EV_MECH * (EV_MAX_CASES + 4) + 256);
	pin(0);
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		int group = new_group(), n = sizes[s];
		long iters;

		progress("evloop, %d cases", n);
		for (m = 0; m < NR_EV_MECH; m++)
			ev_open(&ctx[m], m, n);
		/*
		 * Calibrate on the one that grows with N: the one-shot arm.
		 * --quick times 100, so it neither warms up nor probes.
		 */
		iters = 100;
		if (!opt.quick) {
			ev_batch(&ctx[E_REARM], 20);
			iters = batch_iters(ev_batch(&ctx[E_REARM], 100));
		}
		alarm(BATCH_TIMEOUT_S);
		for (r = 0; r < runs; r++)
			for (m = 0; m < NR_EV_MECH; m++)
				t[m][r] = ev_batch(&ctx[m], iters);
		alarm(0);
		for (m = 0; m < NR_EV_MECH; m++) {
			struct row *row = new_row(group);

			strcpy(row->bench, "evloop");
			snprintf(row->mech, sizeof(row->mech), "%s",
				 ev_names[m]);
			strcpy(row->cap, m == E_EPOLL ? "-" : "1");
			snprintf(row->mode, sizeof(row->mode), "%d cases", n);
			strcpy(row->place, "cpu0");
			strcpy(row->unit, "ns/event");
			row->size = m == E_EPOLL ? 8 : 5;
			row->iters = iters;
			row_set_runs(row, t[m], runs);
			row->sys_op = m == E_REARM ? 4 : 3;
			row->sw_op = 0;
			row->wk_op = 0;
			snprintf(row->note, sizeof(row->note), "one of %d: %s",
				 n, notes[m]);
			ev_close(&ctx[m]);
		}
		group_ratios(group);
	}
	unpin();
}
