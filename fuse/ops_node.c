/* SPDX-License-Identifier: MIT */
/* Names and attributes: lookup, forget, getattr, statfs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "entry.h"
#include "node_table.h"
#include "ops.h"
#include "ops_contents.h"

int
ops_lookup_entry(struct hexzfs *fs, struct node_ref dir, const char *name,
		 struct fuse_entry_param *e)
{
	struct node *parent = dir.node;
	struct timespec birth;
	struct stat st;
	bool via_symlink;
	int dir_fd = -1;
	struct node *n;
	int ret;

	STAT_ADD(&fs->stats, lookups, 1);
	if (parent->kind != NODE_SOURCE)
		return contents_lookup_entry(fs, dir, name, e);
	ret = entry_resolve(fs, parent->fd, name, &st, &birth, &via_symlink);
	if (ret < 0)
		return ret;
	if (!S_ISDIR(st.st_mode) && fs->cfg.view == VIEW_CONTENTS)
		return contents_lookup_archive(fs, parent, name, &st, &birth, via_symlink, e);
	if (S_ISDIR(st.st_mode)) {
		/*
		 * O_NOFOLLOW: a directory swapped for a symlink since the
		 * stat is not followed. The fstat of the descriptor gives
		 * the attributes of exactly the directory we hold.
		 */
		dir_fd = openat(parent->fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dir_fd < 0)
			return errno == ELOOP || errno == ENOTDIR ? -ENOENT : -errno;
		if (fstat(dir_fd, &st) != 0) {
			ret = -errno;
			close(dir_fd);
			return ret;
		}
	}
	n = node_table_acquire(fs->nodes, parent, name, &st, &birth, dir_fd, via_symlink);
	if (!n)
		return -ENOMEM;

	memset(e, 0, sizeof(*e));
	e->ino = node_table_ino(fs->nodes, n);
	e->attr_timeout = fs->cfg.attr_timeout;
	e->entry_timeout = fs->cfg.entry_timeout;
	entry_attr(&fs->cfg, &st, &e->attr);
	return 0;
}

void
ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct hexzfs *fs = hexzfs_of(req);
	struct node_ref dir = node_table_get(fs->nodes, parent);
	struct fuse_entry_param e;
	int ret = ops_lookup_entry(fs, dir, name, &e);
	/* A name missing from an archive version stays missing as long as it lives. */
	double negative =
		dir.node->kind == NODE_SOURCE ? fs->cfg.negative_timeout : fs->cfg.contents_timeout;

	if (ret == -ENOENT && negative > 0) {
		/* A reply with node ID 0 lets the kernel cache the miss. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = negative;
		fuse_reply_entry(req, &e);
		return;
	}
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else if (fuse_reply_entry(req, &e) != 0)
		/* Interrupted: the kernel never got the lookup. */
		node_table_forget_ino(fs->nodes, e.ino, 1);
}

void
ops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct hexzfs *fs = hexzfs_of(req);

	node_table_forget_ino(fs->nodes, ino, nlookup);
	fuse_reply_none(req);
}

void
ops_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct hexzfs *fs = hexzfs_of(req);

	for (size_t i = 0; i < count; i++)
		node_table_forget_ino(fs->nodes, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

int
ops_stat_source(const struct node *n, struct stat *st, struct timespec *birth)
{
	struct timespec unused;

	return entry_stat(n->parent->fd, n->name, n->via_symlink ? 0 : AT_SYMLINK_NOFOLLOW, st,
			  birth ? birth : &unused);
}

/*
 * Current source attributes of a node. When its name now refers to another
 * file (replaced or deleted), the node still stands for the version the
 * kernel looked up, and open handles still read it: report that version.
 */
static int
node_attr(struct hexzfs *fs, struct node *n, struct stat *st)
{
	struct timespec birth = { 0, 0 };
	struct stat now;
	int ret;

	if (n->is_dir)
		ret = fstat(n->fd, &now) == 0 ? 0 : -errno;
	else
		ret = ops_stat_source(n, &now, &birth);
	if (ret == 0 && node_is(n, &now, &birth)) {
		node_set_attr(fs->nodes, n, &now);
		*st = now;
		return 0;
	}
	if (n->is_dir)
		return ret;
	node_get_attr(fs->nodes, n, st);
	return 0;
}

void
ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hexzfs *fs = hexzfs_of(req);
	struct node_ref r = node_table_get(fs->nodes, ino);
	struct node *n = r.node;
	struct stat src, shown;
	double timeout;
	int ret;

	(void)fi;
	STAT_ADD(&fs->stats, getattrs, 1);
	if (n->kind != NODE_SOURCE) {
		timeout = contents_node_attr(fs, r, &shown);
		fuse_reply_attr(req, &shown, timeout);
		return;
	}
	ret = node_attr(fs, n, &src);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	entry_attr(&fs->cfg, &src, &shown);
	fuse_reply_attr(req, &shown, fs->cfg.attr_timeout);
}

void
ops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct hexzfs *fs = hexzfs_of(req);
	struct statvfs sv;

	(void)ino;
	/* The figures of the filesystem that holds SNAPSHOT_DIR. */
	if (fstatvfs(fs->source_fd, &sv) != 0) {
		fuse_reply_err(req, errno);
		return;
	}
	sv.f_flag |= ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}
