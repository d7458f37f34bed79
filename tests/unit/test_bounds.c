/* SPDX-License-Identifier: MIT */
/*
 * The bounds rules of hexz_storage_read_exact() and hexz_storage_view() at
 * and around the end of a snapshot, for a file whose size is not a
 * multiple of the page size and for an empty file; and the argument checks
 * of the two calls.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hexz/hexz.h>

#include "testutil.h"

#define SENTINEL 0xa5

static char *tmp;
static struct hexz_storage *st;
static uint64_t size;

/* Three pages and a bit: the last page is only partly backed by the file. */
static void
setup(void)
{
	char *p;

	tmp = tu_tmpdir_create();
	p = tu_path(tmp, "snapshot.hxz");
	size = 3 * tu_page_size() + 17;
	tu_write_pattern_file(p, size);
	ck_assert_int_eq(hexz_mmap_open(p, &st, NULL), HEXZ_OK);
	free(p);
}

static void
setup_empty(void)
{
	char *p;

	tmp = tu_tmpdir_create();
	p = tu_path(tmp, "empty.hxz");
	size = 0;
	tu_write_file(p, "", 0);
	ck_assert_int_eq(hexz_mmap_open(p, &st, NULL), HEXZ_OK);
	free(p);
}

static void
teardown(void)
{
	hexz_storage_close(st);
	st = NULL;
	tu_tmpdir_remove(tmp);
	tmp = NULL;
}

/* A read that must succeed and return the pattern, writing exactly len bytes. */
static void
expect_read_ok(uint64_t offset, size_t len)
{
	uint8_t *buf = malloc(len + 16);
	int ret;

	ck_assert_ptr_nonnull(buf);
	memset(buf, SENTINEL, len + 16);
	ret = hexz_storage_read_exact(st, offset, len, buf);
	ck_assert_msg(ret == HEXZ_OK, "read(%ju, %zu) of %ju: %d (%s)", (uintmax_t)offset, len,
		      (uintmax_t)size, ret, hexz_strerror(ret));
	ck_assert_int_eq(tu_pattern_mismatch(buf, offset, len), -1);
	ck_assert_msg(tu_all_bytes(buf + len, 16, SENTINEL), "read wrote past len");
	free(buf);
}

/* A read that must fail with END_OF_FILE and leave the destination alone. */
static void
expect_read_eof(uint64_t offset, size_t len)
{
	uint8_t buf[64];
	int ret;

	memset(buf, SENTINEL, sizeof(buf));
	ret = hexz_storage_read_exact(st, offset, len, buf);
	ck_assert_msg(ret == HEXZ_ERR_END_OF_FILE, "read(%ju, %zu) of %ju: %d (%s), want EOF",
		      (uintmax_t)offset, len, (uintmax_t)size, ret, hexz_strerror(ret));
	ck_assert_msg(tu_all_bytes(buf, sizeof(buf), SENTINEL), "failed read touched dst");
}

static const uint8_t *
view_base(void)
{
	const void *base = NULL;

	ck_assert_int_eq(hexz_storage_view(st, 0, (size_t)size, &base), HEXZ_OK);
	ck_assert_ptr_nonnull(base);
	return base;
}

static void
expect_view_ok(uint64_t offset, size_t len)
{
	const void *p = NULL;
	int ret;

	ret = hexz_storage_view(st, offset, len, &p);
	ck_assert_msg(ret == HEXZ_OK, "view(%ju, %zu) of %ju: %d (%s)", (uintmax_t)offset, len,
		      (uintmax_t)size, ret, hexz_strerror(ret));
	ck_assert_ptr_eq(p, view_base() + offset);
	ck_assert_int_eq(tu_pattern_mismatch(p, offset, len), -1);
}

static void
expect_view_eof(uint64_t offset, size_t len)
{
	const void *p = NULL;
	int ret;

	ret = hexz_storage_view(st, offset, len, &p);
	ck_assert_msg(ret == HEXZ_ERR_END_OF_FILE, "view(%ju, %zu) of %ju: %d (%s), want EOF",
		      (uintmax_t)offset, len, (uintmax_t)size, ret, hexz_strerror(ret));
}

