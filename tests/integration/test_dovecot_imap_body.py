"""ENVELOPE, BODY, BODYSTRUCTURE and BODY[section]<partial> against Dovecot.

Each message of tests/unit/data/imap_body/ (real-world shapes: multipart
alternative with attachments, nested message/rfc822, broken and missing
boundaries, missing headers, encoded words, groups, RFC 2231 parameters,
bare-LF and mixed line ends, NUL bytes) is put alone in a Maildir and fetched from
Debian's Dovecot (its imap binary run in PREAUTH mode over a pipe, driven
by imaplib: no listener, no master) and from imapd's imap_body through
tests/imap-body-tool; the answers must be the same, item by item.

Where Postern deliberately differs, the comparison says so (normalise,
DIFFER):
  - MIME type, subtype, parameter names and the disposition type are
    lower-cased by libcommon/mime (Dovecot echoes the case as written);
    RFC 2045 makes them case-insensitive and clients compare them so.
  - A message/rfc822 part in base64: Dovecot reads the encoded text as a
    message header without its empty line, which swallows the line end
    before the next delimiter (size + 2, one more line, BODY[1] with it)
    and serves the base64 text as its HEADER; libcommon/mime gives that
    line end to the delimiter (RFC 2046 5.1.1) as for every other part,
    and a part we cannot see into has no HEADER (empty, as a missing part).
"""
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile

import imaplib
import pytest

IMAP = "/usr/lib/dovecot/imap"
OWNER = "nobody"
CORPUS = pathlib.Path(__file__).resolve().parent.parent / "unit" / "data" \
    / "imap_body"

# Sections fetched from every message: whole, header, text, parts at every
# depth the corpus has (and past it: missing parts), MIME headers, the
# HEADER/TEXT of encapsulated messages, field lists, partials.
SECTIONS = [
    "", "HEADER", "TEXT", "1", "2", "3", "4", "1.MIME", "2.MIME", "3.MIME",
    "1.1", "1.2", "2.1", "2.2", "1.1.1", "1.1.2", "1.1.1.1", "2.1.1",
    "2.HEADER", "2.TEXT", "1.HEADER", "1.TEXT", "2.1.MIME", "2.1.2",
    "2.2.HEADER", "2.2.TEXT", "1.2.MIME", "5",
    "HEADER.FIELDS (From Subject X-None)",
    "HEADER.FIELDS.NOT (Received Subject To)",
    "2.HEADER.FIELDS (Subject)", "1.HEADER.FIELDS (content-type)",
    "<0.10>", "<5.20>", "TEXT<3.7>", "1<2.3>", "<100000.5>",
    "HEADER<0.1>",
]


# --- a small reader of IMAP data (RFC 3501 9: atoms, strings, lists) ---

class Lit(bytes):
    """A string that came as a literal (compared like any string)."""


def parse(data, i=0):
    """One value at data[i:]: (value, end)."""
    while data[i:i + 1] == b" ":
        i += 1
    c = data[i:i + 1]
    if c == b"(":
        out, i = [], i + 1
        while True:
            while data[i:i + 1] == b" ":
                i += 1
            if data[i:i + 1] == b")":
                return out, i + 1
            v, i = parse(data, i)
            out.append(v)
    if c == b'"':
        out, i = bytearray(), i + 1
        while data[i:i + 1] != b'"':
            if data[i:i + 1] == b"\\":
                i += 1
            out += data[i:i + 1]
            i += 1
        return bytes(out), i + 1
    if c == b"{":
        end = data.index(b"}", i)
        n = int(data[i + 1:end])
        assert data[end + 1:end + 3] == b"\r\n"
        start = end + 3
        return Lit(data[start:start + n]), start + n
    j = i
    # An atom, or a section item name with its brackets and <origin>.
    depth = 0
    while j < len(data):
        ch = data[j:j + 1]
        if ch == b"[":
            depth += 1
        elif ch == b"]":
            depth -= 1
        elif depth == 0 and ch in (b" ", b")", b"("):
            break
        j += 1
    atom = data[i:j]
    if atom == b"NIL":
        return None, j
    return ("atom", atom), j


def items(data):
    """FETCH data items (name value name value ...) into a dict."""
    lst, end = parse(data)
    assert end == len(data), data[end:]
    assert len(lst) % 2 == 0
    out = {}
    for k in range(0, len(lst), 2):
        name = lst[k][1].decode()
        out[name] = lst[k + 1]
    return out


def lower(v):
    return v.lower() if isinstance(v, bytes) else v


def norm_params(p):
    if not isinstance(p, list):
        return p
    return [lower(x) if k % 2 == 0 else x for k, x in enumerate(p)]


def norm_disp(d):
    if not isinstance(d, list):
        return d
    return [lower(d[0]), norm_params(d[1])] + d[2:]


