// SPDX-License-Identifier: GPL-2.0
/*
 * The control device /dev/chanctl: creates channels (anonymous or named),
 * removes names, selects, makes select files, and reports the interface
 * version. Also the module's
 * limits; the per-user accounts they bound are in user.c.
 */
#include <linux/cred.h>
#include <linux/fcntl.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kchan.h"

/* Hard ceilings: a module parameter above one refuses to load. */
#define KCHAN_CEIL_CAPACITY		(1U << 20)
#define KCHAN_CEIL_MSG_SIZE		(4U << 20)
#define KCHAN_CEIL_CHANNELS_PER_USER	(1U << 20)
#define KCHAN_CEIL_SELECT_CASES		(1U << 16)
#define KCHAN_CEIL_BYTES_PER_USER	(1UL << 40)
#define KCHAN_CEIL_NAMES_PER_USER	(1U << 16)
#define KCHAN_CEIL_MINORS		(1U << MINORBITS)

/*
 * Each limit is checked as insmod parses it: a value out of range, or
 * not a number, fails the load with EINVAL before the module exists
 * anywhere (no sysfs directory to tear down, no init to undo), and the
 * kernel log names the parameter ("kchan: 'V' invalid for parameter 'P'").
 */
static int kchan_param_parse(const char *val, unsigned long lo,
			     unsigned long hi, unsigned long *n)
{
	if (!val || kstrtoul(val, 0, n) || *n < lo || *n > hi)
		return -EINVAL;
	return 0;
}

