"""The run environment of each version: ``<version>/.crate/env.json``.

One entry per run (a version can be resumed many times)::

    {"runs": [{"id", "start", "end", "finished", "python", "implementation", "platform",
               "system", "machine", "host", "pid", "opencrate_nb",
               "kinds": ["csv", "json"], "packages": {"pandas": "2.2.3", ...},
               "git": {"commit", "branch", "dirty"} | null}]}

A run starts at ``oc.snapshot.setup()`` (a setup hook). ``kinds`` lists the handler
kinds saved with during the run and ``packages`` the installed versions of the
libraries those handlers use (looked up with importlib.metadata). ``end`` is the time
of the last update: updated when a new kind is first used, at most every
:data:`UPDATE_EVERY` seconds while saving, when another setup starts and at interpreter
exit (then ``finished`` is true). Writes happen on a background thread, atomically and
under the version's save lock, so saving never waits for them; ``git`` is looked up
there too, with a short timeout (no git, or not a repository: null).
"""

import atexit
import json
import os
import platform
import secrets
import socket
import subprocess
import threading
import time

from . import _atomic
from .format import format_time
from .record import RECORD_DIR, now_iso

ENV_FILE = "env.json"
UPDATE_EVERY = 30.0
GIT_TIMEOUT = 2.0

# distributions whose versions matter for each built-in kind
KIND_PACKAGES = {
    "text": (),
    "json": (),
    "yaml": ("PyYAML",),
    "csv": ("pandas", "numpy"),
    "image": ("Pillow", "numpy", "matplotlib"),
    "gif": ("Pillow", "numpy"),
    "video": ("imageio", "imageio-ffmpeg", "numpy"),
    "audio": ("soundfile", "numpy"),
    "checkpoint": ("torch", "safetensors", "numpy", "joblib"),
}
BASE_PACKAGES = ("opencrate-nb", "loguru")


def env_path(version_dir):
    return os.path.join(version_dir, RECORD_DIR, ENV_FILE)


def read(version_dir):
    """The parsed env.json of a version (``{"runs": []}`` when absent or unreadable)."""
    try:
        with _atomic.open_regular(env_path(version_dir)) as f:  # a FIFO there blocks nothing
            data = json.loads(f.read())
    except (OSError, ValueError):
        return {"runs": []}
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        return {"runs": []}
    return data


def runs(version_dir):
    return [r for r in read(version_dir)["runs"] if isinstance(r, dict)]


def last_run(version_dir):
    """The newest run entry of a version, or None."""
    found = runs(version_dir)
    return found[-1] if found else None


# -- what is recorded --------------------------------------------------------------------------------
def _base_info():
    try:
        from importlib.metadata import version

        ours = version("opencrate-nb")
    except Exception:  # noqa: BLE001 - running from a source tree
        from opencrate_nb import __version__ as ours
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "system": platform.system(),
        "machine": platform.machine(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "opencrate_nb": ours,
    }


# Settings that make git run a program of the repository's choosing, switched off on the command
# line (which outranks every config file). Filter drivers have names of their own: they are listed
# first (reading config runs nothing) and each is emptied, which git treats as "no filter".
_GIT_OVERRIDES = (
    "core.fsmonitor=false",  # a hook command, or a daemon
    f"core.hooksPath={os.devnull}",  # post-index-change runs when an index is written
    "core.untrackedCache=false",
    "protocol.allow=never",  # a partial clone would fetch missing objects (core.sshCommand...)
    "diff.external=",
    "core.pager=cat",
    "credential.helper=",
)


