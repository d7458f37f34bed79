/* SPDX-License-Identifier: MIT */
/* Handing the kernel's page cache the rest of each decompressed block: see block_fill.h. */
#define _GNU_SOURCE
#include "block_fill.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "node_table.h"

/*
 * Blocks waiting, and the most bytes they may pin together (blocks go up
 * to 16 MiB): a block that does not fit is turned away, unless the queue
 * is empty, so that even the largest blocks get stored.
 */
#define FILL_QUEUE 64
#define FILL_PINNED_MAX ((uint64_t)8 << 20)

/* One range of a file to store, and where its bytes are. */
struct fill_part {
	uint64_t offset;
	uint64_t len;
	const unsigned char *data;
};

/* One block, pinned, and its node held, until it is stored. */
struct fill_job {
	struct hexz_block_ref *ref;
	struct node *node;
	fuse_ino_t ino;
	struct fill_part part[2]; /* before and after what the read returned */
	size_t block_len;
};

struct block_fill {
	struct hexzfs *fs;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work; /* a job was queued, or quit */
	pthread_cond_t idle; /* the store in progress ended */
	struct fill_job queue[FILL_QUEUE];
	unsigned int head, len; /* guarded by lock */
	bool busy;		/* a store is in progress; guarded by lock */
	bool closing;		/* quiesced: store nothing more; guarded by lock */
	bool quit;		/* guarded by lock */
	uint64_t pinned;	/* bytes of the queued blocks; guarded by lock */
	uint64_t page;
	_Atomic uint64_t stored_blocks, stored_bytes, turned_away, failed;
};

static void
job_release(struct block_fill *bf, struct fill_job *job)
{
	hexz_block_unpin(&job->ref, 1);
	/* Possibly the node's last reference: it closes the archive, with nothing pinned. */
	node_table_forget(bf->fs->nodes, job->node, 1);
}

