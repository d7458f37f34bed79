/* SPDX-License-Identifier: MIT */
/*
 * The archive reader through its public API (hexz/archive.h, hexz/cache.h):
 * every error of hexz_archive_open() with its own status and a message
 * naming the archive; exact bytes of every sound case of the writer's
 * corpus at awkward offsets; bounds; damaged blocks failing alone; pins;
 * prefetch; the manifest; an archive truncated under its reader; and many
 * threads reading several archives through one small shared cache.
 *
 * Archives come from the independent writer (tests/writer): main() runs
 * make_corpus.py once into a scratch directory (HEXZ_SOURCE_ROOT names the
 * source tree), and tests that need a special archive run hexz_writer.py
 * or patch the bytes of one. Everything is removed at the end. The corpus
 * is small, and the loops shrink further under valgrind and TSan.
 *
 * Worker threads never call check's assertions (they are not
 * thread-safe): each records its failures and the main thread asserts
 * after the join.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <hexz/hexz.h>

#include "testutil.h"

#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

#define PYTHON "/usr/bin/python3"
#define KIB 1024u
#define MIB (1024u * 1024u)
/* Where the plain test archives keep their header fields (no parents, no options). */
#define HDR_INDEX_OFFSET 12
#define HDR_DICTIONARY_TAG 28
#define HDR_HAS_MAIN 39
/* The master index: a u64 count, then 28-byte page entries. */
#define PAGE_ENTRY 28

static char *source_root;
static char *work_dir;	 /* removed by main() */
static char *corpus_dir; /* work_dir/corpus */
static struct json_object *corpus_cases;

/* Fewer iterations where every instruction costs a hundred. */
static unsigned int
scaled(unsigned int normal)
{
#ifdef HAVE_VALGRIND_H
	if (RUNNING_ON_VALGRIND)
		return normal / 20 ? normal / 20 : 1;
#endif
	if (UNDER_TSAN)
		return normal / 5 ? normal / 5 : 1;
	return normal;
}

/* xorshift64*: deterministic, so a failure can be replayed. */
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

/* ---- files and tools ---- */

static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat sb;
	unsigned char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &sb), 0);
	buf = malloc((size_t)sb.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(read(fd, buf, (size_t)sb.st_size), sb.st_size);
	close(fd);
	*len = (size_t)sb.st_size;
	return buf;
}

/* Run argv (argv[0] a path) with stdout to /dev/null; 0 when it exits 0. */
static int
run_quietly(char *const argv[])
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static char *
unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

/* hexz_writer.py ARGS... OUT, the arguments ending with NULL; asserts success. */
static void
writer(const char *out, ...)
{
	char *argv[40];
	char *script = tu_path(source_root, "tests/writer/hexz_writer.py");
	const char *a;
	size_t n = 0;
	va_list ap;

	argv[n++] = unconst(PYTHON);
	argv[n++] = script;
	va_start(ap, out);
	while ((a = va_arg(ap, const char *)) != NULL && n < 37)
		argv[n++] = unconst(a);
	va_end(ap);
	argv[n++] = unconst(out);
	argv[n] = NULL;
	ck_assert_msg(run_quietly(argv) == 0, "hexz_writer.py failed writing %s", out);
	free(script);
}

/* A copy of archive `src` as `dst` with `len` bytes at `offset` replaced. */
static void
patched_copy(const char *src, const char *dst, uint64_t offset, const void *bytes, size_t len)
{
	size_t n;
	unsigned char *buf = slurp(src, &n);

	ck_assert_uint_le(offset + len, n);
	memcpy(buf + offset, bytes, len);
	tu_write_file(dst, buf, n);
	free(buf);
}

static void
put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
file_size(const char *path)
{
	struct stat sb;

	ck_assert_int_eq(stat(path, &sb), 0);
	return (uint64_t)sb.st_size;
}

/* The index offset of a plain archive (no parents, no optional sections). */
static uint64_t
index_offset_of(const char *path)
{
	size_t n;
	unsigned char *buf = slurp(path, &n);
	uint64_t io;

	ck_assert_uint_ge(n, 4096);
	/* The writer puts the six Option tags and encryption's right after an empty parent list. */
	ck_assert_uint_eq(get_le64(buf + 20), 0);
	ck_assert_int_eq(buf[HDR_HAS_MAIN], 1);
	io = get_le64(buf + HDR_INDEX_OFFSET);
	free(buf);
	return io;
}

static void
patch_u64(const char *src, const char *dst, uint64_t offset, uint64_t value)
{
	unsigned char b[8];

	put_le64(b, value);
	patched_copy(src, dst, offset, b, sizeof(b));
}

/* ---- the corpus ---- */

static struct json_object *
jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "corpus.json: no \"%s\"", key);
	return v;
}

static int64_t
jint(struct json_object *o, const char *key)
{
	return json_object_get_int64(jget(o, key));
}

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	return json_object_is_type(v, json_type_null) ? NULL : json_object_get_string(v);
}

static bool
jnull(struct json_object *o, const char *key)
{
	return json_object_is_type(jget(o, key), json_type_null);
}

static struct json_object *
corpus_case(const char *name)
{
	size_t i, n = json_object_array_length(corpus_cases);

	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(corpus_cases, i);

		if (strcmp(jstr(c, "name"), name) == 0)
			return c;
	}
	ck_abort_msg("corpus.json has no case %s", name);
	return NULL;
}

static char *
corpus_path(const char *file)
{
	return tu_path(corpus_dir, file);
}

/* The expected bytes of a stream of a case ("main" / "auxiliary"); empty when absent. */
static unsigned char *
expected_stream(struct json_object *c, const char *stream, size_t *len)
{
	struct json_object *s = jget(c, stream);
	unsigned char *buf;
	char *path;

	if (json_object_is_type(s, json_type_null)) {
		*len = 0;
		return calloc(1, 1);
	}
	path = corpus_path(jstr(s, "file"));
	buf = slurp(path, len);
	free(path);
	ck_assert_uint_eq(*len, (uint64_t)jint(s, "size"));
	return buf;
}

/* ---- opening ---- */

static int
open_with(const char *path, struct hexz_cache *cache, const char *password,
	  struct hexz_archive **ar, struct hexz_error *err)
{
	struct hexz_archive_options o = { 0 };

	o.cache = cache;
	if (password) {
		o.password = password;
		o.password_len = strlen(password);
	}
	return hexz_archive_open_path(path, &o, ar, err);
}

/* Open corpus case `name` with its password; asserts success. */
static struct hexz_archive *
open_case(const char *name, struct hexz_cache *cache)
{
	struct json_object *c = corpus_case(name);
	struct hexz_error err = { 0 };
	struct hexz_archive *ar = NULL;
	char *path = corpus_path(jstr(c, "archive"));
	int ret = open_with(path, cache, jstr(c, "password"), &ar, &err);

	ck_assert_msg(ret == HEXZ_OK, "open %s: %d %s", path, ret, err.message);
	ck_assert_ptr_nonnull(ar);
	free(path);
	return ar;
}

/*
 * Opening `path` fails with `code`: no archive, the error filled alike, a
 * message naming the location and, when `word` is set, saying it.
 */
static void
check_open_fails(const char *path, const struct hexz_archive_options *opts, int code,
		 const char *word)
{
	struct hexz_error err = { 0 };
	struct hexz_archive *ar = (struct hexz_archive *)&err; /* must be reset to NULL */
	int ret = hexz_archive_open_path(path, opts, &ar, &err);

	ck_assert_msg(ret == code, "%s: status %d (%s), expected %d (%s): %s", path, ret,
		      hexz_strerror(ret), code, hexz_strerror(code), err.message);
	ck_assert_ptr_null(ar);
	ck_assert_int_eq(err.code, code);
	ck_assert_msg(err.message[0] != '\0', "%s: empty message", path);
	ck_assert_msg(strstr(err.message, opts && opts->location ? opts->location : path),
		      "message does not name the archive: %s", err.message);
	if (word)
		ck_assert_msg(strstr(err.message, word), "message lacks \"%s\": %s", word,
			      err.message);
	/* Without an error structure the status is the same. */
	ck_assert_int_eq(hexz_archive_open_path(path, opts, &ar, NULL), code);
	ck_assert_ptr_null(ar);
}

struct stream_data {
	enum hexz_stream stream;
	const unsigned char *want;
	size_t size;
};

static void check_range(struct hexz_archive *ar, const struct stream_data *sd, uint64_t off,
			size_t len, const char *name);

/* ---- open errors ---- */

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

/* A plain archive of 20000 pattern bytes in 4 KiB blocks, 2 entries a page (3 pages). */
static char *
plain_archive(const char *name)
{
	char *main_file = tu_path(tmp, "plain.main");
	char *out = tu_path(tmp, name);

	tu_write_pattern_file(main_file, 20000);
	writer(out, "--main", main_file, "--block-size", "4096", "--page-entries", "2", NULL);
	free(main_file);
	return out;
}

START_TEST(test_not_archive)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t len;
	} files[] = {
		{ "empty.hxz", "", 0 },
		{ "one.hxz", "H", 1 },
		{ "three.hxz", "HEX", 3 },
		{ "hexy.hxz", "HEXY\1\0\0\0", 8 },
		{ "lower.hxz", "hexz\1\0\0\0", 8 },
	};
	unsigned char garbage[8192];
	uint64_t state = 42;
	size_t i;
	char *path;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path = tu_path(tmp, files[i].name);
		tu_write_file(path, files[i].bytes, files[i].len);
		check_open_fails(path, NULL, HEXZ_ERR_NOT_ARCHIVE, "not a hexz archive");
		free(path);
	}
	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (unsigned char)next_random(&state);
	path = tu_path(tmp, "garbage.hxz");
	tu_write_file(path, garbage, sizeof(garbage));
	check_open_fails(path, NULL, HEXZ_ERR_NOT_ARCHIVE, NULL);
	free(path);
	/* The magic and then nothing: a header cut short. */
	path = tu_path(tmp, "magic-only.hxz");
	tu_write_file(path, "HEXZ\1\0", 6);
	check_open_fails(path, NULL, HEXZ_ERR_CORRUPT_HEADER, "corrupt header");
	free(path);
}
END_TEST

START_TEST(test_bad_version)
{
	char *main_file = tu_path(tmp, "m");
	char *out = tu_path(tmp, "v2.hxz");

	tu_write_pattern_file(main_file, 5000);
	writer(out, "--main", main_file, "--set", "version=2", NULL);
	check_open_fails(out, NULL, HEXZ_ERR_BAD_VERSION, "version 2");
	writer(out, "--main", main_file, "--set", "version=0", NULL);
	check_open_fails(out, NULL, HEXZ_ERR_BAD_VERSION, "version 0");
	free(out);
	free(main_file);
}
END_TEST

