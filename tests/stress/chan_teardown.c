// SPDX-License-Identifier: GPL-2.0
/*
 * Teardown under stress: what removing names and closing files does while
 * other threads are using them.
 *
 *  - Many named channels with several files each (read-only, write-only,
 *    read-write, non-blocking) lose their names while threads hammer the
 *    files with sends, receives, polls and stats, some of them blocked
 *    until the channels are closed; once every file is closed, nothing of
 *    them is left in /proc/kchan, /dev/chan or /sys/class/chan.
 *  - Names are created, opened and removed from several threads at once,
 *    on a small pool of names so that they collide (EEXIST and ENOENT are
 *    expected answers, leaks and crashes are not).
 *  - Files are closed while other threads are blocked in read, write or
 *    poll on them: a close through another file wakes them, whichever
 *    comes first, and the channel goes away after the last file.
 *  - Afterwards the module's reference count is back to 0, it unloads
 *    (taking the named channels nobody had open with it) and loads again.
 *
 * The last test unloads and loads kchan.ko ($KCHAN_MODULE, set by
 * tools/vm, or else build/mod/kmod/kchan.ko); without root or that file
 * it is skipped. Run in the test VM.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kt.h"
#include "kt_bg.h"
#include "kt_sys.h"
#include "kt_fixture.h"

#define MSG_MAX		64
#define NR_CHANS	200
/*
 * A debug kernel under emulation takes a long time to make a device:
 * then as many channels as fit in this time, but at least MIN_CHANS.
 */
#define CREATE_MS	15000
#define MIN_CHANS	40
#define NR_QUIET	8	/* channels the hammers leave alone */
#define NR_HOT		12	/* channels most calls go to, so that peers meet */
#define NR_HAMMERS	4	/* non-blocking calls */
#define NR_BLOCKERS	4	/* blocking calls */
#define HAMMER_NICE	10
#define NR_POOL		6	/* names the racers fight over */
#define NR_RACERS	6
#define RACE_MS		1500
#define RACE_MAX_MS	20000	/* ... or until the names did collide */
#define MIN_COLLISIONS	10
#define KEEP_FDS	4	/* files a racer keeps open for a while */
#define MAX_SEEN	1024	/* channel ids a racer remembers */
#define NR_BLOCKED	3	/* readers, and writers, blocked on one channel */
/*
 * How long a channel may stay listed after its last file closed: with
 * CONFIG_DEBUG_KOBJECT_RELEASE the device (which holds the channel) is
 * released seconds later.
 */
#define GONE_MS		20000
#define JOIN_MS		15000


/* The four ways a channel file is opened here. */
enum { FD_RD, FD_WR, FD_RDWR, FD_NB, NR_FDS };

static const int open_flags[NR_FDS] = {
	[FD_RD] = O_RDONLY,
	[FD_WR] = O_WRONLY,
	[FD_RDWR] = O_RDWR,
	[FD_NB] = O_RDWR | O_NONBLOCK,
};

/* ---- helpers ------------------------------------------------------------ */

static int stat_errno(const char *fmt, const char *name)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), fmt, name);
	return stat(path, &st) ? -errno : 0;
}

static bool node_exists(const char *name)
{
	return stat_errno("/dev/chan/%s", name) == 0;
}

static bool sysfs_exists(const char *name)
{
	return stat_errno("/sys/class/chan/%s", name) == 0;
}

static __u64 chan_id(int fd)
{
	struct kchan_stat st;

	return kt_stat(fd, &st) ? 0 : st.id;
}

/* One line of /proc/kchan: id and name ("-" once unnamed). */
struct listed {
	unsigned long long id;
	char name[KCHAN_NAME_SIZE];
};

/* Every channel /proc/kchan lists, in a malloc'ed array. 0 or -errno. */
static int proc_list(struct listed **out, size_t *n)
{
	size_t cap = 64;
	char line[512];
	FILE *f;

	*n = 0;
	*out = malloc(cap * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	f = fopen("/proc/kchan", "re");
	if (!f) {
		free(*out);
		*out = NULL;
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		struct listed l;

		if (sscanf(line, "%llu %71s", &l.id, l.name) != 2)
			continue;	/* the header */
		if (*n == cap) {
			struct listed *p = realloc(*out, 2 * cap * sizeof(*p));

			if (!p) {
				fclose(f);
				return -ENOMEM;
			}
			*out = p;
			cap *= 2;
		}
		(*out)[(*n)++] = l;
	}
	fclose(f);
	return 0;
}

static const struct listed *find_id(const struct listed *l, size_t n,
				    unsigned long long id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (l[i].id == id)
			return &l[i];
	return NULL;
}

static size_t count_prefix(const struct listed *l, size_t n,
			   const char *prefix)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += !strncmp(l[i].name, prefix, strlen(prefix));
	return k;
}

/* Entries of @dir whose name starts with @prefix, or -errno. */
static int dir_count_prefix(const char *dir, const char *prefix)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

/*
 * Wait until none of @ids (0 entries skipped) and no channel named with
 * @prefix is listed in /proc/kchan. Returns how many are still there
 * (logging them), or -errno.
 */
