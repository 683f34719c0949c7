// SPDX-License-Identifier: GPL-2.0
/*
 * Thread safety: senders and receivers hammer two channels at once with
 * every libkchan call (sends with short deadlines, selects over channels,
 * mixed selects cancelled by a noisy eventfd, batches). Every message is
 * received exactly once if and only if its send succeeded.
 */
#include <sys/eventfd.h>

#include "lib_test.h"

#define SENDERS		4
#define RECEIVERS	4
#define PER_SENDER	300
#define IDS		(SENDERS * PER_SENDER)

struct storm {
	int rv, bf, noise;
	atomic_uchar sent[IDS];
	atomic_uchar received[IDS];
	atomic_int stop;
	atomic_int errors;
	atomic_uint noise_taken;
	int sender_no[SENDERS], receiver_no[RECEIVERS];
};

static struct storm S;

static void got(uint32_t id)
{
	if (id >= IDS || atomic_fetch_add(&S.received[id], 1) != 0)
		atomic_fetch_add(&S.errors, 1);
}

static void *sender(void *arg)
{
	int me = *(int *)arg, k;

	for (k = 0; k < PER_SENDER; k++) {
		uint32_t id = me * PER_SENDER + k, id2;
		int64_t soon = kchan_in((1 + k % 5) * LT_MS);
		ssize_t r;

		switch ((k + me) % 4) {
		case 0:
			r = kchan_send(k & 1 ? S.rv : S.bf, &id, sizeof(id), soon);
			if (r == sizeof(id))
				atomic_store(&S.sent[id], 1);
			else if (r != -ETIMEDOUT)
				atomic_fetch_add(&S.errors, 1);
			break;
		case 1: {
			struct kchan_op ops[2] = {
				{ .fd = S.rv, .kind = KCHAN_SEND, .buf = &id, .len = sizeof(id) },
				{ .fd = S.bf, .kind = KCHAN_SEND, .buf = &id, .len = sizeof(id) },
			};

			r = kchan_select(ops, 2, 0, soon);
			if (r >= 0)
				atomic_store(&S.sent[id], 1);
			else if (r != -ETIMEDOUT)
				atomic_fetch_add(&S.errors, 1);
			break;
		}
		case 2: {
			struct iovec iov[2];

			if (k + 1 >= PER_SENDER) {
				r = kchan_send(S.bf, &id, sizeof(id), KCHAN_FOREVER);
				if (r == sizeof(id))
					atomic_store(&S.sent[id], 1);
				break;
			}
			id2 = id + 1;
			iov[0] = (struct iovec){ &id, sizeof(id) };
			iov[1] = (struct iovec){ &id2, sizeof(id2) };
			r = kchan_sendv(S.bf, iov, 2, soon);
			if (r >= 1)
				atomic_store(&S.sent[id], 1);
			if (r == 2)
				atomic_store(&S.sent[id2], 1);
			if (r < 0 && r != -ETIMEDOUT)
				atomic_fetch_add(&S.errors, 1);
			k++;
			break;
		}
		default:
			r = kchan_send(S.rv, &id, sizeof(id), KCHAN_FOREVER);
			if (r == sizeof(id))
				atomic_store(&S.sent[id], 1);
			else
				atomic_fetch_add(&S.errors, 1);
		}
	}
	return NULL;
}

