/* SPDX-License-Identifier: MIT */
/*
 * The manifest of a directory archive (FORMAT.md 8), parsed as a stream
 * with yajl and validated into a compact tree (manifest_tree.c).
 *
 * Why a stream: a DOM of the document (json-c's costs about 1.3 KiB an
 * entry) is many times the tree it becomes, so its size, not the tree's,
 * bounded the manifests an archive could carry. yajl hands over one event
 * at a time; each entry object is checked as it ends and goes straight
 * into the tree. Memory is the tree, yajl's small buffers, and the longest
 * string or number of the document, which scan_chunk() caps.
 *
 * The document is untrusted: no NUL bytes, no form feed or vertical tab
 * (yajl takes them for white space, JSON does not), nesting at most
 * MANIFEST_MAX_DEPTH, nothing after the top-level object.
 *
 * Rejection reasons are kept for the first HEXZ_MANIFEST_REJECTIONS_KEPT
 * entries left out in document order; the count counts all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yajl/yajl_parse.h>

#include "error_set.h"
#include "manifest.h"

/* Nesting accepted; a manifest needs 3 (object, array, entry). */
#define MANIFEST_MAX_DEPTH 32

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

/* The integer fields of an entry, in the order they are checked. */
enum field { FIELD_OFFSET, FIELD_SIZE, FIELD_MODE, FIELD_MTIME, FIELD_COUNT };
static const char *const field_names[FIELD_COUNT] = { "offset", "size", "mode", "mtime" };

/* Which member of an entry the next value is for. */
enum member { MEMBER_OTHER = -1, MEMBER_PATH = FIELD_COUNT };

struct number {
	enum { NUMBER_MISSING, NUMBER_NOT_INT, NUMBER_NEGATIVE, NUMBER_UNSIGNED } kind;
	int64_t negative; /* saturated at INT64_MIN */
	uint64_t value;   /* saturated at UINT64_MAX */
};

/* The entry being read. */
struct entry_draft {
	bool has_path, path_is_string;
	enum reject_reason path_reason;
	size_t path_len;       /* the whole path's length */
	char path[PATH_MAX];   /* its first bytes (all of a valid path) */
	struct number numbers[FIELD_COUNT];
};

/* A rejection among the first ones kept. */
struct kept {
	size_t index;
	char *message;      /* NULL for REJECT_DIRECTORY until the tree is laid out */
	uint32_t dir_node;  /* REJECT_DIRECTORY: the directory the path names */
};

struct manifest_parser {
	yajl_handle yajl;
	uint64_t main_size;
	/* Where the stream is. */
	size_t consumed;   /* bytes fed before the current chunk */
	unsigned depth;    /* containers open */
	bool started;      /* the top-level value began */
	bool files_seen;   /* a top-level "files" key */
	bool files_next;   /* the next top-level value is "files"'s */
	bool in_files;     /* inside the "files" array (depth 2) */
	bool in_entry;     /* inside an entry object (depth 3) */
	int member;        /* enum member: the entry's current key */
	size_t index;      /* the current element of "files" */
	struct entry_draft entry;
	/* Raw scan across chunks (scan_chunk()). */
	bool in_string, escaped;
	size_t token_len;
	/* The first failure; then every callback stops. */
	int error;
	char message[HEXZ_ERROR_MESSAGE_MAX];
	/* What is built. */
	bool present;
	bool tree_ready;
	struct mtree tree;
	struct kept kept[HEXZ_MANIFEST_REJECTIONS_KEPT];
	size_t nkept;
	size_t rejected;
};

/* Failing ------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int
fail(struct manifest_parser *p, int code, const char *fmt, ...)
{
	va_list ap;

	if (p->error)
		return 0;
	p->error = code;
	va_start(ap, fmt);
	vsnprintf(p->message, sizeof(p->message), fmt, ap);
	va_end(ap);
	return 0; /* for callbacks: stop the parse */
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

