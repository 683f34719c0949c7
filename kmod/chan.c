// SPDX-License-Identifier: GPL-2.0
/*
 * The channel: buffer, queues of committed senders and receivers, handoff.
 *
 * DOC: locking
 *
 * kchan.lock (a spinlock) guards buf, count, inflight, nsend, nrecv, the
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
 *    paired with the smp_store_release() in kchan_finish(), to decide
 *    whether to sleep. The committer publishes under waiter.lock, so the
 *    owner takes and drops that lock before it leaves kchan_wait(): the
 *    waiter lives on the owner's stack and must not be touched after.
 *  - kchan_first_live() peeks at the state of queued waiters with
 *    READ_ONCE() only to skip dead tickets; every commit re-checks the
 *    state under the waiter's lock.
 *  - poll reads count, nsend, nrecv and closed with READ_ONCE(); they are
 *    written with WRITE_ONCE() under kchan.lock, and every change that can
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
 * message can come back. The claim is recorded in the message
 * (kchan_msg.sender, under kchan.lock), not in the receiver: a claimed
 * sender that gets a fatal signal clears it and leaves the message to the
 * receiver, so a stalled copy never holds a dying sender.
 */
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "chan.h"
#include "kchan.h"

static atomic64_t kchan_next_id = ATOMIC64_INIT(0);

struct kchan_msg *kchan_msg_alloc(size_t len)
{
	struct kchan_msg *msg;

	msg = kvmalloc(struct_size(msg, data, len), GFP_KERNEL_ACCOUNT);
	if (msg)
		msg->len = len;
	return msg;
}

void kchan_msg_free(struct kchan_msg *msg)
{
	kvfree(msg);
}

/**
 * kchan_alloc() - make a channel with one reference.
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
	init_waitqueue_head(&ch->rd_wait);
	init_waitqueue_head(&ch->wr_wait);
	atomic_set(&ch->writers, 0);
	kref_init(&ch->ref);
	ch->capacity = capacity;
	ch->msg_max = msg_max;
	ch->flags = flags;
	ch->id = atomic64_inc_return(&kchan_next_id);
	kchan_list_add(ch);
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
		kchan_msg_free(msg);
	kchan_user_uncharge(ch->user);
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

/*
 * Publish the end of a wait and wake the owner. The owner may return as
 * soon as it sees KCHAN_W_DONE, but not before it could take w->lock,
 * which we hold: so its task is still there to be woken.
 */
static void kchan_finish(struct kchan_waiter *w, int result)
{
	lockdep_assert_held(&w->lock);
	w->result = result;
	/* Pairs with smp_load_acquire() in kchan_wait(). */
	smp_store_release(&w->state, KCHAN_W_DONE);
	wake_up_process(w->task);
}

static void kchan_enqueue(struct kchan *ch, struct kchan_ticket *t)
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

static void kchan_unqueue(struct kchan *ch, struct kchan_ticket *t)
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
 * stay, since a failed copy can put them back into play.
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
	kchan_unqueue(ch, r);
	r->waiter->msg = msg;
	ch->inflight++;
	kchan_finish(r->waiter, msg->len);
}

/* A receiver too small for the next message wakes with EMSGSIZE. */
static bool kchan_check_room(struct kchan *ch, struct kchan_ticket *r,
			     u32 len)
{
	if (len <= r->room)
		return true;
	kchan_unqueue(ch, r);
	kchan_finish(r->waiter, -EMSGSIZE);
	return false;
}

static void kchan_take_head(struct kchan *ch, struct kchan_ticket *r)
{
	struct kchan_msg *msg = list_first_entry(&ch->buf, struct kchan_msg,
						 node);

	kchan_pair_lock(r->waiter, NULL);
	if (r->waiter->state == KCHAN_W_WAITING &&
	    kchan_check_room(ch, r, msg->len)) {
		list_del(&msg->node);
		WRITE_ONCE(ch->count, ch->count - 1);
		kchan_deliver(ch, r, msg);
	}
	kchan_pair_unlock(r->waiter, NULL);
}

