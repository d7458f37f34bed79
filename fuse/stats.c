/* SPDX-License-Identifier: MIT */
#include "stats.h"

#include <inttypes.h>

#include "log.h"

#define LOAD(field) ((uint64_t)atomic_load_explicit(&stats->field, memory_order_relaxed))

void
stats_log(struct hexzfs_stats *stats, unsigned long nodes, unsigned long entries,
	  unsigned long mappings, unsigned long leases)
{
	log_msg(FUSE_LOG_INFO,
		"stats: reads=%" PRIu64 " bytes_read=%" PRIu64 " read_errors=%" PRIu64
		" opens=%" PRIu64 " open_errors=%" PRIu64 " open_files=%" PRId64 " lookups=%" PRIu64
		" getattrs=%" PRIu64 " readdirs=%" PRIu64 " map_hits=%" PRIu64
		" map_misses=%" PRIu64 " map_evictions=%" PRIu64 " archive_errors=%" PRIu64
		" archive_opens=%" PRIu64 " mappings=%lu leases=%lu lease_breaks=%" PRIu64
		" nodes=%lu entries=%lu\n",
		LOAD(reads), LOAD(bytes_read), LOAD(read_errors), LOAD(opens), LOAD(open_errors),
		(int64_t)atomic_load_explicit(&stats->open_files, memory_order_relaxed),
		LOAD(lookups), LOAD(getattrs), LOAD(readdirs), LOAD(map_hits), LOAD(map_misses),
		LOAD(map_evictions), LOAD(archive_errors), LOAD(archive_opens), mappings, leases,
		LOAD(lease_breaks), nodes, entries);
}
