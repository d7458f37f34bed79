/* SPDX-License-Identifier: MIT */
/*
 * The FUSE low-level operations of hexzfs, grouped by file:
 *   ops_node.c     lookup, forget, getattr, statfs
 *   ops_dir.c      opendir, readdir, readdirplus, releasedir
 *   ops_file.c     open, read, release
 *   ops_contents.c the contents view: archives and what is inside them
 *   ops_readonly.c every modifying operation, answered with EROFS
 *   ops.c          init and the operation table
 */
#ifndef HEXZFS_OPS_H
#define HEXZFS_OPS_H

#include "hexzfs.h"

struct node;
struct node_ref;

/* Fill the operation table handed to fuse_session_new(), for `view`. */
void ops_fill(struct fuse_lowlevel_ops *ops, enum view view);

/* Shared by lookup and readdirplus: resolve, take a node ref, fill *e. */
int ops_lookup_entry(struct hexzfs *fs, struct node_ref dir, const char *name,
		     struct fuse_entry_param *e);

/*
 * The current source attributes behind file node `n`'s name (the target's,
 * for a node reached through a link). 0 or -errno; birth may be NULL.
 */
int ops_stat_source(const struct node *n, struct stat *st, struct timespec *birth);

void ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void ops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void ops_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);
void ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ops_statfs(fuse_req_t req, fuse_ino_t ino);

void ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void ops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi);
void ops_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
/* Free the listings the session ended without releasing (from ops' destroy). */
void ops_dir_release_all(void);

void ops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void ops_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

void ops_readonly_register(struct fuse_lowlevel_ops *ops);

#endif /* HEXZFS_OPS_H */
