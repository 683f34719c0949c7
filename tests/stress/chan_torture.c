// SPDX-License-Identifier: GPL-2.0
/*
 * Torture: sender and receiver processes (or processes of several threads)
 * on one channel, rendezvous or buffered, while a chaos loop
 *  - sends them random signals, caught by handlers installed with and
 *    without SA_RESTART (each process has its own setting),
 *  - stops and continues them (SIGSTOP/SIGCONT),
 *  - SIGKILLs whole sender and receiver processes in the middle of their
 *    work (each is replaced by a new process whose threads take new ids),
 *  - asks the threads that use io_uring to cancel their pending read or
 *    write (io_uring_prep_cancel).
 * The other threads send and receive with write() and read(), or a batch
 * of up to BATCH_MSGS messages at a time (KCHAN_IOC_SEND_BATCH and
 * KCHAN_IOC_RECV_BATCH), chosen at random for each call.
 * Then the channel is closed and drained, and every message is accounted
 * for.
 *
 * Every message is tagged (sender id, sequence, attempt). A sender retries
 * a failed send (EINTR, ECANCELED) with the same sequence and the next
 * attempt number, and records in shared memory, after the call returned,
 * which attempt of each sequence succeeded, and before each call which
 * sequences are in flight: one, or a batch's, all tagged with the same
 * attempt. A batch that stops part-way sent a prefix of its messages: the
 * rest is retried with the next attempt number. Receivers read straight
 * into a shared log, so messages taken by a receiver that is killed just
 * afterwards are still seen. The checks:
 *  - a recorded success is received exactly once, and it is the attempt
 *    that succeeded;
 *  - a failed attempt is never received, nor anything never sent;
 *  - messages whose outcome was never recorded (their sender was killed
 *    during or just after the call) are received at most once, and of a
 *    killed batch only a prefix: any number of its messages, from the
 *    first on, and none after one that was not delivered;
 *  - one receiver gets each sender's messages in increasing sequence;
 *  - the channel's own counters agree with the logs;
 *  - once the chaos stops, the workers get on with their work (a lost
 *    wake-up would otherwise hide behind the final close), and io_uring
 *    never parked a request on an io-wq thread;
 *  - the chaos happened: kills on both sides, EINTRs, cancellations, and
 *    no EINTR ever reached a process whose handlers all have SA_RESTART.
 * Two last tests make the rarest events of the storm happen on purpose: a
 * rendezvous sender, and a batch sender in the middle of its batch, killed
 * while a message is being copied out.
 *
 * Environment:
 *   KCHAN_TORTURE_SECS  seconds of chaos per variant (default 3, for CI);
 *                       the harness timeout grows to match, so
 *                       KCHAN_TORTURE_SECS=600 build/tests/stress/chan_torture
 *                       is a ten-minute run of each variant. On a slow
 *                       kernel the chaos goes on (up to 20 s more) until
 *                       each kind of event happened a few times.
 *   KCHAN_TORTURE_SEED  seed of the chaos (default: from the clock); the
 *                       seed in use is printed with the summary.
 * Options:
 *   --messages N        the long run: the chaos of each variant goes on
 *                       until N messages were sent (not in CI:
 *                       --messages 1000000 takes a while in the VM)
 *   --variant NAME      run only that variant (e.g. buffered_threads)
 * Each variant prints a one-line summary of what happened.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kt.h"
#include "kt_bg.h"
#include "kt_fault.h"
#include "kt_fixture.h"

#define TAG_SIZE	16		/* sizeof(struct tag) */
#define MSG_MAX		32		/* tag + up to 16 bytes of payload */
#define SLOT_SIZE	MSG_MAX		/* one receive in a receiver's log */
#define CAPACITY	4
#define MAX_THREADS	3		/* per worker process */
#define MAX_PROCS	8		/* worker processes alive at once */
#define MAX_IDS		8192		/* sender ids, and receiver ids, per run */
#define KILL_RESERVE	64		/* ids kept for replacing retired workers */
#define SEQ_MAX		4096		/* sends of one sender id: it retires */
#define LOG_MAX		4096		/* receives of one receiver id: it retires */
#define DEFAULT_SECS	3
/*
 * On a slow kernel (debug options under emulation) a few seconds hold
 * little chaos: it goes on until each kind of event happened a few times,
 * for at most this much longer.
 */
#define EXTRA_SECS	20
#define MIN_KILLS	2		/* of each side */
#define MIN_STOPS	2
#define MIN_SIGNALS	40
#define MIN_CANCEL_REQS	10
#define MIN_SENT	200
#define BATCH_MSGS	8		/* most messages of one batch call */
/*
 * Kills wait for this many sends since the last one: on a slow kernel the
 * replacements would otherwise spend the whole run starting up.
 */
#define SENT_PER_KILL	10
#define EXIT_WAIT_MS	20000		/* for the workers once closed */
#define QUIET_MS	10000		/* for the workers to progress, after */
#define WORKER_NICE	5
#define URING_POLL_NS	2000000		/* io_uring waits look for cancel requests */
#define CANCEL_BIT	(1ull << 63)	/* user_data of a cancel request */

struct tag {
	uint32_t sender;
	uint32_t seq;
	uint32_t attempt;
	uint32_t check;
};

/* Signal handlers of a worker process. */
enum handler_style {
	H_EINTR,	/* no SA_RESTART: blocked calls fail with EINTR */
	H_RESTART,	/* SA_RESTART everywhere: no EINTR may surface */
	H_MIXED,	/* SA_RESTART on SIGUSR1 only */
	NR_STYLES,
};

static const char *const style_name[NR_STYLES] = {
	"eintr", "restart", "mixed",
};

/*
 * What a sender has in flight, in one word (a SIGKILL may come between
 * any two stores): the sequence of its first message, how many messages
 * the call in flight sends (0 between calls) and their attempt number.
 */
#define INFLIGHT_N_SHIFT	24
#define INFLIGHT_ATT_MASK	((1u << INFLIGHT_N_SHIFT) - 1)

static uint64_t inflight_of(uint32_t seq, uint32_t n, uint32_t attempt)
{
	return (uint64_t)seq << 32 | (uint64_t)n << INFLIGHT_N_SHIFT |
	       (attempt & INFLIGHT_ATT_MASK);
}

static uint32_t inflight_seq(uint64_t f)
{
	return f >> 32;
}

static uint32_t inflight_n(uint64_t f)
{
	return (uint32_t)f >> INFLIGHT_N_SHIFT;
}

static uint32_t inflight_att(uint64_t f)
{
	return (uint32_t)f & INFLIGHT_ATT_MASK;
}

/* One sender or receiver id: written by its thread, read after it died. */
struct worker_rec {
	/* sender: inflight_of() the call in flight, or of the next one */
	_Atomic uint64_t inflight;
	/* receiver: messages in its log */
	_Atomic uint32_t logged;
	/* receiver: log slots the call in flight may fill, from @logged */
	_Atomic uint32_t want;
	_Atomic int32_t tid;
	_Atomic uint32_t cancel_req;	/* bumped by the chaos loop */
	_Atomic uint32_t finished;	/* the thread returned by itself */
	/* set by the supervisor */
	uint32_t uring;
	uint32_t style;
	uint32_t killed;		/* its process was SIGKILLed */
	uint32_t pad;
	/* results, kept up to date by the thread */
	int32_t err;			/* unexpected errno, 0 if none */
	int32_t err_op;			/* the result that was unexpected */
	uint64_t ok;
	uint64_t eintr;
	uint64_t ecanceled;
	uint64_t epipe;
	uint64_t cancels;		/* cancel requests submitted */
	uint64_t cancel_found;		/* ... that found their request */
	uint64_t leftover;		/* failed receive that wrote the buffer */
	uint64_t batches;		/* batch calls that moved messages */
	uint64_t partial;		/* sends of them that stopped short */
};

/* struct shared.pause: blocking workers that start no new call. */
#define PAUSE_BLOCKING_SND	(1u << 0)
#define PAUSE_BLOCKING_RCV	(1u << 1)

struct shared {
	_Atomic uint32_t stop;		/* senders: no new sequence */
	_Atomic uint32_t pause;		/* PAUSE_* */
	struct worker_rec snd[MAX_IDS];
	struct worker_rec rcv[MAX_IDS];
};

