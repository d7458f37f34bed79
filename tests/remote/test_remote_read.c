/* SPDX-License-Identifier: MIT */
/*
 * Remote storage against real servers: nginx over http and https (its CA
 * given as ca_file) and Ceph's RADOS Gateway over S3, started by
 * run_remote_read.sh, which passes where they are in the environment.
 *
 * Every case of the writer's corpus opened through each backend
 * (hexz_remote_open() + hexz_archive_open()) reads exactly as the local
 * file does: the same status for opens and reads that fail, the same
 * bytes for both streams (in odd-sized pieces that straddle chunks) and
 * for every manifest file. Then the failures: 404 and 403 with their
 * statuses, quickly and in one request; an object replaced on the server
 * after it was opened gives HEXZ_ERR_CHANGED on the next uncached read;
 * a server stopped after open gives HEXZ_ERR_NETWORK after the retries,
 * within their bound; concurrent readers of one object fetch each chunk
 * once; the disk cache serves a later context without the server, and
 * never serves a damaged file or an old version.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <hexz/hexz.h>

#include "../unit/testutil.h"

/* Piece size of the comparisons: prime, so pieces straddle chunk and block edges. */
#define PIECE 7919u

static struct json_object *corpus;
static const char *corpus_dir;

static const char *
need_env(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v && *v, "%s is not set (run through run_remote_read.sh)", name);
	return v;
}

static struct json_object *
jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "corpus.json: no \"%s\"", key);
	return v;
}

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	return json_object_is_type(v, json_type_null) ? NULL : json_object_get_string(v);
}

static uint64_t
file_size(const char *path)
{
	struct stat sb;

	ck_assert_msg(stat(path, &sb) == 0, "%s: %s", path, strerror(errno));
	return (uint64_t)sb.st_size;
}

/* A context with the defaults but for what the test sets. */
static struct hexz_remote *
make_remote(uint32_t chunk, uint64_t cache_bytes, unsigned int retries, bool s3, const char *secret)
{
	struct hexz_remote_options o;
	struct hexz_remote *r = NULL;
	struct hexz_error err = { 0 };
	int ret;

	hexz_remote_options_init(&o);
	o.chunk_size = chunk;
	o.cache_bytes = cache_bytes;
	o.retries = retries;
	o.request_timeout = 5;
	o.ca_file = getenv("NGINX_CA_FILE");
	if (s3) {
		o.s3_endpoint = need_env("RGW_ENDPOINT");
		o.s3_region = need_env("RGW_REGION");
		o.s3_access_key_id = need_env("RGW_ACCESS_KEY_ID");
		o.s3_secret_access_key = secret ? secret : need_env("RGW_SECRET_ACCESS_KEY");
		o.s3_addressing = HEXZ_S3_ADDRESSING_PATH;
	}
	ret = hexz_remote_create(&o, &r, &err);
	ck_assert_msg(ret == HEXZ_OK, "hexz_remote_create: %s", err.message);
	return r;
}

/* An http context with a disk cache in `dir` and a memory cache of one chunk. */
static struct hexz_remote *
make_remote_disk(const char *dir)
{
	struct hexz_remote_options o;
	struct hexz_remote *r = NULL;
	struct hexz_error err = { 0 };

	hexz_remote_options_init(&o);
	o.chunk_size = 64u << 10;
	o.cache_bytes = 64u << 10;
	o.retries = 2;
	o.request_timeout = 5;
	o.max_connections = 4;
	o.cache_dir = dir;
	ck_assert_msg(hexz_remote_create(&o, &r, &err) == HEXZ_OK, "hexz_remote_create: %s",
		      err.message);
	return r;
}

static struct hexz_archive_options
case_options(struct json_object *c)
{
	struct hexz_archive_options o = { 0 };
	const char *pw = jstr(c, "password");

	if (pw) {
		o.password = pw;
		o.password_len = strlen(pw);
	}
	return o;
}

/* Read [off, off + len) of both archives (either may be NULL: failed); the outcomes must agree. */
static void
compare_range(struct hexz_archive *local, struct hexz_archive *remote, enum hexz_stream s,
	      uint64_t off, size_t len, const char *what, unsigned char *a, unsigned char *b)
{
	struct hexz_error e1 = { 0 }, e2 = { 0 };
	int r1 = hexz_archive_read(local, s, off, len, a, &e1);
	int r2 = hexz_archive_read(remote, s, off, len, b, &e2);

	ck_assert_msg(r1 == r2, "%s: stream %d at %" PRIu64 "+%zu: local %d (%s), remote %d (%s)",
		      what, (int)s, off, len, r1, e1.message, r2, e2.message);
	if (r1 == HEXZ_OK)
		ck_assert_msg(memcmp(a, b, len) == 0,
			      "%s: stream %d at %" PRIu64 "+%zu: bytes differ", what, (int)s, off,
			      len);
}

