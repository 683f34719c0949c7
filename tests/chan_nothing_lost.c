// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing lost: a receive that fails after it found a message (bad user
 * buffer, buffer too small) leaves the message at the head of the channel,
 * and a rendezvous sender completes only when a copy-out succeeded. A
 * send from a bad buffer sends nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt.h"
#include "kt_bg.h"
#include "kt_fault.h"
#include "kt_harness.h"
#include "kt_fixture.h"

#define MSG_MAX		64
#define CAPACITY	4u
#define MSG_LEN		40

FIXTURE(chan) {
	int fd;
	void *bad;	/* a PROT_NONE page */
	unsigned char msg[MSG_LEN];
	unsigned char buf[MSG_MAX];
};

KT_CHAN_VARIANTS(chan, CAPACITY);

FIXTURE_SETUP(chan)
{
	self->fd = kt_chan_setup(_metadata, variant->capacity, MSG_MAX);
	self->bad = kt_bad_mem(1);
	ASSERT_NE(NULL, self->bad);
	kt_fill(self->msg, MSG_LEN, 1);
}

FIXTURE_TEARDOWN(chan)
{
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Offer self->msg from a sender thread and wait until the channel holds
 * it: queued in a buffered channel, a parked sender in a rendezvous one.
 */
#define offer_message(tx) do {						\
	ASSERT_EQ(0, kt_op_send(tx, self->fd, self->msg, MSG_LEN));	\
	ASSERT_EQ(0, kt_wait_offered(self->fd, variant->capacity));	\
} while (0)

/*
 * After a failed receive: the message is still the next one, nothing was
 * counted as received, and a rendezvous sender is still waiting.
 */
#define assert_message_kept(tx) do {					\
	struct kchan_stat __st;						\
									\
	ASSERT_EQ(0, kt_stat(self->fd, &__st));			\
	EXPECT_EQ(0ull, __st.received);					\
	ASSERT_EQ((long)MSG_LEN, kt_next_len(self->fd));		\
	if (variant->capacity) {					\
		ASSERT_EQ(1u, __st.queued);				\
	} else {							\
		ASSERT_EQ(1u, __st.senders);				\
		kt_sleep_ms(KT_SETTLE_MS);				\
		EXPECT_FALSE(kt_op_done(tx)) {			\
			TH_LOG("the sender returned %zd before any "	\
			       "receive succeeded", (tx)->ret);		\
		}							\
	}								\
} while (0)

/* A good receive gets the whole message; the sender completes. */
#define assert_message_delivered(tx) do {				\
	struct kt_guard __g = { 0 };					\
	ssize_t __n;							\
									\
	memset(self->buf, 0, sizeof(self->buf));			\
	ASSERT_EQ(0, kt_guard_start(&__g, 5000));			\
	__n = kt_recv(self->fd, self->buf, MSG_MAX);			\
	kt_guard_stop(&__g);						\
	ASSERT_EQ(MSG_LEN, __n);					\
	EXPECT_TRUE(kt_check(self->buf, MSG_LEN, 1));		\
	EXPECT_EQ(MSG_LEN, kt_op_result(tx));			\
} while (0)

/*
 * A receiver is held in a page fault on its buffer: a buffered message is
 * taken out (the buffer is empty); a rendezvous sender never waits on
 * another process's fault, so it stays in line and has not returned.
 */
#define wait_receiver_held(tx) do {					\
	if (variant->capacity) {					\
		ASSERT_EQ(0, kt_wait_for(self->fd, queued, 0));	\
	} else {							\
		kt_sleep_ms(KT_SETTLE_MS);				\
		ASSERT_EQ(0, kt_wait_for(self->fd, senders, 1));	\
		ASSERT_FALSE(kt_op_done(tx));			\
	}								\
} while (0)

TEST_F(chan, efault_on_receive_keeps_the_message)
{
	struct kt_op tx;

	offer_message(&tx);
	EXPECT_EQ(-EFAULT, kt_recv(self->fd, self->bad, MSG_MAX));
	assert_message_kept(&tx);
	EXPECT_EQ(-EFAULT, kt_recv(self->fd, self->bad, MSG_MAX));
	assert_message_kept(&tx);
	assert_message_delivered(&tx);
}

TEST_F(chan, efault_partway_through_receive_keeps_the_message)
{
	char *edge = kt_edge_buf(MSG_LEN / 2);
	struct kt_op tx;

	ASSERT_NE(NULL, edge);
	offer_message(&tx);
	/* The first half of the copy succeeds, the second half faults. */
	EXPECT_EQ(-EFAULT, kt_recv(self->fd, edge, MSG_MAX));
	assert_message_kept(&tx);
	assert_message_delivered(&tx);
}

