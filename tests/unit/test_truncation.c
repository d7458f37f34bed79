/* SPDX-License-Identifier: MIT */
/*
 * A snapshot truncated under a live mapping: hexz_storage_read_exact() of
 * a vanished page must return HEXZ_ERR_IO and the process must live on,
 * while reads of the pages still backed by the file keep working - on one
 * thread or many at once. (What happens to SIGBUS outside a guarded read
 * is tested in test_sigbus_chain.c, in fresh processes.)
 *
 * Each case runs twice: with every page faulted in before the truncation
 * (the kernel must then tear the mappings down) and with the mapping cold.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hexz/hexz.h>

#include "testutil.h"

#define PAGES 16
#define THREADS 8
#define ROUNDS_PER_THREAD 500

static char *tmp;
static char *path;
static struct hexz_storage *st;
static size_t page;

static void
open_snapshot(void)
{
	tmp = tu_tmpdir_create();
	path = tu_path(tmp, "shrinking.hxz");
	page = tu_page_size();
	tu_write_pattern_file(path, PAGES * page);
	ck_assert_int_eq(hexz_mmap_open(path, &st, NULL), HEXZ_OK);
}

static void
shrink_to(uint64_t new_size)
{
	ck_assert_int_eq(truncate(path, (off_t)new_size), 0);
}

static void
fault_in_everything(void)
{
	uint8_t *buf = malloc(PAGES * page);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(hexz_storage_read_exact(st, 0, PAGES * page, buf), HEXZ_OK);
	ck_assert_int_eq(tu_pattern_mismatch(buf, 0, PAGES * page), -1);
	free(buf);
}

static void
setup_warm(void)
{
	open_snapshot();
	fault_in_everything();
	shrink_to(page);
}

static void
setup_cold(void)
{
	open_snapshot();
	shrink_to(page);
}

static void
setup_warm_empty(void)
{
	open_snapshot();
	fault_in_everything();
	shrink_to(0);
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

static void
expect_io(uint64_t offset, size_t len)
{
	uint8_t *buf = malloc(len);
	int ret;

	ck_assert_ptr_nonnull(buf);
	ret = hexz_storage_read_exact(st, offset, len, buf);
	ck_assert_msg(ret == HEXZ_ERR_IO, "read(%ju, %zu) after truncation: %d (%s), want IO",
		      (uintmax_t)offset, len, ret, hexz_strerror(ret));
	free(buf);
}

static void
expect_pattern(uint64_t offset, size_t len)
{
	uint8_t *buf = malloc(len);
	int ret;

	ck_assert_ptr_nonnull(buf);
	ret = hexz_storage_read_exact(st, offset, len, buf);
	ck_assert_msg(ret == HEXZ_OK, "read(%ju, %zu) of the backed page: %d (%s)",
		      (uintmax_t)offset, len, ret, hexz_strerror(ret));
	ck_assert_int_eq(tu_pattern_mismatch(buf, offset, len), -1);
	free(buf);
}

START_TEST(test_vanished_pages_read_as_io)
{
	expect_io(page, 1);
	expect_io(5 * page + 123, 100);
	expect_io(PAGES * page - 1, 1);
	expect_io(page, (PAGES - 1) * page);
}
END_TEST

/* A range that starts in the backed page and runs into a vanished one. */
START_TEST(test_read_straddling_new_end)
{
	expect_io(page - 10, 20);
	expect_io(0, PAGES * page);
}
END_TEST

START_TEST(test_backed_page_still_reads)
{
	expect_pattern(0, page);
	expect_pattern(page - 1, 1);
	expect_io(2 * page, 10);
	/* The failed read must not have broken the next one. */
	expect_pattern(0, page);
}
END_TEST

/* The length was learnt at open and does not follow the file. */
START_TEST(test_len_unchanged)
{
	const void *p = NULL;
	uint8_t byte;

	ck_assert_uint_eq(hexz_storage_len(st), PAGES * page);
	ck_assert_int_eq(hexz_storage_view(st, 0, PAGES * page, &p), HEXZ_OK);
	ck_assert_int_eq(hexz_storage_read_exact(st, PAGES * page, 1, &byte), HEXZ_ERR_END_OF_FILE);
}
END_TEST

