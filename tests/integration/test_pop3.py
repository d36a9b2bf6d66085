"""POP3 (pop3d) end to end: mail goes in over SMTP, comes out through
real POP3 clients (Python's poplib, curl, and a raw socket where the
bytes on the wire matter), and the Maildir on disk is checked after each
UPDATE. Every wait is a condition polled until a deadline; nothing sleeps
to synchronise."""
import base64
import os
import poplib
import pwd
import re
import select
import shutil
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import wait_until

PASSWORD = "pop3 secret 42"
ALICE = "alice@example.test"
BOB = "bob@example.test"

MESSAGE = (
    b"From: Sender <sender@remote.test>\r\n"
    b"To: Alice <alice@example.test>\r\n"
    b"Subject: pop3 byte-exact check\r\n"
    b"Message-ID: <pop3-exact-1@remote.test>\r\n"
    b"\r\n"
    b"First line.\r\n"
    b".A line that starts with a dot.\r\n"
    b"..Two dots.\r\n"
    b".\r\n"
    b"\r\n"
    b"Tabs\tand  spaces stay.  \r\n"
    b"Last line.\r\n"
)

TRACE = (b"Return-Path:", b"Delivered-To:", b"Received:")


# ------------------------------------------------------------- helpers ---

def set_password(suite, user, password=PASSWORD):
    suite.postern("user", "passwd", user, "--stdin", input=password + "\n")


def pop3_greets(suite):
    try:
        with socket.create_connection(("127.0.0.1", suite.pop3_port), 1) as s:
            s.settimeout(2)
            return s.recv(512).startswith(b"+OK")
    except OSError:
        return False


def ready(suite, users=(ALICE,)):
    for u in users:
        set_password(suite, u)
    wait_until(lambda: pop3_greets(suite), 20, what="pop3d to greet")


def send(suite, rcpt, data):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as s:
        assert s.sendmail("sender@remote.test", [rcpt], data) == {}


def deliver(suite, rcpt, messages):
    """Sends each message in its own SMTP transaction, in order, and waits
    until all are in the Maildir (one at a time, so that the delivery
    order, which POP3 numbering follows, is the sending order)."""
    have = len(all_files(suite, rcpt))
    for i, m in enumerate(messages, 1):
        send(suite, rcpt, m)
        wait_until(lambda: len(all_files(suite, rcpt)) >= have + i, 30,
                   what=f"message {i} for {rcpt}")


def all_files(suite, addr):
    md = suite.maildir(addr)
    out = []
    for sub in ("new", "cur"):
        d = md / sub
        if d.is_dir():
            out += sorted(d / n for n in os.listdir(d))
    return out


def strip_trace(data):
    """The message as the SMTP client sent it: the trace header fields
    Postern adds (with their continuation lines) removed. Works on CRLF
    text (what a POP3 client receives)."""
    lines = data.split(b"\r\n")
    i = 0
    trace = []
    while i < len(lines) and lines[i].startswith(TRACE):
        trace.append(lines[i])
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return trace, b"\r\n".join(lines[i:])


def login(suite, user=ALICE, password=PASSWORD, timeout=30):
    p = poplib.POP3("127.0.0.1", suite.pop3_port, timeout=timeout)
    p.user(user)
    p.pass_(password)
    return p


def uidls(p):
    _, lines, _ = p.uidl()
    return dict(l.decode().split(" ", 1) for l in lines)


def file_base(name):
    """A Maildir name's unique part: before the first "," or ":"."""
    return name.split(":")[0].split(",")[0]


def uidl_by_base(suite, addr):
    """{file base: UIDL} from the Maildir's dovecot-uidlist, as Dovecot's
    pop3 makes them (pop3_uidl_format %08Xu%08Xv)."""
    text = (suite.maildir(addr) / "dovecot-uidlist").read_bytes()
    head, *recs = text.decode("utf-8", "surrogateescape").splitlines()
    uv = int(next(f[1:] for f in head.split()[1:] if f[0] == "V"))
    out = {}
    for r in recs:
        uid, _, name = r.partition(" :")
        out[file_base(name)] = f"{int(uid.split()[0]):08X}{uv:08X}"
    return out


def base_of(suite, addr, uidl):
    return next(b for b, u in uidl_by_base(suite, addr).items() if u == uidl)


def body(n):
    return (f"Subject: message {n}\r\nMessage-ID: <m{n}@remote.test>\r\n\r\n"
            f"This is message number {n}.\r\n").encode()


def log_wait(suite, pattern, timeout=20):
    rx = re.compile(pattern)
    return wait_until(lambda: rx.search(suite.log_text()), timeout,
                      what=f"log line /{pattern}/")


class Raw:
    """A POP3 client that shows the bytes on the wire."""

    def __init__(self, suite, source=None, timeout=20):
        self.s = socket.create_connection(("127.0.0.1", suite.pop3_port),
                                          timeout, source_address=source)
        self.s.settimeout(timeout)
        self.f = self.s.makefile("rb")
        self.greeting = self.line()
        assert self.greeting.startswith(b"+OK"), self.greeting

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        return self.f.readline()

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.line()

    def multi(self):
        """The lines of a multi-line body up to the terminator, raw (still
        dot-stuffed), each with its CRLF."""
        out = []
        for _ in range(1_000_000):
            l = self.line()
            assert l, "connection closed inside a multi-line response"
            assert l.endswith(b"\r\n"), l
            if l == b".\r\n":
                return out
            out.append(l)
        raise AssertionError("no terminator")

    def login(self, user=ALICE, password=PASSWORD):
        assert self.cmd(f"USER {user}").startswith(b"+OK")
        r = self.cmd(f"PASS {password}")
        assert r.startswith(b"+OK"), r
        return r

    def eof(self):
        """Everything until the server closes (bounded by the timeout)."""
        rest = b""
        while True:
            b = self.f.read1(65536)
            if not b:
                return rest
            rest += b

    def close(self):
        self.f.close()
        self.s.close()


def curl(suite, url_path="/", *args, user=ALICE, password=PASSWORD,
         check=True):
    r = subprocess.run(
        ["curl", "-sS", "--max-time", "20",
         f"pop3://127.0.0.1:{suite.pop3_port}{url_path}",
         "-u", f"{user}:{password}", *args],
        capture_output=True, timeout=30)
    if check:
        assert r.returncode == 0, (r.returncode, r.stderr)
    return r


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def session_pids(suite, uid):
    """pop3d processes (parent and session children share its argv)
    running as uid."""
    out = []
    for pid in suite.pids_of("pop3d"):
        try:
            if int(proc_status(pid)["Uid"][0]) == uid:
                out.append(pid)
        except (OSError, KeyError):
            pass
    return out


