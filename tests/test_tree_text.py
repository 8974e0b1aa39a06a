"""core/tree_text.py: the catalog tree as readable text (``oc.browse()`` where no widget is drawn)."""

import re

from opencrate_nb.core import catalog, tree_text


def test_an_empty_root_says_how_to_start(tmp_path):
    text = tree_text.render(catalog.tree(str(tmp_path / "snapshots")), title="snapshots")
    assert text == "snapshots: no snapshots yet (oc.snapshot.setup(name=...) creates one)"


def test_snapshots_versions_kinds_artifacts_and_logs_with_their_rendered_facts(oc):
    oc.snapshot.setup(name="mnist", tag="baseline")
    oc.snapshot.json("metrics.json").save({"accuracy": 0.91})
    oc.snapshot.json("metrics.json").backup(tag="best")
    oc.snapshot.text("notes.txt").save("first run")
    oc.snapshot.setup(name="mnist", start="new")
    lines = tree_text.render(catalog.tree("snapshots"), title="snapshots").splitlines()
    time = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    expected = [
        r"snapshots  \(1 snapshot\)",
        r"└── mnist  \(2 versions\)",
        rf"    ├── v0:baseline  2 artifacts · [\d.]+ (B|KB) · {time}",
        r"    │   ├── jsons  \(json · 1 artifact\)",
        rf"    │   │   └── metrics.json  \d+ B · {time} · 1 backup · dict with 1 key",
        r"    │   ├── texts  \(text · 1 artifact\)",
        rf"    │   │   └── notes.txt  9 B · {time} · 1 line",
        r"    │   └── mnist.log  \d+ B",
        rf"    └── v1  0 artifacts · [\d.]+ B · {time}",
        r"        └── mnist.log  \d+ B",
    ]
    assert len(lines) == len(expected), lines
    for line, pattern in zip(lines, expected):
        assert re.fullmatch(pattern, line), (line, pattern)
