// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: Go channels as file descriptors. Module init and exit only; the
 * channel is in chan.c, its messages in msg.c, sending and receiving in
 * xfer.c, select in select.c (a case set armed on a file in selfd.c), its
 * files in fops.c, the control device and limits in ctl.c, names in
 * names.c, the global view in proc.c.
 */
#include <linux/module.h>

#include "kchan.h"

static int __init kchan_init(void)
{
	int ret;

	ret = kchan_cache_init();
	if (ret)
		return ret;
	ret = kchan_proc_init();
	if (ret)
		goto out_cache;
	ret = kchan_names_init();
	if (ret)
		goto out_proc;
	ret = kchan_ctl_init();
	if (ret)
		goto out_names;
	return 0;

out_names:
	kchan_names_exit();
out_proc:
	kchan_proc_exit();
out_cache:
	kchan_cache_exit();
	return ret;
}

static void __exit kchan_exit(void)
{
	kchan_ctl_exit();
	kchan_names_exit();
	kchan_proc_exit();
	kchan_cache_exit();
}

module_init(kchan_init);
module_exit(kchan_exit);

MODULE_DESCRIPTION("Go channels as file descriptors");
MODULE_LICENSE("GPL");
