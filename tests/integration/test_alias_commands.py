"""Alias commands ("|command" with allow_alias_commands = yes): the message
reaches the command on its standard input, run by execve as default_privs
(never root), with Postfix local(8)'s environment; its exit status decides
delivered, deferred or bounced; command_time_limit kills it and its
children; its output is cut at a limit. Each command is a script the test
writes into its own directory."""
import os
import pathlib
import pwd
import re
import signal
import smtplib
import threading

import pytest

from conftest import wait_until

ROOT = os.geteuid() == 0


def script(s, name, body):
    """An executable /bin/sh script in the suite's directory (readable and
    runnable by default_privs), and a work directory it may write."""
    work = s.root / "work"
    work.mkdir(exist_ok=True)
    os.chmod(work, 0o777)
    p = s.root / name
    p.write_text("#!/bin/sh\nW=" + str(work) + "\n" + body)
    os.chmod(p, 0o755)
    return p, work


def command_suite(suite_factory, aliases, extra=""):
    s = suite_factory("allow_alias_commands = yes\n" + extra)
    for u in ("alice@example.test", "admin@example.test"):
        s.postern("user", "add", u)
    s.aliases.write_text(s.aliases.read_text() + aliases)
    s.postern("alias")
    s.start()
    return s


def send(s, rcpt, body=b"Subject: to a command\r\n\r\nhello command\r\n",
         sender="alice@example.test"):
    with smtplib.SMTP("127.0.0.1", s.port, timeout=30) as c:
        c.sendmail(sender, [rcpt], body)


def bounce_of(s, addr="alice@example.test"):
    [dsn] = s.wait_messages(addr, 1)
    return dsn.read_bytes().decode(errors="replace")


def test_command_gets_the_message_on_stdin_as_default_privs(suite_factory):
    s = suite_factory("allow_alias_commands = yes\n")
    save, work = script(s, "save.sh",
                        'cat > "$W/msg.tmp"; id -u > "$W/uid"; id -g > '
                        '"$W/gid"; env > "$W/env"; echo "$@" > "$W/args"\n'
                        'mv "$W/msg.tmp" "$W/msg"\n')
    s.postern("user", "add", "alice@example.test")
    s.aliases.write_text(s.aliases.read_text() +
                         f'pipe: |{save} -a $RECIPIENT \'two words\' '
                         f'"$SENDER"\n')
    s.postern("alias")
    s.start()
    send(s, "Pipe@example.test",
         b"Subject: to a command\r\n\r\nhello command\r\n")
    wait_until(lambda: (work / "msg").exists(), 30, what="the command's copy")
    msg = (work / "msg").read_bytes()
    lines = msg.split(b"\n")
    # local(8)'s envelope lines first, then the message with LF endings.
    assert re.match(rb"From alice@example\.test  \w{3} \w{3} [ \d]\d "
                    rb"\d\d:\d\d:\d\d \d{4}$", lines[0]), lines[0]
    assert lines[1] == b"Return-Path: <alice@example.test>"
    assert lines[2] == b"Delivered-To: pipe@example.test"
    assert b"Subject: to a command\n\nhello command\n" in msg
    assert b"\r" not in msg
    assert (work / "args").read_text() == \
        "-a pipe@example.test two words alice@example.test\n"

    env = dict(l.split("=", 1) for l in
               (work / "env").read_text().splitlines() if "=" in l)
    env.pop("PWD", None)     # sh's own
    env.pop("OLDPWD", None)
    assert env["SENDER"] == "alice@example.test"
    assert env["RECIPIENT"] == "pipe@example.test"
    assert env["LOCAL"] == "pipe" and env["USER"] == "pipe"
    assert env["DOMAIN"] == "example.test"
    assert env["EXTENSION"] == ""
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["LANG"] == "C"
    # Nothing but the listed variables: nothing of the suite's own.
    assert set(env) - {"TZ", "SHLVL", "_"} == {
        "SENDER", "RECIPIENT", "ORIGINAL_RECIPIENT", "LOCAL", "USER",
        "LOGNAME", "EXTENSION", "DOMAIN", "HOME", "SHELL", "PATH", "LANG"}

    uid = int((work / "uid").read_text())
    if ROOT:
        # default_privs (nobody), never root, never mail_user.
        assert uid == pwd.getpwnam("nobody").pw_uid
        assert uid != 0
        assert uid != pwd.getpwnam(s.conf_value("mail_user",
                                                "postern-mail")).pw_uid
    s.wait_queue_empty()
    # Where mail to it goes, as postern address and sendmail -bv say.
    out = s.postern("address", "pipe@example.test").stdout
    assert f"command {save} -a $RECIPIENT" in out, out
    out = s.sendmail("-bv", "pipe@example.test").stdout.decode()
    assert f'deliverable: mailer prog, user "|{save}' in out, out
    assert re.search(r"to=<pipe@example\.test>, relay=local, delay=[\d.]+, "
                     r"delays=[\d./]+, dsn=2\.0\.0, status=sent "
                     r"\(delivered to command: "
                     + re.escape(str(save)), s.log_text()), s.log_text()


