// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifetime and limits: unloading is refused while a kchan file is
 * open, unloading with idle named channels destroys them, the limits are
 * read-only parameters with compiled-in ceilings, and each limit is
 * enforced with its documented errno.
 *
 * These tests unload and load kchan.ko ($KCHAN_MODULE, set by tools/vm,
 * or else build/mod/kmod/kchan.ko) and always leave it loaded with its
 * default parameters. Run them alone, as root, in the test VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kt.h"
#include "kt_sys.h"

#define SMALL_LIMITS	"max_capacity=8 max_msg_size=128 max_channels_per_user=5 " \
			"max_select_cases=300"
#define SMALL_CASES	300

/*
 * Seconds per test. Loading and unloading a module built for a KASAN,
 * kmemleak and lockdep kernel takes seconds each under emulation, and a
 * test that loads it five times outlives the harness's default 30 s.
 */
#define MODULE_TEST_TIMEOUT	600
/* Named channels are freed late on kernels that delay kobject release. */
#define RELEASE_MS	15000
#define SMALL_CAPACITY	8
#define SMALL_MSG_SIZE	128
#define SMALL_CHANNELS	5

#define MAX_FDS		16
#define MAX_NAMES	4
#define NOBODY		65534

/* /sys/module/kchan/refcnt, or -1. */
static __attribute__((noinline)) long long module_refcnt(void)
{
	unsigned long long v = 0;

	return kt_read_u64_file(KT_SYS_MODULE "/refcnt", &v) ? -1 : (long long)v;
}

static bool node_exists(const char *name)
{
	char path[128];
	struct stat st;

	kt_node_path(path, sizeof(path), name);
	return stat(path, &st) == 0;
}

static bool sysfs_dir_exists(const char *name)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/chan/%s", name);
	return stat(path, &st) == 0;
}

/* The files and names a test made, closed and removed after it. */
struct kept {
	bool no_ko;
	int fd[MAX_FDS];
	int nfd;
	char name[MAX_NAMES][KCHAN_NAME_SIZE];
	int nname;
};

/*
 * Two fixtures, run in this order (the order they are declared in):
 * "limits" runs its tests with SMALL_LIMITS, "module" with the defaults.
 * Loading the module with other parameters means unloading it, which
 * takes seconds on a debug kernel (its kobject's release is delayed on
 * purpose), so each fixture reloads it only when its parameters are not
 * the ones loaded: the limits tests share one load, and "module"'s
 * teardown leaves the defaults behind.
 */
FIXTURE(limits) {
	struct kept k;
};

FIXTURE(module) {
	struct kept k;
};

/* Fills @k; false if the tests must be skipped. */
static bool kept_init(struct kept *k)
{
	k->nfd = 0;
	k->nname = 0;
	k->no_ko = access(kt_ko_path(), R_OK) != 0 || getuid() != 0;
	return !k->no_ko;
}

static void kept_release(struct kept *k)
{
	int i;

	for (i = 0; i < k->nfd; i++)
		close(k->fd[i]);
	if (kt_module_loaded())
		for (i = 0; i < k->nname; i++)
			kt_unlink(k->name[i]);
}

FIXTURE_SETUP(module)
{
	int ret;

	if (!kept_init(&self->k))
		return;
	ret = kt_ensure_defaults();
	ASSERT_EQ(0, ret) TH_LOG("loading %s: %s", kt_ko_path(), strerror(-ret));
}

FIXTURE_TEARDOWN(module)
{
	int ret;

	if (self->k.no_ko)
		return;
	kept_release(&self->k);
	ret = kt_ensure_defaults();
	if (ret)
		TH_LOG("could not restore kchan with default limits: %s",
		       strerror(-ret));
}

/* The limits tests count the channels of one user: they start with none. */
FIXTURE_SETUP(limits)
{
	int ret;

	if (!kept_init(&self->k))
		return;
	ret = kt_ensure_params_fresh(SMALL_LIMITS, RELEASE_MS);
	ASSERT_EQ(0, ret) TH_LOG("loading %s %s: %s", kt_ko_path(),
				 SMALL_LIMITS, strerror(-ret));
}

FIXTURE_TEARDOWN(limits)
{
	if (!self->k.no_ko)
		kept_release(&self->k);
}

