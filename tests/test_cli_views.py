"""The read-only commands pause the cycle collector while they build their rows, and give it back."""

from __future__ import annotations

import gc

import pytest

from syncd.cli.views import cycle_collection_paused


def test_the_collector_is_off_inside_and_on_again_after_even_when_the_command_fails() -> None:
    assert gc.isenabled()
    with cycle_collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), cycle_collection_paused():
        raise ValueError("a failed command")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with cycle_collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
