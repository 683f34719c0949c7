// SPDX-License-Identifier: GPL-2.0
/*
 * The channel: buffer, queues of committed senders and receivers, the
 * match that pairs them, close, and what poll and stat see.
 *
 * DOC: locking
 *
 * kchan.lock (a spinlock) guards buf, count, inflight, taken, nsend, nrecv, the
 * sendq and recvq lists and the membership of every ticket on them, closed,
 * sent and received. No code ever holds two channel locks.
 *
 * kchan_waiter.lock guards a waiter's state, result and msg, and
 * nests inside kchan.lock. A handoff commits a sender and a receiver at
 * once: their two waiter locks are taken in address order, the second
 * with SINGLE_DEPTH_NESTING (kchan_pair_lock()). A waiter whose tickets sit
 * on several channels (a select) can therefore be committed from any of
 * them, and the state check under its lock decides which one wins.
 *
 * Lockless reads:
 *  - The waiter's owner samples its own state with smp_load_acquire(),
 *    paired with the smp_store_release() in kchan_commit(), to decide
 *    whether to sleep. The committer publishes under waiter.lock, so the
 *    owner takes and drops that lock before it leaves kchan_wait(): the
 *    waiter lives on the owner's stack and must not be touched after.
 *  - kchan_first_live() peeks at the state of queued waiters with
 *    READ_ONCE() only to skip dead tickets; every commit re-checks the
 *    state under the waiter's lock. So does a select's owner, deciding
 *    whether to go on offering (select.c). Every store to a waiter's
 *    state is therefore WRITE_ONCE() (or the smp_store_release() of
 *    kchan_commit()), made under the waiter's lock.
 *  - poll reads count, taken, inflight, nsend, nrecv and closed with
 *    READ_ONCE(); they are written with WRITE_ONCE() under kchan.lock, and every change that can
 *    make the channel readable or writable is followed, after the lock is
 *    dropped, by kchan_wake_pollers(), whose wq_has_sleeper() barrier pairs
 *    with the smp_mb() after poll_wait() in kchan_fop_poll().
 *
 * No user memory is touched under any lock. A sender copies its message
 * into a kchan_msg before it locks. A receiver is handed a message (from
 * the buffer, or a rendezvous sender's, which is then KCHAN_W_CLAIMED and
 * stays blocked), copies it out unlocked and then settles: on success the
 * claimed sender completes; on failure the message goes back to the head
 * of the buffer, or the claimed sender back to the head of sendq. inflight
 * counts such copies so that close reports end-of-file only once no
 * message can come back, and a message taken from the buffer keeps its
 * slot (taken) until its copy succeeded, so a failed receive leaves the
 * buffer as it was, never above capacity. On a buffered channel a message
 * taken straight from a blocked sender needs a free slot and keeps it
 * the same way. The claim is recorded in the message
 * (kchan_msg.sender, under kchan.lock), not in the receiver: a claimed
 * sender that gets a fatal signal clears it and leaves the message to the
 * receiver, so a stalled copy never holds a dying sender.
 *
 * A claimed sender waits only for a copy that cannot stall: the receiver
 * copies with page faults disabled (kchan_copy_to_iter()), and if that
 * would fault it puts the sender back at the head of sendq (or fails a
 * non-blocking one with EAGAIN), takes the fault holding nothing, and
 * takes again. A page fault held by userfaultfd or FUSE in one process
 * therefore never holds a sender, nor the io_uring ring it writes from.
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
 * The protocol is modelled and checked with SPIN in tools/model/kchan.pml.
 */
#include <linux/cred.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "chan.h"
#include "kchan.h"

static atomic64_t kchan_next_id = ATOMIC64_INIT(0);

/**
 * kchan_alloc() - make a channel with one reference, owned by the
 * caller's fsuid.
 * @capacity: buffered messages, 0 for rendezvous
 * @msg_max: largest message in bytes
 * @flags: KCHAN_CREATE_* flags
 *
 * Context: process context, may sleep.
 * Return: the channel or NULL when out of memory.
 */
struct kchan *kchan_alloc(u32 capacity, u32 msg_max, u32 flags)
{
	struct kchan *ch;

