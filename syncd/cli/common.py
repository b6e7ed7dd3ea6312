"""What the command modules share: the argument parser class and small helpers."""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from datetime import datetime

from syncd.errors import UsageError
from syncd.timeutil import from_iso


# `--date -3d` is a value, not an unknown option: like argparse's negative numbers, plus one unit letter.
RELATIVE_VALUE = re.compile(r"^-\d+[a-z]?$|^-\d*\.\d+$")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Sentences wrap to the terminal; indented lines (the examples) stay exactly as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if line.startswith(" ") or not line:
                lines.append(indent + line)
            else:
                lines.extend(textwrap.wrap(line, width, initial_indent=indent, subsequent_indent=indent))
        return "\n".join(lines)


class Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; keep its message short and ours, and help as written."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._negative_number_matcher = RELATIVE_VALUE

    def error(self, message: str) -> None:  # type: ignore[override]
        """The CLI prefixes `syncd: `; a subcommand's errors name the command after it (`syncd: touch: …`)."""
        self.print_usage(sys.stderr)
        command = self.prog.partition(" ")[2]
        raise UsageError(f"{command}: {message}" if command else message)


def parse_local(value: str | None) -> datetime | None:
    """Read back a timestamp that a ``*_data`` function rendered for JSON."""
    return from_iso(value)
