/* SPDX-License-Identifier: MIT */
#include <hexz/hexz.h>

const char *
hexz_version(void)
{
	return HEXZ_VERSION_STRING;
}

unsigned int
hexz_version_number(void)
{
	return HEXZ_VERSION_NUMBER;
}
