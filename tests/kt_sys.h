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

static inline bool kt_has_default_params(void)
{
	return kt_param_is("max_capacity", KT_DEFAULT_MAX_CAPACITY) &&
	       kt_param_is("max_msg_size", KT_DEFAULT_MAX_MSG_SIZE) &&
	       kt_param_is("max_channels_per_user",
			   KT_DEFAULT_MAX_CHANNELS_PER_USER) &&
	       kt_param_is("max_select_cases", KT_DEFAULT_MAX_SELECT_CASES) &&
	       kt_param_is("max_bytes_per_user",
			   KT_DEFAULT_MAX_BYTES_PER_USER) &&
	       kt_param_is("max_names_per_user",
			   KT_DEFAULT_MAX_NAMES_PER_USER) &&
	       kt_param_is("max_minors", KT_DEFAULT_MAX_MINORS);
}

/* Loaded, with the default limits: the state every test starts and ends in. */
static inline int kt_ensure_defaults(void)
{
	if (kt_module_loaded() && kt_has_default_params())
		return 0;
	return kt_reload("");
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

#endif /* KT_SYS_H */