#define NEED_MODULE_FILE() do {						\
	if (self->k.no_ko)						\
		SKIP(return, "needs root and %s", kt_ko_path());		\
} while (0)

/* Remember @fd for the teardown; returns it. */
static int keep_fd(struct kept *k, int fd)
{
	if (fd >= 0 && k->nfd < MAX_FDS)
		k->fd[k->nfd++] = fd;
	return fd;
}

/* Close the fd kept at @i now, so the teardown won't. */
static void drop_fd(struct kept *k, int i)
{
	close(k->fd[i]);
	k->fd[i] = k->fd[--k->nfd];
}

/*
 * kt_make() retried until a slot freed by a channel still being
 * released comes back, for up to RELEASE_MS: an fd or -errno.
 */
static int make_when_freed(void)
{
	long long deadline = kt_now_ms() + RELEASE_MS;
	int fd;

	while ((fd = kt_make(0, 8, 0, O_CLOEXEC)) == -EMFILE &&
	       kt_now_ms() < deadline)
		kt_sleep_ms(20);
	return fd;
}

static __attribute__((noinline)) const char *
new_name(struct kept *k, const char *tag)
{
	char *n = k->name[k->nname < MAX_NAMES - 1 ? k->nname++ : k->nname];

	kt_name(n, KCHAN_NAME_SIZE, tag);
	return n;
}

TEST_F_TIMEOUT(module, unload_is_refused_while_a_channel_fd_is_open, MODULE_TEST_TIMEOUT)
{
	char buf[8];
	int fd, ret;

	NEED_MODULE_FILE();
	fd = keep_fd(&self->k, kt_make(1, 8, 0, O_CLOEXEC));
	ASSERT_GE(fd, 0);

	ret = kt_unload();
	ASSERT_EQ(-EWOULDBLOCK, ret) TH_LOG("delete_module: %s", strerror(-ret));
	ASSERT_TRUE(kt_module_loaded());
	EXPECT_LT(0LL, module_refcnt());
	/* Nothing was torn down: the channel still works. */
	ASSERT_EQ(2, kt_send(fd, "ok", 2));
	ASSERT_EQ(2, kt_recv(fd, buf, sizeof(buf)));

	drop_fd(&self->k, 0);
	ASSERT_EQ(0, kt_unload());
	ASSERT_FALSE(kt_module_loaded());
	ASSERT_EQ(0, kt_load(""));
}

TEST_F_TIMEOUT(module, rmmod_fails_while_a_channel_fd_is_open, MODULE_TEST_TIMEOUT)
{
	int fd, status;

	NEED_MODULE_FILE();
	if (access("/sbin/rmmod", X_OK) && access("/usr/sbin/rmmod", X_OK))
		SKIP(return, "no rmmod");
	fd = keep_fd(&self->k, kt_make(0, 8, 0, O_CLOEXEC));
	ASSERT_GE(fd, 0);
	status = system("PATH=/usr/sbin:/sbin:$PATH rmmod kchan >/dev/null 2>&1");
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_NE(0, WEXITSTATUS(status));
	ASSERT_TRUE(kt_module_loaded());
}

TEST_F_TIMEOUT(module, unload_is_refused_while_a_named_channel_fd_is_open, MODULE_TEST_TIMEOUT)
{
	const char *name = new_name(&self->k, "busy");
	int fd;

	NEED_MODULE_FILE();
	ASSERT_EQ(0, kt_create_named(name, 1, 8, 0, 0));
	fd = keep_fd(&self->k, kchan_open(name, O_RDONLY));
	ASSERT_GE(fd, 0);

	ASSERT_EQ(-EWOULDBLOCK, kt_unload());
	ASSERT_TRUE(kt_module_loaded());
	ASSERT_TRUE(node_exists(name));

	drop_fd(&self->k, 0);
	ASSERT_EQ(0, kt_unload());
	ASSERT_FALSE(node_exists(name));
}

TEST_F_TIMEOUT(module, unload_is_refused_while_chanctl_is_open, MODULE_TEST_TIMEOUT)
{
	int ctl;

	NEED_MODULE_FILE();
	ctl = keep_fd(&self->k, open(KT_CHANCTL, O_RDWR | O_CLOEXEC));
	ASSERT_GE(ctl, 0);
	ASSERT_EQ(-EWOULDBLOCK, kt_unload());
	ASSERT_TRUE(kt_module_loaded());
}

