// SPDX-License-Identifier: GPL-2.0
/*
 * Sending and receiving: a caller commits a ticket on the channel, lets
 * kchan_match() pair it, sleeps until its waiter is done, and, on the
 * receiving side, copies the message out with no lock held and settles
 * the transfer. The locking rules are at the top of chan.c.
 */
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "chan.h"

/**
 * kchan_waiter_init() - a waiter for the current task over @nr tickets.
 * @w: the waiter
 * @tickets: its tickets, each initialised with kchan_ticket_init()
 * @nr: how many
 */
void kchan_waiter_init(struct kchan_waiter *w, struct kchan_ticket *tickets,
		       unsigned int nr)
{
	spin_lock_init(&w->lock);
	WRITE_ONCE(w->state, KCHAN_W_WAITING);
	w->result = 0;
	w->msg = NULL;
	w->done = NULL;
	w->closed = NULL;
	w->reoffer = false;
	w->tickets = tickets;
	w->nr = nr;
	w->nonblock = false;
	w->task = current;
	w->wq = NULL;
}

void kchan_ticket_init(struct kchan_ticket *t, struct kchan_waiter *w,
		       struct kchan *ch, bool send)
{
	INIT_LIST_HEAD(&t->node);
	t->waiter = w;
	t->chan = ch;
	t->send = send;
	t->offered = false;
	t->msg = NULL;
	t->room = 0;
	t->ubuf = NULL;
}

/**
 * kchan_unqueue_all() - take every ticket of @w off its queue.
 * @w: a waiter that can no longer be committed (done or cancelled)
 *
 * Context: takes each channel's lock in turn, never two at once.
 */
void kchan_unqueue_all(struct kchan_waiter *w)
{
	struct kchan_ticket *t;
	unsigned int i;

	for (i = 0; i < w->nr; i++) {
		t = &w->tickets[i];
		/* Nobody queues it again: only a claimed send moves back. */
		if (!t->chan || t == w->done)
			continue;
		spin_lock(&t->chan->lock);
		if (!list_empty(&t->node))
			kchan_unqueue(t->chan, t);
		spin_unlock(&t->chan->lock);
	}
}

/**
 * kchan_cancel() - give up a wait that nothing committed yet.
 * @w: the waiter
 *
 * Context: takes w->lock, then each channel's lock.
 * Return: true if cancelled; false if a ticket committed or was claimed
 * first.
 */
bool kchan_cancel(struct kchan_waiter *w)
{
	bool cancelled = false;

	spin_lock(&w->lock);
	if (w->state == KCHAN_W_WAITING) {
		WRITE_ONCE(w->state, KCHAN_W_CANCELLED);
		cancelled = true;
	}
	spin_unlock(&w->lock);
	if (cancelled)
		kchan_unqueue_all(w);
	return cancelled;
}

/**
 * kchan_abandon() - a claimed sender going away (killed, or its select
 * file released): leave the message to the receiver copying it, which
 * drops it if that copy fails. Nobody will see this send's result.
 * @w: the waiter
 *
 * Context: takes the claimed ticket's channel lock, then w->lock.
 * Return: true if abandoned; false if the claim ended first.
 */
bool kchan_abandon(struct kchan_waiter *w)
{
	struct kchan_ticket *t = NULL;
	bool abandoned = false;

	/* A failed copy may put the claimed ticket back meanwhile. */
	spin_lock(&w->lock);
	if (w->state == KCHAN_W_CLAIMED)
		t = w->done;
	spin_unlock(&w->lock);
	if (!t)
		return false;

	spin_lock(&t->chan->lock);
	spin_lock(&w->lock);
	if (w->state == KCHAN_W_CLAIMED && w->done == t) {
		WRITE_ONCE(w->state, KCHAN_W_CANCELLED);
		t->msg->sender = NULL;
		t->msg = NULL;
		abandoned = true;
	}
	spin_unlock(&w->lock);
	spin_unlock(&t->chan->lock);
	if (abandoned)
		kchan_unqueue_all(w);
	return abandoned;
}

/*
 * A claim of @w's send fell through: @w is back in line on that channel.
 * While it was claimed, matches on its other channels skipped its tickets
 * there, and a peer may be waiting for them: offer them again.
 */
