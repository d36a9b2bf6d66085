"""smtpd's session processes: a process may serve several connections one
after another (smtpd_max_use), but only from one client address, with
nothing of the last client left in its memory; it leaves when idle for
smtpd_max_idle, when its uses are spent, or when killed, and nobody
notices but the log."""
import os
import re
import signal
import smtplib
import socket

import pytest

from conftest import wait_until
from test_pop3 import memory_count
from test_smtp_hostile import (ppid_of, sessions_running, smtpd_parent,
                               smtpd_sessions, smtpd_templates)

RCPT = "alice@example.test"


def session_pids(suite):
    """The pid of each SMTP session so far, in order, from smtpd's log."""
    return [int(p) for p in re.findall(r"postern/smtpd\[(\d+)\]: connect from",
                                       suite.log_text())]


# recvmsg(2), where an idle session process waits for its next client.
RECVMSG = {"x86_64": "47", "aarch64": "212"}.get(os.uname().machine)


def settled(pid):
    """Whether session process pid is done with its last client: gone, or
    waiting in recvmsg for the next one (so it has told the listener it
    is idle, and the next connection from its address is handed to it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        with open(f"/proc/{pid}/syscall") as f:
            return f.read().split()[0] == RECVMSG
    except (FileNotFoundError, ProcessLookupError):
        return True


def one_mail(suite, source="127.0.0.1", subject="hello", helo="client.test",
             sender="a@remote.test", rcpts=(RCPT,), body="body\r\n",
             wait=True):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30,
                      local_hostname=helo,
                      source_address=(source, 0)) as c:
        refused = c.sendmail(sender, list(rcpts),
                             f"Subject: {subject}\r\nX-Subject: {subject}"
                             f"\r\n\r\n{body}")
    if wait:
        wait_until(lambda: sessions_running(suite) == 0, 10,
                   what="the session to end")
        pid = session_pids(suite)[-1]
        wait_until(lambda: settled(pid), 10,
                   what=f"session process {pid} to be idle or gone")
    return refused


def probe_settled(s):
    """Waits until start()'s readiness probe is over for the listener too:
    until then its session counts against its address (127.0.0.1)."""
    wait_until(lambda: sessions_running(s) == 0, 10,
               what="the harness's probe session to end")
    probe = session_pids(s)[-1]
    wait_until(lambda: settled(probe), 10, what="the probe's process")


@pytest.fixture
def rsuite(suite_factory):
    if RECVMSG is None:
        pytest.skip(f"no recvmsg number known for {os.uname().machine}")
    s = suite_factory("smtpd_max_use = 3\n")
    s.postern("user", "add", RCPT)
    s.start()
    probe_settled(s)
    return s


def test_one_address_reuses_a_process_until_max_use(rsuite):
    s = rsuite
    for i in range(4):
        one_mail(s, subject=f"m{i}")
    pids = session_pids(s)
    # The harness's probe and four mails: three connections per process.
    assert len(pids) == 5
    assert pids[0] == pids[1] == pids[2]
    assert pids[3] == pids[4] != pids[0]
    s.wait_messages(RCPT, 4)
    # The spent process left; the other waits for its third connection.
    wait_until(lambda: sorted(smtpd_sessions(s)) == [pids[3]], 10,
               what="the spent process to exit")


def test_another_address_always_gets_a_fresh_process(rsuite):
    s = rsuite
    one_mail(s, source="127.0.0.1", subject="from .1")
    one_mail(s, source="127.0.0.2", subject="from .2")
    one_mail(s, source="127.0.0.2", subject="from .2 again")
    one_mail(s, source="127.0.0.1", subject="from .1 again")
    probe, a1, b1, b2, a2 = session_pids(s)
    assert a1 == probe == a2        # 127.0.0.1 throughout
    assert b1 == b2 != a1           # 127.0.0.2 never met 127.0.0.1's
    s.wait_messages(RCPT, 4)


def test_max_use_1_gives_every_connection_a_fresh_process(suite_factory):
    s = suite_factory("smtpd_max_use = 1\n")
    s.postern("user", "add", RCPT)
    s.start()
    for i in range(3):
        one_mail(s, subject=f"m{i}")
    pids = session_pids(s)
    assert len(pids) == 4 and len(set(pids)) == 4
    wait_until(lambda: smtpd_sessions(s) == [],
               10, what="every session process to exit")


def test_idle_process_leaves_after_max_idle(suite_factory):
    s = suite_factory("smtpd_max_idle = 1s\n")
    s.postern("user", "add", RCPT)
    s.start()
    one_mail(s, subject="before")
    parent = smtpd_parent(s)
    idle = session_pids(s)[-1]
    # Every idle process leaves (the harness's probe may have had one of
    # its own), each within smtpd_max_idle; the listener stays.
    wait_until(lambda: smtpd_sessions(s) == [],
               10, what="the idle processes to leave")
    assert smtpd_parent(s) == parent
    one_mail(s, subject="after")
    assert session_pids(s)[-1] != idle
    s.wait_messages(RCPT, 2)


def test_killed_idle_process_costs_nothing(rsuite):
    s = rsuite
    one_mail(s, subject="first")
    idle = session_pids(s)[-1]
    os.kill(idle, signal.SIGKILL)
    wait_until(lambda: f"session process {idle} killed by signal 9"
               in s.log_text(), 10, what="the listener to reap it")
    one_mail(s, subject="second")
    assert session_pids(s)[-1] != idle
    s.wait_messages(RCPT, 2)
    assert ppid_of(session_pids(s)[-1]) in smtpd_templates(s)


def test_busy_sessions_are_counted_idle_ones_make_way(suite_factory):
    """Two busy sessions fill smtpd_max_sessions = 2; idle processes do
    not count, and a new address takes an idle process's place."""
    s = suite_factory("smtpd_max_sessions = 2\n")
    s.postern("user", "add", RCPT)
    s.start()
    one_mail(s, source="127.0.0.2", subject="two")
    one_mail(s, source="127.0.0.3", subject="three")
    # Two idle processes (.2 and .3), and the probe's (.1): a client from
    # .4 is served, by a fresh process, while two sessions are open.
    held = [socket.create_connection(("127.0.0.1", s.port), 10,
                                     source_address=("127.0.0.5", 0))]
    assert held[0].recv(100).startswith(b"220")
    ended = s.log_text().count("]: disconnect from")
    one_mail(s, source="127.0.0.4", subject="four", wait=False)
    wait_until(lambda: s.log_text().count("]: disconnect from") > ended, 10,
               what="the session from 127.0.0.4 to end")
    # Busy until its process tells the listener it is idle, just after
    # the log line.
    four = session_pids(s)[-1]
    wait_until(lambda: settled(four), 10, what=f"session process {four}")
    held.append(socket.create_connection(("127.0.0.1", s.port), 10,
                                         source_address=("127.0.0.6", 0)))
    assert held[1].recv(100).startswith(b"220")
    with socket.create_connection(("127.0.0.1", s.port), 10,
                                  source_address=("127.0.0.7", 0)) as third:
        assert third.recv(100).startswith(b"421 4.7.0")
    for h in held:
        h.close()
    s.wait_messages(RCPT, 3)
    assert "too many sessions (2)" in s.log_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="reads other processes' memory")
