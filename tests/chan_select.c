// SPDX-License-Identifier: GPL-2.0
/*
 * KCHAN_CTL_SELECT: Go's select over kchan channels (contract section 6).
 * Every test runs on rendezvous and on buffered channels.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kt.h"
#include "kt_bg.h"
#include "kt_fault.h"
#include "kt_select.h"
#include "kt_fixture.h"

#define MSG_MAX		64
#define CAPACITY	4
#define MSG_LEN		24
#define NCHANS		3

FIXTURE(sel) {
	int fd[NCHANS];
	unsigned int capacity;
	struct kt_op ops[NCHANS];
	bool op_started[NCHANS];
};

KT_CHAN_VARIANTS(sel, CAPACITY);

FIXTURE_SETUP(sel)
{
	int i;

	self->capacity = variant->capacity;
	for (i = 0; i < NCHANS; i++) {
		self->fd[i] = kt_chan_setup(_metadata, variant->capacity, MSG_MAX);
	}
}

FIXTURE_TEARDOWN(sel)
{
	int i;

	/* Closing wakes anything a failed test left blocked. */
	for (i = 0; i < NCHANS; i++) {
		kchan_close(self->fd[i]);
		if (self->op_started[i])
			kt_op_wait(&self->ops[i], KT_TIMEOUT_MS);
	}
	for (i = 0; i < NCHANS; i++)
		close(self->fd[i]);
}

/*
 * Make a message with @seed ready to receive on channel @i: buffered, it
 * is queued; rendezvous, a background sender blocks with it.
 */
static void offer(struct __test_metadata *_metadata, FIXTURE_DATA(sel) *self,
		  int i, unsigned int seed)
{
	static char msgs[NCHANS][MSG_LEN];

	kt_fill(msgs[i], MSG_LEN, seed);
	if (self->capacity) {
		ASSERT_EQ(MSG_LEN, kt_send(self->fd[i], msgs[i], MSG_LEN));
		return;
	}
	ASSERT_EQ(0, kt_op_send(&self->ops[i], self->fd[i], msgs[i],
				   MSG_LEN));
	self->op_started[i] = true;
	ASSERT_EQ(0, kt_wait_for(self->fd[i], senders, 1));
}

/* A receiver committed on channel @i: blocked in read() in a thread. */
static void await_receiver(struct __test_metadata *_metadata,
			   FIXTURE_DATA(sel) *self, int i)
{
	static char bufs[NCHANS][MSG_MAX];

	ASSERT_EQ(0, kt_op_recv(&self->ops[i], self->fd[i], bufs[i],
				   MSG_MAX));
	self->op_started[i] = true;
	ASSERT_EQ(0, kt_wait_for(self->fd[i], receivers, 1));
}

/* Fill a buffered channel to capacity. */
static void fill(struct __test_metadata *_metadata, FIXTURE_DATA(sel) *self,
		 int i)
{
	char m[MSG_LEN];
	unsigned int k;

	for (k = 0; k < self->capacity; k++) {
		kt_fill(m, MSG_LEN, 100 + k);
		ASSERT_EQ(MSG_LEN, kt_send(self->fd[i], m, MSG_LEN));
	}
}

TEST_F(sel, nonblocking_nothing_ready)
{
	char b0[MSG_MAX], b1[MSG_MAX], m[MSG_LEN];
	struct kchan_case c[3];
	struct kchan_select out;
	int i;

	kt_fill(m, MSG_LEN, 1);
	if (self->capacity)
		fill(_metadata, self, 2);
	c[0] = kt_case_recv(self->fd[0], b0, sizeof(b0));
	c[1] = kt_case_recv(self->fd[1], b1, sizeof(b1));
	c[2] = kt_case_send(self->fd[2], m, MSG_LEN);
	EXPECT_EQ(-EAGAIN, kt_select(c, 3, KCHAN_SELECT_NONBLOCK, &out));
	EXPECT_EQ(-1, out.index);
	/* Nothing stays queued behind a select that gave up. */
	for (i = 0; i < NCHANS; i++)
		kt_expect_idle(_metadata, self->fd[i]);
}

