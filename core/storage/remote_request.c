/* SPDX-License-Identifier: MIT */
/*
 * Remote requests: build, sign, send, classify, retry. See remote_request.h.
 *
 * A GET asks for an exact Range with the object's version pinned by a
 * precondition, and its answer is checked before the first body byte is
 * kept: a 206 whose Content-Range is the range asked of an object of the
 * length that was opened. Anything else stops the transfer at once, so a
 * server that ignores Range costs at most one buffer of the whole object,
 * never the download of it. A body longer than asked is stopped too; one
 * shorter fails the read. Error bodies are kept up to ERROR_BODY_MAX bytes
 * (for S3's error code), then the transfer is stopped.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include <hexz/common.h>
#include <hexz/hexz.h>

#include "error_set.h"
#include "remote_context.h"
#include "remote_request.h"
#include "s3_error.h"
#include "sigv4.h"

/* Error documents are a few hundred bytes; this is plenty and bounds memory. */
#define ERROR_BODY_MAX 16384
/* The retry policy: full jitter over base << attempt, capped (as AWS's SDKs do). */
#define RETRY_BASE_MS 100u
#define RETRY_CAP_MS 20000u
#define RECEIVE_BUFFER (256L << 10)
#define IF_MATCH "If-Match: "

enum verdict {
	VERDICT_OK,
	VERDICT_RETRY,
	VERDICT_FAIL,
};

/* One attempt's state, shared with libcurl's write callback. */
struct attempt {
	const struct remote_request *req;
	CURL *h;
	long status;
	/* The answer's status line and Content-Range were checked (at the first body byte). */
	bool checked;
	size_t got;
	/* Set by the callback to stop the transfer with this status and message. */
	int abort_status;
	char abort_msg[320];
	/* An error answer's body, capped; `capped` when the cap stopped the transfer. */
	char body[ERROR_BODY_MAX];
	size_t body_len;
	bool capped;
	char curl_msg[CURL_ERROR_SIZE];
};

void
remote_target_free(struct remote_target *t)
{
	if (!t)
		return;
	free(t->url);
	free(t->display);
	free(t->host);
	free(t->path);
	memset(t, 0, sizeof(*t));
}

/*
 * The retry policy, in one place: before retry number `attempt` (0 for the
 * first retry) wait a random time in [0, min(cap, base * 2^attempt)]
 * milliseconds. Full jitter spreads the retries of many readers hitting
 * one failing server, so they do not come back in lockstep.
 */
static unsigned int
retry_delay_ms(unsigned int attempt)
{
	unsigned int ceiling = attempt >= 16 ? RETRY_CAP_MS : RETRY_BASE_MS << attempt;

	if (ceiling > RETRY_CAP_MS)
		ceiling = RETRY_CAP_MS;
	return arc4random_uniform(ceiling + 1);
}

