/*
 * mailbox_name.h - IMAP mailbox names and the Maildir++ folders that
 * hold them, laid out as Dovecot lays them out: INBOX is the Maildir
 * itself, every other mailbox a directory of the Maildir named "." and
 * the name ("Sent" is ".Sent"), the hierarchy separator is "." ("a.b"
 * is ".a.b", a child of "a"), and names are kept in modified UTF-7
 * (RFC 3501 section 5.1.3), the form IMAP4rev1 clients send, so that a
 * folder Dovecot made is found under the same name.
 */
#ifndef POSTERN_MAILBOX_NAME_H
#define POSTERN_MAILBOX_NAME_H

#include <stddef.h>

/*
 * A name in modified UTF-7 is at most this many bytes: "." and the name
 * must make one directory name (NAME_MAX, 255).
 */
#define MAILBOX_NAME_MAX	254
#define MAILBOX_SEP		'.'
#define MUTF7_MAX		1024	/* the longest input mutf7_decode takes */

/*
 * Modified UTF-7 to UTF-8, strictly: only printable ASCII in; "&-" is
 * "&"; a shifted run is modified base64 of UTF-16 ending in "-", in
 * the one shortest spelling (no zero padding bits beyond the last
 * unit, no two runs side by side, no printable ASCII or other
 * character below U+0080 inside a run), surrogates paired. out gets a
 * NUL. 0, or -1: EINVAL malformed, ENAMETOOLONG in longer than
 * MUTF7_MAX or out too small.
 */
int	mutf7_decode(const char *in, size_t len, char *out, size_t outsz);
/*
 * UTF-8 (well formed, without C0 controls or DEL, else EINVAL) to
 * modified UTF-7; as above.
 */
int	mutf7_encode(const char *in, size_t len, char *out, size_t outsz);
/*
 * 1 if name (modified UTF-7, as a client sends it) may name a folder:
 * 1..MAILBOX_NAME_MAX bytes of valid modified UTF-7; no "/" (Maildir++
 * nests with "."), no "*" or "%" (LIST wildcards); components between
 * dots not empty (so no leading or trailing ".", no ".."); no control
 * character, raw or encoded. Whatever passes stays inside the Maildir.
 */
int	mailbox_name_ok(const char *name);
/*
 * The directory of a mailbox, relative to the Maildir: "." for INBOX
 * (any case), ".<name>" for the rest, with a first component "inbox"
 * spelled "INBOX". 0, or -1: EINVAL refused name, ENAMETOOLONG.
 */
int	mailbox_name_to_dir(const char *name, char *out, size_t outsz);
/*
 * The mailbox a directory entry of the Maildir holds: ".Sent" is
 * "Sent"; "." is INBOX. -1 (EINVAL) for anything that is not a folder
 * we could have made (no leading ".", "..", a refused name).
 */
int	mailbox_dir_to_name(const char *dir, char *out, size_t outsz);

#endif
