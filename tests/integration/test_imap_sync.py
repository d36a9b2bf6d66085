"""Real synchronisation clients against imapd: mbsync (isync) and
offlineimap, from Debian, sync a 500-message mailbox with folders down
to a local Maildir and changes back up; a second run changes nothing."""
import os
import pathlib
import pwd
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import wait_until
from test_imap import ALICE, MSG, PASSWORD, all_files, deliver, login, ready

COUNT = 500


def fill(suite, count=COUNT):
    """count messages straight into alice's Maildir/new, as a delivery
    agent leaves them (the mail store's user owns them)."""
    deliver(suite, ALICE, ["seed"])
    new = suite.maildir(ALICE) / "new"
    pw = pwd.getpwnam("postern-mail") if os.geteuid() == 0 else None
    for i in range(1, count):
        p = new / f"17000{i:05d}.M{i}P1.sync"
        p.write_bytes(MSG.format(subject=f"sync {i}").encode())
        if pw:
            os.chown(p, pw.pw_uid, pw.pw_gid)


def server_state(suite, folder="INBOX"):
    c = login(suite)
    typ, data = c.select(folder)
    assert typ == "OK", data
    typ, data = c.uid("FETCH", "1:*", "(UID FLAGS)")
    c.logout()
    out = {}
    for d in data:
        if d is None:
            continue
        m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", d)
        out[int(m.group(1))] = sorted(f for f in m.group(2).split()
                                      if f != b"\\Recent")
    return out


def local_files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and "/cur/" in str(p) or
                  p.is_file() and "/new/" in str(p))


@pytest.fixture
def workdir():
    d = pathlib.Path(tempfile.mkdtemp(prefix="postern-imap-sync-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def mbsync(conf):
    r = subprocess.run(["mbsync", "-c", str(conf), "-a"],
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    return r


def test_mbsync_down_and_back_up(suite, workdir):
    if shutil.which("mbsync") is None:
        pytest.skip("isync is not installed")
    ready(suite)
    fill(suite)
    c = login(suite)
    assert c.create("Archive.2025")[0] == "OK"
    c.logout()
    local = workdir / "mail"
    local.mkdir()
    conf = workdir / "mbsyncrc"
    conf.write_text(f"""\
IMAPAccount postern
Host 127.0.0.1
Port {suite.imap_port}
User {ALICE}
Pass "{PASSWORD}"
SSLType None
AuthMechs PLAIN LOGIN

IMAPStore remote
Account postern

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")
    mbsync(conf)
    got = [p for p in (local / "INBOX").rglob("*")
           if p.is_file() and p.parent.name in ("cur", "new")]
    assert len(got) == COUNT
    assert (local / "Archive.2025").is_dir() or \
        (local / "Archive" / "2025").is_dir()
    before_local = local_files(local)
    before_server = server_state(suite)
    assert len(before_server) == COUNT
    # A second run changes nothing on either side.
    mbsync(conf)
    assert local_files(local) == before_local
    assert server_state(suite) == before_server
    # Local changes go up: a flag, a deletion, a new message.
    cur = local / "INBOX" / "cur"
    files = sorted(p for p in (local / "INBOX").rglob("*")
                   if p.is_file() and p.parent.name in ("cur", "new"))
    f0 = files[0]
    os.rename(f0, cur / (f0.name.split(":")[0] + ":2,FS"))
    files[1].unlink()
    (local / "INBOX" / "new" / "1800000000.M1P1.local").write_bytes(
        MSG.format(subject="from mbsync").encode())
    mbsync(conf)
    after = server_state(suite)
    assert len(after) == COUNT     # one gone, one new
    assert sum(1 for f in after.values() if f == [b"\\Flagged", b"\\Seen"]) \
        == 1, after
    # And a third run changes nothing again.
    snap = local_files(local)
    mbsync(conf)
    assert local_files(local) == snap
    assert server_state(suite) == after


def test_offlineimap_down_and_back_up(suite, workdir):
    if shutil.which("offlineimap") is None:
        pytest.skip("offlineimap3 is not installed")
    ready(suite)
    fill(suite)
    local = workdir / "mail"
    conf = workdir / "offlineimaprc"
    conf.write_text(f"""\
[general]
accounts = test
metadata = {workdir}/meta
ui = basic

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {local}

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {suite.imap_port}
remoteuser = {ALICE}
remotepass = {PASSWORD}
ssl = no
starttls = no
""")

    def run():
        r = subprocess.run(["offlineimap", "-c", str(conf), "-o", "-u",
                            "basic"], capture_output=True, timeout=300)
        out = r.stdout.decode() + r.stderr.decode()
        assert r.returncode == 0 and "ERROR" not in out, out
        return out
    run()
    inbox = local / "INBOX"
    got = [p for p in inbox.rglob("*")
           if p.is_file() and p.parent.name in ("cur", "new")]
    assert len(got) == COUNT
    before_local = local_files(local)
    before_server = server_state(suite)
    run()
    assert local_files(local) == before_local
    assert server_state(suite) == before_server
    cur = inbox / "cur"
    files = sorted(p for p in inbox.rglob("*")
                   if p.is_file() and p.parent.name in ("cur", "new"))
    f0 = files[0]
    os.rename(f0, cur / (f0.name.split(":")[0] + ":2,FS"))
    files[1].unlink()
    run()
    after = server_state(suite)
    assert len(after) == COUNT - 1
    assert sum(1 for f in after.values() if f == [b"\\Flagged", b"\\Seen"]) \
        == 1, after
