/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messages: one whole message as it travels from a sender's write to a
 * receiver's read, and the allocator that charges it to a user's budget
 * (msg.c).
 */
#ifndef KCHAN_MSG_H
#define KCHAN_MSG_H

#include <linux/bug.h>
#include <linux/list.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

struct kchan;
struct kchan_cargo;
struct kchan_ticket;
struct kchan_user;

/*
 * One message, allocated by the sender (or put in a slot of its channel,
 * slots.c) and freed by its receiver.
 */
struct kchan_msg {
	struct list_head node;		/* kchan.lock: on kchan.buf */
	struct kchan_ticket *sender;	/* kchan.lock: the claimed sender */
	struct kchan_user *charged;	/* the sender's account (held) */
	bool holds_slot;		/* kchan.lock: a slot kept, see taken */
	u32 size;			/* room in data[], as charged */
	/*
	 * Rendezvous: its send completed when an armed select took it; a
	 * failed copy puts it back in buf, never drops it.
	 */
	bool kept;
	u8 slot;			/* 1 + its index in the channel's slots, or 0 */
	struct kchan_cargo *cargo;	/* channels it carries, or NULL */
	u32 len;
	u8 data[];
};

struct kchan_mmsg;

/*
 * A message of @len bytes in @size bytes of room, unqueued and unclaimed,
 * charged to @charged (NULL: to nobody), in slot @slot - 1 of its
 * channel's slots or (0) allocated on its own; its data undefined.
 */
static inline void kchan_msg_init(struct kchan_msg *msg, u32 size,
				  struct kchan_user *charged, u8 slot,
				  size_t len)
{
	msg->size = size;
	msg->charged = charged;
	msg->sender = NULL;
	msg->holds_slot = false;
	msg->kept = false;
	msg->slot = slot;
	msg->cargo = NULL;
	msg->len = len;
}

int kchan_msg_cache_init(void);
void kchan_msg_cache_exit(void);
struct kchan_msg *kchan_msg_alloc(struct kchan *ch, size_t len);
unsigned int kchan_msg_alloc_run(struct kchan *ch,
				 const struct kchan_mmsg *m, unsigned int n,
				 struct kchan_msg **msgs, long *err);
void kchan_msg_free(struct kchan_msg *msg);
void kchan_msg_free_run(struct kchan_msg **msgs, unsigned int n);

/*
 * Message data is msg->size bytes at the end of the message's own
 * allocation, from one of msg.c's caches or kvmalloc, and a copy never
 * goes past msg->len <= msg->size: that is what hardened usercopy would
 * check, by looking the object up again on every copy, twice a message.
 * The copies below check it here and copy without the lookup, from and
 * to an iov_iter (read, write, io_uring) or a plain user pointer (a
 * batch's, a select's and sendmsg's buffers). Inline: every message is
 * copied in once and out once.
 */

/**
 * kchan_msg_copy_from_iter() - fill @msg's data, @msg->len bytes, from
 * @from.
 * @msg: a message just allocated
 * @from: the sender's data
 *
 * Context: process context, may sleep (page faults).
 * Return: true if all of it was copied; false if not, @from unchanged.
 */
static inline bool kchan_msg_copy_from_iter(struct kchan_msg *msg,
					    struct iov_iter *from)
{
	size_t n;

	if (WARN_ON_ONCE(msg->len > msg->size))
		return false;
	n = _copy_from_iter(msg->data, msg->len, from);
	if (n == msg->len)
		return true;
	iov_iter_revert(from, n);
	return false;
}

/**
 * kchan_msg_copy_to_iter() - copy @msg's data out to @to.
 * @msg: the message
 * @to: the receiver's buffer, advanced by what was copied
 *
 * Context: process context; faults as the caller allows.
 * Return: the bytes copied, @msg->len if all.
 */
static inline size_t kchan_msg_copy_to_iter(const struct kchan_msg *msg,
					    struct iov_iter *to)
{
	if (WARN_ON_ONCE(msg->len > msg->size))
		return 0;
	return _copy_to_iter(msg->data, msg->len, to);
}

/**
 * kchan_msg_copy_from_user() - fill @msg's data, @msg->len bytes, from
 * user memory at @from (a batch's, a select's or a sendmsg's message).
 * @msg: a message just allocated
 * @from: the sender's data
 *
 * Context: process context, may sleep (page faults).
 * Return: true if all of it was copied.
 */
static inline bool kchan_msg_copy_from_user(struct kchan_msg *msg,
					    const void __user *from)
{
	if (WARN_ON_ONCE(msg->len > msg->size))
		return false;
	return !_copy_from_user(msg->data, from, msg->len);
}

/**
 * kchan_msg_copy_to_user() - copy @msg's data out to user memory at @to.
 * @msg: the message
 * @to: the receiver's buffer
 *
 * Context: process context; faults as the caller allows.
 * Return: 0 if all of it was copied, else how many bytes were not.
 */
static inline unsigned long kchan_msg_copy_to_user(const struct kchan_msg *msg,
						   void __user *to)
{
	if (WARN_ON_ONCE(msg->len > msg->size))
		return msg->len;
	return _copy_to_user(to, msg->data, msg->len);
}

#endif /* KCHAN_MSG_H */
