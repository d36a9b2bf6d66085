"""sendmail's other modes and names (mailq, newaliases, -bp, -bi, -I, -bv,
-q), the options applications pass, the default domain of bare names,
the installed mailq/newaliases links, and `postern setup --sendmail-link`
(always under --root: the machine's own /usr/sbin is never touched)."""
import os
import pathlib
import shutil
import smtplib
import subprocess
import tempfile

import pytest

from conftest import wait_until

EX_USAGE = 64


def run(cmd, suite=None, input=b"", env=None):
    e = dict(os.environ if env is None else env)
    if suite is not None:
        e["POSTERN_CONFIG"] = str(suite.conf)
    return subprocess.run([str(c) for c in cmd], input=input,
                          capture_output=True, env=e, timeout=60)


@pytest.fixture
def tmpdir_():
    d = pathlib.Path(tempfile.mkdtemp(prefix="postern-sm-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def fake_postern(build_dir, tmpdir_):
    """A copy of sendmail beside a stand-in postern that records its
    argv: what each mode runs, without a suite."""
    shutil.copy2(build_dir / "bin" / "sendmail", tmpdir_ / "sendmail")
    log = tmpdir_ / "argv.log"
    (tmpdir_ / "postern").write_text(
        "#!/bin/sh\nprintf '%s|' \"$@\" >> " + str(log) +
        "\necho >> " + str(log) + "\n")
    os.chmod(tmpdir_ / "postern", 0o755)
    for name in ("mailq", "newaliases"):
        os.symlink("sendmail", tmpdir_ / name)

    def calls(*args, name="sendmail"):
        if log.exists():
            log.unlink()
        r = run([tmpdir_ / name, *args], env={"PATH": "/usr/bin:/bin"})
        got = log.read_text().splitlines() if log.exists() else []
        return r, [l.rstrip("|").split("|") if l else [] for l in got]
    return calls


@pytest.mark.parametrize("name,args,want", [
    ("mailq", (), ["queue", "list"]),
    ("newaliases", (), ["alias"]),
    ("sendmail", ("-bp",), ["queue", "list"]),
    ("sendmail", ("-bi",), ["alias"]),
    ("sendmail", ("-I",), ["alias"]),
    ("sendmail", ("-oi", "-I"), ["alias"]),
    ("newaliases", ("-bp",), ["queue", "list"]),   # options beat the name
    ("sendmail", ("-C", "/etc/x.conf", "-bp"),
     ["-c", "/etc/x.conf", "queue", "list"]),
    ("sendmail", ("-q",), ["queue", "flush"]),
    ("sendmail", ("-qI0123456789ABCDEF",),
     ["queue", "flush", "0123456789ABCDEF"]),
    ("sendmail", ("-qRexample.org",), ["queue", "flush", "example.org"]),
])
def test_modes_run_the_postern_command(fake_postern, name, args, want):
    r, calls = fake_postern(*args, name=name)
    assert r.returncode == 0, r.stderr
    assert calls == [want]


@pytest.mark.parametrize("args", [("-q30m",), ("-q", "-q1h"), ("-bh",),
                                  ("-bH",)])
def test_modes_with_nothing_to_do_succeed_quietly(fake_postern, args):
    r, calls = fake_postern(*args)
    assert (r.returncode, r.stdout, r.stderr, calls) == (0, b"", b"", [])


@pytest.mark.parametrize("name,args,why", [
    ("mailq", ("bob@example.test",), "takes no recipient"),
    ("sendmail", ("-bi", "x"), "takes no recipient"),
    ("sendmail", ("-bv",), "-bv needs the addresses"),
    ("sendmail", ("-bp", "-t"), "-t can be used only in delivery mode"),
    ("sendmail", ("-n", "bob@example.test"), "-n (no aliasing) is not "
     "supported"),
    ("sendmail", ("-j", "bob@example.test"), "unknown option -j"),
    ("sendmail", ("-B", "BINARY", "bob@example.test"), "7BIT or 8BITMIME"),
    ("sendmail", ("-qI",), "specify -qIqueueid"),
    ("sendmail", ("-bz",), "unsupported mode -bz"),
])
def test_usage_errors_are_clear(fake_postern, name, args, why):
    r, calls = fake_postern(*args, name=name)
    assert r.returncode == EX_USAGE
    assert why in r.stderr.decode()
    assert calls == []


def test_mailq_lists_the_queue(suite, tmpdir_):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        c.sendmail("alice@example.test", ["far@away.test"],
                   b"Subject: stuck\r\n\r\nx\r\n")
    wait_until(lambda: suite.committed(), 20, what="the message to queue")
    os.symlink(suite.build / "bin" / "sendmail", tmpdir_ / "mailq")
    for cmd in ([tmpdir_ / "mailq"], [suite.build / "bin" / "sendmail",
                                      "-bp"]):
        r = run(cmd, suite)
        assert r.returncode == 0, r.stderr
        out = r.stdout.decode()
        # "postern queue list"'s listing (its retry notes may move on).
        assert out.startswith(suite.postern("queue", "list").stdout
                              .splitlines()[0])
        assert suite.committed()[0] in out and "far@away.test" in out


def test_newaliases_rebuilds_the_aliases_map(suite, tmpdir_):
    with open(suite.aliases, "a") as f:
        f.write("sales: bob@example.test\n")
    os.symlink(suite.build / "bin" / "sendmail", tmpdir_ / "newaliases")
    r = run([tmpdir_ / "newaliases"], suite)
    assert r.returncode == 0, r.stderr
    suite.sendmail("-i", "-r", "app@example.test", "sales@example.test",
                   input=b"Subject: via alias\n\nx\n")
    [m] = suite.wait_messages("bob@example.test", 1)
    # -r is -f's older spelling.
    assert b"Return-Path: <app@example.test>" in m.read_bytes()


def test_options_apps_pass_are_accepted(suite):
    """What cron, PHP, Postfix's own callers and mail clients pass: each
    accepted (and, where meaningless here, ignored) as Postfix does."""
    suite.sendmail("-Am", "-Ac", "-G", "-U", "-v", "-c", "-x", "-m",
                   "-odi", "-oem", "-om", "-o7", "-B8BITMIME", "-N",
                   "never", "-V", "envid-1", "-X", "/dev/null", "-L",
                   "tag", "-h", "17", "-R", "full", "-O", "X=y", "-e",
                   "m", "-p", "smtp", "-F", "Cron Daemon", "-oi", "-f",
                   "cron@example.test", "bob@example.test",
                   input=b"Subject: options\n\nbody\n")
    [m] = suite.wait_messages("bob@example.test", 1)
    data = m.read_bytes()
    assert b"Return-Path: <cron@example.test>" in data
    assert b'From: "Cron Daemon" <cron@example.test>' in data


def test_bare_names_take_the_default_domain(suite):
    """myhostname (mx.test) is not a local domain here: a bare name takes
    the first of local_domains, so cron's mail to "bob" stays local."""
    suite.sendmail("-i", "bob", input=b"Subject: bare\n\nx\n")
    [m] = suite.wait_messages("bob@example.test", 1)
    data = m.read_bytes()
    assert b"Return-Path: <root@example.test>" in data
    assert b"Delivered-To: bob@example.test" in data


def test_bare_names_take_myhostname_when_it_is_local(suite_factory):
    s = suite_factory("myhostname = example.test\n")
    s.postern("user", "add", "bob@example.test")
    s.start()
    s.sendmail("-i", "-f", "cron", "bob", input=b"Subject: bare\n\nx\n")
    [m] = s.wait_messages("bob@example.test", 1)
    assert b"Return-Path: <cron@example.test>" in m.read_bytes()


def test_install_puts_mailq_and_newaliases_links_under_destdir(build_dir,
                                                                tmpdir_):
    env = dict(os.environ, DESTDIR=str(tmpdir_))
    r = subprocess.run(["cmake", "--install", str(build_dir), "--prefix",
                        "/usr"], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    for name in ("mailq", "newaliases"):
        link = tmpdir_ / "usr" / "bin" / name
        assert os.readlink(link) == "../sbin/sendmail"
        assert link.resolve() == (tmpdir_ / "usr" / "sbin" /
                                  "sendmail").resolve()


def link_setup(suite, root, *args):
    return suite.postern("setup", "--sendmail-link", "--root", str(root),
                         *args, check=False)


NAMES = ("usr/sbin/sendmail", "usr/lib/sendmail", "usr/bin/mailq",
         "usr/bin/newaliases")


def test_sendmail_link_makes_the_names_ours_once(suite_factory, tmpdir_):
    s = suite_factory()
    ours = str(s.build / "bin" / "sendmail")
    r = link_setup(s, tmpdir_)
    assert r.returncode == 0, r.stderr
    for n in NAMES:
        assert os.readlink(tmpdir_ / n) == ours
        assert f"{tmpdir_}/{n} -> {ours}" in r.stdout
    # Again: nothing to do, and it says so.
    r = link_setup(s, tmpdir_)
    assert r.returncode == 0, r.stderr
    for n in NAMES:
        assert f"{tmpdir_}/{n} is Postern's already" in r.stdout
    assert sorted(p.name for p in (tmpdir_ / "usr" / "bin").iterdir()) == \
        ["mailq", "newaliases"]


def test_sendmail_link_refuses_another_mtas_files(suite_factory, tmpdir_):
    s = suite_factory()
    ours = str(s.build / "bin" / "sendmail")
    (tmpdir_ / "usr" / "sbin").mkdir(parents=True)
    (tmpdir_ / "usr" / "bin").mkdir(parents=True)
    # Postfix's layout: a real program, and links to it.
    (tmpdir_ / "usr/sbin/sendmail").write_bytes(b"\x7fELF postfix")
    os.symlink("../sbin/sendmail", tmpdir_ / "usr/bin/mailq")
    r = link_setup(s, tmpdir_)
    assert r.returncode != 0
    assert "usr/sbin/sendmail is a file that is not Postern's" in r.stderr
    assert "usr/bin/mailq is a link to ../sbin/sendmail" in r.stderr
    assert "nothing changed" in r.stderr and "--force" in r.stderr
    # Nothing changed, not even the names that were free.
    assert (tmpdir_ / "usr/sbin/sendmail").read_bytes() == b"\x7fELF postfix"
    assert os.readlink(tmpdir_ / "usr/bin/mailq") == "../sbin/sendmail"
    assert not (tmpdir_ / "usr/bin/newaliases").exists()
    assert not (tmpdir_ / "usr/lib").exists()

    r = link_setup(s, tmpdir_, "--force")
    assert r.returncode == 0, r.stderr
    for n in NAMES:
        assert os.readlink(tmpdir_ / n) == ours
    # What was replaced is kept, and the output says where.
    saved = tmpdir_ / "usr/sbin/sendmail.pre-postern"
    assert saved.read_bytes() == b"\x7fELF postfix"
    assert os.readlink(tmpdir_ / "usr/bin/mailq.pre-postern") == \
        "../sbin/sendmail"
    assert f"kept as {saved}" in r.stdout
    # A second forced run finds everything ours: no backup is overwritten.
    r = link_setup(s, tmpdir_, "--force")
    assert r.returncode == 0, r.stderr
    assert saved.read_bytes() == b"\x7fELF postfix"


def test_sendmail_link_usage(suite_factory, tmpdir_):
    s = suite_factory()
    r = s.postern("setup", "--sendmail-link", "--bogus", check=False)
    assert r.returncode == EX_USAGE and "usage:" in r.stderr
    r = link_setup(s, tmpdir_ / "missing")
    assert r.returncode == EX_USAGE and "not a directory" in r.stderr
