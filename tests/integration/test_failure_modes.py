"""Failure modes on the SMTP -> queue -> Maildir path: mailboxes that
cannot be written, full disks under the mail store and the spool, daemons
killed with SIGKILL, reloads with good and broken configurations, and a
stop/start with mail still in the queue. The promise under test: a
message that got 250 is delivered exactly once, one that did not get 250
leaves nothing behind, and temporary trouble is a 4xx, never a 5xx."""
import contextlib
import os
import pathlib
import re
import signal
import socket
import smtplib
import subprocess

import pytest

from conftest import wait_until
from test_smtp_hostile import (Client, assert_reply, data_txn, incoming,
                               ppid_of, send_ok_mail, smtpd_parent)


RCPT = "alice@example.test"


def send(suite, rcpt=RCPT, subject="hello", body="body\r\n", sender=None):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as s:
        refused = s.sendmail(sender or "a@remote.test", [rcpt],
                             f"Subject: {subject}\r\nX-Subject: {subject}"
                             f"\r\n\r\n{body}")
        assert refused == {}


def envelopes(suite):
    """Queue ids of the committed messages still queued."""
    return suite.committed()


def queue_listing(suite):
    return suite.postern("queue", "list").stdout


def deferred_reason(suite, rcpt):
    """rcpt's last reason in `postern queue list --json`, if deferred."""
    import json
    for line in suite.postern("queue", "list", "--json").stdout.splitlines():
        for r in json.loads(line)["recipients"]:
            if r["address"] == rcpt and r["state"] == "deferred":
                return r.get("delay_reason")
    return None


def subjects(suite, rcpt=RCPT):
    out = []
    for p in suite.messages(rcpt):
        m = re.search(rb"X-Subject: (.*)", p.read_bytes())
        out.append(m.group(1).decode() if m else None)
    return sorted(out)


def started_suite(suite_factory, extra="", users=(RCPT,), before_start=None):
    s = suite_factory(extra)
    for u in users:
        s.postern("user", "add", u)
    if before_start:
        before_start(s)
    s.start()
    return s


@contextlib.contextmanager
def tmpfs(path, size):
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}",
                        "tmpfs", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}): "
                    "the full-disk tests need mount(2)")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)],
                          capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(fs_dir, name="filler"):
    """Fills a file system to the last byte; returns the filler's path."""
    p = pathlib.Path(fs_dir) / name
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 16, 4096, 1):
            while True:
                try:
                    if os.write(fd, b"\0" * size) == 0:
                        break
                except OSError:
                    break
    finally:
        os.close(fd)
    return p


# -- the mailbox ------------------------------------------------------------

def test_unwritable_maildir_defers_then_flush_delivers_once(suite_factory):
    # Long retry intervals: only the flush may bring the message in.
    s = started_suite(suite_factory, "queue_retry_min = 1h\n"
                      "queue_retry_max = 1h\n")
    tmp = s.maildir(RCPT) / "tmp"
    assert tmp.is_dir()
    os.chmod(tmp, 0)
    try:
        send(s, subject="blocked")
        wait_until(lambda: deferred_reason(s, RCPT), 20,
                   what="the recipient to be deferred")
        why = deferred_reason(s, RCPT)
        assert re.match(r"4\.\d\.\d ", why), why
        assert "Permission denied" in why
        assert "status=deferred" in s.log_text()
        assert s.messages(RCPT) == []
        assert len(envelopes(s)) == 1
        assert list(tmp.iterdir()) == []
    finally:
        os.chmod(tmp, 0o700)
    s.postern("queue", "flush")
    s.wait_messages(RCPT, 1)
    s.wait_queue_empty()
    assert subjects(s) == ["blocked"]
    assert "Mail queue is empty" in queue_listing(s)


