// SPDX-License-Identifier: GPL-2.0
/*
 * The channel: every change to its state. Its buffer and queues, the
 * match that pairs queued senders and receivers, the offer by which a
 * read, a write or a select case enters it, the settling of a copy-out,
 * close, and what poll and stat see. The locking rules are the DOC:
 * block in chan.h; every helper here that runs under a lock asserts it.
 */
#include <linux/cred.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "chan.h"
#include "kchan.h"

static atomic64_t kchan_next_id = ATOMIC64_INIT(0);

/*
 * Channels have a cache of their own: a struct kchan is 168 bytes, and
 * kmalloc would round it up to 192.
 */
static struct kmem_cache *kchan_cache;

/**
 * kchan_cache_init() - make the caches channels and small messages are
 * allocated from.
 *
 * Context: module init.
 * Return: 0 or -ENOMEM.
 */
int kchan_cache_init(void)
{
	kchan_cache = KMEM_CACHE(kchan, SLAB_ACCOUNT);
	if (!kchan_cache)
		return -ENOMEM;
	if (kchan_msg_cache_init()) {
		kmem_cache_destroy(kchan_cache);
		return -ENOMEM;
	}
	return 0;
}

/**
 * kchan_cache_exit() - destroy them; every channel and message is gone.
 *
 * Context: module exit.
 */
void kchan_cache_exit(void)
{
	kchan_msg_cache_exit();
	kmem_cache_destroy(kchan_cache);
}

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

	BUILD_BUG_ON(KCHAN_CREATE_ALL > U16_MAX);
	ch = kmem_cache_zalloc(kchan_cache, GFP_KERNEL);
	if (!ch)
		return NULL;
	spin_lock_init(&ch->lock);
	INIT_LIST_HEAD(&ch->buf);
	INIT_LIST_HEAD(&ch->sendq);
	INIT_LIST_HEAD(&ch->recvq);
	init_waitqueue_head(&ch->poll_wait);
	atomic_set(&ch->writers, 0);
	kref_init(&ch->ref);
	ch->capacity = capacity;
	ch->msg_max = msg_max;
	ch->flags = flags;
	ch->id = atomic64_inc_return(&kchan_next_id);
	ch->owner = current_fsuid();
	if (kchan_list_add(ch)) {
		kmem_cache_free(kchan_cache, ch);
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
		kchan_msg_free(msg);
	kchan_slots_release(ch->slots);
	kchan_user_uncharge_channel(ch->user);
	kmem_cache_free(kchan_cache, ch);
}

/* kchan_slots() when @ch has none yet. */
struct kchan_slots *kchan_slots_make(struct kchan *ch)
{
	struct kchan_slots *s, *old;

	s = kchan_slots_new(ch);
	if (!s)
		return NULL;
	/* Another send may have made them meanwhile. */
	old = cmpxchg(&ch->slots, NULL, s);
	if (old) {
		kchan_slots_release(s);
		return old;
	}
	return s;
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

/*
 * What poll reports from the counters alone, read without the lock (see
 * DOC: locking). The bits that rest only on a queued peer, a sender for
 * EPOLLIN or a rendezvous receiver for EPOLLOUT, go to *@peer instead:
 * the peer's waiter may have committed elsewhere (a select) and no
 * longer be a partner, which only the lock can tell (kchan_readiness()).
 */
static __always_inline __poll_t kchan_readiness_counted(struct kchan *ch,
							fmode_t mode,
							__poll_t *peer)
{
	bool closed = READ_ONCE(ch->closed);
	u32 count = READ_ONCE(ch->count);
	u32 used = count + READ_ONCE(ch->taken);
	__poll_t mask = 0;

	*peer = 0;
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
	if (mode & FMODE_READ) {
		if (count || (closed && !READ_ONCE(ch->inflight)))
			mask |= EPOLLIN | EPOLLRDNORM;
		else if (READ_ONCE(ch->nsend) &&
			 (!ch->capacity || used < ch->capacity))
			*peer |= EPOLLIN | EPOLLRDNORM;
	}
	if (mode & FMODE_WRITE) {
		if (used < ch->capacity || closed)
			mask |= EPOLLOUT | EPOLLWRNORM;
		else if (!ch->capacity && READ_ONCE(ch->nrecv))
			*peer |= EPOLLOUT | EPOLLWRNORM;
	}
	if (closed) {
		mask |= EPOLLHUP;
		if (mode & FMODE_WRITE)
			mask |= EPOLLERR;
	}
	return mask;
}

/**
 * kchan_readiness_hint() - kchan_readiness() as the counters have it.
 * @ch: the channel
 * @mode: FMODE_READ / FMODE_WRITE bits
 *
 * Without the lock, every queued peer counts, live or not: never less
 * than what poll reports, so it may filter wake-ups (a poller woken for
 * a dead peer looks again and sleeps on), and guess what to try first.
 *
 * Context: any.
 * Return: EPOLL* bits.
 */
__poll_t kchan_readiness_hint(struct kchan *ch, fmode_t mode)
{
	__poll_t peer, mask = kchan_readiness_counted(ch, mode, &peer);

	return mask | peer;
}

/* kchan_wake_pollers_nr() once somebody polls. */
static noinline void kchan_wake_polling(struct kchan *ch, __poll_t events,
					int nr)
{
	events &= kchan_readiness_hint(ch, FMODE_READ | FMODE_WRITE);
	if (!events)
		return;
	/*
	 * A poller of the other side does not take the wake-up: poll,
	 * select, epoll and io_uring all match the key against the events
	 * they wait for, and an exclusive one counts only when it matched.
	 */
	if (events & EPOLLIN)
		__wake_up(&ch->poll_wait, TASK_INTERRUPTIBLE, nr,
			  poll_to_key(EPOLLIN | EPOLLRDNORM));
	if (events & EPOLLOUT)
		__wake_up(&ch->poll_wait, TASK_INTERRUPTIBLE, nr,
			  poll_to_key(EPOLLOUT | EPOLLWRNORM));
}

/*
 * Wake up to @nr exclusive pollers of each side in @events (EPOLLIN
 * and/or EPOLLOUT) that is ready now: @nr messages or slots became
 * available, one EPOLLEXCLUSIVE waiter each, so that none is left asleep
 * beside a ready one. Call after dropping kchan.lock. Inline: it runs
 * after every transfer, and mostly nobody polls.
 */
static __always_inline void kchan_wake_pollers_nr(struct kchan *ch,
						  __poll_t events, int nr)
{
	/*
	 * Its barrier pairs with the smp_mb() after poll_wait() in
	 * kchan_fop_poll(): a poller that is not seen here sees our change.
	 */
	if (wq_has_sleeper(&ch->poll_wait))
		kchan_wake_polling(ch, events, nr);
}

/* kchan_wake_pollers() - one message or slot: one exclusive poller. */
static __always_inline void kchan_wake_pollers(struct kchan *ch,
					       __poll_t events)
{
	kchan_wake_pollers_nr(ch, events, 1);
}

/* Lock one waiter, or two in address order (see DOC: locking). */
static void kchan_pair_lock(struct kchan *ch, struct kchan_waiter *a,
			    struct kchan_waiter *b)
{
	lockdep_assert_held(&ch->lock);
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
	lockdep_assert_held(&a->lock);
	if (b) {
		lockdep_assert_held(&b->lock);
		spin_unlock(&b->lock);
	}
	spin_unlock(&a->lock);
}

/*
 * Tasks to wake once kchan.lock is dropped (see DOC: locking), each with
 * a reference: ipc/mqueue.c's wake_q, which modules cannot use. A change
 * that commits more waiters than this wakes the others under the lock.
 */
#define KCHAN_WAKE_MAX	4

struct kchan_wake {
	unsigned int nr;
	struct task_struct *task[KCHAN_WAKE_MAX];
};

/* Lock @ch for a change that may commit waiters, woken by kchan_unlock(). */
static void kchan_lock(struct kchan *ch, struct kchan_wake *wake)
{
	spin_lock(&ch->lock);
	wake->nr = 0;
	ch->wake = wake;
}

/*
 * Unlock @ch, then wake the tasks of the waiters committed meanwhile.
 * Inline: every change ends here, and many commit nobody.
 */
static __always_inline void kchan_unlock(struct kchan *ch)
{
	struct kchan_wake *wake = ch->wake;
	unsigned int i;

	lockdep_assert_held(&ch->lock);
	ch->wake = NULL;
	spin_unlock(&ch->lock);
	for (i = 0; i < wake->nr; i++) {
		wake_up_process(wake->task[i]);
		put_task_struct(wake->task[i]);
	}
}

/*
 * Tell a waiter's owner that its state changed. Its task is woken after
 * @ch is unlocked, if it was locked by kchan_lock(): the reference taken
 * here keeps the task, which may have returned and gone on by then (a
 * spurious wake-up, which every sleep tolerates). An owner that commits
 * its own waiter (a receive offered onto a queued sender) is running and
 * samples the state in kchan_wait() before it sleeps: no wake-up. ch->lock
 * and w->lock held. Inline: every commit ends here.
 */
static __always_inline void kchan_waiter_wake(struct kchan *ch,
					      struct kchan_waiter *w)
{
	struct kchan_wake *wake = ch->wake;

