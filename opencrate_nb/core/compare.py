"""Every version of a snapshot name side by side: run facts, config values and metrics.

One row per version; three groups of columns, kept apart:

- ``run``: ``number``, ``tag``, ``created``, ``duration`` (seconds), ``git`` (commit), ``artifacts``;
- ``config``: each key of every *config artifact*, flattened to dotted keys and prefixed with the
  artifact's name without its suffix (``config.optimizer.lr``);
- ``metric``: each number of every *metric artifact* (``metrics.accuracy``), and for a CSV the value
  of each numeric column in its last row (``history.loss``).

The rules (docs/compare.md), overridable per call with ``configs=`` / ``metrics=``: glob patterns
matched, case-insensitively, against the artifact's path inside the version (``jsons/config.json``).
A config artifact is a JSON or YAML artifact matching :data:`CONFIG_PATTERNS`; a metric artifact is
a JSON or CSV/TSV artifact matching :data:`METRIC_PATTERNS` that is not a config.

Speed: which artifacts a version holds, and their content hashes, come from the record index;
parsed values are cached by content hash, and a version's row by the identity of its record and
env.json, so comparing again when nothing changed costs two ``stat`` calls per version.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import math
import os
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

from . import _timelines, environment, refs
from ._names import check_name
from .errors import InvalidNameError
from .format import format_time, plural
from .record import RECORD_DIR as _RECORD_DIR
from .record import RECORD_FILE as _RECORD_FILE

if TYPE_CHECKING:
    from pandas import DataFrame

    from .snapshot import Snapshot

#: a config artifact: JSON or YAML whose path inside the version matches one of these
CONFIG_PATTERNS: tuple[str, ...] = ("*config*", "*cfg*", "*param*", "*setting*", "*/args.*", "*/options.*")
#: a metric artifact: JSON, CSV or TSV (and not a config) whose path matches one of these
METRIC_PATTERNS: tuple[str, ...] = ("*.json", "*.csv", "*.tsv")
#: JSON and YAML artifacts larger than this are not parsed (a note says so)
MAX_PARSED_BYTES = 4 << 20
#: the widest a cell of the plain-text table gets (a long list of a config, say)
TEXT_CELL_CHARS = 40
RUN_COLUMNS = ("number", "tag", "created", "duration", "git", "artifacts")

_CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
_METRIC_SUFFIXES = (".json", ".csv", ".tsv")
_VALUE_CACHE_SIZE = 50_000
_ROW_CACHE_SIZE = 20_000
_TABLE_CACHE_SIZE = 16

Key = tuple[str, str]


class Column:
    """One column: its ``group`` (run, config, metric), ``key`` and whether its values ``differ``."""

    __slots__ = ("group", "key", "differs")

    def __init__(self, group: str, key: str, differs: bool) -> None:
        self.group, self.key, self.differs = group, key, differs

    @property
    def label(self) -> str:
        """The flat name of the column (CSV, Markdown, --sort): config and metric keys hold a dot, run keys none."""
        return self.key

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "key": self.key, "label": self.label, "differs": self.differs}

    def __repr__(self) -> str:
        return f"<Column {self.group}:{self.key}>"


class Comparison:
    """The versions of one snapshot name as rows, and the columns chosen by ``only_diff`` and ``ignore``.

    ``rows[i][(group, key)]`` is a value (missing keys are absent); ``hidden`` counts the columns left
    out because every version has the same value; ``notes`` are the artifacts that could not be read.
    """

    def __init__(
        self,
        name: str,
        root: str,
        versions: list[refs.VersionRef],
        rows: list[dict[Key, Any]],
        columns: list[Column],
        hidden: int,
        notes: list[str],
    ) -> None:
        self.name, self.root, self.versions, self.rows = name, root, versions, rows
        self.columns, self.hidden, self.notes = columns, hidden, notes
        self._frame: Optional[DataFrame] = None

    def column(self, key: str) -> Column:
        """The column called ``key`` (its label, or the end of one after a dot: ``accuracy``)."""
        return find_column(self.columns, key)

    def values(self, column: Column) -> list[Any]:
        """The column's value in each row (None where a version lacks it)."""
        key = (column.group, column.key)
        return [row.get(key) for row in self.rows]

    def sorted(self, key: Optional[str]) -> Comparison:
        """The rows ordered by the column ``key`` (``-key``: descending); versions without a value last."""
        if not key:
            return self
        descending = key.startswith("-")
        column = self.column(key[1:] if descending else key)
        ranked = sorted(range(len(self.rows)), key=lambda i: sort_key(self.rows[i].get((column.group, column.key))))
        present = [i for i in ranked if self.rows[i].get((column.group, column.key)) is not None]
        absent = [i for i in ranked if self.rows[i].get((column.group, column.key)) is None]
        order = (present[::-1] if descending else present) + absent
        return Comparison(
            self.name,
            self.root,
            [self.versions[i] for i in order],
            [self.rows[i] for i in order],
            self.columns,
            self.hidden,
            self.notes,
        )

    # -- forms ---------------------------------------------------------------------------------
    def to_frame(self) -> DataFrame:
        """A pandas DataFrame: index ``version`` (the folder, ``v1:tag``), columns a MultiIndex (group, key).

        Built once per comparison (a comparison asked again with nothing changed is the same object):
        change a copy of it."""
        if self._frame is None:
            self._frame = self._build_frame()
        return self._frame

    def _build_frame(self) -> DataFrame:
        import pandas as pd

        keys = [(c.group, c.key) for c in self.columns]
        index = pd.Index([ref.folder for ref in self.versions], name="version")
        frame = pd.DataFrame({key: [row.get(key) for row in self.rows] for key in keys}, index=index)
        frame.columns = pd.MultiIndex.from_tuples(keys, names=["group", "key"])
        if ("run", "created") in keys:
            frame["run", "created"] = pd.to_datetime(frame["run", "created"], utc=True, errors="coerce")
        frame.attrs.update(name=self.name, hidden_columns=self.hidden, notes=list(self.notes))
        return frame

    def header(self) -> list[str]:
        """The flat header: ``version`` and each column's label."""
        return ["version", *(c.label for c in self.columns)]

    def text_rows(self) -> list[list[str]]:
        """Each row as the texts every UI shows (times, durations and numbers rendered once, here)."""
        return [
            [ref.folder, *(cell_text(c, row.get((c.group, c.key))) for c in self.columns)]
            for ref, row in zip(self.versions, self.rows)
        ]

    def summary(self) -> str:
        """One line: how many versions and columns, and how many identical ones were hidden."""
        shown = sum(c.group != "run" for c in self.columns)
        line = f"compare {self.name}: {plural(len(self.rows), 'version')}, "
        if not self.hidden:
            return line + plural(shown, "column") + " of configs and metrics"
        return line + f"{plural(shown, 'differing column')} ({self.hidden} identical in every version hidden)"

    def to_text(self) -> str:
        """An aligned plain-text table, for terminals (a cell longer than :data:`TEXT_CELL_CHARS` is cut with "…")."""
        lines = [self.summary()]
        table = [self.header(), *([_clip(cell) for cell in row] for row in self.text_rows())]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """A Markdown table (pipes and line breaks inside cells escaped)."""

        def cell(text: str) -> str:
            return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

        header = self.header()
        lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
        lines.extend("| " + " | ".join(cell(t) for t in row) + " |" for row in self.text_rows())
        return "\n".join(lines)

    def to_csv(self) -> str:
        """CSV of the raw values (times in ISO 8601, durations in seconds, lists and dicts as JSON)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.header())
        for ref, row in zip(self.versions, self.rows):
            writer.writerow([ref.folder, *(_csv_value(row.get((c.group, c.key))) for c in self.columns)])
        return out.getvalue()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the columns, and per row each cell's ``value`` and the ``text`` UIs show."""
        return {
            "name": self.name,
            "root": self.root,
            "columns": [c.to_dict() for c in self.columns],
            "hidden": self.hidden,
            "notes": list(self.notes),
            "rows": [
                {
                    "version": ref.folder,
                    "number": ref.number,
                    "tag": ref.tag,
                    "path": f"{ref.name}/{ref.folder}",
                    "cells": [_cell_dict(c, row.get((c.group, c.key))) for c in self.columns],
                }
                for ref, row in zip(self.versions, self.rows)
            ],
        }

    def __repr__(self) -> str:
        return f"<Comparison {self.summary()}>"


