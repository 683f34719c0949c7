// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: kernel memory per idle object. Slab use is read before and
 * after making N objects of a kind (anonymous channels of capacity 0 and
 * 64, eventfds, pipes, POSIX message queues), from /proc/meminfo (whole
 * slab pages) and, when readable, /proc/slabinfo (active objects times
 * their size, with the caches that grew most named in the row's note).
 */
#include "chanbench.h"

#include <mqueue.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#define MAX_CACHES	512
#define CACHE_NAME	40

struct slab_use {
	double pages_b;		/* /proc/meminfo Slab */
	double objs_b;		/* /proc/slabinfo active objects x size */
	bool have_objs;
	int ncache;
	char name[MAX_CACHES][CACHE_NAME];
	double bytes[MAX_CACHES];	/* per cache: active objects x size */
};

/* Per kind of object: which caches grew, summed over the runs. */
struct growth {
	int ncache;
	char name[MAX_CACHES][CACHE_NAME];
	double per_obj[MAX_CACHES];
};

static void slab_read(struct slab_use *u)
{
	char line[512], name[CACHE_NAME];
	long kb, active, num, size;
	FILE *f;

	u->pages_b = u->objs_b = 0;
	u->have_objs = false;
	u->ncache = 0;
	f = fopen("/proc/meminfo", "r");
	if (!f)
		die("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %ld kB", &kb) == 1)
			u->pages_b = kb * 1024.0;
	fclose(f);
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%39s %ld %ld %ld", name, &active, &num,
			   &size) != 4)
			continue;
		u->objs_b += (double)active * size;
		if (u->ncache < MAX_CACHES) {
			strcpy(u->name[u->ncache], name);
			u->bytes[u->ncache++] = (double)active * size;
		}
	}
	u->have_objs = true;
	fclose(f);
}

/* Adds to @g, per cache, what grew from @u0 to @u1 for @k objects. */
static void growth_add(struct growth *g, const struct slab_use *u0,
		       const struct slab_use *u1, int k)
{
	int i, j;

	for (i = 0; i < u1->ncache; i++) {
		double before = 0;

		for (j = 0; j < u0->ncache; j++)
			if (!strcmp(u0->name[j], u1->name[i])) {
				before = u0->bytes[j];
				break;
			}
		for (j = 0; j < g->ncache; j++)
			if (!strcmp(g->name[j], u1->name[i]))
				break;
		if (j == g->ncache) {
			if (g->ncache == MAX_CACHES)
				continue;
			strcpy(g->name[g->ncache++], u1->name[i]);
		}
		g->per_obj[j] += (u1->bytes[i] - before) / k;
	}
}

/* "cache B, cache B, ..." for the caches that grew most per object. */
static void growth_note(const struct growth *g, int runs, char *buf,
			size_t len)
{
	bool used[MAX_CACHES] = { false };
	size_t off = 0;
	int n, i, best;

	buf[0] = 0;
	for (n = 0; n < 4; n++) {
		best = -1;
		for (i = 0; i < g->ncache; i++)
			if (!used[i] && (best < 0 ||
					 g->per_obj[i] > g->per_obj[best]))
				best = i;
		if (best < 0 || g->per_obj[best] / runs < 16)
			break;
		used[best] = true;
		off += snprintf(buf + off, len - off, "%s%s %.0f",
				off ? ", " : "", g->name[best],
				g->per_obj[best] / runs);
		if (off >= len)
			break;
	}
}

enum { MEM_KCHAN0, MEM_KCHAN64, MEM_EVENTFD, MEM_PIPE, MEM_MQUEUE, NR_MEM };
static const char *const mem_names[NR_MEM] = {
	"kchan-c0", "kchan-c64", "eventfd", "pipe", "mqueue",
};

/*
 * Creates @n objects of @which into @fds (2 per pipe); returns how many
 * were made. kchan limits channels per user (by real uid): as root, later
 * blocks are made under other real uids, keeping euid 0 to come back.
 */
static int mem_make(int which, int n, int *fds, int per_user)
{
	struct kchan_create req = { .msg_max = 64, .fd_flags = O_CLOEXEC };
	struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 8 };
	int ctl = -1, i, fd, p[2];
	bool switched = false;
	char name[64];

	if (which == MEM_KCHAN0 || which == MEM_KCHAN64) {
		ctl = open(CHANCTL, O_RDWR | O_CLOEXEC);
		if (ctl < 0)
			die(CHANCTL ": %s", strerror(errno));
		req.capacity = which == MEM_KCHAN64 ? 64 : 0;
	}
	for (i = 0; i < n; i++) {
		switch (which) {
		case MEM_KCHAN0:
		case MEM_KCHAN64:
			if (i && i % per_user == 0) {
				if (setresuid(60000 + i / per_user, 0, 0))
					goto out;
				switched = true;
			}
			fd = ioctl(ctl, KCHAN_CTL_CREATE, &req);
			if (fd < 0)
				goto out;
			fds[i] = fd;
			break;
		case MEM_EVENTFD:
			fd = eventfd(0, EFD_CLOEXEC);
			if (fd < 0)
				goto out;
			fds[i] = fd;
			break;
		case MEM_PIPE:
			if (pipe2(p, O_CLOEXEC))
				goto out;
			fds[2 * i] = p[0];
			fds[2 * i + 1] = p[1];
			break;
		case MEM_MQUEUE:
			snprintf(name, sizeof(name), "/chanbench-mem.%d.%d",
				 getpid(), i);
			fd = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
				     0600, &attr);
			if (fd < 0)
				goto out;
			fds[i] = fd;
			break;
		}
	}