/* Every case of the corpus through `base` (a URL prefix ending in '/'), against the local file. */
static void
compare_corpus(struct hexz_remote *r, const char *base)
{
	size_t i, n = json_object_array_length(jget(corpus, "cases"));
	unsigned char *a = malloc(PIECE), *b = malloc(PIECE);
	unsigned int opened = 0;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(jget(corpus, "cases"), i);
		const char *file = jstr(c, "archive");
		struct hexz_archive_options lo = case_options(c), ro = case_options(c);
		struct hexz_archive *la = NULL, *ra = NULL;
		struct hexz_storage *st = NULL;
		struct hexz_error e1 = { 0 }, e2 = { 0 };
		char *path = tu_path(corpus_dir, file), *url = NULL;
		int r1, r2, s;
		uint32_t node;

		ck_assert_int_gt(asprintf(&url, "%s%s", base, file), 0);
		r1 = hexz_archive_open_path(path, &lo, &la, &e1);
		r2 = hexz_remote_open(r, url, &st, &e2);
		ck_assert_msg(r2 == HEXZ_OK, "%s: %s", url, e2.message);
		ck_assert_uint_eq(hexz_storage_len(st), (uint64_t)file_size(path));
		ro.location = url;
		ro.resolve_parent = hexz_remote_resolve_parent;
		ro.resolve_opaque = r;
		r2 = hexz_archive_open(st, &ro, &ra, &e2);
		if (r2)
			hexz_storage_close(st);
		ck_assert_msg(r1 == r2, "%s: local open %d (%s), remote open %d (%s)", file, r1,
			      e1.message, r2, e2.message);
		if (r1 == HEXZ_OK) {
			opened++;
			for (s = 0; s < 2; s++) {
				uint64_t size = hexz_archive_stream_size(la, (enum hexz_stream)s),
					 off;

				ck_assert_uint_eq(
					size, hexz_archive_stream_size(ra, (enum hexz_stream)s));
				for (off = 0; off < size; off += PIECE)
					compare_range(
						la, ra, (enum hexz_stream)s, off,
						(size_t)(size - off < PIECE ? size - off : PIECE),
						file, a, b);
			}
			/* Every manifest file, as a reader of the contents view asks for it. */
			for (node = 0; node < hexz_archive_tree_count(la); node++) {
				struct hexz_tree_node tn;
				uint64_t off;

				ck_assert_int_eq(hexz_archive_tree_node(la, node, &tn), HEXZ_OK);
				if (tn.is_dir)
					continue;
				for (off = 0; off < tn.size; off += PIECE)
					compare_range(la, ra, HEXZ_STREAM_MAIN, tn.offset + off,
						      (size_t)(tn.size - off < PIECE ? tn.size - off
										     : PIECE),
						      file, a, b);
			}
		}
		hexz_archive_close(la);
		hexz_archive_close(ra);
		free(path);
		free(url);
	}
	/* Most of the corpus opens; a run that opened nothing compared nothing. */
	ck_assert_uint_gt(opened, n / 2);
	free(a);
	free(b);
}

static char *
http_base(const char *scheme_port_var, const char *scheme)
{
	char *base = NULL;

	ck_assert_int_gt(asprintf(&base, "%s://127.0.0.1:%s/", scheme, need_env(scheme_port_var)),
			 0);
	return base;
}

/* Small chunks and a cache smaller than one archive: many chunks per read, evictions. */
START_TEST(test_corpus_http)
{
	struct hexz_remote *r = make_remote(4096, 64 << 10, 2, false, NULL);
	char *base = http_base("NGINX_HTTP_PORT", "http");

	compare_corpus(r, base);
	hexz_remote_destroy(r);
	free(base);
}
END_TEST

/* The default chunk size, over TLS verified against the test CA. */
START_TEST(test_corpus_https)
{
	struct hexz_remote *r = make_remote(0, 256 << 20, 2, false, NULL);
	char *base = http_base("NGINX_HTTPS_PORT", "https");

	compare_corpus(r, base);
	hexz_remote_destroy(r);
	free(base);
}
END_TEST

START_TEST(test_corpus_s3)
{
	struct hexz_remote *r = make_remote(16384, 1 << 20, 2, true, NULL);
	char *base = NULL;

	ck_assert_int_gt(asprintf(&base, "s3://%s/", need_env("RGW_BUCKET")), 0);
	compare_corpus(r, base);
	hexz_remote_destroy(r);
	free(base);
}
END_TEST

/* Without the test CA, the https server's certificate does not verify: a network error. */
START_TEST(test_https_untrusted)
{
	struct hexz_remote_options o;
	struct hexz_remote *r = NULL;
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };
	char *url = NULL;
	int ret;

	hexz_remote_options_init(&o);
	o.ca_file = "/etc/ssl/certs/ca-certificates.crt";
	ck_assert_int_eq(hexz_remote_create(&o, &r, &err), HEXZ_OK);
	ck_assert_int_gt(asprintf(&url, "https://127.0.0.1:%s/both_streams.hxz",
				  need_env("NGINX_HTTPS_PORT")),
			 0);
	ret = hexz_remote_open(r, url, &st, &err);
	ck_assert_msg(ret == HEXZ_ERR_NETWORK, "%d %s", ret, err.message);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err.message, url) && strstr(err.message, "certificate"), "%s",
		      err.message);
	hexz_remote_destroy(r);
	free(url);
}
END_TEST

/* Lines of nginx's access log that have `needle`. */
static unsigned int
log_count(const char *needle)
{
	FILE *f = fopen(need_env("NGINX_ACCESS_LOG"), "r");
	char line[4096];
	unsigned int n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/*
 * nginx logs a request after answering it, so a client can be ahead of the
 * log: wait (3 s at most) for `expected` lines, then a little longer for
 * any extra one, and return the count.
 */
static unsigned int
log_count_settled(const char *needle, unsigned int expected)
{
	double deadline = tu_now() + 3.0;

	while (log_count(needle) < expected && tu_now() < deadline)
		usleep(10000);
	usleep(200000);
	return log_count(needle);
}

/* Open `url` expecting `code` within `seconds`, the message naming the URL and `word`. */
static void
open_fails(struct hexz_remote *r, const char *url, int code, const char *word, double seconds)
{
	struct hexz_storage *st = (struct hexz_storage *)&st;
	struct hexz_error err = { 0 };
	double t0 = tu_now();
	int ret = hexz_remote_open(r, url, &st, &err);
	double took = tu_now() - t0;

	ck_assert_msg(ret == code, "%s: %d (%s), expected %d: %s", url, ret, hexz_strerror(ret),
		      code, err.message);
	ck_assert_int_eq(err.code, code);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err.message, url), "message lacks the URL: %s", err.message);
	ck_assert_msg(strstr(err.message, word), "message lacks \"%s\": %s", word, err.message);
	ck_assert_msg(took < seconds, "%s took %.2f s", url, took);
}

/* 404 at once, one request: not retried (5 retries would send 6). */
START_TEST(test_not_found_http)
{
	struct hexz_remote *r = make_remote(0, 1 << 20, 5, false, NULL);
	char *url = NULL;

	ck_assert_int_gt(asprintf(&url, "http://127.0.0.1:%s/no-such-archive.hxz",
				  need_env("NGINX_HTTP_PORT")),
			 0);
	open_fails(r, url, HEXZ_ERR_NOT_FOUND, "HTTP 404", 1.0);
	ck_assert_uint_eq(log_count_settled("/no-such-archive.hxz ", 1), 1);
	hexz_remote_destroy(r);
	free(url);
}
END_TEST

