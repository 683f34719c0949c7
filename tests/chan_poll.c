// SPDX-License-Identifier: GPL-2.0
/*
 * poll(2) and epoll(7) on kchan channels: readiness bits, wake-ups of
 * sleeping pollers, edge-triggered transitions, keyed wake-ups and
 * exclusive waiters.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kt.h"
#include "kt_bg.h"
#include "kt_fixture.h"

#define MSG_MAX		64
#define NR_CYCLES	8
#define NR_WAITERS	16
/* How long a wake-up gets to show up, and how long we watch for extras. */
#define SETTLE_MS	400
/* poll() reports readiness when it times out: wait well past KT_TIMEOUT_MS. */
#define POLL_TIMEOUT_MS	(2 * KT_TIMEOUT_MS)

/* Voluntary context switches of the calling thread. */
static long my_nvcsw(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) < 0)
		return -1;
	return ru.ru_nvcsw;
}

FIXTURE(chan) {
	int fd;
	struct kt_ops bg;
	char name[KCHAN_NAME_SIZE];
};

KT_CHAN_VARIANTS(chan, 4);

FIXTURE_SETUP(chan)
{
	self->fd = kt_chan_setup(_metadata, variant->capacity, MSG_MAX);
	self->name[0] = '\0';
}

FIXTURE_TEARDOWN(chan)
{
	/* Closing releases any thread still blocked on the channel. */
	kchan_close(self->fd);
	kt_ops_wait_all(&self->bg);
	close(self->fd);
	if (self->name[0])
		kchan_unlink(self->name);
}

/* Make a send possible on a channel that has no room: buffered must be full. */
static int offer_room(FIXTURE_DATA(chan) *self,
		      const FIXTURE_VARIANT(chan) *variant)
{
	char buf[MSG_MAX];
	ssize_t n;

	if (variant->capacity) {
		n = kt_recv(self->fd, buf, sizeof(buf));
		return n < 0 ? (int)n : 0;
	}
	if (!kt_ops_start(&self->bg, self->fd, NULL, 0, 0))
		return -EAGAIN;
	return kt_wait_blocked(self->fd, 0, 1, KT_TIMEOUT_MS);
}

/* Fill a buffered channel; nothing to do for a rendezvous one. */
static int fill(int fd, unsigned int capacity)
{
	unsigned int i;
	ssize_t n;

	for (i = 0; i < capacity; i++) {
		n = kt_send(fd, "fill", 4);
		if (n != 4)
			return n < 0 ? (int)n : -EIO;
	}
	return 0;
}

TEST_F(chan, empty_open_channel_is_not_readable)
{
	short r = kt_ready_now(self->fd);

	ASSERT_GE(r, 0);
	EXPECT_EQ(0, r & POLLIN);
	EXPECT_EQ(0, r & POLLHUP);
	EXPECT_EQ(0, r & POLLERR);
}

TEST_F(chan, readable_when_a_receive_would_not_block)
{
	char buf[MSG_MAX];

	ASSERT_EQ(0, kt_ops_offer(&self->bg, self->fd, variant->capacity, "hello"));
	ASSERT_NE(0, kt_ready_now(self->fd) & POLLIN);
	/* And the receive indeed does not block. */
	ASSERT_EQ(5, kt_recv(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "hello", 5));
}

TEST_F(chan, not_readable_once_drained)
{
	char buf[MSG_MAX];

	ASSERT_EQ(0, kt_ops_offer(&self->bg, self->fd, variant->capacity, "x"));
	ASSERT_EQ(1, kt_recv(self->fd, buf, sizeof(buf)));
	if (self->bg.n) {
		ASSERT_EQ(0, kt_op_wait(&self->bg.op[0], KT_TIMEOUT_MS));
	}
	ASSERT_EQ(0, kt_ready_now(self->fd) & POLLIN);
}

TEST_F(chan, readable_when_closed)
{
	ASSERT_EQ(0, kchan_close(self->fd));
	ASSERT_NE(0, kt_ready_now(self->fd) & POLLIN);
}

