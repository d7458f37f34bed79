/* SPDX-License-Identifier: MIT */
/*
 * AWS Signature Version 4 (see sigv4.h), with OpenSSL's SHA-256 and
 * HMAC-SHA256, from the canonical request as the AWS documentation
 * defines it:
 *
 *   METHOD \n CANONICAL_URI \n CANONICAL_QUERY \n
 *   name:value \n ... (headers, sorted by lowercased name) \n
 *   SIGNED_HEADERS \n PAYLOAD_HASH
 *
 * then the string to sign (algorithm, time, scope, hash of the canonical
 * request), the signing key derived from the secret by four HMACs (date,
 * region, service, "aws4_request") and the signature, an HMAC of the
 * string to sign under that key.
 *
 * Every input is checked before any of it is used: a header name or value
 * goes on the wire as it is signed, so a control byte in one would be a
 * header injection, not just a wrong signature. Strings are built with
 * open_memstream(); the buffers that held the secret or the keys derived
 * from it are wiped before they are freed.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <hexz/common.h>

#include "error_set.h"
#include "sigv4.h"

#define SHA256_LEN 32
/* "20130524T000000Z" and "20130524", with their NULs. */
#define AMZ_DATE_SIZE 17
#define SCOPE_DATE_SIZE 9

/* A header of the canonical request: lowercased name, normalised value. */
struct canon_header {
	char *name;
	char *value;
	/* Position in the request, so that values of one name keep their order. */
	size_t order;
};

/* A string grown with stdio; see membuf_open() and membuf_close(). */
struct membuf {
	FILE *f;
	char *data;
	size_t len;
};

static int
membuf_open(struct membuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->f = open_memstream(&b->data, &b->len);
	return b->f ? HEXZ_OK : HEXZ_ERR_NO_MEMORY;
}

/*
 * Finish the string: on success *out owns it (NUL-terminated); on a failed
 * write it is wiped and freed, and HEXZ_ERR_NO_MEMORY returned.
 */
static int
membuf_close(struct membuf *b, char **out)
{
	int failed = ferror(b->f);

	if (fclose(b->f) != 0)
		failed = 1;
	b->f = NULL;
	if (failed) {
		if (b->data)
			OPENSSL_clear_free(b->data, b->len);
		b->data = NULL;
		return HEXZ_ERR_NO_MEMORY;
	}
	*out = b->data;
	b->data = NULL;
	return HEXZ_OK;
}

/* The RFC 3986 unreserved characters, which the encoding keeps as they are. */
static int
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* Write `s` with every byte outside the unreserved set (and '/', unless kept) as %XX. */
static void
encode_to(FILE *f, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (is_unreserved(*p) || (keep_slash && *p == '/')) {
			putc(*p, f);
		} else {
			putc('%', f);
			putc(hex[*p >> 4], f);
			putc(hex[*p & 15], f);
		}
	}
}

static char *
encode(const char *s, int keep_slash)
{
	struct membuf b;
	char *out = NULL;

	if (membuf_open(&b) != HEXZ_OK)
		return NULL;
	encode_to(b.f, s, keep_slash);
	if (membuf_close(&b, &out) != HEXZ_OK)
		return NULL;
	return out;
}

char *
sigv4_encode_path(const char *path)
{
	return encode(path[0] ? path : "/", 1);
}

struct encoded_param {
	char *name;
	char *value;
};

