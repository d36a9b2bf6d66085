/*
 * cli.h - the postern command and the helpers it shares with sendmail.
 */
#ifndef POSTERN_CLI_H
#define POSTERN_CLI_H

#include <sys/types.h>
#include <stddef.h>
#include <sysexits.h>

#include "conf.h"
#include "envelope.h"
#include "qfile.h"

#ifndef POSTERN_SYSCONFDIR
#define POSTERN_SYSCONFDIR "/etc/postern"
#endif
#define POSTERN_SYSCONFDIR_TEXT	POSTERN_SYSCONFDIR "/postern.conf"
#ifndef POSTERN_SBINDIR
#define POSTERN_SBINDIR "/usr/local/sbin"
#endif

struct cli {
	const char	*prog;		/* "postern", for messages */
	const char	*confpath;	/* NULL: built-in defaults */
	struct conf	 conf;
};

/*
 * Which config file to use: explicit (-c / -C) if given, else
 * $POSTERN_CONFIG, else the installed postern.conf if it exists, else
 * NULL for the built-in defaults.
 */
const char *cli_config_path(const char *explicit);
/*
 * Connects to dir/name without putting the whole path in sun_path
 * (108 bytes): chdir into dir, connect to the relative name, chdir back.
 * -1 with errno on failure.
 */
int	cli_connect(const char *dir, const char *name);
/*
 * The path of the program name installed beside this one (postern and
 * sendmail share a directory, sbindir or the build tree's bin/): the
 * directory of /proc/self/exe, else POSTERN_SBINDIR. 0, or -1 when it
 * does not fit.
 */
int	cli_sibling_path(const char *name, char *out, size_t outsz);
/* Reads a pid file; 0 and *pid, or -1 (errno ENOENT: none, EINVAL: junk). */
int	cli_read_pid(const char *path, pid_t *pid);

/* The postern commands; each returns the process exit status. */
int	cli_cmd_check(struct cli *, int argc, char **argv);
int	cli_cmd_config(struct cli *, int argc, char **argv);
int	cli_cmd_start(struct cli *, int argc, char **argv);
int	cli_cmd_stop(struct cli *, int argc, char **argv);
int	cli_cmd_reload(struct cli *, int argc, char **argv);
int	cli_cmd_log(struct cli *, int argc, char **argv);
int	cli_cmd_status(struct cli *, int argc, char **argv);
int	cli_cmd_queue(struct cli *, int argc, char **argv);
int	cli_cmd_user(struct cli *, int argc, char **argv);
int	cli_cmd_alias(struct cli *, int argc, char **argv);
int	cli_cmd_setup(struct cli *, int argc, char **argv);
int	cli_cmd_demo(struct cli *, int argc, char **argv);
/*
 * postern setup's TLS step (setup_tls.c): a self-signed certificate and
 * key where tls_cert_file and tls_key_file name files that do not exist;
 * with fresh (setup wrote the config just now) and no certificate
 * configured, in <config dir>/tls/, and the config is set to them.
 */
int	cli_setup_tls(struct cli *, int fresh);
/* postern setup --sendmail-link [--force] [--root DIR] (setup_link.c). */
int	cli_setup_sendmail_link(struct cli *, int argc, char **argv);
int	cli_cmd_address(struct cli *, int argc, char **argv);
/*
 * postern check's address checks (cmd_address.c): postmaster@ and
 * abuse@ of every local domain, and every alias, expanded as delivery
 * does; adds to the counts.
 */
void	cli_check_addresses(struct cli *, int *errors, int *warnings);
int	cli_cmd_auth(struct cli *, int argc, char **argv);

/*
 * The user maps (usermap.c): users.db (existence and the lock flag) and
 * passwd.db (the hashes, authd's alone), rebuilt together: without skip
 * and with add -> hash (both may be NULL, or the same key to replace
 * it); *skipped says whether skip was in users.db. usermap_hash reads a
 * user's passwd.db value (1 found, 0 not, -1 after saying why); the
 * caller wipes it. usermap_migrate moves hashes from an old users.db.
 */
int	cli_usermap_path(struct cli *, const char *name, char *out,
	    size_t outsz);
int	cli_usermap_rebuild(struct cli *, const char *skip, const char *add,
	    const char *hash, int *skipped);
int	cli_usermap_hash(struct cli *, const char *key, char *val,
	    size_t valsz);