def test_immutable_maildir_defers_too(suite_factory):
    """chattr +i stops even the owner: the same temporary failure."""
    s = started_suite(suite_factory, "queue_retry_min = 1h\n"
                      "queue_retry_max = 1h\n")
    new = s.maildir(RCPT) / "new"
    r = subprocess.run(["chattr", "+i", str(new)], capture_output=True,
                       text=True)
    if r.returncode != 0:
        pytest.skip(f"chattr +i not supported here: {r.stderr.strip()}")
    try:
        send(s, subject="immutable")
        wait_until(lambda: deferred_reason(s, RCPT), 20,
                   what="the recipient to be deferred")
        assert re.match(r"4\.\d\.\d ", deferred_reason(s, RCPT))
        assert s.messages(RCPT) == []
    finally:
        subprocess.run(["chattr", "-i", str(new)], check=True)
    # The failed attempt left nothing behind in tmp/.
    assert list((s.maildir(RCPT) / "tmp").iterdir()) == []
    s.postern("queue", "flush")
    s.wait_messages(RCPT, 1)
    s.wait_queue_empty()
    assert subjects(s) == ["immutable"]


def test_full_mail_store_defers_then_delivers_after_space_is_freed(
        suite_factory):
    s = suite_factory("queue_retry_min = 1h\nqueue_retry_max = 1h\n")
    mnt = s.root / "mailfs"
    s.store = mnt                   # the harness writes it as mail_store
    s.write_conf("queue_retry_min = 1h\nqueue_retry_max = 1h\n")
    with tmpfs(mnt, "1m"):
        s.postern("setup")          # ownership of the freshly mounted store
        s.postern("user", "add", RCPT)
        s.start()
        filler = fill(mnt)
        body = "x" * 76 + "\r\n"
        send(s, subject="no room", body=body * 200)
        wait_until(lambda: deferred_reason(s, RCPT), 20,
                   what="the recipient to be deferred")
        why = deferred_reason(s, RCPT)
        assert why.startswith(("4.2.2", "4.3.0")), why
        assert s.messages(RCPT) == []
        assert len(envelopes(s)) == 1
        # Nothing half-written stays in the mailbox.
        assert list((s.maildir(RCPT) / "tmp").iterdir()) == []
        filler.unlink()
        s.postern("queue", "flush")
        [m] = s.wait_messages(RCPT, 1)
        s.wait_queue_empty()
        assert subjects(s) == ["no room"]
        assert m.read_bytes().endswith(body.replace("\r\n", "\n").encode()
                                       * 200)
        s.stop()


def test_full_spool_gets_4xx_at_end_of_data_and_leaves_nothing(
        suite_factory):
    s = suite_factory()
    spool = s.root / "spoolfs"
    s.spool = spool                 # the harness writes it as spool_directory
    s.write_conf()
    with tmpfs(spool, "256k"):
        os.chmod(spool, 0o755)
        s.postern("setup")
        s.postern("user", "add", RCPT)
        s.start()
        with Client(s.port) as c:
            assert_reply(c.cmd("EHLO client.test"), 250)
            big = (b"Subject: too big for the spool\r\n\r\n" +
                   (b"b" * 510 + b"\r\n") * 2048 + b".\r\n")   # ~1 MiB
            code, texts = data_txn(c, big)
            assert code in (451, 452), (code, texts)
            assert texts[-1][:2] == b"4.", texts
            wait_until(lambda: incoming(s) == [], 10,
                       what="the uncommitted file to be removed")
            assert s.queue_files() == []
            # The same session goes on with a small message.
            assert_reply(data_txn(c, b"Subject: small\r\nX-Subject: small"
                                  b"\r\n\r\nfits\r\n.\r\n"), 250, "2.0.0")
        s.wait_messages(RCPT, 1)
        s.wait_queue_empty()
        assert subjects(s) == ["small"]
        assert "write to queue file" in s.log_text()
        s.stop()


# -- SIGKILL --------------------------------------------------------------------

def last_session_pid(suite):
    """The process of the SMTP session that began last, by smtpd's log
    (a session process may serve several connections, so the process
    list alone cannot tell which one is ours)."""
    pids = re.findall(r"postern/smtpd\[(\d+)\]: connect from",
                      suite.log_text())
    return int(pids[-1])


