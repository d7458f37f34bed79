/* SPDX-License-Identifier: MIT */
/*
 * hexzfs: mount a directory of .hxz snapshots as read-only files.
 *
 * main() is the life of one mount, top to bottom: parse and validate the
 * command line, open the snapshot directory, create the FUSE session,
 * mount, go to the background, serve until unmounted or signalled, then
 * unwind. Every failure unwinds exactly what was done before it, so a bad
 * invocation leaves nothing mounted and no daemon behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hexz/hexz.h>

#include "contents.h"
#include "daemon.h"
#include "housekeeper.h"
#include "log.h"
#include "map_cache.h"
#include "node_table.h"
#include "ops.h"
#include "options.h"

static void
print_version(void)
{
	printf("hexzfs version %s (libhexz %s)\n", HEXZ_VERSION_STRING, hexz_version());
	fflush(stdout);
	fuse_lowlevel_version();
}

static void
print_help(const char *prog)
{
	options_print_usage(prog);
	printf("FUSE options:\n");
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

/* Open SNAPSHOT_DIR, checking it is a directory we can list. */
static int
open_source(struct hexzfs *fs)
{
	const char *src = fs->cfg.source;
	int fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "hexzfs: snapshot directory '%s': %s\n", src,
			errno == ENOTDIR ? "not a directory" : strerror(errno));
		return -1;
	}
	if (faccessat(fd, ".", R_OK | X_OK, AT_EACCESS) != 0) {
		fprintf(stderr, "hexzfs: snapshot directory '%s': %s\n", src, strerror(errno));
		close(fd);
		return -1;
	}
	fs->cfg.source_real = realpath(src, NULL);
	if (!fs->cfg.source_real) {
		fprintf(stderr, "hexzfs: snapshot directory '%s': %s\n", src, strerror(errno));
		close(fd);
		return -1;
	}
	fs->source_fd = fd;
	return 0;
}

static int
check_mountpoint(struct hexzfs *fs, const char *mountpoint)
{
	const char *src = fs->cfg.source_real;
	size_t srclen = strlen(src);
	struct stat st;
	char *real;

	if (stat(mountpoint, &st) != 0) {
		fprintf(stderr, "hexzfs: mountpoint '%s': %s%s\n", mountpoint, strerror(errno),
			errno == ENOTCONN ? " (a dead FUSE mount? try: fusermount3 -u MOUNTPOINT)"
					  : "");
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "hexzfs: mountpoint '%s': not a directory\n", mountpoint);
		return -1;
	}
	/*
	 * A mountpoint strictly inside SNAPSHOT_DIR would show the mount
	 * inside itself, and resolving it would send requests to this very
	 * daemon. Mounting over SNAPSHOT_DIR itself is fine: the daemon
	 * reaches the tree underneath through the descriptor it holds.
	 */
	real = realpath(mountpoint, NULL);
	if (!real) {
		fprintf(stderr, "hexzfs: mountpoint '%s': %s\n", mountpoint, strerror(errno));
		return -1;
	}
	if (strncmp(real, src, srclen) == 0 && (src[srclen - 1] == '/' || real[srclen] == '/')) {
		fprintf(stderr, "hexzfs: mountpoint '%s' lies inside the snapshot directory '%s'\n",
			mountpoint, fs->cfg.source);
		free(real);
		return -1;
	}
	/* Kept for later: once mounted, resolving the path would enter the mount. */
	fs->cfg.mount_real = real;
	return 0;
}

/* An archive node's reference on its mapping, dropped when the node goes. */
static void
release_archive_map(void *maps, struct snapshot_map *map)
{
	map_cache_release(maps, map, true);
}

