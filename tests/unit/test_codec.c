/* SPDX-License-Identifier: MIT */
/*
 * Block decompression (core/archive/codec.c): LZ4 blocks with their size
 * prefix and zstd frames, with and without a dictionary, against blocks
 * made here with the codecs' own compressors; every way a block can lie
 * about its size must fail without writing past the buffer.
 *
 * Worker threads never call check's assertions (they are not thread-safe):
 * each counts its failures and the main thread asserts after the join.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <zdict.h>
#include <zstd.h>

#include "archive/codec.h"
#include "testutil.h"

#define KIB 1024u
#define BLOCK (64 * KIB)
/* Bytes after the output buffer that must stay untouched. */
#define GUARD 64
#define GUARD_BYTE 0xA5

/* Text-like bytes: compressible, and with repeats a dictionary can help with. */
static void
fill_text(unsigned char *buf, size_t len, uint64_t seed)
{
	static const char *const words[] = { "snapshot ", "block ", "archive ", "index ",
					     "hexz ",	  "page ",  "stream ",	"\n" };
	size_t i = 0;

	while (i < len) {
		const char *w;
		size_t n;

		seed = seed * 6364136223846793005u + 1442695040888963407u;
		w = words[(seed >> 33) % 8];
		n = strlen(w);
		if (n > len - i)
			n = len - i;
		memcpy(buf + i, w, n);
		i += n;
		if (i < len && (seed >> 60) == 0)
			buf[i++] = (unsigned char)('0' + (seed >> 40) % 10);
	}
}

/* An output buffer of `len` bytes followed by a guard. */
static unsigned char *
guarded_alloc(size_t len)
{
	unsigned char *p = malloc(len + GUARD);

	ck_assert_ptr_nonnull(p);
	memset(p, 0, len);
	memset(p + len, GUARD_BYTE, GUARD);
	return p;
}

static void
assert_guard(const unsigned char *p, size_t len)
{
	ck_assert_msg(tu_all_bytes(p + len, GUARD, GUARD_BYTE), "wrote past the buffer");
}

/* A stored LZ4 block: u32 prefix `prefix`, then the raw block of data. */
static unsigned char *
lz4_block(const void *data, size_t len, uint32_t prefix, size_t *out_len)
{
	int cap = LZ4_compressBound((int)len);
	unsigned char *b = malloc(4 + (size_t)cap);
	int n;

	ck_assert_ptr_nonnull(b);
	b[0] = (unsigned char)prefix;
	b[1] = (unsigned char)(prefix >> 8);
	b[2] = (unsigned char)(prefix >> 16);
	b[3] = (unsigned char)(prefix >> 24);
	n = LZ4_compress_default(data, (char *)b + 4, (int)len, cap);
	ck_assert_int_gt(n, 0);
	*out_len = 4 + (size_t)n;
	return b;
}

/* A zstd frame of data, with or without content size, optionally with a dictionary. */
static unsigned char *
zstd_frame(const void *data, size_t len, int content_size, const void *dict, size_t dict_len,
	   size_t *out_len)
{
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	size_t cap = ZSTD_compressBound(len);
	unsigned char *b = malloc(cap);
	size_t n;

	ck_assert_ptr_nonnull(cctx);
	ck_assert_ptr_nonnull(b);
	ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3)));
	ck_assert(
		!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, content_size)));
	if (dict)
		ck_assert(!ZSTD_isError(ZSTD_CCtx_loadDictionary(cctx, dict, dict_len)));
	n = ZSTD_compress2(cctx, b, cap, data, len);
	ck_assert_msg(!ZSTD_isError(n), "%s", ZSTD_getErrorName(n));
	ZSTD_freeCCtx(cctx);
	*out_len = n;
	return b;
}

/* Decompress src into a guarded buffer of logical_len; check guard; return rc. */
static int
run_guarded(const struct decompressor *d, const void *src, size_t src_len, size_t logical_len,
	    const void *expect)
{
	unsigned char *out = guarded_alloc(logical_len);
	int rc = decompressor_run(d, src, src_len, out, logical_len);

	assert_guard(out, logical_len);
	if (rc == HEXZ_OK && expect)
		ck_assert_int_eq(memcmp(out, expect, logical_len), 0);
	free(out);
	return rc;
}

