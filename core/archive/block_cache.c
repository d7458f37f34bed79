/* SPDX-License-Identifier: MIT */
/*
 * The decompressed-block cache: include/hexz/cache.h (public) and
 * block_cache.h (the archive reader's side).
 *
 * Blocks
 * ------
 * A block is one allocation: BLOCK_HDR bytes of bookkeeping (struct
 * hexz_block_ref) and then its decoded bytes, 64-byte aligned. Every
 * block is charged BLOCK_HDR + logical_len bytes against the budget, so
 * that an archive of tiny blocks cannot hide its bookkeeping from it.
 * A block's reference count counts the cache's table (one, while the block
 * is in a shard's table) and every reader and waiter; whoever drops the
 * last reference frees it. Eviction only drops the table's reference, so a
 * block is never freed under a reader.
 *
 * Shards
 * ------
 * A key (owner, number) hashes to one of S shards, S the largest power of
 * two <= CACHE_MAX_SHARDS with budget / S >= CACHE_MIN_SHARE (S = 1 below
 * twice that). Each shard has its own mutex, chained hash table, LRU list
 * (ready blocks only) and share of the budget (budget / S, the remainder
 * spread over the first shards), so lookups of different blocks rarely meet
 * on a lock. A hit is: lock the shard, find, move to the front of the LRU
 * list, one atomic increment, unlock.
 *
 * A missing block is entered in the table as LOADING before it is decoded,
 * by the thread that decodes it, with no lock held while fill() runs.
 * Another reader of the same key finds it LOADING, takes a reference and
 * sleeps on the shard's condition variable until it is READY (it then
 * shares the block) or FAILED (it shares the status and message, and the
 * entry has already left the table, so a later read decodes again).
 *
 * Eviction (shard_trim()) walks the shard's LRU list from its old end and
 * drops blocks no reader holds while the shard's ready bytes exceed its
 * share, but never the shard's last ready block: a shard whose share is
 * smaller than a block still keeps one. It runs when a decoded block enters
 * the shard, and when a reader releases a cached block of a shard that is
 * over its share (the blocks it held there pushed the others out of line).
 *
 * Memory bound
 * ------------
 * Let Lc be the largest charge of a block (logical_len + BLOCK_HDR, at
 * most HEXZ_MAX_BLOCK_LEN + BLOCK_HDR) and P the charge of the blocks
 * readers hold references to, cached or not. After every trim, the ready
 * blocks no reader holds in one shard weigh at most max(share, Lc), so
 * whenever no call into the cache is running,
 *
 *	stats.bytes <= max(budget, S * Lc) + P,
 *
 * and while calls run, add one block's charge (at most Lc) per decode in
 * flight: each calling thread and each worker decodes one block at a time
 * (plus one per parent archive when a fill fetches parent blocks), and a
 * miss allocates its block before it knows whether another thread won.
 * Every share is at least CACHE_MIN_SHARE once the budget is, so for blocks
 * of up to CACHE_MIN_SHARE - BLOCK_HDR bytes (every block of an archive
 * with the default 64 KiB blocks) and a budget of at least that much,
 * S * Lc <= budget and the bound is budget + P + the decodes in flight.
 * stats.bytes counts every block allocated and not yet freed: cached,
 * evicted but still held, and being decoded.
 *
 * Workers
 * -------
 * A cache may own worker threads (all signals blocked, named
 * "hexz-worker"). They take work from one queue, under cache->qlock:
 *  - fetch batches first: cache_fetch() publishes the misses of one call
 *    as a batch on its own stack and asks for up to (misses - 1) helpers;
 *    the helpers and the calling thread claim requests from it with one
 *    atomic counter, so the caller never idles while work remains (and a
 *    fetch from inside a worker still progresses when every worker is
 *    busy). The caller then takes its batch out of the queue and waits for
 *    the helpers that joined it.
 *  - then prefetch jobs: a bounded ring of CACHE_QUEUE_LEN (owner,
 *    block) jobs, best effort: keys cached, in flight or already queued
 *    are skipped, and requests beyond a full queue are dropped. A block
 *    consumed (block_ref_put_consumed()) cancels its queued job: its
 *    reader got there first.
 * cache_forget_owner() removes the owner's queued jobs and waits for the
 * running ones (each worker records the owner of the job it runs).
 *
 * The workers run under SCHED_BATCH: the same share of the CPU as any
 * thread of the process, but a worker that wakes up does not preempt the
 * thread running on its core; it waits for the next tick or for that
 * thread to sleep. Under the default policy, a cold sequential read on two
 * cores had its request threads preempted two to three times per 1 MiB
 * request (most of their time goes to the reply's copy), to decode blocks
 * the reader did not need yet; under SCHED_BATCH, about once per eight
 * requests. A lower priority (nice) would do better on an idle machine
 * but starves the workers on a busy one, and readers wait for them: with
 * two CPU-bound processes running beside it, nice 19 cut a sequential
 * reader's throughput by 40 % and stalled reads for 100 ms.
 *
 * Lock order: a shard lock and qlock are never held together; no lock is
 * held while fill() runs or while a block is freed.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <hexz/cache.h>

#include "block_cache.h"
#include "error_set.h"
#include "storage/resident.h"

/* At most this many shards; each keeps at least CACHE_MIN_SHARE of budget. */
#define CACHE_MAX_SHARDS_LOG2 6
#define CACHE_MAX_SHARDS (1u << CACHE_MAX_SHARDS_LOG2)
#define CACHE_MIN_SHARE ((uint64_t)4 << 20)
/* More workers than this are not started (hexz_cache_create()). */
#define CACHE_MAX_WORKERS 256u
/* Prefetch jobs queued at most; more are dropped. */
#define CACHE_QUEUE_LEN 256u
/* Buckets of a fresh shard table; it doubles when chains average 2. */
#define SHARD_MIN_BUCKETS 64u
/* Freed block memory kept for the next blocks, in bytes at most (see the pool). */
#define POOL_MAX_BYTES ((uint64_t)8 << 20)
/* Pooled blocks a lookup looks at for one of the right size. */
#define POOL_SCAN 8
/*
 * The archives' file pages reads may leave mapped, in bytes charged
 * (storage/resident.h) between two trims: a trim costs one madvise() per
 * archive touched, so at 16 MiB a random reader of 64 KiB blocks pays one
 * round of them per hundred or so decompressions.
 */
