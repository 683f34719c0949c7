// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * Timers as descriptors (Go's time.After and time.Tick), and threads and
 * processes as CSP processes.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

static struct timespec ts_of(int64_t ns)
{
	return (struct timespec){ .tv_sec = ns / 1000000000,
				  .tv_nsec = ns % 1000000000 };
}

int kchan_after(int64_t deadline)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	int fd;

	if (deadline < KCHAN_FOREVER)
		return -EINVAL;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (deadline == KCHAN_FOREVER)
		return fd;	/* never fires */
	/* A zero it_value would disarm: a deadline now or past is 1 ns. */
	its.it_value = ts_of(deadline > 0 ? deadline : 1);
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int kchan_tick(int64_t period_ns)
{
	struct itimerspec its;
	int fd;

	if (period_ns <= 0)
		return -EINVAL;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	its.it_interval = ts_of(period_ns);
	its.it_value = its.it_interval;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

struct go {
	void (*fn)(void *);
	void *arg;
};

static void *go_main(void *p)
{
	struct go g = *(struct go *)p;

	free(p);
	g.fn(g.arg);
	return NULL;
}

int kchan_go(void (*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	struct go *g;
	pthread_t t;
	int ret;

	if (!fn)
		return -EINVAL;
	g = malloc(sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->fn = fn;
	g->arg = arg;
	ret = pthread_attr_init(&attr);
	if (!ret)
		ret = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (!ret)
		ret = pthread_create(&t, &attr, go_main, g);
	pthread_attr_destroy(&attr);
	if (ret) {
		free(g);
		return -ret;
	}
	return 0;
}

int kchan_spawn(void (*fn)(void *), void *arg)
{
	pid_t pid;
	int pidfd, err;

	if (!fn)
		return -EINVAL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		fn(arg);
		fflush(NULL);
		_exit(0);
	}
	/* The child is not reaped before the caller does: the pid is its own. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0)
		return pidfd;
	err = errno == ESRCH ? -ECHILD : -errno;	/* reaped: SIGCHLD ignored */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return err;
}
