// SPDX-License-Identifier: GPL-2.0
/*
 * Sending and receiving: a caller commits a ticket on the channel, lets
 * kchan_match() pair it, sleeps until its waiter is done, and, on the
 * receiving side, copies the message out with no lock held and settles
 * the transfer. The locking rules are at the top of chan.c.
 */
#include <linux/poll.h>
#include <linux/sched/signal.h>

#include "chan.h"

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
	msg->holds_slot = false;

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
	if (msg->holds_slot) {
		msg->holds_slot = false;
		WRITE_ONCE(ch->taken, ch->taken - 1);
	}
	if (copied) {
		ch->received++;
		/* A rendezvous message is sent once received, even if its
		 * sender died meanwhile.
		 */
		if (rendezvous)
			ch->sent++;
		if (peer) {
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
	/* A copied message frees its slot; a failed one is back in line. */
	kchan_wake_pollers(ch, copied ? EPOLLOUT : EPOLLIN);

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
	bool copied, waiting;
	ssize_t ret;

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
	waiting = READ_ONCE(w.state) == KCHAN_W_WAITING;
	spin_unlock(&ch->lock);
	/* A committed receiver makes a rendezvous channel writable. */
	if (waiting)
		kchan_wake_pollers(ch, EPOLLOUT);

	ret = kchan_wait(ch, &w, &t);
	if (ret <= 0)
		return ret;
	msg = w.msg;
	copied = copy_to_iter(msg->data, msg->len, to) == msg->len;
	return kchan_settle(ch, msg, copied);
}
