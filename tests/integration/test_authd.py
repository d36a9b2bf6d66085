"""authd: the credential checks of every protocol, in their own daemon.

POP3 logins (real poplib clients, and raw sockets where the client's
source address matters: several 127.x addresses stand for several
hosts) go through pop3d to authd, which alone reads the password hashes
(passwd.db), paces failures per client address and per account for all
protocols at once, hashes on several workers and remembers good logins
for auth_cache_ttl. resolverd keeps the maps without hashes: its memory
is searched for one."""
import os
import poplib
import re
import signal
import socket
import subprocess
import threading
import time

from conftest import wait_until

PASSWORD = "authd secret 7"
ALICE = "alice@example.test"
HASH_RE = re.compile(rb"\$(?:y|6)\$[A-Za-z0-9./$]{20,}")


def pop3_greets(suite):
    try:
        with socket.create_connection(("127.0.0.1", suite.pop3_port), 1) as s:
            s.settimeout(2)
            return s.recv(512).startswith(b"+OK")
    except OSError:
        return False


def make(suite_factory, extra="", users=(ALICE,)):
    s = suite_factory("auth_failure_delay = 0s\n" + extra)
    for u in users:
        s.postern("user", "add", u, "--password-stdin", input=PASSWORD + "\n")
    s.start()
    wait_until(lambda: pop3_greets(s), 20, what="pop3d to greet")
    return s


class Raw:
    """A POP3 client from a chosen source address."""

    def __init__(self, suite, source="127.0.0.1", timeout=30):
        self.s = socket.create_connection(("127.0.0.1", suite.pop3_port),
                                          timeout, source_address=(source, 0))
        self.s.settimeout(timeout)
        self.f = self.s.makefile("rb")
        assert self.f.readline().startswith(b"+OK")

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.f.readline()

    def login(self, user, password):
        """The reply to PASS."""
        assert self.cmd(f"USER {user}").startswith(b"+OK")
        return self.cmd(f"PASS {password}")

    def close(self):
        self.f.close()
        self.s.close()


def attempt(suite, user, password, source="127.0.0.1"):
    """One login on its own connection: (reply to PASS, seconds taken)."""
    r = Raw(suite, source)
    try:
        t0 = time.monotonic()
        reply = r.login(user, password)
        took = time.monotonic() - t0
        if reply.startswith(b"+OK"):
            r.cmd("QUIT")
        return reply, took
    finally:
        r.close()


def poplib_on(suite, source):
    """poplib cannot bind a source address: hand it a connected socket."""
    sock = socket.create_connection(("127.0.0.1", suite.pop3_port), 30,
                                    source_address=(source, 0))
    p = poplib.POP3.__new__(poplib.POP3)
    p.host, p.port, p._tls_established = "127.0.0.1", suite.pop3_port, False
    p.sock = sock
    p.file = sock.makefile("rb")
    p._debugging = 0
    p.welcome = p._getresp()
    return p


def pop3d_parent(suite):
    for pid in suite.pids_of("pop3d"):
        try:
            with open(f"/proc/{pid}/status") as f:
                st = dict(l.split(":", 1) for l in f if ":" in l)
        except FileNotFoundError:
            continue  # a login process that ended since the listing
        if int(st["PPid"]) == suite.proc.pid:
            return pid
    return None


# -------------------------------------------------------------- pacing ---