static int wait_gone(struct __test_metadata *_metadata, const __u64 *ids,
		     size_t nr_ids, const char *prefix)
{
	uint64_t deadline = kt_now_ns() + GONE_MS * 1000000ull;
	struct listed *l;
	size_t n, i;
	int left, ret;

	for (;;) {
		ret = proc_list(&l, &n);
		if (ret)
			return ret;
		left = prefix ? (int)count_prefix(l, n, prefix) : 0;
		for (i = 0; i < nr_ids; i++)
			left += ids[i] && find_id(l, n, ids[i]);
		if (!left || kt_now_ns() > deadline)
			break;
		free(l);
		usleep(20000);
	}
	for (i = 0; i < nr_ids && left; i++)
		if (ids[i] && find_id(l, n, ids[i]))
			TH_LOG("channel %llu still listed after its last close",
			       (unsigned long long)ids[i]);
	for (i = 0; i < n && left && prefix; i++)
		if (!strncmp(l[i].name, prefix, strlen(prefix)))
			TH_LOG("channel %llu still listed as %s", l[i].id,
			       l[i].name);
	free(l);
	return left;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The prefix kt_name() gives every name of this process. */
static void name_prefix(char *buf, size_t size)
{
	snprintf(buf, size, "kt-%d-", (int)getpid());
}

/* ---- many channels, hammered while their names go ---------------------- */

struct hammer {
	struct td *td;
	pthread_t thread;
	bool started;
	bool blocking;
	uint32_t rng;
	unsigned long ops;
	unsigned long unexpected;
	const char *bad_op;		/* the first unexpected result */
	long bad_ret;
	int bad_chan;
	atomic_int done;
};

struct td {
	int nr;
	char name[NR_CHANS][KCHAN_NAME_SIZE];
	bool named[NR_CHANS];
	unsigned int capacity[NR_CHANS];
	int fd[NR_CHANS][NR_FDS];
	__u64 id[NR_CHANS];
	atomic_bool stop;
	struct hammer h[NR_HAMMERS + NR_BLOCKERS];
	int nh;
};

static void unexpected(struct hammer *h, const char *op, long ret, int chan)
{
	if (!h->unexpected++) {
		h->bad_op = op;
		h->bad_ret = ret;
		h->bad_chan = chan;
	}
}

static bool read_fdinfo_id(int fd, __u64 want)
{
	char path[64], line[128];
	unsigned long long id;
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "kchan-id: %llu", &id) == 1)
			ok = id == want;
	fclose(f);
	return ok;
}

/* One call that must not block; any result outside the contract counts. */
static void hammer_nowait(struct hammer *h, int c)
{
	struct td *td = h->td;
	int k = kt_rand(&h->rng) % NR_FDS, fd = td->fd[c][k];
	bool rd = k != FD_WR, wr = k != FD_RD;
	char buf[MSG_MAX] = "hammered";
	struct iovec iov = { .iov_base = buf };
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	struct kchan_stat st;
	struct stat sb;
	ssize_t n;
	long len;

	switch (kt_rand(&h->rng) % 8) {
	case 0:
		iov.iov_len = 1 + kt_rand(&h->rng) % MSG_MAX;
		n = pwritev2(fd, &iov, 1, -1, RWF_NOWAIT);
		n = n < 0 ? -errno : n;
		if (!(wr ? n == (ssize_t)iov.iov_len || n == -EAGAIN ||
			   n == -EPIPE : n == -EBADF))
			unexpected(h, "pwritev2(RWF_NOWAIT)", n, c);
		break;
	case 1:
		iov.iov_len = MSG_MAX;
		n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
		n = n < 0 ? -errno : n;
		if (!(rd ? n >= 0 || n == -EAGAIN : n == -EBADF))
			unexpected(h, "preadv2(RWF_NOWAIT)", n, c);
		break;
	case 2:
		fd = td->fd[c][FD_NB];
		if (kt_rand(&h->rng) % 2) {
			n = kt_send(fd, buf, 8);
			if (n != 8 && n != -EAGAIN && n != -EPIPE)
				unexpected(h, "write(O_NONBLOCK)", n, c);
		} else {
			n = kt_recv(fd, buf, sizeof(buf));
			if (n < 0 && n != -EAGAIN)
				unexpected(h, "read(O_NONBLOCK)", n, c);
		}
		break;
	case 3:
		n = poll(&pfd, 1, 0);
		if (n < 0 || (pfd.revents & POLLNVAL))
			unexpected(h, "poll", n < 0 ? -errno : pfd.revents, c);
		break;
	case 4:
		n = kt_stat(fd, &st);
		if (n || st.id != td->id[c])
			unexpected(h, "KCHAN_IOC_STAT", n ? n : (long)st.id, c);
		break;
	case 5:
		len = kt_next_len(fd);
		if (len < 0 && len != -EAGAIN && len != -ENODATA)
			unexpected(h, "KCHAN_IOC_NEXT_LEN", len, c);
		break;
	case 6:
		if (fstat(fd, &sb) || !S_ISCHR(sb.st_mode))
			unexpected(h, "fstat", -errno, c);
		break;
	case 7:
		if (!read_fdinfo_id(fd, td->id[c]))
			unexpected(h, "fdinfo", 0, c);
		break;
	}
}

/* One call that may block until a peer comes or the channel is closed. */
static void hammer_blocking(struct hammer *h, int c)
{
	struct td *td = h->td;
	char buf[MSG_MAX] = "blocked";
	struct pollfd pfd = { .fd = td->fd[c][FD_RDWR], .events = POLLIN };
	ssize_t n;

	switch (kt_rand(&h->rng) % 3) {
	case 0:
		n = kt_send(td->fd[c][FD_WR], buf, 1 + kt_rand(&h->rng) % MSG_MAX);
		if (n <= 0 && n != -EPIPE)
			unexpected(h, "write", n, c);
		break;
	case 1:
		n = kt_recv(td->fd[c][FD_RD], buf, sizeof(buf));
		if (n < 0)
			unexpected(h, "read", n, c);
		break;
	case 2:
		n = poll(&pfd, 1, -1);
		if (n != 1 || (pfd.revents & POLLNVAL))
			unexpected(h, "poll", n < 0 ? -errno : pfd.revents, c);
		break;
	}
}

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	struct td *td = h->td;
	int c;

	/* Under fire, but the main thread's unlinks and closes go first. */
	setpriority(PRIO_PROCESS, kt_gettid(), HAMMER_NICE);

	while (!atomic_load(&td->stop)) {
		if (kt_rand(&h->rng) % 4)
			c = NR_QUIET + kt_rand(&h->rng) % NR_HOT;
		else
			c = NR_QUIET + kt_rand(&h->rng) % (td->nr - NR_QUIET);
		if (h->blocking)
			hammer_blocking(h, c);
		else
			hammer_nowait(h, c);
		h->ops++;
	}
	atomic_store(&h->done, 1);
	return NULL;
}

