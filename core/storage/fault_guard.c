/* SPDX-License-Identifier: MIT */
/*
 * SIGBUS recovery for reads from file mappings.
 *
 * Each thread publishes, in thread-local storage, the source range it is
 * copying and a recovery point. The handler only acts on faults inside the
 * published range of the faulting thread; every other SIGBUS goes to
 * whoever handled it before us, so the library does not hide real bugs.
 */
#define _GNU_SOURCE
#include "fault_guard.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include <hexz/common.h>

/*
 * initial-exec TLS: the handler must not call __tls_get_addr, which may
 * allocate. The variables are small, so the static TLS surplus that glibc
 * reserves for dlopen()ed libraries always has room for them.
 */
#define GUARD_TLS __thread __attribute__((tls_model("initial-exec")))

/*
 * ThreadSanitizer runs signal handlers with every signal blocked, so
 * leaving one with siglongjmp must restore the mask there; elsewhere the
 * handler is SA_NODEFER and the mask is left alone (no system call).
 */
#if defined(__SANITIZE_THREAD__)
#define GUARD_SAVE_MASK 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GUARD_SAVE_MASK 1
#endif
#endif
#ifndef GUARD_SAVE_MASK
#define GUARD_SAVE_MASK 0
#endif

struct guard_frame {
	sigjmp_buf env;
	uintptr_t lo;
	uintptr_t hi;
};

static GUARD_TLS struct guard_frame *volatile active_frame;

static struct sigaction previous_action;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_error;

static void
pass_to_previous(int sig, siginfo_t *info, void *uctx)
{
	if (previous_action.sa_flags & SA_SIGINFO) {
		previous_action.sa_sigaction(sig, info, uctx);
		return;
	}
	if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
		previous_action.sa_handler(sig);
		return;
	}
	if (info->si_code <= 0) {
		/*
		 * Sent with kill(2) or raise(3), not a fault: nothing will run
		 * again. Ignore it if it was ignored before us; otherwise take
		 * the default action (termination) right now.
		 */
		if (previous_action.sa_handler == SIG_IGN)
			return;
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	/*
	 * A real fault under the default disposition: restore it and return.
	 * The faulting instruction runs again, faults again, and the process
	 * dies with SIGBUS exactly as it would have without us (the kernel
	 * does not let a synchronous fault be ignored either).
	 */
	signal(sig, SIG_DFL);
}

static void
on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	struct guard_frame *frame = active_frame;
	uintptr_t addr = (uintptr_t)info->si_addr;

	if (frame && addr >= frame->lo && addr < frame->hi) {
		active_frame = NULL;
		siglongjmp(frame->env, 1);
	}
	pass_to_previous(sig, info, uctx);
}

static void
install_handler(void)
{
	struct sigaction action;

	memset(&action, 0, sizeof(action));
	action.sa_sigaction = on_sigbus;
	/*
	 * SA_NODEFER: we leave the handler with siglongjmp and do not save or
	 * restore the signal mask (that would cost a system call per read), so
	 * SIGBUS must not be blocked while the handler runs.
	 */
	action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
	sigemptyset(&action.sa_mask);
	if (sigaction(SIGBUS, &action, &previous_action) != 0)
		install_error = errno;
}

int
fault_guard_install(void)
{
	pthread_once(&install_once, install_handler);
	return install_error;
}

int
fault_guard_copy(void *dst, const void *src, size_t len)
{
	struct guard_frame frame;

	frame.lo = (uintptr_t)src;
	frame.hi = frame.lo + len;
	if (sigsetjmp(frame.env, GUARD_SAVE_MASK) != 0)
		return HEXZ_ERR_IO;
	active_frame = &frame;
	/* Keep the compiler from moving the copy outside the guarded window. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	memcpy(dst, src, len);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	active_frame = NULL;
	return HEXZ_OK;
}

int
fault_guard_call(const void *src, size_t len, int (*fn)(void *ctx, const void *src, size_t len),
		 void *ctx)
{
	struct guard_frame frame;
	int ret;

	frame.lo = (uintptr_t)src;
	frame.hi = frame.lo + len;
	if (sigsetjmp(frame.env, GUARD_SAVE_MASK) != 0)
		return HEXZ_ERR_IO;
	active_frame = &frame;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ret = fn(ctx, src, len);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	active_frame = NULL;
	return ret;
}
