// SPDX-License-Identifier: GPL-2.0
/*
 * The message allocator: a message is charged to its sender's account
 * (user.c) before it is allocated, and a channel keeps a few freed ones
 * (its spares) for the next sender, charged meanwhile to the channel's
 * owner. Nothing here touches a channel's queues or counters: chan.c
 * does, under kchan.lock; the spares have their own lock.
 */
#include <linux/llist.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "chan.h"
#include "kchan.h"

/*
 * Bytes of messages a channel keeps for reuse once they are received, as
 * a pipe keeps a page: a stream, a ping-pong or a batch then neither
 * allocates nor clears memory per message (the kernel may zero every
 * allocation, init_on_alloc), and an idle channel holds no more than that.
 */
#define KCHAN_SPARE_MAX	4096

/* The real size of @msg's allocation, as charged (kvmalloc rounds so). */
static size_t kchan_msg_bytes(const struct kchan_msg *msg)
{
	return kmalloc_size_roundup(offsetof(struct kchan_msg, data) +
				    msg->size);
}

/* Free @msg, giving its memory back to the account it was charged to. */
static void kchan_msg_destroy(struct kchan_msg *msg)
{
	kchan_user_uncharge_bytes(msg->charged, kchan_msg_bytes(msg));
	kchan_user_put(msg->charged);
	kvfree(msg);
}

/* A new message of @len bytes charged to @user, whose reference it takes. */
static struct kchan_msg *kchan_msg_new(struct kchan_user *user, size_t len)
{
	size_t bytes = struct_size_t(struct kchan_msg, data, len);
	struct kchan_msg *msg;
	int ret;

	/* Whatever the slab rounds up to is room a later message can use. */
	if (bytes <= KMALLOC_MAX_CACHE_SIZE)
		bytes = kmalloc_size_roundup(bytes);
	/* Charged first: a user over the budget allocates nothing. */
	ret = kchan_user_charge_bytes(user, kmalloc_size_roundup(bytes));
	if (ret) {
		kchan_user_put(user);
		return ERR_PTR(ret);
	}
	msg = kvmalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (!msg) {
		kchan_user_uncharge_bytes(user, kmalloc_size_roundup(bytes));
		kchan_user_put(user);
		return ERR_PTR(-ENOMEM);
	}
	msg->size = bytes - offsetof(struct kchan_msg, data);
	msg->charged = user;
	return msg;
}

/*
 * A spare is charged to the channel's owner; the sender who takes it
 * takes over the charge. Fails (the spare stays the owner's) if the
 * sender cannot afford it.
 */
static int kchan_msg_recharge(struct kchan_msg *msg, struct kchan_user *user)
{
	size_t bytes;
	int ret;

	if (msg->charged == user) {
		kchan_user_put(user);
		return 0;
	}
	bytes = kchan_msg_bytes(msg);
	ret = kchan_user_charge_bytes(user, bytes);
	if (ret) {
		kchan_user_put(user);
		return ret;
	}
	kchan_user_uncharge_bytes(msg->charged, bytes);
	kchan_user_put(msg->charged);
	msg->charged = user;
	return 0;
}

/**
 * kchan_spares_take() - take up to @n of @ch's spare messages, for
 * kchan_msg_get(); give back what is left with kchan_spares_give().
 * @ch: the channel
 * @n: how many are wanted
 *
 * A receiver adds a spare without a lock (llist_add); those who take them
 * do so under kchan.spare_lock, as llist_del_first() requires.
 *
 * Context: any.
 * Return: the spares taken, as a NULL-terminated list, or NULL.
 */
struct llist_node *kchan_spares_take(struct kchan *ch, unsigned int n)
{
	struct llist_node *first = NULL, **tail = &first, *node;

	if (llist_empty(&ch->spares))
		return NULL;
	spin_lock(&ch->spare_lock);
	while (n-- && (node = llist_del_first(&ch->spares))) {
		*tail = node;
		tail = &node->next;
	}
	spin_unlock(&ch->spare_lock);
	*tail = NULL;
	return first;
}

/**
 * kchan_spares_give() - give back spares that kchan_msg_get() left.
 * @ch: the channel
 * @spares: what is left of kchan_spares_take()'s list, or NULL
 *
 * Context: any.
 */
void kchan_spares_give(struct kchan *ch, struct llist_node *spares)
{
	struct llist_node *last = spares;

	if (!spares)
		return;
	while (last->next)
		last = last->next;
	llist_add_batch(spares, last, &ch->spares);
}

