// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/* The two ways kchan_select() waits on descriptors: epoll and io_uring. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
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

int kchan__backend(void)
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

/* The thread's state */

__thread struct kchan_thread kchan__thread_state;
static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

static void thread_drop(struct kchan_thread *t)
{
	if (!t->init)
		return;
	if (t->ring_ok)
		io_uring_queue_exit(&t->ring);
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->sfd >= 0)
		close(t->sfd);
	free(t->fd_hint);
	memset(t, 0, sizeof(*t));
}

static void thread_exit(void *p)
{
	thread_drop(p);
}

/* The child's copies share the parent's epoll and select file: drop them. */
static void thread_forked_child(void)
{
	thread_drop(&kchan__thread_state);
}

static void thread_setup_once(void)
{
	pthread_key_create(&thread_key, thread_exit);
	pthread_atfork(NULL, NULL, thread_forked_child);
}

struct kchan_thread *kchan__thread(void)
{
	struct kchan_thread *t = &kchan__thread_state;

	if (t->init)
		return t;
	pthread_once(&thread_once, thread_setup_once);
	t->init = true;
	t->sfd = -1;
	t->epfd = -1;
	pthread_setspecific(thread_key, t);
	return t;
}

#define FD_HINT_MAX	(1U << 20)

unsigned int kchan__fd_hint(struct kchan_thread *t, int fd)
{
	return fd >= 0 && (unsigned int)fd < t->nfd_hint ? t->fd_hint[fd] : 0;
}

void kchan__fd_hint_set(struct kchan_thread *t, int fd, unsigned int set,
			unsigned int clear)
{
	if (fd < 0 || (unsigned int)fd >= FD_HINT_MAX)
		return;
	if ((unsigned int)fd >= t->nfd_hint) {
		unsigned int n = t->nfd_hint ? t->nfd_hint : 64;
		unsigned char *h;

		while (n <= (unsigned int)fd)
			n <<= 1;
		h = realloc(t->fd_hint, n);
		if (!h)
			return;		/* only a hint */
		memset(h + t->nfd_hint, 0, n - t->nfd_hint);
		t->fd_hint = h;
		t->nfd_hint = n;
	}
	t->fd_hint[fd] = (unsigned char)((t->fd_hint[fd] & ~clear) | set);
}

