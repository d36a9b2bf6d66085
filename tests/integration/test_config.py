"""Configuration the suite cannot run with is refused before anything runs
it: at `postern start`, at `postern reload` and at master's own SIGHUP
(the checks `postern check` makes, one implementation). A daemon that
cannot start anyway shows in `postern status`. Reload applies listener
changes and names the keys it cannot apply. `postern config` prints and
edits the configuration; the postern command talks to the terminal in
plain "postern: ..." lines with LSB exit codes."""
import os
import pathlib
import poplib
import re
import signal
import smtplib
import socket
import subprocess

from conftest import free_port, wait_until
from test_smtp_hostile import smtpd_parent


RCPT = "alice@example.test"
# What the daemons' log lines start with: never on the command's terminal.
LOG_PREFIX = re.compile(r"postern/\w+\[\d+\]|^\w+ +\d+ \d\d:\d\d", re.M)


def line_of(suite, key):
    """The line number of key in the suite's postern.conf."""
    for n, line in enumerate(suite.conf.read_text().splitlines(), 1):
        if line.split("=", 1)[0].strip() == key:
            return n
    raise AssertionError(f"{key} not in {suite.conf}")


def send(port, subject, rcpt=RCPT):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        assert s.sendmail("a@remote.test", [rcpt],
                          f"Subject: {subject}\r\n\r\nbody\r\n") == {}


def greets(port):
    try:
        with socket.create_connection(("127.0.0.1", port), 2) as s:
            s.settimeout(5)
            return s.recv(512)
    except OSError:
        return None


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), 2).close()
        return False
    except ConnectionRefusedError:
        return True


def stop_detached(s):
    s.postern("stop", check=False)
    wait_until(lambda: not s.all_pids(), 30, what="every process to exit")


# -- start -------------------------------------------------------------------

def test_start_refuses_what_check_rejects_naming_file_and_line(suite_factory):
    s = suite_factory("mynetworks = 127.0.0.0/8, 10.0.0.0/33\n")
    n = line_of(s, "mynetworks")
    where = f"{s.conf}:{n}: mynetworks"
    r = s.postern("check", check=False)
    assert r.returncode == 1 and where in r.stderr, r
    r = s.postern("start", check=False)
    assert r.returncode != 0
    assert where in r.stderr and "10.0.0.0/33" in r.stderr, r.stderr
    assert "not started" in r.stderr
    assert not LOG_PREFIX.search(r.stdout + r.stderr), r.stderr
    assert not s.all_pids() and not s.pidfile.exists()
    # master started by anything else (systemd, a script) refuses too.
    m = subprocess.run([str(s.build / "libexec" / "master"), "-c",
                        str(s.conf), "-f"], capture_output=True, text=True,
                       timeout=30)
    assert m.returncode != 0 and where in m.stderr, m.stderr
    assert not s.all_pids()


def test_a_comment_after_a_value_is_refused_not_sent_in_the_greeting(
        suite_factory):
    s = suite_factory()
    s.conf.write_text(s.conf.read_text().replace(
        "myhostname = mx.test", "myhostname = mx.test   # our MX"))
    n = line_of(s, "myhostname")
    r = s.postern("check", check=False)
    assert r.returncode != 0
    assert f"{s.conf}:{n}: myhostname: a comment must be on a line of its " \
        "own" in r.stderr, r.stderr
    assert "line above" in r.stderr
    r = s.postern("start", check=False)
    assert r.returncode != 0 and f"{s.conf}:{n}:" in r.stderr
    assert not s.all_pids()
    # On a line of its own it is a comment, and the greeting is clean.
    s.conf.write_text(s.conf.read_text().replace(
        "myhostname = mx.test   # our MX", "# our MX\nmyhostname = mx.test"))
    s.start()
    banner = greets(s.port)
    assert banner.startswith(b"220 mx.test ") and b"#" not in banner


