"""``%crate diff`` and ``%crate browse``: looking across versions."""

import argparse
import os
from typing import Any, Optional, Union

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from .. import _core
from ._registry import command, display, require_setup


@command("diff [A] [B]", user_errors=(LookupError, ValueError, FileNotFoundError))
@magic_arguments()
@argument(
    "a",
    metavar="A",
    nargs="?",
    default=None,
    help="a version: 1, v1, v1:tag, or other_name/v2 (default: the version before the current one)",
)
@argument("b", metavar="B", nargs="?", default=None, help="another version (default: the current one)")
def cmd_diff(magics: Any, args: argparse.Namespace) -> None:
    """Compare two versions: artifacts added, removed and changed (like oc.snapshot.diff)."""
    snapshot = _core.snapshot if args.b is not None else require_setup()  # two named versions need no setup
    result = snapshot.diff(_version_spec(args.a), _version_spec(args.b))
    # the full text (not the one-line repr) for terminals and text/plain, the HTML for notebooks
    display(str(result), result._repr_html_())


def _version_spec(text: Optional[str]) -> Union[int, str, None]:
    """``"3"`` means version 3; anything else (``v3``, ``v3:tag``, ``name/v2``) is passed as it is."""
    return int(text) if text is not None and text.isdigit() else text


@command("browse [--root ROOT]", user_errors=(ValueError, NotADirectoryError))
@magic_arguments()
@argument(
    "--root",
    metavar="ROOT",
    default=None,
    help="folder holding the snapshots (default: the current snapshot's root, else snapshots)",
)
def cmd_browse(magics: Any, args: argparse.Namespace) -> None:
    """Browse every snapshot, version and artifact in a widget (like oc.browse())."""
    root = args.root
    if root is None and _core.is_set_up():
        root = _core.snapshot.root
    if root is not None and not os.path.isdir(root):
        what = "is a file, not a folder" if os.path.exists(root) else "does not exist"
        raise UsageError(f"{root!r} {what}: pass --root the folder that holds your snapshots.")
    from IPython.display import display as show

    from .. import browser

    show(browser.browse(**({} if root is None else {"root": root})))
