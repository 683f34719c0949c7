// SPDX-License-Identifier: GPL-2.0
/*
 * chanctl: create, inspect, close and remove kchan channels from the shell.
 *
 * Channels are made, removed, closed, sent to and received from through
 * libkchan; what the library has no call for (stat, version, the listing)
 * uses the ioctls and files directly.
 *
 * Exit status: 0 on success, 1 if the operation failed, 2 on a usage error.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <libkchan.h>

#define CHANCTL_DEV	"/dev/chanctl"
#define CHAN_DIR	"/dev/chan"
#define CHAN_SYSFS	"/sys/class/chan"
#define CHAN_PROC	"/proc/kchan"

#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define EXIT_TIMEOUT	3

static const char usage_text[] =
	"Usage: chanctl COMMAND [ARGS]\n"
	"\n"
	"  create NAME [--capacity N] [--msg-max BYTES] [--mode OCTAL] [--autoclose]\n"
	"                 make /dev/chan/NAME (defaults: capacity 0 = rendezvous,\n"
	"                 msg-max 4096, mode 0 = the kernel default 0600); the\n"
	"                 node's mode is the mode less the umask, as for open(2)\n"
	"  rm NAME        remove the name; open descriptors keep working\n"
	"  close NAME     close the channel (Go's close): receivers drain, then EOF\n"
	"  send NAME [MSG...]\n"
	"                 send each MSG as one message, waiting as a write does;\n"
	"                 with no MSG, each line of stdin without its newline\n"
	"                 (empty lines are skipped: a message has 1 byte or more)\n"
	"  recv NAME [-n N] [--timeout SECONDS]\n"
	"                 print each message received, and a newline, until the\n"
	"                 channel is closed and drained or N messages arrived;\n"
	"                 --timeout bounds the whole command (exit status 3)\n"
	"  stat NAME [--json]\n"
	"                 print the channel's state, one 'key: value' per line\n"
	"  ls [--json]    list the named channels\n"
	"  version [--json]\n"
	"                 print the interface version, features and limits\n"
	"  top [--once] [--interval SECONDS] [--json]\n"
	"                 the channels " CHAN_PROC " shows (the caller's own),\n"
	"                 with send and receive rates per second, refreshed\n"
	"                 every interval (default 1); --once prints one table,\n"
	"                 its rates measured over one interval\n"
	"  --help         print this help\n"
	"\n"
	"--json prints JSON instead of text (top without --once: one line of\n"
	"JSON per refresh).\n"
	"Exit status: 0 success, 1 operation failed, 2 usage error,\n"
	"3 recv's timeout passed.\n";

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("chanctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'chanctl --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Print "chanctl: WHAT: strerror(err)" and return the failure status. */
static int fail(const char *what, const char *name, int err)
{
	if (name)
		fprintf(stderr, "chanctl: %s %s: %s\n", what, name, strerror(err));
	else
		fprintf(stderr, "chanctl: %s: %s\n", what, strerror(err));
	return EXIT_FAIL;
}

/*
 * Parse a whole unsigned 32-bit number in @base. strtoul alone accepts
 * leading blanks, a sign ("-1" wraps around) and trailing garbage.
 */
static bool parse_u32(const char *s, int base, __u32 *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end != '\0' || v > UINT32_MAX)
		return false;
	*out = v;
	return true;
}

/* Copy a channel name into a fixed-size uapi field, refusing truncation. */
static bool copy_name(char dst[KCHAN_NAME_SIZE], const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > KCHAN_NAME_MAX)
		return false;
	memcpy(dst, name, len + 1);
	return true;
}

/*
 * Names end up in a path under /dev/chan: keep them from walking out of
 * it. The kernel enforces the full name rules at creation.
 */