/* A zstd dictionary with the given ID, made from text samples. */
static unsigned char *
make_dictionary(unsigned dict_id, size_t *out_len)
{
	enum { SAMPLES = 64, SAMPLE = 2 * KIB, CONTENT = 8 * KIB, CAP = 16 * KIB };
	unsigned char *samples = malloc(SAMPLES * SAMPLE);
	unsigned char *content = malloc(CONTENT);
	unsigned char *dict = malloc(CAP);
	size_t sizes[SAMPLES];
	ZDICT_params_t params;
	size_t i, n;

	ck_assert_ptr_nonnull(samples);
	ck_assert_ptr_nonnull(content);
	ck_assert_ptr_nonnull(dict);
	for (i = 0; i < SAMPLES; i++) {
		fill_text(samples + i * SAMPLE, SAMPLE, 1000 + i);
		sizes[i] = SAMPLE;
	}
	fill_text(content, CONTENT, 7);
	memset(&params, 0, sizeof(params));
	params.compressionLevel = 3;
	params.dictID = dict_id;
	n = ZDICT_finalizeDictionary(dict, CAP, content, CONTENT, samples, sizes, SAMPLES, params);
	ck_assert_msg(!ZDICT_isError(n), "%s", ZDICT_getErrorName(n));
	ck_assert_uint_eq(ZSTD_getDictID_fromDict(dict, n), dict_id);
	free(samples);
	free(content);
	*out_len = n;
	return dict;
}

/* Init ------------------------------------------------------------------ */

START_TEST(test_init_errors)
{
	struct decompressor d;
	static const unsigned char some[8] = "abcdefg";

	ck_assert_int_eq(decompressor_init(&d, (enum hexz_compression)2, NULL, 0),
			 HEXZ_ERR_CORRUPT_HEADER);
	ck_assert_ptr_null(d.ops);
	ck_assert_int_eq(decompressor_init(&d, (enum hexz_compression) - 1, NULL, 0),
			 HEXZ_ERR_CORRUPT_HEADER);
	/* hexz has no LZ4 dictionaries. */
	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_LZ4, some, sizeof(some)),
			 HEXZ_ERR_CORRUPT_HEADER);
	ck_assert_ptr_null(d.ops);
	decompressor_fini(&d);
	/* A length without bytes. */
	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_ZSTD, NULL, 10),
			 HEXZ_ERR_CORRUPT_HEADER);
}
END_TEST

START_TEST(test_fini_zeroed)
{
	struct decompressor d;
	unsigned char out[4];

	memset(&d, 0, sizeof(d));
	decompressor_fini(&d);
	decompressor_fini(&d);
	/* Never initialised (or finished): refuses, does not crash. */
	ck_assert_int_eq(decompressor_run(&d, "abcd", 4, out, sizeof(out)), HEXZ_ERR_DECOMPRESS);
	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_ZSTD, NULL, 0), HEXZ_OK);
	decompressor_fini(&d);
	decompressor_fini(&d);
}
END_TEST

/* LZ4 ------------------------------------------------------------------- */

START_TEST(test_lz4_ok)
{
	static const size_t lens[] = { 1, 5, 4095, BLOCK, 1000000 };
	struct decompressor d;
	size_t i;

	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_LZ4, NULL, 0), HEXZ_OK);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned char *data = malloc(lens[i]);
		unsigned char *blk;
		size_t blen;

		ck_assert_ptr_nonnull(data);
		fill_text(data, lens[i], i);
		blk = lz4_block(data, lens[i], (uint32_t)lens[i], &blen);
		ck_assert_int_eq(run_guarded(&d, blk, blen, lens[i], data), HEXZ_OK);
		/* Incompressible bytes too. */
		tu_pattern_fill(data, i, lens[i]);
		free(blk);
		blk = lz4_block(data, lens[i], (uint32_t)lens[i], &blen);
		ck_assert_int_eq(run_guarded(&d, blk, blen, lens[i], data), HEXZ_OK);
		free(blk);
		free(data);
	}
	decompressor_fini(&d);
}
END_TEST

/* The example of FORMAT.md 5: "hello" as literals only. */
START_TEST(test_lz4_format_example)
{
	static const unsigned char stored[] = { 0x05, 0x00, 0x00, 0x00, 0x50,
						0x68, 0x65, 0x6c, 0x6c, 0x6f };
	struct decompressor d;

	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_LZ4, NULL, 0), HEXZ_OK);
	ck_assert_int_eq(run_guarded(&d, stored, sizeof(stored), 5, "hello"), HEXZ_OK);
	decompressor_fini(&d);
}
END_TEST