TEST_F(chan, writable_when_a_send_would_not_block)
{
	/* Buffered: an empty buffer has room. Rendezvous: park a receiver. */
	if (!variant->capacity) {
		ASSERT_EQ(0, offer_room(self, variant));
	}
	ASSERT_NE(0, kt_ready_now(self->fd) & POLLOUT);
	ASSERT_EQ(2, kt_send(self->fd, "ok", 2));
}

TEST_F(chan, not_writable_when_a_send_would_block)
{
	/* Buffered: full. Rendezvous: nobody receiving. */
	ASSERT_EQ(0, fill(self->fd, variant->capacity));
	ASSERT_EQ(0, kt_ready_now(self->fd) & POLLOUT);
}

TEST_F(chan, writable_when_closed)
{
	ASSERT_EQ(0, fill(self->fd, variant->capacity));
	ASSERT_EQ(0, kchan_close(self->fd));
	ASSERT_NE(0, kt_ready_now(self->fd) & POLLOUT);
}

TEST_F(chan, hangup_once_closed)
{
	/* A buffered channel still holding a message hangs up all the same. */
	if (variant->capacity) {
		ASSERT_EQ(4, kt_send(self->fd, "left", 4));
	}
	ASSERT_EQ(0, kt_ready_now(self->fd) & POLLHUP);
	ASSERT_EQ(0, kchan_close(self->fd));
	ASSERT_NE(0, kt_ready_now(self->fd) & POLLHUP);
}

TEST_F(chan, error_on_write_capable_fd_once_closed)
{
	ASSERT_EQ(0, kt_ready_now(self->fd) & POLLERR);
	ASSERT_EQ(0, kchan_close(self->fd));
	ASSERT_NE(0, kt_ready_now(self->fd) & POLLERR);
}

TEST_F(chan, no_error_on_read_only_fd_of_closed_channel)
{
	char path[128];
	int rd, wr, ret;
	short r;

	kt_name(self->name, sizeof(self->name), "pollro");
	ret = kchan_create(self->name, variant->capacity, MSG_MAX, 0, 0);
	ASSERT_EQ(0, ret) TH_LOG("create %s: %s", self->name, strerror(-ret));
	snprintf(path, sizeof(path), "/dev/chan/%s", self->name);
	rd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(rd, 0);
	wr = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_GE(wr, 0);

	ASSERT_EQ(0, kchan_close(wr));

	r = kt_ready_now(rd);
	EXPECT_NE(0, r & POLLIN);
	EXPECT_NE(0, r & POLLHUP);
	EXPECT_EQ(0, r & POLLERR);
	r = kt_ready_now(wr);
	EXPECT_NE(0, r & POLLHUP);
	EXPECT_NE(0, r & POLLERR);
	close(rd);
	close(wr);
}

struct waker {
	pthread_t thread;
	int fd;
	pid_t sleeper;		/* act once this thread sleeps */
	long sleeper_nr;	/* in this system call */
	bool send;		/* send a message, else receive one */
	long long acted_ms;
	volatile int slept;	/* 1: saw the sleeper asleep; -1: never */
	volatile ssize_t ret;
};

static void *waker_main(void *arg)
{
	struct waker *w = arg;
	char buf[MSG_MAX];

	if (kt_wait_sleeping_in(w->sleeper, w->sleeper_nr, KT_TIMEOUT_MS)) {
		w->slept = -1;
		return NULL;
	}
	w->slept = 1;
	w->acted_ms = kt_now_ms();
	if (w->send)
		w->ret = kt_send(w->fd, "wake", 4);
	else
		w->ret = kt_recv(w->fd, buf, sizeof(buf));
	return NULL;
}

/* Send or receive on @fd once the caller sleeps in system call @nr. */
static int waker_start(struct waker *w, int fd, bool send, long nr)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->sleeper = kt_gettid();
	w->sleeper_nr = nr;
	w->send = send;
	w->ret = -EINPROGRESS;
	return -pthread_create(&w->thread, NULL, waker_main, w);
}

