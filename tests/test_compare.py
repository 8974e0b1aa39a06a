"""Comparing every version of a snapshot name (opencrate_nb/core/compare.py): one row per version,
run facts, config keys and metrics in separate column groups, only what differs, ignore patterns,
the rules for configs and metrics and their overrides, sorting, and the caches."""

import json
import os

import pandas as pd
import pytest

import opencrate as oc
from opencrate_nb.core import compare as compare_module
from opencrate_nb.core import environment
from opencrate_nb.core.errors import InvalidNameError
from opencrate_nb.core.refs import VersionNotFoundError


def _sweep(rates=(0.1, 0.01, 0.001)):
    """One version per learning rate: a YAML config, a metrics JSON and a CSV history each."""
    for lr in rates:
        oc.snapshot.setup(name="sweep", start="new", tag=f"lr{lr}")
        oc.snapshot.yaml("config.yaml").save({"lr": lr, "model": {"depth": 2, "act": "relu"}, "seed": 7})
        oc.snapshot.json("metrics.json").save({"acc": round(0.5 + lr, 4), "loss": 1 - lr, "best": True, "note": "x"})
        history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.9, 0.8, 0.7 - lr], "phase": ["a", "b", "c"]})
        oc.snapshot.csv("history.csv").save(history, index=False)
    environment.wait()


def test_one_row_per_version_and_three_groups_of_columns(workdir):
    _sweep()
    frame = oc.snapshot.compare()
    assert list(frame.index) == ["v0:lr0.1", "v1:lr0.01", "v2:lr0.001"]
    assert frame.index.name == "version" and frame.columns.names == ["group", "key"]
    assert list(frame["run"].columns) == ["number", "tag", "created", "duration", "git", "artifacts"]
    assert list(frame["config"].columns) == ["config.lr"]
    assert list(frame["metric"].columns) == ["history.loss", "metrics.acc", "metrics.loss"]
    assert frame["config", "config.lr"].tolist() == [0.1, 0.01, 0.001]
    assert frame["metric", "metrics.acc"].tolist() == [0.6, 0.51, 0.501]
    assert frame["metric", "history.loss"].tolist() == pytest.approx([0.6, 0.69, 0.699])
    assert frame["run", "tag"].tolist() == ["lr0.1", "lr0.01", "lr0.001"]
    assert frame["run", "artifacts"].tolist() == [3, 3, 3]
    first_run = environment.runs(os.path.join("snapshots", "sweep", "v0:lr0.1"))[0]
    assert frame["run", "created"].iloc[0] == pd.Timestamp(first_run["start"])
    assert (frame["run", "duration"] >= 0).all()
    assert frame.attrs["hidden_columns"] == 4  # model.depth, model.act, seed, history.epoch


def test_only_diff_false_shows_every_column_and_numbers_only_among_metrics(workdir):
    _sweep()
    frame = oc.snapshot.compare(only_diff=False)
    assert list(frame["config"].columns) == ["config.lr", "config.model.act", "config.model.depth", "config.seed"]
    # strings and booleans are not metrics; a CSV gives the last value of its numeric columns
    assert list(frame["metric"].columns) == ["history.epoch", "history.loss", "metrics.acc", "metrics.loss"]
    assert frame["metric", "history.epoch"].tolist() == [3, 3, 3]
    assert frame["config", "config.model.act"].tolist() == ["relu"] * 3


def test_a_single_version_shows_every_column(workdir):
    _sweep(rates=(0.1,))
    assert "config.seed" in oc.snapshot.compare()["config"].columns


def test_ignore_takes_glob_patterns_of_column_names(workdir):
    _sweep()
    frame = oc.snapshot.compare(only_diff=False, ignore=["*.seed", "history.*", "git"])
    assert "config.seed" not in frame["config"].columns and "config.lr" in frame["config"].columns
    assert list(frame["metric"].columns) == ["metrics.acc", "metrics.loss"]
    assert "git" not in frame["run"].columns
    assert list(oc.snapshot.compare(ignore="config.*").columns.get_level_values("group").unique()) == ["run", "metric"]


