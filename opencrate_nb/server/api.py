"""What the REST API answers, as plain functions of a snapshot root (no tornado here).

The handlers in ``handlers.py`` only parse the request and write these results, so every
rule (what may be read, what a preview holds, which mime type a file is served with) is
testable without a server. Paths in requests are ``/``-separated and relative to the
snapshot root, exactly as ``catalog.tree`` writes them.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import json
import os
import posixpath
import re
import urllib.parse
from typing import Any, Optional

from ..core import catalog, handlers, run_notebook, versions
from ..core.format import format_size, format_time
from ..core.handlers import get_handler, kind_for_folder, kind_for_suffix

#: a table preview reads at most this much of the file, whatever its line lengths (a one-line
#: 114 MB CSV costs a 256 KiB read), and sends at most this many columns and characters a cell
MAX_TABLE_BYTES = 256 << 10
MAX_TABLE_COLUMNS = 100
MAX_CELL_CHARS = 200
#: JSON nested deeper than this is shown as the text it is, not re-indented
MAX_JSON_DEPTH = 100
#: csv, json and yaml handlers parse the file to describe it: above this size the preview
#: skips that (it is the head of the file either way) so that no request parses a huge file
DESCRIBE_PARSE_MAX_BYTES = 1 << 20
_PARSING_KINDS = ("csv", "json", "yaml")
#: a Range bound of more significant digits than this is past the end of any file (and int() of
#: 5000 digits raises, leading zeros or not)
_MAX_RANGE_DIGITS = 18

#: The caps a client may send (``max_bytes``, ``rows``, ``lines``) are the sidebar's settings:
#: their defaults (used when a request gives none) and their maxima (what the server never
#: exceeds) are read from the settings schema, the one place that states and explains them.
SETTINGS_SCHEMA = ("schema", "plugin.json")  # inside labextension/ of a checkout
_SCHEMA_IN_BUILD = ("schemas", "opencrate-nb-labextension", "plugin.json")  # inside a built extension
_CAPS = {"max_bytes": "previewTextBytes", "rows": "previewTableRows", "lines": "logTailLines"}

# raw content shown inline by the browser (img, audio, video elements, text); anything
# else is sent as a download so that a saved .html or .svg never runs in the server's origin
_INLINE_TYPES = re.compile(r"^(image/(png|jpeg|gif|webp|bmp|tiff)|audio/[\w.+-]+|video/[\w.+-]+)$")
_TEXT_SUFFIXES = (".txt", ".log", ".md", ".json", ".yaml", ".yml", ".csv", ".tsv", ".py", ".cfg", ".ini", ".toml")
_MEDIA_KINDS = ("image", "gif", "audio", "video")


class ApiError(Exception):
    """A request the API refuses: ``status`` is the HTTP status, the message says why and what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ------------------------------------------------------------------------------------------------
# where the snapshots are, and which paths may be read
# ------------------------------------------------------------------------------------------------
def snapshot_root(server_root: str, configured: str = catalog.DEFAULT_ROOT) -> str:
    """The absolute snapshot folder: ``configured`` relative to the server root, which it may not leave.

    Nor may it lead through a link into a hidden folder (``runs -> .secret/runs``): that is
    refused (403) as the hidden folder is; a hidden folder named as such is the setting's choice.
    """
    name = configured.replace(os.sep, "/")
    try:
        root = catalog.resolve(server_root, name)
    except ValueError as exc:
        raise ApiError(
            500,
            f"The configured snapshot root {configured!r} is not inside the server root "
            f"({exc}). Set OpenCrate.snapshot_root to a folder below it.",
        ) from None
    real_server_root = os.path.realpath(server_root)
    if not catalog.visible_inside(real_server_root, root, resolved=True) and not catalog.is_hidden(name):
        raise ApiError(
            403,
            f"The configured snapshot root {configured!r} is a link into a hidden folder "
            f"({base_path(server_root, root)!r}): hidden folders are not served. Name the folder itself "
            "in OpenCrate.snapshot_root (or snapshot_roots) to show it.",
        )
    return root


