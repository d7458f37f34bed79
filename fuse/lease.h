/* SPDX-License-Identifier: MIT */
/*
 * Read leases on snapshot files: how the raw view learns of a writer
 * before it can change a file, instead of checking the size on every read.
 *
 * A read lease (fcntl F_SETLEASE, F_RDLCK) on a file is granted only while
 * no one has it open for writing, and the kernel breaks it before any
 * open for writing and any truncate(2) of the file by any process, through
 * any name or link: the writer waits in the kernel until the holder lets
 * go of the lease (or /proc/sys/fs/lease-break-time passes, 45 s by
 * default), and the holder is sent a signal naming the descriptor. Every
 * way to shrink a file (truncate(2), ftruncate(2), open with O_TRUNC,
 * fallocate(2) punching a hole) goes through one of the two, so while the
 * daemon holds a lease, the file it maps cannot change.
 *
 * Only files on local disk filesystems are leased (see lease.c): on
 * network and FUSE filesystems other hosts change files without breaking
 * local leases, and on overlayfs a change to the lower file bypasses the
 * upper inode's.
 */
#ifndef HEXZFS_LEASE_H
#define HEXZFS_LEASE_H

#include <stdbool.h>

/* The real-time signal a breaking lease sends, with the descriptor in si_fd. */
int lease_signal(void);

/*
 * Take a read lease on the file open (read-only) on `fd`, through a
 * descriptor of its own. Returns that descriptor, or -1 when the file
 * cannot be leased: open for writing somewhere, on a filesystem that is
 * not leased, or not the daemon's to lease (not its owner, no
 * CAP_LEASE); errno tells which. The lease lives until the returned
 * descriptor and every mapping made from `fd` are closed, or until
 * lease_drop().
 */
int lease_take(int fd);

/* Whether the lease on `lease_fd` is still held and not being broken. */
bool lease_held(int lease_fd);

/* Let go of the lease on `lease_fd` (the waiting writer goes on) and close it. */
void lease_drop(int lease_fd);

#endif /* HEXZFS_LEASE_H */
