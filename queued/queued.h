/*
 * queued.h - queued's private interfaces: the spool (spool.c), the
 * in-memory schedule (sched.c), submission clients (submit.c) and the
 * local submission policy (inject.c), delivery
 * agents and the resolver client (agents.c), bounces (bounce.c) and the
 * control socket (control.c).
 */
#ifndef POSTERN_QUEUED_H
#define POSTERN_QUEUED_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "conf.h"
#include "envelope.h"
#include "evloop.h"
#include "ipc.h"
#include "peer.h"
#include "proto.h"
#include "heap.h"
#include "qfile.h"

/*
 * A message in the queue. One per queued message, a million of them at
 * scale: flags are bits, and a message that only waits for a retry or
 * a release is parked (park.c): its envelope keeps just the fixed
 * fields below and the rest is read again from the spool when it is
 * needed (doc/DESIGN.md has the memory per deferred message).
 */
struct qmsg {
	TAILQ_ENTRY(qmsg)	 entry;
	struct qmsg		*hnext;		/* msgtab.c's hash chain */
	/*
	 * Parked, env holds id, created, held, requeued and is_bounce; the
	 * rest is NULL or 0 until park_load.
	 */
	struct envelope		 env;
	uint64_t		 size;
	int			 inflight;	/* expansions + jobs outstanding */
	unsigned		 dirty:1;	/* env differs from disk */
	unsigned		 envfile:1;	/* queue/ID.env overrides the
						   embedded one */
	unsigned		 deleted:1;	/* remove once nothing is in
						   flight */
	unsigned		 requeue:1;	/* requeue once nothing is in
						   flight */
	unsigned		 bouncing:1;	/* its bounce's commit in flight */
	unsigned		 parked:1;	/* env's variable part on disk only */
	unsigned		 flushed:1;	/* parked when a flush came (park.c) */
	unsigned		 marker:1;	/* a listing's place in Q->msgs,
						   not a message */
	struct env_wr		*wr;		/* envelope write in flight */
	size_t			 tidx;		/* position in timers.c's heap */
	time_t			 due;		/* its deadline there */
	struct round		*round;		/* the round in flight, or NULL */
};

TAILQ_HEAD(qmsg_list, qmsg);

struct queued {
	struct conf		 conf;
	const char		*confpath;
	struct evloop		*loop;
	struct qmsg_list	 msgs;
	size_t			 nmsgs;
	int			 spoolfd;	/* the spool directory */
	int			 queuefd;	/* spool/queue */
	int			 stopping;
	int			 rounds;	/* messages with a round in flight */
	int			 writes;	/* envelope writes in flight */
	struct spool_scan	*scan;		/* the start-up scan, until done */
};

/*
 * How long a stop waits for the delivery rounds in flight to end (under
 * master's grace before SIGKILL): a round's results are written when it
 * ends, so one cut short would deliver again after the restart.
 */
#define QUEUED_DRAIN_MS	5000

extern struct queued *Q;

/* spool.c: every file operation on the spool. */
/* The queue file format (header, MAC, reader) is libcommon/qfile. */
#define SPOOL_HDR_LEN	QFILE_HDR_LEN
int	spool_open(struct queued *);
/*
 * The start-up scan: lists queue/ at once (names only), then reads the
 * files a batch per loop turn while submissions are served; removes
 * interrupted commits, moves damaged files to corrupt/, loads the rest.
 */
int	spool_scan(struct queued *);
/* A message the scan has listed but not read yet: read now, or NULL. */
struct qmsg *spool_scan_find(const char *qid);
/*
 * Reads a committed message's current envelope (ID.env, else the one
 * embedded in ID, its MAC checked): SPOOL_READ_OK (env filled: env_free
 * it), SPOOL_READ_GONE (not there any more; an interrupted commit is
 * removed), SPOOL_READ_BAD (damaged: moved to corrupt/, logged), or
 * SPOOL_READ_ERROR (could not be read now: out of descriptors, an I/O
 * error; logged).
 */
enum spool_read {
	SPOOL_READ_OK, SPOOL_READ_GONE, SPOOL_READ_BAD, SPOOL_READ_ERROR
};
enum spool_read spool_read(const char *qid, struct envelope *,
	    uint64_t *size, int *has_envfile);