def test_kill_9_of_the_session_process_mid_data_queues_nothing(suite):
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250)
        assert_reply(c.cmd(f"RCPT TO:<{RCPT}>"), 250)
        assert_reply(c.cmd("DATA"), 354)
        c.send(b"Subject: killed\r\n\r\n" + b"half a message\r\n" * 2000)
        wait_until(lambda: incoming(suite), 10, what="the uncommitted queue file")
        pid = last_session_pid(suite)
        os.kill(pid, signal.SIGKILL)
        assert c.closed_by_peer(10)
    wait_until(lambda: "killed by signal 9" in suite.log_text(), 10,
               what="smtpd to log its session's death")
    wait_until(lambda: incoming(suite) == [], 10,
               what="the uncommitted file to be removed")
    assert suite.queue_files() == []
    send_ok_mail(suite)
    suite.wait_queue_empty()
    assert len(suite.messages(RCPT)) == 1


def test_kill_9_of_the_smtpd_parent_is_restarted_sessions_survive(suite):
    old = smtpd_parent(suite)
    # A session that is already running belongs to its own process.
    c = Client(suite.port)
    assert_reply(c.cmd("EHLO client.test"), 250)
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: re.search(rf"smtpd \(pid {old}\) killed by signal 9",
                                 suite.log_text()), 10,
               what="master to log smtpd's death")
    wait_until(lambda: any(p != old and ppid_of(p) == suite.proc.pid
                           for p in suite.pids_of("smtpd")), 10,
               what="master to restart smtpd")
    # The orphaned session finishes its transaction.
    start = c.cmd("MAIL FROM:<a@remote.test>")
    assert_reply(start, 250)
    assert_reply(c.cmd(f"RCPT TO:<{RCPT}>"), 250)
    assert_reply(c.cmd("DATA"), 354)
    assert_reply(c.cmd(b"Subject: orphan\r\nX-Subject: orphan\r\n\r\nx\r\n."),
                 250, "2.0.0")
    assert_reply(c.cmd("QUIT"), 221)
    c.close()
    send(suite, subject="new parent")
    suite.wait_messages(RCPT, 2)
    suite.wait_queue_empty()
    assert subjects(suite) == ["new parent", "orphan"]


def test_kill_9_of_resolverd_gives_4xx_or_waits_never_5xx(suite):
    codes = []
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(c.cmd("MAIL FROM:<a@remote.test>"), 250)
        assert_reply(c.cmd(f"RCPT TO:<{RCPT}>"), 250)
        # Kill it again and again: master's backoff doubles, so the gaps
        # grow towards restart_backoff_max (1 s here).
        for i in range(6):
            for pid in suite.pids_of("resolverd"):
                os.kill(pid, signal.SIGKILL)
            reply = c.cmd("RCPT TO:<bob@example.test>")
            codes.append(reply)
            assert reply[0] in (250, 451), reply
            if reply[0] == 451:
                assert reply[1][-1].startswith(b"4.3.0"), reply
            wait_until(lambda: suite.pids_of("resolverd"), 10,
                       what="resolverd to be restarted")
        # An unknown user is still refused once resolverd is back.
        wait_until(lambda: c.cmd("RCPT TO:<admin@example.test>")[0] == 250,
                   15, interval=0.2, what="RCPT to work again")
        assert_reply(c.cmd("RCPT TO:<nobody@example.test>"), 550, "5.1.1")
        assert_reply(c.cmd("DATA"), 354)
        assert_reply(c.cmd(b"Subject: after resolverd\r\n"
                           b"X-Subject: after\r\n\r\nx\r\n."), 250, "2.0.0")
    assert suite.log_text().count("resolverd (pid") >= 6
    assert "killed by signal 9" in suite.log_text()
    suite.wait_messages(RCPT, 1)
    suite.wait_messages("admin@example.test", 1)
    suite.wait_queue_empty()
    assert subjects(suite) == ["after"]
    send(suite, rcpt="bob@example.test", subject="later")
    suite.wait_messages("bob@example.test", 1)


# -- reload -----------------------------------------------------------------------

def ehlo_size(suite):
    try:
        with smtplib.SMTP("127.0.0.1", suite.port, timeout=10) as s:
            s.ehlo("client.test")
            return int(s.esmtp_features["size"])
    except (OSError, smtplib.SMTPException):
        return None