/*
 * A buffer whose page is not present yet (never touched, or dropped with
 * MADV_DONTNEED) is a good buffer: a receive that first copies with page
 * faults disabled takes the fault and delivers, each time.
 */
TEST_F(chan, a_receive_into_a_page_not_present_gets_the_message)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *fresh;
	struct kt_op tx;
	int round;

	fresh = mmap(NULL, page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, fresh);
	for (round = 0; round < 2; round++) {
		offer_message(&tx);
		EXPECT_EQ(MSG_LEN, kt_recv(self->fd, fresh, MSG_MAX));
		EXPECT_EQ(0, memcmp(fresh, self->msg, MSG_LEN));
		EXPECT_EQ(MSG_LEN, kt_op_result(&tx));
		ASSERT_EQ(0, madvise(fresh, page, MADV_DONTNEED));
	}
	munmap(fresh, page);
}

TEST_F(chan, readv_with_a_bad_iovec_in_the_middle_keeps_the_message)
{
	unsigned char a[4], c[MSG_MAX];
	struct iovec iov[] = {
		{ .iov_base = a, .iov_len = sizeof(a) },
		{ .iov_base = self->bad, .iov_len = 4 },
		{ .iov_base = c, .iov_len = sizeof(c) },
	};
	struct kt_op tx;

	offer_message(&tx);
	EXPECT_EQ(-1, readv(self->fd, iov, ARRAY_SIZE(iov)));
	EXPECT_EQ(EFAULT, errno);
	assert_message_kept(&tx);
	assert_message_delivered(&tx);
}

TEST_F(chan, emsgsize_keeps_the_message_at_the_head)
{
	static const size_t lens[] = { MSG_LEN, 3 };
	struct kt_guard g = { 0 };
	struct kt_feeder f;
	struct kchan_stat st;

	ASSERT_EQ(0, kt_feeder_start(&f, self->fd, 2, lens, 1));
	if (variant->capacity) {
		ASSERT_EQ(0, kt_wait_for(self->fd, queued, 2));
	} else {
		ASSERT_EQ(0, kt_wait_for(self->fd, senders, 1));
	}
	ASSERT_EQ(0, kt_guard_start(&g, 10000));
	EXPECT_EQ(-EMSGSIZE, kt_recv(self->fd, self->buf, MSG_LEN - 1));
	EXPECT_EQ(-EMSGSIZE, kt_recv(self->fd, self->buf, 1));
	ASSERT_EQ(0, kt_stat(self->fd, &st));
	EXPECT_EQ(0ull, st.received);
	EXPECT_EQ((long)MSG_LEN, kt_next_len(self->fd));
	if (!variant->capacity) {
		kt_sleep_ms(KT_SETTLE_MS);
		EXPECT_EQ(0u, atomic_load(&f.sent)) {
			TH_LOG("the sender completed although no receive succeeded");
		}
	}
	ASSERT_EQ(MSG_LEN, kt_recv(self->fd, self->buf, MSG_MAX));
	EXPECT_TRUE(kt_check(self->buf, MSG_LEN, 1));
	ASSERT_EQ(3, kt_recv(self->fd, self->buf, MSG_MAX));
	EXPECT_TRUE(kt_check(self->buf, 3, 2));
	kt_guard_stop(&g);
	EXPECT_EQ(0, kt_feeder_finish(&f));
}

TEST_F(chan, blocked_receiver_with_a_small_buffer_wakes_with_emsgsize)
{
	unsigned char small[MSG_LEN / 2];
	struct kt_op rx, tx;

	ASSERT_EQ(0, kt_op_recv(&rx, self->fd, small, sizeof(small)));
	ASSERT_EQ(0, kt_wait_for(self->fd, receivers, 1));
	ASSERT_EQ(0, kt_op_send(&tx, self->fd, self->msg, MSG_LEN));
	EXPECT_EQ(-EMSGSIZE, kt_op_result(&rx));
	/* The message was not lost: a later receive gets it. */
	ASSERT_EQ(0, kt_wait_offered(self->fd, variant->capacity));
	assert_message_kept(&tx);
	assert_message_delivered(&tx);
}