int kchan__wait_init(struct kchan_wait *w, unsigned int max)
{
	memset(w, 0, sizeof(*w));
	w->bad = -1;
	w->backend = kchan__backend();
	w->t = kchan__thread();
	w->tag = (uint64_t)++w->t->gen << 32;
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

bool kchan__ready_for(unsigned int events, unsigned int revents)
{
	unsigned int in = POLLIN | POLLHUP | POLLERR | POLLRDHUP;
	unsigned int out = POLLOUT | POLLHUP | POLLERR;

	return (events & KCHAN_WAIT_IN && revents & in) ||
	       (events & KCHAN_WAIT_OUT && revents & out);
}

static void mark(struct kchan_wait_ent *e, unsigned int revents)
{
	if (kchan__ready_for(e->events, revents)) {
		e->ready = true;
		e->revents = revents;
	}
}

static unsigned int poll_events(const struct kchan_wait_ent *e)
{
	return e->events & KCHAN_WAIT_IN ? POLLIN : POLLOUT;
}

/* The first entry of @e's fd (it holds the registration for all of them). */
static unsigned int first_of_fd(const struct kchan_wait *w, unsigned int e)
{
	unsigned int j;

	for (j = 1; j < e; j++)
		if (w->ent[j].fd == w->ent[e].fd)
			return j;
	return e;
}

/*
 * epoll: the thread's instance. The select file is in it for good (level
 * triggered: it is readable only while a select is armed and done). The
 * other descriptors are registered one-shot, tagged with the wait's
 * generation and the fd, and stay registered after the select: epoll
 * holds no reference to a file, and drops the registration when the file
 * goes. Each wait re-arms a descriptor with EPOLL_CTL_MOD, which finds
 * the registration only if the fd still names the very file registered
 * (epoll keys them by file and fd): otherwise it is added again (found
 * false). A stale registration fires at most once, with an old tag, and
 * is ignored.
 */

#define SFD_TAG		UINT64_MAX

static int epoll_get(struct kchan_thread *t)
{
	if (t->epfd < 0) {
		t->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (t->epfd < 0)
			return -errno;
		t->sfd_in_epoll = false;
	}
	return t->epfd;
}

static int epoll_watch(struct kchan_wait *w, unsigned int i)
{
	struct kchan_thread *t = w->t;
	struct kchan_wait_ent *e = &w->ent[i];
	struct epoll_event ev = {
		.events = EPOLLONESHOT, .data.u64 = w->tag | (uint32_t)e->fd,
	};
	unsigned int j;

	for (j = i; j < w->n; j++)
		if (w->ent[j].fd == e->fd)
			ev.events |= poll_events(&w->ent[j]);
	if (kchan__fd_hint(t, e->fd) & KCHAN_FD_EPOLL) {
		if (epoll_ctl(t->epfd, EPOLL_CTL_MOD, e->fd, &ev) == 0) {
			e->found = true;
			return 0;
		}
		if (errno != ENOENT)
			return -errno;
	}
	/* A new file at this fd: what was learned about the fd is void. */
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, e->fd, &ev) == 0 ||
	    (errno == EEXIST &&
	     epoll_ctl(t->epfd, EPOLL_CTL_MOD, e->fd, &ev) == 0)) {
		kchan__fd_hint_set(t, e->fd, KCHAN_FD_EPOLL,
				   KCHAN_FD_CHAN | KCHAN_FD_NOTCHAN);
		return 0;
	}
	if (errno != EPERM)
		return -errno;
	/* A regular file: poll() calls it always ready. */
	for (j = i; j < w->n; j++)
		if (w->ent[j].fd == e->fd)
			w->ent[j].always = true;
	return 0;
}

static int epoll_start(struct kchan_wait *w)
{
	struct kchan_thread *t = w->t;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = SFD_TAG };
	unsigned int i;
	int ret = epoll_get(t);

	if (ret < 0)
		return ret;
	if (w->ent[0].fd >= 0 && !t->sfd_in_epoll) {
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, w->ent[0].fd, &ev) < 0) {
			w->bad = 0;
			return -errno;
		}
		t->sfd_in_epoll = true;
	}
	for (i = 1; i < w->n; i++) {
		if (w->ent[i].fd < 0 || first_of_fd(w, i) != i)
			continue;
		ret = epoll_watch(w, i);
		if (ret) {
			w->bad = (int)i;
			return ret;
		}
	}
	/* Entries of one fd share its registration. */
	for (i = 1; i < w->n; i++)
		if (w->ent[i].fd >= 0)
			w->ent[i].found = w->ent[first_of_fd(w, i)].found;
	return 0;
}

static void epoll_mark(struct kchan_wait *w, const struct epoll_event *ev)
{
	unsigned int i;
	int fd;

	if (ev->data.u64 == SFD_TAG) {
		if (w->ent[0].fd >= 0)
			mark(&w->ent[0], ev->events);
		return;
	}
	if ((ev->data.u64 & ~(uint64_t)UINT32_MAX) != w->tag)
		return;		/* an earlier wait's registration */
	fd = (int)(uint32_t)ev->data.u64;
	for (i = 1; i < w->n; i++)
		if (w->ent[i].fd == fd)
			mark(&w->ent[i], ev->events);
}

static int epoll_wait_some(struct kchan_wait *w, int64_t deadline)
{
	struct epoll_event evs[16];
	struct timespec ts, *tsp;
	bool any = false;
	unsigned int i;
	int n, k;

	for (i = 0; i < w->n; i++) {
		if (w->ent[i].always && w->ent[i].fd >= 0) {
			w->ent[i].ready = true;
			w->ent[i].revents = poll_events(&w->ent[i]);
		}
		any |= w->ent[i].ready;
	}
	for (;;) {
		tsp = left(any ? 0 : deadline, &ts);
		n = epoll_pwait2(w->t->epfd, evs, 16, tsp, NULL);
		if (n < 0)
			return -errno;
		for (k = 0; k < n; k++)
			epoll_mark(w, &evs[k]);
		for (i = 0; i < w->n; i++)
			any |= w->ent[i].ready;
		if (any)
			return 0;
		if (passed(deadline))
			return -ETIMEDOUT;
	}
}

