"""Plain text: ``oc.snapshot.text("notes.txt")``."""

import os

from ._base import Handler

HEAD_CHARS = 2000


class TextHandler(Handler):
    kind = "text"
    folder = "texts"
    suffixes = (".txt",)
    description = "any string, saved as UTF-8 text"

    def to_bytes(self, obj, path=None, encoding="utf-8"):
        if isinstance(obj, bytes):
            return obj
        return str(obj).encode(encoding)

    def load(self, path, encoding="utf-8"):
        with open(path, encoding=encoding) as f:
            return f.read()

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
