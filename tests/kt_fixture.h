/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixtures: KT_CHAN_VARIANTS() runs every test of a fixture twice, on a
 * rendezvous channel and on a buffered one; kt_chan_setup() makes the
 * channel. Include after kselftest_harness.h.
 *
 * With KT_CHAN_FIXTURE defined (and MSG_MAX, CAPACITY) it also gives the
 * fixture "chan" (self->fd, in both variants) and "named" (a unique
 * name, self->name and its node self->path, removed at teardown if the
 * test set self->created).
 */
#ifndef KT_FIXTURE_H
#define KT_FIXTURE_H

#include "kt.h"

/* variant->capacity: 0, then @buffered_capacity. */
#define KT_CHAN_VARIANTS(fixture, buffered_capacity)			\
	FIXTURE_VARIANT(fixture) {					\
		unsigned int capacity;					\
	};								\
	FIXTURE_VARIANT_ADD(fixture, rendezvous) {			\
		.capacity = 0,						\
	};								\
	FIXTURE_VARIANT_ADD(fixture, buffered) {			\
		.capacity = (buffered_capacity),			\
	}

/* A new anonymous channel (O_CLOEXEC), or the test fails. */
static inline int kt_chan_setup(struct __test_metadata *_metadata,
				unsigned int capacity, unsigned int msg_max)
{
	int fd = kchan_make(capacity, msg_max, 0);

	ASSERT_LE(0, fd) {
		TH_LOG("creating a channel: %s (is the module loaded?)",
		       strerror(-fd));
	}
	return fd;
}

/* Nobody left queued on the channel of @fd: no sender, no receiver. */
static inline void kt_expect_idle(struct __test_metadata *_metadata, int fd)
{
	struct kchan_stat st;

	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(0u, st.senders);
	EXPECT_EQ(0u, st.receivers);
}

/* Nothing was sent on @fd: none counted, queued or blocked sending. */
static inline void kt_expect_nothing_sent(struct __test_metadata *_metadata,
					  int fd)
{
	struct kchan_stat st;

	ASSERT_EQ(0, kt_stat(fd, &st));
	EXPECT_EQ(0ull, st.sent);
	EXPECT_EQ(0u, st.queued);
	EXPECT_EQ(0u, st.senders);
}

/*
 * Nothing to receive on @fd now: a non-blocking read fails with EAGAIN.
 * @fd is left non-blocking.
 */
static inline void kt_expect_empty(struct __test_metadata *_metadata, int fd)
{
	char buf[256];

	ASSERT_EQ(0, kt_set_nonblock(fd, true));
	EXPECT_EQ(-EAGAIN, kt_recv(fd, buf, sizeof(buf)));
}

/*
 * poll() of @fd agrees with the non-blocking call made just after it: a
 * write of @len bytes from @buf (@send), or a read into @buf of @len
 * bytes. Ready for it exactly when the call then moves a message.
 * Returns the call's result (or -errno). @fd is left non-blocking.
 */
static inline ssize_t kt_expect_poll_agrees(struct __test_metadata *_metadata,
					    int fd, bool send, void *buf,
					    size_t len)
{
	short want = send ? POLLOUT : POLLIN, ready;
	ssize_t ret;

	EXPECT_EQ(0, kt_set_nonblock(fd, true));
	ready = kt_ready_now(fd);
	ret = send ? kt_send(fd, buf, len) : kt_recv(fd, buf, len);
	EXPECT_EQ(ret > 0, !!(ready & want)) {
		TH_LOG("poll says %#x, a non-blocking %s returns %zd", ready,
		       send ? "write" : "read", ret);
	}
	return ret;
}

#ifdef KT_CHAN_FIXTURE
FIXTURE(chan) {
	int fd;
};

KT_CHAN_VARIANTS(chan, CAPACITY);

FIXTURE_SETUP(chan)
{
	self->fd = -1;
	self->fd = kt_chan_setup(_metadata, variant->capacity, MSG_MAX);
}

FIXTURE_TEARDOWN(chan)
{
	if (self->fd >= 0)
		close(self->fd);
}

FIXTURE(named) {
	char name[KCHAN_NAME_SIZE];
	char path[128];
	bool created;
};

FIXTURE_SETUP(named)
{
	kt_name(self->name, sizeof(self->name), _metadata->name);
	kt_node_path(self->path, sizeof(self->path), self->name);
}

FIXTURE_TEARDOWN(named)
{
	if (self->created)
		kchan_unlink(self->name);
}
#endif /* KT_CHAN_FIXTURE */

#endif /* KT_FIXTURE_H */
