"""postern queue: list (also with the suite stopped), show, delete, hold,
release, requeue and flush, with their selectors, against a running suite.

Remote recipients stay deferred (no remote transport yet), which gives a
queue to work on; a local recipient whose Maildir/tmp is unwritable is
deferred too, and becomes deliverable when its mode comes back.
"""
import json
import os
import random
import re
import smtplib

from conftest import wait_until


def send(suite, rcpts, sender="alice@example.test", subject="q"):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        c.sendmail(sender, rcpts, f"Subject: {subject}\r\n\r\nbody {subject}\r\n"
                   .encode())


def listing(suite, *extra):
    """{queue id: entry} from `postern queue list --json`."""
    r = suite.postern("queue", "list", "--json", *extra)
    return {e["queue_id"]: e for e in map(json.loads, r.stdout.splitlines())}


def wait_deferred(suite, n):
    """Waits until n messages are queued, each with a deferred recipient
    that has been tried; returns the listing."""
    def ready():
        q = listing(suite)
        ok = [e for e in q.values()
              if any(r["state"] == "deferred" and r["tries"] >= 1
                     for r in e["recipients"])]
        return q if len(ok) >= n else None
    return wait_until(ready, 20, what=f"{n} deferred messages")


def test_list_text_and_json_show_and_ids_in_either_case(suite):
    send(suite, ["far@away.test"], subject="one")
    send(suite, ["x@else.test", "alice@example.test"],
         sender="bob@example.test", subject="two")
    q = wait_deferred(suite, 2)
    assert sorted(q) == suite.committed()
    a, b = sorted(q)
    e = q[a]
    assert e["queue_name"] == "deferred"
    assert e["sender"] == "alice@example.test"
    assert e["message_size"] > 0 and e["arrival_time"] > 0
    [r] = e["recipients"]
    assert r["address"] == "far@away.test" and r["tries"] >= 1
    # The harness's DNS server never answers: "try again".
    assert r["delay_reason"].startswith("4.4.3")
    # The local recipient of the second was delivered; the remote waits.
    states = {r["address"]: r["state"] for r in q[b]["recipients"]}
    assert states == {"x@else.test": "deferred", "alice@example.test": "done"}

    text = suite.postern("queue", "list").stdout
    assert text.splitlines()[0].startswith("-Queue ID-")
    assert f"{a} " in text and "far@away.test" in text
    assert "(4.4.3 " in text
    assert text.rstrip().endswith("in 2 Requests.")

    # postcat -q: the envelope and the message; the id in lower case.
    r = suite.postern("queue", "show", a.lower())
    assert f"*** ENVELOPE RECORDS {a} ***" in r.stdout
    assert "rcpt far@away.test" in r.stdout
    assert "Subject: one" in r.stdout and "body one" in r.stdout
    assert r.stdout.rstrip().endswith(f"*** END OF MESSAGE {a} ***")


def test_show_and_ops_refuse_what_is_not_a_queue_id(suite):
    for bad in ("../../etc/passwd", "0123456789ABCDE/", "0123456789ABCDEG",
                "0123456789abcdef0", "", "queue/.key"):
        r = suite.postern("queue", "show", bad, check=False)
        assert r.returncode != 0 and "not a queue id" in r.stderr, bad
        r = suite.postern("queue", "delete", bad, check=False)
        assert r.returncode != 0, bad
    r = suite.postern("queue", "show", "0123456789ABCDEF", check=False)
    assert r.returncode == 1 and "no such message" in r.stderr
    r = suite.postern("queue", "hold", "0123456789abcdef", check=False)
    assert r.returncode == 1 and "0123456789ABCDEF: no such message" in r.stderr
    # Nothing named is not everything.
    r = suite.postern("queue", "delete", check=False)
    assert r.returncode != 0 and "usage" in r.stderr
    r = suite.postern("queue", "delete", "all", check=False)
    assert r.returncode != 0


