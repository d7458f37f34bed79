/* SPDX-License-Identifier: MIT */
/*
 * Manifests of directory archives (core/archive/manifest.c and
 * manifest_tree.c): documents that are not manifests, every way an entry
 * can be wrong, duplicates and files that are also directories, numbers
 * beyond 64 bits, documents fed in pieces, the tree's layout, and large
 * manifests.
 *
 * Every document is handed over in a buffer of exactly its length, not
 * NUL-terminated, so that ASan sees any read past its end.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive/manifest.h"
#include "testutil.h"

#define MAIN_SIZE 1000000u

static int
parse_n(const char *doc, size_t len, uint64_t main_size, struct manifest *m, struct hexz_error *err)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, doc, len);
	if (err)
		memset(err, 0, sizeof(*err));
	rc = manifest_parse(copy, len, main_size, m, err);
	free(copy);
	return rc;
}

static int
parse(const char *doc, struct manifest *m, struct hexz_error *err)
{
	return parse_n(doc, strlen(doc), MAIN_SIZE, m, err);
}

/* A document parsed as a manifest; the test frees it. */
static void
parse_ok(const char *doc, struct manifest *m)
{
	struct hexz_error err;
	int rc = parse(doc, m, &err);

	ck_assert_msg(rc == HEXZ_OK, "%d: %s", rc, err.message);
}

/* A document refused as a whole with `code`: nothing left to free. */
static void
assert_refused(const char *doc, size_t len, int code)
{
	struct manifest m;
	struct hexz_error err;
	int rc;

	memset(&m, 0xAB, sizeof(m));
	rc = parse_n(doc, len, MAIN_SIZE, &m, &err);
	ck_assert_msg(rc == code, "document %.60s: %d, expected %d", doc, rc, code);
	ck_assert_int_eq(err.code, code);
	ck_assert_uint_gt(strlen(err.message), 0);
	ck_assert_ptr_null(m.tree.nodes);
	ck_assert_ptr_null(m.tree.names);
	ck_assert_ptr_null(m.rejected[0]);
	ck_assert(!m.present);
	manifest_free(&m);
	/* Without an error struct too. */
	ck_assert_int_eq(parse_n(doc, len, MAIN_SIZE, &m, NULL), code);
}

/*
 * The file nodes of m's tree in tree order (depth first, children by
 * name), checking the layout on the way: every directory's children
 * consecutive, strictly sorted and pointing back at it, every node reached
 * once, every directory but the root holding something.
 */
static size_t
tree_files(const struct manifest *m, uint32_t **out)
{
	const struct mtree *t = &m->tree;
	uint32_t *stack, *files, depth = 0, reached = 1;
	size_t n = 0;

	*out = NULL;
	if (!m->present)
		return 0;
	ck_assert_uint_ge(t->count, 1);
	stack = malloc(t->count * sizeof(*stack));
	files = malloc(t->count * sizeof(*files));
	ck_assert(stack && files);
	stack[depth++] = 0;
	while (depth > 0) {
		uint32_t i = stack[--depth];
		const struct mtree_node *d = &t->nodes[i];

		if (!mtree_is_dir(d)) {
			ck_assert_uint_eq(d->mode & S_IFMT, S_IFREG);
			files[n++] = i;
			continue;
		}
		ck_assert(i == 0 || d->u.dir.child_count > 0);
		ck_assert_uint_le((uint64_t)d->u.dir.first_child + d->u.dir.child_count, t->count);
		reached += d->u.dir.child_count;
		/* Pushed last to first, so that the first child comes out first. */
		for (uint32_t c = d->u.dir.child_count; c-- > 0;) {
			uint32_t k = d->u.dir.first_child + c;

			ck_assert_uint_eq(t->nodes[k].parent, i);
			if (c > 0)
				ck_assert_int_lt(strcmp(mtree_name(t, k - 1), mtree_name(t, k)), 0);
			stack[depth++] = k;
		}
	}
	ck_assert_uint_eq(reached, t->count);
	ck_assert_uint_eq(n, t->files);
	free(stack);
	*out = files;
	return n;
}

/* The number of files shown; checks the tree. */
static size_t
file_count(const struct manifest *m)
{
	uint32_t *files;
	size_t n = tree_files(m, &files);

	free(files);
	return n;
}

/* The path of file number i in tree order (a static buffer). */
static const char *
file_path(const struct manifest *m, size_t i, const struct mtree_node **node)
{
	static char path[PATH_MAX];
	uint32_t *files;
	size_t n = tree_files(m, &files);

	ck_assert_uint_lt(i, n);
	mtree_path(&m->tree, files[i], path, sizeof(path));
	if (node)
		*node = &m->tree.nodes[files[i]];
	free(files);
	return path;
}

static void
assert_entry(const struct manifest *m, size_t i, const char *path, uint64_t offset, uint64_t size,
	     uint32_t mode, int64_t mtime)
{
	const struct mtree_node *e;

	ck_assert_str_eq(file_path(m, i, &e), path);
	ck_assert_uint_eq(e->u.file.offset, offset);
	ck_assert_uint_eq(e->u.file.size, size);
	ck_assert_uint_eq(e->mode, mode);
	ck_assert_int_eq(e->mtime, mtime);
}

