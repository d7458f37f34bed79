/* SPDX-License-Identifier: MIT */
/*
 * Thin archives (FORMAT.md section 7): opening the parent chain through
 * the caller's resolver, and finding where a parent-reference block's bytes
 * are stored: by BLAKE3 hash among the data blocks of the whole chain (the
 * parents in order, then their parents), else by position in the first
 * parent. Hashes are compared, never computed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hexz/storage.h>

#include "archive_internal.h"
#include "error_set.h"

/* One stored block of the chain, keyed by the first 8 bytes of its hash. */
struct hash_entry {
	uint64_t prefix;
	uint64_t number;
	uint32_t archive; /* index into parent_map.archives */
};

struct parent_map {
	struct hexz_archive **archives; /* the chain, breadth first */
	size_t archive_count;
	struct hash_entry *entries; /* sorted by prefix, then chain order */
	size_t count;
	size_t capacity;
	int status; /* non-zero: building failed, with this message */
	char message[HEXZ_ERROR_MESSAGE_MAX];
};

/*
 * "child: parent 'p': <what went wrong with p>". A chain's errors nest, one
 * such prefix per level, and the innermost cause is the part a user needs
 * ("... is deeper than 16 archives"): when the whole does not fit in the
 * message, the middle is cut, never the cause at the end.
 */
static void
wrap_error(struct hexz_error *err, int code, const char *location, const char *parent_path,
	   const struct hexz_error *inner)
{
	const char *cause = inner->code ? inner->message : hexz_strerror(code);
	char head[HEXZ_ERROR_MESSAGE_MAX];
	size_t head_len, cause_len = strlen(cause), tail;
	int n;

	n = snprintf(head, sizeof(head), "%s: parent '%s': ", location, parent_path);
	head_len = n > 0 ? strlen(head) : 0;
	if (n >= 0 && (size_t)n == head_len && head_len + cause_len < HEXZ_ERROR_MESSAGE_MAX) {
		error_set(err, code, "%s%s", head, cause);
		return;
	}
	/* Half the message for the end of the cause, the rest for the head. */
	tail = cause_len < HEXZ_ERROR_MESSAGE_MAX / 2 ? cause_len : HEXZ_ERROR_MESSAGE_MAX / 2;
	if (head_len > HEXZ_ERROR_MESSAGE_MAX - 1 - 3 - tail)
		head_len = HEXZ_ERROR_MESSAGE_MAX - 1 - 3 - tail;
	error_set(err, code, "%.*s...%s", (int)head_len, head, cause + cause_len - tail);
}

static bool
in_chain(const struct chain_link *link, uint64_t dev, uint64_t ino)
{
	if (dev == 0 && ino == 0)
		return false;
	for (; link; link = link->child)
		if (link->dev == dev && link->ino == ino)
			return true;
	return false;
}

int
parents_open(struct hexz_archive *ar, const struct hexz_archive_options *opts,
	     const struct chain_link *self, unsigned int depth, struct hexz_error *err)
{
	hexz_resolve_parent_fn resolve =
		opts->resolve_parent ? opts->resolve_parent : hexz_resolve_parent_default;
	struct hexz_parent *found = NULL;
	size_t i;
	int ret = HEXZ_OK;

	if (ar->header.parent_count == 0)
		return HEXZ_OK;
	if (depth >= HEXZ_MAX_PARENT_DEPTH)
		return error_set(err, HEXZ_ERR_PARENT_TOO_DEEP,
				 "%s: the parent chain is deeper than %d archives", ar->location,
				 HEXZ_MAX_PARENT_DEPTH);
	if (ar->header.parent_count > HEXZ_MAX_CHAIN_ARCHIVES - *self->opened)
		return error_set(err, HEXZ_ERR_LIMIT,
				 "%s: the parent chain holds more than %d archives", ar->location,
				 HEXZ_MAX_CHAIN_ARCHIVES);
	*self->opened += (unsigned int)ar->header.parent_count;
	ar->parents = calloc(ar->header.parent_count, sizeof(*ar->parents));
	found = malloc(sizeof(*found));
	if (!ar->parents || !found) {
		ret = error_plain(err, HEXZ_ERR_NO_MEMORY);
		goto out;
	}
	for (i = 0; i < ar->header.parent_count; i++) {
		const char *path = ar->header.parent_paths[i];
		struct hexz_archive_options popts = *opts;
		struct hexz_error inner = { 0 };

		memset(found, 0, sizeof(*found));
		ret = resolve(opts->resolve_opaque, ar->location, path, found, &inner);
		if (ret) {
			wrap_error(err, ret, ar->location, path, &inner);
			goto out;
		}
		found->location[sizeof(found->location) - 1] = '\0';
		if (in_chain(self, found->dev, found->ino)) {
			hexz_storage_close(found->storage);
			ret = error_set(err, HEXZ_ERR_PARENT_CYCLE,
					"%s: parent '%s' leads back into its own chain",
					ar->location, path);
			goto out;
		}
		/* Parents are opened without encryption, into the child's cache. */
		popts.location = found->location;
		popts.dev = found->dev;
		popts.ino = found->ino;
		popts.password = NULL;
		popts.password_len = 0;
		popts.cache = ar->cache;
		popts.borrow_storage = false;
		ret = archive_open_in_chain(found->storage, &popts, self, depth + 1,
					    &ar->parents[i], &inner);
		if (ret) {
			hexz_storage_close(found->storage);
			wrap_error(err, ret, ar->location, path, &inner);
			goto out;
		}
		ar->parent_count++;
	}
out:
	free(found);
	if (ret)
		parents_close(ar);
	return ret;
}

