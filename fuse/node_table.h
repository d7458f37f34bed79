/* SPDX-License-Identifier: MIT */
/*
 * The inode table: what the kernel's node IDs stand for.
 *
 * ID scheme. A node is one directory entry of the source tree as it was
 * when the kernel looked it up: (parent node, name, source dev, source ino)
 * and, for files, the source birth time (statx btime, where the filesystem
 * keeps one). The birth time tells a new file apart from a deleted one
 * whose inode number the filesystem handed out again, while a file changed
 * in place stays the same node. Directories need no such mark: their node
 * holds a descriptor, which keeps the inode from reuse.
 * The kernel's node ID for it is the address of its struct node, as in
 * libfuse's passthrough examples, except the root, which is FUSE_ROOT_ID.
 * Keying on the name as well as the inode number means that a snapshot
 * replaced by rename(2) gets a fresh node ID on the next lookup: the kernel
 * then never mixes cached pages of the old file with the new one, while
 * handles opened before keep the old node and the old mapping.
 *
 * The st_ino the mount reports is the source file's own inode number, so
 * inode numbers are stable while a file is unchanged.
 *
 * Lifetime. A node lives while the kernel holds lookups on it (nlookup,
 * dropped by FORGET) or while it has children (each child holds its
 * parent, so a child's parent directory descriptor stays valid). The
 * kernel sends no request for a node it has forgotten, so callbacks may use
 * a node, its parent and the parent's fd without holding the table lock.
 *
 * Descriptors. Directory nodes keep an O_PATH descriptor, through which
 * their entries are resolved with *at() calls; file nodes keep none. The
 * daemon therefore holds one fd per directory the kernel knows about and
 * none per snapshot.
 *
 * Contents view. An archive node (NODE_ARCHIVE) is a source file shown as
 * a directory: keyed like a file node plus the mapping of the version it
 * shows, on which it holds a reference (released when the node is freed).
 * Its node ID is its address, like any node's.
 *
 * Entries (the directories and files inside an archive) have no struct
 * node: a `find` over an archive of a million files would otherwise leave
 * a million of them behind. An entry's node ID is computed:
 *
 *     bit 63     1: an entry (user-space pointers never have it; checked
 *                when a node is allocated, see node_alloc())
 *     bits 32-62 the slot of its archive node (a small number each archive
 *                node gets when it is created, see below)
 *     bits 0-31  its index in the archive version's tree (never 0: the
 *                tree's node 0 is the archive itself, the archive node's ID)
 *
 * The slot table maps slots back to archive nodes; node_table_get()
 * resolves any ID to a struct node_ref (the node, and for archives and
 * entries the tree index) without a lock: the kernel sends requests only
 * for IDs it holds lookups on, which keep the archive node, its slot and
 * its mapping alive. The archive node counts the lookups the kernel holds
 * on all its entries together (entry_lookups): LOOKUP and READDIRPLUS add
 * to it, FORGET and BATCH_FORGET of an entry ID subtract from it. It lives
 * while its own lookups, or its entries', are not zero; its slot is freed
 * with it, so a slot is reused only once every ID made from it was
 * forgotten. The same entry looked up twice gets the same ID, so the
 * kernel's counts of it add up like a node's. The st_ino of an entry is a
 * hash of the archive version and the index (ops_contents.c): stable for
 * as long as that version exists. Entry IDs exist only in the contents
 * view, and reach only its code. Details in ops_contents.c.
 */
#ifndef HEXZFS_NODE_TABLE_H
#define HEXZFS_NODE_TABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include "hexzfs.h"

struct snapshot_map;

enum node_kind {
	NODE_SOURCE,  /* a directory or snapshot file of the source tree */
	NODE_ARCHIVE, /* contents view: an archive file shown as a directory */
};

struct node {
	struct node *hash_next;
	struct node *parent; /* NULL for the root */
	uint64_t nlookup;    /* guarded by the table lock */
	uint64_t children;   /* guarded by the table lock */
	dev_t dev;
	ino_t ino;
	struct timespec birth; /* files only: tells a reused inode number apart */
	int fd;		       /* directories: O_PATH fd; files: -1 */
	bool is_dir;
	bool via_symlink; /* a file reached through a symbolic link */
	enum node_kind kind;
	/* Archive nodes: the version's mapping, of which the node holds a reference. */
	struct snapshot_map *map;
	uint32_t slot;		/* archive nodes: the slot in their entries' IDs */
	uint64_t entry_lookups; /* archive nodes: the kernel's lookups of entries; table lock */
	/* Archive nodes: the table's list of them, for the stale-version sweep. */
	TAILQ_ENTRY(node) archive_link;
	/* Source attributes at the last lookup; guarded by the table lock. */
	struct stat attr;
	/* Version last opened, for keep_cache; guarded by the table lock. */
	atomic_bool opened_before;
	struct timespec opened_mtime, opened_ctime;
	off_t opened_size;
	char name[]; /* immutable after creation */
};

