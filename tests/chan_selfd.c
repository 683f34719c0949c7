// SPDX-License-Identifier: GPL-2.0
/*
 * Select files: a case set armed on a descriptor, driven from poll, epoll
 * and io_uring (contract sections 5 and 6, "async form").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kt.h"
#include "kt_bg.h"
#include "kt_fault.h"
#include "kt_sys.h"
#include "kt_select.h"
#include "kt_fixture.h"

#define MSG_MAX		64
#define CAPACITY	2
#define MSG_LEN		24
#define RACE_ROUNDS	400

FIXTURE(sfd) {
	int ch[2];
	int sfd;
	unsigned int capacity;
};

KT_CHAN_VARIANTS(sfd, CAPACITY);

FIXTURE_SETUP(sfd)
{
	int i;

	self->capacity = variant->capacity;
	for (i = 0; i < 2; i++) {
		self->ch[i] = kt_chan_setup(_metadata, variant->capacity, MSG_MAX);
	}
	self->sfd = kt_selfd(O_CLOEXEC);
	ASSERT_LE(0, self->sfd) TH_LOG("select fd: %s", strerror(-self->sfd));
}

FIXTURE_TEARDOWN(sfd)
{
	close(self->sfd);
	close(self->ch[0]);
	close(self->ch[1]);
}

/*
 * KCHAN_SEL_ARM writes the index of a failing case back, so its number
 * says _IOWR; the _IOW number it had up to interface version 1 is no
 * command any more.
 */
TEST_F(sfd, sel_arm_is_iowr_and_its_old_iow_number_is_enotty)
{
	struct kchan_version v = { 0 };
	struct kchan_select_result res;
	struct kchan_select req = { 0 };
	struct kchan_case c;
	char b[MSG_MAX];

	EXPECT_EQ(_IOC_READ | _IOC_WRITE, _IOC_DIR(KCHAN_SEL_ARM));
	c = kt_case_recv(self->ch[0], b, sizeof(b));
	req.cases = (uintptr_t)&c;
	req.ncases = 1;
	EXPECT_EQ(-1, ioctl(self->sfd, _IOW(KCHAN_IOC_MAGIC, 0x20,
					    struct kchan_select), &req));
	EXPECT_EQ(ENOTTY, errno);
	ASSERT_EQ(0, kt_set_nonblock(self->sfd, true));
	EXPECT_EQ(-ENOTCONN, kt_sel_read(self->sfd, &res));
	ASSERT_EQ(0, ioctl(self->ch[0], KCHAN_IOC_VERSION, &v));
	EXPECT_LE(2U, v.version);
}

/* An armed receive: unready until a send, which the select accepts. */
TEST_F(sfd, armed_receive)
{
	struct kchan_select_result res;
	char b[MSG_MAX], m[MSG_LEN];
	struct kchan_case c[2];

	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	c[1] = kt_case_recv(self->ch[1], b, sizeof(b));
	EXPECT_EQ(-ENOTCONN, kt_sel_read(self->sfd, &res));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 2, 0, NULL));
	EXPECT_EQ(0, kt_ready_now(self->sfd));
	EXPECT_EQ(-EBUSY, kt_arm(self->sfd, c, 2, 0, NULL));
	ASSERT_EQ(0, kt_set_nonblock(self->sfd, true));
	EXPECT_EQ(-EAGAIN, kt_sel_read(self->sfd, &res));

	/* An armed select is a partner even for a non-blocking send. */
	kt_fill(m, MSG_LEN, 1);
	ASSERT_EQ(0, kt_set_nonblock(self->ch[1], true));
	EXPECT_EQ(POLLOUT, kt_ready_now(self->ch[1]));
	ASSERT_EQ(MSG_LEN, kt_send(self->ch[1], m, MSG_LEN));
	EXPECT_EQ(POLLIN, kt_ready_now(self->sfd));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(1, res.index);
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_EQ(0u, res.flags);
	EXPECT_TRUE(kt_check(b, MSG_LEN, 1));
	/* Read once: disarmed, and nothing left behind. */
	EXPECT_EQ(0, kt_ready_now(self->sfd));
	EXPECT_EQ(-ENOTCONN, kt_sel_read(self->sfd, &res));
	kt_expect_idle(_metadata, self->ch[0]);
	kt_expect_idle(_metadata, self->ch[1]);

	/* Re-arm: the same set works again. */
	ASSERT_EQ(0, kt_arm(self->sfd, c, 2, 0, NULL));
	kt_fill(m, MSG_LEN, 2);
	ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	ASSERT_EQ(MSG_LEN, kt_send(self->ch[0], m, MSG_LEN));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_TRUE(kt_check(b, MSG_LEN, 2));
}

/* An armed send completes when a receiver takes it. */
TEST_F(sfd, armed_send)
{
	struct kchan_select_result res;
	char b[MSG_MAX], m[MSG_LEN];
	struct kchan_case c[1];

	kt_fill(m, MSG_LEN, 3);
	c[0] = kt_case_send(self->ch[0], m, MSG_LEN);
	ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));
	memset(m, 0, sizeof(m));	/* copied in at arming */
	if (!self->capacity) {
		EXPECT_EQ(0, kt_ready_now(self->sfd));
		EXPECT_EQ(POLLIN, kt_ready_now(self->ch[0]));
		ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	}
	ASSERT_EQ(MSG_LEN, kt_recv(self->ch[0], b, sizeof(b)));
	EXPECT_TRUE(kt_check(b, MSG_LEN, 3));
	EXPECT_EQ(POLLIN, kt_ready_now(self->sfd));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(MSG_LEN, res.result);
}

/* A send case on a closed channel completes with -EPIPE. */
TEST_F(sfd, armed_send_on_closed)
{
	struct kchan_select_result res;
	char m[MSG_LEN], b[MSG_MAX];
	struct kchan_case c[2];

	kt_fill(m, MSG_LEN, 10);
	if (self->capacity) {
		ASSERT_EQ(MSG_LEN, kt_send(self->ch[0], m, MSG_LEN));
		ASSERT_EQ(MSG_LEN, kt_send(self->ch[0], m, MSG_LEN));
	}
	c[0] = kt_case_send(self->ch[0], m, MSG_LEN);
	c[1] = kt_case_recv(self->ch[1], b, sizeof(b));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 2, 0, NULL));
	EXPECT_EQ(0, kt_ready_now(self->sfd));
	ASSERT_EQ(0, kchan_close(self->ch[0]));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(-EPIPE, res.result);
	kt_expect_idle(_metadata, self->ch[1]);
	/* And a receive on a closed channel reports it. */
	ASSERT_EQ(0, kchan_close(self->ch[1]));
	c[0] = kt_case_recv(self->ch[1], b, sizeof(b));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(0, res.result);
	EXPECT_EQ((__u32)KCHAN_SELECT_CLOSED, res.flags);
}

