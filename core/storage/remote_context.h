/* SPDX-License-Identifier: MIT */
/*
 * The remote context (struct hexz_remote of hexz/remote.h), private to
 * libhexz: what the objects of one context share.
 */
#ifndef HEXZ_CORE_STORAGE_REMOTE_CONTEXT_H
#define HEXZ_CORE_STORAGE_REMOTE_CONTEXT_H

#include <stdatomic.h>

#include <hexz/remote.h>

#include "aws_config.h"
#include "chunk_cache.h"
#include "conn_pool.h"
#include "disk_cache.h"

struct hexz_remote {
	/* The creator's reference plus one per open object. */
	atomic_uint refs;
	/* The options, strings owned (the secret wiped when freed). */
	struct hexz_remote_options opts;
	struct conn_pool *pool;
	struct chunk_cache *cache;
	/* Chunks being read ahead (remote_object.c), at most max_connections / 2. */
	atomic_uint_fast64_t ahead_in_flight;
	/* The AWS configuration resolved from aws_envp: S3 endpoint inputs, CA bundle; or NULL. */
	struct aws_config *aws;
	/* The persistent tier below `cache`; NULL without cache_dir. */
	struct disk_cache *disk;
};

/* Take and drop a reference; the last drop frees the context. */
void remote_context_ref(struct hexz_remote *r);
void remote_context_unref(struct hexz_remote *r);

#endif /* HEXZ_CORE_STORAGE_REMOTE_CONTEXT_H */
