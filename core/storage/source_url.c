/* SPDX-License-Identifier: MIT */
/*
 * Remote sources: parsing, checking, and the S3 endpoint (see
 * source_url.h).
 *
 * A text is checked as a whole before it is taken apart: it must be
 * printable ASCII for http(s) (a blank or a non-ASCII byte must be written
 * percent-encoded, as in any URL; libcurl would otherwise send some of them
 * raw and refuse others) and free of control bytes for s3, whose keys are
 * UTF-8 (checked with iconv). Messages quote the text, except when it holds
 * a user name or password, which they never repeat.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include <hexz/common.h>

#include "error_set.h"
#include "source_url.h"

/* S3's limit on a key, in bytes of UTF-8. */
#define S3_KEY_MAX 1024
#define S3_BUCKET_MIN 3
#define S3_BUCKET_MAX 63
/* What a source must end with to name one archive. */
#define ARCHIVE_SUFFIX ".hxz"

bool
source_url_is_remote(const char *text)
{
	const char *p = text;

	if (!p || !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return false;
	/* RFC 3986: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
	       *p == '+' || *p == '-' || *p == '.')
		p++;
	return strncmp(p, "://", 3) == 0;
}

void
source_url_free(struct source_url *u)
{
	if (!u)
		return;
	free(u->url);
	free(u->host);
	free(u->path);
	free(u->bucket);
	free(u->key);
	free(u->name);
	memset(u, 0, sizeof(*u));
}

static bool
has_control_byte(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* True when `len` bytes at `s` are well-formed UTF-8 (glibc's iconv decides). */
static bool
is_utf8(const char *s, size_t len)
{
	iconv_t cd = iconv_open("UTF-8", "UTF-8");
	char out[256];
	char *in = (char *)(uintptr_t)s; /* iconv() does not write through it */
	bool ok = true;

	if (cd == (iconv_t)-1)
		return false;
	while (len > 0) {
		char *o = out;
		size_t room = sizeof(out);

		if (iconv(cd, &in, &len, &o, &room) == (size_t)-1 && errno != E2BIG) {
			ok = false;
			break;
		}
	}
	iconv_close(cd);
	return ok;
}

/* True when `s` is written like an IPv4 address (four dot-separated numbers). */
static bool
looks_like_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

bool
s3_bucket_name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0, i;

	if (len < S3_BUCKET_MIN || len > S3_BUCKET_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && c != '.' && c != '-')
			return false;
		if ((i == 0 || i == len - 1) && !alnum)
			return false;
		if (c == '.' && name[i + 1] == '.')
			return false;
	}
	return !looks_like_ipv4(name);
}

/* The last '/'-separated segment of `path` (which has a '/'), as a copy. */
static char *
last_segment(const char *path)
{
	const char *slash = strrchr(path, '/');

	return strdup(slash ? slash + 1 : path);
}

static int
parse_s3(const char *text, struct source_url *out, struct hexz_error *err)
{
	const char *bucket = text + strlen("s3://");
	const char *slash = strchr(bucket, '/');
	size_t bucket_len = slash ? (size_t)(slash - bucket) : strlen(bucket);
	const char *key = slash ? slash + 1 : "";

	out->scheme = SOURCE_S3;
	out->bucket = strndup(bucket, bucket_len);
	out->key = strdup(key);
	if (!out->bucket || !out->key)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	if (!bucket_len)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "%s: no bucket name", text);
	if (!s3_bucket_name_valid(out->bucket))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "%s: '%s' is not a valid S3 bucket name (3 to 63 lowercase "
				 "letters, digits, '.' and '-', beginning and ending with a letter "
				 "or digit, no '..', not an IP address)",
				 text, out->bucket);
	if (strlen(key) > S3_KEY_MAX)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "s3://%s/...: the key is %zu bytes, longer than S3's %d",
				 out->bucket, strlen(key), S3_KEY_MAX);
	if (!is_utf8(key, strlen(key)))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "%s: the key is not valid UTF-8",
				 text);
	if (asprintf(&out->url, "s3://%s/%s", out->bucket, key) < 0) {
		out->url = NULL;
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	}
	if (key[0] == '\0' || ends_with(key, "/")) {
		out->is_dir = true;
		return HEXZ_OK;
	}
	out->name = last_segment(key);
	if (!out->name)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	if (!ends_with(out->name, ARCHIVE_SUFFIX) || strlen(out->name) == strlen(ARCHIVE_SUFFIX))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "%s: neither a prefix (ending in '/') nor one archive (NAME.hxz)",
				 text);
	return HEXZ_OK;
}

