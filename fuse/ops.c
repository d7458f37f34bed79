/* SPDX-License-Identifier: MIT */
/* Session setup and the table of operations. */
#define _GNU_SOURCE
#include <string.h>

#include "daemon.h"
#include "ops.h"
#include "ops_contents.h"

static void
ops_init(void *userdata, struct fuse_conn_info *conn)
{
	struct hexzfs *fs = userdata;

	/*
	 * readdirplus lets `ls -l` get names and attributes in one round
	 * trip; the _AUTO variant lets the kernel fall back to plain readdir
	 * where the attributes would go unused.
	 */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO)
		conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
	/*
	 * Lookups and listings of one directory at once: the kernel would
	 * otherwise take them one by one, and the first lookup of a large
	 * archive (its manifest parsed) would hold up every name beside it.
	 * Every operation here is safe to run concurrently.
	 */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* Nothing is ever written: no writeback cache, no splice from the kernel. */
	conn->want &= ~(unsigned)(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_SPLICE_READ);
	/* Data changes only with mtime; let the kernel drop stale pages by it. */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	conn->time_gran = 1;
	daemon_ready(fs);
}

/*
 * The session is over (fuse_session_destroy(), before main() frees the
 * tables): handles the kernel never released, because the session ended
 * while files or directories were open, are freed here.
 */
static void
ops_destroy(void *userdata)
{
	ops_dir_release_all();
	contents_release_all(userdata);
}

void
ops_fill(struct fuse_lowlevel_ops *ops, enum view view)
{
	memset(ops, 0, sizeof(*ops));
	ops->init = ops_init;
	ops->destroy = ops_destroy;
	ops->lookup = ops_lookup;
	ops->forget = ops_forget;
	ops->forget_multi = ops_forget_multi;
	ops->getattr = ops_getattr;
	ops->statfs = ops_statfs;
	ops->opendir = ops_opendir;
	ops->readdir = ops_readdir;
	ops->readdirplus = ops_readdirplus;
	ops->releasedir = ops_releasedir;
	ops->open = ops_open;
	/* Handles of the two views differ: each view reads and releases its own. */
	ops->read = view == VIEW_CONTENTS ? contents_read : ops_read;
	ops->release = view == VIEW_CONTENTS ? contents_release : ops_release;
	ops_readonly_register(ops);
}
