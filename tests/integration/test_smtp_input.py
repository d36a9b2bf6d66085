"""What real senders and clients put into smtpd, and what must come out:
long message lines, MAIL without HELO, bare CR in message text (stored
and served by POP3), and malformed UTF-8 in SMTPUTF8 addresses. Every
answer is checked on the wire (reply and enhanced status code) and on
disk (what the Maildir file holds, or that nothing was queued)."""
import poplib
import smtplib
import socket

import pytest

from conftest import wait_until


class Client:
    """A plain socket that speaks SMTP by hand: nothing is fixed up."""

    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.greeting = self.reply()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

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
        line = line if isinstance(line, bytes) else line.encode()
        self.send(line + b"\r\n")
        return self.reply()


def assert_reply(reply, code, enhanced=None):
    assert reply[0] == code, reply
    if enhanced is not None:
        assert reply[1][-1].startswith(enhanced.encode() + b" "), reply


def assert_nothing_queued(suite):
    wait_until(lambda: suite.uncommitted() == [], 10,
               what="the uncommitted file to be removed")
    assert suite.queue_files() == []


def body_of(path):
    """The stored message after the trace headers Postern adds."""
    data = path.read_bytes()
    head, sep, rest = data.partition(b"\nReceived: ")
    assert sep, data[:300]
    lines = rest.split(b"\n")
    i = 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    return b"\n".join(lines[i:])


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
    assert "bad UTF-8 in MAIL from [127.0.0.1]" in suite.log_text()
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
