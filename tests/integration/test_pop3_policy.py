"""The plaintext-login policy of pop3d (plaintext_auth_networks; the
login layer's libcommon/login_policy.c), driven by poplib and a raw
socket. Every client here connects from 127.0.0.1, which the default
list holds, so the tests that want a non-secure client set the list to
127.0.0.200/32 (or empty): then 127.0.0.1 is outside it, and a password
may only travel under TLS (STLS done, or pop3s)."""
import base64
import os
import poplib
import re
import socket

import pytest

from conftest import free_port, wait_until
from test_pop3 import ALICE, MESSAGE, PASSWORD, deliver, ready
from test_pop3_tls import retr_body
from test_tls import client_ctx

REFUSED = ("-ERR [AUTH] Plaintext authentication disallowed on non-secure "
           "(SSL/TLS) connections.")


def tls_suite(suite_factory, policy):
    """A running suite with a certificate, STLS on the POP3 port, pop3s,
    the given plaintext_auth_networks line (None: the default) and one
    message for alice."""
    s = suite_factory("")
    s.pop3s_port = free_port()
    tls = s.root / "tls"
    s.tls_conf = (f"tls_cert_file = {tls}/cert.pem\n"
                  f"tls_key_file = {tls}/key.pem\n"
                  f"pop3s_listen = 127.0.0.1:{s.pop3s_port}\n")
    if policy is not None:
        s.tls_conf += f"plaintext_auth_networks = {policy}\n"
    s.write_conf(s.tls_conf)
    assert "made a self-signed certificate" in s.postern("setup").stdout
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    deliver(s, ALICE, [MESSAGE])
    return s


@pytest.fixture
def strict(suite_factory):
    """127.0.0.1 is not a network where passwords may go in the clear."""
    return tls_suite(suite_factory, "127.0.0.200/32")


def refused_lines(suite, mark):
    return re.findall(r"pop3d\[\d+\]: plaintext login refused: "
                      r"client=\[127\.0\.0\.1\]: (\w+) without TLS",
                      suite.log_text()[mark:])


def shortcmd_err(c, cmd):
    """The -ERR line a command gets (poplib raises it)."""
    with pytest.raises(poplib.error_proto) as e:
        c._shortcmd(cmd)
    return e.value.args[0].decode()


def test_plain_login_is_refused_then_works_after_stls(strict):
    s = strict
    mark = len(s.log_text())
    c = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    caps = c.capa()
    assert "USER" not in caps and "SASL" not in caps, caps
    assert "STLS" in caps, caps
    with pytest.raises(poplib.error_proto) as e:
        c.user(ALICE)
    assert e.value.args[0].decode() == REFUSED
    with pytest.raises(poplib.error_proto) as e:
        c.pass_(PASSWORD)
    assert e.value.args[0].decode() == REFUSED
    plain = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    assert shortcmd_err(c, "AUTH PLAIN " + plain) == REFUSED
    # Without an initial response: refused before "+ " asks for one.
    assert shortcmd_err(c, "AUTH PLAIN") == REFUSED
    # Each refusal logged once, with the address accept(2) gave.
    wait_until(lambda: len(refused_lines(s, mark)) == 4, 10,
               what="four refusals in the log")
    assert refused_lines(s, mark) == ["USER", "PASS", "AUTH", "AUTH"]
    # authd was never asked.
    assert "auth failed" not in s.log_text()[mark:]
    # After STLS the same connection logs in.
    c.stls(context=client_ctx())
    caps = c.capa()
    assert "USER" in caps and caps.get("SASL") == ["PLAIN"], caps
    c.user(ALICE)
    c.pass_(PASSWORD)
    assert retr_body(c) == MESSAGE
    c.quit()
    assert len(refused_lines(s, mark)) == 4


def test_auth_plain_after_stls_and_pop3s_login(strict):
    s = strict
    plain = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    c = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    c.stls(context=client_ctx())
    assert c._shortcmd("AUTH PLAIN " + plain).startswith(b"+OK")
    assert c.stat()[0] == 1
    c.quit()
    c = poplib.POP3_SSL("127.0.0.1", s.pop3s_port, timeout=30,
                        context=client_ctx())
    caps = c.capa()
    assert "USER" in caps and caps.get("SASL") == ["PLAIN"], caps
    c.user(ALICE)
    c.pass_(PASSWORD)
    assert retr_body(c) == MESSAGE
    c.quit()


def test_bare_auth_lists_no_mechanism_without_tls(strict):
    """The pre-RFC 5034 listing agrees with CAPA's SASL line."""
    s = strict
    with socket.create_connection(("127.0.0.1", s.pop3_port), 10) as raw:
        f = raw.makefile("rb")
        assert f.readline().startswith(b"+OK Postern POP3 ready")
        raw.sendall(b"AUTH\r\nQUIT\r\n")
        assert f.readline() == b"+OK\r\n"
        assert f.readline() == b".\r\n"
        assert f.readline().startswith(b"+OK Postern POP3 signing off")


