// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: 16 receivers idle in read() (or poll()) on one object, then
 * one message. Every woken receiver that finds nothing goes back to sleep,
 * which is one voluntary context switch: the receivers' voluntary switches
 * per message count the wake-ups a message caused.
 */
#include "chanbench.h"

#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

struct waker {
	const char *name;
	enum kind kind;
	unsigned int cap;
	bool poll;		/* receivers poll() then read non-blocking */
};

struct wake_ctx {
	const struct waker *w;
	int rfd, wfd;
	pid_t tids[WAKE_THREADS];
	_Atomic int started;
	_Atomic long got, sys;
	_Atomic uint64_t t_got;
};

struct wake_arg {
	struct wake_ctx *c;
	int i;
};

static void *wake_receiver(void *arg)
{
	struct wake_arg *wa = arg;
	struct wake_ctx *c = wa->c;
	struct pollfd pfd = { .fd = c->rfd, .events = POLLIN };
	char buf[MAX_MSG];
	ssize_t n;

	c->tids[wa->i] = syscall(SYS_gettid);
	atomic_fetch_add(&c->started, 1);
	for (;;) {
		if (c->w->poll) {
			poll(&pfd, 1, -1);
			atomic_fetch_add(&c->sys, 1);
		}
		if (c->w->kind == K_MQUEUE)
			n = mq_receive(c->rfd, buf, sizeof(buf), NULL);
		else
			n = read(c->rfd, buf, sizeof(buf));
		atomic_fetch_add(&c->sys, 1);
		if (n > 0) {
			atomic_store(&c->t_got, now_ns());
			atomic_fetch_add(&c->got, 1);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			break;
		}
	}
	return NULL;
}

