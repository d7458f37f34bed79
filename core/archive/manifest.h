/* SPDX-License-Identifier: MIT */
/*
 * The manifest of a directory archive: JSON metadata parsed as a stream
 * (yajl) and validated into a compact tree (manifest_tree.h).
 */
#ifndef HEXZ_CORE_ARCHIVE_MANIFEST_H
#define HEXZ_CORE_ARCHIVE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hexz/archive.h>

#include "manifest_tree.h"

/* The longest JSON string, and the longest number or literal, a document may hold. */
#define MANIFEST_MAX_STRING (1u << 20)
#define MANIFEST_MAX_TOKEN 4096u

struct manifest {
	bool present;     /* the metadata had a "files" array */
	struct mtree tree; /* when present: the valid entries and their directories */
	char *rejected[HEXZ_MANIFEST_REJECTIONS_KEPT]; /* reasons, first ones in document order */
	size_t rejected_count;                         /* all rejected entries */
};

struct manifest_parser;

/*
 * A parser for the metadata of an archive whose main stream holds
 * `main_size` bytes. 0 or HEXZ_ERR_NO_MEMORY.
 */
int manifest_parser_new(uint64_t main_size, struct manifest_parser **out);

/*
 * The next `len` bytes of the document. Memory stays proportional to the
 * valid entries, whatever the document: no string longer than
 * MANIFEST_MAX_STRING, no number or literal longer than MANIFEST_MAX_TOKEN
 * (HEXZ_ERR_LIMIT). Errors are final: the parser only awaits its free.
 */
int manifest_parser_feed(struct manifest_parser *p, const char *buf, size_t len,
			 struct hexz_error *err);

/*
 * The end of the document; on success *out holds the manifest (free it with
 * manifest_free()), on failure nothing.
 * - Not valid JSON, nested deeper than 32, not a JSON object, "files"
 *   present but not an array (or twice): HEXZ_ERR_CORRUPT_MANIFEST with the
 *   reason in `err`.
 * - A valid object without "files": 0, out->present false (plain metadata).
 * - Otherwise 0, out->present true; each entry that is not valid is left
 *   out with a reason: not an object; path missing, not a string, empty,
 *   absolute, with an empty, "." or ".." component, with a NUL, longer than
 *   PATH_MAX - 1 or a component longer than NAME_MAX; offset/size/mode/mtime
 *   missing, not integers, negative or out of range; mode not a regular
 *   file; offset + size past main_size (or overflowing); a path equal to
 *   an earlier one; a path that is also a directory of another entry (then
 *   the file is left out and the directory wins).
 *   Ranges: offset and size 0 .. 2^63-1; mode 0 .. 2^32-1 with
 *   (mode & S_IFMT) == S_IFREG: a mode without type bits (e.g. 0644) is
 *   not a regular file, since hexz writes the full st_mode; mtime
 *   -2^63+1 .. 2^63-1. Only JSON integers: 1.0 and 1e3 are not. A key
 *   given twice in an entry counts with its last value.
 * - HEXZ_ERR_LIMIT: more than 2^32 - 2 nodes or 4 GiB of names.
 * HEXZ_ERR_NO_MEMORY on allocation failure.
 */
int manifest_parser_finish(struct manifest_parser *p, struct manifest *out,
			   struct hexz_error *err);

void manifest_parser_free(struct manifest_parser *p);

/* The whole document `json` (`len` bytes, not NUL-terminated) in one call. */
int manifest_parse(const char *json, size_t len, uint64_t main_size, struct manifest *out,
		   struct hexz_error *err);

void manifest_free(struct manifest *m);

#endif /* HEXZ_CORE_ARCHIVE_MANIFEST_H */