static bool name_is_path_safe(const char *name)
{
	return *name && !strchr(name, '/') &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int open_ctl(void)
{
	return open(CHANCTL_DEV, O_RDWR | O_CLOEXEC);
}

/* @wait: reads and writes wait as they would on any file. */
static int open_chan(const char *name, int flags, bool wait)
{
	char path[sizeof(CHAN_DIR) + KCHAN_NAME_SIZE];

	snprintf(path, sizeof(path), "%s/%s", CHAN_DIR, name);
	return open(path, flags | (wait ? 0 : O_NONBLOCK) | O_CLOEXEC);
}

/*
 * Each option takes its value as "--opt VALUE" or "--opt=VALUE".
 * Returns the value and advances *i, or NULL if @arg is not @opt.
 */
static const char *opt_value(int argc, char **argv, int *i, const char *opt,
			     bool *missing)
{
	const char *arg = argv[*i];
	size_t len = strlen(opt);

	if (strncmp(arg, opt, len) != 0)
		return NULL;
	if (arg[len] == '=')
		return arg + len + 1;
	if (arg[len] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

static int cmd_create(int argc, char **argv)
{
	struct kchan_create req = { .msg_max = 4096 };
	const char *name = NULL;
	int ret, i;

	for (i = 0; i < argc; i++) {
		bool missing = false;
		const char *val;

		if ((val = opt_value(argc, argv, &i, "--capacity", &missing))) {
			if (!parse_u32(val, 10, &req.capacity))
				return usage_error("invalid capacity '%s'", val);
		} else if ((val = opt_value(argc, argv, &i, "--msg-max", &missing))) {
			if (!parse_u32(val, 10, &req.msg_max))
				return usage_error("invalid msg-max '%s'", val);
		} else if ((val = opt_value(argc, argv, &i, "--mode", &missing))) {
			if (!parse_u32(val, 8, &req.mode) || req.mode > 07777)
				return usage_error("invalid mode '%s' (octal, at most 07777)", val);
		} else if (missing) {
			return usage_error("option '%s' needs a value", argv[i]);
		} else if (!strcmp(argv[i], "--autoclose")) {
			req.flags |= KCHAN_CREATE_AUTOCLOSE;
		} else if (argv[i][0] == '-') {
			return usage_error("unknown option '%s'", argv[i]);
		} else if (name) {
			return usage_error("unexpected argument '%s'", argv[i]);
		} else {
			name = argv[i];
		}
	}
	if (!name)
		return usage_error("create: missing NAME");
	if (!copy_name(req.name, name))
		return usage_error("invalid name '%s' (1..64 characters)", name);
	ret = kchan_create(name, req.capacity, req.msg_max, req.mode, req.flags);
	return ret < 0 ? fail("create", name, -ret) : 0;
}

static int cmd_rm(const char *name)
{
	char buf[KCHAN_NAME_SIZE];
	int ret;

	if (!copy_name(buf, name))
		return usage_error("invalid name '%s' (1..64 characters)", name);
	ret = kchan_unlink(name);
	return ret < 0 ? fail("rm", name, -ret) : 0;
}

static int cmd_close(const char *name)
{
	int fd, ret;

	if (!name_is_path_safe(name))
		return usage_error("invalid name '%s'", name);
	fd = open_chan(name, O_WRONLY, false);
	if (fd < 0)
		return fail("open", name, errno);
	ret = kchan_close(fd);
	close(fd);
	return ret < 0 ? fail("close", name, -ret) : 0;
}

/* A JSON string; names are plain, but nothing else may break the output. */
static void json_str(const char *str)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)str; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* One "key: value" line, or one JSON member (@first: no comma before). */
static void field_u64(bool json, bool first, const char *key,
		      unsigned long long v)
{
	if (json)
		printf("%s\"%s\": %llu", first ? "" : ", ", key, v);
	else
		printf("%s: %llu\n", key, v);
}

static void field_bool(bool json, const char *key, bool v)
{
	if (json)
		printf(", \"%s\": %s", key, v ? "true" : "false");
	else
		printf("%s: %d\n", key, v);
}

/* Parse a number of seconds: finite, >= 0. */
static bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s || isspace((unsigned char)*s) || *s == '-')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end != '\0' || !isfinite(v) || v < 0 || v > 1e9)
		return false;
	*out = v;
	return true;
}

