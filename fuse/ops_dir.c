/* SPDX-License-Identifier: MIT */
/*
 * Directory listings. opendir reads the whole source directory once and
 * keeps the visible entries in the handle, so offsets are plain indexes and
 * stay valid however the source changes meanwhile; a rewind (offset 0 after
 * entries were served) reads it again, so new snapshots show on the next
 * listing. Directories inside archives never change: they are listed
 * straight from the archive's tree (contents_readdir()).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "entry.h"
#include "node_table.h"
#include "ops.h"
#include "ops_contents.h"

struct listed_entry {
	ino_t ino;
	unsigned char type; /* DT_DIR or DT_REG */
	size_t name_off;    /* into dir_listing.names */
};

struct dir_listing {
	struct listed_entry *entries;
	size_t count, cap;
	char *names;
	size_t names_len, names_cap;
	bool served;
	LIST_ENTRY(dir_listing) link; /* in open_listings */
};

/*
 * Every listing not yet released: a session that ends with directories
 * still open gets no releasedir for them; ops_dir_release_all() frees
 * what is left, so that nothing leaks.
 */
static pthread_mutex_t open_listings_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, dir_listing) open_listings = LIST_HEAD_INITIALIZER(open_listings);

static void
listing_link(struct dir_listing *l)
{
	pthread_mutex_lock(&open_listings_lock);
	LIST_INSERT_HEAD(&open_listings, l, link);
	pthread_mutex_unlock(&open_listings_lock);
}

static void
listing_unlink(struct dir_listing *l)
{
	pthread_mutex_lock(&open_listings_lock);
	LIST_REMOVE(l, link);
	pthread_mutex_unlock(&open_listings_lock);
}

static void
listing_clear(struct dir_listing *l)
{
	free(l->entries);
	free(l->names);
	/* Everything but the links: a listing is cleared while it is open. */
	l->entries = NULL;
	l->count = l->cap = 0;
	l->names = NULL;
	l->names_len = l->names_cap = 0;
	l->served = false;
}

static int
listing_add(struct dir_listing *l, const char *name, ino_t ino, unsigned char type)
{
	size_t len = strlen(name) + 1;

	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct listed_entry *e = realloc(l->entries, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		l->entries = e;
		l->cap = cap;
	}
	if (l->names_len + len > l->names_cap) {
		size_t cap = l->names_cap ? l->names_cap * 2 : 4096;
		char *n;

		while (cap < l->names_len + len)
			cap *= 2;
		n = realloc(l->names, cap);
		if (!n)
			return -ENOMEM;
		l->names = n;
		l->names_cap = cap;
	}
	memcpy(l->names + l->names_len, name, len);
	l->entries[l->count++] = (struct listed_entry){ ino, type, l->names_len };
	l->names_len += len;
	return 0;
}

static const char *
listed_name(const struct dir_listing *l, size_t i)
{
	return l->names + l->entries[i].name_off;
}

/*
 * Whether one raw entry of directory node `dir` is shown, and as what; 0
 * when hidden. In the contents view a file is shown, as a directory, only
 * when it opens as an archive.
 */
static unsigned char
visible_type(struct hexzfs *fs, const struct node *dir, int dirfd, const struct dirent *de,
	     ino_t *ino)
{
	bool contents = fs->cfg.view == VIEW_CONTENTS;
	struct timespec birth;
	struct stat st;
	bool via_symlink;

	*ino = de->d_ino;
	switch (de->d_type) {
	case DT_DIR:
		return DT_DIR;
	case DT_REG:
		if (!entry_has_snapshot_suffix(de->d_name))
			return 0;
		if (!contents)
			return DT_REG;
		/* The archive must be opened to know. */
		__attribute__((fallthrough));
	case DT_LNK:
	case DT_UNKNOWN:
		if (entry_resolve(fs, dirfd, de->d_name, &st, &birth, &via_symlink) != 0)
			return 0;
		*ino = st.st_ino;
		if (S_ISDIR(st.st_mode))
			return DT_DIR;
		if (!contents)
			return DT_REG;
		return contents_shows_file(fs, dir, de->d_name, via_symlink, &st) ? DT_DIR : 0;
	default:
		return 0;
	}
}