static void
sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static int set_abort(struct attempt *a, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
set_abort(struct attempt *a, int status, const char *fmt, ...)
{
	va_list ap;

	a->abort_status = status;
	va_start(ap, fmt);
	vsnprintf(a->abort_msg, sizeof(a->abort_msg), fmt, ap);
	va_end(ap);
	return status;
}

/* "bytes FIRST-LAST/TOTAL", nothing else; false for any other form ('*' totals too). */
static bool
parse_content_range(const char *v, uint64_t *first, uint64_t *last, uint64_t *total)
{
	static const char form[] = "bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64 "%n";
	int end = -1;

	if (sscanf(v, form, first, last, total, &end) != 3 || end < 0 || v[end] != '\0')
		return false;
	return *first <= *last && v[6] >= '0' && v[6] <= '9';
}

/* At the first body byte of a GET's 206: is this the range asked, of the object opened? */
static int
check_partial(struct attempt *a)
{
	const struct remote_request *req = a->req;
	struct curl_header *hdr = NULL;
	uint64_t first, last, total;

	if (curl_easy_header(a->h, "Content-Range", 0, CURLH_HEADER, -1, &hdr) != CURLHE_OK)
		return set_abort(a, HEXZ_ERR_PROTOCOL, "206 without Content-Range");
	if (!parse_content_range(hdr->value, &first, &last, &total))
		return set_abort(a, HEXZ_ERR_PROTOCOL, "unreadable Content-Range \"%.100s\"",
				 hdr->value);
	if (total != req->object_size)
		return set_abort(a, HEXZ_ERR_CHANGED,
				 "the object is now %" PRIu64 " bytes long, not %" PRIu64
				 " as when it was opened",
				 total, req->object_size);
	if (first != req->offset || last != req->offset + req->len - 1)
		return set_abort(a, HEXZ_ERR_PROTOCOL,
				 "Content-Range \"%.100s\" for bytes %" PRIu64 "-%" PRIu64 " asked",
				 hdr->value, req->offset, req->offset + req->len - 1);
	/*
	 * The server checked If-Match; a cache or proxy in between may not
	 * have. An answer naming another version is not served.
	 */
	if (req->condition && strncmp(req->condition, IF_MATCH, strlen(IF_MATCH)) == 0 &&
	    curl_easy_header(a->h, "ETag", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK &&
	    strcmp(hdr->value, req->condition + strlen(IF_MATCH)) != 0)
		return set_abort(a, HEXZ_ERR_CHANGED,
				 "an answer with ETag %.100s, not %.100s as when it was opened",
				 hdr->value, req->condition + strlen(IF_MATCH));
	return HEXZ_OK;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct attempt *a = arg;
	size_t len = size * n, room;

	if (!a->checked) {
		a->checked = true;
		curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &a->status);
		if (a->status == 200 && a->req->dst) {
			set_abort(a, HEXZ_ERR_PROTOCOL,
				  "HTTP 200 to a Range request: the server ignores Range");
			return 0;
		}
		if (a->status == 206 && a->req->dst && check_partial(a))
			return 0;
	}
	if (a->status == 206 && a->req->dst) {
		if (len > a->req->len - a->got) {
			set_abort(a, HEXZ_ERR_PROTOCOL, "a body longer than the %zu bytes asked",
				  a->req->len);
			return 0;
		}
		memcpy(a->req->dst + a->got, p, len);
		a->got += len;
		return len;
	}
	room = sizeof(a->body) - a->body_len;
	if (len > room) {
		memcpy(a->body + a->body_len, p, room);
		a->body_len += room;
		a->capped = true;
		return 0;
	}
	memcpy(a->body + a->body_len, p, len);
	a->body_len += len;
	return len;
}

/* The headers of `req`: its precondition and, for S3 with credentials, the signature's. */
static int
build_headers(struct hexz_remote *r, const struct remote_request *req, struct curl_slist **list,
	      struct hexz_error *err)
{
	const struct hexz_remote_options *o = &r->opts;
	struct sigv4_headers signed_headers = { 0 };
	struct curl_slist *l = NULL, *grown;
	size_t i;
	int ret = HEXZ_OK;

	if (req->condition && !(l = curl_slist_append(l, req->condition)))
		goto no_memory;
	if (req->target->s3 && o->s3_access_key_id) {
		const struct sigv4_credentials cred = {
			.access_key_id = o->s3_access_key_id,
			.secret_access_key = o->s3_secret_access_key,
			.session_token = o->s3_session_token,
		};
		const struct sigv4_request sreq = {
			.method = req->method,
			.host = req->target->host,
			.path = req->target->path,
			.payload_hash = SIGV4_EMPTY_PAYLOAD,
			.content_sha256_header = true,
			.time = time(NULL),
			.region = o->s3_region ? o->s3_region : "us-east-1",
			.service = "s3",
		};
		struct hexz_error serr = { 0 };

		ret = sigv4_sign(&sreq, &cred, &signed_headers, &serr);
		if (ret) {
			ret = error_set(err, ret, "%s: cannot sign the request: %s",
					req->target->display, serr.message);
			goto out;
		}
		for (i = 0; i < signed_headers.count; i++) {
			grown = curl_slist_append(l, signed_headers.lines[i]);
			if (!grown)
				goto no_memory;
			l = grown;
		}
	}
	*list = l;
	l = NULL;
	goto out;
no_memory:
	ret = error_set(err, HEXZ_ERR_NO_MEMORY, "out of memory");
out:
	sigv4_headers_free(&signed_headers);
	curl_slist_free_all(l);
	return ret;
}

static void
set_options(struct hexz_remote *r, const struct remote_request *req, struct attempt *a,
	    struct curl_slist *headers, char *range)
{
	const struct hexz_remote_options *o = &r->opts;
	CURL *h = a->h;

	curl_easy_setopt(h, CURLOPT_URL, req->target->url);
	/* Threads: no signals (and libcurl's threaded resolver for timeouts). */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Redirects are not followed: a snapshot is where it was opened, or it fails. */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)o->request_timeout);
	/* "No progress for request_timeout seconds": under 1 byte/s for that long. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)o->request_timeout);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	/*
	 * libcurl's 16 KiB default receive buffer makes a 1 MiB chunk 64
	 * recv()+poll() pairs; 256 KiB (as much again per pooled handle) cuts
	 * the system calls of a fetch by about 10 (measured: strace -c).
	 */
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, RECEIVE_BUFFER);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	/* S3 requests trust the AWS configuration's bundle (ca_file, when set, is that bundle). */
	if (req->target->s3 && r->aws && r->aws->ca_bundle)
		curl_easy_setopt(h, CURLOPT_CAINFO, r->aws->ca_bundle);
	else if (o->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "libhexz/" HEXZ_VERSION_STRING);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, a->curl_msg);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(h, CURLOPT_RANGE, range);
}

