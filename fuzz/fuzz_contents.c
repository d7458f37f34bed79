/* SPDX-License-Identifier: MIT */
/*
 * fuzz_contents: a whole open and read of a random archive through the
 * code the contents view (-o view=contents) runs: the mapping cache
 * (map_cache_acquire()), contents_version() (fuse/contents.c: the archive
 * opened with the mount's options, parents found by the mount's resolver
 * under -o parents=inside, the tree built by fuse/contents_tree.c), the
 * attributes of every tree node (contents_node_attr()), and every file of
 * the tree read as contents_read() does: hexz_archive_pin() into at most
 * PIN_MAX pieces, hexz_archive_read() when they do not cover the request,
 * contents_log_read_error() on failure; then the mapping released, which
 * frees the version.
 *
 * Input:
 *   byte 0      flags: bit 0 the password "fuzz" (else none), bits 1-3
 *               the read size (read_sizes[]), bit 4 also read every file
 *               from its end backwards
 *   bytes 1-2   N, little-endian: the length of the archive
 *   N bytes     the archive, written to SNAPSHOT_DIR/a.hxz
 *   the rest    written to SNAPSHOT_DIR/_p.hxz, a parent the archive's
 *               header may name (the seeds do)
 * SNAPSHOT_DIR is a private temporary directory, also the working
 * directory, so that parent paths "as written" and "beside the archive"
 * both land in it; anything else a parent path names is refused by the
 * policy (or is not a regular file, or does not exist).
 *
 * Bounded work: at most READ_CAP bytes of each file, MAX_FILES files.
 * PBKDF2: an archive asking for more than MAX_FUZZ_ITERATIONS is opened
 * without a password (see fuzz_archive.c).
 *
 * Checked besides "no crash, no leak, no undefined behaviour": the tree is
 * well formed (children in range, sorted, found by contents_tree_lookup(),
 * parents before children), files have the mode bits the view promises
 * (no write or set-id bit), and pinned pieces hold the same bytes as
 * hexz_archive_read() of the same range.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "contents.h"
#include "contents_tree.h"
#include "fuzz.h"
#include "map_cache.h"
#include "node_table.h"
#include "ops_contents.h"

#define PIN_MAX 264 /* as ops_contents.c */
#define READ_CAP (512u * 1024u)
#define MAX_FILES 64
#define MAX_FUZZ_ITERATIONS 1000

static const size_t read_sizes[8] = { 1, 4096, 4097, 65536, 131072, 1 << 20, 7, 12288 };

static struct hexzfs fs;
static char fuzz_password[] = "fuzz";
static char dir[PATH_MAX];
static char a_path[PATH_MAX + 16], p_path[PATH_MAX + 16];
static unsigned char *expect, *got;

static void
cleanup(void)
{
	unlink(a_path);
	unlink(p_path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char tmpl[] = "/tmp/hexzfs-fuzz-contents.XXXXXX";
	FILE *devnull;

	(void)argc;
	(void)argv;
	FUZZ_CHECK(mkdtemp(tmpl) != NULL);
	FUZZ_CHECK(realpath(tmpl, dir) != NULL);
	snprintf(a_path, sizeof(a_path), "%s/a.hxz", dir);
	snprintf(p_path, sizeof(p_path), "%s/_p.hxz", dir);
	atexit(cleanup);
	FUZZ_CHECK(chdir(dir) == 0);
	unsetenv("HEXZ_PASSWORD");
	fs.cfg.source = dir;
	fs.cfg.source_real = dir;
	fs.cfg.parents = PARENTS_INSIDE;
	fs.cfg.symlinks = SYMLINKS_INSIDE;
	fs.cfg.view = VIEW_CONTENTS;
	fs.cfg.cache_size = 1u << 20;
	fs.cfg.workers = 0;
	fs.cfg.foreground = true;
	fs.source_fd = -1;
	fs.ready_fd = -1;
	fs.maps = map_cache_new(0, &fs.stats);
	FUZZ_CHECK(fs.maps != NULL);
	FUZZ_CHECK(contents_setup(&fs) == 0);
	FUZZ_CHECK(contents_start(&fs) == 0);
	expect = malloc(READ_CAP);
	got = malloc(READ_CAP);
	FUZZ_CHECK(expect && got);
	/* The daemon's log lines (not shown, read errors) would bury libFuzzer's. */
	if (!getenv("HEXZFS_FUZZ_VERBOSE")) {
		devnull = fopen("/dev/null", "we");
		if (devnull)
			stderr = devnull;
	}
	return 0;
}

static void
write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	FUZZ_CHECK(fd >= 0);
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		FUZZ_CHECK(w > 0);
		p += w;
		n -= (size_t)w;
	}
	close(fd);
}

