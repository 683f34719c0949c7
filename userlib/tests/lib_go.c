// SPDX-License-Identifier: GPL-2.0
/*
 * Go's channel tests, written against libkchan: doubleselect, select3's
 * nil and closed rules, fifo and the prime sieve (go/test/chan/).
 */
#include "lib_test.h"

#define MSG_MAX		16

/* doubleselect.go: a select sends each value on one of three channels;
 * three muxes forward to one channel; every value arrives exactly once. */
#define DS_N		600

struct ds {
	int c[3], cmux;
	atomic_int muxes_left;
};

static void ds_sender(void *arg)
{
	struct ds *d = arg;
	int i, j;

	for (i = 1; i <= DS_N; i++) {
		struct kchan_op ops[3];

		for (j = 0; j < 3; j++)
			ops[j] = (struct kchan_op){ .fd = d->c[j], .kind = KCHAN_SEND,
						    .buf = &i, .len = sizeof(i) };
		if (kchan_select(ops, 3, 0, KCHAN_FOREVER) < 0)
			return;
	}
	for (j = 0; j < 3; j++)
		kchan_close(d->c[j]);
}

struct ds_mux {
	struct ds *d;
	int in;
};

static void ds_mux(void *arg)
{
	struct ds_mux *m = arg;
	int v;

	while (kchan_recv(m->in, &v, sizeof(v), KCHAN_FOREVER) == sizeof(v))
		kchan_send(m->d->cmux, &v, sizeof(v), KCHAN_FOREVER);
	if (atomic_fetch_sub(&m->d->muxes_left, 1) == 1)
		kchan_close(m->d->cmux);
}

TEST(doubleselect_delivers_every_value_exactly_once)
{
	static unsigned char seen[DS_N + 1];
	struct ds d = { .muxes_left = 3 };
	struct ds_mux mux[3];
	int v, j, total = 0;
	ssize_t n;

	for (j = 0; j < 3; j++) {
		d.c[j] = kchan_make(0, MSG_MAX, 0);
		ASSERT_LE(0, d.c[j]);
	}
	d.cmux = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, d.cmux);
	for (j = 0; j < 3; j++) {
		mux[j] = (struct ds_mux){ .d = &d, .in = d.c[j] };
		ASSERT_EQ(0, kchan_go(ds_mux, &mux[j]));
	}
	ASSERT_EQ(0, kchan_go(ds_sender, &d));
	while ((n = kchan_recv(d.cmux, &v, sizeof(v),
			       kchan_in(60000 * LT_MS))) == sizeof(v)) {
		ASSERT_TRUE(v >= 1 && v <= DS_N);
		ASSERT_EQ(0, seen[v]) TH_LOG("value %d received twice", v);
		seen[v] = 1;
		total++;
	}
	EXPECT_EQ(0, n);
	EXPECT_EQ(DS_N, total);
}

/* select3.go: the rules for nil and closed channels. */
TEST(select3_a_nil_channel_never_proceeds)
{
	char b[MSG_MAX];
	struct kchan_op nil_recv = { .fd = -1, .kind = KCHAN_RECV, .buf = b, .len = 1 };
	struct kchan_op nil_send = { .fd = -1, .kind = KCHAN_SEND, .buf = b, .len = 1 };
	struct kchan_op both[2] = { nil_recv, nil_send };

	EXPECT_EQ(-ETIMEDOUT, kchan_select(&nil_recv, 1, 0, kchan_in(20 * LT_MS)));
	EXPECT_EQ(-ETIMEDOUT, kchan_select(&nil_send, 1, 0, kchan_in(20 * LT_MS)));
	/* With a default case, the default is taken. */
	EXPECT_EQ(-EAGAIN, kchan_select(both, 2, 0, 0));
	/* An empty select blocks (until the deadline). */
	EXPECT_EQ(-ETIMEDOUT, kchan_select(NULL, 0, 0, kchan_in(20 * LT_MS)));
}

TEST(select3_a_closed_channel_always_proceeds_for_a_receive)
{
	int ch = kchan_make(0, MSG_MAX, 0), rv = kchan_make(0, MSG_MAX, 0), i;
	char b[MSG_MAX];

	ASSERT_LE(0, ch);
	ASSERT_LE(0, rv);
	ASSERT_EQ(0, kchan_close(ch));
	for (i = 0; i < 5; i++) {
		struct kchan_op ops[2] = {
			{ .fd = rv, .kind = KCHAN_RECV, .buf = b, .len = sizeof(b) },
			{ .fd = ch, .kind = KCHAN_RECV, .buf = b, .len = sizeof(b) },
		};

		EXPECT_EQ(1, kchan_select(ops, 2, 0, KCHAN_FOREVER));
		EXPECT_EQ(0, ops[1].result);
		EXPECT_EQ(0, kchan_recv(ch, b, sizeof(b), KCHAN_FOREVER));
	}
	/* Go panics on a send to a closed channel; here it is EPIPE. */
	EXPECT_EQ(-EPIPE, kchan_send(ch, "x", 1, KCHAN_FOREVER));
	struct kchan_op send = { .fd = ch, .kind = KCHAN_SEND, .buf = "x", .len = 1 };
	EXPECT_EQ(-EPIPE, kchan_select(&send, 1, 0, 0));
	/* A closed channel's close is an error, as Go's panic. */
	EXPECT_EQ(-EPIPE, kchan_close(ch));
	close(ch);
	close(rv);
}

