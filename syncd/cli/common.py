"""What the command modules share: the argument parser class and small helpers."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from syncd.errors import UsageError
from syncd.timeutil import from_iso


class Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; keep its message short and ours."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


def parse_local(value: str | None) -> datetime | None:
    """Read back a timestamp that a ``*_data`` function rendered for JSON."""
    return from_iso(value)
