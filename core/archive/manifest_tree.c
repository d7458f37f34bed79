/* SPDX-License-Identifier: MIT */
/*
 * Building and reading a manifest's tree (see manifest_tree.h).
 *
 * Memory. The build holds the nodes (40 bytes each), the names, and a hash
 * of 8-byte slots at most 70% full (11 to 23 bytes a node; up to 34 while
 * it grows). mtree_finish() frees the hash before it takes two u32 arrays
 * (8 bytes a node) to lay the nodes out in place. So the peak stays within
 * about 75 bytes a node plus the names, and the result is 40 bytes plus the
 * names.
 *
 * A slot holds a node and 32 bits of its hash: a probe looks at a node's
 * name only when those bits match, and the hash grows without reading a
 * name.
 */
#define _GNU_SOURCE
#include "manifest_tree.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hexz/common.h>

#define INITIAL_SLOTS 1024u
/* Node indexes are u32 and MTREE_NONE is taken. */
#define MAX_NODES (UINT32_MAX - 1u)

static uint32_t
hash_name(uint32_t parent, const char *name, size_t len)
{
	/* FNV-1a over the name, seeded with the parent. */
	uint64_t h = 1469598103934665603ull ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ull);

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
	return (uint32_t)(h ^ (h >> 32));
}

/* A slot: the node in the low half, its hash in the high half; 0 is empty. */
static inline uint32_t
slot_node(uint64_t slot)
{
	return (uint32_t)slot;
}

static inline uint32_t
slot_hash(uint64_t slot)
{
	return (uint32_t)(slot >> 32);
}

int
mtree_init(struct mtree *t)
{
	memset(t, 0, sizeof(*t));
	t->nodes_cap = 64;
	t->names_cap = 4096;
	t->nslots = INITIAL_SLOTS;
	t->nodes = malloc(t->nodes_cap * sizeof(*t->nodes));
	t->names = malloc(t->names_cap);
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (!t->nodes || !t->names || !t->slots) {
		mtree_free(t);
		return HEXZ_ERR_NO_MEMORY;
	}
	/* The root: name "" at offset 0, its own parent. */
	t->names[0] = '\0';
	t->names_len = 1;
	t->nodes[0] = (struct mtree_node){ .mode = S_IFDIR, .entry = MTREE_NONE };
	t->count = 1;
	return HEXZ_OK;
}

