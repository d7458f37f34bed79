/* SPDX-License-Identifier: MIT */
/*
 * A sparse snapshot larger than 4 GiB: lengths and offsets must be 64-bit
 * all the way down, holes read as zeros, and opening must not touch the
 * data (the mapping is lazy), or a 5 GiB open would take seconds.
 *
 * The pattern bytes are a hash of the whole 64-bit offset, so an offset
 * cut to 32 bits reads bytes from 4 GiB earlier - a hole - and fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hexz/hexz.h>

#include "testutil.h"

#define GIB ((uint64_t)1 << 30)
#define MIB ((uint64_t)1 << 20)
#define FOUR_GIB (4 * GIB)
#define SIZE (5 * GIB + 123)

/* The regions that hold data; everything else is a hole. */
static const struct region {
	uint64_t offset;
	size_t len;
} regions[] = {
	/* Straddles the 4 GiB boundary. */
	{ FOUR_GIB - 2048, 4096 },
	/* Wholly beyond 4 GiB, not page-aligned. */
	{ FOUR_GIB + MIB + 12345, 10000 },
	/* The tail, up to the very last byte. */
	{ SIZE - 5000, 5000 },
};

static char *tmp;
static char *path;
static struct hexz_storage *st;
static double open_seconds;

static void
write_region(int fd, const struct region *r)
{
	uint8_t *buf = malloc(r->len);
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	tu_pattern_fill(buf, r->offset, r->len);
	n = pwrite(fd, buf, r->len, (off_t)r->offset);
	ck_assert_msg(n == (ssize_t)r->len, "pwrite at %ju: %s", (uintmax_t)r->offset,
		      strerror(errno));
	free(buf);
}

static void
setup(void)
{
	double start;
	size_t i;
	int fd;

	tmp = tu_tmpdir_create();
	path = tu_path(tmp, "sparse.hxz");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(ftruncate(fd, (off_t)SIZE) == 0, "ftruncate to 5 GiB: %s", strerror(errno));
	for (i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
		write_region(fd, &regions[i]);
	ck_assert_int_eq(close(fd), 0);

	start = tu_now();
	ck_assert_int_eq(hexz_mmap_open(path, &st, NULL), HEXZ_OK);
	open_seconds = tu_now() - start;
}

static void
teardown(void)
{
	hexz_storage_close(st);
	st = NULL;
	free(path);
	path = NULL;
	tu_tmpdir_remove(tmp);
	tmp = NULL;
}

/* What the file holds at @at: the pattern inside a region, zero in a hole. */
static uint8_t
expected_byte(uint64_t at)
{
	size_t r;

	for (r = 0; r < sizeof(regions) / sizeof(regions[0]); r++) {
		if (at >= regions[r].offset && at - regions[r].offset < regions[r].len)
			return tu_pattern_byte(at);
	}
	return 0;
}

/*
 * Read [offset, offset + len) and compare with what the file should hold.
 * One assertion at the end: check records every assertion it passes,
 * which would cost a system call per byte here.
 */
static void
expect_contents(uint64_t offset, size_t len)
{
	uint8_t *buf = malloc(len);
	size_t i;
	int ret;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xa5, len);
	ret = hexz_storage_read_exact(st, offset, len, buf);
	ck_assert_msg(ret == HEXZ_OK, "read(%ju, %zu): %d (%s)", (uintmax_t)offset, len, ret,
		      hexz_strerror(ret));
	for (i = 0; i < len; i++) {
		if (buf[i] != expected_byte(offset + i))
			break;
	}
	ck_assert_msg(i == len, "byte at %ju is %#x, want %#x", (uintmax_t)(offset + i),
		      i < len ? buf[i] : 0, i < len ? expected_byte(offset + i) : 0);
	free(buf);
}

START_TEST(test_len)
{
	ck_assert_uint_eq(hexz_storage_len(st), SIZE);
}
END_TEST

/*
 * Lazy mapping: the open is quick, and none of the 4 GiB of holes below
 * the data is in the page cache afterwards (mincore() reports page-cache
 * residency of a file mapping). An open that read or populated the file
 * would have pulled them in. The first MiB is left out: valgrind reads
 * the start of every file mapped, to see whether it is an ELF object.
 */
