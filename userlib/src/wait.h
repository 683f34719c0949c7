/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Waiting on a set of descriptors until one is ready or a deadline: one
 * epoll or one io_uring (poll requests), chosen at run time. Inside the
 * library only.
 */
#ifndef LIBKCHAN_WAIT_H
#define LIBKCHAN_WAIT_H

#include <stdbool.h>
#include <liburing.h>

#include "internal.h"

#define KCHAN_WAIT_IN	1U
#define KCHAN_WAIT_OUT	2U

struct kchan_wait_ent {
	int fd;			/* -1: not watched */
	unsigned int events;	/* KCHAN_WAIT_IN or KCHAN_WAIT_OUT */
	int op;			/* the caller's index for it */
	bool ready;		/* reported ready, not consumed yet */
	bool always;		/* epoll cannot watch it: always ready, as poll() says */
	bool polling;		/* io_uring: a poll request is out */
	unsigned int revents;
	int err;		/* could not be watched: -errno */
};

struct kchan_wait {
	int backend;		/* KCHAN_BACKEND_EPOLL or KCHAN_BACKEND_URING */
	unsigned int n, max;
	struct kchan_wait_ent *ent;
	int bad;		/* the entry that made kchan__wait_start() fail */
	int epfd;
	struct io_uring *ring;	/* the thread's ring, borrowed for this wait */
	bool timeout_set, timed_out, cancelled;
	struct __kernel_timespec ts;
};

KCHAN_HIDDEN int kchan__wait_init(struct kchan_wait *w, unsigned int max);
KCHAN_HIDDEN void kchan__wait_add(struct kchan_wait *w, int fd,
				  unsigned int events, int op);
KCHAN_HIDDEN int kchan__wait_start(struct kchan_wait *w);
/* 0: some entry is ready; -ETIMEDOUT, -EINTR or another -errno. */
KCHAN_HIDDEN int kchan__wait(struct kchan_wait *w, int64_t deadline);
/* Entry @e was ready but turned out not to be: watch it again. */
KCHAN_HIDDEN void kchan__wait_rewatch(struct kchan_wait *w, unsigned int e);
KCHAN_HIDDEN void kchan__wait_fini(struct kchan_wait *w);

#endif /* LIBKCHAN_WAIT_H */
