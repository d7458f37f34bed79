/* SPDX-License-Identifier: MIT */
/*
 * The mapping cache: a hash of versions plus an LRU list of idle mappings.
 * The design is explained in map_cache.h.
 */
#define _GNU_SOURCE
#include "map_cache.h"

#include "contents.h"
#include "lease.h"

#include <pthread.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS 4096u

struct map_cache {
	pthread_mutex_t lock;
	struct snapshot_map *buckets[BUCKETS];
	/* Idle mappings: lru_head is the most recently released. */
	struct snapshot_map *lru_head, *lru_tail;
	unsigned long idle;
	unsigned long total;
	unsigned int idle_max;
	struct hexzfs_stats *stats;
	unsigned int sweep_round; /* mappings with swept != this are due */
	bool sweep_off;		  /* /proc/self/map_files is not ours to read */
	/* Leases: set once before the loop; the count is guarded by the lock. */
	bool leasing;
	atomic_ulong leases; /* changed under the lock, read without */
	unsigned long lease_max;
	/*
	 * Leased reads in flight, counted in two generations: a breaking
	 * lease moves new reads to the other counter and waits for its old
	 * one to drain, which the reads that keep coming cannot delay (see
	 * map_cache_read_begin()). Global, not per mapping: a read ends after
	 * its reply, when its mapping may already be gone.
	 */
	atomic_uint read_gen;
	atomic_ulong reading[2];
};

/*
 * The smallest snapshot worth a lease: taking one costs six system calls
 * and a descriptor, which reads of a file this small, answered in one or
 * a few requests, would not win back from the two checks each.
 */
#define LEASE_MIN_SIZE ((off_t)1 << 20)

/* Stat calls one sweep may make while holding the lock. */
#define SWEEP_BATCH 512

static size_t
bucket_of(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino * 0x9e3779b97f4a7c15ull) ^ (uint64_t)dev;

	return (size_t)(h >> 20) & (BUCKETS - 1);
}

bool
map_cache_matches(const struct snapshot_map *m, const struct stat *st)
{
	return m->ino == st->st_ino && m->dev == st->st_dev && m->size == st->st_size &&
	       m->mtime.tv_sec == st->st_mtim.tv_sec && m->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       m->ctime.tv_sec == st->st_ctim.tv_sec && m->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* The archive opened on a mapping borrows its storage: it goes first. */
static void
map_destroy(struct snapshot_map *m)
{
	contents_version_free(atomic_load_explicit(&m->contents, memory_order_acquire));
	hexz_storage_close(m->storage);
	/* After the unmap: the mapping holds the leased open file too. */
	if (m->lease_fd >= 0)
		close(m->lease_fd);
	free(m);
}

/* Detach the lease count of a mapping leaving the hash (under the lock). */
static void
forget_lease_locked(struct map_cache *cache, struct snapshot_map *m)
{
	if (m->lease_fd >= 0)
		atomic_fetch_sub_explicit(&cache->leases, 1, memory_order_relaxed);
}

struct map_cache *
map_cache_new(unsigned int idle_max, struct hexzfs_stats *stats)
{
	struct map_cache *cache = calloc(1, sizeof(*cache));

	if (!cache)
		return NULL;
	pthread_mutex_init(&cache->lock, NULL);
	cache->idle_max = idle_max;
	cache->stats = stats;
	cache->sweep_round = 1;
	return cache;
}

void
map_cache_enable_leases(struct map_cache *cache)
{
	struct rlimit rl;

	/* The rest is for directory nodes, requests and the session. */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 64)
		return;
	cache->lease_max = rl.rlim_cur == RLIM_INFINITY ? 1ul << 20 : rl.rlim_cur / 4;
	cache->leasing = true;
}

/*
 * The order that makes a leased read safe, with sequentially consistent
 * operations: a read counts itself, then looks at `checked`; a breaking
 * lease sets `checked`, then looks at the counter. Whichever comes second
 * sees the other: either the read sees `checked` and checks the size, or
 * the break waits for the read to end.
 */
