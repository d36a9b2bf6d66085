/*
 * netio.h - the client connection of a protocol session (SMTP, POP3,
 * IMAP): buffered input with deadlines, the line reader, buffered output.
 */
#ifndef POSTERN_NETIO_H
#define POSTERN_NETIO_H

#include <sys/types.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"

#define NETIO_INBUF	16384

struct netio {
	int		 fd;
	/*
	 * The transport: plain sockets by default; STARTTLS/STLS put a TLS
	 * layer here without the readers above noticing.
	 */
	ssize_t		(*read)(struct netio *, void *, size_t);
	ssize_t		(*write)(struct netio *, const void *, size_t);
	/* Bytes the transport holds already decoded (TLS); NULL: none. */
	size_t		(*pending)(struct netio *);
	void		*ctx;
	/*
	 * What the transport waits for after an EAGAIN, when it is not the
	 * obvious direction (TLS: a read may have to write first); 0: the
	 * obvious one. The transport sets it, io_wait takes and clears it.
	 */
	short		 want;
	int		 secure;	/* the transport is TLS */
	size_t		 inpos;
	size_t		 inlen;
	size_t		 inhigh;	/* in[] bytes ever used: what to wipe */
	struct buf	 out;
	time_t		 timeout;	/* for each flush */
	int		 broken;	/* a write failed: drop the session */
	/*
	 * Last, and never cleared in advance: a session process touches
	 * only the pages its input reaches (each first touch is a fault).
	 */
	unsigned char	 in[NETIO_INBUF];
};

enum netio_status {
	NETIO_OK = 0,
	NETIO_TOOLONG,	/* line over the limit: the rest of it was dropped */
	NETIO_EOF,
	NETIO_TIMEOUT,
	NETIO_ERROR,
};

void	netio_init(struct netio *, int fd, time_t timeout);
/* Frees the output and wipes the input buffer (it may have held a password). */
void	netio_free(struct netio *);
/* Unread bytes already in our buffer, and where they start. */
size_t	netio_buffered(const struct netio *);
const unsigned char *netio_pending(const struct netio *);
/* Puts bytes read by an earlier process in front of the input. */
int	netio_preload(struct netio *, const void *, size_t);
/*
 * Reads more input into the buffer, flushing output first: the client may
 * be waiting for it. Waits at most timeout seconds.
 */
enum netio_status netio_fill(struct netio *, time_t timeout);
/*
 * One line without its CRLF (or bare LF), NUL-terminated in line, which
 * holds linemax bytes; the limit counts the CRLF, as RFC 5321 and 1939 do.
 * *len counts the bytes, NULs included. One deadline for the whole line.
 */
enum netio_status netio_getline(struct netio *, char *line, size_t linemax,
	    size_t *len, time_t timeout);
/*
 * Exactly n bytes into dst (an IMAP literal after its line): what is
 * buffered first, then the transport. One deadline for all n bytes, as
 * for a line; the caller checks n against its limits before calling.
 * dst NULL: the bytes are read and dropped (a refused literal that was
 * already on its way). EOF before the n-th byte is NETIO_EOF.
 */
enum netio_status netio_read(struct netio *, void *dst, size_t n,
	    time_t timeout);
/*
 * Where plaintext stops (STARTTLS, STLS, implicit TLS): flushes what is
 * buffered for the client (the reply that said "go ahead" goes out in
 * plaintext), then DISCARDS every byte the client sent that we have not
 * read yet, and from now on reads and writes through the transport
 * given (libcommon/tls.c). Whatever a client pipelined after the
 * command in plaintext can thus never be taken as sent inside TLS
 * (CVE-2011-0411 and its kind), for every protocol at once. Returns the
 * count of discarded bytes (the caller may log it), or -1 if the flush
 * failed (io->broken).
 */
ssize_t	netio_starttls(struct netio *,
	    ssize_t (*rd)(struct netio *, void *, size_t),
	    ssize_t (*wr)(struct netio *, const void *, size_t),
	    size_t (*pending)(struct netio *), void *ctx);
/* Back to the plain socket (after the TLS layer ended); nothing discarded. */
void	netio_plain(struct netio *);
/* One reply line (cut at 1 KiB: replies are ours). */
int	netio_printf(struct netio *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Raw bytes (message text); flushes as the buffer fills. */
int	netio_write(struct netio *, const void *, size_t);
/* Writes everything buffered; 0, or -1 (and io->broken). */
int	netio_flush(struct netio *);

#endif
