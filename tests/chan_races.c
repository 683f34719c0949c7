// SPDX-License-Identifier: GPL-2.0
/*
 * Deterministic races: a process is held in the middle of a send or a
 * receive, at the exact point where kchan copies the message from or to
 * its memory (a userfaultfd page that blocks until resolved), and while it
 * is held another party closes the channel, removes its name, closes every
 * other file or kills the held process. Then the fault is resolved, or the
 * kill finishes the job. Nothing may hang, no message may be lost or
 * duplicated, a send that was never committed sends nothing, the counters
 * must balance, and the channel is freed once its last file is gone.
 *
 * The held party is always a child process: it makes its own userfaultfd
 * and passes it to the test over a unix socket, so the test can see the
 * fault happen (the moment the copy blocks) and resolve it, or kill the
 * child instead. Needs userfaultfd (root, or vm.unprivileged_userfaultfd);
 * skipped without it. A select whose send a held receiver claimed is
 * raced the same way against a close of its other cases' channels. The
 * last test unloads and reloads the module.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <liburing.h>

#include "kt.h"
#include "kt_bg.h"
#include "kt_sys.h"
#include "kt_fault.h"
#include "kt_harness.h"
#include "kt_select.h"
#include "kt_fixture.h"

#define MSG_MAX		64
#define MSG_LEN		40
#define CAPACITY	4u
/* Bytes of the message before the held page, and (vectored) inside it. */
#define HEAD		8
#define MID		16
/* Named channels may be freed a few seconds late (delayed kobject release). */
#define RELEASE_MS	15000
/* An anonymous channel goes with its last file, at once. */
#define FREE_MS		2000

enum held_op { HELD_READ, HELD_READV, HELD_WRITE, HELD_WRITEV };

/*
 * A child process held inside read/readv/write/writev on a channel, its
 * copy blocked on a userfaultfd page.
 */
struct held {
	pid_t pid;
	int uffd;		/* the child's userfaultfd, passed to us */
	__u64 page;		/* the held page, an address in the child */
	int result;		/* pipe: the child's result, then the data read */
	bool reaped;
	int status;
};

/* What the child reports: the call's result and, for a read, the data. */
struct held_report {
	ssize_t ret;		/* length or -errno */
	unsigned char data[MSG_MAX];
};

/*
 * The child: three pages, the middle one registered with a userfaultfd.
 * A plain read/write uses a buffer that starts HEAD bytes before the
 * middle page, so the copy moves HEAD bytes and then blocks mid-message;
 * readv/writev put the middle page in the middle iovec.
 */
static void held_child(int fd, enum held_op op, unsigned int seed, int sock,
		       int result)
{
	struct held_report rep = { 0 };
	size_t pg = getpagesize();
	unsigned char msg[MSG_LEN];
	struct iovec iov[3];
	int uffd, iovcnt = 1;
	char *area, *buf;
	__u64 page;
	ssize_t n;
	size_t off;
	int i;

	area = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		_exit(1);
	memset(area, 0, pg);
	memset(area + 2 * pg, 0, pg);
	uffd = kt_uffd_open();
	if (uffd >= 0 && kt_uffd_register(uffd, area + pg, pg)) {
		close(uffd);
		uffd = -1;
	}
	page = (unsigned long)(area + pg);
	/* No descriptor: userfaultfd is not available, the test skips. */
	if (kt_send_fd(sock, uffd, &page, sizeof(page)) || uffd < 0)
		_exit(1);

	kt_fill(msg, MSG_LEN, seed);
	buf = area + pg - HEAD;
	switch (op) {
	case HELD_READ:
		iov[0] = (struct iovec){ buf, MSG_MAX };
		break;
	case HELD_WRITE:
		/* The rest comes with the page that resolves the fault. */
		memcpy(buf, msg, HEAD);
		iov[0] = (struct iovec){ buf, MSG_LEN };
		break;
	case HELD_READV:
		iov[0] = (struct iovec){ area, HEAD };
		iov[1] = (struct iovec){ area + pg, MID };
		iov[2] = (struct iovec){ area + 2 * pg, MSG_MAX - HEAD - MID };
		iovcnt = 3;
		break;
	case HELD_WRITEV:
		memcpy(area, msg, HEAD);
		memcpy(area + 2 * pg, msg + HEAD + MID, MSG_LEN - HEAD - MID);
		iov[0] = (struct iovec){ area, HEAD };
		iov[1] = (struct iovec){ area + pg, MID };
		iov[2] = (struct iovec){ area + 2 * pg, MSG_LEN - HEAD - MID };
		iovcnt = 3;
		break;
	}
	if (op == HELD_READ || op == HELD_READV)
		n = readv(fd, iov, iovcnt);
	else
		n = writev(fd, iov, iovcnt);
	rep.ret = n < 0 ? -errno : n;
	if (n > 0 && (op == HELD_READ || op == HELD_READV)) {
		for (i = 0, off = 0; i < iovcnt && off < (size_t)n; i++) {
			size_t take = iov[i].iov_len;

			if (take > (size_t)n - off)
				take = (size_t)n - off;
			memcpy(rep.data + off, iov[i].iov_base, take);
			off += take;
		}
	}
	_exit(write(result, &rep, sizeof(rep)) == sizeof(rep) ? 0 : 1);
}

/*
 * Start a child doing @op on @fd and wait until its copy is blocked on
 * the held page. 0, -EOPNOTSUPP without userfaultfd, or -errno.
 */
