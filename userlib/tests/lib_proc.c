// SPDX-License-Identifier: GPL-2.0
/*
 * Timers, threads and processes: kchan_after, kchan_tick, kchan_go,
 * kchan_spawn, and a select over a channel, a socket, a timer and a pidfd.
 */
#include <sys/socket.h>
#include <sys/syscall.h>

#include "lib_test.h"

#define MSG_MAX		64

TEST(after_gives_one_receive_at_its_deadline)
{
	int64_t deadline = kchan_in(200 * LT_MS);
	int t = kchan_after(deadline);
	uint64_t v = 0;
	ssize_t got;

	ASSERT_LE(0, t);
	got = kchan_recv(t, &v, sizeof(v), 0);
	/* Before the deadline nothing is ready; a loaded guest may be late. */
	if (kchan_now() < deadline)
		EXPECT_EQ(-EAGAIN, got);
	if (got == -EAGAIN)
		got = kchan_recv(t, &v, sizeof(v), KCHAN_FOREVER);
	EXPECT_EQ(8, got);
	EXPECT_LE(deadline, kchan_now());
	EXPECT_EQ(1u, v);
	/* One receive only. */
	EXPECT_EQ(-ETIMEDOUT, kchan_recv(t, &v, sizeof(v), kchan_in(30 * LT_MS)));
	close(t);
	/* A deadline already past is ready at once. */
	t = kchan_after(0);
	ASSERT_LE(0, t);
	EXPECT_EQ(8, kchan_recv(t, &v, sizeof(v), kchan_in(LT_WAIT_MS * LT_MS)));
	close(t);
	t = kchan_after(KCHAN_FOREVER);
	ASSERT_LE(0, t);
	EXPECT_EQ(-EAGAIN, kchan_recv(t, &v, sizeof(v), 0));
	close(t);
	EXPECT_EQ(-EINVAL, kchan_after(-7));
}

TEST(tick_receives_once_per_period_and_drops_missed_ticks)
{
	int64_t period = 20 * LT_MS, made = kchan_now(), start;
	int t = kchan_tick(period);
	uint64_t v = 0, next = 0;
	ssize_t got;

	ASSERT_LE(0, t);
	EXPECT_EQ(-EINVAL, kchan_tick(0));
	lt_sleep_ms(120);
	/* The missed ticks are one receive (the value counts them). */
	EXPECT_EQ(8, kchan_recv(t, &v, sizeof(v), KCHAN_FOREVER));
	EXPECT_LE(4u, v);
	got = kchan_recv(t, &next, sizeof(next), 0);
	/*
	 * Nothing left while the clock says tick v + 1 cannot have come yet;
	 * a loaded guest may pass it between the two receives, and then the
	 * receive is that later tick or nothing.
	 */
	if (kchan_now() < made + (int64_t)(v + 1) * period) {
		EXPECT_EQ(-EAGAIN, got);
	} else {
		EXPECT_TRUE(got == -EAGAIN || (got == 8 && next >= 1));
	}
	start = kchan_now();
	EXPECT_EQ(8, kchan_recv(t, &v, sizeof(v), KCHAN_FOREVER));
	EXPECT_GE(kchan_now(), start);
	close(t);
}

TEST(time_after_in_a_select_times_out_a_receive)
{
	int ch = kchan_make(0, MSG_MAX, 0), t;
	char buf[MSG_MAX];
	uint64_t v;

	ASSERT_LE(0, ch);
	t = kchan_after(kchan_in(30 * LT_MS));
	ASSERT_LE(0, t);
	struct kchan_op ops[2] = {
		{ .fd = ch, .kind = KCHAN_RECV, .buf = buf, .len = sizeof(buf) },
		{ .fd = t, .kind = KCHAN_RECV, .buf = &v, .len = sizeof(v) },
	};
	EXPECT_EQ(1, kchan_select(ops, 2, 0, KCHAN_FOREVER));
	EXPECT_EQ(8, ops[1].result);
	EXPECT_EQ(0u, lt_stat(ch).receivers);
	close(t);
	close(ch);
}

