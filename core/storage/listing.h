/* SPDX-License-Identifier: MIT */
/*
 * The listing of a remote source, private to libhexz: what a directory of
 * an HTTP server or a prefix of an S3 bucket holds, as data parsed from
 * the server's untrusted bytes.
 *
 *   listing_html_*   the HTML index of a web server directory (nginx
 *                    autoindex, Apache mod_autoindex, python3 -m
 *                    http.server), parsed by libxml2's HTML push parser
 *                    (listing_html.c);
 *   listing_s3_*     the pages of an S3 ListObjectsV2 answer and S3 error
 *                    documents, parsed by libxml2's SAX2 push parser
 *                    (listing_s3.c).
 *
 * Both keep only what a mount shows: snapshots (names ending in ".hxz")
 * and subdirectories, each by a name that is one valid path component.
 * Everything else is skipped and counted by reason (enum listing_skip),
 * never shown: parent and sort links, links elsewhere, names with '/',
 * "..", NUL or control bytes, other files, duplicates (the first is kept).
 *
 * Caps (struct listing_limits, defaults below) bound the bytes of one
 * response, the entries kept, the pages of one S3 listing, and the depth
 * of elements; a name longer than NAME_MAX is skipped (it could not be a
 * file name). Past a cap the parse fails with HEXZ_ERR_LIMIT and a message
 * saying which: a listing is complete or an error, never cut short. The
 * parsers build no document tree, so their memory is the entries kept plus
 * a few KiB, whatever the response.
 *
 * libxml2 is used without entity substitution (no XML_PARSE_NOENT), without
 * network access or DTD loading; an S3 document with a DTD is refused
 * outright, and HTML entities are only HTML's predefined ones.
 *
 * Objects here are not shared between threads; different objects may be
 * used in different threads at once.
 */
#ifndef HEXZ_CORE_STORAGE_LISTING_H
#define HEXZ_CORE_STORAGE_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <hexz/archive.h>

/* Default caps: generous for real directories, small enough to bound memory. */
/* Bytes of one response (an HTML index, or one S3 page; an S3 page of
 * 1000 keys of 1024 bytes is under 2 MiB). */
#define LISTING_MAX_RESPONSE_BYTES_DEFAULT (32u << 20)
/* Entries kept in one listing (all pages of an S3 listing together). */
#define LISTING_MAX_ENTRIES_DEFAULT 100000u
/* Pages of one S3 listing (1000 keys per page: a million keys). */
#define LISTING_MAX_PAGES_DEFAULT 1000u
/* Depth of nested elements in one document. */
#define LISTING_MAX_DEPTH_DEFAULT 256u
/* Bytes of one S3 element's text (a key is at most 1024 bytes, three times
 * that url-encoded; continuation tokens are opaque but short). */
#define LISTING_MAX_TEXT_BYTES 8192u

struct listing_limits {
	size_t max_response_bytes;
	size_t max_entries;
	size_t max_pages;
	size_t max_depth;
};

/* The defaults above. */
struct listing_limits listing_limits_default(void);

/* Unknown values of struct listing_entry. */
#define LISTING_SIZE_UNKNOWN (-1)

struct listing_entry {
	/* One path component: not "", ".", "..", no '/', NUL or control
	 * byte, at most NAME_MAX bytes; percent- and entity-decoded. */
	char *name;
	bool is_dir;
	/* Bytes, or LISTING_SIZE_UNKNOWN (directories, rounded sizes). */
	int64_t size;
	/* Modification time, when has_mtime. */
	bool has_mtime;
	time_t mtime;
	/* The ETag without its quotes, or NULL. */
	char *etag;
};

/* Why an entry was skipped; counted in struct listing. */
enum listing_skip {
	/* A link with a query ("?C=N;O=D", Apache's sort links) or a fragment. */
	LISTING_SKIP_QUERY,
	/* A link with a "." or ".." segment ("../", the parent link). */
	LISTING_SKIP_DOT_SEGMENT,
	/* A link to another scheme, host or port. */
	LISTING_SKIP_OTHER_HOST,
	/* A link or key outside the listed directory or prefix (Apache's "/"). */
	LISTING_SKIP_OUTSIDE,
	/* A link or key more than one level below the listed directory. */
	LISTING_SKIP_DEEPER,
	/* A link that is not a URL, a name that does not percent-decode. */
	LISTING_SKIP_MALFORMED,
	/* An empty name, or one with '/', NUL or control bytes, or ".", "..". */
	LISTING_SKIP_BAD_NAME,
	/* A name longer than NAME_MAX bytes. */
	LISTING_SKIP_TOO_LONG,
	/* A file that is not a snapshot (no ".hxz" suffix). */
	LISTING_SKIP_NOT_SNAPSHOT,
	/* A second entry of a name already listed (the first is kept). */
	LISTING_SKIP_DUPLICATE,
	/* An S3 entry whose size or date is not a valid value. */
	LISTING_SKIP_BAD_FIELD,
	LISTING_SKIP_COUNT
};

/* A short English name of `reason`, for messages and tests. */
const char *listing_skip_name(enum listing_skip reason);

struct listing {
	struct listing_entry *entries;
	size_t count;
	size_t capacity;
	/* Entries skipped, by reason. */
	size_t skipped[LISTING_SKIP_COUNT];
	/* The names listed, in a tsearch() tree, to find duplicates as they come. */
	void *names;
};

/* Release what `l` owns and zero it; `l` may be NULL or zeroed. */
void listing_free(struct listing *l);