/* Reason number i names entry `index` and contains `what`. */
static void
assert_reason(const struct manifest *m, size_t i, size_t index, const char *what)
{
	char head[64];

	ck_assert_uint_lt(i, HEXZ_MANIFEST_REJECTIONS_KEPT);
	ck_assert_ptr_nonnull(m->rejected[i]);
	snprintf(head, sizeof(head), "entry %zu", index);
	ck_assert_msg(strncmp(m->rejected[i], head, strlen(head)) == 0 &&
			      (m->rejected[i][strlen(head)] == ' ' ||
			       m->rejected[i][strlen(head)] == ':'),
		      "reason %zu is \"%s\", expected entry %zu", i, m->rejected[i], index);
	ck_assert_msg(strstr(m->rejected[i], what), "reason %zu is \"%s\", expected \"%s\"", i,
		      m->rejected[i], what);
}

/* Growing document text. */
struct text {
	char *s;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		ck_assert_int_ge(n, 0);
		if (t->s && (size_t)n < t->cap - t->len)
			break;
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		ck_assert_ptr_nonnull(t->s);
		if (t->len == 0)
			t->s[0] = '\0';
	}
	t->len += (size_t)n;
}

/* `head`, `n` times `item`, then "]}". */
static void
repeated(const char *head, const char *item, size_t n, struct text *t)
{
	size_t hl = strlen(head), il = strlen(item), i;

	t->len = hl + n * il + 2;
	t->cap = t->len + 1;
	t->s = malloc(t->cap);
	ck_assert_ptr_nonnull(t->s);
	memcpy(t->s, head, hl);
	for (i = 0; i < n; i++)
		memcpy(t->s + hl + i * il, item, il);
	memcpy(t->s + hl + n * il, "]}", 3);
}

/* Documents ------------------------------------------------------------- */

START_TEST(test_valid)
{
	struct manifest m;

	parse_ok("{\"files\": [\n"
		 " {\"path\": \"etc/hosts\", \"offset\": 0, \"size\": 220, \"mode\": 33188,"
		 " \"mtime\": 1764000000},\n"
		 " {\"path\": \"bin/sh\", \"offset\": 65536, \"size\": 125000, \"mode\": 33261,"
		 " \"mtime\": -5},\n"
		 " {\"mtime\": 0, \"mode\": 33152, \"size\": 0, \"offset\": 1000000, "
		 "\"path\": \"empty\", \"extra\": [1, {\"x\": null}]}\n"
		 "], \"version\": 1}\n",
		 &m);
	ck_assert(m.present);
	ck_assert_uint_eq(file_count(&m), 3);
	ck_assert_uint_eq(m.rejected_count, 0);
	ck_assert_ptr_null(m.rejected[0]);
	assert_entry(&m, 0, "bin/sh", 65536, 125000, 0100755, -5);
	assert_entry(&m, 1, "empty", 1000000, 0, 0100600, 0);
	assert_entry(&m, 2, "etc/hosts", 0, 220, 0100644, 1764000000);
	manifest_free(&m);
	ck_assert_ptr_null(m.tree.nodes);
	/* Freeing twice is fine: the struct is zeroed. */
	manifest_free(&m);

	parse_ok("{\"files\":[]}", &m);
	ck_assert(m.present);
	ck_assert_uint_eq(file_count(&m), 0);
	ck_assert_uint_eq(m.tree.count, 1);
	manifest_free(&m);
}
END_TEST

START_TEST(test_nested_and_bytes)
{
	struct manifest m;

	parse_ok("{\"files\":["
		 "{\"path\":\"a/b/c/d\",\"offset\":0,\"size\":1,\"mode\":33188,\"mtime\":0},"
		 "{\"path\":\"a/b/c/e\",\"offset\":0,\"size\":1,\"mode\":33188,\"mtime\":0},"
		 "{\"path\":\"a\\/x\",\"offset\":0,\"size\":1,\"mode\":33188,\"mtime\":0},"
		 "{\"path\":\"caf\\u00e9/\xff\xfe\",\"offset\":0,\"size\":1,\"mode\":33188,"
		 "\"mtime\":0},"
		 "{\"path\":\"...\",\"offset\":0,\"size\":1,\"mode\":33188,\"mtime\":0},"
		 "{\"path\":\".hidden/..x\",\"offset\":0,\"size\":1,\"mode\":33188,\"mtime\":0}"
		 "]}",
		 &m);
	ck_assert_uint_eq(m.rejected_count, 0);
	ck_assert_uint_eq(file_count(&m), 6);
	ck_assert_str_eq(file_path(&m, 0, NULL), "...");
	ck_assert_str_eq(file_path(&m, 1, NULL), ".hidden/..x");
	ck_assert_str_eq(file_path(&m, 2, NULL), "a/b/c/d");
	ck_assert_str_eq(file_path(&m, 3, NULL), "a/b/c/e");
	ck_assert_str_eq(file_path(&m, 4, NULL), "a/x");
	/* Paths are bytes: not UTF-8 is fine. */
	ck_assert_str_eq(file_path(&m, 5, NULL), "caf\xc3\xa9/\xff\xfe");
	manifest_free(&m);
}
END_TEST

