/* SPDX-License-Identifier: MIT */
/*
 * Remote sources (core/storage/source_url.c): the forms REMOTE.md allows,
 * what is refused and with which reason, S3 bucket names, and the choice
 * of S3 endpoint and addressing.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hexz/common.h>

#include "storage/source_url.h"
#include "testutil.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parsing ---------------------------------------------------------------- */

struct accepted {
	const char *text;
	enum source_scheme scheme;
	bool is_dir;
	const char *url;
	/* http(s) */
	const char *host;
	unsigned int port;
	const char *path;
	/* s3 */
	const char *bucket;
	const char *key;
	/* NULL for a directory */
	const char *name;
};

static const struct accepted accepted[] = {
	{ "s3://hexz-test/snapshots/", SOURCE_S3, true, "s3://hexz-test/snapshots/", NULL, 0, NULL,
	  "hexz-test", "snapshots/", NULL },
	{ "s3://hexz-test/", SOURCE_S3, true, "s3://hexz-test/", NULL, 0, NULL, "hexz-test", "",
	  NULL },
	/* As the AWS CLI reads it: the bucket's root. */
	{ "s3://hexz-test", SOURCE_S3, true, "s3://hexz-test/", NULL, 0, NULL, "hexz-test", "",
	  NULL },
	/* A key is taken byte for byte: no percent-decoding, '?', '#', '@' are characters. */
	{ "s3://my.bucket-1/a b/\xc3\xbc/%41?#@/disk one.hxz", SOURCE_S3, false,
	  "s3://my.bucket-1/a b/\xc3\xbc/%41?#@/disk one.hxz", NULL, 0, NULL, "my.bucket-1",
	  "a b/\xc3\xbc/%41?#@/disk one.hxz", "disk one.hxz" },
	{ "s3://b12/x.hxz", SOURCE_S3, false, "s3://b12/x.hxz", NULL, 0, NULL, "b12", "x.hxz",
	  "x.hxz" },
	/* S3 keys are not normalised: "a//./" is a prefix of its own. */
	{ "s3://b12/a//./", SOURCE_S3, true, "s3://b12/a//./", NULL, 0, NULL, "b12", "a//./",
	  NULL },
	{ "http://127.0.0.1:8080/snaps/", SOURCE_HTTP, true, "http://127.0.0.1:8080/snaps/",
	  "127.0.0.1", 8080, "/snaps/", NULL, NULL, NULL },
	{ "https://example.com/a/b/disk%20one.hxz", SOURCE_HTTPS, false,
	  "https://example.com/a/b/disk%20one.hxz", "example.com", 0, "/a/b/disk%20one.hxz", NULL,
	  NULL, "disk one.hxz" },
	{ "https://example.com/a/%C3%BC.hxz", SOURCE_HTTPS, false,
	  "https://example.com/a/%C3%BC.hxz", "example.com", 0, "/a/%C3%BC.hxz", NULL, NULL,
	  "\xc3\xbc.hxz" },
	/* libcurl's normalisation: lowercase scheme, dot segments resolved. */
	{ "HTTP://example.com/a/../b/./c.hxz", SOURCE_HTTP, false, "http://example.com/b/c.hxz",
	  "example.com", 0, "/b/c.hxz", NULL, NULL, "c.hxz" },
	{ "http://[::1]:80/x/", SOURCE_HTTP, true, "http://[::1]:80/x/", "[::1]", 80, "/x/", NULL,
	  NULL, NULL },
	{ "http://example.com", SOURCE_HTTP, true, "http://example.com/", "example.com", 0, "/",
	  NULL, NULL, NULL },
	{ "https://h.example:443/", SOURCE_HTTPS, true, "https://h.example:443/", "h.example", 443,
	  "/", NULL, NULL, NULL },
};

static void
check_str(const char *what, const char *got, const char *want)
{
	if (!want) {
		ck_assert_msg(got == NULL, "%s: got '%s', want none", what, got);
		return;
	}
	ck_assert_msg(got != NULL, "%s: got none, want '%s'", what, want);
	ck_assert_msg(strcmp(got, want) == 0, "%s: got '%s', want '%s'", what, got, want);
}

