/* SPDX-License-Identifier: MIT */
/*
 * The contents view's share of the FUSE operations (ops_contents.c). The
 * generic operations (ops_node.c, ops_dir.c, ops_file.c) hand archive and
 * entry nodes to these.
 */
#ifndef HEXZFS_OPS_CONTENTS_H
#define HEXZFS_OPS_CONTENTS_H

#include <stdbool.h>
#include <sys/stat.h>

#include "hexzfs.h"

struct node;
struct node_ref;

/* Whether source file `name` of `dir` (attributes `st`) is shown: it opens as an archive. */
bool contents_shows_file(struct hexzfs *fs, const struct node *dir, const char *name,
			 bool via_symlink, const struct stat *st);

/* lookup of a source file in the contents view: an archive node, or -ENOENT. */
int contents_lookup_archive(struct hexzfs *fs, struct node *parent, const char *name,
			    const struct stat *st, const struct timespec *birth, bool via_symlink,
			    struct fuse_entry_param *e);

/*
 * lookup inside an archive (parent is an archive or a directory in one):
 * 0 or -ENOENT, which the kernel may cache for -o contents_timeout=.
 */
int contents_lookup_entry(struct hexzfs *fs, struct node_ref parent, const char *name,
			  struct fuse_entry_param *e);

/* The attributes shown for an archive or an entry; returns how long they hold, in seconds. */
double contents_node_attr(const struct hexzfs *fs, struct node_ref r, struct stat *out);

/*
 * opendir and readdir(plus) of an archive or a directory in one: served
 * from the tree, with no handle (fi->fh is 0) and the kernel's readdir
 * cache allowed. readdirplus takes a lookup on each entry it returns.
 */
void contents_opendir(struct hexzfs *fs, struct node_ref dir, struct fuse_file_info *fi);
void contents_readdir(fuse_req_t req, struct node_ref dir, size_t size, off_t off, bool plus);

/* open of an entry file (from ops_open); read and release are the contents view's own ops. */
void contents_open(fuse_req_t req, struct node_ref r, struct fuse_file_info *fi);
void contents_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi);
void contents_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* Free the handles the session ended without releasing (from ops' destroy). */
void contents_release_all(struct hexzfs *fs);

/*
 * Ask the kernel to drop the names of archives deleted or replaced since it
 * looked them up, a batch at a time (the housekeeper calls it every second).
 */
void contents_sweep(struct hexzfs *fs);

#endif /* HEXZFS_OPS_CONTENTS_H */
