/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Waiting on a set of descriptors until one is ready or a deadline: one
 * epoll or one io_uring (poll requests), chosen at run time, both kept by
 * the thread between selects. Inside the library only.
 */
#ifndef LIBKCHAN_WAIT_H
#define LIBKCHAN_WAIT_H

#include <stdbool.h>
#include <liburing.h>

#include "internal.h"

#define KCHAN_WAIT_IN	1U
#define KCHAN_WAIT_OUT	2U

/* What a thread learned about a descriptor (hints: see select.c). */
#define KCHAN_FD_CHAN		1U	/* a channel when last armed */
#define KCHAN_FD_NOTCHAN	2U	/* not a channel when last looked at */
#define KCHAN_FD_SOCK		4U	/* a socket: recv(), not preadv2() */
#define KCHAN_FD_EPOLL		8U	/* added to the thread's epoll once */

/*
 * A thread's select state, kept between selects: setting these up costs
 * more than a select. A select leaves them quiet (the select file
 * disarmed, no request of the caller's descriptors in the ring); a forked
 * child drops its copies, and they go with their thread.
 */
struct kchan_thread {
	bool init;
	int sfd;		/* the select file, -1 until needed */
	int epfd;		/* the epoll, -1 until needed */
	bool sfd_in_epoll;
	bool ring_ok;
	unsigned int ring_entries;
	bool sfd_polling;	/* io_uring: a poll request on sfd is out */
	struct io_uring ring;
	uint32_t gen;		/* one per wait: stale events are told apart */
	unsigned char *fd_hint;
	unsigned int nfd_hint;
	bool ready_last;	/* the last select found an op ready */
	unsigned int waits;	/* selects that waited since */
};

/* The backend kchan_select() waits in now: KCHAN_BACKEND_EPOLL or _URING. */
KCHAN_HIDDEN int kchan__backend(void);

/* The calling thread's state: kchan__thread() sets it up. */
KCHAN_HIDDEN extern __thread struct kchan_thread kchan__thread_state;

KCHAN_HIDDEN struct kchan_thread *kchan__thread(void);
KCHAN_HIDDEN unsigned int kchan__fd_hint(struct kchan_thread *t, int fd);

/*
 * The calling thread's hints, by fd (*@n of them), without setting its
 * state up: inline, read on every select.
 */
static inline const unsigned char *kchan__fd_hints(unsigned int *n)
{
	*n = kchan__thread_state.nfd_hint;
	return kchan__thread_state.fd_hint;
}
KCHAN_HIDDEN void kchan__fd_hint_set(struct kchan_thread *t, int fd,
				     unsigned int set, unsigned int clear);

struct kchan_wait_ent {
	int fd;			/* -1: not watched */
	unsigned int events;	/* KCHAN_WAIT_IN or KCHAN_WAIT_OUT */
	int op;			/* the caller's index for it */
	bool ready;		/* reported ready, not consumed yet */
	bool always;		/* epoll cannot watch it: always ready, as poll() says */
	bool polling;		/* io_uring: a poll request is out */
	bool found;		/* epoll: its registration was there already */
	unsigned int revents;
	int err;		/* could not be watched: -errno */
};

/* Entry 0 is always the thread's select file (fd -1: not watched). */
struct kchan_wait {
	int backend;		/* KCHAN_BACKEND_EPOLL or KCHAN_BACKEND_URING */
	unsigned int n, max;
	struct kchan_wait_ent *ent;
	int bad;		/* the entry that made kchan__wait_start() fail */
	struct kchan_thread *t;
	uint64_t tag;		/* this wait's generation, high 32 bits */
};

/* Do poll() events @revents make an entry of @events ready? */
KCHAN_HIDDEN bool kchan__ready_for(unsigned int events, unsigned int revents);

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
