/* SPDX-License-Identifier: MIT */
/*
 * The archive reader: open (header, master index, dictionary, key,
 * manifest, parents), and reads that turn stream ranges into blocks, fetch
 * them through the shared cache and copy or lend the bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <hexz/archive.h>
#include <hexz/storage.h>

#include "archive_internal.h"
#include "block_cache.h"
#include "checksum.h"
#include "error_set.h"
#include "storage/resident.h"
#include "storage/storage_access.h"

/* Blocks fetched per round of a read: bounds the stack a read uses. */
#define READ_BATCH 64
/* Data blocks tried to prove a password (a damaged one is skipped). */
#define PASSWORD_PROBES 8

static const char *const stream_names[2] = { "main", "auxiliary" };

/* A zero block is lent from here: never written, so it costs no memory. */
static unsigned char zero_area[HEXZ_MAX_BLOCK_LEN];

/* ---- decoding one stored block ---- */

struct fill_ctx {
	const struct hexz_archive *ar;
	const struct block_desc *d;
	void *dst;
	uint32_t crc;
	unsigned char *plain; /* decrypted bytes, for encrypted archives */
};

/*
 * Checks the CRC of a private copy of the stored bytes, then decrypts and
 * decompresses that same copy into buffers allocated beforehand.
 */
static int
decode_stored(void *vctx, const void *stored, size_t len)
{
	struct fill_ctx *ctx = vctx;
	const struct hexz_archive *ar = ctx->ar;
	int ret;

	ctx->crc = block_crc32(stored, len);
	if (ctx->crc != ctx->d->checksum)
		return HEXZ_ERR_CHECKSUM;
	if (ar->has_key) {
		ret = crypto_decrypt_block(&ar->key, ctx->d->number, stored, len, ctx->plain);
		if (ret)
			return ret;
		stored = ctx->plain;
		len -= CRYPTO_TAG_LEN;
	}
	return decompressor_run(&ar->decompressor, stored, len, ctx->dst, ctx->d->logical_len);
}

static int
block_error(const struct hexz_archive *ar, const struct block_desc *d, int code, uint32_t crc,
	    struct hexz_error *err)
{
	const char *stream = stream_names[d->stream & 1];
	unsigned long long n = (unsigned long long)d->number;

	switch (code) {
	case HEXZ_ERR_CHECKSUM:
		return error_set(err, code,
				 "%s: %s stream block %llu: CRC-32 mismatch (index 0x%08x, data 0x%08x)",
				 ar->location, stream, n, d->checksum, crc);
	case HEXZ_ERR_DECRYPT:
		return error_set(err, code, "%s: %s stream block %llu: fails authentication",
				 ar->location, stream, n);
	case HEXZ_ERR_DECOMPRESS:
		return error_set(err, code,
				 "%s: %s stream block %llu: does not decompress to %u bytes",
				 ar->location, stream, n, d->logical_len);
	default:
		return error_set(err, code, "%s: %s stream block %llu: %s", ar->location, stream, n,
				 hexz_strerror(code));
	}
}

static int read_uncached(struct hexz_archive *ar, enum hexz_stream stream, uint64_t offset,
			 size_t len, unsigned char *dst, struct hexz_error *err);

