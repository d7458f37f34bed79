/* SPDX-License-Identifier: MIT */
/*
 * The persistent disk cache of remote chunks: one file per chunk in one
 * directory, an in-memory index of them (a tsearch() tree by name for
 * lookups, a list in order of use for eviction). See disk_cache.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <search.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "disk_cache.h"
#include "error_set.h"

#define DIGEST_LEN 32
#define NAME_LEN (2 * DIGEST_LEN) /* hex */
#define HEADER_LEN 48
#define TMP_PREFIX ".tmp-"
/* A temporary file this old was left by a crash: no writer takes an hour over one chunk. */
#define STALE_TMP_SECONDS 3600

static const unsigned char magic[8] = { 'H', 'X', 'Z', 'C', 'H', 'N', 'K', '1' };

/* The file header, little-endian: magic, data length, SHA-256 of the data. */
struct file_header {
	unsigned char bytes[HEADER_LEN];
};

struct cached_file {
	unsigned char digest[DIGEST_LEN]; /* the name, decoded */
	uint64_t size;			  /* of the file, header included */
	struct timespec used;		  /* scan only: the file's mtime */
	TAILQ_ENTRY(cached_file) lru;
};

TAILQ_HEAD(file_list, cached_file);

struct disk_cache {
	pthread_mutex_t lock;
	int dirfd;
	void *tree;		 /* of struct cached_file, by digest */
	struct file_list lru;	 /* least recently used first */
	atomic_uint tmp_counter; /* temporary names: pid and this */
	struct disk_cache_stats stats;
};

static int
entry_cmp(const void *a, const void *b)
{
	return memcmp(((const struct cached_file *)a)->digest,
		      ((const struct cached_file *)b)->digest, DIGEST_LEN);
}

