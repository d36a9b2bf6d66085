"""SEARCH answers against Dovecot's, on the same Maildir.

Every message of tests/unit/data/imap_body/ and tests/unit/data/imap_search/
(encoded words, quoted-printable and base64 bodies in Latin-1, UTF-8,
Windows-1252, Greek and Cyrillic text, attachments, nested messages,
broken MIME, missing and obsolete Date headers) goes into one Maildir with
a spread of flags, keywords and mtimes (INTERNALDATE), and a fixed
dovecot-uidlist so that both sides number them alike. Debian's Dovecot
(its imap binary in PREAUTH mode over a pipe, driven by imaplib, as in
test_dovecot_imap_body.py) and imapd's imap_search (through
tests/imap-search-tool) answer the same ~40 programs; the answers must be
the same.

Not compared here (unit-tested in test_imap_search.c instead): RECENT,
NEW and OLD (\\Recent is per session), MODSEQ (the two number changes
differently), OLDER/YOUNGER (they move with the clock).
"""
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile
import time

import imaplib
import pytest

IMAP = "/usr/lib/dovecot/imap"
OWNER = "nobody"
DATA = pathlib.Path(__file__).resolve().parent.parent / "unit" / "data"
MESSAGES = sorted((DATA / "imap_body").glob("*.eml")) + \
    sorted((DATA / "imap_search").glob("*.eml"))
KEYWORDS = ["$Label1", "Work"]
# 2026-12-01 00:00:00 UTC: INTERNALDATEs start here, 9 hours apart, so
# that BEFORE/ON/SINCE cut between messages on every day.
T0 = 1796083200