/**
 * kchan_msg_get() - a message of @len bytes for @ch.
 * @ch: the channel it is for
 * @spares: spares taken by kchan_spares_take(): the first is used if big
 *	enough (else freed)
 * @len: 1..msg_max
 *
 * The message is charged to the calling task's account (user.c); a spare
 * of another user's is charged over to it.
 *
 * Context: process context, may sleep.
 * Return: the message, unqueued and unclaimed, its data undefined;
 * ERR_PTR(-ENOBUFS) if that would take the caller's user above
 * max_bytes_per_user, ERR_PTR(-ENOMEM).
 */
struct kchan_msg *kchan_msg_get(struct kchan *ch, struct llist_node **spares,
				size_t len)
{
	struct kchan_msg *msg = NULL;
	struct kchan_user *user;
	int ret;

	if (*spares) {
		msg = llist_entry(*spares, struct kchan_msg, spare);
		*spares = (*spares)->next;
		atomic_sub(msg->size, &ch->spare_bytes);
		if (msg->size < len) {
			kchan_msg_destroy(msg);
			msg = NULL;
		}
	}
	/* The common case, a spare of the sender's own: nothing to charge. */
	if (!msg || !kchan_user_is_current(msg->charged)) {
		user = kchan_user_current(ch->user);
		if (!user) {
			kchan_msg_free(ch, msg);
			return ERR_PTR(-ENOMEM);
		}
		if (!msg) {
			msg = kchan_msg_new(user, len);
		} else {
			ret = kchan_msg_recharge(msg, user);
			if (ret) {
				kchan_msg_free(ch, msg);
				return ERR_PTR(ret);
			}
		}
		if (IS_ERR(msg))
			return msg;
	}
	msg->sender = NULL;
	msg->holds_slot = false;
	msg->kept = false;
	msg->cargo = NULL;
	msg->len = len;
	return msg;
}

/**
 * kchan_msg_alloc() - a message of @len bytes for @ch, a spare if one fits.
 * @ch: the channel it is for
 * @len: 1..msg_max
 *
 * Context: process context, may sleep.
 * Return: as kchan_msg_get().
 */
struct kchan_msg *kchan_msg_alloc(struct kchan *ch, size_t len)
{
	struct llist_node *spare = kchan_spares_take(ch, 1);

	return kchan_msg_get(ch, &spare, len);
}

/*
 * A spare is charged to the channel's owner, who keeps it only within
 * its budget: a spare is nobody's message, and must not stay charged to
 * a sender whose messages were all received.
 */
static bool kchan_msg_keep(struct kchan *ch, struct kchan_msg *msg)
{
	size_t bytes;

	if (msg->charged == ch->user)
		return true;
	if (!ch->user)
		return false;
	bytes = kchan_msg_bytes(msg);
	if (!kchan_user_try_charge_bytes(ch->user, bytes))
		return false;
	kchan_user_uncharge_bytes(msg->charged, bytes);
	kchan_user_put(msg->charged);
	msg->charged = kchan_user_hold(ch->user);
	return true;
}

/**
 * kchan_msg_free() - done with a message: keep it as one of @ch's spares,
 * while they hold less than KCHAN_SPARE_MAX bytes, or free it. Either way
 * the charge of its sender is given back, and the channels it carries
 * are dropped.
 * @ch: the channel it came from, or NULL to free it
 * @msg: the message, or NULL
 *
 * Context: any; never sleeps.
 */
void kchan_msg_free(struct kchan *ch, struct kchan_msg *msg)
{
	if (!msg)
		return;
	kchan_cargo_drop(msg);
	if (ch && msg->size <= KCHAN_SPARE_MAX) {
		if (atomic_add_return(msg->size, &ch->spare_bytes) <=
		    KCHAN_SPARE_MAX && kchan_msg_keep(ch, msg)) {
			llist_add(&msg->spare, &ch->spares);
			return;
		}
		atomic_sub(msg->size, &ch->spare_bytes);
	}
	kchan_msg_destroy(msg);
}

/**
 * kchan_spares_init() - a new channel has no spares.
 * @ch: the channel
 */
void kchan_spares_init(struct kchan *ch)
{
	init_llist_head(&ch->spares);
	atomic_set(&ch->spare_bytes, 0);
	spin_lock_init(&ch->spare_lock);
}

/**
 * kchan_spares_release() - free a dying channel's spares.
 * @ch: the channel, with no reference left
 *
 * Context: any; never sleeps.
 */
void kchan_spares_release(struct kchan *ch)
{
	struct kchan_msg *msg, *tmp;

	llist_for_each_entry_safe(msg, tmp, llist_del_all(&ch->spares), spare)
		kchan_msg_destroy(msg);
}