TEST_F(chan, message_refused_by_a_small_receiver_goes_to_the_next)
{
	unsigned char small[MSG_LEN / 2], big[MSG_MAX];
	struct kt_op rx_small, rx_big, tx;

	ASSERT_EQ(0, kt_op_recv(&rx_small, self->fd, small, sizeof(small)));
	ASSERT_EQ(0, kt_wait_for(self->fd, receivers, 1));
	ASSERT_EQ(0, kt_op_recv(&rx_big, self->fd, big, sizeof(big)));
	ASSERT_EQ(0, kt_wait_for(self->fd, receivers, 2));
	ASSERT_EQ(0, kt_op_send(&tx, self->fd, self->msg, MSG_LEN));
	EXPECT_EQ(-EMSGSIZE, kt_op_result(&rx_small));
	ASSERT_EQ(MSG_LEN, kt_op_result(&rx_big));
	EXPECT_TRUE(kt_check(big, MSG_LEN, 1));
	EXPECT_EQ(MSG_LEN, kt_op_result(&tx));
}

/*
 * A send from a bad buffer while a receiver waits: EFAULT, the receiver
 * keeps waiting (nothing reached it), and a good send afterwards is what
 * it gets.
 */
static void check_bad_send(struct __test_metadata *_metadata, int fd,
			   const struct iovec *iov, int iovcnt,
			   const unsigned char *good)
{
	unsigned char buf[MSG_MAX];
	struct kt_op rx;

	ASSERT_EQ(0, kt_op_recv(&rx, fd, buf, sizeof(buf)));
	ASSERT_EQ(0, kt_wait_for(fd, receivers, 1));
	EXPECT_EQ(-1, writev(fd, iov, iovcnt));
	EXPECT_EQ(EFAULT, errno);
	kt_sleep_ms(KT_SETTLE_MS);
	EXPECT_FALSE(kt_op_done(&rx)) {
		TH_LOG("the receiver returned %zd after a failed send",
		       rx.ret);
	}
	kt_expect_nothing_sent(_metadata, fd);
	ASSERT_EQ(MSG_LEN, kt_send(fd, good, MSG_LEN));
	ASSERT_EQ(MSG_LEN, kt_op_result(&rx));
	EXPECT_TRUE(kt_check(buf, MSG_LEN, 1));
}

TEST_F(chan, efault_on_send_sends_nothing)
{
	struct iovec iov = { .iov_base = self->bad, .iov_len = MSG_LEN };

	check_bad_send(_metadata, self->fd, &iov, 1, self->msg);
}

TEST_F(chan, efault_partway_through_send_sends_nothing)
{
	char *edge = kt_edge_buf(MSG_LEN / 2);
	struct iovec iov = { .iov_base = edge, .iov_len = MSG_LEN };

	ASSERT_NE(NULL, edge);
	memcpy(edge, self->msg, MSG_LEN / 2);
	check_bad_send(_metadata, self->fd, &iov, 1, self->msg);
}

TEST_F(chan, writev_with_a_bad_iovec_in_the_middle_sends_nothing)
{
	struct iovec iov[] = {
		{ .iov_base = self->msg, .iov_len = 4 },
		{ .iov_base = self->bad, .iov_len = 4 },
		{ .iov_base = self->msg + 8, .iov_len = MSG_LEN - 8 },
	};

	check_bad_send(_metadata, self->fd, iov, ARRAY_SIZE(iov), self->msg);
}

TEST(efault_on_send_leaves_the_buffer_unchanged)
{
	unsigned char msg[MSG_LEN], buf[MSG_MAX];
	struct kchan_stat st;
	void *bad;
	int fd;

	bad = kt_bad_mem(1);
	ASSERT_NE(NULL, bad);
	fd = kt_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, fd);
	kt_fill(msg, MSG_LEN, 1);
	ASSERT_EQ(MSG_LEN, kt_send(fd, msg, MSG_LEN));
	EXPECT_EQ(-EFAULT, kt_send(fd, bad, MSG_LEN));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(1u, st.queued);
	EXPECT_EQ(1ull, st.sent);
	ASSERT_EQ(MSG_LEN, kt_recv(fd, buf, sizeof(buf)));
	EXPECT_TRUE(kt_check(buf, MSG_LEN, 1));
	EXPECT_EQ(-EAGAIN, kt_recv(fd, buf, sizeof(buf)));
	close(fd);
}