static int
compare_params(const void *a, const void *b)
{
	const struct encoded_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

char *
sigv4_encode_query(const struct sigv4_param *query, size_t count)
{
	struct encoded_param *params = calloc(count ? count : 1, sizeof(*params));
	struct membuf b;
	char *out = NULL;
	size_t i;

	if (!params)
		return NULL;
	for (i = 0; i < count; i++) {
		params[i].name = encode(query[i].name, 0);
		params[i].value = encode(query[i].value ? query[i].value : "", 0);
		if (!params[i].name || !params[i].value)
			goto out;
	}
	/* Sorted by the encoded bytes, as the server sorts what it received. */
	qsort(params, count, sizeof(*params), compare_params);
	if (membuf_open(&b) != HEXZ_OK)
		goto out;
	for (i = 0; i < count; i++)
		fprintf(b.f, "%s%s=%s", i ? "&" : "", params[i].name, params[i].value);
	membuf_close(&b, &out);
out:
	for (i = 0; i < count; i++) {
		free(params[i].name);
		free(params[i].value);
	}
	free(params);
	return out;
}

static void
to_hex(const unsigned char *p, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * len] = '\0';
}

int
sigv4_payload_hash(const void *p, size_t len, char out[SIGV4_HASH_HEX_SIZE])
{
	unsigned char md[SHA256_LEN];
	unsigned int md_len = 0;

	if (EVP_Digest(p, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != SHA256_LEN) {
		ERR_clear_error();
		return HEXZ_ERR_SYSTEM;
	}
	to_hex(md, SHA256_LEN, out);
	return HEXZ_OK;
}

/* HMAC-SHA256 of `len` bytes at `data` under `key`, into `out` (32 bytes). */
static int
hmac(const void *key, size_t key_len, const void *data, size_t len, unsigned char *out)
{
	unsigned int out_len = 0;

	if (key_len > INT32_MAX ||
	    !HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) ||
	    out_len != SHA256_LEN) {
		ERR_clear_error();
		return HEXZ_ERR_SYSTEM;
	}
	return HEXZ_OK;
}

/* Input checks ---------------------------------------------------------- */

/* RFC 9110 token characters, the only ones a method or header name may have. */
static int
is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int
is_token(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

static int
is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* True when `s` is non-empty and every byte is visible ASCII, none in `banned`. */
static int
is_visible(const char *s, const char *banned)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr(banned, c))
			return 0;
	}
	return 1;
}

static int
has_control(const char *s)
{
	for (; *s; s++)
		if (is_control((unsigned char)*s))
			return 1;
	return 0;
}

/* True when `s` may go into a header value: no control byte but tab. */
static int
is_header_value(const char *s)
{
	for (; *s; s++)
		if (is_control((unsigned char)*s) && *s != '\t')
			return 0;
	return 1;
}

static int
is_payload_hash(const char *s)
{
	size_t i;

	if (strcmp(s, SIGV4_UNSIGNED_PAYLOAD) == 0)
		return 1;
	for (i = 0; i < SIGV4_HASH_HEX_SIZE - 1; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* The headers the signer sets itself, which a caller must not also pass. */
static int
is_signer_header(const char *lower_name)
{
	static const char *const own[] = { "host", "x-amz-date", "x-amz-content-sha256",
					   "x-amz-security-token", "authorization" };
	size_t i;

	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcmp(lower_name, own[i]) == 0)
			return 1;
	return 0;
}

static int
check_request(const struct sigv4_request *req, const struct sigv4_credentials *cred,
	      struct hexz_error *err)
{
	size_t i;

	if (!req || !cred || !req->method || !req->host || !req->path || !req->region ||
	    !req->service || !cred->access_key_id || !cred->secret_access_key ||
	    (req->query_count && !req->query) || (req->header_count && !req->headers))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "sigv4: a required field is NULL");
	if (!is_token(req->method))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "sigv4: invalid method");
	if (!is_visible(req->host, ""))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "sigv4: the host is empty or has a blank or control byte");
	if (req->path[0] && req->path[0] != '/')
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "sigv4: the path does not begin with '/'");
	if (!is_visible(req->region, "/") || !is_visible(req->service, "/"))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "sigv4: the region or service is empty or has '/', a blank or a "
				 "control byte");
	/* The Credential field is KEY/DATE/REGION/SERVICE/aws4_request, split at '/' and ','. */
	if (!is_visible(cred->access_key_id, "/,"))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "sigv4: the access key ID is empty or has '/', ',', a blank or a "
				 "control byte");
	if (!cred->secret_access_key[0] || has_control(cred->secret_access_key))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "sigv4: the secret access key is empty or has a control byte");
	if (cred->session_token &&
	    (!cred->session_token[0] || !is_visible(cred->session_token, "")))
		return error_set(
			err, HEXZ_ERR_INVALID_ARGUMENT,
			"sigv4: the session token is empty or has a blank or control byte");
	if (req->payload_hash && !is_payload_hash(req->payload_hash))
		return error_set(
			err, HEXZ_ERR_INVALID_ARGUMENT,
			"sigv4: the payload hash is neither %s nor a lowercase hex SHA-256",
			SIGV4_UNSIGNED_PAYLOAD);
	for (i = 0; i < req->query_count; i++)
		if (!req->query[i].name || !req->query[i].name[0])
			return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
					 "sigv4: query parameter %zu has no name", i + 1);
	for (i = 0; i < req->header_count; i++) {
		const struct sigv4_header *h = &req->headers[i];

		if (!is_token(h->name))
			return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
					 "sigv4: header %zu has an invalid name", i + 1);
		if (!h->value || !is_header_value(h->value))
			return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
					 "sigv4: header '%s' has a control byte in its value",
					 h->name);
	}
	return HEXZ_OK;
}