@pytest.fixture
def psuite(suite):
    ready(suite)
    return suite


# ------------------------------------------------- list/retrieve/delete ---

def test_retr_is_byte_exact_and_list_size_is_what_arrives(psuite):
    deliver(psuite, ALICE, [MESSAGE, body(2)])
    p = login(psuite)
    try:
        count, total = p.stat()
        assert count == 2
        _, listing, _ = p.list()
        sizes = {int(a): int(b) for a, b in (l.split() for l in listing)}
        assert sorted(sizes) == [1, 2]
        assert sum(sizes.values()) == total
        for n in (1, 2):
            resp, lines, octets = p.retr(n)
            assert resp.startswith(f"+OK {sizes[n]} ".encode()), resp
            assert octets == sizes[n], (n, octets, sizes[n])
            data = b"".join(l + b"\r\n" for l in lines)
            assert len(data) == octets
            trace, rest = strip_trace(data)
            assert any(t.startswith(b"Received:") for t in trace)
            assert rest == (MESSAGE if n == 1 else body(2))
            # The single-message LIST agrees with the listing.
            assert p.list(n) == f"+OK {n} {sizes[n]}".encode()
        # Nothing was deleted: QUIT leaves both.
        assert p.quit().startswith(b"+OK")
    finally:
        p.close()
    assert len(all_files(psuite, ALICE)) == 2
    log_wait(psuite, r"logout: user=<alice@example\.test>, client=\[127\.0\."
             r"0\.1\], retr=2, dele=0, deleted=0, reason=QUIT")
    assert re.search(r"login: user=<alice@example\.test>, client=\[127\.0\.0"
                     r"\.1\], messages=2, size=%d\b" % total,
                     psuite.log_text())


def test_dele_and_quit_remove_the_files(psuite):
    deliver(psuite, ALICE, [body(1), body(2), body(3)])
    bases = {f.name.split(",")[0] for f in all_files(psuite, ALICE)}
    p = login(psuite)
    u = uidls(p)
    by_base = uidl_by_base(psuite, ALICE)
    before = {by_base[b] for b in bases}
    assert set(u.values()) == before
    assert p.dele(2).startswith(b"+OK")
    # A deleted message is gone from this session's view at once.
    assert p.stat()[0] == 2
    with pytest.raises(poplib.error_proto, match=r"-ERR"):
        p.retr(2)
    with pytest.raises(poplib.error_proto, match=r"-ERR"):
        p.dele(2)
    _, listing, _ = p.list()
    assert [l.split()[0] for l in listing] == [b"1", b"3"]
    # Until QUIT the file is still there.
    assert len(all_files(psuite, ALICE)) == 3
    assert p.quit().startswith(b"+OK")
    left = {by_base[file_base(f.name)] for f in all_files(psuite, ALICE)}
    assert left == before - {u["2"]}
    # QUIT took its record out of dovecot-uidlist too.
    assert set(uidl_by_base(psuite, ALICE).values()) == left
    log_wait(psuite, r"logout: user=<alice@example\.test>.*dele=1, "
             r"deleted=1, reason=QUIT")


def test_rset_undoes_dele(psuite):
    deliver(psuite, ALICE, [body(1), body(2)])
    p = login(psuite)
    total = p.stat()
    p.dele(1)
    p.dele(2)
    assert p.stat() == (0, 0)
    r = p.rset()
    assert r.startswith(b"+OK")
    assert p.stat() == total
    assert p.retr(1)[0].startswith(b"+OK")
    p.quit()
    assert len(all_files(psuite, ALICE)) == 2


def test_dropped_connection_deletes_nothing(psuite):
    deliver(psuite, ALICE, [body(1), body(2)])
    r = Raw(psuite)
    r.login()
    assert r.cmd("DELE 1").startswith(b"+OK")
    assert r.cmd("DELE 2").startswith(b"+OK")
    r.close()   # no QUIT
    # The session is over (logged) before we look.
    log_wait(psuite, r"logout: user=<alice@example\.test>.*dele=2, "
             r"deleted=0, reason=disconnected")
    assert len(all_files(psuite, ALICE)) == 2
    p = login(psuite)
    assert p.stat()[0] == 2
    p.quit()


def test_curl_lists_retrieves_and_deletes(psuite):
    deliver(psuite, ALICE, [MESSAGE, body(2)])
    listing = curl(psuite, "/").stdout
    p = login(psuite)
    _, want, _ = p.list()
    u = uidls(p)
    p.quit()
    assert listing == b"".join(l + b"\r\n" for l in want)
    got = curl(psuite, "/1").stdout
    assert strip_trace(got)[1] == MESSAGE
    top = curl(psuite, "/", "-X", "TOP 1 0").stdout
    assert top.endswith(b"Message-ID: <pop3-exact-1@remote.test>\r\n\r\n")
    assert top == got[:got.index(b"\r\n\r\n") + 4]
    uidl = curl(psuite, "/", "-X", "UIDL").stdout
    assert uidl == f"1 {u['1']}\r\n2 {u['2']}\r\n".encode()
    # DELE answers one line: -I tells curl not to wait for a body.
    curl(psuite, "/", "-X", "DELE 1", "-I")
    names = {file_base(f.name) for f in all_files(psuite, ALICE)}
    assert names == {base_of(psuite, ALICE, u["2"])}
    # A wrong password is an error for curl too.
    bad = curl(psuite, "/", password="wrong", check=False)
    assert bad.returncode == 67, (bad.returncode, bad.stderr)  # login denied


# ------------------------------------------------------------------ TOP ---

def test_top_zero_and_more_lines_than_the_body(psuite):
    deliver(psuite, ALICE, [MESSAGE])
    p = login(psuite)
    _, full, octets = p.retr(1)
    _, top0, _ = p.top(1, 0)
    blank = full.index(b"")
    assert top0 == full[:blank + 1]     # header and the blank line
    _, top2, _ = p.top(1, 2)
    assert top2 == full[:blank + 3]
    assert top2[-2:] == [b"First line.", b".A line that starts with a dot."]
    _, top_many, _ = p.top(1, 10_000)
    assert top_many == full
    # TOP of a message does not count as RETR (nor change anything).
    p.quit()
    log_wait(psuite, r"logout: user=<alice@example\.test>.*retr=1, dele=0")


# ---------------------------------------------------------- dot-stuffing ---

