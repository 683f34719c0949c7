/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chanbench: kchan against the IPC a program would otherwise use.
 *
 *   main.c    options, the order of the workloads
 *   util.c    helpers: messages, time, pinning, raw channels (util.h)
 *   report.c  medians, ratios, the table and the CSV
 *   link.c    the transports: kchan, eventfd, futex, pipe, seqpacket,
 *             mqueue, and kchan, pipe and eventfd through io_uring
 *   pair.c    two-sided workloads (rtt, stream, uring): batches, groups
 *   batch.c   the stream 64 messages per call: KCHAN_IOC_SEND_BATCH /
 *             RECV_BATCH and sendmmsg/recvmmsg against one per call
 *   wake.c    16 idle receivers, one message
 *   select.c  select over 1 .. 1024 cases against poll() and epoll over
 *             eventfds
 *   libsel.c  libkchan's kchan_select against the raw ioctl, and over a
 *             channel and a socket against epoll_wait on two eventfds
 *   fan.c     fan-in and fan-out: 1..16 -> 1, 1 -> 1..16 and 4 -> 4
 *             threads on one object
 *   memory.c  slab memory per idle object; the objects, made and freed
 *   create.c  create + close of 10^2 .. 10^5 objects, time and memory
 *   evloop.c  an event loop on an armed select over 1 .. 1024 channels:
 *             persistent, re-armed per event, and epoll over eventfds
 *   profile.c --profile: one traced batch of a target's workload or of
 *             its peer, for tools/bench.sh --profile
 */
#ifndef CHANBENCH_H
#define CHANBENCH_H

#include "util.h"

#define MAX_MSG		4096
#define URING_BATCH	16	/* SQEs per submit in the io_uring stream */
#define BATCH_MSGS	64	/* messages per call, batch workload */
#define WAKE_THREADS	16
#define BATCH_TIMEOUT_S	300	/* a batch that takes longer is stuck */
#define MAX_RUNS	64
#define MECH_LEN	24	/* a mechanism's name, NUL included */

#define ARRAY_SIZE(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define STR_(x)	#x
#define STR(x)	STR_(x)

/* report.c */

/*
 * The baselines a row's time is divided by. B_ONECALL is not a mechanism
 * of its own: it is the row's own transport used one message per call
 * (kchan-c64 for kchan-c64-batch), named by row->onecall.
 */
enum {
	B_EVENTFD, B_FUTEX, B_PIPE, B_SEQPACKET, B_MQUEUE, B_MMSG, B_ONECALL,
	B_PIPE_URING, B_EVENTFD_URING, NR_BASE
};

struct row {
	int group;
	char bench[12], mech[MECH_LEN], cap[12], mode[12], place[8];
	char unit[12], note[96];
	unsigned int size;
	long iters;
	int runs;
	double median, iqr;
	double per_run[MAX_RUNS];	/* the runs' values, in run order */
	double x[NR_BASE];	/* paired ratio to a baseline, same group */
	char onecall[MECH_LEN];	/* B_ONECALL's mechanism, "": none */
	double sys_op, sw_op, wk_op;
};

extern int nrows;

int new_group(void);
struct row *new_row(int group);
double median_of(double *v, int n, double *iqr);
void row_set_runs(struct row *r, const double *v, int n);
void group_ratios(int group);
void row_ratio_note(int group, const char *mech, const char *base,
		    const char *what);
void print_table(FILE *f);
int write_csv(const char *path);

/* link.c */

enum kind { K_KCHAN, K_EVENTFD, K_FUTEX, K_PIPE, K_SEQPACKET, K_MQUEUE };

struct mech {
	const char *name;
	enum kind kind;
	unsigned int cap;	/* kchan capacity (0: rendezvous); eventfd:
				 * 1 for EFD_SEMAPHORE (a read takes one) */
	bool uring;		/* through io_uring (kchan, pipe, eventfd) */
	unsigned int batch;	/* stream: messages per call, 0: one */
};

struct fx_dir;