/* Direct handoff from a committed sender to a committed receiver. */
static void kchan_handoff(struct kchan *ch, struct kchan_ticket *r,
			  struct kchan_ticket *s)
{
	kchan_pair_lock(r->waiter, s->waiter);
	if (r->waiter->state == KCHAN_W_WAITING &&
	    s->waiter->state == KCHAN_W_WAITING &&
	    kchan_check_room(ch, r, s->msg->len)) {
		kchan_unqueue(ch, s);
		if (ch->capacity) {
			/* Buffered: the sender is done once the channel has it. */
			ch->sent++;
			kchan_finish(s->waiter, s->msg->len);
			kchan_deliver(ch, r, s->msg);
		} else {
			/* Rendezvous: done only once the copy-out succeeded. */
			s->waiter->state = KCHAN_W_CLAIMED;
			s->msg->sender = s;
			kchan_deliver(ch, r, s->msg);
		}
	}
	kchan_pair_unlock(r->waiter, s->waiter);
}

/* A blocked sender's message moves into free buffer space. */
static void kchan_buffer_sender(struct kchan *ch, struct kchan_ticket *s)
{
	kchan_pair_lock(s->waiter, NULL);
	if (s->waiter->state == KCHAN_W_WAITING) {
		kchan_unqueue(ch, s);
		list_add_tail(&s->msg->node, &ch->buf);
		WRITE_ONCE(ch->count, ch->count + 1);
		ch->sent++;
		kchan_finish(s->waiter, s->msg->len);
	}
	kchan_pair_unlock(s->waiter, NULL);
}

/*
 * Match everything that can be matched: receivers take the buffer's head,
 * then senders' messages in arrival order; blocked senders fill free
 * buffer space. Each step consumes or drops a ticket, so this ends.
 */
static void kchan_match(struct kchan *ch)
{
	struct kchan_ticket *r, *s;

	lockdep_assert_held(&ch->lock);
	for (;;) {
		r = kchan_first_live(ch, &ch->recvq, NULL);
		if (r && ch->count) {
			kchan_take_head(ch, r);
			continue;
		}
		s = kchan_first_live(ch, &ch->sendq, r ? r->waiter : NULL);
		if (r && s) {
			kchan_handoff(ch, r, s);
			continue;
		}
		if (s && ch->count < ch->capacity) {
			kchan_buffer_sender(ch, s);
			continue;
		}
		return;
	}
}

static bool kchan_drained(struct kchan *ch)
{
	lockdep_assert_held(&ch->lock);
	return ch->closed && !ch->count && !ch->inflight;
}

/* Once closed and drained, every committed receiver gets end-of-file. */
static void kchan_eof(struct kchan *ch)
{
	struct kchan_ticket *r;

	if (!kchan_drained(ch))
		return;
	while ((r = kchan_first_live(ch, &ch->recvq, NULL))) {
		kchan_pair_lock(r->waiter, NULL);
		if (r->waiter->state == KCHAN_W_WAITING) {
			kchan_unqueue(ch, r);
			r->waiter->msg = NULL;
			kchan_finish(r->waiter, 0);
		}
		kchan_pair_unlock(r->waiter, NULL);
	}
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
	__poll_t mask = 0;

	if ((mode & FMODE_READ) && (count || READ_ONCE(ch->nsend) || closed))
		mask |= EPOLLIN | EPOLLRDNORM;
	if ((mode & FMODE_WRITE) &&
	    (count < ch->capacity || READ_ONCE(ch->nrecv) || closed))
		mask |= EPOLLOUT | EPOLLWRNORM;
	if (closed) {
		mask |= EPOLLHUP;
		if (mode & FMODE_WRITE)
			mask |= EPOLLERR;
	}
	return mask;
}

/* Wake pollers of the sides in @events that are now ready, one each. */
static void kchan_wake_pollers(struct kchan *ch, __poll_t events)
{
	events &= kchan_readiness(ch, FMODE_READ | FMODE_WRITE);
	if ((events & EPOLLIN) && wq_has_sleeper(&ch->rd_wait))
		wake_up_interruptible_poll(&ch->rd_wait, EPOLLIN | EPOLLRDNORM);
	if ((events & EPOLLOUT) && wq_has_sleeper(&ch->wr_wait))
		wake_up_interruptible_poll(&ch->wr_wait, EPOLLOUT | EPOLLWRNORM);
}

static void kchan_waiter_init(struct kchan_waiter *w)
{
	spin_lock_init(&w->lock);
	w->state = KCHAN_W_WAITING;
	w->result = 0;
	w->msg = NULL;
	w->task = current;
}

