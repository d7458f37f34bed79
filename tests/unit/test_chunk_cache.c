/* SPDX-License-Identifier: MIT */
/*
 * The chunk cache of the remote backends (core/storage/chunk_cache.c):
 * claims, hits, the byte budget and LRU order, references that pin a
 * chunk against eviction, versions kept apart by their keys, abandoned
 * fetches that waiters see and the next reader retries, megabyte buffers
 * reused after eviction, and many threads
 * asking for one chunk while its claimer fetches it: one claim, every
 * waiter served the claimer's bytes.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <hexz/common.h>

#include "storage/chunk_cache.h"
#include "testutil.h"

#define LEN 1000u

/* Acquire (key, index): claimed chunks are filled with `fill` and published. */
static struct chunk *
get(struct chunk_cache *c, const char *key, uint64_t index, unsigned char fill, bool *was_claimed)
{
	struct chunk *ch = NULL;
	bool claimed = false;

	ck_assert_int_eq(chunk_cache_acquire(c, key, index, LEN, &ch, &claimed), HEXZ_OK);
	ck_assert_ptr_nonnull(ch);
	ck_assert_uint_eq(chunk_len(ch), LEN);
	if (claimed) {
		memset(chunk_data(ch), fill, LEN);
		chunk_cache_publish(c, ch);
	}
	ck_assert_int_eq(chunk_cache_wait(c, ch), HEXZ_OK);
	if (was_claimed)
		*was_claimed = claimed;
	return ch;
}

START_TEST(test_claim_then_hit)
{
	struct chunk_cache *c = chunk_cache_create(10 * LEN);
	struct chunk_cache_stats s;
	struct chunk *a, *b;
	bool claimed;

	a = get(c, "u\nv1", 0, 0xaa, &claimed);
	ck_assert(claimed);
	chunk_cache_release(c, a);
	b = get(c, "u\nv1", 0, 0xbb, &claimed);
	ck_assert(!claimed);
	ck_assert_uint_eq(chunk_data(b)[LEN - 1], 0xaa);
	chunk_cache_release(c, b);
	/* Another version, another index: their own chunks. */
	b = get(c, "u\nv2", 0, 0xcc, &claimed);
	ck_assert(claimed);
	chunk_cache_release(c, b);
	b = get(c, "u\nv1", 1, 0xdd, &claimed);
	ck_assert(claimed);
	chunk_cache_release(c, b);
	chunk_cache_get_stats(c, &s);
	ck_assert_uint_eq(s.hits, 1);
	ck_assert_uint_eq(s.misses, 3);
	ck_assert_uint_eq(s.chunks, 3);
	ck_assert_uint_eq(s.bytes, 3 * LEN);
	chunk_cache_destroy(c);
}
END_TEST

/* Over budget, the least recently used unreferenced chunk goes first. */
START_TEST(test_lru_budget)
{
	struct chunk_cache *c = chunk_cache_create(3 * LEN);
	struct chunk_cache_stats s;
	bool claimed;
	uint64_t i;

	for (i = 0; i < 3; i++)
		chunk_cache_release(c, get(c, "k", i, (unsigned char)i, NULL));
	/* Touch 0, so 1 is the oldest. */
	chunk_cache_release(c, get(c, "k", 0, 0, &claimed));
	ck_assert(!claimed);
	chunk_cache_release(c, get(c, "k", 3, 3, NULL));
	chunk_cache_get_stats(c, &s);
	ck_assert_uint_eq(s.evictions, 1);
	ck_assert_uint_le(s.bytes, 3 * LEN);
	chunk_cache_release(c, get(c, "k", 0, 0, &claimed));
	ck_assert(!claimed);
	chunk_cache_release(c, get(c, "k", 2, 0, &claimed));
	ck_assert(!claimed);
	chunk_cache_release(c, get(c, "k", 1, 1, &claimed));
	ck_assert_msg(claimed, "chunk 1, the least recently used, was not evicted");
	chunk_cache_destroy(c);
}
END_TEST

/* A referenced chunk outlives the budget; it is evicted once released. */
START_TEST(test_reference_pins)
{
	struct chunk_cache *c = chunk_cache_create(LEN);
	struct chunk_cache_stats s;
	struct chunk *held = get(c, "k", 0, 0x11, NULL);
	bool claimed;

	chunk_cache_release(c, get(c, "k", 1, 0x22, NULL));
	chunk_cache_release(c, get(c, "k", 2, 0x33, NULL));
	ck_assert_uint_eq(chunk_data(held)[0], 0x11);
	chunk_cache_release(c, get(c, "k", 0, 0x44, &claimed));
	ck_assert(!claimed);
	chunk_cache_release(c, held);
	chunk_cache_get_stats(c, &s);
	ck_assert_uint_le(s.bytes, LEN);
	chunk_cache_destroy(c);
}
END_TEST

