/* SPDX-License-Identifier: MIT */
/*
 * The mapping cache: one libhexz mapping per source file version.
 *
 * A version is (dev, ino, size, mtime, ctime): a file rewritten in place
 * gets a new mapping, while every open of an unchanged file shares one.
 * Open handles hold a reference; reads use the mapping through the handle
 * and never touch the cache, so the read path takes no lock. Mappings whose
 * last handle closed stay cached, least recently used first out, up to a
 * bound, so that reopening a file costs no mmap().
 *
 * Leases (raw view, map_cache_enable_leases()). A snapshot truncated in
 * place under its mapping would have reads answered with the zeros the
 * truncation leaves; the read path guards against it by checking the
 * file's size before and after each reply (ops_file.c), two system calls
 * per request. A mapping of at least 1 MiB made while no one has the file
 * open for writing takes a read lease on it instead (lease.h), one descriptor per mapping:
 * until the lease breaks, no process can shrink the file, and reads of the
 * mapping skip the checks ("leased reads"). A breaking lease is handled by
 * the housekeeper (map_cache_leases_check()): it marks the mapping
 * checked, so that every read that starts after that checks the size,
 * waits until every leased read that started before has ended, and only
 * then lets go of the lease, which lets the writer go on. So a leased read
 * never overlaps a change of its file. Mappings that could not be leased,
 * and every mapping whose lease broke, stay checked for good.
 */
#ifndef HEXZFS_MAP_CACHE_H
#define HEXZFS_MAP_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <hexz/hexz.h>

#include "stats.h"

struct archive_version;

struct snapshot_map {
	struct hexz_storage *storage; /* immutable while referenced */
	/* Contents view: the archive opened on this mapping, set once (contents.h). */
	_Atomic(struct archive_version *) contents;
	bool opening; /* contents view: being opened; under the contents' open lock */
	/* The rest is the cache's bookkeeping, guarded by its lock. */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	unsigned long refs;
	unsigned int swept; /* the sweep round that last checked it */
	int lease_fd;	    /* the descriptor holding the lease, or -1 */
	/* False only while the lease holds: reads need no size check. */
	atomic_bool checked;
	struct snapshot_map *hash_next;
	struct snapshot_map *lru_prev, *lru_next; /* only while refs == 0 */
};

struct map_cache;

/* A cache keeping at most `idle_max` unreferenced mappings. */
struct map_cache *map_cache_new(unsigned int idle_max, struct hexzfs_stats *stats);
/*
 * Lease the files of mappings made from now on (see above), at most one
 * descriptor in four of RLIMIT_NOFILE. Only once something handles the
 * breaks (map_cache_leases_check()): a break nobody answers stalls the
 * writer for the kernel's lease-break-time.
 */
void map_cache_enable_leases(struct map_cache *cache);

/*
 * Start a read of `map`: -1 when it must check the file's size around the
 * reply, else a token for map_cache_read_end(), to be passed once the
 * reply has been copied (the mapping itself may be gone by then). No
 * lock, no system call.
 */
int map_cache_read_begin(struct map_cache *cache, const struct snapshot_map *map);
void map_cache_read_end(struct map_cache *cache, int token);

/*
 * A lease signal arrived for descriptor `fd`, or -1 for "maybe any" (the
 * signal queue overflowed): every mapping whose lease is breaking becomes
 * checked and lets go of its lease once no leased read is in flight.
 * Called by the housekeeper; waits for leased reads, never for a lock a
 * request holds.
 */
void map_cache_leases_check(struct map_cache *cache, int fd);

/* Mappings holding a lease right now, for the counters. */
unsigned long map_cache_leases(struct map_cache *cache);

/* Unmap everything; every reference must have been released. */
void map_cache_free(struct map_cache *cache);

/* A referenced mapping of version `st`, if one is cached; else NULL. */
struct snapshot_map *map_cache_find(struct map_cache *cache, const struct stat *st);

/*
 * A referenced mapping of the file open on `fd`, whose fstat() is `st`:
 * the cached one for that version, or a new one. Returns 0 or a negative
 * hexz_status (with *os_errno set as hexz_mmap_open_fd() does).
 */
int map_cache_acquire(struct map_cache *cache, int fd, const struct stat *st,
		      struct snapshot_map **out, int *os_errno);

/* Take another reference on a mapping the caller holds one on. */
void map_cache_get(struct map_cache *cache, struct snapshot_map *map);

/*
 * Drop a reference taken by map_cache_acquire(). When it was the last one,
 * the mapping stays cached if `keep`, else it is unmapped at once.
 */
void map_cache_release(struct map_cache *cache, struct snapshot_map *map, bool keep);

/* True when `st` describes the version `map` maps. */
bool map_cache_matches(const struct snapshot_map *map, const struct stat *st);

/*
 * Unmap idle mappings whose file was deleted or replaced after its last
 * close, which would otherwise pin a deleted snapshot's disk space until
 * evicted. Checks a bounded batch per call (call it periodically); the
 * file behind a mapping is found through /proc/self/map_files, which needs
 * CAP_SYS_ADMIN: without it the sweep turns itself off, and only the check
 * at each last close (map_cache_release's `keep`) remains.
 */
void map_cache_sweep(struct map_cache *cache);

/* Number of mappings alive (referenced or idle), for the counters. */
unsigned long map_cache_count(struct map_cache *cache);

#endif /* HEXZFS_MAP_CACHE_H */
