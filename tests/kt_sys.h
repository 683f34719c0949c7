/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module and what the system shows of it: loading and unloading
 * kchan.ko ($KCHAN_MODULE, set by tools/vm, or build/mod/kmod/kchan.ko)
 * with parameters, its sysfs files, strict parsers for one-number files
 * and fdinfo lines, and /proc/kchan.
 */
#ifndef KT_SYS_H
#define KT_SYS_H

#include <ctype.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "kt.h"

#define KT_SYS_MODULE	"/sys/module/kchan"
#define KT_PARAMS	KT_SYS_MODULE "/parameters/"

/* The documented defaults of the module's parameters. */
#define KT_DEFAULT_MAX_CAPACITY		65536
#define KT_DEFAULT_MAX_MSG_SIZE		65536
#define KT_DEFAULT_MAX_CHANNELS_PER_USER	4096
#define KT_DEFAULT_MAX_SELECT_CASES	1024
#define KT_DEFAULT_MAX_BYTES_PER_USER	(64ULL << 20)
#define KT_DEFAULT_MAX_NAMES_PER_USER	256
#define KT_DEFAULT_MAX_MINORS		1048576

static inline const char *kt_ko_path(void)
{
	const char *p = getenv("KCHAN_MODULE");

	return p && *p ? p : "build/mod/kmod/kchan.ko";
}

static inline bool kt_module_loaded(void)
{
	return access(KT_SYS_MODULE, F_OK) == 0;
}

/* delete_module(2), not waiting for the module's users: 0 or -errno. */
static inline int kt_unload(void)
{
	return syscall(SYS_delete_module, "kchan", O_NONBLOCK) < 0 ? -errno : 0;
}

/*
 * Unload, waiting up to @ms for references that are still being dropped
 * (EWOULDBLOCK) or a module still on its way (EBUSY).
 */
static inline int kt_unload_within(long ms)
{
	uint64_t deadline = kt_deadline_ns(ms);
	int ret;

	while (((ret = kt_unload()) == -EAGAIN || ret == -EBUSY) &&
	       kt_now_ns() < deadline)
		kt_sleep_ms(20);
	return ret;
}

