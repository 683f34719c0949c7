// SPDX-License-Identifier: GPL-2.0
/*
 * libkchan channels: make/create/open/unlink, send and receive with
 * deadlines (one system call each), close, batches, signals.
 */
#include <sys/stat.h>

#include "lib_test.h"

#define MSG_MAX		64

TEST(now_is_monotonic_and_in_is_relative_to_it)
{
	int64_t a = kchan_now(), b, d;

	lt_sleep_ms(10);
	b = kchan_now();
	EXPECT_LE(a + 10 * LT_MS, b);
	d = kchan_in(LT_MS);
	EXPECT_LE(b + LT_MS, d);
	EXPECT_GE(kchan_now() + LT_MS, d);
	EXPECT_EQ(INT64_MAX, kchan_in(INT64_MAX));
}

TEST(make_then_send_and_recv_one_whole_message)
{
	char buf[MSG_MAX];
	int ch = kchan_make(2, MSG_MAX, 0);

	ASSERT_LE(0, ch) TH_LOG("kchan_make: %s", strerror(-ch));
	EXPECT_TRUE(fcntl(ch, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(5, kchan_send(ch, "hello", 5, KCHAN_FOREVER));
	EXPECT_EQ(5, kchan_recv(ch, buf, sizeof(buf), KCHAN_FOREVER));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	close(ch);
}

TEST(make_rejects_bad_arguments)
{
	EXPECT_EQ(-EINVAL, kchan_make(1, 0, 0));
	EXPECT_EQ(-EINVAL, kchan_make(1, (size_t)1 << 33, 0));
	EXPECT_EQ(-EINVAL, kchan_make(1, MSG_MAX, 1U << 9));
	EXPECT_EQ(-EBADF, kchan_send(-1, "x", 1, 0));
}

TEST(deadline_zero_never_blocks_whatever_o_nonblock)
{
	char buf[MSG_MAX];
	int ch = kchan_make(1, MSG_MAX, 0), rv = kchan_make(0, MSG_MAX, 0);

	ASSERT_LE(0, ch);
	ASSERT_LE(0, rv);
	ASSERT_FALSE(fcntl(ch, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(-EAGAIN, kchan_recv(ch, buf, sizeof(buf), 0));
	EXPECT_EQ(1, kchan_send(ch, "a", 1, 0));
	EXPECT_EQ(-EAGAIN, kchan_send(ch, "b", 1, 0));
	EXPECT_EQ(-EAGAIN, kchan_send(rv, "c", 1, 0));
	EXPECT_EQ(1, kchan_recv(ch, buf, sizeof(buf), 0));
	EXPECT_EQ(0u, lt_stat(rv).queued);
	close(ch);
	close(rv);
}

TEST(deadline_expires_with_etimedout_not_before)
{
	char buf[MSG_MAX];
	int ch = kchan_make(0, MSG_MAX, 0);
	int64_t start, deadline;

	ASSERT_LE(0, ch);
	start = kchan_now();
	deadline = kchan_in(100 * LT_MS);
	EXPECT_EQ(-ETIMEDOUT, kchan_recv(ch, buf, sizeof(buf), deadline));
	EXPECT_LE(deadline, kchan_now());
	EXPECT_LE(start + 100 * LT_MS, kchan_now());
	EXPECT_EQ(-ETIMEDOUT, kchan_send(ch, "x", 1, kchan_in(20 * LT_MS)));
	EXPECT_EQ(0u, lt_stat(ch).senders);
	EXPECT_EQ(-EINVAL, kchan_recv(ch, buf, sizeof(buf), -2));
	close(ch);
}

struct sender {
	int ch;
	const char *msg;
	ssize_t ret;
};

static void *send_later(void *arg)
{
	struct sender *s = arg;

	lt_wait_blocked(s->ch, 1, 0);
	s->ret = kchan_send(s->ch, s->msg, strlen(s->msg), KCHAN_FOREVER);
	return NULL;
}

TEST(forever_blocks_even_on_an_o_nonblock_fd)
{
	struct sender s = { .msg = "late" };
	char buf[MSG_MAX];
	pthread_t t;

	s.ch = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, s.ch);
	ASSERT_EQ(0, fcntl(s.ch, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, pthread_create(&t, NULL, send_later, &s));
	EXPECT_EQ(4, kchan_recv(s.ch, buf, sizeof(buf), KCHAN_FOREVER));
	pthread_join(t, NULL);
	EXPECT_EQ(4, s.ret);
	EXPECT_EQ(0, memcmp(buf, "late", 4));
	close(s.ch);
}

TEST(close_drains_then_recv_gives_0_and_send_epipe)
{
	char buf[MSG_MAX];
	int ch = kchan_make(2, MSG_MAX, 0);

	ASSERT_LE(0, ch);
	EXPECT_EQ(1, kchan_send(ch, "a", 1, 0));
	EXPECT_EQ(0, kchan_close(ch));
	EXPECT_EQ(-EPIPE, kchan_close(ch));
	EXPECT_EQ(-EPIPE, kchan_send(ch, "b", 1, KCHAN_FOREVER));
	EXPECT_EQ(1, kchan_recv(ch, buf, sizeof(buf), KCHAN_FOREVER));
	EXPECT_EQ(0, kchan_recv(ch, buf, sizeof(buf), KCHAN_FOREVER));
	EXPECT_EQ(0, kchan_recv(ch, buf, sizeof(buf), 0));
	/* The fd stays open: close(2) releases it. */
	EXPECT_EQ(0, close(ch));
}

TEST(recv_buffer_too_small_is_emsgsize_and_keeps_the_message)
{
	char buf[MSG_MAX];
	int ch = kchan_make(1, MSG_MAX, 0);

	ASSERT_LE(0, ch);
	EXPECT_EQ(6, kchan_send(ch, "abcdef", 6, 0));
	EXPECT_EQ(-EMSGSIZE, kchan_recv(ch, buf, 3, 0));
	EXPECT_EQ(6, kchan_recv(ch, buf, sizeof(buf), 0));
	EXPECT_EQ(-EMSGSIZE, kchan_send(ch, buf, MSG_MAX + 1, 0));
	close(ch);
}

static void unique_name(char *buf, size_t size, const char *tag)
{
	snprintf(buf, size, "libkchan-%s-%d", tag, getpid());
}

TEST(create_open_unlink_a_named_channel)
{
	char name[KCHAN_NAME_SIZE], buf[MSG_MAX], path[128];
	int w, r;
	struct stat st;

	unique_name(name, sizeof(name), "named");
	ASSERT_EQ(0, kchan_create(name, 1, MSG_MAX, 0640, 0));
	EXPECT_EQ(-EEXIST, kchan_create(name, 1, MSG_MAX, 0640, 0));
	snprintf(path, sizeof(path), "/dev/chan/%s", name);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0640u, st.st_mode & 07777);
	w = kchan_open(name, O_WRONLY);
	r = kchan_open(name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, w);
	ASSERT_LE(0, r);
	EXPECT_TRUE(fcntl(r, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-EBADF, kchan_recv(w, buf, sizeof(buf), 0));
	EXPECT_EQ(-EBADF, kchan_send(r, "x", 1, 0));
	EXPECT_EQ(2, kchan_send(w, "hi", 2, 0));
	EXPECT_EQ(0, kchan_unlink(name));
	EXPECT_EQ(-ENOENT, kchan_unlink(name));
	EXPECT_EQ(-ENOENT, kchan_open(name, O_RDWR));
	/* Open fds keep working after the name is gone. */
	EXPECT_EQ(2, kchan_recv(r, buf, sizeof(buf), KCHAN_FOREVER));
	close(w);
	close(r);
}

TEST(names_outside_the_kernel_rules_are_einval)
{
	EXPECT_EQ(-EINVAL, kchan_create("../etc", 1, MSG_MAX, 0600, 0));
	EXPECT_EQ(-EINVAL, kchan_create("", 1, MSG_MAX, 0600, 0));
	EXPECT_EQ(-EINVAL, kchan_create("..", 1, MSG_MAX, 0600, 0));
	EXPECT_EQ(-EINVAL, kchan_open("a/b", O_RDWR));
	EXPECT_EQ(-EINVAL, kchan_open("ok", O_RDWR | O_CREAT));
	EXPECT_EQ(-EINVAL, kchan_unlink(NULL));
}

TEST(autoclose_closes_when_the_last_writer_goes)
{
	char name[KCHAN_NAME_SIZE], buf[MSG_MAX];
	int w, r;

	unique_name(name, sizeof(name), "autoclose");
	ASSERT_EQ(0, kchan_create(name, 1, MSG_MAX, 0600, KCHAN_AUTOCLOSE));
	w = kchan_open(name, O_WRONLY);
	r = kchan_open(name, O_RDONLY);
	kchan_unlink(name);
	ASSERT_LE(0, w);
	ASSERT_LE(0, r);
	EXPECT_EQ(1, kchan_send(w, "z", 1, 0));
	close(w);
	EXPECT_EQ(1, kchan_recv(r, buf, sizeof(buf), KCHAN_FOREVER));
	EXPECT_EQ(0, kchan_recv(r, buf, sizeof(buf), KCHAN_FOREVER));
	close(r);
}

TEST(sendv_and_recvv_move_one_message_per_iovec)
{
	char out[5][8], in[5][MSG_MAX];
	struct iovec ov[5], iv[5];
	int ch = kchan_make(8, MSG_MAX, 0), i;

	ASSERT_LE(0, ch);
	for (i = 0; i < 5; i++) {
		snprintf(out[i], sizeof(out[i]), "m%d%.*s", i, i, "xxxx");
		ov[i] = (struct iovec){ out[i], strlen(out[i]) };
		iv[i] = (struct iovec){ in[i], sizeof(in[i]) };
	}
	EXPECT_EQ(5, kchan_sendv(ch, ov, 5, KCHAN_FOREVER));
	EXPECT_EQ(5, kchan_recvv(ch, iv, 5, KCHAN_FOREVER));
	for (i = 0; i < 5; i++) {
		EXPECT_EQ(strlen(out[i]), iv[i].iov_len);
		EXPECT_EQ(0, memcmp(in[i], out[i], strlen(out[i])));
	}
	iv[0].iov_len = sizeof(in[0]);
	EXPECT_EQ(-EAGAIN, kchan_recvv(ch, iv, 1, 0));
	EXPECT_EQ(-ETIMEDOUT, kchan_recvv(ch, iv, 1, kchan_in(20 * LT_MS)));
	EXPECT_EQ(-EINVAL, kchan_sendv(ch, ov, 0, 0));
	EXPECT_EQ(-EINVAL, kchan_sendv(ch, ov, KCHAN_BATCH_MAX + 1, 0));
	close(ch);
}

TEST(sendv_with_a_deadline_sends_what_fits_in_time)
{
	struct iovec ov[5], iv[5];
	char in[5][MSG_MAX];
	int ch = kchan_make(2, MSG_MAX, 0), i;

	ASSERT_LE(0, ch);
	for (i = 0; i < 5; i++) {
		ov[i] = (struct iovec){ "abc", 3 };
		iv[i] = (struct iovec){ in[i], sizeof(in[i]) };
	}
	EXPECT_EQ(2, kchan_sendv(ch, ov, 5, kchan_in(50 * LT_MS)));
	EXPECT_EQ(-ETIMEDOUT, kchan_sendv(ch, ov, 5, kchan_in(20 * LT_MS)));
	EXPECT_EQ(-EAGAIN, kchan_sendv(ch, ov, 5, 0));
	/* A receive with a deadline takes the first, then what is ready. */
	EXPECT_EQ(2, kchan_recvv(ch, iv, 5, kchan_in(50 * LT_MS)));
	EXPECT_EQ(3u, iv[1].iov_len);
	close(ch);
}

/* In a traced child; the deadlines are computed before counting starts. */
struct counted {
	int ch;
	int64_t later, soon;
};

static int recv_send_deadline(void *arg)
{
	struct counted *c = arg;
	char buf[MSG_MAX];

	if (kchan_recv(c->ch, buf, sizeof(buf), c->later) != 3)
		return 1;
	if (kchan_send(c->ch, "xyz", 3, c->later) != 3)
		return 2;
	if (kchan_recv(c->ch, buf, sizeof(buf), c->later) != 3)
		return 3;
	return 0;
}

static int recv_times_out(void *arg)
{
	struct counted *c = arg;
	char buf[MSG_MAX];

	return kchan_recv(c->ch, buf, sizeof(buf), c->soon) == -ETIMEDOUT ?
	       0 : 1;
}

static void log_calls(struct __test_metadata *_metadata,
		      const struct lt_count *c)
{
	unsigned int i;

	for (i = 0; i < c->syscalls && i < LT_COUNT_NR; i++)
		TH_LOG("call %u: syscall %ld", i, c->nr[i]);
}

TEST(send_and_recv_with_a_deadline_are_one_syscall_each)
{
	struct counted arg = { .ch = kchan_make(2, MSG_MAX, 0) };
	struct lt_count c;

	ASSERT_LE(0, arg.ch);
	ASSERT_EQ(3, kchan_send(arg.ch, "abc", 3, 0));
	arg.later = kchan_in(LT_WAIT_MS * LT_MS);
	EXPECT_EQ(0, lt_count_syscalls(recv_send_deadline, &arg, &c));
	EXPECT_EQ(3u, c.syscalls) log_calls(_metadata, &c);
	EXPECT_EQ(3u, c.ioctls);
	arg.soon = kchan_in(30 * LT_MS);
	EXPECT_EQ(0, lt_count_syscalls(recv_times_out, &arg, &c));
	EXPECT_EQ(1u, c.syscalls) log_calls(_metadata, &c);
	EXPECT_EQ(1u, c.ioctls);
	close(arg.ch);
}

struct blocked {
	int ch;
	int kind;
	pid_t tid;
	ssize_t ret;
	atomic_int started;
};

static void *block_in(void *arg)
{
	struct blocked *b = arg;
	char buf[MSG_MAX];

	b->tid = lt_gettid();
	atomic_store(&b->started, 1);
	if (b->kind == KCHAN_RECV)
		b->ret = kchan_recv(b->ch, buf, sizeof(buf), kchan_in(LT_WAIT_MS * LT_MS));
	else
		b->ret = kchan_send(b->ch, "s", 1, kchan_in(LT_WAIT_MS * LT_MS));
	return NULL;
}

static void interrupt(struct __test_metadata *_metadata, struct blocked *b)
{
	pthread_t t;

	lt_catch(SIGUSR1);
	ASSERT_EQ(0, pthread_create(&t, NULL, block_in, b));
	while (!atomic_load(&b->started))
		lt_sleep_ms(1);
	ASSERT_EQ(0, lt_wait_blocked(b->ch, b->kind == KCHAN_RECV,
				     b->kind == KCHAN_SEND));
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	EXPECT_EQ(-EINTR, b->ret);
}

TEST(a_signal_during_recv_is_eintr_and_loses_nothing)
{
	struct blocked b = { .kind = KCHAN_RECV };
	char buf[MSG_MAX];

	b.ch = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, b.ch);
	interrupt(_metadata, &b);
	EXPECT_EQ(0u, lt_stat(b.ch).receivers);
	EXPECT_EQ(-EAGAIN, kchan_recv(b.ch, buf, sizeof(buf), 0));
	close(b.ch);
}

TEST(a_signal_during_send_is_eintr_and_sends_nothing)
{
	struct blocked b = { .kind = KCHAN_SEND };
	char buf[MSG_MAX];

	b.ch = kchan_make(0, MSG_MAX, 0);
	ASSERT_LE(0, b.ch);
	interrupt(_metadata, &b);
	EXPECT_EQ(0u, lt_stat(b.ch).senders);
	EXPECT_EQ(0u, lt_stat(b.ch).sent);
	EXPECT_EQ(-EAGAIN, kchan_recv(b.ch, buf, sizeof(buf), 0));
	close(b.ch);
}

TEST_HARNESS_MAIN
