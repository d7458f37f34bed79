/* SPDX-License-Identifier: MIT */
/*
 * A remote object as a storage backend: opened by one HEAD that learns its
 * length and version, read through the context's chunk cache, the missing
 * chunks of one read fetched in parallel.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include <hexz/remote.h>

#include "chunk_cache.h"
#include "error_set.h"
#include "remote_context.h"
#include "remote_request.h"
#include "sigv4.h"
#include "source_url.h"
#include "storage_backend.h"

/* A read needing more chunks than this allocates its table; most reads need one or two. */
#define STACK_CHUNKS 16

struct remote_object {
	struct hexz_storage base;
	struct hexz_remote *remote;
	struct remote_target target;
	/* "If-Match: ETAG" (or If-Unmodified-Since): the version every GET pins. */
	char *condition;
	/* The chunk cache's key: request URL and version, so versions never mix. */
	char *key;
	/* What reads change; apart, as reads get a const handle. */
	struct object_state *state;
};

struct object_state {
	/* The last read failure (hexz_remote_read_error()). */
	pthread_mutex_t lock;
	struct hexz_error last;
	/* The handle's and each read-ahead's: the object lives until the last is dropped. */
	atomic_uint refs;
	/* The chunk after the last one the latest read took: a read from there is sequential. */
	atomic_uint_fast64_t seq_next;
	/* The first chunk read-ahead has not yet asked for. */
	atomic_uint_fast64_t ahead_next;
};

/*
 * Read-ahead: the chunks a sequential reader will want next are fetched
 * in the background, up to READAHEAD_BYTES past its read, so that it
 * finds them cached rather than waiting a round trip per chunk. 8 MiB is
 * the bandwidth-delay product of 1 Gbit/s at a 60 ms round trip, farther
 * than a cloud region is from its clients. The window is smaller when the
 * connections (half of them at most, the rest for reads that wait) or the
 * cache (half of it at most, or the chunks would push each other out
 * before use) cannot hold it; with a window of 0 there is no read-ahead.
 * A reader that jumps about never starts it.
 */
#define READAHEAD_BYTES (8u << 20)

static const struct hexz_storage_ops remote_ops;

static const struct remote_object *
as_remote(const struct hexz_storage *st)
{
	return (const struct remote_object *)st;
}

/* The missing chunks of one read, fetched by the caller and helper threads. */
struct fetch_batch {
	const struct remote_object *obj;
	struct chunk **chunks;
	uint64_t *indexes;
	size_t count;
	/* Read-ahead: failures are not the reader's, so not recorded (a read refetches). */
	bool ahead;
	atomic_size_t next;
};

static void
record_error(const struct remote_object *obj, const struct hexz_error *e)
{
	pthread_mutex_lock(&obj->state->lock);
	obj->state->last = *e;
	pthread_mutex_unlock(&obj->state->lock);
}

/*
 * Fill the claimed `ch`, chunk `index`, from the disk cache or else by a
 * GET (then kept on disk), and publish it; or abandon it on failure.
 */
static void
fetch_chunk(const struct remote_object *obj, struct chunk *ch, uint64_t index, bool ahead)
{
	struct chunk_cache *cache = obj->remote->cache;
	struct disk_cache *disk = obj->remote->disk;
	uint64_t cs = obj->remote->opts.chunk_size;
	const struct disk_chunk_id id = {
		.object_key = obj->key,
		.object_size = obj->base.size,
		.chunk_size = (uint32_t)cs,
		.index = index,
	};
	struct hexz_error err = { 0 };
	const struct remote_request req = {
		.method = "GET",
		.target = &obj->target,
		.condition = obj->condition,
		.offset = index * cs,
		.len = chunk_len(ch),
		.dst = chunk_data(ch),
		.object_size = obj->base.size,
	};
	int ret;

	if (disk && disk_cache_load(disk, &id, chunk_data(ch), chunk_len(ch))) {
		chunk_cache_publish(cache, ch);
		return;
	}
	ret = remote_request_run(obj->remote, &req, NULL, &err);
	if (ret) {
		if (!ahead)
			record_error(obj, &err);
		chunk_cache_abandon(cache, ch, ret);
		return;
	}
	chunk_cache_publish(cache, ch);
	/* Published first, so waiters do not wait for the disk; our reference keeps the bytes. */
	if (disk)
		disk_cache_store(disk, &id, chunk_data(ch), chunk_len(ch));
}

