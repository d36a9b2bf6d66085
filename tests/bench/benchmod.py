"""Loads one of the benchmark scripts of tests/bench (run, relay, pop3:
they have no .py suffix) as a module, so that another script reuses its
building blocks (the Postern, Postfix and Dovecot instances, /proc
accounting, NSD, loopback addresses) instead of copying them; and holds
the small helpers several scripts share (clients started together,
greeting polls, load average, RLIMIT_NOFILE)."""
import importlib.machinery
import importlib.util
import pathlib

HERE = pathlib.Path(__file__).resolve().parent


def load(name):
    """tests/bench/NAME as the module bench_NAME."""
    loader = importlib.machinery.SourceFileLoader(f"bench_{name}",
                                                  str(HERE / name))
    spec = importlib.util.spec_from_loader(f"bench_{name}", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def run_clients(cmds, deadline):
    """Starts one client process per command; each prints "ready", waits
    for "go" on stdin, works, and prints a JSON line last. Sends every
    client "go" at once and waits for all (by PID, so no other child of
    the caller is reaped). Returns (wall seconds from "go" to the last
    exit, [parsed JSON or None, ...], client CPU seconds from wait4's
    rusage, [stderr tails of clients without JSON]). Past the deadline
    (time.monotonic()) the clients left are killed and RuntimeError
    raised."""
    import json
    import os
    import subprocess
    import time
    procs = [subprocess.Popen(c, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for c in cmds]
    try:
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("a client failed to start: " +
                                   p.stderr.read()[-2000:])
        t0 = time.monotonic()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        pending = {p.pid: p for p in procs}
        cpu = 0.0
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(pending)} client(s) still running "
                                   "at the deadline")
            done = 0
            for pid in list(pending):
                got, status, ru = os.wait4(pid, os.WNOHANG)
                if got == pid:
                    pending.pop(pid).returncode = os.waitstatus_to_exitcode(
                        status)
                    cpu += ru.ru_utime + ru.ru_stime
                    done += 1
            if not done:
                time.sleep(0.005)
        wall = time.monotonic() - t0
    except BaseException:
        for p in procs:
            if p.returncode is None:
                p.kill()
                p.wait()
        raise
    outs, errs = [], []
    for p in procs:
        out, err = p.stdout.read(), p.stderr.read()
        try:
            outs.append(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            outs.append(None)
            errs.append(f"exit {p.returncode}: {out[-300:]!r} {err[-1500:]}")
    return wall, outs, cpu, errs


def greets(port, prefix, host="127.0.0.1"):
    """True once a server on host:port sends a greeting starting with
    prefix (b"+OK", b"* OK", b"220"); False while it refuses or says
    something else."""
    import socket
    try:
        with socket.create_connection((host, port), 1) as s:
            s.settimeout(2)
            return s.recv(512).startswith(prefix)
    except OSError:
        return False


def loadavg():
    """The 1, 5 and 15 minute load averages, as /proc/loadavg says them."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def raise_nofile(want):
    """Raises this process's RLIMIT_NOFILE (soft and, as root, hard) to at
    least want; the servers started afterwards inherit it. Returns the
    soft limit in force."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (want, max(hard, want)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