def test_exit_75_defers_and_the_retry_delivers(suite_factory):
    s = suite_factory("allow_alias_commands = yes\n")
    flaky, work = script(s, "flaky.sh",
                         'if [ -e "$W/tried" ]; then cat > "$W/msg"; '
                         'exit 0; fi\n'
                         ': > "$W/tried"; echo "try again later" >&2; '
                         'exit 75\n')
    s.postern("user", "add", "alice@example.test")
    s.aliases.write_text(s.aliases.read_text() + f"flaky: |{flaky}\n")
    s.postern("alias")
    s.start()
    send(s, "flaky@example.test")
    wait_until(lambda: (work / "msg").exists(), 30, what="the retry")
    s.wait_queue_empty()
    log = s.log_text()
    assert re.search(r"to=<flaky@example\.test>.*dsn=4\.3\.0, "
                     r"status=deferred \("
                     r"command failed temporarily \(exit status 75\): try "
                     r"again later", log), log
    assert re.search(r"to=<flaky@example\.test>.*status=sent", log), log
    assert b"hello command" in (work / "msg").read_bytes()
    assert s.messages("alice@example.test") == []    # no bounce


def test_exit_1_bounces_with_the_commands_output(suite_factory):
    s = suite_factory("allow_alias_commands = yes\n")
    fail, _ = script(s, "fail.sh",
                     'cat > /dev/null; echo "mylist: no such list" >&2; '
                     'exit 1\n')
    s.postern("user", "add", "alice@example.test")
    s.aliases.write_text(s.aliases.read_text() + f"mylist: |{fail}\n")
    s.postern("alias")
    s.start()
    send(s, "mylist@example.test")
    dsn = bounce_of(s)
    assert "Status: 5.3.0" in dsn
    assert "command failed (exit status 1): mylist: no such list" in dsn
    s.wait_queue_empty()


def _gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            # A zombie nobody reaps (no init in a container) is dead too.
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        # Gone before the open, or between the open and the read.
        return True


def test_a_command_past_the_time_limit_is_killed_with_its_children(
        suite_factory):
    s = suite_factory("allow_alias_commands = yes\n"
                      "command_time_limit = 2s\nqueue_retry_min = 1h\n"
                      "queue_retry_max = 1h\n")
    slow, work = script(s, "slow.sh",
                        'sleep 300 & echo $! > "$W/child"; echo $$ > '
                        '"$W/self.tmp"; mv "$W/self.tmp" "$W/self"; '
                        'echo "still working"; sleep 300\n')
    s.postern("user", "add", "alice@example.test")
    s.aliases.write_text(s.aliases.read_text() + f"slow: |{slow}\n")
    s.postern("alias")
    s.start()
    send(s, "slow@example.test")
    wait_until(lambda: (work / "self").exists(), 30, what="the command")
    pids = [int((work / "self").read_text()),
            int((work / "child").read_text())]
    wait_until(lambda: "command_time_limit" in s.log_text(), 30,
               what="the time limit")
    wait_until(lambda: all(_gone(p) for p in pids), 10,
               what="the command and its child to be killed")
    assert re.search(r"to=<slow@example\.test>.*dsn=4\.3\.0, "
                     r"status=deferred \("
                     r"command exceeded command_time_limit \(2s\) and was "
                     r"killed: still working", s.log_text()), s.log_text()
    # Deferred, not lost: still queued, and nobody bounced.
    assert s.committed()
    assert s.messages("alice@example.test") == []


