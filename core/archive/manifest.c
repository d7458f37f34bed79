/* SPDX-License-Identifier: MIT */
/*
 * The manifest of a directory archive (FORMAT.md 8), parsed with json-c
 * and validated into a sorted list of files.
 *
 * The document is untrusted. It is scanned before parsing (no NUL bytes,
 * a bounded number of objects and arrays), parsed with a depth limit, and
 * must end after the top-level value. Then every entry is checked on its
 * own (path, numbers, range in the main stream), the valid ones are sorted
 * so that duplicates and files that are also directories of other entries
 * sit next to their partners, and the survivors are sorted by path and
 * copied into one block of path strings the manifest owns.
 *
 * Rejection reasons are kept for the first HEXZ_MANIFEST_REJECTIONS_KEPT
 * entries left out in document order; the count counts all.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "error_set.h"
#include "manifest.h"

/* Nesting the tokener accepts; a manifest needs 3 (object, array, entry). */
#define MANIFEST_MAX_DEPTH 32

/*
 * json-c spends close to a kilobyte on every object (its hash table starts
 * with 16 slots), so "[{},{},...]" would cost ~300 times its size. One
 * object or array per MANIFEST_BYTES_PER_CONTAINER bytes of document is
 * far more than any manifest has (an entry with its five fields takes over
 * 50 bytes) and keeps json-c's memory within a small multiple of the
 * document's size.
 */
#define MANIFEST_BYTES_PER_CONTAINER 32
/*
 * Likewise every value costs json-c some 60 bytes: at most one value (an
 * object, an array, or an element after a comma) per
 * MANIFEST_BYTES_PER_VALUE bytes. A manifest entry has 6 in over 50 bytes.
 */
#define MANIFEST_BYTES_PER_VALUE 4
#define MANIFEST_MIN_VALUES 64

/* How much of a path a rejection message quotes. */
#define REASON_PATH_MAX 160

/* Why an entry was left out. */
enum reject_reason {
	REJECT_NONE = 0,
	REJECT_NOT_OBJECT,
	REJECT_PATH_MISSING,
	REJECT_PATH_NOT_STRING,
	REJECT_PATH_EMPTY,
	REJECT_PATH_ABSOLUTE,
	REJECT_PATH_NUL,
	REJECT_PATH_TOO_LONG,
	REJECT_PATH_TRAILING_SLASH,
	REJECT_PATH_EMPTY_COMPONENT,
	REJECT_PATH_DOT_COMPONENT,
	REJECT_PATH_NAME_TOO_LONG,
	REJECT_FIELD_MISSING,  /* with a field name */
	REJECT_FIELD_NOT_INT,  /* with a field name */
	REJECT_FIELD_NEGATIVE, /* with a field name */
	REJECT_FIELD_RANGE,    /* with a field name */
	REJECT_MODE_NOT_REGULAR,
	REJECT_PAST_END,
	REJECT_DUPLICATE, /* with the entry it repeats */
	REJECT_DIRECTORY, /* with an entry below it */
};

/* One entry on its way through the checks. */
struct candidate {
	const char *path; /* json-c's string, valid until the tree is freed */
	size_t path_len;
	uint64_t offset;
	uint64_t size;
	int64_t mtime;
	uint32_t mode;
	enum reject_reason reason;
	size_t index;		/* in the document's "files" array */
	size_t other;		/* the partner of REJECT_DUPLICATE or REJECT_DIRECTORY */
	const char *other_path; /* and its path, for REJECT_DIRECTORY */
	size_t other_path_len;
};

/* A rejection waiting for its message. */
struct rejection {
	size_t index;
	enum reject_reason reason;
	const char *field; /* for REJECT_FIELD_* */
	const char *path;  /* NULL when the entry has no string path */
	size_t path_len;
	const char *other_path; /* for REJECT_DIRECTORY */
	size_t other_path_len;
	size_t other;
};

struct parse_state {
	uint64_t main_size;
	struct candidate *cands; /* entries that passed the checks of their own */
	size_t ncands;
	size_t cands_cap;
	/* Entries rejected on their own, first ones in document order. */
	struct rejection early[HEXZ_MANIFEST_REJECTIONS_KEPT];
	size_t nearly;
	size_t rejected; /* all rejected entries */
};

