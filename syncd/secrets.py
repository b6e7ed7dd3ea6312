"""Passwords for IMAP and CalDAV accounts: a `password_command`, else the OS keyring.

The config turns `password_command` into argv (a list as given, a string split like a
shell would; never run through a shell). A source id is what the user types after
`syncd auth`: `imap:NAME` or `caldav:NAME`. It is also the keyring user name (service
`syncd`), so `syncd auth imap:work` and the `[[sources.imap]] name = "work"` table meet
at the same entry.

The password is returned to the caller and nowhere else: never logged, never put into an
exception message (a failing command is described by its exit status and the first line
of its stderr, never its stdout), never written to the store.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from typing import TypeVar

from syncd.errors import NeedsAuth, UsageError, first_line_of

T = TypeVar("T")

KEYRING_SERVICE = "syncd"
COMMAND_TIMEOUT_SECONDS = 60
SOURCE_KINDS = ("imap", "caldav")


def run_password_command(source_id: str, argv: Sequence[str]) -> str:
    """The first line of the command's output, as `pass`, `secret-tool` and `op read` print it."""
    label = f"{source_id}: password_command {argv[0]!r}"
    try:
        completed = subprocess.run(
            list(argv), capture_output=True, stdin=subprocess.DEVNULL, timeout=COMMAND_TIMEOUT_SECONDS, check=False
        )
    except FileNotFoundError:
        raise NeedsAuth(f"{label} not found; fix password_command in the config") from None
    except PermissionError:
        raise NeedsAuth(f"{label} is not executable; fix password_command in the config") from None
    except subprocess.TimeoutExpired:
        why = f"did not finish within {COMMAND_TIMEOUT_SECONDS}s (a locked password manager?)"
        raise NeedsAuth(f"{label} {why}") from None
    except OSError as error:
        raise NeedsAuth(f"{label} cannot run: {error.strerror}") from None
    if completed.returncode != 0:
        reason = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {reason[0][:200]}" if reason else ""
        raise NeedsAuth(f"{label} failed with exit status {completed.returncode}{detail}")
    lines = completed.stdout.decode("utf-8", "replace").splitlines()
    password = lines[0] if lines else ""
    if not password:
        raise NeedsAuth(f"{label} printed no password on its first line")
    return password


def split_source_id(text: str) -> tuple[str, str]:
    """`imap:work` → ("imap", "work"); anything else is a usage error naming the choices."""
    kind, colon, name = text.partition(":")
    if not colon or kind not in SOURCE_KINDS or not name:
        raise UsageError(
            f"{text!r}: expected imap:NAME or caldav:NAME (the name of a [[sources.imap]] or [[sources.caldav]] table)"
        )
    return kind, name


class KeyringUnavailable(NeedsAuth):
    """No usable OS keyring: the user has to unlock it, or configure password_command (IMAP,
    CalDAV) or token_file (Google); syncd never falls back silently."""


def keyring_trouble(error: Exception) -> str:
    """What is wrong with the OS keyring, in words: a locked one and a missing one need different fixes."""
    import keyring.errors

    if isinstance(error, keyring.errors.KeyringLocked):
        return "the OS keyring is locked"
    if isinstance(error, keyring.errors.NoKeyringError):
        return "no OS keyring is available here"
    detail = first_line_of(str(error))
    return f"the OS keyring cannot be used ({type(error).__name__}{': ' + detail if detail else ''})"


def is_keyring_error(error: Exception) -> bool:
    """A failure of the keyring itself (to be said as such), not a bug in syncd."""
    import keyring.errors

    if isinstance(error, (keyring.errors.KeyringError, RuntimeError, OSError)):
        return True
    # D-Bus and Secret Service backends raise their own types
    return type(error).__module__.split(".")[0] in ("secretstorage", "jeepney", "dbus")


def _keyring_failure(source: str, error: Exception) -> KeyringUnavailable:
    why = keyring_trouble(error)
    return KeyringUnavailable(f"{source}: {why}; unlock it, or set password_command for this source in the config")


def keyring_password(source: str) -> str | None:
    import keyring

    return keyring_call(lambda: keyring.get_password(KEYRING_SERVICE, source), lambda e: _keyring_failure(source, e))


def store_password(source: str, password: str) -> None:
    import keyring

    keyring_call(lambda: keyring.set_password(KEYRING_SERVICE, source, password), lambda e: _keyring_failure(source, e))


def keyring_call(call: Callable[[], T], failure: Callable[[Exception], KeyringUnavailable]) -> T:
    """`call()`, with a failure of the keyring itself raised as `failure(error)` (one line saying what
    to do, which differs between IMAP/CalDAV and Google); a bug in syncd still raises as it is."""
    try:
        return call()
    except Exception as error:
        if is_keyring_error(error):
            raise failure(error) from None
        raise


def resolve_password(source: str, password_command: Sequence[str] | None) -> str:
    """The password for a source: its command when configured (the keyring is then never
    consulted), else the keyring entry `syncd auth SOURCE` wrote."""
    if password_command:
        return run_password_command(source, password_command)
    password = keyring_password(source)
    if not password:
        raise NeedsAuth(f"{source}: no password; run `syncd auth {source}` or set password_command in the config")
    return password
