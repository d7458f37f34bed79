/* SPDX-License-Identifier: MIT */
/*
 * hxzverify: self-verifying snapshot content, and the processes that load a
 * hexzfs mount with it, for the robustness tests.
 *
 * Content. A snapshot "version" is a number v from 1 to 2^24 - 1. Its bytes
 * are little-endian 64-bit words; the word at byte offset 8*i is
 *
 *	(v << 40) | (mix64(i, v) & (2^40 - 1))
 *
 * and its length is size_of(v). So any run of bytes read from offset o
 * tells which version it comes from (the top 24 bits of any whole word in
 * it), and can be compared, byte for byte, with what that version holds at
 * o, without a copy of the file. Zeros, bytes of another version, bytes of
 * another offset, or a mixture of two versions within one read all fail
 * the comparison. Bits 20-23 of v choose a size class (see size_of()).
 *
 * Subcommands (each prints its figures on stdout; "FAIL: ..." lines for
 * violations; exit status 0 = fine, 1 = a violation, 2 = usage or setup
 * error, 3 = stopped on an error as asked by --until-error):
 *
 *   gen FILE VERSION            write version VERSION to FILE
 *   size VERSION                print the length of version VERSION
 *   check FILE VERSION          read FILE whole and compare with VERSION
 *   populate SRC                the initial snapshot set of the stress test
 *   reader MNT SECONDS SEED [--until-error] [--names N1,N2,...] [--hold H]
 *          [--source SRC]       verified random reads of the snapshots in
 *                               MNT (names of the stress set unless --names);
 *                               with the snapshot directory SRC, zeros of a
 *                               truncation are also checked to come from one
 *                               that was not complete before the read began
 *   mutator SRC SECONDS SEED ID COUNT
 *                               replace, add, delete, truncate snapshots of
 *                               the stress set in SRC (this mutator owns the
 *                               names whose index is ID modulo COUNT)
 *   genmany DIR NFILES          write f-00000.hxz ... (version NNNNN + 1, tiny)
 *   openloop MNT NFILES COUNT [--hold]
 *                               open, read-verify, close MNT/f-NNNNN.hxz
 *                               COUNT times in turn, listing MNT/list every
 *                               50 opens; --hold keeps the first NFILES
 *                               open at once until stdin closes
 *   ioprobe FILE VERSION        the odd reads: huge offsets, zero length,
 *                               the exact size, O_DIRECT aligned or not
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define VERSION_SHIFT 40
#define LOW_MASK (((uint64_t)1 << VERSION_SHIFT) - 1)
#define MAX_READ (1024 * 1024)
#define MAX_HOLD 16

/* ------------------------------------------------------------------ content */

static uint64_t
mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t
word_of(uint64_t v, uint64_t index)
{
	return (v << VERSION_SHIFT) | (mix64(index ^ (v << VERSION_SHIFT)) & LOW_MASK);
}

/*
 * Size classes, bits 20-23 of the version: 0 tiny (up to 16 KiB), 1 small
 * (up to 512 KiB), 2 medium (256 KiB to 3 MiB), 3 large (4 to 16 MiB).
 * One version in eight has a length that is a whole number of pages.
 */
static uint64_t
size_of(uint64_t v)
{
	static const uint64_t lo[] = { 0, 1, 256 * KIB, 4 * MIB };
	static const uint64_t hi[] = { 16 * KIB, 512 * KIB, 3 * MIB, 16 * MIB };
	unsigned int cls = (unsigned int)(v >> 20) & 3;
	uint64_t h = mix64(v * 0x2545f4914f6cdd1dull);
	uint64_t size = lo[cls] + h % (hi[cls] - lo[cls] + 1);

	if ((h >> 60) == 0)
		size &= ~(uint64_t)4095;
	return size;
}

/* Bytes [off, off + len) of version v. */
static void
fill(uint64_t v, uint64_t off, uint8_t *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint64_t o = off + i;
		unsigned int shift = (unsigned int)(o & 7);
		uint64_t w = word_of(v, o >> 3);
		uint8_t bytes[8];
		size_t n = 8 - shift;

		for (unsigned int b = 0; b < 8; b++)
			bytes[b] = (uint8_t)(w >> (8 * b));
		if (n > len - i)
			n = len - i;
		memcpy(buf + i, bytes + shift, n);
		i += n;
	}
}

static uint64_t
le64(const uint8_t *p)
{
	uint64_t w = 0;

	for (int b = 7; b >= 0; b--)
		w = (w << 8) | p[b];
	return w;
}

/* The version the bytes read at `off` claim to be, or 0 if they hold no whole word. */
static uint64_t
version_in(const uint8_t *buf, uint64_t off, size_t len)
{
	size_t start = (size_t)((8 - (off & 7)) & 7);

	if (start + 8 > len)
		return 0;
	return le64(buf + start) >> VERSION_SHIFT;
}

static uint8_t *scratch;

/*
 * Index of the first byte of buf that is not version v's byte at that
 * offset, or -1.
 */
static long
mismatch(uint64_t v, uint64_t off, const uint8_t *buf, size_t len)
{
	fill(v, off, scratch, len);
	if (memcmp(scratch, buf, len) == 0)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (scratch[i] != buf[i])
			return (long)i;
	return -1;
}

/* What a wrong read looks like, for the failure message. */
static void
describe_bad(char *out, size_t outlen, uint64_t v, uint64_t off, const uint8_t *buf, size_t len,
	     long bad)
{
	uint64_t at = off + (uint64_t)bad;
	uint64_t word_off = at & ~(uint64_t)7;
	uint64_t claimed = 0, index_ok = 0;

	if (word_off >= off && word_off + 8 <= off + len) {
		uint64_t w = le64(buf + (word_off - off));

		claimed = w >> VERSION_SHIFT;
		index_ok = claimed && w == word_of(claimed, word_off >> 3);
	}
	snprintf(out, outlen,
		 "first wrong byte at offset %" PRIu64 " (read of %zu at %" PRIu64
		 "), expected version %" PRIu64 "; the word there claims version %" PRIu64
		 "%s; all-zero from there: %s",
		 at, len, off, v, claimed,
		 claimed ? (index_ok ? " and is that version's word at that offset (a mixture)"
				     : " but is not its word at that offset")
			 : "",
		 buf[bad] == 0 && (size_t)bad + 1 < len && buf[bad + 1] == 0 ? "yes" : "no");
}

