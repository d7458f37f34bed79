/* SPDX-License-Identifier: MIT */
/* Result codes: their messages, and how OS errors map onto them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <hexz/archive.h>
#include <hexz/common.h>

#include "errno_status.h"
#include "error_set.h"

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
	case HEXZ_ERR_NOT_ARCHIVE:
		return "not a hexz archive (no HEXZ magic)";
	case HEXZ_ERR_BAD_VERSION:
		return "unsupported hexz format version";
	case HEXZ_ERR_CORRUPT_HEADER:
		return "corrupt archive header";
	case HEXZ_ERR_CORRUPT_INDEX:
		return "corrupt archive index";
	case HEXZ_ERR_CHECKSUM:
		return "block checksum mismatch";
	case HEXZ_ERR_DECOMPRESS:
		return "block decompression failed";
	case HEXZ_ERR_PASSWORD_REQUIRED:
		return "archive is encrypted: a password is required";
	case HEXZ_ERR_WRONG_PASSWORD:
		return "wrong password";
	case HEXZ_ERR_DECRYPT:
		return "encrypted block failed authentication";
	case HEXZ_ERR_PARENT_NOT_FOUND:
		return "parent archive not found";
	case HEXZ_ERR_PARENT_REFUSED:
		return "parent archive not allowed";
	case HEXZ_ERR_PARENT_CYCLE:
		return "parent archives form a cycle";
	case HEXZ_ERR_PARENT_TOO_DEEP:
		return "parent chain too deep";
	case HEXZ_ERR_PARENT_BLOCK_MISSING:
		return "block missing from every parent archive";
	case HEXZ_ERR_CORRUPT_MANIFEST:
		return "corrupt manifest";
	case HEXZ_ERR_LIMIT:
		return "archive exceeds a limit of this reader";
	case HEXZ_ERR_NETWORK:
		return "remote server unreachable or not answering (after retries)";
	case HEXZ_ERR_CHANGED:
		return "remote object changed since it was opened";
	case HEXZ_ERR_PROTOCOL:
		return "remote server broke the HTTP range protocol";
	case HEXZ_ERR_HTTP:
		return "unexpected HTTP status from the remote server";
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

int
error_set(struct hexz_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

int
error_plain(struct hexz_error *err, int code)
{
	return error_set(err, code, "%s", hexz_strerror(code));
}
