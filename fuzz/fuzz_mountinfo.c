/* SPDX-License-Identifier: MIT */
/*
 * fuzz_mountinfo: one line of /proc/self/mountinfo against a mountpoint.
 *
 * Input: byte 0 chooses the size of the device buffer (0 to 63 bytes);
 * the rest is "MOUNTPOINT\nLINE": the mountpoint up to the first newline,
 * the line after it (newlines and all). Without a newline the whole rest
 * is the line and the mountpoint is "/mnt". Line, mountpoint and device
 * buffer are each a block of exactly their size, for AddressSanitizer.
 *
 * Checked: no crash; a match only happens for a FUSE line (the first
 * " - " is followed by the type "fuse...") and writes a NUL-terminated
 * device without spaces that fits its buffer; no match leaves the buffer
 * untouched.
 */
#include "bdi.h"
#include "fuzz.h"

#define DEV_FILL 0x5a

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	size_t devlen = fuzz_u8(&in) % 64;
	const uint8_t *nl = in.n ? memchr(in.p, '\n', in.n) : NULL;
	char *mountpoint;
	char *line;
	char *orig;
	const char *sep;
	char *dev = malloc(devlen ? devlen : 1);
	int matched;

	if (nl) {
		mountpoint = fuzz_strndup(in.p, (size_t)(nl - in.p));
		line = fuzz_strndup(nl + 1, in.n - (size_t)(nl - in.p) - 1);
	} else {
		mountpoint = fuzz_strndup((const uint8_t *)"/mnt", 4);
		line = fuzz_strndup(in.p, in.n);
	}
	orig = fuzz_strndup((const uint8_t *)line, strlen(line)); /* line is modified */
	FUZZ_CHECK(dev != NULL);
	memset(dev, DEV_FILL, devlen ? devlen : 1);

	matched = bdi_match_mountinfo_line(line, mountpoint, dev, devlen);
	FUZZ_CHECK(matched == 0 || matched == 1);
	if (matched) {
		sep = strstr(orig, " - ");
		FUZZ_CHECK(sep != NULL && strncmp(sep + 3, "fuse", 4) == 0);
	}
	if (matched && devlen > 0) {
		FUZZ_CHECK(memchr(dev, '\0', devlen) != NULL);
		FUZZ_CHECK(strchr(dev, ' ') == NULL);
	} else {
		for (size_t i = 0; i < (devlen ? devlen : 1); i++)
			FUZZ_CHECK((unsigned char)dev[i] == DEV_FILL);
	}
	free(dev);
	free(orig);
	free(line);
	free(mountpoint);
	return 0;
}
