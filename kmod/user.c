// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user accounts: what each user holds through kchan, and the limits
 * on it. A user is a (user namespace, real uid) pair, the key the kernel's
 * ucounts use for RLIMIT_MSGQUEUE and the pipe buffers use for
 * pipe-user-pages-soft (ucounts themselves are not exported to modules).
 *
 * Like ucounts, an account in a user namespace other than the initial one
 * has a parent: the account of the namespace's owner in the parent
 * namespace. Every charge is made at every level up to init_user_ns, and
 * each level is held to the same limit, so a user who creates a namespace
 * (and maps subordinate uids into it) shares one budget with everything
 * inside: switching uid or fsuid there does not multiply it.
 *
 * Three things are counted: channels (max_channels_per_user, EMFILE),
 * names (max_names_per_user, ENOSPC) and bytes of kernel memory held in
 * messages and select case sets (max_bytes_per_user, ENOBUFS; a task with
 * CAP_SYS_RESOURCE in the initial namespace may go over it, as it may for
 * pipes).
 *
 * DOC: account locking
 *
 * kchan_users_lock guards the hash table; lookups walk it under RCU and
 * take a reference with refcount_inc_not_zero(). An account lives while
 * anything is charged to it or refers to it: each channel, name, message
 * and select allocation charged to it holds a reference, and a child
 * account holds one on its parent. The counters are atomics, changed
 * without a lock: a charge adds at every level, and if one level went
 * over its limit, takes back what it added.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>

#include "kchan.h"

enum kchan_count {
	KCHAN_COUNT_CHANNELS,
	KCHAN_COUNT_NAMES,
	KCHAN_COUNT_NR,
};

struct kchan_user {
	struct hlist_node node;		/* on kchan_users */
	struct user_namespace *ns;	/* held */
	kuid_t uid;
	refcount_t ref;
	struct kchan_user *parent;	/* the namespace owner's, or NULL */
	atomic_long_t bytes;
	atomic_t counts[KCHAN_COUNT_NR];	/* enum kchan_count */
	struct rcu_head rcu;
};

static DEFINE_SPINLOCK(kchan_users_lock);
static DEFINE_HASHTABLE(kchan_users, 6);

/* Accounts of the initial user namespace that hold at least one name. */
static atomic_t kchan_name_holders = ATOMIC_INIT(0);

static u32 kchan_user_hash(struct user_namespace *ns, kuid_t uid)
{
	return hash_ptr(ns, 32) ^ __kuid_val(uid);
}

static struct kchan_user *kchan_user_find_rcu(struct user_namespace *ns,
					      kuid_t uid)
{
	struct kchan_user *u;

	hash_for_each_possible_rcu(kchan_users, u, node,
				   kchan_user_hash(ns, uid))
		if (u->ns == ns && uid_eq(u->uid, uid) &&
		    refcount_inc_not_zero(&u->ref))
			return u;
	return NULL;
}

/**
 * kchan_user_put() - drop a reference to an account.
 * @u: the account, or NULL
 *
 * Context: any process context; never sleeps.
 */
void kchan_user_put(struct kchan_user *u)
{
	struct kchan_user *parent;

	while (u && refcount_dec_and_lock(&u->ref, &kchan_users_lock)) {
		hash_del_rcu(&u->node);
		spin_unlock(&kchan_users_lock);
		parent = u->parent;
		put_user_ns(u->ns);
		kfree_rcu(u, rcu);
		u = parent;
	}
}

/**
 * kchan_user_hold() - take another reference to an account.
 * @u: the account
 *
 * Return: @u.
 */
struct kchan_user *kchan_user_hold(struct kchan_user *u)
{
	refcount_inc(&u->ref);
	return u;
}

/**
 * kchan_user_hold_n() - take @n more references to an account at once.
 * @u: the account, held by the caller
 * @n: how many, 0 or more
 */
void kchan_user_hold_n(struct kchan_user *u, unsigned int n)
{
	if (n)
		refcount_add(n, &u->ref);
}

/**
 * kchan_user_put_n() - drop @n references to an account at once.
 * @u: the account, or NULL
 * @n: how many the caller holds, 0 or more
 *
 * Context: any process context; never sleeps.
 */
void kchan_user_put_n(struct kchan_user *u, unsigned int n)
{
	if (!u || !n)
		return;
	/* All but the last cannot be the account's last: the caller's. */
	if (n > 1 && WARN_ON_ONCE(refcount_sub_and_test(n - 1, &u->ref)))
		return;
	kchan_user_put(u);
}

