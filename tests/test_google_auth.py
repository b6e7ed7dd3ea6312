"""`syncd auth` and the credential store: the real InstalledAppFlow against the fake Google.

The test plays the browser: it reads the URL syncd prints, asks the fake for an
authorization code (what Google's consent page would do), and calls the redirect URI
on syncd's local server, which then exchanges the code at the fake's /token endpoint.
"""

from __future__ import annotations

import io
import json
import os
import queue
import stat
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import keyring
import pytest

from syncd.config import parse_config
from syncd.google import SCOPES
from syncd.google.auth import run_auth
from syncd.google.client import GoogleSession
from syncd.google.credentials import (
    KEYRING_SERVICE,
    KeyringUnavailable,
    credentials_from_info,
    known_account,
    load_credentials,
    store_credentials,
)
from syncd.sources.base import NeedsAuth
from tests.fakegoogle import FakeGoogle
from tests.test_secrets import LockedKeyring, MemoryKeyring


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring():
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def fake(monkeypatch):
    # oauthlib insists on https for the token endpoint; the fake is plain http on loopback.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with FakeGoogle(quota_units_per_second=None) as server:
        yield server


def client_secrets(fake: FakeGoogle, folder: Path) -> Path:
    path = folder / "client_secret.json"
    path.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": fake.auth.client_id,
                    "client_secret": fake.auth.client_secret,
                    "auth_uri": fake.root + "auth",
                    "token_uri": fake.root + "token",
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    return path


def make_config(fake: FakeGoogle, folder: Path, extra: str = "", gmail: str = "true"):
    return parse_config(
        f'[sources.google]\nenabled = true\ngmail = {gmail}\napi_endpoint = "{fake.root}"\n'
        f'client_secrets = "{client_secrets(fake, folder)}"\n{extra}',
        None,
    )


class Lines(io.TextIOBase):
    """A stdout that hands each written chunk to the test thread."""

    def __init__(self):
        self.chunks: queue.Queue[str] = queue.Queue()
        self.text = ""

    def write(self, text):
        self.text += text
        self.chunks.put(text)
        return len(text)

    def url(self, timeout=10) -> str:
        while "http" not in self.text or "\n\n" not in self.text.split("http", 1)[1]:
            self.chunks.get(timeout=timeout)
        return next(word for word in self.text.split() if word.startswith("http") and "auth?" in word)


def authorize(fake, config, granted=None, port=0):
    """Run `syncd auth --no-browser` and play the browser; returns (exit code, stdout, stderr, URL)."""
    out, err = Lines(), io.StringIO()
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("code", run_auth(config, True, port, out=out, err=err)))
    thread.start()
    url = out.url()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    scopes = query["scope"][0].split()
    code = fake.auth.issue_code(granted if granted is not None else scopes)
    redirect = (
        query["redirect_uri"][0]
        + "?"
        + urllib.parse.urlencode(
            {"state": query["state"][0], "code": code, "scope": " ".join(granted if granted is not None else scopes)}
        )
    )
    with urllib.request.urlopen(redirect.replace("localhost", "127.0.0.1"), timeout=10) as response:
        assert response.status == 200
    thread.join(timeout=20)
    assert not thread.is_alive()
    return result["code"], out.text, err.getvalue(), url


# --- the flow ----------------------------------------------------------------------------


def test_auth_asks_the_narrowest_scopes_and_stores_the_token_in_the_keyring(fake, tmp_path, memory_keyring):
    config = make_config(fake, tmp_path)
    code, out, err, url = authorize(fake, config)
    assert code == 0, err
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert (
        sorted(query["scope"][0].split())
        == sorted(SCOPES)
        == sorted(
            [
                "https://www.googleapis.com/auth/gmail.metadata",
                "https://www.googleapis.com/auth/calendar.events",
                "https://www.googleapis.com/auth/calendar.freebusy",
            ]
        )
    )
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert "ssh -N -L" in out and "me@example.com" in out
    stored = json.loads(memory_keyring.entries[(KEYRING_SERVICE, "me@example.com")])
    assert stored["refresh_token"] == fake.auth.refresh_token and stored["token_uri"] == fake.root + "token"
    assert "token" not in stored and stored["account"] == "me@example.com"
    # The stored token works, through the token_uri it was stored with.
    config = make_config(fake, tmp_path)
    assert known_account(config.google) == "me@example.com"
    google = GoogleSession(load_credentials(config.google), fake.root)
    assert google.execute(google.gmail().users().getProfile(userId="me"), "gmail")["emailAddress"] == "me@example.com"
    assert not (tmp_path / "google-token.json").exists()


def test_auth_with_token_file_writes_it_0600_and_not_the_keyring(fake, tmp_path, memory_keyring):
    token = tmp_path / "private" / "google-token.json"
    config = make_config(fake, tmp_path, extra=f'token_file = "{token}"\n')
    code, out, err, _ = authorize(fake, config)
    assert code == 0, err
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    info = json.loads(token.read_text())
    assert info["refresh_token"] == fake.auth.refresh_token and info["account"] == "me@example.com"
    assert memory_keyring.entries == {}
    assert [name for name in os.listdir(token.parent)] == ["google-token.json"]  # no temporary left


