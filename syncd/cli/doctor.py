"""`doctor [--json]`: config, paths, sources, keyring, sink, unit and time zone, one line each."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from syncd.config import load_config
from syncd.doctor import FAIL, Check, run_checks
from syncd.errors import ConfigError
from syncd.terminal import colour_enabled, paint, styled_stream
from syncd.textsafe import display_width, inert
from syncd.timeutil import resolve_now

EXAMPLES = """\
examples:
  syncd doctor                  one line per check: ok, warn or fail
  syncd doctor --json | jq '.[] | select(.state != "ok")'

exit status: 0 when nothing failed (warnings allowed), 1 on any fail, 2 when the config cannot be loaded"""


def register(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="check config, paths, sources, keyring, hold sink, service and time zone",
        description="Check now what would otherwise fail at 3 am: the config, the store and contacts files, "
        "each source's files or login, the keyring, the hold sink (writable, and inside the service's "
        "writable paths), the systemd unit, and the time zone data. Writes nothing.",
        epilog=EXAMPLES,
    )
    doctor.add_argument("--json", action="store_true", help="a JSON list of {check, state, detail} instead of lines")
    doctor.set_defaults(run=cmd_doctor, needs_app=False)


def cmd_doctor(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, explicit=args.config is not None)
    except ConfigError as error:  # the one check the others depend on
        show([Check("config", FAIL, line) for line in str(error).splitlines()], args.json)
        return 2
    checks = run_checks(config, resolve_now(args.now, config.tz))
    show(checks, args.json)
    return 1 if any(check.state == FAIL for check in checks) else 0


def show(checks: list[Check], as_json: bool) -> None:
    if as_json:
        print(json.dumps([{"check": c.check, "state": c.state, "detail": c.detail} for c in checks], indent=2))
        return
    colour = colour_enabled()
    out = styled_stream() if colour else sys.stdout
    width = max(display_width(inert(check.check)) for check in checks)
    for check in checks:
        name, state = inert(check.check), paint(f"{check.state:<4}", check.state, colour)
        print(f"{state}  {name}{' ' * (width - display_width(name))}  {inert(check.detail)}", file=out)
