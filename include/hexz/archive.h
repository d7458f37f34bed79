/* SPDX-License-Identifier: MIT */
/*
 * Reading hexz archives: the header, the block index, LZ4 or zstd blocks
 * (optionally AES-256-GCM encrypted), thin archives that borrow blocks from
 * parent archives, and the manifest of directory archives.
 *
 * An archive is read on top of a storage backend (hexz/storage.h): every
 * byte comes from hexz_storage_read_exact() or from a view of the mapping
 * read under the same SIGBUS guard, so an archive truncated under a reader
 * gives HEXZ_ERR_IO, never a crash. Archives are untrusted input: every
 * count, offset and length is checked against the file before it is used,
 * and no allocation is sized by a field that was not checked.
 *
 * An archive holds two streams of decompressed bytes, main (a disk image)
 * and auxiliary (a memory image), either of which may be empty. Directory
 * archives also carry a manifest that cuts the main stream into files.
 *
 * Errors
 * ------
 * Every function returns 0 or a negative enum hexz_status. Those that take
 * a struct hexz_error also fill it, when it is not NULL, with the same code
 * and a sentence a user can act on, naming the archive and what failed
 * ("disk.hxz: main stream block 17: CRC-32 mismatch"). A failure of one
 * block fails only the reads that touch it.
 *
 * Thread safety
 * -------------
 * After hexz_archive_open() returns, every call on an archive except
 * hexz_archive_close() is safe from any number of threads at once.
 */
#ifndef HEXZ_ARCHIVE_H
#define HEXZ_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <hexz/cache.h>
#include <hexz/common.h>
#include <hexz/storage.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hexz_archive;
struct hexz_block_ref;

/** Room for one error sentence, NUL included. */
#define HEXZ_ERROR_MESSAGE_MAX 320

/** What went wrong, for a user: the code and a sentence naming the place. */
struct hexz_error {
	int code;
	char message[HEXZ_ERROR_MESSAGE_MAX];
};

/** The two streams of an archive. */
enum hexz_stream {
	HEXZ_STREAM_MAIN = 0,
	HEXZ_STREAM_AUXILIARY = 1,
};

enum hexz_compression {
	HEXZ_COMPRESSION_LZ4 = 0,
	HEXZ_COMPRESSION_ZSTD = 1,
};

/** The deepest parent chain an archive may have (the archive itself not counted). */
#define HEXZ_MAX_PARENT_DEPTH 16

/**
 * struct hexz_parent - a parent archive found by a resolver.
 * @storage:  the opened parent; the library owns it once the resolver
 *            returns HEXZ_OK (and closes it when done).
 * @dev, @ino: the parent file's identity, to detect cycles in the chain.
 * @location: the parent's path, for messages and to resolve the parent's
 *            own parents; NUL-terminated.
 */
struct hexz_parent {
	struct hexz_storage *storage;
	uint64_t dev;
	uint64_t ino;
	char location[4096];
};

/**
 * hexz_resolve_parent_fn - find and open a parent archive.
 * @opaque:          the resolve_opaque of the options.
 * @child_location:  the location of the archive that names the parent.
 * @parent_path:     the parent path as written in that archive (any bytes
 *                   but NUL; untrusted).
 * @out:             to be filled on success.
 * @err:             to be filled on failure (may be NULL).
 *
 * Return: HEXZ_OK, HEXZ_ERR_PARENT_NOT_FOUND, HEXZ_ERR_PARENT_REFUSED (the
 * caller does not allow that parent), or another status.
 */
typedef int (*hexz_resolve_parent_fn)(void *opaque, const char *child_location,
				      const char *parent_path, struct hexz_parent *out,
				      struct hexz_error *err);

/**
 * struct hexz_archive_options - how to open an archive. Zero is a valid
 * default for every field.
 * @location:        the archive's path: named in messages, and the base for
 *                   parent paths relative to the archive's directory.
 *                   NULL: "archive".
 * @dev, @ino:       the archive file's identity, so that a parent chain
 *                   leading back to it is seen as a cycle; 0 if unknown.
 * @password:        for encrypted archives; @password_len bytes (not
 *                   necessarily NUL-terminated). NULL: none.
 * @resolve_parent:  finds parents of thin archives; NULL means
 *                   hexz_resolve_parent_default().
 * @resolve_opaque:  passed to @resolve_parent.
 * @cache:           the decompressed-block cache to use, shared with other
 *                   archives; NULL: the archive makes a private one of
 *                   HEXZ_DEFAULT_PRIVATE_CACHE bytes without workers.
 * @borrow_storage:  the archive only borrows the storage handle given to
 *                   hexz_archive_open(): the caller keeps owning it, and must
 *                   keep it open until hexz_archive_close().
 */
