// SPDX-License-Identifier: GPL-2.0
/*
 * The global view: /proc/kchan, one line per channel.
 *
 * DOC: who sees what
 *
 * The file is not namespaced and readable by all, so a reader sees only
 * the channels it owns: those whose owner, the fsuid of the task that
 * created them, named or anonymous (kchan.owner), is the fsuid of the
 * task that opened the file. With CAP_SYS_ADMIN in the initial user
 * namespace it sees all. Both are decided by the opener's credentials,
 * as for any file: a descriptor handed on shows what its opener saw.
 *
 * DOC: walking without stalling creates
 *
 * Channels are kept in an xarray indexed by id. Ids only grow, so index
 * order is creation order and a reader's position is an id. Each step
 * takes the xarray's lock only to find the next channel at or after that
 * id and copy its line's fields (kchan_snapshot(), under the channel's
 * own lock, nested inside the xarray's); nothing is held between steps.
 * Creation and release, which insert and erase under the same lock, wait
 * for one step at most, however long the list or slow the reader. A
 * channel made while a reader is part-way through has an id past the
 * reader's position and is listed; one released meanwhile is listed only
 * if the reader got to it first.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/xarray.h>

#include "kchan.h"

/*
 * The index is the id. Where unsigned long is 32 bits it wraps after
 * 2^32 creations, and a create whose index is still in use fails.
 */
static DEFINE_XARRAY(kchan_all);

/**
 * kchan_list_add() - list a new channel in /proc/kchan.
 * @ch: the channel, its id and owner set
 *
 * Context: process context, may sleep.
 * Return: 0, or -ENOMEM (-EBUSY if its index is taken, see above).
 */
int kchan_list_add(struct kchan *ch)
{
	return xa_insert(&kchan_all, ch->id, ch, GFP_KERNEL_ACCOUNT);
}

/**
 * kchan_list_del() - take a channel off /proc/kchan, before it is freed.
 * @ch: the channel
 *
 * Context: any process context; takes the list's lock.
 */
void kchan_list_del(struct kchan *ch)
{
	xa_erase(&kchan_all, ch->id);
}

struct kchan_proc_iter {
	bool all;			/* the opener has CAP_SYS_ADMIN */
	kuid_t fsuid;			/* the opener's */
	struct kchan_stat st;		/* the line being shown */
	char name[KCHAN_NAME_SIZE];
};

/*
 * The first channel the reader may see with an id of at least *pos,
 * copied into the iterator; NULL at the end. The lock is dropped after
 * each channel looked at, those skipped included.
 */
static void *kchan_proc_find(struct seq_file *m, loff_t *pos)
{
	struct kchan_proc_iter *it = m->private;
	unsigned long index = *pos;
	struct kchan *ch;
	bool shown;

	for (;;) {
		xa_lock(&kchan_all);
		ch = xa_find(&kchan_all, &index, ULONG_MAX, XA_PRESENT);
		shown = ch && (it->all || uid_eq(ch->owner, it->fsuid));
		if (shown) {
			memset(&it->st, 0, sizeof(it->st));
			kchan_snapshot(ch, &it->st);
			kchan_name_copy(ch, it->name, sizeof(it->name));
		}
		xa_unlock(&kchan_all);
		if (!ch)
			return NULL;
		if (shown)
			return it;
		if (index == ULONG_MAX)
			return NULL;
		index++;
		cond_resched();
	}
}

/* Position 0 is the header; then a channel's position is its id. */
static void *kchan_proc_start(struct seq_file *m, loff_t *pos)
{
	if (!*pos)
		return SEQ_START_TOKEN;
	return kchan_proc_find(m, pos);
}

static void *kchan_proc_next(struct seq_file *m, void *v, loff_t *pos)
{
	struct kchan_proc_iter *it = m->private;

	*pos = v == SEQ_START_TOKEN ? 1 : it->st.id + 1;
	return kchan_proc_find(m, pos);
}

static void kchan_proc_stop(struct seq_file *m, void *v)
{
}

static int kchan_proc_show(struct seq_file *m, void *v)
{
	struct kchan_proc_iter *it = m->private;
	const struct kchan_stat *st = &it->st;

	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "id name capacity msg_max queued senders receivers closed sent received\n");
		return 0;
	}
	seq_printf(m, "%llu %s %u %u %u %u %u %u %llu %llu\n",
		   st->id, it->name, st->capacity, st->msg_max, st->queued,
		   st->senders, st->receivers,
		   !!(st->flags & KCHAN_STAT_CLOSED), st->sent, st->received);
	return 0;
}

static const struct seq_operations kchan_proc_seq_ops = {
	.start	= kchan_proc_start,
	.next	= kchan_proc_next,
	.stop	= kchan_proc_stop,
	.show	= kchan_proc_show,
};

static int kchan_proc_open(struct inode *inode, struct file *file)
{
	struct kchan_proc_iter *it;

	it = __seq_open_private(file, &kchan_proc_seq_ops, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->all = file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN);
	it->fsuid = file->f_cred->fsuid;
	return 0;
}

static const struct proc_ops kchan_proc_ops = {
	.proc_open	= kchan_proc_open,
	.proc_read_iter	= seq_read_iter,
	.proc_lseek	= seq_lseek,
	.proc_release	= seq_release_private,
};

int kchan_proc_init(void)
{
	return proc_create("kchan", 0444, NULL, &kchan_proc_ops) ? 0 : -ENOMEM;
}

void kchan_proc_exit(void)
{
	remove_proc_entry("kchan", NULL);
}