def test_a_flood_of_output_is_cut_at_the_limit(suite_factory):
    s = suite_factory("allow_alias_commands = yes\n")
    flood, _ = script(s, "flood.sh",
                      'cat > /dev/null; yes FLOOD | head -c 5000000; '
                      'echo ENDMARK; exit 1\n')
    s.postern("user", "add", "alice@example.test")
    s.aliases.write_text(s.aliases.read_text() + f"flood: |{flood}\n")
    s.postern("alias")
    s.start()
    send(s, "flood@example.test")
    dsn = bounce_of(s)
    assert "command failed (exit status 1): FLOOD FLOOD" in dsn
    assert "ENDMARK" not in dsn
    # Five megabytes of output make a bounce of a few kilobytes.
    assert len(dsn) < 16384
    s.wait_queue_empty()


def test_shell_syntax_is_refused_never_run_through_a_shell(suite_factory):
    s = suite_factory("allow_alias_commands = yes\nqueue_retry_min = 1h\n"
                      "queue_retry_max = 1h\n")
    work = s.root / "work"
    work.mkdir()
    os.chmod(work, 0o777)
    s.postern("user", "add", "alice@example.test")
    s.aliases.write_text(s.aliases.read_text() +
                         f'shelly: "|/bin/echo owned > {work}/owned"\n'
                         f'nowhere: |/nonexistent/program\n')
    s.postern("alias")
    s.start()
    send(s, "shelly@example.test")
    send(s, "nowhere@example.test")
    # The delivery lines themselves: the runner's warning comes first.
    wait_until(lambda: "to=<nowhere@example.test>" in s.log_text() and
               "to=<shelly@example.test>" in s.log_text(), 30,
               what="both deferrals")
    log = s.log_text()
    assert re.search(r"to=<shelly@example\.test>.*dsn=4\.3\.5, "
                     r"status=deferred \("
                     r"alias command refused: shell syntax is not supported "
                     r"\(no shell runs the command\): \">\"", log), log
    assert re.search(r"to=<nowhere@example\.test>.*dsn=4\.3\.5, "
                     r"status=deferred \("
                     r"cannot run /nonexistent/program: No such file", log), \
        log
    assert not (work / "owned").exists()
    # Both kept for the administrator to fix; nothing bounced.
    assert len(s.committed()) == 2
    assert s.messages("alice@example.test") == []


def test_postern_alias_refuses_commands_when_they_are_off(suite):
    suite.aliases.write_text(suite.aliases.read_text() +
                             "prog: |/usr/bin/procmail\nboth: |/bin/cat, bob\n")
    r = suite.postern("alias")
    assert re.search(r"aliases:\d+: alias prog: delivery to a command "
                     r"\(\|/usr/bin/procmail\) is refused "
                     r"\(allow_alias_commands = no\)", r.stderr), r.stderr
    # Nothing of it reaches delivery: "both" is bob alone.
    send(suite, "both@example.test")
    suite.wait_messages("bob@example.test", 1)
    suite.wait_queue_empty()
    assert "to command" not in suite.log_text()


