// SPDX-License-Identifier: GPL-2.0
/*
 * A signal during every blocking call of libkchan gives -EINTR, and
 * nothing was sent, taken or left armed: the caller may retry.
 */
#include <sys/syscall.h>

#include "lib_test.h"

#define MSG_MAX		16

enum call {
	C_SEND, C_RECV, C_SENDV, C_RECVV, C_SELECT, C_SELECT_MIXED,
	C_RECV_TIMER, C_SEL_COLLECT,
};

FIXTURE(sig) {
	int ch, pipe[2], timer, sfd;
	char buf[2][MSG_MAX];
	struct iovec iov[2];
	struct kchan_op ops[2];
	pid_t tid;
	atomic_int started;
	ssize_t ret;
	enum call call;
};

FIXTURE_VARIANT(sig) {
	enum call call;
	bool mixed;	/* waits in epoll or io_uring, else in the call itself */
};

FIXTURE_VARIANT_ADD(sig, send) { .call = C_SEND };
FIXTURE_VARIANT_ADD(sig, recv) { .call = C_RECV };
FIXTURE_VARIANT_ADD(sig, sendv) { .call = C_SENDV };
FIXTURE_VARIANT_ADD(sig, recvv) { .call = C_RECVV };
FIXTURE_VARIANT_ADD(sig, select) { .call = C_SELECT };
FIXTURE_VARIANT_ADD(sig, select_mixed) { .call = C_SELECT_MIXED, .mixed = true };
FIXTURE_VARIANT_ADD(sig, recv_timer) { .call = C_RECV_TIMER, .mixed = true };
FIXTURE_VARIANT_ADD(sig, sel_collect) { .call = C_SEL_COLLECT };

FIXTURE_SETUP(sig)
{
	self->ch = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, self->ch);
	ASSERT_EQ(0, pipe2(self->pipe, O_CLOEXEC));
	self->timer = kchan_after(KCHAN_FOREVER);
	ASSERT_LE(0, self->timer);
	self->sfd = kchan_sel_open(0);
	ASSERT_LE(0, self->sfd);
	self->iov[0] = (struct iovec){ self->buf[0], MSG_MAX };
	self->iov[1] = (struct iovec){ self->buf[1], MSG_MAX };
	self->call = variant->call;
	lt_catch(SIGUSR1);
}

FIXTURE_TEARDOWN(sig)
{
	close(self->ch);
	close(self->pipe[0]);
	close(self->pipe[1]);
	close(self->timer);
	close(self->sfd);
}

static void *blocked_call(void *arg)
{
	FIXTURE_DATA(sig) *self = arg;
	int64_t later = kchan_in(LT_WAIT_MS * LT_MS);

	self->tid = lt_gettid();
	atomic_store(&self->started, 1);
	switch (self->call) {
	case C_SEND:
		self->ret = kchan_send(self->ch, "s", 1, later);
		break;
	case C_RECV:
		self->ret = kchan_recv(self->ch, self->buf[0], MSG_MAX, later);
		break;
	case C_SENDV:
		self->ret = kchan_sendv(self->ch, self->iov, 2, KCHAN_FOREVER);
		break;
	case C_RECVV:
		self->ret = kchan_recvv(self->ch, self->iov, 2, KCHAN_FOREVER);
		break;
	case C_SELECT:
		self->ops[0] = (struct kchan_op){ .fd = self->ch, .kind = KCHAN_RECV,
						  .buf = self->buf[0], .len = MSG_MAX };
		self->ops[1] = (struct kchan_op){ .fd = self->ch, .kind = KCHAN_SEND,
						  .buf = "s", .len = 1 };
		self->ret = kchan_select(self->ops, 2, 0, later);
		break;
	case C_SELECT_MIXED:
		self->ops[0] = (struct kchan_op){ .fd = self->ch, .kind = KCHAN_RECV,
						  .buf = self->buf[0], .len = MSG_MAX };
		self->ops[1] = (struct kchan_op){ .fd = self->pipe[0], .kind = KCHAN_RECV,
						  .buf = self->buf[1], .len = MSG_MAX };
		self->ret = kchan_select(self->ops, 2, 0, later);
		break;
	case C_RECV_TIMER:
		self->ret = kchan_recv(self->timer, self->buf[0], 8, later);
		break;
	case C_SEL_COLLECT:
		self->ret = kchan_sel_collect(self->sfd, self->ops, 1);
		break;
	}
	return NULL;
}

TEST_F(sig, a_signal_gives_eintr_and_loses_nothing)
{
	long nr = variant->mixed ? lt_mixed_wait_nr() :
		  variant->call == C_SEL_COLLECT ? SYS_read : SYS_ioctl;
	struct kchan_stat st;
	pthread_t t;

	if (variant->call == C_SENDV)
		memcpy(self->buf, "ab", 2), self->iov[0].iov_len = 1, self->iov[1].iov_len = 1;
	if (variant->call == C_SEL_COLLECT) {
		self->ops[0] = (struct kchan_op){ .fd = self->ch, .kind = KCHAN_RECV,
						  .buf = self->buf[0], .len = MSG_MAX };
		ASSERT_EQ(0, kchan_sel_arm(self->sfd, self->ops, 1, 0));
	}
	ASSERT_EQ(0, pthread_create(&t, NULL, blocked_call, self));
	while (!atomic_load(&self->started))
		lt_sleep_ms(1);
	ASSERT_EQ(0, lt_wait_sleeping_in(self->tid, nr));
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	EXPECT_EQ(-EINTR, self->ret);
	EXPECT_LE(1, atomic_load(&lt_signals));

	st = lt_stat(self->ch);
	EXPECT_EQ(0u, st.sent);
	EXPECT_EQ(0u, st.queued);
	EXPECT_EQ(0u, st.senders);
	if (variant->call == C_SEL_COLLECT) {
		/* The read was interrupted, not the select: it is still armed. */
		EXPECT_EQ(-ECANCELED, kchan_sel_cancel(self->sfd, self->ops, 1));
	}
	EXPECT_EQ(0u, lt_stat(self->ch).receivers);
	/* Nobody is left committed to receive. */
	EXPECT_EQ(-EAGAIN, kchan_send(self->ch, "n", 1, 0));
	/* And the call works when retried. */
	EXPECT_EQ(-ETIMEDOUT, kchan_recv(self->ch, self->buf[0], MSG_MAX, kchan_in(10 * LT_MS)));
}

TEST_HARNESS_MAIN
