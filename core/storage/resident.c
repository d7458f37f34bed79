/* SPDX-License-Identifier: MIT */
/* The budget of mapped file pages shared by a group of storages (resident.h). */
#include "resident.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/queue.h>

#include <hexz/storage.h>

#include "storage_backend.h"

struct resident_member {
	struct resident_budget *budget;
	const struct hexz_storage *st;
	unsigned int joins; /* under join_lock */
	_Atomic bool touched; /* charged since the last trim */
	LIST_ENTRY(resident_member) link;
};

/*
 * Serialises joins and leaves, which are rare (one per archive opened or
 * closed): a storage that two archives open at once joins once, and its
 * member is freed by the last to leave. Taken before a budget's lock.
 */
static pthread_mutex_t join_lock = PTHREAD_MUTEX_INITIALIZER;

struct resident_budget {
	uint64_t limit;
	_Atomic uint64_t charged; /* since the last trim */
	_Atomic uint64_t trims;
	/* Guards the list; held through a trim, so a member leaves after it. */
	pthread_mutex_t lock;
	LIST_HEAD(, resident_member) members;
};

struct resident_budget *
resident_budget_new(uint64_t limit)
{
	struct resident_budget *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	if (pthread_mutex_init(&b->lock, NULL) != 0) {
		free(b);
		return NULL;
	}
	b->limit = limit;
	atomic_init(&b->charged, 0);
	atomic_init(&b->trims, 0);
	LIST_INIT(&b->members);
	return b;
}

void
resident_budget_free(struct resident_budget *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b);
}

uint64_t
resident_budget_trims(const struct resident_budget *b)
{
	return b ? atomic_load_explicit(&b->trims, memory_order_relaxed) : 0;
}

bool
resident_join(struct resident_budget *b, struct hexz_storage *st)
{
	struct resident_member *m;
	bool joined = false;

	if (!b || !st || !st->ops->trim)
		return false;
	pthread_mutex_lock(&join_lock);
	m = atomic_load_explicit(&st->member, memory_order_relaxed);
	if (m) {
		joined = m->budget == b;
		if (joined)
			m->joins++;
	} else if ((m = calloc(1, sizeof(*m))) != NULL) {
		m->budget = b;
		m->st = st;
		m->joins = 1;
		atomic_init(&m->touched, false);
		pthread_mutex_lock(&b->lock);
		LIST_INSERT_HEAD(&b->members, m, link);
		pthread_mutex_unlock(&b->lock);
		atomic_store_explicit(&st->member, m, memory_order_release);
		joined = true;
	}
	pthread_mutex_unlock(&join_lock);
	return joined;
}

void
resident_leave(struct hexz_storage *st)
{
	struct resident_member *m;

	if (!st)
		return;
	pthread_mutex_lock(&join_lock);
	m = atomic_load_explicit(&st->member, memory_order_relaxed);
	if (m && --m->joins == 0) {
		pthread_mutex_lock(&m->budget->lock);
		LIST_REMOVE(m, link);
		pthread_mutex_unlock(&m->budget->lock);
		atomic_store_explicit(&st->member, NULL, memory_order_relaxed);
		free(m);
	}
	pthread_mutex_unlock(&join_lock);
}

/*
 * Trim every member touched since the last trim. Whoever finds the lock
 * taken leaves it to its holder (a trim, or a join or leave, after which
 * the next charge tries again): a reader never waits for another's trim.
 */
static void
trim_members(struct resident_budget *b)
{
	struct resident_member *m;

	if (pthread_mutex_trylock(&b->lock) != 0)
		return;
	if (atomic_load_explicit(&b->charged, memory_order_acquire) >= b->limit) {
		/*
		 * Zeroed before the trims: a charge made meanwhile counts
		 * toward the next trim, whether or not this one reached it.
		 */
		atomic_store_explicit(&b->charged, 0, memory_order_relaxed);
		LIST_FOREACH(m, &b->members, link) {
			if (atomic_exchange_explicit(&m->touched, false, memory_order_relaxed))
				hexz_storage_trim(m->st);
		}
		atomic_fetch_add_explicit(&b->trims, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&b->lock);
}

void
resident_charge(const struct hexz_storage *st, uint64_t offset, size_t len)
{
	struct resident_member *m = atomic_load_explicit(&st->member, memory_order_acquire);
	uint64_t first, end, charge;

	if (!m)
		return;
	first = offset & ~(RESIDENT_WINDOW - 1);
	end = (offset + len + RESIDENT_WINDOW - 1) & ~(RESIDENT_WINDOW - 1);
	charge = end > first ? end - first : RESIDENT_WINDOW;
	/* Marked before it is charged, so the trim that the charge brings sees it. */
	if (!atomic_load_explicit(&m->touched, memory_order_relaxed))
		atomic_store_explicit(&m->touched, true, memory_order_relaxed);
	if (atomic_fetch_add_explicit(&m->budget->charged, charge, memory_order_release) + charge >=
	    m->budget->limit)
		trim_members(m->budget);
}
