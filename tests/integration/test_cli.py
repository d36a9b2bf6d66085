"""The postern admin command."""


def test_check_accepts_a_good_config(suite_factory):
    s = suite_factory()
    r = s.postern("check")
    assert r.returncode == 0


def test_check_rejects_a_broken_config_with_its_line_number(suite_factory):
    s = suite_factory()
    text = s.conf.read_text().splitlines()
    text.insert(3, "this line has no equals sign")
    s.conf.write_text("\n".join(text) + "\n")
    r = s.postern("check", check=False)
    assert r.returncode != 0
    assert f"{s.conf}:4:" in r.stderr + r.stdout


def test_check_rejects_unknown_key_and_master_refuses_to_start(suite_factory):
    s = suite_factory()
    s.conf.write_text(s.conf.read_text() + "no_such_key = 1\n")
    r = s.postern("check", check=False)
    assert r.returncode != 0
    assert "unknown key" in r.stderr + r.stdout
    nlines = len(s.conf.read_text().splitlines())
    assert f":{nlines}:" in r.stderr + r.stdout
    import subprocess
    m = subprocess.run([str(s.build / "libexec" / "master"), "-c", str(s.conf),
                        "-f"], capture_output=True, text=True, timeout=30)
    assert m.returncode != 0
    assert "unknown key" in m.stderr


def test_user_add_list_del(suite_factory):
    s = suite_factory()
    s.postern("user", "add", "Carol@Example.test")
    s.postern("user", "add", "dave@example.test")
    out = s.postern("user", "list").stdout.split()
    assert out == ["carol@example.test", "dave@example.test"]
    assert (s.maildir("carol@example.test") / "new").is_dir()
    s.postern("user", "del", "dave@example.test")
    assert s.postern("user", "list").stdout.split() == ["carol@example.test"]
    r = s.postern("user", "add", "../evil@example.test", check=False)
    assert r.returncode != 0


def test_queue_list_and_delete(suite):
    import smtplib
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30) as c:
        c.sendmail("alice@example.test", ["far@away.test"],
                   b"Subject: stuck\r\n\r\nx\r\n")
    from conftest import wait_until
    wait_until(lambda: "far@away.test" in suite.postern("queue", "list").stdout,
               20, what="the message in the queue listing")
    qid = suite.committed()[0]
    suite.postern("queue", "delete", qid)
    suite.wait_queue_empty(10)
    assert "empty" in suite.postern("queue", "list").stdout.lower()
    r = suite.postern("queue", "delete", "0123456789ABCDEF", check=False)
    assert r.returncode != 0


def test_status_and_stop(suite):
    r = suite.postern("status")
    assert "running" in r.stdout
    suite.postern("stop")
    from conftest import wait_until
    wait_until(lambda: not suite.all_pids(), 30, what="every process to exit")
    r = suite.postern("status", check=False)
    assert r.returncode != 0


def test_detached_start_returns_once_the_suite_is_up(suite_factory):
    """`postern start && postern demo` (README command 1): the command
    that detaches master returns only when the pid file is written and
    every daemon started, so the next command finds the suite running."""
    from conftest import wait_until
    s = suite_factory()
    try:
        s.postern("start")
        r = s.postern("status", check=False)
        assert r.returncode == 0 and "running" in r.stdout, r
        assert int(s.pidfile.read_text().split()[0]) in s.pids_of("master")
    finally:
        s.postern("stop", check=False)
        wait_until(lambda: not s.all_pids(), 30, what="every process to exit")


def test_detached_start_of_a_broken_suite_fails(suite_factory):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        s = suite_factory(f"smtp_listen = 127.0.0.1:{port}\n")
        r = s.postern("start", check=False)
        assert r.returncode != 0
        assert "smtp_listen" in r.stderr
        assert not s.all_pids()
