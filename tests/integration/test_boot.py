"""Running at boot: the systemd unit (systemd-analyze verify; the suite
run with exactly its capability bounding set and no_new_privs; master's
READY=1/STOPPING=1 over NOTIFY_SOCKET), the init script driven through
start/status/reload/stop against an install in a temporary prefix, an
install with DESTDIR that can write nowhere else (/ read-only in a mount
namespace of its own), and postern setup as a package's postinst: a
missing config and aliases file written, a second run changing nothing
and never an edited config."""
import os
import pathlib
import poplib
import re
import shutil
import signal
import smtplib
import socket
import stat
import subprocess
import tempfile

import pytest

from conftest import Suite, wait_until

SRC = pathlib.Path(__file__).resolve().parents[2]
UNIT_IN = SRC / "etc" / "postern.service.in"
ROOT = os.geteuid() == 0


def can_unshare():
    if not ROOT or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "--propagation", "private",
                           "true"], capture_output=True).returncode == 0


def tmpdir():
    d = tempfile.mkdtemp(prefix="postern-boot-")
    os.chmod(d, 0o755)     # the daemons' users run what is installed here
    return pathlib.Path(d)


def install(build_dir, prefix=None, destdir=None):
    env = dict(os.environ)
    if destdir is not None:
        env["DESTDIR"] = str(destdir)
    cmd = ["cmake", "--install", str(build_dir)]
    if prefix is not None:
        cmd += ["--prefix", str(prefix)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def files_under(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*")
                  if p.is_file())


# ------------------------------------------------------------ install ---

@pytest.mark.skipif(not can_unshare(), reason="needs root and unshare -m")
def test_install_with_destdir_creates_nothing_outside_it(build_dir):
    dest = tmpdir()
    try:
        # Every mount read-only but DESTDIR and the build tree (cmake
        # writes its install manifest there): a write anywhere else fails
        # the install instead of going unnoticed.
        script = (
            'set -e\n'
            'mount --bind "$DEST" "$DEST"\n'
            'mount --bind "$BUILD" "$BUILD"\n'
            'for m in $(awk \'{print $2}\' /proc/self/mounts | sort -u); do\n'
            '  case "$m" in "$DEST"|"$BUILD"|/proc*|/sys*|/dev*) continue;; esac\n'
            '  mount -o remount,bind,ro "$m" 2>/dev/null || true\n'
            'done\n'
            'if touch /usr/.postern-probe 2>/dev/null; then\n'
            '  rm -f /usr/.postern-probe; echo "/ is still writable"; exit 99\n'
            'fi\n'
            'DESTDIR="$DEST" cmake --install "$BUILD"\n')
        r = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             script], env=dict(os.environ, DEST=str(dest),
                               BUILD=str(build_dir)),
            capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        got = files_under(dest)
        for want in ("sbin/postern", "sbin/sendmail",
                     "libexec/postern/master", "libexec/postern/deliverd",
                     "libexec/postern/relayd",
                     "etc/postern/postern.conf", "etc/postern/aliases",
                     "etc/init.d/postern", "lib/systemd/system/postern.service",
                     "share/man/man8/postern.8"):
            assert any(g.endswith(want) for g in got), (want, got)
        # Installed with their prefix, never DESTDIR, inside.
        unit = next(dest.rglob("postern.service")).read_text()
        assert str(dest) not in unit
        assert re.search(r"^ExecStart=/\S+/sbin/postern start -f$", unit,
                         re.M), unit
    finally:
        shutil.rmtree(dest, ignore_errors=True)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed")
