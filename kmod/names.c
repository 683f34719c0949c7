// SPDX-License-Identifier: GPL-2.0
/*
 * Named channels: a character device /dev/chan/NAME per name (devtmpfs
 * creates it with the owner and mode we give), its sysfs directory
 * /sys/class/chan/NAME, and the name table.
 *
 * DOC: lifetime
 *
 * One cdev serves the whole minor range of the major (registering one
 * per name would put every name on the one list of char device ranges
 * that the kernel keeps per major, walked from the newest on every open
 * and removal: a cost growing with the number of names). A kchan_node
 * embeds the struct device and is found by its minor in kchan_nodes; an
 * open takes a device reference under the xarray's lock, and a file holds
 * the channel rather than the node. The node holds a channel reference,
 * dropped by the device's release. The name table holds the device
 * reference that kchan_name_unlink() drops; kchan_names_lock guards the
 * table and orders creation against removal of the same name.
 *
 * DOC: name table
 *
 * The table is an rhashtable keyed by the node's device name: it grows
 * and shrinks with the number of names (a deferred worker rehashes it),
 * so a lookup stays O(1) at any count, where a fixed table of buckets
 * made every create and unlink walk a chain as long as names/buckets.
 * Its hash is seeded at random and again at each rehash, so names made
 * to collide cannot lengthen a chain at will. It is looked up, added to
 * and removed from only under kchan_names_lock (an open finds its node
 * by minor, in kchan_nodes), so no lookup races with the removal of the
 * node it finds; the table's own bucket locks and RCU order those
 * changes against its rehash worker. Every node in the table is in
 * kchan_nodes too, which is what module unload walks.
 */
#include <linux/cdev.h>
#include <linux/cred.h>
#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/idr.h>
#include <linux/jhash.h>
#include <linux/module.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "compat.h"
#include "kchan.h"

/*
 * DOC: device minors
 *
 * The minors are 0 .. max_minors - 1 (the pool; by default the whole
 * minor range of the major), handed out cyclically, so that a minor freed
 * by a removed name is the last of the pool to be used again. A user may
 * hold max_names_per_user names (ENOSPC beyond, user.c), so exhausting
 * the default pool takes 4096 users at the default limit.
 *
 * A minor that comes round again must not lead the node of a removed
 * name to the channel that now holds it: such a node may still be open
 * (an O_PATH descriptor, reopened through /proc/self/fd), and its inode
 * names only the minor. devtmpfs unlinks it when the name goes, and
 * kchan_name_open() refuses an inode that no directory links to.
 *
 * So that a few users cannot exhaust it for the others, the last eighth
 * of the pool (the reserve) goes only to a user holding fewer names than
 * its share, max_minors / (users holding names + 1): the users holding
 * names share the pool with one more, who may come. A user alone can
 * thus fill the pool up to the reserve but not take it; the next user
 * still gets minors from the reserve, and a user at or over its share
 * gets ENOSPC while minors are still free. Once the reserve is gone too,
 * every create fails with ENOSPC until names are removed.
 */
#define KCHAN_MINORS	(MINORMASK + 1)

struct kchan_node {
	struct device dev;
	struct kchan *ch;
	struct kchan_user *user;	/* the name is counted there */
	struct rhash_head hash;		/* on kchan_names */
	kuid_t uid;
	kgid_t gid;
	umode_t mode;			/* permission bits, umask applied */
	bool unlinked;
	char *spare_path;		/* see kchan_node_devnode() */
};

static DEFINE_MUTEX(kchan_names_lock);
static struct rhashtable kchan_names;	/* name -> node, DOC: name table */
static DEFINE_IDA(kchan_minors);
static DEFINE_XARRAY(kchan_nodes);	/* minor -> node, while named */
/*
 * All the minors. Allocated, not static: its kobject's last release may
 * come after the module's memory is gone (CONFIG_DEBUG_KOBJECT_RELEASE
 * delays it), and the release of an allocated cdev is the kernel's own.
 */
