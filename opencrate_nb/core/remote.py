"""Push and pull snapshots to any fsspec URL (``s3://``, ``gs://``, ``az://``, ``file://``, ``memory://``).

The remote's format is part of the product::

    <url>/objects/<h[:2]>/<h>                     each distinct content once (h = sha256 of it)
    <url>/<name>/v<N>[:<tag>]/manifest.json       written last: every file of the version by role
                                                  (artifacts, backups, logs, record, environment,
                                                  notebook, history) -> sha256, size (and kind)

A version is visible remotely only once its manifest exists, so a remote never shows a
half-pushed version. A push uploads only the contents the remote lacks; killed and run again,
it resumes: what arrived is listed and not sent again, and nothing is stored twice. Every
object is sent from the exact bytes that were hashed (or checked unchanged around the upload),
so an object's name is its content's hash. A pull verifies every hash before anything appears
locally and refuses, without writing, when the local version of that number holds other
content. Manifests hold no times or hosts: the same content pushed twice is the same manifest.

Where things are on a remote and how they are written: core/_remote_fs.py; what a manifest
holds and how a local version becomes one: core/_manifest.py; push, pull and listing here.

fsspec (and the cloud filesystem: ``[s3]``, ``[gcs]``, ``[azure]``) is imported only then,
when a remote is used. Credentials come from each filesystem's usual configuration (for S3:
``AWS_*`` variables, ``~/.aws``, ``FSSPEC_S3_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL`` for
another endpoint); URLs are shown without any password they carry.

Local bookkeeping lives in the snapshot root's hidden folder ``<root>/.crate/``:
``remote.json`` (the default remote of ``crate remote set``), ``pushed/`` (which manifest was
pushed where, so that an unchanged second push sends nothing) and ``hashes/`` (file hashes by
size, mtime and inode, so that an unchanged version is not read again).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from . import _atomic, record, refs
from . import versions as version_folders
from ._manifest import (
    ROOT_DIR,
    HashCache,
    build_manifest,
    check_target,
    differences,
    digest,
    encode,
    local_manifest,
    manifest_files,
    retarget,
    same_content,
)
from ._names import check_name, check_tag, stored_spelling
from ._remote_fs import (
    CorruptRemoteError,
    FileChangedError,
    Remote,
    RemoteError,
    VersionConflictError,
    check_url,
    redact,
)
from .errors import InvalidNameError, OpenCrateError
from .record import RECORD_DIR

CONFIG_FILE = "remote.json"
#: files up to this size are read once: hashed and sent from the same bytes
SMALL = 8 << 20
#: small objects are sent in batches of at most this many (concurrently where the filesystem can)
BATCH = 64
#: a transfer of at least this many bytes, or files, shows a progress bar on stderr
PROGRESS_BYTES = 64 << 20
PROGRESS_FILES = 500
#: a pull builds a version in ``<root>/<name>/.pull-<version>-<token>/`` and renames it into place;
#: one older than this many seconds was left by a killed pull and is removed by the next pull of the name
STAGE_PREFIX = ".pull-"
STALE_STAGE = 3600.0
#: times a version is looked at again when one of its files changes while it is pushed
CHANGE_RETRIES = 2


# -- what was pushed where ---------------------------------------------------------------------------
def _remote_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


class PushedState:
    """Which manifest (by hash) each version of one name has at one remote, as this root last saw it."""

    def __init__(self, root: str, url: str, name: str) -> None:
        self.path = os.path.join(root, ROOT_DIR, "pushed", f"{_remote_key(url)}-{name}.json")
        try:
            with open(self.path, "rb") as f:
                loaded = json.loads(f.read())
        except (OSError, ValueError):
            loaded = {}
        found = loaded.get("versions") if isinstance(loaded, dict) else None
        self.versions: dict[str, str] = found if isinstance(found, dict) else {}
        self.url = redact(url)
        self.name = name

    def remember(self, folder: str, digest: str) -> None:
        self.versions[folder] = digest
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        data = {"remote": self.url, "name": self.name, "versions": self.versions}
        _atomic.write_bytes(self.path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))


# -- progress ----------------------------------------------------------------------------------------
class _Progress:
    """A tqdm bar on stderr for long transfers; nothing for short ones (or without tqdm)."""

    def __init__(self, label: str, total_bytes: int, files: int, enabled: Optional[bool]) -> None:
        self.bar = None
        show = enabled if enabled is not None else (total_bytes >= PROGRESS_BYTES or files >= PROGRESS_FILES)
        if show and total_bytes:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(
                total=total_bytes, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr
            )
        self._lock = threading.Lock()

    def update(self, count: int) -> None:
        if self.bar is not None and count:
            with self._lock:
                self.bar.update(count)

    def callback(self) -> Any:
        if self.bar is None:
            return None
        from fsspec.callbacks import Callback

        progress = self

        class _Bytes(Callback):  # fsspec reports bytes sent through relative_update
            def relative_update(self, inc: int = 1) -> None:
                progress.update(inc)

        return _Bytes()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# -- push --------------------------------------------------------------------------------------------
@dataclass
class PushReport:
    """What a push did: versions pushed and skipped, objects and bytes sent."""

    remote: str
    name: str
    pushed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    objects_sent: int = 0
    bytes_sent: int = 0
    objects_present: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def __str__(self) -> str:
        from .format import format_size, plural

        parts = [f"pushed {plural(len(self.pushed), 'version')} of {self.name!r} to {self.remote}"]
        if self.pushed:
            parts[0] += f" ({', '.join(self.pushed)})"
        parts.append(f"{plural(self.objects_sent, 'content')} sent ({format_size(self.bytes_sent)})")
        if self.objects_present:
            parts.append(f"{self.objects_present} already there")
        if self.unchanged:
            parts.append(f"unchanged: {', '.join(self.unchanged)}")
        return "; ".join(parts)


def _select_local(root: str, name: str, wanted: Optional[Iterable]) -> list:
    if wanted is None:
        found = refs.iter_versions(root, name)
        if not found:
            raise refs.VersionNotFoundError(f"No versions of {name!r} under {root!r}.")
        return found
    if isinstance(wanted, (str, int)):
        wanted = [wanted]
    return list(dict.fromkeys(refs.resolve(ref, name=name, root=root) for ref in wanted))


def push(
    url: str,
    name: str,
    versions: Optional[Iterable] = None,
    root: Union[str, os.PathLike[str]] = refs.DEFAULT_ROOT,
    as_version: Optional[str] = None,
    progress: Optional[bool] = None,
) -> PushReport:
    """Push versions of ``name`` (all, or ``versions``) from ``root`` to ``url``.

    Only contents the remote lacks are sent; each version's manifest is written last. A version
    the remote holds with other content is refused (nothing of it is written): push it under
    another number or tag with ``as_version="v7"`` / ``"v3:mine"``.
    """
    url = check_url(url)
    root = os.fspath(root)
    name = check_name(name, "snapshot name")
    target = check_target(as_version)
    local = _select_local(root, name, versions)
    if target is not None and len(local) != 1:
        raise InvalidNameError("as_version names one version: push one version at a time with it.")
    remote = Remote(url)
    report = PushReport(remote=remote.shown, name=name)
    state = PushedState(root, remote.url, name)
    cache = HashCache(root, name)
    there = set(remote.versions(name))
    taken = there | {f for _, _, f in version_folders.list_folders(os.path.join(root, name))}
    plans = []
    for ref in local:
        folder = target or ref.folder
        manifest, found = _local_manifest(ref, folder, cache)
        if folder in there:
            if state.versions.get(folder) != found:
                theirs = remote.read_manifest(name, folder)
                if not same_content(theirs, manifest):
                    raise _conflict(name, folder, remote.shown, differences(theirs, manifest), "push", taken)
                state.remember(folder, found)
            report.unchanged.append(folder)
            continue
        plans.append((ref, folder, manifest))
    cache.save()
    if not plans:
        return report
    present = remote.objects()
    wanted = {e["sha256"]: e["size"] for _, _, m in plans for e in manifest_files(m).values()}
    report.objects_present = sum(1 for sha, size in wanted.items() if present.get(sha) == size)
    missing = sum(size for sha, size in wanted.items() if present.get(sha) != size)
    bar = _Progress(f"push {name}", missing, len(wanted) - report.objects_present, progress)
    try:
        for ref, folder, manifest in plans:
            for attempt in range(CHANGE_RETRIES + 1):
                try:
                    _send(remote, _missing(ref, manifest, present, cache), bar, report, present)
                    break
                except FileChangedError:
                    if attempt == CHANGE_RETRIES:
                        raise
                    manifest = _local_manifest(ref, folder, cache)[0]  # a run saved meanwhile: what is there now
            if not remote.write_manifest(name, folder, encode(manifest)):
                theirs = remote.read_manifest(name, folder)
                if not same_content(theirs, manifest):
                    raise _conflict(name, folder, remote.shown, differences(theirs, manifest), "push", taken)
            state.remember(folder, digest(manifest))
            report.pushed.append(folder)
    finally:
        bar.close()
        cache.save()
    return report


def _local_manifest(ref: Any, folder: str, cache: HashCache) -> tuple[dict, str]:
    """A local version's manifest under the remote folder name, and its digest."""
    manifest, known = local_manifest(ref.dir_path, ref.name, ref.folder, cache)
    if folder != ref.folder:
        manifest = retarget(manifest, folder)
        known = digest(manifest)
    return manifest, known


