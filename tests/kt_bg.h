/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Work in the background, and watching it: one read/write/readv/writev or
 * batch ioctl in a thread (struct kt_op), which may first wait until N
 * senders are blocked or until another thread sleeps in a given system
 * call; the scheduler state of a thread; a thread feeding checked
 * messages; counted signals; a guard that turns a call which should not
 * block into EINTR instead of a hung test; reaping a child in time.
 */
#ifndef KT_BG_H
#define KT_BG_H

#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kt.h"

static inline pid_t kt_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* The scheduler state letter of thread @tid of this process, or 0. */
static inline char kt_task_state(pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	return p[2];
}

/*
 * The system call thread @tid is blocked in, from /proc/self/task/TID/syscall:
 * its number, -1 if the thread is running or not in a call, -2 if the
 * file cannot be read.
 */
static inline long kt_task_syscall(pid_t tid)
{
	char path[64], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -2;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -2;
	buf[n] = '\0';
	if (!isdigit((unsigned char)buf[0]))
		return -1;
	return strtol(buf, NULL, 10);
}

static inline bool kt_task_in(pid_t tid, char state, long nr)
{
	return kt_task_state(tid) == state && kt_task_syscall(tid) == nr;
}

/*
 * Wait until thread @tid is in scheduler state @state ('S': asleep and
 * interruptible, 'D': uninterruptible or killable) inside system call
 * @nr, then a little longer so that it has certainly queued itself on
 * its wait queue. A thread merely sleeping elsewhere (a page fault, the
 * allocator) does not count.
 */