def norm_body(b, ext):
    """Deliberate differences only (see the module docstring)."""
    if isinstance(b[0], list):
        k = 0
        while isinstance(b[k], list):
            b[k] = norm_body(b[k], ext)
            k += 1
        b[k] = lower(b[k])
        if ext and len(b) > k + 1:
            b[k + 1] = norm_params(b[k + 1])
            if len(b) > k + 2:
                b[k + 2] = norm_disp(b[k + 2])
        return b
    b[0], b[1] = lower(b[0]), lower(b[1])
    b[2] = norm_params(b[2])
    b[5] = lower(b[5])
    n = 7
    if b[0] == b"message" and b[1] == b"rfc822" and len(b) > 9 and \
            isinstance(b[8], list):
        b[8] = norm_body(b[8], ext)
        n = 10
    elif b[0] == b"text":
        n = 8
    if ext and len(b) > n + 1:
        b[n + 1] = norm_disp(b[n + 1])
    return b


def normalise(it):
    for key in ("BODY", "BODYSTRUCTURE"):
        it[key] = norm_body(it[key], key == "BODYSTRUCTURE")
    return it


def base64_rfc822(want):
    for key in ("BODY", "BODYSTRUCTURE"):
        part = want[key][0]
        assert part[5] == b"base64" and part[6] == ("atom", b"62")
        assert part[9] == ("atom", b"1")
        part[6], part[9] = ("atom", b"60"), ("atom", b"0")
    assert want["BODY[1]"].endswith(b"\r\n")
    want["BODY[1]"] = want["BODY[1]"][:-2]
    # Its HEADER is no header (the base64 text in Dovecot): empty, as for
    # any part that holds no message we can see.
    assert want["BODY[1.HEADER]"].startswith(b"RnJvbTog")
    want["BODY[1.HEADER]"] = b""
    return want


DIFFER = {"14_rfc822_base64": base64_rfc822}


def fetch_cmd():
    return "(RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE " + " ".join(
        f"BODY.PEEK[{s.split('<')[0]}]" + (
            f"<{s.split('<')[1]}" if "<" in s else "") for s in SECTIONS) \
        + ")"


def dovecot_fetch(root, msg, as_owner):
    md = root / "Maildir"
    if md.exists():
        shutil.rmtree(md)
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    dst = md / "cur" / "1796300000.M1P1.test:2,"
    shutil.copyfile(msg, dst)
    if as_owner:
        pw = pwd.getpwnam(OWNER)
        for p in [md] + list(md.rglob("*")):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    run = f"env -i USER=tester HOME={root} {IMAP} -c {root}/dovecot.conf"
    if as_owner:
        run = f"runuser -u {OWNER} -- " + run
    im = imaplib.IMAP4_stream(run)
    try:
        typ, _ = im.select("INBOX")
        assert typ == "OK"
        typ, data = im.fetch("1", fetch_cmd())
        assert typ == "OK", data
    finally:
        im.logout()
    raw = b""
    for d in data:
        if isinstance(d, tuple):
            raw += d[0] + b"\r\n" + d[1]
        else:
            raw += d
    assert raw.startswith(b"1 (")
    it = items(raw[2:])
    it.pop("FLAGS", None)
    return it


def postern_fetch(build_dir, msg):
    exe = pathlib.Path(build_dir) / "tests" / "imap-body-tool"
    r = subprocess.run([str(exe), str(msg)] + SECTIONS, capture_output=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return items(b"(" + r.stdout + b")")


@pytest.fixture(scope="module")
def dovecot_root():
    if not os.path.exists(IMAP):
        pytest.skip("Debian's dovecot-imapd is not installed")
    root = pathlib.Path(tempfile.mkdtemp(prefix="postern-dovecot-body-"))
    os.chmod(root, 0o755)
    (root / "dovecot.conf").write_text(f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
mail_location = maildir:{root}/Maildir
protocols = none
ssl = no
""")
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


MESSAGES = sorted(CORPUS.glob("*.eml"))


def test_corpus_is_varied():
    assert len(MESSAGES) >= 20
    assert any(b"\r\n" in m.read_bytes() for m in MESSAGES)
    assert any(b"\r\n" not in m.read_bytes() for m in MESSAGES)


@pytest.mark.parametrize("msg", MESSAGES, ids=[m.stem for m in MESSAGES])
def test_same_as_dovecot(dovecot_root, build_dir, msg):
    want = normalise(dovecot_fetch(dovecot_root, msg, os.geteuid() == 0))
    if msg.stem in DIFFER:
        want = DIFFER[msg.stem](want)
    got = normalise(postern_fetch(build_dir, msg))
    assert sorted(got) == sorted(want)
    for key in sorted(want):
        assert got[key] == want[key], key
    # RFC822.SIZE is the CRLF size, and BODY[] the CRLF form, of any file
    # (NUL, which no literal may hold, served as 0x80, as Dovecot does).
    raw = msg.read_bytes()
    crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") \
        .replace(b"\0", b"\x80")
    assert int(got["RFC822.SIZE"][1]) == len(crlf)
    assert got["BODY[]"] == crlf
