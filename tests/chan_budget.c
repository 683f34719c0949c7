// SPDX-License-Identifier: GPL-2.0
/*
 * The per-user memory budget (max_bytes_per_user): an unprivileged user
 * gets ENOBUFS at the step that would take it over, by every route that
 * holds message bytes (write, writev, io_uring, batches, blocked senders,
 * selects and select files), nothing is sent or lost on that step,
 * everything is given back when messages are received and files close,
 * users of one user namespace share their owner's budget, and the kernel
 * memory a hostile user pins stays within the budget plus a small slack.
 * Also the per-user limit on names, and the shares of the device minors.
 *
 * These tests load kchan.ko with a small budget ($KCHAN_MODULE, as
 * chan_module does), once for as many tests as leave nothing behind, and
 * leave it loaded with its default parameters. Run
 * them as root in the test VM; the routes are tried as user nobody.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kt.h"
#include "kt_sys.h"
#include "kt_select.h"

#define BUDGET		(1024 * 1024)
#define NAMES		3
#define PARAMS_SMALL	"max_bytes_per_user=1048576 max_names_per_user=3"
/* A message of MSG bytes takes a 16 KiB allocation with its header. */
#define MSG		16000
#define CAPACITY	4096
#define NOBODY		65534
#define TEST_TIMEOUT	600

/* What one user may pin beyond the budget: files, slab slack. */
#define SLACK		(4 * 1024 * 1024)

static char payload[MSG];

/* KCHAN_IOC_VERSION, or a zeroed struct on failure. */
static struct kchan_version version(void)
{
	struct kchan_version v;

	if (kt_version(&v))
		memset(&v, 0, sizeof(v));
	return v;
}

/* The bytes the calling user holds through kchan. */
static unsigned long long user_bytes(void)
{
	return version().user_bytes;
}

/* Write MSG-byte messages until one fails: how many went, *@err why. */
static int fill(int fd, int max, int *err)
{
	int n;

	for (n = 0; n < max; n++) {
		if (write(fd, payload, MSG) != MSG) {
			*err = errno;
			return n;
		}
	}
	*err = 0;
	return n;
}

/*
 * Unreclaimable slab in KiB, from /proc/meminfo: every kmalloc counts
 * there, the large ones too. (MemAvailable hides allocations served from
 * the per-CPU page lists, several MiB on the test VM.)
 */
static long long sunreclaim_kb(void)
{
	return kt_file_field("/proc/meminfo", "SUnreclaim: %lld kB");
}

/* Become @uid (group too): no capability left, CAP_SYS_RESOURCE included. */
static int become(uid_t uid)
{
	struct rlimit nofile = { 8192, 8192 };

	if (setrlimit(RLIMIT_NOFILE, &nofile))
		return -1;
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		return -1;
	return 0;
}

