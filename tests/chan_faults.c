// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: on each path into kchan (create, unlink, open, send,
 * receive, stat, close...), make the 1st, 2nd, 3rd... allocation or user
 * copy of the system call fail (/proc/self/task/TID/fail-nth), until a call
 * reaches no more fault points. A call that fails must fail with an errno
 * and leave nothing behind: no file, no channel, no name, no node, no sent
 * or lost message, counters unchanged. A call that succeeds although a
 * fault was injected (the kernel absorbed it) must have done all of its
 * work. Leaks are kmemleak's business (the debug kernel lane).
 *
 * Needs a kernel with CONFIG_FAULT_INJECTION (fail-nth), CONFIG_FAILSLAB,
 * CONFIG_FAULT_INJECTION_USERCOPY and CONFIG_FAULT_INJECTION_DEBUG_FS
 * (CONFIG_FAIL_PAGE_ALLOC is used when present), debugfs mounted, and
 * root. Without them every test is skipped.
 *
 * Messages stay below a page: a larger one takes kvmalloc()'s vmalloc
 * fallback, whose failures print an allocation-failure stack trace that
 * the test runner rightly counts as a kernel problem.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kt.h"
#include "kt_bg.h"
#include "kt_sys.h"
#include "kt_harness.h"

#define MSG_MAX		64
#define MSG_LEN		40
#define CAPACITY	4
/* A runaway sweep is a failure, not an endless test. */
#define MAX_POINTS	3000
/*
 * Per sweep: a named create makes and removes a device node at each of its
 * ~90 points, which takes tens of seconds on the debug kernel under
 * emulation, near the harness's default of 30.
 */
#define FI_TIMEOUT_S	300
/* Named channels are freed late on kernels that delay kobject release. */
#define RELEASE_MS	15000
/* Batches of 3 messages; ten iovecs of 4 bytes, past the on-stack array. */
#define NBATCH		3
#define NSEG		10
#define SEG		(MSG_LEN / NSEG)

#define DEBUGFS		"/sys/kernel/debug"

/*
 * The debugfs settings that make fail-nth reach every allocation (by
 * default failslab and fail_page_alloc skip allocations that may sleep,
 * which is nearly all of ours) and keep injected faults quiet (verbose 2
 * prints a stack trace per fault). fail-nth itself overrides probability,
 * interval, times and space: probability 0 only makes sure that nothing
 * else is injected while we run.
 */
static const struct {
	const char *file;
	const char *value;
} knob_settings[] = {
	{ "failslab/verbose", "0" }, { "failslab/probability", "0" },
	{ "failslab/task-filter", "N" }, { "failslab/ignore-gfp-wait", "N" },
	{ "failslab/cache-filter", "N" },
	{ "fail_usercopy/verbose", "0" }, { "fail_usercopy/probability", "0" },
	{ "fail_usercopy/task-filter", "N" },
	{ "fail_page_alloc/verbose", "0" }, { "fail_page_alloc/probability", "0" },
	{ "fail_page_alloc/task-filter", "N" },
	{ "fail_page_alloc/ignore-gfp-wait", "N" },
	/* User pages stay out: a failed page fault is not ours to test. */
	{ "fail_page_alloc/ignore-gfp-highmem", "Y" },
	{ "fail_page_alloc/min-order", "0" },
	/* fail-nth reaches these too: keep them quiet as well. */
	{ "fail_futex/verbose", "0" }, { "fail_function/verbose", "0" },
	{ "fail_make_request/verbose", "0" },
};

#define NKNOBS	(sizeof(knob_settings) / sizeof(knob_settings[0]))

struct saved_knob {
	char path[128];
	char value[64];
	bool saved;
};

/* Once for the program: why the tests skip, if they must; what to put back. */
static struct {
	char skip[192];
	struct saved_knob knobs[NKNOBS];
} fi_env;

