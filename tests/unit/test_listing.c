/* SPDX-License-Identifier: MIT */
/*
 * Listing parsers (core/storage/listing*.c) on listings captured from real
 * servers (tests/unit/fixtures/listing/, made by capture.sh there: nginx,
 * python3 -m http.server, Apache, Ceph RGW) and on hostile documents:
 * links and keys that must not be shown, caps, entity bombs, deep
 * nesting, pagination loops.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hexz/common.h>

#include "storage/listing.h"
#include "testutil.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char *
fixture(const char *name, size_t *len)
{
	const char *root = getenv("HEXZ_SOURCE_ROOT");
	char *path, *data;
	FILE *f;
	long n;

	ck_assert_msg(root, "HEXZ_SOURCE_ROOT is not set");
	ck_assert_int_ge(asprintf(&path, "%s/tests/unit/fixtures/listing/%s", root, name), 0);
	f = fopen(path, "rb");
	ck_assert_msg(f, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	data = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	free(path);
	*len = (size_t)n;
	return data;
}

/* The long name of the fixtures: NAME_MAX bytes. */
static char *
long_name(void)
{
	char *s = malloc(NAME_MAX + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, 'L', NAME_MAX - 4);
	strcpy(s + NAME_MAX - 4, ".hxz");
	return s;
}

/* What every fixture directory holds and shows (capture.sh's names). */
static const char *const shown_files[] = {
	"plain.hxz",	 "with space.hxz", "percent%41.hxz",	"a&b.hxz",
	"quote\"s'.hxz", "hash#.hxz",	   "q?x.hxz",		"semi;colon.hxz",
	"plus+sign.hxz", "<tag>.hxz",	   "utf8 é ü 日本.hxz",
};
static const char *const shown_dirs[] = { "sub dir", "dir&co" };

static void
assert_entry(const struct listing *l, const char *name, bool is_dir, int64_t size)
{
	const struct listing_entry *e = listing_find(l, name);

	ck_assert_msg(e, "'%s' is not listed", name);
	ck_assert_msg(e->is_dir == is_dir, "'%s': is_dir %d", name, e->is_dir);
	ck_assert_msg(e->size == size, "'%s': size %lld, expected %lld", name, (long long)e->size,
		      (long long)size);
}

/* Every name shown is one valid component, and appears once. */
static void
assert_well_formed(const struct listing *l)
{
	for (size_t i = 0; i < l->count; i++) {
		const char *n = l->entries[i].name;

		ck_assert_msg(listing_name_valid(n, strlen(n)), "invalid name shown: '%s'", n);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(n, l->entries[j].name);
	}
}

static void
assert_skipped(const struct listing *l, const size_t expected[LISTING_SKIP_COUNT])
{
	for (int r = 0; r < LISTING_SKIP_COUNT; r++)
		ck_assert_msg(l->skipped[r] == expected[r], "skipped as '%s': %zu, expected %zu",
			      listing_skip_name(r), l->skipped[r], expected[r]);
}

/* HTML indexes of real servers ---------------------------------------- */

struct html_case {
	const char *file;
	/* Sizes the format gives exactly (else unknown). */
	int64_t size_plain, size_space, size_small;
	size_t skip_query, skip_dot, skip_outside;
};

static const struct html_case html_cases[] = {
	/* nginx, autoindex_exact_size on (the default): bytes. */
	{ "nginx_exact.html", 5000, 2097152, 1, 0, 1, 0 },
	/* nginx, exact_size off: "5000" (nginx prints up to 9999 exactly), "2M". */
	{ "nginx_rounded.html", 5000, LISTING_SIZE_UNKNOWN, 1, 0, 1, 0 },
	/* Apache as Debian configures it: sort links, "Parent Directory" to "/", "4.9K". */
	{ "apache_fancy_table.html", LISTING_SIZE_UNKNOWN, LISTING_SIZE_UNKNOWN, 1, 4, 0, 1 },
	{ "apache_fancy_pre.html", LISTING_SIZE_UNKNOWN, LISTING_SIZE_UNKNOWN, 1, 4, 0, 1 },
	{ "apache_plain.html", LISTING_SIZE_UNKNOWN, LISTING_SIZE_UNKNOWN, LISTING_SIZE_UNKNOWN, 0,
	  0, 1 },
	{ "python.html", LISTING_SIZE_UNKNOWN, LISTING_SIZE_UNKNOWN, LISTING_SIZE_UNKNOWN, 0, 0,
	  0 },
};

static void
check_html_case(const struct html_case *c, const struct listing *l)
{
	size_t skipped[LISTING_SKIP_COUNT] = { 0 };
	char *lname = long_name();

	assert_well_formed(l);
	ck_assert_uint_eq(l->count, ARRAY_LEN(shown_files) + ARRAY_LEN(shown_dirs) + 1);
	for (size_t i = 0; i < ARRAY_LEN(shown_files); i++) {
		int64_t size = c->size_small;

		if (strcmp(shown_files[i], "plain.hxz") == 0)
			size = c->size_plain;
		else if (strcmp(shown_files[i], "with space.hxz") == 0)
			size = c->size_space;
		assert_entry(l, shown_files[i], false, size);
	}
	assert_entry(l, lname, false, c->size_small);
	for (size_t i = 0; i < ARRAY_LEN(shown_dirs); i++)
		assert_entry(l, shown_dirs[i], true, LISTING_SIZE_UNKNOWN);
	for (size_t i = 0; i < l->count; i++) {
		ck_assert(!l->entries[i].has_mtime);
		ck_assert_ptr_null(l->entries[i].etag);
	}
	skipped[LISTING_SKIP_QUERY] = c->skip_query;
	skipped[LISTING_SKIP_DOT_SEGMENT] = c->skip_dot;
	skipped[LISTING_SKIP_OUTSIDE] = c->skip_outside;
	skipped[LISTING_SKIP_NOT_SNAPSHOT] = 1; /* notes.txt */
	assert_skipped(l, skipped);
	free(lname);
}