TEST_F(sfd, cancel_before_completion)
{
	struct kchan_select_result res;
	char b[MSG_MAX], m[MSG_LEN];
	struct kchan_case c[2];

	kt_fill(m, MSG_LEN, 4);
	EXPECT_EQ(0, kt_cancel(self->sfd, &res));	/* nothing armed */
	EXPECT_EQ(-1, res.index);
	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	c[1] = kt_case_recv(self->ch[1], b, sizeof(b));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 2, 0, NULL));
	ASSERT_EQ(0, kt_cancel(self->sfd, &res));
	EXPECT_EQ(-1, res.index);
	kt_expect_idle(_metadata, self->ch[0]);
	kt_expect_idle(_metadata, self->ch[1]);
	/* A cancelled select takes nothing. */
	ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	if (!self->capacity)
		EXPECT_EQ(-EAGAIN, kt_send(self->ch[0], m, MSG_LEN));
	EXPECT_EQ(-ENOTCONN, kt_sel_read(self->sfd, &res));
}

/* A reader blocked on a select file wakes when another thread cancels. */
TEST_F(sfd, cancel_wakes_a_blocked_reader)
{
	struct kchan_select_result res;
	char b[MSG_MAX];
	struct kchan_case c[1];
	struct kt_op rd;

	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));
	ASSERT_EQ(0, kt_op_recv(&rd, self->sfd, NULL, sizeof(res)));
	while (!rd.tid)
		usleep(1000);
	/* Asleep in the read, not merely about to make it. */
	ASSERT_EQ(0, kt_wait_sleeping_in(rd.tid, SYS_read, KT_TIMEOUT_MS));
	ASSERT_EQ(0, kt_cancel(self->sfd, &res));
	ASSERT_EQ(0, kt_op_wait(&rd, KT_TIMEOUT_MS));
	EXPECT_EQ(-ENOTCONN, rd.ret);
}

/* Cancel after a case completed reports it, data included. */
TEST_F(sfd, cancel_after_completion)
{
	struct kchan_select_result res;
	char b[MSG_MAX], m[MSG_LEN];
	struct kchan_case c[1];

	kt_fill(m, MSG_LEN, 5);
	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));
	ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	ASSERT_EQ(MSG_LEN, kt_send(self->ch[0], m, MSG_LEN));
	ASSERT_EQ(1, kt_cancel(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_TRUE(kt_check(b, MSG_LEN, 5));
	EXPECT_EQ(-ENOTCONN, kt_sel_read(self->sfd, &res));
}

/*
 * Poll says what a non-blocking operation would do (contract section 5).
 * A select committed through one case keeps its other cases queued until
 * it is read, but they are nobody's partner any more: a rendezvous
 * channel with only such a receive case polls not writable, as a
 * non-blocking write there gets EAGAIN; epoll agrees.
 */
TEST_F(sfd, receive_cases_of_a_select_done_elsewhere_make_no_pollout)
{
	struct kchan_select_result res;
	char b[2][MSG_MAX], m[MSG_LEN];
	struct epoll_event ev;
	struct kchan_case c[2];
	int ep, edge;
	ssize_t sent;

	kt_fill(m, MSG_LEN, 40);
	c[0] = kt_case_recv(self->ch[0], b[0], MSG_MAX);
	c[1] = kt_case_recv(self->ch[1], b[1], MSG_MAX);
	ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	ASSERT_EQ(0, kt_set_nonblock(self->ch[1], true));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 2, 0, NULL));
	/* Waiting, the select is a partner on both. */
	if (!self->capacity)
		EXPECT_EQ(POLLOUT, kt_ready_now(self->ch[1]));
	ASSERT_EQ(MSG_LEN, kt_send(self->ch[0], m, MSG_LEN));
	EXPECT_EQ(POLLIN, kt_ready_now(self->sfd));

	/* Done through ch[0], not read: its case on ch[1] is still queued. */
	ep = kt_epoll_for(self->ch[1], EPOLLOUT | EPOLLET);
	ASSERT_LE(0, ep);
	edge = epoll_wait(ep, &ev, 1, 0);
	sent = kt_expect_poll_agrees(_metadata, self->ch[1], true, m, MSG_LEN);
	EXPECT_EQ(sent == MSG_LEN, edge == 1);
	if (!self->capacity)
		EXPECT_EQ(-EAGAIN, sent);

	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_TRUE(kt_check(b[0], MSG_LEN, 40));
	kt_expect_idle(_metadata, self->ch[1]);
	close(ep);
}

/*
 * Introspection counts a receiver as blocked only while it is (contract
 * section 7): a select file done through one case, not read yet, is no
 * blocked receiver on its other case's channel, in the stat ioctl and
 * in fdinfo alike, although that case is still queued there.
 */
TEST_F(sfd, a_select_done_elsewhere_is_not_counted_as_blocked_on_its_other_channel)
{
	struct kchan_select_result res;
	char b[2][MSG_MAX], m[MSG_LEN];
	unsigned long long receivers = 99;
	struct kchan_case c[2];
	struct kchan_stat st;

	kt_fill(m, MSG_LEN, 41);
	c[0] = kt_case_recv(self->ch[0], b[0], MSG_MAX);
	c[1] = kt_case_recv(self->ch[1], b[1], MSG_MAX);
	ASSERT_EQ(0, kt_arm(self->sfd, c, 2, 0, NULL));
	ASSERT_EQ(0, kt_stat(self->ch[1], &st));
	EXPECT_EQ(1u, st.receivers);
	ASSERT_EQ(MSG_LEN, kt_send(self->ch[0], m, MSG_LEN));
	EXPECT_EQ(POLLIN, kt_ready_now(self->sfd));

	/* Done through ch[0], not read: nobody waits on ch[1]. */
	ASSERT_EQ(0, kt_stat(self->ch[1], &st));
	EXPECT_EQ(0u, st.receivers);
	EXPECT_EQ(0u, st.senders);
	ASSERT_EQ(0, kt_fdinfo_u64(self->ch[1], "kchan-receivers", NULL,
				   &receivers));
	EXPECT_EQ(0ull, receivers);
	ASSERT_EQ(0, kt_stat(self->ch[0], &st));
	EXPECT_EQ(0u, st.receivers);

	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_TRUE(kt_check(b[0], MSG_LEN, 41));
	kt_expect_idle(_metadata, self->ch[0]);
	kt_expect_idle(_metadata, self->ch[1]);
}

/*
 * The send side of the same: a select done through a receive case keeps
 * its send case queued until it is read, and the channel of that send
 * polls readable only if a non-blocking read there gets a message (a
 * buffered one is full first, so that the send case waits too).
 */
