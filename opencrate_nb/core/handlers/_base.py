"""The handler model: one small class per artifact kind."""

import os


class Handler:
    """Saves, loads and summarises one kind of artifact.

    Subclasses set the class attributes and implement ``load`` and ``describe``, plus
    either ``to_bytes`` (small formats serialised in memory: written atomically and
    hashed without reading the file back) or ``save`` (formats a library writes to a
    path itself).
    """

    kind = None  #: the alias: ``oc.snapshot.<kind>(...)``
    folder = None  #: folder inside the version: ``jsons``
    suffixes = ()  #: allowed file suffixes, the first is the default; empty: any
    description = ""

    def to_bytes(self, obj, *args, **kwargs):  # pragma: no cover - overridden or unused
        raise NotImplementedError

    def save(self, obj, path, *args, **kwargs):
        """Write ``obj`` to ``path``. The default writes ``to_bytes`` (callers make it atomic)."""
        data = self.to_bytes(obj, *args, **kwargs)
        with open(path, "wb") as f:
            f.write(data)

    def load(self, path, *args, **kwargs):
        raise NotImplementedError

    def describe(self, path):
        """A cheap, JSON-safe summary for the UIs. Never loads a large file whole."""
        return {"size": os.path.getsize(path)}

    @classmethod
    def writes_bytes(cls):
        return cls.to_bytes is not Handler.to_bytes


def require(module, extra, purpose):
    """Import an optional library or raise an error that says how to install it."""
    import importlib

    from ..errors import MissingDependencyError

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} needs the '{module.split('.')[0]}' package, which is not installed. "
            f'Install it with: pip install "opencrate-nb[{extra}]"'
        ) from exc
