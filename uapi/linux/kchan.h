/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * kchan: Go channels as file descriptors.
 *
 * A channel is a FIFO of whole messages with a fixed capacity (0 means
 * rendezvous: a send returns only once a receiver took the message) and a
 * fixed largest message size, msg_max. read() receives one whole message,
 * write() sends one; readv()/writev() gather or scatter one message. A
 * message is 1..msg_max bytes: read() returning 0 means "closed and
 * drained", never an empty message.
 *
 * Channels are made through the control device /dev/chanctl:
 *
 * KCHAN_CTL_CREATE (struct kchan_create)
 *	With an empty name, makes an anonymous channel and returns a new
 *	O_RDWR file descriptor for it (fd_flags may hold O_CLOEXEC and
 *	O_NONBLOCK). The channel lives while any descriptor to it lives.
 *	With a name, creates the device node /dev/chan/NAME owned by the
 *	caller's fsuid/fsgid with permission bits @mode (0 means 0600) and
 *	returns 0; @fd_flags must then be 0. Names are 1..KCHAN_NAME_MAX
 *	characters of [A-Za-z0-9._-], not "." or "..".
 *	Errors: EINVAL (bad flag, reserved field, name, mode, capacity above
 *	the max_capacity parameter, msg_max of 0 or above max_msg_size),
 *	EEXIST (name taken), EMFILE (the caller's user already owns
 *	max_channels_per_user channels), ENOSPC (no device minor left),
 *	ENOMEM.
 *
 * KCHAN_CTL_UNLINK (struct kchan_name)
 *	Removes a name, like unlink(2): the node disappears, open descriptors
 *	keep working, the channel is freed when its last descriptor closes.
 *	Only the channel's owner or CAP_SYS_ADMIN may do it (EPERM);
 *	ENOENT if no such name.
 *
 * KCHAN_IOC_VERSION (struct kchan_version)
 *	On /dev/chanctl or any channel: the interface version and the
 *	KCHAN_FEATURE_* bits this kernel supports.
 *
 * On a channel descriptor:
 *
 * KCHAN_IOC_CLOSE
 *	Go's close(): queued messages are still delivered, then every receive
 *	returns 0; every send fails with EPIPE, and blocked senders wake with
 *	EPIPE without delivering. Needs a descriptor opened for writing
 *	(EBADF otherwise). EPIPE if the channel was already closed.
 *
 * KCHAN_IOC_STAT (struct kchan_stat)
 *	A snapshot of the channel's state and counters.
 *
 * KCHAN_IOC_NEXT_LEN (__u32)
 *	The length of the message the next receive would return. EAGAIN if
 *	none is ready; ENODATA once the channel is closed and drained.
 *
 * Errors of read/write: EBADF (direction not allowed on this descriptor),
 * EINVAL (empty write), EMSGSIZE (write above msg_max, or read buffer
 * smaller than the next message, which then stays queued), EAGAIN (would
 * block, O_NONBLOCK or RWF_NOWAIT/io_uring), EPIPE (send on a closed
 * channel; no SIGPIPE), EFAULT (bad buffer; nothing is sent or lost),
 * EINTR (a signal arrived before the operation took effect).
 */
#ifndef _UAPI_LINUX_KCHAN_H
#define _UAPI_LINUX_KCHAN_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KCHAN_VERSION		1

#define KCHAN_NAME_MAX		64
#define KCHAN_NAME_SIZE		72	/* KCHAN_NAME_MAX + NUL, padded */

/* struct kchan_create.flags */
#define KCHAN_CREATE_AUTOCLOSE	(1U << 0) /* close when the last writer is released */
#define KCHAN_CREATE_ALL	(KCHAN_CREATE_AUTOCLOSE)

/* struct kchan_version.features */
#define KCHAN_FEATURE_NAMED	(1ULL << 0)
#define KCHAN_FEATURE_AUTOCLOSE	(1ULL << 1)
#define KCHAN_FEATURE_NEXT_LEN	(1ULL << 2)

/* struct kchan_stat.flags */
#define KCHAN_STAT_CLOSED	(1U << 0)
#define KCHAN_STAT_AUTOCLOSE	(1U << 1)
#define KCHAN_STAT_NAMED	(1U << 2)

struct kchan_create {
	__u32 capacity;		/* 0: rendezvous, else buffered */
	__u32 msg_max;		/* largest message, bytes */
	__u32 flags;		/* KCHAN_CREATE_* */
	__u32 mode;		/* named: permission bits, 0 means 0600 */
	__u32 fd_flags;		/* anonymous: O_CLOEXEC | O_NONBLOCK */
	__u32 reserved0;	/* must be 0 */
	char name[KCHAN_NAME_SIZE]; /* NUL-terminated, empty: anonymous */
	__u64 reserved[2];	/* must be 0 */
};

struct kchan_name {
	char name[KCHAN_NAME_SIZE];
	__u64 reserved;		/* must be 0 */
};

struct kchan_version {
	__u32 version;		/* KCHAN_VERSION */
	__u32 reserved0;
	__u64 features;		/* KCHAN_FEATURE_* */
	__u32 max_capacity;	/* current limits (module parameters) */
	__u32 max_msg_size;
	__u32 max_channels_per_user;
	__u32 reserved1;
	__u64 reserved[2];
};

struct kchan_stat {
	__u64 id;		/* unique while the module is loaded */
	__u32 capacity;
	__u32 msg_max;
	__u32 flags;		/* KCHAN_STAT_* */
	__u32 queued;		/* messages in the buffer */
	__u32 senders;		/* senders blocked */
	__u32 receivers;	/* receivers blocked */
	__u64 sent;		/* messages accepted by the channel */
	__u64 received;		/* messages received */
	__u32 next_len;		/* length of the next message, 0 if none */
	__u32 reserved0;
	__u64 reserved[2];
};

#define KCHAN_IOC_MAGIC		0xB8

#define KCHAN_IOC_VERSION	_IOR(KCHAN_IOC_MAGIC, 0x00, struct kchan_version)
#define KCHAN_CTL_CREATE	_IOW(KCHAN_IOC_MAGIC, 0x01, struct kchan_create)
#define KCHAN_CTL_UNLINK	_IOW(KCHAN_IOC_MAGIC, 0x02, struct kchan_name)
#define KCHAN_IOC_CLOSE		_IO(KCHAN_IOC_MAGIC, 0x10)
#define KCHAN_IOC_STAT		_IOR(KCHAN_IOC_MAGIC, 0x11, struct kchan_stat)
#define KCHAN_IOC_NEXT_LEN	_IOR(KCHAN_IOC_MAGIC, 0x12, __u32)

#endif /* _UAPI_LINUX_KCHAN_H */
