/* SPDX-License-Identifier: MIT */
/*
 * The block index: the master index read and checked once at open, index
 * pages read on demand, checked against their neighbours, and kept in a
 * small LRU of decoded pages per archive (see index.h).
 */
#include "index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hexz/storage.h>

#include "decode.h"
#include "error_set.h"
#include "header.h"
#include "storage/storage_access.h"

/* The largest stored block accepted: a worst-case compressed HEXZ_MAX_BLOCK_LEN block. */
#define MAX_STORED_LEN (HEXZ_MAX_BLOCK_LEN + (1u << 20))
/* The largest master index accepted (hexz refuses more). */
#define MAX_MASTER_INDEX (64u << 20)

static const char *const stream_names[2] = { "main", "auxiliary" };

struct decoded_entry {
	uint64_t offset;
	uint64_t logical_start;
	uint32_t length;
	uint32_t logical_len;
	uint32_t checksum;
};

struct decoded_page {
	unsigned int stream;
	size_t index;
	uint64_t count;
	uint64_t last_use;
	unsigned char *hashes; /* count * 32 bytes, only for walks */
	struct decoded_entry entries[];
};

static int
corrupt_index(struct hexz_error *err, const char *where, const char *what)
{
	return error_set(err, HEXZ_ERR_CORRUPT_INDEX, "%s: corrupt index: %s", where, what);
}

/* ---- the master index ---- */

struct master_ctx {
	struct archive_index *ix;
	bool failed_alloc;
};

static bool
take_pages(struct cursor *c, struct stream_index *s, bool *failed_alloc)
{
	uint64_t n = take_count(c, PAGE_ENTRY_SIZE);
	size_t i;

	if (c->failed || n == 0)
		return !c->failed;
	/* Bounded by the checked count: no more entries than bytes allow. */
	s->pages = calloc((size_t)n, sizeof(*s->pages));
	if (!s->pages) {
		*failed_alloc = true;
		return false;
	}
	s->page_count = (size_t)n;
	for (i = 0; i < s->page_count; i++) {
		s->pages[i].offset = take_u64(c);
		s->pages[i].length = take_u32(c);
		s->pages[i].start_block = take_u64(c);
		s->pages[i].start_logical = take_u64(c);
	}
	return !c->failed;
}

/* Runs on the mapping under the SIGBUS guard: it allocates only before its last take. */
static int
decode_master(void *vctx, const void *bytes, size_t len)
{
	struct master_ctx *ctx = vctx;
	struct cursor c = cursor_init(bytes, len);
	struct archive_index *ix = ctx->ix;

	if (!take_pages(&c, &ix->streams[HEXZ_STREAM_MAIN], &ctx->failed_alloc) ||
	    !take_pages(&c, &ix->streams[HEXZ_STREAM_AUXILIARY], &ctx->failed_alloc))
		return ctx->failed_alloc ? HEXZ_ERR_NO_MEMORY : HEXZ_ERR_CORRUPT_INDEX;
	ix->streams[HEXZ_STREAM_MAIN].size = take_u64(&c);
	ix->streams[HEXZ_STREAM_AUXILIARY].size = take_u64(&c);
	return c.failed ? HEXZ_ERR_CORRUPT_INDEX : HEXZ_OK;
}

/* The entry count stored at the start of a page, checked against its length. */
static int
read_page_count(const struct archive_index *ix, const struct page_entry *pe, uint64_t *count)
{
	unsigned char raw[8];
	int ret;

	if (pe->length < 8)
		return HEXZ_ERR_CORRUPT_INDEX;
	ret = hexz_storage_read_exact(ix->storage, pe->offset, sizeof(raw), raw);
	if (ret)
		return ret == HEXZ_ERR_END_OF_FILE ? HEXZ_ERR_CORRUPT_INDEX : ret;
	*count = load_le64(raw);
	return HEXZ_OK;
}

/*
 * Check one stream's pages against each other and the file, and derive each
 * page's entry count: from the next page's first block number, and for the
 * last page from the count stored in it.
 */
