/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the listing parsers (core/storage/listing_html.c, listing_s3.c).
 *
 * Input: byte 0 chooses the parser and its settings: bit 0 S3 (else
 * HTML), bit 1 small caps (3 entries, 2 pages, depth 8, 2 KiB per
 * response; else 64 entries, 8 pages, the default depth, 64 KiB), bit 2
 * the S3 prefix "snap/" (else ""). Bytes 1 and 2 choose where each
 * document is cut in two. The rest is the HTML index, or the S3 pages
 * separated by "\0PAGE\0". The S3 rest is also given to
 * listing_s3_error_parse().
 *
 * Invariants besides "no crash, no leak, no undefined behaviour":
 *  - on failure the status is negative, a message says why, and the
 *    listing is empty; on success every name shown is one valid path
 *    component (listing_name_valid(), no NUL inside), appears once, files
 *    end in ".hxz", directories have no size, sizes are -1 or >= 0, HTML
 *    entries have neither date nor ETag, ETags have no control byte, and
 *    there are at most max_entries entries after at most max_pages pages;
 *  - S3: the pages parsed whole and cut in two give the same status and
 *    the same listing (entries, fields, skip counts); when a page is over
 *    the byte cap, both fail but possibly with different errors (the
 *    parser reports the first it meets: a syntax error in a first piece
 *    comes before the cap is crossed);
 *  - an S3 error document's code and message have no control byte.
 */
#define _GNU_SOURCE
#include <limits.h>

#include <hexz/common.h>

#include "fuzz.h"
#include "storage/listing.h"

#define BASE_URL "http://127.0.0.1:8080/list/"
#define PAGE_SEP "\0PAGE\0"
#define PAGE_SEP_LEN 6
#define MAX_DOCS 8

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static bool
has_control(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

static void
check_listing(int rc, const struct hexz_error *err, const struct listing *l,
	      const struct listing_limits *lim, bool html)
{
	if (rc) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(err->message[0] != '\0');
		FUZZ_CHECK(l->count == 0 && l->entries == NULL);
		return;
	}
	FUZZ_CHECK(l->count <= lim->max_entries);
	for (size_t i = 0; i < l->count; i++) {
		const struct listing_entry *e = &l->entries[i];
		size_t n = strlen(e->name);

		FUZZ_CHECK(listing_name_valid(e->name, n));
		FUZZ_CHECK(n <= NAME_MAX);
		if (e->is_dir)
			FUZZ_CHECK(e->size == LISTING_SIZE_UNKNOWN);
		else
			FUZZ_CHECK(n >= 4 && strcmp(e->name + n - 4, ".hxz") == 0);
		FUZZ_CHECK(e->size >= LISTING_SIZE_UNKNOWN);
		FUZZ_CHECK(!has_control(e->etag));
		if (html)
			FUZZ_CHECK(!e->has_mtime && !e->etag);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(e->name, l->entries[j].name) != 0);
		FUZZ_CHECK(listing_find(l, e->name) == e);
	}
}

static bool
same_listing(const struct listing *a, const struct listing *b)
{
	if (a->count != b->count || memcmp(a->skipped, b->skipped, sizeof(a->skipped)) != 0)
		return false;
	for (size_t i = 0; i < a->count; i++) {
		const struct listing_entry *x = &a->entries[i], *y = &b->entries[i];

		if (strcmp(x->name, y->name) || x->is_dir != y->is_dir || x->size != y->size ||
		    x->has_mtime != y->has_mtime || (x->has_mtime && x->mtime != y->mtime) ||
		    !x->etag != !y->etag || (x->etag && strcmp(x->etag, y->etag)))
			return false;
	}
	return true;
}

static void
fuzz_html(const char *doc, size_t len, size_t cut, const struct listing_limits *lim)
{
	struct listing_html *h;
	struct listing l;
	struct hexz_error err = { 0 };
	int rc;

	FUZZ_CHECK(listing_html_begin(BASE_URL, lim, &h, &err) == 0);
	rc = listing_html_feed(h, doc, cut, &err);
	if (rc == 0)
		rc = listing_html_feed(h, doc + cut, len - cut, &err);
	if (rc == 0)
		rc = listing_html_end(h, &l, &err);
	else
		memset(&l, 0, sizeof(l));
	listing_html_free(h);
	check_listing(rc, &err, &l, lim, true);
	listing_free(&l);
}