/*
 * Polls @fd for @events while a waker sends (@waker_sends) or receives
 * once this thread sleeps in poll(); if poll() says ready and @answer,
 * does the other side of the waker's call, which a rendezvous partner
 * waits for. The poller must have been woken, not merely found ready
 * when the timeout ran out.
 */
static void expect_poll_woken(struct __test_metadata *_metadata, int fd,
			      short events, bool waker_sends, bool answer)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long took_ms;
	struct waker w;
	char buf[MSG_MAX];
	int n;

	ASSERT_EQ(0, waker_start(&w, fd, waker_sends, SYS_poll));
	took_ms = kt_now_ms();
	n = poll(&p, 1, POLL_TIMEOUT_MS);
	took_ms = kt_now_ms() - took_ms;
	if (n == 1 && answer) {
		if (waker_sends) {
			ASSERT_EQ(4, kt_recv(fd, buf, sizeof(buf)));
		} else {
			ASSERT_EQ(4, kt_send(fd, "take", 4));
		}
	}
	kchan_close(fd);
	pthread_join(w.thread, NULL);
	ASSERT_EQ(1, w.slept);
	ASSERT_LT(took_ms, KT_TIMEOUT_MS);
	ASSERT_EQ(1, n);
	ASSERT_NE(0, p.revents & events);
	ASSERT_EQ(4, w.ret);
}

TEST_F(chan, sleeping_poller_woken_by_send_from_another_thread)
{
	/* Take the message: a rendezvous sender waits for that. */
	expect_poll_woken(_metadata, self->fd, POLLIN, true, true);
}

TEST_F(chan, sleeping_poller_woken_when_a_send_becomes_possible)
{
	/* Buffered: the waker frees a slot. Rendezvous: it starts receiving. */
	ASSERT_EQ(0, fill(self->fd, variant->capacity));
	expect_poll_woken(_metadata, self->fd, POLLOUT, false,
			  variant->capacity == 0);
}

TEST_F(chan, edge_triggered_epollin_once_per_transition)
{
	struct epoll_event ev;
	char buf[MSG_MAX];
	int ep, i, events = 0;

	ep = kt_epoll_for(self->fd, EPOLLIN | EPOLLET);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));

	for (i = 0; i < NR_CYCLES; i++) {
		struct kt_op *bg = NULL;

		/* Rendezvous reuses one background slot per cycle. */
		if (variant->capacity) {
			ASSERT_EQ(1, kt_send(self->fd, "e", 1));
		} else {
			bg = kt_ops_start(&self->bg, self->fd, "e", 0, 0);
			ASSERT_NE(NULL, bg);
			ASSERT_EQ(0, kt_wait_blocked(self->fd, 1, 0, KT_TIMEOUT_MS));
		}
		ASSERT_EQ(1, epoll_wait(ep, &ev, 1, KT_TIMEOUT_MS))
			TH_LOG("no EPOLLIN edge in cycle %d", i);
		ASSERT_NE(0U, ev.events & EPOLLIN);
		events++;
		/* No new transition, no new event. */
		ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));
		ASSERT_EQ(1, kt_recv(self->fd, buf, sizeof(buf)));
		if (bg) {
			ASSERT_EQ(0, kt_op_wait(bg, KT_TIMEOUT_MS));
		}
		kt_ops_wait_all(&self->bg);
		ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	}
	ASSERT_EQ(NR_CYCLES, events);
	close(ep);
}

TEST_F(chan, edge_triggered_epollout_once_per_transition)
{
	struct epoll_event ev;
	int ep, i, events = 0;

	ASSERT_EQ(0, fill(self->fd, variant->capacity));
	ep = kt_epoll_for(self->fd, EPOLLOUT | EPOLLET);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));

	for (i = 0; i < NR_CYCLES; i++) {
		ASSERT_EQ(0, offer_room(self, variant));
		ASSERT_EQ(1, epoll_wait(ep, &ev, 1, KT_TIMEOUT_MS))
			TH_LOG("no EPOLLOUT edge in cycle %d", i);
		ASSERT_NE(0U, ev.events & EPOLLOUT);
		events++;
		ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));
		/* Use the room up again: full, or the receiver served. */
		ASSERT_EQ(1, kt_send(self->fd, "o", 1));
		if (!variant->capacity) {
			ASSERT_EQ(0, kt_op_wait(&self->bg.op[0], KT_TIMEOUT_MS));
		}
		kt_ops_wait_all(&self->bg);
		ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	}
	ASSERT_EQ(NR_CYCLES, events);
	close(ep);
}

