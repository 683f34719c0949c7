// SPDX-License-Identifier: MIT
/* A pool of worker processes: jobs in, results out, close to finish. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libkchan.h>

#define WORKERS	3
#define JOBS	20

static int jobs, results;

static void worker(void *arg)
{
	int job, sq;

	(void)arg;
	while (kchan_recv(jobs, &job, sizeof(job), KCHAN_FOREVER) > 0) {
		sq = job * job;
		kchan_send(results, &sq, sizeof(sq), KCHAN_FOREVER);
	}
}

int main(void)
{
	int pids[WORKERS], i, sq, sum = 0;

	jobs = kchan_make(4, sizeof(int), 0);
	results = kchan_make(JOBS, sizeof(int), 0);
	for (i = 0; i < WORKERS; i++)
		pids[i] = kchan_spawn(worker, NULL);
	for (i = 1; i <= JOBS; i++)
		kchan_send(jobs, &i, sizeof(i), KCHAN_FOREVER);
	kchan_close(jobs);               /* workers drain, then see 0 and exit */
	for (i = 0; i < JOBS; i++) {
		kchan_recv(results, &sq, sizeof(sq), KCHAN_FOREVER);
		sum += sq;
	}
	for (i = 0; i < WORKERS; i++) {  /* each pidfd is readable once it exited */
		struct kchan_op done = { .fd = pids[i], .kind = KCHAN_READABLE };

		kchan_select(&done, 1, 0, KCHAN_FOREVER);
		waitid(P_PIDFD, pids[i], &(siginfo_t){ 0 }, WEXITED);
		close(pids[i]);
	}
	printf("workers: sum of squares 1..%d = %d\n", JOBS, sum);
	return sum == JOBS * (JOBS + 1) * (2 * JOBS + 1) / 6 ? 0 : 1;
}
