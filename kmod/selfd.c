// SPDX-License-Identifier: GPL-2.0
/*
 * Select files: a case set armed on a file descriptor, so that event loops
 * (poll, epoll, io_uring) can commit to a select without blocking in it.
 *
 * The waiter lives in the file, not in the select: a commit wakes the
 * file's wait queue instead of a task, and readers and pollers look at
 * the waiter's state whether or not a select is armed. The wait queue is
 * freed only with the file, after every ticket that could wake it has
 * been unqueued and its committer has let go of the waiter lock, so no
 * poller ever sees it die (no POLLFREE needed).
 *
 * A persistent select (KCHAN_SELECT_PERSIST: receives only, no deadline,
 * no readiness case) is not disarmed by a read:
 * the read reports, settles, and waits again on the cases that left their
 * queues (kchan_sel_rearm(), DOC: persistent select in select.c).
 *
 * sf->mutex serialises arming, reading, cancelling; it is never taken
 * under a channel or waiter lock. Whoever holds it lets go through
 * kchan_selfd_unlock(), which offers a claimed send's other cases again
 * when its claim fell through meanwhile.
 *
 * Readiness cases (KCHAN_OP_POLLIN, KCHAN_OP_POLLOUT) watch any other
 * file, resolved from its fd at every arming: a hook on each wait queue
 * its poll registers. A hook's wake only sets sf->watch_woken and wakes
 * sf->rwq, where nothing but read() sleeps: never sf->wq, whose pollers
 * (an epoll the watched file may itself be in) could wake back into a
 * queue whose lock is held. So the file polls readable only for a
 * completed channel case; read() also returns a ready readiness case,
 * after cancelling the channel cases: if one completed first, it is
 * that one. A POLLFREE wake (a queue going away before its file, as
 * signalfd's) unhooks itself as epoll's does.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "select.h"

struct kchan_selfd;

/* One wait queue a readiness case's file is watched on. */
struct kchan_selfd_hook {
	wait_queue_entry_t wait;
	wait_queue_head_t *head;	/* NULL once POLLFREE unhooked it */
	struct kchan_selfd *sf;
	__poll_t events;		/* the case's, with EPOLLERR | EPOLLHUP */
	struct kchan_selfd_hook *next;
};

/* Gathers the hooks of one readiness case while its file is polled. */
struct kchan_selfd_watching {
	poll_table pt;
	struct kchan_selfd *sf;
	__poll_t events;
	int err;
};

struct kchan_selfd {
	struct mutex mutex;
	struct kchan_sel *sel;		/* armed, or NULL */
	struct kchan_waiter w;		/* the armed select's waiter */
	wait_queue_head_t wq;		/* woken when a case commits */
	struct mm_struct *mm;		/* the armer's address space */
	/* Armed with KCHAN_SELECT_DEADLINE: when a blocking read() gives up. */
	bool has_deadline;
	ktime_t deadline;
	/* Armings so far (mutex): a reader sees whether it slept on an old one. */
	unsigned int arms;
	/* Readiness cases: their hooks (mutex), and a wake seen since. */
	struct kchan_selfd_hook *hooks;
	bool watch_woken;		/* WRITE_ONCE() by hooks, mutex clears */
	wait_queue_head_t rwq;		/* readers only: woken by hooks */
	struct kchan_sel_persist persist; /* KCHAN_SELECT_PERSIST's cases */
};

/* Armed, and a case completed: a read returns at once. */
static bool kchan_selfd_ready(struct kchan_selfd *sf)
{
	if (!READ_ONCE(sf->sel))
		return false;
	/* Pairs with smp_store_release() in kchan_commit(). */
	return smp_load_acquire(&sf->w.state) == KCHAN_W_DONE;
}

/*
 * A claim of the armed select's send fell through (kchan_reoffer()): its
 * other cases, skipped while it was claimed, are offered again. The file
 * has no task in kchan_wait() to do it: whoever holds sf->mutex, which
 * keeps the select's tickets, does (kchan_selfd_unlock()).
 */
static void kchan_selfd_reoffer(struct kchan_selfd *sf)
{
	lockdep_assert_held(&sf->mutex);
	if (sf->sel && READ_ONCE(sf->w.state) == KCHAN_W_WAITING)
		kchan_reoffer(&sf->w);
}

