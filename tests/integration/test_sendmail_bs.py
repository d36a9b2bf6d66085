"""sendmail -bs: SMTP on standard input and output, the default of Symfony
Mailer and Laravel. Driven by real clients: raw pipelined SMTP over pipes,
Python's smtplib over a socketpair, and Symfony's exact dialogue and argv."""
import os
import re
import smtplib
import socket
import subprocess

import pytest

from conftest import wait_until

EX_DATAERR, EX_NOPERM, EX_USAGE = 65, 77, 64
NOBODY = 65534


def argv_of(suite, *args, uid=0):
    cmd = [str(suite.build / "bin" / "sendmail"), *args]
    if uid != 0:
        cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}",
               "--clear-groups", "--", *cmd]
    return cmd


def env_of(suite):
    return dict(os.environ, POSTERN_CONFIG=str(suite.conf))


def bs_session(suite, script, *args, uid=0, timeout=60):
    """Runs `sendmail -bs` with the whole client side written at once
    (PIPELINING as a client may use it) and returns (replies, stderr, rc):
    replies as a list of (code, text) for each reply line."""
    r = subprocess.run(argv_of(suite, "-bs", *args, uid=uid), input=script,
                       capture_output=True, env=env_of(suite),
                       timeout=timeout)
    lines = r.stdout.decode(errors="replace").split("\r\n")
    assert lines[-1] == "", r.stdout       # every reply ends in CRLF
    replies = [(int(l[:3]), l[4:]) for l in lines[:-1] if l[3] == " "]
    return replies, r.stderr.decode(errors="replace"), r.returncode


def codes(replies):
    return [c for c, _ in replies]


def test_bs_pipelined_session_queues_two_messages(suite):
    script = (b"EHLO app.example\r\n"
              b"MAIL FROM:<app@example.test>\r\n"
              b"RCPT TO:<bob@example.test>\r\n"
              b"DATA\r\n"
              b"Subject: first\r\n\r\nline one\r\n..hidden dot\r\n.\r\n"
              b"MAIL FROM:<app@example.test>\r\n"
              b"RCPT TO:<bob@example.test>\r\n"
              b"RCPT TO:<alice@example.test>\r\n"
              b"DATA\r\n"
              b"Subject: second\r\nBcc: admin@example.test\r\n\r\n"
              b"two\r\n.\r\n"
              b"NOOP\r\nRSET\r\nQUIT\r\n")
    replies, err, rc = bs_session(suite, script)
    assert rc == 0, err
    assert err == ""
    assert codes(replies) == [220, 250, 250, 250, 354, 250,
                              250, 250, 250, 354, 250, 250, 250, 221]
    assert replies[0][1].startswith("mx.test ")
    queued = [t for c, t in replies if t.startswith("2.0.0 Ok: queued as")]
    assert len(queued) == 2
    msgs = suite.wait_messages("bob@example.test", 2)
    [a] = suite.wait_messages("alice@example.test", 1)
    data = [m.read_bytes() for m in msgs]
    first = next(d for d in data if b"Subject: first" in d)
    second = next(d for d in data if b"Subject: second" in d)
    # Dot-unstuffed, LF line ends, the same trace line as plain sendmail.
    assert first.endswith(b"\nline one\n.hidden dot\n")
    for d in (first, second, a.read_bytes()):
        assert d.count(b"Received:") == 1
        assert b"(Postern, from userid 0)" in d
        assert b"Return-Path: <app@example.test>" in d
        assert b"Message-ID: <" in d and b"\nDate: " in d
    # Bcc never goes out, as with plain sendmail.
    assert b"Bcc:" not in second
    assert suite.messages("admin@example.test") == []


