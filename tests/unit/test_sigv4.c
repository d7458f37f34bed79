/* SPDX-License-Identifier: MIT */
/*
 * AWS Signature Version 4 (core/storage/sigv4.c) against published answers:
 * - the four S3 examples of the AWS documentation ("Signature Calculations
 *   for the Authorization Header": GET object with a Range, PUT object,
 *   GET bucket lifecycle, GET bucket (list objects));
 * - the cases of AWS's Signature Version 4 test suite (2015-08-30, service
 *   "service") that apply to S3: its path normalisation cases are left out,
 *   since S3 keys are not normalised ("a//b/../c" is one object's name);
 * - for what AWS publishes no example of (credentials with '+', '/', '=',
 *   query parameters with blanks, '~', '/', non-ASCII and empty values),
 *   answers from tests/unit/sigv4_reference.py, an independent signer in
 *   Python's standard library;
 * then the inputs the signer must refuse.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hexz/common.h>

#include "storage/sigv4.h"
#include "testutil.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* 2013-05-24T00:00:00Z, the S3 examples' time. */
#define T_S3_EXAMPLES 1369353600
/* 2015-08-30T12:36:00Z, the test suite's time. */
#define T_SUITE 1440938160

static const struct sigv4_credentials s3_example_cred = {
	.access_key_id = "AKIAIOSFODNN7EXAMPLE",
	.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};

/* The value of line `name` of `h` (after "name: "), or NULL. */
static const char *
header_value(const struct sigv4_headers *h, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < h->count; i++)
		if (strncmp(h->lines[i], name, n) == 0 && strncmp(h->lines[i] + n, ": ", 2) == 0)
			return h->lines[i] + n + 2;
	return NULL;
}

/* Sign `req`, check the Authorization header equals `authorization`, return the headers. */
static void
check_authorization(const struct sigv4_request *req, const struct sigv4_credentials *cred,
		    const char *authorization, struct sigv4_headers *h)
{
	struct hexz_error err = { 0 };
	int rc = sigv4_sign(req, cred, h, &err);

	ck_assert_msg(rc == HEXZ_OK, "sigv4_sign: %d %s", rc, err.message);
	ck_assert_ptr_nonnull(header_value(h, "authorization"));
	ck_assert_str_eq(header_value(h, "authorization"), authorization);
}

static void
check_canonical(const struct sigv4_request *req, const struct sigv4_credentials *cred,
		const char *expected)
{
	struct hexz_error err = { 0 };
	char *canonical = NULL;
	int rc = sigv4_canonical_request(req, cred, &canonical, &err);

	ck_assert_msg(rc == HEXZ_OK, "sigv4_canonical_request: %d %s", rc, err.message);
	ck_assert_str_eq(canonical, expected);
	free(canonical);
}

/* The S3 examples -------------------------------------------------------- */

