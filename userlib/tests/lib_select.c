// SPDX-License-Identifier: GPL-2.0
/*
 * kchan_select(): channels alone (one KCHAN_CTL_SELECT), and channels mixed
 * with other descriptors (armed select file + epoll or io_uring: this
 * program is built once per backend). Exactly one op completes.
 */
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "lib_test.h"

#define MSG_MAX		64
#define RACE_ROUNDS	200

static struct kchan_op op_recv(int fd, void *buf, size_t len)
{
	return (struct kchan_op){ .fd = fd, .kind = KCHAN_RECV, .buf = buf, .len = len };
}

static struct kchan_op op_send(int fd, const void *msg, size_t len)
{
	return (struct kchan_op){ .fd = fd, .kind = KCHAN_SEND, .buf = (void *)msg, .len = len };
}

static struct kchan_op op_ready(int fd, int kind)
{
	return (struct kchan_op){ .fd = fd, .kind = kind };
}

FIXTURE(sel) {
	int ch[3];
	int pipe[2];
	int efd;
};

FIXTURE_SETUP(sel)
{
	int i;

	for (i = 0; i < 3; i++) {
		self->ch[i] = kchan_make(1, MSG_MAX, 0);
		ASSERT_LE(0, self->ch[i]);
	}
	ASSERT_EQ(0, pipe2(self->pipe, O_CLOEXEC));
	self->efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, self->efd);
}

FIXTURE_TEARDOWN(sel)
{
	int i;

	for (i = 0; i < 3; i++)
		close(self->ch[i]);
	close(self->pipe[0]);
	close(self->pipe[1]);
	close(self->efd);
}

TEST_F(sel, the_ready_channel_op_completes_and_says_what_moved)
{
	char a[MSG_MAX], b[MSG_MAX];
	struct kchan_op ops[3];

	ASSERT_EQ(4, kchan_send(self->ch[1], "ping", 4, 0));
	ops[0] = op_recv(self->ch[0], a, sizeof(a));
	ops[1] = op_recv(self->ch[1], b, sizeof(b));
	ops[2] = op_recv(-1, NULL, 0);
	EXPECT_EQ(1, kchan_select(ops, 3, 0, KCHAN_FOREVER));
	EXPECT_EQ(4, ops[1].result);
	EXPECT_EQ(0, memcmp(b, "ping", 4));
	EXPECT_EQ(-EAGAIN, ops[0].result);
	ops[0] = op_send(self->ch[0], "pong", 4);
	EXPECT_EQ(0, kchan_select(ops, 3, 0, 0));
	EXPECT_EQ(4, ops[0].result);
	EXPECT_EQ(1u, lt_stat(self->ch[0]).queued);
}

/* In a traced child: three channels, one ready. */
struct three {
	int *ch;
	int64_t deadline;
};

static int select_three(void *arg)
{
	struct three *t = arg;
	char a[MSG_MAX], b[MSG_MAX], c[MSG_MAX];
	struct kchan_op ops[3] = {
		op_recv(t->ch[0], a, sizeof(a)), op_recv(t->ch[1], b, sizeof(b)),
		op_send(t->ch[2], "x", 1),
	};
	int ret = kchan_select(ops, 3, 0, t->deadline);

	(void)c;
	return ret == 1 && ops[1].result == 2 ? 0 : 1;
}

TEST_F(sel, channels_alone_are_one_kchan_ctl_select)
{
	struct three t = { .ch = self->ch };
	struct lt_count c;

	ASSERT_EQ(1, kchan_send(self->ch[2], "f", 1, 0));	/* send op not ready */
	ASSERT_EQ(2, kchan_send(self->ch[1], "ok", 2, 0));
	t.deadline = KCHAN_FOREVER;
	EXPECT_EQ(0, lt_count_syscalls(select_three, &t, &c));
	EXPECT_EQ(1u, c.syscalls);
	EXPECT_EQ(1u, c.ioctls);
	ASSERT_EQ(2, kchan_send(self->ch[1], "ok", 2, 0));
	t.deadline = kchan_in(LT_WAIT_MS * LT_MS);
	EXPECT_EQ(0, lt_count_syscalls(select_three, &t, &c));
	EXPECT_EQ(1u, c.syscalls);
	EXPECT_EQ(1u, c.ioctls);
}

