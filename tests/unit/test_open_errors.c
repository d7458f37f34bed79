/* SPDX-License-Identifier: MIT */
/*
 * hexz_mmap_open() and hexz_mmap_open_fd(): every documented way to fail,
 * provoked with real files, and the promises about the out-parameters
 * (*out is NULL after a failure, *os_errno says why or is 0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <hexz/hexz.h>

#include "testutil.h"

/* Garbage the library must overwrite, so a forgotten assignment shows. */
#define ERRNO_UNSET (-12345)

static char *tmp;
/* Any non-NULL address: *out must be reset to NULL on failure. */
static char not_a_handle;

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

static struct hexz_storage *
bogus_handle(void)
{
	return (struct hexz_storage *)(void *)&not_a_handle;
}

static void
expect_open_fails(const char *path, int want, int want_errno)
{
	struct hexz_storage *st = bogus_handle();
	int err = ERRNO_UNSET;
	int ret;

	ret = hexz_mmap_open(path, &st, &err);
	ck_assert_msg(ret == want, "open %s: got %d (%s), want %d (%s)", path, ret,
		      hexz_strerror(ret), want, hexz_strerror(want));
	ck_assert_msg(err == want_errno, "open %s: os_errno %d (%s), want %d (%s)", path, err,
		      strerror(err), want_errno, strerror(want_errno));
	ck_assert_ptr_null(st);
}

static void
expect_open_fd_fails(int fd, int want, int want_errno)
{
	struct hexz_storage *st = bogus_handle();
	int err = ERRNO_UNSET;
	int ret;

	ret = hexz_mmap_open_fd(fd, &st, &err);
	ck_assert_msg(ret == want, "open_fd %d: got %d (%s), want %d (%s)", fd, ret,
		      hexz_strerror(ret), want, hexz_strerror(want));
	ck_assert_msg(err == want_errno, "open_fd %d: os_errno %d (%s), want %d (%s)", fd, err,
		      strerror(err), want_errno, strerror(want_errno));
	ck_assert_ptr_null(st);
}

/* A regular file with some content, so that a mapping is really made. */
static char *
make_regular(const char *name)
{
	char *p = tu_path(tmp, name);

	tu_write_pattern_file(p, 3 * tu_page_size() + 5);
	return p;
}

START_TEST(test_missing_path)
{
	char *p = tu_path(tmp, "does-not-exist.hxz");

	expect_open_fails(p, HEXZ_ERR_NOT_FOUND, ENOENT);
	free(p);
}
END_TEST

START_TEST(test_missing_directory_on_the_way)
{
	char *p = tu_path(tmp, "no-such-dir/file.hxz");

	expect_open_fails(p, HEXZ_ERR_NOT_FOUND, ENOENT);
	free(p);
}
END_TEST

START_TEST(test_path_through_regular_file)
{
	char *file = make_regular("plain");
	char *p = tu_path(file, "child.hxz");

	expect_open_fails(p, HEXZ_ERR_NOT_FOUND, ENOTDIR);
	free(p);
	free(file);
}
END_TEST

START_TEST(test_dangling_symlink)
{
	char *link = tu_path(tmp, "dangling");

	ck_assert_int_eq(symlink("nowhere", link), 0);
	expect_open_fails(link, HEXZ_ERR_NOT_FOUND, ENOENT);
	free(link);
}
END_TEST

START_TEST(test_symlink_loop)
{
	char *a = tu_path(tmp, "loop-a");
	char *b = tu_path(tmp, "loop-b");

	ck_assert_int_eq(symlink("loop-b", a), 0);
	ck_assert_int_eq(symlink("loop-a", b), 0);
	expect_open_fails(a, HEXZ_ERR_SYSTEM, ELOOP);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_name_too_long)
{
	char name[NAME_MAX + 2];
	char *p;

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	p = tu_path(tmp, name);
	expect_open_fails(p, HEXZ_ERR_SYSTEM, ENAMETOOLONG);
	free(p);
}
END_TEST

START_TEST(test_directory)
{
	expect_open_fails(tmp, HEXZ_ERR_NOT_REGULAR, 0);
}
END_TEST

