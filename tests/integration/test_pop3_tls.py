"""POP3 over TLS, driven by real clients: STLS on the POP3 port (RFC
2595), implicit TLS on pop3s_listen (RFC 8314), the login process as
the session's TLS end and relay after the login (doc/DESIGN.md, "The
login layer"), what a client pipelines behind STLS, the versions
refused, the parent's plaintext refusals kept out of TLS, and a login
process that holds no private key."""
import os
import poplib
import re
import signal
import socket
import ssl
import subprocess

import pytest

from conftest import free_port, wait_until
from test_keyd import private_needles
from test_pop3 import (ALICE, MESSAGE, PASSWORD, deliver, memory_count,
                       ready)
from test_tls import client_ctx


@pytest.fixture
def psuite(suite_factory):
    """A suite with a certificate (made by postern setup), STLS on the
    POP3 port and implicit TLS on pop3s_listen; one message for alice."""
    s = suite_factory("")
    s.pop3s_port = free_port()
    tls = s.root / "tls"
    s.tls_conf = (f"tls_cert_file = {tls}/cert.pem\n"
                  f"tls_key_file = {tls}/key.pem\n"
                  f"pop3s_listen = 127.0.0.1:{s.pop3s_port}\n")
    s.write_conf(s.tls_conf)
    assert "made a self-signed certificate" in s.postern("setup").stdout
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    deliver(s, ALICE, [MESSAGE])
    return s


def retr_body(c):
    """Message 1 as the client sees it, trace fields dropped."""
    _, lines, _ = c.retr(1)
    text = b"\r\n".join(lines) + b"\r\n"
    return text[text.index(b"From: Sender"):]