TEST_F(chan, fatal_signal_during_the_copy_out_keeps_the_message)
{
	struct kt_op tx;
	int pipefd[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(pipefd));
	offer_message(&tx);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		void *page = NULL;
		int uffd = kt_uffd_stalling(&page, 1);

		c = uffd < 0 ? 's' : 'k';
		if (write(pipefd[1], &c, 1) != 1 || uffd < 0)
			_exit(1);
		/* Blocks in the copy-out until killed. */
		read(self->fd, page, MSG_MAX);
		_exit(2);
	}
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	if (c == 's') {
		kt_reap_within(pid, KT_TIMEOUT_MS, &status);
		SKIP(return, "userfaultfd is not available");
	}
	wait_receiver_held(&tx);
	kt_sleep_ms(KT_SETTLE_MS);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(0, kt_reap_within(pid, KT_TIMEOUT_MS, &status));
	ASSERT_TRUE(WIFSIGNALED(status));

	/* The receiver died mid-copy: the message is back at the head. */
	ASSERT_EQ(0, kt_wait_offered(self->fd, variant->capacity));
	assert_message_kept(&tx);
	assert_message_delivered(&tx);
}

/*
 * A rendezvous sender waits for a receiver's copy only while that copy
 * cannot stall; a receiver whose page fault stalls holds no sender, which
 * stays killable (and interruptible) in line.
 */
TEST(sender_stays_killable_while_its_message_is_copied_out)
{
	static char zero_page[65536];
	unsigned char msg[MSG_LEN];
	int fd, uffd, status, died;
	struct kchan_stat st;
	struct kt_op rx;
	__u64 addr = 0;
	void *page = NULL;
	pid_t pid;

	fd = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, fd);
	uffd = kt_uffd_stalling(&page, 1);
	if (uffd < 0)
		SKIP(return, "userfaultfd is not available");

	kt_fill(msg, MSG_LEN, 1);
	pid = kt_fork_send(fd, msg, MSG_LEN);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, kt_wait_for(fd, senders, 1));
	ASSERT_EQ(0, kt_op_recv(&rx, fd, page, MSG_MAX));
	/*
	 * The receiver is stuck in a fault on its buffer. It holds no
	 * sender meanwhile: the sender stays in line.
	 */
	ASSERT_EQ(0, kt_uffd_wait_fault(uffd, KT_TIMEOUT_MS, &addr));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(1u, st.senders);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	died = kt_reap_within(pid, KT_TIMEOUT_MS, &status) == 0;

	/* Let the fault finish: fill the page with zeroes. */
	ASSERT_EQ(0, kt_uffd_copy(uffd, (unsigned long)page, zero_page,
				     getpagesize()));
	if (!died) {
		ASSERT_EQ(0, kt_reap_within(pid, KT_TIMEOUT_MS, &status));
	}
	EXPECT_TRUE(died) {
		TH_LOG("SIGKILL did not end the sender while the receiver's fault was stalled");
	}
	/* The killed send sent nothing: the receiver gets the next one. */
	kt_fill(msg, MSG_LEN, 2);
	ASSERT_EQ(MSG_LEN, kt_send(fd, msg, MSG_LEN));
	ASSERT_EQ(MSG_LEN, kt_op_result(&rx));
	EXPECT_TRUE(kt_check(page, MSG_LEN, 2));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(1ull, st.sent);
	EXPECT_EQ(1ull, st.received);
	close(uffd);
	close(fd);
}

/*
 * A receive that fails puts its message back as if it had never been
 * taken: a full buffer stays full (never more than capacity queued, as
 * len(ch) <= cap(ch) in Go) and the order is unchanged.
 */
TEST(failed_receive_from_a_full_buffer_keeps_it_within_capacity)
{
	unsigned char buf[MSG_MAX];
	struct kchan_stat st;
	struct kt_op tx;
	unsigned int i;
	void *bad;
	int fd;

	bad = kt_bad_mem(1);
	ASSERT_NE(NULL, bad);
	fd = kchan_make(CAPACITY, MSG_MAX, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_op_send_behind_full(&tx, fd, CAPACITY, 8));

	EXPECT_EQ(-EFAULT, kt_recv(fd, bad, MSG_MAX));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_GE(CAPACITY, st.queued) {
		TH_LOG("%u messages queued in a channel of capacity %u",
		       st.queued, CAPACITY);
	}
	EXPECT_EQ(0ull, st.received);

	for (i = 0; i <= CAPACITY; i++) {
		ASSERT_EQ(8, kt_recv(fd, buf, sizeof(buf)));
		EXPECT_TRUE(kt_check(buf, 8, i)) {
			TH_LOG("receive %u got message %u", i, buf[0]);
		}
	}
	EXPECT_EQ(8, kt_op_result(&tx));
	close(fd);
}

TEST_HARNESS_MAIN
