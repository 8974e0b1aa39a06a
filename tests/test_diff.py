"""Comparing versions (opencrate_nb/core/diff.py): added/removed/changed from the records,
content-level detail per kind, environment and log differences, text and HTML display."""

import base64
import html
import json
import os
import re

import numpy as np
import pytest
from _notebook_fixtures import require

import opencrate as oc
from opencrate_nb.core import diff as diff_module
from opencrate_nb.core import environment
from opencrate_nb.core.errors import InvalidNameError


def _two_versions():
    oc.snapshot.setup(name="exp", start="new")
    oc.info("epoch 1 done")
    oc.snapshot.json("metrics.json").save({"loss": 0.5, "opt": {"lr": 0.1, "beta": 0.9}, "tags": ["a"]})
    oc.snapshot.yaml("config.yaml").save({"epochs": 10, "model": {"depth": 2}})
    oc.snapshot.csv("table.csv").save([{"id": i, "score": i * 10, "old": 0} for i in range(4)])
    oc.snapshot.text("notes.txt").save("alpha\nbeta\ngamma\n")
    oc.snapshot.text("same.txt").save("unchanged")
    oc.snapshot.text("gone.txt").save("bye")
    oc.snapshot.image("plot.png").save(np.zeros((6, 8, 3), dtype=np.uint8))
    oc.snapshot.audio("tone.wav").save(np.zeros(800, dtype=np.int16), 8000)
    first = oc.snapshot.dir_path
    oc.snapshot.setup(name="exp", start="new")
    oc.warning("loss went up")
    oc.snapshot.json("metrics.json").save({"loss": 0.25, "opt": {"lr": 0.01}, "tags": ["a"], "acc": 0.9})
    oc.snapshot.yaml("config.yaml").save({"epochs": 10, "model": {"depth": 2}})
    oc.snapshot.csv("table.csv").save([{"id": i, "score": i * 10 + (i == 2), "new": 1} for i in range(5)])
    oc.snapshot.text("notes.txt").save("alpha\nBETA\ngamma\n")
    oc.snapshot.text("same.txt").save("unchanged")
    oc.snapshot.text("<b>new<i>.txt").save("hello")
    oc.snapshot.image("plot.png").save(np.full((6, 10, 3), 255, dtype=np.uint8))
    oc.snapshot.audio("tone.wav").save(np.zeros(1600, dtype=np.int16), 8000)
    return first, oc.snapshot.dir_path


@pytest.fixture
def result(workdir):
    _two_versions()
    return oc.snapshot.diff()


def test_added_removed_changed(result):
    assert result.a.folder == "v0" and result.b.folder == "v1"
    assert result.added == ["texts/<b>new<i>.txt"]
    assert result.removed == ["texts/gone.txt"]
    assert result.changed == [
        "audios/tone.wav",
        "csvs/table.csv",
        "images/plot.png",
        "jsons/metrics.json",
        "texts/notes.txt",
    ]
    assert result.unchanged == 2 and len(result) == 7 and bool(result)


def test_json_and_yaml_key_by_key(result):
    rows = result.change("metrics.json").detail.rows
    assert ("loss", 0.5, 0.25) in rows
    assert ("opt.lr", 0.1, 0.01) in rows
    assert ("- opt.beta", 0.9, "") in rows
    assert ("+ acc", "", 0.9) in rows
    assert not any(row[0] == "tags" for row in rows)
    assert "config.yaml" not in str(result)  # same content, so not listed


def test_csv_shape_columns_and_cells(result):
    rows = result.change("csvs/table.csv").detail.rows
    assert ("shape (rows x columns)", "4 x 3", "5 x 3") in rows
    assert ("columns removed", "old", "") in rows and ("columns added", "", "new") in rows
    assert ("cells changed", "", "1 of 8") in rows
    assert ("row 2, score", "20", "21") in rows


