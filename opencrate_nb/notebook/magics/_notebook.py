"""``%crate notebook``, ``gather`` and ``reproduce``: the run's notebook, an artifact's slice of it,
and re-running it in a fresh kernel."""

from __future__ import annotations

import argparse
import html
import os
from typing import Any, Optional

from IPython.core.magic_arguments import argument, magic_arguments

from ._lookup import artifact_args, resolve
from ._registry import command, display, done, require_setup


def version_dir(magics: Any, version: Optional[str]) -> str:
    """The folder of VERSION of the current snapshot (the current version when None), run.ipynb brought up to date."""
    snapshot = require_setup()
    if version is None:
        capture = getattr(magics, "capture", None)
        if capture is not None:
            capture.notebook.flush()
        return snapshot.dir_path
    from ...core import refs

    return refs.resolve(version, name=snapshot.name, root=snapshot.root).dir_path


def show_link(path: str, label: str) -> None:
    """A link that opens ``path`` (JupyterLab opens notebooks from relative links), and its path as text."""
    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    href = html.escape(shown.replace(os.sep, "/"), quote=True)
    display(f"{label}: {shown}", f'{html.escape(label)}: <a href="{href}" target="_blank">{html.escape(shown)}</a>')


@command("notebook [VERSION]", user_errors=(FileNotFoundError,))
@magic_arguments()
@argument("version", metavar="VERSION", nargs="?", default=None, help="a version (default: the current one)")
def cmd_notebook(magics: Any, args: argparse.Namespace) -> None:
    """Link to the run's notebook (run.ipynb): the cells as they were executed, with their outputs."""
    from ...core import run_notebook

    folder = version_dir(magics, args.version)
    path = run_notebook.ensure(folder)
    if path is None:
        raise FileNotFoundError(f"{folder} has no run notebook: no cell was captured there.")
    show_link(path, "the run's notebook")


@command("gather NAME [-o FILE] [--kind KIND]")
@magic_arguments()
@artifact_args()
@argument("-o", "--output", metavar="FILE", default=None, help="where to write it (default: gather_<name>.ipynb)")
def cmd_gather(magics: Any, args: argparse.Namespace) -> None:
    """Write a clean notebook of just the cells artifact NAME depended on, in the order they ran."""
    from ...core import gather

    artifact = resolve(args.name, args.kind)
    version_dir(magics, None)
    found = gather.lineage(artifact.version_dir, artifact.relative_path)
    target = args.output or f"gather_{os.path.splitext(artifact.name)[0]}.ipynb"
    found.write(target)
    print(str(found))
    done(f"wrote {len(found.cells)} cell(s) to {target}")
    show_link(target, f"the cells behind {artifact.name}")


@command("reproduce [VERSION] [--gather ARTIFACT] [--rtol X]")
@magic_arguments()
@argument("version", metavar="VERSION", nargs="?", default=None, help="a version (default: the current one)")
@argument("--gather", metavar="ARTIFACT", default=None, help="re-run only the cells ARTIFACT depended on")
@argument("--rtol", type=float, default=None, metavar="X", help="relative tolerance for numbers (default 1e-6)")
def cmd_reproduce(magics: Any, args: argparse.Namespace) -> Any:
    """Re-run a version's notebook in a fresh kernel (a new version tagged repro-of-v<N>) and report
    per artifact whether it came out identical, equal within tolerance or different."""
    from ... import reproduce as _reproduce

    snapshot = require_setup()
    folder = version_dir(magics, args.version)
    label = os.path.basename(folder)
    print(f"re-running {snapshot.name} {label} in a fresh kernel...")
    rtol = _reproduce.DEFAULT_RTOL if args.rtol is None else args.rtol
    report = _reproduce.reproduce(snapshot.name, label, root=snapshot.root, gather_artifact=args.gather, rtol=rtol)
    display(str(report), "<pre>" + html.escape(str(report)) + "</pre>")
    return None
