/* SPDX-License-Identifier: MIT */
/* The one place where libhexz result codes become errno values for FUSE. */
#ifndef HEXZFS_ERRNO_MAP_H
#define HEXZFS_ERRNO_MAP_H

/*
 * The positive errno to reply with for hexz_status `status`. `os_errno`,
 * when non-zero, is the system's own reason and wins: it is more precise.
 */
int errno_from_hexz(int status, int os_errno);

#endif /* HEXZFS_ERRNO_MAP_H */
