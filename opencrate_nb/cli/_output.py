"""What every command shares: JSON output, errors, progress on stderr, and how values read.

Sizes, times and saving cells are shown through :mod:`opencrate_nb.core.format`, as in the
notebook and the sidebar; ``--json`` keeps the raw values.
"""

import argparse
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, Optional

from ..core._printable import printable_json
from ..core.format import cell_label, format_size, format_time

LONG_WORK = 500  #: items: below this, no progress is shown


def command(commands, common, name, run, summary, description):
    """Add one sub-command (with the shared --root/--json) that runs ``run(args)``."""
    parser = commands.add_parser(name, parents=[common], help=summary, description=description)
    parser.set_defaults(run=run)
    return parser


def add_name(parser, optional=True):
    if optional:
        parser.add_argument("name", nargs="?", help="a snapshot name (default: every snapshot)")
    else:
        parser.add_argument("name", help="a snapshot name")


def emit_json(value):
    sys.stdout.write(printable_json(value, indent=1, default=str))  # names that are not UTF-8 escaped
    sys.stdout.write("\n")


def fail(exc):
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    prefix = paint("crate: error:", "red", sys.stderr)
    print(f"{prefix} {terminal_safe(str(message), sys.stderr)}", file=sys.stderr)
    return 2


def emit(text: str) -> None:
    """Print text that may hold stored content (logs, names, diffs) to stdout, made :func:`terminal_safe`."""
    print(terminal_safe(text))


def add_version(parser: Any, required: bool = False, what: str = "version") -> None:
    """The positional VERSION every command that takes one accepts (resolved by core.refs)."""
    forms = "3, v3, v3:tag, a tag, -1 (the newest) or last"
    if required:
        parser.add_argument("version", help=f"{what}: {forms}")
    else:
        parser.add_argument("version", nargs="?", default=None, help=f"{what} (default: every version): {forms}")
        parser.add_argument("--version", dest="version_option", default=None, help=argparse.SUPPRESS)  # old spelling


def version_of(args: Any) -> Optional[str]:
    """The VERSION given as a word or (the old spelling) as --version; both at once must agree."""
    word, option = args.version, getattr(args, "version_option", None)
    if word is not None and option is not None and word != option:
        raise ValueError(f"Two versions given ({word!r} and --version {option!r}): give one.")
    return word if word is not None else option


# -- colour: only on a terminal, never with NO_COLOR (https://no-color.org) or TERM=dumb ---------
_COLOURS = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36", "bold": "1"}
#: the colour of each log level, as the run log's console shows them
LEVEL_COLOURS = {
    "TRACE": "cyan",
    "DEBUG": "blue",
    "INFO": "bold",
    "SUCCESS": "green",
    "WARNING": "yellow",
    "ERROR": "red",
    "CRITICAL": "red",
}


def colour_enabled(stream: Any = None) -> bool:
    """Whether ``stream`` gets colour: a terminal, NO_COLOR unset or empty, TERM not ``dumb``."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def paint(text: str, colour: Optional[str], stream: Any = None) -> str:
    """``text`` in ``colour`` when :func:`colour_enabled` for ``stream``, else as it is."""
    if not colour or colour not in _COLOURS or not colour_enabled(stream):
        return text
    return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"


class Progress:
    """``progress(done, total)`` for long work: a self-rewriting line on a terminal,
    otherwise a line now and then (so logs of CI jobs show that something happens)."""

    def __init__(self, label, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = 0.0

    def __call__(self, done, total):
        if total < LONG_WORK:
            return
        now = time.monotonic()
        if 0 < done < total and now - self._last < (0.1 if self.tty else 2.0):
            return
        self._last = now
        text = f"{self.label}: {done}/{total}"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if done >= total else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


# -- how values read on a terminal ---------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
#: Values listed in full up to this many items; longer lists end with "... (N more)".
LIST_ITEMS = 10
#: Width at which a value is cut with an ellipsis.
VALUE_CHARS = 100


def terminal_safe(text: str, stream: Any = None) -> str:
    """``text`` with control characters shown as ``^[`` etc. when it goes to a terminal.

    Captured output in a log may hold escape sequences (colours, and worse: titles, the
    clipboard); a terminal would obey them. Piped output is left byte for byte.
    """
    stream = stream or sys.stdout
    if not getattr(stream, "isatty", lambda: False)():
        return text
    return _CONTROL.sub(lambda m: "^" + chr((ord(m.group()) + 64) % 128), text)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """Columns padded to their widest value; the columns numbered in ``right`` are right-aligned."""
    lines = [[str(v) for v in header], *([str(v) for v in row] for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for line in lines:
        cells = [v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(line, widths))]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def _clip(text: str) -> str:
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "\u2026"


def readable(key: str, value: Any) -> str:
    """One value of a record or a handler's description as a person reads it (no Python reprs)."""
    if value is None:
        return "-"
    if key == "cell":
        return cell_label(value) or "-"
    if key in ("size", "bytes") or key.endswith("_size") or key.endswith("_bytes"):
        return format_size(value)
    if key in ("time", "saved", "modified", "created", "start", "end", "until") and isinstance(value, str):
        return format_time(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return _clip(", ".join(f"{k}: {readable(str(k), v)}" for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        shown = ", ".join(readable(key, v) for v in value[:LIST_ITEMS])
        more = f", \u2026 ({len(value) - LIST_ITEMS} more)" if len(value) > LIST_ITEMS else ""
        return _clip(shown + more)
    return _clip(str(value))


def fact_lines(facts: Sequence[tuple[str, Any]], indent: str = "  ", width: int = 8) -> list[str]:
    """``key value`` lines, keys padded to one width, values made :func:`readable`.

    A text of several lines (a file's first lines) follows its key as an indented block.
    """
    width = max([width, *(len(k) for k, _ in facts)])
    lines = []
    for key, value in facts:
        if isinstance(value, str) and "\n" in value.strip("\n"):
            lines.append(f"{indent}{key}")
            lines += [f"{indent}  {line}" for line in value.strip("\n").splitlines()[:LIST_ITEMS]]
        else:
            lines.append(f"{indent}{key:<{width}} {readable(key, value)}")
    return lines