	ch = kzalloc(sizeof(*ch), GFP_KERNEL_ACCOUNT);
	if (!ch)
		return NULL;
	spin_lock_init(&ch->lock);
	INIT_LIST_HEAD(&ch->buf);
	INIT_LIST_HEAD(&ch->sendq);
	INIT_LIST_HEAD(&ch->recvq);
	kchan_spares_init(ch);
	init_waitqueue_head(&ch->rd_wait);
	init_waitqueue_head(&ch->wr_wait);
	atomic_set(&ch->writers, 0);
	kref_init(&ch->ref);
	ch->capacity = capacity;
	ch->msg_max = msg_max;
	ch->flags = flags;
	ch->id = atomic64_inc_return(&kchan_next_id);
	ch->owner = current_fsuid();
	if (kchan_list_add(ch)) {
		kfree(ch);
		return NULL;
	}
	return ch;
}

void kchan_get(struct kchan *ch)
{
	kref_get(&ch->ref);
}

static void kchan_release(struct kref *ref)
{
	struct kchan *ch = container_of(ref, struct kchan, ref);
	struct kchan_msg *msg, *tmp;

	kchan_list_del(ch);
	list_for_each_entry_safe(msg, tmp, &ch->buf, node)
		kchan_msg_free(NULL, msg);
	kchan_spares_release(ch);
	kchan_user_uncharge_channel(ch->user);
	kfree(ch->name);
	kfree(ch);
}

/**
 * kchan_put() - drop a reference; the last one frees the channel and any
 * messages still buffered.
 * @ch: the channel
 *
 * Context: process context. No waiter can be queued: each holds a file
 * reference, hence a channel reference, while it waits.
 */
void kchan_put(struct kchan *ch)
{
	kref_put(&ch->ref, kchan_release);
}

static void kchan_pair_lock(struct kchan_waiter *a, struct kchan_waiter *b)
{
	if (!b) {
		spin_lock(&a->lock);
		return;
	}
	if (a > b)
		swap(a, b);
	spin_lock(&a->lock);
	spin_lock_nested(&b->lock, SINGLE_DEPTH_NESTING);
}

static void kchan_pair_unlock(struct kchan_waiter *a, struct kchan_waiter *b)
{
	if (b)
		spin_unlock(&b->lock);
	spin_unlock(&a->lock);
}

/**
 * kchan_waiter_wake() - tell a waiter's owner that its state changed.
 * @w: the waiter
 *
 * Context: w->lock held.
 */
void kchan_waiter_wake(struct kchan_waiter *w)
{
	lockdep_assert_held(&w->lock);
	/*
	 * Besides its pollers and readers, a select file's queue has a
	 * canceller asleep TASK_KILLABLE while a receiver copies its send
	 * out: a TASK_NORMAL wake-up, not an interruptible one, or the end
	 * of that claim would never wake it.
	 */
	if (w->wq)
		wake_up_poll(w->wq, EPOLLIN | EPOLLRDNORM);
	else
		wake_up_process(w->task);
}

/**
 * kchan_commit() - publish the end of a wait through ticket @t, and wake
 * the owner.
 * @t: the ticket that completed; its waiter's lock held
 * @result: what the wait returns
 *
 * The owner may return as soon as it sees KCHAN_W_DONE, but not before it
 * could take the waiter's lock, which we hold: so it is still there to
 * wake.
 *
 * Context: t->waiter->lock held.
 */
void kchan_commit(struct kchan_ticket *t, int result)
{
	struct kchan_waiter *w = t->waiter;

	lockdep_assert_held(&w->lock);
	w->done = t;
	w->result = result;
	/* Pairs with smp_load_acquire() in kchan_wait(). */
	smp_store_release(&w->state, KCHAN_W_DONE);
	kchan_waiter_wake(w);
}

/**
 * kchan_end_ticket() - @t's channel closed (a send) or was drained after
 * its close (a receive): end @t's wait there, whatever its waiter's state.
 * @ch: @t's channel
 * @t: a ticket, queued or not; it is not queued after
 * @result: what the wait returns through @t: -EPIPE or 0
 *
 * A waiting waiter is committed with @result. A claimed one (a select
 * whose send on another channel a receiver is copying out) cannot be
 * committed yet: @t is recorded, so that if the claim falls through the
 * wait ends here (kchan_unclaim_locked()) instead of waiting again on a
 * closed channel. A waiter already done or cancelled is left alone.
 *
 * Context: kchan.lock held; takes the waiter's lock.
 */