def test_systemd_unit_passes_systemd_analyze_verify(build_dir):
    prefix = tmpdir()
    try:
        install(build_dir, prefix=prefix)
        unit = prefix / "lib" / "systemd" / "system" / "postern.service"
        text = unit.read_text()
        assert f"ExecStart={prefix}/sbin/postern start -f" in text
        assert f"ExecReload={prefix}/sbin/postern reload" in text
        assert f"Environment=POSTERN_CONFIG={prefix}/etc/postern/" \
            "postern.conf" in text
        # Documentation= names man pages: verify runs man(1) for them
        # where it is installed (not on a minimal Debian); without it,
        # the pages' presence in the install is checked here instead.
        man_opt = []
        if shutil.which("man") is None:
            man_opt = ["--man=no"]
            for page in ("man8/postern.8", "man5/postern.conf.5"):
                assert (prefix / "share" / "man" / page).is_file(), page
        r = subprocess.run(["systemd-analyze", "verify", *man_opt, str(unit)],
                           env=dict(os.environ,
                                    MANPATH=str(prefix / "share" / "man")),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "postern.service" not in r.stderr, r.stderr
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def unit_settings():
    out = {}
    for line in UNIT_IN.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def start_wrapped(s, prefix, env=None):
    """Suite.start, with master run through prefix (a command that execs
    it): the harness's own checks that everything came up."""
    s.start_mark = len(s.log_text())
    s.sanitizer_chroot_proc()
    s.log = open(s.logfile, "ab")
    s.proc = subprocess.Popen(
        prefix + [str(s.build / "libexec" / "master"), "-c", str(s.conf),
                  "-f"], stdout=s.log, stderr=subprocess.STDOUT, env=env)
    wait_until(s.smtp_ready, 20, what="SMTP listener to greet")
    wait_until(s.daemons_ready, 20, what="every daemon to start")


@pytest.mark.skipif(not ROOT or shutil.which("setpriv") is None,
                    reason="needs root and setpriv")
def test_the_units_capabilities_and_no_new_privs_run_the_whole_suite(
        suite_factory):
    unit = unit_settings()
    caps = unit["CapabilityBoundingSet"].split()
    assert unit["NoNewPrivileges"] == "yes"
    s = suite_factory("allow_alias_commands = yes\n")
    work = s.root / "work"
    work.mkdir()
    os.chmod(work, 0o777)
    (s.root / "save.sh").write_text(
        f'#!/bin/sh\ncat > {work}/msg.tmp && id -u > {work}/uid && '
        f'mv {work}/msg.tmp {work}/msg\n')
    os.chmod(s.root / "save.sh", 0o755)
    s.aliases.write_text(s.aliases.read_text() +
                         f"pipe: |{s.root}/save.sh\n")
    s.postern("user", "add", "alice@example.test")
    s.postern("user", "passwd", "alice@example.test", "--stdin",
              input="boot-pass-1\n")
    s.postern("alias")
    bset = "-all," + ",".join("+" + c[4:].lower() for c in caps)
    start_wrapped(s, ["setpriv", "--no-new-privs", "--bounding-set", bset])
    master = s.proc.pid
    with open(f"/proc/{master}/status") as f:
        st = f.read()
    assert re.search(r"^NoNewPrivs:\s+1$", st, re.M), st
    # Delivery into a Maildir (mail_user), a POP3 login (pop3d's root
    # parent, chroot, setuid), an alias command (the runner's drop).
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.sendmail("x@remote.test", ["alice@example.test",
                                     "pipe@example.test"],
                   b"Subject: booted\r\n\r\nunder the unit's limits\r\n")
    s.wait_messages("alice@example.test", 1)
    wait_until(lambda: (work / "msg").exists(), 30, what="the command")
    assert int((work / "uid").read_text()) != 0
    p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    p.user("alice@example.test")
    p.pass_("boot-pass-1")
    assert p.stat()[0] == 1
    assert b"under the unit's limits" in b"\n".join(p.retr(1)[1])
    p.quit()


def test_master_says_ready_and_stopping_over_notify_socket(suite_factory):
    s = suite_factory()
    sock_path = s.root / "notify.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(str(sock_path))
    os.chmod(sock_path, 0o666)
    srv.settimeout(30)
    try:
        start_wrapped(s, [], env=dict(os.environ,
                                      NOTIFY_SOCKET=str(sock_path)))
        assert srv.recv(4096) == b"READY=1"
        # No daemon inherits it: none could speak for master.
        for pid in s.all_pids():
            if pid == s.proc.pid:
                continue
            try:
                env = pathlib.Path(f"/proc/{pid}/environ").read_bytes()
            except OSError:
                continue
            assert b"NOTIFY_SOCKET" not in env, pid
        s.proc.send_signal(signal.SIGTERM)
        assert srv.recv(4096) == b"STOPPING=1"
        s.proc.wait(timeout=30)
    finally:
        srv.close()


# -------------------------------------------------------- init script ---

def greets(port):
    with socket.create_connection(("127.0.0.1", port), 5) as c:
        c.settimeout(10)
        return c.recv(512).startswith(b"220")


@pytest.mark.skipif(not ROOT, reason="starts the suite as root from an "
                    "installed tree")
def test_init_script_starts_reports_reloads_and_stops(build_dir):
    prefix = tmpdir()
    s = None
    try:
        install(build_dir, prefix=prefix)
        init = prefix / "etc" / "init.d" / "postern"
        assert os.stat(init).st_mode & 0o111
        head = init.read_text()
        assert "### BEGIN INIT INFO" in head and "# Provides:" in head
        s = Suite(build_dir, tmpdir(),
                  f"daemon_directory = {prefix}/libexec/postern\n")
        s.postern("setup")
        s.postern("alias")
        env = dict(PATH="/usr/sbin:/usr/bin:/sbin:/bin",
                   POSTERN_CONFIG=str(s.conf))

        def run(action):
            return subprocess.run(["/bin/sh", str(init), action], env=env,
                                  capture_output=True, text=True, timeout=120)

        assert run("status").returncode == 3          # LSB: not running
        assert run("stop").returncode == 0            # stopping a stopped one
        r = run("start")
        assert r.returncode == 0, r.stdout + r.stderr
        assert greets(s.port)
        masters = s.pids_of("master")
        assert len(masters) == 1
        # It runs the installed daemons, not the build tree's.
        assert os.readlink(f"/proc/{masters[0]}/exe") == \
            str(prefix / "libexec" / "postern" / "master")
        r = run("status")
        assert r.returncode == 0, r.stdout + r.stderr
        r = run("start")                              # already running
        assert r.returncode == 0 and "already running" in r.stdout
        r = run("reload")
        assert r.returncode == 0, r.stdout + r.stderr
        r = run("force-reload")
        assert r.returncode == 0, r.stdout + r.stderr
        # The same master (a reload restarts nothing); a child it has
        # forked for a replaced daemon is named master until its exec.
        wait_until(lambda: s.pids_of("master") == masters, 10,
                   what="only the one master after the reloads")
        r = run("restart")
        assert r.returncode == 0, r.stdout + r.stderr
        assert greets(s.port)
        # smtpd may greet before master's last children have exec'd.
        def lone_master():
            pids = s.pids_of("master")
            return pids if len(pids) == 1 else None
        new = wait_until(lone_master, 10, what="one master after the restart")
        assert new != masters
        r = run("stop")
        assert r.returncode == 0, r.stdout + r.stderr
        wait_until(lambda: not s.pids_of("master"), 30,
                   what="master to exit")
        assert run("status").returncode == 3
        assert run("reload").returncode == 7          # LSB: not running
        assert run("bogus").returncode == 2
    finally:
        if s is not None:
            for pid in s.all_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            shutil.rmtree(s.root, ignore_errors=True)
        shutil.rmtree(prefix, ignore_errors=True)


# -------------------------------------------------------------- setup ---

def state_of(*dirs):
    """Every path under dirs with its type, mode, owner and (for files)
    content; a map's bytes are left out: setup rebuilds the aliases map
    each time (as newaliases does), and Berkeley DB's bytes vary."""
    out = {}
    for d in dirs:
        for p in [d, *sorted(d.rglob("*"))]:
            st = os.lstat(p)
            data = None
            if stat.S_ISREG(st.st_mode) and p.suffix != ".db":
                data = p.read_bytes()
            out[str(p)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                           st.st_uid, st.st_gid, data)
    return out


def test_setup_twice_changes_nothing_and_keeps_an_edited_config(
        suite_factory):
    s = suite_factory()          # ran setup once
    edited = s.conf.read_text() + "# edited by the administrator\n" \
        "smtpd_banner = ESMTP edited\n"
    s.conf.write_text(edited)
    s.aliases.write_text(s.aliases.read_text() + "# mine\n")
    aliases = s.aliases.read_text()
    s.postern("setup")
    before = state_of(s.maps, s.store)
    r = s.postern("setup")
    assert "created" not in r.stdout and "wrote" not in r.stdout, r.stdout
    assert state_of(s.maps, s.store) == before
    assert s.conf.read_text() == edited
    assert s.aliases.read_text() == aliases


@pytest.mark.skipif(not can_unshare(), reason="needs root and unshare -m")
def test_setup_writes_the_default_config_and_aliases_when_missing(build_dir):
    """With no config at all, setup writes the shipped one (and the
    shipped aliases) and sets up what it says: the default directories,
    here on tmpfs in a mount namespace of the test's own, so the host's
    /var/lib and <prefix>/etc are never touched."""
    cache = (build_dir / "CMakeCache.txt").read_text()
    prefix = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", cache, re.M)[1]
    if prefix == "/usr":
        pytest.skip("the compiled-in aliases_file is under /etc")
    sysconf = prefix.rstrip("/") + "/etc"
    t = tmpdir()
    try:
        conf = t / "etc" / "postern.conf"
        script = (
            'set -e\n'
            'mount -t tmpfs tmpfs /var/lib\n'
            'mkdir -p "$SYSCONF"\n'
            'mount -t tmpfs tmpfs "$SYSCONF"\n'
            '"$POSTERN" -c "$CONF" setup > "$T/out1"\n'
            'find /var/lib "$SYSCONF" -printf "%p %y %m %u %g\\n" '
            '| sort > "$T/state1"\n'
            'cp "$SYSCONF/postern/aliases" "$T/aliases"\n'
            'echo "# edited" >> "$CONF"\n'
            '"$POSTERN" -c "$CONF" setup > "$T/out2"\n'
            'find /var/lib "$SYSCONF" -printf "%p %y %m %u %g\\n" '
            '| sort > "$T/state2"\n')
        r = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             script], env=dict(os.environ, T=str(t), CONF=str(conf),
                               POSTERN=str(build_dir / "bin" / "postern"),
                               SYSCONF=sysconf),
            capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        out1 = (t / "out1").read_text()
        assert f"wrote the default configuration to {conf}" in out1
        assert "wrote the default aliases file to " \
            f"{sysconf}/postern/aliases" in out1, out1
        # The shipped file, pointed at the self-signed certificate that
        # setup made beside it (a fresh install speaks TLS at once).
        tls = t / "etc" / "tls"
        assert conf.read_text() == \
            (SRC / "etc" / "postern.conf").read_text() + \
            f"tls_cert_file = {tls}/cert.pem\n" \
            f"tls_key_file = {tls}/key.pem\n# edited\n"
        assert "made a self-signed certificate for localhost" in out1
        assert os.stat(tls / "key.pem").st_mode & 0o777 == 0o600
        assert os.stat(tls / "cert.pem").st_mode & 0o777 == 0o644
        assert os.stat(conf).st_mode & 0o777 == 0o644
        state1 = (t / "state1").read_text()
        assert "/var/lib/postern/maps d 755 root root" in state1
        assert re.search(r"^/var/lib/postern/mail d 750 (\S+) \1$", state1,
                         re.M), state1
        assert "/var/lib/postern/maps/aliases.db f" in state1
        assert (t / "aliases").read_text() == \
            (SRC / "etc" / "aliases").read_text()
        out2 = (t / "out2").read_text()
        assert "wrote" not in out2 and "created" not in out2, out2
        assert "made" not in out2 and "now names" not in out2, out2
        assert (t / "state2").read_text() == state1
    finally:
        shutil.rmtree(t, ignore_errors=True)