TEST_F_TIMEOUT(module, unload_destroys_idle_named_channels, MODULE_TEST_TIMEOUT)
{
	const char *a = new_name(&self->k, "idle-a");
	const char *b = new_name(&self->k, "idle-b");

	NEED_MODULE_FILE();
	ASSERT_EQ(0, kt_create_named(a, 0, 8, 0, 0));
	ASSERT_EQ(0, kt_create_named(b, 4, 8, 0, 0));

	ASSERT_EQ(0, kt_unload());
	EXPECT_FALSE(node_exists(a));
	EXPECT_FALSE(node_exists(b));
	EXPECT_FALSE(sysfs_dir_exists(a));
	EXPECT_FALSE(sysfs_dir_exists(b));

	/* Loading again brings nothing back; the names are free. */
	ASSERT_EQ(0, kt_load(""));
	EXPECT_FALSE(node_exists(a));
	ASSERT_EQ(0, kt_create_named(a, 0, 8, 0, 0));
}

TEST_F_TIMEOUT(module, unload_destroys_named_channels_holding_messages, MODULE_TEST_TIMEOUT)
{
	const char *name = new_name(&self->k, "full");
	int fd;

	NEED_MODULE_FILE();
	ASSERT_EQ(0, kt_create_named(name, 2, 8, 0, 0));
	fd = kchan_open(name, O_WRONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(4, kt_send(fd, "left", 4));
	/* Queued messages do not make a channel busy: only open files do. */
	close(fd);

	ASSERT_EQ(0, kt_unload());
	ASSERT_FALSE(node_exists(name));
}

TEST_F_TIMEOUT(module, parameters_are_read_only_in_sysfs, MODULE_TEST_TIMEOUT)
{
	static const char *const names[] = {
		"max_capacity", "max_msg_size", "max_channels_per_user",
		"max_select_cases", "max_bytes_per_user", "max_names_per_user",
		"max_minors",
	};
	unsigned int i;

	NEED_MODULE_FILE();
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		char path[128];
		struct stat st;
		int fd;

		snprintf(path, sizeof(path), KT_PARAMS "%s", names[i]);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s", path);
		EXPECT_EQ(0444U, st.st_mode & 07777) TH_LOG("%s", path);
		/* Not even root may write one. */
		fd = open(path, O_WRONLY | O_CLOEXEC);
		EXPECT_EQ(-1, fd) TH_LOG("%s opened for writing", path);
		if (fd >= 0)
			close(fd);
	}
}

/* The module parameter @name reads @want. */
static void expect_param(struct __test_metadata *_metadata, const char *name,
			 unsigned long long want)
{
	unsigned long long v;

	ASSERT_EQ(0, kt_param(name, &v)) TH_LOG("%s", name);
	EXPECT_EQ(want, v) TH_LOG("%s", name);
}

TEST_F_TIMEOUT(module, parameters_default_to_the_documented_limits, MODULE_TEST_TIMEOUT)
{
	NEED_MODULE_FILE();
	expect_param(_metadata, "max_capacity", KT_DEFAULT_MAX_CAPACITY);
	expect_param(_metadata, "max_msg_size", KT_DEFAULT_MAX_MSG_SIZE);
	expect_param(_metadata, "max_channels_per_user", KT_DEFAULT_MAX_CHANNELS_PER_USER);
	expect_param(_metadata, "max_select_cases", KT_DEFAULT_MAX_SELECT_CASES);
	expect_param(_metadata, "max_bytes_per_user", KT_DEFAULT_MAX_BYTES_PER_USER);
	expect_param(_metadata, "max_names_per_user", KT_DEFAULT_MAX_NAMES_PER_USER);
	expect_param(_metadata, "max_minors", KT_DEFAULT_MAX_MINORS);
}