	lockdep_assert_held(&ch->lock);
	lockdep_assert_held(&w->lock);
	/*
	 * Besides its pollers and readers, a select file's queue has a
	 * canceller asleep TASK_KILLABLE while a receiver copies its send
	 * out: a TASK_NORMAL wake-up, not an interruptible one, or the end
	 * of that claim would never wake it. The queue is woken now, under
	 * the locks: nothing keeps it once w->lock is dropped (the file may
	 * be released), and its waiters are wake functions, not tasks.
	 */
	if (w->wq)
		wake_up_poll(w->wq, EPOLLIN | EPOLLRDNORM);
	else if (w->task == current)
		return;	/* it checks its state before it sleeps */
	else if (wake && wake->nr < KCHAN_WAKE_MAX)
		wake->task[wake->nr++] = get_task_struct(w->task);
	else
		wake_up_process(w->task);
}

/*
 * Commit @t's waiter: @t wins, the wait returns @result, and the owner is
 * woken. The owner may return as soon as it sees KCHAN_W_DONE, but not
 * before it could take the waiter's lock, which we hold: so its task is
 * still there to wake or to hold (kchan_waiter_wake()). ch->lock and
 * t->waiter->lock held. Inline, as is the wake-up: every transfer commits.
 */
static __always_inline void kchan_commit(struct kchan *ch,
					 struct kchan_ticket *t, int result)
{
	struct kchan_waiter *w = t->waiter;

	lockdep_assert_held(&w->lock);
	w->winner = t;
	w->result = result;
	/* Pairs with smp_load_acquire() in kchan_wait(). */
	smp_store_release(&w->state, KCHAN_W_DONE);
	kchan_waiter_wake(ch, w);
}

/* Put @t at the tail of its queue. */
static void kchan_queue(struct kchan *ch, struct kchan_ticket *t)
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

/*
 * Take queued @t off its queue. A persistent select's ticket is listed
 * for its owner to offer again (see DOC: locking).
 */
static __always_inline void kchan_unqueue(struct kchan *ch,
					  struct kchan_ticket *t)
{
	lockdep_assert_held(&ch->lock);
	list_del_init(&t->node);
	if (t->send)
		WRITE_ONCE(ch->nsend, ch->nsend - 1);
	else
		WRITE_ONCE(ch->nrecv, ch->nrecv - 1);
	if (unlikely(t->waiter->persistent))
		kchan_selfd_unqueued(t);
}

/*
 * @t's channel closed (a send) or was drained after its close (a
 * receive): end @t's wait there with @result (-EPIPE or 0), whatever its
 * waiter's state; @t is not queued after. A waiting waiter is committed.
 * A claimed one (a select whose send on another channel a receiver is
 * copying out) cannot be committed yet: @t is recorded, so that if the
 * claim falls through the wait ends here (kchan_unclaim_locked()) instead
 * of waiting again on a closed channel. A waiter already done or
 * cancelled is left alone. Takes the waiter's lock.
 */
static void kchan_end_ticket(struct kchan *ch, struct kchan_ticket *t,
			     int result)
{
	struct kchan_waiter *w = t->waiter;

	lockdep_assert_held(&ch->lock);
	spin_lock(&w->lock);
	/*
	 * Under the waiter's lock: a persistent select's ticket is listed
	 * and committed at once, never listed by one rearm and committed
	 * after it (see DOC: locking).
	 */
	if (!list_empty(&t->node))
		kchan_unqueue(ch, t);
	if (w->state == KCHAN_W_WAITING) {
		w->msg = NULL;
		kchan_commit(ch, t, result);
	} else if (w->state == KCHAN_W_CLAIMED && !w->closed) {
		w->closed = t;
	}
	spin_unlock(&w->lock);
}

/*
 * Drop @t, whose waiter a lockless peek saw committed or cancelled, from
 * its queue. A persistent select's waiter goes back to waiting
 * (kchan_sel_rearm()) under its lock, so its state is read again under
 * that lock: @t is then either dropped and listed before the rearm
 * drains the list, or seen live. Returns whether @t was dropped.
 */
static bool kchan_drop_dead(struct kchan *ch, struct kchan_ticket *t)
{
	struct kchan_waiter *w = t->waiter;
	bool dead;

	lockdep_assert_held(&ch->lock);
	if (!w->persistent) {
		kchan_unqueue(ch, t);
		return true;
	}
	spin_lock(&w->lock);
	dead = w->state != KCHAN_W_WAITING;
	if (dead)
		kchan_unqueue(ch, t);
	spin_unlock(&w->lock);
	return dead;
}

/* kchan_first_live() the long way, from the head of @q. */
static noinline struct kchan_ticket *kchan_next_live(struct kchan *ch,
						     struct list_head *q,
						     struct kchan_waiter *skip)
{
	struct kchan_ticket *t, *tmp;

