// SPDX-License-Identifier: GPL-2.0
/*
 * Batches: KCHAN_IOC_SEND_BATCH and KCHAN_IOC_RECV_BATCH move many whole
 * messages per call, each by the rules of a single send or receive: order,
 * blocking, what a failure leaves behind, signals, and the wake-ups of
 * exclusive pollers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kt.h"
#include "kt_bg.h"
#include "kt_fault.h"
#include "kt_harness.h"

#define MSG_MAX		64
#define CAPACITY	4u
#define SET_MAX		KCHAN_BATCH_MAX
#define NR_POLLERS	16	/* exclusive pollers, of which... */
#define NR_WOKEN	4	/* ...a batch of this many wakes as many */
#define POLL_SETTLE_MS	400	/* for a wrongly woken one to show */

#define KT_CHAN_FIXTURE
#include "kt_fixture.h"

/* A batch's messages or buffers, and the memory they point into. */
struct set {
	struct kchan_mmsg m[SET_MAX];
	unsigned char buf[SET_MAX][MSG_MAX];
};

static size_t len_of(unsigned int i)
{
	return 1 + (i * 13) % MSG_MAX;
}

/* Messages seed0 + i, i < n: len_of(seed0 + i) bytes of kt_fill(). */
static struct set *msgs(unsigned int n, unsigned int seed0)
{
	struct set *s = calloc(1, sizeof(*s));
	unsigned int i;

	for (i = 0; s && i < n; i++) {
		kt_fill(s->buf[i], len_of(seed0 + i), seed0 + i);
		s->m[i].buf = (uintptr_t)s->buf[i];
		s->m[i].len = len_of(seed0 + i);
	}
	return s;
}

/* n receive buffers of @room bytes each. */
static struct set *rooms(unsigned int n, size_t room)
{
	struct set *s = calloc(1, sizeof(*s));
	unsigned int i;

	for (i = 0; s && i < n; i++) {
		s->m[i].buf = (uintptr_t)s->buf[i];
		s->m[i].len = room;
	}
	return s;
}

/* Did @s receive messages seed0 + i, i < n, whole and in order? */
static bool received(const struct set *s, unsigned int n, unsigned int seed0)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (s->m[i].len != len_of(seed0 + i) ||
		    !kt_check(s->buf[i], s->m[i].len, seed0 + i))
			return false;
	return true;
}

static long batch(int fd, unsigned long cmd, struct kchan_mmsg *m,
		  unsigned int n, unsigned int flags)
{
	struct kchan_batch b = {
		.msgs = (uintptr_t)m, .nmsgs = n, .flags = flags,
	};
	long ret = ioctl(fd, cmd, &b);

	return ret < 0 ? -errno : ret;
}

static long send_batch(int fd, struct set *s, unsigned int n)
{
	return batch(fd, KCHAN_IOC_SEND_BATCH, s->m, n, 0);
}

static long recv_batch(int fd, struct set *s, unsigned int n)
{
	return batch(fd, KCHAN_IOC_RECV_BATCH, s->m, n, 0);
}

/* Blocking single receives, checking messages seed0 + i, i < n. */
static bool read_in_order(int fd, unsigned int n, unsigned int seed0)
{
	unsigned char buf[MSG_MAX];
	unsigned int i;

	for (i = 0; i < n; i++)
		if (kt_recv(fd, buf, sizeof(buf)) !=
		    (ssize_t)len_of(seed0 + i) ||
		    !kt_check(buf, len_of(seed0 + i), seed0 + i))
			return false;
	return true;
}

TEST(the_batch_feature_is_reported)
{
	struct kchan_version v;

	ASSERT_EQ(0, kt_version(&v));
	EXPECT_TRUE((v.features & KCHAN_FEATURE_BATCH) != 0);
}

TEST(a_batch_is_sent_and_received_whole_and_in_order)
{
	struct set *out = msgs(40, 0), *in = rooms(64, MSG_MAX);
	struct kchan_stat st;
	int fd = kchan_make(64, MSG_MAX, 0);

	ASSERT_LE(0, fd);
	ASSERT_TRUE(out && in);
	ASSERT_EQ(40, send_batch(fd, out, 40));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(40u, st.queued);
	EXPECT_EQ(40u, st.sent);
	/* It takes what is there, without waiting for all 64. */
	ASSERT_EQ(40, recv_batch(fd, in, 64));
	EXPECT_TRUE(received(in, 40, 0));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(0u, st.queued);
	EXPECT_EQ(40u, st.received);
	free(out);
	free(in);
	close(fd);
}

