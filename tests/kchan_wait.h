/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for kchan selftests that involve blocking: waiting until the
 * channel reports a state (a thread is parked in a send or a receive),
 * running one read/write in a background thread and observing whether and
 * when it completed, and a per-thread guard that turns a call which should
 * not block into EINTR instead of a hung test.
 */
#ifndef KCHAN_WAIT_H
#define KCHAN_WAIT_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/userfaultfd.h>

#include "kchan_test.h"

/* Generous: the tests run under an emulated CPU. */
#define KCHAN_WAIT_MS		10000
/* How long "has not happened yet" is observed before moving on. */
#define KCHAN_SETTLE_MS		100

static inline uint64_t kw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline void kw_sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Poll KCHAN_IOC_STAT until the __u32 field at @off equals @want.
 * Returns 0, -ETIMEDOUT, or the -errno of the stat ioctl.
 */
static inline int kchan_wait_u32(int fd, size_t off, __u32 want, int ms)
{
	uint64_t deadline = kw_now_ns() + (uint64_t)ms * 1000000ull;
	struct kchan_stat st;
	__u32 v;
	int ret;

	for (;;) {
		ret = kchan_stat(fd, &st);
		if (ret)
			return ret;
		memcpy(&v, (char *)&st + off, sizeof(v));
		if (v == want)
			return 0;
		if (kw_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* poll() with a zero timeout: the POLLIN/POLLOUT/... bits of @fd now. */
static inline short kchan_ready_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	if (poll(&p, 1, 0) < 0)
		return -1;
	return p.revents;
}

/* kchan_wait_for(fd, receivers, 4): 0 once stat.receivers == 4. */
#define kchan_wait_for(fd, field, want) ({				\
	_Static_assert(sizeof(((struct kchan_stat *)0)->field) == 4,	\
		       #field " is not a __u32");			\
	kchan_wait_u32(fd, offsetof(struct kchan_stat, field), want,	\
		       KCHAN_WAIT_MS);					\
})

/*
 * One read/write/readv/writev, or batch ioctl, in a background thread. A
 * batch's messages are @buf (struct kchan_mmsg[@len]).
 */
enum kchan_op_kind {
	KOP_READ, KOP_WRITE, KOP_READV, KOP_WRITEV,
	KOP_SEND_BATCH, KOP_RECV_BATCH,
};

struct kchan_op {
	/* set by the caller */
	int fd;
	enum kchan_op_kind kind;
	void *buf;
	size_t len;
	const struct iovec *iov;
	int iovcnt;
	unsigned int delay_ms;	/* sleep this long before the call */
	unsigned int senders;	/* then wait until this many are blocked */
	bool stat_before;	/* take @before just before the call */
	/* results */
	pid_t tid;		/* the thread, once it started */
	int wait_ret;		/* of the wait for @senders: 0 or -errno */
	struct kchan_stat before;
	ssize_t ret;		/* length or -errno */
	uint64_t call_ns;	/* CLOCK_MONOTONIC just before the call */
	uint64_t ret_ns;	/* ... and just after it returned */
	atomic_int done;
	pthread_t thread;
};

static inline void *kchan_op_thread(void *arg)
{
	struct kchan_op *op = arg;
	struct kchan_batch b = { .msgs = (uintptr_t)op->buf, .nmsgs = op->len };
	ssize_t n;

	__atomic_store_n(&op->tid, (pid_t)syscall(SYS_gettid),
			 __ATOMIC_RELEASE);
	if (op->delay_ms)
		kw_sleep_ms(op->delay_ms);
	if (op->senders)
		op->wait_ret = kchan_wait_for(op->fd, senders, op->senders);
	if (op->stat_before)
		kchan_stat(op->fd, &op->before);
	op->call_ns = kw_now_ns();
	switch (op->kind) {
	case KOP_READ:
		n = read(op->fd, op->buf, op->len);
		break;
	case KOP_WRITE:
		n = write(op->fd, op->buf, op->len);
		break;
	case KOP_READV:
		n = readv(op->fd, op->iov, op->iovcnt);
		break;
	case KOP_WRITEV:
		n = writev(op->fd, op->iov, op->iovcnt);
		break;
	case KOP_SEND_BATCH:
		n = ioctl(op->fd, KCHAN_IOC_SEND_BATCH, &b);
		break;
	case KOP_RECV_BATCH:
		n = ioctl(op->fd, KCHAN_IOC_RECV_BATCH, &b);
		break;
	default:
		n = -1;
		errno = EINVAL;
	}
	op->ret_ns = kw_now_ns();
	op->ret = n < 0 ? -errno : n;
	atomic_store(&op->done, 1);
	return NULL;
}

static inline int kchan_op_start(struct kchan_op *op)
{
	atomic_store(&op->done, 0);
	op->ret = 0;
	return -pthread_create(&op->thread, NULL, kchan_op_thread, op);
}

static inline int kchan_op_send(struct kchan_op *op, int fd,
				const void *buf, size_t len)
{
	memset(op, 0, sizeof(*op));
	op->fd = fd;
	op->kind = KOP_WRITE;
	op->buf = (void *)buf;
	op->len = len;
	return kchan_op_start(op);
}

static inline int kchan_op_recv(struct kchan_op *op, int fd,
				void *buf, size_t len)
{
	memset(op, 0, sizeof(*op));
	op->fd = fd;
	op->kind = KOP_READ;
	op->buf = buf;
	op->len = len;
	return kchan_op_start(op);
}

/* Start a batch ioctl (@kind KOP_SEND_BATCH or KOP_RECV_BATCH) of @n. */
static inline int kchan_op_batch(struct kchan_op *op, int fd,
				 enum kchan_op_kind kind, struct kchan_mmsg *m,
				 unsigned int n)
{
	memset(op, 0, sizeof(*op));
	op->fd = fd;
	op->kind = kind;
	op->buf = m;
	op->len = n;
	return kchan_op_start(op);
}

static inline bool kchan_op_done(struct kchan_op *op)
{
	return atomic_load(&op->done);
}

/*
 * Wait up to @ms for the operation to return, then join the thread.
 * Returns 0, or -ETIMEDOUT (the thread is left running; the test process
 * exits soon after and takes it along).
 */
static inline int kchan_op_wait(struct kchan_op *op, int ms)
{
	uint64_t deadline = kw_now_ns() + (uint64_t)ms * 1000000ull;

	while (!kchan_op_done(op)) {
		if (kw_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	pthread_join(op->thread, NULL);
	return 0;
}

/* Wait for the operation, return its result, or -ETIMEDOUT. */
static inline ssize_t kchan_op_result(struct kchan_op *op)
{
	if (kchan_op_wait(op, KCHAN_WAIT_MS))
		return -ETIMEDOUT;
	return op->ret;
}

/* Signals a kchan_catch() handler has run for, in this process. */
static atomic_uint kchan_signals_handled;

static inline void kchan_count_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&kchan_signals_handled, 1);
}

/*
 * Handle @sig by counting it (kchan_signals_handled); with @restart under
 * SA_RESTART, else interrupted calls fail with EINTR. 0 or -errno.
 */
static inline int kchan_catch(int sig, bool restart)
{
	struct sigaction sa = { .sa_handler = kchan_count_signal };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	return sigaction(sig, &sa, NULL) ? -errno : 0;
}

/* Wait until more than @seen signals were handled: 0 or -ETIMEDOUT. */
static inline int kchan_wait_signals(unsigned int seen)
{
	uint64_t deadline = kw_now_ns() + KCHAN_WAIT_MS * 1000000ull;

	while (atomic_load(&kchan_signals_handled) <= seen) {
		if (kw_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/*
 * Guard: a timer that sends SIGUSR2 to the calling thread after @ms,
 * with a handler installed without SA_RESTART, so that a call which
 * should have returned at once fails with EINTR instead of hanging the
 * test until the harness timeout.
 */
struct kchan_guard {
	timer_t timer;
	bool armed;
};

static inline void kchan_guard_handler(int sig)
{
	(void)sig;
}

static inline int kchan_guard_start(struct kchan_guard *g, unsigned int ms)
{
	struct sigaction sa = { .sa_handler = kchan_guard_handler };
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

	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
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

static inline void kchan_guard_stop(struct kchan_guard *g)
{
	if (g->armed)
		timer_delete(g->timer);
	g->armed = false;
}

/*
 * Memory that faults on access: @pages pages of PROT_NONE. Kept mapped
 * (rather than unmapped) so that no later mapping can reuse the range.
 */
static inline void *kchan_bad_mem(size_t pages)
{
	void *p = mmap(NULL, pages * getpagesize(), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * A buffer of @good bytes of readable and writable memory that ends
 * exactly where a PROT_NONE page begins: access beyond @good bytes
 * faults. Returns the start of the good bytes, or NULL.
 */
static inline char *kchan_edge_buf(size_t good)
{
	size_t pg = getpagesize();
	size_t good_pages = (good + pg - 1) / pg;
	char *p;

	p = mmap(NULL, (good_pages + 1) * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + good_pages * pg, pg, PROT_NONE))
		return NULL;
	return p + good_pages * pg - good;
}

/* A named channel's node: /dev/chan/NAME. */
static inline void kchan_node_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "/dev/chan/%s", name);
}

/*
 * A per-test unique channel name, "kt-PID-TAG", with every character of
 * TAG outside [A-Za-z0-9.-] turned into '-'.
 */
static inline void kchan_test_name(char *buf, size_t size, const char *tag)
{
	char *p;

	snprintf(buf, size, "kt-%d-%.40s", (int)getpid(), tag);
	for (p = buf; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			*p = '-';
	}
}

/* Message content derived from a seed, so a receiver can check it. */
static inline void kchan_fill(void *buf, size_t len, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static inline bool kchan_check(const void *buf, size_t len, unsigned int seed)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return false;
	return true;
}

#define KCHAN_FEED_MAX	4096

/*
 * A thread that sends @n messages in order, message i being @lens[i]
 * bytes of kchan_fill(seed0 + i), and stops at the first failure.
 */
struct kchan_feeder {
	int fd;
	unsigned int n;
	const size_t *lens;
	unsigned int seed0;
	atomic_uint sent;	/* sends that returned success */
	ssize_t err;		/* the failing send's result, 0 if none */
	atomic_int done;
	pthread_t thread;
};

static inline void *kchan_feeder_thread(void *arg)
{
	static __thread unsigned char buf[KCHAN_FEED_MAX];
	struct kchan_feeder *f = arg;
	unsigned int i;
	ssize_t n;

	for (i = 0; i < f->n; i++) {
		kchan_fill(buf, f->lens[i], f->seed0 + i);
		n = kchan_send(f->fd, buf, f->lens[i]);
		if (n != (ssize_t)f->lens[i]) {
			f->err = n < 0 ? n : -EIO;
			break;
		}
		atomic_fetch_add(&f->sent, 1);
	}
	atomic_store(&f->done, 1);
	return NULL;
}

static inline int kchan_feeder_start(struct kchan_feeder *f, int fd,
				     unsigned int n, const size_t *lens,
				     unsigned int seed0)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->n = n;
	f->lens = lens;
	f->seed0 = seed0;
	return -pthread_create(&f->thread, NULL, kchan_feeder_thread, f);
}

/* Wait until the feeder has made @sent sends succeed (or stopped). */
static inline int kchan_feeder_wait_sent(struct kchan_feeder *f,
					 unsigned int sent)
{
	uint64_t deadline = kw_now_ns() + KCHAN_WAIT_MS * 1000000ull;

	while (atomic_load(&f->sent) < sent && !atomic_load(&f->done)) {
		if (kw_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return atomic_load(&f->sent) >= sent ? 0 : -EIO;
}

/* Wait for the feeder to finish: 0 if every send succeeded. */
static inline int kchan_feeder_finish(struct kchan_feeder *f)
{
	uint64_t deadline = kw_now_ns() + KCHAN_WAIT_MS * 1000000ull;

	while (!atomic_load(&f->done)) {
		if (kw_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	pthread_join(f->thread, NULL);
	return f->err ? (int)f->err : 0;
}

/* KCHAN_IOC_NEXT_LEN: the length, or -errno. */
static inline long kchan_next_len(int fd)
{
	__u32 len = 0;

	if (ioctl(fd, KCHAN_IOC_NEXT_LEN, &len) < 0)
		return -errno;
	return len;
}

/* Set or clear O_NONBLOCK on an open file. */
static inline int kchan_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

/* waitpid() with a deadline: 0 once @pid is reaped, -ETIMEDOUT if not. */
static inline int kchan_reap_within(pid_t pid, int ms, int *status)
{
	uint64_t deadline = kw_now_ns() + (uint64_t)ms * 1000000ull;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0)
			return -errno;
		if (kw_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/*
 * userfaultfd: memory registered with one blocks whoever touches a missing
 * page first, a user access or the kernel copying to or from user memory
 * inside a system call, until the fault is resolved (UFFDIO_COPY,
 * UFFDIO_ZEROPAGE) or the task gets a fatal signal. The descriptor may be
 * handed to another process (kchan_send_fd()), which can then watch and
 * resolve the faults of the process that made it.
 */

/* A non-blocking userfaultfd after the API handshake, or -errno. */
static inline int kchan_uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int uffd, err;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		return -errno;
	if (ioctl(uffd, UFFDIO_API, &api)) {
		err = -errno;
		close(uffd);
		return err;
	}
	return uffd;
}

/* Register [@addr, @addr + @len) (page aligned) for missing-page faults. */
static inline int kchan_uffd_register(int uffd, void *addr, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	return ioctl(uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

/*
 * Wait up to @ms for a task to block on a fault of @uffd; set *@addr to
 * the faulting address. 0, -ETIMEDOUT, or -errno.
 */
static inline int kchan_uffd_wait_fault(int uffd, int ms, __u64 *addr)
{
	uint64_t deadline = kw_now_ns() + (uint64_t)ms * 1000000ull;
	struct uffd_msg msg;
	ssize_t n;

	for (;;) {
		struct pollfd pfd = { .fd = uffd, .events = POLLIN };
		int left = (int)((deadline - kw_now_ns()) / 1000000ull);

		if (kw_now_ns() >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, left > 0 ? left : 1) < 0 && errno != EINTR)
			return -errno;
		n = read(uffd, &msg, sizeof(msg));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		if (n != sizeof(msg))
			return -EIO;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		if (addr)
			*addr = msg.arg.pagefault.address;
		return 0;
	}
}

/* Resolve a fault by filling the page(s) at @dst with @len bytes of @src. */
static inline int kchan_uffd_copy(int uffd, __u64 dst, const void *src,
				  size_t len)
{
	struct uffdio_copy copy = {
		.dst = dst, .src = (unsigned long)src, .len = len,
	};

	while (ioctl(uffd, UFFDIO_COPY, &copy)) {
		if (errno != EAGAIN)
			return -errno;
		copy.copy = 0;
	}
	return 0;
}

/* Resolve a fault by mapping the zero page at @dst. */
static inline int kchan_uffd_zero(int uffd, __u64 dst, size_t len)
{
	struct uffdio_zeropage zero = {
		.range = { .start = dst, .len = len },
	};

	while (ioctl(uffd, UFFDIO_ZEROPAGE, &zero)) {
		if (errno != EAGAIN)
			return -errno;
		zero.zeropage = 0;
	}
	return 0;
}

/*
 * @pages pages whose first touch blocks in a userfaultfd fault until
 * someone resolves it (or the faulting task gets a fatal signal): a way
 * to hold a task in the middle of a copy to or from user memory. Sets
 * *@mem and returns the userfaultfd, or -errno if userfaultfd is not
 * available.
 */
static inline int kchan_uffd_stalling(void **mem, size_t pages)
{
	size_t len = pages * getpagesize();
	int uffd, err;
	void *p;

	uffd = kchan_uffd_open();
	if (uffd < 0)
		return uffd;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		close(uffd);
		return err;
	}
	err = kchan_uffd_register(uffd, p, len);
	if (err) {
		munmap(p, len);
		close(uffd);
		return err;
	}
	*mem = p;
	return uffd;
}

/* Send @len bytes of @data over a unix socket, with @fd attached if >= 0. */
static inline int kchan_send_fd(int sock, int fd, const void *data, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, 0) == (ssize_t)len ? 0 : -EIO;
}

/*
 * Receive what kchan_send_fd() sent, waiting up to @ms: the attached
 * descriptor, -ENOENT if none came with the data, -ETIMEDOUT, or -errno.
 */
static inline int kchan_recv_fd(int sock, void *data, size_t len, int ms)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct cmsghdr *cm;
	int fd;

	if (poll(&pfd, 1, ms) <= 0)
		return -ETIMEDOUT;
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)len)
		return -EIO;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		return -ENOENT;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * /proc/kchan, the list of every channel: how many have an id above
 * @id (ids only grow, so these are the channels made after the one with
 * that id), and whether the one with @id is still there. -errno if the
 * list cannot be read.
 */
static inline int kchan_proc_scan(__u64 id, bool *listed)
{
	char line[256];
	int above = 0;
	FILE *f;

	if (listed)
		*listed = false;
	f = fopen("/proc/kchan", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "%llu ", &v) != 1)
			continue;	/* the header */
		if (v > id)
			above++;
		if (v == id && listed)
			*listed = true;
	}
	fclose(f);
	return above;
}

/* Wait up to @ms until channel @id is gone from /proc/kchan. */
static inline int kchan_wait_unlisted(__u64 id, int ms)
{
	uint64_t deadline = kw_now_ns() + (uint64_t)ms * 1000000ull;
	bool listed;
	int ret;

	for (;;) {
		ret = kchan_proc_scan(id, &listed);
		if (ret < 0)
			return ret;
		if (!listed)
			return 0;
		if (kw_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(10000);
	}
}

#endif /* KCHAN_WAIT_H */
