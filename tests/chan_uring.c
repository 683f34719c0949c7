// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring reads and writes on kchan channels: inline completion, requests
 * that wait for the peer (through io_uring's poll retry, never an io-wq
 * worker), errors in completions, and cancellation without loss.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kt.h"
#include "kt_bg.h"
#include "kt_fixture.h"

#define MSG_MAX		64
#define CAPACITY	4
/* How long a request that must stay pending is watched. */
#define PENDING_MS	150

static int submit_rw(struct io_uring *ring, bool write, int fd, void *buf,
		     unsigned int len, __u64 off, __u64 user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		return -EBUSY;
	if (write)
		io_uring_prep_write(sqe, fd, buf, len, off);
	else
		io_uring_prep_read(sqe, fd, buf, len, off);
	sqe->user_data = user_data;
	return io_uring_submit(ring);
}

static int submit_cancel(struct io_uring *ring, __u64 target, __u64 user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, target, 0);
	sqe->user_data = user_data;
	return io_uring_submit(ring);
}

/*
 * Wait up to @ms for a completion; 0 and its result and user_data, or
 * -ETIME if none came.
 */
static int reap(struct io_uring *ring, long ms, int *res, __u64 *user_data)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L,
	};
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (ret)
		return ret;
	*res = cqe->res;
	if (user_data)
		*user_data = cqe->user_data;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

/* A free submission queue entry of @ring, for the caller to prepare. */
static struct io_uring_sqe *get_sqe(struct __test_metadata *_metadata,
				    struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	ASSERT_NE(NULL, sqe);
	return sqe;
}

/* Submits the prepared entry of @ring and returns its completion's result. */
static int submit_and_reap(struct __test_metadata *_metadata,
			   struct io_uring *ring)
{
	int res;

	ASSERT_EQ(1, io_uring_submit(ring));
	ASSERT_EQ(0, reap(ring, KT_TIMEOUT_MS, &res, NULL));
	return res;
}

/* True if no completion shows up within @ms. */
static bool stays_pending(struct io_uring *ring, long ms)
{
	int res;

	return reap(ring, ms, &res, NULL) == -ETIME;
}

/* Threads listed in @taskdir whose name starts with "iou-wrk". */
static int count_workers_in(const char *taskdir)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(taskdir);
	if (!d)
		return 0;	/* the process went away */
	while ((de = readdir(d))) {
		char path[512], comm[64] = "";
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", taskdir, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "iou-wrk", 7))
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

static int count_io_workers_everywhere(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[300];

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", de->d_name);
		n += count_workers_in(path);
	}
	closedir(d);
	return n;
}

static int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

/* A channel, a ring, and the background threads a test started. */
struct rc {
	int fd;
	unsigned int capacity;
	struct io_uring ring;
	bool ring_ok;
	struct kt_ops bg;
};

static void rc_setup(struct __test_metadata *_metadata, struct rc *c,
		     unsigned int capacity)
{
	int ret;

	c->capacity = capacity;
	c->fd = kt_chan_setup(_metadata, capacity, MSG_MAX);
	ret = io_uring_queue_init(8, &c->ring, 0);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_queue_init: %s", strerror(-ret));
	c->ring_ok = true;
}

static void rc_teardown(struct rc *c)
{
	/* Closing the channel releases any thread still blocked on it. */
	kchan_close(c->fd);
	kt_ops_wait_all(&c->bg);
	if (c->ring_ok)
		io_uring_queue_exit(&c->ring);
	close(c->fd);
}

/*
 * A peer on another thread that acts only once we sleep in io_uring_enter
 * waiting for the completion, so that the completion has to be driven by
 * its wake-up: a send of @msg, or with @msg NULL a receive.
 */
static struct kt_op *peer(struct rc *c, const char *msg)
{
	return kt_ops_start(&c->bg, c->fd, msg, kt_gettid(),
			    SYS_io_uring_enter);
}

/*
 * Put @msg on offer: queued (buffered) or held by a sender parked in
 * write() (rendezvous). Returns the parked sender, or NULL.
 */
static struct kt_op *offer(struct __test_metadata *_metadata, struct rc *c,
			   const char *msg)
{
	struct kt_op *bg;

	if (c->capacity) {
		EXPECT_EQ((ssize_t)strlen(msg), kt_send(c->fd, msg, strlen(msg)));
		return NULL;
	}
	bg = kt_ops_start(&c->bg, c->fd, msg, 0, 0);
	EXPECT_NE(NULL, bg);
	EXPECT_EQ(0, kt_wait_blocked(c->fd, 1, 0, KT_TIMEOUT_MS));
	return bg;
}