def test_pacing_is_shared_across_pop3_connections_from_one_address(
        suite_factory):
    s = make(suite_factory, "auth_failure_limit = 3\n"
             "auth_account_failure_limit = 0\n")
    # Two connections open at once, failures spread over both.
    a, b = Raw(s), Raw(s)
    assert a.login(ALICE, "wrong 1").startswith(b"-ERR [AUTH]")
    assert b.login(ALICE, "wrong 2").startswith(b"-ERR [AUTH]")
    assert a.login(ALICE, "wrong 3").startswith(b"-ERR [AUTH]")
    # The fourth attempt, on either, is refused unchecked.
    reply = b.login(ALICE, PASSWORD)
    assert reply.startswith(b"-ERR [AUTH] too many failed logins"), reply
    a.close()
    b.close()
    reply, _ = attempt(s, ALICE, PASSWORD)
    assert reply.startswith(b"-ERR [AUTH] too many failed logins"), reply
    # Another address is not affected.
    assert attempt(s, ALICE, PASSWORD, "127.0.0.2")[0].startswith(b"+OK")
    log = s.log_text()
    assert log.count("result=fail") == 3
    assert "too many failed logins from the address), proto=pop3, " \
        "client=[127.0.0.1]" in log


def test_pacing_per_account_across_addresses_slows_guesses_not_the_owner(
        suite_factory):
    s = make(suite_factory, "auth_failure_limit = 100\n"
             "auth_account_failure_limit = 3\nauth_account_delay = 3s\n")
    # The owner logs in from home first.
    assert attempt(s, ALICE, PASSWORD, "127.0.0.1")[0].startswith(b"+OK")
    # A guesser spreads over addresses: 3 quick failures ...
    for i in range(3):
        reply, took = attempt(s, ALICE, f"guess {i}", f"127.0.1.{i + 1}")
        assert reply.startswith(b"-ERR [AUTH]") and took < 2.5, (reply, took)
    # ... then its guesses take turns, 3 s apart, whatever the address:
    # fired together, one goes now, the next ones 3, 6, 9 s later, and
    # those whose turn would be further off are refused unchecked.
    results = [None] * 6

    def guess(i):
        results[i] = attempt(s, ALICE, f"late guess {i}", f"127.0.2.{i + 1}")
    threads = [threading.Thread(target=guess, args=(i,)) for i in range(6)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    # Meanwhile the owner, from home, is not slowed at all.
    reply, took = attempt(s, ALICE, PASSWORD, "127.0.0.1")
    assert reply.startswith(b"+OK") and took < 2.5, (reply, took)
    for t in threads:
        t.join(60)
    took_all = time.monotonic() - t0
    replies = [r for r, _ in results]
    assert all(r.startswith(b"-ERR [AUTH]") for r in replies), replies
    refused = [r for r in replies if b"too many failed logins" in r]
    times = sorted(t for r, t in results
                   if b"too many failed logins" not in r)
    assert len(times) == 4 and len(refused) == 2, results
    assert times[-1] >= 8.5 and took_all < 20, (times, took_all)
    # The owner from a new address is slowed too, but gets in.
    reply, took = attempt(s, ALICE, PASSWORD, "127.0.3.1")
    assert reply.startswith(b"+OK"), reply
    log = s.log_text()
    assert re.search(r"auth: user=<alice@example\.test> has \d+ failed "
                     r"logins: checked in \d+ ms", log)
    assert "too many failed logins for the account" in log
    # Only the guesses that got a turn cost a hash.
    assert log.count("result=fail") == 3 + 4


def test_pacing_survives_a_kill_9_of_pop3d(suite_factory):
    s = make(suite_factory, "auth_failure_limit = 2\n")
    for i in range(2):
        assert attempt(s, ALICE, f"wrong {i}")[0].startswith(b"-ERR [AUTH]")
    old = pop3d_parent(s)
    assert old is not None
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: pop3d_parent(s) not in (None, old), 20,
               what="master to restart pop3d")
    wait_until(lambda: pop3_greets(s), 20, what="the new pop3d to greet")
    reply, _ = attempt(s, ALICE, PASSWORD)
    assert reply.startswith(b"-ERR [AUTH] too many failed logins"), reply
    assert attempt(s, ALICE, PASSWORD, "127.0.0.2")[0].startswith(b"+OK")


