"""Hostile and broken SMTP clients: over-long and malformed lines, limits,
pipelining, early talkers, peers that vanish or dawdle, and many
connections at once. Every refusal is checked on the wire (reply code and
enhanced status code) and on disk (nothing queued, nothing delivered), and
every test ends by proving that the session or the suite still serves."""
import re
import smtplib
import socket
import time

import pytest

from conftest import wait_until


# -- a raw SMTP client that reads replies one at a time ----------------------

class Client:
    """A plain socket that speaks SMTP by hand: nothing is fixed up for us
    (no dot stuffing, no line end conversion, no command ordering)."""

    def __init__(self, port, timeout=20, greet=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.greeting = self.reply() if greet else None

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _line(self):
        while b"\n" not in self.buf:
            b = self.sock.recv(65536)
            if not b:
                raise EOFError(f"connection closed; unparsed: {self.buf!r}")
            self.buf += b
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def reply(self):
        """One whole (possibly multi-line) reply: (code, [texts])."""
        texts = []
        while True:
            line = self._line()
            assert len(line) >= 3 and line[:3].isdigit(), line
            texts.append(line[4:])
            if line[3:4] != b"-":
                return int(line[:3]), texts

    def cmd(self, line):
        """Sends one line (CRLF added unless it ends in LF already)."""
        line = line if isinstance(line, bytes) else line.encode()
        self.send(line if line.endswith(b"\n") else line + b"\r\n")
        return self.reply()

    def closed_by_peer(self, timeout=10):
        """True when the server closes (EOF or reset) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                b = self.sock.recv(65536)
                if not b:
                    return True
                self.buf += b
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def assert_reply(reply, code, enhanced=None):
    assert reply[0] == code, reply
    if enhanced is not None:
        assert reply[1][-1].startswith(enhanced.encode() + b" "), reply


def start_txn(c, sender="a@remote.test", rcpts=("alice@example.test",),
              params=""):
    assert_reply(c.cmd("EHLO client.test"), 250)
    assert_reply(c.cmd(f"MAIL FROM:<{sender}>{params}"), 250, "2.1.0")
    for r in rcpts:
        assert_reply(c.cmd(f"RCPT TO:<{r}>"), 250, "2.1.5")


def incoming(suite):
    """Queue files being received: the file smtpd writes into."""
    return suite.uncommitted()


def ppid_of(pid):
    """The parent's pid, or None once the process is gone (a session
    process can exit between listing and reading)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None


def sessions_running(suite):
    """SMTP sessions begun and not yet ended, by smtpd's log."""
    log = suite.log_text()
    return log.count("]: connect from") - log.count("]: disconnect from")


def smtpd_parent(suite):
    """The smtpd listener: the smtpd process that master started."""
    master = suite.proc.pid
    [pid] = [p for p in suite.pids_of("smtpd") if ppid_of(p) == master]
    return pid


def cmdline_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


def uid_of(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))
    except (FileNotFoundError, ProcessLookupError):
        return None


def is_template(pid):
    """A session template (smtpd -T, root). Its sessions were forked
    from it and show the same command line, but dropped to smtpd_user."""
    return b"-T" in cmdline_of(pid) and uid_of(pid) == 0


def smtpd_templates(suite):
    """The session templates (libcommon/forkserver.h)."""
    return [p for p in suite.pids_of("smtpd") if is_template(p)]


def smtpd_sessions(suite):
    """SMTP session processes: every smtpd but the listener and the
    templates (forked by a template, or exec'd by the listener)."""
    master = suite.proc.pid
    return [p for p in suite.pids_of("smtpd")
            if ppid_of(p) not in (master, None) and not is_template(p)]


def assert_nothing_queued(suite):
    # smtpd's Q_ABORT has no reply: queued removes the queue file on
    # its own time, shortly after the client saw the refusal.
    wait_until(lambda: incoming(suite) == [], 10,
               what="the uncommitted file to be removed")
    assert suite.queue_files() == []


def send_ok_mail(suite, rcpt="alice@example.test", tag="after"):
    """Proves the suite still serves: one mail in, delivered."""
    before = len(suite.messages(rcpt))
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as s:
        s.sendmail("a@remote.test", [rcpt],
                   f"Subject: {tag}\r\nX-Tag: {tag}\r\n\r\nstill alive\r\n")
    msgs = suite.wait_messages(rcpt, before + 1)
    assert any(f"X-Tag: {tag}\n".encode() in m.read_bytes() for m in msgs)


