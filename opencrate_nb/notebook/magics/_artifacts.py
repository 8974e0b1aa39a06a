"""``%crate ls``, ``show``, ``load``, ``save``, ``backup``, ``backups`` and ``rm``: the artifacts of
the current version, named by file name."""

import argparse
import fnmatch
import itertools
import keyword
from collections.abc import Sequence
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from .. import _core, preview
from ._lookup import artifact_args, kind_arg, resolve, save_as
from ._registry import command, confirm, display, done, require_setup

LS_HEADER = ("name", "kind", "size", "modified", "cell", "note")


#: Rows of the HTML table of ``%crate ls`` (the text lists every artifact).
LS_HTML_ROWS = 1000


@command("ls [PATTERN] [--kind KIND]")
@magic_arguments()
@argument("pattern", metavar="PATTERN", nargs="?", default=None, help="shell-style pattern, e.g. '*.json'")
@kind_arg()
def cmd_ls(magics: Any, args: argparse.Namespace) -> None:
    """List the artifacts of the current version (name, kind, size, saved, cell)."""
    snapshot = require_setup()
    items = _core.version_listing(snapshot.dir_path)
    if args.pattern:
        items = [i for i in items if fnmatch.fnmatchcase(i["name"], args.pattern)]
    if args.kind:
        items = [i for i in items if i["kind"] == args.kind]
    if not items:
        what = f" matching {args.pattern!r}" if args.pattern else ""
        print(f"no artifacts{what} in {snapshot.name} {snapshot.version_name}")
        return
    header, columns = ls_columns(items)
    if not any(columns[-1]):  # no backups: no note column
        header, columns = header[:-1], columns[:-1]
    display(table_text(header, columns), preview.table_html(header, _first_rows(columns), total_rows=len(items)))


def ls_columns(items: list) -> tuple[list[str], list[Sequence[str]]]:
    """(header, columns) of ``%crate ls`` from the catalog's listing: the texts every UI shows, a
    list per column. No list or tuple is made per row: 10,000 of them would set off the garbage
    collector twice over the 30,000 objects the catalog has just built."""
    return list(LS_HEADER), [
        [i["name"] for i in items],
        [i["kind"] for i in items],
        [i["size_text"] for i in items],
        [i["modified_text"] or "" for i in items],
        [i["cell_label"] or "" for i in items],
        [f"backup of {i['backup_of']}" if i.get("backup_of") else "" for i in items],
    ]


def table_text(header: list[str], columns: list[Sequence[str]]) -> str:
    """Columns left-aligned two spaces apart under their header, each line without trailing spaces."""
    padded = []
    for title, column in zip(header[:-1], columns[:-1]):
        width = max(len(title), max(map(len, column), default=0))
        padded.append([title.ljust(width), *map(str.ljust, column, itertools.repeat(width))])
    padded.append([header[-1], *columns[-1]])
    return "\n".join(map(str.rstrip, map("  ".join, zip(*padded))))


def _first_rows(columns: list[Sequence[str]]) -> list[tuple[str, ...]]:
    return list(itertools.islice(zip(*columns), LS_HTML_ROWS))


@command("show NAME [--kind KIND]")
@magic_arguments()
@artifact_args()
def cmd_show(magics: Any, args: argparse.Namespace) -> None:
    """Show an artifact's preview card."""
    artifact = resolve(args.name, args.kind)
    display(preview.artifact_text(artifact), preview.artifact_card(artifact))


@command("load NAME [--kind KIND] [-o VAR]")
@magic_arguments()
@artifact_args()
@argument("-o", "--output", metavar="VAR", default=None, help="store the value in variable VAR instead of returning it")
def cmd_load(magics: Any, args: argparse.Namespace) -> Any:
    """Load an artifact: returns its value, or stores it in VAR with -o VAR."""
    if args.output is not None and (not args.output.isidentifier() or keyword.iskeyword(args.output)):
        raise UsageError(f"-o needs a variable name, got {args.output!r}.")
    artifact = resolve(args.name, args.kind)
    try:
        value = artifact.load()
    except _core.OpenCrateError:
        raise  # the dispatcher shows it
    except (ValueError, OSError) as exc:  # a damaged or unreadable file: say which, not a traceback
        raise UsageError(
            f"Could not load {artifact.name!r} as {_core.artifact_kind(artifact)}: {type(exc).__name__}: {exc}"
        ) from None
    if args.output is None:
        return value
    magics.shell.user_ns[args.output] = value
    done(f"loaded {artifact.name} into {args.output} ({type(value).__name__})")
    return None


@command("save NAME VAR [--kind KIND]")
@magic_arguments()
@argument("name", metavar="NAME", help="artifact file name; the suffix picks the kind (metrics.json)")
@argument("var", metavar="VAR", help="the variable (or expression without spaces) to save")
@kind_arg()
def cmd_save(magics: Any, args: argparse.Namespace) -> None:
    """Save the value of variable VAR as artifact NAME."""
    require_setup()
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


@command("backup NAME [--tag TAG] [--kind KIND]", user_errors=(FileExistsError, FileNotFoundError))
@magic_arguments()
@artifact_args()
@argument("--tag", metavar="TAG", default=None, help="backup tag (default: the time)")
def cmd_backup(magics: Any, args: argparse.Namespace) -> None:
    """Back up an artifact (a copy named <stem>.backup_<tag or time><suffix>)."""
    artifact = resolve(args.name, args.kind)
    backup_name = artifact.backup(tag=args.tag)
    done(f"backed up {artifact.name} as {backup_name}")


@command("backups NAME [--kind KIND]")
@magic_arguments()
@artifact_args()
def cmd_backups(magics: Any, args: argparse.Namespace) -> None:
    """List the backups of an artifact, oldest first."""
    artifact = resolve(args.name, args.kind)
    backups = artifact.list_backups()
    if not backups:
        print(f"no backups of {artifact.name}")
        return
    print("\n".join(backups))


@command("rm NAME --confirm [--kind KIND]", destructive=True)
@magic_arguments()
@artifact_args()
def cmd_rm(magics: Any, args: argparse.Namespace) -> None:
    """Delete an artifact (needs --confirm)."""
    artifact = resolve(args.name, args.kind)
    confirm(args, f"%crate rm deletes {artifact.name} for good")
    artifact.delete(confirm=True)
    done(f"deleted {artifact.name}")
