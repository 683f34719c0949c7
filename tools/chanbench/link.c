// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: the transports. A link joins side A and side B one way
 * (stream) or both ways (ping-pong); xsend()/xrecv() move one message,
 * stream_many() several per call (io_uring, or batch.c's calls), and they
 * count the syscalls they issue.
 *
 * Through io_uring (mech.uring), kchan, pipe and eventfd take the same
 * path: IORING_OP_READ / IORING_OP_WRITE, tried without blocking, and
 * on EAGAIN retried when poll says the file is ready, never handed to
 * an io-wq worker. In 6.1 a pipe has no FMODE_NOWAIT and an eventfd's
 * write is a plain ->write, which io_uring tries without blocking only
 * on an O_NONBLOCK file: on a blocking pipe or eventfd io_uring hands
 * the request to io-wq. They are opened O_NONBLOCK, as a program using
 * io_uring on them would.
 */
#include "chanbench.h"

#include <linux/futex.h>
#include <mqueue.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

/* One direction of the futex transport, in shared memory. */
struct fx_dir {
	_Atomic uint32_t seq;
	_Atomic uint32_t waiting;
	char pad[56];
	char data[MAX_MSG];
};

static void link_addfd(struct link *l, int fd)
{
	l->fds[l->nfds++] = fd;
}

int mq_new(unsigned int maxmsg, unsigned int size, unsigned int *got)
{
	static unsigned int seq;
	struct mq_attr attr = { .mq_maxmsg = maxmsg, .mq_msgsize = size };
	char name[64];
	mqd_t q;

	for (;;) {
		snprintf(name, sizeof(name), "/chanbench.%d.%u", getpid(), seq++);
		q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600,
			    &attr);
		if (q != (mqd_t)-1)
			break;
		/* Above fs.mqueue.msg_max without CAP_SYS_RESOURCE. */
		if (errno != EINVAL || attr.mq_maxmsg <= 10)
			return -errno;
		attr.mq_maxmsg = 10;
	}
	mq_unlink(name);
	*got = attr.mq_maxmsg;
	return q;
}

/* Makes the link; @two_way: both directions (ping-pong). */
int link_open(struct link *l, const struct mech *m, unsigned int size,
	      bool two_way, bool procs, unsigned int mq_maxmsg)
{
	int ndir = two_way ? 2 : 1, d, fd, p[2], sv[2];
	unsigned int got;

	memset(l, 0, sizeof(*l));
	l->m = m;
	l->size = size;
	l->procs = procs;
	strcpy(l->cap, "-");
	switch (m->kind) {
	case K_KCHAN:
		snprintf(l->cap, sizeof(l->cap), "%u", m->cap);
		for (d = 0; d < ndir; d++) {
			if (d && m->cap == 0) {
				/* Rendezvous: one channel carries both ways. */
				l->wfd[1] = l->rfd[1] = l->wfd[0];
				break;
			}
			fd = chan_new(m->cap, size, 0);
			if (fd < 0)
				return fd;
			link_addfd(l, fd);
			l->wfd[d] = l->rfd[d] = fd;
		}
		break;
	case K_EVENTFD:
		if (m->cap)
			strcpy(l->cap, "sem");
		for (d = 0; d < ndir; d++) {
			fd = eventfd(0, EFD_CLOEXEC |
				     (m->cap ? EFD_SEMAPHORE : 0) |
				     (m->uring ? EFD_NONBLOCK : 0));
			if (fd < 0)
				return -errno;
			link_addfd(l, fd);
			l->wfd[d] = l->rfd[d] = fd;
		}
		break;
	case K_PIPE:
		strcpy(l->cap, "64KiB");
		for (d = 0; d < ndir; d++) {
			if (pipe2(p, O_CLOEXEC | (m->uring ? O_NONBLOCK : 0)))
				return -errno;
			link_addfd(l, p[0]);
			link_addfd(l, p[1]);
			l->rfd[d] = p[0];
			l->wfd[d] = p[1];
		}
		break;
	case K_SEQPACKET:
		strcpy(l->cap, "sndbuf");
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
			return -errno;
		link_addfd(l, sv[0]);
		link_addfd(l, sv[1]);
		l->wfd[0] = sv[0];
		l->rfd[0] = sv[1];
		l->wfd[1] = sv[1];
		l->rfd[1] = sv[0];
		break;
	case K_MQUEUE:
		for (d = 0; d < ndir; d++) {
			fd = mq_new(mq_maxmsg, size, &got);
			if (fd < 0)
				return fd;
			link_addfd(l, fd);
			l->wfd[d] = l->rfd[d] = fd;
		}
		snprintf(l->cap, sizeof(l->cap), "%u", got);
		break;
	case K_FUTEX:
		l->fx = mmap(NULL, 2 * sizeof(struct fx_dir),
			     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			     -1, 0);
		if (l->fx == MAP_FAILED) {
			l->fx = NULL;
			return -errno;
		}
		strcpy(l->cap, "1");
		break;
	}
	return 0;
}