/* ------------------------------------------------------------------ utilities */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	rng_state += 0x9e3779b97f4a7c15ull;
	return mix64(rng_state);
}

/* Uniform in [0, n), n > 0. */
static uint64_t
rnd_below(uint64_t n)
{
	return rnd() % n;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
errname(int e)
{
	const char *name = e ? strerrorname_np(e) : "OK";

	return name ? name : "E?";
}

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
	va_list ap;

	failures++;
	if (failures > 20)
		return; /* the first ones tell the story */
	fputs("FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static int
write_version(const char *path, uint64_t v)
{
	uint64_t size = size_of(v);
	uint8_t *buf = malloc(MIB);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = 0;

	if (!buf || fd < 0) {
		fprintf(stderr, "hxzverify: %s: %s\n", path, strerror(errno));
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (uint64_t off = 0; off < size;) {
		size_t n = (size_t)(size - off < MIB ? size - off : MIB);
		ssize_t w;

		fill(v, off, buf, n);
		w = write(fd, buf, n);
		if (w <= 0) {
			fprintf(stderr, "hxzverify: write %s: %s\n", path, strerror(errno));
			ret = -1;
			break;
		}
		off += (uint64_t)w;
	}
	if (close(fd) != 0)
		ret = -1;
	free(buf);
	return ret;
}

static uint64_t
parse_u64(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "hxzverify: not a number: '%s'\n", s);
		exit(2);
	}
	return v;
}

/* ------------------------------------------------------------- the stress set */

/*
 * The names of the stress test, by kind. What a reader may see differs:
 *  stable: never changed; every open and read succeeds in full.
 *  rep:    replaced by rename(2); opens succeed (ESTALE tolerated: two
 *          replacements within one open); reads are full and exact.
 *  churn:  added (by rename) and deleted; opens may fail with ENOENT.
 *  trunc:  truncated in place, later replaced; reads may be short or EIO.
 *  dir:    d-K/f.hxz, the directory itself created and removed.
 */
enum kind { STABLE, REP, CHURN, TRUNC, DIRK, KINDS };
static const char *const kind_name[] = { "stable", "rep", "churn", "trunc", "dir" };
static const unsigned int kind_count[] = { 4, 4, 8, 4, 4 };
/* Size class of the versions of each kind (bits 20-23 of the version). */
static const uint64_t kind_class[] = { 3, 2, 1, 2, 0 };

static void
stress_name(char *out, size_t len, enum kind k, unsigned int i)
{
	if (k == DIRK)
		snprintf(out, len, "d-%u/f.hxz", i);
	else
		snprintf(out, len, "%s-%u.hxz", kind_name[k], i);
}

static uint64_t
make_version(enum kind k, uint64_t serial)
{
	return (kind_class[k] << 20) | (serial & 0xfffff);
}

static int
cmd_gen(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	return write_version(argv[0], parse_u64(argv[1])) ? 2 : 0;
}

static int
cmd_size(int argc, char **argv)
{
	if (argc != 1)
		return 2;
	printf("%" PRIu64 "\n", size_of(parse_u64(argv[0])));
	return 0;
}

static int
cmd_check(int argc, char **argv)
{
	uint64_t v, size, off = 0;
	uint8_t *buf = malloc(MAX_READ);
	int fd;

	if (argc != 2 || !buf) {
		free(buf);
		return 2;
	}
	v = parse_u64(argv[1]);
	size = size_of(v);
	fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail("open %s: %s", argv[0], errname(errno));
		return 1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, MAX_READ);
		long bad;

		if (n < 0) {
			fail("read %s at %" PRIu64 ": %s", argv[0], off, errname(errno));
			break;
		}
		if (n == 0)
			break;
		bad = mismatch(v, off, buf, (size_t)n);
		if (bad >= 0) {
			char msg[512];

			describe_bad(msg, sizeof(msg), v, off, buf, (size_t)n, bad);
			fail("%s: %s", argv[0], msg);
			break;
		}
		off += (uint64_t)n;
	}
	close(fd);
	if (!failures && off != size)
		fail("%s: read %" PRIu64 " bytes, version %" PRIu64 " has %" PRIu64, argv[0], off,
		     v, size);
	printf("checked %s: %" PRIu64 " bytes of version %" PRIu64 "\n", argv[0], off, v);
	free(buf);
	return failures ? 1 : 0;
}

static int
cmd_populate(int argc, char **argv)
{
	char path[PATH_MAX], name[64];
	uint64_t bytes = 0;
	unsigned int files = 0;

	if (argc != 1)
		return 2;
	for (int k = 0; k < KINDS; k++) {
		for (unsigned int i = 0; i < kind_count[k]; i++) {
			uint64_t v =
				make_version((enum kind)k, 1000000 + (unsigned int)k * 100 + i);

			/* Half the churn and dir names start absent. */
			if ((k == CHURN || k == DIRK) && i % 2)
				continue;
			if (k == DIRK) {
				snprintf(path, sizeof(path), "%s/d-%u", argv[0], i);
				if (mkdir(path, 0755) != 0 && errno != EEXIST)
					return 2;
			}
			stress_name(name, sizeof(name), (enum kind)k, i);
			snprintf(path, sizeof(path), "%s/%s", argv[0], name);
			if (write_version(path, v))
				return 2;
			bytes += size_of(v);
			files++;
		}
	}
	printf("populated %s: %u snapshots, %" PRIu64 " bytes\n", argv[0], files, bytes);
	return 0;
}

/* ------------------------------------------------------------------ the reader */

