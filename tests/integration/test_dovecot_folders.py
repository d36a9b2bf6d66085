"""The folder tree against Dovecot: one Maildir, two servers, one view.

Debian's Dovecot (its imap binary in PREAUTH mode over a pipe, as
test_dovecot_imap_body.py runs it; Maildir++, "." delimiter, the
SPECIAL-USE folders of its default configuration) and imapd's folder
commands (tests/imap-folder-tool: imapd's reader, parser and
imap_cmd_folder over stdin/stdout) are driven by the same imaplib code on
the same Maildir, one after the other. Whatever one of them made
(folders, children, renames, deletes, subscriptions), the other lists
the same way: names, attributes, CHILDINFO, LSUB's \\Noselect parents,
across the LIST, LIST-EXTENDED and LSUB commands in LISTS.

Deliberate differences, tested as such:
  - RENAME INBOX: Dovecot 2.3 refuses it over Maildir++ ([CANNOT]);
    imapd does what RFC 3501 6.3.5 says (the messages move into a new
    folder, INBOX stays, empty), and Dovecot then serves them there.
  - Dovecot's list index (its cache of the tree) keeps a deleted folder
    that has children as if it still existed; it is removed before
    Dovecot lists, so that Dovecot answers from the Maildir.
  - RENAME moves the subscriptions of the folder and its children with
    it; Dovecot 2.3 leaves them under the old names.
"""
import os
import pathlib
import pwd
import re
import shutil
import subprocess
import tempfile

import imaplib
import pytest

IMAP = "/usr/lib/dovecot/imap"
OWNER = "nobody"

# Every command whose answer both servers must give alike.
LISTS = [
    'LIST "" ""',
    'LIST "" *',
    'LIST "" %',
    'LIST "" a.%',
    'LIST "" %.%',
    'LIST "" *b*',
    'LIST "a." %',
    'LIST "" inbox',
    'LIST "" In%',
    'LIST (SUBSCRIBED) "" *',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" %',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" *',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" z%',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN)',
    'LIST (SUBSCRIBED) "" % RETURN (CHILDREN)',
    'LIST "" * RETURN (SUBSCRIBED CHILDREN SPECIAL-USE)',
    'LIST "" % RETURN (SPECIAL-USE)',
    'LIST (SPECIAL-USE) "" *',
    'LIST (REMOTE) "" %',
    'LIST "" ("a" "Sent" "z.*")',
    'LSUB "" *',
    'LSUB "" %',
    'LSUB "" a.%',
    'LSUB "" z%',
    'LSUB "" *.%',
    'LIST "" % RETURN (STATUS (MESSAGES))',
    'LIST "" * RETURN (CHILDREN STATUS (MESSAGES) SPECIAL-USE)',
    'NAMESPACE',
]

CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
mail_location = maildir:{root}/Maildir
protocols = none
ssl = no
namespace inbox {{
  inbox = yes
  separator = .
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
  mailbox Junk {{
    special_use = \\Junk
  }}
  mailbox Archive {{
    special_use = \\Archive
  }}
}}
"""

LINE = re.compile(rb'^\((.*?)\) ("[^"]*"|NIL) ("(?:[^"\\]|\\.)*"|[^ ]+)'
                  rb'(?: (.*))?$')


def norm(kind, data):
    """One LIST/LSUB line into (name, attributes, extended data)."""
    m = LINE.match(data)
    assert m, data
    attrs = frozenset(a.lower() for a in m.group(1).split())
    name = m.group(3)
    if name.startswith(b'"'):
        name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
    return (kind, name.decode(), tuple(sorted(attrs)), m.group(2),
            m.group(4))


class Session:
    """One imaplib session on a command line, as the Maildir's owner."""

    def __init__(self, argv, as_owner):
        run = " ".join(argv)
        if as_owner:
            run = f"runuser -u {OWNER} -- " + run
        self.im = imaplib.IMAP4_stream(run)

    def cmd(self, line):
        """(status, tagged text, sorted untagged LIST/LSUB/NAMESPACE)."""
        name, _, rest = line.partition(" ")
        self.im.untagged_responses.clear()
        typ, data = self.im._simple_command(name, *([rest] if rest else []))
        got = []
        for kind in ("LIST", "LSUB"):
            for d in self.im.untagged_responses.get(kind, []):
                got.append(norm(kind, d))
        for kind in ("NAMESPACE", "STATUS"):
            for d in self.im.untagged_responses.get(kind, []):
                got.append((kind, d))
        self.im.untagged_responses.clear()
        return typ, data, sorted(got)

    def close(self):
        self.im.logout()


