/* SPDX-License-Identifier: MIT */
/*
 * AWS Signature Version 4 for requests to S3, private to libhexz.
 *
 * A request is data: the caller fills struct sigv4_request with what it is
 * about to send (method, host, unencoded path and query parameters, the
 * extra headers it wants signed, the payload hash, the time) and gets back
 * the headers to add to it. The signer does no I/O and keeps no state, so
 * it is safe from any number of threads at once.
 *
 * The path and the query are encoded here, once, by the rules of the
 * canonical request (each byte outside RFC 3986's unreserved set as %XX,
 * '/' kept in the path); the request line must carry the same encoding,
 * so the sender builds its URL from sigv4_encode_path() and
 * sigv4_encode_query() rather than encoding a second time its own way.
 * S3 does not normalise paths ("a//b", "./", ".." are names of objects),
 * so neither does the signer.
 */
#ifndef HEXZ_CORE_STORAGE_SIGV4_H
#define HEXZ_CORE_STORAGE_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <hexz/archive.h>

/* The payload hash of a request that does not sign its body. */
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* The hex SHA-256 of an empty body: the payload hash of a GET. */
#define SIGV4_EMPTY_PAYLOAD "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* Hex SHA-256 plus its terminating NUL. */
#define SIGV4_HASH_HEX_SIZE 65

/* One query parameter, unencoded; value "" is an empty value ("name="). */
struct sigv4_param {
	const char *name;
	const char *value;
};

/*
 * One header to sign and send, as written (any case, surrounding blanks);
 * several with one name are signed as one, values joined with ',' in the
 * order given, as the server sees them.
 */
struct sigv4_header {
	const char *name;
	const char *value;
};

struct sigv4_credentials {
	const char *access_key_id;
	const char *secret_access_key;
	/* Temporary credentials' token (x-amz-security-token), or NULL. */
	const char *session_token;
};

struct sigv4_request {
	/* "GET", "HEAD", ... */
	const char *method;
	/* The Host header: the name, plus ":PORT" when the port is not the scheme's default. */
	const char *host;
	/* The unencoded path, beginning with '/' ("" means "/"). */
	const char *path;
	const struct sigv4_param *query;
	size_t query_count;
	/* Headers to sign beyond the ones the signer adds (Host, X-Amz-*). */
	const struct sigv4_header *headers;
	size_t header_count;
	/* SIGV4_UNSIGNED_PAYLOAD, or the body's lowercase hex SHA-256; NULL is SIGV4_EMPTY_PAYLOAD.
	 */
	const char *payload_hash;
	/* Send and sign x-amz-content-sha256 (S3 requires it; other services do not). */
	bool content_sha256_header;
	/* The signing time, in seconds since the epoch (UTC). */
	time_t time;
	/* "us-east-1", ... */
	const char *region;
	/* "s3", ... */
	const char *service;
};

/* The headers to add to a signed request, as "name: value" lines. */
struct sigv4_headers {
	/*
	 * In this order: x-amz-date; x-amz-content-sha256 when asked for;
	 * x-amz-security-token when there is a session token; authorization.
	 */
	char *lines[4];
	size_t count;
	/* The signature alone (lowercase hex), for tests and debugging. */
	char signature[SIGV4_HASH_HEX_SIZE];
};

/*
 * Sign `req` with `cred`, filling `out` (which the caller releases with
 * sigv4_headers_free(), also after a failure). Returns 0, or
 * HEXZ_ERR_INVALID_ARGUMENT (a field missing or malformed: a control
 * byte in a header, an access key with '/', a payload hash that is not
 * one, a header the signer sets itself, ...) or HEXZ_ERR_NO_MEMORY or
 * HEXZ_ERR_SYSTEM (OpenSSL failed), with a message in `err` (may be NULL)
 * that never contains the secret or the token.
 */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *cred,
	       struct sigv4_headers *out, struct hexz_error *err);

/* Release what sigv4_sign() put in `h` (wiping it); `h` may be NULL or empty. */
void sigv4_headers_free(struct sigv4_headers *h);

/*
 * The canonical request of `req` signed with `cred` (the session token is
 * one of its headers), as a malloc()ed string in *out: for tests and for
 * debugging a server's SignatureDoesNotMatch. Errors as sigv4_sign().
 */
int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_credentials *cred,
			    char **out, struct hexz_error *err);

/* `path` encoded for the request line and the signature; malloc()ed, NULL without memory. */
char *sigv4_encode_path(const char *path);

/*
 * The canonical query string of `count` parameters (encoded, sorted by name
 * then value, joined with '&'), which is also a valid query for the request
 * line; malloc()ed ("" when count is 0), NULL without memory.
 */
char *sigv4_encode_query(const struct sigv4_param *query, size_t count);

/* The lowercase hex SHA-256 of `len` bytes at `p` into `out`; 0 or HEXZ_ERR_SYSTEM. */
int sigv4_payload_hash(const void *p, size_t len, char out[SIGV4_HASH_HEX_SIZE]);

#endif /* HEXZ_CORE_STORAGE_SIGV4_H */
