// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: the two-sided workloads. A batch runs side A in this thread
 * and side B in a thread or a forked process; a group runs every
 * mechanism once per run, in turn, and turns the runs into rows.
 *
 *   rtt     A sends, B answers, A times the round trips
 *   stream  B produces, A consumes and times the messages
 *   uring   the stream with both sides on io_uring, against blocking calls
 *           and against a pipe through io_uring
 *
 * The ping-pong has kchan, pipe and eventfd through io_uring too, each
 * one SQE per submit: T5 divides kchan's by the pipe's (the same path
 * through io_uring) and by kchan's blocking calls (x_one_per_call).
 *
 * The batch workload (batch.c) is a stream group run here too.
 */
#include "chanbench.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

/* Most io-wq ("iou-wrk") threads seen at the end of an io_uring batch. */
int uring_workers_seen;

/* What side B reports; in shared memory when B is a process. */
struct peer_out {
	long sys, nv, niv;
	int workers;
};

struct batch {
	enum bench bench;
	struct link *l;
	long n, warm;
	int cpu_a, cpu_b;
	struct peer_out *out;
};

struct snap {
	long sys, nv, niv;
	uint64_t t;
};

struct mark_arg {
	struct side *s;
	struct snap *snap;
};

static void take_snap(void *arg)
{
	struct mark_arg *ma = arg;

	ma->snap->sys = ma->s->sys;
	thread_switches(&ma->snap->nv, &ma->snap->niv);
	ma->snap->t = now_ns();
}

/* Side A's first snapshot, where --profile's tracing starts too. */
static void take_snap_a(void *arg)
{
	take_snap(arg);
	profile_mark(true);
}

static void side_b(struct batch *b)
{
	long total = b->n + b->warm, i;
	struct snap s0 = { 0 }, s1;
	struct mark_arg ma;
	struct side s;

	pin(b->cpu_b);
	side_init(&s, b->l);
	ma.s = &s;
	ma.snap = &s0;
	if (b->bench == BENCH_STREAM && s.per_call > 1) {
		stream_many(&s, true, total, b->warm, take_snap, &ma);
	} else {
		for (i = 0; i < total; i++) {
			if (i == b->warm)
				take_snap(&ma);
			if (b->bench == BENCH_RTT)
				xrecv(&s, 0);
			xsend(&s, b->bench == BENCH_RTT ? 1 : 0);
		}
	}
	take_snap(&(struct mark_arg){ &s, &s1 });
	b->out->sys = s1.sys - s0.sys;
	b->out->nv = s1.nv - s0.nv;
	b->out->niv = s1.niv - s0.niv;
	b->out->workers = b->l->m->uring ? count_iou_workers() : 0;
	side_fini(&s);
}

static void *side_b_thread(void *arg)
{
	side_b(arg);
	return NULL;
}

/*
 * @n rounded up to whole calls of @m: a stream side that moves several
 * messages per call (io_uring, batches) times and warms up in whole calls.
 */
static long whole_calls(enum bench bench, const struct mech *m, long n)
{
	long k = bench == BENCH_STREAM ? mech_per_call(m) : 1;

	return (n + k - 1) / k * k;
}

/*
 * The mechanism of @ms that is @m's transport used one message per
 * read()/write() (x[B_ONECALL]'s base), or NULL if @m is that already.
 */
static const struct mech *one_per_call(const struct mech *ms, int nm,
				       const struct mech *m)
{
	int j;

	if (!m->uring && !m->batch)
		return NULL;
	for (j = 0; j < nm; j++)
		if (ms[j].kind == m->kind && ms[j].cap == m->cap &&
		    !ms[j].uring && !ms[j].batch)
			return &ms[j];
	return NULL;
}