/* Fill a buffered channel with "f0", "f1", ...; a rendezvous one is "full". */
static int fill(struct rc *c)
{
	unsigned int i;
	char m[16];

	for (i = 0; i < c->capacity; i++) {
		snprintf(m, sizeof(m), "f%u", i);
		if (kt_send(c->fd, m, strlen(m)) != (ssize_t)strlen(m))
			return -EIO;
	}
	return 0;
}

FIXTURE(uring) {
	struct rc c;
};

KT_CHAN_VARIANTS(uring, CAPACITY);

FIXTURE_SETUP(uring)
{
	rc_setup(_metadata, &self->c, variant->capacity);
}

FIXTURE_TEARDOWN(uring)
{
	rc_teardown(&self->c);
}

FIXTURE(buffered) {
	struct rc c;
};

FIXTURE_SETUP(buffered)
{
	rc_setup(_metadata, &self->c, CAPACITY);
}

FIXTURE_TEARDOWN(buffered)
{
	rc_teardown(&self->c);
}

FIXTURE(rendezvous) {
	struct rc c;
};

FIXTURE_SETUP(rendezvous)
{
	rc_setup(_metadata, &self->c, 0);
}

FIXTURE_TEARDOWN(rendezvous)
{
	rc_teardown(&self->c);
}

TEST_F(buffered, write_then_read_complete_at_once)
{
	struct rc *c = &self->c;
	char buf[MSG_MAX];
	__u64 ud;
	int res;

	ASSERT_EQ(1, submit_rw(&c->ring, true, c->fd, "hello", 5, 0, 1));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, &ud));
	ASSERT_EQ(1ULL, ud);
	ASSERT_EQ(5, res);

	ASSERT_EQ(1, submit_rw(&c->ring, true, c->fd, "world!", 6, -1, 2));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, &ud));
	ASSERT_EQ(2ULL, ud);
	ASSERT_EQ(6, res);

	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(1, submit_rw(&c->ring, false, c->fd, buf, sizeof(buf), -1, 3));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, &ud));
	ASSERT_EQ(3ULL, ud);
	ASSERT_EQ(5, res);
	ASSERT_EQ(0, memcmp(buf, "hello", 5));

	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(1, submit_rw(&c->ring, false, c->fd, buf, sizeof(buf), 0, 4));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, &ud));
	ASSERT_EQ(4ULL, ud);
	ASSERT_EQ(6, res);
	ASSERT_EQ(0, memcmp(buf, "world!", 6));
}

TEST_F(uring, pending_read_completes_when_a_message_is_sent)
{
	struct rc *c = &self->c;
	struct kt_op *sender;
	struct kchan_stat st;
	char buf[MSG_MAX];
	int res;

	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(1, submit_rw(&c->ring, false, c->fd, buf, sizeof(buf), -1, 1));
	ASSERT_TRUE(stays_pending(&c->ring, PENDING_MS));

	/* Buffered: a write() that does not block. Rendezvous: one that does. */
	ASSERT_NE(NULL, sender = peer(c, "ping!"));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
	ASSERT_EQ(5, res);
	ASSERT_EQ(0, memcmp(buf, "ping!", 5));
	ASSERT_EQ(0, kt_op_wait(sender, KT_TIMEOUT_MS));
	ASSERT_EQ(5, sender->ret);
	ASSERT_EQ(0, kt_stat(c->fd, &st));
	EXPECT_EQ(0U, st.queued);
	EXPECT_EQ(1ULL, st.received);
}