int
archive_fill_block(void *source, const struct block_desc *d, void *dst, struct hexz_error *err)
{
	struct hexz_archive *ar = source;
	struct fill_ctx ctx = { .ar = ar, .d = d, .dst = dst };
	unsigned char *stored;
	int ret;

	if (d->offset == BLOCK_OFFSET_PARENT) {
		/*
		 * By position in the first parent. Read past the cache: a
		 * fill runs inside a cache fetch and must not wait on one.
		 */
		if (ar->parent_count == 0 ||
		    hexz_archive_stream_size(ar->parents[0], d->stream) < d->logical_start ||
		    hexz_archive_stream_size(ar->parents[0], d->stream) - d->logical_start <
			    d->logical_len)
			return error_set(err, HEXZ_ERR_PARENT_BLOCK_MISSING,
					 "%s: %s stream block %llu: stored in no parent archive",
					 ar->location, stream_names[d->stream & 1],
					 (unsigned long long)d->number);
		return read_uncached(ar->parents[0], d->stream, d->logical_start, d->logical_len,
				     dst, err);
	}
	if (ar->has_key) {
		if (d->length < CRYPTO_TAG_LEN)
			return block_error(ar, d, HEXZ_ERR_DECRYPT, 0, err);
		ctx.plain = malloc(d->length - CRYPTO_TAG_LEN + 1);
		if (!ctx.plain)
			return error_plain(err, HEXZ_ERR_NO_MEMORY);
	}
	/*
	 * Decoded from a copy, never from the mapping itself: the CRC and the
	 * decompressor must see the same bytes. An archive overwritten in
	 * place (cp over it, an editor saving) changes the mapped bytes
	 * between the two, and a block of incompressible data is one literal
	 * run that decodes whatever bytes it then holds to the right length:
	 * a block of neither version, served as good. Copying costs a memcpy
	 * of the stored bytes, a fraction of their decompression.
	 */
	stored = malloc(d->length);
	if (!stored) {
		free(ctx.plain);
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	}
	ret = hexz_storage_read_exact(ar->storage, d->offset, d->length, stored);
	if (ret == HEXZ_OK)
		ret = decode_stored(&ctx, stored, d->length);
	free(stored);
	free(ctx.plain);
	return ret ? block_error(ar, d, ret, ctx.crc, err) : HEXZ_OK;
}

/* ---- turning a range into blocks ---- */

/* A piece of a read: bytes lent by a pinned block, or zeros. */
struct span {
	const unsigned char *data;
	size_t len;
	struct hexz_block_ref *ref;
};

static int
request_for(struct hexz_archive *ar, const struct located_block *b, struct cache_request *req,
	    struct hexz_error *err)
{
	struct hexz_archive *owner_ar = ar;

	req->desc = b->desc;
	if (b->kind == BLOCK_PARENT) {
		int ret = parents_resolve(ar, b, &owner_ar, &req->desc, err);

		if (ret)
			return ret;
	}
	req->owner = owner_ar->owner;
	req->fill = archive_fill_block;
	req->source = owner_ar;
	req->ref = NULL;
	return HEXZ_OK;
}

/*
 * Pin the blocks of up to `max` (<= READ_BATCH) pieces from `offset` on;
 * *n pieces covering *covered bytes. All or nothing.
 */
static int
fetch_spans(struct hexz_archive *ar, enum hexz_stream stream, uint64_t offset, size_t len,
	    struct span *spans, size_t max, size_t *n, size_t *covered, struct hexz_error *err)
{
	struct located_block blocks[READ_BATCH];
	struct cache_request reqs[READ_BATCH];
	size_t nblocks, nreqs = 0, i, r = 0, done = 0;
	int ret;

	ret = index_locate(&ar->index, stream, offset, len, blocks, max, &nblocks, err);
	if (ret)
		return ret;
	for (i = 0; i < nblocks; i++) {
		if (blocks[i].kind == BLOCK_ZERO)
			continue;
		ret = request_for(ar, &blocks[i], &reqs[nreqs], err);
		if (ret)
			return ret;
		nreqs++;
	}
	ret = cache_fetch(ar->cache, reqs, nreqs, err);
	if (ret)
		return ret;
	for (i = 0; i < nblocks; i++) {
		const struct located_block *b = &blocks[i];
		uint64_t skip = offset + done - b->desc.logical_start;
		uint64_t take = b->desc.logical_len - skip;

		if (take > len - done)
			take = len - done;
		if (b->kind == BLOCK_ZERO) {
			spans[i].data = zero_area;
			spans[i].ref = NULL;
		} else {
			spans[i].ref = reqs[r++].ref;
			spans[i].data = (const unsigned char *)block_ref_data(spans[i].ref) + skip;
		}
		spans[i].len = (size_t)take;
		done += (size_t)take;
	}
	*n = nblocks;
	*covered = done;
	return HEXZ_OK;
}

