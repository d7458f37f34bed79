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
_Static_assert(sizeof(fuse_ino_t) == 8, "entry IDs need a 64-bit node ID");

#define INITIAL_BUCKETS 1024u

/* Entry IDs (node_table.h): the tag, the slot above the tree index. */
#define ENTRY_TAG (UINT64_C(1) << 63)
#define SLOT_SHIFT 32
/* Slots come in chunks allocated as needed, which never move: read without a lock. */
#define CHUNK_SLOTS 4096u
#define MAX_CHUNKS 16384u /* 2^26 archive nodes alive at once */

struct slot_table {
	_Atomic(struct node *) *_Atomic chunks[MAX_CHUNKS];
	uint32_t *free; /* slots freed, reused first */
	size_t nfree, free_cap;
	uint32_t next; /* slots below it were handed out once */
};

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
	uint64_t entry_lookups; /* the sum of the archive nodes' */
	struct slot_table *slots;
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
	/* An address with the entry tag would read as an entry's ID. */
	if ((uint64_t)(uintptr_t)n & ENTRY_TAG) {
		free(n);
		return NULL;
	}
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
	/* 128 KiB of chunk pointers, in pages untouched until used. */
	tbl->slots = calloc(1, sizeof(*tbl->slots));
	if (!tbl->slots)
		goto err_buckets;
	tbl->root = node_alloc(NULL, "", root_attr, root_fd, false);
	if (!tbl->root)
		goto err_slots;
	/* The root is never forgotten: the kernel holds it for the mount's life. */
	tbl->root->nlookup = 1;
	pthread_mutex_init(&tbl->lock, NULL);
	return tbl;

err_slots:
	free(tbl->slots);
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
	for (size_t i = 0; i < MAX_CHUNKS; i++)
		free(atomic_load_explicit(&tbl->slots->chunks[i], memory_order_relaxed));
	free(tbl->slots->free);
	free(tbl->slots);
	pthread_mutex_destroy(&tbl->lock);
	free(tbl);
}

struct node *
node_table_root(struct node_table *tbl)
{
	return tbl->root;
}

static _Atomic(struct node *) *
slot_ptr(struct slot_table *slots, uint32_t slot)
{
	_Atomic(struct node *) *chunk =
		atomic_load_explicit(&slots->chunks[slot / CHUNK_SLOTS], memory_order_acquire);

	return &chunk[slot % CHUNK_SLOTS];
}

/*
 * Make room for slot `slot`, never handed out before: its chunk, and a
 * place in the free list, which always has room for every slot handed out
 * so that giving one back never allocates. 0 or -1. Lock held.
 */
static int
slot_room(struct slot_table *slots, uint32_t slot)
{
	_Atomic(struct node *) *chunk;

	if (slot == MAX_CHUNKS * CHUNK_SLOTS)
		return -1;
	if (slots->free_cap <= slot) {
		size_t cap = slots->free_cap ? slots->free_cap * 2 : 64;
		uint32_t *grown = realloc(slots->free, cap * sizeof(*grown));

		if (!grown)
			return -1;
		slots->free = grown;
		slots->free_cap = cap;
	}
	chunk = atomic_load_explicit(&slots->chunks[slot / CHUNK_SLOTS], memory_order_relaxed);
	if (chunk)
		return 0;
	chunk = calloc(CHUNK_SLOTS, sizeof(*chunk));
	if (!chunk)
		return -1;
	atomic_store_explicit(&slots->chunks[slot / CHUNK_SLOTS], chunk, memory_order_release);
	return 0;
}

/* A slot for archive node `n`, recorded in n->slot: 0, or -1 when none is left. Lock held. */
static int
slot_take(struct slot_table *slots, struct node *n)
{
	uint32_t slot;

	if (slots->nfree > 0) {
		slot = slots->free[--slots->nfree];
	} else {
		slot = slots->next;
		if (slot_room(slots, slot) != 0)
			return -1;
		slots->next++;
	}
	atomic_store_explicit(slot_ptr(slots, slot), n, memory_order_release);
	n->slot = slot;
	return 0;
}

/* Lock held; the free list has room (slot_take() made it). */
static void
slot_give_back(struct slot_table *slots, uint32_t slot)
{
	atomic_store_explicit(slot_ptr(slots, slot), NULL, memory_order_relaxed);
	slots->free[slots->nfree++] = slot;
}

