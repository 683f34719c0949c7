// SPDX-License-Identifier: GPL-2.0
/*
 * A select whose send a receiver claimed, and whose claim fell through,
 * is waiting again on every case (contract section 5: a blocked select
 * is a partner for each of its cases until one commits).
 *
 * While a receiver copies a select's send out, the select is claimed,
 * and a peer that comes to one of its other channels meanwhile queues
 * without matching it. If that copy fails, the claim ends and the select
 * waits again: the peer queued meanwhile must then be matched, or both
 * wait for ever although they are partners. The receiver here reads
 * into memory that cannot be written, so every claim of its falls
 * through (EFAULT), again and again, while one sender comes to the
 * select's receive on the other channel at some moment among them.
 * Once the sender has come (and blocked, if it came during a claim) the
 * claims stop, and the select must take its message, however it is
 * waited on: in a blocked KCHAN_CTL_SELECT, or armed on a select file
 * that is polled, read, or watched by epoll. (While claims go on without
 * end, each one may hide the select from its other channels again.)
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kt.h"
#include "kt_select.h"
#include "kt_fixture.h"

#define MSG_MAX		64
#define MSG_LEN		24
/* Rounds per way of waiting: each a new select, a new race. */
#define ROUNDS		60
/*
 * How long the sender may take to come (blocked on the select's other
 * channel, or taken by the select), and then how long the select may
 * take to see it once the claims stop: anything longer hangs (generous:
 * a loaded debug kernel takes a round in tens of ms).
 */
#define COME_MS		2000
#define SEE_MS		10000

enum wait_how { BLOCKING_SELECT, SELFD_POLL, SELFD_READ, SELFD_EPOLL };

/*
 * A receiver on channel @fd that reads into unwritable memory until EOF,
 * or until told to stop.
 */
struct faulter {
	int fd;
	void *bad;
	atomic_uint faults;
	atomic_bool stop;
	ssize_t last;		/* what ended it: 0 (EOF, stop) or -errno */
	pthread_t thread;
};

static void *faulter_run(void *arg)
{
	struct faulter *f = arg;
	ssize_t n;

	for (;;) {
		n = read(f->fd, f->bad, MSG_MAX);
		if (n < 0 && errno == EFAULT) {
			atomic_fetch_add(&f->faults, 1);
			if (!atomic_load(&f->stop))
				continue;
			n = 0;
		}
		f->last = n < 0 ? -errno : n;
		return NULL;
	}
}

struct sender {
	int fd;
	unsigned int seed;
	ssize_t ret;
	atomic_bool done;
	pthread_t thread;
};

static void *sender_run(void *arg)
{
	struct sender *s = arg;
	char m[MSG_LEN];

	kt_fill(m, MSG_LEN, s->seed);
	s->ret = kt_send(s->fd, m, MSG_LEN);
	atomic_store(&s->done, true);
	return NULL;
}

/*
 * Wait for select file @sfd's result, the way @how says, for at most
 * SEE_MS: 0 with @res filled, -ETIMEDOUT, or -errno.
 */
static int selfd_result(int sfd, enum wait_how how,
			struct kchan_select_result *res)
{
	struct pollfd pfd = { .fd = sfd, .events = POLLIN };
	struct epoll_event ev = { .events = EPOLLIN };
	int ep, n;

	switch (how) {
	case SELFD_POLL:
		n = poll(&pfd, 1, SEE_MS);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		break;
	case SELFD_EPOLL:
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0)
			return -errno;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev)) {
			close(ep);
			return -errno;
		}
		n = epoll_wait(ep, &ev, 1, SEE_MS);
		close(ep);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		break;
	default:
		/* SELFD_READ: a blocking read, its deadline armed. */
		break;
	}
	return kt_sel_read(sfd, res);
}

/*
 * One round: the select (send MSG on @a, receive on @b) waits, the
 * faulter keeps claiming its send on @a and failing, and a sender comes
 * to @b: the claims go on until it has come, then stop, and the select
 * must see it. *@claimed is set if the sender was seen blocked on @b:
 * it came while the select was claimed, where a waiting select would
 * have taken it at once. A lower bound: a blocked select's own task
 * offers again as soon as a claim ends, so a sender it then takes is
 * seldom seen blocked (a few rounds in 60 here, against half the rounds
 * for a select file, whose offer waits for its reader or poller). Returns the case index the select
 * reported, or -errno.
 */