START_TEST(test_not_found_s3)
{
	struct hexz_remote *r = make_remote(0, 1 << 20, 5, true, NULL);
	char *url = NULL;

	ck_assert_int_gt(asprintf(&url, "s3://%s/no-such-archive.hxz", need_env("RGW_BUCKET")), 0);
	open_fails(r, url, HEXZ_ERR_NOT_FOUND, "NoSuchKey", 1.0);
	free(url);
	open_fails(r, "s3://no-such-bucket/a.hxz", HEXZ_ERR_NOT_FOUND, "NoSuchBucket", 1.0);
	hexz_remote_destroy(r);
}
END_TEST

/* A wrong secret: 403 with S3's code, quickly, and the secret in no message. */
START_TEST(test_wrong_secret_s3)
{
	const char *secret = "wrong+secret/with=specials";
	struct hexz_remote *r = make_remote(0, 1 << 20, 5, true, secret);
	char *url = NULL;
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };

	ck_assert_int_gt(asprintf(&url, "s3://%s/both_streams.hxz", need_env("RGW_BUCKET")), 0);
	open_fails(r, url, HEXZ_ERR_PERMISSION, "SignatureDoesNotMatch", 1.0);
	hexz_remote_open(r, url, &st, &err);
	ck_assert_ptr_null(strstr(err.message, secret));
	ck_assert_ptr_null(strstr(err.message, need_env("RGW_SECRET_ACCESS_KEY")));
	hexz_remote_destroy(r);
	free(url);
}
END_TEST

/* A file of `size` random bytes at `path`, written beside and renamed over, with mtime `mtime`. */
static void
write_object(const char *path, size_t size, time_t mtime, unsigned char *copy)
{
	char *tmp = NULL;
	unsigned char *buf = malloc(size);
	struct timeval tv[2] = { { .tv_sec = mtime }, { .tv_sec = mtime } };
	size_t i;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < size; i++)
		buf[i] = (unsigned char)arc4random();
	ck_assert_int_gt(asprintf(&tmp, "%s.tmp", path), 0);
	tu_write_file(tmp, buf, size);
	ck_assert_int_eq(utimes(tmp, tv), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
	if (copy)
		memcpy(copy, buf, size);
	free(buf);
	free(tmp);
}

#define OBJ_SIZE (1u << 20)
#define OBJ_CHUNK (64u << 10)

/*
 * Replaced after open, same length, new mtime (so a new ETag): cached
 * chunks still read as the old version; the next uncached read is
 * HEXZ_ERR_CHANGED (the server's 412), never the new bytes.
 */
START_TEST(test_replaced_object)
{
	struct hexz_remote *r = make_remote(OBJ_CHUNK, 8 << 20, 5, false, NULL);
	char *path = tu_path(corpus_dir, "replaced.hxz"), *url = NULL;
	unsigned char *old = malloc(OBJ_SIZE), *got = malloc(OBJ_SIZE), *now = malloc(OBJ_SIZE);
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };
	int ret;

	write_object(path, OBJ_SIZE, 1000000000, old);
	ck_assert_int_gt(
		asprintf(&url, "http://127.0.0.1:%s/replaced.hxz", need_env("NGINX_HTTP_PORT")), 0);
	ck_assert_int_eq(hexz_remote_open(r, url, &st, &err), HEXZ_OK);
	ck_assert_int_eq(hexz_storage_read_exact(st, 0, OBJ_CHUNK, got), HEXZ_OK);
	ck_assert_int_eq(memcmp(got, old, OBJ_CHUNK), 0);

	write_object(path, OBJ_SIZE, 1000000100, now);
	memset(got, 0, OBJ_SIZE);
	ret = hexz_storage_read_exact(st, 5 * OBJ_CHUNK, 1000, got);
	ck_assert_msg(ret == HEXZ_ERR_CHANGED, "read after replace: %d (%s)", ret,
		      hexz_strerror(ret));
	ck_assert_msg(memcmp(got, now + 5 * OBJ_CHUNK, 1000) != 0, "the new version's bytes");
	ck_assert_int_eq(hexz_remote_read_error(st, &err), HEXZ_OK);
	ck_assert_int_eq(err.code, HEXZ_ERR_CHANGED);
	ck_assert_msg(strstr(err.message, url) && strstr(err.message, "412"), "%s", err.message);
	/* The cached chunk is of the version opened, and still served. */
	ck_assert_int_eq(hexz_storage_read_exact(st, 10, 100, got), HEXZ_OK);
	ck_assert_int_eq(memcmp(got, old + 10, 100), 0);
	/* A whole read across cached and changed chunks fails whole. */
	ck_assert_int_eq(hexz_storage_read_exact(st, 0, OBJ_SIZE, got), HEXZ_ERR_CHANGED);
	hexz_storage_close(st);

	/* Opened again, the new version reads. */
	ck_assert_int_eq(hexz_remote_open(r, url, &st, &err), HEXZ_OK);
	ck_assert_int_eq(hexz_storage_read_exact(st, 0, OBJ_SIZE, got), HEXZ_OK);
	ck_assert_int_eq(memcmp(got, now, OBJ_SIZE), 0);
	hexz_storage_close(st);
	hexz_remote_destroy(r);
	unlink(path);
	free(path);
	free(url);
	free(old);
	free(got);
	free(now);
}
END_TEST

struct reader_arg {
	const struct hexz_storage *st;
	const unsigned char *expect;
	int status;
	bool same;
};

static void *
reader(void *p)
{
	struct reader_arg *a = p;
	unsigned char *buf = malloc(OBJ_SIZE);

	a->status = buf ? hexz_storage_read_exact(a->st, 0, OBJ_SIZE, buf) : HEXZ_ERR_NO_MEMORY;
	a->same = a->status == HEXZ_OK && memcmp(buf, a->expect, OBJ_SIZE) == 0;
	free(buf);
	return NULL;
}

