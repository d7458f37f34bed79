/* SPDX-License-Identifier: MIT */
/*
 * The AWS configuration of an S3 source (see aws_config.h).
 *
 * A file is read whole into a secret_buf, checked (size, NUL bytes) and
 * fed to libinih line by line through our own reader, which counts lines
 * for messages and refuses a line longer than inih's buffer: inih would
 * otherwise cut it and parse the rest as a line of its own, so that the
 * tail of a long session token holding '=' would become a key. Only the
 * sections that matter (the profile's, a services section) are kept; the
 * whole file must parse.
 *
 * Debian's libinih takes its limits at run time (ini_max_line); the
 * default of 200 bytes is shorter than a session token, so it is raised
 * once, before the first parse. inih holds the current line in a stack
 * buffer of that size, wiped after each parse (scrub_stack()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include <hexz/common.h>

#include "aws_config.h"
#include "error_set.h"

/* A credentials or config file larger than this is refused. */
#define AWS_FILE_MAX (1u << 20)
/* The longest line (with its "\r\n" and NUL) inih is asked to take: tokens run to a few KiB. */
#define INI_LINE_MAX 16384
/* inih keeps a section's name in 50 bytes: a name this long may have been cut. */
#define INI_SECTION_CUT 49
#define DEFAULT_REGION "us-east-1"

/* The non-secret inputs taken from the environment at load, for a refresh. */
struct aws_config_input_copy {
	char *env_region;
	char *env_default_region;
	char *env_ca_bundle;
	char *ca_file;
	bool ignore_endpoints;
};

/* Credentials given in the environment; point into envp. */
struct env_keys {
	const char *id;
	const char *secret;
	const char *token;
};

/* A services section's s3 endpoint_url. */
struct service_endpoint {
	char *name;
	char *endpoint_url;
	unsigned int line;
};

/* What one file says about the profile. */
struct file_vals {
	const char *path;
	bool is_config;
	const char *profile;
	/* The profile's section was seen (with at least one key). */
	bool found;
	/* Secrets, in `sb`; lines for messages. */
	struct secret_buf sb;
	const char *id;
	const char *secret;
	const char *token;
	unsigned int id_line, secret_line, token_line;
	char *region;
	char *endpoint_url;
	char *ca_bundle;
	char *services;
	char *ignore_endpoints;
	struct service_endpoint *svc;
	size_t n_svc;
	struct aws_file_id fid;
	mode_t mode;
};

/* The state of one parse, for inih's reader and handler. */
struct parse {
	struct file_vals *v;
	const char *p;
	size_t left;
	unsigned int lineno;
	unsigned int too_long;
	bool indented;
	/* The section and key of the last handler call, to tell continuation lines. */
	char last_section[INI_SECTION_CUT + 1];
	char last_key[64];
	/* The services section a continuation line belongs to, or NULL. */
	struct service_endpoint *cur_svc;
	/* The first error: its code (0: none) and message. */
	int rc;
	struct hexz_error *err;
};

static pthread_once_t ini_once = PTHREAD_ONCE_INIT;

static void
ini_setup(void)
{
	ini_max_line = INI_LINE_MAX;
}

/*
 * Overwrite the stack below the caller's frame, where inih's line buffer
 * was: its last lines may hold a secret.
 */
static void __attribute__((noinline)) scrub_stack(void)
{
	char pad[INI_LINE_MAX + 1024];

	explicit_bzero(pad, sizeof(pad));
	__asm__ __volatile__("" : : "r"(pad) : "memory");
}