def body_of(path):
    """The stored message without the three trace headers Postern adds."""
    data = path.read_bytes()
    head, sep, rest = data.partition(b"\nReceived: ")
    assert sep, data[:300]
    # The Received header is two or three folded lines; the client's text
    # starts at the first line that does not begin with white space.
    lines = rest.split(b"\n")
    i = 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    return b"\n".join(lines[i:])


# -- command line limits ------------------------------------------------------

def test_command_line_of_512_octets_is_ok_513_gets_500_and_session_goes_on(suite):
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        # 510 octets + CRLF = 512: the RFC 5321 limit, accepted.
        line = b"NOOP " + b"x" * 505
        assert len(line) + 2 == 512
        assert_reply(c.cmd(line), 250, "2.0.0")
        # 513 octets with the CRLF: refused, and only that line.
        assert_reply(c.cmd(b"NOOP " + b"x" * 506), 500, "5.5.2")
        # An over-long MAIL must not half-start a transaction.
        long_mail = b"MAIL FROM:<" + b"a" * 600 + b"@remote.test>"
        assert_reply(c.cmd(long_mail), 500, "5.5.2")
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 503, "5.5.1")
        start_txn(c, rcpts=())
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250, "2.1.5")
        assert_reply(c.cmd("DATA"), 354)
        assert_reply(c.cmd(b"Subject: after long lines\r\n\r\nok\r\n."), 250,
                     "2.0.0")
        assert_reply(c.cmd("QUIT"), 221)
    [m] = suite.wait_messages("alice@example.test", 1)
    assert b"Subject: after long lines" in m.read_bytes()


def test_100k_line_without_line_end_gets_one_error(suite):
    parent = smtpd_parent(suite)
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        chunk = b"A" * 4096
        for _ in range(25):                 # 100 KiB, no CR, no LF
            c.send(chunk)
        c.send(b"\r\nNOOP\r\n")
        assert_reply(c.reply(), 500, "5.5.2")
        # Exactly one error for the whole line: the next reply is the NOOP's.
        assert_reply(c.reply(), 250, "2.0.0")
        assert_reply(c.cmd("QUIT"), 221)
    # The same again, but the client gives up in the middle of the line.
    lost = suite.log_text().count("lost connection after CONNECT")
    with Client(suite.port) as c:
        c.send(b"B" * 100_000)
    wait_until(lambda: suite.log_text().count(
        "lost connection after CONNECT") > lost, 15,
        what="the abandoned long line to end its session")
    assert smtpd_parent(suite) == parent, "smtpd was restarted"
    send_ok_mail(suite)
    assert "killed by signal" not in suite.log_text()


def test_nul_byte_in_a_command_gets_500(suite):
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(c.cmd(b"NO\0OP"), 500, "5.5.2")
        # A NUL hiding junk after a valid-looking command: refused whole,
        # no transaction starts.
        assert_reply(c.cmd(b"MAIL FROM:<a@remote.test>\0 SIZE=1"), 500,
                     "5.5.2")
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 503, "5.5.1")
        assert_reply(c.cmd(b"\0"), 500, "5.5.2")
        assert_reply(c.cmd("NOOP"), 250, "2.0.0")
    assert_nothing_queued(suite)


def test_bare_lf_command_terminators_are_accepted(suite):
    with Client(suite.port) as c:
        assert_reply(c.cmd(b"EHLO client.test\n"), 250)
        assert_reply(c.cmd(b"MAIL FROM:<a@remote.test>\n"), 250, "2.1.0")
        assert_reply(c.cmd(b"RCPT TO:<alice@example.test>\n"), 250, "2.1.5")
        assert_reply(c.cmd(b"DATA\n"), 354)
        # In the message text only CRLF.CRLF ends it (anti-smuggling).
        assert_reply(c.cmd(b"Subject: bare lf\r\n\r\nbody\r\n.\r\n"), 250,
                     "2.0.0")
        assert_reply(c.cmd(b"QUIT\n"), 221)
    [m] = suite.wait_messages("alice@example.test", 1)
    assert body_of(m) == b"Subject: bare lf\n\nbody\n"


