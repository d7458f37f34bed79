/* SPDX-License-Identifier: MIT */
/*
 * hexzfs's own options. Values are taken as strings and checked here in
 * full (a number must be all number), since fuse_opt's scanf templates
 * would accept "1x" as 1.
 */
#define _GNU_SOURCE
#include "options.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	KEY_SOURCE,
	KEY_ENTRY_TIMEOUT,
	KEY_ATTR_TIMEOUT,
	KEY_NEGATIVE_TIMEOUT,
	KEY_TIMEOUT,
	KEY_MAP_CACHE,
	KEY_SYMLINKS,
	KEY_UID,
	KEY_GID,
	KEY_UMASK,
	KEY_IDLE_TIMEOUT,
	KEY_READAHEAD,
	KEY_VIEW,
	KEY_CACHE_SIZE,
	KEY_PASSFILE,
	KEY_PARENTS,
	KEY_WORKERS,
	KEY_BLOCK_FILL,
	KEY_CONTENTS_TIMEOUT,
};

static const struct fuse_opt hexzfs_opts[] = {
	FUSE_OPT_KEY("source=", KEY_SOURCE),
	FUSE_OPT_KEY("entry_timeout=", KEY_ENTRY_TIMEOUT),
	FUSE_OPT_KEY("attr_timeout=", KEY_ATTR_TIMEOUT),
	FUSE_OPT_KEY("negative_timeout=", KEY_NEGATIVE_TIMEOUT),
	FUSE_OPT_KEY("timeout=", KEY_TIMEOUT),
	FUSE_OPT_KEY("map_cache=", KEY_MAP_CACHE),
	FUSE_OPT_KEY("symlinks=", KEY_SYMLINKS),
	FUSE_OPT_KEY("uid=", KEY_UID),
	FUSE_OPT_KEY("gid=", KEY_GID),
	FUSE_OPT_KEY("umask=", KEY_UMASK),
	FUSE_OPT_KEY("idle_timeout=", KEY_IDLE_TIMEOUT),
	FUSE_OPT_KEY("readahead_kb=", KEY_READAHEAD),
	FUSE_OPT_KEY("view=", KEY_VIEW),
	FUSE_OPT_KEY("cache_size=", KEY_CACHE_SIZE),
	FUSE_OPT_KEY("passfile=", KEY_PASSFILE),
	FUSE_OPT_KEY("parents=", KEY_PARENTS),
	FUSE_OPT_KEY("workers=", KEY_WORKERS),
	FUSE_OPT_KEY("block_fill=", KEY_BLOCK_FILL),
	FUSE_OPT_KEY("contents_timeout=", KEY_CONTENTS_TIMEOUT),
	FUSE_OPT_END,
};

struct parse_state {
	struct hexzfs_config *cfg;
	struct cli *cli;
};

