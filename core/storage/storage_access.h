/* SPDX-License-Identifier: MIT */
/*
 * Library-internal access to a storage handle's bytes in place, for
 * decoders that would otherwise copy them out first.
 */
#ifndef HEXZ_CORE_STORAGE_ACCESS_H
#define HEXZ_CORE_STORAGE_ACCESS_H

#include <stddef.h>
#include <stdint.h>

struct hexz_storage;

typedef int (*storage_bytes_fn)(void *ctx, const void *bytes, size_t len);

/*
 * Run fn(ctx, bytes, len) on [offset, offset + len) of `st`: in place on the
 * mapping under the SIGBUS guard when the backend lends its bytes (a file
 * truncated meanwhile gives HEXZ_ERR_IO, see fault_guard_call() for what fn
 * may do), else on a copy read with read_exact. Bounds are checked as for
 * hexz_storage_read_exact(). Returns fn's result or a hexz_status.
 */
int storage_with_bytes(const struct hexz_storage *st, uint64_t offset, size_t len,
		       storage_bytes_fn fn, void *ctx);

#endif /* HEXZ_CORE_STORAGE_ACCESS_H */