START_TEST(test_html_servers)
{
	const struct html_case *c = &html_cases[_i];
	struct listing l;
	struct hexz_error err = { 0 };
	size_t len;
	char *data = fixture(c->file, &len);
	int rc;

	rc = listing_html_parse("http://127.0.0.1:8080/list/", data, len, NULL, &l, &err);
	ck_assert_msg(rc == 0, "%s: %s", c->file, err.message);
	check_html_case(c, &l);
	listing_free(&l);
	free(data);
}
END_TEST

/* Fed one byte at a time, the push parser finds the same. */
START_TEST(test_html_bytewise)
{
	const struct html_case *c = &html_cases[_i];
	struct listing_html *h;
	struct listing l;
	struct hexz_error err = { 0 };
	size_t len;
	char *data = fixture(c->file, &len);

	ck_assert_int_eq(listing_html_begin("http://127.0.0.1:8080/list/", NULL, &h, &err), 0);
	for (size_t i = 0; i < len; i++)
		ck_assert_int_eq(listing_html_feed(h, data + i, 1, &err), 0);
	ck_assert_msg(listing_html_end(h, &l, &err) == 0, "%s", err.message);
	listing_html_free(h);
	check_html_case(c, &l);
	listing_free(&l);
	free(data);
}
END_TEST

/* Links resolve against the URL given: nginx's index of a subdirectory,
 * and the same index under another base (then "../" and the rest still
 * hold). */
START_TEST(test_html_subdir)
{
	struct listing l;
	struct hexz_error err = { 0 };
	size_t len;
	char *data = fixture("nginx_subdir.html", &len);

	ck_assert_int_eq(
		listing_html_parse("https://localhost/list/sub%20dir/", data, len, NULL, &l, &err),
		0);
	ck_assert_uint_eq(l.count, 1);
	assert_entry(&l, "inner.hxz", false, 1);
	ck_assert_uint_eq(l.skipped[LISTING_SKIP_DOT_SEGMENT], 1);
	ck_assert_uint_eq(listing_skipped_total(&l), 1);
	listing_free(&l);
	free(data);
}
END_TEST

/* Hostile HTML ------------------------------------------------------- */

struct link_case {
	const char *href;
	/* -1: shown (as `name`), else the reason it is skipped. */
	int reason;
	const char *name;
	bool is_dir;
};

static const struct link_case link_cases[] = {
	{ "ok.hxz", -1, "ok.hxz", false },
	{ "./ok.hxz", LISTING_SKIP_DOT_SEGMENT, NULL, false },
	{ "../", LISTING_SKIP_DOT_SEGMENT, NULL, false },
	{ "../x.hxz", LISTING_SKIP_DOT_SEGMENT, NULL, false },
	{ "sub/../x.hxz", LISTING_SKIP_DOT_SEGMENT, NULL, false },
	{ "/list/abs.hxz", -1, "abs.hxz", false },
	{ "/list/", LISTING_SKIP_OUTSIDE, NULL, false },
	{ "/", LISTING_SKIP_OUTSIDE, NULL, false },
	{ "/other/b.hxz", LISTING_SKIP_OUTSIDE, NULL, false },
	{ "/listing.hxz", LISTING_SKIP_OUTSIDE, NULL, false },
	{ "http://127.0.0.1:8080/list/same.hxz", -1, "same.hxz", false },
	{ "HTTP://127.0.0.1:8080/list/case.hxz", -1, "case.hxz", false },
	{ "http://evil.example/list/c.hxz", LISTING_SKIP_OTHER_HOST, NULL, false },
	{ "https://127.0.0.1:8080/list/c.hxz", LISTING_SKIP_OTHER_HOST, NULL, false },
	{ "http://127.0.0.1:8081/list/c.hxz", LISTING_SKIP_OTHER_HOST, NULL, false },
	{ "//evil.example/list/c.hxz", LISTING_SKIP_OTHER_HOST, NULL, false },
	{ "ftp://127.0.0.1:8080/list/c.hxz", LISTING_SKIP_OTHER_HOST, NULL, false },
	{ "sub/f.hxz", LISTING_SKIP_DEEPER, NULL, false },
	{ "sub/deeper/", LISTING_SKIP_DEEPER, NULL, false },
	{ "?C=N;O=D", LISTING_SKIP_QUERY, NULL, false },
	{ "x.hxz?download", LISTING_SKIP_QUERY, NULL, false },
	{ "#top", LISTING_SKIP_QUERY, NULL, false },
	{ "", LISTING_SKIP_MALFORMED, NULL, false },
	{ "a%2Fb.hxz", LISTING_SKIP_BAD_NAME, NULL, false },
	{ "a%2fb/", LISTING_SKIP_BAD_NAME, NULL, false },
	{ "nul%00.hxz", LISTING_SKIP_BAD_NAME, NULL, false },
	{ "ctl%01.hxz", LISTING_SKIP_BAD_NAME, NULL, false },
	{ "del%7F.hxz", LISTING_SKIP_BAD_NAME, NULL, false },
	{ "nl%0A.hxz", LISTING_SKIP_BAD_NAME, NULL, false },
	{ "\x01raw.hxz", LISTING_SKIP_BAD_NAME, NULL, false },
	{ "tab\x7f.hxz", LISTING_SKIP_BAD_NAME, NULL, false },
	{ "%2e%2e/", LISTING_SKIP_BAD_NAME, NULL, false },
	{ "//", LISTING_SKIP_MALFORMED, NULL, false },
	{ "notes.txt", LISTING_SKIP_NOT_SNAPSHOT, NULL, false },
	{ ".hxz", -1, ".hxz", false },
	{ "x.HXZ", LISTING_SKIP_NOT_SNAPSHOT, NULL, false },
	{ "dir%20one/", -1, "dir one", true },
	{ "ent&amp;ity%41.hxz", -1, "ent&ityA.hxz", false },
	{ "%E6%97%A5.hxz", -1, "日.hxz", false },
	{ "ok.hxz", LISTING_SKIP_DUPLICATE, NULL, false },
	{ "ok.hxz/", LISTING_SKIP_DUPLICATE, NULL, false },
	{ "bad%zz.hxz", -1, "bad%zz.hxz", false },
};

