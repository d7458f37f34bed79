/* SPDX-License-Identifier: MIT */
/*
 * S3 ListObjectsV2 pages and S3 error documents (see listing.h), parsed by
 * libxml2's SAX2 push parser: no tree, text kept only for the elements
 * read, each capped at LISTING_MAX_TEXT_BYTES.
 *
 * A page's keys are kept raw until its end, because EncodingType may come
 * after them (RGW sends it first, AWS's order differs). With
 * EncodingType "url", keys and prefixes are decoded as the AWS SDKs decode
 * them: '+' is a space, then percent-decoding (libcurl's
 * curl_easy_unescape()); a literal '+' comes as "%2B".
 *
 * Documents with a DTD are refused (S3 never sends one), entities are
 * not substituted, nothing is loaded from the network.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include <hexz/common.h>

#include "error_set.h"
#include "listing.h"

/* Keys and prefixes in one page: S3 sends at most 1000 (max-keys). */
#define PAGE_ITEMS_MAX 10000u
/* An error document is a few hundred bytes. */
#define ERROR_DOC_MAX (64 * 1024)
#define FEED_PIECE (64 * 1024)

/* The elements whose text is read. */
enum field {
	F_NONE,
	F_IS_TRUNCATED,
	F_NEXT_TOKEN,
	F_KEY_COUNT,
	F_ENCODING,
	F_KEY,
	F_SIZE,
	F_MTIME,
	F_ETAG,
	F_PREFIX,
	F_CODE,
	F_MESSAGE,
	F_COUNT
};

enum root {
	ROOT_NONE,
	ROOT_LIST,
	ROOT_ERROR,
	ROOT_OTHER,
};

/* One Contents or CommonPrefixes of a page, as sent. */
struct raw_item {
	bool is_prefix;
	char *key;
	char *size;
	char *mtime;
	char *etag;
};

/* What one document holds. */
struct page {
	xmlParserCtxtPtr ctxt;
	size_t fed;
	size_t depth;
	enum root root;
	/* Inside Contents (2) or CommonPrefixes (3), at depth 2. */
	int container;
	enum field field;
	char text[LISTING_MAX_TEXT_BYTES];
	size_t text_len;
	/* Top-level fields, and the current item's. */
	char *top[F_COUNT];
	struct raw_item item;
	struct raw_item *items;
	size_t item_count;
	size_t item_cap;
	int status;
	struct hexz_error error;
	/* For messages. */
	const char *what;
	const struct listing_limits *limits;
};

struct listing_s3 {
	char *prefix;
	size_t prefix_len;
	char *what;
	struct listing_limits limits;
	struct listing listing;
	struct page page;
	bool page_open;
	size_t pages;
	char **tokens;
	size_t token_count;
	bool complete;
	int status;
	struct hexz_error error;
};

/* --- One document ---------------------------------------------------- */

static void
raw_item_free(struct raw_item *it)
{
	free(it->key);
	free(it->size);
	free(it->mtime);
	free(it->etag);
	memset(it, 0, sizeof(*it));
}

static void
page_free(struct page *p)
{
	if (p->ctxt)
		xmlFreeParserCtxt(p->ctxt);
	for (int i = 0; i < F_COUNT; i++)
		free(p->top[i]);
	raw_item_free(&p->item);
	for (size_t i = 0; i < p->item_count; i++)
		raw_item_free(&p->items[i]);
	free(p->items);
	memset(p, 0, sizeof(*p));
}

static void
page_fail(struct page *p, int status)
{
	if (p->status == 0)
		p->status = status;
	if (p->ctxt)
		xmlStopParser(p->ctxt);
}

static bool
is(const xmlChar *name, const char *what)
{
	return strcmp((const char *)name, what) == 0;
}

