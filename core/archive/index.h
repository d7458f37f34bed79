/* SPDX-License-Identifier: MIT */
/*
 * The block index (FORMAT.md section 4): the master index, held whole, and
 * the index pages, read lazily and kept in a small per-archive cache, so
 * that the index of a huge archive is never loaded whole. Each page is
 * checked against its neighbours in the master index the first time it is
 * read; a bad page fails the reads that need it, not the archive.
 */
#ifndef HEXZ_CORE_ARCHIVE_INDEX_H
#define HEXZ_CORE_ARCHIVE_INDEX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hexz/archive.h>

#include "block.h"

/* Offsets that mark the kinds of block without stored bytes. */
#define BLOCK_OFFSET_PARENT UINT64_MAX
#define BLOCK_HASH_LEN 32
/* Bytes of one BlockInfo and one PageEntry on disk. */
#define BLOCK_INFO_SIZE 52
#define PAGE_ENTRY_SIZE 28
/* Decoded pages kept per archive. */
#define INDEX_PAGE_SLOTS 8

enum block_kind {
	BLOCK_DATA,   /* stored in this archive */
	BLOCK_ZERO,   /* logical_len zero bytes */
	BLOCK_PARENT, /* stored in a parent archive */
};

/* A block as the index describes it, with what is needed to fetch it. */
struct located_block {
	enum block_kind kind;
	struct block_desc desc;  /* number, logical_start, logical_len always; the rest for data */
	uint64_t hash_offset;    /* file offset of the block's BLAKE3 hash */
};

struct page_entry {
	uint64_t offset;
	uint32_t length;
	uint64_t start_block;
	uint64_t start_logical;
	uint64_t count; /* entries in the page, derived from the neighbours */
};

struct stream_index {
	struct page_entry *pages;
	size_t page_count;
	uint64_t size;        /* decompressed bytes */
	uint64_t first_block; /* global number of the stream's first block */
	uint64_t block_count;
};

struct decoded_page;

struct archive_index {
	struct stream_index streams[2];
	const struct hexz_storage *storage;
	uint64_t data_end; /* index_offset: blocks and pages lie before it */
	const char *where;
	pthread_mutex_t lock; /* guards the page slots */
	struct decoded_page *slots[INDEX_PAGE_SLOTS];
	uint64_t clock;
};

/*
 * Read and check the master index at `index_offset` of `storage`, whose
 * header says which streams exist. HEXZ_ERR_CORRUPT_INDEX with the reason
 * in `err`, HEXZ_ERR_IO, HEXZ_ERR_NO_MEMORY.
 */
int index_open(struct archive_index *ix, const struct hexz_storage *storage,
	       uint64_t index_offset, bool has_main, bool has_auxiliary, const char *where,
	       struct hexz_error *err);

void index_close(struct archive_index *ix);

/*
 * The blocks holding [offset, offset + len) of `stream`, in order, at most
 * `max` of them (then they cover a prefix of the range); *n receives how
 * many. The range must lie inside the stream and len be > 0.
 */
int index_locate(struct archive_index *ix, enum hexz_stream stream, uint64_t offset, uint64_t len,
		 struct located_block *out, size_t max, size_t *n, struct hexz_error *err);

/* The block with global number `number`, in whichever stream holds it. */
int index_locate_number(struct archive_index *ix, uint64_t number, struct located_block *out,
			struct hexz_error *err);

/*
 * Call fn for every block of `stream` with its hash, page by page in order
 * (pages read for this walk are not kept). Stops at the first non-zero
 * return of fn, which it returns.
 */
typedef int (*index_walk_fn)(void *ctx, const struct located_block *b,
			     const unsigned char hash[BLOCK_HASH_LEN]);
int index_walk_blocks(struct archive_index *ix, enum hexz_stream stream, index_walk_fn fn,
			   void *ctx, struct hexz_error *err);

#endif /* HEXZ_CORE_ARCHIVE_INDEX_H */