/*
 * A FIFO without a writer: a plain open(O_RDONLY) would wait forever. The
 * tcase has a check timeout, but that only exists when check forks, so an
 * alarm also ends the process if the open hangs under CK_FORK=no. check
 * handles SIGALRM itself by killing its process group, so the default
 * action is restored for the duration: a hang then kills this process
 * alone, with SIGALRM.
 */
START_TEST(test_fifo_refused_without_blocking)
{
	struct sigaction dfl, saved;
	char *p = tu_path(tmp, "fifo");
	double start;

	ck_assert_int_eq(mkfifo(p, 0644), 0);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &dfl, &saved), 0);
	alarm(20);
	start = tu_now();
	expect_open_fails(p, HEXZ_ERR_NOT_REGULAR, 0);
	ck_assert_double_lt(tu_now() - start, 2.0);
	alarm(0);
	ck_assert_int_eq(sigaction(SIGALRM, &saved, NULL), 0);
	free(p);
}
END_TEST

/*
 * The type check before open(2) cannot see a FIFO swapped in after it; the
 * open must then not wait for a writer either (O_NONBLOCK), and the check
 * on the descriptor refuses it. A thread exchanges a FIFO and a regular
 * file under one name while the child keeps opening that name; a blocking
 * open would hang the child until its SIGALRM. The race runs for a number
 * of opens, and on until both kinds of file were met. Under valgrind every
 * mapping costs a millisecond of debug-info probing and the threads take
 * turns, so time limits it too: a few seconds once both kinds were met,
 * and a hard limit well inside the child's deadline.
 */
#define SWAP_RACE_OPENS 20000
#define SWAP_RACE_ENOUGH_SECONDS 3.0
#define SWAP_RACE_MAX_SECONDS 10.0

struct swap_race {
	const char *path;
	const char *other;
	int opened;
	int refused;
	int wrong;
};

static void *
keep_swapping(void *arg)
{
	struct swap_race *race = arg;

	/*
	 * A yield after each swap: under valgrind, which runs one thread at a
	 * time, slices of equal length would each swap the same number of
	 * times, and an even number leaves the opener seeing one kind only
	 * (a valgrind run once refused 619,612 opens and opened none).
	 */
	for (;;) {
		renameat2(AT_FDCWD, race->path, AT_FDCWD, race->other, RENAME_EXCHANGE);
		sched_yield();
	}
	return NULL;
}

static int
open_while_swapping(void *arg)
{
	struct swap_race *race = arg;
	double start = tu_now();
	pthread_t swapper;
	int i;

	if (pthread_create(&swapper, NULL, keep_swapping, race) != 0)
		return 2;
	for (i = 0; i < SWAP_RACE_OPENS || !race->opened || !race->refused; i++) {
		struct hexz_storage *st = NULL;
		int ret = hexz_mmap_open(race->path, &st, NULL);
		double elapsed;

		if (ret == HEXZ_OK)
			race->opened++;
		else if (ret == HEXZ_ERR_NOT_REGULAR)
			race->refused++;
		else
			race->wrong++;
		hexz_storage_close(st);
		elapsed = tu_now() - start;
		if (elapsed > SWAP_RACE_MAX_SECONDS ||
		    (elapsed > SWAP_RACE_ENOUGH_SECONDS && race->opened && race->refused))
			break;
	}
	/* Exiting ends the swapper too. */
	return 0;
}

START_TEST(test_fifo_swapped_in_after_check)
{
	struct swap_race *race = tu_shared_alloc(sizeof(*race));
	char *p = make_regular("swapped");
	char *fifo = tu_path(tmp, "fifo");

	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	race->path = p;
	race->other = fifo;
	tu_assert_exited(tu_run_in_child(open_while_swapping, race), 0);
	ck_assert_int_eq(race->wrong, 0);
	/* Both kinds of file were met, or the race was not run at all. */
	ck_assert_msg(race->opened > 0 && race->refused > 0, "opened %d, refused %d", race->opened,
		      race->refused);
	free(fifo);
	free(p);
	tu_shared_free(race, sizeof(*race));
}
END_TEST