def test_start_says_what_it_started_and_lsb_codes(suite_factory):
    # maillog_file: a host without syslog would be warned about otherwise.
    s = suite_factory()
    s.write_conf(f"maillog_file = {s.root}/maillog\n")
    s.postern("alias")   # else the checks warn that the map is missing
    try:
        r = s.postern("start")
        pid = int(s.pidfile.read_text())
        assert r.stdout == (
            f"postern: started (pid {pid}): smtpd on 127.0.0.1:{s.port}; "
            f"pop3d on 127.0.0.1:{s.pop3_port}; "
            f"imapd on 127.0.0.1:{s.imap_port}; queued, resolverd, "
            "authd, 4 deliverd, 2 relayd, logd\n"), r
        assert r.stderr == ""
        # Start of a running suite: said once, and a success (LSB).
        r = s.postern("start", check=False)
        assert (r.returncode, r.stdout, r.stderr) == (
            0, f"postern: already running (pid {pid})\n", ""), r
        r = s.postern("status")
        assert r.stdout.startswith(f"postern is running (pid {pid})\n")
        assert re.search(r"^  smtpd +running \(pid \d+\)$", r.stdout, re.M)
        assert len(re.findall(r"^  deliverd#\d +running", r.stdout,
                              re.M)) == 4
        r = s.postern("stop")
        assert r.stdout == f"postern: stopping (pid {pid})...\n" \
            "postern: stopped\n" and r.stderr == ""
        # Stop of a stopped suite: said once, and a success (LSB).
        r = s.postern("stop", check=False)
        assert (r.returncode, r.stdout, r.stderr) == (
            0, "postern: not running\n", ""), r
        r = s.postern("status", check=False)
        assert (r.returncode, r.stdout) == (3, "postern is not running\n")
        r = s.postern("reload", check=False)
        assert r.returncode == 7 and r.stdout == "postern: not running\n"
        # A pid file whose master is gone: LSB's "dead, pid file exists".
        child = subprocess.Popen(["true"])
        child.wait()
        s.pidfile.write_text(f"{child.pid}\n")
        r = s.postern("status", check=False)
        assert r.returncode == 1 and "is gone" in r.stdout, r
    finally:
        stop_detached(s)


def test_a_start_that_fails_after_the_checks_says_so_plainly(suite_factory):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        s = suite_factory(f"pop3_listen = 127.0.0.1:{port}\n")
        r = s.postern("start", check=False)
    assert r.returncode == 1
    said = [line for line in r.stderr.splitlines()
            if not line.startswith("postern: warning: ")]
    assert len(said) == 1, r.stderr
    assert said[0].startswith("postern: cannot start: pop3_listen: "), r
    assert not LOG_PREFIX.search(r.stderr)
    assert not s.all_pids() and not s.pidfile.exists()


# -- reload ------------------------------------------------------------------

def test_reload_with_an_invalid_value_is_refused_and_the_suite_serves_on(
        suite):
    listener = smtpd_parent(suite)
    mark = len(suite.log_text())
    suite.write_conf("mynetworks = 127.0.0.0/8, 10.0.0.0/33\n")
    n = line_of(suite, "mynetworks")
    r = suite.postern("reload", check=False)
    assert r.returncode == 1, r
    assert f"{suite.conf}:{n}: mynetworks: \"10.0.0.0/33\" is not an " \
        "address or network" in r.stderr, r.stderr
    assert "reload refused" in r.stderr
    assert not LOG_PREFIX.search(r.stdout + r.stderr)
    # Nothing was replaced: the same listener serves with the old config.
    send(suite.port, "after a refused reload")
    suite.wait_messages(RCPT, 1)
    assert smtpd_parent(suite) == listener
    assert "reloaded" not in suite.log_text()[mark:]
    assert "restarting" not in suite.log_text()[mark:]


