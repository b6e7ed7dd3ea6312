"""`syncd auth`: the OAuth installed-app flow, once, on a machine with a browser or over SSH.

The user brings their own OAuth client ("Desktop app" client-secrets JSON from Google
Cloud, `[sources.google] client_secrets`). syncd asks for the narrowest scopes that work
(`syncd.google.SCOPES`: gmail.metadata, calendar.events, calendar.freebusy — never a
broader Gmail scope next to gmail.metadata, with which Gmail still refuses `q`), with
`access_type=offline` and `prompt=consent` so Google always hands out a refresh token.

`run_local_server` listens on 127.0.0.1 for Google's redirect. With `--no-browser` it
only prints the URL: on a headless server, forward the port first
(`ssh -L PORT:localhost:PORT server`), open the URL on your own machine, and the redirect
reaches syncd through the tunnel.

Which account was authorised comes from the Gmail profile (or `[sources.google]
account` when Gmail is off); it names the keyring entry and the `gmail:` source. With
several `[[sources.google]]` accounts, `syncd auth --account ADDRESS` picks the table,
and the account chosen in Google's consent screen must be that one.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Any, TextIO

from syncd.config_types import Config, GoogleConfig
from syncd.errors import SourceError, first_line
from syncd.google import SCOPE_PREFIX, SCOPES
from syncd.google.accounts import account_named, configured_accounts
from syncd.google.client import GoogleSession
from syncd.google.credentials import store_credentials
from syncd.google.retry import RetryPolicy
from syncd.secrets import KeyringUnavailable
from syncd.sources.base import display_path

PROMPT = "Open this URL in a browser and allow syncd read access to your calendar and mail headers:\n\n    {url}\n"
NO_BROWSER_PROMPT = (
    "Open this URL in a browser on any machine:\n\n    {url}\n\n"
    "Google then redirects that browser to http://localhost:{port}/ — on a remote machine, forward the port\n"
    "first from the machine with the browser:  ssh -N -L {port}:localhost:{port} THIS_HOST\n"
)
SUCCESS_PAGE = "syncd is authorised. You can close this tab and return to the terminal."


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def required_scopes(google: GoogleConfig) -> set[str]:
    """What one account table needs: Calendar always, Gmail's metadata scope when `gmail = true`."""
    needed = {SCOPE_PREFIX + "calendar.events", SCOPE_PREFIX + "calendar.freebusy"}
    if google.gmail:
        needed.add(SCOPE_PREFIX + "gmail.metadata")
    return needed


def _account_of(google: GoogleConfig, credentials: Any) -> str | None:
    if google.gmail:
        session = GoogleSession(credentials, google.api_endpoint, retry=RetryPolicy(attempts=3, base_delay=0.5))
        profile = session.execute(session.gmail().users().getProfile(userId="me"), "gmail", "profile")
        return profile.get("emailAddress") or None
    return google.account


def _pick_account(config: Config, account: str | None) -> tuple[GoogleConfig | None, str]:
    """The account table `syncd auth` works on, or None and why not (a configuration problem)."""
    tables = configured_accounts(config)
    if account:
        table = account_named(config, account)
        if table is None and len(tables) == 1 and not tables[0].account:
            table = tables[0]  # one table without `account`: the address comes from Google
        if table is None:
            known = ", ".join(t.account for t in tables if t.account) or "none"
            return None, f"syncd auth: no [sources.google] account {account!r} in the config (accounts: {known})"
        return table, ""
    if len(tables) > 1:
        known = ", ".join(t.account for t in tables if t.account)
        return None, f"syncd auth: several Google accounts are configured; pick one with --account ({known})"
    return tables[0], ""


