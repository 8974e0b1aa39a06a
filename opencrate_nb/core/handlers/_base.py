"""The handler model: one small class per artifact kind."""

import os
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional

from ..format import plural

if TYPE_CHECKING:
    from ._compare import Detail


class Handler:
    """Saves, loads and summarises one kind of artifact.

    Subclasses set the class attributes and implement ``load(path, **kw)`` and
    ``describe``, plus either ``to_bytes`` (small formats serialised in memory: written atomically and
    hashed without reading the file back) or ``save`` (formats a library writes to a
    path itself).
    """

    kind: Optional[str] = None  #: the alias: ``oc.snapshot.<kind>(...)``
    folder: Optional[str] = None  #: folder inside the version: ``jsons``
    suffixes: tuple[str, ...] = ()  #: allowed file suffixes, the first is the default; empty: any
    description: str = ""

    #: optional ``to_bytes(obj, path, **kw) -> bytes``; ``path`` only informs (e.g. its suffix)
    to_bytes: ClassVar[Optional[Callable[..., bytes]]] = None

    def save(self, obj: Any, path: str, *args: Any, **kwargs: Any) -> None:
        """Write ``obj`` to ``path``. The default writes ``to_bytes`` (callers make it atomic)."""
        if self.to_bytes is None:
            raise TypeError(f"{type(self).__name__} must define to_bytes(obj, path) -> bytes or save(obj, path).")
        data = self.to_bytes(obj, path, *args, **kwargs)
        with open(path, "wb") as f:
            f.write(data)

    def describe(self, path: str) -> dict[str, Any]:
        """A cheap, JSON-safe summary for the UIs. Never loads a large file whole."""
        return {"size": os.path.getsize(path)}

    @classmethod
    def writes_bytes(cls) -> bool:
        """Whether the handler serialises in memory (``to_bytes``) rather than writing the path itself."""
        return cls.to_bytes is not None

    #: suffix -> MIME type of the files of this kind (``{".png": "image/png"}``); read through
    #: :func:`opencrate_nb.core.handlers.media_type`, the one suffix-to-MIME lookup
    media_types: dict[str, str] = {}

    def summary(self, description: dict) -> str:
        """One line about the content, from :meth:`describe`'s dict, for lists and cards ('' if nothing to say)."""
        count = description.get("file_count")
        return plural(count, "file") if isinstance(count, int) else ""

    def compare(self, path_a: str, path_b: str) -> "Detail":
        """How the file at ``path_b`` differs from the one at ``path_a`` (for ``oc.snapshot.diff``).

        The default lists the :meth:`describe` fields that differ; handlers override it to
        compare contents (keys, cells, lines, tensors).
        """
        from ._compare import Detail, changed_fields

        return Detail(rows=changed_fields(self.describe(path_a), self.describe(path_b)))


def counted(count: int, word: str) -> str:
    """``1,234 rows``: :func:`~opencrate_nb.core.format.plural` with thousands separated."""
    return f"{count:,}" + plural(count, word)[len(str(count)) :]


# import name -> the name pip installs it by, where the two differ
_PACKAGES = {"PIL": "Pillow", "yaml": "PyYAML", "imageio_ffmpeg": "imageio-ffmpeg"}


def package_for(module: str) -> str:
    """The package pip installs for an import name: ``PIL.Image`` -> ``Pillow``."""
    top = module.split(".")[0]
    return _PACKAGES.get(top, top)


def require(module: str, extra: Optional[str], purpose: str) -> ModuleType:
    """Import a library or raise an error that says how to install it.

    ``extra`` is the opencrate-nb extra that brings the library (``"torch"``), or None for one
    of opencrate-nb's own dependencies, which a plain ``pip install <package>`` restores.
    tests/test_packaging.py checks every call against pyproject.toml.
    """
    import importlib

    from ..errors import MissingDependencyError

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = package_for(module)
        command = f'pip install "opencrate-nb[{extra}]"' if extra else f"pip install {package}"
        raise MissingDependencyError(
            f"{purpose} needs the '{package}' package, which is not installed. Install it with: {command}"
        ) from exc


def corrupt(path: str, what: str, exc: BaseException | None = None) -> Exception:
    """The error for a file that is not what its format says: it says so, and never suggests an unsafe load."""
    from ..errors import CorruptArtifactError

    first = str(exc).splitlines()[0][:200] if exc is not None and str(exc) else ""
    cause = f" ({type(exc).__name__}: {first})" if exc is not None else ""
    return CorruptArtifactError(
        f"{os.path.basename(path)!r} is corrupt: {what}{cause}. The file was changed, truncated or replaced "
        "after it was saved; loading it another way will not help. oc.snapshot.verify() tells whether it "
        "differs from what was saved, and load(version=...) loads an earlier content."
    )


def undecodable(path: str, encoding: str, exc: UnicodeDecodeError) -> Exception:
    """The error for a text file that is not valid in ``encoding``: damaged, or written in another encoding.

    It names the bytes and their offset in the file (the codec's own position counts from the chunk it was given).
    """
    from ..errors import UndecodableTextError

    found = _first_undecodable(path, encoding)
    bad, offset, reason = found if found is not None else (exc.object[exc.start : exc.end], None, exc.reason)
    shown = " ".join(f"0x{byte:02x}" for byte in bad[:8]) or "the end"
    where = f" at byte {offset}" if offset is not None else ""
    message = (
        f"{os.path.basename(path)!r} is not valid {encoding} text: {shown}{where} cannot be decoded ({reason}). "
        "Either it is corrupt (changed, truncated or replaced after it was saved: oc.snapshot.verify() tells "
        "whether it differs from what was saved, and load(version=...) loads an earlier content), or it was "
        "written in another encoding: then load it with that one, e.g. load(encoding='latin-1')."
    )
    return UndecodableTextError(message, encoding, bytes(bad), reason)


def _first_undecodable(path: str, encoding: str) -> tuple[bytes, int, str] | None:
    """(bytes, offset in the file, reason) of the first bytes ``encoding`` cannot decode, read by chunks; or None."""
    import codecs

    try:
        decoder = codecs.getincrementaldecoder(encoding)()
        done = 0
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                pending = decoder.getstate()[0]
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return exc.object[exc.start : exc.end], done - len(pending) + exc.start, exc.reason
                done += len(chunk)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                return exc.object[exc.start : exc.end], done - len(pending) + exc.start, exc.reason
    except (OSError, LookupError, TypeError, IndexError):
        return None  # no incremental decoder with a byte buffer: the codec's own message is shown
    return None
