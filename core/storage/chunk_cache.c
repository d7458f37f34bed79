/* SPDX-License-Identifier: MIT */
/*
 * The chunk cache of remote objects: a hash table of refcounted chunks
 * with an LRU list of the unreferenced READY ones. See chunk_cache.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <hexz/common.h>

#include "chunk_cache.h"

enum chunk_state {
	CHUNK_FETCHING,
	CHUNK_READY,
	CHUNK_FAILED,
};

struct chunk {
	/* Hash chain; NULL-terminated. Not in the table once abandoned. */
	struct chunk *next;
	/* LRU list of unreferenced READY chunks (lru_prev/next NULL and not head: not in it). */
	struct chunk *lru_prev, *lru_next;
	bool in_table, in_lru;
	uint64_t hash;
	uint64_t index;
	char *key;
	unsigned int refs;
	enum chunk_state state;
	int status;
	size_t len;
	unsigned char *data;
};

/*
 * Mapped buffers kept for reuse at most. On this project's CI machine (a
 * virtual machine with shadow page tables) the first write to a fresh page
 * costs some 10 us even after MAP_POPULATE, about 30 times a rewrite: a
 * cache at its budget, which evicts a chunk for each one it fetches, or a
 * reader of the disk cache, which frees each chunk after use, then fills
 * buffers it has already written. Eight cover the chunks of the reads in
 * flight; more would only hold memory past the budget.
 */
#define SPARE_MAX 8

struct chunk_cache {
	pthread_mutex_t lock;
	/* Broadcast when any chunk leaves FETCHING. */
	pthread_cond_t done;
	struct chunk **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	/* Least recently used at head. */
	struct chunk *lru_head, *lru_tail;
	uint64_t budget;
	struct chunk_cache_stats stats;
	/* Buffers of evicted chunks, for new ones (see chunk_recycle()); own lock, taken last. */
	pthread_mutex_t spare_lock;
	unsigned char *spare[SPARE_MAX];
	size_t spare_len[SPARE_MAX];
	size_t nspare;
};

#define INITIAL_BUCKETS 256

/* FNV-1a over the key and the index: a table hash, not a checksum of data. */
static uint64_t
chunk_hash(const char *key, uint64_t index)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; key[i]; i++)
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3ull;
	for (i = 0; i < 8; i++)
		h = (h ^ ((index >> (8 * i)) & 0xff)) * 0x100000001b3ull;
	return h;
}

struct chunk_cache *
chunk_cache_create(uint64_t budget)
{
	struct chunk_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->buckets = calloc(INITIAL_BUCKETS, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->nbuckets = INITIAL_BUCKETS;
	c->budget = budget;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->spare_lock, NULL);
	pthread_cond_init(&c->done, NULL);
	return c;
}

/*
 * Buffers of a megabyte and more are whole mappings, populated when made:
 * one system call fills a 1 MiB chunk's 256 pages, where malloc() (which
 * maps a buffer this large anyway) leaves each page to fault on first
 * write, a trap per page that doubled the time of a fetch and of a load
 * from the disk cache. Smaller ones come from malloc(), so that a cache
 * of many small chunks does not run into the limit on mappings
 * (vm.max_map_count, 65530): at 1 MiB, a 16 GiB budget is 16384 of them.
 */
#define MAPPED_BUFFER_MIN (1u << 20)

static unsigned char *
buffer_alloc(size_t len)
{
	void *p;

	if (len < MAPPED_BUFFER_MIN)
		return malloc(len ? len : 1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1,
		 0);
	return p == MAP_FAILED ? NULL : p;
}

static void
buffer_free(unsigned char *p, size_t len)
{
	if (len < MAPPED_BUFFER_MIN)
		free(p);
	else if (p)
		munmap(p, len);
}

