/* SPDX-License-Identifier: MIT */
/*
 * Block decompression: LZ4 (liblz4) and zstd (libzstd), one function per
 * codec behind struct codec_ops.
 *
 * Both codecs decode straight into the caller's buffer, whose capacity is
 * exactly the block's logical length, so a block can never write past it
 * nor make the reader allocate more than that: a frame that would expand
 * further (a decompression bomb) just fails.
 *
 * zstd needs a decompression context (ZSTD_DCtx, about 100 KiB). Making one
 * per block would cost an allocation and its initialisation on every read,
 * and one shared context would serialise the readers, so each thread keeps
 * its own, made on its first zstd block and freed when the thread exits (a
 * pthread key destructor). The dictionary is digested once, at init, into
 * a ZSTD_DDict that every thread's context reads without locking.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <lz4.h>
#include <zstd.h>

#include "codec.h"

struct codec_ops {
	int (*init)(struct decompressor *d, const void *dict, size_t dict_len);
	int (*run)(const struct decompressor *d, const void *src, size_t src_len, void *dst,
		   size_t logical_len);
	void (*fini)(struct decompressor *d);
};

static uint32_t
load_le32(const void *p)
{
	const unsigned char *b = p;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* LZ4 ------------------------------------------------------------------ */

#define LZ4_PREFIX_LEN 4

static int
lz4_init(struct decompressor *d, const void *dict, size_t dict_len)
{
	(void)d;
	(void)dict;
	/* hexz has no LZ4 dictionaries: a header that names one is corrupt. */
	return dict_len ? HEXZ_ERR_CORRUPT_HEADER : HEXZ_OK;
}

/*
 * A little-endian u32 with the decompressed size, then one raw LZ4 block.
 * hexz never checks the prefix; this reader insists it equals logical_len
 * (FORMAT.md 5, reader policy).
 */
static int
lz4_run(const struct decompressor *d, const void *src, size_t src_len, void *dst,
	size_t logical_len)
{
	int n;

	(void)d;
	if (src_len < LZ4_PREFIX_LEN || logical_len > INT_MAX || src_len - LZ4_PREFIX_LEN > INT_MAX)
		return HEXZ_ERR_DECOMPRESS;
	if (load_le32(src) != logical_len)
		return HEXZ_ERR_DECOMPRESS;
	n = LZ4_decompress_safe((const char *)src + LZ4_PREFIX_LEN, dst,
				(int)(src_len - LZ4_PREFIX_LEN), (int)logical_len);
	return n >= 0 && (size_t)n == logical_len ? HEXZ_OK : HEXZ_ERR_DECOMPRESS;
}

static void
lz4_fini(struct decompressor *d)
{
	(void)d;
}

/* zstd ----------------------------------------------------------------- */

/* The calling thread's context, also registered under dctx_key. */
static __thread ZSTD_DCtx *tls_dctx;
static pthread_key_t dctx_key;
static pthread_once_t dctx_key_once = PTHREAD_ONCE_INIT;
static int dctx_key_status = -1; /* 0 once dctx_key exists */

/* Thread exit: free the thread's context. */
static void
dctx_destroy(void *p)
{
	ZSTD_freeDCtx(p);
	tls_dctx = NULL;
}

static void
dctx_key_create(void)
{
	dctx_key_status = pthread_key_create(&dctx_key, dctx_destroy);
}

/* The calling thread's context, made on first use; NULL without memory. */
static ZSTD_DCtx *
thread_dctx(void)
{
	ZSTD_DCtx *dctx = tls_dctx;

	if (dctx)
		return dctx;
	pthread_once(&dctx_key_once, dctx_key_create);
	if (dctx_key_status != 0)
		return NULL;
	dctx = ZSTD_createDCtx();
	if (!dctx)
		return NULL;
	if (pthread_setspecific(dctx_key, dctx) != 0) {
		ZSTD_freeDCtx(dctx);
		return NULL;
	}
	tls_dctx = dctx;
	return dctx;
}

/*
 * Free the calling thread's context now rather than at thread exit: the
 * main thread never runs key destructors, and a short program would
 * otherwise end with the context still allocated. A later block simply
 * makes a new one.
 */
static void
thread_dctx_release(void)
{
	if (!tls_dctx)
		return;
	ZSTD_freeDCtx(tls_dctx);
	tls_dctx = NULL;
	if (dctx_key_status == 0)
		pthread_setspecific(dctx_key, NULL);
}