/* Eight threads read a whole object at once: each chunk is fetched once, all read alike. */
START_TEST(test_concurrent_readers)
{
	struct hexz_remote *r = make_remote(OBJ_CHUNK, 8 << 20, 5, false, NULL);
	char *path = tu_path(corpus_dir, "shared.hxz"), *url = NULL;
	unsigned char *data = malloc(OBJ_SIZE);
	struct reader_arg args[8];
	pthread_t tids[8];
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };
	int i;

	write_object(path, OBJ_SIZE, 1000000000, data);
	ck_assert_int_gt(
		asprintf(&url, "http://127.0.0.1:%s/shared.hxz", need_env("NGINX_HTTP_PORT")), 0);
	ck_assert_int_eq(hexz_remote_open(r, url, &st, &err), HEXZ_OK);
	for (i = 0; i < 8; i++) {
		args[i] = (struct reader_arg){ .st = st, .expect = data };
		ck_assert_int_eq(pthread_create(&tids[i], NULL, reader, &args[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(tids[i], NULL);
		ck_assert_msg(args[i].status == HEXZ_OK && args[i].same, "reader %d: %d", i,
			      args[i].status);
	}
	ck_assert_uint_eq(log_count_settled("\"GET /shared.hxz ", OBJ_SIZE / OBJ_CHUNK),
			  OBJ_SIZE / OBJ_CHUNK);
	ck_assert_uint_eq(log_count_settled("\"HEAD /shared.hxz ", 1), 1);
	hexz_storage_close(st);
	hexz_remote_destroy(r);
	unlink(path);
	free(path);
	free(url);
	free(data);
}
END_TEST

static void run_script(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
run_script(const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ck_assert_int_gt(vasprintf(&cmd, fmt, ap), 0);
	va_end(ap);
	ret = system(cmd);
	ck_assert_msg(ret == 0, "%s: status %d", cmd, ret);
	free(cmd);
}

/*
 * Start the nginx of `state` (nginx.sh) over a new docroot in it holding
 * object `name` (OBJ_SIZE random bytes, copied to `copy`); its path in
 * *path, and its URL returned.
 */
static char *
start_own_nginx(const char *state, const char *name, unsigned char *copy, char **path)
{
	char *docroot = NULL, *env = NULL, *url = NULL, port[16] = "";
	FILE *f;

	ck_assert_int_gt(asprintf(&docroot, "%s/docroot", state), 0);
	ck_assert_int_eq(mkdir(docroot, 0700), 0);
	*path = tu_path(docroot, name);
	write_object(*path, OBJ_SIZE, 1000000000, copy);
	run_script("'%s' start '%s' '%s' >/dev/null", need_env("HEXZ_NGINX_SH"), state, docroot);
	ck_assert_int_gt(asprintf(&env, "%s/env", state), 0);
	f = fopen(env, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "NGINX_HTTP_PORT=%15s", port), 1);
	fclose(f);
	ck_assert_int_gt(asprintf(&url, "http://127.0.0.1:%s/%s", port, name), 0);
	free(docroot);
	free(env);
	return url;
}

/*
 * A server stopped after open: the next uncached read fails with
 * HEXZ_ERR_NETWORK after its retries (refused connections: the backoff is
 * the only wait, at most 0.1 + 0.2 s for 2 retries), the cached ones still
 * read.
 */
START_TEST(test_stopped_server)
{
	const char *state = need_env("HEXZ_STOP_STATE");
	struct hexz_remote *r = make_remote(OBJ_CHUNK, 8 << 20, 2, false, NULL);
	char *path = NULL, *url;
	unsigned char *data = malloc(OBJ_SIZE), *got = malloc(OBJ_SIZE);
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };
	double t0, took;
	int ret;

	url = start_own_nginx(state, "stopped.hxz", data, &path);

	ck_assert_int_eq(hexz_remote_open(r, url, &st, &err), HEXZ_OK);
	ck_assert_int_eq(hexz_storage_read_exact(st, 0, 4096, got), HEXZ_OK);
	run_script("'%s' stop '%s'", need_env("HEXZ_NGINX_SH"), state);

	t0 = tu_now();
	ret = hexz_storage_read_exact(st, 3 * OBJ_CHUNK, 4096, got);
	took = tu_now() - t0;
	ck_assert_msg(ret == HEXZ_ERR_NETWORK, "read after stop: %d (%s)", ret, hexz_strerror(ret));
	ck_assert_int_eq(hexz_remote_read_error(st, &err), HEXZ_OK);
	ck_assert_msg(strstr(err.message, url) && strstr(err.message, "3 attempts"), "%s",
		      err.message);
	ck_assert_msg(took < 2.0, "failed after %.2f s", took);
	ck_assert_int_eq(hexz_storage_read_exact(st, 100, 1000, got), HEXZ_OK);
	ck_assert_int_eq(memcmp(got, data + 100, 1000), 0);
	hexz_storage_close(st);
	hexz_remote_destroy(r);
	free(path);
	free(url);
	free(data);
	free(got);
}
END_TEST

/* Read all of `url` through `r` into `got`: the status of the open, then of the read. */
static int
read_all(struct hexz_remote *r, const char *url, unsigned char *got, size_t size)
{
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };
	int ret = hexz_remote_open(r, url, &st, &err);

	ck_assert_msg(ret == HEXZ_OK, "%s: %s", url, err.message);
	ck_assert_uint_eq(hexz_storage_len(st), size);
	/* In pieces that straddle chunks, as a reader of a mount asks. */
	for (size_t off = 0; off < size && ret == HEXZ_OK; off += PIECE)
		ret = hexz_storage_read_exact(st, off, size - off < PIECE ? size - off : PIECE,
					      got + off);
	hexz_storage_close(st);
	return ret;
}

/* Flip one byte in the data of every cache file of `dir`; returns how many there were. */
static unsigned int
damage_cache(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char *path;
		unsigned char b;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		path = tu_path(dir, de->d_name);
		fd = open(path, O_RDWR);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(pread(fd, &b, 1, 1000), 1);
		b ^= 1;
		ck_assert_int_eq(pwrite(fd, &b, 1, 1000), 1);
		close(fd);
		free(path);
		n++;
	}
	closedir(d);
	return n;
}

/*
 * The disk cache (cache_dir) against nginx: a second context reads what
 * the first fetched without the server (stopped after its HEAD); damaged
 * files are refetched, never served, and with the server stopped their
 * reads fail rather than serve them; a replaced object (new ETag) never
 * reads the old version's chunks from disk.
 */
