/* SPDX-License-Identifier: MIT */
/*
 * The contents view's archives: setting up the password and the shared
 * block cache, opening one archive version per mapping, finding parents
 * under the -o parents= policy, and logging each failure once.
 */
#define _GNU_SOURCE
#include "contents.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_fill.h"
#include "entry.h"
#include "log.h"
#include "map_cache.h"
#include "node_table.h"

/* The longest password file read. */
#define MAX_PASSWORD 4096

/* ---- setup ---- */

/*
 * The password from -o passfile=FILE: the file must belong to the daemon's
 * user (or root) and be readable by nobody else, as ssh demands of keys.
 */
static int
read_passfile(const char *path, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "hexzfs: passfile '%s': %s\n", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "hexzfs: passfile '%s': not a regular file\n", path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0 || (st.st_uid != getuid() && st.st_uid != 0)) {
		fprintf(stderr,
			"hexzfs: passfile '%s': other users can read or change it "
			"(mode %04o, owner %u): chmod 600 it\n",
			path, (unsigned int)(st.st_mode & 07777), (unsigned int)st.st_uid);
		goto fail;
	}
	buf = malloc(MAX_PASSWORD + 1);
	if (!buf) {
		fprintf(stderr, "hexzfs: out of memory\n");
		goto fail;
	}
	n = read(fd, buf, MAX_PASSWORD + 1);
	if (n < 0 || n > MAX_PASSWORD) {
		fprintf(stderr, "hexzfs: passfile '%s': %s\n", path,
			n < 0 ? strerror(errno) : "longer than 4096 bytes");
		goto fail;
	}
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	*out = buf;
	*len = (size_t)n;
	return 0;

fail:
	if (buf)
		explicit_bzero(buf, MAX_PASSWORD + 1);
	free(buf);
	if (fd >= 0)
		close(fd);
	return -1;
}

int
contents_setup(struct hexzfs *fs)
{
	struct contents *c = calloc(1, sizeof(*c));
	const char *env = getenv("HEXZ_PASSWORD");

	if (!c) {
		fprintf(stderr, "hexzfs: out of memory\n");
		return -1;
	}
	c->cwd_fd = -1;
	pthread_mutex_init(&c->open_lock, NULL);
	pthread_cond_init(&c->opened, NULL);
	fs->contents = c;
	if (fs->cfg.passfile) {
		if (read_passfile(fs->cfg.passfile, &c->password, &c->password_len) != 0)
			return -1;
	} else if (env) {
		c->password_len = strlen(env);
		c->password = strdup(env);
		if (!c->password) {
			fprintf(stderr, "hexzfs: out of memory\n");
			return -1;
		}
	}
	c->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return 0;
}

int
contents_start(struct hexzfs *fs)
{
	int ret = hexz_cache_create(fs->cfg.cache_size, fs->cfg.workers, &fs->contents->cache);

	if (ret != HEXZ_OK) {
		log_msg(FUSE_LOG_ERR, "block cache of %llu bytes with %u workers: %s\n",
			(unsigned long long)fs->cfg.cache_size, fs->cfg.workers,
			hexz_strerror(ret));
		return -1;
	}
	return 0;
}

void
contents_start_fill(struct hexzfs *fs)
{
	int err;

	if (!fs->contents || !fs->cfg.block_fill)
		return;
	err = block_fill_start(fs, &fs->contents->fill);
	if (err)
		log_msg(FUSE_LOG_WARNING, "no block fill thread (%s): random reads are slower\n",
			strerror(err));
}

void
contents_quiesce(struct hexzfs *fs)
{
	if (fs->contents)
		block_fill_quiesce(fs->contents->fill);
}

void
contents_stop(struct hexzfs *fs)
{
	if (!fs->contents)
		return;
	block_fill_stop(fs->contents->fill);
	fs->contents->fill = NULL;
}

void
contents_teardown(struct hexzfs *fs)
{
	struct contents *c = fs->contents;

	if (!c)
		return;
	hexz_cache_destroy(c->cache);
	if (c->password) {
		explicit_bzero(c->password, c->password_len);
		free(c->password);
	}
	if (c->cwd_fd >= 0)
		close(c->cwd_fd);
	pthread_cond_destroy(&c->opened);
	pthread_mutex_destroy(&c->open_lock);
	free(c);
	fs->contents = NULL;
}

/* ---- parents ---- */

