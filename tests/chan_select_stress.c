// SPDX-License-Identifier: GPL-2.0
/*
 * Select under load: fairness among ready cases (chi-square), priority
 * order, and Go's doubleselect scenario: many processes each selecting
 * over the same channels in both directions, with closes racing them,
 * checked for conservation (every message whose send succeeded received
 * exactly once, none whose send failed received at all).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kt.h"
#include "kt_select.h"

#define MSG_MAX		16
#define FAIR_CASES	4
#define FAIR_ROUNDS	10000
/* chi-square, 3 degrees of freedom, p = 0.001 */
#define CHI2_CRIT_3	16.27

/*
 * Non-blocking selects over @c[0..@n), of which the FAIR_CASES cases
 * @ready[] (channels @fd[]) hold a message every time: the chi-square of
 * the rounds each wins, against a quarter each. A fair select exceeds the
 * p = 0.001 limit once in a thousand runs: only a second sample over the
 * limit too (one in a million) fails the test, while a real bias fails
 * both.
 */
static double fair_chi2(struct __test_metadata *_metadata,
			struct kchan_case *c, unsigned int n,
			const unsigned int *ready, const int *fd)
{
	unsigned int hits[FAIR_CASES], i, round, sample;
	double chi2 = 0, expect = (double)FAIR_ROUNDS / FAIR_CASES;
	char m[8] = "ready";
	int idx;

	for (sample = 0; sample < 2; sample++) {
		memset(hits, 0, sizeof(hits));
		for (round = 0; round < FAIR_ROUNDS; round++) {
			idx = kt_select(c, n, KCHAN_SELECT_NONBLOCK, NULL);
			ASSERT_LE(0, idx) TH_LOG("round %u: %s", round,
						 strerror(-idx));
			for (i = 0; i < FAIR_CASES; i++)
				if (ready[i] == (unsigned int)idx)
					break;
			ASSERT_GT((unsigned int)FAIR_CASES, i)
				TH_LOG("case %d is not ready", idx);
			hits[i]++;
			ASSERT_EQ(8, kt_send(fd[i], m, 8));
		}
		chi2 = 0;
		for (i = 0; i < FAIR_CASES; i++)
			chi2 += (hits[i] - expect) * (hits[i] - expect) / expect;
		ksft_print_msg("%u selects over %u cases, %u ready: %u %u %u %u, chi-square %.2f (limit %.2f)\n",
			       FAIR_ROUNDS, n, FAIR_CASES, hits[0], hits[1],
			       hits[2], hits[3], chi2, CHI2_CRIT_3);
		/* The test runs in a child that leaves with _exit(). */
		fflush(stdout);
		if (chi2 < CHI2_CRIT_3)
			break;
	}
	return chi2;
}

/* Every case ready every time: each must win a quarter of the rounds. */
TEST(fairness_chi_square)
{
	static const unsigned int ready[FAIR_CASES] = { 0, 1, 2, 3 };
	struct kchan_case c[FAIR_CASES];
	char b[MSG_MAX], m[8] = "ready";
	int fd[FAIR_CASES];
	unsigned int i;
	double chi2;

	for (i = 0; i < FAIR_CASES; i++) {
		fd[i] = kchan_make(1, MSG_MAX, 0);
		ASSERT_LE(0, fd[i]);
		ASSERT_EQ(8, kt_send(fd[i], m, 8));
		c[i] = kt_case_recv(fd[i], b, sizeof(b));
	}
	chi2 = fair_chi2(_metadata, c, FAIR_CASES, ready, fd);
	for (i = 0; i < FAIR_CASES; i++)
		close(fd[i]);
	EXPECT_GT(CHI2_CRIT_3, chi2);
}

/*
 * Ready cases among cases that are not (empty channels, a nil case): the
 * ready ones, wherever they are in the array, each win a quarter of the
 * rounds, and the others none.
 */
