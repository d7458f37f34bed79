/* SPDX-License-Identifier: MIT */
/*
 * The remote context: options checked and copied, the connection pool and
 * the chunk cache its objects share, and the reference count that keeps it
 * alive while any of them is open.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <hexz/remote.h>

#include "error_set.h"
#include "remote_context.h"

#define DEFAULT_CACHE_BYTES (256ull << 20)
#define MIN_CHUNK (4u << 10)
#define MAX_CHUNK (64u << 20)

void
hexz_remote_options_init(struct hexz_remote_options *opts)
{
	if (!opts)
		return;
	memset(opts, 0, sizeof(*opts));
	opts->max_connections = 16;
	opts->request_timeout = 30;
	opts->retries = 5;
	opts->cache_bytes = DEFAULT_CACHE_BYTES;
	opts->chunk_size = HEXZ_REMOTE_DEFAULT_CHUNK;
	opts->s3_addressing = HEXZ_S3_ADDRESSING_AUTO;
}

/* The context's copies are const in the public struct only; they are ours to wipe and free. */
static void
free_string(const char **s, bool secret)
{
	char *owned;

	memcpy(&owned, s, sizeof(owned));
	if (owned && secret)
		OPENSSL_cleanse(owned, strlen(owned));
	free(owned);
	*s = NULL;
}

static void
free_options(struct hexz_remote_options *o)
{
	free_string(&o->ca_file, false);
	free_string(&o->s3_access_key_id, false);
	free_string(&o->s3_secret_access_key, true);
	free_string(&o->s3_session_token, true);
	free_string(&o->s3_region, false);
	free_string(&o->s3_endpoint, false);
	free_string(&o->cache_dir, false);
}

/* Copy the strings of `o` in place; false without memory (then free_options() cleans up). */
static bool
copy_strings(struct hexz_remote_options *o)
{
	const char **fields[] = {
		&o->ca_file,	      &o->s3_access_key_id, &o->s3_secret_access_key,
		&o->s3_session_token, &o->s3_region,	    &o->s3_endpoint,
		&o->cache_dir
	};
	bool ok = true;
	size_t i;

	/* After a failure the rest are set to NULL, so that nothing the caller owns is freed. */
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!ok)
			*fields[i] = NULL;
		else if (*fields[i])
			ok = (*fields[i] = strdup(*fields[i])) != NULL;
	}
	return ok;
}

static int
check_options(const struct hexz_remote_options *o, struct hexz_error *err)
{
	if (o->max_connections < 1 || o->max_connections > 1024)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "invalid value '%u' for option max_connections (1 to 1024)",
				 o->max_connections);
	if (o->request_timeout < 1 || o->request_timeout > 3600)
		return error_set(
			err, HEXZ_ERR_INVALID_ARGUMENT,
			"invalid value '%u' for option request_timeout (1 to 3600 seconds)",
			o->request_timeout);
	if (o->retries > 100)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "invalid value '%u' for option retries (0 to 100)", o->retries);
	if (o->chunk_size && (o->chunk_size < MIN_CHUNK || o->chunk_size > MAX_CHUNK ||
			      (o->chunk_size & (o->chunk_size - 1))))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "invalid value '%u' for option chunk_size (a power of two from "
				 "4 KiB to 64 MiB)",
				 (unsigned int)o->chunk_size);
	if (!o->s3_access_key_id != !o->s3_secret_access_key)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "an S3 access key id needs its secret access key, and the other "
				 "way round");
	if (o->s3_session_token && !o->s3_access_key_id)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "an S3 session token needs an access key id and its secret");
	if (o->s3_addressing > HEXZ_S3_ADDRESSING_VIRTUAL)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "invalid value %d for option s3_addressing",
				 (int)o->s3_addressing);
	if (o->cache_dir && !*o->cache_dir)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "invalid value '' for option cache_dir (a directory)");
	return HEXZ_OK;
}

/*
 * The S3 settings the caller left NULL, from the AWS configuration of
 * opts.aws_envp (kept in r->aws, whose strings the options point into
 * until copy_strings() copies them). The caller's key pair is taken whole
 * or not at all, never mixed with the configuration's.
 */
static int
resolve_aws(struct hexz_remote *r, struct hexz_error *err)
{
	struct hexz_remote_options *o = &r->opts;
	const struct aws_config_input in = { .envp = o->aws_envp, .ca_file = o->ca_file };
	int ret = aws_config_load(&in, &r->aws, err);

	o->aws_envp = NULL; /* read once; the caller's environment may change */
	if (ret)
		return ret;
	if (!o->s3_access_key_id && r->aws->cred_source != AWS_CRED_NONE) {
		o->s3_access_key_id = r->aws->access_key_id;
		o->s3_secret_access_key = r->aws->secret_access_key;
		o->s3_session_token = r->aws->session_token;
	}
	if (!o->s3_region)
		o->s3_region = r->aws->region;
	return HEXZ_OK;
}

int
hexz_remote_create(const struct hexz_remote_options *opts, struct hexz_remote **out,
		   struct hexz_error *err)
{
	struct hexz_remote *r;
	int ret;

	if (!out)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "no place for the remote context");
	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return error_set(err, HEXZ_ERR_NO_MEMORY, "out of memory");
	if (opts)
		r->opts = *opts;
	else
		hexz_remote_options_init(&r->opts);
	ret = check_options(&r->opts, err);
	if (ret) {
		free(r);
		return ret;
	}
	if (r->opts.aws_envp) {
		ret = resolve_aws(r, err);
		if (ret) {
			free(r);
			return ret;
		}
	}
	if (!r->opts.chunk_size)
		r->opts.chunk_size = HEXZ_REMOTE_DEFAULT_CHUNK;
	if (!copy_strings(&r->opts)) {
		ret = error_set(err, HEXZ_ERR_NO_MEMORY, "out of memory");
		goto fail;
	}
	/* Thread-safe and reference-counted since libcurl 7.84. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		ret = error_set(err, HEXZ_ERR_SYSTEM, "libcurl could not be initialised");
		goto fail;
	}
	r->pool = conn_pool_create(r->opts.max_connections);
	r->cache = chunk_cache_create(r->opts.cache_bytes);
	if (!r->pool || !r->cache) {
		curl_global_cleanup();
		ret = error_set(err, HEXZ_ERR_NO_MEMORY, "out of memory");
		goto fail;
	}
	if (r->opts.cache_dir) {
		ret = disk_cache_open(r->opts.cache_dir, r->opts.cache_dir_size, &r->disk, err);
		if (ret) {
			curl_global_cleanup();
			goto fail;
		}
	}
	atomic_init(&r->refs, 1);
	*out = r;
	return HEXZ_OK;

fail:
	conn_pool_destroy(r->pool);
	chunk_cache_destroy(r->cache);
	disk_cache_close(r->disk);
	aws_config_free(r->aws);
	free_options(&r->opts);
	free(r);
	return ret;
}

void
remote_context_ref(struct hexz_remote *r)
{
	atomic_fetch_add(&r->refs, 1);
}

void
remote_context_unref(struct hexz_remote *r)
{
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	conn_pool_destroy(r->pool);
	chunk_cache_destroy(r->cache);
	disk_cache_close(r->disk);
	aws_config_free(r->aws);
	free_options(&r->opts);
	free(r);
	curl_global_cleanup();
}

void
hexz_remote_destroy(struct hexz_remote *remote)
{
	if (remote)
		remote_context_unref(remote);
}