int	cli_usermap_migrate(struct cli *);
/* Locks the user maps for the process's life and migrates them: an fd. */
int	cli_usermap_lock(struct cli *);
int	cli_cmd_who(struct cli *, int argc, char **argv);

/*
 * The queue listing (queue_list.c, in cli_core so sendmail's -bp and
 * mailq use it too): what "postern queue list [--json]" prints, from
 * queued when it runs (control.sock as root, else inject.sock, which
 * answers queue_list_users), else read from the spool (root only). The
 * exit status.
 */
int	cli_queue_list(struct cli *, int json);

/* One queued message as the listing has it. */
struct cli_qentry {
	struct envelope	env;
	uint64_t	size;
};

struct cli_qlist {
	size_t			 n;
	size_t			 cap;	/* v's room, grown by doubling */
	struct cli_qentry	*v;	/* sorted by queue id: arrival order */
	int			 offline;	/* read from the spool */
};

/*
 * Fetches the listing into l (cli_qlist_free it). offline_ok: read the
 * spool when queued cannot be reached. 0, or an exit status after
 * telling the user why.
 */
int	cli_queue_fetch(struct cli *, struct cli_qlist *l, int offline_ok);
void	cli_qlist_free(struct cli_qlist *);
/*
 * Reads queued's MAC key from the queue directory into key: 1, or 0
 * when it cannot (not root; then queue files are read unchecked). The
 * caller wipes key.
 */
int	cli_queue_key(int qdirfd, unsigned char key[QFILE_KEY_LEN]);
/* Connects to queued's control socket (root's); an exit status or 0. */
struct ipc_conn;
int	cli_queue_connect(struct cli *, struct ipc_conn *, int quiet);

/* queue_sel.c: pure logic for choosing queued messages (unit-tested). */
/*
 * A queue id as typed: upper or lower case, one trailing mailq marker
 * ('*' active, '!' held) allowed. 0 and the canonical id, or -1 for
 * anything else (a path separator, a wrong length, a non-hex digit).
 */
int	cli_qid_parse(const char *in, char out[QID_LEN + 1]);

/* A message's queue, as Postfix names its queues. */
enum cli_qstate {
	CLI_QS_ACTIVE = 1,	/* recipients pending: being delivered */
	CLI_QS_DEFERRED = 2,	/* waiting for a retry */
	CLI_QS_HOLD = 4,	/* on hold */
};
enum cli_qstate cli_queue_state(const struct envelope *);
const char *cli_queue_state_name(enum cli_qstate);

/*
 * What "queue delete/hold/release/requeue" choose by: states (an OR of
 * cli_qstate, 0 for any), the sender and a recipient ("<>" or "" for
 * the null sender; "@domain" for any address there; else one address,
 * without case). NULL: any.
 */
struct cli_qsel {
	unsigned	 states;
	const char	*from;
	const char	*to;
};
int	cli_qsel_is_empty(const struct cli_qsel *);
int	cli_qsel_match(const struct cli_qsel *, const struct envelope *);

/* JSON string (quoted) of s, appended to b: 0 or -1. */
int	cli_json_str(struct buf *b, const char *s);

/* The shipped postern.conf and aliases (setup_files.c, generated). */
extern const unsigned char *const cli_default_conf;
extern const size_t cli_default_conf_len;
extern const unsigned char *const cli_default_aliases;
extern const size_t cli_default_aliases_len;

/*
 * Runs every check of postern check (libcommon/confcheck) on cf, printing
 * errors and warnings; -1 when there was an error.
 */
int	cli_check_conf(struct cli *, const struct conf *cf);
/* Runs aliases_compile and reports the result; the exit status. */
int	cli_build_aliases(struct cli *);
/*
 * Reads a new password into out (room for PASSWD_LEN_MAX + 1): one line
 * from standard input, or asked twice on the terminal with echo off.
 * Refuses an empty or overlong one. 0, or -1 after telling the user why.
 * The caller wipes out (explicit_bzero) when done with it.
 */
int	cli_password_read(struct cli *, int from_stdin, char *out,
	    size_t outsz);
/* A password to check (auth test): asked once; otherwise the same. */
int	cli_password_ask(struct cli *, int from_stdin, char *out,
	    size_t outsz);
/* Prints to stderr as "postern: ..." */
void	cli_err(struct cli *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	cli_warn(struct cli *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
