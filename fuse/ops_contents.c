/* SPDX-License-Identifier: MIT */
/*
 * The contents view's operations: archives as directories, and the
 * directories and files inside them (see contents.h, contents_tree.h).
 *
 * Nodes. An archive node (NODE_ARCHIVE) stands for one version of one
 * NAME.hxz file, like a snapshot node in the raw view, and holds a
 * reference on that version's mapping, to which the opened archive and its
 * tree belong. What lies inside it has no node of its own: an entry is
 * (archive node, tree index), its node ID computed from the two, and the
 * kernel's lookups of all of them are counted on the archive node, which
 * they keep alive (node_table.h). A new version of the file (replaced or
 * changed in place) gets a new archive node and so new entry IDs, whose
 * pages the kernel has never cached: keep_cache is always safe.
 *
 * Caching. An archive version never changes, so the kernel may keep its
 * entries' names, attributes, misses and listings (-o contents_timeout=,
 * readdirplus, cache_readdir) for as long as the version is shown: the
 * archive's own name keeps the short -o entry_timeout=, so a new version
 * is found at its next lookup, and the sweep (contents_sweep()) makes the
 * kernel drop the name of a version that went away, and with it every
 * entry it cached below it, whose forgets then free the archive node.
 *
 * Reads. A handle holds its own reference on the mapping, so a deleted or
 * replaced archive keeps serving the handles opened before. read pins the
 * decompressed blocks the range needs in the shared block cache (the cache
 * decompresses missing ones in parallel on its workers), replies with an
 * iovec pointing into them, and unpins: nothing is copied or allocated in
 * the daemon. A handle read sequentially has the blocks ahead of it
 * decompressed in the background; random reads trigger nothing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "block_fill.h"
#include "contents.h"
#include "entry.h"
#include "errno_map.h"
#include "map_cache.h"
#include "node_table.h"
#include "ops.h"
#include "ops_contents.h"

/* Pieces one read reply may point into; 1 MiB in blocks of 4 KiB or more. */
#define PIN_MAX 264
/* The furthest a sequential reader is read ahead of, in bytes. */
#define READ_AHEAD_MAX (8u << 20)
/* Read-ahead across the files of a directory archive (stream_read_ahead()). */
#define STREAM_AHEAD ((uint64_t)1 << 20)
#define STREAM_SLACK ((uint64_t)64 << 10)

struct contents_handle {
	struct snapshot_map *map; /* a reference */
	struct hexz_archive *archive;
	struct archive_version *version;
	enum hexz_stream stream;
	uint64_t base; /* the file's first byte in the stream */
	uint64_t size;
	/* Sequential detection; racy updates only cost a wasted or missed prefetch. */
	_Atomic uint64_t next_offset;
	_Atomic uint64_t ahead_to;
	bool direct; /* opened O_DIRECT: its reads bypass the page cache */
	LIST_ENTRY(contents_handle) link; /* in open_handles */
};

/*
 * Every handle not yet released. A session that ends with files still
 * open (SIGTERM, an unmount under readers) gets no release for them:
 * contents_release_all() frees what is left, so that nothing leaks.
 */
static pthread_mutex_t open_handles_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, contents_handle) open_handles = LIST_HEAD_INITIALIZER(open_handles);

static void
handle_link(struct contents_handle *h)
{
	pthread_mutex_lock(&open_handles_lock);
	LIST_INSERT_HEAD(&open_handles, h, link);
	pthread_mutex_unlock(&open_handles_lock);
}

static void
handle_unlink(struct contents_handle *h)
{
	pthread_mutex_lock(&open_handles_lock);
	LIST_REMOVE(h, link);
	pthread_mutex_unlock(&open_handles_lock);
}

/* The version archive node `n` shows. */
static struct archive_version *
version_of(const struct node *n)
{
	return atomic_load_explicit(&n->map->contents, memory_order_acquire);
}

/* ---- attributes ---- */