/* Read a small file into @buf, or write @buf (unchanged) to it: 0 or -errno. */
static int small_file(const char *path, char *buf, size_t size, bool out)
{
	int fd = open(path, (out ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = out ? write(fd, buf, strlen(buf)) : read(fd, buf, size - 1);
	close(fd);
	if (n < 0 || (out && n != (ssize_t)strlen(buf)))
		return n < 0 ? -errno : -EIO;
	if (!out) {
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
	}
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/*
 * A device node a fault left at @path: a character device under this
 * test's own name ("kt-PID-..."), so ours whatever its numbers.
 */
static bool our_node(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

static void __attribute__((constructor)) fi_env_setup(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth",
		 (int)syscall(SYS_gettid));
	if (!exists(path)) {
		snprintf(fi_env.skip, sizeof(fi_env.skip),
			 "no %s: kernel without CONFIG_FAULT_INJECTION", path);
		return;
	}
	if (!exists(DEBUGFS "/failslab") || !exists(DEBUGFS "/fail_usercopy")) {
		snprintf(fi_env.skip, sizeof(fi_env.skip),
			 "no " DEBUGFS "/failslab or fail_usercopy: kernel without CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_USERCOPY or CONFIG_FAULT_INJECTION_DEBUG_FS, or debugfs not mounted");
		return;
	}
	for (unsigned int i = 0; i < NKNOBS; i++) {
		struct saved_knob *k = &fi_env.knobs[i];

		snprintf(k->path, sizeof(k->path), DEBUGFS "/%s",
			 knob_settings[i].file);
		if (small_file(k->path, k->value, sizeof(k->value), false))
			continue;	/* not in this kernel */
		if (small_file(k->path, (char *)knob_settings[i].value, 0, true)) {
			snprintf(fi_env.skip, sizeof(fi_env.skip),
				 "cannot write %s (not root?)", k->path);
			return;
		}
		k->saved = true;
	}
}

/* Runs when the harness itself exits; the tests leave with _exit(). */
static void __attribute__((destructor)) fi_env_restore(void)
{
	for (int i = NKNOBS - 1; i >= 0; i--)
		if (fi_env.knobs[i].saved)
			small_file(fi_env.knobs[i].path, fi_env.knobs[i].value, 0, true);
}

/*
 * Arm fail-nth: the @n-th fault point this thread reaches from now on
 * fails. 0 disarms (the dry run of a sweep).
 */
static int fi_arm(int nth, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(nth, buf, len, 0) == len ? 0 : -errno;
}

/*
 * After the call under test: was the armed fault injected? Disarms.
 * fail-nth reads 0 once its fault fired. Reading and writing the file
 * are fault points themselves while it is armed: a read that finds 1
 * left fails with EFAULT (that fault is the read's, not the call's),
 * and a write of 0 leaves it at 0 whatever it consumed on the way.
 */
static bool fi_injected(int nth, unsigned int n)
{
	char buf[16] = "";
	bool injected;
	ssize_t r;

	if (!n)
		return false;
	r = pread(nth, buf, sizeof(buf) - 1, 0);
	injected = r > 0 && strtoul(buf, NULL, 10) == 0;
	for (int i = 0; i < 2; i++)
		if (pwrite(nth, "0", 1, 0) == 1)
			break;
	return injected;
}

/*
 * One path's sweep: N = 0 (a dry run), 1, 2, ... until a call reaches
 * fewer than N fault points, then TAIL_PASSES more passes over the tail,
 * the points after the last one that failed the call.
 *
 * The same N does not always name the same allocation: the debug
 * kernel's own tools allocate now and then behind the call's back
 * (kmemleak metadata, debugobjects pool refills, KASAN's stack depot,
 * slab refills, all quietly tolerated), which shifts the numbering by a
 * few from one call to the next, so one pass can step over a point. The
 * points that matter most for that are in the tail: faults the kernel
 * absorbs (the call succeeds anyway) and that only a check of the
 * result can catch. Earlier points fail the call, and their neighbours
 * in the sequence catch them when the numbering shifts.
 */
#define TAIL_PASSES	2

struct sweep {
	const char *what;
	unsigned int end;	/* the first N the main pass did not reach */
	unsigned int last_failed;	/* the last N that failed the call */
	unsigned int failed;	/* injected faults that failed the call */
	unsigned int enomem, efault, other;
	unsigned int absorbed;	/* injected, yet the call succeeded */
	unsigned int calls;
	bool retried;		/* a fault may be absorbed by a retry */
	unsigned int pass;	/* 0: the main pass, then the tail passes */
	unsigned int next;
};

/* Set *@n to the next N to try; false once the sweep is over. */
static bool sweep_next(struct sweep *sw, unsigned int *n)
{
	if (!sw->pass) {
		if (!sw->end && sw->next <= MAX_POINTS) {
			*n = sw->next++;
			return true;
		}
		if (!sw->end)
			return false;
		sw->pass = 1;
		sw->next = sw->last_failed + 1;
	}
	if (sw->next >= sw->end) {
		if (++sw->pass > TAIL_PASSES)
			return false;
		sw->next = sw->last_failed + 1;
		if (sw->next >= sw->end)
			return false;
	}
	*n = sw->next++;
	return true;
}

/* Account for the call made with fault point @n armed (0: none). */
static void sweep_step(struct sweep *sw, unsigned int n, bool injected,
		       int err)
{
	sw->calls++;
	if (!n)
		return;
	if (!injected) {
		if (!sw->pass)
			sw->end = n;
		return;
	}
	if (!err) {
		sw->absorbed++;
		return;
	}
	if (!sw->pass && n > sw->last_failed)
		sw->last_failed = n;
	sw->failed++;
	sw->enomem += err == ENOMEM;
	sw->efault += err == EFAULT;
	sw->other += err != ENOMEM && err != EFAULT;
}

static void sweep_report(struct __test_metadata *_metadata,
			 const struct sweep *sw, bool must_inject)
{
	ksft_print_msg("%s: %u fault points (N=%u was not reached), %u calls: %u injected faults failed the call (ENOMEM %u, EFAULT %u, other %u), %u were absorbed\n",
		       sw->what, sw->end ? sw->end - 1 : 0, sw->end, sw->calls,
		       sw->failed, sw->enomem, sw->efault, sw->other,
		       sw->absorbed);
	/* The test runs in a child that leaves with _exit(). */
	fflush(stdout);
	ASSERT_NE(0u, sw->end) TH_LOG("still injecting after %u fault points", MAX_POINTS);
	if (must_inject) {
		EXPECT_LT(1u, sw->end) TH_LOG("no fault was injected: is fail-nth working?");
		EXPECT_LT(0u, sw->retried ? sw->failed + sw->absorbed : sw->failed);
	}
}

/* The channel's counters, and how many receivers and senders are blocked. */
static void expect_counts(struct __test_metadata *_metadata, int fd,
			  __u32 queued, __u64 sent, __u64 received,
			  __u32 receivers, __u32 senders)
{
	struct kchan_stat st;

	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(queued, st.queued);
	EXPECT_EQ(sent, st.sent);
	EXPECT_EQ(received, st.received);
	EXPECT_EQ(receivers, st.receivers);
	EXPECT_EQ(senders, st.senders);
}

/* A fresh channel: right shape, empty, and it carries message @seed. */
static void check_fresh_channel(struct __test_metadata *_metadata, int fd,
				unsigned int seed)
{
	unsigned char msg[MSG_LEN], buf[MSG_MAX];
	struct kchan_stat st;

	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ((__u32)CAPACITY, st.capacity);
	EXPECT_EQ((__u32)MSG_MAX, st.msg_max);
	EXPECT_EQ(0u, st.flags & KCHAN_STAT_CLOSED);
	expect_counts(_metadata, fd, 0, 0, 0, 0, 0);
	kt_fill(msg, MSG_LEN, seed);
	ASSERT_EQ(MSG_LEN, kt_send(fd, msg, MSG_LEN));
	ASSERT_EQ(MSG_LEN, kt_recv(fd, buf, sizeof(buf)));
	EXPECT_TRUE(kt_check(buf, MSG_LEN, seed));
}

/*
 * The table: one row per path, PATH(name, ...) below, swept by the one
 * driver, TEST_F(fi, sweep), as the test "fi.NAME.sweep". A row has:
 *
 *   setup, call  before each call, the state it starts from; the system
 *                call under test, which returns its result or -1, errno
 *   check        the expected outcome, as above (the driver checks that a
 *                call failed only for the injected fault, ENOMEM or EFAULT)
 *   teardown     after each check; begin, end: before and after the sweep
 *   must_inject  a fault must be injected and fail a call, or with retried
 *                be absorbed: a receive copies with page faults off where it
 *                may claim a sender and, when that copy fails, faults the
 *                buffer in and takes again, absorbing a usercopy fault
 *   send, queued the call sends (else receives); messages 0..queued-1
 *                are in the channel before it
 *
 * The steps share the fixture: the channel fd (fd2: a second file), the
 * fault point n, the call's result ret and errno err. A failed call also
 * leaves no new file: the lowest free fd before it is still free.
 */
struct fi_path;

FIXTURE(fi) {
	int nth;		/* this thread's fail-nth */
	int ctl;
	char name[KCHAN_NAME_SIZE];
	char node[128];		/* /dev/chan/NAME */
	char sys[128];		/* /sys/class/chan/NAME */
	char squat[128];	/* /dev/NAME: must never appear */
	const struct fi_path *p;
	struct sweep sw;
	unsigned int n, failed_at;	/* failed_at: first failing n, + 1 */
	bool injected;
	long ret;
	int err, fd, fd2;
	int lowest;		/* the fd a failed call must leave free */
	__u64 base, sent;	/* base: the channel ids before the sweep */
	unsigned int partial;	/* batches stopped part-way */
	__u32 len;
	struct kchan_stat st;
	struct kchan_version ver;
	struct kt_op op;	/* the other side of a rendezvous */
	unsigned char msg[NBATCH + 1][MSG_LEN];	/* message i: seed i */
	unsigned char buf[NBATCH][MSG_MAX];
	struct kchan_mmsg mm[NBATCH];
};

typedef void fi_step(struct __test_metadata *, FIXTURE_DATA(fi) *);

struct fi_path {
	const char *what;
	fi_step *begin, *setup, *check, *teardown, *end;
	long (*call)(FIXTURE_DATA(fi) *);
	bool must_inject, retried, send;
	unsigned int queued;
};

FIXTURE_VARIANT(fi) {
	struct fi_path p;
};

FIXTURE_SETUP(fi)
{
	char path[64];

	self->nth = self->ctl = -1;
	self->fd = self->fd2 = -1;
	for (int i = 0; i <= NBATCH; i++)
		kt_fill(self->msg[i], MSG_LEN, i);
	if (fi_env.skip[0])
		return;
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth",
		 (int)syscall(SYS_gettid));
	self->nth = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->nth) TH_LOG("%s: %s", path, strerror(errno));
	self->ctl = open(KT_CHANCTL, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ctl) TH_LOG("%s: is the module loaded?", KT_CHANCTL);
	kt_name(self->name, sizeof(self->name), _metadata->name);
	kt_node_path(self->node, sizeof(self->node), self->name);
	snprintf(self->sys, sizeof(self->sys), "/sys/class/chan/%s",
		 self->name);
	snprintf(self->squat, sizeof(self->squat), "/dev/%s", self->name);
}

FIXTURE_TEARDOWN(fi)
{
	/* The call a failed check was about (the check's line is in its report). */
	if (!_metadata->passed && self->p)
		TH_LOG("%s: first failure at fault point %u", self->sw.what,
		       self->failed_at ? self->failed_at - 1 : self->n);
	if (self->nth >= 0) {
		fi_injected(self->nth, 1);
		close(self->nth);
	}
	if (self->ctl >= 0) {
		kchan_unlink(self->name);
		/* Nodes a fault left behind, so that no later run trips on them. */
		if (our_node(self->squat))
			unlink(self->squat);
		if (our_node(self->node))
			unlink(self->node);
		close(self->ctl);
	}
}

#define STEP(name)							\
	static void name(struct __test_metadata *_metadata,		\
			 FIXTURE_DATA(fi) *self)
#define CALL(name, expr)						\
	static long name(FIXTURE_DATA(fi) *self) { return (expr); }

/*
 * Every channel a sweep makes goes, anonymous ones with their last file:
 * those made from now on have an id above the probe's.
 */
STEP(note_watermark)
{
	int fd = kchan_make(0, 1, 0);

	ASSERT_LE(0, fd) TH_LOG("cannot make a probe channel: %s", strerror(-fd));
	ASSERT_EQ(0, kt_stat(fd, &self->st));
	self->base = self->st.id;
	close(fd);
}

STEP(channels_released)
{
	uint64_t deadline = kt_now_ns() + RELEASE_MS * 1000000ull;
	int n;

	while ((n = kt_proc_scan(self->base, NULL)) > 0 && kt_now_ns() < deadline)
		usleep(20000);
	EXPECT_EQ(0, n) TH_LOG("channels made by the sweep are never freed");
}

static long create_call(FIXTURE_DATA(fi) *self, bool named)
{
	struct kchan_create req = {
		.capacity = CAPACITY, .msg_max = MSG_MAX,
		.fd_flags = named ? 0 : O_CLOEXEC, .mode = named ? 0640 : 0,
	};

	if (named)
		snprintf(req.name, sizeof(req.name), "%s", self->name);
	return ioctl(self->ctl, KCHAN_CTL_CREATE, &req);
}

CALL(create_anonymous, create_call(self, false))
CALL(create_named, create_call(self, true))

STEP(anonymous_created)
{
	if (self->ret >= 0) {
		check_fresh_channel(_metadata, self->ret, self->n);
		close(self->ret);
	}
	EXPECT_EQ(0, kt_proc_scan(self->base, NULL)) TH_LOG("a channel is left");
}

/* A failed create leaves no trace of the name: node, sysfs, table entry. */
STEP(named_created)
{
	struct stat sb;
	int fd;

	if (self->ret < 0) {
		EXPECT_FALSE(exists(self->node)) TH_LOG("%s", self->node);
		EXPECT_FALSE(exists(self->sys)) TH_LOG("%s", self->sys);
		EXPECT_EQ(-ENOENT, kchan_unlink(self->name));
		return;
	}
	EXPECT_EQ(0, self->ret);
	ASSERT_EQ(0, lstat(self->node, &sb)) TH_LOG("%s is missing", self->node);
	EXPECT_TRUE(S_ISCHR(sb.st_mode));
	EXPECT_EQ(0640u, sb.st_mode & 07777);
	EXPECT_EQ(getuid(), sb.st_uid);
	EXPECT_TRUE(exists(self->sys)) TH_LOG("%s is missing", self->sys);
	fd = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("open: %s", strerror(errno));
	ASSERT_EQ(0, kt_stat(fd, &self->st));
	EXPECT_TRUE(!!(self->st.flags & KCHAN_STAT_NAMED));
	check_fresh_channel(_metadata, fd, self->n);
	close(fd);
	ASSERT_EQ(0, kchan_unlink(self->name));
	EXPECT_FALSE(exists(self->node)) TH_LOG("%s outlived its name", self->node);
}

/* Never a /dev/NAME; remove the nodes a fault left, and the file. */
STEP(no_squat)
{
	EXPECT_FALSE(exists(self->squat)) TH_LOG("%s: a node under the bare name", self->squat);
	if (our_node(self->squat))
		unlink(self->squat);
	if (our_node(self->node))
		unlink(self->node);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * A named channel, open as fd (read and write, or write only) and fd2
 * (read only); @autoclose: it closes when its last writer does.
 */
static void open_named(struct __test_metadata *_metadata,
		       FIXTURE_DATA(fi) *self, bool autoclose, int fd_mode)
{
	ASSERT_EQ(0, kchan_create(self->name, CAPACITY, MSG_MAX, 0600,
				  autoclose ? KCHAN_AUTOCLOSE : 0));
	self->fd = open(self->node, fd_mode | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno));
	self->fd2 = open(self->node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, self->fd2);
}

STEP(named_open)
{
	open_named(_metadata, self, false, O_RDWR);
	close(self->fd2);
}

static long unlink_call(FIXTURE_DATA(fi) *self)
{
	struct kchan_name req = { 0 };

	snprintf(req.name, sizeof(req.name), "%s", self->name);
	return ioctl(self->ctl, KCHAN_CTL_UNLINK, &req);
}

/*
 * A failed unlink leaves the name whole; after one that succeeded it is
 * gone, and the open file keeps working.
 */
STEP(unlinked)
{
	bool kept = self->ret < 0;
	int fd2 = kept ? open(self->node, O_RDWR | O_CLOEXEC) : -1;

	EXPECT_EQ(kept, exists(self->node)) TH_LOG("%s", self->node);
	EXPECT_EQ(kept, fd2 >= 0) TH_LOG("open %s: %s", self->node, strerror(errno));
	if (fd2 >= 0)
		close(fd2);
	EXPECT_EQ(kept, exists(self->sys)) TH_LOG("%s", self->sys);
	ASSERT_EQ(0, kt_stat(self->fd, &self->st));
	EXPECT_EQ(kept, !!(self->st.flags & KCHAN_STAT_NAMED));
	EXPECT_EQ(kept ? 0 : -ENOENT, kchan_unlink(self->name));
	if (!kept)
		check_fresh_channel(_metadata, self->fd, self->n);
}

/*
 * open(2) of /dev/chan/NAME for writing, on an autoclose channel that fd
 * holds open and fd2 watches: a failed open must not leave a writer
 * counted, or the channel would never autoclose.
 */
STEP(autoclose_open)
{
	open_named(_metadata, self, true, O_RDWR);
}

CALL(open_writer, open(self->node, O_WRONLY | O_CLOEXEC))

STEP(writer_gone)
{
	if (self->ret >= 0) {
		ASSERT_EQ(MSG_LEN, kt_send(self->ret, self->msg[1], MSG_LEN));
		self->sent++;
		ASSERT_EQ(MSG_LEN, kt_recv(self->fd2, self->buf[0], MSG_MAX));
		EXPECT_TRUE(kt_check(self->buf[0], MSG_LEN, 1));
		EXPECT_EQ(-EBADF, kt_recv(self->ret, self->buf[0], MSG_MAX));
		close(self->ret);
	}
	ASSERT_EQ(0, kt_stat(self->fd2, &self->st));
	EXPECT_FALSE(!!(self->st.flags & KCHAN_STAT_CLOSED));
	EXPECT_EQ(self->sent, self->st.sent);
	EXPECT_EQ(0u, self->st.queued);
}

/* A closed channel: message 0, if @queued, drains, then end of file. */
static void expect_drained(struct __test_metadata *_metadata,
			   FIXTURE_DATA(fi) *self, int fd, bool queued)
{
	ASSERT_EQ(0, kt_stat(fd, &self->st));
	EXPECT_TRUE(!!(self->st.flags & KCHAN_STAT_CLOSED)) TH_LOG("not closed");
	if (queued) {
		ASSERT_EQ(MSG_LEN, kt_recv(fd, self->buf[0], MSG_MAX));
		EXPECT_TRUE(kt_check(self->buf[0], MSG_LEN, 0));
	}
	EXPECT_EQ(0, kt_recv(fd, self->buf[0], MSG_MAX));
	close(fd);
}

/* The holder is the last writer: releasing it closes the channel. */
STEP(holder_closes)
{
	close(self->fd);
	expect_drained(_metadata, self, self->fd2, false);
}

/*
 * A buffered channel holding messages 0..queued-1, its buffers touched
 * (no page fault inside the call), and a batch of NBATCH: the messages
 * from queued on to send, or buffers to receive into.
 */
STEP(buffered)
{
	bool send = self->p->send;

	self->fd = kt_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, self->fd);
	for (unsigned int i = 0; i < self->p->queued; i++)
		ASSERT_EQ(MSG_LEN, kt_send(self->fd, self->msg[i], MSG_LEN));
	memset(self->buf, 0, sizeof(self->buf));
	for (int i = 0; i < NBATCH; i++)
		self->mm[i] = (struct kchan_mmsg){
			.buf = (uintptr_t)(send ? self->msg[self->p->queued + i] : self->buf[i]),
			.len = send ? MSG_LEN : MSG_MAX };
}