void link_close(struct link *l)
{
	int i;

	for (i = 0; i < l->nfds; i++)
		close(l->fds[i]);
	if (l->fx)
		munmap(l->fx, 2 * sizeof(struct fx_dir));
	l->nfds = 0;
	l->fx = NULL;
}

/*
 * Messages a stream side moves per call: @m->batch when set, else
 * URING_BATCH through io_uring, else one.
 */
int mech_per_call(const struct mech *m)
{
	return m->batch ? (int)m->batch : m->uring ? URING_BATCH : 1;
}

/* Does @m move several messages per system call, other than io_uring? */
bool mech_batched(const struct mech *m)
{
	return m->batch && !m->uring;
}

void side_init(struct side *s, struct link *l)
{
	size_t slots;
	int ret;

	memset(s, 0, sizeof(*s));
	s->l = l;
	s->per_call = mech_per_call(l->m);
	if (s->per_call > BATCH_MSGS)
		die("%s: %d messages per call, at most " STR(BATCH_MSGS),
		    l->m->name, s->per_call);
	slots = s->per_call > URING_BATCH ? s->per_call : URING_BATCH;
	s->buf = aligned_alloc(64, slots * MAX_MSG);
	if (!s->buf)
		die("out of memory");
	memset(s->buf, 'x', slots * MAX_MSG);
	if (l->m->uring) {
		ret = io_uring_queue_init(2 * s->per_call, &s->ring, 0);
		if (ret)
			die("io_uring_queue_init: %s", strerror(-ret));
		s->ring_ok = true;
	}
}

void side_fini(struct side *s)
{
	if (s->ring_ok)
		io_uring_queue_exit(&s->ring);
	free(s->vec);
	free(s->buf);
}

static long sys_futex(_Atomic uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static void fx_send(struct side *s, int dir)
{
	struct fx_dir *fx = &s->l->fx[dir];
	int priv = s->l->procs ? 0 : FUTEX_PRIVATE_FLAG;

	memcpy(fx->data, s->buf, s->l->size);
	atomic_fetch_add(&fx->seq, 1);
	if (atomic_load(&fx->waiting)) {
		sys_futex(&fx->seq, FUTEX_WAKE | priv, 1);
		s->sys++;
	}
}

static void fx_recv(struct side *s, int dir)
{
	struct fx_dir *fx = &s->l->fx[dir];
	int priv = s->l->procs ? 0 : FUTEX_PRIVATE_FLAG;
	uint32_t last = s->fx_last[dir];

	while (atomic_load(&fx->seq) == last) {
		atomic_store(&fx->waiting, 1);
		if (atomic_load(&fx->seq) != last)
			break;
		sys_futex(&fx->seq, FUTEX_WAIT | priv, last);
		s->sys++;
	}
	atomic_store(&fx->waiting, 0);
	s->fx_last[dir] = atomic_load(&fx->seq);
	memcpy(s->buf, fx->data, s->l->size);
}

/*
 * The bytes an io_uring read of one message asks for: an eventfd's
 * counter; a pipe's message exactly, as a pipe keeps no boundaries; up
 * to MAX_MSG elsewhere, as read() does.
 */
static unsigned int uring_room(const struct link *l)
{
	return l->m->kind == K_EVENTFD ? 8 :
	       l->m->kind == K_PIPE ? l->size : MAX_MSG;
}

/* The length of one message through io_uring: an eventfd's counter. */
static unsigned int uring_len(const struct link *l)
{
	return l->m->kind == K_EVENTFD ? 8 : l->size;
}

/* One io_uring read or write of a whole message, waited for. */
static void uring_rw(struct side *s, bool wr, int fd, char *buf)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
	struct io_uring_cqe *cqe;
	uint64_t one = 1;
	int ret;

	if (s->l->m->kind == K_EVENTFD && wr)
		buf = (char *)&one;
	if (wr)
		io_uring_prep_write(sqe, fd, buf, uring_len(s->l), 0);
	else
		io_uring_prep_read(sqe, fd, buf, uring_room(s->l), 0);
	ret = io_uring_submit_and_wait(&s->ring, 1);
	s->sys++;
	if (ret < 0)
		die("io_uring_submit_and_wait: %s", strerror(-ret));
	while ((ret = io_uring_peek_cqe(&s->ring, &cqe)) == -EAGAIN) {
		ret = io_uring_wait_cqe(&s->ring, &cqe);
		s->sys++;
		if (!ret)
			break;
	}
	if (ret)
		die("io_uring_wait_cqe: %s", strerror(-ret));
	if (cqe->res != (int)uring_len(s->l))
		die("%s: io_uring %s: %d", s->l->m->name, wr ? "write" : "read",
		    cqe->res);
	io_uring_cqe_seen(&s->ring, cqe);
}

