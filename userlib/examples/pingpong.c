// SPDX-License-Identifier: MIT
/* Two threads hand a counter back and forth over a rendezvous channel. */
#include <stdio.h>
#include <libkchan.h>

static int ping, pong;

static void player(void *arg)
{
	int n;

	(void)arg;
	while (kchan_recv(ping, &n, sizeof(n), KCHAN_FOREVER) == sizeof(n)) {
		n++;
		kchan_send(pong, &n, sizeof(n), KCHAN_FOREVER);
	}
}

int main(void)
{
	int n = 0, i;

	ping = kchan_make(0, sizeof(int), 0);
	pong = kchan_make(0, sizeof(int), 0);
	if (ping < 0 || pong < 0 || kchan_go(player, NULL) < 0)
		return 1;
	for (i = 0; i < 1000; i++) {
		kchan_send(ping, &n, sizeof(n), KCHAN_FOREVER);
		kchan_recv(pong, &n, sizeof(n), KCHAN_FOREVER);
	}
	kchan_close(ping);
	printf("pingpong: %d\n", n);
	return n == 1000 ? 0 : 1;
}