def test_text_as_a_unified_diff(result):
    lines = result.change("notes.txt").detail.lines
    assert lines[:2] == ["--- before", "+++ after"]
    assert "-beta" in lines and "+BETA" in lines


def test_images_and_audio_side_by_side(result):
    image = result.change("plot.png").detail
    assert ("width", 8, 10) in image.rows
    mime, before, after = image.media
    assert mime == "image/png" and before.startswith(b"\x89PNG") and after != before
    audio = result.change("tone.wav").detail
    assert ("frames", 800, 1600) in audio.rows and audio.media[0] == "audio/wav"
    page = result._repr_html_()
    images = re.findall(r"<img src='data:image/png;base64,([^']+)'", page)
    assert [base64.b64decode(d) for d in images] == [before, after]
    assert page.count("<audio controls") == 2


def test_checkpoint_keys_and_tensor_shapes(workdir):
    torch = require("torch", "checkpoint diffs")
    oc.snapshot.setup(name="ckpt")
    oc.snapshot.checkpoint("model.pt").save({"epoch": 1, "fc.weight": torch.zeros(4, 3), "old": torch.ones(2)})
    oc.snapshot.setup(name="ckpt", start="new")
    oc.snapshot.checkpoint("model.pt").save({"epoch": 2, "fc.weight": torch.zeros(4, 5), "bias": torch.ones(4)})
    rows = oc.snapshot.diff(0, 1).change("model.pt").detail.rows
    assert ("tensor fc.weight", "[4, 3] float32", "[4, 5] float32") in rows
    assert ("+ tensor bias", "", "[4] float32") in rows and ("- tensor old", "[2] float32", "") in rows
    assert ("- key old", "present", "") in rows and ("epoch", 1, 2) in rows
    oc.snapshot.setup(name="ckpt", start="new")
    oc.snapshot.checkpoint("model.pt").save({"epoch": 2, "fc.weight": torch.ones(4, 5), "bias": torch.ones(4)})
    same_shapes = oc.snapshot.diff(1, 2).change("model.pt").detail
    assert same_shapes.rows == [] and "tensor values differ" in same_shapes.note


def test_log_and_environment_differences(result):
    log = result.log
    assert ("INFO lines", 1, 0) in log.rows and ("WARNING lines", 0, 1) in log.rows
    assert "-INFO     epoch 1 done" in log.lines and "+WARNING  loss went up" in log.lines
    environment.wait()
    path = environment.env_path(result.a.dir_path)
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    data["runs"][-1]["python"] = "3.0.0"
    data["runs"][-1]["packages"]["numpy"] = "0.1"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    fresh = oc.snapshot.diff(0, 1)
    fields = {field: (a, b) for field, a, b in fresh.environment}
    assert fields["python"][0] == "3.0.0" and fields["packages.numpy"][0] == "0.1"
    assert "run environment:" in str(fresh) and "python: 3.0.0 ->" in str(fresh)


def test_text_display(result):
    text = str(result)
    assert text.splitlines()[0] == "diff exp/v0 -> exp/v1: 1 added, 1 removed, 5 changed, 2 unchanged"
    assert "  + texts/<b>new<i>.txt  (5 B)" in text
    assert "  - texts/gone.txt  (3 B)" in text
    assert "      loss: 0.5 -> 0.25" in text
    assert repr(result) == "<Diff exp/v0 -> exp/v1: +1 -1 ~5>"


def test_html_escapes_every_name(result):
    page = result._repr_html_()
    assert "<b>new<i>" not in page
    assert html.escape("texts/<b>new<i>.txt") in page
    assert page.startswith("<div class='opencrate-diff'>") and page.endswith("</div>")


def test_json_form(result):
    data = json.loads(json.dumps(result.to_dict()))
    assert [item["path"] for item in data["added"]] == result.added
    metrics = next(c for c in data["changed"] if c["path"] == "jsons/metrics.json")
    assert ["loss", 0.5, 0.25] in metrics["detail"]["rows"]


