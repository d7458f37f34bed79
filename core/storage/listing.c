/* SPDX-License-Identifier: MIT */
/*
 * The listing as data (see listing.h): its entries, the names it may
 * show, the counts of what it skipped. The parsers of listing_html.c and
 * listing_s3.c add entries through listing_add(), which alone decides
 * what a valid entry is.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <search.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hexz/common.h>

#include "error_set.h"
#include "listing.h"

/* What a file's name must end with to be shown: a snapshot. */
#define SNAPSHOT_SUFFIX ".hxz"

struct listing_limits
listing_limits_default(void)
{
	return (struct listing_limits){
		.max_response_bytes = LISTING_MAX_RESPONSE_BYTES_DEFAULT,
		.max_entries = LISTING_MAX_ENTRIES_DEFAULT,
		.max_pages = LISTING_MAX_PAGES_DEFAULT,
		.max_depth = LISTING_MAX_DEPTH_DEFAULT,
	};
}

const char *
listing_skip_name(enum listing_skip reason)
{
	static const char *const names[LISTING_SKIP_COUNT] = {
		[LISTING_SKIP_QUERY] = "query or fragment",
		[LISTING_SKIP_DOT_SEGMENT] = "dot segment",
		[LISTING_SKIP_OTHER_HOST] = "other host",
		[LISTING_SKIP_OUTSIDE] = "outside the directory",
		[LISTING_SKIP_DEEPER] = "deeper than one level",
		[LISTING_SKIP_MALFORMED] = "malformed",
		[LISTING_SKIP_BAD_NAME] = "invalid name",
		[LISTING_SKIP_TOO_LONG] = "name too long",
		[LISTING_SKIP_NOT_SNAPSHOT] = "not a snapshot",
		[LISTING_SKIP_DUPLICATE] = "duplicate",
		[LISTING_SKIP_BAD_FIELD] = "invalid size or date",
	};

	if ((unsigned)reason >= LISTING_SKIP_COUNT)
		return "unknown";
	return names[reason];
}

/* The tree's keys are the entries' names, freed with the entries. */
static void
no_free(void *key)
{
	(void)key;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

void
listing_free(struct listing *l)
{
	if (!l)
		return;
	tdestroy(l->names, no_free);
	for (size_t i = 0; i < l->count; i++) {
		free(l->entries[i].name);
		free(l->entries[i].etag);
	}
	free(l->entries);
	memset(l, 0, sizeof(*l));
}

size_t
listing_skipped_total(const struct listing *l)
{
	size_t total = 0;

	for (int i = 0; i < LISTING_SKIP_COUNT; i++)
		total += l->skipped[i];
	return total;
}

const struct listing_entry *
listing_find(const struct listing *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->entries[i].name, name) == 0)
			return &l->entries[i];
	return NULL;
}

bool
listing_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > NAME_MAX)
		return false;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f || c == '/')
			return false;
	}
	return true;
}

void
listing_skip(struct listing *l, enum listing_skip reason)
{
	if ((unsigned)reason < LISTING_SKIP_COUNT)
		l->skipped[reason]++;
}

static bool
is_snapshot_name(const char *name, size_t len)
{
	size_t n = strlen(SNAPSHOT_SUFFIX);

	return len >= n && memcmp(name + len - n, SNAPSHOT_SUFFIX, n) == 0;
}

int
listing_add(struct listing *l, size_t max_entries, const char *what, const char *name, size_t len,
	    bool is_dir, int64_t size, const char *etag, size_t *index, struct hexz_error *err)
{
	struct listing_entry *e;
	char *copy;
	void *slot;
	bool found;

	*index = SIZE_MAX;
	if (len > NAME_MAX) {
		listing_skip(l, LISTING_SKIP_TOO_LONG);
		return 0;
	}
	if (!listing_name_valid(name, len)) {
		listing_skip(l, LISTING_SKIP_BAD_NAME);
		return 0;
	}
	if (!is_dir && !is_snapshot_name(name, len)) {
		listing_skip(l, LISTING_SKIP_NOT_SNAPSHOT);
		return 0;
	}
	/* name[len] need not be a NUL: look it up through a copy. */
	copy = strndup(name, len);
	if (!copy)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	found = tfind(copy, &l->names, name_cmp) != NULL;
	free(copy);
	if (found) {
		listing_skip(l, LISTING_SKIP_DUPLICATE);
		return 0;
	}
	if (l->count >= max_entries)
		return error_set(err, HEXZ_ERR_LIMIT, "listing of %s: more than %zu entries", what,
				 max_entries);
	if (l->count == l->capacity) {
		size_t cap = l->capacity ? l->capacity * 2 : 16;
		struct listing_entry *grown;

		if (cap > max_entries)
			cap = max_entries;
		grown = reallocarray(l->entries, cap, sizeof(*grown));
		if (!grown)
			return error_plain(err, HEXZ_ERR_NO_MEMORY);
		l->entries = grown;
		l->capacity = cap;
	}
	e = &l->entries[l->count];
	memset(e, 0, sizeof(*e));
	e->name = strndup(name, len);
	e->etag = etag ? strdup(etag) : NULL;
	slot = e->name ? tsearch(e->name, &l->names, name_cmp) : NULL;
	if (!slot || (etag && !e->etag)) {
		if (slot)
			tdelete(e->name, &l->names, name_cmp);
		free(e->name);
		free(e->etag);
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	}
	e->is_dir = is_dir;
	e->size = is_dir ? LISTING_SIZE_UNKNOWN : size;
	*index = l->count++;
	return 0;
}