/* Full-length write/read on a byte stream, or one message elsewhere. */
static void xfer(struct side *s, bool wr, int fd, char *buf)
{
	size_t want = s->l->size, done = 0;
	bool stream = s->l->m->kind == K_PIPE;
	ssize_t n;

	do {
		if (wr)
			n = write(fd, buf + done, want - done);
		else
			n = read(fd, buf + done, stream ? want - done : MAX_MSG);
		s->sys++;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: %s: %s", s->l->m->name, wr ? "write" : "read",
			    n ? strerror(errno) : "end of file");
		if (!stream && (size_t)n != want)
			die("%s: short message %zd", s->l->m->name, n);
		done += n;
	} while (done < want);
}

void xsend(struct side *s, int dir)
{
	struct link *l = s->l;
	uint64_t one = 1;

	if (l->m->uring) {
		uring_rw(s, true, l->wfd[dir], s->buf);
		return;
	}
	switch (l->m->kind) {
	case K_FUTEX:
		fx_send(s, dir);
		return;
	case K_EVENTFD:
		s->sys++;
		if (write(l->wfd[dir], &one, 8) != 8)
			die("eventfd write: %s", strerror(errno));
		return;
	case K_MQUEUE:
		s->sys++;
		while (mq_send(l->wfd[dir], s->buf, l->size, 0))
			if (errno != EINTR)
				die("mq_send: %s", strerror(errno));
		return;
	default:
		xfer(s, true, l->wfd[dir], s->buf);
	}
}

void xrecv(struct side *s, int dir)
{
	struct link *l = s->l;
	uint64_t v;
	ssize_t n;

	if (l->m->uring) {
		uring_rw(s, false, l->rfd[dir], s->buf);
		return;
	}
	switch (l->m->kind) {
	case K_FUTEX:
		fx_recv(s, dir);
		return;
	case K_EVENTFD:
		s->sys++;
		if (read(l->rfd[dir], &v, 8) != 8)
			die("eventfd read: %s", strerror(errno));
		return;
	case K_MQUEUE:
		do {
			n = mq_receive(l->rfd[dir], s->buf, MAX_MSG, NULL);
			s->sys++;
		} while (n < 0 && errno == EINTR);
		if (n != (ssize_t)l->size)
			die("mq_receive: %zd %s", n, strerror(errno));
		return;
	default:
		xfer(s, false, l->rfd[dir], s->buf);
	}
}

/*
 * @k (at most s->per_call) io_uring reads or writes of whole messages in
 * one submit, waited for; returns @k.
 */
static int uring_call(struct side *s, bool wr, int k)
{
	struct io_uring_cqe *cqes[BATCH_MSGS];
	int fd = wr ? s->l->wfd[0] : s->l->rfd[0];
	int i, got, ret;

	for (i = 0; i < k; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
		char *slot = s->buf + (size_t)i * MAX_MSG;

		if (wr)
			io_uring_prep_write(sqe, fd, slot, s->l->size, 0);
		else
			io_uring_prep_read(sqe, fd, slot, uring_room(s->l), 0);
	}
	ret = io_uring_submit_and_wait(&s->ring, k);
	s->sys++;
	if (ret < 0)
		die("io_uring_submit_and_wait: %s", strerror(-ret));
	for (got = 0; got < k; ) {
		unsigned int n = io_uring_peek_batch_cqe(&s->ring, cqes,
							 k - got);

		if (!n) {
			ret = io_uring_wait_cqe_nr(&s->ring, cqes, k - got);
			s->sys++;
			if (ret && ret != -EINTR)
				die("io_uring_wait_cqe_nr: %s", strerror(-ret));
			continue;
		}
		for (i = 0; i < (int)n; i++)
			if (cqes[i]->res != (int)s->l->size)
				die("%s: io_uring %s: %d", s->l->m->name,
				    wr ? "write" : "read", cqes[i]->res);
		io_uring_cq_advance(&s->ring, n);
		got += n;
	}
	return k;
}

/*
 * Streams @total messages up to s->per_call per call: io_uring submits,
 * or batched calls (batch.c). Calls @mark once @warm messages are done.
 * A receiver of batched calls takes what is ready, so no call reaches
 * past @warm: both sides then mark at the same message, and the time
 * and counts cover the same ones.
 */
void stream_many(struct side *s, bool wr, long total, long warm,
		 void (*mark)(void *), void *arg)
{
	long done = 0, k;
	bool marked = false;

	while (done < total) {
		if (!marked && done >= warm) {
			mark(arg);
			marked = true;
		}
		k = total - done;
		if (!marked && warm - done < k)
			k = warm - done;
		if (k > s->per_call)
			k = s->per_call;
		if (s->l->m->uring)
			done += uring_call(s, wr, k);
		else
			done += batch_call(s, wr, k);
	}
	if (!marked)
		mark(arg);
}