TEST_F_TIMEOUT(limits, parameters_given_at_load_are_shown_and_reported, MODULE_TEST_TIMEOUT)
{
	struct kchan_version ver = { 0 };
	int ctl;

	NEED_MODULE_FILE();
	expect_param(_metadata, "max_capacity", SMALL_CAPACITY);
	expect_param(_metadata, "max_msg_size", SMALL_MSG_SIZE);
	expect_param(_metadata, "max_channels_per_user", SMALL_CHANNELS);

	ctl = keep_fd(&self->k, open(KT_CHANCTL, O_RDWR | O_CLOEXEC));
	ASSERT_GE(ctl, 0);
	ASSERT_EQ(0, ioctl(ctl, KCHAN_IOC_VERSION, &ver));
	EXPECT_EQ((unsigned int)SMALL_CAPACITY, ver.max_capacity);
	EXPECT_EQ((unsigned int)SMALL_MSG_SIZE, ver.max_msg_size);
	EXPECT_EQ((unsigned int)SMALL_CHANNELS, ver.max_channels_per_user);
	EXPECT_EQ((unsigned int)SMALL_CASES, ver.max_select_cases);
}

TEST_F_TIMEOUT(limits, select_above_max_select_cases_is_einval, MODULE_TEST_TIMEOUT)
{
	struct kchan_case *c = calloc(SMALL_CASES + 1, sizeof(*c));
	struct kchan_select req = { .flags = KCHAN_SELECT_NONBLOCK };
	int ctl, i;

	NEED_MODULE_FILE();
	ASSERT_NE(NULL, c);
	for (i = 0; i <= SMALL_CASES; i++)
		c[i] = (struct kchan_case){ .fd = -1, .op = KCHAN_OP_RECV };
	ctl = keep_fd(&self->k, open(KT_CHANCTL, O_RDWR | O_CLOEXEC));
	ASSERT_GE(ctl, 0);
	req.cases = (uintptr_t)c;
	req.ncases = SMALL_CASES;
	EXPECT_EQ(-1, ioctl(ctl, KCHAN_CTL_SELECT, &req));
	EXPECT_EQ(EAGAIN, errno);
	req.ncases = SMALL_CASES + 1;
	EXPECT_EQ(-1, ioctl(ctl, KCHAN_CTL_SELECT, &req));
	EXPECT_EQ(EINVAL, errno);
	free(c);
}

TEST_F_TIMEOUT(limits, capacity_above_max_capacity_is_einval, MODULE_TEST_TIMEOUT)
{
	NEED_MODULE_FILE();
	EXPECT_EQ(-EINVAL, kt_make(SMALL_CAPACITY + 1, 8, 0, O_CLOEXEC));
	EXPECT_EQ(-EINVAL, kt_create_named(new_name(&self->k, "cap"),
					      SMALL_CAPACITY + 1, 8, 0, 0));
	ASSERT_LE(0, keep_fd(&self->k, kt_make(SMALL_CAPACITY, 8, 0, O_CLOEXEC)));
}

TEST_F_TIMEOUT(limits, msg_max_above_max_msg_size_or_zero_is_einval, MODULE_TEST_TIMEOUT)
{
	NEED_MODULE_FILE();
	EXPECT_EQ(-EINVAL, kt_make(1, SMALL_MSG_SIZE + 1, 0, O_CLOEXEC));
	EXPECT_EQ(-EINVAL, kt_make(1, 0, 0, O_CLOEXEC));
	EXPECT_EQ(-EINVAL, kt_create_named(new_name(&self->k, "msg"), 1,
					      SMALL_MSG_SIZE + 1, 0, 0));
	ASSERT_LE(0, keep_fd(&self->k, kt_make(1, SMALL_MSG_SIZE, 0, O_CLOEXEC)));
}

TEST_F_TIMEOUT(limits, channel_beyond_the_users_limit_is_emfile, MODULE_TEST_TIMEOUT)
{
	int i;

	NEED_MODULE_FILE();
	for (i = 0; i < SMALL_CHANNELS; i++) {
		ASSERT_LE(0, keep_fd(&self->k, kt_make(0, 8, 0, O_CLOEXEC)))
			TH_LOG("channel %d", i + 1);
	}
	EXPECT_EQ(-EMFILE, kt_make(0, 8, 0, O_CLOEXEC));
	EXPECT_EQ(-EMFILE, kt_create_named(new_name(&self->k, "six"), 0, 8, 0, 0));

	/* Freeing one channel frees its slot, and only one. */
	drop_fd(&self->k, 0);
	ASSERT_LE(0, keep_fd(&self->k, kt_make(0, 8, 0, O_CLOEXEC)));
	EXPECT_EQ(-EMFILE, kt_make(0, 8, 0, O_CLOEXEC));
}