/* Would kchan_selfd_reoffer() offer anything now? */
static bool kchan_selfd_reoffer_due(struct kchan_selfd *sf)
{
	return READ_ONCE(sf->w.reoffer) &&
	       READ_ONCE(sf->w.state) == KCHAN_W_WAITING;
}

/*
 * Drop sf->mutex, making the offer a claim's end asked for first. A
 * poller woken by that end takes the mutex only if it is free
 * (kchan_selfd_poll()): one that found it held left the offer to the
 * holder, which looks again once it has let go, so no such wake-up is
 * lost.
 */
static void kchan_selfd_unlock(struct kchan_selfd *sf)
{
	do {
		kchan_selfd_reoffer(sf);
		mutex_unlock(&sf->mutex);
		/* Orders the unlock before the look: pairs with the trylock. */
		smp_mb();
	} while (kchan_selfd_reoffer_due(sf) && mutex_trylock(&sf->mutex));
}

static int kchan_selfd_hook_wake(wait_queue_entry_t *wait, unsigned int mode,
				 int sync, void *key)
{
	struct kchan_selfd_hook *h = container_of(wait, struct kchan_selfd_hook,
						  wait);
	__poll_t mask = key_to_poll(key);
	struct kchan_selfd *sf = h->sf;

	if (mask && !(mask & (h->events | POLLFREE)))
		return 0;
	WRITE_ONCE(sf->watch_woken, true);
	wake_up_interruptible(&sf->rwq);
	if (mask & POLLFREE) {
		/*
		 * As ep_poll_callback(): the queue is freed after an RCU GP.
		 * Once head reads NULL, kchan_selfd_unwatch() no longer waits
		 * for this callback and may free @h and @sf: neither is
		 * touched after the store.
		 */
		list_del_init(&wait->entry);
		/* Pairs with smp_load_acquire() in kchan_selfd_unwatch(). */
		smp_store_release(&h->head, NULL);
	}
	return 0;
}

static void kchan_selfd_hook_queue(struct file *file, wait_queue_head_t *head,
				   poll_table *pt)
{
	struct kchan_selfd_watching *wg =
		container_of(pt, struct kchan_selfd_watching, pt);
	struct kchan_selfd *sf = wg->sf;
	struct kchan_selfd_hook *h;

	h = kmalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);
	if (!h) {
		wg->err = -ENOMEM;
		return;
	}
	h->sf = sf;
	h->events = wg->events;
	h->head = head;
	init_waitqueue_func_entry(&h->wait, kchan_selfd_hook_wake);
	h->next = sf->hooks;
	sf->hooks = h;
	add_wait_queue(head, &h->wait);
}

/*
 * Hook the armed select's readiness cases onto their files' queues; a
 * file ready already counts as a wake. sf->mutex held.
 * Return: 0, or -ENOMEM with *@bad the case (whose hooks are undone
 * with the rest by kchan_selfd_unwatch()).
 */
static int kchan_selfd_watch(struct kchan_selfd *sf, int *bad)
{
	struct kchan_selfd_watching wg = { .sf = sf };
	struct kchan_ticket *t;
	unsigned int i;

	lockdep_assert_held(&sf->mutex);
	init_poll_funcptr(&wg.pt, kchan_selfd_hook_queue);
	for (i = 0; i < sf->sel->n; i++) {
		t = &sf->sel->tickets[i];
		if (!t->watch_events || !t->watch)
			continue;
		wg.events = t->watch_events | EPOLLERR | EPOLLHUP;
		wg.pt._key = wg.events;
		if (vfs_poll(t->watch, &wg.pt) & wg.events)
			WRITE_ONCE(sf->watch_woken, true);
		if (wg.err) {
			*bad = i;
			return wg.err;
		}
	}
	return 0;
}

/* Take every hook off its queue and free it. sf->mutex held. */
static void kchan_selfd_unwatch(struct kchan_selfd *sf)
{
	struct kchan_selfd_hook *h, *next;
	wait_queue_head_t *head;

	for (h = sf->hooks; h; h = next) {
		next = h->next;
		/* As ep_remove_wait_queue(): a POLLFREE may race with us. */
		rcu_read_lock();
		/* Pairs with smp_store_release() in kchan_selfd_hook_wake(). */
		head = smp_load_acquire(&h->head);
		if (head)
			remove_wait_queue(head, &h->wait);
		rcu_read_unlock();
		kfree(h);
	}
	sf->hooks = NULL;
	WRITE_ONCE(sf->watch_woken, false);
}

