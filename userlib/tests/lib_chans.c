// SPDX-License-Identifier: GPL-2.0
/*
 * libkchan: channels in messages. kchan_send_chans()/kchan_recv_chans()
 * with deadlines, and KCHAN_SEND_CHANS/KCHAN_RECV_CHANS ops in
 * kchan_select() (channels alone, and mixed with other descriptors) and
 * in an armed select.
 */
#include "lib_test.h"

#define MSG_MAX		64

static struct kchan_chanref ref(int fd, unsigned int dir)
{
	return (struct kchan_chanref){ .fd = fd, .dir = dir };
}

/* A worker: each request carries its reply channel; answer on it. */
struct worker {
	int requests;
	int done;		/* the worker says goodbye on it */
	int served;
};

static void worker(void *arg)
{
	struct worker *w = arg;
	struct kchan_chanref reply;
	char buf[MSG_MAX];
	unsigned int n;
	ssize_t len;

	for (;;) {
		n = 1;
		len = kchan_recv_chans(w->requests, buf, sizeof(buf), &reply,
				       &n, 0, KCHAN_FOREVER);
		if (len <= 0 || n != 1)
			break;
		buf[0] ^= 0x20;		/* the answer: the request, capitalised */
		kchan_send(reply.fd, buf, len, KCHAN_FOREVER);
		close(reply.fd);
		w->served++;
	}
	kchan_send(w->done, "", 1, KCHAN_FOREVER);
}

TEST(a_request_carries_its_reply_channel)
{
	struct worker w = {
		.requests = kchan_make(0, MSG_MAX, KCHAN_CARRIER),
		.done = kchan_make(1, 1, 0),
	};
	int reply = kchan_make(1, MSG_MAX, 0), i;
	struct kchan_chanref out = ref(reply, KCHAN_DIR_SEND);
	char buf[MSG_MAX];

	ASSERT_LE(0, w.requests);
	ASSERT_LE(0, reply);
	ASSERT_LE(0, w.done);
	ASSERT_EQ(0, kchan_go(worker, &w));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(3, kchan_send_chans(w.requests, "abc", 3, &out, 1,
					      kchan_in(LT_WAIT_MS * LT_MS)));
		ASSERT_EQ(3, kchan_recv(reply, buf, sizeof(buf),
					kchan_in(LT_WAIT_MS * LT_MS)));
		EXPECT_EQ(0, memcmp(buf, "Abc", 3));
	}
	ASSERT_EQ(0, kchan_close(w.requests));
	ASSERT_EQ(1, kchan_recv(w.done, buf, 1, kchan_in(LT_WAIT_MS * LT_MS)));
	EXPECT_EQ(5, w.served);
	close(w.requests);
	close(w.done);
	close(reply);
}

TEST(recv_chans_honours_deadlines_and_reports_the_end)
{
	int c = kchan_make(1, MSG_MAX, KCHAN_CARRIER);
	struct kchan_chanref in[KCHAN_CHANS_MAX];
	unsigned int n = KCHAN_CHANS_MAX;
	char buf[MSG_MAX];

	ASSERT_LE(0, c);
	EXPECT_EQ(-EAGAIN, kchan_recv_chans(c, buf, sizeof(buf), in, &n, 0, 0));
	EXPECT_EQ(0u, n);
	n = KCHAN_CHANS_MAX;
	EXPECT_EQ(-ETIMEDOUT, kchan_recv_chans(c, buf, sizeof(buf), in, &n, 0,
					       kchan_in(20 * LT_MS)));
	ASSERT_EQ(0, kchan_close(c));
	n = KCHAN_CHANS_MAX;
	EXPECT_EQ(0, kchan_recv_chans(c, buf, sizeof(buf), in, &n, 0,
				      KCHAN_FOREVER));
	EXPECT_EQ(0u, n);
	close(c);
}

TEST(send_chans_refuses_what_cannot_be_carried)
{
	int c = kchan_make(2, MSG_MAX, KCHAN_CARRIER);
	int plain = kchan_make(2, MSG_MAX, 0);
	struct kchan_chanref out[KCHAN_CHANS_MAX + 1];
	unsigned int i, n = KCHAN_CHANS_MAX + 1;
	char buf[MSG_MAX];
	int p[2];

	ASSERT_LE(0, c);
	ASSERT_LE(0, plain);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	for (i = 0; i <= KCHAN_CHANS_MAX; i++)
		out[i] = ref(plain, 0);
	EXPECT_EQ(-EINVAL, kchan_send_chans(c, "x", 1, out,
					    KCHAN_CHANS_MAX + 1, 0));
	EXPECT_EQ(-EINVAL, kchan_recv_chans(c, buf, sizeof(buf), out, &n, 0, 0));
	EXPECT_EQ(-EINVAL, kchan_send_chans(plain, "x", 1, out, 1, 0));
	out[0] = ref(c, 0);
	EXPECT_EQ(-EINVAL, kchan_send_chans(c, "x", 1, out, 1, 0));
	out[0] = ref(p[1], 0);
	EXPECT_EQ(-EINVAL, kchan_send_chans(c, "x", 1, out, 1, 0));
	EXPECT_EQ(0u, lt_stat(c).queued);
	close(p[0]);
	close(p[1]);
	close(c);
	close(plain);
}