const char *
aws_env_get(const char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (!envp)
		return NULL;
	for (; *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* A variable's value, NULL when unset or empty. */
static const char *
env_nonempty(const char *const *envp, const char *name)
{
	const char *v = aws_env_get(envp, name);

	return v && *v ? v : NULL;
}

static char *
strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* A control byte in a credential would end up in a header or a signature. */
static bool
has_control_byte(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* The home directory: $HOME, else the password database's; NULL when neither. */
static char *
home_dir(const char *const *envp)
{
	const char *h = env_nonempty(envp, "HOME");
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (h)
		return strdup(h);
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) != 0 || !res || !res->pw_dir ||
	    !*res->pw_dir)
		return NULL;
	return strdup(res->pw_dir);
}

/*
 * The path of a file: `env_path` (with "~/" expanded) when set, else
 * HOME/`rel`. *out is NULL (with 0) when it needs a home there is none of.
 */
static int
file_path(const char *env_path, const char *home, const char *rel, char **out)
{
	int n;

	*out = NULL;
	if (env_path && strncmp(env_path, "~/", 2) != 0) {
		*out = strdup(env_path);
		return *out ? 0 : HEXZ_ERR_NO_MEMORY;
	}
	if (!home)
		return 0;
	if (env_path)
		n = asprintf(out, "%s/%s", home, env_path + 2);
	else
		n = asprintf(out, "%s/%s", home, rel);
	if (n < 0) {
		*out = NULL;
		return HEXZ_ERR_NO_MEMORY;
	}
	return 0;
}

static void
file_id_from_stat(struct aws_file_id *id, const struct stat *st)
{
	id->exists = true;
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
	id->ctime = st->st_ctim;
}

static bool
file_id_equal(const struct aws_file_id *a, const struct aws_file_id *b)
{
	if (a->exists != b->exists)
		return false;
	if (!a->exists)
		return true;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* What `path` is now, for a refresh; absent when it cannot be looked at. */
static void
file_id_of_path(const char *path, struct aws_file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (path && stat(path, &st) == 0)
		file_id_from_stat(id, &st);
}

/*
 * Read `v->path` whole into `sb` (*len bytes, NUL-terminated). A missing
 * file leaves `sb` zeroed and v->fid.exists false.
 */
static int
read_whole(struct file_vals *v, struct secret_buf *sb, size_t *len, struct hexz_error *err)
{
	struct stat st;
	size_t got = 0;
	int fd, rc = 0;

	*len = 0;
	memset(&v->fid, 0, sizeof(v->fid));
	if (!v->path)
		return 0;
	fd = open(v->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return error_set(err, errno == EACCES ? HEXZ_ERR_PERMISSION : HEXZ_ERR_IO,
				 "cannot open AWS file %s: %s", v->path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		rc = error_set(err, HEXZ_ERR_IO, "cannot stat AWS file %s: %s", v->path,
			       strerror(errno));
		goto out;
	}
	file_id_from_stat(&v->fid, &st);
	v->mode = st.st_mode;
	if (!S_ISREG(st.st_mode)) {
		rc = error_set(err, HEXZ_ERR_NOT_REGULAR, "AWS file %s is not a regular file",
			       v->path);
		goto out;
	}
	if (st.st_size > AWS_FILE_MAX) {
		rc = error_set(err, HEXZ_ERR_LIMIT, "AWS file %s is larger than %u bytes", v->path,
			       AWS_FILE_MAX);
		goto out;
	}
	/* One byte more than the limit tells a file that grew past it while read. */
	if (secret_buf_init(sb, AWS_FILE_MAX + 2) != 0) {
		rc = error_plain(err, HEXZ_ERR_NO_MEMORY);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, sb->base + got, AWS_FILE_MAX + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_set(err, HEXZ_ERR_IO, "cannot read AWS file %s: %s", v->path,
				       strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > AWS_FILE_MAX) {
			rc = error_set(err, HEXZ_ERR_LIMIT, "AWS file %s is larger than %u bytes",
				       v->path, AWS_FILE_MAX);
			goto out;
		}
	}
	*len = got;
out:
	close(fd);
	return rc;
}

/* inih's reader: the next line of the buffer, refusing one it cannot take whole. */
static char *
read_line(char *str, int num, void *stream)
{
	struct parse *ps = stream;
	const char *nl;
	size_t len;

	if (ps->left == 0 || ps->too_long || num < 2)
		return NULL;
	nl = memchr(ps->p, '\n', ps->left);
	len = nl ? (size_t)(nl - ps->p) + 1 : ps->left;
	if (len > (size_t)num - 1) {
		ps->too_long = ps->lineno + 1;
		return NULL;
	}
	memcpy(str, ps->p, len);
	str[len] = '\0';
	ps->p += len;
	ps->left -= len;
	ps->lineno++;
	ps->indented = str[0] == ' ' || str[0] == '\t';
	return str;
}

/* Record the first error of a parse; returns 0 for inih (an error at this line). */
static int parse_fail(struct parse *ps, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
parse_fail(struct parse *ps, int code, const char *fmt, ...)
{
	char msg[HEXZ_ERROR_MESSAGE_MAX];
	va_list ap;

	if (ps->rc)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps->rc = error_set(ps->err, code, "%s:%u: %s", ps->v->path, ps->lineno, msg);
	return 0;
}

/*
 * If `section` is "WORD NAME" (any blanks between, around), point *name
 * at NAME and return its length; else return 0.
 */
static size_t
section_word(const char *section, const char *word, const char **name)
{
	size_t wl = strlen(word), nl;
	const char *s = section + strspn(section, " \t");

	if (strncmp(s, word, wl) != 0 || (s[wl] != ' ' && s[wl] != '\t'))
		return 0;
	s += wl;
	s += strspn(s, " \t");
	nl = strlen(s);
	while (nl > 0 && (s[nl - 1] == ' ' || s[nl - 1] == '\t'))
		nl--;
	*name = s;
	return nl;
}

static bool
is_profile_section(const struct file_vals *v, const char *section)
{
	const char *name;
	size_t nl;

	if (!v->is_config)
		return strcmp(section, v->profile) == 0;
	if (strcmp(v->profile, "default") == 0 && strcmp(section, "default") == 0)
		return true;
	nl = section_word(section, "profile", &name);
	return nl == strlen(v->profile) && strncmp(name, v->profile, nl) == 0;
}

/* A services section of the config file: its entry, created on first sight. */
static struct service_endpoint *
service_of(struct parse *ps, const char *section)
{
	struct file_vals *v = ps->v;
	struct service_endpoint *grown;
	const char *name;
	size_t nl;

	if (!v->is_config)
		return NULL;
	nl = section_word(section, "services", &name);
	if (nl == 0)
		return NULL;
	for (size_t i = 0; i < v->n_svc; i++)
		if (strlen(v->svc[i].name) == nl && strncmp(v->svc[i].name, name, nl) == 0)
			return &v->svc[i];
	grown = realloc(v->svc, (v->n_svc + 1) * sizeof(*v->svc));
	if (!grown)
		return NULL;
	v->svc = grown;
	memset(&v->svc[v->n_svc], 0, sizeof(*v->svc));
	v->svc[v->n_svc].name = strndup(name, nl);
	if (!v->svc[v->n_svc].name)
		return NULL;
	return &v->svc[v->n_svc++];
}

/*
 * A continuation line of a services section's "s3 =": "endpoint_url =
 * URL" is kept, other settings of the nested block are not ours.
 */
static int
on_nested(struct parse *ps, const char *line)
{
	const char *eq = strchr(line, '=');
	size_t kl;
	const char *val;

	if (!eq)
		return parse_fail(ps, HEXZ_ERR_INVALID_ARGUMENT,
				  "a nested setting must read 'name = value'");
	kl = (size_t)(eq - line);
	while (kl > 0 && (line[kl - 1] == ' ' || line[kl - 1] == '\t'))
		kl--;
	if (kl != strlen("endpoint_url") || strncasecmp(line, "endpoint_url", kl) != 0)
		return 1;
	val = eq + 1 + strspn(eq + 1, " \t");
	if (ps->cur_svc->endpoint_url)
		return parse_fail(ps, HEXZ_ERR_INVALID_ARGUMENT, "endpoint_url given twice for s3");
	ps->cur_svc->endpoint_url = strdup(val);
	ps->cur_svc->line = ps->lineno;
	return ps->cur_svc->endpoint_url ? 1 : parse_fail(ps, HEXZ_ERR_NO_MEMORY, "out of memory");
}

/* A secret key of the profile, copied into the file's secret_buf. */
static int
set_secret(struct parse *ps, const char *key, const char *value, const char **slot,
	   unsigned int *line)
{
	if (*slot)
		return parse_fail(ps, HEXZ_ERR_INVALID_ARGUMENT, "%s given twice in the profile",
				  key);
	if (!*value)
		return parse_fail(ps, HEXZ_ERR_INVALID_ARGUMENT, "%s is empty", key);
	if (has_control_byte(value))
		return parse_fail(ps, HEXZ_ERR_INVALID_ARGUMENT, "%s holds a control character",
				  key);
	*slot = secret_buf_strndup(&ps->v->sb, value, strlen(value));
	*line = ps->lineno;
	return *slot ? 1 : parse_fail(ps, HEXZ_ERR_NO_MEMORY, "out of memory");
}

static int
set_plain(struct parse *ps, const char *key, const char *value, char **slot)
{
	if (*slot)
		return parse_fail(ps, HEXZ_ERR_INVALID_ARGUMENT, "%s given twice in the profile",
				  key);
	*slot = strdup(value);
	return *slot ? 1 : parse_fail(ps, HEXZ_ERR_NO_MEMORY, "out of memory");
}

/* A key of the profile's section; key names are case-insensitive, as in the AWS CLI. */
static int
on_profile_key(struct parse *ps, const char *name, const char *value)
{
	struct file_vals *v = ps->v;

	v->found = true;
	if (strcasecmp(name, "aws_access_key_id") == 0)
		return set_secret(ps, "aws_access_key_id", value, &v->id, &v->id_line);
	if (strcasecmp(name, "aws_secret_access_key") == 0)
		return set_secret(ps, "aws_secret_access_key", value, &v->secret, &v->secret_line);
	/* aws_security_token: the older name, which the AWS CLI still reads. */
	if (strcasecmp(name, "aws_session_token") == 0 ||
	    strcasecmp(name, "aws_security_token") == 0)
		return set_secret(ps, "aws_session_token", value, &v->token, &v->token_line);
	if (strcasecmp(name, "region") == 0)
		return set_plain(ps, "region", value, &v->region);
	if (strcasecmp(name, "endpoint_url") == 0)
		return set_plain(ps, "endpoint_url", value, &v->endpoint_url);
	if (strcasecmp(name, "ca_bundle") == 0)
		return set_plain(ps, "ca_bundle", value, &v->ca_bundle);
	if (strcasecmp(name, "services") == 0)
		return set_plain(ps, "services", value, &v->services);
	if (strcasecmp(name, "ignore_configured_endpoint_urls") == 0)
		return set_plain(ps, "ignore_configured_endpoint_urls", value,
				 &v->ignore_endpoints);
	return 1;
}

/* inih's handler: one "name = value" (or a continuation line of `name`). */
static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	struct file_vals *v = ps->v;
	bool continuation = ps->indented && strcmp(section, ps->last_section) == 0 &&
			    ps->last_key[0] && strcasecmp(name, ps->last_key) == 0;
	const char *wanted_name;
	size_t wl;

	if (!*section)
		return parse_fail(ps, HEXZ_ERR_INVALID_ARGUMENT, "a setting before any [section]");
	if (strlen(section) >= INI_SECTION_CUT) {
		/* inih cut the name: it must not be taken for the profile's. */
		wl = v->is_config ? section_word(section, "profile", &wanted_name) : 0;
		if (!v->is_config ? strncmp(v->profile, section, strlen(section)) == 0
				  : wl && strncmp(v->profile, wanted_name, wl) == 0)
			return parse_fail(ps, HEXZ_ERR_INVALID_ARGUMENT,
					  "section name longer than %d bytes", INI_SECTION_CUT - 1);
		return 1;
	}
	if (continuation) {
		if (ps->cur_svc && strcasecmp(name, "s3") == 0)
			return on_nested(ps, value);
		/* A nested block of another setting, or of another service: not ours. */
		return 1;
	}
	snprintf(ps->last_section, sizeof(ps->last_section), "%s", section);
	snprintf(ps->last_key, sizeof(ps->last_key), "%s", name);
	ps->cur_svc = NULL;
	if (is_profile_section(v, section))
		return on_profile_key(ps, name, value);
	if (v->is_config && strcasecmp(name, "s3") == 0 &&
	    section_word(section, "services", &wanted_name)) {
		ps->cur_svc = service_of(ps, section);
		if (!ps->cur_svc)
			return parse_fail(ps, HEXZ_ERR_NO_MEMORY, "out of memory");
	}
	return 1;
}

/* Parse the file of `v` (missing: nothing found), keeping what concerns the profile. */
static int
parse_file(struct file_vals *v, struct hexz_error *err)
{
	struct secret_buf text = { 0 };
	struct parse ps = { .v = v, .err = err };
	size_t len;
	const char *nul;
	int rc;

	rc = read_whole(v, &text, &len, err);
	if (rc != 0 || !v->fid.exists)
		goto out;
	nul = memchr(text.base, '\0', len);
	if (nul) {
		unsigned int line = 1;

		for (const unsigned char *c = text.base; c < (const unsigned char *)nul; c++)
			line += *c == '\n';
		rc = error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "%s:%u: a NUL byte: not a text file",
			       v->path, line);
		goto out;
	}
	/* Every secret of the file fits in as many bytes as the file, plus their NULs. */
	if (secret_buf_init(&v->sb, len + 8) != 0) {
		rc = error_plain(err, HEXZ_ERR_NO_MEMORY);
		goto out;
	}
	ps.p = (const char *)text.base;
	ps.left = len;
	pthread_once(&ini_once, ini_setup);
	rc = ini_parse_stream(read_line, &ps, on_key, &ps);
	scrub_stack();
	if (ps.rc) {
		rc = ps.rc;
	} else if (rc > 0) {
		rc = error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
			       "%s:%d: neither a [section] nor a 'name = value' line", v->path, rc);
	} else if (ps.too_long) {
		rc = error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "%s:%u: line longer than %d bytes",
			       v->path, ps.too_long, INI_LINE_MAX - 3);
	} else if (rc < 0) {
		rc = error_plain(err, HEXZ_ERR_NO_MEMORY);
	}
out:
	secret_buf_release(&text);
	return rc;
}