def _missing(ref: Any, manifest: dict, present: dict[str, int], cache: HashCache) -> dict[str, tuple]:
    """sha -> (local file, size, its identity when hashed) of the contents of a version the remote lacks."""
    missing: dict[str, tuple] = {}
    for rel, entry in manifest_files(manifest).items():
        if present.get(entry["sha256"]) != entry["size"]:
            full = os.path.join(ref.dir_path, *rel.split("/"))
            missing.setdefault(entry["sha256"], (full, entry["size"], cache.stamp(ref.folder, rel)))
    return missing


def _send(
    remote: Remote,
    items: dict[str, tuple[str, int, Optional[tuple]]],
    bar: _Progress,
    report: PushReport,
    present: dict[str, int],
) -> None:
    """Upload objects: small ones from the bytes that were hashed, large ones checked unchanged around the upload.

    ``present`` learns each object once it has arrived (the next version does not send it again).
    """
    batch: dict[str, bytes] = {}
    batch_bytes = 0
    for sha, (path, size, stamp) in items.items():
        if size <= SMALL:
            with open(path, "rb") as f:
                data = f.read()
            if _atomic.hash_bytes(data) != sha:
                raise _changed(path)
            batch[sha] = data
            batch_bytes += len(data)
            if len(batch) >= BATCH or batch_bytes >= SMALL:
                remote.put_bytes(batch)
                _count(report, bar, batch, present)
                batch, batch_bytes = {}, 0
            continue
        before = _identity(path)
        if stamp is not None and before != stamp:
            raise _changed(path)  # replaced since it was hashed
        remote.put_file(path, sha, callback=bar.callback())
        if _identity(path) != before:  # saves replace files (a new inode) and writes change mtime
            with contextlib.suppress(FileNotFoundError):
                remote.fs.rm_file(remote.object_path(sha))
            raise _changed(path)
        present[sha] = size
        report.objects_sent += 1
        report.bytes_sent += size
    if batch:
        remote.put_bytes(batch)
        _count(report, bar, batch, present)