/* A stable inode number for entry `index` of an archive version. */
static ino_t
entry_ino(const struct archive_version *v, uint32_t index)
{
	uint64_t h = (uint64_t)v->st.st_ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)v->st.st_dev;

	h ^= (uint64_t)v->st.st_mtim.tv_nsec << 7 ^ ((uint64_t)index + 1) * 0xbf58476d1ce4e5b9ull;
	h ^= h >> 31;
	/* The top bit keeps them apart from the small numbers filesystems use. */
	return (ino_t)(h | (1ull << 63));
}

/* What the mount shows for tree node `index` of version `v`. */
static void
tree_attr(const struct hexzfs *fs, const struct archive_version *v, uint32_t index,
	  struct stat *out)
{
	struct tree_node node, *t = &node;
	struct stat src = v->st;
	mode_t read_bits = v->st.st_mode & 0444;

	contents_tree_get(&v->tree, index, &node);
	if (index == 0) {
		/* The archive itself: its mode, every read bit also granting search. */
		src.st_mode = S_IFDIR | read_bits | (read_bits >> 2);
	} else if (t->is_dir) {
		src.st_mode = S_IFDIR | 0555;
		src.st_ino = entry_ino(v, index);
	} else {
		src.st_ino = entry_ino(v, index);
		src.st_size = (off_t)t->size;
		src.st_blocks = (blkcnt_t)((t->size + 511) / 512);
		if (t->from_manifest) {
			src.st_mode = S_IFREG | (t->mode & 0555);
			src.st_mtim.tv_sec = (time_t)t->mtime;
			src.st_mtim.tv_nsec = 0;
			src.st_ctim = src.st_mtim;
		} else {
			src.st_mode = S_IFREG | read_bits;
		}
	}
	if (t->is_dir) {
		src.st_size = 0;
		src.st_blocks = 0;
		src.st_nlink = 2;
	} else {
		src.st_nlink = 1;
	}
	entry_attr(&fs->cfg, &src, out);
}

double
contents_node_attr(const struct hexzfs *fs, struct node_ref r, struct stat *out)
{
	tree_attr(fs, version_of(r.node), r.index, out);
	/* The archive's own attributes are those of its file, looked up by name. */
	return r.index == 0 ? fs->cfg.attr_timeout : fs->cfg.contents_timeout;
}

/* The reply for entry `index` (1 and up) of archive node `a`, of which the caller took a lookup. */
static void
fill_entry(const struct hexzfs *fs, struct node *a, uint32_t index, fuse_ino_t ino,
	   struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->attr_timeout = fs->cfg.contents_timeout;
	e->entry_timeout = fs->cfg.contents_timeout;
	tree_attr(fs, version_of(a), index, &e->attr);
}

/* ---- finding archives ---- */

/*
 * The mapping of source entry `name` of `dir`, whose attributes were `st`:
 * opened without following a link unless it is one, checked to be that
 * very file (and, through a link, allowed by the symlink policy).
 */
static int
map_entry(struct hexzfs *fs, const struct node *dir, const char *name, bool via_symlink,
	  const struct stat *st, struct snapshot_map **map)
{
	int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (via_symlink ? 0 : O_NOFOLLOW);
	struct stat now;
	int fd, ret, os_errno;

	*map = map_cache_find(fs->maps, st);
	if (*map && !via_symlink)
		return 0;
	if (*map)
		map_cache_release(fs->maps, *map, true);
	fd = openat(dir->fd, name, flags);
	if (fd < 0)
		return errno == ELOOP ? -ENOENT : -errno;
	if (fstat(fd, &now) != 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino ||
	    !S_ISREG(now.st_mode) || (via_symlink && !entry_fd_allowed(fs, fd))) {
		close(fd);
		return -ENOENT;
	}
	ret = map_cache_acquire(fs->maps, fd, &now, map, &os_errno);
	close(fd);
	return ret == HEXZ_OK ? 0 : -errno_from_hexz(ret, os_errno);
}