def test_sighup_with_a_file_check_rejects_is_refused_by_master(suite):
    """kill -HUP does not go through the postern command: master runs the
    checks itself (this file loads; only the check of the network fails,
    and smtpd used to crash-loop on it)."""
    listener = smtpd_parent(suite)
    queued = suite.pids_of("queued")
    mark = len(suite.log_text())
    suite.write_conf("mynetworks = 10.0.0.0/33\n")
    n = line_of(suite, "mynetworks")
    os.kill(suite.proc.pid, signal.SIGHUP)
    wait_until(lambda: "reload refused" in suite.log_text()[mark:], 10,
               what="master to refuse the reload")
    log = suite.log_text()[mark:]
    assert f"{suite.conf}:{n}: mynetworks: \"10.0.0.0/33\"" in log, log
    assert smtpd_parent(suite) == listener
    assert suite.pids_of("queued") == queued
    send(suite.port, "after SIGHUP")
    suite.wait_messages(RCPT, 1)
    assert "restarting" not in suite.log_text()[mark:]
    assert suite.postern("status").returncode == 0


def test_reload_applies_listener_changes(suite):
    old_smtp, old_pop3 = suite.port, suite.pop3_port
    new_smtp, new_pop3 = free_port(), free_port()
    suite.write_conf(f"smtp_listen = 127.0.0.1:{old_smtp}, "
                     f"127.0.0.1:{new_smtp}\n"
                     f"pop3_listen = 127.0.0.1:{new_pop3}\n")
    r = suite.postern("reload")
    assert r.stdout == "postern: reloaded configuration; new listeners " \
        "for smtp_listen, pop3_listen\n", r
    wait_until(lambda: (greets(new_smtp) or b"").startswith(b"220"), 15,
               what="smtpd on the added address")
    assert greets(old_smtp).startswith(b"220")
    wait_until(lambda: (greets(new_pop3) or b"").startswith(b"+OK"), 15,
               what="pop3d on its new address")
    wait_until(lambda: refused(old_pop3), 15,
               what="the removed POP3 address to be closed")
    send(new_smtp, "through the new listener")
    suite.wait_messages(RCPT, 1)
    p = poplib.POP3("127.0.0.1", new_pop3, timeout=10)
    p.quit()
    # Removing the SMTP address the harness started with closes it.
    suite.write_conf(f"smtp_listen = 127.0.0.1:{new_smtp}\n"
                     "pop3_listen =\n")
    r = suite.postern("reload")
    assert "new listeners for smtp_listen, pop3_listen" in r.stdout
    wait_until(lambda: refused(old_smtp), 15,
               what="the removed SMTP address to be closed")
    wait_until(lambda: refused(new_pop3), 15, what="pop3d to stop")
    assert greets(new_smtp).startswith(b"220")
    wait_until(lambda: "pop3d" in suite.postern("status").stdout and
               re.search(r"^  pop3d +off", suite.postern("status").stdout,
                         re.M), 15, what="pop3d off in status")


def test_reload_names_the_keys_that_need_a_restart(suite):
    listener = smtpd_parent(suite)
    mark = len(suite.log_text())
    suite.write_conf(f"spool_directory = {suite.root}/spool2\n"
                     "queue_user = nobody\n")
    r = suite.postern("reload", check=False)
    assert r.returncode == 1, r
    assert "spool_directory, queue_user changed, which needs a restart" \
        in r.stderr, r.stderr
    assert "reload refused" in suite.log_text()[mark:]
    assert smtpd_parent(suite) == listener
    assert not (suite.root / "spool2").exists()
    send(suite.port, "still served")
    suite.wait_messages(RCPT, 1)
    # One that can wait for the next start: applied around, and said.
    suite.write_conf("local_delivery_concurrency = 2\n"
                     "message_size_limit = 16k\n")
    r = suite.postern("reload")
    assert "local_delivery_concurrency takes effect at the next start" \
        in r.stdout, r
    wait_until(lambda: "warning: reload: local_delivery_concurrency "
               "changed" in suite.log_text()[mark:], 10, what="the warning")
    assert len(suite.pids_of("deliverd")) == 4