START_TEST(test_corrupt_header)
{
	char *plain = plain_archive("plain.hxz");
	char *bad = tu_path(tmp, "bad.hxz");
	char *main_file = tu_path(tmp, "plain.main");
	uint64_t size = file_size(plain);
	unsigned char two = 2;
	char set[64];

	/* The plain archive itself opens. */
	{
		struct hexz_archive *ar = NULL;

		ck_assert_int_eq(hexz_archive_open_path(plain, NULL, &ar, NULL), HEXZ_OK);
		hexz_archive_close(ar);
	}
	/* index_offset at the end of the file, past it, and inside the header area. */
	patch_u64(plain, bad, HDR_INDEX_OFFSET, size);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_HEADER, "index offset");
	patch_u64(plain, bad, HDR_INDEX_OFFSET, UINT64_MAX);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_HEADER, "index offset");
	patch_u64(plain, bad, HDR_INDEX_OFFSET, 100);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_HEADER, "index offset");
	/* An Option tag of 2, a bool of 2. */
	patched_copy(plain, bad, HDR_DICTIONARY_TAG, &two, 1);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_HEADER, "corrupt header");
	patched_copy(plain, bad, HDR_HAS_MAIN, &two, 1);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_HEADER, "corrupt header");
	/* A dictionary outside the data area, and an offset without a length. */
	snprintf(set, sizeof(set), "dictionary_offset=%" PRIu64, size - 10);
	writer(bad, "--main", main_file, "-c", "zstd", "--set", set, "--set",
	       "dictionary_length=4096", NULL);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_HEADER, "dictionary");
	writer(bad, "--main", main_file, "-c", "zstd", "--set", "dictionary_offset=4096", NULL);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_HEADER, "corrupt header");
	/* Metadata past the end of the file, an unknown compression. */
	snprintf(set, sizeof(set), "metadata_offset=%" PRIu64, size);
	writer(bad, "--main", main_file, "--set", set, "--set", "metadata_length=1", NULL);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_HEADER, "metadata");
	writer(bad, "--main", main_file, "--set", "compression=2", NULL);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_HEADER, "compression");
	free(main_file);
	free(bad);
	free(plain);
}
END_TEST

/* Patch the master index of the plain archive; opening must fail with CORRUPT_INDEX. */
START_TEST(test_corrupt_master_index)
{
	char *plain = plain_archive("plain.hxz");
	char *bad = tu_path(tmp, "bad.hxz");
	uint64_t io = index_offset_of(plain);
	uint64_t size = file_size(plain);
	size_t n;
	unsigned char *buf = slurp(plain, &n);
	uint64_t pages = get_le64(buf + io);
	uint64_t page0 = io + 8, page1 = io + 8 + PAGE_ENTRY, page2 = io + 8 + 2 * PAGE_ENTRY;
	uint64_t aux_count = io + 8 + pages * PAGE_ENTRY;
	uint64_t main_size = aux_count + 8;
	unsigned char swapped[2 * PAGE_ENTRY];

	ck_assert_uint_eq(pages, 3);
	ck_assert_uint_eq(get_le64(buf + main_size), 20000);
	/* Counts of 2^60 main pages, 2^60 auxiliary pages. */
	patch_u64(plain, bad, io, (uint64_t)1 << 60);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_INDEX, "corrupt index");
	patch_u64(plain, bad, aux_count, (uint64_t)1 << 60);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_INDEX, "corrupt index");
	/* A page past the end of the file, one in the header. */
	patch_u64(plain, bad, page0, size + 4096);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_INDEX, "page 0");
	patch_u64(plain, bad, page1, 16);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_INDEX, "page 1");
	/* Pages out of order. */
	memcpy(swapped, buf + page1, PAGE_ENTRY);
	memcpy(swapped + PAGE_ENTRY, buf + page0, PAGE_ENTRY);
	patched_copy(plain, bad, page0, swapped, sizeof(swapped));
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_INDEX, "out of order");
	/* The first page's logical start is not 0; a start_block that skips. */
	patch_u64(plain, bad, page0 + 20, 1);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_INDEX, "page 0");
	patch_u64(plain, bad, page0 + 12, 1);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_INDEX, "page 0");
	/* Page 1's count comes from page 2's first block number: 5, more than it holds. */
	patch_u64(plain, bad, page2 + 12, 7);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_INDEX, "page 1");
	/* A main size the pages cannot hold. */
	patch_u64(plain, bad, main_size, (uint64_t)1 << 62);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_INDEX, "corrupt index");
	/* The last page's own count: absurd. */
	patch_u64(plain, bad, get_le64(buf + page2), (uint64_t)1 << 60);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_INDEX, "page 2");
	/* A master index cut short: index_offset 4 bytes before the end. */
	patch_u64(plain, bad, HDR_INDEX_OFFSET, size - 4);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_INDEX, "master index");
	free(buf);
	free(bad);
	free(plain);
}
END_TEST

/* Damage found only when a page is read: a read there fails, other pages still read. */
START_TEST(test_corrupt_page_at_read)
{
	char *plain = plain_archive("plain.hxz");
	char *bad = tu_path(tmp, "bad.hxz");
	char *main_file = tu_path(tmp, "plain.main");
	uint64_t io = index_offset_of(plain);
	uint64_t page1 = io + 8 + PAGE_ENTRY;
	struct hexz_archive_scan scan;
	struct hexz_error err = { 0 };
	struct hexz_archive *ar = NULL;
	unsigned char buf[4000], want[4000];
	size_t n;
	unsigned char *raw = slurp(plain, &n);

	/* Page 1's logical start one byte late: pages 0 and 1 no longer add up. */
	patch_u64(plain, bad, page1 + 20, get_le64(raw + page1 + 20) + 1);
	ck_assert_int_eq(hexz_archive_open_path(bad, NULL, &ar, &err), HEXZ_OK);
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 0, 10, buf, &err),
			 HEXZ_ERR_CORRUPT_INDEX);
	ck_assert_ptr_nonnull(strstr(err.message, "page 0"));
	ck_assert_ptr_nonnull(strstr(err.message, bad));
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 9000, 10, buf, &err),
			 HEXZ_ERR_CORRUPT_INDEX);
	ck_assert_int_eq(hexz_archive_scan(ar, &scan, &err), HEXZ_ERR_CORRUPT_INDEX);
	/* Page 2 (bytes 16384 on) is sound. */
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 16000, sizeof(buf), buf, &err),
			 HEXZ_ERR_CORRUPT_INDEX);
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 16384, 20000 - 16384, buf, &err),
			 HEXZ_OK);
	tu_pattern_fill(want, 16384, 20000 - 16384);
	ck_assert_mem_eq(buf, want, 20000 - 16384);
	hexz_archive_close(ar);

	/* A block entry of logical length 0 in page 0. */
	{
		unsigned char zero[4] = { 0 };
		uint64_t p0 = get_le64(raw + io + 8);

		patched_copy(plain, bad, p0 + 8 + 12, zero, sizeof(zero));
		ck_assert_int_eq(hexz_archive_open_path(bad, NULL, &ar, &err), HEXZ_OK);
		ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 0, 1, buf, &err),
				 HEXZ_ERR_CORRUPT_INDEX);
		ck_assert_ptr_nonnull(strstr(err.message, "logical length"));
		ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 8192, 100, buf, &err),
				 HEXZ_OK);
		tu_pattern_fill(want, 8192, 100);
		ck_assert_mem_eq(buf, want, 100);
		hexz_archive_close(ar);
	}
	/* The header says there is no main stream, the index has one. */
	writer(bad, "--main", main_file, "--set", "has_main=false", NULL);
	check_open_fails(bad, NULL, HEXZ_ERR_CORRUPT_INDEX, "absent");
	free(raw);
	free(main_file);
	free(bad);
	free(plain);
}
END_TEST

START_TEST(test_limit_iterations)
{
	char *main_file = tu_path(tmp, "m");
	char *out = tu_path(tmp, "iter.hxz");
	struct hexz_archive_options o = { .password = "pw", .password_len = 2 };
	double t0;

	tu_write_pattern_file(main_file, 5000);
	/* A real encrypted archive (1000 rounds) whose header then claims 2^32 - 1. */
	writer(out, "--main", main_file, "--password", "pw", "--iterations", "1000", "--set",
	       "encryption={\"salt\": \"000102030405060708090a0b0c0d0e0f\", "
	       "\"iterations\": 4294967295}",
	       NULL);
	t0 = tu_now();
	check_open_fails(out, &o, HEXZ_ERR_LIMIT, "4294967295");
	check_open_fails(out, NULL, HEXZ_ERR_LIMIT, "iterations");
	ck_assert_msg(tu_now() - t0 < 5, "refusing took %.1f s", tu_now() - t0);
	writer(out, "--main", main_file, "--password", "pw", "--iterations", "1000", "--set",
	       "encryption={\"salt\": \"000102030405060708090a0b0c0d0e0f\", \"iterations\": 0}",
	       NULL);
	check_open_fails(out, &o, HEXZ_ERR_LIMIT, "iterations");
	free(out);
	free(main_file);
}
END_TEST

START_TEST(test_passwords)
{
	char *path = corpus_path("encrypted_lz4.hxz");
	struct hexz_archive_options o = { 0 };
	struct hexz_archive *ar = NULL;
	const char *right = jstr(corpus_case("encrypted_lz4"), "password");

	check_open_fails(path, NULL, HEXZ_ERR_PASSWORD_REQUIRED, "password");
	o.password = "wrong-password";
	o.password_len = strlen(o.password);
	check_open_fails(path, &o, HEXZ_ERR_WRONG_PASSWORD, "wrong password");
	/* The right password with one byte more or less is wrong too. */
	o.password = right;
	o.password_len = strlen(right) - 1;
	check_open_fails(path, &o, HEXZ_ERR_WRONG_PASSWORD, "wrong password");
	o.password_len = 0;
	check_open_fails(path, &o, HEXZ_ERR_WRONG_PASSWORD, "wrong password");
	o.password_len = strlen(right);
	ck_assert_int_eq(hexz_archive_open_path(path, &o, &ar, NULL), HEXZ_OK);
	hexz_archive_close(ar);
	/* A password given for an archive that is not encrypted is ignored. */
	free(path);
	path = corpus_path("lz4_fixed.hxz");
	ck_assert_int_eq(hexz_archive_open_path(path, &o, &ar, NULL), HEXZ_OK);
	hexz_archive_close(ar);
	free(path);
}
END_TEST

struct resolver_log {
	int calls;
	int verdict; /* HEXZ_OK: delegate to the default resolver */
	char last_child[4096];
	char last_parent[4096];
};

static int
test_resolver(void *opaque, const char *child_location, const char *parent_path,
	      struct hexz_parent *out, struct hexz_error *err)
{
	struct resolver_log *log = opaque;

	log->calls++;
	snprintf(log->last_child, sizeof(log->last_child), "%s", child_location);
	snprintf(log->last_parent, sizeof(log->last_parent), "%s", parent_path);
	if (log->verdict == HEXZ_OK)
		return hexz_resolve_parent_default(NULL, child_location, parent_path, out, err);
	if (log->verdict == HEXZ_ERR_PARENT_REFUSED && err) {
		err->code = log->verdict;
		snprintf(err->message, sizeof(err->message), "refused by the test's policy");
	}
	return log->verdict;
}

