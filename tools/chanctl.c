// SPDX-License-Identifier: GPL-2.0
/*
 * chanctl: create, inspect, close and remove kchan channels from the shell.
 *
 * Exit status: 0 on success, 1 if the operation failed, 2 on a usage error.
 */
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
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kchan.h>

#define CHANCTL_DEV	"/dev/chanctl"
#define CHAN_DIR	"/dev/chan"
#define CHAN_SYSFS	"/sys/class/chan"

#define EXIT_FAIL	1
#define EXIT_USAGE	2

static const char usage_text[] =
	"Usage: chanctl COMMAND [ARGS]\n"
	"\n"
	"  create NAME [--capacity N] [--msg-max BYTES] [--mode OCTAL] [--autoclose]\n"
	"                 make /dev/chan/NAME (defaults: capacity 0 = rendezvous,\n"
	"                 msg-max 4096, mode 0 = the kernel default 0600); the\n"
	"                 node's mode is the mode less the umask, as for open(2)\n"
	"  rm NAME        remove the name; open descriptors keep working\n"
	"  close NAME     close the channel (Go's close): receivers drain, then EOF\n"
	"  stat NAME      print the channel's state, one 'key: value' per line\n"
	"  ls             list the named channels\n"
	"  version        print the interface version, features and limits\n"
	"  --help         print this help\n"
	"\n"
	"Exit status: 0 success, 1 operation failed, 2 usage error.\n";

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

static int open_chan(const char *name, int flags)
{
	char path[sizeof(CHAN_DIR) + KCHAN_NAME_SIZE];

	snprintf(path, sizeof(path), "%s/%s", CHAN_DIR, name);
	return open(path, flags | O_NONBLOCK | O_CLOEXEC);
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
	int ctl, ret, err, i;

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

	ctl = open_ctl();
	if (ctl < 0)
		return fail(CHANCTL_DEV, NULL, errno);
	ret = ioctl(ctl, KCHAN_CTL_CREATE, &req);
	err = errno;
	close(ctl);
	return ret < 0 ? fail("create", name, err) : 0;
}

static int cmd_rm(const char *name)
{
	struct kchan_name req = { .reserved = 0 };
	int ctl, ret, err;

	if (!copy_name(req.name, name))
		return usage_error("invalid name '%s' (1..64 characters)", name);
	ctl = open_ctl();
	if (ctl < 0)
		return fail(CHANCTL_DEV, NULL, errno);
	ret = ioctl(ctl, KCHAN_CTL_UNLINK, &req);
	err = errno;
	close(ctl);
	return ret < 0 ? fail("rm", name, err) : 0;
}

static int cmd_close(const char *name)
{
	int fd, ret, err;

	if (!name_is_path_safe(name))
		return usage_error("invalid name '%s'", name);
	fd = open_chan(name, O_WRONLY);
	if (fd < 0)
		return fail("open", name, errno);
	ret = ioctl(fd, KCHAN_IOC_CLOSE);
	err = errno;
	close(fd);
	return ret < 0 ? fail("close", name, err) : 0;
}

static int cmd_stat(const char *name)
{
	struct kchan_stat st;
	int fd, ret, err;

	if (!name_is_path_safe(name))
		return usage_error("invalid name '%s'", name);
	fd = open_chan(name, O_RDONLY);
	if (fd < 0)
		return fail("open", name, errno);
	memset(&st, 0, sizeof(st));
	ret = ioctl(fd, KCHAN_IOC_STAT, &st);
	err = errno;
	close(fd);
	if (ret < 0)
		return fail("stat", name, err);

	printf("id: %llu\n", (unsigned long long)st.id);
	printf("capacity: %u\n", st.capacity);
	printf("msg_max: %u\n", st.msg_max);
	printf("queued: %u\n", st.queued);
	printf("senders: %u\n", st.senders);
	printf("receivers: %u\n", st.receivers);
	printf("closed: %d\n", !!(st.flags & KCHAN_STAT_CLOSED));
	printf("autoclose: %d\n", !!(st.flags & KCHAN_STAT_AUTOCLOSE));
	printf("sent: %llu\n", (unsigned long long)st.sent);
	printf("received: %llu\n", (unsigned long long)st.received);
	printf("next_len: %u\n", st.next_len);
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_ls(void)
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
	for (i = 0; i < n; i++)
		printf("%s\n", names[i]);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dir);
	return ret;
}

static int cmd_version(void)
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

	printf("version: %u\n", v.version);
	printf("features: 0x%llx\n", (unsigned long long)v.features);
	printf("max_capacity: %u\n", v.max_capacity);
	printf("max_msg_size: %u\n", v.max_msg_size);
	printf("max_channels_per_user: %u\n", v.max_channels_per_user);
	printf("max_select_cases: %u\n", v.max_select_cases);
	if (v.features & KCHAN_FEATURE_BUDGET) {
		printf("max_names_per_user: %u\n", v.max_names_per_user);
		printf("max_bytes_per_user: %llu\n",
		       (unsigned long long)v.max_bytes_per_user);
		printf("user_bytes: %llu\n", (unsigned long long)v.user_bytes);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;
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
		if (argc != 2)
			return usage_error("unexpected argument '%s'", argv[2]);
		ret = !strcmp(cmd, "ls") ? cmd_ls() : cmd_version();
	} else if (!strcmp(cmd, "rm") || !strcmp(cmd, "close") ||
		   !strcmp(cmd, "stat")) {
		if (argc < 3)
			return usage_error("%s: missing NAME", cmd);
		if (argc > 3)
			return usage_error("unexpected argument '%s'", argv[3]);
		if (!strcmp(cmd, "rm"))
			ret = cmd_rm(argv[2]);
		else if (!strcmp(cmd, "close"))
			ret = cmd_close(argv[2]);
		else
			ret = cmd_stat(argv[2]);
	} else {
		return usage_error("unknown command '%s'", cmd);
	}

	/* A full stdout (e.g. a closed pipe) is a failure too. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && ret == 0)
		ret = fail("write", NULL, errno ? errno : EIO);
	return ret;
}
