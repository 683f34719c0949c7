// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * kchan_select(): Go's select over channels and any other descriptor.
 *
 * Channels alone: one KCHAN_CTL_SELECT. With other descriptors among the
 * ops:
 *
 * First, when the thread's last select found an op ready (and always for
 * a deadline of 0), one poll() over every op's fd: if some are ready, one
 * of them is chosen (at random, or the first with KCHAN_PRIORITY) and
 * completed without waiting: a readiness op at once, a send or receive by
 * one write() or read() that does not wait, channel or not (a channel's
 * read() and write() receive and send one message). If that finds nothing
 * after all (EAGAIN), the next ready one is tried. Two calls.
 *
 * Otherwise, under the epoll backend and a kernel with readiness cases
 * (KCHAN_FEATURE_SEL_WATCH), every op is armed on the thread's select
 * file, the other descriptors as readiness cases resolved by the kernel
 * at that arming, and one blocking read() of the file returns the op:
 * a channel op completed, or another op ready with the channel ops
 * cancelled (select_watched()). Arm, read, and one call to complete a
 * non-channel op: at most three.
 *
 * Otherwise the channel ops are armed on the thread's select file, and
 * that file and the other descriptors are waited on together in the
 * thread's epoll or io_uring (wait.c). The select file completes a
 * channel op by itself; any other op is completed here, and only after
 * the armed select was cancelled:
 *
 *   - the select file is readable: its read() gives the channel op that
 *     completed, which is the answer;
 *   - another descriptor is ready: cancel the armed select first. If the
 *     cancel reports that a channel op completed meanwhile, that op is
 *     the answer and the descriptor's readiness is left for next time.
 *     Otherwise the op is completed (a readiness op at once, a receive by
 *     one read() that does not wait); if the read finds nothing after all
 *     (EAGAIN), the channel ops are armed again and the wait goes on.
 *
 * So exactly one op completes: nothing is read from a descriptor while a
 * channel op may still complete.
 *
 * Which fds are channels is learned once per thread and fd, and checked
 * rather than trusted: a channel by the arming (the kernel resolves the
 * fd again and refuses a non-channel), a non-channel by the epoll
 * registration still being found for that fd (it is keyed by the open
 * file, so a new file at the same fd is not found); under io_uring, by
 * asking again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "wait.h"

#define OPS_ON_STACK	16

static bool kind_ok(int kind)
{
	return kind >= KCHAN_SEND && kind <= KCHAN_RECV_CHANS;
}

/* An op only a channel can do: it carries channels. */
static bool carries(int kind)
{
	return kind == KCHAN_SEND_CHANS || kind == KCHAN_RECV_CHANS;
}

bool kchan__chan_kind(int kind)
{
	return kind == KCHAN_SEND || kind == KCHAN_RECV || carries(kind);
}

void kchan__case_of(struct kchan_case *c, const struct kchan_op *op)
{
	static const __u32 ops[] = {
		[KCHAN_SEND] = KCHAN_OP_SEND,
		[KCHAN_RECV] = KCHAN_OP_RECV,
		[KCHAN_SEND_CHANS] = KCHAN_OP_SENDMSG,
		[KCHAN_RECV_CHANS] = KCHAN_OP_RECVMSG,
	};

	c->fd = op->fd;
	c->op = ops[op->kind];
	c->buf = (uintptr_t)op->buf;
	c->len = op->len;
}

static void reset_results(struct kchan_op *ops, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		ops[i].result = -EAGAIN;
}

/*
 * KCHAN_CTL_SELECT over @cases, the channel cases of @ops in order, failed
 * with @ret on case @bad (or -1): the answer, or -ENOTSUP to ask for the
 * mixed path, with the op found not to be a channel in *@not_chan.
 */
static int select_failed(struct kchan_op *ops, unsigned int n, int ret,
			 int bad, int *not_chan)
{
	if (bad >= 0 && (unsigned int)bad < n) {
		if (ret == -EINVAL && !carries(ops[bad].kind) &&
		    kchan__is_chan(ops[bad].fd) == 0) {
			*not_chan = bad;
			return -ENOTSUP;
		}
		ops[bad].result = ret;
	}
	return ret;
}

