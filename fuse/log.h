/* SPDX-License-Identifier: MIT */
/*
 * Where messages go: stderr while hexzfs runs in the foreground (so
 * systemd's journal captures them), syslog once it has daemonized. libfuse's
 * own messages are routed the same way.
 */
#ifndef HEXZFS_LOG_H
#define HEXZFS_LOG_H

#include "hexzfs.h"

void log_init(void);
void log_use_syslog(void);
void log_msg(enum fuse_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* HEXZFS_LOG_H */