START_TEST(test_parents)
{
	char *child = corpus_path("thin_child.hxz");
	char *leaf = corpus_path("thin_leaf.hxz");
	char *missing = corpus_path("thin_missing_parent.hxz");
	char *cycle = corpus_path("thin_cycle_a.hxz");
	char *deep = corpus_path("chain_17.hxz");
	struct resolver_log log = { 0 };
	struct hexz_archive_options o = { .resolve_parent = test_resolver, .resolve_opaque = &log };
	struct hexz_archive *ar = NULL;
	struct hexz_error err = { 0 };

	check_open_fails(missing, NULL, HEXZ_ERR_PARENT_NOT_FOUND, "not found");
	check_open_fails(missing, NULL, HEXZ_ERR_PARENT_NOT_FOUND, "gone_parent.hxz");
	check_open_fails(cycle, NULL, HEXZ_ERR_PARENT_CYCLE, "leads back");
	/* 17 ancestors: the cause survives the nesting of 17 parent messages. */
	check_open_fails(deep, NULL, HEXZ_ERR_PARENT_TOO_DEEP, "deeper than 16");

	/*
	 * The same chain under a directory whose name alone fills half a
	 * message: the start of the location and the cause at the end both
	 * stay, the middle is cut.
	 */
	{
		char longname[201], *dir, *copy, *src;
		unsigned char *raw;
		struct hexz_error e = { 0 };
		size_t len;

		memset(longname, 'L', 200);
		longname[200] = '\0';
		dir = tu_path(tmp, longname);
		ck_assert_int_eq(mkdir(dir, 0755), 0);
		for (int k = 0; k <= 17; k++) {
			char name[16];

			snprintf(name, sizeof(name), "chain_%02d.hxz", k);
			src = corpus_path(name);
			copy = tu_path(dir, name);
			raw = slurp(src, &len);
			tu_write_file(copy, raw, len);
			free(raw);
			free(src);
			if (k < 17)
				free(copy);
		}
		ck_assert_int_eq(hexz_archive_open_path(copy, NULL, &ar, &e),
				 HEXZ_ERR_PARENT_TOO_DEEP);
		ck_assert_uint_lt(strlen(e.message), sizeof(e.message));
		ck_assert_msg(strncmp(e.message, copy, 100) == 0, "message: %s", e.message);
		ck_assert_msg(strstr(e.message, "deeper than 16"), "message: %s", e.message);
		free(copy);
		free(dir);
	}

	/* A resolver that refuses. */
	log.verdict = HEXZ_ERR_PARENT_REFUSED;
	check_open_fails(child, &o, HEXZ_ERR_PARENT_REFUSED, "refused by the test's policy");
	ck_assert_int_eq(log.calls, 2);
	ck_assert_str_eq(log.last_child, child);
	ck_assert_str_eq(log.last_parent, "thin_base.hxz");
	check_open_fails(child, &o, HEXZ_ERR_PARENT_REFUSED, "thin_base.hxz");
	/* One that finds nothing and says nothing more. */
	log.verdict = HEXZ_ERR_PARENT_NOT_FOUND;
	check_open_fails(child, &o, HEXZ_ERR_PARENT_NOT_FOUND, "thin_base.hxz");

	/* One that delegates: called once per parent down the chain. */
	log.verdict = HEXZ_OK;
	log.calls = 0;
	ck_assert_int_eq(hexz_archive_open_path(leaf, &o, &ar, &err), HEXZ_OK);
	ck_assert_int_eq(log.calls, 2);
	ck_assert_str_eq(log.last_parent, "thin_grandparent.hxz");
	ck_assert_ptr_nonnull(hexz_archive_parent(ar, 0));
	ck_assert_ptr_null(hexz_archive_parent(ar, 1));
	ck_assert_str_eq(hexz_archive_parent_path(ar, 0), "thin_parent.hxz");
	ck_assert_ptr_null(hexz_archive_parent_path(ar, 1));
	ck_assert_ptr_nonnull(hexz_archive_parent(hexz_archive_parent(ar, 0), 0));
	/* A parent is an archive like any other: it reads. */
	{
		struct json_object *pc = corpus_case("thin_parent");
		struct stream_data sd = { .stream = HEXZ_STREAM_MAIN };
		unsigned char *want = expected_stream(pc, "main", &sd.size);

		sd.want = want;
		check_range(hexz_archive_parent(ar, 0), &sd, 0, sd.size, "thin_parent");
		check_range(hexz_archive_parent(ar, 0), &sd, 4095, 4098, "thin_parent");
		free(want);
	}
	hexz_archive_close(ar);

	/* On a bare storage handle without a location, parents are not found beside it. */
	{
		struct hexz_storage *st = NULL;

		ck_assert_int_eq(hexz_mmap_open(child, &st, NULL), HEXZ_OK);
		ck_assert_int_eq(hexz_archive_open(st, NULL, &ar, &err), HEXZ_ERR_PARENT_NOT_FOUND);
		ck_assert_ptr_null(ar);
		ck_assert_ptr_nonnull(strstr(err.message, "archive: parent 'thin_base.hxz'"));
		hexz_storage_close(st); /* still the caller's after a failure */
	}
	free(deep);
	free(cycle);
	free(missing);
	free(leaf);
	free(child);
}
END_TEST

START_TEST(test_corrupt_manifest)
{
	static const char *const documents[] = {
		"{not json", "{\"files\": 5}", "[1, 2, 3]", "{\"files\": []} trailing", "",
	};
	char *main_file = tu_path(tmp, "m");
	char *json = tu_path(tmp, "manifest.json");
	char *out = tu_path(tmp, "manifest.hxz");
	size_t i;

	tu_write_pattern_file(main_file, 5000);
	for (i = 0; i < sizeof(documents) / sizeof(documents[0]); i++) {
		tu_write_file(json, documents[i], strlen(documents[i]));
		writer(out, "--main", main_file, "--manifest-json", json, NULL);
		check_open_fails(out, NULL, HEXZ_ERR_CORRUPT_MANIFEST, "manifest");
	}
	/* Metadata that is a JSON object without "files" is not a manifest, not an error. */
	tu_write_file(json, "{\"comment\": \"x\"}", 16);
	writer(out, "--main", main_file, "--manifest-json", json, NULL);
	{
		struct hexz_archive *ar = NULL;
		struct hexz_error err = { 0 };
		struct hexz_archive_info info;
		int ret = hexz_archive_open_path(out, NULL, &ar, &err);

		if (ret == HEXZ_OK) {
			hexz_archive_get_info(ar, &info);
			ck_assert(info.has_metadata);
			ck_assert_uint_eq(hexz_archive_manifest_count(ar), 0);
			hexz_archive_close(ar);
		} else {
			ck_assert_int_eq(ret, HEXZ_ERR_CORRUPT_MANIFEST);
		}
	}
	free(out);
	free(json);
	free(main_file);
}
END_TEST

