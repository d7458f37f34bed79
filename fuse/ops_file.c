/* SPDX-License-Identifier: MIT */
/*
 * Snapshot data: open, read, release.
 *
 * open resolves the node's name afresh, checks it is still the file the
 * kernel looked up, and takes a reference on the shared mapping of that
 * version; the handle (fi->fh) is the mapping itself. read replies straight
 * from the mapping with fuse_reply_data(): the kernel copies the bytes out
 * of the page cache into the reader's buffer, with no copy, no allocation
 * and no lock in the daemon. While the daemon holds a read lease on the
 * file, no one can shrink it, and that is all a read does (no system call
 * but the request and its reply; see map_cache.h). Otherwise it checks
 * that the file has not shrunk, with one statx before and one after.
 *
 * A file truncated in place under its mapping. Its version is damaged:
 * every read of it fails with EIO, never a short read, which the kernel
 * would pad with zeros and keep in its page cache as content. A truncation
 * that lands while a reply is being copied makes that copy fault inside
 * the kernel past the page holding the new end, and the kernel fails the
 * read with EIO: the daemon never touches the vanished pages itself, so it
 * cannot die of SIGBUS. Only a reply whose last page holds the new end is
 * copied whole, zeros after the end included; the check after each reply
 * catches it. A leased file is never truncated during a reply: its lease
 * is let go of only once the replies that did not check have been copied.
 * Whenever a shrink is seen, the kernel is made to forget the node's
 * attributes at once and its cached pages soon (forget_shrunk()).
 * A read that shows the kernel still believes an older, longer size (see
 * kernel_size_stale()) is answered the same way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bdi.h"
#include "entry.h"
#include "errno_map.h"
#include "housekeeper.h"
#include "log.h"
#include "map_cache.h"
#include "node_table.h"
#include "ops.h"
#include "ops_contents.h"

static struct snapshot_map *
map_of(const struct fuse_file_info *fi)
{
	return (struct snapshot_map *)(uintptr_t)fi->fh;
}

/* The node's name must still lead to the very file the kernel looked up. */
static int
check_identity(const struct node *n, const struct stat *st, const struct timespec *birth)
{
	/*
	 * ESTALE makes the kernel look the name up again and retry the open
	 * on the new node.
	 */
	if (!node_is(n, st, birth) || !S_ISREG(st->st_mode))
		return -ESTALE;
	return 0;
}

