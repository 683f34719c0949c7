/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The channel object: a FIFO of whole messages, the queues of senders
 * and receivers waiting on it, and the handoff between them; what each
 * lock guards, below. chan.c is the only file that changes a channel's
 * state; xfer.c and select.c wait, copy without a lock, and settle
 * through chan.c's calls.
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
#include "cargo.h"
#include "slots.h"

/**
 * DOC: locking
 *
 * Words. A ticket is *queued* while it sits on a channel's sendq or recvq.
 * A waiter is *committed* when its state leaves KCHAN_W_WAITING for
 * KCHAN_W_DONE through one of its tickets, the *winner*
 * (kchan_waiter.winner): a receiver handed a message, a sender whose
 * message the channel or a receiver took, or a wait ended by close. A
 * rendezvous sender whose message a receiver is copying out is *claimed*
 * (KCHAN_W_CLAIMED): its winner is recorded, but the send completes only
 * when the copy does.
 *
 * kchan.lock (a spinlock) guards buf, count, inflight, taken, nsend,
 * nrecv, the sendq and recvq lists and the membership of every ticket on
 * them, closed, sent, received and node, and of every message it holds
 * (buffered, or handed to a receiver and not yet settled) the claim
 * (kchan_msg.sender), holds_slot and kept. No code ever holds two channel
 * locks. Only chan.c takes it to change the channel: every other file
 * calls chan.c.
 *
 * kchan_waiter.lock guards a waiter's state, result, msg, winner and
 * closed, and nests inside kchan.lock. A handoff commits a sender and a
 * receiver at once: their two waiter locks are taken in address order,
 * the second with SINGLE_DEPTH_NESTING (kchan_pair_lock()); a send that
 * fills a receiver's buffer (kchan_fill(), below) changes nothing of its
 * own waiter, lone and not queued, and takes only the receiver's. A waiter
 * whose tickets sit on several channels (a select) can therefore be
 * committed from any of them, and the state check under its lock decides
 * which one wins.
 *
 * Lockless reads:
 *  - The waiter's owner samples its own state with smp_load_acquire(),
 *    paired with the smp_store_release() in kchan_commit(), to decide
 *    whether to sleep. The committer publishes under waiter.lock, so the
 *    owner takes and drops that lock before it leaves kchan_wait(): the
 *    waiter lives on the owner's stack and must not be touched after.
 *  - kchan_first_live() peeks at the state of queued waiters with
 *    READ_ONCE() only to skip dead tickets; every commit re-checks the
 *    state under the waiter's lock, and so does the drop of a persistent
 *    select's dead ticket, which can come back to life (below). So does
 *    a select's owner, deciding whether to go on offering (select.c).
 *    Every store to a waiter's state is therefore WRITE_ONCE() (or the
 *    smp_store_release() of kchan_commit()), made under the waiter's lock.
 *  - poll reads count, taken, inflight, nsend, nrecv and closed with
 *    READ_ONCE(); they are written with WRITE_ONCE() under kchan.lock,
 *    and every change that can make the channel readable or writable is
 *    followed, after the lock is dropped, by kchan_wake_pollers(), whose
 *    wq_has_sleeper() barrier pairs with the smp_mb() after poll_wait()
 *    in kchan_fop_poll(). nsend and nrecv count queued tickets, dead
 *    ones too (a select's, committed through another case): when a
 *    queued peer is all that would make the channel ready, poll takes
 *    kchan.lock and looks for a live one, dropping dead ones as a match
 *    does (kchan_readiness()). A ticket turns dead without a wake-up
 *    (readiness only falls); one that comes back to life in place, a
 *    persistent select's, is one no poll passed while it was dead, or
 *    that poll would have dropped it, and its offer after the rearm
 *    wakes the pollers.
 *
 * A change that may commit waiters takes kchan.lock with kchan_lock():
 * the tasks it commits are woken by kchan_unlock() once the lock is
 * dropped, each held by a task reference taken under the waiter's lock
 * (ipc/mqueue.c's wake_q), so that a woken task does not run at once into
 * the locks its waker still holds. A select file's queue is woken under
 * the locks (kchan_waiter_wake()).
 *
 * No user memory is touched under any lock but one small copy that cannot
 * fault: a lone receive of a small buffered message (kchan_recv_head())
 * copies it out under kchan.lock with page faults disabled, and takes it
 * only if the copy succeeded; if it would fault, nothing changed and the
 * receive goes the long way below. A sender copies its message
 * into a kchan_msg before it locks. A receiver is handed a message (from
 * the buffer, or a rendezvous sender's, which is then claimed and stays
 * blocked), copies it out unlocked and then settles: on success the
 * claimed sender completes; on failure the message goes back to the head
 * of the buffer, or the claimed sender back to the head of sendq.
 * inflight counts such copies so that close reports end-of-file only
 * once no message can come back, and a message taken from the buffer
 * keeps its slot (taken) until its copy succeeded, so a failed receive
 * leaves the buffer as it was, never above capacity. On a buffered
 * channel a message taken straight from a blocked sender needs a free
 * slot and keeps it the same way. The claim is recorded in the message
 * (kchan_msg.sender, under kchan.lock), not in the receiver: a claimed
 * sender that gets a fatal signal clears it and leaves the message to the
 * receiver (kchan_disown()), so a stalled copy never holds a dying
 * sender.
 *
 * A claimed sender waits only for a copy that cannot stall: the receiver
 * copies with page faults disabled (kchan_copy_to_iter()), and if that
 * would fault it puts the sender back at the head of sendq (or fails a
 * non-blocking one with EAGAIN), takes the fault holding nothing, and
 * takes again. A page fault held by userfaultfd or FUSE in one process
 * therefore never holds a sender, nor the io_uring ring it writes from.
 *
 * A lone send that finds a lone blocking read of the same address space
 * queued may copy its message into that read's buffer itself
 * (kchan_fill()): the receiver leaves its queue *filled*
 * (KCHAN_W_FILLED), its message in flight, and waits for that copy
 * whatever signal comes, because the copy writes through the iov_iter on
 * its stack; so the copy is made with page faults disabled and no lock
 * held. Copied, the sender commits the receiver with the length and
 * returns: one wake-up, no sleep. Not copied, the sender is claimed and
 * the message handed to the receiver as above (kchan_fill_done()).
 *
 * A claimed select still has tickets queued on its other cases' channels.
 * Close ends every ticket on its queues whatever the waiter's state
 * (kchan_end_ticket()): a claimed waiter's ticket leaves the queue and is
 * recorded in kchan_waiter.closed, under the waiter's lock, so that a
 * claim that falls through ends the select there (EPIPE for a send case,
 * closed for a receive case) rather than waiting again on a closed
 * channel, where a later receiver would take its message after EOF.
 *
 * An armed select (selfd.c) copies out only when its file is read, which
 * may be long after the match, by the sending task itself: a rendezvous
 * sender matched with one completes at once, and its message (kept) goes
 * back to the head of the channel's buffer if that copy fails or never
 * happens, as a buffered message would.
 *
 * A persistent select file (KCHAN_SELECT_PERSIST) stays armed across
 * collections without unqueuing and requeuing every case: while it is
 * done, its other tickets stay where they are, dead to matches as any
 * committed waiter's, and every ticket that leaves a queue, whoever takes
 * it off, goes on its select file's unqueued list (lockless, an llist:
 * kchan_selfd_unqueued()), which the owner drains and offers again after
 * the next collection. A ticket is listed only under its waiter's lock
 * (a dead one after its state is read again there), and the owner drains
 * the list and goes back to KCHAN_W_WAITING in one critical section of
 * that lock (kchan_sel_rearm()): a ticket is listed either before, and
 * drained, or after, and then only as the winner of the next commit. A
 * match that passes a dead ticket drops it, so a ticket left queued is
 * one that no match reached: had it been live, it would not have been
 * matched either, and it becomes live again in place.
 *
 * The protocol is modelled and checked with SPIN in tools/model/kchan.pml,
 * persistent select files (the unqueued list, kchan_drop_dead(), the
 * rearm) and the fill (KCHAN_W_FILLED, kchan_fill_done()) included, for
 * small worlds: two cases per select, no batches, deadlines, non-blocking
 * calls, kchan_abandon(), pollers, message sizes or carried channels.
 * tools/model/README.md lists what is and is not modelled.
 */