def test_dot_lines_stuffed_on_the_wire_and_unstuffed_by_poplib(psuite):
    deliver(psuite, ALICE, [MESSAGE])
    p = login(psuite)
    _, lines, octets = p.retr(1)
    p.quit()
    text = b"".join(l + b"\r\n" for l in lines)
    assert strip_trace(text)[1] == MESSAGE
    r = Raw(psuite)
    r.login()
    size = int(r.cmd("LIST 1").split()[2])
    assert r.cmd("RETR 1").startswith(b"+OK")
    wire = r.multi()
    _, rest = strip_trace(b"".join(wire))
    assert rest == MESSAGE.replace(b"\r\n.", b"\r\n..")
    assert b"\r\n..A line" in rest and b"\r\n...Two dots" in rest
    assert b"\r\n..\r\n" in rest
    # LIST counts the message, not the stuffing.
    assert size == octets == len(b"".join(wire)) - 3
    assert r.cmd("TOP 1 3").startswith(b"+OK")
    top = r.multi()
    assert top[-2:] == [b"..A line that starts with a dot.\r\n",
                        b"...Two dots.\r\n"]
    assert r.cmd("QUIT").startswith(b"+OK")
    r.close()


# ----------------------------------------------------------------- UIDL ---

def test_uidl_stable_across_reconnect_restart_and_flag_change(psuite):
    deliver(psuite, ALICE, [body(1), body(2), body(3)])
    names_new = {f.name.split(",")[0] for f in all_files(psuite, ALICE)}
    p = login(psuite)
    first = uidls(p)
    # UIDL n agrees with the listing.
    assert p.uidl(2) == f"+OK 2 {first['2']}".encode()
    p.quit()
    assert len(set(first.values())) == 3
    by_base = uidl_by_base(psuite, ALICE)
    assert set(first.values()) == {by_base[n] for n in names_new}
    for u in first.values():
        assert re.fullmatch(r"[0-9A-F]{16}", u), u

    p = login(psuite)
    assert uidls(p) == first
    p.quit()

    psuite.stop()
    psuite.start()
    wait_until(lambda: pop3_greets(psuite), 20, what="pop3d after restart")
    p = login(psuite)
    assert uidls(p) == first
    p.quit()

    # Another reader (an IMAP client, a MUA) marks message 2 seen.
    cur = psuite.maildir(ALICE) / "cur"
    [f2] = [f for f in cur.iterdir()
            if f.name.startswith(base_of(psuite, ALICE, first["2"]))]
    assert f2.name.endswith(":2,"), f2.name
    os.rename(f2, cur / (f2.name + "S"))
    p = login(psuite)
    assert uidls(p) == first
    _, lines, _ = p.retr(2)
    assert b"This is message number 2." in lines
    p.quit()


def test_message_renamed_during_a_session_is_still_served(psuite):
    deliver(psuite, ALICE, [body(1), body(2)])
    p = login(psuite)
    u = uidls(p)
    cur = psuite.maildir(ALICE) / "cur"
    [f] = [f for f in cur.iterdir()
           if f.name.startswith(base_of(psuite, ALICE, u["1"]))]
    os.rename(f, cur / (f.name + "RS"))
    _, lines, _ = p.retr(1)
    assert b"This is message number 1." in lines
    p.dele(1)
    assert p.quit().startswith(b"+OK")
    assert [file_base(f.name) for f in all_files(psuite, ALICE)] == \
        [base_of(psuite, ALICE, u["2"])]


# ------------------------------------------------------------- locking ---

def test_second_session_gets_in_use_while_the_first_works(psuite):
    deliver(psuite, ALICE, [body(1)])
    p = login(psuite)
    p2 = poplib.POP3("127.0.0.1", psuite.pop3_port, timeout=20)
    p2.user(ALICE)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[IN-USE\]"):
        p2.pass_(PASSWORD)
    p2.close()
    # The first session is untouched.
    assert p.stat()[0] == 1
    assert b"This is message number 1." in p.retr(1)[1]
    p.dele(1)
    assert p.quit().startswith(b"+OK")
    assert all_files(psuite, ALICE) == []
    # The lock went with the first session.
    p3 = login(psuite)
    assert p3.stat() == (0, 0)
    p3.quit()
    assert "login refused: user=<alice@example.test>" in psuite.log_text()


def test_sessions_of_different_users_do_not_block_each_other(psuite):
    set_password(psuite, BOB)
    deliver(psuite, ALICE, [body(1)])
    deliver(psuite, BOB, [body(2), body(3)])
    pa = login(psuite)
    pb = login(psuite, BOB)
    assert pa.stat()[0] == 1 and pb.stat()[0] == 2
    assert b"This is message number 2." in pb.retr(1)[1]
    pa.quit()
    pb.quit()


# ------------------------------------------------- failures and pacing ---

def test_wrong_password_answered_after_the_configured_delay(suite_factory):
    s = suite_factory("auth_failure_delay = 1s\nauth_failure_limit = 100")
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    r = Raw(s)
    assert r.cmd(f"USER {ALICE}").startswith(b"+OK")
    t0 = time.monotonic()
    reply = r.cmd("PASS not-the-password")
    took = time.monotonic() - t0
    assert reply.startswith(b"-ERR [AUTH]"), reply
    assert took >= 0.9, took
    # The session goes on: the right password now works.
    assert r.cmd(f"USER {ALICE}").startswith(b"+OK")
    t0 = time.monotonic()
    assert r.cmd(f"PASS {PASSWORD}").startswith(b"+OK")
    assert time.monotonic() - t0 < 0.9
    assert r.cmd("QUIT").startswith(b"+OK")
    r.close()
    log = s.log_text()
    assert "auth failed: user=<alice@example.test>, client=[127.0.0.1]" in log
    assert "not-the-password" not in log and PASSWORD not in log


def test_too_many_failures_refuse_even_the_right_password(suite_factory):
    s = suite_factory("auth_failure_delay = 0s\nauth_failure_limit = 3\n"
                      "auth_failure_window = 3s")
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    r = Raw(s)
    first_failure = time.monotonic()
    for i in range(3):
        assert r.cmd(f"USER {ALICE}").startswith(b"+OK")
        assert r.cmd(f"PASS wrong{i}").startswith(b"-ERR [AUTH]")
    r.close()
    r = Raw(s)
    assert r.cmd(f"USER {ALICE}").startswith(b"+OK")
    reply = r.cmd(f"PASS {PASSWORD}")
    assert reply.startswith(b"-ERR [AUTH]"), reply
    r.close()
    # AUTH PLAIN is refused the same way.
    r = Raw(s)
    plain = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    assert r.cmd(f"AUTH PLAIN {plain}").startswith(b"-ERR [AUTH]")
    r.close()
    assert "too many failed logins" in s.log_text()
    # Another address is not affected.
    r = Raw(s, source=("127.0.0.2", 0))
    r.login()
    assert r.cmd("QUIT").startswith(b"+OK")
    r.close()

    # After the window the address is forgiven.
    def works():
        r = Raw(s)
        try:
            r.cmd(f"USER {ALICE}")
            return r.cmd(f"PASS {PASSWORD}").startswith(b"+OK")
        finally:
            r.close()
    wait_until(works, 10, interval=0.25, what="the block to expire")
    # The window counts whole seconds from the first failure.
    assert time.monotonic() - first_failure >= 1.95


