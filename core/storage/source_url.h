/* SPDX-License-Identifier: MIT */
/*
 * Remote sources, private to libhexz: parsing and checking the text a user
 * gives for a source (REMOTE.md), and choosing where S3 requests go.
 *
 *   s3://BUCKET/PREFIX/             the archives under a prefix ("" too)
 *   s3://BUCKET/KEY.hxz             one archive
 *   http(s)://HOST[:PORT]/PATH/     a directory with an HTML index
 *   http(s)://HOST[:PORT]/PATH/NAME.hxz   one archive
 *
 * http(s) URLs are parsed by libcurl's URL API, as the requests will be
 * sent by libcurl: one parser decides what the URL means. An s3:// URL is
 * not a URL in that sense: as in the AWS CLI, everything after the bucket
 * is the key, byte for byte ("s3://b/a b/%41.hxz" is the key "a b/%41.hxz").
 *
 * Nothing here does I/O or keeps state; the functions are thread-safe.
 * Error messages name the source but never a password given in it.
 */
#ifndef HEXZ_CORE_STORAGE_SOURCE_URL_H
#define HEXZ_CORE_STORAGE_SOURCE_URL_H

#include <stdbool.h>

#include <hexz/archive.h>

enum source_scheme {
	SOURCE_S3,
	SOURCE_HTTP,
	SOURCE_HTTPS,
};

struct source_url {
	enum source_scheme scheme;
	/* True for a directory or prefix (the text ends in '/'), false for one archive. */
	bool is_dir;
	/* http(s): the URL as libcurl normalised it; s3: "s3://BUCKET/KEY". */
	char *url;
	/* http(s) only: the host as in the URL (an IPv6 address in brackets), */
	char *host;
	/* the port given in the URL, 0 when none (the scheme's default), */
	unsigned int port;
	/* and the path, percent-encoded, beginning with '/'. */
	char *path;
	/* s3 only: the bucket and the key (unencoded; "" or ending in '/' for a prefix). */
	char *bucket;
	char *key;
	/* One archive: its file name ("NAME.hxz", decoded); NULL for a directory. */
	char *name;
};

/*
 * True when `text` has the form of a URL (a scheme, then "://"), so that it
 * is parsed with source_url_parse() and never taken for a local path; an
 * unsupported scheme then gets its own error.
 */
bool source_url_is_remote(const char *text);

/*
 * Parse and check `text` into `out` (release with source_url_free(), also
 * after a failure). Returns 0 or HEXZ_ERR_INVALID_ARGUMENT with the reason
 * in `err` (may be NULL): an unsupported scheme, a user name or password,
 * a query or fragment, a bad port, no host, a bucket name S3 does not
 * allow, a key that is not UTF-8 or is too long, a control byte, a path
 * that neither ends in '/' nor names a .hxz file; HEXZ_ERR_NO_MEMORY.
 */
int source_url_parse(const char *text, struct source_url *out, struct hexz_error *err);

/* Release what `u` owns; `u` may be NULL or zeroed. */
void source_url_free(struct source_url *u);

/* True when `name` follows S3's rules for general purpose bucket names. */
bool s3_bucket_name_valid(const char *name);

/* How S3 requests name the bucket (-o s3_addressing=). */
enum s3_addressing {
	/* Virtual-hosted for DNS-safe bucket names on a host name, else path-style. */
	S3_ADDRESSING_AUTO,
	/* https://HOST/BUCKET/KEY */
	S3_ADDRESSING_PATH,
	/* https://BUCKET.HOST/KEY */
	S3_ADDRESSING_VIRTUAL,
};

/* "auto", "path" or "virtual" into *out; 0 or HEXZ_ERR_INVALID_ARGUMENT. */
int s3_addressing_parse(const char *text, enum s3_addressing *out);

/* What chooses the S3 endpoint, in the order it is looked at. */
struct s3_endpoint_config {
	/* -o endpoint=URL, or NULL. */
	const char *option_endpoint;
	/* $AWS_ENDPOINT_URL_S3 and $AWS_ENDPOINT_URL, or NULL (empty counts as unset). */
	const char *env_endpoint_s3;
	const char *env_endpoint;
	/* The region ("us-east-1", ...), already resolved from the environment or profile. */
	const char *region;
	enum s3_addressing addressing;
	/* The AWS profile's endpoint_url (its services section's first), or NULL; after
	 * the environment's (aws_config.h). */
	const char *profile_endpoint;
};

struct s3_endpoint {
	bool https;
	bool virtual_hosted;
	/* Where requests go: "SCHEME://HOST[:PORT]", the bucket's name in HOST when virtual. */
	char *origin;
	/* The Host header, which the signature covers: HOST[:PORT]. */
	char *host;
	/* What comes before the key in a request path: "/BUCKET" (path-style) or "". */
	char *bucket_path;
	/* Which setting chose the endpoint, for messages: "-o endpoint=", "AWS_ENDPOINT_URL_S3",
	 * ... */
	const char *chosen_by;
};

/*
 * The endpoint for the bucket of `src` (an s3:// source) under `config`:
 * the first of -o endpoint=, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the
 * profile's endpoint_url that is set, else AWS's for the region
 * (https://s3.REGION.amazonaws.com); then virtual-hosted or path-style
 * addressing as `config->addressing` says.
 * An endpoint must be http(s)://HOST[:PORT] with at most "/" for a path.
 * Returns 0, or HEXZ_ERR_INVALID_ARGUMENT (a bad endpoint URL or region,
 * virtual addressing asked for a bucket or host that cannot have it) or
 * HEXZ_ERR_NO_MEMORY, with the reason in `err`. Release `out` with
 * s3_endpoint_free(), also after a failure.
 */
int s3_endpoint_resolve(const struct source_url *src, const struct s3_endpoint_config *config,
			struct s3_endpoint *out, struct hexz_error *err);

/* Release what `ep` owns; `ep` may be NULL or zeroed. */
void s3_endpoint_free(struct s3_endpoint *ep);

/*
 * The unencoded request path of object `key` at `ep` ("/BUCKET/KEY" or
 * "/KEY"), for sigv4_encode_path() and the signer; malloc()ed, NULL
 * without memory.
 */
char *s3_endpoint_object_path(const struct s3_endpoint *ep, const char *key);

#endif /* HEXZ_CORE_STORAGE_SOURCE_URL_H */
