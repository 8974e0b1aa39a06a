"""What the REST API answers, as plain functions of a snapshot root (no tornado here).

The handlers in ``handlers.py`` only parse the request and write these results, so every
rule (what may be read, what a preview holds, which mime type a file is served with) is
testable without a server. Paths in requests are ``/``-separated and relative to the
snapshot root, exactly as ``catalog.tree`` writes them.
"""

import csv
import datetime
import json
import os
import re
import urllib.parse

from ..core import catalog, handlers
from ..core.handlers import get_handler, kind_for_folder, kind_for_suffix

#: upper bounds the client cannot raise (its own settings may ask for less)
MAX_TEXT_BYTES = 1 << 20
MAX_TABLE_ROWS = 500
MAX_LOG_LINES = 5000

DEFAULT_TEXT_BYTES = 64 << 10
DEFAULT_TABLE_ROWS = 20
DEFAULT_LOG_LINES = 200

# raw content shown inline by the browser (img, audio, video elements, text); anything
# else is sent as a download so that a saved .html or .svg never runs in the server's origin
_INLINE_TYPES = re.compile(r"^(image/(png|jpeg|gif|webp|bmp|tiff)|audio/[\w.+-]+|video/[\w.+-]+)$")
_TEXT_SUFFIXES = (".txt", ".log", ".md", ".json", ".yaml", ".yml", ".csv", ".tsv", ".py", ".cfg", ".ini", ".toml")
_MEDIA_KINDS = ("image", "gif", "audio", "video")


class ApiError(Exception):
    """A request the API refuses: ``status`` is the HTTP status, the message says why and what to do."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


# ------------------------------------------------------------------------------------------------
# where the snapshots are, and which paths may be read
# ------------------------------------------------------------------------------------------------
def snapshot_root(server_root, configured=catalog.DEFAULT_ROOT):
    """The absolute snapshot folder: ``configured`` relative to the server root, which it may not leave."""
    try:
        return catalog.resolve(server_root, configured.replace(os.sep, "/"))
    except ValueError as exc:
        raise ApiError(
            500,
            f"The configured snapshot root {configured!r} is not inside the server root "
            f"({exc}). Set OpenCrate.snapshot_root to a folder below it.",
        ) from None


def base_path(server_root, root):
    """The snapshot root relative to the server root, ``/``-separated ("" when they are the same)."""
    rel = os.path.relpath(root, os.path.realpath(server_root)).replace(os.sep, "/")
    return "" if rel == "." else rel


def resolve(root, rel_path, allow_hidden=False, must_exist=True):
    """The absolute path of ``rel_path`` inside ``root``, or ApiError (403 outside or hidden, 404 missing).

    A path is also refused when decoding it again would leave the root (``%2e%2e%2f``
    sent encoded twice): no name a user saved needs that.
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
        path = catalog.resolve(root, rel_path)
    except ValueError as exc:
        raise ApiError(403, str(exc)) from None
    if not allow_hidden and any(part.startswith(".") for part in re.split(r"[\\/]+", rel_path) if part):
        raise ApiError(
            403,
            f"Refused path {rel_path!r}: hidden files and folders (names starting with '.') "
            "are not served; set ContentsManager.allow_hidden=True to allow them.",
        )
    if must_exist and not os.path.exists(path):
        raise ApiError(404, f"No file or folder {rel_path!r} in the snapshot root.")
    return path


def _bounded(value, default, maximum, what):
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"{what} must be a whole number, got {value!r}.") from None
    if number < 0:
        raise ApiError(400, f"{what} must not be negative, got {number}.")
    return min(number, maximum)


# ------------------------------------------------------------------------------------------------
# tree and fingerprint
# ------------------------------------------------------------------------------------------------
def fingerprint(root):
    return catalog.fingerprint(root)


def tree(root, server_root, stamp=None):
    """``catalog.tree`` plus its fingerprint and ``base`` (where the root is, for opening files in tabs)."""
    stamp = stamp or catalog.fingerprint(root)
    payload = catalog.tree(root)
    payload["root"] = os.path.basename(root)
    payload["base"] = base_path(server_root, root)
    payload["fingerprint"] = stamp
    return payload


_encoded_trees = {}  # (root, server root) -> (fingerprint, JSON bytes)
_encoded_kinds = {}  # (root, version path) -> (the catalog's list of kind folders, its JSON bytes)


def _dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _encode_version(root, version):
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


def _encode_tree(root, payload):
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


def tree_json(root, server_root, stamp):
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


# ------------------------------------------------------------------------------------------------
# one file: a summary and what the panel draws
# ------------------------------------------------------------------------------------------------
def kind_of(rel_path, is_log=False):
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


def raw_headers(path):
    """(content type, disposition) to stream a file with: inline for media and text, else a download."""
    mime = media_type(path)
    name = urllib.parse.quote(os.path.basename(path))
    if mime.startswith("text/plain") or _INLINE_TYPES.match(mime):
        return mime, f"inline; filename*=UTF-8''{name}"
    return "application/octet-stream", f"attachment; filename*=UTF-8''{name}"


def byte_range(header, size):
    """(first, last) byte of a single ``Range: bytes=a-b`` request, or None for the whole file.

    Media elements ask for ranges to seek. A range that starts past the end is a 416;
    multi-range requests are answered with the whole file, which HTTP allows.
    """
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header or "")
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ApiError(416, f"Range {header!r} is outside the file's {size} bytes.")
    return start, end


