/*
 * imap_reader.c - reads one whole IMAP command: a line, and while the
 * line ends in a literal's announcement, the literal's bytes and the
 * next line (RFC 3501 4.3, 7.5; LITERAL+ / LITERAL-, RFC 7888).
 *
 * Runs in imapd's pre-login and mail processes, never as root; the
 * bytes are the client's, before and after login. Nothing is trusted:
 * every announced size is checked against the limits before a byte of
 * the literal is read or a byte of memory is allocated for it, and the
 * command as a whole is bounded (lines + literals, count of literals).
 *
 * What is refused, and why each way:
 *  - a synchronising literal {N} that is too big: the client waits for
 *    our "+" and sends nothing until then, so a tagged NO [TOOBIG] ends
 *    the command cleanly (RFC 3501 7.5);
 *  - a non-synchronising one {N+} that is too big (or over 4096 bytes
 *    under LITERAL-): its bytes are already coming. RFC 7888 4 lets us
 *    read and discard them or close; we discard up to discard_max bytes
 *    in one command (the rest of the command is read the same way) and
 *    answer BAD [TOOBIG], and close past that;
 *  - a NUL in a line (RFC 3501 has no NUL outside literal8; Dovecot
 *    refuses it too): BAD, after the whole command is consumed;
 *  - an overlong line: netio has dropped its end, so whether it
 *    announced a literal is unknown; the input cannot be followed any
 *    more and the session ends (BYE), as Dovecot does.
 * A bare LF ends a line as CRLF does (netio's rule for every protocol;
 * Dovecot's too): in IMAP a line end can smuggle nothing, since a
 * literal's length is counted, never delimited. A CR elsewhere in a line
 * is the parser's to refuse.
 * The reader never writes to the client itself: the continuation goes
 * through the caller's callback, the answers through its reply.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_reader.h"

/* A slow link still moves 64 KiB a second: the literal's deadline grows. */
#define LITERAL_RATE	(64 * 1024)

void
imap_limits_default(struct imap_limits *lim)
{
	lim->line_max = 64 * 1024;
	lim->literal_max = 64 * 1024 * 1024;
	lim->command_max = 64 * 1024 * 1024 + 256 * 1024;
	lim->literals_max = 100;
	lim->nonsync_max = SIZE_MAX;
	lim->discard_max = 64 * 1024 * 1024;
	lim->timeout = 30 * 60;
}

int
imap_reader_init(struct imap_reader *rd, struct netio *io,
    const struct imap_limits *lim, imap_rd_cont_fn cont, void *arg)
{
	memset(rd, 0, sizeof(*rd));
	if (lim->line_max < 3)
		return -1;
	if ((rd->line = malloc(lim->line_max)) == NULL)
		return -1;
	rd->io = io;
	rd->lim = *lim;
	rd->cont = cont;
	rd->arg = arg;
	return 0;
}

void
imap_reader_free(struct imap_reader *rd)
{
	if (rd->line != NULL)
		explicit_bzero(rd->line, rd->lim.line_max);
	free(rd->line);
	rd->line = NULL;
}

void
imap_cmd_init(struct imap_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
}

static void
cmd_reset(struct imap_cmd *cmd)
{
	if (cmd->buf != NULL)
		explicit_bzero(cmd->buf, cmd->len + 1 < cmd->cap ?
		    cmd->len + 1 : cmd->cap);
	cmd->len = 0;
	cmd->nlit = 0;
}

void
imap_cmd_free(struct imap_cmd *cmd)
{
	cmd_reset(cmd);
	free(cmd->buf);
	free(cmd->lit);
	memset(cmd, 0, sizeof(*cmd));
}

/* Room for n more bytes and the final NUL; the caller checked n. */
static int
cmd_reserve(struct imap_cmd *cmd, size_t n)
{
	size_t	need = cmd->len + n + 1, ncap;
	char	*p;

	if (need <= cmd->cap)
		return 0;
	ncap = cmd->cap < 4096 ? 4096 : cmd->cap;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if ((p = malloc(ncap)) == NULL)
		return -1;
	/* Not realloc: the old copy may hold a password, and must go. */
	if (cmd->buf != NULL) {
		memcpy(p, cmd->buf, cmd->len);
		explicit_bzero(cmd->buf, cmd->cap);
		free(cmd->buf);
	}
	cmd->buf = p;
	cmd->cap = ncap;
	return 0;
}

int
imap_literal_announced(const char *line, size_t len, uint32_t *n,
    int *nonsync)
{
	size_t		i, end;
	uint64_t	v = 0;

	if (len < 3 || line[len - 1] != '}')
		return 0;
	end = len - 1;
	*nonsync = line[end - 1] == '+';
	if (*nonsync)
		end--;
	i = end;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i == end || i == 0 || line[i - 1] != '{' || end - i > 10)
		return 0;
	for (; i < end; i++)
		v = v * 10 + (uint64_t)(line[i] - '0');
	if (v > UINT32_MAX)
		return 0;
	*n = (uint32_t)v;
	return 1;
}