/* Pre-scan ------------------------------------------------------------- */

/*
 * Count the objects and arrays (*containers) and the commas (*commas) of a
 * document, outside strings. Malformed JSON is mostly the tokener's to
 * report; this only needs to be right for well-formed documents and to
 * end. It also catches what json-c lets through even in strict mode: a
 * single quote outside strings ({'files': ...}) and raw control bytes
 * inside them. Returns the offset of such a byte, or len.
 */
static size_t
scan_document(const char *json, size_t len, size_t *containers, size_t *commas)
{
	size_t i, n = 0, c2 = 0;
	int in_string = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)json[i];

		if (in_string) {
			if (c < 0x20)
				break;
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '{' || c == '[') {
			n++;
		} else if (c == ',') {
			c2++;
		} else if (c == '\'') {
			break;
		}
	}
	*containers = n;
	*commas = c2;
	return i < len ? i : len;
}

static int
is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parse the whole document, or fail with a reason in err. */
static int
parse_document(const char *json, size_t len, struct json_object **out, struct hexz_error *err)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end, bad, containers, commas;

	*out = NULL;
	if (len > MANIFEST_MAX_BYTES || len > INT_MAX)
		return error_set(err, HEXZ_ERR_LIMIT,
				 "manifest: metadata of %zu bytes exceeds the limit of %u", len,
				 MANIFEST_MAX_BYTES);
	if (memchr(json, '\0', len))
		return error_set(err, HEXZ_ERR_CORRUPT_MANIFEST,
				 "manifest: metadata contains a NUL byte");
	bad = scan_document(json, len, &containers, &commas);
	if (bad < len)
		return error_set(err, HEXZ_ERR_CORRUPT_MANIFEST,
				 "manifest: metadata is not valid JSON: unexpected byte 0x%02x at "
				 "byte %zu",
				 (unsigned char)json[bad], bad);
	if (containers > MANIFEST_MIN_VALUES + len / MANIFEST_BYTES_PER_CONTAINER ||
	    containers + commas > MANIFEST_MIN_VALUES + len / MANIFEST_BYTES_PER_VALUE)
		return error_set(
			err, HEXZ_ERR_LIMIT,
			"manifest: metadata holds more JSON values than this reader accepts "
			"for its size");

	tok = json_tokener_new_ex(MANIFEST_MAX_DEPTH);
	if (!tok)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!obj) {
		if (jerr == json_tokener_continue)
			return error_set(err, HEXZ_ERR_CORRUPT_MANIFEST,
					 "manifest: metadata is not valid JSON: it ends too soon");
		if (jerr == json_tokener_success)
			return error_set(err, HEXZ_ERR_CORRUPT_MANIFEST,
					 "manifest: metadata is not a JSON object");
		return error_set(err, HEXZ_ERR_CORRUPT_MANIFEST,
				 "manifest: metadata is not valid JSON: %s at byte %zu",
				 json_tokener_error_desc(jerr), end);
	}
	while (end < len && is_json_space(json[end]))
		end++;
	if (end < len) {
		json_object_put(obj);
		return error_set(
			err, HEXZ_ERR_CORRUPT_MANIFEST,
			"manifest: metadata has bytes after the JSON document (at byte %zu)", end);
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return error_set(err, HEXZ_ERR_CORRUPT_MANIFEST,
				 "manifest: metadata is not a JSON object");
	}
	*out = obj;
	return HEXZ_OK;
}

/* Checks of one entry -------------------------------------------------- */

static enum reject_reason
check_path(const char *path, size_t len)
{
	size_t start, i;

	if (len == 0)
		return REJECT_PATH_EMPTY;
	if (path[0] == '/')
		return REJECT_PATH_ABSOLUTE;
	if (memchr(path, '\0', len))
		return REJECT_PATH_NUL;
	if (len > PATH_MAX - 1)
		return REJECT_PATH_TOO_LONG;
	if (path[len - 1] == '/')
		return REJECT_PATH_TRAILING_SLASH;
	for (start = 0; start <= len; start = i + 1) {
		const char *slash = memchr(path + start, '/', len - start);
		size_t n;

		i = slash ? (size_t)(slash - path) : len;
		n = i - start;
		if (n == 0)
			return REJECT_PATH_EMPTY_COMPONENT;
		if ((n == 1 && path[start] == '.') ||
		    (n == 2 && path[start] == '.' && path[start + 1] == '.'))
			return REJECT_PATH_DOT_COMPONENT;
		if (n > NAME_MAX)
			return REJECT_PATH_NAME_TOO_LONG;
	}
	return REJECT_NONE;
}