static void
file_vals_free(struct file_vals *v)
{
	secret_buf_release(&v->sb);
	free(v->region);
	free(v->endpoint_url);
	free(v->ca_bundle);
	free(v->services);
	free(v->ignore_endpoints);
	for (size_t i = 0; i < v->n_svc; i++) {
		free(v->svc[i].name);
		free(v->svc[i].endpoint_url);
	}
	free(v->svc);
	memset(v, 0, sizeof(*v));
}

static void
add_note(struct aws_config *c, char *note)
{
	if (note && c->n_notes < AWS_CONFIG_NOTES_MAX)
		c->notes[c->n_notes++] = note;
	else
		free(note);
}

/* Copy the chosen key pair (and token) into the configuration's own secret_buf. */
static int
keep_secrets(struct aws_config *c, const char *id, const char *secret, const char *token,
	     struct hexz_error *err)
{
	size_t need = strlen(id) + strlen(secret) + (token ? strlen(token) : 0) + 3;

	if (secret_buf_init(&c->secrets, need) != 0)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	c->access_key_id = secret_buf_strndup(&c->secrets, id, strlen(id));
	c->secret_access_key = secret_buf_strndup(&c->secrets, secret, strlen(secret));
	if (token)
		c->session_token = secret_buf_strndup(&c->secrets, token, strlen(token));
	return 0;
}

