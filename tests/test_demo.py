"""opencrate_nb/demo.py: the README's main job, ``python -m opencrate_nb.demo``."""

import os
import re
import subprocess
import sys

from _notebook_fixtures import REPO


def test_demo_makes_a_snapshot_with_every_kind_and_prints_its_tree(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO, MPLBACKEND="Agg")
    out = subprocess.run(
        [sys.executable, "-m", "opencrate_nb.demo", "--root", "runs"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    version = tmp_path / "runs" / "demo" / "v0:quickstart"
    assert out.splitlines()[0] == "INFO      Demo run v0:quickstart in runs/demo/v0:quickstart"
    assert re.search(r"\nv0:quickstart \(\d{4}-\d\d-\d\d \d\d:\d\d, [\d.]+ KB\)\n├── audios \(", out)
    for folder, name in [
        ("yamls", "config.yaml"),
        ("csvs", "history.csv"),
        ("jsons", "metrics.json"),
        ("images", "loss_curve.png"),
        ("gifs", "orbit.gif"),
        ("audios", "tone.wav"),
        ("texts", "notes.txt"),
        ("checkpoints", "model.pt"),
        ("checkpoints", "model.backup_final.pt"),
    ]:
        assert (version / folder / name).is_file(), (folder, name)
        assert f"{name} (" in out  # the tree shows times and sizes
    assert (version / "demo.log").read_text().count(" - SUCCESS  Saved ") == 1


def test_demo_ends_with_the_three_next_things_to_try(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO, MPLBACKEND="Agg")
    run = subprocess.run(
        [sys.executable, "-m", "opencrate_nb.demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    tail = run.stdout.rstrip().splitlines()[-4:]
    assert tail[0] == "Next, try:"
    assert "jupyter lab" in tail[1] and "OpenCrate snapshots" in tail[1]
    assert "%load_ext opencrate" in tail[2]
    assert "crate ls" in tail[3] and "--root" not in tail[3]
    for command in (["ls"], ["show", "demo", "-1", "metrics.json"]):  # what step 3 says works as printed
        shown = subprocess.run(
            [sys.executable, "-m", "opencrate_nb.cli", *command], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert shown.returncode == 0 and "demo" in shown.stdout, shown.stderr


def test_next_steps_name_the_root_given():
    from opencrate_nb.demo import next_steps

    text = next_steps("runs")
    assert "jupyter lab --OpenCrate.snapshot_root=runs" in text and "crate ls --root runs" in text
