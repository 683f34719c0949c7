// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/* The two ways kchan_select() waits on descriptors: epoll and io_uring. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "wait.h"

static int backend_choice = KCHAN_BACKEND_DEFAULT;

int kchan_set_backend(int backend)
{
	if (backend < KCHAN_BACKEND_DEFAULT || backend > KCHAN_BACKEND_URING)
		return -EINVAL;
	__atomic_store_n(&backend_choice, backend, __ATOMIC_RELAXED);
	return 0;
}

static int backend_now(void)
{
	int b = __atomic_load_n(&backend_choice, __ATOMIC_RELAXED);
	const char *env;

	if (b != KCHAN_BACKEND_DEFAULT)
		return b;
	env = getenv("KCHAN_BACKEND");
	if (env && !strcmp(env, "uring"))
		return KCHAN_BACKEND_URING;
	return KCHAN_BACKEND_EPOLL;
}

int kchan__wait_init(struct kchan_wait *w, unsigned int max)
{
	memset(w, 0, sizeof(*w));
	w->epfd = -1;
	w->bad = -1;
	w->backend = backend_now();
	w->ent = calloc(max ? max : 1, sizeof(*w->ent));
	if (!w->ent)
		return -ENOMEM;
	w->max = max;
	return 0;
}

void kchan__wait_add(struct kchan_wait *w, int fd, unsigned int events, int op)
{
	struct kchan_wait_ent *e = &w->ent[w->n++];

	e->fd = fd;
	e->events = events;
	e->op = op;
}

/* The time left until @deadline, for a wait: NULL for ever. */
static struct timespec *left(int64_t deadline, struct timespec *ts)
{
	int64_t ns;

	if (deadline < 0)
		return NULL;
	ns = deadline ? deadline - kchan_now() : 0;
	if (ns < 0)
		ns = 0;
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return ts;
}

static bool passed(int64_t deadline)
{
	return deadline == 0 || (deadline > 0 && kchan_now() >= deadline);
}

static void mark(struct kchan_wait_ent *e, unsigned int revents)
{
	unsigned int in = POLLIN | POLLHUP | POLLERR | POLLRDHUP;
	unsigned int out = POLLOUT | POLLHUP | POLLERR;

	if ((e->events & KCHAN_WAIT_IN && revents & in) ||
	    (e->events & KCHAN_WAIT_OUT && revents & out)) {
		e->ready = true;
		e->revents = revents;
	}
}

static unsigned int poll_events(const struct kchan_wait_ent *e)
{
	return e->events & KCHAN_WAIT_IN ? POLLIN : POLLOUT;
}

/* epoll */

static int epoll_start(struct kchan_wait *w)
{
	unsigned int i, j;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	for (i = 0; i < w->n; i++) {
		struct epoll_event ev = { .data.u32 = i };
		bool seen = false;

		if (w->ent[i].fd < 0)
			continue;
		/* One registration per fd, with every event wanted on it. */
		for (j = 0; j < i; j++)
			if (w->ent[j].fd == w->ent[i].fd)
				seen = true;
		if (seen)
			continue;
		for (j = i; j < w->n; j++)
			if (w->ent[j].fd == w->ent[i].fd)
				ev.events |= poll_events(&w->ent[j]);
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->ent[i].fd, &ev) == 0)
			continue;
		if (errno != EPERM) {
			w->bad = (int)i;
			return -errno;
		}
		/* A regular file: poll() calls it always ready. */
		for (j = i; j < w->n; j++)
			if (w->ent[j].fd == w->ent[i].fd)
				w->ent[j].always = true;
	}
	return 0;
}

