/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "housekeeper.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "contents.h"
#include "lease.h"
#include "log.h"
#include "map_cache.h"
#include "node_table.h"
#include "ops_contents.h"

/*
 * How often a pending stop interrupts the loop thread again: the longest a
 * stop signal that lands in libfuse's window waits (see housekeeper.h).
 */
#define WAKE_INTERVAL_NS (10 * 1000 * 1000)

/*
 * The queue of invalidation requests (housekeeper_invalidate()): a
 * real-time signal, queued by the kernel with the node ID as its value.
 * Sending one costs the reading thread one system call and no lock or
 * allocation; RLIMIT_SIGPENDING bounds the queue.
 */
static int
inval_signal(void)
{
	return SIGRTMIN;
}

static void
taken_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, inval_signal());
	/* Lease breaks, and SIGIO if their queue overflowed (see map_cache.h). */
	sigaddset(set, lease_signal());
	sigaddset(set, SIGIO);
}

static void
on_wake(int sig)
{
	/* Nothing: being delivered is the point, it interrupts read(2). */
	(void)sig;
}

int
housekeeper_block_signals(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL) != 0)
		return errno;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return errno;
	taken_signals(&set);
	return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void
housekeeper_unblock_signals(void)
{
	sigset_t set;

	taken_signals(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Any request at all moves this sum. */
static uint64_t
activity(struct hexzfs_stats *s)
{
	return atomic_load(&s->reads) + atomic_load(&s->opens) + atomic_load(&s->lookups) +
	       atomic_load(&s->getattrs) + atomic_load(&s->readdirs) + atomic_load(&s->open_errors);
}

/*
 * Drop the kernel's cached pages and attributes of a node whose file
 * shrank in place. Done here, never by the thread that answered the read:
 * the kernel waits for the lock of each cached page, and a page can be
 * locked by a read still queued for the daemon; with a single loop thread
 * (-s) the thread that sent the invalidation would be the one that must
 * answer that read. This thread answers no request, so it only waits for
 * the loop to answer. And the loop always does: this thread is the one
 * that requests a stop (signals, idle timeout), never while invalidating,
 * and takes no invalidation after it; an unmount ends the connection,
 * which fails every pending read and so releases its pages.
 */
static void
invalidate(struct hexzfs *fs, fuse_ino_t ino)
{
	int err = fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);

	/* ENOENT: the kernel has forgotten the node already, nothing is cached. */
	if (err && err != -ENOENT && fs->cfg.debug)
		log_msg(FUSE_LOG_DEBUG, "invalidating node %" PRIu64 ": %s\n", (uint64_t)ino,
			strerror(-err));
}

static void
request_stop(struct housekeeper *hk)
{
	/* Before the loop stops answering: the fill thread waits for its answers. */
	contents_quiesce(hk->fs);
	atomic_store(&hk->stopping, true);
	fuse_session_exit(hk->fs->se);
	pthread_kill(hk->loop_thread, SIGUSR2);
}

/*
 * The time left until `next`, the next round of the once-a-second work, into
 * *left; false once it is due (then `next` moves on a second). Signals
 * end sigtimedwait() early, so the rounds keep their own clock: a SIGUSR1
 * sent more often than once a second must not starve the sweeps.
 */
static bool
round_pending(struct timespec *next, struct timespec *left)
{
	struct timespec now;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(next->tv_sec - now.tv_sec) * 1000000000 + (next->tv_nsec - now.tv_nsec);
	if (ns > 0) {
		*left = (struct timespec){ (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
		return true;
	}
	*next = (struct timespec){ now.tv_sec + 1, now.tv_nsec };
	return false;
}

static void *
housekeeper_main(void *arg)
{
	struct housekeeper *hk = arg;
	struct hexzfs *fs = hk->fs;
	uint64_t last = activity(&fs->stats);
	unsigned int idle_seconds = 0;
	struct timespec next;
	sigset_t set;

	taken_signals(&set);
	clock_gettime(CLOCK_MONOTONIC, &next);
	next.tv_sec++;
	while (!atomic_load(&hk->quit)) {
		struct timespec tick = { 0, WAKE_INTERVAL_NS };
		bool due = false;
		siginfo_t info;
		uint64_t now;
		int sig = -1;

		if (atomic_load(&hk->stopping) || round_pending(&next, &tick))
			sig = sigtimedwait(&set, &info, &tick);
		else
			due = true;
		if (atomic_load(&hk->quit))
			break;
		if (sig == inval_signal()) {
			if (!atomic_load(&hk->stopping))
				invalidate(fs, (fuse_ino_t)(uintptr_t)info.si_value.sival_ptr);
			continue;
		}
		/* Even while stopping: a writer waits for the answer. */
		if (sig == lease_signal() || sig == SIGIO) {
			map_cache_leases_check(fs->maps, sig == SIGIO ? -1 : info.si_fd);
			continue;
		}
		if (sig == SIGUSR1) {
			stats_log(&fs->stats, node_table_count(fs->nodes),
				  node_table_entry_lookups(fs->nodes), map_cache_count(fs->maps),
				  map_cache_leases(fs->maps));
			contents_log_stats(fs);
			continue;
		}
		if (sig > 0) {
			if (!atomic_load(&hk->stopping))
				log_msg(FUSE_LOG_INFO, "%s: unmounting\n", strsignal(sig));
			request_stop(hk);
			continue;
		}
		if (atomic_load(&hk->stopping)) {
			/* The loop may have missed the last wake-up: send another. */
			pthread_kill(hk->loop_thread, SIGUSR2);
			continue;
		}
		/* A timeout makes the round due: it runs on the next turn. */
		if (!due)
			continue;
		map_cache_sweep(fs->maps);
		if (fs->contents)
			contents_sweep(fs);
		if (fs->cfg.idle_timeout == 0)
			continue;
		now = activity(&fs->stats);
		if (now != last || atomic_load(&fs->stats.open_files) > 0) {
			last = now;
			idle_seconds = 0;
		} else if (++idle_seconds >= fs->cfg.idle_timeout) {
			log_msg(FUSE_LOG_INFO, "idle for %u seconds, unmounting\n", idle_seconds);
			request_stop(hk);
		}
	}
	return NULL;
}

int
housekeeper_start(struct housekeeper *hk, struct hexzfs *fs)
{
	int err;

	hk->fs = fs;
	hk->loop_thread = pthread_self();
	atomic_store(&hk->quit, false);
	atomic_store(&hk->stopping, false);
	err = pthread_create(&hk->thread, NULL, housekeeper_main, hk);
	hk->running = err == 0;
	/* Before the loop starts its threads, which read it. */
	if (hk->running)
		fs->hk = hk;
	return err;
}

void
housekeeper_invalidate(struct hexzfs *fs, fuse_ino_t ino)
{
	union sigval value = { .sival_ptr = (void *)(uintptr_t)ino };

	/*
	 * EAGAIN (the queue is full) loses this one: the next read of the
	 * shrunk version fails and asks again.
	 */
	if (fs->hk)
		pthread_sigqueue(fs->hk->thread, inval_signal(), value);
}

bool
housekeeper_stop(struct housekeeper *hk)
{
	if (hk->running) {
		/* The loop has returned: no request thread can queue any more. */
		hk->fs->hk = NULL;
		atomic_store(&hk->quit, true);
		/* Ends its sigtimedwait() at once; the quit flag keeps it from logging. */
		pthread_kill(hk->thread, SIGUSR1);
		pthread_join(hk->thread, NULL);
		hk->running = false;
	}
	return atomic_load(&hk->stopping);
}