struct kchan_node;
struct kchan_user;
struct kchan_ticket;
struct kchan_wake;

/*
 * A waiter is one read, write or select waiting for any of its tickets to
 * be matched. Exactly one ticket of a waiter ever wins: the state moves
 * away from KCHAN_W_WAITING once, under waiter.lock (a claimed send can
 * move back, if its receiver's copy fails).
 */
enum kchan_wstate {
	KCHAN_W_WAITING,	/* tickets queued, may be matched */
	KCHAN_W_CLAIMED,	/* a receiver is copying our message out */
	KCHAN_W_FILLED,		/* a sender is copying into our buffer */
	KCHAN_W_DONE,		/* committed: result (and msg) are final */
	KCHAN_W_CANCELLED,	/* gave up; its tickets are being unqueued */
};

/*
 * "Fixed" fields are set by the owner before any ticket is queued and
 * not changed while one is.
 */
struct kchan_waiter {
	spinlock_t lock;
	int state;			/* lock; lockless reads, see DOC */
	int result;			/* lock; DONE: length, 0 or -errno */
	struct kchan_msg *msg;		/* lock; DONE receive: the message */
	struct kchan_ticket *winner;	/* lock; the ticket committed or claimed */
	struct kchan_ticket *closed;	/* lock; CLAIMED: a case closed since */
	struct kchan_ticket *tickets;	/* fixed: all of them */
	unsigned int nr;		/* fixed */
	bool nonblock;			/* fixed: a failed claim ends, EAGAIN */
	/*
	 * Set under lock by a claim that fell through; cleared by whoever
	 * offers the other tickets again (kchan_reoffer()).
	 */
	bool reoffer;
	/* Fixed: a persistent select file's, see kchan_selfd_unqueued(). */
	bool persistent;
	struct task_struct *task;	/* fixed: woken on every state change, */
	wait_queue_head_t *wq;		/* or, fixed: polled (an armed select) */
};

