/* SPDX-License-Identifier: MIT */
/*
 * SIGBUS outside a guarded read must behave as if libhexz were not there:
 * the default action kills the process with SIGBUS, and a handler the
 * application installed before libhexz still receives the signal.
 *
 * The handler is installed by the first hexz_mmap_open() of a process and
 * never removed, so each case needs a process that has not opened a
 * snapshot yet. This file therefore never calls libhexz in the test
 * process itself: every case runs in a child forked from a process that
 * has not touched libhexz, whether check forks (CK_FORK=yes) or not.
 * The children report through their exit status, never through check.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hexz/hexz.h>

#include "testutil.h"

#define PAGES 4

/* Exit codes of the children; anything else means the case went wrong. */
enum {
	CHILD_SURVIVED = 0,
	CHILD_SETUP_FAILED = 10,
	CHILD_GUARD_FAILED = 11,
	CHILD_HANDLER_OK = 42,
	CHILD_HANDLER_WRONG_ADDRESS = 43,
	CHILD_PLAIN_HANDLER = 44,
};

static char *tmp;
static char *path;
static size_t page;

/* The address a child is about to touch, for its own handler to compare. */
static volatile uintptr_t expected_addr;

static void
setup(void)
{
	tmp = tu_tmpdir_create();
	path = tu_path(tmp, "snapshot.hxz");
	page = tu_page_size();
	tu_write_pattern_file(path, PAGES * page);
}

static void
teardown(void)
{
	free(path);
	path = NULL;
	tu_tmpdir_remove(tmp);
	tmp = NULL;
}

/*
 * In the child: open the snapshot, borrow all of it, and cut the file to
 * one page, so that pages 1.. of the view are no longer backed.
 */
static const volatile uint8_t *
open_and_shrink(struct hexz_storage **st)
{
	const void *base = NULL;

	if (hexz_mmap_open(path, st, NULL) != HEXZ_OK)
		return NULL;
	if (hexz_storage_view(*st, 0, PAGES * page, &base) != HEXZ_OK)
		return NULL;
	if (truncate(path, (off_t)page) != 0)
		return NULL;
	return base;
}

/* In the child: a guarded read of a vanished page must still say IO. */
static int
guarded_read_fails_cleanly(const struct hexz_storage *st)
{
	uint8_t buf[16];

	return hexz_storage_read_exact(st, 2 * page, sizeof(buf), buf) == HEXZ_ERR_IO;
}

static int
touch_vanished_page(void *arg)
{
	struct hexz_storage *st = NULL;
	const volatile uint8_t *base = open_and_shrink(&st);

	(void)arg;
	if (!base)
		return CHILD_SETUP_FAILED;
	/* Not a guarded read: this must kill us. */
	(void)base[2 * page + 5];
	hexz_storage_close(st);
	return CHILD_SURVIVED;
}

START_TEST(test_unguarded_fault_kills_with_sigbus)
{
	tu_assert_killed_by(tu_run_in_child(touch_vanished_page, NULL), SIGBUS);
}
END_TEST

static int
recover_then_touch(void *arg)
{
	struct hexz_storage *st = NULL;
	const volatile uint8_t *base = open_and_shrink(&st);

	(void)arg;
	if (!base)
		return CHILD_SETUP_FAILED;
	if (!guarded_read_fails_cleanly(st))
		return CHILD_GUARD_FAILED;
	(void)base[3 * page];
	hexz_storage_close(st);
	return CHILD_SURVIVED;
}

/* A recovered fault leaves no state behind that would swallow the next one. */
START_TEST(test_unguarded_fault_after_recovery_kills)
{
	tu_assert_killed_by(tu_run_in_child(recover_then_touch, NULL), SIGBUS);
}
END_TEST

struct shrinker {
	volatile int ready;
	volatile int done;
};

static void *
shrink_when_ready(void *arg)
{
	struct shrinker *sh = arg;

	while (!sh->ready)
		sched_yield();
	if (truncate(path, (off_t)page) == 0)
		sh->done = 1;
	else
		sh->done = -1;
	return NULL;
}

