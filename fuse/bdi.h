/* SPDX-License-Identifier: MIT */
/*
 * Read-ahead of the mount's backing device info (bdi).
 *
 * The kernel gives a FUSE mount 128 KiB of read-ahead, and the daemon can
 * only lower it during INIT. Sequential reads then reach the daemon as
 * 128 KiB requests, one round trip each; a larger window lets the kernel
 * send requests of up to max_pages (1 MiB with libfuse), which is what
 * cold sequential reads need. The window is raised through
 * /sys/class/bdi/MAJ:MIN/read_ahead_kb, which only root may write.
 */
#ifndef HEXZFS_BDI_H
#define HEXZFS_BDI_H

#include <stddef.h>

/*
 * Set the read-ahead of the FUSE mount at `mountpoint` (a canonical path)
 * to `kb` KiB. Reads /proc/self/mountinfo and sysfs only: it never touches
 * the mount itself, so it is safe before the session loop runs.
 * Returns 0 or -errno.
 */
int bdi_set_readahead(const char *mountpoint, unsigned int kb);

/*
 * Parse one line of /proc/self/mountinfo (modified in place). When it is a
 * FUSE mount at `mountpoint`, copy its "MAJ:MIN" into dev and return 1;
 * else return 0. Exposed for the fuzzer.
 */
int bdi_match_mountinfo_line(char *line, const char *mountpoint, char *dev, size_t devlen);

#endif /* HEXZFS_BDI_H */
