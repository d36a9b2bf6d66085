"""What real senders and clients put into smtpd, and what must come out:
long message lines, MAIL without HELO, bare CR in message text (stored
and served by POP3), and malformed UTF-8 in SMTPUTF8 addresses. Every
answer is checked on the wire (reply and enhanced status code) and on
disk (what the Maildir file holds, or that nothing was queued)."""
import os
import poplib
import smtplib
import socket

import pytest

from conftest import wait_until
from test_smtp_hostile import Client, assert_nothing_queued, body_of


def assert_reply(reply, code, enhanced=None):
    assert reply[0] == code, reply
    if enhanced is not None:
        assert reply[1][-1].startswith(enhanced.encode() + b" "), reply


# -- malformed UTF-8 in SMTPUTF8 addresses ------------------------------------

BAD_UTF8 = [
    b"\xff\xfe",            # bytes that never occur in UTF-8
    b"\xc0\xaf",            # overlong "/"
    b"\xc1\x80",            # overlong "@"
    b"\xe0\x80\xae",        # overlong "." in three bytes
    b"\xed\xa0\x80",        # an encoded surrogate (U+D800)
    b"\xc3",                # a sequence cut short
    b"\xf0\x9f\x93",        # a four-byte sequence cut short
    b"\xf4\x90\x80\x80",    # U+110000, above U+10FFFF
    b"\xf5\x80\x80\x80",    # a lead byte only past U+10FFFF uses
]


@pytest.mark.parametrize("bad", BAD_UTF8, ids=[b.hex() for b in BAD_UTF8])
def test_malformed_utf8_address_is_refused_with_smtputf8(suite, bad):
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        # In the sender, with SMTPUTF8: a syntax error, 501 5.5.2.
        assert_reply(c.cmd(b"MAIL FROM:<j" + bad + b"rg@remote.test> "
                           b"SMTPUTF8"), 501, "5.5.2")
        assert_reply(c.cmd(b"MAIL FROM:<a@r" + bad + b".test> SMTPUTF8"),
                     501, "5.5.2")
        # In a recipient of an SMTPUTF8 transaction: the same.
        assert_reply(c.cmd("MAIL FROM:<j\u00f6rg@remote.test> SMTPUTF8"),
                     250, "2.1.0")
        assert_reply(c.cmd(b"RCPT TO:<" + bad + b"@example.test>"), 501,
                     "5.5.2")
        assert_reply(c.cmd(b'RCPT TO:<"x' + bad + b'"@example.test>'), 501,
                     "5.5.2")
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250, "2.1.5")
        assert_reply(c.cmd("RSET"), 250)
        # Without SMTPUTF8 any 8-bit byte is bad address syntax, as before.
        assert_reply(c.cmd(b"MAIL FROM:<j" + bad + b"rg@remote.test>"), 501,
                     "5.1.7")
        assert_reply(c.cmd(b"MAIL FROM:<j\xc3\xb6rg@remote.test>"), 501,
                     "5.1.7")
        assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250)
        assert_reply(c.cmd(b"RCPT TO:<" + bad + b"@example.test>"), 501,
                     "5.1.3")
        assert_reply(c.cmd("QUIT"), 221)
    assert "bad UTF-8 in MAIL from unknown[127.0.0.1]" in suite.log_text()
    assert suite.queue_files() == []


def test_well_formed_utf8_edges_are_accepted(suite):
    """The neighbours of the refused sequences still pass: U+10FFFF,
    U+D7FF and U+E000 around the surrogates, a four-byte emoji."""
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        for addr in (b"\xf4\x8f\xbf\xbf@remote.test",
                     b"\xed\x9f\xbf\xee\x80\x80@remote.test",
                     b"x\xf0\x9f\x93\xa7@b\xc3\xbccher.test"):
            assert_reply(c.cmd(b"MAIL FROM:<" + addr + b"> SMTPUTF8"), 250,
                         "2.1.0")
            assert_reply(c.cmd("RSET"), 250)