/* write/read of one message, or writev/readv of it in NSEG pieces. */
static long rw_call(FIXTURE_DATA(fi) *self, bool out, bool vec)
{
	unsigned char *p = out ? self->msg[self->p->queued] : self->buf[0];
	struct iovec iov[NSEG];

	if (!vec)
		return out ? write(self->fd, p, MSG_LEN) : read(self->fd, p, MSG_MAX);
	for (int i = 0; i < NSEG; i++)
		iov[i] = (struct iovec){ p + i * SEG, SEG };
	return out ? writev(self->fd, iov, NSEG) : readv(self->fd, iov, NSEG);
}

static long batch_call(FIXTURE_DATA(fi) *self, unsigned long cmd)
{
	struct kchan_batch b = { .msgs = (uintptr_t)self->mm, .nmsgs = NBATCH };

	return ioctl(self->fd, cmd, &b);
}

CALL(write_call, rw_call(self, true, false))
CALL(writev_call, rw_call(self, true, true))
CALL(read_call, rw_call(self, false, false))
CALL(readv_call, rw_call(self, false, true))
CALL(send_batch_call, batch_call(self, KCHAN_IOC_SEND_BATCH))
CALL(recv_batch_call, batch_call(self, KCHAN_IOC_RECV_BATCH))

/*
 * After a send or a receive of one message or a batch: it moved k whole
 * messages, fewer than all only if a fault stopped it (a batch part-way,
 * any call at 0), and the channel holds exactly the others, in order.
 * (A batch's descriptors are read with unsafe_get_user(), which fail-nth
 * does not reach; chan_batch tests bad descriptors.)
 */