START_TEST(test_fifo_fd)
{
	char *p = tu_path(tmp, "fifo");
	int fd;

	ck_assert_int_eq(mkfifo(p, 0644), 0);
	fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	expect_open_fd_fails(fd, HEXZ_ERR_NOT_REGULAR, 0);
	close(fd);
	free(p);
}
END_TEST

START_TEST(test_dev_null)
{
	char *link = tu_path(tmp, "null-link");

	expect_open_fails("/dev/null", HEXZ_ERR_NOT_REGULAR, 0);
	/* Symlinks are followed, so a link to a device is a device. */
	ck_assert_int_eq(symlink("/dev/null", link), 0);
	expect_open_fails(link, HEXZ_ERR_NOT_REGULAR, 0);
	free(link);
}
END_TEST

START_TEST(test_dev_null_fd)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	expect_open_fd_fails(fd, HEXZ_ERR_NOT_REGULAR, 0);
	close(fd);
}
END_TEST

START_TEST(test_socket)
{
	struct sockaddr_un sa;
	char *p = tu_path(tmp, "sock");
	int s;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(p), sizeof(sa.sun_path));
	strcpy(sa.sun_path, p);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);

	expect_open_fails(p, HEXZ_ERR_NOT_REGULAR, 0);
	expect_open_fd_fails(s, HEXZ_ERR_NOT_REGULAR, 0);
	close(s);
	free(p);
}
END_TEST

START_TEST(test_pipe_fd)
{
	int fds[2];

	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	expect_open_fd_fails(fds[0], HEXZ_ERR_NOT_REGULAR, 0);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_directory_fd)
{
	int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	expect_open_fd_fails(fd, HEXZ_ERR_NOT_REGULAR, 0);
	close(fd);
}
END_TEST

/*
 * Permission is only meaningful for a user without CAP_DAC_OVERRIDE. As
 * root, a forked child becomes nobody and opens the files there; the
 * results come back through shared memory. The readable control file
 * proves the child could reach the directory at all, so a failure to set
 * the test up cannot pass for a permission error.
 */
enum { PROBE_READABLE, PROBE_UNREADABLE, PROBE_BEHIND_DIR, PROBE_COUNT };

struct perm_probe {
	const char *path[PROBE_COUNT];
	int ret[PROBE_COUNT];
	int err[PROBE_COUNT];
};

static void
probe_opens(struct perm_probe *pp)
{
	int i;

	for (i = 0; i < PROBE_COUNT; i++) {
		struct hexz_storage *st = NULL;

		pp->err[i] = ERRNO_UNSET;
		pp->ret[i] = hexz_mmap_open(pp->path[i], &st, &pp->err[i]);
		hexz_storage_close(st);
	}
}

static int
probe_as_nobody(void *arg)
{
	if (tu_become_nobody() != 0)
		return 2;
	probe_opens(arg);
	return 0;
}

START_TEST(test_permission_denied)
{
	struct perm_probe *pp = tu_shared_alloc(sizeof(*pp));
	char *readable = make_regular("readable");
	char *unreadable = make_regular("unreadable");
	char *locked = tu_path(tmp, "locked");
	char *behind = tu_path(locked, "inside");

	ck_assert_int_eq(mkdir(locked, 0755), 0);
	tu_write_pattern_file(behind, 100);
	ck_assert_int_eq(chmod(unreadable, 0), 0);
	ck_assert_int_eq(chmod(locked, 0), 0);
	pp->path[PROBE_READABLE] = readable;
	pp->path[PROBE_UNREADABLE] = unreadable;
	pp->path[PROBE_BEHIND_DIR] = behind;

	if (geteuid() == 0)
		tu_assert_exited(tu_run_in_child(probe_as_nobody, pp), 0);
	else
		probe_opens(pp);
	/* Restore first, so teardown can remove the tree even if we fail. */
	ck_assert_int_eq(chmod(locked, 0755), 0);

	ck_assert_msg(pp->ret[PROBE_READABLE] == HEXZ_OK,
		      "control file not readable as nobody: %d (%s), errno %d", pp->ret[0],
		      hexz_strerror(pp->ret[0]), pp->err[0]);
	ck_assert_int_eq(pp->err[PROBE_READABLE], 0);
	ck_assert_int_eq(pp->ret[PROBE_UNREADABLE], HEXZ_ERR_PERMISSION);
	ck_assert_int_eq(pp->err[PROBE_UNREADABLE], EACCES);
	ck_assert_int_eq(pp->ret[PROBE_BEHIND_DIR], HEXZ_ERR_PERMISSION);
	ck_assert_int_eq(pp->err[PROBE_BEHIND_DIR], EACCES);

	free(behind);
	free(locked);
	free(unreadable);
	free(readable);
	tu_shared_free(pp, sizeof(*pp));
}
END_TEST

