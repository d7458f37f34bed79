/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "housekeeper.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "map_cache.h"
#include "node_table.h"

int
housekeeper_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Any request at all moves this sum. */
static uint64_t
activity(struct hexzfs_stats *s)
{
	return atomic_load(&s->reads) + atomic_load(&s->opens) + atomic_load(&s->lookups) +
	       atomic_load(&s->getattrs) + atomic_load(&s->readdirs) + atomic_load(&s->open_errors);
}

static void *
housekeeper_main(void *arg)
{
	struct housekeeper *hk = arg;
	struct hexzfs *fs = hk->fs;
	struct timespec tick = { 1, 0 };
	sigset_t wait_set, term_set;
	uint64_t last = activity(&fs->stats);
	unsigned int idle_seconds = 0;

	/*
	 * Termination signals must reach the FUSE loop threads, which wake
	 * from their blocking reads to exit; never this thread.
	 */
	sigemptyset(&term_set);
	sigaddset(&term_set, SIGTERM);
	sigaddset(&term_set, SIGINT);
	sigaddset(&term_set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &term_set, NULL);
	sigemptyset(&wait_set);
	sigaddset(&wait_set, SIGUSR1);

	while (!atomic_load(&hk->stop)) {
		int sig = sigtimedwait(&wait_set, NULL, &tick);
		uint64_t now;

		if (sig == SIGUSR1 && !atomic_load(&hk->stop))
			stats_log(&fs->stats, node_table_count(fs->nodes),
				  map_cache_count(fs->maps));
		if (fs->cfg.idle_timeout == 0 || sig == SIGUSR1)
			continue;
		now = activity(&fs->stats);
		if (now != last || atomic_load(&fs->stats.open_files) > 0) {
			last = now;
			idle_seconds = 0;
			continue;
		}
		if (++idle_seconds >= fs->cfg.idle_timeout) {
			log_msg(FUSE_LOG_INFO, "idle for %u seconds, unmounting\n", idle_seconds);
			/* The same path as an operator's SIGTERM: libfuse's handler. */
			kill(getpid(), SIGTERM);
			break;
		}
	}
	return NULL;
}

int
housekeeper_start(struct housekeeper *hk, struct hexzfs *fs)
{
	int err;

	hk->fs = fs;
	atomic_store(&hk->stop, false);
	err = pthread_create(&hk->thread, NULL, housekeeper_main, hk);
	hk->running = err == 0;
	return err;
}

void
housekeeper_stop(struct housekeeper *hk)
{
	if (!hk->running)
		return;
	atomic_store(&hk->stop, true);
	pthread_kill(hk->thread, SIGUSR1);
	pthread_join(hk->thread, NULL);
	hk->running = false;
}