#define CACHE_MAPPED_MAX ((uint64_t)16 << 20)
/* Bookkeeping before a block's data: the charge per block beyond its bytes. */
#define BLOCK_HDR 128u
#define BLOCK_ALIGN 64u

enum block_state {
	BLOCK_LOADING, /* in the table, being decoded by one thread */
	BLOCK_READY,   /* decoded; on the LRU list while in the table */
	BLOCK_FAILED,  /* the decode failed; out of the table */
};

struct cache_shard;

/* One decoded block; its data follows at BLOCK_HDR. */
struct hexz_block_ref {
	_Atomic uint32_t refs;
	uint32_t len;	/* decoded bytes */
	uint64_t owner; /* the key */
	uint64_t number;
	uint64_t hash;			      /* key_hash() of the key */
	struct hexz_block_ref *hnext;	      /* hash chain (a victim list once out) */
	struct hexz_block_ref *newer, *older; /* LRU list, while READY in the table */
	struct hexz_cache *cache;
	struct cache_shard *shard;
	struct hexz_error *error; /* FAILED: the message, or NULL when none could be kept */
	int status;		  /* FAILED: the fill's status */
	uint8_t state;		  /* enum block_state; under the shard lock */
	bool in_table;		  /* under the shard lock */
	_Atomic bool cached;	  /* on the LRU list; only a hint outside the lock */
};

_Static_assert(sizeof(struct hexz_block_ref) <= BLOCK_HDR, "block header outgrew BLOCK_HDR");
_Static_assert(BLOCK_HDR % BLOCK_ALIGN == 0, "block data must stay aligned");

struct cache_shard {
	pthread_mutex_t lock;
	pthread_cond_t loaded;		 /* a LOADING block of this shard settled */
	struct hexz_block_ref **buckets; /* nbuckets chains */
	size_t nbuckets;		 /* a power of two */
	size_t entries;			 /* blocks in the table, LOADING ones too */
	size_t ready;			 /* READY blocks in the table (on the LRU list) */
	struct hexz_block_ref *mru, *lru;
	unsigned int waiters; /* threads asleep on loaded */
	uint64_t share;	      /* immutable */
	/* Charge of the READY blocks in the table: written under the lock, read
	   without it by block_ref_put(). */
	_Atomic uint64_t bytes;
	/* Counters, written under the lock. */
	_Atomic uint64_t hits, misses, waits, evictions, failures;
} __attribute__((aligned(64)));

/* A prefetch job: decode one block into the cache. fill is NULL once the
   job is cancelled (job_cancel()): it leaves the ring unrun. */
struct prefetch_job {
	uint64_t owner;
	struct block_desc desc;
	block_fill_fn fill;
	void *source;
};

/* The misses of one cache_fetch() call, shared with the helping workers. */
struct fetch_batch {
	struct hexz_cache *cache;
	struct cache_request *reqs;
	size_t n;
	_Atomic size_t next; /* the next request to claim */
	_Atomic bool failed; /* stop claiming: the fetch fails anyway */
	/* Under cache->qlock: */
	unsigned int wanted; /* helpers still wanted; queued while > 0 */
	unsigned int active; /* helpers working on it */
	struct fetch_batch *qnext;
	size_t fail_index; /* the first failing request, in request order */
	int fail_status;
	struct hexz_error fail_err;
	pthread_cond_t done; /* active fell to 0 */
};

struct cache_worker {
	pthread_t thread;
	struct hexz_cache *cache;
	/* Under cache->qlock: the owner of the prefetch job it runs. */
	bool busy;
	uint64_t owner;
};

struct hexz_cache {
	struct cache_shard *shards;
	unsigned int shard_bits; /* S = 1 << shard_bits */
	unsigned int shards_ready;
	uint64_t budget;
	_Atomic uint64_t next_owner;
	_Atomic uint64_t bytes, blocks, prefetches, cancelled;

	pthread_mutex_t qlock;
	pthread_cond_t work; /* a batch or a job is waiting, or stopping */
	pthread_cond_t idle; /* a worker finished a prefetch job */
	struct fetch_batch *batch_head, *batch_tail;
	struct prefetch_job *jobs; /* ring of CACHE_QUEUE_LEN */
	size_t jhead, jcount;
	unsigned int forgetting; /* threads in cache_forget_owner() waiting on idle */
	bool stopping;
	bool qlock_ready;
	/*
	 * The pool: memory of freed blocks, chained through hnext, reused for
	 * blocks of the same length. A block decompressed into fresh memory
	 * pays a page fault, a zeroing and a memory-cgroup charge per page,
	 * about a fifth of the cost of decompressing LZ4 into it.
	 */
	pthread_mutex_t pool_lock;
	struct hexz_block_ref *pool;
	uint64_t pool_bytes;
	unsigned int nworkers; /* started */
	struct cache_worker *workers;
	/* The mapped pages of the archives' storages (storage/resident.h). */
	struct resident_budget *resident;
};

/* ---- keys and blocks ---- */