def test_three_failures_close_the_connection(suite_factory):
    s = suite_factory("auth_failure_delay = 0s\nauth_failure_limit = 100")
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    r = Raw(s)
    for i in range(3):
        r.cmd(f"USER {ALICE}")
        assert r.cmd(f"PASS bad{i}").startswith(b"-ERR [AUTH]")
    assert r.eof() == b""
    r.close()


# ------------------------------------------------------ protocol rules ---

def test_commands_in_the_wrong_state(psuite):
    r = Raw(psuite)
    for c in ("STAT", "LIST", "RETR 1", "DELE 1", "UIDL", "TOP 1 0",
              "RSET", "NOOP"):
        assert r.cmd(c).startswith(b"-ERR"), c
    assert r.cmd("PASS " + PASSWORD).startswith(b"-ERR")  # no USER yet
    assert r.cmd("APOP alice 0123456789abcdef0123456789abcdef") \
        .startswith(b"-ERR")
    assert r.cmd("STLS").startswith(b"-ERR")
    r.login()
    for c in (f"USER {ALICE}", f"PASS {PASSWORD}", "AUTH PLAIN", "APOP x y"):
        assert r.cmd(c).startswith(b"-ERR"), c
    assert r.cmd("RETR 1").startswith(b"-ERR")  # empty mailbox
    assert r.cmd("RETR 0").startswith(b"-ERR")
    assert r.cmd("RETR x").startswith(b"-ERR")
    assert r.cmd("BOGUS").startswith(b"-ERR")
    assert r.cmd("NOOP").startswith(b"+OK")
    assert r.cmd("QUIT").startswith(b"+OK")
    assert r.eof() == b""
    r.close()


def test_overlong_line_is_refused_and_the_session_continues(psuite):
    deliver(psuite, ALICE, [body(1)])
    r = Raw(psuite)
    assert r.cmd("USER " + "a" * 600).startswith(b"-ERR")
    assert r.cmd("NOOP " + "x" * 20000).startswith(b"-ERR")
    r.login()
    assert r.cmd("LIST " + "1" * 1000).startswith(b"-ERR")
    # 510 bytes and CRLF is the longest line taken as a command.
    assert r.cmd("X" * 510) == b"-ERR unknown command\r\n"
    assert r.cmd("X" * 511) == b"-ERR line too long\r\n"
    assert r.cmd("STAT").startswith(b"+OK 1 ")
    assert r.cmd("QUIT").startswith(b"+OK")
    r.close()


def test_pipelined_commands_answered_in_order(psuite):
    deliver(psuite, ALICE, [body(1), body(2)])
    r = Raw(psuite)
    # Through the login: the commands after PASS reach the mail process.
    r.send((f"CAPA\r\nUSER {ALICE}\r\nPASS {PASSWORD}\r\nSTAT\r\n"
            "LIST\r\nUIDL 2\r\nRETR 1\r\nDELE 1\r\nNOOP\r\nSTAT\r\n"
            "RSET\r\nTOP 2 0\r\nQUIT\r\n").encode())
    assert r.line().startswith(b"+OK")
    assert b"PIPELINING\r\n" in r.multi()
    assert r.line().startswith(b"+OK")                 # USER
    assert r.line().startswith(b"+OK maildrop")        # PASS
    assert r.line().startswith(b"+OK 2 ")              # STAT
    assert r.line().startswith(b"+OK 2 messages")      # LIST
    assert [l.split()[0] for l in r.multi()] == [b"1", b"2"]
    assert re.match(rb"\+OK 2 \S+\r\n$", r.line())      # UIDL 2
    assert r.line().startswith(b"+OK")                 # RETR 1
    assert b"This is message number 1.\r\n" in r.multi()
    assert r.line().startswith(b"+OK message 1 deleted")
    assert r.line() == b"+OK\r\n"                      # NOOP
    assert r.line().startswith(b"+OK 1 ")              # STAT
    assert r.line().startswith(b"+OK maildrop has 2")  # RSET
    assert r.line().startswith(b"+OK")                 # TOP 2 0
    assert r.multi()[-1] == b"\r\n"
    assert r.line().startswith(b"+OK")                 # QUIT
    assert r.eof() == b""
    r.close()
    assert len(all_files(psuite, ALICE)) == 2


def test_auth_plain(psuite):
    deliver(psuite, ALICE, [body(1)])
    plain = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    # Initial response on the command line.
    r = Raw(psuite)
    r2 = r.cmd(f"AUTH PLAIN {plain}")
    assert r2.startswith(b"+OK"), r2
    assert r.cmd("STAT").startswith(b"+OK 1 ")
    assert r.cmd("QUIT").startswith(b"+OK")
    r.close()
    # Response after the "+ " continuation; authzid = authcid is allowed.
    r = Raw(psuite)
    assert r.cmd("AUTH PLAIN").startswith(b"+ ")
    ok = base64.b64encode(f"{ALICE}\0{ALICE}\0{PASSWORD}".encode())
    assert r.cmd(ok.decode()).startswith(b"+OK")
    assert r.cmd("QUIT").startswith(b"+OK")
    r.close()
    # Wrong password, acting as another user, cancel, bad base64.
    r = Raw(psuite)
    bad = base64.b64encode(f"\0{ALICE}\0nope".encode()).decode()
    assert r.cmd(f"AUTH PLAIN {bad}").startswith(b"-ERR [AUTH]")
    other = base64.b64encode(f"{BOB}\0{ALICE}\0{PASSWORD}".encode()).decode()
    assert r.cmd(f"AUTH PLAIN {other}").startswith(b"-ERR")
    assert r.cmd("AUTH PLAIN").startswith(b"+ ")
    assert r.cmd("*").startswith(b"-ERR")
    assert r.cmd("AUTH PLAIN !!!notbase64").startswith(b"-ERR")
    assert r.cmd("AUTH CRAM-MD5").startswith(b"-ERR")
    r.close()


