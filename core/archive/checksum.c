/* SPDX-License-Identifier: MIT */
/*
 * Every block read from storage has its CRC-32 checked before it is
 * decoded, so the CRC costs as much as decompressing: zlib's table-driven
 * crc32_z runs at about the speed of LZ4 itself. ISA-L computes the same
 * CRC with carry-less multiplication (PCLMULQDQ, or its equivalent on other
 * CPUs) three to four times faster; builds without it fall back to zlib.
 * Both give identical results (tests/unit/test_checksum.c).
 */
#include "checksum.h"

#if defined(HEXZ_HAVE_ISAL)
#include <isa-l/crc.h>
#else
#include <zlib.h>
#endif

uint32_t
block_crc32(const void *p, size_t len)
{
#if defined(HEXZ_HAVE_ISAL)
	/* ISA-L's gzip CRC applies zlib's initial and final inversion itself. */
	return crc32_gzip_refl(0, p, len);
#else
	return (uint32_t)crc32_z(0, p, len);
#endif
}