static __s64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__s64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmd_stat(const char *name, bool json)
{
	struct kchan_stat st;
	int fd, ret, err;

	if (!name_is_path_safe(name))
		return usage_error("invalid name '%s'", name);
	fd = open_chan(name, O_RDONLY, false);
	if (fd < 0)
		return fail("open", name, errno);
	memset(&st, 0, sizeof(st));
	ret = ioctl(fd, KCHAN_IOC_STAT, &st);
	err = errno;
	close(fd);
	if (ret < 0)
		return fail("stat", name, err);

	if (json) {
		printf("{\"name\": ");
		json_str(name);
		printf(", ");
	}
	field_u64(json, true, "id", st.id);
	field_u64(json, false, "capacity", st.capacity);
	field_u64(json, false, "msg_max", st.msg_max);
	field_u64(json, false, "queued", st.queued);
	field_u64(json, false, "senders", st.senders);
	field_u64(json, false, "receivers", st.receivers);
	field_bool(json, "closed", st.flags & KCHAN_STAT_CLOSED);
	field_bool(json, "autoclose", st.flags & KCHAN_STAT_AUTOCLOSE);
	field_u64(json, false, "sent", st.sent);
	field_u64(json, false, "received", st.received);
	field_u64(json, false, "next_len", st.next_len);
	if (json)
		printf("}\n");
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_ls(bool json)
{
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	int ret = 0;
	DIR *dir;

	dir = opendir(CHAN_SYSFS);
	if (!dir)
		return fail(CHAN_SYSFS, NULL, errno);
	while ((errno = 0, de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **grown;

			cap = cap ? 2 * cap : 16;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown) {
				ret = fail("ls", NULL, ENOMEM);
				goto out;
			}
			names = grown;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			ret = fail("ls", NULL, ENOMEM);
			goto out;
		}
		n++;
	}
	if (errno) {
		ret = fail(CHAN_SYSFS, NULL, errno);
		goto out;
	}
	qsort(names, n, sizeof(*names), compare_names);
	if (json)
		putchar('[');
	for (i = 0; i < n; i++) {
		if (json) {
			printf(i ? ", " : "");
			json_str(names[i]);
		} else {
			printf("%s\n", names[i]);
		}
	}
	if (json)
		printf("]\n");
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dir);
	return ret;
}

static int cmd_version(bool json)
{
	struct kchan_version v;
	int ctl, ret, err;

	ctl = open_ctl();
	if (ctl < 0)
		return fail(CHANCTL_DEV, NULL, errno);
	memset(&v, 0, sizeof(v));
	ret = ioctl(ctl, KCHAN_IOC_VERSION, &v);
	err = errno;
	close(ctl);
	if (ret < 0)
		return fail("version", NULL, err);

	if (json)
		putchar('{');
	field_u64(json, true, "version", v.version);
	if (json)
		field_u64(json, false, "features", v.features);
	else
		printf("features: 0x%llx\n", (unsigned long long)v.features);
	field_u64(json, false, "max_capacity", v.max_capacity);
	field_u64(json, false, "max_msg_size", v.max_msg_size);
	field_u64(json, false, "max_channels_per_user", v.max_channels_per_user);
	field_u64(json, false, "max_select_cases", v.max_select_cases);
	if (v.features & KCHAN_FEATURE_BUDGET) {
		field_u64(json, false, "max_names_per_user", v.max_names_per_user);
		field_u64(json, false, "max_bytes_per_user", v.max_bytes_per_user);
		field_u64(json, false, "user_bytes", v.user_bytes);
	}
	if (json)
		printf("}\n");
	return 0;
}

/* Send one message; it waits as a blocked write would. */
static int send_one(int fd, const char *name, const char *msg, size_t len)
{
	ssize_t n;

	do {
		n = kchan_send(fd, msg, len, KCHAN_FOREVER);
	} while (n == -EINTR);
	return n < 0 ? fail("send", name, -n) : 0;
}

