// SPDX-License-Identifier: MIT
/*
 * Go's concurrent prime sieve (test/chan/sieve1.go) as a chain of
 * processes: a generator sends 2, 3, 4, ...; each prime found starts a
 * filter process that passes on what the prime does not divide. To stop,
 * main closes the channel it reads; a filter whose send fails closes its
 * own input, so the close runs up the chain to the generator.
 *
 * Usage: sieve [N]    the first N primes (default 25)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <libkchan.h>
#include "reap.h"

#define MAX_PRIMES	200

static int in, out, prime;      /* the next filter's; a forked child keeps its copy */

/* Send the sequence 2, 3, 4, ... to channel 'out'. */
static void generate(void *arg)
{
	int i;

	(void)arg;
	for (i = 2; kchan_send(out, &i, sizeof(i), KCHAN_FOREVER) == sizeof(i); i++)
		;
}

/* Copy the values from 'in' to 'out', removing those divisible by 'prime'. */
static void filter(void *arg)
{
	int i;

	(void)arg;
	while (kchan_recv(in, &i, sizeof(i), KCHAN_FOREVER) == sizeof(i))
		if (i % prime != 0 && kchan_send(out, &i, sizeof(i), KCHAN_FOREVER) < 0)
			break;
	kchan_close(in);                /* downstream is gone: stop upstream */
}

static int start(void (*fn)(void *))
{
	fflush(stdout);                 /* before a fork, or the child prints it again */
	return kchan_spawn(fn, NULL);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 25;
	int pids[MAX_PRIMES + 1], procs = 0, clean = 0, ch, i;

	if (n < 1 || n > MAX_PRIMES)
		return 2;
	ch = out = kchan_make(0, sizeof(int), 0);      /* Create a new channel. */
	if (ch < 0 || (pids[procs++] = start(generate)) < 0)
		return 1;
	printf("sieve:");
	for (i = 0; i < n; i++) {
		if (kchan_recv(ch, &prime, sizeof(prime), KCHAN_FOREVER) != sizeof(prime))
			return 1;
		printf(" %d", prime);
		in = ch;
		ch = out = kchan_make(0, sizeof(int), 0);
		if (out < 0 || (pids[procs++] = start(filter)) < 0)
			return 1;
	}
	printf("\n");
	kchan_close(ch);
	for (i = 0; i < procs; i++)
		clean += reap(pids[i]);
	printf("sieve: %d processes (a generator, %d filters) exited cleanly: %d\n",
	       procs, procs - 1, clean);
	return clean == procs ? 0 : 1;
}
