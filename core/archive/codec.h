/* SPDX-License-Identifier: MIT */
/*
 * Block decompression, one function per codec behind a table: the rest of
 * the archive reader never names LZ4 or zstd.
 */
#ifndef HEXZ_CORE_ARCHIVE_CODEC_H
#define HEXZ_CORE_ARCHIVE_CODEC_H

#include <stddef.h>

#include <hexz/archive.h>

struct codec_ops;

/* The decompressor of one archive: its codec and, for zstd, its dictionary. */
struct decompressor {
	const struct codec_ops *ops;
	void *dictionary; /* codec-owned prepared dictionary, or NULL */
};

/*
 * Prepare the decompressor for `compression`, with a dictionary (`dict`,
 * `dict_len`; NULL/0 for none; only zstd has them). The dictionary bytes are
 * copied or digested: they need not outlive the call.
 * 0, HEXZ_ERR_CORRUPT_HEADER (unknown compression, a dictionary for LZ4, or
 * one zstd cannot load) or HEXZ_ERR_NO_MEMORY.
 */
int decompressor_init(struct decompressor *d, enum hexz_compression compression,
		      const void *dict, size_t dict_len);

/*
 * Decompress one stored block `src` (`src_len` bytes, after decryption)
 * into `dst`, which has room for exactly `logical_len` bytes. Never writes
 * past dst + logical_len. Succeeds only if the result is exactly
 * `logical_len` bytes (for LZ4 the size prefix must say so too).
 * 0 or HEXZ_ERR_DECOMPRESS (or HEXZ_ERR_NO_MEMORY). Thread safe: any number
 * of threads may decompress with one decompressor at once.
 */
int decompressor_run(const struct decompressor *d, const void *src, size_t src_len, void *dst,
		     size_t logical_len);

/* Release what decompressor_init() prepared; a zeroed struct is fine. */
void decompressor_fini(struct decompressor *d);

#endif /* HEXZ_CORE_ARCHIVE_CODEC_H */
