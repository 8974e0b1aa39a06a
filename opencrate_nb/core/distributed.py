"""Runs that span processes: which rank of which job this process is, and the one version a job shares.

Under torchrun (torch.distributed.launch, accelerate launch), SLURM's srun, Lightning or any
launcher that sets ``RANK``/``WORLD_SIZE``, every process of one training job runs the same
script and calls ``oc.snapshot.setup(start="new")``. Rank 0 claims the version (the ordinary
claim of :mod:`versions`) and publishes what it claimed; every other rank waits for that and
joins the same folder. The job is identified from the launcher's environment, never from
timing, so two jobs started at the same moment still get two versions:

- ``TORCHELASTIC_RUN_ID`` (torchrun; the literal ``"none"`` means no id was given),
- ``SLURM_JOB_ID`` (with ``SLURM_STEP_ID`` and ``SLURM_RESTART_COUNT``),
- when torch.distributed is initialised and neither exists: rank 0 broadcasts its claim,
- ``OPENCRATE_JOB_ID``, which a process that sets up alone exports, so that processes it launches
  later (Lightning's launcher re-runs the script with ``LOCAL_RANK`` set) find its claim.

Rank 0's claims live in ``<root>/<name>/.crate.jobs/<job>.json`` (small, rewritten atomically;
a process alone keeps its own in the machine's temporary folder);
each rank counts its setups of one name, so the n-th setup of rank 1 joins the n-th of rank 0.
By default only rank 0 writes artifacts, the run log and env.json; ``setup(..., ranks="all")``
lets every rank write, rank N's log going to ``<name>.rank<N>.log``.

torch is never imported here: torch.distributed can only be initialised in a process that has
imported torch already, so ``sys.modules`` says all there is to know.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import re
import secrets
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, TypeVar, Union

from . import _atomic, log, versions
from .errors import InvalidNameError, OpenCrateError

CLAIMS_DIR = ".crate.jobs"
ENV_JOB_ID = "OPENCRATE_JOB_ID"
ENV_TIMEOUT = "OPENCRATE_RANK_TIMEOUT"
DEFAULT_TIMEOUT = 300.0
RANKS = ("main", "all")
#: claims older than this are removed when rank 0 writes a new one (they only serve a job's start)
CLAIM_MAX_AGE = 7 * 24 * 3600.0
_LOCAL_PREFIX = "local-"  # OPENCRATE_JOB_ID values of processes that set up alone

# (environment variable of the rank, of the world size, launcher) in the order they are trusted
_RANK_VARIABLES = (
    ("RANK", "WORLD_SIZE", "torch.distributed"),
    ("SLURM_PROCID", "SLURM_NTASKS", "slurm"),
    ("PMI_RANK", "PMI_SIZE", "mpi"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "mpi"),
)

F = TypeVar("F", bound=Callable[..., Any])


class RankWaitTimeout(OpenCrateError, TimeoutError):
    """A rank other than 0 waited too long for rank 0 to claim the job's version."""


class JobIdentityError(OpenCrateError, RuntimeError):
    """A rank other than 0 cannot tell which job it belongs to, so it cannot find the job's version."""


@dataclass(frozen=True)
class Job:
    """This process's place in a multi-process job."""

    rank: int
    world_size: int
    launcher: str  #: "torchrun", "slurm", "torch.distributed", "mpi", "lightning"
    job_id: Optional[str]  #: from the launcher's environment, or None (then torch.distributed or OPENCRATE_JOB_ID)


@dataclass
class _Binding:
    """What the last setup decided for this process."""

    job: Optional[Job] = None
    ranks: str = "main"


_binding = _Binding()
_setup_counts: dict[str, int] = {}