static int reoffer_round(struct __test_metadata *_metadata, int a, int b,
			 int sfd, void *bad, enum wait_how how,
			 unsigned int round, bool *claimed)
{
	char m[MSG_LEN], buf[MSG_MAX];
	struct kchan_select_result res = { .index = -1 };
	struct faulter f = { .fd = a, .bad = bad };
	struct sender s = { .fd = b, .seed = round };
	struct kt_sel_op op = { 0 };
	struct kchan_case c[2];
	struct kchan_stat st;
	long long until;
	int ret, index;

	kt_fill(m, MSG_LEN, 1000 + round);
	memset(buf, 0, sizeof(buf));
	c[0] = kt_case_send(a, m, MSG_LEN);
	c[1] = kt_case_recv(b, buf, sizeof(buf));
	if (how == BLOCKING_SELECT) {
		memcpy(op.cases, c, sizeof(c));
		op.n = 2;
		op.deadline_ns = kt_deadline_ns(COME_MS + SEE_MS);
		op.flags = KCHAN_SELECT_DEADLINE;
		if (kt_sel_op_start(&op))
			return -EAGAIN;
	} else {
		ret = kt_arm_full(sfd, c, 2,
				  how == SELFD_READ ? KCHAN_SELECT_DEADLINE : 0,
				  kt_deadline_ns(COME_MS + SEE_MS), NULL);
		if (ret)
			return ret;
	}
	if (kt_wait_blocked(a, 1, 0, KT_TIMEOUT_MS))
		return -EIO;

	/* The faulter claims and fails; the sender comes among its tries. */
	if (pthread_create(&f.thread, NULL, faulter_run, &f))
		return -EAGAIN;
	while (atomic_load(&f.faults) < 1 + round % 4)
		sched_yield();
	if (pthread_create(&s.thread, NULL, sender_run, &s))
		return -EAGAIN;
	*claimed = false;
	until = kt_now_ms() + COME_MS;
	while (!atomic_load(&s.done) && kt_now_ms() < until) {
		if (!kt_stat(b, &st) && st.senders == 1) {
			*claimed = true;
			break;
		}
		usleep(100);
	}
	/* No claim from here on: only the select's own wake can help. */
	atomic_store(&f.stop, true);

	if (how == BLOCKING_SELECT) {
		ret = kt_sel_op_result(&op, SEE_MS + KT_TIMEOUT_MS);
		index = ret;
	} else {
		ret = selfd_result(sfd, how, &res);
		index = ret ? ret : res.index;
		if (ret)
			kt_cancel(sfd, &res);
	}
	if (ret == -ETIMEDOUT)
		TH_LOG("round %u: the select did not see the sender on its other channel",
		       round);

	/* Whatever happened, let everyone go: EOF for the faulter. */
	kchan_close(a);
	pthread_join(f.thread, NULL);
	EXPECT_EQ(0, f.last);
	if (index != 1) {
		/* The sender still waits: take its message. */
		EXPECT_EQ(MSG_LEN, kt_recv(b, buf, sizeof(buf)));
	}
	pthread_join(s.thread, NULL);
	EXPECT_EQ(MSG_LEN, s.ret);
	EXPECT_TRUE(kt_check(buf, MSG_LEN, round)) {
		TH_LOG("round %u: the sender's message was not received whole",
		       round);
	}
	return index;
}

static void reoffer(struct __test_metadata *_metadata, enum wait_how how)
{
	unsigned int round, claimed_rounds = 0;
	bool claimed;
	int a, b, sfd = -1, index;
	void *bad;

	bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bad);
	if (how != BLOCKING_SELECT) {
		sfd = kt_selfd(O_CLOEXEC);
		ASSERT_LE(0, sfd) TH_LOG("select fd: %s", strerror(-sfd));
	}
	b = kt_make(0, MSG_MAX, 0, O_CLOEXEC);
	ASSERT_LE(0, b);
	for (round = 1; round <= ROUNDS; round++) {
		a = kt_make(0, MSG_MAX, 0, O_CLOEXEC);
		ASSERT_LE(0, a);
		index = reoffer_round(_metadata, a, b, sfd, bad, how, round,
				      &claimed);
		close(a);
		claimed_rounds += claimed;
		/* Case 0's send never completes: every claim of it fails. */
		ASSERT_EQ(1, index) TH_LOG("round %u: %d (%s)", round, index,
					    index < 0 ? strerror(-index) : "");
	}
	ksft_print_msg("%u rounds, %u with the sender seen blocked: it came during a claim\n",
		       ROUNDS, claimed_rounds);
	/* The test runs in a child that leaves with _exit(). */
	fflush(stdout);
	kt_expect_idle(_metadata, b);
	close(b);
	if (sfd >= 0)
		close(sfd);
	munmap(bad, 4096);
}

TEST(a_blocked_select_takes_a_send_that_came_while_it_was_claimed)
{
	reoffer(_metadata, BLOCKING_SELECT);
}

TEST(a_polled_select_file_takes_a_send_that_came_while_it_was_claimed)
{
	reoffer(_metadata, SELFD_POLL);
}

TEST(a_read_select_file_takes_a_send_that_came_while_it_was_claimed)
{
	reoffer(_metadata, SELFD_READ);
}

TEST(an_epolled_select_file_takes_a_send_that_came_while_it_was_claimed)
{
	reoffer(_metadata, SELFD_EPOLL);
}

TEST_HARNESS_MAIN
