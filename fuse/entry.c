/* SPDX-License-Identifier: MIT */
/* What the mount shows; the rules are in entry.h. */
#define _GNU_SOURCE
#include "entry.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SNAPSHOT_SUFFIX ".hxz"

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
	char proc[64];
	char target[PATH_MAX];
	const char *root = fs->cfg.source_real;
	size_t rlen = strlen(root);
	ssize_t len;

	if (fs->cfg.symlinks == SYMLINKS_ANY)
		return true;
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
resolve_symlink(const struct hexzfs *fs, int dirfd, const char *name, struct stat *st)
{
	int fd;
	bool allowed;

	if (fs->cfg.symlinks == SYMLINKS_NONE)
		return -ENOENT;
	fd = openat(dirfd, name, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT; /* dangling or looping: hidden */
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOENT;
	}
	allowed = entry_fd_allowed(fs, fd);
	close(fd);
	return allowed ? 0 : -ENOENT;
}

int
entry_resolve(const struct hexzfs *fs, int dirfd, const char *name, struct stat *st,
	      bool *via_symlink)
{
	*via_symlink = false;
	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	if (S_ISDIR(st->st_mode))
		return 0;
	if (!entry_has_snapshot_suffix(name))
		return -ENOENT;
	if (S_ISREG(st->st_mode))
		return 0;
	if (S_ISLNK(st->st_mode)) {
		*via_symlink = true;
		return resolve_symlink(fs, dirfd, name, st);
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