STEP(moved_whole)
{
	bool send = self->p->send, batch = self->p->call == send_batch_call ||
					  self->p->call == recv_batch_call;
	unsigned int q = self->p->queued, all = batch ? NBATCH : 1;
	long k = self->ret < 0 ? 0 : batch ? self->ret : 1, left = send ? q + k : q - k, n;
	unsigned char buf[MSG_MAX];

	if (!batch && self->ret >= 0)
		EXPECT_EQ(MSG_LEN, self->ret);
	if (self->ret >= 0 && k < all) {
		EXPECT_TRUE(self->injected) TH_LOG("%ld of %u moved, no fault injected", k, all);
		self->partial++;
	}
	for (long i = 0; !send && i < k; i++) {
		EXPECT_TRUE(kt_check(self->buf[i], MSG_LEN, i)) TH_LOG("message %ld damaged", i);
		EXPECT_EQ((__u32)MSG_LEN, batch ? self->mm[i].len : MSG_LEN);
	}
	expect_counts(_metadata, self->fd, left, send ? left : q, send ? 0 : k, 0, 0);
	if (!send && k < q)
		EXPECT_EQ((long)MSG_LEN, kt_next_len(self->fd));
	/* The rest, whole and in order: messages 0.. (send) or k.. (receive). */
	for (n = 0; memset(buf, 0, sizeof(buf)), kt_recv(self->fd, buf, MSG_MAX) == MSG_LEN; n++)
		EXPECT_TRUE(kt_check(buf, MSG_LEN, (send ? 0 : k) + n)) TH_LOG("%ld moved", k);
	EXPECT_EQ(left, n) TH_LOG("%ld moved", k);
	close(self->fd);
}