/* Which field an element at the current depth is, F_NONE when not read. */
static enum field
field_of(const struct page *p, const xmlChar *name)
{
	if (p->root == ROOT_ERROR && p->depth == 2)
		return is(name, "Code") ? F_CODE : is(name, "Message") ? F_MESSAGE : F_NONE;
	if (p->root != ROOT_LIST)
		return F_NONE;
	if (p->depth == 2) {
		if (is(name, "IsTruncated"))
			return F_IS_TRUNCATED;
		if (is(name, "NextContinuationToken"))
			return F_NEXT_TOKEN;
		if (is(name, "KeyCount"))
			return F_KEY_COUNT;
		if (is(name, "EncodingType"))
			return F_ENCODING;
		return F_NONE;
	}
	if (p->depth == 3 && p->container == 2) {
		if (is(name, "Key"))
			return F_KEY;
		if (is(name, "Size"))
			return F_SIZE;
		if (is(name, "LastModified"))
			return F_MTIME;
		if (is(name, "ETag"))
			return F_ETAG;
	}
	if (p->depth == 3 && p->container == 3 && is(name, "Prefix"))
		return F_PREFIX;
	return F_NONE;
}

static void
on_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
	 int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
	 const xmlChar **attributes)
{
	struct page *p = ctx;

	(void)prefix, (void)uri, (void)nb_namespaces, (void)namespaces;
	(void)nb_attributes, (void)nb_defaulted, (void)attributes;
	if (p->status)
		return;
	if (++p->depth > p->limits->max_depth) {
		page_fail(p, error_set(&p->error, HEXZ_ERR_LIMIT,
				       "listing of %s: elements nested deeper than %zu", p->what,
				       p->limits->max_depth));
		return;
	}
	if (p->field != F_NONE) {
		page_fail(p, error_set(&p->error, HEXZ_ERR_IO,
				       "listing of %s: element <%s> inside a text field", p->what,
				       (const char *)name));
		return;
	}
	if (p->depth == 1) {
		p->root = is(name, "ListBucketResult") ? ROOT_LIST
			  : is(name, "Error")	       ? ROOT_ERROR
						       : ROOT_OTHER;
		return;
	}
	if (p->depth == 2 && p->root == ROOT_LIST) {
		if (is(name, "Contents"))
			p->container = 2;
		else if (is(name, "CommonPrefixes"))
			p->container = 3;
	}
	p->field = field_of(p, name);
	p->text_len = 0;
}

/* The text of the field just ended, malloc()ed, into *slot (a second one is an error). */
static void
store(struct page *p, char **slot, const xmlChar *name)
{
	if (*slot) {
		page_fail(p, error_set(&p->error, HEXZ_ERR_IO, "listing of %s: <%s> given twice",
				       p->what, (const char *)name));
		return;
	}
	*slot = strndup(p->text, p->text_len);
	if (!*slot)
		page_fail(p, error_plain(&p->error, HEXZ_ERR_NO_MEMORY));
}

static char **
item_slot(struct page *p, enum field f)
{
	switch (f) {
	case F_KEY:
	case F_PREFIX:
		return &p->item.key;
	case F_SIZE:
		return &p->item.size;
	case F_MTIME:
		return &p->item.mtime;
	case F_ETAG:
		return &p->item.etag;
	default:
		return &p->top[f];
	}
}

static void
end_item(struct page *p)
{
	struct raw_item *grown;

	if (p->item_count == p->item_cap) {
		size_t cap = p->item_cap ? p->item_cap * 2 : 64;

		if (p->item_count >= PAGE_ITEMS_MAX) {
			page_fail(p, error_set(&p->error, HEXZ_ERR_LIMIT,
					       "listing of %s: more than %u keys in one page",
					       p->what, PAGE_ITEMS_MAX));
			return;
		}
		grown = reallocarray(p->items, cap, sizeof(*grown));
		if (!grown) {
			page_fail(p, error_plain(&p->error, HEXZ_ERR_NO_MEMORY));
			return;
		}
		p->items = grown;
		p->item_cap = cap;
	}
	p->item.is_prefix = p->container == 3;
	p->items[p->item_count++] = p->item;
	memset(&p->item, 0, sizeof(p->item));
}