FIXTURE(many) {
	struct td td;
	char prefix[32];
};

FIXTURE_SETUP(many)
{
	int c, k;

	raise_nofile();
	name_prefix(self->prefix, sizeof(self->prefix));
	for (c = 0; c < NR_CHANS; c++)
		for (k = 0; k < NR_FDS; k++)
			self->td.fd[c][k] = -1;
	ASSERT_EQ(0, access(KT_CHANCTL, F_OK)) TH_LOG("is the module loaded?");
}

FIXTURE_TEARDOWN(many)
{
	struct td *td = &self->td;
	int c, k, i;

	atomic_store(&td->stop, true);
	for (c = 0; c < td->nr; c++)
		if (td->fd[c][FD_WR] >= 0)
			kchan_close(td->fd[c][FD_WR]);
	for (i = 0; i < td->nh; i++)
		if (td->h[i].started)
			pthread_join(td->h[i].thread, NULL);
	for (c = 0; c < td->nr; c++) {
		for (k = 0; k < NR_FDS; k++)
			if (td->fd[c][k] >= 0)
				close(td->fd[c][k]);
		if (td->named[c])
			kt_unlink(td->name[c]);
	}
}

/* Stop the hammers: close every channel, then wait for each thread. */
static void stop_hammers(struct __test_metadata *_metadata, struct td *td)
{
	unsigned long nowait_ops = 0, blocking_ops = 0;
	uint64_t deadline;
	int c, i, ret;

	atomic_store(&td->stop, true);
	for (c = 0; c < td->nr; c++) {
		ret = kchan_close(td->fd[c][FD_WR]);
		EXPECT_TRUE(ret == 0 || ret == -EPIPE)
			TH_LOG("closing channel %d: %s", c, strerror(-ret));
	}
	deadline = kt_now_ns() + JOIN_MS * 1000000ull;
	for (i = 0; i < td->nh; i++) {
		struct hammer *h = &td->h[i];

		while (!atomic_load(&h->done) && kt_now_ns() < deadline)
			usleep(2000);
		ASSERT_TRUE(atomic_load(&h->done))
			TH_LOG("%s thread %d still blocked after every channel was closed",
			       h->blocking ? "blocking" : "non-blocking", i);
		pthread_join(h->thread, NULL);
		h->started = false;
		EXPECT_EQ(0ul, h->unexpected)
			TH_LOG("%s thread %d: %lu unexpected results, first %s on channel %d: %ld",
			       h->blocking ? "blocking" : "non-blocking", i,
			       h->unexpected, h->bad_op, h->bad_chan,
			       h->bad_ret);
		EXPECT_LT(0ul, h->ops);
		if (h->blocking)
			blocking_ops += h->ops;
		else
			nowait_ops += h->ops;
	}
	ksft_print_msg("hammered %d channels: %lu non-blocking calls, %lu blocking ones\n",
		       td->nr - NR_QUIET, nowait_ops, blocking_ops);
	/* The test ends in _exit(): flush what a pipe buffers. */
	fflush(stdout);
}