/* Shorter than the prefix. */
START_TEST(test_lz4_bad_prefix)
{
	static const unsigned char stored[] = { 0x05, 0x00, 0x00 };
	struct decompressor d;
	size_t n;

	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_LZ4, NULL, 0), HEXZ_OK);
	for (n = 0; n <= sizeof(stored); n++)
		ck_assert_int_eq(run_guarded(&d, stored, n, 5, NULL), HEXZ_ERR_DECOMPRESS);
	decompressor_fini(&d);
}
END_TEST

/* The prefix disagrees with logical_len, whatever the block holds. */
START_TEST(test_lz4_prefix_mismatch)
{
	struct decompressor d;
	unsigned char data[1000];
	unsigned char *blk;
	size_t blen;

	fill_text(data, sizeof(data), 3);
	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_LZ4, NULL, 0), HEXZ_OK);
	/* Block right, prefix wrong (both ways). */
	blk = lz4_block(data, sizeof(data), 999, &blen);
	ck_assert_int_eq(run_guarded(&d, blk, blen, 1000, NULL), HEXZ_ERR_DECOMPRESS);
	free(blk);
	blk = lz4_block(data, sizeof(data), 1001, &blen);
	ck_assert_int_eq(run_guarded(&d, blk, blen, 1000, NULL), HEXZ_ERR_DECOMPRESS);
	free(blk);
	/* Prefix and block agree, logical_len does not. */
	blk = lz4_block(data, sizeof(data), 1000, &blen);
	ck_assert_int_eq(run_guarded(&d, blk, blen, 999, NULL), HEXZ_ERR_DECOMPRESS);
	ck_assert_int_eq(run_guarded(&d, blk, blen, 1001, NULL), HEXZ_ERR_DECOMPRESS);
	ck_assert_int_eq(run_guarded(&d, blk, blen, 1000, data), HEXZ_OK);
	free(blk);
	decompressor_fini(&d);
}
END_TEST

START_TEST(test_lz4_truncated)
{
	struct decompressor d;
	unsigned char *data = malloc(BLOCK);
	unsigned char *blk;
	size_t blen, cut;

	ck_assert_ptr_nonnull(data);
	fill_text(data, BLOCK, 5);
	blk = lz4_block(data, BLOCK, BLOCK, &blen);
	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_LZ4, NULL, 0), HEXZ_OK);
	for (cut = 1; cut < blen - 4; cut += cut < 64 ? 1 : 97)
		ck_assert_int_eq(run_guarded(&d, blk, blen - cut, BLOCK, NULL),
				 HEXZ_ERR_DECOMPRESS);
	/* Extra bytes after the block are not part of it either. */
	blk = realloc(blk, blen + 1);
	ck_assert_ptr_nonnull(blk);
	blk[blen] = 0;
	ck_assert_int_eq(run_guarded(&d, blk, blen + 1, BLOCK, NULL), HEXZ_ERR_DECOMPRESS);
	free(blk);
	free(data);
	decompressor_fini(&d);
}
END_TEST

/*
 * The block decodes to fewer or more bytes than logical_len while the
 * prefix says logical_len: short fails, long fails without overflowing.
 */
START_TEST(test_lz4_output_short_long)
{
	struct decompressor d;
	unsigned char data[4096];
	unsigned char *blk;
	size_t blen;

	fill_text(data, sizeof(data), 9);
	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_LZ4, NULL, 0), HEXZ_OK);
	/* 4000 bytes of content, claimed 4096. */
	blk = lz4_block(data, 4000, 4096, &blen);
	ck_assert_int_eq(run_guarded(&d, blk, blen, 4096, NULL), HEXZ_ERR_DECOMPRESS);
	free(blk);
	/* 4096 bytes of content, claimed 4000. */
	blk = lz4_block(data, 4096, 4000, &blen);
	ck_assert_int_eq(run_guarded(&d, blk, blen, 4000, NULL), HEXZ_ERR_DECOMPRESS);
	free(blk);
	/* A run of zeros: one match that reaches far past the buffer. */
	memset(data, 0, sizeof(data));
	blk = lz4_block(data, 4096, 16, &blen);
	ck_assert_int_eq(run_guarded(&d, blk, blen, 16, NULL), HEXZ_ERR_DECOMPRESS);
	free(blk);
	decompressor_fini(&d);
}
END_TEST

