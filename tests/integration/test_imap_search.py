"""SEARCH and UID SEARCH through the real imapd with imaplib: messages
APPENDed with flags and INTERNALDATEs, then searched by flag, date, size,
header, decoded body, sets, OR/NOT; ESEARCH's RETURN, CONDSTORE's MODSEQ,
and the refusals (BAD for a bad program, NO [BADCHARSET]). Answers from
Dovecot for the same programs are compared in test_dovecot_imap_search.py;
here the session glue is what is proved. Every wait is a polled condition."""
import imaplib
import re
import socket

import pytest

from conftest import wait_until

PASSWORD = "imap search secret"
ALICE = "alice@example.test"

MESSAGES = [
    # (flags, internal date, message)
    ("(\\Seen)", "01-Dec-2026 10:00:00 +0000",
     "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
     "Subject: Lunch tomorrow?\r\nDate: Tue, 01 Dec 2026 10:00:00 +0100\r\n"
     "\r\nShall we meet at noon?\r\n"),
    ("(\\Flagged Work)", "03-Dec-2026 23:30:00 +0000",
     "From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>\r\n"
     "To: team@example.org\r\n"
     "Subject: =?iso-8859-1?Q?Caf=E9_cr=E8me?=\r\n"
     "Date: Thu, 03 Dec 2026 23:30:00 -0800\r\n"
     "Content-Type: text/plain; charset=iso-8859-1\r\n"
     "Content-Transfer-Encoding: quoted-printable\r\n"
     "\r\nLe caf=E9 est pr=EAt, anticonstitution=\r\nnellement.\r\n"),
    ("()", "05-Dec-2026 08:00:00 +0000",
     "From: Frank <frank@example.com>\r\nTo: Grace <grace@example.com>\r\n"
     "Subject: Report\r\nDate: Sat, 05 Dec 2026 08:00:00 +0000\r\n"
     "MIME-Version: 1.0\r\n"
     "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
     "--b\r\nContent-Type: text/plain\r\n\r\nSee the report attached.\r\n"
     "--b\r\nContent-Type: application/octet-stream\r\n"
     "Content-Transfer-Encoding: base64\r\n\r\n"
     "aGlkZGVuLXdvcmQ=\r\n--b--\r\n" + "x" * 2000 + "\r\n"),
]


def imap_greets(suite):
    try:
        with socket.create_connection(("127.0.0.1", suite.imap_port), 1) as s:
            s.settimeout(2)
            return s.recv(512).startswith(b"* OK")
    except OSError:
        return False


@pytest.fixture
def session(suite):
    suite.postern("user", "passwd", ALICE, "--stdin", input=PASSWORD + "\n")
    wait_until(lambda: imap_greets(suite), 20, what="imapd to greet")
    c = imaplib.IMAP4("127.0.0.1", suite.imap_port, timeout=30)
    c.login(ALICE, PASSWORD)
    for flags, date, msg in MESSAGES:
        typ, data = c.append("INBOX", flags, f'"{date}"', msg.encode())
        assert typ == "OK", data
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    try:
        yield c
    finally:
        c.logout()


def search(c, *args, uid=False):
    typ, data = c.uid("SEARCH", *args) if uid else c.search(None, *args)
    assert typ == "OK", data
    return [int(x) for x in data[0].split()] if data[0] else []


def raw(c, line):
    """One command as bytes; its untagged lines and tagged status."""
    tag = c._new_tag()
    c.send(tag + b" " + line + b"\r\n")
    lines = []
    while True:
        ln = c._get_line()
        if ln.startswith(tag + b" "):
            return lines, ln[len(tag) + 1:]
        lines.append(ln)


def test_search_keys_through_imapd(session):
    c = session
    assert search(c, "ALL") == [1, 2, 3]
    assert search(c, "SEEN") == [1]
    assert search(c, "UNSEEN", "UNFLAGGED") == [3]
    assert search(c, "KEYWORD", "Work") == [2]
    assert search(c, "UNKEYWORD", "Nothing") == [1, 2, 3]
    assert search(c, "OR", "SEEN", "FLAGGED") == [1, 2]
    assert search(c, "NOT", "2:*") == [1]
    assert search(c, "LARGER", "2000") == [3]
    # INTERNALDATE's day in the server's zone (the suite runs in UTC).
    assert search(c, "ON", "3-Dec-2026") == [2]
    assert search(c, "SINCE", "4-Dec-2026") == [3]
    # The Date header's day in its own zone: 3 Dec at -0800.
    assert search(c, "SENTON", "3-Dec-2026") == [2]
    assert search(c, "SENTBEFORE", "2-Dec-2026") == [1]
    # Decoded headers and bodies, case-folded.
    assert search(c, "CHARSET", "UTF-8", "FROM",
                  '"J\xc3\x9cRGEN"'.encode("latin-1")) == [2]
    assert search(c, "CHARSET", "UTF-8", "SUBJECT",
                  '"CAF\xc3\x89"'.encode("latin-1")) == [2]
    assert search(c, "BODY", "anticonstitutionnellement") == [2]
    assert search(c, "BODY", "hidden-word") == []
    assert search(c, "TEXT", "grace@example") == [3]
    assert search(c, "HEADER", "Content-Transfer-Encoding", '""') == [2]
    # UID SEARCH answers UIDs, sequence sets stay sequence numbers.
    typ, data = c.fetch("1:*", "(UID)")
    uids = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data]
    assert search(c, "ALL", uid=True) == uids
    assert search(c, "2", uid=True) == [uids[1]]
    assert search(c, "UID", f"{uids[2]}:*", uid=True) == [uids[2]]