/* Number `n` as a value of min..max, into *out_signed or *out_unsigned. */
static enum reject_reason
check_integer(const struct number *n, int64_t min, uint64_t max, int64_t *out_signed,
	      uint64_t *out_unsigned)
{
	switch (n->kind) {
	case NUMBER_MISSING:
		return REJECT_FIELD_MISSING;
	case NUMBER_NOT_INT:
		return REJECT_FIELD_NOT_INT;
	case NUMBER_NEGATIVE:
		if (min >= 0)
			return REJECT_FIELD_NEGATIVE;
		if (n->negative < min)
			return REJECT_FIELD_RANGE;
		*out_signed = n->negative;
		return REJECT_NONE;
	case NUMBER_UNSIGNED:
		break;
	}
	if (n->value > max)
		return REJECT_FIELD_RANGE;
	if (out_signed)
		*out_signed = (int64_t)n->value;
	if (out_unsigned)
		*out_unsigned = n->value;
	return REJECT_NONE;
}

/* The checked values of a valid entry. */
struct entry_values {
	uint64_t offset, size, mode;
	int64_t mtime;
};

/* Check the entry just read; fill v, or return why it is left out. */
static enum reject_reason
check_entry(const struct manifest_parser *p, struct entry_values *v, const char **field)
{
	const struct entry_draft *e = &p->entry;
	enum reject_reason r;

	*field = NULL;
	if (!e->has_path)
		return REJECT_PATH_MISSING;
	if (!e->path_is_string)
		return REJECT_PATH_NOT_STRING;
	if (e->path_reason)
		return e->path_reason;
	*field = field_names[FIELD_OFFSET];
	r = check_integer(&e->numbers[FIELD_OFFSET], 0, INT64_MAX, NULL, &v->offset);
	if (r)
		return r;
	*field = field_names[FIELD_SIZE];
	r = check_integer(&e->numbers[FIELD_SIZE], 0, INT64_MAX, NULL, &v->size);
	if (r)
		return r;
	*field = field_names[FIELD_MODE];
	r = check_integer(&e->numbers[FIELD_MODE], 0, UINT32_MAX, NULL, &v->mode);
	if (r)
		return r;
	*field = field_names[FIELD_MTIME];
	r = check_integer(&e->numbers[FIELD_MTIME], INT64_MIN + 1, INT64_MAX, &v->mtime, NULL);
	if (r)
		return r;
	*field = NULL;
	/* Type bits are required: 0644 alone is not a regular file (manifest.h). */
	if ((v->mode & S_IFMT) != S_IFREG)
		return REJECT_MODE_NOT_REGULAR;
	if (v->size > p->main_size || v->offset > p->main_size - v->size)
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

/*
 * The malloc()ed sentence for a rejection of entry `index` (path NULL when
 * the entry has no string path), or NULL without memory.
 */
static char *
rejection_message(size_t index, enum reject_reason r, const char *field, const char *path,
		  size_t path_len, size_t other, const char *other_path, size_t other_len)
{
	char quoted[4 * REASON_PATH_MAX + 8], quoted_other[4 * REASON_PATH_MAX + 8];
	char head[sizeof(quoted) + 48];
	const char *text = reason_text(r);
	char *msg = NULL;
	int n;

	if (path) {
		quote_path(quoted, sizeof(quoted), path, path_len);
		snprintf(head, sizeof(head), "entry %zu (\"%s\")", index, quoted);
	} else {
		snprintf(head, sizeof(head), "entry %zu", index);
	}
	switch (r) {
	case REJECT_FIELD_MISSING:
	case REJECT_FIELD_NOT_INT:
	case REJECT_FIELD_NEGATIVE:
	case REJECT_FIELD_RANGE:
		n = asprintf(&msg, "%s: \"%s\" %s", head, field, text);
		break;
	case REJECT_DUPLICATE:
		n = asprintf(&msg, "%s: %s %zu", head, text, other);
		break;
	case REJECT_DIRECTORY:
		quote_path(quoted_other, sizeof(quoted_other), other_path, other_len);
		n = asprintf(&msg, "%s: %s %zu (\"%s\")", head, text, other, quoted_other);
		break;
	default:
		n = asprintf(&msg, "%s: %s", head, text);
		break;
	}
	return n < 0 ? NULL : msg;
}

/*
 * Count a rejection of entry `index`; keep it if it is among the first
 * HEXZ_MANIFEST_REJECTIONS_KEPT by index. `message` (owned from here on)
 * is NULL for a directory rejection, whose message waits for the layout.
 */
static int
keep_rejection(struct manifest_parser *p, size_t index, char *message, uint32_t dir_node)
{
	size_t at;

	p->rejected++;
	if (p->nkept == HEXZ_MANIFEST_REJECTIONS_KEPT &&
	    p->kept[p->nkept - 1].index < index) {
		free(message);
		return 1;
	}
	if (!message && dir_node == MTREE_NONE)
		return fail(p, HEXZ_ERR_NO_MEMORY, "manifest: %s", hexz_strerror(HEXZ_ERR_NO_MEMORY));
	/* Most arrive in order: the place is usually the end. */
	for (at = p->nkept; at > 0 && p->kept[at - 1].index > index; at--)
		;
	if (p->nkept == HEXZ_MANIFEST_REJECTIONS_KEPT)
		free(p->kept[--p->nkept].message);
	memmove(&p->kept[at + 1], &p->kept[at], (p->nkept - at) * sizeof(p->kept[0]));
	p->kept[at] = (struct kept){ .index = index, .message = message, .dir_node = dir_node };
	p->nkept++;
	return 1;
}

/* Reject entry `index` for a reason of its own, or as a duplicate of `other`. */
static int
reject(struct manifest_parser *p, enum reject_reason r, const char *field, size_t other)
{
	const struct entry_draft *e = &p->entry;
	bool quoted = r != REJECT_NOT_OBJECT && e->has_path && e->path_is_string;
	char *msg;

	/* Past the kept ones, only the count grows: no message to write. */
	if (p->nkept == HEXZ_MANIFEST_REJECTIONS_KEPT && p->kept[p->nkept - 1].index < p->index) {
		p->rejected++;
		return 1;
	}
	/* quote_path() reads no more than the REASON_PATH_MAX bytes kept. */
	msg = rejection_message(p->index, r, field, quoted ? e->path : NULL,
				quoted ? e->path_len : 0, other, NULL, 0);
	return keep_rejection(p, p->index, msg, MTREE_NONE);
}

/* The entry object just ended: check it and add it to the tree. */
static int
end_entry(struct manifest_parser *p)
{
	struct entry_values v;
	enum mtree_outcome outcome;
	const char *field;
	enum reject_reason r = check_entry(p, &v, &field);
	uint32_t other, node, demoted;
	int ret;

	if (r)
		return reject(p, r, field, 0);
	if (p->index >= MTREE_NONE)
		return fail(p, HEXZ_ERR_LIMIT, "manifest: more entries than this reader accepts");
	ret = mtree_add_file(&p->tree, (uint32_t)p->index, p->entry.path, p->entry.path_len,
			     v.offset, v.size, (uint32_t)v.mode, v.mtime, &outcome, &other, &node,
			     &demoted);
	if (ret == HEXZ_ERR_LIMIT)
		return fail(p, ret, "manifest: more files and directories than this reader "
				    "accepts (2^32 - 2 nodes, 4 GiB of names)");
	if (ret)
		return fail(p, ret, "manifest: %s", hexz_strerror(ret));
	if (demoted != MTREE_NONE && !keep_rejection(p, demoted, NULL, node))
		return 0;
	if (outcome == MTREE_DUPLICATE)
		return reject(p, REJECT_DUPLICATE, NULL, other);
	if (outcome == MTREE_DIRECTORY)
		return keep_rejection(p, p->index, NULL, node);
	return 1;
}

/* yajl's events ------------------------------------------------------- */

/*
 * A value begins at the current depth (a scalar, or a container about to
 * open). Returns 1 to go on, 0 to stop.
 */
static int
value_begins(struct manifest_parser *p, bool is_map, bool is_array)
{
	if (p->depth == 0) {
		p->started = true;
		if (!is_map)
			return fail(p, HEXZ_ERR_CORRUPT_MANIFEST,
				    "manifest: metadata is not a JSON object");
		return 1;
	}
	if (p->depth == 1 && p->files_next) {
		p->files_next = false;
		if (!is_array)
			return fail(p, HEXZ_ERR_CORRUPT_MANIFEST,
				    "manifest: \"files\" is not an array");
		p->present = true;
		p->in_files = true;
		return 1;
	}
	if (p->depth == 2 && p->in_files) {
		if (is_map) {
			memset(&p->entry, 0, sizeof(p->entry));
			p->member = MEMBER_OTHER;
			p->in_entry = true;
			return 1;
		}
		if (!reject(p, REJECT_NOT_OBJECT, NULL, 0))
			return 0;
		p->index++;
	}
	return 1;
}

static int
open_container(struct manifest_parser *p, bool is_map)
{
	if (!value_begins(p, is_map, !is_map))
		return 0;
	if (p->in_entry && p->depth == 3) {
		/* A container as the value of a member we read. */
		if (p->member == MEMBER_PATH)
			p->entry.has_path = true;
		else if (p->member != MEMBER_OTHER)
			p->entry.numbers[p->member].kind = NUMBER_NOT_INT;
	}
	if (p->depth == MANIFEST_MAX_DEPTH)
		return fail(p, HEXZ_ERR_CORRUPT_MANIFEST,
			    "manifest: metadata is not valid JSON: nesting deeper than %d at byte %zu",
			    MANIFEST_MAX_DEPTH, p->consumed + yajl_get_bytes_consumed(p->yajl));
	p->depth++;
	return 1;
}

static int
on_start_map(void *ctx)
{
	return open_container(ctx, true);
}

static int
on_start_array(void *ctx)
{
	return open_container(ctx, false);
}

static int
on_end_map(void *ctx)
{
	struct manifest_parser *p = ctx;

	p->depth--;
	if (p->in_entry && p->depth == 2) {
		p->in_entry = false;
		if (!end_entry(p))
			return 0;
		p->index++;
	}
	return 1;
}

static int
on_end_array(void *ctx)
{
	struct manifest_parser *p = ctx;

	p->depth--;
	if (p->in_files && p->depth == 1)
		p->in_files = false;
	return 1;
}

static int
on_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct manifest_parser *p = ctx;

	if (p->depth == 1 && len == 5 && memcmp(key, "files", 5) == 0) {
		if (p->files_seen)
			return fail(p, HEXZ_ERR_CORRUPT_MANIFEST,
				    "manifest: the metadata has \"files\" twice");
		p->files_seen = true;
		p->files_next = true;
	} else if (p->in_entry && p->depth == 3) {
		p->member = MEMBER_OTHER;
		if (len == 4 && memcmp(key, "path", 4) == 0) {
			p->member = MEMBER_PATH;
		} else {
			for (int f = 0; f < FIELD_COUNT; f++)
				if (strlen(field_names[f]) == len &&
				    memcmp(key, field_names[f], len) == 0)
					p->member = f;
		}
	}
	return 1;
}

