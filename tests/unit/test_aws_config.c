/* SPDX-License-Identifier: MIT */
/*
 * The AWS configuration (core/storage/aws_config.c): every precedence rule
 * of aws_config.h, profiles in both files, malformed files refused with
 * their line, refresh after a change on disk, and secrets: wiped before
 * their memory is unmapped, in no message and no description.
 *
 * Each test gets a scratch HOME and an explicit environment; nothing of
 * the process's own environment is read.
 *
 * The suite is linked with --wrap=munmap: __wrap_munmap() below sees
 * every munmap() libhexz makes, and while a test watches, counts the
 * ones of memory that still held a non-zero byte.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hexz/common.h>

#include "storage/aws_config.h"
#include "storage/source_url.h"
#include "testutil.h"

/* The example key pair of the AWS documentation; the secret has '/' and '+' and '='. */
#define KEY_ID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY="
#define TOKEN "FwoGZXIvYXdzEJr//////////wEaDOTOKEN+with/slashes=="

/* munmap() seen from libhexz --------------------------------------------- */

int __real_munmap(void *addr, size_t len);
int __wrap_munmap(void *addr, size_t len);

static bool watching;
static unsigned int unmaps_seen, unmaps_dirty;

int
__wrap_munmap(void *addr, size_t len)
{
	if (watching) {
		unmaps_seen++;
		if (!tu_all_bytes(addr, len, 0))
			unmaps_dirty++;
	}
	return __real_munmap(addr, len);
}

/* Scratch HOME and environment ------------------------------------------- */

static char *home;
static char *env_store[32];
static const char *envp[33];
static size_t n_env;

static void
setup(void)
{
	home = tu_tmpdir_create();
	n_env = 0;
	envp[0] = NULL;
}

static void
teardown(void)
{
	for (size_t i = 0; i < n_env; i++)
		free(env_store[i]);
	n_env = 0;
	tu_tmpdir_remove(home);
	home = NULL;
}

/* Add NAME=value to the test's environment. */
static void
env_set(const char *name, const char *value)
{
	ck_assert_uint_lt(n_env, 32);
	ck_assert_int_ge(asprintf(&env_store[n_env], "%s=%s", name, value), 0);
	envp[n_env] = env_store[n_env];
	envp[++n_env] = NULL;
}

/* HOME is the scratch directory, with its .aws directory. */
static void
env_home(void)
{
	char *aws = tu_path(home, ".aws");

	mkdir(aws, 0700);
	free(aws);
	env_set("HOME", home);
}

