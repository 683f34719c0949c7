// SPDX-License-Identifier: GPL-2.0
/*
 * What an idle channel costs in kernel memory (performance.md's M1: at
 * most an eventfd's cost and 128 B more, with its file), and that its
 * file looks as an anon-inode file. The slab caches are read from
 * /proc/slabinfo (active objects times their size) before and after
 * making NR_CHANS anonymous channels, or as many eventfds; run as root
 * in the test VM, skipped where slabinfo cannot be read.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "kt.h"
#include "kt_harness.h"

#define NR_CHANS	1000
/* A debug kernel (KASAN, kmemleak) makes channels slowly. */
#define TEST_TIMEOUT	240
#define MSG_MAX		64
#define CAPACITY	64
/* performance.md, M1: what a channel may cost beyond an eventfd */
#define PEER_MARGIN	128
#ifndef ANON_INODE_FS_MAGIC
#define ANON_INODE_FS_MAGIC	0x09041934
#endif

#define MAX_CACHES	512

/* /proc/slabinfo: bytes in active objects, per cache. */
struct slab_use {
	int n;
	char name[MAX_CACHES][64];
	long long bytes[MAX_CACHES];
	long long size[MAX_CACHES];	/* of one object */
};

/* Reads /proc/slabinfo into @u; returns false if it cannot be read. */
static bool slab_read(struct slab_use *u)
{
	char line[512];
	long long active, num, size;
	FILE *f = fopen("/proc/slabinfo", "re");

	u->n = 0;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f) && u->n < MAX_CACHES) {
		if (sscanf(line, "%63s %lld %lld %lld", u->name[u->n], &active,
			   &num, &size) != 4)
			continue;
		u->size[u->n] = size;
		u->bytes[u->n++] = active * size;
	}
	fclose(f);
	return true;
}

/*
 * What cache @cache (NULL: every cache) grew by from @b to @a, per
 * channel. SLUB counts the free objects of a CPU's slabs as active, so a
 * cache's growth is off by up to a slab: a cache that grew by half an
 * object per channel or more is counted in whole objects per channel
 * (each channel allocates whole objects), a smaller growth (a node of
 * the channel table shared by many) as it is.
 */
static long long slab_grown(struct __test_metadata *_metadata,
			    const struct slab_use *b, const struct slab_use *a,
			    const char *cache)
{
	long long sum = 0, was, per;
	int i, j;

	for (i = 0; i < a->n; i++) {
		if (cache && strcmp(cache, a->name[i]))
			continue;
		was = 0;
		for (j = 0; j < b->n; j++)
			if (!strcmp(b->name[j], a->name[i]))
				was = b->bytes[j];
		per = (a->bytes[i] - was) / NR_CHANS;
		if (per <= 0)
			continue;
		if (2 * per >= a->size[i])
			per = (per + a->size[i] / 2) / a->size[i] * a->size[i];
		if (per >= 8)
			TH_LOG("%s grew by %lld B per channel (objects of %lld B)",
			       a->name[i], per, a->size[i]);
		sum += per;
	}
	return sum;
}

/*
 * Waits, for at most a few seconds, until the slab stops shrinking: what
 * an earlier test closed is freed after an RCU grace period, and would
 * count against this one.
 */
static void slab_settle(struct slab_use *u)
{
	long long last = -1, now;
	int i, j;

	for (i = 0; i < 50; i++) {
		slab_read(u);
		now = 0;
		for (j = 0; j < u->n; j++)
			now += u->bytes[j];
		if (last >= 0 && now >= last - 4096)
			return;
		last = now;
		kt_sleep_ms(100);
	}
}

FIXTURE(idle) {
	int fds[NR_CHANS];
	int n;
	struct slab_use before, after;
};

FIXTURE_VARIANT(idle) {
	unsigned int capacity;
};

FIXTURE_VARIANT_ADD(idle, rendezvous) {
	.capacity = 0,
};

FIXTURE_VARIANT_ADD(idle, buffered) {
	.capacity = CAPACITY,
};

FIXTURE_SETUP(idle)
{
	struct rlimit rl = { NR_CHANS + 64, NR_CHANS + 64 };
	int fd;

	self->n = 0;
	if (!slab_read(&self->before))
		SKIP(return, "/proc/slabinfo cannot be read (needs root)");
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	/* Grow the descriptor table now, not while measuring. */
	fd = dup2(0, NR_CHANS + 32);
	ASSERT_LE(0, fd);
	close(fd);
}

