// SPDX-License-Identifier: GPL-2.0
/*
 * Closing a channel (KCHAN_IOC_CLOSE, Go's close()), auto-close on the
 * last writer, and what releasing file descriptors may and may not do.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kt.h"
#include "kt_bg.h"
#include "kt_harness.h"

#define MSG_MAX		64
#define CAPACITY	4u
#define NR_PEERS	4
#define EOF_REPEAT	50

#define KT_CHAN_FIXTURE
#include "kt_fixture.h"

static atomic_int sigpipe_count;

static void count_sigpipe(int sig)
{
	(void)sig;
	atomic_fetch_add(&sigpipe_count, 1);
}

static int catch_sigpipe(void)
{
	struct sigaction sa = { .sa_handler = count_sigpipe };

	sigemptyset(&sa.sa_mask);
	atomic_store(&sigpipe_count, 0);
	return sigaction(SIGPIPE, &sa, NULL) ? -errno : 0;
}

/* Send @n messages of 8 bytes, seeds seed0.. ; 0 or the failing result. */
static ssize_t send_seq(int fd, unsigned int n, unsigned int seed0)
{
	unsigned char buf[8];
	unsigned int i;
	ssize_t r;

	for (i = 0; i < n; i++) {
		kt_fill(buf, sizeof(buf), seed0 + i);
		r = kt_send(fd, buf, sizeof(buf));
		if (r != (ssize_t)sizeof(buf))
			return r < 0 ? r : -EIO;
	}
	return 0;
}

TEST_F(chan, receive_after_close_returns_eof_forever)
{
	struct kt_guard g = { 0 };
	unsigned char buf[MSG_MAX];
	int i;

	ASSERT_EQ(0, kchan_close(self->fd));
	ASSERT_EQ(0, kt_guard_start(&g, 5000));
	for (i = 0; i < EOF_REPEAT; i++) {
		ASSERT_EQ(0, kt_recv(self->fd, buf, sizeof(buf)));
	}
	kt_guard_stop(&g);
	/* Non-blocking receivers see EOF too, not EAGAIN. */
	ASSERT_EQ(0, kt_set_nonblock(self->fd, true));
	for (i = 0; i < EOF_REPEAT; i++) {
		ASSERT_EQ(0, kt_recv(self->fd, buf, sizeof(buf)));
	}
}