/* Plain metadata: a valid object without "files". */
START_TEST(test_no_files)
{
	struct manifest m;

	parse_ok("{}", &m);
	ck_assert(!m.present);
	ck_assert_uint_eq(file_count(&m), 0);
	manifest_free(&m);
	parse_ok(" {\"file\": [], \"comment\": \"not a manifest\"} ", &m);
	ck_assert(!m.present);
	manifest_free(&m);
}
END_TEST

START_TEST(test_invalid_json)
{
	static const char *const docs[] = {
		"",
		"   ",
		"{",
		"{\"files\": [",
		"{\"files\": [}",
		"{\"files\": [],}",
		"{'files': []}",
		"{files: []}",
		"{\"files\": [1 2]}",
		"{\"a\": tru}",
		"{\"a\": \"unterminated}",
		"{\"a\": 01}",
		"{\"a\": '1'}",
		"{\"a\": \"tab\there\"}",
		"{\"a\": \"\x01\"}",
		"\xef\xbb\xbf{}",
	};
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		assert_refused(docs[i], strlen(docs[i]), HEXZ_ERR_CORRUPT_MANIFEST);
}
END_TEST

START_TEST(test_not_object)
{
	static const char *const docs[] = {
		"[]", "[{\"files\": []}]", "1", "\"files\"", "null", "true", "1.5 "
	};
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		assert_refused(docs[i], strlen(docs[i]), HEXZ_ERR_CORRUPT_MANIFEST);
}
END_TEST

START_TEST(test_files_not_array)
{
	static const char *const docs[] = {
		"{\"files\": {}}",
		"{\"files\": 1}",
		"{\"files\": null}",
		"{\"files\": \"a\"}",
		"{\"files\": {\"path\": \"a\"}}",
	};
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		assert_refused(docs[i], strlen(docs[i]), HEXZ_ERR_CORRUPT_MANIFEST);
}
END_TEST

START_TEST(test_nul_in_document)
{
	static const char doc[] = "{\"files\": []}";
	static const char inner[] = "{\"files\": [\0]}";
	static const char in_string[] = "{\"a\": \"x\0y\"}";

	assert_refused(doc, sizeof(doc), HEXZ_ERR_CORRUPT_MANIFEST); /* NUL at the end */
	assert_refused(inner, sizeof(inner) - 1, HEXZ_ERR_CORRUPT_MANIFEST);
	assert_refused(in_string, sizeof(in_string) - 1, HEXZ_ERR_CORRUPT_MANIFEST);
	assert_refused("\0{}", 3, HEXZ_ERR_CORRUPT_MANIFEST);
}
END_TEST

START_TEST(test_trailing)
{
	struct manifest m;

	assert_refused("{} x", 4, HEXZ_ERR_CORRUPT_MANIFEST);
	assert_refused("{}{}", 4, HEXZ_ERR_CORRUPT_MANIFEST);
	assert_refused("{\"files\":[]}]", 13, HEXZ_ERR_CORRUPT_MANIFEST);
	assert_refused("{} /* c */", 10, HEXZ_ERR_CORRUPT_MANIFEST);
	assert_refused("{}\f", 3, HEXZ_ERR_CORRUPT_MANIFEST);
	/* White space is fine, before and after. */
	parse_ok(" \t\r\n{\"files\":[]} \t\r\n ", &m);
	ck_assert(m.present);
	manifest_free(&m);
}
END_TEST

/* Deeper than the tokener's limit, and denser in values than a manifest. */
START_TEST(test_limits)
{
	struct text t = { 0 };
	struct manifest m;
	int i;

	/* Padded, so that it is not refused for its density of values. */
	text_add(&t, "{\"pad\": \"%4000s\", \"x\": ", "");
	for (i = 0; i < 100; i++)
		text_add(&t, "[");
	for (i = 0; i < 100; i++)
		text_add(&t, "]");
	text_add(&t, "}");
	assert_refused(t.s, t.len, HEXZ_ERR_CORRUPT_MANIFEST);
	free(t.s);

	/* 20 levels are fine. */
	memset(&t, 0, sizeof(t));
	text_add(&t, "{\"x\": ");
	for (i = 0; i < 20; i++)
		text_add(&t, "[");
	for (i = 0; i < 20; i++)
		text_add(&t, "]");
	text_add(&t, "}");
	parse_ok(t.s, &m);
	manifest_free(&m);
	free(t.s);

	/*
	 * Documents dense in values cost nothing to parse as a stream: every
	 * element is left out, counted, and kept from memory.
	 */
	repeated("{\"files\":[{}", ",{}", 100000, &t);
	parse_ok(t.s, &m);
	ck_assert_uint_eq(file_count(&m), 0);
	ck_assert_uint_eq(m.rejected_count, 100001);
	assert_reason(&m, 0, 0, "no \"path\"");
	manifest_free(&m);
	free(t.s);
	repeated("{\"files\":[1", ",1", 100000, &t);
	parse_ok(t.s, &m);
	ck_assert_uint_eq(m.rejected_count, 100001);
	assert_reason(&m, 63, 63, "not a JSON object");
	manifest_free(&m);
	free(t.s);

	/* No string or number so long that yajl would hold it whole. */
	memset(&t, 0, sizeof(t));
	text_add(&t, "{\"x\": \"%*s\"}", (int)MANIFEST_MAX_STRING - 1, "");
	parse_ok(t.s, &m);
	manifest_free(&m);
	free(t.s);
	memset(&t, 0, sizeof(t));
	text_add(&t, "{\"x\": \"%*s\"}", (int)MANIFEST_MAX_STRING + 1, "");
	assert_refused(t.s, t.len, HEXZ_ERR_LIMIT);
	free(t.s);
	memset(&t, 0, sizeof(t));
	text_add(&t, "{\"x\": 1");
	for (i = 0; i < (int)MANIFEST_MAX_TOKEN; i++)
		text_add(&t, "0");
	text_add(&t, "}");
	assert_refused(t.s, t.len, HEXZ_ERR_LIMIT);
	free(t.s);
}
END_TEST