/* One pending operation of a waiter on one channel. */
struct kchan_ticket {
	struct list_head node;		/* chan->lock: on sendq or recvq */
	struct kchan_waiter *waiter;	/* fixed */
	struct kchan *chan;		/* fixed; NULL: a case never ready */
	bool send;			/* fixed */
	bool offered;			/* the owner's: kchan_offer() ran */
	/* Fixed; a select file's readiness case: what it waits for, else 0. */
	__poll_t watch_events;
	union {
		/* Send: the message offered, while ours; dropped under chan->lock. */
		struct kchan_msg *msg;
		/* Fixed; a readiness case (no channel): its file, held. */
		struct file *watch;
		/* A persistent select's receive: off its queue, to offer again. */
		struct llist_node unqueued;
	};
	size_t room;			/* fixed; receive: bytes it can take */
	union {
		/* Fixed; a lone blocking read: its buffer (kchan_fill()). */
		struct iov_iter *to;
		/* Send, its owner's: the receiver it fills, once offered. */
		struct kchan_ticket *fill;
	};
	void __user *ubuf;		/* fixed; select receive: its buffer */
	struct kchan_cargo_dest dest;	/* fixed; select receive: its references */
};

/*
 * An idle channel costs this struct, its file and no more (performance.md,
 * M1), so it is laid out without holes, in a cache of its own
 * (kchan_cache_init()): what only a named channel needs stays with its
 * node (names.c).
 */
struct kchan {
	spinlock_t lock;
	/* Guarded by lock (see DOC: locking), READ_ONCE() for poll. */
	u32 count;			/* messages in buf */
	struct list_head buf;		/* buffered messages, oldest first */
	u32 inflight;			/* messages being copied out */
	/* Of those, taken from buf: their slots stay reserved until done. */
	u32 taken;
	u32 nsend;			/* tickets on sendq */
	u32 nrecv;			/* tickets on recvq */
	struct list_head sendq;		/* queued senders, in arrival order */
	struct list_head recvq;		/* queued receivers, in arrival order */
	u64 sent;
	u64 received;
	struct kchan_wake *wake;	/* kchan_lock()'s: tasks to wake */
	bool closed;

	/* Fixed at creation. */
	u16 flags;			/* KCHAN_CREATE_* */
	u32 capacity;
	u32 msg_max;
	kuid_t owner;			/* the creator's fsuid */
	u64 id;

	/* Pollers of both sides, woken with the events that came (keyed). */
	wait_queue_head_t poll_wait;
	atomic_t writers;		/* write-capable files, for autoclose */
	struct kref ref;

	struct kchan_user *user;	/* set before it is published */
	struct kchan_node *node;	/* lock; named channel's device, or NULL */
	/* Set once, by a send (kchan_slots()); freed with it. */
	struct kchan_slots *slots;
};

int kchan_cache_init(void);
void kchan_cache_exit(void);
struct kchan *kchan_alloc(u32 capacity, u32 msg_max, u32 flags);
void kchan_get(struct kchan *ch);
void kchan_put(struct kchan *ch);
struct kchan_slots *kchan_slots_make(struct kchan *ch);

