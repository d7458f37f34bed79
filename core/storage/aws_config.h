/* SPDX-License-Identifier: MIT */
/*
 * The AWS configuration of an S3 source, private to libhexz: credentials,
 * region, endpoint inputs and CA bundle, resolved as the AWS CLI and SDKs
 * resolve them (REMOTE.md):
 *
 *   credentials  AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
 *                else the profile (AWS_PROFILE, else "default") in the shared
 *                credentials file (AWS_SHARED_CREDENTIALS_FILE, else
 *                ~/.aws/credentials), else in the config file (AWS_CONFIG_FILE,
 *                else ~/.aws/config; "[profile NAME]", "[default]");
 *                else none: requests go unsigned (public buckets).
 *   region       AWS_REGION, AWS_DEFAULT_REGION, the profile's region, us-east-1.
 *   endpoint     AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's services
 *                section (s3 = / endpoint_url = ...), the profile's endpoint_url;
 *                AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true ignores all of them.
 *                The choice itself is source_url.c's (s3_endpoint_resolve()).
 *   CA bundle    -o ca_file=, AWS_CA_BUNDLE, the profile's ca_bundle.
 *
 * A profile's keys are those of the credentials file updated with those of
 * the config file's section for it, the credentials file winning, as the
 * AWS CLI merges them; the access key pair (and its token) is taken whole
 * from one file, never half from each. Both files are parsed by libinih.
 *
 * The environment is an input (an envp array), so that a mount resolves
 * the environment it started with and tests choose theirs; nothing here
 * reads the process's environment except HOME's fallback, getpwuid_r().
 *
 * Secrets (secret key, session token, the text of the file they are read
 * from) live in a secret_buf: out of core dumps, wiped when released. No
 * message, error or description ever holds a secret or a token; a
 * description shows at most the last 4 characters of the access key id.
 *
 * A struct aws_config is immutable once loaded: any number of threads may
 * read it; aws_config_refresh() makes a new one rather than changing it.
 */
#ifndef HEXZ_CORE_STORAGE_AWS_CONFIG_H
#define HEXZ_CORE_STORAGE_AWS_CONFIG_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include <hexz/archive.h>

#include "secret_buf.h"
#include "source_url.h"

/* Where the credentials came from. */
enum aws_cred_source {
	/* None anywhere: requests are sent unsigned. */
	AWS_CRED_NONE,
	AWS_CRED_ENV,
	AWS_CRED_CREDENTIALS_FILE,
	AWS_CRED_CONFIG_FILE,
};

/* What tells that a file changed on disk (or appeared, or went away). */
struct aws_file_id {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
};

struct aws_config_input_copy;

/* At most this many notes (warnings for the log) come with a configuration. */
#define AWS_CONFIG_NOTES_MAX 4

struct aws_config_input {
	/* The environment, "NAME=value" strings ending with NULL; NULL for an empty one. */
	const char *const *envp;
	/* -o ca_file=, or NULL: wins over AWS_CA_BUNDLE and the profile's ca_bundle. */
	const char *ca_file;
};

struct aws_config {
	enum aws_cred_source cred_source;
	/* In `secrets`; all NULL for AWS_CRED_NONE; session_token NULL when there is none. */
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
	struct secret_buf secrets;

	/* The profile, and whether it was named (AWS_PROFILE) rather than "default". */
	char *profile;
	bool profile_explicit;
	/* The files looked at (whether or not they exist), and what they were then. */
	char *credentials_file;
	char *config_file;
	struct aws_file_id credentials_id;
	struct aws_file_id config_id;

	/* Never NULL; `region_from` names the setting ("AWS_REGION", ...). */
	char *region;
	const char *region_from;

	/* Endpoint inputs for s3_endpoint_resolve(), NULL when unset. */
	char *endpoint_s3_env;
	char *endpoint_env;
	char *profile_endpoint;
	/* "services section 'NAME'" or "endpoint_url" of the profile, for messages. */
	const char *profile_endpoint_from;

	/* A CA bundle file for TLS, or NULL (the system's). */
	char *ca_bundle;
	const char *ca_bundle_from;

	/* Warnings for the log (a credentials file others can read, ...). */
	char *notes[AWS_CONFIG_NOTES_MAX];
	size_t n_notes;

	/* What was resolved from the environment at load, for aws_config_refresh(). */
	struct aws_config_input_copy *input;
};

/*
 * The value of `name` in `envp` ("NAME=value" strings, NULL-terminated;
 * may be NULL), or NULL when it is not there. An empty value is returned
 * as "" (callers treat it as unset, as the AWS CLI does).
 */
const char *aws_env_get(const char *const *envp, const char *name);

/*
 * Resolve the configuration of `in` into a new *out (release with
 * aws_config_free()). Returns 0, or with the reason in `err`:
 *   HEXZ_ERR_INVALID_ARGUMENT  half a key pair (in the environment or a
 *       file), an empty key, a malformed file ("FILE:LINE: ..."), a line
 *       longer than the parser takes, a NUL byte in a file, a profile named
 *       explicitly that neither file has ("profile 'x' not found in ..."),
 *       a control character in a credential or AWS_PROFILE, a profile name
 *       longer than 40 bytes (inih's limit on section names);
 *   HEXZ_ERR_PERMISSION  a file that exists but cannot be read;
 *   HEXZ_ERR_NOT_REGULAR  a file that is not a regular file;
 *   HEXZ_ERR_LIMIT  a file larger than 1 MiB;
 *   HEXZ_ERR_IO, HEXZ_ERR_NO_MEMORY.
 * A missing file is not an error, nor is a missing "default" profile, nor
 * a missing home directory (the ~/.aws files are then not read: a note).
 */
int aws_config_load(const struct aws_config_input *in, struct aws_config **out,
		    struct hexz_error *err);

/* Wipe and release `c`; NULL is allowed. */
void aws_config_free(struct aws_config *c);

/*
 * For the credentials a server refused as expired: when one of the files
 * `cur` was resolved from changed on disk since (inode, size, times, or it
 * appeared or went away), resolve the configuration again from the same
 * environment into a new *fresh; else set *fresh to NULL. Credentials from
 * the environment never change (*fresh is NULL). Returns 0, or an error of
 * aws_config_load() (then *fresh is NULL and `cur` still holds).
 */
int aws_config_refresh(const struct aws_config *cur, struct aws_config **fresh,
		       struct hexz_error *err);

/*
 * Fill `out` for s3_endpoint_resolve() from `c`, the mount's -o endpoint=
 * (or NULL) and -o s3_addressing=. `out` points into `c` and `option_endpoint`.
 */
void aws_config_endpoint_config(const struct aws_config *c, const char *option_endpoint,
				enum s3_addressing addressing, struct s3_endpoint_config *out);

/*
 * One line for the log about `c`: where the credentials came from (with
 * the access key id's last 4 characters, never the secret or the token),
 * the profile, the region and the CA bundle, and why. malloc()ed, NULL
 * without memory.
 */
char *aws_config_describe(const struct aws_config *c);

#endif /* HEXZ_CORE_STORAGE_AWS_CONFIG_H */
