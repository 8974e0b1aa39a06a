"""``oc.snapshot``: set up a versioned run folder and make artifacts in it."""

import difflib
import os
import secrets
import shutil
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Optional, Union

from . import _api_words, _writer, distributed, handlers, log, record, versions
from ._names import check_kind, check_name, check_tag
from ._paths import shown
from ._printable import is_unicode
from .artifact import Artifact
from .errors import ConfirmationRequired, InvalidNameError, NotSetUpError, UnknownKindError

if TYPE_CHECKING:
    from pandas import DataFrame

    from .diff import Diff
    from .gc import GcReport, Stats
    from .remote import PullReport, PushReport
    from .verify import VerifyReport

#: a handler as users pass it: a class (instantiated without arguments) or an instance of one
HandlerSpec = Any
#: what ``oc.snapshot.on_setup`` calls after every setup
SetupHook = Callable[["Snapshot"], Any]

_STARTS = "'new', 'last' or a version number (e.g. 0)"


class _State:
    # root and dir_path are absolute (bound at setup); relative: whether the user gave a relative root
    __slots__ = ("root", "name", "number", "tag", "folder", "dir_path", "log_level", "relative")
    root: str
    name: str
    number: int
    tag: Optional[str]
    folder: str
    dir_path: str
    log_level: str
    relative: bool