TEST(the_largest_batch_moves_in_one_call_each_way)
{
	struct set *out = msgs(SET_MAX, 7), *in = rooms(SET_MAX, MSG_MAX);
	int fd = kchan_make(SET_MAX, MSG_MAX, 0);

	ASSERT_LE(0, fd);
	ASSERT_TRUE(out && in);
	ASSERT_EQ(SET_MAX, send_batch(fd, out, SET_MAX));
	ASSERT_EQ(SET_MAX, recv_batch(fd, in, SET_MAX));
	EXPECT_TRUE(received(in, SET_MAX, 7));
	free(out);
	free(in);
	close(fd);
}

TEST_F(chan, a_batch_crosses_to_single_receives_and_back)
{
	struct set *out = msgs(20, 100);
	struct kt_feeder f;
	size_t lens[20];
	unsigned int got = 0, i;
	struct kt_op b;
	long n;

	ASSERT_NE(NULL, out);
	/* Batch send, single receives. */
	ASSERT_EQ(0, kt_op_batch(&b, self->fd, KT_SEND_BATCH, out->m, 20));
	EXPECT_TRUE(read_in_order(self->fd, 20, 100));
	ASSERT_EQ(20, kt_op_result(&b));

	/* Single sends, batch receives (rendezvous: one sender at a time). */
	for (i = 0; i < 20; i++)
		lens[i] = len_of(200 + i);
	ASSERT_EQ(0, kt_feeder_start(&f, self->fd, 20, lens, 200));
	while (got < 20) {
		struct set *part = rooms(20 - got, MSG_MAX);

		ASSERT_NE(NULL, part);
		n = recv_batch(self->fd, part, 20 - got);
		ASSERT_LT(0, n);
		EXPECT_TRUE(received(part, n, 200 + got));
		got += n;
		free(part);
	}
	ASSERT_EQ(0, kt_feeder_finish(&f));
	free(out);
}

TEST_F(chan, a_batch_meets_a_batch)
{
	struct set *out = msgs(100, 3), *in = rooms(100, MSG_MAX);
	unsigned int got = 0;
	struct kt_op b;
	long n;

	ASSERT_TRUE(out && in);
	ASSERT_EQ(0, kt_op_batch(&b, self->fd, KT_SEND_BATCH, out->m, 100));
	while (got < 100) {
		n = batch(self->fd, KCHAN_IOC_RECV_BATCH, in->m + got,
			  100 - got, 0);
		ASSERT_LT(0, n);
		got += n;
	}
	EXPECT_TRUE(received(in, 100, 3));
	ASSERT_EQ(100, kt_op_result(&b));
	free(out);
	free(in);
}

TEST_F(chan, a_receive_batch_waits_for_its_first_message)
{
	struct set *in = rooms(8, MSG_MAX);
	unsigned char msg[5];
	struct kt_op b;

	ASSERT_NE(NULL, in);
	ASSERT_EQ(0, kt_op_batch(&b, self->fd, KT_RECV_BATCH, in->m, 8));
	ASSERT_EQ(0, kt_wait_for(self->fd, receivers, 1));
	EXPECT_FALSE(kt_op_done(&b));
	kt_fill(msg, sizeof(msg), 9);
	ASSERT_EQ((ssize_t)sizeof(msg), kt_send(self->fd, msg, sizeof(msg)));
	ASSERT_EQ(1, kt_op_result(&b));
	EXPECT_EQ(sizeof(msg), in->m[0].len);
	EXPECT_TRUE(kt_check(in->buf[0], sizeof(msg), 9));
	free(in);
}

TEST_F(chan, a_receive_batch_that_may_not_wait_fails_with_eagain)
{
	struct set *in = rooms(4, MSG_MAX);

	ASSERT_NE(NULL, in);
	EXPECT_EQ(-EAGAIN, batch(self->fd, KCHAN_IOC_RECV_BATCH, in->m, 4,
				 KCHAN_BATCH_NONBLOCK));
	ASSERT_EQ(0, kt_set_nonblock(self->fd, true));
	EXPECT_EQ(-EAGAIN, recv_batch(self->fd, in, 4));
	free(in);
}

TEST_F(chan, a_send_batch_that_may_not_wait_sends_what_it_can)
{
	struct set *out = msgs(10, 0);
	unsigned char buf[MSG_MAX];
	struct kt_op rd;

	ASSERT_NE(NULL, out);
	if (variant->capacity) {
		/* Room for CAPACITY: those go, the rest stay with us. */
		EXPECT_EQ(CAPACITY, batch(self->fd, KCHAN_IOC_SEND_BATCH,
					  out->m, 10, KCHAN_BATCH_NONBLOCK));
		EXPECT_EQ(-EAGAIN, batch(self->fd, KCHAN_IOC_SEND_BATCH,
					 out->m + CAPACITY, 10 - CAPACITY,
					 KCHAN_BATCH_NONBLOCK));
		EXPECT_TRUE(read_in_order(self->fd, CAPACITY, 0));
	} else {
		/* Nobody receiving: nothing goes. */
		EXPECT_EQ(-EAGAIN, batch(self->fd, KCHAN_IOC_SEND_BATCH,
					 out->m, 10, KCHAN_BATCH_NONBLOCK));
		/* One committed receiver: one message goes. */
		ASSERT_EQ(0, kt_op_recv(&rd, self->fd, buf, sizeof(buf)));
		ASSERT_EQ(0, kt_wait_for(self->fd, receivers, 1));
		ASSERT_EQ(0, kt_set_nonblock(self->fd, true));
		EXPECT_EQ(1, send_batch(self->fd, out, 10));
		ASSERT_EQ((ssize_t)len_of(0), kt_op_result(&rd));
		EXPECT_TRUE(kt_check(buf, len_of(0), 0));
	}
	free(out);
}

