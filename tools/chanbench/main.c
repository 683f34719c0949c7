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
 *   uring   the stream through io_uring on kchan and on a pipe (batches
 *           of reads and writes), with a check for io-wq ("iou-wrk")
 *           threads; the ping-pong has kchan, pipe and eventfd through
 *           io_uring too
 *   batch   the stream 64 messages per call (KCHAN_IOC_SEND_BATCH /
 *           RECV_BATCH, sendmmsg/recvmmsg, io_uring) against one per call,
 *           time per message
 *   wake    16 idle receivers, one message: wake-ups per message
 *   select  select over 1, 8, 64, 512 and 1024 cases, one ready, against
 *           poll() and epoll_wait() over as many eventfds
 *   libselect  libkchan's kchan_select() against the raw KCHAN_CTL_SELECT,
 *           and over a channel and a socket (each backend, ready and
 *           waiting) against epoll_wait + read on two eventfds
 *   fan     fan-in and fan-out: 1, 2, 4, 8, 16 senders -> 1 receiver,
 *           1 -> 1..16, and 4 -> 4 threads on one object
 *   memory  kernel slab memory per idle object (10^4 of each)
 *   create  create + close of 10^2 .. 10^5 objects of each kind (anonymous
 *           and named channels, eventfds, pipes, message queues): time
 *           per object, and slab memory per object while all are held
 *   evloop  an event loop on a select file armed over 1, 8, 64, 512 and
 *           1024 channels, one made ready per event: armed once
 *           (KCHAN_SELECT_PERSIST) and re-armed per event, against
 *           epoll_wait() over as many eventfds
 *
 * --profile ID runs none of these but one batch of a target's workload
 * with the function tracer on (profile.c, for tools/bench.sh --profile).
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
 * This file is the program: its options and the order of the workloads.
 * The helpers every file uses are in util.c.
 *
 * Exit status: 0 when everything ran, 1 on a failure, 2 on a usage error.
 */
#include "chanbench.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/utsname.h>

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

static const char usage_text[] =
	"Usage: chanbench [--quick | --full] [--runs N] [--target-ms MS]\n"
	"                 [--objects N] [--create N] [--only LIST] [--csv PATH]\n"
	"       chanbench --profile list | --profile ID\n"
	"\n"
	"  --quick        a tiny run of every workload (a smoke test)\n"
	"  --full         also sizes 1, 256 and 4096 in the ping-pong,\n"
	"                 streams between processes across CPUs, and the\n"
	"                 batch workload across CPUs\n"
	"  --runs N       measured runs per mechanism (default 10,\n"
	"                 --quick 2)\n"
	"  --target-ms MS length of one timed batch (default 100)\n"
	"  --objects N    objects per mechanism in the memory bench (10000)\n"
	"  --create N     largest count in the create bench\n"
	"                 (100000, --quick 1000; named channels a tenth)\n"
	"  --only LIST    comma-separated: rtt,stream,uring,batch,fan,wake,\n"
	"                 select,libselect,memory,create,evloop\n"
	"  --csv PATH     also write the results as CSV\n"
	"  --profile ID   one batch of workload ID (--profile list: the IDs)\n"
	"                 with tracefs's tracing_on set around its measured\n"
	"                 part (tools/bench.sh --profile sets the tracer up)\n";

static void parse_args(int argc, char **argv)
{
	bool create_set = false, runs_set = false;
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
			runs_set = true;
			i++;
		} else if (v && !strcmp(a, "--target-ms")) {
			opt.target_ms = atof(v);
			i++;
		} else if (v && !strcmp(a, "--objects")) {
			opt.mem_objects = atoi(v);
			i++;
		} else if (v && !strcmp(a, "--create")) {
			opt.create_max = atoi(v);
			create_set = true;
			i++;
		} else if (v && !strcmp(a, "--only")) {
			opt.only = v;
			i++;
		} else if (v && !strcmp(a, "--profile")) {
			opt.profile = v;
			i++;
		} else if (v && !strcmp(a, "--csv")) {
			opt.csv = v;
			i++;
		} else {
			fputs(usage_text, stderr);
			exit(2);
		}
	}
	if (opt.quick && !runs_set)
		opt.runs = 2;
	if (opt.quick && !create_set)
		opt.create_max = 1000;
	if (opt.runs < 1 || opt.runs > MAX_RUNS || opt.target_ms <= 0 ||
	    opt.mem_objects < 1 || opt.create_max < 10) {
		fputs(usage_text, stderr);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	uint64_t t0 = now_ns();
	struct utsname uts;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	util_start();
	if (access(CHANCTL, R_OK | W_OK))
		die(CHANCTL ": %s (is kchan.ko loaded?)", strerror(errno));
	if (opt.profile)
		return bench_profile(opt.profile);
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
	if (bench_selected("libselect"))
		bench_libselect();
	if (bench_selected("memory"))
		bench_memory();
	if (bench_selected("create"))
		bench_create();
	if (bench_selected("evloop"))
		bench_evloop();

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