/* fifo.go: a buffered channel is a FIFO; a chain of receivers is served in turn. */
#define FIFO_N	10

TEST(fifo_asynch)
{
	int ch = kchan_make(FIFO_N, MSG_MAX, 0), i, v;

	ASSERT_LE(0, ch);
	for (i = 0; i < FIFO_N; i++)
		ASSERT_EQ(sizeof(i), kchan_send(ch, &i, sizeof(i), 0));
	for (i = 0; i < FIFO_N; i++) {
		ASSERT_EQ(sizeof(v), kchan_recv(ch, &v, sizeof(v), 0));
		EXPECT_EQ(i, v);
	}
	close(ch);
}

struct link {
	int ch, val, in, out;
	atomic_int *bad;
};

static void chain(void *arg)
{
	struct link *l = arg;
	int token, v;

	kchan_recv(l->in, &token, sizeof(token), KCHAN_FOREVER);
	if (kchan_recv(l->ch, &v, sizeof(v), KCHAN_FOREVER) != sizeof(v) || v != l->val)
		atomic_fetch_add(l->bad, 1);
	token = 1;
	kchan_send(l->out, &token, sizeof(token), KCHAN_FOREVER);
}

TEST(fifo_synch)
{
	struct link links[FIFO_N];
	atomic_int bad = 0;
	int ch = kchan_make(0, MSG_MAX, 0), in, start, i, token = 0;

	ASSERT_LE(0, ch);
	start = in = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, in);
	for (i = 0; i < FIFO_N; i++) {
		int out = kchan_make(0, MSG_MAX, 0);

		ASSERT_LE(0, out);
		links[i] = (struct link){ .ch = ch, .val = i, .in = in, .out = out, .bad = &bad };
		ASSERT_EQ(0, kchan_go(chain, &links[i]));
		in = out;
	}
	ASSERT_EQ(sizeof(token), kchan_send(start, &token, sizeof(token), KCHAN_FOREVER));
	for (i = 0; i < FIFO_N; i++)
		ASSERT_EQ(sizeof(i), kchan_send(ch, &i, sizeof(i), kchan_in(LT_WAIT_MS * LT_MS)));
	ASSERT_EQ(sizeof(token), kchan_recv(in, &token, sizeof(token), kchan_in(LT_WAIT_MS * LT_MS)));
	EXPECT_EQ(0, atomic_load(&bad));
}

/* sieve1.go: the concurrent prime sieve, a thread per filter. */
struct filter {
	int in, out, prime;
};

static void generate(void *arg)
{
	int ch = *(int *)arg, i;

	for (i = 2;; i++)
		if (kchan_send(ch, &i, sizeof(i), KCHAN_FOREVER) < 0)
			return;
}

static void filter(void *arg)
{
	struct filter f = *(struct filter *)arg;
	int i;

	free(arg);
	while (kchan_recv(f.in, &i, sizeof(i), KCHAN_FOREVER) == sizeof(i))
		if (i % f.prime != 0 &&
		    kchan_send(f.out, &i, sizeof(i), KCHAN_FOREVER) < 0)
			return;
}

TEST(prime_sieve)
{
	static const int primes[] = {
		2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53,
		59, 61, 67, 71, 73, 79, 83, 89, 97,
	};
	static int first;
	int ch, i, prime;

	ch = first = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, ch);
	ASSERT_EQ(0, kchan_go(generate, &first));
	for (i = 0; i < (int)(sizeof(primes) / sizeof(primes[0])); i++) {
		struct filter *f = malloc(sizeof(*f));

		ASSERT_EQ(sizeof(prime), kchan_recv(ch, &prime, sizeof(prime),
						    kchan_in(LT_WAIT_MS * LT_MS)));
		EXPECT_EQ(primes[i], prime);
		ASSERT_NE(NULL, f);
		*f = (struct filter){ .in = ch, .out = kchan_make(0, MSG_MAX, 0), .prime = prime };
		ASSERT_LE(0, f->out);
		ch = f->out;
		ASSERT_EQ(0, kchan_go(filter, f));
	}
}

TEST_HARNESS_MAIN