/* The PBKDF2 iterations an encrypted header asks for (see fuzz_archive.c). */
static uint32_t
header_iterations(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint64_t parents, len;

	if (size < 28)
		return 0;
	in.p += 20;
	in.n -= 20;
	parents = fuzz_uint(&in, 8);
	for (uint64_t i = 0; i < parents; i++) {
		len = fuzz_uint(&in, 8);
		if (in.n < 8 || len > in.n)
			return 0;
		in.p += len;
		in.n -= len;
	}
	for (int i = 0; i < 6; i++) {
		uint8_t tag = fuzz_u8(&in);
		size_t n = i % 2 ? 4 : 8;

		if (tag > 1 || (tag == 1 && in.n < n))
			return 0;
		if (tag == 1) {
			in.p += n;
			in.n -= n;
		}
	}
	if (in.n < 21 || fuzz_u8(&in) != 1)
		return 0;
	in.p += 16;
	in.n -= 16;
	return (uint32_t)fuzz_uint(&in, 4);
}

/* [off, off + len) of a file, as contents_read() answers it; 0 or a status. */
static int
read_like_the_mount(struct archive_version *v, const struct tree_node *t, uint64_t off, size_t len,
		    unsigned char *dst)
{
	struct hexz_block_ref *refs[PIN_MAX];
	struct iovec iov[PIN_MAX];
	struct hexz_error err = { 0 };
	size_t count = 0, covered = 0, pos = 0;
	int ret;

	ret = hexz_archive_pin(v->archive, (enum hexz_stream)t->stream, t->offset + off, len, iov,
			       refs, PIN_MAX, &count, &covered, &err);
	if (ret == HEXZ_OK && covered < len) {
		hexz_block_unpin(refs, count);
		ret = hexz_archive_read(v->archive, (enum hexz_stream)t->stream, t->offset + off,
					len, dst, &err);
	} else if (ret == HEXZ_OK) {
		FUZZ_CHECK(covered == len);
		for (size_t i = 0; i < count; i++) {
			FUZZ_CHECK(iov[i].iov_len > 0 && pos + iov[i].iov_len <= len);
			memcpy(dst + pos, iov[i].iov_base, iov[i].iov_len);
			pos += iov[i].iov_len;
		}
		FUZZ_CHECK(pos == len);
		hexz_block_unpin(refs, count);
	}
	if (ret != HEXZ_OK) {
		FUZZ_CHECK(ret < 0 && err.code == ret && err.message[0] != '\0');
		contents_log_read_error(&fs, v, &err);
	}
	return ret;
}

static void
read_file(struct archive_version *v, const struct tree_node *t, size_t chunk, bool backwards)
{
	size_t len = t->size < READ_CAP ? (size_t)t->size : READ_CAP;
	struct hexz_error err;
	bool whole;

	/* The reference: one plain read of the whole range (may fail). */
	whole = hexz_archive_read(v->archive, (enum hexz_stream)t->stream, t->offset, len, expect,
				  &err) == HEXZ_OK;
	for (size_t i = 0; i < len; i += chunk) {
		size_t off = backwards ? (len - 1) / chunk * chunk - i : i;
		size_t n = len - off < chunk ? len - off : chunk;

		if (off >= len)
			break;
		if (read_like_the_mount(v, t, off, n, got) == HEXZ_OK && whole)
			FUZZ_CHECK(memcmp(got, expect + off, n) == 0);
	}
}