static void __attribute__((format(printf, 3, 4)))
set_error(struct hexz_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* The absolute path of what `fd` is open on. */
static int
fd_path(int fd, char *buf, size_t size)
{
	char proc[64];
	ssize_t len;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	len = readlink(proc, buf, size - 1);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	return 0;
}

/*
 * Open `path` relative to `dirfd` as a parent. Its type is checked before it
 * is opened, so a FIFO or device is never opened; the -o parents=inside
 * check is made on the opened file, so a link swapped meanwhile cannot
 * smuggle in another one.
 */
static int
open_parent(struct hexzfs *fs, int dirfd, const char *path, struct hexz_parent *out,
	    struct hexz_error *err)
{
	struct stat before, after;
	int fd, ret, os_errno;

	if (fstatat(dirfd, path, &before, 0) != 0)
		return -errno;
	if (!S_ISREG(before.st_mode)) {
		set_error(err, HEXZ_ERR_PARENT_NOT_FOUND, "'%s' is not a regular file",
				  path);
		return 1;
	}
	fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &after) != 0 || after.st_dev != before.st_dev ||
	    after.st_ino != before.st_ino || fd_path(fd, out->location, sizeof(out->location))) {
		close(fd);
		return -ESTALE;
	}
	if (fs->cfg.parents == PARENTS_INSIDE && !entry_fd_inside(fs, fd)) {
		close(fd);
		set_error(err, HEXZ_ERR_PARENT_REFUSED,
				  "'%s' lies outside the snapshot directory (see -o parents=)",
				  out->location);
		return 1;
	}
	ret = hexz_mmap_open_fd(fd, &out->storage, &os_errno);
	close(fd);
	if (ret != HEXZ_OK) {
		set_error(err, HEXZ_ERR_PARENT_NOT_FOUND, "'%s': %s", out->location,
				  os_errno ? strerror(os_errno) : hexz_strerror(ret));
		return 1;
	}
	out->dev = (uint64_t)after.st_dev;
	out->ino = (uint64_t)after.st_ino;
	return 0;
}

/* A hexz_resolve_parent_fn: as written, then beside the child, as hexz does. */
static int
resolve_parent(void *opaque, const char *child_location, const char *parent_path,
	       struct hexz_parent *out, struct hexz_error *err)
{
	struct hexzfs *fs = opaque;
	const char *slash = strrchr(child_location, '/');
	char beside[sizeof(out->location)];
	int ret, n;

	ret = open_parent(fs, fs->contents->cwd_fd >= 0 ? fs->contents->cwd_fd : AT_FDCWD,
			  parent_path, out, err);
	if (ret == 0)
		return HEXZ_OK;
	if (ret > 0)
		return err ? err->code : HEXZ_ERR_PARENT_NOT_FOUND;
	if (parent_path[0] != '/' && slash) {
		n = snprintf(beside, sizeof(beside), "%.*s/%s", (int)(slash - child_location),
			     child_location, parent_path);
		if (n > 0 && (size_t)n < sizeof(beside)) {
			ret = open_parent(fs, AT_FDCWD, beside, out, err);
			if (ret == 0)
				return HEXZ_OK;
			if (ret > 0)
				return err ? err->code : HEXZ_ERR_PARENT_NOT_FOUND;
		}
	}
	set_error(err, HEXZ_ERR_PARENT_NOT_FOUND, "not found as written or beside %s: %s",
			  child_location, strerror(-ret));
	return HEXZ_ERR_PARENT_NOT_FOUND;
}

/* ---- archive versions ---- */

/* SNAPSHOT_DIR/.../name for node `dir`: where the archive lies, for messages and parents. */
static void
archive_path(const struct hexzfs *fs, const struct node *dir, const char *name, char *buf,
	     size_t size)
{
	const struct node *chain[256];
	size_t depth = 0, pos;
	int n;

	for (; dir && dir->parent && depth < 256; dir = dir->parent)
		chain[depth++] = dir;
	n = snprintf(buf, size, "%s", fs->cfg.source_real);
	pos = n > 0 && (size_t)n < size ? (size_t)n : size - 1;
	while (depth > 0 && pos < size - 1) {
		n = snprintf(buf + pos, size - pos, "/%s", chain[--depth]->name);
		pos = n > 0 && (size_t)n < size - pos ? pos + (size_t)n : size - 1;
	}
	if (pos < size - 1)
		snprintf(buf + pos, size - pos, "/%s", name);
}

