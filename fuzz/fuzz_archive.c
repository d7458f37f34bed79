/* SPDX-License-Identifier: MIT */
/*
 * fuzz_archive: libhexz's archive reader on arbitrary archive bytes, driven
 * through the public calls the mount makes.
 *
 * Input:
 *   byte 0      flags: bits 0-1 the password (0 none, 1 "fuzz", 2 "wrong",
 *               3 an empty one), bits 2-4 the chunk size of the reads
 *               (chunk_sizes[]), bits 5-6 the cache budget (budgets[]),
 *               bit 7 pin with room for one piece per call instead of 16
 *   byte 1      bit 0: repair the CRC-32 of every block the index
 *               describes before opening (see repair_checksums()); other
 *               bits unused
 *   the rest    the archive file, held in a memfd (nothing touches the
 *               file system) and opened with hexz_mmap_open_fd()
 *
 * HEXZFS_FUZZ_VERBOSE=1 prints the outcome of each open (to check seeds).
 *
 * What is done: hexz_archive_open() with a private cache and a resolver
 * that refuses every parent (so no file is ever opened), then
 * hexz_archive_get_info(), hexz_archive_scan(), both streams read from the
 * start in chunks with hexz_archive_read() and again with
 * hexz_archive_pin()/hexz_block_unpin(), the last chunk of each stream,
 * every manifest entry's range, and hexz_archive_close().
 *
 * Bounded work per input, so that hostile sizes cannot make a timeout: at
 * most READ_CAP bytes and MAX_CALLS calls per stream, MAX_ENTRIES manifest
 * entries of at most ENTRY_CAP bytes each. A block may still be up to
 * HEXZ_MAX_BLOCK_LEN (16 MiB) long and is decoded whole.
 *
 * PBKDF2: the library accepts up to CRYPTO_MAX_ITERATIONS (4 million)
 * iterations, seconds of work per open under the sanitizers. An input
 * whose header (decoded here by header_iterations(), enough of it to reach
 * the encryption field) asks for more than MAX_FUZZ_ITERATIONS is opened
 * without a password: the open then stops at HEXZ_ERR_PASSWORD_REQUIRED
 * before any key derivation, and the rest of the header and the index are
 * still exercised. The seeds use 1 iteration.
 *
 * Checked besides "no crash, no leak, no undefined behaviour":
 *  - every failure is a negative status, the same code lands in the
 *    struct hexz_error, and its message is a non-empty sentence;
 *  - the facts agree with each other: hexz_archive_stream_size() with
 *    the info, a successful scan counts exactly block_count blocks;
 *  - reads and pins of the same range both succeed or both fail, and
 *    when they succeed they give the same bytes; pinned pieces are never
 *    empty and cover exactly what they claim;
 *  - a range past the end of a stream fails with HEXZ_ERR_END_OF_FILE
 *    without touching the destination;
 *  - the manifest's tree is well formed (every child found by its name
 *    under its parent, children sorted and unique, paths relative without
 *    empty, "." or ".." components), its files lie inside the main stream
 *    and read back as the same bytes as the main stream.
 */
#define _GNU_SOURCE
#include <hexz/archive.h>
#include <hexz/cache.h>
#include <hexz/storage.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz.h"

#define READ_CAP (1024u * 1024u)
#define MAX_CALLS 2048
#define MAX_ENTRIES 64
#define ENTRY_CAP (64u * 1024u)
#define PIN_ROOM 16
#define MAX_FUZZ_ITERATIONS 1000
#define CANARY 0xa5

/* HEXZFS_FUZZ_VERBOSE=1: say what each input opened to (for seeds). */
static bool verbose;

static const size_t chunk_sizes[8] = { 1, 7, 512, 4096, 4097, 65536, 65537, READ_CAP };
static const uint64_t budgets[4] = { 1, 64 * 1024, 1024 * 1024, 16 * 1024 * 1024 };

static const struct {
	const char *bytes;
	size_t len;
} passwords[4] = { { NULL, 0 }, { "fuzz", 4 }, { "wrong", 5 }, { "", 0 } };

/* ---- the header, as far as the encryption field (FORMAT.md section 3) ---- */

static bool
skip(struct fuzz_input *in, uint64_t n)
{
	if (n > in->n)
		return false;
	in->p += n;
	in->n -= n;
	return true;
}

/* An Option<T> of `size` bytes: false when truncated or not a valid tag. */
static bool
skip_option(struct fuzz_input *in, size_t size)
{
	uint8_t tag;

	if (in->n < 1)
		return false;
	tag = fuzz_u8(in);
	return tag == 0 || (tag == 1 && skip(in, size));
}