def test_delete_by_ids_selectors_all_and_stdin(suite):
    send(suite, ["a1@away.test"], subject="1")
    send(suite, ["a2@away.test"], sender="bob@example.test", subject="2")
    send(suite, ["b1@other.test"], subject="3")
    send(suite, ["b2@other.test"], subject="4")
    send(suite, ["c1@third.test"], subject="5")
    send(suite, ["c2@third.test"], subject="6")
    q = wait_deferred(suite, 6)
    ids = {e["recipients"][0]["address"]: i for i, e in q.items()}

    # Several ids at once, one of them in lower case and one unknown.
    r = suite.postern("queue", "delete", ids["a1@away.test"].lower(),
                      "0123456789ABCDEF", check=False)
    assert r.returncode == 1
    assert "1 message deleted" in r.stdout
    assert "0123456789ABCDEF: no such message" in r.stderr
    # By sender.
    r = suite.postern("queue", "delete", "--from", "BOB@example.test")
    assert "1 message deleted" in r.stdout
    # By recipient domain.
    r = suite.postern("queue", "delete", "--to", "@other.test")
    assert "2 messages deleted" in r.stdout
    left = listing(suite)
    assert sorted(left) == sorted([ids["c1@third.test"], ids["c2@third.test"]])
    # Ids on standard input, as mailq prints them (markers, any case),
    # among junk that is reported and skipped.
    r = suite.postern("queue", "delete", "-", check=False,
                      input=f"{ids['c1@third.test'].lower()}*  junk\n"
                            "../../etc/passwd\n")
    assert r.returncode == 1
    assert "1 message deleted" in r.stdout
    assert '"junk" is not a queue id' in r.stderr
    assert "../../etc/passwd" in r.stderr
    # ALL, by state: the last one is deferred.
    r = suite.postern("queue", "delete", "ALL", "--hold")
    assert "0 messages deleted" in r.stdout
    r = suite.postern("queue", "delete", "ALL", "--deferred")
    assert "1 message deleted" in r.stdout
    suite.wait_queue_empty(10)
    assert "Mail queue is empty" in suite.postern("queue", "list").stdout


def test_a_huge_list_of_ids_on_stdin_is_streamed(suite):
    send(suite, ["keep@away.test"])
    [keep] = wait_deferred(suite, 1)
    rnd = random.Random(8)
    junk = "\n".join("%016X" % rnd.getrandbits(64) for _ in range(30000))
    r = suite.postern("queue", "hold", "-", check=False,
                      input=junk + "\n" + "x" * 100000 + "\n" + keep + "\n")
    assert r.returncode == 1
    assert "1 message placed on hold" in r.stdout
    assert "more ids not in the queue" in r.stderr
    assert "longer than" in r.stderr
    assert listing(suite)[keep]["queue_name"] == "hold"


def test_hold_is_durable_and_held_mail_is_not_delivered(suite):
    rcpt = "bob@example.test"
    tmp = suite.maildir(rcpt) / "tmp"
    os.chmod(tmp, 0)
    try:
        send(suite, [rcpt], subject="held")
        [held] = wait_deferred(suite, 1)
        r = suite.postern("queue", "hold", held)
        assert "1 message placed on hold" in r.stdout
        assert f"{held}: placed on hold" in suite.log_text()
    finally:
        os.chmod(tmp, 0o700)
    e = listing(suite)[held]
    assert e["queue_name"] == "hold" and e["held_since"] > 0
    assert f"{held}!" in suite.postern("queue", "list").stdout
    # A flush does not move it, and deliveries to the same mailbox work.
    suite.postern("queue", "flush")
    suite.postern("queue", "flush", held)
    send(suite, [rcpt], subject="after")
    suite.wait_messages(rcpt, 1)
    # Durable: a restart of the whole suite keeps it held.
    suite.postern("stop")
    suite.proc.wait(30)
    wait_until(lambda: not suite.all_pids(), 30, what="every process to exit")
    suite.stop()
    suite.start()
    wait_until(lambda: "queue scanned: 1 messages loaded" in suite.log_text(),
               10, what="queued to load the held message")
    assert listing(suite)[held]["queue_name"] == "hold"
    send(suite, [rcpt], subject="after restart")
    suite.wait_messages(rcpt, 2)
    assert len(suite.messages(rcpt)) == 2
    assert held in suite.committed()
    # Released, it is delivered.
    r = suite.postern("queue", "release", held)
    assert "1 message released from hold" in r.stdout
    suite.wait_messages(rcpt, 3)
    suite.wait_queue_empty(20)