/*
 * The bad descriptor is the last of a batch longer than one run of the
 * kernel's, and the calls may not wait: without the check up front, the
 * first run would be sent (or fail with EAGAIN) before it was seen.
 */
TEST_F(chan, every_length_is_checked_before_anything_is_sent)
{
	const unsigned int n = 40, last = n - 1;
	struct set *out = msgs(n, 0);

	ASSERT_NE(NULL, out);
	out->m[last].len = 0;
	EXPECT_EQ(-EINVAL, batch(self->fd, KCHAN_IOC_SEND_BATCH, out->m, n,
				 KCHAN_BATCH_NONBLOCK));
	out->m[last].len = MSG_MAX + 1;
	EXPECT_EQ(-EMSGSIZE, batch(self->fd, KCHAN_IOC_SEND_BATCH, out->m, n,
				   KCHAN_BATCH_NONBLOCK));
	out->m[last].len = 1;
	out->m[last].reserved = 1;
	EXPECT_EQ(-EINVAL, batch(self->fd, KCHAN_IOC_SEND_BATCH, out->m, n,
				 KCHAN_BATCH_NONBLOCK));
	kt_expect_nothing_sent(_metadata, self->fd);
	free(out);
}

TEST_F(chan, a_bad_batch_request_is_refused)
{
	static const unsigned long cmds[] = {
		KCHAN_IOC_SEND_BATCH, KCHAN_IOC_RECV_BATCH,
	};
	struct set *s = msgs(2, 0);
	void *bad = kt_bad_mem(1);
	struct kchan_batch b;
	unsigned int i, r;

	ASSERT_TRUE(s && bad);
	for (i = 0; i < 2; i++) {
		unsigned long cmd = cmds[i];

		EXPECT_EQ(-EINVAL, batch(self->fd, cmd, s->m, 0, 0));
		EXPECT_EQ(-EINVAL, batch(self->fd, cmd, s->m,
					 KCHAN_BATCH_MAX + 1, 0));
		EXPECT_EQ(-EINVAL, batch(self->fd, cmd, s->m, 2, 1u << 7));
		for (r = 0; r < 2; r++) {
			memset(&b, 0, sizeof(b));
			b.msgs = (uintptr_t)s->m;
			b.nmsgs = 2;
			b.reserved[r] = 1;
			EXPECT_EQ(-1, ioctl(self->fd, cmd, &b));
			EXPECT_EQ(EINVAL, errno);
		}
		EXPECT_EQ(-EFAULT, batch(self->fd, cmd, bad, 2, 0));
		EXPECT_EQ(-1, ioctl(self->fd, cmd, bad));
		EXPECT_EQ(EFAULT, errno);
	}
	/* A receive buffer of no bytes could hold no message. */
	s->m[1].len = 0;
	EXPECT_EQ(-EINVAL, recv_batch(self->fd, s, 2));
	free(s);
}

TEST_F(named, batches_need_the_right_direction)
{
	struct set *s = msgs(2, 0), *in = rooms(2, MSG_MAX);
	int rd, wr;

	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, in);
	ASSERT_EQ(0, kchan_create(self->name, 4, MSG_MAX, 0600, 0));
	self->created = true;
	rd = open(self->path, O_RDONLY | O_CLOEXEC);
	wr = open(self->path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, rd);
	ASSERT_LE(0, wr);
	EXPECT_EQ(-EBADF, send_batch(rd, s, 2));
	EXPECT_EQ(-EBADF, recv_batch(wr, s, 2));
	EXPECT_EQ(2, send_batch(wr, s, 2));
	EXPECT_EQ(2, recv_batch(rd, in, 2));
	EXPECT_TRUE(received(in, 2, 0));
	close(rd);
	close(wr);
	free(s);
	free(in);
}