/*
 * The cost of a mixed select, in system calls per completed op, over a
 * channel and a socket (the selector's end, sv[0]), once the thread's
 * select state is warm. Two ways an op comes:
 *
 *   ready:     both sides hold items before the select is called;
 *   blocking:  the select waits, and another thread of the tracer makes
 *              one side ready (channel and socket in turn).
 *
 * The ceilings: the epoll backend at most 3 calls per op whether
 * something is ready or it waits (arm the select file with the socket as
 * a readiness case, read it, and read the socket if that is what it
 * returned; a probe now and then); the io_uring backend at most one
 * io_uring_enter per op.
 */
#define COST_OPS	16

struct cost {
	int ch, sv[2];
	int pid_pipe[2];
	bool blocking;
	unsigned int took[2];
};

static bool cost_uring(void)
{
	return lt_mixed_wait_nr() == SYS_io_uring_enter;
}

static int cost_select(struct cost *c)
{
	char m[MSG_MAX], b;
	struct kchan_op ops[2] = {
		op_recv(c->ch, m, sizeof(m)), op_recv(c->sv[0], &b, 1),
	};
	int ret = kchan_select(ops, 2, 0, KCHAN_FOREVER);

	if (ret < 0 || ops[ret].result != 1)
		return -1;
	c->took[ret]++;
	return 0;
}

/* Before counting: warm-up selects, then what the rounds need. */
static int cost_setup(void *arg)
{
	struct cost *c = arg;
	pid_t pid = getpid();
	int i;

	for (i = 0; i < 8; i++) {
		if (kchan_send(c->ch, "w", 1, 0) != 1 || write(c->sv[1], "w", 1) != 1)
			return -1;
		if (cost_select(c) || cost_select(c))
			return -1;
	}
	if (c->blocking)
		return write(c->pid_pipe[1], &pid, sizeof(pid)) == sizeof(pid) ? 0 : -1;
	for (i = 0; i < COST_OPS / 2; i++)
		if (kchan_send(c->ch, "r", 1, 0) != 1 || write(c->sv[1], "r", 1) != 1)
			return -1;
	return 0;
}

static int cost_rounds(void *arg)
{
	struct cost *c = arg;
	int i;

	c->took[0] = c->took[1] = 0;
	for (i = 0; i < COST_OPS; i++)
		if (cost_select(c))
			return 1;
	/* Each side gave what was put in it, nothing more. */
	if (!c->blocking && (c->took[0] != COST_OPS / 2 || c->took[1] != COST_OPS / 2))
		return 2;
	return 0;
}

/* In the tracer: make one side ready each time the select waits. */
static void *cost_feed(void *arg)
{
	struct cost *c = arg;
	struct pollfd pfd = { .fd = c->sv[0], .events = POLLIN };
	pid_t pid;
	int i;

	if (read(c->pid_pipe[0], &pid, sizeof(pid)) != sizeof(pid))
		return (void *)1;
	for (i = 0; i < COST_OPS; i++) {
		if (lt_wait_sleeping_in(pid, lt_mixed_wait_nr()))
			return (void *)2;
		if (i & 1 ? write(c->sv[1], "f", 1) != 1 : kchan_send(c->ch, "f", 1, 0) != 1)
			return (void *)3;
		/* Taken before the next wait counts. */
		while (lt_stat(c->ch).queued || poll(&pfd, 1, 0) == 1)
			lt_sleep_ms(1);
	}
	return NULL;
}

static void cost_log(struct __test_metadata *_metadata, const char *what,
		     const struct lt_count *c)
{
	char line[512];
	int len = 0, nr;

	for (nr = 0; nr < 512; nr++)
		if (c->by_nr[nr] && len < (int)sizeof(line) - 32)
			len += snprintf(line + len, sizeof(line) - len, " %d:%u",
					nr, c->by_nr[nr]);
	TH_LOG("%s, %s backend: %u calls for %d ops (%.2f per op); by number:%s",
	       what, cost_uring() ? "io_uring" : "epoll", c->syscalls, COST_OPS,
	       (double)c->syscalls / COST_OPS, line);
}