/* The entries skipped, all reasons together. */
size_t listing_skipped_total(const struct listing *l);

/* The entry named `name`, or NULL. */
const struct listing_entry *listing_find(const struct listing *l, const char *name);

/*
 * True when the `len` bytes of `name` are one valid path component, as
 * struct listing_entry defines it.
 */
bool listing_name_valid(const char *name, size_t len);

/* --- For the parsers (listing_html.c, listing_s3.c) ------------------ */

/* Count one entry skipped for `reason`. */
void listing_skip(struct listing *l, enum listing_skip reason);

/*
 * Add the entry `name` (`len` bytes, decoded) if it is one to show: a
 * valid name (else skipped as BAD_NAME or TOO_LONG), a directory or a
 * file ending in ".hxz" (else NOT_SNAPSHOT), not listed yet (else
 * DUPLICATE: the first is kept, and the cap counts distinct names, found
 * in O(log n)). `etag` may be NULL. Sets
 * *index to the new entry's index, or SIZE_MAX when skipped. Returns 0,
 * HEXZ_ERR_LIMIT (more than `max_entries`, named in `err` with `what`, the
 * listing's URL) or HEXZ_ERR_NO_MEMORY.
 */
int listing_add(struct listing *l, size_t max_entries, const char *what, const char *name,
		size_t len, bool is_dir, int64_t size, const char *etag, size_t *index,
		struct hexz_error *err);

/* --- HTML indexes ---------------------------------------------------- */

struct listing_html;

/*
 * Begin parsing the HTML index of the directory at `base_url` (an
 * http(s) URL ending in '/', the one the index was fetched from: links
 * are resolved against it). `limits` may be NULL (the defaults). Returns
 * 0 with *out set, HEXZ_ERR_INVALID_ARGUMENT (a bad base URL) or
 * HEXZ_ERR_NO_MEMORY, with the reason in `err` (may be NULL).
 */
int listing_html_begin(const char *base_url, const struct listing_limits *limits,
		       struct listing_html **out, struct hexz_error *err);

/*
 * Parse the next `len` bytes of the response body. Returns 0,
 * HEXZ_ERR_LIMIT (too many bytes, entries or levels of nesting) or
 * HEXZ_ERR_NO_MEMORY; after an error only listing_html_free() is valid.
 */
int listing_html_feed(struct listing_html *h, const char *data, size_t len, struct hexz_error *err);

/*
 * End of the body: finish the parse and move the listing into `out`
 * (release it with listing_free(), also after a failure). Same errors as
 * listing_html_feed().
 */
int listing_html_end(struct listing_html *h, struct listing *out, struct hexz_error *err);

/* Release `h` (NULL is fine), whether or not it was ended. */
void listing_html_free(struct listing_html *h);

/* begin, feed the whole `len` bytes, end, free. */
int listing_html_parse(const char *base_url, const char *data, size_t len,
		       const struct listing_limits *limits, struct listing *out,
		       struct hexz_error *err);

/* --- S3 ListObjectsV2 ------------------------------------------------ */

struct listing_s3;

/*
 * Begin the listing of the keys under `prefix` (unencoded, "" or ending in
 * '/'; requested with delimiter "/"). Names are the keys and common
 * prefixes with `prefix` removed. `limits` may be NULL. Returns 0,
 * HEXZ_ERR_INVALID_ARGUMENT or HEXZ_ERR_NO_MEMORY.
 */
int listing_s3_begin(const char *prefix, const struct listing_limits *limits,
		     struct listing_s3 **out, struct hexz_error *err);

/*
 * Parse the next `len` bytes of the current page (a ListBucketResult
 * document). Returns 0, HEXZ_ERR_LIMIT or HEXZ_ERR_NO_MEMORY, or
 * HEXZ_ERR_IO when the document is not a ListBucketResult (an S3 error
 * document: its code and message are in `err`). After an error only
 * listing_s3_free() is valid.
 */
int listing_s3_feed(struct listing_s3 *s, const char *data, size_t len, struct hexz_error *err);

/*
 * End of the current page. On success *next_token is NULL when the
 * listing is complete, else the continuation token of the next request
 * (owned by `s`, valid until the next call on it). Fails with HEXZ_ERR_IO
 * for a malformed page (not well-formed XML, a truncated page without a
 * token, a KeyCount that disagrees with the page), a token seen before (a
 * loop), and HEXZ_ERR_LIMIT past max_pages or max_entries.
 */
int listing_s3_page_end(struct listing_s3 *s, const char **next_token, struct hexz_error *err);

/*
 * After the last page: move the listing into `out` (release with
 * listing_free(), also after a failure). HEXZ_ERR_INVALID_ARGUMENT if the
 * listing is not complete.
 */
int listing_s3_end(struct listing_s3 *s, struct listing *out, struct hexz_error *err);

/* Pages ended so far. */
size_t listing_s3_pages(const struct listing_s3 *s);

/* Release `s` (NULL is fine). */
void listing_s3_free(struct listing_s3 *s);

/*
 * Parse an S3 error document (<Error><Code>C</Code><Message>M</Message>
 * ...) of `len` bytes (at most 64 KiB) into malloc()ed *code and *message
 * (either NULL when absent). Returns 0, HEXZ_ERR_IO when it is not one,
 * HEXZ_ERR_NO_MEMORY. Control bytes in them are replaced by '?', so they
 * can go into a message as they are.
 */
int listing_s3_error_parse(const char *data, size_t len, char **code, char **message);

#endif /* HEXZ_CORE_STORAGE_LISTING_H */