static void kchan_reoffer(struct kchan_waiter *w)
{
	struct kchan_ticket *t;
	struct kchan *ch;
	unsigned int i;
	bool queued;

	for (i = 0; i < w->nr; i++) {
		t = &w->tickets[i];
		ch = t->chan;
		if (!ch || READ_ONCE(w->state) != KCHAN_W_WAITING)
			continue;
		spin_lock(&ch->lock);
		queued = !list_empty(&t->node);
		if (queued) {
			kchan_match(ch);
			kchan_eof(ch);
		}
		spin_unlock(&ch->lock);
		if (queued)
			kchan_wake_pollers(ch, EPOLLIN | EPOLLOUT);
	}
}

/**
 * kchan_wait() - sleep until the waiter is done.
 * @w: the waiter, its tickets queued
 * @deadline: CLOCK_MONOTONIC time to give up at, or NULL
 *
 * A signal or the deadline ends the wait only while nothing is committed:
 * once a receiver claimed our message we wait for its copy, because the
 * send may already have happened; that copy cannot stall on a page fault
 * (kchan_copy_to_iter()), and only a fatal signal ends the wait
 * (TASK_KILLABLE), abandoning the message. If the claim falls through,
 * the tickets of a select's other cases are offered again.
 *
 * Context: process context, may sleep.
 * Return: the committed result; -ERESTARTSYS on a signal, -ETIMEDOUT at the
 * deadline, -EINTR when killed while claimed. The waiter's tickets are all
 * off their queues once this returns.
 */
int kchan_wait(struct kchan_waiter *w, const ktime_t *deadline)
{
	int state;

	for (;;) {
		/* Pairs with smp_store_release() in kchan_commit(). */
		state = smp_load_acquire(&w->state);
		if (state == KCHAN_W_DONE)
			break;
		/* Set before the wake-up that brought us here. */
		if (state == KCHAN_W_WAITING && READ_ONCE(w->reoffer)) {
			WRITE_ONCE(w->reoffer, false);
			kchan_reoffer(w);
		}
		set_current_state(state == KCHAN_W_CLAIMED ? TASK_KILLABLE :
							     TASK_INTERRUPTIBLE);
		if (READ_ONCE(w->state) != state) {
			__set_current_state(TASK_RUNNING);
			continue;
		}
		if (state == KCHAN_W_WAITING && signal_pending(current)) {
			__set_current_state(TASK_RUNNING);
			if (kchan_cancel(w))
				return -ERESTARTSYS;
			continue;
		}
		if (state == KCHAN_W_WAITING && deadline &&
		    ktime_compare(ktime_get(), *deadline) >= 0) {
			__set_current_state(TASK_RUNNING);
			if (kchan_cancel(w))
				return -ETIMEDOUT;
			continue;
		}
		if (state == KCHAN_W_CLAIMED && fatal_signal_pending(current)) {
			__set_current_state(TASK_RUNNING);
			if (kchan_abandon(w))
				return -EINTR;
			continue;
		}
		if (state == KCHAN_W_WAITING && deadline) {
			ktime_t expires = *deadline;

			schedule_hrtimeout_range(&expires, 0, HRTIMER_MODE_ABS);
		} else {
			schedule();
		}
	}
	/* The committer may still hold the lock it published under. */
	spin_lock(&w->lock);
	spin_unlock(&w->lock);
	if (w->nr > 1)
		kchan_unqueue_all(w);
	return w->result;
}

/*
 * Room in the buffer and nobody queued on either side (queued receivers
 * get messages directly, queued senders go first): a message may go
 * straight in, with no ticket to queue and wait on.
 */
static bool kchan_buffer_direct(struct kchan *ch)
{
	lockdep_assert_held(&ch->lock);
	return !ch->closed && ch->count + ch->taken < ch->capacity &&
	       !ch->nsend && !ch->nrecv;
}

static void kchan_buffer_add(struct kchan *ch, struct kchan_msg *msg)
{
	lockdep_assert_held(&ch->lock);
	list_add_tail(&msg->node, &ch->buf);
	WRITE_ONCE(ch->count, ch->count + 1);
	ch->sent++;
}

/**
 * kchan_send_run() - put messages straight into the buffer, under one
 * lock, while there is room and nobody is queued.
 * @ch: the channel
 * @msgs: the messages, copied in already; those taken are the channel's
 * @n: how many
 *
 * Context: process context; takes kchan.lock.
 * Return: how many were taken, from the first: none to @n.
 */
