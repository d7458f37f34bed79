/* SPDX-License-Identifier: MIT */
/*
 * The HTML index of a web server directory (see listing.h), parsed by
 * libxml2's HTML push parser with SAX callbacks: no tree is built, so
 * memory stays bounded whatever the page.
 *
 * Every <a href> is a candidate. The href (entity-decoded by libxml2) is
 * resolved against the listed URL by libcurl's URL API, the parser that
 * will send the requests; a link is kept when it names a direct child of
 * the listed directory on the same scheme, host and port. The child's
 * name is percent-decoded by libcurl (curl_easy_unescape()).
 *
 * Sizes: nginx (autoindex), Apache (mod_autoindex, fancy) print after
 * each link a date "D-M-Y H:M" or "Y-M-D H:M", then the size: exact bytes
 * as a plain number (nginx's default autoindex_exact_size on; both print
 * small files so), or rounded ("2.0M", "2M") when the size is unknown
 * here and is learnt by HEAD. The text following a link, up to the end of
 * its line or table row, is read for "TIME SIZE". Dates are never taken:
 * both servers print them in the server's local time or in GMT, by
 * configuration, without saying which, and to the minute; the HEAD's
 * Last-Modified is exact. python3 -m http.server prints neither.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>

#include <hexz/common.h>

#include "error_set.h"
#include "listing.h"

/* The text kept after a link, its whitespace squeezed: enough for "DATE TIME SIZE". */
#define TAIL_MAX 96
/* The parser is fed at most this much at a time (its length argument is an int). */
#define FEED_PIECE (64 * 1024)

struct listing_html {
	htmlParserCtxtPtr ctxt;
	CURLU *base;
	/* The listed URL, and its parts as libcurl normalised them. */
	char *url;
	char *scheme;
	char *host;
	char *port;
	char *path;
	struct listing_limits limits;
	struct listing listing;
	size_t fed;
	size_t depth;
	/* The first error of a callback, which stopped the parser. */
	int status;
	struct hexz_error error;
	/* The entry whose link was last closed, while its line is read. */
	size_t tail_entry;
	bool in_link;
	char tail[TAIL_MAX];
	size_t tail_len;
};

static void
fail(struct listing_html *h, int status)
{
	if (h->status == 0)
		h->status = status;
	xmlStopParser(h->ctxt);
}

/* --- The sizes after a link ------------------------------------------ */

/* "H:MM" or "HH:MM", optionally ":SS". */
static bool
is_time(const char *t, size_t n)
{
	size_t i = 0, digits;

	for (int field = 0; field < 3; field++) {
		for (digits = 0; i < n && isdigit((unsigned char)t[i]); i++)
			digits++;
		if (digits < 1 || digits > 2)
			return false;
		if (i == n)
			return field > 0;
		if (t[i++] != ':')
			return false;
	}
	return false;
}

/* A plain decimal number of bytes into *out. */
static bool
parse_bytes(const char *t, size_t n, int64_t *out)
{
	char buf[24];
	char *end;
	long long v;

	if (n == 0 || n >= sizeof(buf))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)t[i]))
			return false;
	memcpy(buf, t, n);
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || *end || v < 0)
		return false;
	*out = v;
	return true;
}

/* The line of the last link is over: its size, if the line gives it exactly. */
static void
tail_close(struct listing_html *h)
{
	const char *t = h->tail, *end = h->tail + h->tail_len;
	bool after_time = false;
	int64_t size;

	if (h->tail_entry == SIZE_MAX)
		return;
	while (t < end) {
		const char *tok = t;
		size_t n;

		while (t < end && *t != ' ')
			t++;
		n = (size_t)(t - tok);
		if (n && after_time) {
			if (parse_bytes(tok, n, &size))
				h->listing.entries[h->tail_entry].size = size;
			break;
		}
		if (n && is_time(tok, n))
			after_time = true;
		while (t < end && *t == ' ')
			t++;
	}
	h->tail_entry = SIZE_MAX;
	h->tail_len = 0;
}

