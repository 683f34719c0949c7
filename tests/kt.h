/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kchan test library, its base: the timeout policy, the clock, test
 * names, the channel calls on the raw interface (each returns >= 0 or
 * -errno), waiting for a channel's state, and message content a receiver
 * can check. Everything is named kt_ / KT_; libkchan.h comes with it.
 *
 * A test that only needs a channel makes, names, opens, unlinks and
 * closes it with libkchan (kchan_make(), kchan_create(), kchan_open(),
 * kchan_unlink(), kchan_close(): >= 0 or -errno too). The raw calls here
 * are for what the library does not do: a test of the ioctls themselves
 * (a request the library would refuse before the kernel sees it, fd_flags
 * such as O_NONBLOCK at creation), and a process that unloads the module,
 * which the library's /dev/chanctl, kept open for the process's life,
 * would pin: kt_make(), kt_create_named() and kt_unlink() open
 * /dev/chanctl for one call only.
 *
 * The other headers, each for one concern:
 *   kt_bg.h       an operation in a background thread, threads' states,
 *                 signals, a guard against a call that should not block
 *   kt_sys.h      the module (load, unload, parameters), sysfs, /proc
 *   kt_fault.h    memory that faults or stalls (userfaultfd), fd passing
 *   kt_select.h   select and select files
 *   kt_fixture.h  the rendezvous/buffered variants of a fixture
 *
 * Nothing here uses the harness's ASSERT macros unless it takes
 * @_metadata, so every other helper may run on any thread.
 */
#ifndef KT_H
#define KT_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/kchan.h>
#include <libkchan.h>

#define KT_CHANCTL	"/dev/chanctl"

/*
 * The one timeout: how long a test waits for something that must happen
 * (a thread to block, a call to return). Generous, for an emulated CPU.
 */
#define KT_TIMEOUT_MS	10000
/* How long "has not happened yet" is observed before moving on. */
#define KT_SETTLE_MS	100

static inline uint64_t kt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline long long kt_now_ms(void)
{
	return (long long)(kt_now_ns() / 1000000ull);
}

/* CLOCK_MONOTONIC now plus @ms, in nanoseconds: a kernel deadline. */
static inline uint64_t kt_deadline_ns(long ms)
{
	return kt_now_ns() + (uint64_t)ms * 1000000ull;
}

static inline void kt_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Poll @cond (an expression) every @step_us until it holds: 0, or
 * -ETIMEDOUT once @ms passed.
 */
#define kt_poll_until(cond, ms, step_us) ({				\
	uint64_t __dl = kt_deadline_ns(ms);				\
	int __ret = 0;							\
	while (!(cond)) {						\
		if (kt_now_ns() > __dl) {				\
			__ret = -ETIMEDOUT;				\
			break;						\
		}							\
		usleep(step_us);					\
	}								\
	__ret;								\
})

/*
 * A per-test unique channel name, "kt-PID-TAG", with every character of
 * TAG outside [A-Za-z0-9.-] turned into '-'.
 */
static inline void kt_name(char *buf, size_t size, const char *tag)
{
	char *p;

	snprintf(buf, size, "kt-%d-%.40s", (int)getpid(), tag);
	for (p = buf; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			*p = '-';
	}
}

/* A named channel's node: /dev/chan/NAME. */
static inline void kt_node_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "/dev/chan/%s", name);
}

/* One ioctl on a fresh /dev/chanctl: its result or -errno. */
static inline int kt_ctl(unsigned long cmd, unsigned long arg)
{
	int ctl, ret, err;

	ctl = open(KT_CHANCTL, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	ret = ioctl(ctl, cmd, arg);
	err = errno;
	close(ctl);
	return ret < 0 ? -err : ret;
}

/* KCHAN_CTL_CREATE with a request built by the caller. */
static inline int kt_create(struct kchan_create *req)
{
	return kt_ctl(KCHAN_CTL_CREATE, (unsigned long)req);
}

/* KCHAN_IOC_VERSION on /dev/chanctl. */
static inline int kt_version(struct kchan_version *v)
{
	memset(v, 0, sizeof(*v));
	return kt_ctl(KCHAN_IOC_VERSION, (unsigned long)v);
}

/* Anonymous channel, raw, with any @fd_flags: returns the fd. */
static inline int kt_make(unsigned int capacity, unsigned int msg_max,
			  unsigned int flags, unsigned int fd_flags)
{
	struct kchan_create req = {
		.capacity = capacity, .msg_max = msg_max,
		.flags = flags, .fd_flags = fd_flags,
	};

	return kt_create(&req);
}

/* Named channel /dev/chan/NAME, raw (the name as it is): returns 0. */
static inline int kt_create_named(const char *name, unsigned int capacity,
				  unsigned int msg_max, unsigned int flags,
				  unsigned int mode)
{
	struct kchan_create req = {
		.capacity = capacity, .msg_max = msg_max,
		.flags = flags, .mode = mode,
	};
	int ret;

	snprintf(req.name, sizeof(req.name), "%s", name);
	ret = kt_create(&req);
	return ret < 0 ? ret : 0;
}

/* KCHAN_CTL_UNLINK, raw (the name as it is): 0 or -errno. */
static inline int kt_unlink(const char *name)
{
	struct kchan_name req = { 0 };
	int ret;

	snprintf(req.name, sizeof(req.name), "%s", name);
	ret = kt_ctl(KCHAN_CTL_UNLINK, (unsigned long)&req);
	return ret < 0 ? ret : 0;
}

static inline int kt_stat(int fd, struct kchan_stat *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, KCHAN_IOC_STAT, st) < 0 ? -errno : 0;
}

