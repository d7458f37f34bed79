/* SPDX-License-Identifier: MIT */
/*
 * Test helper for test_contents_meta.sh, preloaded into hexzfs: an archive
 * whose path contains HEXZFS_SHIM_SLOW takes HEXZFS_SHIM_DELAY_MS (default
 * 5000 ms) longer to open, as a very large manifest would. Each such open
 * first appends a line to HEXZFS_SHIM_LOG, so the test knows when an open
 * is under way and how many there were.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* archive.h alone: hexz.h needs the generated version.h of a build tree. */
#include <hexz/archive.h>

typedef int (*open_fn)(struct hexz_storage *, const struct hexz_archive_options *,
		       struct hexz_archive **, struct hexz_error *);

static void
note_open(const char *location)
{
	const char *log = getenv("HEXZFS_SHIM_LOG");
	char line[4200];
	int fd, n;

	if (!log)
		return;
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "opening %s\n", location);
	if (n > 0 && (size_t)n < sizeof(line) && write(fd, line, (size_t)n) != n)
		n = -1;
	close(fd);
}

int
hexz_archive_open(struct hexz_storage *storage, const struct hexz_archive_options *opts,
		  struct hexz_archive **out, struct hexz_error *err)
{
	static open_fn real_open;
	const char *slow = getenv("HEXZFS_SHIM_SLOW");
	const char *delay = getenv("HEXZFS_SHIM_DELAY_MS");

	if (!real_open)
		real_open = (open_fn)dlsym(RTLD_NEXT, "hexz_archive_open");
	if (!real_open)
		abort();
	if (slow && *slow && opts && opts->location && strstr(opts->location, slow)) {
		long ms = delay ? atol(delay) : 5000;
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		note_open(opts->location);
		while (nanosleep(&ts, &ts) != 0)
			;
	}
	return real_open(storage, opts, out, err);
}
