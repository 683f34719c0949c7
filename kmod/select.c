// SPDX-License-Identifier: GPL-2.0
/*
 * Select: one waiter with a ticket on the channel of every case.
 *
 * A select is built in full before anything can commit: every case's fd is
 * resolved to a channel (holding a channel reference), every send case's
 * message is copied in, every receive buffer is faulted in; any error
 * names its case and nothing was offered.
 *
 * Then the cases are offered one channel at a time, in a random order
 * drawn as we go (a lazy Fisher-Yates shuffle, one CRNG draw per case
 * offered) or in array order for KCHAN_SELECT_PRIORITY. An offer
 * (kchan_offer(), chan.c) queues the case's ticket and runs the channel's
 * match. The first pass offers only the cases that look ready (a lockless
 * look, as poll's), so a select with a ready case locks few channels; the
 * first that commits the waiter ends it, and among cases ready from the
 * start each is equally likely to come first in a uniformly random order.
 * A blocking select then queues every other case; cases already offered
 * stay queued, and a peer may commit one of them meanwhile: either way the
 * case that commits first wins. A non-blocking select stops after the
 * first pass and withdraws what it queued.
 *
 * DOC: select locking
 *
 * No lock is held across channels. An offer takes one kchan.lock; the
 * match under it takes at most two waiter locks, in address order (see
 * DOC: locking in chan.h). A waiter's state leaves KCHAN_W_WAITING once,
 * under its own lock, so whichever channel commits it first wins and every
 * other ticket of it is dead: matches skip it, drop it when they meet it,
 * and the owner unqueues the rest channel by channel after the commit.
 * Lockdep therefore sees the same two-level order (a channel lock, then
 * waiter locks of one class with SINGLE_DEPTH_NESTING) however many
 * channels a select spans, and the single-channel read/write path takes no
 * lock it did not take before select existed.
 */
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "select.h"

/* Cases copied in per copy_from_user(). */
#define KCHAN_SEL_CHUNK	16U

/* The real size of a heap select with room for @cap cases. */
static size_t kchan_sel_bytes(unsigned int cap)
{
	return kmalloc_size_roundup(sizeof(struct kchan_sel) +
				    cap * (sizeof(struct kchan_ticket) +
					   sizeof(u32)));
}

/*
 * A heap select's memory is charged to the user who allocated it, as
 * messages are: an armed select file holds it for as long as it likes.
 */
static struct kchan_sel *kchan_sel_alloc(unsigned int cap)
{
	struct kchan_user *user = kchan_user_current(NULL);
	struct kchan_sel *sel;
	int ret;

	if (!user)
		return ERR_PTR(-ENOMEM);
	ret = kchan_user_charge_bytes(user, kchan_sel_bytes(cap));
	if (ret) {
		kchan_user_put(user);
		return ERR_PTR(ret);
	}
	sel = kvmalloc(sizeof(*sel) + cap * (sizeof(*sel->tickets) +
					     sizeof(*sel->order)),
		       GFP_KERNEL_ACCOUNT);
	if (!sel) {
		kchan_user_uncharge_bytes(user, kchan_sel_bytes(cap));
		kchan_user_put(user);
		return ERR_PTR(-ENOMEM);
	}
	sel->cap = cap;
	sel->charged = user;
	return sel;
}

static void kchan_sel_destroy(struct kchan_sel *sel)
{
	kchan_user_uncharge_bytes(sel->charged, kchan_sel_bytes(sel->cap));
	kchan_user_put(sel->charged);
	kvfree(sel);
}

/**
 * kchan_sel_free() - free a select that is not offered, or finished.
 * @sel: the select
 *
 * Context: process context.
 */
