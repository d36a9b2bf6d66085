/*
 * reload.c - master's SIGHUP: the new configuration is checked like a
 * start's (libcommon/confcheck), and either applied whole or refused
 * whole, with the old one left running.
 *
 * Runs in master (root). Listener changes (smtp_listen, smtps_listen,
 * submission_listen, and pop3d's and imapd's: logind.c) are
 * applied: new addresses are bound before anything else changes, kept
 * ones keep their sockets (and the connections waiting on them), removed
 * ones are closed once the daemon that served them has been replaced.
 * Keys the running suite is built on (the spool, the daemon users) cannot
 * change under it: a reload that changes them is refused, naming them,
 * since a replaced smtpd would otherwise chroot into a spool nobody set
 * up. pid_file, local_delivery_concurrency, remote_delivery_concurrency,
 * the dns_* keys (resolverd makes its DNS client once, and decides then
 * whether to ask for DNSSEC: dane, or a TLS policy map) and setting or
 * unsetting maillog_file take effect at the next start; the reload says
 * so and goes on. The outcome goes to the log and
 * to the status file, where "postern reload" reads it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confcheck.h"
#include "daemon.h"
#include "log.h"
#include "master.h"
#include "tls.h"

struct reload_ctx {
	char	first[512];
	int	errors;
};

static void
reload_report(void *arg, enum confcheck_level level, const char *msg)
{
	struct reload_ctx *r = arg;

	if (level == CONFCHECK_WARNING) {
		log_warnx("reload: %s", msg);
		return;
	}
	log_errx("reload: %s", msg);
	if (r->errors++ == 0)
		strlcpy(r->first, msg, sizeof(r->first));
}

static void	reload_result(struct master *, int ok, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

static void
reload_result(struct master *m, int ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->reload_msg, sizeof(m->reload_msg), fmt, ap);
	va_end(ap);
	m->reload_ok = ok;
	m->reload_gen++;
	if (ok)
		log_info("%s", m->reload_msg);
	else
		log_errx("%s", m->reload_msg);
	status_write(m);
}

/* Whether key is spelled differently in a and b. */
static int
conf_value_differs(const struct conf *a, const struct conf *b,
    const char *key)
{
	char	*x = conf_value(a, key), *y = conf_value(b, key);
	int	 d = x == NULL || y == NULL || strcmp(x, y) != 0;

	free(x);
	free(y);
	return d;
}

/* What makes resolverd ask for DNSSEC (resolverd/route.c). */
static int
reload_wants_dnssec(const struct conf *c)
{
	enum tls_level l;

	return (tls_level_parse(c->smtp_tls_security_level, &l) == 0 &&
	    l == TLS_LEVEL_DANE) || c->smtp_tls_policy_map[0] != '\0';
}

/* Appends name to list (", "-separated) when the values differ. */
static void
reload_diff(char *list, size_t len, const char *name, int differs)
{
	if (!differs)
		return;
	if (list[0] != '\0')
		strlcat(list, ", ", len);
	strlcat(list, name, len);
}

/*
 * Closes each of fds[0..n) that keep[0..nkeep) does not hold: the new
 * listeners of a refused reload (keep: the old ones), or the old ones a
 * reload dropped (keep: the new ones).
 */
static void
close_unkept(const int *fds, size_t n, const int *keep, size_t nkeep)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!setup_fd_in(fds[i], keep, nkeep))
			close(fds[i]);
}

/*
 * smtpd's TLS listeners, bound as setup_listeners_reload binds: both or
 * neither (a failure closes what the first bound).
 */
static int
reload_tls_listeners(struct master *m, const struct conf *nc, int *smtps,
    int *smtps_changed, int *sub, int *sub_changed, char *err,
    size_t errlen)
{
	if (setup_listeners_reload("smtps_listen", &m->conf.smtps_listen,
	    m->smtps_fds, &nc->smtps_listen, smtps, smtps_changed, err,
	    errlen) == -1)
		return -1;
	if (setup_listeners_reload("submission_listen",
	    &m->conf.submission_listen, m->sub_fds, &nc->submission_listen,
	    sub, sub_changed, err, errlen) == -1) {
		close_unkept(smtps, nc->smtps_listen.n, m->smtps_fds, m->nsmtps);
		return -1;
	}
	return 0;
}