TEST_F_TIMEOUT(many, unlinked_channels_vanish_after_hammered_fds_close, 120)
{
	struct td *td = &self->td;
	char buf[MSG_MAX], tag[16];
	struct listed *l;
	uint32_t rng = 12345;
	int order[NR_CHANS];
	uint64_t start, phase, unlink_ms;
	int c, k, i, ret;
	size_t n;

	/* Channels 0..NR_QUIET-1 are buffered: they are checked by hand. */
	start = kt_now_ns();
	for (c = 0; c < NR_CHANS; c++) {
		if (c >= MIN_CHANS && kt_now_ns() - start > CREATE_MS * 1000000ull)
			break;
		snprintf(tag, sizeof(tag), "td%d", c);
		kt_name(td->name[c], KCHAN_NAME_SIZE, tag);
		td->capacity[c] = c < NR_QUIET ? 2 : c % 3 ? c % 5 : 0;
		ret = kt_create_named(td->name[c], td->capacity[c], MSG_MAX,
					 0, 0600);
		ASSERT_EQ(0, ret) TH_LOG("creating %s: %s", td->name[c],
					 strerror(-ret));
		td->named[c] = true;
		td->nr = c + 1;
		for (k = 0; k < NR_FDS; k++) {
			td->fd[c][k] = kchan_open(td->name[c], open_flags[k]);
			ASSERT_LE(0, td->fd[c][k])
				TH_LOG("opening %s: %s", td->name[c],
				       strerror(-td->fd[c][k]));
		}
		td->id[c] = chan_id(td->fd[c][FD_RDWR]);
		ASSERT_NE(0ull, (unsigned long long)td->id[c]);
		for (k = 0; k < NR_FDS; k++)
			ASSERT_EQ(td->id[c], chan_id(td->fd[c][k]));
	}
	ksft_print_msg("made %d named channels with %d files each in %llu ms\n",
		       td->nr, NR_FDS,
		       (unsigned long long)(kt_now_ns() - start) / 1000000);
	/* The test ends in _exit(): flush what a pipe buffers. */
	fflush(stdout);
	ASSERT_EQ(0, proc_list(&l, &n));
	for (c = 0; c < td->nr; c++) {
		const struct listed *e = find_id(l, n, td->id[c]);

		ASSERT_NE(NULL, e);
		EXPECT_STREQ(td->name[c], e->name);
		EXPECT_TRUE(sysfs_exists(td->name[c]));
	}
	free(l);

	for (i = 0; i < NR_HAMMERS + NR_BLOCKERS; i++) {
		struct hammer *h = &td->h[i];

		h->td = td;
		h->blocking = i >= NR_HAMMERS;
		h->rng = 1000 + i;
		ASSERT_EQ(0, pthread_create(&h->thread, NULL, hammer_main, h));
		h->started = true;
		td->nh = i + 1;
	}
	kt_sleep_ms(300);

	/* Remove every name, in random order, under fire. */
	for (c = 0; c < td->nr; c++)
		order[c] = c;
	for (c = td->nr - 1; c > 0; c--) {
		i = kt_rand(&rng) % (c + 1);
		k = order[c];
		order[c] = order[i];
		order[i] = k;
	}
	phase = kt_now_ns();
	for (i = 0; i < td->nr; i++) {
		c = order[i];
		ret = kt_unlink(td->name[c]);
		ASSERT_EQ(0, ret) TH_LOG("unlinking %s: %s", td->name[c],
					 strerror(-ret));
		td->named[c] = false;
	}
	unlink_ms = (kt_now_ns() - phase) / 1000000;
	for (c = 0; c < td->nr; c++) {
		EXPECT_FALSE(node_exists(td->name[c]));
		EXPECT_FALSE(sysfs_exists(td->name[c]));
		EXPECT_EQ(-ENOENT, kchan_open(td->name[c], O_RDWR));
	}
	/* Unnamed now, but alive: listed without a name, and working. */
	ASSERT_EQ(0, proc_list(&l, &n));
	for (c = 0; c < td->nr; c++) {
		const struct listed *e = find_id(l, n, td->id[c]);

		ASSERT_NE(NULL, e) TH_LOG("channel %d gone while open", c);
		EXPECT_STREQ("-", e->name);
	}
	free(l);
	for (c = 0; c < NR_QUIET; c++) {
		struct kchan_stat st;
		char got[MSG_MAX] = "";
		ssize_t len;

		ASSERT_EQ(0, kt_stat(td->fd[c][FD_RD], &st));
		EXPECT_EQ(0u, st.flags & KCHAN_STAT_NAMED);
		len = snprintf(buf, sizeof(buf), "after unlink %d", c);
		EXPECT_EQ(len, kt_send(td->fd[c][FD_WR], buf, len));
		EXPECT_EQ(len, kt_recv(td->fd[c][FD_RD], got, sizeof(got)));
		EXPECT_EQ(0, memcmp(buf, got, len));
	}
	kt_sleep_ms(300);

	/* Close half of them under fire, then the rest. */
	for (i = 0; i < td->nr / 2; i++)
		EXPECT_EQ(0, kchan_close(td->fd[order[i]][FD_WR]));
	kt_sleep_ms(200);
	stop_hammers(_metadata, td);

	for (c = 0; c < td->nr; c++) {
		for (k = 0; k < NR_FDS; k++) {
			EXPECT_EQ(0, close(td->fd[c][k]));
			td->fd[c][k] = -1;
		}
	}
	phase = kt_now_ns();
	EXPECT_EQ(0, wait_gone(_metadata, td->id, td->nr, self->prefix));
	ksft_print_msg("names removed under fire in %llu ms; channels gone %llu ms after their last close\n",
		       (unsigned long long)unlink_ms,
		       (unsigned long long)(kt_now_ns() - phase) / 1000000);
	/* The test ends in _exit(): flush what a pipe buffers. */
	fflush(stdout);
	EXPECT_EQ(0, dir_count_prefix("/dev/chan", self->prefix));
	EXPECT_EQ(0, dir_count_prefix("/sys/class/chan", self->prefix));
}

/* ---- names created and removed from several threads at once ------------ */

struct racer {
	struct race *race;
	pthread_t thread;
	bool started;
	uint32_t rng;
	int keep[KEEP_FDS];
	int nkeep;
	__u64 seen[MAX_SEEN];
	int nseen;
	unsigned long created, eexist, unlinked, enoent, opened, open_failed;
	unsigned long unexpected;
	const char *bad_op;
	long bad_ret;
};

struct race {
	char pool[NR_POOL][KCHAN_NAME_SIZE];
	atomic_bool stop;
	struct racer r[NR_RACERS];
};

static void racer_bad(struct racer *r, const char *op, long ret)
{
	if (!r->unexpected++) {
		r->bad_op = op;
		r->bad_ret = ret;
	}
}

static void racer_keep(struct racer *r, int fd)
{
	__u64 id = chan_id(fd);

	if (!id)
		racer_bad(r, "KCHAN_IOC_STAT", -errno);
	else if (r->nseen < MAX_SEEN)
		r->seen[r->nseen++] = id;
	if (r->nkeep == KEEP_FDS) {
		close(r->keep[0]);
		memmove(r->keep, r->keep + 1, (KEEP_FDS - 1) * sizeof(int));
		r->nkeep--;
	}
	r->keep[r->nkeep++] = fd;
}