static void *
fetch_worker(void *arg)
{
	struct fetch_batch *b = arg;
	size_t i;

	while ((i = atomic_fetch_add(&b->next, 1)) < b->count)
		fetch_chunk(b->obj, b->chunks[i], b->indexes[i], b->ahead);
	return NULL;
}

/*
 * Fetch the claimed chunks of a read: the caller takes its share, helper
 * threads (one fewer than the chunks, at most max_connections - 1) the
 * rest. A helper that cannot be started only costs parallelism.
 */
static void
fetch_batch_run(struct fetch_batch *b)
{
	pthread_t tids[64];
	size_t helpers = b->count - 1, started = 0, i;

	if (helpers > b->obj->remote->opts.max_connections - 1)
		helpers = b->obj->remote->opts.max_connections - 1;
	if (helpers > sizeof(tids) / sizeof(tids[0]))
		helpers = sizeof(tids) / sizeof(tids[0]);
	for (i = 0; i < helpers; i++)
		if (pthread_create(&tids[started], NULL, fetch_worker, b) == 0)
			started++;
	fetch_worker(b);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
}

/* The length of chunk `index` of the object: chunk_size, but for a shorter last one. */
static size_t
chunk_length(const struct remote_object *obj, uint64_t index)
{
	uint64_t cs = obj->remote->opts.chunk_size, start = index * cs;

	return (size_t)(obj->base.size - start < cs ? obj->base.size - start : cs);
}

static void
object_ref(const struct remote_object *obj)
{
	atomic_fetch_add(&obj->state->refs, 1);
}

static void object_unref(struct remote_object *obj);

/* Chunks read ahead of sequential readers, at most; see READAHEAD_BYTES. */
static uint64_t
readahead_window(const struct hexz_remote *r)
{
	uint64_t cs = r->opts.chunk_size, w = READAHEAD_BYTES / cs;

	if (w > r->opts.max_connections / 2)
		w = r->opts.max_connections / 2;
	if (w > r->opts.cache_bytes / 2 / cs)
		w = r->opts.cache_bytes / 2 / cs;
	return w;
}

/* A read-ahead batch, fetched by its own detached thread, which holds a reference to the object. */
struct ahead_batch {
	struct fetch_batch b;
	struct chunk *chunks[];
};

static void *
ahead_run(void *arg)
{
	struct ahead_batch *ab = arg;
	struct remote_object *obj = (struct remote_object *)(uintptr_t)ab->b.obj;
	struct hexz_remote *r = obj->remote;

	fetch_batch_run(&ab->b);
	for (size_t i = 0; i < ab->b.count; i++)
		chunk_cache_release(r->cache, ab->chunks[i]);
	atomic_fetch_sub(&r->ahead_in_flight, ab->b.count);
	free(ab->b.indexes);
	free(ab);
	object_unref(obj);
	return NULL;
}

/*
 * After a sequential read that ended in chunk `last`: ask for the chunks
 * of the window past it that nobody has asked for yet, claim those not
 * cached nor being fetched, and fetch them on a detached thread. Best
 * effort: out of memory, or the context's read-ahead at its limit, it
 * does nothing.
 */
static void
read_ahead(const struct remote_object *obj, uint64_t last, uint64_t window)
{
	struct hexz_remote *r = obj->remote;
	uint64_t cs = r->opts.chunk_size, nchunks = (obj->base.size + cs - 1) / cs;
	uint64_t from = last + 1, to = last + window, seen, i;
	struct ahead_batch *ab;
	pthread_attr_t attr;
	pthread_t tid;
	size_t n = 0;

	if (to >= nchunks)
		to = nchunks - 1;
	seen = atomic_load(&obj->state->ahead_next);
	if (seen > from)
		from = seen;
	if (from > to || atomic_load(&r->ahead_in_flight) >= r->opts.max_connections / 2)
		return;
	/* One reader schedules a stretch; another that raced for it leaves it. */
	if (!atomic_compare_exchange_strong(&obj->state->ahead_next, &seen, to + 1))
		return;
	ab = calloc(1, sizeof(*ab) + (size_t)(to - from + 1) * sizeof(ab->chunks[0]));
	if (ab)
		ab->b.indexes = calloc((size_t)(to - from + 1), sizeof(*ab->b.indexes));
	if (!ab || !ab->b.indexes)
		goto fail;
	for (i = from; i <= to; i++) {
		struct chunk *ch;
		bool mine;

		if (chunk_cache_acquire(r->cache, obj->key, i, chunk_length(obj, i), &ch, &mine))
			break;
		if (!mine) {
			chunk_cache_release(r->cache, ch);
			continue;
		}
		ab->chunks[n] = ch;
		ab->b.indexes[n++] = i;
	}
	if (!n)
		goto fail;
	ab->b.obj = obj;
	ab->b.chunks = ab->chunks;
	ab->b.count = n;
	ab->b.ahead = true;
	atomic_init(&ab->b.next, 0);
	atomic_fetch_add(&r->ahead_in_flight, n);
	object_ref(obj);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, ahead_run, ab) != 0)
		ahead_run(ab); /* no thread: claims must end, so this reader fetches them */
	pthread_attr_destroy(&attr);
	return;