TEST_F(sel, receive_case_takes_the_ready_message)
{
	char b0[MSG_MAX], b1[MSG_MAX];
	struct kchan_case c[2];
	struct kchan_select out;
	struct kchan_stat st;

	offer(_metadata, self, 1, 7);
	c[0] = kt_case_recv(self->fd[0], b0, sizeof(b0));
	c[1] = kt_case_recv(self->fd[1], b1, sizeof(b1));
	ASSERT_EQ(1, kt_select(c, 2, 0, &out));
	EXPECT_EQ(1, out.index);
	EXPECT_EQ((__u64)MSG_LEN, out.len);
	EXPECT_EQ(0u, out.result_flags);
	EXPECT_TRUE(kt_check(b1, MSG_LEN, 7));
	if (!self->capacity)
		EXPECT_EQ(MSG_LEN, kt_op_result(&self->ops[1]));
	ASSERT_EQ(0, kt_stat(self->fd[1], &st));
	EXPECT_EQ(1ull, st.received);
	EXPECT_EQ(0u, st.queued);
	kt_expect_idle(_metadata, self->fd[0]);
}

TEST_F(sel, send_case_reaches_a_receiver)
{
	char b0[MSG_MAX], m[MSG_LEN];
	struct kchan_case c[2];
	struct kchan_select out;

	kt_fill(m, MSG_LEN, 9);
	if (self->capacity)
		fill(_metadata, self, 0);	/* case 0 cannot complete */
	else
		await_receiver(_metadata, self, 1);
	c[0] = kt_case_send(self->fd[0], m, MSG_LEN);
	c[1] = kt_case_send(self->fd[1], m, MSG_LEN);
	ASSERT_EQ(1, kt_select(c, 2, 0, &out));
	EXPECT_EQ((__u64)MSG_LEN, out.len);
	if (self->capacity) {
		ASSERT_EQ(MSG_LEN, kt_recv(self->fd[1], b0, sizeof(b0)));
	} else {
		ASSERT_EQ(MSG_LEN, kt_op_result(&self->ops[1]));
		memcpy(b0, self->ops[1].buf, MSG_LEN);
	}
	EXPECT_TRUE(kt_check(b0, MSG_LEN, 9));
	kt_expect_idle(_metadata, self->fd[0]);
}

/* A blocked select is completed by a sender that comes later. */
TEST_F(sel, blocked_select_woken_by_send)
{
	char m[MSG_LEN], b[MSG_MAX];
	struct kt_sel_op op = { .n = 2 };

	op.cases[0] = kt_case_recv(self->fd[0], b, sizeof(b));
	op.cases[1] = kt_case_recv(self->fd[1], b, sizeof(b));
	ASSERT_EQ(0, kt_sel_op_start(&op));
	ASSERT_EQ(0, kt_wait_for(self->fd[0], receivers, 1));
	ASSERT_EQ(0, kt_wait_for(self->fd[1], receivers, 1));
	kt_sleep_ms(KT_SETTLE_MS);
	EXPECT_FALSE(atomic_load(&op.done));

	kt_fill(m, MSG_LEN, 3);
	/* A committed select is a partner even for a non-blocking send. */
	ASSERT_EQ(0, kt_set_nonblock(self->fd[1], true));
	EXPECT_EQ(MSG_LEN, kt_send(self->fd[1], m, MSG_LEN));
	ASSERT_EQ(1, kt_sel_op_result(&op, KT_TIMEOUT_MS));
	EXPECT_EQ((__u64)MSG_LEN, op.out.len);
	EXPECT_TRUE(kt_check(b, MSG_LEN, 3));
	kt_expect_idle(_metadata, self->fd[0]);
	kt_expect_idle(_metadata, self->fd[1]);
}