void kchan_sel_free(struct kchan_sel *sel)
{
	struct kchan_ticket *t;
	unsigned int i;

	kchan_cargo_unland(&sel->landing);
	for (i = 0; i < sel->n; i++) {
		t = &sel->tickets[i];
		if (t->send)
			kchan_msg_free(t->msg);
		if (t->chan)
			kchan_put(t->chan);
		if (t->watch_events && t->watch)
			fput(t->watch);
	}
	if (!sel->heap)
		return;
	/*
	 * Keep one allocation for the next big select through this file:
	 * a fresh one is zeroed (init_on_alloc), which costs a quarter to
	 * a third of a select over 8 or 64 channels.
	 */
	if (sel->spare && !cmpxchg(sel->spare, NULL, sel))
		return;
	kchan_sel_destroy(sel);
}

/**
 * kchan_sel_spare_free() - free the allocation a file kept for selects.
 * @spare: what its slot held, or NULL
 */
void kchan_sel_spare_free(struct kchan_sel *spare)
{
	if (spare)
		kchan_sel_destroy(spare);
}

static struct kchan *kchan_case_chan(int fd, fmode_t need)
{
	struct fd f = fdget(fd);
	struct kchan *ch;

	if (!f.file)
		return ERR_PTR(-EBADF);
	if (f.file->f_op != &kchan_fops) {
		fdput(f);
		return ERR_PTR(-EINVAL);
	}
	if (!(f.file->f_mode & need)) {
		fdput(f);
		return ERR_PTR(-EBADF);
	}
	ch = f.file->private_data;
	kchan_get(ch);
	fdput(f);
	return ch;
}

/* Is @fd a channel now? (-1 and bad fds are not.) */
static bool kchan_fd_is_chan(int fd)
{
	struct fd f = fdget(fd);
	bool is = f.file && f.file->f_op == &kchan_fops;

	if (f.file)
		fdput(f);
	return is;
}

/*
 * A readiness case: hold the file to watch, which may be anything that
 * polls; the select file watches it (selfd.c).
 */
static int kchan_case_watch(struct kchan_ticket *t,
			    const struct kchan_case *c)
{
	if (c->buf || c->len)
		return -EINVAL;
	t->watch_events = c->op == KCHAN_OP_POLLIN ? EPOLLIN | EPOLLRDNORM :
						     EPOLLOUT | EPOLLWRNORM;
	if (c->fd == -1)
		return 0;
	t->watch = fget(c->fd);
	if (!t->watch)
		return -EBADF;
	/* A select file held by a select file could end up holding itself. */
	if (kchan_is_selfd(t->watch)) {
		fput(t->watch);
		t->watch = NULL;
		return -EINVAL;
	}
	return 0;
}

/*
 * Resolve and check one case; a send case's message is copied in, with
 * the channels a KCHAN_OP_SENDMSG case carries. @watch: readiness cases
 * are allowed.
 */
static int kchan_case_build(struct kchan_ticket *t,
			    const struct kchan_case *c, bool watch)
{
	struct kchan_msghdr hdr = { .nchans = 0 };
	struct kchan_case plain;
	struct kchan_msg *msg;
	void __user *buf;
	struct kchan *ch;
	int ret;

	if (watch && (c->op == KCHAN_OP_POLLIN || c->op == KCHAN_OP_POLLOUT))
		return kchan_case_watch(t, c);
	if (watch && (c->op & KCHAN_OP_OR_READY)) {
		plain = *c;
		plain.op &= ~KCHAN_OP_OR_READY;
		if (plain.op != KCHAN_OP_SEND && plain.op != KCHAN_OP_RECV)
			return -EINVAL;
		if (!kchan_fd_is_chan(c->fd)) {
			plain.op = plain.op == KCHAN_OP_RECV ? KCHAN_OP_POLLIN :
							       KCHAN_OP_POLLOUT;
			plain.buf = 0;
			plain.len = 0;
			return kchan_case_watch(t, &plain);
		}
		c = &plain;
	}
	if (c->op == KCHAN_OP_SENDMSG || c->op == KCHAN_OP_RECVMSG) {
		ret = kchan_cargo_case(c, &plain, &hdr, &t->dest);
		if (ret)
			return ret;
		c = &plain;
	}
	buf = u64_to_user_ptr(c->buf);
	if (c->op != KCHAN_OP_SEND && c->op != KCHAN_OP_RECV)
		return -EINVAL;
	t->send = c->op == KCHAN_OP_SEND;
	if (c->fd == -1)
		return 0;
	if (!c->len)
		return -EINVAL;
	ch = kchan_case_chan(c->fd, t->send ? FMODE_WRITE : FMODE_READ);
	if (IS_ERR(ch))
		return PTR_ERR(ch);
	t->chan = ch;
	if (!t->send) {
		t->room = c->len;
		t->ubuf = buf;
		return access_ok(buf, c->len) ? 0 : -EFAULT;
	}
	if (c->len > ch->msg_max)
		return -EMSGSIZE;
	msg = kchan_msg_alloc(ch, c->len);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	t->msg = msg;
	if (!kchan_msg_copy_from_user(msg, buf))
		return -EFAULT;
	return kchan_cargo_grab(ch, msg, u64_to_user_ptr(hdr.chans),
				hdr.nchans);
}

