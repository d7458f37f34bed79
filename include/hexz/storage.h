/* SPDX-License-Identifier: MIT */
/*
 * Storage backends: read-only byte sources of a fixed length.
 *
 * A struct hexz_storage is an opaque handle to one immutable snapshot. The
 * only backend today maps the snapshot file into memory (hexz_mmap_open());
 * every backend is used through the same four calls below, so a caller
 * written against them works unchanged with backends added later.
 *
 * Truncation under a live mapping
 * -------------------------------
 * Snapshots are meant to be immutable, but nothing stops another process
 * from truncating the file while it is mapped. Touching a mapped page that
 * lies beyond the new end of the file raises SIGBUS, which would kill the
 * process. hexz_storage_read_exact() survives this: the first
 * hexz_mmap_open() of the process installs a SIGBUS handler (with
 * sigaction, SA_SIGINFO | SA_NODEFER | SA_ONSTACK). Before each copy the
 * calling thread records, in thread-local storage, the address range it is
 * about to read and a sigsetjmp() recovery point; if SIGBUS arrives for an
 * address in that range on that thread, the handler siglongjmp()s back and
 * the read returns HEXZ_ERR_IO with nothing promised about @dst. Signals for
 * any other address or thread, and SIGBUS sent with kill(2), go to the
 * handler that was installed before libhexz, or get the disposition it had
 * (the default terminates the process; an ignored sent signal stays ignored).
 *
 * The cost is one sigsetjmp() without signal-mask save per read (a register
 * save, no system call) and no cost at all on the fast path otherwise. The
 * process-wide handler is installed once and never removed. An application
 * that installs its own SIGBUS handler after opening a snapshot must chain to
 * the previous handler, or read_exact loses this protection.
 *
 * Thread safety
 * -------------
 * A storage handle is immutable after it is opened: any number of threads
 * may call hexz_storage_len(), hexz_storage_read_exact() and
 * hexz_storage_view() on the same handle at once, with no lock. Closing a
 * handle while another thread still uses it is undefined, as with free().
 */
#ifndef HEXZ_STORAGE_H
#define HEXZ_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include <hexz/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hexz_storage;

/**
 * hexz_mmap_open() - open a snapshot file as a memory-mapped storage backend.
 * @path:     path of the snapshot; resolved like open(2), following symlinks.
 * @out:      receives the new handle on success; set to NULL on failure.
 * @os_errno: optional; receives the errno behind a failure, or 0 when the
 *            failure has no operating system cause. May be NULL.
 *
 * Opens @path read-only, learns its size once with fstat(2), maps the whole
 * file PROT_READ/MAP_PRIVATE and closes the descriptor again: a handle holds
 * no file descriptor. Nothing is read at open time; pages are faulted in as
 * they are used. A zero-length file is a valid, empty snapshot (no mapping
 * is made). The type of @path is checked before it is opened, and the open
 * uses O_NONBLOCK|O_NOCTTY, so a FIFO or device is refused without blocking
 * and without side effects.
 *
 * Ownership: the caller owns *@out and releases it with hexz_storage_close().
 * Thread safety: safe to call concurrently from any number of threads.
 *
 * Return: HEXZ_OK, or
 *  HEXZ_ERR_INVALID_ARGUMENT  @path or @out is NULL, or @path is empty;
 *  HEXZ_ERR_NOT_FOUND         @path does not exist (ENOENT, ENOTDIR);
 *  HEXZ_ERR_PERMISSION        @path may not be opened for reading (EACCES, EPERM);
 *  HEXZ_ERR_NOT_REGULAR       @path is a directory, device, FIFO or socket;
 *  HEXZ_ERR_NO_MEMORY         no memory or address space for the mapping;
 *  HEXZ_ERR_IO                the device reported EIO;
 *  HEXZ_ERR_SYSTEM            any other failure; @os_errno says which.
 */
HEXZ_EXPORT int hexz_mmap_open(const char *path, struct hexz_storage **out, int *os_errno);

/**
 * hexz_mmap_open_fd() - map a snapshot that the caller has already opened.
 * @fd:       a descriptor open for reading; it is not consumed: the caller
 *            may close it as soon as this call returns.
 * @out:      receives the new handle on success; set to NULL on failure.
 * @os_errno: as for hexz_mmap_open(). May be NULL.
 *
 * Behaves as hexz_mmap_open() after the open: fstat(2), a check that the
 * file is regular, the mapping. Useful to callers that resolve paths
 * themselves (openat(2) relative to a directory descriptor).
 *
 * Ownership and thread safety: as for hexz_mmap_open().
 *
 * Return: HEXZ_OK, or
 *  HEXZ_ERR_INVALID_ARGUMENT  @fd is negative or @out is NULL;
 *  HEXZ_ERR_NOT_REGULAR       @fd refers to something other than a regular file;
 *  HEXZ_ERR_PERMISSION        @fd is not open for reading (EACCES);
 *  HEXZ_ERR_SYSTEM            @fd is an O_PATH descriptor (EBADF);
 *  HEXZ_ERR_NO_MEMORY         no memory or address space for the mapping;
 *  HEXZ_ERR_SYSTEM            any other failure (EBADF, ...); @os_errno says which.
 */