TEST_F_TIMEOUT(limits, named_channels_count_toward_the_users_limit, MODULE_TEST_TIMEOUT)
{
	const char *name = new_name(&self->k, "counted");
	int i;

	NEED_MODULE_FILE();
	ASSERT_EQ(0, kt_create_named(name, 0, 8, 0, 0));
	for (i = 1; i < SMALL_CHANNELS; i++) {
		ASSERT_LE(0, keep_fd(&self->k, kt_make(0, 8, 0, O_CLOEXEC)));
	}
	EXPECT_EQ(-EMFILE, kt_make(0, 8, 0, O_CLOEXEC));

	/*
	 * Unlinking an idle named channel frees it, and its slot: at once on
	 * most kernels, once the device is released on all of them.
	 */
	ASSERT_EQ(0, kt_unlink(name));
	ASSERT_LE(0, keep_fd(&self->k, make_when_freed()));
	EXPECT_EQ(-EMFILE, kt_make(0, 8, 0, O_CLOEXEC));
}

TEST_F_TIMEOUT(limits, the_channel_limit_is_per_user, MODULE_TEST_TIMEOUT)
{
	int i, status;
	pid_t pid;

	NEED_MODULE_FILE();
	for (i = 0; i < SMALL_CHANNELS; i++) {
		ASSERT_LE(0, keep_fd(&self->k, kt_make(0, 8, 0, O_CLOEXEC)));
	}
	ASSERT_EQ(-EMFILE, kt_make(0, 8, 0, O_CLOEXEC));

	/* Another user has a quota of its own, limited the same way. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(100);
		for (i = 0; i < SMALL_CHANNELS; i++)
			if (kt_make(0, 8, 0, O_CLOEXEC) < 0)
				_exit(1 + i);
		_exit(kt_make(0, 8, 0, O_CLOEXEC) == -EMFILE ? 0 : 50);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child: 1-5: channel N refused, 50: no EMFILE, 100: setup");
}

TEST_F_TIMEOUT(module, load_with_a_limit_out_of_range_fails_with_einval, MODULE_TEST_TIMEOUT)
{
	static const char *const over[] = {
		"max_capacity=2000000",
		"max_capacity=1048577",
		"max_msg_size=4194305",
		"max_channels_per_user=1048577",
		"max_select_cases=65537",
		"max_select_cases=255",
		"max_bytes_per_user=1099511627777",
		"max_names_per_user=65537",
		"max_minors=1048577",
		"max_minors=0",
		"max_msg_size=0",
		/* Past what the variable holds: not a wrapped value, EINVAL. */
		"max_capacity=4294967296",
		"max_bytes_per_user=99999999999999999999999",
		"max_select_cases=many",
	};
	unsigned int i;

	NEED_MODULE_FILE();
	ASSERT_EQ(0, kt_unload_within(KT_TIMEOUT_MS));
	for (i = 0; i < ARRAY_SIZE(over); i++) {
		EXPECT_EQ(-EINVAL, kt_load(over[i])) TH_LOG("%s", over[i]);
		if (kt_module_loaded()) {
			TH_LOG("%s: loaded", over[i]);
			ASSERT_EQ(0, kt_unload_within(KT_TIMEOUT_MS));
		}
	}
	ASSERT_EQ(0, kt_load(""));
}

TEST_F_TIMEOUT(module, load_with_limits_at_their_ceilings_succeeds, MODULE_TEST_TIMEOUT)
{
	NEED_MODULE_FILE();
	ASSERT_EQ(0, kt_reload("max_capacity=1048576 max_msg_size=4194304 "
			    "max_channels_per_user=1048576 "
			    "max_select_cases=65536 "
			    "max_bytes_per_user=1099511627776 "
			    "max_names_per_user=65536"));
	expect_param(_metadata, "max_capacity", 1048576ULL);
	expect_param(_metadata, "max_msg_size", 4194304ULL);
	expect_param(_metadata, "max_channels_per_user", 1048576ULL);
	expect_param(_metadata, "max_select_cases", 65536ULL);
	expect_param(_metadata, "max_bytes_per_user", 1ULL << 40);
	expect_param(_metadata, "max_names_per_user", 65536ULL);
}

TEST_HARNESS_MAIN