void kchan_end_ticket(struct kchan *ch, struct kchan_ticket *t, int result)
{
	struct kchan_waiter *w = t->waiter;

	lockdep_assert_held(&ch->lock);
	if (!list_empty(&t->node))
		kchan_unqueue(ch, t);
	spin_lock(&w->lock);
	if (w->state == KCHAN_W_WAITING) {
		w->msg = NULL;
		kchan_commit(t, result);
	} else if (w->state == KCHAN_W_CLAIMED && !w->closed) {
		w->closed = t;
	}
	spin_unlock(&w->lock);
}

/**
 * kchan_enqueue() - commit @t: put it at the tail of its queue.
 * @ch: the channel
 * @t: a send or receive ticket
 *
 * Context: kchan.lock held.
 */
void kchan_enqueue(struct kchan *ch, struct kchan_ticket *t)
{
	lockdep_assert_held(&ch->lock);
	if (t->send) {
		list_add_tail(&t->node, &ch->sendq);
		WRITE_ONCE(ch->nsend, ch->nsend + 1);
	} else {
		list_add_tail(&t->node, &ch->recvq);
		WRITE_ONCE(ch->nrecv, ch->nrecv + 1);
	}
}

/**
 * kchan_unqueue() - take @t off its queue.
 * @ch: the channel
 * @t: a queued ticket
 *
 * Context: kchan.lock held.
 */
void kchan_unqueue(struct kchan *ch, struct kchan_ticket *t)
{
	lockdep_assert_held(&ch->lock);
	list_del_init(&t->node);
	if (t->send)
		WRITE_ONCE(ch->nsend, ch->nsend - 1);
	else
		WRITE_ONCE(ch->nrecv, ch->nrecv - 1);
}

/*
 * The first ticket on @q whose waiter may still be matched, skipping those
 * of @skip (a select never matches itself). Tickets of waiters that were
 * committed elsewhere or cancelled are dropped on the way; claimed ones
 * (a select's other tickets, too) stay, since a failed copy can put them
 * back into play.
 */
static struct kchan_ticket *kchan_first_live(struct kchan *ch,
					     struct list_head *q,
					     struct kchan_waiter *skip)
{
	struct kchan_ticket *t, *tmp;

	lockdep_assert_held(&ch->lock);
	list_for_each_entry_safe(t, tmp, q, node) {
		int state = READ_ONCE(t->waiter->state);

		if (t->waiter == skip || state == KCHAN_W_CLAIMED)
			continue;
		if (state == KCHAN_W_WAITING)
			return t;
		kchan_unqueue(ch, t);
	}
	return NULL;
}

/* Hand @msg to the receiver of @r. */
static void kchan_deliver(struct kchan *ch, struct kchan_ticket *r,
			  struct kchan_msg *msg)
{
	lockdep_assert_held(&ch->lock);
	lockdep_assert_held(&r->waiter->lock);
	kchan_unqueue(ch, r);
	r->waiter->msg = msg;
	WRITE_ONCE(ch->inflight, ch->inflight + 1);
	kchan_commit(r, msg->len);
}

/* A receiver too small for the next message wakes with EMSGSIZE. */
static bool kchan_check_room(struct kchan *ch, struct kchan_ticket *r,
			     u32 len)
{
	lockdep_assert_held(&ch->lock);
	lockdep_assert_held(&r->waiter->lock);
	if (len <= r->room)
		return true;
	kchan_unqueue(ch, r);
	kchan_commit(r, -EMSGSIZE);
	return false;
}

