/*
 * queue_sel.c - which queued messages an administrator's command means:
 * queue ids as typed (either case, mailq's markers), the queue a message
 * is in (active, deferred, hold), and the selectors of "postern queue
 * delete | hold | release | requeue" (state, sender, recipient). Also the
 * JSON string writer of "queue list --json".
 *
 * Pure functions, run in the postern command (and sendmail's -bp). The
 * ids come from the administrator or a pipe: nothing that is not exactly
 * 16 hex digits becomes an id, so no id can name a path outside queue/.
 * Envelopes come from queued or the spool and were parsed by env_parse.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cli.h"
#include "utf8.h"

int
cli_qid_parse(const char *in, char out[QID_LEN + 1])
{
	size_t	len = strlen(in), i;

	if (len == QID_LEN + 1 && (in[QID_LEN] == '*' || in[QID_LEN] == '!'))
		len = QID_LEN;
	if (len != QID_LEN)
		return -1;
	for (i = 0; i < QID_LEN; i++) {
		char c = in[i];

		if (c >= 'a' && c <= 'f')
			c = (char)(c - 'a' + 'A');
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return -1;
		out[i] = c;
	}
	out[QID_LEN] = '\0';
	return 0;
}

enum cli_qstate
cli_queue_state(const struct envelope *e)
{
	size_t i;

	if (e->held)
		return CLI_QS_HOLD;
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].state == RCPT_PENDING)
			return CLI_QS_ACTIVE;
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].state == RCPT_DEFERRED)
			return CLI_QS_DEFERRED;
	/* Every recipient final: its bounce or removal is under way. */
	return CLI_QS_ACTIVE;
}

const char *
cli_queue_state_name(enum cli_qstate s)
{
	switch (s) {
	case CLI_QS_HOLD:
		return "hold";
	case CLI_QS_DEFERRED:
		return "deferred";
	default:
		return "active";
	}
}

int
cli_qsel_is_empty(const struct cli_qsel *s)
{
	return s->states == 0 && s->from == NULL && s->to == NULL;
}

/* addr against a pattern: "<>"/"" the null address, "@dom", or an address. */
static int
qsel_addr_match(const char *pat, const char *addr)
{
	const char *at;

	if (addr == NULL)
		addr = "";
	if (strcmp(pat, "<>") == 0 || pat[0] == '\0')
		return addr[0] == '\0';
	if (pat[0] == '@')
		return (at = strrchr(addr, '@')) != NULL &&
		    strcasecmp(at + 1, pat + 1) == 0;
	return strcasecmp(pat, addr) == 0;
}

int
cli_qsel_match(const struct cli_qsel *s, const struct envelope *e)
{
	size_t i;

	if (s->states != 0 && (s->states & cli_queue_state(e)) == 0)
		return 0;
	if (s->from != NULL && !qsel_addr_match(s->from, e->sender))
		return 0;
	if (s->to == NULL)
		return 1;
	for (i = 0; i < e->nrcpt; i++)
		if (qsel_addr_match(s->to, e->rcpt[i].addr) ||
		    (e->rcpt[i].orcpt != NULL &&
		    qsel_addr_match(s->to, e->rcpt[i].orcpt)))
			return 1;
	return 0;
}

int
cli_json_str(struct buf *b, const char *s)
{
	size_t	len = strlen(s), i;
	/* Text that is not UTF-8 (8-bit bytes) is kept, byte by byte. */
	int	utf8 = utf8_valid(s, len);

	if (buf_puts(b, "\"") == -1)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];
		int		rc;

		if (c == '"' || c == '\\')
			rc = buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
			rc = buf_printf(b, "\\u%04x", c);
		else
			rc = buf_append(b, &s[i], 1);
		if (rc == -1)
			return -1;
	}
	return buf_puts(b, "\"");
}
