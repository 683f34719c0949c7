// SPDX-License-Identifier: GPL-2.0
/*
 * The message allocator: a message is charged to its sender's account
 * (user.c) before it is allocated, and given back when it is freed,
 * whoever frees it. Nothing here touches a channel's queues or
 * counters: chan.c does, under kchan.lock.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "chan.h"
#include "kchan.h"

/*
 * Small messages, a stream's common case, come from caches of their own,
 * one per kmalloc size class they would take (the header is 60 bytes on
 * 64-bit), so that an allocation neither picks a kmalloc cache nor rounds
 * its size, and a free does not test for vmalloc memory. The object is
 * the size kmalloc would round it up to: the charge is the same.
 */
static const unsigned int kchan_msg_small[] = { 64, 96, 128, 192, 256 };
static struct kmem_cache *kchan_msg_cache[ARRAY_SIZE(kchan_msg_small)];

/* The small cache for @bytes of header and data, or -1 if it takes none. */
static int kchan_msg_class(size_t bytes)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(kchan_msg_small); i++)
		if (bytes <= kchan_msg_small[i])
			return i;
	return -1;
}

/**
 * kchan_msg_cache_init() - make the caches of small messages.
 *
 * Only message data is ever copied to or from user memory: the caches
 * tell hardened usercopy so.
 *
 * Context: module init.
 * Return: 0 or -ENOMEM.
 */
int kchan_msg_cache_init(void)
{
	size_t data = offsetof(struct kchan_msg, data);
	char name[24];
	int i;

	BUILD_BUG_ON(offsetof(struct kchan_msg, data) >= 64);
	for (i = 0; i < ARRAY_SIZE(kchan_msg_small); i++) {
		snprintf(name, sizeof(name), "kchan_msg-%u",
			 kchan_msg_small[i]);
		kchan_msg_cache[i] =
			kmem_cache_create_usercopy(name, kchan_msg_small[i], 0,
						   SLAB_ACCOUNT, data,
						   kchan_msg_small[i] - data,
						   NULL);
		if (!kchan_msg_cache[i]) {
			kchan_msg_cache_exit();
			return -ENOMEM;
		}
	}
	return 0;
}

/**
 * kchan_msg_cache_exit() - destroy them; every message is gone.
 *
 * Context: module exit.
 */
void kchan_msg_cache_exit(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(kchan_msg_small); i++) {
		kmem_cache_destroy(kchan_msg_cache[i]);
		kchan_msg_cache[i] = NULL;
	}
}

/*
 * The real size of @msg's allocation, as charged (kvmalloc rounds so): a
 * slab object's size is rounded up already (kchan_msg_new()).
 */
static size_t kchan_msg_bytes(const struct kchan_msg *msg)
{
	size_t bytes = offsetof(struct kchan_msg, data) + msg->size;

	return bytes <= KMALLOC_MAX_CACHE_SIZE ? bytes :
						 kmalloc_size_roundup(bytes);
}

/*
 * Drop the channels @msg carries and free its memory, or its slot: not
 * its charge.
 */
static void kchan_msg_release(struct kchan_msg *msg)
{
	int class;

	kchan_cargo_drop(msg);
	if (msg->slot) {
		kchan_slot_put(msg);
		return;
	}
	class = kchan_msg_class(offsetof(struct kchan_msg, data) + msg->size);
	if (class >= 0)
		kmem_cache_free(kchan_msg_cache[class], msg);
	else
		kvfree(msg);
}

/**
 * kchan_msg_free() - free a message, giving its memory back to the
 * account it was charged to and dropping the channels it carries.
 * @msg: the message, or NULL
 *
 * Context: any; never sleeps.
 */
void kchan_msg_free(struct kchan_msg *msg)
{
	if (!msg)
		return;
	if (!msg->slot) {
		kchan_user_uncharge_bytes(msg->charged, kchan_msg_bytes(msg));
		kchan_user_put(msg->charged);
	}
	kchan_msg_release(msg);
}