TEST(a_send_batch_stops_at_a_bad_buffer_and_reports_what_it_sent)
{
	struct set *out = msgs(6, 0);
	void *bad = kt_bad_mem(1);
	struct kchan_stat st;
	int fd = kchan_make(64, MSG_MAX, 0);

	ASSERT_LE(0, fd);
	ASSERT_TRUE(out && bad);
	out->m[3].buf = (uintptr_t)bad;
	EXPECT_EQ(3, send_batch(fd, out, 6));
	/* The next call starts at the bad one and reports it. */
	EXPECT_EQ(-EFAULT, batch(fd, KCHAN_IOC_SEND_BATCH, out->m + 3, 3, 0));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(3u, st.sent);
	EXPECT_EQ(3u, st.queued);
	EXPECT_TRUE(read_in_order(fd, 3, 0));
	free(out);
	close(fd);
}

TEST(a_message_that_does_not_fit_stops_the_batch_and_stays)
{
	struct set *out = msgs(4, 0), *in = rooms(4, 8);
	unsigned char buf[MSG_MAX];
	int fd = kchan_make(8, MSG_MAX, 0);
	unsigned int i;

	ASSERT_LE(0, fd);
	ASSERT_TRUE(out && in);
	for (i = 0; i < 4; i++) {
		out->m[i].len = i == 2 ? 40 : 4;
		kt_fill(out->buf[i], out->m[i].len, i);
	}
	ASSERT_EQ(4, send_batch(fd, out, 4));
	EXPECT_EQ(2, recv_batch(fd, in, 4));
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(4u, in->m[i].len);
		EXPECT_TRUE(kt_check(in->buf[i], 4, i));
	}
	EXPECT_EQ(40, kt_next_len(fd));
	/* Fresh buffers of 8: the received lengths overwrote the rooms. */
	free(in);
	in = rooms(4, 8);
	ASSERT_NE(NULL, in);
	EXPECT_EQ(-EMSGSIZE, recv_batch(fd, in, 4));
	EXPECT_EQ(40, kt_next_len(fd));
	ASSERT_EQ(40, kt_recv(fd, buf, sizeof(buf)));
	EXPECT_TRUE(kt_check(buf, 40, 2));
	ASSERT_EQ(1, recv_batch(fd, in, 4));
	EXPECT_EQ(4u, in->m[0].len);
	EXPECT_TRUE(kt_check(in->buf[0], 4, 3));
	free(out);
	free(in);
	close(fd);
}

TEST(a_failed_copy_stops_the_batch_and_loses_nothing)
{
	struct set *out = msgs(4, 0), *in = rooms(4, MSG_MAX);
	long pg = sysconf(_SC_PAGESIZE);
	void *bad = kt_bad_mem(1);
	struct kchan_mmsg *ro;
	struct kchan_stat st;
	int fd = kchan_make(8, MSG_MAX, 0);

	ASSERT_LE(0, fd);
	ASSERT_TRUE(out && in && bad);
	ASSERT_EQ(4, send_batch(fd, out, 4));

	/* Buffer 1 faults: message 0 is received, 1..3 stay, in order. */
	in->m[1].buf = (uintptr_t)bad;
	EXPECT_EQ(1, recv_batch(fd, in, 4));
	EXPECT_TRUE(received(in, 1, 0));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(1u, st.received);
	EXPECT_EQ(3u, st.queued);

	/*
	 * Descriptors the kernel cannot write the lengths into: the copy of
	 * the data succeeded, but a message whose length cannot be reported
	 * is not received.
	 */
	ro = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ro[0].buf = (uintptr_t)in->buf[0];
	ro[0].len = MSG_MAX;
	ASSERT_EQ(0, mprotect(ro, pg, PROT_READ));
	EXPECT_EQ(-EFAULT, batch(fd, KCHAN_IOC_RECV_BATCH, ro, 1, 0));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(1u, st.received);
	EXPECT_EQ(3u, st.queued);

	EXPECT_TRUE(read_in_order(fd, 3, 1));
	munmap(ro, pg);
	free(out);
	free(in);
	close(fd);
}

TEST(a_receive_batch_makes_room_for_blocked_senders_and_takes_theirs)
{
	struct set *out = msgs(CAPACITY, 0), *in = rooms(8, MSG_MAX);
	unsigned char extra[MSG_MAX];
	struct kt_op wr;
	int fd = kchan_make(CAPACITY, MSG_MAX, 0);

	ASSERT_LE(0, fd);
	ASSERT_TRUE(out && in);
	ASSERT_EQ(CAPACITY, send_batch(fd, out, CAPACITY));
	kt_fill(extra, len_of(CAPACITY), CAPACITY);
	ASSERT_EQ(0, kt_op_send(&wr, fd, extra, len_of(CAPACITY)));
	ASSERT_EQ(0, kt_wait_for(fd, senders, 1));
	EXPECT_EQ(CAPACITY + 1, recv_batch(fd, in, 8));
	EXPECT_TRUE(received(in, CAPACITY + 1, 0));
	EXPECT_EQ((ssize_t)len_of(CAPACITY), kt_op_result(&wr));
	free(out);
	free(in);
	close(fd);
}