static void
tail_append(struct listing_html *h, char c)
{
	if (isspace((unsigned char)c))
		c = ' ';
	if (c == ' ' && (h->tail_len == 0 || h->tail[h->tail_len - 1] == ' '))
		return;
	if (h->tail_len < sizeof(h->tail))
		h->tail[h->tail_len++] = c;
}

/* --- Links ----------------------------------------------------------- */

static bool
has_dot_segment(const char *href)
{
	const char *seg = href;

	for (;;) {
		size_t n = strcspn(seg, "/");

		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return true;
		if (seg[n] == '\0')
			return false;
		seg += n + 1;
	}
}

static bool
has_control_byte(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

/* Part `what` of `u` (NULL when absent), its port defaulted. */
static char *
url_part(CURLU *u, CURLUPart what)
{
	char *s = NULL;

	if (curl_url_get(u, what, &s, what == CURLUPART_PORT ? CURLU_DEFAULT_PORT : 0) != CURLUE_OK)
		return NULL;
	return s;
}

static bool
same_text(const char *a, const char *b, bool nocase)
{
	if (!a || !b)
		return a == b;
	return nocase ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

/*
 * Where `href` leads: -1 and the child's encoded name in *rel (is_dir when
 * it ends in '/'), or the reason to skip it. *rel points into *path, which
 * the caller frees.
 */
static int
classify(struct listing_html *h, const char *href, char **path, const char **rel, size_t *rel_len,
	 bool *is_dir)
{
	CURLU *u;
	char *scheme, *host, *port, *query, *fragment;
	int reason = -1;
	size_t base_len = strlen(h->path), n;

	*path = NULL;
	if (href[0] == '\0')
		return LISTING_SKIP_MALFORMED;
	if (has_control_byte(href))
		return LISTING_SKIP_BAD_NAME;
	if (strpbrk(href, "?#"))
		return LISTING_SKIP_QUERY;
	if (has_dot_segment(href))
		return LISTING_SKIP_DOT_SEGMENT;
	u = curl_url_dup(h->base);
	if (!u)
		return LISTING_SKIP_MALFORMED;
	if (curl_url_set(u, CURLUPART_URL, href, 0) != CURLUE_OK) {
		curl_url_cleanup(u);
		return LISTING_SKIP_MALFORMED;
	}
	scheme = url_part(u, CURLUPART_SCHEME);
	host = url_part(u, CURLUPART_HOST);
	port = url_part(u, CURLUPART_PORT);
	query = url_part(u, CURLUPART_QUERY);
	fragment = url_part(u, CURLUPART_FRAGMENT);
	*path = url_part(u, CURLUPART_PATH);
	curl_url_cleanup(u);
	if (query || fragment)
		reason = LISTING_SKIP_QUERY;
	else if (!same_text(scheme, h->scheme, true) || !same_text(host, h->host, true) ||
		 !same_text(port, h->port, false))
		reason = LISTING_SKIP_OTHER_HOST;
	else if (!*path || strncmp(*path, h->path, base_len) != 0 || (*path)[base_len] == '\0')
		reason = LISTING_SKIP_OUTSIDE;
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(query);
	curl_free(fragment);
	if (reason >= 0)
		return reason;
	*rel = *path + base_len;
	n = strlen(*rel);
	*is_dir = (*rel)[n - 1] == '/';
	if (*is_dir)
		n--;
	if (n == 0 || memchr(*rel, '/', n))
		return n == 0 ? LISTING_SKIP_BAD_NAME : LISTING_SKIP_DEEPER;
	*rel_len = n;
	return -1;
}

static void
on_link(struct listing_html *h, const char *href)
{
	char *path = NULL, *name;
	const char *rel = NULL;
	size_t rel_len = 0, index;
	bool is_dir = false;
	int reason, name_len = 0, rc;

	reason = classify(h, href, &path, &rel, &rel_len, &is_dir);
	if (reason >= 0) {
		listing_skip(&h->listing, reason);
		curl_free(path);
		return;
	}
	/* rel_len <= strlen(href) + the base's, both under the response cap (an int). */
	name = curl_easy_unescape(NULL, rel, (int)rel_len, &name_len);
	curl_free(path);
	if (!name) {
		fail(h, error_plain(&h->error, HEXZ_ERR_NO_MEMORY));
		return;
	}
	rc = listing_add(&h->listing, h->limits.max_entries, h->url, name, (size_t)name_len, is_dir,
			 LISTING_SIZE_UNKNOWN, NULL, &index, &h->error);
	curl_free(name);
	if (rc) {
		fail(h, rc);
		return;
	}
	if (index != SIZE_MAX && !is_dir) {
		h->tail_entry = index;
		h->in_link = true;
	}
}

/* --- SAX callbacks --------------------------------------------------- */

static bool
named(const xmlChar *name, const char *what)
{
	return strcasecmp((const char *)name, what) == 0;
}

/* Elements that end the line of a link in the formats above. */
static bool
ends_row(const xmlChar *name)
{
	return named(name, "tr") || named(name, "li") || named(name, "pre") ||
	       named(name, "table") || named(name, "ul") || named(name, "hr") ||
	       named(name, "body") || named(name, "a");
}

static void
on_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
	struct listing_html *h = ctx;

	if (h->status)
		return;
	if (++h->depth > h->limits.max_depth) {
		fail(h, error_set(&h->error, HEXZ_ERR_LIMIT,
				  "listing of %s: elements nested deeper than %zu", h->url,
				  h->limits.max_depth));
		return;
	}
	if (ends_row(name))
		tail_close(h);
	else
		tail_append(h, ' ');
	if (!named(name, "a") || !atts)
		return;
	for (size_t i = 0; atts[i]; i += 2) {
		if (named(atts[i], "href")) {
			if (atts[i + 1])
				on_link(h, (const char *)atts[i + 1]);
			return;
		}
	}
}

static void
on_end(void *ctx, const xmlChar *name)
{
	struct listing_html *h = ctx;

	if (h->depth)
		h->depth--;
	if (h->status)
		return;
	if (named(name, "a")) {
		h->in_link = false;
		return;
	}
	if (ends_row(name))
		tail_close(h);
	else
		tail_append(h, ' ');
}

static void
on_text(void *ctx, const xmlChar *text, int len)
{
	struct listing_html *h = ctx;

	if (h->status || h->tail_entry == SIZE_MAX || h->in_link)
		return;
	for (int i = 0; i < len && h->tail_entry != SIZE_MAX; i++) {
		if (text[i] == '\n')
			tail_close(h);
		else
			tail_append(h, (char)text[i]);
	}
}

/* HTML is parsed leniently: libxml2's complaints are not ours to print. */
static void
on_error(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
}

/* --- The parser ------------------------------------------------------ */

void
listing_html_free(struct listing_html *h)
{
	if (!h)
		return;
	if (h->ctxt)
		htmlFreeParserCtxt(h->ctxt);
	curl_url_cleanup(h->base);
	free(h->url);
	curl_free(h->scheme);
	curl_free(h->host);
	curl_free(h->port);
	curl_free(h->path);
	listing_free(&h->listing);
	free(h);
}

static int
parse_base(struct listing_html *h, const char *base_url, struct hexz_error *err)
{
	char *query = NULL, *fragment = NULL;
	size_t n;
	bool bad;

	h->base = curl_url();
	if (!h->base)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	if (curl_url_set(h->base, CURLUPART_URL, base_url, 0) != CURLUE_OK)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "listing: '%s' is not a URL",
				 base_url);
	h->scheme = url_part(h->base, CURLUPART_SCHEME);
	h->host = url_part(h->base, CURLUPART_HOST);
	h->port = url_part(h->base, CURLUPART_PORT);
	h->path = url_part(h->base, CURLUPART_PATH);
	query = url_part(h->base, CURLUPART_QUERY);
	fragment = url_part(h->base, CURLUPART_FRAGMENT);
	bad = query || fragment;
	curl_free(query);
	curl_free(fragment);
	if (!h->scheme || !h->host || !h->port || !h->path)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "listing: '%s' is not a URL",
				 base_url);
	n = strlen(h->path);
	if (bad || n == 0 || h->path[n - 1] != '/' ||
	    (strcasecmp(h->scheme, "http") != 0 && strcasecmp(h->scheme, "https") != 0))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "listing: '%s' is not an http(s) directory URL ending in '/'",
				 base_url);
	return 0;
}