/* The inode table and mapping cache, rooted at SNAPSHOT_DIR, and the contents view's state. */
static int
create_tables(struct hexzfs *fs)
{
	struct stat st;
	int root_fd = fcntl(fs->source_fd, F_DUPFD_CLOEXEC, 0);

	if (root_fd < 0 || fstat(root_fd, &st) != 0) {
		fprintf(stderr, "hexzfs: snapshot directory '%s': %s\n", fs->cfg.source,
			strerror(errno));
		if (root_fd >= 0)
			close(root_fd);
		return -1;
	}
	fs->nodes = node_table_new(root_fd, &st);
	fs->maps = map_cache_new(fs->cfg.map_cache, &fs->stats);
	if (!fs->nodes || !fs->maps) {
		fprintf(stderr, "hexzfs: out of memory\n");
		return -1;
	}
	node_table_on_release(fs->nodes, release_archive_map, fs->maps);
	return fs->cfg.view == VIEW_CONTENTS ? contents_setup(fs) : 0;
}

/*
 * Each directory the kernel knows costs one descriptor: allow as many as
 * the hard limit permits, as other FUSE servers do.
 */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Builds whose exit checks for leaks (ASan's LeakSanitizer) free the
 * tables one by one, so that the check covers the code that frees them.
 */
#if defined(__SANITIZE_ADDRESS__)
#define LEAK_CHECKED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEAK_CHECKED_BUILD 1
#endif
#endif
#ifndef LEAK_CHECKED_BUILD
#define LEAK_CHECKED_BUILD 0
#endif

/* What leave_tables() leaves to the kernel, reachable for leak checkers. */
static struct node_table *left_nodes;
static struct map_cache *left_maps;

/*
 * Once the mount has ended. Unmapping each cached mapping and closing each
 * directory node costs a system call apiece, about 20 us (0.2 s for 10,000
 * mappings, and up to map_cache=16384 are kept idle), and the daemon would
 * linger after its unmount all that time; the kernel takes down an exiting
 * process's mappings and descriptors in one pass, several times faster. The
 * raw view has nothing else in them to finish (nothing is written), so it
 * leaves them to the kernel. The contents view tears down for real: its
 * archives share a cache, and its password must be wiped.
 */
static void
leave_tables(struct hexzfs *fs)
{
	if (LEAK_CHECKED_BUILD || fs->contents)
		return;
	left_nodes = fs->nodes;
	left_maps = fs->maps;
	fs->nodes = NULL;
	fs->maps = NULL;
}

static int
serve(struct hexzfs *fs, const struct fuse_cmdline_opts *opts)
{
	struct fuse_loop_config *loop;
	int ret;

	if (opts->singlethread)
		return fuse_session_loop(fs->se);
	loop = fuse_loop_cfg_create();
	if (!loop)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(loop, (unsigned int)opts->clone_fd);
	fuse_loop_cfg_set_max_threads(loop, opts->max_threads);
	/* UINT_MAX means the option was not given: keep libfuse's default. */
	if (opts->max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(loop, opts->max_idle_threads);
	ret = fuse_session_loop_mt(fs->se, loop);
	fuse_loop_cfg_destroy(loop);
	return ret;
}

int
main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_lowlevel_ops ops;
	struct housekeeper hk = { 0 };
	struct hexzfs fs = { .source_fd = -1, .ready_fd = -1 };
	struct cli cli = { 0 };
	const char *mountpoint = NULL;
	int ret = 1;
	int served;

	log_init();
	/*
	 * glibc gives each new thread its own malloc arena, and each arena
	 * keeps what was freed in it. The FUSE loop's threads allocate little
	 * (requests, mappings on open) but free each other's allocations: two
	 * arenas keep the daemon's private memory flat under churn.
	 */
	mallopt(M_ARENA_MAX, 2);
	memset(&opts, 0, sizeof(opts));
	if (options_parse(&args, &fs.cfg, &cli) != 0)
		goto out_args;
	/* libfuse's parser wants the mountpoint; hand it back the last positional. */
	if (cli.npositional > 0 && fuse_opt_add_arg(&args, cli.positional[cli.npositional - 1]))
		goto out_args;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out_args;
	if (opts.show_help) {
		print_help(argv[0]);
		ret = 0;
		goto out_opts;
	}
	if (opts.show_version) {
		print_version();
		ret = 0;
		goto out_opts;
	}
	fs.cfg.foreground = opts.foreground;
	fs.cfg.debug = opts.debug;
	if (options_settle_paths(&cli, &fs.cfg, &mountpoint) != 0)
		goto out_opts;
	if (open_source(&fs) != 0)
		goto out_opts;
	if (check_mountpoint(&fs, mountpoint) != 0)
		goto out_source;
	if (create_tables(&fs) != 0)
		goto out_tables;
	if (options_add_defaults(&args, &fs.cfg) != 0)
		goto out_tables;
	raise_fd_limit();

	ops_fill(&ops, fs.cfg.view);
	fs.se = fuse_session_new(&args, &ops, sizeof(ops), &fs);
	if (!fs.se) {
		fprintf(stderr, "hexzfs: invalid FUSE options (see above, or hexzfs --help)\n");
		goto out_tables;
	}
	/* Before any thread exists, so that every thread inherits the mask. */
	if (housekeeper_block_signals() != 0)
		goto out_session;
	/*
	 * The canonical path: the daemon changes to "/" later, and libfuse
	 * unmounts by the path it was given.
	 */
	if (fuse_session_mount(fs.se, fs.cfg.mount_real) != 0) {
		fprintf(stderr, "hexzfs: cannot mount '%s' on '%s'\n", fs.cfg.source, mountpoint);
		goto out_session;
	}
	if (!opts.foreground && daemon_start(&fs, fs.cfg.mount_real) != 0)
		goto out_unmount;
	if (opts.foreground && chdir("/") != 0)
		log_msg(FUSE_LOG_WARNING, "chdir /: %s\n", strerror(errno));
	/* Worker threads, after the fork into the background: a fork keeps none. */
	if (fs.contents && contents_start(&fs) != 0)
		goto out_unmount;
	if (housekeeper_start(&hk, &fs) != 0) {
		/* Fall back to libfuse's handlers: stop signals must still work. */
		log_msg(FUSE_LOG_WARNING,
			"no housekeeper thread: SIGUSR1 and idle_timeout disabled\n");
		housekeeper_unblock_signals();
		fuse_set_signal_handlers(fs.se);
	} else {
		contents_start_fill(&fs);
		/* The housekeeper answers lease breaks; the contents view checks blocks instead. */
		if (fs.cfg.view == VIEW_RAW)
			map_cache_enable_leases(fs.maps);
	}

	served = serve(&fs, &opts);
	/*
	 * A stop on request (SIGTERM, SIGINT, SIGHUP, idle timeout) or an
	 * unmount is a success; only a failure of the session itself is not.
	 * After a lazy unmount the kernel may end the connection with
	 * ECONNABORTED rather than ENODEV once the last reader closes: that
	 * is the unmount completing, not an error.
	 */
	ret = housekeeper_stop(&hk) || served >= 0 || served == -ECONNABORTED ? 0 : 1;
	contents_stop(&fs);
	if (fs.cfg.debug) {
		stats_log(&fs.stats, node_table_count(fs.nodes), node_table_entry_lookups(fs.nodes),
			  map_cache_count(fs.maps), map_cache_leases(fs.maps));
		contents_log_stats(&fs);
	}
	leave_tables(&fs);
out_unmount:
	fuse_session_unmount(fs.se);
out_session:
	fuse_session_destroy(fs.se);
out_tables:
	/* Nodes first: archive nodes hold mappings, mappings hold archives. */
	node_table_free(fs.nodes);
	map_cache_free(fs.maps);
	contents_teardown(&fs);
out_source:
	if (fs.source_fd >= 0)
		close(fs.source_fd);
out_opts:
	free(opts.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	options_free(&cli, &fs.cfg);
	return ret;
}
