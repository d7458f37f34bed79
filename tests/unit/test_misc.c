/* SPDX-License-Identifier: MIT */
/*
 * The small promises: error strings, version functions, NULL handles, and
 * a handle that holds no file descriptor.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hexz/hexz.h>

#include "testutil.h"

static const int all_codes[] = {
	HEXZ_OK,
	HEXZ_ERR_INVALID_ARGUMENT,
	HEXZ_ERR_NOT_FOUND,
	HEXZ_ERR_PERMISSION,
	HEXZ_ERR_NO_MEMORY,
	HEXZ_ERR_NOT_REGULAR,
	HEXZ_ERR_END_OF_FILE,
	HEXZ_ERR_IO,
	HEXZ_ERR_UNSUPPORTED,
	HEXZ_ERR_SYSTEM,
	HEXZ_ERR_NOT_ARCHIVE,
	HEXZ_ERR_BAD_VERSION,
	HEXZ_ERR_CORRUPT_HEADER,
	HEXZ_ERR_CORRUPT_INDEX,
	HEXZ_ERR_CHECKSUM,
	HEXZ_ERR_DECOMPRESS,
	HEXZ_ERR_PASSWORD_REQUIRED,
	HEXZ_ERR_WRONG_PASSWORD,
	HEXZ_ERR_DECRYPT,
	HEXZ_ERR_PARENT_NOT_FOUND,
	HEXZ_ERR_PARENT_REFUSED,
	HEXZ_ERR_PARENT_CYCLE,
	HEXZ_ERR_PARENT_TOO_DEEP,
	HEXZ_ERR_PARENT_BLOCK_MISSING,
	HEXZ_ERR_CORRUPT_MANIFEST,
	HEXZ_ERR_LIMIT,
	HEXZ_ERR_NETWORK,
	HEXZ_ERR_CHANGED,
	HEXZ_ERR_PROTOCOL,
	HEXZ_ERR_HTTP,
};

#define N_CODES (sizeof(all_codes) / sizeof(all_codes[0]))
#define UNKNOWN "unknown libhexz error"

static char *tmp;

static void
setup(void)
{
	tmp = tu_tmpdir_create();
}

static void
teardown(void)
{
	tu_tmpdir_remove(tmp);
	tmp = NULL;
}

/* Every code has its own non-empty message, none of them the fallback. */
START_TEST(test_strerror_distinct)
{
	size_t i, j;

	for (i = 0; i < N_CODES; i++) {
		const char *msg = hexz_strerror(all_codes[i]);

		ck_assert_ptr_nonnull(msg);
		ck_assert_uint_gt(strlen(msg), 0);
		ck_assert_msg(strcmp(msg, UNKNOWN) != 0, "code %d has no message", all_codes[i]);
		for (j = 0; j < i; j++)
			ck_assert_msg(strcmp(msg, hexz_strerror(all_codes[j])) != 0,
				      "codes %d and %d share \"%s\"", all_codes[i], all_codes[j],
				      msg);
	}
}
END_TEST

START_TEST(test_strerror_unknown)
{
	static const int unknown[] = { 1, 42, -30, -100, INT_MIN, INT_MAX };
	size_t i;

	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		ck_assert_str_eq(hexz_strerror(unknown[i]), UNKNOWN);
}
END_TEST

START_TEST(test_version_string)
{
	ck_assert_ptr_nonnull(hexz_version());
	ck_assert_str_eq(hexz_version(), HEXZ_VERSION_STRING);
	/* The build system's idea of the version, passed in by meson. */
	ck_assert_str_eq(hexz_version(), HEXZ_EXPECTED_VERSION);
}
END_TEST

START_TEST(test_version_number)
{
	unsigned int major, minor, patch;
	char tail;

	ck_assert_uint_eq(hexz_version_number(), HEXZ_VERSION_NUMBER);
	ck_assert_int_eq(HEXZ_VERSION_NUMBER, (HEXZ_VERSION_MAJOR << 16) |
						      (HEXZ_VERSION_MINOR << 8) |
						      HEXZ_VERSION_PATCH);
	/* The string and the number describe the same release. */
	ck_assert_int_eq(sscanf(hexz_version(), "%u.%u.%u%c", &major, &minor, &patch, &tail), 3);
	ck_assert_uint_eq(major, HEXZ_VERSION_MAJOR);
	ck_assert_uint_eq(minor, HEXZ_VERSION_MINOR);
	ck_assert_uint_eq(patch, HEXZ_VERSION_PATCH);
	ck_assert_uint_eq(hexz_version_number(), (major << 16) | (minor << 8) | patch);
}
END_TEST

