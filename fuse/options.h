/* SPDX-License-Identifier: MIT */
/*
 * The command line: hexzfs's own -o options, the positional arguments, and
 * the validation of every value, before anything is mounted.
 */
#ifndef HEXZFS_OPTIONS_H
#define HEXZFS_OPTIONS_H

#include "hexzfs.h"

/*
 * The contents view's default block cache: room for the read-ahead of a
 * few sequential readers (8 MiB each) and the working set of random ones,
 * small enough for any host that mounts archives.
 */
#define DEFAULT_CACHE_SIZE (256ull << 20)

/*
 * What lies inside an archive version never changes, and a version that
 * goes away is invalidated (contents_sweep()): trusted for good, as
 * squashfuse trusts its image.
 */
#define DEFAULT_CONTENTS_TIMEOUT 1e9

struct cli {
	char *positional[2]; /* SNAPSHOT_DIR MOUNTPOINT, or MOUNTPOINT alone */
	int npositional;
	char *source_opt; /* -o source=DIR */
	char *error;	  /* the first problem found, already formatted */
};

/*
 * Take hexzfs's options and the positional arguments out of `args`,
 * validating and storing them in `cfg`; FUSE's own options stay in `args`.
 * Returns 0, or -1 after printing what is wrong.
 */
int options_parse(struct fuse_args *args, struct hexzfs_config *cfg, struct cli *cli);

/* Decide SNAPSHOT_DIR and MOUNTPOINT from what was given; -1 after printing. */
int options_settle_paths(struct cli *cli, struct hexzfs_config *cfg, const char **mountpoint);

/* The options every mount gets (read-only, permission checks, names). */
int options_add_defaults(struct fuse_args *args, const struct hexzfs_config *cfg);

void options_print_usage(const char *prog);
void options_free(struct cli *cli, struct hexzfs_config *cfg);

#endif /* HEXZFS_OPTIONS_H */