/* A scalar at the current depth: a member of an entry, or anything else. */
static bool
entry_member(struct manifest_parser *p)
{
	return p->in_entry && p->depth == 3 && p->member != MEMBER_OTHER;
}

static int
on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct manifest_parser *p = ctx;
	struct entry_draft *e = &p->entry;

	if (!value_begins(p, false, false))
		return 0;
	if (!entry_member(p))
		return 1;
	if (p->member != MEMBER_PATH) {
		e->numbers[p->member].kind = NUMBER_NOT_INT;
		return 1;
	}
	e->has_path = true;
	e->path_is_string = true;
	e->path_len = len;
	e->path_reason = check_path((const char *)s, len);
	memcpy(e->path, s, len < sizeof(e->path) ? len : sizeof(e->path));
	return 1;
}

/* Any other scalar that is not a number: null, true, false. */
static void
other_scalar(struct manifest_parser *p)
{
	if (!entry_member(p))
		return;
	if (p->member == MEMBER_PATH)
		p->entry.has_path = true;
	else
		p->entry.numbers[p->member].kind = NUMBER_NOT_INT;
}

static int
on_null(void *ctx)
{
	if (!value_begins(ctx, false, false))
		return 0;
	other_scalar(ctx);
	return 1;
}

static int
on_boolean(void *ctx, int value)
{
	(void)value;
	return on_null(ctx);
}