def test_too_many_errors_gets_421_and_the_connection_closes(suite):
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        # smtpd_error_limit defaults to 20: all 20 are answered, then 421.
        c.send(b"".join(b"BOGUS %d\r\n" % i for i in range(20)))
        for i in range(20):
            assert_reply(c.reply(), 500, "5.5.2")
        code, texts = c.reply()
        assert code == 421, (code, texts)
        assert texts[-1].startswith(b"4.7.0 "), texts
        assert c.closed_by_peer(10), "server kept the connection open"
    wait_until(lambda: "too many errors after" in suite.log_text(), 10,
               what="the error limit to be logged")
    send_ok_mail(suite)


def test_error_limit_counts_every_kind_of_error(suite_factory):
    s = suite_factory("smtpd_error_limit = 3\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    with Client(s.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 503)   # 1
        assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250)
        assert_reply(c.cmd("RCPT TO:<nobody@example.test>"), 550)  # 2
        assert_reply(c.cmd("NOOP"), 250)
        assert_reply(c.cmd("XYZZY"), 500)                          # 3
        code, texts = c.reply()
        assert code == 421 and texts[-1].startswith(b"4.7.0"), (code, texts)
        assert c.closed_by_peer(10)
    assert s.queue_files() == []


def test_recipient_limit_452_for_the_sixth_and_mail_goes_to_the_first_five(
        suite_factory):
    s = suite_factory("smtpd_recipient_limit = 5\n")
    users = [f"u{i}@example.test" for i in range(1, 7)]
    for u in users:
        s.postern("user", "add", u)
    s.start()
    with Client(s.port) as c:
        start_txn(c, rcpts=users[:5])
        assert_reply(c.cmd(f"RCPT TO:<{users[5]}>"), 452, "4.5.3")
        # The limit holds for any further RCPT, also a repeated one.
        assert_reply(c.cmd("RCPT TO:<u6@example.test>"), 452, "4.5.3")
        assert_reply(c.cmd("DATA"), 354)
        assert_reply(c.cmd(b"Subject: five of six\r\n\r\nhi\r\n."), 250,
                     "2.0.0")
        assert_reply(c.cmd("QUIT"), 221)
    for u in users[:5]:
        [m] = s.wait_messages(u, 1)
        assert b"Subject: five of six" in m.read_bytes()
    s.wait_queue_empty()
    assert s.messages(users[5]) == []


def test_command_errors_and_informational_commands(suite):
    with Client(suite.port) as c:
        assert c.greeting[0] == 220
        assert_reply(c.cmd("FROB the knob"), 500, "5.5.2")
        # MAIL before EHLO is taken (smtpd_helo_required = no, as in
        # Postfix; test_smtp_input covers = yes), and EHLO resets it.
        assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250, "2.1.0")
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 503, "5.5.1")
        assert_reply(c.cmd("HELP"), 214)
        assert_reply(c.cmd("VRFY alice@example.test"), 252, "2.5.2")
        assert_reply(c.cmd("NOOP"), 250, "2.0.0")
        assert_reply(c.cmd("RSET"), 250, "2.0.0")
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 503, "5.5.1")
        assert_reply(c.cmd("DATA"), 503, "5.5.1")
        # MAIL with a parameter we do not know.
        assert_reply(c.cmd("MAIL FROM:<a@remote.test> FROBNICATE=yes"), 555,
                     "5.5.4")
        # MAIL with bad address syntax, several flavours.
        for bad in ("MAIL FROM:a@remote.test", "MAIL FROM:<a@@remote.test>",
                    "MAIL FROM:<a@remote.test", "MAIL FROM:<a b@remote.test>",
                    "MAIL FROM:<a@remote.test>junk", "MAIL TO:<a@remote.test>"):
            code, texts = c.cmd(bad)
            assert code == 501, (bad, code, texts)
            assert texts[-1][:2] == b"5.", (bad, texts)
        # None of them started a transaction.
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 503, "5.5.1")
        # A real transaction, then RSET: DATA has nothing to send.
        assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250, "2.1.0")
        assert_reply(c.cmd("MAIL FROM:<b@remote.test>"), 503, "5.5.1")
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250, "2.1.5")
        assert_reply(c.cmd("RSET"), 250, "2.0.0")
        assert_reply(c.cmd("DATA"), 503, "5.5.1")
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 503, "5.5.1")
        # And the session still runs a whole transaction.
        assert_reply(c.cmd("MAIL FROM:<c@remote.test>"), 250, "2.1.0")
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250, "2.1.5")
        assert_reply(c.cmd("DATA"), 354)
        assert_reply(c.cmd(b"Subject: after errors\r\n\r\nx\r\n."), 250)
        assert_reply(c.cmd("QUIT"), 221)
    [m] = suite.wait_messages("alice@example.test", 1)
    assert m.read_bytes().startswith(b"Return-Path: <c@remote.test>\n")


