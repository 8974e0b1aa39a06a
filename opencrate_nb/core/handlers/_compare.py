"""What changed inside an artifact: the :class:`Detail` each handler's ``compare()`` returns.

``oc.snapshot.diff`` (core/diff.py) finds which artifacts changed from the records and
asks the artifact's handler how; the helpers here are shared by the handlers' comparers.
"""

from __future__ import annotations

import difflib
import os

MAX_PARSED_BYTES = 4 << 20  #: JSON/YAML/text files larger than this are not compared line by line
MAX_TABLE_BYTES = 32 << 20
MAX_INLINE_BYTES = 2 << 20  #: images and audio up to this size are shown side by side in HTML
MAX_LINES = 200  #: lines of a unified diff shown
MAX_ROWS = 40  #: rows of a key/cell/tensor comparison shown


class Detail:
    """What changed inside one artifact: ``rows`` of (what, before, after), ``lines`` of a
    unified diff, ``media`` (mime type, bytes before, bytes after) for side-by-side display,
    and a ``note`` when the content was not compared."""

    __slots__ = ("rows", "lines", "media", "note")

    def __init__(self, rows=(), lines=(), media: tuple[str, bytes, bytes] | None = None, note: str | None = None):
        self.rows = list(rows)
        self.lines = list(lines)
        self.media = media
        self.note = note

    def __bool__(self) -> bool:
        return bool(self.rows or self.lines or self.media or self.note)

    def to_dict(self) -> dict:
        return {
            "rows": [list(r) for r in self.rows],
            "lines": self.lines,
            "note": self.note,
            "media": self.media[0] if self.media else None,
        }


def too_large(path_a: str, path_b: str, limit: int) -> Detail | None:
    """A note instead of a comparison when either file is over ``limit`` bytes."""
    largest = max(os.path.getsize(path_a), os.path.getsize(path_b))
    return Detail(note=f"too large to compare here ({largest} bytes)") if largest > limit else None


def changed_fields(a: dict, b: dict) -> list[tuple]:
    """(field, before, after) of the scalar fields of two describe() dicts that differ."""
    return [
        (k, a.get(k), b.get(k))
        for k in dict.fromkeys([*a, *b])
        if a.get(k) != b.get(k) and not isinstance(a.get(k), (list, dict))
    ]


def capped(rows: list, what: str) -> Detail:
    """At most :data:`MAX_ROWS` rows, with a note saying how many more there were."""
    if len(rows) <= MAX_ROWS:
        return Detail(rows=rows)
    return Detail(rows=rows[:MAX_ROWS], note=f"{len(rows) - MAX_ROWS} more {what} not shown")


def flatten(value, prefix: str = "", out: dict | None = None, small_list: int = 20) -> dict:
    """Nested dicts (and short lists) as ``{"a.b[0]": leaf}``: JSON/YAML compared key by key."""
    out = {} if out is None else out
    if isinstance(value, dict) and value:
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else str(key), out, small_list)
    elif (
        isinstance(value, list)
        and value
        and len(value) <= small_list
        and any(isinstance(item, (dict, list)) for item in value)
    ):
        for index, item in enumerate(value):
            flatten(item, f"{prefix}[{index}]", out, small_list)
    else:
        out[prefix or "(value)"] = value
    return out


def compare_values(load, path_a: str, path_b: str) -> Detail:
    """Parsed values (JSON, YAML) compared key by key: removed, added and changed keys."""
    skip = too_large(path_a, path_b, MAX_PARSED_BYTES)
    if skip:
        return skip
    flat_a, flat_b = flatten(load(path_a)), flatten(load(path_b))
    rows = [(f"- {k}", flat_a[k], "") for k in flat_a if k not in flat_b]
    rows += [(f"+ {k}", "", flat_b[k]) for k in flat_b if k not in flat_a]
    rows += [(k, flat_a[k], flat_b[k]) for k in flat_a if k in flat_b and flat_a[k] != flat_b[k]]
    return capped(rows, "keys")


def unified(lines_a: list[str], lines_b: list[str], labels: tuple[str, str] = ("before", "after")) -> list[str]:
    """A unified diff, at most :data:`MAX_LINES` lines."""
    lines = list(difflib.unified_diff(lines_a, lines_b, labels[0], labels[1], lineterm="", n=2))
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"... {len(lines) - MAX_LINES} more lines"]
    return lines


def compare_media(handler, path_a: str, path_b: str) -> Detail:
    """Changed describe() fields, and both files for side-by-side display when a browser shows them."""
    from . import browser_media_type

    rows = changed_fields(handler.describe(path_a), handler.describe(path_b))
    mime = browser_media_type(path_b)
    media, note = None, None
    if mime and mime == browser_media_type(path_a):
        if max(os.path.getsize(path_a), os.path.getsize(path_b)) <= MAX_INLINE_BYTES:
            with open(path_a, "rb") as fa, open(path_b, "rb") as fb:
                media = (mime, fa.read(), fb.read())
        else:
            note = "too large to show side by side"
    return Detail(rows=rows, media=media, note=note)