static inline uint64_t
key_hash(uint64_t owner, uint64_t number)
{
	/* splitmix64's finaliser over both halves of the key. */
	uint64_t x = number * 0x9e3779b97f4a7c15ull ^ (owner + 0x632be59bd9b4e019ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline struct cache_shard *
shard_of(const struct hexz_cache *c, uint64_t hash)
{
	/* The high bits pick the shard, the low ones the bucket. */
	if (c->shard_bits == 0)
		return &c->shards[0];
	return &c->shards[hash >> (64 - c->shard_bits)];
}

static inline uint64_t
block_charge(const struct hexz_block_ref *b)
{
	return (uint64_t)BLOCK_HDR + b->len;
}

static inline unsigned char *
block_data(struct hexz_block_ref *b)
{
	return (unsigned char *)b + BLOCK_HDR;
}

static const char *
stream_name(uint8_t stream)
{
	return stream == HEXZ_STREAM_AUXILIARY ? "auxiliary" : "main";
}

/* Pooled memory for a block of `len` bytes, or NULL. */
static void *
pool_take(struct hexz_cache *c, uint32_t len)
{
	struct hexz_block_ref **p, *b = NULL;
	unsigned int scanned = 0;

	pthread_mutex_lock(&c->pool_lock);
	for (p = &c->pool; *p && scanned < POOL_SCAN; p = &(*p)->hnext, scanned++) {
		if ((*p)->len == len) {
			b = *p;
			*p = b->hnext;
			c->pool_bytes -= block_charge(b);
			break;
		}
	}
	pthread_mutex_unlock(&c->pool_lock);
	return b;
}

/* Keep a freed block's memory in the pool if there is room; true if kept. */
static bool
pool_give(struct hexz_cache *c, struct hexz_block_ref *b)
{
	bool kept = false;

	pthread_mutex_lock(&c->pool_lock);
	if (c->pool_bytes + block_charge(b) <= POOL_MAX_BYTES) {
		b->hnext = c->pool;
		c->pool = b;
		c->pool_bytes += block_charge(b);
		kept = true;
	}
	pthread_mutex_unlock(&c->pool_lock);
	return kept;
}

/* A LOADING block for request r, referenced by the table and the caller. */
static struct hexz_block_ref *
block_alloc(struct hexz_cache *c, struct cache_shard *sh, uint64_t hash,
	    const struct cache_request *r)
{
	struct hexz_block_ref *b;
	void *mem;

	mem = pool_take(c, r->desc.logical_len);
	/* len was checked against HEXZ_MAX_BLOCK_LEN: no overflow. */
	if (!mem && posix_memalign(&mem, BLOCK_ALIGN, BLOCK_HDR + (size_t)r->desc.logical_len) != 0)
		return NULL;
	b = mem;
	memset(b, 0, sizeof(*b));
	atomic_init(&b->refs, 2);
	atomic_init(&b->cached, false);
	b->len = r->desc.logical_len;
	b->owner = r->owner;
	b->number = r->desc.number;
	b->hash = hash;
	b->cache = c;
	b->shard = sh;
	b->state = BLOCK_LOADING;
	atomic_fetch_add_explicit(&c->bytes, block_charge(b), memory_order_relaxed);
	atomic_fetch_add_explicit(&c->blocks, 1, memory_order_relaxed);
	return b;
}

static void
block_free(struct hexz_block_ref *b)
{
	struct hexz_cache *c = b->cache;

	atomic_fetch_sub_explicit(&c->bytes, block_charge(b), memory_order_relaxed);
	atomic_fetch_sub_explicit(&c->blocks, 1, memory_order_relaxed);
	free(b->error);
	b->error = NULL;
	if (!pool_give(c, b))
		free(b);
}

/* A counter written only under the shard lock: no locked instruction needed. */
static inline void
shard_count(_Atomic uint64_t *counter)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* ---- a shard's table and LRU list; all under its lock ---- */

static struct hexz_block_ref *
table_find(const struct cache_shard *sh, uint64_t hash, uint64_t owner, uint64_t number)
{
	struct hexz_block_ref *b = sh->buckets[hash & (sh->nbuckets - 1)];

	while (b && (b->number != number || b->owner != owner))
		b = b->hnext;
	return b;
}

/* Double the buckets; on no memory the chains just grow longer. */
static void
table_grow(struct cache_shard *sh)
{
	size_t nb = sh->nbuckets * 2, i;
	struct hexz_block_ref **nbk, *b, *next;

	if (nb > SIZE_MAX / sizeof(*nbk))
		return;
	nbk = calloc(nb, sizeof(*nbk));
	if (!nbk)
		return;
	for (i = 0; i < sh->nbuckets; i++) {
		for (b = sh->buckets[i]; b; b = next) {
			next = b->hnext;
			b->hnext = nbk[b->hash & (nb - 1)];
			nbk[b->hash & (nb - 1)] = b;
		}
	}
	free(sh->buckets);
	sh->buckets = nbk;
	sh->nbuckets = nb;
}

static void
table_insert(struct cache_shard *sh, struct hexz_block_ref *b)
{
	struct hexz_block_ref **head;

	if (sh->entries >= 2 * sh->nbuckets)
		table_grow(sh);
	head = &sh->buckets[b->hash & (sh->nbuckets - 1)];
	b->hnext = *head;
	*head = b;
	b->in_table = true;
	sh->entries++;
}

static void
table_remove(struct cache_shard *sh, struct hexz_block_ref *b)
{
	struct hexz_block_ref **p = &sh->buckets[b->hash & (sh->nbuckets - 1)];

	while (*p != b)
		p = &(*p)->hnext;
	*p = b->hnext;
	b->hnext = NULL;
	b->in_table = false;
	sh->entries--;
}

static void
lru_unlink(struct cache_shard *sh, struct hexz_block_ref *b)
{
	if (b->newer)
		b->newer->older = b->older;
	else
		sh->mru = b->older;
	if (b->older)
		b->older->newer = b->newer;
	else
		sh->lru = b->newer;
	b->newer = b->older = NULL;
}

static void
lru_push_front(struct cache_shard *sh, struct hexz_block_ref *b)
{
	b->newer = NULL;
	b->older = sh->mru;
	if (sh->mru)
		sh->mru->newer = b;
	else
		sh->lru = b;
	sh->mru = b;
}

/* Enter a freshly decoded block (READY) into the LRU list and the bytes. */
static void
shard_admit(struct cache_shard *sh, struct hexz_block_ref *b)
{
	b->state = BLOCK_READY;
	lru_push_front(sh, b);
	atomic_store_explicit(&b->cached, true, memory_order_relaxed);
	sh->ready++;
	atomic_store(&sh->bytes,
		     atomic_load_explicit(&sh->bytes, memory_order_relaxed) + block_charge(b));
}

/*
 * Take a READY block out of the table and the LRU list. The table's
 * reference passes to the caller, who drops it after unlocking.
 */
static void
shard_take_out(struct cache_shard *sh, struct hexz_block_ref *b)
{
	lru_unlink(sh, b);
	table_remove(sh, b);
	atomic_store_explicit(&b->cached, false, memory_order_relaxed);
	sh->ready--;
	atomic_store(&sh->bytes,
		     atomic_load_explicit(&sh->bytes, memory_order_relaxed) - block_charge(b));
}

/*
 * Evict, oldest first, the blocks no reader holds while the shard is over
 * its share, keeping at least one block. Returns the evicted blocks chained
 * through hnext, each still carrying the table's reference: drop them with
 * drop_victims() after unlocking.
 *
 * The loads of refs and the stores of bytes are sequentially consistent,
 * as are their counterparts in block_ref_put(): a reader that releases a
 * block while this runs either is seen here as gone, or sees the shard over
 * its share and trims again itself.
 */
static struct hexz_block_ref *
shard_trim(struct cache_shard *sh)
{
	struct hexz_block_ref *victims = NULL, *b = sh->lru, *newer;

	while (b && sh->ready > 1 &&
	       atomic_load_explicit(&sh->bytes, memory_order_relaxed) > sh->share) {
		newer = b->newer;
		if (atomic_load(&b->refs) == 1) {
			shard_take_out(sh, b);
			shard_count(&sh->evictions);
			b->hnext = victims;
			victims = b;
		}
		b = newer;
	}
	return victims;
}

static void
drop_victims(struct hexz_block_ref *victims)
{
	struct hexz_block_ref *next;

	for (; victims; victims = next) {
		next = victims->hnext;
		block_ref_put(victims);
	}
}

/* ---- references ---- */

const void *
block_ref_data(const struct hexz_block_ref *ref)
{
	return ref ? (const unsigned char *)ref + BLOCK_HDR : NULL;
}

size_t
block_ref_len(const struct hexz_block_ref *ref)
{
	return ref ? ref->len : 0;
}

void
block_ref_get(struct hexz_block_ref *ref)
{
	if (ref)
		atomic_fetch_add_explicit(&ref->refs, 1, memory_order_relaxed);
}

void
block_ref_put(struct hexz_block_ref *ref)
{
	struct cache_shard *sh;
	struct hexz_block_ref *victims;
	uint32_t old;
	bool cached;

	if (!ref)
		return;
	/* Read while the reference still pins the block. */
	sh = ref->shard;
	cached = atomic_load_explicit(&ref->cached, memory_order_relaxed);
	old = atomic_fetch_sub(&ref->refs, 1);
	if (old == 1) {
		block_free(ref);
		return;
	}
	/* Only the table's reference is left: the block now counts as
	   unpinned, which may put its shard over its share. */
	if (old == 2 && cached && atomic_load(&sh->bytes) > sh->share) {
		pthread_mutex_lock(&sh->lock);
		victims = shard_trim(sh);
		pthread_mutex_unlock(&sh->lock);
		drop_victims(victims);
	}
}

/*
 * Cancel the queued prefetch job for a key, if any. A block leaves the cache
 * as consumed when its reader got to it before the workers did: the reader
 * decoded it itself. A job still queued for it would decode it once more,
 * for nobody, and keep it until evicted. Under CPU pressure (two streams on
 * two cores) that is what the workers ended up doing most of the time: the
 * queue filled with jobs the readers had passed, the workers decoded those
 * while the readers decoded their own blocks, and new jobs found the queue
 * full. Takes qlock; call with no shard lock held.
 */
static void
job_cancel(struct hexz_cache *c, uint64_t owner, uint64_t number)
{
	size_t k;

	if (c->nworkers == 0)
		return;
	pthread_mutex_lock(&c->qlock);
	for (k = 0; k < c->jcount; k++) {
		struct prefetch_job *j = &c->jobs[(c->jhead + k) % CACHE_QUEUE_LEN];

		if (j->fill && j->owner == owner && j->desc.number == number) {
			j->fill = NULL;
			atomic_fetch_add_explicit(&c->cancelled, 1, memory_order_relaxed);
			break;
		}
	}
	/* Readers pass the oldest jobs first: free their places at once. */
	while (c->jcount && !c->jobs[c->jhead].fill) {
		c->jhead = (c->jhead + 1) % CACHE_QUEUE_LEN;
		c->jcount--;
	}
	pthread_mutex_unlock(&c->qlock);
}

void
block_ref_put_consumed(struct hexz_block_ref *ref)
{
	struct cache_shard *sh;
	bool taken = false;

	if (!ref)
		return;
	sh = ref->shard;
	pthread_mutex_lock(&sh->lock);
	/* Only when the table and this reader hold it: anyone else may still need it. */
	if (ref->in_table && ref->state == BLOCK_READY && atomic_load(&ref->refs) == 2) {
		shard_take_out(sh, ref);
		taken = true;
	}
	pthread_mutex_unlock(&sh->lock);
	if (taken) {
		job_cancel(ref->cache, ref->owner, ref->number);
		block_ref_put(ref); /* the table's reference */
	}
	block_ref_put(ref);
}

/* ---- getting one block ---- */

static void
copy_failure(const struct hexz_block_ref *b, struct hexz_error *err)
{
	if (!err)
		return;
	if (b->error)
		*err = *b->error;
	else
		error_plain(err, b->status);
}

/*
 * Called with sh->lock held on a block found in the table; unlocks.
 * A READY block is a hit; a LOADING one is waited for. A prefetch takes
 * neither (r->ref stays NULL).
 */
static int
take_found(struct cache_shard *sh, struct hexz_block_ref *b, struct cache_request *r, bool prefetch,
	   struct hexz_error *err)
{
	int status;

	if (prefetch) {
		pthread_mutex_unlock(&sh->lock);
		return HEXZ_OK;
	}
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
	if (b->state == BLOCK_READY) {
		if (sh->mru != b) {
			lru_unlink(sh, b);
			lru_push_front(sh, b);
		}
		shard_count(&sh->hits);
		pthread_mutex_unlock(&sh->lock);
		r->ref = b;
		return HEXZ_OK;
	}
	shard_count(&sh->waits);
	sh->waiters++;
	while (b->state == BLOCK_LOADING)
		pthread_cond_wait(&sh->loaded, &sh->lock);
	sh->waiters--;
	status = b->state == BLOCK_READY ? HEXZ_OK : b->status;
	pthread_mutex_unlock(&sh->lock);
	if (status == HEXZ_OK) {
		r->ref = b;
		return HEXZ_OK;
	}
	copy_failure(b, err);
	block_ref_put(b);
	return status;
}

/*
 * Decode block b, LOADING in the table, with no lock held; then make it
 * READY or FAILED and wake its waiters.
 */
static int
decode(struct cache_shard *sh, struct hexz_block_ref *b, struct cache_request *r,
       struct hexz_error *err)
{
	struct hexz_block_ref *victims = NULL;
	struct hexz_error ferr;
	int rc;

	ferr.code = HEXZ_OK;
	ferr.message[0] = '\0';
	rc = r->fill(r->source, &r->desc, block_data(b), &ferr);
	if (rc > 0)
		rc = HEXZ_ERR_IO; /* not a status: a broken fill */
	if (rc != HEXZ_OK) {
		/* Kept for the waiters; without memory they get the plain status. */
		b->status = rc;
		b->error = malloc(sizeof(*b->error));
		if (b->error) {
			if (ferr.message[0])
				*b->error = ferr;
			else
				error_plain(b->error, rc);
			b->error->code = rc;
		}
	}

	pthread_mutex_lock(&sh->lock);
	if (rc == HEXZ_OK) {
		shard_admit(sh, b);
		victims = shard_trim(sh);
	} else {
		b->state = BLOCK_FAILED;
		table_remove(sh, b);
		/* The table's reference; ours keeps the block alive. */
		atomic_fetch_sub_explicit(&b->refs, 1, memory_order_relaxed);
		shard_count(&sh->failures);
	}
	if (sh->waiters)
		pthread_cond_broadcast(&sh->loaded);
	pthread_mutex_unlock(&sh->lock);
	drop_victims(victims);

	if (rc != HEXZ_OK) {
		copy_failure(b, err);
		block_ref_put(b);
		return rc;
	}
	r->ref = b;
	return HEXZ_OK;
}

/*
 * Get one block: a hit, a wait for another thread's decode, or a decode.
 * A prefetch only decodes a block that is neither cached nor in flight,
 * and then keeps no reference (r->ref stays NULL).
 */
static int
cache_get(struct hexz_cache *c, struct cache_request *r, bool prefetch, struct hexz_error *err)
{
	const struct block_desc *d = &r->desc;
	uint64_t hash = key_hash(r->owner, d->number);
	struct cache_shard *sh = shard_of(c, hash);
	struct hexz_block_ref *b, *fresh;
	int rc;

	r->ref = NULL;
	if (!r->fill)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "%s stream block %" PRIu64 ": no way to decode it",
				 stream_name(d->stream), d->number);
	if (d->logical_len == 0 || d->logical_len > HEXZ_MAX_BLOCK_LEN)
		return error_set(err, HEXZ_ERR_INVALID_ARGUMENT,
				 "%s stream block %" PRIu64 ": decompressed length %" PRIu32
				 " is outside 1..%u",
				 stream_name(d->stream), d->number, d->logical_len,
				 HEXZ_MAX_BLOCK_LEN);

	pthread_mutex_lock(&sh->lock);
	b = table_find(sh, hash, r->owner, d->number);
	if (b)
		return take_found(sh, b, r, prefetch, err);
	pthread_mutex_unlock(&sh->lock);

	/* Allocate unlocked, then look again: another thread may have won. */
	fresh = block_alloc(c, sh, hash, r);
	if (!fresh)
		return error_set(err, HEXZ_ERR_NO_MEMORY,
				 "%s stream block %" PRIu64 ": no memory for its %" PRIu32
				 " decompressed bytes",
				 stream_name(d->stream), d->number, d->logical_len);
	pthread_mutex_lock(&sh->lock);
	b = table_find(sh, hash, r->owner, d->number);
	if (b) {
		rc = take_found(sh, b, r, prefetch, err);
		block_free(fresh);
		return rc;
	}
	table_insert(sh, fresh);
	if (!prefetch)
		shard_count(&sh->misses);
	pthread_mutex_unlock(&sh->lock);

	rc = decode(sh, fresh, r, err);
	if (prefetch && rc == HEXZ_OK) {
		atomic_fetch_add_explicit(&c->prefetches, 1, memory_order_relaxed);
		block_ref_put(r->ref);
		r->ref = NULL;
	}
	return rc;
}

/* A hit, or nothing (r->ref stays NULL): the first pass of a fetch. */
static void
try_hit(struct hexz_cache *c, struct cache_request *r)
{
	uint64_t hash = key_hash(r->owner, r->desc.number);
	struct cache_shard *sh = shard_of(c, hash);
	struct hexz_block_ref *b;

	r->ref = NULL;
	pthread_mutex_lock(&sh->lock);
	b = table_find(sh, hash, r->owner, r->desc.number);
	if (b && b->state == BLOCK_READY) {
		atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
		if (sh->mru != b) {
			lru_unlink(sh, b);
			lru_push_front(sh, b);
		}
		shard_count(&sh->hits);
		r->ref = b;
	}
	pthread_mutex_unlock(&sh->lock);
}

/* ---- fetch ---- */

static void
release_all(struct cache_request *reqs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		block_ref_put(reqs[i].ref);
		reqs[i].ref = NULL;
	}
}