/* Run @fn as @uid in a child; its exit status (0 = passed). */
static int as_user(uid_t uid, int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (become(uid))
			_exit(100);
		_exit(fn());
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int as_nobody(int (*fn)(void))
{
	return as_user(NOBODY, fn);
}

/* Named channels are freed late on kernels that delay kobject release. */
#define RELEASE_MS	15000

FIXTURE(budget) {
	bool no_ko;
};

/*
 * Each test starts as on a fresh load with PARAMS_SMALL, no channel
 * left: the tests share one load when they can (unloading takes seconds
 * on a debug kernel), and leave_defaults() loads the defaults back.
 */
FIXTURE_SETUP(budget)
{
	int ret;

	memset(payload, 'b', sizeof(payload));
	self->no_ko = access(kt_ko_path(), R_OK) != 0 || getuid() != 0;
	if (self->no_ko)
		SKIP(return, "needs root and %s", kt_ko_path());
	ret = kt_ensure_params_fresh(PARAMS_SMALL, RELEASE_MS);
	ASSERT_EQ(0, ret) TH_LOG("loading %s: %s", kt_ko_path(), strerror(-ret));
}

FIXTURE_TEARDOWN(budget)
{
}

static pid_t harness_pid;

static void __attribute__((constructor)) note_harness_pid(void)
{
	harness_pid = getpid();
}

/*
 * After the last test, in the harness's own process (the tests' processes
 * end in _exit()): kchan is left loaded with its default parameters, or
 * the program fails.
 */
static void __attribute__((destructor)) leave_defaults(void)
{
	int ret;

	if (getpid() != harness_pid || getuid() != 0 ||
	    access(kt_ko_path(), R_OK))
		return;
	ret = kt_ensure_defaults();
	if (ret) {
		printf("# could not restore kchan with default limits: %s\n",
		       strerror(-ret));
		fflush(stdout);
		_exit(1);
	}
}

TEST_F_TIMEOUT(budget, the_budget_is_a_parameter_and_reported, TEST_TIMEOUT)
{
	struct kchan_version v = version();
	unsigned long long p = 0;

	ASSERT_EQ(0, kt_param("max_bytes_per_user", &p));
	EXPECT_EQ((unsigned long long)BUDGET, p);
	ASSERT_EQ(0, kt_param("max_names_per_user", &p));
	EXPECT_EQ((unsigned long long)NAMES, p);
	EXPECT_NE(0ULL, v.features & KCHAN_FEATURE_BUDGET);
	EXPECT_EQ((unsigned long long)BUDGET, v.max_bytes_per_user);
	EXPECT_EQ((unsigned int)NAMES, v.max_names_per_user);
	EXPECT_EQ(0ULL, v.user_bytes);
}

/*
 * write(), then writev() and an O_NONBLOCK write at the limit: ENOBUFS,
 * nothing queued by the failed step; a receive gives room back; closing
 * the channel gives everything back.
 */
static int write_route(void)
{
	struct iovec iov[2] = {
		{ payload, MSG / 2 }, { payload + MSG / 2, MSG - MSG / 2 },
	};
	unsigned long long held;
	struct kchan_stat st;
	char buf[MSG];
	int fd, n, err;

	if (user_bytes() != 0)
		return 1;
	fd = kt_make(CAPACITY, MSG, 0, O_CLOEXEC);
	if (fd < 0)
		return 2;
	n = fill(fd, CAPACITY, &err);
	if (err != ENOBUFS || n < BUDGET / (2 * MSG) || n * MSG > BUDGET)
		return 3;
	if (kt_stat(fd, &st) || st.queued != (unsigned int)n)
		return 4;
	held = user_bytes();
	if (held > BUDGET || held < (unsigned long long)n * MSG)
		return 5;
	if (writev(fd, iov, 2) != -1 || errno != ENOBUFS)
		return 6;
	if (kt_set_nonblock(fd, true) || write(fd, payload, MSG) != -1 ||
	    errno != ENOBUFS)
		return 7;
	if (kt_stat(fd, &st) || st.queued != (unsigned int)n ||
	    user_bytes() != held)
		return 8;
	/* Received: its room is the sender's again. */
	if (read(fd, buf, sizeof(buf)) != MSG || writev(fd, iov, 2) != MSG)
		return 9;
	close(fd);
	return user_bytes() == 0 ? 0 : 10;
}

TEST_F_TIMEOUT(budget, write_over_the_budget_is_enobufs_and_sends_nothing,
	       TEST_TIMEOUT)
{
	EXPECT_EQ(0, as_nobody(write_route))
		TH_LOG("1: busy before, 2: create, 3: no ENOBUFS at the budget, 4: queued, 5: usage, 6: writev, 7: nonblocking write, 8: the failed step changed something, 9: no room after a receive, 10: not all given back");
}

/* Small messages: their channel keeps slots for them (KCHAN_SLOT_DATA_MAX). */
#define SMALL		64
#define SMALL_CAP	8
/* The most a channel's slots take. */
#define SLOTS_MAX	8192
/* Messages a channel carries before it gets slots (KCHAN_SLOTS_AFTER). */
#define SLOTS_AFTER	64

/*
 * Send and receive @n messages one at a time through @fd: each is
 * charged to the caller while it is in the channel, and given back when
 * received. Returns 0, or which step failed.
 */
static int carry_charged(int fd, int n)
{
	char buf[SMALL];
	int i;

	for (i = 0; i < n; i++) {
		if (write(fd, payload, SMALL) != SMALL)
			return 1;
		if (user_bytes() < SMALL)
			return 2;
		if (read(fd, buf, sizeof(buf)) != SMALL ||
		    memcmp(buf, payload, SMALL))
			return 3;
		if (user_bytes() != 0)
			return 4;
	}
	return 0;
}

/*
 * A channel of small messages, once it has carried SLOTS_AFTER of them,
 * makes slots for them, charged to its creator until the channel is
 * freed: the messages in them are charged nothing more, sent or
 * received.
 */
static int slots_route(void)
{
	unsigned long long slots;
	char buf[SMALL];
	int fd, i;

	if (user_bytes() != 0)
		return 1;
	fd = kt_make(SMALL_CAP, SMALL, 0, O_CLOEXEC);
	if (fd < 0)
		return 2;
	if (user_bytes() != 0)
		return 3;
	if (carry_charged(fd, SLOTS_AFTER))
		return 11;
	if (write(fd, payload, SMALL) != SMALL)
		return 4;
	slots = user_bytes();
	if (slots < (SMALL_CAP + 2) * SMALL || slots > SLOTS_MAX)
		return 5;
	for (i = 1; i < SMALL_CAP; i++)
		if (write(fd, payload, SMALL) != SMALL)
			return 6;
	if (user_bytes() != slots)
		return 7;
	for (i = 0; i < SMALL_CAP; i++)
		if (read(fd, buf, sizeof(buf)) != SMALL ||
		    memcmp(buf, payload, SMALL))
			return 8;
	if (user_bytes() != slots)
		return 9;
	close(fd);
	return user_bytes() == 0 ? 0 : 10;
}

TEST_F_TIMEOUT(budget, a_small_channels_slots_are_charged_to_its_creator_once,
	       TEST_TIMEOUT)
{
	EXPECT_EQ(0, as_nobody(slots_route))
		TH_LOG("1: busy before, 2: create, 3: charged before a send, 11: the first messages not charged one by one, 4: write, 5: slots not charged, or too much, 6: write, 7: a message charged, 8: read, 9: a receive gave slots back, 10: not all given back");
}

static int slots_fd = -1;

/* Another user's sends into slots_fd, the one that makes slots first. */
static int slots_other_sender(void)
{
	int i;

	for (i = 0; i < SMALL_CAP; i++)
		if (write(slots_fd, payload, SMALL) != SMALL)
			return 1;
	return user_bytes() == 0 ? 0 : 2;
}

TEST_F_TIMEOUT(budget, a_sender_into_anothers_small_channel_is_charged_nothing,
	       TEST_TIMEOUT)
{
	unsigned long long before = user_bytes(), slots;
	char buf[SMALL];
	int i;

	slots_fd = kt_make(SMALL_CAP, SMALL, 0, O_CLOEXEC);
	ASSERT_LE(0, slots_fd);
	EXPECT_EQ(before, user_bytes());
	/* Carried, the channel gets slots at its next send. */
	for (i = 0; i < SLOTS_AFTER; i++) {
		ASSERT_EQ(SMALL, write(slots_fd, payload, SMALL));
		ASSERT_EQ(SMALL, read(slots_fd, buf, sizeof(buf)));
	}
	ASSERT_EQ(before, user_bytes());
	EXPECT_EQ(0, as_nobody(slots_other_sender))
		TH_LOG("1: write, 2: the sender was charged");
	slots = user_bytes() - before;
	EXPECT_LE((unsigned long long)(SMALL_CAP + 2) * SMALL, slots);
	EXPECT_GE((unsigned long long)SLOTS_MAX, slots);
	for (i = 0; i < SMALL_CAP; i++) {
		ASSERT_EQ(SMALL, read(slots_fd, buf, sizeof(buf)));
		EXPECT_EQ(0, memcmp(buf, payload, SMALL));
	}
	close(slots_fd);
	EXPECT_EQ(before, user_bytes());
}

/* io_uring write: ENOBUFS in the completion. */
static int uring_route(void)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	int fd, n, err, res;

	fd = kt_make(CAPACITY, MSG, 0, O_CLOEXEC);
	if (fd < 0 || io_uring_queue_init(4, &ring, 0))
		return 1;
	n = fill(fd, CAPACITY, &err);
	if (err != ENOBUFS || !n)
		return 2;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_write(sqe, fd, payload, MSG, 0);
	if (io_uring_submit(&ring) != 1 || io_uring_wait_cqe(&ring, &cqe))
		return 3;
	res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	close(fd);
	return res == -ENOBUFS ? (user_bytes() == 0 ? 0 : 5) : 4;
}