static int held_start(struct held *h, int fd, enum held_op op,
		      unsigned int seed)
{
	int sv[2], res[2], ret;
	__u64 addr = 0;

	memset(h, 0, sizeof(*h));
	h->pid = -1;
	h->uffd = -1;
	h->result = -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (pipe2(res, O_CLOEXEC)) {
		ret = -errno;
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	h->pid = fork();
	if (h->pid < 0) {
		ret = -errno;
		close(sv[0]);
		close(sv[1]);
		close(res[0]);
		close(res[1]);
		return ret;
	}
	if (h->pid == 0) {
		close(sv[0]);
		close(res[0]);
		held_child(fd, op, seed, sv[1], res[1]);
	}
	close(sv[1]);
	close(res[1]);
	h->result = res[0];
	h->uffd = kt_recv_fd(sv[0], &h->page, sizeof(h->page),
				KT_TIMEOUT_MS);
	close(sv[0]);
	if (h->uffd == -ENOENT)
		return -EOPNOTSUPP;
	if (h->uffd < 0)
		return h->uffd;
	ret = kt_uffd_wait_fault(h->uffd, KT_TIMEOUT_MS, &addr);
	if (ret)
		return ret;
	if (addr < h->page || addr >= h->page + getpagesize())
		return -EFAULT;
	return 0;
}

/* Resolve the fault: the page gets @content (a page), or zeroes if NULL. */
static int held_resolve(struct held *h, const void *content)
{
	if (!content)
		return kt_uffd_zero(h->uffd, h->page, getpagesize());
	return kt_uffd_copy(h->uffd, h->page, content, getpagesize());
}

/* The child's report, once it finished (within @ms); 0 or -errno. */
static int held_report(struct held *h, struct held_report *rep, int ms)
{
	struct pollfd pfd = { .fd = h->result, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return -ETIMEDOUT;
	n = read(h->result, rep, sizeof(*rep));
	if (n != sizeof(*rep))
		return -EIO;
	if (kt_reap_within(h->pid, ms, &h->status))
		return -ETIMEDOUT;
	h->reaped = true;
	return 0;
}

/* SIGKILL the child and reap it: 0 if it died of that signal in time. */
static int held_kill(struct held *h)
{
	if (kill(h->pid, SIGKILL))
		return -errno;
	if (kt_reap_within(h->pid, KT_TIMEOUT_MS, &h->status))
		return -ETIMEDOUT;
	h->reaped = true;
	return WIFSIGNALED(h->status) && WTERMSIG(h->status) == SIGKILL ?
	       0 : -ECHILD;
}

static void held_cleanup(struct held *h)
{
	if (h->pid > 0 && !h->reaped) {
		kill(h->pid, SIGKILL);
		kt_reap_within(h->pid, KT_TIMEOUT_MS, &h->status);
		h->reaped = true;
	}
	if (h->uffd >= 0)
		close(h->uffd);
	if (h->result >= 0)
		close(h->result);
	h->uffd = h->result = -1;
}

/* The page that completes a held write of kt_fill(seed). */
static void *held_write_page(enum held_op op, unsigned int seed)
{
	static unsigned char page[65536];
	unsigned char msg[MSG_LEN];

	kt_fill(msg, MSG_LEN, seed);
	memset(page, 0, sizeof(page));
	if (op == HELD_WRITE)
		memcpy(page, msg + HEAD, MSG_LEN - HEAD);
	else
		memcpy(page, msg + HEAD, MID);
	return page;
}

FIXTURE(race) {
	int fd;
	char name[KCHAN_NAME_SIZE];
	char node[128];
	__u64 id;
	bool no_uffd;
	struct held held;
	struct kt_op tx;	/* a rendezvous sender in a thread */
	bool tx_started;
	unsigned char msg[MSG_LEN];
	unsigned char buf[MSG_MAX];
};

KT_CHAN_VARIANTS(race, CAPACITY);

FIXTURE_SETUP(race)
{
	struct kchan_stat st;
	int uffd;

	self->fd = -1;
	self->held.pid = -1;
	self->held.uffd = -1;
	self->held.result = -1;
	uffd = kt_uffd_open();
	if (uffd < 0) {
		self->no_uffd = true;
		return;
	}
	close(uffd);
	self->fd = kt_chan_setup(_metadata, variant->capacity, MSG_MAX);
	ASSERT_EQ(0, kt_stat(self->fd, &st));
	self->id = st.id;
	kt_fill(self->msg, MSG_LEN, 1);
}

FIXTURE_TEARDOWN(race)
{
	held_cleanup(&self->held);
	if (self->fd >= 0)
		close(self->fd);
	if (self->name[0])
		kchan_unlink(self->name);
}

/*
 * Switch the test to a named channel, /dev/chan/NAME. Only the tests that
 * need the name use one: on kernels that delay kobject release, a named
 * channel is freed seconds after its last file.
 */
static void use_named(struct __test_metadata *_metadata,
		      FIXTURE_DATA(race) *self, unsigned int capacity)
{
	struct kchan_stat st;

	close(self->fd);
	kt_name(self->name, sizeof(self->name), _metadata->name);
	kt_node_path(self->node, sizeof(self->node), self->name);
	ASSERT_EQ(0, kchan_create(self->name, capacity, MSG_MAX, 0600, 0));
	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, kt_stat(self->fd, &st));
	self->id = st.id;
}

#define REQUIRE_UFFD() do {						\
	if (self->no_uffd)						\
		SKIP(return, "userfaultfd is not available");		\
} while (0)

/* Start a held child, skipping the test if userfaultfd cannot do it. */
#define HOLD(op, seed) do {						\
	int __ret = held_start(&self->held, self->fd, op, seed);	\
									\
	if (__ret == -EOPNOTSUPP)					\
		SKIP(return, "userfaultfd is not available");		\
	ASSERT_EQ(0, __ret) TH_LOG("held child: %s", strerror(-__ret));	\
} while (0)

/*
 * Offer self->msg (seed 1): queued at once in a buffered channel, a
 * sender blocked in a thread in a rendezvous one.
 */
#define OFFER() do {							\
	if (variant->capacity) {					\
		ASSERT_EQ(MSG_LEN, kt_send(self->fd, self->msg, MSG_LEN)); \
	} else {							\
		ASSERT_EQ(0, kt_op_send(&self->tx, self->fd, self->msg, \
					   MSG_LEN));			\
		self->tx_started = true;				\
		ASSERT_EQ(0, kt_wait_for(self->fd, senders, 1));	\
	}								\
} while (0)

/* What the offering sender's write returned (or -ETIMEDOUT). */
static ssize_t offer_result(FIXTURE_DATA(race) *self)
{
	return self->tx_started ? kt_op_result(&self->tx) : MSG_LEN;
}

/* The offering sender has not returned yet (buffered: it never waits). */
static bool offer_pending(FIXTURE_DATA(race) *self)
{
	return self->tx_started && !kt_op_done(&self->tx);
}

