/* SPDX-License-Identifier: MIT */
#include "errno_map.h"

#include <errno.h>

#include <hexz/hexz.h>

int
errno_from_hexz(int status, int os_errno)
{
	if (os_errno > 0)
		return os_errno;
	switch (status) {
	case HEXZ_OK:
		return 0;
	case HEXZ_ERR_INVALID_ARGUMENT:
		return EINVAL;
	case HEXZ_ERR_NOT_FOUND:
		return ENOENT;
	case HEXZ_ERR_PERMISSION:
		return EACCES;
	case HEXZ_ERR_NO_MEMORY:
		return ENOMEM;
	case HEXZ_ERR_NOT_REGULAR:
		/* The entry changed type since it was looked up. */
		return ESTALE;
	case HEXZ_ERR_UNSUPPORTED:
		return EOPNOTSUPP;
	case HEXZ_ERR_END_OF_FILE:
	case HEXZ_ERR_IO:
	default:
		return EIO;
	}
}
