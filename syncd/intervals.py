"""Busy time as intervals: the one place where overlapping periods are merged."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Interval", "merge_intervals"]


@dataclass(frozen=True)
class Interval:
    """A busy time range [start, end), time-zone aware."""

    start: datetime
    end: datetime


def merge_intervals(intervals: Iterable[Interval], buffer: timedelta = timedelta(0)) -> list[Interval]:
    """Each interval widened by ``buffer`` on both sides, sorted, overlapping or touching ones joined.

    The planner checks a slot against the merged spans with one bisection, and a sink that
    reads busy time in pieces (Google's free/busy in date ranges) joins the pieces again.
    Pass UTC datetimes when the buffer is not zero: adding to a zoneinfo datetime is
    wall-clock arithmetic, wrong across a DST change.
    """
    spans = sorted((item.start - buffer, item.end + buffer) for item in intervals)
    merged: list[Interval] = []
    for start, end in spans:
        if merged and start <= merged[-1].end:
            if end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, end)
        else:
            merged.append(Interval(start, end))
    return merged