/*
 * A number as written. Only integers count, so 1.0 and 1e3 are "not an
 * integer"; integers beyond 64 bits saturate, which the ranges refuse.
 */
static int
on_number(void *ctx, const char *s, size_t len)
{
	struct manifest_parser *p = ctx;
	char text[MANIFEST_MAX_TOKEN + 1];
	struct number *n;

	if (!value_begins(p, false, false))
		return 0;
	if (!entry_member(p))
		return 1;
	if (p->member == MEMBER_PATH) {
		p->entry.has_path = true;
		return 1;
	}
	n = &p->entry.numbers[p->member];
	/* scan_chunk() caps tokens at MANIFEST_MAX_TOKEN bytes. */
	if (len > MANIFEST_MAX_TOKEN || memchr(s, '.', len) || memchr(s, 'e', len) ||
	    memchr(s, 'E', len)) {
		n->kind = NUMBER_NOT_INT;
		return 1;
	}
	memcpy(text, s, len);
	text[len] = '\0';
	errno = 0;
	if (text[0] == '-') {
		long long v = strtoll(text, NULL, 10);

		if (v < 0) {
			n->kind = NUMBER_NEGATIVE;
			n->negative = v; /* LLONG_MIN when it overflowed */
			return 1;
		}
		/* -0 */
		n->kind = NUMBER_UNSIGNED;
		n->value = 0;
		return 1;
	}
	n->kind = NUMBER_UNSIGNED;
	n->value = strtoull(text, NULL, 10); /* ULLONG_MAX when it overflowed */
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_map_key,
	.yajl_end_map = on_end_map,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end_array,
};

