// SPDX-License-Identifier: MIT
/*
 * The talk's load balancer. Requester processes send requests to the
 * balancer, each with the channel its answer must come back on; the
 * balancer hands each to the least loaded worker process, keeping the
 * workers in a heap by pending requests, and selects between new requests
 * and the workers' done notices. A worker answers on the request's own
 * channel, straight to its requester. No locks, no shared memory: each
 * process has only its channels.
 *
 * The same requests are served by 1, 2 and 4 workers; for each it prints
 * the requests completed, how the load spread over the workers, and the
 * throughput against one worker.
 *
 * Usage: loadbalancer [-v] [REQUESTERS [REQUESTS_EACH [CPU_MS [WAIT_MS]]]]
 *	(default 8 requesters of 8 requests, each request costing 2 ms of
 *	CPU and 18 ms of waiting, as for a disk or a database; -v: who runs
 *	where, and the channels the first answers travel on)
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <libkchan.h>
#include "reap.h"
#include "work.h"

#define MAX_WORKERS	4
#define MAX_REQUESTERS	64
#define THINK_MS	2.0             /* a requester pauses up to this between requests */

/* A request's bytes; its reply channel travels next to them. */
struct request {
	int requester, seq;
	int64_t arg;
};

struct worker {
	int id;
	int requests;           /* w.requests: what the balancer hands this worker */
	int pending;            /* requests handed and not done yet */
	int index;              /* its place in the heap */
	int completed;
	int pidfd;
};

struct balancer {
	struct worker workers[MAX_WORKERS];
	struct worker *pool[MAX_WORKERS];       /* a heap: pool[0] the least pending */
	int nworkers;
	long dispatches;
	double imbalance;       /* the most pending minus the least, summed per dispatch */
};

struct report {
	int requester, answered, right;
};

static int work_chan, done_chan, report_chan;
static int nrequesters = 8, nrequests = 8, verbose;
static double cpu_ms = 2, wait_ms = 18;

static unsigned long long chan_id(int ch)
{
	struct kchan_stat st;

	return ioctl(ch, KCHAN_IOC_STAT, &st) == 0 ? st.id : 0;
}

/* The work a request asks for: some CPU, some waiting, and an answer. */
static int64_t work_fn(int64_t arg)
{
	work(cpu_ms, wait_ms);
	return arg * arg;
}

/* Go's make(chan int): the channel a requester's answers come back on. */
static int make_reply(void)
{
	return kchan_make(0, sizeof(int64_t), 0);
}

/*
 * Send a request with its reply channel (work <- Request{fn, c}). The
 * requester hands it on send-only (KCHAN_DIR_SEND): whoever gets it can
 * answer and nothing else.
 */
static int send_request(int ch, const struct request *req, int reply, unsigned int dir)
{
	struct kchan_chanref c = { .fd = reply, .dir = dir };

	return kchan_send_chans(ch, req, sizeof(*req), &c, 1, KCHAN_FOREVER) ==
	       sizeof(*req) ? 0 : -1;
}

/* 1 with a request and its reply channel (a new fd), 0 once ch is closed, or -errno. */
static int recv_request(int ch, struct request *req, struct kchan_chanref *reply)
{
	unsigned int n = 1;
	ssize_t len = kchan_recv_chans(ch, req, sizeof(*req), reply, &n, 0, KCHAN_FOREVER);

	if (len <= 0)
		return (int)len;
	return len == sizeof(*req) && n == 1 ? 1 : -EPROTO;
}

/* A requester process: a request, wait for its answer, again. */
static void requester(void *arg)
{
	struct report rep = { .requester = (int)(intptr_t)arg };
	struct request req = { .requester = rep.requester };
	unsigned int seed = 7919 * rep.requester + 1;
	int64_t result;
	int reply = make_reply();

	if (reply < 0) {
		kchan_send(report_chan, &rep, sizeof(rep), KCHAN_FOREVER);
		return;
	}
	if (verbose)
		printf("  requester %d: pid %d, its answers come back on channel #%llu\n",
		       rep.requester, getpid(), chan_id(reply));
	for (req.seq = 1; req.seq <= nrequests; req.seq++) {
		work(0, THINK_MS * rand_r(&seed) / RAND_MAX);         /* think */
		req.arg = rand_r(&seed) % 1000;
		if (send_request(work_chan, &req, reply, KCHAN_DIR_SEND) < 0)  /* work <- req */
			break;
		if (kchan_recv(reply, &result, sizeof(result), KCHAN_FOREVER) != sizeof(result))
			break;                                                  /* <-req.c */
		rep.answered++;
		rep.right += result == req.arg * req.arg;
	}
	close(reply);
	kchan_send(report_chan, &rep, sizeof(rep), KCHAN_FOREVER);
}

