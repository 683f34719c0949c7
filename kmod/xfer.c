// SPDX-License-Identifier: GPL-2.0
/*
 * Sending and receiving: a caller offers a ticket on the channel
 * (kchan_offer()), sleeps until its waiter is committed, and, on the
 * receiving side, copies the message out with no lock held and settles
 * the transfer through chan.c. Nothing here changes a channel's state;
 * the locking rules are the DOC: block in chan.h.
 */
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "chan.h"
#include "compat.h"

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
	w->winner = NULL;
	w->closed = NULL;
	w->reoffer = false;
	w->tickets = tickets;
	w->nr = nr;
	w->nonblock = false;
	w->task = current;
	w->wq = NULL;
	w->persistent = false;
}

void kchan_ticket_init(struct kchan_ticket *t, struct kchan_waiter *w,
		       struct kchan *ch, bool send)
{
	INIT_LIST_HEAD(&t->node);
	t->waiter = w;
	t->chan = ch;
	t->send = send;
	t->offered = false;
	t->watch_events = 0;
	t->msg = NULL;			/* and t->watch */
	t->room = 0;
	t->ubuf = NULL;
	t->dest.count = NULL;
	t->to = NULL;			/* and t->fill */
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
		/*
		 * Nobody queues it again: only a claimed send moves back.
		 * One never offered was never queued (kchan_offer() marks
		 * it), so a select that found a case ready at once does not
		 * lock the channels of the cases it did not get to.
		 */
		if (t->chan && t->offered && t != w->winner)
			kchan_withdraw(t);
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
 * file released): leave the message to the receiver copying it
 * (kchan_disown()).
 * @w: the waiter
 *
 * Context: takes the claimed ticket's channel lock, then w->lock.
 * Return: true if abandoned; false if the claim ended first.
 */
bool kchan_abandon(struct kchan_waiter *w)
{
	struct kchan_ticket *t = NULL;

	/* A failed copy may put the claimed ticket back meanwhile. */
	spin_lock(&w->lock);
	if (w->state == KCHAN_W_CLAIMED)
		t = w->winner;
	spin_unlock(&w->lock);
	if (!t || !kchan_disown(t))
		return false;
	kchan_unqueue_all(w);
	return true;
}

/**
 * kchan_reoffer() - a claim of @w's send fell through: @w is back in line
 * on that channel. While it was claimed, matches on its other channels
 * skipped its tickets there, and a peer may be waiting for them: offer
 * them again. Does nothing unless the claim's end asked for it
 * (kchan_waiter.reoffer), which it clears.
 * @w: the waiter, its tickets offered and not freed meanwhile: its owner
 *     in kchan_wait(), or an armed select file under its mutex
 *
 * Context: process context; takes kchan.lock, then waiter locks.
 */
void kchan_reoffer(struct kchan_waiter *w)
{
	unsigned int i;

	/* Set, under the waiter lock, before the wake that brought us. */
	if (!READ_ONCE(w->reoffer))
		return;
	WRITE_ONCE(w->reoffer, false);
	for (i = 0; i < w->nr; i++) {
		if (w->tickets[i].chan &&
		    READ_ONCE(w->state) == KCHAN_W_WAITING)
			kchan_rematch(&w->tickets[i]);
	}
}

/**
 * kchan_probe_writable() - make [@buf, @buf + @len) writable, as a
 * receive's buffer, before it waits.
 * @buf: the user buffer
 * @len: its length
 *
 * Pages already mapped writable are found without locks (GUP-fast), the
 * rest faulted in; nothing is written.
 *
 * Context: process context, may sleep.
 * Return: 0, or -EFAULT if some page cannot be made writable.
 */
int kchan_probe_writable(void __user *buf, size_t len)
{
	unsigned long addr = (unsigned long)buf, end = addr + len, next;
	struct page *page;

	while (addr < end) {
		next = min(end, (addr & PAGE_MASK) + PAGE_SIZE);
		if (get_user_page_fast_only(addr, FOLL_WRITE, &page)) {
			put_page(page);
		} else if (fault_in_safe_writeable((char __user *)addr,
						   next - addr)) {
			return -EFAULT;
		}
		addr = next;
	}
	return 0;
}