/* Half a key pair in a file is an error, as in the AWS CLI. */
static int
check_pair(const struct file_vals *v, const char *profile, struct hexz_error *err)
{
	if (v->id && !v->secret)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "%s:%u: profile '%s' has aws_access_key_id but no "
				 "aws_secret_access_key",
				 v->path, v->id_line, profile);
	if (v->secret && !v->id)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "%s:%u: profile '%s' has aws_secret_access_key but no "
				 "aws_access_key_id",
				 v->path, v->secret_line, profile);
	return 0;
}

static int
credentials_from_env(struct aws_config *c, const struct env_keys *env, struct hexz_error *err)
{
	static const char *const names[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
					     "AWS_SESSION_TOKEN" };
	const char *vals[] = { env->id, env->secret, env->token };

	if (!env->secret)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
	if (!env->id)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
	for (size_t i = 0; i < 3; i++)
		if (vals[i] && has_control_byte(vals[i]))
			return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
					 "%s holds a control character", names[i]);
	c->cred_source = AWS_CRED_ENV;
	return keep_secrets(c, env->id, env->secret, env->token, err);
}

/* A note when the file the keys came from can be read by others, as ssh warns for keys. */
static int
note_permissions(struct aws_config *c, const struct file_vals *v)
{
	char *note;

	if (!(v->mode & (S_IRGRP | S_IROTH)))
		return 0;
	if (asprintf(&note,
		     "%s holds AWS credentials and is readable by %s (mode %04o); "
		     "chmod 600 it",
		     v->path, (v->mode & S_IROTH) ? "others" : "its group",
		     (unsigned int)(v->mode & 07777)) < 0)
		return HEXZ_ERR_NO_MEMORY;
	add_note(c, note);
	return 0;
}

