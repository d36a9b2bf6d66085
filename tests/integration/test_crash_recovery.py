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