struct reader_stats {
	unsigned long opens, open_enoent, open_estale, open_other;
	unsigned long reads, reads_verified, short_reads, eio, eof_reads, unverified;
	unsigned long mmap_checks, sigbus, listings, listed_names;
	/* The one allowed sight of a truncation's zeros: see racing_page_tail(). */
	unsigned long zero_tails;
	/* Of those, the ones whose truncation had completed before the read
	   began, and the longest such wait: how much of RACE_SLACK_S is used. */
	unsigned long late_tails;
	double late_tail_max_s;
	uint64_t bytes;
};

struct held {
	int fd;
	enum kind kind;
	char name[64];
	uint64_t version; /* 0 until learnt */
	uint64_t pos;	  /* for sequential read() */
	unsigned int reads_left;
	ino_t ino; /* the inode number the mount shows for it, 0 until needed */
};

static sigjmp_buf bus_env;
static volatile sig_atomic_t bus_armed;

static void
on_sigbus(int sig)
{
	(void)sig;
	if (bus_armed) {
		bus_armed = 0;
		siglongjmp(bus_env, 1);
	}
	signal(SIGBUS, SIG_DFL);
}

static uint64_t page_size;
static struct reader_stats rs;

/*
 * The source file behind a handle as seen just before a read (--source):
 * known when the name still led to the file the handle reads.
 */
struct source_seen {
	bool known;
	ino_t ino;
	uint64_t size;
	double changed; /* its ctime: the last truncation */
	double read_at; /* when the read began (CLOCK_REALTIME, as ctime) */
};

/*
 * How long after a truncation its zeros may still be served from the
 * kernel's cache: hexzfs makes the kernel forget the file's attributes
 * right after the reply that raced the truncation, microseconds later,
 * unless its thread is not scheduled in between; on a loaded machine that
 * can take milliseconds. A page older than this is stale.
 */
#define RACE_SLACK_S 0.050

static struct source_seen seen_before;

/*
 * A file truncated in place while it is read. hexzfs fails every read of a
 * version whose file has shrunk with EIO; the only zeros it may let
 * through are those truncate(2) leaves in the tail of the page that holds
 * the new end, when the truncation lands while that very read is being
 * answered (its copy out of the shrinking file then reaches that page,
 * and no further page, before the end moves). So a wrong run is accepted
 * only on a file of the truncating kind, only if it starts inside a page
 * (a new end on a page boundary leaves no zeros), is all zeros up to the
 * end of that page or of the read, and every byte after that page is the
 * version's own (pages the kernel had before the truncation). Any other
 * zeros, and any other wrong byte, fail. mismatch() has just left the
 * version's bytes in scratch.
 */
static bool
racing_page_tail(enum kind kind, uint64_t off, const uint8_t *buf, size_t len, long bad)
{
	uint64_t at = off + (uint64_t)bad;
	uint64_t page_end = (at / page_size + 1) * page_size;
	size_t tail_end = (size_t)(page_end - off < len ? page_end - off : len);

	if (kind != TRUNC || at % page_size == 0)
		return false;
	for (size_t i = (size_t)bad; i < tail_end; i++)
		if (buf[i] != 0)
			return false;
	return memcmp(buf + tail_end, scratch + tail_end, len - tail_end) == 0;
}

/*
 * And only if the truncation was not complete before the read began: if
 * the file was already at most `at` bytes long then (by more than the
 * slack above), those zeros came from the kernel's cache of an earlier
 * read, which hexzfs must have had the kernel drop. Returns whether the
 * reader had seen the file that short before this read; *waited gets how
 * long before the read the change was made.
 */
static bool
truncated_before_read(struct held *h, uint64_t at, double *waited)
{
	struct stat st;

	if (!seen_before.known)
		return false;
	if (h->ino == 0 && fstat(h->fd, &st) == 0)
		h->ino = st.st_ino;
	if (h->ino != seen_before.ino || seen_before.size > at)
		return false;
	*waited = seen_before.read_at - seen_before.changed;
	return true;
}

/* Judge a wrong byte at `bad` of a read: true if it is an allowed page tail. */
static bool
allowed_zeros(struct held *h, uint64_t off, const uint8_t *buf, size_t len, long bad,
	      const char *how)
{
	uint64_t at = off + (uint64_t)bad;
	double waited = 0;
	bool late;

	if (!racing_page_tail(h->kind, off, buf, len, bad))
		return false;
	late = truncated_before_read(h, at, &waited);
	if (late && waited > RACE_SLACK_S) {
		fail("%s: zeros from offset %" PRIu64 " (read of %zu at %" PRIu64 "%s), but the file "
		     "was already truncated to %" PRIu64 " bytes %.3f s before the read began: a "
		     "stale cached page",
		     h->name, at, len, off, how, seen_before.size, waited);
		return true; /* reported */
	}
	rs.zero_tails++;
	if (late) {
		rs.late_tails++;
		if (waited > rs.late_tail_max_s)
			rs.late_tail_max_s = waited;
	}
	return true;
}

static const char *mnt_dir;
static const char *source_dir;
static bool until_error;
static int stopped_errno;
/* --names: an explicit list of names (all treated as "stable" unless named by kind). */
static char **only_names;
static unsigned int only_count;

static enum kind
kind_of(const char *name)
{
	for (int k = 0; k < KINDS; k++)
		if (strncmp(name, kind_name[k], strlen(kind_name[k])) == 0)
			return (enum kind)k;
	if (strncmp(name, "d-", 2) == 0)
		return DIRK;
	return STABLE;
}

static void
pick_name(struct held *h)
{
	if (only_count) {
		snprintf(h->name, sizeof(h->name), "%s", only_names[rnd_below(only_count)]);
		h->kind = kind_of(h->name);
		return;
	}
	/* Weights: the changing kinds are where the races are. */
	static const unsigned int weight[] = { 2, 3, 2, 3, 1 };
	unsigned int total = 0, r;
	int k;

	for (k = 0; k < KINDS; k++)
		total += weight[k];
	r = (unsigned int)rnd_below(total);
	for (k = 0; r >= weight[k]; k++)
		r -= weight[k];
	h->kind = (enum kind)k;
	stress_name(h->name, sizeof(h->name), h->kind, (unsigned int)rnd_below(kind_count[k]));
}