struct proc {
	pid_t pid;			/* 0: none running in this slot */
	bool sender;
	unsigned int slot;
	unsigned int nthreads;
	uint32_t ids[MAX_THREADS];
	unsigned int style;
	bool killed;
	bool stopped;
	uint64_t cont_ns;		/* stopped: SIGCONT at this time */
};

struct torture {
	int fd;
	unsigned int capacity;
	pid_t supervisor;
	struct shared *sh;
	_Atomic uint32_t *results;	/* [sender][seq]: successful attempt + 1 */
	unsigned char *logs;		/* [receiver][n]: SLOT_SIZE bytes each */
	size_t sh_size, results_size, logs_size;

	/* The supervisor's own. */
	struct proc procs[MAX_PROCS];
	unsigned int nprocs;
	unsigned int nr_snd, nr_rcv;	/* ids handed out */
	uint32_t rng;
	bool stopping;
	bool kills_paused;		/* ids ran low */
	bool ids_exhausted;
	unsigned long signals, stops, cancel_reqs, spawned;
	unsigned long kills_snd, kills_rcv, threads_killed;
	unsigned long unexpected_exits;
	unsigned long quiet_ms;		/* until every worker progressed */
	unsigned int owed;		/* workers checked then, both rounds */
};

/* The per-thread state of a worker. */
struct wctx {
	struct torture *t;
	bool sender;
	uint32_t id;
	struct worker_rec *w;
	uint32_t rng;
	bool uring;
	struct io_uring ring;
	uint64_t next_ud;
};

/* What the check found; also the summary. */
struct tally {
	uint64_t recorded;		/* sends recorded as successful */
	uint64_t unrecorded;		/* received, outcome not recorded (killed) */
	uint64_t unrecorded_batch;	/* ... beyond the first of a batch */
	uint64_t batches, partial;	/* batch calls, sends stopped short */
	uint64_t received;		/* messages in the logs */
	uint64_t drained;		/* of which the supervisor drained */
	uint64_t eintr, eintr_restart, ecanceled, epipe, cancels, leftover;
	unsigned int bad_tag, beyond_log, never_sent, failed_delivered;
	unsigned int twice, lost, wrong_attempt, disorder, bad_record;
	unsigned int worker_errors;
};

/* The long run: --messages and --variant. */
static uint64_t target_msgs;
static const char *only_variant;

static const int chaos_signals[] = { SIGUSR1, SIGUSR2, SIGWINCH };
#define NR_CHAOS_SIGNALS (sizeof(chaos_signals) / sizeof(chaos_signals[0]))

