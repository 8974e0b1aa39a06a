"""core/distributed.py: every rank of one job shares one version; only rank 0 writes unless ranks="all".

Real launches: torchrun with two CPU ranks (gloo) training a small DDP model, and SLURM's
environment set in processes started at the same moment. Each rank writes what it reports to
a file of its own (ranks share one stdout, where their lines can interleave).
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest
from _notebook_fixtures import REPO, skip_or_fail

from opencrate_nb.core import distributed
from opencrate_nb.core.errors import InvalidNameError

DDP_SCRIPT = """
import json, os
import torch
import torch.distributed as dist
import opencrate as oc

dist.init_process_group("gloo")
oc.snapshot.setup(name="ddp", start="new", ranks=os.environ["OC_RANKS"])
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    loss = model(torch.randn(8, 4)).pow(2).mean()
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    oc.info(f"epoch {epoch} rank {oc.snapshot.rank}")
    oc.snapshot.json("metrics").save({"epoch": epoch, "loss": loss.item()})
    oc.snapshot.checkpoint(f"epoch_{epoch}.pt").save(model.module.state_dict())
dist.barrier()
report = {"rank": oc.snapshot.rank, "is_main": oc.snapshot.is_main, "version": oc.snapshot.version_name,
          "log": os.path.basename(oc.snapshot.log_path)}
with open(os.path.join(os.environ["OC_REPORT"], f"rank{dist.get_rank()}.json"), "w") as f:
    json.dump(report, f)
dist.destroy_process_group()
"""

# a rank of a SLURM job: the same script in every task, told apart only by SLURM_PROCID
SLURM_SCRIPT = """
import json, os, sys
import opencrate as oc

oc.snapshot.setup(name="slurm", start="new", log_level=os.environ.get("OC_LEVEL", "info"))
oc.info(f"task {os.environ['SLURM_PROCID']}")
oc.snapshot.json("seen").save({"task": os.environ["SLURM_PROCID"]})
report = {"rank": oc.snapshot.rank, "version": oc.snapshot.version_name, "torch": "torch" in sys.modules}
with open(os.environ["OC_REPORT"], "w") as f:
    json.dump(report, f)
