"""``%crate`` and ``%%crate``: drive opencrate snapshots from a notebook.

Each subcommand is a small function with IPython ``magic_arguments`` (so its options
are parsed, checked and documented in one place). User mistakes raise ``UsageError``,
which IPython shows as one line, without a traceback. Errors that opencrate raises on
purpose (an invalid name, nothing set up, a missing confirmation) are user mistakes too.
"""

import argparse
import ast
import difflib
import fnmatch
import json
import keyword
import os
import re

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from . import _core, infer, preview

LOG_LEVELS = ("trace", "debug", "info", "success", "warning", "error", "critical")
CAPTURE_STATES = ("on", "off")
DEFAULT_LOG_ENTRIES = 20
_LOG_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d+)? - ([A-Z]+)\b")


# ---------------------------------------------------------------------------------------------
# subcommand registry
# ---------------------------------------------------------------------------------------------
COMMANDS = {}


def _command(usage):
    """Register ``cmd_<sub>`` as ``%crate <sub>``, with ``usage`` as its synopsis."""

    def register(func):
        sub = func.__name__[len("cmd_") :]
        _fix_parser(func, f"%crate {sub}", f"%crate {usage}")
        COMMANDS[sub] = func
        return func

    return register


def _fix_parser(func, prog, usage):
    """Plain argparse help (IPython's formatter writes reST) under the name users type."""
    func.parser.prog = prog
    func.parser.usage = usage.replace("%", "%%")  # argparse %-formats the usage
    func.parser.formatter_class = _HelpFormatter
    func.__doc__ = func.parser.format_help()


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, prefix="usage: ")

    def _fill_text(self, text, width, indent):
        import textwrap

        return super()._fill_text(textwrap.dedent(text).strip(), width, indent)


def usage_of(sub):
    return COMMANDS[sub].parser.format_usage().strip()[len("usage: ") :]


def summary_of(sub):
    doc = (COMMANDS[sub].parser.description or "").strip()
    return doc.splitlines()[0] if doc else ""


def help_of(sub):
    return COMMANDS[sub].parser.format_help().strip()


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------
class Rendered:
    """A displayable result with an HTML and a plain-text form."""

    def __init__(self, text, html=None):
        self.text = text
        self.html = html

    def _repr_html_(self):
        return self.html

    def __repr__(self):
        return self.text

    def _repr_pretty_(self, printer, cycle):
        printer.text(self.text)  # as one piece: IPython's line-by-line pretty printing costs 75 ms for 10,000 lines


def _display(text, html=None):
    from IPython.display import display

    display(Rendered(text, html))


def _require_setup():
    if not _core.is_set_up():
        raise UsageError("No snapshot is set up. Run %crate setup NAME first (or oc.snapshot.setup(name=...)).")
    return _core.snapshot


def _user_error(exc):
    """The message of an error the user can fix, as a UsageError."""
    return UsageError(str(exc) or type(exc).__name__)


def _find_artifacts(name, kind=None):
    snapshot = _require_setup()
    found = snapshot.find(name)
    if kind:
        found = [a for a in found if _core.artifact_kind(a) == kind]
    return found


def _not_found(name, kind=None):
    snapshot = _core.snapshot
    names = sorted({a.name for a in snapshot.list_artifacts()})
    text = (
        f"No artifact named {name!r}"
        + (f" of kind {kind!r}" if kind else "")
        + f" in {snapshot.name} {snapshot.version_name}."
    )
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        text += f" Did you mean {close[0]!r}?"
    text += " %crate ls lists the artifacts."
    return UsageError(text)


def resolve(name, kind=None, must_exist=True):
    """The artifact called ``name`` (a file name such as ``metrics.json``) in the current version.

    The kind is ``kind`` if given, else the kind folder the name is found in; a name found
    in several kinds needs ``--kind``. With ``must_exist=False`` a new artifact is made,
    its kind taken from the name's suffix.
    """
    found = _find_artifacts(name, kind)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        kinds = ", ".join(sorted(_core.artifact_kind(a) for a in found))
        raise UsageError(f"{name!r} exists in several kinds ({kinds}): add --kind KIND to say which.")
    if must_exist:
        raise _not_found(name, kind)
    kind = kind or _core.handlers.kind_for_suffix(name)
    if not kind:
        raise UsageError(f"Cannot tell the kind of {name!r} from its suffix: add --kind KIND.")
    try:
        return _core.snapshot.artifact(kind, name)
    except _core.OpenCrateError as exc:
        raise _user_error(exc) from None