unsigned int kchan_send_run(struct kchan *ch, struct kchan_msg **msgs,
			    unsigned int n)
{
	unsigned int i = 0;

	spin_lock(&ch->lock);
	while (i < n && kchan_buffer_direct(ch))
		kchan_buffer_add(ch, msgs[i++]);
	spin_unlock(&ch->lock);
	if (i)
		kchan_wake_pollers_nr(ch, EPOLLIN, i);
	return i;
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

	kchan_waiter_init(&w, &t, 1);
	kchan_ticket_init(&t, &w, ch, true);
	w.nonblock = nonblock;
	t.msg = msg;

	spin_lock(&ch->lock);
	if (ch->closed) {
		spin_unlock(&ch->lock);
		kchan_msg_free(ch, msg);
		return -EPIPE;
	}
	if (kchan_buffer_direct(ch)) {
		ret = msg->len;
		kchan_buffer_add(ch, msg);
		spin_unlock(&ch->lock);
		kchan_wake_pollers(ch, EPOLLIN);
		return ret;
	}
	kchan_enqueue(ch, &t);
	kchan_match(ch);
	if (nonblock && READ_ONCE(w.state) == KCHAN_W_WAITING) {
		kchan_unqueue(ch, &t);
		spin_unlock(&ch->lock);
		kchan_msg_free(ch, msg);
		return -EAGAIN;
	}
	spin_unlock(&ch->lock);
	kchan_wake_pollers(ch, EPOLLIN);

	ret = kchan_wait(&w, NULL);
	if (ret < 0)
		kchan_msg_free(ch, t.msg);	/* unless abandoned to a receiver */
	return ret;
}

/*
 * The copy-out of claimed sender @peer's message did not happen: the
 * send fails if its channel closed meanwhile, or ends on the ticket of
 * another case whose channel closed (kchan_end_ticket()); one that may
 * not block fails with -EAGAIN rather than wait in line again; any other
 * goes back to the head of the queue, first in line as it was.
 */
static void kchan_unclaim_locked(struct kchan *ch, struct kchan_ticket *peer)
{
	struct kchan_waiter *w = peer->waiter;
	struct kchan_ticket *closed;

	lockdep_assert_held(&ch->lock);
	spin_lock(&w->lock);
	closed = w->closed;
	w->closed = NULL;
	if (ch->closed) {
		kchan_commit(peer, -EPIPE);
	} else if (closed) {
		kchan_commit(closed, closed->send ? -EPIPE : 0);
	} else if (w->nonblock) {
		kchan_commit(peer, -EAGAIN);
	} else {
		WRITE_ONCE(w->state, KCHAN_W_WAITING);
		w->done = NULL;
		/* Its other cases were skipped meanwhile (kchan_reoffer()). */
		if (w->nr > 1)
			WRITE_ONCE(w->reoffer, true);
		list_add(&peer->node, &ch->sendq);
		WRITE_ONCE(ch->nsend, ch->nsend + 1);
		kchan_waiter_wake(w);
	}
	spin_unlock(&w->lock);
}

/*
 * Settle one message under kchan.lock (see kchan_settle()). Returns the
 * message if it is the caller's to free, NULL if it went back in line.
 * Several failed ones go back in reverse order, so that they keep theirs.
 */
static struct kchan_msg *kchan_settle_locked(struct kchan *ch,
					     struct kchan_msg *msg, bool copied)
{
	struct kchan_ticket *peer = msg->sender;
	bool rendezvous = !ch->capacity;

	lockdep_assert_held(&ch->lock);
	msg->sender = NULL;
	WRITE_ONCE(ch->inflight, ch->inflight - 1);
	if (msg->holds_slot) {
		msg->holds_slot = false;
		WRITE_ONCE(ch->taken, ch->taken - 1);
	}
	if (copied) {
		ch->received++;
		/* A rendezvous message is sent once received, even if its
		 * sender died meanwhile.
		 */
		if (rendezvous && !msg->kept)
			ch->sent++;
		if (peer) {
			spin_lock(&peer->waiter->lock);
			kchan_commit(peer, msg->len);
			spin_unlock(&peer->waiter->lock);
		}
		return msg;
	}
	if (peer) {
		kchan_unclaim_locked(ch, peer);
		return NULL;
	}
	if (!rendezvous || msg->kept) {
		list_add(&msg->node, &ch->buf);
		WRITE_ONCE(ch->count, ch->count + 1);
		return NULL;
	}
	/* Its sender died meanwhile: nobody else can have it. */
	return msg;
}