/* Copy header `name` of the answer into `out` (size bytes), "" when absent or too long. */
static void
copy_header(CURL *h, const char *name, char *out, size_t size)
{
	struct curl_header *hdr = NULL;

	out[0] = '\0';
	if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK &&
	    strlen(hdr->value) < size)
		strcpy(out, hdr->value);
}

/*
 * libcurl's failures that another attempt cannot cure. Not among them:
 * CURLE_UNSUPPORTED_PROTOCOL, which for a URL checked at open means an
 * answer that is not HTTP (say, bytes a server sent past the previous
 * answer's Content-Length on a kept-alive connection); the failed
 * connection is closed and the retry gets a fresh one.
 */
static int
fatal_curl_status(CURLcode c)
{
	switch (c) {
	case CURLE_OUT_OF_MEMORY:
		return HEXZ_ERR_NO_MEMORY;
	case CURLE_URL_MALFORMAT:
		return HEXZ_ERR_INVALID_ARGUMENT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return HEXZ_ERR_NETWORK;
	default:
		return HEXZ_OK;
	}
}

/* The status of an HTTP answer that is not the success asked for, and whether to retry it. */
static enum verdict
classify_status(long status, int *code)
{
	if (status == 401 || status == 403) {
		*code = HEXZ_ERR_PERMISSION;
		return VERDICT_FAIL;
	}
	if (status == 404 || status == 410) {
		*code = HEXZ_ERR_NOT_FOUND;
		return VERDICT_FAIL;
	}
	/* 412: the precondition (the version) failed; 416: the object got shorter. */
	if (status == 412 || status == 416) {
		*code = HEXZ_ERR_CHANGED;
		return VERDICT_FAIL;
	}
	*code = HEXZ_ERR_HTTP;
	return status >= 500 || status == 429 || status == 408 ? VERDICT_RETRY : VERDICT_FAIL;
}

/* One attempt of `req`: its verdict, with the status and message of a failure in `err`. */
static enum verdict
attempt_once(struct hexz_remote *r, const struct remote_request *req, struct remote_reply *reply,
	     struct attempt *a, int *code, struct hexz_error *err)
{
	const char *url = req->target->display;
	struct curl_slist *headers = NULL;
	char range[64], s3_code[128] = "";
	enum verdict v;
	bool reusable = false;
	CURLcode cres;
	int ret;