static uint32_t tag_check(uint32_t sender, uint32_t seq, uint32_t attempt)
{
	uint32_t h = (sender * 0x9e3779b9u) ^ (seq * 0x85ebca6bu) ^
		     (attempt * 0xc2b2ae35u) ^ 0x6b43a9b5u;

	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

/* Message length follows from the tag: 16..32 bytes. */
static size_t msg_len(uint32_t check)
{
	return TAG_SIZE + check % (MSG_MAX - TAG_SIZE + 1);
}

static size_t make_msg(unsigned char *buf, uint32_t sender, uint32_t seq,
		       uint32_t attempt)
{
	struct tag t = {
		.sender = sender, .seq = seq, .attempt = attempt,
		.check = tag_check(sender, seq, attempt),
	};
	size_t len = msg_len(t.check);

	memcpy(buf, &t, sizeof(t));
	kt_fill(buf + TAG_SIZE, len - TAG_SIZE, t.check);
	return len;
}

/* A whole slot as a message: tag, payload and zeroes after it. */
static bool valid_slot(const unsigned char *slot, struct tag *t)
{
	size_t len, i;

	memcpy(t, slot, sizeof(*t));
	if (t->check != tag_check(t->sender, t->seq, t->attempt))
		return false;
	len = msg_len(t->check);
	if (!kt_check(slot + TAG_SIZE, len - TAG_SIZE, t->check))
		return false;
	for (i = len; i < SLOT_SIZE; i++)
		if (slot[i])
			return false;
	return true;
}

static bool all_zero(const unsigned char *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

static unsigned char *log_slot(struct torture *t, uint32_t rcv, uint32_t n)
{
	return t->logs + ((size_t)rcv * LOG_MAX + n) * SLOT_SIZE;
}

static _Atomic uint32_t *results_of(struct torture *t, uint32_t snd)
{
	return t->results + (size_t)snd * SEQ_MAX;
}

static uint64_t ms_ns(uint64_t ms)
{
	return ms * 1000000ull;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* ---- workers ---------------------------------------------------------- */

static void on_chaos_signal(int sig)
{
	(void)sig;
}

static int install_handlers(unsigned int style)
{
	struct sigaction sa = { .sa_handler = on_chaos_signal };
	unsigned int i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NR_CHAOS_SIGNALS; i++) {
		bool restart = style == H_RESTART ||
			       (style == H_MIXED && chaos_signals[i] == SIGUSR1);

		sa.sa_flags = restart ? SA_RESTART : 0;
		if (sigaction(chaos_signals[i], &sa, NULL))
			return -errno;
	}
	return 0;
}

static void note_error(struct worker_rec *w, int err, long op_result)
{
	if (!w->err) {
		w->err = err;
		w->err_op = (int32_t)op_result;
	}
}

static void maybe_pause(struct wctx *c)
{
	if (kt_rand(&c->rng) % 16 == 0)
		usleep(kt_rand(&c->rng) % 400);
}

/*
 * One io_uring read or write, waited for with a short timeout so that a
 * cancel request from the chaos loop is seen while the request is
 * pending. Returns the completion's result, or -errno of io_uring itself
 * (also noted as the worker's error).
 */
static ssize_t uring_rw(struct wctx *c, bool write, void *buf, size_t len)
{
	struct __kernel_timespec ts = { .tv_nsec = URING_POLL_NS };
	uint32_t seen_req = atomic_load(&c->w->cancel_req);
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	uint64_t op = ++c->next_ud;
	unsigned int cancels_pending = 0;
	bool op_pending = true;
	ssize_t res = 0;
	int ret;

	sqe = io_uring_get_sqe(&c->ring);
	if (!sqe) {
		note_error(c->w, EBUSY, 0);
		return -EBUSY;
	}
	if (write)
		io_uring_prep_write(sqe, c->t->fd, buf, len, 0);
	else
		io_uring_prep_read(sqe, c->t->fd, buf, len, 0);
	sqe->user_data = op;
	do {
		ret = io_uring_submit(&c->ring);
	} while (ret == -EINTR);
	if (ret != 1) {
		note_error(c->w, ret < 0 ? -ret : EIO, ret);
		return ret < 0 ? ret : -EIO;
	}

	while (op_pending || cancels_pending) {
		ret = io_uring_wait_cqe_timeout(&c->ring, &cqe, &ts);
		if (!ret) {
			if (cqe->user_data == op) {
				res = cqe->res;
				op_pending = false;
			} else {
				cancels_pending--;
				if (cqe->res == 0)
					c->w->cancel_found++;
			}
			io_uring_cqe_seen(&c->ring, cqe);
			continue;
		}
		if (ret != -ETIME && ret != -EINTR) {
			note_error(c->w, -ret, ret);
			return ret;
		}
		if (!op_pending || atomic_load(&c->w->cancel_req) == seen_req)
			continue;
		seen_req = atomic_load(&c->w->cancel_req);
		sqe = io_uring_get_sqe(&c->ring);
		if (!sqe)
			continue;
		io_uring_prep_cancel64(sqe, op, 0);
		sqe->user_data = CANCEL_BIT | op;
		do {
			ret = io_uring_submit(&c->ring);
		} while (ret == -EINTR);
		if (ret == 1) {
			cancels_pending++;
			c->w->cancels++;
		}
	}
	return res;
}

/* Wait while the supervisor holds back this kind of worker. */
static void wait_unpaused(struct wctx *c)
{
	uint32_t bit = c->sender ? PAUSE_BLOCKING_SND : PAUSE_BLOCKING_RCV;

	if (c->uring)
		return;
	while ((atomic_load(&c->t->sh->pause) & bit) &&
	       !(c->sender && atomic_load(&c->t->sh->stop)))
		usleep(1000);
}

/*
 * How many messages the next call of a blocking worker moves: 0 for one
 * read() or write(), else a batch of 1..BATCH_MSGS, at most @room.
 */
static unsigned int batch_size(struct wctx *c, uint32_t room)
{
	unsigned int n;

	if (c->uring || kt_rand(&c->rng) % 2)
		return 0;
	n = 1 + kt_rand(&c->rng) % BATCH_MSGS;
	return n < room ? n : room;
}

/* A batch call: how many messages it moved, 0 at end of file, or -errno. */
static ssize_t batch_call(struct wctx *c, bool send, struct kchan_mmsg *m,
			  unsigned int n)
{
	struct kchan_batch b = { .msgs = (uintptr_t)m, .nmsgs = n };
	int ret;

	ret = ioctl(c->t->fd, send ? KCHAN_IOC_SEND_BATCH :
				     KCHAN_IOC_RECV_BATCH, &b);
	if (ret < 0)
		return -errno;
	if (ret > (int)n) {
		note_error(c->w, ERANGE, ret);
		return -ERANGE;
	}
	if (ret) {
		c->w->batches++;
		/* A receive takes what is ready: only a send stops short. */
		c->w->partial += send && (unsigned int)ret < n;
	}
	return ret;
}

/*
 * Send sequences @seq.. with @attempt: @k of them in a batch, or one with
 * write() or io_uring if @k is 0. Returns how many were sent, or -errno.
 */
static ssize_t send_some(struct wctx *c, uint32_t seq, uint32_t attempt,
			 unsigned int k)
{
	unsigned char buf[BATCH_MSGS][MSG_MAX];
	struct kchan_mmsg m[BATCH_MSGS];
	unsigned int i;
	ssize_t n;
	size_t len;

	if (k) {
		for (i = 0; i < k; i++) {
			m[i] = (struct kchan_mmsg){
				.buf = (uintptr_t)buf[i],
				.len = make_msg(buf[i], c->id, seq + i, attempt),
			};
		}
		return batch_call(c, true, m, k);
	}
	len = make_msg(buf[0], c->id, seq, attempt);
	if (c->uring) {
		n = uring_rw(c, true, buf[0], len);
	} else {
		n = write(c->t->fd, buf[0], len);
		if (n < 0)
			n = -errno;
	}
	if (n == (ssize_t)len)
		return 1;
	if (n >= 0) {
		note_error(c->w, EIO, n);
		return -EIO;
	}
	return n;
}

static void run_sender(struct wctx *c)
{
	_Atomic uint32_t *res = results_of(c->t, c->id);
	struct worker_rec *w = c->w;
	uint32_t seq = 0, attempt = 0, i;
	unsigned int k;
	ssize_t n;

	while (!atomic_load(&c->t->sh->stop) && seq < SEQ_MAX) {
		wait_unpaused(c);
		k = batch_size(c, SEQ_MAX - seq);
		/* In flight from here until their outcome is recorded. */
		atomic_store(&w->inflight, inflight_of(seq, k ?: 1, attempt));
		n = send_some(c, seq, attempt, k);
		if (n > 0) {
			for (i = 0; i < n; i++)
				atomic_store(&res[seq + i], attempt + 1);
			w->ok += n;
			seq += n;
			/* The rest of a batch was tried: a new attempt. */
			attempt = k && n < k ? attempt + 1 : 0;
			atomic_store(&w->inflight, inflight_of(seq, 0, attempt));
			maybe_pause(c);
			continue;
		}
		/* Failed: recorded before the retry, which is a new attempt. */
		attempt++;
		atomic_store(&w->inflight, inflight_of(seq, 0, attempt));
		if (n == -EINTR) {
			w->eintr++;
		} else if (n == -ECANCELED) {
			w->ecanceled++;
		} else if (n == -EPIPE) {
			w->epipe++;
			break;
		} else {
			note_error(w, n < 0 ? (int)-n : EIO, n);
			break;
		}
	}
}

/* The length a receive reported for a log slot, against its tag. */
static void check_len(struct wctx *c, const unsigned char *slot, size_t len)
{
	struct tag t;

	memcpy(&t, slot, sizeof(t));
	if (t.check == tag_check(t.sender, t.seq, t.attempt) &&
	    len != msg_len(t.check))
		note_error(c->w, EBADMSG, (long)len);
}

/*
 * Receive into log slots @n..: @k of them in a batch, or one with read()
 * or io_uring if @k is 0. Returns how many messages came, 0 at end of
 * file, or -errno.
 */
static ssize_t recv_some(struct wctx *c, uint32_t n, unsigned int k)
{
	struct kchan_mmsg m[BATCH_MSGS];
	unsigned char *slot = log_slot(c->t, c->id, n);
	unsigned int i;
	ssize_t ret;

	if (k) {
		for (i = 0; i < k; i++) {
			m[i] = (struct kchan_mmsg){
				.buf = (uintptr_t)log_slot(c->t, c->id, n + i),
				.len = SLOT_SIZE,
			};
		}
		ret = batch_call(c, false, m, k);
		for (i = 0; ret > 0 && i < ret; i++)
			check_len(c, log_slot(c->t, c->id, n + i), m[i].len);
		return ret;
	}
	if (c->uring) {
		ret = uring_rw(c, false, slot, SLOT_SIZE);
	} else {
		ret = read(c->t->fd, slot, SLOT_SIZE);
		if (ret < 0)
			ret = -errno;
	}
	if (ret <= 0)
		return ret;
	check_len(c, slot, ret);
	return 1;
}

static void run_receiver(struct wctx *c)
{
	struct worker_rec *w = c->w;
	uint32_t n = 0;
	unsigned int k, slots;
	unsigned char *slot;
	ssize_t ret;

	while (n < LOG_MAX) {
		wait_unpaused(c);
		k = batch_size(c, LOG_MAX - n);
		slots = k ?: 1;
		slot = log_slot(c->t, c->id, n);
		/* Zero, and present in memory before the kernel copies. */
		memset(slot, 0, (size_t)slots * SLOT_SIZE);
		atomic_store(&w->want, slots);
		ret = recv_some(c, n, k);
		if (ret > 0) {
			n += ret;
			atomic_store(&w->logged, n);
			w->ok += ret;
			maybe_pause(c);
			continue;
		}
		if (ret == 0)
			break;		/* closed and drained */
		if (!all_zero(slot, (size_t)slots * SLOT_SIZE)) {
			w->leftover++;
			memset(slot, 0, (size_t)slots * SLOT_SIZE);
		}
		if (ret == -EINTR) {
			w->eintr++;
		} else if (ret == -ECANCELED) {
			w->ecanceled++;
		} else {
			note_error(w, (int)-ret, ret);
			break;
		}
	}
}

static void *worker_thread(void *arg)
{
	struct wctx *c = arg;
	int ret;

	atomic_store(&c->w->tid, gettid_());
	if (c->uring) {
		ret = io_uring_queue_init(8, &c->ring, 0);
		if (ret) {
			note_error(c->w, -ret, ret);
			atomic_store(&c->w->finished, 1);
			return NULL;
		}
	}
	if (c->sender)
		run_sender(c);
	else
		run_receiver(c);
	if (c->uring)
		io_uring_queue_exit(&c->ring);
	atomic_store(&c->w->finished, 1);
	return NULL;
}

static __attribute__((noreturn)) void worker_process(struct torture *t,
						     const struct proc *p)
{
	struct wctx ctx[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	bool started[MAX_THREADS] = { false };
	sigset_t set;
	unsigned int i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != t->supervisor)
		_exit(0);
	/* Busy workers must not starve the chaos loop of CPU time. */
	errno = 0;
	if (nice(WORKER_NICE) == -1 && errno)
		_exit(3);
	for (i = 0; i < p->nthreads; i++) {
		struct worker_rec *w = p->sender ? &t->sh->snd[p->ids[i]] :
						   &t->sh->rcv[p->ids[i]];

		ctx[i] = (struct wctx){
			.t = t, .sender = p->sender, .id = p->ids[i], .w = w,
			.rng = (p->ids[i] + 1) * 2654435761u ^ (uint32_t)getpid(),
			.uring = w->uring,
		};
	}
	if (install_handlers(p->style))
		_exit(3);
	/* The supervisor forked us with the chaos signals blocked. */
	sigemptyset(&set);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	for (i = 1; i < p->nthreads; i++) {
		started[i] = !pthread_create(&th[i], NULL, worker_thread,
					     &ctx[i]);
		if (!started[i])
			note_error(ctx[i].w, EAGAIN, 0);
	}
	worker_thread(&ctx[0]);
	for (i = 1; i < p->nthreads; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	_exit(0);
}

/* ---- the supervisor --------------------------------------------------- */

FIXTURE(torture) {
	struct torture t;
};

FIXTURE_VARIANT(torture) {
	const char *name;		/* for --variant */
	unsigned int capacity;
	unsigned int snd_procs, rcv_procs;
	unsigned int snd_threads, rcv_threads;	/* per process */
};

FIXTURE_VARIANT_ADD(torture, rendezvous_processes) {
	.name = "rendezvous_processes",
	.capacity = 0,
	.snd_procs = 4, .rcv_procs = 3,
	.snd_threads = 1, .rcv_threads = 1,
};

FIXTURE_VARIANT_ADD(torture, buffered_processes) {
	.name = "buffered_processes",
	.capacity = CAPACITY,
	.snd_procs = 4, .rcv_procs = 3,
	.snd_threads = 1, .rcv_threads = 1,
};

FIXTURE_VARIANT_ADD(torture, rendezvous_threads) {
	.name = "rendezvous_threads",
	.capacity = 0,
	.snd_procs = 2, .rcv_procs = 2,
	.snd_threads = 3, .rcv_threads = 2,
};

FIXTURE_VARIANT_ADD(torture, buffered_threads) {
	.name = "buffered_threads",
	.capacity = CAPACITY,
	.snd_procs = 2, .rcv_procs = 2,
	.snd_threads = 3, .rcv_threads = 2,
};

static void *map_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

FIXTURE_SETUP(torture)
{
	struct torture *t = &self->t;
	sigset_t set;
	unsigned int i;

	t->fd = -1;
	t->sh_size = sizeof(struct shared);
	t->results_size = (size_t)MAX_IDS * SEQ_MAX * sizeof(*t->results);
	t->logs_size = (size_t)MAX_IDS * LOG_MAX * SLOT_SIZE;
	t->sh = map_shared(t->sh_size);
	t->results = map_shared(t->results_size);
	t->logs = map_shared(t->logs_size);
	ASSERT_NE(NULL, t->sh);
	ASSERT_NE(NULL, t->results);
	ASSERT_NE(NULL, t->logs);

	/*
	 * Workers inherit this mask and unblock once their handlers are in
	 * place: a chaos signal must never find the default action.
	 */
	sigemptyset(&set);
	for (i = 0; i < NR_CHAOS_SIGNALS; i++)
		sigaddset(&set, chaos_signals[i]);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));

	t->capacity = variant->capacity;
	t->supervisor = getpid();
	t->fd = kt_chan_setup(_metadata, variant->capacity, MSG_MAX);
}

FIXTURE_TEARDOWN(torture)
{
	struct torture *t = &self->t;
	unsigned int i;

	for (i = 0; i < t->nprocs; i++) {
		if (t->procs[i].pid > 0) {
			kill(t->procs[i].pid, SIGKILL);
			waitpid(t->procs[i].pid, NULL, 0);
		}
	}
	if (t->fd >= 0)
		close(t->fd);
	if (t->logs)
		munmap(t->logs, t->logs_size);
	if (t->results)
		munmap(t->results, t->results_size);
	if (t->sh)
		munmap(t->sh, t->sh_size);
}

static unsigned int chaos_secs(void)
{
	const char *s = getenv("KCHAN_TORTURE_SECS");
	long v = s ? strtol(s, NULL, 10) : 0;

	return v > 0 ? (unsigned int)v : DEFAULT_SECS;
}

static uint32_t chaos_seed(void)
{
	const char *s = getenv("KCHAN_TORTURE_SEED");

	if (s && *s)
		return (uint32_t)strtoul(s, NULL, 0) ?: 1;
	return (uint32_t)(kt_now_ns() ^ (getpid() * 2654435761u)) | 1;
}

/*
 * Which threads use io_uring. On a rendezvous channel two io_uring peers
 * cannot meet (neither is committed), so each process keeps a blocking
 * thread, and slot 0 of each side is all blocking.
 */
static bool uses_uring(const struct proc *p, unsigned int thread)
{
	if (p->nthreads > 1)
		return thread == 1;
	return p->sender ? p->slot >= 2 : p->slot == 1;
}

/* Start the process of slot @idx with fresh ids. */
static int spawn(struct torture *t, unsigned int idx)
{
	struct proc *p = &t->procs[idx];
	unsigned int i;
	pid_t pid;

	for (i = 0; i < p->nthreads; i++) {
		/* The last receiver id is the supervisor's drain. */
		if (p->sender ? t->nr_snd >= MAX_IDS : t->nr_rcv >= MAX_IDS - 1) {
			t->ids_exhausted = true;
			p->pid = 0;
			return -ENOSPC;
		}
	}
	p->style = (p->slot + (p->sender ? 0 : 1) + t->spawned) % NR_STYLES;
	for (i = 0; i < p->nthreads; i++) {
		struct worker_rec *w;

		p->ids[i] = p->sender ? t->nr_snd++ : t->nr_rcv++;
		w = p->sender ? &t->sh->snd[p->ids[i]] : &t->sh->rcv[p->ids[i]];
		memset(w, 0, sizeof(*w));
		w->uring = uses_uring(p, i);
		w->style = p->style;
	}
	p->killed = false;
	p->stopped = false;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		p->pid = 0;
		return -errno;
	}
	if (pid == 0)
		worker_process(t, p);
	p->pid = pid;
	t->spawned++;
	return 0;
}

