/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the libhexz unit tests: scratch directories, files
 * with a known pseudo-random content, forked children, descriptor counts.
 *
 * Every helper that can fail aborts the test through check's assertions,
 * so a test body never has to check their results. The exceptions are the
 * helpers meant to run inside a forked child (marked "child-safe"): an
 * assertion there would be reported by the wrong process, so they return
 * error codes instead.
 */
#ifndef HEXZ_TESTS_TESTUTIL_H
#define HEXZ_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <check.h>

/* The page size, for tests that reason about which pages vanish. */
size_t tu_page_size(void);

/*
 * The byte at offset @i of every pattern file: a hash of the whole 64-bit
 * offset, so a read from the wrong place (an offset cut to 32 bits, an
 * off-by-one) returns different bytes.
 */
uint8_t tu_pattern_byte(uint64_t i);

/* Fill @buf with the pattern bytes for [@offset, @offset + @len). */
void tu_pattern_fill(void *buf, uint64_t offset, size_t len);

/*
 * Index of the first byte of @buf that differs from the pattern for
 * [@offset, @offset + @len), or -1 when all match. Child-safe.
 */
long tu_pattern_mismatch(const void *buf, uint64_t offset, size_t len);

/* True when all @len bytes at @buf equal @byte. Child-safe. */
int tu_all_bytes(const void *buf, size_t len, uint8_t byte);

/*
 * Create a scratch directory, mode 0755 so that a test which drops
 * privileges can still reach the files in it. It lies in a directory that
 * tu_run_suite() makes under $TMPDIR (or /tmp) and removes when the suite
 * ends, so even a failed test leaves nothing behind. Returns a malloc()ed
 * path; remove it with tu_tmpdir_remove().
 */
char *tu_tmpdir_create(void);

/* Remove @dir and everything below it, then free @dir. NULL is a no-op. */
void tu_tmpdir_remove(char *dir);

/* malloc()ed "@dir/@name". */
char *tu_path(const char *dir, const char *name);

/* Create (or replace) @path holding the pattern for [0, @size), mode 0644. */
void tu_write_pattern_file(const char *path, uint64_t size);

/* Create (or replace) @path holding @len bytes of @data, mode 0644. */
void tu_write_file(const char *path, const void *data, size_t len);

/*
 * The number of entries in /proc/self/fd (the directory's own fd
 * included), or -1 if it cannot be read. Child-safe.
 */
int tu_count_fds(void);

/*
 * Fork; the child runs @fn(@arg) and exits with its return value through
 * _exit(), so that nothing of check's runner state runs twice. Returns the
 * child's wait status. Works the same whether check itself forks or not.
 * A child still running after 20 seconds is killed by SIGALRM.
 */
int tu_run_in_child(int (*fn)(void *arg), void *arg);

/* Assert that wait status @status is a normal exit with code @code. */
void tu_assert_exited(int status, int code);

/* Assert that wait status @status is death by signal @sig. */
void tu_assert_killed_by(int status, int sig);

/*
 * A zero-filled region shared with forked children, so a child can report
 * more than an exit code. Free with tu_shared_free().
 */
void *tu_shared_alloc(size_t len);
void tu_shared_free(void *p, size_t len);

/*
 * Drop every privilege to the user and group nobody (65534). Returns 0, or
 * -1 if that failed or root could be regained. Child-safe; meant only for
 * a forked child.
 */
int tu_become_nobody(void);

/* Monotonic clock in seconds, for "this must be fast" assertions. */
double tu_now(void);

/*
 * Run one suite, with verbosity from CK_VERBOSITY, inside a fresh scratch
 * area (see tu_tmpdir_create()); the exit status for main().
 */
int tu_run_suite(Suite *s);

#endif /* HEXZ_TESTS_TESTUTIL_H */
