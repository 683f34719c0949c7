/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixtures shared by the channel tests: "chan", an anonymous channel in a
 * rendezvous and a buffered variant, and "named", a unique name removed
 * at teardown if the test created it. Include after kselftest_harness.h,
 * with MSG_MAX and CAPACITY defined.
 */
#ifndef KCHAN_FIXTURE_H
#define KCHAN_FIXTURE_H

FIXTURE(chan) {
	int fd;
};

FIXTURE_VARIANT(chan) {
	unsigned int capacity;
};

FIXTURE_VARIANT_ADD(chan, rendezvous) {
	.capacity = 0,
};

FIXTURE_VARIANT_ADD(chan, buffered) {
	.capacity = CAPACITY,
};

FIXTURE_SETUP(chan)
{
	self->fd = kchan_make(variant->capacity, MSG_MAX, 0, O_CLOEXEC);
	ASSERT_LE(0, self->fd) {
		TH_LOG("creating a channel: %s (is the module loaded?)",
		       strerror(-self->fd));
	}
}

FIXTURE_TEARDOWN(chan)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Named channels, for tests about separate open files. */
FIXTURE(named) {
	char name[KCHAN_NAME_SIZE];
	char path[128];
	bool created;
};

FIXTURE_SETUP(named)
{
	kchan_test_name(self->name, sizeof(self->name), _metadata->name);
	kchan_node_path(self->path, sizeof(self->path), self->name);
}

FIXTURE_TEARDOWN(named)
{
	if (self->created)
		kchan_unlink(self->name);
}

#endif /* KCHAN_FIXTURE_H */