/**
 * kchan_settle_run() - after the copy-out of received messages: the first
 * @ok were copied, the rest go back to the head, in order.
 * @ch: the channel they came from
 * @msgs: the messages handed over, in the order they were taken
 * @n: how many
 * @ok: how many of them, from the first, were copied
 *
 * A claimed sender is completed, or put back in line; a claimed sender
 * that may not block (O_NONBLOCK) fails with -EAGAIN rather than wait in
 * line again. Then others may match what changed.
 *
 * Context: process context; takes kchan.lock.
 */
void kchan_settle_run(struct kchan *ch, struct kchan_msg **msgs,
		      unsigned int n, unsigned int ok)
{
	unsigned int i;
	bool drained, senders;

	spin_lock(&ch->lock);
	for (i = 0; i < ok; i++)
		msgs[i] = kchan_settle_locked(ch, msgs[i], true);
	for (i = n; i-- > ok; )
		msgs[i] = kchan_settle_locked(ch, msgs[i], false);
	senders = ch->capacity && ch->nsend;
	kchan_match(ch);
	kchan_eof(ch);
	/* These were in flight: if the channel is drained, it just became. */
	drained = kchan_drained(ch);
	spin_unlock(&ch->lock);
	/*
	 * A copied message frees its slot, which a blocked sender's message
	 * may fill at once; a failed one is back in line. One exclusive
	 * poller for each. The last message out of a closed channel makes
	 * it readable (end-of-file) for every poller.
	 */
	if (ok)
		kchan_wake_pollers_nr(ch, EPOLLOUT, ok);
	if (drained)
		kchan_wake_pollers_nr(ch, EPOLLIN, 0);
	else if (ok < n || senders)
		kchan_wake_pollers_nr(ch, EPOLLIN, senders ? n : n - ok);

	for (i = 0; i < n; i++)
		kchan_msg_free(ch, msgs[i]);
}

/**
 * kchan_settle() - kchan_settle_run() for one message.
 * @ch: the channel it came from
 * @msg: the message handed over by the match
 * @copied: whether the receiver's copy succeeded
 *
 * Context: process context; takes kchan.lock.
 * Return: the message length, or -EFAULT if not @copied.
 */
ssize_t kchan_settle(struct kchan *ch, struct kchan_msg *msg, bool copied)
{
	u32 len = msg->len;

	kchan_settle_run(ch, &msg, 1, copied);
	return copied ? (ssize_t)len : -EFAULT;
}

/*
 * A receiver's copy of @msg would fault. If a sender is claimed (it waits
 * on this copy), put it back in line, as a failed copy would, so that it
 * never waits for the fault: the receiver takes that holding nothing, and
 * takes again. Returns true if @msg went back with its sender; false if
 * nobody waits on it (a buffered message, or a sender that died), and the
 * caller copies it, faults and all, and settles it.
 */
static bool kchan_unclaim(struct kchan *ch, struct kchan_msg *msg)
{
	bool unclaimed;

	spin_lock(&ch->lock);
	unclaimed = msg->sender;
	if (unclaimed) {
		kchan_settle_locked(ch, msg, false);
		kchan_match(ch);
		kchan_eof(ch);
	}
	spin_unlock(&ch->lock);
	if (unclaimed)
		kchan_wake_pollers(ch, EPOLLIN);
	return unclaimed;
}

/**
 * kchan_copy_to_iter() - copy a message handed over to the reader's buffer.
 * @ch: the channel it came from
 * @msg: the message
 * @to: the reader's buffer; advanced by @msg->len on success
 *
 * The copy is made with page faults disabled, so that a claimed sender
 * never waits for the receiver's page fault (userfaultfd, FUSE...); if it
 * would fault, the sender goes back in line (kchan_unclaim()).
 *
 * Context: process context, may sleep; no lock held.
 * Return: 0 if copied; -EFAULT if not (settle @msg as failed); -EAGAIN
 * if @msg went back with its sender: fault @to in and take again.
 */
int kchan_copy_to_iter(struct kchan *ch, struct kchan_msg *msg,
		       struct iov_iter *to)
{
	size_t n;

	pagefault_disable();
	n = copy_to_iter(msg->data, msg->len, to);
	pagefault_enable();
	if (n == msg->len)
		return 0;
	iov_iter_revert(to, n);
	if (kchan_unclaim(ch, msg))
		return -EAGAIN;
	n = copy_to_iter(msg->data, msg->len, to);
	if (n == msg->len)
		return 0;
	iov_iter_revert(to, n);
	return -EFAULT;
}

