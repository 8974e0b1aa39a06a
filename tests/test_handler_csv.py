"""core/handlers/_csv.py: tables as CSV."""

import os

import numpy as np
import pandas as pd
import pytest


def test_dataframe_with_index_false_like_the_guide(snap):
    artifact = snap.csv("sample_data.csv")
    artifact.save(pd.DataFrame({"col_a": [100, 200], "col_b": [300, 400]}), index=False)
    assert open(artifact.path).read() == "col_a,col_b\n100,300\n200,400\n"
    loaded = artifact.load()
    assert str(loaded) == "   col_a  col_b\n0    100    300\n1    200    400"


def test_index_is_written_only_when_it_carries_information(snap):
    snap.csv("plain.csv").save(pd.DataFrame({"a": [1, 2]}))
    assert open(snap.csv("plain.csv").path).read() == "a\n1\n2\n"
    snap.csv("named.csv").save(pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", "y"], name="key")))
    assert open(snap.csv("named.csv").path).read() == "key,a\nx,1\ny,2\n"
    snap.csv("forced.csv").save(pd.DataFrame({"a": [1]}), index=True)
    assert open(snap.csv("forced.csv").path).read() == ",a\n0,1\n"


def test_load_with_each_lib(snap):
    artifact = snap.csv("t.csv")
    artifact.save(pd.DataFrame({"x": [1.5, 2.5], "y": [3.0, 4.0]}))
    assert artifact.load(lib="csv") == [["x", "y"], ["1.5", "3.0"], ["2.5", "4.0"]]
    array = artifact.load(lib="numpy")
    assert array.shape == (2, 2) and array[1, 0] == 2.5
    assert list(artifact.load(lib="pandas").columns) == ["x", "y"]
    with pytest.raises(ValueError, match="'pandas', 'csv' or 'numpy'"):
        artifact.load(lib="polars")


def test_numpy_arrays_lists_of_rows_dicts_and_series(snap):
    snap.csv("a.csv").save(np.array([[1, 2], [3, 4]]))
    assert open(snap.csv("a.csv").path).read() == "1,2\n3,4\n"
    assert snap.csv("a.csv").load(lib="numpy").tolist() == [[1.0, 2.0], [3.0, 4.0]]  # no header detected
    snap.csv("v.csv").save(np.array([1, 2, 3]))
    assert open(snap.csv("v.csv").path).read() == "1\n2\n3\n"
    snap.csv("rows.csv").save([["name", "score"], ["a", 1]])
    assert snap.csv("rows.csv").load(lib="csv") == [["name", "score"], ["a", "1"]]
    snap.csv("dicts.csv").save([{"a": 1}, {"a": 2, "b": 3}])
    assert open(snap.csv("dicts.csv").path).read() == "a,b\n1,\n2,3\n"
    snap.csv("cols.csv").save({"a": [1, 2], "b": [3, 4]})
    assert snap.csv("cols.csv").load().to_dict("list") == {"a": [1, 2], "b": [3, 4]}
    snap.csv("s.csv").save(pd.Series([5, 6], name="s"))
    assert open(snap.csv("s.csv").path).read() == "s\n5\n6\n"


def test_tsv_uses_tabs(snap):
    snap.csv("t.tsv").save(pd.DataFrame({"a": [1], "b": [2]}))
    assert open(snap.csv("t.tsv").path).read() == "a\tb\n1\t2\n"
    assert snap.csv("t.tsv").load().to_dict("list") == {"a": [1], "b": [2]}


def test_three_dimensional_arrays_are_refused(snap):
    with pytest.raises(ValueError, match="1-D or 2-D"):
        snap.csv("cube.csv").save(np.zeros((2, 2, 2)))
    assert not os.path.exists(snap.csv("cube.csv").path)


def test_describe_reads_only_the_head(snap):
    frame = pd.DataFrame({"step": range(100), "loss": np.linspace(1, 0, 100)})
    snap.csv("h.csv").save(frame)
    info = snap.csv("h.csv").describe()
    assert info["rows"] == 100 and info["columns"] == ["step", "loss"]
    assert len(info["head"]) == 5 and info["head"][0][0] == "0"
    snap.csv("e.csv").save([])
    assert snap.csv("e.csv").describe() == {"size": 0, "rows": 0, "columns": [], "head": []}


@pytest.mark.parametrize(
    "frame",
    [pd.DataFrame(), pd.DataFrame(columns=["epoch", "loss"]), pd.DataFrame({"epoch": [], "loss": []})],
    ids=["no columns", "columns only", "typed empty columns"],
)
def test_empty_dataframes_load_back(snap, frame):
    artifact = snap.csv("empty.csv")
    artifact.save(frame)
    loaded = artifact.load()
    assert list(loaded.columns) == list(frame.columns) and len(loaded) == 0
    assert artifact.describe()["rows"] == 0
    assert artifact.load(lib="csv") == ([list(frame.columns)] if len(frame.columns) else [])


@pytest.mark.parametrize("lib", ["pandas", "csv", "numpy"])
def test_bytes_that_are_not_utf8_are_called_corrupt_and_another_encoding_loads_them(snap, lib):
    """A damaged table (or one written in another encoding) says so, where, and how to load it otherwise;
    it is still a UnicodeDecodeError for code that caught that."""
    from opencrate_nb.core.errors import CorruptArtifactError

    artifact = snap.csv("scores.csv")
    artifact.save([["name", "score"], ["a", 1]])
    with open(artifact.path, "ab") as f:
        f.write(b"caf\xe9,2\n")
    with pytest.raises(CorruptArtifactError) as info:
        artifact.load(lib=lib)
    message = str(info.value)
    assert "'scores.csv' is not valid utf-8 text: 0xe9 at byte 18 cannot be decoded" in message
    assert "corrupt" in message and "load(version=" in message and "load(encoding='latin-1')" in message
    assert isinstance(info.value, UnicodeDecodeError)
    loaded = artifact.load(lib=lib, encoding="latin-1", **({"dtype": str} if lib == "numpy" else {}))
    rows = loaded.values.tolist() if lib == "pandas" else [list(row) for row in loaded]
    assert rows[-1] == ["café", 2] if lib == "pandas" else rows[-1] == ["café", "2"]
