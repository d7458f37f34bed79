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
 * HEXZ_ERR_NO_MEMORY on allocation failure. On any failure `out` holds
 * nothing to free.
 */
int manifest_parse(const char *json, size_t len, uint64_t main_size, struct manifest *out,
		   struct hexz_error *err);

void manifest_free(struct manifest *m);

#endif /* HEXZ_CORE_ARCHIVE_MANIFEST_H */
