/* SPDX-License-Identifier: MIT */
/* Memory for secrets: its own mapping, out of core dumps, wiped (see secret_buf.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "secret_buf.h"

int
secret_buf_init(struct secret_buf *sb, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	memset(sb, 0, sizeof(*sb));
	if (size == 0)
		size = 1;
	if (size > SIZE_MAX - page) {
		errno = ENOMEM;
		return -1;
	}
	size = (size + page - 1) / page * page;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	/*
	 * Both are protections, not requirements: a kernel without
	 * MADV_DONTDUMP or a process at its RLIMIT_MEMLOCK still gets working
	 * memory, only less protected.
	 */
	(void)madvise(p, size, MADV_DONTDUMP);
	(void)mlock(p, size);
	sb->base = p;
	sb->size = size;
	return 0;
}

char *
secret_buf_strndup(struct secret_buf *sb, const char *s, size_t len)
{
	char *out;

	if (!sb->base || len >= sb->size - sb->used)
		return NULL;
	out = (char *)sb->base + sb->used;
	memcpy(out, s, len);
	out[len] = '\0';
	sb->used += len + 1;
	return out;
}

void
secret_buf_release(struct secret_buf *sb)
{
	if (!sb->base)
		return;
	explicit_bzero(sb->base, sb->size);
	(void)munlock(sb->base, sb->size);
	(void)munmap(sb->base, sb->size);
	memset(sb, 0, sizeof(*sb));
}