TEST_F(chan, a_closed_channel_drains_into_a_batch_then_gives_eof)
{
	struct set *out = msgs(3, 0), *in = rooms(8, MSG_MAX);

	ASSERT_TRUE(out && in);
	if (variant->capacity) {
		ASSERT_EQ(3, send_batch(self->fd, out, 3));
	}
	ASSERT_EQ(0, kchan_close(self->fd));
	EXPECT_EQ(-EPIPE, send_batch(self->fd, out, 3));
	if (variant->capacity) {
		EXPECT_EQ(3, recv_batch(self->fd, in, 8));
		EXPECT_TRUE(received(in, 3, 0));
	}
	EXPECT_EQ(0, recv_batch(self->fd, in, 8));
	EXPECT_EQ(0, recv_batch(self->fd, in, 8));
	free(out);
	free(in);
}

TEST_F(chan, a_close_stops_a_blocked_send_batch_after_what_it_sent)
{
	struct set *out = msgs(CAPACITY + 3, 0);
	unsigned int queued = variant->capacity ? CAPACITY : 0;
	struct kt_op b;

	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, kt_op_batch(&b, self->fd, KT_SEND_BATCH, out->m,
			      CAPACITY + 3));
	ASSERT_EQ(0, kt_wait_for(self->fd, senders, 1));
	ASSERT_EQ(0, kchan_close(self->fd));
	/* Buffered: the ones that fit were sent; rendezvous: none was. */
	if (queued) {
		EXPECT_EQ(queued, kt_op_result(&b));
	} else {
		EXPECT_EQ(-EPIPE, kt_op_result(&b));
	}
	EXPECT_TRUE(read_in_order(self->fd, queued, 0));
	EXPECT_EQ(0, kt_recv(self->fd, out->buf[0], MSG_MAX));
	free(out);
}

TEST(a_signal_after_some_messages_returns_their_count)
{
	struct set *out = msgs(3, 0);
	struct kchan_stat st;
	struct kt_op b;
	int fd = kchan_make(0, MSG_MAX, 0);

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, kt_catch(SIGUSR1, false));
	ASSERT_EQ(0, kt_op_batch(&b, fd, KT_SEND_BATCH, out->m, 3));
	EXPECT_TRUE(read_in_order(fd, 1, 0));
	/* Message 1 is offered: the sender is blocked in the batch. */
	ASSERT_EQ(0, kt_wait_for(fd, senders, 1));
	ASSERT_EQ(0, kt_wait_sleeping_in(b.tid, SYS_ioctl, KT_TIMEOUT_MS));
	ASSERT_EQ(0, pthread_kill(b.thread, SIGUSR1));
	EXPECT_EQ(1, kt_op_result(&b));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(1u, st.sent);
	EXPECT_EQ(0u, st.senders);
	kt_expect_empty(_metadata, fd);
	free(out);
	close(fd);
}

TEST(a_signal_before_any_message_fails_or_restarts_the_batch)
{
	struct set *out = msgs(2, 0), *in = rooms(2, MSG_MAX);
	struct kchan_stat st;
	unsigned int seen;
	struct kt_op b;
	int fd = kchan_make(0, MSG_MAX, 0);

	ASSERT_LE(0, fd);
	ASSERT_TRUE(out && in);

	/* Without SA_RESTART: EINTR, nothing sent. */
	ASSERT_EQ(0, kt_catch(SIGUSR1, false));
	ASSERT_EQ(0, kt_op_batch(&b, fd, KT_SEND_BATCH, out->m, 2));
	ASSERT_EQ(0, kt_wait_for(fd, senders, 1));
	ASSERT_EQ(0, kt_wait_sleeping_in(b.tid, SYS_ioctl, KT_TIMEOUT_MS));
	ASSERT_EQ(0, pthread_kill(b.thread, SIGUSR1));
	EXPECT_EQ(-EINTR, kt_op_result(&b));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(0u, st.sent);
	/* Not left offered either: no receiver finds it. */
	EXPECT_EQ(0u, st.senders);
	EXPECT_EQ(0u, st.queued);
	kt_expect_empty(_metadata, fd);
	ASSERT_EQ(0, kt_set_nonblock(fd, false));

	/*
	 * With SA_RESTART: the batch goes on as if nothing happened. Once
	 * the signal was handled, the receive is waiting again, so a send
	 * that may not wait finds it.
	 */
	ASSERT_EQ(0, kt_catch(SIGUSR1, true));
	ASSERT_EQ(0, kt_op_batch(&b, fd, KT_RECV_BATCH, in->m, 2));
	ASSERT_EQ(0, kt_wait_for(fd, receivers, 1));
	ASSERT_EQ(0, kt_wait_sleeping_in(b.tid, SYS_ioctl, KT_TIMEOUT_MS));
	seen = atomic_load(&kt_signals_handled);
	ASSERT_EQ(0, pthread_kill(b.thread, SIGUSR1));
	ASSERT_EQ(0, kt_wait_signals(seen));
	EXPECT_FALSE(kt_op_done(&b));
	ASSERT_EQ(0, kt_wait_for(fd, receivers, 1));
	ASSERT_EQ(1, batch(fd, KCHAN_IOC_SEND_BATCH, out->m, 1,
			   KCHAN_BATCH_NONBLOCK));
	EXPECT_EQ(1, kt_op_result(&b));
	EXPECT_TRUE(received(in, 1, 0));
	free(out);
	free(in);
	close(fd);
}