static struct proc *proc_of(struct torture *t, pid_t pid)
{
	unsigned int i;

	for (i = 0; i < t->nprocs; i++)
		if (t->procs[i].pid == pid)
			return &t->procs[i];
	return NULL;
}

/* Collect dead workers; replace them unless the run is ending. */
static void reap(struct __test_metadata *_metadata, struct torture *t)
{
	struct proc *p;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		p = proc_of(t, pid);
		if (!p)
			continue;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
		    p->killed) {
			/* ours */
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			t->unexpected_exits++;
			TH_LOG("%s process %d ended unexpectedly: status %#x",
			       p->sender ? "sender" : "receiver", pid, status);
		}
		p->pid = 0;
		if (!t->stopping)
			spawn(t, p - t->procs);
	}
}

static struct proc *random_proc(struct torture *t, int want_sender)
{
	unsigned int i, start = kt_rand(&t->rng) % t->nprocs;
	struct proc *p;

	for (i = 0; i < t->nprocs; i++) {
		p = &t->procs[(start + i) % t->nprocs];
		if (p->pid <= 0 || p->killed)
			continue;
		if (want_sender >= 0 && p->sender != want_sender)
			continue;
		return p;
	}
	return NULL;
}

static struct worker_rec *rec_of(struct torture *t, struct proc *p,
				 unsigned int thread)
{
	return p->sender ? &t->sh->snd[p->ids[thread]] :
			   &t->sh->rcv[p->ids[thread]];
}

/*
 * A chaos signal, mostly at one thread that waits in read or write (only
 * those can be interrupted), else at a whole process.
 */
static void chaos_signal(struct torture *t)
{
	struct proc *p = random_proc(t, -1);
	int sig = chaos_signals[kt_rand(&t->rng) % NR_CHAOS_SIGNALS];
	unsigned int i, start;
	pid_t tid = 0;

	if (!p)
		return;
	start = kt_rand(&t->rng) % p->nthreads;
	for (i = 0; i < p->nthreads && kt_rand(&t->rng) % 4; i++) {
		struct worker_rec *w = rec_of(t, p, (start + i) % p->nthreads);

		if (!w->uring) {
			tid = atomic_load(&w->tid);
			break;
		}
	}
	if (tid > 0)
		syscall(SYS_tgkill, p->pid, tid, sig);
	else
		kill(p->pid, sig);
	t->signals++;
}

