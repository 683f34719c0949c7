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
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "kchan.h"

/*
 * Messages per run: copied in, or taken, under one lock. Their
 * descriptors and message pointers are on the stack, within a 1 KiB frame
 * even with KASAN's redzones, and left uninitialised (each is written
 * before it is read) rather than zeroed on every call.
 */
#define KCHAN_BATCH_RUN	16

/*
 * A batch gives way to other tasks after copying this much, not after
 * every run: woken by a batch's first message, a receiver then finds the
 * whole of a small batch rather than that message alone.
 */
#define KCHAN_BATCH_YIELD_BYTES	(64 * 1024)

/* Count the bytes of @m[0..@n) moved; give way once enough were. */
static void kchan_batch_yield(size_t *bytes, const struct kchan_mmsg *m,
			      unsigned int n)
{
	while (n--)
		*bytes += m[n].len;
	if (*bytes >= KCHAN_BATCH_YIELD_BYTES) {
		*bytes = 0;
		cond_resched();
	}
}

/*
 * The rules for one descriptor: a length of 0 or a reserved field is
 * -EINVAL; a longer message than @msg_max, if not 0, is -EMSGSIZE. Always
 * inline: it runs between user_access_begin() and _end(), where no call
 * may be made.
 */
static __always_inline int kchan_mmsg_check(u32 len, u32 reserved,
					    u32 msg_max)
{
	if (!len || reserved)
		return -EINVAL;
	if (msg_max && len > msg_max)
		return -EMSGSIZE;
	return 0;
}

/*
 * Read descriptors @off..@off + @n of the batch at @um into @m, and check
 * them (kchan_mmsg_check()). Field by field, as a batch is read at least
 * twice: that costs less than copying whole descriptors.
 */
static int kchan_batch_read(struct kchan_mmsg *m,
			    const struct kchan_mmsg __user *um, u32 off,
			    u32 n, u32 msg_max)
{
	u32 i;
	int ret;

	um += off;
	if (!user_access_begin(um, n * sizeof(*um)))
		return -EFAULT;
	for (i = 0; i < n; i++) {
		unsafe_get_user(m[i].buf, &um[i].buf, efault);
		unsafe_get_user(m[i].len, &um[i].len, efault);
		unsafe_get_user(m[i].reserved, &um[i].reserved, efault);
	}
	user_access_end();
	for (i = 0; i < n; i++) {
		ret = kchan_mmsg_check(m[i].len, m[i].reserved, msg_max);
		if (ret)
			return ret;
	}
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/* Store the lengths of @m[0..@n) in @um[0..@n): 0 or -EFAULT. */
static int kchan_batch_put_lens(struct kchan_mmsg __user *um,
				const struct kchan_mmsg *m, u32 n)
{
	u32 i;

	if (!user_access_begin(um, n * sizeof(*um)))
		return -EFAULT;
	for (i = 0; i < n; i++)
		unsafe_put_user(m[i].len, &um[i].len, efault);
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/* Check every descriptor of a batch, in place, before anything moves. */
static int kchan_batch_check(const struct kchan_mmsg __user *um, u32 n,
			     u32 msg_max)
{
	u32 i, len, reserved;
	int ret = 0;

	if (!user_access_begin(um, n * sizeof(*um)))
		return -EFAULT;
	for (i = 0; i < n && !ret; i++) {
		unsafe_get_user(len, &um[i].len, efault);
		unsafe_get_user(reserved, &um[i].reserved, efault);
		ret = kchan_mmsg_check(len, reserved, msg_max);
	}
	user_access_end();
	return ret;
efault:
	user_access_end();
	return -EFAULT;
}

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
				kchan_msg_free(msgs[n]);
			break;
		}
		i++;
	}
	return i;
}

/*
 * Copy in the messages of @m[0..@n) (no user memory is touched under the
 * lock). Returns how many were copied; *@err says why the next one was
 * not.
 */
static unsigned int kchan_batch_copy_in(struct kchan *ch,
					struct kchan_msg **msgs,
					const struct kchan_mmsg *m,
					unsigned int n, long *err)
{
	unsigned int i, got;

	/* ENOBUFS: over budget. */
	got = kchan_msg_alloc_run(ch, m, n, msgs, err);
	for (i = 0; i < got; i++) {
		if (!kchan_msg_copy_from_user(msgs[i],
					      u64_to_user_ptr(m[i].buf))) {
			kchan_msg_free_run(msgs + i, got - i);
			*err = -EFAULT;
			break;
		}
	}
	return i;
}