def test_a_reused_process_keeps_nothing_of_its_last_client(rsuite):
    s = rsuite
    marks = {
        "helo": "Helo-Mark-5821.test",
        "sender": "Sender-Mark-5821@remote.test",
        "unknown": "Unknown-Mark-5821@example.test",
        "body": "Body-Mark-5821",
        "subject": "Subject-Mark-5821",
    }
    refused = one_mail(s, helo=marks["helo"], sender=marks["sender"],
                       rcpts=(RCPT, marks["unknown"]),
                       subject=marks["subject"],
                       body=(marks["body"] + "\r\n") * 3000)
    assert marks["unknown"] in refused
    [m] = s.wait_messages(RCPT, 1)
    assert marks["body"].encode() in m.read_bytes()
    idle = session_pids(s)[-1]
    assert idle in s.pids_of("smtpd")
    left = {k: memory_count(idle, v.encode()) for k, v in marks.items()}
    assert left == {k: 0 for k in marks}, left
    # And the process still serves its address.
    one_mail(s, subject="next")
    assert session_pids(s)[-1] == idle


@pytest.mark.parametrize("daemon", ["queued", "resolverd"])
def test_idle_process_survives_a_restart_of_the_daemons_it_talks_to(
        rsuite, daemon):
    """An idle process kept its connections to queued and resolverd; one
    of them died and came back. The next client of that address must not
    see a 4xx for it."""
    s = rsuite
    one_mail(s, subject="before")
    idle = session_pids(s)[-1]
    [old] = s.pids_of(daemon)
    os.kill(old, signal.SIGKILL)
    def restarted():
        # One look: between two, the old one could die and read as new.
        now = s.pids_of(daemon)
        return now and now != [old]
    wait_until(restarted, 20, what=f"master to restart {daemon}")
    if daemon == "queued":
        wait_until(lambda: s.log_text().count("queue scanned:") >= 2, 20,
                   what="the new queued to be ready")
    one_mail(s, subject="after")     # smtplib raises on any 4xx
    assert session_pids(s)[-1] == idle
    s.wait_messages(RCPT, 2)