def base_path(server_root: str, root: str) -> str:
    """The snapshot root relative to the server root, ``/``-separated ("" when they are the same)."""
    rel = os.path.relpath(root, os.path.realpath(server_root)).replace(os.sep, "/")
    return "" if rel == "." else rel


#: the status of each reason ``catalog.check_readable`` refuses a path for
_REFUSAL_STATUS = {
    "invalid": 403,
    "outside": 403,
    "hidden": 403,
    "denied": 403,
    "missing": 404,
    "loop": 400,
    "special": 400,
    "folder": 400,
}


def resolve(root: str, rel_path: Optional[str], allow_hidden: bool = False, folders: bool = True) -> str:
    """The absolute path of ``rel_path`` inside ``root`` when it may be read, or ApiError saying why.

    The rules are ``catalog.check_readable``'s (the tree follows the same): 403 for a path
    outside the root or hidden, as asked or as resolved (a symlink ``texts/r.txt ->
    ../.crate/record.jsonl`` is refused like the record itself), or not readable; 404 when it
    is not there; 400 for a loop of links, a FIFO, socket or device (reading one would never
    end) and, unless ``folders``, a folder. A path is also refused when decoding it again
    would leave the root (``%2e%2e%2f`` sent encoded twice): no name a user saved needs that.
    """
    if rel_path is None or rel_path == "":
        raise ApiError(
            400,
            "Give the artifact with ?path=<path relative to the snapshot root>, "
            "e.g. ?path=mnist/v0/jsons/metrics.json.",
        )
    decoded, previous = rel_path, None
    while "%" in decoded and decoded != previous:
        previous, decoded = decoded, urllib.parse.unquote(decoded)
    try:
        if decoded != rel_path:
            catalog.resolve(root, decoded)
        path, _ = catalog.check_readable(root, rel_path, allow_hidden, folders)
    except catalog.Unreadable as exc:
        message = exc.message
        if exc.reason == "hidden":
            message += " Set ContentsManager.allow_hidden=True to serve them."
        raise ApiError(_REFUSAL_STATUS[exc.reason], message) from None
    if not os.access(path, os.R_OK):
        raise ApiError(403, f"The server may not read {rel_path!r} (permission denied).")
    return path


def _schema_candidates() -> list[str]:
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates = [
        os.path.join(os.path.dirname(package), "labextension", *SETTINGS_SCHEMA),  # a checkout
        os.path.join(package, "labextension", *_SCHEMA_IN_BUILD),  # built in place (pip install -e)
    ]
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:  # pragma: no cover - jupyter_server (which needs jupyter_core) runs this module
        return candidates
    candidates += [
        os.path.join(folder, "opencrate-nb-labextension", *_SCHEMA_IN_BUILD) for folder in jupyter_path("labextensions")
    ]
    return candidates


@functools.lru_cache(maxsize=1)
def preview_caps() -> dict[str, tuple[int, int]]:
    """``{"max_bytes" | "rows" | "lines": (default, maximum)}`` from the sidebar's settings schema."""
    for candidate in _schema_candidates():
        try:
            with open(candidate, encoding="utf-8") as f:
                properties = json.load(f)["properties"]
        except (OSError, ValueError, KeyError):
            continue
        return {cap: (properties[key]["default"], properties[key]["maximum"]) for cap, key in _CAPS.items()}
    raise ApiError(
        500,
        "The sidebar's settings schema (plugin.json) was not found in this checkout or any labextensions "
        "folder, so the preview caps are unknown: reinstall opencrate-nb (pip install opencrate-nb).",
    )


