"""The sendmail-compatible injector: what cron and PHP's mail() use."""
import os
import subprocess


def test_sendmail_delivers_to_a_local_user(suite):
    msg = b"Subject: from cron\nTo: bob@example.test\n\nbackup done\n"
    suite.sendmail("-i", "-f", "cron@example.test", "bob@example.test",
                   input=msg)
    [m] = suite.wait_messages("bob@example.test", 1)
    data = m.read_bytes()
    assert b"Return-Path: <cron@example.test>" in data
    assert b"Subject: from cron\n" in data
    assert data.endswith(b"\nbackup done\n")
    # Headers the injector adds for local submissions.
    assert b"\nDate: " in data or data.startswith(b"Date: ")
    assert b"Message-ID: <" in data
    # One trace line, queued's, with the submitter's uid from the socket.
    assert data.count(b"Received:") == 1
    assert f"(Postern, from userid {os.getuid()})".encode() in data


def test_sendmail_t_takes_recipients_from_headers_and_drops_bcc(suite):
    msg = (b"From: Alice <alice@example.test>\n"
           b"To: bob@example.test\n"
           b"Bcc: admin@example.test\n"
           b"Subject: dash t\n\nhello\n")
    suite.sendmail("-t", "-i", input=msg)
    [b] = suite.wait_messages("bob@example.test", 1)
    [a] = suite.wait_messages("admin@example.test", 1)
    for m in (a, b):
        data = m.read_bytes()
        assert b"Bcc:" not in data
        assert b"Subject: dash t" in data


def test_sendmail_lone_dot_ends_input_without_i(suite):
    msg = b"Subject: dot\n\nbefore\n.\nafter\n"
    suite.sendmail("-f", "x@example.test", "bob@example.test", input=msg)
    [m] = suite.wait_messages("bob@example.test", 1)
    data = m.read_bytes()
    assert b"before\n" in data and b"after" not in data


def test_sendmail_without_recipients_fails_with_ex_dataerr(suite):
    r = suite.sendmail("-t", input=b"Subject: nobody\n\nx\n", check=False)
    assert r.returncode == 65
    assert suite.queue_files() == []