static int cmd_send(int argc, char **argv)
{
	const char *name;
	char *line = NULL;
	size_t size = 0;
	ssize_t len;
	int fd, ret = 0, i;

	if (argc < 1)
		return usage_error("send: missing NAME");
	name = argv[0];
	if (!name_is_path_safe(name))
		return usage_error("invalid name '%s'", name);
	for (i = 1; i < argc; i++)
		if (!argv[i][0])
			return usage_error("send: empty message (a message has 1 byte or more)");

	fd = open_chan(name, O_WRONLY, true);
	if (fd < 0)
		return fail("open", name, errno);

	if (argc > 1) {
		for (i = 1; i < argc && !ret; i++)
			ret = send_one(fd, name, argv[i], strlen(argv[i]));
	} else {
		while (!ret && (len = getline(&line, &size, stdin)) >= 0) {
			if (len > 0 && line[len - 1] == '\n')
				len--;
			if (len > 0)
				ret = send_one(fd, name, line, len);
		}
		if (!ret && ferror(stdin))
			ret = fail("read", "stdin", errno);
		free(line);
	}
	close(fd);
	return ret;
}

static int cmd_recv(int argc, char **argv)
{
	const char *name = NULL;
	bool has_timeout = false;
	unsigned long long got = 0;
	struct kchan_stat st;
	int64_t deadline = KCHAN_FOREVER;
	double timeout = 0;
	__u32 count = 0;
	int fd, ret = 0, i;
	char *buf;
	ssize_t n;

	for (i = 0; i < argc; i++) {
		bool missing = false;
		const char *val;

		if ((val = opt_value(argc, argv, &i, "-n", &missing))) {
			if (!parse_u32(val, 10, &count) || count == 0)
				return usage_error("invalid count '%s'", val);
		} else if ((val = opt_value(argc, argv, &i, "--timeout", &missing))) {
			if (!parse_seconds(val, &timeout))
				return usage_error("invalid timeout '%s' (seconds)", val);
			has_timeout = true;
		} else if (missing) {
			return usage_error("option '%s' needs a value", argv[i]);
		} else if (argv[i][0] == '-') {
			return usage_error("unknown option '%s'", argv[i]);
		} else if (name) {
			return usage_error("unexpected argument '%s'", argv[i]);
		} else {
			name = argv[i];
		}
	}
	if (!name)
		return usage_error("recv: missing NAME");
	if (!name_is_path_safe(name))
		return usage_error("invalid name '%s'", name);
	/* The deadline bounds the whole command; 0 never waits. */
	if (has_timeout)
		deadline = timeout > 0 ? kchan_in((int64_t)(timeout * 1e9) + 1) : 0;

	fd = open_chan(name, O_RDONLY, true);
	if (fd < 0)
		return fail("open", name, errno);
	memset(&st, 0, sizeof(st));
	if (ioctl(fd, KCHAN_IOC_STAT, &st) < 0) {
		ret = fail("stat", name, errno);
		goto out_fd;
	}
	buf = malloc(st.msg_max);
	if (!buf) {
		ret = fail("recv", name, ENOMEM);
		goto out_fd;
	}
	while (!count || got < count) {
		do {
			n = kchan_recv(fd, buf, st.msg_max, deadline);
		} while (n == -EINTR);
		if (n == -ETIMEDOUT || (n == -EAGAIN && has_timeout)) {
			fprintf(stderr, "chanctl: recv %s: timed out after %llu message(s)\n",
				name, got);
			ret = EXIT_TIMEOUT;
			break;
		}
		if (n < 0) {
			ret = fail("recv", name, -n);
			break;
		}
		if (n == 0)
			break;
		got++;
		/* Each message as it comes, for a reader down a pipe. */
		if (fwrite(buf, 1, n, stdout) != (size_t)n || putchar('\n') == EOF ||
		    fflush(stdout) != 0) {
			ret = fail("write", NULL, errno ? errno : EIO);
			break;
		}
	}
	free(buf);
out_fd:
	close(fd);
	return ret;
}