/* Side A: the ping side of a ping-pong, the consumer of a stream. */
static void side_a(struct batch *b, struct snap *s0, struct snap *s1,
		   int *workers)
{
	long total = b->n + b->warm, i;
	struct mark_arg ma;
	struct side s;

	pin(b->cpu_a);
	side_init(&s, b->l);
	ma.s = &s;
	ma.snap = s0;
	if (b->bench == BENCH_STREAM && s.per_call > 1) {
		stream_many(&s, false, total, b->warm, take_snap_a, &ma);
	} else {
		for (i = 0; i < total; i++) {
			if (i == b->warm)
				take_snap_a(&ma);
			if (b->bench == BENCH_RTT) {
				xsend(&s, 0);
				xrecv(&s, 1);
			} else {
				xrecv(&s, 0);
			}
		}
	}
	profile_mark(false);
	ma.snap = s1;
	take_snap(&ma);
	*workers = b->l->m->uring ? count_iou_workers() : 0;
	side_fini(&s);
	unpin();
}

int run_batch(enum bench bench, const struct mech *m,
	      unsigned int size, bool procs, bool cross, long n,
	      struct batch_res *res, char *cap_used)
{
	struct peer_out *out;
	struct snap s0, s1;
	struct batch b;
	struct link l;
	int ret, workers, status;
	pthread_t th;
	pid_t pid = 0;