/* Claim and get requests of batch b until none is left or one failed. */
static void
batch_work(struct fetch_batch *b)
{
	struct hexz_cache *c = b->cache;
	struct hexz_error e;
	size_t i;
	int rc;

	while (!atomic_load_explicit(&b->failed, memory_order_relaxed)) {
		i = atomic_fetch_add_explicit(&b->next, 1, memory_order_relaxed);
		if (i >= b->n)
			break;
		if (b->reqs[i].ref) /* a hit of the first pass */
			continue;
		rc = cache_get(c, &b->reqs[i], false, &e);
		if (rc == HEXZ_OK)
			continue;
		/* Requests are claimed in order, so every request before i is
		   claimed already and will report here if it fails too. */
		pthread_mutex_lock(&c->qlock);
		if (!atomic_load_explicit(&b->failed, memory_order_relaxed) || i < b->fail_index) {
			b->fail_index = i;
			b->fail_status = rc;
			b->fail_err = e;
		}
		atomic_store_explicit(&b->failed, true, memory_order_relaxed);
		pthread_mutex_unlock(&c->qlock);
	}
}

/* Under qlock: take batch b out of the queue. */
static void
batch_dequeue(struct hexz_cache *c, struct fetch_batch *b)
{
	struct fetch_batch **p = &c->batch_head, *prev = NULL;

	while (*p && *p != b) {
		prev = *p;
		p = &(*p)->qnext;
	}
	if (!*p)
		return;
	*p = b->qnext;
	if (c->batch_tail == b)
		c->batch_tail = prev;
	b->qnext = NULL;
}

