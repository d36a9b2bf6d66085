"""IMAP (imapd) end to end with Python's imaplib: mail goes in over SMTP
and comes out through IMAP; flags, expunges and copies are checked on
the Maildir on disk and from a second session. Every wait is a condition
polled until a deadline; nothing sleeps to synchronise."""
import email
import imaplib
import os
import re
import smtplib
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import wait_until

PASSWORD = "imap secret 42"
ALICE = "alice@example.test"

MSG = (
    "From: Sender <sender@remote.test>\r\n"
    "To: Alice <alice@example.test>\r\n"
    "Subject: {subject}\r\n"
    "Message-ID: <{subject}@remote.test>\r\n"
    "\r\n"
    "Body of {subject}.\r\n"
)


def imap_greets(suite):
    try:
        with socket.create_connection(("127.0.0.1", suite.imap_port), 1) as s:
            s.settimeout(2)
            return s.recv(512).startswith(b"* OK")
    except OSError:
        return False


def ready(suite, users=(ALICE,)):
    for u in users:
        suite.postern("user", "passwd", u, "--stdin", input=PASSWORD + "\n")
    wait_until(lambda: imap_greets(suite), 20, what="imapd to greet")


def all_files(suite, rcpt, folder=""):
    """The message files of a folder, new/ and cur/."""
    md = suite.maildir(rcpt) / folder if folder else suite.maildir(rcpt)
    return sorted(p for sub in ("new", "cur") if (md / sub).is_dir()
                  for p in (md / sub).iterdir())


def deliver(suite, rcpt, subjects):
    """One SMTP transaction each, in order, each waited for: UIDs follow
    the sending order."""
    have = len(all_files(suite, rcpt))
    for i, subj in enumerate(subjects, 1):
        with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as s:
            s.sendmail("sender@remote.test", [rcpt],
                       MSG.format(subject=subj).encode())
        wait_until(lambda: len(all_files(suite, rcpt)) >= have + i, 30,
                   what=f"message {subj} for {rcpt}")


def login(suite, user=ALICE):
    c = imaplib.IMAP4("127.0.0.1", suite.imap_port, timeout=30)
    c.login(user, PASSWORD)
    return c


def test_login_select_fetch(suite):
    ready(suite)
    deliver(suite, ALICE, ["one", "two", "three"])
    c = imaplib.IMAP4("127.0.0.1", suite.imap_port, timeout=30)
    assert b"IMAP4rev1" in c.welcome
    typ, caps = c.capability()
    assert typ == "OK" and b"AUTH=PLAIN" in caps[0]
    with pytest.raises(imaplib.IMAP4.error):
        c.login(ALICE, "wrong")
    typ, data = c.login(ALICE, PASSWORD)
    assert typ == "OK"
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    assert c.untagged_responses.get("RECENT") == [b"3"]
    uidvalidity = int(c.untagged_responses["UIDVALIDITY"][0])
    assert uidvalidity > 0
    typ, data = c.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE "
                      "BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    subjects = [d[1].decode().strip() for d in data if isinstance(d, tuple)]
    assert subjects == ["Subject: one", "Subject: two", "Subject: three"]
    heads = [d[0].decode() for d in data if isinstance(d, tuple)]
    assert all("\\Seen" not in h for h in heads)
    uids = [int(re.search(r"UID (\d+)", h).group(1)) for h in heads]
    assert uids == sorted(uids) and len(set(uids)) == 3
    # BODY[] without PEEK sets \Seen, and says so.
    typ, data = c.fetch("2", "(BODY[])")
    assert typ == "OK" and b"\\Seen" in data[0][0]
    assert data[0][1].endswith(b"Body of two.\r\n")
    typ, data = c.fetch("2", "(FLAGS)")
    assert b"\\Seen" in data[0]
    # The flag is in the file name, as Dovecot keeps it.
    names = sorted(os.listdir(suite.maildir(ALICE) / "cur"))
    assert sum(1 for n in names if n.endswith(":2,S")) == 1
    # postern who lists the session as IMAP.
    who = suite.postern("who").stdout
    assert re.search(r"alice@example\.test\s+imap\s+127\.0\.0\.1", who), who
    c.logout()