def _count(report: PushReport, bar: _Progress, batch: dict[str, bytes], present: dict[str, int]) -> None:
    present.update((sha, len(data)) for sha, data in batch.items())
    report.objects_sent += len(batch)
    size = sum(len(d) for d in batch.values())
    report.bytes_sent += size
    bar.update(size)


def _identity(path: str) -> tuple:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


def _changed(path: str) -> FileChangedError:
    return FileChangedError(
        f"{path} changed while it was being pushed (a run is still saving it). Its version's manifest was not "
        "written; push again once the run has saved it (what arrived is not sent again)."
    )


def _conflict(
    name: str, folder: str, where: str, differ: list[str], verb: str, taken: Iterable[str]
) -> VersionConflictError:
    numbers = [p[0] for p in (version_folders.parse_folder(f) for f in taken) if p]
    free = f"v{max(numbers, default=-1) + 1}"
    shown = ", ".join(differ[:5]) + (f" and {len(differ) - 5} more" if len(differ) > 5 else "")
    if verb == "push":
        return VersionConflictError(
            f"{where} already holds {name}/{folder} with other content ({shown} differ). Nothing of it was "
            f"pushed. Push it under another number or tag: crate push {name} {folder} {where} --as {free} "
            f"(oc.snapshot.push(url, [{folder!r}], as_version={free!r}))."
        )
    return VersionConflictError(
        f"{name}/{folder} here holds other content than at {where} ({shown} differ). Nothing was written and "
        f"your local version is untouched. Pull it under another number or tag: crate pull {where} {name} "
        f"{folder} --as {free} (or --as {folder.split(':')[0]}:theirs)."
    )


