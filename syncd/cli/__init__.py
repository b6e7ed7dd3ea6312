"""Command line: parse arguments, call the library, print. Nothing else lives here.

Exit codes are a contract: 0 ok, 1 the command ran but something is wrong, 2 usage
or configuration error. No traceback ever reaches the user.

Each command lives in a module of this package with a ``register(commands)`` that adds
its parser and sets ``run`` (and ``needs_app=False`` for commands that run without a
config); a new command is a new module listed in :data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sqlite3
import sys
from pathlib import Path

from syncd import __version__
from syncd.app import App
from syncd.cli import completion, contacts, doctor, holds_cmd, report, setup, sync, views, why
from syncd.cli.common import Parser
from syncd.cli.conventions import finish, verbosity
from syncd.config import default_config_path, load_config
from syncd.errors import SyncdError
from syncd.logs import setup_logging
from syncd.store_errors import store_error
from syncd.textsafe import InertStream, inert_lines
from syncd.timeutil import resolve_now

COMMAND_MODULES = (setup, contacts, sync, views, holds_cmd, why, report, doctor, completion)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="syncd",
        description="Keep your professional network warm: syncd reads your calendars and mail, finds the "
        "contacts you have not met or written to for longer than their cadence, and books coffee holds for them. "
        "`syncd COMMAND --help` explains each command, with examples.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help=f"the config file to use (default: {default_config_path()}); e.g. --config ./test.toml",
    )
    parser.add_argument(
        "--now",
        metavar="WHEN",
        help="fix the clock for everything (ISO-8601, also env SYNCD_NOW); e.g. --now 2026-11-20T09:00:00+01:00",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more log output on stderr, -vv for debug; e.g. syncd -v sync",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr; e.g. syncd -q sync")
    parser.add_argument("--version", action="version", version=f"syncd {__version__}", help="print the version")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMAND_MODULES:
        module.register(commands)
    finish(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; whatever it prints to stdout goes through :class:`InertStream`."""
    with contextlib.redirect_stdout(InertStream(sys.stdout)):
        return _run(argv)


def _run(argv: list[str] | None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:  # bare `syncd`: what it can do, not an error
            parser.print_help()
            return 0
        level = verbosity(args)
        setup_logging(max(level, 0))
        if level < 0:
            logging.getLogger().setLevel(logging.ERROR)
        if not getattr(args, "needs_app", True):
            return int(args.run(args))
        config = load_config(args.config, explicit=args.config is not None)
        app = App(config, resolve_now(args.now, config.tz))
        try:
            return int(args.run(app, args))
        except sqlite3.Error as error:  # met past Store.open, e.g. the disk filled up mid-sync
            raise store_error(config.store_path, error) from None
        finally:
            app.close()
    except SyncdError as error:
        return _fail(str(error), error.exit_code)
    except ValueError as error:
        return _fail(str(error), 2)
    except OverflowError as error:  # a number too large for a date that no check above caught
        return _fail(f"a value is out of range ({error}); check the numbers and dates you gave", 2)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:  # a file syncd needs but cannot create or read (a lock beside a read-only store)
        return _fail(f"{error.filename or 'a file'}: {error.strerror or error}", 1)


def _fail(message: str, code: int) -> int:
    """One message on stderr, made inert: it may quote names and text from the user's files."""
    print(f"syncd: {inert_lines(message)}", file=sys.stderr)
    return code


__all__ = ["main", "build_parser"]
