/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A channel's slots (slots.c): room for a few small messages, made once
 * the channel has carried KCHAN_SLOTS_AFTER messages and kept until it is
 * freed, so that a message of a busy small channel is neither allocated
 * nor charged on its own.
 */
#ifndef KCHAN_SLOTS_H
#define KCHAN_SLOTS_H

#include <linux/types.h>

struct kchan;
struct kchan_msg;
struct kchan_slots;

/* Messages of channels whose msg_max is above this have no slots. */
#define KCHAN_SLOT_DATA_MAX	256
/*
 * A channel gets its slots once it has carried this many messages: a
 * stream's or a ping-pong's channel soon does, and the many channels of
 * an event loop that each carry a few keep no memory of their own and
 * share the message caches' hot objects.
 */
#define KCHAN_SLOTS_AFTER	64

static inline bool kchan_slots_fit(u32 msg_max)
{
	return msg_max <= KCHAN_SLOT_DATA_MAX;
}

struct kchan_slots *kchan_slots_new(struct kchan *ch);
void kchan_slots_release(struct kchan_slots *s);
struct kchan_msg *kchan_slot_get(struct kchan_slots *s, size_t len);
void kchan_slot_put(struct kchan_msg *msg);

#endif /* KCHAN_SLOTS_H */
