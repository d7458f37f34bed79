/* SPDX-License-Identifier: MIT */
/*
 * fuzz_storage: libhexz's bounds checks and copies, on a real file.
 *
 * Input: the whole input is the snapshot. Its first bytes also drive the
 * requests made on it:
 *   byte 0        bit 0: open with hexz_mmap_open_fd() instead of
 *                 hexz_mmap_open(); bits 1-4: number of requests - 1
 *   per request   one byte: bits 0-2 how the offset is chosen, bits 3-5
 *                 how the length is chosen, bits 6-7 the call (0 read_exact,
 *                 1 view, 2 read_exact with a NULL buffer, 3 view with a
 *                 NULL out); then the bytes the two values need (value()).
 * Past the end of the input every byte reads as zero.
 *
 * Checked against the bytes written (an independent bounds rule, with
 * overflow detection, decides what must succeed):
 *  - an in-range read returns HEXZ_OK and exactly those bytes, into a
 *    buffer of exactly the requested size;
 *  - an out-of-range read (huge and wrapping values included) returns
 *    HEXZ_ERR_END_OF_FILE and leaves its destination untouched; the
 *    destination is then a small canary block, so a copy would overflow it
 *    under AddressSanitizer's eyes;
 *  - a view obeys the same rule and shows the same bytes;
 *  - NULL arguments give HEXZ_ERR_INVALID_ARGUMENT, where documented.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <hexz/storage.h>
#include <limits.h>
#include <stdbool.h>
#include <unistd.h>

#include "fuzz.h"

#define MAX_REQUESTS 16
#define CANARY_LEN 64
#define CANARY 0x5a

static char tmpdir[PATH_MAX];
static char path[PATH_MAX + 16];

static void
remove_files(void)
{
	unlink(path);
	rmdir(tmpdir);
}

/*
 * The snapshot is rewritten for every input, so it lives on tmpfs when
 * there is one: on ext4, rewriting a truncated file starts writeback at
 * close (auto_da_alloc) and costs most of the run's time. $TMPDIR wins.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	if (!base || !*base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/hexzfs-fuzz-storage-XXXXXX", base);
	FUZZ_CHECK(mkdtemp(tmpdir) != NULL);
	snprintf(path, sizeof(path), "%s/input.hxz", tmpdir);
	atexit(remove_files);
	return 0;
}

/* An offset or length chosen the way `mode` says, near the edges. */
static uint64_t
value(struct fuzz_input *in, unsigned int mode, uint64_t size)
{
	switch (mode & 7) {
	case 0:
		return fuzz_u8(in);
	case 1:
		return size - fuzz_u8(in); /* wraps to huge when size is small */
	case 2:
		return size + fuzz_u8(in);
	case 3:
		return UINT64_MAX - fuzz_u8(in);
	case 4:
		return (uint64_t)1 << (fuzz_u8(in) % 64);
	case 5:
		return fuzz_uint(in, 8);
	case 6:
		return size / 2 + fuzz_u8(in);
	default:
		return fuzz_uint(in, 2);
	}
}

static bool
in_range(uint64_t size, uint64_t offset, uint64_t len)
{
	uint64_t end;

	return !__builtin_add_overflow(offset, len, &end) && end <= size;
}

static void
check_read(const struct hexz_storage *st, const uint8_t *data, uint64_t size, uint64_t offset,
	   size_t len)
{
	unsigned char *buf;
	int ret;

	if (in_range(size, offset, len)) {
		buf = malloc(len ? len : 1);
		FUZZ_CHECK(buf != NULL);
		memset(buf, CANARY, len ? len : 1);
		ret = hexz_storage_read_exact(st, offset, len, buf);
		FUZZ_CHECK(ret == HEXZ_OK);
		FUZZ_CHECK(len == 0 || memcmp(buf, data + offset, len) == 0);
	} else {
		buf = malloc(CANARY_LEN);
		FUZZ_CHECK(buf != NULL);
		memset(buf, CANARY, CANARY_LEN);
		ret = hexz_storage_read_exact(st, offset, len, buf);
		FUZZ_CHECK(ret == HEXZ_ERR_END_OF_FILE);
		for (size_t i = 0; i < CANARY_LEN; i++)
			FUZZ_CHECK(buf[i] == CANARY);
	}
	free(buf);
}

static void
check_view(const struct hexz_storage *st, const uint8_t *data, uint64_t size, uint64_t offset,
	   size_t len)
{
	const void *view = NULL;
	int ret = hexz_storage_view(st, offset, len, &view);

	if (in_range(size, offset, len)) {
		FUZZ_CHECK(ret == HEXZ_OK);
		FUZZ_CHECK(len == 0 || (view != NULL && memcmp(view, data + offset, len) == 0));
	} else {
		FUZZ_CHECK(ret == HEXZ_ERR_END_OF_FILE);
	}
}

static void
request(const struct hexz_storage *st, const uint8_t *data, uint64_t size, struct fuzz_input *in)
{
	uint8_t op = fuzz_u8(in);
	uint64_t offset = value(in, op, size);
	size_t len = (size_t)value(in, op >> 3, size);
	int ret;

	switch (op >> 6) {
	case 0:
		check_read(st, data, size, offset, len);
		break;
	case 1:
		check_view(st, data, size, offset, len);
		break;
	case 2: /* no buffer: only an empty read may succeed */
		ret = hexz_storage_read_exact(st, offset, len, NULL);
		if (len > 0)
			FUZZ_CHECK(ret == HEXZ_ERR_INVALID_ARGUMENT);
		else
			FUZZ_CHECK(ret ==
				   (in_range(size, offset, 0) ? HEXZ_OK : HEXZ_ERR_END_OF_FILE));
		break;
	default:
		FUZZ_CHECK(hexz_storage_view(st, offset, len, NULL) == HEXZ_ERR_INVALID_ARGUMENT);
		break;
	}
}

/* Replace the snapshot file by a new one holding `data` (no truncation). */
static void
write_snapshot(const uint8_t *data, size_t size)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	FUZZ_CHECK(fd >= 0);
	for (size_t done = 0; done < size;) {
		ssize_t n = write(fd, data + done, size - done);

		FUZZ_CHECK(n > 0);
		done += (size_t)n;
	}
	FUZZ_CHECK(close(fd) == 0);
}

static struct hexz_storage *
open_snapshot(bool by_fd)
{
	struct hexz_storage *st = NULL;
	int os_errno = -1;
	int ret;

	if (by_fd) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		FUZZ_CHECK(fd >= 0);
		ret = hexz_mmap_open_fd(fd, &st, &os_errno);
		close(fd);
	} else {
		ret = hexz_mmap_open(path, &st, &os_errno);
	}
	if (ret != HEXZ_OK)
		fprintf(stderr, "open: %s (errno %d)\n", hexz_strerror(ret), os_errno);
	FUZZ_CHECK(ret == HEXZ_OK && st != NULL && os_errno == 0);
	return st;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t head = fuzz_u8(&in);
	unsigned int requests = 1 + ((head >> 1) & (MAX_REQUESTS - 1));
	struct hexz_storage *st;

	write_snapshot(data, size);
	st = open_snapshot(head & 1);
	FUZZ_CHECK(hexz_storage_len(st) == size);
	for (unsigned int i = 0; i < requests; i++)
		request(st, data, size, &in);
	hexz_storage_close(st);
	return 0;
}