START_TEST(test_len)
{
	ck_assert_uint_eq(hexz_storage_len(st), size);
}
END_TEST

START_TEST(test_read_whole_file)
{
	expect_read_ok(0, (size_t)size);
}
END_TEST

START_TEST(test_read_last_byte)
{
	expect_read_ok(size - 1, 1);
}
END_TEST

START_TEST(test_read_ending_at_size)
{
	expect_read_ok(size - 100, 100);
	/* Across the last page boundary, into the partly backed page. */
	expect_read_ok(3 * tu_page_size() - 3, 20);
}
END_TEST

START_TEST(test_read_one_past_end)
{
	expect_read_eof(size - 63, 64);
	expect_read_eof(size - 1, 2);
	expect_read_eof(size, 1);
	expect_read_eof(0, (size_t)size + 1);
}
END_TEST

START_TEST(test_read_empty_range_at_end)
{
	uint8_t byte = SENTINEL;

	ck_assert_int_eq(hexz_storage_read_exact(st, size, 0, &byte), HEXZ_OK);
	ck_assert_uint_eq(byte, SENTINEL);
	ck_assert_int_eq(hexz_storage_read_exact(st, 0, 0, &byte), HEXZ_OK);
	ck_assert_int_eq(hexz_storage_read_exact(st, size / 2, 0, &byte), HEXZ_OK);
	ck_assert_uint_eq(byte, SENTINEL);
}
END_TEST

START_TEST(test_read_empty_range_past_end)
{
	expect_read_eof(size + 1, 0);
	expect_read_eof(UINT64_MAX, 0);
}
END_TEST

/*
 * offset + len wraps past 2^64 to a small number that lies inside the
 * file; a naive "offset + len <= size" accepts it and reads wild memory.
 */
START_TEST(test_read_range_overflowing_uint64)
{
	expect_read_eof(UINT64_MAX - 1, 4);
	expect_read_eof(UINT64_MAX, 1);
	expect_read_eof(UINT64_MAX - 10, 64);
	/* len alone overflowing the space left after offset. */
	expect_read_eof(1, SIZE_MAX);
	expect_read_eof(size, SIZE_MAX);
}
END_TEST

