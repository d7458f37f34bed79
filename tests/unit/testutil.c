/* SPDX-License-Identifier: MIT */
/* Helpers shared by the libhexz unit tests; see testutil.h. */
#define _GNU_SOURCE
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#define NOBODY_ID 65534
/*
 * Seconds a forked child may run: generous for valgrind, yet shorter than
 * check's and meson's timeouts, so a hung child is reported as such.
 */
#define CHILD_DEADLINE 20

size_t
tu_page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	ck_assert_int_gt(ps, 0);
	return (size_t)ps;
}

uint8_t
tu_pattern_byte(uint64_t i)
{
	/* The splitmix64 finaliser: every bit of i affects the low byte. */
	uint64_t x = i + 0x9e3779b97f4a7c15ull;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (uint8_t)x;
}

void
tu_pattern_fill(void *buf, uint64_t offset, size_t len)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = tu_pattern_byte(offset + i);
}

long
tu_pattern_mismatch(const void *buf, uint64_t offset, size_t len)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != tu_pattern_byte(offset + i))
			return (long)i;
	}
	return -1;
}

int
tu_all_bytes(const void *buf, size_t len, uint8_t byte)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != byte)
			return 0;
	}
	return 1;
}

/*
 * Every scratch directory lives under one per-run directory that
 * tu_run_suite() creates before the tests and removes after them, in the
 * runner process. A failed assertion ends a test without its teardown
 * (check _exit()s a forked test, and longjmp()s out of it when not
 * forking), so this is what cleans up after failures.
 */
static char *run_dir;

static int
remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
		return rmdir(path) == 0 ? 0 : -1;
	return unlink(path) == 0 ? 0 : -1;
}

/* FTW_PHYS: never follow the symlinks some tests leave behind. */
static int
remove_tree(const char *dir)
{
	return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory from @template, mode 0755 so nobody can reach in. */
static char *
make_dir(char *template)
{
	if (!mkdtemp(template)) {
		free(template);
		return NULL;
	}
	/* mkdtemp makes it 0700; a test running as nobody must get in. */
	if (chmod(template, 0755) != 0) {
		rmdir(template);
		free(template);
		return NULL;
	}
	return template;
}

char *
tu_tmpdir_create(void)
{
	char *dir;

	ck_assert_msg(run_dir != NULL, "tu_tmpdir_create() outside tu_run_suite()");
	ck_assert_int_gt(asprintf(&dir, "%s/t-XXXXXX", run_dir), 0);
	dir = make_dir(dir);
	ck_assert_msg(dir != NULL, "scratch directory in %s: %s", run_dir, strerror(errno));
	return dir;
}

void
tu_tmpdir_remove(char *dir)
{
	if (!dir)
		return;
	ck_assert_msg(remove_tree(dir) == 0, "removing %s: %s", dir, strerror(errno));
	free(dir);
}

char *
tu_path(const char *dir, const char *name)
{
	char *path;

	ck_assert_int_gt(asprintf(&path, "%s/%s", dir, name), 0);
	return path;
}

static void
write_all_at(int fd, const void *data, size_t len, off_t offset)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, offset);

		ck_assert_msg(n > 0, "pwrite: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
		offset += n;
	}
}

void
tu_write_pattern_file(const char *path, uint64_t size)
{
	static uint8_t chunk[64 * 1024];
	uint64_t done = 0;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "creating %s: %s", path, strerror(errno));
	while (done < size) {
		size_t n = size - done < sizeof(chunk) ? (size_t)(size - done) : sizeof(chunk);

		tu_pattern_fill(chunk, done, n);
		write_all_at(fd, chunk, n, (off_t)done);
		done += n;
	}
	ck_assert_int_eq(close(fd), 0);
}

void
tu_write_file(const char *path, const void *data, size_t len)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "creating %s: %s", path, strerror(errno));
	write_all_at(fd, data, len, 0);
	ck_assert_int_eq(close(fd), 0);
}

int
tu_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

int
tu_run_in_child(int (*fn)(void *arg), void *arg)
{
	pid_t pid;
	int status;

	/* Unflushed stdio would be written twice, once by each process. */
	fflush(NULL);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
#ifdef HAVE_VALGRIND_H
		/*
		 * The child inherits the parent's heap, including whatever a
		 * failed test leaked; under valgrind its exit would report
		 * those as its own and change its exit code. Leaks are checked
		 * when the parent exits; memory errors still count here.
		 */
		if (RUNNING_ON_VALGRIND)
			VALGRIND_CLO_CHANGE("--leak-check=no");
#endif
		/*
		 * A child that hangs (a swallowed signal, a blocking open)
		 * dies of SIGALRM, which the caller reports as a failure.
		 * check's runner handles SIGALRM by killing its whole
		 * process group, and we inherited that handler: reset it.
		 */
		signal(SIGALRM, SIG_DFL);
		alarm(CHILD_DEADLINE);
		_exit(fn(arg));
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

void
tu_assert_exited(int status, int code)
{
	ck_assert_msg(WIFEXITED(status), "child did not exit normally: %s %d",
		      WIFSIGNALED(status) ? "killed by signal" : "status",
		      WIFSIGNALED(status) ? WTERMSIG(status) : status);
	ck_assert_msg(WEXITSTATUS(status) == code, "child exited with %d, expected %d",
		      WEXITSTATUS(status), code);
}

void
tu_assert_killed_by(int status, int sig)
{
	ck_assert_msg(WIFSIGNALED(status), "child was not killed by a signal: exit code %d",
		      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	ck_assert_msg(WTERMSIG(status) == sig, "child killed by signal %d, expected %d",
		      WTERMSIG(status), sig);
}

void *
tu_shared_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ck_assert_msg(p != MAP_FAILED, "mmap shared: %s", strerror(errno));
	return p;
}

void
tu_shared_free(void *p, size_t len)
{
	ck_assert_int_eq(munmap(p, len), 0);
}

int
tu_become_nobody(void)
{
	if (setgroups(0, NULL) != 0 || setgid(NOBODY_ID) != 0 || setuid(NOBODY_ID) != 0)
		return -1;
	/* A drop that can be undone would make a permission test meaningless. */
	if (getuid() != NOBODY_ID || geteuid() != NOBODY_ID || setuid(0) == 0)
		return -1;
	return 0;
}

double
tu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
tu_run_suite(Suite *s)
{
	const char *base = getenv("TMPDIR");
	SRunner *sr;
	char *dir;
	int failed;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&dir, "%s/hexz-unit-XXXXXX", base) < 0 || !(run_dir = make_dir(dir))) {
		fprintf(stderr, "cannot create a scratch directory in %s: %s\n", base,
			strerror(errno));
		return EXIT_FAILURE;
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	/* A failed test may have left a directory without search permission. */
	if (remove_tree(run_dir) != 0) {
		fprintf(stderr, "cannot remove %s: %s\n", run_dir, strerror(errno));
		failed++;
	}
	free(run_dir);
	run_dir = NULL;
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
