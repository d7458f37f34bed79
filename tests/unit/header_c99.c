/* SPDX-License-Identifier: MIT */
/*
 * The public header on its own, in strict C99 with every warning an error
 * (see meson.build): a C99 program must be able to use libhexz. Running it
 * also proves that the declarations link against the library.
 */
#include <hexz/hexz.h>

#include <string.h>

int
main(void)
{
	struct hexz_storage *st = NULL;
	enum hexz_status status = HEXZ_OK;
	const void *view = NULL;
	unsigned char byte;

	if (strcmp(hexz_version(), HEXZ_VERSION_STRING) != 0)
		return 1;
	if (hexz_version_number() != HEXZ_VERSION_NUMBER)
		return 1;
	if (hexz_mmap_open(NULL, &st, NULL) != HEXZ_ERR_INVALID_ARGUMENT)
		return 1;
	if (hexz_mmap_open_fd(-1, &st, NULL) != HEXZ_ERR_INVALID_ARGUMENT)
		return 1;
	if (hexz_storage_len(st) != 0)
		return 1;
	if (hexz_storage_read_exact(st, 0, 1, &byte) != HEXZ_ERR_INVALID_ARGUMENT)
		return 1;
	if (hexz_storage_view(st, 0, 0, &view) != HEXZ_ERR_INVALID_ARGUMENT)
		return 1;
	hexz_storage_close(st);
	return hexz_strerror(status)[0] != '\0' ? 0 : 1;
}