/* Use an opened channel a little: it must behave like any channel. */
static void racer_use(struct racer *r, int fd)
{
	char buf[MSG_MAX];
	ssize_t n;
	int ret;

	n = kt_send(fd, "r", 1);
	if (n != 1 && n != -EAGAIN && n != -EPIPE)
		racer_bad(r, "write", n);
	n = kt_recv(fd, buf, sizeof(buf));
	if (n < 0 && n != -EAGAIN)
		racer_bad(r, "read", n);
	if (kt_rand(&r->rng) % 4 == 0) {
		ret = kchan_close(fd);
		if (ret && ret != -EPIPE)
			racer_bad(r, "KCHAN_IOC_CLOSE", ret);
	}
}

static void racer_sysfs(struct racer *r, const char *name)
{
	char path[160], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/chan/%s/%s", name,
		 kt_rand(&r->rng) % 2 ? "id" : "queued");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* Gone (ENOENT), or being removed while we opened (ENODEV). */
		if (errno != ENOENT && errno != ENODEV)
			racer_bad(r, "open sysfs", -errno);
		return;
	}
	n = read(fd, buf, sizeof(buf));
	/* A device removed after the open: kernfs answers ENODEV. */
	if (n <= 0 && !(n < 0 && errno == ENODEV))
		racer_bad(r, "read sysfs", n < 0 ? -errno : n);
	close(fd);
}

static void racer_proc(struct racer *r)
{
	struct listed *l;
	size_t n;
	int ret;

	ret = proc_list(&l, &n);
	if (ret)
		racer_bad(r, "read /proc/kchan", ret);
	else
		free(l);
}

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	struct race *race = r->race;
	const char *name;
	int ret;

	while (!atomic_load(&race->stop)) {
		name = race->pool[kt_rand(&r->rng) % NR_POOL];
		switch (kt_rand(&r->rng) % 8) {
		case 0:
		case 1:
			ret = kt_create_named(name, kt_rand(&r->rng) % 3,
						 MSG_MAX, 0, 0600);
			if (!ret)
				r->created++;
			else if (ret == -EEXIST)
				r->eexist++;
			else
				racer_bad(r, "create", ret);
			break;
		case 2:
		case 3:
			ret = kt_unlink(name);
			if (!ret)
				r->unlinked++;
			else if (ret == -ENOENT)
				r->enoent++;
			else
				racer_bad(r, "unlink", ret);
			break;
		case 4:
		case 5:
			ret = kchan_open(name, O_RDWR | O_NONBLOCK);
			if (ret >= 0) {
				r->opened++;
				racer_use(r, ret);
				racer_keep(r, ret);
			} else if (ret == -ENOENT || ret == -ENXIO) {
				/* gone, or going */
				r->open_failed++;
			} else {
				racer_bad(r, "open", ret);
			}
			break;
		case 6:
			racer_sysfs(r, name);
			break;
		case 7:
			racer_proc(r);
			break;
		}
	}
	return NULL;
}

/* Enough creates, clashes and misses so far (read while they run). */
static bool race_collided(struct race *race)
{
	unsigned long created = 0, eexist = 0, enoent = 0;
	int i;

	for (i = 0; i < NR_RACERS; i++) {
		created += __atomic_load_n(&race->r[i].created, __ATOMIC_RELAXED);
		eexist += __atomic_load_n(&race->r[i].eexist, __ATOMIC_RELAXED);
		enoent += __atomic_load_n(&race->r[i].enoent, __ATOMIC_RELAXED);
	}
	return created >= MIN_COLLISIONS && eexist >= MIN_COLLISIONS &&
	       enoent >= MIN_COLLISIONS;
}

FIXTURE(race) {
	struct race race;
	char prefix[32];
};

FIXTURE_SETUP(race)
{
	char tag[16];
	int i;

	name_prefix(self->prefix, sizeof(self->prefix));
	for (i = 0; i < NR_POOL; i++) {
		snprintf(tag, sizeof(tag), "pool%d", i);
		kt_name(self->race.pool[i], KCHAN_NAME_SIZE, tag);
	}
	ASSERT_EQ(0, access(KT_CHANCTL, F_OK)) TH_LOG("is the module loaded?");
}

FIXTURE_TEARDOWN(race)
{
	struct race *race = &self->race;
	int i, k;

	atomic_store(&race->stop, true);
	for (i = 0; i < NR_RACERS; i++) {
		if (race->r[i].started)
			pthread_join(race->r[i].thread, NULL);
		for (k = 0; k < race->r[i].nkeep; k++)
			close(race->r[i].keep[k]);
		race->r[i].nkeep = 0;
	}
	for (i = 0; i < NR_POOL; i++)
		kt_unlink(race->pool[i]);
}