def _bounded(value: Optional[str], cap: str) -> int:
    """A client's cap (``max_bytes``, ``rows``, ``lines``), or its default, never above its maximum."""
    default, maximum = preview_caps()[cap]
    what = cap
    if value is None or value == "":
        return default
    text = str(value).strip()
    if text.isdigit() and len(text.lstrip("0")) > len(str(maximum)):
        return maximum  # more digits than the cap has (int() of 5000 digits would raise)
    try:
        number = int(text)
    except (TypeError, ValueError):
        raise ApiError(400, f"{what} must be a whole number, got {value!r}.") from None
    if number < 0:
        raise ApiError(400, f"{what} must not be negative, got {number}.")
    return min(number, maximum)


# ------------------------------------------------------------------------------------------------
# tree
# ------------------------------------------------------------------------------------------------
def fingerprint(root: str) -> str:
    """The stamp the tree's ETag carries: equal stamps, equal trees (``catalog.fingerprint``)."""
    return catalog.fingerprint(root)


def tree(root: str, server_root: str, stamp: Optional[str] = None) -> dict[str, Any]:
    """``catalog.tree`` plus its fingerprint and ``base`` (where the root is, for opening files in tabs)."""
    stamp = stamp or catalog.fingerprint(root)
    payload = catalog.tree(root)
    for snapshot in payload["snapshots"]:
        snapshot["versions"] = [_with_notebook(root, version) for version in snapshot["versions"]]
    payload["root"] = os.path.basename(root)
    payload["base"] = base_path(server_root, root)
    payload["fingerprint"] = stamp
    return payload


def _with_notebook(root: str, version: dict[str, Any]) -> dict[str, Any]:
    """The version with ``notebook``: the path of its ``run.ipynb`` when it captured cells (so the
    file exists or can be built, see ``notebook``), else None. A copy: the catalog's dicts are its cache's."""
    captured = run_notebook.has_notebook(os.path.join(root, *version["path"].split("/")))
    return {**version, "notebook": f"{version['path']}/{run_notebook.NOTEBOOK_FILE}" if captured else None}


_encoded_trees: dict[tuple[str, str], tuple[str, bytes]] = {}  # (root, server root) -> (fingerprint, JSON)
_encoded_kinds: dict[tuple[str, str], tuple[list, bytes]] = {}  # (root, version path) -> (kinds list, its JSON)


