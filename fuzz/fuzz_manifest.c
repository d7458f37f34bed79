/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the manifest parser (core/archive/manifest.c, manifest_tree.c).
 *
 * Input: byte 0 and 1 choose where the document is cut in two (a split at
 * any byte must not change the outcome), byte 2 the main stream's size
 * (2^(byte % 64)); the rest is the metadata document.
 *
 * Invariants besides "no crash, no leak, no undefined behaviour":
 *  - the document parsed whole and in two pieces gives the same status, the
 *    same files at the same paths, and the same rejections;
 *  - on failure the status is negative, named in the error, and nothing is
 *    left to free; on success the tree is well formed: every node but the
 *    root is found by its name under its parent, the children of every
 *    directory are consecutive and strictly sorted, every directory but the
 *    root holds something, every path is relative without empty, "." or ".."
 *    components and shorter than PATH_MAX, every file lies inside the main
 *    stream, and the counts agree.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <sys/stat.h>

#include "archive/manifest.h"
#include "fuzz.h"

static int
parse_split(const char *doc, size_t len, size_t cut, uint64_t main_size, struct manifest *m,
	    struct hexz_error *err)
{
	struct manifest_parser *p;
	int ret = manifest_parser_new(main_size, &p);

	/* Only a finished parse fills *m. */
	memset(m, 0, sizeof(*m));
	if (ret)
		return ret;
	ret = manifest_parser_feed(p, doc, cut, err);
	if (ret == HEXZ_OK)
		ret = manifest_parser_feed(p, doc + cut, len - cut, err);
	if (ret == HEXZ_OK)
		ret = manifest_parser_finish(p, m, err);
	manifest_parser_free(p);
	return ret;
}

static void
check_tree(const struct manifest *m, uint64_t main_size)
{
	const struct mtree *t = &m->tree;
	uint32_t files = 0;

	FUZZ_CHECK(t->count >= 1 && t->nodes[0].parent == 0 && mtree_is_dir(&t->nodes[0]));
	for (uint32_t i = 0; i < t->count; i++) {
		const struct mtree_node *n = &t->nodes[i];
		char path[PATH_MAX];

		FUZZ_CHECK(n->name < t->names_len);
		FUZZ_CHECK(mtree_path(t, i, path, sizeof(path)) < sizeof(path));
		if (i > 0) {
			FUZZ_CHECK(path[0] != '/' && strstr(path, "//") == NULL);
			FUZZ_CHECK(mtree_lookup(t, n->parent, mtree_name(t, i)) == i);
		}
		if (!mtree_is_dir(n)) {
			files++;
			FUZZ_CHECK((n->mode & S_IFMT) == S_IFREG);
			FUZZ_CHECK(n->u.file.offset <= main_size &&
				   n->u.file.size <= main_size - n->u.file.offset);
			continue;
		}
		FUZZ_CHECK(i == 0 || n->u.dir.child_count > 0);
		FUZZ_CHECK(n->u.dir.first_child <= t->count &&
			   n->u.dir.child_count <= t->count - n->u.dir.first_child);
		for (uint32_t c = n->u.dir.first_child; c < n->u.dir.first_child + n->u.dir.child_count;
		     c++) {
			const char *name = mtree_name(t, c);

			FUZZ_CHECK(c != 0 && t->nodes[c].parent == i);
			FUZZ_CHECK(name[0] != '\0' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
			FUZZ_CHECK(c == n->u.dir.first_child || strcmp(mtree_name(t, c - 1), name) < 0);
		}
	}
	FUZZ_CHECK(files == t->files);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	size_t cut = (size_t)fuzz_u8(&in) << 8 | fuzz_u8(&in);
	uint64_t main_size = (uint64_t)1 << (fuzz_u8(&in) % 64);
	struct manifest whole, split;
	struct hexz_error e1, e2;
	int r1, r2;

	cut = in.n ? cut % (in.n + 1) : 0;
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	r1 = manifest_parse((const char *)in.p, in.n, main_size, &whole, &e1);
	r2 = parse_split((const char *)in.p, in.n, cut, main_size, &split, &e2);
	FUZZ_CHECK(r1 == r2);
	if (r1) {
		FUZZ_CHECK(r1 < 0 && e1.code == r1 && e1.message[0] != '\0');
		FUZZ_CHECK(whole.tree.nodes == NULL && split.tree.nodes == NULL);
		FUZZ_CHECK(!whole.present && whole.rejected[0] == NULL);
		return 0;
	}
	FUZZ_CHECK(whole.present == split.present);
	FUZZ_CHECK(whole.rejected_count == split.rejected_count);
	for (size_t i = 0; i < HEXZ_MANIFEST_REJECTIONS_KEPT; i++) {
		FUZZ_CHECK((whole.rejected[i] == NULL) == (i >= whole.rejected_count));
		FUZZ_CHECK(!whole.rejected[i] || strcmp(whole.rejected[i], split.rejected[i]) == 0);
	}
	if (whole.present) {
		check_tree(&whole, main_size);
		FUZZ_CHECK(whole.tree.count == split.tree.count &&
			   whole.tree.names_len == split.tree.names_len);
		FUZZ_CHECK(memcmp(whole.tree.nodes, split.tree.nodes,
				  whole.tree.count * sizeof(*whole.tree.nodes)) == 0);
		FUZZ_CHECK(memcmp(whole.tree.names, split.tree.names, whole.tree.names_len) == 0);
	}
	manifest_free(&whole);
	manifest_free(&split);
	return 0;
}
