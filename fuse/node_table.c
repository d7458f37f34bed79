/* SPDX-License-Identifier: MIT */
/*
 * The inode table: a hash of nodes keyed on (parent, name, dev, ino),
 * growing by doubling. The scheme is explained in node_table.h.
 */
#define _GNU_SOURCE
#include "node_table.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Node IDs are pointers; they must fit the kernel's 64-bit node ID. */
_Static_assert(sizeof(fuse_ino_t) >= sizeof(uintptr_t), "fuse_ino_t cannot hold a pointer");

#define INITIAL_BUCKETS 1024u

struct node_table {
	pthread_mutex_t lock;
	struct node **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	struct node *root;
	void (*release)(void *ctx, struct snapshot_map *map);
	void *release_ctx;
	/* Archive nodes, oldest visited by the sweep first. */
	TAILQ_HEAD(, node) archives;
};

static size_t
hash_key(const struct node *parent, const char *name, ino_t ino)
{
	/* FNV-1a over the name, mixed with the parent address and inode. */
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)parent ^ ((uint64_t)ino << 17);

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static size_t
hash_node(const struct node *n)
{
	return hash_key(n->parent, n->name, n->ino);
}

static void
grow(struct node_table *tbl)
{
	size_t nb = tbl->nbuckets * 2;
	struct node **b = calloc(nb, sizeof(*b));

	/* Out of memory: keep the longer chains, which still work. */
	if (!b)
		return;
	for (size_t i = 0; i < tbl->nbuckets; i++) {
		struct node *n = tbl->buckets[i];

		while (n) {
			struct node *next = n->hash_next;
			size_t k = hash_node(n) & (nb - 1);

			n->hash_next = b[k];
			b[k] = n;
			n = next;
		}
	}
	free(tbl->buckets);
	tbl->buckets = b;
	tbl->nbuckets = nb;
}

static struct node *
node_alloc(struct node *parent, const char *name, const struct stat *st, int fd, bool via_symlink)
{
	size_t len = strlen(name);
	struct node *n = calloc(1, sizeof(*n) + len + 1);

	if (!n)
		return NULL;
	memcpy(n->name, name, len + 1);
	n->parent = parent;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->is_dir = S_ISDIR(st->st_mode);
	n->via_symlink = via_symlink;
	n->attr = *st;
	n->fd = fd;
	return n;
}

struct node_table *
node_table_new(int root_fd, const struct stat *root_attr)
{
	struct node_table *tbl = calloc(1, sizeof(*tbl));

	if (!tbl)
		goto err;
	TAILQ_INIT(&tbl->archives);
	tbl->nbuckets = INITIAL_BUCKETS;
	tbl->buckets = calloc(tbl->nbuckets, sizeof(*tbl->buckets));
	if (!tbl->buckets)
		goto err_tbl;
	tbl->root = node_alloc(NULL, "", root_attr, root_fd, false);
	if (!tbl->root)
		goto err_buckets;
	/* The root is never forgotten: the kernel holds it for the mount's life. */
	tbl->root->nlookup = 1;
	pthread_mutex_init(&tbl->lock, NULL);
	return tbl;

err_buckets:
	free(tbl->buckets);
err_tbl:
	free(tbl);
err:
	close(root_fd);
	return NULL;
}

static void
node_destroy(struct node_table *tbl, struct node *n)
{
	if (n->fd >= 0)
		close(n->fd);
	if (n->kind == NODE_ARCHIVE && tbl->release)
		tbl->release(tbl->release_ctx, n->map);
	free(n);
}

void
node_table_on_release(struct node_table *tbl, void (*release)(void *ctx, struct snapshot_map *map),
		      void *ctx)
{
	tbl->release = release;
	tbl->release_ctx = ctx;
}

void
node_table_free(struct node_table *tbl)
{
	if (!tbl)
		return;
	for (size_t i = 0; i < tbl->nbuckets; i++) {
		struct node *n = tbl->buckets[i];

		while (n) {
			struct node *next = n->hash_next;

			node_destroy(tbl, n);
			n = next;
		}
	}
	node_destroy(tbl, tbl->root);
	free(tbl->buckets);
	pthread_mutex_destroy(&tbl->lock);
	free(tbl);
}

struct node *
node_table_root(struct node_table *tbl)
{
	return tbl->root;
}

