"""Delivery status notifications (RFC 3461 parameters, RFC 3464 reports):
smtpd takes RET, ENVID, NOTIFY and ORCPT and queued records them; a
recipient that fails after it was accepted (an alias command exiting 67)
gets exactly one report, whose parts Python's email package parses; NOTIFY
decides which reports are sent at all; delay warnings come once, even
across a restart of queued; and mail from <> that fails goes to the
postmaster (double_bounce) and never back to anyone else."""
import email
import os
import re
import signal
import smtplib

from conftest import wait_until

FAIL = 'cat > /dev/null; echo "no such list here" >&2; exit 67\n'
TEMP = 'cat > /dev/null; echo "try later" >&2; exit 75\n'


def script(s, name, body):
    p = s.root / name
    p.write_text("#!/bin/sh\n" + body)
    os.chmod(p, 0o755)
    return p


def dsn_suite(suite_factory, extra="", aliases=""):
    s = suite_factory("allow_alias_commands = yes\n" + extra)
    fail = script(s, "fail.sh", FAIL)
    temp = script(s, "temp.sh", TEMP)
    for u in ("alice@example.test", "bob@example.test",
              "admin@example.test"):
        s.postern("user", "add", u)
    s.aliases.write_text(s.aliases.read_text() + f"fail67: |{fail}\n"
                         f"later: |{temp}\n" + aliases)
    s.postern("alias")
    s.start()
    return s


BODY = (b"From: Alice <alice@example.test>\r\nSubject: dsn test\r\n"
        b"Message-ID: <dsn1@example.test>\r\n\r\nTHE BODY TEXT\r\n")


def send(s, rcpt, mail_options=(), rcpt_options=(), sender="alice@example.test",
         body=BODY):
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.ehlo("client.test")
        assert c.has_extn("dsn")
        c.sendmail(sender, [rcpt], body, mail_options=list(mail_options),
                   rcpt_options=list(rcpt_options))


def log_count(s, pattern):
    return len(re.findall(pattern, s.log_text(), re.M))


def wait_log(s, pattern, what, count=1, timeout=30):
    wait_until(lambda: log_count(s, pattern) >= count, timeout, what=what)


def parse(path):
    """(the whole report, its three parts, the delivery-status blocks)."""
    msg = email.message_from_bytes(path.read_bytes())
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert msg["Auto-Submitted"] == "auto-replied"
    parts = msg.get_payload()
    assert len(parts) == 3, [p.get_content_type() for p in parts]
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    blocks = parts[1].get_payload()
    assert len(blocks) >= 2
    return msg, parts, blocks


def only_message(s, addr):
    """Waits for the queue to empty, then for exactly one message."""
    [m] = s.wait_messages(addr, 1)
    s.wait_queue_empty()
    assert len(s.messages(addr)) == 1, s.messages(addr)
    return m


def test_ehlo_offers_dsn_and_bad_parameters_are_refused(suite):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        code, text = c.ehlo("client.test")
        assert code == 250 and b"\nDSN\n" in text.replace(b"\r", b"")
        assert c.docmd("MAIL FROM:<alice@example.test> RET=BOGUS")[:1] == \
            (501,)
        code, text = c.docmd("MAIL FROM:<alice@example.test> ENVID=a+0Ab")
        assert code == 501 and b"5.5.4" in text and b"ENVID" in text
        assert c.docmd("MAIL FROM:<alice@example.test> RET=FULL RET=HDRS"
                       )[0] == 501
        assert c.docmd("MAIL FROM:<alice@example.test> XSHOUT=1")[0] == 555
        assert c.docmd("MAIL FROM:<alice@example.test> RET=HDRS "
                       "ENVID=QQ")[0] == 250
        code, text = c.docmd("RCPT TO:<bob@example.test> NOTIFY=NEVER,DELAY")
        assert code == 501 and b"NOTIFY" in text, text
        assert c.docmd("RCPT TO:<bob@example.test> NOTIFY=SUCCESS "
                       "NOTIFY=FAILURE")[0] == 501
        assert c.docmd("RCPT TO:<bob@example.test> ORCPT=bob@example.test"
                       )[0] == 501
        assert c.docmd("RCPT TO:<bob@example.test> XNOTIFY=NEVER")[0] == 555
        assert c.docmd("RCPT TO:<bob@example.test> NOTIFY=success,delay "
                       "ORCPT=rfc822;Bob+2Bx@example.test")[0] == 250
        assert c.docmd("RSET")[0] == 250


def test_parameters_are_recorded_in_the_envelope(suite_factory):
    s = dsn_suite(suite_factory)
    send(s, "later@example.test", ["RET=HDRS", "ENVID=QQ+2B1", "BODY=8BITMIME"],
         ["NOTIFY=DELAY,FAILURE", "ORCPT=rfc822;Later@example.test"])
    wait_log(s, r"status=deferred", "the deferral")
    [qid] = s.committed()
    env = s.postern("queue", "show", qid).stdout
    assert "\nbody 8bitmime\n" in env
    assert "\nret hdrs\n" in env
    assert "\nenvid QQ+1\n" in env
    assert "\tfailure,delay\t0\trfc822;Later@example.test\t" in env, env