/* A worker process: answer each request on its own channel, then say done. */
static void worker(void *arg)
{
	struct worker *w = arg;
	struct kchan_chanref reply;
	struct request req;
	int64_t result;
	int answered = 0;

	while (recv_request(w->requests, &req, &reply) > 0) {
		result = work_fn(req.arg);
		if (verbose && answered++ < 2)
			printf("  worker %d: pid %d, request %d of requester %d: answered on channel #%llu, which came with it as fd %d, %s\n",
			       w->id, getpid(), req.seq, req.requester, chan_id(reply.fd), reply.fd,
			       reply.dir == KCHAN_DIR_SEND ? "send-only" : "readable too");
		kchan_send(reply.fd, &result, sizeof(result), KCHAN_FOREVER);  /* req.c <- req.fn() */
		close(reply.fd);
		kchan_send(done_chan, &w->id, sizeof(w->id), KCHAN_FOREVER);   /* done <- w */
	}
}

static int less(struct balancer *b, int i, int j)
{
	return b->pool[i]->pending < b->pool[j]->pending;
}

static void swap(struct balancer *b, int i, int j)
{
	struct worker *w = b->pool[i];

	b->pool[i] = b->pool[j];
	b->pool[j] = w;
	b->pool[i]->index = i;
	b->pool[j]->index = j;
}