int
map_cache_read_begin(struct map_cache *cache, const struct snapshot_map *map)
{
	unsigned int gen;

	if (atomic_load_explicit(&map->checked, memory_order_relaxed))
		return -1;
	gen = atomic_load(&cache->read_gen) & 1;
	atomic_fetch_add(&cache->reading[gen], 1);
	if (!atomic_load(&map->checked))
		return (int)gen;
	atomic_fetch_sub(&cache->reading[gen], 1);
	return -1;
}

void
map_cache_read_end(struct map_cache *cache, int token)
{
	if (token >= 0)
		atomic_fetch_sub_explicit(&cache->reading[token], 1, memory_order_release);
}

/*
 * Make `m` checked and wait for the leased reads that may have missed it:
 * those counted in the current generation. New reads count in the other
 * one, and see `checked`. A leased read is a reply in flight, never
 * waiting on this thread or on the writer the lease holds back.
 */
static void
unlease_locked(struct map_cache *cache, struct snapshot_map *m)
{
	unsigned int gen;

	atomic_store(&m->checked, true);
	gen = atomic_fetch_add(&cache->read_gen, 1) & 1;
	while (atomic_load(&cache->reading[gen]) != 0) {
		struct timespec pause = { 0, 20 * 1000 };

		nanosleep(&pause, NULL);
	}
	lease_drop(m->lease_fd);
	m->lease_fd = -1;
	atomic_fetch_sub_explicit(&cache->leases, 1, memory_order_relaxed);
	STAT_ADD(cache->stats, lease_breaks, 1);
}

void
map_cache_leases_check(struct map_cache *cache, int fd)
{
	pthread_mutex_lock(&cache->lock);
	for (size_t i = 0; i < BUCKETS; i++) {
		for (struct snapshot_map *m = cache->buckets[i]; m; m = m->hash_next) {
			if (m->lease_fd < 0 || (fd >= 0 && m->lease_fd != fd))
				continue;
			/* A stale signal for a reused descriptor finds a lease held. */
			if (!lease_held(m->lease_fd))
				unlease_locked(cache, m);
		}
	}
	pthread_mutex_unlock(&cache->lock);
}

unsigned long
map_cache_leases(struct map_cache *cache)
{
	return atomic_load_explicit(&cache->leases, memory_order_relaxed);
}

void
map_cache_free(struct map_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		struct snapshot_map *m = cache->buckets[i];

		while (m) {
			struct snapshot_map *next = m->hash_next;

			map_destroy(m);
			m = next;
		}
	}
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}

static void
lru_remove(struct map_cache *cache, struct snapshot_map *m)
{
	if (m->lru_prev)
		m->lru_prev->lru_next = m->lru_next;
	else
		cache->lru_head = m->lru_next;
	if (m->lru_next)
		m->lru_next->lru_prev = m->lru_prev;
	else
		cache->lru_tail = m->lru_prev;
	m->lru_prev = m->lru_next = NULL;
	cache->idle--;
}

static void
lru_push_front(struct map_cache *cache, struct snapshot_map *m)
{
	m->lru_prev = NULL;
	m->lru_next = cache->lru_head;
	if (cache->lru_head)
		cache->lru_head->lru_prev = m;
	else
		cache->lru_tail = m;
	cache->lru_head = m;
	cache->idle++;
}

static void
hash_remove(struct map_cache *cache, struct snapshot_map *m)
{
	struct snapshot_map **slot = &cache->buckets[bucket_of(m->dev, m->ino)];

	while (*slot != m)
		slot = &(*slot)->hash_next;
	*slot = m->hash_next;
	cache->total--;
	forget_lease_locked(cache, m);
}