START_TEST(test_invalid_arguments)
{
	struct hexz_archive *ar = (struct hexz_archive *)&ar;
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };
	char *path = corpus_path("lz4_fixed.hxz");

	ck_assert_int_eq(hexz_archive_open(NULL, NULL, &ar, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(ar);
	ck_assert_int_eq(err.code, HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_mmap_open(path, &st, NULL), HEXZ_OK);
	ck_assert_int_eq(hexz_archive_open(st, NULL, NULL, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_archive_open_path(NULL, NULL, &ar, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_archive_open_path("", NULL, &ar, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_archive_open_path(path, NULL, NULL, &err), HEXZ_ERR_INVALID_ARGUMENT);
	/* The storage handle is still ours: open it for real now. */
	ck_assert_int_eq(hexz_archive_open(st, NULL, &ar, &err), HEXZ_OK);
	ck_assert_str_eq(hexz_archive_location(ar), "archive");
	hexz_archive_close(ar);
	free(path);

	/* Files that are not there or not regular. */
	path = tu_path(tmp, "nothing-here.hxz");
	ck_assert_int_eq(hexz_archive_open_path(path, NULL, &ar, &err), HEXZ_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err.message, path));
	ck_assert_int_eq(hexz_archive_open_path(tmp, NULL, &ar, &err), HEXZ_ERR_NOT_REGULAR);
	ck_assert_ptr_null(ar);
	free(path);

	/* NULL is safe where documented. */
	hexz_archive_close(NULL);
	hexz_cache_destroy(NULL);
	hexz_block_unpin(NULL, 3);
	ck_assert_ptr_null(hexz_archive_location(NULL));
	ck_assert_uint_eq(hexz_archive_stream_size(NULL, HEXZ_STREAM_MAIN), 0);
	ck_assert_ptr_null(hexz_archive_parent(NULL, 0));
	ck_assert_uint_eq(hexz_archive_manifest_count(NULL), 0);
	ck_assert_uint_eq(hexz_archive_tree_count(NULL), 0);
	ck_assert_uint_eq(hexz_archive_tree_lookup(NULL, 0, "x"), HEXZ_TREE_NONE);
	ck_assert_uint_eq(hexz_archive_tree_path(NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(hexz_cache_create(0, 0, (struct hexz_cache **)&ar),
			 HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_cache_create(MIB, 0, NULL), HEXZ_ERR_INVALID_ARGUMENT);
}
END_TEST

/* ---- reads ---- */

/* Read [off, off+len) into a buffer with guards on both sides; compare. */
static void
check_range(struct hexz_archive *ar, const struct stream_data *sd, uint64_t off, size_t len,
	    const char *name)
{
	struct hexz_error err = { 0 };
	unsigned char *buf = malloc(len + 32);
	int ret;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xa5, len + 32);
	ret = hexz_archive_read(ar, sd->stream, off, len, buf + 16, &err);
	ck_assert_msg(ret == HEXZ_OK, "%s: stream %d read %" PRIu64 "+%zu: %s", name, sd->stream,
		      off, len, err.message);
	ck_assert_msg(memcmp(buf + 16, sd->want + off, len) == 0,
		      "%s: stream %d read %" PRIu64 "+%zu: wrong bytes", name, sd->stream, off,
		      len);
	ck_assert_msg(tu_all_bytes(buf, 16, 0xa5) && tu_all_bytes(buf + 16 + len, 16, 0xa5),
		      "%s: read %" PRIu64 "+%zu wrote outside its range", name, off, len);
	free(buf);
}

/*
 * The whole block behind a piece pinned at stream offset `at`: it holds
 * the piece, and all of it is the stream's bytes; a piece of zeros has
 * none.
 */
static void
check_extent(const struct hexz_block_ref *ref, const struct iovec *piece,
	     const struct stream_data *sd, uint64_t at, const char *name)
{
	size_t blen = 99;
	const unsigned char *block = hexz_block_extent(ref, &blen);
	const unsigned char *p = piece->iov_base;
	uint64_t skip;

	if (!ref) {
		ck_assert_ptr_null(block);
		ck_assert_uint_eq(blen, 0);
		return;
	}
	ck_assert_ptr_nonnull(block);
	ck_assert_msg(p >= block && p + piece->iov_len <= block + blen,
		      "%s: piece at %" PRIu64 " lies outside its block", name, at);
	skip = (uint64_t)(p - block);
	ck_assert_uint_le(skip, at);
	ck_assert_uint_le(at - skip + blen, sd->size);
	ck_assert_msg(memcmp(block, sd->want + (at - skip), blen) == 0,
		      "%s: block of the piece at %" PRIu64 ": wrong bytes", name, at);
}

/* Pin [off, off+len) with `cap` pieces at a time, looping; compare. */
static void
check_pinned(struct hexz_archive *ar, const struct stream_data *sd, uint64_t off, size_t len,
	     size_t cap, const char *name)
{
	struct iovec iov[8];
	struct hexz_block_ref *refs[8];
	size_t done = 0;

	ck_assert_uint_le(cap, 8);
	while (done < len) {
		struct hexz_error err = { 0 };
		size_t count = 99, covered = 0, i, sum = 0;
		int ret = hexz_archive_pin(ar, sd->stream, off + done, len - done, iov, refs, cap,
					   &count, &covered, &err);

		ck_assert_msg(ret == HEXZ_OK, "%s: pin %" PRIu64 "+%zu: %s", name, off + done,
			      len - done, err.message);
		ck_assert_uint_ge(count, 1);
		ck_assert_uint_le(count, cap);
		ck_assert_uint_ge(covered, 1);
		ck_assert_uint_le(covered, len - done);
		for (i = 0; i < count; i++) {
			uint64_t at = off + done + sum;

			ck_assert_msg(memcmp(iov[i].iov_base, sd->want + at, iov[i].iov_len) == 0,
				      "%s: pinned piece %zu at %" PRIu64 ": wrong bytes", name, i, at);
			check_extent(refs[i], &iov[i], sd, at, name);
			sum += iov[i].iov_len;
		}
		ck_assert_uint_eq(sum, covered);
		/* Less than asked only when every piece was used. */
		if (covered < len - done)
			ck_assert_uint_eq(count, cap);
		hexz_block_unpin(refs, count);
		for (i = 0; i < count; i++)
			ck_assert_ptr_null(refs[i]);
		done += covered;
	}
}

static void
check_stream(struct hexz_archive *ar, const struct stream_data *sd, uint32_t block_size, bool fixed,
	     uint64_t seed, const char *name)
{
	unsigned int i, rounds = scaled(300);
	uint64_t state = seed | 1, k;

	ck_assert_uint_eq(hexz_archive_stream_size(ar, sd->stream), sd->size);
	/* Whole, then at random: odd sizes, inside blocks and across many. */
	check_range(ar, sd, 0, sd->size, name);
	if (sd->size == 0)
		return;
	for (i = 0; i < rounds; i++) {
		uint64_t r = next_random(&state);
		uint64_t off = r % sd->size;
		size_t max = sd->size - off, len;

		switch ((r >> 40) % 4) {
		case 0:
			len = 1 + (size_t)(next_random(&state) % 17);
			break;
		case 1:
			len = 1 + (size_t)(next_random(&state) % (3 * block_size + 7));
			break;
		case 2:
			len = (size_t)(next_random(&state) % (max + 1));
			break;
		default:
			len = 0;
			break;
		}
		check_range(ar, sd, off, len < max ? len : max, name);
	}
	/* Across every block boundary of fixed-size blocks (and so every page boundary). */
	for (k = block_size; fixed && k < sd->size; k += block_size) {
		check_range(ar, sd, k - 1, 2, name);
		check_range(ar, sd, k - 3,
			    sd->size - k + 3 < 2 * (size_t)block_size + 6
				    ? sd->size - k + 3
				    : 2 * (size_t)block_size + 6,
			    name);
	}
	/* The zero-copy path, one and two pieces at a time, from an odd offset. */
	check_pinned(ar, sd, 0, sd->size, 1, name);
	check_pinned(ar, sd, sd->size / 3, sd->size - sd->size / 3, 2, name);
	check_pinned(ar, sd, 1, sd->size - 1, 7, name);
	check_pinned(ar, sd, sd->size - 1, 1, 1, name);
}

static void
check_facts(struct hexz_archive *ar, struct json_object *c, const char *path)
{
	struct json_object *blocks = jget(c, "blocks"), *pages = jget(c, "pages");
	struct json_object *parents = jget(c, "parents");
	struct hexz_archive_info info;
	struct hexz_archive_scan scan;
	struct hexz_error err = { 0 };
	const char *name = jstr(c, "name");
	size_t i;

	hexz_archive_get_info(ar, &info);
	ck_assert_uint_eq(info.format_version, 1);
	ck_assert_uint_eq(info.block_size, (uint64_t)jint(c, "block_size"));
	ck_assert_int_eq(info.compression, strcmp(jstr(c, "compression"), "zstd") == 0
						   ? HEXZ_COMPRESSION_ZSTD
						   : HEXZ_COMPRESSION_LZ4);
	ck_assert_int_eq(info.encrypted, json_object_get_boolean(jget(c, "encrypted")));
	ck_assert_int_eq(info.has_dictionary, json_object_get_boolean(jget(c, "dictionary")));
	ck_assert_int_eq(info.variable_blocks, json_object_get_boolean(jget(c, "variable_blocks")));
	ck_assert_int_eq(info.has_manifest, !jnull(c, "manifest"));
	ck_assert_int_eq(info.has_signature, !jnull(c, "signature_public_key"));
	ck_assert_uint_eq(info.file_size, file_size(path));
	ck_assert_uint_eq(info.stream_size[0],
			  jnull(c, "main") ? 0 : jint(jget(c, "main"), "size"));
	ck_assert_uint_eq(info.stream_size[1],
			  jnull(c, "auxiliary") ? 0 : jint(jget(c, "auxiliary"), "size"));
	ck_assert_msg(info.block_count[0] + info.block_count[1] == (uint64_t)jint(blocks, "total"),
		      "%s: %" PRIu64 " + %" PRIu64 " blocks", name, info.block_count[0],
		      info.block_count[1]);
	ck_assert_uint_eq(info.page_count[0], (uint64_t)jint(pages, "main"));
	ck_assert_uint_eq(info.page_count[1], (uint64_t)jint(pages, "auxiliary"));
	ck_assert_uint_eq(info.parent_count, json_object_array_length(parents));
	for (i = 0; i < info.parent_count; i++) {
		ck_assert_str_eq(hexz_archive_parent_path(ar, i),
				 json_object_get_string(json_object_array_get_idx(parents, i)));
		ck_assert_ptr_nonnull(hexz_archive_parent(ar, i));
	}
	ck_assert_ptr_null(hexz_archive_parent(ar, info.parent_count));
	ck_assert_str_eq(hexz_archive_location(ar), path);

	ck_assert_int_eq(hexz_archive_scan(ar, &scan, &err), HEXZ_OK);
	ck_assert_msg(scan.data_blocks[0] + scan.data_blocks[1] ==
			      (uint64_t)(jint(blocks, "data") + jint(blocks, "dedup")),
		      "%s: %" PRIu64 " data blocks", name,
		      scan.data_blocks[0] + scan.data_blocks[1]);
	ck_assert_uint_eq(scan.zero_blocks[0] + scan.zero_blocks[1],
			  (uint64_t)jint(blocks, "zero"));
	ck_assert_uint_eq(scan.parent_blocks[0] + scan.parent_blocks[1],
			  (uint64_t)(jint(blocks, "parent") + jint(blocks, "parent-position")));
	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(scan.data_blocks[i] + scan.zero_blocks[i] + scan.parent_blocks[i],
				  info.block_count[i]);
		ck_assert_int_eq(scan.stored_bytes[i] > 0, scan.data_blocks[i] > 0);
	}
}

/* Every sound case of the corpus, through a private cache and a shared one. */
START_TEST(test_read_corpus)
{
	size_t i, n = json_object_array_length(corpus_cases), checked = 0;
	struct hexz_cache *cache = NULL;

	ck_assert_int_eq(hexz_cache_create(2 * MIB, 2, &cache), HEXZ_OK);
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(corpus_cases, i);
		const char *name = jstr(c, "name");
		char *path;
		int pass;

		if (!jnull(c, "expect_error") ||
		    json_object_array_length(jget(c, "damaged_blocks")))
			continue;
		path = corpus_path(jstr(c, "archive"));
		for (pass = 0; pass < 2; pass++) {
			struct hexz_archive *ar = NULL;
			struct hexz_error err = { 0 };
			struct stream_data sd[2];
			unsigned char *want[2];
			int ret = open_with(path, pass ? cache : NULL, jstr(c, "password"), &ar,
					    &err);

			ck_assert_msg(ret == HEXZ_OK, "%s: %s", name, err.message);
			check_facts(ar, c, path);
			want[0] = expected_stream(c, "main", &sd[0].size);
			want[1] = expected_stream(c, "auxiliary", &sd[1].size);
			for (int s = 0; s < 2; s++) {
				sd[s].stream = (enum hexz_stream)s;
				sd[s].want = want[s];
				check_stream(ar, &sd[s], (uint32_t)jint(c, "block_size"),
					     !json_object_get_boolean(jget(c, "variable_blocks")),
					     i * 2 + (uint64_t)s + 1, name);
				free(want[s]);
			}
			hexz_archive_close(ar);
		}
		free(path);
		checked++;
	}
	ck_assert_uint_ge(checked, 30);
	hexz_cache_destroy(cache);
}
END_TEST

START_TEST(test_read_bounds)
{
	struct hexz_archive *ar = open_case("both_streams", NULL);
	struct hexz_error err = { 0 };
	uint64_t main_size = hexz_archive_stream_size(ar, HEXZ_STREAM_MAIN);
	uint64_t aux_size = hexz_archive_stream_size(ar, HEXZ_STREAM_AUXILIARY);
	unsigned char buf[64], sentinel[64];
	static const struct {
		uint64_t off;
		size_t len;
	} bad[] = {
		{ 131195, 1 },	       { 131194, 2 },	  { 131196, 0 },
		{ 0, 131196 },	       { UINT64_MAX, 1 }, { UINT64_MAX, 0 },
		{ UINT64_MAX - 2, 5 }, { 1, SIZE_MAX },	  { 131195, SIZE_MAX },
	};
	size_t i, count = 7, covered = 7;
	struct iovec iov[2];
	struct hexz_block_ref *refs[2];

	ck_assert_uint_eq(main_size, 131195);
	ck_assert_uint_eq(aux_size, 49159);
	memset(sentinel, 0x5c, sizeof(sentinel));
	/* The end itself with nothing to read, and with a NULL buffer. */
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, main_size, 0, buf, &err), HEXZ_OK);
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, main_size, 0, NULL, &err),
			 HEXZ_OK);
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 0, 0, NULL, &err), HEXZ_OK);
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_AUXILIARY, aux_size - 7, 7, buf, &err),
			 HEXZ_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(buf, sentinel, sizeof(buf));
		ck_assert_msg(hexz_archive_read(ar, HEXZ_STREAM_MAIN, bad[i].off, bad[i].len, buf,
						&err) == HEXZ_ERR_END_OF_FILE,
			      "read %" PRIu64 "+%zu", bad[i].off, bad[i].len);
		ck_assert_mem_eq(buf, sentinel, sizeof(buf));
		ck_assert_int_eq(err.code, HEXZ_ERR_END_OF_FILE);
		ck_assert_ptr_nonnull(strstr(err.message, hexz_archive_location(ar)));
		ck_assert_int_eq(hexz_archive_pin(ar, HEXZ_STREAM_MAIN, bad[i].off, bad[i].len, iov,
						  refs, 2, &count, &covered, &err),
				 HEXZ_ERR_END_OF_FILE);
		ck_assert_uint_eq(count, 0);
		ck_assert_uint_eq(covered, 0);
	}
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_AUXILIARY, aux_size, 1, buf, &err),
			 HEXZ_ERR_END_OF_FILE);
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_AUXILIARY, aux_size - 1, 2, buf, &err),
			 HEXZ_ERR_END_OF_FILE);
	ck_assert_mem_eq(buf, sentinel, sizeof(buf));

	/* Unknown streams, NULL pointers. */
	ck_assert_int_eq(hexz_archive_read(ar, (enum hexz_stream)2, 0, 1, buf, &err),
			 HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_archive_read(ar, (enum hexz_stream)(-1), 0, 1, buf, &err),
			 HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 0, 5, NULL, &err),
			 HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_archive_read(NULL, HEXZ_STREAM_MAIN, 0, 5, buf, &err),
			 HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_mem_eq(buf, sentinel, sizeof(buf));
	ck_assert_uint_eq(hexz_archive_stream_size(ar, (enum hexz_stream)7), 0);
	ck_assert_int_eq(
		hexz_archive_pin(ar, HEXZ_STREAM_MAIN, 0, 5, iov, refs, 0, &count, &covered, &err),
		HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(
		hexz_archive_pin(ar, HEXZ_STREAM_MAIN, 0, 5, NULL, refs, 2, &count, &covered, &err),
		HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_archive_pin(ar, (enum hexz_stream)3, 0, 5, iov, refs, 2, &count,
					  &covered, &err),
			 HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_archive_scan(ar, NULL, &err), HEXZ_ERR_INVALID_ARGUMENT);
	/* Pinning nothing pins nothing. */
	ck_assert_int_eq(hexz_archive_pin(ar, HEXZ_STREAM_MAIN, 100, 0, iov, refs, 2, &count,
					  &covered, &err),
			 HEXZ_OK);
	ck_assert_uint_eq(count, 0);
	ck_assert_uint_eq(covered, 0);
	/* Prefetch of nonsense is ignored. */
	hexz_archive_prefetch(ar, (enum hexz_stream)5, 0, 10);
	hexz_archive_prefetch(ar, HEXZ_STREAM_MAIN, UINT64_MAX, UINT64_MAX);
	hexz_archive_prefetch(NULL, HEXZ_STREAM_MAIN, 0, 10);
	hexz_archive_close(ar);

	/* Empty and absent streams. */
	for (i = 0; i < 3; i++) {
		static const char *const names[] = { "empty", "aux_only", "empty_main" };

		ar = open_case(names[i], NULL);
		ck_assert_uint_eq(hexz_archive_stream_size(ar, HEXZ_STREAM_MAIN), 0);
		ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 0, 0, buf, &err), HEXZ_OK);
		ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 0, 1, buf, &err),
				 HEXZ_ERR_END_OF_FILE);
		ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 1, 0, buf, &err),
				 HEXZ_ERR_END_OF_FILE);
		hexz_archive_close(ar);
	}
}
END_TEST

