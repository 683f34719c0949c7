// SPDX-License-Identifier: GPL-2.0
/*
 * Sending and receiving: message boundaries, order, blocking, hand-off to
 * waiting receivers, directions, and the validation of requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kt.h"
#include "kt_bg.h"
#include "kt_fault.h"
#include "kt_harness.h"

#define MSG_MAX		64
#define CAPACITY	4u
#define NR_PEERS	4

#define KT_CHAN_FIXTURE
#include "kt_fixture.h"

static int get_version(int fd, struct kchan_version *v)
{
	memset(v, 0xff, sizeof(*v));
	return ioctl(fd, KCHAN_IOC_VERSION, v) < 0 ? -errno : 0;
}

TEST_F(chan, one_write_is_one_message)
{
	static const size_t lens[] = { 1, 2, 3, MSG_MAX, 5, 1 };
	unsigned char buf[2 * MSG_MAX];
	struct kt_feeder f;
	unsigned int i;

	ASSERT_EQ(0, kt_feeder_start(&f, self->fd, ARRAY_SIZE(lens),
					lens, 10));
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		ASSERT_EQ((ssize_t)lens[i],
			  kt_recv(self->fd, buf, sizeof(buf)));
		ASSERT_TRUE(kt_check(buf, lens[i], 10 + i));
	}
	ASSERT_EQ(0, kt_feeder_finish(&f));
}

TEST_F(chan, messages_from_one_sender_arrive_in_order)
{
	size_t lens[32];
	unsigned char buf[MSG_MAX];
	struct kt_feeder f;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lens); i++)
		lens[i] = 1 + i % 8;
	ASSERT_EQ(0, kt_feeder_start(&f, self->fd, ARRAY_SIZE(lens),
					lens, 0));
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		ASSERT_EQ((ssize_t)lens[i],
			  kt_recv(self->fd, buf, sizeof(buf)));
		ASSERT_TRUE(kt_check(buf, lens[i], i)) {
			TH_LOG("message %u out of order", i);
		}
	}
	ASSERT_EQ(0, kt_feeder_finish(&f));
}

TEST_F(chan, writev_gathers_one_message)
{
	struct iovec iov[] = {
		{ .iov_base = "ab", .iov_len = 2 },
		{ .iov_base = "cde", .iov_len = 3 },
		{ .iov_base = "f", .iov_len = 1 },
	};
	char buf[MSG_MAX];
	struct kt_op op = {
		.fd = self->fd, .kind = KT_WRITEV,
		.iov = iov, .iovcnt = ARRAY_SIZE(iov),
	};

	ASSERT_EQ(0, kt_op_start(&op));
	ASSERT_EQ(6, kt_recv(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "abcdef", 6));
	ASSERT_EQ(6, kt_op_result(&op));
}

TEST_F(chan, readv_scatters_one_message)
{
	static const size_t lens[] = { 6, 2 };
	unsigned char a[2], b[3], c[10], all[6], buf[MSG_MAX];
	struct iovec iov[] = {
		{ .iov_base = a, .iov_len = sizeof(a) },
		{ .iov_base = b, .iov_len = sizeof(b) },
		{ .iov_base = c, .iov_len = sizeof(c) },
	};
	struct kt_feeder f;

	ASSERT_EQ(0, kt_feeder_start(&f, self->fd, 2, lens, 50));
	ASSERT_EQ(6, readv(self->fd, iov, ARRAY_SIZE(iov)));
	memcpy(all, a, 2);
	memcpy(all + 2, b, 3);
	memcpy(all + 5, c, 1);
	ASSERT_TRUE(kt_check(all, 6, 50));
	/* The second message was not pulled into the spare iovec space. */
	ASSERT_EQ(2, kt_recv(self->fd, buf, sizeof(buf)));
	ASSERT_TRUE(kt_check(buf, 2, 51));
	ASSERT_EQ(0, kt_feeder_finish(&f));
}

TEST_F(chan, empty_write_is_einval_and_sends_nothing)
{
	struct kt_guard g = { 0 };
	char buf[MSG_MAX] = "x";

	ASSERT_EQ(0, kt_guard_start(&g, 3000));
	EXPECT_EQ(-EINVAL, kt_send(self->fd, buf, 0));
	kt_guard_stop(&g);
	kt_expect_nothing_sent(_metadata, self->fd);
	kt_expect_empty(_metadata, self->fd);
}

TEST_F(chan, write_above_msg_max_is_emsgsize_and_sends_nothing)
{
	struct kt_guard g = { 0 };
	char buf[MSG_MAX + 1];

	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ(0, kt_guard_start(&g, 3000));
	EXPECT_EQ(-EMSGSIZE, kt_send(self->fd, buf, MSG_MAX + 1));
	kt_guard_stop(&g);
	kt_expect_nothing_sent(_metadata, self->fd);
	kt_expect_empty(_metadata, self->fd);
}

TEST_F(chan, nonblocking_receive_on_empty_open_channel_is_eagain)
{
	struct kchan_stat st;

	kt_expect_empty(_metadata, self->fd);
	ASSERT_EQ(0, kt_stat(self->fd, &st));
	EXPECT_EQ(0u, st.receivers);
	EXPECT_EQ(0u, st.received);
}