static void kchan_ticket_init(struct kchan_ticket *t, struct kchan_waiter *w,
			      struct kchan *ch, bool send)
{
	INIT_LIST_HEAD(&t->node);
	t->waiter = w;
	t->chan = ch;
	t->send = send;
	t->msg = NULL;
	t->room = 0;
}

/* Give up a wait that nothing committed yet. */
static bool kchan_cancel(struct kchan *ch, struct kchan_waiter *w,
			 struct kchan_ticket *t)
{
	bool cancelled = false;

	spin_lock(&ch->lock);
	spin_lock(&w->lock);
	if (w->state == KCHAN_W_WAITING) {
		w->state = KCHAN_W_CANCELLED;
		if (!list_empty(&t->node))
			kchan_unqueue(ch, t);
		cancelled = true;
	}
	spin_unlock(&w->lock);
	spin_unlock(&ch->lock);
	return cancelled;
}

/*
 * A claimed sender dying: leave the message to the receiver copying it,
 * which drops it if that copy fails. Nobody will see this send's result.
 */
static bool kchan_abandon(struct kchan *ch, struct kchan_waiter *w,
			  struct kchan_ticket *t)
{
	bool abandoned = false;

	spin_lock(&ch->lock);
	spin_lock(&w->lock);
	if (w->state == KCHAN_W_CLAIMED) {
		w->state = KCHAN_W_CANCELLED;
		t->msg->sender = NULL;
		t->msg = NULL;
		abandoned = true;
	}
	spin_unlock(&w->lock);
	spin_unlock(&ch->lock);
	return abandoned;
}

/*
 * Sleep until the waiter is done. A signal ends the wait only while
 * nothing is committed: once a receiver claimed our message we wait for
 * its copy, because the send may already have happened; only a fatal
 * signal ends that wait (TASK_KILLABLE), abandoning the message.
 */
static int kchan_wait(struct kchan *ch, struct kchan_waiter *w,
		      struct kchan_ticket *t)
{
	int state;

	for (;;) {
		/* Pairs with smp_store_release() in kchan_finish(). */
		state = smp_load_acquire(&w->state);
		if (state == KCHAN_W_DONE)
			break;
		set_current_state(state == KCHAN_W_CLAIMED ? TASK_KILLABLE :
							     TASK_INTERRUPTIBLE);
		if (READ_ONCE(w->state) != state) {
			__set_current_state(TASK_RUNNING);
			continue;
		}
		if (state == KCHAN_W_WAITING && signal_pending(current)) {
			__set_current_state(TASK_RUNNING);
			if (kchan_cancel(ch, w, t))
				return -ERESTARTSYS;
			continue;
		}
		if (state == KCHAN_W_CLAIMED && fatal_signal_pending(current)) {
			__set_current_state(TASK_RUNNING);
			if (kchan_abandon(ch, w, t))
				return -EINTR;
			continue;
		}
		schedule();
	}
	/* The committer may still hold the lock it published under. */
	spin_lock(&w->lock);
	spin_unlock(&w->lock);
	return w->result;
}

/**
 * kchan_send() - send one message.
 * @ch: the channel
 * @msg: the message, copied in already; owned by the channel from here on
 * @nonblock: fail with -EAGAIN rather than wait for room or a receiver
 *
 * Context: process context, may sleep; takes kchan.lock.
 * Return: the message length once the channel took it (buffered) or a
 * receiver copied it out (rendezvous); -EPIPE if closed (before or while
 * waiting), -EAGAIN, or -ERESTARTSYS if a signal came before anything was
 * committed. On error nothing was sent.
 */
ssize_t kchan_send(struct kchan *ch, struct kchan_msg *msg, bool nonblock)
{
	struct kchan_waiter w;
	struct kchan_ticket t;
	ssize_t ret;

	kchan_waiter_init(&w);
	kchan_ticket_init(&t, &w, ch, true);
	t.msg = msg;
	msg->sender = NULL;

	spin_lock(&ch->lock);
	if (ch->closed) {
		spin_unlock(&ch->lock);
		kchan_msg_free(msg);
		return -EPIPE;
	}
	kchan_enqueue(ch, &t);
	kchan_match(ch);
	if (nonblock && READ_ONCE(w.state) == KCHAN_W_WAITING) {
		kchan_unqueue(ch, &t);
		spin_unlock(&ch->lock);
		kchan_msg_free(msg);
		return -EAGAIN;
	}
	spin_unlock(&ch->lock);
	kchan_wake_pollers(ch, EPOLLIN);

	ret = kchan_wait(ch, &w, &t);
	if (ret < 0)
		kchan_msg_free(t.msg);	/* unless abandoned to a receiver */
	return ret;
}

