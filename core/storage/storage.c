/* SPDX-License-Identifier: MIT */
/*
 * The public storage calls: argument and bounds checks shared by every
 * backend, then dispatch through the backend's operation table.
 */
#include <stdlib.h>

#include <hexz/storage.h>

#include "fault_guard.h"
#include "resident.h"
#include "storage_access.h"
#include "storage_backend.h"

/*
 * True when [offset, offset + len) lies within a snapshot of `size` bytes.
 * Written without computing offset + len, which could wrap around.
 */
static int
range_within(uint64_t size, uint64_t offset, size_t len)
{
	return offset <= size && (uint64_t)len <= size - offset;
}

uint64_t
hexz_storage_len(const struct hexz_storage *st)
{
	return st ? st->size : 0;
}

/*
 * Every read and view of a storage in a budget of mapped pages is charged
 * to it (resident.h): after the copy for a read, so that the trim it may
 * bring covers it; when lent for a view, whose bytes are touched later.
 */
int
hexz_storage_read_exact(const struct hexz_storage *st, uint64_t offset, size_t len, void *dst)
{
	int ret;

	if (!st || (!dst && len > 0))
		return HEXZ_ERR_INVALID_ARGUMENT;
	if (!range_within(st->size, offset, len))
		return HEXZ_ERR_END_OF_FILE;
	if (len == 0)
		return HEXZ_OK;
	ret = st->ops->read_exact(st, offset, len, dst);
	resident_charge(st, offset, len);
	return ret;
}

/* hexz_storage_view() without the charge. */
static int
view(const struct hexz_storage *st, uint64_t offset, size_t len, const void **out)
{
	if (!st || !out)
		return HEXZ_ERR_INVALID_ARGUMENT;
	if (!range_within(st->size, offset, len))
		return HEXZ_ERR_END_OF_FILE;
	if (!st->ops->view)
		return HEXZ_ERR_UNSUPPORTED;
	return st->ops->view(st, offset, len, out);
}

int
hexz_storage_view(const struct hexz_storage *st, uint64_t offset, size_t len, const void **out)
{
	int ret = view(st, offset, len, out);

	if (ret == HEXZ_OK && len > 0)
		resident_charge(st, offset, len);
	return ret;
}

int
storage_with_bytes(const struct hexz_storage *st, uint64_t offset, size_t len,
		   storage_bytes_fn fn, void *ctx)
{
	const void *bytes = NULL;
	void *copy;
	int ret;

	ret = view(st, offset, len, &bytes);
	if (ret == HEXZ_OK && len == 0)
		return fn(ctx, bytes, 0);
	if (ret == HEXZ_OK) {
		ret = fault_guard_call(bytes, len, fn, ctx);
		resident_charge(st, offset, len);
		return ret;
	}
	if (ret != HEXZ_ERR_UNSUPPORTED)
		return ret;
	copy = malloc(len ? len : 1);
	if (!copy)
		return HEXZ_ERR_NO_MEMORY;
	ret = hexz_storage_read_exact(st, offset, len, copy);
	if (ret == HEXZ_OK)
		ret = fn(ctx, copy, len);
	free(copy);
	return ret;
}

void
hexz_storage_trim(const struct hexz_storage *st)
{
	if (st && st->ops->trim)
		st->ops->trim(st);
}

void
hexz_storage_close(struct hexz_storage *st)
{
	if (st)
		st->ops->close(st);
}
