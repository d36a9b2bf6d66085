/*
 * sm_args.c - the sendmail command line (cli_core).
 *
 * Runs in sendmail, as the invoking user, unprivileged. Callers are cron,
 * PHP's mail(), mutt, scripts: they pass the historical option set, so
 * every option of Sendmail and Postfix that they use is accepted and the
 * ones that do not apply are ignored, while anything unknown is a usage
 * error rather than a silent guess.
 */
#include <stdlib.h>
#include <string.h>

#include "sendmail.h"

/* Options that take a value we have no use for. */
#define SM_IGNORED_WITH_ARG	"BNRVLXhO"
/* Flags we accept and ignore: verbose, no aliasing, and -U. */
#define SM_IGNORED_FLAGS	"vnmU"

static int
sm_mode_set(struct sm_opts *o, const char *m, char *err, size_t errlen)
{
	if (strcmp(m, "m") == 0)
		o->mode = SM_MODE_DELIVER;
	else if (strcmp(m, "s") == 0)
		o->mode = SM_MODE_SMTP;
	else if (strcmp(m, "p") == 0)
		o->mode = SM_MODE_MAILQ;
	else if (strcmp(m, "i") == 0)
		o->mode = SM_MODE_NEWALIASES;
	else if (strcmp(m, "v") == 0)
		o->mode = SM_MODE_VERIFY;
	else {
		snprintf(err, errlen, "unsupported mode -b%s", m);
		return -1;
	}
	return 0;
}

int
sm_args_parse(int argc, char **argv, struct sm_opts *o, char *err,
    size_t errlen)
{
	const char	*a, *val;
	int		 i, opts_done = 0;
	char		 c;

	memset(o, 0, sizeof(*o));
	if (argc < 1)
		argc = 1;
	if ((o->rcpt = calloc((size_t)argc, sizeof(char *))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (opts_done || a[0] != '-' || a[1] == '\0') {
			o->rcpt[o->nrcpt++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			opts_done = 1;
			continue;
		}
		/* A cluster such as -ti, or -fuser / -f user. */
		for (a++; *a != '\0'; a++) {
			c = *a;
			if (c == 't') {
				o->extract = 1;
				continue;
			}
			if (c == 'i') {
				o->ignore_dots = 1;
				continue;
			}
			if (strchr(SM_IGNORED_FLAGS, c) != NULL)
				continue;
			if (c == 'q') {
				/* -q, -q30m, -qIid...: a queue run request. */
				o->mode = SM_MODE_QUEUE_RUN;
				break;
			}
			if (strchr("fFCob" SM_IGNORED_WITH_ARG, c) == NULL) {
				snprintf(err, errlen, "unknown option -%c", c);
				goto fail;
			}
			/* The value is the rest of this word, or the next one. */
			if (a[1] != '\0')
				val = a + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				snprintf(err, errlen, "option -%c needs a "
				    "value", c);
				goto fail;
			}
			switch (c) {
			case 'f':
				o->sender = val;
				break;
			case 'F':
				o->fullname = val;
				break;
			case 'C':
				o->config = val;
				break;
			case 'b':
				if (sm_mode_set(o, val, err, errlen) == -1)
					goto fail;
				break;
			case 'o':
				/* -oi is the only -o option that matters here. */
				if (strcmp(val, "i") == 0)
					o->ignore_dots = 1;
				break;
			default:
				break;
			}
			break;
		}
	}
	return 0;
fail:
	sm_args_free(o);
	return -1;
}

void
sm_args_free(struct sm_opts *o)
{
	free(o->rcpt);
	o->rcpt = NULL;
	o->nrcpt = 0;
}