/* Take a reference on the cached mapping of this version, if any. */
static struct snapshot_map *
lookup_locked(struct map_cache *cache, const struct stat *st)
{
	struct snapshot_map *m = cache->buckets[bucket_of(st->st_dev, st->st_ino)];

	for (; m; m = m->hash_next) {
		if (!map_cache_matches(m, st))
			continue;
		if (m->refs++ == 0)
			lru_remove(cache, m);
		return m;
	}
	return NULL;
}

/*
 * Detach idle mappings beyond the bound; the caller unmaps them after
 * dropping the lock, since munmap() of a large mapping is not free.
 */
static struct snapshot_map *
evict_locked(struct map_cache *cache)
{
	struct snapshot_map *evicted = NULL;

	while (cache->idle > cache->idle_max) {
		struct snapshot_map *m = cache->lru_tail;

		lru_remove(cache, m);
		hash_remove(cache, m);
		m->hash_next = evicted;
		evicted = m;
		STAT_ADD(cache->stats, map_evictions, 1);
	}
	return evicted;
}

static void
destroy_list(struct snapshot_map *m)
{
	while (m) {
		struct snapshot_map *next = m->hash_next;

		map_destroy(m);
		m = next;
	}
}

/*
 * Try to lease the file of a mapping just made from `fd`, outside the
 * lock: fstatfs() and fstat() may wait on the filesystem. A file that is
 * open for writing, or not leasable, leaves the mapping without a lease:
 * checked, which costs two system calls per read, and nothing else.
 */
static void
lease_fresh(struct map_cache *cache, struct snapshot_map *m, int fd)
{
	struct stat now;

	if (!cache->leasing || m->size < LEASE_MIN_SIZE ||
	    atomic_load_explicit(&cache->leases, memory_order_relaxed) >= cache->lease_max)
		return;
	m->lease_fd = lease_take(fd);
	if (m->lease_fd < 0)
		return;
	/*
	 * A writer may have come and gone between the stat that named this
	 * version and the lease: only a file still exactly as mapped is
	 * trusted. Any change since moved its ctime.
	 */
	if (fstat(m->lease_fd, &now) != 0 || !map_cache_matches(m, &now) ||
	    (uint64_t)now.st_size != hexz_storage_len(m->storage)) {
		lease_drop(m->lease_fd);
		m->lease_fd = -1;
	}
}

/*
 * A fresh mapping has just entered the hash, where the housekeeper finds
 * it: from now on it answers the breaks. One that came before found
 * nothing, so look at the lease once more here, under the same lock.
 */
static void
lease_publish_locked(struct map_cache *cache, struct snapshot_map *m)
{
	if (m->lease_fd < 0)
		return;
	if (atomic_load_explicit(&cache->leases, memory_order_relaxed) >= cache->lease_max ||
	    !lease_held(m->lease_fd)) {
		lease_drop(m->lease_fd);
		m->lease_fd = -1;
		return;
	}
	atomic_fetch_add_explicit(&cache->leases, 1, memory_order_relaxed);
	atomic_store(&m->checked, false);
}

struct snapshot_map *
map_cache_find(struct map_cache *cache, const struct stat *st)
{
	struct snapshot_map *found;

	pthread_mutex_lock(&cache->lock);
	found = lookup_locked(cache, st);
	pthread_mutex_unlock(&cache->lock);
	if (found)
		STAT_ADD(cache->stats, map_hits, 1);
	return found;
}