def _git_env():
    """The environment git runs in: no system or global config, no prompts, no optional locks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_OPTIONAL_LOCKS="0",  # status does not rewrite the index (so no hook, no lock taken)
        GIT_TERMINAL_PROMPT="0",
        GIT_NO_LAZY_FETCH="1",
        GIT_ALLOW_PROTOCOL="",  # no transport at all, whatever protocol.<name>.allow a repository sets
        GIT_NO_REPLACE_OBJECTS="1",
        LC_ALL="C",
    )
    return env


#: git processes running now: killed at exit, so that a git that hangs (a FIFO for its config,
#: a stuck network file system) does not outlive a short script, whose look-up thread dies with it
_git_children: set = set()
_git_guard = threading.Lock()


def _run_git(command, cwd, env, timeout):
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    with _git_guard:
        if not _git_children:
            atexit.register(_kill_git_children)
        _git_children.add(process)
    try:
        out, err = process.communicate(timeout=timeout)
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        with _git_guard:
            _git_children.discard(process)
            if not _git_children:
                atexit.unregister(_kill_git_children)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def _kill_git_children():
    with _git_guard:
        running = list(_git_children)
    for process in running:
        try:
            process.kill()
        except OSError:
            pass


def git_info(cwd=None, timeout=GIT_TIMEOUT):
    """``{"commit", "branch", "dirty"}`` of the git work tree at ``cwd``, or None.

    ``dirty`` is true when tracked files have uncommitted changes (untracked files, such
    as the snapshots folder itself, do not count; nor do submodules); None when git took
    too long. Nothing a repository's config says can make this run a command: fsmonitor,
    hooks, filter drivers, external diffs, pagers and transports are switched off, system
    and global config are not read, and all of it shares one ``timeout`` (seconds).
    """
    deadline = time.monotonic() + timeout
    env = _git_env()

    def run(*args, overrides=_GIT_OVERRIDES):
        left = deadline - time.monotonic()
        if left <= 0:
            raise subprocess.TimeoutExpired("git", timeout)
        options = [part for setting in overrides for part in ("-c", setting)]
        return _run_git(["git", "--no-pager", *options, *args], cwd, env, left)

    try:
        head = run("rev-parse", "HEAD", "--abbrev-ref", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return None
    lines = head.stdout.split()
    if head.returncode != 0 or not lines:
        return None
    info = {"commit": lines[0], "branch": lines[1] if len(lines) > 1 else None, "dirty": None}
    try:
        drivers = run("config", "--null", "--name-only", "--get-regexp", r"^filter\.")
        names = {key[len("filter.") :].rsplit(".", 1)[0] for key in drivers.stdout.split("\0") if key}
        if any("=" in name or "\n" in name for name in names):
            return info  # a driver "-c" cannot name: leave the dirty state unknown rather than run it
        no_filters = tuple(
            f"filter.{name}.{part}" for name in sorted(names) for part in ("clean=", "smudge=", "process=")
        )
        no_filters += tuple(f"filter.{name}.required=false" for name in sorted(names))
        status = run(
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--ignore-submodules=all",
            "--no-renames",
            overrides=_GIT_OVERRIDES + no_filters,
        )
        if status.returncode == 0:
            info["dirty"] = bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def package_versions(kinds, handler_modules=()):
    """Installed versions of the packages the given kinds' handlers use ({name: version})."""
    from importlib import metadata

    names = list(BASE_PACKAGES)
    for kind in kinds:
        names.extend(KIND_PACKAGES.get(kind, ()))
    if handler_modules:
        try:
            by_module = metadata.packages_distributions()
        except Exception:  # noqa: BLE001 - broken metadata must not break a run
            by_module = {}
        for module in handler_modules:
            names.extend(by_module.get(module, ()))
    found = {}
    for name in dict.fromkeys(names):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        except Exception:  # noqa: BLE001 - broken metadata must not break a run
            continue
    return found


# -- the current run -----------------------------------------------------------------------------------
class _Run:
    def __init__(self, version_dir):
        self.path = os.path.abspath(version_dir)  # where env.json goes, even after os.chdir
        self.entry = {"id": secrets.token_hex(8), "start": now_iso(), "end": None, "finished": False}
        self.entry.update(_base_info())
        self.entry.update({"kinds": [], "packages": {}, "git": None})
        self.kinds = set()
        self.handler_modules = set()
        self.last_write = 0.0
        self.packages_for = None  # the kinds the packages were looked up for