/* KCHAN_CTL_SELECT over @cases, the channel cases of @ops in order. */
static int select_cases(struct kchan_op *ops, unsigned int n,
			const struct kchan_case *cases, unsigned int flags,
			int64_t deadline, int *not_chan)
{
	__u64 len = 0;
	int bad, ret;

	ret = kchan__select_cases(cases, n, flags, deadline, &len, &bad);
	if (ret < 0)
		return select_failed(ops, n, ret, bad, not_chan);
	ops[ret].result = (ssize_t)len;
	return ret;
}

/* Channels only: one call, the cases translated from the ops. */
static int select_channels(struct kchan_op *ops, unsigned int n,
			   unsigned int flags, int64_t deadline, int *not_chan)
{
	struct kchan_case stack[OPS_ON_STACK], *cases = stack;
	unsigned int i;
	int ret;

	if (n == 0)
		return -ENOTSUP;
	if (n > OPS_ON_STACK) {
		cases = malloc(n * sizeof(*cases));
		if (!cases)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		kchan__case_of(&cases[i], &ops[i]);
	ret = select_cases(ops, n, cases, flags, deadline, not_chan);
	if (cases != stack)
		free(cases);
	return ret;
}

/*
 * Where a plain op (KCHAN_SEND or KCHAN_RECV, whose kind is its case's op)
 * begins with its case's layout, as on every 64-bit ABI, the case is a
 * copy of the op's first bytes.
 */
#define OP_BEGINS_WITH_CASE						\
	(offsetof(struct kchan_op, fd) == offsetof(struct kchan_case, fd) && \
	 offsetof(struct kchan_op, kind) == offsetof(struct kchan_case, op) && \
	 offsetof(struct kchan_op, buf) == offsetof(struct kchan_case, buf) && \
	 offsetof(struct kchan_op, len) == offsetof(struct kchan_case, len) && \
	 sizeof(void *) == sizeof(__u64) && sizeof(size_t) == sizeof(__u64) && \
	 sizeof(struct kchan_op) >= sizeof(struct kchan_case))

/*
 * The cases of up to OPS_ON_STACK plain sends and receives, none on one
 * of the @nhint fds @hint says are not channels, each op's result reset:
 * false if @ops are not that. Inlined twice, so that a thread without
 * hints (one that never selected over other fds) checks only the kinds.
 */
static inline __attribute__((always_inline)) bool
plain_cases(struct kchan_op *ops, unsigned int n, struct kchan_case *cases,
	    const unsigned char *hint, unsigned int nhint)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct kchan_op *op = &ops[i];
		unsigned int fd = (unsigned int)op->fd;

		if ((unsigned int)op->kind - KCHAN_SEND > KCHAN_RECV - KCHAN_SEND ||
		    (fd < nhint && hint[fd] & KCHAN_FD_NOTCHAN))
			return false;
		if (OP_BEGINS_WITH_CASE) {
			memcpy(&cases[i], op, sizeof(cases[i]));
		} else {
			cases[i].fd = op->fd;
			cases[i].op = (__u32)op->kind;
			cases[i].buf = (uintptr_t)op->buf;
			cases[i].len = op->len;
		}
		op->result = -EAGAIN;
	}
	return true;
}

/*
 * The common case, kept to one pass over the ops and the ioctl: up to
 * OPS_ON_STACK plain sends and receives, none on an fd this thread found
 * not to be a channel. -ENOTSUP with *@not_chan still -1: not that case
 * (ask kchan_select()'s general path); anything else is kchan_select()'s
 * answer.
 */
static inline __attribute__((always_inline)) int
select_plain(struct kchan_op *ops, unsigned int n, unsigned int flags,
	     int64_t deadline, int *not_chan)
{
	_Static_assert(KCHAN_SEND == KCHAN_OP_SEND && KCHAN_RECV == KCHAN_OP_RECV &&
		       KCHAN_RECV == KCHAN_SEND + 1,
		       "a plain op's kind is its case's op");
	struct kchan_case cases[OPS_ON_STACK];
	const unsigned char *hint;
	unsigned int nhint;
	__u64 len = 0;
	int bad, ret;

	if (n == 0 || n > OPS_ON_STACK)
		return -ENOTSUP;
	hint = kchan__fd_hints(&nhint);
	if (!(nhint ? plain_cases(ops, n, cases, hint, nhint) :
		      plain_cases(ops, n, cases, NULL, 0)))
		return -ENOTSUP;
	ret = kchan__select_cases(cases, n, flags, deadline, &len, &bad);
	if (ret < 0)
		return select_failed(ops, n, ret, bad, not_chan);
	ops[ret].result = (ssize_t)len;
	return ret;
}