START_TEST(test_lz4_garbage)
{
	struct decompressor d;
	unsigned char stored[4 + 512];
	uint64_t seed;

	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_LZ4, NULL, 0), HEXZ_OK);
	for (seed = 0; seed < 200; seed++) {
		tu_pattern_fill(stored, seed * 1000, sizeof(stored));
		stored[0] = 0x00;
		stored[1] = 0x10;
		stored[2] = 0;
		stored[3] = 0;
		/* Random bytes rarely form a block of exactly 4096 bytes. */
		(void)run_guarded(&d, stored, sizeof(stored), 4096, NULL);
	}
	decompressor_fini(&d);
}
END_TEST

/* zstd ------------------------------------------------------------------ */

START_TEST(test_zstd_ok)
{
	static const size_t lens[] = { 1, 5, 4095, BLOCK, 1000000 };
	struct decompressor d;
	size_t i;
	int cs;

	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_ZSTD, NULL, 0), HEXZ_OK);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned char *data = malloc(lens[i]);

		ck_assert_ptr_nonnull(data);
		for (cs = 0; cs <= 1; cs++) {
			unsigned char *f;
			size_t flen;

			fill_text(data, lens[i], i);
			f = zstd_frame(data, lens[i], cs, NULL, 0, &flen);
			ck_assert_int_eq(run_guarded(&d, f, flen, lens[i], data), HEXZ_OK);
			free(f);
			tu_pattern_fill(data, i, lens[i]);
			f = zstd_frame(data, lens[i], cs, NULL, 0, &flen);
			ck_assert_int_eq(run_guarded(&d, f, flen, lens[i], data), HEXZ_OK);
			free(f);
		}
		free(data);
	}
	decompressor_fini(&d);
}
END_TEST

/* A frame with a checksum: fine, and a flipped checksum byte is not. */
START_TEST(test_zstd_checksum)
{
	struct decompressor d;
	unsigned char data[5000];
	unsigned char f[6000];
	size_t flen;

	fill_text(data, sizeof(data), 11);
	flen = ZSTD_compress(f, sizeof(f), data, sizeof(data), 19);
	ck_assert(!ZSTD_isError(flen));
	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_ZSTD, NULL, 0), HEXZ_OK);
	ck_assert_int_eq(run_guarded(&d, f, flen, sizeof(data), data), HEXZ_OK);
	{
		ZSTD_CCtx *cctx = ZSTD_createCCtx();

		ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)));
		flen = ZSTD_compress2(cctx, f, sizeof(f), data, sizeof(data));
		ck_assert(!ZSTD_isError(flen));
		ZSTD_freeCCtx(cctx);
	}
	ck_assert_int_eq(run_guarded(&d, f, flen, sizeof(data), data), HEXZ_OK);
	f[flen - 1] ^= 1;
	ck_assert_int_eq(run_guarded(&d, f, flen, sizeof(data), NULL), HEXZ_ERR_DECOMPRESS);
	decompressor_fini(&d);
}
END_TEST

