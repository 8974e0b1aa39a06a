"""The handler model: one small class per artifact kind."""

import os
from types import ModuleType
from typing import Any, Callable, ClassVar, Optional


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