static void
put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static bool
sha256(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[DIGEST_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		  EVP_DigestUpdate(ctx, a, alen) && (!blen || EVP_DigestUpdate(ctx, b, blen)) &&
		  EVP_DigestFinal_ex(ctx, out, NULL);

	EVP_MD_CTX_free(ctx);
	return ok;
}

/* The digest naming chunk `id`: the key, then the numbers, so no two ids share one. */
static bool
chunk_digest(const struct disk_chunk_id *id, unsigned char out[DIGEST_LEN])
{
	unsigned char nums[20];

	put_le(nums, id->object_size, 8);
	put_le(nums + 8, id->chunk_size, 4);
	put_le(nums + 12, id->index, 8);
	/* The key's NUL terminator separates it from the numbers. */
	return sha256(id->object_key, strlen(id->object_key) + 1, nums, sizeof(nums), out);
}

static void
digest_name(const unsigned char digest[DIGEST_LEN], char name[NAME_LEN + 1])
{
	size_t n;

	OPENSSL_buf2hexstr_ex(name, NAME_LEN + 1, &n, digest, DIGEST_LEN, '\0');
}

/* A cache file's name decoded; false for any other name (never touched). */
static bool
name_digest(const char *name, unsigned char digest[DIGEST_LEN])
{
	char again[NAME_LEN + 1];
	size_t n;

	if (strlen(name) != NAME_LEN ||
	    !OPENSSL_hexstr2buf_ex(digest, DIGEST_LEN, &n, name, '\0') || n != DIGEST_LEN)
		return false;
	digest_name(digest, again);
	return strcmp(again, name) == 0;
}

/* ---- the index; the caller holds the lock ---- */

static struct cached_file *
index_find(struct disk_cache *dc, const unsigned char digest[DIGEST_LEN])
{
	struct cached_file probe, **found;

	memcpy(probe.digest, digest, DIGEST_LEN);
	found = tfind(&probe, &dc->tree, entry_cmp);
	return found ? *found : NULL;
}

static void
index_remove(struct disk_cache *dc, struct cached_file *e)
{
	tdelete(e, &dc->tree, entry_cmp);
	TAILQ_REMOVE(&dc->lru, e, lru);
	dc->stats.bytes -= e->size;
	dc->stats.files--;
}

/* Note file `digest` of `size` bytes as just used; false without memory (it is then unknown). */
static bool
index_use(struct disk_cache *dc, const unsigned char digest[DIGEST_LEN], uint64_t size)
{
	struct cached_file *e = index_find(dc, digest), **slot;

	if (e) {
		TAILQ_REMOVE(&dc->lru, e, lru);
		dc->stats.bytes = dc->stats.bytes - e->size + size;
	} else {
		e = calloc(1, sizeof(*e));
		if (!e)
			return false;
		memcpy(e->digest, digest, DIGEST_LEN);
		slot = tsearch(e, &dc->tree, entry_cmp);
		if (!slot) {
			free(e);
			return false;
		}
		dc->stats.bytes += size;
		dc->stats.files++;
	}
	e->size = size;
	TAILQ_INSERT_TAIL(&dc->lru, e, lru);
	return true;
}

/*
 * Make the index agree with the directory about file `name` after a load
 * looked at it without the lock: noted as just used if it is there (a
 * hit, or stored meanwhile by another thread or process), forgotten if
 * not (evicted meanwhile, here or by another process).
 */
static void
index_sync(struct disk_cache *dc, const unsigned char digest[DIGEST_LEN], const char *name)
{
	struct cached_file *e;
	struct stat sb;

	if (fstatat(dc->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode)) {
		index_use(dc, digest, (uint64_t)sb.st_size);
		return;
	}
	e = index_find(dc, digest);
	if (e) {
		index_remove(dc, e);
		free(e);
	}
}

/*
 * Delete least recently used files until the budget holds, sparing `keep`.
 * Under the lock, as every rename and unlink of a cache file is: so the
 * index and the directory agree (a file deleted outside it could be one
 * that another thread had just stored again).
 */
static void
index_evict(struct disk_cache *dc, const struct cached_file *keep)
{
	char name[NAME_LEN + 1];
	struct cached_file *e;

	while (dc->stats.bytes > dc->stats.budget && (e = TAILQ_FIRST(&dc->lru)) && e != keep) {
		index_remove(dc, e);
		dc->stats.evictions++;
		digest_name(e->digest, name);
		unlinkat(dc->dirfd, name, 0); /* already gone (another process) is fine */
		free(e);
	}
}

/* ---- opening: the directory checked, the files indexed ---- */

static int
open_dir(const char *dir, int *dirfd, struct hexz_error *err)
{
	struct stat sb;
	int fd, e;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		e = errno;
		return error_set(err,
				 e == ENOENT				   ? HEXZ_ERR_NOT_FOUND
				 : e == EACCES || e == EPERM || e == EROFS ? HEXZ_ERR_PERMISSION
									   : HEXZ_ERR_IO,
				 "cache_dir %s: cannot create it: %s", dir, strerror(e));
	}
	/* A symbolic link to a directory is fine: what is checked is the directory itself. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		return error_set(err,
				 e == ENOTDIR  ? HEXZ_ERR_INVALID_ARGUMENT
				 : e == EACCES ? HEXZ_ERR_PERMISSION
					       : HEXZ_ERR_IO,
				 "cache_dir %s: %s", dir,
				 e == ENOTDIR ? "not a directory" : strerror(e));
	}
	if (fstat(fd, &sb)) {
		e = errno;
		close(fd);
		return error_set(err, HEXZ_ERR_IO, "cache_dir %s: %s", dir, strerror(e));
	}
	if (sb.st_uid != geteuid()) {
		close(fd);
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "cache_dir %s: owned by uid %u, not by this user (uid %u)", dir,
				 (unsigned int)sb.st_uid, (unsigned int)geteuid());
	}
	if (sb.st_mode & 077) {
		close(fd);
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "cache_dir %s: mode %04o lets other users in; it must be 0700 "
				 "(chmod 700 %s)",
				 dir, (unsigned int)(sb.st_mode & 07777), dir);
	}
	*dirfd = fd;
	return HEXZ_OK;
}

static int
by_use(const void *a, const void *b)
{
	const struct cached_file *x = *(struct cached_file *const *)a,
				 *y = *(struct cached_file *const *)b;

	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	if (x->used.tv_nsec != y->used.tv_nsec)
		return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
	return 0;
}

/* Index the directory's cache files, oldest use first; delete stale temporary files. */
static int
scan(struct disk_cache *dc, const char *dir, struct hexz_error *err)
{
	struct cached_file **found = NULL, **grown;
	size_t count = 0, cap = 0, i;
	time_t now = time(NULL);
	struct dirent *de;
	struct stat sb;
	int fd, ret = HEXZ_OK;
	DIR *d;

	fd = dup(dc->dirfd);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return error_set(err, HEXZ_ERR_IO, "cache_dir %s: cannot list it: %s", dir,
				 strerror(errno));
	}
	while ((de = readdir(d))) {
		unsigned char digest[DIGEST_LEN];

		if (fstatat(dc->dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
			if (now - sb.st_mtim.tv_sec > STALE_TMP_SECONDS)
				unlinkat(dc->dirfd, de->d_name, 0);
			continue;
		}
		if (!name_digest(de->d_name, digest))
			continue;
		if (count == cap) {
			cap = cap ? 2 * cap : 256;
			grown = realloc(found, cap * sizeof(*found));
			if (!grown)
				goto no_memory;
			found = grown;
		}
		found[count] = calloc(1, sizeof(**found));
		if (!found[count])
			goto no_memory;
		memcpy(found[count]->digest, digest, DIGEST_LEN);
		found[count]->used = sb.st_mtim;
		found[count]->size = (uint64_t)sb.st_size;
		count++;
	}
	if (count)
		qsort(found, count, sizeof(*found), by_use);
	for (i = 0; i < count; i++) {
		if (!index_use(dc, found[i]->digest, found[i]->size))
			goto no_memory;
		free(found[i]);
		found[i] = NULL;
	}
	goto out;

no_memory:
	ret = error_set(err, HEXZ_ERR_NO_MEMORY, "out of memory");
out:
	for (i = 0; i < count; i++)
		free(found[i]);
	free(found);
	closedir(d);
	return ret;
}

int
disk_cache_open(const char *dir, uint64_t budget, struct disk_cache **out, struct hexz_error *err)
{
	struct disk_cache *dc;
	struct statvfs vfs;
	int ret;

	*out = NULL;
	dc = calloc(1, sizeof(*dc));
	if (!dc)
		return error_set(err, HEXZ_ERR_NO_MEMORY, "out of memory");
	dc->dirfd = -1;
	TAILQ_INIT(&dc->lru);
	pthread_mutex_init(&dc->lock, NULL);
	ret = open_dir(dir, &dc->dirfd, err);
	if (ret)
		goto fail;
	if (!budget) {
		if (fstatvfs(dc->dirfd, &vfs)) {
			ret = error_set(err, HEXZ_ERR_IO, "cache_dir %s: %s", dir, strerror(errno));
			goto fail;
		}
		budget = (uint64_t)vfs.f_bavail * vfs.f_frsize / 10;
	}
	dc->stats.budget = budget;
	ret = scan(dc, dir, err);
	if (ret)
		goto fail;
	/* The budget may be smaller than what an earlier run left. */
	index_evict(dc, NULL);
	*out = dc;
	return HEXZ_OK;

fail:
	disk_cache_close(dc);
	return ret;
}

void
disk_cache_close(struct disk_cache *dc)
{
	if (!dc)
		return;
	tdestroy(dc->tree, free);
	if (dc->dirfd >= 0)
		close(dc->dirfd);
	pthread_mutex_destroy(&dc->lock);
	free(dc);
}

/* ---- loads and stores ---- */

static bool
read_full(int fd, void *buf, size_t len, off_t off)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return true;
}

