/* SPDX-License-Identifier: MIT */
/*
 * The one bounds-checked reader of on-disk structures (bincode 1.x:
 * little-endian fixed-width integers, u64 lengths, one-byte option tags).
 * Every take_* fails, and keeps failing, once it would pass the end, so a
 * parser checks `cur.failed` once at the end of a structure instead of after
 * every field, and never touches a raw offset itself.
 */
#ifndef HEXZ_CORE_ARCHIVE_DECODE_H
#define HEXZ_CORE_ARCHIVE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cursor {
	const unsigned char *p;
	size_t len;
	size_t pos;
	bool failed; /* a take passed the end or met an invalid encoding */
};

static inline struct cursor
cursor_init(const void *p, size_t len)
{
	struct cursor c = { .p = p, .len = len, .pos = 0, .failed = false };
	return c;
}

static inline size_t
cursor_left(const struct cursor *c)
{
	return c->failed ? 0 : c->len - c->pos;
}

uint8_t take_u8(struct cursor *c);
uint32_t take_u32(struct cursor *c);
uint64_t take_u64(struct cursor *c);
/* A bool: 0 or 1; any other byte fails the cursor. */
bool take_bool(struct cursor *c);
/* An Option tag: false (None) or true (Some); any other byte fails. */
bool take_option(struct cursor *c);
/* `n` raw bytes in place; NULL (and failed) when fewer are left. */
const unsigned char *take_bytes(struct cursor *c, size_t n);
/*
 * A Vec length whose elements take at least `elem_min` bytes each: fails
 * when the remaining input cannot hold that many, so no count read from a
 * file ever sizes an allocation unchecked.
 */
uint64_t take_count(struct cursor *c, size_t elem_min);

/* Little-endian loads from raw bytes already known to be in bounds. */
static inline uint32_t
load_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t
load_le64(const unsigned char *p)
{
	return (uint64_t)load_le32(p) | (uint64_t)load_le32(p + 4) << 32;
}

#endif /* HEXZ_CORE_ARCHIVE_DECODE_H */
