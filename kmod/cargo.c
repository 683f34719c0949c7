// SPDX-License-Identifier: GPL-2.0
/*
 * Channels in messages (Go's "chan (chan T)"): a message on a carrier channel
 * carries up to KCHAN_CHANS_MAX references to other channels, and its
 * receiver gets a new descriptor for each.
 *
 * DOC: why no garbage collector
 *
 * A reference in flight holds the sender's struct file (fget), hence its
 * channel, until the message is received or dropped. Only a carrier's
 * messages hold references, and a carrier can never be carried: so a
 * message never holds, directly or through other messages, the channel
 * it is queued on. A carrier lives only while descriptors, names or
 * in-flight operations of processes hold it, none of which a message
 * can be; when it goes, its queued messages are freed and each drops the
 * files it holds, whose channels hold no references in turn. The graph
 * of references is two levels deep and acyclic, and nothing can become
 * unreachable while alive: SCM_RIGHTS needs a collector because a unix
 * socket can carry itself; a kchan carrier cannot.
 *
 * DOC: exactly once
 *
 * A receiver takes the message as for read() (kchan_take()), copies the
 * bytes, then lands the references (kchan_cargo_land()): it reserves a
 * descriptor and makes a file for each, and writes their numbers back,
 * without installing anything. If any step fails, all are undone and the
 * message is settled as not copied: it goes back to the head of its
 * channel, or its claimed sender back in line, references and all. Only
 * once the message is settled as received, when nothing can fail any
 * more, are the descriptors installed (kchan_cargo_arrive()), as
 * __receive_fd() does for SCM_RIGHTS. A claimed sender waits on that
 * receiver, so the numbers are written with page faults disabled; if
 * that would fault, the message goes back and the receiver faults the
 * entries in holding nothing, and takes again.
 *
 * The receiver's file is new, never the sender's: it has the directions
 * the sender's descriptor had, or the narrower ones the sender asked
 * for, and the receiver's own O_NONBLOCK. The sender's file is released
 * once the message is received, after the new one counts as a writer,
 * so an autoclose channel never sees its writers reach zero in between.
 */
#include <linux/cache.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kchan.h"

/* The references of one message, charged to the user who sent them. */
struct kchan_cargo {
	struct kchan_user *charged;	/* held */
	u32 cap;			/* entries allocated and charged */
	u32 n;				/* entries held */
	struct {
		struct file *file;	/* the sender's, held */
		u32 dir;		/* KCHAN_DIR_* the receiver gets */
	} ref[];
};

/*
 * What @n references in flight cost the sender's budget: their record,
 * and the struct file each keeps open after its sender closed it.
 */
static size_t kchan_cargo_bytes(u32 n)
{
	return kmalloc_size_roundup(struct_size_t(struct kchan_cargo, ref, n)) +
	       n * L1_CACHE_ALIGN(sizeof(struct file));
}

static void kchan_cargo_free(struct kchan_cargo *c)
{
	u32 i;

	for (i = 0; i < c->n; i++)
		fput(c->ref[i].file);
	kchan_user_uncharge_bytes(c->charged, kchan_cargo_bytes(c->cap));
	kchan_user_put(c->charged);
	kfree(c);
}

static u32 kchan_file_dirs(const struct file *file)
{
	return (file->f_mode & FMODE_READ ? KCHAN_DIR_RECV : 0) |
	       (file->f_mode & FMODE_WRITE ? KCHAN_DIR_SEND : 0);
}

/* Hold the file of one carried descriptor, if it may be carried. */
static int kchan_cargo_hold(struct kchan_cargo *c,
			    const struct kchan_chanref *ref)
{
	struct file *file = fget(ref->fd);
	struct kchan *ch;
	u32 has;

	if (!file)
		return -EBADF;
	if (file->f_op != &kchan_fops)
		goto invalid;
	ch = file->private_data;
	/* A carrier is never carried: no reference cycles (DOC above). */
	if (ch->flags & KCHAN_CREATE_CARRIER)
		goto invalid;
	has = kchan_file_dirs(file);
	if (ref->dir & ~has) {
		fput(file);
		return -EBADF;
	}
	c->ref[c->n].file = file;
	c->ref[c->n].dir = ref->dir ? ref->dir : has;
	c->n++;
	return 0;
invalid:
	fput(file);
	return -EINVAL;
}

/**
 * kchan_cargo_grab() - let @msg carry the channels of @urefs.
 * @ch: the channel @msg is for
 * @msg: a message being sent, carrying nothing yet
 * @urefs: the sender's array of struct kchan_chanref
 * @n: its length; 0 carries nothing
 *
 * Each descriptor's file is held, and the references are charged to the
 * sender's account. If @msg is freed unsent, they are dropped with it.
 *
 * Context: process context, may sleep.
 * Return: 0; -EINVAL (@ch is not a carrier, @n above KCHAN_CHANS_MAX, a
 * bad direction, a descriptor that is not a channel or is a carrier),
 * -EBADF (not open, or a direction it lacks), -EFAULT, -ENOBUFS, -ENOMEM.
 */