static void
parent_map_free(struct parent_map *map)
{
	if (!map)
		return;
	free(map->archives);
	free(map->entries);
	free(map);
}

void
parents_close(struct hexz_archive *ar)
{
	size_t i;

	for (i = 0; i < ar->parent_count; i++)
		hexz_archive_close(ar->parents[i]);
	free(ar->parents);
	ar->parents = NULL;
	ar->parent_count = 0;
	parent_map_free(ar->parent_map);
	ar->parent_map = NULL;
}

/* ---- the hash map of the chain's stored blocks ---- */

static uint64_t
hash_prefix(const unsigned char *hash)
{
	uint64_t v;

	memcpy(&v, hash, sizeof(v));
	return v;
}

static bool
hash_is_zero(const unsigned char *hash)
{
	static const unsigned char zero[BLOCK_HASH_LEN];

	return memcmp(hash, zero, BLOCK_HASH_LEN) == 0;
}

struct collect_ctx {
	struct parent_map *map;
	uint32_t archive;
};

static int
collect_block(void *vctx, const struct located_block *b, const unsigned char hash[BLOCK_HASH_LEN])
{
	struct collect_ctx *ctx = vctx;
	struct parent_map *map = ctx->map;

	if (b->kind != BLOCK_DATA || hash_is_zero(hash))
		return 0;
	if (map->count == map->capacity) {
		size_t cap = map->capacity ? map->capacity * 2 : 1024;
		struct hash_entry *grown = realloc(map->entries, cap * sizeof(*grown));

		if (!grown)
			return HEXZ_ERR_NO_MEMORY;
		map->entries = grown;
		map->capacity = cap;
	}
	map->entries[map->count].prefix = hash_prefix(hash);
	map->entries[map->count].number = b->desc.number;
	map->entries[map->count].archive = ctx->archive;
	map->count++;
	return 0;
}

static int
compare_entries(const void *va, const void *vb)
{
	const struct hash_entry *a = va, *b = vb;

	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	if (a->archive != b->archive)
		return a->archive < b->archive ? -1 : 1;
	return a->number < b->number ? -1 : a->number > b->number;
}

static int
push_archive(struct parent_map *map, size_t *cap, struct hexz_archive *p)
{
	if (map->archive_count == *cap) {
		size_t grown_cap = *cap ? *cap * 2 : 16;
		struct hexz_archive **grown =
			realloc(map->archives, grown_cap * sizeof(*grown));

		if (!grown)
			return HEXZ_ERR_NO_MEMORY;
		map->archives = grown;
		*cap = grown_cap;
	}
	map->archives[map->archive_count++] = p;
	return HEXZ_OK;
}

/* The chain breadth first: the parents in order, then theirs. */
static int
list_chain(struct hexz_archive *ar, struct parent_map *map)
{
	size_t cap = 0, next = 0, i;
	int ret = HEXZ_OK;

	for (i = 0; !ret && i < ar->parent_count; i++)
		ret = push_archive(map, &cap, ar->parents[i]);
	while (!ret && next < map->archive_count) {
		struct hexz_archive *p = map->archives[next++];

		for (i = 0; !ret && i < p->parent_count; i++)
			ret = push_archive(map, &cap, p->parents[i]);
	}
	return ret;
}