/* libcurl's reason for refusing a URL, in words. */
static const char *
curl_reason(CURLUcode rc)
{
	return curl_url_strerror(rc);
}

/* Get part `what` of `h` into *out (NULL when the URL has none); 0 or a CURLUcode. */
static CURLUcode
url_part(CURLU *h, CURLUPart what, unsigned int flags, char **out)
{
	char *v = NULL;
	CURLUcode rc = curl_url_get(h, what, &v, flags);

	*out = NULL;
	if (rc != CURLUE_OK)
		return rc;
	*out = strdup(v);
	curl_free(v);
	return *out ? CURLUE_OK : CURLUE_OUT_OF_MEMORY;
}

/* True when part `what` of `h` is present (even empty). */
static bool
url_has(CURLU *h, CURLUPart what)
{
	char *v = NULL;
	CURLUcode rc = curl_url_get(h, what, &v, 0);

	curl_free(v);
	return rc == CURLUE_OK;
}

/*
 * True when the authority of `text` (after "://", up to the next '/', '?'
 * or '#') holds an '@': a user name or password, which is checked before
 * libcurl parses anything, so that no message ever repeats it.
 */
static bool
has_userinfo(const char *text)
{
	const char *a = strstr(text, "://");
	size_t n;

	if (!a)
		return false;
	a += 3;
	n = strcspn(a, "/?#");
	return memchr(a, '@', n) != NULL;
}

/*
 * Parse an http(s) URL with libcurl: `text` is already known to be printable
 * ASCII without a user name. The scheme, host, port and path are kept;
 * a query or a fragment is refused (a source names a directory or a file,
 * and a fragment would be silently dropped on the wire).
 */
static int
parse_url(const char *text, CURLU **handle, struct hexz_error *err)
{
	const char *after = strstr(text, "://") + 3;
	CURLU *h = curl_url();
	char *port = NULL;
	CURLUcode rc;

	*handle = h;
	if (!h)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	/* libcurl reads "http:///x/" as the host "x"; a host is never empty. */
	if (*after == '/' || *after == '\0' || *after == '?' || *after == '#')
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "%s: no host name", text);
	rc = curl_url_set(h, CURLUPART_URL, text, 0);
	if (rc == CURLUE_OUT_OF_MEMORY)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	if (rc != CURLUE_OK)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "%s: invalid URL (%s)", text,
				 curl_reason(rc));
	if (url_has(h, CURLUPART_USER) || url_has(h, CURLUPART_PASSWORD))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "invalid URL: a user name or password is not allowed in it");
	if (url_has(h, CURLUPART_QUERY))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "%s: a query ('?...') is not allowed in a source URL", text);
	if (url_has(h, CURLUPART_FRAGMENT) || strchr(text, '#'))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "%s: a fragment ('#...') is not allowed in a source URL", text);
	rc = url_part(h, CURLUPART_PORT, 0, &port);
	if (rc == CURLUE_OUT_OF_MEMORY)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	if (port && strtoul(port, NULL, 10) == 0) {
		free(port);
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "%s: port 0 is not a port", text);
	}
	free(port);
	return HEXZ_OK;
}

/* Scheme, host and port of a parsed URL into `out`. */
static int
take_origin(CURLU *h, enum source_scheme *scheme, char **host, unsigned int *port, const char *text,
	    struct hexz_error *err)
{
	char *s = NULL, *p = NULL;
	CURLUcode rc;