/*
 * One read() or write() that does not wait, whatever the fd's flags:
 * RWF_NOWAIT where the file supports it (channels, pipes, eventfds), else
 * MSG_DONTWAIT on a socket (and no SIGPIPE), else a plain call, which
 * does not wait either since the fd just polled ready (timerfds). A
 * socket is remembered, so that its next call is the right one at once.
 */
static ssize_t sock_nowait(const struct kchan_op *op)
{
	return op->kind == KCHAN_RECV ?
	       recv(op->fd, op->buf, op->len, MSG_DONTWAIT) :
	       send(op->fd, op->buf, op->len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static ssize_t io_nowait(struct kchan_thread *t, const struct kchan_op *op)
{
	struct iovec iov = { .iov_base = op->buf, .iov_len = op->len };
	bool in = op->kind == KCHAN_RECV;
	ssize_t n;

	if (kchan__fd_hint(t, op->fd) & KCHAN_FD_SOCK) {
		n = sock_nowait(op);
		if (n >= 0 || errno != ENOTSOCK)
			return n < 0 ? -errno : n;
		kchan__fd_hint_set(t, op->fd, 0, KCHAN_FD_SOCK);
	}
	n = in ? preadv2(op->fd, &iov, 1, -1, RWF_NOWAIT) :
		 pwritev2(op->fd, &iov, 1, -1, RWF_NOWAIT);
	if (n >= 0 || errno != EOPNOTSUPP)
		return n < 0 ? -errno : n;
	n = sock_nowait(op);
	if (n >= 0 || errno != ENOTSOCK) {
		kchan__fd_hint_set(t, op->fd, KCHAN_FD_SOCK, 0);
		return n < 0 ? -errno : n;
	}
	n = in ? read(op->fd, op->buf, op->len) :
		 write(op->fd, op->buf, op->len);
	return n < 0 ? -errno : n;
}

static unsigned int rand_below(unsigned int n)
{
	static __thread uint64_t state;
	uint64_t x = state;

	if (!x)
		x = (uint64_t)kchan_now() ^ (uintptr_t)&state ^ 0x9e3779b97f4a7c15ull;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	state = x;
	return (unsigned int)(x % n);
}

struct mixed {
	struct kchan_op *ops;
	unsigned int n;
	unsigned int flags;
	struct kchan_case *cases;	/* the channel ops, armed on sfd */
	unsigned int *case_op;		/* their op indexes */
	unsigned int ncases;
	int sfd;
	bool armed;
	bool relearn;			/* an fd was not what the thread thought */
	struct kchan_wait w;
};

static int arm(struct mixed *m)
{
	struct kchan_select req = {
		.cases = (uintptr_t)m->cases, .ncases = m->ncases,
		.flags = m->flags,
	};

	if (ioctl(m->sfd, KCHAN_SEL_ARM, &req) < 0) {
		int err = -errno;

		if (req.index < 0 || (unsigned int)req.index >= m->ncases)
			return err;
		/* Not a channel any more: a new file at that fd. */
		if (err == -EINVAL && kchan__is_chan(m->cases[req.index].fd) == 0) {
			kchan__fd_hint_set(m->w.t, m->cases[req.index].fd,
					   KCHAN_FD_NOTCHAN, KCHAN_FD_CHAN);
			m->relearn = true;
			return err;
		}
		m->ops[m->case_op[req.index]].result = err;
		return err;
	}
	m->armed = true;
	return 0;
}

/* A channel op's result from the select file: its op index or -errno. */
static int finish_case(struct mixed *m, const struct kchan_select_result *r)
{
	unsigned int i;

	if (r->index < 0 || (unsigned int)r->index >= m->ncases)
		return -EIO;
	i = m->case_op[r->index];
	m->ops[i].result = (ssize_t)r->result;
	return r->result < 0 ? (int)r->result : (int)i;
}

/* Disarm: 1 with *@ret the op that completed meanwhile, 0, or -errno. */
static int disarm(struct mixed *m, int *ret)
{
	struct kchan_select_result r;
	int c;

	if (!m->armed)
		return 0;
	c = ioctl(m->sfd, KCHAN_SEL_CANCEL, &r);
	if (c < 0)
		return -errno;
	m->armed = false;
	if (c == 0)
		return 0;
	*ret = finish_case(m, &r);
	return 1;
}

/* The select file is readable: collect. 1 with *@ret, or 0: nothing yet. */
static int collect(struct mixed *m, int *ret)
{
	struct kchan_select_result r;
	struct iovec iov = { .iov_base = &r, .iov_len = sizeof(r) };
	ssize_t got = preadv2(m->sfd, &iov, 1, -1, RWF_NOWAIT);

	if (got < 0 && errno == EAGAIN)
		return 0;
	m->armed = false;
	if (got < 0) {
		*ret = -errno;
		return 1;
	}
	*ret = got == sizeof(r) ? finish_case(m, &r) : -EIO;
	return 1;
}

/* The ready op chosen among the other descriptors, or -1. */
static int choose(struct mixed *m)
{
	unsigned int i, nready = 0, pick;

	for (i = 0; i < m->w.n; i++)
		if (m->w.ent[i].ready && m->w.ent[i].op >= 0)
			nready++;
	if (!nready)
		return -1;
	pick = (m->flags & KCHAN_PRIORITY) ? 0 : rand_below(nready);
	/* Entries are in op order, so the first ready one has priority. */
	for (i = 0; i < m->w.n; i++) {
		if (!m->w.ent[i].ready || m->w.ent[i].op < 0)
			continue;
		if (pick-- == 0)
			return (int)i;
	}
	return -1;
}

/* Complete the op of entry @e. 1 with *@ret, or 0: it was not ready after all. */
static int complete(struct mixed *m, unsigned int e, int *ret)
{
	struct kchan_op *op = &m->ops[m->w.ent[e].op];
	ssize_t n;

	if (m->w.ent[e].err) {
		/* The backend could not watch it (a bad fd, say). */
		op->result = m->w.ent[e].err;
		*ret = m->w.ent[e].err;
		return 1;
	}
	if (op->kind == KCHAN_READABLE || op->kind == KCHAN_WRITABLE) {
		op->result = 0;
		*ret = m->w.ent[e].op;
		return 1;
	}
	n = io_nowait(m->w.t, op);
	if (n == -EAGAIN) {
		m->w.ent[e].ready = false;
		return 0;
	}
	op->result = n;
	*ret = n < 0 ? (int)n : m->w.ent[e].op;
	return 1;
}

static int run(struct mixed *m, int64_t deadline)
{
	int ret = 0, w, e;

	for (;;) {
		if (m->ncases && !m->armed) {
			ret = arm(m);
			if (ret)
				return ret;
		}
		w = kchan__wait(&m->w, deadline);
		if (w < 0 && w != -ETIMEDOUT && w != -EINTR)
			return w;
		if (m->armed && m->w.ent[0].ready) {
			if (collect(m, &ret))
				return ret;
			kchan__wait_rewatch(&m->w, 0);
		}
		e = choose(m);
		if (e < 0) {
			if (w == 0)
				continue;
			/* The deadline or a signal: unless a channel op won. */
			if (disarm(m, &ret) == 1)
				return ret;
			return deadline == 0 && w == -ETIMEDOUT ? -EAGAIN : w;
		}
		w = disarm(m, &ret);
		if (w == 1)
			return ret;
		if (w < 0)
			return w;
		if (complete(m, (unsigned int)e, &ret))
			return ret;
		kchan__wait_rewatch(&m->w, (unsigned int)e);
	}
}

static int thread_sfd(struct kchan_thread *t)
{
	int ctl = kchan__ctl();

	if (t->sfd >= 0)
		return t->sfd;
	if (ctl < 0)
		return ctl;
	/* Blocking: the watched path waits in its read(). */
	t->sfd = ioctl(ctl, KCHAN_CTL_SELECT_FD, O_CLOEXEC);
	return t->sfd < 0 ? -errno : t->sfd;
}

/* Does the kernel take readiness cases (KCHAN_FEATURE_SEL_WATCH)? */
static bool watch_ok(void)
{
	static int ok = -1;
	struct kchan_version v = { .version = 0 };
	int known = __atomic_load_n(&ok, __ATOMIC_RELAXED), ctl;

	if (known >= 0)
		return known;
	ctl = kchan__ctl();
	known = ctl >= 0 && !ioctl(ctl, KCHAN_IOC_VERSION, &v) &&
		(v.features & KCHAN_FEATURE_SEL_WATCH);
	__atomic_store_n(&ok, known, __ATOMIC_RELAXED);
	return known;
}

/*
 * The ops as the select file's cases: a send or receive as a channel
 * case that the kernel makes a readiness case if its fd is not a channel
 * when armed (KCHAN_OP_OR_READY), so no fd number is trusted; a
 * readiness op as a readiness case; an op carrying channels as itself.
 */
static void watch_cases(const struct kchan_op *ops, unsigned int n,
			struct kchan_case *cases)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct kchan_op *op = &ops[i];

		if (op->fd < 0) {
			/* Never ready: Go's nil channel. */
			cases[i] = (struct kchan_case){ .fd = -1, .op = KCHAN_OP_POLLIN };
		} else if (op->kind == KCHAN_READABLE || op->kind == KCHAN_WRITABLE) {
			cases[i] = (struct kchan_case){
				.fd = op->fd,
				.op = op->kind == KCHAN_READABLE ? KCHAN_OP_POLLIN :
								   KCHAN_OP_POLLOUT,
			};
		} else {
			kchan__case_of(&cases[i], op);
			if (!carries(op->kind))
				cases[i].op |= KCHAN_OP_OR_READY;
		}
	}
}