static void cost_check(struct __test_metadata *_metadata, bool blocking)
{
	struct cost c = { .blocking = blocking };
	struct lt_count n;
	pthread_t feeder;

	c.ch = kchan_make(COST_OPS, MSG_MAX, 0);
	ASSERT_LE(0, c.ch);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c.sv));
	ASSERT_EQ(0, pipe2(c.pid_pipe, O_CLOEXEC));
	if (blocking)
		ASSERT_EQ(0, pthread_create(&feeder, NULL, cost_feed, &c));
	EXPECT_EQ(0, lt_count_syscalls_after(cost_setup, cost_rounds, &c, &n));
	if (blocking) {
		void *fed;

		pthread_join(feeder, &fed);
		EXPECT_EQ(NULL, fed);
	}
	cost_log(_metadata, blocking ? "blocking" : "ready", &n);
	/* Nothing left behind, nothing taken twice. */
	EXPECT_EQ(0u, lt_stat(c.ch).queued);
	EXPECT_EQ(-1, recv(c.sv[0], &(char){ 0 }, 1, MSG_DONTWAIT));
	if (cost_uring()) {
		EXPECT_GE((unsigned int)COST_OPS, n.by_nr[SYS_io_uring_enter]);
	} else {
		EXPECT_GE(3u * COST_OPS, n.syscalls);
	}
	close(c.ch);
	close(c.sv[0]);
	close(c.sv[1]);
	close(c.pid_pipe[0]);
	close(c.pid_pipe[1]);
}

TEST(a_mixed_select_with_an_op_ready_costs_at_most_its_ceiling)
{
	cost_check(_metadata, false);
}

TEST(a_mixed_select_that_waits_costs_at_most_its_ceiling)
{
	cost_check(_metadata, true);
}

TEST_F(sel, nothing_ready_and_deadline_zero_is_eagain)
{
	char a[MSG_MAX], b[8];
	struct kchan_op ops[2] = {
		op_recv(self->ch[0], a, sizeof(a)), op_recv(self->pipe[0], b, sizeof(b)),
	};

	EXPECT_EQ(-EAGAIN, kchan_select(ops, 1, 0, 0));
	EXPECT_EQ(-EAGAIN, kchan_select(ops, 2, 0, 0));
	EXPECT_EQ(-EAGAIN, kchan_select(NULL, 0, 0, 0));
	/* Nothing was left armed: a non-blocking send finds no receiver. */
	EXPECT_EQ(0u, lt_stat(self->ch[0]).receivers);
}

TEST_F(sel, the_deadline_gives_etimedout_not_before)
{
	char a[MSG_MAX], b[8];
	struct kchan_op ops[2] = {
		op_recv(self->ch[0], a, sizeof(a)), op_recv(self->pipe[0], b, sizeof(b)),
	};
	int64_t d;

	d = kchan_in(50 * LT_MS);
	EXPECT_EQ(-ETIMEDOUT, kchan_select(ops, 1, 0, d));
	EXPECT_LE(d, kchan_now());
	d = kchan_in(50 * LT_MS);
	EXPECT_EQ(-ETIMEDOUT, kchan_select(ops, 2, 0, d));
	EXPECT_LE(d, kchan_now());
	d = kchan_in(50 * LT_MS);
	EXPECT_EQ(-ETIMEDOUT, kchan_select(NULL, 0, 0, d));
	EXPECT_LE(d, kchan_now());
	EXPECT_EQ(0u, lt_stat(self->ch[0]).receivers);
}

TEST_F(sel, nil_ops_are_never_ready)
{
	struct kchan_op ops[4] = {
		op_recv(-1, NULL, 0), op_send(-1, "x", 1),
		op_ready(-1, KCHAN_READABLE), op_ready(-1, KCHAN_WRITABLE),
	};

	EXPECT_EQ(-EAGAIN, kchan_select(ops, 2, 0, 0));
	EXPECT_EQ(-ETIMEDOUT, kchan_select(ops, 4, 0, kchan_in(20 * LT_MS)));
}

