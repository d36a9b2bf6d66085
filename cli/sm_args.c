/*
 * sm_args.c - the sendmail command line (cli_core).
 *
 * Runs in sendmail, as the invoking user, unprivileged. Callers are cron,
 * PHP's mail(), Symfony and Laravel (-bs), mutt, scripts: they pass the
 * historical option set, so every option of Postfix's sendmail(1) is
 * handled the way Postfix handles it (implemented, or accepted and
 * ignored where it has no meaning here), while anything unknown is a
 * usage error rather than a silent guess.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "sendmail.h"

/*
 * -N: "never", or a list of success, failure, delay separated by commas
 * (and blanks, as in Postfix's "delay, failure").
 */
static int
sm_notify_opt(struct sm_opts *o, const char *v, char *err, size_t errlen)
{
	char	words[64];
	size_t	n = 0;

	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t')
			continue;
		if (n + 1 >= sizeof(words))
			goto bad;
		words[n++] = *v;
	}
	if (env_notify_parse(words, n, &o->notify) == 0)
		return 0;
bad:
	snprintf(err, errlen, "-N needs \"never\" or a comma list of "
	    "success, failure, delay");
	return -1;
}

/*
 * Options that take a value we have no use for: -A (Am/Ac: submission
 * type), -L (log label), -O, -X (traffic log), -e, -h (hop count:
 * hopcount_limit is the config's), -p (protocol).
 */
#define SM_IGNORED_WITH_ARG	"ALOXehp"
/*
 * Flags accepted and ignored: -G (gateway submission: we rewrite no
 * addresses), -U (initial submission), -c, -m, -v, -x.
 */
#define SM_IGNORED_FLAGS	"GUcmvx"

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
	else if (strcmp(m, "h") == 0 || strcmp(m, "H") == 0)
		o->mode = SM_MODE_NOTHING;	/* no host status database */
	else if (strcmp(m, "d") == 0) {
		snprintf(err, errlen, "-bd (daemon mode) is not how Postern "
		    "starts: use \"postern start\"");
		return -1;
	} else {
		snprintf(err, errlen, "unsupported mode -b%s", m);
		return -1;
	}
	return 0;
}

/* -q, -q30m, -qIqueueid, -qRsite (Postfix's set; -qS is not in it). */
static int
sm_queue_opt(struct sm_opts *o, const char *v, char *err, size_t errlen)
{
	if (*v == '\0')
		o->mode = SM_MODE_FLUSH;
	else if (*v >= '0' && *v <= '9')
		o->mode = SM_MODE_NOTHING;	/* queued keeps its own times */
	else if (*v == 'I' || *v == 'R') {
		if (v[1] == '\0') {
			snprintf(err, errlen, "specify -q%c%s", *v,
			    *v == 'I' ? "queueid" : "site");
			return -1;
		}
		o->mode = SM_MODE_FLUSH;
		o->flush = v + 1;
	} else {
		snprintf(err, errlen, "-q%c is not implemented", *v);
		return -1;
	}
	return 0;
}

static const char *
sm_mode_name(enum sm_mode m)
{
	switch (m) {
	case SM_MODE_SMTP:		return "-bs (SMTP on standard input)";
	case SM_MODE_MAILQ:		return "-bp (list the queue)";
	case SM_MODE_NEWALIASES:	return "-bi (rebuild the aliases)";
	case SM_MODE_FLUSH:		return "-q (flush the queue)";
	case SM_MODE_VERIFY:		return "-bv";
	default:			return "this mode";
	}
}

/* The checks Postfix makes once every option is known. */
static int
sm_args_check(struct sm_opts *o, char *err, size_t errlen)
{
	if (o->extract && o->mode != SM_MODE_DELIVER) {
		snprintf(err, errlen, "-t can be used only in delivery mode");
		return -1;
	}
	switch (o->mode) {
	case SM_MODE_SMTP:
	case SM_MODE_MAILQ:
	case SM_MODE_NEWALIASES:
	case SM_MODE_FLUSH:
		if (o->nrcpt > 0) {
			snprintf(err, errlen, "%s takes no recipient "
			    "(\"%s\")", sm_mode_name(o->mode), o->rcpt[0]);
			return -1;
		}
		break;
	case SM_MODE_VERIFY:
		if (o->nrcpt == 0) {
			snprintf(err, errlen, "-bv needs the addresses to "
			    "verify");
			return -1;
		}
		break;
	case SM_MODE_DELIVER:
	case SM_MODE_NOTHING:
		break;
	}
	return 0;
}

int
sm_args_parse(int argc, char **argv, struct sm_opts *o, char *err,
    size_t errlen)
{
	const char	*a, *val, *base;
	int		 i, opts_done = 0;
	char		 c;

	memset(o, 0, sizeof(*o));
	if (argc < 1)
		argc = 1;
	if ((o->rcpt = calloc((size_t)argc, sizeof(char *))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* "newaliases -bp" lists the queue: options override the name. */
	if (argv[0] != NULL) {
		base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 :
		    argv[0];
		if (strcmp(base, "mailq") == 0)
			o->mode = SM_MODE_MAILQ;
		else if (strcmp(base, "newaliases") == 0)
			o->mode = SM_MODE_NEWALIASES;
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
			if (c == 'I') {
				o->mode = SM_MODE_NEWALIASES;
				continue;
			}
			if (c == 'n') {
				/* Postfix's answer too: aliases always apply. */
				snprintf(err, errlen, "-n (no aliasing) is not "
				    "supported");
				goto fail;
			}
			if (strchr(SM_IGNORED_FLAGS, c) != NULL)
				continue;
			if (c == 'q') {
				/* The value is this word's rest only. */
				if (sm_queue_opt(o, a + 1, err, errlen) == -1)
					goto fail;
				break;
			}
			if (strchr("fFCobBrNRV" SM_IGNORED_WITH_ARG, c) == NULL) {
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
			case 'r':	/* the older spelling of -f */
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
			case 'B':
				/*
				 * RFC 6152's two body types; the queue keeps
				 * 8-bit text as it is either way.
				 */
				if (strcmp(val, "7BIT") == 0)
					o->body = ENV_BODY_7BIT;
				else if (strcmp(val, "8BITMIME") == 0)
					o->body = ENV_BODY_8BITMIME;
				else {
					snprintf(err, errlen, "-B needs 7BIT or "
					    "8BITMIME");
					goto fail;
				}
				break;
			case 'N':
				if (sm_notify_opt(o, val, err, errlen) == -1)
					goto fail;
				break;
			case 'R':
				if (strcasecmp(val, "full") == 0)
					o->ret = ENV_RET_FULL;
				else if (strcasecmp(val, "hdrs") == 0)
					o->ret = ENV_RET_HDRS;
				else {
					snprintf(err, errlen, "-R needs full or "
					    "hdrs");
					goto fail;
				}
				break;
			case 'V':
				/* Plain text here; xtext is SMTP's coding. */
				if (!env_envid_valid(val)) {
					snprintf(err, errlen, "-V needs an "
					    "envelope id of 1 to %d printable "
					    "ASCII characters", ENV_ENVID_MAX);
					goto fail;
				}
				o->envid = val;
				break;
			case 'o':
				/*
				 * -oi is the only -o option that matters here;
				 * -odi, -oem, -om, -o7, -o8, -oA... are
				 * ignored, as Postfix ignores them.
				 */
				if (strcmp(val, "i") == 0)
					o->ignore_dots = 1;
				break;
			default:
				break;
			}
			break;
		}
	}
	if (sm_args_check(o, err, errlen) == -1)
		goto fail;
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