START_TEST(test_accepted)
{
	const struct accepted *a = &accepted[_i];
	struct hexz_error err = { 0 };
	struct source_url u;
	int rc;

	ck_assert(source_url_is_remote(a->text));
	rc = source_url_parse(a->text, &u, &err);
	ck_assert_msg(rc == HEXZ_OK, "%s: %d %s", a->text, rc, err.message);
	ck_assert_int_eq(u.scheme, a->scheme);
	ck_assert_int_eq(u.is_dir, a->is_dir);
	check_str("url", u.url, a->url);
	check_str("host", u.host, a->host);
	ck_assert_uint_eq(u.port, a->port);
	check_str("path", u.path, a->path);
	check_str("bucket", u.bucket, a->bucket);
	check_str("key", u.key, a->key);
	check_str("name", u.name, a->name);
	source_url_free(&u);
	ck_assert_ptr_null(u.url);
}
END_TEST

struct refused {
	const char *text;
	/* A part of the reason. */
	const char *reason;
	/* What the reason must not repeat (a password), or NULL. */
	const char *secret;
};

static const struct refused refused[] = {
	{ "", "empty", NULL },
	{ "ftp://h/x/", "unsupported scheme", NULL },
	{ "file:///tmp/x/", "unsupported scheme", NULL },
	{ "S3://bucket/x/", "unsupported scheme", NULL },
	{ "/local/dir", "not a URL", NULL },
	{ "http://user:hunter2@h/x/", "user name or password", "hunter2" },
	{ "http://alice@h/x/", "user name or password", "alice" },
	{ "http://:hunter2@h/x/", "user name or password", "hunter2" },
	{ "https://u:hunter2@h/a b/", "user name or password", "hunter2" },
	{ "s3://key:hunter2@bucket/x/", "user name or password", "hunter2" },
	{ "http://h:0/x/", "port 0", NULL },
	{ "http://h:65536/x/", "invalid URL", NULL },
	{ "http://h:12ab/x/", "invalid URL", NULL },
	{ "http:///x/", "no host", NULL },
	{ "http://", "no host", NULL },
	{ "http://h/x/?a=b", "query", NULL },
	{ "http://h/x.hxz?X-Amz-Signature=1", "query", NULL },
	{ "http://h/x/#frag", "fragment", NULL },
	{ "http://h/x/#", "fragment", NULL },
	{ "http://h/a b/", "percent-encoded", NULL },
	{ "http://h/\xc3\xbc/", "percent-encoded", NULL },
	{ "http://h/x\n/", "control byte", NULL },
	{ "http://h/x\x7f/", "control byte", NULL },
	{ "http://h\\x/", "invalid URL", NULL },
	{ "http://h/file.txt", "neither a directory", NULL },
	{ "http://h/dir", "neither a directory", NULL },
	{ "http://h/.hxz", "neither a directory", NULL },
	{ "http://h/a%2Fb.hxz", "encoded '/'", NULL },
	{ "http://h/a%2fb.hxz", "encoded '/'", NULL },
	{ "http://h/a%00.hxz", "encoded '/' or NUL", NULL },
	{ "http://h/a%0a.hxz", "control byte", NULL },
	{ "s3://", "no bucket name", NULL },
	{ "s3:///key/", "no bucket name", NULL },
	{ "s3://ab/x/", "not a valid S3 bucket name", NULL },
	{ "s3://Bucket/x/", "not a valid S3 bucket name", NULL },
	{ "s3://192.168.5.4/x/", "not a valid S3 bucket name", NULL },
	{ "s3://bucket?x=1", "not a valid S3 bucket name", NULL },
	{ "s3://bucket/key", "neither a prefix", NULL },
	{ "s3://bucket/dir/.hxz", "neither a prefix", NULL },
	{ "s3://bucket/\xff.hxz", "not valid UTF-8", NULL },
	{ "s3://bucket/\xc0\xaf.hxz", "not valid UTF-8", NULL },
	{ "s3://bucket/a\tb/", "control byte", NULL },
};