/* Entries ---------------------------------------------------------------- */

#define E(path, rest) "{\"path\":" path "," rest "}"
#define OK_FIELDS "\"offset\":0,\"size\":1,\"mode\":33188,\"mtime\":0"

/* One bad entry after a good one: left out with `what`, the good one kept. */
static void
assert_entry_rejected(const char *entry, const char *what)
{
	struct text t = { 0 };
	struct manifest m;

	text_add(&t, "{\"files\":[" E("\"good\"", OK_FIELDS) ",%s]}", entry);
	parse_ok(t.s, &m);
	ck_assert_msg(file_count(&m) == 1 && m.rejected_count == 1, "%s: %zu kept, %zu rejected", entry,
		      file_count(&m), m.rejected_count);
	ck_assert_str_eq(file_path(&m, 0, NULL), "good");
	assert_reason(&m, 0, 1, what);
	ck_assert_ptr_null(m.rejected[1]);
	manifest_free(&m);
	free(t.s);
}

/* One entry, alone: kept. */
static void
assert_entry_kept(const char *entry)
{
	struct text t = { 0 };
	struct manifest m;

	text_add(&t, "{\"files\":[%s]}", entry);
	parse_ok(t.s, &m);
	ck_assert_msg(file_count(&m) == 1 && m.rejected_count == 0, "%s: %s", entry,
		      m.rejected[0] ? m.rejected[0] : "?");
	manifest_free(&m);
	free(t.s);
}

START_TEST(test_entry_not_object)
{
	assert_entry_rejected("1", "not a JSON object");
	assert_entry_rejected("null", "not a JSON object");
	assert_entry_rejected("\"a\"", "not a JSON object");
	assert_entry_rejected("[1,2]", "not a JSON object");
}
END_TEST

START_TEST(test_entry_path)
{
	struct text t = { 0 };
	size_t i;

	assert_entry_rejected("{" OK_FIELDS "}", "no \"path\"");
	assert_entry_rejected(E("1", OK_FIELDS), "\"path\" is not a string");
	assert_entry_rejected(E("null", OK_FIELDS), "\"path\" is not a string");
	assert_entry_rejected(E("[\"a\"]", OK_FIELDS), "\"path\" is not a string");
	assert_entry_rejected(E("\"\"", OK_FIELDS), "empty path");
	assert_entry_rejected(E("\"/etc/hosts\"", OK_FIELDS), "absolute path");
	assert_entry_rejected(E("\"/\"", OK_FIELDS), "absolute path");
	assert_entry_rejected(E("\"a\\u0000b\"", OK_FIELDS), "NUL");
	assert_entry_rejected(E("\"a/\"", OK_FIELDS), "ends with '/'");
	assert_entry_rejected(E("\"a//b\"", OK_FIELDS), "empty component");
	assert_entry_rejected(E("\".\"", OK_FIELDS), "\".\" or \"..\" component");
	assert_entry_rejected(E("\"..\"", OK_FIELDS), "\".\" or \"..\" component");
	assert_entry_rejected(E("\"./a\"", OK_FIELDS), "\".\" or \"..\" component");
	assert_entry_rejected(E("\"a/./b\"", OK_FIELDS), "\".\" or \"..\" component");
	assert_entry_rejected(E("\"a/../b\"", OK_FIELDS), "\".\" or \"..\" component");
	assert_entry_rejected(E("\"a/..\"", OK_FIELDS), "\".\" or \"..\" component");

	/* A component of NAME_MAX bytes is fine, one more is not. */
	text_add(&t, "{\"path\":\"d/");
	for (i = 0; i < NAME_MAX; i++)
		text_add(&t, "n");
	text_add(&t, "\"," OK_FIELDS "}");
	assert_entry_kept(t.s);
	t.len -= strlen("\"," OK_FIELDS "}");
	text_add(&t, "n\"," OK_FIELDS "}");
	assert_entry_rejected(t.s, "component longer than NAME_MAX");
	free(t.s);

	/* A path of PATH_MAX - 1 bytes is fine, PATH_MAX is not. */
	memset(&t, 0, sizeof(t));
	text_add(&t, "{\"path\":\"");
	for (i = 0; i < (PATH_MAX - 1) / 2; i++)
		text_add(&t, "a/");
	text_add(&t, "b\"," OK_FIELDS "}");
	assert_entry_kept(t.s);
	t.len -= strlen("\"," OK_FIELDS "}");
	text_add(&t, "c\"," OK_FIELDS "}");
	assert_entry_rejected(t.s, "longer than PATH_MAX");
	free(t.s);
}
END_TEST

