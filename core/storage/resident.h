/* SPDX-License-Identifier: MIT */
/*
 * One budget for the file pages a group of storages keeps mapped.
 *
 * The mmap backend reads through a private mapping of the whole file. A
 * page a read touched stays mapped until the storage is trimmed or closed,
 * and counts in the process's resident set (VmRSS, as RssFile): random
 * reads of archives that stay open would grow it toward the archives'
 * size, whatever the decompressed-block cache's budget. So a group of
 * storages (every archive of one block cache) shares one budget: each read
 * charges the bytes it may have mapped, and once the charges since the
 * last trim reach the limit, every storage of the group touched since then
 * is trimmed (hexz_storage_trim(), one madvise() per storage), which costs
 * a system call per `limit` bytes read and a page fault per page touched
 * again afterwards.
 *
 * A charge is the range rounded out to whole fault-around windows
 * (RESIDENT_WINDOW): a read fault maps the pages of the file around the
 * faulting one, up to that window, when the page cache holds them. So the
 * pages a group's reads mapped since its last trim weigh less than `limit`
 * plus the charges of the reads running. Charges are not told whether the
 * pages were mapped already: a working set re-read within the limit is
 * trimmed and mapped again every `limit` bytes, for the price of its page
 * faults.
 */
#ifndef HEXZ_CORE_RESIDENT_H
#define HEXZ_CORE_RESIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hexz_storage;
struct resident_budget;

/* The kernel's default fault-around window (fault_around_bytes). */
#define RESIDENT_WINDOW ((uint64_t)64 << 10)

/* A budget of `limit` bytes; NULL when out of memory. */
struct resident_budget *resident_budget_new(uint64_t limit);

/* Free a budget no storage is a member of any more (NULL is fine). */
void resident_budget_free(struct resident_budget *b);

/* Trims made so far: the times the limit was reached. */
uint64_t resident_budget_trims(const struct resident_budget *b);

/*
 * Make `st` a member of `b`. A storage is a member of one budget at most,
 * and only a backend that can trim joins one: false (and nothing done)
 * when `st` cannot trim or is in another budget, or when out of memory
 * (the storage then reads as before, unbudgeted). Joins of one storage
 * (several archives opened on it) are counted: it stays a member until
 * the last of them leaves. Safe from any thread.
 */
bool resident_join(struct resident_budget *b, struct hexz_storage *st);

/*
 * Undo one successful resident_join() of `st`. The last one takes `st` out
 * of its budget, and must come after the last read of `st`: it waits for a
 * trim in progress, so none touches `st` once it returns.
 */
void resident_leave(struct hexz_storage *st);

/*
 * Charge [offset, offset + len) of `st`, just read, to its budget (nothing
 * when it has none), trimming the budget's members if the limit is
 * reached. Safe from any number of threads; takes no lock the caller could
 * hold, and never waits for another trim.
 */
void resident_charge(const struct hexz_storage *st, uint64_t offset, size_t len);

#endif /* HEXZ_CORE_RESIDENT_H */