START_TEST(test_disk_cache)
{
	const char *state = need_env("HEXZ_DISK_STATE");
	char *tmp = tu_tmpdir_create(), *cache = tu_path(tmp, "cache"), *path = NULL, *url;
	unsigned char *v1 = malloc(OBJ_SIZE), *v2 = malloc(OBJ_SIZE), *got = malloc(OBJ_SIZE);
	struct hexz_remote *r;
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };
	unsigned int chunks = OBJ_SIZE / (64u << 10);
	int ret;

	url = start_own_nginx(state, "disk.hxz", v1, &path);

	/* A first run fetches and keeps every chunk. */
	r = make_remote_disk(cache);
	ck_assert_int_eq(read_all(r, url, got, OBJ_SIZE), HEXZ_OK);
	ck_assert_int_eq(memcmp(got, v1, OBJ_SIZE), 0);
	hexz_remote_destroy(r);

	/* Damaged on disk: refetched (the right bytes), and stored again. */
	ck_assert_uint_eq(damage_cache(cache), chunks);
	r = make_remote_disk(cache);
	memset(got, 0, OBJ_SIZE);
	ck_assert_int_eq(read_all(r, url, got, OBJ_SIZE), HEXZ_OK);
	ck_assert_int_eq(memcmp(got, v1, OBJ_SIZE), 0);
	hexz_remote_destroy(r);

	/* Replaced on the server: the new version reads, not the old one's chunks. */
	write_object(path, OBJ_SIZE, 1000000100, v2);
	r = make_remote_disk(cache);
	ck_assert_int_eq(read_all(r, url, got, OBJ_SIZE), HEXZ_OK);
	ck_assert_msg(memcmp(got, v2, OBJ_SIZE) == 0, "not the replacing version's bytes");
	hexz_remote_destroy(r);

	/* A later run opens (HEAD), then the server stops: every chunk comes from disk. */
	r = make_remote_disk(cache);
	ck_assert_int_eq(hexz_remote_open(r, url, &st, &err), HEXZ_OK);
	run_script("'%s' stop '%s'", need_env("HEXZ_NGINX_SH"), state);
	memset(got, 0, OBJ_SIZE);
	for (size_t off = 0; off < OBJ_SIZE; off += PIECE) {
		size_t n = OBJ_SIZE - off < PIECE ? OBJ_SIZE - off : PIECE;

		ret = hexz_storage_read_exact(st, off, n, got + off);
		ck_assert_msg(ret == HEXZ_OK, "at %zu with the server stopped: %d (%s)", off, ret,
			      hexz_strerror(ret));
	}
	ck_assert_int_eq(memcmp(got, v2, OBJ_SIZE), 0);
	/* Damaged now, with no server: the read fails; it is never served. */
	ck_assert_uint_ge(damage_cache(cache), chunks);
	ret = hexz_storage_read_exact(st, OBJ_SIZE / 2, 100, got);
	ck_assert_msg(ret == HEXZ_ERR_NETWORK, "damaged chunk, server stopped: %d (%s)", ret,
		      hexz_strerror(ret));
	hexz_storage_close(st);
	hexz_remote_destroy(r);

	unlink(path);
	free(path);
	free(url);
	free(cache);
	tu_tmpdir_remove(tmp);
	free(v1);
	free(v2);
	free(got);
}
END_TEST