struct doc {
	const char *p;
	size_t n;
};

/* All the pages through one S3 listing, each cut at cut % (its length + 1), or whole (SIZE_MAX). */
static int
s3_run(const char *prefix, const struct doc *docs, size_t ndocs, size_t cut,
       const struct listing_limits *lim, struct listing *out, struct hexz_error *err)
{
	struct listing_s3 *s;
	const char *token = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	FUZZ_CHECK(listing_s3_begin(prefix, lim, &s, err) == 0);
	rc = 0;
	for (size_t i = 0; i < ndocs && rc == 0; i++) {
		size_t c = cut == SIZE_MAX ? docs[i].n : cut % (docs[i].n + 1);

		rc = listing_s3_feed(s, docs[i].p, c, err);
		if (rc == 0)
			rc = listing_s3_feed(s, docs[i].p + c, docs[i].n - c, err);
		if (rc == 0)
			rc = listing_s3_page_end(s, &token, err);
		if (rc == 0) {
			FUZZ_CHECK(listing_s3_pages(s) == i + 1);
			FUZZ_CHECK(listing_s3_pages(s) <= lim->max_pages);
			if (!token)
				break;
			FUZZ_CHECK(token[0] != '\0');
		}
	}
	if (rc == 0 && token) {
		/* The parser asks for a page the input does not have. */
		listing_s3_free(s);
		return 1;
	}
	if (rc == 0)
		rc = listing_s3_end(s, out, err);
	listing_s3_free(s);
	return rc;
}

static void
fuzz_s3(const char *prefix, const char *data, size_t len, size_t cut,
	const struct listing_limits *lim)
{
	struct doc docs[MAX_DOCS];
	size_t ndocs = 0;
	const char *p = data, *end = data + len;
	struct listing whole, split;
	struct hexz_error err1 = { 0 }, err2 = { 0 };
	char *code, *message;
	int rc1, rc2;
	bool oversized = false;

	while (ndocs < MAX_DOCS) {
		const char *sep = memmem(p, (size_t)(end - p), PAGE_SEP, PAGE_SEP_LEN);

		docs[ndocs].p = p;
		docs[ndocs].n = sep && ndocs + 1 < MAX_DOCS ? (size_t)(sep - p) : (size_t)(end - p);
		ndocs++;
		if (!sep || ndocs == MAX_DOCS)
			break;
		p = sep + PAGE_SEP_LEN;
	}
	rc1 = s3_run(prefix, docs, ndocs, SIZE_MAX, lim, &whole, &err1);
	rc2 = s3_run(prefix, docs, ndocs, cut, lim, &split, &err2);
	for (size_t i = 0; i < ndocs; i++)
		oversized |= docs[i].n > lim->max_response_bytes;
	FUZZ_CHECK(rc1 == rc2 || (oversized && rc1 < 0 && rc2 < 0));
	if (rc1 != 1) {
		check_listing(rc1, &err1, &whole, lim, false);
		check_listing(rc2, &err2, &split, lim, false);
	}
	FUZZ_CHECK(same_listing(&whole, &split));
	listing_free(&whole);
	listing_free(&split);

	if (listing_s3_error_parse(data, len, &code, &message) == 0) {
		FUZZ_CHECK(!has_control(code) && !has_control(message));
		free(code);
		free(message);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t flags = fuzz_u8(&in);
	size_t cut = (size_t)fuzz_uint(&in, 2);
	struct listing_limits lim = listing_limits_default();
	char *doc = fuzz_strndup(in.p, in.n);

	if (flags & 2) {
		lim.max_entries = 3;
		lim.max_pages = 2;
		lim.max_depth = 8;
		lim.max_response_bytes = 2048;
	} else {
		lim.max_entries = 64;
		lim.max_pages = 8;
		lim.max_response_bytes = 64 * 1024;
	}
	if (flags & 1)
		fuzz_s3(flags & 4 ? "snap/" : "", doc, in.n, cut, &lim);
	else
		fuzz_html(doc, in.n, in.n ? cut % (in.n + 1) : 0, &lim);
	free(doc);
	return 0;
}
