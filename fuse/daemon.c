/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "housekeeper.h"
#include "log.h"

/* The parent's side: wait for the child's word, then for the mount. */
static void __attribute__((noreturn))
parent_wait(struct hexzfs *fs, pid_t child, int ready_fd, const char *mountpoint)
{
	struct stat st;
	char byte;
	ssize_t n;

	do
		n = read(ready_fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		int status = 0;

		waitpid(child, &status, 0);
		fprintf(stderr,
			"hexzfs: the daemon exited before the mount was ready (status %d)\n",
			WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		fuse_session_unmount(fs->se);
		_exit(1);
	}
	/* The child answers this: INIT is done, so the mount is live. */
	if (stat(mountpoint, &st) != 0) {
		fprintf(stderr, "hexzfs: mounted, but '%s' does not answer: %s\n", mountpoint,
			strerror(errno));
		_exit(1);
	}
	_exit(0);
}

int
daemon_start(struct hexzfs *fs, const char *mountpoint)
{
	int pipefd[2];
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		fprintf(stderr, "hexzfs: cannot go to the background: %s\n", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "hexzfs: cannot go to the background: %s\n", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid > 0) {
		/* The parent only waits: let Ctrl-C and kill end it normally. */
		housekeeper_unblock_signals();
		close(pipefd[1]);
		parent_wait(fs, pid, pipefd[0], mountpoint);
	}
	close(pipefd[0]);
	fs->ready_fd = pipefd[1];
	setsid();
	if (chdir("/") != 0)
		log_msg(FUSE_LOG_WARNING, "chdir /: %s\n", strerror(errno));
	return 0;
}

void
daemon_ready(struct hexzfs *fs)
{
	int null_fd;

	if (fs->ready_fd < 0)
		return;
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd >= 0) {
		dup2(null_fd, STDIN_FILENO);
		dup2(null_fd, STDOUT_FILENO);
		dup2(null_fd, STDERR_FILENO);
		if (null_fd > STDERR_FILENO)
			close(null_fd);
	}
	log_use_syslog();
	if (write(fs->ready_fd, "", 1) != 1)
		log_msg(FUSE_LOG_WARNING, "cannot report readiness: %s\n", strerror(errno));
	close(fs->ready_fd);
	fs->ready_fd = -1;
}
