// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: creating and closing many objects. For each count N (100,
 * 1000, ... up to --create, 10^5 by default; with --quick 10 to 1000;
 * named channels up to a tenth of it), N objects of a kind are made and held open, then all
 * closed (named ones also removed):
 *
 *   kchan-c0     KCHAN_CTL_CREATE anonymous, close()
 *   kchan-named  KCHAN_CTL_CREATE named, open(/dev/chan/NAME), close(),
 *                KCHAN_CTL_UNLINK
 *   eventfd      eventfd(), close()
 *   pipe         pipe2(), close() twice
 *   mqueue       mq_open(O_CREAT), close(), mq_unlink(): a named object
 *
 * Two rows per kind and count: the time per object (its making and its
 * closing, not the slab reads between them), one thread on CPU 0, and,
 * from 1000 objects up, the slab memory per object while all N are held
 * idle (memory.c's method: /proc/slabinfo's active objects times their
 * size, or the meminfo Slab total where slabinfo cannot be read).
 *
 * A run at 10^4 objects and more takes seconds (a named channel takes
 * milliseconds here): one run there, three at 1000, which are each
 * already the mean over as many objects.
 */
#include "chanbench.h"

#define CREATE_FIRST	100	/* the smallest count (--quick: 10) */
/*
 * Memory rows from this count up: below it, the objects SLUB keeps on
 * per-CPU slabs hide from /proc/slabinfo and a row reads 0.
 */
#define CREATE_MEM_FIRST 1000

static const enum obj_kind create_kinds[] = {
	OBJ_KCHAN0, OBJ_KCHAN_NAMED, OBJ_EVENTFD, OBJ_PIPE, OBJ_MQUEUE,
};

enum { NR_CREATE = ARRAY_SIZE(create_kinds) };

/* Largest count of @kind: named objects of kchan go a decade less far. */
static int create_max(enum obj_kind kind)
{
	return kind == OBJ_KCHAN_NAMED ? opt.create_max / 10 : opt.create_max;
}

/*
 * Waits until the slab total stops shrinking: what the last closes freed
 * goes back through RCU, and a reading taken meanwhile would count it.
 */
static void slab_settle(struct slab_use *u)
{
	uint64_t deadline = now_ns() + 3000000000ull;
	double last;

	slab_read(u);
	do {
		last = u->pages_b;
		sleep_ms(opt.quick ? 10 : 50);
		slab_read(u);
	} while (last - u->pages_b > 64 * 1024 && now_ns() < deadline);
}

/* The slab memory from @u0 to @u1 for @k objects, bytes per object. */
static double slab_per_obj(const struct slab_use *u0,
			   const struct slab_use *u1, int k)
{
	if (u0->have_objs && u1->have_objs)
		return (u1->objs_b - u0->objs_b) / k;
	return (u1->pages_b - u0->pages_b) / k;
}

struct create_run {
	double ns[MAX_RUNS], bytes[MAX_RUNS];
	int made;
	bool have_objs;
};

/* One run: @n objects of @kind made, measured, freed; false if none. */
static bool create_once(enum obj_kind kind, int n, int *fds,
			struct create_run *cr, int r)
{
	static struct slab_use u0, u1;
	uint64_t t0, t1, t2, t3;
	int k;

	slab_settle(&u0);
	t0 = now_ns();
	k = obj_make(kind, n, fds);
	t1 = now_ns();
	slab_read(&u1);
	t2 = now_ns();
	obj_free(kind, k, fds);
	t3 = now_ns();
	if (k <= 0)
		return false;
	if (k < cr->made)
		cr->made = k;
	cr->ns[r] = (double)(t1 - t0 + t3 - t2) / k;
	cr->bytes[r] = slab_per_obj(&u0, &u1, k);
	cr->have_objs = u0.have_objs && u1.have_objs;
	return true;
}

static void create_rows(int n, int runs, struct create_run *cr)
{
	int tgroup = new_group(), mgroup = new_group(), w, k;

	for (k = 0; k < (n >= CREATE_MEM_FIRST ? 2 : 1); k++) {
		for (w = 0; w < NR_CREATE; w++) {
			enum obj_kind kind = create_kinds[w];
			struct row *row;

			if (n > create_max(kind) || !cr[w].made)
				continue;
			row = new_row(k ? mgroup : tgroup);
			strcpy(row->bench, "create");
			strcpy(row->mech, obj_name(kind));
			strcpy(row->cap, obj_cap(kind));
			snprintf(row->mode, sizeof(row->mode), "%d objs", n);
			strcpy(row->place, k ? "idle" : "cpu0");
			strcpy(row->unit, k ? "B/obj" : "ns/obj");
			row->size = obj_size(kind);
			row->iters = cr[w].made;
			row_set_runs(row, k ? cr[w].bytes : cr[w].ns, runs);
			if (k)
				snprintf(row->note, sizeof(row->note),
					 "%d held idle; %s", cr[w].made,
					 cr[w].have_objs ?
					 "slabinfo objects" :
					 "meminfo Slab pages");
			else
				snprintf(row->note, sizeof(row->note),
					 "make %d, hold, close%s: ns per object",
					 cr[w].made, kind == OBJ_KCHAN_NAMED ||
					 kind == OBJ_MQUEUE ? " and unlink" :
					 "");
		}
	}
	group_ratios(tgroup);
	group_ratios(mgroup);
}

static int create_runs(int n)
{
	int runs = n >= 10000 ? 1 : n >= 1000 ? 3 : opt.runs;

	return runs < opt.runs ? runs : opt.runs;
}

void bench_create(void)
{
	struct create_run cr[NR_CREATE];
	int first = opt.quick ? 10 : CREATE_FIRST, n, r, w;
	int *fds;

	if (opt.create_max < first)
		return;
	fds = calloc(2 * (size_t)opt.create_max, sizeof(int));
	if (!fds)
		die("out of memory");
	obj_limits_raise(opt.create_max);
	pin(0);
	for (n = first; n <= opt.create_max; n *= 10) {
		int runs = create_runs(n);

		progress("create, %d objects, %d runs", n, runs);
		alarm(BATCH_TIMEOUT_S);
		for (w = 0; w < NR_CREATE; w++)
			cr[w] = (struct create_run){ .made = n };
		for (r = 0; r < runs; r++)
			for (w = 0; w < NR_CREATE; w++)
				if (n <= create_max(create_kinds[w]) &&
				    cr[w].made &&
				    !create_once(create_kinds[w], n, fds,
						 &cr[w], r))
					cr[w].made = 0;
		alarm(0);
		for (w = 0; w < NR_CREATE; w++)
			if (n <= create_max(create_kinds[w]) && !cr[w].made)
				warn_msg("create: no %s could be made; left out",
					 obj_name(create_kinds[w]));
		create_rows(n, runs, cr);
	}
	unpin();
	obj_limits_restore();
	free(fds);
}