TEST_F(chan, send_after_close_is_epipe_without_sigpipe)
{
	struct kt_guard g = { 0 };
	unsigned char buf[8] = { 1 };
	struct kchan_stat st;

	ASSERT_EQ(0, catch_sigpipe());
	ASSERT_EQ(0, kchan_close(self->fd));
	ASSERT_EQ(0, kt_guard_start(&g, 5000));
	EXPECT_EQ(-EPIPE, kt_send(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(-EPIPE, kt_send(self->fd, buf, sizeof(buf)));
	kt_guard_stop(&g);
	EXPECT_EQ(0, atomic_load(&sigpipe_count));
	ASSERT_EQ(0, kt_stat(self->fd, &st));
	EXPECT_EQ(0u, st.sent);
}

TEST_F(chan, nonblocking_send_after_close_is_epipe)
{
	unsigned char buf[8] = { 1 };

	ASSERT_EQ(0, catch_sigpipe());
	ASSERT_EQ(0, kchan_close(self->fd));
	ASSERT_EQ(0, kt_set_nonblock(self->fd, true));
	EXPECT_EQ(-EPIPE, kt_send(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, atomic_load(&sigpipe_count));
}

TEST_F(chan, close_twice_is_epipe_and_the_first_close_stands)
{
	unsigned char buf[MSG_MAX];
	struct kchan_stat st;

	if (variant->capacity) {
		ASSERT_EQ(0, send_seq(self->fd, 1, 5));
	}
	ASSERT_EQ(0, catch_sigpipe());
	ASSERT_EQ(0, kchan_close(self->fd));
	EXPECT_EQ(-EPIPE, kchan_close(self->fd));
	EXPECT_EQ(0, atomic_load(&sigpipe_count));
	ASSERT_EQ(0, kt_stat(self->fd, &st));
	EXPECT_TRUE(!!(st.flags & KCHAN_STAT_CLOSED));
	/* Still closed, and what the first close left queued is still there. */
	if (variant->capacity) {
		ASSERT_EQ(8, kt_recv(self->fd, buf, sizeof(buf)));
		EXPECT_TRUE(kt_check(buf, 8, 5));
	}
	ASSERT_EQ(0, kt_set_nonblock(self->fd, true));
	EXPECT_EQ(0, kt_recv(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(-EPIPE, kt_send(self->fd, buf, 8));
}

TEST_F(chan, close_wakes_every_blocked_receiver_with_eof)
{
	unsigned char bufs[NR_PEERS][MSG_MAX];
	struct kt_op rx[NR_PEERS];
	int i;

	for (i = 0; i < NR_PEERS; i++) {
		ASSERT_EQ(0, kt_op_recv(&rx[i], self->fd, bufs[i], MSG_MAX));
	}
	ASSERT_EQ(0, kt_wait_for(self->fd, receivers, NR_PEERS));
	ASSERT_EQ(0, kchan_close(self->fd));
	for (i = 0; i < NR_PEERS; i++) {
		EXPECT_EQ(0, kt_op_result(&rx[i])) {
			TH_LOG("receiver %d", i);
		}
	}
}

TEST_F(chan, close_wakes_every_blocked_sender_with_epipe_undelivered)
{
	unsigned char msgs[NR_PEERS][8], buf[MSG_MAX];
	struct kt_op tx[NR_PEERS];
	struct kchan_stat st;
	unsigned int i;

	ASSERT_EQ(0, catch_sigpipe());
	/* Fill the buffer, if any, so that the senders block. */
	ASSERT_EQ(0, send_seq(self->fd, variant->capacity, 100));
	for (i = 0; i < NR_PEERS; i++) {
		kt_fill(msgs[i], 8, i);
		ASSERT_EQ(0, kt_op_send(&tx[i], self->fd, msgs[i], 8));
	}
	ASSERT_EQ(0, kt_wait_for(self->fd, senders, NR_PEERS));
	ASSERT_EQ(0, kchan_close(self->fd));
	for (i = 0; i < NR_PEERS; i++) {
		EXPECT_EQ(-EPIPE, kt_op_result(&tx[i])) {
			TH_LOG("sender %u", i);
		}
	}
	EXPECT_EQ(0, atomic_load(&sigpipe_count));

	/* Only what was in the buffer before the close is delivered. */
	for (i = 0; i < variant->capacity; i++) {
		ASSERT_EQ(8, kt_recv(self->fd, buf, sizeof(buf)));
		EXPECT_TRUE(kt_check(buf, 8, 100 + i));
	}
	ASSERT_EQ(0, kt_set_nonblock(self->fd, true));
	EXPECT_EQ(0, kt_recv(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, kt_stat(self->fd, &st));
	EXPECT_EQ((__u64)variant->capacity, st.sent);
	EXPECT_EQ((__u64)variant->capacity, st.received);
	EXPECT_EQ(0u, st.senders);
}

TEST_F(chan, stat_reports_closed_after_close)
{
	struct kchan_stat st;

	ASSERT_EQ(0, kt_stat(self->fd, &st));
	EXPECT_FALSE(!!(st.flags & KCHAN_STAT_CLOSED));
	ASSERT_EQ(0, kchan_close(self->fd));
	ASSERT_EQ(0, kt_stat(self->fd, &st));
	EXPECT_TRUE(!!(st.flags & KCHAN_STAT_CLOSED));
}

TEST(close_drains_queued_messages_in_order_then_eof)
{
	unsigned char buf[MSG_MAX];
	struct kchan_stat st;
	unsigned int i;
	int fd;

	fd = kchan_make(CAPACITY, MSG_MAX, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_seq(fd, 3, 20));
	ASSERT_EQ(0, kchan_close(fd));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(3u, st.queued);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(8, kt_recv(fd, buf, sizeof(buf)));
		EXPECT_TRUE(kt_check(buf, 8, 20 + i));
	}
	ASSERT_EQ(0, kt_recv(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, kt_recv(fd, buf, sizeof(buf)));
	close(fd);
}

TEST(send_after_close_is_epipe_while_messages_remain)
{
	unsigned char buf[MSG_MAX] = { 0 };
	struct kchan_stat st;
	int fd;

	fd = kchan_make(CAPACITY, MSG_MAX, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, catch_sigpipe());
	ASSERT_EQ(0, send_seq(fd, 2, 0));
	ASSERT_EQ(0, kchan_close(fd));
	/* There is room in the buffer, but the channel is closed. */
	EXPECT_EQ(-EPIPE, kt_send(fd, buf, 8));
	EXPECT_EQ(0, atomic_load(&sigpipe_count));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(2u, st.queued);
	close(fd);
}

TEST(releasing_a_dup_keeps_queued_messages)
{
	unsigned char buf[MSG_MAX];
	unsigned int i;
	int fd, fd2;

	fd = kchan_make(CAPACITY, MSG_MAX, 0);
	ASSERT_LE(0, fd);
	fd2 = dup(fd);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, send_seq(fd, 3, 40));
	ASSERT_EQ(0, close(fd));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(8, kt_recv(fd2, buf, sizeof(buf)));
		EXPECT_TRUE(kt_check(buf, 8, 40 + i));
	}
	close(fd2);
}

TEST_F(named, close_on_read_only_fd_is_ebadf)
{
	unsigned char buf[MSG_MAX];
	struct kchan_stat st;
	int rd;

	ASSERT_EQ(0, kchan_create(self->name, CAPACITY, MSG_MAX, 0600, 0));
	self->created = true;
	rd = open(self->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, rd);
	EXPECT_EQ(-EBADF, kchan_close(rd));
	ASSERT_EQ(0, kt_stat(rd, &st));
	EXPECT_FALSE(!!(st.flags & KCHAN_STAT_CLOSED));
	EXPECT_EQ(-EAGAIN, kt_recv(rd, buf, sizeof(buf)));
	close(rd);
}

TEST_F(named, eof_is_seen_through_every_fd)
{
	unsigned char buf[MSG_MAX];
	int rd, rw, wr, i;

	ASSERT_EQ(0, kchan_create(self->name, CAPACITY, MSG_MAX, 0600, 0));
	self->created = true;
	rd = open(self->path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rd);
	rw = open(self->path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, rw);
	wr = open(self->path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wr);
	ASSERT_EQ(0, send_seq(wr, 1, 60));
	ASSERT_EQ(0, kchan_close(wr));
	ASSERT_EQ(8, kt_recv(rd, buf, sizeof(buf)));
	EXPECT_TRUE(kt_check(buf, 8, 60));
	for (i = 0; i < EOF_REPEAT; i++) {
		ASSERT_EQ(0, kt_recv(rd, buf, sizeof(buf)));
		ASSERT_EQ(0, kt_recv(rw, buf, sizeof(buf)));
	}
	close(wr);
	close(rw);
	close(rd);
}

TEST_F(named, autoclose_closes_when_the_last_writer_is_released)
{
	unsigned char buf[MSG_MAX];
	struct kchan_stat st;
	int rd, wr, i;

	ASSERT_EQ(0, kchan_create(self->name, CAPACITY, MSG_MAX, 0600,
				  KCHAN_AUTOCLOSE));
	self->created = true;
	rd = open(self->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, rd);
	wr = open(self->path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wr);
	ASSERT_EQ(0, send_seq(wr, 2, 70));
	ASSERT_EQ(0, kt_stat(rd, &st));
	EXPECT_FALSE(!!(st.flags & KCHAN_STAT_CLOSED));
	ASSERT_EQ(0, close(wr));

	ASSERT_EQ(0, kt_stat(rd, &st));
	EXPECT_TRUE(!!(st.flags & KCHAN_STAT_CLOSED));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(8, kt_recv(rd, buf, sizeof(buf)));
		EXPECT_TRUE(kt_check(buf, 8, 70 + i));
	}
	EXPECT_EQ(0, kt_recv(rd, buf, sizeof(buf)));
	close(rd);
}

TEST_F(named, autoclose_waits_for_the_last_of_several_writers)
{
	unsigned char buf[MSG_MAX];
	struct kchan_stat st;
	int rd, wr1, wr2;

	ASSERT_EQ(0, kchan_create(self->name, CAPACITY, MSG_MAX, 0600,
				  KCHAN_AUTOCLOSE));
	self->created = true;
	rd = open(self->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, rd);
	wr1 = open(self->path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wr1);
	wr2 = open(self->path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, wr2);
	ASSERT_EQ(0, close(wr1));
	ASSERT_EQ(0, kt_stat(rd, &st));
	EXPECT_FALSE(!!(st.flags & KCHAN_STAT_CLOSED));
	EXPECT_EQ(-EAGAIN, kt_recv(rd, buf, sizeof(buf)));
	ASSERT_EQ(0, send_seq(wr2, 1, 80));
	ASSERT_EQ(0, close(wr2));
	ASSERT_EQ(0, kt_stat(rd, &st));
	EXPECT_TRUE(!!(st.flags & KCHAN_STAT_CLOSED));
	ASSERT_EQ(8, kt_recv(rd, buf, sizeof(buf)));
	EXPECT_TRUE(kt_check(buf, 8, 80));
	EXPECT_EQ(0, kt_recv(rd, buf, sizeof(buf)));
	close(rd);
}

TEST_F(named, autoclose_wakes_a_blocked_receiver_with_eof)
{
	unsigned char buf[MSG_MAX];
	struct kt_op rx;
	int rd, wr;

	ASSERT_EQ(0, kchan_create(self->name, 0, MSG_MAX, 0600,
				  KCHAN_AUTOCLOSE));
	self->created = true;
	rd = open(self->path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rd);
	wr = open(self->path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wr);
	ASSERT_EQ(0, kt_op_recv(&rx, rd, buf, sizeof(buf)));
	ASSERT_EQ(0, kt_wait_for(rd, receivers, 1));
	ASSERT_EQ(0, close(wr));
	EXPECT_EQ(0, kt_op_result(&rx));
	close(rd);
}

TEST_F(named, without_autoclose_the_channel_outlives_its_writers)
{
	unsigned char buf[MSG_MAX];
	struct kchan_stat st;
	int rd, wr;

	ASSERT_EQ(0, kchan_create(self->name, CAPACITY, MSG_MAX, 0600, 0));
	self->created = true;
	rd = open(self->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, rd);
	wr = open(self->path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wr);
	ASSERT_EQ(0, close(wr));
	ASSERT_EQ(0, kt_stat(rd, &st));
	EXPECT_FALSE(!!(st.flags & KCHAN_STAT_CLOSED));
	EXPECT_EQ(-EAGAIN, kt_recv(rd, buf, sizeof(buf)));
	/* A later writer can still send. */
	wr = open(self->path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wr);
	ASSERT_EQ(0, send_seq(wr, 1, 90));
	ASSERT_EQ(8, kt_recv(rd, buf, sizeof(buf)));
	EXPECT_TRUE(kt_check(buf, 8, 90));
	close(wr);
	close(rd);
}

TEST_F(named, releasing_the_writer_keeps_queued_messages)
{
	unsigned char buf[MSG_MAX];
	unsigned int i;
	int rd, wr;

	ASSERT_EQ(0, kchan_create(self->name, CAPACITY, MSG_MAX, 0600, 0));
	self->created = true;
	wr = open(self->path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wr);
	ASSERT_EQ(0, send_seq(wr, 3, 30));
	/* No fd is open now: the name alone keeps the channel. */
	ASSERT_EQ(0, close(wr));
	rd = open(self->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, rd);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(8, kt_recv(rd, buf, sizeof(buf)));
		EXPECT_TRUE(kt_check(buf, 8, 30 + i));
	}
	EXPECT_EQ(-EAGAIN, kt_recv(rd, buf, sizeof(buf)));
	close(rd);
}

TEST_HARNESS_MAIN