static struct cdev *kchan_cdev;
static DEFINE_SPINLOCK(kchan_minor_lock);
static unsigned int kchan_minor_next;	/* where the next search starts */
static unsigned int kchan_minors_used;	/* of max_minors */
static dev_t kchan_devt;
static struct class *kchan_class;
static atomic_t kchan_nodes_live = ATOMIC_INIT(0);

static struct kchan_node *to_node(KCHAN_DEVNODE_CONST struct device *dev)
{
	return container_of(dev, struct kchan_node, dev);
}

static u32 kchan_name_hashfn(const void *name, u32 len, u32 seed)
{
	return jhash(name, strlen(name), seed);
}

static u32 kchan_node_hashfn(const void *obj, u32 len, u32 seed)
{
	const struct kchan_node *node = obj;

	return kchan_name_hashfn(dev_name(&node->dev), len, seed);
}

/* 0 if @obj is the node named @arg->key, as rhashtable wants it. */
static int kchan_node_cmpfn(struct rhashtable_compare_arg *arg,
			    const void *obj)
{
	const struct kchan_node *node = obj;

	return strcmp(dev_name(&node->dev), arg->key);
}

static const struct rhashtable_params kchan_names_params = {
	.head_offset		= offsetof(struct kchan_node, hash),
	.hashfn			= kchan_name_hashfn,
	.obj_hashfn		= kchan_node_hashfn,
	.obj_cmpfn		= kchan_node_cmpfn,
	.automatic_shrinking	= true,
};

/**
 * kchan_name_valid() - 1..KCHAN_NAME_MAX of [A-Za-z0-9._-], not . or ..
 * @name: a buffer of @size bytes that must hold the NUL
 * @size: its size
 *
 * Return: true if @name may name a channel.
 */
bool kchan_name_valid(const char *name, size_t size)
{
	size_t i, len = strnlen(name, size);

	if (!len || len == size || len > KCHAN_NAME_MAX)
		return false;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
}

static struct kchan_node *kchan_name_find(const char *name)
{
	lockdep_assert_held(&kchan_names_lock);
	return rhashtable_lookup_fast(&kchan_names, name, kchan_names_params);
}

/*
 * May the current task access the channel in @mask's ways (MAY_READ,
 * MAY_WRITE), by the owner, group and mode it was created with? These are
 * generic_permission()'s rules, applied to what the node recorded rather
 * than to an inode: the owner's bits for the owner, else the group's for
 * a member, else the others'; CAP_DAC_OVERRIDE passes anything and
 * CAP_DAC_READ_SEARCH a read, if the owner and group are mapped in the
 * caller's user namespace.
 */
static bool kchan_node_permitted(const struct kchan_node *node, int mask)
{
	struct user_namespace *ns = current_user_ns();
	unsigned int mode = node->mode;

	mask &= MAY_READ | MAY_WRITE;
	if (uid_eq(current_fsuid(), node->uid))
		mode >>= 6;
	else if (in_group_p(node->gid))
		mode >>= 3;
	if (!(mask & ~mode))
		return true;
	if (!kuid_has_mapping(ns, node->uid) ||
	    !kgid_has_mapping(ns, node->gid))
		return false;
	if (ns_capable(ns, CAP_DAC_OVERRIDE))
		return true;
	return mask == MAY_READ && ns_capable(ns, CAP_DAC_READ_SEARCH);
}

/*
 * sysfs: one file per field of struct kchan_stat. The files are 0444
 * and root's, as sysfs makes them; reading one is allowed to those who
 * may read the channel itself (kchan_node_permitted()), -EACCES to
 * others, so a 0600 channel's counters are its owner's.
 */