/**
 * kchan_wait() - sleep until the waiter is done.
 * @w: the waiter, its tickets offered
 * @deadline: CLOCK_MONOTONIC time to give up at, or NULL
 *
 * A signal or the deadline ends the wait only while nothing is committed:
 * once a receiver claimed our message we wait for its copy, because the
 * send may already have happened; that copy cannot stall on a page fault
 * (kchan_copy_to_iter()), and only a fatal signal ends the wait
 * (TASK_KILLABLE), abandoning the message. If the claim falls through,
 * the tickets of a select's other cases are offered again. A receiver
 * whose buffer a sender is filling waits for that copy, which cannot
 * stall either (kchan_fill()), whatever signal comes: it writes to
 * memory the receive still owns (TASK_UNINTERRUPTIBLE).
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
		if (state == KCHAN_W_WAITING)
			kchan_reoffer(w);
		if (state == KCHAN_W_CLAIMED)
			set_current_state(TASK_KILLABLE);
		else if (state == KCHAN_W_FILLED)
			set_current_state(TASK_UNINTERRUPTIBLE);
		else
			set_current_state(TASK_INTERRUPTIBLE);
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
 * A lone send given to a blocked read of the same address space
 * (KCHAN_OFFER_FILL) copies its message into that read's buffer itself,
 * sparing the receiver the copy and the send a sleep until the receiver
 * woke to make it. The copy is made with page faults disabled: the
 * receiver waits on it and may not leave (its buffer's iov_iter lives on
 * its stack), so it never waits for a fault (userfaultfd, FUSE...); if
 * it would fault, the message goes to the receiver the usual way, which
 * faults in its buffer holding nothing (kchan_fill_done()).
 * Returns whether the message was received.
 */
static bool kchan_fill(struct kchan_ticket *t)
{
	struct iov_iter *to = t->fill->to;
	struct kchan_msg *msg = t->msg;
	size_t n;

	pagefault_disable();
	n = copy_to_iter(msg->data, msg->len, to);
	pagefault_enable();
	if (n != msg->len)
		iov_iter_revert(to, n);
	return kchan_fill_done(t, n == msg->len);
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
	u32 len = msg->len;
	ssize_t ret;

	kchan_waiter_init(&w, &t, 1);
	kchan_ticket_init(&t, &w, ch, true);
	w.nonblock = nonblock;
	t.msg = msg;

	ret = kchan_offer(&t, KCHAN_OFFER_DIRECT |
			      (nonblock ? KCHAN_OFFER_TRY : 0));
	if (ret == KCHAN_OFFER_FILL) {
		if (kchan_fill(&t)) {
			kchan_msg_free(msg);
			return len;
		}
		ret = 0;	/* claimed: the receiver copies it */
	}
	if (ret > 0)
		return len;
	if (!ret)
		ret = kchan_wait(&w, NULL);
	if (ret < 0)
		kchan_msg_free(t.msg);	/* unless abandoned to a receiver */
	return ret;
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
	n = kchan_msg_copy_to_iter(msg, to);
	pagefault_enable();
	if (n == msg->len)
		return 0;
	iov_iter_revert(to, n);
	if (kchan_unclaim(ch, msg))
		return -EAGAIN;
	n = kchan_msg_copy_to_iter(msg, to);
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
	unsigned long left;

	pagefault_disable();
	left = kchan_msg_copy_to_user(msg, buf);
	pagefault_enable();
	if (!left)
		return 0;
	if (kchan_unclaim(ch, msg))
		return -EAGAIN;
	return kchan_msg_copy_to_user(msg, buf) ? -EFAULT : 0;
}

/*
 * kchan_take() with kchan_offer()'s @how besides KCHAN_OFFER_DIRECT and,
 * if @to, the buffer a sender may fill (kchan_fill()): then, if one did,
 * the message's length with *@msgp NULL. Inline: every receive starts
 * here.
 */