/* A blocked select's send case is completed by a receiver that comes later. */
TEST_F(sel, blocked_select_woken_by_receive)
{
	char m[MSG_LEN], b[MSG_MAX];
	struct kt_sel_op op = { .n = 2 };

	if (self->capacity) {
		fill(_metadata, self, 0);
		fill(_metadata, self, 1);
	}
	kt_fill(m, MSG_LEN, 4);
	op.cases[0] = kt_case_send(self->fd[0], m, MSG_LEN);
	op.cases[1] = kt_case_send(self->fd[1], m, MSG_LEN);
	ASSERT_EQ(0, kt_sel_op_start(&op));
	ASSERT_EQ(0, kt_wait_for(self->fd[0], senders, 1));
	ASSERT_EQ(0, kt_wait_for(self->fd[1], senders, 1));
	kt_sleep_ms(KT_SETTLE_MS);
	EXPECT_FALSE(atomic_load(&op.done));

	ASSERT_EQ(0, kt_set_nonblock(self->fd[0], true));
	ASSERT_EQ(MSG_LEN, kt_recv(self->fd[0], b, sizeof(b)));
	ASSERT_EQ(0, kt_sel_op_result(&op, KT_TIMEOUT_MS));
	if (!self->capacity)
		EXPECT_TRUE(kt_check(b, MSG_LEN, 4));
	/* Exactly one case: nothing more arrives on channel 1. */
	kt_expect_idle(_metadata, self->fd[1]);
	if (!self->capacity)
		kt_expect_empty(_metadata, self->fd[1]);
}

/* Two cases ready: exactly one completes, the other peer stays waiting. */
TEST_F(sel, exactly_one_case_completes)
{
	char b0[MSG_MAX], b1[MSG_MAX];
	struct kchan_case c[2];
	struct kchan_stat st0, st1;
	int idx, other;

	offer(_metadata, self, 0, 10);
	offer(_metadata, self, 1, 11);
	c[0] = kt_case_recv(self->fd[0], b0, sizeof(b0));
	c[1] = kt_case_recv(self->fd[1], b1, sizeof(b1));
	idx = kt_select(c, 2, 0, NULL);
	ASSERT_TRUE(idx == 0 || idx == 1) TH_LOG("select returned %d", idx);
	other = !idx;
	ASSERT_EQ(0, kt_stat(self->fd[idx], &st0));
	ASSERT_EQ(0, kt_stat(self->fd[other], &st1));
	EXPECT_EQ(1ull, st0.received);
	EXPECT_EQ(0ull, st1.received);
	if (self->capacity) {
		EXPECT_EQ(1u, st1.queued);
	} else {
		EXPECT_EQ(1u, st1.senders);
		kt_sleep_ms(KT_SETTLE_MS);
		EXPECT_FALSE(kt_op_done(&self->ops[other]));
		EXPECT_EQ(MSG_LEN, kt_op_result(&self->ops[idx]));
	}
}

TEST_F(sel, nil_case_is_never_ready)
{
	char b[MSG_MAX];
	struct kchan_case c[3];
	struct kchan_select out;

	c[0] = kt_case_recv(-1, b, sizeof(b));
	c[1] = kt_case_send(-1, b, MSG_LEN);
	EXPECT_EQ(-EAGAIN, kt_select(c, 2, KCHAN_SELECT_NONBLOCK, &out));
	offer(_metadata, self, 0, 12);
	c[2] = kt_case_recv(self->fd[0], b, sizeof(b));
	EXPECT_EQ(2, kt_select(c, 3, 0, &out));
	EXPECT_TRUE(kt_check(b, MSG_LEN, 12));
	/* Only nil cases and a deadline: the deadline ends it. */
	EXPECT_EQ(-ETIMEDOUT, kt_select_full(c, 2, KCHAN_SELECT_DEADLINE,
					     kt_deadline_ns(50), &out));
}