#define KCHAN_ATTR(field, fmt, expr)					\
static ssize_t field##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct kchan_stat st = { 0 };					\
									\
	if (!kchan_node_permitted(to_node(dev), MAY_READ))		\
		return -EACCES;						\
	kchan_snapshot(to_node(dev)->ch, &st);				\
	return sysfs_emit(buf, fmt "\n", expr);				\
}									\
static DEVICE_ATTR_RO(field)

KCHAN_ATTR(id, "%llu", st.id);
KCHAN_ATTR(capacity, "%u", st.capacity);
KCHAN_ATTR(msg_max, "%u", st.msg_max);
KCHAN_ATTR(queued, "%u", st.queued);
KCHAN_ATTR(senders, "%u", st.senders);
KCHAN_ATTR(receivers, "%u", st.receivers);
KCHAN_ATTR(closed, "%u", !!(st.flags & KCHAN_STAT_CLOSED));
KCHAN_ATTR(sent, "%llu", st.sent);
KCHAN_ATTR(received, "%llu", st.received);

static struct attribute *kchan_node_attrs[] = {
	&dev_attr_id.attr,
	&dev_attr_capacity.attr,
	&dev_attr_msg_max.attr,
	&dev_attr_queued.attr,
	&dev_attr_senders.attr,
	&dev_attr_receivers.attr,
	&dev_attr_closed.attr,
	&dev_attr_sent.attr,
	&dev_attr_received.attr,
	NULL,
};
ATTRIBUTE_GROUPS(kchan_node);

static char *kchan_node_path(const char *name, gfp_t gfp)
{
	return kasprintf(gfp, "chan/%s", name);
}

/*
 * devtmpfs asks for the path when it creates the node and again when it
 * removes it, and cannot report a failure either time: a NULL here makes
 * it fall back to the bare device name, creating /dev/NAME, or leaving
 * /dev/chan/NAME behind after the name is gone. So when the allocation
 * fails, the node's spare path is handed out instead: one is made when
 * the name is created and again (if used up) before it is removed, where
 * a failure can be reported, so that the node's creation and removal
 * find one (unless a reader of its uevent file, whose allocation failed
 * too, took it in between).
 *
 * The mode carries S_IFCHR so that a mode of 0 (a umask of 0777) stays
 * 0 rather than being taken for "none given", which devtmpfs makes 0600.
 */
static char *kchan_node_devnode(KCHAN_DEVNODE_CONST struct device *dev,
				umode_t *mode, kuid_t *uid, kgid_t *gid)
{
	struct kchan_node *node = to_node(dev);
	char *path;

	if (mode)
		*mode = S_IFCHR | node->mode;
	if (uid)
		*uid = node->uid;
	if (gid)
		*gid = node->gid;
	path = kchan_node_path(dev_name(dev), GFP_KERNEL);
	if (!path)
		path = xchg(&node->spare_path, NULL);
	return path;
}

/*
 * One minor of the pool for @user, which is charged with the name being
 * created, or -ENOSPC: see DOC: device minors.
 */
static int kchan_minor_take(struct kchan_user *user)
{
	unsigned int pool = READ_ONCE(kchan_max_minors);
	unsigned int held, holders, share;
	int ret = 0;

	/* Not counting the name being created. */
	held = kchan_user_names(user, &holders);
	held = held ? held - 1 : 0;
	share = pool / (holders + 1);
	spin_lock(&kchan_minor_lock);
	if (kchan_minors_used >= pool ||
	    (pool - kchan_minors_used <= pool / 8 && held >= share))
		ret = -ENOSPC;
	else
		kchan_minors_used++;
	spin_unlock(&kchan_minor_lock);
	return ret;
}

static void kchan_minor_give(void)
{
	spin_lock(&kchan_minor_lock);
	kchan_minors_used--;
	spin_unlock(&kchan_minor_lock);
}

/*
 * The first free minor of the pool from kchan_minor_next on, wrapping
 * around: a minor is reused only after every other one of the pool was.
 * Returns it, -ENOSPC, -ENOMEM.
 */