"""


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "TORCHELASTIC_", "OPENCRATE_JOB"))}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "NODE_RANK"):
        env.pop(key, None)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _reports(folder):
    return {name: json.loads((folder / name).read_text()) for name in sorted(os.listdir(folder))}


def _torchrun():
    found = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if found is None:
        skip_or_fail("torchrun is not installed (the [torch] extra), so real two-rank jobs cannot run here")
    return found


def test_two_torchrun_jobs_at_once_each_make_one_version(tmp_path):
    torchrun = _torchrun()
    torch = pytest.importorskip("torch")
    script = tmp_path / "train.py"
    script.write_text(DDP_SCRIPT)
    devnull = os.stat(os.devnull)
    jobs = {}
    for ranks in ("main", "all"):
        report = tmp_path / f"reports-{ranks}"
        report.mkdir()
        command = [torchrun, "--nproc_per_node=2", "--standalone", str(script)]
        env = _env(OC_RANKS=ranks, OC_REPORT=str(report), OMP_NUM_THREADS="1")
        jobs[ranks] = (subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True), report)
    for ranks, (process, _) in jobs.items():
        _, err = process.communicate(timeout=240)
        assert process.returncode == 0, f"torchrun job (ranks={ranks}) failed:\n{err}"

    versions = {}
    for ranks, (_, report) in jobs.items():
        reports = _reports(report)
        assert [r["rank"] for r in reports.values()] == [0, 1]
        assert [r["is_main"] for r in reports.values()] == [True, False]
        assert len({r["version"] for r in reports.values()}) == 1, reports  # both ranks: one version
        versions[ranks] = reports["rank0.json"]["version"]
        assert [r["log"] for r in reports.values()] == ["ddp.log", "ddp.rank1.log" if ranks == "all" else "ddp.log"]
    assert sorted(versions.values()) == ["v0", "v1"]  # two jobs, two versions
    assert sorted(os.listdir(tmp_path / "snapshots" / "ddp")) == [".crate.jobs", ".crate.lock", "v0", "v1"]

    main = tmp_path / "snapshots" / "ddp" / versions["main"]
    log = (main / "ddp.log").read_text()
    assert "epoch 0 rank 0" in log and "epoch 1 rank 0" in log and "rank 1" not in log
    assert sorted(p.name for p in main.glob("*.log")) == ["ddp.log"]  # rank 1 wrote no log
    now = os.stat(os.devnull)  # nor anywhere else: its run log is no file (not os.devnull, which a run replaced)
    assert stat.S_ISCHR(now.st_mode) and now.st_ino == devnull.st_ino, "a rank without a log replaced os.devnull"
    records = [json.loads(line) for line in (main / ".crate" / "record.jsonl").read_text().splitlines()]
    assert [r["path"] for r in records].count("jsons/metrics.json") == 2  # rank 0's saves only
    assert json.loads((main / "jsons" / "metrics.json").read_text())["epoch"] == 1
    for epoch in (0, 1):
        state = torch.load(main / "checkpoints" / f"epoch_{epoch}.pt", weights_only=True)
        assert set(state) == {"weight", "bias"}
    assert (main / ".crate" / "env.json").is_file()

    every = tmp_path / "snapshots" / "ddp" / versions["all"]
    assert "epoch 1 rank 0" in (every / "ddp.log").read_text()
    rank1 = (every / "ddp.rank1.log").read_text()
    assert "epoch 0 rank 1" in rank1 and "epoch 1 rank 1" in rank1 and "rank 0" not in rank1
    records = [json.loads(line) for line in (every / ".crate" / "record.jsonl").read_text().splitlines()]
    assert [r["path"] for r in records].count("jsons/metrics.json") == 4  # both ranks saved


def _slurm_task(tmp_path, job, task, report, ntasks=2, **extra):
    env = _env(SLURM_JOB_ID=job, SLURM_PROCID=str(task), SLURM_NTASKS=str(ntasks), OC_REPORT=str(report), **extra)
    script = tmp_path / "slurm_task.py"
    if not script.exists():
        script.write_text(SLURM_SCRIPT)
    return subprocess.Popen(
        [sys.executable, str(script)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_simulated_slurm_jobs_started_together_get_one_version_each(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    # rank 1 of each job starts first: it must wait for its own job's rank 0, not take another job's version
    tasks = [(job, task) for task in (1, 0) for job in ("1001", "1002")]
    processes = [
        _slurm_task(
            tmp_path,
            job,
            task,
            reports / f"{job}-{task}.json",
            OC_LEVEL="debug" if (job, task) == ("1001", 1) else "info",
        )
        for job, task in tasks
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outputs.append(out)
    # rank 1 skips its save with a debug line (shown at log_level="debug"); at "info" it prints only warnings
    assert "DEBUG     rank 1: skipped save of 'seen.json' (only rank 0 writes" in outputs[0]
    assert outputs[1] == "" and "task 0" in outputs[3]
    found = _reports(reports)
    for job in ("1001", "1002"):
        assert found[f"{job}-0.json"]["version"] == found[f"{job}-1.json"]["version"]
        assert [found[f"{job}-{t}.json"]["rank"] for t in (0, 1)] == [0, 1]
    assert {found["1001-0.json"]["version"], found["1002-0.json"]["version"]} == {"v0", "v1"}
    assert not any(r["torch"] for r in found.values())  # rank detection never imports torch
    for version in ("v0", "v1"):
        folder = tmp_path / "snapshots" / "slurm" / version
        log = (folder / "slurm.log").read_text()
        assert "task 0" in log and "task 1" not in log
        assert json.loads((folder / "jsons" / "seen.json").read_text()) == {"task": "0"}


def test_a_rank_whose_rank_0_never_comes_names_what_it_waited_for(tmp_path):
    report = tmp_path / "report.json"
    process = _slurm_task(tmp_path, "77", 1, report, OPENCRATE_RANK_TIMEOUT="0.5")
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0 and not report.exists()
    assert "RankWaitTimeout" in err and "Rank 1 of job 'slurm-77-s-r0' (slurm) waited 0.5 s" in err
    assert "snapshot 'slurm'" in err and "OPENCRATE_RANK_TIMEOUT" in err
    assert not os.path.exists(tmp_path / "snapshots" / "slurm" / "v0")  # nothing claimed, nothing written


def test_a_rank_with_no_job_identity_refuses_with_the_fix(run_python, tmp_path):
    result = run_python(
        "import opencrate as oc\noc.snapshot.setup(name='lost')",
        # no job id of its own either (a setup earlier in this test process exported one for its children)
        env={"RANK": "1", "WORLD_SIZE": "2", "TORCHELASTIC_RUN_ID": "none", "OPENCRATE_JOB_ID": ""},
        check=False,
    )
    assert result.returncode != 0
    assert "JobIdentityError" in result.stderr and "cannot tell which job it belongs to" in result.stderr
    assert "--rdzv-id" in result.stderr and "OPENCRATE_JOB_ID" in result.stderr


def test_ranks_a_launcher_starts_later_join_the_version_its_parent_set_up(run_python, tmp_path):
    # Lightning's own launcher: the script runs alone, sets up, then starts itself again with LOCAL_RANK set
    code = textwrap.dedent(
        """
        import os, subprocess, sys
        import opencrate as oc
        oc.snapshot.setup(name="lit", start="new")
        oc.snapshot.setup(name="lit", start="new")
        child = '''
        import opencrate as oc
        oc.snapshot.setup(name="lit", start="new")
        oc.snapshot.setup(name="lit", start="new")
        print(oc.snapshot.rank, oc.snapshot.version_name, oc.snapshot.is_main)
        '''
        env = dict(os.environ, LOCAL_RANK="1", NODE_RANK="0", WORLD_SIZE="2")
        out = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True, check=True).stdout
        print(oc.snapshot.version_name, out.strip())
        """
    )
    result = run_python(code, env={"PYTHONPATH": REPO})
    assert result.stdout.strip() == "v1 1 v1 False"
    assert sorted(os.listdir(tmp_path / "snapshots" / "lit")) == [".crate.lock", "v0", "v1"]  # nothing for ranks


def test_a_process_alone_is_rank_0_and_writes(oc, monkeypatch):
    assert distributed.detect() is None
    assert oc.snapshot.rank == 0 and oc.snapshot.is_main
    oc.snapshot.setup(name="solo")
    oc.snapshot.text("a.txt").save("x")
    assert oc.snapshot.text("a.txt").load() == "x"


def test_environment_variables_of_each_launcher_give_rank_and_world(monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS", "TORCHELASTIC_RUN_ID"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SLURM_PROCID", "3")
    monkeypatch.setenv("SLURM_NTASKS", "4")
    monkeypatch.setenv("SLURM_JOB_ID", "55")
    job = distributed.detect()
    assert (job.rank, job.world_size, job.launcher, job.job_id) == (3, 4, "slurm", "slurm-55-s-r0")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "abc")
    job = distributed.detect()
    assert (job.rank, job.world_size, job.job_id) == (1, 2, "torchrun-abc-r0")  # torchrun's id before SLURM's
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "none")  # as public environment dumps show it: no id
    assert distributed.detect().job_id == "slurm-55-s-r0"
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert distributed.detect() is None  # one process is no job


def test_ranks_is_checked_before_anything_is_written(oc, tmp_path):
    with pytest.raises(InvalidNameError, match="ranks='every'.*'main'.*'all'"):
        oc.snapshot.setup(name="x", ranks="every")
    assert not (tmp_path / "snapshots").exists()


def test_a_process_alone_leaves_no_claim_behind_when_it_exits(run_python, tmp_path):
    """Its claims serve only ranks it starts while it runs: one file per run must not pile up."""
    code = textwrap.dedent(
        """
        import os
        import opencrate as oc
        from opencrate_nb.core import distributed
        oc.snapshot.setup(name="alone", start="new")
        oc.snapshot.setup(name="again", start="new")
        claims = [distributed._job_file(os.path.abspath(f"snapshots/{n}"), os.environ["OPENCRATE_JOB_ID"])
                  for n in ("alone", "again")]
        print(all(os.path.exists(c) for c in claims))
        print("\\n".join(claims))
        """
    )
    result = run_python(code, env={"PYTHONPATH": REPO})
    existed, *claims = result.stdout.split("\n")
    assert existed == "True" and len([c for c in claims if c]) == 2
    assert not any(os.path.exists(c) for c in claims if c)