/* The first services section's s3 endpoint_url that the profile names, or NULL. */
static const struct service_endpoint *
service_endpoint(const struct file_vals *conf, const char *services)
{
	if (!services)
		return NULL;
	for (size_t i = 0; i < conf->n_svc; i++)
		if (strcmp(conf->svc[i].name, services) == 0 && conf->svc[i].endpoint_url)
			return &conf->svc[i];
	return NULL;
}

/* The value of a profile setting, the credentials file's winning over the config file's. */
#define MERGED(cred, conf, field) ((cred).field ? (cred).field : (conf).field)

static bool
is_true(const char *s)
{
	return s && strcasecmp(s, "true") == 0;
}

/* Region, endpoints and CA bundle, once the files are parsed. */
static int
resolve_settings(struct aws_config *c, const struct file_vals *cred, const struct file_vals *conf)
{
	const struct aws_config_input_copy *in = c->input;
	const char *region = NULL, *ca = NULL;
	const struct service_endpoint *svc;

	if (in->env_region) {
		region = in->env_region;
		c->region_from = "AWS_REGION";
	} else if (in->env_default_region) {
		region = in->env_default_region;
		c->region_from = "AWS_DEFAULT_REGION";
	} else if (MERGED(*cred, *conf, region)) {
		region = MERGED(*cred, *conf, region);
		c->region_from = "the profile's region";
	} else {
		region = DEFAULT_REGION;
		c->region_from = "the default";
	}
	c->region = strdup(region);
	if (!c->region)
		return HEXZ_ERR_NO_MEMORY;

	if (in->ignore_endpoints || is_true(MERGED(*cred, *conf, ignore_endpoints))) {
		free(c->endpoint_s3_env);
		free(c->endpoint_env);
		c->endpoint_s3_env = c->endpoint_env = NULL;
	} else {
		svc = service_endpoint(conf, MERGED(*cred, *conf, services));
		if (svc) {
			c->profile_endpoint = strdup(svc->endpoint_url);
			c->profile_endpoint_from = "the s3 endpoint_url of the profile's services";
		} else if (MERGED(*cred, *conf, endpoint_url)) {
			c->profile_endpoint = strdup(MERGED(*cred, *conf, endpoint_url));
			c->profile_endpoint_from = "the profile's endpoint_url";
		}
		if (c->profile_endpoint_from && !c->profile_endpoint)
			return HEXZ_ERR_NO_MEMORY;
	}

	if (in->ca_file) {
		ca = in->ca_file;
		c->ca_bundle_from = "-o ca_file=";
	} else if (in->env_ca_bundle) {
		ca = in->env_ca_bundle;
		c->ca_bundle_from = "AWS_CA_BUNDLE";
	} else if (MERGED(*cred, *conf, ca_bundle)) {
		ca = MERGED(*cred, *conf, ca_bundle);
		c->ca_bundle_from = "the profile's ca_bundle";
	}
	if (ca && !(c->ca_bundle = strdup(ca)))
		return HEXZ_ERR_NO_MEMORY;
	return 0;
}