TEST_F(sfd, send_cases_of_a_select_done_elsewhere_make_no_pollin)
{
	char b[MSG_MAX], got[MSG_MAX], m[MSG_LEN], x[MSG_LEN];
	struct kchan_select_result res;
	struct kchan_case c[2];
	ssize_t recvd;
	unsigned int i;

	kt_fill(m, MSG_LEN, 41);
	kt_fill(x, MSG_LEN, 42);
	ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	ASSERT_EQ(0, kt_set_nonblock(self->ch[1], true));
	for (i = 0; i < self->capacity; i++)
		ASSERT_EQ(MSG_LEN, kt_send(self->ch[1], x, MSG_LEN));
	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	c[1] = kt_case_send(self->ch[1], m, MSG_LEN);
	ASSERT_EQ(0, kt_arm(self->sfd, c, 2, 0, NULL));
	EXPECT_EQ(0, kt_ready_now(self->sfd));
	if (!self->capacity)
		EXPECT_EQ(POLLIN, kt_ready_now(self->ch[1]));
	ASSERT_EQ(MSG_LEN, kt_send(self->ch[0], x, MSG_LEN));
	EXPECT_EQ(POLLIN, kt_ready_now(self->sfd));

	/* Done through ch[0], not read: its send on ch[1] is still queued. */
	recvd = kt_expect_poll_agrees(_metadata, self->ch[1], false, got,
				      sizeof(got));
	if (recvd == MSG_LEN)
		EXPECT_TRUE(kt_check(got, MSG_LEN, 42));
	if (!self->capacity)
		EXPECT_EQ(-EAGAIN, recvd);

	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_TRUE(kt_check(b, MSG_LEN, 42));
	kt_expect_idle(_metadata, self->ch[1]);
}

/*
 * Releasing a select file whose receive completed loses nothing: the
 * message goes back to the head of its channel.
 */
TEST_F(sfd, release_gives_the_message_back)
{
	char b[MSG_MAX], m[MSG_LEN];
	struct kchan_case c[1];
	struct kt_op tx;
	struct kchan_stat st;

	kt_fill(m, MSG_LEN, 6);
	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));
	ASSERT_EQ(0, kt_op_send(&tx, self->ch[0], m, MSG_LEN));
	ASSERT_EQ(1, poll(&(struct pollfd){ .fd = self->sfd, .events = POLLIN },
			  1, KT_TIMEOUT_MS));
	/*
	 * The select took the message into custody: even a rendezvous
	 * sender is done, though nobody has read the select yet.
	 */
	EXPECT_EQ(MSG_LEN, kt_op_result(&tx));
	close(self->sfd);
	self->sfd = kt_selfd(O_CLOEXEC);
	/* Released unread: the message goes back to the channel's head. */
	EXPECT_EQ(POLLIN, kt_ready_now(self->ch[0]) & POLLIN);
	memset(b, 0, sizeof(b));
	ASSERT_EQ(MSG_LEN, kt_recv(self->ch[0], b, sizeof(b)));
	EXPECT_TRUE(kt_check(b, MSG_LEN, 6));
	ASSERT_EQ(0, kt_stat(self->ch[0], &st));
	EXPECT_EQ(1ull, st.received);
	EXPECT_EQ(1ull, st.sent);
	EXPECT_EQ(0u, st.queued);
}

TEST_F(sfd, bad_arguments)
{
	struct kchan_select_result res;
	char b[MSG_MAX];
	struct kchan_case c[1];
	int bad;

	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	EXPECT_EQ(-EINVAL, kt_arm(self->sfd, c, 1, KCHAN_SELECT_NONBLOCK,
				  NULL));
	c[0] = kt_case_recv(self->sfd, b, sizeof(b));	/* not a channel */
	EXPECT_EQ(-EINVAL, kt_arm(self->sfd, c, 1, 0, &bad));
	EXPECT_EQ(0, bad);
	ASSERT_EQ(0, kt_arm(self->sfd, NULL, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, read(self->sfd, &res, sizeof(res) - 1) < 0 ?
			   -errno : 0);
	ASSERT_EQ(0, kt_cancel(self->sfd, &res));
	EXPECT_EQ(-1, ioctl(self->sfd, KCHAN_IOC_STAT, &res));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->sfd, KCHAN_CTL_SELECT_FD, 0));
	EXPECT_EQ(ENOTTY, errno);
}

/* Only the process that armed a select may collect it. */
TEST_F(sfd, other_process_cannot_collect)
{
	struct kchan_select_result res;
	char b[MSG_MAX], m[MSG_LEN];
	struct kchan_case c[1];

	kt_fill(m, MSG_LEN, 11);
	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));
	ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	ASSERT_EQ(MSG_LEN, kt_send(self->ch[0], m, MSG_LEN));
	EXPECT_EQ(1, kt_sel_other_process_eperm(self->sfd));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(MSG_LEN, res.result);
}

/*
 * Two event loops on the two ends of a rendezvous channel, each waiting
 * only in epoll on an armed select: they meet.
 */
TEST_F(sfd, epoll_on_both_ends)
{
	struct epoll_event ev = { .events = EPOLLIN }, got[2];
	struct kchan_select_result res;
	char b[MSG_MAX], m[MSG_LEN];
	struct kchan_case tx[1], rx[1];
	int other, ep, n;

	other = kt_selfd(O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, other);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ev.data.fd = self->sfd;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->sfd, &ev));
	ev.data.fd = other;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, other, &ev));
	EXPECT_EQ(0, epoll_wait(ep, got, 2, 0));

	kt_fill(m, MSG_LEN, 7);
	tx[0] = kt_case_send(self->ch[0], m, MSG_LEN);
	rx[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	ASSERT_EQ(0, kt_arm(self->sfd, tx, 1, 0, NULL));
	ASSERT_EQ(0, kt_arm(other, rx, 1, 0, NULL));

	/*
	 * Both complete: the receiving select took the message into its
	 * custody, which is what a rendezvous send waits for.
	 */
	n = epoll_wait(ep, got, 2, KT_TIMEOUT_MS);
	if (n == 1)
		n += epoll_wait(ep, got + 1, 1, KT_TIMEOUT_MS);
	ASSERT_EQ(2, n);
	EXPECT_NE(got[0].data.fd, got[1].data.fd);
	ASSERT_EQ(0, kt_sel_read(other, &res));
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_TRUE(kt_check(b, MSG_LEN, 7));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_EQ(0, epoll_wait(ep, got, 2, 0));
	close(ep);
	close(other);
}

/*
 * io_uring waits on a select file beside a pipe and a timerfd; each
 * completes when its own event happens, and the select's receive lands
 * in its buffer.
 */