static bool
is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static int
listing_load(struct hexzfs *fs, struct node *dir, struct dir_listing *l)
{
	struct dirent *de;
	DIR *d;
	int fd;
	int ret = 0;

	listing_clear(l);
	fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/* A zero d_ino would make readdir(3) skip "..": the root reports itself. */
	if (listing_add(l, ".", dir->ino, DT_DIR) ||
	    listing_add(l, "..", dir->parent ? dir->parent->ino : dir->ino, DT_DIR)) {
		ret = -ENOMEM;
		goto out;
	}
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		unsigned char type;
		ino_t ino;

		if (is_dot_or_dotdot(de->d_name))
			continue;
		type = visible_type(fs, dir, dirfd(d), de, &ino);
		if (type && listing_add(l, de->d_name, ino, type)) {
			ret = -ENOMEM;
			goto out;
		}
	}
	ret = -errno;
out:
	closedir(d);
	if (ret)
		listing_clear(l);
	return ret;
}

static struct dir_listing *
listing_of(struct fuse_file_info *fi)
{
	return (struct dir_listing *)(uintptr_t)fi->fh;
}

void
ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct hexzfs *fs = hexzfs_of(req);
	struct node_ref r = node_table_get(fs->nodes, ino);
	struct dir_listing *l;
	int ret;

	if (r.node->kind != NODE_SOURCE) {
		contents_opendir(fs, r, fi);
		fuse_reply_open(req, fi);
		return;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = listing_load(fs, r.node, l);
	if (ret < 0) {
		free(l);
		fuse_reply_err(req, -ret);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)l;
	listing_link(l);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* The opener was interrupted: nobody will release this. */
		listing_unlink(l);
		listing_clear(l);
		free(l);
	}
}

void
ops_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_listing *l = listing_of(fi);

	(void)ino;
	/* Directories inside archives have no listing (contents_opendir()). */
	if (l) {
		listing_unlink(l);
		listing_clear(l);
		free(l);
	}
	fuse_reply_err(req, 0);
}

void
ops_dir_release_all(void)
{
	struct dir_listing *l;

	pthread_mutex_lock(&open_listings_lock);
	while ((l = LIST_FIRST(&open_listings)) != NULL) {
		LIST_REMOVE(l, link);
		listing_clear(l);
		free(l);
	}
	pthread_mutex_unlock(&open_listings_lock);
}

/* Fill one reply of at most `size` bytes from offset `off`; plus: readdirplus. */
static void
reply_listing(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi,
	      bool plus)
{
	struct hexzfs *fs = hexzfs_of(req);
	struct node_ref r = node_table_get(fs->nodes, ino);
	struct node *dir = r.node;
	struct dir_listing *l = listing_of(fi);
	char *buf;
	size_t pos = 0;
	int ret;

	if (dir->kind != NODE_SOURCE) {
		contents_readdir(req, r, size, off, plus);
		return;
	}
	STAT_ADD(&fs->stats, readdirs, 1);
	if (off == 0 && l->served) {
		ret = listing_load(fs, dir, l);
		if (ret < 0) {
			fuse_reply_err(req, -ret);
			return;
		}
	}
	l->served = true;
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; i < l->count; i++) {
		const char *name = listed_name(l, i);
		struct fuse_entry_param e;
		size_t need;

		memset(&e, 0, sizeof(e));
		e.attr.st_ino = l->entries[i].ino;
		e.attr.st_mode = (mode_t)l->entries[i].type << 12;
		if (!plus) {
			need = fuse_add_direntry(req, buf + pos, size - pos, name, &e.attr,
						 (off_t)i + 1);
			if (need > size - pos)
				break;
			pos += need;
			continue;
		}
		/* Check the room first: a looked-up entry must reach the kernel. */
		need = fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0);
		if (need > size - pos)
			break;
		if (!is_dot_or_dotdot(name) && ops_lookup_entry(fs, r, name, &e) != 0)
			continue; /* vanished since the listing was read */
		pos += fuse_add_direntry_plus(req, buf + pos, size - pos, name, &e, (off_t)i + 1);
	}
	fuse_reply_buf(req, buf, pos);
	free(buf);
}

void
ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	reply_listing(req, ino, size, off, fi, false);
}

void
ops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	reply_listing(req, ino, size, off, fi, true);
}