# -- where this process is ---------------------------------------------------------------------------
def _int(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value is not None and value.strip() else None
    except ValueError:
        return None


def _torch_distributed() -> Any:
    """``torch.distributed`` when this process has imported torch and initialised a process group, else None."""
    if "torch" not in sys.modules:
        return None
    dist = getattr(sys.modules["torch"], "distributed", None)
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            return dist
    except (AttributeError, RuntimeError):
        return None
    return None


def _env_job_id() -> Optional[str]:
    run_id = os.environ.get("TORCHELASTIC_RUN_ID", "").strip()
    if run_id and run_id.lower() != "none":
        restarts = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        return f"torchrun-{run_id}-r{restarts}"
    slurm = os.environ.get("SLURM_JOB_ID", "").strip()
    if slurm:
        step = os.environ.get("SLURM_STEP_ID", "")
        restarts = os.environ.get("SLURM_RESTART_COUNT", "0")
        return f"slurm-{slurm}-s{step}-r{restarts}"
    return None


def detect() -> Optional[Job]:
    """This process's place in a job of several processes, or None when it runs alone."""
    env = os.environ
    job_id = _env_job_id()
    dist = _torch_distributed()
    if dist is not None:
        rank, world, launcher = dist.get_rank(), dist.get_world_size(), "torch.distributed"
    else:
        found = None
        for rank_var, world_var, name in _RANK_VARIABLES:
            rank_value, world_value = _int(env.get(rank_var)), _int(env.get(world_var))
            if rank_value is not None and world_value is not None:
                found = (rank_value, world_value, name)
                break
        if found is None and _int(env.get("LOCAL_RANK")) is not None:
            # Lightning's own launcher starts ranks 1.. with LOCAL_RANK and NODE_RANK only
            local, node = _int(env.get("LOCAL_RANK")) or 0, _int(env.get("NODE_RANK")) or 0
            per_node = _int(env.get("LOCAL_WORLD_SIZE")) or 0
            rank_value = node * per_node + local if per_node else local
            world_value = _int(env.get("WORLD_SIZE")) or rank_value + 1
            found = (rank_value, world_value, "lightning")
        if found is None:
            return None
        rank, world, launcher = found
    if world <= 1:
        return None
    if "TORCHELASTIC_RUN_ID" in env and launcher == "torch.distributed":
        launcher = "torchrun"
    return Job(rank=rank, world_size=world, launcher=launcher, job_id=job_id)


def rank() -> int:
    """This process's global rank (0 when it runs alone)."""
    job = detect()
    return job.rank if job is not None else 0


def is_main() -> bool:
    """Whether this process is rank 0 (or runs alone)."""
    return rank() == 0


def writes() -> bool:
    """Whether this process writes artifacts: rank 0, or every rank after ``setup(..., ranks="all")``."""
    job = _binding.job
    return job is None or job.rank == 0 or _binding.ranks == "all"


def writes_environment() -> bool:
    """The run environment (env.json) is the job's: only rank 0 writes it."""
    return _binding.job is None or _binding.job.rank == 0


def log_stem(name: str) -> Optional[str]:
    """The run log's file stem for this process: ``name``, ``name.rank<N>``, or None (no log file)."""
    job = _binding.job
    if job is None or job.rank == 0:
        return name
    return f"{name}.rank{job.rank}" if _binding.ranks == "all" else None


def console_level(level: str) -> str:
    """What a rank that writes no log prints: warnings and errors (its info lines repeat rank 0's),
    debug too when asked for."""
    return level if level.lower() in ("trace", "debug") else "warning"


def check_ranks(ranks: str) -> str:
    if ranks not in RANKS:
        raise InvalidNameError(
            f"Invalid ranks={ranks!r}: use 'main' (only rank 0 writes, the default) or 'all' (every rank writes)."
        )
    return ranks


def writer_only(method: F) -> F:
    """Make an artifact method that writes (save, backup, delete) do nothing on a rank that does not write."""

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _binding.job is None or writes():  # not in a job: the check in line (every save comes here)
            return method(self, *args, **kwargs)
        job = _binding.job
        log.debug(
            f"rank {job.rank if job else 0}: skipped {method.__name__} of {getattr(self, 'name', '?')!r} "
            "(only rank 0 writes; setup(..., ranks='all') lets every rank write)"
        )
        return None

    return guarded  # type: ignore[return-value]


# -- one version per job -----------------------------------------------------------------------------
def resolve(snapshot_dir: str, start: Union[str, int], tag: Optional[str], ranks: str = "main") -> tuple:
    """``versions.resolve`` for every rank of a job: rank 0 claims, the others join its claim.

    Returns what :func:`versions.resolve` returns, and binds this process's rank for the run.
    """
    ranks = check_ranks(ranks)
    job = detect()
    key = os.path.abspath(snapshot_dir)
    sequence = _setup_counts.get(key, 0)
    _setup_counts[key] = sequence + 1
    _binding.job, _binding.ranks = job, ranks
    if job is None or job.rank == 0:
        result = versions.resolve(snapshot_dir, start, tag)
        if job is None:
            _publish_alone(snapshot_dir, sequence, result)
        else:
            _publish(snapshot_dir, job, sequence, result)
        return result
    number, folder = _wait_for_claim(snapshot_dir, job, sequence)
    claimed_tag = versions.parse_folder(folder)
    resolved = versions.resolve(snapshot_dir, number, claimed_tag[1] if claimed_tag else None)
    return resolved[0], resolved[1], False, None


def _job_file(snapshot_dir: str, job_id: str) -> str:
    """Where rank 0 of ``job_id`` publishes its claims of one snapshot name.

    A job of the launcher's (torchrun, SLURM) may span machines: its claims live next to the
    versions, on the storage every rank sees. A process alone publishes for the ranks it may
    launch on its own machine, in a private folder of the machine's temporary folder, so that
    a snapshot folder holds nothing for runs that never had ranks.
    """
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", job_id)[:80]
    if not job_id.startswith(_LOCAL_PREFIX):
        return os.path.join(snapshot_dir, CLAIMS_DIR, f"{readable}.json")
    where = hashlib.sha256(os.path.abspath(snapshot_dir).encode("utf-8")).hexdigest()[:16]
    return os.path.join(_private_temp(), f"{readable}-{where}.json")


def _private_temp() -> str:
    user = str(os.getuid()) if hasattr(os, "getuid") else re.sub(r"\W", "_", os.environ.get("USERNAME", "user"))
    folder = os.path.join(tempfile.gettempdir(), f"opencrate-jobs-{user}")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return folder


def _write_claim(snapshot_dir: str, job_id: str, sequence: int, result: tuple) -> None:
    path = _job_file(snapshot_dir, job_id)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
        claims = data.get("claims") if isinstance(data, dict) else None
    except (OSError, ValueError):
        claims = None
    claims = claims if isinstance(claims, dict) else {}
    if not claims:
        _prune_claims(folder)
    claims[str(sequence)] = {"number": result[0], "folder": result[1]}
    record = {"job": job_id, "host": socket.gethostname(), "pid": os.getpid(), "claims": claims}
    _atomic.write_bytes(path, json.dumps(record, separators=(",", ":")).encode("utf-8"))


def _prune_claims(folder: str) -> None:
    now = time.time()
    for entry in os.scandir(folder):
        try:
            if entry.name.endswith(".json") and now - entry.stat().st_mtime > CLAIM_MAX_AGE:
                os.unlink(entry.path)
        except OSError:
            pass


def _publish(snapshot_dir: str, job: Job, sequence: int, result: tuple) -> None:
    if job.job_id is not None:
        _write_claim(snapshot_dir, job.job_id, sequence, result)
        return
    dist = _torch_distributed()
    if dist is not None:
        dist.broadcast_object_list([[result[0], result[1]]], src=0)
    # otherwise no rank can find rank 0's claim: they raise JobIdentityError (see _wait_for_claim)


def _publish_alone(snapshot_dir: str, sequence: int, result: tuple) -> None:
    """A process alone may launch its ranks later (Lightning re-runs the script): they inherit our id."""
    own = os.environ.get(ENV_JOB_ID, "")
    mine = f"{_LOCAL_PREFIX}{socket.gethostname()}-{os.getpid()}-"
    if not own.startswith(mine):
        own = mine + secrets.token_hex(4)
        os.environ[ENV_JOB_ID] = own
    _write_claim(snapshot_dir, own, sequence, result)
    path = _job_file(snapshot_dir, own)
    if path not in _claims_to_remove:
        if not _claims_to_remove:
            atexit.register(_remove_own_claims)
        _claims_to_remove.append(path)


#: the claim files this process published alone: they serve only ranks it starts while it runs,
#: so they go when it exits (a killed process's wait for CLAIM_MAX_AGE); else one per run piles up
_claims_to_remove: list[str] = []


def _remove_own_claims() -> None:
    while _claims_to_remove:
        try:
            os.unlink(_claims_to_remove.pop())
        except OSError:
            pass


def _timeout() -> float:
    value = os.environ.get(ENV_TIMEOUT, "").strip()
    try:
        return float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        raise InvalidNameError(f"{ENV_TIMEOUT}={value!r} is not a number of seconds.") from None


def _wait_for_claim(snapshot_dir: str, job: Job, sequence: int) -> tuple[int, str]:
    name = os.path.basename(snapshot_dir)
    job_id = job.job_id
    if job_id is None:
        dist = _torch_distributed()
        if dist is not None:
            holder: list = [None]
            dist.broadcast_object_list(holder, src=0)
            return int(holder[0][0]), str(holder[0][1])
        job_id = os.environ.get(ENV_JOB_ID) or None
    if job_id is None:
        raise JobIdentityError(
            f"Rank {job.rank} of {job.world_size} ({job.launcher}) cannot tell which job it belongs to, so it "
            f"cannot join rank 0's version of {name!r}: no TORCHELASTIC_RUN_ID, SLURM_JOB_ID or {ENV_JOB_ID}, and "
            "torch.distributed is not initialised. Launch with torchrun (or pass --rdzv-id), call "
            "torch.distributed.init_process_group() before oc.snapshot.setup(), or export "
            f"{ENV_JOB_ID}=<one value per job> for every rank."
        )
    path = _job_file(snapshot_dir, job_id)
    timeout = _timeout()
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        claim = _read_claim(path, sequence)
        if claim is not None:
            return claim
        if time.monotonic() >= deadline:
            raise RankWaitTimeout(
                f"Rank {job.rank} of job {job_id!r} ({job.launcher}) waited {timeout:g} s for rank 0 to set up "
                f"snapshot {name!r} (setup number {sequence + 1} of this process): no claim appeared in {path}. "
                "Rank 0 must call oc.snapshot.setup() with the same name and root; "
                f"set {ENV_TIMEOUT} to wait longer."
            )
        time.sleep(pause)
        pause = min(pause * 1.5, 0.2)


def _read_claim(path: str, sequence: int) -> Optional[tuple[int, str]]:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
        claim = data["claims"][str(sequence)]
        return int(claim["number"]), str(claim["folder"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
