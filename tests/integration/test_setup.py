"""postern setup: creating the suite's system users, also when several
setups run at once (parallel test runs, a package script and an admin)."""
import grp
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile

import pytest

from conftest import Suite

ROLES = ("smtpd_user", "queue_user", "resolver_user", "mail_user",
         "login_user")


def _remove_user(name):
    """Removes a test's system user and its group (userdel leaves the
    group when another user has it as primary group; groupdel then)."""
    subprocess.run(["userdel", name], capture_output=True)
    subprocess.run(["groupdel", name], capture_output=True)


def _exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture
def fresh_names():
    """System user names that exist nowhere yet, one per role; the users
    and groups are removed afterwards, whatever happened."""
    names = {}
    for role in ROLES:
        while True:
            n = "pt" + secrets.token_hex(4) + role.split("_")[0][:5]
            if not _exists(n):
                break
        names[role] = n
    yield names
    for n in names.values():
        _remove_user(n)
    for n in names.values():
        assert not _exists(n), f"test user {n} left behind"


@pytest.mark.skipif(os.geteuid() != 0, reason="creates system users")
def test_setup_run_four_times_at_once_creates_each_user_once(build_dir,
                                                             fresh_names):
    root = tempfile.mkdtemp(prefix="postern-test-")
    try:
        os.chmod(root, 0o755)
        s = Suite(build_dir, root, "\n".join(
            f"{k} = {v}" for k, v in fresh_names.items()))
        cmd = [str(s.build / "bin" / "postern"), "-c", str(s.conf), "setup"]
        # Started together: each looks the users up, finds none and runs
        # useradd; all but one useradd per user then find it taken.
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
                 for _ in range(4)]
        outs = []
        for p in procs:
            out, _ = p.communicate(timeout=120)
            outs.append((p.returncode, out))
        for rc, out in outs:
            assert rc == 0, f"setup failed ({rc}):\n{out}"
        everything = "".join(out for _, out in outs)
        for role, n in fresh_names.items():
            pw = pwd.getpwnam(n)
            assert pw.pw_uid != 0
            assert grp.getgrgid(pw.pw_gid).gr_name == n
            # Exactly one setup created it; the others found it.
            assert everything.count(f"created system user {n}\n") == 1, \
                everything
        mail = pwd.getpwnam(fresh_names["mail_user"])
        st = os.stat(s.store)
        assert (st.st_uid, st.st_gid) == (mail.pw_uid, mail.pw_gid)
        assert (s.maps / "aliases.db").is_file()
        # And again, one at a time: nothing left to do, still success.
        r = s.postern("setup")
        assert "created system user" not in r.stdout
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="creates system users")
def test_setup_takes_a_group_of_the_users_name_that_already_exists(
        build_dir, fresh_names):
    root = tempfile.mkdtemp(prefix="postern-test-")
    try:
        os.chmod(root, 0o755)
        name = fresh_names["mail_user"]
        # A group left behind (a user deleted while another user had the
        # group, an admin who made it first) made useradd fail before.
        subprocess.run(["groupadd", "--system", name], check=True)
        gid = grp.getgrnam(name).gr_gid
        s = Suite(build_dir, root, "\n".join(
            f"{k} = {v}" for k, v in fresh_names.items()))
        s.postern("setup")
        assert pwd.getpwnam(name).pw_gid == gid
    finally:
        shutil.rmtree(root, ignore_errors=True)