TEST_F(sel, receive_on_closed_reports_closed)
{
	char b0[MSG_MAX], b1[MSG_MAX];
	struct kchan_case c[2];
	struct kchan_select out;

	c[0] = kt_case_recv(self->fd[0], b0, sizeof(b0));
	c[1] = kt_case_recv(self->fd[1], b1, sizeof(b1));
	if (self->capacity) {
		/* Close drains first: the queued message comes before "closed". */
		offer(_metadata, self, 1, 13);
		ASSERT_EQ(0, kchan_close(self->fd[1]));
		ASSERT_EQ(1, kt_select(c, 2, 0, &out));
		EXPECT_EQ(0u, out.result_flags);
		EXPECT_TRUE(kt_check(b1, MSG_LEN, 13));
	} else {
		ASSERT_EQ(0, kchan_close(self->fd[1]));
	}
	ASSERT_EQ(1, kt_select(c, 2, 0, &out));
	EXPECT_EQ(1, out.index);
	EXPECT_EQ(0ull, out.len);
	EXPECT_EQ((__u32)KCHAN_SELECT_CLOSED, out.result_flags);
	/* Closed stays ready, and so does it for a non-blocking select. */
	ASSERT_EQ(1, kt_select(c, 2, KCHAN_SELECT_NONBLOCK, &out));
	EXPECT_EQ((__u32)KCHAN_SELECT_CLOSED, out.result_flags);
	kt_expect_idle(_metadata, self->fd[0]);
}

TEST_F(sel, send_on_closed_fails_with_epipe_naming_the_case)
{
	char m[MSG_LEN], b[MSG_MAX];
	struct kchan_case c[2];
	struct kchan_select out;

	kt_fill(m, MSG_LEN, 14);
	ASSERT_EQ(0, kchan_close(self->fd[1]));
	c[0] = kt_case_recv(self->fd[0], b, sizeof(b));
	c[1] = kt_case_send(self->fd[1], m, MSG_LEN);
	EXPECT_EQ(-EPIPE, kt_select(c, 2, 0, &out));
	EXPECT_EQ(1, out.index);
	kt_expect_idle(_metadata, self->fd[0]);
}

/* Closing a channel wakes the selects blocked on it. */
TEST_F(sel, close_wakes_blocked_selects)
{
	char m[MSG_LEN], b[MSG_MAX];
	struct kt_sel_op rx = { .n = 2 }, tx = { .n = 2 };

	kt_fill(m, MSG_LEN, 15);
	if (self->capacity)
		fill(_metadata, self, 1);
	rx.cases[0] = kt_case_recv(self->fd[0], b, sizeof(b));
	rx.cases[1] = kt_case_recv(self->fd[2], b, sizeof(b));
	tx.cases[0] = kt_case_send(self->fd[1], m, MSG_LEN);
	tx.cases[1] = kt_case_send(-1, m, MSG_LEN);
	ASSERT_EQ(0, kt_sel_op_start(&rx));
	ASSERT_EQ(0, kt_sel_op_start(&tx));
	ASSERT_EQ(0, kt_wait_for(self->fd[0], receivers, 1));
	ASSERT_EQ(0, kt_wait_for(self->fd[1], senders, 1));

	ASSERT_EQ(0, kchan_close(self->fd[0]));
	ASSERT_EQ(0, kt_sel_op_result(&rx, KT_TIMEOUT_MS));
	EXPECT_EQ((__u32)KCHAN_SELECT_CLOSED, rx.out.result_flags);
	ASSERT_EQ(0, kchan_close(self->fd[1]));
	EXPECT_EQ(-EPIPE, kt_sel_op_result(&tx, KT_TIMEOUT_MS));
	EXPECT_EQ(0, tx.out.index);
	kt_expect_idle(_metadata, self->fd[2]);
}

