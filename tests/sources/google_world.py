"""What the Google source tests share: a token for the fake, fast retries, the world base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncd.google.retry import RetryPolicy
from syncd.sources.google import google_sources
from syncd.store import Store
from tests.fakegoogle import FakeGoogle

FAST = dict(attempts=8, base_delay=0.005, max_delay=0.05)


def write_token(fake: FakeGoogle, folder: Path) -> Path:
    """The fake's authorized-user JSON as `[sources.google] token_file` reads it (0600)."""
    token = folder / "google-token.json"
    if not token.exists():
        token.write_text(json.dumps(fake.authorized_user_info()))
        token.chmod(0o600)
    return token


class GoogleWorld:
    """A source-contract world backed by the fake; subclasses add, move and remove items."""

    def __init__(self, fake: FakeGoogle, config):
        self.fake = fake
        self.config = config
        self.ids: dict[str, str] = {}

    def break_it(self):
        self.fake.revoke_refresh_token()

    def source(self):
        (source,) = google_sources(self.config, retry=RetryPolicy(**FAST))
        return source


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "store" / "syncd.db")
    yield opened
    opened.close()
