// SPDX-License-Identifier: GPL-2.0
/*
 * The global view: /proc/kchan lists every channel, one per line. The
 * list is only walked here and changed at creation and release, so a
 * mutex is enough; each channel's fields are read under its own lock.
 */
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "kchan.h"

static DEFINE_MUTEX(kchan_all_lock);
static LIST_HEAD(kchan_all);

void kchan_list_add(struct kchan *ch)
{
	mutex_lock(&kchan_all_lock);
	list_add_tail(&ch->all, &kchan_all);
	mutex_unlock(&kchan_all_lock);
}

void kchan_list_del(struct kchan *ch)
{
	mutex_lock(&kchan_all_lock);
	list_del(&ch->all);
	mutex_unlock(&kchan_all_lock);
}

static int kchan_proc_show(struct seq_file *m, void *v)
{
	struct kchan_stat st;
	struct kchan *ch;

	seq_puts(m, "id name capacity msg_max queued senders receivers closed sent received\n");
	mutex_lock(&kchan_all_lock);
	list_for_each_entry(ch, &kchan_all, all) {
		memset(&st, 0, sizeof(st));
		kchan_snapshot(ch, &st);
		seq_printf(m, "%llu %s %u %u %u %u %u %u %llu %llu\n",
			   st.id, st.flags & KCHAN_STAT_NAMED ? ch->name : "-",
			   st.capacity, st.msg_max, st.queued, st.senders,
			   st.receivers, !!(st.flags & KCHAN_STAT_CLOSED),
			   st.sent, st.received);
	}
	mutex_unlock(&kchan_all_lock);
	return 0;
}

int kchan_proc_init(void)
{
	return proc_create_single("kchan", 0444, NULL, kchan_proc_show) ?
	       0 : -ENOMEM;
}

void kchan_proc_exit(void)
{
	remove_proc_entry("kchan", NULL);
}
