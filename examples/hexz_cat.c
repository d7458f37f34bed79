/* SPDX-License-Identifier: MIT */
/*
 * hexz-cat: print a byte range of a snapshot, using libhexz directly.
 *
 *   hexz-cat SNAPSHOT [OFFSET [LENGTH]]
 *
 * A small program with no FUSE in it: it shows the library standing on its
 * own, and is the shortest complete example of its API.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <hexz/hexz.h>

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return (errno || end == s || *end || *s == '-') ? -1 : 0;
}

int
main(int argc, char *argv[])
{
	static char chunk[1 << 16];
	struct hexz_storage *st = NULL;
	uint64_t offset = 0, length, end;
	int ret, os_errno;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: hexz-cat SNAPSHOT [OFFSET [LENGTH]]\n");
		return 2;
	}
	ret = hexz_mmap_open(argv[1], &st, &os_errno);
	if (ret != HEXZ_OK) {
		fprintf(stderr, "hexz-cat: %s: %s\n", argv[1], hexz_strerror(ret));
		return 1;
	}
	length = hexz_storage_len(st);
	if ((argc > 2 && parse_u64(argv[2], &offset)) ||
	    (argc > 3 && parse_u64(argv[3], &length))) {
		fprintf(stderr, "hexz-cat: OFFSET and LENGTH must be whole numbers\n");
		goto fail;
	}
	end = offset + length;
	if (argc < 4)
		end = hexz_storage_len(st);
	while (offset < end) {
		size_t n = end - offset < sizeof(chunk) ? (size_t)(end - offset) : sizeof(chunk);

		/* read_exact refuses ranges past the end: nothing partial. */
		ret = hexz_storage_read_exact(st, offset, n, chunk);
		if (ret != HEXZ_OK) {
			fprintf(stderr, "hexz-cat: %s at offset %" PRIu64 ": %s\n", argv[1], offset,
				hexz_strerror(ret));
			goto fail;
		}
		if (fwrite(chunk, 1, n, stdout) != n) {
			perror("hexz-cat: write");
			goto fail;
		}
		offset += n;
	}
	hexz_storage_close(st);
	return 0;
fail:
	hexz_storage_close(st);
	return 1;
}