/*
 * Creates queue/ID for a new message, its header marking it uncommitted;
 * returns an O_RDWR fd whose offset is where the message starts.
 */
int	spool_create(char qid[QID_LEN + 1]);
void	spool_discard(const char *qid);
/*
 * Takes back a commit whose client is told 4xx: the header goes back to
 * 0 (fsynced) before the file is removed, so no crash can revive it.
 */
void	spool_uncommit(const char *qid);
/*
 * A commit: begin checks the message's size against the file and appends
 * the envelope, then points the header at it; the caller fsyncs the file
 * and, for a batch, the directory. On failure it removes the file and
 * returns -1 with a reason in why.
 */
int	spool_commit_begin(int fd, struct envelope *, uint64_t size,
	    char *why, size_t whylen);
/* Begin and the file's fsync at once (bounces; group_commit = no). */
int	spool_commit_prepare(int fd, struct envelope *, uint64_t size,
	    char *why, size_t whylen);
/* The shared directory fsync that makes a batch of new files durable. */
int	spool_commit_sync(void);
/*
 * Writes m's envelope to queue/ID.env (replaced atomically: temp file,
 * fsync, rename, fsync of queue/) on a syncer thread, and calls
 * done(m, rc, arg) in the loop once the state m had when this was asked,
 * or a later one, is durable (rc 0) or the write failed (rc -1, logged).
 * One write per message at a time: asked again while one is in flight,
 * the latest state is written once that one ends (older states are never
 * written after newer ones), and answers every request made meanwhile.
 * m must stay in memory until m->wr is NULL again.
 */
typedef void (*spool_env_cb)(struct qmsg *, int rc, void *arg);
void	spool_write_env(struct qmsg *m, spool_env_cb done, void *arg);
/* Removes the message, then its ID.env if it has one. */
void	spool_remove(const char *qid, int envfile);
/* The message's bytes are [SPOOL_HDR_LEN, SPOOL_HDR_LEN + size). */
int	spool_open_message(const char *qid);

/* sched.c: the schedule. */
void	sched_add(struct qmsg *);
struct qmsg *sched_new_msg(struct envelope *, uint64_t size);
/* Frees a message that was never added. */
void	sched_free_msg(struct qmsg *);
/* The message, parked or not, or NULL. */
struct qmsg *sched_find(const char *qid);
/*
 * The message with its envelope read (park_load), or NULL: not in the
 * queue, or unreadable now (logged).
 */
struct qmsg *sched_get(const char *qid);
void	sched_run(struct qmsg *);
/* Every deferred recipient due now; domain non-NULL: only those there. */
void	sched_flush_all(const char *domain);
int	sched_delete(const char *qid);
/*
 * The administrator's operations on one message (postern queue ...);
 * done(arg, rc) (NULL: nobody waits) hears when each is durable (the
 * envelope rewritten off the loop; rc -1: it could not be, logged), and
 * may be called before the function returns.
 * hold: no round starts and nothing expires while held; release:
 * tried at once, the lifetime still counting from arrival; requeue:
 * every recipient not final becomes pending with no tries, the lifetime
 * counts from now, and a hold ends; flush: deferred recipients due now.
 */
typedef void (*sched_done_cb)(void *arg, int rc);
void	sched_hold(struct qmsg *, sched_done_cb, void *);
void	sched_release(struct qmsg *, sched_done_cb, void *);
void	sched_requeue(struct qmsg *, sched_done_cb, void *);
void	sched_flush(struct qmsg *);
/* Results from expansion and delivery, with the recipient they belong to. */
struct rcpt_job;
void	sched_expanded(struct rcpt_job *, const struct r_expansion *);
void	sched_delivered(struct rcpt_job *, size_t target, uint32_t status,
	    const char *text);
void	sched_shutdown(void);

/*
 * One delivery attempt of one envelope recipient: its expansion and the
 * per-target results, gathered until all are in.
 */
struct rcpt_target {
	char		 addr[ADDR_MAX + 1];
	uint32_t	 kind;
	int		 done;
	int		 internal;	/* our failure (agent died), not the rcpt's */
	int		 dispatched;	/* handed to an agent in this round */
	uint32_t	 status;
	char		 text[PROTO_TEXT_MAX];
	char		*mta;		/* remote: the server that answered */
	char		*diag;		/* remote: its reply as sent */
};

