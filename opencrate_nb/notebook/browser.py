"""``oc.browse()`` and ``%crate browse``: an ipywidgets browser of every snapshot under a root.

The tree shows snapshots, their versions (tag, creation time, size, artifact count), kind
folders, artifacts with their backups, and the run logs. Selecting an item shows the same
card as ``%crate show`` and its metadata, including the source of the cell that saved it.
Actions: a load snippet (to copy into a cell), back up, delete (after a confirmation), and
the tail of the run log. The browser follows the folder: a save in any kernel appears within
about a second; ``.close()`` stops it.

In a terminal (no kernel to draw widgets) the same tree is shown as text, and the widget's
plain-text fallback, stored in executed notebooks, is that text too (``_browser_text``).
"""

import os
import sys
import threading
import weakref

from ..core import _terminal

_live = {}  # absolute root -> weak reference to the browser showing it
_live_lock = threading.Lock()


def browse(root="snapshots", poll=1.0):
    """Show the snapshots under ``root`` in a widget browser (display it, or leave it last in a cell).

    ``poll`` is the number of seconds between checks for changes (``None`` or ``0``: never;
    the Refresh button still works). Opening a browser on a root closes the previous browser
    of that root, so that only one keeps watching it. In a terminal it returns the tree as
    text (shown when displayed or left last in a cell), which needs no ipywidgets.
    """
    if _in_terminal():
        from ._text_tree import TextTree

        return TextTree(_checked_root(root, poll))
    try:
        from ._browser_text import TextFallbackBrowser
    except ImportError as exc:
        raise ImportError(
            f"The snapshot browser needs ipywidgets ({exc}). Install it with: pip install ipywidgets "
            "(JupyterLab and Notebook 7 then show it without any other step)."
        ) from exc
    root = _checked_root(root, poll)
    key = os.path.realpath(root)
    with _live_lock:
        previous = _live.pop(key, None)
    previous = previous() if previous is not None else None
    if previous is not None and not previous.closed:
        previous.close()
    browser = TextFallbackBrowser(root, poll=poll)
    with _live_lock:
        _live[key] = weakref.ref(browser)
    return browser


def _in_terminal():
    """A terminal and no Jupyter kernel: no front end could draw a widget."""
    if _terminal.kernel_display() is not None:
        return False
    try:
        return bool(sys.stdout.isatty())
    except (AttributeError, ValueError):
        return False


def _checked_root(root, poll):
    root = os.fspath(root)
    if not isinstance(root, str) or not root:
        raise ValueError(f"Invalid root {root!r}: give the folder that holds snapshots, e.g. 'snapshots'.")
    if os.path.exists(root) and not os.path.isdir(root):
        raise NotADirectoryError(f"{root!r} is a file; browse() needs the folder that holds snapshots.")
    if poll is not None and (isinstance(poll, bool) or not isinstance(poll, (int, float)) or poll < 0):
        raise ValueError(f"poll must be a number of seconds >= 0 or None, got {poll!r}.")
    return root
