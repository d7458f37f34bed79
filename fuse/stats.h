/* SPDX-License-Identifier: MIT */
/*
 * Operator-visible counters. Updated with relaxed atomics, so the read path
 * takes no lock; logged on SIGUSR1 and when the daemon exits.
 */
#ifndef HEXZFS_STATS_H
#define HEXZFS_STATS_H

#include <stdatomic.h>
#include <stdint.h>

struct hexzfs_stats {
	atomic_uint_fast64_t reads;
	atomic_uint_fast64_t bytes_read;
	atomic_uint_fast64_t read_errors;
	atomic_uint_fast64_t opens;
	atomic_uint_fast64_t open_errors;
	atomic_uint_fast64_t lookups;
	atomic_uint_fast64_t getattrs;
	atomic_uint_fast64_t readdirs;
	atomic_uint_fast64_t map_hits;
	atomic_uint_fast64_t map_misses;
	atomic_uint_fast64_t map_evictions;
	/* Leases let go of for a writer. */
	atomic_uint_fast64_t lease_breaks;
	atomic_uint_fast64_t archive_errors; /* contents view: archive versions not shown */
	atomic_uint_fast64_t archive_opens;  /* contents view: archive versions opened */
	atomic_int_fast64_t open_files; /* handles open right now */
};

#define STAT_ADD(stats, field, n)                                                                  \
	atomic_fetch_add_explicit(&(stats)->field, (n), memory_order_relaxed)

/*
 * Write every counter on one log line at INFO level, with the live nodes,
 * the lookups the kernel holds on entries inside archives, the mappings and
 * the leases held on them.
 */
void stats_log(struct hexzfs_stats *stats, unsigned long nodes, unsigned long entries,
	       unsigned long mappings, unsigned long leases);

#endif /* HEXZFS_STATS_H */