/* Give back @bytes charged to @user and @refs references to it, if any. */
static void kchan_msg_give_back(struct kchan_user *user, size_t bytes,
				unsigned int refs)
{
	if (!refs)
		return;
	kchan_user_uncharge_bytes(user, bytes);
	kchan_user_put_n(user, refs);
}

/**
 * kchan_msg_free_run() - kchan_msg_free() each of @msgs[0..@n) that is
 * not NULL. The memory of consecutive messages charged to one account
 * (a batch's, as a rule) goes back to it in one step.
 * @msgs: the messages
 * @n: how many
 *
 * Context: any; never sleeps.
 */
void kchan_msg_free_run(struct kchan_msg **msgs, unsigned int n)
{
	struct kchan_user *user = NULL;
	unsigned int i, refs = 0;
	size_t bytes = 0;

	/* Every receive ends here: one message takes the shortest way. */
	if (n == 1) {
		kchan_msg_free(msgs[0]);
		return;
	}
	for (i = 0; i < n; i++) {
		struct kchan_msg *msg = msgs[i];

		if (!msg)
			continue;
		if (msg->slot) {
			kchan_msg_release(msg);
			continue;
		}
		if (msg->charged != user) {
			kchan_msg_give_back(user, bytes, refs);
			user = msg->charged;
			bytes = 0;
			refs = 0;
		}
		bytes += kchan_msg_bytes(msg);
		refs++;
		kchan_msg_release(msg);
	}
	kchan_msg_give_back(user, bytes, refs);
}

/*
 * What a message of @len bytes is charged: the size of its allocation,
 * *@bytesp, rounded up as the slab rounds it, from small cache *@classp
 * (-1: none, kvmalloc).
 */
static size_t kchan_msg_charge(size_t len, int *classp, size_t *bytesp)
{
	size_t bytes = struct_size_t(struct kchan_msg, data, len);
	int class = kchan_msg_class(bytes);
	size_t charged;

	if (class >= 0) {
		bytes = kchan_msg_small[class];
		charged = bytes;
	} else {
		charged = kmalloc_size_roundup(bytes);
		if (bytes <= KMALLOC_MAX_CACHE_SIZE)
			bytes = charged;
	}
	*classp = class;
	*bytesp = bytes;
	return charged;
}

/*
 * A message of @len bytes (kchan_msg_charge()'s @class and @bytes), its
 * charge to @user made, taking a reference to @user; NULL when out of
 * memory, and then the caller still has both.
 */
static struct kchan_msg *kchan_msg_get(struct kchan_user *user, size_t len,
				       int class, size_t bytes)
{
	struct kchan_msg *msg;

	if (class >= 0)
		msg = kmem_cache_alloc(kchan_msg_cache[class],
				       GFP_KERNEL_ACCOUNT);
	else
		msg = kvmalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (!msg)
		return NULL;
	kchan_msg_init(msg, bytes - offsetof(struct kchan_msg, data), user, 0,
		       len);
	return msg;
}

/* A new message of @len bytes charged to @user, whose reference it takes. */
static struct kchan_msg *kchan_msg_new(struct kchan_user *user, size_t len)
{
	struct kchan_msg *msg;
	size_t charged, bytes;
	int class, ret;

	charged = kchan_msg_charge(len, &class, &bytes);
	/* Charged first: a user over the budget allocates nothing. */
	ret = kchan_user_charge_bytes(user, charged);
	if (ret) {
		kchan_user_put(user);
		return ERR_PTR(ret);
	}
	msg = kchan_msg_get(user, len, class, bytes);
	if (!msg) {
		kchan_user_uncharge_bytes(user, charged);
		kchan_user_put(user);
		return ERR_PTR(-ENOMEM);
	}
	return msg;
}

