"""queued with a large queue: deferred messages written straight into the
spool (tests/tools/mkqueue, as queued's own commit would write them), then
a start. New submissions are served while the start-up scan reads the
queue, memory per deferred message stays bounded, every message is loaded,
and none is tried before its deadline.

The issue's figure is 100,000 deferred messages; ctest uses 50,000 to
stay near a minute on two cores (writing and removing the files is most of
it), which still gives a scan of a second or more for the new message to
land in. POSTERN_SCALE_N changes it; tests/bench/queue runs 100,000 and a
million.
"""
import os
import re
import smtplib
import subprocess
import time

from conftest import wait_until

N = int(os.environ.get("POSTERN_SCALE_N", "50000"))
# Measured (doc/DESIGN.md, "The schedule"): about 290 bytes of RSS per
# deferred message, parked (its envelope on disk only); the bound is the
# issue's target, which a message kept whole in memory (about 590) fails.
BYTES_PER_MSG_MAX = int(os.environ.get("POSTERN_SCALE_BYTES_MAX", "512"))
# From master's start to the 250 of a new message, the scan still running.
FIRST_ACCEPT_MAX_S = 2.0


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) * 1024


def connected(pid):
    """Whether process pid holds a socket (postern has asked queued)."""
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def submit(suite):
    """Sends one message to a local user; returns its queue id."""
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        c.ehlo("client.test")
        c.mail("sender@example.test")
        c.rcpt("alice@example.test")
        code, reply = c.data(b"Subject: during the scan\r\n\r\nhello\r\n")
    assert code == 250, (code, reply)
    return re.search(rb"queued as (\w+)", reply).group(1).decode()


def test_a_large_queue_loads_while_new_mail_is_accepted(suite_factory,
                                                         build_dir):
    s = suite_factory()
    s.postern("user", "add", "alice@example.test")
    s.postern("alias")
    # The first start makes the queue and its key, and gives the RSS of
    # an empty queued.
    s.start()
    [qpid] = s.pids_of("queued")
    empty_rss = rss_bytes(qpid)
    s.stop()

    made = time.monotonic()
    subprocess.run([str(build_dir / "tests" / "mkqueue"),
                    str(s.spool / "queue"), str(N), "sender@example.test",
                    "rcpt@far.test", "3600"], check=True, timeout=300)
    made = time.monotonic() - made

    written = sorted(os.listdir(s.spool / "queue"))
    written = [q for q in written if len(q) == 16]
    assert len(written) == N
    t0 = time.monotonic()
    s.start()
    qid = submit(s)
    first_accept = time.monotonic() - t0
    # An operation during the scan on messages it may not have read yet
    # (it reads them first): each is held once, none loaded twice.
    some = written[-3:]
    r = s.postern("queue", "hold", *some)
    assert "3 messages placed on hold" in r.stdout, r.stdout + r.stderr
    log = s.log_text()[s.start_mark:]
    # Accepted while the scan was still reading: its line comes first.
    assert f"{qid}: from=<sender@example.test>" in log
    assert "queue scanned:" not in log.split(f"{qid}: from=")[0], \
        "the new message waited for the scan"
    assert first_accept < FIRST_ACCEPT_MAX_S, first_accept
    # ... and is delivered while the scan goes on or soon after.
    s.wait_messages("alice@example.test", 1, timeout=60)

    wait_until(lambda: "queue scanned:" in s.log_text()[s.start_mark:],
               120, interval=0.2, what="the scan to end")
    log = s.log_text()[s.start_mark:]
    scanned = re.search(r"queue scanned: (\d+) messages loaded, (\d+) .*"
                        r"\(([\d.]+) s\)", log)
    assert int(scanned.group(1)) == N, scanned.group(0)
    [qpid] = s.pids_of("queued")
    per_msg = (rss_bytes(qpid) - empty_rss) / N
    print(f"\n{N} deferred messages: written in {made:.1f} s; first "
          f"accept {first_accept:.2f} s after start; scan "
          f"{scanned.group(3)} s; queued RSS {per_msg:.0f} bytes/message")
    # ASan's redzones and freed-memory quarantine make RSS no measure
    # of queued's own memory: the bound holds for the real build only.
    if not s.sanitizer:
        assert per_msg < BYTES_PER_MSG_MAX, per_msg

    # Every message is in the queue as listed, none tried again early.
    # The listing reads the parked envelopes from disk a batch per loop
    # turn: a submission made while it runs is not kept waiting for it.
    with open(s.root / "listing", "wb") as out_f:
        lister = subprocess.Popen([str(build_dir / "bin" / "postern"), "-c",
                                   str(s.conf), "queue", "list"],
                                  stdout=out_f, stderr=subprocess.STDOUT)
        try:
            # postern prints once it has every entry (it sorts them): a
            # connected lister with nothing printed is still being sent to.
            wait_until(lambda: lister.poll() is not None or
                       connected(lister.pid), 30,
                       what="the listing to be asked for")
            t = time.monotonic()
            submit(s)
            during = time.monotonic() - t
            overlapped = lister.poll() is None and \
                os.path.getsize(s.root / "listing") == 0
            assert lister.wait(300) == 0
        finally:
            if lister.poll() is None:
                lister.kill()
    out = (s.root / "listing").read_text()
    assert re.search(rf"in {N + 1} Requests?\.", out) or \
        re.search(rf"in {N} Requests?\.", out), out[-300:]
    for q in some:
        assert f"{q}!" in out
    print(f"submission during the listing: {during:.3f} s")
    assert overlapped, "the listing ended before the submission did"
    assert during < FIRST_ACCEPT_MAX_S, during
    assert "status=deferred" not in s.log_text()[s.start_mark:]


def test_an_operation_is_answered_only_once_its_writes_are_durable(
        suite_factory, build_dir):
    """Envelope rewrites run on the syncer threads; `postern queue hold`
    is answered when every one of them has ended: kill -9 of queued right
    after the answer finds every envelope on disk held, and so does the
    restarted queued."""
    n = 300
    s = suite_factory()
    s.start()
    s.stop()
    subprocess.run([str(build_dir / "tests" / "mkqueue"),
                    str(s.spool / "queue"), str(n), "sender@example.test",
                    "rcpt@far.test", "3600"], check=True, timeout=60)
    s.start()
    wait_until(lambda: f"queue scanned: {n} messages loaded"
               in s.log_text()[s.start_mark:], 60, what="the scan")
    [qpid] = s.pids_of("queued")
    r = s.postern("queue", "hold", "ALL")
    os.kill(qpid, 9)
    assert f"{n} messages placed on hold" in r.stdout, r.stdout + r.stderr
    envs = [p for p in (s.spool / "queue").iterdir()
            if p.name.endswith(".env")]
    assert len(envs) == n
    for p in envs:
        assert re.search(rb"^held [1-9]", p.read_bytes(), re.M), p
    # master starts queued again; it loads every message held.
    wait_until(lambda: s.log_text()[s.start_mark:].count(
        f"queue scanned: {n} messages loaded") == 2, 60,
        what="the restarted queued's scan")
    out = s.postern("queue", "list").stdout
    assert out.count("!") == n, out[-500:]