@pytest.mark.skipif(not ROOT, reason="default_privs is only used as root")
@pytest.mark.parametrize("user", ["root", "postern-mail"])
def test_default_privs_root_or_mail_user_is_refused_and_mail_waits(
        suite_factory, user):
    s = suite_factory("allow_alias_commands = yes\n"
                      f"default_privs = {user}\nqueue_retry_min = 1h\n"
                      "queue_retry_max = 1h\n")
    ran, work = script(s, "ran.sh", 'cat > "$W/ran"\n')
    s.postern("user", "add", "alice@example.test")
    s.aliases.write_text(s.aliases.read_text() + f"prog: |{ran}\n")
    s.postern("alias")
    s.start()
    why = "is root" if user == "root" else "is mail_user"
    assert re.search(rf"default_privs {user}\S*:? {why}.*alias commands "
                     r"will be deferred", s.log_text()), s.log_text()
    send(s, "prog@example.test")
    wait_until(lambda: "status=deferred" in s.log_text(), 30,
               what="the deferral")
    assert re.search(r"to=<prog@example\.test>.*dsn=4\.3\.5, "
                     r"status=deferred \("
                     r"alias commands cannot run until the suite restarts",
                     s.log_text()), s.log_text()
    assert not (work / "ran").exists()
    assert len(s.committed()) == 1


def test_a_large_message_reaches_a_command_that_talks_back_intact(
        suite_factory):
    """The command echoes what it reads while it is still being fed: its
    output is read in between writes, and must not disturb them."""
    s = suite_factory("allow_alias_commands = yes\n")
    echo, work = script(s, "echo.sh", 'tee "$W/msg.tmp"; mv "$W/msg.tmp" '
                        '"$W/msg"\n')
    s.postern("user", "add", "alice@example.test")
    s.aliases.write_text(s.aliases.read_text() + f"echo: |{echo}\n")
    s.postern("alias")
    s.start()
    body = b"".join(b"line %06d of a long message, to be piped whole\r\n" % i
                    for i in range(40000))
    send(s, "echo@example.test", b"Subject: big\r\n\r\n" + body)
    wait_until(lambda: (work / "msg").exists(), 60, what="the command")
    got = (work / "msg").read_bytes()
    assert got.endswith(b"Subject: big\n\n" + body.replace(b"\r\n", b"\n"))
    s.wait_queue_empty()


def test_a_command_dies_with_its_deliverd(suite_factory):
    """A deliverd killed in the middle of a command (kill -9) takes the
    command and its children with it: nothing runs on unsupervised, and
    the delivery is retried by the deliverd master starts instead."""
    s = suite_factory("allow_alias_commands = yes\n")
    slow, work = script(s, "slow.sh",
                        # The retry delivers and leaves no child behind.
                        'if [ -e "$W/self" ]; then cat > "$W/msg"; exit 0; fi\n'
                        'sleep 300 & echo $! > "$W/child"; '
                        'echo $$ > "$W/self.tmp"; mv "$W/self.tmp" "$W/self"; '
                        'sleep 300\n')
    s.postern("user", "add", "alice@example.test")
    s.aliases.write_text(s.aliases.read_text() + f"slow: |{slow}\n")
    s.postern("alias")
    s.start()
    send(s, "slow@example.test")
    wait_until(lambda: (work / "self").exists(), 30, what="the command")
    pids = [int((work / "self").read_text()),
            int((work / "child").read_text())]
    # The command's runner, then the deliverd it belongs to.
    with open(f"/proc/{pids[0]}/stat") as f:
        runner = int(f.read().rsplit(")", 1)[1].split()[1])
    assert pathlib.Path(f"/proc/{runner}/comm").read_text().strip() == \
        "deliverd-pipe"
    with open(f"/proc/{runner}/stat") as f:
        deliverd = int(f.read().rsplit(")", 1)[1].split()[1])
    assert deliverd in s.pids_of("deliverd")
    os.kill(deliverd, signal.SIGKILL)
    wait_until(lambda: all(_gone(p) for p in pids) and _gone(runner), 20,
               what="the command, its child and the runner to go")
    # Retried on another worker (the second run delivers).
    wait_until(lambda: (work / "msg").exists(), 30, what="the retry")
    s.wait_queue_empty()


@pytest.mark.skipif(not os.access("/usr/bin/procmail", os.X_OK),
                    reason="procmail is not installed")