/* Ask a random io_uring thread to cancel the request it has pending. */
static void chaos_cancel(struct torture *t)
{
	unsigned int i, j, start = kt_rand(&t->rng) % t->nprocs;

	for (i = 0; i < t->nprocs; i++) {
		struct proc *p = &t->procs[(start + i) % t->nprocs];

		if (p->pid <= 0 || p->killed)
			continue;
		for (j = 0; j < p->nthreads; j++) {
			struct worker_rec *w = rec_of(t, p, j);

			if (w->uring) {
				atomic_fetch_add(&w->cancel_req, 1);
				t->cancel_reqs++;
				return;
			}
		}
	}
}

static void chaos_stop(struct torture *t, uint64_t now)
{
	unsigned int i, stopped = 0;
	struct proc *p;

	for (i = 0; i < t->nprocs; i++)
		stopped += t->procs[i].pid > 0 && t->procs[i].stopped;
	if (stopped >= 2)
		return;
	p = random_proc(t, -1);
	if (!p || p->stopped)
		return;
	if (kill(p->pid, SIGSTOP))
		return;
	p->stopped = true;
	p->cont_ns = now + ms_ns(1 + kt_rand(&t->rng) % 25);
	t->stops++;
}

static void chaos_continue(struct torture *t, uint64_t now, bool all)
{
	unsigned int i;

	for (i = 0; i < t->nprocs; i++) {
		struct proc *p = &t->procs[i];

		if (p->pid > 0 && p->stopped && (all || p->cont_ns <= now)) {
			kill(p->pid, SIGCONT);
			p->stopped = false;
		}
	}
}

static void chaos_kill(struct torture *t, bool sender)
{
	struct proc *p;
	unsigned int i;

	/* A very long run stops killing before it runs out of ids. */
	if (t->nr_snd + KILL_RESERVE > MAX_IDS ||
	    t->nr_rcv + KILL_RESERVE > MAX_IDS) {
		t->kills_paused = true;
		return;
	}
	p = random_proc(t, sender);
	if (!p)
		return;
	/* Marked before the kill: the checks trust this mark. */
	p->killed = true;
	for (i = 0; i < p->nthreads; i++)
		rec_of(t, p, i)->killed = 1;
	kill(p->pid, SIGKILL);
	if (sender)
		t->kills_snd++;
	else
		t->kills_rcv++;
	t->threads_killed += p->nthreads;
}

/* What the workers report so far, summed over every id handed out. */
static void live_counts(struct torture *t, uint64_t *ok, uint64_t *eintr,
			uint64_t *ecanceled)
{
	uint32_t i;

	*ok = *eintr = *ecanceled = 0;
	for (i = 0; i < t->nr_snd; i++) {
		*ok += t->sh->snd[i].ok;
		*eintr += t->sh->snd[i].eintr;
		*ecanceled += t->sh->snd[i].ecanceled;
	}
	for (i = 0; i < t->nr_rcv; i++) {
		*eintr += t->sh->rcv[i].eintr;
		*ecanceled += t->sh->rcv[i].ecanceled;
	}
}

static bool chaos_enough(struct torture *t)
{
	uint64_t ok, eintr, ecanceled;

	if (t->kills_snd < MIN_KILLS || t->kills_rcv < MIN_KILLS ||
	    t->stops < MIN_STOPS || t->signals < MIN_SIGNALS ||
	    t->cancel_reqs < MIN_CANCEL_REQS)
		return false;
	live_counts(t, &ok, &eintr, &ecanceled);
	return ok >= MIN_SENT && eintr && ecanceled;
}

/*
 * Chaos until @end_ns, and then until there was enough of it; in the long
 * run, until target_msgs were sent, however long that takes.
 */
static void run_chaos(struct __test_metadata *_metadata, struct torture *t,
		      uint64_t end_ns)
{
	uint64_t now = kt_now_ns(), hard_end = end_ns + ms_ns(EXTRA_SECS * 1000);
	uint64_t next_kill = now + ms_ns(30 + kt_rand(&t->rng) % 100);
	bool kill_sender = kt_rand(&t->rng) % 2;
	uint64_t ok, eintr, ecanceled, ok_at_kill = 0;
	uint32_t r;

	if (target_msgs)
		end_ns = hard_end = UINT64_MAX;
	while ((now = kt_now_ns()) < hard_end) {
		if (now >= end_ns && chaos_enough(t))
			break;
		if (target_msgs && chaos_enough(t)) {
			live_counts(t, &ok, &eintr, &ecanceled);
			if (ok >= target_msgs)
				break;
		}
		reap(_metadata, t);
		chaos_continue(t, now, false);
		r = kt_rand(&t->rng) % 100;
		if (r < 60)
			chaos_signal(t);
		else if (r < 90)
			chaos_cancel(t);
		else if (r < 95 || t->stops < MIN_STOPS)
			chaos_stop(t, now);
		if (now >= next_kill) {
			live_counts(t, &ok, &eintr, &ecanceled);
			if (ok >= ok_at_kill + SENT_PER_KILL) {
				chaos_kill(t, kill_sender);
				kill_sender = !kill_sender;
				ok_at_kill = ok;
			}
			next_kill = now + ms_ns(40 + kt_rand(&t->rng) % 200);
		}
		usleep(50 + kt_rand(&t->rng) % 1000);
	}
}

/*
 * io_uring threads ("iou-wrk") of the live workers: a read or write that
 * io_uring could neither complete inline nor retry from poll was parked on
 * one, which the contract rules out.
 */