TEST_F(uring, pending_write_completes_when_a_receive_makes_room)
{
	struct rc *c = &self->c;
	struct kt_op *receiver;
	struct kchan_stat st;
	char buf[MSG_MAX];
	unsigned int i;
	int res;

	/* Buffered: full. Rendezvous: no receiver. */
	ASSERT_EQ(0, fill(c));
	ASSERT_EQ(1, submit_rw(&c->ring, true, c->fd, "last", 4, -1, 1));
	ASSERT_TRUE(stays_pending(&c->ring, PENDING_MS));
	ASSERT_EQ(0, kt_stat(c->fd, &st));
	ASSERT_EQ(c->capacity, st.queued);
	ASSERT_EQ(c->capacity, st.sent);

	/* Buffered: a read() of the head. Rendezvous: a read() that blocks. */
	ASSERT_NE(NULL, receiver = peer(c, NULL));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
	ASSERT_EQ(4, res);
	ASSERT_EQ(0, kt_op_wait(receiver, KT_TIMEOUT_MS));
	if (!c->capacity) {
		ASSERT_EQ(4, receiver->ret);
		ASSERT_EQ(0, memcmp(receiver->buf, "last", 4));
		return;
	}
	ASSERT_EQ(2, receiver->ret);
	ASSERT_EQ(0, memcmp(receiver->buf, "f0", 2));
	/* The written message went to the tail, after the older ones. */
	for (i = 1; i < c->capacity; i++) {
		char want[16];

		snprintf(want, sizeof(want), "f%u", i);
		ASSERT_EQ(2, kt_recv(c->fd, buf, sizeof(buf)));
		ASSERT_EQ(0, memcmp(buf, want, 2));
	}
	ASSERT_EQ(4, kt_recv(c->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "last", 4));
}

/* The ring's write of "meet" completed, and @receiver received it. */
static void expect_met(struct __test_metadata *_metadata, struct rc *c,
		       struct kt_op *receiver)
{
	int res;

	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
	ASSERT_EQ(4, res);
	ASSERT_EQ(0, kt_op_wait(receiver, KT_TIMEOUT_MS));
	ASSERT_EQ(4, receiver->ret);
	ASSERT_EQ(0, memcmp(receiver->buf, "meet", 4));
}

TEST_F(rendezvous, pending_write_completes_when_a_reader_blocks)
{
	struct rc *c = &self->c;
	struct kt_op *receiver;

	ASSERT_EQ(1, submit_rw(&c->ring, true, c->fd, "meet", 4, -1, 1));
	ASSERT_TRUE(stays_pending(&c->ring, PENDING_MS));
	ASSERT_NE(NULL, receiver = peer(c, NULL));
	expect_met(_metadata, c, receiver);
}

TEST_F(rendezvous, write_to_an_already_blocked_reader_completes)
{
	struct rc *c = &self->c;
	struct kt_op *receiver;

	ASSERT_NE(NULL, receiver = kt_ops_start(&c->bg, c->fd, NULL, 0, 0));
	ASSERT_EQ(0, kt_wait_blocked(c->fd, 0, 1, KT_TIMEOUT_MS));
	ASSERT_EQ(1, submit_rw(&c->ring, true, c->fd, "meet", 4, 0, 1));
	expect_met(_metadata, c, receiver);
}

TEST_F(rendezvous, read_takes_from_an_already_blocked_sender)
{
	struct rc *c = &self->c;
	struct kt_op *sender;
	char buf[MSG_MAX];
	int res;

	ASSERT_NE(NULL, sender = kt_ops_start(&c->bg, c->fd, "given", 0, 0));
	ASSERT_EQ(0, kt_wait_blocked(c->fd, 1, 0, KT_TIMEOUT_MS));
	ASSERT_EQ(1, submit_rw(&c->ring, false, c->fd, buf, sizeof(buf), 0, 1));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
	ASSERT_EQ(5, res);
	ASSERT_EQ(0, memcmp(buf, "given", 5));
	ASSERT_EQ(0, kt_op_wait(sender, KT_TIMEOUT_MS));
	ASSERT_EQ(5, sender->ret);
}

/*
 * Requests that complete inline, a read that waits for a write() and a
 * write that waits for a read(): none of it may park an io-wq worker
 * ("iou-wrk-PID" threads, io_uring/io-wq.c), here or anywhere.
 */
TEST_F(uring, no_io_wq_worker_is_used)
{
	struct rc *c = &self->c;
	char buf[MSG_MAX];
	int res, mine, all;

	if (c->capacity) {
		ASSERT_EQ(1, submit_rw(&c->ring, true, c->fd, "zero", 4, -1, 1));
		ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
		ASSERT_EQ(4, res);
		ASSERT_EQ(1, submit_rw(&c->ring, false, c->fd, buf, sizeof(buf), -1, 2));
		ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
		ASSERT_EQ(4, res);
	}

	ASSERT_EQ(1, submit_rw(&c->ring, false, c->fd, buf, sizeof(buf), -1, 3));
	ASSERT_TRUE(stays_pending(&c->ring, PENDING_MS));
	if (c->capacity) {
		ASSERT_EQ(3, kt_send(c->fd, "one", 3));
	} else {
		ASSERT_NE(NULL, kt_ops_start(&c->bg, c->fd, "one", 0, 0));
	}
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
	ASSERT_EQ(3, res);

	ASSERT_EQ(0, fill(c));
	ASSERT_EQ(1, submit_rw(&c->ring, true, c->fd, "two", 3, -1, 4));
	ASSERT_TRUE(stays_pending(&c->ring, PENDING_MS));
	if (c->capacity) {
		ASSERT_LT(0, kt_recv(c->fd, buf, sizeof(buf)));
	} else {
		ASSERT_NE(NULL, kt_ops_start(&c->bg, c->fd, NULL, 0, 0));
	}
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
	ASSERT_EQ(3, res);

	mine = count_workers_in("/proc/self/task");
	all = count_io_workers_everywhere();
	EXPECT_EQ(0, mine) TH_LOG("%d io-wq workers in this process", mine);
	EXPECT_EQ(0, all) TH_LOG("%d io-wq workers in the system", all);
}