	lockdep_assert_held(&ch->lock);
	list_for_each_entry_safe(t, tmp, q, node) {
		/* A peek: every commit re-checks under the waiter's lock. */
		int state = READ_ONCE(t->waiter->state);

		if (t->waiter == skip || state == KCHAN_W_CLAIMED)
			continue;
		if (state == KCHAN_W_WAITING || !kchan_drop_dead(ch, t))
			return t;
	}
	return NULL;
}

/*
 * The first ticket on @q whose waiter may still be matched, skipping those
 * of @skip (a select never matches itself). Tickets of waiters that were
 * committed elsewhere or cancelled are dropped on the way; claimed ones
 * (a select's other tickets, too) stay, since a failed copy can put them
 * back into play. Takes the waiter lock of a persistent select's dead
 * ticket (kchan_drop_dead()). Inline for the common case, an empty queue
 * or a live head.
 */
static __always_inline struct kchan_ticket *
kchan_first_live(struct kchan *ch, struct list_head *q,
		 struct kchan_waiter *skip)
{
	struct kchan_ticket *t;

	lockdep_assert_held(&ch->lock);
	if (list_empty(q))
		return NULL;
	t = list_first_entry(q, struct kchan_ticket, node);
	/* A peek: every commit re-checks under the waiter's lock. */
	if (t->waiter != skip &&
	    READ_ONCE(t->waiter->state) == KCHAN_W_WAITING)
		return t;
	return kchan_next_live(ch, q, skip);
}

/*
 * Is a ticket on @q still a partner for an operation that would find it
 * now? Those of waiters committed elsewhere or cancelled are not: they
 * are dropped on the way, as a match drops them (kchan_first_live()),
 * so each is passed once and this costs what the operation's own search
 * would. A claimed select's tickets still count: its claim may fall
 * through (kchan_unclaim_locked()), and it lasts one copy that cannot
 * stall (kchan_copy_to_iter()).
 */
static bool kchan_peer_live(struct kchan *ch, struct list_head *q)
{
	struct kchan_ticket *t, *tmp;
	int state;

	lockdep_assert_held(&ch->lock);
	list_for_each_entry_safe(t, tmp, q, node) {
		/* A peek: kchan_drop_dead() reads it again where it must. */
		state = READ_ONCE(t->waiter->state);
		if (state == KCHAN_W_WAITING || state == KCHAN_W_CLAIMED ||
		    !kchan_drop_dead(ch, t))
			return true;
	}
	return false;
}

/**
 * kchan_readiness() - what poll reports for a file of mode @mode.
 * @ch: the channel
 * @mode: the file's FMODE_READ / FMODE_WRITE bits
 *
 * A queued peer makes the channel ready only while its waiter may still
 * be matched: a select committed through another case leaves its
 * tickets queued here until its owner takes them off (a persistent
 * select's until it waits again), and an operation would find no
 * partner in them. When a peer is all the readiness rests on, it is
 * looked at under the lock (kchan_peer_live()); otherwise the counters
 * answer without it.
 *
 * Context: process context; may take kchan.lock, then waiter locks.
 * Return: EPOLL* bits.
 */
__poll_t kchan_readiness(struct kchan *ch, fmode_t mode)
{
	__poll_t peer, mask = kchan_readiness_counted(ch, mode, &peer);

	if (!peer)
		return mask;
	spin_lock(&ch->lock);
	if ((peer & EPOLLIN) && kchan_peer_live(ch, &ch->sendq))
		mask |= EPOLLIN | EPOLLRDNORM;
	if ((peer & EPOLLOUT) && kchan_peer_live(ch, &ch->recvq))
		mask |= EPOLLOUT | EPOLLWRNORM;
	spin_unlock(&ch->lock);
	return mask;
}

/* @msg joins the tail of the buffer: it is sent. */
static void kchan_buffer_add(struct kchan *ch, struct kchan_msg *msg)
{
	lockdep_assert_held(&ch->lock);
	list_add_tail(&msg->node, &ch->buf);
	WRITE_ONCE(ch->count, ch->count + 1);
	ch->sent++;
}

/*
 * @msg, whose copy-out failed, goes back to the head of the buffer, into
 * the slot it kept (or, an armed select's rendezvous message, ahead of a
 * buffer that is otherwise empty).
 */
static void kchan_buffer_return(struct kchan *ch, struct kchan_msg *msg)
{
	lockdep_assert_held(&ch->lock);
	list_add(&msg->node, &ch->buf);
	WRITE_ONCE(ch->count, ch->count + 1);
}

/* Room for one more message in the buffer, counting the slots kept. */
static bool kchan_buffer_room(struct kchan *ch)
{
	lockdep_assert_held(&ch->lock);
	return ch->count + ch->taken < ch->capacity;
}

/*
 * @msg goes out to a receiver, to be copied without a lock: it counts as
 * in flight until settled (kchan_settle_locked()), and with @slot it
 * keeps a buffer slot (taken) meanwhile, so that a failed copy can put it
 * back without going above capacity.
 */
static void kchan_msg_out(struct kchan *ch, struct kchan_msg *msg, bool slot)
{
	lockdep_assert_held(&ch->lock);
	if (slot) {
		msg->holds_slot = true;
		WRITE_ONCE(ch->taken, ch->taken + 1);
	}
	WRITE_ONCE(ch->inflight, ch->inflight + 1);
}

/* The buffer's head leaves it for a receiver's copy. */
static struct kchan_msg *kchan_buffer_take(struct kchan *ch)
{
	struct kchan_msg *msg;