static bool
write_full(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Whether the open file holds exactly `len` intact bytes; if so they are in dst. */
static bool
file_intact(int fd, void *dst, size_t len)
{
	struct file_header h;
	unsigned char digest[DIGEST_LEN];
	struct stat sb;

	return fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	       (uint64_t)sb.st_size == HEADER_LEN + (uint64_t)len &&
	       read_full(fd, h.bytes, HEADER_LEN, 0) && memcmp(h.bytes, magic, 8) == 0 &&
	       get_le64(h.bytes + 8) == len && read_full(fd, dst, len, HEADER_LEN) &&
	       sha256(dst, len, NULL, 0, digest) &&
	       CRYPTO_memcmp(digest, h.bytes + 16, DIGEST_LEN) == 0;
}

bool
disk_cache_load(struct disk_cache *dc, const struct disk_chunk_id *id, void *dst, size_t len)
{
	unsigned char digest[DIGEST_LEN];
	char name[NAME_LEN + 1];
	bool intact;
	int fd;

	if (!chunk_digest(id, digest))
		return false;
	digest_name(digest, name);
	fd = openat(dc->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		pthread_mutex_lock(&dc->lock);
		dc->stats.misses++;
		index_sync(dc, digest, name);
		pthread_mutex_unlock(&dc->lock);
		return false;
	}
	intact = file_intact(fd, dst, len);
	if (intact)
		futimens(fd, NULL); /* its use, for the LRU order of later runs */
	close(fd);

	pthread_mutex_lock(&dc->lock);
	if (intact) {
		dc->stats.hits++;
	} else {
		/* Maybe replaced by a good copy meanwhile: deleted too, which costs a fetch. */
		dc->stats.damaged++;
		unlinkat(dc->dirfd, name, 0);
	}
	index_sync(dc, digest, name);
	pthread_mutex_unlock(&dc->lock);
	return intact;
}

void
disk_cache_store(struct disk_cache *dc, const struct disk_chunk_id *id, const void *src, size_t len)
{
	unsigned char digest[DIGEST_LEN];
	char name[NAME_LEN + 1], tmp[64];
	struct file_header h;
	bool ok;
	int fd;

	if (HEADER_LEN + (uint64_t)len > dc->stats.budget || !chunk_digest(id, digest))
		return;
	memcpy(h.bytes, magic, 8);
	put_le(h.bytes + 8, len, 8);
	if (!sha256(src, len, NULL, 0, h.bytes + 16))
		return;
	digest_name(digest, name);
	snprintf(tmp, sizeof(tmp), TMP_PREFIX "%ld-%u", (long)getpid(),
		 atomic_fetch_add(&dc->tmp_counter, 1));
	fd = openat(dc->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	ok = fd >= 0 && write_full(fd, h.bytes, HEADER_LEN) && write_full(fd, src, len);
	if (fd >= 0 && close(fd))
		ok = false;
	if (!ok) {
		if (fd >= 0)
			unlinkat(dc->dirfd, tmp, 0);
		pthread_mutex_lock(&dc->lock);
		dc->stats.store_errors++;
		pthread_mutex_unlock(&dc->lock);
		return;
	}

	pthread_mutex_lock(&dc->lock);
	if (renameat(dc->dirfd, tmp, dc->dirfd, name) == 0 &&
	    index_use(dc, digest, HEADER_LEN + (uint64_t)len)) {
		dc->stats.stores++;
		index_evict(dc, index_find(dc, digest));
	} else if (faccessat(dc->dirfd, tmp, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		/* Not renamed: an older copy, if any, stays as indexed. */
		unlinkat(dc->dirfd, tmp, 0);
		dc->stats.store_errors++;
	} else {
		/* Renamed, but the index could not note it (no memory): not kept. */
		unlinkat(dc->dirfd, name, 0);
		dc->stats.store_errors++;
	}
	pthread_mutex_unlock(&dc->lock);
}

void
disk_cache_get_stats(struct disk_cache *dc, struct disk_cache_stats *out)
{
	pthread_mutex_lock(&dc->lock);
	*out = dc->stats;
	pthread_mutex_unlock(&dc->lock);
}
