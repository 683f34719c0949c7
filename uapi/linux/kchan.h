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
 *	caller's fsuid/fsgid with permission bits @mode (0 means 0600) less
 *	the caller's umask, as open(O_CREAT) and mq_open() do, and returns
 *	0; @fd_flags must then be 0. Names are 1..KCHAN_NAME_MAX
 *	characters of [A-Za-z0-9._-], not "." or "..".
 *	Opening a named channel checks the owner, group and mode it was
 *	created with, by the usual rules (CAP_DAC_OVERRIDE passes), as well
 *	as the node's: a node made by other means (mknod) or changed with
 *	chmod cannot give more access than the channel's own mode (EACCES).
 *	Its counters in /sys/class/chan/NAME/ are readable by those who may
 *	read the channel (EACCES for others).
 *	Every channel, anonymous or named, is owned by its creator's fsuid:
 *	/proc/kchan lists to a reader the channels owned by the fsuid that
 *	opened it, and every channel to one with CAP_SYS_ADMIN.
 *	With KCHAN_CREATE_CARRIER the channel is a carrier: its messages may
 *	carry channels (see "Channels in messages" below).
 *	Errors: EINVAL (bad flag, reserved field, name, mode, capacity above
 *	the max_capacity parameter, msg_max of 0 or above max_msg_size),
 *	EEXIST (name taken), EMFILE (the caller's user already owns
 *	max_channels_per_user channels), ENOSPC (the caller's user already
 *	owns max_names_per_user names; or no device minor is left of the
 *	max_minors pool, or only the reserve, its last eighth, which goes
 *	to a user holding fewer names than max_minors / (users holding
 *	names + 1): see README.md), ENOMEM.
 *
 * KCHAN_CTL_UNLINK (struct kchan_name)
 *	Removes a name, like unlink(2): the node disappears, open descriptors
 *	keep working, the channel is freed when its last descriptor closes.
 *	The removed node itself no longer opens: reopening it through
 *	/proc/self/fd (an O_PATH descriptor kept from before) is ENOENT,
 *	also once another name has taken its device number.
 *	Only the channel's owner or CAP_SYS_ADMIN may do it (EPERM);
 *	ENOENT if no such name; ENOMEM (the name stays).
 *
 * KCHAN_IOC_VERSION (struct kchan_version)
 *	On /dev/chanctl or any channel: the interface version, the
 *	KCHAN_FEATURE_* bits this kernel supports and the limits. With
 *	KCHAN_FEATURE_BUDGET also the memory budget and what the caller's
 *	user holds of it now (@user_bytes; see "Memory budget" below).
 *	Before 1.0 a new version may change what an older one defined:
 *	version 2 made KCHAN_SEL_ARM _IOWR (it writes @index back), so
 *	version 1's number is ENOTTY.
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
 * KCHAN_IOC_SEND_BATCH (struct kchan_batch)
 *	Sends the @nmsgs messages of the struct kchan_mmsg array at @msgs, in
 *	order, each one whole as write() would send it and waiting as write()
 *	would (not with O_NONBLOCK or KCHAN_BATCH_NONBLOCK). Returns how many
 *	were sent. Every length is checked before anything is sent. If a
 *	message cannot be sent after at least one was (a signal, EAGAIN,
 *	EFAULT, EPIPE), the call returns the count and the messages from
 *	there on were not sent; the next call reports the error.
 *	Errors (nothing sent): EINVAL (@nmsgs 0 or above KCHAN_BATCH_MAX, a
 *	length of 0, a bad flag or reserved field), EMSGSIZE (a length above
 *	msg_max), and those of write(), ENOBUFS included.
 *
 * KCHAN_IOC_RECV_BATCH (struct kchan_batch)
 *	Waits as read() would for a first message, then goes on receiving
 *	while a message is ready at once, up to @nmsgs: message i goes whole
 *	into msgs[i].buf, of msgs[i].len bytes, and its length is stored in
 *	msgs[i].len. Returns how many were received; 0 once the channel is
 *	closed and drained. A message that does not fit its buffer, or whose
 *	copy or length fails to reach the caller, stops the batch and stays
 *	at the head of the channel, in order with those after it; the call
 *	then returns the count, or EMSGSIZE / EFAULT if none was received.
 *	Errors: EINVAL (as for KCHAN_IOC_SEND_BATCH, or a buffer of 0 bytes),
 *	and those of read().
 *
 * KCHAN_IOC_SENDMSG (struct kchan_msghdr)
 *	write() of the @len bytes at @buf, carrying the @nchans channels of
 *	the struct kchan_chanref array at @chans (see "Channels in
 *	messages"). Waits as write() would, unless the descriptor is
 *	O_NONBLOCK or @flags has KCHAN_MSG_NONBLOCK. Returns @len.
 *	On any error nothing was sent and nothing was carried.
 *	Errors: those of write(), and EINVAL (a bad flag or reserved field,
 *	@nchans above KCHAN_CHANS_MAX, channels on a channel that is not a
 *	carrier, a carried descriptor that is not a kchan channel or is a
 *	carrier, a bad @dir), EBADF (a carried descriptor that is not open,
 *	or @dir asks for a direction that descriptor does not have),
 *	ENOBUFS (the message and its references would take the caller's
 *	user over max_bytes_per_user).
 *
 * KCHAN_IOC_RECVMSG (struct kchan_msghdr)
 *	read() into the @len bytes at @buf, and up to @nchans channels into
 *	the struct kchan_chanref array at @chans: each gets a new descriptor
 *	(@fd, always O_CLOEXEC, O_NONBLOCK with KCHAN_MSG_FD_NONBLOCK) and
 *	the directions it allows (@dir). @nchans is written back with how
 *	many came. Returns the message length, 0 (and @nchans 0) once the
 *	channel is closed and drained. Exactly once, references included:
 *	if the bytes, the descriptors or the entries cannot all be given,
 *	none is, and the message stays at the head of the channel.
 *	Errors: those of read(), and ETOOMANYREFS (the next message carries
 *	more channels than @nchans has room for; it stays queued and
 *	KCHAN_IOC_STAT's @next_nchans tells how many), EMFILE (the caller's
 *	descriptor table has no room for them; the message stays queued),
 *	ENFILE, EINVAL (a bad flag or reserved field, @nchans above
 *	KCHAN_CHANS_MAX).
 *
 * Channels in messages (KCHAN_FEATURE_CHANS)
 *	Go's "chan (chan T)": a message on a carrier channel (created with
 *	KCHAN_CREATE_CARRIER) may carry up to KCHAN_CHANS_MAX (8) references
 *	to other channels next to its bytes, as a request carries its reply
 *	channel. Only kchan channel descriptors can be carried, never a
 *	carrier (EINVAL): so a message never holds, directly or not, the
 *	channel it is queued on, references form no cycle, and every
 *	reference in flight is dropped when its message is received or when
 *	the carrier it is queued on is freed. Unlike SCM_RIGHTS no garbage
 *	collector is needed. A reference holds the sender's open file until
 *	it is received, so the sender may close its descriptor at once. The
 *	receiver gets a new descriptor with the directions the sender's
 *	descriptor had, or the narrower ones the sender asked for in @dir
 *	(KCHAN_DIR_RECV only: a receive-only end). read(), readv(),
 *	KCHAN_IOC_RECV_BATCH and a KCHAN_OP_RECV select case have no room
 *	for references: a message that carries some stops them with
 *	ETOOMANYREFS and stays at the head. Batches do not carry channels.
 *	References in flight count toward the sender's max_bytes_per_user
 *	(each at the size of its record plus the struct file it keeps
 *	open). Select cases carry channels with KCHAN_OP_SENDMSG and
 *	KCHAN_OP_RECVMSG.
 *
 * KCHAN_CTL_SELECT (struct kchan_select), on /dev/chanctl
 *	Go's select over @ncases cases (at most the max_select_cases module
 *	parameter): exactly one case completes, or none. Returns the index of
 *	the case that completed, also stored in @index, with the bytes sent or
 *	received in @len; a receive case on a closed, drained channel
 *	completes with @len 0 and KCHAN_SELECT_CLOSED in @result_flags. Among
 *	cases ready together one is chosen uniformly at random, or the first
 *	in array order with KCHAN_SELECT_PRIORITY. A case with fd -1 is never
 *	ready. The same channel may appear in several cases, both ways.
 *	A KCHAN_OP_SENDMSG or KCHAN_OP_RECVMSG case points @buf at a struct
 *	kchan_msghdr (@len is its size): it sends or receives as
 *	KCHAN_IOC_SENDMSG or KCHAN_IOC_RECVMSG would (its @flags may hold
 *	only KCHAN_MSG_FD_NONBLOCK), and the header's @nchans and @chans
 *	are written back when a receive case completes.
 *	Every case is checked before any can complete; an error that belongs
 *	to one case stores its index in @index (else -1).
 *	Errors: EAGAIN (KCHAN_SELECT_NONBLOCK and no case ready), ETIMEDOUT
 *	(@deadline_ns passed), EINTR (a signal; restarted under SA_RESTART,
 *	and the deadline is absolute, so a restart does not stretch it),
 *	EPIPE (the chosen case is a send on a closed channel), EBADF (bad fd,
 *	or a direction the fd does not allow), EINVAL (not a channel, bad op,
 *	flag, reserved field, empty buffer, or too many cases), EMSGSIZE (a
 *	send longer than the channel's msg_max, or a receive buffer smaller
 *	than the message that was chosen, which stays queued), EFAULT (bad
 *	buffer; nothing is sent or lost), ENOBUFS (a send case's message or
 *	the case set would take the caller's user over max_bytes_per_user;
 *	@index names the case, -1 for the case set), ENOMEM, and those of
 *	KCHAN_IOC_SENDMSG and KCHAN_IOC_RECVMSG for their cases
 *	(ETOOMANYREFS, EMFILE: the message stays queued).
 *
 * KCHAN_CTL_SELECT_FD (argument by value: O_CLOEXEC | O_NONBLOCK)
 *	Returns a new select descriptor: a case set is armed on it with
 *	KCHAN_SEL_ARM and completes without anyone blocking. It polls
 *	readable (EPOLLIN) once a case has completed; read() then returns
 *	that case's struct kchan_select_result (a receive case's message is
 *	copied into its buffer by that read) and disarms it (a
 *	KCHAN_SELECT_PERSIST set stays armed: see KCHAN_SEL_ARM). read() needs
 *	room for the whole struct (EINVAL), blocks until a case completes
 *	(EAGAIN with O_NONBLOCK), and fails with ENOTCONN when nothing is
 *	armed. Only the process that armed it may read it (EPERM). A case
 *	is a partner on its channel, for a non-blocking read() or write()
 *	there and for that channel's poll (a rendezvous channel polls
 *	writable for a receive case, any channel readable for a send case),
 *	only while the set waits: once a case completed, the others are
 *	not, though they stay queued until the result is read (a persistent
 *	set's are partners again once it is). If the
 *	result cannot be written (EFAULT), nothing is collected: the case
 *	stays completed and armed, a received message in the descriptor's
 *	custody and not yet counted received, for the next read() or
 *	KCHAN_SEL_CANCEL.
 *	Releasing an armed descriptor cancels it; a message a receive case
 *	had taken but nobody read goes back to the head of its channel.
 *
 * KCHAN_SEL_ARM (struct kchan_select), on a select descriptor
 *	Arms the case set as KCHAN_CTL_SELECT would wait on it, and returns 0
 *	at once; a case may have completed already (poll, then read).
 *	KCHAN_SELECT_NONBLOCK is not allowed; EBUSY if already armed; the
 *	other errors as KCHAN_CTL_SELECT's, with the failing case's index
 *	written back to @index.
 *	Readiness cases (KCHAN_FEATURE_SEL_WATCH), only here: a case with
 *	@op KCHAN_OP_POLLIN or KCHAN_OP_POLLOUT, @buf and @len 0, watches
 *	any descriptor @fd but a select file (EINVAL: it could come to
 *	hold itself; -1: never ready) for EPOLLIN or EPOLLOUT (or
 *	EPOLLERR, EPOLLHUP), consuming nothing. Its fd is resolved at
 *	every arming (EBADF), so a new file at a number watched before is
 *	watched as itself. The armed select holds each watched file until
 *	it is collected or cancelled: closing the fd meanwhile does not
 *	close the file (a pipe's peer sees no EOF yet). A blocking read() returns a readiness case that
 *	polls ready as its result (@result: the poll mask, @flags
 *	KCHAN_SELECT_READY), after
 *	cancelling the other cases: if a case completed first, read()
 *	returns that one instead, and the readiness is left for the next
 *	arming. The descriptor itself polls readable only for a completed
 *	case, never for a readiness case (event loops watch those fds
 *	themselves). KCHAN_OP_SEND or KCHAN_OP_RECV or'ed with
 *	KCHAN_OP_OR_READY is that channel case if @fd is a channel at
 *	arming, else a readiness case for EPOLLOUT or EPOLLIN (@buf and
 *	@len then unused): a library need not know, nor trust an fd number
 *	to stay what it was.
 *	KCHAN_SELECT_DEADLINE (with @deadline_ns) bounds a blocking read():
 *	at the deadline it cancels the select and fails with ETIMEDOUT,
 *	unless a case completed, which it then returns. It does not bound
 *	poll.
 *	With KCHAN_SELECT_PERSIST (KCHAN_FEATURE_SELECT_PERSIST) the case
 *	set stays armed across collections, like an epoll set: each read()
 *	collects one completed case, as a one-shot read would, and leaves
 *	the set armed for the next, at a cost that depends on the cases
 *	that became ready, not on how many there are. It is Go's
 *	"for { select { ... } }": exactly one case commits per collection
 *	(between two reads at most one message is in the descriptor's
 *	custody; the other cases wait, their messages left in their
 *	channels), each is chosen as KCHAN_CTL_SELECT would choose it, and
 *	nothing is lost or received twice. Only receive cases
 *	(KCHAN_OP_RECV, KCHAN_OP_RECVMSG) may be persistent: a send case is
 *	EINVAL, since a message copied in once cannot follow a loop that
 *	sends a new value each time (send with write() or a one-shot select
 *	beside it). Readiness cases (KCHAN_OP_POLLIN, KCHAN_OP_POLLOUT, any
 *	op or'ed with KCHAN_OP_OR_READY) are EINVAL too, with that case's
 *	index in @index: watch other descriptors in the event loop's own
 *	epoll set beside the select descriptor. KCHAN_SELECT_DEADLINE is
 *	EINVAL with KCHAN_SELECT_PERSIST (bound a wait with poll's
 *	timeout). A persistent select descriptor, like any other, cannot
 *	be watched by a readiness case (EINVAL): an epoll set watches it.
 *	A receive case whose channel is closed and drained is
 *	reported once (KCHAN_SELECT_CLOSED) and then leaves the set, as a
 *	Go loop sets such a channel to nil; a case whose buffer is too
 *	small (EMSGSIZE) or faults (EFAULT) is reported each time it is
 *	chosen and stays. KCHAN_SEL_CANCEL disarms the whole set, and
 *	returns a completed case not yet read; release returns a message
 *	in custody to its channel, as for a one-shot select.
 *
 * KCHAN_SEL_CANCEL (struct kchan_select_result), on a select descriptor
 *	Disarms. Returns 0 if no case completed (@index -1), or 1 if one had,
 *	with its result filled in exactly as read() would have, so that
 *	nothing completed is lost. EFAULT if the result cannot be written:
 *	a completed case then stays armed, as for read().
 *
 * Memory budget (KCHAN_FEATURE_BUDGET)
 *	The kernel memory that messages and select case sets take is charged
 *	to a user: the real uid of the task that sent the message (or
 *	built the select) in its user namespace, and at once to the owner of
 *	that namespace in the parent namespace, and so on up to the initial
 *	one, so that all the uids of a user namespace share its owner's
 *	budget. Each level may hold at most the max_bytes_per_user module
 *	parameter. Charged: a message from the moment it is copied in until
 *	it is received or dropped (buffered, held by a blocked or claimed
 *	sender, by a select or select file's send case, or in a select
 *	file's custody), counted at its allocation's real size (header and
 *	slab rounding included), with the channel references it carries;
 *	and the case set of a select file, or of a select with more than 4
 *	cases, while it is held. A channel whose msg_max is at most 256
 *	bytes, once it has carried 64 messages, keeps slots for its
 *	messages instead (room for capacity + 2 of them, at most 63 and
 *	8 KiB with headers), made at a send if its creator's budget has
 *	room and charged to its creator until the channel is freed, as a
 *	pipe's buffer is to the pipe's creator; a message in a free slot is
 *	charged nothing more, and one that finds no free slot is charged to
 *	its sender as above. The step that would go over fails with
 *	ENOBUFS and changes nothing: write(), writev() and io_uring writes
 *	send nothing; KCHAN_IOC_SEND_BATCH sends the messages that fit and stops
 *	as for its other errors; KCHAN_CTL_SELECT and KCHAN_SEL_ARM fail
 *	before any case commits, with @index naming the send case that did
 *	not fit (-1 for the case set itself). A task with CAP_SYS_RESOURCE
 *	in the initial user namespace is exempt, as for pipe buffers.
 *	Everything is given back when the messages are received or the
 *	files close (a channel's slots, when its last file closes).
 *	Channels (max_channels_per_user, EMFILE) and names
 *	(max_names_per_user, ENOSPC) are counted on the same per-user
 *	accounts, and are limited for every caller.
 *
 * Errors of read/write: EBADF (direction not allowed on this descriptor),
 * EINVAL (empty write), EMSGSIZE (write above msg_max, or read buffer
 * smaller than the next message, which then stays queued), EAGAIN (would
 * block, O_NONBLOCK or RWF_NOWAIT/io_uring; also a rendezvous send whose
 * receiver's buffer would fault: no sender waits on another process's
 * page fault), EPIPE (send on a closed channel; no SIGPIPE), EFAULT (bad
 * buffer; nothing is sent or lost), EINTR (a signal arrived before the
 * operation took effect), ENOBUFS (write: the caller's user would go over
 * max_bytes_per_user; nothing is sent).
 */
#ifndef _UAPI_LINUX_KCHAN_H
#define _UAPI_LINUX_KCHAN_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KCHAN_VERSION		2

#define KCHAN_NAME_MAX		64
#define KCHAN_NAME_SIZE		72	/* KCHAN_NAME_MAX + NUL, padded */

/* struct kchan_create.flags */
#define KCHAN_CREATE_AUTOCLOSE	(1U << 0) /* close when the last writer is released */
#define KCHAN_CREATE_CARRIER	(1U << 1) /* may carry channels, is never carried */
#define KCHAN_CREATE_ALL	(KCHAN_CREATE_AUTOCLOSE | KCHAN_CREATE_CARRIER)

/* struct kchan_version.features */
#define KCHAN_FEATURE_NAMED	(1ULL << 0)
#define KCHAN_FEATURE_AUTOCLOSE	(1ULL << 1)
#define KCHAN_FEATURE_NEXT_LEN	(1ULL << 2)
#define KCHAN_FEATURE_SELECT	(1ULL << 3)
#define KCHAN_FEATURE_BATCH	(1ULL << 4)
#define KCHAN_FEATURE_BUDGET	(1ULL << 5) /* per-user memory budget */
#define KCHAN_FEATURE_CHANS	(1ULL << 6) /* channels in messages */
#define KCHAN_FEATURE_SEL_WATCH	(1ULL << 7) /* readiness cases, KCHAN_SEL_ARM */
#define KCHAN_FEATURE_SELECT_PERSIST (1ULL << 8) /* KCHAN_SELECT_PERSIST */

/* struct kchan_stat.flags */
#define KCHAN_STAT_CLOSED	(1U << 0)
#define KCHAN_STAT_AUTOCLOSE	(1U << 1)
#define KCHAN_STAT_NAMED	(1U << 2)
#define KCHAN_STAT_CARRIER	(1U << 3)

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
	__u32 max_names_per_user; /* 0 from kernels before the budget */
	__u64 features;		/* KCHAN_FEATURE_* */
	__u32 max_capacity;	/* current limits (module parameters) */
	__u32 max_msg_size;
	__u32 max_channels_per_user;
	__u32 max_select_cases;	/* most cases in one select */
	__u64 max_bytes_per_user; /* KCHAN_FEATURE_BUDGET: the byte budget */
	__u64 user_bytes;	/* KCHAN_FEATURE_BUDGET: the caller's usage */
};

/*
 * senders and receivers count the tasks and selects blocked on the
 * channel (or armed on a select file) and not committed yet: a select
 * that completed another case is no longer counted, read or not.
 */
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
	__u32 next_nchans;	/* channels the next message carries */
	__u64 reserved[2];
};

/* One message of KCHAN_IOC_SEND_BATCH / KCHAN_IOC_RECV_BATCH. */
struct kchan_mmsg {
	__u64 buf;		/* send: the message; receive: where it goes */
	__u32 len;		/* send: length; receive: room, then length */
	__u32 reserved;		/* must be 0 */
};

#define KCHAN_BATCH_MAX		1024	/* most messages in one call */
#define KCHAN_BATCH_NONBLOCK	(1U << 0) /* EAGAIN rather than wait */
#define KCHAN_BATCH_ALL		(KCHAN_BATCH_NONBLOCK)

struct kchan_batch {
	__u64 msgs;		/* user pointer to struct kchan_mmsg[nmsgs] */
	__u32 nmsgs;		/* 1..KCHAN_BATCH_MAX */
	__u32 flags;		/* KCHAN_BATCH_* */
	__u64 reserved[2];	/* must be 0 */
};

/* Channels in messages: the most one message carries. */
#define KCHAN_CHANS_MAX		8

/* struct kchan_chanref.dir */
#define KCHAN_DIR_RECV		(1U << 0) /* the descriptor may receive */
#define KCHAN_DIR_SEND		(1U << 1) /* the descriptor may send */
#define KCHAN_DIR_ALL		(KCHAN_DIR_RECV | KCHAN_DIR_SEND)

/* One channel carried by a message. */
struct kchan_chanref {
	/* send: a channel descriptor; receive: a new one */
	__s32 fd;
	/* send: 0 (as @fd) or fewer KCHAN_DIR_*; receive: what it allows */
	__u32 dir;
};

/* struct kchan_msghdr.flags */
#define KCHAN_MSG_NONBLOCK	(1U << 0) /* EAGAIN rather than wait */
#define KCHAN_MSG_FD_NONBLOCK	(1U << 1) /* receive: new descriptors O_NONBLOCK */
#define KCHAN_MSG_ALL		(KCHAN_MSG_NONBLOCK | KCHAN_MSG_FD_NONBLOCK)

/* KCHAN_IOC_SENDMSG, KCHAN_IOC_RECVMSG, KCHAN_OP_SENDMSG/RECVMSG cases. */
struct kchan_msghdr {
	__u64 buf;		/* send: the message; receive: where it goes */
	__u64 len;		/* send: its length; receive: room */
	__u64 chans;		/* user pointer to struct kchan_chanref[nchans] */
	/* send: how many carried; receive: room, then how many came */
	__u32 nchans;
	__u32 flags;		/* KCHAN_MSG_* */
	__u64 reserved[2];	/* must be 0 */
};

/* struct kchan_case.op */
#define KCHAN_OP_SEND		1
#define KCHAN_OP_RECV		2
#define KCHAN_OP_SENDMSG	3	/* buf: struct kchan_msghdr */
#define KCHAN_OP_RECVMSG	4	/* buf: struct kchan_msghdr */
#define KCHAN_OP_POLLIN		5	/* KCHAN_SEL_ARM: any fd polls readable */
#define KCHAN_OP_POLLOUT	6	/* KCHAN_SEL_ARM: any fd polls writable */
/* KCHAN_SEL_ARM, or'ed into SEND or RECV: a non-channel fd is POLLOUT or POLLIN */
#define KCHAN_OP_OR_READY	(1U << 8)

struct kchan_case {
	__s32 fd;		/* a channel descriptor, or -1: never ready */
	__u32 op;		/* KCHAN_OP_* */
	__u64 buf;		/* send: the message; receive: where it goes */
	__u64 len;		/* send: message length; receive: buffer size */
};

/* struct kchan_select.flags */
#define KCHAN_SELECT_NONBLOCK	(1U << 0) /* EAGAIN if no case is ready */
#define KCHAN_SELECT_PRIORITY	(1U << 1) /* first ready case in array order */
#define KCHAN_SELECT_DEADLINE	(1U << 2) /* ETIMEDOUT at deadline_ns */
#define KCHAN_SELECT_PERSIST	(1U << 3) /* KCHAN_SEL_ARM: armed until cancel */
#define KCHAN_SELECT_ALL	(KCHAN_SELECT_NONBLOCK | KCHAN_SELECT_PRIORITY | \
				 KCHAN_SELECT_DEADLINE | KCHAN_SELECT_PERSIST)

/* struct kchan_select.result_flags, struct kchan_select_result.flags */
#define KCHAN_SELECT_CLOSED	(1U << 0) /* receive: channel closed, drained */
#define KCHAN_SELECT_READY	(1U << 1) /* a readiness case: result is its poll mask */

struct kchan_select {
	__u64 cases;		/* user pointer to struct kchan_case[ncases] */
	__u32 ncases;
	__u32 flags;		/* KCHAN_SELECT_* */
	__s64 deadline_ns;	/* CLOCK_MONOTONIC, with KCHAN_SELECT_DEADLINE */
	/* Written back: */
	__s32 index;		/* the case completed or failed, or -1 */
	__u32 result_flags;	/* KCHAN_SELECT_CLOSED */
	__u64 len;		/* bytes sent or received */
	__u64 reserved[2];	/* must be 0 */
};

/* What a select descriptor's read() and KCHAN_SEL_CANCEL return. */
struct kchan_select_result {
	__s32 index;		/* the case that completed, or -1 */
	__u32 flags;		/* KCHAN_SELECT_CLOSED */
	__s64 result;		/* bytes sent or received, or -errno */
};

#define KCHAN_IOC_MAGIC		0xB8

#define KCHAN_IOC_VERSION	_IOR(KCHAN_IOC_MAGIC, 0x00, struct kchan_version)
#define KCHAN_CTL_CREATE	_IOW(KCHAN_IOC_MAGIC, 0x01, struct kchan_create)
#define KCHAN_CTL_UNLINK	_IOW(KCHAN_IOC_MAGIC, 0x02, struct kchan_name)
#define KCHAN_CTL_SELECT	_IOWR(KCHAN_IOC_MAGIC, 0x03, struct kchan_select)
#define KCHAN_CTL_SELECT_FD	_IO(KCHAN_IOC_MAGIC, 0x04)
#define KCHAN_IOC_CLOSE		_IO(KCHAN_IOC_MAGIC, 0x10)
#define KCHAN_IOC_STAT		_IOR(KCHAN_IOC_MAGIC, 0x11, struct kchan_stat)
#define KCHAN_IOC_NEXT_LEN	_IOR(KCHAN_IOC_MAGIC, 0x12, __u32)
#define KCHAN_IOC_SEND_BATCH	_IOW(KCHAN_IOC_MAGIC, 0x13, struct kchan_batch)
#define KCHAN_IOC_RECV_BATCH	_IOW(KCHAN_IOC_MAGIC, 0x14, struct kchan_batch)
#define KCHAN_IOC_SENDMSG	_IOW(KCHAN_IOC_MAGIC, 0x15, struct kchan_msghdr)
#define KCHAN_IOC_RECVMSG	_IOWR(KCHAN_IOC_MAGIC, 0x16, struct kchan_msghdr)
#define KCHAN_SEL_ARM		_IOWR(KCHAN_IOC_MAGIC, 0x20, struct kchan_select)
#define KCHAN_SEL_CANCEL	_IOR(KCHAN_IOC_MAGIC, 0x21, struct kchan_select_result)

#endif /* _UAPI_LINUX_KCHAN_H */
