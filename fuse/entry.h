/* SPDX-License-Identifier: MIT */
/*
 * What the mount shows: which entries of the source tree appear, and with
 * which attributes.
 *
 * Shown: directories (never through a symbolic link, so the tree has no
 * loops), regular files whose name ends in ".hxz", and symbolic links whose
 * name ends in ".hxz" and that resolve to a regular file allowed by the
 * symlink policy; those appear as regular files with their target's
 * content and attributes. Everything else is hidden.
 */
#ifndef HEXZFS_ENTRY_H
#define HEXZFS_ENTRY_H

#include <stdbool.h>
#include <sys/stat.h>

#include "hexzfs.h"

/*
 * fstatat(2) that also reports the birth time, through statx(2): the mark
 * that tells a file apart from a later one given the same inode number
 * (ctime would not do: truncating a file in place changes it). `birth` is
 * zero where the filesystem keeps no birth time. flags: AT_SYMLINK_NOFOLLOW,
 * AT_EMPTY_PATH (then `name` is "" and dirfd the file). Returns 0 or -errno.
 */
int entry_stat(int dirfd, const char *name, int flags, struct stat *st, struct timespec *birth);

/* True when `name` carries the snapshot suffix ".hxz". */
bool entry_has_snapshot_suffix(const char *name);

/*
 * Resolve entry `name` of the directory open on `dirfd`. On success returns
 * 0, fills *st and *birth with the attributes of what is served (the link
 * target for a symbolic link) and sets *via_symlink. Returns -ENOENT for an entry that
 * is hidden, or another -errno from the system.
 */
int entry_resolve(const struct hexzfs *fs, int dirfd, const char *name, struct stat *st,
		  struct timespec *birth, bool *via_symlink);

/* True when the file open on `fd` lies under SNAPSHOT_DIR, or the symlink policy allows any. */
bool entry_fd_allowed(const struct hexzfs *fs, int fd);

/* True when the file open on `fd` lies under SNAPSHOT_DIR (checked on the open file). */
bool entry_fd_inside(const struct hexzfs *fs, int fd);

/* The attributes the mount reports for source attributes `src`. */
void entry_attr(const struct hexzfs_config *cfg, const struct stat *src, struct stat *out);

#endif /* HEXZFS_ENTRY_H */
