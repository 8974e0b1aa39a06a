"""Checks on user-given names before they become folder or file names.

One Unicode policy for snapshot names, tags, artifact names and backup tags: a name is
NFC-normalised (so that the composed and decomposed spellings of "é" are one name, as
they look the same), and characters that are invisible or change how text around them
is shown are refused: control characters (C0, DEL, C1), the line and paragraph
separators, bidirectional controls and lone surrogates.
"""

import re
import unicodedata

from .errors import InvalidNameError

_ALLOWED = "letters, digits, '.', '-', '_', spaces and ':'"
_KIND_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_NAME_BYTES = 200

# Control characters have no Unicode name (unicodedata.name fails on them); these are
# their ISO 6429 names, the ones Unicode lists as aliases.
_CONTROL_NAMES = {
    0x00: "NULL",
    0x01: "START OF HEADING",
    0x02: "START OF TEXT",
    0x03: "END OF TEXT",
    0x04: "END OF TRANSMISSION",
    0x05: "ENQUIRY",
    0x06: "ACKNOWLEDGE",
    0x07: "BELL",
    0x08: "BACKSPACE",
    0x09: "CHARACTER TABULATION",
    0x0A: "LINE FEED",
    0x0B: "LINE TABULATION",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x0E: "SHIFT OUT",
    0x0F: "SHIFT IN",
    0x10: "DATA LINK ESCAPE",
    0x11: "DEVICE CONTROL ONE",
    0x12: "DEVICE CONTROL TWO",
    0x13: "DEVICE CONTROL THREE",
    0x14: "DEVICE CONTROL FOUR",
    0x15: "NEGATIVE ACKNOWLEDGE",
    0x16: "SYNCHRONOUS IDLE",
    0x17: "END OF TRANSMISSION BLOCK",
    0x18: "CANCEL",
    0x19: "END OF MEDIUM",
    0x1A: "SUBSTITUTE",
    0x1B: "ESCAPE",
    0x1C: "FILE SEPARATOR",
    0x1D: "GROUP SEPARATOR",
    0x1E: "RECORD SEPARATOR",
    0x1F: "UNIT SEPARATOR",
    0x7F: "DELETE",
    0x80: "PADDING CHARACTER",
    0x81: "HIGH OCTET PRESET",
    0x82: "BREAK PERMITTED HERE",
    0x83: "NO BREAK HERE",
    0x84: "INDEX",
    0x85: "NEXT LINE",
    0x86: "START OF SELECTED AREA",
    0x87: "END OF SELECTED AREA",
    0x88: "CHARACTER TABULATION SET",
    0x89: "CHARACTER TABULATION WITH JUSTIFICATION",
    0x8A: "LINE TABULATION SET",
    0x8B: "PARTIAL LINE FORWARD",
    0x8C: "PARTIAL LINE BACKWARD",
    0x8D: "REVERSE LINE FEED",
    0x8E: "SINGLE SHIFT TWO",
    0x8F: "SINGLE SHIFT THREE",
    0x90: "DEVICE CONTROL STRING",
    0x91: "PRIVATE USE ONE",
    0x92: "PRIVATE USE TWO",
    0x93: "SET TRANSMIT STATE",
    0x94: "CANCEL CHARACTER",
    0x95: "MESSAGE WAITING",
    0x96: "START OF GUARDED AREA",
    0x97: "END OF GUARDED AREA",
    0x98: "START OF STRING",
    0x99: "SINGLE GRAPHIC CHARACTER INTRODUCER",
    0x9A: "SINGLE CHARACTER INTRODUCER",
    0x9B: "CONTROL SEQUENCE INTRODUCER",
    0x9C: "STRING TERMINATOR",
    0x9D: "OPERATING SYSTEM COMMAND",
    0x9E: "PRIVACY MESSAGE",
    0x9F: "APPLICATION PROGRAM COMMAND",
}
_SEPARATORS = (0x2028, 0x2029)
# embeddings and overrides, isolates, and the invisible direction marks
_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ud800-\udfff]")


def _refused(ch: str) -> str | None:
    """What kind of refused character ``ch`` is, or None when names may hold it."""
    code = ord(ch)
    if code in _CONTROL_NAMES:
        return "a control character"
    if code in _SEPARATORS:
        return "a line or paragraph separator"
    if code in _BIDI:
        return "a bidirectional control, which can make a name display as another"
    if 0xD800 <= code <= 0xDFFF:
        return "a lone surrogate, which is not a character and cannot be written as UTF-8"
    return None


