/* SPDX-License-Identifier: MIT */
/*
 * The block CRC-32 (core/archive/checksum.c) is zlib's, whichever library
 * computes it: checked against zlib's crc32_z itself on every length up to
 * a few cache lines, at every alignment, and on known answers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "archive/checksum.h"
#include "testutil.h"

START_TEST(test_known_answers)
{
	/* FORMAT.md: LZ4 of "hello" stores as these bytes, CRC-32 f91ffa5e. */
	static const unsigned char hello_block[] = { 0x05, 0x00, 0x00, 0x00, 0x50,
						     'h',  'e',	 'l',  'l',  'o' };

	ck_assert_uint_eq(block_crc32("", 0), 0);
	ck_assert_uint_eq(block_crc32("123456789", 9), 0xcbf43926u);
	ck_assert_uint_eq(block_crc32(hello_block, sizeof(hello_block)), 0xf91ffa5eu);
}
END_TEST

START_TEST(test_same_as_zlib)
{
	enum { MAX_LEN = 1100, ALIGNS = 16 };
	unsigned char *buf = malloc(MAX_LEN + ALIGNS);
	uint32_t seed = 12345;
	size_t len, align, i;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < MAX_LEN + ALIGNS; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
	}
	for (align = 0; align < ALIGNS; align++)
		for (len = 0; len <= MAX_LEN; len++)
			ck_assert_uint_eq(block_crc32(buf + align, len),
					  (uint32_t)crc32_z(0, buf + align, len));
	free(buf);
}
END_TEST

START_TEST(test_large_block)
{
	size_t len = 4u << 20;
	unsigned char *buf = malloc(len);
	size_t i;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	ck_assert_uint_eq(block_crc32(buf, len), (uint32_t)crc32_z(0, buf, len));
	free(buf);
}
END_TEST

static Suite *
checksum_suite(void)
{
	Suite *s = suite_create("checksum");
	TCase *tc = tcase_create("crc32");

	tcase_add_test(tc, test_known_answers);
	tcase_add_test(tc, test_same_as_zlib);
	tcase_add_test(tc, test_large_block);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run_suite(checksum_suite());
}
