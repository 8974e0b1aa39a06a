"""Checks on user-given names before they become folder or file names."""

import re

from .errors import InvalidNameError

_ALLOWED = "letters, digits, '.', '-', '_', spaces and ':'"
_KIND_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def check_name(value, what):
    """Return ``value`` if it is safe as a single path component, else raise InvalidNameError.

    ``what`` says which argument is checked ("snapshot name", "tag", ...), so that the
    error tells the user what to change.
    """
    if not isinstance(value, str):
        raise InvalidNameError(f"The {what} must be a string, got {type(value).__name__}: {value!r}.")
    problem = None
    if not value.strip():
        problem = "it is empty"
    elif value in (".", ".."):
        problem = "'.' and '..' refer to folders"
    elif "/" in value or "\\" in value:
        problem = "it contains a path separator"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        problem = "it contains a control character (newline, tab, NUL, ...)"
    elif ".." in value:
        problem = "it contains '..'"
    elif value.startswith("."):
        problem = "it starts with '.', which would hide it (and such names are kept for bookkeeping)"
    elif value != value.strip():
        problem = "it starts or ends with white space"
    elif len(value.encode("utf-8")) > 200:
        problem = "it is longer than 200 bytes"
    if problem:
        raise InvalidNameError(f"Invalid {what} {value!r}: {problem}. Use a single file-name part made of {_ALLOWED}.")
    return value


def check_tag(tag):
    """Tags sit after ':' in a version folder name, so they may not contain ':' themselves."""
    if tag is None:
        return None
    check_name(tag, "tag")
    if ":" in tag:
        raise InvalidNameError(f"Invalid tag {tag!r}: it contains ':'. Use letters, digits, '.', '-' or '_'.")
    return tag


def check_kind(word):
    """A kind becomes a folder name and a Python attribute, so it must be an identifier."""
    if not isinstance(word, str) or not _KIND_PATTERN.match(word):
        raise InvalidNameError(
            f"Invalid artifact kind {word!r}: use a Python identifier such as 'labels' or 'image_archive'."
        )
    return word
