/* SPDX-License-Identifier: MIT */
/*
 * libhexz: read access to immutable snapshot files.
 *
 * Include this header alone; it pulls in the rest of the public API.
 */
#ifndef HEXZ_HEXZ_H
#define HEXZ_HEXZ_H

#include <hexz/archive.h>
#include <hexz/cache.h>
#include <hexz/common.h>
#include <hexz/remote.h>
#include <hexz/storage.h>
#include <hexz/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * hexz_version() - the version of the library actually loaded.
 *
 * Compare with HEXZ_VERSION_STRING to detect a program built against other
 * headers than the shared library it runs with.
 *
 * Return: a static string such as "0.1.0"; never NULL, never freed.
 * Thread safety: safe from any thread.
 */
HEXZ_EXPORT const char *hexz_version(void);

/**
 * hexz_version_number() - the loaded library's version as one integer.
 *
 * Return: (major << 16) | (minor << 8) | patch, comparable with
 * HEXZ_VERSION_NUMBER. Thread safety: safe from any thread.
 */
HEXZ_EXPORT unsigned int hexz_version_number(void);

#ifdef __cplusplus
}
#endif

#endif /* HEXZ_HEXZ_H */