struct node *
node_table_get(struct node_table *tbl, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? tbl->root : (struct node *)(uintptr_t)ino;
}

fuse_ino_t
node_table_ino(struct node_table *tbl, const struct node *n)
{
	return n == tbl->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

static bool
same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

bool
node_is(const struct node *n, const struct stat *st, const struct timespec *birth)
{
	if (n->kind != NODE_SOURCE)
		return false;
	if (n->ino != st->st_ino || n->dev != st->st_dev || n->is_dir != S_ISDIR(st->st_mode))
		return false;
	return n->is_dir || same_time(n->birth, *birth);
}

static struct node **
find_slot(struct node_table *tbl, struct node *parent, const char *name, const struct stat *st,
	  const struct timespec *birth)
{
	struct node **slot =
		&tbl->buckets[hash_key(parent, name, st->st_ino) & (tbl->nbuckets - 1)];

	for (; *slot; slot = &(*slot)->hash_next) {
		const struct node *n = *slot;

		if (n->parent == parent && node_is(n, st, birth) && strcmp(n->name, name) == 0)
			break;
	}
	return slot;
}

/* Link a fresh node with one lookup reference under `parent`. Lock held. */
static void
insert_locked(struct node_table *tbl, struct node **slot, struct node *parent, struct node *n)
{
	n->nlookup = 1;
	n->hash_next = *slot;
	*slot = n;
	parent->children++;
	if (++tbl->count > tbl->nbuckets)
		grow(tbl);
}

struct node *
node_table_acquire(struct node_table *tbl, struct node *parent, const char *name,
		   const struct stat *st, const struct timespec *birth, int dir_fd,
		   bool via_symlink)
{
	struct node **slot;
	struct node *n;

	pthread_mutex_lock(&tbl->lock);
	slot = find_slot(tbl, parent, name, st, birth);
	n = *slot;
	if (n) {
		n->nlookup++;
		n->attr = *st;
		pthread_mutex_unlock(&tbl->lock);
		if (dir_fd >= 0)
			close(dir_fd);
		return n;
	}
	n = node_alloc(parent, name, st, dir_fd, via_symlink);
	if (n && !n->is_dir)
		n->birth = *birth;
	if (!n) {
		pthread_mutex_unlock(&tbl->lock);
		if (dir_fd >= 0)
			close(dir_fd);
		return NULL;
	}
	insert_locked(tbl, slot, parent, n);
	pthread_mutex_unlock(&tbl->lock);
	return n;
}

size_t
node_table_pin_archives(struct node_table *tbl, struct node **out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&tbl->lock);
	/* Take from the head and move to the tail: the next call goes on from there. */
	while (n < max && !TAILQ_EMPTY(&tbl->archives) &&
	       (n == 0 || TAILQ_FIRST(&tbl->archives) != out[0])) {
		struct node *a = TAILQ_FIRST(&tbl->archives);

		a->nlookup++;
		out[n++] = a;
		TAILQ_REMOVE(&tbl->archives, a, archive_link);
		TAILQ_INSERT_TAIL(&tbl->archives, a, archive_link);
	}
	pthread_mutex_unlock(&tbl->lock);
	return n;
}

struct node *
node_table_acquire_archive(struct node_table *tbl, struct node *parent, const char *name,
			   const struct stat *st, const struct timespec *birth, bool via_symlink,
			   struct snapshot_map *map, bool *took)
{
	struct node **slot;
	struct node *n;

	*took = false;
	pthread_mutex_lock(&tbl->lock);
	slot = &tbl->buckets[hash_key(parent, name, st->st_ino) & (tbl->nbuckets - 1)];
	for (; *slot; slot = &(*slot)->hash_next) {
		n = *slot;
		if (n->kind == NODE_ARCHIVE && n->map == map && n->parent == parent &&
		    strcmp(n->name, name) == 0) {
			n->nlookup++;
			pthread_mutex_unlock(&tbl->lock);
			return n;
		}
	}
	n = node_alloc(parent, name, st, -1, via_symlink);
	if (n) {
		n->kind = NODE_ARCHIVE;
		n->is_dir = true;
		n->birth = *birth;
		n->map = map;
		*took = true;
		insert_locked(tbl, slot, parent, n);
		TAILQ_INSERT_TAIL(&tbl->archives, n, archive_link);
	}
	pthread_mutex_unlock(&tbl->lock);
	return n;
}

