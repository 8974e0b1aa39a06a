"""One artifact of a snapshot version: save, load, back up, list backups, delete."""

import datetime as _dt
import difflib
import os
import shutil

from . import _atomic, _writer, history, log, record
from ._names import check_name
from ._paths import shown
from .distributed import writer_only
from .errors import ConfirmationRequired

_known_dirs: set[str] = set()


class Artifact:
    """A named file (or folder) in a kind folder of one snapshot version.

    ``path``, ``name``, ``snapshot_type`` and ``exists`` are as in the OpenCrate guide.
    For a custom kind, methods of the user's handler class other than save/load (such
    as ``reset()``) are reachable on the artifact.
    """

    def __init__(self, version_dir, kind, name, handler, folder, verbose=False, custom=False):
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
    def path(self):
        """The artifact's file or folder, shown as the version folder was given (relative or absolute)."""
        return shown(self._full_path, self._shown_relative)

    @property
    def kind(self):
        return self._kind

    @property
    def exists(self):
        return os.path.exists(self.path)

    @property
    def version_dir(self):
        return shown(self._version_dir, self._shown_relative)

    @property
    def relative_path(self):
        """Path inside the version folder, '/'-separated (as in the record)."""
        return self._rel

    @property
    def handler(self):
        return self._handler

    # -- save / load --------------------------------------------------------------------------
    @writer_only  # a rank other than 0 skips it (core/distributed.py)
    def save(self, obj=None, *args, **kwargs):
        """Save ``obj`` (atomically: a killed process leaves the old or the new content)."""
        if self._custom:
            self._handler.path = self.path  # the user's code writes there: valid after an os.chdir() too
            os.makedirs(os.path.dirname(self.path), exist_ok=True)  # the user's code writes: no cache
            keep = history.keep_before_custom_save(self._version_dir, self._rel, self.path, self._kind, self._handler)
            try:
                if obj is None and not args:
                    self._handler.save(**kwargs)
                else:
                    self._handler.save(obj, *args, **kwargs)
                self._record_current("save")
            finally:
                keep.release()
        else:
            self._ensure_folder()
            # keeps the old content (history) and holds the version's save lock until the record line is written
            keep = history.keeper(self._version_dir, self._rel, self.path, self._kind, self._handler)
            try:
                try:
                    sha, size = _writer.write(self._handler, obj, self.path, args, kwargs, before_replace=keep)
                except FileNotFoundError:
                    if os.path.isdir(os.path.dirname(self.path)):
                        raise
                    _known_dirs.discard(os.path.dirname(self.path))  # removed behind our back
                    self._ensure_folder()
                    sha, size = _writer.write(self._handler, obj, self.path, args, kwargs, before_replace=keep)
                record.log_operation(self._version_dir, "save", self.name, self._kind, self._rel, size, sha)
            finally:
                keep.release()
        if self.verbose:
            log.info(f"✓ '{self.name}' of '{self._kind}' saved successfully at '{self.path}'.")

    def load(self, *args, version=None, at=None, **kwargs):
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

    def describe(self):
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

    def history(self):
        """Every content this artifact has had, oldest first, the current one last (see core/history.py)."""
        return history.history_of(self._version_dir, self._rel, self.path)

    def last_record(self):
        """The newest record entry for this artifact (save or backup), or None."""
        return record.current_artifacts(self._version_dir).get(self._rel)

    # -- backups ----------------------------------------------------------------------------
    @writer_only  # a rank other than 0 skips it (core/distributed.py)
    def backup(self, tag=None):
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
            candidates = [f"{stem}.backup_{tag}{suffix}"]
        else:
            stamp = _dt.datetime.now().strftime("%H:%M:%S_%d-%b-%Y")
            candidates = (f"{stem}.backup_{stamp}{'' if n == 1 else f'_{n}'}{suffix}" for n in range(1, 10000))
        for backup_name in candidates:
            target = os.path.join(folder, backup_name)
            if tag is not None and os.path.exists(target):
                if self._content_hash(target) == self._content_hash(self.path):
                    return backup_name  # the same content is already backed up under this tag
                raise FileExistsError(
                    f"A backup tagged {tag!r} of {self.name!r} already exists with other content. "
                    f"Use another tag, or delete it first: oc.snapshot.{self._kind}({backup_name!r}).delete(confirm=True)."
                )
            sha, size = self._copy_no_clobber(self.path, target)
            if sha is None:
                continue  # taken meanwhile (same second, another process): try the next name
            record.log_operation(
                self._version_dir,
                "backup",
                backup_name,
                self._kind,
                f"{self._rel.rsplit('/', 1)[0]}/{backup_name}",
                size,
                sha,
                of=self.name,
            )
            if self.verbose:
                log.info(f"✓ '{self.name}' of '{self._kind}' backed up as '{backup_name}'.")
            return backup_name
        raise FileExistsError(f"Could not find a free backup name for {self.name!r}.")

    def list_backups(self):
        """Backup file names of this artifact, in the order they were made."""
        stem, suffix = self._stem_suffix()
        folder = os.path.dirname(self.path)
        prefix = f"{stem}.backup_"
        try:
            names = [
                n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(suffix) and not n.startswith(".")
            ]
        except FileNotFoundError:
            return []
        order = {}
        for entry in record.read_lines(self._version_dir):
            if entry.get("op") == "backup" and entry.get("of") == self.name:
                order[entry.get("name")] = len(order)

        def key(n):
            return (order.get(n, len(order)), os.stat(os.path.join(folder, n)).st_mtime_ns, n)

        return sorted(names, key=key)

    # -- delete -----------------------------------------------------------------------------
    @writer_only  # a rank other than 0 skips it (core/distributed.py)
    def delete(self, confirm=False):
        """Remove the artifact. Without ``confirm=True`` nothing is deleted and an error says so."""
        if confirm is not True:
            raise ConfirmationRequired(
                f"Deleting {self.name!r} needs confirmation: call .delete(confirm=True). Nothing was deleted."
            )
        if not os.path.lexists(self.path):
            raise FileNotFoundError(self._missing_message())
        folder, base = os.path.split(self.path)
        doomed = os.path.join(folder, f".{base}.deleting")
        keep = history.keeper(self._version_dir, self._rel, self.path)
        try:
            keep()  # the deleted content stays in the history (subject to retention)
            os.replace(self.path, doomed)  # the name disappears at once and whole
            _atomic.remove_quietly(doomed)
            record.log_operation(self._version_dir, "delete", self.name, self._kind, self._rel)
        finally:
            keep.release()
        if self.verbose:
            log.info(f"✓ '{self.name}' of '{self._kind}' deleted from '{self.path}'.")

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def forget_folders():
        """Forget which kind folders exist (after a setup or reset they may be gone)."""
        _known_dirs.clear()

    def _ensure_folder(self):
        folder = os.path.dirname(self.path)
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

    def _copy_no_clobber(self, source, target):
        """Copy without ever replacing an existing ``target``; (None, None) if it exists."""
        if os.path.lexists(target):
            return None, None
        tmp = _atomic.temp_path_for(target)
        try:
            if os.path.isdir(source):
                shutil.copytree(source, tmp)
                sha, size = _atomic.hash_tree(tmp)
                try:
                    os.rename(tmp, target)
                except OSError:
                    if os.path.lexists(target):
                        return None, None
                    raise
                return sha, size
            shutil.copyfile(source, tmp)
            sha, size = _atomic.hash_file(tmp), os.path.getsize(tmp)
            try:
                os.link(tmp, target)  # fails instead of overwriting
            except FileExistsError:
                return None, None
            except OSError:  # no hard links on this file system
                if os.path.lexists(target):
                    return None, None
                os.replace(tmp, target)
            return sha, size
        finally:
            _atomic.remove_quietly(tmp)

    def _record_current(self, op):
        if not os.path.exists(self.path):
            return
        if os.path.isdir(self.path):
            sha, size = _atomic.hash_tree(self.path)
        else:
            sha, size = _atomic.hash_file(self.path), os.path.getsize(self.path)
        record.log_operation(self._version_dir, op, self.name, self._kind, self._rel, size, sha)

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
            return getattr(handler, attr)
        raise AttributeError(f"{type(self).__name__} of kind {self.__dict__.get('_kind')!r} has no attribute {attr!r}.")

    def __repr__(self):
        return f"<Artifact {self._kind} {self.name!r} at {self.path!r}>"

    def __fspath__(self):
        return self.path
