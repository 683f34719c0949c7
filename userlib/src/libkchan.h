/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * libkchan: Go's channel operations for C programs, over the kchan module.
 *
 * Every call returns >= 0 on success or a negative errno; errno is never
 * the result. Deadlines are absolute CLOCK_MONOTONIC times in nanoseconds
 * (kchan_now(), kchan_in()): KCHAN_FOREVER waits forever and 0 never
 * blocks. After a signal a call returns -EINTR and may be retried with the
 * same deadline. See libkchan(7).
 */
#ifndef LIBKCHAN_H
#define LIBKCHAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/kchan.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KCHAN_FOREVER		((int64_t)-1)

/* kchan_make() and kchan_create() flags */
#define KCHAN_AUTOCLOSE		KCHAN_CREATE_AUTOCLOSE
#define KCHAN_CARRIER		KCHAN_CREATE_CARRIER	/* carries channels */

/* kchan_select() and kchan_sel_arm() flags */
#define KCHAN_PRIORITY		KCHAN_SELECT_PRIORITY
/* kchan_sel_arm() only: armed across collections, receives only */
#define KCHAN_PERSIST		KCHAN_SELECT_PERSIST

/* struct kchan_op.kind */
enum {
	KCHAN_SEND = 1,		/* send one message */
	KCHAN_RECV,		/* receive one message (any fd: one read()) */
	KCHAN_READABLE,		/* the fd polls readable; nothing consumed */
	KCHAN_WRITABLE,		/* the fd polls writable; nothing written */
	KCHAN_SEND_CHANS,	/* send with channels: buf is a struct kchan_msghdr */
	KCHAN_RECV_CHANS,	/* receive with channels: buf is a struct kchan_msghdr */
};

struct kchan_op {
	int fd;			/* a channel, any other fd, or -1: never ready */
	int kind;		/* KCHAN_SEND, KCHAN_RECV, KCHAN_READABLE, KCHAN_WRITABLE */
	void *buf;		/* SEND: the message; RECV: where it goes */
	size_t len;		/* SEND: its length; RECV: room */
	ssize_t result;		/* out: bytes moved (RECV: 0 = closed and drained), or -errno */
};

/* kchan_set_backend(): how kchan_select() waits when non-channel fds are among its ops */
enum {
	KCHAN_BACKEND_DEFAULT = 0,	/* $KCHAN_BACKEND, else epoll */
	KCHAN_BACKEND_EPOLL,
	KCHAN_BACKEND_URING,
};

int64_t kchan_now(void);
int64_t kchan_in(int64_t ns);

int kchan_make(unsigned int capacity, size_t msg_max, unsigned int flags);
int kchan_create(const char *name, unsigned int capacity, size_t msg_max,
		 mode_t mode, unsigned int flags);
int kchan_open(const char *name, int oflags);
int kchan_unlink(const char *name);

ssize_t kchan_send(int ch, const void *msg, size_t len, int64_t deadline);
ssize_t kchan_recv(int ch, void *buf, size_t size, int64_t deadline);
int kchan_close(int ch);

int kchan_sendv(int ch, const struct iovec *iov, unsigned int n, int64_t deadline);
int kchan_recvv(int ch, struct iovec *iov, unsigned int n, int64_t deadline);

/* Channels in messages, on a carrier (KCHAN_CARRIER); since KCHAN_1.1. */
ssize_t kchan_send_chans(int ch, const void *msg, size_t len,
			 const struct kchan_chanref *chans, unsigned int nchans,
			 int64_t deadline);
ssize_t kchan_recv_chans(int ch, void *buf, size_t size,
			 struct kchan_chanref *chans, unsigned int *nchans,
			 unsigned int flags, int64_t deadline);

int kchan_select(struct kchan_op *ops, unsigned int n, unsigned int flags,
		 int64_t deadline);
int kchan_set_backend(int backend);

int kchan_after(int64_t deadline);
int kchan_tick(int64_t period_ns);
int kchan_go(void (*fn)(void *), void *arg);
int kchan_spawn(void (*fn)(void *), void *arg);

/* An armed select for the caller's own epoll or io_uring loop. */
struct io_uring_sqe;
int kchan_sel_open(unsigned int flags);
int kchan_sel_arm(int sfd, struct kchan_op *ops, unsigned int n, unsigned int flags);
int kchan_sel_collect(int sfd, struct kchan_op *ops, unsigned int n);
int kchan_sel_cancel(int sfd, struct kchan_op *ops, unsigned int n);
void kchan_prep_collect(struct io_uring_sqe *sqe, int sfd,
			struct kchan_select_result *res);
int kchan_sel_result(const struct kchan_select_result *res, int cqe_res,
		     struct kchan_op *ops, unsigned int n);

#ifdef __cplusplus
}
#endif

#endif /* LIBKCHAN_H */