/* Zero blocks are lent without a reference; data blocks with one. */
START_TEST(test_pin_zero_blocks)
{
	struct hexz_archive *ar = open_case("zero_blocks", NULL);
	struct hexz_error err = { 0 };
	struct iovec iov[16];
	struct hexz_block_ref *refs[16];
	size_t count = 0, covered = 0, i;
	const unsigned char *p;

	/* zero_main: 5 zero blocks, one of 'x', 3 zero blocks and 100 zero bytes. */
	ck_assert_int_eq(hexz_archive_pin(ar, HEXZ_STREAM_MAIN, 0, 4096, iov, refs, 1, &count,
					  &covered, &err),
			 HEXZ_OK);
	ck_assert_uint_eq(count, 1);
	ck_assert_uint_eq(covered, 4096);
	ck_assert_ptr_null(refs[0]);
	ck_assert(tu_all_bytes(iov[0].iov_base, 4096, 0));
	ck_assert_int_eq(hexz_archive_pin(ar, HEXZ_STREAM_MAIN, 5 * 4096 - 10, 4106 + 4096 + 30,
					  iov, refs, 16, &count, &covered, &err),
			 HEXZ_OK);
	ck_assert_uint_eq(count, 4);
	ck_assert_uint_eq(covered, 4106 + 4096 + 30);
	ck_assert_ptr_null(refs[0]);
	ck_assert_ptr_nonnull(refs[1]);
	ck_assert_ptr_null(refs[2]);
	ck_assert_ptr_null(refs[3]);
	ck_assert_uint_eq(iov[0].iov_len, 10);
	ck_assert_uint_eq(iov[1].iov_len, 4096);
	ck_assert_uint_eq(iov[3].iov_len, 30);
	ck_assert(tu_all_bytes(iov[1].iov_base, 4096, 'x'));
	/* Pinned bytes stay valid after the archive's other reads. */
	p = iov[1].iov_base;
	for (i = 0; i < 50; i++) {
		unsigned char buf[4096 * 2];

		ck_assert_int_eq(
			hexz_archive_read(ar, HEXZ_STREAM_MAIN, (i % 8) * 4096, 4096, buf, &err),
			HEXZ_OK);
	}
	ck_assert(tu_all_bytes(p, 4096, 'x'));
	hexz_block_unpin(refs, count);
	for (i = 0; i < count; i++)
		ck_assert_ptr_null(refs[i]);
	hexz_archive_close(ar);
}
END_TEST

/* A pinned block outlives its eviction from a cache that holds almost nothing. */
START_TEST(test_pin_survives_eviction)
{
	struct json_object *c = corpus_case("lz4_fixed");
	struct stream_data sd = { .stream = HEXZ_STREAM_MAIN };
	struct hexz_cache *cache = NULL;
	struct hexz_cache_stats stats;
	struct hexz_archive *ar;
	struct iovec iov[2];
	struct hexz_block_ref *refs[2];
	size_t count = 0, covered = 0;
	unsigned char *want = expected_stream(c, "main", &sd.size);
	uint64_t off;

	sd.want = want;
	ck_assert_int_eq(hexz_cache_create(1, 0, &cache), HEXZ_OK);
	ar = open_case("lz4_fixed", cache);
	ck_assert_int_eq(hexz_archive_pin(ar, HEXZ_STREAM_MAIN, 100, 5000, iov, refs, 2, &count,
					  &covered, NULL),
			 HEXZ_OK);
	ck_assert_uint_eq(covered, 5000);
	/* Every other block through the cache, twice: the pinned ones are evicted. */
	for (int round = 0; round < 2; round++)
		for (off = 8192; off < sd.size; off += 4096)
			check_range(ar, &sd, off, sd.size - off < 4096 ? sd.size - off : 4096,
				    "lz4_fixed");
	hexz_cache_get_stats(cache, &stats);
	ck_assert_uint_gt(stats.evictions, 0);
	ck_assert_mem_eq(iov[0].iov_base, want + 100, iov[0].iov_len);
	ck_assert_mem_eq(iov[1].iov_base, want + 100 + iov[0].iov_len, iov[1].iov_len);
	hexz_block_unpin(refs, count);
	check_range(ar, &sd, 0, sd.size, "lz4_fixed");
	hexz_archive_close(ar);
	hexz_cache_get_stats(cache, &stats);
	ck_assert_uint_eq(stats.bytes, 0);
	hexz_cache_destroy(cache);
	free(want);
}
END_TEST

/* CRC-32 (zlib's), to re-seal a block the test tampered with. */
static uint32_t
crc32_of(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

/*
 * A copy of plain archive `src` as `dst` where `edit` changes the stored
 * bytes of block `i` of its first index page, and the entry's CRC-32 is
 * fixed to match: damage only decoding can find.
 */
static void
reseal_block(const char *src, const char *dst, size_t i, void (*edit)(unsigned char *, size_t))
{
	size_t n;
	unsigned char *buf = slurp(src, &n);
	uint64_t io = get_le64(buf + HDR_INDEX_OFFSET);
	uint64_t entry = get_le64(buf + io + 8) + 8 + 52 * i;
	uint64_t off = get_le64(buf + entry);
	uint32_t len = (uint32_t)(get_le64(buf + entry + 8) & 0xffffffffu), crc;

	ck_assert_uint_gt(len, 16);
	ck_assert_uint_le(off + len, n);
	edit(buf + off, len);
	crc = crc32_of(buf + off, len);
	for (int k = 0; k < 4; k++)
		buf[entry + 16 + k] = (unsigned char)(crc >> (8 * k));
	tu_write_file(dst, buf, n);
	free(buf);
}

static void
edit_lz4_prefix(unsigned char *p, size_t len)
{
	(void)len;
	p[0] ^= 1; /* the decompressed size before the LZ4 block: now 4095 or 4097 */
}

static void
edit_middle(unsigned char *p, size_t len)
{
	p[len / 2] ^= 0x40;
}

static void
edit_zstd_magic(unsigned char *p, size_t len)
{
	(void)len;
	p[0] ^= 0xff;
}

/* Open `path`, read block `bad` (4 KiB blocks) expecting `code`, the others fine. */
static void
check_block_error(const char *path, const char *password, uint64_t size, size_t bad, int code,
		  const char *word)
{
	struct hexz_archive *ar = NULL;
	struct hexz_error err = { 0 };
	unsigned char buf[4096], want[4096];
	char label[32];
	int ret = open_with(path, NULL, password, &ar, &err);
	uint64_t off;

	ck_assert_msg(ret == HEXZ_OK, "%s: %s", path, err.message);
	snprintf(label, sizeof(label), "block %zu:", bad);
	for (off = 0; off < size; off += 4096) {
		size_t len = size - off < 4096 ? (size_t)(size - off) : 4096;

		ret = hexz_archive_read(ar, HEXZ_STREAM_MAIN, off, len, buf, &err);
		if (off / 4096 == bad) {
			ck_assert_msg(ret == code, "%s: block %zu: %d %s", path, bad, ret,
				      err.message);
			ck_assert_msg(strstr(err.message, label) && strstr(err.message, word) &&
					      strstr(err.message, path),
				      "message: %s", err.message);
		} else {
			ck_assert_msg(ret == HEXZ_OK, "%s: at %" PRIu64 ": %s", path, off,
				      err.message);
			tu_pattern_fill(want, off, len);
			ck_assert_mem_eq(buf, want, len);
		}
	}
	hexz_archive_close(ar);
}

/* Blocks that pass their CRC and still cannot be decoded fail alone, with their own status. */
START_TEST(test_block_decode_errors)
{
	char *main_file = tu_path(tmp, "m");
	char *src = tu_path(tmp, "src.hxz");
	char *bad = tu_path(tmp, "bad.hxz");

	tu_write_pattern_file(main_file, 20000);
	/* LZ4: a size prefix that is not the block's logical length. */
	writer(src, "--main", main_file, "--block-size", "4096", NULL);
	reseal_block(src, bad, 2, edit_lz4_prefix);
	check_block_error(bad, NULL, 20000, 2, HEXZ_ERR_DECOMPRESS, "decompress");
	/* zstd: not a frame. */
	writer(src, "--main", main_file, "--block-size", "4096", "-c", "zstd", NULL);
	reseal_block(src, bad, 1, edit_zstd_magic);
	check_block_error(bad, NULL, 20000, 1, HEXZ_ERR_DECOMPRESS, "decompress");
	/* AES-GCM: a ciphertext byte changed (block 0 proves the password at open). */
	writer(src, "--main", main_file, "--block-size", "4096", "--password", "pw", "--iterations",
	       "1000", NULL);
	reseal_block(src, bad, 3, edit_middle);
	check_block_error(bad, "pw", 20000, 3, HEXZ_ERR_DECRYPT, "authentication");
	free(bad);
	free(src);
	free(main_file);
}
END_TEST

/* A parent reference that resolves neither by hash nor by position. */
START_TEST(test_parent_block_missing)
{
	char *base_data = tu_path(tmp, "base.data");
	char *child_data = tu_path(tmp, "child.data");
	char *base = tu_path(tmp, "base.hxz");
	char *child = tu_path(tmp, "child.hxz");
	unsigned char want[4096], buf[4096];
	struct hexz_archive *ar = NULL;
	struct hexz_error err = { 0 };
	size_t n;
	unsigned char *raw;

	/* The child holds the base's 5 blocks by reference, then one of its own. */
	tu_write_pattern_file(base_data, 5 * 4096);
	tu_write_pattern_file(child_data, 6 * 4096);
	writer(base, "--main", base_data, "--block-size", "4096", NULL);
	writer(child, "--main", child_data, "--block-size", "4096", "--parent", base, NULL);
	ck_assert_int_eq(hexz_archive_open_path(child, NULL, &ar, &err), HEXZ_OK);
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 3 * 4096, 4096, buf, &err),
			 HEXZ_OK);
	tu_pattern_fill(want, 3 * 4096, 4096);
	ck_assert_mem_eq(buf, want, 4096);
	hexz_archive_close(ar);
	/* The base replaced by a shorter, different archive. */
	raw = slurp(child_data, &n);
	memset(raw, 'q', 4096);
	tu_write_file(base_data, raw, 4096);
	free(raw);
	writer(base, "--main", base_data, "--block-size", "4096", NULL);
	ck_assert_int_eq(hexz_archive_open_path(child, NULL, &ar, &err), HEXZ_OK);
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 3 * 4096, 4096, buf, &err),
			 HEXZ_ERR_PARENT_BLOCK_MISSING);
	ck_assert_ptr_nonnull(strstr(err.message, "block 3"));
	ck_assert_ptr_nonnull(strstr(err.message, child));
	/* Its own block still reads. */
	ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 5 * 4096, 4096, buf, &err),
			 HEXZ_OK);
	tu_pattern_fill(want, 5 * 4096, 4096);
	ck_assert_mem_eq(buf, want, 4096);
	hexz_archive_close(ar);
	free(child);
	free(base);
	free(child_data);
	free(base_data);
}
END_TEST