static int
check_range(const struct hexz_archive *ar, enum hexz_stream stream, uint64_t offset, size_t len,
	    struct hexz_error *err)
{
	uint64_t size;

	if (!ar || (stream != HEXZ_STREAM_MAIN && stream != HEXZ_STREAM_AUXILIARY))
		return error_plain(err, HEXZ_ERR_INVALID_ARGUMENT);
	size = ar->index.streams[stream].size;
	if (offset > size || (uint64_t)len > size - offset)
		return error_set(err, HEXZ_ERR_END_OF_FILE,
				 "%s: range %llu+%zu lies beyond the %s stream (%llu bytes)",
				 ar->location, (unsigned long long)offset, len,
				 stream_names[stream], (unsigned long long)size);
	return HEXZ_OK;
}

int
hexz_archive_read(struct hexz_archive *ar, enum hexz_stream stream, uint64_t offset, size_t len,
		  void *dst, struct hexz_error *err)
{
	struct span spans[READ_BATCH];
	unsigned char *out = dst;
	int ret;

	if (!dst && len > 0)
		return error_plain(err, HEXZ_ERR_INVALID_ARGUMENT);
	ret = check_range(ar, stream, offset, len, err);
	while (!ret && len > 0) {
		size_t n, covered, i;

		ret = fetch_spans(ar, stream, offset, len, spans, READ_BATCH, &n, &covered, err);
		if (ret)
			break;
		for (i = 0; i < n; i++) {
			memcpy(out, spans[i].data, spans[i].len);
			out += spans[i].len;
			block_ref_put(spans[i].ref);
		}
		offset += covered;
		len -= covered;
	}
	return ret;
}

int
hexz_archive_pin(struct hexz_archive *ar, enum hexz_stream stream, uint64_t offset, size_t len,
		 struct iovec *iov, struct hexz_block_ref **refs, size_t capacity, size_t *count,
		 size_t *covered, struct hexz_error *err)
{
	struct span spans[READ_BATCH];
	size_t filled = 0, done = 0;
	int ret;

	if (!iov || !refs || !count || !covered || capacity == 0)
		return error_plain(err, HEXZ_ERR_INVALID_ARGUMENT);
	*count = 0;
	*covered = 0;
	ret = check_range(ar, stream, offset, len, err);
	while (!ret && done < len && filled < capacity) {
		size_t want = capacity - filled, n, got, i;

		ret = fetch_spans(ar, stream, offset + done, len - done, spans,
				  want < READ_BATCH ? want : READ_BATCH, &n, &got, err);
		if (ret)
			break;
		for (i = 0; i < n; i++, filled++) {
			iov[filled].iov_base = (void *)(uintptr_t)spans[i].data;
			iov[filled].iov_len = spans[i].len;
			refs[filled] = spans[i].ref;
		}
		done += got;
	}
	if (ret) {
		hexz_block_unpin(refs, filled);
		return ret;
	}
	*count = filled;
	*covered = done;
	return HEXZ_OK;
}

void
hexz_block_unpin(struct hexz_block_ref **refs, size_t count)
{
	size_t i;

	for (i = 0; refs && i < count; i++) {
		block_ref_put(refs[i]);
		refs[i] = NULL;
	}
}

void
hexz_block_unpin_consumed(struct hexz_block_ref **refs, const struct iovec *iov, size_t count)
{
	size_t i;

	for (i = 0; refs && iov && i < count; i++) {
		const unsigned char *end = (const unsigned char *)iov[i].iov_base + iov[i].iov_len;

		if (refs[i] && end == (const unsigned char *)block_ref_data(refs[i]) +
					     block_ref_len(refs[i]))
			block_ref_put_consumed(refs[i]);
		else
			block_ref_put(refs[i]);
		refs[i] = NULL;
	}
}