/* The canonical request ------------------------------------------------- */

static char *
lowercase(const char *s)
{
	char *out = strdup(s);
	char *p;

	if (out)
		for (p = out; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	return out;
}

/* `s` without leading and trailing blanks, each inner run of blanks one space. */
static char *
trim_all(const char *s)
{
	char *out = malloc(strlen(s) + 1);
	size_t n = 0;
	int blank = 0;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t') {
			blank = 1;
			continue;
		}
		if (blank && n)
			out[n++] = ' ';
		blank = 0;
		out[n++] = *s;
	}
	out[n] = '\0';
	return out;
}

static int
compare_headers(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

struct canon {
	struct canon_header *headers;
	size_t count;
	/* The names, each once, joined with ';': the SignedHeaders field. */
	char *signed_headers;
	char amz_date[AMZ_DATE_SIZE];
	char scope_date[SCOPE_DATE_SIZE];
	const char *payload_hash;
};

static void
canon_free(struct canon *c)
{
	size_t i;

	for (i = 0; i < c->count; i++) {
		free(c->headers[i].name);
		/* The session token is one of the values. */
		if (c->headers[i].value)
			OPENSSL_clear_free(c->headers[i].value, strlen(c->headers[i].value));
	}
	free(c->headers);
	free(c->signed_headers);
	c->headers = NULL;
	c->signed_headers = NULL;
	c->count = 0;
}

static int
canon_add(struct canon *c, const char *name, const char *value, struct hexz_error *err)
{
	struct canon_header *h = &c->headers[c->count];

	h->name = lowercase(name);
	h->value = trim_all(value);
	h->order = c->count;
	c->count++;
	if (!h->name || !h->value)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	return HEXZ_OK;
}

/* c->signed_headers from the sorted headers: each name once, joined with ';'. */
static int
join_names(struct canon *c, struct hexz_error *err)
{
	struct membuf b;
	size_t i;

	if (membuf_open(&b) != HEXZ_OK)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	for (i = 0; i < c->count; i++)
		if (!i || strcmp(c->headers[i].name, c->headers[i - 1].name) != 0)
			fprintf(b.f, "%s%s", i ? ";" : "", c->headers[i].name);
	if (membuf_close(&b, &c->signed_headers) != HEXZ_OK)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	return HEXZ_OK;
}

/* Collect, normalise and sort the headers to sign; `c` is freed by the caller. */
static int
canon_build(const struct sigv4_request *req, const struct sigv4_credentials *cred, struct canon *c,
	    struct hexz_error *err)
{
	struct tm tm;
	size_t i;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!gmtime_r(&req->time, &tm) || tm.tm_year < 70 || tm.tm_year > 9999 - 1900)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "sigv4: the time is outside the years 1970 to 9999");
	strftime(c->amz_date, sizeof(c->amz_date), "%Y%m%dT%H%M%SZ", &tm);
	memcpy(c->scope_date, c->amz_date, SCOPE_DATE_SIZE - 1);
	c->scope_date[SCOPE_DATE_SIZE - 1] = '\0';
	c->payload_hash = req->payload_hash ? req->payload_hash : SIGV4_EMPTY_PAYLOAD;

	c->headers = calloc(req->header_count + 4, sizeof(*c->headers));
	if (!c->headers)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	for (i = 0; i < req->header_count; i++) {
		rc = canon_add(c, req->headers[i].name, req->headers[i].value, err);
		if (rc)
			return rc;
		if (is_signer_header(c->headers[c->count - 1].name))
			return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
					 "sigv4: header '%s' is set by the signer",
					 req->headers[i].name);
	}
	rc = canon_add(c, "host", req->host, err);
	if (!rc)
		rc = canon_add(c, "x-amz-date", c->amz_date, err);
	if (!rc && req->content_sha256_header)
		rc = canon_add(c, "x-amz-content-sha256", c->payload_hash, err);
	if (!rc && cred->session_token)
		rc = canon_add(c, "x-amz-security-token", cred->session_token, err);
	if (rc)
		return rc;
	qsort(c->headers, c->count, sizeof(*c->headers), compare_headers);
	return join_names(c, err);
}

