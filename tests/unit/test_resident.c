/* SPDX-License-Identifier: MIT */
/*
 * The budget of mapped file pages (core/storage/resident.c): the pages a
 * storage's reads map stay within the budget, counted in the mapping's own
 * resident size (/proc/self/smaps), where a storage out of any budget keeps
 * every page it read; one trim per `limit` bytes charged; the touched
 * members only; joins counted, one budget per storage; reads from several
 * threads.
 *
 * Threads started here never call check's assertions (they are not
 * thread-safe): they count failures and the main thread asserts after the
 * join.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hexz/storage.h>

#include "storage/resident.h"
#include "testutil.h"

#define KIB 1024u
#define MIB (1024u * KIB)
#define LIMIT (4u * MIB)
#define FILE_SIZE (24u * MIB)
#define CHUNK (64u * KIB)
#define THREADS 4

/* Resident bytes of the mapping that starts at `start`, from /proc/self/smaps. */
static uint64_t
mapping_rss(const void *start)
{
	char line[512];
	uintptr_t from, to;
	uint64_t kib = 0;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		/* A mapping's first line: "from-to perms ...", in hex. */
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &from, &to) == 2) {
			in = from == (uintptr_t)start;
			continue;
		}
		if (in && sscanf(line, "Rss: %" SCNu64 " kB", &kib) == 1)
			break;
	}
	fclose(f);
	ck_assert_msg(in, "no mapping at %p in /proc/self/smaps", start);
	return kib * 1024;
}

struct fixture {
	char *dir;
	char *path;
	struct hexz_storage *st;
	const void *base;
};

static void
fixture_open(struct fixture *fx, uint64_t size)
{
	int os_errno;

	fx->dir = tu_tmpdir_create();
	fx->path = tu_path(fx->dir, "file");
	tu_write_pattern_file(fx->path, size);
	ck_assert_int_eq(hexz_mmap_open(fx->path, &fx->st, &os_errno), HEXZ_OK);
	ck_assert_int_eq(hexz_storage_view(fx->st, 0, 0, &fx->base), HEXZ_OK);
}

static void
fixture_close(struct fixture *fx)
{
	hexz_storage_close(fx->st);
	free(fx->path);
	tu_tmpdir_remove(fx->dir);
}

/* Read [from, to) in CHUNK copies, checking the bytes. */
static void
read_range(const struct hexz_storage *st, uint64_t from, uint64_t to)
{
	static unsigned char buf[CHUNK];
	uint64_t off;

	for (off = from; off < to; off += CHUNK) {
		ck_assert_int_eq(hexz_storage_read_exact(st, off, CHUNK, buf), HEXZ_OK);
		ck_assert_int_eq(tu_pattern_mismatch(buf, off, CHUNK), -1);
	}
}

START_TEST(test_outside_a_budget_pages_stay)
{
	struct fixture fx;

	/* The control: what the measure sees without a budget. */
	fixture_open(&fx, FILE_SIZE);
	read_range(fx.st, 0, FILE_SIZE);
	ck_assert_uint_ge(mapping_rss(fx.base), FILE_SIZE - MIB);
	fixture_close(&fx);
}
END_TEST

