/* SPDX-License-Identifier: MIT */
/*
 * The tree of a directory archive's manifest: every file and every
 * directory its paths imply, as one array of fixed-size nodes and one table
 * of names, no heap object per entry.
 *
 * Nodes are numbered from 0 (the root directory). After the build the
 * children of every directory are consecutive and sorted by name (bytewise),
 * so a lookup is one binary search and a listing one slice. A node costs
 * sizeof(struct mtree_node) = 40 bytes plus its name and a NUL; a manifest
 * of N files in D directories holds (N + D + 1) nodes.
 *
 * While the manifest streams in, nodes are appended in the order their
 * paths first appear and found again through a hash of (parent, name);
 * mtree_finish() drops the hash and lays the nodes out in their final order
 * in place.
 */
#ifndef HEXZ_CORE_ARCHIVE_MANIFEST_TREE_H
#define HEXZ_CORE_ARCHIVE_MANIFEST_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* No node: not found, or (during the build) no file entry. */
#define MTREE_NONE UINT32_MAX

struct mtree_node {
	uint32_t name;   /* offset of the NUL-terminated name in the name table */
	uint32_t parent; /* the root is its own parent */
	union {
		struct {
			uint64_t offset; /* in the main stream */
			uint64_t size;
		} file;
		struct {
			uint32_t first_child; /* after mtree_finish() */
			uint32_t child_count;
		} dir;
	} u;
	int64_t mtime;  /* files */
	uint32_t mode;  /* files: st_mode as written (S_IFREG); directories: S_IFDIR */
	/*
	 * During the build: the document index of the first valid entry that
	 * named this path (a file, or a file left out because the path is
	 * also a directory), or MTREE_NONE. Unused after.
	 */
	uint32_t entry;
};

struct mtree {
	struct mtree_node *nodes;
	uint32_t count; /* nodes, the root included */
	uint32_t files;
	char *names;
	size_t names_len;
	/* The build's hash of (parent, name) -> node; NULL after mtree_finish(). */
	uint64_t *slots;
	size_t nslots; /* a power of two; slot value 0 is empty (the root is never a child) */
	size_t nodes_cap, names_cap;
};

/* What mtree_add_file() did with an entry. */
enum mtree_outcome {
	MTREE_ADDED,
	MTREE_DUPLICATE, /* same path as entry *other */
	MTREE_DIRECTORY, /* the path is a directory of other entries: left out */
};

/* An empty tree: the root alone. 0 or HEXZ_ERR_NO_MEMORY. */
int mtree_init(struct mtree *t);

/*
 * Add valid entry `index` of the document: a file at `path` (`len` bytes,
 * already checked: relative, no empty, "." or ".." component).
 * - MTREE_ADDED: a new file node.
 * - MTREE_DUPLICATE: an earlier entry, *other, named the same path.
 * - MTREE_DIRECTORY: the path is already a directory (node *node); the
 *   entry is left out, and its partner is found once the build is done
 *   (mtree_first_entry_below()).
 * A file standing where this path needs a directory becomes that
 * directory: then *demoted is that file's entry (left out as a directory)
 * and *node its node; else *demoted is MTREE_NONE.
 * Returns 0 with *outcome set, HEXZ_ERR_NO_MEMORY, or HEXZ_ERR_LIMIT
 * (more than 2^32 - 2 nodes or 4 GiB of names).
 */
int mtree_add_file(struct mtree *t, uint32_t index, const char *path, size_t len, uint64_t offset,
		   uint64_t size, uint32_t mode, int64_t mtime, enum mtree_outcome *outcome,
		   uint32_t *other, uint32_t *node, uint32_t *demoted);

/*
 * The entry that names the smallest path below directory node `dir` (in
 * path order, '/' first), and its node in *node: the partner of a file left
 * out as a directory. Only after mtree_finish().
 */
uint32_t mtree_first_entry_below(const struct mtree *t, uint32_t dir, uint32_t *node);

/*
 * Lay the tree out (children consecutive and sorted) and free the build's
 * hash. The node indexes that *fix[0 .. nfix) hold (MTREE_NONE stays) are
 * translated to the final positions. 0 or HEXZ_ERR_NO_MEMORY.
 */
int mtree_finish(struct mtree *t, uint32_t *const *fix, size_t nfix);

void mtree_free(struct mtree *t);

static inline bool
mtree_is_dir(const struct mtree_node *n)
{
	return (n->mode & 0170000) == 0040000;
}

static inline const char *
mtree_name(const struct mtree *t, uint32_t i)
{
	return t->names + t->nodes[i].name;
}

/* Child `name` of directory node `dir` (after mtree_finish()), or MTREE_NONE. */
uint32_t mtree_lookup(const struct mtree *t, uint32_t dir, const char *name);

/*
 * The path of node `i` ("a/b/c"; "" for the root) into buf, NUL-terminated
 * and cut to fit when cap > 0. Returns the length of the whole path.
 */
size_t mtree_path(const struct mtree *t, uint32_t i, char *buf, size_t cap);

#endif /* HEXZ_CORE_ARCHIVE_MANIFEST_TREE_H */
