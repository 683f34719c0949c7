// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench --profile: one batch of a target's workload, or of its peer,
 * with the kernel's function tracer on for its measured part only, for
 * tools/bench.sh --profile, which sets the tracer up, filters it to this
 * process and its threads and children, and counts the calls.
 *
 *   --profile list   the workloads, one ID a line: TARGET/MODE/MECHANISM
 *   --profile ID     one untraced batch (warm-up), then the traced one;
 *                    prints its counts on one line:
 *                    @@profile@@,TARGET,MODE,BENCH,MECHANISM,SIZE,CAPACITY,
 *                    N,UNIT,NS_PER_OP,SYSCALLS,SWITCHES,WAKEUPS (per op)
 *
 * A target's first workload is kchan's, the others its peers. The batches
 * are pair.c's, pinned to CPU 0; the traced part starts after the batch's
 * warm-up messages and ends when side A has its last, so a stream's
 * producer, up to a buffer ahead, is inside it for all but up to a
 * buffer's worth of its sends: N is many buffers.
 */
#include "chanbench.h"

struct prof_work {
	const char *target, *bench, *mech;
	unsigned int size;
	long n;
};

static const struct prof_work works[] = {
	{ "T1", "rtt", "kchan-c0", 8, 500 },
	{ "T1", "rtt", "eventfd", 8, 500 },
	{ "T1", "rtt", "pipe", 8, 500 },
	{ "T3", "stream", "kchan-c64", 64, 4096 },
	{ "T3", "stream", "pipe", 64, 4096 },
	{ "T4", "batch", "kchan-c64-batch", 64, 4096 },
	{ "T4", "batch", "kchan-c64", 64, 4096 },
	{ "T5", "rtt", "kchan-c1-uring", 8, 500 },
	{ "T5", "rtt", "pipe-uring", 8, 500 },
	{ "T5", "rtt", "kchan-c1", 8, 500 },
};

static const char *const modes[] = { "threads", "processes" };

static const struct mech *find_mech(const char *bench, const char *name)
{
	const struct mech *ms = rtt_mechs;
	int nm = n_rtt_mechs, i;

	if (!strcmp(bench, "stream")) {
		ms = stream_mechs;
		nm = n_stream_mechs;
	} else if (!strcmp(bench, "batch")) {
		ms = batch_mechs;
		nm = n_batch_mechs;
	}
	for (i = 0; i < nm; i++)
		if (!strcmp(ms[i].name, name))
			return &ms[i];
	die("--profile: no mechanism %s in %s", name, bench);
}

/* Runs --profile @id (or lists the IDs); returns the exit status. */
int bench_profile(const char *id)
{
	const char *trace = opt.profile;
	char want[64], cap[12];
	struct batch_res res;
	int w, mode, ret;

	for (w = 0; w < ARRAY_SIZE(works); w++) {
		const struct prof_work *pw = &works[w];

		for (mode = 0; mode < 2; mode++) {
			const struct mech *m = find_mech(pw->bench, pw->mech);
			enum bench bench = strcmp(pw->bench, "rtt") ?
					   BENCH_STREAM : BENCH_RTT;

			snprintf(want, sizeof(want), "%s/%s/%s", pw->target,
				 modes[mode], pw->mech);
			if (!strcmp(id, "list")) {
				printf("%s\n", want);
				continue;
			}
			if (strcmp(id, want))
				continue;
			opt.profile = NULL;	/* the warm-up: not traced */
			ret = run_batch(bench, m, pw->size, mode, false,
					pw->n / 4, &res, cap);
			opt.profile = trace;
			if (!ret)
				ret = run_batch(bench, m, pw->size, mode, false,
						pw->n, &res, cap);
			if (ret)
				die("%s: cannot set up: %s", id, strerror(-ret));
			printf("@@profile@@,%s,%s,%s,%s,%u,%s,%ld,%s,%.0f,%.3f,%.3f,%.3f\n",
			       pw->target, modes[mode], pw->bench, pw->mech,
			       pw->size, cap, pw->n,
			       bench == BENCH_RTT ? "round trip" : "message",
			       res.ns_op, res.sys_op, res.sw_op, res.wk_op);
			return 0;
		}
	}
	if (strcmp(id, "list"))
		die("--profile: no workload %s (--profile list)", id);
	return 0;
}
