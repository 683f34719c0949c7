/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chanbench's helpers (util.c) and its options, which every file reads
 * and main.c sets.
 */
#ifndef CHANBENCH_UTIL_H
#define CHANBENCH_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <linux/kchan.h>

#define CHANCTL		"/dev/chanctl"

struct options {
	bool quick, full;
	int runs;		/* measured runs per mechanism */
	double target_ms;	/* calibrated batch length */
	int mem_objects;
	int create_max;		/* largest count, create workload */
	const char *csv;
	const char *only;	/* comma-separated bench names, NULL: all */
	const char *profile;	/* --profile's workload, NULL: none */
};

extern struct options opt;
extern int ncpus;

void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void util_start(void);
void warn_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t now_ns(void);
void sleep_ms(long ms);
long batch_iters(double ns_op);
void pin(int cpu);
void unpin(void);
int chan_new(unsigned int capacity, unsigned int msg_max, int fd_flags);
int kchan_version(struct kchan_version *v);
void thread_switches(long *nv, long *niv);
void raise_nofile(long n);
bool as_real_uid(uid_t uid);
int count_iou_workers(void);
void profile_mark(bool on);

#endif /* CHANBENCH_UTIL_H */
