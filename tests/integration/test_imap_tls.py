"""imapd's login: STARTTLS and implicit TLS (imaps_listen) with imaplib
and openssl s_client, the plaintext-login policy (LOGINDISABLED, NO
[PRIVACYREQUIRED]), commands pipelined after STARTTLS, wrong passwords,
and the per-user session limit."""
import imaplib
import re
import socket
import ssl
import subprocess

import pytest

from conftest import free_port, wait_until
from test_imap import ALICE, PASSWORD, deliver, ready
from test_tls import client_ctx


def tls_suite(suite_factory, policy=None, extra=""):
    s = suite_factory("")
    s.imaps_port = free_port()
    tls = s.root / "tls"
    conf = (f"tls_cert_file = {tls}/cert.pem\n"
            f"tls_key_file = {tls}/key.pem\n"
            f"imaps_listen = 127.0.0.1:{s.imaps_port}\n" + extra)
    if policy is not None:
        conf += f"plaintext_auth_networks = {policy}\n"
    s.write_conf(conf)
    assert "made a self-signed certificate" in s.postern("setup").stdout
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    deliver(s, ALICE, ["tls"])
    return s


@pytest.fixture
def strict(suite_factory):
    """127.0.0.1 is not a network where passwords may go in the clear."""
    return tls_suite(suite_factory, "127.0.0.200/32")


def line(sock):
    out = b""
    while not out.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            break
        out += b
    return out


def test_plain_login_refused_then_starttls_and_imaps(strict):
    s = strict
    c = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=30)
    caps = c.capability()[1][0]
    assert b"LOGINDISABLED" in caps and b"STARTTLS" in caps
    assert b"AUTH=PLAIN" not in caps
    with pytest.raises(imaplib.IMAP4.error) as e:
        c.login(ALICE, PASSWORD)
    assert "PRIVACYREQUIRED" in str(e.value)
    c.starttls(ssl_context=client_ctx())
    caps = c.capability()[1][0]
    assert b"AUTH=PLAIN" in caps and b"STARTTLS" not in caps
    assert c.login(ALICE, PASSWORD)[0] == "OK"
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1].strip() == b"Subject: tls"
    c.logout()
    # Implicit TLS, and AUTHENTICATE PLAIN with SASL-IR.
    c = imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port, ssl_context=client_ctx(),
                          timeout=30)
    assert b"STARTTLS" not in c.capability()[1][0]
    typ, _ = c.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{PASSWORD}")
    assert typ == "OK"
    assert c.select("INBOX")[1] == [b"1"]
    c.logout()


def test_openssl_s_client_starttls_imap(strict):
    r = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{strict.imap_port}",
         "-starttls", "imap", "-quiet"],
        input=f"a LOGIN {ALICE} \"{PASSWORD}\"\r\nb LOGOUT\r\n".encode(),
        capture_output=True, timeout=30)
    assert b"a OK [CAPABILITY" in r.stdout, r


def test_pipelined_command_after_starttls_is_never_answered(strict):
    s = strict
    mark = len(s.log_text())
    raw = socket.create_connection(("127.0.0.1", s.imap_port), 10)
    assert line(raw).startswith(b"* OK [CAPABILITY")
    raw.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
    assert line(raw) == b"a OK Begin TLS negotiation now.\r\n"
    t = client_ctx().wrap_socket(raw)
    tf = t.makefile("rb")
    t.sendall(b"c NOOP\r\n")
    assert tf.readline() == b"c OK NOOP completed.\r\n"
    t.close()
    wait_until(lambda: re.search(
        r"improper command pipelining after STARTTLS from "
        r"\[127\.0\.0\.1\]: \d+ byte\(s\) discarded", s.log_text()[mark:]),
        10, what="the discard in the log")


def test_repeated_wrong_password_closes(suite):
    ready(suite)
    c = imaplib.IMAP4("127.0.0.1", suite.imap_port, timeout=30)
    for i in range(2):
        with pytest.raises(imaplib.IMAP4.error) as e:
            c.login(ALICE, "wrong")
        assert "AUTHENTICATIONFAILED" in str(e.value)
    with pytest.raises((imaplib.IMAP4.error, imaplib.IMAP4.abort)):
        c.login(ALICE, "wrong")
    # The third failure ends the connection.
    with pytest.raises((imaplib.IMAP4.abort, OSError, EOFError)):
        c.noop()
    assert "wrong" not in suite.log_text()


def test_user_session_limit(suite_factory):
    s = suite_factory("imap_user_session_limit = 2\n")
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    held = []
    for _ in range(2):
        c = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=30)
        c.login(ALICE, PASSWORD)
        held.append(c)
    c = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=30)
    with pytest.raises(imaplib.IMAP4.error) as e:
        c.login(ALICE, PASSWORD)
    assert "[LIMIT]" in str(e.value)
    held.pop().logout()
    # The freed slot is counted once the session process is reaped.
    def can_login():
        try:
            c.login(ALICE, PASSWORD)
            return True
        except imaplib.IMAP4.error:
            return False
    wait_until(can_login, 10, what="a login after a logout")
    c.logout()
    for h in held:
        h.logout()
