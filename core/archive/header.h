/* SPDX-License-Identifier: MIT */
/* The archive header (FORMAT.md section 3), decoded and checked. */
#ifndef HEXZ_CORE_ARCHIVE_HEADER_H
#define HEXZ_CORE_ARCHIVE_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hexz/archive.h>

#include "crypto.h"

/* Bytes the header occupies on disk; data starts after it. */
#define HEADER_SIZE 4096u
/* The largest zstd dictionary accepted (hexz writes about 110 KiB). */
#define HEADER_MAX_DICTIONARY (16u << 20)

struct byte_range {
	bool present;
	uint64_t offset;
	uint32_t length;
};

struct archive_header {
	uint32_t version;
	uint32_t block_size;
	uint64_t index_offset;
	size_t parent_count;
	char **parent_paths; /* parent_count NUL-terminated strings */
	struct byte_range dictionary;
	struct byte_range metadata;
	struct byte_range signature;
	bool encrypted;
	unsigned char salt[CRYPTO_SALT_LEN];
	uint32_t iterations;
	enum hexz_compression compression;
	bool has_main;
	bool has_auxiliary;
	bool variable_blocks;
};

/*
 * Decode the header from the first `len` bytes of an archive of
 * `file_size` bytes (len = min(file_size, HEADER_SIZE)) and check every
 * field against the file: the magic (HEXZ_ERR_NOT_ARCHIVE), the version
 * (HEXZ_ERR_BAD_VERSION), then encodings, index_offset, and the ranges of
 * the dictionary, metadata and signature (HEXZ_ERR_CORRUPT_HEADER), and
 * sizes beyond this reader's limits (HEXZ_ERR_LIMIT). `where` names the
 * archive in messages. On failure `out` holds nothing to free.
 */
int header_decode(const unsigned char *bytes, size_t len, uint64_t file_size, const char *where,
		  struct archive_header *out, struct hexz_error *err);

void header_free(struct archive_header *h);

#endif /* HEXZ_CORE_ARCHIVE_HEADER_H */
