// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: what libkchan's kchan_select() costs over what it is made of.
 * One thread pinned to CPU 0 (and a feeder on CPU 0 too when the select
 * waits); each operation makes one case ready and then finds and takes it.
 *
 *   channels (8 cases, one ready, nothing waits):
 *     kchan-select   write one message, KCHAN_CTL_SELECT by hand
 *     lib-select     write one message, kchan_select()
 *   each checking the case taken and its length, the two arms in short
 *   slices that take turns (see lch_run()).
 *   mixed (a channel and a socket, one ready in turn, nothing waits):
 *     lib-epoll      kchan_select() on the epoll backend
 *     lib-uring      kchan_select() on the io_uring backend
 *     eventfd        the same job by hand on two eventfds: epoll_wait()
 *                    on both, read() the ready one
 *   mixed-wait (the same, but the select waits and a feeder thread makes
 *   one side ready, then waits for the selector's acknowledgement):
 *     lib-epoll, lib-uring, eventfd  as above
 *
 * The library's system calls per op are those tests/lib_select counts
 * with ptrace for the same select (the feeding write included here, as
 * in the select bench).
 */
#include "chanbench.h"

#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <libkchan.h>

#define CHAN_CASES	8

/* channels only */

enum { L_RAW, L_LIB, NR_L };

static const char *const l_names[NR_L] = { "kchan-select", "lib-select" };

struct lch {
	int m, ctl, next;
	int fds[CHAN_CASES];
	struct kchan_case cases[CHAN_CASES];
	struct kchan_op ops[CHAN_CASES];
	char buf[64];
};

static void lch_open(struct lch *c, int m)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->m = m;
	c->ctl = open(CHANCTL, O_RDWR | O_CLOEXEC);
	if (c->ctl < 0)
		die(CHANCTL ": %s", strerror(errno));
	for (i = 0; i < CHAN_CASES; i++) {
		c->fds[i] = chan_new(1, sizeof(c->buf), O_NONBLOCK);
		if (c->fds[i] < 0)
			die("libselect: channel: %s", strerror(-c->fds[i]));
		c->cases[i] = (struct kchan_case){
			.fd = c->fds[i], .op = KCHAN_OP_RECV,
			.buf = (uintptr_t)c->buf, .len = sizeof(c->buf),
		};
		c->ops[i] = (struct kchan_op){
			.fd = c->fds[i], .kind = KCHAN_RECV,
			.buf = c->buf, .len = sizeof(c->buf),
		};
	}
}

static void lch_close(struct lch *c)
{
	int i;

	for (i = 0; i < CHAN_CASES; i++)
		close(c->fds[i]);
	close(c->ctl);
}

/*
 * Both arms do the same work around the select: make case k ready, select,
 * check the case taken and the length it moved (req.len by hand, the op's
 * result from the library).
 */
static void lch_op(struct lch *c)
{
	struct kchan_select req = {
		.cases = (uintptr_t)c->cases, .ncases = CHAN_CASES,
	};
	int k = c->next, i;
	long moved;

	c->next = (k + 1) % CHAN_CASES;
	if (write(c->fds[k], "ready", 5) != 5)
		die("kchan write: %s", strerror(errno));
	if (c->m == L_RAW) {
		i = ioctl(c->ctl, KCHAN_CTL_SELECT, &req);
		moved = i == k ? (long)req.len : -1;
	} else {
		i = kchan_select(c->ops, CHAN_CASES, 0, KCHAN_FOREVER);
		moved = i == k ? (long)c->ops[k].result : -1;
	}
	if (i != k || moved != 5)
		die("select returned %d (%ld bytes), not %d (5)", i, moved, k);
}

/* mixed: a channel and a socket, or two eventfds */

enum { X_EPOLL, X_URING, X_EVENTFD, NR_X };

static const char *const x_names[NR_X] = { "lib-epoll", "lib-uring", "eventfd" };

struct mixed {
	int m;
	bool wait;
	int fd[2];		/* what the selector waits on */
	int feed[2];		/* where the feeder makes them ready */
	int ack;		/* eventfd: the selector took one (wait only) */
	int epfd;		/* eventfd: the epoll over fd[] */
	int next;
	long ops;		/* wait: how many the feeder makes ready */
	pthread_t feeder;
	char buf[64];
};

