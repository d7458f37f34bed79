/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "bdi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Undo mountinfo's octal escapes (\040 for space and so on) in place. */
static void
unescape_octal(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/*
 * The device ("MAJ:MIN") of a FUSE mount at `mountpoint`, from one
 * mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] -
 * FSTYPE SOURCE SUPEROPTS". Returns 1 on a match.
 */
int
bdi_match_mountinfo_line(char *line, const char *mountpoint, char *dev, size_t devlen)
{
	char *sep = strstr(line, " - ");
	char *fields[5];
	char *save = NULL;

	if (!sep || strncmp(sep + 3, "fuse", 4) != 0)
		return 0;
	*sep = '\0';
	for (int i = 0; i < 5; i++) {
		fields[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!fields[i])
			return 0;
	}
	unescape_octal(fields[4]);
	if (strcmp(fields[4], mountpoint) != 0)
		return 0;
	snprintf(dev, devlen, "%s", fields[2]);
	return 1;
}

int
bdi_set_readahead(const char *mountpoint, unsigned int kb)
{
	char dev[64] = "";
	char path[128];
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		bdi_match_mountinfo_line(line, mountpoint, dev,
					 sizeof(dev)); /* the last match wins */
	}
	free(line);
	fclose(f);
	if (!dev[0])
		return -ENOENT;

	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "%u\n", kb) < 0)
		ret = -EIO;
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	return ret;
}