/**
 * kchan_slots() - @ch's slots (slots.c), made at its first call once it
 * has carried KCHAN_SLOTS_AFTER messages, if its messages are small
 * enough and its creator's budget has room.
 * @ch: the channel
 *
 * Context: process context, may sleep.
 * Return: the slots, or NULL if @ch has none (its messages are allocated
 * one by one).
 */
static inline struct kchan_slots *kchan_slots(struct kchan *ch)
{
	struct kchan_slots *s = READ_ONCE(ch->slots);

	if (likely(s) || !kchan_slots_fit(ch->msg_max))
		return s;
	/* Read without the lock: it only says when to make them. */
	if (data_race(ch->sent) < KCHAN_SLOTS_AFTER)
		return NULL;
	return kchan_slots_make(ch);
}

/* kchan_offer()'s @how */
#define KCHAN_OFFER_DIRECT	BIT(0)	/* a lone read or write: short way */
#define KCHAN_OFFER_TRY		BIT(1)	/* withdraw if nothing matched */
#define KCHAN_OFFER_NOQUEUE	BIT(2)	/* the short way or nothing */

/* kchan_offer()'s return: a send's receiver to fill, see kchan_fill() */
#define KCHAN_OFFER_FILL	2

/* chan.c: every change to a channel's state */
int kchan_offer(struct kchan_ticket *t, unsigned int how);
void kchan_withdraw(struct kchan_ticket *t);
void kchan_rematch(struct kchan_ticket *t);
bool kchan_disown(struct kchan_ticket *t);
bool kchan_fill_done(struct kchan_ticket *t, bool copied);
unsigned int kchan_send_run(struct kchan *ch, struct kchan_msg **msgs,
			    unsigned int n);
unsigned int kchan_take_run(struct kchan *ch, const struct kchan_mmsg *m,
			    unsigned int n, struct kchan_msg **msgs);
bool kchan_unclaim(struct kchan *ch, struct kchan_msg *msg);
void kchan_settle_run(struct kchan *ch, struct kchan_msg **msgs,
		      unsigned int n, unsigned int ok);
ssize_t kchan_recv_head(struct kchan *ch, struct iov_iter *to);
int kchan_close(struct kchan *ch);
__poll_t kchan_readiness(struct kchan *ch, fmode_t mode);
__poll_t kchan_readiness_hint(struct kchan *ch, fmode_t mode);
int kchan_next_len(struct kchan *ch, u32 *len);
void kchan_snapshot(struct kchan *ch, struct kchan_stat *st);

/* xfer.c: waiting, copying out without a lock, settling */
void kchan_waiter_init(struct kchan_waiter *w, struct kchan_ticket *tickets,
		       unsigned int nr);
void kchan_ticket_init(struct kchan_ticket *t, struct kchan_waiter *w,
		       struct kchan *ch, bool send);
int kchan_wait(struct kchan_waiter *w, const ktime_t *deadline);
int kchan_probe_writable(void __user *buf, size_t len);
void kchan_reoffer(struct kchan_waiter *w);
bool kchan_cancel(struct kchan_waiter *w);
bool kchan_abandon(struct kchan_waiter *w);
void kchan_unqueue_all(struct kchan_waiter *w);
ssize_t kchan_send(struct kchan *ch, struct kchan_msg *msg, bool nonblock);
ssize_t kchan_recv(struct kchan *ch, struct iov_iter *to, bool nonblock);
ssize_t kchan_take(struct kchan *ch, size_t room, bool nonblock,
		   struct kchan_msg **msgp);
int kchan_copy_to_iter(struct kchan *ch, struct kchan_msg *msg,
		       struct iov_iter *to);
int kchan_copy_to_user(struct kchan *ch, struct kchan_msg *msg,
		       void __user *buf);

/**
 * kchan_settle() - kchan_settle_run() for one message.
 * @ch: the channel it came from
 * @msg: the message handed over by the match
 * @copied: whether the receiver's copy succeeded
 *
 * Inline: every receive ends here.
 *
 * Context: process context; takes kchan.lock.
 * Return: the message length, or -EFAULT if not @copied.
 */
static inline ssize_t kchan_settle(struct kchan *ch, struct kchan_msg *msg,
				   bool copied)
{
	u32 len = msg->len;

	kchan_settle_run(ch, &msg, 1, copied);
	return copied ? (ssize_t)len : -EFAULT;
}

/* selfd.c: a persistent select's ticket left its queue (DOC above) */
void kchan_selfd_unqueued(struct kchan_ticket *t);

#endif /* KCHAN_CHAN_H */
