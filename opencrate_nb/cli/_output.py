"""What every command shares: JSON output, errors, and progress on stderr."""

import sys
import time

from ..core._printable import printable_json

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
    print(f"crate: error: {message}", file=sys.stderr)
    return 2


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