START_TEST(test_zstd_dictionary)
{
	struct decompressor d, nodict, other, raw;
	unsigned char *dict, *dict2, *f, *data = malloc(BLOCK);
	size_t dlen, dlen2, flen, plain_len;

	ck_assert_ptr_nonnull(data);
	dict = make_dictionary(0x1234, &dlen);
	dict2 = make_dictionary(0x5678, &dlen2);
	fill_text(data, BLOCK, 77);
	free(zstd_frame(data, 2000, 1, NULL, 0, &plain_len));
	f = zstd_frame(data, 2000, 1, dict, dlen, &flen);
	/* The dictionary made a difference; the frame names it. */
	ck_assert_uint_lt(flen, plain_len);
	ck_assert_uint_eq(ZSTD_getDictID_fromFrame(f, flen), 0x1234);

	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_ZSTD, dict, dlen), HEXZ_OK);
	ck_assert_ptr_nonnull(d.dictionary);
	/* The dictionary was copied: the caller's bytes may go. */
	memset(dict, 0, dlen);
	ck_assert_int_eq(run_guarded(&d, f, flen, 2000, data), HEXZ_OK);

	/* Without the dictionary, or with another one. */
	ck_assert_int_eq(decompressor_init(&nodict, HEXZ_COMPRESSION_ZSTD, NULL, 0), HEXZ_OK);
	ck_assert_int_eq(run_guarded(&nodict, f, flen, 2000, NULL), HEXZ_ERR_DECOMPRESS);
	ck_assert_int_eq(decompressor_init(&other, HEXZ_COMPRESSION_ZSTD, dict2, dlen2), HEXZ_OK);
	ck_assert_int_eq(run_guarded(&other, f, flen, 2000, NULL), HEXZ_ERR_DECOMPRESS);
	free(f);

	/* A frame made without a dictionary still reads with one. */
	f = zstd_frame(data, BLOCK, 1, NULL, 0, &flen);
	ck_assert_int_eq(run_guarded(&d, f, flen, BLOCK, data), HEXZ_OK);
	free(f);

	/* Raw content is a dictionary to zstd as well. */
	ck_assert_int_eq(decompressor_init(&raw, HEXZ_COMPRESSION_ZSTD, data + 1000, 3000),
			 HEXZ_OK);
	f = zstd_frame(data, 2000, 1, data + 1000, 3000, &flen);
	ck_assert_int_eq(run_guarded(&raw, f, flen, 2000, data), HEXZ_OK);
	free(f);

	decompressor_fini(&raw);
	decompressor_fini(&other);
	decompressor_fini(&nodict);
	decompressor_fini(&d);
	free(dict2);
	free(dict);
	free(data);
}
END_TEST

/* The dictionary magic followed by tables zstd cannot load. */
START_TEST(test_zstd_bad_dictionary)
{
	struct decompressor d;
	unsigned char *dict;
	size_t dlen;

	dict = make_dictionary(42, &dlen);
	/* Damage the entropy tables right after magic and ID. */
	memset(dict + 8, 0xFF, 64);
	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_ZSTD, dict, dlen),
			 HEXZ_ERR_CORRUPT_HEADER);
	ck_assert_ptr_null(d.ops);
	ck_assert_ptr_null(d.dictionary);
	decompressor_fini(&d);
	/* Magic and nothing else. */
	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_ZSTD, dict, 8),
			 HEXZ_ERR_CORRUPT_HEADER);
	free(dict);
}
END_TEST

/*
 * A frame of 1 MiB of zeros (a few dozen bytes) read as a 64 KiB block:
 * fails, with or without the content size in the frame header.
 */
START_TEST(test_zstd_bomb)
{
	struct decompressor d;
	unsigned char *zeros = calloc(1, 1024 * KIB);
	unsigned char *f;
	size_t flen;
	int cs;

	ck_assert_ptr_nonnull(zeros);
	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_ZSTD, NULL, 0), HEXZ_OK);
	for (cs = 0; cs <= 1; cs++) {
		f = zstd_frame(zeros, 1024 * KIB, cs, NULL, 0, &flen);
		ck_assert_uint_lt(flen, 200);
		ck_assert_int_eq(run_guarded(&d, f, flen, BLOCK, NULL), HEXZ_ERR_DECOMPRESS);
		ck_assert_int_eq(run_guarded(&d, f, flen, 1024 * KIB, zeros), HEXZ_OK);
		free(f);
	}
	decompressor_fini(&d);
	free(zeros);
}
END_TEST

START_TEST(test_zstd_content_size_mismatch)
{
	struct decompressor d;
	unsigned char data[1000];
	unsigned char *f;
	size_t flen;

	fill_text(data, sizeof(data), 13);
	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_ZSTD, NULL, 0), HEXZ_OK);
	f = zstd_frame(data, sizeof(data), 1, NULL, 0, &flen);
	ck_assert_uint_eq(ZSTD_getFrameContentSize(f, flen), 1000);
	ck_assert_int_eq(run_guarded(&d, f, flen, 999, NULL), HEXZ_ERR_DECOMPRESS);
	ck_assert_int_eq(run_guarded(&d, f, flen, 1001, NULL), HEXZ_ERR_DECOMPRESS);
	free(f);
	/* No content size in the header: the decoded length decides. */
	f = zstd_frame(data, sizeof(data), 0, NULL, 0, &flen);
	ck_assert_uint_eq(ZSTD_getFrameContentSize(f, flen), ZSTD_CONTENTSIZE_UNKNOWN);
	ck_assert_int_eq(run_guarded(&d, f, flen, 999, NULL), HEXZ_ERR_DECOMPRESS);
	ck_assert_int_eq(run_guarded(&d, f, flen, 1001, NULL), HEXZ_ERR_DECOMPRESS);
	ck_assert_int_eq(run_guarded(&d, f, flen, 1000, data), HEXZ_OK);
	free(f);
	decompressor_fini(&d);
}
END_TEST

