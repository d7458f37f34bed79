/* SPDX-License-Identifier: MIT */
/*
 * A background thread for what is not a request: the signals, the counters,
 * the idle timeout, once a second a sweep of the idle mappings (see
 * map_cache_sweep()), telling the kernel to drop what it cached of a
 * file that shrank in place (housekeeper_invalidate()), and letting go of
 * the read leases writers break (map_cache_leases_check()).
 *
 * Signals. SIGTERM, SIGINT, SIGHUP and SIGUSR1 are blocked in every thread
 * and taken synchronously here with sigtimedwait(), instead of by
 * libfuse's handlers: libfuse 3.14's single-threaded loop checks its exit
 * flag and then blocks in read(2), so a signal handled between the two is
 * lost until the next request arrives. Here a stop request sets the flag
 * and then keeps interrupting the loop thread with SIGUSR2 (whose handler
 * does nothing, without SA_RESTART) until the loop has returned, so no
 * window can swallow it.
 */
#ifndef HEXZFS_HOUSEKEEPER_H
#define HEXZFS_HOUSEKEEPER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "hexzfs.h"

struct housekeeper {
	pthread_t thread;
	pthread_t loop_thread; /* the thread that runs the FUSE loop */
	struct hexzfs *fs;
	atomic_bool quit;     /* the housekeeper itself should end */
	atomic_bool stopping; /* a signal or the idle timeout asked to unmount */
	bool running;
};

/*
 * Block the signals the housekeeper takes, in the calling thread and every
 * thread it creates later; install the do-nothing SIGUSR2 handler and
 * ignore SIGPIPE. Returns 0 or an errno value.
 */
int housekeeper_block_signals(void);

/* Undo the blocking, for a process that will not run the housekeeper. */
void housekeeper_unblock_signals(void);

/* Start the thread; the calling thread is the one that will run the loop. */
int housekeeper_start(struct housekeeper *hk, struct hexzfs *fs);

/* End the thread. Returns true if the mount ended because it was asked to. */
bool housekeeper_stop(struct housekeeper *hk);

/*
 * Ask the housekeeper to invalidate node `ino` in the kernel (its cached
 * pages and attributes), soon and from its own thread: safe to call from a
 * request handler, after its reply. No lock, no allocation; does nothing
 * if the housekeeper is not running, and may be lost if its queue is full.
 */
void housekeeper_invalidate(struct hexzfs *fs, fuse_ino_t ino);

#endif /* HEXZFS_HOUSEKEEPER_H */