/*
 * When the program exits, or libhexz is unloaded: free this thread's
 * context, and delete the key so that no thread still running calls a
 * destructor in unmapped code (their contexts are then left behind).
 */
__attribute__((destructor)) static void
codec_unload(void)
{
	thread_dctx_release();
	if (dctx_key_status == 0) {
		pthread_key_delete(dctx_key);
		dctx_key_status = -1;
	}
}

static int
zstd_init(struct decompressor *d, const void *dict, size_t dict_len)
{
	ZSTD_DDict *ddict;

	if (!dict_len)
		return HEXZ_OK;
	/* Copies the bytes: the caller's buffer need not outlive this call. */
	ddict = ZSTD_createDDict(dict, dict_len);
	if (!ddict) {
		/*
		 * Anything not starting with the dictionary magic is loaded
		 * as raw content, which can fail only for want of memory. A
		 * "full" dictionary can also fail by being malformed.
		 */
		if (dict_len < 4 || load_le32(dict) != ZSTD_MAGIC_DICTIONARY)
			return HEXZ_ERR_NO_MEMORY;
		return HEXZ_ERR_CORRUPT_HEADER;
	}
	d->dictionary = ddict;
	return HEXZ_OK;
}

/*
 * Exactly one zstd frame, decoded into exactly logical_len bytes. The frame
 * magic is checked first so that skippable frames (and the legacy formats a
 * libzstd may still decode) are refused; ZSTD_findFrameCompressedSize()
 * then rejects trailing bytes and second frames, which ZSTD_decompress*()
 * would otherwise silently decode and append.
 */
static int
zstd_run(const struct decompressor *d, const void *src, size_t src_len, void *dst,
	 size_t logical_len)
{
	unsigned long long content;
	ZSTD_DCtx *dctx;
	size_t n;

	if (src_len < 4 || load_le32(src) != ZSTD_MAGICNUMBER)
		return HEXZ_ERR_DECOMPRESS;
	if (ZSTD_findFrameCompressedSize(src, src_len) != src_len)
		return HEXZ_ERR_DECOMPRESS;
	content = ZSTD_getFrameContentSize(src, src_len);
	if (content == ZSTD_CONTENTSIZE_ERROR ||
	    (content != ZSTD_CONTENTSIZE_UNKNOWN && content != logical_len))
		return HEXZ_ERR_DECOMPRESS;
	dctx = thread_dctx();
	if (!dctx)
		return HEXZ_ERR_NO_MEMORY;
	/*
	 * Single-shot: zstd decodes into dst directly, allocates nothing,
	 * and fails (dstSize_tooSmall) rather than write past logical_len.
	 */
	n = ZSTD_decompress_usingDDict(dctx, dst, logical_len, src, src_len, d->dictionary);
	if (ZSTD_isError(n) || n != logical_len)
		return HEXZ_ERR_DECOMPRESS;
	return HEXZ_OK;
}

static void
zstd_fini(struct decompressor *d)
{
	ZSTD_freeDDict(d->dictionary);
	d->dictionary = NULL;
	thread_dctx_release();
}

/* ---------------------------------------------------------------------- */

static const struct codec_ops lz4_ops = {
	.init = lz4_init,
	.run = lz4_run,
	.fini = lz4_fini,
};

static const struct codec_ops zstd_ops = {
	.init = zstd_init,
	.run = zstd_run,
	.fini = zstd_fini,
};

int
decompressor_init(struct decompressor *d, enum hexz_compression compression, const void *dict,
		  size_t dict_len)
{
	const struct codec_ops *ops;
	int rc;

	d->ops = NULL;
	d->dictionary = NULL;
	switch (compression) {
	case HEXZ_COMPRESSION_LZ4:
		ops = &lz4_ops;
		break;
	case HEXZ_COMPRESSION_ZSTD:
		ops = &zstd_ops;
		break;
	default:
		return HEXZ_ERR_CORRUPT_HEADER;
	}
	if (dict_len && !dict)
		return HEXZ_ERR_CORRUPT_HEADER;
	rc = ops->init(d, dict, dict_len);
	if (rc)
		return rc;
	d->ops = ops;
	return HEXZ_OK;
}

int
decompressor_run(const struct decompressor *d, const void *src, size_t src_len, void *dst,
		 size_t logical_len)
{
	if (!d->ops)
		return HEXZ_ERR_DECOMPRESS;
	return d->ops->run(d, src, src_len, dst, logical_len);
}

void
decompressor_fini(struct decompressor *d)
{
	if (d->ops)
		d->ops->fini(d);
	d->ops = NULL;
	d->dictionary = NULL;
}
