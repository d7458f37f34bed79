/* SPDX-License-Identifier: MIT */
/*
 * The raw view's read leases (fuse/map_cache.h), without a mount: a leased
 * read in flight holds a writer back, so no file can shrink under a read
 * that skipped its size checks. A writer's open waits in the kernel until
 * the break is handled; it is handled (the mapping checked, the lease let
 * go of) only once the leased reads that started before it have ended.
 *
 * The files live on tmpfs (/dev/shm), a filesystem leases are taken on,
 * and are the test's own, which is all a lease needs without CAP_LEASE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lease.h"
#include "map_cache.h"
#include "testutil.h"

#define MIB (1u << 20)

#define DIR_TEMPLATE "/dev/shm/hexzfs-leases-XXXXXX"

static char dir[sizeof(DIR_TEMPLATE)];
static char path[sizeof(dir) + 16];
static struct hexzfs_stats stats;
static struct map_cache *cache;

/* The housekeeper's part: take one lease signal and handle it. */
static void *
breaker(void *arg)
{
	sigset_t set;
	siginfo_t info;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, lease_signal());
	sigaddset(&set, SIGIO);
	if (sigwaitinfo(&set, &info) > 0)
		map_cache_leases_check(cache, info.si_signo == SIGIO ? -1 : info.si_fd);
	return NULL;
}

static void
setup(void)
{
	sigset_t set;

	/* Blocked before any thread exists, as the daemon does. */
	sigemptyset(&set);
	sigaddset(&set, lease_signal());
	sigaddset(&set, SIGIO);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	memcpy(dir, DIR_TEMPLATE, sizeof(dir));
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/snap.hxz", dir);
	cache = map_cache_new(16, &stats);
	ck_assert_ptr_nonnull(cache);
	map_cache_enable_leases(cache);
}

static void
teardown(void)
{
	map_cache_free(cache);
	unlink(path);
	rmdir(dir);
}

/* A mapping of `path` as it is, through the cache. */
static struct snapshot_map *
map_path(void)
{
	struct snapshot_map *map = NULL;
	struct stat st;
	int fd, os_errno;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(map_cache_acquire(cache, fd, &st, &map, &os_errno), HEXZ_OK);
	close(fd);
	return map;
}

/* A mapping of `path` written afresh with `size` bytes. */
static struct snapshot_map *
map_file(uint64_t size)
{
	tu_write_pattern_file(path, size);
	return map_path();
}

/* Whether `fd` becomes readable within `ms` milliseconds. */
static bool
readable_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

START_TEST(test_writer_waits_for_leased_read)
{
	struct snapshot_map *map = map_file(2 * MIB);
	pthread_t thread;
	int token, opened[2], status;
	pid_t writer;
	char byte;

	ck_assert_uint_eq(map_cache_leases(cache), 1);
	token = map_cache_read_begin(cache, map);
	ck_assert_msg(token >= 0, "a read of a leased mapping needs no check");
	ck_assert_int_eq(pthread_create(&thread, NULL, breaker, NULL), 0);

	/* A writer that says when its open returned. */
	ck_assert_int_eq(pipe2(opened, O_CLOEXEC), 0);
	writer = fork();
	ck_assert_int_ge(writer, 0);
	if (writer == 0) {
		int fd = open(path, O_WRONLY);

		_exit(fd >= 0 && write(opened[1], "o", 1) == 1 ? 0 : 1);
	}
	close(opened[1]);

	/* The read is in flight: the writer must still be waiting. */
	ck_assert_msg(!readable_within(opened[0], 300),
		      "the writer's open returned while a leased read was in flight");
	map_cache_read_end(cache, token);
	/* Now the break goes through, long before lease-break-time. */
	ck_assert_msg(readable_within(opened[0], 5000),
		      "the writer's open did not return once the read ended");
	ck_assert_int_eq(read(opened[0], &byte, 1), 1);
	close(opened[0]);
	ck_assert_int_eq(waitpid(writer, &status, 0), writer);
	tu_assert_exited(status, 0);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);

	ck_assert_msg(map_cache_read_begin(cache, map) < 0, "once broken, every read checks");
	ck_assert_uint_eq(map_cache_leases(cache), 0);
	ck_assert_uint_eq(atomic_load(&stats.lease_breaks), 1);
	map_cache_release(cache, map, false);
}
END_TEST

START_TEST(test_truncate_waits_for_leased_read)
{
	struct snapshot_map *map = map_file(2 * MIB);
	pthread_t thread;
	int token, done[2], status;
	pid_t truncator;
	struct stat st;

	token = map_cache_read_begin(cache, map);
	ck_assert_int_ge(token, 0);
	ck_assert_int_eq(pthread_create(&thread, NULL, breaker, NULL), 0);
	ck_assert_int_eq(pipe2(done, O_CLOEXEC), 0);
	truncator = fork();
	ck_assert_int_ge(truncator, 0);
	if (truncator == 0)
		_exit(truncate(path, MIB + 1) == 0 && write(done[1], "t", 1) == 1 ? 0 : 1);
	close(done[1]);

	ck_assert_msg(!readable_within(done[0], 300),
		      "truncate(2) went through while a leased read was in flight");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 2 * MIB);
	map_cache_read_end(cache, token);
	ck_assert_msg(readable_within(done[0], 5000),
		      "truncate(2) did not go through after the read");
	close(done[0]);
	ck_assert_int_eq(waitpid(truncator, &status, 0), truncator);
	tu_assert_exited(status, 0);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	ck_assert_msg(map_cache_read_begin(cache, map) < 0, "a truncated version is checked");
	map_cache_release(cache, map, false);
}
END_TEST

START_TEST(test_not_leased)
{
	struct snapshot_map *map;
	int wfd;

	/* Under 1 MiB: not worth a lease. */
	map = map_file(MIB - 1);
	ck_assert_int_lt(map_cache_read_begin(cache, map), 0);
	map_cache_release(cache, map, false);

	/* Open for writing when mapped: no lease can be had. */
	tu_write_pattern_file(path, 2 * MIB);
	wfd = open(path, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(wfd, 0);
	map = map_path();
	ck_assert_int_lt(map_cache_read_begin(cache, map), 0);
	ck_assert_uint_eq(map_cache_leases(cache), 0);
	map_cache_release(cache, map, false);
	close(wfd);
}
END_TEST

static Suite *
leases_suite(void)
{
	Suite *s = suite_create("map_leases");
	TCase *tc = tcase_create("leases");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_writer_waits_for_leased_read);
	tcase_add_test(tc, test_truncate_waits_for_leased_read);
	tcase_add_test(tc, test_not_leased);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run_suite(leases_suite());
}
