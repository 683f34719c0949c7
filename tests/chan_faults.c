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
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kchan_test.h"
#include "kchan_wait.h"
/* The 6.1 harness's TEST() leaves a parameter unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

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
	{ "failslab/verbose", "0" },
	{ "failslab/probability", "0" },
	{ "failslab/task-filter", "N" },
	{ "failslab/ignore-gfp-wait", "N" },
	{ "failslab/cache-filter", "N" },
	{ "fail_usercopy/verbose", "0" },
	{ "fail_usercopy/probability", "0" },
	{ "fail_usercopy/task-filter", "N" },
	{ "fail_page_alloc/verbose", "0" },
	{ "fail_page_alloc/probability", "0" },
	{ "fail_page_alloc/task-filter", "N" },
	{ "fail_page_alloc/ignore-gfp-wait", "N" },
	/* User pages stay out: a failed page fault is not ours to test. */
	{ "fail_page_alloc/ignore-gfp-highmem", "Y" },
	{ "fail_page_alloc/min-order", "0" },
	/* fail-nth reaches these too: keep them quiet as well. */
	{ "fail_futex/verbose", "0" },
	{ "fail_function/verbose", "0" },
	{ "fail_make_request/verbose", "0" },
};

#define NKNOBS	(sizeof(knob_settings) / sizeof(knob_settings[0]))

struct saved_knob {
	char path[128];
	char value[64];
	bool saved;
};

/*
 * Set up once for the whole program (the tests run in forked children):
 * why the tests must be skipped, if they must, and the debugfs values to
 * put back at the end.
 */
static struct {
	char skip[192];
	struct saved_knob knobs[NKNOBS];
} fi_env;

FIXTURE(fi) {
	int nth;		/* this thread's fail-nth */
	int ctl;
	char name[KCHAN_NAME_SIZE];
	char node[128];		/* /dev/chan/NAME */
	char sys[128];		/* /sys/class/chan/NAME */
	char squat[128];	/* /dev/NAME: must never appear */
	unsigned int major;	/* of the named channels' nodes */
};

static int read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int write_small(const char *path, const char *value)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -EIO;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The major number of the "chan" character devices, from /proc/devices. */
static unsigned int chan_major(void)
{
	unsigned int major = 0, m;
	char line[128], name[64];
	bool chars = false;
	FILE *f;

	f = fopen("/proc/devices", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Character", 9))
			chars = true;
		else if (!strncmp(line, "Block", 5))
			chars = false;
		else if (chars && sscanf(line, "%u %63s", &m, name) == 2 &&
			 !strcmp(name, "chan"))
			major = m;
	}
	fclose(f);
	return major;
}

/* A device node of ours at @path (left where it should not be)? */
static bool our_node(const char *path, unsigned int major)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISCHR(st.st_mode) &&
	       major(st.st_rdev) == major;
}