def test_refused_password_is_in_no_log_nor_file(strict):
    s = strict
    canary = "canary-pw-7f3e9b21"
    mark = len(s.log_text())
    with socket.create_connection(("127.0.0.1", s.pop3_port), 10) as raw:
        f = raw.makefile("rb")
        assert f.readline().startswith(b"+OK")
        plain = base64.b64encode(f"\0{ALICE}\0{canary}".encode())
        # Pipelined, in one write: PASS with no USER before it, then
        # the same password as an AUTH PLAIN response.
        raw.sendall(b"PASS " + canary.encode() + b"\r\nAUTH PLAIN " +
                    plain + b"\r\nQUIT\r\n")
        assert f.readline().decode().rstrip("\r\n") == REFUSED
        assert f.readline().decode().rstrip("\r\n") == REFUSED
        assert f.readline().startswith(b"+OK Postern POP3 signing off")
    wait_until(lambda: len(refused_lines(s, mark)) == 2, 10,
               what="the refusals in the log")
    needles = (canary.encode(), plain)
    for top, _, files in os.walk(s.root):
        for name in files:
            p = os.path.join(top, name)
            if not os.path.isfile(p) or os.path.islink(p):
                continue
            with open(p, "rb") as fh:
                data = fh.read()
            for n in needles:
                assert n not in data, f"{n!r} found in {p}"


def test_refusals_count_as_protocol_errors(strict):
    """POP3_ERRORS_MAX (20) refusals end the session, as other bad
    commands do: a client cannot keep trying in the clear."""
    s = strict
    with socket.create_connection(("127.0.0.1", s.pop3_port), 10) as raw:
        raw.settimeout(20)
        f = raw.makefile("rb")
        assert f.readline().startswith(b"+OK")
        raw.sendall(b"USER alice@example.test\r\n" * 20)
        for _ in range(20):
            assert f.readline().decode().rstrip("\r\n") == REFUSED
        assert f.readline() == b"-ERR too many errors; closing\r\n"
        assert f.readline() == b""


def test_empty_list_requires_tls_even_from_loopback(suite_factory):
    s = tls_suite(suite_factory, "")
    c = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    assert "USER" not in c.capa()
    with pytest.raises(poplib.error_proto) as e:
        c.user(ALICE)
    assert e.value.args[0].decode() == REFUSED
    c.stls(context=client_ctx())
    c.user(ALICE)
    c.pass_(PASSWORD)
    assert c.stat()[0] == 1
    c.quit()


def test_default_list_lets_loopback_log_in_without_tls(suite_factory):
    """The default (127.0.0.0/8, ::1/128) treats loopback as secure, as
    Dovecot does: plain USER/PASS and AUTH PLAIN work from 127.0.0.1
    although STLS is offered."""
    s = tls_suite(suite_factory, None)
    c = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    caps = c.capa()
    assert "USER" in caps and "STLS" in caps and \
        caps.get("SASL") == ["PLAIN"], caps
    c.user(ALICE)
    c.pass_(PASSWORD)
    assert retr_body(c) == MESSAGE
    c.quit()
    plain = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    c = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    assert c._shortcmd("AUTH PLAIN " + plain).startswith(b"+OK")
    c.quit()
    assert "plaintext login refused" not in s.log_text()


def test_reload_applies_the_list_to_new_connections(strict):
    """The list is the parent's configuration: a reload that adds
    127.0.0.1 lets the next connection log in without TLS."""
    s = strict
    s.write_conf(s.tls_conf.replace("127.0.0.200/32",
                                    "127.0.0.200/32, 127.0.0.1"))
    mark = len(s.log_text())
    s.postern("reload")
    wait_until(lambda: re.search(r"pop3d\[\d+\]: configuration reloaded",
                                 s.log_text()[mark:]), 20,
               what="pop3d's reload")

    def plain_login():
        c = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
        try:
            c.user(ALICE)
        except poplib.error_proto:
            c.quit()
            return False
        c.pass_(PASSWORD)
        c.quit()
        return True
    wait_until(plain_login, 20, what="a plain login after the reload")


def test_check_warns_of_a_pop3_port_beyond_the_list_without_tls(
        suite_factory):
    s = suite_factory("")
    warning = "pop3_listen: no tls_cert_file: only clients in " \
        "plaintext_auth_networks can log in"
    r = s.postern("check", check=False)
    assert warning not in r.stdout + r.stderr   # 127.0.0.1 only
    s.write_conf(f"pop3_listen = *:{free_port()}\n")
    r = s.postern("check", check=False)
    assert warning in r.stdout + r.stderr, r.stdout + r.stderr
