"""Moving a mailbox between Dovecot and Postern over IMAP: a Maildir that
Debian's Dovecot wrote (its dovecot-uidlist, dovecot-keywords and flag
letters) is served by imapd with the same UIDVALIDITY, UIDs, flags and
keywords, and the reverse: Dovecot's imap serves what imapd wrote with
the same. Dovecot runs as its imap binary in PREAUTH mode over a pipe,
as the mail store's user, on the very Maildir the suite serves."""
import imaplib
import poplib
import os
import pathlib
import re
import shutil
import tempfile

import pytest

from test_imap import ALICE, MSG, PASSWORD, deliver, login, ready

IMAP = "/usr/lib/dovecot/imap"
MAIL_USER = "postern-mail"


@pytest.fixture
def dovecot(suite):
    if not os.path.exists(IMAP):
        pytest.skip("Debian's dovecot-imapd is not installed")
    ready(suite)
    deliver(suite, ALICE, ["first"])
    root = pathlib.Path(tempfile.mkdtemp(prefix="postern-dovecot-imap-"))
    os.chmod(root, 0o777)
    md = suite.maildir(ALICE)
    (root / "dovecot.conf").write_text(f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
mail_location = maildir:{md}:INDEX={root}/index
protocols = none
ssl = no
""")

    def connect():
        run = (f"runuser -u {MAIL_USER} -- env -i USER=alice HOME={root} "
               f"{IMAP} -c {root}/dovecot.conf")
        return imaplib.IMAP4_stream(run)
    try:
        yield connect
    finally:
        shutil.rmtree(root, ignore_errors=True)


def state(c):
    """UIDVALIDITY and {uid: sorted flags} of INBOX, \\Recent left out."""
    typ, data = c.select("INBOX")
    assert typ == "OK", data
    uv = int(c.untagged_responses["UIDVALIDITY"][-1])
    typ, data = c.uid("FETCH", "1:*", "(UID FLAGS)")
    assert typ == "OK", data
    out = {}
    for d in data:
        if d is None:
            continue
        m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", d)
        flags = sorted(f for f in m.group(2).decode().split()
                       if f != "\\Recent")
        out[int(m.group(1))] = flags
    return uv, out


def test_dovecot_maildir_served_with_the_same_uids(suite, dovecot):
    d = dovecot()
    for subj, flags in (("dc-1", "(\\Seen $Label1)"),
                        ("dc-2", "(\\Flagged Work)"),
                        ("dc-3", "(\\Answered \\Deleted)")):
        typ, _ = d.append("INBOX", flags, None,
                          MSG.format(subject=subj).encode())
        assert typ == "OK"
    d.select("INBOX")
    d.expunge()
    want = state(d)
    d.logout()
    assert len(want[1]) == 3
    c = login(suite)
    assert state(c) == want
    c.logout()
    # POP3 numbers them as Dovecot's pop3 does (pop3_uidl_format
    # %08Xu%08Xv): the UID and UIDVALIDITY it read from the same list.
    p = poplib.POP3("127.0.0.1", suite.pop3_port, timeout=30)
    p.user(ALICE)
    p.pass_(PASSWORD)
    uv, flags = want
    got = [ln.split()[1].decode() for ln in p.uidl()[1]]
    assert got == [f"{u:08X}{uv:08X}" for u in sorted(flags)]
    p.quit()


def test_postern_maildir_served_by_dovecot_with_the_same_uids(suite,
                                                              dovecot):
    c = login(suite)
    for subj, flags in (("pt-1", "(\\Seen Blue)"),
                        ("pt-2", "(\\Draft)"),
                        ("pt-3", "(\\Deleted)")):
        typ, _ = c.append("INBOX", flags, None,
                          MSG.format(subject=subj).encode())
        assert typ == "OK"
    c.select("INBOX")
    c.store("1", "+FLAGS", "(Green)")
    c.expunge()
    # New mail after the expunge's rewrite: appended to the uidlist in
    # place, as Dovecot appends, its header's N left behind the last UID.
    typ, _ = c.append("INBOX", "(\\Flagged)", None,
                      MSG.format(subject="pt-4").encode())
    assert typ == "OK"
    lines = (suite.maildir(ALICE) / "dovecot-uidlist").read_text() \
        .splitlines()
    n = int(re.search(r" N(\d+)", lines[0]).group(1))
    assert n <= int(lines[-1].split()[0]), lines
    c.noop()
    want = state(c)
    c.logout()
    assert sorted(want[1]) == [1, 2, 3, 5], want
    d = dovecot()
    assert state(d) == want
    d.logout()