struct rcpt_job {
	struct qmsg		*msg;
	char			*addr;		/* the recipient being tried */
	char			*orcpt;		/* before aliases: orig_to=, and
						   what a command runs for */
	int64_t			 active_us;	/* the round began (log delays) */
	size_t			 ntargets;
	size_t			 pending;
	int			 internal;	/* expansion failed on our side */
	struct rcpt_target	*targets;
	uint64_t		 started_ms;
	int			 applied;	/* outcome already in the envelope */
	size_t			 round_index;	/* in its round's jobs */
};

/* agents.c: resolverd and the delivery agents. */
void	agents_init(int deliver_listen_fd);
/* Asks resolverd to expand; answers through sched_expanded. */
void	agents_expand(struct rcpt_job *);
/* Queues a delivery of job->targets[i]; answers through sched_delivered. */
void	agents_deliver(struct rcpt_job *, size_t i);
void	agents_shutdown(void);
/* No local or remote agent is connected (a stop may end). */
int	agents_all_gone(void);
/*
 * What local (agents.c) and remote (relay.c) agents share. agent_hello
 * takes an agent's first frame: 0 when it is D_HELLO for transport,
 * else -1 after logging it as from what and closing p; m is freed
 * either way. agent_close tells an idle agent that this is a stop
 * (D_BYE), then closes it.
 */
int	agent_hello(struct peer *p, struct ipc_msg *m, uint32_t transport,
	    const char *what);
void	agent_close(struct peer *p, int idle);
/*
 * A dispatcher that finishing a job can reach again from inside itself
 * (a bounce, the next round): the inner call only asks for another pass.
 */
struct dispatcher {
	void	(*pass)(void);
	int	  running, again;
};
void	dispatcher_run(struct dispatcher *);

/*
 * relay.c: remote deliveries, per destination. A round adds its remote
 * targets to the round's open jobs (one per next hop, up to
 * destination_recipient_limit recipients) and closes them once every
 * recipient of the round is expanded; answers come through
 * sched_delivered.
 */
struct relay_open;
void	relay_add(struct relay_open **, struct rcpt_job *, size_t target);
void	relay_close(struct relay_open **);
/* A round that ends before it closed its remote jobs (a stop). */
void	relay_discard(struct relay_open **);
/* Forgets that destinations (one domain, or all: NULL) were dead. */
void	relay_revive(const char *domain);
/* relay_listen_fd -1: no remote transport (remote targets defer). */
void	relay_init(int relay_listen_fd);
void	relay_shutdown(void);
int	relay_agents_gone(void);
/* What a remote job carries from the envelope (sched.c). */
void	sched_remote_params(const struct qmsg *, struct d_rjob *);
void	sched_remote_rcpt_params(const struct rcpt_job *, struct d_rrcpt *);
/* The server and reply behind a remote target's outcome, for DSNs. */
void	sched_remote_detail(struct rcpt_job *, size_t target, const char *mta,
	    const char *diag);

/*
 * syncer.c: fsync on helper threads; callbacks run in the loop. Enough
 * threads for the commits of a busy moment to be in flight together.
 */
#define QUEUED_SYNC_THREADS	8
typedef void (*sync_done_cb)(void *arg, int err);
void	syncer_init(int nthreads);
void	syncer_fsync(int fd, sync_done_cb, void *arg);
/*
 * Rewrites and bounces: blocking work on a pool of its own (workq_run's
 * contract), so that a wave of them never delays a commit; 0 or -1.
 */
#define QUEUED_WRITE_THREADS	4
int	syncer_run(void (*work)(void *), void (*done)(void *), void *arg);

/*
 * timers.c: when each waiting message is next due; a heap of messages
 * (O(log n) set, move, clear; no allocation per message) and one loop
 * timer for the nearest. A due message is handed to sched_run.
 */
void	timers_init(void);
/* Sets or moves m's deadline (unix time). */
void	timers_set(struct qmsg *, time_t when);
void	timers_clear(struct qmsg *);
/* The active set has room again: due messages start (next loop turn). */
void	timers_kick(void);
size_t	timers_count(void);
void	timers_shutdown(void);