/* A buffer of `len` bytes: a spare one of that length if there is one, else a new one. */
static unsigned char *
buffer_get(struct chunk_cache *c, size_t len)
{
	unsigned char *p = NULL;

	if (len >= MAPPED_BUFFER_MIN) {
		pthread_mutex_lock(&c->spare_lock);
		for (size_t i = 0; i < c->nspare; i++)
			if (c->spare_len[i] == len) {
				p = c->spare[i];
				c->spare[i] = c->spare[--c->nspare];
				c->spare_len[i] = c->spare_len[c->nspare];
				break;
			}
		pthread_mutex_unlock(&c->spare_lock);
	}
	return p ? p : buffer_alloc(len);
}

/* Free chunk `ch`, keeping its buffer as a spare while there is room. */
static void
chunk_recycle(struct chunk_cache *c, struct chunk *ch)
{
	if (ch->data && ch->len >= MAPPED_BUFFER_MIN) {
		pthread_mutex_lock(&c->spare_lock);
		if (c->nspare < SPARE_MAX) {
			c->spare[c->nspare] = ch->data;
			c->spare_len[c->nspare++] = ch->len;
			ch->data = NULL;
		}
		pthread_mutex_unlock(&c->spare_lock);
	}
	buffer_free(ch->data, ch->len);
	free(ch->key);
	free(ch);
}

static void
chunk_free(struct chunk *ch)
{
	buffer_free(ch->data, ch->len);
	free(ch->key);
	free(ch);
}

void
chunk_cache_destroy(struct chunk_cache *c)
{
	struct chunk *ch, *next;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nbuckets; i++)
		for (ch = c->buckets[i]; ch; ch = next) {
			next = ch->next;
			chunk_free(ch);
		}
	while (c->nspare--)
		buffer_free(c->spare[c->nspare], c->spare_len[c->nspare]);
	pthread_mutex_destroy(&c->spare_lock);
	free(c->buckets);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void
lru_remove(struct chunk_cache *c, struct chunk *ch)
{
	if (!ch->in_lru)
		return;
	if (ch->lru_prev)
		ch->lru_prev->lru_next = ch->lru_next;
	else
		c->lru_head = ch->lru_next;
	if (ch->lru_next)
		ch->lru_next->lru_prev = ch->lru_prev;
	else
		c->lru_tail = ch->lru_prev;
	ch->lru_prev = ch->lru_next = NULL;
	ch->in_lru = false;
}

static void
lru_push_tail(struct chunk_cache *c, struct chunk *ch)
{
	ch->lru_prev = c->lru_tail;
	ch->lru_next = NULL;
	if (c->lru_tail)
		c->lru_tail->lru_next = ch;
	else
		c->lru_head = ch;
	c->lru_tail = ch;
	ch->in_lru = true;
}

static void
table_remove(struct chunk_cache *c, struct chunk *ch)
{
	struct chunk **p = &c->buckets[ch->hash & (c->nbuckets - 1)];

	while (*p && *p != ch)
		p = &(*p)->next;
	if (*p)
		*p = ch->next;
	ch->next = NULL;
	ch->in_table = false;
	c->count--;
}

/* Drop unreferenced chunks, oldest first, until the budget holds. */
static void
evict(struct chunk_cache *c)
{
	while (c->stats.bytes > c->budget && c->lru_head) {
		struct chunk *victim = c->lru_head;

		lru_remove(c, victim);
		table_remove(c, victim);
		c->stats.bytes -= victim->len;
		c->stats.chunks--;
		c->stats.evictions++;
		chunk_recycle(c, victim);
	}
}

