// SPDX-License-Identifier: GPL-2.0
/*
 * Channels in messages: a carrier's message carries channel references
 * (KCHAN_IOC_SENDMSG / KCHAN_IOC_RECVMSG, select cases), the receiver
 * gets new descriptors with the sender's direction or a narrower one,
 * only plain kchan channels can be carried, never a carrier, and the
 * references are received exactly once or stay with their message.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt.h"
#include "kt_bg.h"
#include "kt_sys.h"
#include "kt_fault.h"
#include "kt_harness.h"
#include "kt_select.h"

#define MSG_MAX		64
#define CAPACITY	4u
#define STORM_ROUNDS	400
#define STORM_TIMEOUT	300

static int make_carrier(unsigned int capacity)
{
	return kchan_make(capacity, MSG_MAX, KCHAN_CARRIER);
}

static int make_plain(void)
{
	return kchan_make(CAPACITY, MSG_MAX, 0);
}

static __u64 chan_id(int fd)
{
	struct kchan_stat st;

	return kt_stat(fd, &st) ? 0 : st.id;
}

static struct kchan_chanref ref(int fd, unsigned int dir)
{
	return (struct kchan_chanref){ .fd = fd, .dir = dir };
}

/* The bytes the calling user holds through kchan. */
static unsigned long long user_bytes(void)
{
	struct kchan_version v = { 0 };
	int ctl = open(KT_CHANCTL, O_RDWR | O_CLOEXEC);

	if (ctl >= 0) {
		if (ioctl(ctl, KCHAN_IOC_VERSION, &v))
			v.user_bytes = ~0ULL;
		close(ctl);
	}
	return v.user_bytes;
}