void
master_reload(struct master *m)
{
	struct conf		nc;
	struct reload_ctx	r;
	struct confcheck_result	res;
	char			err[1024], fixed[256] = "", later[256] = "";
	char			applied[256] = "";
	int			smtp[16], smtp_changed;
	int			smtps[16], sub[16], smtps_changed, sub_changed;
	/* Each login daemon's plaintext [0] and implicit-TLS [1] sets. */
	int			lfds[MASTER_LOGINDS][2][16];
	int			lchanged[MASTER_LOGINDS][2];
	int			changed[MASTER_LOGINDS];
	size_t			d, t, bound = 0, nl;
	int			stage = 0;

	memset(&r, 0, sizeof(r));
	if (conf_load(&nc, m->confpath, err, sizeof(err)) == -1) {
		reload_result(m, 0, "reload refused, still running the old "
		    "configuration: %s", err);
		return;
	}
	if (confcheck_run(&nc, reload_report, &r, &res) > 0) {
		reload_result(m, 0, "reload refused, still running the old "
		    "configuration: %s%s", r.first, r.errors > 1 ?
		    " (and more: see postern check)" : "");
		conf_free(&nc);
		return;
	}
	reload_diff(fixed, sizeof(fixed), "spool_directory",
	    strcmp(nc.spool_directory, m->conf.spool_directory) != 0);
	reload_diff(fixed, sizeof(fixed), "smtpd_user",
	    strcmp(nc.smtpd_user, m->conf.smtpd_user) != 0);
	reload_diff(fixed, sizeof(fixed), "queue_user",
	    strcmp(nc.queue_user, m->conf.queue_user) != 0);
	reload_diff(fixed, sizeof(fixed), "resolver_user",
	    strcmp(nc.resolver_user, m->conf.resolver_user) != 0);
	reload_diff(fixed, sizeof(fixed), "auth_user",
	    strcmp(nc.auth_user, m->conf.auth_user) != 0);
	reload_diff(fixed, sizeof(fixed), "key_user",
	    strcmp(nc.key_user, m->conf.key_user) != 0);
	reload_diff(fixed, sizeof(fixed), "mail_user",
	    strcmp(nc.mail_user, m->conf.mail_user) != 0);
	reload_diff(fixed, sizeof(fixed), "login_user",
	    strcmp(nc.login_user, m->conf.login_user) != 0);
	reload_diff(fixed, sizeof(fixed), "relay_user",
	    strcmp(nc.relay_user, m->conf.relay_user) != 0);
	if (fixed[0] != '\0') {
		reload_result(m, 0, "reload refused, still running the old "
		    "configuration: %s changed, which needs a restart "
		    "(postern stop; postern start)", fixed);
		conf_free(&nc);
		return;
	}
	/* Each stage opens new listeners; a later refusal closes them. */
	if (setup_listeners_reload("smtp_listen", &m->conf.smtp_listen,
	    m->smtp_fds, &nc.smtp_listen, smtp, &smtp_changed, err,
	    sizeof(err)) == -1)
		goto refused;
	stage = 1;
	if (reload_tls_listeners(m, &nc, smtps, &smtps_changed, sub,
	    &sub_changed, err, sizeof(err)) == -1)
		goto refused;
	stage = 2;
	for (bound = 0; bound < 2 * MASTER_LOGINDS; bound++) {
		d = bound / 2;
		t = bound % 2;
		if (setup_listeners_reload(t ? m->logind[d].tls_key :
		    m->logind[d].key, logind_list(&m->conf, d, (int)t),
		    t ? m->logind[d].tls_fds : m->logind[d].fds,
		    logind_list(&nc, d, (int)t), lfds[d][t], &lchanged[d][t],
		    err, sizeof(err)) == -1)
			goto refused;
	}

	/* From here on nothing fails: the new configuration is the one. */
	reload_diff(later, sizeof(later), "pid_file",
	    strcmp(nc.pid_file, m->conf.pid_file) != 0);
	reload_diff(later, sizeof(later), "local_delivery_concurrency",
	    nc.local_delivery_concurrency != m->conf.local_delivery_concurrency);
	reload_diff(later, sizeof(later), "remote_delivery_concurrency",
	    nc.remote_delivery_concurrency !=
	    m->conf.remote_delivery_concurrency);
	/* resolverd's DNS client is made once, at its start. */
	reload_diff(later, sizeof(later), "dns_servers",
	    conf_value_differs(&nc, &m->conf, "dns_servers"));
	reload_diff(later, sizeof(later), "dns_timeout",
	    nc.dns_timeout != m->conf.dns_timeout);
	reload_diff(later, sizeof(later), "dns_attempts",
	    nc.dns_attempts != m->conf.dns_attempts);
	/* Whether it asks for DNSSEC (DANE) is decided then too. */
	reload_diff(later, sizeof(later), "DNSSEC for DANE",
	    reload_wants_dnssec(&nc) != reload_wants_dnssec(&m->conf));
	/* logd and its socket exist only when started with maillog_file. */
	reload_diff(later, sizeof(later), "maillog_file (set or unset)",
	    (nc.maillog_file[0] == '\0') != (m->log_fd == -1));
	/* What runs keeps them until then, and so does master's view. */
	strlcpy(nc.pid_file, m->conf.pid_file, sizeof(nc.pid_file));
	nc.local_delivery_concurrency = m->conf.local_delivery_concurrency;
	nc.remote_delivery_concurrency = m->conf.remote_delivery_concurrency;
	if ((nc.maillog_file[0] == '\0') != (m->log_fd == -1))
		strlcpy(nc.maillog_file, m->conf.maillog_file,
		    sizeof(nc.maillog_file));

	services_set_listeners(m, "smtpd", "smtp", smtp, nc.smtp_listen.n);
	services_add_listeners(m, "smtpd", "smtps", smtps, nc.smtps_listen.n);
	services_add_listeners(m, "smtpd", "submission", sub,
	    nc.submission_listen.n);
	for (d = 0; d < MASTER_LOGINDS; d++) {
		struct master_logind *l = &m->logind[d];

		services_set_listeners(m, l->svc, l->sock, lfds[d][0],
		    logind_list(&nc, d, 0)->n);
		services_add_listeners(m, l->svc, l->tls_sock, lfds[d][1],
		    logind_list(&nc, d, 1)->n);
		changed[d] = lchanged[d][0] || lchanged[d][1];
	}
	/*
	 * The old sockets no longer listed: the daemon being replaced holds
	 * its own copies until it exits, master needs them no more.
	 */
	close_unkept(m->smtp_fds, m->nsmtp, smtp, nc.smtp_listen.n);
	close_unkept(m->smtps_fds, m->nsmtps, smtps, nc.smtps_listen.n);
	close_unkept(m->sub_fds, m->nsub, sub, nc.submission_listen.n);
	for (d = 0; d < MASTER_LOGINDS; d++) {
		struct master_logind *l = &m->logind[d];

		nl = logind_list(&nc, d, 0)->n;
		close_unkept(l->fds, l->n, lfds[d][0], nl);
		memcpy(l->fds, lfds[d][0], nl * sizeof(int));
		l->n = nl;
		nl = logind_list(&nc, d, 1)->n;
		close_unkept(l->tls_fds, l->ntls, lfds[d][1], nl);
		memcpy(l->tls_fds, lfds[d][1], nl * sizeof(int));
		l->ntls = nl;
	}
	memcpy(m->smtp_fds, smtp, nc.smtp_listen.n * sizeof(int));
	m->nsmtp = nc.smtp_listen.n;
	memcpy(m->smtps_fds, smtps, nc.smtps_listen.n * sizeof(int));
	m->nsmtps = nc.smtps_listen.n;
	memcpy(m->sub_fds, sub, nc.submission_listen.n * sizeof(int));
	m->nsub = nc.submission_listen.n;

	conf_free(&m->conf);
	m->conf = nc;
	/* maillog_file renamed: logd reopens it; syslog_name: a new tag. */
	if (setup_maillog(m, err, sizeof(err)) == -1)
		log_warnx("reload: %s", err);
	daemon_log_setup(&m->conf);
	/* TLS turned on: the ticket keys exist before smtpd's sessions look. */
	master_tickets_check(m);
	services_reload(m, changed);
	reload_diff(applied, sizeof(applied), "smtp_listen", smtp_changed);
	reload_diff(applied, sizeof(applied), "smtps_listen", smtps_changed);
	reload_diff(applied, sizeof(applied), "submission_listen",
	    sub_changed);
	for (d = 0; d < MASTER_LOGINDS; d++) {
		reload_diff(applied, sizeof(applied), m->logind[d].key,
		    lchanged[d][0]);
		reload_diff(applied, sizeof(applied), m->logind[d].tls_key,
		    lchanged[d][1]);
	}
	if (later[0] != '\0')
		log_warnx("reload: %s changed; it takes effect at the next "
		    "start (postern stop; postern start)", later);
	reload_result(m, 1, "reloaded configuration%s%s%s%s%s",
	    applied[0] ? "; new listeners for " : "", applied,
	    later[0] ? "; " : "", later,
	    later[0] ? " takes effect at the next start (postern stop; "
	    "postern start)" : "");
	return;
refused:
	while (bound-- > 0) {
		d = bound / 2;
		t = bound % 2;
		close_unkept(lfds[d][t], logind_list(&nc, d, (int)t)->n,
		    t ? m->logind[d].tls_fds : m->logind[d].fds,
		    t ? m->logind[d].ntls : m->logind[d].n);
	}
	if (stage >= 2) {
		close_unkept(smtps, nc.smtps_listen.n, m->smtps_fds, m->nsmtps);
		close_unkept(sub, nc.submission_listen.n, m->sub_fds, m->nsub);
	}
	if (stage >= 1)
		close_unkept(smtp, nc.smtp_listen.n, m->smtp_fds, m->nsmtp);
	reload_result(m, 0, "reload refused, still running the old "
	    "configuration: %s", err);
	conf_free(&nc);
}