/* cache_dir refused: group-readable, and its message names it. */
START_TEST(test_disk_cache_refused)
{
	char *tmp = tu_tmpdir_create(), *cache = tu_path(tmp, "cache");
	struct hexz_remote_options o;
	struct hexz_remote *r = NULL;
	struct hexz_error err = { 0 };

	ck_assert_int_eq(mkdir(cache, 0750), 0);
	ck_assert_int_eq(chmod(cache, 0750), 0);
	hexz_remote_options_init(&o);
	o.cache_dir = cache;
	ck_assert_int_eq(hexz_remote_create(&o, &r, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(err.message, cache) && strstr(err.message, "0750"), "%s", err.message);
	o.cache_dir = "";
	ck_assert_int_eq(hexz_remote_create(&o, &r, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.message, "cache_dir"), "%s", err.message);
	free(cache);
	tu_tmpdir_remove(tmp);
}
END_TEST

/* Replace the proxy's rules with the JSON list `rules`. */
static void
set_faults(const char *rules)
{
	run_script("curl -sf -X PUT --data '%s' http://127.0.0.1:%s/faults >/dev/null", rules,
		   need_env("FAULT_PROXY_CONTROL_PORT"));
}

struct fault_case {
	const char *rules;
	int expect;	      /* the status of the whole read */
	const char *says;     /* a failure's message holds this (besides the URL) */
	unsigned int threads; /* readers of the object at once */
	unsigned int retries; /* 0: 3 */
};

static const struct fault_case fault_cases[] = {
	/* Retried, then read right. */
	{ "[{\"fault\":\"reset\",\"bytes\":1000,\"when\":{\"next\":2},\"method\":\"GET\"}]",
	  HEXZ_OK, NULL, 1, 0 },
	{ "[{\"fault\":\"truncate\",\"bytes\":5000,\"when\":{\"next\":2},\"method\":\"GET\"}]",
	  HEXZ_OK, NULL, 1, 0 },
	{ "[{\"fault\":\"status\",\"code\":503,\"when\":{\"next\":2},\"method\":\"GET\"}]", HEXZ_OK,
	  NULL, 1, 0 },
	{ "[{\"fault\":\"stall\",\"bytes\":100,\"seconds\":null,\"when\":{\"next\":1},"
	  "\"method\":\"GET\"}]",
	  HEXZ_OK, NULL, 1, 0 },
	{ "[{\"fault\":\"extra\",\"bytes\":10,\"method\":\"GET\"}]", HEXZ_OK, NULL, 1, 0 },
	/* Random faults of every retried kind, four readers at once. */
	{ "[{\"fault\":\"reset\",\"bytes\":3000,\"when\":{\"p\":0.1},\"method\":\"GET\"},"
	  "{\"fault\":\"truncate\",\"bytes\":2000,\"when\":{\"p\":0.1},\"method\":\"GET\"},"
	  "{\"fault\":\"status\",\"code\":502,\"when\":{\"p\":0.1},\"method\":\"GET\"}]",
	  HEXZ_OK, NULL, 4, 10 },
	/* Failures, each with its own status, after the retries or at once. */
	{ "[{\"fault\":\"status\",\"code\":500,\"method\":\"GET\"}]", HEXZ_ERR_HTTP, "500", 1, 0 },
	{ "[{\"fault\":\"reset\",\"bytes\":1000,\"method\":\"GET\"}]", HEXZ_ERR_NETWORK, "attempts",
	  1, 0 },
	{ "[{\"fault\":\"shift_range\",\"by\":1,\"method\":\"GET\"}]", HEXZ_ERR_PROTOCOL,
	  "Content-Range", 1, 0 },
	{ "[{\"fault\":\"ignore_range\",\"method\":\"GET\"}]", HEXZ_ERR_PROTOCOL, "Range", 1, 0 },
	{ "[{\"fault\":\"etag\",\"value\":\"\\\"other\\\"\",\"method\":\"GET\"}]", HEXZ_ERR_CHANGED,
	  "\"other\"", 1, 0 },
	{ "[{\"fault\":\"status\",\"code\":412,\"method\":\"GET\"}]", HEXZ_ERR_CHANGED, "412", 1,
	  0 },
};

struct fault_reader {
	const struct hexz_storage *st;
	const unsigned char *expect;
	unsigned int seed;
	int status;
};

/* Read the object in pieces, from a random piece on and round: every byte once. */
static void *
fault_read(void *p)
{
	struct fault_reader *fr = p;
	unsigned char *got = malloc(PIECE);
	size_t pieces = (OBJ_SIZE + PIECE - 1) / PIECE, first = rand_r(&fr->seed) % pieces;

	ck_assert_ptr_nonnull(got);
	for (size_t j = 0; j < pieces && fr->status == HEXZ_OK; j++) {
		size_t off = (first + j) % pieces * PIECE;
		size_t n = OBJ_SIZE - off < PIECE ? OBJ_SIZE - off : PIECE;

		fr->status = hexz_storage_read_exact(fr->st, off, n, got);
		/* Right bytes or a failure: never other bytes. */
		if (fr->status == HEXZ_OK && memcmp(got, fr->expect + off, n) != 0)
			fr->status = 1;
	}
	free(got);
	return NULL;
}

/*
 * The fault campaign: every fault of the proxy between the backend and
 * nginx, each on a fresh context (retries 3, request_timeout 1 s; 10 for
 * the random mix, where 4 attempts in a row fail too often): the
 * transient ones are retried and the object reads right; the lasting ones
 * fail the read with their own status and a message naming the URL and
 * the cause; in no case are other bytes returned.
 */
START_TEST(test_faults)
{
	const struct fault_case *fc = &fault_cases[_i];
	char *path = tu_path(corpus_dir, "faults.hxz"), *url = NULL;
	unsigned char *data = malloc(OBJ_SIZE);
	struct fault_reader fr[4];
	pthread_t tid[4];
	struct hexz_remote_options o;
	struct hexz_remote *r = NULL;
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };
	int status = HEXZ_OK;

	write_object(path, OBJ_SIZE, 1000000000 + _i, data);
	ck_assert_int_gt(
		asprintf(&url, "http://127.0.0.1:%s/faults.hxz", need_env("FAULT_PROXY_PORT")), 0);
	set_faults("[]");
	hexz_remote_options_init(&o);
	o.chunk_size = OBJ_CHUNK;
	o.cache_bytes = OBJ_CHUNK;
	o.retries = fc->retries ? fc->retries : 3;
	o.request_timeout = 1;
	o.max_connections = 4;
	ck_assert_int_eq(hexz_remote_create(&o, &r, &err), HEXZ_OK);
	ck_assert_msg(hexz_remote_open(r, url, &st, &err) == HEXZ_OK, "%s", err.message);
	set_faults(fc->rules);
	for (unsigned int t = 0; t < fc->threads; t++) {
		fr[t] = (struct fault_reader){ .st = st, .expect = data, .seed = 7 * t + 1 };
		ck_assert_int_eq(pthread_create(&tid[t], NULL, fault_read, &fr[t]), 0);
	}
	for (unsigned int t = 0; t < fc->threads; t++) {
		pthread_join(tid[t], NULL);
		if (fr[t].status != HEXZ_OK && status == HEXZ_OK)
			status = fr[t].status;
	}
	set_faults("[]");
	ck_assert_msg(status != 1, "%s: other bytes than the object's", fc->rules);
	ck_assert_msg(status == fc->expect, "%s: status %d (%s), expected %d", fc->rules, status,
		      hexz_strerror(status), fc->expect);
	if (fc->expect != HEXZ_OK) {
		ck_assert_int_eq(hexz_remote_read_error(st, &err), HEXZ_OK);
		ck_assert_msg(strstr(err.message, url) && strstr(err.message, fc->says),
			      "%s: message '%s' lacks the URL or '%s'", fc->rules, err.message,
			      fc->says);
	}
	hexz_storage_close(st);
	hexz_remote_destroy(r);
	free(path);
	free(url);
	free(data);
}
END_TEST

/* The proxy's count of answered GETs with status 206, since its counters were last reset. */
static int
proxy_gets(void)
{
	char *cmd = NULL, buf[4096];
	struct json_object *counters, *requests, *n;
	size_t len;
	int count = 0;
	FILE *f;

	ck_assert_int_gt(asprintf(&cmd, "curl -sf http://127.0.0.1:%s/counters",
				  need_env("FAULT_PROXY_CONTROL_PORT")),
			 0);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	counters = json_tokener_parse(buf);
	ck_assert_msg(counters, "counters: %s", buf);
	requests = jget(counters, "requests");
	if (json_object_object_get_ex(requests, "GET 206", &n))
		count = json_object_get_int(n);
	json_object_put(counters);
	free(cmd);
	return count;
}

/* The proxy's 206 count once it has stayed put for 300 ms (at most 10 s). */
static int
settled_gets(void)
{
	int now = proxy_gets(), before = -1;

	for (int i = 0; i < 100 && now != before; i++) {
		before = now;
		usleep(300 * 1000);
		now = proxy_gets();
	}
	return now;
}

static struct hexz_storage *
open_through_proxy(struct hexz_remote **r, const char *url)
{
	struct hexz_remote_options o;
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };

	hexz_remote_options_init(&o);
	o.chunk_size = OBJ_CHUNK;
	o.cache_bytes = 8u << 20;
	o.max_connections = 8; /* a window of 4 chunks */
	ck_assert_int_eq(hexz_remote_create(&o, r, &err), HEXZ_OK);
	ck_assert_msg(hexz_remote_open(*r, url, &st, &err) == HEXZ_OK, "%s", err.message);
	return st;
}