def test_hashes_come_from_the_records(workdir):
    """A file changed behind the record's back is not re-hashed by diff (verify finds it)."""
    first, _ = _two_versions()
    with open(os.path.join(first, "texts", "same.txt"), "w") as f:
        f.write("tampered")
    assert "texts/same.txt" not in oc.snapshot.diff(0, 1).changed


def test_naming_versions(workdir):
    first, second = _two_versions()
    assert oc.snapshot.diff("v0").a.folder == "v0"
    assert oc.snapshot.diff(1, 0).added == ["texts/gone.txt"]
    oc.snapshot.setup(name="other", tag="solo")
    oc.snapshot.text("notes.txt").save("alpha\nbeta\ngamma\n")
    across = oc.snapshot.diff("exp/v0", "solo")
    assert across.a.label == "exp/v0" and across.b.label == "other/v0:solo"
    assert "texts/notes.txt" not in across.changed and "texts/same.txt" in across.removed
    with pytest.raises(InvalidNameError, match="is the first version of 'other'"):
        oc.snapshot.diff()
    with pytest.raises(KeyError, match="did not change"):
        across.change("nothing.txt")


def test_without_a_snapshot_two_versions_are_needed(workdir):
    _two_versions()
    from opencrate_nb.core.snapshot import snapshot

    snapshot._state = None
    with pytest.raises(InvalidNameError, match="diff needs two versions"):
        diff_module.diff("exp/v0")
    assert diff_module.diff("exp/v0", "exp/v1").changed


def test_many_changes_compare_only_the_first_ones(workdir, monkeypatch):
    monkeypatch.setattr(diff_module, "MAX_DETAILED", 2)
    oc.snapshot.setup(name="many")
    for n in range(4):
        oc.snapshot.json(f"m{n}.json").save({"n": n})
    oc.snapshot.setup(name="many", start="new")
    for n in range(4):
        oc.snapshot.json(f"m{n}.json").save({"n": -n - 1})
    text = str(oc.snapshot.diff())
    assert text.count("      n: ") == 2 and "content compared for the first 2 changed artifacts" in text


def test_ipython_displays_it(result):
    """What a notebook (and %crate diff) gets from IPython's display machinery for the result."""
    from IPython.core.formatters import DisplayFormatter
    from IPython.lib.pretty import pretty

    formatter = DisplayFormatter()
    formatter.active_types = ["text/plain", "text/html"]
    data, _ = formatter.format(result)
    assert data["text/html"] == result._repr_html_()
    assert data["text/plain"] == str(result) == pretty(result)


def test_a_number_shared_by_a_tagged_and_an_untagged_version_is_not_picked_silently(workdir):
    """The trap of issue 13: ``v0:try`` holds the run, an empty ``v0`` came later; ``diff(0, 1)`` must ask."""
    from opencrate_nb.core.refs import VersionNotFoundError

    oc.snapshot.setup(name="demo", tag="try")
    oc.snapshot.json("metrics.json").save({"loss": 0.5})
    oc.snapshot.setup(name="demo", start=0)  # an untagged v0 next to v0:try
    oc.snapshot.setup(name="demo", start="new")
    oc.snapshot.json("metrics.json").save({"loss": 0.4})
    with pytest.raises(VersionNotFoundError, match=r"Version 0 of 'demo' is ambiguous.*'v0' or 'v0:try'"):
        oc.snapshot.diff(0, 1)
    assert oc.snapshot.diff("v0:try", 1).changed == ["jsons/metrics.json"]
    assert oc.snapshot.diff("v0", 1).added == ["jsons/metrics.json"]


def test_every_html_cell_is_aligned_left_by_its_own_style(result):
    """Notebook front ends right-align table cells and a stored notebook's viewer drops <style>."""
    page = result._repr_html_()
    cells = re.findall(r"<t[dh][ >][^>]*>", page)
    assert cells and all("text-align:left" in cell for cell in cells), [c for c in cells if "text-align" not in c]
