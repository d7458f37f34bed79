/* SPDX-License-Identifier: MIT */
/*
 * One remote request, private to libhexz: built as data, signed (S3),
 * sent on a pooled connection and classified (ok, retry, fail) in one
 * place, remote_request_run(), with the retry policy in one function.
 */
#ifndef HEXZ_CORE_STORAGE_REMOTE_REQUEST_H
#define HEXZ_CORE_STORAGE_REMOTE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hexz/archive.h>

struct hexz_remote;

/* Where an object's requests go. */
struct remote_target {
	/* The request URL, encoded as sent. */
	char *url;
	/* The URL named in messages: as the user gave it (never a credential). */
	char *display;
	/* S3: requests are signed (when the context has credentials) for this Host and path. */
	bool s3;
	char *host;
	/* The unencoded path that the signature covers. */
	char *path;
};

void remote_target_free(struct remote_target *t);

/* One request: a HEAD, or a GET of an exact range into a buffer. */
struct remote_request {
	/* "HEAD" or "GET". */
	const char *method;
	const struct remote_target *target;
	/* GET: the header that pins the version ("If-Match: ..."); NULL for HEAD. */
	const char *condition;
	/* GET: [offset, offset + len) into dst; the object's length, which Content-Range must name.
	 */
	uint64_t offset;
	size_t len;
	unsigned char *dst;
	uint64_t object_size;
};

/* What a HEAD learnt. Empty strings when the header was absent. */
struct remote_reply {
	long status;
	bool has_length;
	uint64_t length;
	char etag[512];
	char last_modified[128];
};

/*
 * Send `req` on a connection of `r`'s pool, retrying as the policy says
 * (remote_request.c: retry_delay_ms()). For a GET, dst holds exactly len
 * bytes of the asked range on success. Returns 0 or a negative status
 * (hexz/remote.h lists them) with a message in `err` naming the URL, the
 * HTTP status and S3's error code. `reply` may be NULL for a GET.
 */
int remote_request_run(struct hexz_remote *r, const struct remote_request *req,
		       struct remote_reply *reply, struct hexz_error *err);

#endif /* HEXZ_CORE_STORAGE_REMOTE_REQUEST_H */