def _kind_arg():
    return argument("--kind", metavar="KIND", help="the artifact kind (json, csv, image, ... or a custom kind)")


def _artifact_args():
    """NAME and --kind: how every subcommand that works on one existing artifact names it."""
    name = argument("name", metavar="NAME", help="artifact file name, e.g. metrics.json")
    kind = _kind_arg()
    return lambda func: name(kind(func))


def _confirm(message):
    print(f"\u2713 {message}")


# ---------------------------------------------------------------------------------------------
# the subcommands
# ---------------------------------------------------------------------------------------------
@_command("setup NAME [--new | --last | --version N] [--tag TAG] [--log-level LEVEL] [--root DIR]")
@magic_arguments()
@argument("name", metavar="NAME", help="snapshot name (groups the versions of one pipeline)")
@argument("--new", action="store_true", help="start a new version (the default)")
@argument("--last", action="store_true", help="resume the newest version")
@argument("--version", type=int, metavar="N", help="resume (or create) version N")
@argument("--tag", metavar="TAG", help="version tag: v<N>:<TAG>")
@argument("--log-level", metavar="LEVEL", default="info", help=f"one of {', '.join(LOG_LEVELS)} (default info)")
@argument("--root", metavar="DIR", default=None, help="folder holding the snapshots (default: snapshots)")
def cmd_setup(magics, args):
    """Create or resume a snapshot version (like oc.snapshot.setup)."""
    chosen = [
        flag for flag, on in (("--new", args.new), ("--last", args.last), ("--version", args.version is not None)) if on
    ]
    if len(chosen) > 1:
        raise UsageError(f"Use only one of --new, --last and --version N (got {' and '.join(chosen)}).")
    if args.log_level.lower() not in LOG_LEVELS:
        raise UsageError(f"Unknown log level {args.log_level!r}: use one of {', '.join(LOG_LEVELS)}.")
    start = "last" if args.last else (args.version if args.version is not None else "new")
    kwargs = {"name": args.name, "start": start, "tag": args.tag, "log_level": args.log_level.lower()}
    if args.root is not None:
        kwargs["root"] = args.root
    snapshot = _core.snapshot
    try:
        snapshot.setup(**kwargs)
    except _core.OpenCrateError as exc:
        raise _user_error(exc) from None
    _confirm(f"snapshot {snapshot.name} {snapshot.version_name} at {snapshot.dir_path}")


@_command("status")
@magic_arguments()
def cmd_status(magics, args):
    """Show the snapshot, version, folder, artifact count and whether capture is on."""
    capture = magics.capture
    capture_text = "on" if capture is not None and capture.enabled else "off"
    if not _core.is_set_up():
        text = f"no snapshot set up (run %crate setup NAME)\ncapture: {capture_text}"
        _display(text)
        return
    snapshot = _core.snapshot
    count = len(snapshot.list_artifacts())
    rows = [
        ("snapshot", snapshot.name),
        ("version", snapshot.version_name),
        ("folder", snapshot.dir_path),
        ("artifacts", str(count)),
        ("capture", capture_text),
    ]
    if capture is not None and capture.problems:
        rows.append(("capture problems", "; ".join(capture.problems[-3:])))
    rows += _environment_rows()
    width = max(len(k) for k, _ in rows)
    text = "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in rows)
    html = preview.table_html(["", ""], [list(r) for r in rows])
    _display(text, html)


