"""Where a remote's things are, and how they are written there (fsspec, imported only when a remote is used).

    <url>/objects/<h[:2]>/<h>                     each distinct content once (h = sha256 of it)
    <url>/<name>/v<N>[:<tag>]/manifest.json       written last (core/_manifest.py says what it holds)

On object stores (S3, GCS, Azure, memory) one PUT appears whole or not at all; elsewhere (a
local or network folder) an object is written under a hidden temporary name and moved into
place, so a killed push never leaves a torn object under its hash.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from typing import Any

from . import _atomic, refs
from . import versions as version_folders
from .errors import InvalidNameError, MissingDependencyError, OpenCrateError

MANIFEST = "manifest.json"
OBJECTS = "objects"
FORMAT = "opencrate-remote/1"
# filesystems whose single PUT appears whole or not at all (no temporary name needed)
_ATOMIC_PUT = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "memory"}


class RemoteError(OpenCrateError, RuntimeError):
    """A remote that cannot be used as asked (bad URL, unreadable manifest, a file that changed mid-push)."""


class FileChangedError(RemoteError):
    """A file changed while it was being pushed (a run still saving); the push retries, then gives up."""


class VersionConflictError(OpenCrateError, FileExistsError):
    """The destination already holds that version number with other content; nothing was written."""


class CorruptRemoteError(OpenCrateError, ValueError):
    """A remote object whose content does not hash to its name; nothing was written."""


# -- URLs and the remote -----------------------------------------------------------------------------
def redact(url: str) -> str:
    """``url`` with any ``user:password@`` shown as ``user:***@`` (for messages, never for use)."""
    return re.sub(r"(^|://)([^/@:]*):[^/@]*@", r"\1\2:***@", url)


def check_url(url: Any) -> str:
    if not isinstance(url, str) or "://" not in url or url.startswith("://"):
        raise InvalidNameError(
            f"Invalid remote {redact(str(url))!r}: give an fsspec URL, e.g. s3://bucket/crates, "
            "gs://bucket/crates or file:///mnt/share/crates."
        )
    return url.rstrip("/")


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError:
        raise MissingDependencyError(
            "Remotes need fsspec: pip install 'opencrate-nb[remote]' (or [s3], [gcs], [azure] with a cloud filesystem)."
        ) from None
    return fsspec


_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "abfss": "azure"}


class Remote:
    """One fsspec location holding snapshots: where its objects and manifests are."""

    def __init__(self, url: str) -> None:
        self.url = check_url(url)
        self.shown = redact(self.url)
        fsspec = _fsspec()
        protocol = self.url.split("://", 1)[0]
        try:
            self.fs, self.base = fsspec.core.url_to_fs(self.url)
        except ImportError as exc:
            extra = _EXTRAS.get(protocol)
            hint = f"pip install 'opencrate-nb[{extra}]'" if extra else "install the fsspec filesystem for it"
            raise MissingDependencyError(f"{protocol}:// remotes need a filesystem package: {hint} ({exc}).") from None
        except ValueError as exc:
            raise InvalidNameError(f"Invalid remote {self.shown!r}: {exc}") from None
        self.base = self.base.rstrip("/")
        protocols = self.fs.protocol if isinstance(self.fs.protocol, (tuple, list)) else (self.fs.protocol,)
        self.atomic_put = any(p in _ATOMIC_PUT for p in protocols)
        self.local = "file" in protocols or "local" in protocols
        with contextlib.suppress(Exception):  # a listing cache is optional: each operation sees the remote afresh
            self.fs.invalidate_cache()

    def path(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    def object_path(self, sha: str) -> str:
        return self.path(OBJECTS, sha[:2], sha)

    def manifest_path(self, name: str, folder: str) -> str:
        return self.path(name, folder, MANIFEST)

    def objects(self) -> dict[str, int]:
        """sha256 -> size of every object the remote holds (a listing, a request per thousand on S3)."""
        try:
            listed = self.fs.find(self.path(OBJECTS), detail=True)
        except FileNotFoundError:
            return {}
        found = {}
        for key, info in listed.items():
            leaf = key.rstrip("/").rsplit("/", 1)[-1]
            if _atomic.is_sha256(leaf):
                found[leaf] = int(info.get("size") or 0)
        return found

    def names(self) -> list[str]:
        """Snapshot names with at least one version on the remote."""
        try:
            entries = self.fs.ls(self.base, detail=False)
        except FileNotFoundError:
            return []
        names = sorted({e.rstrip("/").rsplit("/", 1)[-1] for e in entries} - {OBJECTS})
        return [n for n in names if not n.startswith(".") and self.versions(n)]

    def versions(self, name: str) -> list[str]:
        """Version folders of ``name`` whose manifest exists (a version appears once its manifest does)."""
        try:
            listed = self.fs.find(self.path(name), detail=False)
        except FileNotFoundError:
            return []
        folders = []
        for key in listed:
            parts = key.rstrip("/").rsplit("/", 2)
            if len(parts) == 3 and parts[2] == MANIFEST and version_folders.parse_folder(parts[1]):
                folders.append(parts[1])
        return sorted(set(folders), key=_folder_key)

    def read_manifest(self, name: str, folder: str) -> dict:
        path = self.manifest_path(name, folder)
        try:
            data = self.fs.cat_file(path)
        except FileNotFoundError:
            raise refs.VersionNotFoundError(f"{self.shown} has no version {folder} of {name!r}.") from None
        try:
            manifest = json.loads(data)
        except ValueError:
            raise RemoteError(f"The manifest of {name}/{folder} at {self.shown} is not JSON (corrupt).") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise RemoteError(
                f"{name}/{folder} at {self.shown} is not in the format this opencrate-nb reads ({FORMAT}); "
                "upgrade opencrate-nb."
            )
        return manifest

    def write_manifest(self, name: str, folder: str, data: bytes) -> bool:
        """Write a manifest only where none exists; False when one appeared meanwhile (another push)."""
        path = self.manifest_path(name, folder)
        if self.local:
            final = _local_path(path)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            tmp = _atomic.temp_path_for(final)
            try:
                _atomic.write_bytes(tmp, data)
                os.link(tmp, final)  # fails instead of replacing a manifest another push wrote
                return True
            except FileExistsError:
                return False
            finally:
                _atomic.remove_quietly(tmp)
        if self.fs.exists(path):
            return False
        if self.atomic_put and "s3" in str(self.fs.protocol):
            try:
                self.fs.pipe_file(path, data, mode="create")
                return True
            except (FileExistsError, OSError) as exc:
                if "PreconditionFailed" in repr(exc) or isinstance(exc, FileExistsError):
                    return False
                raise
            except TypeError:
                pass  # an older s3fs without exclusive writes: the exists() check above stands
        self.fs.pipe_file(path, data)
        return True

    def put_bytes(self, items: dict[str, bytes]) -> None:
        """Store small objects (sha -> content) so that each appears whole or not at all."""
        if self.atomic_put:
            self.fs.pipe({self.object_path(sha): data for sha, data in items.items()})
            return
        for sha, data in items.items():
            final = self.object_path(sha)
            if self.local:
                final = _local_path(final)
                os.makedirs(os.path.dirname(final), exist_ok=True)
                _atomic.write_bytes(final, data)
            else:
                tmp = _temp_name(final)
                self.fs.pipe_file(tmp, data)
                self.fs.mv(tmp, final)

    def put_file(self, source: str, sha: str, callback: Any = None) -> None:
        final = self.object_path(sha)
        kwargs = {"callback": callback} if callback is not None else {}
        if self.atomic_put:
            self.fs.put_file(source, final, **kwargs)
            return
        tmp = _temp_name(final)
        if self.local:
            os.makedirs(os.path.dirname(_local_path(final)), exist_ok=True)
        self.fs.put_file(source, tmp, **kwargs)
        self.fs.mv(tmp, final)


def _local_path(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


def _temp_name(final: str) -> str:
    folder, leaf = final.rsplit("/", 1)
    return f"{folder}/.{leaf}.{secrets.token_hex(4)}.part"  # not an object name: listings skip it


def _folder_key(folder: str) -> tuple:
    parsed = version_folders.parse_folder(folder) or (0, None)
    return parsed[0], parsed[1] or ""