START_TEST(test_html_links)
{
	size_t skipped[LISTING_SKIP_COUNT] = { 0 }, shown = 0;
	char *doc = NULL, *tmp;
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_int_ge(asprintf(&doc, "<html><body><pre>\n"), 0);
	for (size_t i = 0; i < ARRAY_LEN(link_cases); i++) {
		ck_assert_int_ge(
			asprintf(&tmp, "%s<a href=\"%s\">x</a>\n", doc, link_cases[i].href), 0);
		free(doc);
		doc = tmp;
		if (link_cases[i].reason >= 0)
			skipped[link_cases[i].reason]++;
		else
			shown++;
	}
	ck_assert_int_eq(
		listing_html_parse("http://127.0.0.1:8080/list/", doc, strlen(doc), NULL, &l, &err),
		0);
	assert_well_formed(&l);
	for (size_t i = 0; i < ARRAY_LEN(link_cases); i++)
		if (link_cases[i].reason < 0)
			assert_entry(&l, link_cases[i].name, link_cases[i].is_dir,
				     LISTING_SIZE_UNKNOWN);
	/* In the order of the page. */
	ck_assert_str_eq(l.entries[0].name, "ok.hxz");
	ck_assert_uint_eq(l.count, shown);
	assert_skipped(&l, skipped);
	listing_free(&l);
	free(doc);
}
END_TEST

START_TEST(test_html_long_names)
{
	char name[NAME_MAX + 2];
	char *doc;
	struct listing l;
	struct hexz_error err = { 0 };

	memset(name, 'n', sizeof(name));
	strcpy(name + NAME_MAX + 1 - 4, ".hxz");
	/* NAME_MAX + 1 bytes: skipped; the same percent-encoded too. */
	ck_assert_int_ge(asprintf(&doc,
				  "<a href=\"%s\">a</a><a href=\"%%6E%s\">b</a>"
				  "<a href=\"%s\">c</a>",
				  name, name + 1, name + 1),
			 0);
	ck_assert_int_eq(listing_html_parse("http://h/", doc, strlen(doc), NULL, &l, &err), 0);
	ck_assert_uint_eq(l.count, 1);
	ck_assert_uint_eq(strlen(l.entries[0].name), NAME_MAX);
	ck_assert_uint_eq(l.skipped[LISTING_SKIP_TOO_LONG], 2);
	listing_free(&l);
	free(doc);
}
END_TEST

/* Sizes are taken only as plain numbers of bytes after a date and time. */
START_TEST(test_html_sizes)
{
	static const char doc[] =
		"<pre><a href=\"a.hxz\">a.hxz</a>   01-Jan-2026 00:00   123\n"
		"<a href=\"b.hxz\">b.hxz</a>   01-Jan-2026 00:00   -5\n"
		"<a href=\"c.hxz\">c.hxz</a>   01-Jan-2026 00:00   99999999999999999999\n"
		"<a href=\"d.hxz\">d.hxz</a>   01-Jan-2026 00:00   9223372036854775807\n"
		"<a href=\"e.hxz\">e.hxz</a>   01-Jan-2026 00:00   1.5G\n"
		"<a href=\"f.hxz\">f.hxz</a>   no date here 77\n"
		"<a href=\"g.hxz\">g.hxz</a>   01-Jan-2026 00:00:59   0\n"
		"<a href=\"h.hxz\">h.hxz</a>   01-Jan-2026 100:00   42\n"
		"<a href=\"i.hxz\">i.hxz</a><a href=\"j.hxz\">j</a> 01-Jan-2026 00:00 7\n"
		"</pre>";
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_int_eq(listing_html_parse("http://h/d/", doc, strlen(doc), NULL, &l, &err), 0);
	ck_assert_uint_eq(l.count, 10);
	assert_entry(&l, "a.hxz", false, 123);
	assert_entry(&l, "b.hxz", false, LISTING_SIZE_UNKNOWN);
	assert_entry(&l, "c.hxz", false, LISTING_SIZE_UNKNOWN);
	assert_entry(&l, "d.hxz", false, INT64_MAX);
	assert_entry(&l, "e.hxz", false, LISTING_SIZE_UNKNOWN);
	assert_entry(&l, "f.hxz", false, LISTING_SIZE_UNKNOWN);
	assert_entry(&l, "g.hxz", false, 0);
	assert_entry(&l, "h.hxz", false, LISTING_SIZE_UNKNOWN);
	/* A link's line ends at the next link. */
	assert_entry(&l, "i.hxz", false, LISTING_SIZE_UNKNOWN);
	assert_entry(&l, "j.hxz", false, 7);
	listing_free(&l);
}
END_TEST