static unsigned int io_workers(struct torture *t)
{
	unsigned int i, n = 0;

	for (i = 0; i < t->nprocs; i++) {
		char path[128], comm[32];
		struct dirent *de;
		DIR *d;

		if (t->procs[i].pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task", t->procs[i].pid);
		d = opendir(path);
		while (d && (de = readdir(d))) {
			FILE *f;

			snprintf(path, sizeof(path), "/proc/%d/task/%.20s/comm",
				 t->procs[i].pid, de->d_name);
			f = fopen(path, "re");
			if (!f)
				continue;
			if (fgets(comm, sizeof(comm), f) &&
			    !strncmp(comm, "iou-wrk", 7))
				n++;
			fclose(f);
		}
		if (d)
			closedir(d);
	}
	return n;
}

/* Is thread @j of @p running, or did it return (retired or failed)? */
static bool worker_live(struct torture *t, struct proc *p, unsigned int j)
{
	return p->pid > 0 && !atomic_load(&rec_of(t, p, j)->finished);
}

/* Does @pause hold back a worker of this kind? */
static bool held_back(bool sender, bool uring, uint32_t pause)
{
	if (uring)
		return false;
	return pause == (sender ? PAUSE_BLOCKING_SND : PAUSE_BLOCKING_RCV);
}

/*
 * Is a worker left to serve one of @sender's side that @uring says how it
 * waits, while @pause holds? On a rendezvous channel it must wait the
 * other way: two io_uring peers cannot meet, and blocking ones of both
 * sides are never both let run.
 */
static bool peer_live(struct torture *t, bool sender, bool uring,
		      uint32_t pause)
{
	unsigned int i, j;

	for (i = 0; i < t->nprocs; i++) {
		struct proc *p = &t->procs[i];

		if (p->sender == sender)
			continue;
		for (j = 0; j < p->nthreads; j++) {
			bool peer_uring = rec_of(t, p, j)->uring;

			if (worker_live(t, p, j) &&
			    !held_back(p->sender, peer_uring, pause) &&
			    (t->capacity || peer_uring != uring))
				return true;
		}
	}
	return false;
}

/* Must thread @j of @p complete calls while @pause holds others back? */
static bool must_progress(struct torture *t, struct proc *p, unsigned int j,
			  uint32_t pause)
{
	bool uring = rec_of(t, p, j)->uring;
	bool kind;

	/*
	 * Blocking receivers held back: the blocking senders are served by
	 * the io_uring receivers, which must get what they send. Blocking
	 * senders held back: the io_uring senders find room or a committed
	 * receiver, and the blocking receivers get what they send. (With
	 * both kinds active, a committed peer is always served first and an
	 * io_uring one may wait indefinitely: nothing is promised then.)
	 * A worker that retired after its last sequence number or log slot
	 * owes nothing, and neither does one whose every server retired.
	 */
	if (pause == PAUSE_BLOCKING_RCV)
		kind = p->sender ? !uring : uring;
	else
		kind = p->sender ? uring : !uring;
	return kind && worker_live(t, p, j) &&
	       peer_live(t, p->sender, uring, pause);
}

/*
 * Once the chaos stops, the workers must get on with their work: a lost
 * wake-up shows here, where the close at the end would hide it. In two
 * rounds, one kind of blocking peer is held back and each thread that can
 * then be served must complete one more send or receive.
 */
static void quiet_round(struct __test_metadata *_metadata, struct torture *t,
			uint32_t pause)
{
	uint64_t deadline = kt_now_ns() + ms_ns(QUIET_MS);
	uint64_t base[MAX_PROCS][MAX_THREADS];
	unsigned int i, j, waiting;

	atomic_store(&t->sh->pause, pause);
	for (i = 0; i < t->nprocs; i++)
		for (j = 0; j < t->procs[i].nthreads; j++) {
			base[i][j] = rec_of(t, &t->procs[i], j)->ok;
			/* Reported: a round that checks nobody checks nothing. */
			t->owed += t->procs[i].pid > 0 &&
				   must_progress(t, &t->procs[i], j, pause);
		}
	do {
		usleep(5000);
		reap(_metadata, t);
		waiting = 0;
		for (i = 0; i < t->nprocs; i++) {
			struct proc *p = &t->procs[i];

			for (j = 0; j < p->nthreads && p->pid > 0; j++)
				waiting += must_progress(t, p, j, pause) &&
					   rec_of(t, p, j)->ok == base[i][j];
		}
	} while (waiting && kt_now_ns() < deadline);

	for (i = 0; i < t->nprocs; i++) {
		struct proc *p = &t->procs[i];

		for (j = 0; j < p->nthreads && p->pid > 0; j++) {
			struct worker_rec *w = rec_of(t, p, j);
			uint64_t f = atomic_load(&w->inflight);

			if (!must_progress(t, p, j, pause) ||
			    w->ok != base[i][j])
				continue;
			TH_LOG("%s id %u (%s) made no progress in %u ms with blocking %s held back: seq %u (+%u) attempt %u, logged %u",
			       p->sender ? "sender" : "receiver", p->ids[j],
			       w->uring ? "io_uring" : "blocking", QUIET_MS,
			       pause == PAUSE_BLOCKING_RCV ? "receivers" :
							    "senders",
			       inflight_seq(f), inflight_n(f), inflight_att(f),
			       atomic_load(&w->logged));
		}
	}
	EXPECT_EQ(0u, waiting);
}

static void quiet_progress(struct __test_metadata *_metadata,
			   struct torture *t)
{
	uint64_t start = kt_now_ns();

	quiet_round(_metadata, t, PAUSE_BLOCKING_RCV);
	quiet_round(_metadata, t, PAUSE_BLOCKING_SND);
	atomic_store(&t->sh->pause, 0);
	t->quiet_ms = (kt_now_ns() - start) / 1000000;
}

static unsigned int live_procs(struct torture *t)
{
	unsigned int i, n = 0;

	for (i = 0; i < t->nprocs; i++)
		n += t->procs[i].pid > 0;
	return n;
}

/* After the close: every worker must come to its end by itself. */
static void wait_workers(struct __test_metadata *_metadata, struct torture *t)
{
	uint64_t deadline = kt_now_ns() + ms_ns(EXIT_WAIT_MS);
	unsigned int i, j;

	while (live_procs(t) && kt_now_ns() < deadline) {
		reap(_metadata, t);
		usleep(2000);
	}
	for (i = 0; i < t->nprocs; i++) {
		struct proc *p = &t->procs[i];

		if (p->pid <= 0)
			continue;
		for (j = 0; j < p->nthreads; j++) {
			struct worker_rec *w = rec_of(t, p, j);
			uint64_t f = atomic_load(&w->inflight);

			TH_LOG("%s id %u (%s, tid %d) still running after the close: finished %u, seq %u (+%u) attempt %u, logged %u",
			       p->sender ? "sender" : "receiver", p->ids[j],
			       w->uring ? "io_uring" : "blocking",
			       atomic_load(&w->tid), atomic_load(&w->finished),
			       inflight_seq(f), inflight_n(f), inflight_att(f),
			       atomic_load(&w->logged));
		}
		EXPECT_EQ(0, p->pid) TH_LOG("worker %d did not end", p->pid);
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
}

/* The supervisor takes whatever is left, as one more receiver. */
static void drain(struct __test_metadata *_metadata, struct torture *t,
		  uint32_t id)
{
	struct worker_rec *w = &t->sh->rcv[id];
	uint32_t n = 0;
	ssize_t ret;

	memset(w, 0, sizeof(*w));
	for (;;) {
		ASSERT_GT((uint32_t)LOG_MAX, n);
		ret = read(t->fd, log_slot(t, id, n), SLOT_SIZE);
		if (ret == 0)
			break;
		ASSERT_LT(0, ret) TH_LOG("draining: %s", strerror(errno));
		atomic_store(&w->logged, ++n);
	}
	atomic_store(&w->finished, 1);
	/* End of file, for everyone, forever. */
	EXPECT_EQ(0, read(t->fd, log_slot(t, id, n), SLOT_SIZE));
}

struct seen {
	uint32_t count;
	uint32_t attempt;
};

/*
 * Sequences of a sender that may have been tried: those before its next
 * one, and a batch from there. seen[] has room for them.
 */
static uint32_t seq_span(uint64_t f)
{
	uint32_t end = inflight_seq(f) + BATCH_MSGS;

	return end < SEQ_MAX ? end : SEQ_MAX;
}

/*
 * How many of the log slots of receiver @r after its @logged messages its
 * last call filled: only a receiver killed during or just after a call
 * has any, up to the slots that call was given.
 */
static uint32_t extra_slots(struct torture *t, uint32_t r, uint32_t logged)
{
	struct worker_rec *w = &t->sh->rcv[r];
	uint32_t want = atomic_load(&w->want), n = 0;

	if (!w->killed || atomic_load(&w->finished))
		return 0;
	while (n < want && logged + n < LOG_MAX &&
	       !all_zero(log_slot(t, r, logged + n), SLOT_SIZE))
		n++;
	return n;
}

/* The logs of receivers 0..nr_rcv-1 and of @drain_id, against the senders. */
static void account(struct __test_metadata *_metadata, struct torture *t,
		    uint32_t nr_rcv, uint32_t drain_id, struct tally *y)
{
	struct seen **seen = calloc(t->nr_snd, sizeof(*seen));
	int64_t *last = malloc(t->nr_snd * sizeof(*last));
	uint32_t i, s, q, n;

	ASSERT_NE(NULL, seen);
	ASSERT_NE(NULL, last);
	for (s = 0; s < t->nr_snd; s++) {
		uint64_t f = atomic_load(&t->sh->snd[s].inflight);

		seen[s] = calloc(seq_span(f), sizeof(**seen));
		ASSERT_NE(NULL, seen[s]);
	}

	for (i = 0; i <= nr_rcv; i++) {
		uint32_t r = i < nr_rcv ? i : drain_id;
		struct worker_rec *w = &t->sh->rcv[r];
		uint32_t logged = atomic_load(&w->logged);
		uint32_t extra = extra_slots(t, r, logged);
		uint32_t want = atomic_load(&w->want);

		/* Nothing after: a failed or unfinished call wrote nothing. */
		for (n = logged + extra; n <= logged + want && n < LOG_MAX; n++) {
			if (all_zero(log_slot(t, r, n), SLOT_SIZE))
				continue;
			y->beyond_log++;
			TH_LOG("receiver %u: data in slot %u, after its %u logged messages (+%u taken when killed)",
			       r, n, logged, extra);
			break;
		}
		for (s = 0; s < t->nr_snd; s++)
			last[s] = -1;
		for (n = 0; n < logged + extra; n++) {
			struct tag tag;
			uint32_t pos, att;
			uint64_t f;

			y->received++;
			if (!valid_slot(log_slot(t, r, n), &tag) ||
			    tag.sender >= t->nr_snd) {
				if (!y->bad_tag++)
					TH_LOG("receiver %u message %u: bad tag or content",
					       r, n);
				continue;
			}
			f = atomic_load(&t->sh->snd[tag.sender].inflight);
			pos = inflight_seq(f);
			att = inflight_att(f);
			if (tag.seq >= seq_span(f) ||
			    (tag.seq >= pos && tag.attempt > att)) {
				if (!y->never_sent++)
					TH_LOG("receiver %u got sender %u seq %u attempt %u, never sent (sender at seq %u attempt %u)",
					       r, tag.sender, tag.seq,
					       tag.attempt, pos, att);
				continue;
			}
			if ((int64_t)tag.seq <= last[tag.sender]) {
				if (!y->disorder++)
					TH_LOG("receiver %u got sender %u seq %u after seq %lld",
					       r, tag.sender, tag.seq,
					       (long long)last[tag.sender]);
			}
			last[tag.sender] = tag.seq;
			if (seen[tag.sender][tag.seq].count++) {
				if (!y->twice++)
					TH_LOG("sender %u seq %u received twice (attempts %u and %u)",
					       tag.sender, tag.seq,
					       seen[tag.sender][tag.seq].attempt,
					       tag.attempt);
				continue;
			}
			seen[tag.sender][tag.seq].attempt = tag.attempt;
		}
	}

	for (s = 0; s < t->nr_snd; s++) {
		struct worker_rec *w = &t->sh->snd[s];
		_Atomic uint32_t *res = results_of(t, s);
		uint64_t f = atomic_load(&w->inflight);
		uint32_t pos = inflight_seq(f), att = inflight_att(f);
		uint32_t end = pos + inflight_n(f), span = seq_span(f);
		bool killed = w->killed && !atomic_load(&w->finished);
		int64_t gap = -1;	/* an undelivered sequence from @pos on */

		for (q = 0; q < span; q++) {
			uint32_t ok = atomic_load(&res[q]);
			struct seen *e = &seen[s][q];

			/*
			 * A call sends a prefix of its messages: after one of
			 * them was not delivered, none may be.
			 */
			if (q >= pos && e->count && gap >= 0) {
				if (!y->lost++)
					TH_LOG("sender %u seq %u received, but seq %lld of the same call was not",
					       s, q, (long long)gap);
			} else if (q >= pos && !e->count && gap < 0) {
				gap = q;
			}
			if (ok) {
				y->recorded++;
				if (!e->count) {
					if (!y->lost++)
						TH_LOG("sender %u seq %u: send succeeded (attempt %u), never received",
						       s, q, ok - 1);
				} else if (e->attempt != ok - 1) {
					if (!y->wrong_attempt++)
						TH_LOG("sender %u seq %u: attempt %u succeeded, attempt %u received",
						       s, q, ok - 1, e->attempt);
				}
				continue;
			}
			if (q < pos) {
				/* A sequence only advances past a recorded success. */
				y->bad_record++;
				continue;
			}
			if (!e->count)
				continue;
			if (killed && q < end && e->attempt == att) {
				y->unrecorded++;
				y->unrecorded_batch += q > pos;
			} else if (!y->failed_delivered++) {
				TH_LOG("sender %u seq %u attempt %u received, but that send failed (%s, next seq %u attempt %u, %u in flight)",
				       s, q, e->attempt,
				       w->killed ? "killed" : "not killed", pos,
				       att, end - pos);
			}
		}
		free(seen[s]);
	}
	free(seen);
	free(last);
}

static void sum_workers(struct __test_metadata *_metadata, struct torture *t,
			uint32_t nr_rcv, struct tally *y)
{
	uint32_t i;

	for (i = 0; i < t->nr_snd + nr_rcv; i++) {
		bool snd = i < t->nr_snd;
		struct worker_rec *w = snd ? &t->sh->snd[i] :
					     &t->sh->rcv[i - t->nr_snd];

		y->eintr += w->eintr;
		if (w->style == H_RESTART)
			y->eintr_restart += w->eintr;
		y->ecanceled += w->ecanceled;
		y->epipe += w->epipe;
		y->cancels += w->cancels;
		y->leftover += w->leftover;
		y->batches += w->batches;
		y->partial += w->partial;
		if (w->err) {
			if (!y->worker_errors++)
				TH_LOG("%s id %u (%s, handlers %s): unexpected result %d (%s)",
				       snd ? "sender" : "receiver",
				       snd ? i : i - t->nr_snd,
				       w->uring ? "io_uring" : "blocking",
				       style_name[w->style], w->err_op,
				       strerror(w->err));
		}
	}
}

TEST_F(torture, every_message_is_accounted_for)
{
	struct torture *t = &self->t;
	unsigned int secs = chaos_secs(), i, idx = 0;
	uint32_t seed = chaos_seed(), drain_id;
	struct tally y = { 0 };
	struct kchan_stat st;
	uint64_t chaos_ns;

	if (only_variant && strcmp(only_variant, variant->name))
		SKIP(return, "not --variant %s", only_variant);
	t->rng = seed;
	for (i = 0; i < variant->snd_procs + variant->rcv_procs; i++) {
		struct proc *p = &t->procs[idx++];

		p->sender = i < variant->snd_procs;
		p->slot = p->sender ? i : i - variant->snd_procs;
		p->nthreads = p->sender ? variant->snd_threads :
					  variant->rcv_threads;
	}
	t->nprocs = idx;
	for (i = 0; i < t->nprocs; i++)
		ASSERT_EQ(0, spawn(t, i));

	chaos_ns = kt_now_ns();
	run_chaos(_metadata, t, chaos_ns + ms_ns(secs * 1000ull));
	chaos_ns = kt_now_ns() - chaos_ns;
	chaos_continue(t, 0, true);
	EXPECT_EQ(0u, io_workers(t)) {
		TH_LOG("io_uring parked requests on io-wq threads");
	}
	quiet_progress(_metadata, t);

	/* The end: no replacements, then close. */
	t->stopping = true;
	atomic_store(&t->sh->stop, 1);
	reap(_metadata, t);
	ASSERT_EQ(0, kchan_close(t->fd));
	wait_workers(_metadata, t);
	drain_id = MAX_IDS - 1;
	drain(_metadata, t, drain_id);
	ASSERT_LT(t->nr_rcv, drain_id);

	account(_metadata, t, t->nr_rcv, drain_id, &y);
	y.drained = atomic_load(&t->sh->rcv[drain_id].logged);
	sum_workers(_metadata, t, t->nr_rcv, &y);
	ASSERT_EQ(0, kt_stat(t->fd, &st));

	ksft_print_msg("torture %s %s: %.1fs of chaos, seed %#x: sent %llu (+%llu unrecorded from killed senders, %llu of them beyond the first of a batch), received %llu (%llu drained at the end), lost %u, duplicated %u, out of order %u, batch calls %llu (%llu sends stopped short), killed %lu senders + %lu receivers (%lu threads), stopped %lu, signals %lu, interrupted %llu (EINTR), cancelled %llu (ECANCELED, of %llu cancels for %lu requests), EPIPE %llu, ids %u+%u, progress of %u workers checked in %lu ms after the chaos\n",
		       variant->capacity ? "buffered" : "rendezvous",
		       variant->snd_threads > 1 ? "threads" : "processes",
		       chaos_ns / 1e9, seed,
		       (unsigned long long)y.recorded,
		       (unsigned long long)y.unrecorded,
		       (unsigned long long)y.unrecorded_batch,
		       (unsigned long long)y.received,
		       (unsigned long long)y.drained,
		       y.lost, y.twice, y.disorder,
		       (unsigned long long)y.batches,
		       (unsigned long long)y.partial,
		       t->kills_snd, t->kills_rcv, t->threads_killed, t->stops,
		       t->signals, (unsigned long long)y.eintr,
		       (unsigned long long)y.ecanceled,
		       (unsigned long long)y.cancels, t->cancel_reqs,
		       (unsigned long long)y.epipe, t->nr_snd, t->nr_rcv,
		       t->owed, t->quiet_ms);
	/* The test ends in _exit(): flush what a pipe buffers. */
	fflush(stdout);

	/* Conservation. */
	EXPECT_EQ(0u, y.bad_tag);
	EXPECT_EQ(0u, y.beyond_log);
	EXPECT_EQ(0u, y.never_sent);
	EXPECT_EQ(0u, y.failed_delivered);
	EXPECT_EQ(0u, y.twice);
	EXPECT_EQ(0u, y.lost);
	EXPECT_EQ(0u, y.wrong_attempt);
	EXPECT_EQ(0u, y.disorder);
	EXPECT_EQ(0u, y.bad_record);
	EXPECT_EQ(0ull, (unsigned long long)y.leftover) {
		TH_LOG("a failed receive wrote into the reader's buffer");
	}
	EXPECT_EQ(0u, y.worker_errors);
	EXPECT_EQ(0ul, t->unexpected_exits);
	EXPECT_EQ(y.recorded + y.unrecorded, y.received);

	/* The channel's view: closed, empty, and the same counts. */
	EXPECT_NE(0u, st.flags & KCHAN_STAT_CLOSED);
	EXPECT_EQ(0u, st.queued);
	EXPECT_EQ(0u, st.senders);
	EXPECT_EQ(0u, st.receivers);
	EXPECT_EQ(y.received, st.received);
	EXPECT_EQ(y.received, st.sent) {
		TH_LOG("kernel counts %llu sent, %llu received",
		       (unsigned long long)st.sent,
		       (unsigned long long)st.received);
	}

	/* The chaos happened. */
	EXPECT_LE((unsigned long long)MIN_SENT,
		  (unsigned long long)y.recorded);
	EXPECT_LT(0ul, t->kills_snd);
	EXPECT_LT(0ul, t->kills_rcv);
	EXPECT_LT(0ul, t->stops);
	EXPECT_LT(0ull, (unsigned long long)y.eintr);
	EXPECT_EQ(0ull, (unsigned long long)y.eintr_restart) {
		TH_LOG("EINTR reached a process whose handlers have SA_RESTART");
	}
	EXPECT_LT(0ull, (unsigned long long)y.cancels);
	EXPECT_LT(0ull, (unsigned long long)y.ecanceled);
	EXPECT_LT(0ull, (unsigned long long)y.batches);
	if (t->kills_paused || t->ids_exhausted)
		ksft_print_msg("torture: ids ran low: %s\n", t->ids_exhausted ?
			       "some workers were not replaced" :
			       "no kills in the end");
	fflush(stdout);
}

/*
 * A rendezvous sender is killed while a receiver is held up by a
 * userfaultfd on its buffer. The receiver's fault holds no sender (it
 * never copies with a sender claimed if the copy could fault), so the
 * killed send sent nothing; the receiver gets the next message, and the
 * counters agree. (The torture above still races a kill against the
 * short claim of a copy that cannot fault: a message taken then is
 * delivered and counted as sent.)
 */
TEST(killed_sender_of_a_stalled_receiver_sends_nothing)
{
	size_t pg = getpagesize();
	static char zero[65536];
	struct kchan_stat st;
	struct kt_op op;
	char *buf;
	__u64 addr = 0;
	int ch, uffd, status;
	pid_t pid;

	ch = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, ch) TH_LOG("creating a channel: %s", strerror(-ch));
	uffd = kt_uffd_open();
	if (uffd < 0)
		SKIP(return, "no userfaultfd: %s", strerror(-uffd));
	buf = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, kt_uffd_register(uffd, buf, pg));

	pid = kt_fork_send(ch, "claimed", 7);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, kt_wait_for(ch, senders, 1));
	/* The receiver stalls on its buffer; the sender stays in line. */
	ASSERT_EQ(0, kt_op_recv(&op, ch, buf, MSG_MAX));
	ASSERT_EQ(0, kt_uffd_wait_fault(uffd, KT_TIMEOUT_MS, &addr));
	ASSERT_EQ(0, kt_stat(ch, &st));
	EXPECT_EQ(1u, st.senders);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ASSERT_EQ(0, kt_uffd_copy(uffd, addr & ~(__u64)(pg - 1), zero, pg));

	ASSERT_EQ(4, write(ch, "next", 4));
	EXPECT_EQ(4, kt_op_result(&op));
	EXPECT_EQ(0, memcmp(buf, "next", 4));
	ASSERT_EQ(0, kt_stat(ch, &st));
	EXPECT_EQ(1ull, (unsigned long long)st.received);
	EXPECT_EQ(st.received, st.sent) {
		TH_LOG("kernel counts %llu sent, %llu received",
		       (unsigned long long)st.sent,
		       (unsigned long long)st.received);
	}
	close(uffd);
	close(ch);
}