/*
 * The PBKDF2 iteration count of an encrypted archive, 0 when the header
 * does not decode that far or says "not encrypted" (the library then fails
 * or needs no key: nothing to avoid).
 */
static uint32_t
header_iterations(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint64_t parents;

	/* magic, version, block_size, index_offset */
	if (!skip(&in, 4 + 4 + 4 + 8) || in.n < 8)
		return 0;
	parents = fuzz_uint(&in, 8);
	for (uint64_t i = 0; i < parents; i++) {
		if (in.n < 8 || !skip(&in, fuzz_uint(&in, 8)))
			return 0;
	}
	/* dictionary, metadata, signature: Option<u64> then Option<u32> each */
	for (int i = 0; i < 3; i++) {
		if (!skip_option(&in, 8) || !skip_option(&in, 4))
			return 0;
	}
	if (in.n < 1 + 16 + 4 || fuzz_u8(&in) != 1 || !skip(&in, 16))
		return 0;
	return (uint32_t)fuzz_uint(&in, 4);
}

/* ---- making mutated blocks reach the codecs ---- */

/*
 * Every block is checked against its CRC-32 before it is decrypted or
 * decompressed, so nearly every mutation of a block's bytes stops at the
 * checksum and the codecs only ever see the seeds' blocks. With this flag
 * the target rewrites the checksum field of every index entry it can find
 * (walking the master index and pages as FORMAT.md section 4 lays them
 * out, skipping anything out of bounds; the library checks all of it
 * again) to the CRC-32 of the bytes the entry points at.
 */
static void
repair_checksums(uint8_t *file, size_t size)
{
	struct fuzz_input hdr = { file + 12, size > 12 ? size - 12 : 0 };
	uint64_t index_offset = fuzz_uint(&hdr, 8);
	struct fuzz_input mi;

	if (index_offset >= size)
		return;
	mi = (struct fuzz_input){ file + index_offset, size - (size_t)index_offset };
	for (int s = 0; s < 2; s++) {
		uint64_t pages = fuzz_uint(&mi, 8);

		for (uint64_t p = 0; p < pages && mi.n >= 28; p++) {
			uint64_t off = fuzz_uint(&mi, 8);
			uint64_t len = fuzz_uint(&mi, 4);
			struct fuzz_input pg;
			uint64_t count;

			fuzz_uint(&mi, 16); /* start_block, start_logical */
			if (off > size || len > size - off)
				continue;
			pg = (struct fuzz_input){ file + off, (size_t)len };
			count = fuzz_uint(&pg, 8);
			for (uint64_t i = 0; i < count && pg.n >= 52; i++) {
				uint8_t *e = (uint8_t *)(uintptr_t)pg.p;
				struct fuzz_input f = { e, 12 };
				uint64_t boff = fuzz_uint(&f, 8);
				uint64_t blen = fuzz_uint(&f, 4);
				uint32_t crc;

				pg.p += 52;
				pg.n -= 52;
				if (blen == 0 || boff > size || blen > size - boff)
					continue;
				crc = (uint32_t)crc32_z(0, file + boff, (size_t)blen);
				for (int k = 0; k < 4; k++)
					e[16 + k] = (uint8_t)(crc >> (8 * k));
			}
		}
	}
}

/* ---- helpers ---- */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *v = getenv("HEXZFS_FUZZ_VERBOSE");

	(void)argc;
	(void)argv;
	verbose = v && *v && strcmp(v, "0") != 0;
	return 0;
}

static int
refuse_parent(void *opaque, const char *child_location, const char *parent_path,
	      struct hexz_parent *out, struct hexz_error *err)
{
	(void)opaque;
	(void)child_location;
	(void)parent_path;
	(void)out;
	if (err) {
		err->code = HEXZ_ERR_PARENT_REFUSED;
		snprintf(err->message, sizeof(err->message), "fuzz: parents are refused");
	}
	return HEXZ_ERR_PARENT_REFUSED;
}

static void
check_failure(int ret, const struct hexz_error *err)
{
	FUZZ_CHECK(ret < 0);
	FUZZ_CHECK(err->code == ret);
	FUZZ_CHECK(memchr(err->message, '\0', sizeof(err->message)) != NULL);
	FUZZ_CHECK(err->message[0] != '\0');
}