def _dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON. A file name that is not UTF-8 (listed by Python with surrogate
    escapes) is sent escaped as text, ``bad\\xff.txt``, instead of failing the whole tree."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(_escaped(value), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _escaped(value: Any) -> Any:
    """``value`` with every string's undecodable bytes written as ``\\xNN``."""
    if isinstance(value, str):
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a lone surrogate no file name decoding made (e.g. from a record's JSON)
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


def _encode_version(root: str, version: dict[str, Any]) -> bytes:
    """A version's JSON; its artifacts (nearly all the bytes) are encoded again only when
    the catalog rebuilt them: it hands back the very same ``kinds`` list for a version that
    did not change, so after one save one version is encoded instead of the whole 2 MB."""
    key = (root, version["path"])
    kinds = version["kinds"]
    cached = _encoded_kinds.get(key)
    if cached is None or cached[0] is not kinds:
        cached = _encoded_kinds[key] = (kinds, _dumps(kinds))
    facts = _dumps({k: v for k, v in version.items() if k != "kinds"})
    return facts[:-1] + b',"kinds":' + cached[1] + b"}"


def _encode_tree(root: str, payload: dict[str, Any]) -> bytes:
    """The tree as JSON bytes (see ``_encode_version``)."""
    seen, snapshots = set(), []
    for snapshot in payload["snapshots"]:
        versions = []
        for version in snapshot["versions"]:
            seen.add((root, version["path"]))
            versions.append(_encode_version(root, version))
        snapshots.append(b'{"name":' + _dumps(snapshot["name"]) + b',"versions":[' + b",".join(versions) + b"]}")
    for key in [k for k in _encoded_kinds if k[0] == root and k not in seen]:
        del _encoded_kinds[key]
    head = _dumps({k: v for k, v in payload.items() if k != "snapshots"})
    return head[:-1] + b',"snapshots":[' + b",".join(snapshots) + b"]}"


def tree_json(root: str, server_root: str, stamp: str) -> bytes:
    """The tree as compact JSON bytes, built once per fingerprint.

    10,000 artifacts make about 2 MB of JSON; several tabs or a reload asking for an
    unchanged root get the bytes already made.
    """
    key = (root, server_root)
    cached = _encoded_trees.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    body = _encode_tree(root, tree(root, server_root, stamp))
    _encoded_trees[key] = (stamp, body)
    return body


def etag_matches(if_none_match: Optional[str], stamp: str) -> bool:
    """Whether an ``If-None-Match`` header names the tree's current ETag (``"<stamp>"``, or ``*``)."""
    tags = [tag.strip() for tag in (if_none_match or "").split(",")]
    return f'"{stamp}"' in tags or f'W/"{stamp}"' in tags or "*" in tags


# ------------------------------------------------------------------------------------------------
# one file: a summary and what the panel draws
# ------------------------------------------------------------------------------------------------
def kind_of(rel_path: str, is_log: bool = False) -> str:
    """The artifact kind from where the file sits (``<version>/<kind folder>/<file>``) or its suffix."""
    parts = rel_path.strip("/").split("/")
    if is_log or (len(parts) == 3 and parts[-1].endswith(".log")):
        return "log"
    if len(parts) >= 4:
        return kind_for_folder(parts[2])
    return kind_for_suffix(parts[-1]) or "file"


def media_type(path):
    if os.path.splitext(path)[1].lower() in _TEXT_SUFFIXES:
        return "text/plain; charset=utf-8"
    return handlers.media_type(path) or "application/octet-stream"


def raw_headers(path: str) -> tuple[str, str]:
    """(content type, disposition) to stream a file with: inline for media and text, else a download."""
    mime = media_type(path)
    name = urllib.parse.quote(os.path.basename(path), errors="surrogateescape")
    if mime.startswith("text/plain") or _INLINE_TYPES.match(mime):
        return mime, f"inline; filename*=UTF-8''{name}"
    return "application/octet-stream", f"attachment; filename*=UTF-8''{name}"


#: query arguments whose value is never logged: any key containing one of these (Jupyter's own list)
_CREDENTIAL_KEYS = ("token", "auth", "key", "code", "state", "xsrf")


def scrub_credentials(uri: str) -> str:
    """``uri`` with the value of every credential-like query argument replaced by ``[secret]``."""
    path, mark, query = uri.partition("?")
    if not mark:
        return uri
    parts = []
    for part in query.split("&"):
        key, equals, _ = part.partition("=")
        if equals and any(word in key.lower() for word in _CREDENTIAL_KEYS):
            part = f"{key}=[secret]"
        parts.append(part)
    return f"{path}?{'&'.join(parts)}"


def byte_range(header: Optional[str], size: int) -> Optional[tuple[int, int]]:
    """(first, last) byte of a single ``Range: bytes=a-b`` request, or None for the whole file.

    Media elements ask for ranges to seek. A range that starts past the end is a 416, and
    so is a start of more digits than any file size has (``bytes=99999...-``), an end that
    long means the end of the file; leading zeros are no digits (``bytes=000...1-`` is byte 1
    on). Multi-range requests are answered with the whole file, which HTTP allows.
    """
    text = header or ""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", text)
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = _range_bound(match.group(1)), _range_bound(match.group(2))
    if first is None:  # a suffix: the last ``last`` bytes
        start, end = max(0, size - (last or 0)), size - 1
    else:
        start, end = first, min(last, size - 1) if last is not None else size - 1
    if start >= size or start > end:
        shown = repr(text) if len(text) <= 60 else f"{text[:60]!r}…"
        raise ApiError(416, f"Range {shown} is outside the file's {size} bytes.")
    return start, end


#: a Range bound of more significant digits than this is past the end of any file
_PAST_ANY_END = 10**_MAX_RANGE_DIGITS


def _range_bound(digits: str) -> Optional[int]:
    """A bound of a ``Range`` header (None when absent), read without ``int()`` of thousands of
    digits, which raises: leading zeros do not count, and a bound of more than ``_MAX_RANGE_DIGITS``
    significant digits is ``_PAST_ANY_END``."""
    if not digits:
        return None
    significant = digits.lstrip("0")
    return _PAST_ANY_END if len(significant) > _MAX_RANGE_DIGITS else int(significant or "0")


def describe(path: str, kind: str) -> dict[str, Any]:
    """The handler's cheap summary (``{"error": ...}`` when it cannot be made, never an exception).

    Kinds whose handler parses the whole file (csv, json, yaml) are described only up to
    ``DESCRIBE_PARSE_MAX_BYTES``: a preview never parses a huge file. A table's header and
    head rows are cut as its preview is (``MAX_TABLE_COLUMNS`` columns, ``MAX_CELL_CHARS``
    characters a cell), with ``column_count`` saying how many columns it has.
    """
    if os.path.isdir(path):
        files = sorted(
            os.path.relpath(os.path.join(base, f), path).replace(os.sep, "/")
            for base, _, names in os.walk(path)
            for f in names
        )
        return {"files": files[:200], "file_count": len(files)}
    size = os.path.getsize(path)
    handler = get_handler(kind) if kind not in ("log", "file") else None
    if handler is None or not hasattr(handler, "describe"):
        return {"size": size}
    if kind in _PARSING_KINDS and size > DESCRIBE_PARSE_MAX_BYTES:
        return {
            "size": size,
            "note": f"larger than {format_size(DESCRIBE_PARSE_MAX_BYTES)}: the preview shows its head",
        }
    try:
        info = handler.describe(path)
    except Exception as exc:  # noqa: BLE001 - a preview must not fail on one odd file
        return {"size": size, "error": f"{type(exc).__name__}: {exc}"[:500]}
    if kind == "csv" and isinstance(info, dict):
        info = _capped_table_description(info)
    return _json_safe(info)


def _capped_row(row: list) -> tuple[list, bool]:
    """``row`` with at most ``MAX_TABLE_COLUMNS`` cells of at most ``MAX_CELL_CHARS`` characters, and
    whether that cut anything: what a table preview or description sends of one row."""
    if len(row) > MAX_TABLE_COLUMNS or any(len(str(cell)) > MAX_CELL_CHARS for cell in row):
        return [str(cell)[:MAX_CELL_CHARS] for cell in row[:MAX_TABLE_COLUMNS]], True
    return row, False


def _capped_table_description(info: dict[str, Any]) -> dict[str, Any]:
    """A csv description as the server sends it: ``columns`` and each ``head`` row cut as
    :func:`_capped_row` cuts them (a 1 MiB one-row CSV has 524,288 column names), plus
    ``column_count``, the number of columns before the cut."""
    columns = info.get("columns")
    if not isinstance(columns, list):
        return info
    capped = {**info, "columns": _capped_row(columns)[0], "column_count": len(columns)}
    head = info.get("head")
    if isinstance(head, list):
        capped["head"] = [_capped_row(row)[0] if isinstance(row, list) else row for row in head]
    return capped


def _iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def file_summary(
    root: str,
    rel_path: Optional[str],
    max_text_bytes: Optional[str] = None,
    max_rows: Optional[str] = None,
    max_lines: Optional[str] = None,
    allow_hidden: bool = False,
) -> dict[str, Any]:
    """Summary and preview data of one artifact or log, bounded by the given caps.

    A run log is a file: a folder named ``<x>.log`` where a log would be is refused (400).
    """
    kind = kind_of(rel_path or "")
    path = resolve(root, rel_path, allow_hidden, folders=kind != "log")
    assert rel_path is not None  # resolve refused an empty path
    text_cap = _bounded(max_text_bytes, "max_bytes")
    row_cap = _bounded(max_rows, "rows")
    line_cap = _bounded(max_lines, "lines")
    facts = os.stat(path)
    summary = {
        "path": rel_path,
        "name": os.path.basename(path),
        "kind": kind,
        "is_dir": os.path.isdir(path),
        "size": facts.st_size,
        "size_text": format_size(facts.st_size),
        "modified": _iso(facts.st_mtime),
        "modified_text": format_time(facts.st_mtime),
        "mime": media_type(path),
    }
    if kind == "log":
        summary["describe"] = {"size": facts.st_size}
        summary["preview"] = {"type": "log", "text": _log_tail(root, rel_path, line_cap, text_cap, allow_hidden)}
        return summary
    summary["describe"] = info = describe(path, kind)
    summary["preview"] = _preview(path, kind, info, text_cap, row_cap)
    return summary


def _log_tail(root: str, rel_path: str, lines: int, max_bytes: int, allow_hidden: bool) -> str:
    """``catalog.log_tail``, its refusal (the file was replaced by a FIFO since it was checked) an ApiError."""
    try:
        return catalog.log_tail(root, rel_path, lines, max_bytes, allow_hidden)
    except catalog.Unreadable as exc:
        raise ApiError(_REFUSAL_STATUS[exc.reason], exc.message) from None


def _preview(path: str, kind: str, info: dict[str, Any], text_cap: int, row_cap: int) -> dict[str, Any]:
    if os.path.isdir(path):
        return {"type": "files", "files": info.get("files", [])}
    if kind in _MEDIA_KINDS:
        return {"type": kind, "mime": media_type(path)}
    if kind == "csv":
        return table_preview(path, row_cap, info.get("rows"))
    if kind == "checkpoint":
        return {"type": "checkpoint"}
    if kind == "json":
        return json_preview(path, text_cap)
    if kind in ("text", "yaml") or path.lower().endswith(_TEXT_SUFFIXES):
        text, truncated = _head(path, text_cap)
        return {"type": "text", "text": text, "truncated": truncated}
    return {"type": "none"}


def _head(path: str, cap: int) -> tuple[str, bool]:
    with open(path, "rb") as f:
        data = f.read(cap + 1)
    return data[:cap].decode("utf-8", "replace"), len(data) > cap


def json_depth(value: Any, limit: int) -> int:
    """How deep ``value`` nests (a scalar is 0), counted without recursion and up to ``limit + 1``."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            depth += 1
            if depth > limit:
                return depth
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def json_preview(path: str, cap: int) -> dict[str, Any]:
    """The head of a JSON file, re-indented when it is whole, parses and nests at most
    ``MAX_JSON_DEPTH`` levels; otherwise the text as it is (never a RecursionError)."""
    text, truncated = _head(path, cap)
    preview: dict[str, Any] = {"type": "json", "text": text, "truncated": truncated}
    if truncated:
        return preview
    try:
        value = json.loads(text)
    except RecursionError:
        preview["note"] = f"nested deeper than {MAX_JSON_DEPTH} levels: shown as written"
        return preview
    except ValueError:
        return preview
    if json_depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        preview["note"] = f"nested deeper than {MAX_JSON_DEPTH} levels: shown as written"
        return preview
    pretty = json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")
    preview["truncated"] = len(pretty) > cap
    preview["text"] = pretty[:cap].decode("utf-8", "ignore")
    return preview


def table_preview(path: str, row_cap: int, total_rows: Optional[int] = None) -> dict[str, Any]:
    """The header and the first ``row_cap`` rows, from at most ``MAX_TABLE_BYTES`` of the file.

    Only a bounded prefix is read, so a file of one 114 MB line costs 256 KiB: its header
    is cut at ``MAX_TABLE_COLUMNS`` columns and every cell at ``MAX_CELL_CHARS`` characters.
    A row cut by the end of the prefix is dropped (unless it is the header).
    """
    delimiter = "\t" if path.lower().endswith(".tsv") else ","
    with open(path, "rb") as f:
        data = f.read(MAX_TABLE_BYTES + 1)
    whole = len(data) <= MAX_TABLE_BYTES
    text = data[:MAX_TABLE_BYTES].decode("utf-8", "replace")
    lines = text.splitlines(keepends=True)
    if not whole and len(lines) > 1 and not lines[-1].endswith(("\n", "\r")):
        text = text[: len(text) - len(lines[-1])]  # the last row is cut: drop it
    rows, clipped = [], not whole
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            row, cut = _capped_row(row)
            clipped = clipped or cut
            rows.append(row)
            if len(rows) > row_cap + 1:
                break
    except csv.Error:
        clipped = True  # a quote opened in the prefix and not closed in it: what was read so far
    more_rows = len(rows) > row_cap + 1 or (not whole and total_rows is None)
    return {
        "type": "table",
        "columns": rows[0] if rows else [],
        "rows": rows[1 : row_cap + 1],
        "total_rows": total_rows,
        "truncated": more_rows or clipped,
    }


# ------------------------------------------------------------------------------------------------
# load snippet
# ------------------------------------------------------------------------------------------------
def snippet(
    root: str, server_root: str, rel_path: Optional[str], cwd: str = "", allow_hidden: bool = False
) -> dict[str, str]:
    """Code loading ``rel_path`` in a kernel whose working folder is ``cwd`` (relative to the server root)."""
    resolve(root, rel_path, allow_hidden)
    assert rel_path is not None  # resolve refused an empty path
    try:
        folder = catalog.resolve(server_root, cwd or "")
    except ValueError as exc:
        raise ApiError(403, f"cwd: {exc}") from None
    if not os.path.isdir(folder):
        raise ApiError(404, f"cwd {cwd!r} is not a folder of the server root.")
    root_from_cwd = os.path.relpath(root, folder).replace(os.sep, "/")
    kind = kind_of(rel_path)
    return {"path": rel_path, "kind": kind, "code": catalog.load_snippet(root_from_cwd, rel_path, kind)}


# ------------------------------------------------------------------------------------------------
# the run's notebook
# ------------------------------------------------------------------------------------------------
def notebook(root: str, rel_path: Optional[str], allow_hidden: bool = False) -> dict[str, str]:
    """The path of version ``rel_path``'s ``run.ipynb``, brought up to date with the cells captured
    since it was last built (``run_notebook.ensure``), so that the tab opened shows every cell run.

    A version whose folder cannot be written gets the ``run.ipynb`` built last, if any (409 if none).
    """
    folder = resolve(root, rel_path, allow_hidden)
    assert rel_path is not None  # resolve refused an empty path
    rel = posixpath.normpath(rel_path.strip("/"))
    parts = rel.split("/")
    if not os.path.isdir(folder) or len(parts) != 2 or versions.parse_folder(parts[1]) is None:
        raise ApiError(400, f"{rel_path!r} is not a version folder: give one from the tree, e.g. ?path=mnist/v0.")
    try:
        built = run_notebook.ensure(folder)
    except OSError as exc:
        built = run_notebook.notebook_path(folder)
        if not os.path.isfile(built):
            raise ApiError(409, f"The run notebook of {rel!r} cannot be built there: {exc.strerror or exc}.") from None
    if built is None:
        raise ApiError(
            404,
            f"{rel!r} has no run notebook: no cell was captured there "
            "(load the extension with %load_ext opencrate before running the cells).",
        )
    return {"path": f"{rel}/{run_notebook.NOTEBOOK_FILE}"}
