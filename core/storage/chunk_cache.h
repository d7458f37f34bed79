/* SPDX-License-Identifier: MIT */
/*
 * The chunk cache of remote objects, private to libhexz.
 *
 * Remote objects are fetched in aligned chunks: chunk i of an object holds
 * bytes [i * chunk_size, (i + 1) * chunk_size) (the last one shorter). Why
 * 1 MiB by default (HEXZ_REMOTE_DEFAULT_CHUNK): a remote round trip costs
 * about a millisecond on a LAN and 5 to 50 ms to a cloud region, while
 * 1 MiB takes about 8 ms at 1 Gbit/s. Much smaller chunks would make
 * sequential reads pay a round trip per few blocks (and the archive
 * reader's header, master index and first index pages, a few KiB apart,
 * several requests); much larger ones make a random 4 KiB read of a mount
 * wait for megabytes and fill the budget with bytes nobody asked for. At
 * 1 MiB the time on the wire is of the order of the round trip, and the
 * chunks of a large read go out in parallel over max_connections.
 *
 * One cache is shared by all objects of a struct hexz_remote, with one
 * byte budget. A chunk is keyed by (object key, chunk index), the object
 * key being its URL and its version (ETag), so a replaced object never
 * meets the chunks of its old version. Chunks are refcounted: a reader
 * takes a reference, copies out without any lock, and releases it; only
 * unreferenced chunks are evicted, least recently used first.
 *
 * A missing chunk is claimed by the first reader that asks for it: it
 * gets the chunk in the FETCHING state with a buffer to fill, and every
 * other reader of that chunk waits for it (one request per chunk, however
 * many readers). The claimer then publishes it (READY) or abandons it with
 * a status, which the waiters return; an abandoned chunk leaves the table
 * at once, so the next reader fetches it again.
 *
 * The tiers around it need nothing more of it: the persistent disk tier
 * (disk_cache.h) sits at the claim (the claimer looks on disk before
 * fetching, and writes what it fetched after publishing), and read-ahead
 * (remote_object.c) is a claimer that nobody waits for yet.
 *
 * Thread safety: every function may be called from any thread; one mutex
 * guards the table, held only for lookups and list moves, never while
 * fetching or copying.
 */
#ifndef HEXZ_CORE_STORAGE_CHUNK_CACHE_H
#define HEXZ_CORE_STORAGE_CHUNK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct chunk_cache;
struct chunk;

struct chunk_cache_stats {
	uint64_t hits;	    /* acquired READY */
	uint64_t misses;    /* claimed: the caller fetched */
	uint64_t waits;	    /* acquired while another reader fetched it */
	uint64_t evictions; /* chunks dropped for the budget */
	uint64_t bytes;	    /* bytes held now (fetching ones included) */
	uint64_t chunks;    /* chunks held now */
};

/* A cache of at most `budget` bytes of unreferenced chunks; NULL without memory. */
struct chunk_cache *chunk_cache_create(uint64_t budget);

/* Free the cache; every reference must have been released. NULL is a no-op. */
void chunk_cache_destroy(struct chunk_cache *c);

/*
 * Chunk `index` of the object `key`, `len` bytes long, referenced, in *out.
 * *claimed is true when the caller must fill chunk_data() and then call
 * chunk_cache_publish() or chunk_cache_abandon(); false when the chunk is
 * READY or being fetched by another reader (then chunk_cache_wait()).
 * Returns 0 or HEXZ_ERR_NO_MEMORY.
 */
int chunk_cache_acquire(struct chunk_cache *c, const char *key, uint64_t index, size_t len,
			struct chunk **out, bool *claimed);

/* The chunk's bytes: to fill (claimed) or to copy out of (after chunk_cache_wait() is 0). */
unsigned char *chunk_data(struct chunk *ch);
size_t chunk_len(const struct chunk *ch);

/* The claimer's chunk is filled: wake its waiters. */
void chunk_cache_publish(struct chunk_cache *c, struct chunk *ch);

/* The claimer's fetch failed with `status` (negative): waiters return it. */
void chunk_cache_abandon(struct chunk_cache *c, struct chunk *ch, int status);

/* Until the chunk is READY (0) or abandoned (its status). */
int chunk_cache_wait(struct chunk_cache *c, struct chunk *ch);

/* Drop a reference (the claimer's too, after publish or abandon). */
void chunk_cache_release(struct chunk_cache *c, struct chunk *ch);

void chunk_cache_get_stats(struct chunk_cache *c, struct chunk_cache_stats *out);

#endif /* HEXZ_CORE_STORAGE_CHUNK_CACHE_H */