class Snapshot:
    """The run's snapshot. One instance, ``oc.snapshot``, serves a whole process."""

    def __init__(self) -> None:
        self._state: Optional[_State] = None
        self._custom_handlers: dict[str, HandlerSpec] = {}
        self._setup_hooks: list[SetupHook] = []

    # -- set-up -------------------------------------------------------------------------------
    def setup(
        self,
        name: Optional[str] = None,
        start: Union[str, int] = "new",
        tag: Optional[str] = None,
        log_level: str = "info",
        root: Union[str, "os.PathLike[str]"] = "snapshots",
        ranks: str = "main",
    ) -> "Snapshot":
        """Create or resume a snapshot version and start its run log.

        ``start="new"`` makes the next version (also when called again in one process),
        ``"last"`` resumes the newest, ``N`` resumes vN or creates it. A tagged version
        is resumed only when its ``tag`` is passed. Every rank of a distributed job gets rank 0's
        version; only rank 0 writes unless ``ranks="all"`` (core/distributed.py).
        """
        if name is None:
            raise TypeError(
                "setup() needs the snapshot's name, the folder under snapshots/ that holds its versions: "
                "oc.snapshot.setup(name='my_run') (optionally start='new'|'last'|N and tag='...')."
            )
        name = check_name(name, "snapshot name")
        tag = check_tag(tag)
        log.check_level(log_level)
        start = _check_start(start)
        root = os.fspath(root)
        if not isinstance(root, str) or not root:
            raise InvalidNameError(f"Invalid root {root!r}: give the folder that holds snapshots, e.g. 'snapshots'.")
        relative, root = not os.path.isabs(root), os.path.abspath(root)  # one folder, whatever chdir comes later
        snapshot_dir = os.path.join(root, name)
        number, folder, created, notice = distributed.resolve(snapshot_dir, start, tag, ranks)
        dir_path = os.path.join(snapshot_dir, folder)
        _writer.recover(dir_path)  # a change a killed process left half-done is finished or undone first

        record.close_all()
        Artifact.forget_folders()
        log.detach()
        stem = distributed.log_stem(name)  # <name>, <name>.rank<N> with ranks="all", None: a rank that writes no log
        log_file = os.path.join(dir_path, f"{stem}.log")
        history_file = os.path.join(dir_path, f"{stem}.history.log")
        log_path: Optional[str] = log_file
        history_path: Optional[str] = history_file
        if stem is None:  # no log file at all: never a path such as os.devnull, which a new run would replace
            log_path, history_path, log_level = None, None, distributed.console_level(log_level)
        elif not os.path.exists(history_file):
            if os.path.exists(log_file):
                from ._atomic import copy_file

                copy_file(log_file, history_file)  # the first rerun: history starts with the first run
            else:
                history_path = None  # a first run: only <name>.log
        log.configure(log_path, history_path, log_level, version_dir=dir_path)

        state = _State()
        state.root, state.name, state.number, state.tag = root, name, number, tag
        state.folder, state.dir_path, state.log_level = folder, dir_path, log_level
        state.relative = relative
        self._state = state
        if notice:
            log.warning(notice)
        log.debug(f"{'Created' if created else 'Resumed'} snapshot {name!r} {folder} at {self.dir_path}")
        for hook in list(self._setup_hooks):
            hook(self)
        return self

    def reset(self, confirm: bool = False) -> None:
        """Delete every version of the current snapshot name (only that name). Needs ``confirm=True``."""
        state = self._require()
        target = os.path.join(state.root, state.name)
        if confirm is not True:
            raise ConfirmationRequired(
                f"reset() deletes every version of {state.name!r} in {target}. "
                "Call oc.snapshot.reset(confirm=True) to do it. Nothing was deleted."
            )
        log.detach()
        record.close_all()
        Artifact.forget_folders()
        self._state = None
        if os.path.isdir(target):
            # one rename makes the whole name disappear; a kill during the removal leaves a hidden
            # folder of its own name (never in the way of a later reset), which gc removes
            doomed = os.path.join(state.root, f".{state.name}.{secrets.token_hex(4)}.deleting")
            os.rename(target, doomed)
            shutil.rmtree(doomed, ignore_errors=True)

    # -- what is set up ---------------------------------------------------------------------------
    @property
    def is_set_up(self) -> bool:
        """Whether ``setup`` has run (every other property raises until it has)."""
        return self._state is not None

    @property
    def rank(self) -> int:
        """This process's rank in a distributed job (torchrun, SLURM, accelerate, Lightning); 0 when alone."""
        return distributed.rank()

    @property
    def is_main(self) -> bool:
        """Whether this process is rank 0 (or runs alone): the one that writes unless ``setup(ranks="all")``."""
        return distributed.is_main()

    @property
    def name(self) -> str:
        """The snapshot name given to ``setup``."""
        return self._require().name

    @property
    def root(self) -> str:
        """The folder that holds the snapshots (``snapshots`` unless ``setup(root=...)``), shown as given at setup."""
        state = self._require()
        return shown(state.root, state.relative)

    @property
    def version(self) -> int:
        """The version number (int)."""
        return self._require().number

    @property
    def tag(self) -> Optional[str]:
        """The version's tag, or None."""
        return self._require().tag

    @property
    def version_name(self) -> str:
        """``v<N>`` or ``v<N>:<tag>``."""
        return self._require().folder

    @property
    def dir_path(self) -> str:
        """The version folder, e.g. ``snapshots/<name>/v0:baseline``.

        Bound at setup: after ``os.chdir()`` it still names the same folder (relative to the
        new current folder when it lies inside it, else absolute).
        """
        state = self._require()
        return shown(state.dir_path, state.relative)

    @property
    def log_path(self) -> str:
        """This run's log, ``<dir_path>/<name>.log`` (rewritten by each setup; rank N's with ``ranks="all"``)."""
        name = self._require().name
        return os.path.join(self.dir_path, f"{distributed.log_stem(name) or name}.log")

    @property
    def history_log_path(self) -> str:
        """Every run of this version, ``<dir_path>/<name>.history.log`` (from the second run on)."""
        return os.path.join(self.dir_path, f"{self._require().name}.history.log")

    def list_versions(self) -> list[str]:
        """Version folder names of the current snapshot name, oldest first."""
        state = self._require()
        return [item[2] for item in versions.list_folders(os.path.join(state.root, state.name))]

    def list_tags(self) -> list[str]:
        """Tags used by versions of the current snapshot name."""
        state = self._require()
        tags = [item[1] for item in versions.list_folders(os.path.join(state.root, state.name)) if item[1]]
        return list(dict.fromkeys(tags))

    # -- artifacts --------------------------------------------------------------------------------
    def artifact(self, kind: str, name: str, handler: Optional[HandlerSpec] = None, verbose: bool = False) -> Artifact:
        """The artifact ``name`` of ``kind`` in the current version (what ``oc.snapshot.<kind>(name)`` does)."""
        self._require()
        check_kind(kind)
        name = check_name(name, "artifact name")
        builtin = handlers.get_handler(kind)
        if handler is None and builtin is None:
            handler = self._custom_handlers.get(kind)
        if handler is not None:
            if builtin is None:
                _refuse_api_word(kind)
            instance = _instantiate(handler)
            if builtin is None:
                self._custom_handlers[kind] = handler  # later oc.snapshot.<kind>(name) calls reuse it
            folder = builtin.folder if builtin is not None else kind
            return Artifact(self.dir_path, kind, name, instance, folder, verbose=verbose, custom=True)
        if builtin is None:
            raise UnknownKindError(_unknown_kind_message(kind))
        name = _with_suffix(kind, name, builtin)
        return Artifact(self.dir_path, kind, name, builtin, builtin.folder, verbose=verbose)

    def text(self, name: str, handler: Optional[HandlerSpec] = None, verbose: bool = False) -> Artifact:
        """Plain text (``texts/``)."""
        return self.artifact("text", name, handler, verbose)

    def json(self, name: str, handler: Optional[HandlerSpec] = None, verbose: bool = False) -> Artifact:
        """JSON-serialisable values (``jsons/``)."""
        return self.artifact("json", name, handler, verbose)

    def yaml(self, name: str, handler: Optional[HandlerSpec] = None, verbose: bool = False) -> Artifact:
        """Configuration dicts as YAML (``yamls/``)."""
        return self.artifact("yaml", name, handler, verbose)

    def csv(self, name: str, handler: Optional[HandlerSpec] = None, verbose: bool = False) -> Artifact:
        """Tables: DataFrames, arrays, lists of rows (``csvs/``)."""
        return self.artifact("csv", name, handler, verbose)

    def image(self, name: str, handler: Optional[HandlerSpec] = None, verbose: bool = False) -> Artifact:
        """Images from arrays, PIL images and matplotlib figures (``images/``)."""
        return self.artifact("image", name, handler, verbose)

    def gif(self, name: str, handler: Optional[HandlerSpec] = None, verbose: bool = False) -> Artifact:
        """Animated gifs from a list of frames (``gifs/``)."""
        return self.artifact("gif", name, handler, verbose)

    def video(self, name: str, handler: Optional[HandlerSpec] = None, verbose: bool = False) -> Artifact:
        """Videos from frames and fps (``videos/``; needs the ``[video]`` extra)."""
        return self.artifact("video", name, handler, verbose)

    def audio(self, name: str, handler: Optional[HandlerSpec] = None, verbose: bool = False) -> Artifact:
        """Audio from sample arrays and a sample rate (``audios/``)."""
        return self.artifact("audio", name, handler, verbose)

    def checkpoint(self, name: str, handler: Optional[HandlerSpec] = None, verbose: bool = False) -> Artifact:
        """Model checkpoints, format by suffix (``checkpoints/``)."""
        return self.artifact("checkpoint", name, handler, verbose)

    def list_artifacts(self) -> list[Artifact]:
        """Every artifact of the current version, by folder and name: what the record says it holds
        (from the cached record index) and what was copied into a kind folder by hand."""
        state = self._require()
        recorded = record.current_artifacts(state.dir_path)
        return [a for folder in _kind_folders(state.dir_path) for a in self._artifacts_in(folder, recorded)]

    def find(self, file_name: str) -> list[Artifact]:
        """Artifacts named ``file_name`` in any kind folder of the current version."""
        state = self._require()
        file_name = check_name(file_name, "artifact name")  # the spelling a save stores
        recorded = record.current_artifacts(state.dir_path)
        return [a for folder in _kind_folders(state.dir_path) for a in self._artifacts_in(folder, recorded, file_name)]

    def _artifacts_in(self, folder: str, recorded: dict, only: Optional[str] = None) -> list[Artifact]:
        """The artifacts of one kind folder (one listing, no stat each), or only the one named ``only``."""
        path = os.path.join(self._require().dir_path, folder)
        if only is not None:
            names = [only] if os.path.lexists(os.path.join(path, only)) else []
        else:
            try:
                names = sorted(n for n in os.listdir(path) if not n.startswith(".") and is_unicode(n))
            except OSError:
                return []
        found = []
        for name in names:
            entry = recorded.get(f"{folder}/{name}")
            kind = (entry or {}).get("kind") or handlers.kind_for_folder(folder)
            try:
                artifact = self._artifact_for(kind, name)
            except (InvalidNameError, UnicodeError):
                continue  # copied in by hand under a name opencrate refuses (verify lists it as untracked)
            if artifact is not None:
                found.append(artifact)
        return found

    def on_setup(self, hook: SetupHook) -> None:
        """Call ``hook(snapshot)`` after every setup (used by the notebook layer and run environment)."""
        if hook not in self._setup_hooks:
            self._setup_hooks.append(hook)

    def remove_setup_hook(self, hook: SetupHook) -> None:
        """Stop calling ``hook`` after setups (no error when it was not registered)."""
        if hook in self._setup_hooks:
            self._setup_hooks.remove(hook)

    # -- history, diff, verify, cleanup (core/diff.py, verify.py, gc.py) ----------------------------
    def diff(self, a: Union[str, int, None] = None, b: Union[str, int, None] = None, **kwargs: Any) -> "Diff":
        """Compare two versions: ``diff(1, 3)``, ``diff("v1:major-update")`` (against this version),
        ``diff("other_name/v2", 3)``. Returns a :class:`~opencrate_nb.core.diff.Diff`."""
        from . import diff

        return diff.diff(a, b, snapshot=self, **kwargs)

    def compare(
        self,
        name: Optional[str] = None,
        versions: Optional[Iterable[Union[int, str]]] = None,
        only_diff: bool = True,
        ignore: Union[str, Iterable[str]] = (),
        metrics: Optional[Union[str, Iterable[str]]] = None,
        **kwargs: Any,
    ) -> "DataFrame":
        """Every version of this snapshot name (or ``name``) side by side as a pandas DataFrame: run
        facts, config keys and metrics, only the columns that differ (see docs/compare.md)."""
        from . import compare

        return compare.compare(name, versions, only_diff, ignore, metrics, snapshot=self, **kwargs)

    def verify(self, version: Union[str, int, None] = None, **kwargs: Any) -> "VerifyReport":
        """Re-hash this version's artifacts (or ``version``'s) against the record; ``.ok`` and problems."""
        from . import verify

        return verify.verify(version, snapshot=self, **kwargs)

    def stats(self, **kwargs: Any) -> "Stats":
        """Files, bytes and deduplication savings of every version of this snapshot name."""
        from . import gc

        state = self._require()
        return gc.stats(state.root, name=state.name, **kwargs)

    def gc(self, dry_run: bool = True, **kwargs: Any) -> "GcReport":
        """Remove history contents beyond retention and leftovers of interrupted saves of this
        snapshot name. A dry run unless ``dry_run=False``; returns what was (or would be) removed."""
        from . import environment, gc

        state = self._require()
        environment.wait()  # this process's env.json write lands first: its temporary file is no leftover
        return gc.collect(state.root, name=state.name, dry_run=dry_run, **kwargs)

    # -- remotes (core/remote.py) ---------------------------------------------------------------------
    def push(self, url: str, versions: Optional[list] = None, **kwargs: Any) -> "PushReport":
        """Push this snapshot name's versions (all, or ``versions``) to an fsspec URL; only missing contents travel."""
        from . import remote

        state = self._require()
        return remote.push(url, state.name, versions, root=state.root, **kwargs)

    def pull(self, url: str, name: str, versions: Optional[list] = None, **kwargs: Any) -> "PullReport":
        """Pull versions of ``name`` from an fsspec URL into this snapshot's root, verifying every content."""
        from . import remote

        return remote.pull(url, name, versions, root=self._require().root, **kwargs)

    # -- internals --------------------------------------------------------------------------------
    def _artifact_for(self, kind: str, file_name: str) -> Optional[Artifact]:
        """An artifact for a file found in the version, or None (with a warning) for a name no save could make."""
        try:
            check_name(file_name, "artifact name")  # a filter: the artifact keeps the file's own spelling
        except InvalidNameError as exc:
            warnings.warn(f"Not listed as an artifact: {exc}", stacklevel=3)
            return None
        state = self._require()
        builtin = handlers.get_handler(kind)
        version_dir = shown(state.dir_path, state.relative)
        if builtin is not None and kind not in self._custom_handlers:
            return Artifact(version_dir, kind, file_name, builtin, builtin.folder)
        handler = self._custom_handlers.get(kind)
        if handler is None:
            return _OpaqueArtifact(version_dir, kind, file_name)
        return Artifact(version_dir, kind, file_name, _instantiate(handler), kind, custom=True)

    def _require(self) -> _State:
        if self._state is None:
            raise NotSetUpError("No snapshot is set up. Call oc.snapshot.setup(name=...) first.")
        return self._state

    def __getattr__(self, word: str) -> Callable[..., Artifact]:
        if word.startswith("_"):
            raise AttributeError(word)
        if handlers.get_handler(word) is not None or word in self._custom_handlers:
            return lambda name, handler=None, verbose=False: self.artifact(word, name, handler, verbose)
        _refuse_api_word(word)
        return _CustomKind(self, word)

    def __repr__(self) -> str:
        if self._state is None:
            return "<Snapshot (not set up: call oc.snapshot.setup(name=...))>"
        return f"<Snapshot {self._state.name!r} {self._state.folder} at {self.dir_path!r}>"