/*
 * Keyed wake-ups. A wake-up that epoll filters out by its key never
 * reaches the sleeping thread; an unkeyed one wakes it only for epoll to
 * find nothing and sleep again. So epoll_wait returns 0 either way, and
 * the difference shows in the sleeper's voluntary context switches: one
 * for the whole sleep, or more.
 */
struct unkeyed_probe {
	long long end_ms, acted_ms;
	long switches;
	int n;
};

static void wait_out_other_side(struct __test_metadata *_metadata, int fd,
				unsigned int events, bool send,
				struct unkeyed_probe *probe)
{
	struct epoll_event ev;
	struct waker w;
	long before;
	int ep;

	ep = kt_epoll_for(fd, events);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, waker_start(&w, fd, send, SYS_epoll_wait));
	before = my_nvcsw();
	/* Long enough for the waker to see us asleep and act, even when slow. */
	probe->n = epoll_wait(ep, &ev, 1, 3000);
	probe->switches = my_nvcsw() - before;
	probe->end_ms = kt_now_ms();
	/* The waker is blocked in its send or receive: release it. */
	ASSERT_EQ(0, kchan_close(fd));
	pthread_join(w.thread, NULL);
	probe->acted_ms = w.acted_ms;
	close(ep);
	ASSERT_EQ(1, w.slept);
}

/* Keyed wake-ups can only be told apart on a rendezvous channel. */
FIXTURE(rendezvous) {
	int fd;
};

FIXTURE_SETUP(rendezvous)
{
	self->fd = kchan_make(0, MSG_MAX, 0);
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(rendezvous)
{
	close(self->fd);
}

/*
 * The other side arrives while this thread sleeps in epoll_wait for
 * @events, which it cannot make true: the sleep is one context switch.
 */
static void expect_sleep_unbroken(struct __test_metadata *_metadata, int fd,
				  unsigned int events, bool send)
{
	struct unkeyed_probe probe;

	wait_out_other_side(_metadata, fd, events, send, &probe);
	ASSERT_LT(probe.acted_ms, probe.end_ms);
	EXPECT_EQ(0, probe.n);
	EXPECT_EQ(1, probe.switches)
		TH_LOG("an %s sleeper was woken %ld times by a %s",
		       events == EPOLLOUT ? "EPOLLOUT" : "EPOLLIN",
		       probe.switches - 1, send ? "sender" : "receiver");
}

TEST_F(rendezvous, epollout_waiter_not_woken_by_message_arrival)
{
	expect_sleep_unbroken(_metadata, self->fd, EPOLLOUT, true);
}

TEST_F(rendezvous, epollin_waiter_not_woken_by_receiver_arrival)
{
	expect_sleep_unbroken(_metadata, self->fd, EPOLLIN, false);
}

struct ex_waiter {
	pthread_t thread;
	int fd;
	int ep;
	volatile pid_t tid;
	volatile int n;
	volatile int done;
};

static void *ex_waiter_main(void *arg)
{
	struct ex_waiter *w = arg;
	struct epoll_event ev;

	w->tid = kt_gettid();
	w->n = epoll_wait(w->ep, &ev, 1, 10000);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int count_done_ex(struct ex_waiter *w, int nr)
{
	int i, done = 0;

	for (i = 0; i < nr; i++)
		done += __atomic_load_n(&w[i].done, __ATOMIC_ACQUIRE) &&
			w[i].n > 0;
	return done;
}

/*
 * NR_WAITERS threads, each asleep in epoll_wait on its own epoll instance
 * holding the channel with EPOLLEXCLUSIVE | @events.
 */
static void ex_waiters_start(struct __test_metadata *_metadata, int fd,
			     struct ex_waiter *w, unsigned int events)
{
	int i;

	for (i = 0; i < NR_WAITERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].fd = fd;
		w[i].ep = kt_epoll_for(fd, events | EPOLLEXCLUSIVE);
		ASSERT_GE(w[i].ep, 0);
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL,
					    ex_waiter_main, &w[i]));
	}
	for (i = 0; i < NR_WAITERS; i++) {
		while (!w[i].tid)
			usleep(1000);
		ASSERT_EQ(0, kt_wait_sleeping_in(w[i].tid, SYS_epoll_wait,
						 KT_TIMEOUT_MS));
	}
	ASSERT_EQ(0, count_done_ex(w, NR_WAITERS));
}

