/*
 * ipc.h - framed messages between Postern processes over Unix stream
 * sockets, with optional file descriptor passing.
 *
 * Wire format: a 16-byte header (type, payload length, request id, flags;
 * host byte order, both ends are on one host) and the payload. A frame
 * whose flags say IPC_F_FD carries exactly one descriptor (SCM_RIGHTS),
 * sent with the frame's first byte.
 *
 * Payload fields are written and read with the typed helpers below. A
 * reader that runs past the end, or finds bytes left over, fails: the
 * caller then drops the peer.
 */
#ifndef POSTERN_IPC_H
#define POSTERN_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define IPC_HDR_LEN		16
#define IPC_MAX_PAYLOAD		(256 * 1024)
#define IPC_F_FD		0x1
#define IPC_MAX_PENDING_FDS	64

struct ipc_msg {
	uint32_t	type;
	uint32_t	id;
	int		fd;	/* -1: none. Owned by the message. */
	struct buf	body;
};

struct ipc_reader {
	const unsigned char *p;
	size_t		 left;
	int		 failed;
};

struct ipc_pending_fd {
	size_t	off;	/* offset in out where its frame starts */
	int	fd;
};

struct ipc_conn {
	int		 fd;
	size_t		 maxlen;	/* largest payload accepted */
	struct buf	 in;
	struct buf	 out;
	int		 rfds[IPC_MAX_PENDING_FDS];
	size_t		 nrfds;
	struct ipc_pending_fd wfds[IPC_MAX_PENDING_FDS];
	size_t		 nwfds;
	int		 eof;
};

/* Building a message. */
void	ipc_msg_init(struct ipc_msg *, uint32_t type, uint32_t id);
/* Closes the message's fd, if any, and frees the body. */
void	ipc_msg_free(struct ipc_msg *);
int	ipc_put_u32(struct ipc_msg *, uint32_t);
int	ipc_put_u64(struct ipc_msg *, uint64_t);
/* A string: u32 length then the bytes, no terminator. NUL bytes refused. */
int	ipc_put_str(struct ipc_msg *, const char *);
int	ipc_put_strn(struct ipc_msg *, const char *, size_t);
/* Opaque bytes (digests, signatures): u32 length then the bytes. */
int	ipc_put_bytes(struct ipc_msg *, const void *, size_t);

/* Reading one. Every getter fails once any earlier one failed. */
void	ipc_reader_init(struct ipc_reader *, const struct ipc_msg *);
int	ipc_get_u32(struct ipc_reader *, uint32_t *);
int	ipc_get_u64(struct ipc_reader *, uint64_t *);
/* Copies into out (NUL-terminated); fails if it does not fit or has NUL. */
int	ipc_get_str(struct ipc_reader *, char *out, size_t outsz);
/* Newly allocated copy, at most max bytes; fails above. */
int	ipc_get_strdup(struct ipc_reader *, char **out, size_t max);
/* Copies at most outsz bytes into out and sets *n; fails above. */
int	ipc_get_bytes(struct ipc_reader *, void *out, size_t outsz,
	    size_t *n);
/* 0 if the whole payload was consumed and nothing failed, else -1. */
int	ipc_reader_end(struct ipc_reader *);

/* Connections (non-blocking use from event loops, or blocking with a deadline). */
void	ipc_conn_init(struct ipc_conn *, int fd, size_t maxlen);
/* Closes the socket and every descriptor still queued. */
void	ipc_conn_close(struct ipc_conn *);
/*
 * Queues a frame; takes ownership of msg->fd (msg->fd becomes -1).
 * The body is copied: the caller still frees msg.
 */
int	ipc_conn_queue(struct ipc_conn *, struct ipc_msg *);
/* Writes what it can: 0 all sent, 1 more pending, -1 error. */
int	ipc_conn_flush(struct ipc_conn *);
/* Reads what is there: 0 ok (check eof), -1 error. */
int	ipc_conn_read(struct ipc_conn *);
/* 1 a frame was taken into msg, 0 need more bytes, -1 malformed stream. */
int	ipc_conn_next(struct ipc_conn *, struct ipc_msg *);

/* Blocking helpers with a deadline in milliseconds (-1: none). */
int	ipc_send_wait(struct ipc_conn *, struct ipc_msg *, int timeout_ms);
/* 0 ok, -1 with errno: ETIMEDOUT, EPIPE (peer closed), EPROTO (bad frame). */
int	ipc_recv_wait(struct ipc_conn *, struct ipc_msg *, int timeout_ms);

#endif