/* A block whose stored bytes fail their CRC fails alone, every time. */
START_TEST(test_damaged_block)
{
	struct json_object *c = corpus_case("corrupt_block");
	struct json_object *range = json_object_array_get_idx(jget(c, "damaged_ranges"), 0);
	int64_t number =
		json_object_get_int64(json_object_array_get_idx(jget(c, "damaged_blocks"), 0));
	uint64_t off = (uint64_t)jint(range, "offset"), len = (uint64_t)jint(range, "length");
	struct hexz_cache *cache = NULL;
	struct hexz_archive *ar;
	struct hexz_error err = { 0 };
	struct hexz_cache_stats stats;
	struct stream_data sd = { .stream = HEXZ_STREAM_MAIN };
	unsigned char *want, *buf;
	char label[32];
	struct iovec iov[4];
	struct hexz_block_ref *refs[4];
	size_t count = 9, covered = 9;
	int round;

	ck_assert_int_eq(hexz_cache_create(4 * MIB, 0, &cache), HEXZ_OK);
	ar = open_case("corrupt_block", cache);
	want = expected_stream(c, "main", &sd.size);
	sd.want = want;
	buf = malloc(sd.size);
	ck_assert_ptr_nonnull(buf);
	snprintf(label, sizeof(label), "block %" PRId64 ":", number);
	for (round = 0; round < 3; round++) {
		/* The block, a byte of it, a read across it. */
		ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, off, len, buf, &err),
				 HEXZ_ERR_CHECKSUM);
		ck_assert_msg(strstr(err.message, label), "message: %s", err.message);
		ck_assert_ptr_nonnull(strstr(err.message, hexz_archive_location(ar)));
		ck_assert_ptr_nonnull(strstr(err.message, "CRC"));
		ck_assert_int_eq(
			hexz_archive_read(ar, HEXZ_STREAM_MAIN, off + len - 1, 1, buf, &err),
			HEXZ_ERR_CHECKSUM);
		ck_assert_int_eq(hexz_archive_read(ar, HEXZ_STREAM_MAIN, 0, sd.size, buf, &err),
				 HEXZ_ERR_CHECKSUM);
		ck_assert_int_eq(hexz_archive_pin(ar, HEXZ_STREAM_MAIN, off - 5, 10, iov, refs, 4,
						  &count, &covered, &err),
				 HEXZ_ERR_CHECKSUM);
		ck_assert_uint_eq(count, 0);
		/* Everything else reads. */
		check_range(ar, &sd, 0, off, "corrupt_block");
		check_range(ar, &sd, off + len, sd.size - off - len, "corrupt_block");
		check_range(ar, &sd, off - 1, 1, "corrupt_block");
		check_range(ar, &sd, off + len, 1, "corrupt_block");
	}
	hexz_cache_get_stats(cache, &stats);
	ck_assert_uint_ge(stats.failures, 3);
	hexz_archive_close(ar);
	hexz_cache_get_stats(cache, &stats);
	ck_assert_uint_eq(stats.bytes, 0);
	ck_assert_uint_eq(stats.blocks, 0);
	hexz_cache_destroy(cache);
	free(buf);
	free(want);
}
END_TEST

static void
wait_for_prefetches(struct hexz_cache *cache, uint64_t at_least)
{
	struct hexz_cache_stats stats;
	double deadline = tu_now() + 30;

	do {
		hexz_cache_get_stats(cache, &stats);
		if (stats.prefetches >= at_least)
			return;
		usleep(1000);
	} while (tu_now() < deadline);
	ck_abort_msg("%" PRIu64 " prefetches after 30 s, expected %" PRIu64, stats.prefetches,
		     at_least);
}

START_TEST(test_prefetch)
{
	struct json_object *c = corpus_case("lz4_fixed");
	struct stream_data sd = { .stream = HEXZ_STREAM_MAIN };
	struct hexz_cache *cache = NULL, *plain = NULL;
	struct hexz_cache_stats before, after;
	struct hexz_archive *ar;
	unsigned char *want = expected_stream(c, "main", &sd.size);

	sd.want = want;
	ck_assert_int_eq(hexz_cache_create(8 * MIB, 2, &cache), HEXZ_OK);
	ar = open_case("lz4_fixed", cache);
	/* 25 data blocks: all queued, decoded by the workers. */
	hexz_archive_prefetch(ar, HEXZ_STREAM_MAIN, 0, sd.size);
	wait_for_prefetches(cache, 25);
	hexz_cache_get_stats(cache, &before);
	check_range(ar, &sd, 0, sd.size, "lz4_fixed");
	hexz_cache_get_stats(cache, &after);
	ck_assert_uint_eq(after.misses, before.misses);
	ck_assert_uint_ge(after.hits, before.hits + 25);
	/* Clipped to the stream, and again (everything cached: nothing to do). */
	hexz_archive_prefetch(ar, HEXZ_STREAM_MAIN, sd.size - 10, UINT64_MAX);
	hexz_archive_prefetch(ar, HEXZ_STREAM_MAIN, 0, sd.size);
	hexz_archive_close(ar);

	/* A thin archive: its parent's blocks are prefetched through it. */
	ar = open_case("thin_child", cache);
	hexz_archive_prefetch(ar, HEXZ_STREAM_AUXILIARY, 0, UINT64_MAX);
	{
		struct json_object *tc = corpus_case("thin_child");
		struct stream_data aux = { .stream = HEXZ_STREAM_AUXILIARY };
		unsigned char *aw = expected_stream(tc, "auxiliary", &aux.size);

		aux.want = aw;
		wait_for_prefetches(cache, 26);
		check_range(ar, &aux, 0, aux.size, "thin_child");
		free(aw);
	}
	hexz_archive_close(ar);
	hexz_cache_destroy(cache);

	/* Without workers, prefetch does nothing. */
	ck_assert_int_eq(hexz_cache_create(8 * MIB, 0, &plain), HEXZ_OK);
	ar = open_case("lz4_fixed", plain);
	hexz_archive_prefetch(ar, HEXZ_STREAM_MAIN, 0, sd.size);
	hexz_cache_get_stats(plain, &after);
	ck_assert_uint_eq(after.prefetches, 0);
	ck_assert_uint_eq(after.blocks, 0);
	check_range(ar, &sd, 0, sd.size, "lz4_fixed");
	hexz_archive_close(ar);
	hexz_cache_destroy(plain);
	free(want);
}
END_TEST

/* ---- manifest ---- */

/* The tree node of `path`, found a component at a time, or HEXZ_TREE_NONE. */
static uint32_t
find_path(const struct hexz_archive *ar, const char *path)
{
	char copy[PATH_MAX], *name, *save = NULL;
	uint32_t node = 0;

	ck_assert_uint_lt(strlen(path), sizeof(copy));
	strcpy(copy, path);
	for (name = strtok_r(copy, "/", &save); name && node != HEXZ_TREE_NONE;
	     name = strtok_r(NULL, "/", &save))
		node = hexz_archive_tree_lookup(ar, node, name);
	return node;
}

