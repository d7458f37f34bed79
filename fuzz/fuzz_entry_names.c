/* SPDX-License-Identifier: MIT */
/*
 * fuzz_entry_names: which names the mount shows, and with which attributes.
 *
 * Input:
 *   byte 0      flags: bit 0 set_uid, bit 1 set_gid, bit 2 set_umask,
 *               bits 3-4 symlink policy (inside, any, none, inside),
 *               bit 5 take the name from the table of prepared entries
 *               below (indexed by the first name byte), bit 6 also resolve
 *               the name in the prepared source directory
 *   4 bytes     umask, 4 uid, 4 gid                  (the configuration)
 *   4 bytes     st_mode, 4 st_uid, 4 st_gid, 8 st_size, 8 st_ino
 *   the rest    the entry name (up to its first NUL), in a block of
 *               exactly its size
 *
 * Checked, with abort():
 *  - entry_has_snapshot_suffix() is true exactly for names ending ".hxz";
 *  - entry_attr() never shows a write bit nor a set-id bit, keeps the file
 *    type bits, shows exactly the documented permissions (the source's, or
 *    0777/0666 & ~umask), replaces the owner only when configured, and
 *    changes nothing else;
 *  - entry_resolve() only shows directories and regular ".hxz" files, and
 *    for the prepared entries gives exactly the result the symlink policy
 *    promises (entry.h). Names with '/' are not resolved: the kernel never
 *    sends one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "entry.h"
#include "fuzz.h"

#define DENY (-ENOENT)

/* A prepared entry of the source directory and the result per policy. */
struct prepared {
	const char *name;
	int inside, any, none;
};

/*
 * The source directory (made in LLVMFuzzerInitialize, TMP in $TMPDIR or /tmp):
 *   TMP/src/{a.hxz, .hxz, plain}   regular files
 *   TMP/src/{sub, sub.hxz}         directories
 *   TMP/src/fifo.hxz               a FIFO
 *   TMP/src/<link> -> <target>     the symbolic links below
 *   TMP/outside.hxz, TMP/src2/b.hxz  regular files outside the source
 */
static const struct {
	const char *name, *target;
} links[] = {
	{ "in.hxz", "a.hxz" },
	{ "up.hxz", "../src/sub/../a.hxz" },
	{ "out.hxz", "../outside.hxz" },
	{ "sibling.hxz", "../src2/b.hxz" }, /* "TMP/src2" starts with "TMP/src" */
	{ "dangling.hxz", "missing" },
	{ "loop.hxz", "loop.hxz" },
	{ "dir.hxz", "sub" },
	{ "link", "a.hxz" },
};

static const struct prepared table[] = {
	{ "a.hxz", 0, 0, 0 },
	{ ".hxz", 0, 0, 0 },
	{ "plain", DENY, DENY, DENY },
	{ "sub", 0, 0, 0 },
	{ "sub.hxz", 0, 0, 0 },
	{ ".", 0, 0, 0 },
	{ "..", 0, 0, 0 },
	{ "fifo.hxz", DENY, DENY, DENY },
	{ "missing.hxz", DENY, DENY, DENY },
	{ "in.hxz", 0, 0, DENY },
	{ "up.hxz", 0, 0, DENY },
	{ "out.hxz", DENY, 0, DENY },
	{ "sibling.hxz", DENY, 0, DENY },
	{ "dangling.hxz", DENY, DENY, DENY },
	{ "loop.hxz", DENY, DENY, DENY },
	{ "dir.hxz", DENY, DENY, DENY },
	{ "link", DENY, DENY, DENY },
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

static char tmpdir[PATH_MAX];
static char *source_real;
static int source_fd = -1;

static void
make_file(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, "hxz\n", 4) == 4);
	close(fd);
}

static int
remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path) == 0 ? 0 : -1;
}