/**
 * kchan_sel_build() - check a whole case set and get it ready to offer.
 * @req: the request, copied in
 * @extra_flags: flags the caller allows besides KCHAN_SELECT_PRIORITY,
 *     and KCHAN_SEL_WATCH for readiness cases
 * @w: the waiter to use, initialised by the caller, or NULL for the
 *     select's own, for the current task
 * @small: the caller's room for a select of up to KCHAN_SEL_SMALL cases,
 *     or NULL
 * @spare: a slot where a bigger select's allocation is kept between
 *     selects (slab memory comes zeroed, which costs), or NULL
 * @bad: set to the index of the case an error belongs to, else -1
 *
 * Context: process context, may sleep.
 * Return: the select or ERR_PTR().
 */
struct kchan_sel *kchan_sel_build(const struct kchan_select *req,
				  u32 extra_flags, struct kchan_waiter *w,
				  struct kchan_sel_small *small,
				  struct kchan_sel **spare, int *bad)
{
	struct kchan_case __user *ucases = u64_to_user_ptr(req->cases);
	/* Filled before use; not worth zeroing on every select. */
	struct kchan_case chunk[KCHAN_SEL_CHUNK] __uninitialized;
	void __user *faulted = NULL;
	size_t fault, faulted_len = 0;
	struct kchan_sel *sel;
	unsigned int i, n = req->ncases;
	int ret;