/*
 * kchan_select() with a KCHAN_RECV_CHANS op next to a pipe: the mixed
 * path (an armed select file in epoll or io_uring) carries channels too.
 */
TEST(select_ops_carry_channels_alone_and_mixed)
{
	int c = kchan_make(1, MSG_MAX, KCHAN_CARRIER);
	int n = kchan_make(1, MSG_MAX, 0);
	struct kchan_chanref out = ref(n, KCHAN_DIR_RECV), in;
	char buf[MSG_MAX], pbuf[8];
	struct kchan_msghdr sh = {
		.buf = (uintptr_t)"sel", .len = 3,
		.chans = (uintptr_t)&out, .nchans = 1,
	};
	struct kchan_msghdr rh = {
		.buf = (uintptr_t)buf, .len = sizeof(buf),
		.chans = (uintptr_t)&in, .nchans = 1,
	};
	struct kchan_op send_op[] = {
		{ .fd = c, .kind = KCHAN_SEND_CHANS, .buf = &sh, .len = sizeof(sh) },
	};
	struct kchan_op ops[] = {
		{ .fd = -1, .kind = KCHAN_RECV, .buf = pbuf, .len = sizeof(pbuf) },
		{ .fd = c, .kind = KCHAN_RECV_CHANS, .buf = &rh, .len = sizeof(rh) },
	};
	int p[2];

	ASSERT_LE(0, c);
	ASSERT_LE(0, n);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ops[0].fd = p[0];

	/* Channels alone: one kernel select. */
	ASSERT_EQ(0, kchan_select(send_op, 1, 0, 0));
	EXPECT_EQ(3, send_op[0].result);
	/* Mixed with a pipe. */
	ASSERT_EQ(1, kchan_select(ops, 2, 0, kchan_in(LT_WAIT_MS * LT_MS)));
	EXPECT_EQ(3, ops[1].result);
	ASSERT_EQ(1u, rh.nchans);
	EXPECT_EQ(KCHAN_DIR_RECV, in.dir);
	EXPECT_EQ(1, kchan_send(n, "z", 1, 0));
	EXPECT_EQ(1, kchan_recv(in.fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-EBADF, kchan_send(in.fd, "z", 1, 0));
	close(in.fd);

	/* Only channels carry channels, in a mixed select too. */
	ops[1].fd = p[1];
	EXPECT_EQ(-EINVAL, kchan_select(ops, 2, 0, 0));
	EXPECT_EQ(-EINVAL, ops[1].result);
	close(p[0]);
	close(p[1]);
	close(c);
	close(n);
}

TEST(an_armed_select_collects_channels)
{
	int c = kchan_make(1, MSG_MAX, KCHAN_CARRIER);
	int n = kchan_make(1, MSG_MAX, 0), sfd;
	struct kchan_chanref out = ref(n, 0), in;
	char buf[MSG_MAX];
	struct kchan_msghdr rh = {
		.buf = (uintptr_t)buf, .len = sizeof(buf),
		.chans = (uintptr_t)&in, .nchans = 1,
	};
	struct kchan_op ops[] = {
		{ .fd = c, .kind = KCHAN_RECV_CHANS, .buf = &rh, .len = sizeof(rh) },
	};

	ASSERT_LE(0, c);
	ASSERT_LE(0, n);
	sfd = kchan_sel_open(0);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, kchan_sel_arm(sfd, ops, 1, 0));
	ASSERT_EQ(2, kchan_send_chans(c, "hi", 2, &out, 1, 0));
	ASSERT_EQ(0, kchan_sel_collect(sfd, ops, 1));
	EXPECT_EQ(2, ops[0].result);
	ASSERT_EQ(1u, rh.nchans);
	EXPECT_EQ(KCHAN_DIR_ALL, in.dir);
	EXPECT_EQ(1, kchan_send(in.fd, "q", 1, 0));
	EXPECT_EQ(1, kchan_recv(n, buf, sizeof(buf), 0));
	close(in.fd);
	close(sfd);
	close(c);
	close(n);
}

TEST_HARNESS_MAIN
