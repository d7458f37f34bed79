/* SPDX-License-Identifier: MIT */
/*
 * remote_fetch: how fast libhexz's remote backend reads one object, cold
 * (every chunk fetched) and then again from its chunk cache, to be put
 * beside `curl -o /dev/null` of the same URL from the same server.
 *
 * Usage: remote_fetch URL [READ_BYTES [CA_FILE]]
 *
 * Reads the whole object sequentially in READ_BYTES pieces (default
 * 4 MiB) with hexz_storage_read_exact(), twice, and prints one line per
 * pass: bytes, seconds, MiB/s. The cache budget holds the whole object
 * (up to 4 GiB), so the second pass is the hit path. S3 settings come
 * from the AWS_* environment, as for hexz-inspect.
 *
 * REMOTE_FETCH_CACHE_BYTES sets the memory budget (bytes) instead: one
 * smaller than the object makes the first pass that of a cache at its
 * budget, evicting a chunk for each it fetches.
 *
 * With REMOTE_FETCH_CACHE_DIR set, the first pass also keeps every chunk
 * in that disk cache (cache_dir), and a third pass ("disk") reads the
 * object through a new context on the same directory whose memory cache
 * holds one chunk: the disk cache's read path, to be put beside a read of
 * the same bytes from a local file.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hexz/hexz.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int
pass(const struct hexz_storage *st, size_t piece, unsigned char *buf, const char *label)
{
	uint64_t size = hexz_storage_len(st), off;
	double t0 = now(), took;
	int ret;

	for (off = 0; off < size; off += piece) {
		size_t n = size - off < piece ? (size_t)(size - off) : piece;

		ret = hexz_storage_read_exact(st, off, n, buf);
		if (ret) {
			struct hexz_error why = { 0 };

			hexz_remote_read_error(st, &why);
			fprintf(stderr, "remote_fetch: read at %" PRIu64 ": %s\n", off,
				why.message);
			return 1;
		}
	}
	took = now() - t0;
	printf("%-6s %" PRIu64 " bytes in %.3f s: %.1f MiB/s\n", label, size, took,
	       (double)size / took / (1 << 20));
	return 0;
}

int
main(int argc, char **argv)
{
	struct hexz_remote_options o;
	struct hexz_remote *r = NULL;
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };
	size_t piece = argc > 2 ? strtoul(argv[2], NULL, 0) : 4u << 20;
	unsigned char *buf;
	int ret = 1;

	if (argc < 2 || argc > 4 || piece == 0) {
		fprintf(stderr, "usage: remote_fetch URL [READ_BYTES [CA_FILE]]\n");
		return 2;
	}
	hexz_remote_options_init(&o);
	o.cache_bytes = env("REMOTE_FETCH_CACHE_BYTES")
				? strtoull(env("REMOTE_FETCH_CACHE_BYTES"), NULL, 0)
				: 4ull << 30;
	o.ca_file = argc > 3 ? argv[3] : NULL;
	o.s3_access_key_id = env("AWS_ACCESS_KEY_ID");
	o.s3_secret_access_key = env("AWS_SECRET_ACCESS_KEY");
	o.s3_region = env("AWS_REGION");
	o.s3_endpoint = env("AWS_ENDPOINT_URL");
	o.cache_dir = env("REMOTE_FETCH_CACHE_DIR");
	buf = malloc(piece);
	if (!buf || hexz_remote_create(&o, &r, &err) || hexz_remote_open(r, argv[1], &st, &err)) {
		fprintf(stderr, "remote_fetch: %s\n", buf ? err.message : "out of memory");
		goto out;
	}
	ret = pass(st, piece, buf, "cold") || pass(st, piece, buf, "cached");
	if (ret || !o.cache_dir)
		goto out;
	/* The disk tier alone: a new context, its memory cache as small as it goes. */
	hexz_storage_close(st);
	hexz_remote_destroy(r);
	st = NULL;
	r = NULL;
	o.cache_bytes = 0;
	if (hexz_remote_create(&o, &r, &err) || hexz_remote_open(r, argv[1], &st, &err)) {
		fprintf(stderr, "remote_fetch: %s\n", err.message);
		ret = 1;
		goto out;
	}
	ret = pass(st, piece, buf, "disk");
out:
	hexz_storage_close(st);
	hexz_remote_destroy(r);
	free(buf);
	return ret;
}