def test_header_keys_read_each_file_once(suite, session):
    """A header key reads each message's header from its file once and
    from the index after: with the files made unreadable, the header
    keys still answer, a body key cannot (NO), a message whose header
    was never read cannot either, and a COPY takes the cached headers
    along while an EXPUNGE drops them."""
    c = session
    assert search(c, "FROM", "frank") == [3]
    assert c.append("INBOX", None, None,
                    b"From: Late <late@example.org>\r\n\r\nlate\r\n")[0] \
        == "OK"
    files = [p for d in ("cur", "new")
             for p in (suite.maildir(ALICE) / d).iterdir()]
    assert len(files) == 4
    late = [p for p in files if b"late@" in p.read_bytes()]
    for p in files:
        p.chmod(0)
    try:
        c.select("INBOX")
        # The fourth's header was never read: no header search answers.
        typ, data = c.search(None, "FROM", "late")
        assert typ == "NO" and b"SERVERBUG" in data[0], data
        late[0].chmod(0o600)
        assert search(c, "FROM", "frank") == [3]
        assert search(c, "SUBJECT", "lunch") == [1]
        assert search(c, "SENTON", "5-Dec-2026") == [3]
        typ, data = c.search(None, "BODY", "noon")
        assert typ == "NO" and b"SERVERBUG" in data[0], data
        assert c.create("Copies")[0] == "OK"
        # A file that cannot be read is not "expunged meanwhile": the
        # COPY fails whole, the copies it made are taken back.
        for p in files:
            p.chmod(0o600)
        late[0].chmod(0)		# the last of the four only
        typ, data = c.copy("1:4", "Copies")
        assert typ == "NO", data
        typ, data = c.status("Copies", "(MESSAGES)")
        assert typ == "OK" and b"MESSAGES 0" in data[0], data
        copies = suite.maildir(ALICE) / ".Copies"
        assert not [p for d in ("cur", "new", "tmp")
                    for p in (copies / d).iterdir()]
        late[0].chmod(0o600)
        assert c.copy("1:3", "Copies")[0] == "OK"
        for p in files:		# the copies are links: the same inodes
            p.chmod(0)
        c.select("Copies")
        assert search(c, "FROM", "alice") == [1]
        c.store("1", "+FLAGS", "(\\Deleted)")
        c.expunge()
        assert search(c, "FROM", "frank") == [2]
    finally:
        for p in files:
            p.chmod(0o600)
    c.select("INBOX")
    assert search(c, "FROM", "late") == [4]


def test_esearch_and_modseq(session):
    c = session
    lines, status = raw(c, b"SEARCH RETURN (MIN MAX COUNT ALL) NOT SEEN")
    assert status.startswith(b"OK")
    tag = c.tagnum - 1
    assert lines == [b'* ESEARCH (TAG "' + c.tagpre + str(tag).encode()
                     + b'") MIN 2 MAX 3 COUNT 2 ALL 2:3']
    lines, status = raw(c, b"UID SEARCH RETURN (COUNT) BODY nothing-here")
    assert status.startswith(b"OK")
    assert re.fullmatch(rb'\* ESEARCH \(TAG "[^"]+"\) UID COUNT 0', lines[0])
    # MODSEQ: the highest of the matches (RFC 7162 3.1.5).
    typ, data = c.fetch("1:*", "(MODSEQ)")
    modseqs = [int(re.search(rb"MODSEQ \((\d+)\)", d).group(1))
               for d in data]
    lines, status = raw(c, b"SEARCH MODSEQ 1 1:2")
    assert status.startswith(b"OK")
    assert lines == [b"* SEARCH 1 2 (MODSEQ %d)" % max(modseqs[:2])]
    lines, status = raw(c, b"SEARCH MODSEQ %d" % (max(modseqs) + 1))
    assert lines == [b"* SEARCH"]


def test_search_refusals(session):
    c = session
    lines, status = raw(c, b"SEARCH CHARSET KOI8-R ALL")
    assert status.startswith(b"NO [BADCHARSET (UTF-8 US-ASCII)]")
    assert lines == []
    lines, status = raw(c, b"SEARCH FOO")
    assert status.startswith(b"BAD Unknown search key FOO")
    lines, status = raw(c, b"SEARCH SINCE 1-Foo-2026")
    assert status.startswith(b"BAD SINCE needs a date")
    lines, status = raw(c, b"SEARCH " + b"NOT " * 100 + b"ALL")
    assert status.startswith(b"BAD Search program nested too deeply")
    # The session goes on.
    assert search(c, "ALL") == [1, 2, 3]
    c.unselect()
    lines, status = raw(c, b"SEARCH ALL")
    assert status.startswith(b"BAD No mailbox selected")
