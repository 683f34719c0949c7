// SPDX-License-Identifier: GPL-2.0
/* chanbench: results, medians, ratios to the baselines, table and CSV. */
#include "chanbench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Quantile q of sorted v[0..n-1], linear interpolation. */
static double quantile(const double *v, int n, double q)
{
	double pos = q * (n - 1);
	int i = (int)pos;

	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

double median_of(double *v, int n, double *iqr)
{
	if (n <= 0) {
		if (iqr)
			*iqr = NAN;
		return NAN;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	if (iqr)
		*iqr = quantile(v, n, 0.75) - quantile(v, n, 0.25);
	return quantile(v, n, 0.5);
}

/* The runs' values of @r: kept in order, their median and IQR. */
void row_set_runs(struct row *r, const double *v, int n)
{
	double sorted[MAX_RUNS];

	if (n > MAX_RUNS)
		n = MAX_RUNS;
	memcpy(r->per_run, v, n * sizeof(*v));
	memcpy(sorted, v, n * sizeof(*v));
	r->runs = n;
	r->median = median_of(sorted, n, &r->iqr);
}

/* The baselines' mechanisms; B_ONECALL's name only heads its CSV column. */
static const char *const base_names[NR_BASE] = {
	"eventfd", "futex", "pipe", "seqpacket", "mqueue", "seqpacket-mmsg",
	"one_per_call", "pipe-uring", "eventfd-uring",
};

static struct row *rows;
static int rows_alloc, ngroups;
int nrows;

int new_group(void)
{
	return ngroups++;
}

struct row *new_row(int group)
{
	struct row *r;
	int i;

	if (nrows == rows_alloc) {
		rows_alloc = rows_alloc ? 2 * rows_alloc : 64;
		rows = realloc(rows, rows_alloc * sizeof(*rows));
		if (!rows)
			die("out of memory");
	}
	r = &rows[nrows++];
	memset(r, 0, sizeof(*r));
	r->group = group;
	r->median = r->iqr = r->sys_op = r->sw_op = r->wk_op = NAN;
	for (i = 0; i < NR_BASE; i++)
		r->x[i] = NAN;
	strcpy(r->place, "-");
	strcpy(r->mode, "-");
	strcpy(r->cap, "-");
	strcpy(r->unit, "ns/op");
	return r;
}

/*
 * Ratio of @r to baseline @b: the median over the runs of r's run k
 * divided by b's run k. Run k of every mechanism of a group ran back to
 * back, so each pair saw the same load on the host; the ratio of the
 * medians stands in when the runs do not pair up.
 */
static double paired_ratio(const struct row *r, const struct row *b)
{
	double q[MAX_RUNS];
	int k, n = 0;

	if (r->runs == b->runs) {
		for (k = 0; k < r->runs; k++)
			if (b->per_run[k] > 0)
				q[n++] = r->per_run[k] / b->per_run[k];
		if (n == r->runs && n > 0)
			return median_of(q, n, NULL);
	}
	return r->median / b->median;
}

/* The row of mechanism @mech in @group with a usable median, or NULL. */
static const struct row *group_row(int group, const char *mech)
{
	int j;

	for (j = 0; j < nrows; j++)
		if (rows[j].group == group && !strcmp(rows[j].mech, mech))
			return rows[j].median > 0 ? &rows[j] : NULL;
	return NULL;
}

/*
 * Ratios of every row of @group to the baselines of the same group, and
 * of a row that names its one-message-per-call counterpart to that row.
 */
void group_ratios(int group)
{
	const struct row *base;
	int i, b;

	for (b = 0; b < NR_BASE; b++) {
		if (b == B_ONECALL)
			continue;
		base = group_row(group, base_names[b]);
		if (!base)
			continue;
		for (i = 0; i < nrows; i++)
			if (rows[i].group == group)
				rows[i].x[b] = paired_ratio(&rows[i], base);
	}
	for (i = 0; i < nrows; i++) {
		if (rows[i].group != group || !rows[i].onecall[0])
			continue;
		base = group_row(group, rows[i].onecall);
		if (base)
			rows[i].x[B_ONECALL] = paired_ratio(&rows[i], base);
	}
}

/*
 * The paired ratio of @mech to @base in @group, written in @mech's note
 * ("1.02x @what"): for a baseline that is no column of its own.
 */
void row_ratio_note(int group, const char *mech, const char *base,
		    const char *what)
{
	const struct row *b = group_row(group, base);
	int i;

	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];

		if (r->group != group || strcmp(r->mech, mech) || !b)
			continue;
		snprintf(r->note, sizeof(r->note), "%.2fx %s",
			 paired_ratio(r, b), what);
	}
}