/* Wait until the user's bytes are back to @want. */
static int wait_user_bytes(unsigned long long want)
{
	uint64_t deadline = kt_now_ns() + KT_TIMEOUT_MS * 1000000ull;

	while (user_bytes() != want) {
		if (kt_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/* A channel works end to end through @a (sending) and @b (receiving). */
static int works(int a, int b, unsigned int seed)
{
	char out[8], in[MSG_MAX];

	kt_fill(out, sizeof(out), seed);
	if (kt_send(a, out, sizeof(out)) != sizeof(out))
		return -1;
	if (kt_recv(b, in, sizeof(in)) != sizeof(out))
		return -2;
	return kt_check(in, sizeof(out), seed) ? 0 : -3;
}

/*
 * A carrier (buffered, or rendezvous with a sender thread) and a plain
 * channel to carry.
 */
FIXTURE(carrier) {
	int c;
	int n;
};

FIXTURE_VARIANT(carrier) {
	unsigned int capacity;
};

FIXTURE_VARIANT_ADD(carrier, rendezvous) {
	.capacity = 0,
};

FIXTURE_VARIANT_ADD(carrier, buffered) {
	.capacity = CAPACITY,
};

FIXTURE_SETUP(carrier)
{
	self->c = make_carrier(variant->capacity);
	ASSERT_LE(0, self->c) {
		TH_LOG("creating a carrier: %s (is the module loaded?)",
		       strerror(-self->c));
	}
	self->n = make_plain();
	ASSERT_LE(0, self->n);
}

FIXTURE_TEARDOWN(carrier)
{
	close(self->c);
	close(self->n);
}

/* A SENDMSG in the background, for rendezvous carriers. */
struct bg_send {
	pthread_t thread;
	int fd;
	char buf[MSG_MAX];
	size_t len;
	struct kchan_chanref refs[KCHAN_CHANS_MAX];
	unsigned int n;
	ssize_t ret;
};

static void *bg_send_thread(void *arg)
{
	struct bg_send *b = arg;

	b->ret = kt_sendmsg(b->fd, b->buf, b->len, b->refs, b->n, 0);
	return NULL;
}

/*
 * Send @len bytes of @text carrying @refs: at once on a buffered
 * carrier, from a thread on a rendezvous one (bg_finish() joins it).
 */
static int bg_start(struct bg_send *b, int fd, const char *text,
		    const struct kchan_chanref *refs, unsigned int n)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->len = strlen(text);
	memcpy(b->buf, text, b->len);
	memcpy(b->refs, refs, n * sizeof(*refs));
	b->n = n;
	return pthread_create(&b->thread, NULL, bg_send_thread, b) ? -1 : 0;
}

static ssize_t bg_finish(struct bg_send *b)
{
	pthread_join(b->thread, NULL);
	return b->ret;
}

TEST(version_reports_channels_in_messages)
{
	int fd = make_plain();
	struct kchan_version v;
	struct kchan_stat st;
	int c = make_carrier(1);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, ioctl(fd, KCHAN_IOC_VERSION, &v));
	EXPECT_TRUE(!!(v.features & KCHAN_FEATURE_CHANS));
	ASSERT_EQ(0, kt_stat(c, &st));
	EXPECT_TRUE(!!(st.flags & KCHAN_STAT_CARRIER));
	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_FALSE(!!(st.flags & KCHAN_STAT_CARRIER));
	close(fd);
	close(c);
}

TEST_F(carrier, a_carried_channel_arrives_as_a_new_cloexec_fd_of_the_same_channel)
{
	struct kchan_chanref out = ref(self->n, 0), in[KCHAN_CHANS_MAX];
	unsigned int n = KCHAN_CHANS_MAX;
	struct bg_send b;
	char buf[MSG_MAX];

	ASSERT_EQ(0, bg_start(&b, self->c, "request", &out, 1));
	memset(in, 0xff, sizeof(in));
	ASSERT_EQ(7, kt_recvmsg(self->c, buf, sizeof(buf), in, &n, 0));
	ASSERT_EQ(7, bg_finish(&b));
	ASSERT_EQ(0, memcmp(buf, "request", 7));
	ASSERT_EQ(1u, n);
	ASSERT_LE(0, in[0].fd);
	EXPECT_NE(self->n, in[0].fd);
	EXPECT_EQ(KCHAN_DIR_ALL, in[0].dir);
	EXPECT_EQ(FD_CLOEXEC, fcntl(in[0].fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(in[0].fd, F_GETFL) & O_ACCMODE);
	EXPECT_FALSE(fcntl(in[0].fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(chan_id(self->n), chan_id(in[0].fd));
	/* Entries beyond those that came are left alone. */
	EXPECT_EQ(-1, in[1].fd);
	/* One channel, two descriptors: each end reaches the other. */
	EXPECT_EQ(0, works(in[0].fd, self->n, 1));
	EXPECT_EQ(0, works(self->n, in[0].fd, 2));
	close(in[0].fd);
}

TEST_F(carrier, the_sender_may_close_its_fd_at_once_and_the_receiver_still_uses_it)
{
	struct kchan_chanref out = ref(self->n, 0), in;
	unsigned int n = 1;
	__u64 id = chan_id(self->n);
	struct bg_send b;
	char buf[MSG_MAX];
	int keep;

	/* A second descriptor to watch the channel through, closed below. */
	keep = dup(self->n);
	ASSERT_LE(0, keep);
	ASSERT_EQ(0, bg_start(&b, self->c, "reply-to", &out, 1));
	ASSERT_EQ(0, kt_wait_offered(self->c, variant->capacity));
	if (variant->capacity)
		ASSERT_EQ(8, bg_finish(&b));
	/* Every descriptor of the sender's is gone; only the message holds it. */
	close(self->n);
	close(keep);
	self->n = -1;
	ASSERT_EQ(8, kt_recvmsg(self->c, buf, sizeof(buf), &in, &n, 0));
	if (!variant->capacity)
		ASSERT_EQ(8, bg_finish(&b));
	ASSERT_EQ(1u, n);
	EXPECT_EQ(id, chan_id(in.fd));
	EXPECT_EQ(0, works(in.fd, in.fd, 3));
	/* The receiver's descriptor was the last reference. */
	close(in.fd);
	EXPECT_EQ(0, kt_wait_unlisted(id, KT_TIMEOUT_MS));
}

TEST_F(carrier, the_sender_may_send_a_receive_only_end)
{
	struct kchan_chanref out = ref(self->n, KCHAN_DIR_RECV), in;
	unsigned int n = 1;
	struct bg_send b;
	char buf[MSG_MAX];

	ASSERT_EQ(0, bg_start(&b, self->c, "ro", &out, 1));
	ASSERT_EQ(2, kt_recvmsg(self->c, buf, sizeof(buf), &in, &n, 0));
	ASSERT_EQ(2, bg_finish(&b));
	ASSERT_EQ(1u, n);
	EXPECT_EQ(KCHAN_DIR_RECV, in.dir);
	EXPECT_EQ(O_RDONLY, fcntl(in.fd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(-EBADF, kt_send(in.fd, "x", 1));
	EXPECT_EQ(-EBADF, kchan_close(in.fd));
	EXPECT_EQ(0, works(self->n, in.fd, 4));
	close(in.fd);
}

TEST(a_direction_the_fd_lacks_is_ebadf_and_nothing_is_sent)
{
	int c = make_carrier(CAPACITY), n = make_plain();
	struct kchan_chanref out = ref(n, KCHAN_DIR_SEND), in;
	unsigned int got = 1;
	struct kchan_stat st;
	char buf[MSG_MAX];
	int ro;

	ASSERT_LE(0, c);
	ASSERT_LE(0, n);
	/* A send-only end, narrowed on the way... */
	ASSERT_EQ(1, kt_sendmsg(c, "w", 1, &out, 1, 0));
	ASSERT_EQ(1, kt_recvmsg(c, buf, sizeof(buf), &in, &got, 0));
	ASSERT_EQ(KCHAN_DIR_SEND, in.dir);
	/* ...cannot be widened again, nor sent as a receive-only one. */
	out = ref(in.fd, KCHAN_DIR_ALL);
	EXPECT_EQ(-EBADF, kt_sendmsg(c, "x", 1, &out, 1, 0));
	out = ref(in.fd, KCHAN_DIR_RECV);
	EXPECT_EQ(-EBADF, kt_sendmsg(c, "x", 1, &out, 1, 0));
	out = ref(in.fd, 1U << 2);
	EXPECT_EQ(-EINVAL, kt_sendmsg(c, "x", 1, &out, 1, 0));
	ASSERT_EQ(0, kt_stat(c, &st));
	EXPECT_EQ(0u, st.queued);
	ro = in.fd;
	out = ref(ro, 0);
	ASSERT_EQ(1, kt_sendmsg(c, "y", 1, &out, 1, 0));
	got = 1;
	ASSERT_EQ(1, kt_recvmsg(c, buf, sizeof(buf), &in, &got, 0));
	EXPECT_EQ(KCHAN_DIR_SEND, in.dir);
	EXPECT_EQ(O_WRONLY, fcntl(in.fd, F_GETFL) & O_ACCMODE);
	close(in.fd);
	close(ro);
	close(c);
	close(n);
}

TEST(the_receiver_may_ask_for_nonblocking_fds)
{
	int c = make_carrier(CAPACITY), n = make_plain();
	struct kchan_chanref out = ref(n, 0), in;
	unsigned int got = 1;
	char buf[MSG_MAX];

	ASSERT_LE(0, c);
	ASSERT_LE(0, n);
	ASSERT_EQ(1, kt_sendmsg(c, "a", 1, &out, 1, 0));
	ASSERT_EQ(1, kt_recvmsg(c, buf, sizeof(buf), &in, &got,
				   KCHAN_MSG_FD_NONBLOCK));
	ASSERT_EQ(1u, got);
	EXPECT_TRUE(fcntl(in.fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fcntl(in.fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-EAGAIN, kt_recv(in.fd, buf, sizeof(buf)));
	/* The sender's own descriptor keeps its flags. */
	EXPECT_FALSE(fcntl(n, F_GETFL) & O_NONBLOCK);
	close(in.fd);
	close(c);
	close(n);
}

TEST(only_kchan_channels_can_be_carried)
{
	int c = make_carrier(CAPACITY), sfd = kt_selfd(O_CLOEXEC);
	struct kchan_chanref out;
	struct kchan_stat st;
	int p[2];

	ASSERT_LE(0, c);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	out = ref(p[0], 0);
	EXPECT_EQ(-EINVAL, kt_sendmsg(c, "x", 1, &out, 1, 0));
	out = ref(sfd, 0);
	EXPECT_EQ(-EINVAL, kt_sendmsg(c, "x", 1, &out, 1, 0));
	out = ref(open(KT_CHANCTL, O_RDWR | O_CLOEXEC), 0);
	ASSERT_LE(0, out.fd);
	EXPECT_EQ(-EINVAL, kt_sendmsg(c, "x", 1, &out, 1, 0));
	close(out.fd);
	out = ref(-1, 0);
	EXPECT_EQ(-EBADF, kt_sendmsg(c, "x", 1, &out, 1, 0));
	out = ref(p[1] + 100, 0);
	EXPECT_EQ(-EBADF, kt_sendmsg(c, "x", 1, &out, 1, 0));
	ASSERT_EQ(0, kt_stat(c, &st));
	EXPECT_EQ(0u, st.queued);
	EXPECT_EQ(0u, st.sent);
	close(p[0]);
	close(p[1]);
	close(sfd);
	close(c);
}

TEST(a_carrier_is_refused_as_cargo)
{
	int c = make_carrier(CAPACITY), other = make_carrier(0);
	int n = make_plain();
	struct kchan_chanref out[2] = { ref(n, 0), ref(other, 0) };
	struct kchan_stat st;

	ASSERT_LE(0, c);
	ASSERT_LE(0, other);
	ASSERT_LE(0, n);
	/* Another carrier, itself, or among plain channels: refused whole. */
	EXPECT_EQ(-EINVAL, kt_sendmsg(c, "x", 1, &out[1], 1, 0));
	out[1] = ref(c, KCHAN_DIR_RECV);
	EXPECT_EQ(-EINVAL, kt_sendmsg(c, "x", 1, &out[1], 1, 0));
	EXPECT_EQ(-EINVAL, kt_sendmsg(c, "x", 1, out, 2, 0));
	ASSERT_EQ(0, kt_stat(c, &st));
	EXPECT_EQ(0u, st.queued);
	/* The carrier still carries what it may. */
	EXPECT_EQ(1, kt_sendmsg(c, "x", 1, out, 1, 0));
	close(c);
	close(other);
	close(n);
}

TEST(only_a_carrier_carries_channels)
{
	int n = make_plain(), m = make_plain();
	struct kchan_chanref out = ref(m, 0), in;
	unsigned int got = 1;
	char buf[MSG_MAX];

	ASSERT_LE(0, n);
	ASSERT_LE(0, m);
	EXPECT_EQ(-EINVAL, kt_sendmsg(n, "x", 1, &out, 1, 0));
	/* Without channels the calls work on any channel. */
	EXPECT_EQ(1, kt_sendmsg(n, "y", 1, NULL, 0, 0));
	EXPECT_EQ(1, kt_recvmsg(n, buf, sizeof(buf), &in, &got, 0));
	EXPECT_EQ(0u, got);
	EXPECT_EQ('y', buf[0]);
	close(n);
	close(m);
}

TEST(at_most_kchan_chans_max_channels_ride_on_one_message)
{
	int c = make_carrier(CAPACITY), n = make_plain();
	struct kchan_chanref out[KCHAN_CHANS_MAX + 1], in[KCHAN_CHANS_MAX + 1];
	struct kchan_msghdr h = { 0 };
	unsigned int i, got = KCHAN_CHANS_MAX + 1;
	char buf[MSG_MAX];

	ASSERT_LE(0, c);
	ASSERT_LE(0, n);
	for (i = 0; i <= KCHAN_CHANS_MAX; i++)
		out[i] = ref(n, 0);
	EXPECT_EQ(-EINVAL, kt_sendmsg(c, "x", 1, out, KCHAN_CHANS_MAX + 1, 0));
	EXPECT_EQ(-EINVAL, kt_recvmsg(c, buf, sizeof(buf), in, &got, 0));
	/* Reserved fields and unknown flags. */
	h.buf = (unsigned long)"x";
	h.len = 1;
	h.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(c, KCHAN_IOC_SENDMSG, &h));
	EXPECT_EQ(EINVAL, errno);
	h.reserved[1] = 0;
	h.flags = 1U << 7;
	EXPECT_EQ(-1, ioctl(c, KCHAN_IOC_SENDMSG, &h));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, kt_sendmsg(c, "", 0, NULL, 0, 0));

	ASSERT_EQ(1, kt_sendmsg(c, "x", 1, out, KCHAN_CHANS_MAX, 0));
	got = KCHAN_CHANS_MAX;
	ASSERT_EQ(1, kt_recvmsg(c, buf, sizeof(buf), in, &got, 0));
	ASSERT_EQ((unsigned int)KCHAN_CHANS_MAX, got);
	for (i = 0; i < KCHAN_CHANS_MAX; i++) {
		EXPECT_EQ(chan_id(n), chan_id(in[i].fd));
		close(in[i].fd);
	}
	close(c);
	close(n);
}

/* A message carrying one channel waits in @c; every route without room. */
TEST_F(carrier, a_receive_without_room_for_the_channels_is_etoomanyrefs_and_the_message_stays)
{
	struct kchan_chanref out = ref(self->n, 0), in;
	struct kchan_mmsg mm = { 0 };
	struct kchan_batch batch = { 0 };
	struct kchan_case cs;
	unsigned int got = 0;
	struct kchan_stat st;
	struct bg_send b;
	char buf[MSG_MAX];

	ASSERT_EQ(0, bg_start(&b, self->c, "carried", &out, 1));
	ASSERT_EQ(0, kt_wait_offered(self->c, variant->capacity));
	ASSERT_EQ(0, kt_stat(self->c, &st));
	EXPECT_EQ(7u, st.next_len);
	EXPECT_EQ(1u, st.next_nchans);

	EXPECT_EQ(-ETOOMANYREFS, kt_recv(self->c, buf, sizeof(buf)));
	EXPECT_EQ(-ETOOMANYREFS,
		  kt_recvmsg(self->c, buf, sizeof(buf), &in, &got, 0));
	mm.buf = (unsigned long)buf;
	mm.len = sizeof(buf);
	batch.msgs = (unsigned long)&mm;
	batch.nmsgs = 1;
	EXPECT_EQ(-1, ioctl(self->c, KCHAN_IOC_RECV_BATCH, &batch));
	EXPECT_EQ(ETOOMANYREFS, errno);
	cs = kt_case_recv(self->c, buf, sizeof(buf));
	EXPECT_EQ(-ETOOMANYREFS, kt_select(&cs, 1, KCHAN_SELECT_NONBLOCK, NULL));

	/* Still first in line, with its channel, for a receiver with room. */
	ASSERT_EQ(0, kt_stat(self->c, &st));
	EXPECT_EQ(1u, st.next_nchans);
	EXPECT_EQ(0u, st.received);
	got = 1;
	ASSERT_EQ(7, kt_recvmsg(self->c, buf, sizeof(buf), &in, &got, 0));
	ASSERT_EQ(7, bg_finish(&b));
	ASSERT_EQ(1u, got);
	EXPECT_EQ(0, works(in.fd, self->n, 5));
	close(in.fd);
}

static int count_open_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

TEST_F(carrier, a_receiver_with_a_full_fd_table_gets_emfile_and_the_message_stays)
{
	struct kchan_chanref out[2] = { ref(self->n, 0), ref(self->n, 0) };
	struct kchan_chanref in[2];
	struct rlimit rl;
	unsigned int got = 2;
	struct kchan_stat st;
	struct bg_send b;
	char buf[MSG_MAX];
	int free_fd, before;

	ASSERT_EQ(0, bg_start(&b, self->c, "two", out, 2));
	ASSERT_EQ(0, kt_wait_offered(self->c, variant->capacity));
	/* Room for one more descriptor only. */
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	free_fd = dup(0);
	ASSERT_LE(0, free_fd);
	close(free_fd);
	rl.rlim_cur = free_fd + 1;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	before = count_open_fds();

	EXPECT_EQ(-EMFILE, kt_recvmsg(self->c, buf, sizeof(buf), in, &got, 0));
	EXPECT_EQ(before, count_open_fds());
	ASSERT_EQ(0, kt_stat(self->c, &st));
	EXPECT_EQ(2u, st.next_nchans);
	EXPECT_EQ(0u, st.received);

	rl.rlim_cur = 1024;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	got = 2;
	ASSERT_EQ(3, kt_recvmsg(self->c, buf, sizeof(buf), in, &got, 0));
	ASSERT_EQ(3, bg_finish(&b));
	ASSERT_EQ(2u, got);
	EXPECT_EQ(0, works(in[0].fd, in[1].fd, 6));
	close(in[0].fd);
	close(in[1].fd);
}

/*
 * A child receives into a page that faults to userfaultfd, and is killed
 * while its receive is held there. The message and its channel stay.
 */
static void held_receiver(int c, int sock)
{
	size_t pg = getpagesize();
	struct kchan_chanref in;
	unsigned int got = 1;
	__u64 page;
	char *area;
	int uffd;

	area = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		_exit(1);
	uffd = kt_uffd_open();
	if (uffd >= 0 && kt_uffd_register(uffd, area, pg)) {
		close(uffd);
		uffd = -1;
	}
	page = (unsigned long)area;
	/* No descriptor: userfaultfd is not available, the test skips. */
	if (kt_send_fd(sock, uffd, &page, sizeof(page)) || uffd < 0)
		_exit(1);
	kt_recvmsg(c, area, MSG_MAX, &in, &got, 0);
	_exit(2);
}

TEST_F(carrier, a_receiver_killed_mid_receive_leaves_the_message_and_its_channel)
{
	struct kchan_chanref out = ref(self->n, 0), in;
	unsigned int got = 1;
	struct kchan_stat st;
	struct bg_send b;
	char buf[MSG_MAX];
	__u64 page, addr = 0;
	int sv[2], uffd, status;
	pid_t pid;

	ASSERT_EQ(0, bg_start(&b, self->c, "held", &out, 1));
	ASSERT_EQ(0, kt_wait_offered(self->c, variant->capacity));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(sv[0]);
		held_receiver(self->c, sv[1]);
	}
	close(sv[1]);
	uffd = kt_recv_fd(sv[0], &page, sizeof(page), KT_TIMEOUT_MS);
	close(sv[0]);
	if (uffd == -ENOENT) {
		waitpid(pid, NULL, 0);
		kt_recvmsg(self->c, buf, sizeof(buf), &in, &got, 0);
		close(in.fd);
		bg_finish(&b);
		SKIP(return, "no userfaultfd");
	}
	ASSERT_LE(0, uffd);
	ASSERT_EQ(0, kt_uffd_wait_fault(uffd, KT_TIMEOUT_MS, &addr));
	EXPECT_EQ(page, addr & ~(__u64)(getpagesize() - 1));
	if (variant->capacity) {
		/* Taken: the child holds it, in the middle of its copy. */
		ASSERT_EQ(0, kt_stat(self->c, &st));
		EXPECT_EQ(0u, st.queued);
	}
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(0, kt_reap_within(pid, KT_TIMEOUT_MS, &status));
	EXPECT_TRUE(WIFSIGNALED(status));
	close(uffd);

	ASSERT_EQ(0, kt_stat(self->c, &st));
	EXPECT_EQ(1u, st.next_nchans);
	EXPECT_EQ(0u, st.received);
	ASSERT_EQ(4, kt_recvmsg(self->c, buf, sizeof(buf), &in, &got, 0));
	ASSERT_EQ(4, bg_finish(&b));
	ASSERT_EQ(1u, got);
	EXPECT_EQ(0, memcmp(buf, "held", 4));
	EXPECT_EQ(0, works(self->n, in.fd, 7));
	close(in.fd);
}

TEST(channels_in_messages_never_received_are_dropped_with_the_carrier)
{
	unsigned long long base = user_bytes();
	int c = make_carrier(CAPACITY), n = make_plain();
	struct kchan_chanref out[KCHAN_CHANS_MAX];
	__u64 id = chan_id(n);
	unsigned int i;
	bool listed;

	ASSERT_LE(0, c);
	ASSERT_LE(0, n);
	for (i = 0; i < KCHAN_CHANS_MAX; i++)
		out[i] = ref(n, 0);
	for (i = 0; i < CAPACITY; i++)
		ASSERT_EQ(1, kt_sendmsg(c, "q", 1, out, KCHAN_CHANS_MAX, 0));
	close(n);
	/* Only the messages hold the channel now. */
	ASSERT_LE(0, kt_proc_scan(id, &listed));
	EXPECT_TRUE(listed);
	close(c);
	EXPECT_EQ(0, kt_wait_unlisted(id, KT_TIMEOUT_MS));
	EXPECT_EQ(0, wait_user_bytes(base));
}

TEST(channels_in_flight_count_in_the_senders_budget)
{
	int c = make_carrier(CAPACITY), n = make_plain();
	struct kchan_chanref out[KCHAN_CHANS_MAX], in[KCHAN_CHANS_MAX];
	unsigned long long base, plain, carrying;
	unsigned int i, got = KCHAN_CHANS_MAX;
	char buf[MSG_MAX];

	ASSERT_LE(0, c);
	ASSERT_LE(0, n);
	for (i = 0; i < KCHAN_CHANS_MAX; i++)
		out[i] = ref(n, 0);
	/* A first message, so that spares are the same before and after. */
	ASSERT_EQ(1, kt_sendmsg(c, "p", 1, NULL, 0, 0));
	ASSERT_EQ(1, kt_recv(c, buf, sizeof(buf)));
	base = user_bytes();
	ASSERT_EQ(1, kt_sendmsg(c, "p", 1, NULL, 0, 0));
	plain = user_bytes() - base;
	ASSERT_EQ(1, kt_recv(c, buf, sizeof(buf)));
	ASSERT_EQ(0, wait_user_bytes(base));
	ASSERT_EQ(1, kt_sendmsg(c, "p", 1, out, KCHAN_CHANS_MAX, 0));
	carrying = user_bytes() - base;
	TH_LOG("a message: %llu bytes; with %d channels: %llu", plain,
	       KCHAN_CHANS_MAX, carrying);
	/* At least a struct file (> 128 bytes) per reference. */
	EXPECT_LE(plain + KCHAN_CHANS_MAX * 128, carrying);
	ASSERT_EQ(1, kt_recvmsg(c, buf, sizeof(buf), in, &got, 0));
	for (i = 0; i < got; i++)
		close(in[i].fd);
	EXPECT_EQ(0, wait_user_bytes(base));
	close(c);
	close(n);
}

TEST(a_write_end_in_flight_keeps_an_autoclose_channel_open)
{
	int c = make_carrier(CAPACITY);
	int n = kchan_make(CAPACITY, MSG_MAX, KCHAN_AUTOCLOSE);
	struct kchan_chanref out = ref(n, 0), in;
	unsigned int got = 1;
	struct kchan_stat st;
	char buf[MSG_MAX];

	ASSERT_LE(0, c);
	ASSERT_LE(0, n);
	ASSERT_EQ(1, kt_sendmsg(c, "w", 1, &out, 1, 0));
	close(n);
	ASSERT_EQ(1, kt_recvmsg(c, buf, sizeof(buf), &in, &got, 0));
	ASSERT_EQ(0, kt_stat(in.fd, &st));
	EXPECT_FALSE(!!(st.flags & KCHAN_STAT_CLOSED));
	EXPECT_EQ(0, works(in.fd, in.fd, 8));
	close(in.fd);
	close(c);
}

TEST_F(carrier, select_cases_send_and_receive_channels)
{
	struct kchan_chanref out = ref(self->n, KCHAN_DIR_SEND), in[2];
	struct kchan_msghdr sh = {
		.buf = (unsigned long)"sel", .len = 3,
		.chans = (unsigned long)&out, .nchans = 1,
	};
	char buf[MSG_MAX];
	struct kchan_msghdr rh = {
		.buf = (unsigned long)buf, .len = sizeof(buf),
		.chans = (unsigned long)in, .nchans = 2,
		.flags = KCHAN_MSG_FD_NONBLOCK,
	};
	struct kchan_case sc = {
		.fd = self->c, .op = KCHAN_OP_SENDMSG,
		.buf = (unsigned long)&sh, .len = sizeof(sh),
	};
	struct kchan_case rc = {
		.fd = self->c, .op = KCHAN_OP_RECVMSG,
		.buf = (unsigned long)&rh, .len = sizeof(rh),
	};
	struct kt_sel_op op;

	memset(&op, 0, sizeof(op));
	op.cases[0] = sc;
	op.n = 1;
	ASSERT_EQ(0, kt_sel_op_start(&op));
	ASSERT_EQ(0, kt_select(&rc, 1, 0, NULL));
	ASSERT_EQ(0, kt_sel_op_result(&op, KT_TIMEOUT_MS));
	ASSERT_EQ(1u, rh.nchans);
	EXPECT_EQ(0, memcmp(buf, "sel", 3));
	EXPECT_EQ(KCHAN_DIR_SEND, in[0].dir);
	EXPECT_EQ(O_WRONLY, fcntl(in[0].fd, F_GETFL) & O_ACCMODE);
	EXPECT_TRUE(fcntl(in[0].fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, works(in[0].fd, self->n, 9));
	close(in[0].fd);

	/* A header of the wrong size, or with a flag a select cannot take. */
	rc.len = sizeof(rh) - 8;
	EXPECT_EQ(-EINVAL, kt_select(&rc, 1, KCHAN_SELECT_NONBLOCK, NULL));
	rc.len = sizeof(rh);
	rh.flags = KCHAN_MSG_NONBLOCK;
	EXPECT_EQ(-EINVAL, kt_select(&rc, 1, KCHAN_SELECT_NONBLOCK, NULL));
}

TEST_F(carrier, an_armed_select_file_receives_channels_when_read)
{
	struct kchan_chanref out = ref(self->n, 0), in;
	char buf[MSG_MAX];
	struct kchan_msghdr rh = {
		.buf = (unsigned long)buf, .len = sizeof(buf),
		.chans = (unsigned long)&in, .nchans = 1,
	};
	struct kchan_case rc = {
		.fd = self->c, .op = KCHAN_OP_RECVMSG,
		.buf = (unsigned long)&rh, .len = sizeof(rh),
	};
	struct kchan_select_result res;
	struct bg_send b;
	int sfd = kt_selfd(O_CLOEXEC);

	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, kt_arm(sfd, &rc, 1, 0, NULL));
	ASSERT_EQ(0, bg_start(&b, self->c, "armed", &out, 1));
	ASSERT_EQ(5, bg_finish(&b));
	ASSERT_EQ(0, kt_sel_read(sfd, &res));
	ASSERT_EQ(0, res.index);
	ASSERT_EQ(5, res.result);
	ASSERT_EQ(1u, rh.nchans);
	EXPECT_EQ(chan_id(self->n), chan_id(in.fd));
	EXPECT_EQ(0, works(in.fd, self->n, 10));
	close(in.fd);

	/* A message with more channels than room: the result says so. */
	rh.nchans = 0;
	ASSERT_EQ(0, kt_arm(sfd, &rc, 1, 0, NULL));
	ASSERT_EQ(0, bg_start(&b, self->c, "more", &out, 1));
	ASSERT_EQ(4, bg_finish(&b));
	ASSERT_EQ(0, kt_sel_read(sfd, &res));
	EXPECT_EQ(-ETOOMANYREFS, res.result);
	rh.nchans = 1;
	ASSERT_EQ(4, kt_recvmsg(self->c, buf, sizeof(buf), &in, &rh.nchans, 0));
	close(in.fd);
	close(sfd);
}

/*
 * A storm: two threads bounce channel references over two carriers, each
 * round sending every reference it got back along with new ones, while
 * some messages are left in a carrier that is then dropped. Run on the
 * debug kernel, kmemleak and KASAN see every path of a reference.
 */
struct storm {
	int ping, pong, n;
	int rounds;
	ssize_t err;
};

static void *storm_bouncer(void *arg)
{
	struct kchan_chanref in[KCHAN_CHANS_MAX];
	struct storm *s = arg;
	char buf[MSG_MAX];
	unsigned int got, i;
	ssize_t r;
	int round;

	for (round = 0; round < s->rounds; round++) {
		got = KCHAN_CHANS_MAX;
		r = kt_recvmsg(s->ping, buf, sizeof(buf), in, &got, 0);
		if (r <= 0) {
			s->err = r ? r : -EPIPE;
			return NULL;
		}
		for (i = 0; i < got; i++)
			in[i].dir = round % 2 ? 0 : KCHAN_DIR_RECV;
		r = kt_sendmsg(s->pong, buf, r, in, got, 0);
		for (i = 0; i < got; i++)
			close(in[i].fd);
		if (r < 0) {
			s->err = r;
			return NULL;
		}
	}
	return NULL;
}

/* Slow kernels (KASAN, kmemleak) need minutes for the storm. */
FIXTURE(storm) {
	int unused;
};

FIXTURE_SETUP(storm)
{
}

FIXTURE_TEARDOWN(storm)
{
}

TEST_F_TIMEOUT(storm, a_storm_of_carried_channels_leaves_nothing_behind,
	       STORM_TIMEOUT)
{
	unsigned long long base = user_bytes();
	struct kchan_chanref out[KCHAN_CHANS_MAX], in[KCHAN_CHANS_MAX];
	struct storm s = { .rounds = STORM_ROUNDS };
	int round, left, leftover_carrier;
	unsigned int got, i;
	pthread_t t;
	char buf[MSG_MAX];
	__u64 id;

	s.ping = make_carrier(0);
	s.pong = make_carrier(CAPACITY);
	s.n = make_plain();
	ASSERT_LE(0, s.ping);
	ASSERT_LE(0, s.pong);
	ASSERT_LE(0, s.n);
	id = chan_id(s.n);
	ASSERT_EQ(0, pthread_create(&t, NULL, storm_bouncer, &s));
	for (round = 0; round < STORM_ROUNDS; round++) {
		unsigned int k = 1 + round % KCHAN_CHANS_MAX;

		for (i = 0; i < k; i++)
			out[i] = ref(s.n, 0);
		ASSERT_EQ(1, kt_sendmsg(s.ping, "s", 1, out, k, 0));
		got = KCHAN_CHANS_MAX;
		ASSERT_EQ(1, kt_recvmsg(s.pong, buf, sizeof(buf), in, &got,
					   0));
		ASSERT_EQ(k, got);
		for (i = 0; i < got; i++) {
			EXPECT_EQ(round % 2 ? KCHAN_DIR_ALL : KCHAN_DIR_RECV,
				  in[i].dir);
			close(in[i].fd);
		}
	}
	pthread_join(t, NULL);
	ASSERT_EQ(0, s.err);

	/* Messages left in a carrier that goes away. */
	leftover_carrier = make_carrier(CAPACITY);
	ASSERT_LE(0, leftover_carrier);
	for (left = 0; left < (int)CAPACITY; left++)
		ASSERT_EQ(1, kt_sendmsg(leftover_carrier, "l", 1, out,
					   KCHAN_CHANS_MAX, 0));
	close(leftover_carrier);
	close(s.ping);
	close(s.pong);
	close(s.n);
	EXPECT_EQ(0, kt_wait_unlisted(id, KT_TIMEOUT_MS));
	EXPECT_EQ(0, wait_user_bytes(base));
}

TEST_HARNESS_MAIN
