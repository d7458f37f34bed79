/* SPDX-License-Identifier: MIT */
/*
 * fuzz_options: the command line, as main() takes it.
 *
 * Input: the arguments after argv[0] = "hexzfs", separated by NUL bytes or
 * newlines; the MAX_ARGS-th argument takes the rest of the input, separators
 * and all. Each argument lives in a block of exactly its size, so that
 * AddressSanitizer sees any read past its end.
 *
 * Checked: no crash, no leak after fuse_opt_free_args() and options_free();
 * a successful parse leaves every value in its documented range; the
 * settled paths point at what was given; and options_add_defaults()
 * escapes SNAPSHOT_DIR so that libfuse reads back exactly the same fsname.
 */
#include <math.h>

#include "fuzz.h"
#include "options.h"

#define MAX_ARGS 16

/*
 * The parser reports every bad value on stderr, which would bury
 * libFuzzer's own output. glibc lets a program assign stderr; libFuzzer
 * took its copy of the pointer before this runs, and sanitizer reports go
 * to file descriptor 2 directly, so both stay visible.
 * HEXZFS_FUZZ_VERBOSE=1 keeps the parser's messages (to reproduce one).
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *devnull;

	(void)argc;
	(void)argv;
	if (getenv("HEXZFS_FUZZ_VERBOSE"))
		return 0;
	devnull = fopen("/dev/null", "we");
	if (devnull)
		stderr = devnull;
	return 0;
}

/* argv[0] "hexzfs", then the input split on NUL and newline; NULL-terminated. */
static int
split_args(const uint8_t *data, size_t size, char **argv)
{
	int argc = 0;
	size_t start = 0;

	argv[argc++] = fuzz_strndup((const uint8_t *)"hexzfs", 6);
	for (size_t i = 0; argc < MAX_ARGS; i++) {
		if (i == size || data[i] == '\0' || data[i] == '\n') {
			argv[argc++] = fuzz_strndup(data + start, i - start);
			start = i + 1;
			if (i == size)
				break;
		}
	}
	if (start <= size && argc == MAX_ARGS) /* the last argument takes the rest */
		argv[argc++] = fuzz_strndup(data + start, size - start);
	argv[argc] = NULL;
	return argc;
}

static void
check_config(const struct hexzfs_config *cfg, const struct cli *cli)
{
	FUZZ_CHECK(cli->error == NULL);
	FUZZ_CHECK(cli->npositional >= 0 && cli->npositional <= 2);
	for (int i = 0; i < cli->npositional; i++)
		FUZZ_CHECK(cli->positional[i] != NULL);
	FUZZ_CHECK(isfinite(cfg->entry_timeout) && cfg->entry_timeout >= 0 &&
		   cfg->entry_timeout <= 1e9);
	FUZZ_CHECK(isfinite(cfg->attr_timeout) && cfg->attr_timeout >= 0 &&
		   cfg->attr_timeout <= 1e9);
	FUZZ_CHECK(isfinite(cfg->negative_timeout) && cfg->negative_timeout >= 0 &&
		   cfg->negative_timeout <= 1e9);
	FUZZ_CHECK(cfg->map_cache <= 1000000);
	FUZZ_CHECK(cfg->symlinks == SYMLINKS_INSIDE || cfg->symlinks == SYMLINKS_ANY ||
		   cfg->symlinks == SYMLINKS_NONE);
	FUZZ_CHECK(cfg->umask <= 0777);
	FUZZ_CHECK(cfg->idle_timeout <= 100000000);
	FUZZ_CHECK(cfg->readahead_kb <= 1048576);
	FUZZ_CHECK(!cfg->set_uid || cfg->uid != (uid_t)-1);
	FUZZ_CHECK(!cfg->set_gid || cfg->gid != (gid_t)-1);
}

/* The first fsname=VALUE libfuse finds, already unescaped. */
static int
take_fsname(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	char **fsname = data;

	(void)outargs;
	if (key == 1 && !*fsname)
		*fsname = fuzz_strndup((const uint8_t *)arg + 7, strlen(arg + 7));
	return 1;
}

/*
 * main() hands the canonical SNAPSHOT_DIR to options_add_defaults(); here
 * the settled source stands in for it (any bytes but NUL, like a path).
 */
static void
check_defaults_round_trip(struct fuse_args *args, struct hexzfs_config *cfg)
{
	static const struct fuse_opt fsname_opt[] = {
		FUSE_OPT_KEY("fsname=", 1),
		FUSE_OPT_END,
	};
	char *fsname = NULL;

	cfg->source_real = strdup(cfg->source);
	FUZZ_CHECK(cfg->source_real != NULL);
	FUZZ_CHECK(options_add_defaults(args, cfg) == 0);
	FUZZ_CHECK(args->argc >= 3 && strcmp(args->argv[1], "-o") == 0);
	/* What libfuse will see: the first fsname= is ours, and intact. */
	FUZZ_CHECK(fuse_opt_parse(args, &fsname, fsname_opt, take_fsname) == 0);
	FUZZ_CHECK(fsname != NULL);
	FUZZ_CHECK(strcmp(fsname, cfg->source_real) == 0);
	free(fsname);
}

/* SNAPSHOT_DIR as given: the first of two positionals or -o source=; NULL for "." */
static const char *
expected_source(const struct cli *cli)
{
	if (cli->npositional == 2)
		return cli->positional[0];
	return cli->source_opt;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2];
	int argc = split_args(data, size, argv);
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct hexzfs_config cfg = { 0 };
	struct cli cli = { 0 };
	const char *mountpoint = NULL;
	const char *want;

	if (options_parse(&args, &cfg, &cli) == 0) {
		check_config(&cfg, &cli);
		if (options_settle_paths(&cli, &cfg, &mountpoint) == 0) {
			FUZZ_CHECK(cli.npositional > 0);
			FUZZ_CHECK(mountpoint == cli.positional[cli.npositional - 1]);
			want = expected_source(&cli);
			FUZZ_CHECK(want ? cfg.source == want : strcmp(cfg.source, ".") == 0);
			check_defaults_round_trip(&args, &cfg);
		} else {
			FUZZ_CHECK(cli.npositional == 0 ||
				   (cli.npositional == 2 && cli.source_opt));
		}
	}
	/* The parsed args are libfuse's own copies; the input's are ours. */
	fuse_opt_free_args(&args);
	options_free(&cli, &cfg);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return 0;
}
