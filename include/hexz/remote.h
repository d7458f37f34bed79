/* SPDX-License-Identifier: MIT */
/*
 * Remote storage: snapshots read over HTTP(S) range requests or from S3.
 *
 * A struct hexz_remote is the context that remote objects share: the
 * options, a pool of keep-alive connections (at most max_connections) and
 * one byte-budgeted cache of fetched chunks. hexz_remote_open() turns the
 * URL of one object into an ordinary struct hexz_storage: the archive
 * reader, the block cache and every other caller of hexz/storage.h read it
 * exactly as they read a mapped file, and never learn the protocol.
 *
 * Consistency: the object's length and version (its ETag, or Last-Modified
 * when the server gives no strong ETag) are learnt once, by the HEAD that
 * opens it. Every later GET carries If-Match (or If-Unmodified-Since) with
 * that version and asks for an exact Range, so a reader sees the bytes of
 * one version or fails with HEXZ_ERR_CHANGED, never a mix of two. An
 * answer that names another ETag (a cache in between that ignored
 * If-Match) fails the same way.
 *
 * Failures: a request that fails with a connection error, a reset, a
 * timeout (no progress for request_timeout seconds), an answer that is not
 * HTTP at all (on a fresh connection then), a 5xx or a 429 is retried up to
 * `retries` times with exponential backoff and jitter; 403, 404 and 412 are
 * not. Messages name the URL (an s3:// URL as given), the
 * HTTP status and S3's error code, never a credential.
 *
 * Thread safety: a context and the storage handles opened from it may be
 * used from any number of threads at once, as storage handles always may.
 */
#ifndef HEXZ_REMOTE_H
#define HEXZ_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hexz/archive.h>
#include <hexz/common.h>
#include <hexz/storage.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hexz_remote;

/** How S3 requests name the bucket. */
enum hexz_s3_addressing {
	/** Virtual-hosted for DNS-safe bucket names on a host name, else path-style. */
	HEXZ_S3_ADDRESSING_AUTO = 0,
	/** SCHEME://HOST/BUCKET/KEY */
	HEXZ_S3_ADDRESSING_PATH = 1,
	/** SCHEME://BUCKET.HOST/KEY */
	HEXZ_S3_ADDRESSING_VIRTUAL = 2,
};

/**
 * struct hexz_remote_options - settings of a remote context. Fill with
 * hexz_remote_options_init() first, then change what differs. Strings are
 * copied by hexz_remote_create(); the caller keeps owning them.
 * @max_connections:  connections (and requests in flight) at most, 1 to 1024; default 16.
 * @request_timeout:  seconds a request may make no progress (also the connect
 *                    timeout) before it is abandoned and retried; 1 to 3600; default 30.
 * @retries:          retries of a failed request (so retries + 1 attempts), 0 to 100; default 5.
 * @ca_file:          PEM file of CA certificates to trust for https; NULL: the system's.
 * @cache_bytes:      budget of the shared chunk cache; default 256 MiB; at least one chunk
 *                    per connection is kept whatever the budget, while in use.
 * @chunk_size:       bytes fetched per request, a power of two from 4 KiB to 64 MiB;
 *                    0: the default, HEXZ_REMOTE_DEFAULT_CHUNK.
 * @s3_access_key_id, @s3_secret_access_key, @s3_session_token: credentials;
 *                    both key and secret NULL: unsigned requests (public buckets).
 * @s3_region:        signing region; NULL: "us-east-1".
 * @s3_endpoint:      "http(s)://HOST[:PORT]" of the S3 service; NULL: AWS's for the region.
 * @s3_addressing:    see enum hexz_s3_addressing.
 * @cache_dir:        a directory for a persistent disk cache of fetched chunks, kept
 *                    across contexts and processes, keyed by object URL, version (ETag)
 *                    and chunk; created 0700 if missing, refused if another user owns it
 *                    or if its group or others have access; files are 0600. Every file
 *                    is checked (length, SHA-256) when read: a damaged one is deleted and
 *                    fetched again, never served. NULL: no disk cache.
 * @cache_dir_size:   budget of the disk cache in bytes, least recently used chunks
 *                    deleted past it (each process sharing a directory keeps its own);
 *                    0: a tenth of the free space of its file system when created.
 * @aws_envp:         an environment ("NAME=value" strings ending with NULL, such as
 *                    `environ`) to resolve the S3 settings left NULL above from, as the
 *                    AWS CLI does: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 *                    AWS_SESSION_TOKEN, else the profile (AWS_PROFILE, else "default")
 *                    of the shared credentials and config files
 *                    (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, else ~/.aws/);
 *                    AWS_REGION, AWS_DEFAULT_REGION or the profile's region;
 *                    AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or the profile's endpoint
 *                    (s3_endpoint, when set, wins); the CA bundle of S3 requests from
 *                    AWS_CA_BUNDLE or the profile's ca_bundle (ca_file, when set,
 *                    wins). Read once, by hexz_remote_create(). NULL: only the fields.
 */