# -- long message lines --------------------------------------------------------

def long_line(n, seed):
    """n printable octets that differ along the line, so that a lost or
    repeated piece cannot go unnoticed."""
    pattern = bytes(33 + (seed + i * 7) % 94 for i in range(997))
    return (pattern * (n // len(pattern) + 1))[:n].replace(b".", b"-")


def test_long_lines_are_accepted_and_stored_byte_exact(suite):
    """Postfix's default: lines of any length (web applications send
    them every day). A 10,000- and a 900,000-octet line arrive
    unchanged, as the Maildir file shows."""
    ten_k, big = long_line(10000, 1), long_line(900000, 2)
    msg = (b"Subject: long lines\r\nX-Long: " + long_line(5000, 3) +
           b"\r\n\r\nbefore\r\n" + ten_k + b"\r\nmiddle\r\n" + big +
           b"\r\nafter\r\n")
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=60) as s:
        assert s.sendmail("a@remote.test", ["alice@example.test"], msg) == {}
    [m] = suite.wait_messages("alice@example.test", 1)
    assert body_of(m) == msg.replace(b"\r\n", b"\n")
    suite.wait_queue_empty()


def test_configured_line_limit_refuses_after_the_data_and_keeps_nothing(
        suite_factory):
    s = suite_factory("smtpd_max_line_length = 20000\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    at_limit = long_line(19998, 4)      # + CRLF: exactly the limit
    over = long_line(19999, 5)
    with Client(s.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        for text, code, enh in ((over, 554, "5.6.0"), (at_limit, 250, "2.0.0")):
            assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250)
            assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250)
            assert_reply(c.cmd("DATA"), 354)
            c.send(b"Subject: limit\r\n\r\nfirst\r\n" + text +
                   b"\r\nlast\r\n.\r\n")
            reply = c.reply()
            assert_reply(reply, code, enh)
            if code == 554:
                assert b"longer than 20000 octets" in reply[1][-1]
                assert_nothing_queued(s)
        assert_reply(c.cmd("QUIT"), 221)
    [m] = s.wait_messages("alice@example.test", 1)
    assert body_of(m) == b"Subject: limit\n\nfirst\n" + at_limit + b"\nlast\n"
    s.wait_queue_empty()
    assert len(s.messages("alice@example.test")) == 1
    assert "message line longer than 20000 octets from unknown[127.0.0.1]" in \
        s.log_text()


# -- MAIL before HELO/EHLO -----------------------------------------------------

def test_mail_without_helo_is_accepted_by_default(suite):
    """Postfix's smtpd_helo_required = no: monitoring probes and simple
    scripts go straight to MAIL."""
    with Client(suite.port) as c:
        assert_reply(c.cmd("MAIL FROM:<probe@remote.test>"), 250, "2.1.0")
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250, "2.1.5")
        assert_reply(c.cmd("DATA"), 354)
        c.send(b"Subject: no helo\r\n\r\nprobe\r\n.\r\n")
        assert_reply(c.reply(), 250, "2.0.0")
        assert_reply(c.cmd("QUIT"), 221)
    [m] = suite.wait_messages("alice@example.test", 1)
    data = m.read_bytes()
    # The client's address stands where its HELO name would be.
    assert b"Received: from [127.0.0.1] ([127.0.0.1])\n" in data
    assert b"with SMTP id" in data
    assert body_of(m) == b"Subject: no helo\n\nprobe\n"


def test_helo_required_refuses_mail_before_helo(suite_factory):
    s = suite_factory("smtpd_helo_required = yes\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    with Client(s.port) as c:
        assert_reply(c.cmd("MAIL FROM:<probe@remote.test>"), 503, "5.5.1")
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 503, "5.5.1")
        assert_reply(c.cmd("HELO client.test"), 250)
        assert_reply(c.cmd("MAIL FROM:<probe@remote.test>"), 250, "2.1.0")
        assert_reply(c.cmd("QUIT"), 221)
    assert s.queue_files() == []