/*
 * The archive version of a source file, with a reference on its mapping:
 * 0, -ENOENT when the file is not shown (not an archive), or -errno.
 */
static int
archive_of(struct hexzfs *fs, const struct node *dir, const char *name, bool via_symlink,
	   const struct stat *st, struct snapshot_map **map)
{
	struct archive_version *v;
	int ret = map_entry(fs, dir, name, via_symlink, st, map);

	if (ret)
		return ret;
	v = contents_version(fs, *map, st, dir, name);
	if (v && v->archive)
		return 0;
	map_cache_release(fs->maps, *map, true);
	*map = NULL;
	return v ? -ENOENT : -ENOMEM;
}

bool
contents_shows_file(struct hexzfs *fs, const struct node *dir, const char *name,
		    bool via_symlink, const struct stat *st)
{
	struct snapshot_map *map;

	if (archive_of(fs, dir, name, via_symlink, st, &map) != 0)
		return false;
	map_cache_release(fs->maps, map, true);
	return true;
}

int
contents_lookup_archive(struct hexzfs *fs, struct node *parent, const char *name,
			const struct stat *st, const struct timespec *birth, bool via_symlink,
			struct fuse_entry_param *e)
{
	struct snapshot_map *map;
	struct node *n;
	bool took;
	int ret;

	ret = archive_of(fs, parent, name, via_symlink, st, &map);
	if (ret)
		return ret;
	n = node_table_acquire_archive(fs->nodes, parent, name, st, birth, via_symlink, map,
				       &took);
	if (!took)
		map_cache_release(fs->maps, map, true);
	if (!n)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));
	e->ino = node_table_ino(fs->nodes, n);
	e->attr_timeout = fs->cfg.attr_timeout;
	e->entry_timeout = fs->cfg.entry_timeout;
	contents_node_attr(fs, (struct node_ref){ n, 0 }, &e->attr);
	return 0;
}

int
contents_lookup_entry(struct hexzfs *fs, struct node_ref parent, const char *name,
		      struct fuse_entry_param *e)
{
	const struct archive_version *v = version_of(parent.node);
	uint32_t index = contents_tree_lookup(&v->tree, parent.index, name);
	fuse_ino_t ino;

	if (index == TREE_NONE)
		return -ENOENT;
	ino = node_table_acquire_entry(fs->nodes, parent.node, index);
	fill_entry(fs, parent.node, index, ino, e);
	return 0;
}

/* ---- listings ---- */

void
contents_opendir(struct hexzfs *fs, struct node_ref dir, struct fuse_file_info *fi)
{
	(void)fs, (void)dir;
	/*
	 * The tree is the listing: nothing to keep per handle, and what the
	 * kernel cached of it stays true for as long as the version lives.
	 */
	fi->fh = 0;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
}

/* The inode number shown for "." or ".." as tree node `index` of archive node `a`. */
static ino_t
dot_ino(const struct node *a, uint32_t index)
{
	if (index == 0)
		return a->ino;
	return entry_ino(version_of(a), index);
}

/*
 * Entry `pos` of the listing of `dir`: 0 is ".", 1 is "..", 2 and up the
 * children in tree order. Fills *name, *attr (st_ino and the type) and the
 * child's tree index (0 for the dots).
 */
static void
listed_entry(const struct node_ref dir, const struct tree_node *d, size_t pos, struct tree_node *c,
	     const char **name, struct stat *attr, uint32_t *index)
{
	const struct archive_version *v = version_of(dir.node);

	memset(attr, 0, sizeof(*attr));
	attr->st_mode = S_IFDIR;
	*index = 0;
	if (pos == 0) {
		*name = ".";
		attr->st_ino = dot_ino(dir.node, dir.index);
	} else if (pos == 1) {
		*name = "..";
		attr->st_ino =
			dir.index == 0 ? dir.node->parent->ino : dot_ino(dir.node, d->parent);
	} else {
		*index = d->first_child + (uint32_t)(pos - 2);
		contents_tree_get(&v->tree, *index, c);
		*name = c->name;
		attr->st_ino = entry_ino(v, *index);
		attr->st_mode = c->is_dir ? S_IFDIR : S_IFREG;
	}
}

