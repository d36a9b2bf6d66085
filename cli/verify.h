/*
 * verify.h - where mail to an address goes, as delivery sees it: the
 * resolver's own expansion (libcommon/expand) run over the maps on disk.
 * Shared by "postern address", "postern check" and "sendmail -bv".
 */
#ifndef POSTERN_VERIFY_H
#define POSTERN_VERIFY_H

#include <stddef.h>

#include "conf.h"
#include "proto.h"

struct map;

struct verify {
	const struct conf	*conf;
	struct map		*users;		/* NULL: no users yet */
	struct map		*aliases;	/* NULL: no aliases yet */
};

/*
 * Opens users.db and aliases.db read-only (a missing map is an empty
 * one, as in resolverd). -1 with "path: why" in err when a map exists
 * but cannot be read (users.db is not world-readable: only root or the
 * map owner can verify).
 */
int	verify_open(struct verify *, const struct conf *, char *err,
	    size_t errlen);
void	verify_close(struct verify *);
/*
 * Expands addr exactly as resolverd does for delivery (a bare name is
 * completed with the default domain first, as sendmail does); trace,
 * if not NULL, hears each step (struct expand_ops).
 */
void	verify_expand(struct verify *, const char *addr,
	    void (*trace)(int depth, const char *line, void *arg),
	    void *trace_arg, struct r_expansion *out);
/* The Maildir that deliverd writes for mailbox "user@domain". */
int	verify_maildir(const struct conf *, const char *mailbox, char *out,
	    size_t outsz);

/* sendmail -bv: one line per address, sendmail's style; an exit status. */
int	sm_verify(const struct conf *, char **addrs, size_t n);

#endif