static struct hexz_storage *
storage_of(const uint8_t *data, size_t size)
{
	struct hexz_storage *st = NULL;
	int fd = memfd_create("fuzz_archive", MFD_CLOEXEC);

	FUZZ_CHECK(fd >= 0);
	for (size_t done = 0; done < size;) {
		ssize_t n = write(fd, data + done, size - done);

		FUZZ_CHECK(n > 0);
		done += (size_t)n;
	}
	FUZZ_CHECK(hexz_mmap_open_fd(fd, &st, NULL) == HEXZ_OK);
	close(fd);
	FUZZ_CHECK(hexz_storage_len(st) == size);
	return st;
}

/* ---- the checks ---- */

static void
check_info(struct hexz_archive *ar)
{
	struct hexz_archive_info info;
	struct hexz_archive_scan scan;
	struct hexz_error err;
	int ret;

	hexz_archive_get_info(ar, &info);
	FUZZ_CHECK(info.format_version == 1);
	FUZZ_CHECK(info.compression == HEXZ_COMPRESSION_LZ4 ||
		   info.compression == HEXZ_COMPRESSION_ZSTD);
	FUZZ_CHECK(info.parent_count == 0); /* every parent is refused */
	for (size_t i = 0; i < info.parent_count + 1; i++)
		FUZZ_CHECK((hexz_archive_parent_path(ar, i) != NULL) == (i < info.parent_count));
	FUZZ_CHECK(hexz_archive_parent(ar, 0) == NULL);
	FUZZ_CHECK(info.has_manifest || hexz_archive_manifest_count(ar) == 0);
	for (int s = 0; s < 2; s++)
		FUZZ_CHECK(hexz_archive_stream_size(ar, (enum hexz_stream)s) ==
			   info.stream_size[s]);
	FUZZ_CHECK(hexz_archive_stream_size(ar, (enum hexz_stream)2) == 0);

	ret = hexz_archive_scan(ar, &scan, &err);
	if (ret) {
		check_failure(ret, &err);
		return;
	}
	for (int s = 0; s < 2; s++)
		FUZZ_CHECK(scan.data_blocks[s] + scan.zero_blocks[s] + scan.parent_blocks[s] ==
			   info.block_count[s]);
}

/* A range outside the stream fails and leaves the destination alone. */
static void
check_out_of_range(struct hexz_archive *ar, enum hexz_stream s, uint64_t size)
{
	static const uint64_t offsets[] = { 0, 1, UINT64_MAX };
	unsigned char canary[8];
	struct hexz_block_ref *ref = NULL;
	size_t count = 1, covered = 1;
	struct iovec iov;
	struct hexz_error err;
	int ret;

	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		uint64_t off = offsets[i] == UINT64_MAX ? UINT64_MAX : size + offsets[i];

		memset(canary, CANARY, sizeof(canary));
		ret = hexz_archive_read(ar, s, off, off == size ? sizeof(canary) : 1, canary, &err);
		FUZZ_CHECK(ret == HEXZ_ERR_END_OF_FILE);
		check_failure(ret, &err);
		for (size_t k = 0; k < sizeof(canary); k++)
			FUZZ_CHECK(canary[k] == CANARY);
	}
	/* An empty read or pin at the very end is fine; one byte more is not. */
	FUZZ_CHECK(hexz_archive_read(ar, s, size, 0, NULL, NULL) == HEXZ_OK);
	FUZZ_CHECK(hexz_archive_pin(ar, s, size, 0, &iov, &ref, 1, &count, &covered, NULL) ==
		   HEXZ_OK);
	FUZZ_CHECK(count == 0 && covered == 0);
	FUZZ_CHECK(hexz_archive_pin(ar, s, size, 1, &iov, &ref, 1, &count, &covered, NULL) ==
		   HEXZ_ERR_END_OF_FILE);
	FUZZ_CHECK(count == 0 && covered == 0);
	FUZZ_CHECK(hexz_archive_read(ar, (enum hexz_stream)2, 0, 0, canary, NULL) ==
		   HEXZ_ERR_INVALID_ARGUMENT);
}

/*
 * Read [0, len) in chunks into buf; return 0, or the first failure (the
 * bytes before it were read).
 */
static int
read_chunks(struct hexz_archive *ar, enum hexz_stream s, size_t len, size_t chunk,
	    unsigned char *buf)
{
	struct hexz_error err;

	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		int ret = hexz_archive_read(ar, s, off, n, buf + off, &err);

		if (ret) {
			check_failure(ret, &err);
			return ret;
		}
	}
	return HEXZ_OK;
}

