// SPDX-License-Identifier: GPL-2.0
/*
 * Batches: many whole messages in one call, KCHAN_IOC_SEND_BATCH and
 * KCHAN_IOC_RECV_BATCH, for streams whose cost is the call rather than the
 * message.
 *
 * A batch goes in runs of up to KCHAN_BATCH_RUN messages. A run that can
 * go straight into the buffer (or come straight from its head) moves under
 * one lock, with one wake-up call that wakes as many exclusive pollers as
 * messages or slots it made available. Whatever cannot (a receiver or a
 * sender queued, a full or empty buffer, a rendezvous channel) goes one
 * message at a time through the paths write() and read() take, so each
 * message of a batch obeys every rule a single send or receive does: it
 * is sent whole or not at all, and a receive that fails leaves it at the
 * head. As with sendmmsg(2), a batch that stops after some messages
 * returns their count and the next call reports why it stopped.
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kchan.h"

/* Messages copied in, or taken, per lock: their pointers are on the stack. */
#define KCHAN_BATCH_RUN	32

/*
 * Send @msgs[0..@n) in order: straight into the buffer while that is
 * allowed, else one by one as write() would. Frees those not sent.
 * Returns how many were sent; *@err says why the rest were not.
 */
static unsigned int kchan_batch_send_run(struct kchan *ch,
					 struct kchan_msg **msgs,
					 unsigned int n, bool nonblock,
					 long *err)
{
	unsigned int i = 0;
	ssize_t ret;

	while (i < n) {
		i += kchan_send_run(ch, msgs + i, n - i);
		if (i == n)
			break;
		/* Frees the message if it was not sent. */
		ret = kchan_send(ch, msgs[i], nonblock);
		if (ret < 0) {
			*err = ret;
			for (n--; n > i; n--)
				kchan_msg_free(ch, msgs[n]);
			break;
		}
		i++;
	}
	return i;
}

static long kchan_batch_send(struct kchan *ch, const struct kchan_mmsg *m,
			     u32 n, bool nonblock)
{
	struct kchan_msg *msgs[KCHAN_BATCH_RUN];
	unsigned int got, want, done = 0;
	long err = 0;
	u32 i;

	for (i = 0; i < n; i++) {
		if (!m[i].len || m[i].reserved)
			return -EINVAL;
		if (m[i].len > ch->msg_max)
			return -EMSGSIZE;
	}
	while (done < n && !err) {
		/* No user memory is touched under the lock: copy in first. */
		want = min_t(u32, n - done, KCHAN_BATCH_RUN);
		for (got = 0; got < want; got++) {
			const struct kchan_mmsg *mm = &m[done + got];
			struct kchan_msg *msg = kchan_msg_alloc(ch, mm->len);

			if (!msg) {
				err = -ENOMEM;
				break;
			}
			if (copy_from_user(msg->data, u64_to_user_ptr(mm->buf),
					   mm->len)) {
				kchan_msg_free(ch, msg);
				err = -EFAULT;
				break;
			}
			msgs[got] = msg;
		}
		done += kchan_batch_send_run(ch, msgs, got, nonblock, &err);
		cond_resched();
	}
	return done ? done : err;
}

/*
 * Copy out @msgs[0..@n), taken for @m[0..@n), and their lengths; then
 * settle them. Returns how many were copied: those after the first failed
 * copy went back to the head of the channel, in order.
 */
static unsigned int kchan_batch_copy_out(struct kchan *ch,
					 struct kchan_msg **msgs,
					 unsigned int n,
					 const struct kchan_mmsg *m,
					 struct kchan_mmsg __user *um)
{
	unsigned int ok;

	for (ok = 0; ok < n; ok++) {
		struct kchan_msg *msg = msgs[ok];

		if (copy_to_user(u64_to_user_ptr(m[ok].buf), msg->data,
				 msg->len) ||
		    put_user(msg->len, &um[ok].len))
			break;
	}
	kchan_settle_run(ch, msgs, n, ok);
	return ok;
}

static long kchan_batch_recv(struct kchan *ch, const struct kchan_mmsg *m,
			     struct kchan_mmsg __user *um, u32 n,
			     bool nonblock)
{
	struct kchan_msg *msgs[KCHAN_BATCH_RUN];
	unsigned int got, done = 0;
	ssize_t ret = 0;
	u32 i;

	for (i = 0; i < n; i++)
		if (!m[i].len || m[i].reserved)
			return -EINVAL;
	while (done < n) {
		got = kchan_take_run(ch, m + done,
				     min_t(u32, n - done, KCHAN_BATCH_RUN),
				     msgs);
		if (!got) {
			/* Only the first message of a batch may wait. */
			ret = kchan_take(ch, m[done].len, nonblock || done,
					 &msgs[0]);
			if (ret <= 0)
				break;
			got = 1;
		}
		i = kchan_batch_copy_out(ch, msgs, got, m + done, um + done);
		done += i;
		if (i < got) {
			ret = -EFAULT;
			break;
		}
		cond_resched();
	}
	return done ? done : ret;
}

/**
 * kchan_batch_ioctl() - KCHAN_IOC_SEND_BATCH and KCHAN_IOC_RECV_BATCH.
 * @file: a channel file
 * @cmd: which
 * @ureq: the caller's struct kchan_batch
 *
 * Context: process context, may sleep.
 * Return: how many messages were sent or received, 0 at end of file, or
 * -errno (see uapi/linux/kchan.h).
 */
long kchan_batch_ioctl(struct file *file, unsigned int cmd,
		       const struct kchan_batch __user *ureq)
{
	bool send = cmd == KCHAN_IOC_SEND_BATCH;
	struct kchan *ch = file->private_data;
	struct kchan_mmsg __user *um;
	struct kchan_batch req;
	struct kchan_mmsg *m;
	bool nonblock;
	long ret;

	if (!(file->f_mode & (send ? FMODE_WRITE : FMODE_READ)))
		return -EBADF;
	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~KCHAN_BATCH_ALL || req.reserved[0] ||
	    req.reserved[1] || !req.nmsgs || req.nmsgs > KCHAN_BATCH_MAX)
		return -EINVAL;
	nonblock = (file->f_flags & O_NONBLOCK) ||
		   (req.flags & KCHAN_BATCH_NONBLOCK);
	um = u64_to_user_ptr(req.msgs);
	m = kvmalloc_array(req.nmsgs, sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	if (copy_from_user(m, um, req.nmsgs * sizeof(*m)))
		ret = -EFAULT;
	else if (send)
		ret = kchan_batch_send(ch, m, req.nmsgs, nonblock);
	else
		ret = kchan_batch_recv(ch, m, um, req.nmsgs, nonblock);
	kvfree(m);
	return ret;
}
