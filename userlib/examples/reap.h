/* SPDX-License-Identifier: MIT */
/* Waiting for a child process started with kchan_spawn(). */
#ifndef EXAMPLES_REAP_H
#define EXAMPLES_REAP_H

#include <sys/wait.h>
#include <unistd.h>

/* Reap the child and close its pidfd: 1 if it exited with status 0. */
static int reap(int pidfd)
{
	siginfo_t info = { 0 };
	int ok = waitid(P_PIDFD, pidfd, &info, WEXITED) == 0 &&
		 info.si_code == CLD_EXITED && info.si_status == 0;

	close(pidfd);
	return ok;
}

#endif /* EXAMPLES_REAP_H */