/* Write the canonical request of `req` to `f`. */
static void
write_canonical(FILE *f, const struct sigv4_request *req, const struct canon *c, const char *query)
{
	size_t i;

	fprintf(f, "%s\n", req->method);
	encode_to(f, req->path[0] ? req->path : "/", 1);
	fprintf(f, "\n%s\n", query);
	for (i = 0; i < c->count; i++) {
		if (i && strcmp(c->headers[i].name, c->headers[i - 1].name) == 0)
			fprintf(f, ",%s", c->headers[i].value);
		else
			fprintf(f, "%s%s:%s", i ? "\n" : "", c->headers[i].name,
				c->headers[i].value);
	}
	fprintf(f, "\n\n%s\n%s", c->signed_headers, c->payload_hash);
}

/* The canonical request as a malloc()ed string in *out. */
static int
canonical_string(const struct sigv4_request *req, const struct canon *c, char **out,
		 struct hexz_error *err)
{
	char *query = sigv4_encode_query(req->query, req->query_count);
	struct membuf b;
	int rc;

	*out = NULL;
	if (!query)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	rc = membuf_open(&b);
	if (!rc) {
		write_canonical(b.f, req, c, query);
		rc = membuf_close(&b, out);
	}
	free(query);
	return rc ? error_plain(err, rc) : HEXZ_OK;
}

int
sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_credentials *cred,
			char **out, struct hexz_error *err)
{
	struct canon c = { 0 };
	int rc;

	*out = NULL;
	rc = check_request(req, cred, err);
	if (!rc)
		rc = canon_build(req, cred, &c, err);
	if (!rc)
		rc = canonical_string(req, &c, out, err);
	canon_free(&c);
	return rc;
}

/* The signature ---------------------------------------------------------- */