FIXTURE_TEARDOWN(idle)
{
	while (self->n > 0)
		close(self->fds[--self->n]);
}

/*
 * Makes the fixture's channels, idle, of @capacity; returns per channel
 * what cache @cache (NULL: every cache) grew by.
 */
static long long make_idle(struct __test_metadata *_metadata,
			   FIXTURE_DATA(idle) *self, unsigned int capacity,
			   const char *cache)
{
	struct kchan_create req = {
		.capacity = capacity, .msg_max = MSG_MAX,
		.fd_flags = O_CLOEXEC,
	};
	/* One control file: each one closed would be freed only later. */
	int ctl = open(KT_CHANCTL, O_RDWR | O_CLOEXEC);

	EXPECT_LE(0, ctl);
	slab_settle(&self->before);
	for (self->n = 0; self->n < NR_CHANS; self->n++) {
		int fd = ioctl(ctl, KCHAN_CTL_CREATE, &req);

		if (fd < 0) {
			TH_LOG("channel %d: %s", self->n, strerror(errno));
			break;
		}
		self->fds[self->n] = fd;
	}
	slab_read(&self->after);
	close(ctl);
	EXPECT_EQ(NR_CHANS, self->n);
	return slab_grown(_metadata, &self->before, &self->after, cache);
}

/* Objects carry no debugging metadata: kmalloc-192's are 192 bytes. */
static bool slab_plain(const struct slab_use *u)
{
	int i;

	for (i = 0; i < u->n; i++)
		if (!strcmp(u->name[i], "kmalloc-192"))
			return u->size[i] == 192;
	return false;
}

/* As make_idle(), with NR_CHANS eventfds, closed again before it returns. */
static long long make_eventfds(struct __test_metadata *_metadata,
			       FIXTURE_DATA(idle) *self)
{
	long long grown;

	slab_settle(&self->before);
	for (self->n = 0; self->n < NR_CHANS; self->n++) {
		int fd = eventfd(0, EFD_CLOEXEC);

		if (fd < 0) {
			TH_LOG("eventfd %d: %s", self->n, strerror(errno));
			break;
		}
		self->fds[self->n] = fd;
	}
	slab_read(&self->after);
	EXPECT_EQ(NR_CHANS, self->n);
	grown = slab_grown(_metadata, &self->before, &self->after, NULL);
	while (self->n > 0)
		close(self->fds[--self->n]);
	return grown;
}

TEST_F_TIMEOUT(idle, an_idle_channel_costs_at_most_an_eventfd_and_128_bytes,
	       TEST_TIMEOUT)
{
	long long peer = make_eventfds(_metadata, self);
	long long grown = make_idle(_metadata, self, variant->capacity, NULL);

	if (!slab_plain(&self->after))
		SKIP(return, "slab objects carry debugging metadata here");
	TH_LOG("an idle channel %lld B, an eventfd %lld B", grown, peer);
	EXPECT_LT(0, peer);
	EXPECT_GE(peer + PEER_MARGIN, grown);
}

TEST(an_anonymous_channel_file_reads_as_an_anon_inode_file)
{
	char path[64], link[64];
	struct statfs sfs;
	struct stat st[2];
	int fd[2], i;
	ssize_t len;

	for (i = 0; i < 2; i++) {
		fd[i] = kchan_make(0, MSG_MAX, 0);
		ASSERT_LE(0, fd[i]);
		ASSERT_EQ(0, fstat(fd[i], &st[i]));
		EXPECT_EQ(0, st[i].st_mode & S_IFMT);
		EXPECT_EQ(0600, st[i].st_mode & 07777);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd[0]);
	len = readlink(path, link, sizeof(link) - 1);
	ASSERT_LT(0, len);
	link[len] = 0;
	EXPECT_STREQ("anon_inode:[kchan]", link);
	ASSERT_EQ(0, fstatfs(fd[0], &sfs));
	EXPECT_EQ(ANON_INODE_FS_MAGIC, (unsigned long)sfs.f_type);
	/* One inode serves every anonymous channel, as it did. */
	EXPECT_EQ(st[0].st_ino, st[1].st_ino);
	EXPECT_EQ(st[0].st_dev, st[1].st_dev);
	close(fd[0]);
	close(fd[1]);
}

TEST_HARNESS_MAIN