/* A fault after a batch's first message stops it part-way... */
STEP(batch_stopped)
{
	ksft_print_msg("%s: %u calls stopped part-way\n", self->sw.what,
		       self->partial);
	fflush(stdout);
	/* ...unless the retry after faulting a receive's buffer in absorbs it. */
	EXPECT_LT(0u, self->partial + (self->sw.retried ? self->sw.absorbed : 0));
}

/*
 * Rendezvous with the other side blocked: a receiver into buf[1] for a
 * send of message 0, a sender of message 0 for a receive. A failed call
 * must not complete it, and the next good call meets it.
 */
STEP(peer_blocked)
{
	bool send = self->p->send;

	self->fd = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, self->fd);
	memset(self->buf, 0, sizeof(self->buf));
	ASSERT_EQ(0, send ? kt_op_recv(&self->op, self->fd, self->buf[1], MSG_MAX) :
			    kt_op_send(&self->op, self->fd, self->msg[0], MSG_LEN));
	ASSERT_EQ(0, send ? kt_wait_for(self->fd, receivers, 1) :
			    kt_wait_for(self->fd, senders, 1));
}

/* One message went from one side to the other, whole; nobody waits. */
STEP(rendezvous_done)
{
	bool send = self->p->send;

	if (self->ret < 0) {
		expect_counts(_metadata, self->fd, 0, 0, 0, send, !send);
		kt_sleep_ms(KT_SETTLE_MS / 2);
		EXPECT_FALSE(kt_op_done(&self->op)) TH_LOG("the other side got %zd", self->op.ret);
		/* The next good call: message 2 to the receiver, or message 0. */
		memset(self->buf[0], 0, MSG_MAX);
		ASSERT_EQ(MSG_LEN, send ? kt_send(self->fd, self->msg[2], MSG_LEN) :
					  kt_recv(self->fd, self->buf[0], MSG_MAX));
	} else {
		EXPECT_EQ(MSG_LEN, self->ret);
	}
	EXPECT_EQ(MSG_LEN, kt_op_result(&self->op));
	EXPECT_TRUE(kt_check(self->buf[send], MSG_LEN, send && self->ret < 0 ? 2 : 0));
	expect_counts(_metadata, self->fd, 0, 1, 1, 0, 0);
	close(self->fd);
}

