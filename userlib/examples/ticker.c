// SPDX-License-Identifier: MIT
/* Go's Ticker with a done channel: tick until told to stop. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <libkchan.h>

int main(void)
{
	int tick = kchan_tick(10 * 1000000);      /* every 10 ms */
	int done = kchan_after(kchan_in(105 * 1000000));
	uint64_t n, ticks = 0;
	struct kchan_op ops[] = {
		{ .fd = done, .kind = KCHAN_READABLE },
		{ .fd = tick, .kind = KCHAN_RECV, .buf = &n, .len = sizeof(n) },
	};

	while (kchan_select(ops, 2, KCHAN_PRIORITY, KCHAN_FOREVER) == 1)
		ticks += n;                        /* n > 1: ticks were dropped */
	printf("ticker: %llu ticks\n", (unsigned long long)ticks);
	close(tick);
	close(done);
	return ticks >= 5 ? 0 : 1;
}
