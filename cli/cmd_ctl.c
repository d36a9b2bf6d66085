/*
 * cmd_ctl.c - postern start, stop, reload and status: the master process
 * seen through its pid file.
 *
 * Runs as the administrator (root for a production suite, any user for
 * a development one). Trusts the config for pid_file and daemon_directory;
 * a pid file may be stale. master holds an exclusive flock on its pid file
 * for as long as it lives, so the lock, not kill(pid, 0), says whether it
 * runs: a master that exited but was not yet reaped by its parent (a
 * zombie) still answers kill(pid, 0), but its lock is gone.
 */
#include <sys/file.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"

#define CLI_STOP_WAIT_SEC	30

static int
master_holds_lock(const char *pidfile)
{
	int fd, held;

	if ((fd = open(pidfile, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	held = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

/* 1 running (pid set), 0 not running; says why not when verbose. */
static int
master_pid(struct cli *c, pid_t *pid, int verbose)
{
	if (cli_read_pid(c->conf.pid_file, pid) == -1) {
		if (verbose && errno == ENOENT)
			cli_err(c, "postern is not running (no %s)",
			    c->conf.pid_file);
		else if (verbose && errno == EINVAL)
			cli_err(c, "postern is not running (%s holds no pid)",
			    c->conf.pid_file);
		else if (verbose)
			cli_err(c, "cannot read %s: %s", c->conf.pid_file,
			    strerror(errno));
		return 0;
	}
	if (!master_holds_lock(c->conf.pid_file)) {
		if (verbose)
			cli_err(c, "postern is not running (stale pid %ld in "
			    "%s)", (long)*pid, c->conf.pid_file);
		return 0;
	}
	return 1;
}

int
cli_cmd_start(struct cli *c, int argc, char **argv)
{
	char	 master[PATH_MAX], conf[PATH_MAX];
	char	*av[5];
	int	 n = 0, foreground = 0;
	pid_t	 pid;

	if (argc == 2 && strcmp(argv[1], "-f") == 0)
		foreground = 1;
	else if (argc != 1) {
		cli_err(c, "usage: postern start [-f]");
		return EX_USAGE;
	}
	if (master_pid(c, &pid, 0)) {
		cli_err(c, "postern is already running (pid %ld)", (long)pid);
		return 1;
	}
	if (fs_path(master, sizeof(master), c->conf.daemon_directory,
	    "master") == -1 || access(master, X_OK) == -1) {
		cli_err(c, "cannot run %s/master: %s (check daemon_directory)",
		    c->conf.daemon_directory, strerror(errno));
		return EX_CONFIG;
	}
	av[n++] = master;
	if (c->confpath != NULL) {
		/* master may chdir: hand it a path that still works then. */
		if (realpath(c->confpath, conf) == NULL) {
			cli_err(c, "%s: %s", c->confpath, strerror(errno));
			return EX_CONFIG;
		}
		av[n++] = "-c";
		av[n++] = conf;
	}
	if (foreground)
		av[n++] = "-f";
	av[n] = NULL;
	fflush(NULL);
	execv(master, av);
	cli_err(c, "cannot execute %s: %s", master, strerror(errno));
	return EX_OSERR;
}

int
cli_cmd_stop(struct cli *c, int argc, char **argv)
{
	struct timespec	tick = { 0, 100 * 1000 * 1000 };
	pid_t		pid;
	int		i;

	if (argc != 1) {
		cli_err(c, "usage: postern stop");
		return EX_USAGE;
	}
	if (!master_pid(c, &pid, 1))
		return 1;
	if (kill(pid, SIGTERM) == -1) {
		int saved = errno;

		cli_err(c, "cannot signal master (pid %ld): %s", (long)pid,
		    strerror(saved));
		return saved == EPERM ? EX_NOPERM : 1;
	}
	printf("postern: stopping (pid %ld)...\n", (long)pid);
	fflush(stdout);
	/* master drains: in-flight deliveries finish or are handed back. */
	for (i = 0; i < CLI_STOP_WAIT_SEC * 10; i++) {
		if (!master_holds_lock(c->conf.pid_file)) {
			printf("postern: stopped\n");
			return 0;
		}
		nanosleep(&tick, NULL);
	}
	cli_err(c, "master (pid %ld) is still running after %d seconds",
	    (long)pid, CLI_STOP_WAIT_SEC);
	return 1;
}

int
cli_cmd_reload(struct cli *c, int argc, char **argv)
{
	pid_t pid;

	if (argc != 1) {
		cli_err(c, "usage: postern reload");
		return EX_USAGE;
	}
	if (!master_pid(c, &pid, 1))
		return 1;
	if (kill(pid, SIGHUP) == -1) {
		int saved = errno;

		cli_err(c, "cannot signal master (pid %ld): %s", (long)pid,
		    strerror(saved));
		return saved == EPERM ? EX_NOPERM : 1;
	}
	printf("postern: reload requested (SIGHUP to pid %ld)\n", (long)pid);
	return 0;
}

/*
 * postern log reopen: logrotate's postrotate (Postfix's "postfix
 * logrotate"). master makes maillog_file again and its log process
 * reopens it; nothing else is reloaded.
 */
int
cli_cmd_log(struct cli *c, int argc, char **argv)
{
	pid_t pid;

	if (argc != 2 || strcmp(argv[1], "reopen") != 0) {
		cli_err(c, "usage: postern log reopen");
		return EX_USAGE;
	}
	if (c->conf.maillog_file[0] == '\0') {
		cli_err(c, "maillog_file is not set: the suite logs to syslog, "
		    "which rotates its own files");
		return 1;
	}
	if (!master_pid(c, &pid, 1))
		return 1;
	if (kill(pid, SIGUSR1) == -1) {
		int saved = errno;

		cli_err(c, "cannot signal master (pid %ld): %s", (long)pid,
		    strerror(saved));
		return saved == EPERM ? EX_NOPERM : 1;
	}
	printf("postern: %s will be reopened\n", c->conf.maillog_file);
	return 0;
}

int
cli_cmd_status(struct cli *c, int argc, char **argv)
{
	pid_t pid;

	if (argc != 1) {
		cli_err(c, "usage: postern status");
		return EX_USAGE;
	}
	if (master_pid(c, &pid, 0)) {
		printf("postern is running (pid %ld)\n", (long)pid);
		return 0;
	}
	printf("postern is not running\n");
	return 1;
}