struct node_ref
node_table_get(struct node_table *tbl, fuse_ino_t ino)
{
	uint64_t id = (uint64_t)ino;

	if (id == FUSE_ROOT_ID)
		return (struct node_ref){ tbl->root, 0 };
	if (id & ENTRY_TAG) {
		uint32_t slot = (uint32_t)((id & ~ENTRY_TAG) >> SLOT_SHIFT);

		return (struct node_ref){
			atomic_load_explicit(slot_ptr(tbl->slots, slot), memory_order_acquire),
			(uint32_t)id,
		};
	}
	return (struct node_ref){ (struct node *)(uintptr_t)id, 0 };
}

fuse_ino_t
node_table_ino(struct node_table *tbl, const struct node *n)
{
	return n == tbl->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

fuse_ino_t
node_table_entry_ino(const struct node *archive, uint32_t index)
{
	if (index == 0)
		return (fuse_ino_t)(uintptr_t)archive;
	return (fuse_ino_t)(ENTRY_TAG | (uint64_t)archive->slot << SLOT_SHIFT | index);
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
	if (n && slot_take(tbl->slots, n) != 0) {
		free(n);
		n = NULL;
	}
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

fuse_ino_t
node_table_acquire_entry(struct node_table *tbl, struct node *archive, uint32_t index)
{
	pthread_mutex_lock(&tbl->lock);
	archive->entry_lookups++;
	tbl->entry_lookups++;
	pthread_mutex_unlock(&tbl->lock);
	return node_table_entry_ino(archive, index);
}

static void
unlink_node(struct node_table *tbl, struct node *n)
{
	struct node **slot = &tbl->buckets[hash_node(n) & (tbl->nbuckets - 1)];

	if (n->kind == NODE_ARCHIVE) {
		TAILQ_REMOVE(&tbl->archives, n, archive_link);
		slot_give_back(tbl->slots, n->slot);
	}
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

/*
 * Free node `n` if nothing keeps it any more, then every ancestor that it
 * alone kept alive; returns the freed nodes, chained by hash_next, for
 * node_destroy() outside the lock. Lock held.
 */
static struct node *
reap_locked(struct node_table *tbl, struct node *n)
{
	struct node *doomed = NULL;

	while (n != tbl->root && n->nlookup == 0 && n->children == 0 && n->entry_lookups == 0) {
		struct node *parent = n->parent;

		unlink_node(tbl, n);
		n->hash_next = doomed;
		doomed = n;
		parent->children--;
		n = parent;
	}
	return doomed;
}

/* close() and the mapping's release outside the lock: they can be slow. */
static void
destroy_chain(struct node_table *tbl, struct node *doomed)
{
	while (doomed) {
		struct node *next = doomed->hash_next;

		node_destroy(tbl, doomed);
		doomed = next;
	}
}

void
node_table_forget(struct node_table *tbl, struct node *n, uint64_t count)
{
	struct node *doomed;

	/* The root lives as long as the mount, whatever the kernel says. */
	if (n == tbl->root)
		return;
	pthread_mutex_lock(&tbl->lock);
	assert(n->nlookup >= count);
	n->nlookup -= count;
	doomed = reap_locked(tbl, n);
	pthread_mutex_unlock(&tbl->lock);
	destroy_chain(tbl, doomed);
}

void
node_table_forget_ino(struct node_table *tbl, fuse_ino_t ino, uint64_t count)
{
	struct node_ref r = node_table_get(tbl, ino);
	struct node *doomed;

	if (r.node->kind != NODE_ARCHIVE || r.index == 0) {
		node_table_forget(tbl, r.node, count);
		return;
	}
	pthread_mutex_lock(&tbl->lock);
	assert(r.node->entry_lookups >= count);
	r.node->entry_lookups -= count;
	tbl->entry_lookups -= count;
	doomed = reap_locked(tbl, r.node);
	pthread_mutex_unlock(&tbl->lock);
	destroy_chain(tbl, doomed);
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

unsigned long
node_table_entry_lookups(struct node_table *tbl)
{
	unsigned long count;

	pthread_mutex_lock(&tbl->lock);
	count = (unsigned long)tbl->entry_lookups;
	pthread_mutex_unlock(&tbl->lock);
	return count;
}