_run = None
_guard = threading.RLock()  # guards the run's state (held briefly, never around file work)
_write_lock = threading.Lock()  # serialises writes of env.json in this process
_wake = threading.Event()
_idle = threading.Event()  # set while the writer has nothing to do (wait() waits for it)
_idle.set()
_worker = None
_pending_git: list[threading.Thread] = []


def current_run():
    """The entry of this process's current run (a copy), or None."""
    with _guard:
        return dict(_run.entry) if _run is not None else None


def on_setup(snapshot):
    """Setup hook: finish the previous run of this process and start one for the new version."""
    start_run(snapshot.dir_path)


def start_run(version_dir, cwd=None):
    global _run
    with _guard:
        previous = _run
        _run = run = _Run(version_dir)
    if previous is not None:
        _finish(previous)  # outside _guard: _write takes _write_lock before _guard
    try:
        os.makedirs(os.path.join(version_dir, RECORD_DIR), exist_ok=True)
        _write(run)
    except OSError:
        pass
    cwd = os.getcwd() if cwd is None else cwd
    thread = threading.Thread(target=_look_up_git, args=(run, cwd), name="opencrate-env-git", daemon=True)
    _pending_git.append(thread)
    thread.start()
    return run.entry


def _look_up_git(run, cwd):
    info = git_info(cwd)
    with _guard:
        run.entry["git"] = info
    _wake_writer()


def note_save(version_dir, kind, handler=None):
    """Called on each save (cheap): note the kind; update env.json now and then, in the background."""
    run = _run
    if run is None or run.path != version_dir:  # artifacts pass their absolute, bound version folder
        return
    if kind not in run.kinds:
        with _guard:
            run.kinds.add(kind)
            run.entry["kinds"] = sorted(run.kinds)
            if handler is not None and kind not in KIND_PACKAGES:
                module = type(handler).__module__.split(".")[0]
                if module not in ("builtins", "__main__", "opencrate_nb"):
                    run.handler_modules.add(module)
        _wake_writer()
    elif time.monotonic() - run.last_write > UPDATE_EVERY:
        run.last_write = time.monotonic()  # one wake per period
        _wake_writer()


def note(field, value):
    """Add ``field`` to the current run's entry (the notebook layer records the run's notebook here)."""
    run = _run
    if run is not None:
        with _guard:
            run.entry[field] = value
        _wake_writer()


def _wake_writer():
    global _worker
    if _worker is None or not _worker.is_alive():
        _worker = threading.Thread(target=_write_loop, name="opencrate-env", daemon=True)
        _worker.start()
    _wake.set()


def _write_loop():
    while True:
        _wake.wait()
        _idle.clear()  # before clearing the wake: never "idle" and "nothing asked" while work is pending
        _wake.clear()
        run = _run
        try:
            if run is not None:
                _write(run)
        except Exception:  # noqa: BLE001 - the folder may be gone (reset); never disturb the run
            pass
        finally:
            if not _wake.is_set():
                _idle.set()


def _write(run, finished=False):
    """Merge this run's entry into env.json (atomic, under the version's save lock)."""
    from ._savelock import version_lock

    folder = os.path.join(run.path, RECORD_DIR)
    if not os.path.isdir(folder):
        return  # the version was removed: do not make it again
    with _guard:
        kinds = frozenset(run.kinds)
        modules = frozenset(run.handler_modules)
    if run.packages_for != (kinds, modules):
        packages = package_versions(sorted(kinds), sorted(modules))
        with _guard:
            run.entry["packages"] = packages
            run.packages_for = (kinds, modules)
    with _write_lock, version_lock(run.path):
        with _guard:
            run.entry["end"] = now_iso()
            if finished:
                run.entry["finished"] = True
            entry = dict(run.entry)
            run.last_write = time.monotonic()
        data = read(run.path)
        runs_ = [r for r in data["runs"] if isinstance(r, dict)]
        for position, old in enumerate(runs_):
            if old.get("id") == entry["id"]:
                runs_[position] = entry
                break
        else:
            runs_.append(entry)
        data["runs"] = runs_
        text = json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n"
        _atomic.write_bytes(env_path(run.path), text.encode("utf-8"))