struct hexz_archive_options {
	const char *location;
	uint64_t dev;
	uint64_t ino;
	const void *password;
	size_t password_len;
	hexz_resolve_parent_fn resolve_parent;
	void *resolve_opaque;
	struct hexz_cache *cache;
	bool borrow_storage;
};

#define HEXZ_DEFAULT_PRIVATE_CACHE (64u << 20)

/** Facts from an archive's header and master index. */
struct hexz_archive_info {
	uint32_t format_version;
	uint32_t block_size;          /* nominal; blocks may differ */
	enum hexz_compression compression;
	bool encrypted;
	uint32_t kdf_iterations;      /* PBKDF2 iterations when encrypted */
	bool has_dictionary;
	uint32_t dictionary_length;
	bool variable_blocks;
	bool has_metadata;
	bool has_manifest;            /* metadata that is a manifest */
	bool has_signature;
	uint64_t file_size;           /* bytes of the archive file */
	uint64_t stream_size[2];      /* decompressed bytes, by enum hexz_stream */
	uint64_t block_count[2];      /* index entries, by enum hexz_stream */
	uint64_t page_count[2];       /* index pages, by enum hexz_stream */
	size_t parent_count;          /* parent paths in the header */
};

/**
 * hexz_archive_open() - open an archive on a storage handle.
 * @storage: the archive's bytes. On success the archive owns it and closes
 *           it in hexz_archive_close() (unless opts->borrow_storage); on
 *           failure the caller still owns it.
 * @opts:    options, or NULL for all defaults.
 * @out:     receives the archive; NULL on failure.
 * @err:     optional details of a failure.
 *
 * Reads and checks the header and the master index, opens the parent chain
 * (each parent through the resolver, no deeper than HEXZ_MAX_PARENT_DEPTH),
 * derives the key of an encrypted archive once and proves the password by
 * decrypting one block, and parses and validates the manifest. Index pages
 * are read later, as reads need them; each page is checked when first read.
 *
 * Ownership: the caller owns *@out; close it with hexz_archive_close().
 * Thread safety: safe to call concurrently (for different storage handles).
 *
 * Return: HEXZ_OK, or
 *  HEXZ_ERR_INVALID_ARGUMENT    @storage or @out is NULL;
 *  HEXZ_ERR_NOT_ARCHIVE         the file does not start with the hexz magic;
 *  HEXZ_ERR_BAD_VERSION         a format version other than 1;
 *  HEXZ_ERR_CORRUPT_HEADER      a header field is invalid or points outside the file;
 *  HEXZ_ERR_CORRUPT_INDEX       the master index is invalid;
 *  HEXZ_ERR_CORRUPT_MANIFEST    the metadata is not a valid manifest document;
 *  HEXZ_ERR_LIMIT               a field exceeds what this reader accepts
 *                               (e.g. an absurd PBKDF2 iteration count);
 *  HEXZ_ERR_PASSWORD_REQUIRED   the archive is encrypted and no password was given;
 *  HEXZ_ERR_WRONG_PASSWORD      the password does not decrypt the archive;
 *  HEXZ_ERR_PARENT_NOT_FOUND, HEXZ_ERR_PARENT_REFUSED, HEXZ_ERR_PARENT_CYCLE,
 *  HEXZ_ERR_PARENT_TOO_DEEP     a parent could not be used (any error of a
 *                               parent's own open is passed on too);
 *  HEXZ_ERR_IO                  the file could not be read;
 *  HEXZ_ERR_NO_MEMORY           no memory.
 */
HEXZ_EXPORT int hexz_archive_open(struct hexz_storage *storage,
				  const struct hexz_archive_options *opts,
				  struct hexz_archive **out, struct hexz_error *err);

/**
 * hexz_archive_open_path() - map a file and open it as an archive.
 * @path: the archive file. opts->location, dev and ino default to the
 *        path and the file's identity. Other arguments as for
 *        hexz_archive_open(); the errors of hexz_mmap_open() too.
 */
