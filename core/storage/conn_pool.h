/* SPDX-License-Identifier: MIT */
/*
 * A pool of libcurl easy handles, private to libhexz.
 *
 * Each easy handle keeps the connection of its last request alive, so
 * handing handles out of a pool is what pools the connections: at most
 * `max` handles exist, hence at most `max` connections per host (and
 * requests in flight) per remote context. The handles share one curl share
 * object for DNS answers and TLS sessions, so a new connection skips the
 * lookup and resumes the TLS session of another.
 *
 * Thread safety: conn_pool_get() and conn_pool_put() from any thread; a
 * handle is used by one thread between them.
 */
#ifndef HEXZ_CORE_STORAGE_CONN_POOL_H
#define HEXZ_CORE_STORAGE_CONN_POOL_H

#include <stdbool.h>

#include <curl/curl.h>

struct conn_pool;

/* A pool of at most `max` handles (>= 1); NULL without memory. */
struct conn_pool *conn_pool_create(unsigned int max);

/* Close every handle; all must have been put back. NULL is a no-op. */
void conn_pool_destroy(struct conn_pool *p);

/*
 * A handle, reset to libcurl's defaults with the pool's share object set
 * (its live connection kept); waits while `max` are in use. NULL without
 * memory.
 */
CURL *conn_pool_get(struct conn_pool *p);

/* Give `h` back; `reusable` false closes it (after a protocol error, its connection is suspect). */
void conn_pool_put(struct conn_pool *p, CURL *h, bool reusable);

#endif /* HEXZ_CORE_STORAGE_CONN_POOL_H */