/* Everything after the inputs: parse the files, choose the credentials and settings. */
static int
resolve(struct aws_config *c, const struct env_keys *env, struct hexz_error *err)
{
	struct file_vals cred = { .path = c->credentials_file, .profile = c->profile };
	struct file_vals conf = { .path = c->config_file,
				  .profile = c->profile,
				  .is_config = true };
	int rc;

	rc = parse_file(&cred, err);
	if (rc == 0)
		rc = parse_file(&conf, err);
	if (rc != 0)
		goto out;
	c->credentials_id = cred.fid;
	c->config_id = conf.fid;
	if (c->profile_explicit && !cred.found && !conf.found) {
		rc = error_set(err, HEXZ_ERR_INVALID_ARGUMENT, "profile '%s' not found in %s or %s",
			       c->profile, c->credentials_file ? c->credentials_file : "(no HOME)",
			       c->config_file ? c->config_file : "(no HOME)");
		goto out;
	}
	if (env->id || env->secret) {
		rc = credentials_from_env(c, env, err);
	} else if (cred.id || cred.secret) {
		rc = check_pair(&cred, c->profile, err);
		if (rc == 0) {
			c->cred_source = AWS_CRED_CREDENTIALS_FILE;
			rc = keep_secrets(c, cred.id, cred.secret, cred.token, err);
		}
		if (rc == 0 && note_permissions(c, &cred) != 0)
			rc = error_plain(err, HEXZ_ERR_NO_MEMORY);
	} else if (conf.id || conf.secret) {
		rc = check_pair(&conf, c->profile, err);
		if (rc == 0) {
			c->cred_source = AWS_CRED_CONFIG_FILE;
			rc = keep_secrets(c, conf.id, conf.secret, conf.token, err);
		}
		if (rc == 0 && note_permissions(c, &conf) != 0)
			rc = error_plain(err, HEXZ_ERR_NO_MEMORY);
	}
	if (rc != 0)
		goto out;
	if (resolve_settings(c, &cred, &conf) != 0)
		rc = error_plain(err, HEXZ_ERR_NO_MEMORY);
out:
	file_vals_free(&cred);
	file_vals_free(&conf);
	return rc;
}

static void
input_copy_free(struct aws_config_input_copy *in)
{
	if (!in)
		return;
	free(in->env_region);
	free(in->env_default_region);
	free(in->env_ca_bundle);
	free(in->ca_file);
	free(in);
}