def test_bs_speaks_to_smtplib(suite):
    """smtplib, over a socketpair standing for standard input and output."""
    ours, theirs = socket.socketpair()
    p = subprocess.Popen(argv_of(suite, "-bs"), stdin=theirs, stdout=theirs,
                         stderr=subprocess.PIPE, env=env_of(suite))
    theirs.close()
    try:
        c = smtplib.SMTP()
        c.sock = ours
        code, banner = c.getreply()
        assert code == 220
        c.ehlo("client.example")
        for ext in ("pipelining", "8bitmime", "smtputf8",
                    "enhancedstatuscodes", "size"):
            assert c.has_extn(ext), ext
        assert c.noop()[0] == 250
        assert c.rset()[0] == 250
        refused = c.sendmail("app@example.test", ["bob@example.test"],
                             b"Subject: via smtplib\r\n\r\nhello\r\n")
        assert refused == {}
        c.sendmail("app@example.test", ["alice@example.test"],
                   "Subject: caf\u00e9\r\n\r\n8-bit \u00e9t\u00e9\r\n"
                   .encode(), mail_options=["BODY=8BITMIME"])
        # An unknown command and a bad path are SMTP errors, not the end.
        assert c.docmd("STARTTLS")[0] == 500
        assert c.docmd("MAIL FROM:<no domain>")[0] == 501
        assert c.rset()[0] == 250
        assert c.quit()[0] == 221
    finally:
        ours.close()
        assert p.wait(timeout=30) == 0, p.stderr.read()
        p.stderr.close()
    [m] = suite.wait_messages("bob@example.test", 1)
    assert m.read_bytes().endswith(b"\nhello\n")
    [m] = suite.wait_messages("alice@example.test", 1)
    assert "8-bit \u00e9t\u00e9\n".encode() in m.read_bytes()


