/*
 * cmd_ctl.c - postern start, stop, reload and status: the master process
 * seen through its pid file.
 *
 * Runs as the administrator (root for a production suite, any user for
 * a development one). Trusts the config for pid_file and daemon_directory;
 * a pid file may be stale. master holds an exclusive flock on its pid file
 * for as long as it lives, so the lock, not kill(pid, 0), says whether it
 * runs: a master that exited but was not yet reaped by its parent (a
 * zombie) still answers kill(pid, 0), but its lock is gone. What each
 * daemon is doing, and the outcome of a reload, come from the status
 * file master keeps beside its pid file (master/status.c).
 *
 * Exit codes follow the LSB init script actions, so init scripts and
 * monitoring can use the command as is: start of a running suite and
 * stop of a stopped one succeed (0) and say so once; status exits 0
 * running, 1 dead with a pid file left, 3 not running, 4 unknown, and
 * 150 (LSB leaves 150-199 to the application) running with a daemon
 * that keeps failing; reload of a stopped suite exits 7.
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
#define CLI_RELOAD_WAIT_SEC	15

#define LSB_DEAD_PIDFILE	1
#define LSB_NOT_RUNNING		3
#define LSB_UNKNOWN		4
#define LSB_RELOAD_STOPPED	7
#define LSB_FAILING		150	/* running, a daemon crash-looping */

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

enum master_state {
	MASTER_RUNNING,
	MASTER_NONE,		/* no pid file, or an empty one */
	MASTER_DEAD,		/* a pid file whose master is gone */
	MASTER_UNKNOWN,		/* the pid file cannot be read */
};

static enum master_state
master_state(struct cli *c, pid_t *pid)
{
	if (cli_read_pid(c->conf.pid_file, pid) == -1) {
		if (errno == ENOENT || errno == EINVAL)
			return MASTER_NONE;
		return MASTER_UNKNOWN;
	}
	return master_holds_lock(c->conf.pid_file) ? MASTER_RUNNING :
	    MASTER_DEAD;
}

/* 1 running (pid set), 0 not: says "not running" once when verbose. */
static int
master_pid(struct cli *c, pid_t *pid, int verbose)
{
	switch (master_state(c, pid)) {
	case MASTER_RUNNING:
		return 1;
	case MASTER_UNKNOWN:
		if (verbose)
			cli_err(c, "cannot read %s: %s", c->conf.pid_file,
			    strerror(errno));
		return 0;
	default:
		if (verbose)
			printf("postern: not running\n");
		return 0;
	}
}

/* One service line of the status file, split at its tabs. */
struct svc_status {
	char		*name, *instance, *pid, *state, *last_exit, *last_error;
	unsigned long	 restarts, failures;
};

static int
status_split(char *line, char **f, int max)
{
	int n = 0;

	line[strcspn(line, "\n")] = '\0';
	while (n < max) {
		f[n++] = line;
		if ((line = strchr(line, '\t')) == NULL)
			break;
		*line++ = '\0';
	}
	return n;
}

static FILE *
status_open(struct cli *c)
{
	char path[PATH_MAX];

	if (conf_status_path(&c->conf, path, sizeof(path)) == -1)
		return NULL;
	return fopen(path, "re");
}