START_TEST(test_entry_numbers)
{
	static const char *const fields[] = { "offset", "size", "mode", "mtime" };
	size_t f;

	for (f = 0; f < 4; f++) {
		char what[64], entry[256];
		const char *o = f == 0 ? "" : "\"offset\":0,";
		const char *s = f == 1 ? "" : "\"size\":1,";
		const char *mo = f == 2 ? "" : "\"mode\":33188,";
		const char *mt = f == 3 ? "" : "\"mtime\":0,";

		snprintf(what, sizeof(what), "\"%s\" is missing", fields[f]);
		snprintf(entry, sizeof(entry), "{%s%s%s%s\"path\":\"x\"}", o, s, mo, mt);
		assert_entry_rejected(entry, what);

		/* Not an integer: doubles (even integral ones), strings, null, bools. */
		snprintf(what, sizeof(what), "\"%s\" is not an integer", fields[f]);
		snprintf(entry, sizeof(entry), "{%s%s%s%s\"path\":\"x\",\"%s\":1.0}", o, s, mo, mt,
			 fields[f]);
		assert_entry_rejected(entry, what);
		snprintf(entry, sizeof(entry), "{%s%s%s%s\"path\":\"x\",\"%s\":1e3}", o, s, mo, mt,
			 fields[f]);
		assert_entry_rejected(entry, what);
		snprintf(entry, sizeof(entry), "{%s%s%s%s\"path\":\"x\",\"%s\":\"1\"}", o, s, mo,
			 mt, fields[f]);
		assert_entry_rejected(entry, what);
		snprintf(entry, sizeof(entry), "{%s%s%s%s\"path\":\"x\",\"%s\":null}", o, s, mo, mt,
			 fields[f]);
		assert_entry_rejected(entry, what);
		snprintf(entry, sizeof(entry), "{%s%s%s%s\"path\":\"x\",\"%s\":true}", o, s, mo, mt,
			 fields[f]);
		assert_entry_rejected(entry, what);

		/* Beyond 2^64: saturated, the range check catches it. */
		snprintf(what, sizeof(what), "\"%s\" is out of range", fields[f]);
		snprintf(entry, sizeof(entry),
			 "{%s%s%s%s\"path\":\"x\",\"%s\":99999999999999999999999999}", o, s, mo, mt,
			 fields[f]);
		assert_entry_rejected(entry, what);
		snprintf(entry, sizeof(entry),
			 "{%s%s%s%s\"path\":\"x\",\"%s\":18446744073709551615}", o, s, mo, mt,
			 fields[f]);
		assert_entry_rejected(entry, what);
		snprintf(entry, sizeof(entry),
			 "{%s%s%s%s\"path\":\"x\",\"%s\":9223372036854775808}", o, s, mo, mt,
			 fields[f]);
		assert_entry_rejected(entry, what);
	}
	/* Negative. */
	assert_entry_rejected(E("\"x\"", "\"offset\":-1,\"size\":1,\"mode\":33188,\"mtime\":0"),
			      "\"offset\" is negative");
	assert_entry_rejected(E("\"x\"", "\"offset\":0,\"size\":-1,\"mode\":33188,\"mtime\":0"),
			      "\"size\" is negative");
	assert_entry_rejected(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":-33188,\"mtime\":0"),
			      "\"mode\" is negative");
	assert_entry_rejected(E("\"x\"", "\"offset\":-99999999999999999999999,\"size\":1,"
					 "\"mode\":33188,\"mtime\":0"),
			      "\"offset\" is negative");
	/* mtime may be negative, down to -2^63 + 1. */
	assert_entry_kept(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":33188,"
				     "\"mtime\":-9223372036854775807"));
	assert_entry_kept(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":33188,"
				     "\"mtime\":9223372036854775807"));
	assert_entry_rejected(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":33188,"
					 "\"mtime\":-9223372036854775808"),
			      "\"mtime\" is out of range");
	assert_entry_rejected(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":33188,"
					 "\"mtime\":-99999999999999999999999"),
			      "\"mtime\" is out of range");
	/* mode: 32 bits. */
	assert_entry_rejected(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":4295000064,\"mtime\":0"),
			      "\"mode\" is out of range");
}
END_TEST