/* Feeding ------------------------------------------------------------- */

/*
 * Check the raw bytes yajl is about to get: no NUL, form feed or vertical
 * tab anywhere (in a string they are raw control bytes, outside white space
 * yajl accepts and JSON does not), and no string or bare token (number,
 * literal) so long that yajl would buffer it whole. Tracks strings across
 * chunks; only needs to be right for what yajl would accept.
 */
/* What scan_chunk() makes of a byte. */
enum byte_class {
	BYTE_PLAIN = 0, /* in a string, or part of a number or literal */
	BYTE_SEPARATOR, /* white space or structure: ends a bare token */
	BYTE_QUOTE,
	BYTE_BACKSLASH,
	BYTE_BAD, /* NUL, form feed, vertical tab */
};

static const unsigned char byte_classes[256] = {
	['\0'] = BYTE_BAD, ['\f'] = BYTE_BAD, ['\v'] = BYTE_BAD,
	[' '] = BYTE_SEPARATOR, ['\t'] = BYTE_SEPARATOR, ['\r'] = BYTE_SEPARATOR,
	['\n'] = BYTE_SEPARATOR, ['{'] = BYTE_SEPARATOR, ['}'] = BYTE_SEPARATOR,
	['['] = BYTE_SEPARATOR, [']'] = BYTE_SEPARATOR, [':'] = BYTE_SEPARATOR,
	[','] = BYTE_SEPARATOR, ['"'] = BYTE_QUOTE, ['\\'] = BYTE_BACKSLASH,
};

