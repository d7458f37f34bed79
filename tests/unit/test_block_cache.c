/* SPDX-License-Identifier: MIT */
/*
 * The decompressed-block cache (core/archive/block_cache.c), against a fake
 * decoder that fills a block with a pattern of (owner, block number) and
 * counts its calls: hits and misses, LRU order, pinned blocks, one decode
 * for concurrent misses, shared failures, all-or-nothing fetches, the
 * memory bound, and the workers (fetch, prefetch, scheduling policy,
 * forget, destroy).
 *
 * Threads started here never call check's assertions (they are not
 * thread-safe): they count failures and the main thread asserts after the
 * join.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include <hexz/cache.h>

#include "archive/block_cache.h"
#include "testutil.h"

#define KIB 1024u
#define MIB (1024u * KIB)
/* What block_cache.c charges per block beyond its bytes, and its shard rule. */
#define OVERHEAD 128u
#define MIN_SHARE (4u * MIB)
#define MAX_SHARDS 64u
#define MAX_FAILS 4
#define TRACKED 4096

/* Fewer rounds under valgrind, which runs threads one at a time. */
static unsigned int
scaled(unsigned int n)
{
#ifdef HAVE_VALGRIND_H
	if (RUNNING_ON_VALGRIND)
		return n / 8 ? n / 8 : 1;
#endif
	return n;
}

/* ---- the fake decoder ---- */

struct fake {
	struct hexz_cache *cache;
	uint64_t owner;
	_Atomic unsigned int calls;
	_Atomic unsigned int running;
	_Atomic unsigned int max_running;
	_Atomic unsigned int worker_calls; /* fills on a "hexz-worker" thread */
	_Atomic unsigned int caller_calls; /* fills on any other thread */
	_Atomic unsigned int bad_mask;	   /* worker fills with a signal unblocked */
	_Atomic unsigned int sleep_ms;	   /* every fill sleeps this long */
	_Atomic uint64_t slow_number;	   /* and this block ... */
	_Atomic unsigned int slow_ms;	   /* ... that long */
	_Atomic int nfails;		   /* blocks that fail: */
	uint64_t fail_number[MAX_FAILS];
	int fail_code[MAX_FAILS];
	_Atomic unsigned int per_block[TRACKED];
	/* A thin archive: every block first fetches parent_fanout parent blocks. */
	struct fake *parent;
	unsigned int parent_fanout;
	_Atomic unsigned int nested_failures;
};

static struct fake *
fake_new(struct hexz_cache *cache)
{
	struct fake *f = calloc(1, sizeof(*f));

	ck_assert_ptr_nonnull(f);
	f->cache = cache;
	f->owner = cache_new_owner(cache);
	atomic_store(&f->slow_number, UINT64_MAX);
	return f;
}

static void
fake_fail(struct fake *f, uint64_t number, int code)
{
	int n = atomic_load(&f->nfails);

	ck_assert_int_lt(n, MAX_FAILS);
	f->fail_number[n] = number;
	f->fail_code[n] = code;
	atomic_store(&f->nfails, n + 1);
}

static uint64_t
block_seed(uint64_t owner, uint64_t number)
{
	uint64_t x = owner * 0x100000001b3ull ^ (number + 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * Word j (bytes 8j .. 8j + 7) of a block: its seed and the position, so a
 * block of another key, or shifted bytes, differ.
 */
static inline uint64_t
pattern_word(uint64_t seed, size_t j)
{
	return seed ^ ((uint64_t)j * 0x9e3779b97f4a7c15ull);
}

static void
pattern_fill(uint8_t *p, uint64_t seed, size_t len)
{
	uint64_t w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		w = pattern_word(seed, i / 8);
		memcpy(p + i, &w, 8);
	}
	w = pattern_word(seed, i / 8);
	memcpy(p + i, &w, len - i);
}

static bool
pattern_ok(const uint8_t *p, uint64_t seed, size_t len)
{
	uint64_t w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		w = pattern_word(seed, i / 8);
		if (memcmp(p + i, &w, 8) != 0)
			return false;
	}
	w = pattern_word(seed, i / 8);
	return memcmp(p + i, &w, len - i) == 0;
}

static void
sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static bool
on_worker(void)
{
	char name[16] = "";

	pthread_getname_np(pthread_self(), name, sizeof(name));
	return strcmp(name, "hexz-worker") == 0;
}

static void fill_parents(struct fake *f, uint64_t number);

static int
fake_fill(void *source, const struct block_desc *d, void *dst, struct hexz_error *err)
{
	struct fake *f = source;
	uint64_t seed = block_seed(f->owner, d->number);
	unsigned int now, max, ms;
	uint8_t *p = dst;
	sigset_t mask;
	int k;

	atomic_fetch_add(&f->calls, 1);
	if (d->number < TRACKED)
		atomic_fetch_add(&f->per_block[d->number], 1);
	now = atomic_fetch_add(&f->running, 1) + 1;
	max = atomic_load(&f->max_running);
	while (now > max && !atomic_compare_exchange_weak(&f->max_running, &max, now))
		;
	if (on_worker()) {
		atomic_fetch_add(&f->worker_calls, 1);
		pthread_sigmask(SIG_BLOCK, NULL, &mask);
		if (!sigismember(&mask, SIGTERM) || !sigismember(&mask, SIGINT) ||
		    !sigismember(&mask, SIGUSR1) || !sigismember(&mask, SIGALRM))
			atomic_fetch_add(&f->bad_mask, 1);
	} else {
		atomic_fetch_add(&f->caller_calls, 1);
	}

	ms = atomic_load(&f->sleep_ms);
	if (d->number == atomic_load(&f->slow_number))
		ms = atomic_load(&f->slow_ms);
	if (ms)
		sleep_ms(ms);
	if (f->parent)
		fill_parents(f, d->number);

	for (k = 0; k < atomic_load(&f->nfails); k++) {
		if (f->fail_number[k] == d->number) {
			atomic_fetch_sub(&f->running, 1);
			err->code = f->fail_code[k];
			snprintf(err->message, sizeof(err->message), "fake: block %llu fails (%d)",
				 (unsigned long long)d->number, f->fail_code[k]);
			return f->fail_code[k];
		}
	}
	pattern_fill(p, seed, d->logical_len);
	atomic_fetch_sub(&f->running, 1);
	return 0;
}

static void
make_req(struct cache_request *r, struct fake *f, uint64_t number, uint32_t len)
{
	memset(r, 0, sizeof(*r));
	r->owner = f->owner;
	r->desc.number = number;
	r->desc.logical_len = len;
	r->desc.stream = HEXZ_STREAM_MAIN;
	r->fill = fake_fill;
	r->source = f;
}