TEST_F(sfd, io_uring_with_pipe_and_timerfd)
{
	struct itimerspec its = { .it_value = { .tv_nsec = 50000000 } };
	struct kchan_select_result res = { .index = -2 };
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct kchan_case c[1];
	char b[MSG_MAX], m[MSG_LEN], pb[8];
	struct io_uring ring;
	uint64_t ticks;
	int pfd[2], tfd, i, seen = 0;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	ASSERT_LE(0, tfd);
	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));

	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, self->sfd, &res, sizeof(res), 0);
	sqe->user_data = 1;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, pfd[0], pb, sizeof(pb), 0);
	sqe->user_data = 2;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, tfd, &ticks, sizeof(ticks), 0);
	sqe->user_data = 3;
	ASSERT_EQ(3, io_uring_submit(&ring));
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&ring, &cqe));

	ASSERT_EQ(0, timerfd_settime(tfd, 0, &its, NULL));
	ASSERT_EQ(1, write(pfd[1], "x", 1));
	kt_fill(m, MSG_LEN, 8);
	ASSERT_EQ(MSG_LEN, kt_send(self->ch[0], m, MSG_LEN));
	for (i = 0; i < 3; i++) {
		struct __kernel_timespec ts = { .tv_sec = 10 };

		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		switch (cqe->user_data) {
		case 1:
			EXPECT_EQ((int)sizeof(res), cqe->res);
			break;
		case 2:
			EXPECT_EQ(1, cqe->res);
			break;
		case 3:
			EXPECT_EQ((int)sizeof(ticks), cqe->res);
			break;
		}
		seen |= 1 << cqe->user_data;
		io_uring_cqe_seen(&ring, cqe);
	}
	EXPECT_EQ(0xe, seen);
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_TRUE(kt_check(b, MSG_LEN, 8));
	io_uring_queue_exit(&ring);
	close(tfd);
	close(pfd[0]);
	close(pfd[1]);
}

/* Two rings drive both ends of a rendezvous channel: they meet. */
TEST_F(sfd, io_uring_on_both_ends)
{
	struct kchan_select_result rres = { .index = -2 }, tres = { .index = -2 };
	struct kchan_case tx[1], rx[1];
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	char b[MSG_MAX], m[MSG_LEN];
	struct io_uring ring;
	int other, i;

	other = kt_selfd(O_CLOEXEC);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	kt_fill(m, MSG_LEN, 9);
	tx[0] = kt_case_send(self->ch[0], m, MSG_LEN);
	rx[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	ASSERT_EQ(0, kt_arm(self->sfd, tx, 1, 0, NULL));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, self->sfd, &tres, sizeof(tres), 0);
	sqe->user_data = 1;
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, kt_arm(other, rx, 1, 0, NULL));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, other, &rres, sizeof(rres), 0);
	sqe->user_data = 2;
	ASSERT_EQ(1, io_uring_submit(&ring));
	for (i = 0; i < 2; i++) {
		struct __kernel_timespec ts = { .tv_sec = 10 };

		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		EXPECT_EQ((int)sizeof(tres), cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	EXPECT_EQ(MSG_LEN, tres.result);
	EXPECT_EQ(MSG_LEN, rres.result);
	EXPECT_TRUE(kt_check(b, MSG_LEN, 9));
	io_uring_queue_exit(&ring);
	close(other);
}

struct racer {
	int fd;
	unsigned int seq;
	unsigned int delay_us;
	ssize_t ret;
};

static void *race_send(void *arg)
{
	struct racer *r = arg;
	char m[MSG_LEN];

	kt_fill(m, MSG_LEN, r->seq);
	if (r->delay_us)
		usleep(r->delay_us);
	r->ret = kt_send(r->fd, m, MSG_LEN);
	return NULL;
}

/*
 * Cancel racing a send: either the case completed (cancel says so and
 * the message is in the buffer) or it did not (the message is still in
 * the channel), never both, never neither.
 */
TEST_F(sfd, cancel_races_completion)
{
	unsigned int round, completed = 0, not_completed = 0;
	struct kchan_select_result res;
	char b[MSG_MAX], got[MSG_MAX];
	struct kchan_case c[1];
	struct racer r;
	pthread_t th;
	int ret;

	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	for (round = 1; round <= RACE_ROUNDS; round++) {
		memset(b, 0, sizeof(b));
		ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));
		r = (struct racer){ .fd = self->ch[0], .seq = round,
				    .delay_us = round % 7 * 20 };
		ASSERT_EQ(0, pthread_create(&th, NULL, race_send, &r));
		usleep(round % 5 * 30);
		ret = kt_cancel(self->sfd, &res);
		ASSERT_LE(0, ret);
		if (ret == 1) {
			completed++;
			EXPECT_EQ(0, res.index);
			EXPECT_EQ(MSG_LEN, res.result);
			EXPECT_TRUE(kt_check(b, MSG_LEN, round)) {
				TH_LOG("round %u: cancel reported a completion without the data",
				       round);
			}
		} else {
			not_completed++;
			EXPECT_EQ(-1, res.index);
			/* Still in the channel (or its sender): take it. */
			ASSERT_EQ(MSG_LEN, kt_recv(self->ch[0], got,
						      sizeof(got)));
			EXPECT_TRUE(kt_check(got, MSG_LEN, round)) {
				TH_LOG("round %u: the message was lost", round);
			}
		}
		pthread_join(th, NULL);
		ASSERT_EQ(MSG_LEN, r.ret);
		ASSERT_EQ(0, kt_ready_now(self->ch[0]) & POLLIN) {
			TH_LOG("round %u: a message was duplicated", round);
		}
	}
	ksft_print_msg("%u rounds: %u cancels found the case completed, %u did not\n",
		       RACE_ROUNDS, completed, not_completed);
	/* The test runs in a child that leaves with _exit(). */
	fflush(stdout);
	EXPECT_LT(0u, not_completed);
}

/*
 * Put the next message of the channel of @ch (seed @seed) into the
 * custody of a receive case armed on @sfd, its data bound for @b.
 */
static void take_into_custody(struct __test_metadata *_metadata, int ch,
			      int sfd, char *b, unsigned int seed)
{
	struct kchan_case c[1];
	char m[MSG_LEN];

	kt_fill(m, MSG_LEN, seed);
	c[0] = kt_case_recv(ch, b, MSG_MAX);
	ASSERT_EQ(0, kt_arm(sfd, c, 1, 0, NULL));
	/* An armed receive is a partner even for a non-blocking send. */
	ASSERT_EQ(0, kt_set_nonblock(ch, true));
	ASSERT_EQ(MSG_LEN, kt_send(ch, m, MSG_LEN));
	ASSERT_EQ(POLLIN, kt_ready_now(sfd));
}

/*
 * Closed while its last message is in a select's custody: a receive
 * would block (the message may come back), so the channel is not
 * readable. Once the select file is read the channel is drained: it
 * turns readable, with an edge for an edge-triggered epoll that took
 * the close's, and a receive gives end-of-file.
 */
