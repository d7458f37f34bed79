/* SPDX-License-Identifier: MIT */
/*
 * dropcache: drop the page cache of files, and only of those files.
 *
 * scripts/bench.sh runs it on a file *as seen through a mount*: the kernel
 * forgets the pages it cached for the mount's inode, while the source file
 * underneath (or the squashfs image) stays cached. That is what "cold"
 * means for a FUSE mount in the benchmark: every byte has to come through
 * the daemon again, but the daemon's own source is in memory.
 *
 * usage: dropcache FILE...    (exit status 1 if any file failed)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		int err;

		if (fd < 0) {
			fprintf(stderr, "dropcache: %s: %s\n", argv[i], strerror(errno));
			status = 1;
			continue;
		}
		/* posix_fadvise returns the error number rather than setting errno. */
		err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		if (err) {
			fprintf(stderr, "dropcache: %s: %s\n", argv[i], strerror(err));
			status = 1;
		}
		close(fd);
	}
	return status;
}
