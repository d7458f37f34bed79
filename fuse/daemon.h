/* SPDX-License-Identifier: MIT */
/*
 * Going to the background with real readiness.
 *
 * fuse_daemonize() lets the parent exit as soon as the child exists, before
 * the kernel's INIT has been answered. hexzfs's parent instead waits until
 * the child has processed INIT, then checks that the mount answers a
 * stat(2), and only then exits 0: a script that runs hexzfs and then reads
 * the mount never races the daemon, and a daemon that dies while starting
 * is reported as a failure, with the mount undone.
 */
#ifndef HEXZFS_DAEMON_H
#define HEXZFS_DAEMON_H

#include "hexzfs.h"

/*
 * Fork. Returns in the child only (0), after setsid() and chdir("/"),
 * with fs->ready_fd set. The parent never returns: it exits 0 once the
 * mount answers, or unmounts and exits 1 if the child dies first.
 * Returns -1 if the fork itself failed (then nothing changed).
 */
int daemon_start(struct hexzfs *fs, const char *mountpoint);

/*
 * Tell the waiting parent that INIT was processed, and detach from the
 * terminal: stdio goes to /dev/null and messages to syslog. Called once,
 * from the INIT callback; does nothing in the foreground.
 */
void daemon_ready(struct hexzfs *fs);

#endif /* HEXZFS_DAEMON_H */