/* An abandoned chunk: its waiter gets the status; the next reader claims it anew. */
START_TEST(test_abandon)
{
	struct chunk_cache *c = chunk_cache_create(10 * LEN);
	struct chunk *mine = NULL, *theirs = NULL;
	bool claimed = false;

	ck_assert_int_eq(chunk_cache_acquire(c, "k", 7, LEN, &mine, &claimed), HEXZ_OK);
	ck_assert(claimed);
	ck_assert_int_eq(chunk_cache_acquire(c, "k", 7, LEN, &theirs, &claimed), HEXZ_OK);
	ck_assert(!claimed);
	ck_assert_ptr_eq(mine, theirs);
	chunk_cache_abandon(c, mine, HEXZ_ERR_NETWORK);
	chunk_cache_release(c, mine);
	ck_assert_int_eq(chunk_cache_wait(c, theirs), HEXZ_ERR_NETWORK);
	chunk_cache_release(c, theirs);
	chunk_cache_release(c, get(c, "k", 7, 0x55, &claimed));
	ck_assert(claimed);
	chunk_cache_destroy(c);
}
END_TEST

#define THREADS 8
#define ROUNDS 200

struct racer {
	struct chunk_cache *c;
	atomic_uint *claims;
	unsigned int bad;
};

/* Each round every thread wants chunk `round`: one claims and fills it slowly, all read it. */
static void *
race(void *p)
{
	struct racer *r = p;
	uint64_t round;

	for (round = 0; round < ROUNDS; round++) {
		struct chunk *ch = NULL;
		bool claimed = false;

		if (chunk_cache_acquire(r->c, "race", round, LEN, &ch, &claimed) != HEXZ_OK) {
			r->bad++;
			continue;
		}
		if (claimed) {
			atomic_fetch_add(&r->claims[round], 1);
			usleep(200);
			memset(chunk_data(ch), (int)(round & 0xff), LEN);
			chunk_cache_publish(r->c, ch);
		}
		if (chunk_cache_wait(r->c, ch) != HEXZ_OK ||
		    chunk_data(ch)[LEN / 2] != (unsigned char)(round & 0xff))
			r->bad++;
		chunk_cache_release(r->c, ch);
	}
	return NULL;
}

START_TEST(test_one_fetch_per_chunk)
{
	static atomic_uint claims[ROUNDS];
	struct chunk_cache *c = chunk_cache_create((uint64_t)ROUNDS * LEN);
	struct racer racers[THREADS];
	pthread_t tids[THREADS];
	int i;

	for (i = 0; i < ROUNDS; i++)
		atomic_init(&claims[i], 0);
	for (i = 0; i < THREADS; i++) {
		racers[i] = (struct racer){ .c = c, .claims = claims };
		ck_assert_int_eq(pthread_create(&tids[i], NULL, race, &racers[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(tids[i], NULL);
		ck_assert_uint_eq(racers[i].bad, 0);
	}
	for (i = 0; i < ROUNDS; i++)
		ck_assert_msg(atomic_load(&claims[i]) == 1, "chunk %d claimed %u times", i,
			      atomic_load(&claims[i]));
	chunk_cache_destroy(c);
}
END_TEST

/* Fill a claimed chunk of `len` bytes with `fill`, publish, check and release it. */
static unsigned char *
big_chunk(struct chunk_cache *c, uint64_t index, size_t len, unsigned char fill)
{
	struct chunk *ch = NULL;
	bool claimed = false;
	unsigned char *data;

	ck_assert_int_eq(chunk_cache_acquire(c, "big", index, len, &ch, &claimed), HEXZ_OK);
	ck_assert(claimed);
	data = chunk_data(ch);
	memset(data, fill, len);
	chunk_cache_publish(c, ch);
	ck_assert_int_eq(chunk_cache_wait(c, ch), HEXZ_OK);
	ck_assert(tu_all_bytes(chunk_data(ch), len, fill));
	chunk_cache_release(c, ch);
	return data;
}

/*
 * Megabyte chunks (mapped buffers): with no budget each is evicted at its
 * release, and the next chunk of the same length reuses its buffer; one of
 * another length does not; every chunk reads what its claimer wrote.
 */
START_TEST(test_buffers_reused)
{
	struct chunk_cache *c = chunk_cache_create(0);
	struct chunk_cache_stats st;
	unsigned char *first, *again, *other;

	first = big_chunk(c, 0, 1u << 20, 'a');
	again = big_chunk(c, 1, 1u << 20, 'b');
	ck_assert_ptr_eq(first, again);
	other = big_chunk(c, 2, (1u << 20) + 4096, 'c');
	ck_assert_ptr_ne(other, first);
	/* Chunk 0 was evicted: claimed again, its new bytes read. */
	big_chunk(c, 0, 1u << 20, 'd');
	chunk_cache_get_stats(c, &st);
	ck_assert_uint_eq(st.chunks, 0);
	ck_assert_uint_eq(st.bytes, 0);
	ck_assert_uint_eq(st.evictions, 4);
	chunk_cache_destroy(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("chunk_cache");
	TCase *tc = tcase_create("cache");

	tcase_add_test(tc, test_claim_then_hit);
	tcase_add_test(tc, test_lru_budget);
	tcase_add_test(tc, test_reference_pins);
	tcase_add_test(tc, test_abandon);
	tcase_add_test(tc, test_one_fetch_per_chunk);
	tcase_add_test(tc, test_buffers_reused);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