START_TEST(test_zstd_trailing_and_two_frames)
{
	struct decompressor d;
	unsigned char data[2000];
	unsigned char *f, *g;
	size_t flen, glen;

	fill_text(data, sizeof(data), 17);
	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_ZSTD, NULL, 0), HEXZ_OK);
	f = zstd_frame(data, 1000, 0, NULL, 0, &flen);
	g = zstd_frame(data + 1000, 1000, 0, NULL, 0, &glen);
	f = realloc(f, flen + glen);
	ck_assert_ptr_nonnull(f);
	/* Trailing garbage. */
	memcpy(f + flen, "xyz", 3);
	ck_assert_int_eq(run_guarded(&d, f, flen + 3, 1000, NULL), HEXZ_ERR_DECOMPRESS);
	f[flen] = 0;
	ck_assert_int_eq(run_guarded(&d, f, flen + 1, 1000, NULL), HEXZ_ERR_DECOMPRESS);
	/* Two frames that together make the block. */
	memcpy(f + flen, g, glen);
	ck_assert_int_eq(run_guarded(&d, f, flen + glen, 2000, NULL), HEXZ_ERR_DECOMPRESS);
	ck_assert_int_eq(run_guarded(&d, f, flen + glen, 1000, NULL), HEXZ_ERR_DECOMPRESS);
	/* Truncated. */
	ck_assert_int_eq(run_guarded(&d, f, flen - 1, 1000, NULL), HEXZ_ERR_DECOMPRESS);
	ck_assert_int_eq(run_guarded(&d, f, flen, 1000, data), HEXZ_OK);
	free(g);
	free(f);
	decompressor_fini(&d);
}
END_TEST

START_TEST(test_zstd_garbage)
{
	/* A skippable frame holding 8 bytes. */
	static const unsigned char skippable[] = { 0x50, 0x2A, 0x4D, 0x18, 8, 0, 0, 0,
						   1,	 2,    3,    4,	   5, 6, 7, 8 };
	struct decompressor d;
	unsigned char stored[600];
	uint64_t seed;

	ck_assert_int_eq(decompressor_init(&d, HEXZ_COMPRESSION_ZSTD, NULL, 0), HEXZ_OK);
	ck_assert_int_eq(run_guarded(&d, "", 0, 100, NULL), HEXZ_ERR_DECOMPRESS);
	ck_assert_int_eq(run_guarded(&d, skippable, sizeof(skippable), 8, NULL),
			 HEXZ_ERR_DECOMPRESS);
	for (seed = 0; seed < 200; seed++) {
		tu_pattern_fill(stored, seed * 1000, sizeof(stored));
		ck_assert_int_eq(run_guarded(&d, stored, sizeof(stored), 4096, NULL),
				 HEXZ_ERR_DECOMPRESS);
		/* With the right magic, the rest random. */
		stored[0] = 0x28;
		stored[1] = 0xB5;
		stored[2] = 0x2F;
		stored[3] = 0xFD;
		ck_assert_int_eq(run_guarded(&d, stored, sizeof(stored), 4096, NULL),
				 HEXZ_ERR_DECOMPRESS);
	}
	decompressor_fini(&d);
}
END_TEST

/* Concurrency ----------------------------------------------------------- */

#define THREADS 8
#define ROUNDS 200
#define NBLOCKS 8
#define CBLOCK (16 * KIB)

struct shared_blocks {
	const struct decompressor *d;
	unsigned char *stored[NBLOCKS];
	size_t stored_len[NBLOCKS];
	unsigned char *plain; /* NBLOCKS * CBLOCK */
};

struct worker {
	pthread_t thread;
	const struct shared_blocks *blocks;
	pthread_barrier_t *start;
	unsigned int id;
	int failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned char *out = malloc(CBLOCK);
	int i;