void
contents_readdir(fuse_req_t req, struct node_ref dir, size_t size, off_t off, bool plus)
{
	struct hexzfs *fs = hexzfs_of(req);
	const struct archive_version *v = version_of(dir.node);
	struct tree_node d, c;
	size_t pos = 0, total;
	uint64_t taken = 0;
	char *buf;

	contents_tree_get(&v->tree, dir.index, &d);
	total = 2 + (size_t)d.child_count;
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = off < 0 ? total : (size_t)off; i < total; i++) {
		struct fuse_entry_param e;
		const char *name;
		uint32_t index;
		size_t need;

		memset(&e, 0, sizeof(e));
		listed_entry(dir, &d, i, &c, &name, &e.attr, &index);
		if (!plus) {
			need = fuse_add_direntry(req, buf + pos, size - pos, name, &e.attr,
						 (off_t)i + 1);
			if (need > size - pos)
				break;
			pos += need;
			continue;
		}
		/*
		 * Room first: every entry with a node ID in the reply is a
		 * lookup the kernel takes. The dots get none (node ID 0), as
		 * the kernel takes no lookup on them.
		 */
		need = fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0);
		if (need > size - pos)
			break;
		if (index != 0) {
			fill_entry(fs, dir.node, index,
				   node_table_acquire_entry(fs->nodes, dir.node, index), &e);
			taken++;
		}
		pos += fuse_add_direntry_plus(req, buf + pos, size - pos, name, &e, (off_t)i + 1);
	}
	STAT_ADD(&fs->stats, readdirs, 1);
	/*
	 * A reply that never reached the kernel (the reader was interrupted)
	 * took no lookups there: give them back, or the archive would stay
	 * open for good. Every entry's lookups count on the archive node, so
	 * any entry's ID gives them back.
	 */
	if (fuse_reply_buf(req, buf, pos) != 0 && taken > 0)
		node_table_forget_ino(fs->nodes, node_table_entry_ino(dir.node, 1), taken);
	free(buf);
}

/* ---- data ---- */

static struct contents_handle *
handle_of(const struct fuse_file_info *fi)
{
	return (struct contents_handle *)(uintptr_t)fi->fh;
}

void
contents_open(fuse_req_t req, struct node_ref r, struct fuse_file_info *fi)
{
	struct hexzfs *fs = hexzfs_of(req);
	struct archive_version *v = version_of(r.node);
	struct tree_node node, *t = &node;
	struct contents_handle *h;

	contents_tree_get(&v->tree, r.index, &node);
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->map = r.node->map;
	map_cache_get(fs->maps, h->map);
	h->archive = v->archive;
	h->version = v;
	h->stream = (enum hexz_stream)t->stream;
	h->base = t->offset;
	h->size = t->size;
	h->direct = (fi->flags & O_DIRECT) != 0;
	/* The node stands for one archive version: what the kernel cached stays true. */
	fi->keep_cache = 1;
	fi->noflush = 1;
	fi->fh = (uint64_t)(uintptr_t)h;
	STAT_ADD(&fs->stats, opens, 1);
	STAT_ADD(&fs->stats, open_files, 1);
	handle_link(h);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* The opener was interrupted: no release will come. */
		STAT_ADD(&fs->stats, open_files, -1);
		handle_unlink(h);
		map_cache_release(fs->maps, h->map, true);
		free(h);
	}
}

/*
 * Across files. A reader that takes the files of a directory archive one
 * after another in the order they are packed (tar, cp -r, a backup tool)
 * reads the main stream in order, but a file at a time, each often smaller
 * than one request: the detection within a file never gets to read ahead,
 * and every block is decompressed on the request thread, in the reader's
 * time. So each version remembers where the last read in order ended in
 * its stream; a file whose first read starts there (give or take
 * STREAM_SLACK: the writer may skip empty files, a reader a few) continues
 * the stream, and the workers decompress the next STREAM_AHEAD bytes.
 */
