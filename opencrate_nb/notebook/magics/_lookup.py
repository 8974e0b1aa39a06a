"""Finding an artifact of the current version by the name a user types, and saving a value as one.

Shared by the subcommands that work on one artifact and by ``%%crate save``.
"""

import difflib
from collections.abc import Callable
from typing import Any, Optional

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from .. import _core, infer, preview
from ._registry import done, require_setup


def find_artifacts(name: str, kind: Optional[str] = None) -> list:
    """The artifacts of the current version called ``name`` (of ``kind`` when given)."""
    snapshot = require_setup()
    found = snapshot.find(name)
    if kind:
        found = [a for a in found if _core.artifact_kind(a) == kind]
    return found


def _not_found(name: str, kind: Optional[str] = None) -> UsageError:
    snapshot = _core.snapshot
    names = sorted({a.name for a in snapshot.list_artifacts()})
    text = (
        f"No artifact named {name!r}"
        + (f" of kind {kind!r}" if kind else "")
        + f" in {snapshot.name} {snapshot.version_name}."
    )
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        text += f" Did you mean {close[0]!r}?"
    text += " %crate ls lists the artifacts."
    return UsageError(text)


def resolve(name: str, kind: Optional[str] = None, must_exist: bool = True) -> Any:
    """The artifact called ``name`` (a file name such as ``metrics.json``) in the current version.

    The kind is ``kind`` if given, else the kind folder the name is found in; a name found
    in several kinds needs ``--kind``. With ``must_exist=False`` a new artifact is made,
    its kind taken from the name's suffix.
    """
    found = find_artifacts(name, kind)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        kinds = ", ".join(sorted(_core.artifact_kind(a) for a in found))
        raise UsageError(f"{name!r} exists in several kinds ({kinds}): add --kind KIND to say which.")
    if must_exist:
        raise _not_found(name, kind)
    kind = kind or _core.handlers.kind_for_suffix(name)
    if not kind:
        raise UsageError(f"Cannot tell the kind of {name!r} from its suffix: add --kind KIND.")
    return _core.snapshot.artifact(kind, name)


def kind_arg() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--kind KIND``: any kind, custom ones included, so no ``choices``."""
    return argument("--kind", metavar="KIND", help="the artifact kind (json, csv, image, ... or a custom kind)")


def artifact_args() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """NAME and --kind: how every subcommand that works on one existing artifact names it."""
    name = argument("name", metavar="NAME", help="artifact file name, e.g. metrics.json")
    kind = kind_arg()
    return lambda func: name(kind(func))


def save_as(name: str, value: Any, kind: Optional[str] = None) -> Any:
    """Save ``value`` as artifact ``name`` and print a one-line confirmation."""
    kind, name = infer.choose_kind(name, value, kind)
    existing = find_artifacts(name, kind)
    try:
        artifact = existing[0] if existing else _core.snapshot.artifact(kind, name)
        note = infer.save_value(artifact, value)
    except _core.OpenCrateError:
        raise  # the dispatcher shows it
    except (TypeError, ValueError) as exc:  # the handler refused the value: say why, nothing was written
        raise UsageError(f"Could not save {name!r} as {kind}: {exc}") from None
    report_saved(artifact, note)
    return artifact


def report_saved(artifact: Any, note: str = "") -> None:
    """``✓ saved NAME (KIND, SIZE[, note]) to PATH``."""
    size = preview.artifact_facts(artifact)["size"]
    extra = f", {note}" if note else ""
    done(
        f"saved {artifact.name} ({_core.artifact_kind(artifact)}, {preview.human_size(size)}{extra}) to {artifact.path}"
    )