	rc = url_part(h, CURLUPART_SCHEME, 0, &s);
	if (rc == CURLUE_OK)
		rc = url_part(h, CURLUPART_HOST, 0, host);
	if (rc == CURLUE_OK) {
		rc = url_part(h, CURLUPART_PORT, 0, &p);
		if (rc == CURLUE_NO_PORT)
			rc = CURLUE_OK;
	}
	if (rc != CURLUE_OK) {
		free(s);
		free(p);
		return rc == CURLUE_OUT_OF_MEMORY
			       ? error_plain(err, HEXZ_ERR_NO_MEMORY)
			       : error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "%s: invalid URL (%s)",
					   text, curl_reason(rc));
	}
	*port = p ? (unsigned int)strtoul(p, NULL, 10) : 0;
	free(p);
	if (strcmp(s, "http") == 0) {
		*scheme = SOURCE_HTTP;
	} else if (strcmp(s, "https") == 0) {
		*scheme = SOURCE_HTTPS;
	} else {
		free(s);
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "%s: unsupported scheme (s3://, http:// and https:// are)", text);
	}
	free(s);
	return HEXZ_OK;
}

/* The kind of source the path of `h` names, and its file name for one archive. */
static int
take_path(CURLU *h, struct source_url *out, const char *text, struct hexz_error *err)
{
	char *decoded = NULL;
	const char *last;
	CURLUcode rc;

	rc = url_part(h, CURLUPART_PATH, 0, &out->path);
	if (rc != CURLUE_OK)
		return rc == CURLUE_OUT_OF_MEMORY
			       ? error_plain(err, HEXZ_ERR_NO_MEMORY)
			       : error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "%s: invalid URL (%s)",
					   text, curl_reason(rc));
	if (ends_with(out->path, "/")) {
		out->is_dir = true;
		return HEXZ_OK;
	}
	/* The file name is the last segment, decoded: it must not hide a '/' or a NUL. */
	last = strrchr(out->path, '/');
	last = last ? last + 1 : out->path;
	if (strcasestr(last, "%2f") || strstr(last, "%00"))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "%s: the file name has an encoded '/' or NUL", text);
	rc = url_part(h, CURLUPART_PATH, CURLU_URLDECODE, &decoded);
	if (rc == CURLUE_OUT_OF_MEMORY)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	if (rc != CURLUE_OK || has_control_byte(decoded)) {
		free(decoded);
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "%s: the path has an encoded control byte", text);
	}
	out->name = last_segment(decoded);
	free(decoded);
	if (!out->name)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	if (!ends_with(out->name, ARCHIVE_SUFFIX) || strlen(out->name) == strlen(ARCHIVE_SUFFIX))
		return error_set(
			err, HEXZ_ERR_INVALID_ARGUMENT,
			"%s: neither a directory (ending in '/') nor one archive (NAME.hxz)", text);
	return HEXZ_OK;
}

static int
parse_http(const char *text, struct source_url *out, struct hexz_error *err)
{
	CURLU *h = NULL;
	CURLUcode crc;
	int rc;
	char *url = NULL;
	const char *p;

	if (has_userinfo(text))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "invalid URL: a user name or password is not allowed in it");
	for (p = text; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
					 "%s: a blank or non-ASCII byte in a URL must be written "
					 "percent-encoded (%%20, %%C3%%BC, ...)",
					 text);
	rc = parse_url(text, &h, err);
	if (!rc)
		rc = take_origin(h, &out->scheme, &out->host, &out->port, text, err);
	if (!rc)
		rc = take_path(h, out, text, err);
	if (!rc) {
		crc = url_part(h, CURLUPART_URL, 0, &url);
		if (crc != CURLUE_OK)
			rc = crc == CURLUE_OUT_OF_MEMORY
				     ? error_plain(err, HEXZ_ERR_NO_MEMORY)
				     : error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
						 "%s: invalid URL (%s)", text, curl_reason(crc));
		out->url = url;
	}
	curl_url_cleanup(h);
	return rc;
}

int
source_url_parse(const char *text, struct source_url *out, struct hexz_error *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!text || !*text)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "empty source");
	if (has_control_byte(text))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "the source has a control byte (newline, tab, ...)");
	if (strncmp(text, "s3://", 5) == 0) {
		if (strchr(text, '@') && has_userinfo(text))
			return error_set(
				err, HEXZ_ERR_INVALID_ARGUMENT,
				"invalid S3 URL: a user name or password is not allowed "
				"in it (credentials come from the environment or profile)");
		rc = parse_s3(text, out, err);
	} else if (strncasecmp(text, "http://", 7) == 0 || strncasecmp(text, "https://", 8) == 0) {
		rc = parse_http(text, out, err);
	} else if (source_url_is_remote(text)) {
		rc = error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
			       "%.*s: unsupported scheme (s3://, http:// and https:// are)",
			       (int)(strstr(text, "://") - text + 3), text);
	} else {
		rc = error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
			       "%s: not a URL (s3://BUCKET/PREFIX/, http(s)://HOST/PATH/ or a "
			       "URL ending in .hxz)",
			       text);
	}
	return rc;
}

