/* SPDX-License-Identifier: MIT */
/*
 * The persistent disk cache of remote chunks (-o cache_dir=), private to
 * libhexz: the tier below the memory chunk cache (chunk_cache.h). The
 * claimer of a missing chunk looks here before it fetches, and stores
 * what it fetched after publishing it, so chunks survive across mounts
 * and runs of hexz-inspect.
 *
 * Identity: a file's name is the SHA-256 of the object's key (its URL and
 * the version every GET pins: ETag, or Last-Modified), its length, the
 * chunk size and the chunk index, in hex. A replaced object has a new
 * ETag, so its old chunks are never looked up again; they age out.
 *
 * Integrity: a file is a 48-byte header (magic, data length, SHA-256 of
 * the data) then the data. It is written under a temporary name and
 * renamed into place, so a crash leaves no half chunk under a real name;
 * and it is checked on every load (length and digest), so a file damaged
 * on disk is deleted and refetched, never served. No fsync: a chunk lost
 * to a crash is only a miss.
 *
 * Budget: the bytes of the cache's files, at most `budget`; past it the
 * least recently used files are deleted. Use is the file's mtime, set on
 * each load, so the order survives restarts; the directory is scanned
 * once at open. Several processes may share a directory (renames are
 * atomic, loads check everything), each keeping its own budget.
 *
 * Permissions: the directory is created 0700 when missing, and refused
 * when it is not a directory owned by the caller's effective user, or
 * when its group or others have any access; files are created 0600.
 *
 * Thread safety: every function may be called from any thread; one mutex
 * guards the index and every rename and unlink of a cache file (so the
 * two agree), never reads or writes of one.
 */
#ifndef HEXZ_CORE_STORAGE_DISK_CACHE_H
#define HEXZ_CORE_STORAGE_DISK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hexz/archive.h>

struct disk_cache;

/* What identifies one chunk: see "Identity" above. */
struct disk_chunk_id {
	const char *object_key;
	uint64_t object_size;
	uint32_t chunk_size;
	uint64_t index;
};

struct disk_cache_stats {
	uint64_t hits;	       /* loads served from a file */
	uint64_t misses;       /* loads that found no file */
	uint64_t damaged;      /* files that failed their check: deleted, not served */
	uint64_t stores;       /* files written */
	uint64_t store_errors; /* writes that failed (no space, I/O error): nothing kept */
	uint64_t evictions;    /* files deleted for the budget */
	uint64_t bytes;	       /* bytes of the files now */
	uint64_t files;	       /* files now */
	uint64_t budget;       /* the budget in force */
};

/*
 * Open (creating it 0700 if missing) the cache directory `dir` with a
 * budget of `budget` bytes; 0: a tenth of the free space of its file
 * system now. Cleans up temporary files older than an hour (left by a
 * crash), then evicts down to the budget. Returns HEXZ_OK,
 * HEXZ_ERR_INVALID_ARGUMENT (not a directory, another owner, group or
 * others have access: the message says which, naming `dir`),
 * HEXZ_ERR_PERMISSION, HEXZ_ERR_NOT_FOUND (a missing parent),
 * HEXZ_ERR_NO_MEMORY or HEXZ_ERR_IO.
 */
int disk_cache_open(const char *dir, uint64_t budget, struct disk_cache **out,
		    struct hexz_error *err);

/* Close the directory and free the index (the files stay). NULL is a no-op. */
void disk_cache_close(struct disk_cache *dc);

/*
 * Fill dst[0, len) with chunk `id` if its file is there and intact: true.
 * False on any miss; a damaged file is deleted. dst may be written either way.
 */
bool disk_cache_load(struct disk_cache *dc, const struct disk_chunk_id *id, void *dst, size_t len);

/* Keep chunk `id` (len bytes at src), making room for it; failures are only counted. */
void disk_cache_store(struct disk_cache *dc, const struct disk_chunk_id *id, const void *src,
		      size_t len);

void disk_cache_get_stats(struct disk_cache *dc, struct disk_cache_stats *out);

#endif /* HEXZ_CORE_STORAGE_DISK_CACHE_H */