TEST_F(chan, waiting_receivers_get_messages_in_arrival_order)
{
	struct kt_op rx[NR_PEERS];
	unsigned char bufs[NR_PEERS][MSG_MAX], msg[8];
	unsigned int i;

	for (i = 0; i < NR_PEERS; i++) {
		ASSERT_EQ(0, kt_op_recv(&rx[i], self->fd, bufs[i], MSG_MAX));
		ASSERT_EQ(0, kt_wait_for(self->fd, receivers, i + 1));
	}
	for (i = 0; i < NR_PEERS; i++) {
		kt_fill(msg, sizeof(msg), i);
		ASSERT_EQ((ssize_t)sizeof(msg),
			  kt_send(self->fd, msg, sizeof(msg)));
	}
	for (i = 0; i < NR_PEERS; i++) {
		ASSERT_EQ((ssize_t)sizeof(msg), kt_op_result(&rx[i]));
		EXPECT_TRUE(kt_check(bufs[i], sizeof(msg), i)) {
			TH_LOG("receiver %u got message %u", i, bufs[i][0]);
		}
	}
}

TEST_F(chan, blocked_senders_are_served_in_arrival_order)
{
	unsigned char msgs[NR_PEERS][8], buf[MSG_MAX];
	struct kt_op tx[NR_PEERS];
	unsigned int i;

	/* Fill the buffer (if any) so that the next senders block. */
	for (i = 0; i < variant->capacity; i++) {
		kt_fill(buf, 8, 100 + i);
		ASSERT_EQ(8, kt_send(self->fd, buf, 8));
	}
	for (i = 0; i < NR_PEERS; i++) {
		kt_fill(msgs[i], 8, i);
		ASSERT_EQ(0, kt_op_send(&tx[i], self->fd, msgs[i], 8));
		ASSERT_EQ(0, kt_wait_for(self->fd, senders, i + 1));
	}
	for (i = 0; i < variant->capacity; i++) {
		ASSERT_EQ(8, kt_recv(self->fd, buf, sizeof(buf)));
		EXPECT_TRUE(kt_check(buf, 8, 100 + i));
	}
	for (i = 0; i < NR_PEERS; i++) {
		ASSERT_EQ(8, kt_recv(self->fd, buf, sizeof(buf)));
		EXPECT_TRUE(kt_check(buf, 8, i)) {
			TH_LOG("receive %u got sender %u's message", i, buf[0]);
		}
	}
	for (i = 0; i < NR_PEERS; i++) {
		EXPECT_EQ(8, kt_op_result(&tx[i]));
	}
}