static int
scan_chunk(struct manifest_parser *p, const char *buf, size_t len)
{
	const unsigned char *b = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		size_t start = i;
		unsigned char cls;

		if (p->escaped) {
			/* The byte after a backslash: part of the string, whatever it is. */
			p->escaped = false;
			if (byte_classes[b[i]] == BYTE_BAD)
				goto bad;
			i++;
			p->token_len++;
			continue;
		}
		/* The run of plain bytes, then the byte that ends it. */
		if (p->in_string) {
			while (i < len && (byte_classes[b[i]] == BYTE_PLAIN ||
					   byte_classes[b[i]] == BYTE_SEPARATOR))
				i++;
		} else {
			while (i < len && byte_classes[b[i]] == BYTE_PLAIN)
				i++;
		}
		p->token_len += i - start;
		if (p->token_len > (p->in_string ? MANIFEST_MAX_STRING : MANIFEST_MAX_TOKEN))
			goto too_long;
		if (i == len)
			break;
		cls = byte_classes[b[i]];
		if (cls == BYTE_BAD)
			goto bad;
		if (p->in_string) {
			if (cls == BYTE_BACKSLASH) {
				p->escaped = true;
				p->token_len++;
			} else {
				p->in_string = false;
				p->token_len = 0;
			}
		} else {
			/* A quote opens a string; a backslash yajl refuses itself. */
			p->in_string = cls == BYTE_QUOTE;
			p->token_len = 0;
		}
		i++;
	}
	return 1;

too_long:
	if (p->in_string)
		return fail(p, HEXZ_ERR_LIMIT, "manifest: a string of more than %u bytes at byte %zu",
			    MANIFEST_MAX_STRING, p->consumed + i);
	return fail(p, HEXZ_ERR_LIMIT,
		    "manifest: a number or literal of more than %u bytes at byte %zu",
		    MANIFEST_MAX_TOKEN, p->consumed + i);
bad:
	if (b[i] == '\0')
		return fail(p, HEXZ_ERR_CORRUPT_MANIFEST, "manifest: metadata contains a NUL byte");
	return fail(p, HEXZ_ERR_CORRUPT_MANIFEST,
		    "manifest: metadata is not valid JSON: unexpected byte 0x%02x at byte %zu", b[i],
		    p->consumed + i);
}

/* Record yajl's complaint about the document. */
static void
fail_json(struct manifest_parser *p, const unsigned char *buf, size_t len)
{
	unsigned char *text = yajl_get_error(p->yajl, 0, buf, len);
	size_t at = p->consumed + yajl_get_bytes_consumed(p->yajl);
	char *why = (char *)text;

	if (!text) {
		fail(p, HEXZ_ERR_NO_MEMORY, "manifest: %s", hexz_strerror(HEXZ_ERR_NO_MEMORY));
		return;
	}
	/* "parse error: trailing garbage\n": the middle is what to say. */
	if (strncmp(why, "parse error: ", 13) == 0)
		why += 13;
	else if (strncmp(why, "lexical error: ", 15) == 0)
		why += 15;
	why[strcspn(why, "\n")] = '\0';
	if (strcmp(why, "premature EOF") == 0)
		fail(p, HEXZ_ERR_CORRUPT_MANIFEST,
		     "manifest: metadata is not valid JSON: it ends too soon");
	else
		fail(p, HEXZ_ERR_CORRUPT_MANIFEST,
		     "manifest: metadata is not valid JSON: %s at byte %zu", why, at);
	yajl_free_error(p->yajl, text);
}

int
manifest_parser_new(uint64_t main_size, struct manifest_parser **out)
{
	struct manifest_parser *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return HEXZ_ERR_NO_MEMORY;
	p->main_size = main_size;
	p->yajl = yajl_alloc(&callbacks, NULL, p);
	if (!p->yajl || mtree_init(&p->tree) != HEXZ_OK) {
		manifest_parser_free(p);
		return HEXZ_ERR_NO_MEMORY;
	}
	p->tree_ready = true;
	/* Paths are bytes, as file names are: not UTF-8 is fine. */
	yajl_config(p->yajl, yajl_dont_validate_strings, 1);
	*out = p;
	return HEXZ_OK;
}