static int
read_then_touch(void *arg)
{
	struct shrinker sh = { 0, 0 };
	struct hexz_storage *st = NULL;
	const void *base = NULL;
	pthread_t thread;
	uint8_t buf[64];

	(void)arg;
	if (hexz_mmap_open(path, &st, NULL) != HEXZ_OK)
		return CHILD_SETUP_FAILED;
	if (hexz_storage_view(st, 0, PAGES * page, &base) != HEXZ_OK)
		return CHILD_SETUP_FAILED;
	if (pthread_create(&thread, NULL, shrink_when_ready, &sh) != 0)
		return CHILD_SETUP_FAILED;
	/* A successful guarded read of the very bytes touched below. */
	if (hexz_storage_read_exact(st, 2 * page, sizeof(buf), buf) != HEXZ_OK)
		return CHILD_GUARD_FAILED;
	/*
	 * Another thread cuts the file while this one only spins, calling
	 * nothing: the stack below us still holds whatever the read left
	 * there, so a guard record it forgot to retire would still match.
	 */
	sh.ready = 1;
	while (!sh.done)
		;
	if (sh.done < 0)
		return CHILD_SETUP_FAILED;
	(void)((const volatile uint8_t *)base)[2 * page + 3];
	hexz_storage_close(st);
	return CHILD_SURVIVED;
}

/* A finished read leaves no guard behind for its range. */
START_TEST(test_unguarded_fault_after_successful_read_kills)
{
	tu_assert_killed_by(tu_run_in_child(read_then_touch, NULL), SIGBUS);
}
END_TEST