START_TEST(test_html_caps)
{
	struct listing_limits lim = listing_limits_default();
	static const char doc[] = "<a href=\"a.hxz\"></a><a href=\"b.hxz\"></a><a href=\"c/\"></a>"
				  "<a href=\"a.hxz\"></a>";
	struct listing l;
	struct hexz_error err = { 0 };

	lim.max_entries = 2;
	ck_assert_int_eq(listing_html_parse("http://h/", doc, strlen(doc), &lim, &l, &err),
			 HEXZ_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err.message, "more than 2 entries"));
	ck_assert_uint_eq(l.count, 0);
	ck_assert_ptr_null(l.entries);

	lim = listing_limits_default();
	lim.max_response_bytes = 40;
	ck_assert_int_eq(listing_html_parse("http://h/", doc, strlen(doc), &lim, &l, &err),
			 HEXZ_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err.message, "larger than 40 bytes"));
	ck_assert_uint_eq(l.count, 0);

	/* Exactly at the caps: fine. */
	lim.max_response_bytes = strlen(doc);
	lim.max_entries = 3;
	ck_assert_int_eq(listing_html_parse("http://h/", doc, strlen(doc), &lim, &l, &err), 0);
	ck_assert_uint_eq(l.count, 3);
	ck_assert_uint_eq(l.skipped[LISTING_SKIP_DUPLICATE], 1);
	listing_free(&l);
}
END_TEST

/* More than the default cap of bytes: refused as it arrives, bounded. */
START_TEST(test_html_huge)
{
	size_t piece = 1 << 20, fed = 0;
	char *buf = malloc(piece);
	struct listing_html *h;
	struct listing l;
	struct hexz_error err = { 0 };
	int rc = 0;

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i + 32 <= piece; i += 32)
		memcpy(buf + i, "<a href=\"same.hxz\">same</a>\n    ", 32);
	ck_assert_int_eq(listing_html_begin("http://h/", NULL, &h, &err), 0);
	while (rc == 0 && fed <= LISTING_MAX_RESPONSE_BYTES_DEFAULT) {
		rc = listing_html_feed(h, buf, piece, &err);
		fed += piece;
	}
	ck_assert_int_eq(rc, HEXZ_ERR_LIMIT);
	ck_assert_uint_eq(fed, LISTING_MAX_RESPONSE_BYTES_DEFAULT + piece);
	ck_assert_int_eq(listing_html_end(h, &l, &err), HEXZ_ERR_LIMIT);
	ck_assert_uint_eq(l.count, 0);
	listing_html_free(h);
	free(buf);
}
END_TEST

START_TEST(test_html_deep)
{
	size_t n = 100000;
	char *doc = malloc(n * 5 + 64), *p = doc;
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_ptr_nonnull(doc);
	for (size_t i = 0; i < n; i++, p += 5)
		memcpy(p, "<div>", 5);
	strcpy(p, "<a href=\"x.hxz\">x</a>");
	ck_assert_int_eq(listing_html_parse("http://h/", doc, strlen(doc), NULL, &l, &err),
			 HEXZ_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err.message, "nested deeper than 256"));
	free(doc);
}
END_TEST

/* An HTML page with an entity bomb in its DOCTYPE: HTML knows only its own
 * entities; nothing is expanded. */
START_TEST(test_html_entity_bomb)
{
	static const char doc[] =
		"<!DOCTYPE html [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
		"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d "
		"\"&c;&c;&c;&c;&c;&c;&c;\">]>"
		"<html><body><a href=\"&d;.hxz\">&d;</a><a href=\"ok.hxz\">ok</a></body></html>";
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_int_eq(listing_html_parse("http://h/", doc, strlen(doc), NULL, &l, &err), 0);
	assert_well_formed(&l);
	for (size_t i = 0; i < l.count; i++)
		ck_assert_uint_lt(strlen(l.entries[i].name), 16);
	assert_entry(&l, "ok.hxz", false, LISTING_SIZE_UNKNOWN);
	listing_free(&l);
}
END_TEST

START_TEST(test_html_bad_base)
{
	static const char *const bad[] = {
		"http://h/file.hxz", "ftp://h/d/", "http://h/d/?q=1", "not a url", "s3://b/p/",
	};
	struct listing_html *h;
	struct hexz_error err = { 0 };

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		ck_assert_int_eq(listing_html_begin(bad[i], NULL, &h, &err),
				 HEXZ_ERR_INVALID_ARGUMENT);
		ck_assert_ptr_null(h);
	}
	ck_assert_int_eq(listing_html_begin("http://h", NULL, &h, &err), 0);
	listing_html_free(h);
	listing_html_free(NULL);
}
END_TEST

START_TEST(test_html_garbage)
{
	static const char doc[] = "\x00\x01\xff\xfe<<<a href=\"ok.hxz\">\x80\x81</a></></>\x00";
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_int_eq(listing_html_parse("http://h/", doc, sizeof(doc) - 1, NULL, &l, &err), 0);
	assert_well_formed(&l);
	listing_free(&l);
	ck_assert_int_eq(listing_html_parse("http://h/", "", 0, NULL, &l, &err), 0);
	ck_assert_uint_eq(l.count, 0);
	listing_free(&l);
}
END_TEST

/* S3: pages of Ceph RGW ------------------------------------------------ */