def test_control_bytes_in_helo_cannot_forge_a_header(suite):
    with Client(suite.port) as c:
        assert_reply(c.cmd(b"EHLO evil\rX-Injected: yes\x01"), 250)
        for bad in (b'MAIL FROM:<"a\rb"@remote.test>',
                    b'MAIL FROM:<"a\\\x01b"@remote.test>',
                    b"MAIL FROM:<a\x7fb@remote.test>"):
            code, texts = c.cmd(bad)
            assert code == 501 and texts[-1].startswith(b"5.1.7"), \
                (bad, code, texts)
        assert_reply(data_txn(c, b"Subject: helo\r\n\r\nx\r\n.\r\n"),
                     250, "2.0.0")
    [m] = suite.wait_messages("alice@example.test", 1)
    data = m.read_bytes()
    assert b"\r" not in data and b"\x01" not in data
    assert not any(l.startswith(b"X-Injected") for l in data.split(b"\n"))
    assert b"Received: from evil?X-Injected: yes? ([127.0.0.1])" in data
    assert "helo=<evil\r" not in suite.log_text()


def test_recipients_differing_only_in_case_get_one_copy(suite):
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(data_txn(c, b"Subject: case\r\n\r\nx\r\n.\r\n",
                              rcpts=("alice@example.test",
                                     "ALICE@example.test",
                                     "Alice@Example.Test")), 250, "2.0.0")
    suite.wait_messages("alice@example.test", 1)
    suite.wait_queue_empty()
    assert len(suite.messages("alice@example.test")) == 1


# -- DATA ----------------------------------------------------------------------

def data_txn(c, text, rcpts=("alice@example.test",), params=""):
    """MAIL, RCPT, DATA, then text as is, which must end the data itself."""
    assert_reply(c.cmd(f"MAIL FROM:<a@remote.test>{params}"), 250, "2.1.0")
    for r in rcpts:
        assert_reply(c.cmd(f"RCPT TO:<{r}>"), 250, "2.1.5")
    assert_reply(c.cmd("DATA"), 354)
    c.send(text)
    return c.reply()


def test_text_line_over_1000_octets_is_refused_after_the_data(suite_factory):
    # The default takes lines of any length (Postfix does); RFC 5321's
    # 1000 octets is a limit an operator can choose.
    suite = suite_factory("smtpd_max_line_length = 1000\n")
    suite.postern("user", "add", "alice@example.test")
    suite.start()
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        # 998 + CRLF = 1000 octets: the limit, accepted.
        ok = (b"Subject: line at limit\r\n\r\n" + b"y" * 998 + b"\r\n.\r\n")
        assert_reply(data_txn(c, ok), 250, "2.0.0")
        [m] = suite.wait_messages("alice@example.test", 1)
        assert body_of(m).endswith(b"\n" + b"y" * 998 + b"\n")
        # 999 + CRLF: refused, but only after the end of the data.
        bad = (b"Subject: long line\r\n\r\nfirst\r\n" + b"z" * 999 +
               b"\r\nlast\r\n.\r\n")
        assert_reply(data_txn(c, bad), 554, "5.6.0")
        # The session is usable for the next transaction.
        again = b"Subject: next one\r\n\r\nfine\r\n.\r\n"
        assert_reply(data_txn(c, again), 250, "2.0.0")
        assert_reply(c.cmd("QUIT"), 221)
    msgs = suite.wait_messages("alice@example.test", 2)
    suite.wait_queue_empty()
    msgs = suite.messages("alice@example.test")
    assert len(msgs) == 2
    assert not any(b"z" * 999 in m.read_bytes() for m in msgs)
    wait_until(lambda: incoming(suite) == [], 10, what="no uncommitted queue file")