TEST_F_TIMEOUT(race, colliding_names_from_many_threads_leave_nothing_behind,
	       90)
{
	struct race *race = &self->race;
	unsigned long created = 0, eexist = 0, unlinked = 0, enoent = 0;
	unsigned long opened = 0;
	uint64_t start = kt_now_ns();
	__u64 *ids;
	size_t nids = 0;
	int i, k, ret;

	for (i = 0; i < NR_RACERS; i++) {
		struct racer *r = &race->r[i];

		r->race = race;
		r->rng = 777 + 31 * i;
		ASSERT_EQ(0, pthread_create(&r->thread, NULL, racer_main, r));
		r->started = true;
	}
	kt_sleep_ms(RACE_MS);
	while (!race_collided(race) &&
	       kt_now_ns() - start < RACE_MAX_MS * 1000000ull)
		kt_sleep_ms(100);
	atomic_store(&race->stop, true);

	ids = calloc(NR_RACERS * MAX_SEEN, sizeof(*ids));
	ASSERT_NE(NULL, ids);
	for (i = 0; i < NR_RACERS; i++) {
		struct racer *r = &race->r[i];

		pthread_join(r->thread, NULL);
		r->started = false;
		EXPECT_EQ(0ul, r->unexpected)
			TH_LOG("racer %d: %lu unexpected results, first %s: %ld (%s)",
			       i, r->unexpected, r->bad_op, r->bad_ret,
			       strerror((int)-r->bad_ret));
		for (k = 0; k < r->nkeep; k++)
			EXPECT_EQ(0, close(r->keep[k]));
		r->nkeep = 0;
		for (k = 0; k < r->nseen; k++)
			ids[nids++] = r->seen[k];
		created += r->created;
		eexist += r->eexist;
		unlinked += r->unlinked;
		enoent += r->enoent;
		opened += r->opened;
	}
	/* What is left of the pool goes now; each name exactly once. */
	for (i = 0; i < NR_POOL; i++) {
		bool there = node_exists(race->pool[i]);

		ret = kt_unlink(race->pool[i]);
		EXPECT_EQ(there ? 0 : -ENOENT, ret)
			TH_LOG("%s: node %s, unlink: %s", race->pool[i],
			       there ? "present" : "absent", strerror(-ret));
		if (!ret)
			unlinked++;
		EXPECT_EQ(-ENOENT, kt_unlink(race->pool[i]));
		EXPECT_FALSE(node_exists(race->pool[i]));
		EXPECT_FALSE(sysfs_exists(race->pool[i]));
	}
	EXPECT_EQ(created, unlinked)
		TH_LOG("%lu names created, %lu removed", created, unlinked);

	EXPECT_EQ(0, wait_gone(_metadata, ids, nids, self->prefix));
	EXPECT_EQ(0, dir_count_prefix("/dev/chan", self->prefix));
	EXPECT_EQ(0, dir_count_prefix("/sys/class/chan", self->prefix));
	free(ids);

	ksft_print_msg("%d names, %d threads: %lu created, %lu EEXIST, %lu removed, %lu ENOENT, %lu opened\n",
		       NR_POOL, NR_RACERS, created, eexist, unlinked, enoent,
		       opened);
	/* The test ends in _exit(): flush what a pipe buffers. */
	fflush(stdout);
	/* They did collide. */
	EXPECT_LT(0ul, created);
	EXPECT_LT(0ul, eexist);
	EXPECT_LT(0ul, enoent);
	EXPECT_LT(0ul, opened);
}

/* ---- closing files under blocked threads ------------------------------- */

FIXTURE(blocked) {
	char rname[KCHAN_NAME_SIZE];	/* receivers wait here */
	char wname[KCHAN_NAME_SIZE];	/* senders wait here */
	bool rnamed, wnamed;
	int rctl, wctl;			/* O_WRONLY, for the close ioctl */
	int rfd[NR_BLOCKED], wfd[NR_BLOCKED], pfd;
	struct kt_op rop[NR_BLOCKED], wop[NR_BLOCKED];
	char rbuf[NR_BLOCKED][MSG_MAX];
	struct kt_op poller;
	bool started;
	__u64 ids[2];
};

KT_CHAN_VARIANTS(blocked, 2);

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

FIXTURE_SETUP(blocked)
{
	int i, ret;

	self->rctl = self->wctl = self->pfd = -1;
	for (i = 0; i < NR_BLOCKED; i++)
		self->rfd[i] = self->wfd[i] = -1;
	kt_name(self->rname, KCHAN_NAME_SIZE, "blocked-rx");
	kt_name(self->wname, KCHAN_NAME_SIZE, "blocked-tx");
	ret = kt_create_named(self->rname, variant->capacity, MSG_MAX, 0,
				 0600);
	ASSERT_EQ(0, ret) TH_LOG("creating: %s (is the module loaded?)",
				 strerror(-ret));
	self->rnamed = true;
	ASSERT_EQ(0, kt_create_named(self->wname, variant->capacity,
					MSG_MAX, 0, 0600));
	self->wnamed = true;

	self->rctl = kchan_open(self->rname, O_WRONLY);
	self->wctl = kchan_open(self->wname, O_WRONLY);
	ASSERT_LE(0, self->rctl);
	ASSERT_LE(0, self->wctl);
	self->ids[0] = chan_id(self->rctl);
	self->ids[1] = chan_id(self->wctl);
	for (i = 0; i < NR_BLOCKED; i++) {
		self->rfd[i] = kchan_open(self->rname, O_RDONLY);
		self->wfd[i] = kchan_open(self->wname, O_WRONLY);
		ASSERT_LE(0, self->rfd[i]);
		ASSERT_LE(0, self->wfd[i]);
	}
	self->pfd = kchan_open(self->rname, O_RDONLY);
	ASSERT_LE(0, self->pfd);

	/* The senders' channel is full, so that they block. */
	for (i = 0; i < (int)variant->capacity; i++)
		ASSERT_EQ(4, kt_send(self->wctl, "full", 4));

	self->started = true;
	for (i = 0; i < NR_BLOCKED; i++) {
		ASSERT_EQ(0, kt_op_recv(&self->rop[i], self->rfd[i],
					   self->rbuf[i], MSG_MAX));
		ASSERT_EQ(0, kt_op_send(&self->wop[i], self->wfd[i],
					   "waiting", 7));
	}
	ASSERT_EQ(0, kt_op_run(&self->poller, self->pfd, KT_POLL, NULL));
	ASSERT_EQ(0, kt_wait_for(self->rctl, receivers, NR_BLOCKED));
	ASSERT_EQ(0, kt_wait_for(self->wctl, senders, NR_BLOCKED));
	ASSERT_EQ(0, kt_op_wait_sleeping(&self->poller, SYS_poll));
}