def test_held_mail_does_not_expire_until_released(suite_factory):
    s = suite_factory("queue_lifetime = 2s\nqueue_retry_min = 1h\n"
                      "queue_retry_max = 1h\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    send(s, ["far@away.test"])
    [qid] = wait_deferred(s, 1)
    s.postern("queue", "hold", qid)
    created = listing(s)[qid]["arrival_time"]
    import time
    wait_until(lambda: time.time() > created + 3, 10,
               what="the lifetime to pass")
    # Held past its lifetime: a flush neither tries nor expires it.
    s.postern("queue", "flush")
    assert listing(s)[qid]["queue_name"] == "hold"
    assert "expired" not in s.log_text()
    # Released, the lifetime counts from arrival, as in Postfix: the next
    # temporary failure expires it and the sender gets a bounce.
    s.postern("queue", "release", qid)
    wait_until(lambda: f"{qid}: to=<far@away.test>" in s.log_text() and
               "status=expired" in s.log_text(), 20, what="the expiry")
    s.wait_messages("alice@example.test", 1)


def test_requeue_restarts_tries_and_lifetime(suite_factory):
    s = suite_factory("queue_retry_min = 1h\nqueue_retry_max = 1h\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    send(s, ["far@away.test"])
    [qid] = wait_deferred(s, 1)
    s.postern("queue", "hold", qid)
    r = s.postern("queue", "requeue", qid)
    assert "1 message requeued" in r.stdout
    wait_until(lambda: f"{qid}: requeued" in s.log_text(), 10,
               what="the requeue to be logged")
    e = listing(s)[qid]
    assert e["requeued"] >= e["arrival_time"]
    # A requeue ends the hold, and the recipient is tried again at once.
    assert e["queue_name"] != "hold"
    wait_until(lambda: s.log_text().count("to=<far@away.test>") >= 2, 10,
               what="a new attempt")


def test_flush_by_domain_and_by_id(suite_factory):
    s = suite_factory("queue_retry_min = 1h\nqueue_retry_max = 1h\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    send(s, ["x@a.test"])
    send(s, ["y@b.test"])
    q = wait_deferred(s, 2)
    ida = [i for i, e in q.items() if e["recipients"][0]["address"] == "x@a.test"][0]
    idb = [i for i in q if i != ida][0]

    def tries(i):
        return listing(s)[i]["recipients"][0]["tries"]
    assert tries(ida) == 1 and tries(idb) == 1
    r = s.postern("queue", "flush", "A.test")
    assert "flush requested for a.test" in r.stdout
    wait_until(lambda: tries(ida) == 2, 10, what="a.test to be retried")
    assert tries(idb) == 1
    s.postern("queue", "flush", idb.lower())
    wait_until(lambda: tries(idb) == 2, 10, what="the message to be retried")
    r = s.postern("queue", "flush", "../x", check=False)
    assert r.returncode != 0


def test_queue_list_and_show_with_the_suite_stopped(suite):
    send(suite, ["far@away.test"], subject="stopped")
    [qid] = wait_deferred(suite, 1)
    suite.postern("queue", "hold", qid)
    suite.postern("stop")
    suite.proc.wait(30)
    wait_until(lambda: not suite.all_pids(), 30, what="every process to exit")
    r = suite.postern("queue", "list")
    assert "not running" in r.stderr
    assert f"{qid}!" in r.stdout and "far@away.test" in r.stdout
    e = listing(suite)[qid]
    assert e["queue_name"] == "hold"
    assert e["recipients"][0]["state"] == "deferred"
    r = suite.postern("queue", "show", qid)
    assert "Subject: stopped" in r.stdout
    # Changing the queue needs queued.
    r = suite.postern("queue", "delete", qid, check=False)
    assert r.returncode != 0 and "is postern running?" in r.stderr
    assert qid in suite.committed()


def postern_as(suite, uid, *args):
    """The postern command run with another uid (the suite runs as root)."""
    import subprocess

    def drop():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    return subprocess.run([str(suite.bin_for_others("postern")), "-c",
                           str(suite.conf), *args], capture_output=True,
                          text=True, timeout=60, preexec_fn=drop)


def test_other_users_list_only_when_in_queue_list_users(suite):
    """A user who may not open control.sock (root's) asks on inject.sock,
    where queued answers only queue_list_users (Postfix's
    authorized_mailq_users); changing the queue stays root's."""
    send(suite, ["far@away.test"], subject="via inject")
    [qid] = wait_deferred(suite, 1)
    if os.geteuid() != 0:
        # A development suite: every process is this uid, which queued
        # counts as the mail system's; only the path can be shown.
        ctl = suite.spool / "private" / "control.sock"
        os.chmod(ctl, 0)
        try:
            r = suite.postern("queue", "list")
            assert qid in r.stdout and "not running" not in r.stderr
            r = suite.postern("queue", "hold", qid, check=False)
            assert r.returncode != 0 and "run as root" in r.stderr
        finally:
            os.chmod(ctl, 0o600)
        return
    nobody = 65534
    r = postern_as(suite, nobody, "queue", "list")
    assert r.returncode == 77, r.stderr
    assert "5.7.1" in r.stderr and qid not in r.stdout
    assert "not in queue_list_users" in suite.log_text()
    mark = len(suite.log_text())
    suite.write_conf("queue_list_users = 65534\n")
    suite.postern("reload")
    wait_until(lambda: re.search(r"postern/queued\[\d+\]: configuration "
                                 r"reloaded", suite.log_text()[mark:]), 10,
               what="queued to reload")
    r = postern_as(suite, nobody, "queue", "list", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["queue_id"] == qid
    r = postern_as(suite, nobody, "queue", "hold", qid)
    assert r.returncode != 0 and "run as root" in r.stderr
    assert listing(suite)[qid]["queue_name"] == "deferred"


def test_the_spool_reader_refuses_what_queued_would_not_load(suite):
    """With the suite stopped, the command reads the spool as queued loads
    it: a queue file whose committed envelope was changed behind queued's
    back (its MAC no longer matches) is reported, not listed or shown."""
    send(suite, ["far@away.test"], subject="forged")
    send(suite, ["other@away.test"], subject="fine")
    q = wait_deferred(suite, 2)
    [forged] = [i for i, e in q.items()
                if e["recipients"][0]["address"] == "far@away.test"]
    [fine] = [i for i in q if i != forged]
    suite.postern("stop")
    suite.proc.wait(30)
    wait_until(lambda: not suite.all_pids(), 30, what="every process to exit")
    path = suite.spool / "queue" / forged
    data = bytearray(path.read_bytes())
    envoff = int(data[4:20], 16)
    at = data.index(b"far@away.test", envoff)
    data[at:at + 3] = b"bad"
    path.write_bytes(bytes(data))
    r = suite.postern("queue", "list")
    assert f"{forged}: its header's MAC does not match" in r.stderr
    assert forged not in r.stdout and fine in r.stdout
    r = suite.postern("queue", "show", forged, check=False)
    assert r.returncode == 1 and "MAC does not match" in r.stderr
    assert "bad@away.test" not in r.stdout
    # The reader changed nothing: queued decides at its start.
    assert forged in suite.queue_files()
