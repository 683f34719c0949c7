// SPDX-License-Identifier: MIT
/*
 * The talk's timerChan: another thread sleeps, then sends the time on a
 * channel; main does something else and receives when it is ready. Then
 * time.After in a select: a reply sent 100 ms after the start loses to
 * a 20 ms timer, and the same reply wins against a 2 s one.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <libkchan.h>

#define MS		1000000LL
#define DELTA_T		(50 * MS)

static int timer_chan, replies;

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void sleeper(void *arg)
{
	int64_t now;

	(void)arg;
	sleep_ns(DELTA_T);
	now = kchan_now();
	kchan_send(timer_chan, &now, sizeof(now), KCHAN_FOREVER);  /* send time on timerChan */
}

static void slow_server(void *arg)
{
	int answer = 42;

	(void)arg;
	sleep_ns(100 * MS);
	kchan_send(replies, &answer, sizeof(answer), KCHAN_FOREVER);
}

/* select { case r := <-replies: ... case <-time.After(wait): ... } */
static int reply_within(int64_t wait, int64_t *took)
{
	int64_t start = kchan_now();
	int after = kchan_after(kchan_in(wait)), r, i;
	uint64_t fired;
	struct kchan_op ops[] = {
		{ .fd = replies, .kind = KCHAN_RECV, .buf = &r, .len = sizeof(r) },
		{ .fd = after, .kind = KCHAN_RECV, .buf = &fired, .len = sizeof(fired) },
	};

	i = kchan_select(ops, 2, 0, KCHAN_FOREVER);
	*took = kchan_now() - start;
	close(after);
	return i;
}

int main(void)
{
	int64_t start = kchan_now(), completed_at, took;
	unsigned long long sum = 0, n;
	int ok = 1;

	timer_chan = kchan_make(0, sizeof(int64_t), 0);
	replies = kchan_make(0, sizeof(int), 0);
	if (timer_chan < 0 || replies < 0 || kchan_go(sleeper, NULL) < 0)
		return 1;
	/* Do something else; when ready, receive. */
	for (n = 1; n <= 1000000; n++)
		sum += n * n;
	printf("timer: meanwhile main summed the squares up to 1e6: %llu\n", sum);
	/* Receive will block until timerChan delivers. */
	if (kchan_recv(timer_chan, &completed_at, sizeof(completed_at), KCHAN_FOREVER) < 0)
		return 1;
	printf("timer: the sleeper sent its completion time: %lld ms after the start\n",
	       (long long)((completed_at - start) / MS));
	ok &= completed_at - start >= DELTA_T;

	if (kchan_go(slow_server, NULL) < 0)
		return 1;
	if (reply_within(20 * MS, &took) == 1)
		printf("timer: time.After(20 ms) fired first, after %lld ms\n",
		       (long long)(took / MS));
	else
		ok = 0;
	if (reply_within(2000 * MS, &took) == 0)
		printf("timer: the reply came first, after %lld ms, before time.After(2 s)\n",
		       (long long)(took / MS));
	else
		ok = 0;
	return ok ? 0 : 1;
}