def test_a_version_missing_a_key_differs_from_the_others(workdir):
    _sweep(rates=(0.1, 0.01))
    oc.snapshot.setup(name="sweep", start="new")
    oc.snapshot.yaml("config.yaml").save({"lr": 0.01, "model": {"depth": 2, "act": "relu"}, "seed": 7, "extra": 1})
    frame = oc.snapshot.compare()
    assert frame["config", "config.extra"].isna().tolist() == [True, True, False]
    assert frame["config", "config.extra"].iloc[2] == 1
    assert pd.isna(frame.loc["v2", ("run", "tag")])


def test_what_is_a_config_by_name_or_folder_and_the_rules_can_be_replaced(workdir):
    oc.snapshot.setup(name="rules")
    oc.snapshot.json("train_params.json").save({"batch": 32})
    oc.snapshot.yaml("settings.yml").save({"device": "cpu"})
    oc.snapshot.json("scores.json").save({"f1": 0.7, "nested": {"auc": 0.8}, "per_class": [0.1, 0.2]})
    oc.snapshot.text("config.txt").save("a text file is neither")
    frame = oc.snapshot.compare()
    assert list(frame["config"].columns) == ["settings.device", "train_params.batch"]
    assert list(frame["metric"].columns) == ["scores.f1", "scores.nested.auc"]
    # per call: only scores.json is a config, nothing is a metric
    custom = oc.snapshot.compare(configs="*/scores.json", metrics=[])
    assert list(custom.columns.get_level_values("group").unique()) == ["run", "config"]
    assert "scores.per_class" in custom["config"].columns
    assert custom["config", "scores.per_class"].iloc[0] == [0.1, 0.2]
    with pytest.raises(InvalidNameError, match="glob patterns"):
        oc.snapshot.compare(metrics=[3])


def test_choosing_versions_and_naming_them_unambiguously(workdir):
    oc.snapshot.setup(name="other")
    _sweep()
    assert list(oc.snapshot.compare(versions=[2, "lr0.1"]).index) == ["v2:lr0.001", "v0:lr0.1"]
    os.makedirs(os.path.join("snapshots", "sweep", "v1"))  # an untagged v1 next to v1:lr0.01
    with pytest.raises(VersionNotFoundError, match="'v1' or 'v1:lr0.01'"):
        oc.snapshot.compare(versions=[0, 1])
    with pytest.raises(VersionNotFoundError, match="No snapshot named 'nope'"):
        oc.snapshot.compare("nope")
    with pytest.raises(InvalidNameError, match="compare versions of 'sweep' only"):
        oc.snapshot.compare(versions=["other/v0"])


def test_without_a_snapshot_set_up_the_name_is_needed(workdir):
    _sweep(rates=(0.1,))
    from opencrate_nb.core.snapshot import snapshot

    snapshot._state = None
    with pytest.raises(InvalidNameError, match="Which snapshot"):
        compare_module.table()
    assert compare_module.table("sweep").name == "sweep"
    with pytest.raises(InvalidNameError, match="Invalid snapshot name"):
        compare_module.table("../elsewhere")


def test_sorting_by_a_column_with_missing_values_last(workdir):
    _sweep()
    oc.snapshot.setup(name="sweep", start="new", tag="crashed")
    oc.snapshot.yaml("config.yaml").save({"lr": 1.0, "model": {"depth": 2, "act": "relu"}, "seed": 7})
    by_acc = compare_module.table("sweep", sort="acc")
    assert [r.folder for r in by_acc.versions] == ["v2:lr0.001", "v1:lr0.01", "v0:lr0.1", "v3:crashed"]
    down = compare_module.table("sweep", sort="-metrics.acc")
    assert [r.folder for r in down.versions] == ["v0:lr0.1", "v1:lr0.01", "v2:lr0.001", "v3:crashed"]
    with pytest.raises(KeyError, match="ambiguous: history.loss, metrics.loss"):
        compare_module.table("sweep", sort="loss")
    with pytest.raises(KeyError, match="No column 'nope'"):
        compare_module.table("sweep", sort="nope")


