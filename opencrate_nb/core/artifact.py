"""One artifact of a snapshot version: save, load, back up, list backups, delete."""

import datetime as _dt
import difflib
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Optional

from . import _atomic, _timelines, _writer, history, log
from ._names import check_name
from ._paths import shown
from .distributed import writer_only
from .errors import ConfirmationRequired

if TYPE_CHECKING:
    from .gather import Lineage

_known_dirs: set[str] = set()
_environment: Any = None  # core/environment.py, imported at the first save (an import statement per save costs)


def _load_environment() -> Any:
    global _environment
    from . import environment

    _environment = environment
    return environment


class Artifact:
    """A named file (or folder) in a kind folder of one snapshot version.

    ``path``, ``name``, ``snapshot_type`` and ``exists`` are as in the OpenCrate guide.
    For a custom kind, methods of the user's handler class other than save/load (such
    as ``reset()``) are reachable on the artifact.
    """

    def __init__(
        self,
        version_dir: str,
        kind: str,
        name: str,
        handler: Any,
        folder: str,
        verbose: bool = False,
        custom: bool = False,
    ) -> None:
        # Checked, but kept as given: oc.snapshot.artifact() passes the normalised name, and an
        # artifact listed from disk (list_artifacts) keeps the file's own spelling, so that its path
        # names the file that is there even when it was copied in under a decomposed name.
        check_name(name, "artifact name")
        # bound now as an absolute path: a later os.chdir() changes how paths are shown, not where they go
        self._version_dir = os.path.abspath(version_dir)
        self._shown_relative = not os.path.isabs(version_dir)
        self._full_path = os.path.join(self._version_dir, folder, name)
        self._kind = kind
        self._handler = handler
        self._custom = custom
        self._rel = f"{folder}/{name}"
        self.name = name
        self.snapshot_type = kind
        self.verbose = verbose
        if custom:
            for attr, value in (("path", self.path), ("verbose", verbose), ("name", name), ("snapshot_type", kind)):
                setattr(handler, attr, value)

    # -- properties -------------------------------------------------------------------------
    @property
    def path(self) -> str:
        """The artifact's file or folder, shown as the version folder was given (relative or absolute)."""
        return shown(self._full_path, self._shown_relative)

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def exists(self) -> bool:
        return os.path.exists(self.path)

    @property
    def version_dir(self) -> str:
        return shown(self._version_dir, self._shown_relative)

    @property
    def relative_path(self) -> str:
        """Path inside the version folder, '/'-separated (as in the record)."""
        return self._rel

    @property
    def handler(self) -> Any:
        return self._handler

    # -- save / load --------------------------------------------------------------------------
    @writer_only  # a rank other than 0 skips it (core/distributed.py)
    def save(self, obj: Any = None, *args: Any, **kwargs: Any) -> None:
        """Save ``obj``: a killed process leaves the old or the new content, a full disk the old one.

        The protocol (temporary file, kept old content, intent, swap, record line) is in core/_writer.py.
        """
        (_environment or _load_environment()).note_save(self._version_dir, self._kind, self._handler)
        if self._custom:

            def run():
                self._handler.path = self.path  # the user's code writes there: valid after an os.chdir() too
                os.makedirs(os.path.dirname(self.path), exist_ok=True)  # the user's code writes: no cache
                if obj is None and not args:
                    self._handler.save(**kwargs)
                else:
                    self._handler.save(obj, *args, **kwargs)

            _writer.save_custom(self._version_dir, self._rel, self.path, self.name, self._kind, run)
        else:
            try:
                self._ensure_folder()
            except OSError as exc:  # the kind folder's inode, on a full disk
                if exc.errno in _atomic.DISK_FULL_ERRNOS:
                    raise _writer.disk_full_error(exc, "saving", self.path) from exc
                raise
            _writer.save(  # the absolute path: no look at the current folder per save
                self._version_dir, self._rel, self._full_path, self.name, self._kind, self._handler, obj, args, kwargs
            )
        if self.verbose:
            log.info(f"✓ '{self.name}' of '{self._kind}' saved successfully at '{self.path}'.")

    def load(self, *args: Any, version: Optional[int] = None, at: Any = None, **kwargs: Any) -> Any:
        """Load the artifact. A missing one raises FileNotFoundError naming what exists.

        ``version=k`` loads the k-th content in :meth:`history` (0 = first, -1 = current);
        ``at=`` (a datetime or ISO string) loads the content that was current at that time.
        """
        if version is not None or at is not None:
            return history.load(self, version=version, at=at, args=args, kwargs=kwargs)
        if self._custom:
            self._handler.path = self.path
            value = self._handler.load(*args, **kwargs)
        else:
            try:
                value = self._handler.load(self.path, *args, **kwargs)
            except FileNotFoundError:
                if os.path.exists(self.path):
                    raise
                raise FileNotFoundError(self._missing_message()) from None
        if self.verbose:
            log.info(f"✓ '{self.name}' of '{self._kind}' loaded successfully from '{self.path}'.")
        return value

    def describe(self) -> dict:
        """A cheap summary of the stored content (shape, columns, keys, duration...)."""
        if not self.exists:
            raise FileNotFoundError(self._missing_message())
        if os.path.isdir(self.path):
            files = sorted(rel for rel, _ in _atomic.iter_files(self.path))
            size = sum(os.path.getsize(os.path.join(self.path, f)) for f in files)
            return {"size": size, "files": files[:200], "file_count": len(files)}
        describe = getattr(self._handler, "describe", None)
        if self._custom or describe is None:
            return {"size": os.path.getsize(self.path)}
        return describe(self.path)

    def history(self) -> "history.History":
        """Every content this artifact has had, oldest first, the current one last (see core/history.py)."""
        return history.history_of(self._version_dir, self._rel, self.path)

    def lineage(self) -> "Lineage":
        """The cell that saved this artifact and the executed cells it depended on (see core/gather.py)."""
        from . import gather

        return gather.lineage(self._version_dir, self._rel)

    def last_record(self) -> Optional[dict]:
        """The newest record entry for this artifact (save or backup), or None (from the record index)."""
        return _timelines.index_for(self._version_dir).current_entry(self._rel)

    # -- backups ----------------------------------------------------------------------------
    @writer_only  # a rank other than 0 skips it (core/distributed.py)
    def backup(self, tag: Optional[str] = None) -> str:
        """Copy the current content to ``<stem>.backup_<tag or time><suffix>``; returns that name.

        A tagged backup that exists with other content is never overwritten. Untagged
        backups made in the same second get ``_2``, ``_3``... so none is lost.
        """
        if not self.exists:
            raise FileNotFoundError(f"Cannot back up {self.name!r}: it has not been saved yet ({self.path}).")
        stem, suffix = self._stem_suffix()
        folder = os.path.dirname(self.path)
        if tag is not None:
            tag = check_name(str(tag), "backup tag")
            candidates: Iterable[str] = [f"{stem}.backup_{tag}{suffix}"]
        else:
            stamp = _dt.datetime.now().strftime("%H:%M:%S_%d-%b-%Y")
            candidates = (f"{stem}.backup_{stamp}{'' if n == 1 else f'_{n}'}{suffix}" for n in range(1, 10000))
        for backup_name in candidates:
            target = os.path.join(folder, backup_name)
            if tag is not None and os.path.exists(target):
                sha = self._content_hash(target)
                if sha == self._content_hash(self.path):
                    # the same content is already backed up under this tag (recorded, if its maker died first)
                    _writer.ensure_recorded_backup(self._version_dir, target, backup_name, self._kind, self.name, sha)
                    return backup_name
                raise FileExistsError(
                    f"A backup tagged {tag!r} of {self.name!r} already exists with other content. "
                    f"Use another tag, or delete it first: oc.snapshot.{self._kind}({backup_name!r}).delete(confirm=True)."
                )
            if _writer.backup(self._version_dir, self.path, target, backup_name, self._kind, self.name) is None:
                continue  # taken meanwhile (same second, another process): try the next name
            if self.verbose:
                log.info(f"✓ '{self.name}' of '{self._kind}' backed up as '{backup_name}'.")
            return backup_name
        raise FileExistsError(f"Could not find a free backup name for {self.name!r}.")

    def list_backups(self) -> list[str]:
        """Backup file names of this artifact, in the order they were made (by the record; on-disk
        copies the record does not know of come last, by modification time)."""
        stem, suffix = self._stem_suffix()
        folder = os.path.dirname(self.path)
        prefix = f"{stem}.backup_"
        try:
            names = [
                n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(suffix) and not n.startswith(".")
            ]
        except FileNotFoundError:
            return []
        order: dict[str, int] = {}
        for backup_name in _timelines.index_for(self._version_dir).backups_of(self._rel):
            order.setdefault(backup_name, len(order))

        def key(n):
            return (order.get(n, len(order)), os.stat(os.path.join(folder, n)).st_mtime_ns, n)

        return sorted(names, key=key)

    # -- delete -----------------------------------------------------------------------------
    @writer_only  # a rank other than 0 skips it (core/distributed.py)
    def delete(self, confirm: bool = False) -> None:
        """Remove the artifact. Without ``confirm=True`` nothing is deleted and an error says so."""
        if confirm is not True:
            raise ConfirmationRequired(
                f"Deleting {self.name!r} needs confirmation: call .delete(confirm=True). Nothing was deleted."
            )
        if not os.path.lexists(self.path):
            raise FileNotFoundError(self._missing_message())
        if not _writer.delete(self._version_dir, self._rel, self.path, self.name, self._kind, link=not self._custom):
            raise FileNotFoundError(self._missing_message())  # deleted meanwhile by another process
        if self.verbose:
            log.info(f"✓ '{self.name}' of '{self._kind}' deleted from '{self.path}'.")

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def forget_folders() -> None:
        """Forget which kind folders exist (after a setup or reset they may be gone)."""
        _known_dirs.clear()

    def _ensure_folder(self):
        folder = self._full_path[
            : self._full_path.rfind(os.sep)
        ]  # absolute: the cache must not depend on the current folder
        if folder not in _known_dirs:
            os.makedirs(folder, exist_ok=True)
            _known_dirs.add(folder)

    def _stem_suffix(self):
        if os.path.isdir(self.path) or self._custom and "." not in self.name:
            return self.name, ""
        return os.path.splitext(self.name)

    @staticmethod
    def _content_hash(path):
        if os.path.isdir(path):
            return _atomic.hash_tree(path)[0]
        return _atomic.hash_file(path)

    def _missing_message(self):
        folder = os.path.dirname(self.path)
        try:
            present = sorted(n for n in os.listdir(folder) if not n.startswith("."))
        except FileNotFoundError:
            present = []
        text = f"No {self._kind} artifact {self.name!r} in {self._version_dir} (looked for {self.path})."
        if present:
            shown = ", ".join(present[:20]) + (" ..." if len(present) > 20 else "")
            text += f" {os.path.basename(folder)}/ holds: {shown}."
            close = difflib.get_close_matches(self.name, present, n=1)
            if close:
                text += f" Did you mean {close[0]!r}?"
        else:
            text += f" Nothing has been saved in {os.path.basename(folder)}/ yet."
        return text

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(attr)
        handler = self.__dict__.get("_handler")
        if self.__dict__.get("_custom") and handler is not None and hasattr(handler, attr):
            handler.path = self.path  # the handler's own methods (reset()...) see the bound path too
            return getattr(handler, attr)
        raise AttributeError(f"{type(self).__name__} of kind {self.__dict__.get('_kind')!r} has no attribute {attr!r}.")

    def __repr__(self):
        return f"<Artifact {self._kind} {self.name!r} at {self.path!r}>"

    def __fspath__(self):
        return self.path