/* Double the table when it holds more chunks than buckets; a failure only costs speed. */
static void
maybe_grow(struct chunk_cache *c)
{
	struct chunk **nb;
	size_t i, n = c->nbuckets * 2;

	if (c->count <= c->nbuckets)
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	for (i = 0; i < c->nbuckets; i++) {
		struct chunk *ch = c->buckets[i], *next;

		for (; ch; ch = next) {
			next = ch->next;
			ch->next = nb[ch->hash & (n - 1)];
			nb[ch->hash & (n - 1)] = ch;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->nbuckets = n;
}

static struct chunk *
lookup(struct chunk_cache *c, uint64_t hash, const char *key, uint64_t index)
{
	struct chunk *ch = c->buckets[hash & (c->nbuckets - 1)];

	for (; ch; ch = ch->next)
		if (ch->hash == hash && ch->index == index && strcmp(ch->key, key) == 0)
			return ch;
	return NULL;
}

int
chunk_cache_acquire(struct chunk_cache *c, const char *key, uint64_t index, size_t len,
		    struct chunk **out, bool *claimed)
{
	uint64_t hash = chunk_hash(key, index);
	struct chunk *ch;

	pthread_mutex_lock(&c->lock);
	ch = lookup(c, hash, key, index);
	if (ch) {
		lru_remove(c, ch);
		ch->refs++;
		if (ch->state == CHUNK_READY)
			c->stats.hits++;
		else
			c->stats.waits++;
		pthread_mutex_unlock(&c->lock);
		*out = ch;
		*claimed = false;
		return HEXZ_OK;
	}
	pthread_mutex_unlock(&c->lock);

	/* Allocate outside the lock: a chunk is megabytes of pages to populate. */
	ch = calloc(1, sizeof(*ch));
	if (ch) {
		ch->len = len;
		ch->key = strdup(key);
		ch->data = buffer_get(c, len);
	}
	if (!ch || !ch->key || !ch->data) {
		if (ch)
			chunk_free(ch);
		return HEXZ_ERR_NO_MEMORY;
	}
	ch->hash = hash;
	ch->index = index;
	ch->len = len;
	ch->refs = 1;
	ch->state = CHUNK_FETCHING;

	pthread_mutex_lock(&c->lock);
	/* Another reader may have claimed it meanwhile: then wait for theirs. */
	struct chunk *raced = lookup(c, hash, key, index);
	if (raced) {
		lru_remove(c, raced);
		raced->refs++;
		if (raced->state == CHUNK_READY)
			c->stats.hits++;
		else
			c->stats.waits++;
		pthread_mutex_unlock(&c->lock);
		chunk_recycle(c, ch);
		*out = raced;
		*claimed = false;
		return HEXZ_OK;
	}
	ch->next = c->buckets[hash & (c->nbuckets - 1)];
	c->buckets[hash & (c->nbuckets - 1)] = ch;
	ch->in_table = true;
	c->count++;
	c->stats.bytes += len;
	c->stats.chunks++;
	c->stats.misses++;
	evict(c);
	maybe_grow(c);
	pthread_mutex_unlock(&c->lock);
	*out = ch;
	*claimed = true;
	return HEXZ_OK;
}

unsigned char *
chunk_data(struct chunk *ch)
{
	return ch->data;
}

size_t
chunk_len(const struct chunk *ch)
{
	return ch->len;
}

void
chunk_cache_publish(struct chunk_cache *c, struct chunk *ch)
{
	pthread_mutex_lock(&c->lock);
	ch->state = CHUNK_READY;
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
}

void
chunk_cache_abandon(struct chunk_cache *c, struct chunk *ch, int status)
{
	pthread_mutex_lock(&c->lock);
	ch->state = CHUNK_FAILED;
	ch->status = status;
	if (ch->in_table) {
		table_remove(c, ch);
		c->stats.bytes -= ch->len;
		c->stats.chunks--;
	}
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
}

int
chunk_cache_wait(struct chunk_cache *c, struct chunk *ch)
{
	int status;

	pthread_mutex_lock(&c->lock);
	while (ch->state == CHUNK_FETCHING)
		pthread_cond_wait(&c->done, &c->lock);
	status = ch->state == CHUNK_READY ? HEXZ_OK : ch->status;
	pthread_mutex_unlock(&c->lock);
	return status;
}

void
chunk_cache_release(struct chunk_cache *c, struct chunk *ch)
{
	bool free_it = false;

	pthread_mutex_lock(&c->lock);
	if (--ch->refs == 0) {
		if (ch->in_table && ch->state == CHUNK_READY) {
			lru_push_tail(c, ch);
			evict(c);
		} else if (!ch->in_table) {
			free_it = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (free_it)
		chunk_recycle(c, ch);
}

void
chunk_cache_get_stats(struct chunk_cache *c, struct chunk_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}