static int kchan_minor_alloc(struct kchan_user *user)
{
	unsigned int pool = READ_ONCE(kchan_max_minors);
	unsigned int start;
	int minor;

	minor = kchan_minor_take(user);
	if (minor)
		return minor;
	spin_lock(&kchan_minor_lock);
	start = kchan_minor_next;
	spin_unlock(&kchan_minor_lock);
	minor = ida_alloc_range(&kchan_minors, start, pool - 1, GFP_KERNEL);
	if (minor == -ENOSPC && start)
		minor = ida_alloc_range(&kchan_minors, 0, start - 1,
					GFP_KERNEL);
	if (minor < 0) {
		kchan_minor_give();
		return minor;
	}
	spin_lock(&kchan_minor_lock);
	kchan_minor_next = (minor + 1) % pool;
	spin_unlock(&kchan_minor_lock);
	return minor;
}

/* Give back a minor of kchan_minor_alloc(). */
static void kchan_minor_free(int minor)
{
	ida_free(&kchan_minors, minor);
	kchan_minor_give();
}

static void kchan_node_release(struct device *dev)
{
	struct kchan_node *node = to_node(dev);

	kfree(node->spare_path);
	kchan_user_uncharge_name(node->user);
	kchan_minor_free(MINOR(dev->devt));
	kchan_put(node->ch);
	kfree(node);
	if (atomic_dec_and_test(&kchan_nodes_live))
		wake_up_var(&kchan_nodes_live);
}

static const struct device_type kchan_node_type = {
	.name		= "kchan",
	.groups		= kchan_node_groups,
	.devnode	= kchan_node_devnode,
	.release	= kchan_node_release,
};

/**
 * kchan_name_create() - give @ch the name @name: /dev/chan/NAME.
 * @ch: the channel; the name takes its own reference
 * @name: a valid name (kchan_name_valid())
 * @mode: permission bits of the node, 0 for 0600
 *
 * The node is owned by the caller's fsuid and fsgid, and its mode is
 * @mode less the caller's umask, as open(O_CREAT) and mq_open() make it.
 * Opening it applies that owner, group and mode (kchan_name_open()).
 * The name counts toward the max_names_per_user of the caller's user
 * (user.c).
 *
 * Context: process context, may sleep; takes kchan_names_lock.
 * Return: 0, -EEXIST, -ENOSPC when the user has all its names or no
 * minor is left, -ENOMEM.
 */
int kchan_name_create(struct kchan *ch, const char *name, umode_t mode)
{
	struct kchan_user *user;
	struct kchan_node *node;
	int minor, ret;

	user = kchan_user_charge_name();
	if (IS_ERR(user))
		return PTR_ERR(user);
	node = kzalloc(sizeof(*node), GFP_KERNEL_ACCOUNT);
	if (!node) {
		kchan_user_uncharge_name(user);
		return -ENOMEM;
	}
	minor = kchan_minor_alloc(user);
	if (minor < 0) {
		kfree(node);
		kchan_user_uncharge_name(user);
		return minor == -ENOMEM ? -ENOMEM : -ENOSPC;
	}
	node->user = user;

	node->uid = current_fsuid();
	node->gid = current_fsgid();
	node->mode = (mode ? mode : 0600) & ~current_umask();
	node->ch = ch;
	kchan_get(ch);
	atomic_inc(&kchan_nodes_live);
	device_initialize(&node->dev);
	/*
	 * A channel has no power state: without this, every name would
	 * carry a power/ directory of runtime PM files in sysfs, made and
	 * removed with it (a third of the kernel functions that a create
	 * and an unlink call).
	 */
	device_set_pm_not_required(&node->dev);
	node->dev.class = kchan_class;
	node->dev.type = &kchan_node_type;
	node->dev.devt = MKDEV(MAJOR(kchan_devt), minor);
	ret = dev_set_name(&node->dev, "%s", name);
	if (ret)
		goto out_put;
	node->spare_path = kchan_node_path(name, GFP_KERNEL_ACCOUNT);
	if (!node->spare_path) {
		ret = -ENOMEM;
		goto out_put;
	}

	mutex_lock(&kchan_names_lock);
	/*
	 * Into the table first, where only holders of kchan_names_lock
	 * look: its insert is what can fail for the name itself (-EEXIST)
	 * and, out of memory, is undone more simply than device_add().
	 */
	ret = rhashtable_lookup_insert_key(&kchan_names, name, &node->hash,
					   kchan_names_params);
	if (ret) {
		/* -EBUSY: a rehash under way could not take one more. */
		if (ret != -EEXIST)
			ret = -ENOMEM;
		goto out_unlock;
	}
	ret = xa_err(xa_store(&kchan_nodes, minor, node, GFP_KERNEL));
	if (ret)
		goto out_unhash;
	ret = device_add(&node->dev);
	if (ret)
		goto out_erase;
	spin_lock(&ch->lock);
	ch->node = node;
	spin_unlock(&ch->lock);
	mutex_unlock(&kchan_names_lock);
	return 0;

out_erase:
	xa_erase(&kchan_nodes, minor);
out_unhash:
	rhashtable_remove_fast(&kchan_names, &node->hash, kchan_names_params);
out_unlock:
	mutex_unlock(&kchan_names_lock);
out_put:
	put_device(&node->dev);
	return ret;
}

