/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Channels in messages: the references a message on a carrier channel
 * carries, from the sender's descriptors to new ones in the receiver's
 * table. See cargo.c.
 */
#ifndef KCHAN_CARGO_H
#define KCHAN_CARGO_H

#include <linux/compiler.h>
#include <linux/types.h>
#include <linux/kchan.h>

#include "msg.h"

struct file;
struct kchan;
struct kchan_msg;
struct kchan_msghdr;
struct kchan_cargo;

/* Where a receiver takes references: from its struct kchan_msghdr. */
struct kchan_cargo_dest {
	struct kchan_chanref __user *refs;	/* room for @room entries */
	u32 __user *count;		/* written back; NULL: no room at all */
	u32 room;
	u32 fd_flags;			/* O_NONBLOCK for the new files */
};

/*
 * References on their way into the receiver's table: descriptors
 * reserved and files made, all undone unless installed.
 */
struct kchan_landing {
	unsigned int n;
	int fd[KCHAN_CHANS_MAX];
	struct file *file[KCHAN_CHANS_MAX];
};

int kchan_cargo_grab(struct kchan *ch, struct kchan_msg *msg,
		     const struct kchan_chanref __user *urefs, u32 n);
void kchan_cargo_drop_some(struct kchan_msg *msg);
unsigned int kchan_cargo_count_some(const struct kchan_msg *msg);

/*
 * Every message freed or received asks these; few carry channels, so
 * the question is asked inline and only a carrier's message calls out.
 */

/**
 * kchan_cargo_drop() - drop the references @msg carries, if any.
 * @msg: a message being freed, or made a spare
 *
 * Context: any; never sleeps (fput() defers the release).
 */
static inline void kchan_cargo_drop(struct kchan_msg *msg)
{
	if (unlikely(msg->cargo))
		kchan_cargo_drop_some(msg);
}

/**
 * kchan_cargo_count() - how many channels @msg carries.
 * @msg: a message, or NULL
 *
 * Return: 0..KCHAN_CHANS_MAX.
 */
static inline unsigned int kchan_cargo_count(const struct kchan_msg *msg)
{
	return msg && unlikely(msg->cargo) ? kchan_cargo_count_some(msg) : 0;
}

int kchan_cargo_dest_init(struct kchan_cargo_dest *dest,
			  const struct kchan_msghdr *hdr,
			  struct kchan_msghdr __user *uhdr);
int kchan_cargo_fault_in(const struct kchan_cargo_dest *dest);
int kchan_cargo_land(struct kchan_msg *msg,
		     const struct kchan_cargo_dest *dest,
		     struct kchan_landing *l, bool may_fault);
void kchan_cargo_land_none(const struct kchan_cargo_dest *dest);
void kchan_cargo_unland(struct kchan_landing *l);
void kchan_cargo_arrive(struct kchan_landing *l);

int kchan_cargo_case(const struct kchan_case *c, struct kchan_case *plain,
		     struct kchan_msghdr *hdr, struct kchan_cargo_dest *dest);
long kchan_cargo_ioctl(struct file *file, unsigned int cmd,
		       struct kchan_msghdr __user *uhdr);

#endif /* KCHAN_CARGO_H */