/*
 * KCHAN_IOC_STAT, KCHAN_IOC_NEXT_LEN and KCHAN_IOC_VERSION (on the
 * channel or on /dev/chanctl), on a channel holding message 0, which
 * they do not move.
 */
STEP(query_setup)
{
	memset(&self->st, 0xff, sizeof(self->st));
	self->len = 0;
	memset(&self->ver, 0, sizeof(self->ver));
}

CALL(stat_call, ioctl(self->fd, KCHAN_IOC_STAT, &self->st))
CALL(next_len_call, ioctl(self->fd, KCHAN_IOC_NEXT_LEN, &self->len))
CALL(version_call, ioctl(self->n % 2 ? self->fd : self->ctl,
			 KCHAN_IOC_VERSION, &self->ver))

STEP(query_answered)
{
	if (self->ret < 0)
		return;
	if (self->p->call == stat_call) {
		EXPECT_EQ(1u, self->st.queued);
		EXPECT_EQ(1ull, self->st.sent);
		EXPECT_EQ((__u32)MSG_LEN, self->st.next_len);
		EXPECT_EQ(0u, self->st.next_nchans);
	} else if (self->p->call == next_len_call) {
		EXPECT_EQ((__u32)MSG_LEN, self->len);
	} else {
		EXPECT_EQ((__u32)KCHAN_VERSION, self->ver.version);
	}
}

