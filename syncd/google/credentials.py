"""Where syncd keeps its Google OAuth token, and how it gets it back.

The token is the JSON `google.oauth2.credentials.Credentials.to_json()` writes, plus the
account's address under `"account"`. It lives in the OS keyring (service `syncd`, user
name = the account's address, so each `[[sources.google]]` account has its own entry).
Only where no usable keyring exists (a headless server, a locked collection) does it go
to the account's `token_file`, which is then the one and only place: written atomically
and 0600. syncd never falls back from one to the other by itself (a token silently
landing in a file is a surprise nobody wants), and never pickles.

Credentials are rebuilt with `Credentials(...)` from the stored fields rather than
`Credentials.from_authorized_user_info`, which replaces a stored `token_uri` with
Google's (DESIGN.md "Google specifics"): a proxy or test endpoint must be honoured.

Everything raises `NeedsAuth` (state `needs_auth` in `status`) when the user has to act,
with one human line that names what to do and never contains the token.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from syncd.config_types import GoogleConfig
from syncd.google import SCOPES
from syncd.errors import NeedsAuth
from syncd.private_file import write_private
from syncd.secrets import KEYRING_SERVICE, KeyringUnavailable, keyring_call, keyring_trouble
from syncd.sources.base import display_path

log = logging.getLogger("syncd.google")

# Which accounts `syncd auth` stored (the keyring API cannot list entries portably).
ACCOUNTS_ENTRY = "syncd-google-accounts"
REQUIRED_FIELDS = ("refresh_token", "token_uri", "client_id", "client_secret")


def _no_keyring(error: Exception) -> KeyringUnavailable:
    return KeyringUnavailable(
        f"{keyring_trouble(error)}; unlock it, or set [sources.google] token_file "
        '(e.g. "~/.config/syncd/google-token.json") and run `syncd auth` again'
    )


def _keyring_call(function: Callable[..., Any], *args: str) -> Any:
    return keyring_call(lambda: function(*args), _no_keyring)


# --- the stored form ---------------------------------------------------------------


def credentials_to_info(credentials: Any, account: str | None) -> dict[str, Any]:
    """What is stored: `to_json()` (no access token needed, but harmless) plus the account."""
    info = json.loads(credentials.to_json())
    info.pop("token", None)
    info.pop("expiry", None)
    info["account"] = account or info.get("account") or ""
    return info


def credentials_from_info(info: dict[str, Any]) -> Any:
    """Credentials from stored fields, keeping `token_uri` (unlike from_authorized_user_info)."""
    from google.oauth2.credentials import Credentials

    if not isinstance(info, dict) or any(not info.get(name) for name in REQUIRED_FIELDS):
        raise NeedsAuth("the stored Google authorization is incomplete; run `syncd auth`")
    scopes = info.get("scopes")
    if isinstance(scopes, str):
        scopes = scopes.split()
    return Credentials(
        token=None,
        refresh_token=info["refresh_token"],
        token_uri=info["token_uri"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scopes=list(scopes) if scopes else list(SCOPES),
    )


# --- token_file --------------------------------------------------------------------


def _read_token_file(path: Path) -> dict[str, Any]:
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NeedsAuth(f"no Google token in {shown}; run `syncd auth`") from None
    except (OSError, UnicodeDecodeError) as error:
        raise NeedsAuth(f"cannot read the Google token {shown} ({type(error).__name__}); run `syncd auth`") from None
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("%s was readable by others (mode %o); making it 0600", shown, mode)
            os.chmod(path, 0o600)
    except OSError:
        pass
    try:
        info = json.loads(text)
    except ValueError:
        raise NeedsAuth(f"the Google token {shown} is not valid JSON; run `syncd auth`") from None
    if not isinstance(info, dict):
        raise NeedsAuth(f"the Google token {shown} is not an authorized-user JSON; run `syncd auth`")
    return info


# --- keyring -----------------------------------------------------------------------


def _keyring_accounts() -> list[str]:
    import keyring

    raw = _keyring_call(keyring.get_password, KEYRING_SERVICE, ACCOUNTS_ENTRY)
    try:
        accounts = json.loads(raw) if raw else []
    except ValueError:
        accounts = []
    return [item for item in accounts if isinstance(item, str) and item]


def _keyring_account(google: GoogleConfig) -> str | None:
    if google.account:
        return google.account
    accounts = _keyring_accounts()
    return accounts[-1] if accounts else None  # the most recently authorised


# --- public ------------------------------------------------------------------------


def load_info(google: GoogleConfig) -> dict[str, Any]:
    """The stored authorized-user info of one `[sources.google]` table's account; NeedsAuth when absent."""
    if google.token_file is not None:
        return _read_token_file(google.token_file)
    import keyring

    account = _keyring_account(google)
    if account is None:
        raise NeedsAuth("no Google authorization found in the OS keyring; run `syncd auth`")
    raw = _keyring_call(keyring.get_password, KEYRING_SERVICE, account)
    if not raw:
        raise NeedsAuth(
            f"no Google authorization for {account} in the OS keyring; run `syncd auth --account {account}`"
        )
    try:
        info = json.loads(raw)
    except ValueError:
        raise NeedsAuth("the Google authorization in the OS keyring is damaged; run `syncd auth`") from None
    info.setdefault("account", account)
    return info


def load_credentials(google: GoogleConfig) -> Any:
    """google.oauth2 Credentials, not yet refreshed (the first API call refreshes them)."""
    return credentials_from_info(load_info(google))


def known_account(google: GoogleConfig) -> str | None:
    """The account's address without any network call, or None (never raises)."""
    if google.account:
        return google.account
    try:
        return load_info(google).get("account") or None
    except NeedsAuth:
        return None
    except Exception:  # a broken keyring backend must not break `status`
        log.debug("cannot read the account from the credential store", exc_info=True)
        return None


def store_credentials(google: GoogleConfig, credentials: Any, account: str | None) -> str:
    """Store the token where the account's table says; returns where, for the user (no secrets)."""
    info = credentials_to_info(credentials, account)
    text = json.dumps(info, indent=1, sort_keys=True)
    if google.token_file is not None:
        write_private(google.token_file, (text + "\n").encode("utf-8"))
        return display_path(google.token_file)
    import keyring

    username = info["account"] or "default"
    _keyring_call(keyring.set_password, KEYRING_SERVICE, username, text)
    accounts = [item for item in _keyring_accounts() if item != username] + [username]
    _keyring_call(keyring.set_password, KEYRING_SERVICE, ACCOUNTS_ENTRY, json.dumps(accounts))
    return f"the OS keyring (service {KEYRING_SERVICE!r}, user {username!r})"