# -- pull --------------------------------------------------------------------------------------------
@dataclass
class PullReport:
    """What a pull did: versions written and already present, objects and bytes fetched."""

    remote: str
    name: str
    pulled: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    objects_fetched: int = 0
    bytes_fetched: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def __str__(self) -> str:
        from .format import format_size, plural

        text = f"pulled {plural(len(self.pulled), 'version')} of {self.name!r} from {self.remote}"
        if self.pulled:
            text += f" ({', '.join(self.pulled)})"
        text += f"; {plural(self.objects_fetched, 'content')} fetched ({format_size(self.bytes_fetched)})"
        if self.unchanged:
            text += f"; already here: {', '.join(self.unchanged)}"
        return text


def _select_remote(remote: Remote, name: str, wanted: Optional[Iterable]) -> list[str]:
    there = remote.versions(name)
    if not there:
        names = remote.names()
        raise refs.VersionNotFoundError(
            f"{remote.shown} holds no snapshot named {name!r}. It holds: {', '.join(names) or 'nothing'}."
        )
    if wanted is None:
        return there
    if isinstance(wanted, (str, int)):
        wanted = [wanted]
    chosen = []
    for ref in wanted:
        text = f"v{ref}" if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()) else str(ref)
        text = check_name(text, "version")  # the spelling setup() and push store a tag in
        parsed = version_folders.parse_folder(text)
        matches = [f for f in there if _matches(f, text, parsed)]
        exact = [f for f in matches if f == text] or [f for f in matches if stored_spelling(f) == text]
        matches = exact or matches
        if len(matches) != 1:
            problem = "has no version" if not matches else "has several versions matching"
            raise refs.VersionNotFoundError(
                f"{remote.shown} {problem} {ref!r} of {name!r}. Versions there: {', '.join(there)}."
            )
        chosen.append(matches[0])
    return list(dict.fromkeys(chosen))


def _matches(folder: str, text: str, parsed: Optional[tuple]) -> bool:
    """Whether a remote version folder is what the user named: ``v3:tag`` exactly, ``v3`` (any tag), or a tag.

    The folder is compared in the spelling a push stores (NFC): a remote folder an earlier push wrote
    with a decomposed tag is found by either spelling.
    """
    folder = stored_spelling(folder)
    mine = version_folders.parse_folder(folder) or (None, None)
    if folder == text:
        return True
    if parsed is not None:
        return parsed[1] is None and mine[0] == parsed[0]
    return mine[1] == text


def pull(
    url: str,
    name: str,
    versions: Optional[Iterable] = None,
    root: Union[str, os.PathLike[str]] = refs.DEFAULT_ROOT,
    as_version: Optional[str] = None,
    progress: Optional[bool] = None,
) -> PullReport:
    """Pull versions of ``name`` (all, or ``versions``) from ``url`` into ``root``.

    Every content is verified against its hash before the version appears (whole, by one rename).
    A local version of the same number with other content is never touched: the pull refuses and
    names another number; ``as_version="v7"`` or ``"v3:theirs"`` pulls it under that one.
    """
    url = check_url(url)
    root = os.fspath(root)
    name = check_name(name, "snapshot name")
    target = check_target(as_version)
    remote = Remote(url)
    chosen = _select_remote(remote, name, versions)
    if target is not None and len(chosen) != 1:
        raise InvalidNameError("as_version names one version: pull one version at a time with it.")
    report = PullReport(remote=remote.shown, name=name)
    snapshot_dir = os.path.join(root, name)
    manifests = []
    planned: dict[str, tuple[str, dict]] = {}
    for folder in chosen:  # every check before anything is written
        local_folder = target or _local_folder(folder, name, remote.shown)
        manifest = remote.read_manifest(name, folder)
        if local_folder in planned:  # two spellings of one version at the remote (written by earlier pushes)
            other, theirs = planned[local_folder]
            if same_content(theirs, manifest):
                continue
            raise VersionConflictError(
                f"{remote.shown} holds {ascii(other)} and {ascii(folder)} of {name!r}, two spellings of {local_folder} "
                "(written by pushes that did not normalise tags) with other contents. Nothing was written. Name "
                f"the versions to pull: {local_folder} selects {ascii(local_folder)}."
            )
        planned[local_folder] = (folder, manifest)
        if _already_here(snapshot_dir, name, local_folder, manifest, remote.shown, report):
            continue
        manifests.append((folder, local_folder, manifest))
    for folder, local_folder, manifest in manifests:
        _pull_one(remote, snapshot_dir, name, local_folder, manifest, report, progress)
        report.pulled.append(local_folder)
        if local_folder == folder:  # `crate ls` shows it as at the remote without reading it again
            PushedState(root, remote.url, name).remember(folder, digest(manifest))
    return report