/* The files of the tree, counted by walking every node; checks the links. */
static size_t
tree_file_count(const struct hexz_archive *ar)
{
	uint32_t count = hexz_archive_tree_count(ar), i;
	size_t files = 0;

	for (i = 0; i < count; i++) {
		struct hexz_tree_node n, p;

		ck_assert_int_eq(hexz_archive_tree_node(ar, i, &n), HEXZ_OK);
		ck_assert_int_eq(hexz_archive_tree_node(ar, n.parent, &p), HEXZ_OK);
		ck_assert(p.is_dir);
		ck_assert(i == 0 || (n.parent != i && i >= p.first_child &&
				     i < p.first_child + p.child_count));
		ck_assert_uint_eq(hexz_archive_tree_lookup(ar, n.parent, n.name),
				  i == 0 ? HEXZ_TREE_NONE : i);
		files += !n.is_dir;
	}
	ck_assert_int_eq(hexz_archive_tree_node(ar, count, &(struct hexz_tree_node){ 0 }),
			 HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(files, hexz_archive_manifest_count(ar));
	return files;
}

START_TEST(test_manifest_corpus)
{
	static const char *const names[] = { "dir_tree", "dir_tree_signed" };

	for (size_t t = 0; t < 2; t++) {
		struct json_object *c = corpus_case(names[t]);
		struct json_object *files = jget(c, "manifest");
		struct hexz_archive *ar = open_case(names[t], NULL);
		size_t n = json_object_array_length(files), i, j = 0;
		char *path_of;

		ck_assert_uint_eq(hexz_archive_manifest_count(ar), n);
		ck_assert_uint_eq(hexz_archive_manifest_rejected_count(ar), 0);
		ck_assert_ptr_null(hexz_archive_manifest_rejected(ar, 0));
		for (i = 0; i < n; i++) {
			struct json_object *f = json_object_array_get_idx(files, i);
			const char *want_path = jstr(f, "path");
			struct hexz_tree_node e;
			unsigned char *want, *got;
			char path[PATH_MAX];
			size_t len;
			uint32_t node = find_path(ar, want_path);

			/* Each file of corpus.json is there, found name by name. */
			ck_assert_msg(node != HEXZ_TREE_NONE, "%s: %s not in the tree", names[t],
				      want_path);
			ck_assert_int_eq(hexz_archive_tree_node(ar, node, &e), HEXZ_OK);
			ck_assert(!e.is_dir);
			ck_assert_uint_eq(hexz_archive_tree_path(ar, node, path, sizeof(path)),
					  strlen(want_path));
			ck_assert_str_eq(path, want_path);
			ck_assert_uint_eq(e.offset, (uint64_t)jint(f, "offset"));
			ck_assert_uint_eq(e.size, (uint64_t)jint(f, "size"));
			ck_assert_uint_eq(e.mode, (uint64_t)jint(f, "mode"));
			ck_assert_int_eq(e.mtime, jint(f, "mtime"));
			path_of = corpus_path(jstr(f, "file"));
			want = slurp(path_of, &len);
			ck_assert_uint_eq(len, e.size);
			got = malloc(len + 1);
			ck_assert_int_eq(
				hexz_archive_read(ar, HEXZ_STREAM_MAIN, e.offset, len, got, NULL),
				HEXZ_OK);
			ck_assert_mem_eq(got, want, len);
			free(got);
			free(want);
			free(path_of);
		}
		/* And nothing else: the files of the tree are those. */
		ck_assert_uint_eq(tree_file_count(ar), n);
		(void)j;
		hexz_archive_close(ar);
	}
	/* No manifest: nothing listed. */
	{
		struct hexz_archive *ar = open_case("lz4_fixed", NULL);

		ck_assert_uint_eq(hexz_archive_manifest_count(ar), 0);
		ck_assert_uint_eq(hexz_archive_tree_count(ar), 0);
		ck_assert_int_eq(hexz_archive_tree_node(ar, 0, &(struct hexz_tree_node){ 0 }),
				 HEXZ_ERR_INVALID_ARGUMENT);
		hexz_archive_close(ar);
	}
}
END_TEST

static bool
has_rejection(struct hexz_archive *ar, const char *needle, const char *reason)
{
	const char *r;

	for (size_t i = 0; (r = hexz_archive_manifest_rejected(ar, i)) != NULL; i++)
		if (strstr(r, needle) && strstr(r, reason))
			return true;
	return false;
}

START_TEST(test_manifest_hostile)
{
	/* path, offset, size; every entry mode 0100644, mtime 1 */
	static const struct {
		const char *path;
		unsigned int offset, size;
	} files[] = {
		{ "ok/a.txt", 0, 100 }, { "../evil", 0, 10 },	 { "/etc/passwd", 0, 10 },
		{ "dup", 100, 10 },	{ "dup", 200, 10 },	 { "d", 300, 10 },
		{ "d/x", 310, 10 },	{ "past", 19990, 11 },	 { "a/./b", 0, 1 },
		{ "", 0, 1 },		{ "z-last", 19990, 10 },
	};
	char doc[2048];
	size_t used;
	static const char *const valid[] = { "d/x", "dup", "ok/a.txt", "z-last" };
	struct hexz_tree_node last;
	char *main_file = tu_path(tmp, "m");
	char *json = tu_path(tmp, "hostile.json");
	char *out = tu_path(tmp, "hostile.hxz");
	struct hexz_archive *ar = NULL;
	struct hexz_error err = { 0 };
	size_t i;

	used = (size_t)snprintf(doc, sizeof(doc), "{\"files\": [");
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		used += (size_t)snprintf(doc + used, sizeof(doc) - used,
					 "%s{\"path\": \"%s\", \"offset\": %u, \"size\": %u, "
					 "\"mode\": 33188, \"mtime\": 1}",
					 i ? ", " : "", files[i].path, files[i].offset,
					 files[i].size);
	used += (size_t)snprintf(doc + used, sizeof(doc) - used, "]}");
	ck_assert_uint_lt(used, sizeof(doc));
	tu_write_pattern_file(main_file, 20000);
	tu_write_file(json, doc, used);
	writer(out, "--main", main_file, "--manifest-json", json, NULL);
	ck_assert_int_eq(hexz_archive_open_path(out, NULL, &ar, &err), HEXZ_OK);
	ck_assert_uint_eq(hexz_archive_manifest_count(ar), 4);
	for (i = 0; i < 4; i++)
		ck_assert_uint_ne(find_path(ar, valid[i]), HEXZ_TREE_NONE);
	ck_assert_uint_eq(tree_file_count(ar), 4);
	ck_assert_int_eq(hexz_archive_tree_node(ar, find_path(ar, "z-last"), &last), HEXZ_OK);
	ck_assert_uint_eq(last.offset, 19990);
	ck_assert_uint_eq(hexz_archive_manifest_rejected_count(ar), 7);
	ck_assert(has_rejection(ar, "../evil", "\"..\""));
	ck_assert(has_rejection(ar, "/etc/passwd", "absolute"));
	ck_assert(has_rejection(ar, "dup", "entry"));
	ck_assert(has_rejection(ar, "\"d\"", "d/x"));
	ck_assert(has_rejection(ar, "past", "past the end"));
	ck_assert(has_rejection(ar, "a/./b", "\".\""));
	ck_assert(has_rejection(ar, "entry 9", "empty"));
	ck_assert_ptr_null(hexz_archive_manifest_rejected(ar, 7));
	hexz_archive_close(ar);
	free(out);
	free(json);
	free(main_file);
}
END_TEST

/* ---- files changing under the reader ---- */

START_TEST(test_open_path_identity)
{
	char *path = corpus_path("lz4_fixed.hxz");
	struct hexz_archive_options o = { .location = "custom name" };
	struct hexz_archive *ar = NULL;
	struct hexz_archive_info info;

	ck_assert_int_eq(hexz_archive_open_path(path, NULL, &ar, NULL), HEXZ_OK);
	ck_assert_str_eq(hexz_archive_location(ar), path);
	hexz_archive_close(ar);
	ck_assert_int_eq(hexz_archive_open_path(path, &o, &ar, NULL), HEXZ_OK);
	ck_assert_str_eq(hexz_archive_location(ar), "custom name");
	hexz_archive_get_info(ar, &info);
	ck_assert_uint_eq(info.file_size, file_size(path));
	hexz_archive_close(ar);
	free(path);
}
END_TEST

/*
 * The file shrinks under an open archive. Blocks now past the end read as
 * HEXZ_ERR_IO (the mapping's SIGBUS, recovered), never as wrong bytes or a
 * crash. A cut inside a page leaves the rest of that page reading as
 * zeros (see hexz/storage.h): a block stored across such a cut then fails
 * its CRC instead, still an error.
 */
START_TEST(test_truncated_in_place)
{
	struct json_object *c = corpus_case("lz4_fixed");
	struct stream_data sd = { .stream = HEXZ_STREAM_MAIN };
	char *src = corpus_path("lz4_fixed.hxz");
	char *copy = tu_path(tmp, "shrinking.hxz");
	size_t page = tu_page_size();
	struct hexz_archive_scan scan;
	struct hexz_archive *ar = NULL;
	struct hexz_error err = { 0 };
	unsigned char *raw, *want, *buf;
	size_t n, eio;
	uint64_t off, cuts[] = { 2 * page + 100, 2 * page, 0 };
	int ret;

	raw = slurp(src, &n);
	tu_write_file(copy, raw, n);
	want = expected_stream(c, "main", &sd.size);
	sd.want = want;
	buf = malloc(sd.size);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(hexz_archive_open_path(copy, NULL, &ar, &err), HEXZ_OK);
	check_range(ar, &sd, 0, 100, "shrinking"); /* block 0 is now cached */
	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		bool aligned = cuts[k] % page == 0;

		ck_assert_int_eq(truncate(copy, (off_t)cuts[k]), 0);
		/* The whole stream needs blocks no longer there. */
		ret = hexz_archive_read(ar, HEXZ_STREAM_MAIN, 4096, sd.size - 4096, buf, &err);
		ck_assert_msg(ret == HEXZ_ERR_IO || (!aligned && ret == HEXZ_ERR_CHECKSUM),
			      "read after a cut at %" PRIu64 ": %d %s", cuts[k], ret, err.message);
		ck_assert_ptr_nonnull(strstr(err.message, copy));
		/* Block by block: right bytes (cached, zero blocks, before the cut) or an error. */
		eio = 0;
		for (off = 0; off < sd.size; off += 4096) {
			size_t len = sd.size - off < 4096 ? sd.size - off : 4096;

			ret = hexz_archive_read(ar, HEXZ_STREAM_MAIN, off, len, buf, NULL);
			if (ret == HEXZ_OK) {
				ck_assert_mem_eq(buf, want + off, len);
			} else {
				ck_assert_msg(ret == HEXZ_ERR_IO ||
						      (!aligned && ret == HEXZ_ERR_CHECKSUM),
					      "block at %" PRIu64 ": %d", off, ret);
				eio += ret == HEXZ_ERR_IO;
			}
		}
		ck_assert_uint_ge(eio, 15);
		ret = hexz_archive_scan(ar, &scan, &err);
		ck_assert_msg(ret == HEXZ_ERR_IO, "scan after truncation: %d %s", ret, err.message);
	}
	hexz_archive_close(ar);
	/* Opening what is left fails cleanly. */
	check_open_fails(copy, NULL, HEXZ_ERR_NOT_ARCHIVE, NULL);
	free(buf);
	free(want);
	free(raw);
	free(copy);
	free(src);
}
END_TEST

/*
 * A file changed in place while a block decodes: its bytes are checked
 * and decompressed as one copy, so a read returns the block as written or
 * fails, never bytes the CRC did not cover. The blocks are incompressible
 * (one LZ4 literal run each, which decompresses any bytes to the right
 * length) and large, and a thread keeps turning one page in the middle of
 * each block's stored bytes to garbage and back while they are read.
 */
struct toggler {
	const char *path;
	uint64_t offsets[4];
	atomic_bool stop;
	unsigned long rounds;
};