# -- bare CR: never stored, never served --------------------------------------

PASSWORD = "bare cr secret 7"

# Bare CRs everywhere a reader could take one for a line end, and the
# smuggling payloads built from them, each between "before" and a would-be
# second transaction; and what the stored body holds there.
BARE_CR = [
    (b"\r.\r\n", b"before .\nMAIL"),
    (b"\r.\r", b"before . MAIL"),
    (b"\r\n\r.\r\n", b"before\n .\nMAIL"),
    (b"\r\n.\r\r\n", b"before\n \nMAIL"),       # the dot was stuffing
    (b"\r\r\n", b"before \nMAIL"),
    (b"\r\r\r\n.\r\r\n..\r\r\n", b"before  \n \n. \nMAIL"),
    (b"\n.\r", b"before\n. MAIL"),              # no line start after LF
    (b"\r\n.\r.\r\n", b"before\n .\nMAIL"),
]


def raw_pop3(suite, commands):
    """Logs in as alice and runs each command; returns each whole raw
    response: the status line and, for RETR, TOP and a bare LIST, the
    body up to and with the terminator."""
    out = []
    with socket.create_connection(("127.0.0.1", suite.pop3_port), 30) as s:
        s.settimeout(30)
        buf = b""

        def until(got, end):
            nonlocal buf
            while end not in got + buf:
                b = s.recv(65536)
                if not b:
                    raise EOFError(got + buf)
                buf += b
            whole = got + buf
            i = whole.index(end) + len(end)
            buf = whole[i:]
            return whole[:i]

        assert until(b"", b"\r\n").startswith(b"+OK")
        for line in (b"USER alice@example.test",
                     b"PASS " + PASSWORD.encode()):
            s.sendall(line + b"\r\n")
            assert until(b"", b"\r\n").startswith(b"+OK")
        for cmd in commands:
            s.sendall(cmd + b"\r\n")
            status = until(b"", b"\r\n")
            assert status.startswith(b"+OK"), (cmd, status)
            words = cmd.split()
            if words[0] in (b"RETR", b"TOP") or words == [b"LIST"]:
                # The status line's CRLF is the terminator's first one
                # when the body is empty.
                status = until(status, b"\r\n.\r\n")
            out.append(status)
        s.sendall(b"QUIT\r\n")
        until(b"", b"\r\n")
    return out


def no_bare_cr(data):
    return all(data[i + 1:i + 2] == b"\n"
               for i in range(len(data)) if data[i:i + 1] == b"\r")


def pop3_ready(suite):
    suite.postern("user", "passwd", "alice@example.test", "--stdin",
                  input=PASSWORD + "\n")

    def greets():
        try:
            with socket.create_connection(("127.0.0.1", suite.pop3_port),
                                          1) as s:
                s.settimeout(2)
                return s.recv(512).startswith(b"+OK")
        except OSError:
            return False
    wait_until(greets, 20, what="pop3d to greet")


@pytest.mark.parametrize("cr,stored", BARE_CR,
                         ids=[repr(p[0]) for p in BARE_CR])