/* The last reload's generation and outcome; -1 if there is no file. */
static int
status_reload(struct cli *c, unsigned long *gen, int *ok, char *msg,
    size_t msglen)
{
	FILE	*fp;
	char	 line[2048], *f[4];
	int	 found = -1;

	if ((fp = status_open(c)) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (status_split(line, f, 4) == 4 && strcmp(f[0],
		    "reload") == 0) {
			*gen = strtoul(f[1], NULL, 10);
			*ok = strcmp(f[2], "ok") == 0;
			strlcpy(msg, f[3], msglen);
			found = 0;
		}
	fclose(fp);
	return found;
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
		/* LSB: starting a running service is a success. */
		printf("postern: already running (pid %ld)\n", (long)pid);
		return 0;
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
	/*
	 * master runs every check itself (it must: it is also started
	 * without us) and, with -t, reports here in our words and says
	 * what it started.
	 */
	av[n++] = foreground ? "-f" : "-t";
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
	switch (master_state(c, &pid)) {
	case MASTER_RUNNING:
		break;
	case MASTER_UNKNOWN:
		cli_err(c, "cannot read %s: %s", c->conf.pid_file,
		    strerror(errno));
		return 1;
	default:
		/* LSB: stopping a stopped service is a success. */
		printf("postern: not running\n");
		return 0;
	}
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

/*
 * Checks the file as master will, so a mistake is named here, then asks
 * master and waits for its verdict in the status file: the reload may
 * still be refused (a listener that cannot be bound, a key that needs a
 * restart), and the administrator should hear it here, not in the log.
 */
int
cli_cmd_reload(struct cli *c, int argc, char **argv)
{
	struct timespec	tick = { 0, 50 * 1000 * 1000 };
	unsigned long	gen = 0, ngen;
	char		msg[1024];
	pid_t		pid;
	int		ok, have, i;

	if (argc != 1) {
		cli_err(c, "usage: postern reload");
		return EX_USAGE;
	}
	if (!master_pid(c, &pid, 1))
		return LSB_RELOAD_STOPPED;
	if (cli_check_conf(c, &c->conf) == -1) {
		cli_err(c, "reload refused: the configuration has errors; "
		    "the suite keeps running the old one");
		return 1;
	}
	have = status_reload(c, &gen, &ok, msg, sizeof(msg)) == 0;
	if (kill(pid, SIGHUP) == -1) {
		int saved = errno;

		cli_err(c, "cannot signal master (pid %ld): %s", (long)pid,
		    strerror(saved));
		return saved == EPERM ? EX_NOPERM : 1;
	}
	if (!have) {
		printf("postern: reload requested (SIGHUP to pid %ld)\n",
		    (long)pid);
		return 0;
	}
	for (i = 0; i < CLI_RELOAD_WAIT_SEC * 20; i++) {
		if (status_reload(c, &ngen, &ok, msg, sizeof(msg)) == 0 &&
		    ngen != gen) {
			if (!ok) {
				cli_err(c, "%s", msg);
				return 1;
			}
			printf("postern: %s\n", msg);
			return 0;
		}
		nanosleep(&tick, NULL);
	}
	cli_err(c, "master (pid %ld) did not answer the reload within %d "
	    "seconds; see the mail log", (long)pid, CLI_RELOAD_WAIT_SEC);
	return 1;
}

static int
status_services(struct cli *c)
{
	FILE		*fp;
	char		 line[2048], *f[9], label[64];
	int		 n, failing = 0;

	if ((fp = status_open(c)) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		struct svc_status s;

		if ((n = status_split(line, f, 9)) != 9 ||
		    strcmp(f[0], "service") != 0)
			continue;
		s.name = f[1];
		s.instance = f[2];
		s.pid = f[3];
		s.restarts = strtoul(f[4], NULL, 10);
		s.failures = strtoul(f[5], NULL, 10);
		s.state = f[6];
		s.last_exit = f[7];
		s.last_error = f[8][0] != '\0' ? f[8] : NULL;
		if (strcmp(s.name, "deliverd") == 0)
			snprintf(label, sizeof(label), "%s#%s", s.name,
			    s.instance);
		else
			strlcpy(label, s.name, sizeof(label));
		if (strcmp(s.state, "off") == 0) {
			printf("  %-12s off (no listeners)\n", label);
			continue;
		}
		if (s.failures == 0) {
			printf("  %-12s running (pid %s)", label, s.pid);
			if (s.restarts > 0)
				printf(", restarted %lu time%s", s.restarts,
				    s.restarts == 1 ? "" : "s");
			putchar('\n');
			continue;
		}
		failing = 1;
		printf("  %-12s crash-looping: %lu failure%s in a row, "
		    "restarted %lu time%s; last %s\n", label, s.failures,
		    s.failures == 1 ? "" : "s", s.restarts,
		    s.restarts == 1 ? "" : "s", s.last_exit);
		if (s.last_error != NULL)
			printf("  %-12s last error: %s\n", "", s.last_error);
	}
	fclose(fp);
	return failing;
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
	switch (master_state(c, &pid)) {
	case MASTER_RUNNING:
		printf("postern is running (pid %ld)\n", (long)pid);
		return status_services(c) ? LSB_FAILING : 0;
	case MASTER_DEAD:
		printf("postern is not running (master, pid %ld, is gone; its "
		    "pid file %s is left)\n", (long)pid, c->conf.pid_file);
		return LSB_DEAD_PIDFILE;
	case MASTER_UNKNOWN:
		cli_err(c, "cannot read %s: %s", c->conf.pid_file,
		    strerror(errno));
		return LSB_UNKNOWN;
	default:
		printf("postern is not running\n");
		return LSB_NOT_RUNNING;
	}
}
