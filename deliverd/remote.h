/*
 * remote.h - deliverd's SMTP client (the remote transport): reading a
 * server's replies, and one mail transaction with one server.
 *
 * Everything here runs in the remote delivery process, under its own
 * uid (never the mail store's), and trusts nothing a server sends.
 */
#ifndef POSTERN_REMOTE_H
#define POSTERN_REMOTE_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "proto.h"
#include "tls.h"

#define SMTP_REPLY_LINES_MAX	64	/* lines of one reply kept */
#define SMTP_REPLY_TEXT_MAX	1024	/* bytes of reply text kept */
#define SMTP_REPLY_LINE_MAX	2048	/* a longer reply line is an error */

/* smtp_reply.c: pure. */
struct smtp_reply {
	int	 code;		/* 200..599; 0 while none */
	char	 dsn[16];	/* "x.y.z" from the first line, or "" */
	size_t	 nlines;
	/* Each line's text after "NNN[ -]", NUL-separated, cut to fit. */
	char	 text[SMTP_REPLY_TEXT_MAX];
	size_t	 textlen;
	size_t	 line_off[SMTP_REPLY_LINES_MAX];
	int	 done;
};

enum smtp_reply_feed {
	SMTP_REPLY_MORE,	/* a continuation line: read the next */
	SMTP_REPLY_DONE,	/* the last line came */
	SMTP_REPLY_BAD,		/* not an SMTP reply line */
};

void	smtp_reply_init(struct smtp_reply *);
/* One line without its CRLF. */
enum smtp_reply_feed smtp_reply_feed(struct smtp_reply *, const char *line,
	    size_t len);
/* Line i's text (after the code and separator). */
const char *smtp_reply_line(const struct smtp_reply *, size_t i);
/*
 * The reply on one line for logs and DSNs: "550 5.1.1 <a@b>: no such
 * user", continuation lines joined with spaces, control bytes replaced,
 * cut to fit.
 */
void	smtp_reply_str(const struct smtp_reply *, char *, size_t);

/* What an EHLO reply offers. */
struct smtp_ext {
	int	 pipelining;
	int	 eightbitmime;
	int	 smtputf8;
	int	 starttls;
	int	 dsn;
	int	 has_size;
	uint64_t size;		/* 0 with has_size: no fixed limit */
};
void	smtp_ext_parse(const struct smtp_reply *, struct smtp_ext *);

/*
 * The message text as it goes over the wire (RFC 5321 4.5.2 and
 * 4.5.3.1.6): LF becomes CRLF, a line that starts with "." gets one
 * more, a lone CR becomes a space (never a line end: no smuggling
 * payload leaves this host), and a line longer than line_max bytes is
 * broken with CRLF SPACE as Postfix's smtp_line_length_limit does.
 * Stateful across chunks: feed the text in any pieces.
 */
struct smtp_stuffer {
	size_t	 col;		/* bytes of the current line so far */
	size_t	 line_max;	/* 0: no limit */
	int	 broke;		/* a line was broken */
};
void	smtp_stuffer_init(struct smtp_stuffer *, size_t line_max);
/*
 * Converts in[0..len) into out, which must hold 4 * len bytes (a byte
 * becomes at most four: CR LF SPACE and itself); returns the bytes
 * written, or (size_t)-1 if out is too small (nothing written).
 */
size_t	smtp_stuff(struct smtp_stuffer *, const char *in, size_t len,
	    char *out, size_t outsz);
/* The end of the text: CRLF if the last line lacked one, then ".CRLF". */
size_t	smtp_stuff_end(struct smtp_stuffer *, char *out, size_t outsz);

/*
 * smtp_client.c: a session with one server (connect, greeting, EHLO),
 * mail transactions on it (one after another, RSET between), QUIT.
 */
#define SMTP_RESULT_TEXT_MAX	600

struct smtp_client_conf {
	char	 helo_name[256];
	uint16_t port;			/* 25 */
	/* RFC 5321 4.5.3.2's minimums, as Postfix's smtp_*_timeout */
	time_t	 connect_timeout;	/* 30 s */
	time_t	 helo_timeout;		/* greeting and EHLO: 300 s */
	time_t	 mail_timeout;		/* 300 s */
	time_t	 rcpt_timeout;		/* 300 s */
	time_t	 data_init_timeout;	/* 120 s */
	time_t	 data_xfer_timeout;	/* each block of text: 180 s */
	time_t	 data_done_timeout;	/* the reply to ".": 600 s */
	time_t	 quit_timeout;		/* 300 s */
	size_t	 line_length_limit;	/* 998, as smtp_line_length_limit */
	/* Source addresses (smtp_bind_address, _6); family 0: the kernel's. */
	struct sockaddr_storage bind4, bind6;
	struct tls_client *tls;		/* NULL: no STARTTLS at all */
};
void	smtp_client_conf_defaults(struct smtp_client_conf *);

/* One message for one destination. */
struct smtp_tx {
	const char	 *sender;	/* "" for a bounce */
	size_t		  nrcpt;
	const char *const *rcpt;
	int		  fd;		/* the text, LF line ends, at offset */
	uint64_t	  offset;
	uint64_t	  size;
	int		  eightbit;	/* BODY=8BITMIME */
	int		  smtputf8;	/* needs the server's SMTPUTF8 */
	/*
	 * RFC 3461, passed on only to a server that offers DSN: RET and
	 * ENVID (xtext-decoded, "" none); per recipient NOTIFY bits and
	 * ORCPT ("type;addr", xtext-decoded, "" none). NULL arrays: none.
	 */
	uint32_t	  ret;		/* SMTP_RET_* */
	const char	 *envid;
	const uint32_t	 *notify;
	const char *const *orcpt;
};