/*
 * Read integer field `name` of `entry` into *out, accepting min..max.
 * Only JSON integers count: json-c parses 1.0 and 1e3 as doubles. It
 * saturates integers beyond 64 bits to INT64_MIN or UINT64_MAX, which the
 * ranges below exclude (see the mtime note in manifest.h).
 */
static enum reject_reason
get_integer(struct json_object *entry, const char *name, int64_t min, uint64_t max,
	    int64_t *out_signed, uint64_t *out_unsigned)
{
	struct json_object *v;
	int64_t s;
	uint64_t u;

	if (!json_object_object_get_ex(entry, name, &v))
		return REJECT_FIELD_MISSING;
	if (!json_object_is_type(v, json_type_int))
		return REJECT_FIELD_NOT_INT;
	s = json_object_get_int64(v);
	if (s < 0) {
		if (min >= 0)
			return REJECT_FIELD_NEGATIVE;
		if (s < min)
			return REJECT_FIELD_RANGE;
		*out_signed = s;
		return REJECT_NONE;
	}
	/* Non-negative: json-c may hold it as a uint64 above INT64_MAX. */
	u = json_object_get_uint64(v);
	if (u > max)
		return REJECT_FIELD_RANGE;
	if (out_signed)
		*out_signed = (int64_t)u;
	if (out_unsigned)
		*out_unsigned = u;
	return REJECT_NONE;
}

/* Check one entry on its own; fill c, or return why it is left out. */
static enum reject_reason
check_entry(struct json_object *entry, uint64_t main_size, struct candidate *c, const char **field)
{
	struct json_object *jpath;
	enum reject_reason r;
	uint64_t mode;
	int64_t mtime;

	*field = NULL;
	if (!json_object_is_type(entry, json_type_object))
		return REJECT_NOT_OBJECT;
	if (!json_object_object_get_ex(entry, "path", &jpath))
		return REJECT_PATH_MISSING;
	if (!json_object_is_type(jpath, json_type_string))
		return REJECT_PATH_NOT_STRING;
	c->path = json_object_get_string(jpath);
	c->path_len = (size_t)json_object_get_string_len(jpath);
	r = check_path(c->path, c->path_len);
	if (r)
		return r;

	*field = "offset";
	r = get_integer(entry, "offset", 0, INT64_MAX, NULL, &c->offset);
	if (r)
		return r;
	*field = "size";
	r = get_integer(entry, "size", 0, INT64_MAX, NULL, &c->size);
	if (r)
		return r;
	*field = "mode";
	r = get_integer(entry, "mode", 0, UINT32_MAX, NULL, &mode);
	if (r)
		return r;
	*field = "mtime";
	r = get_integer(entry, "mtime", INT64_MIN + 1, INT64_MAX, &mtime, NULL);
	if (r)
		return r;
	*field = NULL;
	c->mode = (uint32_t)mode;
	c->mtime = mtime;
	/* Type bits are required: 0644 alone is not a regular file (manifest.h). */
	if ((c->mode & S_IFMT) != S_IFREG)
		return REJECT_MODE_NOT_REGULAR;
	if (c->size > main_size || c->offset > main_size - c->size)
		return REJECT_PAST_END;
	return REJECT_NONE;
}

/* Messages ------------------------------------------------------------- */

