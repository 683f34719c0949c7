/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A select's own structures, shared by select.c (the blocking select,
 * and the building, offering and reporting of a case set) and selfd.c
 * (a case set armed on a file). The rest of the module sees only
 * kchan_select_ioctl() and kchan_selfd_create() (kchan.h).
 */
#ifndef KCHAN_SELECT_H
#define KCHAN_SELECT_H

#include "kchan.h"

struct kchan_sel {
	struct kchan_waiter *w;		/* own, or the select file's */
	struct kchan_waiter own;
	unsigned int n;
	u32 flags;			/* KCHAN_SELECT_* */
	bool heap;			/* allocated, not the caller's */
	unsigned int cap;		/* heap: the cases it has room for */
	struct kchan_sel **spare;	/* heap: kept here when freed, if free */
	struct kchan_user *charged;	/* heap: the account it is charged to */
	u32 *order;			/* the offer order, shuffled lazily */
	struct kchan_ticket *tickets;	/* one per case, in case order */
	struct kchan_landing landing;	/* a received case's references */
};

/*
 * A persistent select's (KCHAN_SELECT_PERSIST) cases to offer again: those
 * taken off their queues since the last collection (kchan_selfd_unqueued()),
 * and the owner's own list, order[0..npending) of the select.
 */
struct kchan_sel_persist {
	struct llist_head unqueued;
	unsigned int npending;
};

/*
 * Room for a small select on the caller's stack: no allocation, so
 * nothing of it stays charged to its user in the control file. Not for
 * speed: with the cached allocation (kchan_sel.spare) a small select
 * costs the same from the heap.
 */
#define KCHAN_SEL_SMALL	4
struct kchan_sel_small {
	struct kchan_sel sel;
	struct kchan_ticket tickets[KCHAN_SEL_SMALL];
	u32 order[KCHAN_SEL_SMALL];
};

/*
 * kchan_sel_build()'s @extra_flags, never a request's: readiness cases
 * (KCHAN_OP_POLLIN, KCHAN_OP_POLLOUT) are allowed; their tickets have no
 * channel, only the file to watch (a select file watches it).
 */
#define KCHAN_SEL_WATCH		(1U << 31)

struct kchan_sel *kchan_sel_build(const struct kchan_select *req,
				  u32 extra_flags, struct kchan_waiter *w,
				  struct kchan_sel_small *small,
				  struct kchan_sel **spare, int *bad);
void kchan_sel_start(struct kchan_sel *sel, bool queue);
void kchan_sel_start_persistent(struct kchan_sel *sel,
				struct kchan_sel_persist *p);
void kchan_sel_collect(struct kchan_sel *sel, struct kchan_select_result *res);
void kchan_sel_rearm(struct kchan_sel *sel, struct kchan_sel_persist *p);
size_t kchan_sel_report(struct kchan_sel *sel,
			struct kchan_select_result *res);
void kchan_sel_settle(struct kchan_sel *sel);
int kchan_sel_again(struct kchan_sel *sel, size_t len);
void kchan_sel_done(struct kchan_sel *sel, struct kchan_select_result *res);
void kchan_sel_drop(struct kchan_sel *sel);
void kchan_sel_unreport(struct kchan_sel *sel);
void kchan_sel_free(struct kchan_sel *sel);

#endif /* KCHAN_SELECT_H */