/* Pin [0, len) in chunks, comparing with `expect` when it is not NULL. */
static int
pin_chunks(struct hexz_archive *ar, enum hexz_stream s, size_t len, size_t chunk, size_t room,
	   const unsigned char *expect)
{
	struct iovec iov[PIN_ROOM];
	struct hexz_block_ref *refs[PIN_ROOM];
	struct hexz_error err;
	size_t off = 0;

	while (off < len) {
		size_t want = len - off < chunk ? len - off : chunk;
		size_t count, covered, sum = 0;
		int ret =
			hexz_archive_pin(ar, s, off, want, iov, refs, room, &count, &covered, &err);

		if (ret) {
			check_failure(ret, &err);
			return ret;
		}
		FUZZ_CHECK(count >= 1 && count <= room);
		FUZZ_CHECK(covered > 0 && covered <= want);
		FUZZ_CHECK(covered == want || count == room);
		for (size_t i = 0; i < count; i++) {
			FUZZ_CHECK(iov[i].iov_len > 0 && iov[i].iov_base != NULL);
			if (expect)
				FUZZ_CHECK(memcmp(iov[i].iov_base, expect + off + sum,
						  iov[i].iov_len) == 0);
			sum += iov[i].iov_len;
		}
		FUZZ_CHECK(sum == covered);
		hexz_block_unpin(refs, count);
		for (size_t i = 0; i < count; i++)
			FUZZ_CHECK(refs[i] == NULL);
		off += covered;
	}
	return HEXZ_OK;
}

/*
 * Read the start of a stream (up to READ_CAP bytes, MAX_CALLS calls) by
 * read and by pin; `buf` then holds the first *read_len bytes of the
 * stream (0 when a read failed).
 */
static void
check_stream(struct hexz_archive *ar, enum hexz_stream s, size_t chunk, size_t room,
	     unsigned char *buf, size_t *read_len)
{
	uint64_t size = hexz_archive_stream_size(ar, s);
	size_t len = size < READ_CAP ? (size_t)size : READ_CAP;
	size_t tail = chunk < size ? chunk : (size_t)size;
	unsigned char *end_buf;
	int r, p;

	if (len / chunk >= MAX_CALLS)
		len = MAX_CALLS * chunk;
	*read_len = 0;
	r = read_chunks(ar, s, len, chunk, buf);
	p = pin_chunks(ar, s, len, chunk, room, r == HEXZ_OK ? buf : NULL);
	/* Errors are per block and do not depend on the cache: same verdict. */
	FUZZ_CHECK((r == HEXZ_OK) == (p == HEXZ_OK));
	if (r == HEXZ_OK)
		*read_len = len;

	/* The last chunk, from the end of the stream (a block often short). */
	end_buf = malloc(tail ? tail : 1);
	FUZZ_CHECK(end_buf != NULL);
	r = hexz_archive_read(ar, s, size - tail, tail, end_buf, NULL);
	if (r == HEXZ_OK && size - tail < *read_len) {
		size_t n = *read_len - (size_t)(size - tail);

		FUZZ_CHECK(memcmp(end_buf, buf + (size - tail), n < tail ? n : tail) == 0);
	}
	free(end_buf);
	check_out_of_range(ar, s, size);
}

static void
check_path(const char *path)
{
	size_t len = strlen(path);
	const char *c = path;

	FUZZ_CHECK(len > 0 && path[0] != '/' && path[len - 1] != '/');
	while (*c) {
		size_t n = strcspn(c, "/");

		FUZZ_CHECK(n > 0);
		FUZZ_CHECK(!(n == 1 && c[0] == '.'));
		FUZZ_CHECK(!(n == 2 && c[0] == '.' && c[1] == '.'));
		c += n;
		if (*c == '/')
			c++;
	}
}