/*
 * A readiness case whose file polls ready now: its index, with what it
 * polls in *@mask, or -1. The first in case order with
 * KCHAN_SELECT_PRIORITY, else from a random case on. sf->mutex held.
 */
static int kchan_selfd_watch_ready(struct kchan_selfd *sf, __poll_t *mask)
{
	struct kchan_sel *sel = sf->sel;
	unsigned int i, k, first = 0;
	struct kchan_ticket *t;

	lockdep_assert_held(&sf->mutex);
	if (!(sel->flags & KCHAN_SELECT_PRIORITY) && sel->n > 1)
		first = get_random_u32_below(sel->n);
	for (k = 0; k < sel->n; k++) {
		i = (first + k) % sel->n;
		t = &sel->tickets[i];
		if (!t->watch_events || !t->watch)
			continue;
		*mask = vfs_poll(t->watch, NULL) &
			(t->watch_events | EPOLLERR | EPOLLHUP);
		if (*mask)
			return i;
	}
	return -1;
}

/*
 * Forget the armed select, whose tickets are all off their queues, and
 * wake the readers waiting on it: they find nothing armed. sf->mutex held.
 */
static void kchan_selfd_disarm(struct kchan_selfd *sf)
{
	lockdep_assert_held(&sf->mutex);
	kchan_selfd_unwatch(sf);
	kchan_sel_free(sf->sel);
	WRITE_ONCE(sf->sel, NULL);
	mmdrop(sf->mm);
	sf->mm = NULL;
	wake_up_interruptible_poll(&sf->wq, EPOLLIN | EPOLLRDNORM);
	wake_up_interruptible(&sf->rwq);
}

/*
 * The result of a commit reached its reader: settle it and disarm. Until
 * then nothing is collected: a reader whose buffer faults leaves the
 * select armed and ready, a received message in its custody, for the
 * next read or cancel. sf->mutex held.
 */
static void kchan_selfd_collected(struct kchan_selfd *sf)
{
	lockdep_assert_held(&sf->mutex);
	kchan_sel_settle(sf->sel);
	kchan_selfd_disarm(sf);
}

static int kchan_selfd_arm(struct kchan_selfd *sf,
			   struct kchan_select __user *ureq)
{
	struct kchan_select req;
	struct kchan_sel *sel;
	int bad, ret = 0;

	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	if (put_user(-1, &ureq->index))
		return -EFAULT;
	mutex_lock(&sf->mutex);
	if (sf->sel) {
		ret = -EBUSY;
		goto out;
	}
	kchan_waiter_init(&sf->w, NULL, 0);
	sf->w.task = NULL;
	sf->w.wq = &sf->wq;
	sel = kchan_sel_build(&req, KCHAN_SELECT_DEADLINE | KCHAN_SEL_WATCH |
			      KCHAN_SELECT_PERSIST, &sf->w, NULL, NULL, &bad);
	if (IS_ERR(sel)) {
		ret = PTR_ERR(sel);
		goto out_bad;
	}
	sf->w.tickets = sel->tickets;
	sf->w.nr = sel->n;
	sf->has_deadline = req.flags & KCHAN_SELECT_DEADLINE;
	sf->deadline = ns_to_ktime(req.deadline_ns);
	init_llist_head(&sf->persist.unqueued);
	sf->persist.npending = 0;
	sf->w.persistent = sel->flags & KCHAN_SELECT_PERSIST;
	mmgrab(current->mm);
	sf->mm = current->mm;
	WRITE_ONCE(sf->arms, sf->arms + 1);
	WRITE_ONCE(sf->sel, sel);
	if (sel->flags & KCHAN_SELECT_PERSIST) {
		/* Receives only, no deadline (kchan_sel_build()). */
		kchan_sel_start_persistent(sel, &sf->persist);
		goto out;
	}
	ret = kchan_selfd_watch(sf, &bad);
	if (ret) {
		/* Nothing was offered: undone as a cancel. */
		WRITE_ONCE(sf->w.state, KCHAN_W_CANCELLED);
		kchan_selfd_disarm(sf);
		goto out_bad;
	}
	kchan_sel_start(sel, true);
	goto out;
out_bad:
	if (put_user(bad, &ureq->index))
		pr_debug("kchan: select case index not written back\n");
	WRITE_ONCE(sf->w.state, KCHAN_W_CANCELLED);
out:
	kchan_selfd_unlock(sf);
	return ret;
}

