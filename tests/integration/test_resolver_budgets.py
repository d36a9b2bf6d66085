"""resolverd's clients: each socket kind has its own budget, so a crowd
on the unprivileged check socket (smtpd's sessions, or anything that
reached smtpd's chroot) cannot lock queued or the login daemons out, and
idle check clients are closed (smtpd reconnects on its next request)."""
import errno
import resource
import smtplib
import socket

import pytest

from conftest import wait_until
from test_pop3 import ALICE, login, ready

CROWD = 1100    # more than the single shared budget of old (1024)


@pytest.fixture
def bsuite(suite_factory):
    s = suite_factory("smtpd_max_sessions = 20\n"
                      "resolver_idle_timeout = 1s\n"
                      "smtpd_max_idle = 60s\n")
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    return s


def crowd(path, n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < n + 200:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is too low")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n + 200), hard))
    out = []
    for _ in range(n):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(str(path))
        except OSError as e:
            # Past the backlog: refused or would block. Either way the
            # crowd is as large as the kernel lets it be.
            if e.errno not in (errno.EAGAIN, errno.ECONNREFUSED):
                raise
        out.append(c)
    return out


def closed_by_server(c):
    try:
        return c.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_a_crowd_on_the_check_socket_locks_out_neither_logins_nor_delivery(
        bsuite):
    s = bsuite
    held = crowd(s.spool / "smtpd" / "resolver.sock", CROWD)
    try:
        # queued's expansions (private socket) still get through ...
        s.sendmail(ALICE, input=b"Subject: through the crowd\n\nhi\n")
        s.wait_messages(ALICE, 1)
        # ... and so do pop3d's password checks (the auth socket).
        p = login(s)
        assert p.stat()[0] == 1
        p.quit()
        assert "not accepting more there for now" in s.log_text()
    finally:
        for c in held:
            c.close()


def test_idle_check_clients_are_closed_and_smtpd_reconnects(bsuite):
    s = bsuite
    [idle] = crowd(s.spool / "smtpd" / "resolver.sock", 1)
    try:
        wait_until(lambda: closed_by_server(idle), 15,
                   what="resolverd to close an idle client")
    finally:
        idle.close()
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.sendmail("a@remote.test", [ALICE], b"Subject: one\r\n\r\nx\r\n")
    marks = s.log_text().count("idle client(s) on the check socket")
    # The session process keeps its resolverd connection while it waits
    # for the next client; resolverd closes it when idle ...
    wait_until(lambda: s.log_text().count(
        "idle client(s) on the check socket") > marks, 15,
        what="resolverd to close smtpd's idle connection")
    # ... and the next session in that process reconnects: RCPT is
    # checked, not answered 4xx.
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        refused = c.sendmail("a@remote.test", [ALICE],
                             b"Subject: two\r\n\r\nx\r\n")
    assert refused == {}
    s.wait_messages(ALICE, 2)


def test_check_refuses_limits_the_host_cannot_serve(suite_factory):
    s = suite_factory("smtpd_max_sessions = 100000\n")
    r = s.postern("check", check=False)
    assert r.returncode == 1
    assert "RLIMIT_NOFILE" in r.stderr