/*
 * Get the misses of reqs[0..n) with the workers' help; the status goes to
 * *rc. False when that could not start (the caller then does it alone).
 */
static bool
fetch_parallel(struct hexz_cache *c, struct cache_request *reqs, size_t n, size_t misses, int *rc,
	       struct hexz_error *err)
{
	struct fetch_batch b;
	unsigned int i;

	memset(&b, 0, sizeof(b));
	b.cache = c;
	b.reqs = reqs;
	b.n = n;
	atomic_init(&b.next, 0);
	atomic_init(&b.failed, false);
	if (pthread_cond_init(&b.done, NULL) != 0)
		return false;

	pthread_mutex_lock(&c->qlock);
	b.wanted = misses - 1 < c->nworkers ? (unsigned int)(misses - 1) : c->nworkers;
	if (c->batch_tail)
		c->batch_tail->qnext = &b;
	else
		c->batch_head = &b;
	c->batch_tail = &b;
	for (i = 0; i < b.wanted; i++)
		pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->qlock);

	batch_work(&b);

	pthread_mutex_lock(&c->qlock);
	if (b.wanted) {
		batch_dequeue(c, &b);
		b.wanted = 0;
	}
	while (b.active)
		pthread_cond_wait(&b.done, &c->qlock);
	pthread_mutex_unlock(&c->qlock);
	pthread_cond_destroy(&b.done);

	*rc = HEXZ_OK;
	if (atomic_load_explicit(&b.failed, memory_order_relaxed)) {
		release_all(reqs, n);
		if (err)
			*err = b.fail_err;
		*rc = b.fail_status;
	}
	return true;
}