START_TEST(test_s3_get_object)
{
	static const struct sigv4_header range = { "Range", "bytes=0-9" };
	const struct sigv4_request req = {
		.method = "GET",
		.host = "examplebucket.s3.amazonaws.com",
		.path = "/test.txt",
		.headers = &range,
		.header_count = 1,
		.content_sha256_header = true,
		.time = T_S3_EXAMPLES,
		.region = "us-east-1",
		.service = "s3",
	};
	struct sigv4_headers h;
	char *canonical = NULL;
	char hash[SIGV4_HASH_HEX_SIZE];

	/* The canonical request and its hash, as the example prints them. */
	check_canonical(&req, &s3_example_cred,
			"GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
			"x-amz-content-sha256:" SIGV4_EMPTY_PAYLOAD "\n"
			"x-amz-date:20130524T000000Z\n\n"
			"host;range;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_PAYLOAD);
	ck_assert_int_eq(sigv4_canonical_request(&req, &s3_example_cred, &canonical, NULL), 0);
	ck_assert_int_eq(sigv4_payload_hash(canonical, strlen(canonical), hash), 0);
	ck_assert_str_eq(hash, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
	free(canonical);

	check_authorization(&req, &s3_example_cred,
			    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
			    "s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;"
			    "x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba"
			    "48dd91039c6036bdb41",
			    &h);
	/* The headers to add, in their documented order. */
	ck_assert_uint_eq(h.count, 3);
	ck_assert_str_eq(h.lines[0], "x-amz-date: 20130524T000000Z");
	ck_assert_str_eq(h.lines[1], "x-amz-content-sha256: " SIGV4_EMPTY_PAYLOAD);
	ck_assert_str_eq(h.signature,
			 "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	sigv4_headers_free(&h);
	ck_assert_uint_eq(h.count, 0);
}
END_TEST

START_TEST(test_s3_put_object)
{
	static const char body[] = "Welcome to Amazon S3.";
	static const struct sigv4_header headers[] = {
		{ "Date", "Fri, 24 May 2013 00:00:00 GMT" },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
	};
	char hash[SIGV4_HASH_HEX_SIZE];
	struct sigv4_request req = {
		.method = "PUT",
		.host = "examplebucket.s3.amazonaws.com",
		.path = "/test$file.text",
		.headers = headers,
		.header_count = ARRAY_LEN(headers),
		.payload_hash = hash,
		.content_sha256_header = true,
		.time = T_S3_EXAMPLES,
		.region = "us-east-1",
		.service = "s3",
	};
	struct sigv4_headers h;

	ck_assert_int_eq(sigv4_payload_hash(body, strlen(body), hash), 0);
	ck_assert_str_eq(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	check_canonical(&req, &s3_example_cred,
			"PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
			"host:examplebucket.s3.amazonaws.com\n"
			"x-amz-content-sha256:"
			"44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
			"x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
			"date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
			"44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	check_authorization(&req, &s3_example_cred,
			    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
			    "s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256;"
			    "x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f"
			    "14c238d841ea1380cd77a1b5971af0ece108bd",
			    &h);
	sigv4_headers_free(&h);
}
END_TEST

START_TEST(test_s3_get_lifecycle)
{
	static const struct sigv4_param lifecycle = { "lifecycle", "" };
	const struct sigv4_request req = {
		.method = "GET",
		.host = "examplebucket.s3.amazonaws.com",
		.path = "/",
		.query = &lifecycle,
		.query_count = 1,
		.content_sha256_header = true,
		.time = T_S3_EXAMPLES,
		.region = "us-east-1",
		.service = "s3",
	};
	struct sigv4_headers h;

	check_canonical(&req, &s3_example_cred,
			"GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\n"
			"x-amz-content-sha256:" SIGV4_EMPTY_PAYLOAD "\n"
			"x-amz-date:20130524T000000Z\n\n"
			"host;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_PAYLOAD);
	check_authorization(&req, &s3_example_cred,
			    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
			    "s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
			    "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a01367"
			    "83543",
			    &h);
	sigv4_headers_free(&h);
}
END_TEST

START_TEST(test_s3_list_objects)
{
	/* Given out of order: the canonical query sorts them. */
	static const struct sigv4_param query[] = { { "prefix", "J" }, { "max-keys", "2" } };
	const struct sigv4_request req = {
		.method = "GET",
		.host = "examplebucket.s3.amazonaws.com",
		.path = "",
		.query = query,
		.query_count = ARRAY_LEN(query),
		.content_sha256_header = true,
		.time = T_S3_EXAMPLES,
		.region = "us-east-1",
		.service = "s3",
	};
	struct sigv4_headers h;

	check_canonical(&req, &s3_example_cred,
			"GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\n"
			"x-amz-content-sha256:" SIGV4_EMPTY_PAYLOAD "\n"
			"x-amz-date:20130524T000000Z\n\n"
			"host;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_PAYLOAD);
	check_authorization(&req, &s3_example_cred,
			    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
			    "s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
			    "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69"
			    "dc6f7",
			    &h);
	sigv4_headers_free(&h);
}
END_TEST

/* The Signature Version 4 test suite ------------------------------------- */

#define SUITE_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SUITE_AUTH                                                                                 \
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
#define SUITE_STS_TOKEN                                                                            \
	"AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMic"     \
	"RXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKs"     \
	"burEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPk" \
	"UL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
/* sha256("Param1=value1"), the body of the form posts. */
#define SUITE_FORM_BODY "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"

struct suite_case {
	const char *name;
	const char *method;
	const char *path;
	struct sigv4_param query[3];
	size_t query_count;
	struct sigv4_header headers[4];
	size_t header_count;
	const char *payload_hash;
	const char *token;
	const char *canonical;
	const char *authorization;
};

/* One case per block, in the suite's order; clang-format would put each field on a line. */
/* clang-format off */
static const struct suite_case suite_cases[] = {
	{ "get-vanilla", "GET", "/", { { 0 } }, 0, { { 0 } }, 0, NULL, NULL,
	  "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" },
	{ "get-vanilla-empty-query-key", "GET", "/", { { "Param1", "value1" } }, 1, { { 0 } }, 0, NULL,
	  NULL,
	  "GET\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	  "host;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb" },
	{ "get-vanilla-query-order-key-case", "GET", "/",
	  { { "Param2", "value2" }, { "Param1", "value1" } }, 2, { { 0 } }, 0, NULL, NULL,
	  "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
	  "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },
	{ "get-vanilla-query-order-key", "GET", "/",
	  { { "Param1", "value2" }, { "Param1", "Value1" } }, 2, { { 0 } }, 0, NULL, NULL,
	  "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\n"
	  "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1" },
	{ "get-vanilla-query-order-value", "GET", "/",
	  { { "Param1", "value2" }, { "Param1", "value1" } }, 2, { { 0 } }, 0, NULL, NULL,
	  "GET\n/\nParam1=value1&Param1=value2\nhost:example.amazonaws.com\n"
	  "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694" },
	/* The suite's request line carries %E1%88%B4: the parameter, decoded, is U+1234. */
	{ "get-vanilla-query-order-encoded", "GET", "/",
	  { { "Param-3", "Value3" }, { "Param", "Value2" }, { "\xe1\x88\xb4", "Value1" } }, 3,
	  { { 0 } }, 0, NULL, NULL,
	  "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\nhost:example.amazonaws.com\n"
	  "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac" },
	{ "get-vanilla-query-unreserved", "GET", "/",
	  { { "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" } },
	  1, { { 0 } }, 0, NULL, NULL,
	  "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
	  "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n"
	  "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197" },
	{ "get-vanilla-utf8-query", "GET", "/", { { "\xe1\x88\xb4", "bar" } }, 1, { { 0 } }, 0, NULL,
	  NULL,
	  "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	  "host;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04" },
	{ "get-vanilla-with-session-token", "GET", "/", { { 0 } }, 0, { { 0 } }, 0, NULL,
	  "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
	  "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
	  "x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\n"
	  "host;x-amz-date;x-amz-security-token\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date;x-amz-security-token, "
		     "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8" },
	{ "get-unreserved", "GET",
	  "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", { { 0 } }, 0,
	  { { 0 } }, 0, NULL, NULL,
	  "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\n"
	  "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f" },
	{ "get-utf8", "GET", "/\xe1\x88\xb4", { { 0 } }, 0, { { 0 } }, 0, NULL, NULL,
	  "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	  "host;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85" },
	{ "get-space", "GET", "/example space/", { { 0 } }, 0, { { 0 } }, 0, NULL, NULL,
	  "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	  "host;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741" },
	{ "get-special-character", "GET", "/example/$delete", { { 0 } }, 0, { { 0 } }, 0, NULL,
	  NULL,
	  "GET\n/example/%24delete\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	  "host;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27" },
	{ "get-header-key-duplicate", "GET", "/", { { 0 } }, 0,
	  { { "My-Header1", "value2" }, { "My-Header1", "value2" }, { "My-Header1", "value1" } }, 3,
	  NULL, NULL,
	  "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
	  "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;my-header1;x-amz-date, "
		     "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea" },
	/* The suite folds the value over three lines; unfolded, each fold is a space. */
	{ "get-header-value-multiline", "GET", "/", { { 0 } }, 0,
	  { { "My-Header1", "value1   value2      value3" } }, 1, NULL, NULL,
	  "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1 value2 value3\n"
	  "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;my-header1;x-amz-date, "
		     "Signature=cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd" },
	{ "get-header-value-order", "GET", "/", { { 0 } }, 0,
	  { { "My-Header1", "value4" },
	    { "My-Header1", "value1" },
	    { "My-Header1", "value3" },
	    { "My-Header1", "value2" } },
	  4, NULL, NULL,
	  "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\n"
	  "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;my-header1;x-amz-date, "
		     "Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01" },
	{ "get-header-value-trim", "GET", "/", { { 0 } }, 0,
	  { { "My-Header1", " value1" }, { "My-Header2", " \"a   b   c\"" } }, 2, NULL, NULL,
	  "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
	  "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
		     "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736" },
	{ "post-vanilla", "POST", "/", { { 0 } }, 0, { { 0 } }, 0, NULL, NULL,
	  "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b" },
	{ "post-vanilla-query", "POST", "/", { { "Param1", "value1" } }, 1, { { 0 } }, 0, NULL, NULL,
	  "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	  "host;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date, "
		     "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11" },
	{ "post-header-key-sort", "POST", "/", { { 0 } }, 0, { { "My-Header1", "value1" } }, 1, NULL,
	  NULL,
	  "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\n"
	  "host;my-header1;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;my-header1;x-amz-date, "
		     "Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c" },
	{ "post-header-value-case", "POST", "/", { { 0 } }, 0, { { "My-Header1", "VALUE1" } }, 1,
	  NULL, NULL,
	  "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\n"
	  "host;my-header1;x-amz-date\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;my-header1;x-amz-date, "
		     "Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d" },
	{ "post-x-www-form-urlencoded", "POST", "/", { { 0 } }, 0,
	  { { "Content-Type", "application/x-www-form-urlencoded" } }, 1, SUITE_FORM_BODY, NULL,
	  "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
	  "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n" SUITE_FORM_BODY,
	  SUITE_AUTH "SignedHeaders=content-type;host;x-amz-date, "
		     "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a" },
	{ "post-x-www-form-urlencoded-parameters", "POST", "/", { { 0 } }, 0,
	  { { "Content-Type", "application/x-www-form-urlencoded; charset=utf8" } }, 1,
	  SUITE_FORM_BODY, NULL,
	  "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf8\n"
	  "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	  "content-type;host;x-amz-date\n" SUITE_FORM_BODY,
	  SUITE_AUTH "SignedHeaders=content-type;host;x-amz-date, "
		     "Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe" },
	{ "post-sts-header-before", "POST", "/", { { 0 } }, 0, { { 0 } }, 0, NULL, SUITE_STS_TOKEN,
	  "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
	  "x-amz-security-token:" SUITE_STS_TOKEN "\n\nhost;x-amz-date;x-amz-security-token\n" SUITE_EMPTY,
	  SUITE_AUTH "SignedHeaders=host;x-amz-date;x-amz-security-token, "
		     "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead" },
};
/* clang-format on */

START_TEST(test_suite_case)
{
	const struct suite_case *c = &suite_cases[_i];
	const struct sigv4_credentials cred = {
		.access_key_id = "AKIDEXAMPLE",
		.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		.session_token = c->token,
	};
	const struct sigv4_request req = {
		.method = c->method,
		.host = "example.amazonaws.com",
		.path = c->path,
		.query = c->query,
		.query_count = c->query_count,
		.headers = c->headers,
		.header_count = c->header_count,
		.payload_hash = c->payload_hash,
		.time = T_SUITE,
		.region = "us-east-1",
		.service = "service",
	};
	struct sigv4_headers h;

	check_canonical(&req, &cred, c->canonical);
	check_authorization(&req, &cred, c->authorization, &h);
	/* No x-amz-content-sha256 unless asked for; the token is sent when there is one. */
	ck_assert_ptr_null(header_value(&h, "x-amz-content-sha256"));
	if (c->token)
		ck_assert_str_eq(header_value(&h, "x-amz-security-token"), c->token);
	else
		ck_assert_ptr_null(header_value(&h, "x-amz-security-token"));
	sigv4_headers_free(&h);
}
END_TEST

/* Special characters (answers from sigv4_reference.py) -------------------- */

START_TEST(test_special_characters)
{
	static const struct sigv4_param query[] = {
		{ "list-type", "2" }, { "prefix", "a b/~\xc3\xbc" },
		{ "delimiter", "/" }, { "start-after", "" },
		{ "a key", "v w" },   { "A", "z" },
	};
	static const struct sigv4_header headers[] = {
		{ "Range", "bytes=0-1048575" },
		{ "If-Match", "\"0123abcd\"" },
	};
	const struct sigv4_credentials cred = {
		.access_key_id = "AK+EXAMPLE=",
		.secret_access_key = "wJalr+XUtn/FEMI=K7MDENG/bPxRfiCY+EXAMPLEKEY=",
	};
	const struct sigv4_request req = {
		.method = "GET",
		.host = "127.0.0.1:7480",
		.path = "/hexz-test/dir with space/\xc3\xbc~'!(x)+=.hxz",
		.query = query,
		.query_count = ARRAY_LEN(query),
		.headers = headers,
		.header_count = ARRAY_LEN(headers),
		.payload_hash = SIGV4_UNSIGNED_PAYLOAD,
		.content_sha256_header = true,
		.time = 1796407200, /* 2026-12-04T18:00:00Z */
		.region = "us-east-1",
		.service = "s3",
	};
	struct sigv4_headers h;

	check_canonical(&req, &cred,
			"GET\n/hexz-test/dir%20with%20space/%C3%BC~%27%21%28x%29%2B%3D.hxz\n"
			"A=z&a%20key=v%20w&delimiter=%2F&list-type=2&prefix=a%20b%2F~%C3%BC&"
			"start-after=\n"
			"host:127.0.0.1:7480\nif-match:\"0123abcd\"\nrange:bytes=0-1048575\n"
			"x-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:20261204T180000Z\n\n"
			"host;if-match;range;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD");
	check_authorization(&req, &cred,
			    "AWS4-HMAC-SHA256 Credential=AK+EXAMPLE=/20261204/us-east-1/s3/"
			    "aws4_request, SignedHeaders=host;if-match;range;x-amz-content-sha256;"
			    "x-amz-date, Signature=cfbed4683cb5b36b608d6442302b2eedbeb0cbba3a20bb6"
			    "2e9d79dd43aa588d8",
			    &h);
	ck_assert_str_eq(header_value(&h, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
	sigv4_headers_free(&h);
}
END_TEST

START_TEST(test_special_token)
{
	const struct sigv4_credentials cred = {
		.access_key_id = "ASIAEXAMPLE",
		.secret_access_key = "a/b+c=d",
		.session_token = "FwoG+Zm9v/YmFy==",
	};
	const struct sigv4_request req = {
		.method = "HEAD",
		.host = "bucket.s3.eu-west-3.amazonaws.com",
		.path = "/k",
		.content_sha256_header = true,
		.time = 1796407200,
		.region = "eu-west-3",
		.service = "s3",
	};
	struct sigv4_headers h;

	check_authorization(&req, &cred,
			    "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261204/eu-west-3/s3/"
			    "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
			    "x-amz-security-token, Signature=3ae58f620d677abe13dbb9f39245077ffaccb4"
			    "2ae880e430868b5e80f213bbfc",
			    &h);
	ck_assert_uint_eq(h.count, 4);
	ck_assert_str_eq(h.lines[0], "x-amz-date: 20261204T180000Z");
	ck_assert_str_eq(h.lines[1], "x-amz-content-sha256: " SIGV4_EMPTY_PAYLOAD);
	ck_assert_str_eq(h.lines[2], "x-amz-security-token: FwoG+Zm9v/YmFy==");
	ck_assert_int_eq(strncmp(h.lines[3], "authorization: AWS4-HMAC-SHA256 ", 32), 0);
	sigv4_headers_free(&h);
}
END_TEST

/* The encoders on their own. */
START_TEST(test_encoders)
{
	static const struct sigv4_param q[] = {
		{ "b", "" },	{ "a", "2" }, { "a", "10" },
		{ "B", "x y" }, { "~", "%" }, { "k", NULL },
	};
	char *s;

	s = sigv4_encode_path("");
	ck_assert_str_eq(s, "/");
	free(s);
	/* Once, and only once: an already encoded name is a name with '%' in it. */
	s = sigv4_encode_path("/a b/%41//./../\xc3\xbc?#&=+:@");
	ck_assert_str_eq(s, "/a%20b/%2541//./../%C3%BC%3F%23%26%3D%2B%3A%40");
	free(s);
	s = sigv4_encode_query(q, ARRAY_LEN(q));
	ck_assert_str_eq(s, "B=x%20y&a=10&a=2&b=&k=&~=%25");
	free(s);
	s = sigv4_encode_query(NULL, 0);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

/* Refusals --------------------------------------------------------------- */

/* Sign `req` with `cred`, expect HEXZ_ERR_INVALID_ARGUMENT and no secret in the message. */
static void
check_refused(const struct sigv4_request *req, const struct sigv4_credentials *cred,
	      const char *message_part)
{
	struct hexz_error err = { 0 };
	struct sigv4_headers h;
	char untouched[] = "untouched";
	char *canonical = untouched;

	ck_assert_int_eq(sigv4_sign(req, cred, &h, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(h.count, 0);
	ck_assert_msg(strstr(err.message, message_part), "message '%s' lacks '%s'", err.message,
		      message_part);
	ck_assert_ptr_null(strstr(err.message, "SECRET"));
	ck_assert_ptr_null(strstr(err.message, "TOKEN"));
	ck_assert_int_eq(sigv4_canonical_request(req, cred, &canonical, NULL),
			 HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(canonical);
	sigv4_headers_free(&h);
}

START_TEST(test_refusals)
{
	struct sigv4_header header = { "Range", "bytes=0-9" };
	struct sigv4_param param = { "", "v" };
	struct sigv4_credentials cred = {
		.access_key_id = "AKID",
		.secret_access_key = "SECRET/+=",
	};
	const struct sigv4_request good = {
		.method = "GET",
		.host = "h",
		.path = "/k",
		.time = T_SUITE,
		.region = "us-east-1",
		.service = "s3",
	};
	struct sigv4_request req = good;
	struct sigv4_headers h;

	/* The baseline is accepted. */
	ck_assert_int_eq(sigv4_sign(&req, &cred, &h, NULL), 0);
	sigv4_headers_free(&h);

	req.header_count = 1;
	req.headers = &header;
	header.value = "bytes=0-9\r\nX-Evil: 1";
	check_refused(&req, &cred, "control byte");
	header.value = "bytes=0-9\n";
	check_refused(&req, &cred, "control byte");
	header.value = "v";
	header.name = "Bad Name";
	check_refused(&req, &cred, "invalid name");
	header.name = "";
	check_refused(&req, &cred, "invalid name");
	header.name = "HOST";
	check_refused(&req, &cred, "set by the signer");
	header.name = "X-Amz-Date";
	check_refused(&req, &cred, "set by the signer");
	header.name = "Authorization";
	check_refused(&req, &cred, "set by the signer");
	req = good;

	req.query = &param;
	req.query_count = 1;
	check_refused(&req, &cred, "no name");
	req = good;

	req.payload_hash = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
	check_refused(&req, &cred, "payload hash");
	req.payload_hash = "e3b0";
	check_refused(&req, &cred, "payload hash");
	req = good;

	req.host = "";
	check_refused(&req, &cred, "host");
	req.host = "h\r\nX: y";
	check_refused(&req, &cred, "host");
	req = good;
	req.path = "k";
	check_refused(&req, &cred, "'/'");
	req = good;
	req.region = "us/east";
	check_refused(&req, &cred, "region");
	req = good;
	req.method = "GE T";
	check_refused(&req, &cred, "method");
	req = good;
	req.time = (time_t)-1;
	check_refused(&req, &cred, "time");
	req = good;

	cred.access_key_id = "AK/ID";
	check_refused(&req, &cred, "access key");
	cred.access_key_id = "AK,ID";
	check_refused(&req, &cred, "access key");
	cred.access_key_id = "";
	check_refused(&req, &cred, "access key");
	cred.access_key_id = "AKID";
	cred.secret_access_key = "SECRET\n";
	check_refused(&req, &cred, "secret");
	cred.secret_access_key = "";
	check_refused(&req, &cred, "secret");
	cred.secret_access_key = "SECRET";
	cred.session_token = "TOKEN\r\n";
	check_refused(&req, &cred, "session token");
	cred.session_token = "";
	check_refused(&req, &cred, "session token");
	cred.session_token = NULL;

	ck_assert_int_eq(sigv4_sign(NULL, &cred, &h, NULL), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(sigv4_sign(&req, NULL, &h, NULL), HEXZ_ERR_INVALID_ARGUMENT);
	sigv4_headers_free(NULL);
}
END_TEST

/* Two signatures of one request differ when the secret, time or region does. */
START_TEST(test_inputs_matter)
{
	const struct sigv4_credentials a = { "AKID", "secret+/=", NULL };
	const struct sigv4_credentials b = { "AKID", "secret+/-", NULL };
	struct sigv4_request req = {
		.method = "GET",
		.host = "h",
		.path = "/k",
		.time = T_SUITE,
		.region = "us-east-1",
		.service = "s3",
	};
	struct sigv4_headers h1, h2, h3, h4;

	ck_assert_int_eq(sigv4_sign(&req, &a, &h1, NULL), 0);
	ck_assert_int_eq(sigv4_sign(&req, &b, &h2, NULL), 0);
	req.time++;
	ck_assert_int_eq(sigv4_sign(&req, &a, &h3, NULL), 0);
	req.time--;
	req.region = "us-east-2";
	ck_assert_int_eq(sigv4_sign(&req, &a, &h4, NULL), 0);
	ck_assert_str_ne(h1.signature, h2.signature);
	ck_assert_str_ne(h1.signature, h3.signature);
	ck_assert_str_ne(h1.signature, h4.signature);
	sigv4_headers_free(&h1);
	sigv4_headers_free(&h2);
	sigv4_headers_free(&h3);
	sigv4_headers_free(&h4);
}
END_TEST

static Suite *
sigv4_suite(void)
{
	Suite *s = suite_create("sigv4");
	TCase *tc = tcase_create("s3_examples");

	tcase_add_test(tc, test_s3_get_object);
	tcase_add_test(tc, test_s3_put_object);
	tcase_add_test(tc, test_s3_get_lifecycle);
	tcase_add_test(tc, test_s3_list_objects);
	suite_add_tcase(s, tc);

	tc = tcase_create("test_suite");
	tcase_add_loop_test(tc, test_suite_case, 0, (int)ARRAY_LEN(suite_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("special");
	tcase_add_test(tc, test_special_characters);
	tcase_add_test(tc, test_special_token);
	tcase_add_test(tc, test_encoders);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_inputs_matter);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run_suite(sigv4_suite());
}
