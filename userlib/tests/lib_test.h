/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the libkchan tests. Built twice: NAME runs kchan_select()'s
 * epoll backend, NAME_uring (KCHAN_TEST_BACKEND) its io_uring backend.
 * They test the library, so they call it and keep their few helpers here;
 * the kernel tests' helpers (tests/kt*.h) test the raw interface.
 */
#ifndef LIB_TEST_H
#define LIB_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The 6.1 harness leaves parameters unused, which -Wextra reports. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wclobbered"

#include "libkchan.h"

#define LT_WAIT_MS	10000	/* generous: the VM's CPU is emulated */
#define LT_MS		1000000LL

__attribute__((constructor)) static void lt_backend(void)
{
#ifdef KCHAN_TEST_BACKEND
	kchan_set_backend(KCHAN_TEST_BACKEND);
#endif
}

static inline void lt_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline struct kchan_stat lt_stat(int ch)
{
	struct kchan_stat st;

	memset(&st, 0, sizeof(st));
	ioctl(ch, KCHAN_IOC_STAT, &st);
	return st;
}

/* Wait until the channel has @n blocked receivers (or senders): 0 or -ETIMEDOUT. */
static inline int lt_wait_blocked(int ch, unsigned int receivers,
				  unsigned int senders)
{
	int64_t end = kchan_in(LT_WAIT_MS * LT_MS);

	for (;;) {
		struct kchan_stat st = lt_stat(ch);

		if (st.receivers == receivers && st.senders == senders)
			return 0;
		if (kchan_now() > end)
			return -ETIMEDOUT;
		lt_sleep_ms(1);
	}
}

/*
 * Wait until thread @tid (of this process or another) sleeps (state S) in
 * system call @nr (-1: any): it is blocked in its call. 0 or -ETIMEDOUT.
 */
static inline int lt_wait_sleeping_in(pid_t tid, long nr)
{
	int64_t end = kchan_in(LT_WAIT_MS * LT_MS);
	char path[64], buf[256], *p;

	for (;;) {
		bool sleeping = false;
		long in = -2;
		ssize_t n;
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/stat", tid);
		fd = open(path, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			p = strrchr(buf, ')');
			sleeping = p && p[1] == ' ' && p[2] == 'S';
		}
		snprintf(path, sizeof(path), "/proc/%d/syscall", tid);
		fd = open(path, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			in = strtol(buf, NULL, 10);
		}
		if (sleeping && (nr < 0 || in == nr))
			return 0;
		if (kchan_now() > end)
			return -ETIMEDOUT;
		lt_sleep_ms(1);
	}
}

static inline int lt_wait_sleeping(pid_t tid)
{
	return lt_wait_sleeping_in(tid, -1);
}

/*
 * The system call a mixed kchan_select() waits in: io_uring_enter, or
 * under epoll the read() of its armed select file.
 */
static inline long lt_mixed_wait_nr(void)
{
	const char *env = getenv("KCHAN_BACKEND");

#ifdef KCHAN_TEST_BACKEND
	env = "uring";
#endif
	return env && !strcmp(env, "uring") ? SYS_io_uring_enter : SYS_read;
}

static inline pid_t lt_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Signals that interrupt (no SA_RESTART) and are counted. */
static atomic_int lt_signals;

static inline void lt_on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&lt_signals, 1);
}

static inline void lt_catch(int sig)
{
	struct sigaction sa = { .sa_handler = lt_on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/*
 * Syscall counting, honestly: @fn runs in a child traced with ptrace, and
 * every system call it makes between two getppid() markers is counted
 * (@ioctls: how many of them were ioctl). @setup, if any, runs in the
 * child before the first marker (uncounted: warming up, say). Returns
 * @fn's result as the child's exit code (0..255), or -errno.
 */
#define LT_COUNT_NR	64

struct lt_count {
	unsigned int syscalls;
	unsigned int ioctls;
	long nr[LT_COUNT_NR];	/* the first calls, by number */
	unsigned int by_nr[512];	/* how many of each number */
};

static inline int lt_count_syscalls_after(int (*setup)(void *),
					  int (*fn)(void *), void *arg,
					  struct lt_count *c)
{
	bool in_call = false, counting = false;
	int status, markers = 0;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int ret;

		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		if (setup && setup(arg))
			_exit(0xfe);
		syscall(SYS_getppid);
		ret = fn(arg);
		syscall(SYS_getppid);
		_exit(ret & 0xff);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
		return -ECHILD;
	ptrace(PTRACE_SETOPTIONS, pid, NULL,
	       (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
	for (;;) {
		struct user_regs_struct regs;
		long nr;

		if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL) < 0)
			return -errno;
		if (waitpid(pid, &status, 0) != pid)
			return -ECHILD;
		if (WIFEXITED(status))
			return markers == 2 ? WEXITSTATUS(status) : -EPROTO;
		if (WIFSIGNALED(status))
			return -EINTR;
		if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		in_call = !in_call;
		if (!in_call)
			continue;	/* the exit of a call */
		ptrace(PTRACE_GETREGS, pid, NULL, &regs);
		nr = (long)regs.orig_rax;
		if (nr == SYS_getppid) {
			markers++;
			counting = markers == 1;
			continue;
		}
		if (!counting)
			continue;
		if (c->syscalls < LT_COUNT_NR)
			c->nr[c->syscalls] = nr;
		c->syscalls++;
		if (nr >= 0 && nr < 512)
			c->by_nr[nr]++;
		if (nr == SYS_ioctl)
			c->ioctls++;
	}
}

static inline int lt_count_syscalls(int (*fn)(void *), void *arg,
				    struct lt_count *c)
{
	return lt_count_syscalls_after(NULL, fn, arg, c);
}

#endif /* LIB_TEST_H */