/*
 * After the copy-out of a received message: complete the claimed sender,
 * or put the message back where it was, then let others match it.
 */
static ssize_t kchan_settle(struct kchan *ch, struct kchan_msg *msg,
			    bool copied)
{
	struct kchan_ticket *peer;
	bool rendezvous = !ch->capacity;
	u32 len = msg->len;

	spin_lock(&ch->lock);
	peer = msg->sender;
	msg->sender = NULL;
	ch->inflight--;
	if (copied) {
		ch->received++;
		if (peer) {
			ch->sent++;
			spin_lock(&peer->waiter->lock);
			kchan_finish(peer->waiter, len);
			spin_unlock(&peer->waiter->lock);
		}
	} else if (peer) {
		spin_lock(&peer->waiter->lock);
		if (ch->closed) {
			kchan_finish(peer->waiter, -EPIPE);
		} else {
			peer->waiter->state = KCHAN_W_WAITING;
			list_add(&peer->node, &ch->sendq);
			WRITE_ONCE(ch->nsend, ch->nsend + 1);
			wake_up_process(peer->waiter->task);
		}
		spin_unlock(&peer->waiter->lock);
		msg = NULL;
	} else if (!rendezvous) {
		list_add(&msg->node, &ch->buf);
		WRITE_ONCE(ch->count, ch->count + 1);
		msg = NULL;
	}
	kchan_match(ch);
	kchan_eof(ch);
	spin_unlock(&ch->lock);
	/* Space was made when the message was taken, not now. */
	if (!copied)
		kchan_wake_pollers(ch, EPOLLIN);

	/* Ours unless it went back: copied, or its sender died meanwhile. */
	kchan_msg_free(msg);
	return copied ? (ssize_t)len : -EFAULT;
}

/**
 * kchan_recv() - receive one whole message into @to.
 * @ch: the channel
 * @to: the reader's buffer
 * @nonblock: fail with -EAGAIN rather than wait
 *
 * Context: process context, may sleep; takes kchan.lock, never while
 * copying to @to.
 * Return: the message length; 0 once closed and drained; -EMSGSIZE if the
 * next message does not fit (it stays queued); -EFAULT if the copy failed
 * (the message goes back to the head); -EAGAIN; -ERESTARTSYS.
 */
ssize_t kchan_recv(struct kchan *ch, struct iov_iter *to, bool nonblock)
{
	struct kchan_waiter w;
	struct kchan_ticket t;
	struct kchan_msg *msg;
	ssize_t ret;
	bool copied;

	kchan_waiter_init(&w);
	kchan_ticket_init(&t, &w, ch, false);
	t.room = iov_iter_count(to);

	spin_lock(&ch->lock);
	kchan_enqueue(ch, &t);
	kchan_match(ch);
	if (READ_ONCE(w.state) == KCHAN_W_WAITING &&
	    (nonblock || kchan_drained(ch))) {
		ret = kchan_drained(ch) ? 0 : -EAGAIN;
		kchan_unqueue(ch, &t);
		spin_unlock(&ch->lock);
		return ret;
	}
	spin_unlock(&ch->lock);
	kchan_wake_pollers(ch, EPOLLOUT);

	ret = kchan_wait(ch, &w, &t);
	if (ret <= 0)
		return ret;
	msg = w.msg;
	copied = copy_to_iter(msg->data, msg->len, to) == msg->len;
	return kchan_settle(ch, msg, copied);
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
	struct kchan_ticket *s;

	spin_lock(&ch->lock);
	if (ch->closed) {
		spin_unlock(&ch->lock);
		return -EPIPE;
	}
	WRITE_ONCE(ch->closed, true);
	while ((s = kchan_first_live(ch, &ch->sendq, NULL))) {
		kchan_pair_lock(s->waiter, NULL);
		if (s->waiter->state == KCHAN_W_WAITING) {
			kchan_unqueue(ch, s);
			kchan_finish(s->waiter, -EPIPE);
		}
		kchan_pair_unlock(s->waiter, NULL);
	}
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