static long kchan_batch_send(struct kchan *ch,
			     const struct kchan_mmsg __user *um, u32 n,
			     bool nonblock)
{
	struct kchan_mmsg m[KCHAN_BATCH_RUN] __uninitialized;
	struct kchan_msg *msgs[KCHAN_BATCH_RUN] __uninitialized;
	unsigned int got, k, done = 0;
	size_t bytes = 0;
	long err;

	err = kchan_batch_check(um, n, ch->msg_max);
	if (err)
		return err;
	while (done < n && !err) {
		k = min_t(u32, n - done, KCHAN_BATCH_RUN);
		/* Read again: changed since the check, it stops here. */
		err = kchan_batch_read(m, um, done, k, ch->msg_max);
		if (err)
			break;
		got = kchan_batch_copy_in(ch, msgs, m, k, &err);
		done += kchan_batch_send_run(ch, msgs, got, nonblock, &err);
		kchan_batch_yield(&bytes, m, got);
	}
	return done ? done : err;
}

/*
 * Copy out @msgs[0..@n), taken for @m[0..@n), then their lengths into
 * @um[0..@n); then settle them. Returns how many were received: if a copy
 * failed, those from there on went back to the head of the channel, in
 * order; if the lengths could not be written, all of them did. *@again
 * is set if the first message was a claimed sender's whose copy would
 * fault (kchan_copy_to_user()): it went back with its sender, and the
 * caller faults its buffer in and takes again. *@err is why the batch
 * stopped short: -EFAULT, or -ETOOMANYREFS for a message that carries
 * channels.
 */
static unsigned int kchan_batch_copy_out(struct kchan *ch,
					 struct kchan_msg **msgs,
					 unsigned int n, struct kchan_mmsg *m,
					 struct kchan_mmsg __user *um,
					 bool *again, int *err)
{
	unsigned int ok;
	int ret = 0;

	*again = false;
	for (ok = 0; ok < n; ok++) {
		struct kchan_msg *msg = msgs[ok];

		m[ok].len = msg->len;
		/* A batch has no room for channels (cargo.c). */
		ret = kchan_cargo_count(msg) ? -ETOOMANYREFS :
			kchan_copy_to_user(ch, msg, u64_to_user_ptr(m[ok].buf));
		if (ret)
			break;
	}
	*err = ret == -ETOOMANYREFS ? ret : -EFAULT;
	if (ret == -EAGAIN) {
		/*
		 * msgs[ok] is no longer ours. Only a message taken alone
		 * (kchan_take()) can be a claimed one, so it is the first.
		 */
		*again = !ok;
		n--;
		memmove(&msgs[ok], &msgs[ok + 1], (n - ok) * sizeof(*msgs));
	}
	if (ok && kchan_batch_put_lens(um, m, ok)) {
		ok = 0;
		*err = -EFAULT;
	}
	if (n)
		kchan_settle_run(ch, msgs, n, ok);
	return ok;
}

static long kchan_batch_recv(struct kchan *ch, struct kchan_mmsg __user *um,
			     u32 n, bool nonblock)
{
	struct kchan_mmsg m[KCHAN_BATCH_RUN] __uninitialized;
	struct kchan_msg *msgs[KCHAN_BATCH_RUN] __uninitialized;
	unsigned int got, k, ok, done = 0;
	size_t bytes = 0;
	bool again;
	ssize_t ret;
	int err;

	ret = kchan_batch_check(um, n, 0);
	if (ret)
		return ret;
	while (done < n) {
		k = min_t(u32, n - done, KCHAN_BATCH_RUN);
		ret = kchan_batch_read(m, um, done, k, 0);
		if (ret)
			break;
		got = kchan_take_run(ch, m, k, msgs);
		if (!got) {
			/*
			 * Only the first message of a batch may wait; it
			 * makes its buffer writable first, as read() does.
			 */
			if (!nonblock && !done && !ch->capacity)
				kchan_probe_writable(u64_to_user_ptr(m[0].buf),
						     min(m[0].len,
							 ch->msg_max));
			ret = kchan_take(ch, m[0].len, nonblock || done,
					 &msgs[0]);
			if (ret <= 0)
				break;
			got = 1;
		}
		ok = kchan_batch_copy_out(ch, msgs, got, m, um + done, &again,
					  &err);
		if (again) {
			/* Its sender is back in line: fault in, take again. */
			ret = -EFAULT;
			if (fault_in_safe_writeable(u64_to_user_ptr(m[0].buf),
						    m[0].len))
				break;
			ret = -ERESTARTSYS;
			if (signal_pending(current))
				break;
			continue;
		}
		done += ok;
		if (ok < got) {
			ret = err;
			break;
		}
		kchan_batch_yield(&bytes, m, ok);
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
	bool nonblock;

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
	if (send)
		return kchan_batch_send(ch, um, req.nmsgs, nonblock);
	return kchan_batch_recv(ch, um, req.nmsgs, nonblock);
}