FIXTURE_TEARDOWN(blocked)
{
	int i;

	if (self->started) {
		if (self->rctl >= 0)
			kchan_close(self->rctl);
		if (self->wctl >= 0)
			kchan_close(self->wctl);
		for (i = 0; i < NR_BLOCKED; i++) {
			kt_op_wait(&self->rop[i], KT_TIMEOUT_MS);
			kt_op_wait(&self->wop[i], KT_TIMEOUT_MS);
		}
		kt_op_wait(&self->poller, KT_TIMEOUT_MS);
	}
	for (i = 0; i < NR_BLOCKED; i++) {
		close_fd(&self->rfd[i]);
		close_fd(&self->wfd[i]);
	}
	close_fd(&self->pfd);
	close_fd(&self->rctl);
	close_fd(&self->wctl);
	if (self->rnamed)
		kt_unlink(self->rname);
	if (self->wnamed)
		kt_unlink(self->wname);
}

static void unlink_both(struct __test_metadata *_metadata,
			FIXTURE_DATA(blocked) *self)
{
	ASSERT_EQ(0, kt_unlink(self->rname));
	self->rnamed = false;
	ASSERT_EQ(0, kt_unlink(self->wname));
	self->wnamed = false;
}

/* Every blocked thread returned as a close makes it: EOF, EPIPE, HUP. */
static void check_woken(struct __test_metadata *_metadata,
			FIXTURE_DATA(blocked) *self, bool fds_were_closed)
{
	int i;

	for (i = 0; i < NR_BLOCKED; i++) {
		EXPECT_EQ(0, kt_op_result(&self->rop[i]))
			TH_LOG("receiver %d", i);
		EXPECT_EQ(-EPIPE, kt_op_result(&self->wop[i]))
			TH_LOG("sender %d", i);
	}
	ASSERT_EQ(0, kt_op_wait(&self->poller, KT_TIMEOUT_MS))
		TH_LOG("poll still blocked after the close");
	self->started = false;
	EXPECT_EQ(1, self->poller.ret);
	if (fds_were_closed) {
		/* Woken, it looked again and found the descriptor gone. */
		EXPECT_EQ(POLLNVAL, self->poller.revents);
	} else {
		EXPECT_NE(0, self->poller.revents & (POLLHUP | POLLNVAL))
			TH_LOG("revents %#x", self->poller.revents);
	}
}

static void close_blocked_fds(struct __test_metadata *_metadata,
			      FIXTURE_DATA(blocked) *self)
{
	int i;

	for (i = 0; i < NR_BLOCKED; i++) {
		EXPECT_EQ(0, close(self->rfd[i]));
		EXPECT_EQ(0, close(self->wfd[i]));
		self->rfd[i] = self->wfd[i] = -1;
	}
	EXPECT_EQ(0, close(self->pfd));
	self->pfd = -1;
}

/* The last files: the channels must go with them. */
static void close_last_and_check_gone(struct __test_metadata *_metadata,
				      FIXTURE_DATA(blocked) *self)
{
	EXPECT_EQ(0, close(self->rctl));
	EXPECT_EQ(0, close(self->wctl));
	self->rctl = self->wctl = -1;
	EXPECT_EQ(0, wait_gone(_metadata, self->ids, 2, NULL));
}

TEST_F(blocked, close_ioctl_then_closing_the_fds_wakes_every_blocked_thread)
{
	unlink_both(_metadata, self);
	ASSERT_EQ(0, kchan_close(self->rctl));
	ASSERT_EQ(0, kchan_close(self->wctl));
	/* At once, while the woken threads are still on their way out. */
	close_blocked_fds(_metadata, self);
	check_woken(_metadata, self, false);
	close_last_and_check_gone(_metadata, self);
}

TEST_F(blocked, closing_the_fds_leaves_threads_blocked_until_the_close_ioctl)
{
	struct kchan_stat st;
	int i;

	unlink_both(_metadata, self);
	close_blocked_fds(_metadata, self);
	kt_sleep_ms(KT_SETTLE_MS);
	/* The calls in progress hold their files: nothing changed. */
	for (i = 0; i < NR_BLOCKED; i++) {
		EXPECT_FALSE(kt_op_done(&self->rop[i]));
		EXPECT_FALSE(kt_op_done(&self->wop[i]));
	}
	EXPECT_FALSE(kt_op_done(&self->poller));
	ASSERT_EQ(0, kt_stat(self->rctl, &st));
	EXPECT_EQ((__u32)NR_BLOCKED, st.receivers);
	ASSERT_EQ(0, kt_stat(self->wctl, &st));
	EXPECT_EQ((__u32)NR_BLOCKED, st.senders);

	ASSERT_EQ(0, kchan_close(self->rctl));
	ASSERT_EQ(0, kchan_close(self->wctl));
	check_woken(_metadata, self, true);
	close_last_and_check_gone(_metadata, self);
}

/* ---- and then the module goes, and comes back -------------------------- */

#define NR_RELOAD_CHANS	40

/* The refcount drops as the last references go, some of them deferred. */
static long long wait_refcnt_zero(int ms)
{
	uint64_t deadline = kt_now_ns() + (uint64_t)ms * 1000000ull;
	long long v;

	while ((v = kt_module_refcnt()) > 0 && kt_now_ns() < deadline)
		usleep(20000);
	return v;
}