/*
 * The op the select file's read() returned: its index, -errno, or 1
 * more than the last index: ready after all but found nothing (arm
 * again).
 */
static int watch_done(struct kchan_thread *t, struct kchan_op *ops,
		      unsigned int n, const struct kchan_select_result *r)
{
	struct kchan_op *op;
	ssize_t got;

	if (r->index < 0 || (unsigned int)r->index >= n)
		return -EIO;
	op = &ops[r->index];
	if (!(r->flags & KCHAN_SELECT_READY)) {
		kchan__fd_hint_set(t, op->fd, KCHAN_FD_CHAN, KCHAN_FD_NOTCHAN);
		op->result = (ssize_t)r->result;
		return r->result < 0 ? (int)r->result : r->index;
	}
	if (op->kind == KCHAN_READABLE || op->kind == KCHAN_WRITABLE) {
		op->result = 0;
		return r->index;
	}
	/* Not a channel at this arming: straight here next time. */
	kchan__fd_hint_set(t, op->fd, KCHAN_FD_NOTCHAN, KCHAN_FD_CHAN);
	got = io_nowait(t, op);
	if (got == -EAGAIN)
		return (int)n;	/* taken by someone else */
	op->result = got;
	return got < 0 ? (int)got : r->index;
}

/*
 * After a failed wait: cancel; the channel op that completed meanwhile
 * if any, else @err.
 */
