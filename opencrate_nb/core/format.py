"""How sizes, times, counts and saving cells read, everywhere.

Every UI (``%crate`` output, the widget browser, the CLI, the sidebar through the server)
shows these facts through the functions here, so one artifact reads the same in all of
them: ``45.6 KB``, ``2026-12-01 08:22:22``, ``In [5]``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import itertools
import operator
import re
import time as _time
from collections.abc import Sequence
from typing import Any, Optional, Union

_UNITS = ("B", "KB", "MB", "GB", "TB")
# the record's own spelling of a time: 2026-12-01T08:22:22.500680+00:00
_RECORD_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?[+-]\d\d:\d\d")


def format_size(size: Optional[Union[int, float]]) -> str:
    """Bytes in binary units with one decimal: 1536 -> '1.5 KB'; None (unknown) -> '?'."""
    if size is None or isinstance(size, bool) or not isinstance(size, (int, float)):
        return "?"
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def local_iso(seconds: float, digits: int = 6) -> str:
    """``datetime.fromtimestamp(seconds).astimezone().isoformat()`` with ``digits`` (3 or 6) digits of
    fraction, at a fraction of its cost (every save and every cell stamps a time): the date and UTC
    offset of the last second are kept, for as long as the time zone stays (``time.tzset()``)."""
    whole = int(seconds // 1)
    cached = _iso_second
    if cached[0] != whole or cached[3] is not _time.tzname:  # a new second (saves and cells often share one)
        local = _time.localtime(whole)
        offset = local.tm_gmtoff
        hours, minutes = divmod(abs(offset) // 60, 60)
        zone = f"{'-' if offset < 0 else '+'}{hours:02d}:{minutes:02d}"
        cached = _iso_second[:] = [whole, _time.strftime("%Y-%m-%dT%H:%M:%S", local) + ".", zone, _time.tzname]
    fraction = int((seconds - whole) * 10**digits)  # below 10**digits: never rounds into the next second
    return f"{cached[1]}{fraction:0{digits}d}{cached[2]}"


_iso_second: list = [None, "", "", None]  # [second, "YYYY-MM-DDTHH:MM:SS.", "+HH:MM", time.tzname] of the last call


def from_local_iso(text: str) -> Optional[float]:
    """The POSIX time of a :func:`local_iso` text (6 digits) of the last second it stamped, else None.

    The record index reads the time of each line a save appends (retention and the old content's
    hash look at it), nearly always the second just stamped: no date parsing for those.
    """
    second, start, zone = _iso_second[0], _iso_second[1], _iso_second[2]
    if second is None or len(text) != len(start) + 6 + len(zone) or not text.startswith(start):
        return None
    fraction = text[len(start) : len(start) + 6]
    if not text.endswith(zone) or not fraction.isdigit():
        return None
    return (second * 1_000_000 + int(fraction)) / 1_000_000  # as datetime.timestamp() computes it


def format_time(when: Any) -> str:
    """A record time (ISO 8601 text), datetime or POSIX timestamp -> '2026-12-01 08:22:22', local time.

    Unreadable values give '?'; times are shown to the second (the record keeps microseconds).
    """
    if type(when) is str and _RECORD_TIME.fullmatch(when) is not None and _is_local_offset(when[:13], when[-6:]):
        return f"{when[:10]} {when[11:19]}"  # already local wall time: no parsing (a listing shows thousands)
    value: Optional[_dt.datetime] = None
    if isinstance(when, _dt.datetime):
        value = when
    elif isinstance(when, (int, float)) and not isinstance(when, bool):
        try:
            value = _dt.datetime.fromtimestamp(when)
        except (OverflowError, OSError, ValueError):
            return "?"
    elif isinstance(when, str) and when:
        try:
            value = _dt.datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
        except ValueError:
            return "?"
    if value is None:
        return "?"
    if value.tzinfo is not None:
        value = value.astimezone()
    return value.strftime("%Y-%m-%d %H:%M:%S")


_RECORD_TIMES = re.compile(f"(?:{_RECORD_TIME.pattern}\n)+")
_TO_SECONDS = operator.itemgetter(slice(0, 19))


def format_times(whens: Sequence[Any]) -> list[str]:
    """:func:`format_time` of each of ``whens``, in a few passes over all of them when they are all
    record times in this machine's local time (a listing renders thousands), else one by one."""
    if not whens or not {str}.issuperset(map(type, whens)):
        return [format_time(when) for when in whens]
    joined = "\n".join(whens) + "\n"
    if joined.count("\n") == len(whens) and _RECORD_TIMES.fullmatch(joined):  # one time per line
        hours = {when[:13] + when[-6:] for when in whens}
        if all(_is_local_offset(hour[:13], hour[13:]) for hour in hours):
            return list(map(str.replace, map(_TO_SECONDS, whens), itertools.repeat("T"), itertools.repeat(" ")))
    return [format_time(when) for when in whens]


@functools.lru_cache(maxsize=512)
def _is_local_offset(hour: str, offset: str) -> bool:
    """Whether a time in this hour ('2026-12-01T08') with this UTC offset is this machine's local time.

    Asked once per hour and offset, so a listing of a run's artifacts converts no time at all.
    """
    value = _dt.datetime.fromisoformat(f"{hour}:00:00{offset}")
    return value.astimezone().utcoffset() == value.utcoffset()


def cell_label(cell: Any) -> Optional[str]:
    """The saving cell of a record entry as a notebook shows it: 'In [5]'; None when unknown.

    A cell id alone (a cell that was never numbered) reads 'In [ ]'; raw ids are never shown.
    """
    if not isinstance(cell, dict):
        return None
    count = cell.get("execution_count")
    if isinstance(count, bool) or not isinstance(count, int):
        return "In [ ]" if cell.get("cell_id") else None
    return f"In [{count}]"


def plural(count: int, word: str, many: Optional[str] = None) -> str:
    """'1 key', '2 keys' (``many`` for irregular plurals)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"
