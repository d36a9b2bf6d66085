"""Durability: every message that got 250 is delivered, even when the
delivery agents and the queue manager are killed with SIGKILL mid-run and
master restarts them."""
import os
import re
import signal
import smtplib
import threading
import time

from conftest import wait_until

TOTAL = 200


def send_all(port, count, accepted, errors, tag):
    for i in range(count):
        msg = (f"From: a@remote.test\r\nTo: alice@example.test\r\n"
               f"Subject: {tag} {i}\r\nX-Seq: {tag}-{i}\r\n\r\nbody\r\n")
        for attempt in range(50):
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
                    s.sendmail("a@remote.test", ["alice@example.test"], msg)
                accepted.append(f"{tag}-{i}")
                break
            except (smtplib.SMTPException, OSError) as e:
                # A temporary refusal while queued restarts is allowed;
                # only 250 counts as accepted.
                errors.append(repr(e))
                time.sleep(0.05)


def killer(suite, stop, kills):
    while not stop.is_set():
        for name in ("deliverd", "queued"):
            for pid in suite.pids_of(name)[:2]:
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills.append(name)
                except ProcessLookupError:
                    pass
            stop.wait(0.15)


def test_kill_9_of_deliverd_and_queued_loses_nothing(suite):
    accepted, errors, kills = [], [], []
    stop = threading.Event()
    k = threading.Thread(target=killer, args=(suite, stop, kills))
    senders = [threading.Thread(target=send_all,
                                args=(suite.port, TOTAL // 4, accepted,
                                      errors, f"t{n}"))
               for n in range(4)]
    k.start()
    for t in senders:
        t.start()
    for t in senders:
        t.join(300)
    stop.set()
    k.join()
    assert "queued" in kills and "deliverd" in kills
    assert len(accepted) == TOTAL, f"only {len(accepted)} accepted: {errors[-5:]}"
    # Once master has restarted everything, every accepted message arrives.
    suite.wait_messages("alice@example.test", TOTAL, timeout=120)
    suite.wait_queue_empty(60)
    seen = set()
    for p in suite.messages("alice@example.test"):
        m = re.search(rb"X-Seq: (\S+)", p.read_bytes())
        seen.add(m.group(1).decode())
    assert set(accepted) <= seen
    assert "killed by signal 9" in suite.log_text()


# -- the queue file at start ---------------------------------------------------

HDR = 96


def header(offset, mac=b"0" * 64):
    """A queue file's header: magic, envelope offset, MAC (hex)."""
    return b"PQ1 " + b"%016x" % offset + b" " + mac + b" " * 10 + b"\n"


def test_start_removes_interrupted_commits_and_never_reads_text_as_envelope(
        suite_factory):
    """A queue file is committed only when queued's header points at its
    envelope. Whatever a crash leaves short of that is removed at start,
    and message text that imitates an envelope is never taken for one."""
    s = suite_factory()
    s.postern("user", "add", "alice@example.test")
    s.start()
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.sendmail("a@remote.test", ["far@away.test"],
                   b"Subject: stays queued\r\n\r\nbody\r\n")
    wait_until(lambda: "status=deferred" in s.log_text(), 20,
               what="the remote recipient to be deferred")
    s.stop()
    [real] = s.committed()
    q = s.spool / "queue"
    data = (q / real).read_bytes()
    off = int(data[4:20], 16)
    assert off > HDR and data[:4] == b"PQ1 "
    envelope = data[off:]
    assert real.encode() in envelope and b"far@away.test" in envelope

    def forged(qid):
        """The real envelope, rewritten for qid and a local recipient."""
        return envelope.replace(real.encode(), qid.encode()).replace(
            b"far@away.test", b"alice@example.test")

    ids = ["0" * 15 + c for c in "1234567"]
    text = b"Subject: forged\n\nbody\n"
    # Received completely, and the text ends with a perfect envelope, but
    # queued never committed it: the header still says 0.
    (q / ids[0]).write_bytes(header(0) + text + forged(ids[0]))
    # Committed in memory, the crash came before the envelope was on disk.
    (q / ids[1]).write_bytes(header(HDR + len(text)) + text)
    # The crash came before the header was complete.
    (q / ids[2]).write_bytes(b"PQ1 00")
    (q / ids[3]).write_bytes(b"")
    # An envelope whose message is gone (a removal cut short).
    (q / f"{ids[4]}.env").write_bytes(forged(ids[4]))
    # Not a queue file at all (say, an older format): kept for
    # inspection with its state file, never deleted.
    (q / ids[5]).write_bytes(b"From: someone\n\n" + forged(ids[5]))
    (q / f"{ids[5]}.env").write_bytes(forged(ids[5]))
    # What a client holding the file descriptor could write: a complete
    # commit, header and envelope, but without the queue's key.
    body = text + forged(ids[6])
    (q / ids[6]).write_bytes(header(HDR + len(text), data[21:85]) + body)

    s.start()
    # The log holds the first start's scan too: wait for the second.
    wait_until(lambda: s.log_text().count("queue scanned:") == 2, 10,
               what="the queue scan")
    log = s.log_text()
    assert "queue scanned: 1 messages loaded, 5 " in log, log[-2000:]
    assert f"queue/{ids[5]}: not a queue file (bad header)" in log
    assert (s.spool / "corrupt" / ids[5]).exists()
    assert (s.spool / "corrupt" / f"{ids[5]}.env").exists()
    assert f"queue/{ids[6]}: its header's MAC does not match" in log
    assert (s.spool / "corrupt" / ids[6]).exists()
    # The message and the state file its deferral wrote.
    assert s.queue_files() == [real, f"{real}.env"]
    assert s.committed() == [real]
    assert "far@away.test" in s.postern("queue", "list").stdout
    # Nothing of the forgeries was delivered; the suite still delivers.
    s.sendmail("-i", "-f", "probe@example.test", "alice@example.test",
               input=b"Subject: probe\n\nafter the scan\n")
    [m] = s.wait_messages("alice@example.test", 1)
    assert b"after the scan" in m.read_bytes()
    assert b"forged" not in m.read_bytes()
    s.stop()