START_TEST(test_entry_mode)
{
	/* Directory, symlink, FIFO, device; permission bits only (no type). */
	assert_entry_rejected(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":16877,\"mtime\":0"),
			      "not a regular file");
	assert_entry_rejected(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":41471,\"mtime\":0"),
			      "not a regular file");
	assert_entry_rejected(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":4516,\"mtime\":0"),
			      "not a regular file");
	assert_entry_rejected(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":8630,\"mtime\":0"),
			      "not a regular file");
	assert_entry_rejected(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":420,\"mtime\":0"),
			      "not a regular file");
	assert_entry_rejected(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":0,\"mtime\":0"),
			      "not a regular file");
	/* setuid, sticky and all permission bits are allowed. */
	assert_entry_kept(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":36863,\"mtime\":0"));
	assert_entry_kept(E("\"x\"", "\"offset\":0,\"size\":1,\"mode\":32768,\"mtime\":0"));
}
END_TEST

START_TEST(test_entry_range)
{
	struct manifest m;
	struct text t = { 0 };

	/* Up to the end of the main stream (MAIN_SIZE) is fine, past it not. */
	assert_entry_kept(E("\"x\"", "\"offset\":999999,\"size\":1,\"mode\":33188,\"mtime\":0"));
	assert_entry_kept(E("\"x\"", "\"offset\":1000000,\"size\":0,\"mode\":33188,\"mtime\":0"));
	assert_entry_kept(E("\"x\"", "\"offset\":0,\"size\":1000000,\"mode\":33188,\"mtime\":0"));
	assert_entry_rejected(E("\"x\"", "\"offset\":1000000,\"size\":1,\"mode\":33188,"
					 "\"mtime\":0"),
			      "past the end of the main stream");
	assert_entry_rejected(E("\"x\"", "\"offset\":1000001,\"size\":0,\"mode\":33188,"
					 "\"mtime\":0"),
			      "past the end of the main stream");
	assert_entry_rejected(E("\"x\"", "\"offset\":0,\"size\":1000001,\"mode\":33188,"
					 "\"mtime\":0"),
			      "past the end of the main stream");
	/* Both at 2^63 - 1: the sum does not wrap into range. */
	text_add(&t, "{\"files\":[" E("\"x\"", "\"offset\":9223372036854775807,"
					       "\"size\":9223372036854775807,\"mode\":33188,"
					       "\"mtime\":0") "]}");
	ck_assert_int_eq(parse_n(t.s, t.len, UINT64_MAX, &m, NULL), HEXZ_OK);
	ck_assert_uint_eq(file_count(&m), 1);
	manifest_free(&m);
	ck_assert_int_eq(parse_n(t.s, t.len, UINT64_MAX - 1, &m, NULL), HEXZ_OK);
	ck_assert_uint_eq(file_count(&m), 1);
	manifest_free(&m);
	ck_assert_int_eq(parse_n(t.s, t.len, (uint64_t)INT64_MAX * 2 - 1, &m, NULL), HEXZ_OK);
	ck_assert_uint_eq(file_count(&m), 0);
	ck_assert_uint_eq(m.rejected_count, 1);
	manifest_free(&m);
	free(t.s);
}
END_TEST

/* Control bytes of a path are escaped in the reason; long paths cut. */
START_TEST(test_reason_text)
{
	struct text t = { 0 };
	struct manifest m;
	size_t i;

	assert_entry_rejected(E("\"a\\u001b[31m/\"", OK_FIELDS), "(\"a\\x1b[31m/\")");
	text_add(&t, "{\"files\":[{\"path\":\"/");
	for (i = 0; i < 3000; i++)
		text_add(&t, "x");
	text_add(&t, "\"," OK_FIELDS "}]}");
	parse_ok(t.s, &m);
	ck_assert_uint_eq(m.rejected_count, 1);
	ck_assert_ptr_nonnull(strstr(m.rejected[0], "xxx...\")"));
	ck_assert_uint_lt(strlen(m.rejected[0]), 400);
	manifest_free(&m);
	free(t.s);
}
END_TEST

/* Duplicates and directories ------------------------------------------- */