/* finit_module(2) with @params: 0 or -errno. */
static inline int kt_load(const char *params)
{
	int fd, ret;

	fd = open(kt_ko_path(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static inline int kt_reload(const char *params)
{
	int ret;

	if (kt_module_loaded()) {
		ret = kt_unload_within(KT_TIMEOUT_MS);
		if (ret)
			return ret;
	}
	return kt_load(params);
}

/* Read a file holding exactly one decimal number and a newline. */
static inline int kt_read_u64_file(const char *path, unsigned long long *val)
{
	char buf[64], *end;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (!isdigit((unsigned char)buf[0]))
		return -EPROTO;
	errno = 0;
	*val = strtoull(buf, &end, 10);
	if (errno || strcmp(end, "\n"))
		return -EPROTO;
	return 0;
}

/* Not inlined: a caller's &v then survives the harness's longjmp. */
static __attribute__((noinline, unused)) int
kt_param(const char *name, unsigned long long *val)
{
	char path[128];

	snprintf(path, sizeof(path), KT_PARAMS "%s", name);
	return kt_read_u64_file(path, val);
}

static inline bool kt_param_is(const char *name, unsigned long long want)
{
	unsigned long long v = 0;

	return !kt_param(name, &v) && v == want;
}

/*
 * Loaded, with each parameter as @params sets it ("name=value ...", as
 * finit_module(2) takes them) and every other one at its default.
 */
static inline bool kt_has_params(const char *params)
{
	static const struct {
		const char *name;
		unsigned long long def;
	} all[] = {
		{ "max_capacity", KT_DEFAULT_MAX_CAPACITY },
		{ "max_msg_size", KT_DEFAULT_MAX_MSG_SIZE },
		{ "max_channels_per_user", KT_DEFAULT_MAX_CHANNELS_PER_USER },
		{ "max_select_cases", KT_DEFAULT_MAX_SELECT_CASES },
		{ "max_bytes_per_user", KT_DEFAULT_MAX_BYTES_PER_USER },
		{ "max_names_per_user", KT_DEFAULT_MAX_NAMES_PER_USER },
		{ "max_minors", KT_DEFAULT_MAX_MINORS },
	};
	unsigned int i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		size_t len = strlen(all[i].name);
		unsigned long long want = all[i].def;
		const char *p;

		for (p = params; (p = strstr(p, all[i].name)); p += len)
			if ((p == params || p[-1] == ' ') && p[len] == '=') {
				want = strtoull(p + len + 1, NULL, 10);
				break;
			}
		if (!kt_param_is(all[i].name, want))
			return false;
	}
	return true;
}

/*
 * Loaded with @params (see kt_has_params()): reloaded only if it is not
 * already, as unloading takes seconds on a debug kernel. 0 or -errno.
 */
static inline int kt_ensure_params(const char *params)
{
	if (kt_module_loaded() && kt_has_params(params))
		return 0;
	return kt_reload(params);
}

/* Loaded, with the default limits: the state every test starts and ends in. */
static inline int kt_ensure_defaults(void)
{
	return kt_ensure_params("");
}

/* The module's reference count, or -1. */
static inline long long kt_module_refcnt(void)
{
	char buf[32] = "";
	ssize_t n;
	int fd;

	fd = open(KT_SYS_MODULE "/refcnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtoll(buf, NULL, 10) : -1;
}

/*
 * Read one "KEY:\tDECIMAL\n" line of /proc/self/fdinfo/FD. Returns 0,
 * -ENOENT if the key is missing, -EPROTO if the line is malformed.
 * @after, if not NULL, must be a key seen on an earlier line.
 */
static inline int kt_fdinfo_u64(int fd, const char *key, const char *after,
				unsigned long long *val)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	bool seen_after = after == NULL;
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (after && !strncmp(line, after, strlen(after)) &&
		    line[strlen(after)] == ':')
			seen_after = true;
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		p = line + klen + 1;
		if (*p != '\t' || !isdigit((unsigned char)p[1]) || !seen_after) {
			ret = -EPROTO;
			break;
		}
		errno = 0;
		*val = strtoull(p + 1, &end, 10);
		ret = (errno || strcmp(end, "\n")) ? -EPROTO : 0;
		break;
	}
	fclose(f);
	return ret;
}

/*
 * /proc/kchan, the list of every channel: how many have an id above
 * @id (ids only grow, so these are the channels made after the one with
 * that id), and whether the one with @id is still there. -errno if the
 * list cannot be read.
 */
static inline int kt_proc_scan(__u64 id, bool *listed)
{
	char line[256];
	int above = 0;
	FILE *f;

	if (listed)
		*listed = false;
	f = fopen("/proc/kchan", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "%llu ", &v) != 1)
			continue;	/* the header */
		if (v > id)
			above++;
		if (v == id && listed)
			*listed = true;
	}
	fclose(f);
	return above;
}

/* Wait up to @ms until channel @id is gone from /proc/kchan. */
static inline int kt_wait_unlisted(__u64 id, long ms)
{
	bool listed = true;
	int ret = 0;

	if (kt_poll_until((ret = kt_proc_scan(id, &listed)) < 0 || !listed,
			  ms, 10000))
		return -ETIMEDOUT;
	return ret < 0 ? ret : 0;
}

/*
 * Loaded with @params and no channel left, as after a fresh load, for
 * tests that count what a user holds: the load is kept if the channels
 * of the test before are gone within @ms (a named channel's device may
 * be released late), else the module is loaded again. 0 or -errno.
 */
static inline int kt_ensure_params_fresh(const char *params, long ms)
{
	if (kt_module_loaded() && kt_has_params(params) &&
	    !kt_poll_until(kt_proc_scan(0, NULL) == 0, ms, 20000))
		return 0;
	return kt_reload(params);
}

#endif /* KT_SYS_H */