const void *
hexz_block_extent(const struct hexz_block_ref *ref, size_t *len)
{
	if (len)
		*len = block_ref_len(ref);
	return block_ref_data(ref);
}

void
hexz_archive_prefetch(struct hexz_archive *ar, enum hexz_stream stream, uint64_t offset,
		      uint64_t len)
{
	struct located_block blocks[READ_BATCH];
	struct cache_request reqs[READ_BATCH];
	size_t nblocks, nreqs = 0, i;
	uint64_t size;

	if (!ar || (stream != HEXZ_STREAM_MAIN && stream != HEXZ_STREAM_AUXILIARY) ||
	    cache_worker_count(ar->cache) == 0)
		return;
	size = ar->index.streams[stream].size;
	if (offset >= size)
		return;
	if (len > size - offset)
		len = size - offset;
	if (index_locate(&ar->index, stream, offset, len, blocks, READ_BATCH, &nblocks, NULL))
		return;
	for (i = 0; i < nblocks; i++)
		if (blocks[i].kind != BLOCK_ZERO &&
		    request_for(ar, &blocks[i], &reqs[nreqs], NULL) == HEXZ_OK)
			nreqs++;
	cache_prefetch(ar->cache, reqs, nreqs);
}

/*
 * Read without the cache, decoding each block straight into place (or
 * through a scratch block when only part of it is wanted). For positional
 * parent references, which are filled from inside a cache fetch.
 */
static int
read_uncached(struct hexz_archive *ar, enum hexz_stream stream, uint64_t offset, size_t len,
	      unsigned char *dst, struct hexz_error *err)
{
	struct located_block blocks[READ_BATCH];
	unsigned char *scratch = NULL;
	size_t scratch_len = 0;
	int ret = HEXZ_OK;

	while (!ret && len > 0) {
		size_t n, i;

		ret = index_locate(&ar->index, stream, offset, len, blocks, READ_BATCH, &n, err);
		for (i = 0; !ret && i < n; i++) {
			const struct located_block *b = &blocks[i];
			uint64_t skip = offset - b->desc.logical_start;
			size_t take = b->desc.logical_len - skip < len ? b->desc.logical_len - skip
								       : len;
			struct hexz_archive *owner_ar = ar;
			struct block_desc d = b->desc;
			bool whole = skip == 0 && take == b->desc.logical_len;

			if (b->kind == BLOCK_ZERO) {
				memset(dst, 0, take);
			} else {
				if (b->kind == BLOCK_PARENT)
					ret = parents_resolve(ar, b, &owner_ar, &d, err);
				/* Part of a block: decode it whole aside, sized as it needs. */
				if (!ret && !whole && scratch_len < d.logical_len) {
					free(scratch);
					scratch = malloc(d.logical_len);
					scratch_len = scratch ? d.logical_len : 0;
					if (!scratch)
						ret = error_plain(err, HEXZ_ERR_NO_MEMORY);
				}
				if (!ret)
					ret = archive_fill_block(owner_ar, &d, whole ? dst : scratch,
								 err);
				if (!ret && !whole)
					memcpy(dst, scratch + skip, take);
			}
			dst += take;
			offset += take;
			len -= take;
		}
	}
	free(scratch);
	return ret;
}

/* ---- open and close ---- */

static int
load_dictionary(struct hexz_archive *ar, struct hexz_error *err)
{
	const struct byte_range *r = &ar->header.dictionary;
	void *dict = NULL;
	int ret;

	if (r->present) {
		dict = malloc(r->length);
		if (!dict)
			return error_plain(err, HEXZ_ERR_NO_MEMORY);
		ret = hexz_storage_read_exact(ar->storage, r->offset, r->length, dict);
		if (ret) {
			free(dict);
			return error_set(err, ret, "%s: reading the dictionary: %s", ar->location,
					 hexz_strerror(ret));
		}
	}
	ret = decompressor_init(&ar->decompressor, ar->header.compression, dict,
				r->present ? r->length : 0);
	free(dict);
	if (ret)
		return error_set(err, ret, "%s: %s", ar->location,
				 ret == HEXZ_ERR_CORRUPT_HEADER ? "the dictionary cannot be used"
								: hexz_strerror(ret));
	return HEXZ_OK;
}