/* Record an error; true when the reader should stop (--until-error). */
static bool
stop_on(int e)
{
	if (until_error && !stopped_errno) {
		stopped_errno = e;
		return true;
	}
	return until_error;
}

static bool
open_one(struct held *h)
{
	char path[PATH_MAX];

	pick_name(h);
	snprintf(path, sizeof(path), "%s/%s", mnt_dir, h->name);
	h->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (h->fd < 0) {
		int e = errno;

		if (e == ENOENT && (h->kind == CHURN || h->kind == DIRK))
			rs.open_enoent++;
		else if (e == ESTALE && (h->kind == REP || h->kind == TRUNC || h->kind == CHURN))
			rs.open_estale++;
		else if (!until_error)
			fail("open %s: %s", h->name, errname(e));
		else
			rs.open_other++;
		if (until_error)
			stop_on(e);
		return false;
	}
	rs.opens++;
	h->version = 0;
	h->ino = 0;
	h->pos = 0;
	h->reads_left = 1 + (unsigned int)rnd_below(64);
	return true;
}

/* A length to read: mostly page-ish, some tiny, some large. */
static size_t
pick_len(void)
{
	uint64_t r = rnd_below(100);

	if (r < 10)
		return 1 + (size_t)rnd_below(16);
	if (r < 40)
		return 17 + (size_t)rnd_below(4096);
	if (r < 85)
		return 4097 + (size_t)rnd_below(128 * KIB);
	return 128 * KIB + (size_t)rnd_below(MAX_READ - 128 * KIB + 1);
}

/*
 * Judge one read of `len` at `off` on handle h that returned `got` bytes
 * (or -1 with errno e). Every byte returned is compared.
 */
static void
judge(struct held *h, uint64_t off, size_t len, ssize_t got, int e, const uint8_t *buf)
{
	uint64_t v, size, want;
	long bad;

	rs.reads++;
	if (got < 0) {
		if (e == EIO && h->kind == TRUNC) {
			rs.eio++;
			return;
		}
		if (until_error) {
			stop_on(e);
			return;
		}
		fail("read of %zu at %" PRIu64 " of %s: %s", len, off, h->name, errname(e));
		return;
	}
	rs.bytes += (uint64_t)got;
	v = version_in(buf, off, (size_t)got);
	if (h->version == 0 && v != 0) {
		if ((v >> 20) != kind_class[h->kind] && !only_count) {
			char msg[512];

			describe_bad(msg, sizeof(msg), v, off, buf, (size_t)got, 0);
			fail("%s: read of %zu at %" PRIu64 " returned bytes of no version of this "
			     "file: %s",
			     h->name, len, off, msg);
			return;
		}
		h->version = v;
	}
	if (h->version == 0) {
		if (got > 0)
			rs.unverified++;
		else
			rs.eof_reads++;
		return;
	}
	size = size_of(h->version);
	want = off >= size ? 0 : (size - off < len ? size - off : len);
	if ((uint64_t)got > want) {
		fail("%s (version %" PRIu64 ", %" PRIu64 " bytes): read of %zu at %" PRIu64
		     " returned %zd bytes, at most %" PRIu64 " exist",
		     h->name, h->version, size, len, off, got, want);
		return;
	}
	if (got > 0) {
		bad = mismatch(h->version, off, buf, (size_t)got);
		if (bad >= 0 && allowed_zeros(h, off, buf, (size_t)got, bad, ""))
			return;
		if (bad >= 0) {
			char msg[512];

			describe_bad(msg, sizeof(msg), h->version, off, buf, (size_t)got, bad);
			fail("%s: WRONG BYTES: %s", h->name, msg);
			return;
		}
		rs.reads_verified++;
	}
	if (got == 0)
		rs.eof_reads++;
	if ((uint64_t)got < want) {
		rs.short_reads++;
		if (h->kind != TRUNC && !until_error)
			fail("%s (version %" PRIu64 ", %" PRIu64 " bytes, never truncated): read "
			     "of %zu at %" PRIu64 " returned %zd bytes, %" PRIu64 " expected",
			     h->name, h->version, size, len, off, got, want);
	}
}

/*
 * memcpy that survives a SIGBUS (a page of a truncated file): false if one
 * came. Its own function, never inlined, so that no variable of the caller
 * lives across sigsetjmp(): after a siglongjmp() such a variable may hold
 * a stale register copy (-Wclobbered, seen at -O3 with size_of() inlined
 * into the caller).
 */
static bool __attribute__((noinline))
copy_or_sigbus(uint8_t *dst, const uint8_t *src, size_t len)
{
	if (sigsetjmp(bus_env, 1) != 0)
		return false;
	bus_armed = 1;
	memcpy(dst, src, len);
	bus_armed = 0;
	return true;
}