TEST_F_TIMEOUT(budget, io_uring_write_over_the_budget_is_enobufs, TEST_TIMEOUT)
{
	EXPECT_EQ(0, as_nobody(uring_route))
		TH_LOG("1: setup, 2: fill, 3: submit, 4: not ENOBUFS, 5: not all given back");
}

/* A batch sends what fits, and the next call reports ENOBUFS. */
static int batch_route(void)
{
	static struct kchan_mmsg m[256];
	struct kchan_batch b = { .msgs = (uintptr_t)m, .nmsgs = 256 };
	struct kchan_stat st;
	int fd, i, sent;

	for (i = 0; i < 256; i++)
		m[i] = (struct kchan_mmsg){ .buf = (uintptr_t)payload,
					    .len = MSG };
	fd = kt_make(CAPACITY, MSG, 0, O_CLOEXEC);
	if (fd < 0)
		return 1;
	sent = ioctl(fd, KCHAN_IOC_SEND_BATCH, &b);
	if (sent <= 0 || sent >= 256 || sent * MSG > BUDGET)
		return 2;
	b.msgs = (uintptr_t)&m[sent];
	b.nmsgs = 256 - sent;
	if (ioctl(fd, KCHAN_IOC_SEND_BATCH, &b) != -1 || errno != ENOBUFS)
		return 3;
	if (kt_stat(fd, &st) || st.queued != (unsigned int)sent)
		return 4;
	close(fd);
	return user_bytes() == 0 ? 0 : 5;
}