/*
 * How many waiters returned: once the first has (however slow the machine),
 * and SETTLE_MS later, time enough for any wrongly woken one to return.
 */
static int ex_waiters_woken(struct ex_waiter *w)
{
	long long deadline = kt_now_ms() + KT_TIMEOUT_MS;

	while (!count_done_ex(w, NR_WAITERS) && kt_now_ms() < deadline)
		usleep(1000);
	kt_sleep_ms(SETTLE_MS);
	return count_done_ex(w, NR_WAITERS);
}

/* Close the channel, which must wake every waiter, and collect them. */
static void ex_waiters_finish(int fd, struct ex_waiter *w)
{
	int i;

	kchan_close(fd);
	for (i = 0; i < NR_WAITERS; i++) {
		pthread_join(w[i].thread, NULL);
		close(w[i].ep);
	}
}

/*
 * Sixteen exclusive waiters for @events, then what makes it true once: one
 * message for EPOLLIN, one free slot or one receiver for EPOLLOUT. Returns
 * how many waiters woke.
 */
static int ex_waiters_woken_by_one(struct __test_metadata *_metadata,
				   FIXTURE_DATA(chan) *self,
				   const FIXTURE_VARIANT(chan) *variant,
				   unsigned int events)
{
	struct ex_waiter w[NR_WAITERS];
	int woken;

	ex_waiters_start(_metadata, self->fd, w, events);
	if (events == EPOLLIN) {
		ASSERT_EQ(0, kt_ops_offer(&self->bg, self->fd,
					  variant->capacity, "one"));
	} else {
		ASSERT_EQ(0, offer_room(self, variant));
	}
	woken = ex_waiters_woken(w);
	ex_waiters_finish(self->fd, w);
	return woken;
}

/*
 * One message, sixteen EPOLLEXCLUSIVE epoll instances each with a thread
 * asleep in epoll_wait: a keyed wake-up of one exclusive waiter reaches
 * exactly one of them (fs/eventpoll.c ep_poll_callback), where a
 * wake-all would return from all sixteen.
 */
TEST_F(chan, exclusive_epoll_waiters_woken_one_per_message)
{
	int woken = ex_waiters_woken_by_one(_metadata, self, variant, EPOLLIN);

	ASSERT_EQ(1, woken) TH_LOG("%d exclusive waiters woke for one message",
				   woken);
}

/* The same on the sending side: one free slot or one receiver, one waiter. */
TEST_F(chan, exclusive_epoll_waiters_woken_one_per_send_made_possible)
{
	int woken;

	ASSERT_EQ(0, fill(self->fd, variant->capacity));
	woken = ex_waiters_woken_by_one(_metadata, self, variant, EPOLLOUT);
	ASSERT_EQ(1, woken) TH_LOG("%d exclusive waiters woke for one slot",
				   woken);
}

/* Close is for everyone: no exclusive waiter may be left asleep. */
TEST_F(chan, close_wakes_every_exclusive_epoll_waiter)
{
	struct ex_waiter w[NR_WAITERS];
	long long deadline;
	int i, woken;

	ex_waiters_start(_metadata, self->fd, w, EPOLLIN);
	ASSERT_EQ(0, kchan_close(self->fd));
	deadline = kt_now_ms() + KT_TIMEOUT_MS;
	while ((woken = count_done_ex(w, NR_WAITERS)) < NR_WAITERS &&
	       kt_now_ms() < deadline)
		usleep(2000);
	ex_waiters_finish(self->fd, w);
	ASSERT_EQ(NR_WAITERS, woken);
	for (i = 0; i < NR_WAITERS; i++)
		EXPECT_EQ(1, w[i].n);
}

