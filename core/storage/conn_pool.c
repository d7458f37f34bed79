/* SPDX-License-Identifier: MIT */
/* A pool of libcurl easy handles sharing DNS and TLS sessions: see conn_pool.h. */
#include <pthread.h>
#include <stdlib.h>

#include "conn_pool.h"

struct conn_pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	CURL **idle;
	unsigned int idle_count;
	unsigned int live; /* handles that exist, idle or in use */
	unsigned int max;
	CURLSH *share;
	/* One lock per kind of data the share object holds. */
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
};

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	struct conn_pool *p = arg;

	(void)h;
	(void)access;
	pthread_mutex_lock(&p->share_locks[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct conn_pool *p = arg;

	(void)h;
	pthread_mutex_unlock(&p->share_locks[data]);
}

struct conn_pool *
conn_pool_create(unsigned int max)
{
	struct conn_pool *p = calloc(1, sizeof(*p));
	int i;

	if (!p)
		return NULL;
	p->idle = calloc(max, sizeof(*p->idle));
	p->share = curl_share_init();
	if (!p->idle || !p->share) {
		free(p->idle);
		if (p->share)
			curl_share_cleanup(p->share);
		free(p);
		return NULL;
	}
	p->max = max;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&p->share_locks[i], NULL);
	curl_share_setopt(p->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(p->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(p->share, CURLSHOPT_USERDATA, p);
	curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return p;
}

void
conn_pool_destroy(struct conn_pool *p)
{
	int i;

	if (!p)
		return;
	while (p->idle_count)
		curl_easy_cleanup(p->idle[--p->idle_count]);
	curl_share_cleanup(p->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&p->share_locks[i]);
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->lock);
	free(p->idle);
	free(p);
}

CURL *
conn_pool_get(struct conn_pool *p)
{
	CURL *h = NULL;

	pthread_mutex_lock(&p->lock);
	while (!p->idle_count && p->live >= p->max)
		pthread_cond_wait(&p->freed, &p->lock);
	if (p->idle_count)
		h = p->idle[--p->idle_count];
	else
		p->live++;
	pthread_mutex_unlock(&p->lock);
	if (!h) {
		h = curl_easy_init();
		if (!h) {
			pthread_mutex_lock(&p->lock);
			p->live--;
			pthread_cond_signal(&p->freed);
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
	}
	/* Options are per request; the connection and the share survive a reset. */
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_SHARE, p->share);
	return h;
}

void
conn_pool_put(struct conn_pool *p, CURL *h, bool reusable)
{
	if (!reusable) {
		curl_easy_cleanup(h);
		h = NULL;
	}
	pthread_mutex_lock(&p->lock);
	if (h)
		p->idle[p->idle_count++] = h;
	else
		p->live--;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}