	*bad = -1;
	if (req->flags & ~(KCHAN_SELECT_PRIORITY |
			   (extra_flags & KCHAN_SELECT_ALL)) ||
	    req->reserved[0] || req->reserved[1] ||
	    n > READ_ONCE(kchan_max_select_cases))
		return ERR_PTR(-EINVAL);
	/* A persistent select is waited for with poll, whose timeout bounds it. */
	if ((req->flags & KCHAN_SELECT_PERSIST) &&
	    (req->flags & KCHAN_SELECT_DEADLINE))
		return ERR_PTR(-EINVAL);
	/* Not zeroed: every field and ticket is set below. */
	if (small && n <= KCHAN_SEL_SMALL) {
		sel = &small->sel;
		sel->heap = false;
		sel->tickets = small->tickets;
		sel->order = small->order;
	} else {
		sel = spare ? xchg(spare, NULL) : NULL;
		if (sel && sel->cap < n) {
			kchan_sel_destroy(sel);
			sel = NULL;
		}
		if (!sel) {
			sel = kchan_sel_alloc(n);
			if (IS_ERR(sel))
				return sel;
		}
		sel->heap = true;
		sel->spare = spare;
		sel->tickets = (struct kchan_ticket *)(sel + 1);
		sel->order = (u32 *)&sel->tickets[sel->cap];
	}
	sel->n = 0;
	sel->landing.n = 0;
	sel->flags = req->flags;
	sel->w = w ? w : &sel->own;
	if (!w)
		kchan_waiter_init(sel->w, sel->tickets, n);
	for (i = 0; i < n; i++) {
		kchan_ticket_init(&sel->tickets[i], sel->w, NULL, false);
		sel->order[i] = i;
	}
	for (i = 0; i < n; i++) {
		struct kchan_ticket *t = &sel->tickets[i];
		unsigned int k = i % KCHAN_SEL_CHUNK;

		sel->n = i + 1;	/* what kchan_sel_free() must undo */
		if (!k && copy_from_user(chunk, &ucases[i],
					 min(n - i, KCHAN_SEL_CHUNK) *
					 sizeof(*chunk))) {
			ret = -EFAULT;
			goto err;
		}
		/*
		 * A persistent select takes receives only: a send would send
		 * one message for ever, a readiness case would be reported
		 * at every read.
		 */
		if ((req->flags & KCHAN_SELECT_PERSIST) &&
		    chunk[k].op != KCHAN_OP_RECV &&
		    chunk[k].op != KCHAN_OP_RECVMSG) {
			ret = -EINVAL;
			goto err;
		}
		ret = kchan_case_build(t, &chunk[k],
				       extra_flags & KCHAN_SEL_WATCH);
		if (ret)
			goto err;
		if (!t->chan || t->send)
			continue;
		/* Only a KCHAN_OP_RECVMSG case has somewhere to land channels. */
		ret = t->dest.count ? kchan_cargo_fault_in(&t->dest) : 0;
		if (ret)
			goto err;
		/*
		 * Fault the receive buffer in now, so that a bad one fails
		 * the select before anything commits. Cases often share one
		 * buffer: it is checked once.
		 */
		fault = min_t(size_t, t->room, t->chan->msg_max);
		if (t->ubuf == faulted && fault <= faulted_len)
			continue;
		ret = kchan_probe_writable(t->ubuf, fault);
		if (ret)
			goto err;
		faulted = t->ubuf;
		faulted_len = fault;
	}
	sel->n = n;
	return sel;
err:
	*bad = i;
	kchan_sel_free(sel);
	return ERR_PTR(ret);
}

/*
 * Offer case @t of @sel on its channel (kchan_offer()). Returns whether
 * the select is settled (this or another case committed).
 */
static bool kchan_sel_offer(struct kchan_sel *sel, struct kchan_ticket *t)
{
	kchan_offer(t, 0);
	return READ_ONCE(sel->w->state) != KCHAN_W_WAITING;
}

/*
 * Could @t complete now? A lockless guess from the channel's counters
 * (kchan_readiness_hint()): the offer under the channel lock decides.
 */
static bool kchan_sel_looks_ready(struct kchan_ticket *t)
{
	__poll_t mask = kchan_readiness_hint(t->chan, t->send ? FMODE_WRITE :
								FMODE_READ);

	return mask & (EPOLLIN | EPOLLOUT | EPOLLHUP);
}

/*
 * Bring the next of order[i..np) to offer to order[i]: the first in array
 * order with KCHAN_SELECT_PRIORITY, else a random one.
 */
static void kchan_sel_pick(struct kchan_sel *sel, unsigned int i,
			   unsigned int np)
{
	unsigned int j, best = i;

	if (np - i < 2)
		return;
	if (sel->flags & KCHAN_SELECT_PRIORITY) {
		for (j = i + 1; j < np; j++)
			if (sel->order[j] < sel->order[best])
				best = j;
	} else {
		best = i + get_random_u32_below(np - i);
	}
	swap(sel->order[i], sel->order[best]);
}

