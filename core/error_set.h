/* SPDX-License-Identifier: MIT */
/* Filling a struct hexz_error: the code and a sentence for the user. */
#ifndef HEXZ_CORE_ERROR_SET_H
#define HEXZ_CORE_ERROR_SET_H

#include <hexz/archive.h>

/*
 * Set `err` (may be NULL) to `code` and the formatted message, and return
 * `code`, so that a failure reads `return error_set(err, CODE, "...")`.
 */
int error_set(struct hexz_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* error_set() with hexz_strerror(code) as the message. */
int error_plain(struct hexz_error *err, int code);

#endif /* HEXZ_CORE_ERROR_SET_H */