static void set_error(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_error(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	if (cli->error)
		return; /* the first problem is the one reported */
	va_start(ap, fmt);
	if (vasprintf(&cli->error, fmt, ap) < 0)
		cli->error = NULL;
	va_end(ap);
}

static void
bad_value(struct cli *cli, const char *name, const char *value, const char *want)
{
	set_error(cli, "invalid value '%s' for option %s: expected %s", value, name, want);
}

static int
parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	/*
	 * Plain decimal only: strtod would also take leading white space,
	 * "inf", exponents and hexadecimal.
	 */
	if (!*s || strspn(s, "0123456789.") != strlen(s) || strchr(s, '.') != strrchr(s, '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

static int
parse_uint(const char *s, int base, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1; /* no sign, no space */
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || end == s || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_uid(const char *s, uid_t *out)
{
	unsigned long v;
	struct passwd *pw;

	if (parse_uint(s, 10, UINT_MAX - 1, &v) == 0) {
		*out = (uid_t)v;
		return 0;
	}
	pw = getpwnam(s);
	if (!pw)
		return -1;
	*out = pw->pw_uid;
	return 0;
}

static int
parse_gid(const char *s, gid_t *out)
{
	unsigned long v;
	struct group *gr;

	if (parse_uint(s, 10, UINT_MAX - 1, &v) == 0) {
		*out = (gid_t)v;
		return 0;
	}
	gr = getgrnam(s);
	if (!gr)
		return -1;
	*out = gr->gr_gid;
	return 0;
}

static int
parse_symlinks(const char *s, enum symlink_policy *out)
{
	if (strcmp(s, "inside") == 0)
		*out = SYMLINKS_INSIDE;
	else if (strcmp(s, "any") == 0)
		*out = SYMLINKS_ANY;
	else if (strcmp(s, "none") == 0)
		*out = SYMLINKS_NONE;
	else
		return -1;
	return 0;
}

/* A byte count with an optional K, M or G suffix (powers of 1024). */
static int
parse_size(const char *s, uint64_t *out)
{
	static const char suffixes[] = "KMG";
	unsigned long v;
	char digits[24];
	size_t n = strspn(s, "0123456789");
	const char *suffix;
	unsigned int shift = 0;

	if (n == 0 || n >= sizeof(digits))
		return -1;
	if (s[n] != '\0') {
		suffix = strchr(suffixes, s[n]);
		if (!suffix || s[n + 1] != '\0')
			return -1;
		shift = 10 * (unsigned int)(suffix - suffixes + 1);
	}
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (parse_uint(digits, 10, ULONG_MAX, &v) || v > (UINT64_MAX >> 1) >> shift)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static void
take_option(struct parse_state *ps, int key, const char *arg)
{
	struct hexzfs_config *cfg = ps->cfg;
	const char *eq = strchr(arg, '=');
	const char *value = eq + 1;
	char name[32];
	unsigned long v;

	snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
	switch (key) {
	case KEY_SOURCE:
		free(ps->cli->source_opt);
		ps->cli->source_opt = strdup(value);
		if (!*value)
			bad_value(ps->cli, name, value, "a directory");
		break;
	case KEY_ENTRY_TIMEOUT:
		if (parse_seconds(value, &cfg->entry_timeout))
			bad_value(ps->cli, name, value,
				  "seconds, a decimal number from 0 to 1000000000");
		break;
	case KEY_ATTR_TIMEOUT:
		if (parse_seconds(value, &cfg->attr_timeout))
			bad_value(ps->cli, name, value,
				  "seconds, a decimal number from 0 to 1000000000");
		break;
	case KEY_NEGATIVE_TIMEOUT:
		if (parse_seconds(value, &cfg->negative_timeout))
			bad_value(ps->cli, name, value,
				  "seconds, a decimal number from 0 to 1000000000");
		break;
	case KEY_CONTENTS_TIMEOUT:
		if (parse_seconds(value, &cfg->contents_timeout))
			bad_value(ps->cli, name, value,
				  "seconds, a decimal number from 0 to 1000000000");
		break;
	case KEY_TIMEOUT:
		if (parse_seconds(value, &cfg->entry_timeout))
			bad_value(ps->cli, name, value,
				  "seconds, a decimal number from 0 to 1000000000");
		cfg->attr_timeout = cfg->entry_timeout;
		break;
	case KEY_MAP_CACHE:
		if (parse_uint(value, 10, 1000000, &v))
			bad_value(ps->cli, name, value,
				  "a whole number of mappings from 0 to 1000000");
		else
			cfg->map_cache = (unsigned int)v;
		break;
	case KEY_SYMLINKS:
		if (parse_symlinks(value, &cfg->symlinks))
			bad_value(ps->cli, name, value, "one of inside, any, none");
		break;
	case KEY_UID:
		if (parse_uid(value, &cfg->uid))
			bad_value(ps->cli, name, value, "a user name or a numeric uid");
		cfg->set_uid = true;
		break;
	case KEY_GID:
		if (parse_gid(value, &cfg->gid))
			bad_value(ps->cli, name, value, "a group name or a numeric gid");
		cfg->set_gid = true;
		break;
	case KEY_UMASK:
		if (parse_uint(value, 8, 0777, &v))
			bad_value(ps->cli, name, value, "an octal mask from 0 to 0777");
		else
			cfg->umask = (mode_t)v;
		cfg->set_umask = true;
		break;
	case KEY_IDLE_TIMEOUT:
		if (parse_uint(value, 10, 100000000, &v))
			bad_value(ps->cli, name, value, "whole seconds from 0 to 100000000");
		else
			cfg->idle_timeout = (unsigned int)v;
		break;
	case KEY_READAHEAD:
		if (parse_uint(value, 10, 1048576, &v))
			bad_value(ps->cli, name, value, "KiB, a whole number from 0 to 1048576");
		else
			cfg->readahead_kb = (unsigned int)v;
		break;
	case KEY_VIEW:
		if (strcmp(value, "raw") == 0)
			cfg->view = VIEW_RAW;
		else if (strcmp(value, "contents") == 0)
			cfg->view = VIEW_CONTENTS;
		else
			bad_value(ps->cli, name, value, "raw or contents");
		break;
	case KEY_CACHE_SIZE:
		if (parse_size(value, &cfg->cache_size) || cfg->cache_size < (1u << 20) ||
		    cfg->cache_size > (1ull << 40))
			bad_value(ps->cli, name, value,
				  "bytes with an optional K, M or G suffix, from 1M to 1024G");
		break;
	case KEY_PASSFILE:
		free(cfg->passfile);
		cfg->passfile = strdup(value);
		if (!*value)
			bad_value(ps->cli, name, value, "a file holding the password");
		break;
	case KEY_PARENTS:
		if (strcmp(value, "inside") == 0)
			cfg->parents = PARENTS_INSIDE;
		else if (strcmp(value, "any") == 0)
			cfg->parents = PARENTS_ANY;
		else
			bad_value(ps->cli, name, value, "inside or any");
		break;
	case KEY_WORKERS:
		if (parse_uint(value, 10, 256, &v))
			bad_value(ps->cli, name, value, "a whole number of threads from 0 to 256");
		else
			cfg->workers = (unsigned int)v;
		break;
	case KEY_BLOCK_FILL:
		if (strcmp(value, "on") == 0)
			cfg->block_fill = true;
		else if (strcmp(value, "off") == 0)
			cfg->block_fill = false;
		else
			bad_value(ps->cli, name, value, "on or off");
		break;
	}
}

static int
on_argument(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct parse_state *ps = data;

	(void)outargs;
	if (key == FUSE_OPT_KEY_NONOPT) {
		if (ps->cli->npositional == 2) {
			set_error(ps->cli, "too many arguments: '%s' (see hexzfs --help)", arg);
			return 0;
		}
		ps->cli->positional[ps->cli->npositional++] = strdup(arg);
		return 0;
	}
	if (key >= KEY_SOURCE && key <= KEY_CONTENTS_TIMEOUT) {
		take_option(ps, key, arg);
		return 0;
	}
	/* FUSE's own options: keep them for libfuse to interpret. */
	return 1;
}

/* One decompression thread per CPU the daemon may run on. */
static unsigned int
default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (unsigned int)n;
}

int
options_parse(struct fuse_args *args, struct hexzfs_config *cfg, struct cli *cli)
{
	struct parse_state ps = { cfg, cli };

	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 0.0;
	cfg->contents_timeout = DEFAULT_CONTENTS_TIMEOUT;
	cfg->map_cache = 16384;
	cfg->symlinks = SYMLINKS_INSIDE;
	cfg->readahead_kb = 1024;
	cfg->view = VIEW_RAW;
	cfg->cache_size = DEFAULT_CACHE_SIZE;
	cfg->parents = PARENTS_INSIDE;
	cfg->workers = default_workers();
	cfg->block_fill = true;
	if (fuse_opt_parse(args, &ps, hexzfs_opts, on_argument) != 0) {
		fprintf(stderr, "hexzfs: cannot parse the command line (out of memory?)\n");
		return -1;
	}
	if (cli->error) {
		fprintf(stderr, "hexzfs: %s\n", cli->error);
		return -1;
	}
	return 0;
}

int
options_settle_paths(struct cli *cli, struct hexzfs_config *cfg, const char **mountpoint)
{
	if (cli->npositional == 0) {
		fprintf(stderr,
			"hexzfs: missing MOUNTPOINT\n"
			"usage: hexzfs [options] SNAPSHOT_DIR MOUNTPOINT (see hexzfs --help)\n");
		return -1;
	}
	if (cli->npositional == 2 && cli->source_opt) {
		fprintf(stderr,
			"hexzfs: the snapshot directory is given twice: '%s' and -o source=%s\n",
			cli->positional[0], cli->source_opt);
		return -1;
	}
	if (cli->npositional == 2)
		cfg->source = cli->positional[0];
	else if (cli->source_opt)
		cfg->source = cli->source_opt;
	else
		cfg->source = ".";
	*mountpoint = cli->positional[cli->npositional - 1];
	return 0;
}

/* Backslash-escape the commas and backslashes that fuse_opt treats specially. */
static char *
escape_option_value(const char *value)
{
	char *out = malloc(strlen(value) * 2 + 1);
	char *d = out;

	if (!out)
		return NULL;
	for (const char *s = value; *s; s++) {
		if (*s == ',' || *s == '\\')
			*d++ = '\\';
		*d++ = *s;
	}
	*d = '\0';
	return out;
}

int
options_add_defaults(struct fuse_args *args, const struct hexzfs_config *cfg)
{
	char *fsname = escape_option_value(cfg->source_real);
	char *opts = NULL;
	int ret = -1;

	if (!fsname)
		return -1;
	if (asprintf(&opts, "ro,default_permissions,subtype=hexzfs,fsname=%s", fsname) < 0)
		goto out;
	/* Insert right after argv[0], so that options the user gave win. */
	if (fuse_opt_insert_arg(args, 1, "-o") == 0 && fuse_opt_insert_arg(args, 2, opts) == 0)
		ret = 0;
	free(opts);
out:
	free(fsname);
	return ret;
}

void
options_print_usage(const char *prog)
{
	printf("usage: %s [options] SNAPSHOT_DIR MOUNTPOINT\n"
	       "       %s [options] -o source=SNAPSHOT_DIR MOUNTPOINT\n"
	       "\n"
	       "Mount a directory of .hxz snapshot files as read-only files.\n"
	       "Unmount with: fusermount3 -u MOUNTPOINT\n"
	       "\n"
	       "hexzfs options:\n"
	       "    -o source=DIR          snapshot directory (default: the current directory\n"
	       "                           when only MOUNTPOINT is given)\n"
	       "    -o entry_timeout=SECS  how long the kernel trusts a name (default 1)\n"
	       "    -o attr_timeout=SECS   how long the kernel trusts attributes (default 1)\n"
	       "    -o timeout=SECS        sets both entry_timeout and attr_timeout\n"
	       "    -o negative_timeout=SECS\n"
	       "                           how long the kernel trusts a missing name (default 0)\n"
	       "    -o map_cache=N         mappings kept after their last close (default 16384)\n"
	       "    -o symlinks=POLICY     which symbolic links to follow: inside (default:\n"
	       "                           targets under SNAPSHOT_DIR), any, none\n"
	       "    -o uid=USER            show every file as owned by USER (name or number)\n"
	       "    -o gid=GROUP           show every file as owned by GROUP (name or number)\n"
	       "    -o umask=MASK          show mode 0777 & ~MASK on directories and\n"
	       "                           0666 & ~MASK on files (write bits always removed)\n"
	       "    -o idle_timeout=SECS   unmount after SECS with no open file and no request\n"
	       "                           (default 0: never)\n"
	       "    -o readahead_kb=KB     kernel read-ahead for the mount, in KiB (default\n"
	       "                           1024; 0 keeps the kernel's 128; needs root)\n"
	       "    -o view=VIEW           raw (default): each .hxz file as it is; contents:\n"
	       "                           each hexz archive as a directory of what it holds\n"
	       "    -o cache_size=SIZE     contents view: decompressed-block cache, bytes with\n"
	       "                           an optional K, M or G suffix (default 256M)\n"
	       "    -o passfile=FILE       contents view: password of encrypted archives, the\n"
	       "                           file's content (mode 0600; HEXZ_PASSWORD works too)\n"
	       "    -o parents=WHERE       contents view: where thin archives' parents may be:\n"
	       "                           inside (default: under SNAPSHOT_DIR), any\n"
	       "    -o workers=N           contents view: decompression threads (default: one\n"
	       "                           per CPU)\n"
	       "    -o block_fill=on|off   contents view: after a read that used part of a\n"
	       "                           decompressed block, give the kernel's page cache\n"
	       "                           the rest of it, as the kernel's squashfs does\n"
	       "                           (default on)\n"
	       "    -o contents_timeout=SECS\n"
	       "                           contents view: how long the kernel trusts names,\n"
	       "                           attributes, misses and listings inside an archive,\n"
	       "                           which never change (default 1000000000; the\n"
	       "                           archives' own names keep entry_timeout)\n"
	       "\n"
	       "Always on: -o ro,default_permissions,subtype=hexzfs,fsname=SNAPSHOT_DIR\n"
	       "Send SIGUSR1 to the daemon to log its counters.\n"
	       "\n",
	       prog, prog);
}

void
options_free(struct cli *cli, struct hexzfs_config *cfg)
{
	free(cli->positional[0]);
	free(cli->positional[1]);
	free(cli->source_opt);
	free(cli->error);
	free(cfg->source_real);
	free(cfg->mount_real);
	free(cfg->passfile);
}