/* The S3 endpoint ------------------------------------------------------- */

int
s3_addressing_parse(const char *text, enum s3_addressing *out)
{
	if (!text)
		return HEXZ_ERR_INVALID_ARGUMENT;
	if (strcmp(text, "auto") == 0)
		*out = S3_ADDRESSING_AUTO;
	else if (strcmp(text, "path") == 0)
		*out = S3_ADDRESSING_PATH;
	else if (strcmp(text, "virtual") == 0)
		*out = S3_ADDRESSING_VIRTUAL;
	else
		return HEXZ_ERR_INVALID_ARGUMENT;
	return HEXZ_OK;
}

void
s3_endpoint_free(struct s3_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->origin);
	free(ep->host);
	free(ep->bucket_path);
	memset(ep, 0, sizeof(*ep));
}

/* A region as AWS names them: lowercase letters, digits and '-'; it goes into a host name. */
static bool
region_valid(const char *r)
{
	size_t len = strlen(r), i;

	if (len == 0 || len > 63 || r[0] == '-' || r[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++)
		if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
			return false;
	return true;
}

/* An IP address (v4, or v6 in brackets) or "localhost": no virtual-hosted bucket there. */
static bool
host_is_ip_or_localhost(const char *host)
{
	return host[0] == '[' || looks_like_ipv4(host) || strcasecmp(host, "localhost") == 0;
}

/*
 * Parse endpoint `url` (from `chosen_by`) into scheme, host and port: an
 * endpoint is an origin, with at most "/" for its path.
 */
static int
parse_endpoint(const char *url, const char *chosen_by, bool *https, char **host, unsigned int *port,
	       struct hexz_error *err)
{
	enum source_scheme scheme;
	struct hexz_error inner = { 0 };
	char *path = NULL;
	CURLU *h = NULL;
	int rc = HEXZ_OK;
	const char *p;

	for (p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
					 "S3 endpoint (%s): a blank, control or non-ASCII byte",
					 chosen_by);
	if (!source_url_is_remote(url) ||
	    !(strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "S3 endpoint (%s): not an http:// or https:// URL", chosen_by);
	if (has_userinfo(url))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "S3 endpoint (%s): a user name or password is not allowed in it",
				 chosen_by);
	rc = parse_url(url, &h, &inner);
	if (!rc)
		rc = take_origin(h, &scheme, host, port, url, &inner);
	if (!rc && url_part(h, CURLUPART_PATH, 0, &path) != CURLUE_OK)
		rc = error_plain(&inner, HEXZ_ERR_NO_MEMORY);
	if (!rc && strcmp(path, "/") != 0)
		rc = error_set(&inner, HEXZ_ERR_INVALID_ARGUMENT,
			       "%s: an endpoint has no path (SCHEME://HOST[:PORT])", url);
	free(path);
	curl_url_cleanup(h);
	if (rc)
		return error_set(err, rc, "S3 endpoint (%s): %s", chosen_by, inner.message);
	*https = scheme == SOURCE_HTTPS;
	return HEXZ_OK;
}

/* The first of the configured endpoints that is set, and what set it. */
static const char *
pick_endpoint(const struct s3_endpoint_config *c, const char **chosen_by)
{
	if (c->option_endpoint) {
		*chosen_by = "-o endpoint=";
		return c->option_endpoint;
	}
	if (c->env_endpoint_s3 && *c->env_endpoint_s3) {
		*chosen_by = "AWS_ENDPOINT_URL_S3";
		return c->env_endpoint_s3;
	}
	if (c->env_endpoint && *c->env_endpoint) {
		*chosen_by = "AWS_ENDPOINT_URL";
		return c->env_endpoint;
	}
	if (c->profile_endpoint && *c->profile_endpoint) {
		*chosen_by = "endpoint_url of the AWS profile";
		return c->profile_endpoint;
	}
	*chosen_by = "the AWS endpoint of the region";
	return NULL;
}

/* Virtual-hosted addressing or not, for `bucket` on `host`. */
static int
choose_addressing(const struct s3_endpoint_config *c, const char *bucket, const char *host,
		  bool https, bool *virtual_hosted, struct hexz_error *err)
{
	/*
	 * A bucket name is one DNS label under the endpoint's name only
	 * without dots when TLS checks the name: *.s3.amazonaws.com matches
	 * one label, so "a.b" would fail the certificate check.
	 */
	bool dns_safe = s3_bucket_name_valid(bucket) && !(https && strchr(bucket, '.'));
	bool ip_host = host_is_ip_or_localhost(host);

	switch (c->addressing) {
	case S3_ADDRESSING_PATH:
		*virtual_hosted = false;
		return HEXZ_OK;
	case S3_ADDRESSING_VIRTUAL:
		if (ip_host)
			return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
					 "s3_addressing=virtual: the endpoint %s is an IP address "
					 "or localhost, which cannot have BUCKET.%s names",
					 host, host);
		if (!dns_safe)
			return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
					 "s3_addressing=virtual: the bucket name '%s' cannot be a "
					 "host name%s",
					 bucket, https ? " under https (it has a '.')" : "");
		*virtual_hosted = true;
		return HEXZ_OK;
	case S3_ADDRESSING_AUTO:
	default:
		*virtual_hosted = dns_safe && !ip_host;
		return HEXZ_OK;
	}
}