/* The size the kernel gives the open file now, or UINT64_MAX if unknown. */
static uint64_t
kernel_size(const struct held *h)
{
	struct stat st;

	return fstat(h->fd, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

/*
 * Map the handle and compare a random range; a SIGBUS only on truncated
 * files. Bytes of the mapping past the file's end, as the kernel knew it
 * throughout the copy, are no content: a mapping shows zeros there, on
 * any filesystem.
 */
static void
mmap_check(struct held *h, uint8_t *buf)
{
	uint64_t size = size_of(h->version), off, eof;
	size_t len;
	const uint8_t *map;
	long bad;

	if (size == 0)
		return;
	map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, h->fd, 0);
	if (map == MAP_FAILED) {
		fail("mmap %s: %s", h->name, errname(errno));
		return;
	}
	off = rnd_below(size);
	len = (size_t)(size - off < 256 * KIB ? size - off : 256 * KIB);
	rs.mmap_checks++;
	eof = kernel_size(h);
	if (copy_or_sigbus(buf, map + off, len)) {
		uint64_t after = kernel_size(h);

		eof = after < eof ? after : eof;
		if (eof < off + len)
			len = eof > off ? (size_t)(eof - off) : 0;
		bad = len ? mismatch(h->version, off, buf, len) : -1;
		if (bad >= 0 && allowed_zeros(h, off, buf, len, bad, " through mmap")) {
			/* counted or reported */
		} else if (bad >= 0) {
			char msg[512];

			describe_bad(msg, sizeof(msg), h->version, off, buf, len, bad);
			fail("%s: WRONG BYTES through mmap: %s", h->name, msg);
		}
	} else {
		rs.sigbus++;
		if (h->kind != TRUNC && !until_error)
			fail("%s: SIGBUS reading [%" PRIu64 ", +%zu) through mmap of a file never "
			     "truncated",
			     h->name, off, len);
	}
	munmap((void *)(uintptr_t)map, (size_t)size);
}

/* --source: what the handle's source file looks like before this read. */
static void
note_source(const struct held *h)
{
	char path[PATH_MAX];
	struct timespec now;
	struct stat st;

	seen_before.known = false;
	if (!source_dir || h->kind != TRUNC)
		return;
	snprintf(path, sizeof(path), "%s/%s", source_dir, h->name);
	if (stat(path, &st) != 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	seen_before = (struct source_seen){
		.known = true,
		.ino = st.st_ino,
		.size = (uint64_t)st.st_size,
		.changed = (double)st.st_ctim.tv_sec + (double)st.st_ctim.tv_nsec / 1e9,
		.read_at = (double)now.tv_sec + (double)now.tv_nsec / 1e9,
	};
}

static void
read_once(struct held *h, uint8_t *buf)
{
	uint64_t hint = h->version ? size_of(h->version) : 4 * MIB;
	uint64_t off = rnd_below(hint + hint / 8 + 2);
	size_t len = pick_len();
	uint64_t op = rnd_below(100);
	ssize_t got;

	if (h->version == 0)
		len = len < 4096 ? 4096 : len; /* the first read learns the version */
	note_source(h);
	if (op < 60 || h->version == 0) {
		got = pread(h->fd, buf, len, (off_t)off);
	} else if (op < 80) {
		/* Sequential read(2) from where the last one ended. */
		off = h->pos;
		got = read(h->fd, buf, len);
		if (got > 0)
			h->pos += (uint64_t)got;
		if (lseek(h->fd, 0, SEEK_CUR) != (off_t)h->pos)
			fail("%s: file position %jd after read(2), %" PRIu64 " expected", h->name,
			     (intmax_t)lseek(h->fd, 0, SEEK_CUR), h->pos);
	} else if (op < 95) {
		/* Three pieces in one preadv. */
		size_t a = len / 3, b = len / 3;
		struct iovec iov[3] = {
			{ buf, a },
			{ buf + a, b },
			{ buf + a + b, len - a - b },
		};
		got = preadv(h->fd, iov, 3, (off_t)off);
	} else {
		mmap_check(h, buf);
		return;
	}
	judge(h, off, len, got, got < 0 ? errno : 0, buf);
	if (got == 0 && h->version == 0) {
		/* Past the end: read the start to learn the version. */
		note_source(h);
		got = pread(h->fd, buf, 4096, 0);
		judge(h, 0, 4096, got, got < 0 ? errno : 0, buf);
	}
}

static bool
known_name(const char *dir, const char *name)
{
	char tmp[64];

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return true;
	if (dir) /* inside d-K */
		return strcmp(name, "f.hxz") == 0;
	for (int k = 0; k < KINDS; k++) {
		for (unsigned int i = 0; i < kind_count[k]; i++) {
			stress_name(tmp, sizeof(tmp), (enum kind)k, i);
			if (k == DIRK)
				*strchr(tmp, '/') = '\0';
			if (strcmp(tmp, name) == 0)
				return true;
		}
	}
	return false;
}

/* List the root or a d-K directory: only published names may show. */
static void
list_once(void)
{
	char path[PATH_MAX], sub[16];
	const char *dir = NULL;
	struct dirent *de;
	DIR *d;

	if (rnd_below(2)) {
		snprintf(sub, sizeof(sub), "d-%u", (unsigned int)rnd_below(kind_count[DIRK]));
		dir = sub;
	}
	snprintf(path, sizeof(path), "%s%s%s", mnt_dir, dir ? "/" : "", dir ? dir : "");
	d = opendir(path);
	if (!d) {
		if (!(dir && errno == ENOENT) && !until_error)
			fail("opendir %s: %s", dir ? dir : "/", errname(errno));
		if (until_error)
			stop_on(errno);
		return;
	}
	rs.listings++;
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		rs.listed_names++;
		if (!known_name(dir, de->d_name))
			fail("listing of %s shows '%s', a name never published", dir ? dir : "/",
			     de->d_name);
	}
	if (errno && !(dir && (errno == ENOENT || errno == ESTALE)) && !until_error)
		fail("readdir %s: %s", dir ? dir : "/", errname(errno));
	closedir(d);
}

static int
cmd_reader(int argc, char **argv)
{
	struct held slots[MAX_HOLD];
	unsigned int nhold = 4;
	double deadline;
	uint8_t *buf;
	unsigned long iter = 0;

	if (argc < 3)
		return 2;
	mnt_dir = argv[0];
	deadline = now_s() + (double)parse_u64(argv[1]);
	rng_state = parse_u64(argv[2]) * 0x51afd7ed558ccd1dull;
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--until-error") == 0) {
			until_error = true;
		} else if (strcmp(argv[i], "--hold") == 0 && i + 1 < argc) {
			nhold = (unsigned int)parse_u64(argv[++i]);
			if (nhold < 1 || nhold > MAX_HOLD)
				return 2;
		} else if (strcmp(argv[i], "--source") == 0 && i + 1 < argc) {
			source_dir = argv[++i];
		} else if (strcmp(argv[i], "--names") == 0 && i + 1 < argc) {
			char *list = argv[++i];

			only_names = calloc(strlen(list) + 1, sizeof(char *));
			for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
				only_names[only_count++] = tok;
		} else {
			return 2;
		}
	}
	buf = malloc(MAX_READ);
	if (!buf)
		return 2;
	page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	signal(SIGBUS, on_sigbus);
	for (unsigned int i = 0; i < MAX_HOLD; i++)
		slots[i].fd = -1;

	while (now_s() < deadline && !stopped_errno && failures <= 20) {
		struct held *h = &slots[rnd_below(nhold)];

		iter++;
		if (!only_count && iter % 97 == 0)
			list_once();
		if (h->fd < 0) {
			open_one(h);
			continue;
		}
		read_once(h, buf);
		if (--h->reads_left == 0) {
			close(h->fd);
			h->fd = -1;
		}
	}
	for (unsigned int i = 0; i < MAX_HOLD; i++)
		if (slots[i].fd >= 0)
			close(slots[i].fd);
	printf("reader: %lu opens (%lu ENOENT, %lu ESTALE, %lu other errors), %lu reads: %lu "
	       "verified byte for byte (%" PRIu64 " bytes), %lu short, %lu EIO, %lu at EOF, "
	       "%lu mmap checks (%lu SIGBUS), %lu listings (%lu names), %lu zero page tails of "
	       "truncations racing the read (%lu after the truncation had completed, the latest "
	       "%.1f ms after; %.0f ms allowed); %d failures\n",
	       rs.opens, rs.open_enoent, rs.open_estale, rs.open_other, rs.reads, rs.reads_verified,
	       rs.bytes, rs.short_reads, rs.eio, rs.eof_reads, rs.mmap_checks, rs.sigbus,
	       rs.listings, rs.listed_names, rs.zero_tails, rs.late_tails, rs.late_tail_max_s * 1e3,
	       RACE_SLACK_S * 1e3, failures);
	if (stopped_errno)
		printf("reader: stopped on %s\n", errname(stopped_errno));
	free(buf);
	free(only_names);
	if (failures)
		return 1;
	return stopped_errno ? 3 : 0;
}

