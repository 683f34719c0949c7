// SPDX-License-Identifier: GPL-2.0
/*
 * chanbench: the stream with many messages per call (target T4). One
 * producer, one consumer, 64-byte messages, in one group per mode and
 * placement, run by pair.c's run_group():
 *
 *   kchan-cN          write()/read(), one message per call: T4's base
 *   kchan-cN-batch    KCHAN_IOC_SEND_BATCH / KCHAN_IOC_RECV_BATCH, 64 per
 *                     call (N = 64, 4096)
 *   kchan-c64-uring   io_uring, 64 SQEs per submit
 *   seqpacket         unix SOCK_SEQPACKET, write()/read()
 *   seqpacket-mmsg    sendmmsg() / recvmmsg(MSG_WAITFORONE), 64 per call
 *
 * The sender sends 64 per call; the receiver takes what is ready, up to
 * 64, so how full its calls are shows in sys/op. Times and counts are
 * per message; x_one_per_call divides a row's time by that of the same
 * transport one message per call.
 */
#include "chanbench.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

/* A side's message vectors, made on its first call and reused. */
struct batch_vec {
	struct kchan_mmsg km[BATCH_MSGS];
	struct mmsghdr mm[BATCH_MSGS];
	struct iovec iov[BATCH_MSGS];
};

static struct batch_vec *batch_vec_new(struct side *s)
{
	struct batch_vec *v = calloc(1, sizeof(*v));
	size_t len = s->l->size;
	int i;

	if (!v)
		die("out of memory");
	/*
	 * Packed, as a program batching fixed-size records would keep them
	 * (64 of 64 bytes fill one page); a receive needs no more room.
	 */
	for (i = 0; i < s->per_call; i++) {
		char *slot = s->buf + (size_t)i * len;

		v->km[i].buf = (uintptr_t)slot;
		v->km[i].len = len;
		v->iov[i] = (struct iovec){ slot, len };
		v->mm[i].msg_hdr.msg_iov = &v->iov[i];
		v->mm[i].msg_hdr.msg_iovlen = 1;
	}
	return v;
}

/*
 * Sends, or receives, up to @k (1..s->per_call) messages in one system
 * call; returns how many moved, 0 if a signal came first. A send blocks
 * until all @k are queued, short only on a signal; a receive waits for
 * the first message and takes the others that are ready.
 */
int batch_call(struct side *s, bool wr, int k)
{
	struct link *l = s->l;
	struct batch_vec *v = s->vec;
	int fd = wr ? l->wfd[0] : l->rfd[0];
	bool kchan = l->m->kind == K_KCHAN;
	int i, n;

	if (!v)
		v = s->vec = batch_vec_new(s);
	if (kchan) {
		struct kchan_batch kb = {
			.msgs = (uintptr_t)v->km, .nmsgs = k,
		};

		/* Received lengths came back in .len: the room again. */
		if (!wr)
			for (i = 0; i < k; i++)
				v->km[i].len = l->size;
		n = ioctl(fd, wr ? KCHAN_IOC_SEND_BATCH : KCHAN_IOC_RECV_BATCH,
			  &kb);
	} else if (wr) {
		n = sendmmsg(fd, v->mm, k, 0);
	} else {
		n = recvmmsg(fd, v->mm, k, MSG_WAITFORONE, NULL);
	}
	s->sys++;
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0 || n > k)
		die("%s: %s: %s", l->m->name,
		    kchan ? wr ? "KCHAN_IOC_SEND_BATCH" : "KCHAN_IOC_RECV_BATCH" :
		    wr ? "sendmmsg" : "recvmmsg",
		    n < 0 ? strerror(errno) : n ? "too many" : "end of file");
	for (i = 0; i < n && !wr; i++) {
		unsigned int len = kchan ? v->km[i].len : v->mm[i].msg_len;

		if (len != l->size ||
		    (!kchan && (v->mm[i].msg_hdr.msg_flags & MSG_TRUNC)))
			die("%s: message %d of %d: %u bytes", l->m->name, i, n,
			    len);
	}
	return n;
}

const struct mech batch_mechs[] = {
	{ "kchan-c64", K_KCHAN, 64, false, 0 },
	{ "kchan-c64-batch", K_KCHAN, 64, false, BATCH_MSGS },
	{ "kchan-c64-uring", K_KCHAN, 64, true, BATCH_MSGS },
	{ "kchan-c4096", K_KCHAN, 4096, false, 0 },
	{ "kchan-c4096-batch", K_KCHAN, 4096, false, BATCH_MSGS },
	{ "seqpacket", K_SEQPACKET, 0, false, 0 },
	{ "seqpacket-mmsg", K_SEQPACKET, 0, false, BATCH_MSGS },
};

const int n_batch_mechs = ARRAY_SIZE(batch_mechs);

/*
 * Pinned to one CPU, threads and processes; across CPUs only with --full
 * (a secondary placement, and slow under TCG).
 */
void bench_batch(void)
{
	struct mech ms[ARRAY_SIZE(batch_mechs)];
	struct kchan_version ver;
	bool has_batch = !kchan_version(&ver) &&
			 (ver.features & KCHAN_FEATURE_BATCH);
	int nm = 0, i, mode, place;

	/* An older module still gives the other rows. */
	if (!has_batch)
		warn_msg("the module has no KCHAN_FEATURE_BATCH: kchan's batched rows left out");
	for (i = 0; i < ARRAY_SIZE(batch_mechs); i++) {
		const struct mech *m = &batch_mechs[i];

		if (has_batch || m->kind != K_KCHAN || !mech_batched(m))
			ms[nm++] = *m;
	}
	for (place = 0; place < 2; place++) {
		if (place && (!opt.full || ncpus < 2))
			continue;
		for (mode = 0; mode < 2; mode++)
			run_group("batch", BENCH_STREAM, ms, nm, 64, mode, place,
				  4 * BATCH_MSGS, 16 * BATCH_MSGS);
	}
}
