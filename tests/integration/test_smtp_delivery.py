"""SMTP in, Maildir out: the suite's main path, driven by Python's smtplib
and raw sockets, checked in the Maildir on disk."""
import os
import re
import smtplib
import socket
import threading

import pytest

from conftest import wait_until

MESSAGE = (
    "From: Sender <sender@remote.test>\r\n"
    "To: Alice <alice@example.test>\r\n"
    "Subject: byte-exact check\r\n"
    "Message-ID: <exact-1@remote.test>\r\n"
    "\r\n"
    "First line.\r\n"
    ".A line that starts with a dot (stuffed on the wire).\r\n"
    "..Two dots.\r\n"
    "\r\n"
    "Tabs\tand  spaces stay.  \r\n"
    "Last line.\r\n"
)


def read_message(path):
    data = path.read_bytes()
    return data


def split_trace(data):
    """Splits the headers Postern added (Return-Path, Delivered-To,
    Received) from the message as the client sent it."""
    lines = data.split(b"\n")
    i = 0
    trace = []
    while i < len(lines):
        line = lines[i]
        if line.startswith((b"Return-Path:", b"Delivered-To:", b"Received:")):
            trace.append(line)
            i += 1
            while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
                trace[-1] += b"\n" + lines[i]
                i += 1
            continue
        break
    return trace, b"\n".join(lines[i:])


def test_message_arrives_in_maildir_byte_exact(suite):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as s:
        code, _ = s.ehlo("client.test")
        assert code == 250
        refused = s.sendmail("sender@remote.test", ["alice@example.test"],
                             MESSAGE.encode())
        assert refused == {}
    [path] = suite.wait_messages("alice@example.test", 1)
    data = read_message(path)
    trace, body = split_trace(data)
    assert trace[0] == b"Return-Path: <sender@remote.test>"
    assert trace[1] == b"Delivered-To: alice@example.test"
    assert trace[2].startswith(b"Received: from client.test ([127.0.0.1])")
    assert b"by mx.test (Postern) with ESMTP id" in trace[2]
    assert b"for <alice@example.test>;" in trace[2]
    # The message itself: what the client sent, with LF line ends.
    expected = MESSAGE.replace("\r\n", "\n").encode()
    # smtplib dot-stuffs; the stored copy must be unstuffed exactly once.
    assert body == expected
    # Dovecot-compatible size in the name.
    m = re.search(r",S=(\d+)", path.name)
    assert m and int(m.group(1)) == len(data)
    suite.wait_queue_empty()
    assert "status=sent" in suite.log_text()


def test_fifty_messages_over_ten_connections_arrive_exactly_once(suite):
    errors = []

    def worker(n):
        try:
            with smtplib.SMTP("127.0.0.1", suite.port, timeout=60) as s:
                for i in range(5):
                    seq = n * 5 + i
                    msg = (f"From: a@remote.test\r\nTo: bob@example.test\r\n"
                           f"Subject: seq {seq}\r\nX-Seq: {seq}\r\n\r\n"
                           f"body {seq}\r\n")
                    s.sendmail("a@remote.test", ["bob@example.test"], msg)
        except Exception as e:  # reported below, with the thread's number
            errors.append((n, repr(e)))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    msgs = suite.wait_messages("bob@example.test", 50)
    suite.wait_queue_empty()
    msgs = suite.messages("bob@example.test")
    seqs = sorted(int(re.search(rb"X-Seq: (\d+)", p.read_bytes()).group(1))
                  for p in msgs)
    assert seqs == list(range(50)), "each message exactly once"


def test_unknown_local_user_is_refused_at_rcpt(suite):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as s:
        s.ehlo("client.test")
        s.mail("sender@remote.test")
        code, text = s.rcpt("nobody@example.test")
        assert code == 550
        assert text.startswith(b"5.1.1")
        code, _ = s.rcpt("alice@example.test")
        assert code == 250
    assert "reject: RCPT" in suite.log_text()