def _environment_rows():
    """Status rows saying how this run's environment differs from the run before it."""
    try:
        found = _core.environment_changes()
    except Exception as exc:  # noqa: BLE001 - a broken env.json must not break %crate status
        return [("environment", f"unknown ({type(exc).__name__}: {exc})")]
    if found is None:
        return [("environment", "first run of this snapshot")]
    label, changes = found
    if changes is None:
        return [("environment", f"not recorded for {label}, nothing to compare with")]
    if not changes:
        return [("environment", f"same as {label}")]
    rows = [("environment", f"differs from {label}:")]
    rows += [(f"  {field}", f"{_shown_value(before)} -> {_shown_value(now)}") for field, before, now in changes]
    return rows


def _shown_value(value):
    return "(none)" if value is None else str(value)


@_command("versions")
@magic_arguments()
def cmd_versions(magics, args):
    """List the versions of the current snapshot (the current one is marked with *)."""
    snapshot = _require_setup()
    versions = snapshot.list_versions()
    current = snapshot.version_name
    lines = [f"{'*' if v == current else ' '} {v}" for v in versions]
    print(f"{snapshot.name} in {snapshot.root}:")
    print("\n".join(lines) if lines else "  (no versions)")


#: Rows of the HTML table of ``%crate ls`` (the text lists every artifact).
LS_HTML_ROWS = 1000


def _backup_note(item):
    return f"backup of {item['backup_of']}" if item.get("backup_of") else ""


@_command("ls [PATTERN] [--kind KIND]")
@magic_arguments()
@argument("pattern", metavar="PATTERN", nargs="?", default=None, help="shell-style pattern, e.g. '*.json'")
@_kind_arg()
def cmd_ls(magics, args):
    """List the artifacts of the current version (name, kind, size, saved, cell)."""
    snapshot = _require_setup()
    items = _core.version_listing(snapshot.dir_path)
    if args.pattern:
        items = [i for i in items if fnmatch.fnmatchcase(i["name"], args.pattern)]
    if args.kind:
        items = [i for i in items if i["kind"] == args.kind]
    if not items:
        what = f" matching {args.pattern!r}" if args.pattern else ""
        print(f"no artifacts{what} in {snapshot.name} {snapshot.version_name}")
        return
    rows = [
        [i["name"], i["kind"], i["size_text"], i["modified_text"] or "", i["cell_label"] or "", _backup_note(i)]
        for i in items
    ]
    header = ["name", "kind", "size", "modified", "cell", ""]
    widths = [max(map(len, column)) for column in zip(header, *rows)]
    line = "  ".join(f"{{:<{w}}}" for w in widths).format
    lines = [line(*row).rstrip() for row in [header, *rows]]
    _display("\n".join(lines), preview.table_html(header, rows[:LS_HTML_ROWS], total_rows=len(rows)))


@_command("show NAME [--kind KIND]")
@magic_arguments()
@_artifact_args()
def cmd_show(magics, args):
    """Show an artifact's preview card."""
    artifact = resolve(args.name, args.kind)
    _display(preview.artifact_text(artifact), preview.artifact_card(artifact))


@_command("load NAME [--kind KIND] [-o VAR]")
@magic_arguments()
@_artifact_args()
@argument("-o", "--output", metavar="VAR", default=None, help="store the value in variable VAR instead of returning it")
def cmd_load(magics, args):
    """Load an artifact: returns its value, or stores it in VAR with -o VAR."""
    if args.output is not None and (not args.output.isidentifier() or keyword.iskeyword(args.output)):
        raise UsageError(f"-o needs a variable name, got {args.output!r}.")
    artifact = resolve(args.name, args.kind)
    try:
        value = artifact.load()
    except _core.OpenCrateError as exc:
        raise _user_error(exc) from None
    except (ValueError, OSError) as exc:  # a damaged or unreadable file: say which, not a traceback
        raise UsageError(
            f"Could not load {artifact.name!r} as {_core.artifact_kind(artifact)}: {type(exc).__name__}: {exc}"
        ) from None
    if args.output is None:
        return value
    magics.shell.user_ns[args.output] = value
    _confirm(f"loaded {artifact.name} into {args.output} ({type(value).__name__})")
    return None