TEST_F(sel, a_closed_channel_is_ready_with_0_and_a_send_on_it_is_epipe)
{
	char a[MSG_MAX];
	struct kchan_op ops[2] = {
		op_recv(self->ch[0], a, sizeof(a)), op_recv(self->pipe[0], a, sizeof(a)),
	};

	ASSERT_EQ(0, kchan_close(self->ch[0]));
	EXPECT_EQ(0, kchan_select(ops, 1, 0, KCHAN_FOREVER));
	EXPECT_EQ(0, ops[0].result);
	EXPECT_EQ(0, kchan_select(ops, 2, 0, KCHAN_FOREVER));
	EXPECT_EQ(0, ops[0].result);
	ops[0] = op_send(self->ch[0], "x", 1);
	EXPECT_EQ(-EPIPE, kchan_select(ops, 1, 0, KCHAN_FOREVER));
	EXPECT_EQ(-EPIPE, ops[0].result);
	EXPECT_EQ(-EPIPE, kchan_select(ops, 2, 0, KCHAN_FOREVER));
	EXPECT_EQ(-EPIPE, ops[0].result);
}

TEST_F(sel, a_bad_fd_fails_the_select_and_names_the_op)
{
	char a[MSG_MAX];
	struct kchan_op ops[2] = {
		op_recv(self->ch[0], a, sizeof(a)), op_recv(1000, a, sizeof(a)),
	};

	EXPECT_EQ(-EBADF, kchan_select(ops, 2, 0, 0));
	EXPECT_EQ(-EBADF, ops[1].result);
	ops[1] = op_ready(1000, KCHAN_READABLE);
	EXPECT_EQ(-EBADF, kchan_select(ops, 2, 0, 0));
	EXPECT_EQ(-EBADF, ops[1].result);
	ops[1].kind = 99;
	EXPECT_EQ(-EINVAL, kchan_select(ops, 2, 0, 0));
	EXPECT_EQ(-EINVAL, kchan_select(ops, 1, 1U << 7, 0));
}

TEST_F(sel, priority_takes_the_first_ready_op_and_random_takes_both)
{
	char a[MSG_MAX], b[MSG_MAX];
	struct kchan_op ops[3] = {
		op_recv(self->ch[0], a, sizeof(a)), op_recv(self->ch[1], b, sizeof(b)),
		op_ready(self->pipe[1], KCHAN_WRITABLE),
	};
	int i, seen[3] = { 0 }, ret;

	ASSERT_EQ(1, kchan_send(self->ch[0], "0", 1, 0));
	ASSERT_EQ(1, kchan_send(self->ch[1], "1", 1, 0));
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, kchan_select(ops, 2, KCHAN_PRIORITY, 0));
		ASSERT_EQ(1, kchan_send(self->ch[0], "0", 1, 0));
	}
	for (i = 0; i < 200; i++) {
		ret = kchan_select(ops, 2, 0, 0);
		ASSERT_LE(0, ret);
		seen[ret]++;
		ASSERT_EQ(1, kchan_send(self->ch[ret], "r", 1, 0));
	}
	EXPECT_LT(0, seen[0]);
	EXPECT_LT(0, seen[1]);
	/*
	 * Mixed: ops 1 and 2 are never taken before op 0 under priority. (A
	 * channel op ready at the start completes as the select is armed, so
	 * the random choice is among the other descriptors.)
	 */
	for (i = 0; i < 20; i++) {
		ret = kchan_select(ops, 3, KCHAN_PRIORITY, 0);
		EXPECT_EQ(0, ret);
		ASSERT_EQ(1, kchan_send(self->ch[0], "r", 1, 0));
	}
	memset(seen, 0, sizeof(seen));
	ops[0] = op_recv(-1, NULL, 0);
	ops[1] = op_ready(self->efd, KCHAN_READABLE);
	ASSERT_EQ(8, write(self->efd, &(uint64_t){ 1 }, 8));
	for (i = 0; i < 200; i++) {
		ret = kchan_select(ops, 3, 0, 0);
		ASSERT_LE(1, ret);
		seen[ret]++;
	}
	EXPECT_LT(0, seen[1]);
	EXPECT_LT(0, seen[2]);
}

TEST_F(sel, a_recv_on_an_eventfd_is_one_read)
{
	char a[MSG_MAX];
	uint64_t v = 5, got = 0;
	struct kchan_op ops[2] = {
		op_recv(self->ch[0], a, sizeof(a)), op_recv(self->efd, &got, sizeof(got)),
	};

	ASSERT_EQ(8, write(self->efd, &v, 8));
	EXPECT_EQ(1, kchan_select(ops, 2, 0, KCHAN_FOREVER));
	EXPECT_EQ(8, ops[1].result);
	EXPECT_EQ(5u, got);
	EXPECT_EQ(-EAGAIN, kchan_select(ops, 2, 0, 0));
	/* kchan_recv() takes any fd the same way. */
	ASSERT_EQ(8, write(self->efd, &v, 8));
	EXPECT_EQ(8, kchan_recv(self->efd, &got, sizeof(got), kchan_in(LT_WAIT_MS * LT_MS)));
}

