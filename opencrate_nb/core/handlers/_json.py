"""JSON: dicts, lists and other JSON-serialisable values (numpy scalars and arrays too)."""

import functools
import json
import os

from ._base import Handler

DESCRIBE_MAX_BYTES = 4 << 20


def _default(value):
    """Turn numpy scalars/arrays, sets and paths into JSON values instead of failing."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(
        f"Object of type {type(value).__name__} is not JSON serializable; "
        "convert it to dict/list/str/number first, or save it with another kind (e.g. checkpoint)."
    )


@functools.lru_cache(maxsize=16)
def _encoder(indent, sort_keys, ensure_ascii):
    """One encoder per set of options (json.dumps would build a new one for every save)."""
    return json.JSONEncoder(indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii, default=_default).encode


class JsonHandler(Handler):
    kind = "json"
    folder = "jsons"
    suffixes = (".json",)
    description = "JSON-serialisable values (dict, list, str, numbers)"

    def to_bytes(self, obj, path=None, indent=4, sort_keys=False, ensure_ascii=False):
        return _encoder(indent, sort_keys, ensure_ascii)(obj).encode("utf-8")

    def load(self, path):
        with open(path, "rb") as f:
            return json.loads(f.read())

    def describe(self, path):
        size = os.path.getsize(path)
        info = {"size": size}
        if size > DESCRIBE_MAX_BYTES:
            info["note"] = "too large to summarise"
            return info
        value = self.load(path)
        info.update(summarize_value(value))
        return info


def summarize_value(value, max_keys=50):
    """Type, length and top-level keys of a parsed JSON/YAML value."""
    info = {"type": type(value).__name__}
    if isinstance(value, dict):
        keys = list(value)
        info["length"] = len(keys)
        info["keys"] = [str(k) for k in keys[:max_keys]]
    elif isinstance(value, list):
        info["length"] = len(value)
    return info