	lockdep_assert_held(&ch->lock);
	msg = list_first_entry(&ch->buf, struct kchan_msg, node);
	list_del(&msg->node);
	WRITE_ONCE(ch->count, ch->count - 1);
	kchan_msg_out(ch, msg, true);
	return msg;
}

/* Hand @msg, out already (kchan_msg_out()), to receiver @r, not queued. */
static void kchan_hand(struct kchan *ch, struct kchan_ticket *r,
		       struct kchan_msg *msg)
{
	lockdep_assert_held(&r->waiter->lock);
	r->waiter->msg = msg;
	kchan_commit(ch, r, msg->len);
}

/* Hand @msg, out already (kchan_msg_out()), to queued receiver @r. */
static void kchan_deliver(struct kchan *ch, struct kchan_ticket *r,
			  struct kchan_msg *msg)
{
	lockdep_assert_held(&ch->lock);
	kchan_unqueue(ch, r);
	kchan_hand(ch, r, msg);
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
	kchan_commit(ch, r, -EMSGSIZE);
	return false;
}

/* The buffer's head goes to queued receiver @r, if it still waits. */
static void kchan_give_head(struct kchan *ch, struct kchan_ticket *r)
{
	struct kchan_msg *head;

	lockdep_assert_held(&ch->lock);
	head = list_first_entry(&ch->buf, struct kchan_msg, node);
	kchan_pair_lock(ch, r->waiter, NULL);
	if (r->waiter->state == KCHAN_W_WAITING &&
	    kchan_check_room(ch, r, head->len))
		kchan_deliver(ch, r, kchan_buffer_take(ch));
	kchan_pair_unlock(r->waiter, NULL);
}

/*
 * The buffer's head for a lone receiver with @room bytes, if it fits and
 * nobody is queued to receive ahead of it: no ticket, no commit.
 */
static struct kchan_msg *kchan_take_direct(struct kchan *ch, size_t room)
{
	lockdep_assert_held(&ch->lock);
	if (!ch->count || ch->nrecv)
		return NULL;
	if (list_first_entry(&ch->buf, struct kchan_msg, node)->len > room)
		return NULL;
	return kchan_buffer_take(ch);
}

/*
 * Room in the buffer and nobody queued on either side (queued receivers
 * get messages directly, queued senders go first): a message may go
 * straight in, with no ticket to queue and wait on.
 */
static bool kchan_send_direct(struct kchan *ch)
{
	lockdep_assert_held(&ch->lock);
	return !ch->closed && kchan_buffer_room(ch) && !ch->nsend &&
	       !ch->nrecv;
}

/* kchan_claim() for @s whose message is out already (kchan_msg_out()). */
static void kchan_claim_out(struct kchan *ch, struct kchan_ticket *s)
{
	lockdep_assert_held(&ch->lock);
	lockdep_assert_held(&s->waiter->lock);
	WRITE_ONCE(s->waiter->state, KCHAN_W_CLAIMED);
	s->waiter->winner = s;
	s->msg->sender = s;
}

/*
 * Rendezvous: @s's message goes out to a receiver, and the send is done
 * only once the copy-out succeeded (kchan_settle_locked()). @s is not
 * queued.
 */
static void kchan_claim(struct kchan *ch, struct kchan_ticket *s)
{
	lockdep_assert_held(&ch->lock);
	lockdep_assert_held(&s->waiter->lock);
	kchan_msg_out(ch, s->msg, false);
	kchan_claim_out(ch, s);
}

/* Direct handoff from queued sender @s to queued receiver @r. */
static void kchan_handoff(struct kchan *ch, struct kchan_ticket *r,
			  struct kchan_ticket *s)
{
	lockdep_assert_held(&ch->lock);
	kchan_pair_lock(ch, r->waiter, s->waiter);
	if (r->waiter->state == KCHAN_W_WAITING &&
	    s->waiter->state == KCHAN_W_WAITING &&
	    kchan_check_room(ch, r, s->msg->len)) {
		kchan_unqueue(ch, s);
		if (ch->capacity || r->waiter->wq) {
			/* Buffered: it keeps the slot kchan_match() found free. */
			kchan_msg_out(ch, s->msg, ch->capacity);
			/*
			 * Buffered: the sender is done once the channel has
			 * it, as if it had gone through the buffer. An armed
			 * select copies out only when its file is read,
			 * maybe by the very task that sends: it takes the
			 * message into custody, and a failed copy puts it
			 * back at the head of the channel.
			 */
			s->msg->kept = !ch->capacity;
			ch->sent++;
			kchan_commit(ch, s, s->msg->len);
		} else {
			kchan_claim(ch, s);
		}
		kchan_deliver(ch, r, s->msg);
	}
	kchan_pair_unlock(r->waiter, s->waiter);
}

/* Queued sender @s's message moves into free buffer space. */
static void kchan_buffer_sender(struct kchan *ch, struct kchan_ticket *s)
{
	lockdep_assert_held(&ch->lock);
	kchan_pair_lock(ch, s->waiter, NULL);
	if (s->waiter->state == KCHAN_W_WAITING) {
		kchan_unqueue(ch, s);
		kchan_buffer_add(ch, s->msg);
		kchan_commit(ch, s, s->msg->len);
	}
	kchan_pair_unlock(s->waiter, NULL);
}

/*
 * A receiver and a sender of two different waiters, oldest first, when the
 * oldest live receiver's waiter also holds every live sender (a select
 * with both directions on this channel): then the next receiver of
 * another waiter gets the oldest sender. Dead tickets passed on the way
 * are dropped, as kchan_first_live() drops them.
 */
static struct kchan_ticket *kchan_other_receiver(struct kchan *ch,
						 struct kchan_ticket **sp)
{
	struct kchan_ticket *s, *r, *tmp;
	int state;