static int
check_stream(struct archive_index *ix, unsigned int sn, uint64_t first_block,
	     struct hexz_error *err)
{
	struct stream_index *s = &ix->streams[sn];
	char what[160];
	size_t i;
	int ret;

	s->first_block = first_block;
	if (s->page_count == 0) {
		if (s->size != 0) {
			snprintf(what, sizeof(what), "the %s stream has a size but no pages",
				 stream_names[sn]);
			return corrupt_index(err, ix->where, what);
		}
		return HEXZ_OK;
	}
	for (i = 0; i < s->page_count; i++) {
		struct page_entry *pe = &s->pages[i];
		bool last = i + 1 == s->page_count;
		uint64_t next_logical = last ? s->size : pe[1].start_logical;
		uint64_t expect_block = i == 0 ? first_block : pe[-1].start_block + pe[-1].count;

		snprintf(what, sizeof(what), "%s stream, page %zu: ", stream_names[sn], i);
		if (pe->offset < HEADER_SIZE || pe->offset > ix->data_end ||
		    pe->length > ix->data_end - pe->offset)
			return corrupt_index(err, ix->where, strcat(what, "lies outside the data area"));
		if (pe->start_block != expect_block ||
		    (i == 0 ? pe->start_logical != 0 : pe->start_logical <= pe[-1].start_logical) ||
		    next_logical <= pe->start_logical)
			return corrupt_index(err, ix->where,
					     strcat(what, "out of order with its neighbours"));
		if (last) {
			ret = read_page_count(ix, pe, &pe->count);
			if (ret == HEXZ_ERR_IO)
				return error_set(err, ret, "%s: the index could not be read",
						 ix->where);
			if (ret)
				return corrupt_index(err, ix->where, strcat(what, "too short"));
		} else {
			if (pe[1].start_block <= pe->start_block)
				return corrupt_index(err, ix->where,
						     strcat(what, "block numbers out of order"));
			pe->count = pe[1].start_block - pe->start_block;
		}
		/* Every block holds 1 .. HEXZ_MAX_BLOCK_LEN bytes, every entry 52. */
		if (pe->length < 8 || pe->count == 0 ||
		    pe->count > (pe->length - 8) / BLOCK_INFO_SIZE ||
		    next_logical - pe->start_logical < pe->count ||
		    (next_logical - pe->start_logical) / HEXZ_MAX_BLOCK_LEN > pe->count)
			return corrupt_index(err, ix->where,
					     strcat(what, "entry count disagrees with its size"));
	}
	s->block_count = s->pages[s->page_count - 1].start_block +
			 s->pages[s->page_count - 1].count - first_block;
	return HEXZ_OK;
}

struct page_span {
	uint64_t offset, end;
};

static int
compare_spans(const void *va, const void *vb)
{
	const struct page_span *a = va, *b = vb;

	return (a->offset > b->offset) - (a->offset < b->offset);
}

/*
 * No two pages, of either stream, share bytes. hexz writes every page once;
 * a page entry pointing into another page's bytes would have that page's
 * blocks, CRCs and all, answer for its own span: other bytes served with
 * every check passed (found by tests/robustness/gen_hostile.py).
 */
static int
check_pages_apart(const struct archive_index *ix, struct hexz_error *err)
{
	size_t n = ix->streams[0].page_count + ix->streams[1].page_count, k = 0, i;
	struct page_span *spans;
	int ret = HEXZ_OK;

	if (n < 2)
		return HEXZ_OK;
	spans = malloc(n * sizeof(*spans));
	if (!spans)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	for (unsigned int sn = 0; sn < 2; sn++) {
		for (i = 0; i < ix->streams[sn].page_count; i++) {
			const struct page_entry *pe = &ix->streams[sn].pages[i];

			/* Inside the data area, checked by check_stream(): no overflow. */
			spans[k++] = (struct page_span){ pe->offset, pe->offset + pe->length };
		}
	}
	qsort(spans, n, sizeof(*spans), compare_spans);
	for (i = 1; i < n && ret == HEXZ_OK; i++) {
		if (spans[i].offset < spans[i - 1].end)
			ret = corrupt_index(err, ix->where, "two index pages overlap");
	}
	free(spans);
	return ret;
}

