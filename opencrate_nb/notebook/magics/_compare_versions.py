"""``%crate compare``: every version of a snapshot name as one sortable table, and a plot of its metrics.

The table is computed by :mod:`opencrate_nb.core.compare` (as ``oc.snapshot.compare``, ``crate
compare`` and the JupyterLab panel); this module only draws it: escaped HTML whose headers sort
the rows when clicked (a small inline script, so no kernel round-trip; ``--sort`` orders them
beforehand for outputs shown untrusted), a PNG of the chosen metrics over the versions
(matplotlib's Agg canvas, never the user's pyplot state) and the same in plain text.
"""

import argparse
import base64
import html
import io
import json
import secrets
from typing import Any, Optional

from IPython.core.magic_arguments import argument, magic_arguments

from ...core import compare
from .. import _core
from ._registry import command, display

#: metrics plotted when none is chosen: the first differing ones
DEFAULT_PLOTTED = 3
SPARKS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"
#: versions named one by one in the text form of a metric; more are summarised by a sparkline only
NAMED_VERSIONS = 12


@command(
    "compare [NAME] [--all] [--ignore PATTERN] [--sort KEY] [--metric KEY]",
    user_errors=(LookupError, ValueError),
)
@magic_arguments()
@argument("name", metavar="NAME", nargs="?", default=None, help="a snapshot name (default: the current one)")
@argument("--all", action="store_true", help="show every column, also those equal in all versions")
@argument("--ignore", action="append", default=[], metavar="PATTERN", help="leave out columns matching a glob (repeat)")
@argument("--sort", metavar="KEY", default=None, help="order the rows by a column; --sort=-KEY: descending")
@argument(
    "--metric",
    action="append",
    default=[],
    metavar="KEY",
    help=f"a metric to plot over the versions (repeat; default: the first {DEFAULT_PLOTTED} that differ)",
)
def cmd_compare(magics: Any, args: argparse.Namespace) -> None:
    """Compare every version: run facts, configs and metrics side by side (like oc.snapshot.compare)."""
    result = compare.table(
        args.name, only_diff=not args.all, ignore=args.ignore, sort=args.sort, snapshot=_core.snapshot
    )
    plotted = plotted_columns(result, args.metric)
    png = plot_png(result, plotted)
    display(text_form(result, plotted), html_form(result, plotted, png))


def plotted_columns(result: compare.Comparison, keys: list[str]) -> list[compare.Column]:
    """The metric columns named by ``keys`` (a config or run column is refused), or the first differing metrics."""
    if keys:
        chosen = [result.column(key) for key in keys]
        for column in chosen:
            if column.group != "metric" and not _numeric(result, column):
                raise ValueError(f"{column.label!r} holds no numbers to plot: choose a metric column.")
        return chosen
    return [c for c in result.columns if c.group == "metric" and c.differs][:DEFAULT_PLOTTED]


def _numeric(result: compare.Comparison, column: compare.Column) -> bool:
    return any(_number(value) is not None for value in result.values(column))


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _by_version(result: compare.Comparison) -> list[int]:
    """Row positions in version order (the plot runs over versions, whatever the table's sort)."""
    return sorted(range(len(result.rows)), key=lambda i: (result.versions[i].number, result.versions[i].tag or ""))


