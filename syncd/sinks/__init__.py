"""Hold sinks: where syncd writes its coffee holds (see :mod:`syncd.sinks.base`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from syncd.sinks.base import HoldSink, HoldWrite, SinkError, SinkHold, apply_all

__all__ = ["make_sink", "HoldSink", "HoldWrite", "SinkError", "SinkHold", "apply_all"]


def make_sink(spec: str, *, tz: tzinfo | None = None, clock: Callable[[], datetime] | None = None) -> HoldSink:
    """Build the sink named by ``[holds] sink``: ``"ics:PATH"`` (``~`` expanded).

    ``tz`` is the user's zone (floating times typed into the file are read in it);
    ``clock`` stamps DTSTAMP, so ``--now`` can fix it.  Raises :class:`ValueError` for a
    spec that names no known sink: that is a configuration error (exit 2).
    """
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "ics" and sep and rest.strip():
        from syncd.sinks.ics import IcsHoldSink

        return IcsHoldSink(rest.strip(), tz=tz, clock=clock)
    if kind == "ics":
        raise ValueError(f"hold sink {spec!r}: expected 'ics:PATH', e.g. 'ics:~/.local/share/syncd/holds.ics'")
    if kind == "google":
        raise ValueError(f"hold sink {spec!r}: the Google Calendar hold sink is not available in this build")
    raise ValueError(f"unknown hold sink {spec!r}: expected 'ics:PATH' or 'google:CALENDAR_ID'")