HEXZ_EXPORT int hexz_mmap_open_fd(int fd, struct hexz_storage **out, int *os_errno);

/**
 * hexz_storage_len() - the length of the snapshot in bytes.
 * @st: a handle, or NULL.
 *
 * The length learnt when the handle was opened; O(1), no system call. It does
 * not change if the file is later truncated or extended.
 *
 * Thread safety: lock-free; safe concurrently with every call but close.
 *
 * Return: the length, or 0 when @st is NULL.
 */
HEXZ_EXPORT uint64_t hexz_storage_len(const struct hexz_storage *st);

/**
 * hexz_storage_read_exact() - copy a byte range of the snapshot.
 * @st:     the handle.
 * @offset: first byte to read, from the start of the snapshot.
 * @len:    number of bytes to copy.
 * @dst:    destination buffer of at least @len bytes (may be NULL when @len is 0).
 *
 * Copies exactly @len bytes or fails: there are no partial reads. A range
 * with @offset + @len beyond the length (including ranges whose end
 * overflows 64 bits) fails without touching @dst. @len 0 succeeds for every
 * @offset up to and including the length.
 *
 * Thread safety: lock-free; any number of concurrent readers.
 *
 * Return: HEXZ_OK, or
 *  HEXZ_ERR_INVALID_ARGUMENT  @st is NULL, or @dst is NULL while @len > 0;
 *  HEXZ_ERR_END_OF_FILE       the range does not lie within the snapshot;
 *  HEXZ_ERR_IO                the pages are no longer backed by the file
 *                             (it was truncated) or could not be read; the
 *                             contents of @dst are then unspecified.
 */
HEXZ_EXPORT int hexz_storage_read_exact(const struct hexz_storage *st, uint64_t offset, size_t len,
					void *dst);

/**
 * hexz_storage_view() - borrow a byte range of the snapshot in place.
 * @st:     the handle.
 * @offset: first byte of the range.
 * @len:    length of the range.
 * @out:    receives a pointer to the first byte. For an empty range it may
 *          be NULL (a zero-length snapshot has no mapping).
 *
 * Zero-copy access with the same bounds rules as hexz_storage_read_exact().
 * The bytes stay valid until hexz_storage_close(). They are read-only: a
 * write through the pointer faults.
 *
 * Reads through the pointer are NOT protected against truncation of the
 * file: the caller either hands the range to the kernel (write(2),
 * writev(2), a FUSE reply), which reports EFAULT for vanished pages instead
 * of raising SIGBUS, or takes that risk knowingly.
 *
 * Thread safety: lock-free; any number of concurrent callers.
 *
 * Return: HEXZ_OK, or
 *  HEXZ_ERR_INVALID_ARGUMENT  @st or @out is NULL;
 *  HEXZ_ERR_END_OF_FILE       the range does not lie within the snapshot;
 *  HEXZ_ERR_UNSUPPORTED       the backend cannot lend its bytes in place.
 */
HEXZ_EXPORT int hexz_storage_view(const struct hexz_storage *st, uint64_t offset, size_t len,
				  const void **out);

/**
 * hexz_storage_trim() - let go of the pages the handle keeps resident.
 * @st: a handle, or NULL.
 *
 * For the mmap backend, the pages of the file that reads have touched stay
 * mapped, and count in the process's resident set (as file pages: they are
 * the kernel's page cache, shared) until the handle is closed. This unmaps
 * them; the next read maps them again from the page cache, at the cost of
 * a page fault per few pages. Worth it for a reader that streams through a
 * large file once. Contents and views stay valid. An archive opened on the
 * handle has it trimmed every so often (the cache's budget of mapped
 * pages, see hexz/cache.h).
 *
 * Thread safety: safe concurrently with every call but close.
 */
HEXZ_EXPORT void hexz_storage_trim(const struct hexz_storage *st);

/**
 * hexz_storage_close() - release a handle and everything it holds.
 * @st: a handle, or NULL (then nothing happens).
 *
 * Unmaps the snapshot. Pointers obtained from hexz_storage_view() become
 * invalid.
 *
 * Thread safety: must not run concurrently with any other call on @st.
 */
HEXZ_EXPORT void hexz_storage_close(struct hexz_storage *st);

#ifdef __cplusplus
}
#endif

#endif /* HEXZ_STORAGE_H */