def test_failure_gives_exactly_one_report_with_headers(suite_factory):
    s = dsn_suite(suite_factory)
    send(s, "fail67@example.test", ["RET=HDRS", "ENVID=QQ+2B314"],
         ["NOTIFY=FAILURE", "ORCPT=rfc822;Fail67+2Bx@example.test"])
    m = only_message(s, "alice@example.test")
    msg, parts, blocks = parse(m)
    assert msg["Return-Path"] == "<>"
    assert msg["To"] == "<alice@example.test>"
    assert "Undelivered" in msg["Subject"]
    head, rcpt = blocks[0], blocks[1]
    assert head["Reporting-MTA"] == "dns; mx.test"
    assert head["Original-Envelope-Id"] == "QQ+314"
    assert head["Arrival-Date"]
    assert rcpt["Final-Recipient"] == "rfc822; fail67@example.test"
    assert rcpt["Original-Recipient"] == "rfc822;Fail67+x@example.test"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.3.0"
    assert "no such list here" in rcpt["Diagnostic-Code"]
    assert rcpt["Last-Attempt-Date"]
    assert parts[2].get_content_type() == "text/rfc822-headers"
    returned = parts[2].get_payload()
    assert "Message-ID: <dsn1@example.test>" in returned
    assert "THE BODY TEXT" not in returned
    assert "fail67@example.test" in parts[0].get_payload()
    # A report is from <>: nothing is ever returned for it.
    assert log_count(s, r"sender non-delivery notification") == 1


def test_ret_full_returns_the_message_unless_it_is_too_big(suite_factory):
    s = dsn_suite(suite_factory, "bounce_size_limit = 2k\n")
    send(s, "fail67@example.test", ["RET=FULL"])
    m = only_message(s, "alice@example.test")
    _, parts, blocks = parse(m)
    assert parts[2].get_content_type() == "message/rfc822"
    [inner] = parts[2].get_payload()
    assert inner["Message-ID"] == "<dsn1@example.test>"
    assert "THE BODY TEXT" in inner.get_payload()
    assert "Original-Envelope-Id" not in blocks[0]
    # Over bounce_size_limit: the headers, and the report says so.
    big = (BODY.replace(b"<dsn1@", b"<dsn2@") + b"x" * 70 + b"\r\n" +
           (b"y" * 70 + b"\r\n") * 60)
    send(s, "fail67@example.test", ["RET=FULL"], body=big)
    both = s.wait_messages("alice@example.test", 2)
    s.wait_queue_empty()
    # Maildir names do not sort by time: the report names its message.
    [m2] = [m for m in both if b"<dsn2@example.test>" in m.read_bytes()]
    _, parts, _ = parse(m2)
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert "Message-ID: <dsn2@example.test>" in parts[2].get_payload()
    assert "THE BODY TEXT" not in parts[2].get_payload()
    assert "larger than 2048 bytes" in parts[0].get_payload()


def test_notify_never_and_a_list_without_failure_send_nothing(suite_factory):
    s = dsn_suite(suite_factory)
    send(s, "fail67@example.test", rcpt_options=["NOTIFY=NEVER"])
    send(s, "fail67@example.test", rcpt_options=["NOTIFY=SUCCESS,DELAY"])
    wait_log(s, r"asked for no notice \(NOTIFY\)", "both refusals", 2)
    s.wait_queue_empty()
    assert s.messages("alice@example.test") == []
    assert log_count(s, r"non-delivery notification") == 0


def test_notify_success_reports_the_delivery(suite_factory):
    s = dsn_suite(suite_factory)
    send(s, "bob@example.test", ["ENVID=ok1"],
         ["NOTIFY=SUCCESS", "ORCPT=rfc822;Bob@example.test"])
    s.wait_messages("bob@example.test", 1)
    m = only_message(s, "alice@example.test")
    msg, parts, blocks = parse(m)
    assert "Successful" in msg["Subject"]
    assert blocks[0]["Original-Envelope-Id"] == "ok1"
    assert blocks[1]["Action"] == "delivered"
    assert blocks[1]["Status"] == "2.0.0"
    assert blocks[1]["Final-Recipient"] == "rfc822; bob@example.test"
    assert blocks[1]["Original-Recipient"] == "rfc822;Bob@example.test"
    # Without NOTIFY=SUCCESS a delivery is not reported.
    send(s, "bob@example.test")
    s.wait_messages("bob@example.test", 2)
    s.wait_queue_empty()
    assert len(s.messages("alice@example.test")) == 1