static void
on_end(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri)
{
	struct page *p = ctx;

	(void)prefix, (void)uri;
	if (p->status)
		return;
	if (p->field != F_NONE) {
		store(p, item_slot(p, p->field), name);
		p->field = F_NONE;
	} else if (p->depth == 2 && p->container) {
		end_item(p);
		p->container = 0;
	}
	p->depth--;
}

static void
on_text(void *ctx, const xmlChar *text, int len)
{
	struct page *p = ctx;

	if (p->status || p->field == F_NONE || len <= 0)
		return;
	if ((size_t)len > sizeof(p->text) - p->text_len) {
		page_fail(p, error_set(&p->error, HEXZ_ERR_LIMIT,
				       "listing of %s: an element's text is longer than %zu bytes",
				       p->what, sizeof(p->text)));
		return;
	}
	memcpy(p->text + p->text_len, text, (size_t)len);
	p->text_len += (size_t)len;
}

static void
on_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
	struct page *p = ctx;

	(void)name, (void)external_id, (void)system_id;
	page_fail(p, error_set(&p->error, HEXZ_ERR_IO,
			       "listing of %s: the response has a DTD, which S3 never sends",
			       p->what));
}

static void
on_error(void *ctx, xmlErrorPtr e)
{
	struct page *p = ctx;
	size_t n;
	char msg[128];

	if (e->level != XML_ERR_FATAL && e->level != XML_ERR_ERROR)
		return;
	snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "error");
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	page_fail(p,
		  error_set(&p->error, HEXZ_ERR_IO, "listing of %s: malformed XML at line %d: %s",
			    p->what, e->line, msg));
}

static int
page_begin(struct page *p, const char *what, const struct listing_limits *limits,
	   struct hexz_error *err)
{
	xmlSAXHandler sax;

	memset(p, 0, sizeof(*p));
	p->what = what;
	p->limits = limits;
	xmlInitParser();
	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	sax.internalSubset = on_dtd;
	sax.externalSubset = on_dtd;
	sax.serror = on_error;
	p->ctxt = xmlCreatePushParserCtxt(&sax, p, NULL, 0, NULL);
	if (!p->ctxt)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	/* Deliberately not XML_PARSE_NOENT, XML_PARSE_DTDLOAD or XML_PARSE_HUGE. */
	xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	return 0;
}

static int
page_feed(struct page *p, const char *data, size_t len, size_t max, struct hexz_error *err)
{
	if (!p->status && len > max - p->fed)
		page_fail(p, error_set(&p->error, HEXZ_ERR_LIMIT,
				       "listing of %s: a response is larger than %zu bytes",
				       p->what, max));
	if (!p->status)
		p->fed += len;
	while (len && !p->status) {
		int n = len > FEED_PIECE ? FEED_PIECE : (int)len;

		xmlParseChunk(p->ctxt, data, n, 0);
		data += n;
		len -= (size_t)n;
	}
	if (p->status && err)
		*err = p->error;
	return p->status;
}

/* The end of the document: 0 when it was a well-formed one. */
static int
page_finish(struct page *p, struct hexz_error *err)
{
	if (!p->status) {
		xmlParseChunk(p->ctxt, NULL, 0, 1);
		if (!p->status && (!p->ctxt->wellFormed || p->root == ROOT_NONE))
			page_fail(p, error_set(&p->error, HEXZ_ERR_IO,
					       "listing of %s: the response is not an XML document",
					       p->what));
	}
	if (p->status && err)
		*err = p->error;
	return p->status;
}

/* --- S3 error documents ---------------------------------------------- */

static char *
printable_copy(const char *s)
{
	char *c;

	if (!s)
		return NULL;
	c = strdup(s);
	for (char *q = c; q && *q; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q == 0x7f)
			*q = '?';
	return c;
}