/**
 * kchan_sel_start() - offer the cases until one commits, or all are queued.
 * @sel: a built select
 * @queue: queue every case if none is ready (false: a non-blocking select
 *	only tries the cases that look ready)
 *
 * First only the cases that look ready are offered, so that a select with
 * a ready case locks few channels: in array order with
 * KCHAN_SELECT_PRIORITY; else they are first gathered at the front of
 * order[] and offered in a random order drawn among them as it goes, so
 * that one ready case among many costs no draw at all, where drawing
 * among all the cases cost one draw (and, every few draws, a ChaCha
 * block) for each case looked at before it. Then the rest are queued, in
 * a random order too, so that a peer arriving later finds them.
 *
 * Context: process context; takes each channel's lock in turn.
 */
void kchan_sel_start(struct kchan_sel *sel, bool queue)
{
	bool shuffle = !(sel->flags & KCHAN_SELECT_PRIORITY);
	unsigned int i, n = sel->n, nready = n;
	struct kchan_ticket *t;

	if (shuffle) {
		nready = 0;
		for (i = 0; i < n; i++) {
			t = &sel->tickets[sel->order[i]];
			if (t->chan && kchan_sel_looks_ready(t)) {
				swap(sel->order[nready], sel->order[i]);
				nready++;
			}
		}
	}
	for (i = 0; i < nready; i++) {
		if (shuffle)
			kchan_sel_pick(sel, i, nready);
		t = &sel->tickets[sel->order[i]];
		if (t->chan && (shuffle || kchan_sel_looks_ready(t)) &&
		    kchan_sel_offer(sel, t))
			return;
	}
	if (!queue)
		return;
	for (i = shuffle ? nready : 0; i < n; i++) {
		if (shuffle)
			kchan_sel_pick(sel, i, n);
		t = &sel->tickets[sel->order[i]];
		if (t->chan && !t->offered && kchan_sel_offer(sel, t))
			return;
	}
}

/**
 * DOC: persistent select
 *
 * A KCHAN_SELECT_PERSIST select is armed once, by kchan_sel_start(), and
 * then only its cases that left their queues are offered again, after each
 * collection: the winner, and any ticket that a match dropped or a close
 * ended while the select was done (see DOC: locking in chan.h). They come
 * from the select file's unqueued list (struct kchan_sel_persist), filled
 * by the channels under the waiter's lock, into order[0..npending), which
 * only the owner touches; a case stays there, not queued, until it is
 * offered. So each collection costs what became ready since the last one,
 * whatever the number of cases. The offers run in a random order, or in
 * array order with KCHAN_SELECT_PRIORITY, until one commits: the others
 * wait in order[] for the next collection. A ticket is at any time queued,
 * on the unqueued list, or in order[], never two of them.
 */

/**
 * kchan_sel_start_persistent() - arm a KCHAN_SELECT_PERSIST select.
 * @sel: a built select, its waiter persistent
 * @p: its select file's list, empty
 *
 * As kchan_sel_start(), and the cases it did not get to offer because
 * one committed first are kept to be offered at the first collection.
 *
 * Context: process context; takes each channel's lock in turn.
 */
void kchan_sel_start_persistent(struct kchan_sel *sel,
				struct kchan_sel_persist *p)
{
	unsigned int i, np = 0;

	kchan_sel_start(sel, true);
	for (i = 0; i < sel->n; i++) {
		if (sel->tickets[i].chan && !sel->tickets[i].offered)
			sel->order[np++] = i;
	}
	p->npending = np;
}

/**
 * kchan_sel_collect() - the owner's side of a persistent select's commit:
 * wait for the committer to let go of the waiter and report, leaving the
 * other cases queued (see kchan_sel_report(); kchan_sel_settle() and
 * kchan_sel_rearm() finish).
 * @sel: a persistent select whose waiter is KCHAN_W_DONE
 * @res: filled in
 *
 * Context: process context, in the address space the select was built in.
 */
void kchan_sel_collect(struct kchan_sel *sel, struct kchan_select_result *res)
{
	spin_lock(&sel->w->lock);
	spin_unlock(&sel->w->lock);
	/* A select file's receive case never claims a sender. */
	WARN_ON_ONCE(kchan_sel_report(sel, res));
}