START_TEST(test_refused)
{
	const struct refused *r = &refused[_i];
	struct hexz_error err = { 0 };
	struct source_url u;

	ck_assert_int_eq(source_url_parse(r->text, &u, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(err.code, HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.message, r->reason), "%s: reason '%s' lacks '%s'", r->text,
		      err.message, r->reason);
	if (r->secret)
		ck_assert_msg(!strstr(err.message, r->secret), "%s: reason '%s' repeats '%s'",
			      r->text, err.message, r->secret);
	source_url_free(&u);
	source_url_free(NULL);
}
END_TEST

START_TEST(test_long_keys)
{
	struct hexz_error err = { 0 };
	struct source_url u;
	char text[1200];
	const size_t prefix_len = strlen("s3://bucket/");

	/* A key of 1024 bytes (S3's limit) is accepted, 1025 are not. */
	memset(text, 'k', sizeof(text));
	memcpy(text, "s3://bucket/", prefix_len);
	text[prefix_len + 1023] = '/';
	text[prefix_len + 1024] = '\0';
	ck_assert_int_eq(source_url_parse(text, &u, &err), 0);
	ck_assert_uint_eq(strlen(u.key), 1024);
	source_url_free(&u);
	text[prefix_len + 1023] = 'k';
	text[prefix_len + 1024] = '/';
	text[prefix_len + 1025] = '\0';
	ck_assert_int_eq(source_url_parse(text, &u, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(err.message, "longer than"));
	source_url_free(&u);
	ck_assert_int_eq(source_url_parse(NULL, &u, &err), HEXZ_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_is_remote)
{
	ck_assert(source_url_is_remote("s3://b/"));
	ck_assert(source_url_is_remote("HTTPS://h/"));
	ck_assert(source_url_is_remote("git+ssh://h/"));
	ck_assert(!source_url_is_remote("/srv/snapshots"));
	ck_assert(!source_url_is_remote("snapshots"));
	ck_assert(!source_url_is_remote("./s3://b/"));
	ck_assert(!source_url_is_remote("http:/h/x/"));
	ck_assert(!source_url_is_remote("1http://h/"));
	ck_assert(!source_url_is_remote(""));
	ck_assert(!source_url_is_remote(NULL));
}
END_TEST

START_TEST(test_bucket_names)
{
	static const char *const valid[] = {
		"abc",
		"hexz-test",
		"my.bucket.name",
		"a1-b2.c3",
		"123",
		"192.168.5",
		"xn--bucket-s3alias",
		"a23456789012345678901234567890123456789012345678901234567890123",
	};
	static const char *const invalid[] = {
		"ab",
		"Abc",
		"a_b",
		"-abc",
		"abc-",
		".abc",
		"abc.",
		"a..b",
		"a b",
		"192.168.5.4",
		"a234567890123456789012345678901234567890123456789012345678901234",
		"",
		"ab\xc3\xbc",
		"ab/c",
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(valid); i++)
		ck_assert_msg(s3_bucket_name_valid(valid[i]), "'%s' refused", valid[i]);
	for (i = 0; i < ARRAY_LEN(invalid); i++)
		ck_assert_msg(!s3_bucket_name_valid(invalid[i]), "'%s' accepted", invalid[i]);
	ck_assert(!s3_bucket_name_valid(NULL));
}
END_TEST

/* S3 endpoints ----------------------------------------------------------- */

struct endpoint_case {
	const char *source;
	struct s3_endpoint_config config;
	/* Expected: */
	bool https;
	bool virtual_hosted;
	const char *origin;
	const char *host;
	const char *bucket_path;
	const char *chosen_by;
};

#define AWS_DEFAULT "the AWS endpoint of the region"

static const struct endpoint_case endpoints[] = {
	/* AWS for the region, virtual-hosted. */
	{ "s3://hexz-test/x/",
	  { NULL, NULL, NULL, "us-east-1", S3_ADDRESSING_AUTO, NULL },
	  true,
	  true,
	  "https://hexz-test.s3.us-east-1.amazonaws.com",
	  "hexz-test.s3.us-east-1.amazonaws.com",
	  "",
	  AWS_DEFAULT },
	{ "s3://hexz-test/x/",
	  { NULL, NULL, NULL, "cn-north-1", S3_ADDRESSING_AUTO, NULL },
	  true,
	  true,
	  "https://hexz-test.s3.cn-north-1.amazonaws.com.cn",
	  "hexz-test.s3.cn-north-1.amazonaws.com.cn",
	  "",
	  AWS_DEFAULT },
	/* A dotted name would not match *.s3.amazonaws.com's certificate: path-style. */
	{ "s3://my.bucket/x/",
	  { NULL, NULL, NULL, "eu-west-3", S3_ADDRESSING_AUTO, NULL },
	  true,
	  false,
	  "https://s3.eu-west-3.amazonaws.com",
	  "s3.eu-west-3.amazonaws.com",
	  "/my.bucket",
	  AWS_DEFAULT },
	{ "s3://hexz-test/x/",
	  { NULL, NULL, NULL, "us-east-1", S3_ADDRESSING_PATH, NULL },
	  true,
	  false,
	  "https://s3.us-east-1.amazonaws.com",
	  "s3.us-east-1.amazonaws.com",
	  "/hexz-test",
	  AWS_DEFAULT },
	/* Over http a dotted name is a host name like another. */
	{ "s3://my.bucket/x/",
	  { "http://s3.example.test:8000", NULL, NULL, NULL, S3_ADDRESSING_AUTO, NULL },
	  false,
	  true,
	  "http://my.bucket.s3.example.test:8000",
	  "my.bucket.s3.example.test:8000",
	  "",
	  "-o endpoint=" },
	/* IP addresses and localhost: path-style. */
	{ "s3://hexz-test/",
	  { NULL, "http://127.0.0.1:7480", NULL, NULL, S3_ADDRESSING_AUTO, NULL },
	  false,
	  false,
	  "http://127.0.0.1:7480",
	  "127.0.0.1:7480",
	  "/hexz-test",
	  "AWS_ENDPOINT_URL_S3" },
	{ "s3://hexz-test/",
	  { NULL, NULL, "http://localhost:7480/", NULL, S3_ADDRESSING_AUTO, NULL },
	  false,
	  false,
	  "http://localhost:7480",
	  "localhost:7480",
	  "/hexz-test",
	  "AWS_ENDPOINT_URL" },
	{ "s3://hexz-test/",
	  { NULL, NULL, "https://[::1]:7443", NULL, S3_ADDRESSING_AUTO, NULL },
	  true,
	  false,
	  "https://[::1]:7443",
	  "[::1]:7443",
	  "/hexz-test",
	  "AWS_ENDPOINT_URL" },
	/* The AWS profile's endpoint_url, after the environment's. */
	{ "s3://hexz-test/",
	  { NULL, NULL, "https://c.example", NULL, S3_ADDRESSING_AUTO, "https://d.example" },
	  true,
	  true,
	  "https://hexz-test.c.example",
	  "hexz-test.c.example",
	  "",
	  "AWS_ENDPOINT_URL" },
	{ "s3://hexz-test/",
	  { NULL, NULL, NULL, NULL, S3_ADDRESSING_AUTO, "http://127.0.0.1:9000" },
	  false,
	  false,
	  "http://127.0.0.1:9000",
	  "127.0.0.1:9000",
	  "/hexz-test",
	  "endpoint_url of the AWS profile" },
	/* The order: -o endpoint= over AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL over the profile. */
	{ "s3://hexz-test/",
	  { "https://a.example", "https://b.example", "https://c.example", NULL,
	    S3_ADDRESSING_AUTO, "https://d.example" },
	  true,
	  true,
	  "https://hexz-test.a.example",
	  "hexz-test.a.example",
	  "",
	  "-o endpoint=" },
	{ "s3://hexz-test/",
	  { NULL, "https://b.example", "https://c.example", NULL, S3_ADDRESSING_PATH, NULL },
	  true,
	  false,
	  "https://b.example",
	  "b.example",
	  "/hexz-test",
	  "AWS_ENDPOINT_URL_S3" },
	/* An empty variable counts as unset. */
	{ "s3://hexz-test/",
	  { NULL, "", "https://c.example:9000", NULL, S3_ADDRESSING_AUTO, NULL },
	  true,
	  true,
	  "https://hexz-test.c.example:9000",
	  "hexz-test.c.example:9000",
	  "",
	  "AWS_ENDPOINT_URL" },
	{ "s3://hexz-test/x/",
	  { NULL, "", "", "us-west-2", S3_ADDRESSING_VIRTUAL, NULL },
	  true,
	  true,
	  "https://hexz-test.s3.us-west-2.amazonaws.com",
	  "hexz-test.s3.us-west-2.amazonaws.com",
	  "",
	  AWS_DEFAULT },
	/* libcurl's normalisation of the endpoint's host. */
	{ "s3://hexz-test/",
	  { "HTTP://127.1:7480", NULL, NULL, NULL, S3_ADDRESSING_AUTO, NULL },
	  false,
	  false,
	  "http://127.0.0.1:7480",
	  "127.0.0.1:7480",
	  "/hexz-test",
	  "-o endpoint=" },
};

START_TEST(test_endpoint)
{
	const struct endpoint_case *c = &endpoints[_i];
	struct hexz_error err = { 0 };
	struct source_url src;
	struct s3_endpoint ep;
	int rc;

	ck_assert_int_eq(source_url_parse(c->source, &src, NULL), 0);
	rc = s3_endpoint_resolve(&src, &c->config, &ep, &err);
	ck_assert_msg(rc == HEXZ_OK, "case %d: %d %s", _i, rc, err.message);
	ck_assert_int_eq(ep.https, c->https);
	ck_assert_int_eq(ep.virtual_hosted, c->virtual_hosted);
	check_str("origin", ep.origin, c->origin);
	check_str("host", ep.host, c->host);
	check_str("bucket_path", ep.bucket_path, c->bucket_path);
	check_str("chosen_by", ep.chosen_by, c->chosen_by);
	s3_endpoint_free(&ep);
	source_url_free(&src);
}
END_TEST

struct endpoint_refusal {
	const char *source;
	struct s3_endpoint_config config;
	const char *reason;
};

static const struct endpoint_refusal endpoint_refusals[] = {
	{ "s3://hexz-test/",
	  { NULL, "http://127.0.0.1:7480", NULL, NULL, S3_ADDRESSING_VIRTUAL, NULL },
	  "IP address or localhost" },
	{ "s3://hexz-test/",
	  { "http://localhost", NULL, NULL, NULL, S3_ADDRESSING_VIRTUAL, NULL },
	  "IP address or localhost" },
	{ "s3://my.bucket/",
	  { NULL, NULL, NULL, "us-east-1", S3_ADDRESSING_VIRTUAL, NULL },
	  "cannot be a host name under https" },
	{ "s3://hexz-test/",
	  { "ftp://h", NULL, NULL, NULL, S3_ADDRESSING_AUTO, NULL },
	  "S3 endpoint (-o endpoint=): not an http:// or https:// URL" },
	{ "s3://hexz-test/",
	  { "", NULL, NULL, NULL, S3_ADDRESSING_AUTO, NULL },
	  "S3 endpoint (-o endpoint=): not an http" },
	{ "s3://hexz-test/",
	  { "127.0.0.1:7480", NULL, NULL, NULL, S3_ADDRESSING_AUTO, NULL },
	  "not an http" },
	{ "s3://hexz-test/",
	  { NULL, "http://key:hunter2@h", NULL, NULL, S3_ADDRESSING_AUTO, NULL },
	  "S3 endpoint (AWS_ENDPOINT_URL_S3): a user name or password" },
	{ "s3://hexz-test/",
	  { NULL, NULL, "http://h/s3", NULL, S3_ADDRESSING_AUTO, NULL },
	  "S3 endpoint (AWS_ENDPOINT_URL): http://h/s3: an endpoint has no path" },
	{ "s3://hexz-test/", { "http://h/?x=1", NULL, NULL, NULL, S3_ADDRESSING_AUTO, NULL }, "query" },
	{ "s3://hexz-test/", { "http://h:0", NULL, NULL, NULL, S3_ADDRESSING_AUTO, NULL }, "port 0" },
	{ "s3://hexz-test/",
	  { "http://h:99999", NULL, NULL, NULL, S3_ADDRESSING_AUTO, NULL },
	  "invalid URL" },
	{ "s3://hexz-test/", { "http://h x", NULL, NULL, NULL, S3_ADDRESSING_AUTO, NULL }, "blank" },
	{ "s3://hexz-test/",
	  { NULL, NULL, NULL, "US-EAST-1", S3_ADDRESSING_AUTO, NULL },
	  "not an AWS region" },
	{ "s3://hexz-test/",
	  { NULL, NULL, NULL, "us-east-1.evil.example/", S3_ADDRESSING_AUTO, NULL },
	  "not an AWS region" },
	{ "s3://hexz-test/", { NULL, NULL, NULL, "", S3_ADDRESSING_AUTO, NULL }, "not an AWS region" },
	{ "s3://hexz-test/", { NULL, NULL, NULL, NULL, S3_ADDRESSING_AUTO, NULL }, "not an AWS region" },
	{ "http://h/x/", { NULL, NULL, NULL, "us-east-1", S3_ADDRESSING_AUTO, NULL }, "not an s3://" },
};

START_TEST(test_endpoint_refused)
{
	const struct endpoint_refusal *r = &endpoint_refusals[_i];
	struct hexz_error err = { 0 };
	struct source_url src;
	struct s3_endpoint ep;

	ck_assert_int_eq(source_url_parse(r->source, &src, NULL), 0);
	ck_assert_int_eq(s3_endpoint_resolve(&src, &r->config, &ep, &err),
			 HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_msg(strstr(err.message, r->reason), "case %d: reason '%s' lacks '%s'", _i,
		      err.message, r->reason);
	ck_assert_ptr_null(strstr(err.message, "hunter2"));
	ck_assert_ptr_null(ep.origin);
	s3_endpoint_free(&ep);
	s3_endpoint_free(NULL);
	source_url_free(&src);
}
END_TEST

START_TEST(test_object_path)
{
	struct s3_endpoint_config path_style = { "http://127.0.0.1:7480", NULL, NULL, NULL,
						 S3_ADDRESSING_AUTO, NULL };
	struct s3_endpoint_config virtual_style = { NULL, NULL, NULL, "us-east-1",
						    S3_ADDRESSING_AUTO, NULL };
	struct source_url src;
	struct s3_endpoint ep;
	char *p;

	ck_assert_int_eq(source_url_parse("s3://hexz-test/a b/x.hxz", &src, NULL), 0);
	ck_assert_int_eq(s3_endpoint_resolve(&src, &path_style, &ep, NULL), 0);
	p = s3_endpoint_object_path(&ep, src.key);
	ck_assert_str_eq(p, "/hexz-test/a b/x.hxz");
	free(p);
	s3_endpoint_free(&ep);
	ck_assert_int_eq(s3_endpoint_resolve(&src, &virtual_style, &ep, NULL), 0);
	p = s3_endpoint_object_path(&ep, src.key);
	ck_assert_str_eq(p, "/a b/x.hxz");
	free(p);
	s3_endpoint_free(&ep);
	source_url_free(&src);
}
END_TEST

START_TEST(test_addressing_parse)
{
	enum s3_addressing a = S3_ADDRESSING_PATH;

	ck_assert_int_eq(s3_addressing_parse("auto", &a), 0);
	ck_assert_int_eq(a, S3_ADDRESSING_AUTO);
	ck_assert_int_eq(s3_addressing_parse("path", &a), 0);
	ck_assert_int_eq(a, S3_ADDRESSING_PATH);
	ck_assert_int_eq(s3_addressing_parse("virtual", &a), 0);
	ck_assert_int_eq(a, S3_ADDRESSING_VIRTUAL);
	ck_assert_int_eq(s3_addressing_parse("Virtual", &a), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(s3_addressing_parse("", &a), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(s3_addressing_parse(NULL, &a), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(a, S3_ADDRESSING_VIRTUAL);
}
END_TEST

static Suite *
source_url_suite(void)
{
	Suite *s = suite_create("source_url");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_accepted, 0, (int)ARRAY_LEN(accepted));
	tcase_add_loop_test(tc, test_refused, 0, (int)ARRAY_LEN(refused));
	tcase_add_test(tc, test_long_keys);
	tcase_add_test(tc, test_is_remote);
	tcase_add_test(tc, test_bucket_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("endpoint");
	tcase_add_loop_test(tc, test_endpoint, 0, (int)ARRAY_LEN(endpoints));
	tcase_add_loop_test(tc, test_endpoint_refused, 0, (int)ARRAY_LEN(endpoint_refusals));
	tcase_add_test(tc, test_object_path);
	tcase_add_test(tc, test_addressing_parse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run_suite(source_url_suite());
}