int kchan_cargo_grab(struct kchan *ch, struct kchan_msg *msg,
		     const struct kchan_chanref __user *urefs, u32 n)
{
	struct kchan_chanref refs[KCHAN_CHANS_MAX];
	struct kchan_user *user;
	struct kchan_cargo *c;
	int ret;
	u32 i;

	if (!n)
		return 0;
	if (n > KCHAN_CHANS_MAX || !(ch->flags & KCHAN_CREATE_CARRIER))
		return -EINVAL;
	if (copy_from_user(refs, urefs, n * sizeof(*refs)))
		return -EFAULT;
	for (i = 0; i < n; i++)
		if (refs[i].dir & ~KCHAN_DIR_ALL)
			return -EINVAL;

	user = kchan_user_current(NULL);
	if (!user)
		return -ENOMEM;
	ret = kchan_user_charge_bytes(user, kchan_cargo_bytes(n));
	if (ret) {
		kchan_user_put(user);
		return ret;
	}
	c = kmalloc(struct_size(c, ref, n), GFP_KERNEL_ACCOUNT);
	if (!c) {
		kchan_user_uncharge_bytes(user, kchan_cargo_bytes(n));
		kchan_user_put(user);
		return -ENOMEM;
	}
	c->charged = user;
	c->cap = n;
	c->n = 0;
	for (i = 0; i < n; i++) {
		ret = kchan_cargo_hold(c, &refs[i]);
		if (ret) {
			kchan_cargo_free(c);
			return ret;
		}
	}
	msg->cargo = c;
	return 0;
}

/**
 * kchan_cargo_drop_some() - kchan_cargo_drop() for a message that
 * carries channels.
 * @msg: a message being freed, or made a spare; @msg->cargo set
 *
 * Context: any; never sleeps (fput() defers the release).
 */
void kchan_cargo_drop_some(struct kchan_msg *msg)
{
	kchan_cargo_free(msg->cargo);
	msg->cargo = NULL;
}

/**
 * kchan_cargo_count_some() - kchan_cargo_count() for a message that
 * carries channels.
 * @msg: a message; @msg->cargo set
 *
 * Return: 1..KCHAN_CHANS_MAX.
 */
unsigned int kchan_cargo_count_some(const struct kchan_msg *msg)
{
	return msg->cargo->n;
}

/**
 * kchan_cargo_dest_init() - where a receive with @hdr takes references.
 * @dest: filled in
 * @hdr: the receiver's header, copied in
 * @uhdr: where it lives: its @nchans is written back
 *
 * Return: 0 or -EINVAL (@nchans above KCHAN_CHANS_MAX).
 */
int kchan_cargo_dest_init(struct kchan_cargo_dest *dest,
			  const struct kchan_msghdr *hdr,
			  struct kchan_msghdr __user *uhdr)
{
	if (hdr->nchans > KCHAN_CHANS_MAX)
		return -EINVAL;
	dest->refs = u64_to_user_ptr(hdr->chans);
	dest->count = &uhdr->nchans;
	dest->room = hdr->nchans;
	dest->fd_flags = hdr->flags & KCHAN_MSG_FD_NONBLOCK ? O_NONBLOCK : 0;
	return 0;
}

/**
 * kchan_cargo_fault_in() - make the receiver's entries and count present,
 * so that landing need not fault.
 * @dest: the receiver's, or one with no room (nothing to do)
 *
 * Context: process context, may sleep; no lock held.
 * Return: 0 or -EFAULT.
 */
int kchan_cargo_fault_in(const struct kchan_cargo_dest *dest)
{
	if (!dest->count)
		return 0;
	if (fault_in_writeable((char __user *)dest->count,
			       sizeof(*dest->count)) ||
	    fault_in_writeable((char __user *)dest->refs,
			       dest->room * sizeof(*dest->refs)))
		return -EFAULT;
	return 0;
}

/**
 * kchan_cargo_unland() - undo a landing that was not installed.
 * @l: the landing; empty after
 *
 * Context: process context, the task that landed.
 */
void kchan_cargo_unland(struct kchan_landing *l)
{
	while (l->n) {
		l->n--;
		fput(l->file[l->n]);
		put_unused_fd(l->fd[l->n]);
	}
}