PROGRAMS = [
    "ALL",
    "SEEN", "UNSEEN", "FLAGGED", "UNFLAGGED", "ANSWERED", "UNANSWERED",
    "DELETED", "UNDELETED", "DRAFT", "UNDRAFT",
    "KEYWORD $Label1", "UNKEYWORD $Label1", "KEYWORD Work",
    "KEYWORD NoSuchKeyword", "UNKEYWORD NoSuchKeyword",
    "1:5", "2,4:6,*", "*", "UID 3:7", "UID 25:*", "NOT 1:10",
    "OR SEEN FLAGGED", "OR (SEEN DRAFT) NOT FLAGGED",
    "NOT (OR ANSWERED (DELETED KEYWORD Work))",
    "BEFORE 3-Dec-2026", "ON 4-Dec-2026", "SINCE 10-Dec-2026",
    "SENTBEFORE 5-Dec-2026", "SENTON 4-Dec-2026", "SENTSINCE 9-Dec-2026",
    "SENTON 15-Dec-2026", "SENTON 17-Dec-2026", "SENTON 1-Jan-1999",
    "SENTBEFORE 1-Jan-1971",
    "LARGER 1000", "SMALLER 500", "LARGER 500 SMALLER 1000",
    "FROM alice", "FROM EXAMPLE.COM", "TO carol", "CC eve", "BCC secret",
    "SUBJECT report", "SUBJECT \"Quarterly numbers\"",
    "FROM \"J\xc3\xbcrgen\"", "SUBJECT \"gr\xc3\xbc\xc3\x9fe\"",
    "TO \"fran\xc3\xa7ois\"",
    "SUBJECT \"CAF\xc3\x89 CR\xc3\x88ME\"",
    "SUBJECT \"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\"",
    "HEADER Message-ID mixed-4", "HEADER X-Priority \"\"",
    "HEADER Received \"c by d\"", "HEADER subject \"\"",
    "BODY attached", "BODY \"caf\xc3\xa9 est\"", "BODY anticonstitutionnellement",
    "BODY \"\xd0\xb2\xd1\x81\xd1\x82\xd1\x80\xd0\xb5\xd1\x87\xd0\xb0\"",
    "BODY \"" + "συναντηση".encode().decode("latin-1") + "\"",
    "BODY \"" + "ΠΑΡΑΣΚΕΥΉ".encode().decode("latin-1") + "\"",
    "BODY \"" + "straße".encode().decode("latin-1") + "\"",
    "BODY \"12 \xe2\x82\xac\"", "BODY hidden-attachment-word",
    "BODY \"mixed case words\"", "BODY ZEBRA", "BODY \"\"",
    "TEXT zebra", "TEXT \"x-mailer: ancient\"", "TEXT frank",
    "TEXT \"meeting notes\"", "BODY judy", "TEXT judy", "BODY coffee",
    "BODY \"caf\xc3\xa9 budget\"", "TEXT \"kim@example.org\"",
    "TEXT \"content-type: text/csv\"", "BODY \"content-type\"",
    "25:100", "UID 100:200", "UID 100:*", "KEYWORD \\Seen",
    "CHARSET UTF-8 BODY zebra", "CHARSET US-ASCII SUBJECT groups",
    "OR BODY zebra SUBJECT report", "NOT BODY the",
    "RETURN (MIN MAX COUNT) SEEN", "RETURN (ALL) FLAGGED", "RETURN () DRAFT",
    "RETURN (COUNT) BODY nosuchword",
    # Refused alike: BAD for what is no program, NO [BADCHARSET] for a
    # charset neither side converts.
    "FOO", "SINCE 32-Dec-2026", "SINCE yesterday", "OR SEEN", "NOT",
    "LARGER -1", "UID 0:x", "KEYWORD", "CHARSET KOI8-R ALL",
    "RETURN (BOGUS) ALL", "TO fran\xc3\xa7ois",
]
# Where Postern deliberately answers otherwise, and what it answers:
#  - a day past the month's end is BAD (Dovecot's mktime rolls
#    "32-Dec-2026" over into 1-Jan-2027);
#  - only UTF-8 and US-ASCII are search charsets (Dovecot converts
#    through iconv); the others get NO [BADCHARSET (UTF-8 US-ASCII)], which
#    RFC 3501 6.4.4 allows and clients handle by retrying in UTF-8.
DIFFER = {
    "SINCE 32-Dec-2026": ("BAD",),
    "CHARSET KOI8-R ALL": ("NO", b"[BADCHARSET (UTF-8 US-ASCII)]"),
}
UID_PROGRAMS = ["ALL", "1:3", "UID 2:4 SEEN", "RETURN (ALL) UNSEEN"]


def flags_of(i):
    f = ""
    if i % 7 == 0:
        f += "D"
    if i % 3 == 0:
        f += "F"
    if i % 4 == 1:
        f += "R"
    if i % 2 == 0:
        f += "S"
    if i % 6 == 5:
        f += "T"
    if i % 2 == 1:
        f += "a"
    if i % 5 == 2:
        f += "b"
    return f