def test_capa(psuite):
    r = Raw(psuite)
    assert r.cmd("CAPA").startswith(b"+OK")
    caps = [l.rstrip(b"\r\n").decode() for l in r.multi()]
    for c in ("TOP", "UIDL", "USER", "RESP-CODES", "PIPELINING",
              "SASL PLAIN", "AUTH-RESP-CODE"):
        assert c in caps, (c, caps)
    assert not any(c.startswith("STLS") for c in caps)
    r.login()
    assert r.cmd("CAPA").startswith(b"+OK")
    caps2 = [l.rstrip(b"\r\n").decode() for l in r.multi()]
    assert "TOP" in caps2 and "UIDL" in caps2
    r.close()
    # poplib parses the same list.
    p = poplib.POP3("127.0.0.1", psuite.pop3_port, timeout=20)
    capa = p.capa()
    assert "SASL" in capa and capa["SASL"] == ["PLAIN"]
    p.quit()


# -------------------------------------------------------------- timeouts ---

def test_idle_timeout_closes_the_session_and_deletes_nothing(suite_factory):
    s = suite_factory("pop3_timeout = 2s")
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    deliver(s, ALICE, [body(1)])
    # AUTHORIZATION state.
    r = Raw(s, timeout=15)
    t0 = time.monotonic()
    rest = r.eof()
    took = time.monotonic() - t0
    r.close()
    assert rest.startswith(b"-ERR"), rest
    assert 1.5 <= took < 10, took
    # TRANSACTION state, with a DELE pending.
    r = Raw(s, timeout=15)
    r.login()
    assert r.cmd("DELE 1").startswith(b"+OK")
    t0 = time.monotonic()
    rest = r.eof()
    took = time.monotonic() - t0
    r.close()
    assert rest.startswith(b"-ERR"), rest
    assert 1.5 <= took < 10, took
    log_wait(s, r"logout: user=<alice@example\.test>.*deleted=0, "
             r"reason=timeout")
    assert len(all_files(s, ALICE)) == 1


# ---------------------------------------------------------- confinement ---

@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chroot, setuid)")
def test_session_processes_are_confined(psuite):
    set_password(psuite, BOB)
    deliver(psuite, BOB, [body(1)])
    mail_u = pwd.getpwnam("postern-mail")
    login_u = pwd.getpwnam("postern-login")
    r = Raw(psuite)
    [lp] = wait_until(lambda: session_pids(psuite, login_u.pw_uid), 10,
                      what="the login process")
    st = proc_status(lp)
    assert st["Uid"] == [str(login_u.pw_uid)] * 4
    assert st["Gid"] == [str(login_u.pw_gid)] * 4
    assert st["CapEff"] == ["0000000000000000"]
    root = os.readlink(f"/proc/{lp}/root")
    assert root == str(psuite.spool / "empty")
    assert os.listdir(f"/proc/{lp}/root") == []
    r.login()
    assert wait_until(lambda: not session_pids(psuite, login_u.pw_uid), 10,
                      what="the login process to go")
    [mp] = session_pids(psuite, mail_u.pw_uid)
    st = proc_status(mp)
    assert st["Uid"] == [str(mail_u.pw_uid)] * 4
    assert st["Gid"] == [str(mail_u.pw_gid)] * 4
    assert st["Groups"] in ([], [str(mail_u.pw_gid)])
    assert st["CapEff"] == ["0000000000000000"]
    assert os.readlink(f"/proc/{mp}/root") == \
        str(psuite.store / "example.test" / "alice")
    assert os.readlink(f"/proc/{mp}/cwd") == \
        str(psuite.store / "example.test" / "alice")
    # Bob's mail is outside what the process can name; beside the Maildir
    # only alice's last-login record (postern user show).
    assert sorted(os.listdir(f"/proc/{mp}/root")) == \
        ["Maildir", "postern-last-login"]
    # Beyond stdin/stdout/stderr (the harness's log), only the client
    # socket and the lock: no listener, no auth socket, no other client.
    fds = sorted(os.readlink(f"/proc/{mp}/fd/{fd}")
                 for fd in os.listdir(f"/proc/{mp}/fd") if int(fd) > 2)
    assert len(fds) == 2, fds
    assert fds[0].endswith("/alice/Maildir/.postern-pop3.lock"), fds
    assert fds[1].startswith("socket:"), fds
    assert r.cmd("STAT") == b"+OK 0 0\r\n"
    assert r.cmd("QUIT").startswith(b"+OK")
    r.close()


# ------------------------------------------------ mailbox edge cases ---

def put_foreign(suite, addr, sub, name, data):
    """A file another Maildir tool left, owned like the store."""
    md = suite.maildir(addr)
    mail_u = pwd.getpwnam("postern-mail")
    path = md / sub / name
    path.write_bytes(data)
    os.chown(path, mail_u.pw_uid, mail_u.pw_gid)
    return path


def test_foreign_files_sizes_and_uidls(psuite):
    # The Maildir exists once something was delivered.
    deliver(psuite, ALICE, [body(1)])
    files = [
        ("1000000001.M1P1.other", b"Subject: lf\n\nbare LF\n.dot\n"),
        ("1000000002.M1P1.other:2,S", b"Subject: crlf\r\n\r\nCRLF\r\n.\r\n"),
        ("1000000003.M1P1.other", b"Subject: cr\n\nbare\rCR\r\nno end"),
        ("1000000004.M1P1.other", b""),
        # Unique part outside RFC 1939's UIDL alphabet, and too long.
        ("1000000005.M1P1.h\xc3\xa9st", b"Subject: x\n\nx\n"),
        ("1000000006.M1P1." + "h" * 80, b"Subject: y\n\ny\n"),
    ]
    for name, data in files:
        sub = "cur" if ":" in name else "new"
        put_foreign(psuite, ALICE, sub, name, data)
    # A symlink is not a message (O_NOFOLLOW): it is never served.
    os.symlink("/etc/passwd", psuite.maildir(ALICE) / "cur" /
               "1000000007.M1P1.link:2,")
    r = Raw(psuite)
    r.login()
    assert r.cmd("LIST").startswith(b"+OK 7 messages")
    sizes = [int(l.split()[1]) for l in r.multi()]
    assert r.cmd("UIDL").startswith(b"+OK")
    uids = [l.split()[1].decode() for l in r.multi()]
    assert len(set(uids)) == 7
    by_base = uidl_by_base(psuite, ALICE)
    assert uids[:4] == [by_base[f"100000000{i}.M1P1.other"]
                        for i in range(1, 5)]
    # Names dovecot-uidlist holds too, 8-bit and long: numbered alike.
    assert uids[4] == by_base["1000000005.M1P1.h\xc3\xa9st"], uids[4]
    assert uids[5] == by_base["1000000006.M1P1." + "h" * 80], uids[5]
    want = [b"Subject: lf\r\n\r\nbare LF\r\n..dot\r\n",
            b"Subject: crlf\r\n\r\nCRLF\r\n..\r\n",
            # A bare CR goes out as a space (pop3_stuff.c says why).
            b"Subject: cr\r\n\r\nbare CR\r\nno end\r\n",
            b"",
            b"Subject: x\r\n\r\nx\r\n",
            b"Subject: y\r\n\r\ny\r\n"]
    for i, w in enumerate(want, 1):
        resp = r.cmd(f"RETR {i}")
        assert resp == f"+OK {sizes[i - 1]} octets\r\n".encode(), (i, resp)
        got = b"".join(r.multi())
        assert got == w, (i, got)
        # The size counts the unstuffed message with CRLF line ends.
        assert sizes[i - 1] == len(unstuff(w)), i
    assert r.cmd("QUIT").startswith(b"+OK")
    r.close()
    # Same UIDLs next time.
    p = login(psuite)
    assert list(uidls(p).values()) == uids
    p.quit()