def test_nul_byte_in_data_is_refused_and_nothing_queued(suite):
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        bad = b"Subject: nul\r\n\r\nbefore\0after\r\n.\r\n"
        assert_reply(data_txn(c, bad), 554, "5.6.0")
        assert_nothing_queued(suite)
        assert_reply(c.cmd("NOOP"), 250)
        assert_reply(data_txn(c, b"Subject: clean\r\n\r\nok\r\n.\r\n"), 250)
    [m] = suite.wait_messages("alice@example.test", 1)
    assert b"Subject: clean" in m.read_bytes()
    suite.wait_queue_empty()
    assert len(suite.messages("alice@example.test")) == 1


def test_dot_stuffing_is_undone_exactly_once(suite):
    # The lines as the author wrote them ...
    lines = [b"Subject: dots", b"", b"..", b"...x", b".", b".x", b"x.",
             b" .", b"end"]
    # ... and as they travel: one more dot on each line that starts with one.
    wire = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n"
                    for l in lines) + b".\r\n"
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(data_txn(c, wire), 250, "2.0.0")
    [m] = suite.wait_messages("alice@example.test", 1)
    assert body_of(m) == b"".join(l + b"\n" for l in lines)


def test_message_without_final_line_end(suite):
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        # The client's text lacks a final CRLF: it sends one before the dot
        # (RFC 5321 4.1.1.4), which the stored copy keeps as a line end.
        assert_reply(data_txn(c, b"Subject: raw\r\n\r\nno newline" +
                              b"\r\n.\r\n"), 250, "2.0.0")
        # "text.\r\n" is text that ends in a dot, not the end of data.
        assert_reply(data_txn(c, b"Subject: tail dot\r\n\r\nends in a dot."
                              b"\r\nmore\r\n.\r\n"), 250, "2.0.0")
        # An empty message: the CRLF of the 354 reply is the line start.
        assert_reply(data_txn(c, b".\r\n"), 250, "2.0.0")
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as s:
        s.sendmail("a@remote.test", ["alice@example.test"],
                   b"Subject: smtplib\r\n\r\nno newline either")
    msgs = suite.wait_messages("alice@example.test", 4)
    bodies = sorted(body_of(m) for m in msgs)
    assert bodies == sorted([
        b"Subject: raw\n\nno newline\n",
        b"Subject: tail dot\n\nends in a dot.\nmore\n",
        b"",
        b"Subject: smtplib\n\nno newline either\n",
    ])


def test_8bit_body_with_8bitmime_is_delivered_byte_exact(suite):
    # Every byte value but NUL, CR and LF, in lines well under 1000 octets.
    octets = bytes(b for b in range(1, 256) if b not in (10, 13))
    body = b"".join(octets[i:i + 64] + b"\r\n"
                    for i in range(0, len(octets), 64))
    head = ("Subject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=\r\n"
            "Content-Type: text/plain; charset=latin1\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n").encode()
    msg = head + "Grüße, Jörg — ça va?\r\n".encode() + body
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.has_extn("8bitmime")
        assert s.sendmail("a@remote.test", ["alice@example.test"], msg,
                          mail_options=["BODY=8BITMIME"]) == {}
    [m] = suite.wait_messages("alice@example.test", 1)
    expected = msg.replace(b"\r\n", b"\n")
    # smtplib stuffs a line starting with "." (0x2e is in the octets).
    assert body_of(m) == expected


def test_smtputf8_local_part(suite):
    """RFC 6531: a UTF-8 local part is allowed only with SMTPUTF8; a
    UTF-8 address that is not a known user is refused like any other
    unknown user, and one that an alias names is delivered."""
    suite.aliases.write_text(suite.aliases.read_text() +
                             "jörg: alice@example.test\n")
    suite.postern("alias")
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert b"SMTPUTF8" in c.cmd("EHLO client.test")[1]
        # Without SMTPUTF8 the 8-bit local part is bad syntax.
        assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250)
        code, texts = c.cmd("RCPT TO:<müller@example.test>")
        assert code == 501 and texts[-1].startswith(b"5.1.3"), (code, texts)
        assert_reply(c.cmd("RSET"), 250)
        # With it: an unknown UTF-8 user is a clean 550 5.1.1 ...
        assert_reply(c.cmd("MAIL FROM:<a@remote.test> SMTPUTF8"), 250)
        assert_reply(c.cmd("RCPT TO:<müller@example.test>"), 550, "5.1.1")
        # ... and the alias is accepted and delivered.
        assert_reply(c.cmd("RCPT TO:<jörg@example.test>"), 250, "2.1.5")
        assert_reply(c.cmd("DATA"), 354)
        assert_reply(c.cmd("Subject: für Jörg\r\n\r\nHallo\r\n."), 250,
                     "2.0.0")
        # SMTPUTF8 is a flag: a value is a syntax error.
        assert_reply(c.cmd("MAIL FROM:<a@remote.test> SMTPUTF8=yes"), 501,
                     "5.5.4")
        assert_reply(c.cmd("QUIT"), 221)
    [m] = suite.wait_messages("alice@example.test", 1)
    data = m.read_bytes()
    assert "Subject: für Jörg\n".encode() in data
    assert b"with UTF8SMTP id" in data