/* A whole listing from these pages, each fed in one piece. */
static int
s3_list(const char *prefix, const char *const *pages, size_t n, const struct listing_limits *lim,
	struct listing *out, struct hexz_error *err)
{
	struct listing_s3 *s;
	const char *token = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = listing_s3_begin(prefix, lim, &s, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = listing_s3_feed(s, pages[i], strlen(pages[i]), err);
		if (rc == 0)
			rc = listing_s3_page_end(s, &token, err);
		if (rc == 0 && i + 1 < n && !token)
			rc = 1000; /* the test's pages go on, the parser says done */
	}
	if (rc == 0 && token)
		rc = 1001; /* the parser wants a page the test does not have */
	if (rc == 0)
		rc = listing_s3_end(s, out, err);
	listing_s3_free(s);
	return rc;
}

static void
check_rgw_listing(const struct listing *l)
{
	size_t skipped[LISTING_SKIP_COUNT] = { 0 };
	char *lname = long_name();
	const struct listing_entry *e;

	assert_well_formed(l);
	ck_assert_uint_eq(l->count, ARRAY_LEN(shown_files) + ARRAY_LEN(shown_dirs) + 1);
	for (size_t i = 0; i < ARRAY_LEN(shown_files); i++)
		assert_entry(l, shown_files[i], false, 1);
	assert_entry(l, lname, false, 1);
	for (size_t i = 0; i < ARRAY_LEN(shown_dirs); i++)
		assert_entry(l, shown_dirs[i], true, LISTING_SIZE_UNKNOWN);
	e = listing_find(l, "plain.hxz");
	ck_assert(e->has_mtime);
	ck_assert_int_eq(e->mtime, 1796410934); /* 2026-12-04T19:02:14.811Z */
	ck_assert_str_eq(e->etag, "9dd4e461268c8034f5c8564e155c67a6");
	ck_assert_ptr_null(listing_find(l, "sub dir")->etag);
	skipped[LISTING_SKIP_NOT_SNAPSHOT] = 1; /* notes.txt */
	skipped[LISTING_SKIP_BAD_NAME] = 1;	/* "ctl\001byte.hxz" */
	assert_skipped(l, skipped);
	free(lname);
}

START_TEST(test_s3_rgw_encoded)
{
	size_t len;
	char *page = fixture("rgw_encoded.xml", &len);
	const char *pages[] = { page };
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_msg(s3_list("snap/", pages, 1, NULL, &l, &err) == 0, "%s", err.message);
	check_rgw_listing(&l);
	listing_free(&l);
	free(page);
}
END_TEST

