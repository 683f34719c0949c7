/* SPDX-License-Identifier: MIT */
/*
 * Pretend work for the examples that measure: CPU time that cannot be
 * optimised away, and waiting, as for a disk or a network.
 * work_calibrate() first, in the parent: forked children inherit it.
 */
#ifndef EXAMPLES_WORK_H
#define EXAMPLES_WORK_H

#include <stdint.h>
#include <time.h>

static uint64_t work_steps_per_ms = 1;
static volatile uint64_t work_sink;

/* A fixed number of steps of a random number generator. */
static void work_steps(uint64_t steps)
{
	uint64_t x = 88172645463325252ULL;

	while (steps--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	work_sink = x;
}

static int64_t work_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* How many steps take a millisecond of this CPU (the best of a few tries). */
static void work_calibrate(void)
{
	uint64_t steps = 100000, best = 0;
	int64_t t;
	int i;

	for (i = 0; i < 5; i++) {
		t = work_cpu_ns();
		work_steps(steps);
		t = work_cpu_ns() - t;
		if (t > 0 && steps * 1000000 / t > best)
			best = steps * 1000000 / t;
	}
	work_steps_per_ms = best ? best : 1;
}

/* Spend about ms milliseconds of CPU, then wait wait_ms milliseconds. */
static void work(double ms, double wait_ms)
{
	int64_t ns = (int64_t)(wait_ms * 1e6);
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	work_steps((uint64_t)(ms * work_steps_per_ms));
	if (ns > 0)
		while (nanosleep(&ts, &ts) != 0)
			;
}

#endif /* EXAMPLES_WORK_H */