/*
 * Read-ahead, counted at the proxy: a second sequential read sends the
 * window's 4 chunks after its own, once each; a whole sequential read
 * then fetches every chunk once, with the right bytes; a reader that
 * jumps about fetches only what it reads; a handle closed while its
 * read-ahead is in flight is freed by the read-ahead (ASan sees it).
 */
START_TEST(test_read_ahead)
{
	char *path = tu_path(corpus_dir, "ahead.hxz"), *url = NULL;
	unsigned char *data = malloc(OBJ_SIZE), *got = malloc(OBJ_SIZE);
	const size_t chunks = OBJ_SIZE / OBJ_CHUNK;
	struct hexz_remote *r;
	struct hexz_storage *st;
	int gets;

	write_object(path, OBJ_SIZE, 1000000000, data);
	ck_assert_int_gt(
		asprintf(&url, "http://127.0.0.1:%s/ahead.hxz", need_env("FAULT_PROXY_PORT")), 0);
	set_faults("[]");

	run_script("curl -sf -X POST http://127.0.0.1:%s/reset >/dev/null",
		   need_env("FAULT_PROXY_CONTROL_PORT"));
	st = open_through_proxy(&r, url);
	ck_assert_int_eq(hexz_storage_read_exact(st, 0, 4096, got), HEXZ_OK);
	ck_assert_int_eq(settled_gets(), 1);
	ck_assert_int_eq(hexz_storage_read_exact(st, 4096, 4096, got + 4096), HEXZ_OK);
	gets = settled_gets();
	ck_assert_msg(gets == 1 + 4, "%d GETs after two sequential reads, 5 expected", gets);
	for (size_t off = 0; off < OBJ_SIZE; off += 4096)
		ck_assert_int_eq(hexz_storage_read_exact(st, off, 4096, got + off), HEXZ_OK);
	ck_assert_int_eq(memcmp(got, data, OBJ_SIZE), 0);
	gets = settled_gets();
	ck_assert_msg(gets == (int)chunks, "%d GETs for a sequential read of %zu chunks", gets,
		      chunks);
	hexz_storage_close(st);
	hexz_remote_destroy(r);

	/* Jumping about: chunks 10, 3, 7, 12: four GETs, nothing ahead. */
	run_script("curl -sf -X POST http://127.0.0.1:%s/reset >/dev/null",
		   need_env("FAULT_PROXY_CONTROL_PORT"));
	st = open_through_proxy(&r, url);
	for (int i = 0; i < 4; i++) {
		size_t off = (size_t)(int[]){ 10, 3, 7, 12 }[i] * OBJ_CHUNK + 100;

		ck_assert_int_eq(hexz_storage_read_exact(st, off, 1000, got), HEXZ_OK);
		ck_assert_int_eq(memcmp(got, data + off, 1000), 0);
	}
	gets = settled_gets();
	ck_assert_msg(gets == 4, "%d GETs for 4 scattered reads", gets);

	/* Closed, and the context dropped, with a read-ahead just started. */
	ck_assert_int_eq(hexz_storage_read_exact(st, 12 * OBJ_CHUNK + 2000, 10, got), HEXZ_OK);
	hexz_storage_close(st);
	hexz_remote_destroy(r);
	settled_gets();

	unlink(path);
	free(path);
	free(url);
	free(data);
	free(got);
}
END_TEST

/* The same through S3: an object overwritten by a PUT after open reads as changed. */
START_TEST(test_replaced_object_s3)
{
	struct hexz_remote *r = make_remote(OBJ_CHUNK, 8 << 20, 5, true, NULL);
	char *path = tu_path(corpus_dir, "s3-replaced.bin"), *url = NULL;
	unsigned char *old = malloc(OBJ_SIZE), *got = malloc(OBJ_SIZE);
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };
	int ret;

	/* s3_request reads the credentials from the environment, never from argv. */
	setenv("AWS_ENDPOINT_URL", need_env("RGW_ENDPOINT"), 1);
	setenv("AWS_REGION", need_env("RGW_REGION"), 1);
	setenv("AWS_ACCESS_KEY_ID", need_env("RGW_ACCESS_KEY_ID"), 1);
	setenv("AWS_SECRET_ACCESS_KEY", need_env("RGW_SECRET_ACCESS_KEY"), 1);
	write_object(path, OBJ_SIZE, 1000000000, old);
	run_script("'%s' -T '%s' PUT '%s' replaced.hxz >/dev/null", need_env("HEXZ_S3_REQUEST"),
		   path, need_env("RGW_BUCKET"));
	ck_assert_int_gt(asprintf(&url, "s3://%s/replaced.hxz", need_env("RGW_BUCKET")), 0);
	ck_assert_int_eq(hexz_remote_open(r, url, &st, &err), HEXZ_OK);
	ck_assert_int_eq(hexz_storage_read_exact(st, 0, OBJ_CHUNK, got), HEXZ_OK);
	ck_assert_int_eq(memcmp(got, old, OBJ_CHUNK), 0);

	write_object(path, OBJ_SIZE, 1000000000, NULL);
	run_script("'%s' -T '%s' PUT '%s' replaced.hxz >/dev/null", need_env("HEXZ_S3_REQUEST"),
		   path, need_env("RGW_BUCKET"));
	ret = hexz_storage_read_exact(st, 7 * OBJ_CHUNK, 1000, got);
	ck_assert_msg(ret == HEXZ_ERR_CHANGED, "read after replace: %d (%s)", ret,
		      hexz_strerror(ret));
	ck_assert_int_eq(hexz_remote_read_error(st, &err), HEXZ_OK);
	ck_assert_msg(strstr(err.message, url) && strstr(err.message, "412"), "%s", err.message);
	hexz_storage_close(st);
	hexz_remote_destroy(r);
	unlink(path);
	free(path);
	free(url);
	free(old);
	free(got);
}
END_TEST

/* A peer that accepts connections and then never says a word. */
struct silent_server {
	int fd;
	unsigned int port;
	pthread_t tid;
	atomic_int accepted;
	atomic_bool stop;
};

static void *
silent_accept(void *p)
{
	struct silent_server *s = p;
	int conns[16], n = 0, i;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };

		if (poll(&pfd, 1, 50) == 1 && n < 16) {
			conns[n] = accept(s->fd, NULL, NULL);
			if (conns[n] >= 0) {
				n++;
				atomic_fetch_add(&s->accepted, 1);
			}
		}
	}
	for (i = 0; i < n; i++)
		close(conns[i]);
	return NULL;
}