TEST_F(sfd, closed_with_its_last_message_in_custody_reads_eof_once_collected)
{
	struct epoll_event ev;
	struct kchan_select_result res;
	char b[MSG_MAX], got[MSG_MAX];
	int ep;

	take_into_custody(_metadata, self->ch[0], self->sfd, b, 12);
	ep = kt_epoll_for(self->ch[0], EPOLLIN | EPOLLET);
	ASSERT_LE(0, ep);
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));

	ASSERT_EQ(0, kchan_close(self->ch[0]));
	EXPECT_EQ(0, kt_ready_now(self->ch[0]) & POLLIN);
	EXPECT_EQ(-EAGAIN, kt_recv(self->ch[0], got, sizeof(got)));
	/* The close's edge: hung up, not readable. */
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, KT_TIMEOUT_MS));
	EXPECT_NE(0u, ev.events & EPOLLHUP);
	EXPECT_EQ(0u, ev.events & EPOLLIN);
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));

	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_TRUE(kt_check(b, MSG_LEN, 12));
	/* Drained now: an edge, and end-of-file. */
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, KT_TIMEOUT_MS)) {
		TH_LOG("no edge when the channel became closed and drained");
	}
	EXPECT_NE(0u, ev.events & EPOLLIN);
	EXPECT_NE(0, kt_ready_now(self->ch[0]) & POLLIN);
	EXPECT_EQ(0, kt_recv(self->ch[0], got, sizeof(got)));
	close(ep);
}

/*
 * The same, but the select file is released unread: the message comes
 * back to the closed channel, which turns readable with an edge and
 * delivers it before end-of-file.
 */
TEST_F(sfd, closed_with_its_last_message_in_custody_gets_it_back)
{
	struct epoll_event ev;
	char b[MSG_MAX], got[MSG_MAX];
	int ep;

	take_into_custody(_metadata, self->ch[0], self->sfd, b, 13);
	ep = kt_epoll_for(self->ch[0], EPOLLIN | EPOLLET);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, kchan_close(self->ch[0]));
	EXPECT_EQ(0, kt_ready_now(self->ch[0]) & POLLIN);
	EXPECT_EQ(-EAGAIN, kt_recv(self->ch[0], got, sizeof(got)));
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, KT_TIMEOUT_MS));
	EXPECT_EQ(0u, ev.events & EPOLLIN);

	close(self->sfd);
	self->sfd = kt_selfd(O_CLOEXEC);
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, KT_TIMEOUT_MS)) {
		TH_LOG("no edge when the message came back");
	}
	EXPECT_NE(0u, ev.events & EPOLLIN);
	EXPECT_NE(0, kt_ready_now(self->ch[0]) & POLLIN);
	ASSERT_EQ(MSG_LEN, kt_recv(self->ch[0], got, sizeof(got)));
	EXPECT_TRUE(kt_check(got, MSG_LEN, 13));
	EXPECT_EQ(0, kt_recv(self->ch[0], got, sizeof(got)));
	close(ep);
}

/*
 * Capacity 1: select A holds the buffered message, sender S is blocked
 * behind it, select B arms a receive. B may take S's message only into a
 * buffer slot of its own, so that releasing B can always put it back:
 * the channel never holds more than its capacity, and a send finds it
 * full while B holds the message.
 */
TEST(custody_of_a_blocked_senders_message_holds_a_slot)
{
	char m[MSG_LEN], ba[MSG_MAX], bb[MSG_MAX], got[MSG_MAX];
	struct kchan_select_result res;
	struct kchan_case c[1];
	struct kchan_stat st;
	struct kt_op tx;
	int ch, a, b;

	ch = kchan_make(1, MSG_MAX, 0);
	ASSERT_LE(0, ch);
	a = kt_selfd(O_CLOEXEC);
	ASSERT_LE(0, a);
	b = kt_selfd(O_CLOEXEC);
	ASSERT_LE(0, b);
	kt_fill(m, MSG_LEN, 1);
	ASSERT_EQ(MSG_LEN, kt_send(ch, m, MSG_LEN));
	kt_fill(m, MSG_LEN, 2);
	ASSERT_EQ(0, kt_op_send(&tx, ch, m, MSG_LEN));
	ASSERT_EQ(0, kt_wait_for(ch, senders, 1));

	c[0] = kt_case_recv(ch, ba, sizeof(ba));
	ASSERT_EQ(0, kt_arm(a, c, 1, 0, NULL));
	ASSERT_EQ(POLLIN, kt_ready_now(a));
	c[0] = kt_case_recv(ch, bb, sizeof(bb));
	ASSERT_EQ(0, kt_arm(b, c, 1, 0, NULL));
	/* A's message holds the only slot: S waits, and so does B. */
	EXPECT_EQ(0, kt_ready_now(ch) & (POLLIN | POLLOUT));
	EXPECT_EQ(0, kt_ready_now(b));

	ASSERT_EQ(0, kt_sel_read(a, &res));
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_TRUE(kt_check(ba, MSG_LEN, 1));
	/* The slot is free: B takes S's message into it, S returns. */
	EXPECT_EQ(MSG_LEN, kt_op_result(&tx));
	ASSERT_EQ(1, poll(&(struct pollfd){ .fd = b, .events = POLLIN }, 1,
			  KT_TIMEOUT_MS));
	EXPECT_EQ(0, kt_ready_now(ch) & POLLOUT);
	ASSERT_EQ(0, kt_set_nonblock(ch, true));
	kt_fill(m, MSG_LEN, 3);
	EXPECT_EQ(-EAGAIN, kt_send(ch, m, MSG_LEN)) {
		TH_LOG("a send took the slot of the message in custody");
	}

	/* Released unread, B's message goes back into its slot. */
	close(b);
	ASSERT_EQ(0, kt_stat(ch, &st));
	EXPECT_GE(1u, st.queued) {
		TH_LOG("%u messages queued in a channel of capacity 1",
		       st.queued);
	}
	ASSERT_EQ(MSG_LEN, kt_recv(ch, got, sizeof(got)));
	EXPECT_TRUE(kt_check(got, MSG_LEN, 2));
	EXPECT_EQ(-EAGAIN, kt_recv(ch, got, sizeof(got)));
	ASSERT_EQ(0, kt_stat(ch, &st));
	EXPECT_EQ(2ull, st.sent);
	EXPECT_EQ(2ull, st.received);
	close(a);
	close(ch);
}

#define BIG_LEN		(32 * 1024)
#define BIG_SEED	21
#define CANCEL_ROUNDS	100

/*
 * A rendezvous send of BIG_LEN bytes armed on a select file, and a plain
 * read() of it whose buffer is on a userfaultfd page nobody answers.
 */
struct held_send {
	int ch, sfd, uffd;
	void *mem;		/* the reader's buffer, on the held pages */
	char *msg;
	struct kt_op rx;
};

/* 0 once the reader is held in its fault, -EOPNOTSUPP without userfaultfd. */
static int held_send_start(struct __test_metadata *_metadata,
			   struct held_send *h)
{
	struct kchan_case c[1];
	__u64 addr;