static void __attribute__((constructor)) fi_env_setup(void)
{
	char path[64];
	unsigned int i;

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
	for (i = 0; i < NKNOBS; i++) {
		struct saved_knob *k = &fi_env.knobs[i];

		snprintf(k->path, sizeof(k->path), DEBUGFS "/%s",
			 knob_settings[i].file);
		if (read_small(k->path, k->value, sizeof(k->value)))
			continue;	/* not in this kernel */
		if (write_small(k->path, knob_settings[i].value)) {
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
	int i;

	for (i = NKNOBS - 1; i >= 0; i--)
		if (fi_env.knobs[i].saved)
			write_small(fi_env.knobs[i].path, fi_env.knobs[i].value);
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
	/*
	 * A receive copies with page faults off where it may claim a sender
	 * and, when that copy fails, faults the buffer in and takes again:
	 * an injected usercopy fault may then be absorbed, not fail the call.
	 */
	bool retried;
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

/*
 * Account for the call made with fault point @n armed (0: none): was a
 * fault injected, and the call's errno (@err, 0 on success).
 */
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
	if (err == ENOMEM)
		sw->enomem++;
	else if (err == EFAULT)
		sw->efault++;
	else
		sw->other++;
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
	ASSERT_NE(0u, sw->end) {
		TH_LOG("%s: still injecting after %u fault points", sw->what,
		       MAX_POINTS);
	}
	EXPECT_EQ(0u, sw->other) {
		TH_LOG("%s: failed with an errno other than ENOMEM/EFAULT",
		       sw->what);
	}
	if (must_inject) {
		EXPECT_LT(1u, sw->end) {
			TH_LOG("%s: no fault was injected: is fail-nth working?",
			       sw->what);
		}
		EXPECT_LT(0u, sw->retried ? sw->failed + sw->absorbed :
					   sw->failed);
	}
}

/* The errno a failing call may give for an injected fault. */
static bool clean_errno(int err)
{
	return err == ENOMEM || err == EFAULT;
}

/*
 * A call that failed with @err at fault point @n: only because a fault was
 * injected, and with an errno such a fault may give.
 */
static void expect_injected_failure(struct __test_metadata *_metadata,
				    unsigned int n, bool injected, int err)
{
	ASSERT_TRUE(injected) {
		TH_LOG("fault point %u: failed (%s) with no fault injected",
		       n, strerror(err));
	}
	EXPECT_TRUE(clean_errno(err)) {
		TH_LOG("fault point %u: %s", n, strerror(err));
	}
}

/* The number open() would return next. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd;
}

static bool fd_is_free(int fd)
{
	return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

/* Every channel created from now on has an id above the one returned. */
static __u64 id_watermark(struct __test_metadata *_metadata)
{
	struct kchan_stat st;
	int fd = kchan_make(0, 1, 0, O_CLOEXEC);

	if (fd < 0 || kchan_stat(fd, &st)) {
		TH_LOG("cannot make a probe channel: %s",
		       strerror(fd < 0 ? -fd : errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	return st.id;
}

/* Wait until no channel made after @base is left. */
static int wait_no_channels_above(__u64 base, int ms)
{
	uint64_t deadline = kw_now_ns() + (uint64_t)ms * 1000000ull;
	int n;

	while ((n = kchan_proc_scan(base, NULL)) > 0) {
		if (kw_now_ns() > deadline)
			return n;
		usleep(20000);
	}
	return n;
}

static void expect_counts(struct __test_metadata *_metadata, int fd,
			  unsigned int n, __u32 queued, __u64 sent,
			  __u64 received)
{
	struct kchan_stat st;

	ASSERT_EQ(0, kchan_stat(fd, &st));
	EXPECT_EQ(queued, st.queued) TH_LOG("fault point %u", n);
	EXPECT_EQ(sent, st.sent) TH_LOG("fault point %u", n);
	EXPECT_EQ(received, st.received) TH_LOG("fault point %u", n);
}

/* A fresh channel: right shape, empty, and it carries a message. */
static void check_fresh_channel(struct __test_metadata *_metadata, int fd,
				unsigned int capacity, unsigned int n)
{
	unsigned char msg[MSG_LEN], buf[MSG_MAX];
	struct kchan_stat st;

	ASSERT_EQ(0, kchan_stat(fd, &st));
	EXPECT_EQ(capacity, st.capacity) TH_LOG("fault point %u", n);
	EXPECT_EQ((__u32)MSG_MAX, st.msg_max) TH_LOG("fault point %u", n);
	EXPECT_EQ(0u, st.flags & KCHAN_STAT_CLOSED) TH_LOG("fault point %u", n);
	EXPECT_EQ(0u, st.queued);
	EXPECT_EQ(0ull, st.sent);
	kchan_fill(msg, MSG_LEN, n);
	ASSERT_EQ(MSG_LEN, kchan_send(fd, msg, MSG_LEN)) TH_LOG("fault point %u", n);
	ASSERT_EQ(MSG_LEN, kchan_recv(fd, buf, sizeof(buf)));
	EXPECT_TRUE(kchan_check(buf, MSG_LEN, n));
}

FIXTURE_SETUP(fi)
{
	char path[64];

	self->nth = -1;
	self->ctl = -1;
	if (fi_env.skip[0])
		return;
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth",
		 (int)syscall(SYS_gettid));
	self->nth = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->nth) TH_LOG("%s: %s", path, strerror(errno));
	self->ctl = open(CHANCTL, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ctl) TH_LOG("%s: is the module loaded?", CHANCTL);
	self->major = chan_major();
	ASSERT_NE(0u, self->major) TH_LOG("no \"chan\" in /proc/devices");
	kchan_test_name(self->name, sizeof(self->name), _metadata->name);
	kchan_node_path(self->node, sizeof(self->node), self->name);
	snprintf(self->sys, sizeof(self->sys), "/sys/class/chan/%s",
		 self->name);
	snprintf(self->squat, sizeof(self->squat), "/dev/%s", self->name);
}

FIXTURE_TEARDOWN(fi)
{
	if (self->nth >= 0) {
		fi_injected(self->nth, 1);
		close(self->nth);
	}
	if (self->ctl >= 0) {
		kchan_unlink(self->name);
		/* Nodes a fault left behind, so that no later run trips on them. */
		if (our_node(self->squat, self->major))
			unlink(self->squat);
		if (our_node(self->node, self->major))
			unlink(self->node);
		close(self->ctl);
	}
}

#define REQUIRE_FAULT_INJECTION() do {					\
	if (fi_env.skip[0])						\
		SKIP(return, "%s", fi_env.skip);			\
} while (0)

TEST_F_TIMEOUT(fi, create_anonymous, FI_TIMEOUT_S)
{
	struct kchan_create req = {
		.capacity = CAPACITY, .msg_max = MSG_MAX, .fd_flags = O_CLOEXEC,
	};
	struct sweep sw = { .what = "KCHAN_CTL_CREATE anonymous" };
	unsigned int n;
	__u64 base;

	REQUIRE_FAULT_INJECTION();
	base = id_watermark(_metadata);
	ASSERT_NE(0ull, base);
	while (sweep_next(&sw, &n)) {
		int lowest = lowest_free_fd(), fd, err;
		bool injected;

		ASSERT_LE(0, lowest);
		ASSERT_EQ(0, fi_arm(self->nth, n));
		fd = ioctl(self->ctl, KCHAN_CTL_CREATE, &req);
		err = fd < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		if (fd < 0) {
			expect_injected_failure(_metadata, n, injected, err);
			EXPECT_TRUE(fd_is_free(lowest)) {
				TH_LOG("fault point %u: the failed create left fd %d open",
				       n, lowest);
			}
		} else {
			check_fresh_channel(_metadata, fd, CAPACITY, n);
			close(fd);
		}
		/* Anonymous channels go with their last file: at once. */
		EXPECT_EQ(0, kchan_proc_scan(base, NULL)) {
			TH_LOG("fault point %u left a channel behind", n);
		}
		sweep_step(&sw, n, injected, err);
	}
	sweep_report(_metadata, &sw, true);
}

/* No trace of the name: node, sysfs entry, table entry, stray node. */
static void expect_no_name(struct __test_metadata *_metadata,
			   FIXTURE_DATA(fi) *self, unsigned int n)
{
	EXPECT_FALSE(exists(self->node)) TH_LOG("fault point %u: %s", n, self->node);
	EXPECT_FALSE(exists(self->sys)) TH_LOG("fault point %u: %s", n, self->sys);
	EXPECT_EQ(-ENOENT, kchan_unlink(self->name)) TH_LOG("fault point %u", n);
}

/* Remove a /dev/NAME a fault made, after reporting it. */
static void expect_no_squat(struct __test_metadata *_metadata,
			    FIXTURE_DATA(fi) *self, unsigned int n,
			    const char *when)
{
	EXPECT_FALSE(exists(self->squat)) {
		TH_LOG("fault point %u (%s): %s appeared: the node was made under the bare name",
		       n, when, self->squat);
	}
	if (our_node(self->squat, self->major))
		unlink(self->squat);
}

TEST_F_TIMEOUT(fi, create_named, FI_TIMEOUT_S)
{
	struct kchan_create req = {
		.capacity = CAPACITY, .msg_max = MSG_MAX, .mode = 0640,
	};
	struct sweep sw = { .what = "KCHAN_CTL_CREATE named" };
	unsigned int n;
	__u64 base;

	REQUIRE_FAULT_INJECTION();
	snprintf(req.name, sizeof(req.name), "%s", self->name);
	base = id_watermark(_metadata);
	ASSERT_NE(0ull, base);
	while (sweep_next(&sw, &n)) {
		struct kchan_stat st;
		struct stat sb;
		bool injected;
		int ret, err, fd;

		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = ioctl(self->ctl, KCHAN_CTL_CREATE, &req);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		if (ret < 0) {
			expect_injected_failure(_metadata, n, injected, err);
			expect_no_name(_metadata, self, n);
			expect_no_squat(_metadata, self, n, "failed create");
		} else {
			EXPECT_EQ(0, ret);
			EXPECT_EQ(0, lstat(self->node, &sb)) {
				TH_LOG("fault point %u: create succeeded but %s is missing",
				       n, self->node);
			}
			if (!lstat(self->node, &sb)) {
				EXPECT_TRUE(S_ISCHR(sb.st_mode));
				EXPECT_EQ(0640u, sb.st_mode & 07777) {
					TH_LOG("fault point %u: %s has mode %o",
					       n, self->node, sb.st_mode & 07777);
				}
				EXPECT_EQ(getuid(), sb.st_uid);
			}
			EXPECT_TRUE(exists(self->sys)) {
				TH_LOG("fault point %u: %s is missing", n, self->sys);
			}
			expect_no_squat(_metadata, self, n, "successful create");
			fd = open(self->node, O_RDWR | O_CLOEXEC);
			EXPECT_LE(0, fd) TH_LOG("fault point %u: open: %s", n, strerror(errno));
			if (fd >= 0) {
				ASSERT_EQ(0, kchan_stat(fd, &st));
				EXPECT_TRUE(!!(st.flags & KCHAN_STAT_NAMED));
				check_fresh_channel(_metadata, fd, CAPACITY, n);
				close(fd);
			}
			ASSERT_EQ(0, kchan_unlink(self->name)) TH_LOG("fault point %u", n);
			EXPECT_FALSE(exists(self->node)) {
				TH_LOG("fault point %u: %s outlived its name", n, self->node);
			}
			if (our_node(self->node, self->major))
				unlink(self->node);
		}
		sweep_step(&sw, n, injected, err);
	}
	sweep_report(_metadata, &sw, true);
	EXPECT_EQ(0, wait_no_channels_above(base, RELEASE_MS)) {
		TH_LOG("channels made by the sweep are never freed");
	}
}

TEST_F_TIMEOUT(fi, unlink, FI_TIMEOUT_S)
{
	struct kchan_name req = { 0 };
	struct sweep sw = { .what = "KCHAN_CTL_UNLINK" };
	unsigned int n;
	__u64 base;

	REQUIRE_FAULT_INJECTION();
	snprintf(req.name, sizeof(req.name), "%s", self->name);
	base = id_watermark(_metadata);
	ASSERT_NE(0ull, base);
	while (sweep_next(&sw, &n)) {
		struct kchan_stat st;
		bool injected;
		int ret, err, fd, fd2;

		ASSERT_EQ(0, kchan_create_named(self->name, CAPACITY, MSG_MAX, 0, 0600));
		fd = open(self->node, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd) TH_LOG("fault point %u: open: %s", n, strerror(errno));

		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = ioctl(self->ctl, KCHAN_CTL_UNLINK, &req);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		if (ret < 0) {
			expect_injected_failure(_metadata, n, injected, err);
			/* The name is still whole. */
			fd2 = open(self->node, O_RDWR | O_CLOEXEC);
			EXPECT_LE(0, fd2) TH_LOG("fault point %u: %s", n, strerror(errno));
			if (fd2 >= 0)
				close(fd2);
			ASSERT_EQ(0, kchan_stat(fd, &st));
			EXPECT_TRUE(!!(st.flags & KCHAN_STAT_NAMED));
			EXPECT_TRUE(exists(self->sys));
			ASSERT_EQ(0, kchan_unlink(self->name));
		} else {
			EXPECT_FALSE(exists(self->node)) {
				TH_LOG("fault point %u: unlink succeeded but %s is still there",
				       n, self->node);
			}
			EXPECT_FALSE(exists(self->sys)) {
				TH_LOG("fault point %u: %s is still there", n, self->sys);
			}
			EXPECT_EQ(-ENOENT, kchan_unlink(self->name));
			/* Open files keep working. */
			ASSERT_EQ(0, kchan_stat(fd, &st));
			EXPECT_FALSE(!!(st.flags & KCHAN_STAT_NAMED));
			check_fresh_channel(_metadata, fd, CAPACITY, n);
		}
		if (our_node(self->node, self->major))
			unlink(self->node);
		expect_no_squat(_metadata, self, n, "unlink");
		close(fd);
		sweep_step(&sw, n, injected, err);
	}
	sweep_report(_metadata, &sw, true);
	EXPECT_EQ(0, wait_no_channels_above(base, RELEASE_MS)) {
		TH_LOG("channels whose name was removed are never freed");
	}
}

/*
 * open(2) of /dev/chan/NAME for writing, on an autoclose channel: a
 * failed open must not leave a writer counted, or the channel would
 * never autoclose.
 */
TEST_F_TIMEOUT(fi, open_named, FI_TIMEOUT_S)
{
	struct sweep sw = { .what = "open /dev/chan/NAME" };
	unsigned char msg[MSG_LEN], buf[MSG_MAX];
	int holder, watcher;
	struct kchan_stat st;
	unsigned int n;
	__u64 sent = 0;

	REQUIRE_FAULT_INJECTION();
	ASSERT_EQ(0, kchan_create_named(self->name, CAPACITY, MSG_MAX,
					KCHAN_CREATE_AUTOCLOSE, 0600));
	holder = open(self->node, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, holder);
	watcher = open(self->node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, watcher);
	while (sweep_next(&sw, &n)) {
		int lowest = lowest_free_fd(), fd, err;
		bool injected;

		ASSERT_LE(0, lowest);
		ASSERT_EQ(0, fi_arm(self->nth, n));
		fd = open(self->node, O_WRONLY | O_CLOEXEC);
		err = fd < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		if (fd < 0) {
			expect_injected_failure(_metadata, n, injected, err);
			EXPECT_TRUE(fd_is_free(lowest));
		} else {
			kchan_fill(msg, MSG_LEN, n);
			ASSERT_EQ(MSG_LEN, kchan_send(fd, msg, MSG_LEN));
			sent++;
			ASSERT_EQ(MSG_LEN, kchan_recv(watcher, buf, sizeof(buf)));
			EXPECT_TRUE(kchan_check(buf, MSG_LEN, n));
			EXPECT_EQ(-EBADF, kchan_recv(fd, buf, sizeof(buf)));
			close(fd);
		}
		ASSERT_EQ(0, kchan_stat(watcher, &st));
		EXPECT_FALSE(!!(st.flags & KCHAN_STAT_CLOSED)) TH_LOG("fault point %u", n);
		EXPECT_EQ(sent, st.sent);
		EXPECT_EQ(0u, st.queued);
		sweep_step(&sw, n, injected, err);
	}
	sweep_report(_metadata, &sw, true);

	/* The holder is the last writer: releasing it closes the channel. */
	close(holder);
	ASSERT_EQ(0, kchan_stat(watcher, &st));
	EXPECT_TRUE(!!(st.flags & KCHAN_STAT_CLOSED)) {
		TH_LOG("no autoclose after the last writer: a failed open left a writer counted");
	}
	EXPECT_EQ(0, kchan_recv(watcher, buf, sizeof(buf)));
	close(watcher);
}

enum send_kind { SEND_WRITE, SEND_WRITEV };

/* Ten iovecs of 4 bytes: past the on-stack iovec array, one copy each. */
#define NSEG	10
#define SEG	(MSG_LEN / NSEG)

static ssize_t do_send(int fd, enum send_kind kind, const unsigned char *msg)
{
	struct iovec iov[NSEG];
	int i;

	if (kind == SEND_WRITE)
		return write(fd, msg, MSG_LEN);
	for (i = 0; i < NSEG; i++) {
		iov[i].iov_base = (void *)(msg + i * SEG);
		iov[i].iov_len = SEG;
	}
	return writev(fd, iov, NSEG);
}

/* A buffered channel holding one message: a send adds one or nothing. */
static void sweep_buffered_send(struct __test_metadata *_metadata,
				FIXTURE_DATA(fi) *self, enum send_kind kind,
				const char *what)
{
	struct sweep sw = { .what = what };
	unsigned char m1[MSG_LEN], m2[MSG_LEN], buf[MSG_MAX];
	unsigned int n;

	kchan_fill(m1, MSG_LEN, 1);
	kchan_fill(m2, MSG_LEN, 2);
	while (sweep_next(&sw, &n)) {
		bool injected;
		ssize_t ret;
		int fd, err;

		fd = kchan_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
		ASSERT_LE(0, fd);
		ASSERT_EQ(MSG_LEN, kchan_send(fd, m1, MSG_LEN));

		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = do_send(fd, kind, m2);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		if (ret < 0) {
			expect_injected_failure(_metadata, n, injected, err);
			expect_counts(_metadata, fd, n, 1, 1, 0);
		} else {
			EXPECT_EQ(MSG_LEN, ret);
			expect_counts(_metadata, fd, n, 2, 2, 0);
		}
		memset(buf, 0, sizeof(buf));
		ASSERT_EQ(MSG_LEN, kchan_recv(fd, buf, sizeof(buf)));
		EXPECT_TRUE(kchan_check(buf, MSG_LEN, 1));
		if (ret >= 0) {
			memset(buf, 0, sizeof(buf));
			ASSERT_EQ(MSG_LEN, kchan_recv(fd, buf, sizeof(buf)));
			EXPECT_TRUE(kchan_check(buf, MSG_LEN, 2)) {
				TH_LOG("fault point %u: the message arrived damaged", n);
			}
		}
		EXPECT_EQ(-EAGAIN, kchan_recv(fd, buf, sizeof(buf))) {
			TH_LOG("fault point %u: a failed send left something", n);
		}
		close(fd);
		sweep_step(&sw, n, injected, err);
	}
	sweep_report(_metadata, &sw, true);
}

TEST_F_TIMEOUT(fi, write_buffered, FI_TIMEOUT_S)
{
	REQUIRE_FAULT_INJECTION();
	sweep_buffered_send(_metadata, self, SEND_WRITE, "write, buffered");
}

TEST_F_TIMEOUT(fi, writev_buffered, FI_TIMEOUT_S)
{
	REQUIRE_FAULT_INJECTION();
	sweep_buffered_send(_metadata, self, SEND_WRITEV,
			    "writev of 10 segments, buffered");
}

/*
 * Rendezvous with a receiver already waiting: a failed send must not
 * reach it (it keeps waiting and gets the next good message).
 */
TEST_F_TIMEOUT(fi, write_to_waiting_receiver, FI_TIMEOUT_S)
{
	struct sweep sw = { .what = "write, rendezvous, receiver waiting" };
	unsigned char m2[MSG_LEN], m3[MSG_LEN], buf[MSG_MAX];
	unsigned int n;

	REQUIRE_FAULT_INJECTION();
	kchan_fill(m2, MSG_LEN, 2);
	kchan_fill(m3, MSG_LEN, 3);
	while (sweep_next(&sw, &n)) {
		struct kchan_stat st;
		struct kchan_op rx;
		bool injected;
		ssize_t ret;
		int fd, err;

		fd = kchan_make(0, MSG_MAX, 0, O_CLOEXEC);
		ASSERT_LE(0, fd);
		memset(buf, 0, sizeof(buf));
		ASSERT_EQ(0, kchan_op_recv(&rx, fd, buf, sizeof(buf)));
		ASSERT_EQ(0, kchan_wait_for(fd, receivers, 1));

		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = write(fd, m2, MSG_LEN);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		if (ret < 0) {
			expect_injected_failure(_metadata, n, injected, err);
			kw_sleep_ms(KCHAN_SETTLE_MS / 2);
			EXPECT_FALSE(kchan_op_done(&rx)) {
				TH_LOG("fault point %u: the receiver returned %zd after a failed send",
				       n, rx.ret);
			}
			ASSERT_EQ(0, kchan_stat(fd, &st));
			EXPECT_EQ(1u, st.receivers);
			EXPECT_EQ(0u, st.senders);
			EXPECT_EQ(0ull, st.sent);
			/* The next good send is what the receiver gets. */
			ASSERT_EQ(MSG_LEN, kchan_send(fd, m3, MSG_LEN));
			ASSERT_EQ(MSG_LEN, kchan_op_result(&rx));
			EXPECT_TRUE(kchan_check(buf, MSG_LEN, 3));
		} else {
			EXPECT_EQ(MSG_LEN, ret);
			ASSERT_EQ(MSG_LEN, kchan_op_result(&rx));
			EXPECT_TRUE(kchan_check(buf, MSG_LEN, 2)) {
				TH_LOG("fault point %u: the message arrived damaged", n);
			}
		}
		ASSERT_EQ(0, kchan_stat(fd, &st));
		EXPECT_EQ(1ull, st.sent);
		EXPECT_EQ(1ull, st.received);
		EXPECT_EQ(0u, st.receivers);
		close(fd);
		sweep_step(&sw, n, injected, err);
	}
	sweep_report(_metadata, &sw, true);
}

enum recv_kind { RECV_READ, RECV_READV };

static ssize_t do_recv(int fd, enum recv_kind kind, unsigned char *buf)
{
	struct iovec iov[NSEG];
	int i;

	if (kind == RECV_READ)
		return read(fd, buf, MSG_MAX);
	for (i = 0; i < NSEG; i++) {
		iov[i].iov_base = buf + i * SEG;
		iov[i].iov_len = SEG;
	}
	return readv(fd, iov, NSEG);
}

/* Two messages queued: a receive takes the first whole, or nothing. */
static void sweep_buffered_recv(struct __test_metadata *_metadata,
				FIXTURE_DATA(fi) *self, enum recv_kind kind,
				const char *what)
{
	struct sweep sw = { .what = what, .retried = true };
	unsigned char m[MSG_LEN], buf[MSG_MAX];
	unsigned int n;

	while (sweep_next(&sw, &n)) {
		bool injected;
		ssize_t ret;
		int fd, err;

		fd = kchan_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
		ASSERT_LE(0, fd);
		kchan_fill(m, MSG_LEN, 1);
		ASSERT_EQ(MSG_LEN, kchan_send(fd, m, MSG_LEN));
		kchan_fill(m, MSG_LEN, 2);
		ASSERT_EQ(MSG_LEN, kchan_send(fd, m, MSG_LEN));
		/* Touch the buffer now: no page fault inside the call. */
		memset(buf, 0, sizeof(buf));

		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = do_recv(fd, kind, buf);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		if (ret < 0) {
			expect_injected_failure(_metadata, n, injected, err);
			expect_counts(_metadata, fd, n, 2, 2, 0);
			EXPECT_EQ((long)MSG_LEN, kchan_next_len(fd));
			memset(buf, 0, sizeof(buf));
			ASSERT_EQ(MSG_LEN, kchan_recv(fd, buf, sizeof(buf)));
			EXPECT_TRUE(kchan_check(buf, MSG_LEN, 1)) {
				TH_LOG("fault point %u: the first message was lost or moved", n);
			}
		} else {
			EXPECT_EQ(MSG_LEN, ret);
			EXPECT_TRUE(kchan_check(buf, MSG_LEN, 1)) {
				TH_LOG("fault point %u: the message arrived damaged", n);
			}
			expect_counts(_metadata, fd, n, 1, 2, 1);
		}
		memset(buf, 0, sizeof(buf));
		ASSERT_EQ(MSG_LEN, kchan_recv(fd, buf, sizeof(buf)));
		EXPECT_TRUE(kchan_check(buf, MSG_LEN, 2));
		EXPECT_EQ(-EAGAIN, kchan_recv(fd, buf, sizeof(buf)));
		expect_counts(_metadata, fd, n, 0, 2, 2);
		close(fd);
		sweep_step(&sw, n, injected, err);
	}
	sweep_report(_metadata, &sw, true);
}

TEST_F_TIMEOUT(fi, read_buffered, FI_TIMEOUT_S)
{
	REQUIRE_FAULT_INJECTION();
	sweep_buffered_recv(_metadata, self, RECV_READ, "read, buffered");
}

TEST_F_TIMEOUT(fi, readv_buffered, FI_TIMEOUT_S)
{
	REQUIRE_FAULT_INJECTION();
	sweep_buffered_recv(_metadata, self, RECV_READV,
			    "readv of 10 segments, buffered");
}

#define NBATCH	3

static long batch_call(int fd, unsigned long cmd, struct kchan_mmsg *m)
{
	struct kchan_batch b = { .msgs = (uintptr_t)m, .nmsgs = NBATCH };

	return ioctl(fd, cmd, &b);
}

/*
 * Receive and check messages @seed0.. until the channel is empty: how
 * many there were, or -1 if one was not the next in order.
 */
static int drain_in_order(int fd, unsigned int seed0)
{
	unsigned char buf[MSG_MAX];
	int n = 0;

	while (memset(buf, 0, sizeof(buf)),
	       kchan_recv(fd, buf, sizeof(buf)) == MSG_LEN) {
		if (!kchan_check(buf, MSG_LEN, seed0 + n))
			return -1;
		n++;
	}
	return n;
}

/*
 * One message queued, then a batch of NBATCH: the call sends all, the
 * first k of them (a fault stopped it there), or none, and exactly those
 * follow the first message, whole and in order. (The descriptors are read
 * with unsafe_get_user(), which fail-nth does not reach; chan_batch tests
 * bad descriptors.)
 */
TEST_F_TIMEOUT(fi, send_batch, FI_TIMEOUT_S)
{
	struct sweep sw = { .what = "KCHAN_IOC_SEND_BATCH of 3, buffered" };
	unsigned char m[NBATCH + 1][MSG_LEN];
	struct kchan_mmsg mm[NBATCH];
	unsigned int n, i, partial = 0;

	REQUIRE_FAULT_INJECTION();
	for (i = 0; i <= NBATCH; i++)
		kchan_fill(m[i], MSG_LEN, i);
	for (i = 0; i < NBATCH; i++) {
		mm[i].buf = (uintptr_t)m[i + 1];
		mm[i].len = MSG_LEN;
		mm[i].reserved = 0;
	}
	while (sweep_next(&sw, &n)) {
		bool injected;
		long ret;
		int fd, err;

		fd = kchan_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
		ASSERT_LE(0, fd);
		ASSERT_EQ(MSG_LEN, kchan_send(fd, m[0], MSG_LEN));

		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = batch_call(fd, KCHAN_IOC_SEND_BATCH, mm);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		if (ret < 0) {
			expect_injected_failure(_metadata, n, injected, err);
			ret = 0;
		} else if (ret < NBATCH) {
			EXPECT_TRUE(injected) {
				TH_LOG("fault point %u: %ld of %d sent with no fault injected",
				       n, ret, NBATCH);
			}
			partial++;
		}
		expect_counts(_metadata, fd, n, 1 + ret, 1 + ret, 0);
		EXPECT_EQ(1 + ret, drain_in_order(fd, 0)) {
			TH_LOG("fault point %u: %ld sent, not what arrived", n,
			       ret);
		}
		close(fd);
		sweep_step(&sw, n, injected, err);
	}
	sweep_report(_metadata, &sw, true);
	/* A fault after the first message stops the batch part-way. */
	ksft_print_msg("%s: %u calls stopped part-way\n", sw.what, partial);
	fflush(stdout);
	EXPECT_LT(0u, partial);
}

/*
 * NBATCH messages queued: a batch receives the first k of them (k < NBATCH
 * only if a fault stopped it), or none, and the rest stay, in order.
 */
TEST_F_TIMEOUT(fi, recv_batch, FI_TIMEOUT_S)
{
	struct sweep sw = { .what = "KCHAN_IOC_RECV_BATCH of 3, buffered",
			    .retried = true };
	unsigned char m[MSG_LEN], buf[NBATCH][MSG_MAX];
	struct kchan_mmsg mm[NBATCH];
	unsigned int n, i, partial = 0;

	REQUIRE_FAULT_INJECTION();
	while (sweep_next(&sw, &n)) {
		bool injected;
		long ret;
		int fd, err;

		fd = kchan_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
		ASSERT_LE(0, fd);
		for (i = 0; i < NBATCH; i++) {
			kchan_fill(m, MSG_LEN, i);
			ASSERT_EQ(MSG_LEN, kchan_send(fd, m, MSG_LEN));
			/* Touched now: no page fault inside the call. */
			memset(buf[i], 0, MSG_MAX);
			mm[i].buf = (uintptr_t)buf[i];
			mm[i].len = MSG_MAX;
			mm[i].reserved = 0;
		}

		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = batch_call(fd, KCHAN_IOC_RECV_BATCH, mm);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		if (ret < 0) {
			expect_injected_failure(_metadata, n, injected, err);
			ret = 0;
		} else if (ret < NBATCH) {
			EXPECT_TRUE(injected) {
				TH_LOG("fault point %u: %ld of %d received with no fault injected",
				       n, ret, NBATCH);
			}
			partial++;
		}
		for (i = 0; i < ret; i++) {
			EXPECT_EQ((__u32)MSG_LEN, mm[i].len);
			EXPECT_TRUE(kchan_check(buf[i], MSG_LEN, i)) {
				TH_LOG("fault point %u: message %u damaged", n, i);
			}
		}
		expect_counts(_metadata, fd, n, NBATCH - ret, NBATCH, ret);
		EXPECT_EQ(NBATCH - ret, drain_in_order(fd, ret)) {
			TH_LOG("fault point %u: %ld received, the rest not kept in order",
			       n, ret);
		}
		close(fd);
		sweep_step(&sw, n, injected, err);
	}
	sweep_report(_metadata, &sw, true);
	/*
	 * A fault after the first message stops the batch part-way, unless
	 * the retry after faulting the buffer in absorbs it.
	 */
	ksft_print_msg("%s: %u calls stopped part-way\n", sw.what, partial);
	fflush(stdout);
	EXPECT_LT(0u, partial + sw.absorbed);
}

/*
 * Rendezvous with a sender blocked: a failed receive must not complete
 * the sender, which stays first in line for the next receive.
 */
TEST_F_TIMEOUT(fi, read_from_blocked_sender, FI_TIMEOUT_S)
{
	struct sweep sw = { .what = "read, rendezvous, sender blocked",
			    .retried = true };
	unsigned char m1[MSG_LEN], buf[MSG_MAX];
	unsigned int n;

	REQUIRE_FAULT_INJECTION();
	kchan_fill(m1, MSG_LEN, 1);
	while (sweep_next(&sw, &n)) {
		struct kchan_stat st;
		struct kchan_op tx;
		bool injected;
		ssize_t ret;
		int fd, err;

		fd = kchan_make(0, MSG_MAX, 0, O_CLOEXEC);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, kchan_op_send(&tx, fd, m1, MSG_LEN));
		ASSERT_EQ(0, kchan_wait_for(fd, senders, 1));
		memset(buf, 0, sizeof(buf));

		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = read(fd, buf, sizeof(buf));
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		if (ret < 0) {
			expect_injected_failure(_metadata, n, injected, err);
			ASSERT_EQ(0, kchan_stat(fd, &st));
			EXPECT_EQ(1u, st.senders) TH_LOG("fault point %u", n);
			EXPECT_EQ(0ull, st.sent);
			EXPECT_EQ(0ull, st.received);
			kw_sleep_ms(KCHAN_SETTLE_MS / 2);
			EXPECT_FALSE(kchan_op_done(&tx)) {
				TH_LOG("fault point %u: the sender returned %zd after a failed receive",
				       n, tx.ret);
			}
			memset(buf, 0, sizeof(buf));
			ASSERT_EQ(MSG_LEN, kchan_recv(fd, buf, sizeof(buf)));
		} else {
			EXPECT_EQ(MSG_LEN, ret);
		}
		EXPECT_TRUE(kchan_check(buf, MSG_LEN, 1)) {
			TH_LOG("fault point %u: the message arrived damaged", n);
		}
		EXPECT_EQ(MSG_LEN, kchan_op_result(&tx));
		ASSERT_EQ(0, kchan_stat(fd, &st));
		EXPECT_EQ(1ull, st.sent);
		EXPECT_EQ(1ull, st.received);
		EXPECT_EQ(0u, st.senders);
		close(fd);
		sweep_step(&sw, n, injected, err);
	}
	sweep_report(_metadata, &sw, true);
}

/* KCHAN_IOC_STAT, KCHAN_IOC_NEXT_LEN and KCHAN_IOC_VERSION. */
TEST_F_TIMEOUT(fi, small_ioctls, FI_TIMEOUT_S)
{
	struct sweep sw_stat = { .what = "KCHAN_IOC_STAT" };
	struct sweep sw_next = { .what = "KCHAN_IOC_NEXT_LEN" };
	struct sweep sw_ver = { .what = "KCHAN_IOC_VERSION" };
	unsigned char m[MSG_LEN];
	struct kchan_version v;
	struct kchan_stat st;
	unsigned int n;
	__u32 len;
	int fd;

	REQUIRE_FAULT_INJECTION();
	fd = kchan_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, fd);
	kchan_fill(m, MSG_LEN, 1);
	ASSERT_EQ(MSG_LEN, kchan_send(fd, m, MSG_LEN));

	while (sweep_next(&sw_stat, &n)) {
		bool injected;
		int ret, err;

		memset(&st, 0xff, sizeof(st));
		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = ioctl(fd, KCHAN_IOC_STAT, &st);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);
		if (ret < 0) {
			ASSERT_TRUE(injected);
			EXPECT_TRUE(clean_errno(err)) TH_LOG("%s", strerror(err));
		} else {
			EXPECT_EQ(1u, st.queued);
			EXPECT_EQ(1ull, st.sent);
			EXPECT_EQ((__u32)MSG_LEN, st.next_len);
			EXPECT_EQ(0u, st.reserved0);
		}
		sweep_step(&sw_stat, n, injected, err);
	}
	sweep_report(_metadata, &sw_stat, true);

	while (sweep_next(&sw_next, &n)) {
		bool injected;
		int ret, err;

		len = 0;
		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = ioctl(fd, KCHAN_IOC_NEXT_LEN, &len);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);
		if (ret < 0) {
			ASSERT_TRUE(injected);
			EXPECT_TRUE(clean_errno(err)) TH_LOG("%s", strerror(err));
		} else {
			EXPECT_EQ((__u32)MSG_LEN, len);
		}
		sweep_step(&sw_next, n, injected, err);
	}
	/* put_user() has no fault point on every architecture. */
	sweep_report(_metadata, &sw_next, false);

	while (sweep_next(&sw_ver, &n)) {
		bool injected;
		int ret, err;

		memset(&v, 0, sizeof(v));
		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = ioctl(n % 2 ? fd : self->ctl, KCHAN_IOC_VERSION, &v);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);
		if (ret < 0) {
			ASSERT_TRUE(injected);
			EXPECT_TRUE(clean_errno(err)) TH_LOG("%s", strerror(err));
		} else {
			EXPECT_EQ((__u32)KCHAN_VERSION, v.version);
		}
		sweep_step(&sw_ver, n, injected, err);
	}
	sweep_report(_metadata, &sw_ver, true);

	/* Nothing moved. */
	expect_counts(_metadata, fd, 0, 1, 1, 0);
	close(fd);
}