@_command("save NAME VAR [--kind KIND]")
@magic_arguments()
@argument("name", metavar="NAME", help="artifact file name; the suffix picks the kind (metrics.json)")
@argument("var", metavar="VAR", help="the variable (or expression without spaces) to save")
@_kind_arg()
def cmd_save(magics, args):
    """Save the value of variable VAR as artifact NAME."""
    _require_setup()
    try:
        if args.var in magics.shell.user_ns:
            value = magics.shell.user_ns[args.var]
        else:
            value = magics.shell.ev(args.var)
    except NameError:
        raise UsageError(f"No variable named {args.var!r}.") from None
    except SyntaxError:
        raise UsageError(f"{args.var!r} is not a variable name or expression.") from None
    save_as(args.name, value, args.kind)


def save_as(name, value, kind=None):
    """Save ``value`` as artifact ``name`` and print a one-line confirmation."""
    kind, name = infer.choose_kind(name, value, kind)
    existing = [a for a in _find_artifacts(name, kind)]
    try:
        artifact = existing[0] if existing else _core.snapshot.artifact(kind, name)
        note = infer.save_value(artifact, value)
    except _core.OpenCrateError as exc:
        raise _user_error(exc) from None
    except (TypeError, ValueError) as exc:  # the handler refused the value: say why, nothing was written
        raise UsageError(f"Could not save {name!r} as {kind}: {exc}") from None
    _confirm_saved(artifact, note)
    return artifact


def _confirm_saved(artifact, note=""):
    size = preview.artifact_facts(artifact)["size"]
    extra = f", {note}" if note else ""
    _confirm(
        f"saved {artifact.name} ({_core.artifact_kind(artifact)}, {preview.human_size(size)}{extra}) to {artifact.path}"
    )


@_command("backup NAME [--tag TAG] [--kind KIND]")
@magic_arguments()
@_artifact_args()
@argument("--tag", metavar="TAG", default=None, help="backup tag (default: the time)")
def cmd_backup(magics, args):
    """Back up an artifact (a copy named <stem>.backup_<tag or time><suffix>)."""
    artifact = resolve(args.name, args.kind)
    try:
        backup_name = artifact.backup(tag=args.tag)
    except (_core.OpenCrateError, FileExistsError) as exc:
        raise _user_error(exc) from None
    _confirm(f"backed up {artifact.name} as {backup_name}")


@_command("backups NAME [--kind KIND]")
@magic_arguments()
@_artifact_args()
def cmd_backups(magics, args):
    """List the backups of an artifact, oldest first."""
    artifact = resolve(args.name, args.kind)
    backups = artifact.list_backups()
    if not backups:
        print(f"no backups of {artifact.name}")
        return
    print("\n".join(backups))


@_command("rm NAME --confirm [--kind KIND]")
@magic_arguments()
@_artifact_args()
@argument("--confirm", action="store_true", help="required: deleting cannot be undone")
def cmd_rm(magics, args):
    """Delete an artifact (needs --confirm)."""
    artifact = resolve(args.name, args.kind)
    if not args.confirm:
        raise UsageError(f"%crate rm deletes {artifact.name} for good: add --confirm to do it. Nothing was deleted.")
    try:
        artifact.delete(confirm=True)
    except _core.OpenCrateError as exc:
        raise _user_error(exc) from None
    _confirm(f"deleted {artifact.name}")