static int
report(const struct manifest_parser *p, struct hexz_error *err)
{
	return error_set(err, p->error, "%s", p->message);
}

int
manifest_parser_feed(struct manifest_parser *p, const char *buf, size_t len,
		     struct hexz_error *err)
{
	yajl_status st;

	if (!p->error && scan_chunk(p, buf, len)) {
		st = yajl_parse(p->yajl, (const unsigned char *)buf, len);
		if (st == yajl_status_error)
			fail_json(p, (const unsigned char *)buf, len);
	}
	p->consumed += len;
	return p->error ? report(p, err) : HEXZ_OK;
}

/* Write the kept reasons, directory ones now that the tree is laid out. */
static int
write_reasons(struct manifest_parser *p, struct manifest *out)
{
	for (size_t i = 0; i < p->nkept; i++) {
		struct kept *k = &p->kept[i];
		char path[PATH_MAX], other_path[PATH_MAX];
		uint32_t other_node;
		size_t other;

		if (!k->message) {
			size_t len = mtree_path(&p->tree, k->dir_node, path, sizeof(path));
			size_t olen;

			other = mtree_first_entry_below(&p->tree, k->dir_node, &other_node);
			olen = mtree_path(&p->tree, other_node, other_path, sizeof(other_path));
			k->message = rejection_message(k->index, REJECT_DIRECTORY, NULL, path, len,
						       other, other_path, olen);
			if (!k->message)
				return HEXZ_ERR_NO_MEMORY;
		}
		out->rejected[i] = k->message;
		k->message = NULL;
	}
	return HEXZ_OK;
}

int
manifest_parser_finish(struct manifest_parser *p, struct manifest *out, struct hexz_error *err)
{
	uint32_t *fix[HEXZ_MANIFEST_REJECTIONS_KEPT];
	int ret;

	memset(out, 0, sizeof(*out));
	if (!p->error && yajl_complete_parse(p->yajl) == yajl_status_error)
		fail_json(p, NULL, 0);
	if (!p->error && !p->started)
		fail(p, HEXZ_ERR_CORRUPT_MANIFEST,
		     "manifest: metadata is not valid JSON: it ends too soon");
	if (p->error)
		return report(p, err);
	if (!p->present)
		return HEXZ_OK;
	for (size_t i = 0; i < p->nkept; i++)
		fix[i] = &p->kept[i].dir_node;
	ret = mtree_finish(&p->tree, fix, p->nkept);
	if (ret == HEXZ_OK)
		ret = write_reasons(p, out);
	if (ret) {
		manifest_free(out);
		return error_plain(err, ret);
	}
	out->present = true;
	out->tree = p->tree;
	out->rejected_count = p->rejected;
	p->tree_ready = false;
	memset(&p->tree, 0, sizeof(p->tree));
	return HEXZ_OK;
}

void
manifest_parser_free(struct manifest_parser *p)
{
	if (!p)
		return;
	if (p->yajl)
		yajl_free(p->yajl);
	if (p->tree_ready)
		mtree_free(&p->tree);
	for (size_t i = 0; i < p->nkept; i++)
		free(p->kept[i].message);
	free(p);
}

int
manifest_parse(const char *json, size_t len, uint64_t main_size, struct manifest *out,
	       struct hexz_error *err)
{
	struct manifest_parser *p;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = manifest_parser_new(main_size, &p);
	if (ret)
		return error_plain(err, ret);
	ret = manifest_parser_feed(p, json, len, err);
	if (ret == HEXZ_OK)
		ret = manifest_parser_finish(p, out, err);
	manifest_parser_free(p);
	return ret;
}

void
manifest_free(struct manifest *m)
{
	for (size_t i = 0; i < HEXZ_MANIFEST_REJECTIONS_KEPT; i++)
		free(m->rejected[i]);
	if (m->present)
		mtree_free(&m->tree);
	memset(m, 0, sizeof(*m));
}
