/* SPDX-License-Identifier: MIT */
/* What the mount shows; the rules are in entry.h. */
#define _GNU_SOURCE
#include "entry.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SNAPSHOT_SUFFIX ".hxz"

int
entry_stat(int dirfd, const char *name, int flags, struct stat *st, struct timespec *birth)
{
	struct statx sx;

	if (statx(dirfd, name, flags, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
		return -errno;
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	st->st_ino = sx.stx_ino;
	st->st_mode = sx.stx_mode;
	st->st_nlink = sx.stx_nlink;
	st->st_uid = sx.stx_uid;
	st->st_gid = sx.stx_gid;
	st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
	st->st_size = (off_t)sx.stx_size;
	st->st_blksize = (blksize_t)sx.stx_blksize;
	st->st_blocks = (blkcnt_t)sx.stx_blocks;
	st->st_atim = (struct timespec){ sx.stx_atime.tv_sec, sx.stx_atime.tv_nsec };
	st->st_mtim = (struct timespec){ sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec };
	st->st_ctim = (struct timespec){ sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec };
	*birth = (struct timespec){ 0, 0 };
	if (sx.stx_mask & STATX_BTIME)
		*birth = (struct timespec){ sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec };
	return 0;
}

bool
entry_has_snapshot_suffix(const char *name)
{
	size_t len = strlen(name);
	size_t slen = sizeof(SNAPSHOT_SUFFIX) - 1;

	return len >= slen && memcmp(name + len - slen, SNAPSHOT_SUFFIX, slen) == 0;
}

bool
entry_fd_allowed(const struct hexzfs *fs, int fd)
{
	return fs->cfg.symlinks == SYMLINKS_ANY || entry_fd_inside(fs, fd);
}

bool
entry_fd_inside(const struct hexzfs *fs, int fd)
{
	char proc[64];
	char target[PATH_MAX];
	const char *root = fs->cfg.source_real;
	size_t rlen = strlen(root);
	ssize_t len;

	/*
	 * The kernel's name for what fd actually refers to: checking the
	 * opened file rather than a path leaves no window in which the link
	 * can be swapped after the check.
	 */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	len = readlink(proc, target, sizeof(target) - 1);
	if (len < 0)
		return false;
	target[len] = '\0';
	if (rlen == 1) /* SNAPSHOT_DIR is "/" */
		return true;
	return strncmp(target, root, rlen) == 0 && target[rlen] == '/';
}

static int
resolve_symlink(const struct hexzfs *fs, int dirfd, const char *name, struct stat *st,
		struct timespec *birth)
{
	int fd;
	bool allowed;

	if (fs->cfg.symlinks == SYMLINKS_NONE)
		return -ENOENT;
	fd = openat(dirfd, name, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT; /* dangling or looping: hidden */
	if (entry_stat(fd, "", AT_EMPTY_PATH, st, birth) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOENT;
	}
	allowed = entry_fd_allowed(fs, fd);
	close(fd);
	return allowed ? 0 : -ENOENT;
}

int
entry_resolve(const struct hexzfs *fs, int dirfd, const char *name, struct stat *st,
	      struct timespec *birth, bool *via_symlink)
{
	int ret;

	*via_symlink = false;
	ret = entry_stat(dirfd, name, AT_SYMLINK_NOFOLLOW, st, birth);
	if (ret < 0)
		return ret;
	if (S_ISDIR(st->st_mode))
		return 0;
	if (!entry_has_snapshot_suffix(name))
		return -ENOENT;
	if (S_ISREG(st->st_mode))
		return 0;
	if (S_ISLNK(st->st_mode)) {
		*via_symlink = true;
		return resolve_symlink(fs, dirfd, name, st, birth);
	}
	return -ENOENT;
}

void
entry_attr(const struct hexzfs_config *cfg, const struct stat *src, struct stat *out)
{
	mode_t perm = src->st_mode & 07777;

	*out = *src;
	if (cfg->set_umask)
		perm = (S_ISDIR(src->st_mode) ? 0777 : 0666) & ~cfg->umask;
	/* Read-only: no write bit is ever shown, nor set-id bits. */
	perm &= ~(mode_t)(S_IWUSR | S_IWGRP | S_IWOTH | S_ISUID | S_ISGID);
	out->st_mode = (src->st_mode & S_IFMT) | perm;
	if (cfg->set_uid)
		out->st_uid = cfg->uid;
	if (cfg->set_gid)
		out->st_gid = cfg->gid;
}