def _kind_folders(version_dir: str) -> list[str]:
    """The visible folders of a version, by name (kind folders, and custom kinds' folders)."""
    try:
        with os.scandir(version_dir) as entries:
            names = [e.name for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []
    return sorted(n for n in names if is_unicode(n))


class _OpaqueArtifact(Artifact):
    """An artifact of a custom kind whose handler this process does not know: listable, not loadable."""

    def __init__(self, version_dir: str, kind: str, name: str) -> None:
        super().__init__(version_dir, kind, name, handlers.Handler(), kind)

    def save(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise UnknownKindError(
            f"Saving {self.name!r} needs its handler: oc.snapshot.{self.kind}(name, handler=YourClass)."
        )

    def load(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise UnknownKindError(
            f"Loading {self.name!r} needs its handler: oc.snapshot.{self.kind}(name, handler=YourClass)."
        )


class _CustomKind:
    """What ``oc.snapshot.<word>`` gives for a word that is not a built-in kind.

    Calling it with ``handler=`` makes a custom artifact. Anything else (calling it
    without a handler, printing it, using it as a value) raises, so that a misspelled
    attribute such as ``oc.snapshot.versoin`` never passes silently as data.
    """

    def __init__(self, snapshot: Snapshot, word: str) -> None:
        self._snapshot = snapshot
        self._word = word

    def __call__(self, name: str, handler: Optional[HandlerSpec] = None, verbose: bool = False) -> Artifact:
        if handler is None:
            raise UnknownKindError(_unknown_kind_message(self._word, snapshot=True))
        return self._snapshot.artifact(self._word, name, handler, verbose)

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise UnknownKindError(_unknown_kind_message(self._word, snapshot=True))

    __str__ = __format__ = __bool__ = __int__ = __float__ = __index__ = __iter__ = __len__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __contains__ = __getitem__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __fspath__ = _refuse
    __hash__ = None  # type: ignore[assignment]  # unhashable: a set or dict key must not hide the typo either

    def __repr__(self) -> str:
        return f"<custom artifact kind {self._word!r}: call it with handler=YourClass>"


def _unknown_kind_message(word: str, snapshot: bool = False) -> str:
    builtins = handlers.builtin_kinds()
    plugins = handlers.plugin_kinds()
    attrs = ["setup", "reset", "version", "version_name", "dir_path", "list_versions", "list_tags"]
    text = f"oc.snapshot has no kind or attribute {word!r}."
    close = difflib.get_close_matches(word, builtins + plugins + attrs, n=1)
    if close:
        text += f" Did you mean {close[0]!r}?"
    text += f" Built-in kinds: {', '.join(builtins)}."
    if plugins:
        text += f" Kinds from installed packages: {', '.join(plugins)}."
    text += f" For a custom kind pass a handler class: oc.snapshot.{word}(name, handler=YourHandler)."
    return text


def _refuse_api_word(word: str) -> None:
    """Words of the API (oc.info, artifact.path, the snapshot's own attributes) never become custom kinds."""
    reason = _api_words.refusal(word, tuple(n for n in dir(Snapshot) if not n.startswith("_")))
    if reason is not None:
        raise UnknownKindError(reason)


def _check_start(start: Union[str, int]) -> Union[str, int]:
    if start in ("new", "last"):
        return start
    if isinstance(start, bool):
        raise InvalidNameError(f"Invalid start={start!r}: use {_STARTS}.")
    if isinstance(start, int):
        if start < 0:
            raise InvalidNameError(f"Invalid start={start}: version numbers start at 0. Use {_STARTS}.")
        return start
    if isinstance(start, str) and start.isdigit():
        return int(start)
    raise InvalidNameError(f"Invalid start={start!r}: use {_STARTS}.")


def _with_suffix(kind: str, name: str, handler: Any) -> str:
    """Add the kind's default suffix to a bare name; refuse a suffix the kind cannot write."""
    suffixes = tuple(getattr(handler, "suffixes", ()) or ())
    if not suffixes or name.lower().endswith(suffixes):
        return name
    stem, suffix = os.path.splitext(name)
    if kind == "text" and suffix:
        return name
    if not suffix or not suffix[1:].isalnum() or suffix[1:].isdigit():
        return name + suffixes[0]  # "model" or "epoch.3": no format suffix yet
    raise InvalidNameError(
        f"{name!r} has suffix {suffix!r}, which the {kind} kind does not write. "
        f"Use one of {', '.join(suffixes)} (e.g. {stem + suffixes[0]!r}), another kind, or a custom handler: "
        f"oc.snapshot.<word>(name, handler=YourClass)."
    )


def _instantiate(handler: HandlerSpec) -> Any:
    """An instance of a user's handler class (or the instance given), checked for save/load."""
    if isinstance(handler, type):
        cls: Any = handler  # a user's class, whose __new__ and __init__ take what it decides
        instance = cls.__new__(cls)
        if cls.__init__ is not object.__init__:
            try:
                instance.__init__()
            except TypeError as exc:
                raise TypeError(
                    f"Handler class {handler.__name__} must be constructible without arguments ({exc}); "
                    "or pass an instance: handler=MyHandler(...)."
                ) from None
    else:
        instance = handler
    for method in ("save", "load"):
        if not callable(getattr(instance, method, None)):
            raise TypeError(f"A handler needs a {method}() method; {type(instance).__name__} has none.")
    return instance


def _record_environment(snap: Snapshot) -> None:
    from . import environment

    if distributed.writes_environment():  # the job's environment: rank 0 writes it
        environment.on_setup(snap)


snapshot = Snapshot()
snapshot.on_setup(_record_environment)  # .crate/env.json: one entry per run (core/environment.py)
