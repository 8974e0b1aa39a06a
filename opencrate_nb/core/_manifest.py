"""A local version as a manifest: every file by role, with its hash and size.

The manifest holds no times or hosts, so the same content always gives the same manifest (and
the same :func:`digest`). :class:`HashCache` remembers hashes by (size, mtime_ns, inode), and
each version's manifest while none of its files changed, so an unchanged version is neither
read nor re-encoded by the next push.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Optional

from . import _atomic
from . import versions as version_folders
from ._journal import JOURNAL_FILE, REJECTED_FILE
from ._names import check_name, check_tag
from ._remote_fs import FORMAT, RemoteError
from .errors import InvalidNameError
from .record import RECORD_DIR

ROOT_DIR = ".crate"  #: the snapshot root's hidden folder
#: roles of a version's files, in the manifest's order
ROLES = ("artifacts", "backups", "logs", "record", "environment", "notebook", "history", "other")
# this machine's bookkeeping, never pushed: locks, short-lived files, and the intent journal of
# unfinished writes (core/_journal.py), which the next local use of the version settles, with
# the intents it set aside
_SKIPPED_IN_RECORD_DIR = {"save.lock", "tmp", JOURNAL_FILE, REJECTED_FILE}


# -- a local version as a manifest -------------------------------------------------------------------
class HashCache:
    """What a push learnt about one snapshot name's files, so that an unchanged version is not read again.

    ``files``: each file's hash by (size, mtime_ns, inode); ``manifests``: each version's manifest and
    its digest, valid while every file of the version has the stamps it had then.
    """

    def __init__(self, root: str, name: str) -> None:
        self.path = os.path.join(root, ROOT_DIR, "hashes", f"{name}.json")
        try:
            with open(self.path, "rb") as f:
                loaded = json.loads(f.read())
        except (OSError, ValueError):
            loaded = {}
        loaded = loaded if isinstance(loaded, dict) else {}
        files, manifests = loaded.get("files"), loaded.get("manifests")
        self.entries: dict[str, dict[str, list]] = files if isinstance(files, dict) else {}
        self.manifests: dict[str, list] = manifests if isinstance(manifests, dict) else {}
        self.changed = False

    def sha(self, folder: str, rel: str, full: str, st: os.stat_result, recorded: Optional[dict] = None) -> str:
        """The file's hash: cached, the record's (``recorded``, its entry, when it evidently describes this
        file), or read."""
        known = self.entries.setdefault(folder, {}).get(rel)
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        if isinstance(known, list) and len(known) == 4 and known[:3] == stamp:
            return str(known[3])
        sha = _recorded_hash(recorded, st) or _atomic.hash_file(full)
        self.entries[folder][rel] = [*stamp, sha]
        self.changed = True
        return sha

    def stamp(self, folder: str, rel: str) -> Optional[tuple]:
        """(size, mtime_ns, inode) of the file when its hash was taken."""
        known = self.entries.get(folder, {}).get(rel)
        return tuple(known[:3]) if isinstance(known, list) and len(known) == 4 else None

    def manifest(self, folder: str, stamps: str) -> Optional[tuple[dict, str]]:
        known = self.manifests.get(folder)
        if isinstance(known, list) and len(known) == 3 and known[0] == stamps and isinstance(known[2], dict):
            return known[2], str(known[1])
        return None

    def remember_manifest(self, folder: str, stamps: str, manifest: dict, digest: str) -> None:
        self.manifests[folder] = [stamps, digest, manifest]
        self.changed = True

    def save(self) -> None:
        if self.changed:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            data = {"files": self.entries, "manifests": self.manifests}
            _atomic.write_bytes(self.path, json.dumps(data, separators=(",", ":")).encode("utf-8"))
            self.changed = False


def _version_files(version_dir: str) -> list[tuple[str, str, os.stat_result]]:
    """(relative '/'-path, full path, stat) of every file a version consists of, sorted (no locks,
    temporaries or hidden files)."""
    found: list[tuple[str, str, os.stat_result]] = []

    def walk(folder: str, prefix: str, in_record: bool) -> None:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return
        for entry in entries:
            leaf = entry.name
            if leaf.startswith("."):
                if leaf == RECORD_DIR and not prefix and entry.is_dir(follow_symlinks=False):
                    walk(entry.path, RECORD_DIR + "/", True)
                continue
            if in_record and prefix == RECORD_DIR + "/" and (leaf in _SKIPPED_IN_RECORD_DIR or leaf.endswith(".lock")):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed while we looked (a delete, a pruned history content)
            if stat.S_ISDIR(st.st_mode):
                walk(entry.path, f"{prefix}{leaf}/", in_record)
            elif stat.S_ISREG(st.st_mode):
                found.append((prefix + leaf, entry.path, st))

    walk(version_dir, "", False)
    found.sort(key=lambda item: item[0])
    return found


def _role(rel: str, current: dict) -> tuple[str, dict]:
    if "/" not in rel:
        if rel.endswith(".log"):
            return "logs", {}
        return ("notebook", {}) if rel.endswith(".ipynb") else ("other", {})
    if rel.startswith(RECORD_DIR + "/"):
        inner = rel[len(RECORD_DIR) + 1 :]
        if inner.endswith(".jsonl"):
            return "record", {}
        if inner == "env.json":
            return "environment", {}
        return ("history", {}) if inner.startswith(("objects/", "trees/")) else ("other", {})
    folder, leaf, *_ = rel.split("/")
    entry = current.get(f"{folder}/{leaf}")
    if not isinstance(entry, dict):
        return "other", {}
    extra = {"kind": entry.get("kind")}
    if entry.get("op") == "backup":
        return "backups", {**extra, "of": entry.get("of")}
    return "artifacts", extra


def build_manifest(version_dir: str, name: str, folder: str, cache: Optional[HashCache] = None) -> dict:
    """The manifest of a local version: every file by role, with its hash and size."""
    return local_manifest(version_dir, name, folder, cache)[0]


def local_manifest(version_dir: str, name: str, folder: str, cache: Optional[HashCache] = None) -> tuple[dict, str]:
    """A local version's manifest and its :func:`digest` (from the cache while no file has changed)."""
    from . import record

    cache = cache or HashCache(os.path.dirname(os.path.dirname(version_dir)), name)
    files = _version_files(version_dir)
    stamps = _atomic.hash_bytes(
        "\n".join(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}" for rel, _, st in files).encode("utf-8")
    )
    known = cache.manifest(folder, stamps)
    if known is not None:
        return known
    current = record.current_artifacts(version_dir)
    sections: dict[str, dict] = {role: {} for role in ROLES}
    for rel, full, st in files:
        try:
            sha = cache.sha(folder, rel, full, st, current.get(rel))
        except FileNotFoundError:
            continue  # removed while we looked (a delete, a pruned history content)
        role, extra = _role(rel, current)
        sections[role][rel] = {"sha256": sha, "size": st.st_size, **extra}
    parsed = version_folders.parse_folder(folder) or (None, None)
    manifest = {"format": FORMAT, "name": name, "version": folder, "number": parsed[0], "tag": parsed[1], **sections}
    result = manifest, digest(manifest)
    cache.remember_manifest(folder, stamps, *result)
    return result


