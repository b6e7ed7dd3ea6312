"""Hold sinks: where syncd writes its coffee holds (see :mod:`syncd.sinks.base`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from syncd.config_types import Config
from syncd.sinks.base import HoldGone, HoldSink, HoldWrite, SinkError, SinkHold, SinkSpecError, apply_all

__all__ = ["make_sink", "SinkSpecError", "HoldGone", "HoldSink", "HoldWrite", "SinkError", "SinkHold", "apply_all"]


def make_sink(
    spec: str,
    *,
    tz: tzinfo | None = None,
    clock: Callable[[], datetime] | None = None,
    config: Config | None = None,
) -> HoldSink:
    """Build the sink named by ``[holds] sink``: ``"ics:PATH"`` (``~`` expanded) or
    ``"google:CALENDAR_ID"`` (credentials, endpoint and busy calendars from ``config``).

    ``tz`` is the user's zone (floating times typed into the file are read in it; default
    ``config.tz``); ``clock`` stamps DTSTAMP.  ``config`` is passed through for sinks that
    need it (Google: endpoint, credentials); the ICS sink does not.  The in-memory sink
    (:mod:`syncd.sinks.memory`) has no spec on purpose: a configured sink that forgets
    every hold when the process ends would only confuse; tests and previews construct it.
    Raises :class:`SinkSpecError` (a ValueError and a SinkError) for a spec that names no
    known sink: that is a configuration error (exit 2).
    """
    if tz is None and config is not None:
        tz = config.tz
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "ics" and sep and rest.strip():
        from syncd.sinks.ics import IcsHoldSink

        return IcsHoldSink(rest.strip(), tz=tz, clock=clock)
    if kind == "ics":
        raise SinkSpecError(f"hold sink {spec!r}: expected 'ics:PATH', e.g. 'ics:~/.local/share/syncd/holds.ics'")
    if kind == "google":
        calendar_id = rest.strip()
        if not sep or not calendar_id:
            raise SinkSpecError(f"hold sink {spec!r}: expected 'google:CALENDAR_ID', e.g. 'google:primary'")
        if config is None:
            raise SinkSpecError(
                f"hold sink {spec!r}: the Google Calendar hold sink needs the [sources.google] configuration"
            )
        from syncd.sinks.google import GoogleHoldSink

        return GoogleHoldSink.from_config(calendar_id, config, tz=tz, clock=clock)
    if kind == "caldav":
        from syncd.sinks.caldav import caldav_sink
        from syncd.sources.caldav import caldav_accounts

        return caldav_sink(rest, caldav_accounts(config) if config is not None else [], tz=tz, clock=clock)
    expected = "'ics:PATH', 'google:CALENDAR_ID' or 'caldav:NAME/CALENDAR'"
    raise SinkSpecError(f"unknown hold sink {spec!r}: expected {expected}")