def run_auth(
    config: Config,
    no_browser: bool = False,
    port: int = 0,
    *,
    account: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Authorise syncd for one Google account; 0 on success, 1 on failure, 2 on configuration."""
    out = out or sys.stdout
    err = err or sys.stderr
    google, problem = _pick_account(config, account)
    if google is None:
        print(problem, file=err)
        return 2
    secrets_path: Path | None = google.client_secrets
    if secrets_path is None:
        print(
            "syncd auth: set [sources.google] client_secrets to the OAuth client JSON you downloaded from "
            "Google Cloud (APIs & Services → Credentials → Create OAuth client ID → Desktop app)",
            file=err,
        )
        return 2
    try:
        client = json.loads(Path(secrets_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(
            f"syncd auth: {display_path(Path(secrets_path))}: no such file ([sources.google] client_secrets)", file=err
        )
        return 2
    except (OSError, ValueError) as error:
        print(
            f"syncd auth: {display_path(Path(secrets_path))}: not a client-secrets JSON ({type(error).__name__})",
            file=err,
        )
        return 2
    if not isinstance(client, dict) or not ({"installed", "web"} & set(client)):
        print(
            f"syncd auth: {display_path(Path(secrets_path))}: not an OAuth client JSON "
            '(expected an "installed" client; create a "Desktop app" OAuth client)',
            file=err,
        )
        return 2

    from google_auth_oauthlib.flow import InstalledAppFlow

    # Google may grant fewer scopes than asked (unticked boxes); check them ourselves
    # instead of letting oauthlib raise a bare Warning.
    os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    flow = InstalledAppFlow.from_client_config(client, scopes=list(SCOPES))
    port = port or _free_port()
    prompt = NO_BROWSER_PROMPT if no_browser else PROMPT
    try:
        original_stdout = sys.stdout
        if out is not original_stdout:
            sys.stdout = out  # run_local_server prints the prompt itself
        try:
            credentials = flow.run_local_server(
                host="localhost",
                bind_addr="127.0.0.1",
                port=port,
                open_browser=not no_browser,
                authorization_prompt_message=prompt.replace("{port}", str(port)),
                success_message=SUCCESS_PAGE,
                access_type="offline",
                prompt="consent",
            )
        finally:
            if out is not original_stdout:
                sys.stdout = original_stdout
    except KeyboardInterrupt:
        print("syncd auth: cancelled", file=err)
        return 1
    except OSError as error:
        print(
            f"syncd auth: cannot listen on localhost:{port} ({error.strerror or error}); pick another with --port",
            file=err,
        )
        return 1
    except Exception as error:  # oauthlib / requests errors: one line, never a token
        print(f"syncd auth: Google did not authorise syncd: {first_line(error)}", file=err)
        return 1
    if not credentials.refresh_token:
        print(
            "syncd auth: Google sent no refresh token; remove syncd's access at "
            "https://myaccount.google.com/permissions and run `syncd auth` again",
            file=err,
        )
        return 1
    granted = set(getattr(credentials, "granted_scopes", None) or credentials.scopes or SCOPES)
    missing = sorted(scope.removeprefix(SCOPE_PREFIX) for scope in required_scopes(google) - granted)
    if missing:
        print(
            f"syncd auth: Google granted syncd no access to {', '.join(missing)}; "
            "run `syncd auth` again and tick every box",
            file=err,
        )
        return 1
    try:
        authorised = _account_of(google, credentials) or account
    except SourceError as error:
        print(f"syncd auth: authorised, but cannot read the Gmail profile: {error}", file=err)
        return 1
    if google.account and authorised and authorised.lower() != google.account.lower():
        print(
            f"syncd auth: Google authorised {authorised}, not {google.account}; run "
            f"`syncd auth --account {google.account}` again and choose that account",
            file=err,
        )
        return 1
    try:
        where = store_credentials(google, credentials, authorised)
    except KeyringUnavailable as error:
        print(f"syncd auth: {error}", file=err)
        return 1
    except OSError as error:
        print(f"syncd auth: cannot write the token: {error.strerror or error}", file=err)
        return 1
    print(f"Authorised {authorised or 'your Google account'}; the token is in {where}.", file=out)
    return 0