	lockdep_assert_held(&ch->lock);
	s = kchan_first_live(ch, &ch->sendq, NULL);
	if (!s)
		return NULL;
	list_for_each_entry_safe(r, tmp, &ch->recvq, node) {
		if (r->waiter == s->waiter)
			continue;
		/* A peek: every commit re-checks under the waiter's lock. */
		state = READ_ONCE(r->waiter->state);
		if (state == KCHAN_W_CLAIMED)
			continue;
		if (state == KCHAN_W_WAITING || !kchan_drop_dead(ch, r)) {
			*sp = s;
			return r;
		}
	}
	return NULL;
}

/*
 * Can a receiver take a queued sender's message? Always on a rendezvous
 * channel; on a buffered one only into a free slot, which the message
 * keeps until its copy-out succeeded: a failed copy, or a select file
 * released with it, puts it back at the head, and a buffer never holds
 * more than its capacity.
 */
static bool kchan_handoff_room(struct kchan *ch)
{
	lockdep_assert_held(&ch->lock);
	return !ch->capacity || kchan_buffer_room(ch);
}

/* kchan_match() once there may be something to match. */
static noinline void kchan_match_queued(struct kchan *ch)
{
	struct kchan_ticket *r, *s;

	lockdep_assert_held(&ch->lock);
	for (;;) {
		r = kchan_first_live(ch, &ch->recvq, NULL);
		if (r && ch->count) {
			kchan_give_head(ch, r);
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
		if (s && kchan_buffer_room(ch)) {
			kchan_buffer_sender(ch, s);
			continue;
		}
		return;
	}
}

/*
 * Match everything that can be matched: receivers take the buffer's head,
 * then senders' messages in arrival order (on a buffered channel, while a
 * slot is free); queued senders fill free buffer space. A waiter is never
 * matched with itself. Each step consumes or drops a ticket, so this
 * ends. Takes waiter locks. Each step needs a queued receiver beside a
 * buffered message or a queued sender, or a queued sender and a free
 * slot: mostly there is nothing to do.
 */
static __always_inline void kchan_match(struct kchan *ch)
{
	lockdep_assert_held(&ch->lock);
	if (ch->nrecv ? ch->count || ch->nsend :
			ch->nsend && kchan_buffer_room(ch))
		kchan_match_queued(ch);
}

/* Closed, empty, and no message can come back: every receive is EOF. */
static bool kchan_drained(struct kchan *ch)
{
	lockdep_assert_held(&ch->lock);
	return ch->closed && !ch->count && !ch->inflight;
}

/* kchan_eof() once drained. */
static noinline void kchan_eof_drained(struct kchan *ch)
{
	struct kchan_ticket *r, *tmp;

	lockdep_assert_held(&ch->lock);
	list_for_each_entry_safe(r, tmp, &ch->recvq, node)
		kchan_end_ticket(ch, r, 0);
}

/*
 * Once drained, every queued receiver gets end-of-file, claimed ones too,
 * should their claim fall through (kchan_end_ticket()). Takes waiter
 * locks.
 */
static __always_inline void kchan_eof(struct kchan *ch)
{
	lockdep_assert_held(&ch->lock);
	if (unlikely(kchan_drained(ch)))
		kchan_eof_drained(ch);
}

/*
 * Can send @t copy its message straight into the buffer of queued
 * receiver @r (kchan_fill())? Only into a lone blocking read's buffer in
 * user memory (@r->to), and only from a task of the same address space,
 * whose user addresses are then @r's. A message that carries channels
 * takes the receiver's way (cargo.c). Reads only fixed fields: @r is
 * queued, ch->lock held.
 */
static bool kchan_can_fill(struct kchan *ch, struct kchan_ticket *t,
			   struct kchan_ticket *r)
{
	lockdep_assert_held(&ch->lock);
	/*
	 * @r's task waits in kchan_wait(), or, cancelled, for ch->lock to
	 * take @r off the queue: neither gone nor in an exec.
	 */
	return r->to && user_backed_iter(r->to) && !t->msg->cargo &&
	       current->mm && r->waiter->task->mm == current->mm;
}

/*
 * A lone send @t on a rendezvous channel goes to the first queued
 * receiver, as kchan_match() would hand it over once @t were queued,
 * if no sender is queued ahead of it and the message fits: @t is claimed
 * without being queued, or, if it can (kchan_can_fill()), copies its
 * message into the receiver's buffer itself: the receiver, off the
 * queue, waits for that copy (KCHAN_W_FILLED) and @t->fill is it. An
 * armed select's receive, or one too small, takes the long way. Returns
 * 0 if @t was claimed, KCHAN_OFFER_FILL, or -EAGAIN if not given.
 *
 * A fill changes nothing of @t's waiter, which is lone, not queued and
 * seen by nobody else: it locks only the receiver's.
 */
static int kchan_give_direct(struct kchan *ch, struct kchan_ticket *t)
{
	struct kchan_waiter *w = t->waiter;
	struct kchan_ticket *r;
	int ret = -EAGAIN;
	bool fill;

	lockdep_assert_held(&ch->lock);
	if (ch->capacity || ch->closed || ch->nsend || !ch->nrecv)
		return -EAGAIN;
	r = kchan_first_live(ch, &ch->recvq, NULL);
	if (!r || r->waiter->wq || t->msg->len > r->room)
		return -EAGAIN;
	fill = kchan_can_fill(ch, t, r);
	kchan_pair_lock(ch, r->waiter, fill ? NULL : w);
	if (r->waiter->state == KCHAN_W_WAITING &&
	    (fill || w->state == KCHAN_W_WAITING)) {
		if (fill) {
			/* In flight: a close meanwhile reports no EOF yet. */
			kchan_unqueue(ch, r);
			kchan_msg_out(ch, t->msg, false);
			WRITE_ONCE(r->waiter->state, KCHAN_W_FILLED);
			r->waiter->winner = r;
			t->fill = r;
			ret = KCHAN_OFFER_FILL;
		} else {
			kchan_claim(ch, t);
			kchan_deliver(ch, r, t->msg);
			ret = 0;
		}
	}
	kchan_pair_unlock(r->waiter, fill ? NULL : w);
	return ret;
}

/*
 * A lone receive of @room bytes on a rendezvous channel claims the first
 * queued sender's message, as kchan_match() would once the receive were
 * queued, if no receiver is queued ahead of it and the message fits.
 * Returns the message, or NULL.
 */
static struct kchan_msg *kchan_claim_direct(struct kchan *ch, size_t room)
{
	struct kchan_msg *msg = NULL;
	struct kchan_ticket *s;

	lockdep_assert_held(&ch->lock);
	if (ch->capacity || ch->nrecv || !ch->nsend)
		return NULL;
	s = kchan_first_live(ch, &ch->sendq, NULL);
	if (!s || s->msg->len > room)
		return NULL;
	kchan_pair_lock(ch, s->waiter, NULL);
	if (s->waiter->state == KCHAN_W_WAITING) {
		kchan_unqueue(ch, s);
		kchan_claim(ch, s);
		msg = s->msg;
	}
	kchan_pair_unlock(s->waiter, NULL);
	return msg;
}

/*
 * The short way of a lone read or write (KCHAN_OFFER_DIRECT): 1 if done
 * (a send's message is the channel's; a receive's message is
 * t->waiter->msg), 0 if a rendezvous send was claimed without queuing,
 * KCHAN_OFFER_FILL if it fills a receiver's buffer (kchan_give_direct()),
 * -EAGAIN if there is none.
 */
static int kchan_offer_direct(struct kchan *ch, struct kchan_ticket *t)
{
	struct kchan_msg *msg;
	int ret;

	lockdep_assert_held(&ch->lock);
	if (t->send) {
		ret = kchan_give_direct(ch, t);
		if (ret >= 0)
			return ret;
		if (!kchan_send_direct(ch))
			return -EAGAIN;
		kchan_buffer_add(ch, t->msg);
		t->msg = NULL;
		return 1;
	}
	msg = kchan_take_direct(ch, t->room);
	if (!msg)
		msg = kchan_claim_direct(ch, t->room);
	if (!msg)
		return -EAGAIN;
	/* Nothing of the waiter's is queued: nobody else can see it. */
	t->waiter->msg = msg;
	return 1;
}

/**
 * kchan_offer() - offer ticket @t on its channel: queue it, and match.
 * @t: a ticket of a waiting waiter, not queued
 * @how: KCHAN_OFFER_DIRECT: @t's waiter is a lone read or write, which
 *	takes the short way if there is one: a send into free buffer space
 *	with nobody queued, or a receive of the buffer's head into
 *	@t->waiter->msg, without queuing @t or committing its waiter; on a
 *	rendezvous channel, a send claimed by the first queued receiver or
 *	a receive claiming the first queued sender, without queuing @t.
 *	KCHAN_OFFER_NOQUEUE: with KCHAN_OFFER_DIRECT, only the short way:
 *	-EAGAIN if there is none, @t not queued.
 *	KCHAN_OFFER_TRY: if @t's waiter is still waiting after the match,
 *	withdraw @t.
 *
 * A send on a closed channel, or a receive on a drained one, ends the
 * wait through @t (kchan_end_ticket()). Otherwise @t is queued and the
 * match may commit its waiter, through @t or, for a lone ticket, not at
 * all. This is the one step by which a read, a write and each case of a
 * select enter a channel.
 *
 * Context: process context; takes kchan.lock, then waiter locks.
 * Return: 1 if done the short way (a send's message is the channel's,
 * @t->msg NULL); 0 if offered or claimed: the waiter may be committed
 * already, and is waited on with kchan_wait(); KCHAN_OFFER_FILL if a send
 * is to copy its message into the buffer of receiver @t->fill, and
 * settle with kchan_fill_done(); -EAGAIN if withdrawn (KCHAN_OFFER_TRY)
 * or not offered (KCHAN_OFFER_NOQUEUE).
 */
int kchan_offer(struct kchan_ticket *t, unsigned int how)
{
	struct kchan_wake wake;
	struct kchan_waiter *w = t->waiter;
	struct kchan *ch = t->chan;
	int ret;

	/* Maybe queued from now on: kchan_unqueue_all() looks. */
	t->offered = true;
	kchan_lock(ch, &wake);
	ret = how & KCHAN_OFFER_DIRECT ? kchan_offer_direct(ch, t) : -EAGAIN;
	if (ret >= 0 || (how & KCHAN_OFFER_NOQUEUE)) {
		kchan_unlock(ch);
		/* A message buffered; a claim or a fill makes nothing ready. */
		if (ret == 1 && t->send)
			kchan_wake_pollers(ch, EPOLLIN);
		return ret;
	}
	/*
	 * A closed channel ends the wait through this ticket; if a receiver
	 * claimed a select's send on another channel meanwhile, once that
	 * claim ends.
	 */
	if (t->send && ch->closed) {
		kchan_end_ticket(ch, t, -EPIPE);
		kchan_unlock(ch);
		return 0;
	}
	kchan_queue(ch, t);
	kchan_match(ch);
	if (!t->send && kchan_drained(ch))
		kchan_end_ticket(ch, t, 0);
	/* Only this channel's match could commit a lone ticket. */
	if ((how & KCHAN_OFFER_TRY) &&
	    READ_ONCE(w->state) == KCHAN_W_WAITING) {
		kchan_unqueue(ch, t);
		kchan_unlock(ch);
		return -EAGAIN;
	}
	kchan_unlock(ch);
	/*
	 * A queued receiver makes a rendezvous channel writable, a queued
	 * sender makes any channel readable.
	 */
	kchan_wake_pollers(ch, t->send ? EPOLLIN : EPOLLOUT);
	return 0;
}

/**
 * kchan_withdraw() - take @t off its queue, if it is queued.
 * @t: a ticket whose waiter can no longer be committed through it
 *
 * Context: takes kchan.lock.
 */
void kchan_withdraw(struct kchan_ticket *t)
{
	struct kchan *ch = t->chan;

	spin_lock(&ch->lock);
	if (!list_empty(&t->node))
		kchan_unqueue(ch, t);
	spin_unlock(&ch->lock);
}

/**
 * kchan_rematch() - run the match again on @t's channel, if @t is still
 * queued there: while its waiter was claimed elsewhere the matches there
 * skipped it, and a peer may be waiting for it.
 * @t: a ticket of a waiter that is waiting again
 *
 * Context: process context; takes kchan.lock, then waiter locks.
 */
void kchan_rematch(struct kchan_ticket *t)
{
	struct kchan_wake wake;
	struct kchan *ch = t->chan;
	bool queued;

	kchan_lock(ch, &wake);
	queued = !list_empty(&t->node);
	if (queued) {
		kchan_match(ch);
		kchan_eof(ch);
	}
	kchan_unlock(ch);
	if (queued)
		kchan_wake_pollers(ch, EPOLLIN | EPOLLOUT);
}

/**
 * kchan_disown() - the claimed sender of @t goes away (killed, or its
 * select file released): its message is left to the receiver copying
 * it, which drops it if that copy fails. Nobody will see the send's
 * result.
 * @t: the claimed ticket (its waiter's winner)
 *
 * Context: takes kchan.lock, then the waiter's lock.
 * Return: true if disowned (the waiter is KCHAN_W_CANCELLED); false if
 * the claim ended first.
 */
bool kchan_disown(struct kchan_ticket *t)
{
	struct kchan_waiter *w = t->waiter;
	struct kchan *ch = t->chan;
	bool disowned = false;

	spin_lock(&ch->lock);
	spin_lock(&w->lock);
	if (w->state == KCHAN_W_CLAIMED && w->winner == t) {
		WRITE_ONCE(w->state, KCHAN_W_CANCELLED);
		t->msg->sender = NULL;
		t->msg = NULL;
		disowned = true;
	}
	spin_unlock(&w->lock);
	spin_unlock(&ch->lock);
	return disowned;
}

/**
 * kchan_fill_done() - settle the copy of send @t's message into the
 * buffer of the receiver it was given to (KCHAN_OFFER_FILL).
 * @t: the send, still waiting, not queued; its receiver @t->fill is
 *	KCHAN_W_FILLED, off its queue
 * @copied: whether the whole message was copied
 *
 * Copied: the receive returns the message's length with no message
 * handed over, and the send is done; @t->msg is the caller's to free.
 * Otherwise nothing was received: the message goes to the receiver as
 * kchan_give_direct() gives it when it cannot fill, @t claimed, and the
 * receiver copies it out itself, faults and all, while @t waits.
 *
 * Context: process context; takes kchan.lock, then waiter locks.
 * Return: true if copied; false if @t is claimed (kchan_wait() it).
 */
bool kchan_fill_done(struct kchan_ticket *t, bool copied)
{
	struct kchan_waiter *rw = t->fill->waiter;
	struct kchan_msg *msg = t->msg;
	struct kchan *ch = t->chan;
	struct kchan_wake wake;
	bool drained;

	kchan_lock(ch, &wake);
	if (copied) {
		/* As kchan_give_direct()'s fill: the receiver's lock only. */
		spin_lock(&rw->lock);
		WRITE_ONCE(ch->inflight, ch->inflight - 1);
		ch->sent++;
		ch->received++;
		rw->msg = NULL;
		kchan_commit(ch, t->fill, msg->len);
		spin_unlock(&rw->lock);
	} else {
		kchan_pair_lock(ch, rw, t->waiter);
		kchan_claim_out(ch, t);
		kchan_hand(ch, t->fill, msg);
		kchan_pair_unlock(rw, t->waiter);
	}
	/* No longer in flight: a channel closed meanwhile may be drained. */
	kchan_eof(ch);
	drained = copied && kchan_drained(ch);
	kchan_unlock(ch);
	/* As after a receiver's copy (kchan_settle_run()). */
	if (copied)
		kchan_wake_pollers(ch, EPOLLOUT);
	if (drained)
		kchan_wake_pollers_nr(ch, EPOLLIN, 0);
	return copied;
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
	while (i < n && kchan_send_direct(ch))
		kchan_buffer_add(ch, msgs[i++]);
	spin_unlock(&ch->lock);
	if (i)
		kchan_wake_pollers_nr(ch, EPOLLIN, i);
	return i;
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
	while (i < n && (msgs[i] = kchan_take_direct(ch, m[i].len)))
		i++;
	spin_unlock(&ch->lock);
	return i;
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
		kchan_commit(ch, peer, -EPIPE);
	} else if (closed) {
		kchan_commit(ch, closed, closed->send ? -EPIPE : 0);
	} else if (w->nonblock) {
		kchan_commit(ch, peer, -EAGAIN);
	} else {
		WRITE_ONCE(w->state, KCHAN_W_WAITING);
		w->winner = NULL;
		/* Its other cases were skipped meanwhile (kchan_rematch()). */
		if (w->nr > 1)
			WRITE_ONCE(w->reoffer, true);
		list_add(&peer->node, &ch->sendq);
		WRITE_ONCE(ch->nsend, ch->nsend + 1);
		kchan_waiter_wake(ch, w);
	}
	spin_unlock(&w->lock);
}

/*
 * Settle one message under kchan.lock (see kchan_settle_run()). Returns
 * the message if it is the caller's to free, NULL if it went back in
 * line. Several failed ones go back in reverse order, so that they keep
 * theirs. Inline, its @copied a constant at each call: every receive
 * settles.
 */
static __always_inline struct kchan_msg *
kchan_settle_locked(struct kchan *ch, struct kchan_msg *msg, bool copied)
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
			kchan_commit(ch, peer, msg->len);
			spin_unlock(&peer->waiter->lock);
		}
		return msg;
	}
	if (peer) {
		kchan_unclaim_locked(ch, peer);
		return NULL;
	}
	if (!rendezvous || msg->kept) {
		kchan_buffer_return(ch, msg);
		return NULL;
	}
	/* Its sender died meanwhile: nobody else can have it. */
	return msg;
}

