/*
 * lastlogin.h - a user's last login: one small file in the user's
 * directory (<store>/<domain>/<user>/postern-last-login, beside the
 * Maildir, so no Maildir reader sees it), written by the mail process
 * that the login started and read by "postern user show".
 */
#ifndef POSTERN_LASTLOGIN_H
#define POSTERN_LASTLOGIN_H

#include <stdint.h>

#define LASTLOGIN_FILE	"postern-last-login"

struct lastlogin {
	int64_t	when;		/* unix time */
	char	proto[16];	/* "pop3", later "imap" */
	char	ip[64];		/* the client's address */
};

/*
 * Records a login in the current directory (the mail process's user
 * directory, after its privilege drop): a temporary file renamed over
 * the old one, without fsync -- a timestamp lost in a crash costs
 * nothing. 0, or -1 with errno.
 */
int	lastlogin_write(const char *proto, const char *ip, int64_t when);
/*
 * Reads the record in the user directory dirfd, never through a
 * symbolic link (the directory is the mail user's; the reader may be
 * root), and parses it strictly. 1 found, 0 none, -1 unreadable or
 * malformed (errno).
 */
int	lastlogin_read(int dirfd, struct lastlogin *);
/* The record's text ("1700000000 pop3 192.0.2.1\n"); -1 if it won't fit. */
int	lastlogin_format(const struct lastlogin *, char *out, size_t outsz);
/* Parses exactly what lastlogin_format writes. 0 or -1. */
int	lastlogin_parse(const char *text, size_t len, struct lastlogin *);

#endif