struct hexz_remote_options {
	unsigned int max_connections;
	unsigned int request_timeout;
	unsigned int retries;
	const char *ca_file;
	uint64_t cache_bytes;
	uint32_t chunk_size;
	const char *s3_access_key_id;
	const char *s3_secret_access_key;
	const char *s3_session_token;
	const char *s3_region;
	const char *s3_endpoint;
	enum hexz_s3_addressing s3_addressing;
	const char *cache_dir;
	uint64_t cache_dir_size;
	const char *const *aws_envp;
};

/** The default chunk size: see core/storage/chunk_cache.h for why. */
#define HEXZ_REMOTE_DEFAULT_CHUNK (1u << 20)

/**
 * hexz_remote_options_init() - the defaults, documented field by field above.
 * @opts: filled; may not be NULL (then nothing happens).
 *
 * Thread safety: safe from any thread.
 */
HEXZ_EXPORT void hexz_remote_options_init(struct hexz_remote_options *opts);

/**
 * hexz_remote_create() - make a remote context.
 * @opts: the settings, or NULL for the defaults.
 * @out:  receives the context; NULL on failure.
 * @err:  optional details of a failure.
 *
 * Checks every option, initialises libcurl (once per process, thread-safe
 * since libcurl 7.84) and makes the connection pool and the chunk cache.
 * No connection is made yet.
 *
 * Ownership: the caller owns *@out and drops it with hexz_remote_destroy().
 * Thread safety: safe to call concurrently.
 *
 * Return: HEXZ_OK, or
 *  HEXZ_ERR_INVALID_ARGUMENT  @out is NULL, or an option is out of range (the
 *                             message says which): a chunk size that is not a
 *                             power of two, an S3 key without its secret, ...;
 *  HEXZ_ERR_NO_MEMORY         no memory;
 *  HEXZ_ERR_SYSTEM            libcurl could not be initialised;
 *  HEXZ_ERR_NOT_FOUND, HEXZ_ERR_PERMISSION, HEXZ_ERR_IO
 *                             @cache_dir cannot be created or opened (its
 *                             ownership and mode: HEXZ_ERR_INVALID_ARGUMENT);
 *  HEXZ_ERR_INVALID_ARGUMENT, HEXZ_ERR_PERMISSION, HEXZ_ERR_NOT_REGULAR,
 *  HEXZ_ERR_LIMIT             with @aws_envp: a malformed or unreadable AWS file,
 *                             half a key pair, a profile named by AWS_PROFILE
 *                             that no file has (the message names the file and
 *                             line, never a secret).
 */
HEXZ_EXPORT int hexz_remote_create(const struct hexz_remote_options *opts, struct hexz_remote **out,
				   struct hexz_error *err);

/**
 * hexz_remote_destroy() - drop the caller's reference to a context.
 * @remote: a context, or NULL (then nothing happens).
 *
 * Storage handles opened from @remote keep it alive: it is freed (the
 * credentials wiped, connections closed, the cache released) when the last
 * of them is closed, so they may be closed in any order.
 *
 * Thread safety: must not run concurrently with hexz_remote_open() on @remote.
 */
HEXZ_EXPORT void hexz_remote_destroy(struct hexz_remote *remote);

