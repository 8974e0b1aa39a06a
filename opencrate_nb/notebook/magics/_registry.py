"""The ``%crate`` subcommand registry: how a subcommand is declared, documented and confirmed.

A subcommand is a function ``cmd_<sub>(magics, args)`` with IPython ``magic_arguments``;
its docstring is its help. :func:`command` registers it under the name users type, with
the errors it may raise that are the user's to fix (the dispatcher turns those, and every
``OpenCrateError``, into one-line ``UsageError`` messages) and, for a subcommand that
destroys something, the ``--confirm`` flag that :func:`confirm` checks before it does.
"""

import argparse
import inspect
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

from IPython.core.error import UsageError

from .. import _core


class ParsedFunction(Protocol):
    """A function decorated with ``magic_arguments()``: it carries its argparse parser."""

    parser: argparse.ArgumentParser
    __name__: str
    __module__: str

    def __call__(self, *args: Any) -> Any: ...


@dataclass
class Subcommand:
    """One registered ``%crate`` subcommand."""

    name: str
    func: ParsedFunction
    #: exception types (beyond OpenCrateError) whose message the user can act on
    user_errors: tuple[type[BaseException], ...] = ()
    #: a destructive subcommand: it takes --confirm, and calls :func:`confirm` before it destroys
    destructive: bool = False
    parser: argparse.ArgumentParser = field(init=False)

    def __post_init__(self) -> None:
        self.parser = self.func.parser

    @property
    def usage(self) -> str:
        return self.parser.format_usage().strip()[len("usage: ") :]

    @property
    def summary(self) -> str:
        doc = (self.parser.description or "").strip()
        return doc.splitlines()[0] if doc else ""

    @property
    def help(self) -> str:
        return self.parser.format_help().strip()


#: subcommand name -> its function, in the order ``%crate help`` lists them
COMMANDS: dict[str, ParsedFunction] = {}
SUBCOMMANDS: dict[str, Subcommand] = {}

CONFIRM_FLAG = "--confirm"


def command(
    usage: str, user_errors: Iterable[type[BaseException]] = (), destructive: bool = False
) -> Callable[[ParsedFunction], ParsedFunction]:
    """Register ``cmd_<sub>`` as ``%crate <sub>``, with ``usage`` as its synopsis.

    ``user_errors``: exception types whose message the dispatcher shows as a one-line usage
    error (as it does for every OpenCrateError). ``destructive``: the subcommand gets a
    ``--confirm`` flag and must call :func:`confirm` before it destroys anything.
    Put this decorator above ``@magic_arguments()``.
    """

    def register(func: ParsedFunction) -> ParsedFunction:
        sub = func.__name__[len("cmd_") :]
        if destructive:
            func.parser.add_argument(CONFIRM_FLAG, action="store_true", help="required: this cannot be undone")
        fix_parser(func, f"%crate {sub}", f"%crate {usage}")
        COMMANDS[sub] = func
        SUBCOMMANDS[sub] = Subcommand(sub, func, tuple(user_errors), destructive)
        return func

    return register


def order_by_module(modules: Sequence[Any]) -> None:
    """List the subcommands module by module in the order of ``modules`` (each in definition order)."""
    names = [n for m in modules for n, s in SUBCOMMANDS.items() if s.func.__module__ == m.__name__]
    names += [n for n in SUBCOMMANDS if n not in names]
    ordered = {n: SUBCOMMANDS[n] for n in names}
    SUBCOMMANDS.clear()
    SUBCOMMANDS.update(ordered)
    COMMANDS.clear()
    COMMANDS.update((n, s.func) for n, s in ordered.items())


def fix_parser(func: ParsedFunction, prog: str, usage: str) -> None:
    """Plain argparse help (IPython's formatter writes reST) under the name users type."""
    func.parser.prog = prog
    if func.parser.description:
        func.parser.description = inspect.cleandoc(func.parser.description)
    func.parser.usage = usage.replace("%", "%%")  # argparse %-formats the usage
    func.parser.formatter_class = _HelpFormatter
    func.__doc__ = func.parser.format_help()


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, prefix="usage: ")

    def _fill_text(self, text, width, indent):
        return super()._fill_text(textwrap.dedent(text).strip(), width, indent)


def confirm(args: argparse.Namespace, consequence: str) -> None:
    """Go on only when the user gave ``--confirm``; otherwise say what would happen and stop.

    ``consequence`` reads after the subcommand's name: ``%crate rm`` + ``deletes m.json for good``.
    """
    if not getattr(args, "confirm", False):
        raise UsageError(f"{consequence}: add {CONFIRM_FLAG} to do it. Nothing was deleted.")


def choice(values: Sequence[str], problem: str) -> Callable[[str], str]:
    """An argparse ``type`` for one of ``values`` (any case): its error is ``problem`` formatted
    with ``value`` and ``choices``. Used with ``choices=values`` so that help and completion list them."""

    def parse(text: str) -> str:
        value = text.lower()
        if value not in values:
            raise argparse.ArgumentTypeError(problem.format(value=text, choices=", ".join(values)))
        return value

    parse.__name__ = "choice"
    return parse


def count(problem: str) -> Callable[[str], int]:
    """An argparse ``type`` for a whole number, 0 or more (``problem``: the message otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


# -- what subcommands print ----------------------------------------------------------------------
class Rendered:
    """A displayable result with an HTML and a plain-text form."""

    def __init__(self, text: str, html: Optional[str] = None) -> None:
        self.text = text
        self.html = html

    def _repr_html_(self) -> Optional[str]:
        return self.html

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text)  # as one piece: IPython's line-by-line pretty printing costs 75 ms for 10,000 lines


def display(text: str, html: Optional[str] = None) -> None:
    """Show a result: its HTML in a notebook, its text in a terminal."""
    from IPython.display import display as show

    show(Rendered(text, html))


def done(message: str) -> None:
    """The one-line report of something that was done: ``✓ saved metrics.json ...``."""
    print(f"\u2713 {message}")


def require_setup() -> Any:
    """The current snapshot; a usage error that says how to set one up when there is none."""
    if not _core.is_set_up():
        raise UsageError("No snapshot is set up. Run %crate setup NAME first (or oc.snapshot.setup(name=...)).")
    return _core.snapshot