/* Whether ref holds block number of f's owner, every byte of it. */
static bool
block_ok(const struct hexz_block_ref *ref, const struct fake *f, uint64_t number, uint32_t len)
{
	const uint8_t *p = block_ref_data(ref);

	if (!ref || !p || block_ref_len(ref) != len || ((uintptr_t)p & 63) != 0)
		return false;
	return pattern_ok(p, block_seed(f->owner, number), len);
}

/* A thin archive's block: its parent blocks come through the same cache. */
static void
fill_parents(struct fake *f, uint64_t number)
{
	struct cache_request reqs[8];
	struct hexz_error err;
	unsigned int i;

	for (i = 0; i < f->parent_fanout; i++)
		make_req(&reqs[i], f->parent, (number * 3 + i) % 64,
			 2000 + (uint32_t)((number * 3 + i) % 64));
	if (cache_fetch(f->cache, reqs, f->parent_fanout, &err) != HEXZ_OK) {
		atomic_fetch_add(&f->nested_failures, 1);
		return;
	}
	for (i = 0; i < f->parent_fanout; i++) {
		if (!block_ok(reqs[i].ref, f->parent, reqs[i].desc.number,
			      reqs[i].desc.logical_len))
			atomic_fetch_add(&f->nested_failures, 1);
		block_ref_put(reqs[i].ref);
	}
}

/* Fetch one block, asserting success and its bytes. */
static struct hexz_block_ref *
get_ok(struct fake *f, uint64_t number, uint32_t len)
{
	struct cache_request r;
	struct hexz_error err = { 0, "" };
	int rc;

	make_req(&r, f, number, len);
	rc = cache_fetch(f->cache, &r, 1, &err);
	ck_assert_msg(rc == HEXZ_OK, "block %llu: %d %s", (unsigned long long)number, rc,
		      err.message);
	ck_assert_msg(block_ok(r.ref, f, number, len), "block %llu: wrong bytes",
		      (unsigned long long)number);
	return r.ref;
}

static void
touch(struct fake *f, uint64_t number, uint32_t len)
{
	block_ref_put(get_ok(f, number, len));
}

static struct hexz_cache_stats
stats(const struct hexz_cache *c)
{
	struct hexz_cache_stats s;

	hexz_cache_get_stats(c, &s);
	return s;
}