static void
stream_read_ahead(struct contents_handle *h, uint64_t off, uint64_t end)
{
	struct archive_version *v = h->version;
	uint64_t at = h->base + end, expected, from, to;

	if (h->stream != HEXZ_STREAM_MAIN)
		return;
	expected = atomic_exchange_explicit(&v->stream_next, at, memory_order_relaxed);
	if (off != 0 || h->base > expected + STREAM_SLACK || h->base + STREAM_SLACK < expected)
		return;
	to = at + STREAM_AHEAD;
	from = atomic_load_explicit(&v->stream_ahead, memory_order_relaxed);
	if (from < at || from > to)
		from = at;
	if (from >= to)
		return;
	atomic_store_explicit(&v->stream_ahead, to, memory_order_relaxed);
	hexz_archive_prefetch(h->archive, h->stream, from, to - from);
}

/*
 * For a read of [off, end): when it continues the previous one (or starts
 * the file), it is sequential: have the workers decompress what comes next,
 * up to a window that grows with the request size. Anything else resets
 * the detection. Returns whether the read is sequential.
 */
static bool
read_ahead(struct contents_handle *h, uint64_t off, uint64_t end, size_t size)
{
	uint64_t expected = atomic_exchange_explicit(&h->next_offset, end, memory_order_relaxed);
	uint64_t window = (uint64_t)size * 4, from, to;

	/*
	 * The kernel's read-ahead sends several requests at once, which the
	 * worker threads may take out of order: a read that starts within two
	 * requests of where the last one ended still counts as in sequence.
	 */
	if (off + 2 * (uint64_t)size < expected || off > expected + 2 * (uint64_t)size)
		return false;
	stream_read_ahead(h, off, end);
	if (off == 0)
		return true;
	if (window > READ_AHEAD_MAX)
		window = READ_AHEAD_MAX;
	to = end + window < h->size ? end + window : h->size;
	from = atomic_load_explicit(&h->ahead_to, memory_order_relaxed);
	if (from < end)
		from = end;
	if (from >= to)
		return true;
	atomic_store_explicit(&h->ahead_to, to, memory_order_relaxed);
	hexz_archive_prefetch(h->archive, h->stream, h->base + from, to - from);
	return true;
}

/* The rare read whose blocks are too many to point at: copy them. */
static int
reply_copied(fuse_req_t req, struct contents_handle *h, uint64_t off, size_t size,
	     struct hexz_error *err)
{
	char *buf = malloc(size);
	int ret;

	if (!buf)
		return HEXZ_ERR_NO_MEMORY;
	ret = hexz_archive_read(h->archive, h->stream, h->base + off, size, buf, err);
	if (ret == HEXZ_OK)
		fuse_reply_buf(req, buf, size);
	free(buf);
	return ret;
}