struct node_table;

/* A table whose root is the directory open on root_fd (taken over). */
struct node_table *node_table_new(int root_fd, const struct stat *root_attr);
void node_table_free(struct node_table *tbl);

/*
 * What a kernel node ID stands for: a node, or an entry of an archive
 * node. `index` is the tree index for archive nodes (0) and their entries
 * (1 and up), 0 for source nodes.
 */
struct node_ref {
	struct node *node; /* for an entry, its archive node */
	uint32_t index;
};

struct node *node_table_root(struct node_table *tbl);
/* Resolve node ID `ino`, which the kernel holds lookups on. No lock. */
struct node_ref node_table_get(struct node_table *tbl, fuse_ino_t ino);
/* The node ID of node `n`. */
fuse_ino_t node_table_ino(struct node_table *tbl, const struct node *n);
/* The node ID of entry `index` of archive node `archive` (index 0: the archive's own). */
fuse_ino_t node_table_entry_ino(const struct node *archive, uint32_t index);

/*
 * Take one lookup reference on the node for entry `name` of `parent` whose
 * source attributes are `st`, creating it if needed. For a directory,
 * `dir_fd` is an O_PATH descriptor of it, always taken over (kept by a new
 * node, closed otherwise); for files it must be -1. Returns NULL when out
 * of memory (dir_fd is then closed).
 */
struct node *node_table_acquire(struct node_table *tbl, struct node *parent, const char *name,
				const struct stat *st, const struct timespec *birth, int dir_fd,
				bool via_symlink);

/*
 * Contents view: the archive node for source file `name` of `parent`
 * (attributes `st`, `birth`) showing the version mapped by `map`. A new node
 * takes over the caller's reference on `map` (*took set); an existing one
 * leaves it to the caller. NULL when out of memory.
 */
struct node *node_table_acquire_archive(struct node_table *tbl, struct node *parent,
					const char *name, const struct stat *st,
					const struct timespec *birth, bool via_symlink,
					struct snapshot_map *map, bool *took);

/*
 * Contents view: take one lookup reference on entry `index` (1 and up) of
 * archive node `archive`, which the caller keeps alive (the kernel holds
 * a lookup on it or on one of its entries); returns the entry's node ID.
 */
fuse_ino_t node_table_acquire_entry(struct node_table *tbl, struct node *archive, uint32_t index);

/*
 * Pin up to `max` archive nodes into `out`, taking a lookup reference on
 * each (drop it with node_table_forget(n, 1)), in turns: each call starts
 * where the last one stopped. Returns how many were pinned.
 */
size_t node_table_pin_archives(struct node_table *tbl, struct node **out, size_t max);

/* Called for each freed archive node's mapping reference. */
void node_table_on_release(struct node_table *tbl,
			   void (*release)(void *ctx, struct snapshot_map *map), void *ctx);

/*
 * Take a lookup reference of the daemon's own on live node `n` (one the
 * kernel holds, such as the node of a request), so that it, and the
 * archive mapping it keeps, outlive the kernel's FORGET: for work that
 * goes on after the request. Drop it with node_table_forget(n, 1).
 */
void node_table_hold(struct node_table *tbl, struct node *n);

/* Drop `count` lookup references taken on node `n` itself. */
void node_table_forget(struct node_table *tbl, struct node *n, uint64_t count);

/* Drop `count` lookup references of node ID `ino` (a node's or an entry's), as FORGET asks. */
void node_table_forget_ino(struct node_table *tbl, fuse_ino_t ino, uint64_t count);

/* Record fresh source attributes of a node / read the last recorded ones. */
void node_set_attr(struct node_table *tbl, struct node *n, const struct stat *st);
void node_get_attr(struct node_table *tbl, const struct node *n, struct stat *st);

/*
 * Note that version `st` of file node `n` is being opened. True when it is
 * the version opened last (or the first), so the kernel may keep the pages
 * it cached for this node.
 */
bool node_note_open(struct node_table *tbl, struct node *n, const struct stat *st);

/* Whether node `n` was ever opened: a hint, read without the lock. */
static inline bool
node_opened_before(const struct node *n)
{
	return atomic_load_explicit(&n->opened_before, memory_order_relaxed);
}

/* True when source attributes `st`, `birth` describe the very file of node `n`. */
bool node_is(const struct node *n, const struct stat *st, const struct timespec *birth);

/* Number of live nodes, for the counters. */
unsigned long node_table_count(struct node_table *tbl);

/* Number of lookups the kernel holds on entries of every archive, for the counters. */
unsigned long node_table_entry_lookups(struct node_table *tbl);

#endif /* HEXZFS_NODE_TABLE_H */