/* Open the source file of node `n` for reading; fd or -errno. */
static int
open_source(struct hexzfs *fs, const struct node *n, struct stat *st)
{
	/* O_NOFOLLOW unless the node is a link: a file swapped for a
	 * symlink after the lookup is not followed. O_NONBLOCK: a file
	 * swapped for a FIFO does not block the daemon. */
	int flags =
		O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (n->via_symlink ? 0 : O_NOFOLLOW);
	int fd = openat(n->parent->fd, n->name, flags);
	struct timespec birth;
	int err;

	if (fd < 0)
		return errno == ELOOP ? -ESTALE : -errno;
	err = entry_stat(fd, "", AT_EMPTY_PATH, st, &birth);
	if (err)
		goto err_close;
	err = check_identity(n, st, &birth);
	if (err)
		goto err_close;
	if (n->via_symlink && !entry_fd_allowed(fs, fd)) {
		err = -ESTALE;
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return err;
}

/*
 * The mapping for node `n`: a cached one found by a single statx() when
 * the file is unchanged (links excepted: their target must be checked on an
 * open descriptor), else a fresh one. 0 or a positive errno.
 */
static int
map_source(struct hexzfs *fs, const struct node *n, struct stat *st, struct snapshot_map **map)
{
	struct timespec birth;
	int fd, ret, os_errno;

	/*
	 * A node never opened has no mapping yet (a racy read of the flag
	 * only costs a wasted statx or a wasted open).
	 */
	if (!n->via_symlink && node_opened_before(n) && ops_stat_source(n, st, &birth) == 0 &&
	    check_identity(n, st, &birth) == 0) {
		*map = map_cache_find(fs->maps, st);
		if (*map)
			return 0;
	}
	fd = open_source(fs, n, st);
	if (fd < 0)
		return -fd;
	ret = map_cache_acquire(fs->maps, fd, st, map, &os_errno);
	close(fd);
	return ret == HEXZ_OK ? 0 : errno_from_hexz(ret, os_errno);
}

/*
 * Raise the mount's read-ahead (see bdi.h), once. It cannot be done before
 * the kernel has processed INIT, which resets the window; the first open
 * comes after INIT and before the first read, so it is done here.
 */
static void
tune_readahead_once(struct hexzfs *fs)
{
	int err;

	if (fs->cfg.readahead_kb == 0 || atomic_exchange(&fs->readahead_tuned, true))
		return;
	err = bdi_set_readahead(fs->cfg.mount_real, fs->cfg.readahead_kb);
	/* Not root: the kernel's default stays, which is correct, only slower. */
	if (err && fs->cfg.debug)
		log_msg(FUSE_LOG_DEBUG, "read-ahead left at the kernel default: %s\n",
			strerror(-err));
}

void
ops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hexzfs *fs = hexzfs_of(req);
	struct node_ref r = node_table_get(fs->nodes, ino);
	struct node *n = r.node;
	struct snapshot_map *map;
	struct stat st, known;
	bool attr_stale;
	int err;

	tune_readahead_once(fs);
	if (n->kind != NODE_SOURCE) {
		contents_open(req, r, fi);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	err = map_source(fs, n, &st, &map);
	if (err) {
		STAT_ADD(&fs->stats, open_errors, 1);
		fuse_reply_err(req, err);
		return;
	}
	node_get_attr(fs->nodes, n, &known);
	node_set_attr(fs->nodes, n, &st);
	/* Pages the kernel cached for this node stay valid unless the file changed in place. */
	fi->keep_cache = node_note_open(fs->nodes, n, &st);
	/*
	 * Changed in place since the kernel last heard of it: its size may
	 * be stale, and a short reply at this version's end would be padded
	 * with zeros it serves up to that size. Make it fetch the attributes
	 * before the first read. Offset -1: no page is touched, so this
	 * cannot wait, even before the reply.
	 */
	attr_stale = !fi->keep_cache || known.st_size != st.st_size ||
		     known.st_mtim.tv_sec != st.st_mtim.tv_sec ||
		     known.st_mtim.tv_nsec != st.st_mtim.tv_nsec;
	if (attr_stale)
		fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
	fi->noflush = 1;
	fi->fh = (uint64_t)(uintptr_t)map;
	STAT_ADD(&fs->stats, opens, 1);
	STAT_ADD(&fs->stats, open_files, 1);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* The opener was interrupted: no release will come. */
		STAT_ADD(&fs->stats, open_files, -1);
		map_cache_release(fs->maps, map, true);
	}
}

/*
 * Where a read finds its file again, copied out of the node: once the
 * reply is sent, the reader may close, and the kernel forget the node
 * (freeing it, and in turn maybe its parent, whose descriptor may then be
 * closed and its number reused). A copy on the stack costs no allocation
 * and no lock; a stale descriptor can only make the check fail or find
 * another file, which the inode number tells apart.
 */
struct source_ref {
	int dirfd;
	int flags;
	dev_t dev;
	ino_t ino;
	char name[NAME_MAX + 1];
};

static void
source_ref_of(const struct node *n, struct source_ref *src)
{
	size_t len = strnlen(n->name, NAME_MAX); /* a directory entry's name */

	src->dirfd = n->parent->fd;
	src->flags = n->via_symlink ? 0 : AT_SYMLINK_NOFOLLOW;
	src->dev = n->dev;
	src->ino = n->ino;
	memcpy(src->name, n->name, len);
	src->name[len] = '\0';
}

/*
 * Whether the file, mapped with `mapped` bytes, is now shorter: one
 * statx() of its name, asking only for what is compared. A name that now
 * leads to another file means the mapped one was replaced, not shrunk:
 * the mapping still holds its version whole.
 */
static bool
shrunk_in_place(const struct source_ref *src, uint64_t mapped)
{
	struct statx sx;

	return statx(src->dirfd, src->name, src->flags, STATX_INO | STATX_SIZE, &sx) == 0 &&
	       sx.stx_ino == src->ino &&
	       makedev(sx.stx_dev_major, sx.stx_dev_minor) == src->dev && sx.stx_size < mapped;
}

/*
 * The file behind node `ino` shrank: make the kernel forget what it
 * cached of it. Its attributes at once, from this thread: with offset -1
 * the kernel touches no page, so this cannot wait on a page lock, and
 * with auto_inval_data (see ops_init()) every read(2) that comes after
 * fetches the new size and mtime before it looks at the cache, and the
 * kernel then drops the pages. The pages themselves, which memory
 * mappings fault in without asking for attributes, from the housekeeper
 * (see housekeeper_invalidate()). Called after the reply.
 */
