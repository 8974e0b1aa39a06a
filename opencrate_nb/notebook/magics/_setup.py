"""``%crate setup``, ``status`` and ``versions``: which snapshot version this notebook writes to."""

import argparse
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from .. import _core, _lineage, preview
from ._registry import choice, command, display, done, require_setup

LOG_LEVELS = _core.LOG_LEVELS


@command("setup NAME [--new | --last | --version N] [--tag TAG] [--log-level LEVEL] [--root DIR]")
@magic_arguments()
@argument("name", metavar="NAME", help="snapshot name (groups the versions of one pipeline)")
@argument("--new", action="store_true", help="start a new version (the default)")
@argument("--last", action="store_true", help="resume the newest version")
@argument("--version", type=int, metavar="N", help="resume (or create) version N")
@argument("--tag", metavar="TAG", help="version tag: v<N>:<TAG>")
@argument(
    "--log-level",
    metavar="LEVEL",
    default="info",
    type=choice(LOG_LEVELS, "Unknown log level {value!r}: use one of {choices}."),
    choices=LOG_LEVELS,
    help=f"one of {', '.join(LOG_LEVELS)} (default info)",
)
@argument("--root", metavar="DIR", default=None, help="folder holding the snapshots (default: snapshots)")
def cmd_setup(magics: Any, args: argparse.Namespace) -> None:
    """Create or resume a snapshot version (like oc.snapshot.setup)."""
    chosen = [
        flag for flag, on in (("--new", args.new), ("--last", args.last), ("--version", args.version is not None)) if on
    ]
    if len(chosen) > 1:
        raise UsageError(f"Use only one of --new, --last and --version N (got {' and '.join(chosen)}).")
    start = "last" if args.last else (args.version if args.version is not None else "new")
    kwargs = {"name": args.name, "start": start, "tag": args.tag, "log_level": args.log_level}
    if args.root is not None:
        kwargs["root"] = args.root
    snapshot = _core.snapshot
    snapshot.setup(**kwargs)
    done(f"snapshot {snapshot.name} {snapshot.version_name} at {snapshot.dir_path}")


@command("status")
@magic_arguments()
def cmd_status(magics: Any, args: argparse.Namespace) -> None:
    """Show the snapshot, version, folder, artifact count and whether capture is on."""
    capture = magics.capture
    capture_text = "on" if capture is not None and capture.enabled else "off"
    if not _core.is_set_up():
        display(f"no snapshot set up (run %crate setup NAME)\ncapture: {capture_text}")
        return
    snapshot = _core.snapshot
    rows = [
        ("snapshot", snapshot.name),
        ("version", snapshot.version_name),
        ("folder", snapshot.dir_path),
        ("artifacts", str(len(snapshot.list_artifacts()))),
        ("capture", capture_text),
    ]
    if capture is not None and capture.problems:
        rows.append(("capture problems", "; ".join(capture.problems[-3:])))
    rows += _environment_rows() + _lineage.status_rows(snapshot.dir_path)
    width = max(len(k) for k, _ in rows)
    text = "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in rows)
    display(text, preview.table_html(["name", "value"], [list(r) for r in rows], header=False))


def _environment_rows() -> list[tuple[str, str]]:
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


def _shown_value(value: Any) -> str:
    return "(none)" if value is None else str(value)


@command("versions")
@magic_arguments()
def cmd_versions(magics: Any, args: argparse.Namespace) -> None:
    """List the versions of the current snapshot (the current one is marked with *)."""
    snapshot = require_setup()
    current = snapshot.version_name
    lines = [f"{'*' if v == current else ' '} {v}" for v in snapshot.list_versions()]
    print(f"{snapshot.name} in {snapshot.root}:")
    print("\n".join(lines) if lines else "  (no versions)")
