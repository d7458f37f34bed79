/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "lease.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/vfs.h>
#include <unistd.h>

int
lease_signal(void)
{
	/* SIGRTMIN is the housekeeper's invalidation queue. */
	return SIGRTMIN + 1;
}

/*
 * Filesystems where every change to a file is made through this kernel's
 * inode, so that its leases see every writer. A list of the ones known to
 * be so rather than a list of exceptions: a filesystem missing here only
 * costs the per-read size checks.
 */
static bool
leasable_fs(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) != 0)
		return false;
	switch ((unsigned long)sfs.f_type) {
	case EXT4_SUPER_MAGIC: /* also ext2 and ext3 */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case F2FS_SUPER_MAGIC:
	case TMPFS_MAGIC:
		return true;
	default:
		errno = EOPNOTSUPP;
		return false;
	}
}

int
lease_take(int fd)
{
	struct f_owner_ex owner = { .type = F_OWNER_PID, .pid = getpid() };
	int lfd, saved;

	if (!leasable_fs(fd))
		return -1;
	/*
	 * A descriptor of its own, sharing the open file: the lease belongs to
	 * the open file, and the caller closes `fd`. The signal and its
	 * target are set before the lease, so that no break goes unheard.
	 */
	lfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (lfd < 0)
		return -1;
	if (fcntl(lfd, F_SETOWN_EX, &owner) != 0 || fcntl(lfd, F_SETSIG, lease_signal()) != 0 ||
	    fcntl(lfd, F_SETLEASE, F_RDLCK) != 0)
		goto err_close;
	return lfd;

err_close:
	saved = errno;
	close(lfd);
	errno = saved;
	return -1;
}

bool
lease_held(int lease_fd)
{
	/* A lease being broken reports what it is being broken to: F_UNLCK. */
	return fcntl(lease_fd, F_GETLEASE) == F_RDLCK;
}

void
lease_drop(int lease_fd)
{
	fcntl(lease_fd, F_SETLEASE, F_UNLCK);
	close(lease_fd);
}
