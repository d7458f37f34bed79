/* SPDX-License-Identifier: MIT */
/*
 * The CRC-32 of stored blocks (zlib's: reflected 0xEDB88320, initial value
 * and final xor 0xFFFFFFFF), from the fastest library the build found.
 */
#ifndef HEXZ_CORE_ARCHIVE_CHECKSUM_H
#define HEXZ_CORE_ARCHIVE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32 of `len` bytes at `p`. */
uint32_t block_crc32(const void *p, size_t len);

#endif /* HEXZ_CORE_ARCHIVE_CHECKSUM_H */
