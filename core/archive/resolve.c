/* SPDX-License-Identifier: MIT */
/*
 * Archives by path: opening an archive file, and the default way of
 * finding a parent (as hexz does: the path as written, then relative to
 * the child's directory).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hexz/archive.h>
#include <hexz/storage.h>

#include "errno_status.h"
#include "error_set.h"

/*
 * Map the regular file at `path`, learning its identity. Its type is
 * checked before it is opened, so a FIFO or device is never opened.
 */
static int
open_file(const char *path, struct hexz_storage **st, uint64_t *dev, uint64_t *ino, int *os_errno)
{
	struct stat before, after;
	int fd, ret;

	*os_errno = 0;
	if (stat(path, &before) != 0) {
		*os_errno = errno;
		return hexz_status_from_errno(errno);
	}
	if (!S_ISREG(before.st_mode))
		return HEXZ_ERR_NOT_REGULAR;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		*os_errno = errno;
		return hexz_status_from_errno(errno);
	}
	if (fstat(fd, &after) != 0 || after.st_dev != before.st_dev ||
	    after.st_ino != before.st_ino) {
		/* Swapped between the check and the open. */
		close(fd);
		return HEXZ_ERR_NOT_REGULAR;
	}
	ret = hexz_mmap_open_fd(fd, st, os_errno);
	close(fd);
	*dev = (uint64_t)after.st_dev;
	*ino = (uint64_t)after.st_ino;
	return ret;
}

static const char *
describe_open_error(int ret, int os_errno)
{
	return os_errno ? strerror(os_errno) : hexz_strerror(ret);
}

int
hexz_resolve_parent_default(void *opaque, const char *child_location, const char *parent_path,
			    struct hexz_parent *out, struct hexz_error *err)
{
	char joined[sizeof(out->location)];
	const char *slash;
	int ret, os_errno;

	(void)opaque;
	if (!child_location || !parent_path || !out || !*parent_path)
		return error_plain(err, HEXZ_ERR_INVALID_ARGUMENT);
	ret = open_file(parent_path, &out->storage, &out->dev, &out->ino, &os_errno);
	if (ret == HEXZ_OK) {
		snprintf(out->location, sizeof(out->location), "%s", parent_path);
		return HEXZ_OK;
	}
	slash = strrchr(child_location, '/');
	if (parent_path[0] != '/' && slash) {
		int n = snprintf(joined, sizeof(joined), "%.*s/%s", (int)(slash - child_location),
				 child_location, parent_path);

		if (n > 0 && (size_t)n < sizeof(joined)) {
			ret = open_file(joined, &out->storage, &out->dev, &out->ino, &os_errno);
			if (ret == HEXZ_OK) {
				memcpy(out->location, joined, (size_t)n + 1);
				return HEXZ_OK;
			}
		}
	}
	return error_set(err, HEXZ_ERR_PARENT_NOT_FOUND, "not found as written or beside %s: %s",
			 child_location, describe_open_error(ret, os_errno));
}

int
hexz_archive_open_path(const char *path, const struct hexz_archive_options *opts,
		       struct hexz_archive **out, struct hexz_error *err)
{
	struct hexz_archive_options o = { 0 };
	struct hexz_storage *st;
	uint64_t dev, ino;
	int ret, os_errno;

	if (!out)
		return error_plain(err, HEXZ_ERR_INVALID_ARGUMENT);
	*out = NULL;
	if (!path || !*path)
		return error_plain(err, HEXZ_ERR_INVALID_ARGUMENT);
	if (opts)
		o = *opts;
	ret = open_file(path, &st, &dev, &ino, &os_errno);
	if (ret)
		return error_set(err, ret, "%s: %s", path, describe_open_error(ret, os_errno));
	if (!o.location)
		o.location = path;
	if (!o.dev && !o.ino) {
		o.dev = dev;
		o.ino = ino;
	}
	ret = hexz_archive_open(st, &o, out, err);
	if (ret)
		hexz_storage_close(st);
	return ret;
}