def test_size_exactly_at_the_limit_is_accepted_one_more_is_552(suite_factory):
    s = suite_factory("message_size_limit = 16k\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    limit = 16 * 1024

    def message(size):
        head = b"Subject: size\r\n\r\n"
        line = b"s" * 98 + b"\r\n"
        body = line * ((size - len(head)) // len(line))
        pad = size - len(head) - len(body)
        if pad:
            body += b"p" * (pad - 2) + b"\r\n"
        m = head + body
        assert len(m) == size
        return m

    with Client(s.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(c.cmd(f"MAIL FROM:<a@remote.test> SIZE={limit}"), 250)
        assert_reply(c.cmd("RSET"), 250)
        assert_reply(c.cmd(f"MAIL FROM:<a@remote.test> SIZE={limit + 1}"),
                     552, "5.3.4")
        assert_reply(data_txn(c, message(limit) + b".\r\n"), 250, "2.0.0")
        assert_reply(data_txn(c, message(limit + 1) + b".\r\n"), 552, "5.3.4")
        assert_reply(c.cmd("NOOP"), 250)
    [m] = s.wait_messages("alice@example.test", 1)
    assert body_of(m) == message(limit).replace(b"\r\n", b"\n")
    s.wait_queue_empty()
    assert len(s.messages("alice@example.test")) == 1
    wait_until(lambda: incoming(s) == [], 10, what="no uncommitted queue file")


def test_size_limit_does_not_count_stuffing_dots(suite_factory):
    s = suite_factory("message_size_limit = 16k\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    limit = 16 * 1024
    head = b"Subject: dotted\r\n\r\n"
    line = b".d" + b"d" * 96 + b"\r\n"         # every line starts with a dot
    body = line * ((limit - len(head)) // len(line))
    body += b"." + b"p" * (limit - len(head) - len(body) - 3) + b"\r\n"
    msg = head + body
    assert len(msg) == limit
    wire = head + b"".join(b"." + l + b"\r\n"
                           for l in body.split(b"\r\n")[:-1]) + b".\r\n"
    with Client(s.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(data_txn(c, wire), 250, "2.0.0")
    [m] = s.wait_messages("alice@example.test", 1)
    assert body_of(m) == msg.replace(b"\r\n", b"\n")


# -- pipelining ------------------------------------------------------------------

def test_whole_transaction_in_one_write_gets_replies_in_order(suite):
    with Client(suite.port) as c:
        c.send(b"EHLO client.test\r\n"
               b"MAIL FROM:<a@remote.test>\r\n"
               b"RCPT TO:<alice@example.test>\r\n"
               b"RCPT TO:<nobody@example.test>\r\n"
               b"RCPT TO:<bob@example.test>\r\n"
               b"RCPT TO:<admin@example.test>\r\n"
               b"DATA\r\n")
        ehlo = c.reply()
        assert ehlo[0] == 250 and b"PIPELINING" in ehlo[1]
        assert_reply(c.reply(), 250, "2.1.0")
        assert_reply(c.reply(), 250, "2.1.5")
        code, texts = c.reply()
        assert code == 550 and b"nobody@example.test" in texts[-1]
        assert_reply(c.reply(), 250, "2.1.5")
        assert_reply(c.reply(), 250, "2.1.5")
        assert_reply(c.reply(), 354)
        c.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        assert_reply(c.reply(), 250, "2.0.0")
        assert_reply(c.reply(), 221)
    for u in ("alice", "bob", "admin"):
        [m] = suite.wait_messages(f"{u}@example.test", 1)
        assert b"Subject: pipelined" in m.read_bytes()
    suite.wait_queue_empty()


def test_two_transactions_pipelined_in_one_write_are_both_queued(suite):
    with Client(suite.port) as c:
        c.send(b"EHLO client.test\r\n"
               b"MAIL FROM:<one@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
               b"DATA\r\nSubject: first\r\n\r\none\r\n.\r\n"
               b"MAIL FROM:<two@remote.test>\r\nRCPT TO:<bob@example.test>\r\n"
               b"DATA\r\nSubject: second\r\n\r\ntwo\r\n.\r\n"
               b"QUIT\r\n")
        codes = [c.reply() for _ in range(10)]
        assert [r[0] for r in codes] == [250, 250, 250, 354, 250,
                                         250, 250, 354, 250, 221], codes
        ids = [re.search(rb"queued as (\S+)", b" ".join(r[1])).group(1)
               for r in (codes[4], codes[8])]
        assert ids[0] != ids[1]
        assert c.closed_by_peer(10)
    [a] = suite.wait_messages("alice@example.test", 1)
    [b] = suite.wait_messages("bob@example.test", 1)
    assert b"Subject: first" in a.read_bytes()
    assert b"Return-Path: <one@remote.test>" in a.read_bytes()
    assert b"Subject: second" in b.read_bytes()
    assert b"Return-Path: <two@remote.test>" in b.read_bytes()


def test_early_talker_is_answered_in_order_after_the_greeting(suite):
    """Commands sent before the 220 are read after it, in order: the
    server greets first and never answers a command before its greeting
    (it does not drop early talkers; postscreen-style refusal would be
    a policy feature, not this test's business)."""
    with Client(suite.port, greet=False) as c:
        c.send(b"EHLO early.test\r\nMAIL FROM:<a@remote.test>\r\n"
               b"RCPT TO:<alice@example.test>\r\nDATA\r\n")
        code, texts = c.reply()
        assert code == 220, (code, texts)
        assert_reply(c.reply(), 250)
        assert_reply(c.reply(), 250, "2.1.0")
        assert_reply(c.reply(), 250, "2.1.5")
        assert_reply(c.reply(), 354)
        assert_reply(c.cmd(b"Subject: early\r\n\r\nhi\r\n."), 250, "2.0.0")
    [m] = suite.wait_messages("alice@example.test", 1)
    assert b"Received: from early.test" in m.read_bytes()


# -- peers that vanish or dawdle -------------------------------------------------

def lost_connections(suite):
    return suite.log_text().count("lost connection after")


def test_client_that_vanishes_mid_data_leaves_nothing(suite):
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250)
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        assert_reply(c.cmd("DATA"), 354)
        c.send(b"Subject: cut off\r\n\r\n" + b"partial line\r\n" * 5000)
        wait_until(lambda: incoming(suite), 10,
                   what="the uncommitted queue file to exist")
    # No final dot: the client is gone.
    wait_until(lambda: "lost connection after DATA" in suite.log_text(), 15,
               what="the lost connection to be logged")
    wait_until(lambda: incoming(suite) == [], 15,
               what="the uncommitted file to be removed")
    assert suite.queue_files() == []
    send_ok_mail(suite)
    suite.wait_queue_empty()
    msgs = suite.messages("alice@example.test")
    assert len(msgs) == 1
    assert b"cut off" not in msgs[0].read_bytes()


def test_client_that_vanishes_after_rcpt_leaves_nothing(suite):
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250)
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250)
    wait_until(lambda: "lost connection after RCPT" in suite.log_text(), 15,
               what="the lost connection to be logged")
    # And with a reset instead of a clean close.
    c = Client(suite.port)
    assert_reply(c.cmd("EHLO client.test"), 250)
    assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    wait_until(lambda: "lost connection after MAIL" in suite.log_text(), 15,
               what="the reset connection to be logged")
    assert_nothing_queued(suite)
    send_ok_mail(suite)


def test_idle_client_gets_421_after_smtpd_timeout(suite_factory):
    s = suite_factory("smtpd_timeout = 2s\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    with Client(s.port) as c:
        t0 = time.monotonic()
        c.sock.settimeout(15)
        code, texts = c.reply()
        elapsed = time.monotonic() - t0
        assert code == 421 and texts[-1].startswith(b"4.4.2"), (code, texts)
        assert 1.5 <= elapsed <= 8, elapsed
        assert c.closed_by_peer(5)
    # A client that dribbles a command byte by byte does not extend it.
    with Client(s.port) as c:
        t0 = time.monotonic()
        got = None
        for ch in b"NOOP":
            c.send(bytes([ch]))
            time.sleep(0.7)     # the client's pace, not synchronisation
        c.sock.settimeout(15)
        got = c.reply()
        elapsed = time.monotonic() - t0
        assert got[0] == 421, got
        assert elapsed <= 8, elapsed
    wait_until(lambda: "timeout after" in s.log_text(), 10,
               what="the timeout to be logged")
    send_ok_mail(s)


def test_slow_data_sender_within_the_data_timeout_succeeds(suite_factory):
    s = suite_factory("smtpd_timeout = 2s\nsmtpd_data_timeout = 2s\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    with Client(s.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250)
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        assert_reply(c.cmd("DATA"), 354)
        c.send(b"Subject: slow\r\n\r\n")
        t0 = time.monotonic()
        for i in range(8):          # ~5 s in all, 0.6 s between writes
            time.sleep(0.6)         # the client's pace, not synchronisation
            c.send(b"line %d\r\n" % i)
        assert time.monotonic() - t0 > 4
        c.send(b".\r\n")
        assert_reply(c.reply(), 250, "2.0.0")
    [m] = s.wait_messages("alice@example.test", 1)
    assert body_of(m) == b"Subject: slow\n\n" + b"".join(
        b"line %d\n" % i for i in range(8))
    # A sender that stalls in DATA for longer than smtpd_data_timeout.
    with Client(s.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250)
        assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        assert_reply(c.cmd("DATA"), 354)
        c.send(b"Subject: stalled\r\n\r\npartial")
        t0 = time.monotonic()
        c.sock.settimeout(15)
        code, texts = c.reply()
        assert code == 421 and texts[-1].startswith(b"4.4.2"), (code, texts)
        assert 1.5 <= time.monotonic() - t0 <= 8
        assert c.closed_by_peer(5)
    wait_until(lambda: "timeout after DATA" in s.log_text(), 10,
               what="the DATA timeout to be logged")
    wait_until(lambda: incoming(s) == [], 10, what="the uncommitted file to be removed")
    s.wait_queue_empty()
    assert len(s.messages("alice@example.test")) == 1


# -- many connections ----------------------------------------------------------

def test_150_concurrent_connections_all_get_220(suite):
    clients = []
    try:
        for _ in range(150):
            c = Client(suite.port, greet=False)
            clients.append(c)
        for c in clients:
            code, texts = c.reply()
            assert code == 220, (code, texts)
        # All of them are live sessions, not just accepted sockets.
        for c in clients:
            c.send(b"NOOP\r\n")
        for c in clients:
            assert_reply(c.reply(), 250, "2.0.0")
    finally:
        for c in clients:
            c.close()
    assert "too many sessions" not in suite.log_text()
    send_ok_mail(suite)


def test_sixth_connection_over_max_sessions_gets_421(suite_factory):
    s = suite_factory("smtpd_max_sessions = 5\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    # start() probed the listener; wait until that probe session ended
    # (its process may stay, idle: only busy sessions count).
    wait_until(lambda: sessions_running(s) == 0, 10,
               what="smtpd's probe sessions to end")
    five = [Client(s.port) for _ in range(5)]
    try:
        for c in five:
            assert c.greeting[0] == 220
        with Client(s.port, greet=False) as sixth:
            code, texts = sixth.reply()
            assert code == 421 and texts[-1].startswith(b"4.7.0"), \
                (code, texts)
            assert sixth.closed_by_peer(10)
        for c in five:
            assert_reply(c.cmd("NOOP"), 250)
        c = five[0]
        start_txn(c)
        assert_reply(c.cmd("DATA"), 354)
        assert_reply(c.cmd(b"Subject: one of five\r\n\r\nx\r\n."), 250)
    finally:
        for c in five:
            c.close()
    assert "too many sessions (5)" in s.log_text()
    s.wait_messages("alice@example.test", 1)
    # Once they are gone, new sessions are served again.
    def greeted():
        with Client(s.port, greet=False) as c:
            return c.reply()[0] == 220
    wait_until(greeted, 15, what="a new session after the five ended")
