/* SPDX-License-Identifier: MIT */
/*
 * The storage backend interface, private to libhexz.
 *
 * A backend embeds struct hexz_storage as its first member and supplies a
 * table of operations. The public functions in storage.c check arguments
 * and bounds once, so the operations are only ever called with a range that
 * lies inside the snapshot and with non-NULL pointers.
 */
#ifndef HEXZ_CORE_STORAGE_BACKEND_H
#define HEXZ_CORE_STORAGE_BACKEND_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct hexz_storage;
struct resident_member;

struct hexz_storage_ops {
	/* Copy [offset, offset + len) into dst; 0 or a negative hexz_status. */
	int (*read_exact)(const struct hexz_storage *st, uint64_t offset, size_t len, void *dst);
	/* Lend [offset, offset + len) in place; NULL if the backend cannot. */
	int (*view)(const struct hexz_storage *st, uint64_t offset, size_t len, const void **out);
	/* Let go of the resident pages it lent (optional; see hexz_storage_trim()). */
	void (*trim)(const struct hexz_storage *st);
	/* Release the backend and its memory. */
	void (*close)(struct hexz_storage *st);
};

struct hexz_storage {
	const struct hexz_storage_ops *ops;
	/* Learnt once when the backend is opened, so len() is a field read. */
	uint64_t size;
	/* Its place in a budget of mapped pages (resident.h), or NULL. */
	struct resident_member *_Atomic member;
};

#endif /* HEXZ_CORE_STORAGE_BACKEND_H */