struct probe_ctx {
	struct hexz_archive *ar;
	unsigned int tried;
	int verdict;
};

/* Try to decode one data block: the password is right iff one authenticates. */
static int
probe_block(void *vctx, const struct located_block *b, const unsigned char hash[BLOCK_HASH_LEN])
{
	struct probe_ctx *ctx = vctx;
	void *dst;
	int ret;

	(void)hash;
	if (b->kind != BLOCK_DATA)
		return 0;
	dst = malloc(b->desc.logical_len);
	if (!dst)
		return HEXZ_ERR_NO_MEMORY;
	ret = archive_fill_block(ctx->ar, &b->desc, dst, NULL);
	free(dst);
	if (ret == HEXZ_ERR_DECRYPT) {
		ctx->verdict = HEXZ_ERR_WRONG_PASSWORD;
		return 1;
	}
	/* A damaged block proves nothing either way: try the next one. */
	if (ret == HEXZ_ERR_CHECKSUM && ++ctx->tried < PASSWORD_PROBES)
		return 0;
	return 1;
}

static int
unlock_key(struct hexz_archive *ar, const struct hexz_archive_options *opts,
	   struct hexz_error *err)
{
	struct probe_ctx probe = { .ar = ar, .verdict = HEXZ_OK };
	unsigned int sn;
	int ret;

	if (!ar->header.encrypted)
		return HEXZ_OK;
	if (!opts->password)
		return error_set(err, HEXZ_ERR_PASSWORD_REQUIRED,
				 "%s: the archive is encrypted: a password is required",
				 ar->location);
	ret = crypto_derive_key(opts->password, opts->password_len, ar->header.salt,
				ar->header.iterations, &ar->key);
	if (ret)
		return error_set(err, ret, "%s: deriving the key: %s", ar->location,
				 hexz_strerror(ret));
	ar->has_key = true;
	for (sn = 0; sn < 2; sn++) {
		ret = index_walk_blocks(&ar->index, sn, probe_block, &probe, err);
		if (ret < 0)
			return ret;
		if (ret > 0)
			break;
	}
	if (probe.verdict)
		return error_set(err, probe.verdict, "%s: wrong password", ar->location);
	return HEXZ_OK;
}

/* The metadata is fed to the manifest parser this much at a time. */
#define METADATA_CHUNK ((size_t)1 << 20)
/* and its mapped pages let go of every this many chunks. */
#define METADATA_TRIM_EVERY 64

/*
 * Parse the metadata as a manifest, a chunk at a time: memory follows the
 * tree being built, not the document's size.
 */
static int
load_manifest(struct hexz_archive *ar, struct hexz_error *err)
{
	const struct byte_range *r = &ar->header.metadata;
	struct manifest_parser *parser = NULL;
	size_t chunk = r->length < METADATA_CHUNK ? r->length : METADATA_CHUNK;
	char *buf = NULL;
	uint64_t done;
	int ret;

	if (!r->present)
		return HEXZ_OK;
	buf = malloc(chunk ? chunk : 1);
	ret = buf ? manifest_parser_new(ar->index.streams[HEXZ_STREAM_MAIN].size, &parser)
		  : HEXZ_ERR_NO_MEMORY;
	if (ret) {
		error_plain(err, ret);
		goto out;
	}
	for (done = 0; done < r->length; done += chunk) {
		if (chunk > r->length - done)
			chunk = (size_t)(r->length - done);
		ret = hexz_storage_read_exact(ar->storage, r->offset + done, chunk, buf);
		if (ret) {
			error_set(err, ret, "%s: reading the metadata: %s", ar->location,
				  hexz_strerror(ret));
			goto out;
		}
		ret = manifest_parser_feed(parser, buf, chunk, err);
		if (ret)
			goto named;
		/* The document's pages are read once: keep them out of the resident set. */
		if ((done / METADATA_CHUNK + 1) % METADATA_TRIM_EVERY == 0)
			hexz_storage_trim(ar->storage);
	}
	ret = manifest_parser_finish(parser, &ar->manifest, err);
	if (r->length >= METADATA_CHUNK)
		hexz_storage_trim(ar->storage);
named:
	if ((ret == HEXZ_ERR_CORRUPT_MANIFEST || ret == HEXZ_ERR_LIMIT) && err) {
		char inner[HEXZ_ERROR_MESSAGE_MAX];

		memcpy(inner, err->message, sizeof(inner));
		error_set(err, ret, "%s: %s", ar->location, inner);
	}
out:
	manifest_parser_free(parser);
	free(buf);
	return ret;
}