/* Reserved fields, an unreadable case array, an unreadable request. */
static void bad_requests(struct __test_metadata *_metadata,
			 const struct kchan_case *c, void *bad)
{
	struct kchan_select req = { .cases = (uintptr_t)c, .ncases = 2,
				    .reserved = { 1 } };
	int ctl = open(KT_CHANCTL, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, ctl);
	EXPECT_EQ(-1, ioctl(ctl, KCHAN_CTL_SELECT, &req));
	EXPECT_EQ(EINVAL, errno);
	req.reserved[0] = 0;
	req.cases = (uintptr_t)bad;
	EXPECT_EQ(-1, ioctl(ctl, KCHAN_CTL_SELECT, &req));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(ctl, KCHAN_CTL_SELECT, bad));
	EXPECT_EQ(EFAULT, errno);
	close(ctl);
}

/*
 * Bad input fails the whole select before any case commits: a ready case
 * ahead of the bad one keeps its message.
 */
TEST_F(sel, validation_before_commit)
{
	char b[MSG_MAX], m[MSG_MAX + 8], *bad = kt_bad_mem(1);
	struct kchan_case c[2];
	struct kchan_select out;
	struct kchan_stat st;
	int pfd[2], ro;
	struct {
		struct kchan_case c;
		int err;
		const char *what;
	} cases[16];
	unsigned int i, n = 0;
	char name[KCHAN_NAME_SIZE], node[128];

	ASSERT_NE(NULL, bad);
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	kt_name(name, sizeof(name), _metadata->name);
	kt_node_path(node, sizeof(node), name);
	ASSERT_EQ(0, kchan_create(name, self->capacity, MSG_MAX, 0600, 0));
	ro = open(node, O_RDONLY | O_CLOEXEC);
	kchan_unlink(name);
	ASSERT_LE(0, ro);
	kt_fill(m, sizeof(m), 16);

#define BAD(cs, e) cases[n++] = (typeof(cases[0])){ cs, e, #cs }
	BAD(kt_case_recv(999, b, sizeof(b)), -EBADF);
	BAD(kt_case_recv(pfd[0], b, sizeof(b)), -EINVAL);
	BAD(kt_case_send(ro, m, MSG_LEN), -EBADF);
	BAD(kt_case_send(self->fd[1], bad, MSG_LEN), -EFAULT);
	BAD(kt_case_recv(self->fd[1], bad, MSG_MAX), -EFAULT);
	BAD(kt_case_send(self->fd[1], m, 0), -EINVAL);
	BAD(kt_case_recv(self->fd[1], b, 0), -EINVAL);
	BAD(kt_case_send(self->fd[1], m, MSG_MAX + 1), -EMSGSIZE);
	BAD(((struct kchan_case){ .fd = self->fd[1], .op = 3,
				  .buf = (uintptr_t)b, .len = 8 }), -EINVAL);
#undef BAD

	offer(_metadata, self, 0, 17);
	c[0] = kt_case_recv(self->fd[0], b, sizeof(b));
	for (i = 0; i < n; i++) {
		c[1] = cases[i].c;
		EXPECT_EQ(cases[i].err, kt_select(c, 2, 0, &out)) {
			TH_LOG("case %s", cases[i].what);
		}
		EXPECT_EQ(1, out.index) TH_LOG("case %s", cases[i].what);
		ASSERT_EQ(0, kt_stat(self->fd[0], &st));
		EXPECT_EQ(0ull, st.received) TH_LOG("case %s", cases[i].what);
	}

	/* Whole-request errors name no case. */
	c[1] = kt_case_recv(-1, b, sizeof(b));
	EXPECT_EQ(-EINVAL, kt_select(c, 2, 1u << 31, &out));
	EXPECT_EQ(-1, out.index);
	bad_requests(_metadata, c, bad);
	ASSERT_EQ(0, kt_stat(self->fd[0], &st));
	EXPECT_EQ(0ull, st.received);

	/* And the ready case is still there for a good select. */
	EXPECT_EQ(0, kt_select(c, 1, 0, &out));
	EXPECT_TRUE(kt_check(b, MSG_LEN, 17));
	close(ro);
	close(pfd[0]);
	close(pfd[1]);
}

