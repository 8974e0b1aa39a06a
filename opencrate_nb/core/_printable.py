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


ERRORS = "opencrate-printable"


def _escape_surrogates(error: UnicodeError) -> tuple[str, int]:
    """A codec error handler: each lone surrogate that stands for an undecodable byte becomes ``\\xNN``."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    return "".join(
        f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else f"\\u{ord(c):04x}" for c in text
    ), error.end


def escape_on(stream: object) -> None:
    """Make a text stream write names that are not UTF-8 as ``\\xNN`` instead of raising (the CLI's
    stdout and stderr: every name it prints, from a listing of the disk, stays printable)."""
    import codecs

    try:
        codecs.lookup_error(ERRORS)
    except LookupError:
        codecs.register_error(ERRORS, _escape_surrogates)
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors=ERRORS)
        except (ValueError, OSError):  # a stream that cannot change its error handling: left as it is
            pass


def printable_json(value: object, **options: object) -> str:
    """``json.dumps(value, ensure_ascii=False, **options)`` that stays valid UTF-8: a name that is not
    UTF-8 reads as ``"odd\\\\xff.json"`` (decoding to the text :func:`printable` gives)."""
    import json

    text = json.dumps(value, ensure_ascii=False, **options)  # type: ignore[arg-type]
    if is_unicode(text):
        return text
    return "".join(
        (f"\\\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else f"\\u{ord(c):04x}")
        if 0xD800 <= ord(c) <= 0xDFFF
        else c
        for c in text
    )