START_TEST(test_s3_rgw_pages)
{
	size_t len;
	char *p1 = fixture("rgw_page1.xml", &len), *p2 = fixture("rgw_page2.xml", &len);
	char *p3 = fixture("rgw_page3.xml", &len);
	struct listing_s3 *s;
	const char *token;
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_int_eq(listing_s3_begin("snap/", NULL, &s, &err), 0);
	/* Page 1 in two pieces cut inside a key. */
	ck_assert_int_eq(listing_s3_feed(s, p1, 700, &err), 0);
	ck_assert_int_eq(listing_s3_feed(s, p1 + 700, strlen(p1) - 700, &err), 0);
	ck_assert_int_eq(listing_s3_page_end(s, &token, &err), 0);
	/* RGW does not url-encode its tokens; entities are decoded. */
	ck_assert_str_eq(token, "snap/hash#.hxz");
	ck_assert_int_eq(listing_s3_feed(s, p2, strlen(p2), &err), 0);
	ck_assert_int_eq(listing_s3_page_end(s, &token, &err), 0);
	ck_assert_str_eq(token, "snap/quote\"s'.hxz");
	ck_assert_int_eq(listing_s3_end(s, &l, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(listing_s3_feed(s, p3, strlen(p3), &err), 0);
	ck_assert_int_eq(listing_s3_page_end(s, &token, &err), 0);
	ck_assert_ptr_null(token);
	ck_assert_uint_eq(listing_s3_pages(s), 3);
	ck_assert_int_eq(listing_s3_feed(s, p3, strlen(p3), &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(listing_s3_end(s, &l, &err), 0);
	listing_s3_free(s);
	check_rgw_listing(&l);
	listing_free(&l);
	free(p1);
	free(p2);
	free(p3);
}
END_TEST

/* Without encoding-type=url, RGW writes the key with byte 1 as "&#x01;",
 * which XML 1.0 forbids: the page is refused (the client must ask for
 * url encoding). */
START_TEST(test_s3_rgw_unencoded)
{
	size_t len;
	char *page = fixture("rgw_delimiter.xml", &len);
	const char *pages[] = { page };
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_int_eq(s3_list("snap/", pages, 1, NULL, &l, &err), HEXZ_ERR_IO);
	ck_assert_msg(strstr(err.message, "malformed XML"), "%s", err.message);
	ck_assert_uint_eq(l.count, 0);
	free(page);
}
END_TEST

/* Without a delimiter every key below the prefix comes: those deeper than
 * one level are skipped, here all of them (under snap/ and other/). */
START_TEST(test_s3_rgw_no_delimiter)
{
	size_t len;
	char *page = fixture("rgw_noprefix.xml", &len);
	const char *pages[] = { page };
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_msg(s3_list("", pages, 1, NULL, &l, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(l.count, 0);
	ck_assert_uint_eq(l.skipped[LISTING_SKIP_DEEPER], ARRAY_LEN(shown_files) + 6);
	ck_assert_uint_eq(listing_skipped_total(&l), ARRAY_LEN(shown_files) + 6);
	listing_free(&l);
	free(page);
}
END_TEST

START_TEST(test_s3_rgw_error)
{
	size_t len;
	char *doc = fixture("rgw_error_nosuchbucket.xml", &len);
	const char *pages[] = { doc };
	char *code, *message;
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_int_eq(listing_s3_error_parse(doc, len, &code, &message), 0);
	ck_assert_str_eq(code, "NoSuchBucket");
	ck_assert_str_eq(message, "");
	free(code);
	free(message);
	ck_assert_int_eq(s3_list("snap/", pages, 1, NULL, &l, &err), HEXZ_ERR_IO);
	ck_assert_msg(strstr(err.message, "S3 error NoSuchBucket"), "%s", err.message);
	free(doc);
}
END_TEST

/* Hostile S3 ----------------------------------------------------------- */

#define LBR_OPEN                                                                                   \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult "                             \
	"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
#define LBR_CLOSE "</ListBucketResult>"
#define OBJ(key, size) "<Contents><Key>" key "</Key><Size>" size "</Size></Contents>"
#define DIR(prefix) "<CommonPrefixes><Prefix>" prefix "</Prefix></CommonPrefixes>"

START_TEST(test_s3_keys)
{
	static const char page[] = LBR_OPEN "<IsTruncated>false</IsTruncated>" DIR("p/sub/") DIR(
		"p/a/b/") DIR("p/noslash") DIR("p/") DIR("q/x/") OBJ("p/ok.hxz", "10")
		OBJ("p/", "0") OBJ("p/..", "0") OBJ("p/../x.hxz", "1") OBJ("q/out.hxz", "1") OBJ(
			"p/deep/x.hxz",
			"1") OBJ("p/neg.hxz",
				 "-1") OBJ("p/huge.hxz",
					   "99999999999999999999") OBJ("p/max.hxz",
								       "9223372036854775807")
			OBJ("p/alpha.hxz", "12abc") OBJ("p/empty.hxz", "") OBJ(
				"p/ok.hxz",
				"11") "<Contents><Size>1</Size></Contents>"
				      "<Contents><Key>p/quoted.hxz</Key><Size>1</"
				      "Size><ETag>\"abc\"</ETag><LastModified>bad</LastModified></"
				      "Contents>"
				      "<Contents><Key>p/bare.hxz</Key><Size>2</Size><ETag>xyz</"
				      "ETag><LastModified>1970-01-01T00:00:00Z</LastModified></"
				      "Contents>"
				      "<Contents><Key>p/ctl.hxz</Key><Size>2</"
				      "Size><ETag>\"a&#x9;b\"</ETag></Contents>"
				      "<Contents><Key>p/del.hxz</Key><Size>2</Size><ETag>\"a\x7f"
				      "b\"</ETag></Contents>" LBR_CLOSE;
	const char *pages[] = { page };
	size_t skipped[LISTING_SKIP_COUNT] = { 0 };
	const struct listing_entry *e;
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_msg(s3_list("p/", pages, 1, NULL, &l, &err) == 0, "%s", err.message);
	assert_well_formed(&l);
	ck_assert_uint_eq(l.count, 5);
	assert_entry(&l, "sub", true, LISTING_SIZE_UNKNOWN);
	assert_entry(&l, "ok.hxz", false, 10);
	assert_entry(&l, "max.hxz", false, INT64_MAX);
	e = listing_find(&l, "quoted.hxz");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->etag, "abc");
	ck_assert(!e->has_mtime);
	e = listing_find(&l, "bare.hxz");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->etag, "xyz");
	ck_assert(e->has_mtime);
	ck_assert_int_eq(e->mtime, 0);
	skipped[LISTING_SKIP_DEEPER] = 3;    /* p/a/b/, p/../x.hxz, p/deep/x.hxz */
	skipped[LISTING_SKIP_MALFORMED] = 2; /* p/noslash, Contents without Key */
	skipped[LISTING_SKIP_BAD_NAME] = 3;  /* p/ as a prefix and as a key, p/.. */
	skipped[LISTING_SKIP_OUTSIDE] = 2;   /* q/x/, q/out.hxz */
	skipped[LISTING_SKIP_BAD_FIELD] = 6; /* sizes -1, huge, 12abc, "", ETags with controls */
	skipped[LISTING_SKIP_DUPLICATE] = 1; /* the second p/ok.hxz */
	assert_skipped(&l, skipped);
	listing_free(&l);
}
END_TEST

START_TEST(test_s3_url_encoding)
{
	static const char page[] = LBR_OPEN "<IsTruncated>false</IsTruncated>" OBJ(
		"p%2Fa+b%2Bc.hxz", "1") OBJ("p%2Fsl%2Fash.hxz", "1") OBJ("p%2Fnul%00.hxz", "1")
		OBJ("p%2F%E6%97%A5.hxz", "1")
			DIR("p%2Fd%20ir%2F") "<EncodingType>url</EncodingType>" LBR_CLOSE;
	static const char bad[] = LBR_OPEN "<IsTruncated>false</IsTruncated>"
					   "<EncodingType>base64</EncodingType>" LBR_CLOSE;
	const char *pages[] = { page };
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_msg(s3_list("p/", pages, 1, NULL, &l, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(l.count, 3);
	assert_entry(&l, "a b+c.hxz", false, 1);
	assert_entry(&l, "日.hxz", false, 1);
	assert_entry(&l, "d ir", true, LISTING_SIZE_UNKNOWN);
	ck_assert_uint_eq(l.skipped[LISTING_SKIP_DEEPER], 1);
	ck_assert_uint_eq(l.skipped[LISTING_SKIP_BAD_NAME], 1);
	listing_free(&l);
	pages[0] = bad;
	ck_assert_int_eq(s3_list("p/", pages, 1, NULL, &l, &err), HEXZ_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err.message, "EncodingType"));
}
END_TEST

START_TEST(test_s3_pagination)
{
	static const char t1[] = LBR_OPEN
		"<IsTruncated>true</IsTruncated>"
		"<NextContinuationToken>tok1</NextContinuationToken>" OBJ("a.hxz", "1") LBR_CLOSE;
	static const char t2[] = LBR_OPEN
		"<IsTruncated>true</IsTruncated>"
		"<NextContinuationToken>tok2</NextContinuationToken>" OBJ("b.hxz", "1") LBR_CLOSE;
	static const char again1[] =
		LBR_OPEN "<IsTruncated>true</IsTruncated>"
			 "<NextContinuationToken>tok1</NextContinuationToken>" LBR_CLOSE;
	static const char last[] =
		LBR_OPEN "<IsTruncated>false</IsTruncated>"
			 "<NextContinuationToken>ignored</NextContinuationToken>" OBJ("c.hxz", "1")
				 LBR_CLOSE;
	static const char no_token[] = LBR_OPEN "<IsTruncated>true</IsTruncated>" LBR_CLOSE;
	static const char empty_token[] =
		LBR_OPEN "<IsTruncated>true</IsTruncated>"
			 "<NextContinuationToken></NextContinuationToken>" LBR_CLOSE;
	static const char no_truncated[] = LBR_OPEN OBJ("a.hxz", "1") LBR_CLOSE;
	static const char bad_truncated[] = LBR_OPEN "<IsTruncated>yes</IsTruncated>" LBR_CLOSE;
	static const char twice[] = LBR_OPEN "<IsTruncated>false</IsTruncated>"
					     "<IsTruncated>false</IsTruncated>" LBR_CLOSE;
	static const char key_count_ok[] =
		LBR_OPEN "<KeyCount>2</KeyCount>"
			 "<IsTruncated>false</IsTruncated>" OBJ("a.hxz", "1") DIR("d/") LBR_CLOSE;
	static const char key_count_bad[] =
		LBR_OPEN "<KeyCount>3</KeyCount>"
			 "<IsTruncated>false</IsTruncated>" OBJ("a.hxz", "1") DIR("d/") LBR_CLOSE;
	struct listing_limits lim = listing_limits_default();
	struct listing l;
	struct hexz_error err = { 0 };

	{
		const char *pages[] = { t1, t2, last };
		ck_assert_int_eq(s3_list("", pages, 3, NULL, &l, &err), 0);
		ck_assert_uint_eq(l.count, 3);
		listing_free(&l);
	}
	{
		const char *pages[] = { t1, t2, again1 };
		ck_assert_int_eq(s3_list("", pages, 3, NULL, &l, &err), HEXZ_ERR_IO);
		ck_assert_ptr_nonnull(strstr(err.message, "loops"));
		ck_assert_uint_eq(l.count, 0);
	}
	{
		const char *pages[] = { t1, t1 };
		ck_assert_int_eq(s3_list("", pages, 2, NULL, &l, &err), HEXZ_ERR_IO);
		ck_assert_ptr_nonnull(strstr(err.message, "page 2 repeats"));
	}
	{
		const char *pages[] = { t1, t2, last };
		lim.max_pages = 2;
		ck_assert_int_eq(s3_list("", pages, 3, &lim, &l, &err), HEXZ_ERR_LIMIT);
		ck_assert_ptr_nonnull(strstr(err.message, "more than 2 pages"));
		lim.max_pages = 3;
		ck_assert_int_eq(s3_list("", pages, 3, &lim, &l, &err), 0);
		listing_free(&l);
		lim.max_entries = 2;
		ck_assert_int_eq(s3_list("", pages, 3, &lim, &l, &err), HEXZ_ERR_LIMIT);
		ck_assert_ptr_nonnull(strstr(err.message, "more than 2 entries"));
	}
	{
		const char *bad[] = { no_token,	     empty_token, no_truncated,
				      bad_truncated, twice,	  key_count_bad };

		for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
			const char *pages[] = { bad[i] };

			ck_assert_msg(s3_list("", pages, 1, NULL, &l, &err) == HEXZ_ERR_IO,
				      "page %zu accepted", i);
			ck_assert_uint_eq(l.count, 0);
		}
	}
	{
		const char *pages[] = { key_count_ok };
		ck_assert_int_eq(s3_list("", pages, 1, NULL, &l, &err), 0);
		ck_assert_uint_eq(l.count, 2);
		listing_free(&l);
	}
}
END_TEST

START_TEST(test_s3_hostile_documents)
{
	static const char bomb[] =
		"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
		"<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
		"<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
		"<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
		"<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
		"<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
		"<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
		"<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
		"<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
		"<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">"
		"]><ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>&lol9;.hxz</Key><Size>1</Size></Contents></ListBucketResult>";
	static const char external[] =
		"<?xml version=\"1.0\"?><!DOCTYPE x SYSTEM \"http://127.0.0.1:9/x.dtd\">"
		"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
	static const char undeclared[] =
		LBR_OPEN "<IsTruncated>false</IsTruncated>" OBJ("&undeclared;.hxz", "1") LBR_CLOSE;
	static const char other_root[] = "<Foo><IsTruncated>false</IsTruncated></Foo>";
	static const char not_closed[] = LBR_OPEN "<IsTruncated>false</IsTruncated>";
	static const char nested[] = LBR_OPEN "<IsTruncated>false<b/></IsTruncated>" LBR_CLOSE;
	static const char garbage[] = "\x01\x02 not xml at all";
	const char *bad[] = { bomb,	  external, undeclared, other_root,
			      not_closed, nested,   garbage,	"" };
	struct listing l;
	struct hexz_error err = { 0 };

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		const char *pages[] = { bad[i] };

		ck_assert_msg(s3_list("", pages, 1, NULL, &l, &err) == HEXZ_ERR_IO,
			      "document %zu accepted", i);
		ck_assert_uint_eq(l.count, 0);
	}
	{
		const char *pages[] = { bomb };
		ck_assert_int_eq(s3_list("", pages, 1, NULL, &l, &err), HEXZ_ERR_IO);
		ck_assert_ptr_nonnull(strstr(err.message, "DTD"));
	}
}
END_TEST

START_TEST(test_s3_caps)
{
	size_t n = 100000, text = LISTING_MAX_TEXT_BYTES + 1;
	char *doc = malloc(n * 3 + 256), *p = doc, *longkey;
	const char *pages[1];
	struct listing_limits lim = listing_limits_default();
	struct listing l;
	struct hexz_error err = { 0 };

	ck_assert_ptr_nonnull(doc);
	p += sprintf(p, "%s", LBR_OPEN);
	for (size_t i = 0; i < n; i++, p += 3)
		memcpy(p, "<a>", 3);
	*p = '\0';
	pages[0] = doc;
	ck_assert_int_eq(s3_list("", pages, 1, NULL, &l, &err), HEXZ_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err.message, "nested deeper than 256"));
	free(doc);

	longkey = malloc(text + 256);
	ck_assert_ptr_nonnull(longkey);
	p = longkey + sprintf(longkey, "%s<Contents><Key>", LBR_OPEN);
	memset(p, 'k', text);
	strcpy(p + text, "</Key></Contents>" LBR_CLOSE);
	pages[0] = longkey;
	ck_assert_int_eq(s3_list("", pages, 1, NULL, &l, &err), HEXZ_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err.message, "longer than"));
	lim.max_response_bytes = 100;
	ck_assert_int_eq(s3_list("", pages, 1, &lim, &l, &err), HEXZ_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err.message, "larger than 100 bytes"));
	free(longkey);
}
END_TEST