STEP(nothing_moved)
{
	expect_counts(_metadata, self->fd, 1, 1, 0, 0, 0);
	close(self->fd);
}

/* Go's close(), with message 0 queued and a receiver for it. */
CALL(ioc_close_call, ioctl(self->fd, KCHAN_IOC_CLOSE))

STEP(closed_drains)
{
	ASSERT_EQ(0, kt_stat(self->fd, &self->st));
	EXPECT_EQ(self->ret >= 0, !!(self->st.flags & KCHAN_STAT_CLOSED));
	/* Closing again: done now if the call failed, EPIPE if not. */
	EXPECT_EQ(self->ret < 0 ? 0 : -EPIPE, kchan_close(self->fd));
	EXPECT_EQ(-EPIPE, kt_send(self->fd, self->msg[1], MSG_LEN));
	expect_drained(_metadata, self, self->fd, true);
}

/*
 * close(2), whose release runs before the call returns to user space:
 * the last file of an anonymous channel (which frees it, queued messages
 * included), and the last writer of an autoclose channel (fd, with fd2
 * a reader, message 0 queued, the name gone). Neither fails.
 */
STEP(last_file_setup)
{
	buffered(_metadata, self);
	ASSERT_EQ(0, kt_stat(self->fd, &self->st));
}

STEP(last_writer_setup)
{
	open_named(_metadata, self, true, O_WRONLY);
	ASSERT_EQ(0, kchan_unlink(self->name));
	ASSERT_EQ(MSG_LEN, kt_send(self->fd, self->msg[0], MSG_LEN));
}

CALL(close_call, close(self->fd))

STEP(channel_freed)
{
	bool listed;

	EXPECT_EQ(0, self->ret) TH_LOG("%s", strerror(self->err));
	ASSERT_LE(0, kt_proc_scan(self->st.id, &listed));
	EXPECT_FALSE(listed) TH_LOG("the channel outlived its last file");
}

STEP(autoclosed)
{
	EXPECT_EQ(0, self->ret) TH_LOG("%s", strerror(self->err));
	expect_drained(_metadata, self, self->fd2, true);
}

/*
 * epoll_ctl(ADD) on a channel (fd2 the epoll): its poll registers on two
 * wait queues, and a failure after the first must leave neither behind
 * (a stale entry would be written to by the next wake-up, after epoll
 * freed it).
 */
STEP(epoll_setup)
{
	self->fd = kt_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, self->fd);
	self->fd2 = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, self->fd2);
}

static long epoll_add_call(FIXTURE_DATA(fi) *self)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };

	return epoll_ctl(self->fd2, EPOLL_CTL_ADD, self->fd, &ev);
}

/* After a failure, close the epoll first, then wake both queues. */
STEP(epoll_wake)
{
	struct epoll_event ev = { 0 };

	if (self->ret < 0)
		close(self->fd2);
	ASSERT_EQ(MSG_LEN, kt_send(self->fd, self->msg[0], MSG_LEN));
	if (self->ret >= 0) {
		EXPECT_EQ(1, epoll_wait(self->fd2, &ev, 1, 0));
		EXPECT_TRUE(!!(ev.events & EPOLLIN));
		close(self->fd2);
	}
	ASSERT_EQ(MSG_LEN, kt_recv(self->fd, self->buf[0], MSG_MAX));
	ASSERT_EQ(0, kchan_close(self->fd));
	close(self->fd);
}

#define PATH(name, ...)	FIXTURE_VARIANT_ADD(fi, name) { .p = { __VA_ARGS__ } };

PATH(create_anonymous, .what = "KCHAN_CTL_CREATE anonymous", .must_inject = true,
     .begin = note_watermark, .call = create_anonymous, .check = anonymous_created)
PATH(create_named, .what = "KCHAN_CTL_CREATE named", .must_inject = true,
     .begin = note_watermark, .call = create_named, .check = named_created,
     .teardown = no_squat, .end = channels_released)
