// SPDX-License-Identifier: GPL-2.0
/*
 * The armed select for the caller's own loop: kchan_sel_* with epoll, and
 * kchan_prep_collect() on the caller's io_uring ring.
 */
#include <liburing.h>
#include <sys/epoll.h>

#include "lib_test.h"

#define MSG_MAX		64

FIXTURE(loop) {
	int ch[2];
	char buf[2][MSG_MAX];
	struct kchan_op ops[2];
};

FIXTURE_SETUP(loop)
{
	int i;

	for (i = 0; i < 2; i++) {
		self->ch[i] = kchan_make(1, MSG_MAX, 0);
		ASSERT_LE(0, self->ch[i]);
		self->ops[i] = (struct kchan_op){ .fd = self->ch[i], .kind = KCHAN_RECV,
						  .buf = self->buf[i], .len = MSG_MAX };
	}
}

FIXTURE_TEARDOWN(loop)
{
	close(self->ch[0]);
	close(self->ch[1]);
}

TEST_F(loop, an_epoll_loop_collects_the_op_that_completed)
{
	int sfd = kchan_sel_open(O_NONBLOCK), ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };

	ASSERT_LE(0, sfd);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev));
	EXPECT_EQ(-ENOTCONN, kchan_sel_collect(sfd, self->ops, 2));
	ASSERT_EQ(0, kchan_sel_arm(sfd, self->ops, 2, 0));
	EXPECT_EQ(-EBUSY, kchan_sel_arm(sfd, self->ops, 2, 0));
	EXPECT_EQ(-EAGAIN, kchan_sel_collect(sfd, self->ops, 2));
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	ASSERT_EQ(3, kchan_send(self->ch[1], "two", 3, 0));
	EXPECT_EQ(1, epoll_wait(ep, &ev, 1, LT_WAIT_MS));
	EXPECT_EQ(1, kchan_sel_collect(sfd, self->ops, 2));
	EXPECT_EQ(3, self->ops[1].result);
	EXPECT_EQ(0, memcmp(self->buf[1], "two", 3));
	EXPECT_EQ(0u, lt_stat(self->ch[1]).queued);
	close(ep);
	close(sfd);
}

TEST_F(loop, a_persistent_arm_collects_event_after_event)
{
	int sfd = kchan_sel_open(O_NONBLOCK), i;
	struct kchan_op send = { .fd = self->ch[0], .kind = KCHAN_SEND,
				 .buf = "x", .len = 1 };

	ASSERT_LE(0, sfd);
	EXPECT_EQ(-EINVAL, kchan_sel_arm(sfd, &send, 1, KCHAN_PERSIST));
	ASSERT_EQ(0, kchan_sel_arm(sfd, self->ops, 2, KCHAN_PERSIST));
	for (i = 0; i < 6; i++) {
		EXPECT_EQ(-EAGAIN, kchan_sel_collect(sfd, self->ops, 2));
		ASSERT_EQ(1, kchan_send(self->ch[i % 2], i % 2 ? "b" : "a", 1, 0));
		EXPECT_EQ(i % 2, kchan_sel_collect(sfd, self->ops, 2));
		EXPECT_EQ(1, self->ops[i % 2].result);
		EXPECT_EQ(i % 2 ? 'b' : 'a', self->buf[i % 2][0]);
	}
	EXPECT_EQ(0, kchan_sel_cancel(sfd, self->ops, 2) == -ECANCELED ? 0 : -1);
	close(sfd);
}

TEST_F(loop, cancel_reports_an_op_that_completed_meanwhile)
{
	int sfd = kchan_sel_open(0);

	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, kchan_sel_arm(sfd, self->ops, 2, 0));
	EXPECT_EQ(-ECANCELED, kchan_sel_cancel(sfd, self->ops, 2));
	EXPECT_EQ(0u, lt_stat(self->ch[0]).receivers);
	ASSERT_EQ(0, kchan_sel_arm(sfd, self->ops, 2, 0));
	ASSERT_EQ(2, kchan_send(self->ch[0], "c0", 2, 0));
	/* Completed, never collected: the cancel hands it over. */
	EXPECT_EQ(0, kchan_sel_cancel(sfd, self->ops, 2));
	EXPECT_EQ(2, self->ops[0].result);
	EXPECT_EQ(0, memcmp(self->buf[0], "c0", 2));
	EXPECT_EQ(0u, lt_stat(self->ch[0]).queued);
	close(sfd);
}

TEST_F(loop, arm_takes_channel_sends_and_receives_only)
{
	int sfd = kchan_sel_open(0), p[2];
	struct kchan_op bad = { .fd = 0, .kind = KCHAN_READABLE };

	ASSERT_LE(0, sfd);
	EXPECT_EQ(-EINVAL, kchan_sel_arm(sfd, &bad, 1, 0));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	bad = (struct kchan_op){ .fd = p[0], .kind = KCHAN_RECV,
				 .buf = self->buf[0], .len = MSG_MAX };
	EXPECT_EQ(-EINVAL, kchan_sel_arm(sfd, &bad, 1, 0));
	EXPECT_EQ(-EINVAL, bad.result);
	EXPECT_EQ(-EINVAL, kchan_sel_open(O_APPEND));
	close(p[0]);
	close(p[1]);
	close(sfd);
}

TEST_F(loop, an_io_uring_loop_collects_through_prep_collect)
{
	struct kchan_select_result res;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int sfd = kchan_sel_open(0), ret;

	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(0, kchan_sel_arm(sfd, self->ops, 2, 0));
	kchan_prep_collect(io_uring_get_sqe(&ring), sfd, &res);
	ASSERT_EQ(1, io_uring_submit(&ring));
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&ring, &cqe));
	ASSERT_EQ(4, kchan_send(self->ch[0], "ring", 4, 0));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	ret = kchan_sel_result(&res, cqe->res, self->ops, 2);
	io_uring_cqe_seen(&ring, cqe);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(4, self->ops[0].result);
	EXPECT_EQ(0, memcmp(self->buf[0], "ring", 4));
	io_uring_queue_exit(&ring);
	close(sfd);
}

TEST_HARNESS_MAIN