/**
 * kchan_sel_rearm() - a persistent select's result was collected and
 * settled: wait again, offering the cases that left their queues (DOC:
 * persistent select). A receive case that reported its channel closed
 * leaves the set, as if its fd were -1.
 * @sel: a persistent select, settled (kchan_sel_settle())
 * @p: its select file's list
 *
 * Context: process context; takes each offered case's channel lock in
 * turn.
 */
void kchan_sel_rearm(struct kchan_sel *sel, struct kchan_sel_persist *p)
{
	struct kchan_waiter *w = sel->w;
	struct kchan_ticket *t = w->winner;
	struct llist_node *list;
	unsigned int i, np = p->npending;

	if (t && !t->send && !w->result) {
		kchan_put(t->chan);
		t->chan = NULL;
	}
	/*
	 * Drained and waiting again at once, under the waiter's lock, under
	 * which every ticket is listed (kchan_end_ticket(), kchan_drop_dead(),
	 * a commit's kchan_unqueue()): a ticket listed before is drained now,
	 * and after it only a commit lists one, its winner, for the next
	 * rearm. So a ready case is never left off both its queue and
	 * order[], and a winner is never in order[]: one that reported its
	 * channel closed, its chan cleared above, is skipped below.
	 */
	spin_lock(&w->lock);
	w->result = 0;
	w->msg = NULL;
	w->winner = NULL;
	w->closed = NULL;
	list = llist_del_all(&p->unqueued);
	WRITE_ONCE(w->state, KCHAN_W_WAITING);
	spin_unlock(&w->lock);

	llist_for_each_entry(t, list, unqueued) {
		if (t->chan && !WARN_ON_ONCE(np >= sel->n))
			sel->order[np++] = t - sel->tickets;
	}
	for (i = 0; i < np && READ_ONCE(w->state) == KCHAN_W_WAITING; i++) {
		kchan_sel_pick(sel, i, np);
		kchan_offer(&sel->tickets[sel->order[i]], 0);
	}
	memmove(sel->order, sel->order + i, (np - i) * sizeof(*sel->order));
	p->npending = np - i;
}

/**
 * kchan_sel_report() - what a committed select did: copy a received
 * message out to its case's buffer, and fill @res. The message stays in
 * the select's custody until kchan_sel_settle(), so that an owner that
 * cannot hand @res on loses nothing: it may report again, or drop.
 * @sel: a select whose waiter is KCHAN_W_DONE, all its tickets unqueued;
 *	or a persistent select's (kchan_sel_collect()), whose other tickets
 *	may stay queued, dead: nothing but its owner touches the winner
 *	and the result of a done waiter
 * @res: filled in
 *
 * A copy to the case's buffer that fails gives the message back at once
 * and reports -EFAULT, now and on every later report; so do references
 * that cannot be landed (kchan_cargo_land(): -ETOOMANYREFS, -EMFILE...).
 * Landed references are installed by kchan_sel_settle(), or undone by
 * kchan_sel_unreport().
 *
 * Context: process context, in the address space the select was built in.
 * Return: 0; or, if the message was a claimed sender's and its copy would
 * fault (kchan_copy_to_user()), its length: it went back with its sender,
 * nothing completed, and the select runs again (kchan_sel_again()).
 */
