// SPDX-License-Identifier: GPL-2.0
/*
 * Exactly once under signals: a send returns success if and only if
 * exactly one receive returned that message.
 *
 * Senders and receivers run as threads on one channel while another thread
 * sends them signals at random. Every message carries a tag (sender,
 * sequence). A send that failed with EINTR sent nothing, so the sender
 * retries the same tag; a sequence number advances only when a send
 * succeeded. Afterwards the channel is closed and drained, and the tags
 * received must be exactly the tags whose sends succeeded, each once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt.h"
#include "kt_harness.h"

#define MSG_MAX		64
#define CAPACITY	4u
#define STORM_MS	1500
#define STORM_MIN_SENT	64	/* and on, until this many were sent ... */
#define STORM_MAX_MS	60000	/* ... or this long: a loaded emulated VM */
#define STORM_SIGNAL	SIGUSR1

struct tag {
	uint32_t sender;
	uint32_t seq;
	uint32_t check;
	uint32_t pad;
};

static uint32_t tag_check(uint32_t sender, uint32_t seq)
{
	return (sender * 0x9e3779b9u) ^ (seq * 0x85ebca6bu) ^ 0x6b43a9b5u;
}

struct storm;

struct worker {
	struct storm *s;
	pthread_t thread;
	unsigned int id;
	unsigned int seed;
	atomic_int done;
	int err;		/* errno of an unexpected failure, 0 if none */
	unsigned long eintr;	/* calls that failed with EINTR */
	/* sender */
	uint32_t sent;		/* sends that succeeded: seqs 0..sent-1 */
	/* receiver */
	struct tag *got;
	size_t nr_got, cap_got;
};

struct storm {
	int fd;
	atomic_bool stop_sending;
	atomic_bool stop_signals;
	unsigned int nr_senders, nr_receivers;
	struct worker *senders, *receivers;
	pthread_t signaller;
	unsigned long signals_sent;
};

static atomic_ulong signals_handled;

static void on_storm_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&signals_handled, 1);
}

/* Now and then, pause briefly so that the other side fills up or drains. */
static void maybe_pause(struct worker *w)
{
	if (rand_r(&w->seed) % 8 == 0)
		usleep(rand_r(&w->seed) % 200);
}

static void *sender_main(void *arg)
{
	struct worker *w = arg;
	struct tag t = { .sender = w->id };
	ssize_t n;

	while (!atomic_load(&w->s->stop_sending)) {
		t.seq = w->sent;
		t.check = tag_check(t.sender, t.seq);
		for (;;) {
			n = write(w->s->fd, &t, sizeof(t));
			if (n == sizeof(t))
				break;
			if (n < 0 && errno == EINTR) {
				/* Not sent: send the same tag again. */
				w->eintr++;
				continue;
			}
			w->err = n < 0 ? errno : EIO;
			goto out;
		}
		/* Sent: never again. */
		__atomic_store_n(&w->sent, w->sent + 1, __ATOMIC_RELAXED);
		maybe_pause(w);
	}
out:
	atomic_store(&w->done, 1);
	return NULL;
}

static void *receiver_main(void *arg)
{
	struct worker *w = arg;
	unsigned char buf[MSG_MAX];
	ssize_t n;

	for (;;) {
		n = read(w->s->fd, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR) {
			w->eintr++;
			continue;
		}
		if (n != sizeof(struct tag)) {
			w->err = n < 0 ? errno : EIO;
			break;
		}
		if (w->nr_got == w->cap_got) {
			size_t cap = w->cap_got ? 2 * w->cap_got : 4096;
			struct tag *p = realloc(w->got, cap * sizeof(*p));

			if (!p) {
				w->err = ENOMEM;
				break;
			}
			w->got = p;
			w->cap_got = cap;
		}
		memcpy(&w->got[w->nr_got++], buf, sizeof(struct tag));
		maybe_pause(w);
	}
	atomic_store(&w->done, 1);
	return NULL;
}

static void *signaller_main(void *arg)
{
	struct storm *s = arg;
	unsigned int nr = s->nr_senders + s->nr_receivers, seed = 42, i;

	while (!atomic_load(&s->stop_signals)) {
		i = rand_r(&seed) % nr;
		if (i < s->nr_senders)
			pthread_kill(s->senders[i].thread, STORM_SIGNAL);
		else
			pthread_kill(s->receivers[i - s->nr_senders].thread,
				     STORM_SIGNAL);
		s->signals_sent++;
		/* Bursts and gaps: some signals land mid-hand-off. */
		if (rand_r(&seed) % 4)
			sched_yield();
		else
			usleep(rand_r(&seed) % 200);
	}
	return NULL;
}

static int wait_all_done(struct worker *w, unsigned int nr)
{
	uint64_t deadline = kt_now_ns() + KT_TIMEOUT_MS * 1000000ull;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		while (!atomic_load(&w[i].done)) {
			if (kt_now_ns() > deadline)
				return -ETIMEDOUT;
			usleep(1000);
		}
	}
	return 0;
}