static void
forget_shrunk(struct hexzfs *fs, fuse_ino_t ino)
{
	fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
	housekeeper_invalidate(fs, ino);
}

/*
 * Whether a read of [off, off + size) through the page cache shows that the
 * kernel believes the file longer than this version of `len` bytes: it
 * asks for whole pages, and never for a page past its idea of the end.
 * That happens when the file was truncated in place before this handle
 * was opened and the kernel has not fetched the attributes since. A short
 * reply would then be padded with zeros that the kernel caches and serves
 * as content up to its stale size. Direct I/O caches nothing and may ask
 * past the end: its short replies are plain end of file.
 */
static bool
kernel_size_stale(const struct fuse_file_info *fi, size_t size, off_t off, uint64_t len)
{
	uint64_t page = (uint64_t)getpagesize();

	return !(fi->flags & O_DIRECT) && (uint64_t)off + size > (len + page - 1) / page * page;
}

void
ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct hexzfs *fs = hexzfs_of(req);
	struct snapshot_map *map = map_of(fi);
	const struct hexz_storage *st = map->storage;
	uint64_t len = hexz_storage_len(st);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(0);
	/* While the file is leased it cannot shrink: no size checks. */
	int leased = map_cache_read_begin(fs->maps, map);
	struct source_ref src;
	const void *data;
	int ret;

	STAT_ADD(&fs->stats, reads, 1);
	if (leased < 0)
		source_ref_of(node_table_get(fs->nodes, ino).node, &src);
	if ((leased < 0 && shrunk_in_place(&src, len)) ||
	    (off >= 0 && kernel_size_stale(fi, size, off, len))) {
		map_cache_read_end(fs->maps, leased);
		STAT_ADD(&fs->stats, read_errors, 1);
		fuse_reply_err(req, EIO);
		forget_shrunk(fs, ino);
		return;
	}
	/* At or past the end: nothing left, a zero-length reply. */
	if (off < 0 || (uint64_t)off >= len) {
		map_cache_read_end(fs->maps, leased);
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > len - (uint64_t)off)
		size = (size_t)(len - (uint64_t)off);
	ret = hexz_storage_view(st, (uint64_t)off, size, &data);
	if (ret != HEXZ_OK) {
		map_cache_read_end(fs->maps, leased);
		STAT_ADD(&fs->stats, read_errors, 1);
		fuse_reply_err(req, errno_from_hexz(ret, 0));
		return;
	}
	buf.buf[0].size = size;
	buf.buf[0].mem = (void *)(uintptr_t)data;
	ret = fuse_reply_data(req, &buf, FUSE_BUF_NO_SPLICE);
	/* The kernel has copied the reply: a lease waiting on it may go. */
	map_cache_read_end(fs->maps, leased);
	if (ret == -EFAULT) {
		/* The copy faulted: truncated meanwhile; the kernel failed the read. */
		STAT_ADD(&fs->stats, read_errors, 1);
		forget_shrunk(fs, ino);
		return;
	}
	if (ret < 0) {
		STAT_ADD(&fs->stats, read_errors, 1);
		return;
	}
	STAT_ADD(&fs->stats, bytes_read, size);
	/*
	 * A truncation that landed during the copy leaves the zeros after the
	 * new end in the pages just sent, now in the kernel's page cache.
	 * Neither the node nor the handle may be touched any more (see
	 * struct source_ref); the node ID is only a number for the kernel.
	 */
	if (leased < 0 && shrunk_in_place(&src, len))
		forget_shrunk(fs, ino);
}

/*
 * Whether an idle mapping of node `n` is worth keeping: only while the
 * node's name still leads to that very version. A mapping of a deleted or
 * replaced file would otherwise pin its disk blocks until evicted.
 */
static bool
still_current(const struct node *n, const struct snapshot_map *map)
{
	struct stat st;

	return ops_stat_source(n, &st, NULL) == 0 && map_cache_matches(map, &st);
}

void
ops_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hexzfs *fs = hexzfs_of(req);
	struct snapshot_map *map = map_of(fi);

	map_cache_release(fs->maps, map, still_current(node_table_get(fs->nodes, ino).node, map));
	STAT_ADD(&fs->stats, open_files, -1);
	fuse_reply_err(req, 0);
}