def digest(manifest: dict) -> str:
    """sha256 of a manifest's canonical form (sorted keys, no spaces): equal digests, equal manifests."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _atomic.hash_bytes(canonical.encode("utf-8"))


def _recorded_hash(entry: Optional[dict], st: os.stat_result) -> Optional[str]:
    """The record's hash of a saved file when it evidently describes the file on disk: the same size, and
    not modified after the record line was written (the rule history uses before it keeps a content)."""
    from ._objects import MTIME_SLACK
    from ._timelines import parse_time

    if not isinstance(entry, dict) or entry.get("op") not in ("save", "backup") or entry.get("rebuilt"):
        return None
    sha, size, when = entry.get("sha256"), entry.get("size"), parse_time(entry.get("time"))
    if not isinstance(sha, str) or size != st.st_size or when is None or st.st_mtime > when + MTIME_SLACK:
        return None
    return sha


def manifest_files(manifest: dict) -> dict[str, dict]:
    """Every file of a manifest, whatever its role: relative path -> {sha256, size, ...}."""
    files: dict[str, dict] = {}
    for role in ROLES:
        section = manifest.get(role) or {}
        if not isinstance(section, dict):
            raise RemoteError(f"Manifest section {role!r} is not a mapping (corrupt manifest).")
        files.update(section)
    return files


def same_content(a: dict, b: dict) -> bool:
    files_a, files_b = manifest_files(a), manifest_files(b)
    return {k: v.get("sha256") for k, v in files_a.items()} == {k: v.get("sha256") for k, v in files_b.items()}


def differences(a: dict, b: dict) -> list[str]:
    files_a, files_b = manifest_files(a), manifest_files(b)
    return sorted(
        k
        for k in set(files_a) | set(files_b)
        if (files_a.get(k) or {}).get("sha256") != (files_b.get(k) or {}).get("sha256")
    )


def encode(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def retarget(manifest: dict, folder: str) -> dict:
    parsed = version_folders.parse_folder(folder) or (None, None)
    return {**manifest, "version": folder, "number": parsed[0], "tag": parsed[1]}


def check_target(folder: Optional[str]) -> Optional[str]:
    """A version folder name given as ``as_version`` (``v7`` or ``v7:theirs``), checked; returned as it is
    written: its tag NFC-normalised, as ``setup(tag=...)`` stores it."""
    if folder is None:
        return None
    text = f"v{folder}" if isinstance(folder, int) else check_name(str(folder), "version to write as")
    parsed = version_folders.parse_folder(text)
    if parsed is None:
        raise InvalidNameError(f"Invalid version {folder!r} to write as: use a number or 'v<N>' or 'v<N>:<tag>'.")
    return version_folders.folder_name(parsed[0], check_tag(parsed[1]))