TEST_F(sel, too_many_cases)
{
	struct kchan_version v;
	struct kchan_case *c;
	struct kchan_select out;
	unsigned int i;

	ASSERT_EQ(0, ioctl(self->fd[0], KCHAN_IOC_VERSION, &v));
	EXPECT_TRUE(!!(v.features & KCHAN_FEATURE_SELECT));
	ASSERT_LE(256u, v.max_select_cases);
	c = calloc(v.max_select_cases + 1, sizeof(*c));
	ASSERT_NE(NULL, c);
	for (i = 0; i <= v.max_select_cases; i++)
		c[i] = kt_case_recv(-1, c, 8);
	EXPECT_EQ(-EAGAIN, kt_select(c, v.max_select_cases,
				     KCHAN_SELECT_NONBLOCK, &out));
	EXPECT_EQ(-EINVAL, kt_select(c, v.max_select_cases + 1,
				     KCHAN_SELECT_NONBLOCK, &out));
	free(c);
}

/* A receive buffer smaller than the chosen message: EMSGSIZE, kept. */
TEST_F(sel, small_buffer_keeps_the_message)
{
	char b[MSG_MAX];
	struct kchan_case c[1];
	struct kchan_select out;

	offer(_metadata, self, 0, 18);
	c[0] = kt_case_recv(self->fd[0], b, MSG_LEN - 1);
	EXPECT_EQ(-EMSGSIZE, kt_select(c, 1, 0, &out));
	EXPECT_EQ(0, out.index);
	c[0] = kt_case_recv(self->fd[0], b, MSG_LEN);
	EXPECT_EQ(0, kt_select(c, 1, 0, &out));
	EXPECT_TRUE(kt_check(b, MSG_LEN, 18));
	if (!self->capacity)
		EXPECT_EQ(MSG_LEN, kt_op_result(&self->ops[0]));
}

TEST_F(sel, deadline_is_absolute)
{
	char b[MSG_MAX];
	struct kchan_case c[2];
	struct kchan_select out;
	uint64_t t0, dt;

	c[0] = kt_case_recv(self->fd[0], b, sizeof(b));
	c[1] = kt_case_recv(self->fd[1], b, sizeof(b));
	t0 = kt_now_ns();
	EXPECT_EQ(-ETIMEDOUT, kt_select_full(c, 2, KCHAN_SELECT_DEADLINE,
					     kt_deadline_ns(200), &out));
	dt = kt_now_ns() - t0;
	EXPECT_LE(195000000ull, dt);
	EXPECT_EQ(-1, out.index);
	/* A deadline in the past: nothing ready gives up at once... */
	EXPECT_EQ(-ETIMEDOUT, kt_select_full(c, 2, KCHAN_SELECT_DEADLINE,
					     kt_deadline_ns(-1000), &out));
	/* ...but a ready case still wins, as in Go. */
	offer(_metadata, self, 1, 19);
	EXPECT_EQ(1, kt_select_full(c, 2, KCHAN_SELECT_DEADLINE,
				    kt_deadline_ns(-1000), &out));
	EXPECT_TRUE(kt_check(b, MSG_LEN, 19));
	kt_expect_idle(_metadata, self->fd[0]);
}