/* Quote up to REASON_PATH_MAX bytes of a path, control bytes escaped. */
static void
quote_path(char *buf, size_t cap, const char *path, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && i < REASON_PATH_MAX && o + 5 < cap; i++) {
		unsigned char ch = (unsigned char)path[i];

		if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	if (i < len && o + 4 < cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

static const char *
reason_text(enum reject_reason r)
{
	switch (r) {
	case REJECT_NOT_OBJECT:
		return "not a JSON object";
	case REJECT_PATH_MISSING:
		return "no \"path\"";
	case REJECT_PATH_NOT_STRING:
		return "\"path\" is not a string";
	case REJECT_PATH_EMPTY:
		return "empty path";
	case REJECT_PATH_ABSOLUTE:
		return "absolute path";
	case REJECT_PATH_NUL:
		return "path contains a NUL byte";
	case REJECT_PATH_TOO_LONG:
		return "path longer than PATH_MAX - 1 bytes";
	case REJECT_PATH_TRAILING_SLASH:
		return "path ends with '/'";
	case REJECT_PATH_EMPTY_COMPONENT:
		return "path has an empty component";
	case REJECT_PATH_DOT_COMPONENT:
		return "path has a \".\" or \"..\" component";
	case REJECT_PATH_NAME_TOO_LONG:
		return "path has a component longer than NAME_MAX bytes";
	case REJECT_FIELD_MISSING:
		return "is missing";
	case REJECT_FIELD_NOT_INT:
		return "is not an integer";
	case REJECT_FIELD_NEGATIVE:
		return "is negative";
	case REJECT_FIELD_RANGE:
		return "is out of range";
	case REJECT_MODE_NOT_REGULAR:
		return "mode is not a regular file";
	case REJECT_PAST_END:
		return "offset + size lies past the end of the main stream";
	case REJECT_DUPLICATE:
		return "same path as entry";
	case REJECT_DIRECTORY:
		return "path is also the directory of entry";
	case REJECT_NONE:
		break;
	}
	return "invalid";
}

/* The malloc()ed sentence for one rejection, or NULL without memory. */
static char *
rejection_message(const struct rejection *rj)
{
	char path[4 * REASON_PATH_MAX + 8], other[4 * REASON_PATH_MAX + 8];
	char head[sizeof(path) + 48];
	const char *text = reason_text(rj->reason);
	char *msg = NULL;
	int n;

	if (rj->path) {
		quote_path(path, sizeof(path), rj->path, rj->path_len);
		snprintf(head, sizeof(head), "entry %zu (\"%s\")", rj->index, path);
	} else {
		snprintf(head, sizeof(head), "entry %zu", rj->index);
	}
	switch (rj->reason) {
	case REJECT_FIELD_MISSING:
	case REJECT_FIELD_NOT_INT:
	case REJECT_FIELD_NEGATIVE:
	case REJECT_FIELD_RANGE:
		n = asprintf(&msg, "%s: \"%s\" %s", head, rj->field, text);
		break;
	case REJECT_DUPLICATE:
		n = asprintf(&msg, "%s: %s %zu", head, text, rj->other);
		break;
	case REJECT_DIRECTORY:
		quote_path(other, sizeof(other), rj->other_path, rj->other_path_len);
		n = asprintf(&msg, "%s: %s %zu (\"%s\")", head, text, rj->other, other);
		break;
	default:
		n = asprintf(&msg, "%s: %s", head, text);
		break;
	}
	return n < 0 ? NULL : msg;
}

/* Sorting -------------------------------------------------------------- */

/*
 * Path order with '/' below every other byte, then document order. In it,
 * the entries below directory "a" ("a/...") come right after "a" itself,
 * before "a-x" or "a.b" which plain strcmp() would put in between.
 */
static int
cmp_slash_first(const void *pa, const void *pb)
{
	const struct candidate *a = pa, *b = pb;
	const unsigned char *x = (const unsigned char *)a->path;
	const unsigned char *y = (const unsigned char *)b->path;

	size_t n = a->path_len < b->path_len ? a->path_len : b->path_len;
	size_t i = 0;
	unsigned kx, ky;

	/* Only the first differing byte matters: find it at memcmp() speed. */
	while (i < n && x[i] == y[i])
		i++;
	if (i == n && a->path_len == b->path_len)
		return a->index < b->index ? -1 : a->index > b->index;
	/* Past the end of a path reads its NUL: the end sorts first. */
	kx = x[i] == '/' ? 1u : x[i] == 0 ? 0u : x[i] + 1u;
	ky = y[i] == '/' ? 1u : y[i] == 0 ? 0u : y[i] + 1u;
	return kx < ky ? -1 : 1;
}

static int
cmp_path(const void *pa, const void *pb)
{
	const struct candidate *a = pa, *b = pb;

	return strcmp(a->path, b->path);
}

static int
cmp_rejection_index(const void *pa, const void *pb)
{
	const struct rejection *a = pa, *b = pb;

	return a->index < b->index ? -1 : a->index > b->index;
}

/*
 * Mark duplicates (all but the first in document order) and files that
 * are also directories of other entries. Sorts cands.
 */
static void
mark_conflicts(struct candidate *cands, size_t n)
{
	size_t i = 0, j;

	if (n < 2)
		return;
	qsort(cands, n, sizeof(*cands), cmp_slash_first);
	while (i < n) {
		struct candidate *first = &cands[i];

		for (j = i + 1; j < n && cands[j].path_len == first->path_len &&
				memcmp(cands[j].path, first->path, first->path_len) == 0;
		     j++) {
			cands[j].reason = REJECT_DUPLICATE;
			cands[j].other = first->index;
		}
		/* Anything below first->path sorts right after its duplicates. */
		if (j < n && cands[j].path_len > first->path_len &&
		    cands[j].path[first->path_len] == '/' &&
		    memcmp(cands[j].path, first->path, first->path_len) == 0) {
			first->reason = REJECT_DIRECTORY;
			first->other = cands[j].index;
			first->other_path = cands[j].path;
			first->other_path_len = cands[j].path_len;
		}
		i = j;
	}
}

/* Building the manifest ------------------------------------------------ */

static void
record_early(struct parse_state *st, size_t index, enum reject_reason r, const char *field,
	     const struct candidate *c)
{
	struct rejection *rj;

	st->rejected++;
	if (st->nearly == HEXZ_MANIFEST_REJECTIONS_KEPT)
		return;
	rj = &st->early[st->nearly++];
	memset(rj, 0, sizeof(*rj));
	rj->index = index;
	rj->reason = r;
	rj->field = field;
	if (c->path) {
		rj->path = c->path;
		rj->path_len = c->path_len;
	}
}

/*
 * The first HEXZ_MANIFEST_REJECTIONS_KEPT rejections in document order:
 * the early ones (already in order) merged with those of mark_conflicts().
 */
static int
keep_reasons(struct parse_state *st, struct manifest *out)
{
	struct rejection *late = NULL, merged[HEXZ_MANIFEST_REJECTIONS_KEPT];
	size_t nlate = 0, i, a = 0, b = 0, k;

	for (i = 0; i < st->ncands; i++)
		if (st->cands[i].reason)
			nlate++;
	st->rejected += nlate;
	if (nlate) {
		late = calloc(nlate, sizeof(*late));
		if (!late)
			return HEXZ_ERR_NO_MEMORY;
		for (i = 0, k = 0; i < st->ncands; i++) {
			const struct candidate *c = &st->cands[i];

			if (!c->reason)
				continue;
			late[k].index = c->index;
			late[k].reason = c->reason;
			late[k].path = c->path;
			late[k].path_len = c->path_len;
			late[k].other = c->other;
			late[k].other_path = c->other_path;
			late[k].other_path_len = c->other_path_len;
			k++;
		}
		qsort(late, nlate, sizeof(*late), cmp_rejection_index);
	}
	for (k = 0; k < HEXZ_MANIFEST_REJECTIONS_KEPT && (a < st->nearly || b < nlate); k++) {
		if (b == nlate || (a < st->nearly && st->early[a].index < late[b].index))
			merged[k] = st->early[a++];
		else
			merged[k] = late[b++];
	}
	for (i = 0; i < k; i++) {
		out->rejected[i] = rejection_message(&merged[i]);
		if (!out->rejected[i]) {
			free(late);
			return HEXZ_ERR_NO_MEMORY;
		}
	}
	free(late);
	return HEXZ_OK;
}

/* Copy the surviving candidates, sorted by path, into out. */
static int
build_entries(struct parse_state *st, struct manifest *out)
{
	size_t i, k, n = 0, bytes = 0;
	char *arena;

	for (i = 0; i < st->ncands; i++) {
		if (st->cands[i].reason)
			continue;
		st->cands[n++] = st->cands[i];
		bytes += st->cands[i].path_len + 1;
	}
	if (!n)
		return HEXZ_OK;
	qsort(st->cands, n, sizeof(*st->cands), cmp_path);
	out->entries = calloc(n, sizeof(*out->entries));
	arena = malloc(bytes);
	if (!out->entries || !arena) {
		free(arena);
		return HEXZ_ERR_NO_MEMORY;
	}
	out->storage = arena;
	for (i = 0, k = 0; i < n; i++) {
		const struct candidate *c = &st->cands[i];
		struct hexz_manifest_entry *e = &out->entries[i];

		memcpy(arena + k, c->path, c->path_len + 1);
		e->path = arena + k;
		e->offset = c->offset;
		e->size = c->size;
		e->mode = c->mode;
		e->mtime = c->mtime;
		k += c->path_len + 1;
	}
	out->count = n;
	return HEXZ_OK;
}

/*
 * Room for one more candidate. The array grows with the valid entries
 * only, each of which takes over 50 bytes of document, so a document of
 * small invalid elements ("[1,1,1,...]") costs nothing here.
 */
static struct candidate *
next_candidate(struct parse_state *st)
{
	if (st->ncands == st->cands_cap) {
		size_t cap = st->cands_cap ? st->cands_cap * 2 : 64;
		struct candidate *p = reallocarray(st->cands, cap, sizeof(*p));

		if (!p)
			return NULL;
		st->cands = p;
		st->cands_cap = cap;
	}
	return &st->cands[st->ncands];
}

static int
parse_files(struct json_object *files, struct parse_state *st, struct manifest *out)
{
	size_t i, n = json_object_array_length(files);
	int rc;

	for (i = 0; i < n; i++) {
		struct candidate *c = next_candidate(st);
		const char *field;
		enum reject_reason r;

		if (!c)
			return HEXZ_ERR_NO_MEMORY;
		memset(c, 0, sizeof(*c));
		c->index = i;
		r = check_entry(json_object_array_get_idx(files, i), st->main_size, c, &field);
		if (r)
			record_early(st, i, r, field, c);
		else
			st->ncands++;
	}
	mark_conflicts(st->cands, st->ncands);
	rc = keep_reasons(st, out);
	if (rc == HEXZ_OK)
		rc = build_entries(st, out);
	out->rejected_count = st->rejected;
	return rc;
}

/* Documents at least this large are parsed one at a time. */
#define LARGE_MANIFEST (1u << 20)

static pthread_mutex_t large_parse_lock = PTHREAD_MUTEX_INITIALIZER;

static int parse_manifest(const char *json, size_t len, uint64_t main_size,
			  struct manifest *out, struct hexz_error *err);

int
manifest_parse(const char *json, size_t len, uint64_t main_size, struct manifest *out,
	       struct hexz_error *err)
{
	int rc;

	/*
	 * json-c's tree of a large document costs about fifteen times the
	 * document (some 150 MiB for 100,000 entries): one large manifest at a
	 * time, so that opening many archives at once stays within that.
	 */
	if (len < LARGE_MANIFEST)
		return parse_manifest(json, len, main_size, out, err);
	pthread_mutex_lock(&large_parse_lock);
	rc = parse_manifest(json, len, main_size, out, err);
	pthread_mutex_unlock(&large_parse_lock);
	return rc;
}

static int
parse_manifest(const char *json, size_t len, uint64_t main_size, struct manifest *out,
	       struct hexz_error *err)
{
	struct parse_state *st;
	struct json_object *doc, *files;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = parse_document(json, len, &doc, err);
	if (rc)
		return rc;
	if (!json_object_object_get_ex(doc, "files", &files)) {
		json_object_put(doc);
		return HEXZ_OK;
	}
	if (!json_object_is_type(files, json_type_array)) {
		json_object_put(doc);
		return error_set(err, HEXZ_ERR_CORRUPT_MANIFEST,
				 "manifest: \"files\" is not an array");
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		json_object_put(doc);
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	}
	st->main_size = main_size;
	out->present = true;
	rc = parse_files(files, st, out);
	free(st->cands);
	free(st);
	json_object_put(doc);
	if (rc) {
		manifest_free(out);
		return error_plain(err, rc);
	}
	return HEXZ_OK;
}

void
manifest_free(struct manifest *m)
{
	size_t i;

	for (i = 0; i < HEXZ_MANIFEST_REJECTIONS_KEPT; i++)
		free(m->rejected[i]);
	free(m->entries);
	free(m->storage);
	memset(m, 0, sizeof(*m));
}