/* The signing key: HMACs of the date, region, service and "aws4_request". */
static int
signing_key(const struct sigv4_request *req, const struct sigv4_credentials *cred,
	    const char *scope_date, unsigned char key[SHA256_LEN])
{
	size_t secret_len = strlen(cred->secret_access_key);
	size_t k_len = secret_len + 4;
	unsigned char *k = malloc(k_len);
	unsigned char a[SHA256_LEN], b[SHA256_LEN];
	int rc;

	if (!k)
		return HEXZ_ERR_NO_MEMORY;
	memcpy(k, "AWS4", 4);
	memcpy(k + 4, cred->secret_access_key, secret_len);
	rc = hmac(k, k_len, scope_date, strlen(scope_date), a);
	if (!rc)
		rc = hmac(a, SHA256_LEN, req->region, strlen(req->region), b);
	if (!rc)
		rc = hmac(b, SHA256_LEN, req->service, strlen(req->service), a);
	if (!rc)
		rc = hmac(a, SHA256_LEN, "aws4_request", strlen("aws4_request"), key);
	OPENSSL_clear_free(k, k_len);
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	return rc;
}

/* The signature of `canonical` into `out` (lowercase hex). */
static int
signature(const struct sigv4_request *req, const struct sigv4_credentials *cred,
	  const struct canon *c, const char *canonical, char out[SIGV4_HASH_HEX_SIZE])
{
	char canonical_hash[SIGV4_HASH_HEX_SIZE];
	unsigned char key[SHA256_LEN], sig[SHA256_LEN];
	char *to_sign = NULL;
	int rc;

	rc = sigv4_payload_hash(canonical, strlen(canonical), canonical_hash);
	if (rc)
		return rc;
	if (asprintf(&to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", c->amz_date,
		     c->scope_date, req->region, req->service, canonical_hash) < 0)
		return HEXZ_ERR_NO_MEMORY;
	rc = signing_key(req, cred, c->scope_date, key);
	if (!rc)
		rc = hmac(key, SHA256_LEN, to_sign, strlen(to_sign), sig);
	if (!rc)
		to_hex(sig, SHA256_LEN, out);
	OPENSSL_cleanse(key, sizeof(key));
	free(to_sign);
	return rc;
}

static int
add_line(struct sigv4_headers *out, const char *name, const char *value)
{
	if (asprintf(&out->lines[out->count], "%s: %s", name, value) < 0) {
		out->lines[out->count] = NULL;
		return HEXZ_ERR_NO_MEMORY;
	}
	out->count++;
	return HEXZ_OK;
}

int
sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *cred,
	   struct sigv4_headers *out, struct hexz_error *err)
{
	struct canon c = { 0 };
	char *canonical = NULL, *authorization = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = check_request(req, cred, err);
	if (!rc)
		rc = canon_build(req, cred, &c, err);
	if (!rc)
		rc = canonical_string(req, &c, &canonical, err);
	if (rc)
		goto out;
	rc = signature(req, cred, &c, canonical, out->signature);
	if (rc) {
		error_set(err, rc, "sigv4: computing the signature failed (%s)",
			  rc == HEXZ_ERR_NO_MEMORY ? "out of memory" : "OpenSSL error");
		goto out;
	}
	if (asprintf(&authorization,
		     "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
		     "Signature=%s",
		     cred->access_key_id, c.scope_date, req->region, req->service, c.signed_headers,
		     out->signature) < 0) {
		authorization = NULL;
		rc = error_plain(err, HEXZ_ERR_NO_MEMORY);
		goto out;
	}
	rc = add_line(out, "x-amz-date", c.amz_date);
	if (!rc && req->content_sha256_header)
		rc = add_line(out, "x-amz-content-sha256", c.payload_hash);
	if (!rc && cred->session_token)
		rc = add_line(out, "x-amz-security-token", cred->session_token);
	if (!rc)
		rc = add_line(out, "authorization", authorization);
	if (rc)
		error_plain(err, rc);
out:
	if (rc)
		sigv4_headers_free(out);
	free(authorization);
	if (canonical)
		OPENSSL_clear_free(canonical, strlen(canonical));
	canon_free(&c);
	return rc;
}

void
sigv4_headers_free(struct sigv4_headers *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->count; i++)
		OPENSSL_clear_free(h->lines[i], strlen(h->lines[i]));
	memset(h, 0, sizeof(*h));
}