	h->ch = kchan_make(0, BIG_LEN, 0);
	ASSERT_LE(0, h->ch);
	h->sfd = kt_selfd(O_CLOEXEC);
	ASSERT_LE(0, h->sfd);
	h->uffd = kt_uffd_stalling(&h->mem, BIG_LEN / getpagesize());
	if (h->uffd < 0)
		return -EOPNOTSUPP;
	h->msg = malloc(BIG_LEN);
	ASSERT_NE(NULL, h->msg);
	kt_fill(h->msg, BIG_LEN, BIG_SEED);
	c[0] = kt_case_send(h->ch, h->msg, BIG_LEN);
	ASSERT_EQ(0, kt_arm(h->sfd, c, 1, 0, NULL));
	ASSERT_EQ(0, kt_op_recv(&h->rx, h->ch, h->mem, BIG_LEN));
	ASSERT_EQ(0, kt_uffd_wait_fault(h->uffd, KT_TIMEOUT_MS, &addr));
	return 0;
}

static void held_send_end(struct held_send *h)
{
	free(h->msg);
	close(h->uffd);
	close(h->sfd);
	close(h->ch);
}

/*
 * A reader whose buffer faults never holds an armed send: it faults its
 * buffer in holding nothing, so the send stays queued and a cancel
 * returns at once, finding nothing completed. Once the fault is served,
 * the reader waits on as any reader of an empty channel.
 */
TEST(cancel_is_not_held_by_the_page_fault_of_a_reader_of_its_send)
{
	static char zero[BIG_LEN];
	struct kchan_select_result res = { .index = -2 };
	struct held_send h;
	struct kchan_stat st;
	struct kt_op cn;

	if (held_send_start(_metadata, &h))
		SKIP(return, "userfaultfd is not available");
	ASSERT_EQ(0, kt_stat(h.ch, &st));
	EXPECT_EQ(1u, st.senders);
	ASSERT_EQ(0, kt_op_run(&cn, h.sfd, KT_SEL_CANCEL, &res));
	ASSERT_EQ(0, kt_op_wait(&cn, KT_TIMEOUT_MS)) {
		TH_LOG("KCHAN_SEL_CANCEL waits for another process's fault");
	}
	EXPECT_EQ(0, cn.ret);
	ASSERT_EQ(0, kt_stat(h.ch, &st));
	EXPECT_EQ(0u, st.senders);

	ASSERT_EQ(0, kt_uffd_copy(h.uffd, (uintptr_t)h.mem, zero,
				     BIG_LEN));
	ASSERT_EQ(0, kt_wait_for(h.ch, receivers, 1));
	ASSERT_EQ(0, ioctl(h.ch, KCHAN_IOC_CLOSE));
	EXPECT_EQ(0, kt_op_result(&h.rx));
	ASSERT_EQ(0, kt_stat(h.ch, &st));
	EXPECT_EQ(0ull, st.sent);
	EXPECT_EQ(0ull, st.received);
	held_send_end(&h);
}

/*
 * KCHAN_SEL_CANCEL racing a plain read() that copies the armed send out:
 * every cancel returns, and the message is found exactly once, by the
 * reader when the cancel reports the send completed, else by nobody.
 */
TEST(cancel_racing_a_reader_of_its_send_finds_the_message_once)
{
	struct kchan_select_result res;
	int round, completed = 0, ret;
	struct kchan_case c[1];
	struct kt_op rx;
	char *msg, *got;
	int ch, sfd;

	msg = malloc(BIG_LEN);
	got = malloc(BIG_LEN);
	ASSERT_NE(NULL, msg);
	ASSERT_NE(NULL, got);
	for (round = 0; round < CANCEL_ROUNDS; round++) {
		ch = kchan_make(0, BIG_LEN, 0);
		ASSERT_LE(0, ch);
		sfd = kt_selfd(O_CLOEXEC);
		ASSERT_LE(0, sfd);
		kt_fill(msg, BIG_LEN, BIG_SEED + round);
		c[0] = kt_case_send(ch, msg, BIG_LEN);
		ASSERT_EQ(0, kt_arm(sfd, c, 1, 0, NULL));
		ASSERT_EQ(0, kt_op_recv(&rx, ch, got, BIG_LEN));
		/* Cancel at once, once the reader runs, or after its read. */
		if (round % 3 == 1)
			while (!__atomic_load_n(&rx.tid, __ATOMIC_ACQUIRE))
				sched_yield();
		else if (round % 3 == 2)
			while (!kt_op_done(&rx))
				usleep(1000);
		memset(&res, 0, sizeof(res));
		ret = kt_cancel(sfd, &res);
		ASSERT_LE(0, ret);
		if (ret == 1) {
			completed++;
			EXPECT_EQ(0, res.index);
			EXPECT_EQ(BIG_LEN, res.result);
			ASSERT_EQ(BIG_LEN, kt_op_result(&rx));
			EXPECT_TRUE(kt_check(got, BIG_LEN, BIG_SEED + round));
		} else {
			ASSERT_EQ(0, ioctl(ch, KCHAN_IOC_CLOSE));
			ASSERT_EQ(0, kt_op_result(&rx)) {
				TH_LOG("round %d: a cancelled send was received",
				       round);
			}
		}
		close(sfd);
		close(ch);
	}
	TH_LOG("%d of %d cancels found the send completed", completed,
	       CANCEL_ROUNDS);
	free(msg);
	free(got);
}

/*
 * A cancel that finds the armed send completed, with a result buffer it
 * cannot write: it fails with EFAULT and collects nothing, so the
 * completed send is still reported, by the next read.
 */
TEST(cancel_whose_result_cannot_be_written_collects_nothing)
{
	size_t pg = getpagesize();
	struct kchan_select_result res, *out;
	struct kchan_case c[1];
	char m[MSG_LEN], b[MSG_LEN];
	int ch, sfd;

	out = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, out);
	ch = kchan_make(0, MSG_LEN, 0);
	ASSERT_LE(0, ch);
	sfd = kt_selfd(O_CLOEXEC);
	ASSERT_LE(0, sfd);
	kt_fill(m, MSG_LEN, BIG_SEED);
	c[0] = kt_case_send(ch, m, MSG_LEN);
	ASSERT_EQ(0, kt_arm(sfd, c, 1, 0, NULL));
	ASSERT_EQ(MSG_LEN, read(ch, b, sizeof(b)));
	ASSERT_EQ(POLLIN, kt_ready_now(sfd));

	EXPECT_EQ(-EFAULT, kt_cancel(sfd, out));
	/* Still armed, the send's result kept for the next read. */
	EXPECT_EQ(POLLIN, kt_ready_now(sfd));
	ASSERT_EQ(0, kt_sel_read(sfd, &res)) {
		TH_LOG("the completed send's result was lost");
	}
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_EQ(-ENOTCONN, kt_sel_read(sfd, &res));
	close(sfd);
	close(ch);
	munmap(out, pg);
}

/*
 * A blocked read of a select file whose result's buffer turns read-only
 * while it sleeps: the read fails with EFAULT and collects nothing. The
 * received message stays in the select's custody, not counted received,
 * and the next read with a good buffer returns it.
 */