static int watch_cancel(int sfd, struct kchan_op *ops, unsigned int n, int err)
{
	struct kchan_select_result r;

	if (ioctl(sfd, KCHAN_SEL_CANCEL, &r) != 1 || r.index < 0 ||
	    (unsigned int)r.index >= n)
		return err;
	ops[r.index].result = (ssize_t)r.result;
	return r.result < 0 ? (int)r.result : r.index;
}

/*
 * The epoll backend's wait when the kernel takes readiness cases: every
 * op armed on the thread's select file, and one blocking read() of it
 * returns what happened, the armed deadline included. A channel op comes
 * back completed; another comes back ready, the channel ops cancelled by
 * that read (if one of them completed first, the read returns that one),
 * and is completed here without waiting (if it finds nothing after all,
 * EAGAIN, arm again). So: arm, read, and at most one call for the op.
 * -ENOTSUP: not this way (the kernel cannot, or the thread waits in
 * io_uring).
 */
static int select_watched(struct kchan_op *ops, unsigned int n,
			  unsigned int flags, int64_t deadline,
			  struct kchan_thread *t)
{
	struct kchan_case stack[OPS_ON_STACK], *cases = stack;
	struct kchan_select req = { .ncases = n, .flags = flags };
	struct kchan_select_result r;
	int sfd, ret;
	ssize_t got;