static int epoll_wait_some(struct kchan_wait *w, int64_t deadline)
{
	struct epoll_event evs[16];
	struct timespec ts, *tsp;
	bool any = false;
	unsigned int i, j;
	int n, k;

	for (i = 0; i < w->n; i++) {
		w->ent[i].ready = w->ent[i].always && w->ent[i].fd >= 0;
		w->ent[i].revents = w->ent[i].ready ? poll_events(&w->ent[i]) : 0;
		any |= w->ent[i].ready;
	}
	for (;;) {
		tsp = left(any ? 0 : deadline, &ts);
		n = epoll_pwait2(w->epfd, evs, 16, tsp, NULL);
		if (n < 0)
			return -errno;
		for (k = 0; k < n; k++) {
			i = evs[k].data.u32;
			for (j = i; j < w->n; j++)
				if (w->ent[j].fd == w->ent[i].fd)
					mark(&w->ent[j], evs[k].events);
		}
		for (i = 0; i < w->n; i++)
			any |= w->ent[i].ready;
		if (any)
			return 0;
		if (passed(deadline))
			return -ETIMEDOUT;
	}
}

/* io_uring: one poll request per entry, one-shot, renewed when rewatched */

static void uring_poll(struct kchan_wait *w, unsigned int i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(w->ring);

	/* The ring has an entry per watched fd and the timeout: room. */
	if (!sqe) {
		io_uring_submit(w->ring);
		sqe = io_uring_get_sqe(w->ring);
	}
	io_uring_prep_poll_add(sqe, w->ent[i].fd, poll_events(&w->ent[i]));
	io_uring_sqe_set_data64(sqe, i);
	w->ent[i].polling = true;
}

/*
 * Each thread keeps its ring between selects: setting one up and tearing
 * it down costs far more than a select. A select leaves it empty (every
 * request it made is cancelled and reaped before it returns), a forked
 * child drops its copy of the forking thread's ring, and a thread's ring
 * goes with it.
 */
struct ring_cache {
	bool ok;
	unsigned int entries;
	struct io_uring ring;
};

static __thread struct ring_cache ring_cache;
static pthread_key_t ring_key;
static pthread_once_t ring_once = PTHREAD_ONCE_INIT;

static void ring_drop(struct ring_cache *c)
{
	if (c->ok)
		io_uring_queue_exit(&c->ring);
	c->ok = false;
}

static void ring_thread_exit(void *p)
{
	ring_drop(p);
}

static void ring_forked_child(void)
{
	ring_drop(&ring_cache);
}

static void ring_setup_once(void)
{
	pthread_key_create(&ring_key, ring_thread_exit);
	pthread_atfork(NULL, NULL, ring_forked_child);
}

static struct io_uring *ring_get(unsigned int entries, int *err)
{
	struct ring_cache *c = &ring_cache;
	int ret;

	pthread_once(&ring_once, ring_setup_once);
	if (c->ok && c->entries >= entries)
		return &c->ring;
	ring_drop(c);
	ret = io_uring_queue_init(entries, &c->ring, 0);
	if (ret < 0) {
		*err = ret;
		return NULL;
	}
	c->ok = true;
	c->entries = entries;
	pthread_setspecific(ring_key, c);
	return &c->ring;
}

static int uring_start(struct kchan_wait *w)
{
	unsigned int i, entries = 8;
	int ret = 0;

	/* A poll each, the timeout and the final cancel. */
	while (entries < w->n + 2)
		entries <<= 1;
	w->ring = ring_get(entries, &ret);
	if (!w->ring)
		return ret;
	for (i = 0; i < w->n; i++)
		if (w->ent[i].fd >= 0)
			uring_poll(w, i);
	return 0;
}

#define TIMEOUT_DATA	UINT64_MAX
#define CANCEL_DATA	(UINT64_MAX - 1)

static bool uring_reap(struct kchan_wait *w)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0, i;
	bool any = false;

	io_uring_for_each_cqe(w->ring, head, cqe) {
		struct kchan_wait_ent *e;

		seen++;
		if (cqe->user_data == TIMEOUT_DATA) {
			w->timed_out = true;
			continue;
		}
		if (cqe->user_data == CANCEL_DATA) {
			w->cancelled = true;
			continue;
		}
		e = &w->ent[cqe->user_data];
		e->polling = false;
		e->ready = true;
		e->revents = cqe->res < 0 ? 0 : (unsigned int)cqe->res;
		e->err = cqe->res < 0 ? cqe->res : 0;
	}
	io_uring_cq_advance(w->ring, seen);
	for (i = 0; i < w->n; i++)
		any |= w->ent[i].ready;
	return any;
}

