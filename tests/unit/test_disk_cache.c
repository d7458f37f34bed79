/* SPDX-License-Identifier: MIT */
/*
 * The persistent disk cache of remote chunks (core/storage/disk_cache.c):
 * chunks stored and loaded back, across a close and reopen; ids that
 * differ in any part never meet; a file damaged in any way (a flipped
 * byte, truncated, a wrong length, a wrong header) is deleted and not
 * served; the byte budget with least recently used first out, in one run
 * and across runs (the files' mtimes); temporary files left by a crash
 * cleaned, other files left alone; the directory created 0700, files
 * 0600, a directory others can enter or another user owns refused with
 * a message that names it; and threads storing and loading at once under
 * a budget that keeps evicting only ever see the right bytes.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <hexz/common.h>

#include "storage/disk_cache.h"
#include "testutil.h"

#define LEN 5000u
#define HEADER 48u
#define FILE_BYTES (HEADER + LEN)

static struct disk_chunk_id
id_of(const char *key, uint64_t index)
{
	return (struct disk_chunk_id){
		.object_key = key, .object_size = 1u << 30, .chunk_size = 1u << 20, .index = index
	};
}

/* The bytes of chunk `index` of `key`: differ by both. */
static void
fill(unsigned char *buf, const char *key, uint64_t index)
{
	tu_pattern_fill(buf, index * 7919 + (unsigned char)key[0] * 131, LEN);
}

static struct disk_cache *
open_cache(const char *dir, uint64_t budget)
{
	struct disk_cache *dc = NULL;
	struct hexz_error err = { 0 };

	ck_assert_msg(disk_cache_open(dir, budget, &dc, &err) == HEXZ_OK, "%s", err.message);
	ck_assert_ptr_nonnull(dc);
	return dc;
}

static void
store(struct disk_cache *dc, const char *key, uint64_t index)
{
	unsigned char buf[LEN];
	struct disk_chunk_id id = id_of(key, index);

	fill(buf, key, index);
	disk_cache_store(dc, &id, buf, LEN);
}

/* Whether chunk (key, index) loads; if it does, its bytes must be right. */
static bool
loads(struct disk_cache *dc, const char *key, uint64_t index)
{
	unsigned char got[LEN], want[LEN];
	struct disk_chunk_id id = id_of(key, index);

	if (!disk_cache_load(dc, &id, got, LEN))
		return false;
	fill(want, key, index);
	ck_assert_msg(memcmp(got, want, LEN) == 0, "%s #%llu: wrong bytes", key,
		      (unsigned long long)index);
	return true;
}