def describe(path, kind):
    """The handler's cheap summary (``{"error": ...}`` when it cannot be made, never an exception)."""
    if os.path.isdir(path):
        files = sorted(
            os.path.relpath(os.path.join(base, f), path).replace(os.sep, "/")
            for base, _, names in os.walk(path)
            for f in names
        )
        return {"files": files[:200], "file_count": len(files)}
    handler = get_handler(kind) if kind not in ("log", "file") else None
    if handler is None or not hasattr(handler, "describe"):
        return {"size": os.path.getsize(path)}
    try:
        return _json_safe(handler.describe(path))
    except Exception as exc:  # noqa: BLE001 - a preview must not fail on one odd file
        return {"size": os.path.getsize(path), "error": f"{type(exc).__name__}: {exc}"}


def _iso(timestamp):
    return datetime.datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def _json_safe(value):
    return json.loads(json.dumps(value, default=str))


def file_summary(root, rel_path, max_text_bytes=None, max_rows=None, max_lines=None, allow_hidden=False):
    """Summary and preview data of one artifact or log, bounded by the given caps."""
    path = resolve(root, rel_path, allow_hidden)
    text_cap = _bounded(max_text_bytes, DEFAULT_TEXT_BYTES, MAX_TEXT_BYTES, "max_bytes")
    row_cap = _bounded(max_rows, DEFAULT_TABLE_ROWS, MAX_TABLE_ROWS, "rows")
    line_cap = _bounded(max_lines, DEFAULT_LOG_LINES, MAX_LOG_LINES, "lines")
    kind = kind_of(rel_path)
    stat = os.stat(path)
    summary = {
        "path": rel_path,
        "name": os.path.basename(path),
        "kind": kind,
        "is_dir": os.path.isdir(path),
        "size": stat.st_size,
        "modified": _iso(stat.st_mtime),
        "mime": media_type(path),
    }
    if kind == "log":
        summary["describe"] = {"size": stat.st_size}
        summary["preview"] = {"type": "log", "text": catalog.log_tail(root, rel_path, line_cap, text_cap)}
        return summary
    summary["describe"] = info = describe(path, kind)
    summary["preview"] = _preview(path, kind, info, text_cap, row_cap)
    return summary


def _preview(path, kind, info, text_cap, row_cap):
    if os.path.isdir(path):
        return {"type": "files", "files": info.get("files", [])}
    if kind in _MEDIA_KINDS:
        return {"type": kind, "mime": media_type(path)}
    if kind == "csv":
        return _table_preview(path, row_cap, info)
    if kind == "checkpoint":
        return {"type": "checkpoint"}
    if kind == "json":
        return _json_preview(path, text_cap)
    if kind in ("text", "yaml") or path.lower().endswith(_TEXT_SUFFIXES):
        text, truncated = _head(path, text_cap)
        return {"type": "text", "text": text, "truncated": truncated}
    return {"type": "none"}


def _head(path, cap):
    with open(path, "rb") as f:
        data = f.read(cap + 1)
    return data[:cap].decode("utf-8", "replace"), len(data) > cap


def _json_preview(path, cap):
    text, truncated = _head(path, cap)
    if not truncated:
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
        else:
            truncated = len(text.encode("utf-8")) > cap
            text = text.encode("utf-8")[:cap].decode("utf-8", "ignore")
    return {"type": "json", "text": text, "truncated": truncated}


def _table_preview(path, row_cap, info):
    """The header and the first ``row_cap`` rows (one more is read to know whether there are more)."""
    delimiter = "\t" if path.lower().endswith(".tsv") else ","
    rows = []
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for row in csv.reader(f, delimiter=delimiter):
            rows.append(row)
            if len(rows) > row_cap + 1:
                break
    return {
        "type": "table",
        "columns": rows[0] if rows else [],
        "rows": rows[1 : row_cap + 1],
        "total_rows": info.get("rows"),
        "truncated": len(rows) > row_cap + 1,
    }


# ------------------------------------------------------------------------------------------------
# log tail and load snippet
# ------------------------------------------------------------------------------------------------
def version_log(root, rel_path, allow_hidden=False):
    """The run log of a version folder (``<name>/v<N>[:<tag>]`` -> ``<name>.log``), or the log file given."""
    path = resolve(root, rel_path, allow_hidden)
    if not os.path.isdir(path):
        return rel_path.strip("/")
    parts = rel_path.strip("/").split("/")
    if len(parts) != 2:
        raise ApiError(400, f"{rel_path!r} is a folder but not a version: give <name>/v<N> or a .log file.")
    log_rel = f"{parts[0]}/{parts[1]}/{parts[0]}.log"
    resolve(root, log_rel, allow_hidden)
    return log_rel


def log_tail(root, rel_path, max_lines=None, allow_hidden=False):
    """The last lines of a version's run log (or of the log file given)."""
    log_rel = version_log(root, rel_path, allow_hidden)
    lines = _bounded(max_lines, DEFAULT_LOG_LINES, MAX_LOG_LINES, "lines")
    path = resolve(root, log_rel, allow_hidden)
    return {
        "path": log_rel,
        "size": os.path.getsize(path),
        "text": catalog.log_tail(root, log_rel, lines, MAX_TEXT_BYTES),
    }


def snippet(root, server_root, rel_path, cwd="", allow_hidden=False):
    """Code loading ``rel_path`` in a kernel whose working folder is ``cwd`` (relative to the server root)."""
    resolve(root, rel_path, allow_hidden)
    try:
        folder = catalog.resolve(server_root, cwd or "")
    except ValueError as exc:
        raise ApiError(403, f"cwd: {exc}") from None
    if not os.path.isdir(folder):
        raise ApiError(404, f"cwd {cwd!r} is not a folder of the server root.")
    root_from_cwd = os.path.relpath(root, folder).replace(os.sep, "/")
    kind = kind_of(rel_path)
    return {"path": rel_path, "kind": kind, "code": catalog.load_snippet(root_from_cwd, rel_path, kind)}