/**
 * kchan_msg_alloc() - a message of @len bytes for @ch.
 * @ch: the channel it is for
 * @len: 1..msg_max
 *
 * The message takes a free slot of @ch (slots.c) if it has one, and is
 * then charged to nobody; otherwise it is allocated and charged to the
 * calling task's account (user.c).
 *
 * Context: process context, may sleep.
 * Return: the message, unqueued and unclaimed, its data undefined;
 * ERR_PTR(-ENOBUFS) if that would take the caller's user above
 * max_bytes_per_user, ERR_PTR(-ENOMEM).
 */
struct kchan_msg *kchan_msg_alloc(struct kchan *ch, size_t len)
{
	struct kchan_slots *slots = kchan_slots(ch);
	struct kchan_user *user;
	struct kchan_msg *msg;

	if (slots) {
		msg = kchan_slot_get(slots, len);
		if (msg)
			return msg;
	}
	user = kchan_user_current(ch->user);
	if (!user)
		return ERR_PTR(-ENOMEM);
	return kchan_msg_new(user, len);
}

/*
 * kchan_msg_alloc_run() for messages that take no slot: allocated, and
 * charged to the calling task's account together, or, if the budget
 * cannot take the run whole, one at a time as far as it goes.
 */
static unsigned int kchan_msg_alloc_charged(struct kchan *ch,
					    const struct kchan_mmsg *m,
					    unsigned int n,
					    struct kchan_msg **msgs, long *err)
{
	struct kchan_user *user;
	size_t charged = 0, one, bytes;
	unsigned int i;
	int class;

	if (!n)
		return 0;
	user = kchan_user_current(ch->user);
	if (!user) {
		*err = -ENOMEM;
		return 0;
	}
	for (i = 0; i < n; i++)
		charged += kchan_msg_charge(m[i].len, &class, &bytes);
	if (kchan_user_charge_bytes(user, charged)) {
		kchan_user_put(user);
		for (i = 0; i < n; i++) {
			msgs[i] = kchan_msg_alloc(ch, m[i].len);
			if (IS_ERR(msgs[i])) {
				*err = PTR_ERR(msgs[i]);
				break;
			}
		}
		return i;
	}
	/* A reference for each message. */
	kchan_user_hold_n(user, n - 1);
	for (i = 0; i < n; i++) {
		one = kchan_msg_charge(m[i].len, &class, &bytes);
		msgs[i] = kchan_msg_get(user, m[i].len, class, bytes);
		if (!msgs[i])
			break;
		charged -= one;
	}
	if (i < n) {
		/* What the messages not allocated were charged and held. */
		kchan_msg_give_back(user, charged, n - i);
		*err = -ENOMEM;
	}
	return i;
}

/**
 * kchan_msg_alloc_run() - messages of the lengths @m[0..@n).len for @ch,
 * a batch's run: in free slots of @ch as far as they go, as
 * kchan_msg_alloc() would, the others allocated and charged to the
 * calling task's account together.
 * @ch: the channel they are for
 * @m: their descriptors, lengths 1..msg_max
 * @n: how many
 * @msgs: the messages, from the first
 *
 * A run that the budget cannot take whole is allocated one message at
 * a time, as far as the budget goes, as kchan_msg_alloc() would.
 *
 * Context: process context, may sleep.
 * Return: how many were allocated, from the first, each as
 * kchan_msg_alloc() makes it; if fewer than @n, *@err says why the next
 * was not: -ENOBUFS (the budget) or -ENOMEM.
 */
unsigned int kchan_msg_alloc_run(struct kchan *ch,
				 const struct kchan_mmsg *m, unsigned int n,
				 struct kchan_msg **msgs, long *err)
{
	struct kchan_slots *slots = n ? kchan_slots(ch) : NULL;
	unsigned int i = 0;

	for (; slots && i < n; i++) {
		msgs[i] = kchan_slot_get(slots, m[i].len);
		if (!msgs[i])
			break;
	}
	return i + kchan_msg_alloc_charged(ch, m + i, n - i, msgs + i, err);
}