START_TEST(test_null_handle)
{
	uint8_t byte = 0x5a;
	const void *p = &byte;

	ck_assert_uint_eq(hexz_storage_len(NULL), 0);
	hexz_storage_close(NULL);
	ck_assert_int_eq(hexz_storage_read_exact(NULL, 0, 1, &byte), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_storage_read_exact(NULL, 0, 0, NULL), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_storage_view(NULL, 0, 0, &p), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(byte, 0x5a);
}
END_TEST

/* A handle holds no descriptor: /proc/self/fd is the same before and after. */
START_TEST(test_open_keeps_no_fd)
{
	char *p = tu_path(tmp, "file.hxz");
	char *empty = tu_path(tmp, "empty.hxz");
	struct hexz_storage *st[3] = { NULL, NULL, NULL };
	int before, fd;
	uint8_t byte;

	tu_write_pattern_file(p, 2 * tu_page_size() + 1);
	tu_write_file(empty, "", 0);
	before = tu_count_fds();
	ck_assert_int_gt(before, 0);

	ck_assert_int_eq(hexz_mmap_open(p, &st[0], NULL), HEXZ_OK);
	ck_assert_int_eq(hexz_mmap_open(empty, &st[1], NULL), HEXZ_OK);
	ck_assert_int_eq(tu_count_fds(), before);

	fd = open(p, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(hexz_mmap_open_fd(fd, &st[2], NULL), HEXZ_OK);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(tu_count_fds(), before);

	/* Reads do not reopen anything either. */
	ck_assert_int_eq(hexz_storage_read_exact(st[0], 2 * tu_page_size(), 1, &byte), HEXZ_OK);
	ck_assert_uint_eq(byte, tu_pattern_byte(2 * tu_page_size()));
	ck_assert_int_eq(tu_count_fds(), before);

	hexz_storage_close(st[2]);
	hexz_storage_close(st[1]);
	hexz_storage_close(st[0]);
	ck_assert_int_eq(tu_count_fds(), before);
	free(empty);
	free(p);
}
END_TEST

/* Failed opens leak nothing either, including the ones that did open(2). */
START_TEST(test_failed_open_keeps_no_fd)
{
	char *p = tu_path(tmp, "file.hxz");
	char *fifo = tu_path(tmp, "fifo");
	struct hexz_storage *st = NULL;
	int before, fd;

	tu_write_pattern_file(p, 100);
	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	before = tu_count_fds();
	ck_assert_int_gt(before, 0);

	ck_assert_int_eq(hexz_mmap_open(fifo, &st, NULL), HEXZ_ERR_NOT_REGULAR);
	ck_assert_int_eq(hexz_mmap_open(tmp, &st, NULL), HEXZ_ERR_NOT_REGULAR);
	ck_assert_int_eq(hexz_mmap_open_fd(fd, &st, NULL), HEXZ_ERR_PERMISSION);
	ck_assert_int_eq(tu_count_fds(), before);
	close(fd);
	free(fifo);
	free(p);
}
END_TEST

static Suite *
misc_suite(void)
{
	Suite *s = suite_create("misc");
	TCase *api = tcase_create("api");
	TCase *fds = tcase_create("descriptors");

	tcase_add_test(api, test_strerror_distinct);
	tcase_add_test(api, test_strerror_unknown);
	tcase_add_test(api, test_version_string);
	tcase_add_test(api, test_version_number);
	tcase_add_test(api, test_null_handle);
	suite_add_tcase(s, api);

	tcase_add_checked_fixture(fds, setup, teardown);
	tcase_add_test(fds, test_open_keeps_no_fd);
	tcase_add_test(fds, test_failed_open_keeps_no_fd);
	suite_add_tcase(s, fds);
	return s;
}

int
main(void)
{
	return tu_run_suite(misc_suite());
}
