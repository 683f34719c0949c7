// SPDX-License-Identifier: GPL-2.0
/*
 * Persistent select files (KCHAN_SELECT_PERSIST): a receive case set
 * armed once and collected again and again, Go's "for { select {...} }"
 * as an epoll set. One case commits per collection, nothing is lost or
 * received twice, a message in custody goes back on cancel or close, a
 * closed channel is reported once, readiness is right for poll, epoll
 * and io_uring, and the set is charged to its user while it is armed.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kt.h"
#include "kt_sys.h"
#include "kt_select.h"
#include "kt_fixture.h"

#define MSG_MAX		64
/* Above the largest msg_max whose channel keeps slots (kchan(7), Limits). */
#define UNSLOTTED_MAX	512
#define CAPACITY	4
#define NCH		4
#define ROUNDS		300
#define MANY		1024

/* A message names its channel and its number on that channel. */
struct pmsg {
	unsigned int ch;
	unsigned int seq;
};

FIXTURE(persist) {
	int ch[NCH];
	int sfd;
	unsigned int capacity;
	struct pmsg got[NCH];
	struct kchan_case c[NCH];
};

KT_CHAN_VARIANTS(persist, CAPACITY);

FIXTURE_SETUP(persist)
{
	int i;

	self->capacity = variant->capacity;
	for (i = 0; i < NCH; i++) {
		self->ch[i] = kt_chan_setup(_metadata, variant->capacity,
					    MSG_MAX);
		self->c[i] = kt_case_recv(self->ch[i], &self->got[i],
					  sizeof(self->got[i]));
	}
	self->sfd = kt_selfd(O_CLOEXEC);
	ASSERT_LE(0, self->sfd) TH_LOG("select fd: %s", strerror(-self->sfd));
}

FIXTURE_TEARDOWN(persist)
{
	int i;

	close(self->sfd);
	for (i = 0; i < NCH; i++)
		close(self->ch[i]);
}

static int send_pmsg(int fd, unsigned int ch, unsigned int seq)
{
	struct pmsg m = { .ch = ch, .seq = seq };

	return kt_send(fd, &m, sizeof(m)) == sizeof(m) ? 0 : -errno;
}

static int arm_persist(int sfd, const struct kchan_case *c, unsigned int n)
{
	return kt_arm(sfd, c, n, KCHAN_SELECT_PERSIST, NULL);
}

/* fdinfo's kchan-select-armed: 1 while armed, or -errno. */
static int armed(int sfd)
{
	unsigned long long v;
	int ret = kt_fdinfo_u64(sfd, "kchan-select-armed", NULL, &v);

	return ret ? ret : (int)v;
}

/* fdinfo's kchan-select-persistent, or -errno. */
static int persistent(int sfd)
{
	unsigned long long v;
	int ret = kt_fdinfo_u64(sfd, "kchan-select-persistent", NULL, &v);

	return ret ? ret : (int)v;
}

/* The feature bit, and KCHAN_CTL_SELECT has nothing to persist. */
TEST_F(persist, feature_reported_and_a_blocking_select_rejects_the_flag)
{
	struct kchan_version v;

	ASSERT_EQ(0, kt_version(&v));
	EXPECT_TRUE(!!(v.features & KCHAN_FEATURE_SELECT_PERSIST));
	EXPECT_EQ(-EINVAL, kt_select(self->c, NCH,
				     KCHAN_SELECT_PERSIST | KCHAN_SELECT_NONBLOCK,
				     NULL));
}

/* A send case cannot persist: EINVAL names it, nothing is armed or sent. */
TEST_F(persist, a_send_case_is_einval_and_arms_nothing)
{
	struct kchan_select_result res;
	struct kchan_case c[3];
	struct pmsg m = { 0 };
	int bad = -2;

	c[0] = self->c[0];
	c[1] = self->c[1];
	c[2] = kt_case_send(self->ch[2], &m, sizeof(m));
	EXPECT_EQ(-EINVAL, kt_arm(self->sfd, c, 3, KCHAN_SELECT_PERSIST, &bad));
	EXPECT_EQ(2, bad);
	EXPECT_EQ(0, armed(self->sfd));
	EXPECT_EQ(-ENOTCONN, kt_sel_read(self->sfd, &res));
	kt_expect_nothing_sent(_metadata, self->ch[2]);
	kt_expect_idle(_metadata, self->ch[0]);
}

/*
 * Readiness cases cannot persist either, nor can a case or'ed with
 * KCHAN_OP_OR_READY, even on a channel: EINVAL names the case, nothing
 * is armed or queued, and the file arms its receives afterwards.
 */