size_t kchan_sel_report(struct kchan_sel *sel, struct kchan_select_result *res)
{
	struct kchan_waiter *w = sel->w;
	struct kchan_ticket *t = w->winner;
	struct kchan_msg *msg = w->msg;
	u32 len;
	int ret;

	res->index = t ? t - sel->tickets : -1;
	res->flags = 0;
	res->result = w->result;
	if (!t || t->send || w->result < 0)
		return 0;
	if (w->result == 0) {
		res->flags = KCHAN_SELECT_CLOSED;
		kchan_cargo_land_none(&t->dest);
		return 0;
	}
	len = msg->len;
	ret = kchan_copy_to_user(t->chan, msg, t->ubuf);
	if (!ret) {
		/* A select file's message is in custody: nobody waits on it. */
		ret = kchan_cargo_land(msg, &t->dest, &sel->landing, w->wq);
		if (ret == -EAGAIN)
			kchan_settle(t->chan, msg, false);
	}
	if (!ret)
		return 0;
	w->msg = NULL;
	if (ret == -EAGAIN)
		return len;
	w->result = ret;
	res->result = ret;
	kchan_settle(t->chan, msg, false);
	return 0;
}

/**
 * kchan_sel_unreport() - the owner could not hand a report on: undo the
 * references it landed, which the next report lands again.
 * @sel: a select reported by kchan_sel_report()
 *
 * Context: process context, the task that reported.
 */
void kchan_sel_unreport(struct kchan_sel *sel)
{
	kchan_cargo_unland(&sel->landing);
}

/**
 * kchan_sel_again() - a received message went back with its claimed
 * sender (kchan_sel_report()): fault the case's buffer in, holding
 * nothing, and make the select ready to offer again.
 * @sel: the select, all its tickets unqueued
 * @len: the length of that message
 *
 * Context: process context, may sleep.
 * Return: 0, -EFAULT, or -ERESTARTSYS on a signal (nothing completed).
 */
int kchan_sel_again(struct kchan_sel *sel, size_t len)
{
	struct kchan_waiter *w = sel->w;
	unsigned int i;

	if (fault_in_safe_writeable(w->winner->ubuf, len) ||
	    kchan_cargo_fault_in(&w->winner->dest))
		return -EFAULT;
	if (signal_pending(current))
		return -ERESTARTSYS;
	WRITE_ONCE(w->state, KCHAN_W_WAITING);
	w->result = 0;
	w->winner = NULL;
	w->closed = NULL;
	w->reoffer = false;
	for (i = 0; i < sel->n; i++)
		sel->tickets[i].offered = false;
	return 0;
}

/**
 * kchan_sel_settle() - the owner has the result: a received message is
 * received now, a sent one is no longer the select's to free.
 * @sel: a select reported by kchan_sel_report()
 *
 * Context: process context.
 */
void kchan_sel_settle(struct kchan_sel *sel)
{
	struct kchan_waiter *w = sel->w;
	struct kchan_ticket *t = w->winner;

	if (!t)
		return;
	if (t->send) {
		/* Sent: the message is the channel's, or its receiver's. */
		if (w->result > 0)
			t->msg = NULL;
		return;
	}
	if (w->msg) {
		kchan_settle(t->chan, w->msg, true);
		w->msg = NULL;
		kchan_cargo_arrive(&sel->landing);
	}
}

/**
 * kchan_sel_done() - the owner's side of a commit: wait for the committer
 * to let go of the waiter, unqueue every other ticket, report (see
 * kchan_sel_report(); kchan_sel_settle() finishes).
 * @sel: a select whose waiter is KCHAN_W_DONE
 * @res: filled in
 *
 * Context: process context, in the address space the select was built in.
 */
void kchan_sel_done(struct kchan_sel *sel, struct kchan_select_result *res)
{
	spin_lock(&sel->w->lock);
	spin_unlock(&sel->w->lock);
	kchan_unqueue_all(sel->w);
	/* A select file's receive case never claims a sender. */
	WARN_ON_ONCE(kchan_sel_report(sel, res));
}

/**
 * kchan_sel_drop() - the select's owner goes away without a result: undo
 * whatever state the waiter is in, losing nothing.
 * @sel: an offered select, not waited on by anyone
 *
 * A receive case that completed gives its message back to the head of its
 * channel (a rendezvous sender goes back in line); a send claimed by a
 * receiver is left to that receiver, as a killed sender's is.
 *
 * Context: process context; does not sleep on a peer.
 */
