"""The ``%crate`` / ``%%crate`` magic: one entry point that finds the subcommand, parses its
options, runs it, and turns the errors a user can fix into one-line ``UsageError`` messages
(IPython shows those without a traceback)."""

from collections.abc import Callable
from contextlib import nullcontext
from types import MethodType
from typing import Any, Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import parse_argstring

from .. import _core
from ._registry import SUBCOMMANDS


def _split(line: str) -> tuple[str, str]:
    sub, _, rest = line.strip().partition(" ")
    return sub, rest.strip()


def _wants_help(rest: str) -> bool:
    return any(token in ("-h", "--help") for token in rest.split())


def user_message(exc: BaseException) -> str:
    """What a user reads for an error they can fix: its own message (else its type's name)."""
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    return str(message) or type(exc).__name__


def run_mapped(work: Callable[[], Any], user_errors: tuple[type[BaseException], ...] = ()) -> Any:
    """Run ``work()``; an OpenCrateError, or one of ``user_errors``, becomes a UsageError with its message.

    The one place where errors raised on purpose (an invalid name, nothing set up, a missing
    confirmation, an unknown version...) are turned into what IPython shows as one line.
    """
    caught: tuple[type[BaseException], ...] = (_core.OpenCrateError, *user_errors)
    try:
        return work()
    except UsageError:
        raise
    except caught as exc:
        raise UsageError(user_message(exc)) from None


def _groups() -> None:
    from . import load_groups

    load_groups()


def _overview() -> str:
    _groups()
    from ._help import overview

    return overview()


class _LazyDocMethod:
    """A method whose docstring (what ``%crate?`` shows) is written when first read: it lists every
    subcommand, so it needs every subcommand group, which ``%load_ext`` does not import."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.__name__ = func.__name__
        self.__qualname__ = func.__qualname__
        self.__module__ = func.__module__
        self.__wrapped__ = func
        self._doc: Optional[str] = None

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        return self if obj is None else MethodType(self, obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    @property  # type: ignore[misc]
    def __doc__(self) -> str:
        if self._doc is None:
            self._doc = _overview()
        return self._doc


@magics_class
class CrateMagics(Magics):
    """The ``%crate`` magics; ``capture`` is the extension's CellCapture (for %crate capture/status)."""

    def __init__(self, shell: Any = None, capture: Any = None) -> None:
        super().__init__(shell)
        self.capture = capture

    @line_cell_magic
    def crate(self, line: str, cell: Optional[str] = None) -> Any:
        with self.capture.untracked() if self.capture is not None else nullcontext():  # never logged
            return self._crate(line, cell)

    def _crate(self, line: str, cell: Optional[str]) -> Any:
        sub, rest = _split(line)
        if cell is not None:
            return self._cell(sub, rest, cell)
        _groups()
        if not sub or sub in ("-h", "--help"):
            print(_overview())
            return None
        subcommand = SUBCOMMANDS.get(sub)
        if subcommand is None:
            from ._help import unknown_subcommand

            raise unknown_subcommand(sub)
        if _wants_help(rest):
            print(subcommand.help)
            return None
        args = parse_argstring(subcommand.func, rest)
        return run_mapped(lambda: subcommand.func(self, args), subcommand.user_errors)

    def _cell(self, sub: str, rest: str, cell: str) -> Any:
        _groups()
        from ._cell_save import USAGE as CELL_USAGE
        from ._cell_save import cell_save, run_cell_save

        if sub != "save":
            raise UsageError(
                f"The cell magic is {CELL_USAGE}; "
                f"{'%%crate ' + sub if sub else '%%crate alone'} is not one. "
                "Use %crate (one %) for the other subcommands."
            )
        if _wants_help(rest):
            print(cell_save.parser.format_help().strip())
            return None
        return run_mapped(lambda: run_cell_save(self, rest, cell))


CrateMagics.crate = _LazyDocMethod(CrateMagics.__dict__["crate"])  # type: ignore[method-assign]
