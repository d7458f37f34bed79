/* SPDX-License-Identifier: MIT */
/*
 * The block cache's interface to the archive reader (the public half is in
 * include/hexz/cache.h). Keys are (owner, block number): an owner is one
 * opened archive version, numbered by cache_new_owner(). struct
 * hexz_block_ref is one reference to a cached, fully decoded block.
 * The memory bound (budget, shards, pinned blocks, decodes in flight) is
 * stated in hexz/cache.h and derived in block_cache.c.
 */
#ifndef HEXZ_CORE_ARCHIVE_BLOCK_CACHE_H
#define HEXZ_CORE_ARCHIVE_BLOCK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <hexz/cache.h>

#include "block.h"

/* One block a read needs: the key, how to make it, and the result. */
struct cache_request {
	uint64_t owner;             /* in: from cache_new_owner() */
	struct block_desc desc;     /* in: desc.number is the key's block */
	block_fill_fn fill;         /* in: decodes the block on a miss */
	void *source;               /* in: passed to fill */
	struct hexz_block_ref *ref; /* out: a reference, on success */
};

struct resident_budget;

/*
 * The budget of mapped file pages the storages of the cache's archives
 * share (storage/resident.h): what random reads leave mapped stays within
 * it, whatever the cache's own budget.
 */
struct resident_budget *cache_resident(struct hexz_cache *cache);

/* A fresh owner number, never handed out before by this cache. */
uint64_t cache_new_owner(struct hexz_cache *cache);

/*
 * Get every block of reqs[0..n): hits at once, misses decoded once each
 * (by the workers in parallel, the calling thread helping, when the cache
 * has workers; else in turn on the calling thread). A miss that another
 * thread is already decoding is waited for, not decoded again.
 * All or nothing: on success every reqs[i].ref holds a reference; on failure
 * none does, the first failing request's status is returned and `err` (may
 * be NULL) holds its message. No lock is held while fill runs.
 */
int cache_fetch(struct hexz_cache *cache, struct cache_request *reqs, size_t n,
		struct hexz_error *err);

/*
 * Queue blocks for the workers to decode into the cache, best effort:
 * requests that are cached or in flight are skipped, and nothing is queued
 * when the cache has no workers or its queue is full. Returns at once.
 * `source` must stay valid until cache_forget_owner() for the owner.
 */
void cache_prefetch(struct hexz_cache *cache, const struct cache_request *reqs, size_t n);

/*
 * Drop every block of `owner` that no reader holds, and wait until no
 * queued or running job of it remains. After this the owner's source may
 * be freed. References readers still hold stay valid until released.
 */
void cache_forget_owner(struct hexz_cache *cache, uint64_t owner);

/* The decoded bytes of a referenced block, and their length. */
const void *block_ref_data(const struct hexz_block_ref *ref);
size_t block_ref_len(const struct hexz_block_ref *ref);

/* Take another reference / release one (NULL is ignored). */
void block_ref_get(struct hexz_block_ref *ref);
void block_ref_put(struct hexz_block_ref *ref);

/*
 * Release a reference to a block its reader has consumed and will not read
 * again: the block also leaves the cache at once, unless someone else
 * holds it, and its memory goes to the next block decoded.
 */
void block_ref_put_consumed(struct hexz_block_ref *ref);

/* Whether the cache has workers (then prefetch is worth computing). */
unsigned int cache_worker_count(const struct hexz_cache *cache);

#endif /* HEXZ_CORE_ARCHIVE_BLOCK_CACHE_H */
