// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: kernel memory per idle object. Slab use is read before and
 * after making N objects of a kind (anonymous channels of capacity 0 and
 * 64, eventfds, pipes, POSIX message queues), from /proc/meminfo (whole
 * slab pages) and, when readable, /proc/slabinfo (active objects times
 * their size, with the caches that grew most named in the row's note).
 *
 * The objects (those above, and named channels) are made here for
 * create.c too.
 */
#include "chanbench.h"

#include <mqueue.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

/* Per kind of object: which caches grew, summed over the runs. */
struct growth {
	int ncache;
	char name[MAX_CACHES][CACHE_NAME];
	double per_obj[MAX_CACHES];
};

void slab_read(struct slab_use *u)
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

static const char *const obj_names[NR_OBJ] = {
	"kchan-c0", "kchan-c64", "kchan-named", "eventfd", "pipe", "mqueue",
};

const char *obj_name(enum obj_kind kind)
{
	return obj_names[kind];
}

/* An object's capacity as a row reports it. */
const char *obj_cap(enum obj_kind kind)
{
	return kind == OBJ_KCHAN64 ? "64" : kind == OBJ_MQUEUE ? "1" :
	       kind == OBJ_PIPE ? "64KiB" : kind == OBJ_EVENTFD ? "-" : "0";
}

/* The largest message it takes, as a row reports it (0: a byte stream). */
unsigned int obj_size(enum obj_kind kind)
{
	return kind == OBJ_PIPE ? 0 : kind == OBJ_MQUEUE ||
	       kind == OBJ_EVENTFD ? 8 : 64;
}

/* The name of named object @i (a channel or a message queue). */
static void obj_path(enum obj_kind kind, int i, char *buf, size_t len)
{
	snprintf(buf, len, kind == OBJ_MQUEUE ? "/chanbench-mem.%d.%d" :
		 "chanbench-mem.%d.%d", getpid(), i);
}

/*
 * How many channels (and names) of @kind one real uid may hold, with a
 * margin for those the rest of the run holds.
 */
static int obj_per_user(enum obj_kind kind)
{
	struct kchan_version ver;
	unsigned int n;

	if (kchan_version(&ver))
		return 4096;
	n = ver.max_channels_per_user;
	if (kind == OBJ_KCHAN_NAMED && ver.max_names_per_user &&
	    ver.max_names_per_user < n)
		n = ver.max_names_per_user;
	return n > 32 ? (int)n - 16 : (int)n;
}

/* Makes named channel @i and opens it: its descriptor or -1. */
static int named_make(int ctl, int i)
{
	struct kchan_create req = { .msg_max = 64 };
	char path[sizeof(CHAN_DIR) + KCHAN_NAME_SIZE];

	obj_path(OBJ_KCHAN_NAMED, i, req.name, sizeof(req.name));
	if (ioctl(ctl, KCHAN_CTL_CREATE, &req) < 0)
		return -1;
	snprintf(path, sizeof(path), CHAN_DIR "/%s", req.name);
	return open(path, O_RDWR | O_CLOEXEC);
}

/*
 * Creates @n objects of @kind into @fds (2 per pipe); returns how many
 * were made. kchan limits channels and names per real uid: as root, later
 * blocks are made under other real uids.
 */
int obj_make(enum obj_kind kind, int n, int *fds)
{
	struct kchan_create req = { .msg_max = 64, .fd_flags = O_CLOEXEC };
	struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 8 };
	int per_user = obj_per_user(kind), ctl = -1, i, fd = -1, p[2];
	bool kchan = kind <= OBJ_KCHAN_NAMED;
	char name[64];

	if (kchan) {
		ctl = open(CHANCTL, O_RDWR | O_CLOEXEC);
		if (ctl < 0)
			die(CHANCTL ": %s", strerror(errno));
		req.capacity = kind == OBJ_KCHAN64 ? 64 : 0;
	}
	for (i = 0; i < n; i++) {
		if (kchan && i && i % per_user == 0 &&
		    !as_real_uid(60000 + i / per_user))
			break;
		switch (kind) {
		case OBJ_KCHAN0:
		case OBJ_KCHAN64:
			fd = ioctl(ctl, KCHAN_CTL_CREATE, &req);
			break;
		case OBJ_KCHAN_NAMED:
			fd = named_make(ctl, i);
			break;
		case OBJ_EVENTFD:
			fd = eventfd(0, EFD_CLOEXEC);
			break;
		case OBJ_PIPE:
			fd = pipe2(p, O_CLOEXEC);
			if (!fd) {
				fds[2 * i] = p[0];
				fds[2 * i + 1] = p[1];
				continue;
			}
			break;
		case OBJ_MQUEUE:
			obj_path(kind, i, name, sizeof(name));
			fd = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
				     0600, &attr);
			break;
		default:
			fd = -1;
		}
		if (fd < 0)
			break;
		fds[i] = fd;
	}
	if (i < n)
		warn_msg("%s: made %d of %d: %s", obj_names[kind], i, n,
			 strerror(errno));
	if (kchan) {
		as_real_uid(0);
		close(ctl);
	}
	return i;
}