static void
check_tree(struct hexz_archive *ar, const struct contents_tree *tree, struct snapshot_map *map,
	   size_t chunk, bool backwards)
{
	struct archive_version *v = atomic_load(&map->contents);
	uint64_t stream_size[2] = { hexz_archive_stream_size(ar, HEXZ_STREAM_MAIN),
				    hexz_archive_stream_size(ar, HEXZ_STREAM_AUXILIARY) };
	unsigned int files = 0;

	uint32_t count = contents_tree_count(tree);
	struct tree_node root, node, parent, child, prev;
	/* The archive node the mount would hold; entries are (node, tree index) references. */
	struct node archive = { .map = map, .kind = NODE_ARCHIVE, .is_dir = true, .fd = -1 };

	contents_tree_get(tree, 0, &root);
	FUZZ_CHECK(count >= 1 && root.is_dir && root.name[0] == '\0');
	for (uint32_t i = 0; i < count; i++) {
		const struct tree_node *t = &node;
		struct node_ref ref = { .node = &archive, .index = i };
		struct stat st;

		contents_tree_get(tree, i, &node);
		contents_tree_get(tree, t->parent, &parent);
		FUZZ_CHECK(i == 0 || (t->parent < i && parent.is_dir));
		contents_node_attr(&fs, ref, &st);
		FUZZ_CHECK(S_ISDIR(st.st_mode) == t->is_dir);
		FUZZ_CHECK((st.st_mode & (S_ISUID | S_ISGID | 0222)) == 0);
		if (t->is_dir) {
			FUZZ_CHECK(t->child_count == 0 ||
				   (t->first_child > i && t->first_child + t->child_count <= count));
			for (uint32_t c = t->first_child; c < t->first_child + t->child_count;
			     c++) {
				contents_tree_get(tree, c, &child);
				FUZZ_CHECK(child.parent == i);
				FUZZ_CHECK(child.name[0] != '\0');
				FUZZ_CHECK(strchr(child.name, '/') == NULL);
				FUZZ_CHECK(contents_tree_lookup(tree, i, child.name) == c);
				if (c > t->first_child)
					FUZZ_CHECK(strcmp(prev.name, child.name) < 0);
				prev = child;
			}
			continue;
		}
		FUZZ_CHECK(t->stream < 2);
		FUZZ_CHECK(t->offset <= stream_size[t->stream] &&
			   t->size <= stream_size[t->stream] - t->offset);
		FUZZ_CHECK(st.st_size == (off_t)t->size);
		if (files++ < MAX_FILES)
			read_file(v, t, chunk, backwards);
	}
	FUZZ_CHECK(contents_tree_lookup(tree, 0, "no such name/") == TREE_NONE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t flags = fuzz_u8(&in);
	size_t len = (size_t)fuzz_uint(&in, 2);
	size_t chunk = read_sizes[(flags >> 1) & 7];
	struct snapshot_map *map = NULL;
	struct archive_version *v;
	struct node root = { .fd = -1, .is_dir = true };
	struct stat st;
	int fd, ret, os_errno = 0;

	if (len > in.n)
		len = in.n;
	write_file(a_path, in.p, len);
	write_file(p_path, in.p + len, in.n - len);
	fs.contents->password = NULL;
	fs.contents->password_len = 0;
	if ((flags & 1) && header_iterations(in.p, len) <= MAX_FUZZ_ITERATIONS) {
		fs.contents->password = fuzz_password;
		fs.contents->password_len = 4;
	}

	fd = open(a_path, O_RDONLY | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0 && fstat(fd, &st) == 0);
	ret = map_cache_acquire(fs.maps, fd, &st, &map, &os_errno);
	close(fd);
	if (ret != HEXZ_OK)
		goto out;
	v = contents_version(&fs, map, &st, &root, "a.hxz");
	FUZZ_CHECK(v != NULL);
	FUZZ_CHECK(contents_version(&fs, map, &st, &root, "a.hxz") == v); /* opened once */
	if (v->archive)
		check_tree(v->archive, &v->tree, map, chunk, flags & 0x10);
	map_cache_release(fs.maps, map, false);
out:
	fs.contents->password = NULL;
	return 0;
}