static inline int kt_wait_state_in(pid_t tid, char state, long nr, long ms)
{
	uint64_t deadline = kt_deadline_ns(ms);

	for (;;) {
		if (kt_task_in(tid, state, nr)) {
			kt_sleep_ms(30);
			if (kt_task_in(tid, state, nr))
				return 0;
		}
		if (kt_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* Wait until thread @tid sleeps interruptibly inside system call @nr. */
static inline int kt_wait_sleeping_in(pid_t tid, long nr, long ms)
{
	return kt_wait_state_in(tid, 'S', nr, ms);
}

/*
 * The same for a thread that publishes its id in *@tidp when it starts:
 * first wait for the id.
 */
static inline int kt_wait_tid_sleeping_in(const pid_t *tidp, long nr, long ms)
{
	int ret = kt_poll_until(__atomic_load_n(tidp, __ATOMIC_ACQUIRE), ms,
				1000);

	return ret ? ret :
	       kt_wait_sleeping_in(__atomic_load_n(tidp, __ATOMIC_ACQUIRE),
				   nr, ms);
}

/* voluntary_ctxt_switches of thread @tid, or -1. */
static inline long kt_task_nvcsw(pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	return (long)kt_file_field(path, "voluntary_ctxt_switches: %lld");
}

enum kt_op_kind {
	KT_READ, KT_WRITE, KT_READV, KT_WRITEV, KT_SEND_BATCH, KT_RECV_BATCH,
	KT_POLL, KT_CLOSE, KT_SEL_CANCEL,
};

/*
 * One read/write/readv/writev, batch ioctl, poll(2) for POLLIN (its
 * revents in @revents), Go's close (KCHAN_IOC_CLOSE) or KCHAN_SEL_CANCEL
 * in a background thread. A batch's messages are @buf (struct
 * kchan_mmsg[@len]), a cancel's result goes to @buf. kt_op_send() and
 * kt_op_recv() with a NULL buffer use @data.
 */
struct kt_op {
	/* set by the caller */
	int fd;
	enum kt_op_kind kind;
	void *buf;
	size_t len;
	const struct iovec *iov;
	int iovcnt;
	unsigned int delay_ms;	/* sleep this long before the call */
	unsigned int senders;	/* then wait until this many are blocked */
	pid_t after_tid;	/* then, if set, until this thread sleeps */
	long after_nr;		/* ... in this system call (else: no call) */
	bool stat_before;	/* take @before just before the call */
	char data[256];
	/* results */
	pid_t tid;		/* the thread, once it started */
	int wait_ret;		/* of the wait for @senders: 0 or -errno */
	struct kchan_stat before;
	ssize_t ret;		/* length or -errno */
	short revents;		/* of KT_POLL */
	uint64_t call_ns;	/* CLOCK_MONOTONIC just before the call */
	uint64_t ret_ns;	/* ... and just after it returned */
	atomic_int done;
	bool joined;
	pthread_t thread;
};

static inline ssize_t kt_op_call(struct kt_op *op)
{
	struct kchan_batch b = { .msgs = (uintptr_t)op->buf, .nmsgs = op->len };
	struct pollfd pfd = { .fd = op->fd, .events = POLLIN };
	ssize_t n;

	switch (op->kind) {
	case KT_READ:
		return read(op->fd, op->buf, op->len);
	case KT_WRITE:
		return write(op->fd, op->buf, op->len);
	case KT_READV:
		return readv(op->fd, op->iov, op->iovcnt);
	case KT_WRITEV:
		return writev(op->fd, op->iov, op->iovcnt);
	case KT_SEND_BATCH:
		return ioctl(op->fd, KCHAN_IOC_SEND_BATCH, &b);
	case KT_RECV_BATCH:
		return ioctl(op->fd, KCHAN_IOC_RECV_BATCH, &b);
	case KT_POLL:
		/* poll(2) itself, so that a test can see it sleep in it. */
		n = syscall(SYS_poll, &pfd, 1, 2 * KT_TIMEOUT_MS);
		op->revents = pfd.revents;
		return n;
	case KT_CLOSE:
		return ioctl(op->fd, KCHAN_IOC_CLOSE);
	case KT_SEL_CANCEL:
		return ioctl(op->fd, KCHAN_SEL_CANCEL, op->buf);
	}
	errno = EINVAL;
	return -1;
}

static inline void *kt_op_thread(void *arg)
{
	struct kt_op *op = arg;
	ssize_t n;

	__atomic_store_n(&op->tid, kt_gettid(), __ATOMIC_RELEASE);
	if (op->delay_ms)
		kt_sleep_ms(op->delay_ms);
	if (op->senders)
		op->wait_ret = kt_wait_for(op->fd, senders, op->senders);
	if (op->after_tid && kt_wait_sleeping_in(op->after_tid, op->after_nr,
						 KT_TIMEOUT_MS)) {
		op->ret = -ETIMEDOUT;
		atomic_store(&op->done, 1);
		return NULL;
	}
	if (op->stat_before)
		kt_stat(op->fd, &op->before);
	op->call_ns = kt_now_ns();
	n = kt_op_call(op);
	op->ret_ns = kt_now_ns();
	op->ret = n < 0 ? -errno : n;
	atomic_store(&op->done, 1);
	return NULL;
}

/* Start @op as the caller set it up. */
static inline int kt_op_start(struct kt_op *op)
{
	atomic_store(&op->done, 0);
	op->tid = 0;
	op->ret = -EINPROGRESS;
	op->joined = false;
	return -pthread_create(&op->thread, NULL, kt_op_thread, op);
}

static inline int kt_op_init(struct kt_op *op, int fd, enum kt_op_kind kind,
			     void *buf, size_t len)
{
	memset(op, 0, sizeof(*op));
	op->fd = fd;
	op->kind = kind;
	op->buf = buf ? buf : op->data;
	op->len = buf || len < sizeof(op->data) ? len : sizeof(op->data);
	return 0;
}

/* Start a write of @len bytes of @buf (NULL: of @data, filled by the caller). */
static inline int kt_op_send(struct kt_op *op, int fd, const void *buf,
			     size_t len)
{
	kt_op_init(op, fd, KT_WRITE, (void *)buf, len);
	return kt_op_start(op);
}

/* Start a read of up to @len bytes into @buf (NULL: into @data). */
static inline int kt_op_recv(struct kt_op *op, int fd, void *buf, size_t len)
{
	kt_op_init(op, fd, KT_READ, buf, len);
	return kt_op_start(op);
}

/* Start a batch ioctl (@kind KT_SEND_BATCH or KT_RECV_BATCH) of @n. */
static inline int kt_op_batch(struct kt_op *op, int fd, enum kt_op_kind kind,
			      struct kchan_mmsg *m, unsigned int n)
{
	kt_op_init(op, fd, kind, m, n);
	return kt_op_start(op);
}

/* Start @kind on @fd (a KT_SEL_CANCEL's result to @buf). */
static inline int kt_op_run(struct kt_op *op, int fd, enum kt_op_kind kind,
			    void *buf)
{
	kt_op_init(op, fd, kind, buf, 0);
	return kt_op_start(op);
}

/* Make @op's call only once thread @tid sleeps in system call @nr. */
static inline int kt_op_start_after(struct kt_op *op, pid_t tid, long nr)
{
	op->after_tid = tid;
	op->after_nr = nr;
	return kt_op_start(op);
}

static inline bool kt_op_done(struct kt_op *op)
{
	return atomic_load(&op->done);
}

/*
 * Wait up to @ms for the operation to return, then join the thread.
 * Returns 0, or -ETIMEDOUT (the thread is left running; the test process
 * exits soon after and takes it along).
 */
static inline int kt_op_wait(struct kt_op *op, long ms)
{
	if (op->joined)
		return 0;
	if (kt_poll_until(kt_op_done(op), ms, 1000))
		return -ETIMEDOUT;
	pthread_join(op->thread, NULL);
	op->joined = true;
	return 0;
}

/* Wait for the operation, return its result, or -ETIMEDOUT. */
static inline ssize_t kt_op_result(struct kt_op *op)
{
	if (kt_op_wait(op, KT_TIMEOUT_MS))
		return -ETIMEDOUT;
	return op->ret;
}

/* Wait until the operation's thread sleeps in system call @nr. */
static inline int kt_op_wait_sleeping(struct kt_op *op, long nr)
{
	return kt_wait_tid_sleeping_in(&op->tid, nr, KT_TIMEOUT_MS);
}

/*
 * Fill the buffered channel of @fd with @capacity messages of @len bytes
 * (message i kt_fill()ed with seed i), then start @tx, a sender of one
 * more (seed @capacity, in @tx's @data), and wait until it is blocked.
 */
static inline int kt_op_send_behind_full(struct kt_op *tx, int fd,
					 unsigned int capacity, size_t len)
{
	unsigned char buf[sizeof(tx->data)];
	unsigned int i;
	int ret;

	for (i = 0; i < capacity; i++) {
		kt_fill(buf, len, i);
		if (kt_send(fd, buf, len) != (ssize_t)len)
			return -EIO;
	}
	kt_op_init(tx, fd, KT_WRITE, NULL, len);
	kt_fill(tx->data, len, capacity);
	ret = kt_op_start(tx);
	return ret ? ret : kt_wait_for(fd, senders, 1);
}

/*
 * The background operations of one test, waited for at its teardown
 * (after a close released any still blocked).
 */
#define KT_OPS_MAX	4

struct kt_ops {
	struct kt_op op[KT_OPS_MAX];
	int n;
};

/*
 * Start the next operation of @ops on @fd: a send of the string @msg, or
 * with @msg NULL a receive into its @data; if @after is not 0, only once
 * thread @after sleeps in system call @nr. NULL if none could start.
 */
static inline struct kt_op *kt_ops_start(struct kt_ops *ops, int fd,
					 const char *msg, pid_t after, long nr)
{
	struct kt_op *op = &ops->op[ops->n];

	if (ops->n == KT_OPS_MAX)
		return NULL;
	kt_op_init(op, fd, msg ? KT_WRITE : KT_READ, NULL,
		   msg ? strlen(msg) : sizeof(op->data));
	if (msg)
		memcpy(op->data, msg, op->len);
	if (kt_op_start_after(op, after, nr))
		return NULL;
	ops->n++;
	return op;
}

static inline void kt_ops_wait_all(struct kt_ops *ops)
{
	int i;

	for (i = 0; i < ops->n; i++)
		kt_op_wait(&ops->op[i], KT_TIMEOUT_MS);
	ops->n = 0;
}

/*
 * Make a receive on @fd possible: queue @msg on a buffered channel, or
 * park a sender of it in @ops on a rendezvous one. 0 or -errno.
 */
static inline int kt_ops_offer(struct kt_ops *ops, int fd,
			       unsigned int capacity, const char *msg)
{
	ssize_t n;

	if (capacity) {
		n = kt_send(fd, msg, strlen(msg));
		return n < 0 ? (int)n : 0;
	}
	if (!kt_ops_start(ops, fd, msg, 0, 0))
		return -EAGAIN;
	return kt_wait_blocked(fd, 1, 0, KT_TIMEOUT_MS);
}

#define KT_FEED_MAX	4096

/*
 * A thread that sends @n messages in order, message i being @lens[i]
 * bytes of kt_fill(seed0 + i), and stops at the first failure.
 */
struct kt_feeder {
	int fd;
	unsigned int n;
	const size_t *lens;
	unsigned int seed0;
	atomic_uint sent;	/* sends that returned success */
	ssize_t err;		/* the failing send's result, 0 if none */
	atomic_int done;
	pthread_t thread;
};

static inline void *kt_feeder_thread(void *arg)
{
	static __thread unsigned char buf[KT_FEED_MAX];
	struct kt_feeder *f = arg;
	unsigned int i;
	ssize_t n;

	for (i = 0; i < f->n; i++) {
		kt_fill(buf, f->lens[i], f->seed0 + i);
		n = kt_send(f->fd, buf, f->lens[i]);
		if (n != (ssize_t)f->lens[i]) {
			f->err = n < 0 ? n : -EIO;
			break;
		}
		atomic_fetch_add(&f->sent, 1);
	}
	atomic_store(&f->done, 1);
	return NULL;
}

static inline int kt_feeder_start(struct kt_feeder *f, int fd, unsigned int n,
				  const size_t *lens, unsigned int seed0)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->n = n;
	f->lens = lens;
	f->seed0 = seed0;
	return -pthread_create(&f->thread, NULL, kt_feeder_thread, f);
}

/* Wait until the feeder has made @sent sends succeed (or stopped). */
static inline int kt_feeder_wait_sent(struct kt_feeder *f, unsigned int sent)
{
	int ret = kt_poll_until(atomic_load(&f->sent) >= sent ||
				atomic_load(&f->done), KT_TIMEOUT_MS, 1000);

	if (ret)
		return ret;
	return atomic_load(&f->sent) >= sent ? 0 : -EIO;
}

/* Wait for the feeder to finish: 0 if every send succeeded. */
static inline int kt_feeder_finish(struct kt_feeder *f)
{
	if (kt_poll_until(atomic_load(&f->done), KT_TIMEOUT_MS, 1000))
		return -ETIMEDOUT;
	pthread_join(f->thread, NULL);
	return f->err ? (int)f->err : 0;
}

/* Signals a kt_catch() handler has run for, in this process. */
static atomic_uint kt_signals_handled;

static inline void kt_count_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&kt_signals_handled, 1);
}