def unstuff(wire):
    return b"".join(l[1:] if l.startswith(b".") else l
                    for l in wire.splitlines(keepends=True))


def test_large_message_with_dot_lines_is_exact(psuite):
    lines = []
    for i in range(6000):
        lines.append((b"." if i % 3 == 0 else b"") +
                     b"line %05d " % i + b"x" * (i % 97))
    big = (b"Subject: big\r\nMessage-ID: <big@remote.test>\r\n\r\n" +
           b"\r\n".join(lines) + b"\r\n")
    assert len(big) > 300_000
    deliver(psuite, ALICE, [big])
    p = login(psuite)
    size = int(p.list(1).split()[2])
    _, got, octets = p.retr(1)
    p.quit()
    assert octets == size
    assert strip_trace(b"".join(l + b"\r\n" for l in got))[1] == big


def test_mail_arriving_during_a_session_is_kept(psuite):
    deliver(psuite, ALICE, [body(1)])
    p = login(psuite)
    assert p.stat()[0] == 1
    deliver(psuite, ALICE, [body(2)])
    # The session works on its snapshot.
    assert p.stat()[0] == 1
    p.dele(1)
    p.quit()
    [left] = all_files(psuite, ALICE)
    p = login(psuite)
    assert p.stat()[0] == 1
    assert b"This is message number 2." in p.retr(1)[1]
    p.quit()


def test_first_login_creates_the_maildir_and_names_are_canonical(psuite):
    md = psuite.maildir(ALICE)
    # "postern user add" made it; a store restored without it, or a user
    # added by hand, has none.
    shutil.rmtree(md.parent)
    # A bare name means the default domain; case does not matter.
    for who in ("alice", "ALICE@Example.TEST"):
        p = login(psuite, who)
        assert p.stat() == (0, 0)
        p.quit()
    mail_u = pwd.getpwnam("postern-mail")
    for d in (md.parent, md, md / "new", md / "cur", md / "tmp"):
        st = os.stat(d)
        assert (st.st_uid, st.st_mode & 0o777) == (mail_u.pw_uid, 0o700), d
    deliver(psuite, ALICE, [body(1)])
    p = login(psuite)
    assert p.stat()[0] == 1
    p.quit()
    assert "login: user=<alice@example.test>" in psuite.log_text()


def test_session_limit_refuses_only_when_every_session_has_logged_in(
        suite_factory):
    s = suite_factory("pop3_max_sessions = 2")
    s.postern("user", "add", ALICE)
    s.postern("user", "add", BOB)
    s.start()
    ready(s, (ALICE, BOB))
    # The readiness probe's session counts until pop3d has seen it go.
    wait_until(lambda: pop3d_children(s) == [], 20,
               what="the probe's session to end")
    a, b = Raw(s), Raw(s)
    a.login()
    b.login(BOB)
    c = socket.create_connection(("127.0.0.1", s.pop3_port), 10)
    c.settimeout(10)
    f = c.makefile("rb")
    assert f.readline() == b"-ERR [SYS/TEMP] too many connections\r\n"
    assert f.read() == b""
    f.close()
    c.close()
    # Logged-in sessions are never dropped for a newcomer.
    assert a.cmd("NOOP").startswith(b"+OK")
    assert b.cmd("NOOP").startswith(b"+OK")
    # A finished one frees its slot.
    a.cmd("QUIT")
    a.close()
    wait_until(lambda: _greets_ok(s), 10, what="a free session slot")
    b.close()


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return f.read().split()


def pop3d_children(s):
    """Session processes (zombies too) of this suite's pop3d parent: its
    children and those of its template of mail processes (-T), which
    reports a session's end to the parent before it reaps it."""
    for pid in s.pids_of("pop3d"):
        if proc_status(pid)["PPid"] == [str(s.proc.pid)]:
            out = []
            for child in _children(pid):
                try:
                    with open(f"/proc/{child}/cmdline", "rb") as f:
                        template = b"-T" in f.read().split(b"\0")
                    out += _children(child) if template else [child]
                except FileNotFoundError:
                    pass
            return out
    raise AssertionError("no pop3d parent")


def _greets_ok(s):
    try:
        r = Raw(s, timeout=5)
    except AssertionError:
        return False
    r.close()
    return True


def test_too_many_errors_close_the_session(psuite):
    r = Raw(psuite)
    r.login()
    r.send(b"BOGUS\r\n" * 25)
    out = r.eof()
    assert out.count(b"-ERR") == 21, out  # 20 errors, then the closing line
    assert out.endswith(b"-ERR too many errors; closing\r\n")
    r.close()


def test_requests_for_deleted_or_absent_messages_are_no_errors(psuite):
    """Only commands the server cannot make sense of count towards the
    error limit: a client asking again and again for a message it deleted
    (or one that never was) keeps its session."""
    deliver(psuite, ALICE, [body(1), body(2)])
    p = login(psuite)
    p.dele(1)
    for _ in range(30):
        with pytest.raises(poplib.error_proto, match="deleted"):
            p.retr(1)
    for _ in range(5):
        with pytest.raises(poplib.error_proto, match="no such message"):
            p.retr(99)
        with pytest.raises(poplib.error_proto, match="no such message"):
            p.list(0)
    assert p.retr(2)[0].startswith(b"+OK")
    assert p.stat()[0] == 1
    p.quit()


