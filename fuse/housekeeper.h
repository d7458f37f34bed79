/* SPDX-License-Identifier: MIT */
/*
 * A background thread for what is not a request: logging the counters on
 * SIGUSR1, and unmounting after idle_timeout seconds without activity.
 */
#ifndef HEXZFS_HOUSEKEEPER_H
#define HEXZFS_HOUSEKEEPER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "hexzfs.h"

struct housekeeper {
	pthread_t thread;
	struct hexzfs *fs;
	atomic_bool stop;
	bool running;
};

/*
 * Block SIGUSR1 in the calling thread, and so in every thread it creates
 * later: only the housekeeper takes it, with sigtimedwait().
 */
int housekeeper_block_signals(void);
int housekeeper_start(struct housekeeper *hk, struct hexzfs *fs);
void housekeeper_stop(struct housekeeper *hk);

#endif /* HEXZFS_HOUSEKEEPER_H */
