"""Deferred messages parked on disk (queued/park.c): a message that only
waits for its next retry keeps a compact entry in queued's memory and its
envelope is read back from the spool when it is due or needed. What was
in memory only (a flush) survives the parking; a queue file that changed
or vanished behind queued's back while the message was parked is found
out when it is read back, logged, and costs nothing else.
"""
import json
import smtplib

from conftest import wait_until

RETRY_LATER = "queue_retry_min = 1h\nqueue_retry_max = 1h\n"


def send(suite, rcpts, subject="q"):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        c.sendmail("alice@example.test", rcpts,
                   f"Subject: {subject}\r\n\r\nbody {subject}\r\n".encode())


def listing(suite):
    r = suite.postern("queue", "list", "--json")
    return {e["queue_id"]: e for e in map(json.loads, r.stdout.splitlines())}


def make(suite_factory):
    s = suite_factory(RETRY_LATER)
    s.postern("user", "add", "alice@example.test")
    s.start()
    return s


def deferred_id(suite, rcpt):
    """Sends to rcpt (a list); the queue id once every recipient has been
    tried once and the message waits, parked, for its retry an hour on."""
    before = set(listing(suite))
    send(suite, rcpt)

    def new_and_tried():
        q = listing(suite)
        new = [i for i in q if i not in before]
        if len(new) == 1 and all(r["tries"] >= 1
                                 for r in q[new[0]]["recipients"]):
            return new[0]
        return None
    qid = wait_until(new_and_tried, 20, what="the message to be tried")
    # Its round's results are written (ID.env) before it is parked.
    wait_until(lambda: (suite.spool / "queue" / f"{qid}.env").exists(), 10,
               what="its envelope to be written")
    return qid


def test_a_domain_flush_of_a_parked_message_retries_only_that_domain(
        suite_factory):
    s = make(suite_factory)
    qid = deferred_id(s, ["x@a.test", "y@b.test"])
    r = s.postern("queue", "flush", "a.test")
    assert "flush requested for a.test" in r.stdout

    def tries():
        return {r["address"]: r["tries"] for r in listing(s)[qid]["recipients"]}
    wait_until(lambda: tries()["x@a.test"] == 2, 10,
               what="a.test's recipient to be retried")
    assert tries()["y@b.test"] == 1
    # A whole flush then reaches the other one, and nothing twice.
    s.postern("queue", "flush")
    wait_until(lambda: tries()["y@b.test"] == 2, 10,
               what="b.test's recipient to be retried")
    assert tries()["x@a.test"] in (2, 3)


def test_operations_on_a_parked_message_read_it_back(suite_factory):
    s = make(suite_factory)
    qid = deferred_id(s, ["far@away.test"])
    r = s.postern("queue", "hold", qid)
    assert "1 message placed on hold" in r.stdout
    assert listing(s)[qid]["queue_name"] == "hold"
    r = s.postern("queue", "release", qid)
    assert "1 message released" in r.stdout
    wait_until(lambda: listing(s)[qid]["recipients"][0]["tries"] == 2, 10,
               what="the released message to be tried again")
    e = listing(s)[qid]
    assert e["queue_name"] != "hold"
    assert e["recipients"][0]["address"] == "far@away.test"
    r = s.postern("queue", "delete", qid)
    assert qid not in listing(s)
    assert qid not in s.queue_files()


def test_a_parked_message_whose_file_vanished_is_forgotten(suite_factory):
    s = make(suite_factory)
    gone = deferred_id(s, ["gone@away.test"])
    kept = deferred_id(s, ["kept@away.test"])
    (s.spool / "queue" / gone).unlink()
    (s.spool / "queue" / f"{gone}.env").unlink()
    s.postern("queue", "flush")
    wait_until(lambda: f"{gone}: its queue file is gone; forgotten"
               in s.log_text(), 10, what="the loss to be logged")
    wait_until(lambda: listing(s)[kept]["recipients"][0]["tries"] == 2, 10,
               what="the other message to be retried")
    assert gone not in listing(s)
    # queued goes on: new mail is taken and delivered.
    send(s, ["alice@example.test"], subject="after")
    s.wait_messages("alice@example.test", 1)


def test_a_parked_message_changed_behind_queueds_back_is_set_aside(
        suite_factory):
    s = make(suite_factory)
    bad = deferred_id(s, ["bad@away.test"])
    fine = deferred_id(s, ["fine@away.test"])
    (s.spool / "queue" / f"{bad}.env").write_bytes(b"garbage\n")
    s.postern("queue", "flush")
    wait_until(lambda: (s.spool / "corrupt" / bad).exists(), 10,
               what="the damaged message to be moved to corrupt/")
    assert (s.spool / "corrupt" / f"{bad}.env").exists()
    assert "moved to corrupt/" in s.log_text()
    wait_until(lambda: listing(s)[fine]["recipients"][0]["tries"] == 2, 10,
               what="the other message to be retried")
    assert bad not in listing(s)