TEST_F(sel, only_the_channel_ready_leaves_the_pipe_alone)
{
	char a[MSG_MAX], b[8];
	struct kchan_op ops[2] = {
		op_recv(self->pipe[0], b, sizeof(b)), op_recv(self->ch[0], a, sizeof(a)),
	};

	ASSERT_EQ(3, kchan_send(self->ch[0], "abc", 3, 0));
	EXPECT_EQ(1, kchan_select(ops, 2, 0, KCHAN_FOREVER));
	EXPECT_EQ(3, ops[1].result);
	EXPECT_EQ(-EAGAIN, ops[0].result);
	ASSERT_EQ(1, write(self->pipe[1], "p", 1));
	EXPECT_EQ(0, kchan_select(ops, 2, 0, KCHAN_FOREVER));
	EXPECT_EQ(1, ops[0].result);
	EXPECT_EQ('p', b[0]);
}

TEST_F(sel, a_send_on_a_socket_without_a_peer_is_epipe_not_sigpipe)
{
	struct kchan_op op;
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	close(sv[1]);
	op = op_send(sv[0], "lost", 4);
	/* SIGPIPE's default action would end the test here. */
	EXPECT_EQ(-EPIPE, kchan_select(&op, 1, 0, KCHAN_FOREVER));
	EXPECT_EQ(-EPIPE, op.result);
	EXPECT_EQ(-EPIPE, kchan_send(sv[0], "lost", 4, 0));
	close(sv[0]);
}