START_TEST(test_budget_bounds_mapped_pages)
{
	struct resident_budget *b = resident_budget_new(LIMIT);
	struct fixture fx;
	uint64_t off, rss, peak = 0;

	ck_assert_ptr_nonnull(b);
	fixture_open(&fx, FILE_SIZE);
	ck_assert(resident_join(b, fx.st));
	for (off = 0; off < FILE_SIZE; off += MIB) {
		read_range(fx.st, off, off + MIB);
		rss = mapping_rss(fx.base);
		if (rss > peak)
			peak = rss;
	}
	/*
	 * Reads of whole, aligned 64 KiB windows charge exactly what they
	 * read: a trim every LIMIT bytes, and never more than LIMIT mapped.
	 */
	ck_assert_uint_eq(resident_budget_trims(b), FILE_SIZE / LIMIT);
	ck_assert_uint_le(peak, LIMIT);
	/* Views are charged too, when they are lent. */
	for (off = 0; off < LIMIT; off += CHUNK) {
		const void *p;

		ck_assert_int_eq(hexz_storage_view(fx.st, off, CHUNK, &p), HEXZ_OK);
	}
	ck_assert_uint_eq(resident_budget_trims(b), FILE_SIZE / LIMIT + 1);
	resident_leave(fx.st);
	/* Out of the budget: reads charge nothing. */
	read_range(fx.st, 0, 2 * LIMIT);
	ck_assert_uint_eq(resident_budget_trims(b), FILE_SIZE / LIMIT + 1);
	fixture_close(&fx);
	resident_budget_free(b);
}
END_TEST

START_TEST(test_small_reads_charge_their_window)
{
	struct resident_budget *b = resident_budget_new(LIMIT);
	struct fixture fx;
	unsigned char two[2];
	uint64_t off;

	/*
	 * A byte read maps its whole 64 KiB window (the kernel's fault
	 * around): it counts as the window, and two bytes astride two
	 * windows count as both.
	 */
	ck_assert_ptr_nonnull(b);
	fixture_open(&fx, FILE_SIZE);
	ck_assert(resident_join(b, fx.st));
	for (off = 0; off < LIMIT - 2 * RESIDENT_WINDOW; off += RESIDENT_WINDOW)
		ck_assert_int_eq(hexz_storage_read_exact(fx.st, off + 7, 1, two), HEXZ_OK);
	ck_assert_uint_eq(resident_budget_trims(b), 0);
	ck_assert_int_eq(hexz_storage_read_exact(fx.st, LIMIT - 1, 2, two), HEXZ_OK);
	ck_assert_uint_eq(resident_budget_trims(b), 1);
	ck_assert_uint_eq(mapping_rss(fx.base), 0);
	resident_leave(fx.st);
	fixture_close(&fx);
	resident_budget_free(b);
}
END_TEST

START_TEST(test_only_touched_members_trimmed)
{
	struct resident_budget *b = resident_budget_new(LIMIT);
	struct fixture one, two;

	ck_assert_ptr_nonnull(b);
	fixture_open(&one, 2 * LIMIT);
	fixture_open(&two, 2 * LIMIT);
	/* Pages `two` maps before it joins are not charged. */
	read_range(two.st, 0, LIMIT / 4);
	ck_assert(resident_join(b, one.st));
	ck_assert(resident_join(b, two.st));
	/* `one` alone reaches the limit: `two`, not read since, is left alone. */
	read_range(one.st, 0, LIMIT);
	ck_assert_uint_eq(resident_budget_trims(b), 1);
	ck_assert_uint_eq(mapping_rss(one.base), 0);
	ck_assert_uint_ge(mapping_rss(two.base), LIMIT / 4);
	/* Half the limit on each: both are trimmed. */
	read_range(two.st, LIMIT, LIMIT + LIMIT / 2);
	read_range(one.st, 0, LIMIT / 2);
	ck_assert_uint_eq(resident_budget_trims(b), 2);
	ck_assert_uint_eq(mapping_rss(one.base), 0);
	ck_assert_uint_eq(mapping_rss(two.base), 0);
	/* A storage that left is neither charged nor trimmed. */
	resident_leave(two.st);
	read_range(two.st, 0, LIMIT / 4);
	read_range(one.st, 0, LIMIT);
	ck_assert_uint_eq(resident_budget_trims(b), 3);
	ck_assert_uint_ge(mapping_rss(two.base), LIMIT / 4);
	resident_leave(one.st);
	fixture_close(&one);
	fixture_close(&two);
	resident_budget_free(b);
}
END_TEST