static void kchan_take_head(struct kchan *ch, struct kchan_ticket *r)
{
	struct kchan_msg *msg;

	lockdep_assert_held(&ch->lock);
	msg = list_first_entry(&ch->buf, struct kchan_msg, node);
	kchan_pair_lock(r->waiter, NULL);
	if (r->waiter->state == KCHAN_W_WAITING &&
	    kchan_check_room(ch, r, msg->len)) {
		list_del(&msg->node);
		WRITE_ONCE(ch->count, ch->count - 1);
		WRITE_ONCE(ch->taken, ch->taken + 1);
		msg->holds_slot = true;
		kchan_deliver(ch, r, msg);
	}
	kchan_pair_unlock(r->waiter, NULL);
}

/* Direct handoff from a committed sender to a committed receiver. */
static void kchan_handoff(struct kchan *ch, struct kchan_ticket *r,
			  struct kchan_ticket *s)
{
	lockdep_assert_held(&ch->lock);
	kchan_pair_lock(r->waiter, s->waiter);
	if (r->waiter->state == KCHAN_W_WAITING &&
	    s->waiter->state == KCHAN_W_WAITING &&
	    kchan_check_room(ch, r, s->msg->len)) {
		kchan_unqueue(ch, s);
		if (ch->capacity || r->waiter->wq) {
			/*
			 * Buffered: the sender is done once the channel has
			 * it, and the message holds a slot (kchan_match()
			 * found one free) as if it had gone through the
			 * buffer. An armed select copies out only when its
			 * file is read, maybe by the very task that sends:
			 * it takes the message into custody, and a failed
			 * copy puts it back at the head of the channel,
			 * into that slot.
			 */
			s->msg->kept = !ch->capacity;
			if (ch->capacity) {
				s->msg->holds_slot = true;
				WRITE_ONCE(ch->taken, ch->taken + 1);
			}
			ch->sent++;
			kchan_commit(s, s->msg->len);
			kchan_deliver(ch, r, s->msg);
		} else {
			/* Rendezvous: done only once the copy-out succeeded. */
			WRITE_ONCE(s->waiter->state, KCHAN_W_CLAIMED);
			s->waiter->done = s;
			s->msg->sender = s;
			kchan_deliver(ch, r, s->msg);
		}
	}
	kchan_pair_unlock(r->waiter, s->waiter);
}

/* A blocked sender's message moves into free buffer space. */
static void kchan_buffer_sender(struct kchan *ch, struct kchan_ticket *s)
{
	lockdep_assert_held(&ch->lock);
	kchan_pair_lock(s->waiter, NULL);
	if (s->waiter->state == KCHAN_W_WAITING) {
		kchan_unqueue(ch, s);
		list_add_tail(&s->msg->node, &ch->buf);
		WRITE_ONCE(ch->count, ch->count + 1);
		ch->sent++;
		kchan_commit(s, s->msg->len);
	}
	kchan_pair_unlock(s->waiter, NULL);
}

/*
 * A receiver and a sender of two different waiters, oldest first, when the
 * oldest live receiver's waiter also holds every live sender (a select
 * with both directions on this channel): then the next receiver of
 * another waiter gets the oldest sender.
 */
static struct kchan_ticket *kchan_other_receiver(struct kchan *ch,
						 struct kchan_ticket **sp)
{
	struct kchan_ticket *s, *r;

	lockdep_assert_held(&ch->lock);
	s = kchan_first_live(ch, &ch->sendq, NULL);
	if (!s)
		return NULL;
	list_for_each_entry(r, &ch->recvq, node) {
		if (r->waiter != s->waiter &&
		    READ_ONCE(r->waiter->state) == KCHAN_W_WAITING) {
			*sp = s;
			return r;
		}
	}
	return NULL;
}

/*
 * Can a receiver take a committed sender's message? Always on a rendezvous
 * channel; on a buffered one only into a free slot, which the message
 * keeps until its copy-out succeeded: a failed copy, or a select file
 * released with it, puts it back at the head, and a buffer never holds
 * more than its capacity.
 */
static bool kchan_handoff_room(struct kchan *ch)
{
	lockdep_assert_held(&ch->lock);
	return !ch->capacity || ch->count + ch->taken < ch->capacity;
}

/**
 * kchan_match() - match everything that can be matched.
 * @ch: the channel
 *
 * Receivers take the buffer's head, then senders' messages in arrival
 * order (on a buffered channel, while a slot is free); blocked senders
 * fill free buffer space. A waiter is never matched with itself. Each
 * step consumes or drops a ticket, so this ends.
 *
 * Context: kchan.lock held; takes waiter locks.
 */