def test_bare_cr_is_stored_and_served_as_a_space(suite, cr, stored):
    pop3_ready(suite)
    payload = (b"EHLO client.test\r\n"
               b"MAIL FROM:<a@remote.test>\r\n"
               b"RCPT TO:<alice@example.test>\r\n"
               b"DATA\r\n"
               b"Subject: bare\rcr\r\n\r\nbefore" + cr +
               b"MAIL FROM:<evil@remote.test>\r\n"
               b"RCPT TO:<bob@example.test>\r\n"
               b"DATA\r\n"
               b"Subject: smuggled\r\n\r\nsmuggled body\r\n"
               b".\r\n"
               b"QUIT\r\n")
    with Client(suite.port) as c:
        c.send(payload)
        while b"221 " not in c.buf:
            b = c.sock.recv(65536)
            if not b:
                break
            c.buf += b
        replies = c.buf
    assert replies.count(b"250 2.0.0 Ok: queued as") == 1, replies
    [m] = suite.wait_messages("alice@example.test", 1)
    suite.wait_queue_empty()
    assert suite.messages("bob@example.test") == []
    assert b"\r" not in m.read_bytes()
    # One space for each CR that was not part of a CRLF, in its place.
    assert body_of(m) == (b"Subject: bare cr\n\n" + stored +
                          b" FROM:<evil@remote.test>\n"
                          b"RCPT TO:<bob@example.test>\nDATA\n"
                          b"Subject: smuggled\n\nsmuggled body\n")
    # POP3: poplib and the raw wire see the same lines, no bare CR, and
    # the response ends where the server's terminator is.
    p = poplib.POP3("127.0.0.1", suite.pop3_port, timeout=30)
    try:
        p.user("alice@example.test")
        p.pass_(PASSWORD)
        assert p.stat()[0] == 1
        _, lines, octets = p.retr(1)
        assert not any(b"\r" in l for l in lines)
        assert lines[-1] == b"smuggled body"
    finally:
        p.quit()
    [retr] = raw_pop3(suite, [b"RETR 1"])
    assert no_bare_cr(retr)
    assert retr.endswith(b"\r\nsmuggled body\r\n.\r\n")
    assert retr.count(b"\r\n.\r\n") == 1


def test_pop3_serves_a_stored_bare_cr_as_a_space(suite):
    """A file that already holds bare CRs (delivered before this rule,
    or put into the Maildir by another program) is served without them,
    and LIST's size is still exactly what arrives."""
    pop3_ready(suite)
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as s:
        s.sendmail("a@remote.test", ["alice@example.test"],
                   b"Subject: first\r\n\r\nmakes the Maildir\r\n")
    [first] = suite.wait_messages("alice@example.test", 1)
    raw = (b"Subject: old\r\rFrom: x@remote.test\n\r\r\nT: y\n\n"
           b"before\r.\r\nMAIL FROM:<evil@remote.test>\r.\r"
           b"\n.\r\r\nlast line\r")
    other = first.parent / "1000000000.M1P1Q1.other.host"
    other.write_bytes(raw)
    st = first.stat()
    os.chown(other, st.st_uid, st.st_gid)
    os.utime(other, (1000000000, 1000000000))   # the older: message 1
    # "\r\r\n" is a line of one space, not the blank line that ends
    # the header; ".\r\r\n" is a dot line, stuffed.
    want = (b"Subject: old  From: x@remote.test\r\n \r\nT: y\r\n\r\n"
            b"before .\r\nMAIL FROM:<evil@remote.test> .\r\n.. \r\n"
            b"last line \r\n")
    size = len(want) - 1    # LIST counts the message, not the stuffing
    listing, retr, top = raw_pop3(suite, [b"LIST 1", b"RETR 1", b"TOP 1 1"])
    assert listing == b"+OK 1 %d\r\n" % size
    assert retr == b"+OK %d octets\r\n" % size + want + b".\r\n", retr
    assert top == (b"+OK top of message follows\r\n"
                   b"Subject: old  From: x@remote.test\r\n \r\nT: y\r\n"
                   b"\r\nbefore .\r\n.\r\n"), top


def test_sendmail_stores_a_bare_cr_as_a_space(suite):
    suite.sendmail("-i", "alice@example.test", input=(
        b"Subject: cron\r\r\n\r\nbefore\r.\r\nafter\r.\rend\r\n"))
    [m] = suite.wait_messages("alice@example.test", 1)
    data = m.read_bytes()
    assert b"\r" not in data
    assert b"Subject: cron \n" in data
    assert data.endswith(b"\n\nbefore .\nafter . end\n")