# -- the plot ------------------------------------------------------------------------------------
def plot_png(result: compare.Comparison, columns: list[compare.Column]) -> Optional[bytes]:
    """A PNG of ``columns`` over the versions, or None without matplotlib, metrics or two versions."""
    if not columns or len(result.rows) < 2:
        return None
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    order = _by_version(result)
    figure = Figure(figsize=(6.4, 2.8), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(order)))
    for column in columns:
        values = result.values(column)
        points = [(x, _number(values[i])) for x, i in zip(positions, order)]
        xs = [x for x, y in points if y is not None]
        axes.plot(xs, [y for _, y in points if y is not None], marker="o", markersize=3, label=column.label)
    step = max(1, len(order) // 12)
    axes.set_xticks(positions[::step])
    axes.set_xticklabels([result.versions[i].folder for i in order][::step], rotation=30, ha="right", fontsize=8)
    axes.set_xlabel("version")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def spark_line(values: list[Optional[float]]) -> str:
    """``▁▃█`` for the values (a space where one is missing)."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low
    marks = []
    for value in values:
        if value is None:
            marks.append(" ")
        else:
            marks.append(SPARKS[int((value - low) / span * (len(SPARKS) - 1)) if span else len(SPARKS) // 2])
    return "".join(marks)


def metric_lines(result: compare.Comparison, columns: list[compare.Column]) -> list[str]:
    """The plot in text: per metric, its sparkline over the versions and the values (of the first versions)."""
    order = _by_version(result)
    lines = []
    for column in columns:
        values = result.values(column)
        numbers = [_number(values[i]) for i in order]
        shown = ", ".join(
            f"{result.versions[i].folder} {compare.cell_text(column, values[i]) or '-'}" for i in order[:NAMED_VERSIONS]
        )
        more = f", \u2026 ({len(order) - NAMED_VERSIONS} more)" if len(order) > NAMED_VERSIONS else ""
        lines.append(f"{column.label}  {spark_line(numbers)}  {shown}{more}")
    return lines


# -- the two forms -------------------------------------------------------------------------------
def text_form(result: compare.Comparison, plotted: list[compare.Column]) -> str:
    lines = [result.to_text()]
    if plotted:
        lines += ["", "over the versions:", *metric_lines(result, plotted)]
    return "\n".join(lines)


_SORT_SCRIPT = """
(function () {
  var table = document.getElementById(%s);
  if (!table || table.dataset.sortable) { return; }
  table.dataset.sortable = '1';
  table.querySelectorAll('th[data-col]').forEach(function (th) {
    th.style.cursor = 'pointer';
    th.title = 'Sort by this column';
    th.addEventListener('click', function () {
      var col = Number(th.dataset.col);
      var down = th.getAttribute('aria-sort') === 'ascending';
      table.querySelectorAll('th[data-col]').forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', down ? 'descending' : 'ascending');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[col];
        var raw = cell.dataset.value;
        if (raw === undefined || raw === '') { return null; }
        return cell.dataset.number === '1' ? Number(raw) : raw;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) { return x === y ? 0 : (x === null ? 1 : -1); }
        var order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return down ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
"""


def html_form(result: compare.Comparison, plotted: list[compare.Column], png: Optional[bytes]) -> str:
    """The table (every name and value escaped), the plot, and the script that sorts by a clicked header."""
    table_id = f"opencrate-compare-{secrets.token_hex(6)}"
    esc = html.escape
    groups: list[tuple[str, int]] = []
    for column in result.columns:
        if groups and groups[-1][0] == column.group:
            groups[-1] = (column.group, groups[-1][1] + 1)
        else:
            groups.append((column.group, 1))
    head_groups = "".join(f'<th colspan="{count}" class="opencrate-group">{esc(g)}</th>' for g, count in groups)
    head_keys = "".join(
        f'<th data-col="{n + 1}" data-group="{esc(c.group)}">{esc(c.key)}</th>' for n, c in enumerate(result.columns)
    )
    body = []
    for ref, row, texts in zip(result.versions, result.rows, result.text_rows()):
        cells = [
            f'<th scope="row" data-value="{ref.number:012d}:{esc(ref.tag or "", quote=True)}">{esc(texts[0])}</th>'
        ]
        for column, text in zip(result.columns, texts[1:]):
            value = row.get((column.group, column.key))
            number = _number(value)
            raw = repr(number) if number is not None else ("" if value is None else _plain(value))
            flag = ' data-number="1"' if number is not None else ""
            cells.append(f'<td data-value="{esc(raw, quote=True)}"{flag}>{esc(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    parts = [
        '<div class="opencrate-compare">',
        f"<p>{esc(result.summary())}</p>",
        f'<table id="{table_id}" class="opencrate-compare-table">',
        f'<thead><tr><th rowspan="2" data-col="0">version</th>{head_groups}</tr><tr>{head_keys}</tr></thead>',
        "<tbody>" + "".join(body) + "</tbody></table>",
    ]
    if png is not None:
        labels = ", ".join(c.label for c in plotted)
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<img src="data:image/png;base64,{data}" alt="{esc(labels, quote=True)} over the versions">')
    elif plotted:
        parts.append("<pre>" + esc("\n".join(metric_lines(result, plotted))) + "</pre>")
    parts.extend(f"<p>note: {esc(note)}</p>" for note in result.notes)
    parts.append(f"<script>{_SORT_SCRIPT % json.dumps(table_id)}</script></div>")
    return "".join(parts)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