int
cache_fetch(struct hexz_cache *cache, struct cache_request *reqs, size_t n, struct hexz_error *err)
{
	size_t i, misses = 0;
	int rc;

	if (n == 0)
		return HEXZ_OK;
	if (!cache || !reqs)
		return error_plain(err, HEXZ_ERR_INVALID_ARGUMENT);

	if (cache->nworkers && n > 1) {
		for (i = 0; i < n; i++) {
			try_hit(cache, &reqs[i]);
			if (!reqs[i].ref)
				misses++;
		}
		if (misses == 0)
			return HEXZ_OK;
		if (misses > 1 && fetch_parallel(cache, reqs, n, misses, &rc, err))
			return rc;
	} else {
		for (i = 0; i < n; i++)
			reqs[i].ref = NULL;
	}

	/* In turn on this thread; the first failure is the first in order. */
	for (i = 0; i < n; i++) {
		if (reqs[i].ref)
			continue;
		rc = cache_get(cache, &reqs[i], false, err);
		if (rc != HEXZ_OK) {
			release_all(reqs, n);
			return rc;
		}
	}
	return HEXZ_OK;
}

/* ---- prefetch and the workers ---- */

/* Whether the key is in the table (cached or in flight). */
static bool
key_present(struct hexz_cache *c, uint64_t owner, uint64_t number)
{
	uint64_t hash = key_hash(owner, number);
	struct cache_shard *sh = shard_of(c, hash);
	bool found;

	pthread_mutex_lock(&sh->lock);
	found = table_find(sh, hash, owner, number) != NULL;
	pthread_mutex_unlock(&sh->lock);
	return found;
}

/* Under qlock: whether the key is queued already. */
static bool
job_queued(const struct hexz_cache *c, uint64_t owner, uint64_t number)
{
	size_t k;

	for (k = 0; k < c->jcount; k++) {
		const struct prefetch_job *j = &c->jobs[(c->jhead + k) % CACHE_QUEUE_LEN];

		if (j->fill && j->owner == owner && j->desc.number == number)
			return true;
	}
	return false;
}

void
cache_prefetch(struct hexz_cache *cache, const struct cache_request *reqs, size_t n)
{
	struct prefetch_job *j;
	size_t i;

	if (!cache || !reqs || cache->nworkers == 0)
		return;
	for (i = 0; i < n; i++) {
		const struct cache_request *r = &reqs[i];

		if (!r->fill || r->desc.logical_len == 0 ||
		    r->desc.logical_len > HEXZ_MAX_BLOCK_LEN)
			continue;
		if (key_present(cache, r->owner, r->desc.number))
			continue;
		pthread_mutex_lock(&cache->qlock);
		if (cache->jcount == CACHE_QUEUE_LEN || cache->stopping) {
			pthread_mutex_unlock(&cache->qlock);
			return;
		}
		if (!job_queued(cache, r->owner, r->desc.number)) {
			j = &cache->jobs[(cache->jhead + cache->jcount) % CACHE_QUEUE_LEN];
			j->owner = r->owner;
			j->desc = r->desc;
			j->fill = r->fill;
			j->source = r->source;
			cache->jcount++;
			pthread_cond_signal(&cache->work);
		}
		pthread_mutex_unlock(&cache->qlock);
	}
}

/* Under qlock: whether a worker runs a prefetch job of owner. */
static bool
owner_running(const struct hexz_cache *c, uint64_t owner)
{
	unsigned int i;

	for (i = 0; i < c->nworkers; i++) {
		if (c->workers[i].busy && c->workers[i].owner == owner)
			return true;
	}
	return false;
}