/* Write `text` to HOME/`rel` with `mode`; the path, malloc()ed. */
static char *
write_file(const char *rel, const char *text, mode_t mode)
{
	char *path = tu_path(home, rel);

	tu_write_file(path, text, strlen(text));
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

static void
write_home(const char *rel, const char *text)
{
	free(write_file(rel, text, 0600));
}

static struct aws_config *
load_ok(void)
{
	struct aws_config_input in = { .envp = envp };
	struct hexz_error err = { 0 };
	struct aws_config *c = NULL;
	int rc = aws_config_load(&in, &c, &err);

	ck_assert_msg(rc == 0, "aws_config_load: %d %s", rc, err.message);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* No secret of this suite in `text`. */
static void
assert_no_secret(const char *text)
{
	ck_assert_ptr_null(strstr(text, SECRET));
	ck_assert_ptr_null(strstr(text, "wJalrXUtnFEMI"));
	ck_assert_ptr_null(strstr(text, "EXAMPLEKEY"));
	ck_assert_ptr_null(strstr(text, TOKEN));
	ck_assert_ptr_null(strstr(text, "FwoGZXIv"));
	ck_assert_ptr_null(strstr(text, KEY_ID));
}

/* Load, expecting `code`, and a message containing every `parts` (NULL-ended). */
static void
load_fails(int code, ...)
{
	struct aws_config_input in = { .envp = envp };
	struct hexz_error err = { 0 };
	struct aws_config *c = (struct aws_config *)1;
	const char *part;
	va_list ap;
	int rc = aws_config_load(&in, &c, &err);

	ck_assert_msg(rc == code, "aws_config_load: %d (wanted %d) %s", rc, code, err.message);
	ck_assert_ptr_null(c);
	assert_no_secret(err.message);
	va_start(ap, code);
	while ((part = va_arg(ap, const char *)))
		ck_assert_msg(strstr(err.message, part), "'%s' not in '%s'", part, err.message);
	va_end(ap);
}

static void
assert_creds(const struct aws_config *c, enum aws_cred_source src, const char *id,
	     const char *secret, const char *token)
{
	ck_assert_int_eq(c->cred_source, src);
	ck_assert_str_eq(c->access_key_id, id);
	ck_assert_str_eq(c->secret_access_key, secret);
	if (token)
		ck_assert_str_eq(c->session_token, token);
	else
		ck_assert_ptr_null(c->session_token);
}

/* Credentials ------------------------------------------------------------ */

START_TEST(test_env_credentials_win)
{
	struct aws_config *c;

	env_home();
	write_home(".aws/credentials", "[default]\naws_access_key_id = FILEKEY\n"
				       "aws_secret_access_key = filesecret\n");
	env_set("AWS_ACCESS_KEY_ID", KEY_ID);
	env_set("AWS_SECRET_ACCESS_KEY", SECRET);
	env_set("AWS_SESSION_TOKEN", TOKEN);
	c = load_ok();
	assert_creds(c, AWS_CRED_ENV, KEY_ID, SECRET, TOKEN);
	aws_config_free(c);
}
END_TEST

START_TEST(test_env_credentials_win_over_named_profile)
{
	struct aws_config *c;

	env_home();
	write_home(".aws/credentials", "[dev]\naws_access_key_id = FILEKEY\n"
				       "aws_secret_access_key = filesecret\nregion = eu-west-3\n");
	env_set("AWS_PROFILE", "dev");
	env_set("AWS_ACCESS_KEY_ID", KEY_ID);
	env_set("AWS_SECRET_ACCESS_KEY", SECRET);
	c = load_ok();
	assert_creds(c, AWS_CRED_ENV, KEY_ID, SECRET, NULL);
	/* The profile still gives what the environment does not. */
	ck_assert_str_eq(c->region, "eu-west-3");
	aws_config_free(c);
}
END_TEST

START_TEST(test_env_half_pair)
{
	env_home();
	env_set("AWS_ACCESS_KEY_ID", KEY_ID);
	load_fails(HEXZ_ERR_INVALID_ARGUMENT,
		   "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not", NULL);
	teardown();
	setup();
	env_home();
	env_set("AWS_SECRET_ACCESS_KEY", SECRET);
	load_fails(HEXZ_ERR_INVALID_ARGUMENT, "AWS_ACCESS_KEY_ID is not", NULL);
}
END_TEST

START_TEST(test_env_empty_is_unset)
{
	struct aws_config *c;

	env_home();
	env_set("AWS_ACCESS_KEY_ID", "");
	env_set("AWS_SECRET_ACCESS_KEY", "");
	env_set("AWS_PROFILE", "");
	env_set("AWS_REGION", "");
	c = load_ok();
	ck_assert_int_eq(c->cred_source, AWS_CRED_NONE);
	ck_assert_ptr_null(c->access_key_id);
	ck_assert(!c->profile_explicit);
	ck_assert_str_eq(c->region, "us-east-1");
	aws_config_free(c);
}
END_TEST

START_TEST(test_env_control_byte)
{
	env_home();
	env_set("AWS_ACCESS_KEY_ID", KEY_ID);
	env_set("AWS_SECRET_ACCESS_KEY", SECRET "\r\nX-Injected: 1");
	load_fails(HEXZ_ERR_INVALID_ARGUMENT, "AWS_SECRET_ACCESS_KEY holds a control character",
		   NULL);
}
END_TEST

START_TEST(test_credentials_file_default)
{
	struct aws_config *c;

	env_home();
	/* Comments of both kinds, blanks around '=', upper-case keys, CRLF line ends. */
	write_home(".aws/credentials", "# a comment\r\n; another\r\n\r\n[other]\r\n"
				       "aws_access_key_id=OTHER\r\naws_secret_access_key=o\r\n"
				       "[default]\r\n  AWS_Access_Key_ID   =   " KEY_ID "  \r\n"
				       "aws_secret_access_key\t=\t" SECRET "\r\n"
				       "aws_session_token = " TOKEN "\r\n");
	c = load_ok();
	assert_creds(c, AWS_CRED_CREDENTIALS_FILE, KEY_ID, SECRET, TOKEN);
	ck_assert(!c->profile_explicit);
	ck_assert_str_eq(c->profile, "default");
	ck_assert_uint_eq(c->n_notes, 0);
	aws_config_free(c);
}
END_TEST

START_TEST(test_named_profile)
{
	struct aws_config *c;

	env_home();
	write_home(".aws/credentials", "[default]\naws_access_key_id = DEFKEY\n"
				       "aws_secret_access_key = defsecret\n"
				       "[dev]\naws_access_key_id = " KEY_ID "\n"
				       "aws_secret_access_key = " SECRET "\n");
	write_home(".aws/config", "[default]\nregion = us-west-2\n"
				  "[profile   dev ]\nregion = ap-south-1\n");
	env_set("AWS_PROFILE", "dev");
	c = load_ok();
	assert_creds(c, AWS_CRED_CREDENTIALS_FILE, KEY_ID, SECRET, NULL);
	ck_assert(c->profile_explicit);
	ck_assert_str_eq(c->region, "ap-south-1");
	ck_assert_str_eq(c->region_from, "the profile's region");
	aws_config_free(c);
}
END_TEST

/* In the config file a profile other than default needs "profile "; in the credentials file it must
 * not have it. */
START_TEST(test_profile_prefix)
{
	struct aws_config *c;
	char *cred, *conf;

	env_home();
	cred = write_file(".aws/credentials",
			  "[profile dev]\naws_access_key_id = X1\n"
			  "aws_secret_access_key = s1\n",
			  0600);
	conf = write_file(".aws/config",
			  "[dev]\naws_access_key_id = X2\n"
			  "aws_secret_access_key = s2\n",
			  0600);
	env_set("AWS_PROFILE", "dev");
	load_fails(HEXZ_ERR_INVALID_ARGUMENT, "profile 'dev' not found in", cred, conf, NULL);

	/* "[profile dev]" in the config file is the profile. */
	write_home(".aws/config", "[profile dev]\naws_access_key_id = " KEY_ID "\n"
				  "aws_secret_access_key = " SECRET "\nregion = eu-north-1\n");
	c = load_ok();
	assert_creds(c, AWS_CRED_CONFIG_FILE, KEY_ID, SECRET, NULL);
	ck_assert_str_eq(c->region, "eu-north-1");
	aws_config_free(c);

	/* And "[profile default]" is the default profile too. */
	teardown();
	setup();
	env_home();
	write_home(".aws/config", "[profile default]\nregion = sa-east-1\n");
	c = load_ok();
	ck_assert_str_eq(c->region, "sa-east-1");
	aws_config_free(c);
	free(cred);
	free(conf);
}
END_TEST

START_TEST(test_default_profile_missing)
{
	struct aws_config *c;

	env_home();
	write_home(".aws/credentials", "[dev]\naws_access_key_id = X\naws_secret_access_key = y\n");
	write_home(".aws/config", "[profile dev]\nregion = eu-west-1\n");
	c = load_ok();
	ck_assert_int_eq(c->cred_source, AWS_CRED_NONE);
	ck_assert_ptr_null(c->secret_access_key);
	ck_assert_str_eq(c->region, "us-east-1");
	aws_config_free(c);

	/* No files at all: anonymous too. */
	teardown();
	setup();
	env_home();
	c = load_ok();
	ck_assert_int_eq(c->cred_source, AWS_CRED_NONE);
	ck_assert(!c->credentials_id.exists);
	aws_config_free(c);
}
END_TEST

START_TEST(test_explicit_profile_missing)
{
	env_home();
	write_home(".aws/credentials",
		   "[default]\naws_access_key_id = X\naws_secret_access_key = y\n");
	env_set("AWS_PROFILE", "prod");
	load_fails(HEXZ_ERR_INVALID_ARGUMENT, "profile 'prod' not found in", "/.aws/credentials",
		   "/.aws/config", NULL);
}
END_TEST

START_TEST(test_credentials_file_wins)
{
	struct aws_config *c;

	env_home();
	write_home(".aws/credentials", "[default]\naws_access_key_id = " KEY_ID "\n"
				       "aws_secret_access_key = " SECRET "\nregion = eu-west-2\n");
	write_home(".aws/config",
		   "[default]\naws_access_key_id = CONFKEY\n"
		   "aws_secret_access_key = confsecret\naws_session_token = conftoken\n"
		   "region = us-west-1\nca_bundle = /conf/ca.pem\n");
	c = load_ok();
	/* The pair and its token come whole from one file: no token from the config file. */
	assert_creds(c, AWS_CRED_CREDENTIALS_FILE, KEY_ID, SECRET, NULL);
	ck_assert_str_eq(c->region, "eu-west-2");
	/* What the credentials file does not say, the config file does. */
	ck_assert_str_eq(c->ca_bundle, "/conf/ca.pem");
	aws_config_free(c);
}
END_TEST

START_TEST(test_file_paths)
{
	struct aws_config *c;
	char *cred, *conf;

	env_home();
	write_home(".aws/credentials", "[default]\naws_access_key_id = HOMEKEY\n"
				       "aws_secret_access_key = homesecret\n");
	cred = write_file("elsewhere-cred",
			  "[default]\naws_access_key_id = " KEY_ID "\n"
			  "aws_secret_access_key = " SECRET "\n",
			  0600);
	conf = write_file("elsewhere-conf", "[default]\nregion = me-south-1\n", 0600);
	env_set("AWS_SHARED_CREDENTIALS_FILE", cred);
	env_set("AWS_CONFIG_FILE", conf);
	c = load_ok();
	assert_creds(c, AWS_CRED_CREDENTIALS_FILE, KEY_ID, SECRET, NULL);
	ck_assert_str_eq(c->credentials_file, cred);
	ck_assert_str_eq(c->config_file, conf);
	ck_assert_str_eq(c->region, "me-south-1");
	aws_config_free(c);
	free(cred);
	free(conf);

	/* "~/" in them is HOME. */
	teardown();
	setup();
	env_home();
	write_home("c2", "[default]\naws_access_key_id = " KEY_ID "\naws_secret_access_key = x\n");
	env_set("AWS_SHARED_CREDENTIALS_FILE", "~/c2");
	c = load_ok();
	ck_assert_str_eq(c->access_key_id, KEY_ID);
	aws_config_free(c);
}
END_TEST

/* Without HOME the password database's home is used. */
START_TEST(test_no_home_env)
{
	struct aws_config *c = load_ok();
	struct passwd *pw = getpwuid(getuid());
	char *want;

	if (pw && pw->pw_dir && *pw->pw_dir) {
		ck_assert_int_ge(asprintf(&want, "%s/.aws/credentials", pw->pw_dir), 0);
		ck_assert_str_eq(c->credentials_file, want);
		free(want);
		ck_assert_int_ge(asprintf(&want, "%s/.aws/config", pw->pw_dir), 0);
		ck_assert_str_eq(c->config_file, want);
		free(want);
	} else {
		ck_assert_ptr_null(c->credentials_file);
		ck_assert_uint_eq(c->n_notes, 1);
	}
	aws_config_free(c);
}
END_TEST

START_TEST(test_long_token)
{
	struct aws_config *c;
	char token[3001], *text;

	/* Session tokens run past inih's default 200-byte line. */
	for (size_t i = 0; i < sizeof(token) - 1; i++)
		token[i] = "ABCxyz019+/="[i % 12];
	token[sizeof(token) - 1] = '\0';
	env_home();
	ck_assert_int_ge(asprintf(&text,
				  "[default]\naws_access_key_id = " KEY_ID "\n"
				  "aws_secret_access_key = " SECRET "\naws_session_token = %s\n",
				  token),
			 0);
	write_home(".aws/credentials", text);
	c = load_ok();
	assert_creds(c, AWS_CRED_CREDENTIALS_FILE, KEY_ID, SECRET, token);
	aws_config_free(c);
	free(text);
}
END_TEST

START_TEST(test_permissions_note)
{
	struct aws_config *c;
	char *path;

	env_home();
	path = write_file(".aws/credentials",
			  "[default]\naws_access_key_id = " KEY_ID "\n"
			  "aws_secret_access_key = " SECRET "\n",
			  0644);
	c = load_ok();
	ck_assert_uint_eq(c->n_notes, 1);
	ck_assert_ptr_nonnull(strstr(c->notes[0], path));
	ck_assert_ptr_nonnull(strstr(c->notes[0], "readable by others"));
	assert_no_secret(c->notes[0]);
	aws_config_free(c);

	ck_assert_int_eq(chmod(path, 0640), 0);
	c = load_ok();
	ck_assert_uint_eq(c->n_notes, 1);
	ck_assert_ptr_nonnull(strstr(c->notes[0], "readable by its group"));
	aws_config_free(c);

	ck_assert_int_eq(chmod(path, 0600), 0);
	c = load_ok();
	ck_assert_uint_eq(c->n_notes, 0);
	aws_config_free(c);
	free(path);
}
END_TEST

/* Region, endpoint, CA bundle -------------------------------------------- */

START_TEST(test_region_precedence)
{
	struct aws_config *c;

	env_home();
	c = load_ok();
	ck_assert_str_eq(c->region, "us-east-1");
	aws_config_free(c);

	write_home(".aws/config", "[default]\nregion = eu-central-1\n");
	c = load_ok();
	ck_assert_str_eq(c->region, "eu-central-1");
	aws_config_free(c);

	env_set("AWS_DEFAULT_REGION", "ap-northeast-1");
	c = load_ok();
	ck_assert_str_eq(c->region, "ap-northeast-1");
	ck_assert_str_eq(c->region_from, "AWS_DEFAULT_REGION");
	aws_config_free(c);

	env_set("AWS_REGION", "ca-central-1");
	c = load_ok();
	ck_assert_str_eq(c->region, "ca-central-1");
	ck_assert_str_eq(c->region_from, "AWS_REGION");
	aws_config_free(c);
}
END_TEST

/* The endpoint a configuration leads to, through source_url.c. */
static void
assert_endpoint(const char *origin, const char *chosen_by)
{
	struct aws_config *c = load_ok();
	struct s3_endpoint_config ec;
	struct source_url src = { 0 };
	struct s3_endpoint ep = { 0 };
	struct hexz_error err = { 0 };

	ck_assert_int_eq(source_url_parse("s3://hexz-test/snaps/", &src, &err), 0);
	aws_config_endpoint_config(c, NULL, S3_ADDRESSING_PATH, &ec);
	ck_assert_msg(s3_endpoint_resolve(&src, &ec, &ep, &err) == 0, "%s", err.message);
	ck_assert_str_eq(ep.origin, origin);
	ck_assert_str_eq(ep.chosen_by, chosen_by);
	s3_endpoint_free(&ep);
	source_url_free(&src);
	aws_config_free(c);
}

START_TEST(test_endpoint_precedence)
{
	env_home();
	env_set("AWS_REGION", "eu-west-1");
	assert_endpoint("https://s3.eu-west-1.amazonaws.com", "the AWS endpoint of the region");

	write_home(".aws/config",
		   "[default]\nendpoint_url = http://127.0.0.1:7001\n"
		   "services = local\n"
		   "[services other]\ns3 =\n  endpoint_url = http://127.0.0.1:7009\n");
	assert_endpoint("http://127.0.0.1:7001", "endpoint_url of the AWS profile");

	/* The profile's services section wins over its endpoint_url. */
	write_home(".aws/config",
		   "[default]\nendpoint_url = http://127.0.0.1:7001\n"
		   "services = local\n"
		   "[services other]\ns3 =\n  endpoint_url = http://127.0.0.1:7009\n"
		   "[services local]\ndynamodb =\n  endpoint_url = http://127.0.0.1:7008\n"
		   "s3 =\n  addressing_style = path\n"
		   "  endpoint_url = http://127.0.0.1:7002\n");
	assert_endpoint("http://127.0.0.1:7002", "endpoint_url of the AWS profile");

	env_set("AWS_ENDPOINT_URL", "http://127.0.0.1:7003");
	assert_endpoint("http://127.0.0.1:7003", "AWS_ENDPOINT_URL");

	env_set("AWS_ENDPOINT_URL_S3", "https://localhost:7004");
	assert_endpoint("https://localhost:7004", "AWS_ENDPOINT_URL_S3");

	env_set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
	assert_endpoint("https://s3.eu-west-1.amazonaws.com", "the AWS endpoint of the region");
}
END_TEST

START_TEST(test_ca_bundle)
{
	struct aws_config_input in = { .envp = envp, .ca_file = "/opt/mount-ca.pem" };
	struct hexz_error err = { 0 };
	struct aws_config *c;

	env_home();
	c = load_ok();
	ck_assert_ptr_null(c->ca_bundle);
	aws_config_free(c);

	write_home(".aws/config", "[default]\nca_bundle = /etc/profile-ca.pem\n");
	c = load_ok();
	ck_assert_str_eq(c->ca_bundle, "/etc/profile-ca.pem");
	aws_config_free(c);

	env_set("AWS_CA_BUNDLE", "/etc/env-ca.pem");
	c = load_ok();
	ck_assert_str_eq(c->ca_bundle, "/etc/env-ca.pem");
	ck_assert_str_eq(c->ca_bundle_from, "AWS_CA_BUNDLE");
	aws_config_free(c);

	ck_assert_int_eq(aws_config_load(&in, &c, &err), 0);
	ck_assert_str_eq(c->ca_bundle, "/opt/mount-ca.pem");
	ck_assert_str_eq(c->ca_bundle_from, "-o ca_file=");
	aws_config_free(c);
}
END_TEST

/* Malformed files -------------------------------------------------------- */

struct malformed {
	const char *text;
	const char *where;
	const char *why;
};

static const struct malformed malformed[] = {
	{ "[default]\naws_access_key_id = X\n[broken\naws_secret_access_key = " SECRET "\n",
	  ":3:", "neither a [section]" },
	{ "[default]\r\naws_access_key_id = X\r\nno value here\r\n", ":3:", "neither a [section]" },
	{ "aws_access_key_id = X\n[default]\n", ":1:", "before any [section]" },
	{ "[default]\naws_access_key_id = " KEY_ID "\naws_access_key_id = X\n"
	  "aws_secret_access_key = " SECRET "\n",
	  ":3:", "aws_access_key_id given twice" },
	{ "[default]\naws_access_key_id =\naws_secret_access_key = " SECRET "\n",
	  ":2:", "aws_access_key_id is empty" },
	{ "[default]\naws_access_key_id = " KEY_ID "\n",
	  ":2:", "has aws_access_key_id but no aws_secret_access_key" },
	{ "[default]\n\n\naws_secret_access_key = " SECRET "\n",
	  ":4:", "has aws_secret_access_key but no aws_access_key_id" },
	{ "[default]\naws_access_key_id = " KEY_ID "\naws_secret_access_key = \x01" SECRET "\n",
	  ":3:", "holds a control character" },
	/* A bad line in a profile that is not used still makes the file bad. */
	{ "[other]\nnot a setting\n[default]\naws_access_key_id = " KEY_ID "\n",
	  ":2:", "neither a [section]" },
};

START_TEST(test_malformed)
{
	const struct malformed *m = &malformed[_i];
	char *path;

	env_home();
	path = write_file(".aws/credentials", m->text, 0600);
	load_fails(HEXZ_ERR_INVALID_ARGUMENT, path, m->where, m->why, NULL);
	free(path);
}
END_TEST

START_TEST(test_malformed_config)
{
	char *path;

	env_home();
	path = write_file(".aws/config",
			  "[default]\nregion = eu-west-1\n[services x]\ns3 =\n  no equals here\n",
			  0600);
	load_fails(HEXZ_ERR_INVALID_ARGUMENT, path, ":5:", "nested setting", NULL);
	free(path);
}
END_TEST

/* A line inih could only take in pieces is refused, not cut into settings. */
START_TEST(test_line_too_long)
{
	char *text, *path, *tail = malloc(20001);

	for (size_t i = 0; i < 20000; i++)
		tail[i] = i == 17000 ? '=' : 'A';
	tail[20000] = '\0';
	ck_assert_int_ge(asprintf(&text,
				  "[default]\naws_access_key_id = " KEY_ID "\n"
				  "aws_secret_access_key = " SECRET "\naws_session_token = %s\n",
				  tail),
			 0);
	env_home();
	path = write_file(".aws/credentials", text, 0600);
	load_fails(HEXZ_ERR_INVALID_ARGUMENT, path, ":4:", "line longer than", NULL);
	free(path);
	free(text);
	free(tail);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char text[] = "[default]\naws_access_key_id = X\0Y\n";
	char *path = tu_path(home, "cred");

	tu_write_file(path, text, sizeof(text) - 1);
	env_set("AWS_SHARED_CREDENTIALS_FILE", path);
	load_fails(HEXZ_ERR_INVALID_ARGUMENT, path, ":2:", "NUL byte", NULL);
	free(path);
}
END_TEST

START_TEST(test_not_regular)
{
	env_home();
	env_set("AWS_SHARED_CREDENTIALS_FILE", home);
	load_fails(HEXZ_ERR_NOT_REGULAR, "not a regular file", NULL);
}
END_TEST

START_TEST(test_too_large)
{
	char *path = tu_path(home, "big");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (1 << 20) + 1), 0);
	close(fd);
	env_set("AWS_CONFIG_FILE", path);
	load_fails(HEXZ_ERR_LIMIT, "larger than", NULL);
	free(path);
}
END_TEST