HEXZ_EXPORT int hexz_archive_open_path(const char *path, const struct hexz_archive_options *opts,
				       struct hexz_archive **out, struct hexz_error *err);

/**
 * hexz_resolve_parent_default() - find a parent as hexz does.
 *
 * Tries @parent_path as written (relative to the working directory when
 * relative), then relative to the directory of @child_location. A
 * hexz_resolve_parent_fn; @opaque is unused.
 */
HEXZ_EXPORT int hexz_resolve_parent_default(void *opaque, const char *child_location,
					    const char *parent_path, struct hexz_parent *out,
					    struct hexz_error *err);

/**
 * hexz_archive_get_info() - the archive's header facts.
 * Thread safety: lock-free.
 */
HEXZ_EXPORT void hexz_archive_get_info(const struct hexz_archive *ar, struct hexz_archive_info *out);

/** hexz_archive_parent_path() - parent path number @i as written, or NULL past the end. */
HEXZ_EXPORT const char *hexz_archive_parent_path(const struct hexz_archive *ar, size_t i);

/** hexz_archive_location() - the location the archive was opened with. */
HEXZ_EXPORT const char *hexz_archive_location(const struct hexz_archive *ar);

/** hexz_archive_stream_size() - decompressed length of @stream; 0 for an unknown stream. */
HEXZ_EXPORT uint64_t hexz_archive_stream_size(const struct hexz_archive *ar, enum hexz_stream stream);

/**
 * hexz_archive_read() - copy decompressed bytes of a stream.
 * @ar:     the archive.
 * @stream: which stream.
 * @offset: first byte, from the start of the stream.
 * @len:    bytes to copy.
 * @dst:    at least @len bytes (may be NULL when @len is 0).
 * @err:    optional details of a failure.
 *
 * Exactly @len bytes or an error, as hexz_storage_read_exact(): a range
 * that does not lie within the stream fails without touching @dst. Blocks
 * come from the cache or are read, checked (CRC-32), decrypted and
 * decompressed into it.
 *
 * Thread safety: any number of concurrent readers.
 *
 * Return: HEXZ_OK, or
 *  HEXZ_ERR_INVALID_ARGUMENT   a NULL pointer, or an unknown @stream;
 *  HEXZ_ERR_END_OF_FILE        the range does not lie within the stream;
 *  HEXZ_ERR_CORRUPT_INDEX      an index page the range needs is invalid;
 *  HEXZ_ERR_CHECKSUM           a block's stored bytes fail their CRC-32;
 *  HEXZ_ERR_DECRYPT            a block fails authentication (tampered);
 *  HEXZ_ERR_DECOMPRESS         a block does not decompress to its length;
 *  HEXZ_ERR_PARENT_BLOCK_MISSING  a parent reference resolves nowhere;
 *  HEXZ_ERR_IO                 the file could not be read (truncated);
 *  HEXZ_ERR_NO_MEMORY          no memory for a block.
 */
HEXZ_EXPORT int hexz_archive_read(struct hexz_archive *ar, enum hexz_stream stream,
				  uint64_t offset, size_t len, void *dst, struct hexz_error *err);

/**
 * hexz_archive_pin() - borrow decompressed bytes of a stream in place.
 * @ar, @stream, @offset, @len: the range, as for hexz_archive_read().
 * @iov:      receives up to @capacity pieces that together cover
 *            [@offset, @offset + *@covered), in order.
 * @refs:     receives one block reference per piece (NULL for pieces that
 *            need none, such as zero blocks); release them all with
 *            hexz_block_unpin() once the bytes are no longer used.
 * @capacity: room in @iov and @refs; at least 1.
 * @count:    receives the number of pieces filled.
 * @covered:  receives the number of bytes covered: @len, or less when the
 *            range needs more than @capacity pieces (call again for the rest).
 * @err:      optional details of a failure.
 *
 * The zero-copy variant of hexz_archive_read() for replies that hand
 * pointers to the kernel: nothing is copied. The blocks the range needs are
 * decompressed in parallel by the cache's workers when it has any. On
 * failure nothing stays pinned.
 *
 * Thread safety and errors: as for hexz_archive_read().
 */
HEXZ_EXPORT int hexz_archive_pin(struct hexz_archive *ar, enum hexz_stream stream,
				 uint64_t offset, size_t len, struct iovec *iov,
				 struct hexz_block_ref **refs, size_t capacity, size_t *count,
				 size_t *covered, struct hexz_error *err);