/* The bits of envelope.h's ENV_NOTIFY_* and ENV_RET_* (and D_RJOB's). */
#define SMTP_NOTIFY_NEVER	0x1
#define SMTP_NOTIFY_SUCCESS	0x2
#define SMTP_NOTIFY_FAILURE	0x4
#define SMTP_NOTIFY_DELAY	0x8
#define SMTP_RET_FULL		1
#define SMTP_RET_HDRS		2

/* RFC 3461 4: xtext of in into out; -1 if it does not fit. */
int	smtp_xtext(const char *in, char *out, size_t outsz);

struct smtp_rcpt_result {
	uint32_t status;		/* ST_OK, ST_TEMP, ST_PERM */
	char	 dsn[16];
	char	 text[SMTP_RESULT_TEXT_MAX];
	/* The server's reply as it came, one line ("" if none): a DSN's
	   Diagnostic-Code. */
	char	 reply[SMTP_RESULT_TEXT_MAX];
};

enum smtp_attempt {
	SMTP_ATTEMPT_DONE,	/* every recipient has this server's answer */
	SMTP_ATTEMPT_NEXT,	/* this server could not be used: reason */
};

/*
 * Offers tx to the server at sa (named host, for the texts). DONE:
 * res[i] holds each recipient's outcome (sent, refused for good, or
 * refused for now). NEXT: nothing was accepted (no connection, a
 * greeting or EHLO that refuses, a lost connection or a timeout before
 * the end of the data); reason says why, in Postfix's words, and
 * *maybe_sent is set when the connection broke after the final "." (the
 * message may arrive twice if tried again).
 */
enum smtp_attempt smtp_client_try(const struct smtp_client_conf *,
	    const char *host, const struct sockaddr *sa, socklen_t salen,
	    const struct smtp_tx *, struct smtp_rcpt_result *res,
	    char *reason, size_t reasonsz, int *maybe_sent);

/*
 * TLS for one session (RFC 3207): what the policy asks (req.level NONE:
 * no STARTTLS) and what came of it. MAY: STARTTLS when offered; a
 * handshake that fails is retried once in plaintext on a new
 * connection (as Postfix does); a refusal (not 220) goes on in
 * plaintext. ENCRYPT, DANE (with records), VERIFY: without TLS, or
 * without the level's check passed, nothing is sent: the open fails
 * with tls_failed set (the caller defers with 4.7.5).
 */
struct smtp_tls {
	struct tls_client_req	req;
	int			used;		/* the session speaks TLS */
	int			tls_failed;	/* required, and not had */
	int			fell_back;	/* MAY: plaintext after a failure */
	char			fail[256];	/* fell_back: the handshake's error */
	struct tls_peer		peer;		/* used: what was negotiated */
};

/*
 * The same in steps, so that one connection can carry several
 * transactions (the connection cache). _open connects, reads the
 * greeting, says EHLO (HELO), and STARTTLS then EHLO again as tls says
 * (NULL: plaintext): NULL with reason when this server cannot be used
 * (the next exchanger's turn). _tx is one transaction,
 * as smtp_client_try's; NEXT leaves the session unusable. _rset
 * readies a session for the next transaction: 0, or -1 (close it).
 * _close says QUIT when quit and the session is still sound.
 */
struct smtp_session;
struct smtp_session *smtp_session_open(const struct smtp_client_conf *,
	    const char *host, const struct sockaddr *sa, socklen_t salen,
	    struct smtp_tls *tls, char *reason, size_t reasonsz);
enum smtp_attempt smtp_session_tx(struct smtp_session *,
	    const struct smtp_tx *, struct smtp_rcpt_result *res,
	    char *reason, size_t reasonsz, int *maybe_sent);
int	smtp_session_rset(struct smtp_session *);
void	smtp_session_close(struct smtp_session *, int quit);
/* "host[addr]", for the log's relay= and the texts. */
const char *smtp_session_peer(const struct smtp_session *);
const char *smtp_session_host(const struct smtp_session *);
/* Whether the session can take another transaction. */
int	smtp_session_usable(const struct smtp_session *);
/* What TLS the session speaks (the connection cache's memory); NULL: none. */
const struct tls_peer *smtp_session_tls(const struct smtp_session *);

/*
 * relay_self.c: pure. Whether an exchanger is this host (RFC 5321 5.1,
 * as Postfix's smtp_addr): its name is myhostname, or its address is
 * one we listen on (smtp_listen; a wildcard listener makes every local
 * interface address ours).
 */
#define RELAY_SELF_MAX	64
struct relay_self {
	char	 myhostname[256];
	size_t	 n;
	struct {
		uint32_t family;	/* 4 or 6, as r_hop */
		uint8_t	 a[16];
	} addr[RELAY_SELF_MAX];
};
/* Adds an address (4 or 16 bytes); -1 when full. */
int	relay_self_add(struct relay_self *, uint32_t family, const void *a);
int	relay_self_is(const struct relay_self *, const struct r_hop *);
/*
 * How many of rt's hops (from the first) may be tried: those preferred
 * over the most preferred exchanger that is this host (Postfix's rule:
 * an MX no better than ourselves is never tried); all when none is.
 * 0 means the mail loops back to us.
 */
size_t	relay_usable_hops(const struct relay_self *, const struct r_route *);

#endif