# -- status ------------------------------------------------------------------

def test_a_crash_looping_daemon_shows_in_status_with_its_error(suite):
    """The file on disk broke after the start: a daemon that dies now is
    restarted into the broken file, fails, and status says so, with the
    line the daemon printed, even though master's log is elsewhere."""
    assert suite.postern("status").returncode == 0
    good = suite.conf.read_text()
    suite.conf.write_text(good + "no_such_key = 1\n")
    n = len(good.splitlines()) + 1
    [queued] = suite.pids_of("queued")
    os.kill(queued, signal.SIGKILL)

    def failing():
        r = suite.postern("status", check=False)
        # The kill is the first failure; the restart into the broken file
        # the next (its error line may be in before its exit is reaped).
        return r if r.returncode == 150 and "last exited with status 1" \
            in r.stdout and "last error" in r.stdout else None
    r = wait_until(failing, 20, what="status to show queued failing")
    assert re.search(r"^  queued +crash-looping: [1-9]\d* failures? in a "
                     r"row, restarted \d+ times?; last exited with status 1$",
                     r.stdout, re.M), r.stdout
    assert f"last error: {suite.conf}:{n}: unknown key \"no_such_key\"" \
        in r.stdout, r.stdout
    # status reads what it can of the broken file, and says what it skipped
    assert f"{suite.conf}:{n}: unknown key" in r.stderr
    assert not LOG_PREFIX.search(r.stdout)
    # Mended, the daemon comes back, and status is clean once it stays up.
    suite.conf.write_text(good)
    r = wait_until(lambda: (lambda r: r if r.returncode == 0 else None)(
        suite.postern("status", check=False)), 40,
        what="queued to run stably again")
    assert re.search(r"^  queued +running \(pid \d+\), restarted \d+ times?$",
                     r.stdout, re.M), r.stdout


# -- postern config ----------------------------------------------------------

def test_config_prints_effective_changed_and_default_values(suite_factory):
    s = suite_factory("queue_retry_max = 3600\nsmtpd_banner = ESMTP x#1\n")
    full = s.postern("config").stdout
    defaults = s.postern("config", "-d").stdout
    changed = s.postern("config", "-n").stdout
    keys = [line.split(" = ")[0] for line in full.splitlines()]
    assert keys == [line.split(" = ")[0] for line in defaults.splitlines()]
    assert len(keys) == len(set(keys)) > 40
    assert f"smtp_listen = 127.0.0.1:{s.port}\n" in full
    assert "queue_retry_min = 2s\n" in full
    assert "smtp_listen = 127.0.0.1:2525, [::1]:2525\n" in defaults
    assert "queue_retry_min = 5m\n" in defaults
    assert "message_size_limit = 50M\n" in defaults
    # -n: what differs from the defaults; 3600 is the default 1h.
    assert "queue_retry_max" not in changed
    assert "smtpd_banner = ESMTP x#1\n" in changed
    assert f"pid_file = {s.pidfile}\n" in changed
    assert "message_size_limit" not in changed
    assert s.postern("config", "myhostname", "local_delivery_concurrency"
                     ).stdout == "myhostname = mx.test\n" \
        "local_delivery_concurrency = 4\n"
    assert s.postern("config", "-d", "myhostname").stdout == \
        "myhostname = localhost\n"
    r = s.postern("config", "myhostname", "no_such_key", check=False)
    assert r.returncode == 1 and r.stdout == "myhostname = mx.test\n"
    assert r.stderr == "postern: unknown key \"no_such_key\"\n"
    # The output is itself a configuration, and the same one.
    out = s.root / "dump.conf"
    out.write_text(full)
    assert s.postern("-c", str(out), "config").stdout == full