def test_partial_consent_is_refused_with_a_clear_message(fake, tmp_path, memory_keyring):
    config = make_config(fake, tmp_path)
    granted = ["https://www.googleapis.com/auth/calendar.events", "https://www.googleapis.com/auth/calendar.freebusy"]
    code, _, err, _ = authorize(fake, config, granted=granted)
    assert code == 1 and "gmail.metadata" in err and "tick every box" in err
    assert memory_keyring.entries == {}


def test_without_gmail_the_account_comes_from_the_config(fake, tmp_path, memory_keyring):
    config = make_config(fake, tmp_path, extra='account = "ada@example.com"\n', gmail="false")
    granted = ["https://www.googleapis.com/auth/calendar.events", "https://www.googleapis.com/auth/calendar.freebusy"]
    code, _, err, _ = authorize(fake, config, granted=granted)
    assert code == 0, err
    assert (KEYRING_SERVICE, "ada@example.com") in memory_keyring.entries
    assert "gmail.users.getProfile" not in fake.calls


def test_no_keyring_says_so_and_points_at_token_file(fake, tmp_path, no_keyring):
    config = make_config(fake, tmp_path)
    code, _, err, _ = authorize(fake, config)
    assert code == 1
    assert "no OS keyring" in err and "token_file" in err and "\n" not in err.strip()
    assert not list(tmp_path.glob("*token*"))  # never a silent fallback to a file


def test_missing_or_bad_client_secrets_is_a_configuration_error(fake, tmp_path, memory_keyring):
    config = parse_config("[sources.google]\nenabled = true\n", None)
    err = io.StringIO()
    assert run_auth(config, True, 0, err=err) == 2 and "client_secrets" in err.getvalue()
    bad = tmp_path / "client.json"
    bad.write_text('{"something": 1}')
    config = parse_config(f'[sources.google]\nenabled = true\nclient_secrets = "{bad}"\n', None)
    err = io.StringIO()
    assert run_auth(config, True, 0, err=err) == 2 and "Desktop app" in err.getvalue()


# --- loading ---------------------------------------------------------------------------------


def test_loading_without_any_authorization_is_needs_auth(fake, tmp_path, memory_keyring):
    config = make_config(fake, tmp_path)
    with pytest.raises(NeedsAuth) as caught:
        load_credentials(config.google)
    assert "syncd auth" in str(caught.value)
    assert known_account(config.google) is None


def test_loading_with_no_keyring_is_needs_auth_pointing_at_token_file(fake, tmp_path, no_keyring):
    with pytest.raises(KeyringUnavailable) as caught:
        load_credentials(make_config(fake, tmp_path).google)
    assert "token_file" in str(caught.value) and caught.value.state == "needs_auth"


def test_locked_keyring_says_locked(fake, tmp_path):
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        with pytest.raises(KeyringUnavailable) as caught:
            load_credentials(make_config(fake, tmp_path).google)
        assert "locked" in str(caught.value)
        assert known_account(make_config(fake, tmp_path).google) is None  # `status` never breaks
    finally:
        keyring.set_keyring(previous)


def test_token_file_problems_are_needs_auth(fake, tmp_path):
    token = tmp_path / "token.json"
    config = make_config(fake, tmp_path, extra=f'token_file = "{token}"\n')
    with pytest.raises(NeedsAuth, match="no Google token"):
        load_credentials(config.google)
    token.write_text("{not json")
    with pytest.raises(NeedsAuth, match="not valid JSON"):
        load_credentials(config.google)
    token.write_text(json.dumps({"refresh_token": "x"}))
    with pytest.raises(NeedsAuth, match="incomplete"):
        load_credentials(config.google)


def test_credentials_keep_the_stored_token_uri(fake):
    info = fake.authorized_user_info()
    credentials = credentials_from_info(info)
    assert credentials.token_uri == fake.root + "token" and credentials.token is None
    assert sorted(credentials.scopes) == sorted(SCOPES)
    # What google-auth's own loader would have done with it:
    from google.oauth2.credentials import Credentials

    assert Credentials.from_authorized_user_info(info).token_uri != fake.root + "token"


def test_several_accounts_default_to_the_last_authorised(fake, tmp_path, memory_keyring):
    config = make_config(fake, tmp_path)
    credentials = fake.credentials()
    store_credentials(config.google, credentials, "ada@example.com")
    store_credentials(config.google, credentials, "bob@example.com")
    assert known_account(config.google) == "bob@example.com"
    assert known_account(make_config(fake, tmp_path, extra='account = "ada@example.com"\n').google) == "ada@example.com"
    assert load_credentials(make_config(fake, tmp_path, extra='account = "ada@example.com"\n').google).refresh_token