/*
 * The cache the archive reads through (a private one unless the options
 * share one), and the budget of mapped pages its storage joins there, so
 * that from the header on every read of the file counts against it.
 */
static int
attach_cache(struct hexz_archive *ar, struct hexz_cache *cache, struct hexz_error *err)
{
	int ret;

	if (cache) {
		ar->cache = cache;
	} else {
		ret = hexz_cache_create(HEXZ_DEFAULT_PRIVATE_CACHE, 0, &ar->cache);
		if (ret)
			return error_plain(err, ret);
		ar->owns_cache = true;
	}
	ar->owner = cache_new_owner(ar->cache);
	ar->budgets_storage = resident_join(cache_resident(ar->cache), ar->storage);
	return HEXZ_OK;
}

/*
 * Undo attach_cache(), if it was done, once the owner is forgotten: the
 * archive's last use of its storage and of its cache.
 */
static void
detach_cache(struct hexz_archive *ar)
{
	if (!ar->cache)
		return;
	if (ar->budgets_storage)
		resident_leave(ar->storage);
	if (ar->owns_cache)
		hexz_cache_destroy(ar->cache);
	ar->cache = NULL;
}

int
archive_open_in_chain(struct hexz_storage *storage, const struct hexz_archive_options *opts,
		      const struct chain_link *child, unsigned int depth,
		      struct hexz_archive **out, struct hexz_error *err)
{
	static const struct hexz_archive_options defaults;
	unsigned char head[HEADER_SIZE];
	uint64_t file_size = hexz_storage_len(storage);
	size_t head_len = file_size < HEADER_SIZE ? (size_t)file_size : HEADER_SIZE;
	struct chain_link self;
	unsigned int opened = 1;
	struct hexz_archive *ar;
	int ret;

	if (!opts)
		opts = &defaults;
	ar = calloc(1, sizeof(*ar));
	if (!ar)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	ar->storage = storage;
	ar->borrows_storage = opts->borrow_storage;
	ar->dev = opts->dev;
	ar->ino = opts->ino;
	pthread_mutex_init(&ar->parent_map_lock, NULL);
	ar->location = strdup(opts->location ? opts->location : "archive");
	if (!ar->location) {
		ret = error_plain(err, HEXZ_ERR_NO_MEMORY);
		goto fail;
	}
	ret = attach_cache(ar, opts->cache, err);
	if (ret)
		goto fail;
	ret = hexz_storage_read_exact(storage, 0, head_len, head);
	if (ret) {
		error_set(err, ret, "%s: reading the header: %s", ar->location, hexz_strerror(ret));
		goto fail;
	}
	ret = header_decode(head, head_len, file_size, ar->location, &ar->header, err);
	if (ret)
		goto fail;
	ret = index_open(&ar->index, storage, ar->header.index_offset, ar->header.has_main,
			 ar->header.has_auxiliary, ar->location, err);
	if (ret)
		goto fail_header;
	ret = load_dictionary(ar, err);
	if (!ret)
		ret = unlock_key(ar, opts, err);
	if (!ret)
		ret = load_manifest(ar, err);
	if (ret)
		goto fail_index;
	self.child = child;
	self.dev = ar->dev;
	self.ino = ar->ino;
	self.opened = child ? child->opened : &opened;
	ret = parents_open(ar, opts, &self, depth, err);
	if (ret)
		goto fail_index;
	*out = ar;
	return HEXZ_OK;

fail_index:
	manifest_free(&ar->manifest);
	crypto_forget_key(&ar->key);
	decompressor_fini(&ar->decompressor);
	index_close(&ar->index);
fail_header:
	header_free(&ar->header);
fail:
	if (ar->cache)
		cache_forget_owner(ar->cache, ar->owner);
	detach_cache(ar);
	pthread_mutex_destroy(&ar->parent_map_lock);
	free(ar->location);
	free(ar);
	return ret;
}