TEST_F(uring, read_into_a_short_buffer_fails_and_keeps_the_message)
{
	struct rc *c = &self->c;
	struct kt_op *sender;
	struct kchan_stat st;
	char small[4], buf[MSG_MAX];
	int res;

	sender = offer(_metadata, c, "0123456789");
	ASSERT_EQ(1, submit_rw(&c->ring, false, c->fd, small, sizeof(small), -1, 1));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
	ASSERT_EQ(-EMSGSIZE, res);

	ASSERT_EQ(0, kt_stat(c->fd, &st));
	EXPECT_EQ(0ULL, st.received);
	if (sender) {
		EXPECT_FALSE(kt_op_done(sender));
	}
	ASSERT_EQ(10, kt_recv(c->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "0123456789", 10));
	if (sender) {
		ASSERT_EQ(0, kt_op_wait(sender, KT_TIMEOUT_MS));
		ASSERT_EQ(10, sender->ret);
	}
}

TEST_F(uring, write_on_a_closed_channel_fails_with_epipe)
{
	struct rc *c = &self->c;
	int res;

	ASSERT_EQ(0, kchan_close(c->fd));
	ASSERT_EQ(1, submit_rw(&c->ring, true, c->fd, "late", 4, -1, 1));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
	ASSERT_EQ(-EPIPE, res);
}

TEST_F(uring, pending_write_fails_with_epipe_on_close)
{
	struct rc *c = &self->c;
	struct kchan_stat st;
	int res;

	ASSERT_EQ(0, fill(c));
	ASSERT_EQ(1, submit_rw(&c->ring, true, c->fd, "late", 4, -1, 1));
	ASSERT_TRUE(stays_pending(&c->ring, PENDING_MS));
	ASSERT_EQ(0, kchan_close(c->fd));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
	ASSERT_EQ(-EPIPE, res);
	ASSERT_EQ(0, kt_stat(c->fd, &st));
	EXPECT_EQ(c->capacity, st.sent);
}

TEST_F(uring, read_of_a_closed_drained_channel_returns_zero)
{
	struct rc *c = &self->c;
	char buf[MSG_MAX];
	int res;

	ASSERT_EQ(0, kchan_close(c->fd));
	ASSERT_EQ(1, submit_rw(&c->ring, false, c->fd, buf, sizeof(buf), -1, 1));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
	ASSERT_EQ(0, res);
}

TEST_F(uring, pending_read_returns_zero_on_close)
{
	struct rc *c = &self->c;
	char buf[MSG_MAX];
	int res;

	ASSERT_EQ(1, submit_rw(&c->ring, false, c->fd, buf, sizeof(buf), -1, 1));
	ASSERT_TRUE(stays_pending(&c->ring, PENDING_MS));
	ASSERT_EQ(0, kchan_close(c->fd));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
	ASSERT_EQ(0, res);
}