int
listing_html_begin(const char *base_url, const struct listing_limits *limits,
		   struct listing_html **out, struct hexz_error *err)
{
	struct listing_html *h;
	xmlSAXHandler sax;
	int rc;

	*out = NULL;
	if (!base_url)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "listing: no URL");
	h = calloc(1, sizeof(*h));
	if (!h)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	h->limits = limits ? *limits : listing_limits_default();
	h->tail_entry = SIZE_MAX;
	h->url = strdup(base_url);
	if (!h->url) {
		rc = error_plain(err, HEXZ_ERR_NO_MEMORY);
		goto fail;
	}
	rc = parse_base(h, base_url, err);
	if (rc)
		goto fail;
	xmlInitParser();
	memset(&sax, 0, sizeof(sax));
	/* SAX2's magic, so that errors go to serror (silent, per parser) and
	 * never to libxml2's global handler. The HTML parser still calls the
	 * SAX1 element callbacks. */
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElement = on_start;
	sax.endElement = on_end;
	sax.characters = on_text;
	sax.serror = on_error;
	/* The bytes are taken as UTF-8 whatever the page says: only the
	 * hrefs matter, and the servers above percent-encode them. */
	h->ctxt = htmlCreatePushParserCtxt(&sax, h, NULL, 0, NULL, XML_CHAR_ENCODING_UTF8);
	if (!h->ctxt) {
		rc = error_plain(err, HEXZ_ERR_NO_MEMORY);
		goto fail;
	}
	htmlCtxtUseOptions(h->ctxt, HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
	*out = h;
	return 0;
fail:
	listing_html_free(h);
	return rc;
}

