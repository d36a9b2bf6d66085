"""The password prompts of postern user passwd and auth test, typed at a
real terminal (a pty that is the command's controlling terminal): twice
for a new password, once to check one, and a clear error where there is
no terminal to ask on."""
import os
import pty
import select
import signal
import subprocess
import termios
import time

import pytest

from conftest import wait_until

ALICE = "alice@example.test"


@pytest.fixture
def psuite(suite_factory):
    s = suite_factory("auth_failure_delay = 0s\n")
    s.postern("user", "add", ALICE)
    s.start()
    return s


class Terminal:
    """postern run with a pty as its controlling terminal."""

    def __init__(self, suite, *args):
        argv = [str(suite.build / "bin" / "postern"), "-c", str(suite.conf),
                *args]
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execv(argv[0], argv)
            finally:
                os._exit(127)
        self.seen = b""

    def expect(self, text, timeout=20):
        """Reads until text has appeared (or the deadline passes)."""
        deadline = time.monotonic() + timeout
        want = text.encode()
        while want not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} on the terminal: {self.seen!r}"
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:       # EIO: the command is gone
                    chunk = b""
                assert chunk, f"no {text!r} on the terminal: {self.seen!r}"
                self.seen += chunk

    def echo_off(self):
        # TCGETS on the master reads the terminal's (the slave's) modes.
        return not termios.tcgetattr(self.fd)[3] & termios.ECHO

    def type(self, line):
        """Types a line once the prompt has turned echo off: the prompt
        flushes what was typed before (TCSAFLUSH), as a person types
        after the prompt, not while it is being written."""
        wait_until(self.echo_off, 20, what="the prompt to turn echo off")
        os.write(self.fd, line.encode() + b"\n")

    def status(self, timeout=30):
        """The exit status, once the terminal's output is read to its end."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                os.close(self.fd)
                raise AssertionError(f"the command did not end: "
                                     f"{self.seen!r}")
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:       # EIO: the command is gone
                break
            if not chunk:
                break
            self.seen += chunk
        _, st = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(st)


def auth_ok(suite, pw):
    r = suite.postern("auth", "test", ALICE, "--password-stdin",
                      input=pw + "\n", check=False)
    return r.returncode == 0


def test_new_password_typed_twice_at_the_terminal_is_set(psuite):
    t = Terminal(psuite, "user", "passwd", ALICE)
    t.expect("New password: ")
    t.type("typed at the tty")
    t.expect("Retype new password: ")
    t.type("typed at the tty")
    assert t.status() == 0, t.seen
    # Echo was off: the password never appeared on the terminal.
    assert b"typed at the tty" not in t.seen
    wait_until(lambda: auth_ok(psuite, "typed at the tty"), 10,
               what="the new password to work")


def test_new_passwords_that_differ_change_nothing(psuite):
    psuite.postern("user", "passwd", ALICE, "--password-stdin",
                   input="the old one\n")
    t = Terminal(psuite, "user", "passwd", ALICE)
    t.expect("New password: ")
    t.type("first try")
    t.expect("Retype new password: ")
    t.type("second try")
    assert t.status() != 0
    assert b"the passwords do not match" in t.seen
    assert auth_ok(psuite, "the old one")
    assert not auth_ok(psuite, "first try")


def test_an_empty_password_at_the_terminal_is_refused(psuite):
    t = Terminal(psuite, "user", "passwd", ALICE)
    t.expect("New password: ")
    t.type("")
    assert t.status() != 0
    assert b"refusing an empty password" in t.seen
    # Refused at the first question: the second was never asked.
    assert b"Retype" not in t.seen


def test_auth_test_asks_once_at_the_terminal(psuite):
    psuite.postern("user", "passwd", ALICE, "--password-stdin",
                   input="right one\n")
    t = Terminal(psuite, "auth", "test", ALICE)
    t.expect("Password: ")
    t.type("right one")
    assert t.status() == 0, t.seen
    assert b"Retype" not in t.seen
    t = Terminal(psuite, "auth", "test", ALICE)
    t.expect("Password: ")
    t.type("wrong one")
    assert t.status() == 1, t.seen


@pytest.mark.parametrize("args", [("user", "passwd", ALICE),
                                  ("auth", "test", ALICE)])
def test_without_a_terminal_the_prompt_says_to_use_stdin(psuite, args):
    # A new session has no controlling terminal: /dev/tty cannot open.
    r = subprocess.run([str(psuite.build / "bin" / "postern"), "-c",
                        str(psuite.conf), *args], capture_output=True,
                       text=True, stdin=subprocess.DEVNULL,
                       start_new_session=True, timeout=60)
    assert r.returncode != 0
    assert "cannot open the terminal" in r.stderr
    assert "--password-stdin" in r.stderr