/* ----------------------------------------------------------------- the mutator */

struct mutator_stats {
	unsigned long replaced, added, deleted, truncated, dirs_added, dirs_removed;
	uint64_t bytes_written;
};

static int
publish(const char *src, const char *tmpname, const char *name, uint64_t v,
	struct mutator_stats *ms)
{
	char tmp[PATH_MAX], dst[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s/%s", src, tmpname);
	snprintf(dst, sizeof(dst), "%s/%s", src, name);
	if (write_version(tmp, v))
		return -1;
	if (rename(tmp, dst) != 0) {
		fprintf(stderr, "hxzverify: rename %s: %s\n", dst, strerror(errno));
		unlink(tmp);
		return -1;
	}
	ms->bytes_written += size_of(v);
	return 0;
}

static int
cmd_mutator(int argc, char **argv)
{
	const char *src;
	double deadline;
	unsigned int id, count;
	uint64_t serial = 0;
	struct mutator_stats ms = { 0 };
	char name[64], path[PATH_MAX], tmpname[64];
	unsigned long ops = 0, errors = 0;

	if (argc != 5)
		return 2;
	src = argv[0];
	deadline = now_s() + (double)parse_u64(argv[1]);
	rng_state = parse_u64(argv[2]) * 0x9e3779b97f4a7c15ull + 7;
	id = (unsigned int)parse_u64(argv[3]);
	count = (unsigned int)parse_u64(argv[4]);
	if (count == 0 || id >= count || count > 9)
		return 2;
	/* Hidden while written: not named *.hxz. */
	snprintf(tmpname, sizeof(tmpname), ".incoming-%u", id);

	while (now_s() < deadline) {
		enum kind k = (enum kind)(1 + rnd_below(KINDS - 1));
		unsigned int i = (unsigned int)rnd_below(kind_count[k]);
		uint64_t v;
		struct stat st;
		int ret = 0;

		if (i % count != id)
			continue;
		v = make_version(k, (uint64_t)id * 100000 + (++serial % 100000));
		stress_name(name, sizeof(name), k, i);
		snprintf(path, sizeof(path), "%s/%s", src, name);
		ops++;
		switch (k) {
		case REP:
			ret = publish(src, tmpname, name, v, &ms);
			ms.replaced++;
			break;
		case CHURN:
			if (stat(path, &st) == 0) {
				ret = unlink(path);
				ms.deleted++;
			} else {
				ret = publish(src, tmpname, name, v, &ms);
				ms.added++;
			}
			break;
		case TRUNC:
			if (stat(path, &st) == 0 && st.st_size > 0 && rnd_below(3)) {
				off_t to = rnd_below(4) == 0
						   ? 0
						   : (off_t)rnd_below((uint64_t)st.st_size);

				ret = truncate(path, to);
				ms.truncated++;
			} else {
				ret = publish(src, tmpname, name, v, &ms);
				ms.replaced++;
			}
			break;
		case DIRK: {
			char dir[PATH_MAX], inner[96];

			snprintf(dir, sizeof(dir), "%s/d-%u", src, i);
			if (stat(dir, &st) == 0) {
				ret = unlink(path) || rmdir(dir);
				ms.dirs_removed++;
			} else {
				snprintf(inner, sizeof(inner), "d-%u/%s", i, tmpname);
				ret = mkdir(dir, 0755) || publish(src, inner, name, v, &ms);
				ms.dirs_added++;
			}
			break;
		}
		default:
			break;
		}
		if (ret) {
			errors++;
			fprintf(stderr, "hxzverify: mutator %u: %s: %s\n", id, name,
				strerror(errno));
		}
		/* Leave the two CPUs mostly to the readers and the daemon. */
		usleep(2000 + (useconds_t)rnd_below(8000));
	}
	printf("mutator %u: %lu operations: %lu replaced, %lu added, %lu deleted, %lu truncated "
	       "in place, %lu directories added, %lu removed; %" PRIu64 " bytes written; %lu "
	       "errors\n",
	       id, ops, ms.replaced, ms.added, ms.deleted, ms.truncated, ms.dirs_added,
	       ms.dirs_removed, ms.bytes_written, errors);
	return errors ? 1 : 0;
}

/* ---------------------------------------------------------------- open loops */

static uint64_t
loop_version(unsigned int i)
{
	return i + 1; /* class 0: tiny */
}

static int
cmd_genmany(int argc, char **argv)
{
	char path[PATH_MAX];
	unsigned int n;

	if (argc != 2)
		return 2;
	n = (unsigned int)parse_u64(argv[1]);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f-%05u.hxz", argv[0], i);
		if (write_version(path, loop_version(i)))
			return 2;
	}
	printf("wrote %u snapshots f-00000.hxz to f-%05u.hxz in %s\n", n, n - 1, argv[0]);
	return 0;
}