/*
 * Handle @sig by counting it (kt_signals_handled); with @restart under
 * SA_RESTART, else interrupted calls fail with EINTR. 0 or -errno.
 */
static inline int kt_catch(int sig, bool restart)
{
	struct sigaction sa = { .sa_handler = kt_count_signal };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	return sigaction(sig, &sa, NULL) ? -errno : 0;
}

/* Wait until more than @seen signals were handled: 0 or -ETIMEDOUT. */
static inline int kt_wait_signals(unsigned int seen)
{
	return kt_poll_until(atomic_load(&kt_signals_handled) > seen,
			     KT_TIMEOUT_MS, 1000);
}

/*
 * Guard: a timer that sends SIGUSR2 to the calling thread after @ms,
 * with a handler installed without SA_RESTART, so that a call which
 * should have returned at once fails with EINTR instead of hanging the
 * test until the harness timeout.
 */
struct kt_guard {
	timer_t timer;
	bool armed;
};

static inline void kt_guard_handler(int sig)
{
	(void)sig;
}

static inline int kt_guard_start(struct kt_guard *g, unsigned int ms)
{
	struct sigaction sa = { .sa_handler = kt_guard_handler };
	struct itimerspec its = {
		.it_value = {
			.tv_sec = ms / 1000,
			.tv_nsec = (long)(ms % 1000) * 1000000,
		},
	};
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGUSR2,
	};

	sev._sigev_un._tid = kt_gettid();
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL))
		return -errno;
	if (timer_create(CLOCK_MONOTONIC, &sev, &g->timer))
		return -errno;
	if (timer_settime(g->timer, 0, &its, NULL)) {
		timer_delete(g->timer);
		return -errno;
	}
	g->armed = true;
	return 0;
}

static inline void kt_guard_stop(struct kt_guard *g)
{
	if (g->armed)
		timer_delete(g->timer);
	g->armed = false;
}

/*
 * A child process that sends @len bytes of @msg on @fd and exits 0 once
 * the whole message went (1 if not), killed if the test dies first: its
 * pid, or -errno.
 */
static inline pid_t kt_fork_send(int fd, const void *msg, size_t len)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(kt_send(fd, msg, len) == (ssize_t)len ? 0 : 1);
	}
	return pid < 0 ? -errno : pid;
}

/* waitpid() with a deadline: 0 once @pid is reaped, -ETIMEDOUT if not. */
static inline int kt_reap_within(pid_t pid, long ms, int *status)
{
	uint64_t deadline = kt_deadline_ns(ms);

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0)
			return -errno;
		if (kt_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

#endif /* KT_BG_H */