static void fmt_num(char *buf, size_t len, double v, int prec)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", prec, v);
}

void print_table(FILE *f)
{
	static const char *const hdr =
		"%-7s %-17s %5s %5s %-10s %-6s %7s %11s %9s %-11s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s  %s\n";
	/* median, IQR, the NR_BASE ratios, sys/op, sw/op, wk/op */
	char c[2 + NR_BASE + 3][24];
	int i, k, last = -1;

	/* x_1call: the row's own transport, one message per call. */
	fprintf(f, hdr, "bench", "mechanism", "size", "cap", "mode", "place",
		"iters", "median", "IQR", "unit", "x_evfd", "x_ftx", "x_pipe",
		"x_seqp", "x_mq", "x_mmsg", "x_1call", "x_pu", "x_eu",
		"sys/op", "sw/op", "wk/op", "note");
	/* The columns below are c[0..13]: a new baseline needs one more. */
	_Static_assert(2 + NR_BASE + 3 == 14, "print_table's columns");
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		if (last >= 0 && r->group != last)
			fputc('\n', f);
		last = r->group;
		fmt_num(c[0], sizeof(c[0]), r->median, r->median < 100 ? 2 : 0);
		fmt_num(c[1], sizeof(c[1]), r->iqr, r->iqr < 100 ? 2 : 0);
		for (k = 0; k < NR_BASE; k++)
			fmt_num(c[2 + k], sizeof(c[2 + k]), r->x[k], 2);
		fmt_num(c[2 + NR_BASE], sizeof(c[0]), r->sys_op, 2);
		fmt_num(c[3 + NR_BASE], sizeof(c[0]), r->sw_op, 2);
		fmt_num(c[4 + NR_BASE], sizeof(c[0]), r->wk_op, 2);
		fprintf(f, "%-7s %-17s %5u %5s %-10s %-6s %7ld %11s %9s %-11s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s  %s\n",
			r->bench, r->mech, r->size, r->cap, r->mode, r->place,
			r->iters, c[0], c[1], r->unit, c[2], c[3], c[4], c[5],
			c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13],
			r->note);
	}
}

/* A CSV field in double quotes, quotes doubled (RFC 4180). */
static void csv_text(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void csv_num(FILE *f, double v)
{
	if (!isnan(v))
		fprintf(f, "%.6g", v);
	fputc(',', f);
}

int write_csv(const char *path)
{
	FILE *f = fopen(path, "w");
	int i, k;

	if (!f) {
		warn_msg("%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "bench,mechanism,size,capacity,mode,placement,iterations,runs,median,iqr,unit");
	for (k = 0; k < NR_BASE; k++)
		fprintf(f, ",x_%s", base_names[k]);
	fprintf(f, ",syscalls_per_op,switches_per_op,wakeups_per_op,note\n");
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		fprintf(f, "%s,%s,%u,%s,%s,%s,%ld,%d,", r->bench, r->mech,
			r->size, r->cap, r->mode, r->place, r->iters, r->runs);
		csv_num(f, r->median);
		csv_num(f, r->iqr);
		fprintf(f, "%s,", r->unit);
		for (k = 0; k < NR_BASE; k++)
			csv_num(f, r->x[k]);
		csv_num(f, r->sys_op);
		csv_num(f, r->sw_op);
		csv_num(f, r->wk_op);
		csv_text(f, r->note);
		fputc('\n', f);
	}
	return fclose(f) ? -1 : 0;
}

