// SPDX-License-Identifier: MIT
/* Go's select { case v := <-c: ... case <-time.After(d): ... } */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <libkchan.h>

int main(void)
{
	int c = kchan_make(1, 64, 0);
	int after = kchan_after(kchan_in(100 * 1000000));  /* 100 ms */
	char v[64];
	uint64_t fired;
	struct kchan_op ops[] = {
		{ .fd = c, .kind = KCHAN_RECV, .buf = v, .len = sizeof(v) },
		{ .fd = after, .kind = KCHAN_RECV, .buf = &fired, .len = sizeof(fired) },
	};
	int i = kchan_select(ops, 2, 0, KCHAN_FOREVER);

	if (i == 0)
		printf("timeout: got %.*s\n", (int)ops[0].result, v);
	else if (i == 1)
		printf("timeout: nothing within 100 ms\n");
	close(after);
	return i == 1 ? 0 : 1;
}