def _finish(run):
    try:
        _write(run, finished=True)
    except Exception:  # noqa: BLE001 - env.json is a by-product: never fail a setup or the exit
        pass


def wait(timeout=5.0):
    """Wait for pending background work (git look-ups, the latest write). For tests and the CLI."""
    deadline = time.monotonic() + timeout
    while _pending_git:
        thread = _pending_git.pop()
        thread.join(max(deadline - time.monotonic(), 0))
    while (_wake.is_set() or not _idle.is_set()) and time.monotonic() < deadline:
        _idle.wait(0.01)  # a background write already asked for: let it land first
    run = _run
    if run is not None:
        try:
            _write(run)
        except Exception:  # noqa: BLE001 - env.json is a by-product: never fail a setup or the exit
            pass


def finish():
    """End the current run (also done at interpreter exit)."""
    global _run
    with _guard:
        run, _run = _run, None
    if run is not None:
        _finish(run)


atexit.register(finish)


# -- comparing ---------------------------------------------------------------------------------------
COMPARED = ("python", "implementation", "platform", "machine", "host", "opencrate_nb")


def compare(a, b):
    """Differences between two run entries: ``[(field, value in a, value in b)]``.

    Fields: the interpreter and platform, ``git.commit`` / ``git.dirty`` / ``git.branch``
    and ``packages.<name>`` for every package both runs used in another version. A package
    only one run used is no difference in environment (that run saved other kinds), so it
    is left out.
    """
    a = a or {}
    b = b or {}
    out = []
    for key in COMPARED:
        if a.get(key) != b.get(key):
            out.append((key, a.get(key), b.get(key)))
    git_a, git_b = a.get("git") or {}, b.get("git") or {}
    if (a.get("git") is None) != (b.get("git") is None):
        out.append(("git", "yes" if a.get("git") else None, "yes" if b.get("git") else None))
    for key in ("commit", "branch", "dirty"):
        if git_a.get(key) != git_b.get(key) and (git_a or git_b):
            out.append((f"git.{key}", git_a.get(key), git_b.get(key)))
    pa, pb = a.get("packages") or {}, b.get("packages") or {}
    for name in sorted(set(pa) & set(pb), key=str.lower):
        if pa[name] != pb[name]:
            out.append((f"packages.{name}", pa[name], pb[name]))
    return out


def describe_run(entry):
    """One line about a run: when, Python, git state."""
    if not entry:
        return "no run environment recorded"
    git = entry.get("git")
    if git:
        state = f"git {str(git.get('commit') or '?')[:10]}" + (" (uncommitted changes)" if git.get("dirty") else "")
    else:
        state = "no git"
    return f"{format_time(entry.get('start'))}  Python {entry.get('python')}  {entry.get('host')}  {state}"


def status(version_dir):
    """The newest run of a version, the one before, and what changed between them (for ``%crate status``).

    ``{"run", "previous", "changes": [(field, before, after)], "text": [lines]}``.
    """
    found = runs(version_dir)
    run = found[-1] if found else None
    previous = found[-2] if len(found) > 1 else None
    changes = compare(previous, run) if previous is not None else []
    text = [describe_run(run)]
    if previous is not None:
        text.append(f"previous run: {describe_run(previous)}")
        text += [f"  {field}: {before} -> {after}" for field, before, after in changes] or ["  same environment"]
    return {"run": run, "previous": previous, "changes": changes, "text": text}
