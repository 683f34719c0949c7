/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Channels in messages: the references a message on a carrier channel
 * carries, from the sender's descriptors to new ones in the receiver's
 * table. See cargo.c.
 */
#ifndef KCHAN_CARGO_H
#define KCHAN_CARGO_H

#include <linux/types.h>
#include <linux/kchan.h>

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
void kchan_cargo_drop(struct kchan_msg *msg);
unsigned int kchan_cargo_count(const struct kchan_msg *msg);

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
