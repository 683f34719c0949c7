// SPDX-License-Identifier: GPL-2.0
/*
 * Channel files: read/write as receive/send of one whole message, poll,
 * the channel ioctls and fdinfo. Anonymous channels get an anon-inode
 * file; named ones are opened through their character device (names.c).
 * Every file holds a reference on its channel.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/uio.h>

#include "kchan.h"

/**
 * DOC: io_uring
 *
 * io_uring reads and writes a channel file through read_iter and
 * write_iter, first with IOCB_NOWAIT (the file is FMODE_NOWAIT): a
 * message or room ready completes at once; otherwise -EAGAIN, and
 * io_uring arms a poll on the channel and retries from the submitter's
 * task_work when the poll fires (kchan_fop_poll(): one queue, so one
 * poll entry per request). No io-wq worker is ever used.
 *
 * IORING_OP_URING_CMD (file_operations.uring_cmd, in 6.1) could instead
 * queue a receive that a sender completes directly: ->uring_cmd returns
 * -EIOCBQUEUED, the channel keeps the request, and a sender copies into
 * the receiver's registered buffer (IORING_URING_CMD_FIXED,
 * io_uring_cmd_import_fixed(), usable from the sender's task) and calls
 * io_uring_cmd_done(). That saves the failed try, the poll arm and the
 * retry. It is not done here, because 6.1 cannot cancel such a request:
 *
 *  - Nothing tells the driver that the ring is going away. 6.1's
 *    io_uring_try_cancel_requests() cancels polls, timeouts, deferred
 *    and io-wq work only; IORING_URING_CMD_CANCELABLE,
 *    io_uring_cmd_mark_cancelable() and IO_URING_F_CANCEL, which hand a
 *    queued command back to its driver at ring exit, came in 6.7. A
 *    receive queued on a channel nobody sends on would keep
 *    io_ring_exit_work() waiting forever (with a WARNING after five
 *    minutes), and a task exiting with one would wait in
 *    io_uring_cancel_generic() for a sender that may never come.
 *  - The request holds a reference on the channel file, so its release
 *    never runs either: only a send or KCHAN_IOC_CLOSE could end it.
 *  - A command that returns -EAGAIN is not retried on poll (the
 *    operation has no pollin): io_uring hands it to io-wq, which the
 *    poll-retry path never does.
 *
 * What 6.1 lacks is the cancellation on ring exit; with it (6.7 and
 * later) a queued receive could be withdrawn like a signalled one
 * (kchan_cancel()). Until kchan targets such a kernel, the poll-retry
 * path stays.
 */

static bool kchan_nonblock(struct kiocb *iocb)
{
	return (iocb->ki_filp->f_flags & O_NONBLOCK) ||
	       (iocb->ki_flags & IOCB_NOWAIT);
}

static ssize_t kchan_fop_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct kchan *ch = file->private_data;
	size_t len = iov_iter_count(from);
	struct kchan_msg *msg;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (!len)
		return -EINVAL;
	if (len > ch->msg_max)
		return -EMSGSIZE;
	msg = kchan_msg_alloc(ch, len);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	if (!kchan_msg_copy_from_iter(msg, from)) {
		kchan_msg_free(msg);
		return -EFAULT;
	}
	return kchan_send(ch, msg, kchan_nonblock(iocb));
}

static ssize_t kchan_fop_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *file = iocb->ki_filp;

	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	return kchan_recv(file->private_data, to, kchan_nonblock(iocb));
}

/*
 * One queue for both sides, as a socket has: io_uring arms one queue per
 * request and pays for a second with an allocation per arm and a wake-up
 * at every change of the other side (its double poll), and a channel's
 * io_uring read or write is a try, then a poll, then a retry.
 */
static __poll_t kchan_fop_poll(struct file *file, poll_table *wait)
{
	struct kchan *ch = file->private_data;

	poll_wait(file, &ch->poll_wait, wait);
	/* Pairs with wq_has_sleeper() in kchan_wake_pollers(). */
	smp_mb();
	return kchan_readiness(ch, file->f_mode);
}