TEST_F(sfd, read_whose_result_cannot_be_written_collects_nothing)
{
	size_t pg = getpagesize();
	struct kchan_select_result *out;
	char b[MSG_MAX], m[MSG_LEN];
	struct kchan_case c[1];
	struct kchan_stat st;
	struct kt_op rd;

	out = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, out);
	memset(out, 0, pg);
	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));
	ASSERT_EQ(0, kt_op_recv(&rd, self->sfd, out, sizeof(*out)));
	while (!__atomic_load_n(&rd.tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	ASSERT_EQ(0, kt_wait_sleeping_in(rd.tid, SYS_read, KT_TIMEOUT_MS));
	ASSERT_EQ(0, mprotect(out, pg, PROT_READ));

	kt_fill(m, MSG_LEN, 14);
	ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	ASSERT_EQ(MSG_LEN, kt_send(self->ch[0], m, MSG_LEN));
	EXPECT_EQ(-EFAULT, kt_op_result(&rd));
	EXPECT_EQ(POLLIN, kt_ready_now(self->sfd));
	ASSERT_EQ(0, kt_stat(self->ch[0], &st));
	EXPECT_EQ(0ull, st.received);

	ASSERT_EQ(0, mprotect(out, pg, PROT_READ | PROT_WRITE));
	memset(b, 0, sizeof(b));
	ASSERT_EQ(0, kt_sel_read(self->sfd, out)) {
		TH_LOG("the received message was lost");
	}
	EXPECT_EQ(0, out->index);
	EXPECT_EQ(MSG_LEN, out->result);
	EXPECT_TRUE(kt_check(b, MSG_LEN, 14));
	ASSERT_EQ(0, kt_stat(self->ch[0], &st));
	EXPECT_EQ(1ull, st.sent);
	EXPECT_EQ(1ull, st.received);
	EXPECT_EQ(0u, st.queued);
	munmap(out, pg);
}

/*
 * Readiness cases: a select file watches any descriptor next to its
 * channel cases, resolved at every arming, and a blocking read() returns
 * the one that polls ready, the channel cases cancelled.
 */
TEST_F(sfd, a_blocking_read_returns_a_readiness_case_that_becomes_ready)
{
	struct kchan_select_result res;
	struct kchan_stat st;
	struct kchan_case c[2];
	char b[MSG_MAX];
	struct kt_op rd;
	int pfd[2];

	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	c[1] = kt_case_watch(pfd[0], true);
	ASSERT_EQ(0, kt_arm(self->sfd, c, 2, 0, NULL));
	ASSERT_EQ(0, kt_op_recv(&rd, self->sfd, NULL, sizeof(res)));
	while (!__atomic_load_n(&rd.tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	ASSERT_EQ(0, kt_wait_sleeping_in(rd.tid, SYS_read, KT_TIMEOUT_MS));
	ASSERT_EQ(1, write(pfd[1], "x", 1));
	ASSERT_EQ(0, kt_op_wait(&rd, KT_TIMEOUT_MS));
	ASSERT_EQ((ssize_t)sizeof(res), rd.ret);
	memcpy(&res, rd.data, sizeof(res));
	EXPECT_EQ(1, res.index);
	EXPECT_EQ(KCHAN_SELECT_READY, res.flags);
	EXPECT_TRUE(res.result & POLLIN);
	/* Readiness consumed nothing; the channel case is cancelled. */
	EXPECT_EQ(1, read(pfd[0], b, sizeof(b)));
	EXPECT_EQ(-ENOTCONN, kt_sel_read(self->sfd, &res));
	ASSERT_EQ(0, kt_stat(self->ch[0], &st));
	EXPECT_EQ(0u, st.receivers);
	close(pfd[0]);
	close(pfd[1]);
}

/* A case that completed wins over a readiness case ready as well. */
TEST_F(sfd, a_completed_case_wins_over_a_ready_readiness_case)
{
	struct kchan_select_result res;
	struct kchan_stat st;
	struct kchan_case c[2];
	char m[MSG_MAX], b[MSG_MAX];
	struct kt_op snd;
	int pfd[2];

	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	ASSERT_EQ(1, write(pfd[1], "x", 1));
	kt_fill(m, MSG_LEN, 3);
	ASSERT_EQ(0, kt_op_send(&snd, self->ch[0], m, MSG_LEN));
	if (!self->capacity) {
		ASSERT_EQ(0, kt_wait_for(self->ch[0], senders, 1));
	} else {
		ASSERT_EQ(0, kt_op_wait(&snd, KT_TIMEOUT_MS));
	}
	c[0] = kt_case_watch(pfd[0], true);
	c[1] = kt_case_recv(self->ch[0], b, sizeof(b));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 2, KCHAN_SELECT_PRIORITY, NULL));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(1, res.index);
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_TRUE(kt_check(b, MSG_LEN, 3));
	ASSERT_EQ(0, kt_op_wait(&snd, KT_TIMEOUT_MS));
	EXPECT_EQ(MSG_LEN, snd.ret);
	ASSERT_EQ(0, kt_stat(self->ch[0], &st));
	EXPECT_EQ(1ull, st.received);
	/* The pipe's readiness is left for next time. */
	EXPECT_EQ(1, read(pfd[0], b, sizeof(b)));
	close(pfd[0]);
	close(pfd[1]);
}

/* The fd number is resolved at every arming, never remembered. */
TEST_F(sfd, a_new_file_at_a_watched_fd_number_is_watched_as_itself)
{
	struct kchan_select_result res;
	struct kchan_case c[1];
	int pfd[2], efd;

	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	c[0] = kt_case_watch(pfd[0], true);
	ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));
	ASSERT_EQ(0, kt_cancel(self->sfd, &res));
	/* The same number, now an eventfd that is ready. */
	efd = eventfd(1, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_EQ(pfd[0], dup3(efd, pfd[0], O_CLOEXEC));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	/* And a closed number is EBADF, naming its case. */
	close(pfd[0]);
	c[0] = kt_case_watch(pfd[0], false);
	EXPECT_EQ(-EBADF, kt_arm(self->sfd, c, 1, 0, &res.index));
	EXPECT_EQ(0, res.index);
	close(pfd[1]);
	close(efd);
}

/*
 * An armed deadline ends a blocking read(): ETIMEDOUT, the select
 * cancelled, nothing taken.
 */
