"""File names as text that can always be shown and sent: ``printable("bad\\udcff.txt") -> "bad\\\\xff.txt"``.

A file name that is not UTF-8 reaches Python as text holding lone surrogates (``os.fsdecode``);
printing it, or encoding it into JSON as UTF-8, raises. Every UI that shows names from a
listing of the disk (the tree, verify, the CLI) passes them through :func:`printable`.
"""

from __future__ import annotations


def is_unicode(text: str) -> bool:
    """True when ``text`` encodes as UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text`` unchanged when it is valid Unicode; otherwise its undecodable bytes as ``\\xNN`` escapes."""
    if is_unicode(text):
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no file name decoding made (e.g. from JSON)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")