	if (kchan__backend() != KCHAN_BACKEND_EPOLL || !watch_ok())
		return -ENOTSUP;
	sfd = thread_sfd(t);
	if (sfd < 0)
		return sfd;
	if (n > OPS_ON_STACK) {
		cases = malloc(n * sizeof(*cases));
		if (!cases)
			return -ENOMEM;
	}
	watch_cases(ops, n, cases);
	req.cases = (uintptr_t)cases;
	if (deadline >= 0) {
		req.flags |= KCHAN_SELECT_DEADLINE;
		req.deadline_ns = deadline;
	}
	do {
		if (ioctl(sfd, KCHAN_SEL_ARM, &req)) {
			ret = -errno;
			if (req.index >= 0 && (unsigned int)req.index < n)
				ops[req.index].result = ret;
			break;
		}
		got = read(sfd, &r, sizeof(r));
		if (got != sizeof(r)) {
			ret = got < 0 ? -errno : -EIO;
			if (ret == -ETIMEDOUT)	/* disarmed by the read */
				ret = deadline == 0 ? -EAGAIN : ret;
			else
				ret = watch_cancel(sfd, ops, n, ret);
			break;
		}
		ret = watch_done(t, ops, n, &r);
	} while (ret == (int)n);
	if (cases != stack)
		free(cases);
	return ret;
}

/* Which ops are channels; @checked[i]: op i's answer is from this call. */
static int classify(struct mixed *m, int not_chan, bool *checked)
{
	struct kchan_thread *t = m->w.t;
	unsigned int i, h;
	int is_chan;

	for (i = 0; i < m->n; i++) {
		struct kchan_op *op = &m->ops[i];

		checked[i] = true;
		if (op->fd < 0)
			continue;	/* never ready: Go's nil channel */
		is_chan = 0;
		if (kchan__chan_kind(op->kind)) {
			h = kchan__fd_hint(t, op->fd);
			if ((int)i == not_chan) {
				is_chan = 0;
			} else if (h & KCHAN_FD_CHAN) {
				is_chan = 1;	/* the arming checks it */
			} else if (h & KCHAN_FD_NOTCHAN) {
				checked[i] = false;
			} else {
				is_chan = kchan__is_chan(op->fd);
				if (is_chan < 0) {
					op->result = is_chan;
					return is_chan;
				}
			}
		}
		if (!is_chan && carries(op->kind)) {
			/* Only a channel carries channels. */
			op->result = -EINVAL;
			return -EINVAL;
		}
		if (is_chan) {
			kchan__fd_hint_set(t, op->fd, KCHAN_FD_CHAN, KCHAN_FD_NOTCHAN);
			m->case_op[m->ncases] = i;
			kchan__case_of(&m->cases[m->ncases++], op);
			continue;
		}
		kchan__wait_add(&m->w, op->fd,
				op->kind == KCHAN_RECV || op->kind == KCHAN_READABLE ?
				KCHAN_WAIT_IN : KCHAN_WAIT_OUT, (int)i);
	}
	return 0;
}

/*
 * The registrations are made: check what was taken on trust. 0, or
 * -errno; m->relearn if an op thought not a channel is one.
 */
