"""Trace and loop protection: the Received line queued writes on local
submissions (from the socket's credentials), who may submit and with which
sender, the hop count (SMTP and local alike), and the Delivered-To loop
check of local delivery."""
import os
import re
import smtplib
import subprocess

import pytest

from conftest import wait_until

EX_UNAVAILABLE, EX_NOPERM = 69, 77
NOBODY = 65534
# A uid with no passwd entry: queued calls it "unknown".
STRANGER = 54321


def sendmail_as(suite, uid, *args, input=b"Subject: hi\n\nbody\n"):
    """Runs the build's sendmail with the given real and effective uid."""
    env = dict(os.environ, POSTERN_CONFIG=str(suite.conf))
    cmd = [str(suite.build / "bin" / "sendmail"), *args]
    if uid != 0:
        cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}",
               "--clear-groups", "--", *cmd]
    return subprocess.run(cmd, input=input, capture_output=True, env=env,
                          timeout=60)


def trace_lines(data):
    """The message's Received fields, unfolded, top first."""
    head = data.split(b"\n\n", 1)[0].decode()
    fields = re.split(r"\n(?![ \t])", head)
    return [f.replace("\n", "") for f in fields if f.startswith("Received:")]


def test_local_submission_carries_the_uid_queued_saw(suite):
    forged = b"Received: by trusted.example (Postern, from userid 0)\n"
    r = sendmail_as(suite, NOBODY, "-i", "bob@example.test",
                    input=forged + b"Subject: trace\n\nbody\n")
    assert r.returncode == 0, r.stderr
    [m] = suite.wait_messages("bob@example.test", 1)
    data = m.read_bytes()
    rcvd = trace_lines(data)
    # queued's own line is on top, whatever the client wrote below it.
    top = re.fullmatch(r"Received: by mx\.test \(Postern, from userid "
                       r"65534\)\tid ([0-9A-F]{16}); \w{3}, \d\d \w{3} "
                       r"\d{4} \d\d:\d\d:\d\d [+-]\d{4}", rcvd[0])
    assert top, rcvd
    assert rcvd[-1] == forged.decode().rstrip("\n")
    qid = top.group(1)
    # Postfix pickup's line, under pickup's name (pflogsumm counts it).
    wait_until(lambda: re.search(
        rf"postern/pickup\[\d+\]: {qid}: uid=65534 "
        rf"from=<nobody@example\.test> user=nobody$", suite.log_text(),
        re.M), 10, what="the submitter to be logged")


def test_root_submission_is_traced_as_userid_0(suite):
    suite.sendmail("-i", "-f", "cron@example.test", "bob@example.test",
                   input=b"Subject: root\n\nx\n")
    [m] = suite.wait_messages("bob@example.test", 1)
    assert trace_lines(m.read_bytes())[0].startswith(
        "Received: by mx.test (Postern, from userid 0)\tid ")
    assert ": uid=0 from=<cron@example.test> user=root\n" in suite.log_text()


def test_authorized_submit_users_refuses_others_but_never_root(suite_factory):
    s = suite_factory("authorized_submit_users = !nobody, 54321\n")
    s.postern("user", "add", "bob@example.test")
    s.start()
    # Excluded by name, and not listed: refused before anything is queued.
    for uid, args in ((NOBODY, ()), (STRANGER + 1, ("-f", "x@example.test"))):
        r = sendmail_as(s, uid, *args, "bob@example.test")
        assert r.returncode == EX_NOPERM, r.stderr
        assert b"5.7.1 user is not allowed to submit mail" in r.stderr
    assert "uid=65534 (nobody): not in authorized_submit_users" in \
        s.log_text()
    assert "uid=54322 (unknown): not in authorized_submit_users" in \
        s.log_text()
    assert s.queue_files() == []
    # Listed by uid; and root, who is never refused.
    r = sendmail_as(s, STRANGER, "-f", "x@example.test", "bob@example.test")
    assert r.returncode == 0, r.stderr
    s.sendmail("-f", "root@example.test", "bob@example.test",
               input=b"Subject: root\n\nx\n")
    msgs = s.wait_messages("bob@example.test", 2)
    ids = sorted(trace_lines(m.read_bytes())[0].split("userid ")[1]
                 .split(")")[0] for m in msgs)
    assert ids == ["0", "54321"]