/* The tag to answer with: the first word if it is a valid tag, else "*". */
static void
take_tag(struct imap_reader *rd, const char *line, size_t len)
{
	size_t	i;

	for (i = 0; i < len && line[i] != ' '; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\+", c) != NULL)
			break;
	}
	if (i == 0 || i > IMAP_TAG_MAX || (i < len && line[i] != ' ')) {
		strlcpy(rd->tag, "*", sizeof(rd->tag));
		return;
	}
	memcpy(rd->tag, line, i);
	rd->tag[i] = '\0';
}

static enum imap_rd_status
from_netio(struct imap_reader *rd, enum netio_status st)
{
	switch (st) {
	case NETIO_EOF:
		return IMAP_RD_EOF;
	case NETIO_TIMEOUT:
		return IMAP_RD_TIMEOUT;
	case NETIO_TOOLONG:
		strlcpy(rd->resp, "Command line too long", sizeof(rd->resp));
		return IMAP_RD_CLOSE;
	default:
		strlcpy(rd->resp, "Connection error", sizeof(rd->resp));
		return IMAP_RD_ERROR;
	}
}

static void
refuse(struct imap_reader *rd, int *refused, const char *resp)
{
	if (*refused)
		return;		/* the first reason is the one answered */
	*refused = 1;
	strlcpy(rd->resp, resp, sizeof(rd->resp));
}

enum imap_rd_status
imap_read_command(struct imap_reader *rd, struct imap_cmd *cmd)
{
	const struct imap_limits *lim = &rd->lim;
	enum netio_status st;
	size_t		len, discarded = 0;
	uint32_t	n;
	int		nonsync, first = 1, refused = 0;
	time_t		tmo;

	cmd_reset(cmd);
	strlcpy(rd->tag, "*", sizeof(rd->tag));
	rd->resp[0] = '\0';
	for (;;) {
		st = netio_getline(rd->io, rd->line, lim->line_max, &len,
		    lim->timeout);
		if (st != NETIO_OK)
			return from_netio(rd, st);
		if (first)
			take_tag(rd, rd->line, len);
		first = 0;
		if (memchr(rd->line, '\0', len) != NULL)
			refuse(rd, &refused, "BAD NUL in command line");
		else if (len > lim->command_max - cmd->len)
			refuse(rd, &refused, "BAD Command too long");
		if (!refused) {
			if (cmd_reserve(cmd, len) == -1) {
				strlcpy(rd->resp, "Out of memory",
				    sizeof(rd->resp));
				return IMAP_RD_ERROR;
			}
			memcpy(cmd->buf + cmd->len, rd->line, len);
			cmd->len += len;
		}
		if (!imap_literal_announced(rd->line, len, &n, &nonsync)) {
			if (refused)
				return IMAP_RD_REJECT;
			cmd->buf[cmd->len] = '\0';
			return IMAP_RD_OK;
		}
		if (cmd->nlit >= lim->literals_max)
			refuse(rd, &refused, "BAD Too many literals");
		else if (n > lim->literal_max ||
		    n + 1 > lim->command_max - cmd->len)
			refuse(rd, &refused, nonsync ?
			    "BAD [TOOBIG] Literal too large" :
			    "NO [TOOBIG] Literal too large");
		else if (nonsync && n > lim->nonsync_max)
			refuse(rd, &refused, lim->nonsync_max == 0 ?
			    "BAD Non-synchronizing literal not supported" :
			    "BAD [TOOBIG] Non-synchronizing literal over "
			    "4096 bytes (LITERAL-)");
		tmo = lim->timeout + (time_t)(n / LITERAL_RATE);
		if (refused) {
			/* A synchronising literal never comes: we said no. */
			if (!nonsync)
				return IMAP_RD_REJECT;
			if (n > lim->discard_max - discarded) {
				strlcpy(rd->resp, "[TOOBIG] Literal too large",
				    sizeof(rd->resp));
				return IMAP_RD_CLOSE;
			}
			discarded += n;
			if ((st = netio_read(rd->io, NULL, n, tmo)) != NETIO_OK)
				return from_netio(rd, st);
			continue;
		}
		if (cmd->nlit == cmd->litcap) {
			size_t		 nc = cmd->litcap ? cmd->litcap * 2 : 4;
			struct imap_lit	*l;

			if (nc > lim->literals_max)
				nc = lim->literals_max;
			if ((l = reallocarray(cmd->lit, nc, sizeof(*l))) ==
			    NULL) {
				strlcpy(rd->resp, "Out of memory",
				    sizeof(rd->resp));
				return IMAP_RD_ERROR;
			}
			cmd->lit = l;
			cmd->litcap = nc;
		}
		if (cmd_reserve(cmd, (size_t)n + 1) == -1) {
			strlcpy(rd->resp, "Out of memory", sizeof(rd->resp));
			return IMAP_RD_ERROR;
		}
		if (!nonsync) {
			if (rd->cont != NULL) {
				if (rd->cont(rd->io, n, rd->arg) == -1)
					return IMAP_RD_ERROR;
			} else if (netio_printf(rd->io, "+ OK\r\n") == -1)
				return IMAP_RD_ERROR;
		}
		if ((st = netio_read(rd->io, cmd->buf + cmd->len, n, tmo)) !=
		    NETIO_OK)
			return from_netio(rd, st);
		cmd->lit[cmd->nlit].off = cmd->len;
		cmd->lit[cmd->nlit].len = n;
		cmd->nlit++;
		cmd->len += n;
		cmd->buf[cmd->len++] = '\0';
	}
}