/* A thread in epoll_wait() on its own EPOLLEXCLUSIVE epoll of a channel. */
struct poller {
	int ep;
	pid_t tid;
	atomic_int woken;	/* epoll_wait returned an event */
	pthread_t thread;
};

static void *poller_main(void *arg)
{
	struct poller *p = arg;
	struct epoll_event ev;

	__atomic_store_n(&p->tid, kt_gettid(), __ATOMIC_RELEASE);
	if (epoll_wait(p->ep, &ev, 1, KT_TIMEOUT_MS) == 1)
		atomic_store(&p->woken, 1);
	return NULL;
}

/*
 * NR_POLLERS threads, each asleep in epoll_wait() on its own epoll holding
 * @fd with EPOLLEXCLUSIVE | @events.
 */
static void pollers_start(struct __test_metadata *_metadata,
			  struct poller *p, int fd, unsigned int events)
{
	struct epoll_event ev = { .events = events | EPOLLEXCLUSIVE };
	unsigned int i;

	for (i = 0; i < NR_POLLERS; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].ep = epoll_create1(EPOLL_CLOEXEC);
		ASSERT_LE(0, p[i].ep);
		ASSERT_EQ(0, epoll_ctl(p[i].ep, EPOLL_CTL_ADD, fd, &ev));
		ASSERT_EQ(0, pthread_create(&p[i].thread, NULL, poller_main,
					    &p[i]));
	}
	for (i = 0; i < NR_POLLERS; i++) {
		while (!__atomic_load_n(&p[i].tid, __ATOMIC_ACQUIRE))
			usleep(1000);
		ASSERT_EQ(0, kt_wait_sleeping_in(p[i].tid, SYS_epoll_wait,
						 KT_TIMEOUT_MS));
	}
}

static unsigned int pollers_done(struct poller *p)
{
	unsigned int i, n = 0;

	for (i = 0; i < NR_POLLERS; i++)
		n += atomic_load(&p[i].woken);
	return n;
}

/*
 * How many pollers woke: counted once the first has (however slow the
 * machine) and POLL_SETTLE_MS later, time for any extra one to wake.
 * Then the channel is closed, which wakes the rest, and all are joined.
 */
static unsigned int pollers_finish(struct poller *p, int fd)
{
	uint64_t deadline = kt_now_ns() + KT_TIMEOUT_MS * 1000000ull;
	unsigned int i, woken;

	while (!pollers_done(p) && kt_now_ns() < deadline)
		usleep(1000);
	kt_sleep_ms(POLL_SETTLE_MS);
	woken = pollers_done(p);
	kchan_close(fd);
	for (i = 0; i < NR_POLLERS; i++) {
		pthread_join(p[i].thread, NULL);
		close(p[i].ep);
	}
	return woken;
}

/*
 * NR_WOKEN messages in one call, NR_POLLERS exclusive pollers: exactly
 * NR_WOKEN wake, one per message (not one per call, not all).
 */
TEST(a_send_batch_wakes_one_exclusive_poller_per_message)
{
	struct poller p[NR_POLLERS];
	struct set *out = msgs(NR_WOKEN, 0);
	int fd = kt_make(64, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, out);
	pollers_start(_metadata, p, fd, EPOLLIN);
	ASSERT_EQ(NR_WOKEN, send_batch(fd, out, NR_WOKEN));
	EXPECT_EQ((unsigned int)NR_WOKEN, pollers_finish(p, fd));
	free(out);
	close(fd);
}