int
index_open(struct archive_index *ix, const struct hexz_storage *storage, uint64_t index_offset,
	   bool has_main, bool has_auxiliary, const char *where, struct hexz_error *err)
{
	uint64_t avail = hexz_storage_len(storage) - index_offset;
	struct master_ctx ctx = { .ix = ix };
	struct stream_index *m = &ix->streams[HEXZ_STREAM_MAIN];
	int ret;

	memset(ix, 0, sizeof(*ix));
	ix->storage = storage;
	ix->data_end = index_offset;
	ix->where = where;
	pthread_mutex_init(&ix->lock, NULL);
	if (avail > MAX_MASTER_INDEX)
		avail = MAX_MASTER_INDEX;
	ret = storage_with_bytes(storage, index_offset, (size_t)avail, decode_master, &ctx);
	if (ret == HEXZ_ERR_NO_MEMORY || ret == HEXZ_ERR_IO) {
		error_set(err, ret, "%s: reading the master index: %s", where, hexz_strerror(ret));
		goto fail;
	}
	if (ret) {
		corrupt_index(err, where, "the master index is truncated or invalid");
		goto fail;
	}
	if ((!has_main && (m->page_count || m->size)) ||
	    (!has_auxiliary && (ix->streams[1].page_count || ix->streams[1].size))) {
		ret = corrupt_index(err, where, "a stream the header says is absent has data");
		goto fail;
	}
	ret = check_stream(ix, HEXZ_STREAM_MAIN, 0, err);
	if (!ret)
		ret = check_stream(ix, HEXZ_STREAM_AUXILIARY, m->first_block + m->block_count, err);
	if (!ret)
		ret = check_pages_apart(ix, err);
	if (ret)
		goto fail;
	return HEXZ_OK;

fail:
	index_close(ix);
	return ret;
}

void
index_close(struct archive_index *ix)
{
	size_t i;

	for (i = 0; i < INDEX_PAGE_SLOTS; i++) {
		if (ix->slots[i])
			free(ix->slots[i]->hashes);
		free(ix->slots[i]);
		ix->slots[i] = NULL;
	}
	free(ix->streams[0].pages);
	free(ix->streams[1].pages);
	ix->streams[0].pages = ix->streams[1].pages = NULL;
	pthread_mutex_destroy(&ix->lock);
}

/* ---- index pages ---- */

struct page_ctx {
	const struct archive_index *ix;
	const struct page_entry *pe;
	uint64_t end_logical;
	struct decoded_page *page;
	const char *problem;
};

static const char *
check_entry(const struct archive_index *ix, uint64_t offset, uint32_t length, uint32_t logical_len)
{
	if (logical_len == 0 || logical_len > HEXZ_MAX_BLOCK_LEN)
		return "a block's logical length is 0 or above 16 MiB";
	if (length == 0)
		return offset == 0 || offset == BLOCK_OFFSET_PARENT ? NULL
								    : "an empty block with an offset";
	if (offset < HEADER_SIZE || offset > ix->data_end || length > ix->data_end - offset)
		return "a block lies outside the data area";
	if (length > MAX_STORED_LEN)
		return "a block's stored length exceeds 17 MiB";
	return NULL;
}