static struct archive_version *
open_version(struct hexzfs *fs, struct snapshot_map *map, const struct stat *st,
	     const char *location)
{
	struct archive_version *v = calloc(1, sizeof(*v));
	struct hexz_archive_options opts = {
		.location = location,
		.dev = (uint64_t)map->dev,
		.ino = (uint64_t)map->ino,
		.password = fs->contents->password,
		.password_len = fs->contents->password_len,
		.resolve_parent = resolve_parent,
		.resolve_opaque = fs,
		.cache = fs->contents->cache,
		.borrow_storage = true,
	};
	struct hexz_error err = { 0 };
	size_t i;

	if (!v)
		return NULL;
	pthread_mutex_init(&v->log_lock, NULL);
	v->st = *st;
	STAT_ADD(&fs->stats, archive_opens, 1);
	if (hexz_archive_open(map->storage, &opts, &v->archive, &err) != HEXZ_OK) {
		/* Logged once: this version is kept, and asked again, as a failure. */
		log_msg(FUSE_LOG_WARNING, "not shown: %s\n", err.message);
		STAT_ADD(&fs->stats, archive_errors, 1);
		return v;
	}
	/*
	 * Parsing a manifest takes about 15 times its size in short-lived
	 * JSON objects (130 MiB for one of 100,000 entries), which malloc
	 * keeps in the worker's arena once freed: hand them back to the
	 * system, so that the daemon's memory stays near what it holds.
	 */
	if (hexz_archive_manifest_count(v->archive) >= 1000)
		malloc_trim(0);
	for (i = 0; hexz_archive_manifest_rejected(v->archive, i); i++)
		log_msg(FUSE_LOG_WARNING, "%s: manifest entry left out: %s\n", location,
			hexz_archive_manifest_rejected(v->archive, i));
	if (contents_tree_build(v->archive, &v->tree) != 0) {
		contents_version_free(v);
		return NULL;
	}
	return v;
}

struct archive_version *
contents_version(struct hexzfs *fs, struct snapshot_map *map, const struct stat *st,
		 const struct node *dir, const char *name)
{
	struct contents *c = fs->contents;
	struct archive_version *v = atomic_load_explicit(&map->contents, memory_order_acquire);
	char location[4096];

	if (v)
		return v;
	/* One opener per version; the others wait for it (on the condition, not the lock). */
	pthread_mutex_lock(&c->open_lock);
	while (!(v = atomic_load_explicit(&map->contents, memory_order_acquire)) && map->opening)
		pthread_cond_wait(&c->opened, &c->open_lock);
	if (!v)
		map->opening = true;
	pthread_mutex_unlock(&c->open_lock);
	if (v)
		return v;

	archive_path(fs, dir, name, location, sizeof(location));
	v = open_version(fs, map, st, location);

	pthread_mutex_lock(&c->open_lock);
	map->opening = false;
	if (v)
		atomic_store_explicit(&map->contents, v, memory_order_release);
	/* Out of memory (v NULL): a waiter, woken, tries again itself. */
	pthread_cond_broadcast(&c->opened);
	pthread_mutex_unlock(&c->open_lock);
	return v;
}

void
contents_version_free(struct archive_version *v)
{
	if (!v)
		return;
	contents_tree_free(&v->tree);
	hexz_archive_close(v->archive);
	pthread_mutex_destroy(&v->log_lock);
	free(v);
}

static uint64_t
message_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void
contents_log_read_error(struct hexzfs *fs, struct archive_version *v, const struct hexz_error *err)
{
	uint64_t h = message_hash(err->message);
	bool fresh = true;
	unsigned int i;

	STAT_ADD(&fs->stats, read_errors, 1);
	pthread_mutex_lock(&v->log_lock);
	for (i = 0; i < v->nlogged && fresh; i++)
		fresh = v->logged[i] != h;
	if (fresh && v->nlogged < sizeof(v->logged) / sizeof(v->logged[0]))
		v->logged[v->nlogged++] = h;
	else
		fresh = false;
	pthread_mutex_unlock(&v->log_lock);
	if (fresh)
		log_msg(FUSE_LOG_ERR, "read error: %s\n", err->message);
}

void
contents_log_stats(const struct hexzfs *fs)
{
	struct hexz_cache_stats cs;

	if (!fs->contents || !fs->contents->cache)
		return;
	hexz_cache_get_stats(fs->contents->cache, &cs);
	log_msg(FUSE_LOG_INFO,
		"block cache: hits=%llu misses=%llu waits=%llu prefetches=%llu cancelled=%llu "
		"evictions=%llu failures=%llu blocks=%llu bytes=%llu budget=%llu trims=%llu\n",
		(unsigned long long)cs.hits, (unsigned long long)cs.misses,
		(unsigned long long)cs.waits, (unsigned long long)cs.prefetches,
		(unsigned long long)cs.cancelled, (unsigned long long)cs.evictions,
		(unsigned long long)cs.failures, (unsigned long long)cs.blocks,
		(unsigned long long)cs.bytes, (unsigned long long)cs.budget,
		(unsigned long long)cs.trims);
	block_fill_log_stats(fs->contents->fill);
}
