"""queued's submission sockets against clients that misbehave: what any
local user can send to public/inject.sock. Each case once crashed, leaked
or let a client change acknowledged mail."""
import os
import signal

from conftest import wait_until
from ipcclient import (Q_ABORT, Q_BEGIN, Q_COMMIT, Q_FILE, Q_OK, commit_body,
                       connect, frame, recv, send)

MSG = b"Subject: protocol test\n\nbody\n"


def inject(suite):
    return connect(suite.spool / "public" / "inject.sock")


def begin(sock, rid=1):
    send(sock, Q_BEGIN, b"", rid)
    ftype, _, body, fds = recv(sock)
    assert ftype == Q_FILE and len(fds) == 1
    return fds[0], body[4:].decode()


def queued_pid(suite):
    [pid] = wait_until(lambda: suite.pids_of("queued"), 10, what="queued")
    return pid


def open_fds(pid):
    """queued's descriptors other than sockets: files, pipes, memfds are
    what a leak would leave; sockets come and go with agents and peers."""
    return len([t for t in fd_targets(pid) if not t.startswith("socket:")])


def fd_targets(pid):
    out = []
    for f in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{f}"))
        except OSError:
            pass
    return sorted(out)


def assert_queued_survived(suite, pid):
    """Same queued process, and it still takes mail."""
    suite.sendmail("-i", "-f", "probe@example.test", "bob@example.test",
                   input=b"Subject: probe\n\nstill alive\n")
    suite.wait_messages("bob@example.test", 1)
    assert queued_pid(suite) == pid
    assert f"queued (pid {pid})" not in suite.log_text()


def test_client_gone_before_a_rejection_does_not_crash_queued(suite):
    pid = queued_pid(suite)
    c = inject(suite)
    fd, _ = begin(c)
    os.close(fd)
    os.kill(pid, signal.SIGSTOP)
    try:
        send(c, Q_COMMIT, commit_body(0, "not an address", ["alice@example.test"]), 2)
        c.close()
    finally:
        os.kill(pid, signal.SIGCONT)
    assert_queued_survived(suite, pid)
    wait_until(lambda: suite.uncommitted() == [], 10,
               what="the refused queue file to be removed")


def test_clients_gone_during_a_group_commit_lose_nothing(suite):
    pid = queued_pid(suite)
    clients = [inject(suite) for _ in range(4)]
    for c in clients:
        fd, _ = begin(c)
        os.write(fd, MSG)
        os.close(fd)
    # Stopped, so all four commits land in one loop turn: one batch.
    os.kill(pid, signal.SIGSTOP)
    try:
        for c in clients:
            send(c, Q_COMMIT, commit_body(len(MSG), "x@example.test",
                                          ["alice@example.test"]), 2)
        for c in clients[1:]:
            c.close()
    finally:
        os.kill(pid, signal.SIGCONT)
    assert recv(clients[0])[0] == Q_OK
    clients[0].close()
    # Committed before the clients vanished: all four are delivered.
    suite.wait_messages("alice@example.test", 4)
    assert_queued_survived(suite, pid)


def test_misplaced_commits_with_descriptors_leak_nothing(suite):
    pid = queued_pid(suite)
    before = open_fds(pid)
    for _ in range(50):
        c = inject(suite)
        r, w = os.pipe()
        send(c, Q_COMMIT, commit_body(1, "x@example.test", ["alice@example.test"]), 1, fd=r)
        os.close(r)
        os.close(w)
        assert recv(c) is None     # queued hangs up on a protocol error
        c.close()
    wait_until(lambda: open_fds(pid) <= before, 10,
               what="queued's descriptors to come back")
    assert_queued_survived(suite, pid)


def test_frames_during_a_commit_close_the_client(suite):
    pid = queued_pid(suite)
    before = open_fds(pid)
    c = inject(suite)
    fd, _ = begin(c)
    os.write(fd, MSG)
    os.close(fd)
    c.sendall(frame(Q_COMMIT, commit_body(len(MSG), "x@example.test",
                                          ["alice@example.test"]), 2)
              + frame(Q_ABORT, b"", 3) + frame(Q_BEGIN, b"", 4))
    replies = []
    while True:
        r = recv(c)
        if r is None:
            break
        replies.append(r[0])
        for f in r[3]:
            os.close(f)
    c.close()
    assert Q_FILE not in replies        # no second file was handed out
    wait_until(lambda: suite.uncommitted() == [], 10,
               what="no uncommitted queue file")
    wait_until(lambda: open_fds(pid) <= before, 10,
               what="queued's descriptors to come back")
    assert_queued_survived(suite, pid)


def test_local_client_cannot_change_a_message_after_it_is_queued(suite):
    pid = queued_pid(suite)
    # Hold the deliveries back so the message sits in the queue.
    agents = suite.pids_of("deliverd")
    for a in agents:
        os.kill(a, signal.SIGSTOP)
    try:
        c = inject(suite)
        fd, qid = begin(c)
        os.write(fd, MSG)
        send(c, Q_COMMIT, commit_body(len(MSG), "x@example.test",
                                      ["alice@example.test"]), 2)
        assert recv(c)[0] == Q_OK
        # What the client still holds must not reach the queue file.
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b"X" * 100000)
        os.close(fd)
        c.close()
        # After the header (96 bytes): queued's own Received line (the
        # socket's uid), then MSG exactly; the header points right past
        # them at the envelope.
        data = (suite.spool / "queue" / qid).read_bytes()
        trace = (f"Received: by mx.test (Postern, from userid "
                 f"{os.getuid()})\n\tid {qid}; ").encode()
        assert data[96:96 + len(trace)] == trace
        start = data.index(b"\n", 96 + len(trace)) + 1
        assert suite.queue_entries()[qid] == start + len(MSG)
        assert data[start:start + len(MSG)] == MSG and b"XXXX" not in data
    finally:
        for a in agents:
            os.kill(a, signal.SIGCONT)
    [m] = suite.wait_messages("alice@example.test", 1)
    assert m.read_bytes().endswith(MSG)
    assert queued_pid(suite) == pid