TEST_F(sfd, an_armed_deadline_ends_a_blocking_read_with_etimedout)
{
	struct kchan_select_result res;
	struct kchan_stat st;
	struct kchan_case c[1];
	char b[MSG_MAX];

	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	ASSERT_EQ(0, kt_arm_full(self->sfd, c, 1, KCHAN_SELECT_DEADLINE,
				 kt_now_ns() + 50 * 1000000ull, NULL));
	EXPECT_EQ(-ETIMEDOUT, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(-ENOTCONN, kt_sel_read(self->sfd, &res));
	ASSERT_EQ(0, kt_stat(self->ch[0], &st));
	EXPECT_EQ(0u, st.receivers);
}

/*
 * A blocking read() that timed out gives up on the select armed with that
 * deadline only. Here the select is cancelled and armed again, without a
 * deadline, after the reader's deadline passed but before the reader got
 * back to the file: the new select stays armed and the reader waits on
 * it. To hold the reader off in between, it and the test share one CPU,
 * where the test runs SCHED_FIFO from before the deadline until the
 * select is armed again.
 */
TEST_F(sfd, a_read_past_an_old_deadline_leaves_a_new_arming_armed)
{
	struct sched_param fifo = { .sched_priority = 1 }, other = { 0 };
	struct kchan_select_result got, res;
	uint64_t deadline, stop, ms = 200;
	unsigned long long armed = 2;
	struct kchan_case c[1];
	cpu_set_t was, one;
	char b[MSG_MAX];
	struct kt_op rd;
	bool held = false;
	int cpu, try, ret;

	c[0] = kt_case_recv(self->ch[0], b, sizeof(b));
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(was), &was));
	for (cpu = 0; !CPU_ISSET(cpu, &was); cpu++)
		;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	/* A slow guest may need a later deadline: the reader must sleep first. */
	for (try = 0; try < 5 && !held; try++, ms *= 2) {
		deadline = kt_now_ns() + ms * 1000000ull;
		ASSERT_EQ(0, kt_arm_full(self->sfd, c, 1,
					 KCHAN_SELECT_DEADLINE, deadline, NULL));
		/* The reader inherits the one CPU. */
		ASSERT_EQ(0, kt_op_recv(&rd, self->sfd, &got, sizeof(got)));
		ASSERT_EQ(0, kt_poll_until(kt_op_done(&rd) ||
					   kt_task_in(rd.tid, 'S', SYS_read),
					   KT_TIMEOUT_MS, 1000));
		/* Only the last stretch before the deadline is spent spinning. */
		stop = deadline - 50 * 1000000ull;
		while (!kt_op_done(&rd) && kt_now_ns() < stop)
			usleep(2000);
		ret = pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo);
		if (ret == EPERM)
			SKIP(return, "SCHED_FIFO not permitted");
		ASSERT_EQ(0, ret);
		/* The reader's deadline passes while it cannot run. */
		stop = deadline + 20 * 1000000ull;
		while (kt_now_ns() < stop)
			;
		ret = kt_cancel(self->sfd, &res);
		if (!ret)
			ret = kt_arm(self->sfd, c, 1, 0, NULL);
		held = !kt_op_done(&rd);
		ASSERT_EQ(0, pthread_setschedparam(pthread_self(), SCHED_OTHER,
						   &other));
		ASSERT_EQ(0, ret);
		if (held)
			break;
		/* The reader ran before the new arming: again, later. */
		EXPECT_EQ(-ETIMEDOUT, kt_op_result(&rd));
		EXPECT_EQ(0, kt_cancel(self->sfd, &res));
	}
	if (!held)
		SKIP(return, "the reader could not be held off its CPU");
	/* Back on the file, the reader waits on the new select. */
	ASSERT_EQ(0, kt_poll_until(kt_op_done(&rd) ||
				   kt_task_in(rd.tid, 'S', SYS_read),
				   KT_TIMEOUT_MS, 1000));
	EXPECT_EQ(0, kt_fdinfo_u64(self->sfd, "kchan-select-armed", NULL,
				   &armed));
	EXPECT_EQ(1ull, armed);
	EXPECT_FALSE(kt_op_done(&rd)) TH_LOG("read: %zd", rd.ret);
	EXPECT_EQ(0, kt_cancel(self->sfd, &res));
	EXPECT_EQ(-ENOTCONN, kt_op_result(&rd));
	EXPECT_EQ(0, sched_setaffinity(0, sizeof(was), &was));
}

/*
 * A send or receive case or'ed with KCHAN_OP_OR_READY is a channel case
 * on a channel and a readiness case on anything else, as the fd is at
 * arming.
 */
TEST_F(sfd, a_case_or_ready_is_a_channel_case_on_a_channel_only)
{
	struct kchan_select_result res;
	char m[MSG_MAX], b[MSG_MAX];
	struct kchan_case c[1];
	struct kt_op snd;
	int pfd[2];

	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	ASSERT_EQ(1, write(pfd[1], "x", 1));
	c[0] = kt_case_recv(pfd[0], b, sizeof(b));
	c[0].op |= KCHAN_OP_OR_READY;
	EXPECT_EQ(-EINVAL, kt_select(c, 1, KCHAN_SELECT_NONBLOCK, NULL));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(KCHAN_SELECT_READY, res.flags);
	EXPECT_TRUE(res.result & POLLIN);
	/* The same number, now a channel with a message for the case. */
	ASSERT_EQ(pfd[0], dup3(self->ch[0], pfd[0], O_CLOEXEC));
	kt_fill(m, MSG_LEN, 5);
	ASSERT_EQ(0, kt_op_send(&snd, self->ch[0], m, MSG_LEN));
	ASSERT_EQ(0, kt_arm(self->sfd, c, 1, 0, NULL));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(0u, res.flags);
	EXPECT_EQ(MSG_LEN, res.result);
	EXPECT_TRUE(kt_check(b, MSG_LEN, 5));
	ASSERT_EQ(0, kt_op_wait(&snd, KT_TIMEOUT_MS));
	EXPECT_EQ(MSG_LEN, snd.ret);
	close(pfd[0]);
	close(pfd[1]);
}

/* Readiness cases are the select file's only: and they take no buffer. */
TEST_F(sfd, readiness_cases_are_for_a_select_file_and_take_no_buffer)
{
	struct kchan_version v;
	struct kchan_case c[1];
	char b[8];
	int bad;

	c[0] = kt_case_watch(self->ch[0], true);
	EXPECT_EQ(-EINVAL, kt_select(c, 1, KCHAN_SELECT_NONBLOCK, NULL));
	c[0].buf = (uintptr_t)b;
	c[0].len = sizeof(b);
	EXPECT_EQ(-EINVAL, kt_arm(self->sfd, c, 1, 0, &bad));
	EXPECT_EQ(0, bad);
	ASSERT_EQ(0, kt_version(&v));
	EXPECT_TRUE(v.features & KCHAN_FEATURE_SEL_WATCH);
}

/* A select file watching itself would hold itself open for good. */
TEST_F(sfd, a_readiness_case_on_a_select_file_is_einval)
{
	struct kchan_case c[2];
	int bad = -1;

	c[0] = kt_case_watch(self->ch[0], true);
	c[1] = kt_case_watch(self->sfd, true);
	EXPECT_EQ(-EINVAL, kt_arm(self->sfd, c, 2, 0, &bad));
	EXPECT_EQ(1, bad);
	/* Nothing stayed armed: the same set without it arms. */
	EXPECT_EQ(0, kt_arm(self->sfd, c, 1, 0, &bad));
}

TEST_HARNESS_MAIN
