"""The mail processes of logged-in IMAP and POP3 sessions are forked by
a template (libcommon/forkserver.h, login_postmain.c), not exec'd one by
one: what that must not change (the command line "postern who" reads,
the session counts behind the limits, sessions outliving their
template) and what it adds (a crashed session or a reload replaces the
template). Each wait polls a condition until a deadline."""
import imaplib
import os
import poplib
import signal

import pytest

from conftest import wait_until
from test_imap import ALICE, PASSWORD, login, ready
from test_smtp_hostile import ppid_of, uid_of

BOB = "bob@example.test"


def argv_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a for a in f.read().split(b"\0") if a]
    except (FileNotFoundError, ProcessLookupError):
        return []


def imapd_parent(s):
    [p] = [p for p in s.pids_of("imapd") if ppid_of(p) == s.proc.pid]
    return p


def templates(s, daemon="imapd"):
    return [p for p in s.pids_of(daemon) if b"-T" in argv_of(p)]


def mail_processes(s, daemon="imapd"):
    return [p for p in s.pids_of(daemon) if b"-m" in argv_of(p)]


def one_template(s, daemon="imapd", other_than=()):
    """The template once exactly one other than other_than runs."""
    def found():
        t = [p for p in templates(s, daemon) if p not in other_than]
        return t if len(t) == 1 else None
    return wait_until(found, 20, what=f"{daemon}'s template")[0]


def session_of(s, conn, before):
    """The mail process conn's login added to those in before (listed
    before that login)."""
    [pid] = wait_until(lambda: [p for p in mail_processes(s)
                                if p not in before], 10,
                       what="the new mail process")
    return pid


def imap_suite(suite_factory, extra=""):
    s = suite_factory(extra)
    for u in (ALICE, BOB):
        s.postern("user", "add", u)
    s.start()
    ready(s, (ALICE, BOB))
    return s


def test_mail_processes_are_forked_by_the_template_and_look_exec_d(
        suite_factory):
    s = imap_suite(suite_factory)
    parent = imapd_parent(s)
    tmpl = one_template(s)
    # Root, the parent's child, not a session: it never reads a client.
    assert ppid_of(tmpl) == parent and uid_of(tmpl) == 0
    targv = argv_of(tmpl)
    assert targv[:3] == [b"imapd", b"-c", str(s.conf).encode()], targv
    assert targv[-2] == b"-T" and targv[-1].isdigit(), targv
    a = login(s)
    a_pid = session_of(s, a, [])
    b = login(s, BOB)
    b_pid = session_of(s, b, [a_pid])
    for pid, user in ((a_pid, ALICE), (b_pid, BOB)):
        assert ppid_of(pid) == tmpl
        assert uid_of(pid) != 0
        argv = argv_of(pid)
        # The command line an exec'd mail process has (less -C): the
        # shape "postern who" and ps read.
        assert argv[:3] == [b"imapd", b"-c", str(s.conf).encode()], argv
        assert argv[-2] == b"-m", argv
        fields = argv[-1].split(b":", 3)
        assert fields[2:] == [user.encode(), b"127.0.0.1"], argv
        with open(f"/proc/{pid}/comm") as f:
            assert f.read().strip() == "imapd"
    who = s.postern("who").stdout
    for pid, user in ((a_pid, ALICE), (b_pid, BOB)):
        line = [ln for ln in who.splitlines() if ln.endswith(f" {pid}")]
        assert len(line) == 1 and line[0].split()[:3] == \
            [user, "imap", "127.0.0.1"], who
    a.select("INBOX")
    b.select("INBOX")
    a.logout()
    b.logout()
    wait_until(lambda: not mail_processes(s), 10,
               what="the mail processes to end")
    assert tmpl in templates(s)


def test_limits_count_sessions_of_a_template_that_went(suite_factory):
    """kill -9 of the template: its sessions go on (orphans of the
    parent, which reaps them and counts them until then), a new template
    takes over, and imap_user_session_limit counts both kinds."""
    s = imap_suite(suite_factory, "imap_user_session_limit = 2\n")
    tmpl = one_template(s)
    a = login(s)
    a_pid = session_of(s, a, [])
    os.kill(tmpl, signal.SIGKILL)
    fresh = one_template(s, other_than=(tmpl,))
    assert ppid_of(a_pid) == imapd_parent(s)
    typ, _ = a.select("INBOX")
    assert typ == "OK"
    b = login(s)
    b_pid = session_of(s, b, [a_pid])
    assert ppid_of(b_pid) == fresh
    # Two sessions, one of each kind: a third is refused.
    c = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=30)
    with pytest.raises(imaplib.IMAP4.error) as e:
        c.login(ALICE, PASSWORD)
    assert "[LIMIT]" in str(e.value)
    c.shutdown()
    # The orphan's end is seen (the parent reaps it): room for one more.
    a.logout()
    wait_until(lambda: a_pid not in mail_processes(s), 10,
               what="the orphan to end")
    d = login(s)
    assert ppid_of(session_of(s, d, [b_pid])) == fresh
    typ, _ = d.select("INBOX")
    assert typ == "OK"
    b.logout()
    d.logout()


def test_a_crashed_session_and_a_reload_replace_the_template(
        suite_factory):
    s = imap_suite(suite_factory)
    tmpl = one_template(s)
    a = login(s)
    a_pid = session_of(s, a, [])
    b = login(s, BOB)
    b_pid = session_of(s, b, [a_pid])
    # What a smashed stack canary ends in: a layout that crashed is
    # never reused, and the session that did not crash goes on.
    os.kill(a_pid, signal.SIGABRT)
    fresh = one_template(s, other_than=(tmpl,))
    wait_until(lambda: tmpl not in templates(s), 10,
               what="the old template to go")
    assert "died by a signal: a fresh template" in s.log_text()
    typ, _ = b.select("INBOX")
    assert typ == "OK"
    c = login(s)
    assert ppid_of(session_of(s, c, [b_pid])) == fresh
    # A reload: sessions from then on start with the new settings.
    s.postern("reload")
    newer = one_template(s, other_than=(tmpl, fresh))
    wait_until(lambda: fresh not in templates(s), 10,
               what="the reloaded parent's old template to go")
    before = mail_processes(s)
    d = login(s)
    assert ppid_of(session_of(s, d, before)) == newer
    for conn in (b, c, d):
        typ, _ = conn.select("INBOX")
        assert typ == "OK"
        conn.logout()


def test_pop3_mail_processes_come_from_pop3d_s_template(suite_factory):
    s = suite_factory()
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    tmpl = one_template(s, "pop3d")
    p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    p.user(ALICE)
    p.pass_(PASSWORD)
    [pid] = wait_until(lambda: mail_processes(s, "pop3d"), 10,
                       what="the POP3 mail process")
    assert ppid_of(pid) == tmpl
    assert p.stat()[0] == 0
    p.quit()
