/* SPDX-License-Identifier: MIT */
/* Decoding and checking the archive header (FORMAT.md section 3). */
#include "header.h"

#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "error_set.h"

static const unsigned char magic[4] = { 'H', 'E', 'X', 'Z' };

/* Smallest encoding of a String: its u64 length. */
#define MIN_STRING_BYTES 8

static int
corrupt(struct hexz_error *err, const char *where, const char *what)
{
	return error_set(err, HEXZ_ERR_CORRUPT_HEADER, "%s: corrupt header: %s", where, what);
}

static int
take_parent_paths(struct cursor *c, struct archive_header *h)
{
	uint64_t n = take_count(c, MIN_STRING_BYTES);
	size_t i;

	if (c->failed)
		return HEXZ_ERR_CORRUPT_HEADER;
	if (n == 0)
		return HEXZ_OK;
	h->parent_paths = calloc((size_t)n, sizeof(*h->parent_paths));
	if (!h->parent_paths)
		return HEXZ_ERR_NO_MEMORY;
	h->parent_count = (size_t)n;
	for (i = 0; i < h->parent_count; i++) {
		uint64_t len = take_count(c, 1);
		const unsigned char *s = take_bytes(c, (size_t)len);

		/* A path with a NUL cannot be opened: it would name another file. */
		if (!s || len == 0 || memchr(s, '\0', (size_t)len))
			return HEXZ_ERR_CORRUPT_HEADER;
		h->parent_paths[i] = strndup((const char *)s, (size_t)len);
		if (!h->parent_paths[i])
			return HEXZ_ERR_NO_MEMORY;
	}
	return HEXZ_OK;
}

/* Option<u64> offset then Option<u32> length: both or neither. */
static bool
take_range(struct cursor *c, struct byte_range *r)
{
	bool has_offset = take_option(c);

	if (has_offset)
		r->offset = take_u64(c);
	r->present = take_option(c);
	if (r->present)
		r->length = take_u32(c);
	return !c->failed && has_offset == r->present;
}

static bool
range_inside(const struct byte_range *r, uint64_t lo, uint64_t hi)
{
	return !r->present || (r->offset >= lo && r->offset <= hi && r->length <= hi - r->offset);
}

static int
check_fields(const struct archive_header *h, uint64_t file_size, const char *where,
	     struct hexz_error *err)
{
	if (h->index_offset < HEADER_SIZE || h->index_offset >= file_size)
		return corrupt(err, where, "the index offset lies outside the file");
	if (!range_inside(&h->dictionary, HEADER_SIZE, h->index_offset))
		return corrupt(err, where, "the dictionary lies outside the data area");
	if (h->dictionary.present && h->dictionary.length == 0)
		return corrupt(err, where, "the dictionary is empty");
	if (h->dictionary.present && h->dictionary.length > HEADER_MAX_DICTIONARY)
		return error_set(err, HEXZ_ERR_LIMIT, "%s: the dictionary (%u bytes) exceeds %u bytes",
				 where, h->dictionary.length, HEADER_MAX_DICTIONARY);
	if (!range_inside(&h->metadata, HEADER_SIZE, file_size))
		return corrupt(err, where, "the metadata lies outside the file");
	if (!range_inside(&h->signature, HEADER_SIZE, file_size))
		return corrupt(err, where, "the signature lies outside the file");
	if (h->compression != HEXZ_COMPRESSION_LZ4 && h->compression != HEXZ_COMPRESSION_ZSTD)
		return corrupt(err, where, "unknown compression");
	if (h->encrypted && (h->iterations == 0 || h->iterations > CRYPTO_MAX_ITERATIONS))
		return error_set(err, HEXZ_ERR_LIMIT,
				 "%s: %u PBKDF2 iterations: this reader accepts 1 to %u", where,
				 h->iterations, CRYPTO_MAX_ITERATIONS);
	return HEXZ_OK;
}

int
header_decode(const unsigned char *bytes, size_t len, uint64_t file_size, const char *where,
	      struct archive_header *out, struct hexz_error *err)
{
	struct cursor c = cursor_init(bytes, len);
	const unsigned char *m = take_bytes(&c, sizeof(magic));
	int ret;

	memset(out, 0, sizeof(*out));
	if (!m || memcmp(m, magic, sizeof(magic)) != 0)
		return error_set(err, HEXZ_ERR_NOT_ARCHIVE, "%s: not a hexz archive (no HEXZ magic)",
				 where);
	out->version = take_u32(&c);
	if (c.failed)
		return corrupt(err, where, "the file ends inside the header");
	if (out->version != 1)
		return error_set(err, HEXZ_ERR_BAD_VERSION,
				 "%s: format version %u is not supported (only 1)", where,
				 out->version);
	out->block_size = take_u32(&c);
	out->index_offset = take_u64(&c);
	ret = take_parent_paths(&c, out);
	if (ret == HEXZ_ERR_NO_MEMORY) {
		error_plain(err, ret);
		goto fail;
	}
	if (ret != HEXZ_OK) {
		corrupt(err, where, "invalid parent paths");
		goto fail;
	}
	if (!take_range(&c, &out->dictionary) || !take_range(&c, &out->metadata) ||
	    !take_range(&c, &out->signature)) {
		ret = corrupt(err, where, "invalid optional section fields");
		goto fail;
	}
	out->encrypted = take_option(&c);
	if (out->encrypted) {
		const unsigned char *salt = take_bytes(&c, CRYPTO_SALT_LEN);

		if (salt)
			memcpy(out->salt, salt, CRYPTO_SALT_LEN);
		out->iterations = take_u32(&c);
	}
	out->compression = (enum hexz_compression)take_u32(&c);
	out->has_main = take_bool(&c);
	out->has_auxiliary = take_bool(&c);
	out->variable_blocks = take_bool(&c);
	/* cdc_params: the writer's chunking parameters; only their encoding matters. */
	if (take_option(&c)) {
		take_u32(&c);
		take_u32(&c);
		take_u32(&c);
	}
	if (c.failed) {
		ret = corrupt(err, where, "invalid or truncated fields");
		goto fail;
	}
	ret = check_fields(out, file_size, where, err);
	if (ret)
		goto fail;
	return HEXZ_OK;

fail:
	header_free(out);
	return ret;
}

void
header_free(struct archive_header *h)
{
	size_t i;

	for (i = 0; i < h->parent_count; i++)
		free(h->parent_paths[i]);
	free(h->parent_paths);
	h->parent_paths = NULL;
	h->parent_count = 0;
}