/*
 * Give up the armed select (0), or report what completed (1), which the
 * caller then collects. sf->mutex held.
 */
static int kchan_selfd_cancel_locked(struct kchan_selfd *sf,
				     struct kchan_select_result *res)
{
	int ret;

	lockdep_assert_held(&sf->mutex);
	res->index = -1;
	res->flags = 0;
	res->result = 0;
	while (sf->sel) {
		if (kchan_cancel(&sf->w)) {
			kchan_selfd_disarm(sf);
			return 0;
		}
		if (sf->mm != current->mm)
			return -EPERM;
		/* A receiver is copying our send out: wait for its verdict. */
		ret = wait_event_killable(sf->wq,
				READ_ONCE(sf->w.state) != KCHAN_W_CLAIMED);
		if (ret)
			return ret;
		if (kchan_selfd_ready(sf)) {
			kchan_sel_done(sf->sel, res);
			return 1;
		}
	}
	return 0;
}

static long kchan_selfd_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct kchan_selfd *sf = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct kchan_select_result res;
	int ret;

	switch (cmd) {
	case KCHAN_IOC_VERSION:
		return kchan_version_ioctl(uarg);
	case KCHAN_SEL_ARM:
		return kchan_selfd_arm(sf, uarg);
	case KCHAN_SEL_CANCEL:
		/* Fail before a completed case is collected, not after. */
		if (!access_ok(uarg, sizeof(res)) ||
		    fault_in_writeable(uarg, sizeof(res)))
			return -EFAULT;
		mutex_lock(&sf->mutex);
		ret = kchan_selfd_cancel_locked(sf, &res);
		if (ret >= 0 && copy_to_user(uarg, &res, sizeof(res))) {
			if (ret > 0)
				kchan_sel_unreport(sf->sel);
			ret = -EFAULT;
		} else if (ret > 0) {
			kchan_selfd_collected(sf);
		}
		kchan_selfd_unlock(sf);
		return ret;
	default:
		return -ENOTTY;
	}
}

/*
 * Wait for a read() to have something to look at: a commit (sf->wq), a
 * hook's wake (sf->rwq), a claim's fall-through that has the other cases
 * offered again (kchan_selfd_reoffer()), a disarm, or the deadline
 * (@timed) of the select that was armed when the reader last looked,
 * under sf->mutex (its @arms).
 * A select armed since then, whose deadline the reader does not know,
 * sends it back to look: a disarm wakes sf->wq, so a reader queued before
 * the new arming is woken, and one queued after it sees @arms changed.
 * Return: 0, -ERESTARTSYS, or -ETIMEDOUT.
 */
static int kchan_selfd_wait(struct kchan_selfd *sf, bool timed,
			    ktime_t deadline, unsigned int arms)
{
	DEFINE_WAIT(commit);
	DEFINE_WAIT(watch);
	int ret = 0;

	prepare_to_wait(&sf->wq, &commit, TASK_INTERRUPTIBLE);
	prepare_to_wait(&sf->rwq, &watch, TASK_INTERRUPTIBLE);
	if (!kchan_selfd_ready(sf) && !READ_ONCE(sf->watch_woken) &&
	    !kchan_selfd_reoffer_due(sf) &&
	    READ_ONCE(sf->sel) && READ_ONCE(sf->arms) == arms) {
		if (signal_pending(current))
			ret = -ERESTARTSYS;
		else if (!timed)
			schedule();
		else if (!schedule_hrtimeout(&deadline, HRTIMER_MODE_ABS))
			ret = -ETIMEDOUT;
	}
	finish_wait(&sf->rwq, &watch);
	finish_wait(&sf->wq, &commit);
	return ret;
}

/*
 * Hand @res to the reader and settle the select (a commit's result) or
 * not (@watched: the select was disarmed already). A persistent select
 * stays armed: it waits again on the cases that left their queues.
 * sf->mutex held.
 */
