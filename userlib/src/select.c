// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * kchan_select(): Go's select over channels and any other descriptor.
 *
 * Channels alone: one KCHAN_CTL_SELECT. With other descriptors among the
 * ops, the channel ops are armed on a select file, and that file and the
 * other descriptors are waited on together in one epoll or one io_uring
 * (wait.c). The select file completes a channel op by itself; any other
 * op is completed here, and only after the armed select was cancelled:
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
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
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
	return kind >= KCHAN_SEND && kind <= KCHAN_WRITABLE;
}

static void case_of(struct kchan_case *c, const struct kchan_op *op)
{
	c->fd = op->fd;
	c->op = op->kind == KCHAN_SEND ? KCHAN_OP_SEND : KCHAN_OP_RECV;
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
 * Channels only: one call. -ENOTSUP asks for the mixed path, with the op
 * found not to be a channel in *@not_chan.
 */
static int select_channels(struct kchan_op *ops, unsigned int n,
			   unsigned int flags, int64_t deadline, int *not_chan)
{
	struct kchan_case stack[OPS_ON_STACK], *cases = stack;
	__u64 len = 0;
	unsigned int i;
	int bad, ret;

	if (n == 0)
		return -ENOTSUP;
	if (n > OPS_ON_STACK) {
		cases = malloc(n * sizeof(*cases));
		if (!cases)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		case_of(&cases[i], &ops[i]);
	ret = kchan__select_cases(cases, n, flags, deadline, &len, &bad);
	if (cases != stack)
		free(cases);
	if (ret >= 0) {
		ops[ret].result = (ssize_t)len;
		return ret;
	}
	if (bad >= 0 && (unsigned int)bad < n) {
		if (ret == -EINVAL && kchan__is_chan(ops[bad].fd) == 0) {
			*not_chan = bad;
			return -ENOTSUP;
		}
		ops[bad].result = ret;
	}
	return ret;
}

/*
 * One read() or write() that does not wait, whatever the fd's flags:
 * RWF_NOWAIT where the file supports it (pipes, eventfds), else
 * MSG_DONTWAIT on a socket (and no SIGPIPE), else a plain call, which
 * does not wait either since the fd just polled ready (timerfds).
 */
static ssize_t io_nowait(const struct kchan_op *op)
{
	struct iovec iov = { .iov_base = op->buf, .iov_len = op->len };
	bool in = op->kind == KCHAN_RECV;
	ssize_t n;

	n = in ? preadv2(op->fd, &iov, 1, -1, RWF_NOWAIT) :
		 pwritev2(op->fd, &iov, 1, -1, RWF_NOWAIT);
	if (n >= 0 || errno != EOPNOTSUPP)
		return n < 0 ? -errno : n;
	n = in ? recv(op->fd, op->buf, op->len, MSG_DONTWAIT) :
		 send(op->fd, op->buf, op->len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0 || errno != ENOTSOCK)
		return n < 0 ? -errno : n;
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

		if (req.index >= 0 && (unsigned int)req.index < m->ncases)
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
	ssize_t got = read(m->sfd, &r, sizeof(r));

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
	n = io_nowait(op);
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

static int sel_fd(void)
{
	int ctl = kchan__ctl();
	int fd;

	if (ctl < 0)
		return ctl;
	fd = ioctl(ctl, KCHAN_CTL_SELECT_FD, O_CLOEXEC | O_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static int select_mixed(struct kchan_op *ops, unsigned int n,
			unsigned int flags, int64_t deadline, int not_chan)
{
	struct mixed m = { .ops = ops, .n = n, .flags = flags, .sfd = -1 };
	unsigned int i;
	int ret, is_chan;

	m.cases = calloc(n ? n : 1, sizeof(*m.cases));
	m.case_op = calloc(n ? n : 1, sizeof(*m.case_op));
	ret = kchan__wait_init(&m.w, n + 1);
	if (!m.cases || !m.case_op || ret) {
		ret = ret ? ret : -ENOMEM;
		goto out;
	}
	/* Entry 0 is the select file; it is watched only if armed. */
	kchan__wait_add(&m.w, -1, KCHAN_WAIT_IN, -1);
	for (i = 0; i < n; i++) {
		struct kchan_op *op = &ops[i];

		if (op->fd < 0)
			continue;	/* never ready: Go's nil channel */
		is_chan = 0;
		if ((op->kind == KCHAN_SEND || op->kind == KCHAN_RECV) &&
		    (int)i != not_chan) {
			is_chan = kchan__is_chan(op->fd);
			if (is_chan < 0) {
				op->result = is_chan;
				ret = is_chan;
				goto out;
			}
		}
		if (is_chan) {
			m.case_op[m.ncases] = i;
			case_of(&m.cases[m.ncases++], op);
			continue;
		}
		kchan__wait_add(&m.w, op->fd,
				op->kind == KCHAN_RECV || op->kind == KCHAN_READABLE ?
				KCHAN_WAIT_IN : KCHAN_WAIT_OUT, (int)i);
	}
	if (m.ncases) {
		m.sfd = sel_fd();
		if (m.sfd < 0) {
			ret = m.sfd;
			goto out;
		}
		m.w.ent[0].fd = m.sfd;
	}
	ret = kchan__wait_start(&m.w);
	if (ret) {
		if (m.w.bad >= 0 && m.w.ent[m.w.bad].op >= 0)
			ops[m.w.ent[m.w.bad].op].result = ret;
		goto out;
	}
	ret = run(&m, deadline);
	if (m.armed) {
		int late;

		/* Failing on the way out: a completed channel op still wins. */
		if (disarm(&m, &late) == 1)
			ret = late;
	}
out:
	kchan__wait_fini(&m.w);
	if (m.sfd >= 0)
		close(m.sfd);
	free(m.cases);
	free(m.case_op);
	return ret;
}

int kchan_select(struct kchan_op *ops, unsigned int n, unsigned int flags,
		 int64_t deadline)
{
	bool channels_only = n > 0;
	int ret, not_chan = -1;
	unsigned int i;

	if ((n && !ops) || (flags & ~KCHAN_PRIORITY) || deadline < KCHAN_FOREVER)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!kind_ok(ops[i].kind))
			return -EINVAL;
		if (ops[i].kind != KCHAN_SEND && ops[i].kind != KCHAN_RECV)
			channels_only = false;
	}
	reset_results(ops, n);
	if (channels_only) {
		/* Tried as channels; the kernel names the first that is not. */
		ret = select_channels(ops, n, flags, deadline, &not_chan);
		if (ret != -ENOTSUP)
			return ret;
	}
	return select_mixed(ops, n, flags, deadline, not_chan);
}