TEST_F(chan, sleeping_poller_woken_by_close)
{
	struct pollfd p = { .fd = self->fd, .events = POLLIN };
	struct kt_op closer;
	long long took_ms;
	int n;

	/* Close the channel once this thread sleeps in poll(). */
	kt_op_init(&closer, self->fd, KT_CLOSE, NULL, 0);
	ASSERT_EQ(0, kt_op_start_after(&closer, kt_gettid(), SYS_poll));
	took_ms = kt_now_ms();
	n = poll(&p, 1, POLL_TIMEOUT_MS);
	took_ms = kt_now_ms() - took_ms;
	ASSERT_EQ(0, kt_op_result(&closer));
	ASSERT_LT(took_ms, KT_TIMEOUT_MS);
	ASSERT_EQ(1, n);
	ASSERT_NE(0, p.revents & POLLHUP);
	ASSERT_NE(0, p.revents & POLLIN);
}

TEST_F(chan, edge_triggered_event_on_close)
{
	struct epoll_event ev;
	int ep;

	ep = kt_epoll_for(self->fd, EPOLLIN | EPOLLET);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	ASSERT_EQ(0, kchan_close(self->fd));
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, KT_TIMEOUT_MS));
	ASSERT_NE(0U, ev.events & EPOLLHUP);
	ASSERT_NE(0U, ev.events & EPOLLIN);
	close(ep);
}

static bool any_bg_done(struct kt_op *r, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (kt_op_done(&r[i]))
			return true;
	return false;
}

/*
 * Sixteen receivers asleep in read(), one message: exactly one returns,
 * and none of the others was woken only to go back to sleep (its
 * voluntary context switch count did not move).
 */
TEST_F(chan, blocked_receivers_woken_one_per_message)
{
	struct kt_op r[NR_WAITERS];
	long switches[NR_WAITERS];
	int i, returned = 0, disturbed = 0, winner = -1;
	long long deadline;

	for (i = 0; i < NR_WAITERS; i++) {
		ASSERT_EQ(0, kt_op_recv(&r[i], self->fd, NULL, MSG_MAX));
	}
	ASSERT_EQ(0, kt_wait_blocked(self->fd, 0, NR_WAITERS, KT_TIMEOUT_MS));
	for (i = 0; i < NR_WAITERS; i++) {
		ASSERT_EQ(0, kt_wait_sleeping_in(r[i].tid, SYS_read, KT_TIMEOUT_MS));
		switches[i] = kt_task_nvcsw(r[i].tid);
		ASSERT_GE(switches[i], 0);
	}

	ASSERT_EQ(3, kt_send(self->fd, "one", 3));
	/* Once the first has returned (a slow machine may take a while). */
	deadline = kt_now_ms() + KT_TIMEOUT_MS;
	while (!any_bg_done(r, NR_WAITERS) && kt_now_ms() < deadline)
		usleep(1000);
	kt_sleep_ms(SETTLE_MS);
	for (i = 0; i < NR_WAITERS; i++) {
		if (kt_op_done(&r[i])) {
			returned++;
			winner = i;
		} else if (kt_task_nvcsw(r[i].tid) != switches[i]) {
			disturbed++;
		}
	}

	kchan_close(self->fd);
	for (i = 0; i < NR_WAITERS; i++)
		kt_op_wait(&r[i], KT_TIMEOUT_MS);
	ASSERT_EQ(1, returned);
	ASSERT_EQ(3, r[winner].ret);
	ASSERT_EQ(0, memcmp(r[winner].buf, "one", 3));
	EXPECT_EQ(0, disturbed) TH_LOG("%d idle receivers were woken", disturbed);
	/* The others saw the close as end of file. */
	for (i = 0; i < NR_WAITERS; i++)
		if (i != winner) {
			EXPECT_EQ(0, r[i].ret);
		}
}

TEST_HARNESS_MAIN