START_TEST(test_read_argument_checks)
{
	uint8_t byte = SENTINEL;

	ck_assert_int_eq(hexz_storage_read_exact(NULL, 0, 1, &byte), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_storage_read_exact(NULL, 0, 0, &byte), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(byte, SENTINEL);
	ck_assert_int_eq(hexz_storage_read_exact(st, 0, 1, NULL), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_storage_read_exact(st, 0, 0, NULL), HEXZ_OK);
	ck_assert_int_eq(hexz_storage_read_exact(st, size, 0, NULL), HEXZ_OK);
}
END_TEST

/* The view is the file: every byte, at base + offset. */
START_TEST(test_view_is_the_file)
{
	const uint8_t *base = view_base();

	ck_assert_int_eq(tu_pattern_mismatch(base, 0, (size_t)size), -1);
	expect_view_ok(0, (size_t)size);
	expect_view_ok(1, 10);
	expect_view_ok(tu_page_size(), tu_page_size());
}
END_TEST

START_TEST(test_view_bounds)
{
	const void *p = NULL;

	expect_view_ok(size - 1, 1);
	expect_view_ok(size - 100, 100);
	ck_assert_int_eq(hexz_storage_view(st, size, 0, &p), HEXZ_OK);
	expect_view_eof(size - 1, 2);
	expect_view_eof(size, 1);
	expect_view_eof(0, (size_t)size + 1);
	expect_view_eof(size + 1, 0);
	expect_view_eof(UINT64_MAX, 0);
	expect_view_eof(UINT64_MAX - 1, 4);
	expect_view_eof(1, SIZE_MAX);
}
END_TEST

START_TEST(test_view_argument_checks)
{
	const void *p = NULL;

	ck_assert_int_eq(hexz_storage_view(NULL, 0, 1, &p), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_storage_view(NULL, 0, 0, &p), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_storage_view(st, 0, 1, NULL), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_storage_view(st, 0, 0, NULL), HEXZ_ERR_INVALID_ARGUMENT);
}
END_TEST

/* The view is read-only: a write through it must fault, not succeed. */
static int
write_through_view(void *arg)
{
	volatile uint8_t *p = arg;

	p[0] = 0;
	return 0;
}

START_TEST(test_view_is_read_only)
{
	void *base = (void *)(uintptr_t)view_base();

	tu_assert_killed_by(tu_run_in_child(write_through_view, base), SIGSEGV);
	/* And the file is unchanged. */
	expect_read_ok(0, 1);
}
END_TEST

START_TEST(test_empty_len)
{
	ck_assert_uint_eq(hexz_storage_len(st), 0);
}
END_TEST

START_TEST(test_empty_reads)
{
	uint8_t byte = SENTINEL;

	ck_assert_int_eq(hexz_storage_read_exact(st, 0, 0, &byte), HEXZ_OK);
	ck_assert_int_eq(hexz_storage_read_exact(st, 0, 0, NULL), HEXZ_OK);
	ck_assert_uint_eq(byte, SENTINEL);
	expect_read_eof(0, 1);
	expect_read_eof(0, 64);
	expect_read_eof(1, 0);
	expect_read_eof(UINT64_MAX, 1);
	expect_read_eof(UINT64_MAX, 0);
}
END_TEST

START_TEST(test_empty_views)
{
	const void *p = NULL;

	/* The pointer may be NULL here: an empty snapshot has no mapping. */
	ck_assert_int_eq(hexz_storage_view(st, 0, 0, &p), HEXZ_OK);
	expect_view_eof(0, 1);
	expect_view_eof(1, 0);
	expect_view_eof(UINT64_MAX, 2);
	ck_assert_int_eq(hexz_storage_view(st, 0, 0, NULL), HEXZ_ERR_INVALID_ARGUMENT);
}
END_TEST

/* The same empty file through hexz_mmap_open_fd(): no mapping, no error. */
START_TEST(test_empty_via_fd)
{
	struct hexz_storage *st2 = NULL;
	char *p = tu_path(tmp, "empty.hxz");
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(hexz_mmap_open_fd(fd, &st2, NULL), HEXZ_OK);
	close(fd);
	ck_assert_uint_eq(hexz_storage_len(st2), 0);
	ck_assert_int_eq(hexz_storage_read_exact(st2, 0, 0, NULL), HEXZ_OK);
	ck_assert_int_eq(hexz_storage_read_exact(st2, 0, 1, &fd), HEXZ_ERR_END_OF_FILE);
	hexz_storage_close(st2);
	free(p);
}
END_TEST

static Suite *
bounds_suite(void)
{
	Suite *s = suite_create("bounds");
	TCase *tc = tcase_create("multi_page");
	TCase *empty = tcase_create("empty_file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_len);
	tcase_add_test(tc, test_read_whole_file);
	tcase_add_test(tc, test_read_last_byte);
	tcase_add_test(tc, test_read_ending_at_size);
	tcase_add_test(tc, test_read_one_past_end);
	tcase_add_test(tc, test_read_empty_range_at_end);
	tcase_add_test(tc, test_read_empty_range_past_end);
	tcase_add_test(tc, test_read_range_overflowing_uint64);
	tcase_add_test(tc, test_read_argument_checks);
	tcase_add_test(tc, test_view_is_the_file);
	tcase_add_test(tc, test_view_bounds);
	tcase_add_test(tc, test_view_argument_checks);
	tcase_add_test(tc, test_view_is_read_only);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(empty, setup_empty, teardown);
	tcase_add_test(empty, test_empty_len);
	tcase_add_test(empty, test_empty_reads);
	tcase_add_test(empty, test_empty_views);
	tcase_add_test(empty, test_empty_via_fd);
	suite_add_tcase(s, empty);
	return s;
}

int
main(void)
{
	return tu_run_suite(bounds_suite());
}
