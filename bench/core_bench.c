/* SPDX-License-Identifier: MIT */
/*
 * core_bench: hexz_storage_read_exact() against plain memcpy().
 *
 * Both copy the same bytes, from the same mapping, into the same
 * destination buffer: memcpy() reads through the pointer that
 * hexz_storage_view() lends, read_exact() goes through the public call
 * (argument and bounds checks, the backend dispatch, the SIGBUS guard).
 * Whatever read_exact costs on top of memcpy shows as a ratio below 1.
 *
 * Two working sets per copy size:
 *   hot     the same source range every time (cache resident): the
 *           fixed cost per call is most visible here, the worst case;
 *   stream  consecutive ranges walking a span much larger than the last
 *           level cache: the copies run at memory speed.
 *
 * For each (size, set) the two methods alternate, ROUNDS times (which one
 * goes first alternates too); each round copies about BYTES bytes. Reported,
 * as tab-separated values: the median round of each method, and the median
 * of the per-round ratios read_exact/memcpy (adjacent rounds, so that slow
 * drift of the machine cancels):
 *   size  set  memcpy_GBps  read_exact_GBps  ratio
 *
 * usage: core_bench [-r ROUNDS] [-b MIB_PER_ROUND] [-s STREAM_SPAN_MIB] [-d DIR]
 *        (defaults: 101 rounds of 16 MiB, a 256 MiB span, $TMPDIR or /tmp)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hexz/storage.h>

#define MIB (1024u * 1024u)
#define MAX_ROUNDS 1001

static const size_t copy_sizes[] = { 4096, 128 * 1024, 1024 * 1024 };

enum method { METHOD_MEMCPY, METHOD_READ_EXACT };

struct setup {
	const struct hexz_storage *st;
	const unsigned char *map; /* the same bytes, lent by hexz_storage_view() */
	uint64_t span;		  /* bytes of the snapshot walked by "stream" */
	unsigned char *dst;
};

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Make the compiler believe the destination is read, so no copy is dropped. */
static inline void
clobber(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/*
 * One timed round: `iters` copies of `size` bytes, from *pos onwards within
 * the first `window` bytes, wrapping around; returns bytes per second.
 */
static double
run_round(const struct setup *s, enum method m, size_t size, uint64_t window, size_t iters,
	  uint64_t *pos)
{
	uint64_t off = *pos;
	double t0, t1;

	t0 = now_seconds();
	for (size_t i = 0; i < iters; i++) {
		if (m == METHOD_MEMCPY) {
			memcpy(s->dst, s->map + off, size);
		} else if (hexz_storage_read_exact(s->st, off, size, s->dst) != HEXZ_OK) {
			fprintf(stderr, "core_bench: read_exact failed at offset %llu\n",
				(unsigned long long)off);
			exit(1);
		}
		clobber(s->dst);
		off += size;
		if (off + size > window)
			off = 0;
	}
	t1 = now_seconds();
	*pos = off;
	return (double)size * (double)iters / (t1 - t0);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A snapshot of `len` bytes of varied content in `dir`, unlinked once mapped. */
static struct hexz_storage *
make_snapshot(const char *dir, uint64_t len)
{
	char path[4096];
	struct hexz_storage *st = NULL;
	unsigned char *chunk;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int fd, os_errno = 0, ret;

	snprintf(path, sizeof(path), "%s/core_bench.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "core_bench: cannot create a file in %s: %s\n", dir,
			strerror(errno));
		return NULL;
	}
	chunk = malloc(MIB);
	if (!chunk)
		goto out;
	for (uint64_t done = 0; done < len; done += MIB) {
		for (size_t i = 0; i < MIB; i += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(chunk + i, &x, 8);
		}
		if (write(fd, chunk, MIB) != (ssize_t)MIB) {
			fprintf(stderr, "core_bench: cannot write %s: %s\n", path, strerror(errno));
			goto out;
		}
	}
	ret = hexz_mmap_open_fd(fd, &st, &os_errno);
	if (ret != HEXZ_OK)
		fprintf(stderr, "core_bench: hexz_mmap_open_fd: %s (%s)\n", hexz_strerror(ret),
			strerror(os_errno));
out:
	free(chunk);
	unlink(path);
	close(fd);
	return st;
}

static unsigned long
parse_arg(const char *opt, const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "core_bench: %s wants a whole number from %lu to %lu\n", opt, lo,
			hi);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	unsigned rounds = 101;
	uint64_t per_round = 16ull * MIB;
	uint64_t span = 256ull * MIB;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct hexz_storage *st;
	struct setup s;
	const void *view;
	volatile unsigned char sink = 0;
	int opt;

	while ((opt = getopt(argc, argv, "r:b:s:d:")) != -1) {
		switch (opt) {
		case 'r':
			rounds = (unsigned)parse_arg("-r", optarg, 1, MAX_ROUNDS);
			break;
		case 'b':
			per_round = parse_arg("-b", optarg, 1, 65536) * MIB;
			break;
		case 's':
			span = parse_arg("-s", optarg, 2, 65536) * MIB;
			break;
		case 'd':
			dir = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-r ROUNDS] [-b MIB_PER_ROUND] [-s STREAM_SPAN_MIB]"
				" [-d DIR]\n",
				argv[0]);
			return 2;
		}
	}

	st = make_snapshot(dir, span);
	if (!st)
		return 1;
	if (hexz_storage_view(st, 0, span, &view) != HEXZ_OK) {
		fprintf(stderr, "core_bench: hexz_storage_view failed\n");
		return 1;
	}
	s.st = st;
	s.map = view;
	s.span = span;
	if (posix_memalign((void **)&s.dst, 4096, MIB) != 0) {
		fprintf(stderr, "core_bench: out of memory\n");
		return 1;
	}
	/* Fault in every page of the mapping and of the destination first. */
	for (uint64_t off = 0; off < span; off += 4096)
		sink ^= s.map[off];
	memset(s.dst, (int)sink, MIB);

	printf("# rounds=%u bytes_per_round=%llu stream_span=%llu\n", rounds,
	       (unsigned long long)per_round, (unsigned long long)span);
	printf("size\tset\tmemcpy_GBps\tread_exact_GBps\tratio\n");
	for (size_t z = 0; z < sizeof(copy_sizes) / sizeof(copy_sizes[0]); z++) {
		size_t size = copy_sizes[z];
		size_t iters = (size_t)(per_round / size);

		for (int set = 0; set < 2; set++) {
			uint64_t window = set == 0 ? size : span;
			double mc[MAX_ROUNDS], rx[MAX_ROUNDS], ratio[MAX_ROUNDS];
			/*
			 * In "stream" the two methods walk the span half a span
			 * apart, so neither finds in the cache what the other has
			 * just read.
			 */
			uint64_t pos_mc = 0, pos_rx = set == 0 ? 0 : span / 2;

			/* One untimed warm-up of each method. */
			run_round(&s, METHOD_MEMCPY, size, window, iters / 4 + 1, &pos_mc);
			run_round(&s, METHOD_READ_EXACT, size, window, iters / 4 + 1, &pos_rx);
			for (unsigned r = 0; r < rounds; r++) {
				if (r % 2 == 0) {
					mc[r] = run_round(&s, METHOD_MEMCPY, size, window, iters,
							  &pos_mc);
					rx[r] = run_round(&s, METHOD_READ_EXACT, size, window,
							  iters, &pos_rx);
				} else {
					rx[r] = run_round(&s, METHOD_READ_EXACT, size, window,
							  iters, &pos_rx);
					mc[r] = run_round(&s, METHOD_MEMCPY, size, window, iters,
							  &pos_mc);
				}
			}
			/* The ratio of each round pair, so that drift between rounds cancels. */
			for (unsigned r = 0; r < rounds; r++)
				ratio[r] = rx[r] / mc[r];
			printf("%zu\t%s\t%.2f\t%.2f\t%.3f\n", size, set == 0 ? "hot" : "stream",
			       median(mc, rounds) / 1e9, median(rx, rounds) / 1e9,
			       median(ratio, rounds));
			fflush(stdout);
		}
	}
	free(s.dst);
	hexz_storage_close(st);
	return 0;
}