/* Go's close(), with a message queued and a receiver for it. */
TEST_F_TIMEOUT(fi, ioc_close, FI_TIMEOUT_S)
{
	struct sweep sw = { .what = "KCHAN_IOC_CLOSE" };
	unsigned char m[MSG_LEN], buf[MSG_MAX];
	unsigned int n;

	REQUIRE_FAULT_INJECTION();
	kchan_fill(m, MSG_LEN, 1);
	while (sweep_next(&sw, &n)) {
		struct kchan_stat st;
		bool injected;
		int fd, ret, err;

		fd = kchan_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
		ASSERT_LE(0, fd);
		ASSERT_EQ(MSG_LEN, kchan_send(fd, m, MSG_LEN));

		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = ioctl(fd, KCHAN_IOC_CLOSE);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		ASSERT_EQ(0, kchan_stat(fd, &st));
		if (ret < 0) {
			ASSERT_TRUE(injected);
			EXPECT_TRUE(clean_errno(err)) TH_LOG("%s", strerror(err));
			EXPECT_FALSE(!!(st.flags & KCHAN_STAT_CLOSED));
			ASSERT_EQ(0, kchan_close(fd));
		} else {
			EXPECT_TRUE(!!(st.flags & KCHAN_STAT_CLOSED));
			EXPECT_EQ(-EPIPE, kchan_close(fd));
		}
		EXPECT_EQ(-EPIPE, kchan_send(fd, m, MSG_LEN));
		ASSERT_EQ(MSG_LEN, kchan_recv(fd, buf, sizeof(buf)));
		EXPECT_TRUE(kchan_check(buf, MSG_LEN, 1));
		EXPECT_EQ(0, kchan_recv(fd, buf, sizeof(buf)));
		close(fd);
		sweep_step(&sw, n, injected, err);
	}
	/* Closing allocates nothing and copies nothing. */
	sweep_report(_metadata, &sw, false);
}

