// SPDX-License-Identifier: MIT
/*
 * The talk's select with a default case, over two channels:
 *
 *	select {
 *	case v := <-ch1: fmt.Println("channel 1 sends", v)
 *	case v := <-ch2: fmt.Println("channel 2 sends", v)
 *	default:         fmt.Println("neither channel was ready")
 *	}
 *
 * A deadline of 0 is the default case: kchan_select() returns -EAGAIN at
 * once when no case can proceed. Another process sends 1 on ch1, then 2
 * on ch2, both unbuffered; main looks before, between and after.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libkchan.h>

static int ch1, ch2;

static void sender(void *arg)
{
	int one = 1, two = 2;

	(void)arg;
	kchan_send(ch1, &one, sizeof(one), KCHAN_FOREVER);
	kchan_send(ch2, &two, sizeof(two), KCHAN_FOREVER);
}

static int poll_both(void)
{
	int v;
	struct kchan_op ops[] = {
		{ .fd = ch1, .kind = KCHAN_RECV, .buf = &v, .len = sizeof(v) },
		{ .fd = ch2, .kind = KCHAN_RECV, .buf = &v, .len = sizeof(v) },
	};

	switch (kchan_select(ops, 2, 0, 0)) {
	case 0:
		printf("select_default: channel 1 sends %d\n", v);
		return 1;
	case 1:
		printf("select_default: channel 2 sends %d\n", v);
		return 2;
	case -EAGAIN:
		printf("select_default: neither channel was ready\n");
		return 0;
	}
	return -1;
}

/* Until a sender waits on ch (a rendezvous channel polls readable then). */
static int await_sender(int ch)
{
	struct kchan_op op = { .fd = ch, .kind = KCHAN_READABLE };

	return kchan_select(&op, 1, 0, kchan_in(10 * 1000000000LL)) == 0;
}

int main(void)
{
	int pid, ok;

	ch1 = kchan_make(0, sizeof(int), 0);
	ch2 = kchan_make(0, sizeof(int), 0);
	if (ch1 < 0 || ch2 < 0)
		return 1;
	ok = poll_both() == 0;
	fflush(stdout);                 /* before a fork, or the child prints it again */
	pid = kchan_spawn(sender, NULL);
	if (pid < 0)
		return 1;
	ok &= await_sender(ch1) && poll_both() == 1;
	ok &= await_sender(ch2) && poll_both() == 2;
	waitid(P_PIDFD, pid, &(siginfo_t){ 0 }, WEXITED);
	close(pid);
	ok &= poll_both() == 0;
	return ok ? 0 : 1;
}