TEST_F(persist, a_readiness_case_is_einval_and_arms_nothing)
{
	struct kchan_select_result res;
	struct kchan_case c[NCH];
	int p[2], i, bad;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	for (i = 0; i < 4; i++) {
		memcpy(c, self->c, sizeof(c));
		switch (i) {
		case 0:
			c[1] = kt_case_watch(p[0], true);
			break;
		case 1:
			c[1] = kt_case_watch(p[1], false);
			break;
		case 2:
			c[1].op |= KCHAN_OP_OR_READY;	/* a channel */
			break;
		case 3:
			c[1] = kt_case_recv(p[0], &self->got[1],
					    sizeof(self->got[1]));
			c[1].op |= KCHAN_OP_OR_READY;	/* a pipe */
			break;
		}
		bad = -2;
		EXPECT_EQ(-EINVAL, kt_arm(self->sfd, c, NCH,
					  KCHAN_SELECT_PERSIST, &bad))
			TH_LOG("case kind %d", i);
		EXPECT_EQ(1, bad) TH_LOG("case kind %d", i);
		EXPECT_EQ(0, armed(self->sfd));
		EXPECT_EQ(-ENOTCONN, kt_sel_read(self->sfd, &res));
		kt_expect_idle(_metadata, self->ch[0]);
		kt_expect_idle(_metadata, self->ch[1]);
	}
	/* Without the flag, the same readiness case arms. */
	EXPECT_EQ(0, kt_arm(self->sfd, c, NCH, 0, NULL));
	EXPECT_EQ(0, kt_cancel(self->sfd, &res));
	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	ASSERT_EQ(0, send_pmsg(self->ch[1], 1, 7));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(1, res.index);
	EXPECT_EQ(7u, self->got[1].seq);
	EXPECT_EQ(1, armed(self->sfd));
	close(p[0]);
	close(p[1]);
}

/*
 * A persistent select file stays armed for good: a readiness case of
 * another select file cannot watch it (nor could two hold each other
 * open), while it keeps working; an epoll set watches it instead.
 */
TEST_F(persist, a_readiness_case_on_a_persistent_select_file_is_einval)
{
	struct kchan_select_result res;
	struct kchan_case c[2];
	int other, bad = -2;

	other = kt_selfd(O_CLOEXEC);
	ASSERT_LE(0, other) TH_LOG("select fd: %s", strerror(-other));
	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	c[0] = kt_case_watch(self->ch[0], true);
	c[1] = kt_case_watch(self->sfd, true);
	EXPECT_EQ(-EINVAL, kt_arm(other, c, 2, 0, &bad));
	EXPECT_EQ(1, bad);
	EXPECT_EQ(0, armed(other));
	/* Without that case the other file arms. */
	EXPECT_EQ(0, kt_arm(other, c, 1, 0, NULL));
	EXPECT_EQ(0, kt_cancel(other, &res));
	/* The persistent one was not disturbed. */
	EXPECT_EQ(1, armed(self->sfd));
	ASSERT_EQ(0, send_pmsg(self->ch[2], 2, 5));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(2, res.index);
	EXPECT_EQ(5u, self->got[2].seq);
	EXPECT_EQ(1, armed(self->sfd));
	close(other);
}

/*
 * A deadline cannot persist (poll's timeout bounds the wait): EINVAL
 * with no case named, nothing armed, while a one-shot arm takes it.
 */
TEST_F(persist, a_deadline_is_einval_and_arms_nothing)
{
	struct kchan_select_result res;
	int bad = -2;

	EXPECT_EQ(-EINVAL, kt_arm_full(self->sfd, self->c, NCH,
				       KCHAN_SELECT_PERSIST |
				       KCHAN_SELECT_DEADLINE,
				       kt_deadline_ns(10000), &bad));
	EXPECT_EQ(-1, bad);
	EXPECT_EQ(0, armed(self->sfd));
	EXPECT_EQ(-ENOTCONN, kt_sel_read(self->sfd, &res));
	kt_expect_idle(_metadata, self->ch[0]);
	EXPECT_EQ(0, kt_arm_full(self->sfd, self->c, NCH,
				 KCHAN_SELECT_DEADLINE,
				 kt_deadline_ns(10000), NULL));
	EXPECT_EQ(0, kt_cancel(self->sfd, &res));
	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	EXPECT_EQ(1, armed(self->sfd));
}

/*
 * Armed once, collected ROUNDS times, one message at a time on a
 * channel chosen at random: each read names that channel with its
 * message, and the select stays armed.
 */
TEST_F(persist, armed_once_collected_many_times)
{
	unsigned int round, seq[NCH] = { 0 }, k, r = 1;
	struct kchan_select_result res;
	int i;

	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	for (i = 0; i < NCH; i++)
		ASSERT_EQ(0, kt_set_nonblock(self->ch[i], true));
	ASSERT_EQ(0, kt_set_nonblock(self->sfd, true));
	for (round = 0; round < ROUNDS; round++) {
		k = kt_rand(&r) % NCH;
		EXPECT_EQ(-EAGAIN, kt_sel_read(self->sfd, &res));
		/* An armed persistent select is a committed receiver. */
		ASSERT_EQ(0, send_pmsg(self->ch[k], k, ++seq[k]))
			TH_LOG("round %u", round);
		ASSERT_EQ(POLLIN, kt_ready_now(self->sfd));
		ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
		ASSERT_EQ((int)k, res.index);
		ASSERT_EQ((int)sizeof(struct pmsg), res.result);
		EXPECT_EQ(0u, res.flags);
		EXPECT_EQ(k, self->got[k].ch);
		EXPECT_EQ(seq[k], self->got[k].seq);
		ASSERT_EQ(1, armed(self->sfd));
	}
	for (i = 0; i < NCH; i++)
		kt_expect_empty(_metadata, self->ch[i]);
}

