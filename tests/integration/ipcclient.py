"""A minimal client for Postern's internal framing (libcommon/ipc.h), so
tests can speak to queued's sockets the way a hostile local user could."""
import array
import socket
import struct

Q_BEGIN, Q_FILE, Q_COMMIT, Q_ABORT, Q_OK, Q_ERR = 1, 2, 3, 4, 5, 6
# libcommon/proto.h: enum proto_type, enum a_auth_verdict
R_CHECK, R_CHECK_REPLY, R_EXPAND, R_EXPAND_REPLY = 40, 41, 42, 43
A_AUTH, A_AUTH_REPLY = 50, 51
A_AUTH_OK, A_AUTH_FAIL, A_AUTH_TEMPFAIL, A_AUTH_LIMIT = 0, 1, 2, 3


def frame(ftype, body=b"", rid=0, with_fd=False):
    return struct.pack("=IIII", ftype, len(body), rid, 1 if with_fd else 0) + body


def string(x):
    x = x.encode() if isinstance(x, str) else x
    return struct.pack("=I", len(x)) + x


def commit_body(size, sender, rcpts, client="[127.0.0.1]", helo="test",
                body=0, smtputf8=0, ret=0, envid="", notify=None, orcpt=None,
                auth=""):
    """libcommon/proto.h's Q_COMMIT: notify and orcpt are per recipient;
    auth is the SMTP AUTH login ("" none)."""
    b = (struct.pack("=Q", size) + string(sender) + string(client) +
         string(helo) + struct.pack("=III", body, smtputf8, ret) +
         string(envid) + struct.pack("=I", len(rcpts)))
    for i, r in enumerate(rcpts):
        b += (string(r) + struct.pack("=I", notify[i] if notify else 0) +
              string(orcpt[i] if orcpt else ""))
    return b + string(auth)


def auth_body(user, password, proto="admin", client=""):
    """An A_AUTH payload; no client address: authd paces nothing."""
    return string(proto) + string(client) + string(user) + string(password)


def auth_reply(body):
    """(verdict, canonical user) from an A_AUTH_REPLY payload."""
    verdict, n = struct.unpack("=II", body[:8])
    assert len(body) == 8 + n
    return verdict, body[8:].decode()


def send(sock, ftype, body=b"", rid=0, fd=None):
    data = frame(ftype, body, rid, fd is not None)
    if fd is None:
        sock.sendall(data)
    else:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                               array.array("i", [fd]))])


def recv(sock, timeout=10):
    """One frame: (type, id, body, [fds]), or None when the peer closed."""
    sock.settimeout(timeout)
    fds = array.array("i")
    head, anc, _, _ = sock.recvmsg(16, socket.CMSG_LEN(4 * 4))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % 4])
    if len(head) < 16:
        return None
    ftype, length, rid, _ = struct.unpack("=IIII", head)
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            return None
        body += chunk
    return ftype, rid, body, list(fds)


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(path))
    return s