static struct hexz_cache *
cache_new(uint64_t budget, unsigned int workers)
{
	struct hexz_cache *c = NULL;

	ck_assert_int_eq(hexz_cache_create(budget, workers, &c), HEXZ_OK);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* The documented shard count: the most (<= 64) that get 4 MiB each. */
static uint64_t
shards_for(uint64_t budget)
{
	uint64_t s = 1;

	while (s < MAX_SHARDS && budget / (2 * s) >= MIN_SHARE)
		s *= 2;
	return s;
}

static uint32_t
len_of(uint64_t number, uint32_t max)
{
	return 1 + (uint32_t)(block_seed(7, number) % max);
}

static bool
wait_until(_Atomic unsigned int *v, unsigned int at_least, double seconds)
{
	double end = tu_now() + seconds;

	while (atomic_load(v) < at_least) {
		if (tu_now() > end)
			return false;
		sleep_ms(2);
	}
	return true;
}

/* ---- basics ---- */

START_TEST(test_create_args)
{
	struct hexz_cache *c = (struct hexz_cache *)&c;
	struct hexz_cache_stats s;
	struct cache_request r;
	struct hexz_error err = { 0, "" };
	struct fake *f;
	uint64_t o1, o2;
	sigset_t before, after;
	int sig;

	ck_assert_int_eq(hexz_cache_create(0, 0, &c), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(hexz_cache_create(MIB, 0, NULL), HEXZ_ERR_INVALID_ARGUMENT);
	hexz_cache_destroy(NULL);

	c = cache_new(3 * MIB + 1, 0);
	s = stats(c);
	ck_assert_uint_eq(s.budget, 3 * MIB + 1);
	ck_assert_uint_eq(s.hits + s.misses + s.waits + s.evictions + s.failures, 0);
	ck_assert_uint_eq(s.bytes + s.blocks + s.prefetches, 0);
	ck_assert_uint_eq(cache_worker_count(c), 0);
	o1 = cache_new_owner(c);
	o2 = cache_new_owner(c);
	ck_assert_uint_ne(o1, o2);
	ck_assert_int_eq(cache_fetch(c, NULL, 0, NULL), HEXZ_OK);

	/* Lengths the caller should have refused: no decode, no allocation. */
	f = fake_new(c);
	make_req(&r, f, 1, 0);
	ck_assert_int_eq(cache_fetch(c, &r, 1, &err), HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(r.ref);
	ck_assert_int_eq(err.code, HEXZ_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(err.message, "block 1"));
	make_req(&r, f, 2, HEXZ_MAX_BLOCK_LEN + 1);
	ck_assert_int_eq(cache_fetch(c, &r, 1, NULL), HEXZ_ERR_INVALID_ARGUMENT);
	cache_prefetch(c, &r, 1);
	ck_assert_uint_eq(atomic_load(&f->calls), 0);
	ck_assert_uint_eq(stats(c).bytes, 0);
	/* A block of the largest length. */
	touch(f, 3, HEXZ_MAX_BLOCK_LEN);
	block_ref_put(NULL);
	block_ref_get(NULL);
	ck_assert_ptr_null(block_ref_data(NULL));
	ck_assert_uint_eq(block_ref_len(NULL), 0);
	cache_forget_owner(c, f->owner);
	ck_assert_uint_eq(stats(c).bytes, 0);
	hexz_cache_destroy(c);
	free(f);

	/* Starting workers leaves the caller's signal mask as it was. */
	pthread_sigmask(SIG_BLOCK, NULL, &before);
	c = cache_new(MIB, 3);
	pthread_sigmask(SIG_BLOCK, NULL, &after);
	for (sig = 1; sig < 32; sig++)
		ck_assert_int_eq(sigismember(&before, sig), sigismember(&after, sig));
	ck_assert_uint_eq(cache_worker_count(c), 3);
	hexz_cache_destroy(c);
}
END_TEST

START_TEST(test_hit_miss)
{
	struct hexz_cache *c = cache_new(MIB, 0);
	struct fake *f = fake_new(c), *g = fake_new(c);
	struct hexz_block_ref *a, *b, *x;
	struct hexz_cache_stats s;

	a = get_ok(f, 5, 1000);
	s = stats(c);
	ck_assert_uint_eq(s.misses, 1);
	ck_assert_uint_eq(s.hits, 0);
	ck_assert_uint_eq(s.blocks, 1);
	ck_assert_uint_eq(s.bytes, 1000 + OVERHEAD);
	ck_assert_uint_eq(atomic_load(&f->calls), 1);

	b = get_ok(f, 5, 1000);
	ck_assert_ptr_eq(a, b);
	s = stats(c);
	ck_assert_uint_eq(s.hits, 1);
	ck_assert_uint_eq(s.misses, 1);
	ck_assert_uint_eq(atomic_load(&f->calls), 1);

	/* The same number of another owner is another block. */
	x = get_ok(g, 5, 1000);
	ck_assert_ptr_ne(x, a);
	ck_assert_uint_eq(atomic_load(&g->calls), 1);
	ck_assert_uint_eq(stats(c).blocks, 2);

	block_ref_get(a);
	block_ref_put(a);
	block_ref_put(b);
	ck_assert(block_ok(a, f, 5, 1000));
	block_ref_put(a);
	block_ref_put(x);
	/* Released blocks stay cached. */
	touch(f, 5, 1000);
	ck_assert_uint_eq(atomic_load(&f->calls), 1);
	ck_assert_uint_eq(stats(c).hits, 2);

	cache_forget_owner(c, f->owner);
	cache_forget_owner(c, g->owner);
	s = stats(c);
	ck_assert_uint_eq(s.blocks, 0);
	ck_assert_uint_eq(s.bytes, 0);
	hexz_cache_destroy(c);
	free(f);
	free(g);
}
END_TEST

#define LRU_LEN 4096u
#define LRU_CHARGE (LRU_LEN + OVERHEAD)

START_TEST(test_lru_order)
{
	struct hexz_cache *c = cache_new(4 * LRU_CHARGE, 0);
	struct fake *f = fake_new(c);
	uint64_t n;

	for (n = 0; n < 4; n++)
		touch(f, n, LRU_LEN);
	ck_assert_uint_eq(stats(c).bytes, 4 * LRU_CHARGE);
	ck_assert_uint_eq(stats(c).evictions, 0);
	touch(f, 0, LRU_LEN); /* 1 is now the least recently used */
	touch(f, 4, LRU_LEN);
	ck_assert_uint_eq(stats(c).evictions, 1);
	ck_assert_uint_eq(stats(c).bytes, 4 * LRU_CHARGE);
	/* 0, 2, 3 and 4 are cached, in that order of use. */
	touch(f, 0, LRU_LEN);
	touch(f, 2, LRU_LEN);
	touch(f, 3, LRU_LEN);
	touch(f, 4, LRU_LEN);
	for (n = 0; n <= 4; n++)
		ck_assert_uint_eq(atomic_load(&f->per_block[n]), 1);
	touch(f, 1, LRU_LEN); /* a miss, which evicts 0 */
	ck_assert_uint_eq(atomic_load(&f->per_block[1]), 2);
	touch(f, 2, LRU_LEN);
	touch(f, 3, LRU_LEN);
	touch(f, 4, LRU_LEN);
	ck_assert_uint_eq(atomic_load(&f->calls), 6);
	touch(f, 0, LRU_LEN);
	ck_assert_uint_eq(atomic_load(&f->per_block[0]), 2);
	ck_assert_uint_eq(stats(c).evictions, 3);
	ck_assert_uint_eq(stats(c).blocks, 4);

	hexz_cache_destroy(c);
	free(f);
}
END_TEST

/* A budget smaller than one block still keeps the last block used. */
START_TEST(test_tiny_budget)
{
	struct hexz_cache *c = cache_new(1, 0);
	struct fake *f = fake_new(c);

	touch(f, 0, 5000);
	touch(f, 0, 5000);
	ck_assert_uint_eq(atomic_load(&f->calls), 1);
	ck_assert_uint_eq(stats(c).bytes, 5000 + OVERHEAD);
	touch(f, 1, 300);
	ck_assert_uint_eq(stats(c).bytes, 300 + OVERHEAD);
	ck_assert_uint_eq(stats(c).evictions, 1);
	touch(f, 1, 300);
	ck_assert_uint_eq(atomic_load(&f->calls), 2);
	hexz_cache_destroy(c);
	free(f);
}
END_TEST

START_TEST(test_pinned_survive)
{
	struct hexz_cache *c = cache_new(2 * LRU_CHARGE, 0);
	struct fake *f = fake_new(c);
	struct hexz_block_ref *pinned, *many[10];
	const void *data;
	uint64_t n;

	pinned = get_ok(f, 0, LRU_LEN);
	data = block_ref_data(pinned);
	for (n = 1; n <= 20; n++) {
		touch(f, n, LRU_LEN);
		ck_assert_uint_le(stats(c).bytes, 2 * LRU_CHARGE + LRU_CHARGE);
	}
	ck_assert(block_ok(pinned, f, 0, LRU_LEN));
	ck_assert_ptr_eq(block_ref_data(pinned), data);
	/* A pinned block is never evicted, so it is still cached too. */
	touch(f, 0, LRU_LEN);
	ck_assert_uint_eq(atomic_load(&f->per_block[0]), 1);
	block_ref_put(pinned);

	/* Pin five times the budget: all stay valid; on release the cache
	   falls back within its budget. */
	for (n = 0; n < 10; n++)
		many[n] = get_ok(f, 100 + n, LRU_LEN);
	ck_assert_uint_eq(stats(c).bytes, 10 * LRU_CHARGE);
	for (n = 0; n < 10; n++)
		ck_assert(block_ok(many[n], f, 100 + n, LRU_LEN));
	for (n = 0; n < 10; n++) {
		block_ref_put(many[n]);
		ck_assert_uint_le(stats(c).bytes, 2 * LRU_CHARGE + (9 - n) * LRU_CHARGE);
	}
	ck_assert_uint_le(stats(c).bytes, 2 * LRU_CHARGE);
	hexz_cache_destroy(c);
	free(f);
}
END_TEST

/* ---- concurrent misses and failures ---- */

#define SAME_THREADS 16

struct same_arg {
	struct fake *f;
	pthread_barrier_t *start, *done;
	uint64_t number;
	uint32_t len;
	int rc;
	struct hexz_error err;
	struct hexz_block_ref *ref;
	bool bad_bytes;
};

static void *
same_main(void *p)
{
	struct same_arg *a = p;
	struct cache_request r;

	make_req(&r, a->f, a->number, a->len);
	pthread_barrier_wait(a->start);
	a->rc = cache_fetch(a->f->cache, &r, 1, &a->err);
	a->ref = r.ref;
	if (a->rc == HEXZ_OK)
		a->bad_bytes = !block_ok(r.ref, a->f, a->number, a->len);
	/* Hold the block until every thread has its own. */
	pthread_barrier_wait(a->done);
	block_ref_put(a->ref);
	return NULL;
}

/* SAME_THREADS threads get one block at once; results in args. */
static void
same_run(struct fake *f, uint64_t number, uint32_t len, struct same_arg *args)
{
	pthread_t th[SAME_THREADS];
	pthread_barrier_t start, done;
	int i;

	pthread_barrier_init(&start, NULL, SAME_THREADS);
	pthread_barrier_init(&done, NULL, SAME_THREADS);
	for (i = 0; i < SAME_THREADS; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].f = f;
		args[i].start = &start;
		args[i].done = &done;
		args[i].number = number;
		args[i].len = len;
		ck_assert_int_eq(pthread_create(&th[i], NULL, same_main, &args[i]), 0);
	}
	for (i = 0; i < SAME_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&done);
}

START_TEST(test_same_block_once)
{
	struct hexz_cache *c = cache_new(MIB, (unsigned int)_i);
	struct fake *f = fake_new(c);
	struct same_arg args[SAME_THREADS];
	struct hexz_cache_stats s;
	int i;

	atomic_store(&f->sleep_ms, 300);
	same_run(f, 7, 64 * KIB, args);
	for (i = 0; i < SAME_THREADS; i++) {
		ck_assert_int_eq(args[i].rc, HEXZ_OK);
		ck_assert(!args[i].bad_bytes);
		ck_assert_ptr_eq(args[i].ref, args[0].ref);
	}
	ck_assert_uint_eq(atomic_load(&f->calls), 1);
	s = stats(c);
	ck_assert_uint_eq(s.misses, 1);
	ck_assert_uint_eq(s.hits + s.waits, SAME_THREADS - 1);
	ck_assert_uint_ge(s.waits, 1);
	ck_assert_uint_eq(s.blocks, 1);
	hexz_cache_destroy(c);
	free(f);
}
END_TEST

START_TEST(test_failure_shared)
{
	struct hexz_cache *c = cache_new(MIB, 0);
	struct fake *f = fake_new(c);
	struct same_arg args[SAME_THREADS];
	struct hexz_cache_stats s;
	struct hexz_block_ref *ref;
	int i;

	/* Long enough for every thread to arrive while it is in flight. */
	atomic_store(&f->sleep_ms, 500);
	fake_fail(f, 9, HEXZ_ERR_CHECKSUM);
	same_run(f, 9, 10 * KIB, args);
	for (i = 0; i < SAME_THREADS; i++) {
		ck_assert_int_eq(args[i].rc, HEXZ_ERR_CHECKSUM);
		ck_assert_ptr_null(args[i].ref);
		ck_assert_int_eq(args[i].err.code, HEXZ_ERR_CHECKSUM);
		ck_assert_str_eq(args[i].err.message, "fake: block 9 fails (-14)");
	}
	ck_assert_uint_eq(atomic_load(&f->calls), 1);
	s = stats(c);
	ck_assert_uint_eq(s.failures, 1);
	ck_assert_uint_eq(s.misses, 1);
	ck_assert_uint_eq(s.waits, SAME_THREADS - 1);
	ck_assert_uint_eq(s.bytes, 0);
	ck_assert_uint_eq(s.blocks, 0);

	/* The failed entry is gone: the next read decodes again. */
	atomic_store(&f->nfails, 0);
	atomic_store(&f->sleep_ms, 0);
	ref = get_ok(f, 9, 10 * KIB);
	ck_assert_uint_eq(atomic_load(&f->calls), 2);
	block_ref_put(ref);
	hexz_cache_destroy(c);
	free(f);
}
END_TEST

/* A fill that fails without a message: the status's own sentence. */
static int
bare_fail(void *source, const struct block_desc *d, void *dst, struct hexz_error *err)
{
	(void)source;
	(void)d;
	(void)dst;
	(void)err;
	return HEXZ_ERR_DECOMPRESS;
}

START_TEST(test_failure_without_message)
{
	struct hexz_cache *c = cache_new(MIB, 0);
	struct cache_request r;
	struct hexz_error err = { 0, "" };

	memset(&r, 0, sizeof(r));
	r.owner = cache_new_owner(c);
	r.desc.number = 3;
	r.desc.logical_len = 100;
	r.fill = bare_fail;
	ck_assert_int_eq(cache_fetch(c, &r, 1, &err), HEXZ_ERR_DECOMPRESS);
	ck_assert_int_eq(err.code, HEXZ_ERR_DECOMPRESS);
	ck_assert_str_eq(err.message, hexz_strerror(HEXZ_ERR_DECOMPRESS));
	ck_assert_uint_eq(stats(c).bytes, 0);
	hexz_cache_destroy(c);
}
END_TEST

/* ---- all or nothing ---- */

#define AON_N 32

/* Whether every reference of reqs was released (each block unpinned). */
static void
assert_released(struct cache_request *reqs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ck_assert_ptr_null(reqs[i].ref);
}

START_TEST(test_fetch_all_or_nothing)
{
	unsigned int workers = (unsigned int)_i;
	struct hexz_cache *c = cache_new(64 * MIB, workers);
	struct fake *f = fake_new(c);
	struct cache_request reqs[AON_N];
	struct hexz_error err = { 0, "" };
	int i, rc;

	/* Some of them cached and so taken at once. */
	touch(f, 101, 5000);
	touch(f, 110, 5000);
	touch(f, 125, 5000);
	fake_fail(f, 120, HEXZ_ERR_CHECKSUM);
	fake_fail(f, 126, HEXZ_ERR_DECOMPRESS);
	atomic_store(&f->sleep_ms, 5);
	for (i = 0; i < AON_N; i++)
		make_req(&reqs[i], f, 100 + i, 5000);
	rc = cache_fetch(c, reqs, AON_N, &err);
	ck_assert_int_eq(rc, HEXZ_ERR_CHECKSUM);
	ck_assert_int_eq(err.code, HEXZ_ERR_CHECKSUM);
	ck_assert_str_eq(err.message, "fake: block 120 fails (-14)");
	assert_released(reqs, AON_N);

	/* An earlier request that fails late still wins over a later one that
	   fails first. */
	fake_fail(f, 203, HEXZ_ERR_IO);
	fake_fail(f, 220, HEXZ_ERR_CHECKSUM);
	atomic_store(&f->slow_number, 203);
	atomic_store(&f->slow_ms, 200);
	for (i = 0; i < AON_N; i++)
		make_req(&reqs[i], f, 200 + i, 5000);
	rc = cache_fetch(c, reqs, AON_N, &err);
	ck_assert_int_eq(rc, HEXZ_ERR_IO);
	ck_assert_str_eq(err.message, "fake: block 203 fails (-7)");
	assert_released(reqs, AON_N);
	if (workers)
		ck_assert_uint_ge(atomic_load(&f->worker_calls), 1);

	/* Without failures: all of them, in order. */
	atomic_store(&f->nfails, 0);
	for (i = 0; i < AON_N; i++)
		make_req(&reqs[i], f, 100 + i, 5000);
	ck_assert_int_eq(cache_fetch(c, reqs, AON_N, &err), HEXZ_OK);
	for (i = 0; i < AON_N; i++) {
		ck_assert(block_ok(reqs[i].ref, f, 100 + i, 5000));
		block_ref_put(reqs[i].ref);
	}
	ck_assert_uint_eq(atomic_load(&f->bad_mask), 0);

	/* Nothing stayed pinned: forgetting the owner frees every byte. */
	cache_forget_owner(c, f->owner);
	ck_assert_uint_eq(stats(c).bytes, 0);
	ck_assert_uint_eq(stats(c).blocks, 0);
	hexz_cache_destroy(c);
	free(f);
}
END_TEST

/* ---- many threads, random blocks ---- */

#define STRESS_THREADS 8
#define STRESS_BLOCKS 300
#define STRESS_BATCH 6

struct stress_cfg {
	uint64_t budget;
	unsigned int workers;
	uint32_t max_len;
};

static const struct stress_cfg stress_cfgs[] = {
	{ 256 * KIB, 0, 16 * KIB }, /* one shard, heavy eviction */
	{ 256 * KIB, 3, 16 * KIB },
	{ 16 * MIB, 0, 128 * KIB }, /* four shards */
	{ 16 * MIB, 2, 128 * KIB },
};

struct stress_arg {
	struct fake **fakes;
	unsigned int seed;
	unsigned int rounds;
	pthread_barrier_t *start;
	unsigned int failures;
	char first[200];
	uint32_t max_len;
};

static void
stress_fail(struct stress_arg *a, const char *what, uint64_t number, int rc)
{
	if (a->failures++ == 0)
		snprintf(a->first, sizeof(a->first), "%s: block %llu: %d", what,
			 (unsigned long long)number, rc);
}

static void *
stress_main(void *p)
{
	struct stress_arg *a = p;
	struct cache_request reqs[STRESS_BATCH], held[STRESS_BATCH];
	struct hexz_error err;
	size_t nheld = 0, k, n, i;
	unsigned int r;
	int rc;

	pthread_barrier_wait(a->start);
	for (r = 0; r < a->rounds; r++) {
		n = 1 + (size_t)rand_r(&a->seed) % STRESS_BATCH;
		for (k = 0; k < n; k++) {
			struct fake *f = a->fakes[rand_r(&a->seed) % 2];
			uint64_t number = (uint64_t)rand_r(&a->seed) % STRESS_BLOCKS;

			make_req(&reqs[k], f, number, len_of(number, a->max_len));
		}
		rc = cache_fetch(a->fakes[0]->cache, reqs, n, &err);
		if (rc != HEXZ_OK) {
			stress_fail(a, "fetch", reqs[0].desc.number, rc);
			continue;
		}
		for (k = 0; k < n; k++) {
			if (!block_ok(reqs[k].ref, reqs[k].source, reqs[k].desc.number,
				      reqs[k].desc.logical_len))
				stress_fail(a, "bytes", reqs[k].desc.number, 0);
		}
		/* Release what was held, then maybe hold these for a while. */
		for (i = 0; i < nheld; i++) {
			if (!block_ok(held[i].ref, held[i].source, held[i].desc.number,
				      held[i].desc.logical_len))
				stress_fail(a, "held bytes", held[i].desc.number, 0);
			block_ref_put(held[i].ref);
		}
		nheld = 0;
		if (rand_r(&a->seed) % 4 == 0) {
			memcpy(held, reqs, n * sizeof(reqs[0]));
			nheld = n;
		} else {
			for (k = 0; k < n; k++)
				block_ref_put(reqs[k].ref);
		}
	}
	for (i = 0; i < nheld; i++)
		block_ref_put(held[i].ref);
	return NULL;
}

START_TEST(test_stress_random)
{
	const struct stress_cfg *cfg = &stress_cfgs[_i];
	struct hexz_cache *c = cache_new(cfg->budget, cfg->workers);
	struct fake *fakes[2] = { fake_new(c), fake_new(c) };
	struct stress_arg args[STRESS_THREADS];
	pthread_t th[STRESS_THREADS];
	pthread_barrier_t start;
	struct hexz_cache_stats s;
	uint64_t lc = cfg->max_len + OVERHEAD;
	int i;

	pthread_barrier_init(&start, NULL, STRESS_THREADS);
	for (i = 0; i < STRESS_THREADS; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].fakes = fakes;
		args[i].seed = 1234u + (unsigned int)i * 77u + (unsigned int)_i;
		args[i].rounds = scaled(cfg->max_len > 64 * KIB ? 200 : 1000);
		args[i].start = &start;
		args[i].max_len = cfg->max_len;
		ck_assert_int_eq(pthread_create(&th[i], NULL, stress_main, &args[i]), 0);
	}
	for (i = 0; i < STRESS_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	for (i = 0; i < STRESS_THREADS; i++)
		ck_assert_msg(args[i].failures == 0, "thread %d: %u failures, first %s", i,
			      args[i].failures, args[i].first);

	s = stats(c);
	ck_assert_uint_gt(s.evictions, 0);
	ck_assert_uint_eq(s.failures, 0);
	ck_assert_uint_le(s.bytes, cfg->budget > shards_for(cfg->budget) * lc
					   ? cfg->budget
					   : shards_for(cfg->budget) * lc);
	ck_assert_uint_eq(atomic_load(&fakes[0]->bad_mask) + atomic_load(&fakes[1]->bad_mask), 0);
	cache_forget_owner(c, fakes[0]->owner);
	cache_forget_owner(c, fakes[1]->owner);
	ck_assert_uint_eq(stats(c).bytes, 0);
	hexz_cache_destroy(c);
	free(fakes[0]);
	free(fakes[1]);
}
END_TEST

/* ---- the memory bound, checked after every call ---- */

struct bound_cfg {
	uint64_t budget;
	uint32_t max_len;
	uint64_t blocks;
	unsigned int steps;
};

static const struct bound_cfg bound_cfgs[] = {
	{ 1, 8 * KIB, 50, 2000 },	    /* smaller than any block */
	{ 64 * KIB, 16 * KIB, 200, 2000 },  /* one shard */
	{ 16 * MIB, 64 * KIB, 1200, 2000 }, /* four shards, blocks well below a share */
	{ 8 * MIB, 5 * MIB, 40, 60 },	    /* two shards, blocks above a share */
};

#define BOUND_PINS 8

START_TEST(test_memory_bound)
{
	const struct bound_cfg *cfg = &bound_cfgs[_i];
	struct hexz_cache *c = cache_new(cfg->budget, 0);
	struct fake *fakes[2] = { fake_new(c), fake_new(c) };
	struct hexz_block_ref *pins[BOUND_PINS];
	struct cache_request reqs[4];
	struct hexz_error err;
	uint64_t shards = shards_for(cfg->budget), lc = 0, pinned, bound;
	unsigned int seed = 99 + (unsigned int)_i, steps = scaled(cfg->steps), step;
	size_t npins = 0, n, k, i, j;

	for (step = 0; step < steps; step++) {
		n = 1 + (size_t)rand_r(&seed) % 4;
		for (k = 0; k < n; k++) {
			uint64_t number = (uint64_t)rand_r(&seed) % cfg->blocks;
			uint32_t len = len_of(number, cfg->max_len);

			make_req(&reqs[k], fakes[rand_r(&seed) % 2], number, len);
			if (len + OVERHEAD > lc)
				lc = len + OVERHEAD;
		}
		ck_assert_int_eq(cache_fetch(c, reqs, n, &err), HEXZ_OK);
		for (k = 0; k < n; k++) {
			ck_assert(block_ok(reqs[k].ref, reqs[k].source, reqs[k].desc.number,
					   reqs[k].desc.logical_len));
			if (npins < BOUND_PINS && rand_r(&seed) % 8 == 0)
				pins[npins++] = reqs[k].ref;
			else
				block_ref_put(reqs[k].ref);
		}
		if (npins && rand_r(&seed) % 3 == 0) {
			i = (size_t)rand_r(&seed) % npins;
			block_ref_put(pins[i]);
			pins[i] = pins[--npins];
		}

		/* P: the charge of the distinct blocks held here. */
		pinned = 0;
		for (i = 0; i < npins; i++) {
			for (j = 0; j < i && pins[j] != pins[i]; j++)
				;
			if (j == i)
				pinned += block_ref_len(pins[i]) + OVERHEAD;
		}
		bound = cfg->budget > shards * lc ? cfg->budget : shards * lc;
		ck_assert_msg(stats(c).bytes <= bound + pinned,
			      "step %u: %llu bytes > max(budget, %llu * %llu) + %llu", step,
			      (unsigned long long)stats(c).bytes, (unsigned long long)shards,
			      (unsigned long long)lc, (unsigned long long)pinned);
		if (lc <= cfg->budget / shards)
			ck_assert_uint_le(stats(c).bytes, cfg->budget + pinned);
	}
	for (i = 0; i < npins; i++)
		block_ref_put(pins[i]);
	ck_assert_uint_le(stats(c).bytes, cfg->budget > shards * lc ? cfg->budget : shards * lc);
	/* The budget is used, not just respected (when enough was read). */
	if (steps == 2000 && cfg->budget > 1 && lc <= cfg->budget / shards)
		ck_assert_uint_ge(stats(c).bytes, cfg->budget / 2);
	hexz_cache_destroy(c);
	free(fakes[0]);
	free(fakes[1]);
}
END_TEST

/* ---- workers ---- */

START_TEST(test_workers_spread)
{
	struct hexz_cache *c = cache_new(16 * MIB, 4);
	struct fake *f = fake_new(c);
	struct cache_request reqs[8];
	struct hexz_error err;
	int i;

	atomic_store(&f->sleep_ms, 50);
	for (i = 0; i < 8; i++)
		make_req(&reqs[i], f, (uint64_t)i, 32 * KIB);
	ck_assert_int_eq(cache_fetch(c, reqs, 8, &err), HEXZ_OK);
	for (i = 0; i < 8; i++) {
		ck_assert(block_ok(reqs[i].ref, f, (uint64_t)i, 32 * KIB));
		block_ref_put(reqs[i].ref);
	}
	ck_assert_uint_eq(atomic_load(&f->calls), 8);
	ck_assert_uint_ge(atomic_load(&f->worker_calls), 1);
	ck_assert_uint_eq(atomic_load(&f->worker_calls) + atomic_load(&f->caller_calls), 8);
	ck_assert_uint_ge(atomic_load(&f->max_running), 2);
	ck_assert_uint_eq(atomic_load(&f->bad_mask), 0);
	ck_assert_uint_eq(stats(c).misses, 8);

	/* Cached now: one call, all hits, nothing decoded. */
	for (i = 0; i < 8; i++)
		make_req(&reqs[i], f, (uint64_t)i, 32 * KIB);
	ck_assert_int_eq(cache_fetch(c, reqs, 8, &err), HEXZ_OK);
	for (i = 0; i < 8; i++)
		block_ref_put(reqs[i].ref);
	ck_assert_uint_eq(atomic_load(&f->calls), 8);
	ck_assert_uint_eq(stats(c).hits, 8);
	hexz_cache_destroy(c);
	free(f);
}
END_TEST

/* Thin archives: a fill that fetches parent blocks, from every thread. */
START_TEST(test_nested_fetch)
{
	struct hexz_cache *c = cache_new(MIB, 2);
	struct fake *parent = fake_new(c), *child = fake_new(c);
	struct stress_arg args[4];
	struct fake *fakes[2] = { child, child };
	pthread_t th[4];
	pthread_barrier_t start;
	int i;

	child->parent = parent;
	child->parent_fanout = 3;
	atomic_store(&parent->sleep_ms, 1);
	pthread_barrier_init(&start, NULL, 4);
	for (i = 0; i < 4; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].fakes = fakes;
		args[i].seed = 5u + (unsigned int)i;
		args[i].rounds = scaled(200);
		args[i].start = &start;
		args[i].max_len = 8 * KIB;
		ck_assert_int_eq(pthread_create(&th[i], NULL, stress_main, &args[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	for (i = 0; i < 4; i++)
		ck_assert_msg(args[i].failures == 0, "thread %d: %s", i, args[i].first);
	ck_assert_uint_eq(atomic_load(&child->nested_failures), 0);
	ck_assert_uint_gt(atomic_load(&parent->calls), 0);
	cache_forget_owner(c, child->owner);
	cache_forget_owner(c, parent->owner);
	ck_assert_uint_eq(stats(c).bytes, 0);
	hexz_cache_destroy(c);
	free(parent);
	free(child);
}
END_TEST

static void
prefetch_range(struct fake *f, uint64_t first, size_t n, uint32_t len)
{
	struct cache_request reqs[64];
	size_t i, k;

	for (i = 0; i < n; i += k) {
		for (k = 0; k < 64 && i + k < n; k++)
			make_req(&reqs[k], f, first + i + k, len);
		cache_prefetch(f->cache, reqs, k);
	}
}

/* Wait (30 s at most) until the cache has counted n prefetches, then 50 ms
   more, long enough for any beyond n to show. */
static void
wait_prefetches(struct hexz_cache *c, uint64_t n)
{
	unsigned int i;

	for (i = 0; i < 3000 && stats(c).prefetches < n; i++)
		sleep_ms(10);
	sleep_ms(50);
}

START_TEST(test_prefetch)
{
	struct hexz_cache *c = cache_new(16 * MIB, 2);
	struct fake *f = fake_new(c);
	struct hexz_cache_stats s;
	struct hexz_cache *plain;
	struct fake *g;
	uint64_t n;

	prefetch_range(f, 0, 10, 8 * KIB);
	ck_assert(wait_until(&f->calls, 10, 30));
	/* The count follows the decode: wait for it to settle too. */
	wait_prefetches(c, 10);
	s = stats(c);
	ck_assert_uint_eq(s.prefetches, 10);
	ck_assert_uint_eq(s.misses, 0);
	for (n = 0; n < 10; n++)
		touch(f, n, 8 * KIB);
	s = stats(c);
	ck_assert_uint_eq(s.hits, 10);
	ck_assert_uint_eq(s.misses, 0);
	ck_assert_uint_eq(atomic_load(&f->calls), 10);
	ck_assert_uint_eq(atomic_load(&f->worker_calls), 10);
	ck_assert_uint_eq(atomic_load(&f->bad_mask), 0);

	/* Cached blocks are skipped. */
	prefetch_range(f, 0, 10, 8 * KIB);
	sleep_ms(50);
	ck_assert_uint_eq(atomic_load(&f->calls), 10);
	ck_assert_uint_eq(stats(c).prefetches, 10);

	cache_forget_owner(c, f->owner);
	ck_assert_uint_eq(stats(c).bytes, 0);
	hexz_cache_destroy(c);
	free(f);

	/* Without workers, prefetch does nothing. */
	plain = cache_new(MIB, 0);
	g = fake_new(plain);
	prefetch_range(g, 0, 10, 100);
	sleep_ms(20);
	ck_assert_uint_eq(atomic_load(&g->calls), 0);
	ck_assert_uint_eq(stats(plain).prefetches, 0);
	hexz_cache_destroy(plain);
	free(g);
}
END_TEST

/* A full queue drops the rest: the one worker busy, 256 jobs queued. */
START_TEST(test_prefetch_queue_bound)
{
	struct hexz_cache *c = cache_new(16 * MIB, 1);
	struct fake *f = fake_new(c);
	uint64_t n;

	atomic_store(&f->slow_number, 0);
	atomic_store(&f->slow_ms, 300);
	prefetch_range(f, 0, 1, 100);
	ck_assert(wait_until(&f->running, 1, 30));
	prefetch_range(f, 1, 1000, 100);
	/* Queued twice, or in the queue already: once. */
	prefetch_range(f, 1, 10, 100);
	wait_prefetches(c, 257);
	ck_assert_uint_eq(stats(c).prefetches, 257);
	ck_assert_uint_eq(atomic_load(&f->calls), 257);
	for (n = 1; n <= 256; n++)
		ck_assert_uint_eq(atomic_load(&f->per_block[n]), 1);
	ck_assert_uint_eq(atomic_load(&f->per_block[257]), 0);
	hexz_cache_destroy(c);
	free(f);
}
END_TEST

/*
 * A block its reader decoded and consumed before the workers got to it
 * cancels its queued prefetch job: the job would decode it once more for
 * nobody. Under CPU pressure the workers used to spend most of their time
 * on such jobs (two readers on two cores decoded each block about 1.6
 * times). A later prefetch of the same block is queued afresh.
 */
START_TEST(test_consumed_cancels_prefetch)
{
	struct hexz_cache *c = cache_new(16 * MIB, 1);
	struct fake *f = fake_new(c);
	uint64_t n;

	/* The one worker is busy with block 0 while the reader overtakes it
	   (a second is ample for three small decodes, even under valgrind). */
	atomic_store(&f->slow_number, 0);
	atomic_store(&f->slow_ms, 1000);
	prefetch_range(f, 0, 1, 4 * KIB);
	ck_assert(wait_until(&f->running, 1, 30));
	prefetch_range(f, 1, 5, 4 * KIB);
	/* Jobs at the head of the queue (1, then 2) and one behind it (4). */
	block_ref_put_consumed(get_ok(f, 1, 4 * KIB));
	block_ref_put_consumed(get_ok(f, 2, 4 * KIB));
	block_ref_put_consumed(get_ok(f, 4, 4 * KIB));
	ck_assert_uint_eq(atomic_load(&f->caller_calls), 3);

	/* Block 0, then 3 and 5; not 1, 2 or 4 again. */
	wait_prefetches(c, 3);
	ck_assert_uint_eq(stats(c).prefetches, 3);
	ck_assert_uint_eq(stats(c).cancelled, 3);
	ck_assert_uint_eq(atomic_load(&f->worker_calls), 3);
	for (n = 1; n <= 5; n++)
		ck_assert_msg(atomic_load(&f->per_block[n]) == 1, "block %llu decoded %u times",
			      (unsigned long long)n, atomic_load(&f->per_block[n]));
	ck_assert_uint_eq(stats(c).blocks, 3); /* 0, 3, 5 */

	/* The cancelled job does not hide a new request for the block. */
	prefetch_range(f, 1, 1, 4 * KIB);
	ck_assert(wait_until(&f->per_block[1], 2, 30));
	hexz_cache_destroy(c);
	free(f);
}
END_TEST

/*
 * The scheduling policy of each thread of this process named `name`, into
 * policy[0..max); returns how many there are.
 */
static unsigned int
thread_policies(const char *name, int *policy, unsigned int max)
{
	char path[300], comm[32];
	unsigned int found = 0;
	struct dirent *e;
	DIR *d = opendir("/proc/self/task");

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, name) != 0)
			continue;
		if (found < max)
			policy[found] = sched_getscheduler((pid_t)atoi(e->d_name));
		found++;
	}
	closedir(d);
	return found;
}

/*
 * The workers run under SCHED_BATCH (no wakeup preemption of the threads
 * that answer reads); the thread that made the cache keeps its policy.
 */
START_TEST(test_worker_policy)
{
	int own = sched_getscheduler(0);
	struct hexz_cache *c = cache_new(16 * MIB, 3);
	int policy[4] = { -1, -1, -1, -1 };
	unsigned int n = 0, i, tries, batch;

	/* A worker sets its own policy once it runs. */
	for (tries = 0; tries < 300; tries++) {
		n = thread_policies("hexz-worker", policy, 4);
		for (i = batch = 0; i < n && i < 4; i++)
			batch += policy[i] == SCHED_BATCH;
		if (n == 3 && batch == 3)
			break;
		sleep_ms(10);
	}
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(policy[i], SCHED_BATCH);
	ck_assert_int_eq(sched_getscheduler(0), own);
	hexz_cache_destroy(c);
}
END_TEST

START_TEST(test_forget_waits_for_jobs)
{
	struct hexz_cache *c = cache_new(16 * MIB, 1);
	struct fake *f = fake_new(c), *other = fake_new(c);
	struct hexz_block_ref *ref;

	touch(other, 1, 1000);
	atomic_store(&f->sleep_ms, 200);
	prefetch_range(f, 0, 6, 4 * KIB);
	ck_assert(wait_until(&f->running, 1, 30));
	cache_forget_owner(c, f->owner);
	/* The running job ended before forget returned; the queued ones are gone. */
	ck_assert_uint_eq(atomic_load(&f->running), 0);
	ck_assert_uint_eq(atomic_load(&f->calls), 1);
	ck_assert_uint_eq(stats(c).blocks, 1); /* other's */
	sleep_ms(100);
	ck_assert_uint_eq(atomic_load(&f->calls), 1);

	/* The other owner's block stays cached. */
	ref = get_ok(other, 1, 1000);
	ck_assert_uint_eq(atomic_load(&other->calls), 1);
	block_ref_put(ref);
	hexz_cache_destroy(c);
	free(f);
	free(other);
}
END_TEST

START_TEST(test_forget_keeps_pinned)
{
	struct hexz_cache *c = cache_new(16 * MIB, 0);
	struct fake *f = fake_new(c), *g = fake_new(c);
	struct hexz_block_ref *pinned, *again;
	uint64_t n;

	for (n = 0; n < 4; n++)
		touch(f, n, 3000);
	pinned = get_ok(f, 1, 3000);
	touch(g, 0, 500);
	touch(g, 1, 500);
	cache_forget_owner(c, f->owner);
	ck_assert_uint_eq(stats(c).bytes, (3000 + OVERHEAD) + 2 * (500 + OVERHEAD));
	ck_assert_uint_eq(stats(c).blocks, 3);
	ck_assert(block_ok(pinned, f, 1, 3000));
	/* Out of the cache: a new read decodes a new block. */
	again = get_ok(f, 1, 3000);
	ck_assert_ptr_ne(again, pinned);
	ck_assert_uint_eq(atomic_load(&f->per_block[1]), 2);
	block_ref_put(pinned);
	block_ref_put(again);
	touch(g, 0, 500);
	ck_assert_uint_eq(atomic_load(&g->calls), 2);
	cache_forget_owner(c, f->owner);
	cache_forget_owner(c, g->owner);
	ck_assert_uint_eq(stats(c).bytes, 0);
	hexz_cache_destroy(c);
	free(f);
	free(g);
}
END_TEST

START_TEST(test_destroy_with_workers)
{
	struct hexz_cache *c;
	struct fake *f;
	int i;

	for (i = 0; i < 20; i++) {
		c = cache_new(MIB, 4);
		hexz_cache_destroy(c);
	}
	/* Destroyed with jobs queued and running: they end or are dropped. */
	c = cache_new(MIB, 2);
	f = fake_new(c);
	atomic_store(&f->sleep_ms, 20);
	prefetch_range(f, 0, 50, 4 * KIB);
	ck_assert(wait_until(&f->running, 1, 30));
	hexz_cache_destroy(c);
	ck_assert_uint_eq(atomic_load(&f->running), 0);
	ck_assert_uint_lt(atomic_load(&f->calls), 50);
	free(f);
}
END_TEST

static Suite *
block_cache_suite(void)
{
	Suite *s = suite_create("block_cache");
	TCase *basics = tcase_create("basics");
	TCase *threads = tcase_create("threads");
	TCase *workers = tcase_create("workers");

	tcase_add_test(basics, test_create_args);
	tcase_add_test(basics, test_hit_miss);
	tcase_add_test(basics, test_lru_order);
	tcase_add_test(basics, test_tiny_budget);
	tcase_add_test(basics, test_pinned_survive);
	tcase_add_test(basics, test_failure_without_message);
	tcase_add_loop_test(basics, test_memory_bound, 0,
			    (int)(sizeof(bound_cfgs) / sizeof(bound_cfgs[0])));
	tcase_add_test(basics, test_forget_keeps_pinned);
	suite_add_tcase(s, basics);

	tcase_add_loop_test(threads, test_same_block_once, 0, 4); /* workers 0..3 */
	tcase_add_test(threads, test_failure_shared);
	tcase_add_loop_test(threads, test_fetch_all_or_nothing, 0, 5); /* workers 0..4 */
	tcase_add_loop_test(threads, test_stress_random, 0,
			    (int)(sizeof(stress_cfgs) / sizeof(stress_cfgs[0])));
	suite_add_tcase(s, threads);

	tcase_add_test(workers, test_workers_spread);
	tcase_add_test(workers, test_nested_fetch);
	tcase_add_test(workers, test_prefetch);
	tcase_add_test(workers, test_prefetch_queue_bound);
	tcase_add_test(workers, test_consumed_cancels_prefetch);
	tcase_add_test(workers, test_worker_policy);
	tcase_add_test(workers, test_forget_waits_for_jobs);
	tcase_add_test(workers, test_destroy_with_workers);
	suite_add_tcase(s, workers);
	return s;
}

int
main(void)
{
	return tu_run_suite(block_cache_suite());
}