/*
 * Exactly one case commits per collection: with messages on every
 * channel, the select takes one into custody and leaves the others in
 * their channels (a rendezvous sender finds no committed receiver left:
 * EAGAIN), until it is read.
 */
TEST_F(persist, one_case_commits_per_collection)
{
	struct kchan_select_result res;
	unsigned int seen = 0;
	struct kchan_stat st;
	int i, queued = 0;

	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	ASSERT_EQ(0, kt_set_nonblock(self->sfd, true));
	for (i = 0; i < NCH; i++) {
		ASSERT_EQ(0, kt_set_nonblock(self->ch[i], true));
		if (!self->capacity && i) {
			EXPECT_EQ(-EAGAIN, send_pmsg(self->ch[i], i, 1));
			continue;
		}
		ASSERT_EQ(0, send_pmsg(self->ch[i], i, 1));
	}
	for (i = 0; i < NCH; i++) {
		ASSERT_EQ(0, kt_stat(self->ch[i], &st));
		queued += st.queued;
	}
	EXPECT_EQ(self->capacity ? NCH - 1 : 0, queued);
	for (i = 0; i < (self->capacity ? NCH : 1); i++) {
		ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
		ASSERT_LE(0, res.index);
		ASSERT_GT(NCH, res.index);
		EXPECT_EQ(0u, seen & 1u << res.index);
		seen |= 1u << res.index;
		EXPECT_EQ((unsigned int)res.index, self->got[res.index].ch);
		EXPECT_EQ(1u, self->got[res.index].seq);
	}
	EXPECT_EQ(-EAGAIN, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, kt_ready_now(self->sfd));
	for (i = 0; i < NCH; i++)
		kt_expect_empty(_metadata, self->ch[i]);
}

/* With KCHAN_SELECT_PRIORITY the ready cases come in array order. */
TEST_F(persist, priority_collects_in_array_order)
{
	struct kchan_select_result res;
	int i;

	if (!self->capacity)
		SKIP(return, "needs messages queued on several channels");
	for (i = NCH - 1; i >= 0; i--)
		ASSERT_EQ(0, send_pmsg(self->ch[i], i, 1));
	ASSERT_EQ(0, kt_arm(self->sfd, self->c, NCH,
			    KCHAN_SELECT_PERSIST | KCHAN_SELECT_PRIORITY, NULL));
	for (i = 0; i < NCH; i++) {
		ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
		EXPECT_EQ(i, res.index);
	}
	/*
	 * The last case commits alone; two more become ready while it
	 * waits to be read: after it, the first of those in array order.
	 */
	ASSERT_EQ(0, send_pmsg(self->ch[NCH - 1], NCH - 1, 2));
	ASSERT_EQ(0, send_pmsg(self->ch[2], 2, 2));
	ASSERT_EQ(0, send_pmsg(self->ch[0], 0, 2));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(NCH - 1, res.index);
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(2, res.index);
	EXPECT_EQ(2u, self->got[2].seq);
}

/* Raise the soft limit on descriptors to @n, or fail. */
static int want_fds(rlim_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur >= n)
		return 0;
	rl.rlim_cur = n;
	if (rl.rlim_max < n)
		rl.rlim_max = n;
	return setrlimit(RLIMIT_NOFILE, &rl) ? -errno : 0;
}

/* MANY channels, one ready at a time: each collection names it. */
TEST(many_cases_one_ready_each_time)
{
	static struct kchan_case c[MANY];
	static int ch[MANY];
	struct kchan_select_result res;
	struct pmsg got;
	unsigned int i, k, r = 7;
	int sfd;

	ASSERT_EQ(0, want_fds(MANY + 64));
	for (i = 0; i < MANY; i++) {
		ch[i] = kt_make(0, MSG_MAX, 0, O_CLOEXEC | O_NONBLOCK);
		ASSERT_LE(0, ch[i]);
		c[i] = kt_case_recv(ch[i], &got, sizeof(got));
	}
	sfd = kt_selfd(O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, arm_persist(sfd, c, MANY));
	for (i = 0; i < 2 * MANY; i++) {
		k = i < MANY ? MANY - 1 - i : kt_rand(&r) % MANY;
		ASSERT_EQ(0, send_pmsg(ch[k], k, i));
		ASSERT_EQ(0, kt_sel_read(sfd, &res));
		ASSERT_EQ((int)k, res.index);
		ASSERT_EQ(k, got.ch);
		ASSERT_EQ(i, got.seq);
	}
	EXPECT_EQ(-EAGAIN, kt_sel_read(sfd, &res));
	close(sfd);
	for (i = 0; i < MANY; i++) {
		kt_expect_idle(_metadata, ch[i]);
		close(ch[i]);
	}
}

/* Senders in threads, one per channel, each sending seq 1..count. */
struct feeder {
	int fd;
	unsigned int ch;
	unsigned int count;
	int err;
	pthread_t thread;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	unsigned int seq;