def _local_folder(folder: str, name: str, where: str) -> str:
    """The folder a remote version is pulled into: its tag checked and NFC-normalised as ``setup(tag=...)``
    stores it (an earlier push may have written it in another spelling, or a remote hold any name)."""
    number, tag = version_folders.parse_folder(folder) or (None, None)
    try:
        tag = check_tag(tag)
    except InvalidNameError as exc:
        raise InvalidNameError(
            f"{where} holds version {folder!r} of {name!r}, which cannot be a folder here: {exc} "
            "Pull it under another tag with --as (as_version='v<N>:<tag>'). Nothing was written."
        ) from None
    return version_folders.folder_name(number, tag)


def _already_here(snapshot_dir: str, name: str, folder: str, manifest: dict, where: str, report: PullReport) -> bool:
    """True when ``folder`` is here with the same content; raises when it is here with other content.

    Another tag of the same number is another version (as ``setup(start=N, tag=...)`` makes it).
    """
    if not os.path.isdir(os.path.join(snapshot_dir, folder)):
        return False
    local = build_manifest(os.path.join(snapshot_dir, folder), name, folder)
    if same_content(local, manifest):
        report.unchanged.append(folder)
        return True
    raise _conflict(name, folder, where, differences(local, manifest), "pull", versions_taken(snapshot_dir))


def versions_taken(snapshot_dir: str) -> list[str]:
    return [f for _, _, f in version_folders.list_folders(snapshot_dir)]


def _next_number(snapshot_dir: str) -> int:
    found = version_folders.list_folders(snapshot_dir)
    return found[-1][0] + 1 if found else 0


def _pull_one(
    remote: Remote,
    snapshot_dir: str,
    name: str,
    folder: str,
    manifest: dict,
    report: PullReport,
    progress: Optional[bool],
) -> None:
    files = manifest_files(manifest)
    for rel in files:
        _check_relative(rel, remote.shown)
    os.makedirs(snapshot_dir, exist_ok=True)
    _remove_stale_stages(snapshot_dir)
    stage = os.path.join(snapshot_dir, f"{STAGE_PREFIX}{folder}-{secrets.token_hex(4)}")
    os.makedirs(stage)
    total = sum(int(e.get("size") or 0) for e in files.values())
    bar = _Progress(f"pull {name}/{folder}", total, len(files), progress)
    try:
        fetched = _fetch(remote, stage, files, bar, report)
        write_pulled_version(stage, fetched)
        with version_folders.name_lock(snapshot_dir):
            if os.path.lexists(os.path.join(snapshot_dir, folder)):
                raise VersionConflictError(
                    f"{folder} of {name!r} was created here while it was being pulled. Nothing was written; "
                    f"pull it under another number: --as v{_next_number(snapshot_dir)}."
                )
            os.rename(stage, os.path.join(snapshot_dir, folder))  # the version appears whole
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        bar.close()


def _remove_stale_stages(snapshot_dir: str) -> None:
    """Remove what killed pulls left (hidden stage folders older than :data:`STALE_STAGE`)."""
    now = time.time()
    for entry in os.scandir(snapshot_dir):
        try:
            if entry.name.startswith(STAGE_PREFIX) and now - entry.stat().st_mtime > STALE_STAGE:
                shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            pass