def greeting(source, port):
    c = socket.create_connection(("127.0.0.1", port), 10,
                                 source_address=(source, 0))
    c.settimeout(10)
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = c.recv(512)
        if not chunk:
            break
        data += chunk
    return c, data


def test_one_address_cannot_take_every_session(suite_factory):
    """smtpd_client_connection_limit sessions per client address; clients
    in mynetworks are exempt, other addresses unaffected."""
    if RECVMSG is None:
        pytest.skip(f"no recvmsg number known for {os.uname().machine}")
    s = suite_factory("smtpd_client_connection_limit = 3\n"
                      "mynetworks = 127.0.0.9/32\n")
    s.start()
    probe_settled(s)
    held = []
    try:
        for _ in range(3):
            c, g = greeting("127.0.0.1", s.port)
            assert g.startswith(b"220"), g
            held.append(c)
        c, g = greeting("127.0.0.1", s.port)
        c.close()
        assert g.startswith(b"421 4.7.0 ") and b"from your address" in g, g
        assert "too many sessions from [127.0.0.1] (3)" in s.log_text()
        c, g = greeting("127.0.0.2", s.port)
        held.append(c)
        assert g.startswith(b"220"), g
        for _ in range(4):
            c, g = greeting("127.0.0.9", s.port)
            held.append(c)
            assert g.startswith(b"220"), g
        # One session from 127.0.0.1 ends: the address may come back.
        ended = s.log_text().count("]: disconnect from unknown[127.0.0.1]")
        held.pop(0).close()
        wait_until(lambda: s.log_text().count(
            "]: disconnect from unknown[127.0.0.1]") > ended, 10,
            what="that session to end")
        pid = int(re.findall(r"postern/smtpd\[(\d+)\]: disconnect from "
                             r"unknown\[127\.0\.0\.1\]", s.log_text())[-1])
        wait_until(lambda: settled(pid), 10, what="its process to be idle")
        c, g = greeting("127.0.0.1", s.port)
        held.append(c)
        assert g.startswith(b"220"), g
    finally:
        for c in held:
            c.close()


def greet(suite, source):
    c = socket.create_connection(("127.0.0.1", suite.port), 10,
                                 source_address=(source, 0))
    c.settimeout(10)
    assert c.recv(100).startswith(b"220"), source
    return c


def test_a_template_forks_at_most_100_sessions(suite_factory):
    """libcommon/forkserver.h: FORKSERVER_MAX_SPAWNS, then a fresh one
    (a new layout); sessions go on meanwhile."""
    s = suite_factory("smtpd_max_use = 1\n")
    s.start()
    [first] = wait_until(lambda: smtpd_templates(s), 10, what="a template")
    for i in range(100):
        # start()'s readiness probe may have been this template's first
        # session (when it was ready in time) or an exec'd one: so it
        # has forked i or i + 1 sessions here, and must be there while
        # that is below 100.
        if i < 99:
            assert first in smtpd_templates(s), i
        with greet(s, "127.0.0.2") as c:
            c.sendall(b"QUIT\r\n")
            assert c.recv(100).startswith(b"221")
    # The probe's session and these: more than one template's share.
    wait_until(lambda: first not in smtpd_templates(s) and
               smtpd_templates(s), 10, what="the next template")
    with greet(s, "127.0.0.3") as c:
        c.sendall(b"QUIT\r\n")
        assert c.recv(100).startswith(b"221")
    assert s.log_text().count(": connect from unknown[127.0.0.2]") == 100


def test_a_template_killed_leaves_its_sessions_counted(suite_factory):
    """Its sessions are the listener's to reap once it is gone: they end
    and make room, and new sessions come from the next template."""
    s = suite_factory("smtpd_max_sessions = 2\nsmtpd_max_use = 1\n")
    s.start()
    wait_until(lambda: sessions_running(s) == 0 and smtpd_templates(s), 10,
               what="the probe's session to end and a template")
    held = [greet(s, "127.0.0.2"), greet(s, "127.0.0.3")]
    with socket.create_connection(("127.0.0.1", s.port), 10,
                                  source_address=("127.0.0.4", 0)) as c:
        assert c.recv(100).startswith(b"421 4.7.0")
    [tmpl] = smtpd_templates(s)
    os.kill(tmpl, signal.SIGKILL)
    wait_until(lambda: tmpl not in smtpd_templates(s), 10,
               what="the template to go")
    for h in held:
        h.sendall(b"QUIT\r\n")
        assert h.recv(100).startswith(b"221")
        h.close()
    wait_until(lambda: smtpd_sessions(s) == [], 10,
               what="the orphaned sessions to end")
    wait_until(lambda: smtpd_templates(s), 10, what="the next template")
    again = [greet(s, "127.0.0.5"), greet(s, "127.0.0.6")]
    for h in again:
        h.close()
