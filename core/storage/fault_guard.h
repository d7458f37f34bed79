/* SPDX-License-Identifier: MIT */
/*
 * Copies out of a file mapping that survive the file being truncated.
 * The mechanism and its cost are described in include/hexz/storage.h.
 */
#ifndef HEXZ_CORE_FAULT_GUARD_H
#define HEXZ_CORE_FAULT_GUARD_H

#include <stddef.h>

/*
 * Install the process-wide SIGBUS handler, once; later calls are free.
 * Returns 0, or an errno value if sigaction failed.
 */
int fault_guard_install(void);

/*
 * memcpy(dst, src, len), except that a SIGBUS raised by reading src on this
 * thread makes it return HEXZ_ERR_IO instead of killing the process.
 * fault_guard_install() must have succeeded before. Returns 0 or HEXZ_ERR_IO.
 */
int fault_guard_copy(void *dst, const void *src, size_t len);

/*
 * fn(ctx, src, len), except that a SIGBUS raised by reading src on this
 * thread makes it return HEXZ_ERR_IO instead of killing the process. fn is
 * abandoned with siglongjmp() then: it must hold no lock and own no
 * allocation that it would free on its way out (decoders writing into
 * caller-owned buffers are fine). Returns what fn returned, or HEXZ_ERR_IO.
 */
int fault_guard_call(const void *src, size_t len, int (*fn)(void *ctx, const void *src, size_t len),
		     void *ctx);

#endif /* HEXZ_CORE_FAULT_GUARD_H */