def test_reload_lowers_the_size_limit_for_new_sessions(suite):
    assert ehlo_size(suite) == 50 * 1024 * 1024
    # A session opened before the reload keeps the old settings.
    old = Client(suite.port)
    assert_reply(old.cmd("EHLO client.test"), 250)
    suite.write_conf("message_size_limit = 16k\n")
    suite.postern("reload")
    wait_until(lambda: ehlo_size(suite) == 16 * 1024, 15,
               what="new sessions to see the new limit")
    assert "reloaded configuration" in suite.log_text()
    big = b"Subject: 20k\r\n\r\n" + (b"q" * 98 + b"\r\n") * 200 + b".\r\n"
    with Client(suite.port) as c:
        assert_reply(c.cmd("EHLO client.test"), 250)
        assert_reply(data_txn(c, big), 552, "5.3.4")
    assert_reply(data_txn(old, big), 250, "2.0.0")
    old.close()
    suite.wait_messages(RCPT, 1)
    suite.wait_queue_empty()
    assert len(suite.messages(RCPT)) == 1


def test_reload_with_a_broken_config_keeps_the_old_one(suite):
    def daemons():
        return (smtpd_parent(suite), suite.pids_of("queued"),
                suite.pids_of("resolverd"))
    pids = daemons()
    suite.write_conf("message_size_limit = 16k\n")
    suite.conf.write_text(suite.conf.read_text() + "this is not a setting\n")
    # `postern reload` reads the config itself; master must judge it too.
    suite.postern("reload", check=False)
    os.kill(suite.proc.pid, signal.SIGHUP)
    wait_until(lambda: "reload refused" in suite.log_text(), 10,
               what="master to refuse the reload")
    assert suite.proc.poll() is None
    assert "reloaded configuration" not in suite.log_text()
    # Nothing was restarted, and the old limit still holds.
    assert daemons() == pids
    assert ehlo_size(suite) == 50 * 1024 * 1024
    big = "Subject: 20k\r\n\r\n" + ("q" * 98 + "\r\n") * 200
    send(suite, subject="big but fine", body=big)
    suite.wait_messages(RCPT, 1)
    assert suite.proc.poll() is None
    # New session processes (new client addresses: no process to reuse)
    # run on the configuration their parent runs, not the broken file.
    for i in range(2, 6):
        src = (f"127.0.0.{i}", 0)
        with socket.create_connection(("127.0.0.1", suite.port), 10,
                                      source_address=src) as c:
            assert c.makefile("rb").readline().startswith(b"220 "), src
        with socket.create_connection(("127.0.0.1", suite.pop3_port), 10,
                                      source_address=src) as c:
            assert c.makefile("rb").readline().startswith(b"+OK"), src
    assert "fatal" not in suite.log_text()


# -- stop and start ---------------------------------------------------------------

def test_queued_and_deferred_mail_survive_stop_and_start(suite_factory):
    s = started_suite(suite_factory)
    tmp = s.maildir(RCPT) / "tmp"
    os.chmod(tmp, 0)
    try:
        send(s, subject="deferred 1")
        send(s, subject="deferred 2")
        send(s, rcpt="far@away.test", subject="remote")
        wait_until(lambda: deferred_reason(s, RCPT), 20,
                   what="the local recipient to be deferred")
        listing = queue_listing(s)
        ids = envelopes(s)
        assert len(ids) == 3
        s.postern("stop")
        s.proc.wait(30)
        wait_until(lambda: not s.all_pids(), 30, what="every process to exit")
        s.stop()
        assert envelopes(s) == ids
        assert s.messages(RCPT) == []
    finally:
        os.chmod(tmp, 0o700)
    s.start()
    # Rebuilt from disk: all three loaded again, and the local ones now
    # arrive (queue_retry_min is 2 s in the harness), each exactly once.
    wait_until(lambda: "queue scanned: 3 messages loaded" in s.log_text(),
               10, what="queued to load the three messages")
    s.wait_messages(RCPT, 2)
    wait_until(lambda: len(envelopes(s)) == 1, 30,
               what="only the remote message to stay queued")
    assert subjects(s) == ["deferred 1", "deferred 2"]
    assert "far@away.test" in queue_listing(s)
    [remote] = [i for i in ids if i in envelopes(s)]
    assert remote in listing
    # A flush does not deliver anything a second time.
    s.postern("queue", "flush")
    wait_until(lambda: s.log_text().count("to=<far@away.test>") >= 3, 20,
               what="the flushed remote message to be tried again")
    assert subjects(s) == ["deferred 1", "deferred 2"]