fail:
	if (ab)
		free(ab->b.indexes);
	free(ab);
}

static int
remote_read_exact(const struct hexz_storage *st, uint64_t offset, size_t len, void *dst)
{
	const struct remote_object *obj = as_remote(st);
	struct chunk_cache *cache = obj->remote->cache;
	uint64_t cs = obj->remote->opts.chunk_size;
	uint64_t first = offset / cs, last = (offset + len - 1) / cs, i;
	size_t n = (size_t)(last - first + 1), acquired = 0, claimed_count = 0, k;
	struct chunk *stack_chunks[STACK_CHUNKS], **chunks = stack_chunks;
	struct chunk *stack_claimed[STACK_CHUNKS], **claimed = stack_claimed;
	uint64_t stack_idx[STACK_CHUNKS], *claimed_idx = stack_idx;
	unsigned char *out = dst;
	uint64_t prev, window;
	int ret = HEXZ_OK, st_ret;

	if (n > STACK_CHUNKS) {
		chunks = calloc(n, sizeof(*chunks));
		claimed = calloc(n, sizeof(*claimed));
		claimed_idx = calloc(n, sizeof(*claimed_idx));
		if (!chunks || !claimed || !claimed_idx) {
			ret = HEXZ_ERR_NO_MEMORY;
			goto out;
		}
	}
	for (i = first; i <= last; i++) {
		bool mine;

		ret = chunk_cache_acquire(cache, obj->key, i, chunk_length(obj, i),
					  &chunks[acquired], &mine);
		if (ret)
			break;
		if (mine) {
			claimed[claimed_count] = chunks[acquired];
			claimed_idx[claimed_count++] = i;
		}
		acquired++;
	}
	/* Fetch what this read claimed even after a failure: its waiters need an end. */
	if (claimed_count) {
		struct fetch_batch b = { .obj = obj,
					 .chunks = claimed,
					 .indexes = claimed_idx,
					 .count = claimed_count };

		atomic_init(&b.next, 0);
		fetch_batch_run(&b);
	}
	for (k = 0; k < acquired; k++) {
		st_ret = chunk_cache_wait(cache, chunks[k]);
		if (st_ret && !ret)
			ret = st_ret;
		if (!ret) {
			uint64_t start = (first + k) * cs;
			uint64_t from = offset > start ? offset - start : 0;
			size_t take = chunk_len(chunks[k]) - (size_t)from;

			if (take > len - (size_t)(out - (unsigned char *)dst))
				take = len - (size_t)(out - (unsigned char *)dst);
			memcpy(out, chunk_data(chunks[k]) + from, take);
			out += take;
		}
		chunk_cache_release(cache, chunks[k]);
	}
	/* Sequential: from where the latest read ended, in its last chunk or the next. */
	prev = atomic_exchange(&obj->state->seq_next, last + 1);
	if (!ret && (first == prev || first + 1 == prev) &&
	    (window = readahead_window(obj->remote)))
		read_ahead(obj, last, window);
out:
	if (chunks != stack_chunks) {
		free(chunks);
		free(claimed);
		free(claimed_idx);
	}
	return ret;
}

/* Free the object once the handle and every read-ahead of it have let go. */
static void
object_unref(struct remote_object *obj)
{
	struct hexz_remote *r = obj->remote;

	if (atomic_fetch_sub(&obj->state->refs, 1) != 1)
		return;
	remote_target_free(&obj->target);
	free(obj->condition);
	free(obj->key);
	pthread_mutex_destroy(&obj->state->lock);
	free(obj->state);
	free(obj);
	remote_context_unref(r);
}

