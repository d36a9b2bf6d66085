"""Process hygiene: what every process of the suite inherits from whoever
started it (no descriptors, an environment from an allowlist), what it can
never regain (NO_NEW_PRIVS, no core dumps, no forks in session
processes), and that every smtpd session process is a fresh image with
its own address-space layout."""
import os
import signal
import socket

import pytest

from conftest import wait_until
from test_pop3 import ALICE, Raw, proc_status, ready
from test_smtp_hostile import (ppid_of, smtpd_parent, smtpd_sessions,
                               smtpd_templates)

ALLOWED_ENV = {"PATH", "LANG", "TZ", "ASAN_OPTIONS", "UBSAN_OPTIONS",
               "LSAN_OPTIONS"}


def start_with_baggage(suite, extra_fd):
    """Starts master the way a careless shell would: an extra inherited
    descriptor, a stray environment variable and an odd working
    directory."""
    env = dict(os.environ, POSTERN_TEST_LEAK="secret-from-the-shell",
               LD_PRELOAD="", IFS="x")
    suite.start(env=env, pass_fds=(extra_fd,), cwd=str(suite.root))


def fd_targets(pid):
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            pass
    return out


def environ(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        raw = f.read()
    return dict(kv.decode(errors="replace").split("=", 1)
                for kv in raw.split(b"\0") if b"=" in kv)


def limits(pid):
    """{name: soft limit} from /proc/PID/limits."""
    out = {}
    with open(f"/proc/{pid}/limits") as f:
        next(f)
        for line in f:
            name = line[:26].strip()
            out[name] = line[26:].split()[0]
    return out


def smtp_sessions(suite):
    return smtpd_sessions(suite)


def open_smtp(suite, source):
    s = socket.create_connection(("127.0.0.1", suite.port), 10,
                                 source_address=(source, 0))
    s.settimeout(10)
    assert s.recv(512).startswith(b"220")
    return s


@pytest.fixture
def busy_suite(suite_factory):
    """A suite started with baggage, with an SMTP session, a POP3 login
    process and a POP3 mail process alive."""
    s = suite_factory()
    s.postern("user", "add", ALICE)
    r, w = os.pipe()
    try:
        start_with_baggage(s, w)
    finally:
        os.close(w)
    ready(s)
    s.pipe_inode = os.fstat(r).st_ino
    conns = [open_smtp(s, "127.0.0.2")]
    pre = Raw(s)                    # a login process, waiting for USER
    post = Raw(s)
    post.login()                    # a mail process
    wait_until(lambda: smtp_sessions(s), 10, what="an SMTP session process")
    s.held = (conns, pre, post, r)
    yield s
    for c in conns:
        c.close()
    pre.close()
    post.close()
    os.close(r)


def test_no_process_inherits_the_invokers_descriptors_or_environment(
        busy_suite):
    s = busy_suite
    pids = s.all_pids()
    # master, 4 daemons, deliverd x4, an smtpd session, pop3d's two.
    assert len(pids) >= 10, pids
    pipe = f"pipe:[{s.pipe_inode}]"
    master = s.proc.pid
    for pid in pids:
        fds = fd_targets(pid)
        assert pipe not in fds.values(), (pid, fds)
        if pid == master:
            # /proc/PID/environ shows the block master was started with;
            # what it passes on is what counts.
            continue
        env = environ(pid)
        assert "POSTERN_TEST_LEAK" not in env, (pid, env)
        assert set(env) <= ALLOWED_ENV, (pid, sorted(env))
        assert env.get("LANG") == "C" and "PATH" in env, (pid, env)
    assert os.readlink(f"/proc/{master}/cwd") == "/"
    # master's own descriptors: stdio, its pid file, signalfd, epoll and
    # the listening sockets it keeps -- nothing it was not given.
    for fd, target in fd_targets(master).items():
        assert not target.startswith("pipe:") or fd <= 2, (fd, target)


def test_no_new_privs_and_no_core_dumps_below_master(busy_suite):
    s = busy_suite
    master = s.proc.pid
    assert proc_status(master)["NoNewPrivs"] == ["0"]
    for pid in s.all_pids():
        if pid == master:
            continue
        assert proc_status(pid)["NoNewPrivs"] == ["1"], pid
        assert limits(pid)["Max core file size"] == "0", pid


def pop3_role(pid):
    """'-l' (login process), '-m' (mail process), '-T' (template) or
    None (the parent), from the command line."""
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    for flag in (b"-l", b"-m", b"-T"):
        if flag in argv:
            return flag.decode()
    return None


def test_session_processes_cannot_fork(busy_suite):
    s = busy_suite
    sessions = smtp_sessions(s)
    pop3 = {p: pop3_role(p) for p in s.pids_of("pop3d")}
    pop3_parent = [p for p in pop3 if ppid_of(p) == s.proc.pid
                   and pop3[p] is None]
    assert len(pop3_parent) == 1
    # The login process is the parent's child; the mail process is
    # forked by the parent's template of mail processes (root, which
    # forks by design: libcommon/forkserver.h).
    templates = [p for p in pop3 if pop3[p] == "-T"]
    assert len(templates) == 1, pop3
    assert ppid_of(templates[0]) == pop3_parent[0]
    logins = [p for p in pop3 if pop3[p] == "-l"]
    mails = [p for p in pop3 if pop3[p] == "-m"]
    assert len(logins) == 1 and len(mails) == 1, pop3
    assert ppid_of(logins[0]) == pop3_parent[0]
    assert ppid_of(mails[0]) == templates[0]
    for pid in sessions + logins + mails:
        assert limits(pid)["Max processes"] == "0", pid
        # Named for what they are, not "exe" (/proc/self/exe was exec'd).
        with open(f"/proc/{pid}/comm") as f:
            assert f.read().strip() in ("smtpd", "pop3d"), pid
        assert int(proc_status(pid)["Uid"][0]) != 0, pid


def layout(pid):
    """Where the stack ends (its top: the start moves down as a process
    uses more stack than its template did) and where the executable's
    first mapping begins."""
    stack = exe = None
    target = os.readlink(f"/proc/{pid}/exe")
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            start = line.split("-", 1)[0]
            if line.rstrip().endswith("[stack]"):
                stack = line.split("-", 1)[1].split()[0]
            elif exe is None and line.rstrip().endswith(target):
                exe = start
    return stack, exe


def test_sessions_share_their_template_layout_until_one_crashes(busy_suite):
    """Session processes are forked by the session template, an exec of
    its own (libcommon/forkserver.h): its layout, never the listener's.
    A session that dies by a signal (a crash bug being tried) gets the
    template replaced: the next session has a layout never seen."""
    with open("/proc/sys/kernel/randomize_va_space") as f:
        if f.read().strip() == "0":
            pytest.skip("ASLR is off on this machine")
    s = busy_suite
    more = [open_smtp(s, "127.0.0.3"), open_smtp(s, "127.0.0.4")]
    try:
        wait_until(lambda: len(smtp_sessions(s)) >= 3, 10,
                   what="three session processes")
        [tmpl] = smtpd_templates(s)
        pids = smtp_sessions(s)
        first = layout(tmpl)
        assert None not in first, first
        assert first != layout(smtpd_parent(s))
        # The first may have come before the template was ready: exec'd
        # by the listener then, with a layout of its own.
        forked = [p for p in pids if ppid_of(p) == tmpl]
        assert len(forked) >= 2, (pids, tmpl)
        for p in pids:
            assert (layout(p) == first) == (p in forked), p
        # What a smashed stack canary ends in (__stack_chk_fail); SIGSEGV
        # would be taken for a real crash by a sanitizer build's runtime.
        os.kill(forked[0], signal.SIGABRT)
        wait_until(lambda: tmpl not in smtpd_templates(s) and
                   len(smtpd_templates(s)) == 1, 10,
                   what="a fresh template in place of the old")
        [fresh] = smtpd_templates(s)
        second = layout(fresh)
        assert second != first
        assert "died by a signal: a fresh template" in s.log_text()
        # Until it is ready, the listener execs sessions itself: new
        # clients until one is the fresh template's.
        addrs = iter(f"127.0.1.{i}" for i in range(1, 200))

        def forked_by_fresh():
            more.append(open_smtp(s, next(addrs)))
            return wait_until(lambda: [
                p for p in smtp_sessions(s)
                if ppid_of(p) in (fresh, smtpd_parent(s))
                and p not in pids], 10, what="the new session") and \
                [p for p in smtp_sessions(s) if ppid_of(p) == fresh]
        [new] = wait_until(forked_by_fresh, 10,
                           what="a session of the fresh template")
        assert layout(new) == second
    finally:
        for c in more:
            c.close()