START_TEST(test_s3_begin_and_errors)
{
	struct listing_s3 *s;
	char *code, *message;
	struct hexz_error err = { 0 };
	/* XML allows no control byte but tab, LF and CR: those are replaced. */
	static const char doc[] = "<Error><Code>Slow&#9;Down</Code>"
				  "<Message>Please &amp; reduce</Message></Error>";
	static const char raw_control[] = "<Error><Code>A\x01</Code></Error>";

	ck_assert_int_eq(listing_s3_begin("no-slash", NULL, &s, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(s);
	listing_s3_free(NULL);
	ck_assert_int_eq(listing_s3_error_parse(doc, strlen(doc), &code, &message), 0);
	ck_assert_str_eq(code, "Slow?Down");
	ck_assert_str_eq(message, "Please & reduce");
	free(code);
	free(message);
	ck_assert_int_eq(listing_s3_error_parse(raw_control, strlen(raw_control), &code, &message),
			 HEXZ_ERR_IO);
	ck_assert_int_eq(listing_s3_error_parse("<ListBucketResult/>", 19, &code, &message),
			 HEXZ_ERR_IO);
	ck_assert_ptr_null(code);
	ck_assert_int_eq(listing_s3_error_parse("<Error>", 7, &code, &message), HEXZ_ERR_IO);
	ck_assert_int_eq(listing_s3_error_parse("<Error></Error>", 15, &code, &message), 0);
	ck_assert_ptr_null(code);
	ck_assert_ptr_null(message);
}
END_TEST

static Suite *
listing_suite(void)
{
	Suite *s = suite_create("listing");
	TCase *tc = tcase_create("html");

	tcase_add_loop_test(tc, test_html_servers, 0, (int)ARRAY_LEN(html_cases));
	tcase_add_loop_test(tc, test_html_bytewise, 0, (int)ARRAY_LEN(html_cases));
	tcase_add_test(tc, test_html_subdir);
	tcase_add_test(tc, test_html_links);
	tcase_add_test(tc, test_html_long_names);
	tcase_add_test(tc, test_html_sizes);
	tcase_add_test(tc, test_html_caps);
	tcase_add_test(tc, test_html_huge);
	tcase_add_test(tc, test_html_deep);
	tcase_add_test(tc, test_html_entity_bomb);
	tcase_add_test(tc, test_html_bad_base);
	tcase_add_test(tc, test_html_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("s3");
	tcase_add_test(tc, test_s3_rgw_encoded);
	tcase_add_test(tc, test_s3_rgw_pages);
	tcase_add_test(tc, test_s3_rgw_unencoded);
	tcase_add_test(tc, test_s3_rgw_no_delimiter);
	tcase_add_test(tc, test_s3_rgw_error);
	tcase_add_test(tc, test_s3_keys);
	tcase_add_test(tc, test_s3_url_encoding);
	tcase_add_test(tc, test_s3_pagination);
	tcase_add_test(tc, test_s3_hostile_documents);
	tcase_add_test(tc, test_s3_caps);
	tcase_add_test(tc, test_s3_begin_and_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run_suite(listing_suite());
}