TEST_F_TIMEOUT(budget, a_batch_sends_what_fits_then_reports_enobufs, TEST_TIMEOUT)
{
	EXPECT_EQ(0, as_nobody(batch_route))
		TH_LOG("1: setup, 2: first call, 3: second call not ENOBUFS, 4: queued, 5: not all given back");
}

static void *blocked_sender(void *arg)
{
	int fd = *(int *)arg;

	return (void *)(long)write(fd, payload, MSG);
}

/*
 * Blocked senders hold their messages; select files hold their send
 * cases and case sets; selects name the case that went over.
 */
static int sender_route(void)
{
	struct kchan_select out = { 0 };
	struct kchan_case c[2];
	int fd, other, a, b, sfd[256], nsfd = 0, i, ret = 0, err;
	pthread_t t[8];

	fd = kt_make(0, MSG, 0, O_CLOEXEC);
	other = kt_make(0, MSG, 0, O_CLOEXEC);
	a = kt_make(CAPACITY, 1, 0, O_CLOEXEC);
	b = kt_make(CAPACITY, 1, 0, O_CLOEXEC);
	if (fd < 0 || other < 0 || a < 0 || b < 0)
		return 1;
	/* 16 one-byte messages: 1 KiB to give back later. */
	for (i = 0; i < 16; i++)
		if (write(a, "a", 1) != 1)
			return 1;
	for (i = 0; i < 8; i++) {
		if (pthread_create(&t[i], NULL, blocked_sender, &fd))
			return 2;
		if (kt_wait_blocked(fd, i + 1, 0, KT_TIMEOUT_MS))
			return 3;
	}
	/* Armed select files, one send case each, until the budget ends. */
	c[0] = kt_case_send(other, payload, MSG);
	for (;;) {
		if (nsfd == 255)
			return 4;
		sfd[nsfd] = kt_selfd(O_CLOEXEC);
		if (sfd[nsfd] < 0)
			return 5;
		ret = kt_arm(sfd[nsfd], c, 1, 0, NULL);
		if (ret)
			break;
		nsfd++;
	}
	if (ret != -ENOBUFS || nsfd < 8)
		return 6;
	if (user_bytes() > BUDGET)
		return 7;
	/* Use up what is left, then give back 1 KiB: room for a case set. */
	for (i = 0; i < CAPACITY && write(b, "b", 1) == 1; i++)
		;
	err = errno;
	close(a);
	if (err != ENOBUFS)
		return 7;
	/* A blocking select: ENOBUFS, and the index names the case. */
	c[0] = kt_case_recv(other, payload, MSG);
	c[1] = kt_case_send(other, payload, MSG);
	ret = kt_select_full(c, 2, KCHAN_SELECT_NONBLOCK, 0, &out);
	if (ret != -ENOBUFS || out.index != 1)
		return 8;
	/* The select file's arm names the case too. */
	ret = kt_arm(sfd[nsfd], c, 2, 0, &i);
	if (ret != -ENOBUFS || i != 1)
		return 8;
	/* Close gives everything back. */
	kchan_close(fd);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i <= nsfd; i++)
		close(sfd[i]);
	close(fd);
	close(other);
	close(b);
	return user_bytes() == 0 ? 0 : 9;
}

