"""`report [--html FILE] [--json]`: the network at a glance, in the terminal, as one HTML page, or as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from syncd.app import App
from syncd.network import report_json
from syncd.network_report import network_report, write_page
from syncd.report_terminal import render_terminal
from syncd.terminal import colour_enabled, styled_stream


def register(commands: Any) -> None:
    command = commands.add_parser(
        "report",
        help="the network at a glance: days since touch against cadence, and the rhythm kept",
        description="Every contact's days since the last touch against their cadence, by tier, and the coffees "
        "per week over the last 12 weeks against [holds] per_week. Example: syncd report --html ~/network.html",
    )
    command.add_argument(
        "--html", type=Path, metavar="FILE", help="write one self-contained page (no script, no network) to FILE"
    )
    command.add_argument("--json", action="store_true", help="print the report as JSON (see README)")
    command.set_defaults(run=cmd_report)


def cmd_report(app: App, args: argparse.Namespace) -> int:
    report = None
    if args.html is not None:
        size, report = write_page(app, args.html)
        if not args.json:
            print(f"wrote {args.html} ({size / 1024:.0f} KB)")
    if args.json:  # compact: a year of weeks for thousands of contacts is large, and indenting is slow
        print(json.dumps(report_json(report or network_report(app))))
    elif args.html is None:
        _print_terminal(app)
    return 0


def _print_terminal(app: App) -> None:
    """Colour only on a terminal, never under NO_COLOR or TERM=dumb; names are made inert before colour
    is added, so the colour codes go to stdout past the CLI's escaping wrapper."""
    colour = colour_enabled()
    text = render_terminal(network_report(app), colour=colour)
    print(text, file=styled_stream() if colour else sys.stdout)
