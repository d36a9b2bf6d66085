/*
 * deliverd.h - deliverd's private interfaces: the local transport and
 * the pipe transport (alias commands).
 */
#ifndef POSTERN_DELIVERD_H
#define POSTERN_DELIVERD_H

#include <stddef.h>
#include <time.h>

#include "proto.h"

/*
 * Delivers the message in fd (LF line endings; exactly the bytes
 * [j->offset, j->offset + j->size), a shorter file is ST_TEMP) to
 * the Maildir of j->rcpt under store, with Return-Path and Delivered-To
 * prepended. Always fills res: ST_OK, ST_TEMP (retry: nothing was
 * delivered) or ST_PERM (among them "5.4.6 mail forwarding loop" for a
 * message that already has that Delivered-To). On success where holds
 * the new file's path.
 */
void	local_deliver(const char *store, const struct d_job *j, int fd,
	    struct d_result *res, char *where, size_t wheresz);

/*
 * Whether the message's header section already has Delivered-To: mbox
 * (a loop); 0 if not, -1 with res filled in (5.4.6, or a read error).
 */
int	local_loop(int fd, const struct d_job *j, const char *mbox,
	    struct d_result *res);

/* pipe.c: alias commands ("|command"), run by a runner process. */

/* Output of a command kept for its bounce or deferral text. */
#define PIPE_OUTPUT_MAX	1024

struct conf;
struct priv_user;

/*
 * Forks the command runner (as root, before deliverd drops privileges)
 * when allow_alias_commands is on; it drops to default_privs at once.
 */
void	pipe_start(const struct conf *);
/*
 * Runs the command of j (kind R_KIND_COMMAND, rcpt "|command") for the
 * recipient j->orcpt; always fills res. -1 when the runner failed (the
 * result is then ST_TEMP): deliverd should exit to be restarted whole.
 */
int	pipe_deliver(const struct conf *, const struct d_job *j, int fd,
	    struct d_result *res);
/*
 * The user commands run as (default_privs): refused when it is root or
 * mail_user. Fills u and its home directory; -1 with a reason in err.
 */
int	pipe_user(const char *name, const char *mail_user, struct priv_user *u,
	    char *home, size_t homesz, char *err, size_t errlen);
/*
 * What the runner needs of postern.conf, sent with each job (so that a
 * reload reaches it): the time limit and recipient_delimiter's
 * characters (each once) for $EXTENSION and $USER.
 */
#define PIPE_DELIMS	"+-_="
#define PIPE_DELIM_MAX	4
struct pipe_params {
	time_t	limit;
	char	delim[PIPE_DELIM_MAX + 1];
};
/* -1 if recipient_delimiter holds a character conf.c should have refused. */
int	pipe_params_init(struct pipe_params *, const struct conf *);
/*
 * deliverd -> runner: a D_JOB's payload (proto.c), then the delimiters
 * (8 bytes, NUL-padded) and the limit. _dec takes that trailer off m's
 * body, then decodes the job with proto.c's decoder.
 */
struct ipc_msg;
int	pipe_enc_job(struct ipc_msg *, const struct d_job *, int fd,
	    const struct pipe_params *);
int	pipe_dec_job(struct ipc_msg *, struct d_job *, struct pipe_params *);
/* A command's output as one printable line for a DSN text. */
void	pipe_output_text(const char *in, size_t inlen, char *out,
	    size_t outsz);

#endif