TEST_F_TIMEOUT(budget, senders_and_select_cases_count_and_fail_with_enobufs,
	       TEST_TIMEOUT)
{
	EXPECT_EQ(0, as_nobody(sender_route))
		TH_LOG("1: create, 2, 3: blocked senders, 4: never over, 5: select file, 6: arm not ENOBUFS, 7: usage above the budget, 8: select not ENOBUFS on case 1, 9: not all given back");
}

/* A case set is memory too: a select file's, with no case to blame. */
static int case_set_route(void)
{
	static struct kchan_case big[1024];
	int sfd[64], n, i, ret = 0, bad = 0;

	for (i = 0; i < 1024; i++)
		big[i] = (struct kchan_case){ .fd = -1, .op = KCHAN_OP_RECV };
	for (n = 0; n < 64; n++) {
		sfd[n] = kt_selfd(O_CLOEXEC);
		if (sfd[n] < 0)
			return 1;
		ret = kt_arm(sfd[n], big, 1024, 0, &bad);
		if (ret)
			break;
	}
	if (ret != -ENOBUFS || bad != -1 || n < 2)
		return 2;
	if (user_bytes() > BUDGET)
		return 3;
	for (i = 0; i <= n && i < 64; i++)
		close(sfd[i]);
	return user_bytes() == 0 ? 0 : 4;
}

TEST_F_TIMEOUT(budget, armed_case_sets_count_and_fail_with_enobufs, TEST_TIMEOUT)
{
	EXPECT_EQ(0, as_nobody(case_set_route))
		TH_LOG("1: select file, 2: arm not ENOBUFS, 3: usage above the budget, 4: not all given back");
}

/*
 * A hostile user tries every route and holds what it got, in bounded
 * amounts that, without a budget, come to several times its size: the
 * kernel's memory may grow by no more than the budget and a slack for
 * the files themselves.
 */
#define HOSTILE_PER_ROUTE	(8 * BUDGET)

static int hostile_user(void)
{
	static struct kchan_mmsg m[64];
	struct kchan_batch b = { .msgs = (uintptr_t)m, .nmsgs = 64 };
	struct kchan_case c;
	int fd, rdv, sfd, i, err;
	char go;

	for (i = 0; i < 64; i++)
		m[i] = (struct kchan_mmsg){ .buf = (uintptr_t)payload,
					    .len = MSG };
	fd = kt_make(CAPACITY, MSG, 0, O_CLOEXEC);
	rdv = kt_make(0, MSG, 0, O_CLOEXEC);
	if (fd < 0 || rdv < 0)
		return 1;
	/* write() into a buffer */
	fill(fd, HOSTILE_PER_ROUTE / MSG, &err);
	/* batches */
	for (i = 0; i < HOSTILE_PER_ROUTE / (64 * MSG); i++)
		if (ioctl(fd, KCHAN_IOC_SEND_BATCH, &b) < 0)
			break;
	/* armed select files holding send cases */
	c = kt_case_send(rdv, payload, MSG);
	for (i = 0; i < HOSTILE_PER_ROUTE / MSG; i++) {
		sfd = kt_selfd(O_CLOEXEC);
		if (sfd < 0 || kt_arm(sfd, &c, 1, 0, NULL))
			break;
	}
	/* Hold it all until the parent has measured. */
	if (write(1, "x", 1) != 1 || read(0, &go, 1) != 1)
		return 3;
	return user_bytes() > BUDGET ? 2 : 0;
}