	memset(a, 0, offsetof(struct attempt, body));
	a->body_len = 0;
	a->capped = false;
	a->curl_msg[0] = '\0';
	a->req = req;
	*code = build_headers(r, req, &headers, err);
	if (*code)
		return VERDICT_FAIL;
	if (req->dst)
		snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, req->offset,
			 req->offset + req->len - 1);
	a->h = conn_pool_get(r->pool);
	if (!a->h) {
		curl_slist_free_all(headers);
		*code = error_set(err, HEXZ_ERR_NO_MEMORY, "%s: out of memory", url);
		return VERDICT_FAIL;
	}
	set_options(r, req, a, headers, range);
	cres = curl_easy_perform(a->h);
	curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &a->status);

	if (a->abort_status) {
		*code = error_set(err, a->abort_status, "%s: HTTP %ld: %s", url, a->status,
				  a->abort_msg);
		v = VERDICT_FAIL;
	} else if (cres != CURLE_OK && !(cres == CURLE_WRITE_ERROR && a->capped)) {
		ret = fatal_curl_status(cres);
		if (!ret &&
		    (cres == CURLE_UNSUPPORTED_PROTOCOL || cres == CURLE_WEIRD_SERVER_REPLY))
			*code = error_set(err, HEXZ_ERR_PROTOCOL,
					  "%s: an answer that is not HTTP: %s", url,
					  a->curl_msg[0] ? a->curl_msg : curl_easy_strerror(cres));
		else
			*code = error_set(err, ret ? ret : HEXZ_ERR_NETWORK, "%s: %s", url,
					  a->curl_msg[0] ? a->curl_msg : curl_easy_strerror(cres));
		v = ret ? VERDICT_FAIL : VERDICT_RETRY;
	} else if ((req->dst && a->status == 206) || (!req->dst && a->status == 200)) {
		reusable = true;
		if (req->dst && a->got != req->len) {
			*code = error_set(err, HEXZ_ERR_PROTOCOL,
					  "%s: HTTP 206: a body of %zu bytes, %zu asked", url,
					  a->got, req->len);
			v = VERDICT_FAIL;
		} else {
			*code = HEXZ_OK;
			v = VERDICT_OK;
		}
	} else if (req->dst && a->status == 200) {
		/* A 200 with an empty body never reached on_body()'s check. */
		*code = error_set(err, HEXZ_ERR_PROTOCOL,
				  "%s: HTTP 200 to a Range request: the server ignores Range", url);
		v = VERDICT_FAIL;
	} else {
		/* An error answer: its status, S3's code if the body is an S3 error document. */
		v = classify_status(a->status, code);
		reusable = !a->capped;
		if (req->target->s3)
			s3_error_code(a->body, a->body_len, s3_code, sizeof(s3_code));
		/* The Location of a redirect is the server's text: not echoed, only named. */
		error_set(err, *code, "%s: HTTP %ld%s%s%s", url, a->status, s3_code[0] ? " " : "",
			  s3_code,
			  *code == HEXZ_ERR_CHANGED ? ": the object changed since it was opened"
			  : a->status >= 300 && a->status < 400 ? ": redirects are not followed"
								: "");
	}
	if (v == VERDICT_OK && reply) {
		reply->status = a->status;
		copy_header(a->h, "ETag", reply->etag, sizeof(reply->etag));
		copy_header(a->h, "Last-Modified", reply->last_modified,
			    sizeof(reply->last_modified));
		curl_off_t cl = -1;
		curl_easy_getinfo(a->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		reply->has_length = cl >= 0;
		reply->length = cl >= 0 ? (uint64_t)cl : 0;
	}
	conn_pool_put(r->pool, a->h, reusable);
	curl_slist_free_all(headers);
	return v;
}

int
remote_request_run(struct hexz_remote *r, const struct remote_request *req,
		   struct remote_reply *reply, struct hexz_error *err)
{
	struct attempt *a = malloc(sizeof(*a));
	struct hexz_error last = { 0 };
	unsigned int attempt;
	enum verdict v;
	int code = HEXZ_OK;

	if (!a)
		return error_set(err, HEXZ_ERR_NO_MEMORY, "%s: out of memory",
				 req->target->display);
	for (attempt = 0;; attempt++) {
		v = attempt_once(r, req, reply, a, &code, &last);
		if (v != VERDICT_RETRY || attempt >= r->opts.retries)
			break;
		sleep_ms(retry_delay_ms(attempt));
	}
	free(a);
	if (v == VERDICT_OK)
		return HEXZ_OK;
	if (v == VERDICT_RETRY)
		return error_set(err, code, "%s (%u attempts)", last.message, attempt + 1);
	return error_set(err, code, "%s", last.message);
}
