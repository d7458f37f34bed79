/* SPDX-License-Identifier: MIT */
/*
 * The mmap storage backend: a whole snapshot file mapped read-only.
 *
 * The descriptor is closed as soon as the mapping exists, so a process can
 * hold thousands of snapshots open without holding thousands of fds, and a
 * read is a bounds check plus a copy out of the mapping.
 */
#define _GNU_SOURCE
#include <hexz/storage.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errno_status.h"
#include "fault_guard.h"
#include "storage_backend.h"

struct mmap_storage {
	struct hexz_storage base;
	/* NULL for an empty snapshot: mmap() refuses a length of 0. */
	unsigned char *data;
};

static const struct mmap_storage *
as_mmap(const struct hexz_storage *st)
{
	return (const struct mmap_storage *)st;
}

static int
mmap_read_exact(const struct hexz_storage *st, uint64_t offset, size_t len, void *dst)
{
	return fault_guard_copy(dst, as_mmap(st)->data + offset, len);
}

static int
mmap_view(const struct hexz_storage *st, uint64_t offset, size_t len, const void **out)
{
	(void)len;
	*out = as_mmap(st)->data ? as_mmap(st)->data + offset : NULL;
	return HEXZ_OK;
}

static void
mmap_close(struct hexz_storage *st)
{
	struct mmap_storage *ms = (struct mmap_storage *)st;

	if (ms->data)
		munmap(ms->data, (size_t)ms->base.size);
	free(ms);
}

/*
 * The mapping is private and never written, so dropping its pages loses
 * nothing: the next access maps them again from the page cache.
 */
static void
mmap_trim(const struct hexz_storage *st)
{
	if (as_mmap(st)->data)
		madvise(as_mmap(st)->data, (size_t)st->size, MADV_DONTNEED);
}

static const struct hexz_storage_ops mmap_ops = {
	.read_exact = mmap_read_exact,
	.view = mmap_view,
	.trim = mmap_trim,
	.close = mmap_close,
};

/* Report an OS failure through the optional errno out-parameter. */
static int
fail_errno(int err, int *os_errno)
{
	if (os_errno)
		*os_errno = err;
	return hexz_status_from_errno(err);
}

int
hexz_mmap_open_fd(int fd, struct hexz_storage **out, int *os_errno)
{
	struct mmap_storage *ms = NULL;
	struct stat sb;
	int flags, err;

	if (os_errno)
		*os_errno = 0;
	if (!out)
		return HEXZ_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (fd < 0)
		return HEXZ_ERR_INVALID_ARGUMENT;

	err = fault_guard_install();
	if (err)
		return fail_errno(err, os_errno);
	if (fstat(fd, &sb) != 0)
		return fail_errno(errno, os_errno);
	if (!S_ISREG(sb.st_mode))
		return HEXZ_ERR_NOT_REGULAR;
	if (sb.st_size == 0) {
		/*
		 * mmap() refuses a descriptor not open for reading, but an
		 * empty file is never mapped: check the access mode here.
		 */
		flags = fcntl(fd, F_GETFL);
		if (flags < 0)
			return fail_errno(errno, os_errno);
		if (flags & O_PATH)
			return fail_errno(EBADF, os_errno);
		if ((flags & O_ACCMODE) == O_WRONLY)
			return fail_errno(EACCES, os_errno);
	}
	/* A size that does not fit in size_t cannot be mapped at all. */
	if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX)
		return fail_errno(ENOMEM, os_errno);

	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return fail_errno(ENOMEM, os_errno);
	ms->base.ops = &mmap_ops;
	ms->base.size = (uint64_t)sb.st_size;

	if (ms->base.size > 0) {
		void *map = mmap(NULL, (size_t)ms->base.size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (map == MAP_FAILED) {
			/* EACCES here means the fd was not opened for reading. */
			err = errno;
			goto err_free;
		}
		ms->data = map;
	}
	*out = &ms->base;
	return HEXZ_OK;

err_free:
	free(ms);
	return fail_errno(err, os_errno);
}

int
hexz_mmap_open(const char *path, struct hexz_storage **out, int *os_errno)
{
	struct stat sb;
	int fd;
	int ret;

	if (os_errno)
		*os_errno = 0;
	if (!out)
		return HEXZ_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if (!path || !*path)
		return HEXZ_ERR_INVALID_ARGUMENT;

	/*
	 * Check the type before opening: opening a device can have side
	 * effects (a tape rewinds), and there is no reason to try.
	 */
	if (stat(path, &sb) != 0)
		return fail_errno(errno, os_errno);
	if (!S_ISREG(sb.st_mode))
		return HEXZ_ERR_NOT_REGULAR;

	/*
	 * O_NONBLOCK: if the path was swapped for a FIFO since the stat, the
	 * open must not wait for a writer; hexz_mmap_open_fd() then refuses it.
	 */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(errno, os_errno);
	ret = hexz_mmap_open_fd(fd, out, os_errno);
	close(fd);
	return ret;
}
