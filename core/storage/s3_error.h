/* SPDX-License-Identifier: MIT */
/*
 * S3's error documents, private to libhexz: the <Code> of
 * <Error><Code>NoSuchKey</Code>...</Error>, for messages.
 */
#ifndef HEXZ_CORE_STORAGE_S3_ERROR_H
#define HEXZ_CORE_STORAGE_S3_ERROR_H

#include <stddef.h>

/*
 * The Code of the S3 error document in `body` (`len` bytes, untrusted)
 * into `out` (`size` bytes, at least 1), printable ASCII only; "" when the
 * body is not such a document. Thread-safe.
 */
void s3_error_code(const char *body, size_t len, char *out, size_t size);

#endif /* HEXZ_CORE_STORAGE_S3_ERROR_H */