def test_a_good_burst_is_not_slowed_by_a_crowd_of_bad_ones(suite_factory):
    """Guessers from hundreds of addresses hammer alice@ through
    auth.sock, as login daemons' parents would relay them (the crowd costs
    authd and nothing else: no POP3 process per guess to crowd the CPU);
    meanwhile ten other users log in over POP3. The guesses are refused
    by the pacing before they cost a hash, so the good logins find free
    workers."""
    from ipcclient import (A_AUTH, A_AUTH_LIMIT, auth_body, auth_reply,
                           connect, recv, send)
    users = [f"user{i}@example.test" for i in range(10)]
    s = make(suite_factory, "auth_failure_limit = 2\n"
             "auth_account_failure_limit = 2\nauth_account_delay = 5s\n",
             users=users + [ALICE])
    t0 = time.monotonic()
    for u in users:
        assert attempt(s, u, PASSWORD)[0].startswith(b"+OK")
    alone = time.monotonic() - t0
    stop = threading.Event()
    verdicts = []

    def hammer(t):
        c = connect(s.spool / "private" / "auth.sock")
        n = 0
        try:
            while not stop.is_set():
                for k in range(8):      # eight in flight at a time
                    n += 1
                    ip = f"10.{t}.{n // 250 % 250}.{n % 250 + 1}"
                    send(c, A_AUTH, auth_body(ALICE, f"guess {n}", "pop3",
                                              ip), n)
                for k in range(8):
                    r = recv(c, timeout=60)
                    assert r is not None
                    verdicts.append(auth_reply(r[2])[0])
        finally:
            c.close()
    crowd = [threading.Thread(target=hammer, args=(t,)) for t in range(4)]
    started = time.monotonic()
    for t in crowd:
        t.start()
    try:
        wait_until(lambda: len(verdicts) >= 200, 60,
                   what="the crowd to get going")
        t0 = time.monotonic()
        for u in users:
            reply, _ = attempt(s, u, PASSWORD, "127.0.0.5")
            assert reply.startswith(b"+OK"), reply
        burst = time.monotonic() - t0
    finally:
        stop.set()
        for t in crowd:
            t.join(60)
    assert burst < max(3 * alone, 3.0), (burst, alone)
    # Nearly all the guesses were refused unchecked; only the account's
    # first failures and its turns (one per 5 s) cost a hash.
    hashed = s.log_text().count("user=<alice@example.test> result=fail")
    assert len(verdicts) >= 200, len(verdicts)
    assert verdicts.count(A_AUTH_LIMIT) >= len(verdicts) - hashed - 8
    assert hashed <= 2 + (time.monotonic() - started) / 5 + 4, hashed


# --------------------------------------------------------------- cache ---

def test_a_second_login_is_answered_from_the_cache(suite_factory):
    s = make(suite_factory)
    for _ in range(2):
        p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
        p.user(ALICE)
        p.pass_(PASSWORD)
        p.quit()
    log = s.log_text()
    ok = re.findall(r"auth: user=<alice@example\.test> result=ok(.*), "
                    r"proto=pop3", log)
    assert ok == ["", " (cached)"], ok
    # A new password is never answered from the old entry ...
    s.postern("user", "passwd", ALICE, "--password-stdin",
              input="new one\n")
    assert attempt(s, ALICE, PASSWORD, "127.0.0.2")[0].startswith(b"-ERR")
    assert attempt(s, ALICE, "new one", "127.0.0.2")[0].startswith(b"+OK")
    # ... nor a locked user.
    s.postern("user", "lock", ALICE)
    assert attempt(s, ALICE, "new one", "127.0.0.2")[0].startswith(b"-ERR")
    assert "auth: user=<alice@example.test> is locked" in s.log_text()


def test_cache_ttl_0_hashes_every_login(suite_factory):
    s = make(suite_factory, "auth_cache_ttl = 0\n")
    for _ in range(2):
        assert attempt(s, ALICE, PASSWORD)[0].startswith(b"+OK")
    assert "(cached)" not in s.log_text()
    assert s.log_text().count("user=<alice@example.test> result=ok,") == 2


