/* SPDX-License-Identifier: MIT */
/* struct hexz_archive, shared by the files of the archive reader. */
#ifndef HEXZ_CORE_ARCHIVE_ARCHIVE_INTERNAL_H
#define HEXZ_CORE_ARCHIVE_ARCHIVE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <hexz/archive.h>

#include "codec.h"
#include "crypto.h"
#include "header.h"
#include "index.h"
#include "manifest.h"

struct parent_map;

struct hexz_archive {
	struct hexz_storage *storage;
	bool borrows_storage; /* the caller closes the storage, not the archive */
	char *location;
	uint64_t dev;
	uint64_t ino;
	struct archive_header header;
	struct archive_index index;
	struct decompressor decompressor;
	bool has_key;
	struct archive_key key;
	struct manifest manifest;

	struct hexz_cache *cache;
	bool owns_cache;
	bool budgets_storage; /* storage joined the cache's budget of mapped pages */
	uint64_t owner; /* this archive's key space in the cache */

	/* Thin archives: the parents in header order, each an open archive. */
	struct hexz_archive **parents;
	size_t parent_count;
	/* Hashes of every block stored in the parent chain, built on first need. */
	pthread_mutex_t parent_map_lock;
	struct parent_map *parent_map;
};

/* Decode a data block of `source` (a struct hexz_archive); a block_fill_fn. */
int archive_fill_block(void *source, const struct block_desc *d, void *dst,
		       struct hexz_error *err);

/*
 * Where the bytes of parent-reference block `b` of `ar` come from: a block
 * stored in the chain with the same hash (*owner_ar and *desc set to it),
 * else by position in the first parent (*owner_ar = ar, desc = b's own, to
 * be filled by archive_fill_block() through the first parent).
 * HEXZ_ERR_PARENT_BLOCK_MISSING when neither exists.
 */
int parents_resolve(struct hexz_archive *ar, const struct located_block *b,
		    struct hexz_archive **owner_ar, struct block_desc *desc,
		    struct hexz_error *err);

/* Open the parents named in ar->header; `chain` holds the identities above ar. */
struct chain_link {
	const struct chain_link *child;
	uint64_t dev;
	uint64_t ino;
	unsigned int *opened; /* archives opened for the whole chain so far */
};

/*
 * The most archives one open may pull in, counting every parent of every
 * parent: without it, parents named many times over (a diamond at every
 * level) would open exponentially many archives within the depth limit.
 */
#define HEXZ_MAX_CHAIN_ARCHIVES 64
int parents_open(struct hexz_archive *ar, const struct hexz_archive_options *opts,
		 const struct chain_link *self, unsigned int depth, struct hexz_error *err);
void parents_close(struct hexz_archive *ar);

/* Open an archive as a member of a parent chain (depth 0: the archive asked for). */
int archive_open_in_chain(struct hexz_storage *storage, const struct hexz_archive_options *opts,
			  const struct chain_link *child, unsigned int depth,
			  struct hexz_archive **out, struct hexz_error *err);

#endif /* HEXZ_CORE_ARCHIVE_ARCHIVE_INTERNAL_H */