START_TEST(test_long_profile_name)
{
	env_home();
	env_set("AWS_PROFILE", "a-profile-name-longer-than-inih-can-keep-whole");
	load_fails(HEXZ_ERR_INVALID_ARGUMENT, "is longer than 40 bytes", NULL);
}
END_TEST

/* Refresh ---------------------------------------------------------------- */

START_TEST(test_refresh)
{
	struct hexz_error err = { 0 };
	struct aws_config *c, *fresh = (struct aws_config *)1;
	struct timespec ts[2];
	char *path;

	env_home();
	env_set("AWS_REGION", "eu-west-1");
	path = write_file(".aws/credentials",
			  "[default]\naws_access_key_id = OLDKEY0000000000\n"
			  "aws_secret_access_key = oldsecret\naws_session_token = oldtoken\n",
			  0600);
	c = load_ok();
	ck_assert_int_eq(aws_config_refresh(c, &fresh, &err), 0);
	ck_assert_ptr_null(fresh);

	/* Rewritten in place, same size: the times tell. */
	tu_write_file(path,
		      "[default]\naws_access_key_id = NEWKEY0000000000\n"
		      "aws_secret_access_key = newsecret\naws_session_token = newtoken\n",
		      strlen("[default]\naws_access_key_id = NEWKEY0000000000\n"
			     "aws_secret_access_key = newsecret\naws_session_token = newtoken\n"));
	ts[0].tv_sec = ts[1].tv_sec = c->credentials_id.mtime.tv_sec + 10;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	ck_assert_int_eq(aws_config_refresh(c, &fresh, &err), 0);
	ck_assert_ptr_nonnull(fresh);
	assert_creds(fresh, AWS_CRED_CREDENTIALS_FILE, "NEWKEY0000000000", "newsecret", "newtoken");
	ck_assert_str_eq(fresh->region, "eu-west-1");
	aws_config_free(c);
	c = fresh;

	/* Replaced by rename (another inode). */
	free(write_file("tmp",
			"[default]\naws_access_key_id = " KEY_ID "\n"
			"aws_secret_access_key = " SECRET "\n",
			0600));
	{
		char *tmp = tu_path(home, "tmp");

		ck_assert_int_eq(rename(tmp, path), 0);
		free(tmp);
	}
	ck_assert_int_eq(aws_config_refresh(c, &fresh, &err), 0);
	ck_assert_ptr_nonnull(fresh);
	assert_creds(fresh, AWS_CRED_CREDENTIALS_FILE, KEY_ID, SECRET, NULL);
	aws_config_free(c);
	c = fresh;

	/* A broken file: an error, and the configuration in hand still holds. */
	tu_write_file(path, "[default\n", 9);
	ck_assert_int_eq(aws_config_refresh(c, &fresh, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(fresh);
	ck_assert_str_eq(c->secret_access_key, SECRET);

	/* Gone: anonymous from then on. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(aws_config_refresh(c, &fresh, &err), 0);
	ck_assert_ptr_nonnull(fresh);
	ck_assert_int_eq(fresh->cred_source, AWS_CRED_NONE);
	aws_config_free(c);
	c = fresh;

	/* And back. */
	free(write_file(".aws/credentials",
			"[default]\naws_access_key_id = " KEY_ID "\naws_secret_access_key = s\n",
			0600));
	ck_assert_int_eq(aws_config_refresh(c, &fresh, &err), 0);
	ck_assert_ptr_nonnull(fresh);
	ck_assert_int_eq(fresh->cred_source, AWS_CRED_CREDENTIALS_FILE);
	aws_config_free(c);
	aws_config_free(fresh);
	free(path);
}
END_TEST

START_TEST(test_refresh_env_credentials)
{
	struct hexz_error err = { 0 };
	struct aws_config *c, *fresh;

	env_home();
	env_set("AWS_ACCESS_KEY_ID", KEY_ID);
	env_set("AWS_SECRET_ACCESS_KEY", SECRET);
	c = load_ok();
	write_home(".aws/credentials",
		   "[default]\naws_access_key_id = X\naws_secret_access_key = y\n");
	ck_assert_int_eq(aws_config_refresh(c, &fresh, &err), 0);
	ck_assert_ptr_null(fresh);
	aws_config_free(c);
}
END_TEST

/* Secrets ---------------------------------------------------------------- */

START_TEST(test_secrets_wiped)
{
	struct aws_config *c;

	env_home();
	write_home(".aws/credentials", "[default]\naws_access_key_id = " KEY_ID "\n"
				       "aws_secret_access_key = " SECRET "\n"
				       "aws_session_token = " TOKEN "\n");
	write_home(".aws/config", "[default]\nregion = eu-west-1\n");
	watching = true;
	unmaps_seen = unmaps_dirty = 0;
	c = load_ok();
	/* The text of both files and the secrets parsed from each, released while loading. */
	ck_assert_uint_eq(unmaps_seen, 4);
	ck_assert_ptr_nonnull(c->secrets.base);
	aws_config_free(c);
	ck_assert_uint_eq(unmaps_seen, 5);
	ck_assert_uint_eq(unmaps_dirty, 0);

	/* Credentials from the environment: their copy is wiped as well. */
	env_set("AWS_ACCESS_KEY_ID", KEY_ID);
	env_set("AWS_SECRET_ACCESS_KEY", SECRET);
	unmaps_seen = 0;
	c = load_ok();
	aws_config_free(c);
	ck_assert_uint_eq(unmaps_seen, 5);
	ck_assert_uint_eq(unmaps_dirty, 0);
	watching = false;
}
END_TEST

/* The wrapper does see memory that was not wiped: the check above can fail. */
START_TEST(test_wrapper_sees_dirty)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	memset(p, 'x', 16);
	watching = true;
	unmaps_seen = unmaps_dirty = 0;
	ck_assert_int_eq(__wrap_munmap(p, 4096), 0);
	watching = false;
	ck_assert_uint_eq(unmaps_seen, 1);
	ck_assert_uint_eq(unmaps_dirty, 1);
}
END_TEST

START_TEST(test_describe)
{
	struct aws_config *c;
	char *d;

	env_home();
	write_home(".aws/credentials", "[default]\naws_access_key_id = " KEY_ID "\n"
				       "aws_secret_access_key = " SECRET "\n"
				       "aws_session_token = " TOKEN "\n");
	c = load_ok();
	d = aws_config_describe(c);
	ck_assert_ptr_nonnull(d);
	assert_no_secret(d);
	ck_assert_ptr_nonnull(strstr(d, "...MPLE"));
	ck_assert_ptr_nonnull(strstr(d, "with a session token"));
	ck_assert_ptr_nonnull(strstr(d, "region us-east-1"));
	free(d);
	aws_config_free(c);

	/* A short key id shows none of its characters. */
	write_home(".aws/credentials", "[default]\naws_access_key_id = SHORTID\n"
				       "aws_secret_access_key = " SECRET "\n");
	c = load_ok();
	d = aws_config_describe(c);
	ck_assert_ptr_null(strstr(d, "RTID"));
	free(d);
	aws_config_free(c);

	teardown();
	setup();
	env_home();
	c = load_ok();
	d = aws_config_describe(c);
	ck_assert_ptr_nonnull(strstr(d, "none (requests unsigned)"));
	free(d);
	aws_config_free(c);
}
END_TEST

static Suite *
aws_config_suite(void)
{
	Suite *s = suite_create("aws_config");
	TCase *tc = tcase_create("credentials");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_env_credentials_win);
	tcase_add_test(tc, test_env_credentials_win_over_named_profile);
	tcase_add_test(tc, test_env_half_pair);
	tcase_add_test(tc, test_env_empty_is_unset);
	tcase_add_test(tc, test_env_control_byte);
	tcase_add_test(tc, test_credentials_file_default);
	tcase_add_test(tc, test_named_profile);
	tcase_add_test(tc, test_profile_prefix);
	tcase_add_test(tc, test_default_profile_missing);
	tcase_add_test(tc, test_explicit_profile_missing);
	tcase_add_test(tc, test_credentials_file_wins);
	tcase_add_test(tc, test_file_paths);
	tcase_add_test(tc, test_no_home_env);
	tcase_add_test(tc, test_long_token);
	tcase_add_test(tc, test_permissions_note);
	suite_add_tcase(s, tc);

	tc = tcase_create("settings");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_region_precedence);
	tcase_add_test(tc, test_endpoint_precedence);
	tcase_add_test(tc, test_ca_bundle);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_malformed, 0, (int)(sizeof(malformed) / sizeof(malformed[0])));
	tcase_add_test(tc, test_malformed_config);
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_not_regular);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_long_profile_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("refresh");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_refresh);
	tcase_add_test(tc, test_refresh_env_credentials);
	suite_add_tcase(s, tc);

	tc = tcase_create("secrets");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_secrets_wiped);
	tcase_add_test(tc, test_wrapper_sees_dirty);
	tcase_add_test(tc, test_describe);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run_suite(aws_config_suite());
}