PATH(unlink, .what = "KCHAN_CTL_UNLINK", .must_inject = true, .begin = note_watermark,
     .setup = named_open, .call = unlink_call, .check = unlinked, .teardown = no_squat,
     .end = channels_released)
PATH(open_named, .what = "open /dev/chan/NAME", .must_inject = true,
     .begin = autoclose_open, .call = open_writer, .check = writer_gone, .end = holder_closes)
PATH(write_buffered, .what = "write, buffered", .must_inject = true, .send = true,
     .queued = 1, .setup = buffered, .call = write_call, .check = moved_whole)
PATH(writev_buffered, .what = "writev of 10 segments, buffered", .must_inject = true,
     .send = true, .queued = 1, .setup = buffered, .call = writev_call, .check = moved_whole)
PATH(write_to_waiting_receiver, .what = "write, rendezvous, receiver waiting",
     .must_inject = true, .send = true, .setup = peer_blocked, .call = write_call,
     .check = rendezvous_done)
PATH(read_buffered, .what = "read, buffered", .must_inject = true, .retried = true,
     .queued = 2, .setup = buffered, .call = read_call, .check = moved_whole)
PATH(readv_buffered, .what = "readv of 10 segments, buffered", .must_inject = true,
     .retried = true, .queued = 2, .setup = buffered, .call = readv_call, .check = moved_whole)
PATH(send_batch, .what = "KCHAN_IOC_SEND_BATCH of 3, buffered", .must_inject = true,
     .send = true, .queued = 1, .setup = buffered, .call = send_batch_call,
     .check = moved_whole, .end = batch_stopped)
PATH(recv_batch, .what = "KCHAN_IOC_RECV_BATCH of 3, buffered", .must_inject = true,
     .retried = true, .queued = NBATCH, .setup = buffered, .call = recv_batch_call,
     .check = moved_whole, .end = batch_stopped)
PATH(read_from_blocked_sender, .what = "read, rendezvous, sender blocked",
     .must_inject = true, .retried = true, .setup = peer_blocked, .call = read_call,
     .check = rendezvous_done)
PATH(ioc_stat, .what = "KCHAN_IOC_STAT", .must_inject = true, .queued = 1,
     .begin = buffered, .setup = query_setup, .call = stat_call, .check = query_answered,
     .end = nothing_moved)
/* put_user() has no fault point on every architecture. */
PATH(ioc_next_len, .what = "KCHAN_IOC_NEXT_LEN", .queued = 1, .begin = buffered,
     .setup = query_setup, .call = next_len_call, .check = query_answered,
     .end = nothing_moved)
PATH(ioc_version, .what = "KCHAN_IOC_VERSION", .must_inject = true, .queued = 1,
     .begin = buffered, .setup = query_setup, .call = version_call,
     .check = query_answered, .end = nothing_moved)
/* Closing allocates nothing and copies nothing. */
PATH(ioc_close, .what = "KCHAN_IOC_CLOSE", .queued = 1, .setup = buffered,
     .call = ioc_close_call, .check = closed_drains)
PATH(close_last_file, .what = "close(2), last file", .queued = 1,
     .setup = last_file_setup, .call = close_call, .check = channel_freed)
PATH(close_last_writer, .what = "close(2), last writer, autoclose",
     .setup = last_writer_setup, .call = close_call, .check = autoclosed)
PATH(epoll_add, .what = "epoll_ctl ADD", .must_inject = true, .setup = epoll_setup,
     .call = epoll_add_call, .check = epoll_wake)

/* The driver: one row's sweep. */
TEST_F_TIMEOUT(fi, sweep, FI_TIMEOUT_S)
{
	const struct fi_path *p = &variant->p;

#define RUN(step) do { if (p->step) p->step(_metadata, self); } while (0)
	if (fi_env.skip[0])
		SKIP(return, "%s", fi_env.skip);
	self->p = p;
	self->sw.what = p->what;
	self->sw.retried = p->retried;
	RUN(begin);
	while (sweep_next(&self->sw, &self->n)) {
		RUN(setup);
		self->lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, self->lowest);
		close(self->lowest);
		ASSERT_EQ(0, fi_arm(self->nth, self->n));
		self->ret = p->call(self);
		self->err = self->ret < 0 ? errno : 0;
		self->injected = fi_injected(self->nth, self->n);
		if (self->ret < 0) {
			/* Only for the injected fault, as such a fault may fail. */
			ASSERT_TRUE(self->injected) TH_LOG("%s, no fault injected", strerror(self->err));
			EXPECT_TRUE(self->err == ENOMEM || self->err == EFAULT) TH_LOG("%s", strerror(self->err));
			EXPECT_TRUE(fcntl(self->lowest, F_GETFD) < 0 && errno == EBADF) TH_LOG("fd left open");
		}
		RUN(check);
		RUN(teardown);
		if (!_metadata->passed && !self->failed_at)
			self->failed_at = self->n + 1;
		sweep_step(&self->sw, self->n, self->injected, self->err);
	}
	sweep_report(_metadata, &self->sw, p->must_inject);
	RUN(end);
}

TEST_HARNESS_MAIN
