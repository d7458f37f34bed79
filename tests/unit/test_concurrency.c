/* SPDX-License-Identifier: MIT */
/*
 * Concurrent use: a handle is immutable after open, so any number of
 * threads may read from it at once with no lock; and opens of the same
 * file from several threads at once are independent.
 *
 * Worker threads never call check's assertions (they are not thread-safe):
 * each records its failures and the main thread asserts after the join.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hexz/hexz.h>

#include "testutil.h"

#define THREADS 8
#define READS_PER_THREAD 4000
#define OPENS_PER_THREAD 200
#define MIB ((uint64_t)1 << 20)
/* A few MiB, not a multiple of the page size. */
#define SIZE (3 * MIB + 321)
#define MAX_SMALL_READ 4096
#define MAX_LARGE_READ (256 * 1024)

static char *tmp;
static char *path;
static struct hexz_storage *st;
/* The whole file as it should read, so a check is one memcmp. */
static uint8_t *expected;

struct worker {
	pthread_t thread;
	unsigned int id;
	pthread_barrier_t *start;
	unsigned long reads;
	unsigned long eof_checks;
	int failures;
	char first_failure[160];
};

static void
setup(void)
{
	tmp = tu_tmpdir_create();
	path = tu_path(tmp, "shared.hxz");
	tu_write_pattern_file(path, SIZE);
	expected = malloc(SIZE);
	ck_assert_ptr_nonnull(expected);
	tu_pattern_fill(expected, 0, SIZE);
	ck_assert_int_eq(hexz_mmap_open(path, &st, NULL), HEXZ_OK);
}

static void
teardown(void)
{
	hexz_storage_close(st);
	st = NULL;
	free(expected);
	expected = NULL;
	free(path);
	path = NULL;
	tu_tmpdir_remove(tmp);
	tmp = NULL;
}

/* xorshift64*: deterministic per thread, so a failure can be replayed. */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static void
record_failure(struct worker *w, const char *what, uint64_t offset, size_t len, int ret)
{
	if (w->failures++ == 0)
		snprintf(w->first_failure, sizeof(w->first_failure),
			 "thread %u: %s at offset %ju len %zu: %d (%s)", w->id, what,
			 (uintmax_t)offset, len, ret, hexz_strerror(ret));
}

/* Mostly page-sized reads, some large ones, some ending exactly at the end. */
static void
pick_range(uint64_t *rng, uint64_t *offset, size_t *len)
{
	uint64_t r = next_random(rng);

	if (r % 16 == 0)
		*len = (size_t)(next_random(rng) % (MAX_LARGE_READ + 1));
	else
		*len = (size_t)(next_random(rng) % (MAX_SMALL_READ + 1));
	if (r % 64 == 1)
		*offset = SIZE - *len;
	else
		*offset = next_random(rng) % (SIZE - *len + 1);
}

static void
check_one_read(struct worker *w, uint8_t *buf, uint64_t offset, size_t len)
{
	const void *view = NULL;
	int ret;

	ret = hexz_storage_read_exact(st, offset, len, buf);
	if (ret != HEXZ_OK)
		record_failure(w, "read_exact failed", offset, len, ret);
	else if (memcmp(buf, expected + offset, len) != 0)
		record_failure(w, "read_exact returned wrong bytes", offset, len, ret);

	ret = hexz_storage_view(st, offset, len, &view);
	if (ret != HEXZ_OK)
		record_failure(w, "view failed", offset, len, ret);
	else if (len > 0 && memcmp(view, expected + offset, len) != 0)
		record_failure(w, "view shows wrong bytes", offset, len, ret);
}

/* A range one byte too long must fail the same way in every thread. */
static void
check_one_eof(struct worker *w, uint8_t *buf, uint64_t offset, size_t len)
{
	int ret = hexz_storage_read_exact(st, offset, len + 1, buf);

	if (ret != HEXZ_ERR_END_OF_FILE)
		record_failure(w, "overlong read did not fail with EOF", offset, len + 1, ret);
	w->eof_checks++;
}

static void *
reader(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (w->id + 1);
	uint8_t *buf = malloc(MAX_LARGE_READ + 1);
	int i;

	pthread_barrier_wait(w->start);
	if (!buf) {
		record_failure(w, "malloc", 0, 0, 0);
		return NULL;
	}
	for (i = 0; i < READS_PER_THREAD; i++) {
		uint64_t offset;
		size_t len;

		pick_range(&rng, &offset, &len);
		check_one_read(w, buf, offset, len);
		if (offset + len == SIZE)
			check_one_eof(w, buf, offset, len);
		w->reads++;
	}
	free(buf);
	return NULL;
}

static void
run_workers(void *(*fn)(void *), struct worker *workers)
{
	pthread_barrier_t start;
	unsigned int i;

	ck_assert_int_eq(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (i = 0; i < THREADS; i++) {
		memset(&workers[i], 0, sizeof(workers[i]));
		workers[i].id = i;
		workers[i].start = &start;
		ck_assert_int_eq(pthread_create(&workers[i].thread, NULL, fn, &workers[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(workers[i].thread, NULL), 0);
	pthread_barrier_destroy(&start);
	for (i = 0; i < THREADS; i++)
		ck_assert_msg(workers[i].failures == 0, "%d failures, first: %s",
			      workers[i].failures, workers[i].first_failure);
}

START_TEST(test_concurrent_random_reads)
{
	struct worker workers[THREADS];
	unsigned long eof_checks = 0;
	unsigned int i;

	run_workers(reader, workers);
	for (i = 0; i < THREADS; i++) {
		ck_assert_uint_eq(workers[i].reads, READS_PER_THREAD);
		eof_checks += workers[i].eof_checks;
	}
	/* The end-of-file path must actually have been exercised. */
	ck_assert_uint_gt(eof_checks, THREADS);
	/* The shared handle is unharmed. */
	ck_assert_uint_eq(hexz_storage_len(st), SIZE);
}
END_TEST

static void *
opener(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = 0x2545f4914f6cdd1dull * (w->id + 1);
	uint8_t buf[512];
	int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i < OPENS_PER_THREAD; i++) {
		struct hexz_storage *mine = NULL;
		uint64_t offset = next_random(&rng) % (SIZE - sizeof(buf) + 1);
		int err = 0;
		int ret;

		ret = hexz_mmap_open(path, &mine, &err);
		if (ret != HEXZ_OK) {
			record_failure(w, "open failed", 0, 0, ret);
			continue;
		}
		if (hexz_storage_len(mine) != SIZE)
			record_failure(w, "wrong length", 0, 0, 0);
		ret = hexz_storage_read_exact(mine, offset, sizeof(buf), buf);
		if (ret != HEXZ_OK || memcmp(buf, expected + offset, sizeof(buf)) != 0)
			record_failure(w, "read from own handle", offset, sizeof(buf), ret);
		hexz_storage_close(mine);
		w->reads++;
	}
	return NULL;
}

/* Opens, reads and closes of the same file racing with each other. */
START_TEST(test_concurrent_open_close)
{
	struct worker workers[THREADS];
	unsigned int i;

	run_workers(opener, workers);
	for (i = 0; i < THREADS; i++)
		ck_assert_uint_eq(workers[i].reads, OPENS_PER_THREAD);
}
END_TEST

static Suite *
concurrency_suite(void)
{
	Suite *s = suite_create("concurrency");
	TCase *tc = tcase_create("shared_handle");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_concurrent_random_reads);
	tcase_add_test(tc, test_concurrent_open_close);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run_suite(concurrency_suite());
}