/* Copy the non-secret inputs of `in` into `c`; the keys of the environment into `env`. */
static int
take_inputs(struct aws_config *c, const struct aws_config_input *in, struct env_keys *env,
	    struct hexz_error *err)
{
	const char *const *envp = in->envp;
	const char *profile = env_nonempty(envp, "AWS_PROFILE");
	struct aws_config_input_copy *ic;
	char *home, *note;
	int rc;

	env->id = env_nonempty(envp, "AWS_ACCESS_KEY_ID");
	env->secret = env_nonempty(envp, "AWS_SECRET_ACCESS_KEY");
	env->token = env_nonempty(envp, "AWS_SESSION_TOKEN");
	if (!env->token)
		env->token = env_nonempty(envp, "AWS_SECURITY_TOKEN");
	/* AWS_DEFAULT_PROFILE: the older name, which the AWS CLI still reads. */
	if (!profile)
		profile = env_nonempty(envp, "AWS_DEFAULT_PROFILE");
	c->profile_explicit = profile != NULL;
	c->profile = strdup(profile ? profile : "default");
	c->input = ic = calloc(1, sizeof(*ic));
	if (!c->profile || !ic)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	if (has_control_byte(c->profile))
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "AWS_PROFILE holds a control character");
	if (strlen(c->profile) + strlen("profile ") >= INI_SECTION_CUT)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "profile name '%s' is longer than %zu bytes", c->profile,
				 (size_t)INI_SECTION_CUT - 1 - strlen("profile "));
	ic->env_region = strdup_or_null(env_nonempty(envp, "AWS_REGION"));
	ic->env_default_region = strdup_or_null(env_nonempty(envp, "AWS_DEFAULT_REGION"));
	ic->env_ca_bundle = strdup_or_null(env_nonempty(envp, "AWS_CA_BUNDLE"));
	ic->ca_file = strdup_or_null(in->ca_file && *in->ca_file ? in->ca_file : NULL);
	ic->ignore_endpoints = is_true(aws_env_get(envp, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"));
	c->endpoint_s3_env = strdup_or_null(env_nonempty(envp, "AWS_ENDPOINT_URL_S3"));
	c->endpoint_env = strdup_or_null(env_nonempty(envp, "AWS_ENDPOINT_URL"));

	home = home_dir(envp);
	rc = file_path(env_nonempty(envp, "AWS_SHARED_CREDENTIALS_FILE"), home, ".aws/credentials",
		       &c->credentials_file);
	if (rc == 0)
		rc = file_path(env_nonempty(envp, "AWS_CONFIG_FILE"), home, ".aws/config",
			       &c->config_file);
	free(home);
	if (rc != 0)
		return error_plain(err, rc);
	if (!c->credentials_file || !c->config_file) {
		if (asprintf(&note, "no home directory: ~/.aws files are not read") < 0)
			return error_plain(err, HEXZ_ERR_NO_MEMORY);
		add_note(c, note);
	}
	return 0;
}

int
aws_config_load(const struct aws_config_input *in, struct aws_config **out, struct hexz_error *err)
{
	struct aws_config *c = calloc(1, sizeof(*c));
	struct env_keys env = { 0 };
	int rc;

	*out = NULL;
	if (!c)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	rc = take_inputs(c, in, &env, err);
	if (rc == 0)
		rc = resolve(c, &env, err);
	if (rc != 0) {
		aws_config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
aws_config_free(struct aws_config *c)
{
	if (!c)
		return;
	secret_buf_release(&c->secrets);
	free(c->profile);
	free(c->credentials_file);
	free(c->config_file);
	free(c->region);
	free(c->endpoint_s3_env);
	free(c->endpoint_env);
	free(c->profile_endpoint);
	free(c->ca_bundle);
	for (size_t i = 0; i < c->n_notes; i++)
		free(c->notes[i]);
	input_copy_free(c->input);
	free(c);
}

/* A new configuration with the inputs of `cur`, resolved again. */
static int
reload(const struct aws_config *cur, struct aws_config **out, struct hexz_error *err)
{
	const struct aws_config_input_copy *ci = cur->input;
	struct aws_config *c = calloc(1, sizeof(*c));
	struct env_keys none = { 0 };
	struct aws_config_input_copy *ic;
	int rc;

	*out = NULL;
	if (!c)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	c->profile = strdup(cur->profile);
	c->profile_explicit = cur->profile_explicit;
	c->credentials_file = strdup_or_null(cur->credentials_file);
	c->config_file = strdup_or_null(cur->config_file);
	c->endpoint_s3_env = strdup_or_null(cur->endpoint_s3_env);
	c->endpoint_env = strdup_or_null(cur->endpoint_env);
	c->input = ic = calloc(1, sizeof(*ic));
	if (ic) {
		ic->env_region = strdup_or_null(ci->env_region);
		ic->env_default_region = strdup_or_null(ci->env_default_region);
		ic->env_ca_bundle = strdup_or_null(ci->env_ca_bundle);
		ic->ca_file = strdup_or_null(ci->ca_file);
		ic->ignore_endpoints = ci->ignore_endpoints;
	}
	if (!c->profile || !ic || (cur->credentials_file && !c->credentials_file) ||
	    (cur->config_file && !c->config_file) ||
	    (cur->endpoint_s3_env && !c->endpoint_s3_env) ||
	    (cur->endpoint_env && !c->endpoint_env) || (ci->env_region && !ic->env_region) ||
	    (ci->env_default_region && !ic->env_default_region) ||
	    (ci->env_ca_bundle && !ic->env_ca_bundle) || (ci->ca_file && !ic->ca_file)) {
		rc = error_plain(err, HEXZ_ERR_NO_MEMORY);
		goto fail;
	}
	rc = resolve(c, &none, err);
	if (rc != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	aws_config_free(c);
	return rc;
}

int
aws_config_refresh(const struct aws_config *cur, struct aws_config **fresh, struct hexz_error *err)
{
	struct aws_file_id cred_now, conf_now;

	*fresh = NULL;
	if (cur->cred_source == AWS_CRED_ENV)
		return 0;
	file_id_of_path(cur->credentials_file, &cred_now);
	file_id_of_path(cur->config_file, &conf_now);
	if (file_id_equal(&cred_now, &cur->credentials_id) &&
	    file_id_equal(&conf_now, &cur->config_id))
		return 0;
	return reload(cur, fresh, err);
}

void
aws_config_endpoint_config(const struct aws_config *c, const char *option_endpoint,
			   enum s3_addressing addressing, struct s3_endpoint_config *out)
{
	memset(out, 0, sizeof(*out));
	out->option_endpoint = option_endpoint;
	out->env_endpoint_s3 = c->endpoint_s3_env;
	out->env_endpoint = c->endpoint_env;
	out->profile_endpoint = c->profile_endpoint;
	out->region = c->region;
	out->addressing = addressing;
}

static const char *
source_name(const struct aws_config *c)
{
	switch (c->cred_source) {
	case AWS_CRED_ENV:
		return "AWS_ACCESS_KEY_ID";
	case AWS_CRED_CREDENTIALS_FILE:
		return c->credentials_file;
	case AWS_CRED_CONFIG_FILE:
		return c->config_file;
	case AWS_CRED_NONE:
		break;
	}
	return "nowhere";
}

char *
aws_config_describe(const struct aws_config *c)
{
	char *out = NULL, tail[8] = "";
	size_t idl;
	int n;

	if (c->cred_source != AWS_CRED_NONE) {
		/* The last 4 characters, and only of an id long enough to keep most of it hidden.
		 */
		idl = strlen(c->access_key_id);
		if (idl >= 12)
			snprintf(tail, sizeof(tail), "...%s", c->access_key_id + idl - 4);
		else
			snprintf(tail, sizeof(tail), "...");
	}
	if (c->cred_source == AWS_CRED_NONE)
		n = asprintf(&out, "AWS credentials: none (requests unsigned)");
	else
		n = asprintf(&out, "AWS credentials: key id %s from %s%s", tail, source_name(c),
			     c->session_token ? ", with a session token" : "");
	if (n >= 0) {
		char *prev = out;

		n = asprintf(
			&out, "%s; profile '%s'%s; region %s (%s); endpoint %s%s%s; CA %s%s%s%s",
			prev, c->profile, c->profile_explicit ? "" : " (default)", c->region,
			c->region_from,
			c->endpoint_s3_env    ? "AWS_ENDPOINT_URL_S3"
			: c->endpoint_env     ? "AWS_ENDPOINT_URL"
			: c->profile_endpoint ? c->profile_endpoint_from
					      : "AWS's",
			c->profile_endpoint && !c->endpoint_s3_env && !c->endpoint_env ? " " : "",
			c->profile_endpoint && !c->endpoint_s3_env && !c->endpoint_env
				? c->profile_endpoint
				: "",
			c->ca_bundle ? c->ca_bundle : "the system's", c->ca_bundle ? " (" : "",
			c->ca_bundle ? c->ca_bundle_from : "", c->ca_bundle ? ")" : "");
		free(prev);
	}
	return n >= 0 ? out : NULL;
}