def describe_character(ch: str) -> str:
    """``U+0085 (NEXT LINE)``: a character by code point and name, readable even when invisible."""
    code = ord(ch)
    name = _CONTROL_NAMES.get(code) or unicodedata.name(ch, "")
    if not name and 0xD800 <= code <= 0xDFFF:
        name = "SURROGATE"
    return f"U+{code:04X} ({name})" if name else f"U+{code:04X}"


def check_name(value: str, what: str) -> str:
    """Return ``value`` NFC-normalised if it is safe as a single path component, else raise InvalidNameError.

    ``what`` says which argument is checked ("snapshot name", "tag", ...), so that the
    error tells the user what to change. Callers use the returned value: it is the name
    that is stored.
    """
    if not isinstance(value, str):
        raise InvalidNameError(f"The {what} must be a string, got {type(value).__name__}: {value!r}.")
    value, problem = _checked(value)
    if problem:
        raise InvalidNameError(f"Invalid {what} {value!r}: {problem}. Use a single file-name part made of {_ALLOWED}.")
    return value


def check_artifact_path(value: str) -> str:
    """An artifact as a user names it to look it up: a file name (``metrics.json``), or its path in
    the version (``jsons/metrics.json``) when the name is in several folders.

    Each part is checked as :func:`check_name` checks a name (refused characters are named by code
    point); the NFC-normalised path is returned, the spelling the record holds.
    """
    if not isinstance(value, str) or "/" not in value:
        return check_name(value, "artifact name")
    parts = [_checked(part) for part in value.split("/")]
    for part, problem in parts:
        if problem:
            raise InvalidNameError(
                f"Invalid artifact path {value!r}: its part {part!r}: {problem}. Give a file name or a kind "
                f"folder and a file name (jsons/metrics.json), each made of {_ALLOWED}."
            )
    return "/".join(part for part, _ in parts)


def stored_spelling(value: str) -> str:
    """The spelling :func:`check_name` stores ``value`` under (NFC), or ``value`` itself when no save
    could make it.

    Only for lookups that compare a user's (checked) name with names found on disk or at a remote,
    which may have been written in another spelling before names were normalised; never for a
    name about to be written.
    """
    if not isinstance(value, str):
        return value
    checked, problem = _checked(value)
    return value if problem else checked


def _checked(value: str) -> tuple[str, str | None]:
    """(``value`` NFC-normalised when it holds no refused character, why it cannot be one name or None)."""
    bad = _REFUSED.search(value)
    if bad is not None:
        return value, _character_problem(bad.group())
    value = unicodedata.normalize("NFC", value)
    return value, _shape_problem(value)


def _character_problem(ch: str) -> str:
    return (
        f"it contains {describe_character(ch)}, {_refused(ch)}. Control characters (newline, tab, NUL, "
        "U+0080-U+009F), U+2028/U+2029, bidirectional controls and lone surrogates are refused"
    )


def _shape_problem(value: str) -> str | None:
    """Why an (NFC) name cannot be one file-name part, or None."""
    if not value.strip():
        return "it is empty"
    if value in (".", ".."):
        return "'.' and '..' refer to folders"
    if "/" in value or "\\" in value:
        return "it contains a path separator"
    if ".." in value:
        return "it contains '..'"
    if value.startswith("."):
        return "it starts with '.', which would hide it (and such names are kept for bookkeeping)"
    if value != value.strip():
        return "it starts or ends with white space"
    if len(value.encode("utf-8")) > MAX_NAME_BYTES:
        return f"it is longer than {MAX_NAME_BYTES} bytes"
    return None


def check_tag(tag: str | None) -> str | None:
    """Tags sit after ':' in a version folder name, so they may not contain ':' themselves."""
    if tag is None:
        return None
    tag = check_name(tag, "tag")
    if ":" in tag:
        raise InvalidNameError(f"Invalid tag {tag!r}: it contains ':'. Use letters, digits, '.', '-' or '_'.")
    return tag


def check_kind(word: str) -> str:
    """A kind becomes a folder name and a Python attribute, so it must be an identifier."""
    if not isinstance(word, str) or not _KIND_PATTERN.match(word):
        raise InvalidNameError(
            f"Invalid artifact kind {word!r}: use a Python identifier such as 'labels' or 'image_archive'."
        )
    return word