TEST_F(chan, next_len_reports_the_next_message_length)
{
	static const size_t lens[] = { 5, 3 };
	unsigned char buf[MSG_MAX];
	struct kt_feeder f;

	ASSERT_EQ(0, kt_feeder_start(&f, self->fd, 2, lens, 0));
	if (variant->capacity) {
		ASSERT_EQ(0, kt_feeder_wait_sent(&f, 2));
	} else {
		ASSERT_EQ(0, kt_wait_for(self->fd, senders, 1));
	}
	EXPECT_EQ(5, kt_next_len(self->fd));
	/* Asking does not consume. */
	EXPECT_EQ(5, kt_next_len(self->fd));
	ASSERT_EQ(5, kt_recv(self->fd, buf, sizeof(buf)));
	if (!variant->capacity) {
		ASSERT_EQ(0, kt_feeder_wait_sent(&f, 1));
		ASSERT_EQ(0, kt_wait_for(self->fd, senders, 1));
	}
	EXPECT_EQ(3, kt_next_len(self->fd));
	ASSERT_EQ(3, kt_recv(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, kt_feeder_finish(&f));
}

TEST_F(chan, next_len_on_empty_open_channel_is_eagain)
{
	EXPECT_EQ(-EAGAIN, kt_next_len(self->fd));
}

TEST_F(chan, next_len_on_closed_drained_channel_is_enodata)
{
	unsigned char buf[MSG_MAX];

	if (variant->capacity) {
		kt_fill(buf, 7, 0);
		ASSERT_EQ(7, kt_send(self->fd, buf, 7));
	}
	ASSERT_EQ(0, kchan_close(self->fd));
	if (variant->capacity) {
		EXPECT_EQ(7, kt_next_len(self->fd));
		ASSERT_EQ(7, kt_recv(self->fd, buf, sizeof(buf)));
	}
	EXPECT_EQ(-ENODATA, kt_next_len(self->fd));
}

TEST_F(chan, unknown_ioctl_is_enotty)
{
	__u64 arg[8] = { 0 };

	EXPECT_EQ(-1, ioctl(self->fd, _IO(KCHAN_IOC_MAGIC, 0x7f), arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOR(KCHAN_IOC_MAGIC, 0x13, __u32),
			    arg));
	EXPECT_EQ(ENOTTY, errno);
	/* A known number with another size or direction is another ioctl. */
	EXPECT_EQ(-1, ioctl(self->fd, _IOR(KCHAN_IOC_MAGIC, 0x12, __u64),
			    arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOW(KCHAN_IOC_MAGIC, 0x11,
					   struct kchan_stat), arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO('x', 0x10), arg));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(chan, version_ioctl_reports_version_and_features)
{
	struct kchan_version v;
	const __u64 want = KCHAN_FEATURE_NAMED | KCHAN_FEATURE_AUTOCLOSE |
			   KCHAN_FEATURE_NEXT_LEN;

	ASSERT_EQ(0, get_version(self->fd, &v));
	EXPECT_EQ((__u32)KCHAN_VERSION, v.version);
	EXPECT_EQ(want, v.features & want);
}

TEST(buffered_sends_complete_at_once_up_to_capacity)
{
	struct kt_guard g = { 0 };
	unsigned char buf[8];
	struct kchan_stat st;
	unsigned int i;
	int fd;

	fd = kchan_make(CAPACITY, MSG_MAX, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_guard_start(&g, 3000));
	for (i = 0; i < CAPACITY; i++) {
		kt_fill(buf, sizeof(buf), i);
		EXPECT_EQ(8, kt_send(fd, buf, sizeof(buf)));
	}
	kt_guard_stop(&g);
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(CAPACITY, st.queued);
	EXPECT_EQ(CAPACITY, st.sent);
	EXPECT_EQ(0u, st.received);
	close(fd);
}

TEST(buffered_full_nonblocking_send_is_eagain)
{
	unsigned char buf[8] = { 0 };
	struct kchan_stat st;
	unsigned int i;
	int fd;

	fd = kt_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, fd);
	for (i = 0; i < CAPACITY; i++) {
		ASSERT_EQ(8, kt_send(fd, buf, sizeof(buf)));
	}
	EXPECT_EQ(-EAGAIN, kt_send(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(CAPACITY, st.queued);
	EXPECT_EQ(CAPACITY, st.sent);
	/* Once there is room again the same send goes through. */
	ASSERT_EQ(8, kt_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ(8, kt_send(fd, buf, sizeof(buf)));
	close(fd);
}

TEST(buffered_full_blocking_send_waits_for_a_receive)
{
	unsigned char buf[MSG_MAX];
	struct kchan_stat st;
	struct kt_op tx;
	unsigned int i;
	int fd;

	fd = kchan_make(CAPACITY, MSG_MAX, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_op_send_behind_full(&tx, fd, CAPACITY, 8));
	kt_sleep_ms(KT_SETTLE_MS);
	ASSERT_FALSE(kt_op_done(&tx)) {
		TH_LOG("send into a full buffer returned %zd", tx.ret);
	}
	ASSERT_EQ(8, kt_recv(fd, buf, sizeof(buf)));
	EXPECT_TRUE(kt_check(buf, 8, 0));
	ASSERT_EQ(8, kt_op_result(&tx));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(CAPACITY, st.queued);
	for (i = 1; i <= CAPACITY; i++) {
		ASSERT_EQ(8, kt_recv(fd, buf, sizeof(buf)));
		EXPECT_TRUE(kt_check(buf, 8, i));
	}
	close(fd);
}

TEST(buffered_receive_moves_first_blocked_sender_into_buffer)
{
	unsigned char buf[MSG_MAX], msgs[2][8];
	struct kchan_stat st;
	struct kt_op tx[2];
	unsigned int i;
	int fd;

	fd = kchan_make(CAPACITY, MSG_MAX, 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < CAPACITY; i++) {
		kt_fill(buf, 8, i);
		ASSERT_EQ(8, kt_send(fd, buf, 8));
	}
	for (i = 0; i < 2; i++) {
		kt_fill(msgs[i], 8, CAPACITY + i);
		ASSERT_EQ(0, kt_op_send(&tx[i], fd, msgs[i], 8));
		ASSERT_EQ(0, kt_wait_for(fd, senders, i + 1));
	}

	ASSERT_EQ(8, kt_recv(fd, buf, sizeof(buf)));
	EXPECT_TRUE(kt_check(buf, 8, 0));
	/* The first blocked sender completes; its message is now queued. */
	ASSERT_EQ(8, kt_op_result(&tx[0]));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(CAPACITY, st.queued);
	EXPECT_EQ(1u, st.senders);
	kt_sleep_ms(KT_SETTLE_MS);
	EXPECT_FALSE(kt_op_done(&tx[1]));

	for (i = 1; i <= CAPACITY + 1; i++) {
		ASSERT_EQ(8, kt_recv(fd, buf, sizeof(buf)));
		EXPECT_TRUE(kt_check(buf, 8, i)) {
			TH_LOG("receive %u got message %u", i, buf[0]);
		}
	}
	EXPECT_EQ(8, kt_op_result(&tx[1]));
	close(fd);
}

TEST(rendezvous_nonblocking_send_without_receiver_is_eagain)
{
	unsigned char buf[8] = { 0 };
	struct kchan_stat st;
	int fd;

	fd = kt_make(0, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EAGAIN, kt_send(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(0u, st.sent);
	EXPECT_EQ(0u, st.senders);
	EXPECT_EQ(-EAGAIN, kt_recv(fd, buf, sizeof(buf)));
	close(fd);
}

TEST(rendezvous_send_returns_only_after_receiver_took_the_message)
{
	unsigned char msg[8], buf[MSG_MAX];
	struct kt_op rx;
	uint64_t t0, t1;
	int fd;

	fd = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, fd);
	memset(&rx, 0, sizeof(rx));
	rx.fd = fd;
	rx.kind = KT_READ;
	rx.buf = buf;
	rx.len = sizeof(buf);
	rx.delay_ms = 200;
	rx.senders = 1;		/* a loaded machine may take longer */
	rx.stat_before = true;
	kt_fill(msg, sizeof(msg), 7);

	t0 = kt_now_ns();
	ASSERT_EQ(0, kt_op_start(&rx));
	ASSERT_EQ(8, kt_send(fd, msg, sizeof(msg)));
	t1 = kt_now_ns();

	ASSERT_EQ(8, kt_op_result(&rx));
	EXPECT_TRUE(kt_check(buf, 8, 7));
	ASSERT_EQ(0, rx.wait_ret) TH_LOG("the sender was never seen blocked");
	/* While the receiver slept, the sender was parked in the channel. */
	EXPECT_EQ(1u, rx.before.senders);
	EXPECT_EQ(0u, rx.before.queued);
	/* ... and it returned only once the receive had started. */
	EXPECT_LE(rx.call_ns, t1);
	EXPECT_LE(200000000ull, t1 - t0);
	close(fd);
}

/*
 * Creates an anonymous channel with open FLAGS; *fl gets fcntl(fd, CMD).
 * Returns the channel's fd.
 */
static int make_and_get(struct __test_metadata *_metadata,
			unsigned int capacity, unsigned int flags, int cmd,
			int *fl)
{
	int fd;

	fd = kt_make(capacity, MSG_MAX, 0, flags);
	ASSERT_LE(0, fd);
	*fl = fcntl(fd, cmd);
	ASSERT_LE(0, *fl);
	return fd;
}

TEST(anonymous_fd_is_read_write)
{
	unsigned char buf[MSG_MAX];
	int fd, fl;

	fd = make_and_get(_metadata, CAPACITY, O_CLOEXEC, F_GETFL, &fl);
	EXPECT_EQ(O_RDWR, fl & O_ACCMODE);
	kt_fill(buf, 9, 3);
	ASSERT_EQ(9, kt_send(fd, buf, 9));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(9, kt_recv(fd, buf, sizeof(buf)));
	EXPECT_TRUE(kt_check(buf, 9, 3));
	close(fd);
}

TEST(create_honours_nonblock_fd_flag)
{
	struct kt_guard g = { 0 };
	unsigned char buf[MSG_MAX];
	int fd, fl;

	fd = make_and_get(_metadata, 0, O_NONBLOCK, F_GETFL, &fl);
	EXPECT_TRUE(fl & O_NONBLOCK);
	ASSERT_EQ(0, kt_guard_start(&g, 3000));
	EXPECT_EQ(-EAGAIN, kt_recv(fd, buf, sizeof(buf)));
	kt_guard_stop(&g);
	close(fd);

	fd = make_and_get(_metadata, 0, 0, F_GETFL, &fl);
	EXPECT_FALSE(fl & O_NONBLOCK);
	close(fd);
}

TEST(create_honours_cloexec_fd_flag)
{
	int fd, fl;

	fd = make_and_get(_metadata, 0, O_CLOEXEC, F_GETFD, &fl);
	EXPECT_TRUE(fl & FD_CLOEXEC);
	close(fd);

	fd = make_and_get(_metadata, 0, 0, F_GETFD, &fl);
	EXPECT_FALSE(fl & FD_CLOEXEC);
	close(fd);
}

static int create_anon(unsigned int capacity, unsigned int msg_max,
		       void (*tweak)(struct kchan_create *, unsigned int),
		       unsigned int arg)
{
	struct kchan_create req = { .capacity = capacity, .msg_max = msg_max };
	int ret;

	if (tweak)
		tweak(&req, arg);
	ret = kt_create(&req);
	if (ret >= 0)
		close(ret);
	return ret < 0 ? ret : 0;
}

static void set_reserved(struct kchan_create *req, unsigned int which)
{
	if (which == 0)
		req->reserved0 = 1;
	else
		req->reserved[which - 1] = 1ull << 63;
}

static void set_flags(struct kchan_create *req, unsigned int flags)
{
	req->flags = flags;
}

static void set_fd_flags(struct kchan_create *req, unsigned int fd_flags)
{
	req->fd_flags = fd_flags;
}

TEST(create_accepts_a_plain_request)
{
	/* The baseline the rejection tests below differ from. */
	EXPECT_EQ(0, create_anon(CAPACITY, MSG_MAX, NULL, 0));
	EXPECT_EQ(0, create_anon(0, MSG_MAX, set_fd_flags,
				 O_CLOEXEC | O_NONBLOCK));
}

TEST(create_rejects_nonzero_reserved_fields)
{
	unsigned int which;

	for (which = 0; which <= 2; which++) {
		EXPECT_EQ(-EINVAL, create_anon(CAPACITY, MSG_MAX,
					       set_reserved, which)) {
			TH_LOG("reserved field %u", which);
		}
	}
}

TEST(create_rejects_unknown_flags)
{
	unsigned int bit;

	EXPECT_EQ(-EINVAL, create_anon(CAPACITY, MSG_MAX, set_flags,
				       ~KCHAN_CREATE_ALL));
	for (bit = 0; bit < 32; bit++) {
		if (KCHAN_CREATE_ALL & (1U << bit))
			continue;
		EXPECT_EQ(-EINVAL, create_anon(CAPACITY, MSG_MAX, set_flags,
					       1U << bit)) {
			TH_LOG("flag bit %u", bit);
		}
	}
}

TEST(create_rejects_zero_msg_max)
{
	EXPECT_EQ(-EINVAL, create_anon(CAPACITY, 0, NULL, 0));
	EXPECT_EQ(-EINVAL, create_anon(0, 0, NULL, 0));
}

TEST(create_rejects_unknown_fd_flags)
{
	static const unsigned int bad[] = {
		O_WRONLY, O_RDWR, O_APPEND, O_CREAT, O_TRUNC, O_EXCL,
		O_SYNC, O_DIRECT, O_NOFOLLOW, O_PATH, 1U << 31,
		O_CLOEXEC | O_NONBLOCK | O_APPEND,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, create_anon(CAPACITY, MSG_MAX,
					       set_fd_flags, bad[i])) {
			TH_LOG("fd_flags %#x", bad[i]);
		}
	}
}

TEST(create_rejects_capacity_above_limit)
{
	struct kchan_version v;

	ASSERT_EQ(0, kt_version(&v));
	ASSERT_GT(v.max_capacity, 0u);
	ASSERT_LT(v.max_capacity, UINT32_MAX);
	EXPECT_EQ(-EINVAL, create_anon(v.max_capacity + 1, MSG_MAX, NULL, 0));
	EXPECT_EQ(-EINVAL, create_anon(UINT32_MAX, MSG_MAX, NULL, 0));
}

TEST(create_rejects_msg_max_above_limit)
{
	struct kchan_version v;

	ASSERT_EQ(0, kt_version(&v));
	ASSERT_GT(v.max_msg_size, 0u);
	ASSERT_LT(v.max_msg_size, UINT32_MAX);
	EXPECT_EQ(0, create_anon(0, v.max_msg_size, NULL, 0));
	EXPECT_EQ(-EINVAL, create_anon(CAPACITY, v.max_msg_size + 1,
				       NULL, 0));
	EXPECT_EQ(-EINVAL, create_anon(CAPACITY, UINT32_MAX, NULL, 0));
}

TEST(unknown_ioctl_on_chanctl_is_enotty)
{
	__u64 arg[8] = { 0 };
	int ctl;

	ctl = open(KT_CHANCTL, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, ctl);
	EXPECT_EQ(-1, ioctl(ctl, _IO(KCHAN_IOC_MAGIC, 0x7f), arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(ctl, _IO('x', 0x01), arg));
	EXPECT_EQ(ENOTTY, errno);
	close(ctl);
}

TEST(version_ioctl_on_chanctl_reports_version_and_features)
{
	const __u64 want = KCHAN_FEATURE_NAMED | KCHAN_FEATURE_AUTOCLOSE |
			   KCHAN_FEATURE_NEXT_LEN;
	struct kchan_version v;

	ASSERT_EQ(0, kt_version(&v));
	EXPECT_EQ((__u32)KCHAN_VERSION, v.version);
	EXPECT_EQ(want, v.features & want);
}

/* Creates the fixture's channel and opens it with OFLAGS: returns the fd. */
static int create_and_open(struct __test_metadata *_metadata,
			   FIXTURE_DATA(named) *self, unsigned int capacity,
			   int oflags)
{
	int fd;

	ASSERT_EQ(0, kchan_create(self->name, capacity, MSG_MAX, 0600, 0));
	self->created = true;
	fd = open(self->path, oflags | O_CLOEXEC);
	ASSERT_LE(0, fd);
	return fd;
}

TEST_F(named, rendezvous_nonblocking_send_succeeds_when_receiver_waits)
{
	unsigned char msg[8], buf[MSG_MAX];
	struct kt_op rx;
	int rd, wr;

	rd = create_and_open(_metadata, self, 0, O_RDONLY);
	wr = open(self->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, wr);

	kt_fill(msg, sizeof(msg), 9);
	/* Nobody is receiving yet. */
	ASSERT_EQ(-EAGAIN, kt_send(wr, msg, sizeof(msg)));
	ASSERT_EQ(0, kt_op_recv(&rx, rd, buf, sizeof(buf)));
	ASSERT_EQ(0, kt_wait_for(rd, receivers, 1));
	EXPECT_EQ(8, kt_send(wr, msg, sizeof(msg)));
	ASSERT_EQ(8, kt_op_result(&rx));
	EXPECT_TRUE(kt_check(buf, 8, 9));
	close(wr);
	close(rd);
}

/*
 * Lengths going up and down through one channel: each message keeps its
 * own length and bytes (a channel reuses the buffers of messages it has
 * delivered).
 */
TEST_F(chan, message_lengths_up_and_down)
{
	/* Small first: its spare is too small for the next, then big enough. */
	static const size_t lens[] = { 1, MSG_MAX, 17, MSG_MAX - 1, 2, 40, 1 };
	unsigned char msg[MSG_MAX], buf[MSG_MAX];
	struct kt_op rx;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		kt_fill(msg, lens[i], 30 + i);
		memset(buf, 0xee, sizeof(buf));
		ASSERT_EQ(0, kt_op_recv(&rx, self->fd, buf, sizeof(buf)));
		ASSERT_EQ((ssize_t)lens[i], kt_send(self->fd, msg, lens[i]));
		ASSERT_EQ((ssize_t)lens[i], kt_op_result(&rx));
		EXPECT_TRUE(kt_check(buf, lens[i], 30 + i));
		if (lens[i] < sizeof(buf))
			EXPECT_EQ(0xee, buf[lens[i]]);
	}
}

/*
 * A non-blocking rendezvous send handed to a waiting receiver whose copy
 * then fails is not sent: it fails with EAGAIN instead of waiting in line
 * for the next receiver, and nothing is left queued.
 */
TEST(rendezvous_nonblocking_send_whose_receiver_faults_is_eagain)
{
	unsigned char msg[8];
	struct kt_op rx;
	struct kchan_stat st;
	void *bad = kt_bad_mem(1);
	int fd = kchan_make(0, MSG_MAX, 0);

	ASSERT_NE(NULL, bad);
	ASSERT_LE(0, fd);
	kt_fill(msg, sizeof(msg), 10);
	ASSERT_EQ(0, kt_op_recv(&rx, fd, bad, MSG_MAX));
	ASSERT_EQ(0, kt_wait_for(fd, receivers, 1));
	ASSERT_EQ(0, kt_set_nonblock(fd, true));
	EXPECT_EQ(-EAGAIN, kt_send(fd, msg, sizeof(msg)));
	EXPECT_EQ(-EFAULT, kt_op_result(&rx));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(0u, st.senders);
	EXPECT_EQ(0ull, st.sent);
	EXPECT_EQ(0ull, st.received);
	close(fd);
}

/*
 * Receive one message into @buf as read() does, or (@batch) as the first
 * of a KCHAN_IOC_RECV_BATCH; its length, or -1.
 */
static ssize_t recv_one(int fd, void *buf, size_t cap, bool batch)
{
	struct kchan_mmsg m = { .buf = (uintptr_t)buf, .len = cap };
	struct kchan_batch b = { .msgs = (uintptr_t)&m, .nmsgs = 1 };

	if (!batch)
		return read(fd, buf, cap);
	return ioctl(fd, KCHAN_IOC_RECV_BATCH, &b) == 1 ? (ssize_t)m.len : -1;
}

/*
 * A rendezvous receiver makes its buffer writable before it waits, so a
 * non-blocking send from another process reaches it whatever the state
 * of the buffer's page: never touched, read only (the shared zero page,
 * mapped read-only), given back with MADV_DONTNEED, or shared with the
 * parent since fork() (mapped read-only until written: copy on write).
 * Were the receiver to wait with its page not writable, its copy would
 * fault and the send would fail with EAGAIN. read() and a receive batch.
 */
TEST(rendezvous_nonblocking_send_reaches_a_receiver_whose_page_was_not_writable)
{
	static const char *const states[] = {
		"untouched", "read", "dropped", "shared since fork",
	};
	long page = sysconf(_SC_PAGESIZE);
	unsigned char msg[8];
	unsigned int i;
	int fd, batch;

	fd = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, fd);
	kt_fill(msg, sizeof(msg), 11);
	for (batch = 0; batch < 2; batch++) {
		for (i = 0; i < ARRAY_SIZE(states); i++) {
			unsigned char *buf;
			ssize_t sent;
			int status;
			pid_t pid;

			TH_LOG("%s, the receiver's page: %s",
			       batch ? "KCHAN_IOC_RECV_BATCH" : "read()",
			       states[i]);
			buf = mmap(NULL, page, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			ASSERT_NE(MAP_FAILED, buf);
			if (i == 1)
				ASSERT_EQ(0, *(volatile unsigned char *)buf);
			if (i == 2) {
				buf[0] = 1;
				ASSERT_EQ(0, madvise(buf, page, MADV_DONTNEED));
			}
			if (i == 3)
				memset(buf, 0xee, page);
			pid = fork();
			ASSERT_LE(0, pid);
			if (!pid) {
				ssize_t n = recv_one(fd, buf, MSG_MAX, batch);

				_exit(n == sizeof(msg) &&
				      kt_check(buf, n, 11) ? 0 : 1);
			}
			ASSERT_EQ(0, kt_wait_for(fd, receivers, 1));
			ASSERT_EQ(0, kt_set_nonblock(fd, true));
			sent = kt_send(fd, msg, sizeof(msg));
			ASSERT_EQ(0, kt_set_nonblock(fd, false));
			if (sent != (ssize_t)sizeof(msg))
				kill(pid, SIGKILL);
			EXPECT_EQ((ssize_t)sizeof(msg), sent);
			ASSERT_EQ(pid, waitpid(pid, &status, 0));
			EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
			munmap(buf, page);
		}
	}
	close(fd);
}

TEST_F(named, read_only_fd_cannot_send)
{
	unsigned char msg[8] = { 1 };
	struct kchan_stat st;
	int rd;

	rd = create_and_open(_metadata, self, CAPACITY, O_RDONLY);
	EXPECT_EQ(-EBADF, kt_send(rd, msg, sizeof(msg)));
	ASSERT_EQ(0, kt_stat(rd, &st));
	EXPECT_EQ(0u, st.queued);
	EXPECT_EQ(0u, st.sent);
	close(rd);
}

TEST_F(named, write_only_fd_cannot_receive)
{
	unsigned char msg[8] = { 1 }, buf[MSG_MAX];
	struct kchan_stat st;
	int wr;

	wr = create_and_open(_metadata, self, CAPACITY, O_WRONLY);
	ASSERT_EQ(8, kt_send(wr, msg, sizeof(msg)));
	EXPECT_EQ(-EBADF, kt_recv(wr, buf, sizeof(buf)));
	ASSERT_EQ(0, kt_stat(wr, &st));
	EXPECT_EQ(1u, st.queued);
	EXPECT_EQ(0u, st.received);
	close(wr);
}

TEST_F(named, create_rejects_fd_flags_for_a_named_channel)
{
	struct kchan_create req = {
		.capacity = CAPACITY, .msg_max = MSG_MAX,
		.fd_flags = O_CLOEXEC,
	};

	snprintf(req.name, sizeof(req.name), "%s", self->name);
	EXPECT_EQ(-EINVAL, kt_create(&req));
	EXPECT_EQ(-1, access(self->path, F_OK));
	/* The same request without fd_flags is fine. */
	req.fd_flags = 0;
	EXPECT_EQ(0, kt_create(&req));
	self->created = true;
}

/*
 * A rendezvous send to a thread of the same process blocked in read()
 * copies the message into the reader's buffer itself: the send returns
 * at once, without sleeping until the reader wakes to copy it out.
 */
#define FILL_ROUNDS	20

TEST(rendezvous_send_to_a_waiting_thread_does_not_sleep)
{
	unsigned char msg[8], buf[MSG_MAX];
	long nv0, nv1, slept = 0;
	pid_t self = kt_gettid();
	struct kchan_stat st;
	struct kt_op rx;
	unsigned int i;
	int fd;

	fd = kt_make(0, MSG_MAX, 0, O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (i = 0; i < FILL_ROUNDS; i++) {
		memset(buf, 0xee, sizeof(buf));
		ASSERT_EQ(0, kt_op_recv(&rx, fd, buf, sizeof(buf)));
		ASSERT_EQ(0, kt_wait_for(fd, receivers, 1));
		ASSERT_EQ(0, kt_op_wait_sleeping(&rx, SYS_read));
		kt_fill(msg, sizeof(msg), i);
		nv0 = kt_task_nvcsw(self);
		ASSERT_EQ(8, kt_send(fd, msg, sizeof(msg)));
		nv1 = kt_task_nvcsw(self);
		ASSERT_LE(0, nv0);
		slept += nv1 - nv0;
		ASSERT_EQ(8, kt_op_result(&rx));
		EXPECT_TRUE(kt_check(buf, 8, i));
		EXPECT_EQ(0xee, buf[8]);
	}
	/* Before: one sleep per send, until the receiver's copy. */
	EXPECT_GE(FILL_ROUNDS / 4, slept) {
		TH_LOG("the sender slept %ld times in %d sends", slept,
		       FILL_ROUNDS);
	}
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ((__u64)FILL_ROUNDS, st.sent);
	EXPECT_EQ((__u64)FILL_ROUNDS, st.received);
	kt_expect_empty(_metadata, fd);
	close(fd);
}

/*
 * A thread blocked in read() into @rxbuf (@rxlen bytes) that cannot take
 * the message a thread of its process sends: the receive fails with
 * @err; the message stays with its sender, who waits, and goes, once, to
 * the next receiver.
 */
static void thread_receiver_leaves_the_message(
	struct __test_metadata *_metadata, void *rxbuf, size_t rxlen,
	ssize_t err)
{
	unsigned char buf[MSG_MAX];
	struct kchan_stat st;
	struct kt_op rx, tx;
	int fd;

	fd = kt_make(0, MSG_MAX, 0, O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_op_recv(&rx, fd, rxbuf, rxlen));
	ASSERT_EQ(0, kt_wait_for(fd, receivers, 1));
	kt_op_init(&tx, fd, KT_WRITE, NULL, 8);
	kt_fill(tx.data, 8, 41);
	ASSERT_EQ(0, kt_op_start(&tx));
	EXPECT_EQ(err, kt_op_result(&rx));
	/* Back in line, first, still waiting. */
	ASSERT_EQ(0, kt_wait_for(fd, senders, 1));
	EXPECT_FALSE(kt_op_done(&tx));
	EXPECT_EQ(8, kt_next_len(fd));
	ASSERT_EQ(8, kt_recv(fd, buf, sizeof(buf)));
	EXPECT_TRUE(kt_check(buf, 8, 41));
	EXPECT_EQ(8, kt_op_result(&tx));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(1ull, st.sent);
	EXPECT_EQ(1ull, st.received);
	kt_expect_empty(_metadata, fd);
	close(fd);
}

/* Too small a buffer: EMSGSIZE, before anyone copies. */
TEST(rendezvous_thread_receiver_too_small_gets_emsgsize)
{
	unsigned char small[4];

	thread_receiver_leaves_the_message(_metadata, small, sizeof(small),
					   -EMSGSIZE);
}

/*
 * Memory that faults: the sender cannot copy into it, nor can the
 * receiver, which fails with EFAULT.
 */
TEST(rendezvous_thread_receiver_that_faults_leaves_the_message)
{
	void *bad = kt_bad_mem(1);

	ASSERT_NE(NULL, bad);
	thread_receiver_leaves_the_message(_metadata, bad, MSG_MAX, -EFAULT);
	munmap(bad, getpagesize());
}

/*
 * Exactly once under signals: a thread receives messages numbered in
 * order while another keeps interrupting it (no SA_RESTART: its reads
 * fail with EINTR); the sending thread alternates blocking writes with
 * non-blocking ones (EAGAIN: not sent, tried again). Every write that
 * succeeded was received once, in order; none that failed was.
 */
#define SIG_ROUNDS	400

struct sig_rx {
	int fd;
	pid_t tid;
	unsigned int got;	/* messages received, each checked */
	unsigned int bad;	/* out of order, or duplicated */
	unsigned int eintr;
	atomic_int stop;
	pthread_t thread;
};

static void *sig_rx_thread(void *arg)
{
	struct sig_rx *r = arg;
	__u32 seq;
	ssize_t n;

	__atomic_store_n(&r->tid, kt_gettid(), __ATOMIC_RELEASE);
	while (r->got < SIG_ROUNDS) {
		n = read(r->fd, &seq, sizeof(seq));
		if (n < 0 && errno == EINTR) {
			r->eintr++;
			continue;
		}
		if (n != sizeof(seq) || seq != r->got)
			r->bad++;
		r->got++;
	}
	atomic_store(&r->stop, 1);
	return NULL;
}

/* A write that may not block (RWF_NOWAIT): its length or -errno. */
static ssize_t send_nowait(int fd, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };
	ssize_t n = pwritev2(fd, &iov, 1, -1, RWF_NOWAIT);

	return n < 0 ? -errno : n;
}

struct sig_storm {
	struct sig_rx *r;
	unsigned int sent;
	pthread_t thread;
};

static void *sig_storm_thread(void *arg)
{
	struct sig_storm *s = arg;
	pid_t tid = __atomic_load_n(&s->r->tid, __ATOMIC_ACQUIRE);

	while (!atomic_load(&s->r->stop)) {
		syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
		s->sent++;
		usleep(20);
	}
	return NULL;
}

TEST(rendezvous_thread_receiver_interrupted_gets_each_message_once)
{
	struct sig_rx r = { 0 };
	struct sig_storm storm = { .r = &r };
	struct pollfd pfd;
	struct kchan_stat st;
	unsigned int seq, eagain = 0;
	ssize_t n;
	int fd;

	ASSERT_EQ(0, kt_catch(SIGUSR1, false));
	fd = kt_make(0, MSG_MAX, 0, O_CLOEXEC);
	ASSERT_LE(0, fd);
	r.fd = fd;
	ASSERT_EQ(0, -pthread_create(&r.thread, NULL, sig_rx_thread, &r));
	ASSERT_EQ(0, kt_poll_until(__atomic_load_n(&r.tid, __ATOMIC_ACQUIRE),
				   KT_TIMEOUT_MS, 1000));
	ASSERT_EQ(0, -pthread_create(&storm.thread, NULL, sig_storm_thread,
				     &storm));
	for (seq = 0; seq < SIG_ROUNDS; ) {
		if (seq & 1) {
			pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
			ASSERT_EQ(1, poll(&pfd, 1, KT_TIMEOUT_MS));
			n = send_nowait(fd, &seq, sizeof(seq));
		} else {
			n = kt_send(fd, &seq, sizeof(seq));
		}
		if (n == -EAGAIN) {
			eagain++;
			continue;
		}
		ASSERT_EQ((ssize_t)sizeof(seq), n);
		seq++;
	}
	ASSERT_EQ(0, kt_poll_until(atomic_load(&r.stop), KT_TIMEOUT_MS,
				   1000));
	pthread_join(r.thread, NULL);
	pthread_join(storm.thread, NULL);
	EXPECT_EQ(0u, r.bad);
	EXPECT_EQ((unsigned int)SIG_ROUNDS, r.got);
	TH_LOG("%u signals, %u reads interrupted, %u sends EAGAIN",
	       storm.sent, r.eintr, eagain);
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ((__u64)SIG_ROUNDS, st.sent);
	EXPECT_EQ((__u64)SIG_ROUNDS, st.received);
	kt_expect_empty(_metadata, fd);
	close(fd);
}

/*
 * Exactly once between threads: two senders and two receivers of one
 * process, many rounds. Every message arrives once; the messages of one
 * sender reach each receiver in the order sent; the counters balance.
 */
#define ONCE_SENDERS	2
#define ONCE_RECEIVERS	2
#define ONCE_PER_SENDER	500

struct once_peer {
	int fd;
	unsigned int id;
	unsigned int got;
	unsigned int bad;
	unsigned char *seen;	/* [sender][seq], shared */
	pthread_t thread;
};

static void *once_send_thread(void *arg)
{
	struct once_peer *p = arg;
	__u32 m[2] = { p->id };

	for (m[1] = 0; m[1] < ONCE_PER_SENDER; m[1]++)
		if (write(p->fd, m, sizeof(m)) != sizeof(m))
			p->bad++;
	return NULL;
}

static void *once_recv_thread(void *arg)
{
	struct once_peer *p = arg;
	__u32 last[ONCE_SENDERS], m[2];
	unsigned int i;
	ssize_t n;

	for (i = 0; i < ONCE_SENDERS; i++)
		last[i] = ~0u;
	for (;;) {
		n = read(p->fd, m, sizeof(m));
		if (n == 0)
			return NULL;
		if (n != sizeof(m) || m[0] >= ONCE_SENDERS ||
		    m[1] >= ONCE_PER_SENDER ||
		    (last[m[0]] != ~0u && m[1] <= last[m[0]])) {
			p->bad++;
			continue;
		}
		last[m[0]] = m[1];
		__atomic_fetch_add(&p->seen[m[0] * ONCE_PER_SENDER + m[1]], 1,
				   __ATOMIC_RELAXED);
		p->got++;
	}
}

TEST(rendezvous_threads_get_each_message_once)
{
	static unsigned char seen[ONCE_SENDERS * ONCE_PER_SENDER];
	struct once_peer tx[ONCE_SENDERS], rx[ONCE_RECEIVERS];
	unsigned int i, got = 0, once = 0;
	struct kchan_stat st;
	int fd;

	fd = kt_make(0, MSG_MAX, 0, O_CLOEXEC);
	ASSERT_LE(0, fd);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < ONCE_RECEIVERS; i++) {
		rx[i] = (struct once_peer){ .fd = fd, .id = i, .seen = seen };
		ASSERT_EQ(0, -pthread_create(&rx[i].thread, NULL,
					     once_recv_thread, &rx[i]));
	}
	for (i = 0; i < ONCE_SENDERS; i++) {
		tx[i] = (struct once_peer){ .fd = fd, .id = i };
		ASSERT_EQ(0, -pthread_create(&tx[i].thread, NULL,
					     once_send_thread, &tx[i]));
	}
	for (i = 0; i < ONCE_SENDERS; i++) {
		pthread_join(tx[i].thread, NULL);
		EXPECT_EQ(0u, tx[i].bad);
	}
	ASSERT_EQ(0, ioctl(fd, KCHAN_IOC_CLOSE));
	for (i = 0; i < ONCE_RECEIVERS; i++) {
		pthread_join(rx[i].thread, NULL);
		EXPECT_EQ(0u, rx[i].bad);
		got += rx[i].got;
	}
	for (i = 0; i < ARRAY_SIZE(seen); i++)
		once += seen[i] == 1;
	EXPECT_EQ(ARRAY_SIZE(seen), got);
	EXPECT_EQ(ARRAY_SIZE(seen), once);
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ((__u64)ARRAY_SIZE(seen), st.sent);
	EXPECT_EQ((__u64)ARRAY_SIZE(seen), st.received);
	close(fd);
}

TEST_HARNESS_MAIN