/*
 * close(2), whose release runs before the call returns to user space:
 * the last file of an anonymous channel (which frees it, queued messages
 * included), and the last writer of an autoclose channel.
 */
TEST_F_TIMEOUT(fi, close_file, FI_TIMEOUT_S)
{
	struct sweep sw_last = { .what = "close(2), last file" };
	struct sweep sw_auto = { .what = "close(2), last writer, autoclose" };
	unsigned char m[MSG_LEN], buf[MSG_MAX];
	unsigned int n;

	REQUIRE_FAULT_INJECTION();
	kchan_fill(m, MSG_LEN, 1);
	while (sweep_next(&sw_last, &n)) {
		struct kchan_stat st;
		bool injected, listed;
		int fd, ret, err;

		fd = kchan_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
		ASSERT_LE(0, fd);
		ASSERT_EQ(MSG_LEN, kchan_send(fd, m, MSG_LEN));
		ASSERT_EQ(0, kchan_stat(fd, &st));

		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = close(fd);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		EXPECT_EQ(0, ret) TH_LOG("fault point %u: %s", n, strerror(err));
		ASSERT_LE(0, kchan_proc_scan(st.id, &listed));
		EXPECT_FALSE(listed) TH_LOG("fault point %u: the channel outlived its last file", n);
		sweep_step(&sw_last, n, injected, err);
	}
	sweep_report(_metadata, &sw_last, false);

	while (sweep_next(&sw_auto, &n)) {
		struct kchan_stat st;
		bool injected;
		int w, r, ret, err;

		ASSERT_EQ(0, kchan_create_named(self->name, CAPACITY, MSG_MAX,
						KCHAN_CREATE_AUTOCLOSE, 0600));
		w = open(self->node, O_WRONLY | O_CLOEXEC);
		ASSERT_LE(0, w);
		r = open(self->node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		ASSERT_LE(0, r);
		ASSERT_EQ(0, kchan_unlink(self->name));
		ASSERT_EQ(MSG_LEN, kchan_send(w, m, MSG_LEN));

		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = close(w);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		EXPECT_EQ(0, ret) TH_LOG("fault point %u: %s", n, strerror(err));
		ASSERT_EQ(0, kchan_stat(r, &st));
		EXPECT_TRUE(!!(st.flags & KCHAN_STAT_CLOSED)) TH_LOG("fault point %u", n);
		ASSERT_EQ(MSG_LEN, kchan_recv(r, buf, sizeof(buf)));
		EXPECT_TRUE(kchan_check(buf, MSG_LEN, 1));
		EXPECT_EQ(0, kchan_recv(r, buf, sizeof(buf)));
		close(r);
		sweep_step(&sw_auto, n, injected, err);
	}
	sweep_report(_metadata, &sw_auto, false);
}

/*
 * epoll_ctl(ADD) on a channel: its poll registers on two wait queues,
 * and a failure after the first must leave neither behind (a stale entry
 * would be written to by the next wake-up, after epoll freed it).
 */
TEST_F_TIMEOUT(fi, epoll_add, FI_TIMEOUT_S)
{
	struct sweep sw = { .what = "epoll_ctl ADD" };
	unsigned char m[MSG_LEN], buf[MSG_MAX];
	unsigned int n;

	REQUIRE_FAULT_INJECTION();
	kchan_fill(m, MSG_LEN, 1);
	while (sweep_next(&sw, &n)) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
		bool injected;
		int fd, ep, ret, err;

		fd = kchan_make(CAPACITY, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
		ASSERT_LE(0, fd);
		ep = epoll_create1(EPOLL_CLOEXEC);
		ASSERT_LE(0, ep);

		ASSERT_EQ(0, fi_arm(self->nth, n));
		ret = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		err = ret < 0 ? errno : 0;
		injected = fi_injected(self->nth, n);

		if (ret < 0) {
			ASSERT_TRUE(injected);
			EXPECT_TRUE(clean_errno(err)) TH_LOG("%s", strerror(err));
			/* Close the epoll first, then wake both queues. */
			close(ep);
			ep = -1;
		}
		ASSERT_EQ(MSG_LEN, kchan_send(fd, m, MSG_LEN));
		if (ep >= 0) {
			ev.events = 0;
			EXPECT_EQ(1, epoll_wait(ep, &ev, 1, 0));
			EXPECT_TRUE(!!(ev.events & EPOLLIN));
		}
		ASSERT_EQ(MSG_LEN, kchan_recv(fd, buf, sizeof(buf)));
		ASSERT_EQ(0, kchan_close(fd));
		if (ep >= 0)
			close(ep);
		close(fd);
		sweep_step(&sw, n, injected, err);
	}
	sweep_report(_metadata, &sw, true);
}

TEST_HARNESS_MAIN