def test_store_expunge_and_second_session(suite):
    ready(suite)
    deliver(suite, ALICE, ["a", "b", "c", "d"])
    c1, c2 = login(suite), login(suite)
    assert c1.select("INBOX")[1] == [b"4"]
    assert c2.select("INBOX")[1] == [b"4"]
    typ, data = c1.store("2", "+FLAGS", "(\\Deleted \\Flagged)")
    assert typ == "OK" and b"\\Deleted" in data[0]
    typ, data = c1.store("3", "+FLAGS", "(Work)")
    assert typ == "OK" and b"Work" in data[0]
    # The other session sees the flags at NOOP.
    typ, data = c2.noop()
    fetches = c2.untagged_responses.get("FETCH", [])
    assert any(b"\\Flagged" in f for f in fetches), fetches
    assert any(b"Work" in f for f in fetches), fetches
    typ, data = c1.expunge()
    assert typ == "OK" and data == [b"2"]
    typ, data = c2.noop()
    assert c2.untagged_responses.get("EXPUNGE") == [b"2"] or \
        b"2" in c2.untagged_responses.get("EXPUNGE", [])
    assert len(all_files(suite, ALICE)) == 3
    # Keywords go to dovecot-keywords.
    kw = (suite.maildir(ALICE) / "dovecot-keywords").read_text()
    assert "Work" in kw
    c1.logout()
    c2.logout()


def test_append_copy_uidplus(suite):
    ready(suite)
    deliver(suite, ALICE, ["x"])
    c = login(suite)
    typ, data = c.append("INBOX", "(\\Seen)", None,
                         MSG.format(subject="appended").encode())
    assert typ == "OK"
    m = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
    assert m, data
    c.select("INBOX")
    typ, data = c.uid("FETCH", m.group(2).decode(), "(FLAGS BODY.PEEK[])")
    assert typ == "OK" and b"\\Seen" in data[0][0]
    assert b"Subject: appended" in data[0][1]
    typ, data = c.copy("1:2", "NoSuchFolder")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    c.logout()


