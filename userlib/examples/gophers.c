// SPDX-License-Identifier: MIT
/*
 * The talk's gophers: move a pile of obsolete language manuals to the
 * incinerator. Every gopher and every incinerator is a process, every pile
 * a channel. The same books go through each design in turn, and each
 * prints its books per second and its ratio to the one gopher:
 *
 *   1 gopher       pile -> gopher -> incinerator
 *   2 gophers      two gophers share the pile and the incinerator
 *   2 pipelines    double everything: two piles, two gophers, two incinerators
 *   staged         two gophers, each carrying a book half the way, with a
 *                  staging pile (a buffered channel) between them
 *   staged x2      the staged design twice over: four gophers
 *
 * Moving a book costs first a fixed amount of CPU, then a fixed wait (a
 * sleep, as for a disk or a network). With CPU work the designs can go no
 * faster than the CPUs (parallelism); with waiting, more gophers in the
 * structure go faster on any number of CPUs (concurrency). No design shares
 * memory or takes a lock: the structure alone decides. Each design runs
 * twice, in alternation with the others, and keeps its better time.
 *
 * Usage: gophers [BOOKS [MS_PER_BOOK]]    (default 24 books, 20 ms each)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <libkchan.h>
#include "reap.h"
#include "work.h"

#define MAX_LANES	2
#define MAX_STAGES	2
#define MAX_CREW	2
#define STAGING_PILE	16
#define ROUNDS		2
#define NDESIGNS	(sizeof(designs) / sizeof(designs[0]))

struct design {
	const char *name;
	int lanes;              /* independent pipelines */
	int crew;               /* gophers sharing each stage of a lane */
	int stages;             /* gophers a book passes through */
};

static const struct design designs[] = {
	{ "1 gopher",    1, 1, 1 },
	{ "2 gophers",   1, 2, 1 },
	{ "2 pipelines", 2, 1, 1 },
	{ "staged",      1, 1, 2 },
	{ "staged x2",   2, 1, 2 },
};

/* What moving a book costs: ms of CPU, then ms of waiting. */
struct cost {
	double cpu, wait;
};

struct gopher {
	int from, to;
	struct cost cost;       /* what one book costs this gopher */
};

/* Take a book from one pile, carry it, drop it on the next. */
static void gopher(void *arg)
{
	struct gopher *g = arg;
	int book;

	while (kchan_recv(g->from, &book, sizeof(book), KCHAN_FOREVER) == sizeof(book)) {
		work(g->cost.cpu, g->cost.wait);
		if (kchan_send(g->to, &book, sizeof(book), KCHAN_FOREVER) < 0)
			break;
	}
}

struct incinerator {
	int in, report;
};

/* Burn books until no gopher brings any more, then say how many. */
static void incinerator(void *arg)
{
	struct incinerator *inc = arg;
	int book, burnt = 0;

	while (kchan_recv(inc->in, &book, sizeof(book), KCHAN_FOREVER) == sizeof(book))
		burnt++;
	kchan_send(inc->report, &burnt, sizeof(burnt), KCHAN_FOREVER);
}

/* Run one design over 'books' books: its books per second, or -1. */
static double run(const struct design *d, int books, struct cost book)
{
	/* pile[l][0] the books, pile[l][s] between stages, pile[l][stages] the incinerator */
	int pile[MAX_LANES][MAX_STAGES + 1], crew[MAX_STAGES][MAX_LANES * MAX_CREW];
	int burners[MAX_LANES], report, l, s, c, n, burnt, total = 0, ok = 1;
	int64_t start;

	report = kchan_make(MAX_LANES, sizeof(int), 0);
	for (l = 0; l < d->lanes; l++)
		for (s = 0; s <= d->stages; s++)
			pile[l][s] = kchan_make(s == 0 ? books : STAGING_PILE,
						sizeof(int), 0);
	fflush(stdout);                 /* before a fork, or the child prints it again */
	for (l = 0; l < d->lanes; l++) {
		struct incinerator inc = { pile[l][d->stages], report };

		for (s = 0; s < d->stages; s++)
			for (c = 0; c < d->crew; c++) {
				struct gopher g = { pile[l][s], pile[l][s + 1],
						    { book.cpu / d->stages, book.wait / d->stages } };

				crew[s][l * d->crew + c] = kchan_spawn(gopher, &g);
			}
		burners[l] = kchan_spawn(incinerator, &inc);
	}

	start = kchan_now();
	for (n = 0; n < books; n++)     /* the pile of books, shared out between the lanes */
		kchan_send(pile[n % d->lanes][0], &n, sizeof(n), KCHAN_FOREVER);
	for (l = 0; l < d->lanes; l++)
		kchan_close(pile[l][0]);
	/* Once the gophers of a stage went home, nothing more comes to the next pile. */
	for (s = 0; s < d->stages; s++) {
		for (c = 0; c < d->lanes * d->crew; c++)
			ok &= reap(crew[s][c]);
		for (l = 0; l < d->lanes; l++)
			kchan_close(pile[l][s + 1]);
	}
	for (l = 0; l < d->lanes; l++) {
		ok &= kchan_recv(report, &burnt, sizeof(burnt), KCHAN_FOREVER) == sizeof(burnt);
		total += burnt;
	}
	start = kchan_now() - start;

	for (l = 0; l < d->lanes; l++) {
		ok &= reap(burners[l]);
		for (s = 0; s <= d->stages; s++)
			close(pile[l][s]);
	}
	close(report);
	if (!ok || total != books) {
		fprintf(stderr, "gophers: %s: %d of %d books burnt\n", d->name, total, books);
		return -1;
	}
	return books * 1e9 / start;
}

/* Every design, ROUNDS times in alternation: the better rate of each. */
static int compare(const char *what, int books, struct cost book)
{
	double rate[NDESIGNS] = { 0 }, r;
	unsigned int i, round;

	printf("gophers: moving a book costs %s\n", what);
	for (round = 0; round < ROUNDS; round++)
		for (i = 0; i < NDESIGNS; i++) {
			r = run(&designs[i], books, book);
			if (r < 0)
				return -1;
			if (r > rate[i])
				rate[i] = r;
		}
	for (i = 0; i < NDESIGNS; i++) {
		const struct design *d = &designs[i];
		int n = d->lanes * d->crew * d->stages;

		printf("gophers: %-12s %d gopher%s in %d pipeline%s: %8.1f books/s %5.2fx\n",
		       d->name, n, n > 1 ? "s" : "", d->lanes, d->lanes > 1 ? "s" : "",
		       rate[i], rate[i] / rate[0]);
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	int books = argc > 1 ? atoi(argv[1]) : 24;
	double ms = argc > 2 ? atof(argv[2]) : 20;
	char what[80];

	if (books < 1 || books > 65536 || ms <= 0)
		return 2;
	work_calibrate();
	printf("gophers: %d books through each design, %ld CPUs\n", books,
	       sysconf(_SC_NPROCESSORS_ONLN));
	snprintf(what, sizeof(what), "%.1f ms of CPU", ms);
	if (compare(what, books, (struct cost){ .cpu = ms }))
		return 1;
	snprintf(what, sizeof(what), "%.1f ms of waiting", ms);
	if (compare(what, books, (struct cost){ .wait = ms }))
		return 1;
	return 0;
}