FIXTURE(storm) {
	struct storm s;
};

FIXTURE_VARIANT(storm) {
	unsigned int capacity;
	bool sa_restart;
};

FIXTURE_VARIANT_ADD(storm, rendezvous_eintr) {
	.capacity = 0,
	.sa_restart = false,
};

FIXTURE_VARIANT_ADD(storm, rendezvous_restart) {
	.capacity = 0,
	.sa_restart = true,
};

FIXTURE_VARIANT_ADD(storm, buffered_eintr) {
	.capacity = CAPACITY,
	.sa_restart = false,
};

FIXTURE_VARIANT_ADD(storm, buffered_restart) {
	.capacity = CAPACITY,
	.sa_restart = true,
};

FIXTURE_SETUP(storm)
{
	struct sigaction sa = { .sa_handler = on_storm_signal };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = variant->sa_restart ? SA_RESTART : 0;
	ASSERT_EQ(0, sigaction(STORM_SIGNAL, &sa, NULL));
	atomic_store(&signals_handled, 0);
	self->s.fd = kchan_make(variant->capacity, MSG_MAX, 0);
	ASSERT_LE(0, self->s.fd) {
		TH_LOG("creating a channel: %s (is the module loaded?)",
		       strerror(-self->s.fd));
	}
}

FIXTURE_TEARDOWN(storm)
{
	if (self->s.fd >= 0)
		close(self->s.fd);
}

/*
 * Run the storm with @nr_senders x @nr_receivers threads until every
 * thread is done and the channel is closed and drained.
 */
static void run_storm(struct __test_metadata *_metadata, struct storm *s,
		      unsigned int nr_senders, unsigned int nr_receivers)
{
	unsigned int i;

	s->nr_senders = nr_senders;
	s->nr_receivers = nr_receivers;
	s->senders = calloc(nr_senders, sizeof(*s->senders));
	s->receivers = calloc(nr_receivers, sizeof(*s->receivers));
	ASSERT_NE(NULL, s->senders);
	ASSERT_NE(NULL, s->receivers);

	for (i = 0; i < nr_receivers; i++) {
		s->receivers[i].s = s;
		s->receivers[i].id = i;
		s->receivers[i].seed = 1000 + i;
		ASSERT_EQ(0, pthread_create(&s->receivers[i].thread, NULL,
					    receiver_main, &s->receivers[i]));
	}
	for (i = 0; i < nr_senders; i++) {
		s->senders[i].s = s;
		s->senders[i].id = i;
		s->senders[i].seed = 2000 + i;
		ASSERT_EQ(0, pthread_create(&s->senders[i].thread, NULL,
					    sender_main, &s->senders[i]));
	}
	ASSERT_EQ(0, pthread_create(&s->signaller, NULL, signaller_main, s));

	/*
	 * The storm lasts STORM_MS, and longer on a slow machine, until it
	 * has moved enough messages for the checks to mean something.
	 */
	kt_sleep_ms(STORM_MS);
	for (i = STORM_MS; i < STORM_MAX_MS; i += 50) {
		unsigned long sent = 0;
		unsigned int k;

		for (k = 0; k < nr_senders; k++)
			sent += __atomic_load_n(&s->senders[k].sent,
						__ATOMIC_RELAXED);
		if (sent >= STORM_MIN_SENT)
			break;
		kt_sleep_ms(50);
	}
	atomic_store(&s->stop_sending, true);
	ASSERT_EQ(0, wait_all_done(s->senders, nr_senders)) {
		TH_LOG("senders did not finish");
	}
	/* Every send has returned: close, and let the receivers drain. */
	ASSERT_EQ(0, kchan_close(s->fd));
	ASSERT_EQ(0, wait_all_done(s->receivers, nr_receivers)) {
		TH_LOG("receivers did not see the end of the channel");
	}
	atomic_store(&s->stop_signals, true);
	pthread_join(s->signaller, NULL);
	for (i = 0; i < nr_senders; i++)
		pthread_join(s->senders[i].thread, NULL);
	for (i = 0; i < nr_receivers; i++)
		pthread_join(s->receivers[i].thread, NULL);

	for (i = 0; i < nr_senders; i++) {
		EXPECT_EQ(0, s->senders[i].err) {
			TH_LOG("sender %u: %s", i,
			       strerror(s->senders[i].err));
		}
	}
	for (i = 0; i < nr_receivers; i++) {
		EXPECT_EQ(0, s->receivers[i].err) {
			TH_LOG("receiver %u: %s", i,
			       strerror(s->receivers[i].err));
		}
	}
}

static unsigned long total_eintr(struct storm *s)
{
	unsigned long n = 0;
	unsigned int i;

	for (i = 0; i < s->nr_senders; i++)
		n += s->senders[i].eintr;
	for (i = 0; i < s->nr_receivers; i++)
		n += s->receivers[i].eintr;
	return n;
}

/*
 * The signals reached the threads; without SA_RESTART some of them
 * interrupted a blocked send or receive, with SA_RESTART none surfaced.
 */
