"""Plain text: ``oc.snapshot.text("notes.txt")``."""

import os

from ._base import Handler, counted, undecodable
from ._compare import MAX_PARSED_BYTES, Detail, too_large, unified

HEAD_CHARS = 2000


class TextHandler(Handler):
    kind = "text"
    folder = "texts"
    suffixes = (".txt",)
    description = "a string, saved as UTF-8 text (or the encoding= given)"
    media_types = {".txt": "text/plain", ".md": "text/markdown", ".log": "text/plain"}

    def to_bytes(self, obj: str, path: str | None = None, encoding: str = "utf-8") -> bytes:
        """Only ``str``: what is saved is what ``load()`` returns, line endings included."""
        if not isinstance(obj, str):
            hint = (
                "decode them first, e.g. data.decode('utf-8'), or keep raw bytes with a custom handler"
                if isinstance(obj, (bytes, bytearray, memoryview))
                else "convert it first, e.g. str(value), or save it with the json kind"
            )
            raise TypeError(f"A text artifact holds a str, got {type(obj).__name__}: {hint}. Nothing was written.")
        return obj.encode(encoding)

    def load(self, path: str, encoding: str = "utf-8") -> str:
        """The string saved; bytes that are not valid in ``encoding`` raise UndecodableTextError (a corrupt file)."""
        try:
            with open(path, encoding=encoding, newline="") as f:  # "\r\n" stays "\r\n"
                return f.read()
        except UnicodeDecodeError as exc:
            raise undecodable(path, encoding, exc) from None

    def describe(self, path):
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(HEAD_CHARS)
        lines = None
        if size <= 8 << 20:
            with open(path, "rb") as f:
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
                if size and not head.endswith(b"\n") and size <= HEAD_CHARS:
                    lines += 1
        return {"size": size, "lines": lines, "head": head.decode("utf-8", "replace"), "truncated": size > HEAD_CHARS}

    def summary(self, description: dict) -> str:
        lines = description.get("lines")
        return counted(lines, "line") if isinstance(lines, int) else ""

    def compare(self, path_a: str, path_b: str) -> Detail:
        """A unified diff of the lines."""
        skip = too_large(path_a, path_b, MAX_PARSED_BYTES)
        if skip:
            return skip
        with open(path_a, encoding="utf-8", errors="replace") as f:
            lines_a = f.read().splitlines()
        with open(path_b, encoding="utf-8", errors="replace") as f:
            lines_b = f.read().splitlines()
        return Detail(lines=unified(lines_a, lines_b))