/* The same for the slots a receive batch frees. */
TEST(a_receive_batch_wakes_one_exclusive_poller_per_slot)
{
	struct poller p[NR_POLLERS];
	struct set *out = msgs(NR_WOKEN, 0), *in = rooms(NR_WOKEN, MSG_MAX);
	int fd = kt_make(NR_WOKEN, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	ASSERT_EQ(NR_WOKEN, send_batch(fd, out, NR_WOKEN));
	pollers_start(_metadata, p, fd, EPOLLOUT);
	ASSERT_EQ(NR_WOKEN, recv_batch(fd, in, NR_WOKEN));
	EXPECT_EQ((unsigned int)NR_WOKEN, pollers_finish(p, fd));
	free(out);
	free(in);
	close(fd);
}

/*
 * Batches from several threads at once, both ways, with signals (no
 * SA_RESTART) cutting calls short: every message a send batch reported
 * sent is received exactly once, each sender's messages in order, and
 * nothing else arrives.
 */
#define STORM_SENDERS	3
#define STORM_RECEIVERS	3
#define STORM_PER_SENDER 1500
#define STORM_BATCH	16

struct storm_tag {
	uint32_t sender;
	uint32_t seq;
};

struct storm {
	int fd;
	atomic_int senders_left;
	atomic_long calls, eintr, short_sends;
	atomic_int err;		/* an unexpected errno, 0 if none */
	pthread_t snd[STORM_SENDERS], rcv[STORM_RECEIVERS];
	/* receiver r's log: every tag it got, in order */
	struct storm_tag *log[STORM_RECEIVERS];
	unsigned int logged[STORM_RECEIVERS];
};

struct storm_arg {
	struct storm *st;
	unsigned int id;
};

/* Message @seq of @sender: its tag, then bytes that depend on both. */
static size_t storm_msg(unsigned char *buf, uint32_t sender, uint32_t seq)
{
	struct storm_tag tag = { sender, seq };
	size_t len = sizeof(tag) + (seq * 7 + sender) % (MSG_MAX - sizeof(tag));

	memcpy(buf, &tag, sizeof(tag));
	kt_fill(buf + sizeof(tag), len - sizeof(tag), seq ^ sender);
	return len;
}

/*
 * One batch call of @k messages by a storm worker, counted. Returns what
 * the call did: -EINTR (nothing moved), -errno (recorded in st->err; also
 * -EIO for an impossible count), or how many moved, fewer than @k for a
 * send only if a signal cut it short.
 */
static long storm_call(struct storm *st, unsigned long cmd,
		       struct kchan_mmsg *m, unsigned int k)
{
	bool send = cmd == KCHAN_IOC_SEND_BATCH;
	long ret = batch(st->fd, cmd, m, k, 0);

	atomic_fetch_add(&st->calls, 1);
	if (ret > (long)k || (!ret && send))
		ret = -EIO;
	if (ret == -EINTR)
		atomic_fetch_add(&st->eintr, 1);
	else if (ret < 0)
		atomic_store(&st->err, (int)-ret);
	else if (send && ret < (long)k)
		atomic_fetch_add(&st->short_sends, 1);
	return ret;
}

static void *storm_sender(void *arg)
{
	struct storm_arg *a = arg;
	struct storm *st = a->st;
	unsigned char buf[STORM_BATCH][MSG_MAX];
	struct kchan_mmsg m[STORM_BATCH];
	uint32_t seq = 0, k, i;
	long ret;

	while (seq < STORM_PER_SENDER) {
		k = 1 + (seq * 5 + a->id) % STORM_BATCH;
		if (k > STORM_PER_SENDER - seq)
			k = STORM_PER_SENDER - seq;
		for (i = 0; i < k; i++) {
			m[i].buf = (uintptr_t)buf[i];
			m[i].len = storm_msg(buf[i], a->id, seq + i);
			m[i].reserved = 0;
		}
		ret = storm_call(st, KCHAN_IOC_SEND_BATCH, m, k);
		if (ret == -EINTR)
			continue;	/* nothing was sent: the same again */
		if (ret < 0)
			break;
		seq += ret;
	}
	atomic_fetch_sub(&st->senders_left, 1);
	return NULL;
}

static void *storm_receiver(void *arg)
{
	struct storm_arg *a = arg;
	struct storm *st = a->st;
	unsigned char buf[STORM_BATCH][MSG_MAX];
	struct kchan_mmsg m[STORM_BATCH];
	unsigned int i, max = STORM_SENDERS * STORM_PER_SENDER;
	long ret;

	for (;;) {
		for (i = 0; i < STORM_BATCH; i++) {
			m[i].buf = (uintptr_t)buf[i];
			m[i].len = MSG_MAX;
			m[i].reserved = 0;
		}
		ret = storm_call(st, KCHAN_IOC_RECV_BATCH, m, STORM_BATCH);
		if (ret == -EINTR)
			continue;
		if (ret <= 0)
			break;	/* closed and drained, or failed */
		for (i = 0; i < ret && st->logged[a->id] < max; i++) {
			unsigned char want[MSG_MAX];
			struct storm_tag tag;
			size_t len;

			memcpy(&tag, buf[i], sizeof(tag));
			len = storm_msg(want, tag.sender, tag.seq);
			if (m[i].len != len || memcmp(want, buf[i], len))
				tag.sender = UINT32_MAX;	/* damaged */
			st->log[a->id][st->logged[a->id]++] = tag;
		}
	}
	return NULL;
}

TEST_F(chan, batches_under_signals_deliver_each_message_once)
{
	struct storm_arg sa[STORM_SENDERS], ra[STORM_RECEIVERS];
	unsigned int max = STORM_SENDERS * STORM_PER_SENDER;
	uint32_t last[STORM_SENDERS];
	unsigned int i, r, got = 0, bad = 0, twice = 0, gap = 0, disorder = 0;
	unsigned int turn = 0, signals;
	unsigned char *seen;
	struct storm st;
	long progress = -1;

	memset(&st, 0, sizeof(st));
	st.fd = self->fd;
	seen = calloc(max, 1);
	ASSERT_NE(NULL, seen);
	ASSERT_EQ(0, kt_catch(SIGUSR1, false));
	signals = atomic_load(&kt_signals_handled);
	atomic_store(&st.senders_left, STORM_SENDERS);
	for (r = 0; r < STORM_RECEIVERS; r++) {
		st.log[r] = calloc(max, sizeof(*st.log[r]));
		ASSERT_NE(NULL, st.log[r]);
		ra[r] = (struct storm_arg){ &st, r };
		ASSERT_EQ(0, pthread_create(&st.rcv[r], NULL, storm_receiver,
					    &ra[r]));
	}
	for (i = 0; i < STORM_SENDERS; i++) {
		sa[i] = (struct storm_arg){ &st, i };
		ASSERT_EQ(0, pthread_create(&st.snd[i], NULL, storm_sender,
					    &sa[i]));
	}
	/*
	 * Signals at the workers, in turn, until the senders are done; a
	 * signal only after some call completed since the last one, so a
	 * slow guest is not kept from progress by the signals alone.
	 */
	while (atomic_load(&st.senders_left) > 0) {
		pthread_t th = turn % 2 ? st.snd[turn / 2 % STORM_SENDERS] :
					  st.rcv[turn / 2 % STORM_RECEIVERS];
		long done = atomic_load(&st.calls) - atomic_load(&st.eintr);

		if (done != progress) {
			progress = done;
			pthread_kill(th, SIGUSR1);
			turn++;
		}
		usleep(300);
	}
	for (i = 0; i < STORM_SENDERS; i++)
		pthread_join(st.snd[i], NULL);
	ASSERT_EQ(0, kchan_close(self->fd));
	for (r = 0; r < STORM_RECEIVERS; r++)
		pthread_join(st.rcv[r], NULL);
	ASSERT_EQ(0, atomic_load(&st.err)) {
		TH_LOG("a worker failed: %s", strerror(atomic_load(&st.err)));
	}
	signals = atomic_load(&kt_signals_handled) - signals;

	for (r = 0; r < STORM_RECEIVERS; r++) {
		for (i = 0; i < STORM_SENDERS; i++)
			last[i] = UINT32_MAX;
		for (i = 0; i < st.logged[r]; i++) {
			struct storm_tag tag = st.log[r][i];

			got++;
			if (tag.sender >= STORM_SENDERS ||
			    tag.seq >= STORM_PER_SENDER) {
				bad++;
				continue;
			}
			/* One receiver sees each sender's messages in order. */
			if (last[tag.sender] != UINT32_MAX &&
			    tag.seq <= last[tag.sender])
				disorder++;
			last[tag.sender] = tag.seq;
			if (seen[tag.sender * STORM_PER_SENDER + tag.seq]++)
				twice++;
		}
	}
	for (i = 0; i < max; i++)
		gap += !seen[i];
	ksft_print_msg("%u messages in %ld calls, %u signals handled: %ld calls failed with EINTR, %ld sends cut short; %u received, %u lost, %u twice, %u damaged, %u out of order\n",
		       max, atomic_load(&st.calls), signals,
		       atomic_load(&st.eintr), atomic_load(&st.short_sends),
		       got, gap, twice, bad, disorder);
	/* The test runs in a child that leaves with _exit(). */
	fflush(stdout);
	/* The workers did get signals (whether one hit a call is chance). */
	EXPECT_LT(0u, signals);
	EXPECT_EQ(max, got);
	EXPECT_EQ(0u, gap);
	EXPECT_EQ(0u, twice);
	EXPECT_EQ(0u, bad);
	EXPECT_EQ(0u, disorder);
	for (r = 0; r < STORM_RECEIVERS; r++)
		free(st.log[r]);
	free(seen);
}

TEST_HARNESS_MAIN