/* The counters of an idle channel. */
static void expect_idle(struct __test_metadata *_metadata, int fd,
			__u32 queued, __u64 sent, __u64 received)
{
	struct kchan_stat st;

	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(queued, st.queued);
	EXPECT_EQ(0u, st.senders);
	EXPECT_EQ(0u, st.receivers);
	EXPECT_EQ(sent, st.sent);
	EXPECT_EQ(received, st.received);
	EXPECT_LE(st.received, st.sent) {
		TH_LOG("received %llu > sent %llu",
		       (unsigned long long)st.received,
		       (unsigned long long)st.sent);
	}
}

/*
 * While a receiver is held in a fault on its buffer: a buffered message
 * is in flight (the buffer is empty); a rendezvous sender never waits on
 * another process's fault, so it is back in line, not done, and the held
 * receiver holds nothing.
 */
static void expect_held(struct __test_metadata *_metadata,
			FIXTURE_DATA(race) *self)
{
	struct kchan_stat st;

	ASSERT_EQ(0, kt_stat(self->fd, &st));
	EXPECT_EQ(0u, st.queued);
	EXPECT_EQ(self->tx_started ? 1u : 0u, st.senders);
	EXPECT_EQ(0ull, st.received);
	EXPECT_TRUE(offer_pending(self) || !self->tx_started);
}

/* A blocking receive that must return within the guard. */
static ssize_t recv_guarded(int fd, void *buf, size_t cap)
{
	struct kt_guard g = { 0 };
	ssize_t n;

	if (kt_guard_start(&g, KT_TIMEOUT_MS))
		return -EIO;
	n = kt_recv(fd, buf, cap);
	kt_guard_stop(&g);
	return n;
}

/*
 * Close while a receive is copying a buffered message out: no end-of-file
 * for anyone until that copy settles; it succeeds once the page arrives,
 * and a receiver that was waiting gets EOF. Rendezvous: the held receiver
 * holds nothing, another receiver takes the message meanwhile, and the
 * held one gets EOF once its page arrives.
 */
TEST_F(race, close_during_held_receive_then_resolve)
{
	struct held_report rep;
	struct kt_op rx2;
	unsigned char buf2[MSG_MAX];
	int peek;

	REQUIRE_UFFD();
	use_named(_metadata, self, variant->capacity);
	OFFER();
	HOLD(HELD_READ, 0);
	expect_held(_metadata, self);
	if (!variant->capacity) {
		ASSERT_EQ(MSG_LEN, recv_guarded(self->fd, buf2, sizeof(buf2)));
		EXPECT_TRUE(kt_check(buf2, MSG_LEN, 1));
		EXPECT_EQ(MSG_LEN, offer_result(self));
		ASSERT_EQ(0, kchan_close(self->fd));
		EXPECT_EQ(0, recv_guarded(self->fd, buf2, sizeof(buf2)));
		ASSERT_EQ(0, held_resolve(&self->held, NULL));
		ASSERT_EQ(0, held_report(&self->held, &rep, KT_TIMEOUT_MS));
		EXPECT_EQ(0, rep.ret);
		expect_idle(_metadata, self->fd, 0, 1, 1);
		return;
	}

	ASSERT_EQ(0, kt_op_recv(&rx2, self->fd, buf2, sizeof(buf2)));
	ASSERT_EQ(0, kt_wait_for(self->fd, receivers, 1));
	ASSERT_EQ(0, kchan_close(self->fd));
	peek = open(self->node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, peek);
	/* The message may still come back: not drained yet. */
	EXPECT_EQ(-EAGAIN, kt_recv(peek, self->buf, sizeof(self->buf)));
	EXPECT_EQ(-EAGAIN, kt_next_len(peek));
	kt_sleep_ms(KT_SETTLE_MS);
	EXPECT_FALSE(kt_op_done(&rx2)) {
		TH_LOG("a waiting receiver returned %zd while the message was in flight",
		       rx2.ret);
	}
	EXPECT_TRUE(offer_pending(self) || !self->tx_started);

	ASSERT_EQ(0, held_resolve(&self->held, NULL));
	ASSERT_EQ(0, held_report(&self->held, &rep, KT_TIMEOUT_MS));
	ASSERT_EQ(MSG_LEN, rep.ret);
	EXPECT_TRUE(kt_check(rep.data, MSG_LEN, 1));
	EXPECT_EQ(MSG_LEN, offer_result(self));
	EXPECT_EQ(0, kt_op_result(&rx2));
	EXPECT_EQ(0, kt_recv(peek, self->buf, sizeof(self->buf)));
	expect_idle(_metadata, self->fd, 0, 1, 1);
	close(peek);
}

/*
 * Close, then kill the receiver held in its copy: a buffered message goes
 * back and is still delivered (to the receiver already waiting). A
 * rendezvous sender is not held by the receiver's fault: the message
 * goes to the other receiver at once, and the kill loses nothing.
 */
TEST_F(race, close_during_held_receive_then_kill)
{
	struct kt_op rx2;
	unsigned char buf2[MSG_MAX];

	REQUIRE_UFFD();
	OFFER();
	HOLD(HELD_READ, 0);
	if (!variant->capacity) {
		ASSERT_EQ(MSG_LEN, recv_guarded(self->fd, buf2, sizeof(buf2)));
		EXPECT_TRUE(kt_check(buf2, MSG_LEN, 1));
		EXPECT_EQ(MSG_LEN, offer_result(self));
		ASSERT_EQ(0, kchan_close(self->fd));
		ASSERT_EQ(0, held_kill(&self->held));
		EXPECT_EQ(0, recv_guarded(self->fd, self->buf, sizeof(self->buf)));
		expect_idle(_metadata, self->fd, 0, 1, 1);
		return;
	}
	ASSERT_EQ(0, kt_op_recv(&rx2, self->fd, buf2, sizeof(buf2)));
	ASSERT_EQ(0, kt_wait_for(self->fd, receivers, 1));
	ASSERT_EQ(0, kchan_close(self->fd));
	ASSERT_EQ(0, held_kill(&self->held)) TH_LOG("the held receiver did not die");

	ASSERT_EQ(MSG_LEN, kt_op_result(&rx2));
	EXPECT_TRUE(kt_check(buf2, MSG_LEN, 1));
	EXPECT_EQ(0, recv_guarded(self->fd, self->buf, sizeof(self->buf)));
	expect_idle(_metadata, self->fd, 0, 1, 1);
}

