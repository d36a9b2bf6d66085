/*
 * mkqueue.c - writes committed queue files straight into a spool's
 * queue directory, as queued's own commit would (libcommon/qfile header
 * and MAC under the queue's key, the message, the envelope), for the
 * scale test (tests/integration/test_queue_scale.py) and the queue
 * benchmark (tests/bench/queue): a hundred thousand deferred messages
 * in seconds, where SMTP would take minutes. Not installed.
 *
 *   mkqueue QUEUE_DIR COUNT SENDER RECIPIENT [DEFER_SECONDS]
 *
 * Runs as root with the suite stopped. It trusts its arguments; the key
 * must already exist (queued made it at a first start). Each message
 * has one recipient; with DEFER_SECONDS it is written as queued leaves
 * a deferred one (tried once, "4.4.0", due DEFER_SECONDS from now),
 * without, as pending (due at once). Files get the owner of QUEUE_DIR.
 */
#include <sys/stat.h>

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "envelope.h"
#include "fsutil.h"
#include "qfile.h"
#include "qid.h"

static const char body_fmt[] =
    "Received: from bench.test (127.0.0.1)\n"
    "\tby mx.test (Postern) with ESMTP id %s\n"
    "From: <%s>\n"
    "To: <%s>\n"
    "Subject: queued at scale %s\n"
    "Message-ID: <%s@bench.test>\n"
    "\n"
    "A small message, one of many, to a destination that defers.\n";

int
main(int argc, char *argv[])
{
	unsigned char	 key[QFILE_KEY_LEN], mac[QFILE_MAC_LEN];
	char		 qid[QID_LEN + 1], hdr[QFILE_HDR_LEN], text[1024];
	struct qid_gen	 gen;
	struct envelope	 env;
	struct stat	 st;
	struct buf	 b;
	long		 count, i, defer = -1;
	int		 dfd, fd, n;
	time_t		 now = time(NULL);

	if (argc != 5 && argc != 6)
		errx(2, "usage: mkqueue QUEUE_DIR COUNT SENDER RECIPIENT "
		    "[DEFER_SECONDS]");
	if ((count = strtol(argv[2], NULL, 10)) <= 0)
		errx(2, "bad count %s", argv[2]);
	if (argc == 6 && (defer = strtol(argv[5], NULL, 10)) < 0)
		errx(2, "bad delay %s", argv[5]);
	if ((dfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(dfd, &st) == -1)
		err(1, "%s", argv[1]);
	if ((fd = openat(dfd, QFILE_KEY_NAME, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fs_pread_full(fd, key, sizeof(key), 0) != (ssize_t)sizeof(key))
		err(1, "%s/%s (start the suite once first)", argv[1],
		    QFILE_KEY_NAME);
	close(fd);
	/* Ids from a minute ago on: older than any queued makes next. */
	memset(&gen, 0, sizeof(gen));
	buf_init(&b, ENV_MAX_SIZE);
	for (i = 0; i < count; i++) {
		qid_next(&gen, (uint64_t)(now - 60) * 1000000, qid);
		n = snprintf(text, sizeof(text), body_fmt, qid, argv[3],
		    argv[4], qid, qid);
		if (n < 0 || (size_t)n >= sizeof(text))
			errx(1, "addresses too long");
		env_init(&env);
		strlcpy(env.id, qid, sizeof(env.id));
		env.created = now - 60;
		if ((env.sender = strdup(argv[3])) == NULL ||
		    (env.origin = strdup("smtp")) == NULL ||
		    (env.client = strdup("127.0.0.1")) == NULL ||
		    (env.helo = strdup("bench.test")) == NULL ||
		    env_add_rcpt(&env, argv[4], NULL, 0) == -1)
			err(1, "envelope");
		if (defer >= 0) {
			env.rcpt[0].state = RCPT_DEFERRED;
			env.rcpt[0].tries = 1;
			env.rcpt[0].next_try = now + defer;
			if (env_set_reason(&env.rcpt[0], "4.4.0 remote delivery "
			    "is not available yet") == -1)
				err(1, "envelope");
		}
		buf_reset(&b);
		if (env_write(&env, &b) == -1 ||
		    qfile_mac(key, qid, QFILE_HDR_LEN + (uint64_t)n, b.data,
		    b.len, mac) == -1)
			errx(1, "%s: cannot write the envelope", qid);
		qfile_header_format(hdr, QFILE_HDR_LEN + (uint64_t)n, mac);
		if ((fd = openat(dfd, qid, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600)) == -1)
			err(1, "%s/%s", argv[1], qid);
		if (fs_write_all(fd, hdr, sizeof(hdr)) == -1 ||
		    fs_write_all(fd, text, (size_t)n) == -1 ||
		    fs_write_all(fd, b.data, b.len) == -1 ||
		    (geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) == -1) ||
		    close(fd) == -1)
			err(1, "%s/%s", argv[1], qid);
		env_free(&env);
	}
	buf_free(&b);
	explicit_bzero(key, sizeof(key));
	/* One sync for all: the suite is started right after. */
	if (fsync(dfd) == -1)
		err(1, "fsync %s", argv[1]);
	close(dfd);
	return 0;
}