static void make_ready(struct mixed *x, int k)
{
	uint64_t one = 1;
	ssize_t n;

	if (x->m == X_EVENTFD)
		n = write(x->feed[k], &one, 8) == 8 ? 0 : -errno;
	else if (k == 0)
		n = write(x->feed[0], "ready", 5) == 5 ? 0 : -errno;
	else
		n = write(x->feed[1], "r", 1) == 1 ? 0 : -errno;
	if (n)
		die("libselect: make ready: %s", strerror((int)-n));
}

/* Find the ready one and take it; which one it was. */
static int take(struct mixed *x)
{
	struct kchan_op ops[2] = {
		{ .fd = x->fd[0], .kind = KCHAN_RECV, .buf = x->buf, .len = sizeof(x->buf) },
		{ .fd = x->fd[1], .kind = KCHAN_RECV, .buf = x->buf, .len = 1 },
	};
	struct epoll_event ev;
	uint64_t v;
	int k;

	if (x->m != X_EVENTFD) {
		k = kchan_select(ops, 2, 0, KCHAN_FOREVER);
		if (k < 0)
			die("kchan_select: %s", strerror(-k));
		return k;
	}
	if (epoll_wait(x->epfd, &ev, 1, -1) != 1)
		die("epoll_wait: %s", strerror(errno));
	k = (int)ev.data.u32;
	if (read(x->fd[k], &v, 8) != 8)
		die("eventfd read: %s", strerror(errno));
	return k;
}

static void *feeder(void *arg)
{
	struct mixed *x = arg;
	uint64_t v;
	long i;

	pin(0);
	for (i = 0; i < x->ops; i++) {
		make_ready(x, (int)(i & 1));
		if (read(x->ack, &v, 8) != 8)
			die("ack read: %s", strerror(errno));
	}
	return NULL;
}

