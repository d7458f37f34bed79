// SPDX-License-Identifier: MIT
//
// The public header from C++11 with every warning an error (see
// meson.build). Linking proves the extern "C" blocks are right: without
// them the calls would name C++-mangled symbols the library lacks.
#include <hexz/hexz.h>

#include <cstring>

int
main()
{
	hexz_storage *st = nullptr;
	unsigned char byte;

	if (std::strcmp(hexz_version(), HEXZ_VERSION_STRING) != 0)
		return 1;
	if (hexz_version_number() != HEXZ_VERSION_NUMBER)
		return 1;
	if (hexz_mmap_open(nullptr, &st, nullptr) != HEXZ_ERR_INVALID_ARGUMENT)
		return 1;
	if (hexz_mmap_open_fd(-1, &st, nullptr) != HEXZ_ERR_INVALID_ARGUMENT)
		return 1;
	if (hexz_storage_read_exact(st, 0, 1, &byte) != HEXZ_ERR_INVALID_ARGUMENT)
		return 1;
	hexz_storage_close(st);
	return hexz_strerror(HEXZ_OK)[0] != '\0' && hexz_storage_len(st) == 0 ? 0 : 1;
}