/* Remove the name while a receive is held: the copy completes. */
TEST_F(race, unlink_during_held_receive_then_resolve)
{
	struct held_report rep;
	struct kchan_stat st;

	REQUIRE_UFFD();
	use_named(_metadata, self, variant->capacity);
	OFFER();
	HOLD(HELD_READ, 0);
	ASSERT_EQ(0, kchan_unlink(self->name));
	EXPECT_NE(0, access(self->node, F_OK));
	EXPECT_EQ(-1, open(self->node, O_RDWR | O_CLOEXEC));
	ASSERT_EQ(0, kt_stat(self->fd, &st));
	EXPECT_FALSE(!!(st.flags & KCHAN_STAT_NAMED));
	expect_held(_metadata, self);

	ASSERT_EQ(0, held_resolve(&self->held, NULL));
	ASSERT_EQ(0, held_report(&self->held, &rep, KT_TIMEOUT_MS));
	ASSERT_EQ(MSG_LEN, rep.ret);
	EXPECT_TRUE(kt_check(rep.data, MSG_LEN, 1));
	EXPECT_EQ(MSG_LEN, offer_result(self));
	expect_idle(_metadata, self->fd, 0, 1, 1);

	/* The file still carries messages. */
	self->tx_started = false;
	kt_fill(self->msg, MSG_LEN, 2);
	OFFER();
	ASSERT_EQ(MSG_LEN, recv_guarded(self->fd, self->buf, sizeof(self->buf)));
	EXPECT_TRUE(kt_check(self->buf, MSG_LEN, 2));
	EXPECT_EQ(MSG_LEN, offer_result(self));
	expect_idle(_metadata, self->fd, 0, 2, 2);
}

/*
 * Kill a receiver held inside readv (the held page is the middle iovec):
 * the message goes to the receiver waiting behind it, whole, and the
 * rendezvous sender completes exactly once. (A rendezvous message is
 * not held by the fault: the next receiver has it at once.)
 */
TEST_F(race, kill_held_readv_message_goes_to_next_receiver)
{
	struct kt_op rx2;
	unsigned char buf2[MSG_MAX];

	REQUIRE_UFFD();
	OFFER();
	HOLD(HELD_READV, 0);
	expect_held(_metadata, self);
	memset(buf2, 0, sizeof(buf2));
	ASSERT_EQ(0, kt_op_recv(&rx2, self->fd, buf2, sizeof(buf2)));
	if (variant->capacity) {
		ASSERT_EQ(0, kt_wait_for(self->fd, receivers, 1));
		kt_sleep_ms(KT_SETTLE_MS);
		EXPECT_FALSE(kt_op_done(&rx2));
	}

	ASSERT_EQ(0, held_kill(&self->held)) TH_LOG("the held receiver did not die");
	ASSERT_EQ(MSG_LEN, kt_op_result(&rx2)) {
		TH_LOG("the message of the killed receiver was not passed on");
	}
	EXPECT_TRUE(kt_check(buf2, MSG_LEN, 1));
	EXPECT_EQ(MSG_LEN, offer_result(self));
	expect_idle(_metadata, self->fd, 0, 1, 1);
}

/*
 * Kill a held receiver with nobody else waiting: the message is back at
 * the head (buffered) or its sender back in line (rendezvous) for a later
 * receive.
 */
TEST_F(race, kill_held_receive_message_stays_receivable)
{
	struct kchan_stat st;

	REQUIRE_UFFD();
	OFFER();
	HOLD(HELD_READ, 0);
	ASSERT_EQ(0, held_kill(&self->held)) TH_LOG("the held receiver did not die");
	ASSERT_EQ(0, kt_stat(self->fd, &st));
	EXPECT_EQ(0ull, st.received);
	if (variant->capacity) {
		EXPECT_EQ(1u, st.queued);
	} else {
		EXPECT_EQ(1u, st.senders);
		kt_sleep_ms(KT_SETTLE_MS);
		EXPECT_TRUE(offer_pending(self)) {
			TH_LOG("the sender returned %zd though no receive succeeded",
			       self->tx.ret);
		}
	}
	EXPECT_EQ((long)MSG_LEN, kt_next_len(self->fd));
	ASSERT_EQ(MSG_LEN, recv_guarded(self->fd, self->buf, sizeof(self->buf)));
	EXPECT_TRUE(kt_check(self->buf, MSG_LEN, 1));
	EXPECT_EQ(MSG_LEN, offer_result(self));
	expect_idle(_metadata, self->fd, 0, 1, 1);
}

/*
 * The held receiver ends up with the only file: every other one is closed
 * (a rendezvous sender's file lives on in its write). The copy still
 * completes, and the channel is freed after.
 */
TEST_F(race, held_receive_outlives_every_other_file)
{
	struct held_report rep;

	REQUIRE_UFFD();
	OFFER();
	HOLD(HELD_READ, 0);
	close(self->fd);
	self->fd = -1;

	ASSERT_EQ(0, held_resolve(&self->held, NULL));
	ASSERT_EQ(0, held_report(&self->held, &rep, KT_TIMEOUT_MS));
	ASSERT_EQ(MSG_LEN, rep.ret);
	EXPECT_TRUE(kt_check(rep.data, MSG_LEN, 1));
	EXPECT_EQ(MSG_LEN, offer_result(self));
	EXPECT_EQ(0, kt_wait_unlisted(self->id, FREE_MS)) {
		TH_LOG("channel %llu outlived its last file",
		       (unsigned long long)self->id);
	}
}

/*
 * Close while a send is held copying its message in: it was not sent
 * yet, so it fails with EPIPE once the page arrives; a receiver waiting
 * meanwhile gets end-of-file at the close.
 */