int
hexz_archive_open(struct hexz_storage *storage, const struct hexz_archive_options *opts,
		  struct hexz_archive **out, struct hexz_error *err)
{
	if (!out)
		return error_plain(err, HEXZ_ERR_INVALID_ARGUMENT);
	*out = NULL;
	if (!storage)
		return error_plain(err, HEXZ_ERR_INVALID_ARGUMENT);
	return archive_open_in_chain(storage, opts, NULL, 0, out, err);
}

void
hexz_archive_close(struct hexz_archive *ar)
{
	if (!ar)
		return;
	/*
	 * Its own jobs before the parents': parent blocks may be queued on
	 * behalf of this archive. The cache goes last, after the parents
	 * that share it.
	 */
	cache_forget_owner(ar->cache, ar->owner);
	parents_close(ar);
	detach_cache(ar);
	manifest_free(&ar->manifest);
	crypto_forget_key(&ar->key);
	decompressor_fini(&ar->decompressor);
	index_close(&ar->index);
	header_free(&ar->header);
	if (!ar->borrows_storage)
		hexz_storage_close(ar->storage);
	pthread_mutex_destroy(&ar->parent_map_lock);
	free(ar->location);
	free(ar);
}

/* ---- facts ---- */

void
hexz_archive_get_info(const struct hexz_archive *ar, struct hexz_archive_info *out)
{
	const struct archive_header *h = &ar->header;
	unsigned int sn;

	memset(out, 0, sizeof(*out));
	out->format_version = h->version;
	out->block_size = h->block_size;
	out->compression = h->compression;
	out->encrypted = h->encrypted;
	out->kdf_iterations = h->iterations;
	out->has_dictionary = h->dictionary.present;
	out->dictionary_length = h->dictionary.length;
	out->variable_blocks = h->variable_blocks;
	out->has_metadata = h->metadata.present;
	out->has_manifest = ar->manifest.present;
	out->has_signature = h->signature.present;
	out->file_size = hexz_storage_len(ar->storage);
	for (sn = 0; sn < 2; sn++) {
		out->stream_size[sn] = ar->index.streams[sn].size;
		out->block_count[sn] = ar->index.streams[sn].block_count;
		out->page_count[sn] = ar->index.streams[sn].page_count;
	}
	out->parent_count = h->parent_count;
}

const char *
hexz_archive_parent_path(const struct hexz_archive *ar, size_t i)
{
	return ar && i < ar->header.parent_count ? ar->header.parent_paths[i] : NULL;
}

const char *
hexz_archive_location(const struct hexz_archive *ar)
{
	return ar ? ar->location : NULL;
}

uint64_t
hexz_archive_stream_size(const struct hexz_archive *ar, enum hexz_stream stream)
{
	if (!ar || (stream != HEXZ_STREAM_MAIN && stream != HEXZ_STREAM_AUXILIARY))
		return 0;
	return ar->index.streams[stream].size;
}

size_t
hexz_archive_manifest_count(const struct hexz_archive *ar)
{
	return ar && ar->manifest.present ? ar->manifest.tree.files : 0;
}

/* The manifest's tree, or NULL without one. */
static const struct mtree *
tree_of(const struct hexz_archive *ar)
{
	return ar && ar->manifest.present ? &ar->manifest.tree : NULL;
}