int
s3_endpoint_resolve(const struct source_url *src, const struct s3_endpoint_config *config,
		    struct s3_endpoint *out, struct hexz_error *err)
{
	const char *endpoint, *chosen_by = NULL;
	char *host = NULL, *aws_default = NULL;
	unsigned int port = 0;
	bool https = true;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!src || src->scheme != SOURCE_S3 || !src->bucket || !config)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "not an s3:// source");
	endpoint = pick_endpoint(config, &chosen_by);
	out->chosen_by = chosen_by;
	if (!endpoint) {
		if (!config->region || !region_valid(config->region))
			return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
					 "'%s' is not an AWS region name",
					 config->region ? config->region : "");
		/* AWS's China regions live under their own domain. */
		if (asprintf(&aws_default, "https://s3.%s.amazonaws.com%s", config->region,
			     strncmp(config->region, "cn-", 3) == 0 ? ".cn" : "") < 0)
			return error_plain(err, HEXZ_ERR_NO_MEMORY);
		endpoint = aws_default;
	}
	rc = parse_endpoint(endpoint, chosen_by, &https, &host, &port, err);
	free(aws_default);
	if (!rc)
		rc = choose_addressing(config, src->bucket, host, https, &out->virtual_hosted, err);
	if (rc)
		goto out;
	out->https = https;
	if (out->virtual_hosted)
		rc = asprintf(&out->host, port ? "%s.%s:%u" : "%s.%s", src->bucket, host, port);
	else
		rc = asprintf(&out->host, port ? "%s:%u" : "%s", host, port);
	if (rc < 0) {
		out->host = NULL;
		rc = error_plain(err, HEXZ_ERR_NO_MEMORY);
		goto out;
	}
	rc = HEXZ_OK;
	if (asprintf(&out->origin, "%s://%s", https ? "https" : "http", out->host) < 0)
		out->origin = NULL;
	if (out->virtual_hosted)
		out->bucket_path = strdup("");
	else if (asprintf(&out->bucket_path, "/%s", src->bucket) < 0)
		out->bucket_path = NULL;
	if (!out->origin || !out->bucket_path)
		rc = error_plain(err, HEXZ_ERR_NO_MEMORY);
out:
	free(host);
	if (rc) {
		s3_endpoint_free(out);
		out->chosen_by = chosen_by;
	}
	return rc;
}

char *
s3_endpoint_object_path(const struct s3_endpoint *ep, const char *key)
{
	char *path = NULL;

	if (asprintf(&path, "%s/%s", ep->bucket_path, key) < 0)
		return NULL;
	return path;
}