/* A signal ends a waiting select with EINTR; nothing is left queued. */
TEST_F(sel, signal_interrupts_without_sa_restart)
{
	struct kt_sel_op op = { .n = 2 };
	char b[MSG_MAX], m[MSG_LEN];

	ASSERT_EQ(0, kt_catch(SIGUSR1, false));
	kt_fill(m, MSG_LEN, 20);
	if (self->capacity)
		fill(_metadata, self, 1);
	op.cases[0] = kt_case_recv(self->fd[0], b, sizeof(b));
	op.cases[1] = kt_case_send(self->fd[1], m, MSG_LEN);
	ASSERT_EQ(0, kt_sel_op_start(&op));
	ASSERT_EQ(0, kt_wait_for(self->fd[0], receivers, 1));
	ASSERT_EQ(0, kt_wait_for(self->fd[1], senders, 1));
	ASSERT_EQ(0, pthread_kill(op.thread, SIGUSR1));
	EXPECT_EQ(-EINTR, kt_sel_op_result(&op, KT_TIMEOUT_MS));
	kt_expect_idle(_metadata, self->fd[0]);
	kt_expect_idle(_metadata, self->fd[1]);
}

/* Under SA_RESTART the select restarts, keeps its deadline, and completes. */
TEST_F(sel, signal_restarts_with_sa_restart)
{
	struct kt_sel_op op = { .n = 1 };
	char b[MSG_MAX];
	int k;

	ASSERT_EQ(0, kt_catch(SIGUSR1, true));
	op.cases[0] = kt_case_recv(self->fd[0], b, sizeof(b));
	op.flags = KCHAN_SELECT_DEADLINE;
	op.deadline_ns = kt_deadline_ns(60000);
	ASSERT_EQ(0, kt_sel_op_start(&op));
	for (k = 0; k < 5; k++) {
		ASSERT_EQ(0, kt_wait_for(self->fd[0], receivers, 1));
		ASSERT_EQ(0, pthread_kill(op.thread, SIGUSR1));
		kt_sleep_ms(20);
	}
	EXPECT_FALSE(atomic_load(&op.done));
	ASSERT_EQ(0, kt_wait_for(self->fd[0], receivers, 1));
	kt_fill(b + MSG_LEN, MSG_LEN, 21);
	ASSERT_EQ(MSG_LEN, kt_send(self->fd[0], b + MSG_LEN, MSG_LEN));
	EXPECT_EQ(0, kt_sel_op_result(&op, KT_TIMEOUT_MS));
	EXPECT_TRUE(kt_check(b, MSG_LEN, 21));
}

/* The same channel in both directions: a select never matches itself. */
TEST_F(sel, same_channel_both_directions)
{
	char m[MSG_LEN], b[MSG_MAX], got[MSG_MAX];
	struct kchan_case c[3];
	struct kchan_select out;
	struct kt_op rx;

	kt_fill(m, MSG_LEN, 22);
	c[0] = kt_case_recv(self->fd[0], b, sizeof(b));
	c[1] = kt_case_send(self->fd[0], m, MSG_LEN);
	c[2] = kt_case_recv(self->fd[0], b, sizeof(b));
	if (self->capacity) {
		unsigned int k;

		/* Empty: only the send can go; full: only a receive. */
		ASSERT_EQ(1, kt_select(c, 3, 0, &out));
		for (k = 1; k < self->capacity; k++)
			ASSERT_EQ(MSG_LEN, kt_send(self->fd[0], m, MSG_LEN));
		out.index = 1;
		ASSERT_LE(0, kt_select(c, 3, 0, &out));
		EXPECT_NE(1, out.index);
		EXPECT_TRUE(kt_check(b, MSG_LEN, 22));
		return;
	}
	EXPECT_EQ(-EAGAIN, kt_select(c, 3, KCHAN_SELECT_NONBLOCK, &out));
	/* Another receiver takes the select's send, and only that. */
	ASSERT_EQ(0, kt_op_recv(&rx, self->fd[0], got, sizeof(got)));
	ASSERT_EQ(0, kt_wait_for(self->fd[0], receivers, 1));
	ASSERT_EQ(1, kt_select(c, 3, 0, &out));
	ASSERT_EQ(MSG_LEN, kt_op_result(&rx));
	EXPECT_TRUE(kt_check(got, MSG_LEN, 22));
	kt_expect_idle(_metadata, self->fd[0]);
}

