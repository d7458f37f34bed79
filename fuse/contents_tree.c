/* SPDX-License-Identifier: MIT */
/*
 * Building an archive's tree (see contents_tree.h). The manifest arrives
 * validated and sorted by path; the tree is built as a trie whose children
 * sit in per-directory growing arrays, then laid out breadth first so that
 * every directory's children are consecutive and sorted.
 */
#define _GNU_SOURCE
#include "contents_tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A node while the tree is built: names point into the manifest's paths. */
struct draft {
	const char *name;
	size_t name_len;
	uint32_t *children;
	uint32_t child_count, child_cap;
	uint32_t last_child; /* the most recent child: manifests come sorted */
	bool is_dir;
	const struct hexz_manifest_entry *entry; /* files */
};

struct builder {
	struct draft *drafts;
	uint32_t count, cap;
	size_t names_len;
	const struct draft *sort_base; /* for the qsort comparator */
};

static int
add_draft(struct builder *b, uint32_t parent, const char *name, size_t len, bool is_dir,
	  uint32_t *out)
{
	struct draft *p;

	if (b->count == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 64;
		struct draft *grown = realloc(b->drafts, cap * sizeof(*grown));

		if (!grown || cap < b->cap)
			return -ENOMEM;
		b->drafts = grown;
		b->cap = cap;
	}
	b->drafts[b->count] = (struct draft){ .name = name, .name_len = len, .is_dir = is_dir };
	p = &b->drafts[parent];
	if (b->count > 0) {
		if (p->child_count == p->child_cap) {
			uint32_t cap = p->child_cap ? p->child_cap * 2 : 8;
			uint32_t *grown = realloc(p->children, cap * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			p->children = grown;
			p->child_cap = cap;
		}
		p->children[p->child_count++] = b->count;
		p->last_child = b->count;
	}
	b->names_len += len + 1;
	*out = b->count++;
	return 0;
}

/*
 * The child directory `name` of `parent`, created if needed. Sorted input
 * means an existing one is the parent's most recent child.
 */
static int
child_dir(struct builder *b, uint32_t parent, const char *name, size_t len, uint32_t *out)
{
	const struct draft *p = &b->drafts[parent];

	if (p->child_count > 0) {
		const struct draft *last = &b->drafts[p->last_child];

		if (last->is_dir && last->name_len == len && memcmp(last->name, name, len) == 0) {
			*out = p->last_child;
			return 0;
		}
	}
	return add_draft(b, parent, name, len, true, out);
}

static int
add_manifest_file(struct builder *b, const struct hexz_manifest_entry *e)
{
	const char *p = e->path;
	uint32_t dir = 0, idx;
	const char *slash;
	int ret;

	while ((slash = strchr(p, '/')) != NULL) {
		ret = child_dir(b, dir, p, (size_t)(slash - p), &dir);
		if (ret)
			return ret;
		p = slash + 1;
	}
	ret = add_draft(b, dir, p, strlen(p), false, &idx);
	if (ret == 0)
		b->drafts[idx].entry = e;
	return ret;
}

static int
compare_names(const void *va, const void *vb, void *vbase)
{
	const struct draft *base = vbase;
	const struct draft *a = &base[*(const uint32_t *)va], *b = &base[*(const uint32_t *)vb];
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);

	return c ? c : (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

/* Lay the drafts out breadth first, children sorted and consecutive. */
static int
lay_out(struct builder *b, const struct hexz_archive_info *info, struct contents_tree *t)
{
	uint32_t *order = malloc(b->count * sizeof(*order));
	uint32_t head = 0, tail = 1, i;
	char *name_at;

	t->nodes = calloc(b->count, sizeof(*t->nodes));
	t->names = malloc(b->names_len + 1);
	if (!order || !t->nodes || !t->names) {
		free(order);
		return -ENOMEM;
	}
	t->count = b->count;
	name_at = t->names;
	order[0] = 0;
	/* order[k] is the draft laid out as node k. */
	while (head < tail) {
		uint32_t k = head++;
		struct draft *d = &b->drafts[order[k]];
		struct tree_node *n = &t->nodes[k];

		memcpy(name_at, d->name, d->name_len);
		name_at[d->name_len] = '\0';
		n->name = name_at;
		name_at += d->name_len + 1;
		n->is_dir = d->is_dir;
		if (d->entry) {
			n->from_manifest = true;
			n->stream = HEXZ_STREAM_MAIN;
			n->offset = d->entry->offset;
			n->size = d->entry->size;
			n->mode = d->entry->mode;
			n->mtime = d->entry->mtime;
		}
		/* A file or an empty directory has no children array (NULL),
		 * which qsort_r() must not be given even for zero elements. */
		if (d->child_count > 1)
			qsort_r(d->children, d->child_count, sizeof(*d->children), compare_names,
				b->drafts);
		n->first_child = tail;
		n->child_count = d->child_count;
		for (i = 0; i < d->child_count; i++) {
			t->nodes[tail].parent = k;
			order[tail++] = d->children[i];
		}
	}
	(void)info;
	free(order);
	return 0;
}

/* Without a manifest: `main`, and `auxiliary` when it holds anything. */
static int
add_streams(struct builder *b, const struct hexz_archive_info *info)
{
	uint32_t idx;
	int ret = add_draft(b, 0, "main", 4, false, &idx);

	if (ret == 0 && info->stream_size[HEXZ_STREAM_AUXILIARY] > 0)
		ret = add_draft(b, 0, "auxiliary", 9, false, &idx);
	return ret;
}

static void
set_stream_files(struct contents_tree *t, const struct hexz_archive_info *info)
{
	uint32_t i;

	for (i = 1; i < t->count; i++) {
		struct tree_node *n = &t->nodes[i];

		n->stream = strcmp(n->name, "main") == 0 ? HEXZ_STREAM_MAIN : HEXZ_STREAM_AUXILIARY;
		n->offset = 0;
		n->size = info->stream_size[n->stream];
	}
}

int
contents_tree_build(struct hexz_archive *ar, struct contents_tree *out)
{
	struct builder b = { 0 };
	struct hexz_archive_info info;
	size_t i, count = hexz_archive_manifest_count(ar);
	uint32_t root;
	int ret;

	memset(out, 0, sizeof(*out));
	hexz_archive_get_info(ar, &info);
	ret = add_draft(&b, 0, "", 0, true, &root);
	if (ret == 0 && info.has_manifest) {
		for (i = 0; i < count && ret == 0; i++)
			ret = add_manifest_file(&b, hexz_archive_manifest_entry(ar, i));
	} else if (ret == 0) {
		ret = add_streams(&b, &info);
	}
	if (ret == 0)
		ret = lay_out(&b, &info, out);
	if (ret == 0 && !info.has_manifest)
		set_stream_files(out, &info);
	for (i = 0; i < b.count; i++)
		free(b.drafts[i].children);
	free(b.drafts);
	if (ret)
		contents_tree_free(out);
	return ret;
}

void
contents_tree_free(struct contents_tree *t)
{
	free(t->nodes);
	free(t->names);
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
	*out = t->nodes[i];
}

uint32_t
contents_tree_lookup(const struct contents_tree *t, uint32_t dir, const char *name)
{
	const struct tree_node *d = &t->nodes[dir];
	uint32_t lo = d->first_child, hi = d->first_child + d->child_count;

	if (!d->is_dir)
		return TREE_NONE;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, t->nodes[mid].name);

		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return TREE_NONE;
}
