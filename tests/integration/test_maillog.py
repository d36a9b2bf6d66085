"""Logs that existing tools read: maillog_file written by the log process,
Postfix's line shapes, and Debian's pflogsumm over a mixed run."""
import os
import re
import shutil
import signal
import smtplib
import subprocess

import pytest

from conftest import wait_until

# What a syslog daemon (and the log process) writes before the tag.
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d \S+ "
LINE = re.compile(STAMP + r"postern/[a-z0-9]+\[\d+\]: .*$")
DELIVERY = re.compile(
    r"postern/(?P<prog>[a-z0-9]+)\[\d+\]: (?P<qid>[0-9A-F]{16}): "
    r"to=<(?P<to>[^>]*)>, (?:orig_to=<(?P<orig>[^>]*)>, )?"
    r"relay=(?P<relay>[^,]+), delay=(?P<delay>[0-9.]+), "
    r"delays=(?P<delays>[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+), "
    r"dsn=(?P<dsn>\d\.\d{1,3}\.\d{1,3}), "
    r"status=(?P<status>sent|deferred|bounced) \((?P<text>.*)\)$")


def maillog_suite(suite_factory, extra=""):
    s = suite_factory()
    s.maillog = s.root / "maillog"
    s.write_conf(f"maillog_file = {s.maillog}\n{extra}")
    for u in ("alice@example.test", "bob@example.test",
              "admin@example.test"):
        s.postern("user", "add", u)
    s.aliases.write_text("postmaster: root\nroot: admin\n"
                         "MAILER-DAEMON: postmaster\nfwd: bob\n")
    s.postern("alias")
    s.start()
    return s


def maillog_text(s):
    try:
        return s.maillog.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def wait_log(s, pattern, what, count=1):
    rx = re.compile(pattern, re.M)
    wait_until(lambda: len(rx.findall(maillog_text(s))) >= count, 20,
               what=what)


def smtp(s):
    c = smtplib.SMTP("127.0.0.1", s.port, timeout=20)
    c.ehlo("client.test")
    return c


def mixed_run(s):
    """Delivered (one through an alias), a bounce (a mail loop), a
    deferral (a remote domain), a reject at RCPT, a local submission."""
    with smtp(s) as c:
        c.sendmail("ext@remote.test", ["alice@example.test",
                                       "fwd@example.test"],
                   b"Message-ID: <one@remote.test>\nSubject: one\n\nhi\n")
        # Already delivered here once: deliverd refuses the loop (5.4.6).
        c.sendmail("alice@example.test", ["alice@example.test"],
                   b"Delivered-To: alice@example.test\nSubject: loop\n\n"
                   b"round and round\n")
        c.sendmail("alice@example.test", ["far@remote.test"],
                   b"Subject: far\n\naway\n")
        c.mail("ext@remote.test")
        code, _ = c.rcpt("nosuch@example.test")
        assert code == 550
        c.rset()
    s.sendmail("-i", "-f", "cron@example.test", "alice@example.test",
               input=b"Subject: from cron\n\nbackup done\n")
    # alice: one, cron's, and the bounce of the loop; bob: one via fwd.
    s.wait_messages("alice@example.test", 3)
    s.wait_messages("bob@example.test", 1)
    wait_log(s, r"to=<far@remote\.test>.*status=deferred", "the deferral")
    wait_log(s, r"status=bounced", "the bounce")


