/* SPDX-License-Identifier: MIT */
/*
 * The contents view (-o view=contents): each NAME.hxz that opens as a hexz
 * archive is shown as a directory holding what is inside it (see
 * contents_tree.h); one that does not is hidden, and why is logged once per
 * file version and counted.
 *
 * An archive version is opened once per mapping of the file: it hangs off
 * the mapping cache's entry for that version (struct snapshot_map), borrows
 * its storage, and lives and dies with it. Every archive of the mount reads
 * through one shared decompressed-block cache. Parents of thin archives
 * are opened through a resolver that enforces -o parents=.
 */
#ifndef HEXZFS_CONTENTS_H
#define HEXZFS_CONTENTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <hexz/hexz.h>

#include "contents_tree.h"
#include "hexzfs.h"

struct block_fill;
struct node;
struct snapshot_map;

/* One archive file version as the contents view sees it. */
struct archive_version {
	struct hexz_archive *archive; /* NULL: the file is not a usable archive */
	struct contents_tree tree;
	struct stat st; /* the archive file when it was opened */
	/*
	 * Where in the main stream the last read in order of any of its files
	 * ended, and how far from there the workers were sent ahead: readers
	 * that take one file after another in stream order (see
	 * ops_contents.c). Racy updates cost only a wasted or missed prefetch.
	 */
	_Atomic uint64_t stream_next, stream_ahead;
	/* Read failures already logged, by hash of their message. */
	pthread_mutex_t log_lock;
	uint64_t logged[16];
	unsigned int nlogged;
};

/* The mount-wide state of the contents view. */
struct contents {
	struct hexz_cache *cache;
	struct block_fill *fill; /* -o block_fill=on, once started; else NULL */
	char *password; /* NULL: none */
	size_t password_len;
	int cwd_fd; /* where relative parent paths "as written" start */
	/* Guards snapshot_map.opening; `opened` is signalled as each open ends. */
	pthread_mutex_t open_lock;
	pthread_cond_t opened;
};

/*
 * Set up the contents view of `fs` from its configuration, before mounting:
 * read the password (passfile, checked to be private, or HEXZ_PASSWORD).
 * Returns 0, or -1 after printing the problem.
 */
int contents_setup(struct hexzfs *fs);

/*
 * Create the block cache and its workers, once the daemon is in the
 * background. Returns 0, or -1 after logging the problem.
 */
int contents_start(struct hexzfs *fs);
void contents_teardown(struct hexzfs *fs);

/*
 * The block fill thread (see block_fill.h): started once the housekeeper
 * runs, for it is the housekeeper that asks the loop to stop, and it must
 * quiesce the fill first (contents_quiesce()). Without it, no fill: a
 * missing fill costs speed only. contents_stop() ends the thread after
 * the loop has returned.
 */
void contents_start_fill(struct hexzfs *fs);
void contents_quiesce(struct hexzfs *fs);
void contents_stop(struct hexzfs *fs);

/*
 * The archive version of `map` (file `name` in directory node `dir`, whose
 * attributes are `st`), opened on first use. NULL only when out of memory;
 * a version whose archive is NULL stands for a file that is not shown.
 * A version is opened once: callers that come while it is being opened
 * wait for that open. No lock is held while opening, so opening a large
 * archive (its manifest parsed, its tree built) holds up only the
 * requests that need that archive.
 */
struct archive_version *contents_version(struct hexzfs *fs, struct snapshot_map *map,
					 const struct stat *st, const struct node *dir,
					 const char *name);

/* Free a version made by contents_version() (the mapping cache calls it). */
void contents_version_free(struct archive_version *v);

/* Log a read failure of version `v`, once per distinct failure. */
void contents_log_read_error(struct hexzfs *fs, struct archive_version *v,
			     const struct hexz_error *err);

/* Log the block cache's counters (with the daemon's, on SIGUSR1); nothing in the raw view. */
void contents_log_stats(const struct hexzfs *fs);

#endif /* HEXZFS_CONTENTS_H */
