/* SPDX-License-Identifier: MIT */
/*
 * Test helper for test_lifecycle.sh, preloaded into hexzfs: before each
 * read(2) of /dev/fuse it sleeps HEXZFS_SHIM_DELAY_MS (default 1000 ms).
 *
 * A FUSE loop checks whether it was told to stop, then blocks reading the
 * next request. A stop signal that arrives between the two is handled at
 * once (the handler only sets the flag) and then the read blocks until some
 * request comes: the stop is lost. The sleep stretches that window from a
 * few instructions to a second, so the test can aim a signal into it. A
 * daemon that stops reliably passes; one that relies on the read being
 * interrupted hangs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static ssize_t (*real_read)(int, void *, size_t);

static int
is_fuse_device(int fd)
{
	char link[64], target[16];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, target, sizeof(target));
	return len == 9 && memcmp(target, "/dev/fuse", 9) == 0;
}

ssize_t
read(int fd, void *buf, size_t count)
{
	if (!real_read) {
		void *sym = dlsym(RTLD_NEXT, "read");

		memcpy(&real_read, &sym, sizeof(real_read));
	}
	if (is_fuse_device(fd)) {
		const char *ms = getenv("HEXZFS_SHIM_DELAY_MS");
		long delay = ms ? strtol(ms, NULL, 10) : 1000;
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };

		/* A signal cuts the sleep short; its handler has run by then. */
		nanosleep(&ts, NULL);
	}
	return real_read(fd, buf, count);
}