def test_sendmail_takes_notify_ret_and_envid(suite_factory):
    s = dsn_suite(suite_factory)
    s.sendmail("-f", "alice@example.test", "-N", "success, failure",
               "-R", "full", "-V", "cmd-line id", "bob@example.test",
               input=b"Subject: from sendmail\n\nsendmail body\n")
    m = only_message(s, "alice@example.test")
    _, parts, blocks = parse(m)
    assert blocks[0]["Original-Envelope-Id"] == "cmd-line id"
    assert blocks[1]["Action"] == "delivered"
    s.sendmail("-f", "alice@example.test", "-N", "never", "-R", "hdrs",
               "fail67@example.test", input=b"Subject: s2\n\nx\n")
    wait_log(s, r"asked for no notice", "the failure without notice")
    s.wait_queue_empty()
    assert len(s.messages("alice@example.test")) == 1
    for bad in (["-N", "sometimes"], ["-N", "never,success"],
                ["-R", "most"], ["-V", "a\tb"], ["-V", "x" * 101]):
        r = s.sendmail("-f", "alice@example.test", *bad, "bob@example.test",
                       input=b"Subject: no\n\nx\n", check=False)
        assert r.returncode == 64, (bad, r.stderr)


def test_failed_mail_from_null_sender_goes_to_the_postmaster(suite_factory):
    s = dsn_suite(suite_factory)
    send(s, "fail67@example.test", sender="")
    # postmaster -> root -> admin (the harness's aliases)
    m = only_message(s, "admin@example.test")
    msg, parts, blocks = parse(m)
    assert msg["To"].startswith("<postmaster@")
    assert blocks[1]["Action"] == "failed"
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert "Message-ID: <dsn1@example.test>" in parts[2].get_payload()
    assert s.messages("alice@example.test") == []
    assert log_count(s, r"postmaster non-delivery notification") == 1


def test_double_bounce_drop_only_logs(suite_factory):
    s = dsn_suite(suite_factory, "double_bounce = drop\n")
    send(s, "fail67@example.test", sender="")
    wait_log(s, r"undeliverable mail from <>: dropped", "the drop")
    s.wait_queue_empty()
    assert s.messages("admin@example.test") == []
    assert s.messages("alice@example.test") == []


def test_a_notice_to_the_postmaster_that_fails_is_dropped(suite_factory):
    # The postmaster's own mail fails: the notice about a failed <>
    # message fails too, and is dropped instead of going round.
    s = dsn_suite(suite_factory, aliases="")
    s.aliases.write_text(s.aliases.read_text().replace(
        "postmaster: root", f"postmaster: |{s.root / 'fail.sh'}"))
    s.postern("alias")
    send(s, "fail67@example.test", sender="")
    wait_log(s, r"a notice to the postmaster, dropped", "the drop")
    s.wait_queue_empty()
    assert log_count(s, r"postmaster non-delivery notification") == 1
    for u in ("alice", "bob", "admin"):
        assert s.messages(f"{u}@example.test") == []


def test_a_report_that_fails_is_never_returned(suite_factory):
    # alice's mailbox refuses everything: her report (from <>) fails and
    # goes to the postmaster, never to alice again.
    s = dsn_suite(suite_factory, aliases="")
    fail = s.root / "fail.sh"
    s.aliases.write_text(s.aliases.read_text() + f"carol: |{fail}\n")
    s.postern("alias")
    send(s, "fail67@example.test", sender="carol@example.test")
    m = only_message(s, "admin@example.test")
    msg, parts, blocks = parse(m)
    assert blocks[1]["Final-Recipient"] == "rfc822; carol@example.test"
    assert "Undelivered Mail Returned" in parts[2].get_payload()
    assert log_count(s, r"sender non-delivery notification") == 1
    assert log_count(s, r"postmaster non-delivery notification") == 1


def test_delay_warning_comes_once_even_after_a_restart(suite_factory):
    s = dsn_suite(suite_factory, "delay_warning_time = 1s\n"
                  "queue_retry_min = 1s\nqueue_retry_max = 1s\n")
    send(s, "later@example.test", ["ENVID=slow"])
    # Without DELAY in an explicit NOTIFY: no warning for this one.
    send(s, "later@example.test", rcpt_options=["NOTIFY=FAILURE"])
    m = s.wait_messages("alice@example.test", 1)[0]
    msg, parts, blocks = parse(m)
    assert "Delayed" in msg["Subject"]
    assert blocks[0]["Original-Envelope-Id"] == "slow"
    assert blocks[1]["Action"] == "delayed"
    assert blocks[1]["Status"].startswith("4.")
    assert blocks[1]["Will-Retry-Until"]
    assert "try later" in blocks[1]["Diagnostic-Code"]
    assert log_count(s, r"sender delay notification") == 1
    # The file in new/ comes before queued hears of the delivery; killed
    # in between, any MTA delivers again (at least once). That window is
    # not what this test is about: wait until queued has recorded it.
    wait_log(s, r"to=<alice@example\.test>.*status=sent",
             "queued to record the warning's delivery")
    # queued dies and comes back: the warning's mark was on disk.
    for pid in s.pids_of("queued"):
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: len(re.findall(r"/queued\[\d+\]: started",
                                      s.log_text())) >= 2, 30,
               what="queued to restart")
    before = log_count(s, r"status=deferred")
    wait_log(s, r"status=deferred", "more rounds after the restart",
             before + 4)
    assert log_count(s, r"sender delay notification") == 1
    assert len(s.messages("alice@example.test")) == 1