/* A spare path for the removal, if a devnode call used it up. */
static int kchan_node_spare(struct kchan_node *node)
{
	char *path;

	if (READ_ONCE(node->spare_path))
		return 0;
	path = kchan_node_path(dev_name(&node->dev), GFP_KERNEL);
	if (!path)
		return -ENOMEM;
	if (cmpxchg(&node->spare_path, NULL, path))
		kfree(path);
	return 0;
}

static void kchan_node_remove(struct kchan_node *node)
{
	struct kchan *ch = node->ch;

	lockdep_assert_held(&kchan_names_lock);
	rhashtable_remove_fast(&kchan_names, &node->hash, kchan_names_params);
	WRITE_ONCE(node->unlinked, true);
	spin_lock(&ch->lock);
	ch->node = NULL;
	spin_unlock(&ch->lock);
	xa_erase(&kchan_nodes, MINOR(node->dev.devt));
	device_del(&node->dev);
	put_device(&node->dev);
}

/**
 * kchan_name_unlink() - remove a name, like unlink(2).
 * @name: a valid name
 *
 * Open files keep working; the channel goes with its last reference.
 *
 * Context: process context, may sleep; takes kchan_names_lock.
 * Return: 0, -ENOENT, -EPERM unless the caller owns the channel or has
 * CAP_SYS_ADMIN, or -ENOMEM (the name stays).
 */
int kchan_name_unlink(const char *name)
{
	struct kchan_node *node;
	int ret = 0;

	mutex_lock(&kchan_names_lock);
	node = kchan_name_find(name);
	if (!node)
		ret = -ENOENT;
	else if (!uid_eq(current_fsuid(), node->uid) &&
		 !capable(CAP_SYS_ADMIN))
		ret = -EPERM;
	else
		ret = kchan_node_spare(node);
	if (!ret)
		kchan_node_remove(node);
	mutex_unlock(&kchan_names_lock);
	return ret;
}

/**
 * kchan_name_copy() - @ch's name, or "-" when it has none (any more).
 * @ch: the channel
 * @buf: where to write it
 * @size: the size of @buf
 *
 * The name is the node's device name: the node stays while ch->node
 * points to it (kchan_node_remove() clears it before the last put).
 *
 * Context: any; takes @ch's lock.
 */
void kchan_name_copy(struct kchan *ch, char *buf, size_t size)
{
	spin_lock(&ch->lock);
	strscpy(buf, ch->node ? dev_name(&ch->node->dev) : "-", size);
	spin_unlock(&ch->lock);
}