/*
 * msgtab.c: queue id -> message, for the administrator's operations on a
 * million messages (a chained hash table that doubles as it fills).
 */
void	msgtab_add(struct qmsg *);
void	msgtab_del(struct qmsg *);
struct qmsg *msgtab_find(const char *qid);
void	msgtab_shutdown(void);

/*
 * park.c: a message that only waits (a retry due later, a hold) is
 * parked, its envelope's strings and recipients freed, and read again
 * from the spool when it is needed: when its deadline comes, for an
 * administrator's operation, for a listing. Only a message whose
 * envelope on disk is the one in memory is parked: nothing in flight,
 * no write pending, nothing changed since the last write.
 */
void	park_msg(struct qmsg *);
/*
 * Reads a parked message's envelope back (nothing to do for one that is
 * not): SPOOL_READ_OK; SPOOL_READ_GONE or _BAD: the caller forgets m
 * (logged); SPOOL_READ_ERROR: try again later. A flush that came while m was
 * parked is applied here.
 */
enum spool_read park_load(struct qmsg *);
/*
 * A flush (postern queue flush [-s domain]) of a parked message: marked,
 * its recipients made due (those of domain, or all) when it is loaded.
 */
void	park_flush_mark(struct qmsg *);
/* After the marks: what the marked messages are flushed for. */
void	park_flush_note(const char *domain);
/* m, parked, leaves memory: its mark is dropped. */
void	park_forget(struct qmsg *);
void	park_shutdown(void);

/* submit.c: smtpd and sendmail clients. */
void	submit_init(int submit_fd, int inject_fd);
/* Replies to every commit made durable by the last spool_commit_sync. */
void	submit_commit_batch(void);

/* inject.c: local submissions (sendmail on public/inject.sock). */
/* The login name of uid, or "unknown" (as Postfix says) if it has none. */
void	inject_user_name(uid_t uid, char *out, size_t outsz);
/* authorized_submit_users; root and queued's own uid always may. */
int	inject_authorized(const struct conf *, uid_t uid, const char *user);
/* local_sender_policy; root and queued's own uid may use any sender. */
int	inject_sender_ok(const struct conf *, uid_t uid, const char *user,
	    const char *sender);
/* The Received line queued puts on top of a local submission. */
int	inject_received(const struct conf *, uid_t uid, const char *qid,
	    time_t now, struct buf *out);

/* bounce.c */
/*
 * At the end of a round: queues the one notice msg's results owe (RFC
 * 3464: failures, unless NOTIFY refused them; NOTIFY=SUCCESS deliveries;
 * delay warnings past delay_warning_time; for mail from <>, a notice to
 * the postmaster per double_bounce). 0 when none is owed (failures
 * marked bounced, msg left dirty), -1 if it could not be queued (nothing
 * marked: the next round tries again), 1 when its commit is being made
 * durable: done(msg, rc) then runs in the loop, after what it reported
 * is marked (rc 0: failed becomes bounced, ENV_DSN_SENT_*) or nothing
 * changed (rc -1); msg->bouncing is set meanwhile.
 */
typedef void (*bounce_done_cb)(struct qmsg *, int rc);
int	bounce_failed(struct qmsg *, bounce_done_cb);

/* inject.c: queue_list_users; root and queued's own uid always may. */
int	inject_may_list(const struct conf *, uid_t uid, const char *user);

/* control.c */
void	control_init(int control_fd);
/*
 * Answers a Q_CTL_LIST (also asked on inject.sock, by queue_list_users):
 * a batch of entries per loop turn, more once the client has read what
 * was sent, parked messages read from the spool. Whoever owns p calls
 * control_list_cancel(p) when p closes.
 */
void	control_list(struct peer *, uint32_t id);
void	control_list_cancel(struct peer *);
void	control_shutdown(void);

/* Accepts on a listening socket into cb (peer_listen on our loop). */
#define listener_register(fd, cb, arg) \
	do { if (peer_listen(Q->loop, (fd), (cb), (arg)) == -1) \
		fatal("listen"); } while (0)

#endif