def test_workers_follow_auth_workers(suite_factory):
    s = make(suite_factory, "auth_workers = 3\n")
    assert re.search(r"/authd\[\d+\]: started as \S+, 3 hash workers",
                     s.log_text())
    [authd] = s.pids_of("authd")
    # The loop and three workers; once they exist, authd may not fork.
    assert len(os.listdir(f"/proc/{authd}/task")) == 4
    with open(f"/proc/{authd}/limits") as f:
        nproc = [l for l in f if l.startswith("Max processes")][0]
    # (A sanitizer build leaves it: LeakSanitizer clones at exit.)
    if not s.sanitizer:
        assert nproc.split()[2] == "0", nproc
    # poplib on a socket bound to another source address works too.
    p = poplib_on(s, "127.0.0.7")
    p.user(ALICE)
    p.pass_(PASSWORD)
    p.quit()
    assert "client=[127.0.0.7]" in s.log_text()


# ------------------------------------------------------- who holds what ---

def readable_regions(pid):
    """Readable mappings, but not the sanitizers' terabytes of shadow:
    no region of a daemon's own data comes near 1 GiB."""
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5] if len(parts) > 5 else ""
            if parts[1][0] == "r" and name not in ("[vvar]", "[vsyscall]") \
                    and hi - lo < (1 << 30):
                yield lo, hi


def _chunks(pid, size=4 << 20, overlap=1024):
    """pid's readable memory in overlapping pieces (a needle shorter than
    the overlap is never cut in two)."""
    with open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for lo, hi in readable_regions(pid):
            at = lo
            while at < hi:
                try:
                    mem.seek(at)
                    chunk = mem.read(min(size + overlap, hi - at))
                except (OSError, ValueError, OverflowError):
                    break
                yield chunk
                at += size


def memory_holds(pid, needles):
    """Which of needles (bytes) appear in pid's readable memory."""
    found = set()
    for chunk in _chunks(pid):
        for n in needles:
            if n in chunk:
                found.add(n)
    return found


def test_resolverd_memory_holds_no_hash(suite_factory):
    users = [ALICE, "bob@example.test", "carol@example.test"]
    s = make(suite_factory, users=users)
    for u in users:
        assert attempt(s, u, PASSWORD)[0].startswith(b"+OK")
        assert attempt(s, u, "wrong")[0].startswith(b"-ERR")
    # Mail goes through resolverd's checks and expansion too.
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{s.port}", "--to",
                        ALICE, "--from", "x@remote.test"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stdout
    hashes = set(HASH_RE.findall((s.maps / "passwd.db").read_bytes()))
    assert len(hashes) == 3, hashes
    assert not HASH_RE.search((s.maps / "users.db").read_bytes())
    # The scan can see a hash where there is one: authd holds them.
    [authd] = s.pids_of("authd")
    if os.geteuid() == 0:
        import pwd
        with open(f"/proc/{authd}/status") as f:
            uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
        assert int(uid) == pwd.getpwnam("postern-auth").pw_uid
        assert (s.maps / "passwd.db").stat().st_uid == int(uid)
    assert memory_holds(authd, hashes), "the scan finds nothing anywhere"
    [resolverd] = s.pids_of("resolverd")
    assert memory_holds(resolverd, hashes) == set()
    # Nor any other "$y$" hash-looking text.
    assert not any(HASH_RE.search(c) for c in _chunks(resolverd))


# ----------------------------------------------------------- migration ---