struct node *
node_table_acquire_entry(struct node_table *tbl, struct node *parent, const char *name,
			 uint32_t tree_index, bool is_dir, ino_t ino)
{
	struct stat st = { .st_dev = parent->dev, .st_ino = ino };
	struct node **slot;
	struct node *n;

	pthread_mutex_lock(&tbl->lock);
	slot = &tbl->buckets[hash_key(parent, name, ino) & (tbl->nbuckets - 1)];
	for (; *slot; slot = &(*slot)->hash_next) {
		n = *slot;
		if (n->kind == NODE_ENTRY && n->parent == parent && n->tree_index == tree_index &&
		    strcmp(n->name, name) == 0) {
			n->nlookup++;
			pthread_mutex_unlock(&tbl->lock);
			return n;
		}
	}
	n = node_alloc(parent, name, &st, -1, false);
	if (n) {
		n->kind = NODE_ENTRY;
		n->is_dir = is_dir;
		n->map = parent->map;
		n->tree_index = tree_index;
		insert_locked(tbl, slot, parent, n);
	}
	pthread_mutex_unlock(&tbl->lock);
	return n;
}

static void
unlink_node(struct node_table *tbl, struct node *n)
{
	struct node **slot = &tbl->buckets[hash_node(n) & (tbl->nbuckets - 1)];

	if (n->kind == NODE_ARCHIVE)
		TAILQ_REMOVE(&tbl->archives, n, archive_link);
	while (*slot != n)
		slot = &(*slot)->hash_next;
	*slot = n->hash_next;
	tbl->count--;
}

void
node_table_hold(struct node_table *tbl, struct node *n)
{
	if (n == tbl->root)
		return; /* never freed, and forget ignores it */
	pthread_mutex_lock(&tbl->lock);
	n->nlookup++;
	pthread_mutex_unlock(&tbl->lock);
}

void
node_table_forget(struct node_table *tbl, struct node *n, uint64_t count)
{
	struct node *doomed = NULL;

	/* The root lives as long as the mount, whatever the kernel says. */
	if (n == tbl->root)
		return;
	pthread_mutex_lock(&tbl->lock);
	assert(n->nlookup >= count);
	n->nlookup -= count;
	/* Free the node, then every ancestor that it alone kept alive. */
	while (n != tbl->root && n->nlookup == 0 && n->children == 0) {
		struct node *parent = n->parent;

		unlink_node(tbl, n);
		n->hash_next = doomed;
		doomed = n;
		parent->children--;
		n = parent;
	}
	pthread_mutex_unlock(&tbl->lock);

	/* close() outside the lock: it can be slow and needs no protection. */
	while (doomed) {
		struct node *next = doomed->hash_next;

		node_destroy(tbl, doomed);
		doomed = next;
	}
}

void
node_set_attr(struct node_table *tbl, struct node *n, const struct stat *st)
{
	pthread_mutex_lock(&tbl->lock);
	n->attr = *st;
	pthread_mutex_unlock(&tbl->lock);
}

void
node_get_attr(struct node_table *tbl, const struct node *n, struct stat *st)
{
	pthread_mutex_lock(&tbl->lock);
	*st = n->attr;
	pthread_mutex_unlock(&tbl->lock);
}

bool
node_note_open(struct node_table *tbl, struct node *n, const struct stat *st)
{
	bool same;

	pthread_mutex_lock(&tbl->lock);
	same = !node_opened_before(n) ||
	       (n->opened_size == st->st_size && same_time(n->opened_mtime, st->st_mtim) &&
		same_time(n->opened_ctime, st->st_ctim));
	atomic_store_explicit(&n->opened_before, true, memory_order_relaxed);
	n->opened_size = st->st_size;
	n->opened_mtime = st->st_mtim;
	n->opened_ctime = st->st_ctim;
	pthread_mutex_unlock(&tbl->lock);
	return same;
}

unsigned long
node_table_count(struct node_table *tbl)
{
	unsigned long count;

	pthread_mutex_lock(&tbl->lock);
	count = (unsigned long)tbl->count + 1;
	pthread_mutex_unlock(&tbl->lock);
	return count;
}