# ------------------------------------------------------------------------------------------------
# entry points
# ------------------------------------------------------------------------------------------------
def compare(
    name: Optional[str] = None,
    versions: Optional[Iterable[Union[int, str]]] = None,
    only_diff: bool = True,
    ignore: Union[str, Iterable[str]] = (),
    metrics: Optional[Union[str, Iterable[str]]] = None,
    configs: Optional[Union[str, Iterable[str]]] = None,
    sort: Optional[str] = None,
    root: Optional[Union[str, os.PathLike]] = None,
    snapshot: Optional[Snapshot] = None,
) -> DataFrame:
    """The versions of ``name`` as a pandas DataFrame (see the module doc and docs/compare.md)."""
    return table(name, versions, only_diff, ignore, metrics, configs, sort, root, snapshot).to_frame().copy()


def table(
    name: Optional[str] = None,
    versions: Optional[Iterable[Union[int, str]]] = None,
    only_diff: bool = True,
    ignore: Union[str, Iterable[str]] = (),
    metrics: Optional[Union[str, Iterable[str]]] = None,
    configs: Optional[Union[str, Iterable[str]]] = None,
    sort: Optional[str] = None,
    root: Optional[Union[str, os.PathLike]] = None,
    snapshot: Optional[Snapshot] = None,
) -> Comparison:
    """The :class:`Comparison` behind :func:`compare` (the CLI, the magics and the server use it).

    ``name``: default the set-up snapshot's name; ``versions``: references as everywhere
    (``3``, ``"v1:tag"``, a tag; default all); ``ignore``: glob patterns of column labels
    (``"*.seed"``); ``metrics`` / ``configs``: glob patterns of artifact paths replacing the
    default rules; ``sort``: a column label (``"-metrics.accuracy"``: descending).
    """
    name, root_text = _name_and_root(name, root, snapshot)
    ignore_patterns = _patterns(ignore, "ignore")
    rules = (
        _patterns(configs, "configs") if configs is not None else CONFIG_PATTERNS,
        _patterns(metrics, "metrics") if metrics is not None else METRIC_PATTERNS,
    )
    chosen = _chosen_versions(name, root_text, versions)
    rows: list[dict[Key, Any]] = []
    notes: list[str] = []
    for ref in chosen:
        values, row_notes = _version_row(ref, rules)
        rows.append(values)
        notes.extend(f"{ref.folder}: {note}" for note in row_notes)
    memo_key = (
        os.path.abspath(root_text),
        name,
        tuple(r.folder for r in chosen),
        rules,
        only_diff,
        ignore_patterns,
        sort,
    )
    with _guard:
        memo = _tables.get(memo_key)
    if memo is not None and len(memo[0]) == len(rows) and all(a is b for a, b in zip(memo[0], rows)):
        return memo[1]  # every row is the cached one: nothing changed since the last call
    columns, hidden = _columns(rows, only_diff, ignore_patterns)
    result = Comparison(name, root_text, chosen, rows, columns, hidden, notes).sorted(sort)
    with _guard:
        _tables[memo_key] = (rows, result)
        while len(_tables) > _TABLE_CACHE_SIZE:
            _tables.pop(next(iter(_tables)))
    return result