static long kchan_fop_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct kchan *ch = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct kchan_stat st;
	u32 len;
	int ret;

	switch (cmd) {
	case KCHAN_IOC_VERSION:
		return kchan_version_ioctl(uarg);
	case KCHAN_IOC_CLOSE:
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return kchan_close(ch);
	case KCHAN_IOC_STAT:
		memset(&st, 0, sizeof(st));
		kchan_snapshot(ch, &st);
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	case KCHAN_IOC_NEXT_LEN:
		ret = kchan_next_len(ch, &len);
		if (ret)
			return ret;
		return put_user(len, (u32 __user *)uarg);
	case KCHAN_IOC_SEND_BATCH:
	case KCHAN_IOC_RECV_BATCH:
		return kchan_batch_ioctl(file, cmd, uarg);
	case KCHAN_IOC_SENDMSG:
	case KCHAN_IOC_RECVMSG:
		return kchan_cargo_ioctl(file, cmd, uarg);
	default:
		return -ENOTTY;
	}
}

static void kchan_fop_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct kchan_stat st = { 0 };

	kchan_snapshot(file->private_data, &st);
	seq_printf(m,
		   "kchan-id:\t%llu\n"
		   "kchan-capacity:\t%u\n"
		   "kchan-msg-max:\t%u\n"
		   "kchan-queued:\t%u\n"
		   "kchan-senders:\t%u\n"
		   "kchan-receivers:\t%u\n"
		   "kchan-closed:\t%u\n"
		   "kchan-sent:\t%llu\n"
		   "kchan-received:\t%llu\n",
		   st.id, st.capacity, st.msg_max, st.queued, st.senders,
		   st.receivers, !!(st.flags & KCHAN_STAT_CLOSED), st.sent,
		   st.received);
}

/* What every channel file needs, whichever way it was opened. */
static void kchan_file_setup(struct file *file, struct kchan *ch)
{
	file->private_data = ch;
	stream_open(file_inode(file), file);
	file->f_mode |= FMODE_NOWAIT;
	if (file->f_mode & FMODE_WRITE)
		atomic_inc(&ch->writers);
}

static int kchan_fop_open(struct inode *inode, struct file *file)
{
	struct kchan *ch = kchan_name_open(inode, file);

	if (IS_ERR(ch))
		return PTR_ERR(ch);
	kchan_file_setup(file, ch);
	return 0;
}

static int kchan_fop_release(struct inode *inode, struct file *file)
{
	struct kchan *ch = file->private_data;

	if ((file->f_mode & FMODE_WRITE) &&
	    atomic_dec_and_test(&ch->writers) &&
	    (ch->flags & KCHAN_CREATE_AUTOCLOSE))
		kchan_close(ch);
	kchan_put(ch);
	return 0;
}

const struct file_operations kchan_fops = {
	.owner		= THIS_MODULE,
	.open		= kchan_fop_open,
	.release	= kchan_fop_release,
	.read_iter	= kchan_fop_read_iter,
	.write_iter	= kchan_fop_write_iter,
	.poll		= kchan_fop_poll,
	.unlocked_ioctl	= kchan_fop_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.show_fdinfo	= kchan_fop_show_fdinfo,
};

/**
 * kchan_install_fd() - give the caller an O_RDWR file for @ch.
 * @ch: the channel; the caller's reference passes to the file on success
 * @fd_flags: O_CLOEXEC and/or O_NONBLOCK
 *
 * The file is set up completely (FMODE_NOWAIT) before it becomes visible.
 *
 * Context: process context, may sleep.
 * Return: the new descriptor or -errno (the reference is then not taken).
 */
int kchan_install_fd(struct kchan *ch, unsigned int fd_flags)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(fd_flags & O_CLOEXEC);
	if (fd < 0)
		return fd;
	file = kchan_file_new(ch, O_RDWR | (fd_flags & O_NONBLOCK));
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	fd_install(fd, file);
	return fd;
}

/**
 * kchan_file_new() - a new anonymous file for @ch, set up completely
 * (FMODE_NOWAIT) and not yet visible to anyone.
 * @ch: the channel; the caller's reference passes to the file on success
 * @flags: O_RDONLY, O_WRONLY or O_RDWR, and O_NONBLOCK
 *
 * Context: process context, may sleep.
 * Return: the file, or ERR_PTR() (the reference is then not taken).
 */
struct file *kchan_file_new(struct kchan *ch, unsigned int flags)
{
	struct file *file;

	file = anon_inode_getfile("[kchan]", &kchan_fops, ch,
				  flags & (O_ACCMODE | O_NONBLOCK));
	if (!IS_ERR(file))
		kchan_file_setup(file, ch);
	return file;
}