def test_config_edit_replaces_the_line_keeps_the_rest_and_checks_first(
        suite_factory):
    s = suite_factory()
    text = s.conf.read_text().replace(
        "mynetworks = 127.0.0.0/8\n",
        "# who may relay\nmynetworks = 127.0.0.0/8,\n    # the lab\n"
        "    192.0.2.0/24\n")
    s.conf.write_text(text)
    os.chmod(s.conf, 0o640)
    r = s.postern("config", "-e", "mynetworks=10.0.0.0/8, ::1/128",
                  "smtpd_banner = ESMTP here")
    assert r.returncode == 0 and not LOG_PREFIX.search(r.stdout)
    new = s.conf.read_text()
    assert new == text.replace(
        "mynetworks = 127.0.0.0/8,\n    # the lab\n    192.0.2.0/24\n",
        "mynetworks = 10.0.0.0/8, ::1/128\n    # the lab\n") + \
        "smtpd_banner = ESMTP here\n", new
    assert oct(os.stat(s.conf).st_mode & 0o777) == "0o640"
    assert s.postern("config", "mynetworks").stdout == \
        "mynetworks = 10.0.0.0/8, ::1/128\n"
    # What start would refuse is refused here, and the file is untouched.
    before = s.conf.read_bytes()
    for bad, why in (("mynetworks=10.0.0.0/33", "10.0.0.0/33"),
                     ("myhostname=mx.test # ours", "comment"),
                     ("smtpd_timeout=soon", "duration"),
                     ("no_such_key=1", "unknown key"),
                     ("myhostname=a\nno_such_key = 1", "one line"),
                     ("myhostname", "key=value")):
        r = s.postern("config", "-e", bad, check=False)
        assert r.returncode != 0 and why in r.stderr, (bad, r)
        assert s.conf.read_bytes() == before, bad
    assert not [p for p in s.root.iterdir() if ".tmp." in p.name]
    # A file that start would refuse can be mended with -e itself.
    s.conf.write_text(s.conf.read_text().replace(
        "myhostname = mx.test", "myhostname = mx.test # ours"))
    assert s.postern("check", check=False).returncode != 0
    r = s.postern("config", "-e", "myhostname=mx2.test")
    assert "comment" in r.stderr    # what was wrong, said once
    assert s.postern("check").returncode == 0
    assert s.postern("config", "myhostname").stdout == \
        "myhostname = mx2.test\n"
    r = subprocess.run([str(s.build / "bin" / "postern"), "config", "-e",
                        "myhostname=a"], capture_output=True, text=True,
                       env={"PATH": os.environ["PATH"]}, timeout=30)
    if not pathlib.Path("/etc/postern/postern.conf").exists() and \
            not pathlib.Path("/usr/local/etc/postern/postern.conf").exists():
        assert r.returncode != 0 and "no configuration file" in r.stderr


def test_version_is_the_project_version(build_dir):
    cmake = (pathlib.Path(__file__).parents[2] / "CMakeLists.txt").read_text()
    version = re.search(r"project\(postern VERSION ([0-9.]+)", cmake)[1]
    for argv in (["--version"], ["-c", "/nonexistent", "--version"]):
        r = subprocess.run([str(build_dir / "bin" / "postern"), *argv],
                           capture_output=True, text=True, timeout=30)
        assert (r.returncode, r.stdout) == (0, f"postern {version}\n"), r


def test_warnings_from_the_library_read_as_the_commands_own(suite_factory):
    """postern alias's warnings come from libcommon's logger: on the
    terminal they are "postern: warning: ...", not the daemon format."""
    s = suite_factory()
    s.aliases.write_text(s.aliases.read_text() + "prog: |/bin/true\n")
    r = s.postern("alias")
    n = len(s.aliases.read_text().splitlines())
    assert f"postern: warning: {s.aliases}:{n}: alias prog: delivery to a " \
        "command" in r.stderr, r.stderr
    assert not LOG_PREFIX.search(r.stdout + r.stderr), r.stderr
