/* SPDX-License-Identifier: GPL-2.0 */
/* What the parts of the module offer each other. */
#ifndef KCHAN_KCHAN_H
#define KCHAN_KCHAN_H

#include <linux/fs.h>
#include <linux/uidgid.h>
#include "chan.h"

/* ctl.c: the control device, limits, per-user accounting */
extern unsigned int kchan_max_capacity;
extern unsigned int kchan_max_msg_size;
extern unsigned int kchan_max_channels_per_user;
extern unsigned int kchan_max_select_cases;
extern unsigned long kchan_max_bytes_per_user;
extern unsigned int kchan_max_names_per_user;
extern unsigned int kchan_max_minors;
int kchan_ctl_init(void);
void kchan_ctl_exit(void);
long kchan_version_ioctl(void __user *arg);

/* user.c: per-user accounts (channels, names, bytes) */
struct kchan_user *kchan_user_current(struct kchan_user *hint);
bool kchan_user_is_current(const struct kchan_user *u);
struct kchan_user *kchan_user_hold(struct kchan_user *u);
void kchan_user_put(struct kchan_user *u);
void kchan_user_hold_n(struct kchan_user *u, unsigned int n);
void kchan_user_put_n(struct kchan_user *u, unsigned int n);
int kchan_user_charge_bytes(struct kchan_user *u, size_t bytes);
bool kchan_user_try_charge_bytes(struct kchan_user *u, size_t bytes);
void kchan_user_uncharge_bytes(struct kchan_user *u, size_t bytes);
u64 kchan_user_bytes(void);
struct kchan_user *kchan_user_charge_channel(void);
void kchan_user_uncharge_channel(struct kchan_user *u);
struct kchan_user *kchan_user_charge_name(void);
void kchan_user_uncharge_name(struct kchan_user *u);
unsigned int kchan_user_names(struct kchan_user *u, unsigned int *holders);

/* select.c: select over many channels; selfd.c: armed on a file */
struct kchan_sel;
long kchan_select_ioctl(struct kchan_select __user *ureq,
			struct kchan_sel **spare);
void kchan_sel_spare_free(struct kchan_sel *spare);
long kchan_selfd_create(unsigned long fd_flags);
bool kchan_is_selfd(const struct file *file);

/* batch.c: many messages per call */
long kchan_batch_ioctl(struct file *file, unsigned int cmd,
		       const struct kchan_batch __user *ureq);

/* fops.c: channel files */
extern const struct file_operations kchan_fops;
int kchan_install_fd(struct kchan *ch, unsigned int fd_flags);
struct file *kchan_file_new(struct kchan *ch, unsigned int flags);

/* names.c: named channels, /dev/chan/NAME and /sys/class/chan/NAME */
int kchan_names_init(void);
void kchan_names_exit(void);
bool kchan_name_valid(const char *name, size_t size);
int kchan_name_create(struct kchan *ch, const char *name, umode_t mode);
int kchan_name_unlink(const char *name);
struct kchan *kchan_name_open(struct inode *inode, struct file *file);
void kchan_name_copy(struct kchan *ch, char *buf, size_t size);

/* proc.c: the global view, /proc/kchan */
int kchan_list_add(struct kchan *ch);
void kchan_list_del(struct kchan *ch);
int kchan_proc_init(void);
void kchan_proc_exit(void);

#endif /* KCHAN_KCHAN_H */