/* Closes (and for named ones, removes) the @n objects obj_make() made. */
void obj_free(enum obj_kind kind, int n, int *fds)
{
	struct kchan_name req;
	int i, ctl = -1;
	char name[64];

	if (kind == OBJ_KCHAN_NAMED) {
		ctl = open(CHANCTL, O_RDWR | O_CLOEXEC);
		if (ctl < 0)
			die(CHANCTL ": %s", strerror(errno));
	}
	for (i = 0; i < n; i++) {
		if (kind == OBJ_PIPE) {
			close(fds[2 * i]);
			close(fds[2 * i + 1]);
			continue;
		}
		close(fds[i]);
		if (kind == OBJ_MQUEUE) {
			obj_path(kind, i, name, sizeof(name));
			mq_unlink(name);
		} else if (kind == OBJ_KCHAN_NAMED) {
			memset(&req, 0, sizeof(req));
			obj_path(kind, i, req.name, sizeof(req.name));
			if (ioctl(ctl, KCHAN_CTL_UNLINK, &req))
				die("unlink %s: %s", req.name, strerror(errno));
		}
	}
	if (ctl >= 0)
		close(ctl);
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

static const char queues_max[] = "/proc/sys/fs/mqueue/queues_max";
static long old_queues_max = -1;

/*
 * Lets this process hold @n objects of every kind at once: descriptors
 * and message queues. obj_limits_restore() puts the sysctl back.
 */
void obj_limits_raise(int n)
{
	raise_nofile(2L * n + 256);
	if (old_queues_max < 0)
		old_queues_max = sysctl_raise(queues_max, n + 256);
}

void obj_limits_restore(void)
{
	if (old_queues_max >= 0)
		sysctl_set(queues_max, old_queues_max);
	old_queues_max = -1;
}

void bench_memory(void)
{
	static const enum obj_kind kinds[] = {
		OBJ_KCHAN0, OBJ_KCHAN64, OBJ_EVENTFD, OBJ_PIPE, OBJ_MQUEUE,
	};
	enum { NR_MEM = ARRAY_SIZE(kinds) };
	int n = opt.quick ? 1000 : opt.mem_objects;
	int runs = opt.quick && opt.runs > 2 ? 2 : opt.runs, r, w, k;
	int made[NR_MEM];
	double pages[NR_MEM][MAX_RUNS], objs[NR_MEM][MAX_RUNS];
	static struct slab_use u0, u1;
	static struct growth grown[NR_MEM];
	bool have_objs = true;
	int *fds;

	if (runs > MAX_RUNS)
		runs = MAX_RUNS;
	progress("memory, %d objects each", n);
	obj_limits_raise(n);
	fds = calloc(2 * n, sizeof(int));
	if (!fds)
		die("out of memory");
	for (w = 0; w < NR_MEM; w++)
		made[w] = n;
	for (r = 0; r < runs; r++) {
		for (w = 0; w < NR_MEM; w++) {
			sleep_ms(opt.quick ? 20 : 150);
			slab_read(&u0);
			k = obj_make(kinds[w], n, fds);
			slab_read(&u1);
			obj_free(kinds[w], k, fds);
			if (k < made[w])
				made[w] = k;
			if (k <= 0)
				die("%s: no object could be made",
				    obj_name(kinds[w]));
			pages[w][r] = (u1.pages_b - u0.pages_b) / k;
			objs[w][r] = (u1.objs_b - u0.objs_b) / k;
			have_objs &= u0.have_objs && u1.have_objs;
			if (have_objs)
				growth_add(&grown[w], &u0, &u1, k);
		}
	}
	obj_limits_restore();
	free(fds);
	for (k = 0; k < (have_objs ? 2 : 1); k++) {
		int group = new_group();

		for (w = 0; w < NR_MEM; w++) {
			struct row *row = new_row(group);

			strcpy(row->bench, "memory");
			strcpy(row->mech, obj_name(kinds[w]));
			strcpy(row->cap, obj_cap(kinds[w]));
			strcpy(row->mode, k ? "slab-objs" : "slab-pages");
			strcpy(row->place, "idle");
			strcpy(row->unit, "B/obj");
			row->size = obj_size(kinds[w]);
			row->iters = made[w];
			row_set_runs(row, k ? objs[w] : pages[w], runs);
			if (k)
				growth_note(&grown[w], runs, row->note,
					    sizeof(row->note));
			else
				snprintf(row->note, sizeof(row->note), "%s",
					 kinds[w] == OBJ_PIPE ? "meminfo Slab; pages come with the first write" :
					 kinds[w] == OBJ_MQUEUE ? "meminfo Slab; named queue, maxmsg 1" :
					 "meminfo Slab; struct file included");
		}
		group_ratios(group);
	}
}