def test_relay_from_outside_mynetworks_is_refused(suite_factory):
    s = suite_factory("mynetworks = 192.0.2.0/24\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.ehlo("client.test")
        c.mail("sender@remote.test")
        code, text = c.rcpt("someone@elsewhere.test")
        assert code == 554
        assert text.startswith(b"5.7.1")
        assert b"Relay access denied" in text
        # Local delivery is still open to that client.
        assert c.rcpt("alice@example.test")[0] == 250
    assert s.queue_files() == []


def test_relay_from_mynetworks_is_accepted_and_queued(suite):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        c.sendmail("alice@example.test", ["someone@elsewhere.test"],
                   b"Subject: relay\r\n\r\nhi\r\n")
    # No remote transport yet: the recipient waits in the queue, deferred.
    wait_until(lambda: "status=deferred" in suite.log_text(), 20,
               what="the deferral to be logged")
    assert len(suite.committed()) == 1
    listing = suite.postern("queue", "list").stdout
    assert "someone@elsewhere.test" in listing


def test_oversize_message_gets_552_and_nothing_is_queued(suite_factory):
    s = suite_factory("message_size_limit = 64k\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 100
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.ehlo("client.test")
        assert c.has_extn("size")
        assert int(c.esmtp_features["size"]) == 64 * 1024
        with pytest.raises(smtplib.SMTPResponseException) as e:
            c.sendmail("a@remote.test", ["alice@example.test"], big)
        assert e.value.smtp_code == 552
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.ehlo("client.test")
        # Declared too big up front: refused at MAIL.
        code, text = c.mail("a@remote.test", ["SIZE=1000000"])
        assert code == 552
    assert s.queue_files() == []
    assert s.uncommitted() == []
    assert s.messages("alice@example.test") == []


SMUGGLING = [
    b"\n.\n",
    b"\n.\r\n",
    b"\r.\r",
    b"\r\n.\n",
    b"\r.\r\n",
    b"\n.\r",
]


def smtp_exchange(port, chunks, read_until=None, timeout=20):
    """Sends raw chunks and returns everything the server said."""
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        s.settimeout(timeout)
        got = s.recv(1024)
        for c in chunks:
            s.sendall(c)
        s.shutdown(socket.SHUT_WR)
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            got += b
        return got


@pytest.mark.parametrize("eod", SMUGGLING, ids=[repr(p) for p in SMUGGLING])
def test_smuggled_end_of_data_never_makes_a_second_message(suite, eod):
    payload = (b"EHLO client.test\r\n"
               b"MAIL FROM:<a@remote.test>\r\n"
               b"RCPT TO:<alice@example.test>\r\n"
               b"DATA\r\n"
               b"Subject: smuggle\r\n\r\nbefore" + eod +
               b"MAIL FROM:<evil@remote.test>\r\n"
               b"RCPT TO:<bob@example.test>\r\n"
               b"DATA\r\n"
               b"Subject: smuggled\r\n\r\nsmuggled body\r\n"
               b".\r\n"
               b"QUIT\r\n")
    reply = smtp_exchange(suite.port, [payload])
    assert reply.count(b"250 2.0.0 Ok: queued as") == 1, reply
    [msg] = suite.wait_messages("alice@example.test", 1)
    suite.wait_queue_empty()
    assert suite.messages("bob@example.test") == []
    # The would-be second transaction is text inside the first message.
    assert b"smuggled body" in msg.read_bytes()


def test_postmaster_without_domain_is_accepted_and_delivered(suite):
    reply = smtp_exchange(suite.port, [
        b"HELO client.test\r\nMAIL FROM:<a@remote.test>\r\n"
        b"RCPT TO:<Postmaster>\r\nDATA\r\n",
        b"Subject: to postmaster\r\n\r\nhello\r\n.\r\nQUIT\r\n"])
    assert b"250 2.0.0 Ok: queued as" in reply, reply
    # postmaster -> root -> admin (the test aliases file).
    [msg] = suite.wait_messages("admin@example.test", 1)
    assert b"Subject: to postmaster" in msg.read_bytes()


def test_permanent_failure_bounces_to_the_sender(suite):
    suite.aliases.write_text(suite.aliases.read_text() +
                             "broken: ghost@example.test\n")
    suite.postern("alias")
    # SMTP refuses such an alias at RCPT (test_addresses.py); the local
    # injector takes every recipient, and queued bounces what fails.
    suite.sendmail("-f", "alice@example.test", "broken@example.test",
                   input=b"Subject: will bounce\nMessage-ID: <b1@example.test>"
                   b"\n\nbody\n")
    [dsn] = suite.wait_messages("alice@example.test", 1)
    data = dsn.read_bytes()
    assert b"Return-Path: <>" in data
    assert b"Content-Type: multipart/report; report-type=delivery-status" in data
    assert b"Action: failed" in data
    assert b"Status: 5.1.1" in data
    assert b"Message-ID: <b1@example.test>" in data   # original headers
    suite.wait_queue_empty()


def test_commands_in_the_wrong_order_get_503(suite):
    reply = smtp_exchange(suite.port, [
        b"EHLO client.test\r\n", b"RCPT TO:<alice@example.test>\r\n",
        b"DATA\r\n", b"MAIL FROM:<a@remote.test>\r\n", b"DATA\r\n",
        b"QUIT\r\n"])
    finals = [l[:4] for l in reply.split(b"\r\n") if l[3:4] == b" "]
    assert finals[0] == b"220 "
    assert finals[1] == b"250 "              # EHLO
    assert finals[2:4] == [b"503 ", b"503 "]  # RCPT, DATA before MAIL
    assert finals[4] == b"250 "              # MAIL
    assert finals[5] in (b"503 ", b"554 ")   # DATA without recipients
    assert finals[6] == b"221 "
    assert suite.queue_files() == []


def test_recipients_that_meet_in_one_mailbox_get_one_copy(suite):
    suite.aliases.write_text(suite.aliases.read_text() +
                             "al: alice\nteam: alice, bob\n")
    suite.postern("alias")
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        c.sendmail("x@remote.test", ["alice@example.test", "al@example.test",
                                     "team@example.test"],
                   b"Subject: overlap\r\n\r\nonce\r\n")
    suite.wait_messages("bob@example.test", 1)
    suite.wait_queue_empty()
    assert len(suite.messages("alice@example.test")) == 1
    assert len(suite.messages("bob@example.test")) == 1


@pytest.mark.parametrize("group_commit", ["yes", "no"])
def test_both_commit_modes_deliver_every_message(suite_factory, group_commit):
    s = suite_factory(f"group_commit = {group_commit}\n")
    s.postern("user", "add", "alice@example.test")
    s.start()
    errors = []

    def worker(n):
        try:
            with smtplib.SMTP("127.0.0.1", s.port, timeout=60) as c:
                for i in range(5):
                    c.sendmail("a@remote.test", ["alice@example.test"],
                               f"X-Seq: {n}-{i}\r\n\r\nbody\r\n")
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    s.wait_messages("alice@example.test", 30)
    s.wait_queue_empty()
    seqs = sorted(re.search(rb"X-Seq: (\S+)", p.read_bytes()).group(1)
                  for p in s.messages("alice@example.test"))
    assert seqs == sorted(f"{n}-{i}".encode() for n in range(6)
                          for i in range(5))
