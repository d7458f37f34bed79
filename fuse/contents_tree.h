/* SPDX-License-Identifier: MIT */
/*
 * The tree the contents view shows inside one archive: the manifest's files
 * with the directories their paths imply, or, without a manifest, the
 * files `main` and `auxiliary` (the latter only when not empty).
 *
 * Nodes are numbered 0 (the archive's own directory) to count - 1. The
 * children of a directory are consecutive and sorted by name, so a lookup is
 * one binary search and a listing one slice. With a manifest this is the
 * library's own tree (hexz_archive_tree_*(), 40 bytes a node plus names):
 * the daemon keeps no copy of it. Without one, three nodes of its own.
 * Immutable once built.
 */
#ifndef HEXZFS_CONTENTS_TREE_H
#define HEXZFS_CONTENTS_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hexz/hexz.h>

/* Index of no node (contents_tree_lookup() found nothing). */
#define TREE_NONE UINT32_MAX

/* One node of the tree, as contents_tree_get() describes it. */
struct tree_node {
	const char *name;     /* "" for the root; owned by the tree */
	uint32_t parent;      /* the root is its own parent */
	uint32_t first_child; /* directories: children are [first_child, + child_count) */
	uint32_t child_count;
	bool is_dir;
	bool from_manifest;   /* mode and mtime are the manifest's */
	uint8_t stream;       /* files: enum hexz_stream */
	uint32_t mode;        /* manifest files: as written */
	int64_t mtime;        /* manifest files */
	uint64_t offset;      /* files: where the bytes start in the stream */
	uint64_t size;        /* files */
};

struct contents_tree {
	const struct hexz_archive *archive; /* with a manifest: its tree; else NULL */
	struct tree_node streams[3];        /* without: the root, main, auxiliary */
	uint32_t count;
};

/* Build the tree of `ar` (which must outlive it). 0 or -ENOMEM. */
int contents_tree_build(struct hexz_archive *ar, struct contents_tree *out);
void contents_tree_free(struct contents_tree *t);

/* The number of nodes, the root included. */
uint32_t contents_tree_count(const struct contents_tree *t);

/* Describe node `i` (< contents_tree_count()) into *out. */
void contents_tree_get(const struct contents_tree *t, uint32_t i, struct tree_node *out);

/* The index of child `name` of directory node `dir`, or TREE_NONE. */
uint32_t contents_tree_lookup(const struct contents_tree *t, uint32_t dir, const char *name);

#endif /* HEXZFS_CONTENTS_TREE_H */
