/*
 * status.c - the suite's state as master sees it, for "postern status"
 * and "postern reload": beside pid_file (conf_status_path), which is
 * where the command finds master itself, and which a reload never moves.
 *
 * Runs in master (root, or the developer's uid). The file is rewritten
 * whole and renamed into place (fs_atomic_write) whenever a daemon
 * starts, dies or settles, and after every reload, so a reader never
 * sees half of it. Mode 0644, as the pid file: it holds no secret, only
 * daemon names, pids, counts and the daemons' own error lines (already
 * printable: svc_clean). master removes it when it stops.
 *
 * Format, one record a line, fields separated by tabs:
 *   postern-status	1
 *   master	PID
 *   reload	GENERATION	ok|refused	MESSAGE
 *   service	NAME	INSTANCE	PID	RESTARTS	FAILURES	STATE	LAST_EXIT	LAST_ERROR
 * STATE is running, waiting (a restart is due), or off (no listeners).
 * FAILURES counts the exits in a row that came before the daemon had run
 * MASTER_STABLE_MS: above 0, it is crash-looping.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "master.h"

void
status_write(struct master *m)
{
	char		 path[PATH_MAX];
	char		*text = NULL;
	size_t		 len = 0, i;
	FILE		*fp;
	static int	 warned;

	if (conf_status_path(&m->conf, path, sizeof(path)) == -1)
		return;
	if ((fp = open_memstream(&text, &len)) == NULL)
		return;
	fprintf(fp, "postern-status\t1\nmaster\t%ld\n", (long)getpid());
	fprintf(fp, "reload\t%lu\t%s\t%s\n", m->reload_gen,
	    m->reload_ok ? "ok" : "refused", m->reload_msg);
	for (i = 0; i < m->nsvcs; i++) {
		const struct service *s = &m->svcs[i];

		fprintf(fp, "service\t%s\t%d\t%ld\t%lu\t%lu\t%s\t%s\t%s\n",
		    s->name, s->instance, (long)s->pid, s->restarts,
		    s->failures, s->pid > 0 ? "running" : s->retired ? "off" :
		    "waiting", s->last_exit, s->last_error);
	}
	if (fclose(fp) != 0) {
		free(text);
		return;
	}
	if (fs_atomic_write(path, text, len, 0644) == -1 && !warned) {
		/* Once: status is a convenience, the suite runs without it. */
		log_warn("cannot write %s", path);
		warned = 1;
	}
	free(text);
}
