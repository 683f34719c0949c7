// SPDX-License-Identifier: GPL-2.0
/*
 * A channel's slots: one allocation of room for a few small messages,
 * made at a send once the channel has carried KCHAN_SLOTS_AFTER messages,
 * and freed with the channel. A sender takes a free slot for its message
 * instead of allocating one, and the receiver's free gives the slot back:
 * two atomic operations on a bitmap where a message of its own costs a
 * slab allocation and free, their memory-cgroup charges, and a charge to
 * the sender's byte budget.
 *
 * The slots are the channel's buffer, and are charged as a pipe's buffer
 * is: to the memory cgroup of the task whose send made them (the
 * allocation is GFP_KERNEL_ACCOUNT) and to the byte budget of the
 * channel's creator (kchan.user), whose channel holds them. A message in a
 * slot is therefore not charged to its sender's budget; one that finds no
 * free slot is allocated and charged as before (msg.c). Slots are made
 * only when the creator's budget has room for them, and a channel whose
 * messages may be large (KCHAN_SLOT_DATA_MAX) has none.
 *
 * A slot's message lives at a fixed place in the block, and records which
 * (kchan_msg.slot), so that its free, wherever it happens, finds the
 * block. The block is freed once the channel let go of it and every slot
 * is free, by whichever comes last: both are bits of one word.
 */
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/slab.h>

#include "chan.h"
#include "kchan.h"
#include "slots.h"

/* The channel still holds the block: the word's top bit. */
#define KCHAN_SLOTS_HELD	BIT(BITS_PER_LONG - 1)
#define KCHAN_SLOTS_MAX		(BITS_PER_LONG - 1)
/* The most one block takes, header included: two pages. */
#define KCHAN_SLOTS_BYTES	8192

struct kchan_slots {
	/* Bit i: slot i is free; KCHAN_SLOTS_HELD: the channel holds it. */
	atomic_long_t free;
	unsigned long all;		/* fixed: the bits of every slot */
	struct kchan_user *charged;	/* fixed: the creator's (held) */
	u32 bytes;			/* fixed: one slot, header and data */
	u32 charge;			/* fixed: what the block is charged */
	u8 mem[] __aligned(8);
};

/* One slot's size for messages of up to @msg_max bytes. */
static size_t kchan_slot_bytes(u32 msg_max)
{
	return ALIGN(offsetof(struct kchan_msg, data) + msg_max, 8);
}

/**
 * kchan_slots_new() - slots for @ch, charged to its creator's budget.
 * @ch: a channel whose messages fit (kchan_slots_fit())
 *
 * As many slots as @ch can hold messages, and one more for a sender
 * waiting for room and one for a receiver copying out, within
 * KCHAN_SLOTS_BYTES.
 *
 * Context: process context, may sleep.
 * Return: the block, all slots free; NULL if the creator's budget or the
 * memory has no room for it (messages are then allocated one by one).
 */
struct kchan_slots *kchan_slots_new(struct kchan *ch)
{
	size_t one = kchan_slot_bytes(ch->msg_max), bytes, charge;
	unsigned int nr;
	struct kchan_slots *s;

	/* Even the largest messages that fit have two slots. */
	BUILD_BUG_ON((KCHAN_SLOTS_BYTES - offsetof(struct kchan_slots, mem)) /
		     ALIGN(offsetof(struct kchan_msg, data) +
			   KCHAN_SLOT_DATA_MAX, 8) < 2);
	nr = min_t(u64, (u64)ch->capacity + 2, KCHAN_SLOTS_MAX);
	nr = min_t(size_t, nr, (KCHAN_SLOTS_BYTES -
				offsetof(struct kchan_slots, mem)) / one);
	bytes = offsetof(struct kchan_slots, mem) + nr * one;
	charge = kmalloc_size_roundup(bytes);
	if (!kchan_user_try_charge_bytes(ch->user, charge))
		return NULL;
	s = kmalloc(bytes, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!s) {
		kchan_user_uncharge_bytes(ch->user, charge);
		return NULL;
	}
	s->all = BIT(nr) - 1;
	atomic_long_set(&s->free, s->all | KCHAN_SLOTS_HELD);
	s->charged = kchan_user_hold(ch->user);
	s->bytes = one;
	s->charge = charge;
	return s;
}

static void kchan_slots_free(struct kchan_slots *s)
{
	kchan_user_uncharge_bytes(s->charged, s->charge);
	kchan_user_put(s->charged);
	kfree(s);
}

/**
 * kchan_slots_release() - the channel lets go of its slots; they are
 * freed once every one is free.
 * @s: the block, or NULL
 *
 * Context: any; never sleeps.
 */
void kchan_slots_release(struct kchan_slots *s)
{
	unsigned long all;

	if (!s)
		return;
	/* Read first: once the bit is clear, a slot's free may free @s. */
	all = s->all;
	if ((atomic_long_fetch_andnot(KCHAN_SLOTS_HELD, &s->free) &
	     ~KCHAN_SLOTS_HELD) == all)
		kchan_slots_free(s);
}

/**
 * kchan_slot_get() - a message of @len bytes in a free slot of @s.
 * @s: the channel's slots
 * @len: 1..msg_max of the channel
 *
 * Context: any; never sleeps.
 * Return: the message, unqueued and unclaimed, charged to nobody, its
 * data undefined; NULL if every slot is taken.
 */
struct kchan_msg *kchan_slot_get(struct kchan_slots *s, size_t len)
{
	long v = atomic_long_read(&s->free);
	struct kchan_msg *msg;
	unsigned int i;

	do {
		if (!(v & s->all))
			return NULL;
		i = __ffs(v & s->all);
	} while (!atomic_long_try_cmpxchg(&s->free, &v, v & ~BIT(i)));
	msg = (struct kchan_msg *)(s->mem + i * s->bytes);
	kchan_msg_init(msg, s->bytes - offsetof(struct kchan_msg, data), NULL,
		       i + 1, len);
	return msg;
}

/**
 * kchan_slot_put() - free @msg's slot.
 * @msg: a message kchan_slot_get() made, its channels dropped
 *
 * Context: any; never sleeps.
 */
void kchan_slot_put(struct kchan_msg *msg)
{
	size_t one = offsetof(struct kchan_msg, data) + msg->size;
	unsigned int i = msg->slot - 1;
	struct kchan_slots *s;
	unsigned long all;

	s = (struct kchan_slots *)((u8 *)msg - i * one -
				   offsetof(struct kchan_slots, mem));
	/* Read first: once the slot is free, another free may free @s. */
	all = s->all;
	if ((atomic_long_fetch_or(BIT(i), &s->free) | BIT(i)) == all)
		kchan_slots_free(s);
}