/**
 * hexz_block_unpin() - release references taken by hexz_archive_pin().
 * @refs:  the references (NULL entries are skipped).
 * @count: how many.
 * Thread safety: safe from any thread.
 */
HEXZ_EXPORT void hexz_block_unpin(struct hexz_block_ref **refs, size_t count);

/**
 * hexz_block_unpin_consumed() - release references taken by
 * hexz_archive_pin() for a read that consumed its range in order.
 * @refs:  the references (NULL entries are skipped), set to NULL.
 * @iov:   the pieces hexz_archive_pin() filled with them.
 * @count: how many.
 *
 * For sequential readers, which read each byte once: a block whose last
 * byte the read reached also leaves the cache, unless someone else holds
 * it, and its memory is reused for the next block decompressed. Such a
 * reader then streams through a few blocks of memory instead of filling
 * the cache with blocks nobody will ask for again. Other blocks are
 * released as by hexz_block_unpin().
 *
 * Thread safety: safe from any thread.
 */
HEXZ_EXPORT void hexz_block_unpin_consumed(struct hexz_block_ref **refs, const struct iovec *iov,
					   size_t count);

/**
 * hexz_block_extent() - the whole decompressed block behind a pinned piece.
 * @ref: a reference hexz_archive_pin() returned.
 * @len: set to the block's decompressed length (0 for a NULL @ref).
 *
 * Each piece hexz_archive_pin() returns lies inside one block, and what
 * comes before and after it in that block is decoded already: a caller
 * that can use more than it asked for (the FUSE daemon hands it to the
 * kernel's page cache) finds it here. The piece iov[i] of ref refs[i]
 * starts (iov[i].iov_base - result) bytes into the block.
 *
 * Returns the block's first byte, valid while @ref stays pinned; NULL for
 * a NULL @ref (a piece of zeros, which pins nothing).
 *
 * Thread safety: safe from any thread.
 */
HEXZ_EXPORT const void *hexz_block_extent(const struct hexz_block_ref *ref, size_t *len);

/**
 * hexz_archive_prefetch() - decompress a range ahead of a reader.
 * @ar, @stream, @offset, @len: the range; clipped to the stream.
 *
 * Queues the blocks of the range that are not cached yet for the cache's
 * workers and returns at once; errors are not reported (the read that
 * needs the block reports them). Nothing happens when the cache has no
 * workers or the queue is full.
 *
 * Thread safety: safe from any thread.
 */
HEXZ_EXPORT void hexz_archive_prefetch(struct hexz_archive *ar, enum hexz_stream stream,
				       uint64_t offset, uint64_t len);

/**
 * hexz_archive_parent() - the open parent archive number @i (in header
 * order), or NULL past the end. Borrowed: owned by @ar, valid until it is
 * closed. Parents are archives like any other (read, scan, their parents).
 */
HEXZ_EXPORT struct hexz_archive *hexz_archive_parent(const struct hexz_archive *ar, size_t i);

/** What the index of an archive holds, per stream (enum hexz_stream). */
struct hexz_archive_scan {
	uint64_t data_blocks[2];   /* blocks stored in this archive */
	uint64_t zero_blocks[2];   /* blocks of zeros, nothing stored */
	uint64_t parent_blocks[2]; /* blocks stored in a parent */
	uint64_t stored_bytes[2];  /* stored bytes of the data blocks (shared ones counted each time) */
	uint64_t data_bytes[2];    /* decompressed bytes of the data blocks */
};

/**
 * hexz_archive_scan() - count the blocks of both streams.
 * @ar:  the archive.
 * @out: receives the counts.
 * @err: optional details of a failure.
 *
 * Reads and checks every index page (without keeping them): the cost grows
 * with the archive, so this is for tools, not for every open.
 * Thread safety: safe concurrently with reads.
 *
 * Return: HEXZ_OK, HEXZ_ERR_INVALID_ARGUMENT, HEXZ_ERR_CORRUPT_INDEX (a
 * page is invalid), HEXZ_ERR_IO or HEXZ_ERR_NO_MEMORY.
 */
HEXZ_EXPORT int hexz_archive_scan(struct hexz_archive *ar, struct hexz_archive_scan *out,
				  struct hexz_error *err);