static struct parent_map *
build_map(struct hexz_archive *ar)
{
	struct parent_map *map = calloc(1, sizeof(*map));
	struct hexz_error inner = { 0 };
	size_t k;
	int ret;

	if (!map)
		return NULL;
	ret = list_chain(ar, map);
	for (k = 0; !ret && k < map->archive_count; k++) {
		struct collect_ctx ctx = { .map = map, .archive = (uint32_t)k };
		unsigned int sn;

		for (sn = 0; !ret && sn < 2; sn++)
			ret = index_walk_blocks(&map->archives[k]->index, sn, collect_block,
						     &ctx, &inner);
	}
	if (ret) {
		map->status = ret;
		if (inner.code)
			memcpy(map->message, inner.message, sizeof(map->message));
		else
			snprintf(map->message, sizeof(map->message), "%s", hexz_strerror(ret));
		free(map->entries);
		map->entries = NULL;
		map->count = 0;
		return map;
	}
	/* A chain that stores no block has no entries array (NULL), which
	 * qsort() must not be given even for zero elements (found by
	 * fuzz_contents). */
	if (map->count > 1)
		qsort(map->entries, map->count, sizeof(*map->entries), compare_entries);
	return map;
}

static struct parent_map *
get_map(struct hexz_archive *ar)
{
	struct parent_map *map;

	pthread_mutex_lock(&ar->parent_map_lock);
	if (!ar->parent_map)
		ar->parent_map = build_map(ar);
	map = ar->parent_map;
	pthread_mutex_unlock(&ar->parent_map_lock);
	return map;
}

/* Whether candidate `e` really is a block with `hash` and `logical_len`. */
static int
candidate_matches(const struct parent_map *map, const struct hash_entry *e,
		  const unsigned char *hash, uint32_t logical_len, struct located_block *out,
		  struct hexz_error *err)
{
	struct hexz_archive *p = map->archives[e->archive];
	unsigned char full[BLOCK_HASH_LEN];
	int ret;

	ret = index_locate_number(&p->index, e->number, out, err);
	if (ret)
		return ret;
	ret = hexz_storage_read_exact(p->storage, out->hash_offset, sizeof(full), full);
	if (ret)
		return error_set(err, ret, "%s: reading a block hash: %s", p->location,
				 hexz_strerror(ret));
	return out->kind == BLOCK_DATA && out->desc.logical_len == logical_len &&
	       memcmp(full, hash, BLOCK_HASH_LEN) == 0;
}

int
parents_resolve(struct hexz_archive *ar, const struct located_block *b,
		struct hexz_archive **owner_ar, struct block_desc *desc, struct hexz_error *err)
{
	unsigned char hash[BLOCK_HASH_LEN];
	const struct parent_map *map;
	size_t lo, hi;
	int ret;

	*owner_ar = ar;
	*desc = b->desc;
	ret = hexz_storage_read_exact(ar->storage, b->hash_offset, sizeof(hash), hash);
	if (ret)
		return error_set(err, ret, "%s: reading a block hash: %s", ar->location,
				 hexz_strerror(ret));
	/* No hash: an older writer's reference by position. */
	if (hash_is_zero(hash) || ar->parent_count == 0)
		return HEXZ_OK;
	map = get_map(ar);
	if (!map)
		return error_plain(err, HEXZ_ERR_NO_MEMORY);
	if (map->status)
		return error_set(err, map->status, "%s: %s", ar->location, map->message);
	lo = 0;
	hi = map->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (map->entries[mid].prefix < hash_prefix(hash))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < map->count && map->entries[lo].prefix == hash_prefix(hash); lo++) {
		struct located_block found;

		ret = candidate_matches(map, &map->entries[lo], hash, b->desc.logical_len, &found,
					err);
		if (ret < 0)
			return ret;
		if (ret > 0) {
			*owner_ar = map->archives[map->entries[lo].archive];
			*desc = found.desc;
			return HEXZ_OK;
		}
	}
	/* Not stored by hash anywhere: by position in the first parent. */
	return HEXZ_OK;
}