static void
check_manifest(struct hexz_archive *ar, const unsigned char *main_bytes, size_t main_len,
	       unsigned char *buf)
{
	uint32_t count = hexz_archive_tree_count(ar);
	uint64_t main_size = hexz_archive_stream_size(ar, HEXZ_STREAM_MAIN);
	size_t rejected = hexz_archive_manifest_rejected_count(ar), files = 0;
	struct hexz_tree_node e;
	struct hexz_error err;

	FUZZ_CHECK(hexz_archive_tree_node(ar, count, &e) == HEXZ_ERR_INVALID_ARGUMENT);
	for (size_t i = 0; i < rejected && i < HEXZ_MANIFEST_REJECTIONS_KEPT; i++) {
		const char *why = hexz_archive_manifest_rejected(ar, i);

		FUZZ_CHECK(why != NULL && why[0] != '\0');
	}
	FUZZ_CHECK(hexz_archive_manifest_rejected(ar, rejected) == NULL);
	for (uint32_t i = 0; i < count; i++) {
		char path[PATH_MAX], prev[NAME_MAX + 1] = "";
		size_t n;
		int ret;

		FUZZ_CHECK(hexz_archive_tree_node(ar, i, &e) == HEXZ_OK && e.name != NULL);
		FUZZ_CHECK(hexz_archive_tree_path(ar, i, path, sizeof(path)) < sizeof(path));
		if (i > 0) {
			check_path(path);
			FUZZ_CHECK(hexz_archive_tree_lookup(ar, e.parent, e.name) == i);
		}
		if (e.is_dir) {
			/* Children consecutive, in range, strictly sorted, pointing back. */
			FUZZ_CHECK(e.first_child <= count && e.child_count <= count - e.first_child);
			for (uint32_t c = e.first_child; c < e.first_child + e.child_count; c++) {
				struct hexz_tree_node child;

				FUZZ_CHECK(hexz_archive_tree_node(ar, c, &child) == HEXZ_OK);
				FUZZ_CHECK(child.parent == i && c != 0);
				FUZZ_CHECK(strcmp(prev, child.name) < 0 || c == e.first_child);
				snprintf(prev, sizeof(prev), "%s", child.name);
			}
			continue;
		}
		files++;
		FUZZ_CHECK(e.offset <= main_size && e.size <= main_size - e.offset);
		if (files > MAX_ENTRIES)
			continue;
		n = e.size < ENTRY_CAP ? (size_t)e.size : ENTRY_CAP;
		ret = hexz_archive_read(ar, HEXZ_STREAM_MAIN, e.offset, n, buf, &err);
		if (ret) {
			check_failure(ret, &err);
			continue;
		}
		if (e.offset + n <= main_len)
			FUZZ_CHECK(n == 0 || memcmp(buf, main_bytes + e.offset, n) == 0);
	}
	FUZZ_CHECK(files == hexz_archive_manifest_count(ar));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hexz_archive_options opts = {
		.location = "fuzz.hxz",
		.resolve_parent = refuse_parent,
	};
	struct fuzz_input in = { data, size };
	uint8_t flags = fuzz_u8(&in);
	uint8_t flags2 = fuzz_u8(&in);
	size_t chunk = chunk_sizes[(flags >> 2) & 7];
	size_t room = (flags & 0x80) ? 1 : PIN_ROOM;
	struct hexz_storage *st;
	uint8_t *copy;
	struct hexz_archive *ar = NULL;
	struct hexz_cache *cache = NULL;
	struct hexz_error err;
	unsigned char *main_bytes, *buf;
	size_t main_len, aux_len;
	int ret;

	copy = malloc(in.n ? in.n : 1);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, in.p, in.n);
	if (flags2 & 1)
		repair_checksums(copy, in.n);
	st = storage_of(copy, in.n);
	opts.password = passwords[flags & 3].bytes;
	opts.password_len = passwords[flags & 3].len;
	if (header_iterations(copy, in.n) > MAX_FUZZ_ITERATIONS) {
		opts.password = NULL;
		opts.password_len = 0;
	}
	free(copy);
	FUZZ_CHECK(hexz_cache_create(budgets[(flags >> 5) & 3], 0, &cache) == HEXZ_OK);
	opts.cache = cache;

	ret = hexz_archive_open(st, &opts, &ar, &err);
	if (verbose)
		fprintf(stderr, "open: %s\n", ret ? err.message : "ok");
	if (ret) {
		check_failure(ret, &err);
		FUZZ_CHECK(ar == NULL);
		hexz_storage_close(st);
		hexz_cache_destroy(cache);
		return 0;
	}
	check_info(ar);

	main_bytes = malloc(READ_CAP);
	buf = malloc(READ_CAP);
	FUZZ_CHECK(main_bytes != NULL && buf != NULL);
	check_stream(ar, HEXZ_STREAM_MAIN, chunk, room, main_bytes, &main_len);
	check_stream(ar, HEXZ_STREAM_AUXILIARY, chunk, room, buf, &aux_len);
	check_manifest(ar, main_bytes, main_len, buf);
	free(buf);
	free(main_bytes);

	hexz_archive_close(ar);
	hexz_cache_destroy(cache);
	return 0;
}
