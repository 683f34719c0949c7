// SPDX-License-Identifier: MIT
/* A channel receive in the program's own epoll loop, next to a socket. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libkchan.h>

int main(void)
{
	int ch = kchan_make(0, 64, 0), sv[2], ep = epoll_create1(0), got = 0;
	int sfd = kchan_sel_open(O_NONBLOCK);
	char msg[64];
	struct kchan_op op = { .fd = ch, .kind = KCHAN_RECV, .buf = msg, .len = sizeof(msg) };
	struct epoll_event ev = { .events = EPOLLIN };

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = sv[0];
	epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev);
	kchan_sel_arm(sfd, &op, 1, 0);             /* committed to receive */
	kchan_send(ch, "hi", 2, 0);                /* so even a rendezvous send goes through */
	write(sv[1], "sock", 4);
	while (got < 2 && epoll_wait(ep, &ev, 1, 1000) == 1) {
		if (ev.data.fd == sfd && kchan_sel_collect(sfd, &op, 1) == 0)
			printf("eventloop: channel: %.*s\n", (int)op.result, msg), got++;
		if (ev.data.fd == sv[0] && read(sv[0], msg, sizeof(msg)) > 0)
			printf("eventloop: socket\n"), got++;
	}
	return got == 2 ? 0 : 1;
}