static int usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--messages N] [--variant NAME]\n", prog);
	return 2;
}

/*
 * The batch edge of the torture above, on purpose: a batch sender is
 * killed on a rendezvous channel, its first message received, while a
 * receiver of the second is held up by a fault on its buffer (which
 * holds no sender). The channel counts the first as sent; the rest of
 * the batch is never delivered, and the receiver gets the next message.
 */
TEST(killed_batch_sender_delivers_a_prefix)
{
	static const char *const text[] = {
		"batch-0", "batch-1", "batch-2", "batch-3",
	};
	struct kchan_mmsg m[4];
	size_t pg = getpagesize();
	static char zero[65536];
	char first[MSG_MAX] = "";
	struct kchan_batch b;
	struct kchan_stat st;
	struct kt_op op;
	unsigned int i;
	char *buf;
	__u64 addr = 0;
	int ch, uffd, status;
	pid_t pid;

	ch = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, ch) TH_LOG("creating a channel: %s", strerror(-ch));
	uffd = kt_uffd_open();
	if (uffd < 0)
		SKIP(return, "no userfaultfd: %s", strerror(-uffd));
	buf = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, kt_uffd_register(uffd, buf, pg));

	for (i = 0; i < 4; i++)
		m[i] = (struct kchan_mmsg){ .buf = (uintptr_t)text[i], .len = 7 };
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		b = (struct kchan_batch){ .msgs = (uintptr_t)m, .nmsgs = 4 };
		_exit(ioctl(ch, KCHAN_IOC_SEND_BATCH, &b) == 4 ? 0 : 1);
	}
	ASSERT_EQ(7, read(ch, first, sizeof(first)));
	EXPECT_EQ(0, memcmp(first, "batch-0", 7));
	ASSERT_EQ(0, kt_wait_for(ch, senders, 1));
	/* The receiver stalls on its buffer; "batch-1" stays in line. */
	ASSERT_EQ(0, kt_op_recv(&op, ch, buf, MSG_MAX));
	ASSERT_EQ(0, kt_uffd_wait_fault(uffd, KT_TIMEOUT_MS, &addr));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ASSERT_EQ(0, kt_uffd_copy(uffd, addr & ~(__u64)(pg - 1), zero, pg));

	ASSERT_EQ(4, write(ch, "next", 4));
	EXPECT_EQ(4, kt_op_result(&op));
	EXPECT_EQ(0, memcmp(buf, "next", 4));
	/* Nothing more: the sender is gone with the rest of its batch. */
	m[0] = (struct kchan_mmsg){ .buf = (uintptr_t)first, .len = MSG_MAX };
	b = (struct kchan_batch){
		.msgs = (uintptr_t)m, .nmsgs = 1, .flags = KCHAN_BATCH_NONBLOCK,
	};
	EXPECT_EQ(-1, ioctl(ch, KCHAN_IOC_RECV_BATCH, &b));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, kt_stat(ch, &st));
	EXPECT_EQ(0u, st.senders);
	EXPECT_EQ(0u, st.queued);
	EXPECT_EQ(2ull, (unsigned long long)st.received);
	EXPECT_EQ(st.received, st.sent) {
		TH_LOG("kernel counts %llu sent, %llu received",
		       (unsigned long long)st.sent,
		       (unsigned long long)st.received);
	}
	close(uffd);
	close(ch);
}

/*
 * The harness's per-test timeout is fixed at build time; a long run by
 * hand needs more.
 */
int main(int argc, char **argv)
{
	unsigned int secs = chaos_secs();
	int timeout = (int)(2 * secs + EXTRA_SECS +
			    (2 * QUIET_MS + EXIT_WAIT_MS) / 1000 + 30);
	char *end;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--messages") && i + 1 < argc) {
			errno = 0;
			target_msgs = strtoull(argv[++i], &end, 10);
			if (errno || *end || !target_msgs)
				return usage(argv[0]);
		} else if (!strcmp(argv[i], "--variant") && i + 1 < argc) {
			only_variant = argv[++i];
		} else {
			return usage(argv[0]);
		}
	}
	/* However long it takes: the VM's own timeout is the bound. */
	if (target_msgs)
		timeout = INT32_MAX / 1000;
	if (timeout > _torture_every_message_is_accounted_for_object.timeout)
		_torture_every_message_is_accounted_for_object.timeout = timeout;
	return test_harness_run(1, argv);
}
