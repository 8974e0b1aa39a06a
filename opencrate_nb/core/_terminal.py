"""Where output goes: a terminal, a notebook kernel or a plain file, and whether to colour it.

One rule for every colourful thing opencrate prints (log levels, the dimmed annotations of
``oc.io.show_files_in_dir``): colour on a terminal and in a Jupyter kernel (which renders ANSI
colours), plain text otherwise, and never when ``NO_COLOR`` is set (https://no-color.org).
core does not import IPython: a kernel is recognised from what is already loaded.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional, TextIO


def no_color() -> bool:
    """True when the user asked for plain output (NO_COLOR set to anything but the empty string)."""
    return bool(os.environ.get("NO_COLOR"))


def _underlying(stream: Any) -> Any:
    """The stream below the cell capture's tees (``%load_ext opencrate`` wraps stdout and stderr)."""
    for _ in range(8):
        inner = getattr(stream, "_oc_stream", None)
        if inner is None:
            break
        stream = inner
    return stream


def _is_kernel_stream(stream: Any) -> bool:
    """A Jupyter kernel's stdout/stderr (ipykernel's OutStream), which the front end shows with colours."""
    return type(_underlying(stream)).__module__.startswith("ipykernel") and "ipykernel" in sys.modules


def wants_colour(stream: Optional[TextIO] = None) -> bool:
    """Whether text written to ``stream`` (default: the current ``sys.stdout``) may carry ANSI colours."""
    if no_color():
        return False
    stream = sys.stdout if stream is None else stream
    if _is_kernel_stream(stream):
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def kernel_display() -> Optional[Any]:
    """IPython's ``display`` function when this process is a Jupyter kernel showing a cell's output, else None.

    Rich output (HTML next to the text) only makes sense there; a terminal IPython gets the text.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None or not _is_kernel_stream(sys.stdout):
        return None
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    display_module = sys.modules.get("IPython.display") or sys.modules.get("IPython.core.display_functions")
    return getattr(display_module, "display", None)


DIM = "\x1b[2m"
RESET = "\x1b[0m"


def dim(text: str, colour: bool) -> str:
    """``text`` dimmed with ANSI codes when ``colour``, else unchanged."""
    return f"{DIM}{text}{RESET}" if colour and text else text