@pytest.fixture(scope="module")
def maildir():
    if not os.path.exists(IMAP):
        pytest.skip("Debian's dovecot-imapd is not installed")
    root = pathlib.Path(tempfile.mkdtemp(prefix="postern-dovecot-search-"))
    os.chmod(root, 0o755)
    (root / "dovecot.conf").write_text(f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
mail_location = maildir:{root}/Maildir
protocols = none
ssl = no
""")
    md = root / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    uidlist = [f"3 V1796300000 N{len(MESSAGES) + 1}\n"]
    for i, msg in enumerate(MESSAGES, 1):
        base = f"17963{i:05d}.M{i}P1.test"
        dst = md / "cur" / f"{base}:2,{flags_of(i)}"
        shutil.copyfile(msg, dst)
        t = T0 + i * 9 * 3600
        os.utime(dst, (t, t))
        uidlist.append(f"{i} :{base}\n")
    (md / "dovecot-uidlist").write_text("".join(uidlist))
    (md / "dovecot-keywords").write_text(
        "".join(f"{k} {n}\n" for k, n in enumerate(KEYWORDS)))
    if os.geteuid() == 0:
        pw = pwd.getpwnam(OWNER)
        for p in [md] + list(md.rglob("*")):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def answer_of(kind, data):
    """An untagged answer, normalised: the numbers, or the ESEARCH items."""
    if kind == "SEARCH":
        words = b" ".join(d for d in data if d).split()
        return ("SEARCH", sorted(int(w) for w in words))
    line = b" ".join(d for d in data if d)
    # (TAG "x") [UID] items...
    rest = line.split(b")", 1)[1].split()
    return ("ESEARCH", [w.upper() if w.isalpha() else w for w in rest])


@pytest.fixture(scope="module")
def dovecot(maildir):
    run = f"env -i USER=tester HOME={maildir} TZ=UTC {IMAP} " \
        f"-c {maildir}/dovecot.conf"
    if os.geteuid() == 0:
        run = f"runuser -u {OWNER} -- " + run
    im = imaplib.IMAP4_stream(run)
    typ, _ = im.select("INBOX")
    assert typ == "OK"
    try:
        yield im
    finally:
        im.logout()


def dovecot_search(im, program, uid):
    cmd = "SEARCH"
    if uid:
        im.untagged_responses.clear()
        typ, data = im._simple_command("UID", "SEARCH",
                                       program.encode("latin-1"))
    else:
        im.untagged_responses.clear()
        try:
            typ, data = im._simple_command(cmd, program.encode("latin-1"))
        except im.error as e:
            assert "BAD" in str(e), e
            return ("BAD",)
    if typ == "NO":
        return ("NO", data[0].split(b"]")[0] + b"]")
    assert typ == "OK", (program, data)
    for kind in ("ESEARCH", "SEARCH"):
        if kind in im.untagged_responses:
            return answer_of(kind, im.untagged_responses.pop(kind))
    return ("SEARCH", [])


def postern_search(build_dir, maildir, program, uid):
    exe = pathlib.Path(build_dir) / "tests" / "imap-search-tool"
    args = [str(exe), str(maildir / "Maildir")] + (["UID"] if uid else []) \
        + [program.encode("latin-1")]
    r = subprocess.run(args, capture_output=True, timeout=30,
                       env={"TZ": "UTC"})
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    out = r.stdout
    if out.startswith(b"BAD "):
        return ("BAD",)
    if out.startswith(b"NO "):
        return ("NO", out[3:].split(b"]")[0] + b"]")
    assert out.endswith(b"\r\n"), out
    if out.startswith(b"* SEARCH"):
        return answer_of("SEARCH", [out[8:].strip()])
    assert out.startswith(b"* ESEARCH "), out
    return answer_of("ESEARCH", [out[10:].strip()])


def test_corpus_spreads_over_every_key(maildir):
    assert len(MESSAGES) >= 30
    assert len(PROGRAMS) + len(UID_PROGRAMS) >= 30


@pytest.mark.parametrize("program", PROGRAMS)
def test_search_same_as_dovecot(dovecot, maildir, build_dir, program):
    want = dovecot_search(dovecot, program, False)
    if program in DIFFER:
        assert want[0] == "SEARCH"
        want = DIFFER[program]
    got = postern_search(build_dir, maildir, program, False)
    assert got == want


@pytest.mark.parametrize("program", UID_PROGRAMS)
def test_uid_search_same_as_dovecot(dovecot, maildir, build_dir, program):
    want = dovecot_search(dovecot, program, True)
    got = postern_search(build_dir, maildir, program, True)
    assert got == want


def test_programs_find_something(maildir, build_dir):
    """The comparison means something: most programs match some, not all."""
    n = len(MESSAGES)
    some = 0
    for p in PROGRAMS:
        got = postern_search(build_dir, maildir, p, False)
        if got[0] == "SEARCH" and 0 < len(got[1]) < n:
            some += 1
    assert some >= 40