static void
store_part(struct block_fill *bf, const struct fill_job *job, const struct fill_part *p)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(p->len);
	int err;

	buf.buf[0].mem = (void *)(uintptr_t)p->data;
	err = fuse_lowlevel_notify_store(bf->fs->se, job->ino, (off_t)p->offset, &buf, 0);
	if (err == 0) {
		atomic_fetch_add_explicit(&bf->stored_bytes, p->len, memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(&bf->failed, 1, memory_order_relaxed);
	/* ENOENT: the kernel has forgotten the node; ENODEV: the mount is gone. */
	if (err != -ENOENT && err != -ENODEV && bf->fs->cfg.debug)
		log_msg(FUSE_LOG_DEBUG, "storing %llu bytes of node %llu: %s\n",
			(unsigned long long)p->len, (unsigned long long)job->ino, strerror(-err));
}

static void *
fill_main(void *arg)
{
	struct block_fill *bf = arg;

	pthread_mutex_lock(&bf->lock);
	for (;;) {
		struct fill_job job;
		bool store;

		while (bf->len == 0 && !bf->quit)
			pthread_cond_wait(&bf->work, &bf->lock);
		if (bf->quit)
			break;
		job = bf->queue[bf->head];
		bf->head = (bf->head + 1) % FILL_QUEUE;
		bf->len--;
		bf->pinned -= job.block_len;
		store = !bf->closing;
		bf->busy = store;
		pthread_mutex_unlock(&bf->lock);

		if (store) {
			for (int i = 0; i < 2; i++)
				if (job.part[i].len)
					store_part(bf, &job, &job.part[i]);
			atomic_fetch_add_explicit(&bf->stored_blocks, 1, memory_order_relaxed);
		}
		job_release(bf, &job);

		pthread_mutex_lock(&bf->lock);
		bf->busy = false;
		pthread_cond_broadcast(&bf->idle);
	}
	pthread_mutex_unlock(&bf->lock);
	return NULL;
}

int
block_fill_start(struct hexzfs *fs, struct block_fill **out)
{
	struct block_fill *bf = calloc(1, sizeof(*bf));
	long page = sysconf(_SC_PAGESIZE);
	int err;

	*out = NULL;
	if (!bf)
		return ENOMEM;
	bf->fs = fs;
	bf->page = page > 0 ? (uint64_t)page : 4096;
	pthread_mutex_init(&bf->lock, NULL);
	pthread_cond_init(&bf->work, NULL);
	pthread_cond_init(&bf->idle, NULL);
	err = pthread_create(&bf->thread, NULL, fill_main, bf);
	if (err) {
		pthread_cond_destroy(&bf->idle);
		pthread_cond_destroy(&bf->work);
		pthread_mutex_destroy(&bf->lock);
		free(bf);
		return err;
	}
	pthread_setname_np(bf->thread, "hexz-fill");
	*out = bf;
	return 0;
}

/*
 * The parts of a block to store, for the piece `piece` of it that a read of
 * [off, off + size) returned at file offset `pos`: the whole pages of the
 * block inside the file, less the pages of the read (the kernel fills those
 * from the reply, and keeps them locked until then). A last partial page
 * counts when it ends the file: the kernel zeroes the rest of it.
 */
static bool
plan_job(const struct block_fill *bf, struct fill_job *job, const unsigned char *block, size_t blen,
	 const unsigned char *piece, uint64_t pos, uint64_t file_size, uint64_t off, size_t size)
{
	uint64_t mask = bf->page - 1;
	uint64_t skip = (uint64_t)(piece - block);
	/*
	 * The block spans [pos - skip, pos - skip + blen) of the file, and may
	 * start before it (an entry of a directory archive need not start on
	 * a block boundary): unsigned arithmetic, exact since every true
	 * result below is non-negative.
	 */
	uint64_t lo = pos >= skip ? pos - skip : 0, hi = pos - skip + blen;
	uint64_t read_lo = off & ~mask, read_hi = (off + size + mask) & ~mask;
	int n = 0;

	lo = (lo + mask) & ~mask;
	hi = hi >= file_size ? file_size : hi & ~mask;
	memset(job->part, 0, sizeof(job->part));
	if (lo < read_lo && lo < hi) {
		uint64_t end = hi < read_lo ? hi : read_lo;

		job->part[n++] = (struct fill_part){ lo, end - lo, block + (lo + skip - pos) };
	}
	if (hi > read_hi && hi > lo) {
		uint64_t start = lo > read_hi ? lo : read_hi;

		job->part[n++] = (struct fill_part){ start, hi - start, block + (start + skip - pos) };
	}
	return n > 0;
}

void
block_fill_offer(struct block_fill *bf, struct node *n, fuse_ino_t ino, uint64_t file_size,
		 uint64_t off, size_t size, struct hexz_block_ref **refs, const struct iovec *iov,
		 size_t count)
{
	uint64_t pos = off;
	size_t i;

	for (i = 0; i < count; pos += iov[i].iov_len, i++) {
		struct fill_job job;
		size_t blen;
		const unsigned char *block = hexz_block_extent(refs[i], &blen);

		if (!block ||
		    !plan_job(bf, &job, block, blen, iov[i].iov_base, pos, file_size, off, size))
			continue;
		job.ref = refs[i];
		job.node = n;
		job.ino = ino;
		job.block_len = blen;
		pthread_mutex_lock(&bf->lock);
		if (bf->closing || bf->len == FILL_QUEUE ||
		    (bf->len && bf->pinned + blen > FILL_PINNED_MAX)) {
			pthread_mutex_unlock(&bf->lock);
			atomic_fetch_add_explicit(&bf->turned_away, 1, memory_order_relaxed);
			continue;
		}
		/* The caller's hold keeps n alive while the job takes its own. */
		node_table_hold(bf->fs->nodes, n);
		bf->queue[(bf->head + bf->len) % FILL_QUEUE] = job;
		bf->len++;
		bf->pinned += blen;
		refs[i] = NULL;
		pthread_cond_signal(&bf->work);
		pthread_mutex_unlock(&bf->lock);
	}
	/* Unpinned before the hold goes: the node's last reference closes its archive. */
	hexz_block_unpin(refs, count);
	node_table_forget(bf->fs->nodes, n, 1);
}

void
block_fill_quiesce(struct block_fill *bf)
{
	if (!bf)
		return;
	pthread_mutex_lock(&bf->lock);
	bf->closing = true;
	while (bf->busy)
		pthread_cond_wait(&bf->idle, &bf->lock);
	pthread_mutex_unlock(&bf->lock);
}

void
block_fill_stop(struct block_fill *bf)
{
	if (!bf)
		return;
	pthread_mutex_lock(&bf->lock);
	bf->closing = true;
	bf->quit = true;
	pthread_cond_signal(&bf->work);
	pthread_mutex_unlock(&bf->lock);
	pthread_join(bf->thread, NULL);
	while (bf->len) {
		bf->pinned -= bf->queue[bf->head].block_len;
		job_release(bf, &bf->queue[bf->head]);
		bf->head = (bf->head + 1) % FILL_QUEUE;
		bf->len--;
	}
	pthread_cond_destroy(&bf->idle);
	pthread_cond_destroy(&bf->work);
	pthread_mutex_destroy(&bf->lock);
	free(bf);
}

void
block_fill_log_stats(const struct block_fill *bf)
{
	if (!bf)
		return;
	log_msg(FUSE_LOG_INFO, "block fill: blocks=%llu bytes=%llu turned_away=%llu failed=%llu\n",
		(unsigned long long)atomic_load(&bf->stored_blocks),
		(unsigned long long)atomic_load(&bf->stored_bytes),
		(unsigned long long)atomic_load(&bf->turned_away),
		(unsigned long long)atomic_load(&bf->failed));
}