/*
 * io_uring: the thread's ring, one one-shot poll request per watched
 * descriptor, renewed when rewatched. The poll on the select file stays
 * out between selects (the file is the thread's own); the others are
 * cancelled before the select returns, so that the ring holds none of the
 * caller's files. A request is prepared just before the wait that
 * submits it, so no prepared request outlives a select.
 */

#define URING_SFD_DATA	UINT64_MAX

static struct io_uring *ring_get(struct kchan_thread *t, unsigned int entries,
				 int *err)
{
	int ret;

	if (t->ring_ok && t->ring_entries >= entries)
		return &t->ring;
	if (t->ring_ok) {
		io_uring_queue_exit(&t->ring);
		t->ring_ok = false;
		t->sfd_polling = false;
	}
	ret = io_uring_queue_init(entries, &t->ring, 0);
	if (ret < 0) {
		*err = ret;
		return NULL;
	}
	t->ring_ok = true;
	t->ring_entries = entries;
	return &t->ring;
}

static void ring_drop(struct kchan_thread *t)
{
	if (t->ring_ok)
		io_uring_queue_exit(&t->ring);
	t->ring_ok = false;
	t->sfd_polling = false;
}

/* Take the completions in the ring; true if an entry is ready. */
static bool uring_reap(struct kchan_wait *w, unsigned int *nseen)
{
	struct kchan_thread *t = w->t;
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0, i;
	bool any = false;

	io_uring_for_each_cqe(&t->ring, head, cqe) {
		struct kchan_wait_ent *e;
		uint64_t data = cqe->user_data;

		seen++;
		if (data == URING_SFD_DATA) {
			t->sfd_polling = false;
			e = &w->ent[0];
			if (e->fd < 0)
				continue;	/* not this select's */
		} else {
			if ((data & ~(uint64_t)UINT32_MAX) != w->tag ||
			    (uint32_t)data >= w->n)
				continue;	/* an earlier select's */
			e = &w->ent[(uint32_t)data];
			e->polling = false;
			if (cqe->res == -ECANCELED)
				continue;
		}
		e->ready = true;
		e->revents = cqe->res < 0 ? 0 : (unsigned int)cqe->res;
		e->err = cqe->res < 0 ? cqe->res : 0;
	}
	io_uring_cq_advance(&t->ring, seen);
	if (nseen)
		*nseen = seen;
	for (i = 0; i < w->n; i++)
		any |= w->ent[i].ready;
	return any;
}

/* Prepare a poll request for every watched entry that has none out. */
static void uring_prep(struct kchan_wait *w)
{
	struct kchan_thread *t = w->t;
	struct io_uring_sqe *sqe;
	unsigned int i;

	for (i = 0; i < w->n; i++) {
		struct kchan_wait_ent *e = &w->ent[i];
		bool out = i == 0 ? t->sfd_polling : e->polling;

		if (e->fd < 0 || e->ready || out)
			continue;
		/* The ring has an entry per watched fd: room. */
		sqe = io_uring_get_sqe(&t->ring);
		if (!sqe) {
			io_uring_submit(&t->ring);
			sqe = io_uring_get_sqe(&t->ring);
		}
		io_uring_prep_poll_add(sqe, e->fd, poll_events(e));
		io_uring_sqe_set_data64(sqe, i == 0 ? URING_SFD_DATA : w->tag | i);
		if (i == 0)
			t->sfd_polling = true;
		else
			e->polling = true;
	}
}

static int uring_start(struct kchan_wait *w)
{
	unsigned int entries = 8;
	int ret = 0;

	while (entries < w->n + 1)
		entries <<= 1;
	if (!ring_get(w->t, entries, &ret))
		return ret;
	/*
	 * What an earlier select left: its select-file poll, at most, which
	 * the disarming may have woken. Nothing is armed yet: not ready.
	 */
	uring_reap(w, NULL);
	w->ent[0].ready = false;
	return 0;
}