TEST_F(race, close_during_held_send_then_resolve)
{
	struct held_report rep;
	struct kchan_stat st;
	struct kt_op rx;

	REQUIRE_UFFD();
	memset(self->buf, 0, sizeof(self->buf));
	ASSERT_EQ(0, kt_op_recv(&rx, self->fd, self->buf, sizeof(self->buf)));
	ASSERT_EQ(0, kt_wait_for(self->fd, receivers, 1));
	HOLD(HELD_WRITE, 5);
	/* Not committed yet: no sender queued, nothing sent or handed over. */
	ASSERT_EQ(0, kt_stat(self->fd, &st));
	EXPECT_EQ(0u, st.senders);
	EXPECT_EQ(0u, st.queued);
	EXPECT_EQ(0ull, st.sent);
	EXPECT_EQ(1u, st.receivers);

	ASSERT_EQ(0, kchan_close(self->fd));
	EXPECT_EQ(0, kt_op_result(&rx));
	ASSERT_EQ(0, held_resolve(&self->held, held_write_page(HELD_WRITE, 5)));
	ASSERT_EQ(0, held_report(&self->held, &rep, KT_TIMEOUT_MS));
	EXPECT_EQ(-EPIPE, rep.ret);
	EXPECT_EQ(0, recv_guarded(self->fd, self->buf, sizeof(self->buf)));
	expect_idle(_metadata, self->fd, 0, 0, 0);
}

/*
 * Kill a sender held copying its message in (writev, held page in the
 * middle): nothing is sent; a receiver waiting gets the next good message.
 */
TEST_F(race, kill_held_writev_sends_nothing)
{
	struct kt_op rx;

	REQUIRE_UFFD();
	memset(self->buf, 0, sizeof(self->buf));
	ASSERT_EQ(0, kt_op_recv(&rx, self->fd, self->buf, sizeof(self->buf)));
	ASSERT_EQ(0, kt_wait_for(self->fd, receivers, 1));
	HOLD(HELD_WRITEV, 5);
	ASSERT_EQ(0, held_kill(&self->held)) TH_LOG("the held sender did not die");

	kt_sleep_ms(KT_SETTLE_MS);
	EXPECT_FALSE(kt_op_done(&rx)) {
		TH_LOG("the receiver returned %zd: a killed send delivered", rx.ret);
	}
	{
		struct kchan_stat st;

		ASSERT_EQ(0, kt_stat(self->fd, &st));
		EXPECT_EQ(0ull, st.sent);
		EXPECT_EQ(0u, st.queued);
		EXPECT_EQ(0u, st.senders);
		EXPECT_EQ(1u, st.receivers);
	}
	kt_fill(self->msg, MSG_LEN, 6);
	ASSERT_EQ(MSG_LEN, kt_send(self->fd, self->msg, MSG_LEN));
	ASSERT_EQ(MSG_LEN, kt_op_result(&rx));
	EXPECT_TRUE(kt_check(self->buf, MSG_LEN, 6));
	expect_idle(_metadata, self->fd, 0, 1, 1);
}

/*
 * Remove the name while a writev is held: once the page arrives the whole
 * message is sent, its three parts in order.
 */
TEST_F(race, unlink_during_held_writev_then_resolve)
{
	struct held_report rep;

	REQUIRE_UFFD();
	use_named(_metadata, self, variant->capacity);
	HOLD(HELD_WRITEV, 7);
	ASSERT_EQ(0, kchan_unlink(self->name));
	EXPECT_NE(0, access(self->node, F_OK));
	ASSERT_EQ(0, held_resolve(&self->held, held_write_page(HELD_WRITEV, 7)));
	memset(self->buf, 0, sizeof(self->buf));
	ASSERT_EQ(MSG_LEN, recv_guarded(self->fd, self->buf, sizeof(self->buf)));
	EXPECT_TRUE(kt_check(self->buf, MSG_LEN, 7)) {
		TH_LOG("the message was not assembled from its three parts");
	}
	ASSERT_EQ(0, held_report(&self->held, &rep, KT_TIMEOUT_MS));
	EXPECT_EQ(MSG_LEN, rep.ret);
	expect_idle(_metadata, self->fd, 0, 1, 1);
}

/*
 * The held sender ends up with the only file. Once resolved, a buffered
 * send completes into a channel nobody else can read (freed with the
 * message still queued when the sender exits); a rendezvous one waits for
 * a receiver that cannot come, and SIGKILL ends it. Either way the channel
 * is freed.
 */
TEST_F(race, held_send_outlives_every_other_file)
{
	struct held_report rep;

	REQUIRE_UFFD();
	HOLD(HELD_WRITE, 8);
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, held_resolve(&self->held, held_write_page(HELD_WRITE, 8)));
	if (variant->capacity) {
		ASSERT_EQ(0, held_report(&self->held, &rep, KT_TIMEOUT_MS));
		EXPECT_EQ(MSG_LEN, rep.ret);
	} else {
		EXPECT_EQ(-ETIMEDOUT, held_report(&self->held, &rep,
						  KT_SETTLE_MS));
		ASSERT_EQ(0, held_kill(&self->held)) {
			TH_LOG("a sender waiting for a receiver did not die");
		}
	}
	EXPECT_EQ(0, kt_wait_unlisted(self->id, FREE_MS)) {
		TH_LOG("channel %llu outlived its last file",
		       (unsigned long long)self->id);
	}
}

/*
 * Rendezvous: a receiver is held in a fault on its buffer while a sender
 * waits. The receiver took nothing with it: the sender is in line, a
 * SIGKILL ends it at once and nothing was sent; once the page arrives
 * the receiver waits for the next message. The counters stay balanced.
 */