static int
cmd_openloop(int argc, char **argv)
{
	unsigned int nfiles;
	unsigned long count, opens = 0, listings = 0;
	bool hold = false;
	uint8_t buf[4096];
	char path[PATH_MAX], list[PATH_MAX];
	int *fds = NULL;
	double t0 = now_s();

	if (argc < 3)
		return 2;
	mnt_dir = argv[0];
	nfiles = (unsigned int)parse_u64(argv[1]);
	count = (unsigned long)parse_u64(argv[2]);
	hold = argc > 3 && strcmp(argv[3], "--hold") == 0;
	snprintf(list, sizeof(list), "%s/list", mnt_dir);
	if (nfiles == 0)
		return 2;
	rng_state = 42;
	if (hold) {
		fds = calloc(nfiles, sizeof(int));
		if (!fds)
			return 2;
	}
	for (unsigned long n = 0; n < count && failures <= 20; n++) {
		unsigned int i = (unsigned int)(n % nfiles);
		uint64_t v = loop_version(i), size = size_of(v);
		uint64_t off = size ? rnd_below(size) : 0;
		size_t len = (size_t)(size - off < sizeof(buf) ? size - off : sizeof(buf));
		ssize_t got;
		int fd;

		snprintf(path, sizeof(path), "%s/f-%05u.hxz", mnt_dir, i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fail("open %s: %s", path, errname(errno));
			continue;
		}
		opens++;
		got = pread(fd, buf, sizeof(buf), (off_t)off);
		if (got != (ssize_t)len)
			fail("f-%05u.hxz: read of %zu at %" PRIu64
			     " returned %zd (%s), %zu expected",
			     i, sizeof(buf), off, got, got < 0 ? errname(errno) : "short", len);
		else if (mismatch(v, off, buf, len) >= 0)
			fail("f-%05u.hxz: WRONG BYTES at %" PRIu64, i, off);
		if (hold && n < nfiles)
			fds[i] = fd;
		else
			close(fd);
		if (n % 50 == 0) {
			DIR *d = opendir(list);

			if (!d) {
				fail("opendir: %s", errname(errno));
			} else {
				while (readdir(d))
					;
				closedir(d);
				listings++;
			}
		}
	}
	if (hold) {
		/* Every file open at once: tell the caller, wait for its go. */
		printf("holding %u files open\n", nfiles);
		fflush(stdout);
		if (getchar() == EOF) { /* the caller closes our stdin */
		}
		for (unsigned int i = 0; i < nfiles && i < count; i++)
			close(fds[i]);
		free(fds);
	}
	printf("openloop: %lu opens, reads verified and closes of %u files, %lu listings, in "
	       "%.1f s; %d failures\n",
	       opens, nfiles, listings, now_s() - t0, failures);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------- ioprobe */

static unsigned int probes_ok;

/* A probe that went as expected: counted, shown only with HXZ_VERBOSE set. */
static void probe_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
probe_ok(const char *fmt, ...)
{
	va_list ap;

	probes_ok++;
	if (!getenv("HXZ_VERBOSE"))
		return;
	fputs("  as expected: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* One probe: pread of len at off through fd; the result must be `want` bytes of v. */
static void
probe(int fd, const char *what, uint64_t v, off_t off, size_t len, uint8_t *buf, int allowed_errno)
{
	uint64_t size = size_of(v);
	uint64_t want = (off < 0 || (uint64_t)off >= size)
				? 0
				: (size - (uint64_t)off < len ? size - (uint64_t)off : len);
	ssize_t got = pread(fd, buf, len, off);
	int e = errno;

	if (got < 0) {
		if (e == allowed_errno) {
			probe_ok("%s -> %s", what, errname(e));
			return;
		}
		fail("%s: %s (expected %" PRIu64 " bytes%s%s)", what, errname(e), want,
		     allowed_errno ? " or " : "", allowed_errno ? errname(allowed_errno) : "");
		return;
	}
	if ((uint64_t)got != want) {
		fail("%s: returned %zd bytes, expected %" PRIu64, what, got, want);
		return;
	}
	if (got > 0 && mismatch(v, (uint64_t)off, buf, (size_t)got) >= 0) {
		fail("%s: WRONG BYTES", what);
		return;
	}
	probe_ok("%s -> %zd bytes%s", what, got, got ? ", verified" : "");
}

static int
cmd_ioprobe(int argc, char **argv)
{
	const char *path;
	uint64_t v, size;
	uint8_t *mem, *buf;
	int fd, dfd;
	char what[160];
	const off_t top = INT64_MAX;
	const off_t offsets[] = { top,
				  top - 1,
				  top - 4095,
				  top - 4096,
				  top - MAX_READ,
				  (off_t)1 << 62,
				  (off_t)1 << 53,
				  (off_t)1 << 32 };

	if (argc != 2)
		return 2;
	path = argv[0];
	v = parse_u64(argv[1]);
	size = size_of(v);
	/* Page-aligned, with room for an unaligned view one byte in. */
	mem = mmap(NULL, 2 * MAX_READ + 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (mem == MAP_FAILED)
		return 2;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail("open %s: %s", path, errname(errno));
		return 1;
	}
	buf = mem;

	/* Offsets near 2^63: nothing there, no data, no crash. EINVAL where
	 * offset + length would pass 2^63 (the kernel's own check). */
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		snprintf(what, sizeof(what), "pread(4096) at %jd", (intmax_t)offsets[i]);
		probe(fd, what, v, offsets[i], 4096, buf, EINVAL);
		snprintf(what, sizeof(what), "pread(1) at %jd", (intmax_t)offsets[i]);
		probe(fd, what, v, offsets[i], 1, buf, EINVAL);
	}
	snprintf(what, sizeof(what), "pread at -1");
	probe(fd, what, v, -1, 4096, buf, EINVAL);
	if (lseek(fd, top, SEEK_SET) == top) {
		ssize_t got = read(fd, buf, 4096);

		if (got == 0 || (got < 0 && errno == EINVAL))
			probe_ok("read(4096) after lseek to 2^63-1 -> %s",
				 got == 0 ? "0 bytes" : "EINVAL");
		else
			fail("read(4096) after lseek to 2^63-1: %zd (%s)", got,
			     got < 0 ? errname(errno) : "data");
	} else {
		probe_ok("lseek to 2^63-1 refused (%s)", errname(errno));
	}

	/* Zero-length reads, anywhere. */
	probe(fd, "pread(0) at 0", v, 0, 0, buf, 0);
	probe(fd, "pread(0) at the size", v, (off_t)size, 0, buf, 0);
	probe(fd, "pread(0) at 2^63-1", v, top, 0, buf, 0);
	lseek(fd, 0, SEEK_SET);
	if (read(fd, buf, 0) == 0)
		probe_ok("read(0) -> 0 bytes");
	else
		fail("read(0): %s", errname(errno));

	/* Exactly the size, and one more. */
	if (size <= 2 * MAX_READ) {
		probe(fd, "pread(size) at 0", v, 0, (size_t)size, buf, 0);
		probe(fd, "pread(size + 1) at 0", v, 0, (size_t)size + 1, buf, 0);
	}
	probe(fd, "pread(4096) at the size", v, (off_t)size, 4096, buf, 0);
	probe(fd, "pread(1) at size - 1", v, (off_t)size - 1, 1, buf, 0);
	probe(fd, "pread(4096) at size - 1", v, (off_t)size - 1, 4096, buf, 0);
	close(fd);

	/* O_DIRECT: aligned, and misaligned in buffer, offset and length. */
	dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (dfd < 0) {
		fail("open O_DIRECT %s: %s", path, errname(errno));
	} else {
		probe(dfd, "O_DIRECT pread(4096) at 0, aligned", v, 0, 4096, buf, 0);
		probe(dfd, "O_DIRECT pread(1 MiB) at 1 MiB, aligned", v, (off_t)MIB, MIB, buf, 0);
		if (size <= 2 * MAX_READ - 4096)
			probe(dfd, "O_DIRECT pread(size rounded up) at 0, aligned", v, 0,
			      (size_t)((size + 4095) & ~(uint64_t)4095), buf, 0);
		probe(dfd, "O_DIRECT pread(1001) at 12345 into buffer + 1", v, 12345, 1001, mem + 1,
		      0);
		probe(dfd, "O_DIRECT pread(65537) at 4097 into buffer + 3", v, 4097, 65537, mem + 3,
		      0);
		probe(dfd, "O_DIRECT pread(4096) at size - 100", v, (off_t)size - 100, 4096, buf,
		      0);
		probe(dfd, "O_DIRECT pread(4096) at the size", v, (off_t)size, 4096, buf, 0);
		probe(dfd, "O_DIRECT pread(4096) at 2^63-4096", v, top - 4095, 4096, buf, EINVAL);
		probe(dfd, "O_DIRECT pread(1) at 2^63-2", v, top - 1, 1, buf, EINVAL);
		probe(dfd, "O_DIRECT pread(0) at 0", v, 0, 0, buf, 0);
		{
			/* Whole file by O_DIRECT read(2) with an odd buffer size. */
			uint64_t off = 0;
			ssize_t got;

			while ((got = read(dfd, mem + 5, 77777)) > 0) {
				if (mismatch(v, off, mem + 5, (size_t)got) >= 0) {
					fail("O_DIRECT read(77777) at %" PRIu64 ": WRONG BYTES",
					     off);
					break;
				}
				off += (uint64_t)got;
			}
			if (got < 0)
				fail("O_DIRECT read(77777) at %" PRIu64 ": %s", off,
				     errname(errno));
			else if (off != size)
				fail("O_DIRECT read(77777) loop read %" PRIu64 " of %" PRIu64
				     " bytes",
				     off, size);
			else
				probe_ok(
					"O_DIRECT read(2) of 77777 at a time into buffer + 5 reads "
					"the whole %" PRIu64 " bytes, verified",
					size);
		}
		close(dfd);
	}
	munmap(mem, 2 * MAX_READ + 8192);
	printf("ioprobe %s: %u probes as expected (offsets near 2^63: 0 bytes or EINVAL; zero "
	       "lengths; the exact size; O_DIRECT aligned and not), %d not\n",
	       path, probes_ok, failures);
	return failures ? 1 : 0;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "gen", cmd_gen },	      { "check", cmd_check },
		{ "populate", cmd_populate }, { "reader", cmd_reader },
		{ "mutator", cmd_mutator },   { "openloop", cmd_openloop },
		{ "ioprobe", cmd_ioprobe },   { "genmany", cmd_genmany },
		{ "size", cmd_size },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2) {
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			if (strcmp(argv[1], cmds[i].name) == 0) {
				int ret;

				/* The expected bytes of a read, built to compare with. */
				scratch = malloc(2 * MAX_READ + 8);
				if (!scratch)
					return 2;
				ret = cmds[i].fn(argc - 2, argv + 2);
				free(scratch);
				if (ret == 2)
					fprintf(stderr, "hxzverify %s: bad usage or setup\n",
						argv[1]);
				return ret;
			}
		}
	}
	fprintf(stderr, "usage: hxzverify "
			"gen|genmany|size|check|populate|reader|mutator|openloop|ioprobe ...\n"
			"(see the comment at the top of tests/robustness/hxzverify.c)\n");
	return 2;
}