def test_unknown_commands_end_the_session_through_poplib(psuite):
    p = login(psuite)
    for i in range(25):
        try:
            p._shortcmd("XBOGUS")
        except poplib.error_proto as e:
            if b"too many errors" in e.args[0]:
                break
            assert b"unknown command" in e.args[0], e
        except (EOFError, OSError):
            break
    # The 20th unknown command is answered and ends the session: the
    # 21st finds the closing line (or the closed connection).
    assert i == 20, i
    with pytest.raises((poplib.error_proto, EOFError, OSError)):
        p.noop()
    p.close()


def test_pipelined_failed_login_then_auth_plain_continuation(psuite):
    deliver(psuite, ALICE, [body(1)])
    plain = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    r = Raw(psuite)
    r.send((f"USER {ALICE}\r\nPASS wrong\r\nAUTH PLAIN\r\n{plain}\r\n"
            "STAT\r\nUIDL 1\r\nQUIT\r\n").encode())
    assert r.line().startswith(b"+OK")             # USER
    assert r.line().startswith(b"-ERR [AUTH]")      # PASS wrong
    assert r.line() == b"+ \r\n"                    # AUTH PLAIN
    assert r.line().startswith(b"+OK maildrop")     # the response
    assert r.line().startswith(b"+OK 1 ")           # STAT
    assert r.line().startswith(b"+OK 1 ")           # UIDL 1
    assert r.line().startswith(b"+OK")              # QUIT
    assert r.eof() == b""
    r.close()


def test_authd_restart_is_a_temporary_failure_not_a_wrong_password(
        psuite):
    deliver(psuite, ALICE, [body(1)])
    p = login(psuite)       # pop3d now holds a connection to auth.sock
    p.quit()
    [old] = psuite.pids_of("authd")
    os.kill(old, 9)
    seen = []

    def works():
        r = Raw(psuite)
        try:
            r.cmd(f"USER {ALICE}")
            reply = r.cmd(f"PASS {PASSWORD}")
            seen.append(reply)
            return reply.startswith(b"+OK")
        finally:
            r.close()
    wait_until(works, 20, interval=0.1, what="logins after the restart")
    # While it was away the answer was "try later", never "wrong password"
    # (which would cost the client a failure and the delay).
    assert all(r.startswith((b"+OK", b"-ERR [SYS/TEMP]")) for r in seen), seen
    assert psuite.pids_of("authd") != [old]


def greeted_clients(suite, n):
    """n POP3 connections, each past its greeting."""
    socks = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", suite.pop3_port), 10)
        c.settimeout(20)
        assert c.recv(512).startswith(b"+OK")
        socks.append(c)
    return socks


def read_all(c):
    """Everything c sends until it closes."""
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            return data
        data += chunk


def test_parallel_guesses_cannot_outrun_the_failure_limit(suite_factory):
    s = suite_factory("auth_failure_delay = 1s\nauth_failure_limit = 2\n"
                      "auth_failure_window = 10m")
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    socks = greeted_clients(s, 12)
    # Every guess goes out before any answer can come back.
    for i, c in enumerate(socks):
        c.sendall(f"USER {ALICE}\r\nPASS guess{i}\r\n".encode())
    replies = []
    for c in socks:
        data = b""
        while data.count(b"\r\n") < 2:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
        replies.append(data.split(b"\r\n")[1])
        c.close()
    assert all(r.startswith(b"-ERR [AUTH]") for r in replies), replies
    # Only as many guesses as the limit reached the password check.
    assert s.log_text().count("auth failed: user=") <= 2
    assert s.log_text().count("result=fail") <= 2


def test_a_burst_of_good_logins_from_one_address_all_get_in(suite_factory):
    """More logins at once than auth_failure_limit, all with the right
    password, from one address (an office behind NAT): the ones beyond the
    limit wait their turn instead of being refused."""
    s = suite_factory("auth_failure_limit = 3\n")
    users = [f"user{i}@example.test" for i in range(12)]
    for u in users:
        s.postern("user", "add", u)
    s.start()
    ready(s, users)
    socks = greeted_clients(s, 12)
    for u, c in zip(users, socks):
        c.sendall(f"USER {u}\r\nPASS {PASSWORD}\r\nQUIT\r\n".encode())
    replies = []
    for c in socks:
        replies.append(read_all(c).split(b"\r\n")[1])
        c.close()
    assert all(r.startswith(b"+OK") for r in replies), replies
    assert "too many failed logins" not in s.log_text()


def test_a_client_that_never_logs_in_is_cut_off(psuite):
    [c] = greeted_clients(psuite, 1)
    # CAPA is no error, so only the login budget can end this.
    c.sendall(b"CAPA\r\n" * 40)
    data = read_all(c)
    c.close()
    assert data.endswith(b"-ERR [SYS/TEMP] too long without logging in\r\n")
    assert data.count(b"+OK") == 30


def memory_count(pid, needle):
    """How often needle occurs in the readable memory of pid (root only)."""
    hits = 0
    with open(f"/proc/{pid}/maps") as maps:
        regions = [l.split()[:2] for l in maps]
    for span, perms in regions:
        if "r" not in perms:
            continue
        a, b = (int(x, 16) for x in span.split("-"))
        if b - a > 1 << 30:
            continue    # sanitizer shadow and reservations, not data
        try:
            with open(f"/proc/{pid}/mem", "rb") as mem:
                mem.seek(a)
                while a < b:
                    n = min(b - a, 1 << 24)
                    # Overlap chunks so a match across a boundary counts.
                    chunk = mem.read(n + len(needle) - 1 if a + n < b else n)
                    hits += chunk.count(needle)
                    a += n
                    mem.seek(a)
        except OSError:
            pass        # [vvar] and friends
    return hits


@pytest.mark.skipif(os.geteuid() != 0, reason="reads other processes' memory")
def test_no_pop3d_process_keeps_a_password_after_login(psuite):
    secret = "Unique-Secret-7413"
    set_password(psuite, ALICE, secret)
    p = poplib.POP3("127.0.0.1", psuite.pop3_port, timeout=30)
    p.user(ALICE)
    p.pass_(secret)
    p.stat()
    before = set(psuite.pids_of("pop3d"))
    # The next client's login process: the most exposed process there is.
    c = socket.create_connection(("127.0.0.1", psuite.pop3_port), 10)
    assert c.recv(100).startswith(b"+OK")
    wait_until(lambda: set(psuite.pids_of("pop3d")) - before, 10,
               what="the new login process")
    pids = psuite.pids_of("pop3d")
    assert len(pids) >= 3       # parent, alice's session, the new login
    counts = {pid: memory_count(pid, secret.encode()) for pid in pids}
    p.quit()
    c.close()
    assert set(counts.values()) == {0}, counts


