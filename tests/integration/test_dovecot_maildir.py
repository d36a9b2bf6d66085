"""Dovecot interop of libcommon's uidlist, keywords and mailbox names.

Debian's Dovecot (a private instance: its own config, runtime directory
and Maildir, no listener, run as nobody) and Postern's code (through
tests/uidlist-tool, built from libcommon) work on the same Maildir:

  - what Dovecot wrote (UIDs after an expunge, keywords, a folder with a
    non-ASCII name) reads in Postern with the same UIDs, UIDVALIDITY,
    keywords and folder names;
  - what Postern wrote (a new list with a chosen UIDVALIDITY, UIDs given
    to delivered files, a keyword) Dovecot serves with the same UIDs,
    UIDVALIDITY and keyword; and a message Dovecot then adds takes the
    next UID after Postern's.
"""
import atexit
import os
import pathlib
import pwd
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import wait_until

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
OWNER = "nobody"


class Dovecot:
    def __init__(self, root):
        self.root = root
        self.maildir = root / "Maildir"
        self.conf = root / "dovecot.conf"
        self.pid = None
        pw = pwd.getpwnam(OWNER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        (root / "run").mkdir()
        self.maildir.mkdir()
        os.chown(self.maildir, self.uid, self.gid)
        self.conf.write_text(f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
mail_location = maildir:{self.maildir}
protocols = none
ssl = no
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={root}
}}
passdb {{
  driver = static
  args = nopassword=y
}}
""")

    def start(self):
        # Dovecot forks into the background: no pipes it could keep open.
        with open(self.root / "start.log", "wb") as log:
            subprocess.run([DOVECOT, "-c", str(self.conf)], check=True,
                           stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                           timeout=30)
        pidfile = self.root / "run" / "master.pid"
        wait_until(lambda: pidfile.exists() and
                   pidfile.read_text().strip().isdigit(),
                   what="dovecot's master.pid")
        self.pid = int(pidfile.read_text())
        wait_until(lambda: (self.root / "run" / "auth-userdb").exists(),
                   what="dovecot's auth socket")

    def stop(self):
        if self.pid is None:
            return
        os.kill(self.pid, signal.SIGTERM)

        def gone():
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return True
            return False
        try:
            wait_until(gone, timeout=20, what="dovecot to stop")
        except Exception:
            os.kill(self.pid, signal.SIGKILL)
            wait_until(gone, timeout=10, what="dovecot to die")
        self.pid = None

    def adm(self, *args, input=None):
        r = subprocess.run([DOVEADM, "-c", str(self.conf)] + list(args),
                           input=input, capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        return r.stdout.decode()

    def fetch(self, mailbox="INBOX"):
        """uid -> (guid, flags) as Dovecot serves them; on Maildir the
        guid is the file's base name."""
        out = self.adm("-f", "flow", "fetch", "-u", "tester",
                       "uid guid flags", "mailbox", mailbox, "all")
        msgs = {}
        for line in out.splitlines():
            fields = dict(f.split("=", 1) for f in
                          line.replace(" guid=", "\0guid=")
                          .replace(" flags=", "\0flags=").split("\0"))
            flags = set(fields["flags"].split()) - {"\\Recent"}
            msgs[int(fields["uid"])] = (fields["guid"], flags)
        return msgs

    def uidvalidity(self, mailbox="INBOX"):
        out = self.adm("-f", "flow", "mailbox", "status", "-u", "tester",
                       "uidvalidity", mailbox)
        return int(out.split("=", 1)[1])


@pytest.fixture
def dovecot():
    if not (os.path.exists(DOVECOT) and os.path.exists(DOVEADM)):
        pytest.skip("Debian's dovecot-core is not installed")
    if os.geteuid() != 0:
        pytest.skip("runs Dovecot's mail processes as nobody: run as root")
    # Not under pytest's 0700 tmp: nobody must reach the Maildir.
    root = pathlib.Path(tempfile.mkdtemp(prefix="postern-dovecot-"))
    os.chmod(root, 0o755)
    d = Dovecot(root)
    try:
        d.start()
        yield d
    finally:
        d.stop()
        shutil.rmtree(root, ignore_errors=True)


_tool_copy = {}