TEST_F_TIMEOUT(budget, kernel_memory_stays_within_budget_and_slack, TEST_TIMEOUT)
{
	int to_child[2], from_child[2], status;
	long long before, after;
	char x;
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(from_child));
	before = sunreclaim_kb();
	ASSERT_LT(0, before);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		if (become(NOBODY))
			_exit(100);
		_exit(hostile_user());
	}
	close(to_child[0]);
	close(from_child[1]);
	ASSERT_EQ(1, read(from_child[0], &x, 1)) TH_LOG("the child failed early");
	after = sunreclaim_kb();
	ASSERT_EQ(1, write(to_child[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("1: create, 2: usage above the budget, 3: pipe, 100: setup");
	TH_LOG("unreclaimable slab grew by %lld KiB (budget %d KiB, slack %d KiB)",
	       after - before, BUDGET / 1024, SLACK / 1024);
	EXPECT_GE((long long)(BUDGET + SLACK) / 1024, after - before);
	close(to_child[1]);
	close(from_child[0]);
}

/*
 * Users of a user namespace share the budget of its owner: switching to
 * another mapped uid does not bring a fresh budget. The namespace maps
 * 16 uids, as subordinate uids would be, and three of them each fill a
 * channel of their own, holding it while the next one tries.
 */
#define NS_BASE		200000
#define NS_UIDS		3

/*
 * As @uid, fill a channel until ENOBUFS and report how many messages went
 * (-1 if it stopped otherwise), then hold them until @hold_fd closes.
 */
static int ns_fill_as(uid_t uid, int hold_fd)
{
	int fd, n = -1, err;
	char go;

	if (!setresgid(uid, uid, uid) && !setresuid(uid, uid, uid)) {
		fd = kt_make(CAPACITY, MSG, 0, O_CLOEXEC);
		if (fd >= 0) {
			n = fill(fd, CAPACITY, &err);
			if (err != ENOBUFS)
				n = -1;
		}
	}
	if (write(1, &n, sizeof(n)) != sizeof(n) || n < 0)
		return -1;
	return read(hold_fd, &go, 1) < 0 ? -1 : 0;
}

static int ns_owner(int ready_fd, int go_fd)
{
	int hold[2], counts[2], i, n, total = 0;
	pid_t pids[NS_UIDS];
	char x;

	/* The parent maps our namespace. */
	if (unshare(CLONE_NEWUSER))
		return errno == EPERM || errno == EINVAL ? 4 : 1;
	if (write(ready_fd, "x", 1) != 1 || read(go_fd, &x, 1) != 1)
		return 2;
	if (setgroups(0, NULL) || setresgid(0, 0, 0) || setresuid(0, 0, 0))
		return 3;
	if (pipe(hold) || pipe(counts))
		return 5;
	for (i = 0; i < NS_UIDS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return 6;
		if (pids[i] == 0) {
			close(hold[1]);
			dup2(counts[1], 1);
			_exit(ns_fill_as(1 + i, hold[0]) ? 1 : 0);
		}
		if (read(counts[0], &n, sizeof(n)) != sizeof(n) || n < 0)
			return 7;
		total += n;
	}
	close(hold[1]);
	for (i = 0; i < NS_UIDS; i++)
		waitpid(pids[i], NULL, 0);
	dprintf(ready_fd, "%d", total);
	return 0;
}

TEST_F_TIMEOUT(budget, uids_of_a_user_namespace_share_one_budget, TEST_TIMEOUT)
{
	int to_child[2], from_child[2], status, total = -1;
	char path[64], buf[32] = "";
	ssize_t len;
	pid_t pid;
	int fd;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(from_child));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(to_child[1]);
		close(from_child[0]);
		/*
		 * No user namespace can be made in a chroot, where the test
		 * VM runs us: go back to the root of init's.
		 */
		if (chroot("/proc/1/root") || chdir("/"))
			_exit(101);
		if (become(NOBODY))
			_exit(100);
		_exit(ns_owner(from_child[1], to_child[0]));
	}
	close(to_child[0]);
	close(from_child[1]);
	if (read(from_child[0], buf, 1) != 1) {
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 4)
			SKIP(return, "no unprivileged user namespaces");
		ASSERT_TRUE(0) TH_LOG("child status %d", status);
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, dprintf(fd, "0 %d 16\n", NS_BASE));
	close(fd);
	snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, dprintf(fd, "0 %d 16\n", NS_BASE));
	close(fd);
	ASSERT_EQ(1, write(to_child[1], "x", 1));
	len = read(from_child[0], buf, sizeof(buf) - 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("1: unshare, 2: sync, 3: setuid, 5, 6: setup, 7: a uid did not stop with ENOBUFS");
	ASSERT_LT(0, len);
	buf[len] = 0;
	total = atoi(buf);
	TH_LOG("%d uids sent %d messages of %d bytes (budget %d)", NS_UIDS,
	       total, MSG, BUDGET);
	EXPECT_LT(0, total);
	EXPECT_GE(BUDGET, total * MSG);
	EXPECT_EQ(0ULL, user_bytes());
	close(to_child[1]);
	close(from_child[0]);
}