def post_login_pids(suite):
    """The suite's pop3d mail processes (exec'd with -m)."""
    out = []
    for pid in suite.pids_of("pop3d"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"\0-m\0" in f.read():
                    out.append(pid)
        except OSError:
            pass
    return out


def tls_log_pids(suite):
    """pop3d processes that logged a TLS handshake: the login processes
    that stay as their sessions' TLS ends."""
    return [int(p) for p in re.findall(
        r"pop3d\[(\d+)\]: Anonymous TLS connection established from "
        r"\[127\.0\.0\.1\]: TLSv1\.[23] with cipher", suite.log_text())]


def line(sock):
    """One line read a byte at a time: nothing after it is consumed, so
    the socket can go on into a TLS handshake."""
    data = b""
    while not data.endswith(b"\r\n"):
        c = sock.recv(1)
        assert c, f"connection closed after {data!r}"
        data += c
    return data


def test_stls_with_poplib_login_and_retr_through_the_relay(psuite):
    s = psuite
    c = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    assert "STLS" in c.capa()
    assert c.stls(context=client_ctx()).startswith(b"+OK Begin TLS")
    # Under TLS it is no longer offered (RFC 2595 4).
    assert "STLS" not in c.capa()
    c.user(ALICE)
    c.pass_(PASSWORD)
    # The mail process reads through the login process's relay.
    assert retr_body(c) == MESSAGE
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    # TLS ends in the login process: the mail process (pop3d-mail,
    # named pop3d) never loads OpenSSL, even in a TLS session.
    pids = post_login_pids(s)
    assert pids
    for pid in pids:
        assert os.readlink(f"/proc/{pid}/exe").endswith("/pop3d-mail")
        with open(f"/proc/{pid}/maps") as f:
            maps = f.read()
        assert "libcrypto" not in maps and "libssl" not in maps, pid
    c.quit()
    wait_until(lambda: tls_log_pids(s), 10, what="the TLS log line")


def test_pop3s_with_poplib_pop3_ssl(psuite):
    s = psuite
    c = poplib.POP3_SSL("127.0.0.1", s.pop3s_port, timeout=30,
                        context=client_ctx())
    assert c.getwelcome().startswith(b"+OK Postern POP3 ready")
    assert "STLS" not in c.capa()
    c.user(ALICE)
    c.pass_(PASSWORD)
    assert c.stat()[0] == 1
    assert retr_body(c) == MESSAGE
    c.quit()


def test_curl_ssl_reqd_pop3_and_pop3s(psuite):
    s = psuite
    for url in (f"pop3://127.0.0.1:{s.pop3_port}/1",
                f"pop3s://127.0.0.1:{s.pop3s_port}/1"):
        r = subprocess.run(["curl", "-sS", "--ssl-reqd", "-k", url, "-u",
                            f"{ALICE}:{PASSWORD}", "--max-time", "30"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.endswith(MESSAGE), r.stdout


def test_openssl_s_client_starttls_pop3_and_implicit(psuite):
    s = psuite
    for args in (("-connect", f"127.0.0.1:{s.pop3_port}", "-starttls",
                  "pop3"), ("-connect", f"127.0.0.1:{s.pop3s_port}")):
        r = subprocess.run(["openssl", "s_client", "-ign_eof", *args],
                           input=b"CAPA\r\nQUIT\r\n", capture_output=True,
                           timeout=60)
        out = r.stdout.decode()
        assert "subject=CN = mx.test" in out, out
        assert re.search(r"New, TLSv1\.3, Cipher is TLS_", out), out
        assert "+OK Postern POP3 signing off" in out, out
        # CAPA under TLS: no STLS any more.
        caps = out[out.index("+OK capability list"):]
        assert "\nSTLS" not in caps[:caps.index("\n.\r")], out


def test_pipelined_command_after_stls_is_never_answered(psuite):
    s = psuite
    mark = len(s.log_text())
    raw = socket.create_connection(("127.0.0.1", s.pop3_port), 10)
    assert line(raw).startswith(b"+OK Postern POP3 ready")
    # One write: CAPA rides in the same segment as STLS.
    raw.sendall(b"STLS\r\nCAPA\r\n")
    assert line(raw) == b"+OK Begin TLS negotiation\r\n"
    # Had CAPA been answered in plaintext, its lines would come before
    # the handshake and break it.
    t = client_ctx().wrap_socket(raw)
    tf = t.makefile("rb")
    # Under TLS the first answer is QUIT's, not CAPA's.
    t.sendall(b"QUIT\r\n")
    assert tf.readline() == b"+OK Postern POP3 signing off\r\n"
    t.close()
    wait_until(lambda: re.search(
        r"improper command pipelining after STARTTLS from "
        r"\[127\.0\.0\.1\]: 6 byte\(s\) discarded", s.log_text()[mark:]),
        10, what="the discard in the log")


def test_stls_after_tls_or_after_user_is_err(psuite):
    s = psuite
    c = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    c.user(ALICE)
    with pytest.raises(poplib.error_proto, match="after USER"):
        c._shortcmd("STLS")
    c.quit()
    c = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    c.stls(context=client_ctx())
    with pytest.raises(poplib.error_proto, match="already active"):
        c._shortcmd("STLS")
    # The session goes on under TLS, and forgot nothing it should keep.
    c.user(ALICE)
    c.pass_(PASSWORD)
    assert c.stat()[0] == 1
    c.quit()
    c = poplib.POP3_SSL("127.0.0.1", s.pop3s_port, timeout=30,
                        context=client_ctx())
    with pytest.raises(poplib.error_proto, match="already active"):
        c._shortcmd("STLS")
    c.quit()


def test_stls_forgets_the_user_given_before(psuite):
    """RFC 2595 4: after STLS the client starts over. A USER given in
    plaintext is refused STLS; a session that said nothing keeps
    nothing either: PASS right after STLS is out of order."""
    s = psuite
    c = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    c.stls(context=client_ctx())
    with pytest.raises(poplib.error_proto, match="send USER first"):
        c.pass_(PASSWORD)
    c.quit()


def test_stls_without_a_certificate_is_not_offered(suite_factory):
    s = suite_factory("")
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    c = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    assert "STLS" not in c.capa()
    with pytest.raises(poplib.error_proto, match="STLS not available"):
        c._shortcmd("STLS")
    c.quit()


def test_check_refuses_pop3s_without_a_certificate(suite_factory):
    s = suite_factory(f"pop3s_listen = 127.0.0.1:{free_port()}\n")
    r = s.postern("check", check=False)
    assert r.returncode != 0
    assert "pop3s_listen" in r.stdout + r.stderr


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_1_1_is_refused_on_pop3s_and_after_stls(psuite):
    s = psuite
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    mark = len(s.log_text())
    with socket.create_connection(("127.0.0.1", s.pop3s_port), 10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            with ctx.wrap_socket(raw) as t:
                t.recv(100)
    with socket.create_connection(("127.0.0.1", s.pop3_port), 10) as raw:
        line(raw)
        raw.sendall(b"STLS\r\n")
        assert line(raw).startswith(b"+OK Begin TLS")
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            with ctx.wrap_socket(raw) as t:
                t.recv(100)
    wait_until(lambda: len(re.findall(
        r"SSL_accept error from \[127\.0\.0\.1\]: handshake failed: "
        r".*unsupported protocol", s.log_text()[mark:])) == 2, 10,
        what="both refusals in the log")
    # TLS 1.2 is served.
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", s.pop3s_port), 10) as raw:
        with ctx.wrap_socket(raw) as t:
            assert t.version() == "TLSv1.2"
            assert t.recv(100).startswith(b"+OK Postern POP3 ready")


def test_a_tls_login_process_holds_no_private_key(psuite):
    """The relay signed its handshake through keyd and holds no key."""
    s = psuite
    needles = private_needles(s.root / "tls" / "key.pem")
    before = set(tls_log_pids(s))
    c = poplib.POP3_SSL("127.0.0.1", s.pop3s_port, timeout=30,
                        context=client_ctx())
    c.user(ALICE)
    c.pass_(PASSWORD)
    assert c.stat()[0] == 1
    wait_until(lambda: set(tls_log_pids(s)) - before, 10,
               what="the TLS log line")
    [pid] = set(tls_log_pids(s)) - before
    # The session is open through this process: scan it now.
    assert pid in s.pids_of("pop3d")
    assert all(memory_count(pid, n) == 0 for n in needles)
    [keyd] = s.pids_of("keyd")
    assert any(memory_count(keyd, n) > 0 for n in needles), \
        "the scan finds the key nowhere"
    c.quit()


def test_kill_of_the_relay_ends_that_session_only(psuite):
    s = psuite
    before = set(tls_log_pids(s))
    a = poplib.POP3_SSL("127.0.0.1", s.pop3s_port, timeout=30,
                        context=client_ctx())
    a.user(ALICE)
    a.pass_(PASSWORD)
    wait_until(lambda: len(set(tls_log_pids(s)) - before) == 1, 10,
               what="a's TLS log line")
    [relay] = set(tls_log_pids(s)) - before
    # A second session, of another user, under TLS too.
    s.postern("user", "add", "bob@example.test")
    ready(s, users=("bob@example.test",))
    b = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    b.stls(context=client_ctx())
    b.user("bob@example.test")
    b.pass_(PASSWORD)
    wait_until(lambda: len(post_login_pids(s)) == 2, 10,
               what="two mail processes")
    os.kill(relay, signal.SIGKILL)
    # a's connection ends; its mail process sees its relay go and ends.
    with pytest.raises((poplib.error_proto, OSError, EOFError)):
        a.stat()
    wait_until(lambda: len(post_login_pids(s)) == 1, 10,
               what="a's mail process to end")
    # b goes on.
    assert b.stat()[0] == 0
    assert b.noop().startswith(b"+OK")
    b.quit()
    wait_until(lambda: not post_login_pids(s), 10, what="b's end")


def test_parent_writes_no_clear_line_into_tls(psuite):
    """pop3_max_sessions = 1: the parent's refusals are plaintext lines,
    so a pop3s client is closed without one, and a session that started
    STLS is dropped for room without one."""
    s = psuite
    s.write_conf(s.tls_conf + "pop3_max_sessions = 1\n")
    s.postern("reload")
    mark = len(s.log_text())
    # A session past STLS, not logged in: the oldest, dropped for room.
    raw = socket.create_connection(("127.0.0.1", s.pop3_port), 10)
    assert line(raw).startswith(b"+OK Postern POP3 ready")
    raw.sendall(b"STLS\r\n")
    assert line(raw).startswith(b"+OK Begin TLS")
    t = client_ctx().wrap_socket(raw)
    t.settimeout(20)
    # A newcomer on pop3s takes its place.
    n = poplib.POP3_SSL("127.0.0.1", s.pop3s_port, timeout=30,
                        context=client_ctx())
    wait_until(lambda: "to make room" in s.log_text()[mark:], 10,
               what="the drop in the log")
    # A plaintext line inside TLS would be a record error, not an end.
    try:
        assert t.recv(100) == b""
    except (ssl.SSLEOFError, ConnectionResetError):
        pass
    t.close()
    # The newcomer logs in; now every session has logged in.
    n.user(ALICE)
    n.pass_(PASSWORD)
    # A pop3s client is refused without a line.
    with socket.create_connection(("127.0.0.1", s.pop3s_port), 10) as c:
        c.settimeout(20)
        assert c.recv(100) == b""
    # A plaintext one gets the line.
    with socket.create_connection(("127.0.0.1", s.pop3_port), 10) as c:
        c.settimeout(20)
        assert c.recv(100).startswith(b"-ERR [SYS/TEMP] too many")
    n.quit()


def test_reload_adds_pop3s_listen(suite_factory):
    s = suite_factory("")
    tls = s.root / "tls"
    s.write_conf(f"tls_cert_file = {tls}/cert.pem\n"
                 f"tls_key_file = {tls}/key.pem\n")
    s.postern("setup")
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    port = free_port()
    s.write_conf(f"tls_cert_file = {tls}/cert.pem\n"
                 f"tls_key_file = {tls}/key.pem\n"
                 f"pop3s_listen = 127.0.0.1:{port}\n")
    r = s.postern("reload")
    assert "pop3s_listen" in r.stdout + r.stderr + s.log_text()

    def greets():
        try:
            c = poplib.POP3_SSL("127.0.0.1", port, timeout=5,
                                context=client_ctx())
        except OSError:
            return False
        c.quit()
        return True
    wait_until(greets, 20, what="pop3s after the reload")


def test_plaintext_on_the_pop3s_port_ends_only_that_session(psuite):
    s = psuite
    mark = len(s.log_text())
    with socket.create_connection(("127.0.0.1", s.pop3s_port), 10) as c:
        c.settimeout(20)
        c.sendall(b"USER alice@example.test\r\nPASS x\r\n" + b"\0" * 300)
        # No greeting in the clear, ever: the handshake fails, it ends.
        got = b""
        try:
            while (b := c.recv(4096)):
                got += b
        except ConnectionResetError:
            pass
        assert b"+OK" not in got and b"-ERR" not in got, got
    wait_until(lambda: re.search(r"SSL_accept error from \[127\.0\.0\.1\]",
                                 s.log_text()[mark:]), 10,
               what="the failed handshake in the log")
    c = poplib.POP3_SSL("127.0.0.1", s.pop3s_port, timeout=30,
                        context=client_ctx())
    c.user(ALICE)
    c.pass_(PASSWORD)
    assert c.stat()[0] == 1
    c.quit()


def test_pop3s_greeting_does_not_wait_for_a_delayed_ack(psuite):
    # As on the smtps port (test_tls.py): the login process writes the
    # greeting right behind the session ticket.
    from test_tls import greeting_gaps
    gaps = greeting_gaps(psuite.pop3s_port)
    assert min(gaps) < 0.030, gaps