def test_pflogsumm_counts_a_mixed_run(suite_factory):
    if shutil.which("pflogsumm") is None:
        pytest.fail("pflogsumm is not installed (README command 2)")
    s = maillog_suite(suite_factory)
    mixed_run(s)
    s.stop()
    log = maillog_text(s)
    # Every line in syslog's shape with a postern/ tag.
    bad = [l for l in log.splitlines() if not LINE.match(l)]
    assert not bad, bad[:5]

    r = subprocess.run(["pflogsumm", "--syslog-name=postern",
                        "--problems-first", str(s.maillog)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = r.stdout

    def total(word):
        m = re.search(r"^\s*(\d+)\s+" + word + r"\b", out, re.M)
        assert m, f"no '{word}' in pflogsumm's output:\n{out}"
        return int(m.group(1))

    # Three over SMTP, one through sendmail (pickup); the DSN is ours.
    assert total("received") == 4, out
    # alice twice and bob (through fwd), and the bounce to alice.
    assert total("delivered") == 4, out
    assert total("deferred") == 1, out
    assert total("bounced") == 1, out
    assert total("rejected") == 1, out

    def table(title):
        m = re.search(r"^" + re.escape(title) + r"\n-+\n(.*?)(?:\n\n|\Z)",
                      out, re.M | re.S)
        assert m, f"no table '{title}':\n{out}"
        rows = {}
        for line in m.group(1).splitlines():
            f = line.split()
            if len(f) == 2:
                rows[f[-1]] = int(f[0])
        return rows

    senders = table("Senders by message count")
    assert senders == {"alice@example.test": 2, "ext@remote.test": 1,
                       "cron@example.test": 1}, out
    rcpts = table("Recipients by message count")
    assert rcpts == {"alice@example.test": 3, "bob@example.test": 1}, out
    assert "Recipient address rejected" in out or "User unknown" in out, out
    assert "mail forwarding loop" in out, out
    # The remote recipient waits: the harness's DNS server never answers.
    assert "Host not found, try again" in out, out


def test_delivery_lines_have_postfix_shape(suite_factory):
    s = maillog_suite(suite_factory)
    mixed_run(s)
    s.stop()
    log = maillog_text(s)
    outcomes = [DELIVERY.search(l) for l in log.splitlines()
                if "status=" in l and ": to=<" in l and "expired" not in l]
    assert outcomes and all(outcomes), [l for l in log.splitlines()
                                       if "status=" in l]
    by = {}
    for m in outcomes:
        by.setdefault((m["to"], m["status"]), []).append(m)
    sent = by[("bob@example.test", "sent")][0]
    assert sent["orig"] == "fwd@example.test"
    assert sent["relay"] == "local" and sent["dsn"] == "2.0.0"
    assert sent["prog"] == "deliverd"
    # The parts add up to the total, to the rounding of each.
    parts = [float(x) for x in sent["delays"].split("/")]
    assert abs(sum(parts) - float(sent["delay"])) < 0.05
    # No orig_to when no alias rewrote the address.
    alice = by[("alice@example.test", "sent")]
    assert all(m["orig"] is None for m in alice)
    loop = by[("alice@example.test", "bounced")][0]
    assert loop["dsn"] == "5.4.6" and "loop" in loop["text"]
    far = by[("far@remote.test", "deferred")][0]
    assert far["relay"] == "none" and far["dsn"] == "4.4.3"
    assert far["prog"] == "relayd"
    # The lines admins grep for.
    qids = {m["qid"] for m in outcomes}
    assert re.search(r"postern/queued\[\d+\]: [0-9A-F]{16}: "
                     r"message-id=<one@remote\.test>$", log, re.M)
    assert len(re.findall(r": message-id=", log)) >= len(qids)
    assert re.search(r"postern/pickup\[\d+\]: [0-9A-F]{16}: uid=0 "
                     r"from=<cron@example\.test> user=root$", log, re.M)
    assert re.search(r"postern/smtpd\[\d+\]: [0-9A-F]{16}: "
                     r"client=unknown\[127\.0\.0\.1\]$", log, re.M)
    assert re.search(r"postern/smtpd\[\d+\]: connect from "
                     r"unknown\[127\.0\.0\.1\]$", log, re.M)
    assert re.search(r"postern/smtpd\[\d+\]: NOQUEUE: reject: RCPT from "
                     r"unknown\[127\.0\.0\.1\]: 550 5\.1\.1 ", log, re.M)
    # Every process logged under its own name, master and logd included.
    for prog in ("master", "logd", "queued", "resolverd", "deliverd",
                 "smtpd"):
        assert re.search(rf"postern/{prog}\[\d+\]: ", log), prog


def test_clean_stop_logs_no_warnings(suite_factory):
    s = maillog_suite(suite_factory)
    mixed_run(s)
    mark = len(maillog_text(s))
    s.stop()
    tail = maillog_text(s)[mark:]
    assert re.search(r"postern/master\[\d+\]: stopped$", tail, re.M), tail
    # Every process's last words were written (logd stops last).
    assert re.search(r"postern/logd\[\d+\]: stopping$", tail, re.M), tail
    bad = [l for l in tail.splitlines()
           if re.search(r"\]: (warning|error|fatal): ", l)]
    assert not bad, "\n".join(bad)


def test_syslog_name_renames_every_tag(suite_factory):
    s = maillog_suite(suite_factory, "syslog_name = postern-out")
    with smtp(s) as c:
        c.sendmail("ext@remote.test", ["alice@example.test"],
                   b"Subject: x\n\nx\n")
    s.wait_messages("alice@example.test", 1)
    wait_log(s, r"postern-out/deliverd\[\d+\]: .*status=sent", "delivery")
    log = maillog_text(s)
    assert not re.search(r" postern/", log), log
    # The foreground log (stderr) says the same, with a timestamp.
    fg = s.log_text()
    assert re.search("^" + STAMP + r"postern-out/smtpd\[\d+\]: connect",
                     fg, re.M), fg[-2000:]


def test_log_reopen_after_rotation(suite_factory):
    s = maillog_suite(suite_factory)
    wait_log(s, r"postern/logd\[\d+\]: started", "logd to start")
    rotated = s.root / "maillog.1"
    os.rename(s.maillog, rotated)
    s.postern("log", "reopen")
    wait_log(s, r"postern/logd\[\d+\]: reopened", "the reopen")
    with smtp(s) as c:
        c.sendmail("ext@remote.test", ["alice@example.test"],
                   b"Subject: after\n\nx\n")
    wait_log(s, r"status=sent", "the delivery in the new file")
    assert "status=sent" not in rotated.read_text()
    # A reload reopens too (Postfix's logrotate is a reload's subset).
    os.rename(s.maillog, rotated)
    s.postern("reload")
    wait_log(s, r"postern/logd\[\d+\]: reopened", "the reopen on reload")


def test_log_reopen_without_maillog_file_says_so(suite):
    r = suite.postern("log", "reopen", check=False)
    assert r.returncode == 1
    assert "maillog_file is not set" in r.stderr


def test_a_stopped_log_process_never_stalls_mail(suite_factory):
    s = maillog_suite(suite_factory)
    wait_log(s, r"postern/logd\[\d+\]: started", "logd to start")
    [logd] = s.pids_of("logd")
    os.kill(logd, signal.SIGSTOP)
    try:
        # Far more lines than the sockets hold: mail still flows.
        with smtp(s) as c:
            for i in range(150):
                c.sendmail("ext@remote.test", ["alice@example.test"],
                           b"Subject: flood\n\nx\n")
        s.wait_messages("alice@example.test", 150, timeout=120)
    finally:
        os.kill(logd, signal.SIGCONT)
    # What could not be sent is counted and said once logd reads again
    # (tests/unit/test_log.c fills a socket to be sure of the count).
    with smtp(s) as c:
        c.mail("ext@remote.test")
        c.rcpt("alice@example.test")
        code, resp = c.data(b"Subject: after\n\nx\n")
    assert code == 250
    qid = resp.decode().split()[-1]
    wait_log(s, rf"{qid}: to=<alice@example\.test>.*status=sent",
             "the last delivery's line")
    log = maillog_text(s)
    if len(re.findall(r"status=sent", log)) < 151:
        assert re.search(r"warning: \d+ log lines lost", log), log[-3000:]


def test_no_syslog_and_no_maillog_file_warns_at_start(suite_factory):
    s = suite_factory()
    for u in ("alice@example.test",):
        s.postern("user", "add", u)
    cmd = [str(s.build / "libexec" / "master"), "-c", str(s.conf)]
    if os.path.exists("/dev/log"):
        # Hide the syslog socket from this master alone.
        cmd = ["unshare", "-m", "sh", "-c",
               'mount --bind /dev/null /dev/log && exec "$@"', "sh"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    try:
        assert r.returncode == 0, r.stderr
        assert "no syslog daemon listens on /dev/log and maillog_file " \
               "is not set" in r.stderr, r.stderr
    finally:
        s.postern("stop", check=False)
    # With maillog_file set it says nothing of the kind.
    s.write_conf(f"maillog_file = {s.root}/maillog")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    try:
        assert r.returncode == 0, r.stderr
        assert "no syslog daemon" not in r.stderr, r.stderr
    finally:
        s.postern("stop", check=False)


def test_sendmail_logs_its_failures_as_postern_sendmail(suite_factory):
    s = maillog_suite(suite_factory)
    r = s.sendmail("-t", input=b"Subject: nobody\n\nx\n", check=False)
    assert r.returncode == 65
    # The caller reads the error on stderr, in the command's own words...
    err = r.stderr.decode()
    assert err.startswith("sendmail: ") and "postern/" not in err, err
    # ...and the administrator in the mail log, under sendmail's tag.
    wait_log(s, r"postern/sendmail\[\d+\]: error: \S", "sendmail's line")