/* write()/read(): the length. */
static inline ssize_t kt_send(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

static inline ssize_t kt_recv(int fd, void *buf, size_t cap)
{
	ssize_t n = read(fd, buf, cap);

	return n < 0 ? -errno : n;
}

/* KCHAN_IOC_SENDMSG: @len bytes carrying @n channels; length or -errno. */
static inline ssize_t kt_sendmsg(int fd, const void *buf, size_t len,
				 const struct kchan_chanref *refs,
				 unsigned int n, unsigned int flags)
{
	struct kchan_msghdr h = {
		.buf = (unsigned long)buf, .len = len,
		.chans = (unsigned long)refs, .nchans = n, .flags = flags,
	};
	int ret = ioctl(fd, KCHAN_IOC_SENDMSG, &h);

	return ret < 0 ? -errno : ret;
}

/*
 * KCHAN_IOC_RECVMSG: a message into @buf (@cap bytes) and up to *@n
 * channels into @refs; *@n is set to how many came (if written back).
 * The length, 0 at end of file, or -errno.
 */
static inline ssize_t kt_recvmsg(int fd, void *buf, size_t cap,
				 struct kchan_chanref *refs,
				 unsigned int *n, unsigned int flags)
{
	struct kchan_msghdr h = {
		.buf = (unsigned long)buf, .len = cap,
		.chans = (unsigned long)refs, .nchans = *n, .flags = flags,
	};
	int ret = ioctl(fd, KCHAN_IOC_RECVMSG, &h);

	*n = h.nchans;
	return ret < 0 ? -errno : ret;
}

/* KCHAN_IOC_NEXT_LEN: the length of the message first in line. */
static inline long kt_next_len(int fd)
{
	__u32 len = 0;

	if (ioctl(fd, KCHAN_IOC_NEXT_LEN, &len) < 0)
		return -errno;
	return len;
}

/* Set or clear O_NONBLOCK on an open file. */
static inline int kt_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

/* poll() with a zero timeout: the POLLIN/POLLOUT/... bits of @fd now. */
static inline short kt_ready_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	if (poll(&p, 1, 0) < 0)
		return -1;
	return p.revents;
}

/* A new epoll instance watching @fd for @events: its fd, or -errno. */
static inline int kt_epoll_for(int fd, unsigned int events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	int ep, err;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = errno;
		close(ep);
		return -err;
	}
	return ep;
}

/*
 * Poll KCHAN_IOC_STAT until @done(stat, @a, @b) holds: 0, -ETIMEDOUT,
 * or the error of the stat ioctl.
 */
static inline int kt_wait_stat(int fd, long ms,
			       bool (*done)(const struct kchan_stat *st,
					    size_t a, __u32 b),
			       size_t a, __u32 b)
{
	uint64_t deadline = kt_deadline_ns(ms);
	struct kchan_stat st;
	int ret;

	for (;;) {
		ret = kt_stat(fd, &st);
		if (ret)
			return ret;
		if (done(&st, a, b))
			return 0;
		if (kt_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

static inline bool kt_stat_u32_is(const struct kchan_stat *st, size_t off,
				  __u32 want)
{
	__u32 v;

	memcpy(&v, (const char *)st + off, sizeof(v));
	return v == want;
}

static inline bool kt_stat_blocked(const struct kchan_stat *st,
				   size_t senders, __u32 receivers)
{
	return st->senders >= senders && st->receivers >= receivers;
}

/* kt_wait_for(fd, receivers, 4): 0 once stat.receivers == 4. */
#define kt_wait_for(fd, field, want) ({					\
	_Static_assert(sizeof(((struct kchan_stat *)0)->field) == 4,	\
		       #field " is not a __u32");			\
	kt_wait_stat(fd, KT_TIMEOUT_MS, kt_stat_u32_is,			\
		     offsetof(struct kchan_stat, field), want);		\
})

/*
 * Wait until a message is on offer on the channel of @fd: queued if it
 * is buffered (@capacity > 0), held by a blocked sender if not.
 */
static inline int kt_wait_offered(int fd, unsigned int capacity)
{
	return capacity ? kt_wait_for(fd, queued, 1) :
			  kt_wait_for(fd, senders, 1);
}

/*
 * Wait until at least @senders senders and @receivers receivers are
 * blocked on the channel of @fd.
 */
static inline int kt_wait_blocked(int fd, unsigned int senders,
				  unsigned int receivers, long ms)
{
	return kt_wait_stat(fd, ms, kt_stat_blocked, senders, receivers);
}

/*
 * The number of the first line of file @path that matches @fmt (a
 * sscanf() format with one %lld, "SUnreclaim: %lld kB"), or -1.
 */
static inline long long kt_file_field(const char *path, const char *fmt)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Message content derived from a seed, so a receiver can check it. */
static inline void kt_fill(void *buf, size_t len, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static inline bool kt_check(const void *buf, size_t len, unsigned int seed)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return false;
	return true;
}

/* xorshift32: the next of a test's own pseudo-random numbers, never 0. */
static inline uint32_t kt_rand(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x ? x : 0x2545f491u;
	return *s;
}

#endif /* KT_H */