static void check_signal_path(struct __test_metadata *_metadata,
			      struct storm *s, bool sa_restart)
{
	unsigned long tx_eintr = 0, rx_eintr = 0, sent = 0;
	unsigned int i;

	if (getenv("KCHAN_TEST_VERBOSE")) {
		for (i = 0; i < s->nr_senders; i++) {
			tx_eintr += s->senders[i].eintr;
			sent += s->senders[i].sent;
		}
		for (i = 0; i < s->nr_receivers; i++)
			rx_eintr += s->receivers[i].eintr;
		TH_LOG("%lu sent, %lu signals sent, %lu handled, EINTR: %lu in sends, %lu in receives",
		       sent, s->signals_sent, atomic_load(&signals_handled),
		       tx_eintr, rx_eintr);
	}
	EXPECT_LT(0ul, atomic_load(&signals_handled));
	if (sa_restart) {
		EXPECT_EQ(0ul, total_eintr(s));
	} else {
		EXPECT_LT(0ul, total_eintr(s)) {
			TH_LOG("%lu signals, no call was interrupted",
			       s->signals_sent);
		}
	}
}

static void free_storm(struct storm *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_receivers; i++)
		free(s->receivers[i].got);
	free(s->senders);
	free(s->receivers);
}

TEST_F(storm, every_successful_send_is_received_exactly_once)
{
	const unsigned int nr_senders = 3, nr_receivers = 3;
	struct storm *s = &self->s;
	uint64_t total_sent = 0, total_got = 0;
	unsigned int i, r, bad_tag = 0, unsent = 0, twice = 0, lost = 0;
	unsigned int disorder = 0;
	uint8_t *seen[3];
	int64_t last[3];
	struct kchan_stat st;
	size_t k;

	run_storm(_metadata, s, nr_senders, nr_receivers);

	for (i = 0; i < nr_senders; i++) {
		seen[i] = calloc(s->senders[i].sent + 1, 1);
		ASSERT_NE(NULL, seen[i]);
		total_sent += s->senders[i].sent;
	}
	for (r = 0; r < nr_receivers; r++) {
		struct worker *w = &s->receivers[r];

		/*
		 * One receiver's receives are ordered, so it must see each
		 * sender's messages in increasing sequence.
		 */
		for (i = 0; i < nr_senders; i++)
			last[i] = -1;
		for (k = 0; k < w->nr_got; k++) {
			struct tag *t = &w->got[k];

			if (t->sender >= nr_senders ||
			    t->check != tag_check(t->sender, t->seq)) {
				bad_tag++;
				continue;
			}
			if (t->seq >= s->senders[t->sender].sent) {
				/* Received, but its send did not succeed. */
				unsent++;
				continue;
			}
			if (seen[t->sender][t->seq]++)
				twice++;
			if ((int64_t)t->seq <= last[t->sender])
				disorder++;
			last[t->sender] = t->seq;
		}
		total_got += w->nr_got;
	}
	for (i = 0; i < nr_senders; i++) {
		for (k = 0; k < s->senders[i].sent; k++)
			if (!seen[i][k])
				lost++;
		free(seen[i]);
	}

	EXPECT_EQ(0u, bad_tag);
	EXPECT_EQ(0u, unsent) {
		TH_LOG("%u messages delivered whose send failed", unsent);
	}
	EXPECT_EQ(0u, twice) {
		TH_LOG("%u messages delivered twice", twice);
	}
	EXPECT_EQ(0u, lost) {
		TH_LOG("%u successfully sent messages never delivered", lost);
	}
	EXPECT_EQ(0u, disorder) {
		TH_LOG("%u messages overtook a later one from their sender",
		       disorder);
	}
	EXPECT_EQ(total_sent, total_got);
	EXPECT_LT(20ull, (unsigned long long)total_sent);
	ASSERT_EQ(0, kt_stat(s->fd, &st));
	EXPECT_EQ(total_sent, st.sent);
	EXPECT_EQ(total_got, st.received);
	check_signal_path(_metadata, s, variant->sa_restart);
	free_storm(s);
}

TEST_F(storm, one_sender_one_receiver_keep_order_under_signals)
{
	struct storm *s = &self->s;
	struct worker *w;
	unsigned int wrong = 0;
	size_t k;

	run_storm(_metadata, s, 1, 1);
	w = &s->receivers[0];
	EXPECT_EQ((size_t)s->senders[0].sent, w->nr_got);
	for (k = 0; k < w->nr_got; k++) {
		if (w->got[k].sender != 0 || w->got[k].seq != k ||
		    w->got[k].check != tag_check(0, k)) {
			if (!wrong++)
				TH_LOG("receive %zu got seq %u", k,
				       w->got[k].seq);
		}
	}
	EXPECT_EQ(0u, wrong);
	EXPECT_LT(20ul, w->nr_got);
	check_signal_path(_metadata, s, variant->sa_restart);
	free_storm(s);
}

TEST_HARNESS_MAIN