static int check_not_chans(struct mixed *m, const bool *checked)
{
	struct kchan_thread *t = m->w.t;
	unsigned int e;
	int is_chan;

	for (e = 1; e < m->w.n; e++) {
		struct kchan_wait_ent *ent = &m->w.ent[e];
		struct kchan_op *op = &m->ops[ent->op];

		if (op->kind != KCHAN_SEND && op->kind != KCHAN_RECV)
			continue;
		if (!checked[ent->op] &&
		    !(m->w.backend == KCHAN_BACKEND_EPOLL && ent->found)) {
			is_chan = kchan__is_chan(op->fd);
			if (is_chan < 0) {
				op->result = is_chan;
				return is_chan;
			}
			if (is_chan) {
				kchan__fd_hint_set(t, op->fd, KCHAN_FD_CHAN,
						   KCHAN_FD_NOTCHAN);
				m->relearn = true;
				return 0;
			}
		}
		kchan__fd_hint_set(t, op->fd, KCHAN_FD_NOTCHAN, KCHAN_FD_CHAN);
	}
	return 0;
}

static int select_wait_once(struct mixed *m, int64_t deadline, int not_chan,
			    bool *checked)
{
	int ret;

	m->ncases = 0;
	m->armed = false;
	m->relearn = false;
	ret = kchan__wait_init(&m->w, m->n + 1);
	if (ret)
		return ret;
	/* Entry 0 is the select file; it is watched only if armed. */
	kchan__wait_add(&m->w, -1, KCHAN_WAIT_IN, -1);
	ret = classify(m, not_chan, checked);
	if (ret)
		return ret;
	if (m->ncases) {
		m->sfd = thread_sfd(m->w.t);
		if (m->sfd < 0)
			return m->sfd;
		m->w.ent[0].fd = m->sfd;
	}
	ret = kchan__wait_start(&m->w);
	if (ret) {
		if (m->w.bad >= 0 && m->w.ent[m->w.bad].op >= 0)
			m->ops[m->w.ent[m->w.bad].op].result = ret;
		return ret;
	}
	ret = check_not_chans(m, checked);
	if (ret || m->relearn)
		return ret;
	ret = run(m, deadline);
	if (m->armed) {
		int late;

		/* Failing on the way out: a completed channel op still wins. */
		if (disarm(m, &late) == 1)
			ret = late;
	}
	return ret;
}

/* Wait in the backend; an fd found not to be what was thought: again. */
static int select_wait(struct kchan_op *ops, unsigned int n,
		       unsigned int flags, int64_t deadline, int not_chan)
{
	struct mixed m = { .ops = ops, .n = n, .flags = flags, .sfd = -1 };
	bool *checked;
	int ret = -ENOMEM, tries;

	m.cases = calloc(n ? n : 1, sizeof(*m.cases));
	m.case_op = calloc(n ? n : 1, sizeof(*m.case_op));
	checked = calloc(n ? n : 1, sizeof(*checked));
	if (!m.cases || !m.case_op || !checked)
		goto out;
	for (tries = 0; tries < 4; tries++) {
		ret = select_wait_once(&m, deadline, not_chan, checked);
		kchan__wait_fini(&m.w);
		if (!m.relearn)
			break;
		reset_results(ops, n);
	}
out:
	free(m.cases);
	free(m.case_op);
	free(checked);
	return ret;
}

/*
 * An op ready now, completed without waiting: its index, -EAGAIN if none
 * (or none after all), or -errno (a bad fd).
 */