TEST_F(sel, a_select_that_returned_holds_none_of_its_fds)
{
	char a[MSG_MAX], b[8];
	struct kchan_op ops[2] = {
		op_recv(self->ch[0], a, sizeof(a)), op_recv(self->pipe[0], b, sizeof(b)),
	};

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(1, kchan_send(self->ch[0], "c", 1, 0));
	ASSERT_EQ(0, kchan_select(ops, 2, 0, kchan_in(LT_WAIT_MS * LT_MS)));
	/* The pipe's read end was watched: once closed, it has no reader. */
	close(self->pipe[0]);
	self->pipe[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	EXPECT_EQ(-1, write(self->pipe[1], "p", 1));
	EXPECT_EQ(EPIPE, errno);
}

static void select_on_a_pipe(struct __test_metadata *_metadata, int ch, int rd,
			     int wr)
{
	char a[MSG_MAX], b[8];
	struct kchan_op ops[2] = { op_recv(ch, a, sizeof(a)), op_recv(rd, b, sizeof(b)) };

	ASSERT_EQ(1, write(wr, "f", 1));
	ASSERT_EQ(1, kchan_select(ops, 2, 0, kchan_in(LT_WAIT_MS * LT_MS)));
	ASSERT_EQ(1, ops[1].result);
}

TEST_F(sel, a_forked_child_selects_on_its_own)
{
	int status;
	pid_t pid;

	select_on_a_pipe(_metadata, self->ch[0], self->pipe[0], self->pipe[1]);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		select_on_a_pipe(_metadata, self->ch[0], self->pipe[0], self->pipe[1]);
		_exit(_metadata->passed ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	select_on_a_pipe(_metadata, self->ch[0], self->pipe[0], self->pipe[1]);
}

TEST_F(sel, readable_and_writable_consume_nothing)
{
	struct kchan_op ops[2] = {
		op_ready(self->pipe[0], KCHAN_READABLE), op_ready(self->ch[0], KCHAN_READABLE),
	};
	char b[8];

	ASSERT_EQ(1, write(self->pipe[1], "q", 1));
	EXPECT_EQ(0, kchan_select(ops, 2, 0, KCHAN_FOREVER));
	EXPECT_EQ(0, ops[0].result);
	EXPECT_EQ(0, kchan_select(ops, 2, 0, 0));
	EXPECT_EQ(1, read(self->pipe[0], b, sizeof(b)));
	ASSERT_EQ(1, kchan_send(self->ch[0], "c", 1, 0));
	EXPECT_EQ(1, kchan_select(ops, 2, 0, KCHAN_FOREVER));
	EXPECT_EQ(1u, lt_stat(self->ch[0]).queued);
	ops[0] = op_ready(self->pipe[1], KCHAN_WRITABLE);
	ops[1] = op_ready(self->ch[0], KCHAN_WRITABLE);	/* full */
	EXPECT_EQ(0, kchan_select(ops, 2, 0, 0));
	EXPECT_EQ(-EAGAIN, kchan_select(ops + 1, 1, 0, 0));
}

struct waiter {
	struct kchan_op ops[3];
	unsigned int n;
	int64_t deadline;
	int ret;
	pid_t tid;
	atomic_int started;
	pthread_t t;
	char buf[2][MSG_MAX];
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->tid = lt_gettid();
	atomic_store(&w->started, 1);
	w->ret = kchan_select(w->ops, w->n, 0, w->deadline);
	return NULL;
}

static int waiter_start_in(struct waiter *w, long nr)
{
	atomic_store(&w->started, 0);
	if (pthread_create(&w->t, NULL, waiter_main, w))
		return -1;
	while (!atomic_load(&w->started))
		lt_sleep_ms(1);
	return lt_wait_sleeping_in(w->tid, nr);
}

static int waiter_start(struct waiter *w)
{
	return waiter_start_in(w, -1);
}

static void waiter_init(struct waiter *w, int ch, int fd)
{
	memset(w, 0, sizeof(*w));
	w->ops[0] = op_recv(ch, w->buf[0], MSG_MAX);
	w->ops[1] = op_recv(fd, w->buf[1], MSG_MAX);
	w->n = 2;
	w->deadline = kchan_in(LT_WAIT_MS * LT_MS);
}

TEST_F(sel, a_blocked_mixed_select_wakes_for_either_side)
{
	struct waiter w;

	waiter_init(&w, self->ch[0], self->pipe[0]);
	ASSERT_EQ(0, waiter_start(&w));
	ASSERT_EQ(2, write(self->pipe[1], "pp", 2));
	pthread_join(w.t, NULL);
	EXPECT_EQ(1, w.ret);
	EXPECT_EQ(2, w.ops[1].result);

	waiter_init(&w, self->ch[0], self->pipe[0]);
	ASSERT_EQ(0, waiter_start(&w));
	ASSERT_EQ(3, kchan_send(self->ch[0], "chn", 3, KCHAN_FOREVER));
	pthread_join(w.t, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(3, w.ops[0].result);
	EXPECT_EQ(0, memcmp(w.buf[0], "chn", 3));
}

TEST_F(sel, an_eagain_on_the_fd_goes_back_to_waiting)
{
	struct waiter w[2];
	int i;

	/* Two selects wait on one pipe (blocking, no O_NONBLOCK); one byte. */
	for (i = 0; i < 2; i++) {
		waiter_init(&w[i], self->ch[0], self->pipe[0]);
		w[i].ops[1].len = 1;
		ASSERT_EQ(0, waiter_start(&w[i]));
	}
	ASSERT_EQ(1, write(self->pipe[1], "1", 1));
	lt_sleep_ms(100);
	ASSERT_EQ(1, write(self->pipe[1], "2", 1));
	for (i = 0; i < 2; i++) {
		pthread_join(w[i].t, NULL);
		EXPECT_EQ(1, w[i].ret);
		EXPECT_EQ(1, w[i].ops[1].result);
	}
	EXPECT_NE(w[0].buf[1][0], w[1].buf[1][0]);
}

TEST_F(sel, a_signal_during_a_mixed_select_is_eintr_and_leaves_nothing_armed)
{
	struct waiter w;
	char b[8];
	int rv = kchan_make(0, MSG_MAX, 0);

	ASSERT_LE(0, rv);
	lt_catch(SIGUSR1);
	waiter_init(&w, rv, self->pipe[0]);
	ASSERT_EQ(0, waiter_start_in(&w, lt_mixed_wait_nr()));
	pthread_kill(w.t, SIGUSR1);
	pthread_join(w.t, NULL);
	EXPECT_EQ(-EINTR, w.ret);
	/* No receive is left committed: a non-blocking send finds nobody. */
	EXPECT_EQ(-EAGAIN, kchan_send(rv, "x", 1, 0));
	EXPECT_EQ(-EAGAIN, kchan_select((struct kchan_op[]){
		op_recv(self->pipe[0], b, sizeof(b)) }, 1, 0, 0));
	close(rv);
}

/*
 * What a thread learned about an fd is checked, not trusted: a new file
 * at the same fd number (here by dup2) is watched as itself, and an old
 * registration of the file that was there before, still open elsewhere
 * and readable, wakes nothing.
 */
static void *write_when_waiting(void *arg)
{
	struct waiter *w = arg;

	if (lt_wait_sleeping_in(w->tid, lt_mixed_wait_nr()))
		return (void *)1;
	return write(w->ops[2].fd, "new", 3) == 3 ? NULL : (void *)2;
}

TEST_F(sel, a_new_file_at_a_watched_fd_number_is_watched_as_itself)
{
	int old_dup, fresh[2];
	struct waiter w;
	pthread_t t;
	void *fed;

	/* The pipe's read end is learned and registered by a select that waits. */
	waiter_init(&w, self->ch[0], self->pipe[0]);
	w.deadline = kchan_in(20 * LT_MS);
	waiter_main(&w);
	ASSERT_EQ(-ETIMEDOUT, w.ret);
	/* The old pipe stays open elsewhere, readable; a new one takes its number. */
	old_dup = dup(self->pipe[0]);
	ASSERT_LE(0, old_dup);
	ASSERT_EQ(1, write(self->pipe[1], "o", 1));
	ASSERT_EQ(0, pipe2(fresh, O_CLOEXEC));
	ASSERT_LE(0, dup2(fresh[0], self->pipe[0]));
	close(fresh[0]);

	waiter_init(&w, self->ch[0], self->pipe[0]);
	w.deadline = kchan_in(50 * LT_MS);
	waiter_main(&w);
	EXPECT_EQ(-ETIMEDOUT, w.ret);	/* the old file's readiness is not this one's */

	/* The same thread (its epoll) waits; another writes once it does. */
	waiter_init(&w, self->ch[0], self->pipe[0]);
	w.ops[2].fd = fresh[1];		/* where the writer writes */
	w.tid = lt_gettid();
	ASSERT_EQ(0, pthread_create(&t, NULL, write_when_waiting, &w));
	w.ret = kchan_select(w.ops, w.n, 0, w.deadline);
	pthread_join(t, &fed);
	EXPECT_EQ(NULL, fed);
	EXPECT_EQ(1, w.ret);
	EXPECT_EQ(3, w.ops[1].result);
	EXPECT_EQ(0, memcmp(w.buf[1], "new", 3));
	close(fresh[1]);
	close(old_dup);
}

/*
 * An fd learned as "not a channel" that now names a rendezvous channel is
 * armed as a channel: a peer that only waits for the channel to be
 * writable (poll, as an io_uring write does) then finds a receiver. Taken
 * for a plain fd, the select would only poll it too, and neither would
 * ever move.
 */
static void *write_when_writable(void *arg)
{
	int fd = *(int *)arg;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };

	if (poll(&pfd, 1, LT_WAIT_MS) != 1)
		return (void *)1;
	return pwritev2(fd, &(struct iovec){ "rv", 2 }, 1, -1, RWF_NOWAIT) == 2 ?
	       NULL : (void *)2;
}

TEST_F(sel, an_fd_number_that_became_a_channel_is_armed_as_one)
{
	int rv = kchan_make(0, MSG_MAX, 0), fd = self->pipe[0];
	struct waiter w;
	pthread_t t;
	void *fed;

	ASSERT_LE(0, rv);
	waiter_init(&w, self->efd, fd);
	w.deadline = kchan_in(20 * LT_MS);
	waiter_main(&w);
	ASSERT_EQ(-ETIMEDOUT, w.ret);
	ASSERT_LE(0, dup2(rv, fd));
	close(rv);

	waiter_init(&w, self->efd, fd);
	ASSERT_EQ(0, pthread_create(&t, NULL, write_when_writable, &fd));
	waiter_main(&w);
	pthread_join(t, &fed);
	EXPECT_EQ(NULL, fed);
	EXPECT_EQ(1, w.ret);
	EXPECT_EQ(2, w.ops[1].result);
	EXPECT_EQ(0, memcmp(w.buf[1], "rv", 2));
}

/* A thread keeps an epoll, a select file (and a ring): they go with it. */
static unsigned int open_fds(void)
{
	unsigned int n = 0;
	int fd;

	for (fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

TEST_F(sel, a_thread_s_select_state_goes_with_the_thread)
{
	unsigned int before = open_fds();
	struct waiter w;
	int i;

	for (i = 0; i < 3; i++) {
		waiter_init(&w, self->ch[0], self->pipe[0]);
		w.deadline = kchan_in(5 * LT_MS);
		ASSERT_EQ(0, pthread_create(&w.t, NULL, waiter_main, &w));
		pthread_join(w.t, NULL);
		EXPECT_EQ(-ETIMEDOUT, w.ret);
	}
	EXPECT_EQ(before, open_fds());
}

/*
 * A channel op and an eventfd become ready at once, round after round: the
 * armed select is cancelled while the channel op may be completing. Every
 * round exactly one of them is consumed; the other is still there.
 */
struct racer {
	int ch, efd, round;
	int64_t send_deadline;
	ssize_t send_ret;
	pthread_barrier_t *go;
};

static void *race_feed(void *arg)
{
	struct racer *r = arg;
	uint64_t one = 1;

	pthread_barrier_wait(r->go);
	if (r->round & 1) {
		r->send_ret = kchan_send(r->ch, "m", 1, r->send_deadline);
		if (write(r->efd, &one, 8) != 8)
			r->send_ret = -EIO;
	} else {
		if (write(r->efd, &one, 8) != 8)
			r->send_ret = -EIO;
		r->send_ret = kchan_send(r->ch, "m", 1, r->send_deadline);
	}
	return NULL;
}

static void race(struct __test_metadata *_metadata, unsigned int capacity)
{
	int ch = kchan_make(capacity, MSG_MAX, 0);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	unsigned int i, took_chan = 0, took_fd = 0;
	pthread_barrier_t go;
	char m[MSG_MAX];
	uint64_t v;

	ASSERT_LE(0, ch);
	ASSERT_LE(0, efd);
	pthread_barrier_init(&go, NULL, 2);
	for (i = 0; i < RACE_ROUNDS; i++) {
		struct racer r = { .ch = ch, .efd = efd, .round = (int)i, .go = &go };
		struct kchan_op ops[2] = {
			op_recv(ch, m, sizeof(m)), op_recv(efd, &v, sizeof(v)),
		};
		pthread_t t;
		int ret;

		/* A rendezvous sender gives up when nobody takes its message. */
		r.send_deadline = capacity ? 0 : kchan_in(50 * LT_MS);
		ASSERT_EQ(0, pthread_create(&t, NULL, race_feed, &r));
		pthread_barrier_wait(&go);
		ret = kchan_select(ops, 2, 0, KCHAN_FOREVER);
		pthread_join(t, NULL);
		ASSERT_LE(0, ret);
		if (ret == 0) {
			took_chan++;
			ASSERT_EQ(1, ops[0].result);
			ASSERT_EQ(1, r.send_ret);
			/* The eventfd's count is still there. */
			ASSERT_EQ(8, read(efd, &v, 8));
			ASSERT_EQ(1u, v);
		} else {
			took_fd++;
			ASSERT_EQ(8, ops[1].result);
			ASSERT_EQ(1u, v);
			/* The message was not taken: queued, or never sent. */
			if (capacity) {
				ASSERT_EQ(1, r.send_ret);
				ASSERT_EQ(1, kchan_recv(ch, m, sizeof(m), 0));
			} else {
				ASSERT_EQ(-ETIMEDOUT, r.send_ret);
			}
		}
		ASSERT_EQ(0u, lt_stat(ch).queued);
		ASSERT_EQ(-1, read(efd, &v, 8));
	}
	TH_LOG("%u rounds: channel %u, eventfd %u", RACE_ROUNDS, took_chan, took_fd);
	EXPECT_EQ(RACE_ROUNDS, took_chan + took_fd);
	pthread_barrier_destroy(&go);
	close(ch);
	close(efd);
}

TEST(a_cancel_racing_a_buffered_completion_loses_and_doubles_nothing)
{
	race(_metadata, 1);
}

TEST(a_cancel_racing_a_rendezvous_completion_loses_and_doubles_nothing)
{
	race(_metadata, 0);
}

TEST_HARNESS_MAIN