TEST(a_timer_is_shared_across_fork)
{
	int t = kchan_after(kchan_in(30 * LT_MS)), status;
	uint64_t v;
	pid_t pid;

	ASSERT_LE(0, t);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(kchan_recv(t, &v, sizeof(v), kchan_in(LT_WAIT_MS * LT_MS)) == 8 ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	/* The child took the one receive. */
	EXPECT_EQ(-EAGAIN, kchan_recv(t, &v, sizeof(v), 0));
	close(t);
}

struct ident {
	int ch;
	pid_t tid, pid;
};

static void report(void *arg)
{
	struct ident *id = arg;
	struct ident me = { .tid = lt_gettid(), .pid = getpid() };

	kchan_send(id->ch, &me, sizeof(me), KCHAN_FOREVER);
}

TEST(go_runs_the_function_in_a_new_thread)
{
	struct ident id = { .ch = kchan_make(0, MSG_MAX, 0) }, got;

	ASSERT_LE(0, id.ch);
	ASSERT_EQ(0, kchan_go(report, &id));
	ASSERT_EQ(sizeof(got), kchan_recv(id.ch, &got, sizeof(got), kchan_in(LT_WAIT_MS * LT_MS)));
	EXPECT_EQ(getpid(), got.pid);
	EXPECT_NE(lt_gettid(), got.tid);
	EXPECT_EQ(-EINVAL, kchan_go(NULL, NULL));
	close(id.ch);
}

static void wait_then_report(void *arg)
{
	struct ident *id = arg;
	char go;

	if (kchan_recv(id->ch, &go, 1, KCHAN_FOREVER) == 1)
		report(arg);
}

TEST(spawn_runs_a_process_whose_pidfd_is_readable_when_it_exits)
{
	struct ident id = { .ch = kchan_make(0, MSG_MAX, 0) }, got;
	siginfo_t info = { 0 };
	int pidfd;

	ASSERT_LE(0, id.ch);
	pidfd = kchan_spawn(wait_then_report, &id);
	ASSERT_LE(0, pidfd);
	EXPECT_NE(0, fcntl(pidfd, F_GETFD) & FD_CLOEXEC);
	struct kchan_op exited = { .fd = pidfd, .kind = KCHAN_READABLE };
	EXPECT_EQ(-EAGAIN, kchan_select(&exited, 1, 0, 0));
	ASSERT_EQ(1, kchan_send(id.ch, "g", 1, kchan_in(LT_WAIT_MS * LT_MS)));
	ASSERT_EQ(sizeof(got), kchan_recv(id.ch, &got, sizeof(got), kchan_in(LT_WAIT_MS * LT_MS)));
	EXPECT_NE(getpid(), got.pid);
	EXPECT_EQ(0, kchan_select(&exited, 1, 0, kchan_in(LT_WAIT_MS * LT_MS)));
	ASSERT_EQ(0, waitid(P_PIDFD, pidfd, &info, WEXITED));
	EXPECT_EQ(got.pid, info.si_pid);
	EXPECT_EQ(0, info.si_status);
	close(pidfd);
	close(id.ch);
}

static void exit_now(void *arg)
{
	(void)arg;
}

TEST(one_select_over_a_channel_a_socket_a_timer_and_a_pidfd)
{
	int ch = kchan_make(1, MSG_MAX, 0), sv[2], t, pidfd, i, ret;
	char cbuf[MSG_MAX], sbuf[16];
	uint64_t v;
	struct kchan_op ops[4];
	ssize_t result[4] = { -1, -1, -1, -1 };

	ASSERT_LE(0, ch);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	t = kchan_after(KCHAN_FOREVER);
	ASSERT_LE(0, t);
	pidfd = -1;
	ops[0] = (struct kchan_op){ .fd = ch, .kind = KCHAN_RECV, .buf = cbuf, .len = sizeof(cbuf) };
	ops[1] = (struct kchan_op){ .fd = sv[0], .kind = KCHAN_RECV, .buf = sbuf, .len = sizeof(sbuf) };
	ops[2] = (struct kchan_op){ .fd = t, .kind = KCHAN_RECV, .buf = &v, .len = sizeof(v) };
	ops[3] = (struct kchan_op){ .fd = pidfd, .kind = KCHAN_READABLE };
	EXPECT_EQ(-EAGAIN, kchan_select(ops, 4, 0, 0));
	for (i = 0; i < 4; i++) {
		/* Make op i ready, and only it. */
		switch (i) {
		case 0:
			ASSERT_EQ(2, kchan_send(ch, "ch", 2, 0));
			break;
		case 1:
			ASSERT_EQ(4, write(sv[1], "sock", 4));
			break;
		case 2:
			close(t);
			t = kchan_after(kchan_in(10 * LT_MS));
			ASSERT_LE(0, t);
			ops[2].fd = t;
			break;
		case 3:
			pidfd = kchan_spawn(exit_now, NULL);
			ASSERT_LE(0, pidfd);
			ops[3].fd = pidfd;
			break;
		}
		ret = kchan_select(ops, 4, 0, kchan_in(LT_WAIT_MS * LT_MS));
		ASSERT_EQ(i, ret);
		result[ret] = ops[ret].result;
	}
	EXPECT_EQ(2, result[0]);
	EXPECT_EQ(4, result[1]);
	EXPECT_EQ(8, result[2]);
	EXPECT_EQ(0, result[3]);
	waitid(P_PIDFD, pidfd, &(siginfo_t){ 0 }, WEXITED);
	close(pidfd);
	close(t);
	close(sv[0]);
	close(sv[1]);
	close(ch);
}

TEST_HARNESS_MAIN