	pthread_barrier_wait(w->start);
	if (!out) {
		w->failures++;
		return NULL;
	}
	for (i = 0; i < ROUNDS; i++) {
		unsigned int b = (w->id + (unsigned int)i) % NBLOCKS;

		if (decompressor_run(w->blocks->d, w->blocks->stored[b], w->blocks->stored_len[b],
				     out, CBLOCK) != HEXZ_OK ||
		    memcmp(out, w->blocks->plain + (size_t)b * CBLOCK, CBLOCK) != 0)
			w->failures++;
	}
	free(out);
	return NULL;
}

static void
run_threads(const struct shared_blocks *blocks)
{
	struct worker workers[THREADS];
	pthread_barrier_t start;
	unsigned int i;

	ck_assert_int_eq(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (i = 0; i < THREADS; i++) {
		workers[i].blocks = blocks;
		workers[i].start = &start;
		workers[i].id = i;
		workers[i].failures = 0;
		ck_assert_int_eq(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]),
				 0);
	}
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(workers[i].thread, NULL), 0);
	pthread_barrier_destroy(&start);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(workers[i].failures, 0);
}

/* Several threads, one decompressor: zstd with a dictionary, then LZ4. */
START_TEST(test_concurrent)
{
	struct decompressor zd, ld;
	struct shared_blocks zb, lb;
	unsigned char *dict;
	size_t dlen;
	int b;

	dict = make_dictionary(99, &dlen);
	ck_assert_int_eq(decompressor_init(&zd, HEXZ_COMPRESSION_ZSTD, dict, dlen), HEXZ_OK);
	ck_assert_int_eq(decompressor_init(&ld, HEXZ_COMPRESSION_LZ4, NULL, 0), HEXZ_OK);
	zb.d = &zd;
	lb.d = &ld;
	zb.plain = malloc(NBLOCKS * CBLOCK);
	ck_assert_ptr_nonnull(zb.plain);
	lb.plain = zb.plain;
	for (b = 0; b < NBLOCKS; b++) {
		unsigned char *p = zb.plain + (size_t)b * CBLOCK;

		fill_text(p, CBLOCK, (uint64_t)b * 31);
		zb.stored[b] = zstd_frame(p, CBLOCK, b % 2, dict, dlen, &zb.stored_len[b]);
		lb.stored[b] = lz4_block(p, CBLOCK, CBLOCK, &lb.stored_len[b]);
	}
	run_threads(&zb);
	run_threads(&lb);
	for (b = 0; b < NBLOCKS; b++) {
		free(zb.stored[b]);
		free(lb.stored[b]);
	}
	free(zb.plain);
	decompressor_fini(&ld);
	decompressor_fini(&zd);
	free(dict);
}
END_TEST

static Suite *
codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *api = tcase_create("api");
	TCase *lz4 = tcase_create("lz4");
	TCase *zstd = tcase_create("zstd");
	TCase *threads = tcase_create("threads");

	tcase_add_test(api, test_init_errors);
	tcase_add_test(api, test_fini_zeroed);
	suite_add_tcase(s, api);

	tcase_add_test(lz4, test_lz4_ok);
	tcase_add_test(lz4, test_lz4_format_example);
	tcase_add_test(lz4, test_lz4_bad_prefix);
	tcase_add_test(lz4, test_lz4_prefix_mismatch);
	tcase_add_test(lz4, test_lz4_truncated);
	tcase_add_test(lz4, test_lz4_output_short_long);
	tcase_add_test(lz4, test_lz4_garbage);
	suite_add_tcase(s, lz4);

	tcase_add_test(zstd, test_zstd_ok);
	tcase_add_test(zstd, test_zstd_checksum);
	tcase_add_test(zstd, test_zstd_dictionary);
	tcase_add_test(zstd, test_zstd_bad_dictionary);
	tcase_add_test(zstd, test_zstd_bomb);
	tcase_add_test(zstd, test_zstd_content_size_mismatch);
	tcase_add_test(zstd, test_zstd_trailing_and_two_frames);
	tcase_add_test(zstd, test_zstd_garbage);
	suite_add_tcase(s, zstd);

	tcase_add_test(threads, test_concurrent);
	suite_add_tcase(s, threads);
	return s;
}

int
main(void)
{
	return tu_run_suite(codec_suite());
}
