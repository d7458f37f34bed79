/* SPDX-License-Identifier: MIT */
/* Result codes: their messages, and how OS errors map onto them. */
#include <errno.h>

#include <hexz/common.h>

#include "errno_status.h"

const char *
hexz_strerror(int code)
{
	switch (code) {
	case HEXZ_OK:
		return "success";
	case HEXZ_ERR_INVALID_ARGUMENT:
		return "invalid argument";
	case HEXZ_ERR_NOT_FOUND:
		return "no such file or directory";
	case HEXZ_ERR_PERMISSION:
		return "permission denied";
	case HEXZ_ERR_NO_MEMORY:
		return "out of memory or address space";
	case HEXZ_ERR_NOT_REGULAR:
		return "not a regular file";
	case HEXZ_ERR_END_OF_FILE:
		return "unexpected end of file: range lies beyond the end of the snapshot";
	case HEXZ_ERR_IO:
		return "input/output error: the snapshot could not be read (truncated or failing)";
	case HEXZ_ERR_UNSUPPORTED:
		return "operation not supported by this storage backend";
	case HEXZ_ERR_SYSTEM:
		return "operating system error";
	default:
		return "unknown libhexz error";
	}
}

int
hexz_status_from_errno(int err)
{
	switch (err) {
	case 0:
		return HEXZ_OK;
	case ENOENT:
	case ENOTDIR:
		return HEXZ_ERR_NOT_FOUND;
	case EACCES:
	case EPERM:
		return HEXZ_ERR_PERMISSION;
	case ENOMEM:
	case EOVERFLOW:
	case EFBIG:
		return HEXZ_ERR_NO_MEMORY;
	case EISDIR:
	case ENODEV:
	case ENXIO:
		return HEXZ_ERR_NOT_REGULAR;
	case EIO:
		return HEXZ_ERR_IO;
	default:
		return HEXZ_ERR_SYSTEM;
	}
}
