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
 * sf->mutex serialises arming, reading, cancelling; it is never taken
 * under a channel or waiter lock.
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

struct kchan_selfd {
	struct mutex mutex;
	struct kchan_sel *sel;		/* armed, or NULL */
	struct kchan_waiter w;		/* the armed select's waiter */
	wait_queue_head_t wq;		/* woken when a case commits */
	struct mm_struct *mm;		/* the armer's address space */
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
 * Forget the armed select, whose tickets are all off their queues, and
 * wake the readers waiting on it: they find nothing armed. sf->mutex held.
 */
static void kchan_selfd_disarm(struct kchan_selfd *sf)
{
	lockdep_assert_held(&sf->mutex);
	kchan_sel_free(sf->sel);
	WRITE_ONCE(sf->sel, NULL);
	mmdrop(sf->mm);
	sf->mm = NULL;
	wake_up_interruptible_poll(&sf->wq, EPOLLIN | EPOLLRDNORM);
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
	sel = kchan_sel_build(&req, 0, &sf->w, NULL, NULL, &bad);
	if (IS_ERR(sel)) {
		if (put_user(bad, &ureq->index))
			pr_debug("kchan: select case index not written back\n");
		ret = PTR_ERR(sel);
		WRITE_ONCE(sf->w.state, KCHAN_W_CANCELLED);
		goto out;
	}
	sf->w.tickets = sel->tickets;
	sf->w.nr = sel->n;
	mmgrab(current->mm);
	sf->mm = current->mm;
	WRITE_ONCE(sf->sel, sel);
	kchan_sel_start(sel, true);
out:
	mutex_unlock(&sf->mutex);
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
		mutex_unlock(&sf->mutex);
		return ret;
	default:
		return -ENOTTY;
	}
}

static ssize_t kchan_selfd_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct kchan_selfd *sf = iocb->ki_filp->private_data;
	bool nonblock = (iocb->ki_filp->f_flags & O_NONBLOCK) ||
			(iocb->ki_flags & IOCB_NOWAIT);
	struct kchan_select_result res;
	int ret;

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
		if (!sf->sel) {
			mutex_unlock(&sf->mutex);
			return -ENOTCONN;
		}
		if (sf->mm != current->mm) {
			mutex_unlock(&sf->mutex);
			return -EPERM;
		}
		if (kchan_selfd_ready(sf))
			break;
		mutex_unlock(&sf->mutex);
		if (nonblock)
			return -EAGAIN;
		ret = wait_event_interruptible(sf->wq,
				kchan_selfd_ready(sf) || !READ_ONCE(sf->sel));
		if (ret)
			return ret;
	}
	kchan_sel_done(sf->sel, &res);
	if (copy_to_iter(&res, sizeof(res), to) != sizeof(res)) {
		kchan_sel_unreport(sf->sel);
		mutex_unlock(&sf->mutex);
		return -EFAULT;
	}
	kchan_selfd_collected(sf);
	mutex_unlock(&sf->mutex);
	return sizeof(res);
}

static __poll_t kchan_selfd_poll(struct file *file, poll_table *wait)
{
	struct kchan_selfd *sf = file->private_data;

	poll_wait(file, &sf->wq, wait);
	/* Pairs with the waiter lock the commit wakes us under. */
	smp_mb();
	return kchan_selfd_ready(sf) ? EPOLLIN | EPOLLRDNORM : 0;
}

static int kchan_selfd_release(struct inode *inode, struct file *file)
{
	struct kchan_selfd *sf = file->private_data;

	if (sf->sel) {
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
		      "kchan-select-ready:\t%u\n",
		   !!sf->sel, sf->sel ? sf->sel->n : 0, kchan_selfd_ready(sf));
	mutex_unlock(&sf->mutex);
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