START_TEST(test_joins_counted)
{
	struct resident_budget *b = resident_budget_new(LIMIT);
	struct resident_budget *other = resident_budget_new(LIMIT);
	struct fixture fx;

	/*
	 * Two archives opened on one storage join it twice: it stays in the
	 * budget until both have left. Another budget cannot take it.
	 */
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(other);
	fixture_open(&fx, 4 * LIMIT);
	ck_assert(resident_join(b, fx.st));
	ck_assert(resident_join(b, fx.st));
	ck_assert(!resident_join(other, fx.st));
	resident_leave(fx.st);
	read_range(fx.st, 0, LIMIT);
	ck_assert_uint_eq(resident_budget_trims(b), 1);
	resident_leave(fx.st);
	read_range(fx.st, 0, LIMIT);
	ck_assert_uint_eq(resident_budget_trims(b), 1);
	/* Out of every budget, it may join another. */
	ck_assert(resident_join(other, fx.st));
	read_range(fx.st, 0, LIMIT);
	ck_assert_uint_eq(resident_budget_trims(other), 1);
	resident_leave(fx.st);
	fixture_close(&fx);
	resident_budget_free(b);
	resident_budget_free(other);
}
END_TEST

struct reader {
	pthread_t thread;
	const struct hexz_storage *st;
	uint64_t size;
	unsigned int seed;
	atomic_uint *bad;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	unsigned char buf[4096];
	unsigned int i;

	for (i = 0; i < 4000; i++) {
		uint64_t off = (uint64_t)(rand_r(&r->seed) % (unsigned int)(r->size / sizeof(buf))) *
			       sizeof(buf);

		if (hexz_storage_read_exact(r->st, off, sizeof(buf), buf) != HEXZ_OK ||
		    tu_pattern_mismatch(buf, off, sizeof(buf)) != -1)
			atomic_fetch_add(r->bad, 1);
	}
	return NULL;
}

START_TEST(test_threads_read_while_trimmed)
{
	struct resident_budget *b = resident_budget_new(LIMIT);
	struct reader readers[THREADS];
	struct fixture fx[2];
	atomic_uint bad = 0;
	size_t t;

	/* Random reads of two storages from several threads, trimmed under them. */
	fixture_open(&fx[0], FILE_SIZE);
	fixture_open(&fx[1], FILE_SIZE / 2);
	ck_assert(resident_join(b, fx[0].st));
	ck_assert(resident_join(b, fx[1].st));
	for (t = 0; t < THREADS; t++) {
		readers[t] = (struct reader){ .st = fx[t % 2].st,
					      .size = t % 2 ? FILE_SIZE / 2 : FILE_SIZE,
					      .seed = (unsigned int)t + 1,
					      .bad = &bad };
		ck_assert_int_eq(pthread_create(&readers[t].thread, NULL, reader_main, &readers[t]),
				 0);
	}
	for (t = 0; t < THREADS; t++)
		pthread_join(readers[t].thread, NULL);
	ck_assert_uint_eq(atomic_load(&bad), 0);
	ck_assert_uint_gt(resident_budget_trims(b), 0);
	ck_assert_uint_le(mapping_rss(fx[0].base) + mapping_rss(fx[1].base),
			  LIMIT + THREADS * 2 * RESIDENT_WINDOW);
	resident_leave(fx[0].st);
	resident_leave(fx[1].st);
	fixture_close(&fx[0]);
	fixture_close(&fx[1]);
	resident_budget_free(b);
}
END_TEST

static Suite *
resident_suite(void)
{
	Suite *s = suite_create("resident");
	TCase *tc = tcase_create("budget");

	tcase_add_test(tc, test_outside_a_budget_pages_stay);
	tcase_add_test(tc, test_budget_bounds_mapped_pages);
	tcase_add_test(tc, test_small_reads_charge_their_window);
	tcase_add_test(tc, test_only_touched_members_trimmed);
	tcase_add_test(tc, test_joins_counted);
	tcase_add_test(tc, test_threads_read_while_trimmed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run_suite(resident_suite());
}
