/* SPDX-License-Identifier: MIT */
/*
 * The manifest of a directory archive: JSON metadata parsed (json-c) and
 * validated into a sorted list of files.
 */
#ifndef HEXZ_CORE_ARCHIVE_MANIFEST_H
#define HEXZ_CORE_ARCHIVE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hexz/archive.h>

/* The largest metadata document read (bytes). */
#define MANIFEST_MAX_BYTES (64u << 20)

struct manifest {
	bool present;                        /* the metadata had a "files" array */
	struct hexz_manifest_entry *entries; /* valid entries, sorted by path */
	size_t count;
	char *rejected[HEXZ_MANIFEST_REJECTIONS_KEPT]; /* reasons, first ones */
	size_t rejected_count;                         /* all rejected entries */
	void *storage;                       /* owns the path strings */
};

/*
 * Parse metadata `json` (`len` bytes, not NUL-terminated) of an archive
 * whose main stream holds `main_size` bytes.
 * - Not a JSON object, or "files" present but not an array:
 *   HEXZ_ERR_CORRUPT_MANIFEST with the reason in `err`.
 * - A valid object without "files": 0, out->present false (plain metadata).
 * - Otherwise 0, out->present true; each entry that is not valid is left
 *   out with a reason: not an object; path missing, not a string, empty,
 *   absolute, with an empty, "." or ".." component, with a NUL, longer than
 *   PATH_MAX or a component longer than NAME_MAX; offset/size/mode/mtime
 *   missing, not integers, negative or out of range; mode not a regular
 *   file; offset + size past main_size (or overflowing); a path equal to
 *   an earlier one; a path that is also a directory of another entry (then
 *   the file is left out and the directory wins).
 *   Ranges: offset and size 0 .. 2^63-1; mode 0 .. 2^32-1 with
 *   (mode & S_IFMT) == S_IFREG: a mode without type bits (e.g. 0644) is
 *   not a regular file, since hexz writes the full st_mode; mtime
 *   -2^63+1 .. 2^63-1 (json-c saturates smaller numbers to -2^63, so that
 *   one value is refused too). Only JSON integers: 1.0 and 1e3 are not.
 * - HEXZ_ERR_LIMIT: `len` above MANIFEST_MAX_BYTES, or a document denser
 *   in JSON values than any manifest (more than one object or array per
 *   32 bytes, or one value per 4 bytes), which would make json-c spend
 *   hundreds of times the document's size.
 * HEXZ_ERR_NO_MEMORY on allocation failure. On any failure `out` holds
 * nothing to free.
 */
int manifest_parse(const char *json, size_t len, uint64_t main_size, struct manifest *out,
		   struct hexz_error *err);

void manifest_free(struct manifest *m);

#endif /* HEXZ_CORE_ARCHIVE_MANIFEST_H */
