/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target shares: libFuzzer's entry points (declared here
 * for -Wmissing-prototypes), a reader that takes bytes off the front of the
 * input, and the check that turns a broken invariant into a crash.
 */
#ifndef HEXZFS_FUZZ_H
#define HEXZFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A broken invariant: say which, then abort() so libFuzzer keeps the input.
 * Straight to descriptor 2: fuzz_options points the stderr stream elsewhere.
 */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			dprintf(2, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The unread rest of the input. Reading past the end yields zeros. */
struct fuzz_input {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t
fuzz_u8(struct fuzz_input *in)
{
	uint8_t v = 0;

	if (in->n > 0) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

/* `bytes` bytes (at most 8), little-endian. */
static inline uint64_t
fuzz_uint(struct fuzz_input *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes && i < 8; i++)
		v |= (uint64_t)fuzz_u8(in) << (8 * i);
	return v;
}

/* A NUL-terminated copy of `len` bytes in a block of exactly that size,
 * so that AddressSanitizer sees any read past the terminator. */
static inline char *
fuzz_strndup(const uint8_t *p, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		abort();
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

#endif /* HEXZFS_FUZZ_H */