START_TEST(test_open_is_lazy)
{
	const size_t skip = (size_t)MIB;
	const size_t span = (size_t)(FOUR_GIB - 4 * MIB) - skip;
	const size_t pages = span / tu_page_size();
	const void *base = NULL;
	unsigned char *vec = malloc(pages);
	size_t resident = 0;
	size_t i;

	ck_assert_msg(open_seconds < 1.0, "opening 5 GiB took %.3f s", open_seconds);
	ck_assert_ptr_nonnull(vec);
	ck_assert_int_eq(hexz_storage_view(st, skip, span, &base), HEXZ_OK);
	ck_assert_int_eq(mincore((void *)(uintptr_t)base, span, vec), 0);
	for (i = 0; i < pages; i++)
		resident += vec[i] & 1;
	ck_assert_msg(resident == 0, "%zu pages of the holes are resident after open", resident);
	free(vec);
}
END_TEST

START_TEST(test_data_straddling_4gib)
{
	expect_contents(FOUR_GIB - 2048, 4096);
	expect_contents(FOUR_GIB - 10, 20);
	expect_contents(FOUR_GIB, 1);
	expect_contents(FOUR_GIB - 1, 1);
}
END_TEST

START_TEST(test_data_beyond_4gib)
{
	expect_contents(FOUR_GIB + MIB + 12345, 10000);
	expect_contents(FOUR_GIB + MIB + 12345 + 4000, 17);
}
END_TEST

START_TEST(test_tail)
{
	expect_contents(SIZE - 5000, 5000);
	expect_contents(SIZE - 1, 1);
}
END_TEST

START_TEST(test_holes_read_zero)
{
	expect_contents(0, 4096);
	expect_contents(2 * GIB + 77, 65536);
	expect_contents(FOUR_GIB + 512 * 1024, 4096);
	expect_contents(SIZE - 5000 - 8192, 8192);
}
END_TEST

/* Ranges that run from a hole into data and out again. */
START_TEST(test_hole_to_data_transitions)
{
	expect_contents(FOUR_GIB - 2048 - 100, 300);
	expect_contents(FOUR_GIB + 2048 - 100, 300);
	expect_contents(FOUR_GIB - MIB, (size_t)(2 * MIB));
	expect_contents(FOUR_GIB + MIB, 12345 + 10000 + 4096);
}
END_TEST

START_TEST(test_bounds_beyond_4gib)
{
	uint8_t buf[8];
	const void *p = NULL;

	ck_assert_int_eq(hexz_storage_read_exact(st, SIZE - 1, 2, buf), HEXZ_ERR_END_OF_FILE);
	ck_assert_int_eq(hexz_storage_read_exact(st, SIZE, 1, buf), HEXZ_ERR_END_OF_FILE);
	ck_assert_int_eq(hexz_storage_read_exact(st, SIZE, 0, buf), HEXZ_OK);
	ck_assert_int_eq(hexz_storage_read_exact(st, SIZE + 1, 0, buf), HEXZ_ERR_END_OF_FILE);
	ck_assert_int_eq(hexz_storage_read_exact(st, UINT64_MAX - 1, 4, buf), HEXZ_ERR_END_OF_FILE);
	ck_assert_int_eq(hexz_storage_view(st, SIZE - 1, 2, &p), HEXZ_ERR_END_OF_FILE);
	ck_assert_int_eq(hexz_storage_view(st, SIZE, 0, &p), HEXZ_OK);
}
END_TEST

/* A view beyond 4 GiB points at the right bytes, at base + offset. */
START_TEST(test_view_beyond_4gib)
{
	const uint64_t off = FOUR_GIB + MIB + 12345;
	const void *base = NULL;
	const void *p = NULL;

	ck_assert_int_eq(hexz_storage_view(st, 0, 1, &base), HEXZ_OK);
	ck_assert_int_eq(hexz_storage_view(st, off, 10000, &p), HEXZ_OK);
	ck_assert_ptr_eq(p, (const uint8_t *)base + off);
	ck_assert_int_eq(tu_pattern_mismatch(p, off, 10000), -1);
}
END_TEST

static Suite *
large_sparse_suite(void)
{
	Suite *s = suite_create("large_sparse");
	TCase *tc = tcase_create("five_gib");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_len);
	tcase_add_test(tc, test_open_is_lazy);
	tcase_add_test(tc, test_data_straddling_4gib);
	tcase_add_test(tc, test_data_beyond_4gib);
	tcase_add_test(tc, test_tail);
	tcase_add_test(tc, test_holes_read_zero);
	tcase_add_test(tc, test_hole_to_data_transitions);
	tcase_add_test(tc, test_bounds_beyond_4gib);
	tcase_add_test(tc, test_view_beyond_4gib);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run_suite(large_sparse_suite());
}
