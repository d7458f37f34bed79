/* SPDX-License-Identifier: MIT */
/* The bounds-checked bincode reader (see decode.h). */
#include "decode.h"

const unsigned char *
take_bytes(struct cursor *c, size_t n)
{
	const unsigned char *at;

	if (c->failed || n > c->len - c->pos) {
		c->failed = true;
		return NULL;
	}
	at = c->p + c->pos;
	c->pos += n;
	return at;
}

uint8_t
take_u8(struct cursor *c)
{
	const unsigned char *b = take_bytes(c, 1);

	return b ? b[0] : 0;
}

uint32_t
take_u32(struct cursor *c)
{
	const unsigned char *b = take_bytes(c, 4);

	return b ? load_le32(b) : 0;
}

uint64_t
take_u64(struct cursor *c)
{
	const unsigned char *b = take_bytes(c, 8);

	return b ? load_le64(b) : 0;
}

bool
take_bool(struct cursor *c)
{
	uint8_t v = take_u8(c);

	if (v > 1)
		c->failed = true;
	return v == 1;
}

bool
take_option(struct cursor *c)
{
	return take_bool(c);
}

uint64_t
take_count(struct cursor *c, size_t elem_min)
{
	uint64_t n = take_u64(c);

	if (c->failed)
		return 0;
	if (elem_min > 0 && n > cursor_left(c) / elem_min) {
		c->failed = true;
		return 0;
	}
	return n;
}