/*
 * The end of every settle, from under kchan_lock(): @n messages settled,
 * the first @ok of them copied. Others match what changed, the lock is
 * dropped, and the pollers are woken. Inline: every receive ends here.
 */
static __always_inline void kchan_settle_end(struct kchan *ch,
					     unsigned int n, unsigned int ok)
{
	bool drained, senders;

	senders = ch->capacity && ch->nsend;
	kchan_match(ch);
	kchan_eof(ch);
	/* These were in flight: if the channel is drained, it just became. */
	drained = kchan_drained(ch);
	kchan_unlock(ch);
	/*
	 * A copied message frees its slot, which a queued sender's message
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
 * line again. Then others may match what changed. The messages received
 * are freed (msg.c).
 *
 * Context: process context; takes kchan.lock.
 */
void kchan_settle_run(struct kchan *ch, struct kchan_msg **msgs,
		      unsigned int n, unsigned int ok)
{
	struct kchan_wake wake;
	unsigned int i;

	kchan_lock(ch, &wake);
	for (i = 0; i < ok; i++)
		msgs[i] = kchan_settle_locked(ch, msgs[i], true);
	for (i = n; i-- > ok; )
		msgs[i] = kchan_settle_locked(ch, msgs[i], false);
	kchan_settle_end(ch, n, ok);
	kchan_msg_free_run(msgs, n);
}

/**
 * kchan_recv_head() - a lone receive of a small buffered message, in one
 * critical section: copy the buffer's head to @to under kchan.lock, page
 * faults disabled, and take it only if that copy succeeded.
 * @ch: a buffered channel
 * @to: the reader's buffer; advanced by the message's length if received
 *
 * The message is received as kchan_take() and kchan_settle_run() would
 * receive it, in one taking of the lock instead of two. It is copied
 * under the lock because it is small and cannot fault; a copy that
 * would fault changes nothing, and the receive goes the long way, which
 * takes the fault holding no lock.
 *
 * Context: process context; takes kchan.lock, then waiter locks.
 * Return: the message's length; -EAGAIN if this way did not receive it
 * (none buffered, receivers queued ahead, too large for this way or for
 * @to, carrying channels, or a fault): nothing changed.
 */
ssize_t kchan_recv_head(struct kchan *ch, struct iov_iter *to)
{
	struct kchan_wake wake;
	struct kchan_msg *msg;
	size_t n;

	kchan_lock(ch, &wake);
	if (!ch->count || ch->nrecv)
		goto none;
	msg = list_first_entry(&ch->buf, struct kchan_msg, node);
	/* Small as slots count it: a copy short enough to hold the lock. */
	if (msg->len > KCHAN_SLOT_DATA_MAX || msg->len > iov_iter_count(to) ||
	    kchan_cargo_count(msg))
		goto none;
	pagefault_disable();
	n = kchan_msg_copy_to_iter(msg, to);
	pagefault_enable();
	if (n != msg->len) {
		iov_iter_revert(to, n);
		goto none;
	}
	msg = kchan_settle_locked(ch, kchan_buffer_take(ch), true);
	kchan_settle_end(ch, 1, 1);
	n = msg->len;
	kchan_msg_free(msg);
	return n;
none:
	kchan_unlock(ch);
	return -EAGAIN;
}

/**
 * kchan_unclaim() - a receiver's copy of @msg would fault. If a sender
 * is claimed (it waits on this copy), put it back in line, as a failed
 * copy would, so that it never waits for the fault: the receiver takes
 * that holding nothing, and takes again.
 * @ch: the channel @msg came from
 * @msg: a message handed to the caller, not settled
 *
 * Context: process context; takes kchan.lock.
 * Return: true if @msg went back with its sender; false if nobody waits
 * on it (a buffered message, or a sender that died), and the caller
 * copies it, faults and all, and settles it.
 */
bool kchan_unclaim(struct kchan *ch, struct kchan_msg *msg)
{
	struct kchan_wake wake;
	bool unclaimed;

	kchan_lock(ch, &wake);
	unclaimed = msg->sender;
	if (unclaimed) {
		kchan_settle_locked(ch, msg, false);
		kchan_match(ch);
		kchan_eof(ch);
	}
	kchan_unlock(ch);
	if (unclaimed)
		kchan_wake_pollers(ch, EPOLLIN);
	return unclaimed;
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
	struct kchan_wake wake;
	struct kchan_ticket *s, *tmp;

	kchan_lock(ch, &wake);
	if (ch->closed) {
		kchan_unlock(ch);
		return -EPIPE;
	}
	WRITE_ONCE(ch->closed, true);
	/* Every queued send fails, claimed selects' too (kchan_end_ticket()). */
	list_for_each_entry_safe(s, tmp, &ch->sendq, node)
		kchan_end_ticket(ch, s, -EPIPE);
	kchan_eof(ch);
	kchan_unlock(ch);

	/* Everyone polling either side learns about the close. */
	__wake_up(&ch->poll_wait, TASK_INTERRUPTIBLE, 0,
		  poll_to_key(EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM |
			      EPOLLHUP | EPOLLERR));
	return 0;
}

/* The message the next receive would get, NULL if none is ready. */
static struct kchan_msg *kchan_peek(struct kchan *ch)
{
	struct kchan_ticket *s;

	lockdep_assert_held(&ch->lock);
	if (ch->count)
		return list_first_entry(&ch->buf, struct kchan_msg, node);
	s = kchan_first_live(ch, &ch->sendq, NULL);
	return s ? s->msg : NULL;
}

/* Length of the message the next receive would get, 0 if none is ready. */
static u32 kchan_peek_len(struct kchan *ch)
{
	struct kchan_msg *msg = kchan_peek(ch);

	return msg ? msg->len : 0;
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

/*
 * Drop every ticket on @q whose waiter was committed elsewhere or
 * cancelled, as a match would on its way (kchan_peer_live()): what is
 * left is blocked, or claimed and may be back.
 */
static void kchan_drop_all_dead(struct kchan *ch, struct list_head *q)
{
	struct kchan_ticket *t, *tmp;
	int state;

	lockdep_assert_held(&ch->lock);
	list_for_each_entry_safe(t, tmp, q, node) {
		/* A peek: kchan_drop_dead() reads it again where it must. */
		state = READ_ONCE(t->waiter->state);
		if (state != KCHAN_W_WAITING && state != KCHAN_W_CLAIMED)
			kchan_drop_dead(ch, t);
	}
}

/**
 * kchan_snapshot() - fill @st with the channel's state and counters.
 * @ch: the channel
 * @st: zeroed by the caller
 *
 * The blocked senders and receivers are counted without the tickets of
 * selects that committed through another case (dropped on the way).
 *
 * Context: takes kchan.lock, and a persistent select's waiter lock.
 */
void kchan_snapshot(struct kchan *ch, struct kchan_stat *st)
{
	struct kchan_msg *next;

	spin_lock(&ch->lock);
	if (ch->nsend)
		kchan_drop_all_dead(ch, &ch->sendq);
	if (ch->nrecv)
		kchan_drop_all_dead(ch, &ch->recvq);
	st->id = ch->id;
	st->capacity = ch->capacity;
	st->msg_max = ch->msg_max;
	st->flags = (ch->closed ? KCHAN_STAT_CLOSED : 0) |
		    (ch->flags & KCHAN_CREATE_AUTOCLOSE ?
		     KCHAN_STAT_AUTOCLOSE : 0) |
		    (ch->node ? KCHAN_STAT_NAMED : 0) |
		    (ch->flags & KCHAN_CREATE_CARRIER ? KCHAN_STAT_CARRIER : 0);
	st->queued = ch->count;
	st->senders = ch->nsend;
	st->receivers = ch->nrecv;
	st->sent = ch->sent;
	st->received = ch->received;
	next = kchan_peek(ch);
	st->next_len = next ? next->len : 0;
	st->next_nchans = kchan_cargo_count(next);
	spin_unlock(&ch->lock);
}