def _check_relative(rel: str, where: str) -> None:
    parts = rel.split("/")
    if not rel or rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in parts) or ":" in parts[0]:
        raise RemoteError(f"A manifest at {where} names the file {rel!r}, outside its version folder: refused.")


def _fetch(remote: Remote, stage: str, files: dict[str, dict], bar: _Progress, report: PullReport) -> dict[str, str]:
    """Download each distinct content once into the stage's temporary files, verified; rel -> temporary path."""
    by_sha: dict[str, list[str]] = {}
    for rel, entry in files.items():
        by_sha.setdefault(str(entry.get("sha256")), []).append(rel)
    temp_of: dict[str, str] = {}
    small = [sha for sha in by_sha if int(files[by_sha[sha][0]].get("size") or 0) <= SMALL]
    large = [sha for sha in by_sha if sha not in small]
    for start in range(0, len(small), BATCH):
        chunk = small[start : start + BATCH]
        try:
            contents = remote.fs.cat([remote.object_path(sha) for sha in chunk], on_error="raise")
        except FileNotFoundError as exc:
            raise CorruptRemoteError(
                f"{remote.shown} lacks a content its manifest names ({exc}). Nothing was written; push the "
                "version again from a machine that has it."
            ) from None
        if not isinstance(contents, dict):
            contents = {remote.object_path(chunk[0]): contents}
        for sha in chunk:
            data = contents.get(remote.object_path(sha))
            if data is None:
                data = remote.fs.cat_file(remote.object_path(sha))
            _verify(_atomic.hash_bytes(data), sha, by_sha[sha][0], remote)
            temp_of[sha] = _stage_bytes(stage, by_sha[sha][0], data)
            bar.update(len(data))
            report.objects_fetched += 1
            report.bytes_fetched += len(data)
    for sha in large:
        rel = by_sha[sha][0]
        tmp = _stage_path(stage, rel)
        try:
            callback = bar.callback()
            remote.fs.get_file(remote.object_path(sha), tmp, **({"callback": callback} if callback else {}))
        except FileNotFoundError:
            raise CorruptRemoteError(
                f"{remote.shown} lacks the content of {rel} ({sha}). Nothing was written."
            ) from None
        _verify(_atomic.hash_file(tmp), sha, rel, remote)
        temp_of[sha] = tmp
        size = os.path.getsize(tmp)
        report.objects_fetched += 1
        report.bytes_fetched += size
    placed: dict[str, str] = {}
    for sha, rels in by_sha.items():
        placed[rels[0]] = temp_of[sha]
        for rel in rels[1:]:  # the same content under several names: one download, a copy each
            copy = _stage_path(stage, rel)
            shutil.copyfile(temp_of[sha], copy)
            placed[rel] = copy
    return placed


def _verify(actual: str, expected: str, rel: str, remote: Remote) -> None:
    if actual != expected:
        raise CorruptRemoteError(
            f"The content of {rel} at {remote.shown} is corrupt: object {expected} hashes to {actual}. Nothing was "
            "written. Push the version again from a machine that has it intact."
        )


def _stage_path(stage: str, rel: str) -> str:
    final = os.path.join(stage, *rel.split("/"))
    os.makedirs(os.path.dirname(final), exist_ok=True)
    tmp, fd = _atomic.create_temp(final)
    os.close(fd)
    return tmp


def _stage_bytes(stage: str, rel: str, data: bytes) -> str:
    tmp = _stage_path(stage, rel)
    with open(tmp, "wb") as f:
        f.write(data)
    return tmp


def write_pulled_version(version_dir: str, files: dict[str, str]) -> None:
    """Move verified temporary files into a version folder: each by ``os.replace``, under the version's save lock.

    The one place a pull writes into a version (the store's protocol: atomic placement, the
    record last). ``files`` maps relative paths to verified temporary files in the same folders.
    The record files are placed last, so that a reader never sees a record line whose file is
    not there yet.
    """
    from ._savelock import version_lock

    os.makedirs(os.path.join(version_dir, RECORD_DIR), exist_ok=True)
    with version_lock(version_dir):
        later = []
        for rel, tmp in files.items():
            if rel.startswith(RECORD_DIR + "/") and rel.endswith(".jsonl"):
                later.append((rel, tmp))
                continue
            os.replace(tmp, os.path.join(version_dir, *rel.split("/")))
        for rel, tmp in later:
            os.replace(tmp, os.path.join(version_dir, *rel.split("/")))
    record.close_all()  # the record files were replaced: no open file or index of the old ones is used again