/* Runs on the mapping under the SIGBUS guard: writes only into ctx->page. */
static int
decode_page(void *vctx, const void *bytes, size_t len)
{
	struct page_ctx *ctx = vctx;
	struct decoded_page *page = ctx->page;
	const unsigned char *p = bytes;
	uint64_t logical = ctx->pe->start_logical;
	uint64_t i;

	(void)len; /* the caller checked 8 + count * 52 <= len */
	if (load_le64(p) != page->count) {
		ctx->problem = "its entry count disagrees with the master index";
		return HEXZ_ERR_CORRUPT_INDEX;
	}
	p += 8;
	for (i = 0; i < page->count; i++, p += BLOCK_INFO_SIZE) {
		struct decoded_entry *e = &page->entries[i];

		e->offset = load_le64(p);
		e->length = load_le32(p + 8);
		e->logical_len = load_le32(p + 12);
		e->checksum = load_le32(p + 16);
		e->logical_start = logical;
		ctx->problem = check_entry(ctx->ix, e->offset, e->length, e->logical_len);
		if (ctx->problem)
			return HEXZ_ERR_CORRUPT_INDEX;
		if (page->hashes)
			memcpy(page->hashes + i * BLOCK_HASH_LEN, p + 20, BLOCK_HASH_LEN);
		logical += e->logical_len;
	}
	if (logical != ctx->end_logical) {
		ctx->problem = "its blocks do not add up to the span the master index gives it";
		return HEXZ_ERR_CORRUPT_INDEX;
	}
	return HEXZ_OK;
}

/* Read, check and decode page `pi` of stream `sn` into a new allocation. */
static int
load_page(const struct archive_index *ix, unsigned int sn, size_t pi, bool with_hashes,
	  struct decoded_page **out, struct hexz_error *err)
{
	const struct stream_index *s = &ix->streams[sn];
	const struct page_entry *pe = &s->pages[pi];
	struct page_ctx ctx = {
		.ix = ix,
		.pe = pe,
		.end_logical = pi + 1 < s->page_count ? pe[1].start_logical : s->size,
	};
	int ret;

	/* pe->count was checked at open against the page's length. */
	ctx.page = malloc(sizeof(*ctx.page) + (size_t)pe->count * sizeof(struct decoded_entry));
	if (!ctx.page)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	ctx.page->stream = sn;
	ctx.page->index = pi;
	ctx.page->count = pe->count;
	ctx.page->last_use = 0;
	ctx.page->hashes = with_hashes ? malloc((size_t)pe->count * BLOCK_HASH_LEN) : NULL;
	if (with_hashes && !ctx.page->hashes) {
		free(ctx.page);
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	}
	ret = storage_with_bytes(ix->storage, pe->offset, 8 + (size_t)pe->count * BLOCK_INFO_SIZE,
				 decode_page, &ctx);
	if (ret) {
		if (ret == HEXZ_ERR_CORRUPT_INDEX)
			error_set(err, ret, "%s: corrupt index: %s stream, page %zu: %s", ix->where,
				  stream_names[sn], pi, ctx.problem);
		else
			error_set(err, ret, "%s: %s stream, page %zu: %s", ix->where,
				  stream_names[sn], pi, hexz_strerror(ret));
		free(ctx.page->hashes);
		free(ctx.page);
		return ret;
	}
	*out = ctx.page;
	return HEXZ_OK;
}

/* The cached decoded page, loading it into the least recently used slot. Lock held. */
static int
get_page(struct archive_index *ix, unsigned int sn, size_t pi, struct decoded_page **out,
	 struct hexz_error *err)
{
	size_t i, victim = 0;
	int ret;

	for (i = 0; i < INDEX_PAGE_SLOTS; i++) {
		struct decoded_page *p = ix->slots[i];

		if (p && p->stream == sn && p->index == pi) {
			p->last_use = ++ix->clock;
			*out = p;
			return HEXZ_OK;
		}
		if (!p || (ix->slots[victim] && p->last_use < ix->slots[victim]->last_use))
			victim = i;
	}
	ret = load_page(ix, sn, pi, false, out, err);
	if (ret)
		return ret;
	free(ix->slots[victim]);
	ix->slots[victim] = *out;
	(*out)->last_use = ++ix->clock;
	return HEXZ_OK;
}

