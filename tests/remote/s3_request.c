/* SPDX-License-Identifier: MIT */
/*
 * s3_request: send one S3 request signed by libhexz's own signer
 * (core/storage/sigv4.c), to set up and inspect the test S3 server
 * (tests/remote/ceph_rgw.sh) and to prove the signer against it.
 *
 * Usage: s3_request [-q NAME=VALUE]... [-H NAME:VALUE]... [-T FILE] [-i]
 *                   METHOD BUCKET [KEY]
 *
 * The endpoint, region and credentials come from the environment as for
 * libhexz (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_REGION,
 * AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, AWS_CA_BUNDLE; no credentials: an unsigned request),
 * so no secret is ever in argv. -q adds a query parameter, -H a header
 * (both signed), -T sends FILE as the body (its SHA-256 signed), -i prints
 * the response's headers before its body. The body goes to stdout; the
 * exit status is 0 for a 2xx answer, 1 otherwise (with the status and the
 * body on stderr), 2 for bad usage.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <hexz/common.h>

#include "storage/sigv4.h"
#include "storage/source_url.h"

#define MAX_ITEMS 32

struct options {
	struct sigv4_param query[MAX_ITEMS];
	size_t query_count;
	struct sigv4_header headers[MAX_ITEMS];
	size_t header_count;
	const char *body_file;
	int show_headers;
	const char *method;
	const char *bucket;
	const char *key;
};

static void
usage(void)
{
	fprintf(stderr, "usage: s3_request [-q NAME=VALUE]... [-H NAME:VALUE]... [-T FILE] [-i] "
			"METHOD BUCKET [KEY]\n");
	exit(2);
}

/* Split "NAME<sep>VALUE" in place. */
static void
split(char *arg, char sep, const char **name, const char **value)
{
	char *p = strchr(arg, sep);

	if (!p)
		usage();
	*p = '\0';
	*name = arg;
	*value = p + 1;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt(argc, argv, "q:H:T:i")) != -1) {
		switch (c) {
		case 'q':
			if (o->query_count == MAX_ITEMS)
				usage();
			split(optarg, '=', &o->query[o->query_count].name,
			      &o->query[o->query_count].value);
			o->query_count++;
			break;
		case 'H':
			if (o->header_count == MAX_ITEMS)
				usage();
			split(optarg, ':', &o->headers[o->header_count].name,
			      &o->headers[o->header_count].value);
			o->header_count++;
			break;
		case 'T':
			o->body_file = optarg;
			break;
		case 'i':
			o->show_headers = 1;
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 2 || argc - optind > 3)
		usage();
	o->method = argv[optind];
	o->bucket = argv[optind + 1];
	o->key = argc - optind == 3 ? argv[optind + 2] : NULL;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto fail;
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto fail;
	fclose(f);
	*len = (size_t)n;
	return buf;
fail:
	perror(path);
	free(buf);
	if (f)
		fclose(f);
	exit(1);
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Collect the response body, to print it once the status is known. */
struct body {
	char *data;
	size_t len;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	char *grown = realloc(b->data, b->len + size * n + 1);

	if (!grown)
		return 0;
	memcpy(grown + b->len, p, size * n);
	b->data = grown;
	b->len += size * n;
	b->data[b->len] = '\0';
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	if (*(int *)arg)
		fwrite(p, size, n, stdout);
	return size * n;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct hexz_error err = { 0 };
	struct source_url src;
	struct s3_endpoint ep;
	struct sigv4_headers signed_headers = { 0 };
	struct curl_slist *list = NULL;
	struct body response = { 0 };
	char hash[SIGV4_HASH_HEX_SIZE], *text = NULL, *path = NULL, *epath = NULL, *query = NULL;
	char *url = NULL, *body = NULL;
	size_t body_len = 0, i;
	long status = 0;
	CURL *curl;
	CURLcode crc;
	int rc = 1;

	parse_options(argc, argv, &o);
	if (asprintf(&text, "s3://%s/", o.bucket) < 0 || source_url_parse(text, &src, &err) != 0) {
		fprintf(stderr, "s3_request: %s\n", err.message);
		return 2;
	}
	const struct s3_endpoint_config config = {
		.env_endpoint_s3 = env("AWS_ENDPOINT_URL_S3"),
		.env_endpoint = env("AWS_ENDPOINT_URL"),
		.region = env("AWS_REGION")	      ? env("AWS_REGION")
			  : env("AWS_DEFAULT_REGION") ? env("AWS_DEFAULT_REGION")
						      : "us-east-1",
		.addressing = S3_ADDRESSING_AUTO,
	};
	if (s3_endpoint_resolve(&src, &config, &ep, &err) != 0) {
		fprintf(stderr, "s3_request: %s\n", err.message);
		return 2;
	}
	/* A bucket request is "/BUCKET" (or "/" virtual-hosted), an object's "/BUCKET/KEY". */
	if (o.key)
		path = s3_endpoint_object_path(&ep, o.key);
	else
		path = strdup(ep.bucket_path[0] ? ep.bucket_path : "/");
	epath = path ? sigv4_encode_path(path) : NULL;
	query = sigv4_encode_query(o.query, o.query_count);
	if (!epath || !query ||
	    asprintf(&url, "%s%s%s%s", ep.origin, epath, *query ? "?" : "", query) < 0) {
		fprintf(stderr, "s3_request: out of memory\n");
		return 1;
	}
	if (o.body_file) {
		body = read_file(o.body_file, &body_len);
		if (sigv4_payload_hash(body, body_len, hash) != 0)
			return 1;
	}
	if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
		const struct sigv4_credentials cred = {
			.access_key_id = env("AWS_ACCESS_KEY_ID"),
			.secret_access_key = env("AWS_SECRET_ACCESS_KEY"),
			.session_token = env("AWS_SESSION_TOKEN"),
		};
		const struct sigv4_request req = {
			.method = o.method,
			.host = ep.host,
			.path = path,
			.query = o.query,
			.query_count = o.query_count,
			.headers = o.headers,
			.header_count = o.header_count,
			.payload_hash = body ? hash : NULL,
			.content_sha256_header = true,
			.time = time(NULL),
			.region = config.region,
			.service = "s3",
		};
		if (sigv4_sign(&req, &cred, &signed_headers, &err) != 0) {
			fprintf(stderr, "s3_request: %s\n", err.message);
			return 2;
		}
	}

	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	for (i = 0; i < o.header_count; i++) {
		char *line = NULL;

		if (asprintf(&line, "%s: %s", o.headers[i].name, o.headers[i].value) < 0)
			return 1;
		list = curl_slist_append(list, line);
		free(line);
	}
	for (i = 0; i < signed_headers.count; i++)
		list = curl_slist_append(list, signed_headers.lines[i]);
	/* Nothing unsigned that a server might refuse or store. */
	list = curl_slist_append(list, "Expect:");
	list = curl_slist_append(list, "Content-Type:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, o.method);
	if (strcmp(o.method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	if (env("AWS_CA_BUNDLE"))
		curl_easy_setopt(curl, CURLOPT_CAINFO, env("AWS_CA_BUNDLE"));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &o.show_headers);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
	crc = curl_easy_perform(curl);
	if (crc != CURLE_OK) {
		fprintf(stderr, "s3_request: %s %s: %s\n", o.method, url, curl_easy_strerror(crc));
	} else {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300) {
			if (response.len)
				fwrite(response.data, 1, response.len, stdout);
			rc = 0;
		} else {
			fprintf(stderr, "s3_request: %s %s: HTTP %ld\n%s\n", o.method, url, status,
				response.data ? response.data : "");
		}
	}
	curl_easy_cleanup(curl);
	curl_slist_free_all(list);
	curl_global_cleanup();
	sigv4_headers_free(&signed_headers);
	s3_endpoint_free(&ep);
	source_url_free(&src);
	free(response.data);
	free(body);
	free(url);
	free(query);
	free(epath);
	free(path);
	free(text);
	return rc;
}