out:
	if (i < n)
		warn_msg("%s: made %d of %d: %s", mem_names[which], i, n,
			 strerror(errno));
	if (switched && setresuid(0, 0, 0))
		die("setresuid: %s", strerror(errno));
	if (ctl >= 0)
		close(ctl);
	return i;
}

static void mem_free(int which, int n, int *fds)
{
	char name[64];
	int i;

	for (i = 0; i < n; i++) {
		if (which == MEM_PIPE) {
			close(fds[2 * i]);
			close(fds[2 * i + 1]);
			continue;
		}
		close(fds[i]);
		if (which == MEM_MQUEUE) {
			snprintf(name, sizeof(name), "/chanbench-mem.%d.%d",
				 getpid(), i);
			mq_unlink(name);
		}
	}
}

/* Raises a sysctl to at least @want; returns the old value or -1. */
static long sysctl_raise(const char *path, long want)
{
	long old = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &old) != 1)
		old = -1;
	fclose(f);
	if (old < 0 || old >= want)
		return -1;
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%ld\n", want);
	if (fclose(f))
		return -1;
	return old;
}

static void sysctl_set(const char *path, long v)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "%ld\n", v);
		fclose(f);
	}
}

void bench_memory(void)
{
	static const char qmax[] = "/proc/sys/fs/mqueue/queues_max";
	int n = opt.quick ? 1000 : opt.mem_objects;
	int runs = opt.quick ? 2 : opt.runs, r, w, k;
	int per_user = 4096, made[NR_MEM];
	double pages[NR_MEM][MAX_RUNS], objs[NR_MEM][MAX_RUNS];
	static struct slab_use u0, u1;
	static struct growth grown[NR_MEM];
	struct kchan_version ver;
	struct rlimit rl;
	long old_qmax;
	bool have_objs = true;
	int *fds;

	if (runs > MAX_RUNS)
		runs = MAX_RUNS;
	progress("memory, %d objects each", n);
	if (!kchan_version(&ver) && ver.max_channels_per_user > 16)
		per_user = ver.max_channels_per_user - 16;
	if (!getrlimit(RLIMIT_NOFILE, &rl) &&
	    rl.rlim_cur < (rlim_t)(2 * n + 256)) {
		rl.rlim_cur = 2 * n + 256;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			warn_msg("cannot raise RLIMIT_NOFILE: %s", strerror(errno));
	}
	old_qmax = sysctl_raise(qmax, n + 256);
	fds = calloc(2 * n, sizeof(int));
	if (!fds)
		die("out of memory");
	for (w = 0; w < NR_MEM; w++)
		made[w] = n;
	for (r = 0; r < runs; r++) {
		for (w = 0; w < NR_MEM; w++) {
			sleep_ms(opt.quick ? 20 : 150);
			slab_read(&u0);
			k = mem_make(w, n, fds, per_user);
			slab_read(&u1);
			mem_free(w, k, fds);
			if (k < made[w])
				made[w] = k;
			if (k <= 0)
				die("%s: no object could be made", mem_names[w]);
			pages[w][r] = (u1.pages_b - u0.pages_b) / k;
			objs[w][r] = (u1.objs_b - u0.objs_b) / k;
			have_objs &= u0.have_objs && u1.have_objs;
			if (have_objs)
				growth_add(&grown[w], &u0, &u1, k);
		}
	}
	if (old_qmax >= 0)
		sysctl_set(qmax, old_qmax);
	free(fds);
	for (k = 0; k < (have_objs ? 2 : 1); k++) {
		int group = new_group();

		for (w = 0; w < NR_MEM; w++) {
			struct row *row = new_row(group);

			strcpy(row->bench, "memory");
			strcpy(row->mech, mem_names[w]);
			strcpy(row->cap, w == MEM_KCHAN64 ? "64" :
			       w == MEM_MQUEUE ? "1" : w == MEM_PIPE ? "64KiB" :
			       w == MEM_EVENTFD ? "-" : "0");
			strcpy(row->mode, k ? "slab-objs" : "slab-pages");
			strcpy(row->place, "idle");
			strcpy(row->unit, "B/obj");
			row->size = w == MEM_MQUEUE || w == MEM_EVENTFD ? 8 :
				    w == MEM_PIPE ? 0 : 64;
			row->iters = made[w];
			row_set_runs(row, k ? objs[w] : pages[w], runs);
			if (k)
				growth_note(&grown[w], runs, row->note,
					    sizeof(row->note));
			else
				snprintf(row->note, sizeof(row->note), "%s",
					 w == MEM_PIPE ? "meminfo Slab; pages come with the first write" :
					 w == MEM_MQUEUE ? "meminfo Slab; named queue, maxmsg 1" :
					 "meminfo Slab; struct file included");
		}
		group_ratios(group);
	}
}