/* mmap(PROT_READ) of a descriptor that is not open for reading: EACCES. */
START_TEST(test_write_only_fd)
{
	char *p = make_regular("wronly");
	int fd = open(p, O_WRONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	expect_open_fd_fails(fd, HEXZ_ERR_PERMISSION, EACCES);
	close(fd);
	free(p);
}
END_TEST

/*
 * The contract does not depend on the size: a descriptor not open for
 * reading is refused even when the file is empty and no mapping is made.
 */
START_TEST(test_write_only_fd_empty_file)
{
	char *p = tu_path(tmp, "wronly-empty");
	int fd;

	tu_write_file(p, "", 0);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	expect_open_fd_fails(fd, HEXZ_ERR_PERMISSION, EACCES);
	close(fd);
	free(p);
}
END_TEST

START_TEST(test_negative_fd)
{
	expect_open_fd_fails(-1, HEXZ_ERR_INVALID_ARGUMENT, 0);
	expect_open_fd_fails(INT_MIN, HEXZ_ERR_INVALID_ARGUMENT, 0);
}
END_TEST

START_TEST(test_closed_fd)
{
	int fd = dup(STDIN_FILENO);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(close(fd), 0);
	expect_open_fd_fails(fd, HEXZ_ERR_SYSTEM, EBADF);
}
END_TEST

START_TEST(test_null_arguments)
{
	char *p = make_regular("file");
	struct hexz_storage *st = bogus_handle();
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	int err = ERRNO_UNSET;

	expect_open_fails(NULL, HEXZ_ERR_INVALID_ARGUMENT, 0);
	expect_open_fails("", HEXZ_ERR_INVALID_ARGUMENT, 0);
	ck_assert_int_eq(hexz_mmap_open(p, NULL, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(err, 0);
	/* NULL path and NULL os_errno together: still a clean refusal. */
	ck_assert_int_eq(hexz_mmap_open(NULL, &st, NULL), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(st);

	ck_assert_int_ge(fd, 0);
	err = ERRNO_UNSET;
	ck_assert_int_eq(hexz_mmap_open_fd(fd, NULL, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(err, 0);
	close(fd);
	free(p);
}
END_TEST

/* os_errno is optional on every path, success and failure alike. */
START_TEST(test_os_errno_optional)
{
	char *p = make_regular("file");
	char *missing = tu_path(tmp, "missing");
	struct hexz_storage *st = bogus_handle();
	int fd;

	ck_assert_int_eq(hexz_mmap_open(missing, &st, NULL), HEXZ_ERR_NOT_FOUND);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(hexz_mmap_open(p, &st, NULL), HEXZ_OK);
	ck_assert_ptr_nonnull(st);
	hexz_storage_close(st);

	fd = open(p, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(hexz_mmap_open_fd(fd, &st, NULL), HEXZ_OK);
	hexz_storage_close(st);
	ck_assert_int_eq(hexz_mmap_open_fd(-1, &st, NULL), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(st);
	close(fd);
	free(missing);
	free(p);
}
END_TEST

/* Success overwrites whatever the caller left in *os_errno with 0. */
START_TEST(test_success_clears_os_errno)
{
	char *p = make_regular("file");
	struct hexz_storage *st = NULL;
	int err = ERRNO_UNSET;
	int fd;

	ck_assert_int_eq(hexz_mmap_open(p, &st, &err), HEXZ_OK);
	ck_assert_int_eq(err, 0);
	ck_assert_uint_eq(hexz_storage_len(st), 3 * tu_page_size() + 5);
	hexz_storage_close(st);

	fd = open(p, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	err = ERRNO_UNSET;
	st = NULL;
	ck_assert_int_eq(hexz_mmap_open_fd(fd, &st, &err), HEXZ_OK);
	ck_assert_int_eq(err, 0);
	ck_assert_uint_eq(hexz_storage_len(st), 3 * tu_page_size() + 5);
	hexz_storage_close(st);
	close(fd);
	free(p);
}
END_TEST

START_TEST(test_symlink_to_regular_file_is_followed)
{
	char *p = make_regular("target");
	char *link = tu_path(tmp, "link");
	struct hexz_storage *st = NULL;
	uint8_t buf[16];

	ck_assert_int_eq(symlink("target", link), 0);
	ck_assert_int_eq(hexz_mmap_open(link, &st, NULL), HEXZ_OK);
	ck_assert_uint_eq(hexz_storage_len(st), 3 * tu_page_size() + 5);
	ck_assert_int_eq(hexz_storage_read_exact(st, 100, sizeof(buf), buf), HEXZ_OK);
	ck_assert_int_eq(tu_pattern_mismatch(buf, 100, sizeof(buf)), -1);
	hexz_storage_close(st);
	free(link);
	free(p);
}
END_TEST

/* The descriptor is borrowed: still open afterwards, and not needed later. */
START_TEST(test_fd_not_consumed)
{
	char *p = make_regular("file");
	struct hexz_storage *st = NULL;
	uint8_t buf[64];
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(hexz_mmap_open_fd(fd, &st, NULL), HEXZ_OK);
	ck_assert_int_ne(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(hexz_storage_read_exact(st, 3 * tu_page_size() - 60, sizeof(buf), buf),
			 HEXZ_OK);
	ck_assert_int_eq(tu_pattern_mismatch(buf, 3 * tu_page_size() - 60, sizeof(buf)), -1);
	hexz_storage_close(st);
	free(p);
}
END_TEST

/*
 * EMFILE is one of the "any other failure" cases: HEXZ_ERR_SYSTEM with the
 * errno reported. The child lowers its descriptor limit and fills the table.
 */
struct os_probe {
	const char *path;
	int ret;
	int err;
	/* Descriptors open after the failed call minus those before it. */
	int fds_leaked;
};

static int
open_without_fds(void *arg)
{
	struct os_probe *probe = arg;
	struct hexz_storage *st = NULL;
	struct rlimit rl;
	int i;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 2;
	rl.rlim_cur = 64;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 2;
	/* At most 64 descriptors: the loop ends on EMFILE well before i == 64. */
	for (i = 0; i < 64; i++) {
		if (dup(STDIN_FILENO) < 0)
			break;
	}
	if (i == 64 || errno != EMFILE)
		return 3;
	probe->ret = hexz_mmap_open(probe->path, &st, &probe->err);
	hexz_storage_close(st);
	return 0;
}

START_TEST(test_too_many_open_files)
{
	struct os_probe *probe = tu_shared_alloc(sizeof(*probe));
	char *p = make_regular("file");

	probe->path = p;
	tu_assert_exited(tu_run_in_child(open_without_fds, probe), 0);
	ck_assert_int_eq(probe->ret, HEXZ_ERR_SYSTEM);
	ck_assert_int_eq(probe->err, EMFILE);
	free(p);
	tu_shared_free(probe, sizeof(*probe));
}
END_TEST

/*
 * No address space for the mapping: HEXZ_ERR_NO_MEMORY with ENOMEM. The
 * child caps its address space a little above what it already uses and
 * maps a sparse file far larger than the headroom.
 */
static int
open_without_address_space(void *arg)
{
	struct os_probe *probe = arg;
	struct hexz_storage *st = NULL;
	unsigned long pages = 0;
	struct rlimit rl;
	FILE *f;

	f = fopen("/proc/self/statm", "re");
	if (!f)
		return 2;
	if (fscanf(f, "%lu", &pages) != 1)
		pages = 0;
	fclose(f);
	if (pages == 0)
		return 2;
	rl.rlim_cur = pages * (unsigned long)sysconf(_SC_PAGESIZE) + (64ul << 20);
	rl.rlim_max = RLIM_INFINITY;
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		return 2;
	/* This failure comes after open(2): the descriptor must be closed. */
	probe->fds_leaked = -tu_count_fds();
	probe->ret = hexz_mmap_open(probe->path, &st, &probe->err);
	probe->fds_leaked += tu_count_fds();
	hexz_storage_close(st);
	return 0;
}

START_TEST(test_no_address_space)
{
	struct os_probe *probe = tu_shared_alloc(sizeof(*probe));
	char *p = tu_path(tmp, "big-sparse");
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)4 << 30), 0);
	close(fd);
	probe->path = p;
	tu_assert_exited(tu_run_in_child(open_without_address_space, probe), 0);
	ck_assert_int_eq(probe->ret, HEXZ_ERR_NO_MEMORY);
	ck_assert_int_eq(probe->err, ENOMEM);
	ck_assert_int_eq(probe->fds_leaked, 0);
	free(p);
	tu_shared_free(probe, sizeof(*probe));
}
END_TEST

static Suite *
open_errors_suite(void)
{
	Suite *s = suite_create("open_errors");
	TCase *paths = tcase_create("paths");
	TCase *types = tcase_create("file_types");
	TCase *fds = tcase_create("descriptors");
	TCase *args = tcase_create("arguments");
	TCase *limits = tcase_create("limits");
	TCase *races = tcase_create("races");

	tcase_add_checked_fixture(paths, setup, teardown);
	tcase_add_test(paths, test_missing_path);
	tcase_add_test(paths, test_missing_directory_on_the_way);
	tcase_add_test(paths, test_path_through_regular_file);
	tcase_add_test(paths, test_dangling_symlink);
	tcase_add_test(paths, test_symlink_loop);
	tcase_add_test(paths, test_name_too_long);
	tcase_add_test(paths, test_symlink_to_regular_file_is_followed);
	tcase_add_test(paths, test_permission_denied);
	suite_add_tcase(s, paths);

	/* A FIFO open that blocks must fail the test, not hang it. */
	tcase_add_checked_fixture(types, setup, teardown);
	tcase_set_timeout(types, 10);
	tcase_add_test(types, test_directory);
	tcase_add_test(types, test_fifo_refused_without_blocking);
	tcase_add_test(types, test_dev_null);
	tcase_add_test(types, test_socket);
	suite_add_tcase(s, types);

	tcase_add_checked_fixture(fds, setup, teardown);
	tcase_add_test(fds, test_write_only_fd);
	tcase_add_test(fds, test_write_only_fd_empty_file);
	tcase_add_test(fds, test_negative_fd);
	tcase_add_test(fds, test_closed_fd);
	tcase_add_test(fds, test_directory_fd);
	tcase_add_test(fds, test_fifo_fd);
	tcase_add_test(fds, test_dev_null_fd);
	tcase_add_test(fds, test_pipe_fd);
	tcase_add_test(fds, test_fd_not_consumed);
	suite_add_tcase(s, fds);

	tcase_add_checked_fixture(args, setup, teardown);
	tcase_add_test(args, test_null_arguments);
	tcase_add_test(args, test_os_errno_optional);
	tcase_add_test(args, test_success_clears_os_errno);
	suite_add_tcase(s, args);

	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, test_too_many_open_files);
	tcase_add_test(limits, test_no_address_space);
	suite_add_tcase(s, limits);

	tcase_add_checked_fixture(races, setup, teardown);
	tcase_add_test(races, test_fifo_swapped_in_after_check);
	suite_add_tcase(s, races);
	return s;
}

int
main(void)
{
	return tu_run_suite(open_errors_suite());
}