/* Names per user: ENOSPC beyond the limit; a removed name frees its slot. */

static const char *budget_name(int i)
{
	static char name[KCHAN_NAME_SIZE];

	snprintf(name, sizeof(name), "kt-budget-%d-%d", (int)getpid(), i);
	return name;
}

static int names_route(void)
{
	long long deadline;
	int i, ret;

	for (i = 0; i < NAMES; i++)
		if (kt_create_named(budget_name(i), 0, 8, 0, 0))
			return 1;
	if (kt_create_named(budget_name(NAMES), 0, 8, 0, 0) != -ENOSPC)
		return 2;
	if (kt_unlink(budget_name(0)))
		return 3;
	/* The slot comes back once the node is released. */
	deadline = kt_now_ms() + RELEASE_MS;
	while ((ret = kt_create_named(budget_name(NAMES), 0, 8, 0, 0)) ==
	       -ENOSPC && kt_now_ms() < deadline)
		kt_sleep_ms(20);
	for (i = 1; i <= NAMES; i++)
		kt_unlink(budget_name(i));
	return ret ? 4 : 0;
}

TEST_F_TIMEOUT(budget, names_beyond_the_users_limit_are_enospc, TEST_TIMEOUT)
{
	EXPECT_EQ(0, as_nobody(names_route))
		TH_LOG("1: a name within the limit refused, 2: no ENOSPC beyond it, 3: unlink, 4: slot not given back");
}

/*
 * The device minors: a pool of max_minors, whose last eighth (the
 * reserve) goes only to a user holding fewer names than its share,
 * max_minors / (users holding names + 1). One user filling the pool is
 * refused at the reserve; another still gets minors from it.
 */
#define MINORS		16
#define MINORS_RESERVE	(MINORS / 8)
#define MINORS_OTHER	1234
#define PARAMS_MINORS	"max_minors=16 max_names_per_user=64"

static pid_t minor_test;	/* the test's pid, in its names */

static const char *minor_name(uid_t uid, int i)
{
	static char name[KCHAN_NAME_SIZE];

	snprintf(name, sizeof(name), "kt-minor-%d-%u-%d", (int)minor_test,
		 (unsigned int)uid, i);
	return name;
}

/* Create names until one fails: how many were made (ENOSPC ends it). */
static int minors_fill(void)
{
	int n, ret = 0;

	for (n = 0; n < 200; n++) {
		ret = kt_create_named(minor_name(getuid(), n), 0, 8, 0, 0);
		if (ret)
			break;
	}
	return ret == -ENOSPC ? n : 255;
}

static int minor_index;

/* One more name, minor_index: 0 if made, 1 if ENOSPC, 2 otherwise. */
static int minors_one(void)
{
	int ret = kt_create_named(minor_name(getuid(), minor_index), 0, 8,
				     0, 0);

	return !ret ? 0 : ret == -ENOSPC ? 1 : 2;
}

/* The names go with the module, which the next load replaces. */
TEST_F_TIMEOUT(budget, a_user_over_its_share_of_minors_is_enospc_not_others,
	       TEST_TIMEOUT)
{
	unsigned long long p = 0;

	minor_test = getpid();
	ASSERT_EQ(0, kt_reload(PARAMS_MINORS));
	ASSERT_EQ(0, kt_param("max_minors", &p));
	EXPECT_EQ((unsigned long long)MINORS, p);
	/* Alone, its share is half the pool; it fills all but the reserve. */
	EXPECT_EQ(MINORS - MINORS_RESERVE, as_nobody(minors_fill));
	/* Another user holds nothing: below its share, it takes the reserve. */
	minor_index = 0;
	EXPECT_EQ(0, as_user(MINORS_OTHER, minors_one));
	/* A minor is still free, but not for the user over its share. */
	minor_index = 1000;
	EXPECT_EQ(1, as_nobody(minors_one));
	minor_index = 1;
	EXPECT_EQ(0, as_user(MINORS_OTHER, minors_one));
}

TEST_HARNESS_MAIN
