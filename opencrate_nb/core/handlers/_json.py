"""JSON: dicts, lists and other JSON-serialisable values (numpy scalars and arrays too)."""

import functools
import json
import os
from typing import Any

from ..format import plural
from . import _indented_json
from ._base import Handler, corrupt
from ._compare import Detail, compare_values

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
    return json.JSONEncoder(
        indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii, default=_default, allow_nan=False
    ).encode


def _non_finite_at(value, where="", depth=0):
    """Where the first NaN or infinity sits in ``value`` (``['loss'][3] is NaN``), or None."""
    if isinstance(value, float):
        finite = value == value and value not in (float("inf"), float("-inf"))
        return None if finite else f"{where or 'the value'} is {'NaN' if value != value else repr(value)}"
    if depth > 200:
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
        if isinstance(value, float):
            return _non_finite_at(value, where, depth)
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite_at(item, f"{where}[{key!r}]", depth + 1)
        if found:
            return found
    return None


class JsonHandler(Handler):
    kind = "json"
    folder = "jsons"
    suffixes = (".json",)
    description = "JSON-serialisable values (dict, list, str, numbers)"
    media_types = {".json": "application/json"}

    def to_bytes(
        self,
        obj: Any,
        path: str | None = None,
        indent: int | None = 4,
        sort_keys: bool = False,
        ensure_ascii: bool = False,
    ) -> bytes:
        """Standard JSON only: NaN and infinities are refused (most JSON readers reject them)."""
        text = _indented_json.encode(obj, indent, sort_keys, ensure_ascii) if indent is not None else None
        try:
            if text is None:
                text = _encoder(indent, sort_keys, ensure_ascii)(obj)
        except ValueError as exc:
            if "JSON compliant" not in str(exc):
                raise
            where = _non_finite_at(obj) or "a value is NaN or infinite"
            raise ValueError(
                f"Cannot save {os.path.basename(path) if path else 'this value'!r} as JSON: {where}, "
                "which standard JSON cannot hold. Replace it (e.g. with None, or a string such as "
                "'nan'), or save the values with the csv or checkpoint kind. Nothing was written."
            ) from None
        return text.encode("utf-8")

    def load(self, path: str) -> Any:
        with open(path, "rb") as f:
            data = f.read()
        try:
            return json.loads(data)
        except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
            raise corrupt(path, "it is not valid JSON", exc) from None

    def describe(self, path):
        size = os.path.getsize(path)
        info = {"size": size}
        if size > DESCRIBE_MAX_BYTES:
            info["note"] = "too large to summarise"
            return info
        value = self.load(path)
        info.update(summarize_value(value))
        return info

    def summary(self, description: dict) -> str:
        return value_summary(description)

    def compare(self, path_a: str, path_b: str) -> Detail:
        """Key by key: removed, added and changed keys of the parsed values."""
        return compare_values(self.load, path_a, path_b)


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


def value_summary(description):
    """``dict with 3 keys``, ``list with 1 item``: the line of a parsed JSON/YAML value."""
    kind, length = description.get("type"), description.get("length")
    if not kind:
        return ""
    if not isinstance(length, int):
        return str(kind)
    return f"{kind} with {plural(length, 'key' if kind == 'dict' else 'item')}"