void
mtree_free(struct mtree *t)
{
	free(t->nodes);
	free(t->names);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* Whether node i is child `name` (len bytes) of `parent`. */
static bool
node_is(const struct mtree *t, uint32_t i, uint32_t parent, const char *name, size_t len)
{
	const char *have = t->names + t->nodes[i].name;

	return t->nodes[i].parent == parent && memcmp(have, name, len) == 0 && have[len] == '\0';
}

/*
 * The slot of child `name` of `parent` (hash `h`), or of the empty slot
 * where it would go.
 */
static size_t
find_slot(const struct mtree *t, uint32_t h, uint32_t parent, const char *name, size_t len)
{
	size_t mask = t->nslots - 1, k = (size_t)h & mask;
	uint64_t slot;

	while ((slot = t->slots[k]) != 0 &&
	       (slot_hash(slot) != h || !node_is(t, slot_node(slot), parent, name, len)))
		k = (k + 1) & mask;
	return k;
}

static int
grow_slots(struct mtree *t)
{
	/* At most 2^32 slots: a slot's 32 hash bits place it. */
	size_t n = t->nslots * 2, mask = n - 1;
	uint64_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return HEXZ_ERR_NO_MEMORY;
	for (size_t i = 0; i < t->nslots; i++) {
		uint64_t slot = t->slots[i];
		size_t k;

		if (!slot)
			continue;
		k = (size_t)slot_hash(slot) & mask;
		while (slots[k])
			k = (k + 1) & mask;
		slots[k] = slot;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
	return HEXZ_OK;
}

/* Room for `more` bytes in an array of `*cap`; doubles. */
static int
reserve(void **p, size_t *cap, size_t used, size_t more, size_t elem)
{
	size_t want = *cap;
	void *grown;

	if (used + more <= *cap)
		return HEXZ_OK;
	while (want < used + more)
		want *= 2;
	grown = reallocarray(*p, want, elem);
	if (!grown)
		return HEXZ_ERR_NO_MEMORY;
	*p = grown;
	*cap = want;
	return HEXZ_OK;
}

/* Append child `name` of `parent` (hash h) in slot k; its index in *out. */
static int
add_node(struct mtree *t, size_t k, uint32_t h, uint32_t parent, const char *name, size_t len,
	 uint32_t mode, uint32_t *out)
{
	int ret;

	if (t->count >= MAX_NODES || t->names_len + len + 1 > UINT32_MAX)
		return HEXZ_ERR_LIMIT;
	ret = reserve((void **)&t->nodes, &t->nodes_cap, t->count, 1, sizeof(*t->nodes));
	if (ret == HEXZ_OK)
		ret = reserve((void **)&t->names, &t->names_cap, t->names_len, len + 1, 1);
	if (ret)
		return ret;
	memcpy(t->names + t->names_len, name, len);
	t->names[t->names_len + len] = '\0';
	t->nodes[t->count] = (struct mtree_node){
		.name = (uint32_t)t->names_len,
		.parent = parent,
		.mode = mode,
		.entry = MTREE_NONE,
	};
	t->names_len += len + 1;
	t->slots[k] = (uint64_t)h << 32 | t->count;
	*out = t->count++;
	/* Keep the hash at most 70% full. */
	if (t->count > t->nslots / 10 * 7)
		return grow_slots(t);
	return HEXZ_OK;
}

/* Turn file node i into a directory (a later path runs through it). */
static void
demote(struct mtree *t, uint32_t i)
{
	struct mtree_node *n = &t->nodes[i];

	n->mode = S_IFDIR;
	n->mtime = 0;
	n->u.file.offset = 0;
	n->u.file.size = 0;
	t->files--;
}

int
mtree_add_file(struct mtree *t, uint32_t index, const char *path, size_t len, uint64_t offset,
	       uint64_t size, uint32_t mode, int64_t mtime, enum mtree_outcome *outcome,
	       uint32_t *other, uint32_t *node, uint32_t *demoted)
{
	const char *p = path, *end = path + len, *slash;
	uint32_t dir = 0, child, h;
	size_t k;
	int ret;

	*other = MTREE_NONE;
	*node = MTREE_NONE;
	*demoted = MTREE_NONE;
	/* The directories on the way. */
	while ((slash = memchr(p, '/', (size_t)(end - p))) != NULL) {
		size_t n = (size_t)(slash - p);
		h = hash_name(dir, p, n);
		k = find_slot(t, h, dir, p, n);
		child = slot_node(t->slots[k]);
		if (!child) {
			ret = add_node(t, k, h, dir, p, n, S_IFDIR, &child);
			if (ret)
				return ret;
		} else if (!mtree_is_dir(&t->nodes[child])) {
			/* At most once per path: nothing lies below a file yet. */
			demote(t, child);
			*demoted = t->nodes[child].entry;
			*node = child;
		}
		dir = child;
		p = slash + 1;
	}
	/* The file itself. */
	h = hash_name(dir, p, (size_t)(end - p));
	k = find_slot(t, h, dir, p, (size_t)(end - p));
	child = slot_node(t->slots[k]);
	if (!child) {
		ret = add_node(t, k, h, dir, p, (size_t)(end - p), mode, &child);
		if (ret)
			return ret;
		t->nodes[child].u.file.offset = offset;
		t->nodes[child].u.file.size = size;
		t->nodes[child].mtime = mtime;
		t->nodes[child].entry = index;
		t->files++;
		*outcome = MTREE_ADDED;
	} else if (t->nodes[child].entry != MTREE_NONE) {
		/* A file of that path came first, kept or left out as a directory. */
		*outcome = MTREE_DUPLICATE;
		*other = t->nodes[child].entry;
	} else {
		/* A directory only: this entry is left out, and later ones repeat it. */
		t->nodes[child].entry = index;
		*outcome = MTREE_DIRECTORY;
		*node = child;
	}
	return HEXZ_OK;
}

uint32_t
mtree_first_entry_below(const struct mtree *t, uint32_t dir, uint32_t *node)
{
	uint32_t n = dir;

	/* Every directory has a child: it exists only for the paths below it. */
	do
		n = t->nodes[n].u.dir.first_child;
	while (t->nodes[n].entry == MTREE_NONE);
	*node = n;
	return t->nodes[n].entry;
}

/* Layout ---------------------------------------------------------------- */

static int
compare_names(const void *va, const void *vb, void *vt)
{
	const struct mtree *t = vt;

	return strcmp(mtree_name(t, *(const uint32_t *)va), mtree_name(t, *(const uint32_t *)vb));
}

/* Sort the slice of a directory's children by name, unless it already is. */
static void
sort_children(struct mtree *t, uint32_t *slice, uint32_t n)
{
	uint32_t i;

	for (i = 1; i < n; i++)
		if (strcmp(mtree_name(t, slice[i - 1]), mtree_name(t, slice[i])) > 0)
			break;
	if (i < n)
		qsort_r(slice, n, sizeof(*slice), compare_names, t);
}

/*
 * perm[f] = the node that goes to position f: the root first, then the
 * children of each directory in turn, sorted. Sets every directory's
 * first_child and child_count in final positions.
 */
static void
order_nodes(struct mtree *t, uint32_t *perm)
{
	struct mtree_node *nodes = t->nodes;
	uint32_t i, next = 1;

	for (i = 0; i < t->count; i++)
		if (mtree_is_dir(&nodes[i]))
			nodes[i].u.dir.child_count = 0;
	for (i = 1; i < t->count; i++)
		nodes[nodes[i].parent].u.dir.child_count++;
	for (i = 0; i < t->count; i++) {
		if (!mtree_is_dir(&nodes[i]))
			continue;
		nodes[i].u.dir.first_child = next;
		next += nodes[i].u.dir.child_count;
		nodes[i].u.dir.child_count = 0; /* counts again as it fills */
	}
	perm[0] = 0;
	for (i = 1; i < t->count; i++) {
		struct mtree_node *p = &nodes[nodes[i].parent];

		perm[p->u.dir.first_child + p->u.dir.child_count++] = i;
	}
	for (i = 0; i < t->count; i++)
		if (mtree_is_dir(&nodes[i]) && nodes[i].u.dir.child_count > 1)
			sort_children(t, perm + nodes[i].u.dir.first_child,
				      nodes[i].u.dir.child_count);
}

/* Move node perm[f] to position f for every f, in place; perm is consumed. */
static void
permute(struct mtree_node *nodes, uint32_t *perm, uint32_t n)
{
	for (uint32_t s = 0; s < n; s++) {
		struct mtree_node first;
		uint32_t j = s;

		if (perm[s] == s)
			continue;
		first = nodes[s];
		for (;;) {
			uint32_t k = perm[j];

			perm[j] = j;
			if (k == s) {
				nodes[j] = first;
				break;
			}
			nodes[j] = nodes[k];
			j = k;
		}
	}
}

int
mtree_finish(struct mtree *t, uint32_t *const *fix, size_t nfix)
{
	uint32_t *perm, *pos, i;
	void *shrunk;

	free(t->slots);
	t->slots = NULL;
	t->nslots = 0;
	perm = malloc((size_t)t->count * sizeof(*perm));
	pos = malloc((size_t)t->count * sizeof(*pos));
	if (!perm || !pos) {
		free(perm);
		free(pos);
		return HEXZ_ERR_NO_MEMORY;
	}
	order_nodes(t, perm);
	for (i = 0; i < t->count; i++)
		pos[perm[i]] = i;
	for (i = 1; i < t->count; i++)
		t->nodes[i].parent = pos[t->nodes[i].parent];
	for (size_t f = 0; f < nfix; f++)
		if (*fix[f] != MTREE_NONE)
			*fix[f] = pos[*fix[f]];
	free(pos);
	permute(t->nodes, perm, t->count);
	free(perm);
	/* Give back what doubling left over. */
	shrunk = realloc(t->nodes, (size_t)t->count * sizeof(*t->nodes));
	if (shrunk) {
		t->nodes = shrunk;
		t->nodes_cap = t->count;
	}
	shrunk = realloc(t->names, t->names_len);
	if (shrunk) {
		t->names = shrunk;
		t->names_cap = t->names_len;
	}
	return HEXZ_OK;
}

/* Reading --------------------------------------------------------------- */

uint32_t
mtree_lookup(const struct mtree *t, uint32_t dir, const char *name)
{
	const struct mtree_node *d = &t->nodes[dir];
	uint32_t lo, hi;

	if (!mtree_is_dir(d))
		return MTREE_NONE;
	lo = d->u.dir.first_child;
	hi = lo + d->u.dir.child_count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, mtree_name(t, mid));

		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return MTREE_NONE;
}

size_t
mtree_path(const struct mtree *t, uint32_t i, char *buf, size_t cap)
{
	/* Every path was checked to be shorter than PATH_MAX. */
	char path[PATH_MAX];
	size_t at = sizeof(path) - 1, len;

	path[at] = '\0';
	for (uint32_t n = i; n != 0; n = t->nodes[n].parent) {
		const char *name = mtree_name(t, n);
		size_t nl = strlen(name);

		if (n != i)
			path[--at] = '/';
		at -= nl;
		memcpy(path + at, name, nl);
	}
	len = sizeof(path) - 1 - at;
	if (cap > 0) {
		size_t copy = len < cap - 1 ? len : cap - 1;

		memcpy(buf, path + at, copy);
		buf[copy] = '\0';
	}
	return len;
}
