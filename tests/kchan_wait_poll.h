/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the poll, io_uring, naming and module tests: waiting until a
 * thread is blocked, background senders and receivers, per-thread
 * scheduler counters, and strict parsers for fdinfo and sysfs files.
 *
 * Nothing here uses the harness's ASSERT macros, so every helper may run
 * on any thread.
 */
#ifndef KCHAN_WAIT_POLL_H
#define KCHAN_WAIT_POLL_H

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kchan_test.h"

/* A deadline long enough for QEMU TCG, short enough for the 30 s harness. */
#define KT_WAIT_MS	5000

static inline long long kt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void kt_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static inline pid_t kt_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * Wait until KCHAN_IOC_STAT reports at least @senders blocked senders and
 * @receivers blocked receivers. Returns 0, -ETIMEDOUT or the stat error.
 */
static inline int kt_wait_blocked(int fd, unsigned int senders,
				  unsigned int receivers, long timeout_ms)
{
	long long deadline = kt_now_ms() + timeout_ms;
	struct kchan_stat st;
	int ret;

	for (;;) {
		ret = kchan_stat(fd, &st);
		if (ret)
			return ret;
		if (st.senders >= senders && st.receivers >= receivers)
			return 0;
		if (kt_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(2000);
	}
}

/* The scheduler state letter of thread @tid of this process, or 0. */
static inline char kt_task_state(pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	return p[2];
}

/*
 * The system call thread @tid is blocked in, from /proc/self/task/TID/syscall:
 * its number, -1 if the thread is running or not in a call, -2 if the
 * file cannot be read.
 */
static inline long kt_task_syscall(pid_t tid)
{
	char path[64], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -2;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -2;
	buf[n] = '\0';
	if (!isdigit((unsigned char)buf[0]))
		return -1;
	return strtol(buf, NULL, 10);
}

/*
 * Wait until thread @tid is in scheduler state @state ('S': asleep and
 * interruptible, 'D': uninterruptible or killable) inside system call
 * @nr, then a little longer so that it has certainly queued itself on
 * its wait queue. A thread merely sleeping elsewhere (a page fault, the
 * allocator) does not count.
 */
static inline int kt_wait_state_in(pid_t tid, char state, long nr,
				   long timeout_ms)
{
	long long deadline = kt_now_ms() + timeout_ms;

	for (;;) {
		if (kt_task_state(tid) == state && kt_task_syscall(tid) == nr) {
			kt_sleep_ms(30);
			if (kt_task_state(tid) == state &&
			    kt_task_syscall(tid) == nr)
				return 0;
		}
		if (kt_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* Wait until thread @tid sleeps interruptibly inside system call @nr. */
static inline int kt_wait_sleeping_in(pid_t tid, long nr, long timeout_ms)
{
	return kt_wait_state_in(tid, 'S', nr, timeout_ms);
}

/* voluntary_ctxt_switches of thread @tid, or -1. */
static inline long kt_task_nvcsw(pid_t tid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* A send or receive run on its own thread. */
struct kt_bg {
	pthread_t thread;
	int fd;
	bool send;
	size_t len;		/* bytes to send, or receive buffer size */
	char buf[256];
	long delay_ms;		/* sleep before the operation */
	pid_t after_tid;	/* if set, first wait until this thread */
	long after_nr;		/* sleeps in this system call */
	volatile pid_t tid;
	volatile ssize_t ret;	/* length or -errno */
	volatile int done;
	bool joined;
};

static inline void *kt_bg_main(void *arg)
{
	struct kt_bg *bg = arg;

	bg->tid = kt_gettid();
	if (bg->delay_ms)
		kt_sleep_ms(bg->delay_ms);
	if (bg->after_tid &&
	    kt_wait_sleeping_in(bg->after_tid, bg->after_nr, KT_WAIT_MS)) {
		bg->ret = -ETIMEDOUT;
		__atomic_store_n(&bg->done, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	if (bg->send)
		bg->ret = kchan_send(bg->fd, bg->buf, bg->len);
	else
		bg->ret = kchan_recv(bg->fd, bg->buf, bg->len);
	__atomic_store_n(&bg->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static inline int kt_bg_start(struct kt_bg *bg)
{
	bg->tid = 0;
	bg->done = 0;
	bg->ret = -EINPROGRESS;
	return -pthread_create(&bg->thread, NULL, kt_bg_main, bg);
}

/*
 * Start a background send of @msg on @fd; if @tid is not 0, only once
 * thread @tid sleeps in system call @nr.
 */
static inline int kt_bg_send_when(struct kt_bg *bg, int fd, const char *msg,
				  pid_t tid, long nr)
{
	memset(bg, 0, sizeof(*bg));
	bg->fd = fd;
	bg->send = true;
	bg->len = strlen(msg);
	memcpy(bg->buf, msg, bg->len);
	bg->after_tid = tid;
	bg->after_nr = nr;
	return kt_bg_start(bg);
}

static inline int kt_bg_send(struct kt_bg *bg, int fd, const char *msg)
{
	return kt_bg_send_when(bg, fd, msg, 0, 0);
}

/* Start a background receive of up to @cap bytes on @fd, maybe after @tid. */
static inline int kt_bg_recv_when(struct kt_bg *bg, int fd, size_t cap,
				  pid_t tid, long nr)
{
	memset(bg, 0, sizeof(*bg));
	bg->fd = fd;
	bg->send = false;
	bg->len = cap < sizeof(bg->buf) ? cap : sizeof(bg->buf);
	bg->after_tid = tid;
	bg->after_nr = nr;
	return kt_bg_start(bg);
}

static inline int kt_bg_recv(struct kt_bg *bg, int fd, size_t cap)
{
	return kt_bg_recv_when(bg, fd, cap, 0, 0);
}

static inline bool kt_bg_done(struct kt_bg *bg)
{
	return __atomic_load_n(&bg->done, __ATOMIC_ACQUIRE);
}

/* Wait up to @timeout_ms for the operation to return; true if it did. */
static inline bool kt_bg_wait(struct kt_bg *bg, long timeout_ms)
{
	long long deadline = kt_now_ms() + timeout_ms;

	if (bg->joined)
		return true;
	while (!kt_bg_done(bg)) {
		if (kt_now_ms() > deadline)
			return false;
		usleep(1000);
	}
	pthread_join(bg->thread, NULL);
	bg->joined = true;
	return true;
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

/* A channel name unique to this process and @tag. */
static inline void kt_name(char *buf, size_t size, const char *tag)
{
	snprintf(buf, size, "kt-%d-%s", (int)getpid(), tag);
}

#endif /* KCHAN_WAIT_POLL_H */
