/* SPDX-License-Identifier: MIT */
/*
 * Shared definitions of the libhexz public API: symbol export and the
 * error codes every function returns.
 */
#ifndef HEXZ_COMMON_H
#define HEXZ_COMMON_H

#if defined(__GNUC__)
#define HEXZ_EXPORT __attribute__((visibility("default")))
#else
#define HEXZ_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Result codes. Every libhexz function that can fail returns 0 (HEXZ_OK) on
 * success or one of these negative values. Where an operating system call
 * was the cause, the functions that say so also report its errno through an
 * optional out-parameter, so nothing is lost in the translation.
 */
enum hexz_status {
	HEXZ_OK = 0,
	/** A required pointer was NULL or an argument is out of its domain. */
	HEXZ_ERR_INVALID_ARGUMENT = -1,
	/** The path, or a directory on the way to it, does not exist (ENOENT, ENOTDIR). */
	HEXZ_ERR_NOT_FOUND = -2,
	/** The caller may not read the file (EACCES, EPERM). */
	HEXZ_ERR_PERMISSION = -3,
	/** Out of memory or address space for the mapping (ENOMEM). */
	HEXZ_ERR_NO_MEMORY = -4,
	/** The path names a directory, device, FIFO, socket or other non-regular file. */
	HEXZ_ERR_NOT_REGULAR = -5,
	/** The requested range ends beyond the end of the snapshot. */
	HEXZ_ERR_END_OF_FILE = -6,
	/** The bytes could not be read: the file shrank under the mapping, or the device failed. */
	HEXZ_ERR_IO = -7,
	/** This backend does not offer the requested operation. */
	HEXZ_ERR_UNSUPPORTED = -8,
	/** Any other operating system failure (EMFILE, ELOOP, ENAMETOOLONG, ...): see the reported
	   errno. */
	HEXZ_ERR_SYSTEM = -9,
	/** The file is not a hexz archive: it does not start with the magic "HEXZ". */
	HEXZ_ERR_NOT_ARCHIVE = -10,
	/** The archive's format version is not one this library reads (only 1). */
	HEXZ_ERR_BAD_VERSION = -11,
	/** A header field is invalid or points outside the file. */
	HEXZ_ERR_CORRUPT_HEADER = -12,
	/** The master index or an index page is invalid or inconsistent. */
	HEXZ_ERR_CORRUPT_INDEX = -13,
	/** A block's stored bytes do not match their CRC-32. */
	HEXZ_ERR_CHECKSUM = -14,
	/** A block does not decompress to its recorded length. */
	HEXZ_ERR_DECOMPRESS = -15,
	/** The archive is encrypted and no password was given. */
	HEXZ_ERR_PASSWORD_REQUIRED = -16,
	/** The password does not decrypt the archive. */
	HEXZ_ERR_WRONG_PASSWORD = -17,
	/** An encrypted block fails authentication: it was altered. */
	HEXZ_ERR_DECRYPT = -18,
	/** A parent archive of a thin archive cannot be found or opened. */
	HEXZ_ERR_PARENT_NOT_FOUND = -19,
	/** A parent archive lies where the caller does not allow parents. */
	HEXZ_ERR_PARENT_REFUSED = -20,
	/** The parent chain leads back to an archive already in it. */
	HEXZ_ERR_PARENT_CYCLE = -21,
	/** The parent chain is deeper than HEXZ_MAX_PARENT_DEPTH. */
	HEXZ_ERR_PARENT_TOO_DEEP = -22,
	/** A block that refers to the parents is stored in none of them. */
	HEXZ_ERR_PARENT_BLOCK_MISSING = -23,
	/** The metadata is not a valid manifest document. */
	HEXZ_ERR_CORRUPT_MANIFEST = -24,
	/** A field exceeds a limit of this reader (sizes, counts, work). */
	HEXZ_ERR_LIMIT = -25,
	/** A remote server could not be reached, or stopped answering, after every retry. */
	HEXZ_ERR_NETWORK = -26,
	/** The remote object changed since it was opened (412, another length or ETag). */
	HEXZ_ERR_CHANGED = -27,
	/** The server broke HTTP's rules for a range request (Range ignored, wrong
	   Content-Range, a body of the wrong length, no validator, an answer
	   that is not HTTP after every retry). */
	HEXZ_ERR_PROTOCOL = -28,
	/** The server answered with an HTTP status this library does not expect. */
	HEXZ_ERR_HTTP = -29,
};

/**
 * hexz_strerror() - describe a result code.
 * @code: a value of enum hexz_status (0 or negative).
 *
 * Return: a static, NUL-terminated English sentence fragment; never NULL.
 * An unknown code yields "unknown libhexz error". The string is owned by the
 * library and must not be freed.
 *
 * Thread safety: safe to call from any thread at any time.
 */
HEXZ_EXPORT const char *hexz_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* HEXZ_COMMON_H */
