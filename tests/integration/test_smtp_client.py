"""deliverd's SMTP client (deliverd/smtp_client.c), the remote
transport's half that talks to other servers, driven through
build/tests/smtp-try against servers nobody here wrote (Debian's
aiosmtpd, Postern's own smtpd) and against scripted servers that
misbehave on purpose."""
import os
import pathlib
import socket
import subprocess
import threading

import pytest

from conftest import free_port

TRY = None


@pytest.fixture(autouse=True)
def _try_path(build_dir):
    global TRY
    TRY = build_dir / "tests" / "smtp-try"


def smtp_try(port, rcpts, text, *opts, sender="a@example.test",
             host="mx.test", tmp=None, addr="127.0.0.1"):
    msg = pathlib.Path(tmp) / "msg"
    msg.write_bytes(text)
    r = subprocess.run([str(TRY), "-p", str(port), "-H", "client.test", *opts,
                        addr, host, sender, str(msg), *rcpts],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = {"rcpt": {}}
    for line in r.stdout.splitlines():
        key, _, rest = line.partition(" ")
        if key == "rcpt":
            a, status, dsn, text_ = (rest.split(" ", 3) + [""])[:4]
            out["rcpt"][a] = (status, dsn, text_)
        else:
            out[key] = rest
    return out


# -- a real server: aiosmtpd --------------------------------------------

class Recorder:
    def __init__(self):
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.startswith("reject"):
            return "550 5.1.1 <%s>: no such user" % address
        if address.startswith("later"):
            return "451 4.3.2 try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 2.0.0 Ok: queued as X1"


@pytest.fixture
def aiosmtpd_server():
    from aiosmtpd.controller import Controller
    rec = Recorder()
    port = free_port()
    c = Controller(rec, hostname="127.0.0.1", port=port,
                   decode_data=False, enable_SMTPUTF8=True)
    c.start()
    try:
        yield port, rec
    finally:
        c.stop()


def test_text_arrives_byte_exact_with_dots_8bit_and_long_lines(
        aiosmtpd_server, tmp_path):
    port, rec = aiosmtpd_server
    long_line = b"x" * 990
    text = (b"From: a@example.test\nSubject: caf\xc3\xa9\n\n"
            b".starts with a dot\n..two dots\n.\n" + long_line +
            b"\n8-bit: \xe2\x82\xac\nlast line without LF")
    out = smtp_try(port, ["b@example.org"], text, "-8", tmp=tmp_path)
    assert out["attempt"] == "done", out
    assert out["rcpt"]["b@example.org"][:2] == ("ok", "2.0.0"), out
    assert len(rec.envelopes) == 1
    env = rec.envelopes[0]
    assert env.mail_from == "a@example.test"
    assert env.rcpt_tos == ["b@example.org"]
    want = text.replace(b"\n", b"\r\n") + b"\r\n"
    assert env.original_content == want
    assert "BODY=8BITMIME" in env.mail_options


def test_each_recipient_gets_its_own_answer(aiosmtpd_server, tmp_path):
    port, rec = aiosmtpd_server
    out = smtp_try(port, ["ok@example.org", "reject@example.org",
                          "later@example.org"], b"Subject: x\n\nhi\n",
                   tmp=tmp_path)
    assert out["attempt"] == "done"
    assert out["rcpt"]["ok@example.org"][0] == "ok"
    status, dsn, why = out["rcpt"]["reject@example.org"]
    assert (status, dsn) == ("perm", "5.1.1")
    assert why == ("host mx.test[127.0.0.1] said: 550 5.1.1 "
                   "<reject@example.org>: no such user (in reply to "
                   "RCPT TO command)")
    assert out["rcpt"]["later@example.org"][:2] == ("temp", "4.3.2")
    assert [e.rcpt_tos for e in rec.envelopes] == [["ok@example.org"]]


def test_a_bounce_goes_with_the_null_sender(aiosmtpd_server, tmp_path):
    port, rec = aiosmtpd_server
    out = smtp_try(port, ["b@example.org"], b"Subject: x\n\nhi\n", sender="",
                   tmp=tmp_path)
    assert out["rcpt"]["b@example.org"][0] == "ok"
    assert rec.envelopes[0].mail_from == "<>" or \
        rec.envelopes[0].mail_from == ""


def test_smtputf8_mail_to_a_server_without_it_bounces(tmp_path):
    from aiosmtpd.controller import Controller
    rec = Recorder()
    port = free_port()
    c = Controller(rec, hostname="127.0.0.1", port=port,
                   enable_SMTPUTF8=False)
    c.start()
    try:
        out = smtp_try(port, ["b@example.org"], b"Subject: x\n\nhi\n", "-u",
                       tmp=tmp_path)
    finally:
        c.stop()
    assert out["attempt"] == "done"
    assert out["rcpt"]["b@example.org"][:2] == ("perm", "5.6.7")
    assert rec.envelopes == []


# -- Postern's own smtpd: PIPELINING ------------------------------------

def test_pipelined_transaction_into_postern(suite_factory, tmp_path):
    s = suite_factory()
    s.start()
    s.postern("user", "add", "u@example.test")
    text = b"Subject: pipelined\n\n.dot\nbody\n"
    out = smtp_try(s.port, ["u@example.test", "nobody@example.test"], text,
                   tmp=tmp_path)
    assert out["attempt"] == "done", out
    assert out["rcpt"]["u@example.test"][0] == "ok", out
    assert out["rcpt"]["nobody@example.test"][:2] == ("perm", "5.1.1"), out
    msgs = s.wait_messages("u@example.test", 1)
    data = msgs[0].read_bytes()
    assert data.endswith(b"Subject: pipelined\n\n.dot\nbody\n"), data
    assert b"from client.test" in data     # our EHLO name in Received:


# -- servers that misbehave ---------------------------------------------

class Scripted:
    """One connection, served by handler(sock_file_rw, sock) in a
    thread; records every line the client sent."""

    def __init__(self, handler):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.lines = []
        self.t = threading.Thread(target=self._run, args=(handler,),
                                  daemon=True)
        self.t.start()

    def _run(self, handler):
        conn, _ = self.lsock.accept()
        conn.settimeout(10)
        f = conn.makefile("rwb", buffering=0)
        try:
            handler(self, f, conn)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()
            self.lsock.close()

    def readline(self, f):
        line = f.readline()
        self.lines.append(line)
        return line

    def join(self):
        self.t.join(15)


def plain_server(greeting=b"220 mx ESMTP\r\n", ehlo=None, after=None):
    """EHLO reply as given; then MAIL/RCPT/DATA accepted, text read."""
    def handler(srv, f, conn):
        f.write(greeting)
        if not greeting.startswith(b"220"):
            srv.readline(f)
            return
        line = srv.readline(f)
        if ehlo is not None and line.startswith(b"EHLO"):
            f.write(ehlo)
            line = srv.readline(f)
        if line.startswith(b"EHLO"):
            f.write(b"250-mx\r\n250 8BITMIME\r\n")
            line = srv.readline(f)
        if line.startswith(b"HELO"):
            f.write(b"250 mx\r\n")
            line = srv.readline(f)
        while line:
            if line.startswith(b"DATA"):
                f.write(b"354 go\r\n")
                while srv.readline(f) not in (b".\r\n", b""):
                    pass
                if after == "drop":
                    return
                f.write(b"250 ok\r\n")
            elif line.startswith(b"QUIT"):
                f.write(b"221 bye\r\n")
                return
            else:
                f.write(b"250 ok\r\n")
            line = srv.readline(f)
    return handler


def test_a_refusing_greeting_sends_us_to_the_next_exchanger(tmp_path):
    srv = Scripted(plain_server(greeting=b"554 5.7.1 go away\r\n"))
    out = smtp_try(srv.port, ["b@example.org"], b"x\n", tmp=tmp_path)
    srv.join()
    assert out["attempt"] == "next"
    assert out["reason"] == ("host mx.test[127.0.0.1] refused to talk to "
                             "me: 554 5.7.1 go away")


def test_helo_when_ehlo_is_not_known(tmp_path):
    srv = Scripted(plain_server(ehlo=b"502 5.5.2 what?\r\n"))
    out = smtp_try(srv.port, ["b@example.org"], b"x\n", tmp=tmp_path)
    srv.join()
    assert out["attempt"] == "done" and \
        out["rcpt"]["b@example.org"][0] == "ok", out
    assert srv.lines[0] == b"EHLO client.test\r\n"
    assert srv.lines[1] == b"HELO client.test\r\n"


def test_eight_bit_text_to_a_server_without_8bitmime_bounces(tmp_path):
    srv = Scripted(plain_server(ehlo=b"250 mx\r\n"))
    out = smtp_try(srv.port, ["b@example.org"], b"\xe2\x82\xac\n", "-8",
                   tmp=tmp_path)
    srv.join()
    assert out["rcpt"]["b@example.org"][:2] == ("perm", "5.6.3"), out
    assert not any(l.startswith(b"MAIL") for l in srv.lines)


def test_a_message_over_the_servers_size_limit_is_not_sent(tmp_path):
    srv = Scripted(plain_server(ehlo=b"250-mx\r\n250 SIZE 10\r\n"))
    out = smtp_try(srv.port, ["b@example.org"], b"x" * 100 + b"\n",
                   tmp=tmp_path)
    srv.join()
    assert out["rcpt"]["b@example.org"][:2] == ("perm", "5.3.4"), out


def test_size_is_declared_when_the_server_knows_it(tmp_path):
    srv = Scripted(plain_server(ehlo=b"250-mx\r\n250 SIZE 1000\r\n"))
    out = smtp_try(srv.port, ["b@example.org"], b"hello\n", tmp=tmp_path)
    srv.join()
    assert out["rcpt"]["b@example.org"][0] == "ok"
    assert b"MAIL FROM:<a@example.test> SIZE=6\r\n" in srv.lines


def test_a_connection_lost_after_the_dot_may_have_delivered(tmp_path):
    srv = Scripted(plain_server(after="drop"))
    out = smtp_try(srv.port, ["b@example.org"], b"x\n", tmp=tmp_path)
    srv.join()
    assert out["attempt"] == "next"
    assert out["maybe_sent"] == "1"
    assert out["reason"] == ("lost connection with mx.test[127.0.0.1] while "
                             "sending end of data -- message may be sent "
                             "more than once")


def test_a_malformed_reply_is_a_failure_of_that_server(tmp_path):
    srv = Scripted(plain_server(ehlo=b"250-mx\r\n2x0 nonsense\r\n"))
    out = smtp_try(srv.port, ["b@example.org"], b"x\n", tmp=tmp_path)
    srv.join()
    assert out["attempt"] == "next"
    assert out["reason"].startswith("malformed reply from mx.test[127.0.0.1]")


def test_an_endless_reply_is_cut_and_refused(tmp_path):
    def handler(srv, f, conn):
        f.write(b"220-" + b"a" * 5000 + b"\r\n")
        srv.readline(f)
    srv = Scripted(handler)
    out = smtp_try(srv.port, ["b@example.org"], b"x\n", tmp=tmp_path)
    srv.join()
    assert out["attempt"] == "next"
    assert "malformed reply" in out["reason"]


def test_a_silent_server_times_out(tmp_path):
    def handler(srv, f, conn):
        srv.readline(f)    # greets nobody; waits for the client to go
    srv = Scripted(handler)
    out = smtp_try(srv.port, ["b@example.org"], b"x\n", "-t", "1",
                   tmp=tmp_path)
    srv.join()
    assert out["attempt"] == "next"
    assert out["reason"] == ("conversation with mx.test[127.0.0.1] timed out "
                             "while receiving the initial server greeting")


def test_nobody_listening_is_a_connection_failure(tmp_path):
    port = free_port()
    out = smtp_try(port, ["b@example.org"], b"x\n", tmp=tmp_path)
    assert out["attempt"] == "next"
    assert out["reason"] == (f"connect to mx.test[127.0.0.1]:{port}: "
                             "Connection refused")


def test_a_smuggling_payload_in_the_text_stays_text(tmp_path):
    # A lone CR around a dot must not end the data at the receiver.
    srv = Scripted(plain_server())
    out = smtp_try(srv.port, ["b@example.org"],
                   b"a\r.\rMAIL FROM:<evil@x>\n\n.\nend\n", tmp=tmp_path)
    srv.join()
    assert out["attempt"] == "done", out
    data = b"".join(srv.lines)
    assert b"\r.\r" not in data
    assert b"a . MAIL FROM:<evil@x>\r\n\r\n..\r\nend\r\n.\r\n" in data


def test_dsn_parameters_go_to_a_server_that_offers_dsn(tmp_path):
    srv = Scripted(plain_server(ehlo=b"250-mx\r\n250 DSN\r\n"))
    # NOTIFY=SUCCESS,FAILURE (bits 0x2|0x4), RET=HDRS (2); ENVID and the
    # ORCPT address go as xtext: "+" and "=" and spaces are escaped.
    out = smtp_try(srv.port, ["b@example.org"], b"x\n", "-N", "6", "-R",
                   "2", "-E", "id+1=2 x", "-O", "rfc822;B+x@Example.org",
                   tmp=tmp_path)
    srv.join()
    assert out["rcpt"]["b@example.org"][0] == "ok", out
    mail = [l for l in srv.lines if l.startswith(b"MAIL")][0]
    rcpt = [l for l in srv.lines if l.startswith(b"RCPT")][0]
    assert mail == b"MAIL FROM:<a@example.test> RET=HDRS " \
        b"ENVID=id+2B1+3D2+20x\r\n", mail
    assert rcpt == b"RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE " \
        b"ORCPT=rfc822;B+2Bx@Example.org\r\n", rcpt


def test_no_dsn_parameters_to_a_server_without_dsn(tmp_path):
    srv = Scripted(plain_server())
    out = smtp_try(srv.port, ["b@example.org"], b"x\n", "-N", "1", "-R",
                   "1", "-E", "abc", "-O", "rfc822;b@example.org",
                   tmp=tmp_path)
    srv.join()
    assert out["rcpt"]["b@example.org"][0] == "ok", out
    assert b"MAIL FROM:<a@example.test>\r\n" in srv.lines
    assert b"RCPT TO:<b@example.org>\r\n" in srv.lines
