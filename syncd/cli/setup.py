"""`init`, `auth`, `run`, `install-service` and `demo`: setting syncd up and running it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from syncd.app import App
from syncd.config import default_config_path, starter_config


def register(commands: Any) -> None:
    commands.add_parser("init", help="write a commented starter config (never overwrites)").set_defaults(
        run=cmd_init, needs_app=False
    )
    auth = commands.add_parser("auth", help="authorise Google access, or keep an IMAP/CalDAV password in the keyring")
    auth.add_argument("source", nargs="?", metavar="SOURCE", help="imap:NAME or caldav:NAME (default: Google)")
    auth.add_argument("--no-browser", action="store_true", help="print the URL instead of opening a browser (headless)")
    auth.add_argument(
        "--port",
        type=int,
        default=0,
        metavar="PORT",
        help="local port for the OAuth redirect, to forward over SSH (default 0: a free one); e.g. --port 8765",
    )
    auth.add_argument("--account", metavar="ADDRESS", help="which [[sources.google]] account to authorise")
    auth.set_defaults(run=cmd_auth)
    commands.add_parser("run", help="the daemon, in the foreground (what systemd starts)").set_defaults(run=cmd_run)
    install = commands.add_parser("install-service", help="install the systemd user unit for this syncd")
    install.add_argument("--print", action="store_true", dest="print_only", help="print the unit instead of writing it")
    install.set_defaults(run=cmd_install_service)
    demo = commands.add_parser("demo", help="the whole pipeline on bundled sample data")
    demo.add_argument("--keep", type=Path, metavar="DIR", help="keep the demo's store and holds file in this folder")
    demo.set_defaults(run=cmd_demo, needs_app=False)


def cmd_demo(args: argparse.Namespace) -> int:
    from syncd.demo import run_demo

    return run_demo(args)


def cmd_init(args: argparse.Namespace) -> int:
    path = args.config or default_config_path()
    if path.exists():
        print(f"syncd: {path} already exists; not overwriting it", file=sys.stderr)
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as handle:
        handle.write(starter_config())
    print(f"wrote {path}; edit it, then run `syncd sync`")
    return 0


def cmd_auth(app: App, args: argparse.Namespace) -> int:
    if args.source:
        from syncd.cli.auth_passwords import auth_password

        return auth_password(app.config, args.source)
    from syncd.google.auth import run_auth

    return run_auth(app.config, no_browser=args.no_browser, port=args.port, account=args.account)


def cmd_run(app: App, args: argparse.Namespace) -> int:
    from syncd.daemon import run_daemon

    return run_daemon(app.config, args.now)


def cmd_install_service(app: App, args: argparse.Namespace) -> int:
    from syncd.service import install_service

    return install_service(app.config, print_only=args.print_only)
