/*
 * logind.c - the login daemons master starts (pop3d, imapd): for each,
 * the name of its service, of its two socket sets (plaintext and
 * implicit TLS) as the daemon's "-s NAME:FD" arguments, and of the two
 * config keys that list their addresses. setup.c binds them, service.c
 * hands them over, reload.c rebinds them: all by this table, so a login
 * daemon is one line here.
 *
 * Runs in master (root), before and after the fork of each service.
 */
#include <stddef.h>

#include "conf.h"
#include "master.h"

static const struct {
	const char	*svc, *sock, *tls_sock, *key, *tls_key;
	size_t		 off, tls_off;
} logind_desc[MASTER_LOGINDS] = {
	[MASTER_POP3] = { "pop3d", "pop3", "pop3s", "pop3_listen",
	    "pop3s_listen", offsetof(struct conf, pop3_listen),
	    offsetof(struct conf, pop3s_listen) },
	[MASTER_IMAP] = { "imapd", "imap", "imaps", "imap_listen",
	    "imaps_listen", offsetof(struct conf, imap_listen),
	    offsetof(struct conf, imaps_listen) },
};

void
logind_init(struct master *m)
{
	size_t i;

	for (i = 0; i < MASTER_LOGINDS; i++) {
		m->logind[i].svc = logind_desc[i].svc;
		m->logind[i].sock = logind_desc[i].sock;
		m->logind[i].tls_sock = logind_desc[i].tls_sock;
		m->logind[i].key = logind_desc[i].key;
		m->logind[i].tls_key = logind_desc[i].tls_key;
	}
}

const struct conf_list *
logind_list(const struct conf *cf, size_t i, int tls)
{
	return (const struct conf_list *)(const void *)((const char *)cf +
	    (tls ? logind_desc[i].tls_off : logind_desc[i].off));
}