/**
 * kchan_copy_to_user() - kchan_copy_to_iter() for a plain user buffer.
 * @ch: the channel it came from
 * @msg: the message
 * @buf: where it goes
 *
 * Context: process context, may sleep; no lock held.
 * Return: 0, -EFAULT or -EAGAIN, as kchan_copy_to_iter().
 */
int kchan_copy_to_user(struct kchan *ch, struct kchan_msg *msg,
		       void __user *buf)
{
	if (!copy_to_user_nofault(buf, msg->data, msg->len))
		return 0;
	if (kchan_unclaim(ch, msg))
		return -EAGAIN;
	return copy_to_user(buf, msg->data, msg->len) ? -EFAULT : 0;
}

/*
 * Take the buffer's head for a receiver with @room bytes, if nobody is
 * queued to receive ahead of it: the message keeps its slot (taken) until
 * its copy succeeded, as the match would.
 */
static struct kchan_msg *kchan_take_head(struct kchan *ch, size_t room)
{
	struct kchan_msg *msg;

	lockdep_assert_held(&ch->lock);
	if (!ch->count || ch->nrecv)
		return NULL;
	msg = list_first_entry(&ch->buf, struct kchan_msg, node);
	if (msg->len > room)
		return NULL;
	list_del(&msg->node);
	WRITE_ONCE(ch->count, ch->count - 1);
	WRITE_ONCE(ch->taken, ch->taken + 1);
	msg->holds_slot = true;
	WRITE_ONCE(ch->inflight, ch->inflight + 1);
	return msg;
}

/**
 * kchan_take() - wait for the next message for a receiver of @room bytes.
 * @ch: the channel
 * @room: the size of the reader's buffer
 * @nonblock: fail with -EAGAIN rather than wait
 * @msgp: the message handed over; the caller copies it out and settles it
 *
 * Context: process context, may sleep; takes kchan.lock.
 * Return: 1 with *@msgp set; 0 once closed and drained; -EMSGSIZE if the
 * next message does not fit (it stays queued); -EAGAIN; -ERESTARTSYS.
 */
ssize_t kchan_take(struct kchan *ch, size_t room, bool nonblock,
		   struct kchan_msg **msgp)
{
	struct kchan_waiter w;
	struct kchan_ticket t;
	bool waiting;
	ssize_t ret;

	kchan_waiter_init(&w, &t, 1);
	kchan_ticket_init(&t, &w, ch, false);
	t.room = room;

	spin_lock(&ch->lock);
	/* A buffered message: no ticket to queue and wait on. */
	*msgp = kchan_take_head(ch, room);
	if (*msgp) {
		spin_unlock(&ch->lock);
		return 1;
	}
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

	ret = kchan_wait(&w, NULL);
	if (ret <= 0)
		return ret;
	*msgp = w.msg;
	return 1;
}

/**
 * kchan_take_run() - take buffered messages for the buffers of @m, in
 * order, under one lock, while one is at the head and fits.
 * @ch: the channel
 * @m: the buffers (their len: the room each has)
 * @n: how many buffers
 * @msgs: the messages taken; the caller copies them out and settles them
 *
 * Context: process context; takes kchan.lock.
 * Return: how many were taken, from none to @n.
 */
unsigned int kchan_take_run(struct kchan *ch, const struct kchan_mmsg *m,
			    unsigned int n, struct kchan_msg **msgs)
{
	unsigned int i = 0;

	spin_lock(&ch->lock);
	while (i < n && (msgs[i] = kchan_take_head(ch, m[i].len)))
		i++;
	spin_unlock(&ch->lock);
	return i;
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
	struct kchan_msg *msg;
	ssize_t ret;
	u32 len;
	int err;

	/*
	 * A receiver that commits and waits is who a non-blocking sender
	 * counts on: fault its buffer in first, or that sender gets EAGAIN
	 * if the copy would fault. A hint: the copy decides.
	 */
	if (!nonblock && !ch->capacity)
		fault_in_iov_iter_writeable(to, min_t(size_t, iov_iter_count(to),
						      ch->msg_max));
	for (;;) {
		ret = kchan_take(ch, iov_iter_count(to), nonblock, &msg);
		if (ret <= 0)
			return ret;
		len = msg->len;
		err = kchan_copy_to_iter(ch, msg, to);
		if (err != -EAGAIN)
			return kchan_settle(ch, msg, !err);
		/* Its sender is back in line: fault in, holding nothing. */
		if (fault_in_iov_iter_writeable(to, len))
			return -EFAULT;
		if (signal_pending(current))
			return -ERESTARTSYS;
	}
}