/* The recovery is not one-shot: the handler stays and the guard resets. */
START_TEST(test_repeated_faults)
{
	int i;

	for (i = 0; i < 200; i++) {
		expect_io(page + (uint64_t)(i % (PAGES - 1)) * page, 8);
		expect_pattern((uint64_t)i, 8);
	}
}
END_TEST

START_TEST(test_truncated_to_zero)
{
	expect_io(0, 1);
	expect_io(0, page);
	expect_io(3 * page + 1, 7);
}
END_TEST

struct worker {
	pthread_t thread;
	unsigned int id;
	pthread_barrier_t *start;
	int rounds;
	int failures;
	char first_failure[160];
};

static void
record_failure(struct worker *w, const char *what, uint64_t offset, int ret)
{
	if (w->failures++ == 0)
		snprintf(w->first_failure, sizeof(w->first_failure),
			 "thread %u: %s at offset %ju: %d (%s)", w->id, what, (uintmax_t)offset,
			 ret, hexz_strerror(ret));
}

/*
 * Every thread faults on vanished pages while the others read the backed
 * one: each SIGBUS must land in the guard of the thread that raised it.
 */
static void *
fault_and_read(void *arg)
{
	struct worker *w = arg;
	uint8_t buf[64];
	int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i < ROUNDS_PER_THREAD; i++) {
		uint64_t gone = page * (1 + (uint64_t)(i + w->id) % (PAGES - 1)) + w->id;
		uint64_t kept = (uint64_t)(i * 7 + w->id) % (page - sizeof(buf));
		int ret;

		ret = hexz_storage_read_exact(st, gone, sizeof(buf), buf);
		if (ret != HEXZ_ERR_IO)
			record_failure(w, "vanished page did not read as IO", gone, ret);
		ret = hexz_storage_read_exact(st, kept, sizeof(buf), buf);
		if (ret != HEXZ_OK)
			record_failure(w, "backed page failed", kept, ret);
		else if (tu_pattern_mismatch(buf, kept, sizeof(buf)) != -1)
			record_failure(w, "backed page read wrong bytes", kept, ret);
		w->rounds++;
	}
	return NULL;
}

START_TEST(test_concurrent_faults)
{
	struct worker workers[THREADS];
	pthread_barrier_t start;
	unsigned int i;

	ck_assert_int_eq(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (i = 0; i < THREADS; i++) {
		memset(&workers[i], 0, sizeof(workers[i]));
		workers[i].id = i;
		workers[i].start = &start;
		ck_assert_int_eq(
			pthread_create(&workers[i].thread, NULL, fault_and_read, &workers[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(workers[i].thread, NULL), 0);
	pthread_barrier_destroy(&start);
	for (i = 0; i < THREADS; i++) {
		ck_assert_msg(workers[i].failures == 0, "%d failures, first: %s",
			      workers[i].failures, workers[i].first_failure);
		ck_assert_int_eq(workers[i].rounds, ROUNDS_PER_THREAD);
	}
}
END_TEST

static TCase *
shrunk_case(const char *name, void (*setup)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_vanished_pages_read_as_io);
	tcase_add_test(tc, test_read_straddling_new_end);
	tcase_add_test(tc, test_backed_page_still_reads);
	tcase_add_test(tc, test_len_unchanged);
	tcase_add_test(tc, test_repeated_faults);
	tcase_add_test(tc, test_concurrent_faults);
	return tc;
}

static Suite *
truncation_suite(void)
{
	Suite *s = suite_create("truncation");
	TCase *empty = tcase_create("truncated_to_zero");

	suite_add_tcase(s, shrunk_case("warm_mapping", setup_warm));
	suite_add_tcase(s, shrunk_case("cold_mapping", setup_cold));
	tcase_add_checked_fixture(empty, setup_warm_empty, teardown);
	tcase_add_test(empty, test_truncated_to_zero);
	suite_add_tcase(s, empty);
	return s;
}

int
main(void)
{
	return tu_run_suite(truncation_suite());
}