static struct kchan_user *kchan_user_lookup(struct user_namespace *ns,
					    kuid_t uid)
{
	struct kchan_user *u, *parent = NULL, *found;

	rcu_read_lock();
	u = kchan_user_find_rcu(ns, uid);
	rcu_read_unlock();
	if (u)
		return u;

	if (ns != &init_user_ns) {
		parent = kchan_user_lookup(ns->parent, ns->owner);
		if (!parent)
			return NULL;
	}
	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	if (!u) {
		kchan_user_put(parent);
		return NULL;
	}
	u->ns = get_user_ns(ns);
	u->uid = uid;
	refcount_set(&u->ref, 1);
	u->parent = parent;

	spin_lock(&kchan_users_lock);
	rcu_read_lock();
	found = kchan_user_find_rcu(ns, uid);
	rcu_read_unlock();
	if (!found)
		hash_add_rcu(kchan_users, &u->node, kchan_user_hash(ns, uid));
	spin_unlock(&kchan_users_lock);
	if (found) {
		put_user_ns(u->ns);
		kfree(u);
		kchan_user_put(parent);
		return found;
	}
	return u;
}

/**
 * kchan_user_is_current() - is @u the calling task's account?
 * @u: an account, or NULL
 *
 * Return: true if so.
 */
bool kchan_user_is_current(const struct kchan_user *u)
{
	const struct cred *cred = current_cred();

	return u && u->ns == cred->user_ns && uid_eq(u->uid, cred->uid);
}

/**
 * kchan_user_current() - the calling task's account, with a reference.
 * @hint: an account that is likely the caller's (a channel's owner), or
 *	NULL: taken without a lookup if it is
 *
 * Context: process context, may sleep.
 * Return: the account, or NULL when out of memory.
 */
struct kchan_user *kchan_user_current(struct kchan_user *hint)
{
	const struct cred *cred = current_cred();

	if (kchan_user_is_current(hint))
		return kchan_user_hold(hint);
	return kchan_user_lookup(cred->user_ns, cred->uid);
}

/* Add @n to a counter of @u and of each ancestor, up to @last (excluded). */
static void kchan_user_add(struct kchan_user *u, struct kchan_user *last,
			   long n)
{
	for (; u != last; u = u->parent)
		atomic_long_add(n, &u->bytes);
}

/*
 * Charge @bytes at every level; a level that goes above @max stops it:
 * what was added is taken back. Returns the level that refused, or NULL.
 */
static struct kchan_user *kchan_user_try(struct kchan_user *u, long bytes,
					 long max)
{
	struct kchan_user *it;

	for (it = u; it; it = it->parent) {
		if (atomic_long_add_return(bytes, &it->bytes) > max) {
			kchan_user_add(u, it->parent, -bytes);
			return it;
		}
	}
	return NULL;
}

static long kchan_bytes_max(void)
{
	return min_t(unsigned long, READ_ONCE(kchan_max_bytes_per_user),
		     LONG_MAX);
}

/**
 * kchan_user_charge_bytes() - charge @bytes of kernel memory to @u.
 * @u: the account of the calling task
 * @bytes: the real size of the allocation
 *
 * Context: process context of the task that allocates.
 * Return: 0, or -ENOBUFS if @u or an ancestor would go above
 * max_bytes_per_user and the caller lacks CAP_SYS_RESOURCE.
 */
int kchan_user_charge_bytes(struct kchan_user *u, size_t bytes)
{
	if (!kchan_user_try(u, bytes, kchan_bytes_max()))
		return 0;
	/* As pipes: the check of the capability only once over. */
	if (!capable(CAP_SYS_RESOURCE))
		return -ENOBUFS;
	kchan_user_add(u, NULL, bytes);
	return 0;
}

/**
 * kchan_user_try_charge_bytes() - charge @bytes to @u if it stays within
 * max_bytes_per_user, whoever the caller is.
 * @u: an account
 * @bytes: the real size of the allocation
 *
 * Context: any; never sleeps.
 * Return: true if charged.
 */
bool kchan_user_try_charge_bytes(struct kchan_user *u, size_t bytes)
{
	return !kchan_user_try(u, bytes, kchan_bytes_max());
}

/**
 * kchan_user_uncharge_bytes() - give back what a charge took.
 * @u: the account charged
 * @bytes: as charged
 *
 * Context: any; never sleeps.
 */
void kchan_user_uncharge_bytes(struct kchan_user *u, size_t bytes)
{
	kchan_user_add(u, NULL, -(long)bytes);
}

/**
 * kchan_user_bytes() - bytes the calling task's account holds now.
 *
 * Context: process context.
 * Return: the bytes charged to the caller's own account (not to accounts
 * of other users in namespaces it owns), 0 if it has none.
 */