static void
remote_close(struct hexz_storage *st)
{
	object_unref((struct remote_object *)st);
}

static const struct hexz_storage_ops remote_ops = {
	.read_exact = remote_read_exact,
	.close = remote_close,
};

/* Where the requests for an s3:// source go, under the context's S3 settings. */
static int
s3_target(const struct hexz_remote *r, const struct source_url *src, struct remote_target *t,
	  struct hexz_error *err)
{
	struct s3_endpoint_config config = {
		.option_endpoint = r->opts.s3_endpoint,
		.addressing = (enum s3_addressing)r->opts.s3_addressing,
	};
	struct s3_endpoint ep = { 0 };
	char *epath = NULL;
	int ret;

	/* An AWS configuration's endpoints rank after s3_endpoint, as the AWS CLI ranks them. */
	if (r->aws)
		aws_config_endpoint_config(r->aws, r->opts.s3_endpoint, config.addressing, &config);
	config.region = r->opts.s3_region ? r->opts.s3_region : "us-east-1";
	ret = s3_endpoint_resolve(src, &config, &ep, err);
	if (ret)
		goto out;
	t->s3 = true;
	t->path = s3_endpoint_object_path(&ep, src->key);
	t->host = strdup(ep.host);
	epath = t->path ? sigv4_encode_path(t->path) : NULL;
	if (!t->host || !epath || asprintf(&t->url, "%s%s", ep.origin, epath) < 0) {
		t->url = NULL;
		ret = error_set(err, HEXZ_ERR_NO_MEMORY, "out of memory");
	}
out:
	free(epath);
	s3_endpoint_free(&ep);
	return ret;
}

/*
 * The version every GET pins: a strong ETag with If-Match; else, for
 * servers that give none (python's http.server) or only a weak one (which
 * If-Match never matches), Last-Modified with If-Unmodified-Since.
 */
static int
pin_version(struct remote_object *obj, const struct remote_reply *reply, struct hexz_error *err)
{
	const char *url = obj->target.display;
	int n;

	if (reply->etag[0] && strncmp(reply->etag, "W/", 2) != 0)
		n = asprintf(&obj->condition, "If-Match: %s", reply->etag);
	else if (reply->last_modified[0])
		n = asprintf(&obj->condition, "If-Unmodified-Since: %s", reply->last_modified);
	else
		return error_set(err, HEXZ_ERR_PROTOCOL,
				 "%s: HTTP 200 without a strong ETag or Last-Modified: its version "
				 "cannot be pinned",
				 url);
	if (n < 0 || asprintf(&obj->key, "%s\n%s", obj->target.url, obj->condition) < 0) {
		obj->condition = n < 0 ? NULL : obj->condition;
		obj->key = NULL;
		return error_set(err, HEXZ_ERR_NO_MEMORY, "out of memory");
	}
	return HEXZ_OK;
}

/*
 * S3 answers a HEAD with a status alone. When one is refused, a one-byte
 * GET gets the error document, whose code tells NoSuchBucket from
 * NoSuchKey and SignatureDoesNotMatch from AccessDenied; its message
 * replaces the HEAD's when the status agrees. Failures only, so free.
 */
static void
explain_s3_refusal(struct hexz_remote *r, const struct remote_target *t, int code,
		   struct hexz_error *err)
{
	unsigned char byte;
	struct hexz_error detail = { 0 };
	const struct remote_request get = {
		.method = "GET",
		.target = t,
		.offset = 0,
		.len = 1,
		.dst = &byte,
		.object_size = UINT64_MAX,
	};

	if (remote_request_run(r, &get, NULL, &detail) == code && err)
		*err = detail;
}

int
hexz_remote_open(struct hexz_remote *remote, const char *url, struct hexz_storage **out,
		 struct hexz_error *err)
{
	struct source_url src = { 0 };
	struct remote_object *obj;
	struct remote_reply reply = { 0 };
	int ret;