TEST(killed_sender_of_a_held_receive_sends_nothing)
{
	unsigned char msg[MSG_LEN];
	struct held_report rep;
	struct held h = { .pid = -1, .uffd = -1, .result = -1 };
	struct kchan_stat st;
	int fd, ret, status;
	pid_t tx;

	fd = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, fd);
	kt_fill(msg, MSG_LEN, 1);
	tx = kt_fork_send(fd, msg, MSG_LEN);
	ASSERT_LE(0, tx);
	ASSERT_EQ(0, kt_wait_for(fd, senders, 1));
	ret = held_start(&h, fd, HELD_READ, 0);
	if (ret == -EOPNOTSUPP) {
		kill(tx, SIGKILL);
		kt_reap_within(tx, KT_TIMEOUT_MS, &status);
		SKIP(return, "userfaultfd is not available");
	}
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(1u, st.senders);

	ASSERT_EQ(0, kill(tx, SIGKILL));
	EXPECT_EQ(0, kt_reap_within(tx, KT_TIMEOUT_MS, &status)) {
		TH_LOG("the sender did not die while a receiver was held");
	}
	ASSERT_EQ(0, kt_wait_for(fd, senders, 0));
	ASSERT_EQ(0, held_resolve(&h, NULL));
	ASSERT_EQ(0, kt_wait_for(fd, receivers, 1));
	EXPECT_EQ(-ETIMEDOUT, held_report(&h, &rep, KT_SETTLE_MS));
	ASSERT_EQ(0, held_kill(&h));

	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(0u, st.senders);
	EXPECT_EQ(0u, st.receivers);
	EXPECT_EQ(0ull, st.received);
	EXPECT_EQ(st.received, st.sent) {
		TH_LOG("a delivered message is counted as received (%llu) but not as sent (%llu)",
		       (unsigned long long)st.received,
		       (unsigned long long)st.sent);
	}
	held_cleanup(&h);
	close(fd);
}

/*
 * A select blocked with a send on rendezvous channel A and case @other
 * on channel B; a receiver on A is held in a fault on its buffer (its
 * copy once held the claimed send; now it puts the send back first); B
 * is closed; the receiver is killed, so any claim falls through. The
 * select must then see B's close: a send case fails with EPIPE naming
 * it, a receive case reports B closed; B gives end-of-file, never the
 * select's message.
 */
static void claimed_select_sees_close(struct __test_metadata *_metadata,
				      bool other_send)
{
	unsigned char msg_a[MSG_LEN], msg_b[MSG_LEN];
	unsigned char buf[MSG_MAX], buf2[MSG_MAX];
	struct held h = { .pid = -1, .uffd = -1, .result = -1 };
	struct kchan_stat st;
	struct kt_sel_op op = { 0 };
	int a, b, ret;

	a = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, a);
	b = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, b);
	kt_fill(msg_a, MSG_LEN, 1);
	kt_fill(msg_b, MSG_LEN, 2);
	op.cases[0] = kt_case_send(a, msg_a, MSG_LEN);
	op.cases[1] = other_send ? kt_case_send(b, msg_b, MSG_LEN) :
				   kt_case_recv(b, buf, sizeof(buf));
	op.n = 2;
	ASSERT_EQ(0, kt_sel_op_start(&op));
	ASSERT_EQ(0, kt_wait_for(a, senders, 1));
	if (other_send) {
		ASSERT_EQ(0, kt_wait_for(b, senders, 1));
	} else {
		ASSERT_EQ(0, kt_wait_for(b, receivers, 1));
	}

	ret = held_start(&h, a, HELD_READ, 0);
	if (ret == -EOPNOTSUPP) {
		held_cleanup(&h);
		kchan_close(a);
		kt_sel_op_result(&op, KT_TIMEOUT_MS);
		SKIP(return, "userfaultfd is not available");
	}
	ASSERT_EQ(0, ret) TH_LOG("held child: %s", strerror(-ret));
	/*
	 * The receiver's copy no longer takes its fault with the select's
	 * send claimed: it puts it back in line first, so the select may be
	 * claimed or waiting here; either way it must see B's close.
	 */
	EXPECT_FALSE(atomic_load(&op.done));

	ASSERT_EQ(0, kchan_close(b));
	ASSERT_EQ(0, held_kill(&h)) TH_LOG("the held receiver did not die");

	/* Nothing may come out of B after its close. */
	EXPECT_EQ(0, recv_guarded(b, buf2, sizeof(buf2)));
	ret = kt_sel_op_result(&op, KT_TIMEOUT_MS);
	if (other_send) {
		EXPECT_EQ(-EPIPE, ret) {
			TH_LOG("select with a send on closed B returned %d", ret);
		}
		EXPECT_EQ(1, op.out.index);
	} else {
		EXPECT_EQ(1, ret) {
			TH_LOG("select with a receive on closed B returned %d",
			       ret);
		}
		EXPECT_EQ(KCHAN_SELECT_CLOSED, op.out.result_flags);
		EXPECT_EQ(0ull, op.out.len);
	}
	if (ret == -ETIMEDOUT) {
		/* Unblock it through A, whatever it still waits for. */
		kchan_close(a);
		kt_sel_op_result(&op, KT_TIMEOUT_MS);
	}
	ASSERT_EQ(0, kt_stat(b, &st));
	EXPECT_EQ(0ull, st.sent);
	EXPECT_EQ(0ull, st.received);
	EXPECT_EQ(0u, st.senders);
	EXPECT_EQ(0u, st.receivers);
	ASSERT_EQ(0, kt_stat(a, &st));
	EXPECT_EQ(0ull, st.sent);
	EXPECT_EQ(0ull, st.received);
	EXPECT_EQ(0u, st.senders);
	held_cleanup(&h);
	close(a);
	close(b);
}

TEST(claimed_select_send_sees_close_of_its_other_send)
{
	claimed_select_sees_close(_metadata, true);
}

TEST(claimed_select_send_sees_close_of_its_receive)
{
	claimed_select_sees_close(_metadata, false);
}

/*
 * A stalled page fault in one process never stalls another: a receiver
 * committed in read() on a rendezvous channel whose buffer page is gone
 * (MADV_DONTNEED) and registered with a userfaultfd that nobody answers
 * yet. A sender that the receiver claims must not wait for that fault:
 * the receiver's copy cannot take it while the sender is claimed, puts
 * the sender back in line, and takes the fault holding nothing.
 */
enum stall_send {
	STALL_NONBLOCK,		/* write() on an O_NONBLOCK file: EAGAIN */
	STALL_NOWAIT,		/* pwritev2(RWF_NOWAIT): EAGAIN */
	STALL_URING,		/* io_uring write: completes later */
	STALL_SIGNAL,		/* blocking write, then a signal: EINTR */
	STALL_BLOCKING,		/* blocking write: delivered after the fault */
};