def test_text_markdown_csv_and_json_forms(workdir):
    _sweep(rates=(0.1, 0.01))
    oc.snapshot.setup(name="sweep", start="new", tag="pipe")
    oc.snapshot.yaml("config.yaml").save({"lr": "a|b", "model": {"depth": 2, "act": "relu"}, "seed": 7})
    result = compare_module.table("sweep")
    text = result.to_text().splitlines()
    # the third version has no metrics: they differ there, as history.epoch does
    assert text[0] == "compare sweep: 3 versions, 5 differing columns (3 identical in every version hidden)"
    assert text[1].split() == [
        "version", "number", "tag", "created", "duration", "git", "artifacts",
        "config.lr", "history.epoch", "history.loss", "metrics.acc", "metrics.loss",
    ]  # fmt: skip
    markdown = result.to_markdown().splitlines()
    assert markdown[1] == "|" + "---|" * 12 and "a\\|b" in markdown[-1]
    rows = result.to_csv().splitlines()
    assert rows[0].startswith("version,number,tag,created") and rows[1].startswith("v0:lr0.1,0,lr0.1,")
    data = json.loads(json.dumps(result.to_dict()))
    assert [c["group"] for c in data["columns"]][6:] == ["config", "metric", "metric", "metric", "metric"]
    created = data["rows"][0]["cells"][2]
    assert created["value"].startswith("20") and len(created["text"]) == len("2026-12-01 08:22:22")
    assert data["rows"][2]["cells"][-1] == {"value": None, "text": ""}
    assert data["hidden"] == 3 and data["rows"][1]["path"] == "sweep/v1:lr0.01"


def test_long_values_are_cut_in_the_text_table_only(workdir):
    oc.snapshot.setup(name="wide")
    oc.snapshot.json("config.json").save({"layers": list(range(40))})
    result = compare_module.table("wide")
    [row] = result.to_text().splitlines()[2:]
    assert row.endswith("[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, \u2026")
    assert result.to_dict()["rows"][0]["cells"][-1]["value"] == list(range(40))


@pytest.mark.parametrize(
    "value",
    [{"a": 1, "b": {"c": [1, 2], "d": {}}, "e": [{"f": 1}], "g": None}, [1, {"x": 2}], {}, 3, "text"],
)
def test_keys_are_flattened_by_the_rule_diff_uses(value):
    from opencrate_nb.core.handlers._compare import flatten

    assert compare_module._flat(value, "config") == flatten(value, "config")


def test_durations_read_as_people_say_them():
    assert [compare_module.duration_text(s) for s in (2.5, 42, 185, 7800)] == [
        "2.5 s",
        "42 s",
        "3 min 5 s",
        "2 h 10 min",
    ]


def test_values_are_parsed_once_per_content_and_rows_once_per_record(workdir, monkeypatch):
    parsed = []
    real_parse = compare_module._parse
    monkeypatch.setattr(compare_module, "_parse", lambda *args: parsed.append(args[0]) or real_parse(*args))
    for number in range(3):
        oc.snapshot.setup(name="same", start="new")
        oc.snapshot.json("config.json").save({"shared": True})  # one content, three versions
        oc.snapshot.json("metrics.json").save({"step": number})
    environment.wait()
    compare_module.table("same")
    assert sorted(os.path.basename(p) for p in parsed) == [
        "config.json",
        "metrics.json",
        "metrics.json",
        "metrics.json",
    ]
    parsed.clear()
    assert compare_module.table("same").values(compare_module.table("same").column("step")) == [0, 1, 2]
    assert parsed == []  # nothing changed: no file read again
    oc.snapshot.json("metrics.json").save({"step": 9})  # a new save appends to the record of v2
    assert compare_module.table("same").values(compare_module.table("same").column("step")) == [0, 1, 9]
    assert [os.path.basename(p) for p in parsed] == ["metrics.json"]


def test_unreadable_artifacts_become_notes(workdir):
    oc.snapshot.setup(name="broken")
    oc.snapshot.json("metrics.json").save({"loss": 1})
    with open(os.path.join(oc.snapshot.dir_path, "jsons", "metrics.json"), "w") as f:
        f.write("{torn")
    compare_module._values.clear()
    result = compare_module.table("broken")
    [note] = result.notes
    assert note.startswith("v0: jsons/metrics.json: could not be parsed (Expecting property name")
    assert "note: v0: jsons/metrics.json: could not be parsed" in result.to_text()