/**
 * hexz_remote_open() - open a remote object as a storage backend.
 * @remote: the context.
 * @url:    "http(s)://HOST[:PORT]/PATH/NAME.hxz" or "s3://BUCKET/KEY.hxz".
 * @out:    receives the storage handle; NULL on failure.
 * @err:    optional details of a failure: the URL, the HTTP status, S3's
 *          error code or the connection error.
 *
 * Sends one HEAD (signed for S3), with retries, to learn the object's length
 * and version. The handle's reads fetch aligned chunks through the
 * context's cache, the chunks of one read in parallel; reads that follow
 * each other also fetch, in the background, up to 8 MiB of the chunks
 * after them (fewer when max_connections / 2 or half of cache_bytes
 * holds fewer; none with a chunk per half cache), so that a sequential
 * reader rarely waits a round trip; hexz_storage_view()
 * is HEXZ_ERR_UNSUPPORTED. A read fails with the statuses of this call plus
 * HEXZ_ERR_CHANGED; hexz_remote_read_error() tells why.
 *
 * Ownership: the caller owns *@out and closes it with hexz_storage_close().
 * Thread safety: safe to call concurrently; the handle is as thread-safe as
 * any storage handle.
 *
 * Return: HEXZ_OK, or
 *  HEXZ_ERR_INVALID_ARGUMENT  a NULL argument, or @url is not one of the forms
 *                             above (a directory, a query, a user name, ...);
 *  HEXZ_ERR_NOT_FOUND         404: no such object (or bucket);
 *  HEXZ_ERR_PERMISSION        403 (or 401): refused, e.g. a wrong secret;
 *  HEXZ_ERR_NETWORK           no answer after every retry: refused, reset,
 *                             timed out, name not resolved, TLS failed
 *                             (a certificate that does not verify is not retried);
 *  HEXZ_ERR_PROTOCOL          no Content-Length, or neither a strong ETag nor
 *                             Last-Modified to pin the version with;
 *  HEXZ_ERR_HTTP              any other status (a redirect: not followed;
 *                             a 5xx still failing after every retry);
 *  HEXZ_ERR_NO_MEMORY         no memory.
 */
HEXZ_EXPORT int hexz_remote_open(struct hexz_remote *remote, const char *url,
				 struct hexz_storage **out, struct hexz_error *err);

/**
 * hexz_remote_read_error() - why the last failed read of a remote handle failed.
 * @st:  a handle from hexz_remote_open().
 * @out: receives the status and message of the most recent failed read
 *       (code HEXZ_OK and an empty message when no read has failed).
 *
 * Thread safety: safe concurrently with reads; with several failing readers
 * it reports one of their failures.
 *
 * Return: HEXZ_OK, or HEXZ_ERR_INVALID_ARGUMENT when an argument is NULL or
 * @st is not a remote handle.
 */
HEXZ_EXPORT int hexz_remote_read_error(const struct hexz_storage *st, struct hexz_error *out);

/**
 * hexz_remote_resolve_parent() - a parent resolver for archives opened by URL.
 * @opaque:          the struct hexz_remote to open parents with.
 * @child_location:  the child's URL (the location it was opened with).
 * @parent_path:     the parent path written in the child.
 * @out, @err:       as for hexz_resolve_parent_fn.
 *
 * Parents of remote archives live in the same source: @parent_path's last
 * component is opened beside the child (same directory or prefix), as the
 * default resolver finds a parent beside a local child. A path whose last
 * component is empty, "." or ".." is refused.
 *
 * Thread safety: as hexz_remote_open().
 *
 * Return: HEXZ_OK; HEXZ_ERR_PARENT_NOT_FOUND (the parent URL gave 404),
 * HEXZ_ERR_PARENT_REFUSED (an unusable name), HEXZ_ERR_INVALID_ARGUMENT,
 * or another status of hexz_remote_open().
 */
HEXZ_EXPORT int hexz_remote_resolve_parent(void *opaque, const char *child_location,
					   const char *parent_path, struct hexz_parent *out,
					   struct hexz_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HEXZ_REMOTE_H */
