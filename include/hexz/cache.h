/* SPDX-License-Identifier: MIT */
/*
 * The decompressed-block cache, shared by any number of archives.
 *
 * Decompressing is the expensive part of reading an archive, so the blocks
 * an archive decompresses are kept in a cache with a budget in bytes, least
 * recently used out first. One cache may serve many archives at once (a
 * mount shares one across a whole directory): entries are keyed by the
 * archive version that produced them and the block's number in it.
 *
 * Lifetime
 * --------
 * Blocks are reference-counted. A reader that borrows a block (see
 * hexz_archive_pin()) holds a reference until it releases it; eviction
 * drops the cache's own reference only, so a block is never freed under a
 * reader. Blocks held by readers count against the budget, so the cache
 * can exceed its budget by what readers hold at that moment.
 *
 * Memory
 * ------
 * Each block counts as its decompressed length plus 128 bytes of
 * bookkeeping (its charge). The cache is split into S shards, S the
 * largest power of two up to 64 that leaves every shard at least 4 MiB of
 * the budget (S = 1 below 8 MiB); a shard keeps within its share of the
 * budget, but never evicts its last block. With L the largest charge of a
 * block and P the charge of the blocks readers hold, stats.bytes (every
 * block allocated and not yet freed) is at most
 *
 *     max(budget, S * L) + P
 *
 * whenever no call on the cache is running; while calls run, add one block
 * (at most L) per decompression in flight (a thread decompresses one block
 * at a time, and one more per parent archive that block reads through).
 * For blocks of up to 4 MiB (the default block is 64 KiB) and a budget of
 * at least 4 MiB, S * L <= budget: the cache then holds at most
 * budget + P + the blocks being decompressed. Beyond stats.bytes, the
 * memory of freed blocks is kept for reuse, up to 8 MiB (a block
 * decompressed into fresh memory pays a page fault per page).
 *
 * The archives read their files through memory mappings (the mmap storage
 * backend), and a page a read touched stays mapped, counting in the
 * process's resident set (VmRSS) as the kernel's shared page cache, until
 * it is let go. The archives of one cache share a budget of 16 MiB for
 * them: each read of an archive's file charges the bytes it may have
 * mapped (its range rounded out to the kernel's 64 KiB fault-around
 * windows), and every 16 MiB charged, the storages of the archives read
 * since are trimmed (hexz_storage_trim(): one madvise() each; stats.trims
 * counts these rounds). So however an archive is read, its mapped pages
 * stay near 16 MiB plus what the reads running touch.
 *
 * Concurrency
 * -----------
 * The cache is split into shards, each with its own lock, LRU list and a
 * share of the budget; lookups of different blocks rarely meet on a lock,
 * and no lock is held while a block is decompressed. Two readers that miss
 * on the same block at once decompress it once: the second waits for the
 * first and then shares its result (or its error).
 *
 * Workers
 * -------
 * A cache may own a pool of worker threads. Archives that use the cache
 * then decompress the several blocks of one read in parallel, and may
 * decompress blocks ahead of a sequential reader (hexz_archive_prefetch()).
 * A cache without workers does everything on the calling thread.
 */
#ifndef HEXZ_CACHE_H
#define HEXZ_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <hexz/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hexz_cache;

/** Counters of a cache, a snapshot taken by hexz_cache_get_stats(). */
struct hexz_cache_stats {
	uint64_t hits;          /* lookups answered from the cache */
	uint64_t misses;        /* lookups that decompressed the block */
	uint64_t waits;         /* lookups that waited for another reader's decompression */
	uint64_t evictions;     /* blocks dropped to keep within the budget */
	uint64_t failures;      /* decompressions that failed (checksum, codec, I/O) */
	uint64_t bytes;         /* bytes of decompressed data held now */
	uint64_t blocks;        /* blocks held now */
	uint64_t budget;        /* the budget given at creation */
	uint64_t prefetches;    /* blocks decompressed ahead of a reader */
	uint64_t cancelled;     /* read-ahead jobs dropped unrun: the reader decompressed the block first */
	uint64_t trims;         /* times the archives' mapped file pages were let go (see Memory) */
};

/**
 * hexz_cache_create() - make a cache of decompressed blocks.
 * @budget:  bytes of decompressed data to keep; at least 1 MiB is sensible,
 *           smaller budgets work but keep few blocks.
 * @workers: decompression threads to start, 0 for none (all work is then
 *           done by the callers' threads); at most 256 are started. They
 *           block every signal, are named "hexz-worker" and run under
 *           SCHED_BATCH (a fair share of the CPU, no wakeup preemption).
 * @out:     receives the cache; NULL on failure.
 *
 * Ownership: the caller owns *@out and destroys it with hexz_cache_destroy()
 * after every archive using it is closed.
 * Thread safety: every other call on the cache is safe from any thread.
 *
 * Return: HEXZ_OK, or
 *  HEXZ_ERR_INVALID_ARGUMENT  @out is NULL or @budget is 0;
 *  HEXZ_ERR_NO_MEMORY         no memory;
 *  HEXZ_ERR_SYSTEM            a worker thread could not be started.
 */
HEXZ_EXPORT int hexz_cache_create(uint64_t budget, unsigned int workers, struct hexz_cache **out);

/**
 * hexz_cache_get_stats() - read the cache's counters.
 * @cache: the cache.
 * @out:   receives the counters.
 *
 * Thread safety: safe concurrently with any use of the cache; the counters
 * are read one by one, not as one atomic snapshot.
 */
HEXZ_EXPORT void hexz_cache_get_stats(const struct hexz_cache *cache, struct hexz_cache_stats *out);

/**
 * hexz_cache_destroy() - stop the workers and free every block.
 * @cache: the cache, or NULL (then nothing happens).
 *
 * Every archive opened with this cache must have been closed before, and
 * every pinned block released.
 */
HEXZ_EXPORT void hexz_cache_destroy(struct hexz_cache *cache);

#ifdef __cplusplus
}
#endif

#endif /* HEXZ_CACHE_H */