void
contents_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct hexzfs *fs = hexzfs_of(req);
	struct contents_handle *h = handle_of(fi);
	struct hexz_block_ref *refs[PIN_MAX];
	struct iovec iov[PIN_MAX];
	struct hexz_error err = { 0 };
	bool sequential = false;
	size_t count, covered;
	int ret;

	STAT_ADD(&fs->stats, reads, 1);
	if (off < 0 || (uint64_t)off >= h->size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > h->size - (uint64_t)off)
		size = (size_t)(h->size - (uint64_t)off);
	ret = hexz_archive_pin(h->archive, h->stream, h->base + (uint64_t)off, size, iov, refs,
			       PIN_MAX, &count, &covered, &err);
	/*
	 * Read ahead before replying, never after: once the reply is sent the
	 * reader may close the file, and the release, on another thread,
	 * frees the handle (a use after free found by the hostile-archive
	 * test under ASan).
	 */
	if (ret == HEXZ_OK)
		sequential = read_ahead(h, (uint64_t)off, (uint64_t)off + size, size);
	if (ret == HEXZ_OK && covered < size) {
		hexz_block_unpin(refs, count);
		ret = reply_copied(req, h, (uint64_t)off, size, &err);
		count = 0;
	} else if (ret == HEXZ_OK) {
		/*
		 * A sequential reader reads the rest of its blocks next anyway,
		 * and an O_DIRECT one (qemu with cache=none) never looks in the
		 * page cache: neither gets the block fill.
		 */
		struct block_fill *fill = sequential || h->direct ? NULL : fs->contents->fill;
		/* An entry's archive node: holding it keeps the archive open. */
		struct node *n = node_table_get(fs->nodes, ino).node;
		uint64_t file_size = h->size; /* h may be gone once the reply is out */

		if (fill)
			node_table_hold(fs->nodes, n);
		fuse_reply_iov(req, iov, (int)count);
		/*
		 * A random reader gets the rest of its blocks into the page
		 * cache (block_fill.h). A sequential reader will not come back
		 * for what it read (and the kernel keeps the pages): the blocks
		 * it finished leave the cache now, and their memory serves the
		 * blocks ahead of it.
		 */
		if (fill)
			block_fill_offer(fill, n, ino, file_size, (uint64_t)off, size, refs, iov,
					 count);
		else if (sequential)
			hexz_block_unpin_consumed(refs, iov, count);
		else
			hexz_block_unpin(refs, count);
	}
	if (ret != HEXZ_OK) {
		contents_log_read_error(fs, h->version, &err);
		fuse_reply_err(req, errno_from_hexz(ret, 0));
		return;
	}
	STAT_ADD(&fs->stats, bytes_read, size);
}

void
contents_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hexzfs *fs = hexzfs_of(req);
	struct contents_handle *h = handle_of(fi);

	(void)ino;
	handle_unlink(h);
	map_cache_release(fs->maps, h->map, true);
	free(h);
	STAT_ADD(&fs->stats, open_files, -1);
	fuse_reply_err(req, 0);
}

void
contents_release_all(struct hexzfs *fs)
{
	struct contents_handle *h;

	pthread_mutex_lock(&open_handles_lock);
	while ((h = LIST_FIRST(&open_handles)) != NULL) {
		LIST_REMOVE(h, link);
		map_cache_release(fs->maps, h->map, false);
		free(h);
	}
	pthread_mutex_unlock(&open_handles_lock);
}

/* Archive nodes looked at per sweep (one sweep a second). */
#define SWEEP_BATCH 64

/*
 * Whether the name of archive node `n` still leads to the very version it
 * shows. Called with a lookup reference held on `n`, which keeps its parent
 * (and the parent's descriptor) alive.
 */
static bool
archive_still_current(const struct node *n)
{
	struct timespec birth;
	struct stat st;

	if (entry_stat(n->parent->fd, n->name, n->via_symlink ? 0 : AT_SYMLINK_NOFOLLOW, &st,
		       &birth) != 0)
		return false;
	return st.st_dev == n->dev && st.st_ino == n->ino && birth.tv_sec == n->birth.tv_sec &&
	       birth.tv_nsec == n->birth.tv_nsec && map_cache_matches(n->map, &st);
}

void
contents_sweep(struct hexzfs *fs)
{
	struct node *pinned[SWEEP_BATCH];
	size_t n = node_table_pin_archives(fs->nodes, pinned, SWEEP_BATCH);
	size_t i;

	for (i = 0; i < n; i++) {
		struct node *a = pinned[i];

		/*
		 * A deleted or replaced archive the kernel still remembers
		 * would keep its mapping, hence its disk space, for as long as
		 * the kernel keeps the name cached: ask it to drop the name.
		 * Its node is then forgotten once nothing uses it, and the
		 * mapping goes with it.
		 */
		if (!archive_still_current(a))
			fuse_lowlevel_notify_inval_entry(fs->se,
							 node_table_ino(fs->nodes, a->parent),
							 a->name, strlen(a->name));
		node_table_forget(fs->nodes, a, 1);
	}
}