/* The last page of `s` whose first byte is at or before `offset`. */
static size_t
page_for_offset(const struct stream_index *s, uint64_t offset)
{
	size_t lo = 0, hi = s->page_count;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->pages[mid].start_logical <= offset)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static size_t
entry_for_offset(const struct decoded_page *p, uint64_t offset)
{
	size_t lo = 0, hi = (size_t)p->count;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->entries[mid].logical_start <= offset)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static void
describe(const struct archive_index *ix, const struct decoded_page *p, size_t i,
	 struct located_block *out)
{
	const struct decoded_entry *e = &p->entries[i];
	const struct page_entry *pe = &ix->streams[p->stream].pages[p->index];

	out->kind = e->length ? BLOCK_DATA : e->offset == 0 ? BLOCK_ZERO : BLOCK_PARENT;
	out->desc.number = pe->start_block + i;
	out->desc.logical_start = e->logical_start;
	out->desc.offset = e->offset;
	out->desc.length = e->length;
	out->desc.logical_len = e->logical_len;
	out->desc.checksum = e->checksum;
	out->desc.stream = (uint8_t)p->stream;
	out->hash_offset = pe->offset + 8 + (uint64_t)i * BLOCK_INFO_SIZE + 20;
}

int
index_locate(struct archive_index *ix, enum hexz_stream stream, uint64_t offset, uint64_t len,
	     struct located_block *out, size_t max, size_t *n, struct hexz_error *err)
{
	const struct stream_index *s = &ix->streams[stream];
	uint64_t end = offset + len;
	size_t pi = page_for_offset(s, offset);
	size_t filled = 0;
	int ret = HEXZ_OK;

	pthread_mutex_lock(&ix->lock);
	while (filled < max && offset < end && pi < s->page_count) {
		struct decoded_page *p;
		size_t i;

		ret = get_page(ix, stream, pi, &p, err);
		if (ret)
			break;
		for (i = entry_for_offset(p, offset); i < p->count && filled < max && offset < end;
		     i++) {
			describe(ix, p, i, &out[filled++]);
			offset = p->entries[i].logical_start + p->entries[i].logical_len;
		}
		pi++;
	}
	pthread_mutex_unlock(&ix->lock);
	*n = filled;
	return ret;
}

int
index_locate_number(struct archive_index *ix, uint64_t number, struct located_block *out,
		    struct hexz_error *err)
{
	unsigned int sn;

	for (sn = 0; sn < 2; sn++) {
		const struct stream_index *s = &ix->streams[sn];
		size_t lo = 0, hi = s->page_count;
		struct decoded_page *p;
		int ret;

		if (s->page_count == 0 || number < s->first_block ||
		    number - s->first_block >= s->block_count)
			continue;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (s->pages[mid].start_block <= number)
				lo = mid;
			else
				hi = mid;
		}
		pthread_mutex_lock(&ix->lock);
		ret = get_page(ix, sn, lo, &p, err);
		if (!ret)
			describe(ix, p, (size_t)(number - s->pages[lo].start_block), out);
		pthread_mutex_unlock(&ix->lock);
		return ret;
	}
	return error_set(err, HEXZ_ERR_CORRUPT_INDEX, "%s: corrupt index: no block %llu", ix->where,
			 (unsigned long long)number);
}

int
index_walk_blocks(struct archive_index *ix, enum hexz_stream stream, index_walk_fn fn,
		       void *ctx, struct hexz_error *err)
{
	const struct stream_index *s = &ix->streams[stream];
	size_t pi, i;
	int ret = HEXZ_OK;

	for (pi = 0; pi < s->page_count && !ret; pi++) {
		struct decoded_page *p;
		struct located_block b;

		ret = load_page(ix, stream, pi, true, &p, err);
		if (ret)
			break;
		for (i = 0; i < p->count && !ret; i++) {
			describe(ix, p, i, &b);
			ret = fn(ctx, &b, p->hashes + i * BLOCK_HASH_LEN);
		}
		free(p->hashes);
		free(p);
	}
	return ret;
}
