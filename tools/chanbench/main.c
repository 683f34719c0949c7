// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: kchan against the IPC a program would otherwise use.
 *
 * Workloads (each mechanism of a group measured in the same process,
 * interleaved A B C A B C ..., one batch per run timed with CLOCK_MONOTONIC,
 * median and interquartile range over the runs):
 *
 *   rtt     ping-pong round trip between two threads or two processes, both
 *           pinned to CPU 0 or spread over CPUs 0 and 1
 *   stream  one producer, one consumer, N messages, time per message
 *   uring   the stream through io_uring on kchan (batches of reads and
 *           writes), with a check for io-wq ("iou-wrk") threads
 *   batch   the stream 64 messages per call (KCHAN_IOC_SEND_BATCH /
 *           RECV_BATCH, sendmmsg/recvmmsg, io_uring) against one per call,
 *           time per message
 *   wake    16 idle receivers, one message: wake-ups per message
 *   select  select over 1, 8 and 64 cases, one ready, against poll() over
 *           as many eventfds
 *   fan     fan-in and fan-out: 4->1, 1->4 and 4->4 threads on one object
 *   memory  kernel slab memory per idle object (10^4 of each)
 *
 * Counts beside the times: syscalls per op (those the loop issued, counted
 * as it issues them), context switches per op (getrusage RUSAGE_THREAD of
 * both sides: voluntary + involuntary) and wake-ups per op (voluntary
 * switches: each one is a sleep that a wake-up ended).
 *
 * Ratios are time ratios to a baseline of the same group (same bench,
 * size, mode and placement): the median over the runs of this mechanism's
 * run k divided by the baseline's run k, which ran right after or before
 * it. Below 1.0 means faster than that baseline. x_1call divides by the
 * row's own transport used one message per call (kchan-c64-batch by
 * kchan-c64): T4's ratio.
 *
 * Exit status: 0 when everything ran, 1 on a failure, 2 on a usage error.
 */
#include "chanbench.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>

struct options opt = { .runs = 10, .target_ms = 100, .mem_objects = 10000 };

static cpu_set_t orig_mask;
static uint64_t start_ns;
int ncpus;

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

static void on_alarm(int sig)
{
	static const char msg[] = "chanbench: a batch is stuck; giving up\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static bool bench_selected(const char *name)
{
	const char *p = opt.only;
	size_t len = strlen(name);

	if (!p)
		return true;
	while (*p) {
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	return false;
}

int kchan_new(unsigned int capacity, unsigned int msg_max,
	      unsigned int fd_flags)
{
	struct kchan_create req = {
		.capacity = capacity, .msg_max = msg_max,
		.fd_flags = O_CLOEXEC | fd_flags,
	};
	int ctl, fd, err;

	ctl = open(CHANCTL, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	fd = ioctl(ctl, KCHAN_CTL_CREATE, &req);
	err = errno;
	close(ctl);
	return fd < 0 ? -err : fd;
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

static const char usage_text[] =
	"Usage: chanbench [--quick | --full] [--runs N] [--target-ms MS]\n"
	"                 [--objects N] [--only LIST] [--csv PATH]\n"
	"\n"
	"  --quick        a tiny run of every workload (a smoke test)\n"
	"  --full         also sizes 1, 256 and 4096 in the ping-pong,\n"
	"                 streams between processes across CPUs, and the\n"
	"                 batch workload across CPUs\n"
	"  --runs N       measured runs per mechanism (default 10)\n"
	"  --target-ms MS length of one timed batch (default 100)\n"
	"  --objects N    objects per mechanism in the memory bench (10000)\n"
	"  --only LIST    comma-separated: rtt,stream,uring,batch,fan,wake,\n"
	"                 select,memory\n"
	"  --csv PATH     also write the results as CSV\n";

static void parse_args(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--quick")) {
			opt.quick = true;
		} else if (!strcmp(a, "--full")) {
			opt.full = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			exit(0);
		} else if (v && !strcmp(a, "--runs")) {
			opt.runs = atoi(v);
			i++;
		} else if (v && !strcmp(a, "--target-ms")) {
			opt.target_ms = atof(v);
			i++;
		} else if (v && !strcmp(a, "--objects")) {
			opt.mem_objects = atoi(v);
			i++;
		} else if (v && !strcmp(a, "--only")) {
			opt.only = v;
			i++;
		} else if (v && !strcmp(a, "--csv")) {
			opt.csv = v;
			i++;
		} else {
			fputs(usage_text, stderr);
			exit(2);
		}
	}
	if (opt.quick)
		opt.runs = 2;
	if (opt.runs < 1 || opt.runs > MAX_RUNS || opt.target_ms <= 0 ||
	    opt.mem_objects < 1) {
		fputs(usage_text, stderr);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	uint64_t t0 = now_ns();
	struct utsname uts;

	start_ns = t0;
	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	if (sched_getaffinity(0, sizeof(orig_mask), &orig_mask))
		die("sched_getaffinity: %s", strerror(errno));
	ncpus = CPU_COUNT(&orig_mask);
	if (ncpus >= 2 && (!CPU_ISSET(0, &orig_mask) || !CPU_ISSET(1, &orig_mask)))
		die("CPUs 0 and 1 must be allowed");
	if (access(CHANCTL, R_OK | W_OK))
		die(CHANCTL ": %s (is kchan.ko loaded?)", strerror(errno));
	/* Message queues of 64 x 4096 B are above the default limit. */
	if (setrlimit(RLIMIT_MSGQUEUE, &rl))
		warn_msg("cannot raise RLIMIT_MSGQUEUE: %s", strerror(errno));
	uname(&uts);
	printf("chanbench: kernel %s, %d CPUs, %s\n", uts.release, ncpus,
	       opt.quick ? "quick" : opt.full ? "full" : "default");

	if (bench_selected("rtt"))
		bench_rtt();
	if (bench_selected("stream"))
		bench_stream(false);
	if (bench_selected("uring"))
		bench_stream(true);
	if (bench_selected("batch"))
		bench_batch();
	if (bench_selected("fan"))
		bench_fan();
	if (bench_selected("wake"))
		bench_wake();
	if (bench_selected("select"))
		bench_select();
	if (bench_selected("memory"))
		bench_memory();

	printf("chanbench: medians of %d runs per mechanism; x_BASE = median over runs of (run / BASE's run), same group (< 1: faster); x_1call's BASE: the same transport, one message per call\n",
	       opt.runs);
	print_table(stdout);
	if (bench_selected("rtt") || bench_selected("uring") ||
	    bench_selected("batch"))
		printf("chanbench: io_uring: %s\n", uring_workers_seen ?
		       "iou-wrk (io-wq) threads appeared" :
		       "no iou-wrk (io-wq) thread appeared");
	printf("chanbench: %d rows in %.0f s\n", nrows, (now_ns() - t0) / 1e9);
	if (opt.csv && write_csv(opt.csv))
		return 1;
	return nrows ? 0 : 1;
}

