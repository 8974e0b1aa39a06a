"""``%crate log`` and ``%crate capture``: the run log, and the cells written into it."""

import argparse
import os
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from .. import _core
from ._registry import choice, command, count, require_setup

LOG_LEVELS = _core.LOG_LEVELS
CAPTURE_STATES = ("on", "off")
DEFAULT_LOG_ENTRIES = 20


@command("log [--history] [-n N] [--level LEVEL]")
@magic_arguments()
@argument("--history", action="store_true", help="the history log (every run of this version)")
@argument(
    "-n",
    type=count("-n needs a number of entries, 0 or more."),
    default=DEFAULT_LOG_ENTRIES,
    metavar="N",
    help=f"show the last N entries (default {DEFAULT_LOG_ENTRIES}; 0 for all)",
)
@argument(
    "--level",
    metavar="LEVEL",
    default=None,
    type=choice(LOG_LEVELS, "Unknown level {value!r}: use one of {choices}."),
    choices=LOG_LEVELS,
    help=f"only entries at LEVEL or above ({', '.join(LOG_LEVELS)})",
)
def cmd_log(magics: Any, args: argparse.Namespace) -> None:
    """Show the end of the run log (or of the history log), entry by entry.

    An entry is one logged message with the lines that continue it (a traceback, a cell's
    captured output), as crate log counts them.
    """
    require_setup()
    run_log, history_log = _core.log_paths()
    path = history_log if args.history else run_log
    if not os.path.exists(path):
        if args.history:
            print("no history log yet: it starts when this version is run a second time")
        else:
            print(f"no run log yet ({path})")
        return
    entries = _core.select_log_entries(_core.read_log_entries(path), level=args.level, last=args.n)
    if not entries:
        print("(no log entries)")
        return
    print("\n".join(entry.text for entry in entries))


@command("capture [on|off]")
@magic_arguments()
@argument(
    "state",
    metavar="on|off",
    nargs="?",
    default=None,
    type=choice(CAPTURE_STATES, "Use %crate capture on or %crate capture off (got {value!r})."),
    choices=CAPTURE_STATES,
    help="turn cell capture on or off",
)
def cmd_capture(magics: Any, args: argparse.Namespace) -> None:
    """Turn automatic cell capture on or off (without argument: show it)."""
    capture = magics.capture
    if capture is None:
        raise UsageError("Cell capture is not available: load the extension with %load_ext opencrate.")
    if args.state is None:
        print(f"capture is {'on' if capture.enabled else 'off'}")
        return
    if args.state == "on":
        capture.enable()
    else:
        capture.disable()
    _core.write_to_files("info", f"cell capture turned {args.state}")
    print(f"capture is {args.state}")
