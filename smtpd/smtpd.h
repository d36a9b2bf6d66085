/*
 * smtpd.h - smtpd's private interfaces: the command parser, the DATA
 * state machine, the client I/O layer, the session and the listener.
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
#include "ipc.h"
#include "qid.h"

/* RFC 5321 4.5.3.1.4: 512 octets including the CRLF. */
#define SMTP_LINE_MAX		512
/* RFC 5321 4.5.3.1.6: 1000 octets including the CRLF. */
#define SMTP_TEXT_LINE_MAX	1000

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
};

/* arg is what follows "MAIL": "FROM:<path> [params]". */
enum smtp_perr smtp_parse_mail(const char *arg, struct smtp_path *);
/* arg is what follows "RCPT": "TO:<path>"; utf8 from the MAIL command. */
enum smtp_perr smtp_parse_rcpt(const char *arg, int utf8, struct smtp_path *);

/*
 * DATA (smtp_data.c): finds the end of the message and undoes dot
 * stuffing, one byte at a time so that chunk boundaries never matter.
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
	size_t		linelen;	/* octets of the current line so far */
	int		long_line;	/* some line passed SMTP_TEXT_LINE_MAX */
	int		nul;		/* a NUL byte was seen */
};

/* Output of one feed is at most its input plus this. */
#define SMTP_DATA_SLACK	2

void	smtp_data_init(struct smtp_data *);
/*
 * Consumes up to len bytes of in, stopping right after the end of data
 * (the bytes after it are the next commands). Writes the bytes to store
 * (LF line ends, unstuffed) to out, which holds len + SMTP_DATA_SLACK;
 * *outlen is how many. Returns the bytes consumed.
 */
size_t	smtp_data_feed(struct smtp_data *, const unsigned char *in, size_t len,
	    unsigned char *out, size_t *outlen);
int	smtp_data_done(const struct smtp_data *);

/*
 * Client I/O (smtp_io.c): buffered, with a deadline on every wait. The
 * transport is behind two function pointers so that TLS can replace it.
 */
#define SMTP_IO_INBUF	16384

struct smtp_io {
	int		 fd;
	ssize_t		(*read)(struct smtp_io *, void *, size_t);
	ssize_t		(*write)(struct smtp_io *, const void *, size_t);
	/* Bytes the transport holds already decoded (TLS); NULL: none. */
	size_t		(*pending)(struct smtp_io *);
	void		*ctx;
	unsigned char	 in[SMTP_IO_INBUF];
	size_t		 inpos;
	size_t		 inlen;
	struct buf	 out;
	time_t		 write_timeout;
	int		 broken;	/* a write failed: drop the session */
};

enum smtp_io_status {
	SMTP_IO_OK = 0,
	SMTP_IO_TOOLONG,	/* line over SMTP_LINE_MAX: the rest was dropped */
	SMTP_IO_EOF,
	SMTP_IO_TIMEOUT,
	SMTP_IO_ERROR,
};

void	smtp_io_init(struct smtp_io *, int fd, time_t write_timeout);
void	smtp_io_free(struct smtp_io *);
/* Unread bytes already in our buffer. */
size_t	smtp_io_buffered(const struct smtp_io *);
/*
 * Reads more input into the buffer, flushing replies first: the client
 * may be waiting for them. Waits at most timeout seconds.
 */
enum smtp_io_status smtp_io_fill(struct smtp_io *, time_t timeout);
/*
 * One command line without its CRLF (or bare LF), NUL-terminated in
 * line (SMTP_LINE_MAX bytes); *len counts the bytes, NULs included.
 */
enum smtp_io_status smtp_io_getline(struct smtp_io *, char *line, size_t *len,
	    time_t timeout);
int	smtp_io_printf(struct smtp_io *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Writes all buffered replies; 0 or -1 (and io->broken). */
int	smtp_io_flush(struct smtp_io *);

/*
 * The session (smtp_session.c), run in the child that owns one client.
 */
struct smtp_env {
	const struct conf *conf;
	const struct cidr *mynetworks;
	size_t		   nmynetworks;
};

/* Serves one client on fd until QUIT, error or timeout; closes fd. */
void	smtp_session_run(const struct smtp_env *, int fd,
	    const struct sockaddr *peer, socklen_t peerlen);

/* The internal services (smtp_backend.c), each connected lazily. */
struct smtp_backend {
	struct ipc_conn	 conn;
	int		 connected;
	uint32_t	 nextid;
	const char	*path;
};

void	smtp_backend_init(struct smtp_backend *, const char *path);
void	smtp_backend_close(struct smtp_backend *);
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