@contextlib.contextmanager
def shown_errors(url: str) -> Iterator[None]:
    """Turn a filesystem's OSError (no access, no network) into a RemoteError that names the remote without a password."""
    try:
        yield
    except (FileNotFoundError, OpenCrateError):
        raise
    except OSError as exc:
        raise RemoteError(f"{redact(url)}: {exc}. Check the URL and the filesystem's credentials.") from None


# -- listing and the default remote ------------------------------------------------------------------
def list_remote(url: str, name: Optional[str] = None) -> list[dict]:
    """What a remote holds: every name with its versions, or each version of ``name`` with its size."""
    remote = Remote(url)
    if name is None:
        return [{"name": n, "versions": remote.versions(n)} for n in remote.names()]
    name = check_name(name, "snapshot name")
    rows = []
    for folder in remote.versions(name):
        manifest = remote.read_manifest(name, folder)
        files = manifest_files(manifest)
        artifacts = manifest.get("artifacts") or {}
        rows.append(
            {
                "name": name,
                "version": folder,
                "artifacts": len(artifacts),
                "bytes": sum(int(e.get("size") or 0) for e in artifacts.values()),
                "files": len(files),
                "stored_bytes": sum(int(e.get("size") or 0) for e in files.values()),
            }
        )
    if not rows:
        raise refs.VersionNotFoundError(
            f"{remote.shown} holds no snapshot named {name!r}. It holds: {', '.join(remote.names()) or 'nothing'}."
        )
    return rows


def _config_path(root: str) -> str:
    return os.path.join(os.fspath(root), ROOT_DIR, CONFIG_FILE)


def set_default(root: str, url: str) -> str:
    """Store ``url`` as the root's default remote (in ``<root>/.crate/remote.json``); returns the URL."""
    url = check_url(url)
    if redact(url) != url:
        raise InvalidNameError(
            "The remote URL carries a password; it would be stored in a file. Give credentials through the "
            "filesystem's usual configuration (for S3: AWS_* variables or ~/.aws) and a URL without them."
        )
    if not os.path.isdir(os.fspath(root)):
        raise FileNotFoundError(
            f"No snapshots folder {os.fspath(root)!r}: run from the folder that holds it, or pass --root."
        )
    path = _config_path(root)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _atomic.write_bytes(path, (json.dumps({"url": url}, indent=1) + "\n").encode("utf-8"))
    return url


def default_remote(root: str) -> Optional[str]:
    """The root's default remote, or None (no configuration is needed otherwise)."""
    try:
        with open(_config_path(root), "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return None
    url = data.get("url") if isinstance(data, dict) else None
    return url if isinstance(url, str) and url else None


def unset_default(root: str) -> bool:
    try:
        os.unlink(_config_path(root))
        return True
    except FileNotFoundError:
        return False


def push_marks(root: str, name: str, url: str) -> dict[str, str]:
    """For each local version of ``name``: "pushed" (the remote holds the same content), "differs"
    (the remote holds that version with other content) or "" (not at the remote)."""
    name = check_name(name, "snapshot name")
    remote = Remote(url)
    there = set(remote.versions(name))
    state = PushedState(root, remote.url, name)
    cache = HashCache(root, name)
    marks = {}
    for ref in refs.list_versions(root, name):
        if ref.folder not in there:
            marks[ref.folder] = ""
            continue
        manifest, found = local_manifest(ref.dir_path, name, ref.folder, cache)
        if state.versions.get(ref.folder) == found:
            marks[ref.folder] = "pushed"
            continue
        same = same_content(remote.read_manifest(name, ref.folder), manifest)
        marks[ref.folder] = "pushed" if same else "differs"
        if same:
            state.remember(ref.folder, found)
    cache.save()
    return marks


__all__ = [
    "CorruptRemoteError",
    "PullReport",
    "PushReport",
    "Remote",
    "RemoteError",
    "VersionConflictError",
    "build_manifest",
    "default_remote",
    "list_remote",
    "pull",
    "push",
    "push_marks",
    "redact",
    "set_default",
    "unset_default",
    "write_pulled_version",
]