def test_setup_moves_hashes_out_of_an_old_users_map(suite_factory):
    s = suite_factory()
    for u in (ALICE, "bob@example.test"):
        s.postern("user", "add", u, "--password-stdin",
                  input=PASSWORD + "\n")
    s.postern("user", "add", "carol@example.test")
    h = HASH_RE.findall((s.maps / "passwd.db").read_bytes())
    assert len(h) == 2
    # The layout before authd: the hashes in users.db, bob locked.
    lines = (f"{ALICE}\t{h[0].decode()}\nbob@example.test\t!{h[1].decode()}\n"
             "carol@example.test\t\n")
    (s.maps / "passwd.db").unlink()
    (s.maps / "users.db").unlink()
    subprocess.run([str(s.build / "tests" / "map-load"),
                    str(s.maps / "users.db")], input=lines.encode(),
                   check=True)
    r = s.postern("setup")
    assert "moved the password hashes of 2 users" in r.stdout
    assert not HASH_RE.search((s.maps / "users.db").read_bytes())
    assert len(HASH_RE.findall((s.maps / "passwd.db").read_bytes())) == 2
    # Idempotent: a second run has nothing to move.
    assert "moved" not in s.postern("setup").stdout
    s.start()
    wait_until(lambda: pop3_greets(s), 20, what="pop3d to greet")
    logins = {}
    for u in (ALICE, "bob@example.test", "carol@example.test"):
        logins[u] = attempt(s, u, PASSWORD)[0][:4]
    assert logins == {ALICE: b"+OK ", "bob@example.test": b"-ERR",
                      "carol@example.test": b"-ERR"}, logins
    show = s.postern("user", "show", "bob@example.test").stdout
    assert "locked:      yes" in show and "password:    set" in show
    s.postern("user", "unlock", "bob@example.test")
    assert attempt(s, "bob@example.test", PASSWORD, "127.0.0.2")[0] \
        .startswith(b"+OK")


def test_a_user_change_migrates_an_old_users_map_too(suite_factory):
    s = suite_factory()
    s.postern("user", "add", ALICE, "--password-stdin", input=PASSWORD + "\n")
    [h] = HASH_RE.findall((s.maps / "passwd.db").read_bytes())
    (s.maps / "passwd.db").unlink()
    (s.maps / "users.db").unlink()
    subprocess.run([str(s.build / "tests" / "map-load"),
                    str(s.maps / "users.db")],
                   input=f"{ALICE}\t{h.decode()}\n".encode(), check=True)
    r = s.postern("user", "add", "dave@example.test")
    assert "moved the password hashes of 1 user " in r.stdout
    s.start()
    wait_until(lambda: pop3_greets(s), 20, what="pop3d to greet")
    assert attempt(s, ALICE, PASSWORD)[0].startswith(b"+OK")


# ------------------------------------------------------- hostile frames ---

def test_frames_with_a_bad_protocol_or_client_close_the_client(suite):
    from ipcclient import A_AUTH, A_AUTH_REPLY, auth_body, connect, recv, send
    for proto, client in (("POP3", "127.0.0.1"), ("pop3\n", "127.0.0.1"),
                          ("", "127.0.0.1"), ("pop3", "127.0.0.1]\nx"),
                          ("pop3", "a" * 64), ("pop3", "host.example")):
        c = connect(suite.spool / "private" / "auth.sock")
        try:
            send(c, A_AUTH, auth_body(ALICE, "pw", proto, client), 1)
            assert recv(c, timeout=10) is None, (proto, client)
        finally:
            c.close()
    # A good one still gets its answer.
    c = connect(suite.spool / "private" / "auth.sock")
    try:
        send(c, A_AUTH, auth_body(ALICE, "pw", "pop3", "::1"), 2)
        assert recv(c, timeout=20)[:2] == (A_AUTH_REPLY, 2)
    finally:
        c.close()
    assert suite.log_text().count("malformed or unexpected frame") == 6


def test_check_warns_when_authd_shares_a_uid(suite_factory):
    if os.geteuid() != 0:
        import pytest
        pytest.skip("daemon users matter only to a root suite")
    s = suite_factory("auth_user = postern-resolver\n")
    r = s.postern("check", check=False)
    assert "auth_user and resolver_user are both \"postern-resolver\"" \
        in r.stdout + r.stderr, r
    s.write_conf("")
    r = s.postern("check", check=False)
    assert "auth_user and" not in r.stdout + r.stderr