#define MIXED_CASES	9
TEST(fairness_among_ready_cases)
{
	static const unsigned int ready[FAIR_CASES] = { 1, 4, 5, 8 };
	struct kchan_case c[MIXED_CASES];
	char b[MSG_MAX], m[8] = "ready";
	int fd[MIXED_CASES], rfd[FAIR_CASES];
	unsigned int i;
	double chi2;

	for (i = 0; i < MIXED_CASES; i++) {
		fd[i] = i == 2 ? -1 : kchan_make(1, MSG_MAX, 0);
		ASSERT_TRUE(i == 2 || fd[i] >= 0);
		c[i] = kt_case_recv(fd[i], b, sizeof(b));
	}
	for (i = 0; i < FAIR_CASES; i++) {
		rfd[i] = fd[ready[i]];
		ASSERT_EQ(8, kt_send(rfd[i], m, 8));
	}
	chi2 = fair_chi2(_metadata, c, MIXED_CASES, ready, rfd);
	for (i = 0; i < MIXED_CASES; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	EXPECT_GT(CHI2_CRIT_3, chi2);
}

/* KCHAN_SELECT_PRIORITY: the first ready case in array order, always. */
TEST(priority_order)
{
	struct kchan_case c[FAIR_CASES + 1];
	char b[MSG_MAX], m[8] = "ready";
	int fd[FAIR_CASES], i, round;

	for (i = 0; i < FAIR_CASES; i++) {
		fd[i] = kchan_make(1, MSG_MAX, 0);
		ASSERT_LE(0, fd[i]);
	}
	/* nil, empty, then three ready channels */
	c[0] = kt_case_recv(-1, b, sizeof(b));
	for (i = 0; i < FAIR_CASES; i++)
		c[i + 1] = kt_case_recv(fd[i], b, sizeof(b));
	for (i = 1; i < FAIR_CASES; i++)
		ASSERT_EQ(8, kt_send(fd[i], m, 8));
	for (round = 0; round < 1000; round++) {
		ASSERT_EQ(2, kt_select(c, FAIR_CASES + 1,
				       KCHAN_SELECT_PRIORITY |
				       KCHAN_SELECT_NONBLOCK, NULL));
		ASSERT_EQ(8, kt_send(fd[1], m, 8));
	}
	/* Without the flag the other ready cases get their turns. */
	for (round = 0; round < 100; round++) {
		i = kt_select(c, FAIR_CASES + 1, KCHAN_SELECT_NONBLOCK, NULL);
		ASSERT_LE(2, i);
		ASSERT_EQ(8, kt_send(fd[i - 1], m, 8));
		if (i != 2)
			break;
	}
	EXPECT_GT(100, round);
	for (i = 0; i < FAIR_CASES; i++)
		close(fd[i]);
}

/* doubleselect */

#define DS_CHANS	4
#define DS_WORKERS	4
#define DS_MSGS		300

struct ds_record {
	uint16_t kind;		/* DS_SENT or DS_RECV */
	uint16_t worker;	/* the sender */
	uint32_t seq;
};

enum { DS_SENT = 1, DS_RECV = 2, DS_BAD = 3 };

static void ds_report(int out, uint16_t kind, uint16_t worker, uint32_t seq)
{
	struct ds_record r = { .kind = kind, .worker = worker, .seq = seq };

	if (write(out, &r, sizeof(r)) != sizeof(r))
		_exit(3);
}

/*
 * One worker: selects over a send case and a receive case on every
 * channel until it has sent DS_MSGS messages (or every channel it sends
 * on is closed) and every channel it receives on is closed. A case on a
 * closed channel is switched off by setting its fd to -1.
 */
static void ds_worker(const int *chans, uint16_t me, int out)
{
	struct kchan_case c[2 * DS_CHANS];
	uint32_t seq = 0, msg[2], got[MSG_MAX / 4];
	struct kchan_select res = { .index = -1 };
	bool sending = true;
	int i, idx, live;

	for (i = 0; i < DS_CHANS; i++) {
		c[2 * i] = kt_case_send(chans[i], msg, sizeof(msg));
		c[2 * i + 1] = kt_case_recv(chans[i], got, sizeof(got));
	}
	for (;;) {
		msg[0] = me;
		msg[1] = seq;
		if (sending && seq == DS_MSGS) {
			sending = false;
			for (i = 0; i < DS_CHANS; i++)
				c[2 * i].fd = -1;
		}
		for (live = 0, i = 0; i < 2 * DS_CHANS; i++)
			live += c[i].fd >= 0;
		if (!live)
			break;
		idx = kt_select(c, 2 * DS_CHANS, 0, &res);
		if (idx == -EPIPE) {
			c[res.index].fd = -1;	/* closed: try the others */
			continue;
		}
		if (idx < 0) {
			ds_report(out, DS_BAD, me, -idx);
			_exit(2);
		}
		if (c[idx].op == KCHAN_OP_SEND) {
			ds_report(out, DS_SENT, me, seq++);
			continue;
		}
		if (res.result_flags & KCHAN_SELECT_CLOSED) {
			c[idx].fd = -1;
			continue;
		}
		if (res.len != sizeof(msg))
			ds_report(out, DS_BAD, me, res.len);
		ds_report(out, DS_RECV, got[0], got[1]);
	}
	_exit(0);
}

/*
 * Run DS_WORKERS workers over DS_CHANS channels of @capacity; close the
 * channels once @close_after messages have been received. Check that
 * every message sent was received exactly once and nothing else was.
 */
static void doubleselect(struct __test_metadata *_metadata,
			 unsigned int capacity, unsigned int close_after)
{
	static uint8_t recvd[DS_WORKERS][DS_MSGS];
	static bool sent[DS_WORKERS][DS_MSGS];
	unsigned int nsent = 0, nrecv = 0, dup = 0, lost = 0, ghost = 0;
	int chans[DS_CHANS], pfd[2], i, j, status;
	pid_t pids[DS_WORKERS];
	struct ds_record r;
	bool closed = false;

	memset(recvd, 0, sizeof(recvd));
	memset(sent, 0, sizeof(sent));
	for (i = 0; i < DS_CHANS; i++) {
		chans[i] = kchan_make(capacity, MSG_MAX, 0);
		ASSERT_LE(0, chans[i]);
	}
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	for (i = 0; i < DS_WORKERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			close(pfd[0]);
			ds_worker(chans, i, pfd[1]);
		}
	}
	close(pfd[1]);
	while (read(pfd[0], &r, sizeof(r)) == sizeof(r)) {
		ASSERT_NE(DS_BAD, r.kind) {
			TH_LOG("worker %u: select failed: %s", r.worker,
			       strerror(r.seq));
		}
		ASSERT_GT(DS_WORKERS, (int)r.worker);
		ASSERT_GT(DS_MSGS, (int)r.seq);
		if (r.kind == DS_SENT) {
			sent[r.worker][r.seq] = true;
			nsent++;
		} else {
			recvd[r.worker][r.seq]++;
			nrecv++;
		}
		if (!closed && nrecv >= close_after) {
			for (i = 0; i < DS_CHANS; i++)
				ASSERT_EQ(0, kchan_close(chans[i]));
			closed = true;
		}
	}
	for (i = 0; i < DS_WORKERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) {
			TH_LOG("worker %d: status %#x", i, status);
		}
	}
	close(pfd[0]);
	for (i = 0; i < DS_WORKERS; i++) {
		for (j = 0; j < DS_MSGS; j++) {
			if (sent[i][j] && !recvd[i][j])
				lost++;
			if (recvd[i][j] > 1)
				dup++;
			if (recvd[i][j] && !sent[i][j])
				ghost++;
		}
	}
	ksft_print_msg("capacity %u: %u sends succeeded, %u messages received: %u lost, %u duplicated, %u received from failed sends\n",
		       capacity, nsent, nrecv, lost, dup, ghost);
	/* The test runs in a child that leaves with _exit(). */
	fflush(stdout);
	EXPECT_EQ(0u, lost);
	EXPECT_EQ(0u, dup);
	EXPECT_EQ(0u, ghost);
	EXPECT_EQ(nsent, nrecv);
	if (close_after >= DS_WORKERS * DS_MSGS) {
		EXPECT_EQ((unsigned int)(DS_WORKERS * DS_MSGS), nsent);
	} else {
		EXPECT_LE(close_after, nsent);
	}
	for (i = 0; i < DS_CHANS; i++)
		close(chans[i]);
}

TEST(doubleselect_rendezvous)
{
	doubleselect(_metadata, 0, DS_WORKERS * DS_MSGS);
}

TEST(doubleselect_buffered)
{
	doubleselect(_metadata, 1, DS_WORKERS * DS_MSGS);
}

TEST(doubleselect_rendezvous_closed_midway)
{
	doubleselect(_metadata, 0, DS_WORKERS * DS_MSGS / 3);
}

TEST(doubleselect_buffered_closed_midway)
{
	doubleselect(_metadata, 2, DS_WORKERS * DS_MSGS / 3);
}

TEST_HARNESS_MAIN