@pytest.fixture
def maildir(build_dir):
    if not os.path.exists(IMAP):
        pytest.skip("Debian's dovecot-imapd is not installed")
    # Not under pytest's 0700 tmp: nobody must reach the Maildir.
    root = pathlib.Path(tempfile.mkdtemp(prefix="postern-dovecot-folders-"))
    os.chmod(root, 0o755)
    (root / "dovecot.conf").write_text(CONF.format(root=root))
    md = root / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    as_owner = os.geteuid() == 0
    if as_owner:
        pw = pwd.getpwnam(OWNER)
        for p in [md] + list(md.rglob("*")):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    # A copy the owner can run: the build tree may be root's alone.
    tool = root / "imap-folder-tool"
    shutil.copy2(pathlib.Path(build_dir) / "tests" / "imap-folder-tool", tool)
    os.chmod(tool, 0o755)

    class Box:
        pass
    box = Box()
    box.root, box.md, box.as_owner = root, md, as_owner
    box.dovecot = lambda: Session(
        ["env", "-i", "USER=tester", f"HOME={root}", IMAP, "-c",
         f"{root}/dovecot.conf"], as_owner)
    box.postern = lambda *opts: Session([str(tool)] + list(opts) +
                                        [str(root)], as_owner)
    try:
        yield box
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(session, lines):
    try:
        out = []
        for line in lines:
            typ, data, _ = session.cmd(line)
            out.append((line, typ))
        return out
    finally:
        session.close()


def listings(session):
    try:
        return {line: session.cmd(line) for line in LISTS}
    finally:
        session.close()


def same_listings(box):
    # Dovecot's list index is a cache that keeps a deleted folder with
    # children as if it were still there (it lists "a" selectable after
    # DELETE a): Dovecot lists from the Maildir itself once it is gone.
    for f in box.md.glob("dovecot.list.index*"):
        f.unlink()
    want = listings(box.dovecot())
    got = listings(box.postern())
    for line in LISTS:
        assert got[line][0] == want[line][0], line
        assert got[line][2] == want[line][2], line
    return want


def names(listing):
    return {x[1] for x in listing[2]}


# The same tree, made by either server.
MAKE = [
    "CREATE Sent", "CREATE Drafts", "CREATE Trash", "CREATE Junk",
    "CREATE Archive",
    "CREATE a.b.c", "CREATE a", "CREATE &AOk-t&AOk-", "CREATE x.y",
    "CREATE x.y.z", "CREATE k", "CREATE k.n", "CREATE foo.",
    "SUBSCRIBE Sent", "SUBSCRIBE a", "SUBSCRIBE a.b.c",
    "SUBSCRIBE &AOk-t&AOk-", "SUBSCRIBE x.y", "SUBSCRIBE k.n",
    "RENAME x z",
    "DELETE a",
    "UNSUBSCRIBE x.y",
    "SUBSCRIBE z.y",
]


def test_dovecot_makes_postern_lists(maildir):
    done = run(maildir.dovecot(), MAKE)
    assert all(typ == "OK" for _, typ in done), done
    want = same_listings(maildir)
    # The tree is what the commands made (so the comparison saw it all).
    every = names(want['LIST "" *'])
    assert every == {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive",
                     "a", "a.b", "a.b.c", "&AOk-t&AOk-", "z", "z.y", "z.y.z",
                     "k", "k.n", "foo"}
    attrs = {x[1]: x[2] for x in want['LIST "" *'][2]}
    assert attrs["a"] == (b"\\haschildren", b"\\noselect")
    assert attrs["Sent"] == (b"\\hasnochildren", b"\\sent")
    # A deleted folder's subscription stays (RFC 3501 6.3.6), as in Dovecot.
    assert "a" in names(want['LSUB "" *'])