void kchan_match(struct kchan *ch)
{
	struct kchan_ticket *r, *s;

	lockdep_assert_held(&ch->lock);
	for (;;) {
		r = kchan_first_live(ch, &ch->recvq, NULL);
		if (r && ch->count) {
			kchan_take_head(ch, r);
			continue;
		}
		s = NULL;
		if (r && kchan_handoff_room(ch)) {
			s = kchan_first_live(ch, &ch->sendq, r->waiter);
			if (!s)
				r = kchan_other_receiver(ch, &s);
		}
		if (r && s) {
			kchan_handoff(ch, r, s);
			continue;
		}
		s = kchan_first_live(ch, &ch->sendq, NULL);
		if (s && ch->count + ch->taken < ch->capacity) {
			kchan_buffer_sender(ch, s);
			continue;
		}
		return;
	}
}

/**
 * kchan_drained() - closed, empty, and no message can come back.
 * @ch: the channel
 *
 * Context: kchan.lock held.
 * Return: true once every receive must return end-of-file.
 */
bool kchan_drained(struct kchan *ch)
{
	lockdep_assert_held(&ch->lock);
	return ch->closed && !ch->count && !ch->inflight;
}

/**
 * kchan_eof() - once drained, every committed receiver gets end-of-file,
 * claimed ones too, should their claim fall through (kchan_end_ticket()).
 * @ch: the channel
 *
 * Context: kchan.lock held; takes waiter locks.
 */
void kchan_eof(struct kchan *ch)
{
	struct kchan_ticket *r, *tmp;

	lockdep_assert_held(&ch->lock);
	if (!kchan_drained(ch))
		return;
	list_for_each_entry_safe(r, tmp, &ch->recvq, node)
		kchan_end_ticket(ch, r, 0);
}

/**
 * kchan_readiness() - what poll reports for a file of mode @mode.
 * @ch: the channel
 * @mode: the file's FMODE_READ / FMODE_WRITE bits
 *
 * Context: any; reads the state without the lock (see DOC: locking).
 * Return: EPOLL* bits.
 */
__poll_t kchan_readiness(struct kchan *ch, fmode_t mode)
{
	bool closed = READ_ONCE(ch->closed);
	u32 count = READ_ONCE(ch->count);
	u32 used = count + READ_ONCE(ch->taken);
	__poll_t mask = 0;

	/*
	 * Closed, a receive returns end-of-file only once no message can
	 * come back (kchan_drained()): until then, one being copied out or
	 * held by an armed select may return to the head, and a receive
	 * waits for it.
	 */
	/*
	 * A committed sender's message can be received at once on a
	 * buffered channel only into a free slot (kchan_handoff_room()),
	 * and a committed receiver takes a send at once only on a
	 * rendezvous one; on a buffered one a free slot is what a send
	 * needs.
	 */
	if ((mode & FMODE_READ) &&
	    (count ||
	     (READ_ONCE(ch->nsend) && (!ch->capacity || used < ch->capacity)) ||
	     (closed && !READ_ONCE(ch->inflight))))
		mask |= EPOLLIN | EPOLLRDNORM;
	if ((mode & FMODE_WRITE) &&
	    (used < ch->capacity || (!ch->capacity && READ_ONCE(ch->nrecv)) ||
	     closed))
		mask |= EPOLLOUT | EPOLLWRNORM;
	if (closed) {
		mask |= EPOLLHUP;
		if (mode & FMODE_WRITE)
			mask |= EPOLLERR;
	}
	return mask;
}

/**
 * kchan_wake_pollers_nr() - wake up to @nr exclusive pollers of each side in
 * @events that is ready now.
 * @ch: the channel
 * @events: EPOLLIN and/or EPOLLOUT
 * @nr: how many messages or slots became available: one EPOLLEXCLUSIVE
 *	waiter each, so that none is left asleep beside a ready one
 *
 * Context: any; call after dropping kchan.lock.
 */