	out = mmap(NULL, sizeof(*out), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (out == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(out, 0, sizeof(*out));
	ret = link_open(&l, m, size, bench == BENCH_RTT, procs,
			bench == BENCH_RTT ? 1 : 64);
	if (ret) {
		link_close(&l);
		munmap(out, sizeof(*out));
		return ret;
	}
	strcpy(cap_used, l.cap);
	b = (struct batch){
		.bench = bench, .l = &l, .n = n,
		.warm = n / 10 > 5 ? n / 10 : opt.quick ? 2 : 5,
		.cpu_a = 0, .cpu_b = cross ? 1 : 0, .out = out,
	};
	b.warm = whole_calls(bench, m, b.warm);

	alarm(BATCH_TIMEOUT_S);
	if (procs) {
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (!pid) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			side_b(&b);
			_exit(0);
		}
	} else {
		ret = pthread_create(&th, NULL, side_b_thread, &b);
		if (ret)
			die("pthread_create: %s", strerror(ret));
	}
	side_a(&b, &s0, &s1, &workers);
	if (procs) {
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			die("%s: the peer process failed", m->name);
	} else {
		pthread_join(th, NULL);
	}
	alarm(0);

	res->ns_op = (double)(s1.t - s0.t) / n;
	res->sys_op = (double)(s1.sys - s0.sys + out->sys) / n;
	res->sw_op = (double)(s1.nv - s0.nv + s1.niv - s0.niv + out->nv +
			      out->niv) / n;
	res->wk_op = (double)(s1.nv - s0.nv + out->nv) / n;
	res->workers = workers > out->workers ? workers : out->workers;
	link_close(&l);
	munmap(out, sizeof(*out));
	return 0;
}

/* One mechanism of a group: its batch size and its runs. */
struct series {
	const struct mech *m;
	bool failed;
	long n;
	char cap[12];
	int nres;
	double *ns, *sys, *sw, *wk, *iters;
	int workers;
};

/*
 * Runs every mechanism of @ms once per run, in turn. Run 0 is a warm-up
 * that is not counted; after each run a mechanism's next batch is sized
 * from its last time per op, to take about opt.target_ms (at least n_min
 * ops, at most 200 x n_min). --quick keeps n_quick throughout.
 */
void run_group(const char *bench_name, enum bench bench,
	       const struct mech *ms, int nm, unsigned int size,
	       bool procs, bool cross, long n_quick, long n_min)
{
	int runs = opt.runs, group = new_group(), r, i;
	struct series *se = calloc(nm, sizeof(*se));
	const struct mech *base;
	const char *mode = procs ? "processes" : "threads";
	const char *place = cross ? "cross" : "pinned";
	bool per_msg = false;

	if (!se)
		die("out of memory");
	progress("%s size %u, %s, %s", bench_name, size, mode, place);
	for (i = 0; i < nm; i++) {
		/* Where calls carry many messages, say the unit is one. */
		if (mech_batched(&ms[i]))
			per_msg = true;
		se[i].m = &ms[i];
		se[i].n = opt.quick ? n_quick : n_min;
		se[i].ns = calloc(runs, sizeof(double));
		se[i].sys = calloc(runs, sizeof(double));
		se[i].sw = calloc(runs, sizeof(double));
		se[i].wk = calloc(runs, sizeof(double));
		se[i].iters = calloc(runs, sizeof(double));
		if (!se[i].ns || !se[i].sys || !se[i].sw || !se[i].wk ||
		    !se[i].iters)
			die("out of memory");
	}
	for (r = opt.quick ? 1 : 0; r <= runs; r++) {
		for (i = 0; i < nm; i++) {
			struct series *s = &se[i];
			struct batch_res res;
			int ret;

			if (s->failed)
				continue;
			ret = run_batch(bench, s->m, size, procs, cross, s->n,
					&res, s->cap);
			if (ret) {
				s->failed = true;
				if (s->m->kind == K_KCHAN)
					die("%s: cannot set up: %s", s->m->name,
					    strerror(-ret));
				warn_msg("%s: cannot set up: %s; left out",
					 s->m->name, strerror(-ret));
				continue;
			}
			if (res.workers > s->workers)
				s->workers = res.workers;
			if (res.workers > uring_workers_seen)
				uring_workers_seen = res.workers;
			if (r > 0) {
				s->iters[s->nres] = s->n;
				s->ns[s->nres] = res.ns_op;
				s->sys[s->nres] = res.sys_op;
				s->sw[s->nres] = res.sw_op;
				s->wk[s->nres] = res.wk_op;
				s->nres++;
			}
			if (!opt.quick) {
				double want = opt.target_ms * 1e6 / res.ns_op;

				s->n = want < n_min ? n_min :
				       want > 200 * n_min ? 200 * n_min :
				       (long)want;
				s->n = whole_calls(bench, s->m, s->n);
			}
		}
	}
	for (i = 0; i < nm; i++) {
		struct series *s = &se[i];
		struct row *row;

		if (!s->failed) {
			row = new_row(group);
			snprintf(row->bench, sizeof(row->bench), "%s", bench_name);
			snprintf(row->mech, sizeof(row->mech), "%s", s->m->name);
			snprintf(row->cap, sizeof(row->cap), "%s", s->cap);
			strcpy(row->mode, mode);
			strcpy(row->place, place);
			row->size = size;
			if (per_msg)
				strcpy(row->unit, "ns/msg");
			row->iters = (long)(median_of(s->iters, s->nres, NULL) + 0.5);
			row_set_runs(row, s->ns, s->nres);
			row->sys_op = median_of(s->sys, s->nres, NULL);
			row->sw_op = median_of(s->sw, s->nres, NULL);
			row->wk_op = median_of(s->wk, s->nres, NULL);
			if (s->m->kind == K_EVENTFD && size > 8)
				strcpy(row->note, "count-only (8 B counter)");
			if (mech_batched(s->m))
				snprintf(row->note, sizeof(row->note),
					 "%s, up to %u per call",
					 s->m->kind == K_KCHAN ?
					 "KCHAN_IOC_SEND_BATCH/RECV_BATCH" :
					 "sendmmsg/recvmmsg", s->m->batch);
			if (s->m->uring && bench == BENCH_STREAM)
				snprintf(row->note, sizeof(row->note),
					 "iou-wrk threads seen: %d, %d SQEs per submit",
					 s->workers, mech_per_call(s->m));
			else if (s->m->uring)
				snprintf(row->note, sizeof(row->note),
					 "iou-wrk threads seen: %d", s->workers);
			if (s->m->kind == K_KCHAN && s->m->cap == 0 &&
			    bench == BENCH_RTT)
				strcpy(row->note, "one channel both ways");
			base = one_per_call(ms, nm, s->m);
			if (base)
				snprintf(row->onecall, sizeof(row->onecall),
					 "%s", base->name);
		}
		free(s->ns);
		free(s->sys);
		free(s->sw);
		free(s->wk);
		free(s->iters);
	}
	free(se);
	group_ratios(group);
}

const struct mech rtt_mechs[] = {
	{ "kchan-c0", K_KCHAN, 0, false, 0 },
	{ "kchan-c1", K_KCHAN, 1, false, 0 },
	{ "kchan-c1-uring", K_KCHAN, 1, true, 0 },
	{ "eventfd", K_EVENTFD, 0, false, 0 },
	{ "futex", K_FUTEX, 0, false, 0 },
	{ "pipe", K_PIPE, 0, false, 0 },
	{ "seqpacket", K_SEQPACKET, 0, false, 0 },
	{ "mqueue", K_MQUEUE, 0, false, 0 },
	{ "pipe-uring", K_PIPE, 0, true, 0 },
	{ "eventfd-uring", K_EVENTFD, 0, true, 0 },
};

const struct mech stream_mechs[] = {
	{ "kchan-c1", K_KCHAN, 1, false, 0 },
	{ "kchan-c64", K_KCHAN, 64, false, 0 },
	{ "kchan-c4096", K_KCHAN, 4096, false, 0 },
	{ "pipe", K_PIPE, 0, false, 0 },
	{ "seqpacket", K_SEQPACKET, 0, false, 0 },
	{ "mqueue", K_MQUEUE, 0, false, 0 },
};

const struct mech uring_mechs[] = {
	{ "kchan-c1", K_KCHAN, 1, false, 0 },
	{ "kchan-c1-uring", K_KCHAN, 1, true, 0 },
	{ "kchan-c64", K_KCHAN, 64, false, 0 },
	{ "kchan-c64-uring", K_KCHAN, 64, true, 0 },
	{ "kchan-c4096-uring", K_KCHAN, 4096, true, 0 },
	{ "pipe", K_PIPE, 0, false, 0 },
	{ "pipe-uring", K_PIPE, 0, true, 0 },
};

const int n_rtt_mechs = ARRAY_SIZE(rtt_mechs);
const int n_stream_mechs = ARRAY_SIZE(stream_mechs);
const int n_uring_mechs = ARRAY_SIZE(uring_mechs);

void bench_rtt(void)
{
	static const unsigned int sizes[] = { 1, 8, 64, 256, 4096 };
	int si, mode, place;

	for (si = 0; si < ARRAY_SIZE(sizes); si++) {
		unsigned int size = sizes[si];

		if (opt.quick ? size != 8 :
		    !opt.full && size != 8 && size != 64)
			continue;
		for (place = 0; place < 2; place++) {
			if (place && ncpus < 2) {
				warn_msg("one CPU: no cross-CPU runs");
				continue;
			}
			for (mode = 0; mode < 2; mode++)
				run_group("rtt", BENCH_RTT, rtt_mechs,
					  ARRAY_SIZE(rtt_mechs), size, mode,
					  place, 10, 10);
		}
	}
}

void bench_stream(bool uring)
{
	static const unsigned int sizes[] = { 8, 64, 4096 };
	int si, mode, place;

	for (si = 0; si < ARRAY_SIZE(sizes); si++) {
		unsigned int size = sizes[si];

		if (opt.quick && size != 64)
			continue;
		for (place = 0; place < 2; place++) {
			if (place && ncpus < 2)
				continue;
			for (mode = 0; mode < 2; mode++) {
				/* Secondary: processes across CPUs (--full). */
				if (place && mode && !opt.full)
					continue;
				if (uring && mode)
					continue;	/* threads: one task list */
				if (uring)
					run_group("uring", BENCH_STREAM,
						  uring_mechs,
						  ARRAY_SIZE(uring_mechs), size,
						  false, place, 32, 64);
				else
					run_group("stream", BENCH_STREAM,
						  stream_mechs,
						  ARRAY_SIZE(stream_mechs),
						  size, mode, place, 32, 64);
			}
		}
	}
}