@_command("log [--history] [-n N] [--level LEVEL]")
@magic_arguments()
@argument("--history", action="store_true", help="the history log (every run of this version)")
@argument(
    "-n",
    type=int,
    default=DEFAULT_LOG_ENTRIES,
    metavar="N",
    help=f"show the last N entries (default {DEFAULT_LOG_ENTRIES}; 0 for all)",
)
@argument("--level", metavar="LEVEL", default=None, help="only entries at LEVEL or above")
def cmd_log(magics, args):
    """Show the end of the run log (or of the history log)."""
    _require_setup()
    if args.level is not None and args.level.lower() not in LOG_LEVELS:
        raise UsageError(f"Unknown level {args.level!r}: use one of {', '.join(LOG_LEVELS)}.")
    if args.n < 0:
        raise UsageError("-n needs a number of entries, 0 or more.")
    run_log, history_log = _core.log_paths()
    path = history_log if args.history else run_log
    if not os.path.exists(path):
        if args.history:
            print("no history log yet: it starts when this version is run a second time")
        else:
            print(f"no run log yet ({path})")
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        entries = split_log_entries(f.read())
    if args.level is not None:
        floor = LOG_LEVELS.index(args.level.lower())
        entries = [
            (level, text)
            for level, text in entries
            if level is None or level.lower() not in LOG_LEVELS or LOG_LEVELS.index(level.lower()) >= floor
        ]
    if args.n:
        entries = entries[-args.n :]
    if not entries:
        print("(no log entries)")
        return
    print("\n".join(text for _, text in entries))


def split_log_entries(text):
    """[(LEVEL or None, entry text)] of a log file; continuation lines stay with their entry."""
    entries = []
    for line in text.splitlines():
        match = _LOG_ENTRY.match(line)
        if match or not entries:
            entries.append([match.group(1) if match else None, line])
        else:
            entries[-1][1] += "\n" + line
    return [tuple(e) for e in entries]


@_command("diff [A] [B]")
@magic_arguments()
@argument(
    "a",
    metavar="A",
    nargs="?",
    default=None,
    help="a version: 1, v1, v1:tag, or other_name/v2 (default: the version before the current one)",
)
@argument("b", metavar="B", nargs="?", default=None, help="another version (default: the current one)")
def cmd_diff(magics, args):
    """Compare two versions: artifacts added, removed and changed (like oc.snapshot.diff)."""
    snapshot = _core.snapshot if args.b is not None else _require_setup()  # two named versions need no setup
    try:
        result = snapshot.diff(_version_spec(args.a), _version_spec(args.b))
    except (_core.OpenCrateError, LookupError, ValueError, FileNotFoundError) as exc:
        raise _user_error(exc) from None
    # the full text (not the one-line repr) for terminals and text/plain, the HTML for notebooks
    _display(str(result), result._repr_html_())


def _version_spec(text):
    """``"3"`` means version 3; anything else (``v3``, ``v3:tag``, ``name/v2``) is passed as it is."""
    return int(text) if text is not None and text.isdigit() else text


@_command("browse [--root ROOT]")
@magic_arguments()
@argument(
    "--root",
    metavar="ROOT",
    default=None,
    help="folder holding the snapshots (default: the current snapshot's root, else snapshots)",
)
def cmd_browse(magics, args):
    """Browse every snapshot, version and artifact in a widget (like oc.browse())."""
    root = args.root
    if root is None and _core.is_set_up():
        root = _core.snapshot.root
    if root is not None and not os.path.isdir(root):
        what = "is a file, not a folder" if os.path.exists(root) else "does not exist"
        raise UsageError(f"{root!r} {what}: pass --root the folder that holds your snapshots.")
    from . import browser

    kwargs = {} if root is None else {"root": root}
    try:
        widget = browser.browse(**kwargs)
    except (_core.OpenCrateError, ValueError, NotADirectoryError) as exc:
        raise _user_error(exc) from None
    from IPython.display import display

    display(widget)


@_command("capture [on|off]")
@magic_arguments()
@argument("state", metavar="on|off", nargs="?", default=None, help="turn cell capture on or off")
def cmd_capture(magics, args):
    """Turn automatic cell capture on or off (without argument: show it)."""
    capture = magics.capture
    if capture is None:
        raise UsageError("Cell capture is not available: load the extension with %load_ext opencrate.")
    if args.state is None:
        print(f"capture is {'on' if capture.enabled else 'off'}")
        return
    state = args.state.lower()
    if state not in CAPTURE_STATES:
        raise UsageError(f"Use %crate capture on or %crate capture off (got {args.state!r}).")
    if state == "on":
        capture.enable()
    else:
        capture.disable()
    _core.write_to_files("info", f"cell capture turned {state}")
    print(f"capture is {state}")