/* One line of /proc/kchan. */
struct top_row {
	unsigned long long id, sent, received;
	unsigned int capacity, msg_max, queued, senders, receivers, closed;
	char name[KCHAN_NAME_SIZE];
	double send_rate, recv_rate;
};

/* Read /proc/kchan into a new array; returns its length or -errno. */
static long top_sample(struct top_row **rows)
{
	struct top_row *v = NULL, r;
	size_t n = 0, cap = 0, size = 0;
	char *line = NULL;
	FILE *f;

	f = fopen(CHAN_PROC, "re");
	if (!f)
		return -errno;
	while (getline(&line, &size, f) >= 0) {
		memset(&r, 0, sizeof(r));
		if (sscanf(line, "%llu %71s %u %u %u %u %u %u %llu %llu",
			   &r.id, r.name, &r.capacity, &r.msg_max, &r.queued,
			   &r.senders, &r.receivers, &r.closed, &r.sent,
			   &r.received) != 10)
			continue;	/* the header */
		if (n == cap) {
			struct top_row *grown;

			cap = cap ? 2 * cap : 32;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				free(v);
				free(line);
				fclose(f);
				return -ENOMEM;
			}
			v = grown;
		}
		v[n++] = r;
	}
	free(line);
	fclose(f);
	*rows = v;
	return n;
}

/* Rates of @cur's channels since @prev, @secs apart (ids are unique). */
static void top_rates(struct top_row *cur, long ncur,
		      const struct top_row *prev, long nprev, double secs)
{
	long i, j;

	for (i = 0; i < ncur; i++) {
		unsigned long long sent = 0, received = 0;

		for (j = 0; j < nprev; j++) {
			if (prev[j].id == cur[i].id) {
				sent = prev[j].sent;
				received = prev[j].received;
				break;
			}
		}
		cur[i].send_rate = (cur[i].sent - sent) / secs;
		cur[i].recv_rate = (cur[i].received - received) / secs;
	}
}

static void top_print(const struct top_row *rows, long n, double secs,
		      bool json)
{
	long i;

	if (json) {
		printf("{\"interval\": %.3f, \"channels\": [", secs);
		for (i = 0; i < n; i++) {
			const struct top_row *r = &rows[i];

			printf("%s{\"id\": %llu, \"name\": ", i ? ", " : "", r->id);
			if (strcmp(r->name, "-"))
				json_str(r->name);
			else
				printf("null");
			printf(", \"capacity\": %u, \"msg_max\": %u, \"queued\": %u, "
			       "\"senders\": %u, \"receivers\": %u, \"closed\": %s, "
			       "\"sent\": %llu, \"received\": %llu, "
			       "\"send_rate\": %.1f, \"recv_rate\": %.1f}",
			       r->capacity, r->msg_max, r->queued, r->senders,
			       r->receivers, r->closed ? "true" : "false",
			       r->sent, r->received, r->send_rate, r->recv_rate);
		}
		printf("]}\n");
		return;
	}
	printf("%6s %-20s %8s %7s %7s %7s %7s %6s %10s %10s %9s %9s\n",
	       "ID", "NAME", "CAPACITY", "MSG_MAX", "QUEUED", "SENDERS",
	       "RECVRS", "CLOSED", "SENT", "RECEIVED", "SENT/s", "RECV/s");
	for (i = 0; i < n; i++) {
		const struct top_row *r = &rows[i];

		printf("%6llu %-20s %8u %7u %7u %7u %7u %6s %10llu %10llu %9.1f %9.1f\n",
		       r->id, r->name, r->capacity, r->msg_max, r->queued,
		       r->senders, r->receivers, r->closed ? "yes" : "no",
		       r->sent, r->received, r->send_rate, r->recv_rate);
	}
}

