/* SPDX-License-Identifier: MIT */
/*
 * Memory for secrets (S3 secret keys, session tokens, the text of a
 * credentials file while it is parsed), private to libhexz.
 *
 * A secret_buf is its own page-aligned mapping, so that it can be kept out
 * of core dumps (MADV_DONTDUMP) and, where RLIMIT_MEMLOCK allows, out of
 * swap (mlock); neither is possible for a range inside the malloc heap.
 * Release wipes it with explicit_bzero() before unmapping it, so nothing of
 * it lingers in memory a later allocation or a core dump could show.
 *
 * Not thread-safe: a buffer has one owner.
 */
#ifndef HEXZ_CORE_STORAGE_SECRET_BUF_H
#define HEXZ_CORE_STORAGE_SECRET_BUF_H

#include <stddef.h>

struct secret_buf {
	unsigned char *base;
	/* Bytes mapped (a whole number of pages) and bytes handed out. */
	size_t size;
	size_t used;
};

/*
 * Map at least `size` bytes (zeroed) into `sb`. Returns 0, or -1 with
 * errno set (ENOMEM). Release with secret_buf_release(), also after a
 * failure.
 */
int secret_buf_init(struct secret_buf *sb, size_t size);

/*
 * A NUL-terminated copy of the `len` bytes at `s` inside `sb`, or NULL
 * when `sb` has no room left for them.
 */
char *secret_buf_strndup(struct secret_buf *sb, const char *s, size_t len);

/* Wipe and unmap what `sb` holds; `sb` may be zeroed (nothing to do). */
void secret_buf_release(struct secret_buf *sb);

#endif /* HEXZ_CORE_STORAGE_SECRET_BUF_H */