static void mixed_open(struct mixed *x, int m, bool wait)
{
	int sv[2], i;

	memset(x, 0, sizeof(*x));
	x->m = m;
	x->wait = wait;
	x->epfd = -1;
	if (m == X_EVENTFD) {
		x->epfd = epoll_create1(EPOLL_CLOEXEC);
		for (i = 0; i < 2; i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

			x->fd[i] = x->feed[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (x->fd[i] < 0 || epoll_ctl(x->epfd, EPOLL_CTL_ADD, x->fd[i], &ev))
				die("libselect: eventfd: %s", strerror(errno));
		}
	} else {
		x->fd[0] = x->feed[0] = chan_new(1, sizeof(x->buf), 0);
		if (x->fd[0] < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			die("libselect: channel or socket: %s", strerror(errno));
		x->fd[1] = sv[0];
		x->feed[1] = sv[1];
	}
	x->ack = eventfd(0, EFD_CLOEXEC);
	if (x->ack < 0)
		die("libselect: eventfd: %s", strerror(errno));
}

static void mixed_close(struct mixed *x)
{
	close(x->fd[0]);
	close(x->fd[1]);
	if (x->feed[1] != x->fd[1])
		close(x->feed[1]);
	close(x->ack);
	if (x->epfd >= 0)
		close(x->epfd);
}

static double mixed_batch(struct mixed *x, long iters)
{
	uint64_t t0, one = 1;
	long i;

	kchan_set_backend(x->m == X_URING ? KCHAN_BACKEND_URING : KCHAN_BACKEND_EPOLL);
	if (x->wait) {
		x->ops = iters;
		if (pthread_create(&x->feeder, NULL, feeder, x))
			die("pthread_create");
	}
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		int k;

		if (!x->wait)
			make_ready(x, x->next);
		k = take(x);
		if (k != (x->wait ? (int)(i & 1) : x->next))
			die("libselect: took %d", k);
		x->next ^= 1;
		if (x->wait && write(x->ack, &one, 8) != 8)
			die("ack write: %s", strerror(errno));
	}
	t0 = now_ns() - t0;
	if (x->wait)
		pthread_join(x->feeder, NULL);
	x->next = 0;
	return (double)t0 / iters;
}

static double lch_batch(struct lch *c, long iters)
{
	uint64_t t0 = now_ns();
	long i;

	for (i = 0; i < iters; i++)
		lch_op(c);
	return (double)(now_ns() - t0) / iters;
}

/*
 * One run of each arm, ns/op in @t: LCH_SLICES slices of each, the arms
 * taking turns to go first (A B B A ...), so that a stretch of host load
 * falls on both arms alike rather than on whichever ran then. The two
 * differ by a few percent, well inside what one loaded stretch does.
 */
#define LCH_SLICES	16

static void lch_run(struct lch *c, long iters, double *t)
{
	long per = iters / LCH_SLICES > 0 ? iters / LCH_SLICES : 1;
	double sum[NR_L] = { 0 };
	int s, j, m;

	for (s = 0; s < LCH_SLICES; s++)
		for (j = 0; j < NR_L; j++) {
			m = s & 1 ? NR_L - 1 - j : j;
			sum[m] += lch_batch(&c[m], per);
		}
	for (m = 0; m < NR_L; m++)
		t[m] = sum[m] / LCH_SLICES;
}

static void bench_channels(void)
{
	double t[NR_L][MAX_RUNS];
	struct lch c[NR_L];
	int group = new_group(), m, r;
	long iters;

	progress("libselect, %d channels", CHAN_CASES);
	for (m = 0; m < NR_L; m++)
		lch_open(&c[m], m);
	iters = 100;
	if (!opt.quick) {
		lch_batch(&c[L_LIB], 50);
		iters = batch_iters(lch_batch(&c[L_LIB], 200));
	}
	alarm(BATCH_TIMEOUT_S);
	for (r = 0; r < opt.runs; r++) {
		double run[NR_L];

		lch_run(c, iters, run);
		for (m = 0; m < NR_L; m++)
			t[m][r] = run[m];
	}
	alarm(0);
	for (m = 0; m < NR_L; m++) {
		struct row *row = new_row(group);

		strcpy(row->bench, "libselect");
		strcpy(row->mech, l_names[m]);
		strcpy(row->cap, "1");
		snprintf(row->mode, sizeof(row->mode), "%d cases", CHAN_CASES);
		strcpy(row->place, "cpu0");
		row->size = 5;
		row->iters = iters;
		row_set_runs(row, t[m], opt.runs);
		row->sys_op = 2;	/* the write, one KCHAN_CTL_SELECT */
		row->sw_op = row->wk_op = 0;
		lch_close(&c[m]);
	}
	row_ratio_note(group, "lib-select", "kchan-select", "the raw KCHAN_CTL_SELECT");
}

static void bench_mixed(bool wait)
{
	/*
	 * The selector's calls per op: the feeding write (ready) or the
	 * acknowledgement (wait) and the select's own, which
	 * tests/lib_select counts with ptrace for this very select.
	 */
	static const double sys_ready[NR_X] = { 3, 3, 3 };
	static const double sys_wait[NR_X] = { 3.62, 6.12, 3 };
	double t[NR_X][MAX_RUNS];
	struct mixed x[NR_X];
	int group = new_group(), m, r;
	long iters;

	progress("libselect, a channel and a socket%s", wait ? ", waiting" : "");
	pin(0);
	for (m = 0; m < NR_X; m++)
		mixed_open(&x[m], m, wait);
	iters = 100;
	if (!opt.quick) {
		mixed_batch(&x[X_EPOLL], 20);
		iters = batch_iters(mixed_batch(&x[X_EPOLL], wait ? 50 : 200));
	}
	if (wait && iters > 20000)
		iters = 20000;
	alarm(BATCH_TIMEOUT_S);
	for (r = 0; r < opt.runs; r++)
		for (m = 0; m < NR_X; m++)
			t[m][r] = mixed_batch(&x[m], iters);
	alarm(0);
	for (m = 0; m < NR_X; m++) {
		struct row *row = new_row(group);

		strcpy(row->bench, "libselect");
		strcpy(row->mech, x_names[m]);
		strcpy(row->cap, m == X_EVENTFD ? "-" : "1");
		strcpy(row->mode, wait ? "mixed-wait" : "mixed");
		strcpy(row->place, "cpu0");
		row->size = m == X_EVENTFD ? 8 : 5;
		row->iters = iters;
		row_set_runs(row, t[m], opt.runs);
		row->sys_op = wait ? sys_wait[m] : sys_ready[m];
		row->sw_op = row->wk_op = NAN;
		snprintf(row->note, sizeof(row->note), "%s",
			 m == X_EVENTFD ? "epoll_wait + read, two eventfds" :
			 !wait ? "poll + read, 0 io_uring_enter: no backend" :
			 m == X_URING ? "1 io_uring_enter per op" :
			 "2 calls if the channel wins, 3 if the socket");
		mixed_close(&x[m]);
	}
	group_ratios(group);
	unpin();
}

void bench_libselect(void)
{
	pin(0);
	bench_channels();
	unpin();
	bench_mixed(false);
	bench_mixed(true);
}