/**
 * kchan_name_open() - the channel behind a /dev/chan/NAME inode.
 * @inode: the inode being opened, of a minor of the chan major
 * @file: the file being opened
 *
 * The inode's permissions were checked by the VFS, but the inode may be
 * another than the one devtmpfs made (a node made with mknod elsewhere,
 * or one left behind in a /dev that devtmpfs does not manage), with
 * another owner or mode. So the owner, group and mode the channel was
 * created with are checked too, by the same rules.
 *
 * An inode that no directory links to any more (the node of a removed
 * name, reopened through /proc/self/fd) is refused: its minor may have
 * gone to another channel since (DOC: device minors).
 *
 * Context: process context; takes the lock of kchan_nodes.
 * Return: the channel with a new reference, ERR_PTR(-ENOENT) once the
 * name or the node was removed, or ERR_PTR(-EACCES) if the channel's own
 * owner and mode do not allow the access @file asks for.
 */
struct kchan *kchan_name_open(struct inode *inode, struct file *file)
{
	struct kchan_node *node;
	struct kchan *ch;

	xa_lock(&kchan_nodes);
	node = xa_load(&kchan_nodes, iminor(inode));
	if (node)
		get_device(&node->dev);
	xa_unlock(&kchan_nodes);
	/*
	 * Looked at after the lookup: a minor goes to a new node only once
	 * the old node was released, after devtmpfs unlinked its inode; so
	 * an inode still linked here did not find another name's node.
	 * Unlinked under us, the open may go either way, as for a file.
	 */
	if (!node || READ_ONCE(node->unlinked) || !READ_ONCE(inode->i_nlink))
		ch = ERR_PTR(-ENOENT);
	else if (!kchan_node_permitted(node, ACC_MODE(file->f_flags)))
		ch = ERR_PTR(-EACCES);
	else
		ch = node->ch;
	if (!IS_ERR(ch))
		kchan_get(ch);
	if (node)
		put_device(&node->dev);
	return ch;
}

int kchan_names_init(void)
{
	int ret;

	ret = rhashtable_init(&kchan_names, &kchan_names_params);
	if (ret)
		return ret;
	ret = alloc_chrdev_region(&kchan_devt, 0, KCHAN_MINORS, "chan");
	if (ret)
		goto out_table;
	kchan_cdev = cdev_alloc();
	if (!kchan_cdev) {
		ret = -ENOMEM;
		goto out_region;
	}
	kchan_cdev->ops = &kchan_fops;
	kchan_cdev->owner = THIS_MODULE;
	ret = cdev_add(kchan_cdev, kchan_devt, KCHAN_MINORS);
	if (ret) {
		kobject_put(&kchan_cdev->kobj);
		goto out_region;
	}
	kchan_class = kchan_class_create("chan");
	if (IS_ERR(kchan_class)) {
		ret = PTR_ERR(kchan_class);
		goto out_cdev;
	}
	return 0;

out_cdev:
	cdev_del(kchan_cdev);
out_region:
	unregister_chrdev_region(kchan_devt, KCHAN_MINORS);
out_table:
	rhashtable_destroy(&kchan_names);
	return ret;
}

/* Unloading destroys the channels that only a name kept alive. */
void kchan_names_exit(void)
{
	struct kchan_node *node;
	unsigned long minor;

	mutex_lock(&kchan_names_lock);
	/* Every named node is in kchan_nodes (DOC: name table). */
	xa_for_each(&kchan_nodes, minor, node) {
		/* Out of memory here, the node may be left in /dev/chan. */
		kchan_node_spare(node);
		kchan_node_remove(node);
	}
	mutex_unlock(&kchan_names_lock);
	wait_var_event(&kchan_nodes_live, !atomic_read(&kchan_nodes_live));
	class_destroy(kchan_class);
	cdev_del(kchan_cdev);
	unregister_chrdev_region(kchan_devt, KCHAN_MINORS);
	rhashtable_destroy(&kchan_names);
}