static ssize_t kchan_selfd_hand(struct kchan_selfd *sf,
				struct kchan_select_result *res,
				struct iov_iter *to, bool watched)
{
	lockdep_assert_held(&sf->mutex);
	if (copy_to_iter(res, sizeof(*res), to) != sizeof(*res)) {
		if (!watched)
			kchan_sel_unreport(sf->sel);
		return -EFAULT;
	}
	if (watched)
		return sizeof(*res);
	if (sf->sel->flags & KCHAN_SELECT_PERSIST) {
		kchan_sel_settle(sf->sel);
		kchan_sel_rearm(sf->sel, &sf->persist);
	} else {
		kchan_selfd_collected(sf);
	}
	return sizeof(*res);
}

/*
 * Whether the select armed now has a deadline that has passed. Asked
 * under sf->mutex, of that select: a reader's timeout may have been for
 * a select cancelled since, whose file was armed again.
 */
static bool kchan_selfd_late(struct kchan_selfd *sf)
{
	lockdep_assert_held(&sf->mutex);
	return sf->has_deadline && ktime_compare(ktime_get(), sf->deadline) >= 0;
}

/*
 * Look once, sf->mutex held: 1 with @res filled when a case completed or
 * a readiness case is ready (the channel cases then cancelled, unless one
 * completed first: that one is @res, *@watched false); 0: not yet;
 * -errno. A @blocking reader past the armed select's deadline cancels the
 * select: 1 if a case completed after all, else -ETIMEDOUT.
 */
static int kchan_selfd_look(struct kchan_selfd *sf,
			    struct kchan_select_result *res, bool *watched,
			    bool blocking)
{
	__poll_t mask = 0;
	int i, ret;

	lockdep_assert_held(&sf->mutex);
	*watched = false;
	if (!sf->sel)
		return -ENOTCONN;
	if (sf->mm != current->mm)
		return -EPERM;
	kchan_selfd_reoffer(sf);
	if (kchan_selfd_ready(sf)) {
		if (sf->sel->flags & KCHAN_SELECT_PERSIST)
			kchan_sel_collect(sf->sel, res);
		else
			kchan_sel_done(sf->sel, res);
		return 1;
	}
	i = -1;
	if (READ_ONCE(sf->watch_woken)) {
		/* Cleared first: a wake from here on is seen next time. */
		WRITE_ONCE(sf->watch_woken, false);
		i = kchan_selfd_watch_ready(sf, &mask);
	}
	if (i < 0 && !(blocking && kchan_selfd_late(sf)))
		return 0;
	ret = kchan_selfd_cancel_locked(sf, res);
	if (ret)
		return ret;	/* a case completed first, or -errno */
	if (i < 0)
		return -ETIMEDOUT;
	res->index = i;
	res->flags = KCHAN_SELECT_READY;
	res->result = mask;
	*watched = true;
	return 1;
}

static ssize_t kchan_selfd_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct kchan_selfd *sf = iocb->ki_filp->private_data;
	bool nonblock = (iocb->ki_filp->f_flags & O_NONBLOCK) ||
			(iocb->ki_flags & IOCB_NOWAIT);
	struct kchan_select_result res;
	ktime_t deadline;
	bool watched, timed;
	unsigned int arms;
	ssize_t ret;

	if (iov_iter_count(to) < sizeof(res))
		return -EINVAL;
	/* Fail before a completed case is collected, not after. */
	if (fault_in_iov_iter_writeable(to, sizeof(res)))
		return -EFAULT;
	for (;;) {
		if (nonblock) {
			if (!mutex_trylock(&sf->mutex))
				return -EAGAIN;
		} else if (mutex_lock_interruptible(&sf->mutex)) {
			return -ERESTARTSYS;
		}
		ret = kchan_selfd_look(sf, &res, &watched, !nonblock);
		if (ret)
			break;
		timed = sf->has_deadline;
		deadline = sf->deadline;
		arms = sf->arms;
		kchan_selfd_unlock(sf);
		if (nonblock)
			return -EAGAIN;
		/* At a deadline, the next look decides, for what is armed then. */
		ret = kchan_selfd_wait(sf, timed, deadline, arms);
		if (ret && ret != -ETIMEDOUT)
			return ret;
	}
	if (ret > 0)
		ret = kchan_selfd_hand(sf, &res, to, watched);
	kchan_selfd_unlock(sf);
	return ret;
}

