/*
 * smtp_try.c - drives deliverd's SMTP client (deliverd/smtp_client.c)
 * from the command line, for tests/integration/test_smtp_client.py,
 * which points it at servers it started. Not installed.
 *
 *   smtp-try [-p PORT] [-H HELO] [-8] [-u] [-l LINE_MAX] [-t SECONDS]
 *	[-N NOTIFY_BITS] [-R RET] [-E ENVID] [-O ORCPT]
 *	ADDR HOST SENDER FILE RCPT...
 *
 * -N and -O apply to every recipient (the DSN parameters, RFC 3461).
 *
 * FILE is the message text with LF line ends, as the spool holds it.
 * Prints "attempt done|next", "reason ...", "maybe_sent N" and one
 * "rcpt ADDR ok|temp|perm DSN TEXT" line per recipient.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "remote.h"

int
main(int argc, char **argv)
{
	struct smtp_client_conf conf;
	struct smtp_tx tx;
	struct smtp_rcpt_result *res;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sslen;
	struct stat sb;
	char reason[1024];
	int ch, maybe_sent, fd;
	enum smtp_attempt a;
	size_t i;
	uint32_t notify = 0, *notifies = NULL;
	const char *orcpt = NULL, **orcpts = NULL;

	smtp_client_conf_defaults(&conf);
	memset(&tx, 0, sizeof(tx));
	while ((ch = getopt(argc, argv, "8E:H:l:N:O:p:R:t:u")) != -1) {
		switch (ch) {
		case 'E': tx.envid = optarg; break;
		case 'N': notify = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'O': orcpt = optarg; break;
		case 'R': tx.ret = (uint32_t)atoi(optarg); break;
		case '8': tx.eightbit = 1; break;
		case 'u': tx.smtputf8 = 1; break;
		case 'H':
			strlcpy(conf.helo_name, optarg, sizeof(conf.helo_name));
			break;
		case 'l': conf.line_length_limit = strtoul(optarg, NULL, 10);
			break;
		case 'p': conf.port = (uint16_t)atoi(optarg); break;
		case 't':
			conf.connect_timeout = conf.helo_timeout =
			    conf.mail_timeout = conf.rcpt_timeout =
			    conf.data_init_timeout = conf.data_xfer_timeout =
			    conf.data_done_timeout = conf.quit_timeout =
			    atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 5)
		errx(2, "usage: smtp-try [options] ADDR HOST SENDER FILE RCPT...");
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[0], &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(conf.port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, argv[0], &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(conf.port);
		sslen = sizeof(*sin6);
	} else
		errx(2, "%s: not an address", argv[0]);
	if ((fd = open(argv[3], O_RDONLY)) == -1 || fstat(fd, &sb) == -1)
		err(1, "%s", argv[3]);
	tx.sender = argv[2];
	tx.fd = fd;
	tx.size = (uint64_t)sb.st_size;
	tx.nrcpt = (size_t)argc - 4;
	tx.rcpt = (const char *const *)argv + 4;
	if ((res = calloc(tx.nrcpt, sizeof(*res))) == NULL ||
	    (notifies = calloc(tx.nrcpt, sizeof(*notifies))) == NULL ||
	    (orcpts = calloc(tx.nrcpt, sizeof(*orcpts))) == NULL)
		err(1, "calloc");
	for (i = 0; i < tx.nrcpt; i++) {
		notifies[i] = notify;
		orcpts[i] = orcpt != NULL ? orcpt : "";
	}
	tx.notify = notifies;
	tx.orcpt = orcpts;
	a = smtp_client_try(&conf, argv[1], (struct sockaddr *)&ss, sslen, &tx,
	    res, reason, sizeof(reason), &maybe_sent);
	printf("attempt %s\n", a == SMTP_ATTEMPT_DONE ? "done" : "next");
	printf("reason %s\n", reason);
	printf("maybe_sent %d\n", maybe_sent);
	for (i = 0; a == SMTP_ATTEMPT_DONE && i < tx.nrcpt; i++)
		printf("rcpt %s %s %s %s\n", tx.rcpt[i],
		    res[i].status == ST_OK ? "ok" :
		    res[i].status == ST_PERM ? "perm" : "temp", res[i].dsn,
		    res[i].text);
	free(res);
	free(notifies);
	free(orcpts);
	close(fd);
	return 0;
}
