// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: fan-in and fan-out. S sender threads and R receiver threads
 * share one object: fan-in 1, 2, 4, 8, 16 -> 1, fan-out 1 -> 2, 4, 8, 16,
 * and 4 -> 4; 64-byte messages (an eventfd in semaphore mode carries
 * counts: a write adds one, a read takes one). Each sender sends its
 * share, each receiver takes its share, and the batch is timed from a
 * common start to the last receive. Threads are not pinned. Wake-ups per
 * message are the voluntary switches of all the threads (each a sleep
 * that a wake-up ended: receivers finding nothing, senders finding the
 * object full).
 */
#include "chanbench.h"

#include <pthread.h>

#define FAN_SIZE	64
#define FAN_MAX		16	/* senders or receivers */

struct fan_ctx {
	struct link *l;
	long per_sender, per_receiver;
	pthread_barrier_t start;	/* the threads and the timer */
	_Atomic long sys, nv, niv;
};

struct fan_thread {
	struct fan_ctx *c;
	bool sender;
	pthread_t th;
};

static void *fan_main(void *arg)
{
	struct fan_thread *t = arg;
	struct fan_ctx *c = t->c;
	long i, n = t->sender ? c->per_sender : c->per_receiver;
	long nv0, niv0, nv1, niv1;
	struct side s;

	side_init(&s, c->l);
	pthread_barrier_wait(&c->start);
	thread_switches(&nv0, &niv0);
	for (i = 0; i < n; i++) {
		if (t->sender)
			xsend(&s, 0);
		else
			xrecv(&s, 0);
	}
	thread_switches(&nv1, &niv1);
	atomic_fetch_add(&c->sys, s.sys);
	atomic_fetch_add(&c->nv, nv1 - nv0);
	atomic_fetch_add(&c->niv, niv1 - niv0);
	side_fini(&s);
	return NULL;
}

/* One batch of @total messages; ns per message, and the counts. */
static double fan_batch(const struct mech *m, int ns, int nr, long total,
			double *sys, double *sw, double *wk, char *cap)
{
	struct fan_thread th[2 * FAN_MAX];
	struct fan_ctx c;
	struct link l;
	uint64_t t0;
	int i, n = ns + nr, ret;

	ret = link_open(&l, m, m->kind == K_EVENTFD ? 8 : FAN_SIZE, false,
			false, 64);
	if (ret)
		die("fan: %s: %s", m->name, strerror(-ret));
	snprintf(cap, 12, "%s", l.cap);
	memset(&c, 0, sizeof(c));
	c.l = &l;
	c.per_sender = total / ns;
	c.per_receiver = total / nr;
	/* Sleeping, not spinning, until all are there: 2 vCPUs, 17 threads. */
	pthread_barrier_init(&c.start, NULL, n + 1);
	for (i = 0; i < n; i++) {
		th[i] = (struct fan_thread){ .c = &c, .sender = i < ns };
		ret = pthread_create(&th[i].th, NULL, fan_main, &th[i]);
		if (ret)
			die("pthread_create: %s", strerror(ret));
	}
	alarm(BATCH_TIMEOUT_S);
	pthread_barrier_wait(&c.start);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		pthread_join(th[i].th, NULL);
	t0 = now_ns() - t0;
	alarm(0);
	pthread_barrier_destroy(&c.start);
	link_close(&l);
	*sys = (double)c.sys / total;
	*sw = (double)(c.nv + c.niv) / total;
	*wk = (double)c.nv / total;
	return (double)t0 / total;
}

void bench_fan(void)
{
	static const struct mech mechs[] = {
		{ "kchan-c64", K_KCHAN, 64, false, 0 },
		{ "pipe", K_PIPE, 0, false, 0 },
		{ "eventfd", K_EVENTFD, 1, false, 0 },	/* semaphore */
		{ "mqueue", K_MQUEUE, 0, false, 0 },
	};
	static const int shapes[][2] = {
		{ 1, 1 }, { 2, 1 }, { 4, 1 }, { 8, 1 }, { FAN_MAX, 1 },
		{ 1, 2 }, { 1, 4 }, { 1, 8 }, { 1, FAN_MAX }, { 4, 4 },
	};
	/* Per mechanism and run: ns/msg and the counts per message. */
	double t[ARRAY_SIZE(mechs)][MAX_RUNS];
	double sys[ARRAY_SIZE(mechs)][MAX_RUNS];
	double sw[ARRAY_SIZE(mechs)][MAX_RUNS];
	double wk[ARRAY_SIZE(mechs)][MAX_RUNS];
	long total = opt.quick ? 256 : 4096;
	char cap[ARRAY_SIZE(mechs)][12];
	/* Ten shapes of up to 17 threads: five runs are enough. */
	int runs = opt.runs < 5 ? opt.runs : 5, s, m, r;

	for (s = 0; s < ARRAY_SIZE(shapes); s++) {
		int ns = shapes[s][0], nr = shapes[s][1], group = new_group();

		progress("fan %d->%d", ns, nr);
		for (r = 0; r < runs; r++)
			for (m = 0; m < ARRAY_SIZE(mechs); m++)
				t[m][r] = fan_batch(&mechs[m], ns, nr, total,
						    &sys[m][r], &sw[m][r],
						    &wk[m][r], cap[m]);
		for (m = 0; m < ARRAY_SIZE(mechs); m++) {
			struct row *row = new_row(group);

			strcpy(row->bench, "fan");
			snprintf(row->mech, sizeof(row->mech), "%s",
				 mechs[m].name);
			snprintf(row->cap, sizeof(row->cap), "%s", cap[m]);
			snprintf(row->mode, sizeof(row->mode), "%d->%d", ns,
				 nr);
			strcpy(row->place, "any");
			row->size = mechs[m].kind == K_EVENTFD ? 8 : FAN_SIZE;
			row->iters = total;
			row_set_runs(row, t[m], runs);
			/* Counts as the other workloads give them: medians. */
			row->sys_op = median_of(sys[m], runs, NULL);
			row->sw_op = median_of(sw[m], runs, NULL);
			row->wk_op = median_of(wk[m], runs, NULL);
			snprintf(row->note, sizeof(row->note),
				 "%d senders, %d receivers, one object; ns/msg",
				 ns, nr);
		}
		group_ratios(group);
	}
}
