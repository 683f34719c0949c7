/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messages: one whole message as it travels from a sender's write to a
 * receiver's read, and the allocator that charges it to a user's budget
 * (msg.c).
 */
#ifndef KCHAN_MSG_H
#define KCHAN_MSG_H

#include <linux/list.h>
#include <linux/types.h>

struct iov_iter;
struct kchan;
struct kchan_cargo;
struct kchan_ticket;
struct kchan_user;

/* One message, allocated by the sender and freed by its receiver. */
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
	struct kchan_cargo *cargo;	/* channels it carries, or NULL */
	u32 len;
	u8 data[];
};

int kchan_msg_cache_init(void);
void kchan_msg_cache_exit(void);
struct kchan_msg *kchan_msg_alloc(struct kchan *ch, size_t len);
void kchan_msg_free(struct kchan_msg *msg);
bool kchan_msg_copy_from_iter(struct kchan_msg *msg, struct iov_iter *from);
size_t kchan_msg_copy_to_iter(const struct kchan_msg *msg,
			      struct iov_iter *to);

#endif /* KCHAN_MSG_H */