static __poll_t kchan_selfd_poll(struct file *file, poll_table *wait)
{
	struct kchan_selfd *sf = file->private_data;

	poll_wait(file, &sf->wq, wait);
	/* Pairs with the waiter lock the commit wakes us under. */
	smp_mb();
	/*
	 * A fallen-through claim woke us: offer the other cases again, or
	 * leave it to the holder of the mutex (kchan_selfd_unlock()).
	 */
	if (kchan_selfd_reoffer_due(sf) && mutex_trylock(&sf->mutex))
		kchan_selfd_unlock(sf);
	return kchan_selfd_ready(sf) ? EPOLLIN | EPOLLRDNORM : 0;
}

static int kchan_selfd_release(struct inode *inode, struct file *file)
{
	struct kchan_selfd *sf = file->private_data;

	if (sf->sel) {
		kchan_selfd_unwatch(sf);
		kchan_sel_drop(sf->sel);
		mmdrop(sf->mm);
	}
	kfree(sf);
	return 0;
}

static void kchan_selfd_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct kchan_selfd *sf = file->private_data;

	mutex_lock(&sf->mutex);
	seq_printf(m, "kchan-select-armed:\t%u\n"
		      "kchan-select-cases:\t%u\n"
		      "kchan-select-ready:\t%u\n"
		      "kchan-select-persistent:\t%u\n",
		   !!sf->sel, sf->sel ? sf->sel->n : 0, kchan_selfd_ready(sf),
		   sf->sel ? !!(sf->sel->flags & KCHAN_SELECT_PERSIST) : 0);
	kchan_selfd_unlock(sf);
}

/**
 * kchan_selfd_unqueued() - a ticket of a persistent select file left its
 * queue: list it to be offered again after the next collection.
 * @t: the ticket, just unqueued
 *
 * Context: any; the caller holds the ticket's channel lock, which keeps
 * the select file (and the ticket) alive: the owner unqueues every ticket
 * before it frees them; and, unless the select is cancelled, the
 * waiter's lock (DOC: locking in chan.h).
 */
void kchan_selfd_unqueued(struct kchan_ticket *t)
{
	struct kchan_selfd *sf = container_of(t->waiter, struct kchan_selfd, w);

	llist_add(&t->unqueued, &sf->persist.unqueued);
}

static const struct file_operations kchan_selfd_fops = {
	.owner		= THIS_MODULE,
	.release	= kchan_selfd_release,
	.read_iter	= kchan_selfd_read_iter,
	.poll		= kchan_selfd_poll,
	.unlocked_ioctl	= kchan_selfd_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.show_fdinfo	= kchan_selfd_show_fdinfo,
	.llseek		= noop_llseek,
};

/**
 * kchan_is_selfd() - whether @file is a select file.
 * @file: any file
 *
 * Context: any.
 * Return: true for a select file.
 */
bool kchan_is_selfd(const struct file *file)
{
	return file->f_op == &kchan_selfd_fops;
}

/**
 * kchan_selfd_create() - KCHAN_CTL_SELECT_FD: a new, unarmed select file.
 * @fd_flags: O_CLOEXEC and/or O_NONBLOCK
 *
 * Context: process context, may sleep.
 * Return: the new descriptor or -errno.
 */
long kchan_selfd_create(unsigned long fd_flags)
{
	struct kchan_selfd *sf;
	struct file *file;
	int fd;

	if (fd_flags & ~(unsigned long)(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	sf = kzalloc(sizeof(*sf), GFP_KERNEL_ACCOUNT);
	if (!sf)
		return -ENOMEM;
	mutex_init(&sf->mutex);
	init_waitqueue_head(&sf->wq);
	init_waitqueue_head(&sf->rwq);
	kchan_waiter_init(&sf->w, NULL, 0);
	WRITE_ONCE(sf->w.state, KCHAN_W_CANCELLED);
	sf->w.task = NULL;
	sf->w.wq = &sf->wq;

	fd = get_unused_fd_flags(fd_flags & O_CLOEXEC);
	if (fd < 0) {
		kfree(sf);
		return fd;
	}
	file = anon_inode_getfile("[kchan-select]", &kchan_selfd_fops, sf,
				  O_RDONLY | (fd_flags & O_NONBLOCK));
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		kfree(sf);
		return PTR_ERR(file);
	}
	file->f_mode |= FMODE_NOWAIT;
	fd_install(fd, file);
	return fd;
}