int
listing_s3_error_parse(const char *data, size_t len, char **code, char **message)
{
	struct listing_limits limits = listing_limits_default();
	struct page p;
	int rc;

	*code = NULL;
	*message = NULL;
	rc = page_begin(&p, "an S3 error", &limits, NULL);
	if (rc == 0)
		rc = page_feed(&p, data, len, ERROR_DOC_MAX, NULL);
	if (rc == 0)
		rc = page_finish(&p, NULL);
	if (rc == 0 && p.root != ROOT_ERROR)
		rc = HEXZ_ERR_IO;
	if (rc == 0) {
		*code = printable_copy(p.top[F_CODE]);
		*message = printable_copy(p.top[F_MESSAGE]);
		if ((p.top[F_CODE] && !*code) || (p.top[F_MESSAGE] && !*message)) {
			free(*code);
			free(*message);
			*code = *message = NULL;
			rc = HEXZ_ERR_NO_MEMORY;
		}
	}
	page_free(&p);
	return rc;
}

/* --- The listing ----------------------------------------------------- */

void
listing_s3_free(struct listing_s3 *s)
{
	if (!s)
		return;
	page_free(&s->page);
	for (size_t i = 0; i < s->token_count; i++)
		free(s->tokens[i]);
	free(s->tokens);
	free(s->prefix);
	free(s->what);
	listing_free(&s->listing);
	free(s);
}

int
listing_s3_begin(const char *prefix, const struct listing_limits *limits, struct listing_s3 **out,
		 struct hexz_error *err)
{
	struct listing_s3 *s;
	size_t n;

	*out = NULL;
	if (!prefix)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "S3 listing: no prefix");
	n = strlen(prefix);
	if (n && prefix[n - 1] != '/')
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "S3 listing: the prefix '%s' does not end in '/'", prefix);
	s = calloc(1, sizeof(*s));
	if (!s)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	s->limits = limits ? *limits : listing_limits_default();
	s->prefix = strdup(prefix);
	if (!s->prefix || asprintf(&s->what, "prefix '%s'", prefix) < 0) {
		s->what = NULL;
		listing_s3_free(s);
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	}
	s->prefix_len = n;
	*out = s;
	return 0;
}

static int
s3_fail(struct listing_s3 *s, int status, const struct hexz_error *e, struct hexz_error *err)
{
	if (!s->status) {
		s->status = status;
		s->error = *e;
	}
	if (err)
		*err = s->error;
	return s->status;
}

int
listing_s3_feed(struct listing_s3 *s, const char *data, size_t len, struct hexz_error *err)
{
	struct hexz_error e = { 0 };
	int rc;

	if (s->status)
		return s3_fail(s, s->status, &s->error, err);
	if (s->complete)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "listing of %s: a page after the last one", s->what);
	if (!s->page_open) {
		rc = page_begin(&s->page, s->what, &s->limits, &e);
		if (rc)
			return s3_fail(s, rc, &e, err);
		s->page_open = true;
	}
	rc = page_feed(&s->page, data, len, s->limits.max_response_bytes, &e);
	return rc ? s3_fail(s, rc, &e, err) : 0;
}

/* A key or prefix as sent into its unencoded bytes; NULL without memory. */
static char *
decode_key(const char *raw, bool url_encoded, size_t *len)
{
	char *plus, *out;
	int n = 0;

	if (!url_encoded) {
		*len = strlen(raw);
		return strdup(raw);
	}
	plus = strdup(raw);
	if (!plus)
		return NULL;
	for (char *q = plus; *q; q++)
		if (*q == '+')
			*q = ' ';
	/* Short: the text of one element is at most LISTING_MAX_TEXT_BYTES. */
	out = curl_easy_unescape(NULL, plus, (int)strlen(plus), &n);
	free(plus);
	if (!out)
		return NULL;
	*len = (size_t)n;
	return out;
}