static void log_proc_kchan(struct __test_metadata *_metadata)
{
	char line[256];
	FILE *f = fopen("/proc/kchan", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		TH_LOG("/proc/kchan: %.*s", (int)strcspn(line, "\n"), line);
	fclose(f);
}

FIXTURE(reload) {
	bool skip;
	char name[NR_RELOAD_CHANS][KCHAN_NAME_SIZE];
	bool named[NR_RELOAD_CHANS];
	int fd[NR_RELOAD_CHANS][2];
	char prefix[32];
};

FIXTURE_SETUP(reload)
{
	int c;

	for (c = 0; c < NR_RELOAD_CHANS; c++)
		self->fd[c][0] = self->fd[c][1] = -1;
	name_prefix(self->prefix, sizeof(self->prefix));
	self->skip = getuid() != 0 || access(kt_ko_path(), R_OK) ||
		     access(KT_SYS_MODULE "/refcnt", R_OK);
}

FIXTURE_TEARDOWN(reload)
{
	int c, k, ret;

	for (c = 0; c < NR_RELOAD_CHANS; c++) {
		for (k = 0; k < 2; k++)
			close_fd(&self->fd[c][k]);
		if (self->named[c] && kt_module_loaded())
			kt_unlink(self->name[c]);
	}
	if (!self->skip && !kt_module_loaded()) {
		ret = kt_load("");
		if (ret)
			TH_LOG("could not load %s again: %s", kt_ko_path(),
			       strerror(-ret));
	}
}

/* An io_uring read left pending when its ring goes: released later. */
static int uring_abandon_read(int fd)
{
	static char buf[MSG_MAX];
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	int ret;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret)
		return ret;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
	ret = io_uring_submit(&ring);
	io_uring_queue_exit(&ring);
	return ret == 1 ? 0 : ret < 0 ? ret : -EIO;
}

TEST_F_TIMEOUT(reload, module_unloads_and_loads_again_after_teardown, 90)
{
	struct kt_op op;
	char buf[MSG_MAX], tag[16];
	struct listed *l;
	long long refcnt;
	int c, anon, ret;
	size_t n;

	if (self->skip)
		SKIP(return, "needs root, %s and a loadable kchan", kt_ko_path());

	/*
	 * Even channels lose their names while open; odd ones keep them and
	 * stay behind, idle, some holding a message.
	 */
	for (c = 0; c < NR_RELOAD_CHANS; c++) {
		snprintf(tag, sizeof(tag), "rl%d", c);
		kt_name(self->name[c], KCHAN_NAME_SIZE, tag);
		ASSERT_EQ(0, kt_create_named(self->name[c], c % 4 < 2 ? 0 : 2,
						MSG_MAX, 0, 0600));
		self->named[c] = true;
		self->fd[c][0] = kchan_open(self->name[c], O_RDONLY);
		self->fd[c][1] = kchan_open(self->name[c], O_WRONLY);
		ASSERT_LE(0, self->fd[c][0]);
		ASSERT_LE(0, self->fd[c][1]);
		if (c % 4 >= 2)
			ASSERT_EQ(4, kt_send(self->fd[c][1], "left", 4));
	}
	for (c = 0; c < NR_RELOAD_CHANS; c += 2) {
		ASSERT_EQ(0, kt_unlink(self->name[c]));
		self->named[c] = false;
	}
	/* A receiver blocked on an unnamed channel, woken by its close. */
	ASSERT_EQ(0, kt_op_recv(&op, self->fd[0][0], buf, sizeof(buf)));
	ASSERT_EQ(0, kt_wait_for(self->fd[0][1], receivers, 1));
	ASSERT_EQ(0, kchan_close(self->fd[0][1]));
	ASSERT_EQ(0, kt_op_result(&op));
	/* An anonymous channel with an io_uring read pending at ring exit. */
	anon = kt_make(0, MSG_MAX, 0, O_CLOEXEC);
	ASSERT_LE(0, anon);
	ASSERT_EQ(0, uring_abandon_read(anon));
	close(anon);
	for (c = 0; c < NR_RELOAD_CHANS; c++) {
		close_fd(&self->fd[c][0]);
		close_fd(&self->fd[c][1]);
	}

	refcnt = wait_refcnt_zero(GONE_MS);
	if (refcnt)
		log_proc_kchan(_metadata);
	ASSERT_EQ(0, refcnt) TH_LOG("kchan still referenced with every file closed");
	ASSERT_EQ(0, proc_list(&l, &n));
	EXPECT_EQ((size_t)NR_RELOAD_CHANS / 2, count_prefix(l, n, self->prefix));
	free(l);

	ret = kt_unload();
	ASSERT_EQ(0, ret) TH_LOG("delete_module: %s", strerror(-ret));
	EXPECT_FALSE(kt_module_loaded());
	EXPECT_NE(0, access(KT_CHANCTL, F_OK));
	EXPECT_NE(0, access("/proc/kchan", F_OK));
	EXPECT_NE(0, access("/sys/class/chan", F_OK));
	EXPECT_EQ(0, dir_count_prefix("/dev/chan", self->prefix));
	for (c = 0; c < NR_RELOAD_CHANS; c++)
		self->named[c] = false;

	ret = kt_load("");
	ASSERT_EQ(0, ret) TH_LOG("loading %s again: %s", kt_ko_path(),
				 strerror(-ret));
	EXPECT_EQ(0, kt_module_refcnt());
	ASSERT_EQ(0, access(KT_CHANCTL, F_OK));
	ASSERT_EQ(0, proc_list(&l, &n));
	EXPECT_EQ(0u, count_prefix(l, n, self->prefix));
	free(l);

	/* Fresh and working: the old names are free again. */
	anon = kt_make(1, MSG_MAX, 0, O_CLOEXEC);
	ASSERT_LE(0, anon);
	EXPECT_EQ(2, kt_send(anon, "ok", 2));
	EXPECT_EQ(2, kt_recv(anon, buf, sizeof(buf)));
	close(anon);
	ASSERT_EQ(0, kt_create_named(self->name[1], 0, MSG_MAX, 0, 0600));
	self->named[1] = true;
	EXPECT_TRUE(node_exists(self->name[1]));
	EXPECT_EQ(0, kt_unlink(self->name[1]));
	self->named[1] = false;
}

TEST_HARNESS_MAIN
