/*
 * tickets.c - master's rotation of the TLS session-ticket keys
 * (libcommon/tls_ticket.c has the file's format and why it is shared).
 *
 * Runs in master (root). While a certificate is configured and
 * tls_ticket_lifetime is not 0, the key file in the spool's private/
 * directory gets a new newest key at start and then every
 * tls_ticket_lifetime; the key it replaces stays as the older one, so
 * a ticket is good for one to two periods. Session processes read the
 * file when they start: a rotation reaches every new session at once
 * and no running one. A failed rotation is logged and the old keys go
 * on serving (resumption is an optimisation, never a reason to stop).
 */
#include <stdio.h>

#include "evloop.h"
#include "fsutil.h"
#include "log.h"
#include "master.h"
#include "tls.h"

static void
tickets_rotate(struct master *m)
{
	char	path[CONF_PATH_MAX + 64], err[512];

	if (fs_path(path, sizeof(path), m->conf.spool_directory,
	    TLS_TICKET_FILE) == -1) {
		log_warnx("TLS ticket keys: spool_directory too long");
		return;
	}
	if (tls_ticket_rotate(path, err, sizeof(err)) == -1)
		log_warnx("TLS ticket keys not rotated: %s", err);
	else
		log_debug("TLS ticket keys rotated");
}

static int
tickets_wanted(const struct master *m)
{
	return tls_server_configured(&m->conf) &&
	    m->conf.tls_ticket_lifetime > 0;
}

static void
tickets_fired(void *arg)
{
	struct master *m = arg;

	m->ticket_timer = NULL;
	if (!tickets_wanted(m))
		return;
	tickets_rotate(m);
	m->ticket_timer = evloop_timer(m->loop,
	    (uint64_t)m->conf.tls_ticket_lifetime * 1000, tickets_fired, m);
}

void
master_tickets_check(struct master *m)
{
	if (m->ticket_timer != NULL || !tickets_wanted(m))
		return;
	tickets_fired(m);
}