static int
report(struct listing_html *h, struct hexz_error *err)
{
	if (err)
		*err = h->error;
	return h->status;
}

int
listing_html_feed(struct listing_html *h, const char *data, size_t len, struct hexz_error *err)
{
	if (h->status)
		return report(h, err);
	if (len > h->limits.max_response_bytes - h->fed) {
		fail(h, error_set(&h->error, HEXZ_ERR_LIMIT,
				  "listing of %s: the index is larger than %zu bytes", h->url,
				  h->limits.max_response_bytes));
		return report(h, err);
	}
	h->fed += len;
	while (len && !h->status) {
		int n = len > FEED_PIECE ? FEED_PIECE : (int)len;

		htmlParseChunk(h->ctxt, data, n, 0);
		data += n;
		len -= (size_t)n;
	}
	return h->status ? report(h, err) : 0;
}

int
listing_html_end(struct listing_html *h, struct listing *out, struct hexz_error *err)
{
	memset(out, 0, sizeof(*out));
	if (h->status)
		return report(h, err);
	htmlParseChunk(h->ctxt, NULL, 0, 1);
	if (h->status)
		return report(h, err);
	tail_close(h);
	*out = h->listing;
	memset(&h->listing, 0, sizeof(h->listing));
	return 0;
}

int
listing_html_parse(const char *base_url, const char *data, size_t len,
		   const struct listing_limits *limits, struct listing *out, struct hexz_error *err)
{
	struct listing_html *h;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = listing_html_begin(base_url, limits, &h, err);
	if (rc)
		return rc;
	rc = listing_html_feed(h, data, len, err);
	if (rc == 0)
		rc = listing_html_end(h, out, err);
	listing_html_free(h);
	return rc;
}