static int cmd_top(int argc, char **argv)
{
	struct top_row *prev = NULL, *cur = NULL;
	bool once = false, json = false, clear;
	double interval = 1;
	long nprev, ncur;
	__s64 t0, t1;
	int i;

	for (i = 0; i < argc; i++) {
		bool missing = false;
		const char *val;

		if ((val = opt_value(argc, argv, &i, "--interval", &missing))) {
			if (!parse_seconds(val, &interval) || interval < 0.01)
				return usage_error("invalid interval '%s' (seconds, at least 0.01)", val);
		} else if (missing) {
			return usage_error("option '%s' needs a value", argv[i]);
		} else if (!strcmp(argv[i], "--once")) {
			once = true;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			return usage_error("top: unexpected argument '%s'", argv[i]);
		}
	}
	clear = !once && !json && isatty(STDOUT_FILENO);

	t0 = now_ns();
	nprev = top_sample(&prev);
	if (nprev < 0)
		return fail(CHAN_PROC, NULL, -nprev);
	for (;;) {
		struct timespec ts = {
			.tv_sec = (time_t)interval,
			.tv_nsec = (long)((interval - (time_t)interval) * 1e9),
		};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		t1 = now_ns();
		ncur = top_sample(&cur);
		if (ncur < 0) {
			free(prev);
			return fail(CHAN_PROC, NULL, -ncur);
		}
		top_rates(cur, ncur, prev, nprev, (t1 - t0) / 1e9);
		if (clear)
			printf("\033[H\033[2J");
		top_print(cur, ncur, (t1 - t0) / 1e9, json);
		free(prev);
		prev = cur;
		nprev = ncur;
		t0 = t1;
		if (once || fflush(stdout) != 0 || ferror(stdout))
			break;
	}
	free(prev);
	return 0;
}

/* The query commands' only option: --json, anywhere after the command. */
static int query_args(int argc, char **argv, int nargs, const char **arg,
		      bool *json)
{
	int i, got = 0;

	*json = false;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			*json = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("unknown option '%s'", argv[i]);
		else if (got < nargs)
			arg[got++] = argv[i];
		else
			return usage_error("unexpected argument '%s'", argv[i]);
	}
	if (got < nargs)
		return usage_error("missing NAME");
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd, *name = NULL;
	bool json;
	int ret;

	if (argc < 2)
		return usage_error("missing command");
	cmd = argv[1];

	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "create"))
		return cmd_create(argc - 2, argv + 2);

	if (!strcmp(cmd, "ls") || !strcmp(cmd, "version")) {
		ret = query_args(argc - 2, argv + 2, 0, NULL, &json);
		if (ret)
			return ret;
		ret = !strcmp(cmd, "ls") ? cmd_ls(json) : cmd_version(json);
	} else if (!strcmp(cmd, "stat")) {
		ret = query_args(argc - 2, argv + 2, 1, &name, &json);
		if (ret)
			return ret;
		ret = cmd_stat(name, json);
	} else if (!strcmp(cmd, "send")) {
		ret = cmd_send(argc - 2, argv + 2);
	} else if (!strcmp(cmd, "recv")) {
		ret = cmd_recv(argc - 2, argv + 2);
	} else if (!strcmp(cmd, "top")) {
		ret = cmd_top(argc - 2, argv + 2);
	} else if (!strcmp(cmd, "rm") || !strcmp(cmd, "close")) {
		if (argc < 3)
			return usage_error("%s: missing NAME", cmd);
		if (argc > 3)
			return usage_error("unexpected argument '%s'", argv[3]);
		if (!strcmp(cmd, "rm"))
			ret = cmd_rm(argv[2]);
		else
			ret = cmd_close(argv[2]);
	} else {
		return usage_error("unknown command '%s'", cmd);
	}

	/* A full stdout (e.g. a closed pipe) is a failure too. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && ret == 0)
		ret = fail("write", NULL, errno ? errno : EIO);
	return ret;
}