	for (seq = 1; seq <= f->count; seq++) {
		f->err = send_pmsg(f->fd, f->ch, seq);
		if (f->err)
			break;
	}
	return NULL;
}

/*
 * Racing senders on every channel, one collector: every message is
 * collected once, in order per channel.
 */
TEST_F(persist, racing_senders_each_message_collected_once)
{
	struct feeder f[NCH];
	struct kchan_select_result res;
	unsigned int next[NCH], total = 0, i;

	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	for (i = 0; i < NCH; i++) {
		f[i] = (struct feeder){ .fd = self->ch[i], .ch = i,
					.count = ROUNDS };
		next[i] = 1;
		ASSERT_EQ(0, pthread_create(&f[i].thread, NULL, feed, &f[i]));
	}
	while (total < NCH * ROUNDS) {
		ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
		ASSERT_LE(0, res.index);
		ASSERT_GT(NCH, res.index);
		ASSERT_EQ((int)sizeof(struct pmsg), res.result);
		i = res.index;
		ASSERT_EQ(i, self->got[i].ch);
		ASSERT_EQ(next[i], self->got[i].seq)
			TH_LOG("channel %u: lost or duplicated", i);
		next[i]++;
		total++;
	}
	for (i = 0; i < NCH; i++) {
		pthread_join(f[i].thread, NULL);
		EXPECT_EQ(0, f[i].err);
		kt_expect_empty(_metadata, self->ch[i]);
	}
}

/*
 * Cancel racing senders: what the collections and the cancel returned,
 * plus what is left in the channels, is every message once.
 */
TEST_F(persist, racing_cancel_loses_and_duplicates_nothing)
{
	struct kchan_select_result res;
	unsigned int round, next[NCH], i, n, cancelled_with = 0;
	struct feeder f[NCH];
	struct pmsg m;
	int ret;

	for (round = 0; round < 40; round++) {
		ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
		for (i = 0; i < NCH; i++) {
			f[i] = (struct feeder){ .fd = self->ch[i], .ch = i,
						.count = self->capacity ?
							 CAPACITY : 1 };
			next[i] = 1;
			ASSERT_EQ(0, pthread_create(&f[i].thread, NULL, feed,
						    &f[i]));
		}
		for (n = 0; n < round % 5; n++) {
			ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
			i = res.index;
			ASSERT_EQ(next[i], self->got[i].seq);
			next[i]++;
		}
		usleep(round % 3 * 50);
		ret = kt_cancel(self->sfd, &res);
		ASSERT_LE(0, ret);
		if (ret == 1) {
			cancelled_with++;
			i = res.index;
			ASSERT_EQ(next[i], self->got[i].seq);
			next[i]++;
		}
		EXPECT_EQ(0, armed(self->sfd));
		/* The rest is in the channels, in order. */
		for (i = 0; i < NCH; i++) {
			while (next[i] <= f[i].count) {
				ASSERT_EQ((ssize_t)sizeof(m),
					  kt_recv(self->ch[i], &m, sizeof(m)));
				ASSERT_EQ(next[i], m.seq)
					TH_LOG("round %u channel %u", round, i);
				next[i]++;
			}
			pthread_join(f[i].thread, NULL);
			ASSERT_EQ(0, f[i].err);
			kt_expect_empty(_metadata, self->ch[i]);
			ASSERT_EQ(0, kt_set_nonblock(self->ch[i], false));
		}
	}
	ksft_print_msg("%u of 40 cancels returned a completed case\n",
		       cancelled_with);
	fflush(stdout);
}

/* Releasing the select file gives the message in custody back, first. */
TEST_F(persist, close_returns_the_message_in_custody)
{
	struct kchan_select_result res;
	struct kchan_stat st;
	struct pmsg m;

	ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	/* Collect one, so that the custody is a rearmed select's. */
	ASSERT_EQ(0, send_pmsg(self->ch[0], 0, 1));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	ASSERT_EQ(0, send_pmsg(self->ch[0], 0, 2));
	ASSERT_EQ(POLLIN, kt_ready_now(self->sfd));
	ASSERT_EQ(0, kt_stat(self->ch[0], &st));
	EXPECT_EQ(0u, st.queued);
	if (self->capacity)
		ASSERT_EQ(0, send_pmsg(self->ch[0], 0, 3));
	close(self->sfd);
	self->sfd = kt_selfd(O_CLOEXEC);
	ASSERT_EQ((ssize_t)sizeof(m), kt_recv(self->ch[0], &m, sizeof(m)));
	EXPECT_EQ(2u, m.seq);
	if (self->capacity) {
		ASSERT_EQ((ssize_t)sizeof(m),
			  kt_recv(self->ch[0], &m, sizeof(m)));
		EXPECT_EQ(3u, m.seq);
	}
	kt_expect_empty(_metadata, self->ch[0]);
	for (int i = 0; i < NCH; i++)
		kt_expect_idle(_metadata, self->ch[i]);
}

/*
 * A closed channel's case: its messages first, then KCHAN_SELECT_CLOSED
 * once, and it leaves the set; the other cases go on.
 */