/* The names in `dir` (not . and ..), sorted, joined by spaces; caller frees. */
static char *
listing(const char *dir, unsigned int *count)
{
	struct dirent **names;
	char *out = calloc(1, 1);
	int n = scandir(dir, &names, NULL, alphasort);

	ck_assert_int_ge(n, 0);
	*count = 0;
	for (int i = 0; i < n; i++) {
		char *grown = NULL;

		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			ck_assert_int_gt(asprintf(&grown, "%s%s ", out, names[i]->d_name), 0);
			free(out);
			out = grown;
			(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return out;
}

/* The one cache file in `dir` (asserted to be the only one). */
static char *
only_file(const char *dir)
{
	unsigned int count;
	char *names = listing(dir, &count), *path;

	ck_assert_msg(count == 1, "expected one file, found: %s", names);
	names[strlen(names) - 1] = '\0';
	path = tu_path(dir, names);
	free(names);
	return path;
}

START_TEST(test_round_trip)
{
	char *tmp = tu_tmpdir_create(), *dir = tu_path(tmp, "cache"), *file;
	struct disk_cache *dc = open_cache(dir, 1 << 20);
	struct disk_cache_stats s;
	struct disk_chunk_id other;
	unsigned char buf[LEN];
	struct stat sb;

	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0700);
	ck_assert(!loads(dc, "http://a/x.hxz\nIf-Match: \"1\"", 3));
	store(dc, "http://a/x.hxz\nIf-Match: \"1\"", 3);
	ck_assert(loads(dc, "http://a/x.hxz\nIf-Match: \"1\"", 3));
	file = only_file(dir); /* no temporary file left */
	ck_assert_int_eq(stat(file, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);
	ck_assert_uint_eq((uint64_t)sb.st_size, FILE_BYTES);

	/* Every part of the id matters: another version, index, object size or chunk size. */
	ck_assert(!loads(dc, "http://a/x.hxz\nIf-Match: \"2\"", 3));
	ck_assert(!loads(dc, "http://a/x.hxz\nIf-Match: \"1\"", 4));
	other = id_of("http://a/x.hxz\nIf-Match: \"1\"", 3);
	other.object_size++;
	ck_assert(!disk_cache_load(dc, &other, buf, LEN));
	other = id_of("http://a/x.hxz\nIf-Match: \"1\"", 3);
	other.chunk_size <<= 1;
	ck_assert(!disk_cache_load(dc, &other, buf, LEN));
	disk_cache_get_stats(dc, &s);
	ck_assert_uint_eq(s.hits, 1);
	ck_assert_uint_eq(s.stores, 1);
	ck_assert_uint_eq(s.files, 1);
	ck_assert_uint_eq(s.bytes, FILE_BYTES);
	disk_cache_close(dc);

	/* A new instance finds it. */
	dc = open_cache(dir, 1 << 20);
	disk_cache_get_stats(dc, &s);
	ck_assert_uint_eq(s.files, 1);
	ck_assert_uint_eq(s.bytes, FILE_BYTES);
	ck_assert(loads(dc, "http://a/x.hxz\nIf-Match: \"1\"", 3));
	/* Asked for another length (never for one id, but a file must match the ask): it goes. */
	other = id_of("http://a/x.hxz\nIf-Match: \"1\"", 3);
	ck_assert(!disk_cache_load(dc, &other, buf, LEN - 1));
	ck_assert_int_eq(access(file, F_OK), -1);
	disk_cache_get_stats(dc, &s);
	ck_assert_uint_eq(s.damaged, 1);
	ck_assert_uint_eq(s.files, 0);
	ck_assert_uint_eq(s.bytes, 0);
	disk_cache_close(dc);
	free(file);
	free(dir);
	tu_tmpdir_remove(tmp);
}
END_TEST

/* Damage the only file of `dir` by `how`, then it must not load, and must be gone. */
static void
damaged_is_refused(const char *dir, int how)
{
	struct disk_cache *dc = open_cache(dir, 1 << 20);
	struct disk_cache_stats s;
	char *file;
	int fd;

	store(dc, "k", 1);
	file = only_file(dir);
	fd = open(file, O_RDWR);
	ck_assert_int_ge(fd, 0);
	switch (how) {
	case 0: /* one data byte flipped */
	case 1: /* one digest byte flipped */
	case 2: /* the magic */ {
		off_t at = how == 0 ? HEADER + LEN / 2 : how == 1 ? 20 : 0;
		unsigned char b;

		ck_assert_int_eq(pread(fd, &b, 1, at), 1);
		b ^= 0x40;
		ck_assert_int_eq(pwrite(fd, &b, 1, at), 1);
		break;
	}
	case 3: /* truncated: a crash of a filesystem that kept the rename, not the data */
		ck_assert_int_eq(ftruncate(fd, HEADER + LEN / 3), 0);
		break;
	case 4: /* an empty file */
		ck_assert_int_eq(ftruncate(fd, 0), 0);
		break;
	case 5: { /* the header's length says less, the file has more */
		unsigned char len8[8] = { (unsigned char)(LEN - 1),
					  (unsigned char)((LEN - 1) >> 8) };

		ck_assert_int_eq(pwrite(fd, len8, 8, 8), 8);
		break;
	}
	default: /* a byte appended */
		ck_assert_int_eq(pwrite(fd, "x", 1, FILE_BYTES), 1);
		break;
	}
	close(fd);
	ck_assert_msg(!loads(dc, "k", 1), "damage %d: served", how);
	ck_assert_msg(access(file, F_OK) == -1 && errno == ENOENT, "damage %d: file kept", how);
	disk_cache_get_stats(dc, &s);
	ck_assert_uint_eq(s.damaged, 1);
	ck_assert_uint_eq(s.files, 0);
	/* Stored again, it serves again. */
	store(dc, "k", 1);
	ck_assert(loads(dc, "k", 1));
	disk_cache_close(dc);
	unlink(file);
	free(file);
}

START_TEST(test_damaged_files)
{
	char *dir = tu_tmpdir_create();

	ck_assert_int_eq(chmod(dir, 0700), 0);
	for (int how = 0; how <= 6; how++)
		damaged_is_refused(dir, how);
	tu_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_budget_lru)
{
	char *dir = tu_tmpdir_create();
	struct disk_cache *dc;
	struct disk_cache_stats s;
	unsigned int count;
	char *names;

	ck_assert_int_eq(chmod(dir, 0700), 0);
	dc = open_cache(dir, 3 * FILE_BYTES);
	store(dc, "k", 0);
	store(dc, "k", 1);
	store(dc, "k", 2);
	ck_assert(loads(dc, "k", 0)); /* 0 is now the most recently used */
	store(dc, "k", 3);	      /* 1, the least recently used, goes */
	disk_cache_get_stats(dc, &s);
	ck_assert_uint_eq(s.files, 3);
	ck_assert_uint_le(s.bytes, 3 * FILE_BYTES);
	ck_assert_uint_eq(s.evictions, 1);
	names = listing(dir, &count);
	ck_assert_msg(count == 3, "%s", names);
	free(names);
	ck_assert(!loads(dc, "k", 1));
	ck_assert(loads(dc, "k", 2));
	ck_assert(loads(dc, "k", 3));
	ck_assert(loads(dc, "k", 0));
	/* A chunk larger than the whole budget is not kept, and evicts nothing. */
	disk_cache_close(dc);
	dc = open_cache(dir, FILE_BYTES - 1);
	disk_cache_get_stats(dc, &s);
	ck_assert_uint_eq(s.files, 0); /* the smaller budget applied at open */
	ck_assert_uint_eq(s.evictions, 3);
	store(dc, "k", 9);
	names = listing(dir, &count);
	ck_assert_msg(count == 0, "%s", names);
	free(names);
	disk_cache_close(dc);
	tu_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_lru_across_runs)
{
	char *dir = tu_tmpdir_create();
	struct disk_cache *dc;
	struct disk_cache_stats s;
	unsigned int count;
	char *before, *after;

	ck_assert_int_eq(chmod(dir, 0700), 0);
	dc = open_cache(dir, 1 << 20);
	store(dc, "k", 0);
	store(dc, "k", 1);
	store(dc, "k", 2);
	disk_cache_close(dc);
	/* Make every file old, then use 0 and 2 in a later run: their mtimes move. */
	before = listing(dir, &count);
	ck_assert_uint_eq(count, 3);
	for (char *name = strtok(before, " "); name; name = strtok(NULL, " ")) {
		struct timespec old[2] = { { time(NULL) - 1000, 0 }, { time(NULL) - 1000, 0 } };
		int dfd = open(dir, O_RDONLY | O_DIRECTORY);

		ck_assert_int_eq(utimensat(dfd, name, old, 0), 0);
		close(dfd);
	}
	free(before);
	dc = open_cache(dir, 1 << 20);
	ck_assert(loads(dc, "k", 0));
	ck_assert(loads(dc, "k", 2));
	disk_cache_close(dc);
	/* Room for two: the run that opens evicts 1, used longest ago. */
	dc = open_cache(dir, 2 * FILE_BYTES);
	disk_cache_get_stats(dc, &s);
	ck_assert_uint_eq(s.files, 2);
	ck_assert_uint_eq(s.evictions, 1);
	ck_assert(!loads(dc, "k", 1));
	ck_assert(loads(dc, "k", 0));
	ck_assert(loads(dc, "k", 2));
	disk_cache_close(dc);
	after = listing(dir, &count);
	ck_assert_msg(count == 2, "%s", after);
	free(after);
	tu_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_leftovers)
{
	char *dir = tu_tmpdir_create(), *stale = tu_path(dir, ".tmp-1-1"),
	     *fresh = tu_path(dir, ".tmp-2-2"), *other = tu_path(dir, "README"),
	     *lower = tu_path(dir, "ab"), *names;
	struct timespec old[2] = { { time(NULL) - 7200, 0 }, { time(NULL) - 7200, 0 } };
	struct disk_cache *dc;
	struct disk_cache_stats s;
	unsigned int count;

	ck_assert_int_eq(chmod(dir, 0700), 0);
	tu_write_file(stale, "half a chunk", 12);
	ck_assert_int_eq(utimensat(AT_FDCWD, stale, old, 0), 0);
	tu_write_file(fresh, "being written", 13);
	tu_write_file(other, "not ours", 8);
	tu_write_file(lower, "not ours either", 15);
	dc = open_cache(dir, 1 << 20);
	disk_cache_get_stats(dc, &s);
	ck_assert_uint_eq(s.files, 0);
	disk_cache_close(dc);
	/* The crash's leftover went; a writer's file of now and files not ours stay. */
	names = listing(dir, &count);
	ck_assert_str_eq(names, ".tmp-2-2 README ab ");
	free(names);
	free(stale);
	free(fresh);
	free(other);
	free(lower);
	tu_tmpdir_remove(dir);
}
END_TEST

/* disk_cache_open(dir) fails with `code` and a message holding `words`. */
static void
refused(const char *dir, int code, const char *words)
{
	struct disk_cache *dc = (struct disk_cache *)&dc;
	struct hexz_error err = { 0 };
	int ret = disk_cache_open(dir, 1 << 20, &dc, &err);

	ck_assert_msg(ret == code, "%s: %d (%s), expected %d", dir, ret, err.message, code);
	ck_assert_ptr_null(dc);
	ck_assert_msg(strstr(err.message, dir) && strstr(err.message, words),
		      "%s: message '%s' lacks '%s'", dir, err.message, words);
}

START_TEST(test_directory_checks)
{
	char *tmp = tu_tmpdir_create(), *open_dir = tu_path(tmp, "open"),
	     *file = tu_path(tmp, "file"), *orphan = tu_path(tmp, "no/such"),
	     *theirs = tu_path(tmp, "theirs");
	int fds = tu_count_fds();
	struct disk_cache *dc;
	struct statvfs vfs;
	struct disk_cache_stats s;

	ck_assert_int_eq(mkdir(open_dir, 0700), 0);
	ck_assert_int_eq(chmod(open_dir, 0755), 0);
	refused(open_dir, HEXZ_ERR_INVALID_ARGUMENT, "chmod 700");
	ck_assert_int_eq(chmod(open_dir, 0710), 0);
	refused(open_dir, HEXZ_ERR_INVALID_ARGUMENT, "mode 0710");
	tu_write_file(file, "x", 1);
	refused(file, HEXZ_ERR_INVALID_ARGUMENT, "not a directory");
	refused(orphan, HEXZ_ERR_NOT_FOUND, "cannot create");
	if (geteuid() == 0) {
		/* As root (CI): a directory of another user is refused, though root could use it.
		 */
		ck_assert_int_eq(mkdir(theirs, 0700), 0);
		ck_assert_int_eq(chown(theirs, 65534, 65534), 0);
		refused(theirs, HEXZ_ERR_INVALID_ARGUMENT, "owned by uid 65534");
	}
	ck_assert_int_eq(tu_count_fds(), fds);

	/* Budget 0: a tenth of the free space. */
	ck_assert_int_eq(chmod(open_dir, 0700), 0);
	dc = open_cache(open_dir, 0);
	disk_cache_get_stats(dc, &s);
	ck_assert_int_eq(statvfs(open_dir, &vfs), 0);
	ck_assert_uint_gt(s.budget, 0);
	ck_assert_uint_le(s.budget, (uint64_t)vfs.f_blocks * vfs.f_frsize / 10);
	disk_cache_close(dc);
	ck_assert_int_eq(tu_count_fds(), fds);
	free(open_dir);
	free(file);
	free(orphan);
	free(theirs);
	tu_tmpdir_remove(tmp);
}
END_TEST

#define THREADS 4
#define ROUNDS 400

struct worker {
	struct disk_cache *dc;
	unsigned int seed;
	unsigned int hits;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t index = (uint64_t)(rand_r(&w->seed) % 12);

		if (rand_r(&w->seed) % 2)
			store(w->dc, "shared", index);
		else if (loads(w->dc, "shared", index))
			w->hits++;
	}
	return NULL;
}

/* Stores and loads of the same chunks from several threads, the budget evicting all along. */
START_TEST(test_concurrent)
{
	char *dir = tu_tmpdir_create();
	struct disk_cache *dc;
	struct disk_cache_stats s;
	struct worker w[THREADS];
	pthread_t tid[THREADS];
	unsigned int hits = 0, count;
	char *names;

	ck_assert_int_eq(chmod(dir, 0700), 0);
	dc = open_cache(dir, 5 * FILE_BYTES);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .dc = dc, .seed = 17u * (unsigned int)i + 1 };
		ck_assert_int_eq(pthread_create(&tid[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		hits += w[i].hits;
	}
	disk_cache_get_stats(dc, &s);
	ck_assert_uint_gt(hits, 0);
	ck_assert_uint_gt(s.evictions, 0);
	ck_assert_uint_eq(s.damaged, 0);
	ck_assert_uint_le(s.bytes, 5 * FILE_BYTES);
	disk_cache_close(dc);
	/* What is on disk is what the index counted: no temporary file, nothing over budget. */
	names = listing(dir, &count);
	ck_assert_msg(count == s.files && !strstr(names, ".tmp-"), "%llu files counted: %s",
		      (unsigned long long)s.files, names);
	free(names);
	tu_tmpdir_remove(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("disk_cache");
	TCase *tc = tcase_create("disk_cache");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_damaged_files);
	tcase_add_test(tc, test_budget_lru);
	tcase_add_test(tc, test_lru_across_runs);
	tcase_add_test(tc, test_leftovers);
	tcase_add_test(tc, test_directory_checks);
	tcase_add_test(tc, test_concurrent);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
