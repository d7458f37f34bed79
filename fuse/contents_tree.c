/* SPDX-License-Identifier: MIT */
/*
 * An archive's tree (see contents_tree.h): the library's manifest tree, or
 * the streams of an archive without a manifest.
 */
#define _GNU_SOURCE
#include "contents_tree.h"

#include <string.h>
#include <sys/stat.h>

int
contents_tree_build(struct hexz_archive *ar, struct contents_tree *out)
{
	struct hexz_archive_info info;

	memset(out, 0, sizeof(*out));
	hexz_archive_get_info(ar, &info);
	if (info.has_manifest) {
		out->archive = ar;
		out->count = hexz_archive_tree_count(ar);
		return 0;
	}
	/*
	 * Without a manifest: `main`, and `auxiliary` when it holds anything,
	 * sorted by name as every directory's children are.
	 */
	out->streams[0] = (struct tree_node){ .name = "", .is_dir = true, .first_child = 1 };
	out->count = 1;
	if (info.stream_size[HEXZ_STREAM_AUXILIARY] > 0)
		out->streams[out->count++] = (struct tree_node){
			.name = "auxiliary",
			.stream = HEXZ_STREAM_AUXILIARY,
			.size = info.stream_size[HEXZ_STREAM_AUXILIARY],
		};
	out->streams[out->count++] = (struct tree_node){
		.name = "main",
		.stream = HEXZ_STREAM_MAIN,
		.size = info.stream_size[HEXZ_STREAM_MAIN],
	};
	out->streams[0].child_count = out->count - 1;
	return 0;
}

void
contents_tree_free(struct contents_tree *t)
{
	memset(t, 0, sizeof(*t));
}

uint32_t
contents_tree_count(const struct contents_tree *t)
{
	return t->count;
}

void
contents_tree_get(const struct contents_tree *t, uint32_t i, struct tree_node *out)
{
	struct hexz_tree_node n;

	if (!t->archive) {
		*out = t->streams[i];
		return;
	}
	/* i < count: cannot fail. */
	(void)hexz_archive_tree_node(t->archive, i, &n);
	*out = (struct tree_node){
		.name = n.name,
		.parent = n.parent,
		.first_child = n.first_child,
		.child_count = n.child_count,
		.is_dir = n.is_dir,
		.from_manifest = !n.is_dir,
		.stream = HEXZ_STREAM_MAIN,
		.mode = n.mode,
		.mtime = n.mtime,
		.offset = n.offset,
		.size = n.size,
	};
}

uint32_t
contents_tree_lookup(const struct contents_tree *t, uint32_t dir, const char *name)
{
	uint32_t i;

	if (t->archive)
		return hexz_archive_tree_lookup(t->archive, dir, name);
	if (dir != 0)
		return TREE_NONE;
	for (i = 1; i < t->count; i++)
		if (strcmp(t->streams[i].name, name) == 0)
			return i;
	return TREE_NONE;
}