static int
read_into_vanished_buffer(void *arg)
{
	struct hexz_storage *st = NULL;
	char *other = arg;
	void *dst;
	int fd;

	if (hexz_mmap_open(path, &st, NULL) != HEXZ_OK)
		return CHILD_SETUP_FAILED;
	/* A writable shared mapping of another file, cut to nothing. */
	fd = open(other, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return CHILD_SETUP_FAILED;
	dst = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (dst == MAP_FAILED || ftruncate(fd, 0) != 0)
		return CHILD_SETUP_FAILED;
	close(fd);
	/*
	 * The snapshot is intact; the fault is on the destination, outside
	 * the guarded source range, so it is not the library's to recover.
	 */
	(void)hexz_storage_read_exact(st, 0, 64, dst);
	hexz_storage_close(st);
	return CHILD_SURVIVED;
}

START_TEST(test_fault_on_destination_is_not_recovered)
{
	char *other = tu_path(tmp, "destination");

	tu_write_pattern_file(other, 2 * page);
	tu_assert_killed_by(tu_run_in_child(read_into_vanished_buffer, other), SIGBUS);
	free(other);
}
END_TEST

struct spinner {
	struct hexz_storage *st;
	volatile int io_reads;
};

static void *
spin_guarded_reads(void *arg)
{
	struct spinner *sp = arg;

	for (;;) {
		if (guarded_read_fails_cleanly(sp->st))
			sp->io_reads++;
	}
	return NULL;
}

static int
touch_while_other_thread_guards(void *arg)
{
	struct spinner sp;
	const volatile uint8_t *base;
	pthread_t thread;

	(void)arg;
	memset(&sp, 0, sizeof(sp));
	base = open_and_shrink(&sp.st);
	if (!base)
		return CHILD_SETUP_FAILED;
	if (pthread_create(&thread, NULL, spin_guarded_reads, &sp) != 0)
		return CHILD_SETUP_FAILED;
	while (sp.io_reads < 100)
		sched_yield();
	/* The same page the other thread is guarding, but not on its thread. */
	(void)base[2 * page + 1];
	return CHILD_SURVIVED;
}

/* The guard belongs to one thread: another thread's fault is not recovered. */
START_TEST(test_guard_is_per_thread)
{
	tu_assert_killed_by(tu_run_in_child(touch_while_other_thread_guards, NULL), SIGBUS);
}
END_TEST

static int
open_then_raise(void *arg)
{
	struct hexz_storage *st = NULL;

	(void)arg;
	if (hexz_mmap_open(path, &st, NULL) != HEXZ_OK)
		return CHILD_SETUP_FAILED;
	/* A SIGBUS sent by a process, not by a fault: default action is death. */
	raise(SIGBUS);
	hexz_storage_close(st);
	return CHILD_SURVIVED;
}

START_TEST(test_sent_sigbus_still_kills)
{
	tu_assert_killed_by(tu_run_in_child(open_then_raise, NULL), SIGBUS);
}
END_TEST

static void
siginfo_handler(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	if (sig == SIGBUS && (uintptr_t)info->si_addr == expected_addr)
		_exit(CHILD_HANDLER_OK);
	_exit(CHILD_HANDLER_WRONG_ADDRESS);
}

static void
plain_handler(int sig)
{
	(void)sig;
	_exit(CHILD_PLAIN_HANDLER);
}

/*
 * Install @how for SIGBUS before libhexz does; the guarded read must still
 * recover without calling it, and the unguarded touch must reach it.
 */
static int
fault_with_disposition(const struct sigaction *how)
{
	struct hexz_storage *st = NULL;
	const volatile uint8_t *base;

	if (sigaction(SIGBUS, how, NULL) != 0)
		return CHILD_SETUP_FAILED;
	base = open_and_shrink(&st);
	if (!base)
		return CHILD_SETUP_FAILED;
	if (!guarded_read_fails_cleanly(st))
		return CHILD_GUARD_FAILED;
	expected_addr = (uintptr_t)&base[2 * page + 7];
	(void)base[2 * page + 7];
	hexz_storage_close(st);
	return CHILD_SURVIVED;
}

static int
fault_with_siginfo_handler(void *arg)
{
	struct sigaction sa;

	(void)arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = siginfo_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return fault_with_disposition(&sa);
}

static int
fault_with_plain_handler(void *arg)
{
	struct sigaction sa;

	(void)arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = plain_handler;
	sigemptyset(&sa.sa_mask);
	return fault_with_disposition(&sa);
}

static int
fault_with_sigbus_ignored(void *arg)
{
	struct sigaction sa;

	(void)arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	return fault_with_disposition(&sa);
}

START_TEST(test_chains_to_siginfo_handler)
{
	tu_assert_exited(tu_run_in_child(fault_with_siginfo_handler, NULL), CHILD_HANDLER_OK);
}
END_TEST

START_TEST(test_chains_to_plain_handler)
{
	tu_assert_exited(tu_run_in_child(fault_with_plain_handler, NULL), CHILD_PLAIN_HANDLER);
}
END_TEST

/* The kernel cannot ignore a fault's SIGBUS: it kills, with or without us. */
START_TEST(test_ignored_sigbus_fault_still_kills)
{
	tu_assert_killed_by(tu_run_in_child(fault_with_sigbus_ignored, NULL), SIGBUS);
}
END_TEST

static Suite *
sigbus_chain_suite(void)
{
	Suite *s = suite_create("sigbus_chain");
	TCase *dfl = tcase_create("default_action");
	TCase *prev = tcase_create("previous_handler");

	tcase_add_checked_fixture(dfl, setup, teardown);
	tcase_add_test(dfl, test_unguarded_fault_kills_with_sigbus);
	tcase_add_test(dfl, test_unguarded_fault_after_recovery_kills);
	tcase_add_test(dfl, test_unguarded_fault_after_successful_read_kills);
	tcase_add_test(dfl, test_fault_on_destination_is_not_recovered);
	tcase_add_test(dfl, test_guard_is_per_thread);
	tcase_add_test(dfl, test_sent_sigbus_still_kills);
	suite_add_tcase(s, dfl);

	tcase_add_checked_fixture(prev, setup, teardown);
	tcase_add_test(prev, test_chains_to_siginfo_handler);
	tcase_add_test(prev, test_chains_to_plain_handler);
	tcase_add_test(prev, test_ignored_sigbus_fault_still_kills);
	suite_add_tcase(s, prev);
	return s;
}

int
main(void)
{
	return tu_run_suite(sigbus_chain_suite());
}