TEST_F(persist, a_closed_channel_is_reported_once_then_leaves)
{
	struct kchan_select_result res;

	ASSERT_EQ(0, kt_set_nonblock(self->sfd, true));
	ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	ASSERT_EQ(0, kt_set_nonblock(self->ch[1], true));
	ASSERT_EQ(0, arm_persist(self->sfd, self->c, 2));
	ASSERT_EQ(0, send_pmsg(self->ch[0], 0, 1));
	ASSERT_EQ(0, kchan_close(self->ch[0]));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ((int)sizeof(struct pmsg), res.result);
	EXPECT_EQ(1u, self->got[0].seq);
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(0, res.result);
	EXPECT_EQ(KCHAN_SELECT_CLOSED, res.flags);
	/* Once: not ready again for the closed channel. */
	EXPECT_EQ(-EAGAIN, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, kt_ready_now(self->sfd));
	ASSERT_EQ(0, send_pmsg(self->ch[1], 1, 1));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(1, res.index);
	EXPECT_EQ(1u, self->got[1].seq);
	/* A close while another case is in custody is reported after it. */
	ASSERT_EQ(0, send_pmsg(self->ch[1], 1, 2));
	ASSERT_EQ(0, kchan_close(self->ch[1]));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(1, res.index);
	EXPECT_EQ(2u, self->got[1].seq);
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(1, res.index);
	EXPECT_EQ(KCHAN_SELECT_CLOSED, res.flags);
	EXPECT_EQ(-EAGAIN, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(1, armed(self->sfd));
}

/*
 * Poll and edge-triggered epoll: readable exactly while a result waits,
 * and a new edge for every case that commits after a collection, also
 * one that commits within the read that collected the one before.
 */
TEST_F(persist, poll_and_edge_triggered_epoll_see_each_result)
{
	struct kchan_select_result res;
	struct epoll_event ev;
	int ep, i;

	ep = kt_epoll_for(self->sfd, EPOLLIN | EPOLLET);
	ASSERT_LE(0, ep);
	for (i = 0; i < NCH; i++)
		ASSERT_EQ(0, kt_set_nonblock(self->ch[i], true));
	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	EXPECT_EQ(0, kt_ready_now(self->sfd));
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, send_pmsg(self->ch[i], i, 1));
		ASSERT_EQ(1, epoll_wait(ep, &ev, 1, KT_TIMEOUT_MS));
		EXPECT_EQ((unsigned int)EPOLLIN, ev.events);
		EXPECT_EQ(POLLIN, kt_ready_now(self->sfd));
		ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
		EXPECT_EQ(i, res.index);
		EXPECT_EQ(0, kt_ready_now(self->sfd));
		EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	}
	if (!self->capacity)
		goto out;
	/* Two waiting: the read of one commits the other, a new edge. */
	ASSERT_EQ(0, send_pmsg(self->ch[0], 0, 2));
	ASSERT_EQ(0, send_pmsg(self->ch[1], 1, 2));
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, KT_TIMEOUT_MS));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(POLLIN, kt_ready_now(self->sfd));
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, KT_TIMEOUT_MS));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, kt_ready_now(self->sfd));
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
out:
	close(ep);
}

/*
 * Between a commit and the read that collects it, the set's other cases
 * stay queued but are nobody's partner: their rendezvous channels poll
 * writable again only once the set waits again, as non-blocking writes
 * find them, and an edge-triggered epoll that looked in between gets the
 * edge when they come back.
 */
TEST_F(persist, other_cases_make_a_channel_writable_only_while_the_set_waits)
{
	struct pmsg m = { .ch = 1, .seq = 1 };
	struct kchan_select_result res;
	struct epoll_event ev;
	int ep, edge, i;
	ssize_t sent;

	for (i = 0; i < NCH; i++)
		ASSERT_EQ(0, kt_set_nonblock(self->ch[i], true));
	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	for (i = 0; i < NCH && !self->capacity; i++)
		EXPECT_EQ(POLLOUT, kt_ready_now(self->ch[i]));
	ASSERT_EQ(0, send_pmsg(self->ch[0], 0, 1));
	EXPECT_EQ(POLLIN, kt_ready_now(self->sfd));

	/* Done through ch[0], not collected. */
	ep = kt_epoll_for(self->ch[2], EPOLLOUT | EPOLLET);
	ASSERT_LE(0, ep);
	edge = epoll_wait(ep, &ev, 1, 0);
	sent = kt_expect_poll_agrees(_metadata, self->ch[1], true, &m,
				     sizeof(m));
	EXPECT_EQ(sent > 0, edge == 1);
	if (!self->capacity)
		EXPECT_EQ(-EAGAIN, sent);

	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(1u, self->got[0].seq);
	if (self->capacity)
		goto out;
	/* Waiting again: every other case is a partner again, and says so. */
	EXPECT_EQ(1, epoll_wait(ep, &ev, 1, KT_TIMEOUT_MS));
	for (i = 1; i < NCH; i++)
		EXPECT_EQ(POLLOUT, kt_ready_now(self->ch[i]));
	ASSERT_EQ(0, send_pmsg(self->ch[1], 1, 2));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(1, res.index);
	EXPECT_EQ(2u, self->got[1].seq);
out:
	close(ep);
}