void
cache_forget_owner(struct hexz_cache *cache, uint64_t owner)
{
	struct hexz_block_ref *victims = NULL, **p, *b;
	unsigned int s;
	size_t k, kept, i;

	if (!cache)
		return;
	if (cache->nworkers) {
		pthread_mutex_lock(&cache->qlock);
		for (k = kept = 0; k < cache->jcount; k++) {
			struct prefetch_job *j = &cache->jobs[(cache->jhead + k) % CACHE_QUEUE_LEN];

			if (j->fill && j->owner != owner)
				cache->jobs[(cache->jhead + kept++) % CACHE_QUEUE_LEN] = *j;
		}
		cache->jcount = kept;
		cache->forgetting++;
		while (owner_running(cache, owner))
			pthread_cond_wait(&cache->idle, &cache->qlock);
		cache->forgetting--;
		pthread_mutex_unlock(&cache->qlock);
	}

	/* No job of the owner is left to add blocks: drop the cache's
	   references to all of them (a reader's reference keeps its block). */
	for (s = 0; s < (1u << cache->shard_bits); s++) {
		struct cache_shard *sh = &cache->shards[s];

		pthread_mutex_lock(&sh->lock);
		for (i = 0; i < sh->nbuckets; i++) {
			p = &sh->buckets[i];
			while ((b = *p) != NULL) {
				if (b->owner != owner || b->state != BLOCK_READY) {
					p = &b->hnext;
					continue;
				}
				shard_take_out(sh, b);
				b->hnext = victims;
				victims = b;
			}
		}
		pthread_mutex_unlock(&sh->lock);
	}
	drop_victims(victims);
}

/* Under qlock: take a helper's place in the first batch wanting help. */
static struct fetch_batch *
batch_join(struct hexz_cache *c)
{
	struct fetch_batch *b = c->batch_head;

	if (!b)
		return NULL;
	b->active++;
	if (--b->wanted == 0)
		batch_dequeue(c, b);
	return b;
}

static void *
worker_main(void *arg)
{
	struct cache_worker *w = arg;
	struct hexz_cache *c = w->cache;
	struct fetch_batch *b;
	struct prefetch_job job;
	struct cache_request r;
	sigset_t all;

	/*
	 * Process signals go to other threads, but not the synchronous ones:
	 * a blocked SIGBUS from a truncated mapping makes the kernel reset
	 * its handler and kill the process, past the fault guard.
	 */
	sigfillset(&all);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	/* See "Workers". Failing, the worker only preempts more. */
	(void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &(struct sched_param){ 0 });

	pthread_mutex_lock(&c->qlock);
	while (!c->stopping) {
		b = batch_join(c);
		if (b) {
			pthread_mutex_unlock(&c->qlock);
			batch_work(b);
			pthread_mutex_lock(&c->qlock);
			/* The caller frees b once active is 0: signal under the
			   lock and do not touch b after. */
			if (--b->active == 0)
				pthread_cond_signal(&b->done);
			continue;
		}
		if (c->jcount) {
			job = c->jobs[c->jhead];
			c->jhead = (c->jhead + 1) % CACHE_QUEUE_LEN;
			c->jcount--;
			if (!job.fill)
				continue; /* cancelled */
			w->busy = true;
			w->owner = job.owner;
			pthread_mutex_unlock(&c->qlock);

			memset(&r, 0, sizeof(r));
			r.owner = job.owner;
			r.desc = job.desc;
			r.fill = job.fill;
			r.source = job.source;
			(void)cache_get(c, &r, true, NULL); /* the read that needs it reports */

			pthread_mutex_lock(&c->qlock);
			w->busy = false;
			if (c->forgetting)
				pthread_cond_broadcast(&c->idle);
			continue;
		}
		pthread_cond_wait(&c->work, &c->qlock);
	}
	pthread_mutex_unlock(&c->qlock);
	return NULL;
}

/* Stop and join the workers started so far. */
static void
workers_stop(struct hexz_cache *c)
{
	unsigned int i;

	if (!c->nworkers)
		return;
	pthread_mutex_lock(&c->qlock);
	c->stopping = true;
	pthread_cond_broadcast(&c->work);
	pthread_mutex_unlock(&c->qlock);
	for (i = 0; i < c->nworkers; i++)
		pthread_join(c->workers[i].thread, NULL);
	c->nworkers = 0;
}

/*
 * Start n workers with every signal blocked from their first instruction
 * (a thread inherits its creator's mask), so that the process's signals go
 * to its own threads.
 */
