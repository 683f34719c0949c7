/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory that faults: pages that fault on every access, a buffer that
 * ends where such a page begins, and pages whose first touch stalls in a
 * userfaultfd fault until the test resolves it (a way to hold a task in
 * the middle of a copy); and passing a descriptor over a unix socket, so
 * that another process can watch those faults.
 */
#ifndef KT_FAULT_H
#define KT_FAULT_H

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#include "kt.h"

/*
 * Memory that faults on access: @pages pages of PROT_NONE. Kept mapped
 * (rather than unmapped) so that no later mapping can reuse the range.
 */
static inline void *kt_bad_mem(size_t pages)
{
	void *p = mmap(NULL, pages * getpagesize(), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * A buffer of @good bytes of readable and writable memory that ends
 * exactly where a PROT_NONE page begins: access beyond @good bytes
 * faults. Returns the start of the good bytes, or NULL.
 */
static inline char *kt_edge_buf(size_t good)
{
	size_t pg = getpagesize();
	size_t good_pages = (good + pg - 1) / pg;
	char *p;

	p = mmap(NULL, (good_pages + 1) * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + good_pages * pg, pg, PROT_NONE))
		return NULL;
	return p + good_pages * pg - good;
}

/*
 * userfaultfd: memory registered with one blocks whoever touches a missing
 * page first, a user access or the kernel copying to or from user memory
 * inside a system call, until the fault is resolved (UFFDIO_COPY,
 * UFFDIO_ZEROPAGE) or the task gets a fatal signal. The descriptor may be
 * handed to another process (kt_send_fd()), which can then watch and
 * resolve the faults of the process that made it.
 */

/* A non-blocking userfaultfd after the API handshake, or -errno. */
static inline int kt_uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int uffd, err;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		return -errno;
	if (ioctl(uffd, UFFDIO_API, &api)) {
		err = -errno;
		close(uffd);
		return err;
	}
	return uffd;
}

/* Register [@addr, @addr + @len) (page aligned) for missing-page faults. */
static inline int kt_uffd_register(int uffd, void *addr, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	return ioctl(uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

/*
 * Wait up to @ms for a task to block on a fault of @uffd; set *@addr to
 * the faulting address. 0, -ETIMEDOUT, or -errno.
 */
static inline int kt_uffd_wait_fault(int uffd, int ms, __u64 *addr)
{
	uint64_t deadline = kt_deadline_ns(ms);
	struct uffd_msg msg;
	ssize_t n;

	for (;;) {
		struct pollfd pfd = { .fd = uffd, .events = POLLIN };
		int left = (int)((deadline - kt_now_ns()) / 1000000ull);

		if (kt_now_ns() >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, left > 0 ? left : 1) < 0 && errno != EINTR)
			return -errno;
		n = read(uffd, &msg, sizeof(msg));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		if (n != sizeof(msg))
			return -EIO;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		if (addr)
			*addr = msg.arg.pagefault.address;
		return 0;
	}
}

/* Resolve a fault by filling the page(s) at @dst with @len bytes of @src. */
static inline int kt_uffd_copy(int uffd, __u64 dst, const void *src,
				  size_t len)
{
	struct uffdio_copy copy = {
		.dst = dst, .src = (unsigned long)src, .len = len,
	};

	while (ioctl(uffd, UFFDIO_COPY, &copy)) {
		if (errno != EAGAIN)
			return -errno;
		copy.copy = 0;
	}
	return 0;
}

/* Resolve a fault by mapping the zero page at @dst. */
static inline int kt_uffd_zero(int uffd, __u64 dst, size_t len)
{
	struct uffdio_zeropage zero = {
		.range = { .start = dst, .len = len },
	};

	while (ioctl(uffd, UFFDIO_ZEROPAGE, &zero)) {
		if (errno != EAGAIN)
			return -errno;
		zero.zeropage = 0;
	}
	return 0;
}

/*
 * @pages pages whose first touch blocks in a userfaultfd fault until
 * someone resolves it (or the faulting task gets a fatal signal): a way
 * to hold a task in the middle of a copy to or from user memory. Sets
 * *@mem and returns the userfaultfd, or -errno if userfaultfd is not
 * available.
 */
static inline int kt_uffd_stalling(void **mem, size_t pages)
{
	size_t len = pages * getpagesize();
	int uffd, err;
	void *p;

	uffd = kt_uffd_open();
	if (uffd < 0)
		return uffd;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		close(uffd);
		return err;
	}
	err = kt_uffd_register(uffd, p, len);
	if (err) {
		munmap(p, len);
		close(uffd);
		return err;
	}
	*mem = p;
	return uffd;
}

/* Send @len bytes of @data over a unix socket, with @fd attached if >= 0. */
static inline int kt_send_fd(int sock, int fd, const void *data, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, 0) == (ssize_t)len ? 0 : -EIO;
}

/*
 * Receive what kt_send_fd() sent, waiting up to @ms: the attached
 * descriptor, -ENOENT if none came with the data, -ETIMEDOUT, or -errno.
 */
static inline int kt_recv_fd(int sock, void *data, size_t len, int ms)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct cmsghdr *cm;
	int fd;

	if (poll(&pfd, 1, ms) <= 0)
		return -ETIMEDOUT;
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)len)
		return -EIO;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		return -ENOENT;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

#endif /* KT_FAULT_H */