# ------------------------------------------------------ abuse hardening ---

def login_suite(suite_factory, extra):
    s = suite_factory(extra)
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    # The readiness probe's session counts until pop3d has reaped it.
    wait_until(lambda: pop3d_children(s) == [], 20,
               what="the probe's session to end")
    return s


def connect_one_login(s):
    """A greeted connection and the pid of its login process."""
    before = set(pop3d_children(s))
    [c] = greeted_clients(s, 1)
    [pid] = wait_until(lambda: set(pop3d_children(s)) - before, 10,
                       what="the login process")
    return c, int(pid)


def gone(pid):
    return not os.path.exists(f"/proc/{pid}")


def test_a_silent_client_is_cut_off_at_the_login_deadline(suite_factory):
    s = login_suite(suite_factory, "pop3_login_timeout = 3s")
    c, pid = connect_one_login(s)
    t0 = time.monotonic()
    data = read_all(c)          # the socket's own timeout is 20 s
    took = time.monotonic() - t0
    c.close()
    assert data == b"-ERR [SYS/TEMP] too long without logging in\r\n", data
    # pop3_timeout (10m) would have been the only limit before.
    assert 1.5 <= took < 10, took
    wait_until(lambda: gone(pid), 10, what="the login process to go")
    assert "not logged in within 3s" in s.log_text()


def test_a_trickling_client_is_cut_off_at_the_login_deadline(suite_factory):
    s = login_suite(suite_factory, "pop3_login_timeout = 3s")
    c, pid = connect_one_login(s)
    t0 = time.monotonic()
    data = b""
    # One byte every 0.2 s of a line that never ends: each read makes
    # progress, so only the whole-login deadline can stop it.
    while time.monotonic() - t0 < 20:
        try:
            c.sendall(b"X")
        except OSError:
            break
        r, _, _ = select.select([c], [], [], 0.2)
        if r:
            try:
                chunk = c.recv(4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    took = time.monotonic() - t0
    c.close()
    assert data.startswith(b"-ERR [SYS/TEMP] too long without logging in"), \
        data
    assert 1.5 <= took < 10, took
    wait_until(lambda: gone(pid), 10, what="the login process to go")


def test_the_login_deadline_counts_from_the_greeting(suite_factory):
    """A client that keeps talking (CAPA) is cut off at the same deadline,
    and one that logs in in time keeps its session past it."""
    s = login_suite(suite_factory, "pop3_login_timeout = 3s")
    early = Raw(s)
    early.login()
    c, pid = connect_one_login(s)
    f = c.makefile("rb")
    t0 = time.monotonic()
    ncapa = 0
    # One CAPA every 0.4 s, each answer read in full before the next:
    # far fewer than the 30 commands a login may take.
    while time.monotonic() - t0 < 20:
        c.sendall(b"CAPA\r\n")
        first = f.readline()
        if not first.startswith(b"+OK"):
            break
        ncapa += 1
        while f.readline() not in (b".\r\n", b""):
            pass
        time.sleep(0.4)         # the client's pace, not a synchronisation
    took = time.monotonic() - t0
    f.close()
    c.close()
    assert first == b"-ERR [SYS/TEMP] too long without logging in\r\n", \
        first
    assert 3 <= ncapa < 15, ncapa
    assert 1.5 <= took < 10, took
    wait_until(lambda: gone(pid), 10, what="the login process to go")
    # Well past the login deadline, the logged-in session still works.
    assert early.cmd("NOOP").startswith(b"+OK")
    early.cmd("QUIT")
    early.close()


def test_when_full_the_oldest_connection_not_logged_in_makes_room(
        suite_factory):
    s = login_suite(suite_factory, "pop3_max_sessions = 3")
    a, apid = connect_one_login(s)
    b, bpid = connect_one_login(s)
    c, cpid = connect_one_login(s)
    # A fourth client is greeted and logs in: the oldest idle one goes.
    d = Raw(s)
    d.login()
    assert read_all(a) == (b"-ERR [SYS/TEMP] server full; closing the "
                           b"oldest connection that has not logged in\r\n")
    a.close()
    wait_until(lambda: gone(apid), 10, what="the oldest login process")
    assert not gone(bpid) and not gone(cpid)
    for x in (b, c):
        x.sendall(b"NOOP\r\n")
        assert x.recv(512).startswith(b"-ERR NOOP not allowed")
    assert d.cmd("STAT").startswith(b"+OK")
    # Full again (b, c, d): the next newcomer displaces b, not d.
    e = Raw(s)
    assert read_all(b).startswith(b"-ERR [SYS/TEMP] server full")
    assert d.cmd("NOOP").startswith(b"+OK")
    assert e.cmd("CAPA").startswith(b"+OK")
    assert "closing [127.0.0.1], the oldest not logged in" in s.log_text()
    for x in (b, c, e, d):
        x.close()


def test_per_address_connection_limit(suite_factory):
    # Loopback is taken out of mynetworks, which would be exempt.
    s = login_suite(suite_factory, "pop3_client_connection_limit = 2\n"
                    "mynetworks = 192.0.2.0/24")
    a = Raw(s)
    a.login()                   # logged-in sessions count too
    b, bpid = connect_one_login(s)
    c = socket.create_connection(("127.0.0.1", s.pop3_port), 10)
    c.settimeout(10)
    assert read_all(c) == (b"-ERR [SYS/TEMP] too many connections from "
                           b"your address\r\n")
    c.close()
    assert "too many sessions from [127.0.0.1] (2): refusing" in \
        s.log_text()
    # Another address is not affected.
    other = Raw(s, source=("127.0.0.2", 0))
    assert other.cmd("CAPA").startswith(b"+OK")
    other.close()
    # When one of its sessions ends, the address may connect again.
    b.close()
    wait_until(lambda: gone(bpid), 10, what="b's login process")
    wait_until(lambda: _greets_ok(s), 10, what="a slot for the address")
    a.cmd("QUIT")
    a.close()


def test_per_address_limit_exempts_mynetworks(suite_factory):
    s = login_suite(suite_factory, "pop3_client_connection_limit = 1\n"
                    "mynetworks = 127.0.0.0/8")
    socks = greeted_clients(s, 4)
    for c in socks:
        c.close()