static __always_inline ssize_t kchan_take_how(struct kchan *ch, size_t room,
					      unsigned int how,
					      struct iov_iter *to,
					      struct kchan_msg **msgp)
{
	struct kchan_waiter w;
	struct kchan_ticket t;
	ssize_t ret;

	kchan_waiter_init(&w, &t, 1);
	kchan_ticket_init(&t, &w, ch, false);
	t.room = room;
	t.to = to;

	ret = kchan_offer(&t, KCHAN_OFFER_DIRECT | how);
	if (!ret)
		ret = kchan_wait(&w, NULL);
	if (ret <= 0)
		return ret;
	*msgp = w.msg;
	return w.msg ? 1 : ret;
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
	return kchan_take_how(ch, room, nonblock ? KCHAN_OFFER_TRY : 0, NULL,
			      msgp);
}

/*
 * kchan_take() for @to. A rendezvous receiver that queues and waits is
 * who a non-blocking sender counts on: its buffer is made writable before
 * it queues (kchan_probe_writable(): a buffer used again, mapped already,
 * is not faulted in again), or that sender gets EAGAIN if the copy would
 * fault. One that finds a sender queued takes it without: its copy holds
 * nobody who could fail for it (a fault puts that sender back in line,
 * kchan_unclaim()). A hint: the copy decides. A sender of the same
 * address space may copy into @to itself while we wait (kchan_fill()).
 * Whether a sender is queued is a lockless hint too (ch->nsend, as poll
 * reads it): with none, the buffer is made writable at once and the
 * receive offered once, not tried first; a sender that comes meanwhile is
 * still taken at the offer, and one that goes only sends the receive to
 * queue. Inline: kchan_recv() is its only caller.
 *
 * Return: as kchan_take(), or the length of a message copied into @to
 * already, with *@msgp NULL.
 */
static __always_inline ssize_t kchan_take_iter(struct kchan *ch,
					       struct iov_iter *to,
					       bool nonblock,
					       struct kchan_msg **msgp)
{
	size_t room = iov_iter_count(to);
	unsigned int how = KCHAN_OFFER_TRY;
	struct iov_iter *fill = NULL;
	ssize_t ret;

	if (!nonblock)
		how = !ch->capacity && READ_ONCE(ch->nsend) ?
		      KCHAN_OFFER_NOQUEUE : 0;
	for (;;) {
		if (!how && !ch->capacity) {
			size_t want = min_t(size_t, room, ch->msg_max);
			unsigned long addr;

			if (kchan_iter_user_span(to, want, &addr))
				kchan_probe_writable((void __user *)addr, want);
			else
				fault_in_iov_iter_writeable(to, want);
			fill = to;
		}
		ret = kchan_take_how(ch, room, how, fill, msgp);
		if (ret != -EAGAIN || !(how & KCHAN_OFFER_NOQUEUE))
			return ret;
		how = 0;
	}
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
 * next message does not fit (it stays queued); -ETOOMANYREFS if it carries
 * channels (it stays queued: see cargo.c); -EFAULT if the copy failed
 * (the message goes back to the head); -EAGAIN; -ERESTARTSYS.
 */
ssize_t kchan_recv(struct kchan *ch, struct iov_iter *to, bool nonblock)
{
	struct kchan_msg *msg;
	ssize_t ret;
	u32 len;
	int err;

	/* A small buffered message, the common case, in one step. */
	if (ch->capacity && READ_ONCE(ch->count)) {
		ret = kchan_recv_head(ch, to);
		if (ret != -EAGAIN)
			return ret;
	}
	for (;;) {
		ret = kchan_take_iter(ch, to, nonblock, &msg);
		if (ret <= 0 || !msg)
			return ret;
		len = msg->len;
		/* No room for channels: the message stays, with them. */
		if (kchan_cargo_count(msg)) {
			kchan_settle(ch, msg, false);
			return -ETOOMANYREFS;
		}
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
