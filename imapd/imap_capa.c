/*
 * imap_capa.c - the CAPABILITY list (RFC 3501 7.2.1), the same for the
 * greeting, the CAPABILITY command and the response code of a login, so
 * that what a client is told never differs between them.
 *
 * Pure code: runs in the login and the mail processes, trusts nothing.
 */
#include "imapd.h"

void
imap_capability(struct buf *b, enum imap_cap_state st, int logins,
    int starttls)
{
	(void)buf_puts(b, "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE");
	if (st == IMAP_CAP_PRELOGIN) {
		if (starttls)
			(void)buf_puts(b, " STARTTLS");
		(void)buf_puts(b, logins ? " AUTH=PLAIN" : " LOGINDISABLED");
		return;
	}
	(void)buf_puts(b, " NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN "
	    "SPECIAL-USE LIST-EXTENDED LIST-STATUS CONDSTORE QRESYNC "
	    "ESEARCH WITHIN");
}
