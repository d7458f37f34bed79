/* SPDX-License-Identifier: MIT */
/*
 * One stored block, as the index describes it, and the function that turns
 * its stored bytes into decompressed ones. Shared by the archive reader
 * (which finds blocks) and the block cache (which keeps their results).
 */
#ifndef HEXZ_CORE_ARCHIVE_BLOCK_H
#define HEXZ_CORE_ARCHIVE_BLOCK_H

#include <stdint.h>

#include <hexz/archive.h>

/* A data block stored in one archive: everything needed to decode it. */
struct block_desc {
	uint64_t number;        /* global block number in the archive that stores it */
	uint64_t logical_start; /* where the block starts in its stream */
	uint64_t offset;        /* where its stored bytes start in the file */
	uint32_t length;      /* stored bytes (compressed, plus the tag when encrypted) */
	uint32_t logical_len; /* decompressed bytes; 1 .. HEXZ_MAX_BLOCK_LEN */
	uint32_t checksum;    /* CRC-32 of the stored bytes */
	uint8_t stream;       /* enum hexz_stream, for messages */
};

/* The largest logical_len this reader accepts (FORMAT.md, reader policy). */
#define HEXZ_MAX_BLOCK_LEN (16u << 20)

/*
 * Decode block `d` of archive `source` into `dst` (exactly d->logical_len
 * bytes): read the stored bytes, check the CRC, decrypt, decompress.
 * 0 or a negative hexz_status, with `err` (may be NULL) filled on failure.
 * Called by the cache, from any thread, without locks held.
 */
typedef int (*block_fill_fn)(void *source, const struct block_desc *d, void *dst,
			     struct hexz_error *err);

#endif /* HEXZ_CORE_ARCHIVE_BLOCK_H */
