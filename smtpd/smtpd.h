/*
 * smtpd.h - smtpd's private interfaces: the command parser, the DATA
 * state machine, the session, its backends, the session process and the
 * listener (client I/O is libcommon/netio).
 *
 * Only smtpd's own files and its unit tests include this header.
 */
#ifndef POSTERN_SMTPD_H
#define POSTERN_SMTPD_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "cidr.h"
#include "conf.h"
#include "netio.h"
#include "ipc.h"
#include "qid.h"

/* RFC 5321 4.5.3.1.4: 512 octets including the CRLF. */
#define SMTP_LINE_MAX		512
/*
 * Commands (smtp_cmd.c).
 */
enum smtp_verb {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_VRFY,
	SMTP_CMD_HELP,
	SMTP_CMD_QUIT,
	SMTP_CMD_NUL,		/* the line held a NUL byte */
};

struct smtp_cmd {
	enum smtp_verb	 verb;
	const char	*arg;	/* into the line: what follows the verb, "" if none */
};

/*
 * Splits a command line (without its line end; len bytes, may hold
 * NULs, which give SMTP_CMD_NUL) into verb and argument. The line must
 * be NUL-terminated at line[len].
 */
void	smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *);

enum smtp_body {
	SMTP_BODY_NONE = 0,
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
};

struct smtp_path {
	char		addr[ADDR_MAX + 1];	/* "" for the null sender */
	int		postmaster;		/* RCPT TO:<postmaster> */
	int		has_size;
	uint64_t	size;			/* SIZE=, clamped at UINT64_MAX */
	enum smtp_body	body;
	int		smtputf8;
	char		param[64];		/* the parameter an error names */
};

enum smtp_perr {
	SMTP_PERR_OK = 0,
	SMTP_PERR_SYNTAX,	/* bad path or address: 501 5.1.7 / 5.1.3 */
	SMTP_PERR_PARAM,	/* a parameter we do not know: 555 5.5.4 */
	SMTP_PERR_PARAM_SYNTAX,	/* a known one with a bad value: 501 5.5.4 */
	SMTP_PERR_UTF8,		/* SMTPUTF8 path not UTF-8: 501 5.5.2 */
};

/* arg is what follows "MAIL": "FROM:<path> [params]". */
enum smtp_perr smtp_parse_mail(const char *arg, struct smtp_path *);
/* arg is what follows "RCPT": "TO:<path>"; utf8 from the MAIL command. */
enum smtp_perr smtp_parse_rcpt(const char *arg, int utf8, struct smtp_path *);

/*
 * DATA (smtp_data.c): finds the end of the message, undoes dot stuffing
 * and stores a bare CR as a space, one byte at a time so that chunk
 * boundaries never matter.
 */
enum smtp_data_state {
	SMTP_DATA_BOL = 0,	/* after CRLF (or the 354): a proper line start */
	SMTP_DATA_MID,		/* inside a line, or after a bare LF */
	SMTP_DATA_CR,		/* a CR not yet known to end the line */
	SMTP_DATA_DOT,		/* "." at a proper line start */
	SMTP_DATA_DOT_CR,	/* ".\r" at a proper line start */
	SMTP_DATA_END,		/* "\r\n.\r\n" seen */
};

struct smtp_data {
	enum smtp_data_state state;
	uint64_t	received;	/* message size as RFC 1870 counts it */
	uint64_t	line_max;	/* octets a line may have with its CRLF;
					   0 (smtp_data_init's): no limit */
	uint64_t	linelen;	/* octets of the current line so far */
	int		long_line;	/* some line passed line_max */
	int		nul;		/* a NUL byte was seen */
};

/* Output of one feed is at most its input plus this. */
#define SMTP_DATA_SLACK	2

void	smtp_data_init(struct smtp_data *);
/*
 * Consumes up to len bytes of in, stopping right after the end of data
 * (the bytes after it are the next commands). Writes the bytes to store
 * (LF line ends, unstuffed, a bare CR as a space) to out, which holds
 * len + SMTP_DATA_SLACK; *outlen is how many. Returns the bytes consumed.
 */
size_t	smtp_data_feed(struct smtp_data *, const unsigned char *in, size_t len,
	    unsigned char *out, size_t *outlen);
int	smtp_data_done(const struct smtp_data *);

/* The client connection is libcommon's netio. */


/*
 * The session (smtp_session.c), run in the child that owns one client.
 */
struct smtp_env {
	const struct conf *conf;
	const char	  *confpath;	/* for the session processes; NULL: defaults */
	const struct cidr *mynetworks;
	size_t		   nmynetworks;
};

/* Whether an address is in mynetworks (relay allowed, limits waived). */
int	smtp_in_mynetworks(const struct smtp_env *, const struct sockaddr *);

/* The internal services (smtp_backend.c), each connected lazily. */
struct smtp_backend {
	struct ipc_conn	 conn;
	int		 connected;
	uint32_t	 nextid;
	const char	*path;
};

/* A session process's connections: they serve every session it runs. */
struct smtp_backends {
	struct smtp_backend	queue;
	struct smtp_backend	resolver;
};

void	smtp_backends_init(struct smtp_backends *);
void	smtp_backends_close(struct smtp_backends *);
/*
 * Serves one client on fd until QUIT, error or timeout; closes fd. Returns
 * 1 if the process may serve another client of the same address (once the
 * caller has wiped its stack), 0 if it must exit.
 */
int	smtp_session_run(const struct smtp_env *, struct smtp_backends *,
	    int fd, const struct sockaddr *peer, socklen_t peerlen);
/* What a session process sends its listener when it is ready for more. */
#define SMTP_WORKER_IDLE	'I'
/*
 * The life of a session process (smtp_worker.c): serves fd, then, while
 * smtpd_max_use allows, tells the listener on ctl that it is idle and
 * serves the next connection it hands over. ctl -1: one session only.
 * Never returns.
 */
void	smtp_worker_run(const struct smtp_env *, int fd,
	    const struct sockaddr *peer, socklen_t peerlen, int ctl)
	    __attribute__((__noreturn__));

void	smtp_backend_init(struct smtp_backend *, const char *path);
void	smtp_backend_close(struct smtp_backend *);
/* Drops a kept connection that the other side has closed meanwhile. */
void	smtp_backend_check(struct smtp_backend *);
/*
 * Sends req and waits for the reply with the same id. 0, or -1 with the
 * connection dropped (the next call reconnects).
 */
int	smtp_backend_call(struct smtp_backend *, struct ipc_msg *req,
	    struct ipc_msg *reply);
/* Sends a message that has no reply. */
int	smtp_backend_send(struct smtp_backend *, struct ipc_msg *);

/* The listener process (smtp_server.c). */
int	smtp_server_run(const struct smtp_env *, const int *fds, size_t nfds);

#endif