def test_postern_makes_dovecot_lists(maildir):
    done = run(maildir.postern(), MAKE)
    assert all(typ == "OK" for _, typ in done), done
    want = same_listings(maildir)
    every = names(want['LIST "" *'])
    assert every == {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive",
                     "a", "a.b", "a.b.c", "&AOk-t&AOk-", "z", "z.y", "z.y.z",
                     "k", "k.n", "foo"}
    # Folders Dovecot can select: the layout it expects, maildirfolder too.
    for d in (".z.y.z", ".foo", ".Sent"):
        for sub in ("cur", "new", "tmp", "maildirfolder"):
            assert (maildir.md / d / sub).exists(), (d, sub)
    s = maildir.dovecot()
    try:
        for folder in ("z.y.z", "foo", "Sent", "&AOk-t&AOk-"):
            assert s.im.select(folder)[0] == "OK", folder
    finally:
        s.close()


def test_rename_moves_subscriptions(maildir):
    run(maildir.postern(), ["CREATE m", "CREATE m.n", "SUBSCRIBE m",
                            "SUBSCRIBE m.n", "RENAME m q"])
    s = maildir.dovecot()
    try:
        _, _, got = s.cmd('LSUB "" *')
    finally:
        s.close()
    assert {x[1] for x in got} == {"q", "q.n"}


def test_default_folders(maildir):
    s = maildir.postern("-d")
    s.close()
    s = maildir.dovecot()
    try:
        _, _, got = s.cmd('LIST (SPECIAL-USE) "" * RETURN (SUBSCRIBED)')
    finally:
        s.close()
    assert {(x[1], x[2]) for x in got} == {
        ("Sent", (b"\\sent", b"\\subscribed")),
        ("Drafts", (b"\\drafts", b"\\subscribed")),
        ("Trash", (b"\\subscribed", b"\\trash")),
        ("Junk", (b"\\junk", b"\\subscribed")),
        ("Archive", (b"\\archive", b"\\subscribed")),
    }
    # Once only: a folder the user deleted stays deleted.
    run(maildir.postern(), ["DELETE Junk"])
    s = maildir.postern("-d")
    try:
        _, _, got = s.cmd('LIST "" Junk')
    finally:
        s.close()
    assert got == []


def test_inbox_rename(maildir):
    s = maildir.dovecot()
    try:
        for i in range(3):
            msg = f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode()
            assert s.im.append("INBOX", "(\\Seen)", None, msg)[0] == "OK"
        typ, data, _ = s.cmd("RENAME INBOX Old")
        assert typ == "NO" and b"[CANNOT]" in data[0]
    finally:
        s.close()
    done = run(maildir.postern(), ["RENAME INBOX Old"])
    assert done == [("RENAME INBOX Old", "OK")]
    s = maildir.dovecot()
    try:
        typ, data = s.im.select("Old")
        assert typ == "OK" and data == [b"3"]
        typ, data = s.im.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS "
                               "(SUBJECT)])")
        subjects = sorted(d[1].strip() for d in data if isinstance(d, tuple))
        assert subjects == [b"Subject: m0", b"Subject: m1", b"Subject: m2"]
        assert all(b"\\Seen" in d[0] for d in data if isinstance(d, tuple))
        typ, data = s.im.select("INBOX")
        assert typ == "OK" and data == [b"0"]
    finally:
        s.close()


def test_hostile_names(maildir):
    s = maildir.postern()
    try:
        for name in ['"../x"', '"a/b"', '"a..b"', '".a"', '"~root"',
                     '"&AC8-etc"', '"&ZeVnLIqe-"', '"x&AC4-y"',
                     '"' + "a" * 300 + '"']:
            typ, data, _ = s.cmd("CREATE " + name)
            if name in ('"~root"', '"&ZeVnLIqe-"'):
                # "~" is an ordinary character in a Maildir++ name, and
                # CJK in modified UTF-7 is a name like any other.
                assert typ == "OK", name
            else:
                assert typ == "NO", name
                assert b"[CANNOT]" in data[0], (name, data)
    finally:
        s.close()
    entries = sorted(os.listdir(maildir.md))
    assert entries == [".&ZeVnLIqe-", ".~root", "cur", "new", "tmp"]
    assert not (maildir.root / "x").exists()
