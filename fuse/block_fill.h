/* SPDX-License-Identifier: MIT */
/*
 * Block fill (contents view, -o block_fill=on, the default): after a read
 * that used part of a decompressed block, the rest of the block goes to the
 * kernel's page cache (FUSE_NOTIFY_STORE), as the kernel's squashfs and
 * EROFS do with every block they decompress. A random 4 KiB read costs a
 * whole block's decompression either way; with the rest of the block in the
 * page cache, the next reads of it are page-cache hits that never reach
 * the daemon.
 *
 * A thread of its own does the storing, never a request thread: the kernel
 * locks each page it stores into, and a page may be locked by a read that
 * waits for the daemon's reply. A request thread waiting there could wait
 * for itself, or for a request that no free thread is left to take. The
 * fill thread answers no request; it only ever waits for the loop to answer
 * one, which the loop does as long as it runs. It must therefore never be
 * left in a store once the loop has stopped: block_fill_quiesce(), called
 * by whoever asks the loop to stop, first waits for the store in progress
 * and turns the rest away; an unmount ends the connection, which fails
 * every pending read and so unlocks its pages.
 *
 * Each queued block keeps its pin and a lookup reference on the file's
 * node (which keeps the archive open) until it is stored. A full queue
 * turns a block away: that costs only the page-cache hits it would have
 * given.
 */
#ifndef HEXZFS_BLOCK_FILL_H
#define HEXZFS_BLOCK_FILL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <hexz/hexz.h>

#include "hexzfs.h"

struct block_fill;
struct node;

/* Start the fill thread of mount `fs`. Returns 0 or an errno value. */
int block_fill_start(struct hexzfs *fs, struct block_fill **out);

/*
 * After the reply to a read of [off, off + size) of node `n` (kernel node
 * ID `ino`, file size `file_size`), which pinned `count` blocks as `refs`
 * and `iov` (from hexz_archive_pin()): queue the page-aligned parts of
 * those blocks that the read did not return. The caller takes a lookup
 * reference on `n` before replying (node_table_hold(): once the reply is
 * out, the kernel may forget the node), which this takes over, and it
 * releases every reference in refs[] that it does not queue. Never waits
 * for the fill thread.
 */
void block_fill_offer(struct block_fill *bf, struct node *n, fuse_ino_t ino, uint64_t file_size,
		      uint64_t off, size_t size, struct hexz_block_ref **refs,
		      const struct iovec *iov, size_t count);

/* Wait for the store in progress, if any, and store nothing more. */
void block_fill_quiesce(struct block_fill *bf);

/* End the thread and drop what is still queued; after the loop has returned. */
void block_fill_stop(struct block_fill *bf);

/* Log the counters (with the daemon's, on SIGUSR1). */
void block_fill_log_stats(const struct block_fill *bf);

#endif /* HEXZFS_BLOCK_FILL_H */