/**
 * hexz_archive_trim() - let go of the archive's resident file pages.
 * @ar: the archive, or NULL.
 *
 * hexz_storage_trim() on the archive's storage and its parents', at once.
 * Reads already keep the pages they map within the cache's budget of
 * mapped pages (see hexz/cache.h); this lets go of what is mapped now.
 * Thread safety: safe concurrently with reads.
 */
HEXZ_EXPORT void hexz_archive_trim(struct hexz_archive *ar);

/**
 * hexz_archive_manifest_count() - number of files the manifest shows.
 *
 * 0 for an archive without a manifest. Every file shown is valid: a
 * relative path without empty, "." or ".." components, unique, not also
 * the directory of another entry, and a range inside the main stream.
 * Invalid entries are left out (see hexz_archive_manifest_rejected()).
 */
HEXZ_EXPORT size_t hexz_archive_manifest_count(const struct hexz_archive *ar);

/*
 * The manifest's tree
 * -------------------
 * A directory archive's files and the directories their paths imply, as
 * nodes numbered 0 (the root directory) to hexz_archive_tree_count() - 1.
 * The children of a directory are consecutive and sorted by name
 * (bytewise): [first_child, first_child + child_count). The tree is built
 * once, when the archive opens, and never changes; it costs 40 bytes a node
 * plus its name.
 */

/** No node (hexz_archive_tree_lookup() found nothing). */
#define HEXZ_TREE_NONE UINT32_MAX

/** One node of the tree, as hexz_archive_tree_node() describes it. */
struct hexz_tree_node {
	const char *name;      /* last path component, "" for the root; owned by the archive */
	uint32_t parent;       /* the root is its own parent */
	bool is_dir;
	uint32_t first_child;  /* directories: the first child's index */
	uint32_t child_count;  /* directories */
	uint64_t offset;       /* files: in the main stream */
	uint64_t size;         /* files */
	uint32_t mode;         /* files: st_mode as written (S_IFREG and permission bits) */
	int64_t mtime;         /* files: seconds since the epoch */
};

/** hexz_archive_tree_count() - nodes of the tree, the root included; 0 without a manifest. */
HEXZ_EXPORT uint32_t hexz_archive_tree_count(const struct hexz_archive *ar);

/**
 * hexz_archive_tree_node() - describe node @i into *@out.
 * Return: HEXZ_OK, or HEXZ_ERR_INVALID_ARGUMENT when @ar or @out is NULL or
 * @i is not below hexz_archive_tree_count().
 */
HEXZ_EXPORT int hexz_archive_tree_node(const struct hexz_archive *ar, uint32_t i,
				       struct hexz_tree_node *out);

/**
 * hexz_archive_tree_lookup() - the child @name of directory node @dir.
 * Return: its index, or HEXZ_TREE_NONE when @dir is not a directory node or
 * has no such child. One binary search.
 */
HEXZ_EXPORT uint32_t hexz_archive_tree_lookup(const struct hexz_archive *ar, uint32_t dir,
					      const char *name);

/**
 * hexz_archive_tree_path() - the path of node @i ("dir/sub/file", "" for
 * the root), written into @buf (@cap bytes, NUL-terminated and cut to fit
 * when @cap > 0), as snprintf() does.
 * Return: the whole path's length (less than PATH_MAX), or 0 for a bad
 * argument.
 */
HEXZ_EXPORT size_t hexz_archive_tree_path(const struct hexz_archive *ar, uint32_t i, char *buf,
					  size_t cap);

/** hexz_archive_manifest_rejected_count() - entries of the manifest left out as invalid. */
HEXZ_EXPORT size_t hexz_archive_manifest_rejected_count(const struct hexz_archive *ar);

/**
 * hexz_archive_manifest_rejected() - why entry number @i was left out, or
 * NULL past the end. A sentence naming the entry (its index and path when
 * it has one) and what was wrong; owned by the archive. Only the first
 * HEXZ_MANIFEST_REJECTIONS_KEPT reasons are kept; the count counts all.
 */
HEXZ_EXPORT const char *hexz_archive_manifest_rejected(const struct hexz_archive *ar, size_t i);
#define HEXZ_MANIFEST_REJECTIONS_KEPT 64

/**
 * hexz_archive_close() - release the archive, its parents and its cached blocks.
 * @ar: the archive, or NULL.
 * Blocks pinned from it must have been released.
 */
HEXZ_EXPORT void hexz_archive_close(struct hexz_archive *ar);

#ifdef __cplusplus
}
#endif

#endif /* HEXZ_ARCHIVE_H */