/*
 * Direction 0 carries A -> B, direction 1 carries B -> A (ping-pong only).
 * wfd[d] is where the sender of direction d writes, rfd[d] where its
 * receiver reads.
 */
struct link {
	const struct mech *m;
	unsigned int size;
	bool procs;
	int wfd[2], rfd[2];
	int fds[6], nfds;
	char cap[12];		/* the capacity actually used, as reported */
	struct fx_dir *fx;	/* K_FUTEX: two directions */
};

/* One side's state: its buffers, its ring, its counters. */
struct side {
	struct link *l;
	struct io_uring ring;
	bool ring_ok;
	int per_call;			/* messages per call, stream */
	long sys;			/* syscalls issued */
	uint32_t fx_last[2];		/* futex: last sequence seen */
	char *buf;			/* MAX_MSG slots: per_call of them,
					 * at least URING_BATCH */
	void *vec;			/* batch.c's message vectors */
};

int mq_new(unsigned int maxmsg, unsigned int size, unsigned int *got);
int link_open(struct link *l, const struct mech *m, unsigned int size,
	      bool two_way, bool procs, unsigned int mq_maxmsg);
void link_close(struct link *l);
void side_init(struct side *s, struct link *l);
void side_fini(struct side *s);
void xsend(struct side *s, int dir);
void xrecv(struct side *s, int dir);
int mech_per_call(const struct mech *m);
bool mech_batched(const struct mech *m);
void stream_many(struct side *s, bool wr, long total, long warm,
		 void (*mark)(void *), void *arg);

/*
 * pair.c, batch.c, wake.c, select.c, libsel.c, fan.c, memory.c, create.c,
 * evloop.c
 */

enum bench { BENCH_RTT, BENCH_STREAM };

extern int uring_workers_seen;

/* One batch's time and counts per op. */
struct batch_res {
	double ns_op, sys_op, sw_op, wk_op;
	int workers;
};

/* The groups' mechanisms, which profile.c finds by name. */
extern const struct mech rtt_mechs[], stream_mechs[], uring_mechs[],
	batch_mechs[];
extern const int n_rtt_mechs, n_stream_mechs, n_uring_mechs, n_batch_mechs;

int run_batch(enum bench bench, const struct mech *m, unsigned int size,
	      bool procs, bool cross, long n, struct batch_res *res,
	      char *cap_used);

void run_group(const char *bench_name, enum bench bench,
	       const struct mech *ms, int nm, unsigned int size,
	       bool procs, bool cross, long n_quick, long n_min);
int batch_call(struct side *s, bool wr, int k);
void bench_rtt(void);
void bench_stream(bool uring);
void bench_batch(void);
void bench_wake(void);
void bench_select(void);
void bench_libselect(void);
void bench_fan(void);
void bench_memory(void);
void bench_create(void);
void bench_evloop(void);
int bench_profile(const char *id);

/* memory.c: objects held idle, and the slab memory they take */

#define MAX_CACHES	512
#define CACHE_NAME	40
#define CHAN_DIR	"/dev/chan"

enum obj_kind {
	OBJ_KCHAN0, OBJ_KCHAN64, OBJ_KCHAN_NAMED,	/* kchan: these first */
	OBJ_EVENTFD, OBJ_PIPE, OBJ_MQUEUE, NR_OBJ
};

struct slab_use {
	double pages_b;		/* /proc/meminfo Slab */
	double objs_b;		/* /proc/slabinfo active objects x size */
	bool have_objs;
	int ncache;
	char name[MAX_CACHES][CACHE_NAME];
	double bytes[MAX_CACHES];	/* per cache: active objects x size */
};

void slab_read(struct slab_use *u);
const char *obj_name(enum obj_kind kind);
const char *obj_cap(enum obj_kind kind);
unsigned int obj_size(enum obj_kind kind);
void obj_limits_raise(int n);
void obj_limits_restore(void);
int obj_make(enum obj_kind kind, int n, int *fds);
void obj_free(enum obj_kind kind, int n, int *fds);

#endif /* CHANBENCH_H */