@_command("help [SUBCOMMAND]")
@magic_arguments()
@argument("subcommand", metavar="SUBCOMMAND", nargs="?", default=None, help="a subcommand to explain")
def cmd_help(magics, args):
    """List the subcommands, or explain one."""
    if args.subcommand:
        if args.subcommand not in COMMANDS:
            raise _unknown_subcommand(args.subcommand)
        print(help_of(args.subcommand))
        return
    print(overview())


# ---------------------------------------------------------------------------------------------
# %%crate save
# ---------------------------------------------------------------------------------------------
@magic_arguments()
@argument("name", metavar="NAME", help="artifact file name; the suffix picks the kind (results.csv)")
@_kind_arg()
@argument("--raw", action="store_true", help="save the cell's text itself (YAML/JSON/text), without running it")
def cell_save(magics, args, cell):
    """Run the cell and save the value of its last expression as artifact NAME."""


_fix_parser(cell_save, "%%crate save", "%%crate save NAME [--kind KIND] [--raw]")

_last_value = []


def keep_last_value(value):
    """Called by the rewritten last line of a ``%%crate save`` cell; passes the value through."""
    if _last_value:
        _last_value[0] = value
    return value


class _KeepLastValue(ast.NodeTransformer):
    """Wrap the cell's final expression in ``keep_last_value(...)``, so that it is still displayed.

    ``quiet`` (the cell ends with ``;``) ends the cell with ``pass``: IPython then shows no
    value, as it would for the cell alone (its own ``;`` check looks at the outer cell).
    """

    def __init__(self, quiet=False):
        super().__init__()
        self.done = False
        self.quiet = quiet

    def visit_Module(self, node):
        if self.done:
            return node
        self.done = True
        if node.body and isinstance(node.body[-1], ast.Expr):
            last = node.body[-1]
            module = ast.Call(
                func=ast.Name(id="__import__", ctx=ast.Load()),
                args=[ast.Constant(value=__name__)],
                keywords=[ast.keyword(arg="fromlist", value=ast.List(elts=[ast.Constant(value="_")], ctx=ast.Load()))],
            )
            func = ast.Attribute(value=module, attr="keep_last_value", ctx=ast.Load())
            last.value = ast.copy_location(ast.Call(func=func, args=[last.value], keywords=[]), last.value)
            if self.quiet:
                node.body.append(ast.copy_location(ast.Pass(), last))
            ast.fix_missing_locations(node)
        return node


def _ends_with_semicolon(shell, cell):
    from IPython.core.displayhook import DisplayHook

    try:
        return bool(DisplayHook.semicolon_at_end_of_expression(shell.transform_cell(cell)))
    except Exception:  # noqa: BLE001 - a cell that does not tokenize shows its own error when run
        return False


def _ends_with_expression(shell, cell):
    try:
        tree = ast.parse(shell.transform_cell(cell))
    except SyntaxError:
        return None  # let the run show the error
    return bool(tree.body) and isinstance(tree.body[-1], ast.Expr)


def run_cell_save(magics, line, cell):
    args = parse_argstring(cell_save, line)
    _require_setup()
    if args.raw:
        return _save_raw(args, cell)
    shell = magics.shell
    ends = _ends_with_expression(shell, cell)
    if ends is False:
        raise UsageError(
            "%%crate save saves the value of the cell's last expression, and this cell does not end "
            "with one: add a last line such as `df` or `fig`. Nothing was run."
        )
    transformer = _KeepLastValue(quiet=_ends_with_semicolon(shell, cell))
    _SENTINEL = object()
    _last_value[:] = [_SENTINEL]
    shell.ast_transformers.append(transformer)
    try:
        result = shell.run_cell(cell, store_history=False)
    finally:
        if transformer in shell.ast_transformers:
            shell.ast_transformers.remove(transformer)
        value = _last_value[0] if _last_value else _SENTINEL
        _last_value[:] = []
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        what = "was interrupted" if isinstance(error, KeyboardInterrupt) else f"raised {type(error).__name__}"
        raise UsageError(f"The cell {what}: {args.name} was not saved.")
    if value is _SENTINEL:
        raise UsageError(f"The cell did not end with an expression: {args.name} was not saved.")
    if value is None:
        raise UsageError(f"The cell's last expression is None: {args.name} was not saved.")
    save_as(args.name, value, args.kind)