TEST_F(uring, cancelled_pending_read_loses_no_message)
{
	struct rc *c = &self->c;
	struct kt_op *sender = NULL;
	int res, i, got_read = 0, got_cancel = 0;
	char buf[MSG_MAX];
	__u64 ud;

	ASSERT_EQ(1, submit_rw(&c->ring, false, c->fd, buf, sizeof(buf), -1, 1));
	ASSERT_TRUE(stays_pending(&c->ring, PENDING_MS));
	ASSERT_EQ(1, submit_cancel(&c->ring, 1, 2));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, &ud));
		if (ud == 1) {
			EXPECT_EQ(-ECANCELED, res);
			got_read++;
		} else {
			EXPECT_EQ(2ULL, ud);
			EXPECT_EQ(0, res);
			got_cancel++;
		}
	}
	ASSERT_EQ(1, got_read);
	ASSERT_EQ(1, got_cancel);

	/* The cancelled read does not linger as a committed receiver. */
	if (!c->capacity) {
		ASSERT_EQ(0, set_nonblock(c->fd, true));
		EXPECT_EQ(-EAGAIN, kt_send(c->fd, "x", 1));
		ASSERT_EQ(0, set_nonblock(c->fd, false));
	}

	/* The next message goes to a plain read(), and only to it. */
	if (c->capacity) {
		ASSERT_EQ(5, kt_send(c->fd, "after", 5));
	} else {
		ASSERT_NE(NULL, sender = kt_ops_start(&c->bg, c->fd, "after", 0, 0));
	}
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, kt_recv(c->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "after", 5));
	if (sender) {
		ASSERT_EQ(0, kt_op_wait(sender, KT_TIMEOUT_MS));
		ASSERT_EQ(5, sender->ret);
	}
	ASSERT_TRUE(stays_pending(&c->ring, PENDING_MS));
}

TEST_F(uring, poll_add_completes_when_a_message_is_offered)
{
	struct rc *c = &self->c;
	struct io_uring_sqe *sqe;
	struct kt_op *sender;
	char buf[MSG_MAX];
	int res;

	sqe = get_sqe(_metadata, &c->ring);
	io_uring_prep_poll_add(sqe, c->fd, POLLIN);
	sqe->user_data = 1;
	ASSERT_EQ(1, io_uring_submit(&c->ring));
	ASSERT_TRUE(stays_pending(&c->ring, PENDING_MS));

	ASSERT_NE(NULL, sender = peer(c, "poke"));
	ASSERT_EQ(0, reap(&c->ring, KT_TIMEOUT_MS, &res, NULL));
	ASSERT_LT(0, res);
	ASSERT_NE(0, res & POLLIN);
	ASSERT_EQ(4, kt_recv(c->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, kt_op_wait(sender, KT_TIMEOUT_MS));
	ASSERT_EQ(4, sender->ret);
}

TEST_F(uring, nowait_read_with_nothing_offered_fails_with_eagain)
{
	struct rc *c = &self->c;
	struct io_uring_sqe *sqe;
	char buf[MSG_MAX];

	sqe = get_sqe(_metadata, &c->ring);
	io_uring_prep_read(sqe, c->fd, buf, sizeof(buf), -1);
	sqe->rw_flags = RWF_NOWAIT;
	ASSERT_EQ(-EAGAIN, submit_and_reap(_metadata, &c->ring));
}

TEST_F(uring, nowait_write_that_would_block_fails_with_eagain)
{
	struct rc *c = &self->c;
	struct io_uring_sqe *sqe;
	struct kchan_stat st;

	ASSERT_EQ(0, fill(c));
	sqe = get_sqe(_metadata, &c->ring);
	io_uring_prep_write(sqe, c->fd, "no", 2, -1);
	sqe->rw_flags = RWF_NOWAIT;
	ASSERT_EQ(-EAGAIN, submit_and_reap(_metadata, &c->ring));
	ASSERT_EQ(0, kt_stat(c->fd, &st));
	EXPECT_EQ(c->capacity, st.queued);
	EXPECT_EQ(0U, st.senders);
}

TEST_F(buffered, writev_and_readv_move_one_message)
{
	struct rc *c = &self->c;
	char a[3], b[8];
	struct iovec out[2] = {
		{ .iov_base = "he", .iov_len = 2 },
		{ .iov_base = "llo", .iov_len = 3 },
	};
	struct iovec in[2] = {
		{ .iov_base = a, .iov_len = sizeof(a) },
		{ .iov_base = b, .iov_len = sizeof(b) },
	};
	struct io_uring_sqe *sqe;
	struct kchan_stat st;

	sqe = get_sqe(_metadata, &c->ring);
	io_uring_prep_writev(sqe, c->fd, out, 2, -1);
	ASSERT_EQ(5, submit_and_reap(_metadata, &c->ring));
	ASSERT_EQ(0, kt_stat(c->fd, &st));
	ASSERT_EQ(1U, st.queued);

	sqe = get_sqe(_metadata, &c->ring);
	io_uring_prep_readv(sqe, c->fd, in, 2, -1);
	ASSERT_EQ(5, submit_and_reap(_metadata, &c->ring));
	ASSERT_EQ(0, memcmp(a, "hel", 3));
	ASSERT_EQ(0, memcmp(b, "lo", 2));
}

TEST_HARNESS_MAIN