static void *receiver(void *arg)
{
	int me = *(int *)arg, round = 0;
	uint32_t a, b;
	uint64_t n;

	while (!atomic_load(&S.stop)) {
		int64_t soon = kchan_in(20 * LT_MS);
		ssize_t r;

		round++;
		switch ((round + me) % 4) {
		case 0:
			r = kchan_recv(round & 1 ? S.rv : S.bf, &a, sizeof(a), soon);
			if (r == sizeof(a))
				got(a);
			break;
		case 1: {
			struct kchan_op ops[2] = {
				{ .fd = S.rv, .kind = KCHAN_RECV, .buf = &a, .len = sizeof(a) },
				{ .fd = S.bf, .kind = KCHAN_RECV, .buf = &b, .len = sizeof(b) },
			};

			r = kchan_select(ops, 2, 0, soon);
			if (r >= 0 && ops[r].result == sizeof(a))
				got(r == 0 ? a : b);
			break;
		}
		case 2: {
			/* Mixed: the noise eventfd cancels armed selects. */
			struct kchan_op ops[3] = {
				{ .fd = S.rv, .kind = KCHAN_RECV, .buf = &a, .len = sizeof(a) },
				{ .fd = S.noise, .kind = KCHAN_RECV, .buf = &n, .len = sizeof(n) },
				{ .fd = S.bf, .kind = KCHAN_RECV, .buf = &b, .len = sizeof(b) },
			};

			r = kchan_select(ops, 3, 0, soon);
			if (r == 1)
				atomic_fetch_add(&S.noise_taken, 1);
			else if (r >= 0 && ops[r].result == sizeof(a))
				got(r == 0 ? a : b);
			break;
		}
		default: {
			struct iovec iov[2] = { { &a, sizeof(a) }, { &b, sizeof(b) } };

			r = kchan_recvv(S.bf, iov, 2, soon);
			if (r >= 1)
				got(a);
			if (r == 2)
				got(b);
		}
		}
	}
	return NULL;
}

static void *noise(void *arg)
{
	uint64_t one = 1;

	(void)arg;
	while (!atomic_load(&S.stop)) {
		if (write(S.noise, &one, sizeof(one)) < 0)
			break;
		lt_sleep_ms(1);
	}
	return NULL;
}

TEST(every_message_is_received_once_iff_its_send_succeeded)
{
	pthread_t s[SENDERS], r[RECEIVERS], nt;
	unsigned int sent = 0, received = 0, i;
	int64_t end;

	S.rv = kchan_make(0, 16, 0);
	S.bf = kchan_make(4, 16, 0);
	S.noise = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, S.rv);
	ASSERT_LE(0, S.bf);
	ASSERT_LE(0, S.noise);
	ASSERT_EQ(0, pthread_create(&nt, NULL, noise, NULL));
	for (i = 0; i < RECEIVERS; i++) {
		S.receiver_no[i] = i;
		ASSERT_EQ(0, pthread_create(&r[i], NULL, receiver, &S.receiver_no[i]));
	}
	for (i = 0; i < SENDERS; i++) {
		S.sender_no[i] = i;
		ASSERT_EQ(0, pthread_create(&s[i], NULL, sender, &S.sender_no[i]));
	}
	for (i = 0; i < SENDERS; i++)
		pthread_join(s[i], NULL);
	/* Whatever is still buffered is drained after the close. */
	ASSERT_EQ(0, kchan_close(S.rv));
	ASSERT_EQ(0, kchan_close(S.bf));
	end = kchan_in(LT_WAIT_MS * LT_MS);
	while (lt_stat(S.bf).queued && kchan_now() < end)
		lt_sleep_ms(5);
	atomic_store(&S.stop, 1);
	for (i = 0; i < RECEIVERS; i++)
		pthread_join(r[i], NULL);
	pthread_join(nt, NULL);

	for (i = 0; i < IDS; i++) {
		sent += S.sent[i];
		received += S.received[i] ? 1 : 0;
		EXPECT_EQ(S.sent[i], S.received[i]) {
			TH_LOG("message %u: sent %u, received %u times", i,
			       S.sent[i], S.received[i]);
		}
	}
	TH_LOG("%u messages sent, %u received, %u of %u timed out; %u noise reads",
	       sent, received, IDS - sent, IDS, atomic_load(&S.noise_taken));
	EXPECT_EQ(0, atomic_load(&S.errors));
	EXPECT_LT(IDS / 4, sent);
	EXPECT_EQ(0u, lt_stat(S.bf).queued);
}

TEST_HARNESS_MAIN
