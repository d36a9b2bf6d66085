/*
 * peer.h - a framed-message connection driven by an evloop: reads frames
 * and hands each to a callback, buffers writes, reports the close once.
 */
#ifndef POSTERN_PEER_H
#define POSTERN_PEER_H

#include "evloop.h"
#include "ipc.h"

struct peer;

/* Called for each frame; the callback owns msg (ipc_msg_free it). */
typedef void (*peer_msg_cb)(struct peer *, struct ipc_msg *);
/* Called once when the peer is gone; the peer is freed right after. */
typedef void (*peer_close_cb)(struct peer *);
/* Called when queued output has all been written (see peer_on_drain). */
typedef void (*peer_drain_cb)(struct peer *, void *arg);

struct peer {
	struct ipc_conn	 c;
	struct evloop	*loop;
	peer_msg_cb	 on_msg;
	peer_close_cb	 on_close;
	void		*ctx;
	peer_drain_cb	 on_drain;
	void		*drain_arg;
	int		 closing;
	int		 in_callback;
	int		 dead;
};

struct peer	*peer_new(struct evloop *, int fd, size_t maxlen, peer_msg_cb,
		    peer_close_cb, void *ctx);
/* Queues a frame (takes msg->fd); on failure the peer is closed. */
int		 peer_send(struct peer *, struct ipc_msg *);
/*
 * Asks for cb(p, arg), from the loop, once the output now queued has all
 * been written: for a producer with more to send than should sit in
 * memory at once. Only while output waits (p->c.out.len > 0); one
 * waiter at a time; cb NULL cancels. A close inside cb waits for its
 * return, as inside on_msg.
 */
void		 peer_on_drain(struct peer *, peer_drain_cb cb, void *arg);
/*
 * Closes the peer: on_close runs and the peer is freed, at once, or when
 * the peer's own callback returns if called from inside it.
 */
void		 peer_close(struct peer *);

/* Accepts connections on a listening socket and hands each fd to cb. */
typedef void (*peer_accept_cb)(int fd, void *arg);
int		 peer_listen(struct evloop *, int lfd, peer_accept_cb, void *arg);

#endif