def _save_raw(args, cell):
    text = cell
    name = args.name
    kind = args.kind or _core.handlers.kind_for_suffix(name)
    if kind is None:
        _, suffix = os.path.splitext(name)
        if suffix:
            raise UsageError(f"Cannot tell the kind of {name!r} from its suffix: add --kind yaml, json or text.")
        kind, name = "text", name + infer.default_suffix("text")
    if kind not in ("yaml", "json", "text"):
        raise UsageError(f"--raw saves text, so it works with yaml, json and text artifacts, not {kind}.")
    if kind == "json":
        try:
            json.loads(text)
        except ValueError as exc:
            raise UsageError(f"The cell is not valid JSON ({exc}): {name} was not saved.") from None
    elif kind == "yaml":
        import yaml

        try:
            yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problem = " ".join(str(exc).split())
            raise UsageError(f"The cell is not valid YAML ({problem}): {name} was not saved.") from None
    existing = _find_artifacts(name, kind)
    try:
        artifact = _core.verbatim_artifact(kind, existing[0].name if existing else name)
        artifact.save(text)
    except _core.OpenCrateError as exc:
        raise _user_error(exc) from None
    _confirm_saved(artifact, "cell text")
    return None


# ---------------------------------------------------------------------------------------------
# help text
# ---------------------------------------------------------------------------------------------
def overview():
    lines = ["%crate SUBCOMMAND [options]: drive opencrate snapshots from the notebook.", "", "Subcommands:"]
    for sub in COMMANDS:
        lines.append(f"  {usage_of(sub)}")
        lines.append(f"      {summary_of(sub)}")
    cell_usage = cell_save.parser.format_usage().strip()[len("usage: ") :]
    lines += [
        "",
        "Cell magic:",
        f"  {cell_usage}",
        "      Run the cell and save the value of its last expression (--raw: the cell's text).",
        "",
        "Artifacts are named by file name (metrics.json); the suffix gives the kind, or --kind KIND.",
        "%crate help SUBCOMMAND (or %crate SUBCOMMAND --help) explains one subcommand.",
    ]
    return "\n".join(lines)


def _unknown_subcommand(sub):
    close = difflib.get_close_matches(sub, list(COMMANDS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return UsageError(f"Unknown %crate subcommand {sub!r}.{hint} %crate help lists them: {', '.join(COMMANDS)}.")


def _split(line):
    line = line.strip()
    sub, _, rest = line.partition(" ")
    return sub, rest.strip()


def _wants_help(rest):
    return any(tok in ("-h", "--help") for tok in rest.split())


@magics_class
class CrateMagics(Magics):
    """The ``%crate`` magics; ``capture`` is the extension's CellCapture (for %crate capture/status)."""

    def __init__(self, shell=None, capture=None):
        super().__init__(shell)
        self.capture = capture

    @line_cell_magic
    def crate(self, line, cell=None):
        sub, rest = _split(line)
        if cell is not None:
            if sub != "save":
                raise UsageError(
                    "The cell magic is %%crate save NAME [--kind KIND] [--raw]; "
                    f"{'%%crate ' + sub if sub else '%%crate alone'} is not one. "
                    "Use %crate (one %) for the other subcommands."
                )
            if _wants_help(rest):
                print(cell_save.parser.format_help().strip())
                return None
            return run_cell_save(self, rest, cell)
        if not sub or sub in ("-h", "--help"):
            print(overview())
            return None
        func = COMMANDS.get(sub)
        if func is None:
            raise _unknown_subcommand(sub)
        if _wants_help(rest):
            print(help_of(sub))
            return None
        args = parse_argstring(func, rest)
        try:
            return func(self, args)
        except _core.errors.NotSetUpError as exc:
            raise _user_error(exc) from None


CrateMagics.crate.__doc__ = overview()