/* Restore the heap after pool[i]'s pending changed (Go's heap.Fix). */
static void heap_fix(struct balancer *b, int i)
{
	int child, least;

	while (i > 0 && less(b, i, (i - 1) / 2)) {
		swap(b, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		least = i;
		for (child = 2 * i + 1; child <= 2 * i + 2 && child < b->nworkers; child++)
			if (less(b, child, least))
				least = child;
		if (least == i)
			return;
		swap(b, i, least);
		i = least;
	}
}

/* Send the request to the least loaded worker. */
static int dispatch(struct balancer *b, const struct request *req, int reply)
{
	struct worker *w = b->pool[0];
	int i, most = 0, least = w->pending + 1;

	if (send_request(w->requests, req, reply, 0) < 0)     /* w.requests <- req */
		return -1;
	close(reply);                   /* the message holds the channel now */
	w->pending++;
	heap_fix(b, 0);
	for (i = 0; i < b->nworkers; i++) {
		most = b->workers[i].pending > most ? b->workers[i].pending : most;
		least = b->workers[i].pending < least ? b->workers[i].pending : least;
	}
	b->imbalance += most - least;
	b->dispatches++;
	return 0;
}

/* The worker finished a request: one less pending. */
static void completed(struct balancer *b, int id)
{
	struct worker *w = &b->workers[id];

	w->pending--;
	w->completed++;
	heap_fix(b, w->index);
}

/*
 * Until every requester has reported that it is through and every worker
 * is done: the requesters' reports are in *reps.
 */
static int balance(struct balancer *b, struct report *reps)
{
	struct request req;
	struct kchan_chanref reply;
	int id, pending = 0, reported = 0;

	while (reported < nrequesters || pending > 0) {
		struct kchan_msghdr msg = { .buf = (uintptr_t)&req, .len = sizeof(req),
					    .chans = (uintptr_t)&reply, .nchans = 1 };
		struct kchan_op ops[] = {
			{ .fd = work_chan, .kind = KCHAN_RECV_CHANS, .buf = &msg, .len = sizeof(msg) },
			{ .fd = done_chan, .kind = KCHAN_RECV, .buf = &id, .len = sizeof(id) },
			{ .fd = report_chan, .kind = KCHAN_RECV, .buf = &reps[reported],
			  .len = sizeof(*reps) },
		};

		switch (kchan_select(ops, 3, 0, KCHAN_FOREVER)) {
		case 0:                                 /* req := <-work */
			if (ops[0].result != sizeof(req) || msg.nchans != 1 ||
			    dispatch(b, &req, reply.fd) < 0)
				return -1;
			pending++;
			break;
		case 1:                                 /* w := <-b.done */
			if (id < 0 || id >= b->nworkers)
				return -1;
			completed(b, id);
			pending--;
			break;
		case 2:
			reported++;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

struct outcome {
	double seconds;
	int answered, right;
};

/* Serve every request with n workers. */
static int run(struct balancer *b, int n, struct outcome *out)
{
	struct report reps[MAX_REQUESTERS];
	int pidfds[MAX_REQUESTERS], i, ok = 1;
	int64_t start;

	memset(b, 0, sizeof(*b));
	memset(out, 0, sizeof(*out));
	b->nworkers = n;
	work_chan = kchan_make(0, sizeof(struct request), KCHAN_CARRIER);
	done_chan = kchan_make(nrequesters, sizeof(int), 0);
	report_chan = kchan_make(nrequesters, sizeof(struct report), 0);
	if (work_chan < 0 || done_chan < 0 || report_chan < 0)
		return -1;
	if (verbose)
		printf("  the balancer: pid %d, requests arrive on channel #%llu\n",
		       getpid(), chan_id(work_chan));
	fflush(stdout);                 /* before a fork, or the child prints it again */
	for (i = 0; i < n; i++) {
		struct worker *w = &b->workers[i];

		*w = (struct worker){ .id = i, .index = i };
		/* Room for every request at once: dispatch never waits. */
		w->requests = kchan_make(nrequesters, sizeof(struct request), KCHAN_CARRIER);
		if (w->requests < 0 || (w->pidfd = kchan_spawn(worker, w)) < 0)
			return -1;
		b->pool[i] = w;
	}
	for (i = 0; i < nrequesters; i++)
		if ((pidfds[i] = kchan_spawn(requester, (void *)(intptr_t)i)) < 0)
			return -1;

	start = kchan_now();
	if (balance(b, reps) < 0)
		return -1;
	out->seconds = (kchan_now() - start) / 1e9;

	for (i = 0; i < nrequesters; i++) {
		out->answered += reps[i].answered;
		out->right += reps[i].right;
		ok &= reap(pidfds[i]);
	}
	for (i = 0; i < n; i++) {
		kchan_close(b->workers[i].requests);     /* no more work: the workers return */
		ok &= reap(b->workers[i].pidfd);
		close(b->workers[i].requests);
	}
	close(work_chan);
	close(done_chan);
	close(report_chan);
	return ok ? 0 : -1;
}

static void print_load(const struct balancer *b)
{
	double mean = 0, var = 0;
	char list[64] = "";
	int i, len = 0;

	for (i = 0; i < b->nworkers; i++) {
		mean += b->workers[i].completed / (double)b->nworkers;
		len += snprintf(list + len, sizeof(list) - len, "%s%d", i ? " " : "",
				b->workers[i].completed);
	}
	for (i = 0; i < b->nworkers; i++)
		var += pow(b->workers[i].completed - mean, 2) / b->nworkers;
	printf("loadbalancer: %d worker%s: requests per worker %s: mean %.1f, spread %.1f; pending: the most and least loaded differ by %.2f\n",
	       b->nworkers, b->nworkers > 1 ? "s" : "", list, mean, sqrt(var),
	       b->dispatches ? b->imbalance / b->dispatches : 0);
}

int main(int argc, char **argv)
{
	static const int sizes[] = { 1, 2, 4 };
	struct balancer b;
	struct outcome out;
	double one = 0, rate;
	int i, trace = 0, total;

	if (argc > 1 && !strcmp(argv[1], "-v")) {
		trace = 1;
		argv++;
		argc--;
	}
	nrequesters = argc > 1 ? atoi(argv[1]) : nrequesters;
	nrequests = argc > 2 ? atoi(argv[2]) : nrequests;
	cpu_ms = argc > 3 ? atof(argv[3]) : cpu_ms;
	wait_ms = argc > 4 ? atof(argv[4]) : wait_ms;
	if (nrequesters < 1 || nrequesters > MAX_REQUESTERS || nrequests < 1 ||
	    cpu_ms < 0 || wait_ms < 0)
		return 2;
	total = nrequesters * nrequests;
	setvbuf(stdout, NULL, _IOLBF, 0);       /* lines from many processes, in order */
	work_calibrate();
	if (run(&b, 1, &out) < 0)       /* a first round, untimed: every page faulted in */
		goto failed;
	printf("loadbalancer: %d requester processes, %d requests each; a request costs %.1f ms of CPU and %.1f ms of waiting; %ld CPUs\n",
	       nrequesters, nrequests, cpu_ms, wait_ms, sysconf(_SC_NPROCESSORS_ONLN));
	for (i = 0; i < (int)(sizeof(sizes) / sizeof(sizes[0])); i++) {
		verbose = trace && sizes[i] == MAX_WORKERS;
		if (verbose)
			printf("loadbalancer: with %d workers, who runs where:\n", sizes[i]);
		if (run(&b, sizes[i], &out) < 0)
			goto failed;
		rate = total / out.seconds;
		if (i == 0)
			one = rate;
		printf("loadbalancer: %d worker%s: %d of %d requests completed, %d answered right, in %.2f s: %.1f requests/s %.2fx\n",
		       sizes[i], sizes[i] > 1 ? "s" : "", out.answered, total, out.right,
		       out.seconds, rate, rate / one);
		print_load(&b);
		if (out.answered != total || out.right != total)
			return 1;
	}
	return 0;
failed:
	fprintf(stderr, "loadbalancer: a process or a channel failed\n");
	return 1;
}