def tool_for_others(build_dir):
    """A copy of the build's uidlist-tool the Maildir's owner can run:
    the build tree may sit where only root can reach it (a clone in
    /root, mode 0700, as on a fresh Debian machine)."""
    if build_dir not in _tool_copy:
        d = pathlib.Path(tempfile.mkdtemp(prefix="postern-tool-"))
        os.chmod(d, 0o755)
        atexit.register(shutil.rmtree, d, True)
        dst = d / "uidlist-tool"
        shutil.copy2(pathlib.Path(build_dir) / "tests" / "uidlist-tool", dst)
        os.chmod(dst, 0o755)
        _tool_copy[build_dir] = dst
    return _tool_copy[build_dir]


def tool(build_dir, *args):
    """uidlist-tool run as the Maildir's owner, as a mail process is."""
    exe = tool_for_others(build_dir)
    r = subprocess.run([str(exe)] + [str(a) for a in args], user=OWNER,
                       group=pwd.getpwnam(OWNER).pw_gid,
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout.decode()


def show(build_dir, folder):
    """(uidvalidity, {uid: (base, system flag letters, keywords)})."""
    lines = tool(build_dir, "show", folder).splitlines()
    assert lines[0].startswith("V ")
    msgs = {}
    for line in lines[1:]:
        uid, base, sys, kws = line.split(" ")
        kw = set() if kws == "-" else set(kws.split(","))
        msgs[int(uid)] = (base, "" if sys == "-" else sys, kw)
    return int(lines[0][2:]), msgs


SYS = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered",
       "D": "\\Draft", "T": "\\Deleted"}


def as_imap(sys, kw):
    return {SYS[c] for c in sys} | kw


def test_dovecot_maildir_reads_the_same_in_postern(dovecot, build_dir):
    for i in range(4):
        dovecot.adm("save", "-u", "tester",
                    input=f"Subject: m{i}\n\nbody {i}\n".encode())
    dovecot.adm("flags", "add", "-u", "tester", "\\Seen $Forwarded Junk",
                "mailbox", "INBOX", "uid", "2")
    dovecot.adm("flags", "add", "-u", "tester", "\\Flagged NonJunk",
                "mailbox", "INBOX", "uid", "4")
    dovecot.adm("expunge", "-u", "tester", "mailbox", "INBOX", "uid", "1")
    dovecot.adm("mailbox", "create", "-u", "tester", "Entwürfe", "a.b")
    want = dovecot.fetch()
    assert sorted(want) == [2, 3, 4]

    uidvalidity, got = show(build_dir, dovecot.maildir)
    assert uidvalidity == dovecot.uidvalidity()
    assert {u: (b, as_imap(s, k)) for u, (b, s, k) in got.items()} == want
    assert got[2][2] == {"$Forwarded", "Junk"}
    # The folders Dovecot made are the mailboxes Postern names.
    dirs = sorted(p.name for p in dovecot.maildir.iterdir()
                  if p.is_dir() and p.name.startswith("."))
    assert dirs == [".Entw&APw-rfe", ".a.b"]


def test_postern_maildir_reads_the_same_in_dovecot(dovecot, build_dir):
    md = dovecot.maildir
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir()
    names = ["1796300000.M1P10.host,S=20:2,S",
             "1796300001.M2P11.host,S=20:2,FSa",
             "1796300002.M3P12.host,S=20"]
    for n in names:
        where = md / ("new" if ":" not in n else "cur") / n
        where.write_bytes(b"Subject: p\n\nbody\n")
    for p in md.rglob("*"):
        os.chown(p, dovecot.uid, dovecot.gid)
    assert tool(build_dir, "keyword", md, "Work").strip() == "0"
    tool(build_dir, "sync", md, 4242)
    uidvalidity, got = show(build_dir, md)
    assert uidvalidity == 4242
    assert sorted(got) == [1, 2, 3]

    assert dovecot.uidvalidity() == 4242
    served = dovecot.fetch()
    assert served == {u: (b, as_imap(s, k)) for u, (b, s, k) in got.items()}
    assert served[2][1] == {"\\Flagged", "\\Seen", "Work"}

    # Dovecot adds one: it takes the UID after Postern's, and Postern
    # reads Dovecot's file back with every UID where it was.
    dovecot.adm("save", "-u", "tester", input=b"Subject: d\n\nx\n")
    served = dovecot.fetch()
    assert sorted(served) == [1, 2, 3, 4]
    _, again = show(build_dir, md)
    assert {u: v[0] for u, v in again.items()} == \
        {u: v[0] for u, v in served.items()}