def test_local_sender_policy_own_allows_only_the_users_address(suite_factory):
    s = suite_factory("local_sender_policy = own\n")
    s.postern("user", "add", "bob@example.test")
    s.start()
    r = sendmail_as(s, NOBODY, "-f", "alice@example.test",
                    "bob@example.test")
    assert r.returncode == EX_NOPERM, r.stderr
    assert b"5.7.1 sender address not owned by the user" in r.stderr
    assert "may not use the sender <alice@example.test> " \
        "(local_sender_policy = own)" in s.log_text()
    for sender in ("<>", "nobody@elsewhere.test"):
        r = sendmail_as(s, NOBODY, "-f", sender, "bob@example.test")
        assert r.returncode == EX_NOPERM, (sender, r.stderr)
    assert s.queue_files() == []
    # Its own address (the default sender), in any case.
    r = sendmail_as(s, NOBODY, "bob@example.test")
    assert r.returncode == 0, r.stderr
    r = sendmail_as(s, NOBODY, "-f", "NoBody@Example.Test",
                    "bob@example.test")
    assert r.returncode == 0, r.stderr
    # Root may use any sender.
    s.sendmail("-f", "alice@example.test", "bob@example.test",
               input=b"Subject: root\n\nx\n")
    s.wait_messages("bob@example.test", 3)


def received(n):
    return b"".join(b"Received: from hop%d.test by hop%d.test;\r\n"
                    b"\tMon, 1 Jan 2024 00:00:00 +0000\r\n" % (i, i)
                    for i in range(n))


def test_smtp_hop_count_counts_smtpds_own_received(suite):
    """Postfix's cleanup: every Received counts, the server's own included,
    and hopcount_limit (50) of them refuse. A client may bring 48."""
    body = b"Subject: hops\r\n\r\nbody\r\n"
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        for n in (49, 51):
            with pytest.raises(smtplib.SMTPDataError) as e:
                c.sendmail("alice@example.test", ["bob@example.test"],
                           received(n) + body)
            assert e.value.smtp_code == 554
            assert e.value.smtp_error == b"5.4.6 too many hops"
        assert suite.queue_files() == []
        c.sendmail("alice@example.test", ["bob@example.test"],
                   received(48) + body)
    [m] = suite.wait_messages("bob@example.test", 1)
    assert len(trace_lines(m.read_bytes())) == 49
    log = suite.log_text()
    assert "reject: too many hops (50 Received header fields, " \
        "hopcount_limit = 50) from [127.0.0.1]; from=<alice@example.test>" \
        in log
    # The refusals left no message behind, and the sender got no bounce.
    suite.wait_queue_empty()
    assert suite.messages("alice@example.test") == []


def test_hop_count_applies_to_local_submissions(suite):
    r = suite.sendmail("-i", "bob@example.test",
                       input=received(60) + b"Subject: hops\r\n\r\nx\r\n",
                       check=False)
    assert r.returncode == EX_UNAVAILABLE
    assert r.stderr == (b"sendmail: the queue refused the message at "
                        b"commit: 5.4.6 too many hops\n")
    assert "hopcount_limit = 50) from local uid 0; " \
        "from=<root@example.test>" in suite.log_text()
    assert suite.queue_files() == []


def test_hopcount_limit_is_configurable(suite_factory):
    s = suite_factory("hopcount_limit = 3\n")
    s.postern("user", "add", "bob@example.test")
    s.start()
    body = b"Subject: hops\r\n\r\nbody\r\n"
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.sendmail("a@example.test", ["bob@example.test"], received(1) + body)
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("a@example.test", ["bob@example.test"],
                       received(2) + body)
        assert e.value.smtp_code == 554
    s.wait_messages("bob@example.test", 1)


def test_delivered_to_loop_bounces_once_and_delivers_nothing(suite):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        # Case differs from what deliverd writes: still the same mailbox.
        c.sendmail("alice@example.test", ["bob@example.test"],
                   b"Delivered-To: Bob@Example.Test\r\n"
                   b"Subject: looping\r\nMessage-ID: <loop1@example.test>\r\n"
                   b"\r\nbody\r\n")
        # Another mailbox's Delivered-To, and one in the body: no loop.
        c.sendmail("alice@example.test", ["bob@example.test"],
                   b"Delivered-To: alice@example.test\r\n"
                   b"Subject: fine\r\n\r\n"
                   b"Delivered-To: bob@example.test\r\n")
    [dsn] = suite.wait_messages("alice@example.test", 1)
    data = dsn.read_bytes()
    assert b"Return-Path: <>" in data
    assert b"Status: 5.4.6" in data
    assert b"mail forwarding loop for bob@example.test" in data
    assert b"Message-ID: <loop1@example.test>" in data
    [m] = suite.wait_messages("bob@example.test", 1)
    assert b"Subject: fine" in m.read_bytes()
    suite.wait_queue_empty()
    assert len(suite.messages("alice@example.test")) == 1
    assert len(suite.messages("bob@example.test")) == 1
    assert "dsn=5.4.6, status=bounced (mail forwarding loop for " \
        "bob@example.test)" in suite.log_text()
