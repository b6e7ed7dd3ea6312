"""Exceptions that carry a message meant for the user, and the exit code that goes with it."""

from __future__ import annotations


class SyncdError(Exception):
    """A problem the user can act on; the CLI prints it without a traceback."""

    exit_code = 1


class UsageError(SyncdError):
    """Bad input from the user: a config file, a contacts file, an argument."""

    exit_code = 2


class ConfigError(UsageError):
    """Every problem found in a config file, reported together so one edit fixes all."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class StoreError(SyncdError):
    """The SQLite store cannot be opened, read or written: one line naming the file and the fix."""


class SourceError(SyncdError):
    """A source failed this time; its message is one human line for `status`."""

    state = "error"


class NeedsAuth(SourceError):
    """Credentials are missing, revoked or expired: retrying will not help until `syncd auth`."""

    state = "needs_auth"


class CursorInvalid(SourceError):
    """The provider no longer accepts the cursor; the engine drops it and syncs fully."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its class name if it has none): status and logs show one line."""
    return first_line_of(str(error)) or type(error).__name__


def first_line_of(text: str) -> str:
    """The first line of `text` that is not blank, or "": for messages whose caller has its own fallback."""
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""
