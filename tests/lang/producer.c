// SPDX-License-Identifier: GPL-2.0
/*
 * The C end of tests/lang_three.sh: sends "c:0".."c:N-1" on the named
 * channel NAME with libkchan, then closes it (Go's close).
 *   producer NAME N
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libkchan.h>

int main(int argc, char **argv)
{
	char msg[32];
	int ch, i, n;

	if (argc != 3)
		return 2;
	n = atoi(argv[2]);
	ch = kchan_open(argv[1], O_WRONLY);
	if (ch < 0) {
		perror("producer: kchan_open");
		return 1;
	}
	for (i = 0; i < n; i++) {
		int len = snprintf(msg, sizeof(msg), "c:%d", i);

		if (kchan_send(ch, msg, len, KCHAN_FOREVER) != len) {
			perror("producer: kchan_send");
			return 1;
		}
	}
	if (kchan_close(ch) < 0) {
		perror("producer: kchan_close");
		return 1;
	}
	return 0;
}
