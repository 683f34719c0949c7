/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messages: one whole message as it travels from a sender's write to a
 * receiver's read, and the allocator that charges it to a user's budget
 * and keeps a few freed ones per channel for reuse (msg.c).
 */
#ifndef KCHAN_MSG_H
#define KCHAN_MSG_H

#include <linux/list.h>
#include <linux/llist.h>
#include <linux/types.h>

struct kchan;
struct kchan_cargo;
struct kchan_ticket;
struct kchan_user;

/* One message, allocated by the sender and freed by its receiver. */
struct kchan_msg {
	union {
		struct list_head node;	/* on kchan.buf while buffered */
		struct llist_node spare;	/* on kchan.spares */
	};
	struct kchan_ticket *sender;	/* rendezvous: the claimed sender */
	/* The account charged for its memory (held): the sender's, or the
	 * channel owner's while it is a spare.
	 */
	struct kchan_user *charged;
	bool holds_slot;		/* taken from buf, slot still reserved */
	u32 size;			/* room in data[], at least len */
	/*
	 * Rendezvous: its send completed when an armed select took it; a
	 * failed copy puts it back in buf, never drops it.
	 */
	bool kept;
	struct kchan_cargo *cargo;	/* channels it carries, or NULL */
	u32 len;
	u8 data[];
};

struct kchan_msg *kchan_msg_alloc(struct kchan *ch, size_t len);
struct llist_node *kchan_spares_take(struct kchan *ch, unsigned int n);
void kchan_spares_give(struct kchan *ch, struct llist_node *spares);
struct kchan_msg *kchan_msg_get(struct kchan *ch, struct llist_node **spares,
				size_t len);
void kchan_msg_free(struct kchan *ch, struct kchan_msg *msg);
void kchan_spares_init(struct kchan *ch);
void kchan_spares_release(struct kchan *ch);

#endif /* KCHAN_MSG_H */