/* Both sides select on a rendezvous or buffered channel. */
TEST_F(sel, select_meets_select)
{
	char m[MSG_LEN], b[MSG_MAX];
	struct kt_sel_op tx = { .n = 2 };
	struct kchan_case c[2];
	struct kchan_select out;

	if (self->capacity)
		fill(_metadata, self, 1);	/* the send can only go to 0 */
	kt_fill(m, MSG_LEN, 23);
	tx.cases[0] = kt_case_send(self->fd[0], m, MSG_LEN);
	tx.cases[1] = kt_case_send(self->fd[1], m, MSG_LEN);
	ASSERT_EQ(0, kt_sel_op_start(&tx));
	if (!self->capacity)
		ASSERT_EQ(0, kt_wait_for(self->fd[0], senders, 1));
	c[0] = kt_case_recv(self->fd[2], b, sizeof(b));
	c[1] = kt_case_recv(self->fd[0], b, sizeof(b));
	ASSERT_EQ(1, kt_select(c, 2, 0, &out));
	EXPECT_TRUE(kt_check(b, MSG_LEN, 23));
	EXPECT_EQ(0, kt_sel_op_result(&tx, KT_TIMEOUT_MS));
	kt_expect_idle(_metadata, self->fd[2]);
}

/* Poll on a rendezvous channel counts a committed select as a partner. */
TEST(poll_sees_a_committed_select)
{
	char b[MSG_MAX], m[MSG_LEN];
	struct kt_sel_op op = { .n = 1 };
	int fd = kchan_make(0, MSG_MAX, 0);
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, poll(&p, 1, 0));
	op.cases[0] = kt_case_recv(fd, b, sizeof(b));
	ASSERT_EQ(0, kt_sel_op_start(&op));
	ASSERT_EQ(1, poll(&p, 1, KT_TIMEOUT_MS));
	EXPECT_EQ(POLLOUT, p.revents);
	kt_fill(m, MSG_LEN, 24);
	ASSERT_EQ(0, kt_set_nonblock(fd, true));
	EXPECT_EQ(MSG_LEN, kt_send(fd, m, MSG_LEN));
	EXPECT_EQ(0, kt_sel_op_result(&op, KT_TIMEOUT_MS));
	EXPECT_TRUE(kt_check(b, MSG_LEN, 24));
	close(fd);
}

/* Selects over many channels: 256 cases, the last one completes. */
TEST_F(sel, many_channels)
{
	enum { N = 256 };
	struct kchan_case *c = calloc(N, sizeof(*c));
	int *fds = calloc(N, sizeof(int));
	char b[MSG_MAX], m[MSG_LEN];
	struct kchan_select out;
	int i;

	ASSERT_NE(NULL, c);
	ASSERT_NE(NULL, fds);
	for (i = 0; i < N; i++) {
		fds[i] = kchan_make(self->capacity, MSG_MAX, 0);
		ASSERT_LE(0, fds[i]);
		c[i] = kt_case_recv(fds[i], b, sizeof(b));
	}
	kt_fill(m, MSG_LEN, 25);
	ASSERT_EQ(0, kt_op_send(&self->ops[0], fds[N - 1], m, MSG_LEN));
	self->op_started[0] = true;
	ASSERT_EQ(N - 1, kt_select(c, N, 0, &out));
	EXPECT_EQ(MSG_LEN, kt_op_result(&self->ops[0]));
	EXPECT_TRUE(kt_check(b, MSG_LEN, 25));
	for (i = 0; i < N; i++) {
		kt_expect_idle(_metadata, fds[i]);
		close(fds[i]);
	}
	free(c);
	free(fds);
}

TEST_HARNESS_MAIN