/* A Size: decimal digits, within int64_t. */
static bool
parse_size(const char *t, int64_t *out)
{
	char *end;
	long long v;

	if (!t || !*t)
		return false;
	for (const char *q = t; *q; q++)
		if (*q < '0' || *q > '9')
			return false;
	errno = 0;
	v = strtoll(t, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* A LastModified: ISO 8601 in UTC, "2026-12-04T18:56:17.645Z" (fraction optional). */
static bool
parse_time(const char *t, time_t *out)
{
	struct tm tm;
	const char *rest;

	if (!t)
		return false;
	memset(&tm, 0, sizeof(tm));
	rest = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return false;
	if (*rest == '.') {
		rest++;
		if (*rest < '0' || *rest > '9')
			return false;
		while (*rest >= '0' && *rest <= '9')
			rest++;
	}
	if (strcmp(rest, "Z") != 0)
		return false;
	*out = timegm(&tm);
	return *out != (time_t)-1 || (tm.tm_year == 69 && tm.tm_yday == 364);
}

/* An ETag without its quotes into *out (NULL when none); false when unusable in a header. */
static bool
etag_unquote(const char *t, char **out)
{
	size_t n;

	*out = NULL;
	if (!t)
		return true;
	for (const char *q = t; *q; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q == 0x7f)
			return false;
	n = strlen(t);
	if (n >= 2 && t[0] == '"' && t[n - 1] == '"') {
		t++;
		n -= 2;
	}
	if (n == 0)
		return true;
	*out = strndup(t, n);
	return *out != NULL;
}

/* Add one item of a finished page to the listing. */
static int
add_item(struct listing_s3 *s, const struct raw_item *it, bool url_encoded, struct hexz_error *err)
{
	char *key, *etag = NULL;
	const char *rel;
	size_t len, rel_len, index;
	int64_t size = LISTING_SIZE_UNKNOWN;
	time_t mtime = 0;
	bool has_mtime = false, is_dir = it->is_prefix;
	int rc = 0;

	if (!it->key) {
		listing_skip(&s->listing, LISTING_SKIP_MALFORMED);
		return 0;
	}
	key = decode_key(it->key, url_encoded, &len);
	if (!key)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	if (len < s->prefix_len || memcmp(key, s->prefix, s->prefix_len) != 0) {
		listing_skip(&s->listing, LISTING_SKIP_OUTSIDE);
		goto out;
	}
	rel = key + s->prefix_len;
	rel_len = len - s->prefix_len;
	if (is_dir) {
		if (rel_len == 0 || rel[rel_len - 1] != '/') {
			listing_skip(&s->listing,
				     rel_len == 0 ? LISTING_SKIP_BAD_NAME : LISTING_SKIP_MALFORMED);
			goto out;
		}
		rel_len--;
	} else {
		if (!parse_size(it->size, &size) || !etag_unquote(it->etag, &etag)) {
			listing_skip(&s->listing, LISTING_SKIP_BAD_FIELD);
			goto out;
		}
		has_mtime = parse_time(it->mtime, &mtime);
	}
	if (rel_len && memchr(rel, '/', rel_len)) {
		listing_skip(&s->listing, LISTING_SKIP_DEEPER);
		goto out;
	}
	rc = listing_add(&s->listing, s->limits.max_entries, s->what, rel, rel_len, is_dir, size,
			 etag, &index, err);
	if (rc == 0 && index != SIZE_MAX) {
		s->listing.entries[index].has_mtime = has_mtime;
		s->listing.entries[index].mtime = mtime;
	}
out:
	free(etag);
	curl_free(key);
	return rc;
}

static bool
token_seen(const struct listing_s3 *s, const char *token)
{
	for (size_t i = 0; i < s->token_count; i++)
		if (strcmp(s->tokens[i], token) == 0)
			return true;
	return false;
}

/* The page is a well-formed ListBucketResult: take its entries and its token. */
static int
take_page(struct listing_s3 *s, const char **next_token, struct hexz_error *err)
{
	struct page *p = &s->page;
	const char *truncated = p->top[F_IS_TRUNCATED], *token = p->top[F_NEXT_TOKEN];
	const char *encoding = p->top[F_ENCODING];
	bool more, url_encoded = false;
	int64_t key_count;
	char **grown, *copy;
	int rc;

	if (!truncated || (strcmp(truncated, "true") != 0 && strcmp(truncated, "false") != 0))
		return error_set(err, HEXZ_ERR_IO,
				 "listing of %s: page %zu has no valid IsTruncated", s->what,
				 s->pages + 1);
	more = strcmp(truncated, "true") == 0;
	if (encoding) {
		if (strcmp(encoding, "url") != 0)
			return error_set(err, HEXZ_ERR_IO,
					 "listing of %s: unknown EncodingType '%.32s'", s->what,
					 encoding);
		url_encoded = true;
	}
	/* AWS counts keys and common prefixes; Ceph RGW 16 sends no KeyCount. */
	if (p->top[F_KEY_COUNT] &&
	    (!parse_size(p->top[F_KEY_COUNT], &key_count) || (uint64_t)key_count != p->item_count))
		return error_set(err, HEXZ_ERR_IO,
				 "listing of %s: page %zu says KeyCount %.32s but holds %zu keys",
				 s->what, s->pages + 1, p->top[F_KEY_COUNT], p->item_count);
	if (more && (!token || !*token))
		return error_set(
			err, HEXZ_ERR_IO,
			"listing of %s: page %zu is truncated but has no NextContinuationToken",
			s->what, s->pages + 1);
	if (more && token_seen(s, token))
		return error_set(err, HEXZ_ERR_IO,
				 "listing of %s: page %zu repeats an earlier continuation token "
				 "(the server's pagination loops)",
				 s->what, s->pages + 1);
	if (more && s->pages + 1 >= s->limits.max_pages)
		return error_set(err, HEXZ_ERR_LIMIT, "listing of %s: more than %zu pages", s->what,
				 s->limits.max_pages);
	for (size_t i = 0; i < p->item_count; i++) {
		rc = add_item(s, &p->items[i], url_encoded, err);
		if (rc)
			return rc;
	}
	s->pages++;
	if (!more) {
		s->complete = true;
		*next_token = NULL;
		return 0;
	}
	copy = strdup(token);
	grown = reallocarray(s->tokens, s->token_count + 1, sizeof(*grown));
	if (!copy || !grown) {
		free(copy);
		if (grown)
			s->tokens = grown;
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	}
	s->tokens = grown;
	s->tokens[s->token_count++] = copy;
	*next_token = copy;
	return 0;
}

int
listing_s3_page_end(struct listing_s3 *s, const char **next_token, struct hexz_error *err)
{
	struct hexz_error e = { 0 };
	int rc;

	*next_token = NULL;
	if (s->status)
		return s3_fail(s, s->status, &s->error, err);
	if (s->complete)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "listing of %s: a page after the last one", s->what);
	if (!s->page_open) {
		/* An empty body: a page nonetheless, and a malformed one. */
		rc = page_begin(&s->page, s->what, &s->limits, &e);
		if (rc)
			return s3_fail(s, rc, &e, err);
	}
	s->page_open = false;
	rc = page_finish(&s->page, &e);
	if (rc == 0 && s->page.root == ROOT_ERROR) {
		rc = error_set(&e, HEXZ_ERR_IO, "listing of %s: S3 error %s: %s", s->what,
			       s->page.top[F_CODE] ? s->page.top[F_CODE] : "(no code)",
			       s->page.top[F_MESSAGE] ? s->page.top[F_MESSAGE] : "(no message)");
		/* Control bytes from the server stay out of messages. */
		for (char *q = e.message; *q; q++)
			if ((unsigned char)*q < 0x20 || (unsigned char)*q == 0x7f)
				*q = '?';
	} else if (rc == 0 && s->page.root != ROOT_LIST) {
		rc = error_set(&e, HEXZ_ERR_IO,
			       "listing of %s: the response is not a ListBucketResult", s->what);
	}
	if (rc == 0)
		rc = take_page(s, next_token, &e);
	page_free(&s->page);
	return rc ? s3_fail(s, rc, &e, err) : 0;
}

int
listing_s3_end(struct listing_s3 *s, struct listing *out, struct hexz_error *err)
{
	memset(out, 0, sizeof(*out));
	if (s->status)
		return s3_fail(s, s->status, &s->error, err);
	if (!s->complete)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "listing of %s: ended before its last page", s->what);
	*out = s->listing;
	memset(&s->listing, 0, sizeof(s->listing));
	return 0;
}

size_t
listing_s3_pages(const struct listing_s3 *s)
{
	return s->pages;
}