static void
remove_tree(void)
{
	if (nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "fuzz_entry_names: could not remove %s\n", tmpdir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("TMPDIR");
	char proc[64];
	int dirfd;

	(void)argc;
	(void)argv;
	if (!base || !*base)
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/hexzfs-fuzz-entry-XXXXXX", base);
	FUZZ_CHECK(mkdtemp(tmpdir) != NULL);
	atexit(remove_tree);
	dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(dirfd >= 0);
	FUZZ_CHECK(mkdirat(dirfd, "src", 0755) == 0 && mkdirat(dirfd, "src/sub", 0755) == 0 &&
		   mkdirat(dirfd, "src/sub.hxz", 0755) == 0 && mkdirat(dirfd, "src2", 0755) == 0);
	FUZZ_CHECK(mkfifoat(dirfd, "src/fifo.hxz", 0644) == 0);
	make_file(dirfd, "src/a.hxz");
	make_file(dirfd, "src/.hxz");
	make_file(dirfd, "src/plain");
	make_file(dirfd, "outside.hxz");
	make_file(dirfd, "src2/b.hxz");
	source_fd = openat(dirfd, "src", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(source_fd >= 0);
	close(dirfd);
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		FUZZ_CHECK(symlinkat(links[i].target, source_fd, links[i].name) == 0);
	/* What main() keeps: the canonical path of SNAPSHOT_DIR. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", source_fd);
	source_real = realpath(proc, NULL);
	FUZZ_CHECK(source_real != NULL);
	return 0;
}

static void
check_suffix(const char *name)
{
	size_t len = strlen(name);
	bool want = len >= 4 && strcmp(name + len - 4, ".hxz") == 0;

	FUZZ_CHECK(entry_has_snapshot_suffix(name) == want);
}

static void
check_attr(const struct hexzfs_config *cfg, const struct stat *src)
{
	const mode_t never = S_IWUSR | S_IWGRP | S_IWOTH | S_ISUID | S_ISGID;
	struct stat out;
	mode_t perm;

	memset(&out, 0xa5, sizeof(out));
	entry_attr(cfg, src, &out);
	perm = out.st_mode & 07777;
	FUZZ_CHECK((out.st_mode & never) == 0);
	FUZZ_CHECK((out.st_mode & S_IFMT) == (src->st_mode & S_IFMT));
	if (cfg->set_umask)
		FUZZ_CHECK(perm == ((S_ISDIR(src->st_mode) ? 0777 : 0666) & ~cfg->umask & ~never));
	else
		FUZZ_CHECK(perm == (src->st_mode & 07777 & ~never));
	FUZZ_CHECK(out.st_uid == (cfg->set_uid ? cfg->uid : src->st_uid));
	FUZZ_CHECK(out.st_gid == (cfg->set_gid ? cfg->gid : src->st_gid));
	/* Everything else is the source's. */
	FUZZ_CHECK(out.st_dev == src->st_dev && out.st_ino == src->st_ino &&
		   out.st_nlink == src->st_nlink && out.st_rdev == src->st_rdev &&
		   out.st_size == src->st_size && out.st_blksize == src->st_blksize &&
		   out.st_blocks == src->st_blocks);
	FUZZ_CHECK(memcmp(&out.st_atim, &src->st_atim, sizeof(out.st_atim)) == 0 &&
		   memcmp(&out.st_mtim, &src->st_mtim, sizeof(out.st_mtim)) == 0 &&
		   memcmp(&out.st_ctim, &src->st_ctim, sizeof(out.st_ctim)) == 0);
}

static void
check_resolve(const struct hexzfs *fs, const char *name, const struct prepared *p)
{
	struct stat st;
	bool via_symlink = false;
	struct timespec birth;
	int ret = entry_resolve(fs, source_fd, name, &st, &birth, &via_symlink);

	if (ret == 0) {
		FUZZ_CHECK(S_ISDIR(st.st_mode) ||
			   (S_ISREG(st.st_mode) && entry_has_snapshot_suffix(name)));
		FUZZ_CHECK(!via_symlink ||
			   (S_ISREG(st.st_mode) && fs->cfg.symlinks != SYMLINKS_NONE));
		check_attr(&fs->cfg, &st);
	} else {
		FUZZ_CHECK(ret < 0);
	}
	if (p) {
		int want = fs->cfg.symlinks == SYMLINKS_ANY    ? p->any
			   : fs->cfg.symlinks == SYMLINKS_NONE ? p->none
							       : p->inside;

		FUZZ_CHECK(ret == want);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum symlink_policy policies[] = { SYMLINKS_INSIDE, SYMLINKS_ANY,
							SYMLINKS_NONE, SYMLINKS_INSIDE };
	struct fuzz_input in = { data, size };
	uint8_t flags = fuzz_u8(&in);
	struct hexzfs fs = { .source_fd = source_fd };
	const struct prepared *p = NULL;
	struct stat src;
	char *name;

	fs.cfg.source_real = source_real;
	fs.cfg.set_uid = flags & 1;
	fs.cfg.set_gid = flags & 2;
	fs.cfg.set_umask = flags & 4;
	fs.cfg.symlinks = policies[(flags >> 3) & 3];
	fs.cfg.umask = (mode_t)fuzz_uint(&in, 4);
	fs.cfg.uid = (uid_t)fuzz_uint(&in, 4);
	fs.cfg.gid = (gid_t)fuzz_uint(&in, 4);

	memset(&src, 0, sizeof(src));
	src.st_mode = (mode_t)fuzz_uint(&in, 4);
	src.st_uid = (uid_t)fuzz_uint(&in, 4);
	src.st_gid = (gid_t)fuzz_uint(&in, 4);
	src.st_size = (off_t)fuzz_uint(&in, 8);
	src.st_ino = (ino_t)fuzz_uint(&in, 8);
	src.st_nlink = 1;
	check_attr(&fs.cfg, &src);

	if (flags & 32) {
		p = &table[fuzz_u8(&in) % NTABLE];
		name = fuzz_strndup((const uint8_t *)p->name, strlen(p->name));
	} else {
		const uint8_t *nul = in.n ? memchr(in.p, '\0', in.n) : NULL;

		name = fuzz_strndup(in.p, nul ? (size_t)(nul - in.p) : in.n);
	}
	check_suffix(name);
	if ((flags & 64 || p) && !strchr(name, '/'))
		check_resolve(&fs, name, p);
	free(name);
	return 0;
}