u64 kchan_user_bytes(void)
{
	const struct cred *cred = current_cred();
	struct kchan_user *u;
	long bytes = 0;

	rcu_read_lock();
	u = kchan_user_find_rcu(cred->user_ns, cred->uid);
	rcu_read_unlock();
	if (u) {
		bytes = atomic_long_read(&u->bytes);
		kchan_user_put(u);
	}
	return max(bytes, 0L);
}

/*
 * Count one more of @c at every level, up to @max each. The first name of
 * an account of the initial namespace makes it a name holder.
 */
static bool kchan_user_count(struct kchan_user *u, enum kchan_count c,
			     unsigned int max)
{
	struct kchan_user *it, *undo;
	int n = 0;

	for (it = u; it; it = it->parent) {
		n = atomic_inc_return(&it->counts[c]);
		if (n > max) {
			for (undo = u; undo != it->parent; undo = undo->parent)
				atomic_dec(&undo->counts[c]);
			return false;
		}
	}
	if (c == KCHAN_COUNT_NAMES && n == 1)
		atomic_inc(&kchan_name_holders);
	return true;
}

static void kchan_user_uncount(struct kchan_user *u, enum kchan_count c)
{
	int n = 0;

	for (; u; u = u->parent)
		n = atomic_dec_return(&u->counts[c]);
	if (c == KCHAN_COUNT_NAMES && !n)
		atomic_dec(&kchan_name_holders);
}

/**
 * kchan_user_charge_channel() - count a new channel for the calling task.
 *
 * Context: process context, may sleep.
 * Return: the caller's account, with a reference, for
 * kchan_user_uncharge_channel(); ERR_PTR(-EMFILE) at max_channels_per_user,
 * ERR_PTR(-ENOMEM).
 */
struct kchan_user *kchan_user_charge_channel(void)
{
	struct kchan_user *u = kchan_user_current(NULL);

	if (!u)
		return ERR_PTR(-ENOMEM);
	if (!kchan_user_count(u, KCHAN_COUNT_CHANNELS,
			      READ_ONCE(kchan_max_channels_per_user))) {
		kchan_user_put(u);
		return ERR_PTR(-EMFILE);
	}
	return u;
}

/**
 * kchan_user_uncharge_channel() - a channel charged to @u is gone.
 * @u: as returned by kchan_user_charge_channel(), or NULL
 *
 * Context: any process context.
 */
void kchan_user_uncharge_channel(struct kchan_user *u)
{
	if (!u)
		return;
	kchan_user_uncount(u, KCHAN_COUNT_CHANNELS);
	kchan_user_put(u);
}

/**
 * kchan_user_charge_name() - count a new name for the calling task.
 *
 * Context: process context, may sleep.
 * Return: the caller's account, with a reference, for
 * kchan_user_uncharge_name(); ERR_PTR(-ENOSPC) at max_names_per_user,
 * ERR_PTR(-ENOMEM).
 */
struct kchan_user *kchan_user_charge_name(void)
{
	struct kchan_user *u = kchan_user_current(NULL);

	if (!u)
		return ERR_PTR(-ENOMEM);
	if (!kchan_user_count(u, KCHAN_COUNT_NAMES,
			      READ_ONCE(kchan_max_names_per_user))) {
		kchan_user_put(u);
		return ERR_PTR(-ENOSPC);
	}
	return u;
}

/**
 * kchan_user_names() - the names of @u's user, for the share of the
 * device minors (names.c).
 * @u: an account charged with a name
 * @holders: set to the number of users holding names
 *
 * A user here is an account of the initial user namespace: a user
 * namespace's names count toward its owner's there, as all charges do.
 * Both counts change without a lock; a create racing with another may
 * see them a moment late.
 *
 * Return: the names @u's user holds, those being created included.
 */
unsigned int kchan_user_names(struct kchan_user *u, unsigned int *holders)
{
	while (u->parent)
		u = u->parent;
	*holders = max(atomic_read(&kchan_name_holders), 1);
	return max(atomic_read(&u->counts[KCHAN_COUNT_NAMES]), 0);
}

/**
 * kchan_user_uncharge_name() - a name charged to @u is gone.
 * @u: as returned by kchan_user_charge_name(), or NULL
 *
 * Context: any process context.
 */
void kchan_user_uncharge_name(struct kchan_user *u)
{
	if (!u)
		return;
	kchan_user_uncount(u, KCHAN_COUNT_NAMES);
	kchan_user_put(u);
}