struct stall_sender {
	int fd;
	enum stall_send how;
	unsigned char msg[MSG_LEN];
	pid_t tid;
	ssize_t ret;		/* the call's result, or the CQE's */
	atomic_int returned;	/* the call (io_uring: the submit) returned */
	atomic_int done;	/* ret is final */
	pthread_t thread;
};

static void *stall_sender_thread(void *arg)
{
	struct stall_sender *s = arg;
	struct iovec iov = { s->msg, MSG_LEN };
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	ssize_t n;

	__atomic_store_n(&s->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	switch (s->how) {
	case STALL_NOWAIT:
		n = pwritev2(s->fd, &iov, 1, -1, RWF_NOWAIT);
		break;
	case STALL_URING:
		n = io_uring_queue_init(4, &ring, 0);
		if (n) {
			s->ret = n;
			atomic_store(&s->returned, 1);
			atomic_store(&s->done, 1);
			return NULL;
		}
		io_uring_prep_write(io_uring_get_sqe(&ring), s->fd, s->msg,
				    MSG_LEN, 0);
		n = io_uring_submit(&ring);
		atomic_store(&s->returned, 1);
		if (n == 1)
			n = io_uring_wait_cqe(&ring, &cqe);
		if (!n) {
			s->ret = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
		} else {
			s->ret = n < 0 ? n : -EIO;
		}
		io_uring_queue_exit(&ring);
		atomic_store(&s->done, 1);
		return NULL;
	default:
		n = write(s->fd, s->msg, MSG_LEN);
		break;
	}
	s->ret = n < 0 ? -errno : n;
	atomic_store(&s->returned, 1);
	atomic_store(&s->done, 1);
	return NULL;
}

/* Wait up to @ms for @flag; 0 or -ETIMEDOUT. */
static int stall_wait_flag(atomic_int *flag, int ms)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)ms * 1000000ull;

	while (!atomic_load(flag)) {
		if (kt_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/* How the receiver waits: read(), a batch of one, a select of one. */
enum stall_recv { RX_READ, RX_BATCH, RX_SELECT };

struct stall_receiver {
	enum stall_recv how;
	struct kt_op op;
	struct kchan_mmsg m;
	struct kt_sel_op sel;
};

static int stall_recv_start(struct stall_receiver *r, int fd, void *buf)
{
	switch (r->how) {
	case RX_BATCH:
		r->m = (struct kchan_mmsg){ .buf = (uintptr_t)buf,
					    .len = MSG_MAX };
		return kt_op_batch(&r->op, fd, KT_RECV_BATCH, &r->m, 1);
	case RX_SELECT:
		memset(&r->sel, 0, sizeof(r->sel));
		r->sel.cases[0] = kt_case_recv(fd, buf, MSG_MAX);
		r->sel.n = 1;
		return kt_sel_op_start(&r->sel);
	default:
		return kt_op_recv(&r->op, fd, buf, MSG_MAX);
	}
}

static bool stall_recv_done(struct stall_receiver *r)
{
	return r->how == RX_SELECT ? atomic_load(&r->sel.done) :
				     kt_op_done(&r->op);
}

/* The length received, or -errno. */
static ssize_t stall_recv_result(struct stall_receiver *r)
{
	ssize_t ret;

	switch (r->how) {
	case RX_BATCH:
		ret = kt_op_result(&r->op);
		return ret == 1 ? (ssize_t)r->m.len : (ret < 0 ? ret : -EIO);
	case RX_SELECT:
		ret = kt_sel_op_result(&r->sel, KT_TIMEOUT_MS);
		return ret == 0 ? (ssize_t)r->sel.out.len : (ret < 0 ? ret : -EIO);
	default:
		return kt_op_result(&r->op);
	}
}

static void claimed_sender_never_waits_for_a_fault(
	struct __test_metadata *_metadata, enum stall_send how,
	enum stall_recv rx_how)
{
	size_t pg = getpagesize();
	struct stall_sender s = { .how = how };
	struct stall_receiver rx = { .how = rx_how };
	unsigned char marker[MSG_LEN];
	struct kchan_stat st;
	bool delivered, stuck = false;
	__u64 addr = 0;
	int fd, uffd, ret;
	char *page;

	uffd = kt_uffd_open();
	if (uffd < 0)
		SKIP(return, "userfaultfd is not available");
	page = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, kt_uffd_register(uffd, page, pg));
	/* Present while the receiver commits, gone when it copies. */
	ASSERT_EQ(0, kt_uffd_zero(uffd, (unsigned long)page, pg));
	fd = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, fd);
	if (how == STALL_SIGNAL)
		ASSERT_EQ(0, kt_catch(SIGUSR1, false));

	ASSERT_EQ(0, stall_recv_start(&rx, fd, page));
	ASSERT_EQ(0, kt_wait_for(fd, receivers, 1));
	ASSERT_EQ(0, madvise(page, pg, MADV_DONTNEED));

	/* The receiver decided it blocks; the sender does not. */
	if (how == STALL_NONBLOCK)
		ASSERT_EQ(0, kt_set_nonblock(fd, true));
	s.fd = fd;
	kt_fill(s.msg, MSG_LEN, 1);
	ASSERT_EQ(0, -pthread_create(&s.thread, NULL, stall_sender_thread, &s));

	/* The receiver's fault is held from here until we resolve it. */
	ASSERT_EQ(0, kt_uffd_wait_fault(uffd, KT_TIMEOUT_MS, &addr));
	EXPECT_EQ((unsigned long)page, addr & ~(__u64)(pg - 1));
	if (how == STALL_SIGNAL) {
		/* Not claimed any more: an ordinary signal ends the wait. */
		ASSERT_EQ(0, kt_wait_for(fd, senders, 1));
		ASSERT_EQ(0, syscall(SYS_tgkill, getpid(),
				     __atomic_load_n(&s.tid, __ATOMIC_ACQUIRE),
				     SIGUSR1));
	}
	if (how == STALL_BLOCKING) {
		/* Back in line, waiting for a receiver that can copy. */
		EXPECT_EQ(0, kt_wait_for(fd, senders, 1));
		kt_sleep_ms(KT_SETTLE_MS);
		EXPECT_FALSE(atomic_load(&s.returned));
	} else {
		ret = stall_wait_flag(&s.returned, KT_TIMEOUT_MS);
		EXPECT_EQ(0, ret) {
			TH_LOG("the sender waited for another process's page fault");
		}
		/* If so, it completes once the fault is resolved. */
		stuck = ret != 0;
	}
	EXPECT_FALSE(stall_recv_done(&rx));
	if (!stuck && (how == STALL_NONBLOCK || how == STALL_NOWAIT)) {
		EXPECT_EQ(-EAGAIN, s.ret);
	} else if (how == STALL_SIGNAL) {
		EXPECT_EQ(-EINTR, s.ret);
	}

	/* Resolve: the receiver takes again. */
	ASSERT_EQ(0, kt_uffd_zero(uffd, (unsigned long)page, pg));
	ASSERT_EQ(0, kt_set_nonblock(fd, false));
	delivered = how == STALL_URING || how == STALL_BLOCKING || stuck;
	if (!delivered) {
		/* Nothing was sent: the receiver gets the next message. */
		kt_fill(marker, MSG_LEN, 2);
		ASSERT_EQ(MSG_LEN, kt_send(fd, marker, MSG_LEN));
	}
	ASSERT_EQ(MSG_LEN, stall_recv_result(&rx));
	EXPECT_TRUE(kt_check(page, MSG_LEN, delivered ? 1 : 2));
	ASSERT_EQ(0, stall_wait_flag(&s.done, KT_TIMEOUT_MS));
	pthread_join(s.thread, NULL);
	if (delivered)
		EXPECT_EQ(MSG_LEN, s.ret);
	/* Exactly once: one message sent, one received, nothing left. */
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(1ull, st.sent);
	EXPECT_EQ(1ull, st.received);
	EXPECT_EQ(0u, st.senders);
	EXPECT_EQ(0u, st.receivers);
	kt_expect_empty(_metadata, fd);
	close(fd);
	close(uffd);
	munmap(page, pg);
}