int
map_cache_acquire(struct map_cache *cache, int fd, const struct stat *st, struct snapshot_map **out,
		  int *os_errno)
{
	struct snapshot_map *fresh, *found;
	int ret;

	*os_errno = 0;
	found = map_cache_find(cache, st);
	if (found) {
		*out = found;
		return HEXZ_OK;
	}

	/* Map outside the lock; another thread may race us to the same file. */
	STAT_ADD(cache->stats, map_misses, 1);
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh)
		return HEXZ_ERR_NO_MEMORY;
	ret = hexz_mmap_open_fd(fd, &fresh->storage, os_errno);
	if (ret != HEXZ_OK) {
		free(fresh);
		return ret;
	}
	fresh->dev = st->st_dev;
	fresh->ino = st->st_ino;
	fresh->size = st->st_size;
	fresh->mtime = st->st_mtim;
	fresh->ctime = st->st_ctim;
	fresh->refs = 1;
	fresh->lease_fd = -1;
	atomic_init(&fresh->checked, true);
	lease_fresh(cache, fresh, fd);

	pthread_mutex_lock(&cache->lock);
	found = lookup_locked(cache, st);
	if (!found) {
		size_t b = bucket_of(st->st_dev, st->st_ino);

		fresh->hash_next = cache->buckets[b];
		cache->buckets[b] = fresh;
		cache->total++;
		lease_publish_locked(cache, fresh);
	}
	pthread_mutex_unlock(&cache->lock);

	if (found) {
		if (fresh->lease_fd >= 0)
			lease_drop(fresh->lease_fd);
		hexz_storage_close(fresh->storage);
		free(fresh);
		fresh = found;
	}
	*out = fresh;
	return HEXZ_OK;
}

void
map_cache_get(struct map_cache *cache, struct snapshot_map *map)
{
	pthread_mutex_lock(&cache->lock);
	map->refs++;
	pthread_mutex_unlock(&cache->lock);
}

void
map_cache_release(struct map_cache *cache, struct snapshot_map *map, bool keep)
{
	struct snapshot_map *evicted = NULL;

	pthread_mutex_lock(&cache->lock);
	if (--map->refs == 0 && keep) {
		lru_push_front(cache, map);
		evicted = evict_locked(cache);
	} else if (map->refs == 0) {
		hash_remove(cache, map);
		map->hash_next = NULL;
		evicted = map;
	}
	pthread_mutex_unlock(&cache->lock);
	destroy_list(evicted);
}

/* 1 if the file behind idle mapping `m` still has a name, 0 if not, -1 if we cannot tell. */
static int
still_linked(const struct snapshot_map *m)
{
	uint64_t len = hexz_storage_len(m->storage);
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	const void *data;
	char path[80];
	struct stat st;
	uintptr_t start;

	/* An empty snapshot has no mapping, and pins no disk space. */
	if (len == 0 || hexz_storage_view(m->storage, 0, 0, &data) != HEXZ_OK || !data)
		return 1;
	start = (uintptr_t)data;
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)start,
		 (unsigned long)(start + (((uintptr_t)len + page - 1) & ~(page - 1))));
	if (stat(path, &st) != 0)
		return errno == EPERM || errno == EACCES ? -1 : 1;
	return st.st_nlink > 0;
}

void
map_cache_sweep(struct map_cache *cache)
{
	struct snapshot_map *evicted = NULL, *m, *older;
	unsigned int checked = 0;

	pthread_mutex_lock(&cache->lock);
	for (m = cache->lru_tail; m && !cache->sweep_off && checked < SWEEP_BATCH; m = older) {
		older = m->lru_prev;
		if (m->swept == cache->sweep_round)
			continue;
		m->swept = cache->sweep_round;
		checked++;
		switch (still_linked(m)) {
		case 0:
			lru_remove(cache, m);
			hash_remove(cache, m);
			m->hash_next = evicted;
			evicted = m;
			STAT_ADD(cache->stats, map_evictions, 1);
			break;
		case -1:
			cache->sweep_off = true;
			break;
		}
	}
	/* Every idle mapping has been looked at: start the next round. */
	if (checked < SWEEP_BATCH)
		cache->sweep_round++;
	pthread_mutex_unlock(&cache->lock);
	destroy_list(evicted);
}

unsigned long
map_cache_count(struct map_cache *cache)
{
	unsigned long total;

	pthread_mutex_lock(&cache->lock);
	total = cache->total;
	pthread_mutex_unlock(&cache->lock);
	return total;
}
