"""Tables: pandas DataFrames, numpy arrays, lists of rows or of dicts, saved as CSV."""

import csv
import io
import os
from typing import Any

from ..format import plural
from ._base import Handler, counted, require, undecodable
from ._compare import MAX_TABLE_BYTES, Detail, too_large

HEAD_ROWS = 5


def _is_dataframe(obj):
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "to_csv")


class CsvHandler(Handler):
    kind = "csv"
    folder = "csvs"
    suffixes = (".csv", ".tsv")
    description = "pandas DataFrames, numpy arrays, lists of rows or of dicts"
    media_types = {".csv": "text/csv", ".tsv": "text/tab-separated-values"}

    def to_bytes(
        self,
        obj: Any,
        path: str | None = None,
        index: bool | None = None,
        sep: str | None = None,
        header: bool = True,
        **kwargs: Any,
    ) -> bytes:
        """``index=None`` writes the index only when it carries information (not 0..n-1).

        ``sep`` defaults to a tab for ``.tsv`` files and a comma otherwise.
        """
        if sep is None:
            sep = _separator(path)
        if type(obj).__name__ == "Series" and hasattr(obj, "to_frame"):
            obj = obj.to_frame()
        if isinstance(obj, dict):
            pd = require("pandas", None, "Saving a dict of columns as CSV")
            obj = pd.DataFrame(obj)
        if _is_dataframe(obj):
            if len(obj.columns) == 0 and len(obj.index) == 0:
                return b""  # no columns: an empty file, which load() reads as an empty DataFrame
            if index is None:
                index = not _has_default_index(obj)
            return obj.to_csv(index=index, sep=sep, header=header, **kwargs).encode("utf-8")
        buffer = io.StringIO()
        if type(obj).__module__ == "numpy" and hasattr(obj, "ndim"):
            if obj.ndim not in (1, 2):
                raise ValueError(f"Only 1-D or 2-D arrays can be saved as CSV, got shape {obj.shape}.")
            writer = csv.writer(buffer, delimiter=sep, lineterminator="\n")
            rows = obj.reshape(-1, 1) if obj.ndim == 1 else obj
            writer.writerows(rows.tolist())
            return buffer.getvalue().encode("utf-8")
        rows = list(obj)
        if rows and isinstance(rows[0], dict):
            fields = list(dict.fromkeys(k for row in rows for k in row))
            dict_writer = csv.DictWriter(buffer, fieldnames=fields, delimiter=sep, lineterminator="\n")
            if header:
                dict_writer.writeheader()
            dict_writer.writerows(rows)
        else:
            csv.writer(buffer, delimiter=sep, lineterminator="\n").writerows(rows)
        return buffer.getvalue().encode("utf-8")

    def load(self, path: str, lib: str = "pandas", encoding: str = "utf-8", **kwargs: Any) -> Any:
        """``lib="pandas"`` -> DataFrame, ``"csv"`` -> list of rows (lists of str), ``"numpy"`` -> ndarray.

        Bytes that are not valid in ``encoding`` raise UndecodableTextError (a corrupt file), whichever ``lib``.
        """
        sep = kwargs.pop("sep", None) or _separator(path)
        if lib not in ("pandas", "csv", "numpy"):
            raise ValueError(f"Unknown lib {lib!r} for CSV: use 'pandas', 'csv' or 'numpy'.")
        try:
            return _read(path, lib, sep, encoding, kwargs)
        except UnicodeDecodeError as exc:
            raise undecodable(path, encoding, exc) from None

    def describe(self, path):
        sep = _separator(path)
        size = os.path.getsize(path)
        head = []
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f, delimiter=sep)
            for row in reader:
                head.append(row)
                if len(head) > HEAD_ROWS:
                    break
        rows = None
        if size <= 64 << 20:
            with open(path, "rb") as f:
                rows = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
            rows = max(rows - 1, 0) if head else 0
        columns = head[0] if head else []
        return {"size": size, "rows": rows, "columns": columns, "head": head[1 : HEAD_ROWS + 1]}

    def summary(self, description: dict) -> str:
        if "columns" not in description:
            return ""
        rows = description.get("rows")
        shown_rows = counted(rows, "row") if isinstance(rows, int) else "? rows"
        return f"{shown_rows} \u00d7 {plural(len(description.get('columns') or []), 'column')}"

    def compare(self, path_a: str, path_b: str) -> Detail:
        """Shape, columns removed and added, and how many cells of the common columns changed (with examples)."""
        skip = too_large(path_a, path_b, MAX_TABLE_BYTES)
        if skip:
            return skip
        sep = _separator(path_b)

        def read(path):
            with open(path, newline="", encoding="utf-8", errors="replace") as f:
                rows = list(csv.reader(f, delimiter=sep))
            return (rows[0], rows[1:]) if rows else ([], [])

        (head_a, rows_a), (head_b, rows_b) = read(path_a), read(path_b)
        out = []
        shape_a, shape_b = f"{len(rows_a)} x {len(head_a)}", f"{len(rows_b)} x {len(head_b)}"
        if shape_a != shape_b:
            out.append(("shape (rows x columns)", shape_a, shape_b))
        gone = [c for c in head_a if c not in head_b]
        new = [c for c in head_b if c not in head_a]
        if gone:
            out.append(("columns removed", ", ".join(gone), ""))
        if new:
            out.append(("columns added", "", ", ".join(new)))
        common = [(head_a.index(c), head_b.index(c), c) for c in head_a if c in head_b]
        changed = 0
        examples: list[tuple] = []
        for number, (row_a, row_b) in enumerate(zip(rows_a, rows_b)):
            for ia, ib, column in common:
                x = row_a[ia] if ia < len(row_a) else ""
                y = row_b[ib] if ib < len(row_b) else ""
                if x != y:
                    changed += 1
                    if len(examples) < 10:
                        examples.append((f"row {number}, {column}", x, y))
        compared = min(len(rows_a), len(rows_b)) * len(common)
        if changed or compared:
            out.append(("cells changed", "", f"{changed} of {compared}"))
        out.extend(examples)
        return Detail(rows=out)


def _read(path, lib, sep, encoding, kwargs):
    if lib == "pandas":
        pd = require("pandas", None, "Loading CSV with lib='pandas'")
        try:
            return pd.read_csv(path, sep=sep, encoding=encoding, **kwargs)
        except pd.errors.EmptyDataError:
            return pd.DataFrame()  # a table without columns was saved as an empty file
    if lib == "csv":
        with open(path, newline="", encoding=encoding) as f:
            return [row for row in csv.reader(f, delimiter=sep)]
    np = require("numpy", None, "Loading CSV with lib='numpy'")
    skip = kwargs.pop("skiprows", 1 if _has_header(path, sep, encoding) else 0)
    return np.loadtxt(path, delimiter=sep, skiprows=skip, ndmin=2, encoding=encoding, **kwargs)


def _separator(path):
    return "\t" if path and path.lower().endswith(".tsv") else ","


def _has_default_index(df):
    index = df.index
    return type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1 and index.name is None


def _has_header(path, sep, encoding="utf-8"):
    with open(path, newline="", encoding=encoding) as f:
        first = next(csv.reader(f, delimiter=sep), [])
    for cell in first:
        try:
            float(cell)
        except ValueError:
            return True
    return False