def test_envelope_of_long_headers(suite):
    """ENVELOPE is read from the file's start: headers of 1, 6 and 20
    KiB (one read, two reads, the whole-message parse) answer the same
    fields, from the first FETCH and from the cached second."""
    ready(suite)
    c = login(suite)
    for kib in (1, 6, 20):
        filler = "".join(f"X-Filler-{i}: {'f' * 60}\r\n"
                         for i in range(kib * 1024 // 76))
        msg = (f"From: Long Header <long@example.test>\r\n{filler}"
               f"Subject: header of {kib} KiB\r\n"
               f"Message-ID: <long{kib}@example.test>\r\n\r\n"
               f"Body, with a blank line after:\r\n\r\nSubject: no\r\n")
        assert c.append("INBOX", None, None, msg.encode())[0] == "OK"
    c.select("INBOX")
    for _ in range(2):
        typ, data = c.fetch("1:3", "(ENVELOPE)")
        assert typ == "OK", data
        for kib, item in zip((1, 6, 20), data):
            assert f'"header of {kib} KiB"'.encode() in item, item
            assert f'"<long{kib}@example.test>"'.encode() in item, item
            assert b'(("Long Header" NIL "long" "example.test"))' in item
    c.logout()


def test_idle_sees_delivery(suite):
    ready(suite)
    deliver(suite, ALICE, ["before"])
    c = login(suite)
    c.select("INBOX")
    tag = c._new_tag()
    c.send(tag + b" IDLE\r\n")
    assert c.readline().startswith(b"+")
    t0 = time.monotonic()
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as s:
        s.sendmail("sender@remote.test", [ALICE],
                   MSG.format(subject="during").encode())
    c.sock.settimeout(10)
    line = c.readline()
    assert line == b"* 2 EXISTS\r\n", line
    assert time.monotonic() - t0 < 5
    c.send(b"DONE\r\n")
    while True:
        line = c.readline()
        if line.startswith(tag):
            break
    assert b"OK" in line
    c.logout()


def mail_processes(suite):
    """PIDs of this suite's imapd mail processes (-m: logged in)."""
    out = []
    for pid in suite.pids_of("imapd"):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if b"-m" in argv:
            out.append(pid)
    return out


INOTIFY_HOG = r"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
n = 0
while libc.inotify_init1(0) >= 0:
    n += 1
print(n, flush=True)
sys.stdin.read()
"""


def test_idle_without_inotify_polls(suite):
    """The mail user's inotify instances used up (128 by default, per
    uid): an IDLE session polls instead and still sees a delivery within
    a few seconds."""
    ready(suite)
    deliver(suite, ALICE, ["first"])
    c = login(suite)
    c.select("INBOX")
    wait_until(lambda: mail_processes(suite), 10, what="the mail process")
    uid = os.stat(f"/proc/{mail_processes(suite)[0]}").st_uid
    c.logout()
    hog = subprocess.Popen([sys.executable, "-c", INOTIFY_HOG],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           user=uid)
    try:
        assert int(hog.stdout.readline()) >= 0
        c = login(suite)
        c.select("INBOX")
        tag = c._new_tag()
        c.send(tag + b" IDLE\r\n")
        assert c.readline().startswith(b"+")
        # It really polls: no inotify descriptor in its process.
        [pid] = mail_processes(suite)
        fds = [os.readlink(f"/proc/{pid}/fd/{fd}")
               for fd in os.listdir(f"/proc/{pid}/fd")]
        assert not any("inotify" in f for f in fds), fds
        t0 = time.monotonic()
        deliver(suite, ALICE, ["polled"])
        c.sock.settimeout(10)
        assert c.readline() == b"* 2 EXISTS\r\n"
        assert time.monotonic() - t0 < 5
        c.send(b"DONE\r\n")
        while not c.readline().startswith(tag):
            pass
        c.logout()
    finally:
        hog.stdin.close()
        hog.wait(10)


def test_recent_forgets_expunged_messages(suite):
    """RECENT counts this session's \\Recent messages that still exist:
    one expunged leaves the count, a new delivery joins it."""
    ready(suite)
    deliver(suite, ALICE, ["r-one", "r-two"])
    c = login(suite)
    c.select("INBOX")
    assert c.response("RECENT")[1] == [b"2"]
    c.store("1", "+FLAGS", "(\\Deleted)")
    assert c.expunge()[1] == [b"1"]
    deliver(suite, ALICE, ["r-three"])
    typ, data = c.noop()
    assert c.response("EXISTS")[1][-1] == b"2", data
    assert c.response("RECENT")[1][-1] == b"2"
    c.logout()


def test_new_keyword_is_announced_in_flags(suite):
    """A keyword new to the folder is announced with an untagged FLAGS
    (RFC 3501 7.2.6): to the session that made it, before the FETCH
    that shows it, and to another session at its next NOOP."""
    ready(suite)
    deliver(suite, ALICE, ["kw"])
    a, b = login(suite), login(suite)
    a.select("INBOX")
    b.select("INBOX")
    typ, data = a.store("1", "+FLAGS", "(Project-X)")
    assert typ == "OK" and b"Project-X" in data[0], data
    assert any(b"Project-X" in f for f in a.response("FLAGS")[1])
    typ, data = a.store("1", "+FLAGS", "(Project-X)")
    assert a.response("FLAGS")[1] == [None], "announced twice"
    b.noop()
    assert any(b"Project-X" in f for f in b.response("FLAGS")[1])
    a.logout()
    b.logout()


def test_silent_store_still_reports_another_sessions_change(suite):
    """STORE .SILENT on a message another session changed since this one
    looked: the other change still reaches this session, as a FETCH at
    its next sync with the flags both made (RFC 3501 6.4.6)."""
    ready(suite)
    deliver(suite, ALICE, ["silent"])
    a, b = login(suite), login(suite)
    a.select("INBOX")
    b.select("INBOX")
    assert b.store("1", "+FLAGS", "(\\Flagged)")[0] == "OK"
    typ, data = a.store("1", "+FLAGS.SILENT", "(\\Seen)")
    assert typ == "OK"
    typ, data = a.noop()
    fetched = a.response("FETCH")[1]
    assert fetched and fetched[0] is not None, data
    assert b"\\Flagged" in fetched[-1] and b"\\Seen" in fetched[-1]
    a.logout()
    b.logout()


def test_mail_process_loads_no_tls_library(suite):
    """A logged-in session runs imapd-mail, which links no OpenSSL: an
    idle session does not carry libcrypto's relocated tables (about 460
    KiB each). It is named imapd all the same (ps, pgrep, postern who)."""
    ready(suite)
    c = login(suite)
    c.select("INBOX")
    wait_until(lambda: mail_processes(suite), 10, what="the mail process")
    for pid in mail_processes(suite):
        assert os.readlink(f"/proc/{pid}/exe").endswith("/imapd-mail")
        maps = open(f"/proc/{pid}/maps").read()
        assert "libcrypto" not in maps and "libssl" not in maps, pid
        assert open(f"/proc/{pid}/comm").read().strip() == "imapd"
    c.logout()


def raw_session(suite):
    """A logged-in raw socket and a reader of its lines."""
    sock = socket.create_connection(("127.0.0.1", suite.imap_port), 10)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"* OK")
    sock.sendall(f'L LOGIN {ALICE} "{PASSWORD}"\r\n'.encode())
    assert f.readline().startswith(b"L OK")
    return sock, f


def answer(f, tag):
    """Lines up to and including the tagged one."""
    lines = []
    while True:
        ln = f.readline()
        assert ln, "connection closed: " + repr(lines)
        lines.append(ln)
        if ln.startswith(tag.encode() + b" "):
            return lines


def test_hostile_input(suite):
    ready(suite)
    deliver(suite, ALICE, ["h1", "h2"])
    sock, f = raw_session(suite)
    # A literal far beyond the limit is refused at its announcement.
    sock.sendall(b"a APPEND INBOX {4000000000}\r\n")
    ln = f.readline()
    assert ln.startswith(b"a NO [TOOBIG]") or ln.startswith(b"a BAD"), ln
    # Deep nesting, bad sets, traversal in names, 8-bit garbage.
    sock.sendall(b"b SELECT INBOX\r\n")
    assert answer(f, "b")[-1].startswith(b"b OK [READ-WRITE]")
    sock.sendall(b"c FETCH 1 " + b"(" * 40 + b"FLAGS" + b")" * 40 + b"\r\n")
    assert answer(f, "c")[-1].startswith(b"c BAD")
    for bad in (b"0", b"1:x", b"5", b"1,,2", b"*:"):
        sock.sendall(b"d FETCH " + bad + b" FLAGS\r\n")
        assert answer(f, "d")[-1].startswith(b"d BAD"), bad
    for name in (b"../../etc", b"a/b", b"..", b".hidden", b"INBOX/../x",
                 b"&AC8-etc"):
        sock.sendall(b"e STATUS \"" + name + b"\" (MESSAGES)\r\n")
        last = answer(f, "e")[-1]
        assert last.startswith(b"e NO") or last.startswith(b"e BAD"), \
            (name, last)
    # Sets on an empty folder: "*" is no message.
    sock.sendall(b"s1 CREATE Empty\r\n")
    answer(f, "s1")
    sock.sendall(b"s2 EXAMINE Empty\r\n")
    assert answer(f, "s2")[-1].startswith(b"s2 OK")
    for tag, cmd in ((b"s3", b"FETCH * FLAGS"), (b"s4", b"UID FETCH * FLAGS"),
                     (b"s5", b"UID FETCH 1:* FLAGS"), (b"s6", b"SEARCH ALL"),
                     (b"s7", b"UID STORE * +FLAGS (x)")):
        sock.sendall(tag + b" " + cmd + b"\r\n")
        lines = answer(f, tag.decode())
        assert not any(b" FETCH (" in ln for ln in lines), lines
        assert lines[-1].split()[1] in (b"OK", b"NO", b"BAD"), lines
    sock.sendall(b"s8 SELECT INBOX\r\n")
    assert answer(f, "s8")[-1].startswith(b"s8 OK")
    sock.sendall(b"f NOOP \xff\xfe\x80\r\n")
    assert answer(f, "f")[-1].startswith(b"f BAD")
    sock.sendall(b"g NOOP\r\n")
    assert answer(f, "g")[-1] == b"g OK NOOP completed.\r\n"
    # An unterminated literal, then the peer vanishes: nothing is lost.
    sock.sendall(b"h APPEND INBOX {100}\r\n")
    assert f.readline().startswith(b"+")
    sock.sendall(b"Subject: half\r\n")
    sock.close()
    c = login(suite)
    assert c.select("INBOX")[1] == [b"2"]
    c.logout()
    assert len(all_files(suite, ALICE)) == 2


def test_condstore_and_qresync(suite):
    ready(suite)
    deliver(suite, ALICE, ["m1", "m2", "m3"])
    sock, f = raw_session(suite)
    sock.sendall(b"a ENABLE QRESYNC\r\n")
    lines = answer(f, "a")
    assert b"* ENABLED QRESYNC\r\n" in lines
    sock.sendall(b"b SELECT INBOX\r\n")
    lines = answer(f, "b")
    uv = int(re.search(rb"UIDVALIDITY (\d+)", b"".join(lines)).group(1))
    hms = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"".join(lines)).group(1))
    sock.sendall(b"c UID STORE 1 +FLAGS.SILENT (\\Seen)\r\n")
    lines = answer(f, "c")
    m = re.search(rb"MODSEQ \((\d+)\)", b"".join(lines))
    assert m and int(m.group(1)) > hms, lines
    # A store conditional on an old MODSEQ fails for that message.
    sock.sendall(f"d UID STORE 1,2 (UNCHANGEDSINCE {hms}) +FLAGS "
                 "(\\Flagged)\r\n".encode())
    lines = answer(f, "d")
    assert b"[MODIFIED 1]" in lines[-1], lines
    sock.sendall(f"e UID FETCH 1:* (FLAGS) (CHANGEDSINCE {hms})\r\n".encode())
    lines = answer(f, "e")
    changed = [ln for ln in lines if b" FETCH " in ln]
    assert len(changed) == 2, lines  # 1 (\Seen) and 2 (\Flagged)
    sock.sendall(b"f UID STORE 3 +FLAGS.SILENT (\\Deleted)\r\n")
    answer(f, "f")
    sock.sendall(b"g UID EXPUNGE 3\r\n")
    lines = answer(f, "g")
    assert b"* VANISHED 3\r\n" in lines, lines
    sock.close()
    # A later QRESYNC SELECT learns what vanished and what changed.
    sock, f = raw_session(suite)
    sock.sendall(b"a ENABLE QRESYNC\r\n")
    answer(f, "a")
    sock.sendall(f"b SELECT INBOX (QRESYNC ({uv} {hms} 1:3))\r\n".encode())
    lines = answer(f, "b")
    assert b"* VANISHED (EARLIER) 3\r\n" in lines, lines
    assert sum(1 for ln in lines if b" FETCH " in ln) == 2, lines
    assert lines[-1].startswith(b"b OK [READ-WRITE]")
    sock.sendall(b"z LOGOUT\r\n")
    answer(f, "z")
    f.close()
    sock.close()
    # The index lost (its expunge history with it): VANISHED still names
    # every UID below UIDNEXT the folder lacks, in a UID FETCH too.
    wait_until(lambda: not mail_processes(suite), 10,
               what="the session to end")
    import shutil
    shutil.rmtree(suite.maildir(ALICE).parent / ".postern-index")
    sock, f = raw_session(suite)
    sock.sendall(b"a ENABLE QRESYNC\r\n")
    answer(f, "a")
    sock.sendall(f"b SELECT INBOX (QRESYNC ({uv} {hms}))\r\n".encode())
    lines = answer(f, "b")
    assert b"* VANISHED (EARLIER) 3\r\n" in lines, lines
    sock.sendall(f"c UID FETCH 1:* (FLAGS) (CHANGEDSINCE {hms} "
                 "VANISHED)\r\n".encode())
    lines = answer(f, "c")
    assert b"* VANISHED (EARLIER) 3\r\n" in lines, lines
    sock.close()


def test_idle_sees_other_sessions_flags_and_expunge(suite):
    ready(suite)
    deliver(suite, ALICE, ["i1", "i2"])
    watcher = login(suite)
    watcher.select("INBOX")
    tag = watcher._new_tag()
    watcher.send(tag + b" IDLE\r\n")
    assert watcher.readline().startswith(b"+")
    watcher.sock.settimeout(10)
    other = login(suite)
    other.select("INBOX")
    t0 = time.monotonic()
    other.store("1", "+FLAGS", "(\\Flagged)")
    line = watcher.readline()
    # The watcher took the messages out of new/: they are its \Recent.
    assert re.match(rb"\* 1 FETCH \(UID \d+ FLAGS \(\\Flagged \\Recent\)\)",
                    line), line
    assert time.monotonic() - t0 < 2.5
    other.store("2", "+FLAGS", "(\\Deleted)")
    other.expunge()
    got = b""
    while b"EXPUNGE" not in got:
        got += watcher.readline()
    assert b"* 2 EXPUNGE\r\n" in got, got
    watcher.send(b"DONE\r\n")
    while not watcher.readline().startswith(tag):
        pass
    other.logout()
    watcher.logout()


def test_index_loss_keeps_uids(suite):
    ready(suite)
    deliver(suite, ALICE, ["k1", "k2", "k3"])
    c = login(suite)
    c.select("INBOX")
    c.store("2", "+FLAGS", "(\\Answered Urgent)")
    # \Recent is the first session's alone: compared without it.
    before = [d.replace(b" \\Recent", b"").replace(b"\\Recent", b"")
              for d in c.uid("FETCH", "1:*", "(UID FLAGS)")[1]]
    assert b"Urgent" in before[1] and b"\\Answered" in before[1]
    c.logout()
    index = suite.maildir(ALICE).parent / ".postern-index"
    assert index.is_dir()
    # The session has exited (a process still closing its index would
    # fault on a region file cut under its mapping: no damage we fix).
    wait_until(lambda: not mail_processes(suite), 10,
               what="the session to end")
    for p in index.iterdir():
        if p.is_file():
            p.write_bytes(b"\0garbage" * 100)
            # A region file cut short long ago (one cut just now may be
            # another session's being made: left alone).
            old = time.time() - 120
            os.utime(p, (old, old))
    c = login(suite)
    c.select("INBOX")
    after = c.uid("FETCH", "1:*", "(UID FLAGS)")[1]
    assert after == before
    c.logout()
    import shutil
    shutil.rmtree(index)
    c = login(suite)
    typ, data = c.select("INBOX")
    assert data == [b"3"]
    assert c.uid("FETCH", "1:*", "(UID FLAGS)")[1] == before
    c.logout()


def test_index_directory_elsewhere(suite_factory):
    """imap_index_directory: the index lives on another disk, bound into
    the session's chroot in a mount namespace of its own; the host's
    mounts do not change."""
    s = suite_factory()
    idx = s.root / "index"
    s.write_conf(f"imap_index_directory = {idx}\n")
    s.postern("user", "add", ALICE)
    s.start()
    ready(s)
    deliver(s, ALICE, ["elsewhere"])
    mounts_before = open("/proc/self/mountinfo").read()
    c = login(s)
    assert c.select("INBOX")[1] == [b"1"]
    c.fetch("1", "(ENVELOPE)")
    assert (idx / "example.test" / "alice" / "mailindex.db").is_file()
    local = s.maildir(ALICE).parent / ".postern-index"
    assert not any(local.iterdir()), "index written in the user's directory"
    c.logout()
    assert str(idx) not in open("/proc/self/mountinfo").read()
    assert open("/proc/self/mountinfo").read() == mounts_before


def test_curl_reads_over_imap(suite):
    ready(suite)
    deliver(suite, ALICE, ["curl-one", "curl-two"])
    url = f"imap://127.0.0.1:{suite.imap_port}/INBOX"
    r = subprocess.run(["curl", "-sS", "--max-time", "20", f"{url};UID=2",
                        "-u", f"{ALICE}:{PASSWORD}"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r
    assert b"Subject: curl-two" in r.stdout and b"Body of curl-two." in r.stdout
    r = subprocess.run(["curl", "-sS", "--max-time", "20", url, "-X",
                        "EXAMINE INBOX",
                        "-u", f"{ALICE}:{PASSWORD}"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0 and b"* 2 EXISTS" in r.stdout, r


def test_folders_special_use_copy_move_status(suite):
    ready(suite)
    deliver(suite, ALICE, ["f1", "f2", "f3"])
    c = login(suite)
    typ, data = c.list()
    assert typ == "OK"
    listed = {re.search(rb'"([^"]*)"$|(\S+)$', d).group(0).strip(b'"'):
              d for d in data}
    for name, use in ((b"Sent", b"\\Sent"), (b"Drafts", b"\\Drafts"),
                      (b"Trash", b"\\Trash"), (b"Junk", b"\\Junk"),
                      (b"Archive", b"\\Archive")):
        assert use in listed[name], data
    assert b"INBOX" in listed
    assert c.create("Work")[0] == "OK"
    assert c.create("Work.2026")[0] == "OK"
    typ, data = c.list('""', "Work*")
    assert any(b"\\HasChildren" in d and d.endswith(b" Work") for d in data), \
        data
    c.select("INBOX")
    typ, data = c.copy("1:2", "Work")
    assert typ == "OK" and re.match(rb"\[COPYUID \d+ 1:2 1:2\]", data[0]), \
        data
    typ, data = c.uid("MOVE", "3", "Work.2026")
    assert typ == "OK", data
    assert c.select("INBOX")[1] == [b"2"]
    typ, data = c.status("Work", "(MESSAGES UIDNEXT UNSEEN)")
    assert typ == "OK" and b"MESSAGES 2" in data[0] and b"UNSEEN 2" in data[0]
    typ, data = c.rename("Work", "Projects")
    assert typ == "OK"
    typ, data = c.status("Projects.2026", "(MESSAGES)")
    assert b"MESSAGES 1" in data[0], data
    typ, data = c.select("Projects")
    assert typ == "OK" and data == [b"2"]
    assert c.subscribe("Projects")[0] == "OK"
    typ, data = c.lsub()
    assert any(d.endswith(b" Projects") for d in data), data
    typ, data = c._simple_command("LIST", '""', '"*"', "RETURN",
                                  "(STATUS (MESSAGES))")
    assert typ == "OK"
    statuses = c.untagged_responses.get("STATUS", [])
    assert any(b"Projects.2026" in st and b"MESSAGES 1" in st
               for st in statuses), statuses
    # DELETE of the selected folder closes it.
    typ, data = c.delete("Projects.2026")
    assert typ == "OK"
    for name in ("../x", "a/b", ".hidden", "Projects..x"):
        typ, data = c.create(name)
        assert typ == "NO", (name, data)
    # Only real folders were made in the Maildir.
    md = suite.maildir(ALICE)
    dirs = sorted(p.name for p in md.iterdir() if p.name.startswith("."))
    assert dirs == [".Archive", ".Drafts", ".Junk", ".Projects", ".Sent",
                    ".Trash"], dirs
    c.logout()


def test_no_expunge_during_fetch_store_search(suite):
    """RFC 3501 7.4.1: another session's expunge is not reported during
    FETCH, STORE or SEARCH (sequence numbers would move under them), but
    is at the next command that allows it."""
    ready(suite)
    deliver(suite, ALICE, ["e1", "e2", "e3"])
    sock, f = raw_session(suite)
    sock.sendall(b"a SELECT INBOX\r\n")
    answer(f, "a")
    other = login(suite)
    other.select("INBOX")
    other.store("1", "+FLAGS", "(\\Deleted)")
    other.expunge()
    for tag, cmd in (("b", b"FETCH 1:* (FLAGS)"), ("c", b"STORE 2 +FLAGS "
                     b"(\\Seen)"), ("d", b"SEARCH ALL")):
        sock.sendall(tag.encode() + b" " + cmd + b"\r\n")
        lines = answer(f, tag)
        assert not any(re.match(rb"\* \d+ EXPUNGE", ln) for ln in lines), \
            lines
        # Message 1's file is gone: FETCH says so as Dovecot does.
        assert lines[-1].startswith(tag.encode() + b" OK") or \
            lines[-1].startswith(b"b NO [EXPUNGEISSUED]"), lines
    # The old numbering holds until then: message 3 is still there.
    sock.sendall(b"e FETCH 3 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n")
    lines = answer(f, "e")
    assert b"Subject: e3" in b"".join(lines), lines
    sock.sendall(b"f NOOP\r\n")
    lines = answer(f, "f")
    assert b"* 1 EXPUNGE\r\n" in lines, lines
    other.logout()
    sock.close()


def test_expunge_spares_a_message_undeleted_elsewhere(suite):
    """Another program (Dovecot, mutt) took \\Deleted off a message after
    this session saw it: EXPUNGE must not remove it."""
    ready(suite)
    deliver(suite, ALICE, ["keep-me", "drop-me"])
    c = login(suite)
    c.select("INBOX")
    c.store("1:2", "+FLAGS", "(\\Deleted)")
    cur = suite.maildir(ALICE) / "cur"
    [f1] = [f for f in cur.iterdir()
            if b"Subject: keep-me" in f.read_bytes()]
    assert f1.name.endswith(":2,T"), f1.name
    os.rename(f1, cur / f1.name[:-1])       # undeleted behind our back
    typ, data = c.expunge()
    assert typ == "OK"
    left = [f for f in all_files(suite, ALICE)]
    assert len(left) == 1 and b"Subject: keep-me" in left[0].read_bytes()
    c.select("INBOX")
    assert c.untagged_responses.get("EXISTS") == [b"1"]
    c.logout()