#define KCHAN_LIMIT(name, var, type, lo, hi)				\
static int kchan_set_##name(const char *val,				\
			    const struct kernel_param *kp)		\
{									\
	unsigned long n;						\
	int ret = kchan_param_parse(val, lo, hi, &n);			\
									\
	if (!ret)							\
		*(type *)kp->arg = n;					\
	return ret;							\
}									\
static const struct kernel_param_ops kchan_##name##_ops = {		\
	.set = kchan_set_##name,					\
	.get = param_get_##type,					\
};									\
module_param_cb(name, &kchan_##name##_ops, &var, 0444)

unsigned int kchan_max_capacity = 65536;
KCHAN_LIMIT(max_capacity, kchan_max_capacity, uint, 0, KCHAN_CEIL_CAPACITY);
MODULE_PARM_DESC(max_capacity, "largest channel capacity (messages)");

unsigned int kchan_max_msg_size = 65536;
KCHAN_LIMIT(max_msg_size, kchan_max_msg_size, uint, 1, KCHAN_CEIL_MSG_SIZE);
MODULE_PARM_DESC(max_msg_size, "largest msg_max (bytes)");

unsigned int kchan_max_channels_per_user = 4096;
KCHAN_LIMIT(max_channels_per_user, kchan_max_channels_per_user, uint, 0,
	    KCHAN_CEIL_CHANNELS_PER_USER);
MODULE_PARM_DESC(max_channels_per_user, "channels one user may own");

/*
 * Kernel memory one user may hold in messages and select case sets: as
 * much as pipe-user-pages-soft lets a user hold in pipe buffers (16384
 * pages, 64 MiB). See README.md for the reasoning.
 */
unsigned long kchan_max_bytes_per_user = 64UL << 20;
KCHAN_LIMIT(max_bytes_per_user, kchan_max_bytes_per_user, ulong, 0,
	    KCHAN_CEIL_BYTES_PER_USER);
MODULE_PARM_DESC(max_bytes_per_user,
		 "bytes of messages and select cases one user may hold");

unsigned int kchan_max_names_per_user = 256;
KCHAN_LIMIT(max_names_per_user, kchan_max_names_per_user, uint, 0,
	    KCHAN_CEIL_NAMES_PER_USER);
MODULE_PARM_DESC(max_names_per_user, "named channels one user may own");

/* The device minors of named channels, all users together (names.c). */
unsigned int kchan_max_minors = KCHAN_CEIL_MINORS;
KCHAN_LIMIT(max_minors, kchan_max_minors, uint, 1, KCHAN_CEIL_MINORS);
MODULE_PARM_DESC(max_minors, "named channels of all users together");

unsigned int kchan_max_select_cases = 1024;
KCHAN_LIMIT(max_select_cases, kchan_max_select_cases, uint, 256,
	    KCHAN_CEIL_SELECT_CASES);
MODULE_PARM_DESC(max_select_cases, "most cases in one select");

/**
 * kchan_version_ioctl() - copy struct kchan_version to user space.
 * @arg: user pointer
 *
 * Context: process context.
 * Return: 0 or -EFAULT.
 */
long kchan_version_ioctl(void __user *arg)
{
	struct kchan_version v = {
		.version = KCHAN_VERSION,
		.features = KCHAN_FEATURE_NAMED | KCHAN_FEATURE_AUTOCLOSE |
			    KCHAN_FEATURE_NEXT_LEN | KCHAN_FEATURE_SELECT |
			    KCHAN_FEATURE_BATCH | KCHAN_FEATURE_BUDGET |
			    KCHAN_FEATURE_CHANS | KCHAN_FEATURE_SEL_WATCH |
			    KCHAN_FEATURE_SELECT_PERSIST,
		.max_capacity = kchan_max_capacity,
		.max_msg_size = kchan_max_msg_size,
		.max_channels_per_user = kchan_max_channels_per_user,
		.max_select_cases = kchan_max_select_cases,
		.max_names_per_user = kchan_max_names_per_user,
		.max_bytes_per_user = kchan_max_bytes_per_user,
		.user_bytes = kchan_user_bytes(),
	};

	return copy_to_user(arg, &v, sizeof(v)) ? -EFAULT : 0;
}

static int kchan_create_check(const struct kchan_create *req)
{
	bool named = req->name[0];

	if (req->flags & ~KCHAN_CREATE_ALL)
		return -EINVAL;
	if (req->reserved0 || req->reserved[0] || req->reserved[1])
		return -EINVAL;
	if (req->capacity > kchan_max_capacity)
		return -EINVAL;
	if (!req->msg_max || req->msg_max > kchan_max_msg_size)
		return -EINVAL;
	if (named && (req->fd_flags || (req->mode & ~0777) ||
		      !kchan_name_valid(req->name, sizeof(req->name))))
		return -EINVAL;
	if (!named && (req->mode || (req->fd_flags & ~(O_CLOEXEC | O_NONBLOCK))))
		return -EINVAL;
	return 0;
}

static long kchan_ctl_create(struct kchan_create __user *ureq)
{
	struct kchan_create req;
	struct kchan_user *user;
	struct kchan *ch;
	int ret;

	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	ret = kchan_create_check(&req);
	if (ret)
		return ret;

	user = kchan_user_charge_channel();
	if (IS_ERR(user))
		return PTR_ERR(user);
	ch = kchan_alloc(req.capacity, req.msg_max, req.flags);
	if (!ch) {
		kchan_user_uncharge_channel(user);
		return -ENOMEM;
	}
	ch->user = user;

	if (req.name[0]) {
		ret = kchan_name_create(ch, req.name, req.mode);
		kchan_put(ch);
		return ret;
	}
	ret = kchan_install_fd(ch, req.fd_flags);
	if (ret < 0)
		kchan_put(ch);
	return ret;
}

static long kchan_ctl_unlink(struct kchan_name __user *ureq)
{
	struct kchan_name req;

	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	if (req.reserved || !kchan_name_valid(req.name, sizeof(req.name)))
		return -EINVAL;
	return kchan_name_unlink(req.name);
}

static long kchan_ctl_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KCHAN_IOC_VERSION:
		return kchan_version_ioctl(uarg);
	case KCHAN_CTL_CREATE:
		return kchan_ctl_create(uarg);
	case KCHAN_CTL_UNLINK:
		return kchan_ctl_unlink(uarg);
	case KCHAN_CTL_SELECT:
		return kchan_select_ioctl(uarg,
					  (struct kchan_sel **)&file->private_data);
	case KCHAN_CTL_SELECT_FD:
		return kchan_selfd_create(arg);
	default:
		return -ENOTTY;
	}
}

/*
 * A control file's private_data is the slot where a select keeps its
 * allocation for the next one (select.c); the misc core's pointer to the
 * device is not needed.
 */
static int kchan_ctl_open(struct inode *inode, struct file *file)
{
	file->private_data = NULL;
	return 0;
}

static int kchan_ctl_release(struct inode *inode, struct file *file)
{
	kchan_sel_spare_free(file->private_data);
	return 0;
}

static const struct file_operations kchan_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= kchan_ctl_open,
	.release	= kchan_ctl_release,
	.unlocked_ioctl	= kchan_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice kchan_ctl_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "chanctl",
	.fops	= &kchan_ctl_fops,
	.mode	= 0666,
};

int kchan_ctl_init(void)
{
	return misc_register(&kchan_ctl_dev);
}

void kchan_ctl_exit(void)
{
	misc_deregister(&kchan_ctl_dev);
}