	if (!out)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "no place for the storage handle");
	*out = NULL;
	if (!remote || !url)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "no remote context or URL");
	ret = source_url_parse(url, &src, err);
	if (ret)
		goto out_src;
	if (src.is_dir) {
		ret = error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				"%s: a directory or prefix, not one archive", src.url);
		goto out_src;
	}
	obj = calloc(1, sizeof(*obj));
	if (obj && !(obj->state = calloc(1, sizeof(*obj->state)))) {
		free(obj);
		obj = NULL;
	}
	if (!obj) {
		ret = error_set(err, HEXZ_ERR_NO_MEMORY, "out of memory");
		goto out_src;
	}
	pthread_mutex_init(&obj->state->lock, NULL);
	atomic_init(&obj->state->refs, 1);
	atomic_init(&obj->state->seq_next, UINT64_MAX);
	atomic_init(&obj->state->ahead_next, 0);
	obj->base.ops = &remote_ops;
	obj->remote = remote;
	remote_context_ref(remote);
	obj->target.display = strdup(src.url);
	if (src.scheme == SOURCE_S3)
		ret = s3_target(remote, &src, &obj->target, err);
	else if (!(obj->target.url = strdup(src.url)))
		ret = error_set(err, HEXZ_ERR_NO_MEMORY, "out of memory");
	if (!ret && !obj->target.display)
		ret = error_set(err, HEXZ_ERR_NO_MEMORY, "out of memory");
	if (ret)
		goto fail;

	const struct remote_request head = { .method = "HEAD", .target = &obj->target };
	ret = remote_request_run(remote, &head, &reply, err);
	if (obj->target.s3 && (ret == HEXZ_ERR_PERMISSION || ret == HEXZ_ERR_NOT_FOUND))
		explain_s3_refusal(remote, &obj->target, ret, err);
	if (ret)
		goto fail;
	if (!reply.has_length) {
		ret = error_set(err, HEXZ_ERR_PROTOCOL, "%s: HTTP 200 without Content-Length",
				obj->target.display);
		goto fail;
	}
	obj->base.size = reply.length;
	ret = pin_version(obj, &reply, err);
	if (ret)
		goto fail;
	source_url_free(&src);
	*out = &obj->base;
	return HEXZ_OK;

fail:
	remote_close(&obj->base);
out_src:
	source_url_free(&src);
	return ret;
}

int
hexz_remote_read_error(const struct hexz_storage *st, struct hexz_error *out)
{
	const struct remote_object *obj;

	if (!st || !out || st->ops != &remote_ops)
		return HEXZ_ERR_INVALID_ARGUMENT;
	obj = as_remote(st);
	pthread_mutex_lock(&obj->state->lock);
	*out = obj->state->last;
	pthread_mutex_unlock(&obj->state->lock);
	return HEXZ_OK;
}

/* A stable identity for a URL, for the archive reader's cycle check (dev marks "remote"). */
static uint64_t
url_identity(const char *url)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *url; url++)
		h = (h ^ (unsigned char)*url) * 0x100000001b3ull;
	return h;
}

int
hexz_remote_resolve_parent(void *opaque, const char *child_location, const char *parent_path,
			   struct hexz_parent *out, struct hexz_error *err)
{
	struct hexz_remote *remote = opaque;
	const char *name, *slash;
	char *escaped = NULL;
	int n, ret;

	if (!remote || !child_location || !parent_path || !out)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "no remote context or location");
	name = strrchr(parent_path, '/');
	name = name ? name + 1 : parent_path;
	slash = strrchr(child_location, '/');
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || !slash)
		return error_set(err, HEXZ_ERR_PARENT_REFUSED,
				 "parent '%s' of %s names no file beside it", parent_path,
				 child_location);
	/* s3:// keys are taken byte for byte; an http(s) path is percent-encoded. */
	if (strncmp(child_location, "s3://", 5) != 0) {
		escaped = curl_easy_escape(NULL, name, 0);
		if (!escaped)
			return error_set(err, HEXZ_ERR_NO_MEMORY, "out of memory");
		name = escaped;
	}
	n = snprintf(out->location, sizeof(out->location), "%.*s/%s", (int)(slash - child_location),
		     child_location, name);
	curl_free(escaped);
	if (n < 0 || (size_t)n >= sizeof(out->location))
		return error_set(err, HEXZ_ERR_PARENT_REFUSED, "parent '%s' of %s: URL too long",
				 parent_path, child_location);
	ret = hexz_remote_open(remote, out->location, &out->storage, err);
	if (ret == HEXZ_ERR_NOT_FOUND)
		ret = HEXZ_ERR_PARENT_NOT_FOUND;
	if (ret)
		return err ? (err->code = ret) : ret;
	out->dev = 0x68657a72656d6f74ull; /* "hexzremot": no device number collides with it */
	out->ino = url_identity(out->location);
	return HEXZ_OK;
}