def find_column(columns: Sequence[Column], key: str) -> Column:
    """A column by label, or by the last parts of one (``accuracy`` for ``metrics.accuracy``) when only one ends so."""
    text = key.strip()
    for column in columns:
        if column.label == text:
            return column
    ends = [c for c in columns if c.label.endswith("." + text)]
    if len(ends) == 1:
        return ends[0]
    labels = ", ".join(c.label for c in columns) or "none"
    if len(ends) > 1:
        raise KeyError(f"Column {text!r} is ambiguous: {', '.join(c.label for c in ends)}. Use the full name.")
    raise KeyError(f"No column {text!r} in this comparison. Columns: {labels}.")


def sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before texts before the rest; numbers by value, texts alphabetically."""
    if isinstance(value, bool):
        return (1, str(value))
    if isinstance(value, (int, float)):
        return (0, value if value == value else math.inf)
    if isinstance(value, str):
        return (1, value)
    return (2, json.dumps(value, sort_keys=True, default=str))


def cell_text(column: Column, value: Any) -> str:
    """How every UI shows a value: a time through core/format, a duration as ``1 h 2 min``, numbers compactly."""
    if value is None:
        return ""
    if column.group == "run" and column.key == "created":
        return format_time(value)
    if column.group == "run" and column.key == "duration":
        return duration_text(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def duration_text(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


# ------------------------------------------------------------------------------------------------
# choosing versions and columns
# ------------------------------------------------------------------------------------------------
def _name_and_root(
    name: Optional[str], root: Optional[Union[str, os.PathLike]], snapshot: Optional[Snapshot]
) -> tuple[str, str]:
    set_up = snapshot is not None and snapshot.is_set_up
    if name is None:
        if not set_up:
            raise InvalidNameError(
                "Which snapshot? Pass compare(name=...) or set one up with oc.snapshot.setup(name=...)."
            )
        name = snapshot.name  # type: ignore[union-attr]
    name = check_name(name, "snapshot name")  # the spelling setup() stored
    if root is None:
        root = snapshot.root if set_up else refs.DEFAULT_ROOT  # type: ignore[union-attr]
    return name, os.fspath(root)


def _patterns(value: Union[None, str, Iterable[str]], what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = (value,) if isinstance(value, str) else tuple(value)
    for item in items:
        if not isinstance(item, str) or not item:
            raise InvalidNameError(f"{what}= takes glob patterns (text such as '*.seed'), got {item!r}.")
    return items


def _chosen_versions(name: str, root: str, versions: Optional[Iterable[Union[int, str]]]) -> list[refs.VersionRef]:
    every = refs.list_versions(root, name) or refs.iter_versions(root, name)  # none: the error listing the names
    if versions is None:
        return every
    if isinstance(versions, (str, int)):
        versions = [versions]
    chosen: list[refs.VersionRef] = []
    for ref in versions:
        found = refs.resolve(ref, name=name, root=root)
        if found.name != name:
            raise InvalidNameError(f"Version {ref!r} belongs to {found.name!r}: compare versions of {name!r} only.")
        if found not in chosen:
            chosen.append(found)
    return chosen


def _columns(rows: list[dict[Key, Any]], only_diff: bool, ignore: tuple[str, ...]) -> tuple[list[Column], int]:
    first: dict[Key, Any] = {}
    differing: set[Key] = set()
    for row in rows:  # one pass over every cell: the first value of each key, and whether another differs
        for key, value in row.items():
            if key not in first:
                first[key] = value
            elif key not in differing and value != first[key]:
                differing.add(key)
    everything = first.keys()
    for row in rows:
        if len(row) != len(everything):
            differing.update(everything - row.keys())  # missing in this version
    keys = [("run", key) for key in RUN_COLUMNS]
    for group in ("config", "metric"):
        keys.extend(sorted(key for key in first if key[0] == group))
    columns, hidden = [], 0
    for key in keys:
        if any(fnmatch.fnmatchcase(key[1], pattern) for pattern in ignore):
            continue
        differs = key in differing
        if only_diff and key[0] != "run" and not differs and len(rows) > 1:
            hidden += 1
            continue
        columns.append(Column(key[0], key[1], differs))
    return columns, hidden


# ------------------------------------------------------------------------------------------------
# one version's row, cached by the identity of its record and env.json
# ------------------------------------------------------------------------------------------------
_rows: dict[tuple[str, tuple[tuple[str, ...], tuple[str, ...]]], tuple[Any, dict[Key, Any], list[str]]] = {}
_values: dict[tuple[str, str, str, str], tuple[dict[Key, Any], Optional[str]]] = {}
_groups: dict[tuple[str, tuple[tuple[str, ...], tuple[str, ...]]], Optional[str]] = {}
_tables: dict[tuple[Any, ...], tuple[list[dict[Key, Any]], Comparison]] = {}
_guard = threading.Lock()


def _identity(path: str) -> Optional[tuple[int, int, int, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _version_row(
    ref: refs.VersionRef, rules: tuple[tuple[str, ...], tuple[str, ...]]
) -> tuple[dict[Key, Any], list[str]]:
    version_dir = os.path.abspath(ref.dir_path)
    record_dir = f"{version_dir}{os.sep}{_RECORD_DIR}{os.sep}"
    stamp = (_identity(record_dir + _RECORD_FILE), _identity(record_dir + environment.ENV_FILE))
    if stamp[0] is None:
        stamp = (_identity(version_dir), stamp[1])  # no record: described from the files, which change the folder
    cache_key = (version_dir, rules)
    with _guard:
        hit = _rows.get(cache_key)
    if hit is not None and hit[0] == stamp:
        return hit[1], hit[2]
    row, notes = _read_row(ref, version_dir, rules)
    with _guard:
        _rows[cache_key] = (stamp, row, notes)
        while len(_rows) > _ROW_CACHE_SIZE:
            _rows.pop(next(iter(_rows)))
    return row, notes


def _read_row(
    ref: refs.VersionRef, version_dir: str, rules: tuple[tuple[str, ...], tuple[str, ...]]
) -> tuple[dict[Key, Any], list[str]]:
    current = _timelines.index_for(version_dir).current
    runs = environment.runs(version_dir)
    row: dict[Key, Any] = {("run", "number"): ref.number, ("run", "tag"): ref.tag}
    row["run", "created"] = _created(runs, current)
    row["run", "duration"] = _duration(runs)
    row["run", "git"] = _git(runs)
    row["run", "artifacts"] = len(current)
    notes: list[str] = []
    for path in sorted(current):
        group = _group_of(path, rules)
        if group is None:
            continue
        entry = current[path]
        values, problem = _artifact_values(version_dir, path, entry, group)
        if problem:
            notes.append(f"{path}: {problem}")
        row.update(values)
    return row, notes


def _group_of(path: str, rules: tuple[tuple[str, ...], tuple[str, ...]]) -> Optional[str]:
    """``config``, ``metric`` or None for an artifact path, by the rules (remembered: paths repeat across versions)."""
    key = (path, rules)
    if key in _groups:
        return _groups[key]
    lowered = path.lower()
    group = None
    if lowered.endswith(_CONFIG_SUFFIXES) and _matches(lowered, rules[0]):
        group = "config"
    elif lowered.endswith(_METRIC_SUFFIXES) and _matches(lowered, rules[1]):
        group = "metric"
    with _guard:
        _groups[key] = group
        if len(_groups) > _VALUE_CACHE_SIZE:
            _groups.pop(next(iter(_groups)))
    return group


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern.lower()) for pattern in patterns)


def _stem(path: str) -> str:
    """``jsons/config.json`` -> ``config``; ``yamls/exp/train.yaml`` -> ``exp/train`` (the artifact's name)."""
    name = path.split("/", 1)[1] if "/" in path else path
    base, dot, _ = name.rpartition(".")
    return base if dot and base else name


def _created(runs: list[dict], current: dict[str, dict]) -> Optional[str]:
    start = runs[0].get("start") if runs else None
    if isinstance(start, str):
        return start
    times = [e["time"] for e in current.values() if isinstance(e.get("time"), str)]
    return min(times) if times else None


def _duration(runs: list[dict]) -> Optional[float]:
    total, known = 0.0, False
    for run in runs:
        start, end = _timelines.parse_time(run.get("start")), _timelines.parse_time(run.get("end"))
        if start is not None and end is not None and end >= start:
            total += end - start
            known = True
    return round(total, 3) if known else None


def _git(runs: list[dict]) -> Optional[str]:
    for run in reversed(runs):
        git = run.get("git")
        if isinstance(git, dict) and isinstance(git.get("commit"), str):
            return git["commit"][:10] + ("-dirty" if git.get("dirty") else "")
    return None


# ------------------------------------------------------------------------------------------------
# values of one artifact, cached by content hash
# ------------------------------------------------------------------------------------------------
def _artifact_values(version_dir: str, path: str, entry: dict, group: str) -> tuple[dict[Key, Any], Optional[str]]:
    """The artifact's cells as ``{(group, "<name>.<key>"): value}``, cached by content hash."""
    full = os.path.join(version_dir, path)
    sha = entry.get("sha256")
    if not isinstance(sha, str):
        identity = _identity(full)  # a record rebuilt from the files has no hashes
        if identity is None:
            return {}, "missing"
        sha = f"{full}:{identity}"
    suffix = path.lower().rsplit(".", 1)[-1]
    prefix = _stem(path)
    cache_key = (sha, group, prefix, suffix)
    with _guard:
        hit = _values.get(cache_key)
    if hit is not None:
        return hit
    parsed, problem = _parse(full, suffix, group, prefix)
    result = ({(group, key): value for key, value in parsed.items()}, problem)
    with _guard:
        _values[cache_key] = result
        while len(_values) > _VALUE_CACHE_SIZE:
            _values.pop(next(iter(_values)))
    return result


def _parse(full: str, suffix: str, group: str, prefix: str) -> tuple[dict[str, Any], Optional[str]]:
    """The artifact's values by column key (``<prefix>.<dotted key>``), or ({}, why not)."""
    if suffix in ("csv", "tsv"):
        last, problem = _last_row(full, "\t" if suffix == "tsv" else ",")
        return {f"{prefix}.{column}": value for column, value in last.items()}, problem
    try:
        if os.path.getsize(full) > MAX_PARSED_BYTES:
            return {}, f"larger than {MAX_PARSED_BYTES >> 20} MB, not read"
        with open(full, "rb") as f:
            data = f.read()
        value = json.loads(data) if suffix == "json" else _yaml(data)
    except OSError as exc:
        return {}, f"could not be read ({exc.strerror or exc})"
    except (ValueError, ImportError) as exc:
        return {}, f"could not be parsed ({str(exc).splitlines()[0][:80]})"
    flat = _flat(value, prefix)
    if group == "metric":
        flat = {k: v for k, v in flat.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return flat, None


def _flat(value: Any, prefix: str) -> dict[str, Any]:
    """``diff.flatten(value, prefix)`` (the one rule for dotted keys), with the top level of an object
    unrolled here: most configs are flat, and a call per key costs more than the parsing did."""
    from .handlers._compare import flatten

    if not isinstance(value, dict) or not value:
        return flatten(value, prefix)  # a value that is no object is the one column ``prefix``
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            flatten(item, f"{prefix}.{key}", out)
        else:
            out[f"{prefix}.{key}"] = item
    return out


def _yaml(data: bytes) -> Any:
    import yaml

    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None


def _last_row(full: str, delimiter: str) -> tuple[dict[str, Any], Optional[str]]:
    """The numeric cells of a CSV's last row, by column: read from its first and last lines only."""
    try:
        with open(full, "rb") as f:
            head = f.readline(1 << 20)
            size = f.seek(0, os.SEEK_END)
            f.seek(max(len(head), size - (64 << 10)))
            tail = f.read()
    except OSError as exc:
        return {}, f"could not be read ({exc.strerror or exc})"
    lines = [line for line in tail.decode("utf-8", "replace").splitlines() if line.strip()]
    if not head.strip() or not lines:
        return {}, None
    header = next(csv.reader([head.decode("utf-8", "replace").strip("\r\n")], delimiter=delimiter), [])
    last = next(csv.reader([lines[-1]], delimiter=delimiter), [])
    out: dict[str, Any] = {}
    for column, text in zip(header, last):
        number = _number(text)
        if column and number is not None:
            out[column] = number
    return out, None


def _number(text: str) -> Union[int, float, None]:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def _clip(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= TEXT_CELL_CHARS else text[: TEXT_CELL_CHARS - 1] + "\u2026"


def _json_safe(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _cell_dict(column: Column, value: Any) -> dict[str, Any]:
    return {"value": _json_safe(value), "text": cell_text(column, value)}


def _csv_value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "" if value is None else value
