/*
 * agent_life.h - the life of a delivery agent (deliverd, relayd) between
 * jobs: signals read only while idle (SIGTERM ends it, SIGHUP reloads the
 * configuration), and the connection to queued, retried until it answers.
 */
#ifndef POSTERN_AGENT_LIFE_H
#define POSTERN_AGENT_LIFE_H

#include "conf.h"

struct agent_life {
	struct conf	*conf;		/* replaced whole by a reload */
	const char	*conf_path;
	void		(*reloaded)(void);	/* after a reload, or NULL */
	int		 sigfd;
	int		 terminate;	/* SIGTERM or SIGINT came */
};

/* Blocks the signals into a signalfd; conf is the agent's, loaded. */
void	agent_life_init(struct agent_life *, struct conf *,
	    const char *conf_path, void (*reloaded)(void));
/*
 * Waits for fd to be readable (fd -1: only timeout_ms; -1: no limit) or
 * a signal, which it handles. 1 when fd is readable, 0 otherwise.
 */
int	agent_life_wait(struct agent_life *, int fd, int timeout_ms);
/*
 * Connects to the Unix socket name in dir, trying every retry_ms (logged
 * once) until it answers or a SIGTERM comes (-1).
 */
int	agent_life_connect(struct agent_life *, const char *dir,
	    const char *name, int retry_ms);

#endif