/*
 * A server that stalls: each attempt is abandoned after request_timeout
 * seconds without progress, retried, then HEXZ_ERR_NETWORK, within
 * (retries + 1) * timeout plus the backoff.
 */
START_TEST(test_stalled_server)
{
	struct silent_server s = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	struct hexz_remote_options o;
	struct hexz_remote *r = NULL;
	struct hexz_storage *st = (struct hexz_storage *)&s;
	struct hexz_error err = { 0 };
	char url[64];
	double t0, took;
	int ret;

	s.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s.fd, 0);
	ck_assert_int_eq(bind(s.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s.fd, 16), 0);
	ck_assert_int_eq(getsockname(s.fd, (struct sockaddr *)&sa, &salen), 0);
	ck_assert_int_eq(pthread_create(&s.tid, NULL, silent_accept, &s), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/stall.hxz", ntohs(sa.sin_port));

	hexz_remote_options_init(&o);
	o.request_timeout = 1;
	o.retries = 1;
	ck_assert_int_eq(hexz_remote_create(&o, &r, &err), HEXZ_OK);
	t0 = tu_now();
	ret = hexz_remote_open(r, url, &st, &err);
	took = tu_now() - t0;
	atomic_store(&s.stop, true);
	pthread_join(s.tid, NULL);
	close(s.fd);
	ck_assert_msg(ret == HEXZ_ERR_NETWORK, "%d: %s", ret, err.message);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err.message, url) && strstr(err.message, "2 attempts"), "%s",
		      err.message);
	ck_assert_int_eq(atomic_load(&s.accepted), 2);
	/* Two 1 s stalls and at most 0.1 s of backoff; the rest is slack for valgrind. */
	ck_assert_msg(took >= 1.9 && took < 6.0, "gave up after %.2f s", took);
	hexz_remote_destroy(r);
}
END_TEST

/*
 * python's http.server: no ETag, so Last-Modified pins the version, and no
 * Range support: the first ranged GET is a protocol error, stopped at its
 * first bytes, never a download of the whole object.
 */
START_TEST(test_range_ignored)
{
	struct hexz_remote *r = make_remote(4096, 1 << 20, 5, false, NULL);
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };
	unsigned char buf[100];
	char *url = NULL, *path = tu_path(corpus_dir, "both_streams.hxz");
	int ret;

	ck_assert_int_gt(
		asprintf(&url, "http://127.0.0.1:%s/both_streams.hxz", need_env("PYSERVER_PORT")),
		0);
	ret = hexz_remote_open(r, url, &st, &err);
	ck_assert_msg(ret == HEXZ_OK, "%s", err.message);
	ck_assert_uint_eq(hexz_storage_len(st), file_size(path));
	ret = hexz_storage_read_exact(st, 5000, sizeof(buf), buf);
	ck_assert_msg(ret == HEXZ_ERR_PROTOCOL, "%d (%s)", ret, hexz_strerror(ret));
	ck_assert_int_eq(hexz_remote_read_error(st, &err), HEXZ_OK);
	ck_assert_msg(strstr(err.message, url) && strstr(err.message, "ignores Range"), "%s",
		      err.message);
	hexz_storage_close(st);
	hexz_remote_destroy(r);
	free(url);
	free(path);
}
END_TEST

/* Bad options and URLs are refused before any request. */
START_TEST(test_bad_arguments)
{
	struct hexz_remote_options o;
	struct hexz_remote *r = NULL;
	struct hexz_storage *st = NULL;
	struct hexz_error err = { 0 };

	hexz_remote_options_init(&o);
	o.chunk_size = 5000;
	ck_assert_int_eq(hexz_remote_create(&o, &r, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(err.message, "chunk_size"));
	hexz_remote_options_init(&o);
	o.max_connections = 0;
	ck_assert_int_eq(hexz_remote_create(&o, &r, &err), HEXZ_ERR_INVALID_ARGUMENT);
	hexz_remote_options_init(&o);
	o.s3_access_key_id = "AKIDEXAMPLE";
	ck_assert_int_eq(hexz_remote_create(&o, &r, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_remote_create(NULL, &r, &err), HEXZ_OK);
	ck_assert_int_eq(hexz_remote_open(r, "http://127.0.0.1:1/dir/", &st, &err),
			 HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_remote_open(r, "ftp://127.0.0.1/a.hxz", &st, &err),
			 HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_remote_open(r, NULL, &st, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(hexz_remote_read_error(NULL, &err), HEXZ_ERR_INVALID_ARGUMENT);
	hexz_remote_destroy(r);
	hexz_remote_destroy(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("remote_read");
	TCase *tc = tcase_create("remote");
	char *json = NULL;

	corpus_dir = getenv("HEXZ_CORPUS_DIR");
	if (!corpus_dir) {
		fprintf(stderr, "HEXZ_CORPUS_DIR is not set (run through run_remote_read.sh)\n");
		return 1;
	}
	if (asprintf(&json, "%s/corpus.json", corpus_dir) < 0)
		return 1;
	corpus = json_object_from_file(json);
	if (!corpus) {
		fprintf(stderr, "cannot read %s\n", json);
		return 1;
	}
	free(json);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_corpus_http);
	tcase_add_test(tc, test_corpus_https);
	tcase_add_test(tc, test_corpus_s3);
	tcase_add_test(tc, test_https_untrusted);
	tcase_add_test(tc, test_not_found_http);
	tcase_add_test(tc, test_not_found_s3);
	tcase_add_test(tc, test_wrong_secret_s3);
	tcase_add_test(tc, test_replaced_object);
	tcase_add_test(tc, test_replaced_object_s3);
	tcase_add_test(tc, test_stalled_server);
	tcase_add_test(tc, test_range_ignored);
	tcase_add_test(tc, test_concurrent_readers);
	tcase_add_test(tc, test_stopped_server);
	tcase_add_test(tc, test_disk_cache);
	tcase_add_test(tc, test_disk_cache_refused);
	tcase_add_test(tc, test_read_ahead);
	tcase_add_loop_test(tc, test_faults, 0,
			    (int)(sizeof(fault_cases) / sizeof(fault_cases[0])));
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
