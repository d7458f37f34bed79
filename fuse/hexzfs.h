/* SPDX-License-Identifier: MIT */
/*
 * The state of one hexzfs mount, shared by every FUSE callback.
 */
#ifndef HEXZFS_HEXZFS_H
#define HEXZFS_HEXZFS_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "stats.h"

struct node_table;
struct map_cache;
struct housekeeper;
struct contents;

/* What each NAME.hxz is shown as. */
enum view {
	VIEW_RAW,      /* the file itself, byte for byte */
	VIEW_CONTENTS, /* a directory of what the archive holds */
};

/* Where a thin archive's parents may lie (contents view). */
enum parent_policy {
	PARENTS_INSIDE, /* only under SNAPSHOT_DIR */
	PARENTS_ANY,    /* anywhere the daemon can read */
};

/* Which symbolic links in the snapshot directory are followed. */
enum symlink_policy {
	SYMLINKS_INSIDE, /* only links whose target lies under SNAPSHOT_DIR */
	SYMLINKS_ANY,	 /* every link that resolves to a regular file */
	SYMLINKS_NONE,	 /* links are hidden */
};

/* Settled configuration: everything the command line decided. */
struct hexzfs_config {
	const char *source;	 /* SNAPSHOT_DIR as the user wrote it */
	char *source_real;	 /* its canonical path, for the symlink policy */
	double entry_timeout;	 /* seconds the kernel may trust a name */
	double attr_timeout;	 /* seconds the kernel may trust attributes */
	double negative_timeout; /* seconds the kernel may trust a miss */
	double contents_timeout; /* contents view: the same, inside an archive version */
	unsigned int map_cache;	 /* mappings kept after their last close */
	enum symlink_policy symlinks;
	bool set_uid, set_gid, set_umask;
	uid_t uid;
	gid_t gid;
	mode_t umask;
	unsigned int idle_timeout; /* seconds; 0 means never */
	unsigned int readahead_kb; /* 0: leave the kernel's default */
	enum view view;
	uint64_t cache_size;       /* contents view: decompressed-block cache budget */
	unsigned int workers;      /* contents view: decompression threads */
	bool block_fill;           /* contents view: store whole blocks in the page cache */
	char *passfile;            /* contents view: -o passfile=, or NULL */
	enum parent_policy parents;
	char *mount_real;	   /* MOUNTPOINT's canonical path */
	bool foreground;
	bool debug;
};

struct hexzfs {
	struct hexzfs_config cfg;
	int source_fd; /* SNAPSHOT_DIR, opened once before mounting */
	int ready_fd;  /* to the waiting parent until INIT is done, else -1 */
	struct node_table *nodes;
	struct map_cache *maps;
	struct contents *contents; /* the contents view's state, NULL in the raw view */
	struct fuse_session *se;
	struct housekeeper *hk; /* while its thread runs, else NULL */
	struct hexzfs_stats stats;
	atomic_bool readahead_tuned;
};

/* The mount a request belongs to. */
static inline struct hexzfs *
hexzfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

#endif /* HEXZFS_HEXZFS_H */