uint32_t
hexz_archive_tree_count(const struct hexz_archive *ar)
{
	const struct mtree *t = tree_of(ar);

	return t ? t->count : 0;
}

int
hexz_archive_tree_node(const struct hexz_archive *ar, uint32_t i, struct hexz_tree_node *out)
{
	const struct mtree *t = tree_of(ar);
	const struct mtree_node *n;

	if (!t || !out || i >= t->count)
		return HEXZ_ERR_INVALID_ARGUMENT;
	n = &t->nodes[i];
	memset(out, 0, sizeof(*out));
	out->name = mtree_name(t, i);
	out->parent = n->parent;
	out->is_dir = mtree_is_dir(n);
	if (out->is_dir) {
		out->first_child = n->u.dir.first_child;
		out->child_count = n->u.dir.child_count;
	} else {
		out->offset = n->u.file.offset;
		out->size = n->u.file.size;
		out->mode = n->mode;
		out->mtime = n->mtime;
	}
	return HEXZ_OK;
}

uint32_t
hexz_archive_tree_lookup(const struct hexz_archive *ar, uint32_t dir, const char *name)
{
	const struct mtree *t = tree_of(ar);

	if (!t || !name || dir >= t->count)
		return HEXZ_TREE_NONE;
	return mtree_lookup(t, dir, name);
}

size_t
hexz_archive_tree_path(const struct hexz_archive *ar, uint32_t i, char *buf, size_t cap)
{
	const struct mtree *t = tree_of(ar);

	if (!t || i >= t->count || (!buf && cap)) {
		if (buf && cap)
			buf[0] = '\0';
		return 0;
	}
	return mtree_path(t, i, buf, cap);
}

size_t
hexz_archive_manifest_rejected_count(const struct hexz_archive *ar)
{
	return ar ? ar->manifest.rejected_count : 0;
}

const char *
hexz_archive_manifest_rejected(const struct hexz_archive *ar, size_t i)
{
	if (!ar || i >= ar->manifest.rejected_count || i >= HEXZ_MANIFEST_REJECTIONS_KEPT)
		return NULL;
	return ar->manifest.rejected[i];
}

struct scan_ctx {
	struct hexz_archive_scan *out;
	unsigned int stream;
};

static int
scan_block(void *vctx, const struct located_block *b, const unsigned char hash[BLOCK_HASH_LEN])
{
	struct scan_ctx *ctx = vctx;
	struct hexz_archive_scan *s = ctx->out;

	(void)hash;
	switch (b->kind) {
	case BLOCK_DATA:
		s->data_blocks[ctx->stream]++;
		s->stored_bytes[ctx->stream] += b->desc.length;
		s->data_bytes[ctx->stream] += b->desc.logical_len;
		break;
	case BLOCK_ZERO:
		s->zero_blocks[ctx->stream]++;
		break;
	case BLOCK_PARENT:
		s->parent_blocks[ctx->stream]++;
		break;
	}
	return 0;
}

int
hexz_archive_scan(struct hexz_archive *ar, struct hexz_archive_scan *out, struct hexz_error *err)
{
	struct scan_ctx ctx = { .out = out };
	int ret = HEXZ_OK;

	if (!ar || !out)
		return error_plain(err, HEXZ_ERR_INVALID_ARGUMENT);
	memset(out, 0, sizeof(*out));
	for (ctx.stream = 0; !ret && ctx.stream < 2; ctx.stream++)
		ret = index_walk_blocks(&ar->index, ctx.stream, scan_block, &ctx, err);
	return ret;
}

struct hexz_archive *
hexz_archive_parent(const struct hexz_archive *ar, size_t i)
{
	return ar && i < ar->parent_count ? ar->parents[i] : NULL;
}

void
hexz_archive_trim(struct hexz_archive *ar)
{
	size_t i;

	if (!ar)
		return;
	hexz_storage_trim(ar->storage);
	for (i = 0; i < ar->parent_count; i++)
		hexz_archive_trim(ar->parents[i]);
}