/*
 * One io_uring_enter() submits the polls and waits, for at most the time
 * left: a signal interrupts it (-EINTR).
 */
static int uring_wait_some(struct kchan_wait *w, int64_t deadline)
{
	struct io_uring *ring = &w->t->ring;
	struct __kernel_timespec kts;
	struct io_uring_cqe *cqe;
	struct timespec ts;
	unsigned int seen;
	int ret;

	for (;;) {
		if (uring_reap(w, NULL))
			return 0;
		if (deadline != 0 && passed(deadline))
			return -ETIMEDOUT;
		/* Prepared here and submitted at once: none outlives the wait. */
		uring_prep(w);
		if (deadline == 0) {
			ret = io_uring_submit(ring);
			if (ret < 0)
				return ret;
			return uring_reap(w, NULL) ? 0 : -ETIMEDOUT;
		}
		if (deadline < 0) {
			ret = io_uring_submit_and_wait(ring, 1);
		} else {
			left(deadline, &ts);
			kts.tv_sec = ts.tv_sec;
			kts.tv_nsec = ts.tv_nsec;
			ret = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &kts, NULL);
			if (ret == -ETIME)
				ret = 0;
		}
		if (ret < 0)
			return ret;
		/*
		 * An enter that also submitted returns the count even when a
		 * signal cut its wait short; it only returns without a
		 * completion when something did (or the time ran out).
		 */
		if (uring_reap(w, &seen))
			return 0;
		if (!seen && !passed(deadline))
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
	struct epoll_event ev;
	unsigned int j;

	w->ent[e].ready = false;
	if (w->backend == KCHAN_BACKEND_URING || e == 0 || w->ent[e].always ||
	    w->ent[e].fd < 0)
		return;		/* io_uring: prepared before the next wait */
	/* The one-shot registration fired: arm it again. */
	ev.events = EPOLLONESHOT | poll_events(&w->ent[e]);
	ev.data.u64 = w->tag | (uint32_t)w->ent[e].fd;
	for (j = 1; j < w->n; j++)
		if (j != e && w->ent[j].fd == w->ent[e].fd)
			ev.events |= poll_events(&w->ent[j]);
	epoll_ctl(w->t->epfd, EPOLL_CTL_MOD, w->ent[e].fd, &ev);
}

/* Poll requests of this select still out (the select file's excepted). */
static unsigned int uring_outstanding(const struct kchan_wait *w)
{
	unsigned int i, n = 0;

	for (i = 1; i < w->n; i++)
		n += w->ent[i].polling;
	return n;
}

/*
 * Leave the ring holding none of the caller's files: cancel what is still
 * out, in one synchronous call, and take the completions. If that fails,
 * the ring is dropped rather than reused.
 */
static void uring_quiesce(struct kchan_wait *w)
{
	struct io_uring_sync_cancel_reg reg = {
		.flags = IORING_ASYNC_CANCEL_ANY,
		.timeout = { .tv_sec = -1, .tv_nsec = -1 },
	};
	struct io_uring_cqe *cqe;
	int ret;

	/* Nothing prepared is left unsubmitted (no call if there is none). */
	if (io_uring_submit(&w->t->ring) < 0)
		goto drop;
	uring_reap(w, NULL);
	if (!uring_outstanding(w))
		return;
	ret = io_uring_register_sync_cancel(&w->t->ring, &reg);
	if (ret < 0 && ret != -ENOENT)
		goto drop;
	uring_reap(w, NULL);
	/* The cancelled requests complete at once; wait if one did not. */
	while (uring_outstanding(w)) {
		ret = io_uring_wait_cqe(&w->t->ring, &cqe);
		if (ret < 0 && ret != -EINTR)
			goto drop;
		uring_reap(w, NULL);
	}
	return;
drop:
	ring_drop(w->t);
}

void kchan__wait_fini(struct kchan_wait *w)
{
	if (w->backend == KCHAN_BACKEND_URING && w->t && w->t->ring_ok)
		uring_quiesce(w);
	free(w->ent);
}
