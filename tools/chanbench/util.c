// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench's helpers, used by every other file: messages, time, CPU
 * pinning, channels made by libkchan (the rows measure the calls on them,
 * raw), switch counts, io-wq workers.
 */
#include "util.h"

#include <libkchan.h>

#include <dirent.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>

struct options opt = {
	.runs = 10, .target_ms = 100, .mem_objects = 10000, .create_max = 100000,
};

static cpu_set_t orig_mask;
static uint64_t start_ns;
int ncpus;

/* The start of the run, and the CPUs it may use (CPUs 0 and 1 at least). */
void util_start(void)
{
	start_ns = now_ns();
	if (sched_getaffinity(0, sizeof(orig_mask), &orig_mask))
		die("sched_getaffinity: %s", strerror(errno));
	ncpus = CPU_COUNT(&orig_mask);
	if (ncpus >= 2 && (!CPU_ISSET(0, &orig_mask) || !CPU_ISSET(1, &orig_mask)))
		die("CPUs 0 and 1 must be allowed");
}

/* A progress line on stderr, with the seconds since the start. */
void progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "chanbench: [%4.0f s] ", (now_ns() - start_ns) / 1e9);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "chanbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

void warn_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "chanbench: warning: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * The ops in a timed batch of about opt.target_ms, from a probe's @ns_op
 * per op: at least 100. (--quick times 100 without a probe.)
 */
long batch_iters(double ns_op)
{
	long iters = (long)(opt.target_ms * 1e6 / ns_op);

	return iters < 100 ? 100 : iters;
}

void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity(CPU %d): %s", cpu, strerror(errno));
}

void unpin(void)
{
	sched_setaffinity(0, sizeof(orig_mask), &orig_mask);
}

/*
 * A channel for a row to use, made by libkchan as a program would make
 * it; @fd_flags (O_NONBLOCK) is set afterwards, as for the pipes. The
 * rows that measure creation (create.c, memory.c) call the ioctl raw.
 */
int chan_new(unsigned int capacity, unsigned int msg_max, int fd_flags)
{
	int fd = kchan_make(capacity, msg_max, 0);
	int fl, err;

	if (fd < 0 || !fd_flags)
		return fd;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | fd_flags) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

/* KCHAN_IOC_VERSION of the loaded module: 0 or -errno. */
int kchan_version(struct kchan_version *v)
{
	int ctl, ret;

	memset(v, 0, sizeof(*v));
	ctl = open(CHANCTL, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	ret = ioctl(ctl, KCHAN_IOC_VERSION, v) < 0 ? -errno : 0;
	close(ctl);
	return ret;
}

/* Thread-local switch counts (voluntary, involuntary). */
void thread_switches(long *nv, long *niv)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	*nv = ru.ru_nvcsw;
	*niv = ru.ru_nivcsw;
}

/* At least @n descriptors may be open (RLIMIT_NOFILE), if root allows. */
void raise_nofile(long n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= (rlim_t)n)
		return;
	rl.rlim_cur = n;
	if (rl.rlim_max < rl.rlim_cur)
		rl.rlim_max = rl.rlim_cur;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		warn_msg("cannot raise RLIMIT_NOFILE to %ld: %s", n,
			 strerror(errno));
}

/*
 * Runs on as real uid @uid, keeping uid 0 as effective and saved uid and
 * so every capability; false when not root. kchan counts channels and
 * names per real uid (max_channels_per_user, max_names_per_user), without
 * exemption: root makes more than one user may hold by spreading them
 * over other real uids.
 */
bool as_real_uid(uid_t uid)
{
	if (geteuid())
		return false;
	if (setresuid(uid, 0, 0))
		die("setresuid(%u, 0, 0): %s", (unsigned int)uid,
		    strerror(errno));
	return true;
}

/* Threads of this process whose name starts with "iou-wrk". */
int count_iou_workers(void)
{
	char path[300], comm[32];
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir("/proc/self/task");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "iou-wrk", 7))
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/*
 * --profile: starts (@on) or stops the trace that tools/bench.sh set up
 * in tracefs, around the measured part of a batch. Nothing without
 * --profile.
 */
void profile_mark(bool on)
{
	static int fd = -1;

	if (!opt.profile)
		return;
	if (fd < 0) {
		fd = open("/sys/kernel/tracing/tracing_on", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			die("/sys/kernel/tracing/tracing_on: %s", strerror(errno));
	}
	if (write(fd, on ? "1" : "0", 1) != 1)
		die("/sys/kernel/tracing/tracing_on: %s", strerror(errno));
}