static void *
toggler_main(void *arg)
{
	struct toggler *t = arg;
	unsigned char good[4][4096], bad[4096];
	int fd = open(t->path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (int k = 0; k < 4; k++)
		if (pread(fd, good[k], sizeof(good[k]), (off_t)t->offsets[k]) != 4096)
			goto out;
	while (!atomic_load(&t->stop)) {
		for (int k = 0; k < 4; k++) {
			for (size_t i = 0; i < sizeof(bad); i++)
				bad[i] = (unsigned char)(good[k][i] ^ 0xff);
			if (pwrite(fd, bad, sizeof(bad), (off_t)t->offsets[k]) != 4096 ||
			    pwrite(fd, good[k], 4096, (off_t)t->offsets[k]) != 4096)
				goto out;
		}
		t->rounds++;
	}
out:
	close(fd);
	return NULL;
}

START_TEST(test_changed_while_decoding)
{
	char *data_path = tu_path(tmp, "incompressible.bin");
	char *path = tu_path(tmp, "changing.hxz");
	size_t size = 4 * MIB, n, wrong = 0, failed = 0, good = 0;
	unsigned char *want = malloc(size), *buf = malloc(MIB);
	uint64_t state = 12345;
	struct toggler t = { .path = path };
	struct hexz_cache *cache = NULL;
	struct hexz_archive *ar = NULL;
	struct hexz_error err = { 0 };
	struct timespec start, now;
	pthread_t thread;
	struct stat sb;

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < size; i += 8) {
		uint64_t x = next_random(&state);

		memcpy(want + i, &x, 8);
	}
	tu_write_file(data_path, want, size);
	writer(path, "--main", data_path, "-c", "lz4", "--block-size", "1048576", NULL);
	ck_assert_int_eq(stat(path, &sb), 0);
	/* Stored blocks fill the file: the middle of each quarter lies inside block k. */
	for (int k = 0; k < 4; k++)
		t.offsets[k] = ((uint64_t)sb.st_size * (2 * (uint64_t)k + 1) / 8) & ~(uint64_t)4095;
	/* A cache that keeps one block: reading the four in turn decodes each again. */
	ck_assert_int_eq(hexz_cache_create(1, 0, &cache), HEXZ_OK);
	ck_assert_int_eq(open_with(path, cache, NULL, &ar, &err), HEXZ_OK);
	atomic_init(&t.stop, false);
	ck_assert_int_eq(pthread_create(&thread, NULL, toggler_main, &t), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		for (uint64_t off = 0; off < size; off += MIB) {
			int ret = hexz_archive_read(ar, HEXZ_STREAM_MAIN, off, MIB, buf, &err);

			if (ret != HEXZ_OK) {
				ck_assert_msg(ret == HEXZ_ERR_CHECKSUM || ret == HEXZ_ERR_DECOMPRESS,
					      "block at %" PRIu64 ": %d %s", off, ret, err.message);
				failed++;
			} else if (memcmp(buf, want + off, MIB) != 0) {
				wrong++;
			} else {
				good++;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 2);
	atomic_store(&t.stop, true);
	pthread_join(thread, NULL);
	hexz_archive_close(ar);
	hexz_cache_destroy(cache);
	n = good + failed + wrong;
	ck_assert_msg(wrong == 0, "%zu of %zu block reads returned bytes of neither version "
		      "(%zu good, %zu failed, %lu changes)", wrong, n, good, failed, t.rounds);
	/* The changes met the reads: some failed, and some read right in between. */
	ck_assert_msg(failed > 0 && good > 0, "%zu good, %zu failed, %lu changes", good, failed,
		      t.rounds);
	free(buf);
	free(want);
	free(path);
	free(data_path);
}
END_TEST

/* ---- many threads, several archives, one small cache ---- */

#define THREADS 8
#define WORKERS 2
#define MAX_READ (48 * KIB)
#define BUDGET MIB

static const char *const shared_cases[] = {
	"lz4_fixed",	"zstd_fixed",	  "zstd_dict_trained",	 "lz4_variable", "pages_many",
	"both_streams", "encrypted_zstd", "thin_child",		 "thin_leaf",	 "dir_tree",
	"zero_blocks",	"dedup_across",	  "thin_position_child",
};
#define NARCH (sizeof(shared_cases) / sizeof(shared_cases[0]))

struct shared {
	struct hexz_archive *ar[NARCH];
	unsigned char *want[NARCH][2];
	size_t size[NARCH][2];
	pthread_barrier_t start;
	atomic_uint running;
};

struct reader {
	pthread_t thread;
	struct shared *sh;
	unsigned int id;
	unsigned int rounds;
	unsigned long bytes;
	int failures;
	char first_failure[HEXZ_ERROR_MESSAGE_MAX + 100];
};

static void
reader_fail(struct reader *r, const char *what, size_t a, uint64_t off, size_t len, const char *msg)
{
	if (r->failures++ == 0)
		snprintf(r->first_failure, sizeof(r->first_failure),
			 "thread %u, %s %s %" PRIu64 "+%zu: %s", r->id, shared_cases[a], what, off,
			 len, msg);
}

static void
reader_pin(struct reader *r, size_t a, enum hexz_stream s, uint64_t off, size_t len)
{
	const unsigned char *want = r->sh->want[a][s];
	struct iovec iov[4];
	struct hexz_block_ref *refs[4];
	size_t done = 0;

	while (done < len) {
		struct hexz_error err = { 0 };
		size_t count = 0, covered = 0, i, sum = 0;

		if (hexz_archive_pin(r->sh->ar[a], s, off + done, len - done, iov, refs, 4, &count,
				     &covered, &err) != HEXZ_OK) {
			reader_fail(r, "pin", a, off + done, len - done, err.message);
			return;
		}
		for (i = 0; i < count; i++) {
			if (memcmp(iov[i].iov_base, want + off + done + sum, iov[i].iov_len) != 0)
				reader_fail(r, "pin", a, off + done + sum, iov[i].iov_len,
					    "wrong bytes");
			sum += iov[i].iov_len;
		}
		hexz_block_unpin(refs, count);
		if (sum != covered || covered == 0) {
			reader_fail(r, "pin", a, off + done, len - done, "pieces do not add up");
			return;
		}
		done += covered;
	}
}

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct shared *sh = r->sh;
	uint64_t state = 0x9e3779b97f4a7c15ull * (r->id + 1);
	unsigned char *buf = malloc(MAX_READ);
	unsigned int i;

	pthread_barrier_wait(&sh->start);
	for (i = 0; buf && i < r->rounds; i++) {
		uint64_t x = next_random(&state);
		size_t a = (size_t)(x % NARCH);
		enum hexz_stream s = (enum hexz_stream)((x >> 8) & 1);
		size_t size = sh->size[a][s], len;
		uint64_t off;
		struct hexz_error err = { 0 };

		if (size == 0)
			continue;
		/* Everyone starts on the same block, to meet on its decode. */
		off = i < 4 ? 0 : next_random(&state) % size;
		len = 1 + (size_t)(next_random(&state) % MAX_READ);
		if (len > size - off)
			len = (size_t)(size - off);
		if ((x >> 16) % 4 == 0) {
			reader_pin(r, a, s, off, len);
		} else if (hexz_archive_read(sh->ar[a], s, off, len, buf, &err) != HEXZ_OK) {
			reader_fail(r, "read", a, off, len, err.message);
		} else if (memcmp(buf, sh->want[a][s] + off, len) != 0) {
			reader_fail(r, "read", a, off, len, "wrong bytes");
		}
		if ((x >> 24) % 8 == 0)
			hexz_archive_prefetch(sh->ar[a], s, off + len, MAX_READ);
		r->bytes += len;
	}
	if (!buf)
		reader_fail(r, "malloc", 0, 0, MAX_READ, "out of memory");
	free(buf);
	atomic_fetch_sub(&sh->running, 1);
	return NULL;
}

START_TEST(test_threads_shared_cache)
{
	static struct shared sh;
	struct reader readers[THREADS];
	struct hexz_cache *cache = NULL;
	struct hexz_cache_stats stats;
	uint64_t max_bytes = 0, bound, largest_block = 32 * KIB + 4 * KIB;
	size_t a, t;

	memset(&sh, 0, sizeof(sh));
	ck_assert_int_eq(hexz_cache_create(BUDGET, WORKERS, &cache), HEXZ_OK);
	for (a = 0; a < NARCH; a++) {
		struct json_object *c = corpus_case(shared_cases[a]);

		sh.ar[a] = open_case(shared_cases[a], cache);
		sh.want[a][0] = expected_stream(c, "main", &sh.size[a][0]);
		sh.want[a][1] = expected_stream(c, "auxiliary", &sh.size[a][1]);
	}
	ck_assert_int_eq(pthread_barrier_init(&sh.start, NULL, THREADS + 1), 0);
	atomic_store(&sh.running, THREADS);
	for (t = 0; t < THREADS; t++) {
		readers[t] =
			(struct reader){ .sh = &sh, .id = (unsigned int)t, .rounds = scaled(1500) };
		ck_assert_int_eq(pthread_create(&readers[t].thread, NULL, reader_main, &readers[t]),
				 0);
	}
	pthread_barrier_wait(&sh.start);
	/*
	 * The documented bound while readers run: the budget, plus what
	 * readers hold (a read holds at most its bytes and two partial
	 * blocks, plus bookkeeping per block), plus a block per decode in
	 * flight (each thread and each worker decodes one at a time).
	 */
	bound = BUDGET + THREADS * (MAX_READ + 3 * largest_block + 64 * 256) +
		WORKERS * largest_block;
	while (atomic_load(&sh.running) > 0) {
		hexz_cache_get_stats(cache, &stats);
		if (stats.bytes > max_bytes)
			max_bytes = stats.bytes;
		usleep(200);
	}
	for (t = 0; t < THREADS; t++) {
		ck_assert_int_eq(pthread_join(readers[t].thread, NULL), 0);
		ck_assert_msg(readers[t].failures == 0, "%d failures, first: %s",
			      readers[t].failures, readers[t].first_failure);
	}
	ck_assert_msg(max_bytes <= bound, "cache held %" PRIu64 " bytes, bound %" PRIu64, max_bytes,
		      bound);
	hexz_cache_get_stats(cache, &stats);
	ck_assert_uint_eq(stats.budget, BUDGET);
	ck_assert_uint_gt(stats.misses, 0);
	ck_assert_uint_gt(stats.hits, 0);
	ck_assert_uint_eq(stats.failures, 0);
	/* Only prefetches may still run: at most a block per worker beyond the budget. */
	ck_assert_msg(stats.bytes <= BUDGET + WORKERS * largest_block, "%" PRIu64 " bytes held",
		      stats.bytes);
	/* More than the budget was read: blocks were evicted. */
	if (scaled(1500) >= 300)
		ck_assert_uint_gt(stats.evictions, 0);
	for (a = 0; a < NARCH; a++) {
		hexz_archive_close(sh.ar[a]);
		free(sh.want[a][0]);
		free(sh.want[a][1]);
	}
	/* Closing every archive drops every block it left in the cache. */
	hexz_cache_get_stats(cache, &stats);
	ck_assert_uint_eq(stats.bytes, 0);
	ck_assert_uint_eq(stats.blocks, 0);
	pthread_barrier_destroy(&sh.start);
	hexz_cache_destroy(cache);
}
END_TEST

/* ---- main: the corpus, once ---- */

static int
remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int
make_corpus(void)
{
	const char *base = getenv("TMPDIR");
	char *script, *argv[4], *json_path;
	struct json_object *doc;
	int ret;

	source_root = getenv("HEXZ_SOURCE_ROOT");
	if (!source_root || !*source_root) {
		fprintf(stderr, "HEXZ_SOURCE_ROOT must name the source tree\n");
		return -1;
	}
	if (access(PYTHON, X_OK) != 0) {
		fprintf(stderr, "%s is needed to write the test archives\n", PYTHON);
		return -1;
	}
	if (asprintf(&work_dir, "%s/hexz-archive-XXXXXX", base && *base ? base : "/tmp") < 0 ||
	    !mkdtemp(work_dir) || chmod(work_dir, 0755) != 0 ||
	    asprintf(&corpus_dir, "%s/corpus", work_dir) < 0 ||
	    asprintf(&script, "%s/tests/writer/make_corpus.py", source_root) < 0) {
		perror("scratch directory");
		return -1;
	}
	argv[0] = unconst(PYTHON);
	argv[1] = script;
	argv[2] = corpus_dir;
	argv[3] = NULL;
	ret = run_quietly(argv);
	free(script);
	if (ret != 0) {
		fprintf(stderr, "make_corpus.py failed\n");
		return -1;
	}
	if (asprintf(&json_path, "%s/corpus.json", corpus_dir) < 0)
		return -1;
	doc = json_object_from_file(json_path);
	free(json_path);
	if (!doc || !json_object_object_get_ex(doc, "cases", &corpus_cases)) {
		fprintf(stderr, "corpus.json: unreadable\n");
		json_object_put(doc);
		return -1;
	}
	json_object_get(corpus_cases);
	json_object_put(doc);
	return 0;
}

static Suite *
archive_suite(void)
{
	Suite *s = suite_create("archive");
	TCase *tc;

	tc = tcase_create("open errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_not_archive);
	tcase_add_test(tc, test_bad_version);
	tcase_add_test(tc, test_corrupt_header);
	tcase_add_test(tc, test_corrupt_master_index);
	tcase_add_test(tc, test_corrupt_page_at_read);
	tcase_add_test(tc, test_limit_iterations);
	tcase_add_test(tc, test_passwords);
	tcase_add_test(tc, test_parents);
	tcase_add_test(tc, test_corrupt_manifest);
	tcase_add_test(tc, test_invalid_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("reads");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_read_corpus);
	tcase_add_test(tc, test_read_bounds);
	tcase_add_test(tc, test_pin_zero_blocks);
	tcase_add_test(tc, test_pin_survives_eviction);
	tcase_add_test(tc, test_damaged_block);
	tcase_add_test(tc, test_block_decode_errors);
	tcase_add_test(tc, test_parent_block_missing);
	tcase_add_test(tc, test_prefetch);
	tcase_add_test(tc, test_manifest_corpus);
	tcase_add_test(tc, test_manifest_hostile);
	tcase_add_test(tc, test_open_path_identity);
	tcase_add_test(tc, test_truncated_in_place);
	tcase_add_test(tc, test_changed_while_decoding);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_threads_shared_cache);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int ret;

	if (make_corpus() != 0) {
		ret = EXIT_FAILURE;
	} else {
		ret = tu_run_suite(archive_suite());
	}
	json_object_put(corpus_cases);
	if (work_dir && nftw(work_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		fprintf(stderr, "cannot remove %s: %s\n", work_dir, strerror(errno));
		ret = EXIT_FAILURE;
	}
	free(corpus_dir);
	free(work_dir);
	return ret;
}