/* One io_uring read per collection, on the same armed set. */
TEST_F(persist, io_uring_reads_collect_again_and_again)
{
	struct kchan_select_result res;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	unsigned int round, k;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	for (round = 0; round < 50; round++) {
		struct __kernel_timespec ts = { .tv_sec = 10 };

		k = round % NCH;
		res.index = -2;
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, self->sfd, &res, sizeof(res), 0);
		ASSERT_EQ(1, io_uring_submit(&ring));
		if (round % 2)
			EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&ring, &cqe));
		ASSERT_EQ(0, send_pmsg(self->ch[k], k, round));
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
		ASSERT_EQ((int)sizeof(res), cqe->res);
		io_uring_cqe_seen(&ring, cqe);
		ASSERT_EQ((int)k, res.index);
		ASSERT_EQ(round, self->got[k].seq);
	}
	io_uring_queue_exit(&ring);
}

/*
 * The case set is charged while armed and the same after every
 * collection; a message in custody stays charged until read; all of it
 * is given back when the file closes.
 */
TEST_F(persist, charged_while_armed_and_given_back)
{
	struct kchan_select_result res;
	struct kchan_version v;
	unsigned long long before, armed_bytes, custody;
	unsigned int round;

	/* Messages that take no slot: each is charged to its sender. */
	close(self->ch[0]);
	self->ch[0] = kt_chan_setup(_metadata, self->capacity, UNSLOTTED_MAX);
	self->c[0] = kt_case_recv(self->ch[0], &self->got[0],
				  sizeof(self->got[0]));
	ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	ASSERT_EQ(0, kt_version(&v));
	before = v.user_bytes;
	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	ASSERT_EQ(0, kt_version(&v));
	armed_bytes = v.user_bytes;
	EXPECT_LT(before, armed_bytes);
	for (round = 0; round < 20; round++) {
		ASSERT_EQ(0, send_pmsg(self->ch[0], 0, round));
		ASSERT_EQ(0, kt_version(&v));
		custody = v.user_bytes;
		EXPECT_LT(armed_bytes, custody);
		ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
		ASSERT_EQ(0, kt_version(&v));
		EXPECT_EQ(armed_bytes, v.user_bytes);
	}
	ASSERT_EQ(0, send_pmsg(self->ch[0], 0, round));
	close(self->sfd);
	self->sfd = kt_selfd(O_CLOEXEC);
	ASSERT_EQ(0, kt_version(&v));
	EXPECT_EQ(before, v.user_bytes - (custody - armed_bytes));
	kt_expect_idle(_metadata, self->ch[0]);
}

/*
 * A case whose buffer is too small is reported (EMSGSIZE) each time it
 * is chosen and stays in the set, its message left in its channel; the
 * other cases are still chosen beside it.
 */
TEST_F(persist, a_too_small_buffer_is_emsgsize_each_time_and_stays)
{
	struct feeder f0 = { .fd = self->ch[0], .ch = 0, .count = 1 };
	struct feeder f1 = { .fd = self->ch[1], .ch = 1, .count = 1 };
	struct pollfd pfd = { .fd = self->sfd, .events = POLLIN };
	char small[sizeof(struct pmsg) - 1];
	struct kchan_select_result res;
	struct kchan_case c[2];
	long long deadline;
	unsigned int n;
	struct pmsg m;

	c[0] = kt_case_recv(self->ch[0], small, sizeof(small));
	c[1] = self->c[1];
	ASSERT_EQ(0, arm_persist(self->sfd, c, 2));
	ASSERT_EQ(0, pthread_create(&f0.thread, NULL, feed, &f0));
	ASSERT_EQ(1, poll(&pfd, 1, KT_TIMEOUT_MS));
	for (n = 0; n < 3; n++) {
		ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
		EXPECT_EQ(0, res.index);
		EXPECT_EQ(-EMSGSIZE, res.result);
		ASSERT_EQ(1, armed(self->sfd));
		/* Chosen again at once: the message is still there. */
		ASSERT_EQ(POLLIN, kt_ready_now(self->sfd)) TH_LOG("read %u", n);
	}
	ASSERT_EQ(0, pthread_create(&f1.thread, NULL, feed, &f1));
	/* Chosen at random beside the other one, once its sender came. */
	res.index = -1;
	deadline = kt_now_ms() + KT_TIMEOUT_MS;
	while (res.index != 1 && kt_now_ms() < deadline) {
		ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
		if (res.index == 0) {
			EXPECT_EQ(-EMSGSIZE, res.result);
			continue;
		}
		ASSERT_EQ(1, res.index);
		ASSERT_EQ((int)sizeof(struct pmsg), res.result);
		EXPECT_EQ(1u, self->got[1].ch);
		EXPECT_EQ(1u, self->got[1].seq);
	}
	ASSERT_EQ(1, res.index) TH_LOG("the other case never chosen");
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(0, res.index);
	EXPECT_EQ(-EMSGSIZE, res.result);
	ASSERT_LE(0, kt_cancel(self->sfd, &res));
	/* The message that did not fit is still first in its channel. */
	ASSERT_EQ((ssize_t)sizeof(m), kt_recv(self->ch[0], &m, sizeof(m)));
	EXPECT_EQ(1u, m.seq);
	pthread_join(f0.thread, NULL);
	pthread_join(f1.thread, NULL);
	EXPECT_EQ(0, f0.err);
	EXPECT_EQ(0, f1.err);
	kt_expect_empty(_metadata, self->ch[0]);
	kt_expect_empty(_metadata, self->ch[1]);
}

