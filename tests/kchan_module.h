/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading and unloading kchan.ko with parameters, for the tests of the
 * module's limits: $KCHAN_MODULE (set by tools/vm) or
 * build/mod/kmod/kchan.ko.
 * Include after kchan_wait_poll.h.
 */
#ifndef KCHAN_MODULE_H
#define KCHAN_MODULE_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SYS_MODULE	"/sys/module/kchan"
#define PARAMS		SYS_MODULE "/parameters/"

static inline const char *ko_path(void)
{
	const char *p = getenv("KCHAN_MODULE");

	return p && *p ? p : "build/mod/kmod/kchan.ko";
}

static inline bool module_loaded(void)
{
	struct stat st;

	return stat(SYS_MODULE, &st) == 0;
}

/* delete_module(2): 0 or -errno. */
static inline int unload(void)
{
	return syscall(SYS_delete_module, "kchan", O_NONBLOCK) < 0 ? -errno : 0;
}

/* finit_module(2) with @params: 0 or -errno. */
static inline int load(const char *params)
{
	int fd, ret;

	fd = open(ko_path(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/* Unload, waiting out references that are still being dropped. */
static inline int unload_patiently(void)
{
	long long deadline = kt_now_ms() + KT_WAIT_MS;
	int ret;

	while ((ret = unload()) == -EAGAIN && kt_now_ms() < deadline)
		kt_sleep_ms(20);
	return ret;
}

static inline int reload(const char *params)
{
	int ret;

	if (module_loaded()) {
		ret = unload_patiently();
		if (ret)
			return ret;
	}
	return load(params);
}

/* Not inlined: a caller's &v then survives the harness's longjmp. */
static __attribute__((noinline, unused)) int
param(const char *name, unsigned long long *val)
{
	char path[128];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	return kt_read_u64_file(path, val);
}

/* The documented defaults of the module's parameters. */
#define DEFAULT_MAX_CAPACITY		65536
#define DEFAULT_MAX_MSG_SIZE		65536
#define DEFAULT_MAX_CHANNELS_PER_USER	4096
#define DEFAULT_MAX_SELECT_CASES	1024
#define DEFAULT_MAX_BYTES_PER_USER	(64ULL << 20)
#define DEFAULT_MAX_NAMES_PER_USER	256
#define DEFAULT_MAX_MINORS		1048576

static inline bool has_default_params(void)
{
	unsigned long long cap = 0, msg = 0, chans = 0, cases = 0, bytes = 0,
			   names = 0, minors = 0;

	return !param("max_capacity", &cap) && cap == DEFAULT_MAX_CAPACITY &&
	       !param("max_msg_size", &msg) && msg == DEFAULT_MAX_MSG_SIZE &&
	       !param("max_channels_per_user", &chans) &&
	       chans == DEFAULT_MAX_CHANNELS_PER_USER &&
	       !param("max_select_cases", &cases) &&
	       cases == DEFAULT_MAX_SELECT_CASES &&
	       !param("max_bytes_per_user", &bytes) &&
	       bytes == DEFAULT_MAX_BYTES_PER_USER &&
	       !param("max_names_per_user", &names) &&
	       names == DEFAULT_MAX_NAMES_PER_USER &&
	       !param("max_minors", &minors) && minors == DEFAULT_MAX_MINORS;
}

/* Loaded, with the default limits: the state every test starts and ends in. */
static inline int ensure_defaults(void)
{
	if (module_loaded() && has_default_params())
		return 0;
	return reload("");
}

#endif /* KCHAN_MODULE_H */