static int
workers_start(struct hexz_cache *c, unsigned int n)
{
	sigset_t all, old;
	int rc = HEXZ_OK;

	c->workers = calloc(n, sizeof(*c->workers));
	c->jobs = calloc(CACHE_QUEUE_LEN, sizeof(*c->jobs));
	if (!c->workers || !c->jobs)
		return HEXZ_ERR_NO_MEMORY;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (c->nworkers < n) {
		struct cache_worker *w = &c->workers[c->nworkers];

		w->cache = c;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			rc = HEXZ_ERR_SYSTEM;
			break;
		}
		pthread_setname_np(w->thread, "hexz-worker");
		c->nworkers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* ---- the cache ---- */

/* S = 1 << bits: the most shards (up to 64) that each get CACHE_MIN_SHARE. */
static unsigned int
shard_bits_for(uint64_t budget)
{
	unsigned int bits = 0;

	while (bits < CACHE_MAX_SHARDS_LOG2 && (budget >> (bits + 1)) >= CACHE_MIN_SHARE)
		bits++;
	return bits;
}

static int
shard_init(struct cache_shard *sh, uint64_t share)
{
	sh->buckets = calloc(SHARD_MIN_BUCKETS, sizeof(*sh->buckets));
	if (!sh->buckets)
		return HEXZ_ERR_NO_MEMORY;
	sh->nbuckets = SHARD_MIN_BUCKETS;
	sh->share = share;
	if (pthread_mutex_init(&sh->lock, NULL) != 0) {
		free(sh->buckets);
		return HEXZ_ERR_SYSTEM;
	}
	if (pthread_cond_init(&sh->loaded, NULL) != 0) {
		pthread_mutex_destroy(&sh->lock);
		free(sh->buckets);
		return HEXZ_ERR_SYSTEM;
	}
	return HEXZ_OK;
}

/* Free what hexz_cache_create() made, whatever it got to. */
static void
cache_free(struct hexz_cache *c)
{
	struct hexz_block_ref *b, *next;
	unsigned int s;
	size_t i;

	workers_stop(c);
	for (s = 0; s < c->shards_ready; s++) {
		struct cache_shard *sh = &c->shards[s];

		/* No reader holds a block and no decode runs (the contract of
		   hexz_cache_destroy()): the table's reference is the last. */
		for (i = 0; i < sh->nbuckets; i++) {
			for (b = sh->buckets[i]; b; b = next) {
				next = b->hnext;
				atomic_store_explicit(&b->cached, false, memory_order_relaxed);
				block_ref_put(b);
			}
		}
		free(sh->buckets);
		pthread_cond_destroy(&sh->loaded);
		pthread_mutex_destroy(&sh->lock);
	}
	if (c->qlock_ready) {
		pthread_cond_destroy(&c->idle);
		pthread_cond_destroy(&c->work);
		pthread_mutex_destroy(&c->qlock);
	}
	for (b = c->pool; b; b = next) {
		next = b->hnext;
		free(b);
	}
	pthread_mutex_destroy(&c->pool_lock);
	resident_budget_free(c->resident);
	free(c->shards);
	free(c->workers);
	free(c->jobs);
	free(c);
}

int
hexz_cache_create(uint64_t budget, unsigned int workers, struct hexz_cache **out)
{
	struct hexz_cache *c;
	unsigned int s, nshards;
	void *mem;
	int rc;

	if (out)
		*out = NULL;
	if (!out || budget == 0)
		return HEXZ_ERR_INVALID_ARGUMENT;
	if (workers > CACHE_MAX_WORKERS)
		workers = CACHE_MAX_WORKERS;

	c = calloc(1, sizeof(*c));
	if (!c)
		return HEXZ_ERR_NO_MEMORY;
	if (pthread_mutex_init(&c->pool_lock, NULL) != 0) {
		free(c);
		return HEXZ_ERR_SYSTEM;
	}
	c->budget = budget;
	c->shard_bits = shard_bits_for(budget);
	nshards = 1u << c->shard_bits;
	atomic_init(&c->next_owner, 1);
	atomic_init(&c->bytes, 0);
	atomic_init(&c->blocks, 0);
	atomic_init(&c->prefetches, 0);
	atomic_init(&c->cancelled, 0);
	c->resident = resident_budget_new(CACHE_MAPPED_MAX);
	if (!c->resident || posix_memalign(&mem, 64, nshards * sizeof(*c->shards)) != 0) {
		resident_budget_free(c->resident);
		pthread_mutex_destroy(&c->pool_lock);
		free(c);
		return HEXZ_ERR_NO_MEMORY;
	}
	memset(mem, 0, nshards * sizeof(*c->shards));
	c->shards = mem;
	for (s = 0; s < nshards; s++) {
		/* budget / S each, the remainder spread over the first ones. */
		uint64_t share = (budget >> c->shard_bits) + (s < (budget & (nshards - 1)) ? 1 : 0);

		rc = shard_init(&c->shards[s], share);
		if (rc != HEXZ_OK)
			goto fail;
		c->shards_ready++;
	}
	if (pthread_mutex_init(&c->qlock, NULL) != 0) {
		rc = HEXZ_ERR_SYSTEM;
		goto fail;
	}
	if (pthread_cond_init(&c->work, NULL) != 0) {
		pthread_mutex_destroy(&c->qlock);
		rc = HEXZ_ERR_SYSTEM;
		goto fail;
	}
	if (pthread_cond_init(&c->idle, NULL) != 0) {
		pthread_cond_destroy(&c->work);
		pthread_mutex_destroy(&c->qlock);
		rc = HEXZ_ERR_SYSTEM;
		goto fail;
	}
	c->qlock_ready = true;
	if (workers) {
		rc = workers_start(c, workers);
		if (rc != HEXZ_OK)
			goto fail;
	}
	*out = c;
	return HEXZ_OK;

fail:
	cache_free(c);
	return rc;
}

void
hexz_cache_get_stats(const struct hexz_cache *cache, struct hexz_cache_stats *out)
{
	unsigned int s;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!cache)
		return;
	for (s = 0; s < (1u << cache->shard_bits); s++) {
		const struct cache_shard *sh = &cache->shards[s];

		out->hits += atomic_load_explicit(&sh->hits, memory_order_relaxed);
		out->misses += atomic_load_explicit(&sh->misses, memory_order_relaxed);
		out->waits += atomic_load_explicit(&sh->waits, memory_order_relaxed);
		out->evictions += atomic_load_explicit(&sh->evictions, memory_order_relaxed);
		out->failures += atomic_load_explicit(&sh->failures, memory_order_relaxed);
	}
	out->bytes = atomic_load_explicit(&cache->bytes, memory_order_relaxed);
	out->blocks = atomic_load_explicit(&cache->blocks, memory_order_relaxed);
	out->budget = cache->budget;
	out->prefetches = atomic_load_explicit(&cache->prefetches, memory_order_relaxed);
	out->cancelled = atomic_load_explicit(&cache->cancelled, memory_order_relaxed);
	out->trims = resident_budget_trims(cache->resident);
}

void
hexz_cache_destroy(struct hexz_cache *cache)
{
	if (cache)
		cache_free(cache);
}

struct resident_budget *
cache_resident(struct hexz_cache *cache)
{
	return cache->resident;
}

uint64_t
cache_new_owner(struct hexz_cache *cache)
{
	return atomic_fetch_add_explicit(&cache->next_owner, 1, memory_order_relaxed);
}

unsigned int
cache_worker_count(const struct hexz_cache *cache)
{
	return cache ? cache->nworkers : 0;
}