/*
 * The same channel twice in the set: each message is collected once, in
 * order, by one case or the other, and its close is reported once per
 * case.
 */
TEST_F(persist, the_same_channel_twice_each_message_once)
{
	struct feeder f = { .fd = self->ch[0], .ch = 0, .count = ROUNDS };
	struct pollfd pfd = { .fd = self->sfd, .events = POLLIN };
	struct kchan_select_result res;
	unsigned int seq, by[2] = { 0 };
	struct pmsg got[2];
	struct kchan_case c[2];
	int first;

	c[0] = kt_case_recv(self->ch[0], &got[0], sizeof(got[0]));
	c[1] = kt_case_recv(self->ch[0], &got[1], sizeof(got[1]));
	ASSERT_EQ(0, arm_persist(self->sfd, c, 2));
	ASSERT_EQ(0, pthread_create(&f.thread, NULL, feed, &f));
	for (seq = 1; seq <= ROUNDS; seq++) {
		ASSERT_EQ(1, poll(&pfd, 1, KT_TIMEOUT_MS)) TH_LOG("seq %u", seq);
		ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
		ASSERT_LE(0, res.index);
		ASSERT_GT(2, res.index);
		ASSERT_EQ((int)sizeof(struct pmsg), res.result);
		ASSERT_EQ(seq, got[res.index].seq) TH_LOG("lost or duplicated");
		by[res.index]++;
	}
	pthread_join(f.thread, NULL);
	ASSERT_EQ(0, f.err);
	ASSERT_EQ(0, kchan_close(self->ch[0]));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(KCHAN_SELECT_CLOSED, res.flags);
	first = res.index;
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(KCHAN_SELECT_CLOSED, res.flags);
	EXPECT_EQ(1 - first, res.index);
	ASSERT_EQ(0, kt_set_nonblock(self->sfd, true));
	EXPECT_EQ(-EAGAIN, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(1, armed(self->sfd));
	kt_expect_idle(_metadata, self->ch[0]);
	ksft_print_msg("%u by the first case, %u by the second\n", by[0],
		       by[1]);
	fflush(stdout);
}

/*
 * Only the process that armed the set collects it (EPERM, as for a
 * one-shot set), and a refused read or cancel leaves it armed, its
 * completed case in custody.
 */
TEST_F(persist, another_process_gets_eperm_and_the_set_stays)
{
	struct kchan_select_result res;
	unsigned int seq;

	ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	for (seq = 1; seq <= 2; seq++) {
		ASSERT_EQ(0, send_pmsg(self->ch[0], 0, seq));
		ASSERT_EQ(POLLIN, kt_ready_now(self->sfd));
		EXPECT_EQ(1, kt_sel_other_process_eperm(self->sfd));
		ASSERT_EQ(1, armed(self->sfd));
		ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
		EXPECT_EQ(0, res.index);
		EXPECT_EQ(seq, self->got[0].seq);
	}
	kt_expect_empty(_metadata, self->ch[0]);
}

/* fdinfo names a persistent set, and only while it is armed. */
TEST_F(persist, fdinfo_says_persistent_while_armed)
{
	struct kchan_select_result res;

	ASSERT_EQ(0, kt_set_nonblock(self->ch[0], true));
	EXPECT_EQ(0, persistent(self->sfd));
	ASSERT_EQ(0, arm_persist(self->sfd, self->c, NCH));
	EXPECT_EQ(1, persistent(self->sfd));
	ASSERT_EQ(0, send_pmsg(self->ch[0], 0, 1));
	ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
	EXPECT_EQ(1, persistent(self->sfd));
	ASSERT_EQ(0, kt_cancel(self->sfd, &res));
	EXPECT_EQ(0, persistent(self->sfd));
	ASSERT_EQ(0, kt_arm(self->sfd, self->c, NCH, 0, NULL));
	EXPECT_EQ(1, armed(self->sfd));
	EXPECT_EQ(0, persistent(self->sfd));
	ASSERT_EQ(0, kt_cancel(self->sfd, &res));
}

/*
 * Torture: senders on four channels, the last one in the set twice, a
 * closer closing them all in a random order while the collector reads
 * (each read re-arms the cases that left their queues). Every message
 * sent is collected once, in order, and each case reports its close
 * once; the select never stops seeing a case that is ready (a bounded
 * poll), and no case of a closed channel is offered again.
 */
#define TORTURE_CASES	(NCH + 1)
#define TORTURE_MSGS	200
#define TORTURE_MS	4000

struct torture {
	int ch[NCH];
	unsigned int sent[NCH];		/* by each sender, read after join */
	int send_err[NCH];
	int close_err;
	unsigned int seed;
};

struct torture_sender {
	struct torture *t;
	unsigned int i;
	pthread_t thread;
};

static void *torture_send(void *arg)
{
	struct torture_sender *s = arg;
	struct torture *t = s->t;
	unsigned int seq;
	int err;

	for (seq = 1; seq <= TORTURE_MSGS; seq++) {
		err = send_pmsg(t->ch[s->i], s->i, seq);
		if (err) {
			/* Only the close may stop a sender. */
			if (err != -EPIPE)
				t->send_err[s->i] = err;
			break;
		}
		t->sent[s->i] = seq;
	}
	return NULL;
}

static void *torture_close(void *arg)
{
	struct torture *t = arg;
	unsigned int order[NCH], i, j, tmp, r = t->seed;
	int err;

	for (i = 0; i < NCH; i++)
		order[i] = i;
	for (i = NCH - 1; i > 0; i--) {
		j = kt_rand(&r) % (i + 1);
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < NCH; i++) {
		usleep(kt_rand(&r) % 500);
		err = kchan_close(t->ch[order[i]]);
		if (err)
			t->close_err = err;
	}
	return NULL;
}

TEST_F(persist, torture_close_and_rearm_while_senders_race)
{
	static const unsigned int case_ch[TORTURE_CASES] = { 0, 1, 2, 3, 3 };
	struct pmsg got[TORTURE_CASES];
	struct kchan_case c[TORTURE_CASES];
	struct torture_sender snd[NCH];
	struct kchan_select_result res;
	unsigned int round, i, k, nclosed, next[NCH];
	bool closed[TORTURE_CASES];
	long long start = kt_now_ms();
	struct torture t;
	pthread_t closer;
	struct pollfd pfd;

	/* A few rounds, then more for a while, within the harness's time. */
	for (round = 0; round < 3 || kt_now_ms() - start < TORTURE_MS;
	     round++) {
		memset(&t, 0, sizeof(t));
		t.seed = round + 1;
		for (i = 0; i < NCH; i++) {
			t.ch[i] = kt_chan_setup(_metadata, self->capacity,
						MSG_MAX);
			next[i] = 1;
		}
		for (i = 0; i < TORTURE_CASES; i++) {
			c[i] = kt_case_recv(t.ch[case_ch[i]], &got[i],
					    sizeof(got[i]));
			closed[i] = false;
		}
		ASSERT_EQ(0, arm_persist(self->sfd, c, TORTURE_CASES));
		for (i = 0; i < NCH; i++) {
			snd[i] = (struct torture_sender){ .t = &t, .i = i };
			ASSERT_EQ(0, pthread_create(&snd[i].thread, NULL,
						    torture_send, &snd[i]));
		}
		ASSERT_EQ(0, pthread_create(&closer, NULL, torture_close,
					    &t));
		for (nclosed = 0; nclosed < TORTURE_CASES;) {
			pfd = (struct pollfd){ .fd = self->sfd,
					       .events = POLLIN };
			ASSERT_EQ(1, poll(&pfd, 1, KT_TIMEOUT_MS)) {
				TH_LOG("round %u: nothing collected for %d ms, %u of %u cases closed: a ready case stranded",
				       round, KT_TIMEOUT_MS, nclosed,
				       TORTURE_CASES);
			}
			ASSERT_EQ(0, kt_sel_read(self->sfd, &res));
			ASSERT_LE(0, res.index);
			ASSERT_GT(TORTURE_CASES, res.index);
			i = res.index;
			k = case_ch[i];
			if (res.flags & KCHAN_SELECT_CLOSED) {
				ASSERT_FALSE(closed[i])
					TH_LOG("round %u case %u closed twice",
					       round, i);
				closed[i] = true;
				nclosed++;
				continue;
			}
			ASSERT_EQ((int)sizeof(struct pmsg), res.result)
				TH_LOG("round %u case %u", round, i);
			ASSERT_FALSE(closed[i]);
			ASSERT_EQ(k, got[i].ch);
			ASSERT_EQ(next[k], got[i].seq)
				TH_LOG("round %u channel %u: lost or duplicated",
				       round, k);
			next[k]++;
		}
		pthread_join(closer, NULL);
		EXPECT_EQ(0, t.close_err);
		for (i = 0; i < NCH; i++) {
			pthread_join(snd[i].thread, NULL);
			EXPECT_EQ(0, t.send_err[i]);
			EXPECT_EQ(t.sent[i], next[i] - 1)
				TH_LOG("round %u channel %u: %u sent, %u collected",
				       round, i, t.sent[i], next[i] - 1);
		}
		/* Every case left the set: nothing to report, nothing queued. */
		ASSERT_EQ(0, kt_cancel(self->sfd, &res));
		for (i = 0; i < NCH; i++) {
			kt_expect_idle(_metadata, t.ch[i]);
			close(t.ch[i]);
		}
	}
	ksft_print_msg("%u rounds\n", round);
	fflush(stdout);
}

TEST_HARNESS_MAIN
