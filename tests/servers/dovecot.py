"""A throw-away Dovecot IMAP server on 127.0.0.1 for the slow tests (Debian `dovecot-imapd`).

One server per test session, its config, mail, sockets and logs in a temporary folder;
each test takes its own user (`server.new_user()`), so tests never see each other's mail.
Ports: `port` speaks plain IMAP and STARTTLS, `tls_port` implicit TLS, both with a
certificate signed by a throw-away CA (`ca_file`) for `localhost` and 127.0.0.1.

Missing Dovecot skips locally and fails in CI (env `CI` set): a real-server test never
silently skips where it is supposed to run.
"""

from __future__ import annotations

import getpass
import grp
import imaplib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOVECOT_CANDIDATES = ("dovecot", "/usr/sbin/dovecot")
START_TIMEOUT_SECONDS = 15
MISSING = "dovecot is not installed (apt-get install dovecot-imapd, or run .ci/install-servers.sh)"
USERS = 1000
PASSWORD = "Sesame-0pen!"
UNICODE_USER = ("juergen", "Pässwort-ß✓")  # a password only SASL PLAIN can carry (imaplib LOGIN is ASCII)


def dovecot_binary() -> str | None:
    for candidate in DOVECOT_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for localhost/127.0.0.1: (ca, cert, key)."""
    ca_key, ca_cert = folder / "ca.key", folder / "ca.pem"
    key, request, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    extensions = folder / "server.ext"
    extensions.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    quiet = {"check": True, "capture_output": True}
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_cert]
        + ["-days", "2", "-subj", "/CN=syncd test CA"],
        **quiet,
    )
    subprocess.run(
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request, "-subj", "/CN=localhost"],
        **quiet,
    )
    subprocess.run(
        ["openssl", "x509", "-req", "-in", request, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial"]
        + ["-out", cert, "-days", "2", "-extfile", extensions],
        **quiet,
    )
    return ca_cert, cert, key


def _service_account() -> tuple[str, str]:
    """The user Dovecot's processes run as: the current one, except root, which Dovecot
    refuses for logins and mail; then its own unprivileged package user."""
    if os.geteuid() != 0:
        return getpass.getuser(), grp.getgrgid(os.getegid()).gr_name
    entry = pwd.getpwnam("dovecot")
    return entry.pw_name, grp.getgrgid(entry.pw_gid).gr_name


CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 0
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
mail_uid = {user}
mail_gid = {group}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = home={root}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}
# no chroot: a Dovecot started by an unprivileged user (a developer, a CI job) cannot chroot
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
    ssl = yes
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@dataclass
class Dovecot:
    root: Path
    port: int
    tls_port: int
    ca_file: Path
    process: subprocess.Popen[bytes]
    _users: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    host = "127.0.0.1"

    def new_user(self) -> tuple[str, str]:
        """A fresh user with an empty mailbox, from the passwd file written at start (Dovecot
        re-reads a changed passwd file at most once a second, too slow to add users per test)."""
        number = next(self._users)
        if number > USERS:
            raise RuntimeError(f"all {USERS} test users of this Dovecot are taken")
        return f"user{number}", PASSWORD

    def connect(self, username: str, password: str) -> imaplib.IMAP4:
        """A plain-text admin connection for seeding mail (the server is on loopback)."""
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(username, password)
        return client

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _wait_until_listening(server: Dovecot) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"dovecot exited with {server.process.returncode}: {server.log()[-2000:]}")
        try:
            with socket.create_connection((server.host, server.port), timeout=1) as connection:
                if connection.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen within {START_TIMEOUT_SECONDS}s: {server.log()[-2000:]}")


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """A Dovecot for as long as the block runs (the benchmarks use it without pytest)."""
    binary = dovecot_binary()
    if binary is None:
        raise RuntimeError(MISSING)
    # Not pytest's tmp_path: under root its parents are 0700, closed to Dovecot's service user.
    root = Path(tempfile.mkdtemp(prefix="syncd-dovecot-"))
    user, group = _service_account()
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    ca_file, cert, key = make_certificates(root)
    users = [(f"user{n}", PASSWORD) for n in range(1, USERS + 1)] + [UNICODE_USER]
    (root / "passwd").write_text("".join(f"{name}:{{PLAIN}}{secret}::::::\n" for name, secret in users), "utf-8")
    if os.geteuid() == 0:  # the unprivileged service user writes mail and state here
        for path in (root, root / "mail", root / "state", root / "passwd", key):
            shutil.chown(path, user, group)
    port, tls_port = free_port(), free_port()
    config = root / "dovecot.conf"
    config.write_text(
        CONFIG.format(root=root, user=user, group=group, cert=cert, key=key, port=port, tls_port=tls_port)
    )
    with open(root / "console.log", "wb") as console:
        process = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=console, stderr=subprocess.STDOUT)
    server = Dovecot(root=root, port=port, tls_port=tls_port, ca_file=ca_file, process=process)
    try:
        _wait_until_listening(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if not os.environ.get("SYNCD_KEEP_DOVECOT"):
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    if dovecot_binary() is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    with running_dovecot() as server:
        yield server