void kchan_sel_drop(struct kchan_sel *sel)
{
	struct kchan_waiter *w = sel->w;
	struct kchan_ticket *t;

	for (;;) {
		if (kchan_cancel(w) || kchan_abandon(w))
			break;
		/* Pairs with smp_store_release() in kchan_commit(). */
		if (smp_load_acquire(&w->state) != KCHAN_W_DONE) {
			cpu_relax();	/* a claim moving back or on */
			continue;
		}
		spin_lock(&w->lock);
		spin_unlock(&w->lock);
		kchan_unqueue_all(w);
		t = w->winner;
		if (t && t->send && w->result > 0)
			t->msg = NULL;
		if (t && !t->send && w->msg) {
			kchan_settle(t->chan, w->msg, false);
			w->msg = NULL;
		}
		break;
	}
	kchan_sel_free(sel);
}


/* Write the outcome back; the fields were probed before anything began. */
static void kchan_select_put(struct kchan_select __user *ureq, int index,
			     u32 flags, u64 len)
{
	if (put_user(index, &ureq->index) ||
	    put_user(flags, &ureq->result_flags) || put_user(len, &ureq->len))
		pr_debug("kchan: select result not written back\n");
}

/**
 * kchan_select_ioctl() - KCHAN_CTL_SELECT: a blocking (or non-blocking)
 * select.
 * @ureq: the user's struct kchan_select
 * @spare: the calling file's slot for a spare allocation
 *
 * Context: process context, may sleep.
 * Return: the index of the case that completed, or -errno.
 */
long kchan_select_ioctl(struct kchan_select __user *ureq,
			struct kchan_sel **spare)
{
	struct kchan_select_result res;
	/* Set up by kchan_sel_build(); not worth zeroing on every select. */
	struct kchan_sel_small small __uninitialized;
	struct kchan_select req;
	struct kchan_sel *sel;
	ktime_t deadline;
	int bad, ret;
	size_t len;

	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	/* Fail now, not after a case has completed, if we cannot answer. */
	if (put_user(-1, &ureq->index) || put_user(0, &ureq->result_flags) ||
	    put_user(0, &ureq->len))
		return -EFAULT;
	sel = kchan_sel_build(&req, KCHAN_SELECT_NONBLOCK |
				    KCHAN_SELECT_DEADLINE, NULL, &small, spare,
			      &bad);
	if (IS_ERR(sel)) {
		kchan_select_put(ureq, bad, 0, 0);
		return PTR_ERR(sel);
	}
	sel->w->nonblock = req.flags & KCHAN_SELECT_NONBLOCK;
	deadline = ns_to_ktime(req.deadline_ns);

again:
	kchan_sel_start(sel, !sel->w->nonblock);
	if (sel->w->nonblock && kchan_cancel(sel->w)) {
		kchan_sel_free(sel);
		return -EAGAIN;
	}
	ret = kchan_wait(sel->w, req.flags & KCHAN_SELECT_DEADLINE ?
				 &deadline : NULL);
	if (READ_ONCE(sel->w->state) != KCHAN_W_DONE) {
		/* Nothing completed: a signal, the deadline, or killed. */
		kchan_sel_free(sel);
		return ret;
	}
	len = kchan_sel_report(sel, &res);
	if (len) {
		bad = sel->w->winner - sel->tickets;
		ret = kchan_sel_again(sel, len);
		if (!ret)
			goto again;
		kchan_sel_free(sel);
		kchan_select_put(ureq, ret == -EFAULT ? bad : -1, 0, 0);
		return ret;
	}
	kchan_sel_settle(sel);
	kchan_sel_free(sel);
	if (res.result == -EAGAIN)
		res.index = -1;	/* a claim that fell through: nothing */
	if (res.result < 0) {
		kchan_select_put(ureq, res.index, 0, 0);
		return res.result;
	}
	kchan_select_put(ureq, res.index, res.flags, res.result);
	return res.index;
}