#define F(path, offset)                                                                            \
	E("\"" path "\"", "\"offset\":" #offset ",\"size\":1,\"mode\":33188,\"mtime\":0")

START_TEST(test_duplicates)
{
	struct manifest m;

	parse_ok("{\"files\":[" F("a", 1) "," F("b", 2) "," F("a", 3) "," F("a", 4) "," F("b",
											  5) "]}",
		 &m);
	ck_assert_uint_eq(file_count(&m), 2);
	ck_assert_uint_eq(m.rejected_count, 3);
	/* The first one stays. */
	assert_entry(&m, 0, "a", 1, 1, 0100644, 0);
	assert_entry(&m, 1, "b", 2, 1, 0100644, 0);
	assert_reason(&m, 0, 2, "same path as entry 0");
	assert_reason(&m, 1, 3, "same path as entry 0");
	assert_reason(&m, 2, 4, "same path as entry 1");
	manifest_free(&m);

	/* An invalid first one does not count: the later valid one stays. */
	parse_ok("{\"files\":[" E(
			 "\"a\"",
			 "\"offset\":-1,\"size\":1,\"mode\":33188,\"mtime\":0") "," F("a", 7) "]}",
		 &m);
	ck_assert_uint_eq(file_count(&m), 1);
	assert_entry(&m, 0, "a", 7, 1, 0100644, 0);
	assert_reason(&m, 0, 0, "negative");
	manifest_free(&m);
}
END_TEST

START_TEST(test_file_directory_conflict)
{
	struct manifest m;

	/* "a-x" sorts between "a" and "a/b" bytewise ('-' < '/'); the tree has "a" first. */
	parse_ok("{\"files\":[" F("a", 1) "," F("a-x", 2) "," F("a/b", 3) "]}", &m);
	ck_assert_uint_eq(file_count(&m), 2);
	assert_entry(&m, 0, "a/b", 3, 1, 0100644, 0);
	assert_entry(&m, 1, "a-x", 2, 1, 0100644, 0);
	ck_assert_uint_eq(m.rejected_count, 1);
	assert_reason(&m, 0, 0, "(\"a\"): path is also the directory of entry 2 (\"a/b\")");
	manifest_free(&m);

	/* Same in another order, with more in between ("a.b", "a0", "a!"). */
	parse_ok("{\"files\":[" F("a/b", 3) "," F("a.b", 4) "," F("a!", 5) "," F("a0", 6) "," F(
			 "a-x", 2) "," F("a", 1) "]}",
		 &m);
	ck_assert_uint_eq(file_count(&m), 5);
	ck_assert_str_eq(file_path(&m, 0, NULL), "a/b");
	ck_assert_str_eq(file_path(&m, 1, NULL), "a!");
	ck_assert_str_eq(file_path(&m, 2, NULL), "a-x");
	ck_assert_str_eq(file_path(&m, 3, NULL), "a.b");
	ck_assert_str_eq(file_path(&m, 4, NULL), "a0");
	assert_reason(&m, 0, 5, "directory of entry 0");
	manifest_free(&m);

	/* A chain: "a" and "a/b" are directories of "a/b/c". */
	parse_ok("{\"files\":[" F("a/b/c", 1) "," F("a/b", 2) "," F("a", 3) "," F("a", 4) "," F(
			 "ab", 5) "]}",
		 &m);
	ck_assert_uint_eq(file_count(&m), 2);
	ck_assert_str_eq(file_path(&m, 0, NULL), "a/b/c");
	ck_assert_str_eq(file_path(&m, 1, NULL), "ab");
	ck_assert_uint_eq(m.rejected_count, 3);
	assert_reason(&m, 0, 1, "directory of entry 0");
	assert_reason(&m, 1, 2, "directory of entry 1 (\"a/b\")");
	assert_reason(&m, 2, 3, "same path as entry 2");
	manifest_free(&m);

	/* An entry left out for its own fault makes no directory. */
	parse_ok("{\"files\":[" F("a", 1) "," E(
			 "\"a/b\"", "\"offset\":0,\"size\":1,\"mode\":16877,\"mtime\":0") "]}",
		 &m);
	ck_assert_uint_eq(file_count(&m), 1);
	ck_assert_str_eq(file_path(&m, 0, NULL), "a");
	manifest_free(&m);
}
END_TEST

/* Reasons: the first HEXZ_MANIFEST_REJECTIONS_KEPT in document order. */
START_TEST(test_rejections_kept)
{
	struct text t = { 0 };
	struct manifest m;
	size_t i;

	/* 0: "d", then odd entries repeat "d" and even ones are not objects. */
	text_add(&t, "{\"files\":[" F("d", 0));
	for (i = 1; i <= 200; i++) {
		if (i % 2)
			text_add(&t, "," F("d", 1));
		else
			text_add(&t, ",7");
	}
	text_add(&t, "]}");
	parse_ok(t.s, &m);
	ck_assert_uint_eq(file_count(&m), 1);
	ck_assert_uint_eq(m.rejected_count, 200);
	for (i = 0; i < HEXZ_MANIFEST_REJECTIONS_KEPT; i++)
		assert_reason(&m, i, i + 1, i % 2 ? "not a JSON object" : "same path as entry 0");
	manifest_free(&m);
	free(t.s);
}
END_TEST

/* The document `t` fed in pieces of `piece` bytes. */
static int
parse_pieces(const struct text *t, size_t piece, struct manifest *m, struct hexz_error *err)
{
	struct manifest_parser *p;
	int rc;

	ck_assert_int_eq(manifest_parser_new(MAIN_SIZE, &p), HEXZ_OK);
	rc = HEXZ_OK;
	for (size_t at = 0; at < t->len && rc == HEXZ_OK; at += piece) {
		size_t n = t->len - at < piece ? t->len - at : piece;
		char *copy = malloc(n);

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, t->s + at, n);
		rc = manifest_parser_feed(p, copy, n, err);
		free(copy);
	}
	if (rc == HEXZ_OK)
		rc = manifest_parser_finish(p, m, err);
	manifest_parser_free(p);
	return rc;
}