def test_symfony_bs_dialogue(suite):
    """Symfony Mailer's SendmailTransport default, '/usr/sbin/sendmail -bs'
    (here the build's sendmail with exactly that argument): its
    EsmtpTransport greets with EHLO [127.0.0.1], waits for each reply,
    dot-stuffs with CRLF and ends with QUIT."""
    p = subprocess.Popen(argv_of(suite, "-bs"), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env_of(suite))
    f = p.stdout

    def reply():
        lines = []
        while True:
            line = f.readline().decode()
            assert line.endswith("\r\n"), line
            lines.append(line)
            if line[3] == " ":
                return int(line[:3]), lines

    def cmd(text, want):
        p.stdin.write(text.encode() + b"\r\n")
        p.stdin.flush()
        code, lines = reply()
        assert code == want, (text, lines)
        return lines

    assert reply()[0] == 220
    ehlo = cmd("EHLO [127.0.0.1]", 250)
    assert any("PIPELINING" in l for l in ehlo)
    cmd("MAIL FROM:<shop@example.test>", 250)
    cmd("RCPT TO:<bob@example.test>", 250)
    cmd("DATA", 354)
    body = ("From: Shop <shop@example.test>\r\nTo: bob@example.test\r\n"
            "Subject: Your order\r\nMessage-ID: <abc@example.test>\r\n"
            "MIME-Version: 1.0\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "Thanks.\r\n..\r\n")
    p.stdin.write(body.encode() + b".\r\n")
    p.stdin.flush()
    code, lines = reply()
    assert code == 250 and "queued as" in lines[0], lines
    cmd("QUIT", 221)
    p.stdin.close()
    assert p.wait(timeout=30) == 0, p.stderr.read()
    p.stdout.close()
    p.stderr.close()
    [m] = suite.wait_messages("bob@example.test", 1)
    data = m.read_bytes()
    # The message's own Message-ID and Date are kept, not doubled.
    assert data.count(b"Message-ID:") == 1 and b"<abc@example.test>" in data
    assert data.count(b"\nDate:") == 1
    assert data.endswith(b"\nThanks.\n.\n")


def test_symfony_t_i_mode_argv(suite):
    """SendmailTransport with '/usr/sbin/sendmail -t -i' and an envelope:
    Symfony drops -t, appends -f'sender' -- 'rcpt' and writes LF text
    without dot-stuffing."""
    msg = (b"From: shop@example.test\nTo: bob@example.test\n"
           b"Subject: t-i\n\nfirst\n.\nafter the dot\n")
    suite.sendmail("-i", "-fshop@example.test", "--", "bob@example.test",
                   input=msg)
    [m] = suite.wait_messages("bob@example.test", 1)
    data = m.read_bytes()
    assert b"Return-Path: <shop@example.test>" in data
    assert data.endswith(b"\nfirst\n.\nafter the dot\n")


def test_bs_hostile_commands_are_errors_not_crashes(suite):
    script = (b"HELO x\r\n" + b"NOOP " + b"a" * 600 + b"\r\n"
              b"MAIL\0 FROM:<a@example.test>\r\n"
              b"RCPT TO:<bob@example.test>\r\n"         # no MAIL yet
              b"DATA\r\n"                              # no MAIL yet
              b"MAIL FROM:<a@example.test> FOO=1\r\n"
              b"MAIL FROM:<a@example.test>\r\n"
              b"MAIL FROM:<a@example.test>\r\n"        # nested
              b"DATA\r\n"                              # no RCPT yet
              b"RCPT TO:<bad address>\r\n"
              b"VRFY bob@example.test\r\n"
              b"QUIT\r\n")
    replies, err, rc = bs_session(suite, script)
    assert rc == 0, err
    assert replies[2] == (500, "5.5.2 Error: line too long")
    assert replies[3] == (500, "5.5.2 Error: NUL byte in command")
    assert codes(replies) == [220, 250, 500, 500, 503, 503, 555, 250, 503,
                              503, 501, 252, 221]
    assert suite.queue_files() == []


def test_bs_nul_bare_lf_and_long_lines_in_data(suite_factory):
    s = suite_factory("smtpd_max_line_length = 100\n")
    s.postern("user", "add", "bob@example.test")
    s.start()
    head = b"HELO x\r\nMAIL FROM:<a@example.test>\r\n" \
           b"RCPT TO:<bob@example.test>\r\nDATA\r\n"
    script = (head + b"Subject: nul\r\n\r\na\0b\r\n.\r\n" +
              head[8:] + b"Subject: long\r\n\r\n" + b"x" * 200 +
              b"\r\n.\r\n" +
              # A bare LF is a line end for storage, never one a "." may
              # end the data after (SMTP smuggling): one message.
              head[8:] + b"Subject: smuggle\r\n\r\nx\n.\nMAIL FROM:<e@"
              b"example.test>\r\n.\r\nQUIT\r\n")
    replies, err, rc = bs_session(s, script)
    assert rc == 0, err
    assert codes(replies) == [220, 250, 250, 250, 354, 554,
                              250, 250, 354, 554,
                              250, 250, 354, 250, 221]
    assert replies[5][1] == "5.6.0 Error: NUL byte in message"
    assert replies[9][1] == "5.6.0 Error: message line longer than 100 " \
        "octets"
    [m] = s.wait_messages("bob@example.test", 1)
    assert m.read_bytes().endswith(b"\nx\n.\nMAIL FROM:<e@example.test>\n")


def test_bs_message_size_limit(suite_factory):
    s = suite_factory("message_size_limit = 2000\n")
    s.postern("user", "add", "bob@example.test")
    s.start()
    script = (b"EHLO x\r\nMAIL FROM:<a@example.test> SIZE=5000\r\n"
              b"MAIL FROM:<a@example.test>\r\nRCPT TO:<bob@example.test>\r\n"
              b"DATA\r\nSubject: big\r\n\r\n" + b"y" * 70 + b"\r\n") + \
        b"y" * 70 * 40 + b"\r\n.\r\nQUIT\r\n"
    replies, err, rc = bs_session(s, script)
    assert rc == 0, err
    assert codes(replies)[-4:] == [250, 354, 552, 221], replies
    assert (552, "5.3.4 Message size exceeds fixed limit") in replies
    assert (552, "5.3.4 Error: message file too big") in replies
    assert s.committed() == []
    wait_until(lambda: s.queue_files() == [], 10,
               what="the refused file to go")


def test_bs_input_ending_mid_data_queues_nothing(suite):
    script = (b"EHLO x\r\nMAIL FROM:<a@example.test>\r\n"
              b"RCPT TO:<bob@example.test>\r\nDATA\r\n"
              b"Subject: cut\r\n\r\nhalf a mess")
    replies, err, rc = bs_session(suite, script)
    assert codes(replies) == [220, 250, 250, 250, 354]
    assert rc == EX_DATAERR
    assert "standard input ended in the middle of a message" in err
    assert "not sent" in err
    # Nothing committed; queued drops the aborted file.
    wait_until(lambda: suite.queue_files() == [], 10,
               what="the aborted file to go")
    assert suite.committed() == []
    # Ending after the last complete message loses nothing: exit 0.
    replies, err, rc = bs_session(suite, b"HELO x\r\nNOOP\r\n")
    assert (codes(replies), err, rc) == ([220, 250, 250], "", 0)


def test_bs_applies_the_local_submission_rules(suite_factory):
    s = suite_factory("authorized_submit_users = !nobody, anyone\n")
    s.postern("user", "add", "bob@example.test")
    s.start()
    script = (b"HELO x\r\nMAIL FROM:<nobody@example.test>\r\n"
              b"RCPT TO:<bob@example.test>\r\nDATA\r\nQUIT\r\n")
    replies, err, rc = bs_session(s, script, uid=NOBODY)
    # Refused at DATA, before the message is sent: no 354.
    assert codes(replies) == [220, 250, 250, 250, 554, 221], replies
    assert replies[4][1].startswith("5.7.1 user is not allowed to submit")
    assert s.queue_files() == []


def test_bs_local_sender_policy_and_uid_trace(suite_factory):
    s = suite_factory("local_sender_policy = own\n")
    s.postern("user", "add", "bob@example.test")
    s.start()
    msg = b"Subject: who\r\n\r\nx\r\n.\r\n"
    script = (b"HELO x\r\nMAIL FROM:<alice@example.test>\r\n"
              b"RCPT TO:<bob@example.test>\r\nDATA\r\n" + msg +
              b"MAIL FROM:<nobody@example.test>\r\n"
              b"RCPT TO:<bob@example.test>\r\nDATA\r\n" + msg +
              b"QUIT\r\n")
    replies, err, rc = bs_session(s, script, uid=NOBODY)
    assert rc == 0, err
    assert codes(replies) == [220, 250, 250, 250, 354, 554,
                              250, 250, 354, 250, 221], replies
    assert replies[5][1].startswith("5.7.1 sender address not owned")
    [m] = s.wait_messages("bob@example.test", 1)
    data = m.read_bytes()
    assert b"Return-Path: <nobody@example.test>" in data
    assert b"(Postern, from userid 65534)" in data


def test_bs_timeout_ends_the_session(suite_factory):
    s = suite_factory("smtpd_timeout = 1s\n")
    s.start()
    p = subprocess.Popen(argv_of(s, "-bs"), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env_of(s))
    # Standard input stays open and silent: the session must end itself.
    rc = p.wait(timeout=30)
    out, err = p.stdout.read(), p.stderr.read()
    p.stdin.close()
    p.stdout.close()
    p.stderr.close()
    assert rc == 75, err
    assert out.endswith(b"421 4.4.2 mx.test Error: timeout exceeded\r\n")
    assert b"no input for too long" in err


@pytest.mark.parametrize("args,why", [
    (("-bs", "bob@example.test"), "takes no recipient"),
    (("-bs", "-t"), "-t can be used only in delivery mode"),
    (("-bd",), "postern start"),
])
def test_bs_usage_errors(suite, args, why):
    r = suite.sendmail(*args, check=False)
    assert r.returncode == EX_USAGE
    assert why in r.stderr.decode()


def test_bs_without_the_suite_running_refuses_at_data(suite_factory):
    s = suite_factory()     # set up, never started: no inject.sock
    script = (b"HELO x\r\nMAIL FROM:<a@example.test>\r\n"
              b"RCPT TO:<bob@example.test>\r\nDATA\r\nQUIT\r\n")
    replies, err, rc = bs_session(s, script)
    assert rc == 0, err
    assert codes(replies) == [220, 250, 250, 250, 451, 221]
    assert replies[4][1].startswith("4.3.0 Error: cannot reach the queue")
    assert "(is postern running?)" in replies[4][1]