/* Task state letter of thread @tid ('S': sleeping), or 0. */
static char task_state(pid_t tid)
{
	char path[64], line[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	p = p ? strrchr(line, ')') : NULL;
	return p ? p[2] : 0;
}

static long task_voluntary(pid_t tid)
{
	char path[64], line[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Waits until all receivers sleep, twice in a row 2 ms apart. */
static void wait_all_asleep(struct wake_ctx *c)
{
	uint64_t deadline = now_ns() + 20ull * 1000000000ull;
	int i, calm = 0;

	while (calm < 2) {
		for (i = 0; i < WAKE_THREADS; i++)
			if (task_state(c->tids[i]) != 'S')
				break;
		calm = i == WAKE_THREADS ? calm + 1 : 0;
		if (now_ns() > deadline)
			die("%s: the receivers do not go idle", c->w->name);
		sleep_ms(2);
	}
}

static long sum_voluntary(struct wake_ctx *c)
{
	long sum = 0;
	int i;

	for (i = 0; i < WAKE_THREADS; i++)
		sum += task_voluntary(c->tids[i]);
	return sum;
}

/* One run: @msgs messages; mean latency, wake-ups and syscalls each. */
static int wake_run(const struct waker *w, int msgs, double *lat,
		    double *wk, double *sys)
{
	struct wake_arg args[WAKE_THREADS];
	pthread_t th[WAKE_THREADS];
	struct wake_ctx c;
	uint64_t one = 1, t0, lat_sum = 0;
	long wk_sum = 0, sys_sum = 0, v0, s0;
	char msg[8] = "wake-up";
	unsigned int got_cap;
	int i, k, p[2], ret;

	memset(&c, 0, sizeof(c));
	c.w = w;
	switch (w->kind) {
	case K_KCHAN:
		ret = chan_new(w->cap, 8, w->poll ? O_NONBLOCK : 0);
		if (ret < 0)
			return ret;
		c.rfd = c.wfd = ret;
		break;
	case K_PIPE:
		if (pipe2(p, O_CLOEXEC))
			return -errno;
		c.rfd = p[0];
		c.wfd = p[1];
		if (w->poll)
			fcntl(c.rfd, F_SETFL, O_NONBLOCK);
		break;
	case K_EVENTFD:
		c.rfd = c.wfd = eventfd(0, EFD_CLOEXEC);
		if (c.rfd < 0)
			return -errno;
		break;
	case K_MQUEUE:
		ret = mq_new(1, 8, &got_cap);
		if (ret < 0)
			return ret;
		c.rfd = c.wfd = ret;
		break;
	default:
		return -EINVAL;
	}
	for (i = 0; i < WAKE_THREADS; i++) {
		args[i] = (struct wake_arg){ &c, i };
		ret = pthread_create(&th[i], NULL, wake_receiver, &args[i]);
		if (ret)
			die("pthread_create: %s", strerror(ret));
	}
	while (atomic_load(&c.started) < WAKE_THREADS)
		sleep_ms(1);
	alarm(BATCH_TIMEOUT_S);
	for (k = 0; k < msgs; k++) {
		long before = atomic_load(&c.got);

		wait_all_asleep(&c);
		v0 = sum_voluntary(&c);
		s0 = atomic_load(&c.sys);
		t0 = now_ns();
		if (w->kind == K_EVENTFD)
			ret = write(c.wfd, &one, 8) == 8 ? 0 : -1;
		else if (w->kind == K_MQUEUE)
			ret = mq_send(c.wfd, msg, 8, 0);
		else
			ret = write(c.wfd, msg, 8) == 8 ? 0 : -1;
		if (ret)
			die("%s: send: %s", w->name, strerror(errno));
		while (atomic_load(&c.got) == before)
			sleep_ms(1);
		lat_sum += atomic_load(&c.t_got) - t0;
		wait_all_asleep(&c);
		wk_sum += sum_voluntary(&c) - v0;
		sys_sum += atomic_load(&c.sys) - s0 + 1;
	}
	alarm(0);
	for (i = 0; i < WAKE_THREADS; i++)
		pthread_cancel(th[i]);
	for (i = 0; i < WAKE_THREADS; i++)
		pthread_join(th[i], NULL);
	close(c.rfd);
	if (c.wfd != c.rfd)
		close(c.wfd);
	*lat = (double)lat_sum / msgs;
	*wk = (double)wk_sum / msgs;
	*sys = (double)sys_sum / msgs;
	return 0;
}

void bench_wake(void)
{
	static const struct waker ws[] = {
		{ "kchan-c0", K_KCHAN, 0, false },
		{ "kchan-c1", K_KCHAN, 1, false },
		{ "kchan-c1-poll", K_KCHAN, 1, true },
		{ "pipe", K_PIPE, 0, false },
		{ "pipe-poll", K_PIPE, 0, true },
		{ "eventfd", K_EVENTFD, 0, false },
		{ "mqueue", K_MQUEUE, 0, false },
	};
	int runs = opt.runs, msgs = opt.quick ? 2 : 6;
	int nw = ARRAY_SIZE(ws), group = new_group(), r, i;
	double lat[ARRAY_SIZE(ws)][MAX_RUNS], wk[ARRAY_SIZE(ws)][MAX_RUNS];
	double sys[ARRAY_SIZE(ws)][MAX_RUNS];
	bool failed[ARRAY_SIZE(ws)] = { false };

	if (runs > MAX_RUNS)
		runs = MAX_RUNS;
	progress("wake, %d receivers", WAKE_THREADS);
	for (r = 0; r < runs; r++) {
		for (i = 0; i < nw; i++) {
			int ret;

			if (failed[i])
				continue;
			ret = wake_run(&ws[i], msgs, &lat[i][r], &wk[i][r],
				       &sys[i][r]);
			if (ret) {
				if (ws[i].kind == K_KCHAN)
					die("%s: %s", ws[i].name, strerror(-ret));
				warn_msg("%s: %s; left out", ws[i].name,
					 strerror(-ret));
				failed[i] = true;
			}
		}
	}
	for (i = 0; i < nw; i++) {
		struct row *row;

		if (failed[i])
			continue;
		row = new_row(group);
		strcpy(row->bench, "wake");
		snprintf(row->mech, sizeof(row->mech), "%s", ws[i].name);
		snprintf(row->cap, sizeof(row->cap), "%s",
			 ws[i].kind == K_KCHAN ? (ws[i].cap ? "1" : "0") :
			 ws[i].kind == K_MQUEUE ? "1" : "-");
		strcpy(row->mode, ws[i].poll ? "poll+read" : "read");
		strcpy(row->place, "any");
		row->size = 8;
		row->iters = msgs;
		row_set_runs(row, lat[i], runs);
		row->wk_op = median_of(wk[i], runs, NULL);
		row->sw_op = row->wk_op;
		row->sys_op = median_of(sys[i], runs, NULL);
		snprintf(row->note, sizeof(row->note),
			 "%d idle receivers; ns/op = send to receipt",
			 WAKE_THREADS);
	}
	group_ratios(group);
}