void kchan_wake_pollers_nr(struct kchan *ch, __poll_t events, int nr)
{
	events &= kchan_readiness(ch, FMODE_READ | FMODE_WRITE);
	if ((events & EPOLLIN) && wq_has_sleeper(&ch->rd_wait))
		__wake_up(&ch->rd_wait, TASK_INTERRUPTIBLE, nr,
			  poll_to_key(EPOLLIN | EPOLLRDNORM));
	if ((events & EPOLLOUT) && wq_has_sleeper(&ch->wr_wait))
		__wake_up(&ch->wr_wait, TASK_INTERRUPTIBLE, nr,
			  poll_to_key(EPOLLOUT | EPOLLWRNORM));
}

/* kchan_wake_pollers() - one message or slot: one exclusive poller. */
void kchan_wake_pollers(struct kchan *ch, __poll_t events)
{
	kchan_wake_pollers_nr(ch, events, 1);
}

/**
 * kchan_close() - Go's close(): no more sends; receivers drain, then EOF.
 * @ch: the channel
 *
 * Context: process context; takes kchan.lock.
 * Return: 0, or -EPIPE if the channel was closed already.
 */
int kchan_close(struct kchan *ch)
{
	struct kchan_ticket *s, *tmp;

	spin_lock(&ch->lock);
	if (ch->closed) {
		spin_unlock(&ch->lock);
		return -EPIPE;
	}
	WRITE_ONCE(ch->closed, true);
	/* Every queued send fails, claimed selects' too (kchan_end_ticket()). */
	list_for_each_entry_safe(s, tmp, &ch->sendq, node)
		kchan_end_ticket(ch, s, -EPIPE);
	kchan_eof(ch);
	spin_unlock(&ch->lock);

	/* Everyone polling either side learns about the close. */
	__wake_up(&ch->rd_wait, TASK_INTERRUPTIBLE, 0,
		  poll_to_key(EPOLLIN | EPOLLRDNORM | EPOLLHUP | EPOLLERR));
	__wake_up(&ch->wr_wait, TASK_INTERRUPTIBLE, 0,
		  poll_to_key(EPOLLOUT | EPOLLWRNORM | EPOLLHUP | EPOLLERR));
	return 0;
}

/* Length of the message the next receive would get, 0 if none is ready. */
static u32 kchan_peek_len(struct kchan *ch)
{
	struct kchan_ticket *s;

	lockdep_assert_held(&ch->lock);
	if (ch->count)
		return list_first_entry(&ch->buf, struct kchan_msg, node)->len;
	s = kchan_first_live(ch, &ch->sendq, NULL);
	return s ? s->msg->len : 0;
}

/**
 * kchan_next_len() - length of the message the next receive would get.
 * @ch: the channel
 * @len: set to that length
 *
 * Context: takes kchan.lock.
 * Return: 0, -EAGAIN if none is ready, -ENODATA once closed and drained.
 */
int kchan_next_len(struct kchan *ch, u32 *len)
{
	int ret = 0;

	spin_lock(&ch->lock);
	*len = kchan_peek_len(ch);
	if (!*len)
		ret = kchan_drained(ch) ? -ENODATA : -EAGAIN;
	spin_unlock(&ch->lock);
	return ret;
}

/**
 * kchan_snapshot() - fill @st with the channel's state and counters.
 * @ch: the channel
 * @st: zeroed by the caller
 *
 * Context: takes kchan.lock.
 */
void kchan_snapshot(struct kchan *ch, struct kchan_stat *st)
{
	spin_lock(&ch->lock);
	st->id = ch->id;
	st->capacity = ch->capacity;
	st->msg_max = ch->msg_max;
	st->flags = (ch->closed ? KCHAN_STAT_CLOSED : 0) |
		    (ch->flags & KCHAN_CREATE_AUTOCLOSE ?
		     KCHAN_STAT_AUTOCLOSE : 0) |
		    (ch->node ? KCHAN_STAT_NAMED : 0);
	st->queued = ch->count;
	st->senders = ch->nsend;
	st->receivers = ch->nrecv;
	st->sent = ch->sent;
	st->received = ch->received;
	st->next_len = kchan_peek_len(ch);
	spin_unlock(&ch->lock);
}
