/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>

static bool to_syslog;

static void sink(enum fuse_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
sink(enum fuse_log_level level, const char *fmt, va_list ap)
{
	if (to_syslog) {
		vsyslog((int)level, fmt, ap);
		return;
	}
	fputs("hexzfs: ", stderr);
	vfprintf(stderr, fmt, ap);
}

void
log_init(void)
{
	fuse_set_log_func(sink);
}

void
log_use_syslog(void)
{
	openlog("hexzfs", LOG_PID, LOG_DAEMON);
	to_syslog = true;
}

void
log_msg(enum fuse_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sink(level, fmt, ap);
	va_end(ap);
}