/* Split anywhere, a document gives the same manifest or the same error. */
START_TEST(test_pieces)
{
	struct text t = { 0 };
	struct manifest whole, m;
	struct hexz_error err;
	size_t piece, i;

	text_add(&t, "{\"files\":[" F("a/b", 3) "," F("a", 1) ",7," F("a", 2) ","
		     "{\"path\":\"esc\\u00e9\\\"q\",\"offset\":-12345678901234567890123,"
		     "\"size\":1,\"mode\":33188,\"mtime\":0}," F("c/d", 4) "], \"v\": [true]}");
	parse_ok(t.s, &whole);
	for (piece = 1; piece < t.len; piece++) {
		ck_assert_int_eq(parse_pieces(&t, piece, &m, &err), HEXZ_OK);
		ck_assert_uint_eq(file_count(&m), file_count(&whole));
		for (i = 0; i < file_count(&whole); i++) {
			char want[PATH_MAX];

			strcpy(want, file_path(&whole, i, NULL));
			ck_assert_str_eq(file_path(&m, i, NULL), want);
		}
		ck_assert_uint_eq(m.rejected_count, whole.rejected_count);
		for (i = 0; i < whole.rejected_count; i++)
			ck_assert_str_eq(m.rejected[i], whole.rejected[i]);
		manifest_free(&m);
	}
	manifest_free(&whole);
	free(t.s);

	/* An error in the middle, wherever the cut. */
	memset(&t, 0, sizeof(t));
	text_add(&t, "{\"files\":[" F("a", 1) ", tru]}");
	for (piece = 1; piece < t.len; piece++) {
		memset(&m, 0xAB, sizeof(m));
		ck_assert_int_eq(parse_pieces(&t, piece, &m, &err), HEXZ_ERR_CORRUPT_MANIFEST);
		ck_assert_ptr_nonnull(strstr(err.message, "not valid JSON"));
	}
	free(t.s);
}
END_TEST

/* 100,000 entries, in reverse order, some in deep directories. */
START_TEST(test_large)
{
	enum { N = 100000 };
	struct text t = { 0 };
	struct manifest m;
	uint32_t *files;
	double t0;
	size_t i, n;

	text_add(&t, "{\"files\":[");
	for (i = N; i-- > 0;)
		text_add(&t,
			 "%s{\"path\":\"dir%02zu/sub%03zu/file%06zu\",\"offset\":%zu,\"size\":%zu,"
			 "\"mode\":33188,\"mtime\":1764000000}\n",
			 i == N - 1 ? "" : ",", i % 97, i % 1000, i, i * 10, i % 10);
	text_add(&t, "]}");
	t0 = tu_now();
	ck_assert_int_eq(parse_n(t.s, t.len, (uint64_t)N * 10, &m, NULL), HEXZ_OK);
	fprintf(stderr, "test_large: %d entries (%zu bytes) in %.3f s\n", N, t.len, tu_now() - t0);
	ck_assert_uint_eq(m.rejected_count, 0);
	n = tree_files(&m, &files);
	ck_assert_uint_eq(n, N);
	/* Each file where its path says, with its own numbers. */
	for (i = 0; i < n; i++) {
		const struct mtree_node *f = &m.tree.nodes[files[i]];
		char path[PATH_MAX], want[64];
		size_t k;

		mtree_path(&m.tree, files[i], path, sizeof(path));
		ck_assert_int_eq(sscanf(mtree_name(&m.tree, files[i]), "file%zu", &k), 1);
		snprintf(want, sizeof(want), "dir%02zu/sub%03zu/file%06zu", k % 97, k % 1000, k);
		ck_assert_str_eq(path, want);
		ck_assert_uint_eq(f->u.file.offset, k * 10);
		ck_assert_uint_eq(f->u.file.size, k % 10);
		ck_assert_uint_eq(mtree_lookup(&m.tree, f->parent, mtree_name(&m.tree, files[i])),
				  files[i]);
	}
	/* 97 directories of 97,000 (i mod 97, i mod 1000) in all, then the root. */
	ck_assert_uint_eq(m.tree.count, N + 97 + 97000 + 1);
	free(files);
	manifest_free(&m);
	free(t.s);
}
END_TEST

static Suite *
manifest_suite(void)
{
	Suite *s = suite_create("manifest");
	TCase *doc = tcase_create("document");
	TCase *entry = tcase_create("entries");
	TCase *set = tcase_create("set");

	tcase_add_test(doc, test_valid);
	tcase_add_test(doc, test_nested_and_bytes);
	tcase_add_test(doc, test_no_files);
	tcase_add_test(doc, test_invalid_json);
	tcase_add_test(doc, test_not_object);
	tcase_add_test(doc, test_files_not_array);
	tcase_add_test(doc, test_nul_in_document);
	tcase_add_test(doc, test_trailing);
	tcase_add_test(doc, test_limits);
	suite_add_tcase(s, doc);

	tcase_add_test(entry, test_entry_not_object);
	tcase_add_test(entry, test_entry_path);
	tcase_add_test(entry, test_entry_numbers);
	tcase_add_test(entry, test_entry_mode);
	tcase_add_test(entry, test_entry_range);
	tcase_add_test(entry, test_reason_text);
	suite_add_tcase(s, entry);

	tcase_add_test(set, test_duplicates);
	tcase_add_test(set, test_file_directory_conflict);
	tcase_add_test(set, test_rejections_kept);
	tcase_add_test(set, test_pieces);
	tcase_add_test(set, test_large);
	suite_add_tcase(s, set);
	return s;
}

int
main(void)
{
	return tu_run_suite(manifest_suite());
}
