/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The channel object: a FIFO of whole messages, the queues of committed
 * senders and receivers, and the handoff between them. See chan.c for the
 * locking rules.
 */
#ifndef KCHAN_CHAN_H
#define KCHAN_CHAN_H

#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/kchan.h>

#include "msg.h"

struct kchan_node;
struct kchan_user;

/*
 * A waiter is one read, write or select waiting for any of its tickets to
 * be matched. Exactly one ticket of a waiter ever commits: the state moves
 * away from KCHAN_W_WAITING once, under waiter.lock (a claimed send can
 * move back, if its receiver's copy fails).
 */
enum kchan_wstate {
	KCHAN_W_WAITING,	/* tickets queued, may be matched */
	KCHAN_W_CLAIMED,	/* a receiver is copying our message out */
	KCHAN_W_DONE,		/* finished: result (and msg/peer) are final */
	KCHAN_W_CANCELLED,	/* gave up; its tickets are being unlinked */
};

struct kchan_ticket;

struct kchan_waiter {
	spinlock_t lock;		/* guards state, result, msg, done */
	int state;			/* enum kchan_wstate */
	int result;			/* DONE: length, 0 (closed) or -errno */
	struct kchan_msg *msg;		/* DONE receive: the message handed over */
	struct kchan_ticket *done;	/* the ticket committed or claimed */
	struct kchan_ticket *closed;	/* CLAIMED: a case closed meanwhile */
	struct kchan_ticket *tickets;	/* all of them, fixed while queued */
	unsigned int nr;
	bool nonblock;			/* a failed claim ends with -EAGAIN */
	bool reoffer;			/* a claim fell through: offer again */
	struct task_struct *task;	/* woken on every state change, or */
	wait_queue_head_t *wq;		/* polled instead (an armed select) */
};

/* One pending operation of a waiter on one channel. */
struct kchan_ticket {
	struct list_head node;		/* on kchan.sendq or kchan.recvq */
	struct kchan_waiter *waiter;
	struct kchan *chan;		/* NULL: a case that is never ready */
	bool send;
	bool offered;			/* select: queued once already */
	struct kchan_msg *msg;		/* send: the message offered, if ours */
	size_t room;			/* receive: bytes the reader can take */
	void __user *ubuf;		/* select receive: where it goes */
};

struct kchan {
	spinlock_t lock;
	struct list_head buf;		/* queued messages, oldest first */
	u32 count;			/* messages in buf */
	u32 inflight;			/* messages being copied out */
	/* Of those, taken from buf: their slots stay reserved until done. */
	u32 taken;
	u32 nsend;			/* tickets on sendq */
	u32 nrecv;			/* tickets on recvq */
	struct list_head sendq;		/* committed senders, in arrival order */
	struct list_head recvq;		/* committed receivers, in arrival order */
	bool closed;
	u64 sent;
	u64 received;

	/* Fixed at creation. */
	u32 capacity;
	u32 msg_max;
	u32 flags;			/* KCHAN_CREATE_* */
	u64 id;

	wait_queue_head_t rd_wait;	/* pollers waiting for EPOLLIN */
	wait_queue_head_t wr_wait;	/* pollers waiting for EPOLLOUT */
	atomic_t writers;		/* write-capable files, for autoclose */
	struct kref ref;

	/* msg.c: freed messages kept for reuse */
	struct llist_head spares;
	atomic_t spare_bytes;		/* their sizes */
	spinlock_t spare_lock;		/* taken to take spares */

	kuid_t owner;			/* the creator's fsuid (proc.c) */
	struct kchan_user *user;	/* charged for it and its spares */
	struct kchan_node *node;	/* named channel's device, or NULL */
	const char *name;		/* set once, before node */
};

struct kchan *kchan_alloc(u32 capacity, u32 msg_max, u32 flags);
void kchan_get(struct kchan *ch);
void kchan_put(struct kchan *ch);

ssize_t kchan_send(struct kchan *ch, struct kchan_msg *msg, bool nonblock);
ssize_t kchan_recv(struct kchan *ch, struct iov_iter *to, bool nonblock);
unsigned int kchan_send_run(struct kchan *ch, struct kchan_msg **msgs,
			    unsigned int n);
ssize_t kchan_take(struct kchan *ch, size_t room, bool nonblock,
		   struct kchan_msg **msgp);
unsigned int kchan_take_run(struct kchan *ch, const struct kchan_mmsg *m,
			    unsigned int n, struct kchan_msg **msgs);
int kchan_close(struct kchan *ch);
__poll_t kchan_readiness(struct kchan *ch, fmode_t mode);
int kchan_next_len(struct kchan *ch, u32 *len);
void kchan_snapshot(struct kchan *ch, struct kchan_stat *st);

/* The queue machinery the waiting side (xfer.c) builds on; see chan.c. */
void kchan_waiter_wake(struct kchan_waiter *w);
void kchan_commit(struct kchan_ticket *t, int result);
void kchan_end_ticket(struct kchan *ch, struct kchan_ticket *t, int result);
void kchan_enqueue(struct kchan *ch, struct kchan_ticket *t);
void kchan_unqueue(struct kchan *ch, struct kchan_ticket *t);
void kchan_match(struct kchan *ch);
bool kchan_drained(struct kchan *ch);
void kchan_eof(struct kchan *ch);
void kchan_wake_pollers(struct kchan *ch, __poll_t events);
void kchan_wake_pollers_nr(struct kchan *ch, __poll_t events, int nr);

/* xfer.c: waiting, and what every waiting operation shares */
void kchan_waiter_init(struct kchan_waiter *w, struct kchan_ticket *tickets,
		       unsigned int nr);
void kchan_ticket_init(struct kchan_ticket *t, struct kchan_waiter *w,
		       struct kchan *ch, bool send);
int kchan_wait(struct kchan_waiter *w, const ktime_t *deadline);
bool kchan_cancel(struct kchan_waiter *w);
bool kchan_abandon(struct kchan_waiter *w);
void kchan_unqueue_all(struct kchan_waiter *w);
ssize_t kchan_settle(struct kchan *ch, struct kchan_msg *msg, bool copied);
int kchan_copy_to_iter(struct kchan *ch, struct kchan_msg *msg,
		       struct iov_iter *to);
int kchan_copy_to_user(struct kchan *ch, struct kchan_msg *msg,
		       void __user *buf);
void kchan_settle_run(struct kchan *ch, struct kchan_msg **msgs,
		      unsigned int n, unsigned int ok);

#endif /* KCHAN_CHAN_H */