/*
 * The deadline is an absolute CLOCK_MONOTONIC timeout request in the same
 * ring, so the wait itself is a plain io_uring_enter(), which a signal
 * interrupts (-EINTR).
 */
static int uring_wait_some(struct kchan_wait *w, int64_t deadline)
{
	struct io_uring_sqe *sqe;
	int ret;

	if (deadline > 0 && !w->timeout_set) {
		w->ts.tv_sec = deadline / 1000000000;
		w->ts.tv_nsec = deadline % 1000000000;
		sqe = io_uring_get_sqe(w->ring);
		if (!sqe) {
			io_uring_submit(w->ring);
			sqe = io_uring_get_sqe(w->ring);
		}
		io_uring_prep_timeout(sqe, &w->ts, 0, IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data64(sqe, TIMEOUT_DATA);
		w->timeout_set = true;
	}
	for (;;) {
		if (uring_reap(w))
			return 0;
		if (deadline == 0) {
			ret = io_uring_submit(w->ring);
			if (ret < 0)
				return ret;
			return uring_reap(w) ? 0 : -ETIMEDOUT;
		}
		if (w->timed_out || passed(deadline))
			return -ETIMEDOUT;
		ret = io_uring_submit_and_wait(w->ring, 1);
		if (ret < 0)
			return ret;
		/*
		 * An enter that also submitted returns the count even when a
		 * signal cut its wait short; it only returns without a
		 * completion when something did (the timeout is one).
		 */
		if (ret > 0 && !uring_reap(w) && !w->timed_out &&
		    !passed(deadline))
			return -EINTR;
	}
}

int kchan__wait_start(struct kchan_wait *w)
{
	if (w->backend == KCHAN_BACKEND_URING)
		return uring_start(w);
	return epoll_start(w);
}

int kchan__wait(struct kchan_wait *w, int64_t deadline)
{
	if (w->backend == KCHAN_BACKEND_URING)
		return uring_wait_some(w, deadline);
	return epoll_wait_some(w, deadline);
}

void kchan__wait_rewatch(struct kchan_wait *w, unsigned int e)
{
	w->ent[e].ready = false;
	if (w->backend == KCHAN_BACKEND_URING && !w->ent[e].polling &&
	    w->ent[e].fd >= 0)
		uring_poll(w, e);
}

/* Requests of this wait still in the ring. */
static unsigned int uring_outstanding(const struct kchan_wait *w)
{
	unsigned int i, n = w->timeout_set && !w->timed_out;

	for (i = 0; i < w->n; i++)
		n += w->ent[i].polling;
	return n;
}

/*
 * Leave the ring empty for the next select: cancel what is left (a poll
 * request holds its file) and reap every completion. If that fails, the
 * ring is dropped rather than reused.
 */
static void uring_quiesce(struct kchan_wait *w)
{
	struct io_uring_sqe *sqe;
	int ret;

	io_uring_submit(w->ring);	/* rewatches not yet submitted */
	uring_reap(w);
	if (!uring_outstanding(w))
		return;
	sqe = io_uring_get_sqe(w->ring);
	if (!sqe)
		goto drop;
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data64(sqe, CANCEL_DATA);
	w->cancelled = false;
	while (uring_outstanding(w) || !w->cancelled) {
		ret = io_uring_submit_and_wait(w->ring, 1);
		if (ret < 0 && ret != -EINTR)
			goto drop;
		/* The cancel answers for the polls and the timeout too. */
		uring_reap(w);
	}
	return;
drop:
	ring_drop(&ring_cache);
}

void kchan__wait_fini(struct kchan_wait *w)
{
	if (w->ring)
		uring_quiesce(w);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w->ent);
}
