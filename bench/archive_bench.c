/* SPDX-License-Identifier: MIT */
/*
 * archive_bench: libhexz reading an archive's main stream against the
 * codec alone on the same blocks, single-threaded, the archive file in the
 * page cache.
 *
 * The blocks are found by decoding the header and the index here, straight
 * from FORMAT.md (sections 3 and 4), not through the library. Methods, each
 * over the whole main stream once per round:
 *   codec       LZ4_decompress_safe() (or ZSTD_decompressDCtx(), with the
 *               archive's dictionary digested once) of every block, in
 *               stream order, into one block-sized buffer: the floor;
 *   crc         zlib's crc32_z() over every block's stored bytes, which
 *               the library checks on every block read from storage;
 *   crc_isal    ISA-L's crc32_gzip_refl() over the same bytes (when built
 *               with libisal), the same CRC-32 folded with PCLMULQDQ;
 *   crc_deflate libdeflate's libdeflate_crc32() (when built with
 *               libdeflate), likewise;
 *   crc+codec   zlib's CRC and the codec, as the library does them;
 *   isal+codec  ISA-L's CRC and the codec: what the library's floor would
 *               be with that CRC;
 *   cold_read   hexz_archive_read() in READ_KIB pieces, with a 1 MiB block
 *               cache that never holds a block when it is asked for again:
 *               every block is checked, decompressed into a new cache
 *               block and copied out (the decode path);
 *   cold_pin    the same with hexz_archive_pin()/hexz_block_unpin(): no copy
 *               out (the FUSE reply path);
 *   hot_read    hexz_archive_read() with a cache large enough for the whole
 *               stream, filled beforehand: cache hits and memcpy();
 *   hot_pin     hexz_archive_pin() on that cache: cache hits only.
 * Throughput counts decompressed bytes of the stream per second.
 *
 * The methods run in a rotating order within each round; reported per
 * method: the median round in GB/s, and the median of the per-round ratios
 * method/codec (rounds are adjacent, so slow drift of the machine cancels).
 * Tab-separated, one line per method:
 *   archive  compression  method  GBps  ratio_vs_codec
 * followed by comment lines with the cache counters of the cold and hot
 * library runs (every cold read must miss, every hot read must hit).
 *
 * The archive should have no zero and no deduplicated blocks (hexz_writer.py
 * --no-zero-blocks --no-dedup), so that the library decodes exactly the
 * blocks the codec does; the bench refuses encrypted and thin archives.
 *
 * usage: archive_bench [-r ROUNDS] [-k READ_KIB] ARCHIVE...
 *        (defaults: 11 rounds, 128 KiB reads)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lz4.h>
#include <zlib.h>
#include <zstd.h>
#ifdef HAVE_ISAL
#include <isa-l/crc.h>
#endif
#ifdef HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include <hexz/archive.h>
#include <hexz/cache.h>
#include <hexz/storage.h>

#define MIB (1024u * 1024u)
#define MAX_ROUNDS 201
#define HEADER_AREA 4096
#define COLD_BUDGET MIB

enum method {
	M_CODEC,
	M_CRC,
	M_CRC_ISAL,
	M_CRC_DEFLATE,
	M_CRC_CODEC,
	M_ISAL_CODEC,
	M_COLD_READ,
	M_COLD_PIN,
	M_HOT_READ,
	M_HOT_PIN,
	M_COUNT
};

static const char *const method_names[M_COUNT] = {
	"codec",      "crc",	   "crc_isal", "crc_deflate", "crc+codec",
	"isal+codec", "cold_read", "cold_pin", "hot_read",    "hot_pin",
};

struct block {
	uint64_t offset;
	uint32_t length;
	uint32_t logical_len;
};

struct bench {
	const char *path;
	struct hexz_storage *st; /* for the codec runs: the bytes of the file */
	const unsigned char *map;
	uint64_t file_size;
	enum hexz_compression compression;
	ZSTD_DCtx *dctx;
	ZSTD_DDict *ddict;
	struct block *blocks;
	size_t nblocks;
	uint64_t stream_size;
	uint32_t max_block;
	unsigned char *block_buf;
	unsigned char *read_buf;
	size_t read_len;
	struct hexz_cache *cold_cache, *hot_cache;
	struct hexz_archive *cold, *hot;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("archive_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

#ifdef HAVE_ISAL
static const bool have_isal = true;
#else
static const bool have_isal = false;
#endif
#ifdef HAVE_LIBDEFLATE
static const bool have_libdeflate = true;
#else
static const bool have_libdeflate = false;
#endif

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Make the compiler believe the destination is read, so no work is dropped. */
static inline void
clobber(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* ---- the index, decoded here from FORMAT.md ---- */

struct rd {
	const unsigned char *p;
	uint64_t left;
	bool bad;
};

static uint64_t
rd_uint(struct rd *r, unsigned int n)
{
	uint64_t v = 0;

	if (r->bad || r->left < n) {
		r->bad = true;
		return 0;
	}
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	r->left -= n;
	return v;
}

static void
rd_skip(struct rd *r, uint64_t n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		return;
	}
	r->p += n;
	r->left -= n;
}

/* Option<T> of n bytes: whether it is Some. */
static bool
rd_option(struct rd *r, unsigned int n)
{
	bool some = rd_uint(r, 1) == 1;

	if (some)
		rd_skip(r, n);
	return some;
}

/* The header fields the bench needs: dictionary range; parents, encryption refused. */
static void
decode_header(struct bench *b, uint64_t *index_offset, uint64_t *dict_off, uint32_t *dict_len)
{
	struct rd r = { b->map, b->file_size < HEADER_AREA ? b->file_size : HEADER_AREA, false };
	uint64_t parents;

	rd_skip(&r, 4 + 4 + 4); /* magic, version, block_size (checked by the library) */
	*index_offset = rd_uint(&r, 8);
	parents = rd_uint(&r, 8);
	if (parents)
		die("%s: a thin archive (parents are not benchmarked)", b->path);
	*dict_off = 0;
	*dict_len = 0;
	if (rd_uint(&r, 1))
		*dict_off = rd_uint(&r, 8);
	if (rd_uint(&r, 1))
		*dict_len = (uint32_t)rd_uint(&r, 4);
	rd_option(&r, 8); /* metadata */
	rd_option(&r, 4);
	rd_option(&r, 8); /* signature */
	rd_option(&r, 4);
	if (rd_option(&r, 20))
		die("%s: an encrypted archive (not benchmarked)", b->path);
	if (r.bad || *index_offset >= b->file_size ||
	    (*dict_len && (*dict_off > b->file_size || *dict_len > b->file_size - *dict_off)))
		die("%s: the header does not decode", b->path);
}

/* Every block of the main stream, in stream order; zero and parent blocks refused. */
static void
decode_index(struct bench *b, uint64_t index_offset)
{
	struct rd mi = { b->map + index_offset, b->file_size - index_offset, false };
	uint64_t pages = rd_uint(&mi, 8);
	size_t cap = 0;

	for (uint64_t p = 0; p < pages && !mi.bad; p++) {
		uint64_t off = rd_uint(&mi, 8);
		uint64_t len = rd_uint(&mi, 4);
		struct rd pg;
		uint64_t count;

		rd_skip(&mi, 16);
		if (mi.bad || off > b->file_size || len > b->file_size - off)
			die("%s: index page %llu lies outside the file", b->path,
			    (unsigned long long)p);
		pg = (struct rd){ b->map + off, len, false };
		count = rd_uint(&pg, 8);
		for (uint64_t i = 0; i < count; i++) {
			struct block *bl;

			if (b->nblocks == cap) {
				cap = cap ? 2 * cap : 4096;
				b->blocks = realloc(b->blocks, cap * sizeof(*b->blocks));
				if (!b->blocks)
					die("out of memory");
			}
			bl = &b->blocks[b->nblocks];
			bl->offset = rd_uint(&pg, 8);
			bl->length = (uint32_t)rd_uint(&pg, 4);
			bl->logical_len = (uint32_t)rd_uint(&pg, 4);
			rd_skip(&pg, 4 + 32); /* checksum (the library checks it), hash */
			if (pg.bad)
				die("%s: index page %llu does not decode", b->path,
				    (unsigned long long)p);
			if (bl->length == 0)
				die("%s: a zero or parent block: write the archive with "
				    "--no-zero-blocks",
				    b->path);
			if (bl->offset > b->file_size || bl->length > b->file_size - bl->offset)
				die("%s: a block lies outside the file", b->path);
			if (bl->logical_len > b->max_block)
				b->max_block = bl->logical_len;
			b->stream_size += bl->logical_len;
			b->nblocks++;
		}
	}
	if (mi.bad || b->nblocks == 0)
		die("%s: the master index does not decode, or the main stream is empty", b->path);
}

/* ---- the methods ---- */

static void
codec_block(struct bench *b, const struct block *bl)
{
	const unsigned char *src = b->map + bl->offset;
	size_t n;

	if (b->compression == HEXZ_COMPRESSION_LZ4) {
		int got = LZ4_decompress_safe((const char *)src + 4, (char *)b->block_buf,
					      (int)bl->length - 4, (int)bl->logical_len);

		if (got != (int)bl->logical_len)
			die("%s: LZ4_decompress_safe failed", b->path);
	} else {
		n = b->ddict ? ZSTD_decompress_usingDDict(b->dctx, b->block_buf, bl->logical_len,
							  src, bl->length, b->ddict)
			     : ZSTD_decompressDCtx(b->dctx, b->block_buf, bl->logical_len, src,
						   bl->length);
		if (ZSTD_isError(n) || n != bl->logical_len)
			die("%s: ZSTD_decompress failed", b->path);
	}
	clobber(b->block_buf);
}

static volatile uint32_t crc_sink;

enum crc_impl { CRC_ZLIB, CRC_ISAL, CRC_DEFLATE };

static void
crc_block(const struct bench *b, const struct block *bl, enum crc_impl impl)
{
	const unsigned char *src = b->map + bl->offset;

	switch (impl) {
#ifdef HAVE_ISAL
	case CRC_ISAL:
		crc_sink ^= crc32_gzip_refl(0, src, bl->length);
		break;
#endif
#ifdef HAVE_LIBDEFLATE
	case CRC_DEFLATE:
		crc_sink ^= libdeflate_crc32(0, src, bl->length);
		break;
#endif
	default:
		crc_sink ^= (uint32_t)crc32_z(0, src, bl->length);
		break;
	}
}

static void
library_pass(struct bench *b, struct hexz_archive *ar, bool pin)
{
	struct hexz_error err;
	struct iovec iov[64];
	struct hexz_block_ref *refs[64];

	for (uint64_t off = 0; off < b->stream_size;) {
		size_t len = b->stream_size - off < b->read_len ? (size_t)(b->stream_size - off)
								: b->read_len;
		size_t count, covered = len;
		int ret;

		if (pin) {
			ret = hexz_archive_pin(ar, HEXZ_STREAM_MAIN, off, len, iov, refs, 64,
					       &count, &covered, &err);
			if (!ret) {
				clobber(iov[0].iov_base);
				hexz_block_unpin(refs, count);
			}
		} else {
			ret = hexz_archive_read(ar, HEXZ_STREAM_MAIN, off, len, b->read_buf, &err);
			clobber(b->read_buf);
		}
		if (ret)
			die("%s", err.message);
		off += covered;
	}
}

/* One pass of `m` over the stream; decompressed bytes per second. */
static double
run_method(struct bench *b, enum method m)
{
	double t0 = now_seconds(), t1;

	switch (m) {
	case M_CODEC:
	case M_CRC:
	case M_CRC_ISAL:
	case M_CRC_DEFLATE:
	case M_CRC_CODEC:
	case M_ISAL_CODEC:
		for (size_t i = 0; i < b->nblocks; i++) {
			if (m == M_CRC || m == M_CRC_CODEC)
				crc_block(b, &b->blocks[i], CRC_ZLIB);
			else if (m == M_CRC_ISAL || m == M_ISAL_CODEC)
				crc_block(b, &b->blocks[i], CRC_ISAL);
			else if (m == M_CRC_DEFLATE)
				crc_block(b, &b->blocks[i], CRC_DEFLATE);
			if (m == M_CODEC || m == M_CRC_CODEC || m == M_ISAL_CODEC)
				codec_block(b, &b->blocks[i]);
		}
		break;
	case M_COLD_READ:
	case M_COLD_PIN:
		library_pass(b, b->cold, m == M_COLD_PIN);
		break;
	case M_HOT_READ:
	case M_HOT_PIN:
		library_pass(b, b->hot, m == M_HOT_PIN);
		break;
	default:
		break;
	}
	t1 = now_seconds();
	return (double)b->stream_size / (t1 - t0);
}

static bool
method_available(enum method m)
{
#ifndef HAVE_ISAL
	if (m == M_CRC_ISAL || m == M_ISAL_CODEC)
		return false;
#endif
#ifndef HAVE_LIBDEFLATE
	if (m == M_CRC_DEFLATE)
		return false;
#endif
	(void)m;
	return true;
}

/* ---- setup ---- */

static struct hexz_archive *
open_archive(const char *path, uint64_t budget, struct hexz_cache **cache)
{
	struct hexz_archive_options opts = { 0 };
	struct hexz_archive *ar;
	struct hexz_error err;
	int ret;

	ret = hexz_cache_create(budget, 0, cache);
	if (ret)
		die("hexz_cache_create: %s", hexz_strerror(ret));
	opts.cache = *cache;
	ret = hexz_archive_open_path(path, &opts, &ar, &err);
	if (ret)
		die("%s", err.message);
	return ar;
}

static void
setup(struct bench *b, const char *path, size_t read_len)
{
	struct hexz_archive_info info;
	uint64_t index_offset, dict_off;
	uint32_t dict_len;
	const void *view;
	volatile unsigned char sink = 0;
	int os_errno = 0, ret;

	memset(b, 0, sizeof(*b));
	b->path = path;
	b->read_len = read_len;
	ret = hexz_mmap_open(path, &b->st, &os_errno);
	if (ret)
		die("%s: %s (%s)", path, hexz_strerror(ret), strerror(os_errno));
	b->file_size = hexz_storage_len(b->st);
	if (hexz_storage_view(b->st, 0, b->file_size, &view) != HEXZ_OK)
		die("%s: no view of the file", path);
	b->map = view;
	/* Into the page cache and the page tables (the library maps it again). */
	for (uint64_t off = 0; off < b->file_size; off += 4096)
		sink ^= b->map[off];

	b->cold = open_archive(path, COLD_BUDGET, &b->cold_cache);
	hexz_archive_get_info(b->cold, &info);
	b->compression = info.compression;
	decode_header(b, &index_offset, &dict_off, &dict_len);
	decode_index(b, index_offset);
	if (b->stream_size != info.stream_size[HEXZ_STREAM_MAIN])
		die("%s: the index decoded here disagrees with the library", path);
	b->hot = open_archive(path, 2 * (b->stream_size + b->nblocks * 4096ull) + MIB,
			      &b->hot_cache);

	if (b->compression == HEXZ_COMPRESSION_ZSTD) {
		b->dctx = ZSTD_createDCtx();
		if (!b->dctx)
			die("out of memory");
		if (dict_len) {
			b->ddict = ZSTD_createDDict(b->map + dict_off, dict_len);
			if (!b->ddict)
				die("%s: the dictionary does not load", path);
		}
	}
	b->block_buf = malloc(b->max_block);
	b->read_buf = malloc(read_len);
	if (!b->block_buf || !b->read_buf)
		die("out of memory");
	memset(b->block_buf, (int)sink, b->max_block);
	memset(b->read_buf, 0, read_len);
	/* Fill the hot cache; warm the code paths of every method once. */
	for (int m = 0; m < M_COUNT; m++)
		if (method_available((enum method)m))
			run_method(b, (enum method)m);
}

static void
teardown(struct bench *b)
{
	hexz_archive_close(b->cold);
	hexz_archive_close(b->hot);
	hexz_cache_destroy(b->cold_cache);
	hexz_cache_destroy(b->hot_cache);
	ZSTD_freeDDict(b->ddict);
	ZSTD_freeDCtx(b->dctx);
	hexz_storage_close(b->st);
	free(b->blocks);
	free(b->block_buf);
	free(b->read_buf);
}

/* ---- results ---- */

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

static void
print_stats(const char *what, const struct hexz_cache *cache)
{
	struct hexz_cache_stats s;

	hexz_cache_get_stats(cache, &s);
	printf("# %s cache: budget %llu, hits %llu, misses %llu, evictions %llu\n", what,
	       (unsigned long long)s.budget, (unsigned long long)s.hits,
	       (unsigned long long)s.misses, (unsigned long long)s.evictions);
}

static void
bench_archive(const char *path, unsigned rounds, size_t read_len)
{
	static double gbps[M_COUNT][MAX_ROUNDS], ratio[M_COUNT][MAX_ROUNDS];
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct bench b;
	uint64_t stored = 0;

	setup(&b, path, read_len);
	for (size_t i = 0; i < b.nblocks; i++)
		stored += b.blocks[i].length;
	printf("# %s: %zu blocks, %llu bytes decompressed, %llu stored (ratio %.2f), "
	       "largest block %u, reads of %zu bytes\n",
	       base, b.nblocks, (unsigned long long)b.stream_size, (unsigned long long)stored,
	       (double)b.stream_size / (double)stored, b.max_block, read_len);
	for (unsigned r = 0; r < rounds; r++) {
		for (int k = 0; k < M_COUNT; k++) {
			enum method m = (enum method)((k + r) % M_COUNT);

			if (method_available(m))
				gbps[m][r] = run_method(&b, m) / 1e9;
		}
		for (int m = 0; m < M_COUNT; m++)
			ratio[m][r] = gbps[m][r] / gbps[M_CODEC][r];
	}
	for (int m = 0; m < M_COUNT; m++) {
		if (!method_available((enum method)m))
			continue;
		printf("%s\t%s\t%s\t%.3f\t%.3f\n", base,
		       b.compression == HEXZ_COMPRESSION_LZ4 ? "lz4" : "zstd", method_names[m],
		       median(gbps[m], rounds), median(ratio[m], rounds));
	}
	print_stats("cold", b.cold_cache);
	print_stats("hot", b.hot_cache);
	fflush(stdout);
	teardown(&b);
}

static unsigned long
parse_arg(const char *opt, const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "archive_bench: %s wants a whole number from %lu to %lu\n", opt, lo,
			hi);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	unsigned rounds = 11;
	size_t read_len = 128 * 1024;
	int opt;

	while ((opt = getopt(argc, argv, "r:k:")) != -1) {
		switch (opt) {
		case 'r':
			rounds = (unsigned)parse_arg("-r", optarg, 1, MAX_ROUNDS);
			break;
		case 'k':
			read_len = parse_arg("-k", optarg, 1, 64 * 1024) * 1024;
			break;
		default:
			optind = argc + 1;
			break;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: %s [-r ROUNDS] [-k READ_KIB] ARCHIVE...\n", argv[0]);
		return 2;
	}
	printf("# rounds=%u read=%zu isal=%s libdeflate=%s zlib=%s; GB/s of decompressed "
	       "bytes, medians; ratio: method/codec, median of per-round ratios\n",
	       rounds, read_len, have_isal ? "yes" : "no", have_libdeflate ? "yes" : "no",
	       zlibVersion());
	printf("archive\tcompression\tmethod\tGBps\tratio_vs_codec\n");
	for (int i = optind; i < argc; i++)
		bench_archive(argv[i], rounds, read_len);
	return 0;
}