TEST(claimed_nonblock_write_never_waits_for_a_fault)
{
	claimed_sender_never_waits_for_a_fault(_metadata, STALL_NONBLOCK, RX_READ);
}

TEST(claimed_nowait_pwritev2_never_waits_for_a_fault)
{
	claimed_sender_never_waits_for_a_fault(_metadata, STALL_NOWAIT, RX_READ);
}

TEST(claimed_uring_write_never_waits_for_a_fault)
{
	claimed_sender_never_waits_for_a_fault(_metadata, STALL_URING, RX_READ);
}

TEST(claimed_blocking_write_stays_interruptible_during_a_fault)
{
	claimed_sender_never_waits_for_a_fault(_metadata, STALL_SIGNAL, RX_READ);
}

TEST(claimed_blocking_write_is_delivered_after_a_fault)
{
	claimed_sender_never_waits_for_a_fault(_metadata, STALL_BLOCKING, RX_READ);
}

/* The same for a batch receive and a select's receive case. */
TEST(claimed_nonblock_write_never_waits_for_a_batch_fault)
{
	claimed_sender_never_waits_for_a_fault(_metadata, STALL_NONBLOCK,
					       RX_BATCH);
}

TEST(claimed_blocking_write_is_delivered_after_a_batch_fault)
{
	claimed_sender_never_waits_for_a_fault(_metadata, STALL_BLOCKING,
					       RX_BATCH);
}

TEST(claimed_nonblock_write_never_waits_for_a_select_fault)
{
	claimed_sender_never_waits_for_a_fault(_metadata, STALL_NONBLOCK,
					       RX_SELECT);
}

TEST(claimed_blocking_write_is_delivered_after_a_select_fault)
{
	claimed_sender_never_waits_for_a_fault(_metadata, STALL_BLOCKING,
					       RX_SELECT);
}

/* A fixture of its own, registered last, so that this runs last. */
FIXTURE(module) {
};

FIXTURE_SETUP(module)
{
}

FIXTURE_TEARDOWN(module)
{
	/* Whatever happened, leave the module loaded. */
	if (!kt_module_loaded())
		kt_load("");
}

/*
 * A held receiver pins the module (its file does); once it is killed
 * the module unloads, and loads again.
 */
TEST_F(module, unloads_after_a_held_receive)
{
	unsigned char msg[MSG_LEN];
	struct held h = { .pid = -1, .uffd = -1, .result = -1 };
	int fd, ret, ko;

	if (access("/sys/module/kchan/initstate", F_OK))
		SKIP(return, "kchan is not a loaded module");
	ko = open(kt_ko_path(), O_RDONLY | O_CLOEXEC);
	if (ko < 0)
		SKIP(return, "%s: %s", kt_ko_path(), strerror(errno));
	close(ko);

	fd = kt_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC);
	ASSERT_LE(0, fd);
	kt_fill(msg, MSG_LEN, 1);
	ASSERT_EQ(MSG_LEN, kt_send(fd, msg, MSG_LEN));
	ret = held_start(&h, fd, HELD_READ, 0);
	close(fd);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "userfaultfd is not available");
	ASSERT_EQ(0, ret);

	ret = kt_unload();
	ASSERT_EQ(-EWOULDBLOCK, ret) {
		TH_LOG("delete_module with a receive in flight: %s",
		       ret ? strerror(-ret) : "succeeded");
	}
	ASSERT_EQ(0, held_kill(&h));
	held_cleanup(&h);

	ret = kt_unload_within(RELEASE_MS);
	EXPECT_EQ(0, ret) TH_LOG("delete_module: %s", strerror(-ret));
	EXPECT_NE(0, access(KT_CHANCTL, F_OK));
	ret = kt_load("");
	ASSERT_EQ(0, ret) TH_LOG("loading %s again: %s", kt_ko_path(), strerror(-ret));
	fd = kt_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, fd) TH_LOG("no channel after reloading: %s", strerror(-fd));
	ASSERT_EQ(MSG_LEN, kt_send(fd, msg, MSG_LEN));
	ASSERT_EQ(MSG_LEN, kt_recv(fd, msg, sizeof(msg)));
	close(fd);
}

TEST_HARNESS_MAIN