/* Reserve a descriptor and make a receiver's file for one reference. */
static int kchan_cargo_prepare(struct kchan_landing *l, struct file *from,
			       u32 dir, u32 fd_flags)
{
	static const unsigned int accmode[] = {
		[KCHAN_DIR_RECV] = O_RDONLY,
		[KCHAN_DIR_SEND] = O_WRONLY,
		[KCHAN_DIR_ALL] = O_RDWR,
	};
	struct kchan *ch = from->private_data;
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	kchan_get(ch);
	file = kchan_file_new(ch, accmode[dir] | fd_flags);
	if (IS_ERR(file)) {
		kchan_put(ch);
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	l->fd[l->n] = fd;
	l->file[l->n] = file;
	l->n++;
	return 0;
}

/* Tell the receiver its new descriptors, and how many there are. */
static int kchan_cargo_put_user(const struct kchan_cargo_dest *dest,
				const struct kchan_chanref *out, u32 n,
				bool may_fault)
{
	if (!copy_to_user_nofault(dest->refs, out, n * sizeof(*out)) &&
	    !copy_to_user_nofault(dest->count, &n, sizeof(n)))
		return 0;
	if (!may_fault)
		return -EAGAIN;
	if (copy_to_user(dest->refs, out, n * sizeof(*out)) ||
	    put_user(n, dest->count))
		return -EFAULT;
	return 0;
}

/**
 * kchan_cargo_land() - get @msg's references ready for the receiver:
 * descriptors reserved, files made, entries and count written back;
 * nothing installed (kchan_cargo_arrive()).
 * @msg: a message handed over to the receiver, its bytes copied out
 * @dest: where the receiver takes references, or NULL if it has no room
 *	(read(), a batch, a KCHAN_OP_RECV case)
 * @l: filled in; a landing left in it is undone first
 * @may_fault: whether writing the entries may take a page fault (no
 *	sender waits on this receiver)
 *
 * On any error nothing is left of the landing: settle @msg as not
 * copied, and it goes back with its references.
 *
 * Context: process context, may sleep; no lock held.
 * Return: 0; -ETOOMANYREFS (more references than room); -EMFILE, -ENFILE,
 * -ENOMEM; -EFAULT; -EAGAIN if the entries are not present and
 * @may_fault is false: settle @msg as not copied, fault them in
 * (kchan_cargo_fault_in()) and take again.
 */
int kchan_cargo_land(struct kchan_msg *msg,
		     const struct kchan_cargo_dest *dest,
		     struct kchan_landing *l, bool may_fault)
{
	struct kchan_chanref out[KCHAN_CHANS_MAX];
	struct kchan_cargo *c = msg->cargo;
	u32 i, n = kchan_cargo_count(msg);
	int ret;

	kchan_cargo_unland(l);
	if (!dest || !dest->count)
		return n ? -ETOOMANYREFS : 0;
	if (n > dest->room)
		return -ETOOMANYREFS;
	for (i = 0; i < n; i++) {
		ret = kchan_cargo_prepare(l, c->ref[i].file, c->ref[i].dir,
					  dest->fd_flags);
		if (ret)
			goto undo;
		out[i].fd = l->fd[i];
		out[i].dir = c->ref[i].dir;
	}
	ret = kchan_cargo_put_user(dest, out, n, may_fault);
	if (!ret)
		return 0;
undo:
	kchan_cargo_unland(l);
	return ret;
}

/**
 * kchan_cargo_land_none() - a receive found the channel closed and
 * drained: it got no references.
 * @dest: the receiver's, or one with no room (nothing to do)
 *
 * Context: process context, may sleep; no lock held.
 */
void kchan_cargo_land_none(const struct kchan_cargo_dest *dest)
{
	if (dest->count && put_user(0, dest->count))
		pr_debug("kchan: channel count not written back\n");
}

/**
 * kchan_cargo_arrive() - install the landed descriptors: the message was
 * settled as received, nothing can fail any more.
 * @l: the landing; empty after
 *
 * Context: process context, the task that landed.
 */
void kchan_cargo_arrive(struct kchan_landing *l)
{
	unsigned int i;

	for (i = 0; i < l->n; i++)
		fd_install(l->fd[i], l->file[i]);
	l->n = 0;
}

/**
 * kchan_cargo_case() - a KCHAN_OP_SENDMSG or KCHAN_OP_RECVMSG select
 * case as the plain case it sends or receives like.
 * @c: the case
 * @plain: filled in: KCHAN_OP_SEND or KCHAN_OP_RECV, the header's buffer
 * @hdr: filled in: the case's header (zero if @c's fd is -1)
 * @dest: filled in for a receive case
 *
 * Context: process context, may sleep.
 * Return: 0, -EFAULT, -EINVAL (a bad header, or a flag other than
 * KCHAN_MSG_FD_NONBLOCK).
 */
int kchan_cargo_case(const struct kchan_case *c, struct kchan_case *plain,
		     struct kchan_msghdr *hdr, struct kchan_cargo_dest *dest)
{
	struct kchan_msghdr __user *uhdr = u64_to_user_ptr(c->buf);
	bool send = c->op == KCHAN_OP_SENDMSG;

	memset(hdr, 0, sizeof(*hdr));
	*plain = *c;
	plain->op = send ? KCHAN_OP_SEND : KCHAN_OP_RECV;
	if (c->fd == -1)
		return 0;
	if (c->len != sizeof(*hdr))
		return -EINVAL;
	if (copy_from_user(hdr, uhdr, sizeof(*hdr)))
		return -EFAULT;
	if ((hdr->flags & ~KCHAN_MSG_FD_NONBLOCK) || hdr->reserved[0] ||
	    hdr->reserved[1] || hdr->nchans > KCHAN_CHANS_MAX)
		return -EINVAL;
	plain->buf = hdr->buf;
	plain->len = hdr->len;
	return send ? 0 : kchan_cargo_dest_init(dest, hdr, uhdr);
}

static long kchan_cargo_send(struct kchan *ch, const struct kchan_msghdr *hdr,
			     bool nonblock)
{
	struct kchan_msg *msg;
	int ret;

	if (!hdr->len)
		return -EINVAL;
	if (hdr->len > ch->msg_max)
		return -EMSGSIZE;
	msg = kchan_msg_alloc(ch, hdr->len);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	ret = -EFAULT;
	if (kchan_msg_copy_from_user(msg, u64_to_user_ptr(hdr->buf)))
		ret = kchan_cargo_grab(ch, msg, u64_to_user_ptr(hdr->chans),
				       hdr->nchans);
	if (ret) {
		kchan_msg_free(msg);
		return ret;
	}
	return kchan_send(ch, msg, nonblock);
}

/*
 * read() with room for references: take, copy, land, settle, install
 * (see DOC: exactly once). A message that goes back with its claimed
 * sender because a copy would fault is taken again, once the memory was
 * faulted in holding nothing.
 */
static long kchan_cargo_recv(struct kchan *ch, const struct kchan_msghdr *hdr,
			     const struct kchan_cargo_dest *dest,
			     bool nonblock)
{
	void __user *buf = u64_to_user_ptr(hdr->buf);
	struct kchan_landing l = { .n = 0 };
	struct kchan_msg *msg;
	ssize_t ret;
	u32 len;
	int err;

	if (!hdr->len)
		return -EINVAL;
	for (;;) {
		if (kchan_cargo_fault_in(dest))
			return -EFAULT;
		ret = kchan_take(ch, hdr->len, nonblock, &msg);
		if (ret < 0)
			return ret;
		if (!ret)
			return put_user(0, dest->count) ? -EFAULT : 0;
		len = msg->len;
		err = kchan_cargo_count(msg) > dest->room ? -ETOOMANYREFS :
			kchan_copy_to_user(ch, msg, buf);
		if (err == -EAGAIN) {
			/* Back with its sender: fault in, take again. */
			if (fault_in_writeable(buf, len))
				return -EFAULT;
		} else {
			if (!err)
				err = kchan_cargo_land(msg, dest, &l, false);
			if (!err) {
				kchan_settle(ch, msg, true);
				kchan_cargo_arrive(&l);
				return len;
			}
			kchan_settle(ch, msg, false);
			if (err != -EAGAIN)
				return err;
		}
		if (signal_pending(current))
			return -ERESTARTSYS;
	}
}

/**
 * kchan_cargo_ioctl() - KCHAN_IOC_SENDMSG and KCHAN_IOC_RECVMSG.
 * @file: a channel file
 * @cmd: which
 * @uhdr: the caller's struct kchan_msghdr
 *
 * Context: process context, may sleep.
 * Return: the message length, 0 at end of file, or -errno (see
 * uapi/linux/kchan.h).
 */
long kchan_cargo_ioctl(struct file *file, unsigned int cmd,
		       struct kchan_msghdr __user *uhdr)
{
	struct kchan *ch = file->private_data;
	struct kchan_cargo_dest dest;
	struct kchan_msghdr hdr;
	bool nonblock;
	int ret;

	if (copy_from_user(&hdr, uhdr, sizeof(hdr)))
		return -EFAULT;
	if ((hdr.flags & ~KCHAN_MSG_ALL) || hdr.reserved[0] || hdr.reserved[1])
		return -EINVAL;
	nonblock = (file->f_flags & O_NONBLOCK) ||
		   (hdr.flags & KCHAN_MSG_NONBLOCK);
	if (cmd == KCHAN_IOC_SENDMSG) {
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return kchan_cargo_send(ch, &hdr, nonblock);
	}
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	ret = kchan_cargo_dest_init(&dest, &hdr, uhdr);
	if (ret)
		return ret;
	return kchan_cargo_recv(ch, &hdr, &dest, nonblock);
}