def test_procmail_delivers_into_a_maildir_by_the_extension(suite_factory):
    """Postfix's way to hand mail to procmail, `|/usr/bin/procmail -a
    "$EXTENSION"` (here with -m and a recipe file, as a filter that needs
    no home directory): procmail runs set-id bits ignored, as
    default_privs, and files the message by its $1."""
    s = suite_factory("allow_alias_commands = yes\n")
    work = s.root / "work"
    work.mkdir()
    os.chmod(work, 0o777)
    rc = s.root / "procmailrc"
    rc.write_text(f"MAILDIR={work}\nLOGFILE={work}/log\nTAG=$1\n"
                  ":0\n* TAG ?? .\n$TAG/\n\n:0\ninbox/\n")
    os.chmod(rc, 0o644)
    s.postern("user", "add", "alice@example.test")
    # Bare name: looked up in PATH=/usr/bin:/bin.
    s.aliases.write_text(s.aliases.read_text() +
                         f'pm: |procmail -m {rc} "$EXTENSION"\n'
                         f'pmtag: |procmail -m {rc} tagged\n')
    s.postern("alias")
    s.start()
    send(s, "pm@example.test")
    send(s, "pmtag@example.test", b"Subject: tagged\r\n\r\nfor the tag\r\n")
    # Plus addressing: the alias pm, with "folder" as $EXTENSION.
    send(s, "pm+folder@example.test",
         b"Subject: plus\r\n\r\nby extension\r\n")
    s.wait_queue_empty()

    def one(d):
        new = work / d / "new"
        got = list(new.iterdir()) if new.is_dir() else []
        return got[0] if len(got) == 1 else None
    inbox = wait_until(lambda: one("inbox"), 10, what="procmail's inbox")
    tagged = wait_until(lambda: one("tagged"), 10, what="the tag's folder")
    plus = wait_until(lambda: one("folder"), 10, what="the extension's")
    assert b"by extension" in plus.read_bytes()
    assert b"Delivered-To: pm+folder@example.test" in plus.read_bytes()
    assert b"hello command" in inbox.read_bytes()
    assert b"Delivered-To: pm@example.test" in inbox.read_bytes()
    assert b"for the tag" in tagged.read_bytes()
    if ROOT:
        assert inbox.stat().st_uid == pwd.getpwnam("nobody").pw_uid


def test_a_stop_waits_for_a_delivery_in_progress_and_it_is_not_repeated(
        suite_factory):
    """queued's stop drain: a command still running when the suite is
    stopped finishes, its result is written, and nothing of the message
    is left to be delivered again after the restart."""
    slow, work = script(s := suite_factory("allow_alias_commands = yes\n"),
                        "slow.sh",
                        'echo started >> "$W/runs"\n'
                        'n=0; while [ ! -e "$W/release" ] && [ $n -lt 300 ]; '
                        'do sleep 0.05; n=$((n+1)); done\n'
                        'cat > "$W/msg.$$"\n')
    s.postern("user", "add", "alice@example.test")
    s.aliases.write_text(s.aliases.read_text() + f"slow: |{slow}\n")
    s.postern("alias")
    s.start()
    send(s, "slow@example.test")
    wait_until(lambda: (work / "runs").exists(), 30, what="the command")
    stopper = threading.Thread(target=s.stop)  # SIGTERM, then waits
    stopper.start()
    wait_until(lambda: re.search(r"postern/queued\[\d+\]: stopping on "
                                 r"signal", s.log_text()), 20,
               what="queued to be told to stop")
    (work / "release").touch()
    stopper.join(30)
    assert not stopper.is_alive()
    log = s.log_text()
    assert re.search(r"to=<slow@example\.test>.*status=sent", log), log
    assert not re.search(r"\]: (warning|error): ", log[log.find(
        "stopping on signal"):]), log
    assert s.queue_files() == []
    assert (work / "runs").read_text() == "started\n"
    assert len(list(work.glob("msg.*"))) == 1