static int select_ready(struct kchan_op *ops, unsigned int n,
			unsigned int flags, struct kchan_thread *t)
{
	struct pollfd stack[OPS_ON_STACK], *pfd = stack;
	unsigned int i, nready, pick;
	int ret;

	if (n > OPS_ON_STACK) {
		pfd = malloc(n * sizeof(*pfd));
		if (!pfd)
			return -EAGAIN;
	}
	for (i = 0; i < n; i++) {
		bool in = ops[i].kind == KCHAN_RECV || ops[i].kind == KCHAN_READABLE;

		pfd[i] = (struct pollfd){ .fd = ops[i].fd, .events = in ? POLLIN : POLLOUT };
	}
	ret = poll(pfd, n, 0);
	if (ret <= 0) {
		ret = -EAGAIN;	/* nothing ready, or a signal: wait */
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (pfd[i].revents & POLLNVAL) {
			ops[i].result = -EBADF;
			ret = -EBADF;
			goto out;
		}
		if (!kchan__ready_for(pfd[i].events == POLLIN ? KCHAN_WAIT_IN :
				      KCHAN_WAIT_OUT, pfd[i].revents))
			pfd[i].revents = 0;
	}
	for (;;) {
		ssize_t moved;

		for (i = 0, nready = 0; i < n; i++)
			nready += pfd[i].revents != 0;
		ret = -EAGAIN;
		if (!nready)
			break;
		pick = (flags & KCHAN_PRIORITY) ? 0 : rand_below(nready);
		for (i = 0; i < n; i++)
			if (pfd[i].revents && pick-- == 0)
				break;
		if (ops[i].kind == KCHAN_READABLE || ops[i].kind == KCHAN_WRITABLE) {
			ops[i].result = 0;
			ret = (int)i;
			break;
		}
		if (ops[i].len == 0)
			break;	/* an empty channel case is an error: ask the kernel */
		moved = io_nowait(t, &ops[i]);
		if (moved == -EAGAIN) {
			pfd[i].revents = 0;	/* taken by someone else */
			continue;
		}
		ops[i].result = moved;
		ret = moved < 0 ? (int)moved : (int)i;
		break;
	}
out:
	if (pfd != stack)
		free(pfd);
	return ret;
}

/* Try the ready ops first after a select that found one, and now and then. */
#define PROBE_EVERY	8

static int select_mixed(struct kchan_op *ops, unsigned int n,
			unsigned int flags, int64_t deadline, int not_chan)
{
	struct kchan_thread *t = kchan__thread();
	bool probe = true;
	unsigned int i;
	int ret;

	/* Found by the kernel not to be a channel: no channels-only try next time. */
	if (not_chan >= 0)
		kchan__fd_hint_set(t, ops[not_chan].fd, KCHAN_FD_NOTCHAN,
				   KCHAN_FD_CHAN);
	/* An op that carries channels is one the kernel's select does. */
	for (i = 0; i < n; i++)
		if (carries(ops[i].kind))
			probe = false;
	if (probe && (deadline == 0 || t->ready_last ||
		      ++t->waits % PROBE_EVERY == 0)) {
		ret = select_ready(ops, n, flags, t);
		t->ready_last = ret != -EAGAIN;
		if (ret != -EAGAIN)
			return ret;
	}
	ret = select_watched(ops, n, flags, deadline, t);
	if (ret != -ENOTSUP)
		return ret;
	return select_wait(ops, n, flags, deadline, not_chan);
}

/* Anything but the common case, which select_plain() turned down. */
static __attribute__((noinline)) int
select_general(struct kchan_op *ops, unsigned int n, unsigned int flags,
	       int64_t deadline, int not_chan)
{
	bool channels_only = n > 0;
	const unsigned char *hint;
	unsigned int i, nhint;
	int ret;

	if (not_chan >= 0)
		return select_mixed(ops, n, flags, deadline, not_chan);
	hint = kchan__fd_hints(&nhint);
	for (i = 0; i < n; i++) {
		struct kchan_op *op = &ops[i];

		if (!kind_ok(op->kind))
			return -EINVAL;
		/* An fd this thread found not to be a channel: straight to mixed. */
		if (!kchan__chan_kind(op->kind) ||
		    ((unsigned int)op->fd < nhint && hint[op->fd] & KCHAN_FD_NOTCHAN))
			channels_only = false;
		op->result = -EAGAIN;
	}
	if (channels_only) {
		/* Tried as channels; the kernel names the first that is not. */
		ret = select_channels(ops, n, flags, deadline, &not_chan);
		if (ret != -ENOTSUP)
			return ret;
	}
	return select_mixed(ops, n, flags, deadline, not_chan);
}

int kchan_select(struct kchan_op *ops, unsigned int n, unsigned int flags,
		 int64_t deadline)
{
	int ret, not_chan = -1;

	if ((n && !ops) || (flags & ~KCHAN_PRIORITY) || deadline < KCHAN_FOREVER)
		return -EINVAL;
	ret = select_plain(ops, n, flags, deadline, &not_chan);
	if (ret != -ENOTSUP)
		return ret;
	return select_general(ops, n, flags, deadline, not_chan);
}
