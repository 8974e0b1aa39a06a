"""core/snapshot.py: ``oc.snapshot.setup`` and the snapshot's properties, reset and kinds."""

import os
import unicodedata

import pytest

from opencrate_nb.core.errors import ConfirmationRequired, InvalidNameError, NotSetUpError, UnknownKindError


def test_setup_creates_v0_with_the_guide_properties(oc, tmp_path):
    returned = oc.snapshot.setup(name="snapshot_guide", start="new", tag="initial-run")
    assert returned is oc.snapshot
    assert oc.snapshot.version == 0
    assert oc.snapshot.version_name == "v0:initial-run"
    assert oc.snapshot.dir_path == "snapshots/snapshot_guide/v0:initial-run"
    assert oc.snapshot.name == "snapshot_guide" and oc.snapshot.tag == "initial-run"
    assert (tmp_path / "snapshots" / "snapshot_guide" / "v0:initial-run" / "snapshot_guide.log").is_file()
    assert not list(tmp_path.glob("*.toml")) and not list(tmp_path.glob("*.cfg"))  # no project config file


def test_new_always_makes_the_next_version_also_in_one_process(oc):
    names = [oc.snapshot.setup(name="runs", start="new").version_name for _ in range(3)]
    assert names == ["v0", "v1", "v2"]
    oc.snapshot.setup(name="runs", start="new", tag="x")
    assert oc.snapshot.version_name == "v3:x"
    assert oc.snapshot.list_versions() == ["v0", "v1", "v2", "v3:x"]


def test_last_resumes_the_newest_version(oc):
    oc.snapshot.setup(name="runs", start="new", tag="a")
    oc.snapshot.text("keep.txt").save("from the first run")
    oc.snapshot.setup(name="runs", start="last", tag="a")
    assert oc.snapshot.version_name == "v0:a"
    assert oc.snapshot.text("keep.txt").load() == "from the first run"
    oc.snapshot.setup(name="runs", start="new")
    oc.snapshot.setup(name="runs", start="last")
    assert oc.snapshot.version_name == "v1"


def test_last_on_an_empty_name_starts_at_v0(oc):
    oc.snapshot.setup(name="fresh", start="last")
    assert oc.snapshot.version_name == "v0"


@pytest.mark.parametrize("start", [2, "2"])
def test_a_number_resumes_that_version_or_creates_it(oc, start):
    oc.snapshot.setup(name="runs", start=start)
    assert oc.snapshot.version == 2 and oc.snapshot.version_name == "v2"
    oc.snapshot.text("a.txt").save("x")
    oc.snapshot.setup(name="runs", start=0)
    oc.snapshot.setup(name="runs", start=start)
    assert oc.snapshot.text("a.txt").exists
    assert oc.snapshot.list_versions() == ["v0", "v2"]


def test_resuming_a_tagged_version_needs_its_tag(oc, capsys):
    oc.snapshot.setup(name="snapshot_guide", start="new", tag="initial-run")
    capsys.readouterr()
    oc.snapshot.setup(name="snapshot_guide", start="last")  # tag forgotten: a new untagged v0
    out = capsys.readouterr().out
    assert oc.snapshot.version_name == "v0"
    assert "WARNING" in out and "tag='initial-run'" in out and "resume" in out
    assert oc.snapshot.list_versions() == ["v0", "v0:initial-run"]
    assert oc.snapshot.list_tags() == ["initial-run"]


def test_several_tags_can_share_a_number(oc):
    oc.snapshot.setup(name="ab", start=1, tag="a")
    oc.snapshot.setup(name="ab", start=1, tag="b")
    assert oc.snapshot.list_versions() == ["v1:a", "v1:b"]
    assert oc.snapshot.list_tags() == ["a", "b"]


def test_root_holds_the_snapshots(oc, tmp_path):
    oc.snapshot.setup(name="runs", start="new", root=tmp_path / "elsewhere")
    assert oc.snapshot.dir_path == os.path.join(str(tmp_path / "elsewhere"), "runs", "v0")
    assert os.path.isdir(oc.snapshot.dir_path)
    assert not (tmp_path / "snapshots").exists()


@pytest.mark.parametrize("start", ["newest", -1, True, 1.5, None, "v1"])
def test_bad_start_values_are_rejected_before_anything_is_created(oc, tmp_path, start):
    with pytest.raises(InvalidNameError, match="'new', 'last' or a version number"):
        oc.snapshot.setup(name="runs", start=start)
    assert os.listdir(tmp_path) == []


def test_bad_log_level_is_rejected(oc, tmp_path):
    with pytest.raises(InvalidNameError, match="log_level"):
        oc.snapshot.setup(name="runs", log_level="verbose")
    assert os.listdir(tmp_path) == []


def test_properties_before_setup_say_to_call_setup(oc):
    for attribute in ("version", "version_name", "dir_path", "name", "tag"):
        with pytest.raises(NotSetUpError, match=r"oc.snapshot.setup\(name=...\)"):
            getattr(oc.snapshot, attribute)
    with pytest.raises(NotSetUpError):
        oc.snapshot.json("metrics.json")
    assert "not set up" in repr(oc.snapshot)


def test_reset_needs_confirmation_and_deletes_nothing_without_it(oc):
    oc.snapshot.setup(name="doomed", start="new")
    oc.snapshot.text("a.txt").save("keep me")
    with pytest.raises(ConfirmationRequired, match=r"reset\(confirm=True\)"):
        oc.snapshot.reset()
    with pytest.raises(ConfirmationRequired):
        oc.snapshot.reset(confirm="yes")
    assert oc.snapshot.text("a.txt").load() == "keep me"


def test_reset_deletes_that_names_snapshots_only(oc, tmp_path):
    oc.snapshot.setup(name="other", start="new")
    oc.snapshot.text("a.txt").save("stays")
    oc.snapshot.setup(name="doomed", start="new")
    oc.snapshot.setup(name="doomed", start="new", tag="t")
    oc.snapshot.reset(confirm=True)
    assert sorted(os.listdir(tmp_path / "snapshots")) == ["other"]
    assert (tmp_path / "snapshots" / "other" / "v0" / "texts" / "a.txt").read_text() == "stays"
    assert not oc.snapshot.is_set_up
    oc.snapshot.setup(name="doomed", start="new")  # as in the guide: set up again after reset
    assert oc.snapshot.version_name == "v0"


def test_reset_before_setup_says_to_call_setup(oc):
    with pytest.raises(NotSetUpError):
        oc.snapshot.reset(confirm=True)


def test_a_misspelled_attribute_never_passes_as_data(snap):
    typo = snap.versoin
    for use in (str, repr, bool, int, lambda v: f"{v}", lambda v: v == 0, lambda v: v + 1, len, hash):
        if use is repr:
            assert "handler=" in use(typo)
            continue
        with pytest.raises((UnknownKindError, TypeError)):
            use(typo)
    with pytest.raises(UnknownKindError) as info:
        snap.versoin("x")
    message = str(info.value)
    assert "Did you mean 'version'?" in message
    for kind in ("text", "json", "yaml", "csv", "image", "gif", "video", "audio", "checkpoint"):
        assert kind in message
    assert "handler=" in message


def test_unknown_kind_error_is_an_attribute_error(snap):
    assert not callable(getattr(snap, "_private", None))
    with pytest.raises(AttributeError):
        snap.artifact("nosuchkind", "x")


def test_builtin_kind_methods_put_files_in_their_folders(snap):
    expected = {
        "text": "texts",
        "json": "jsons",
        "yaml": "yamls",
        "csv": "csvs",
        "image": "images",
        "gif": "gifs",
        "video": "videos",
        "audio": "audios",
        "checkpoint": "checkpoints",
    }
    for kind, folder in expected.items():
        artifact = getattr(snap, kind)("thing")
        assert artifact.snapshot_type == kind
        assert os.path.dirname(artifact.path) == os.path.join(snap.dir_path, folder)


def test_bare_names_get_the_kind_suffix_and_wrong_suffixes_are_refused(snap):
    assert snap.json("metrics").name == "metrics.json"
    assert snap.checkpoint("model").name == "model.pt"
    assert snap.text("README.md").name == "README.md"  # text keeps any suffix
    assert snap.yaml("config.yml").name == "config.yml"
    with pytest.raises(InvalidNameError, match=r"\.yaml.*json kind"):
        snap.json("config.yaml")


def test_list_artifacts_and_find(snap):
    snap.json("a.json").save({"a": 1})
    snap.text("a.txt").save("a")
    snap.csv("t.csv").save([[1, 2]])
    names = sorted((a.kind, a.name) for a in snap.list_artifacts())
    assert names == [("csv", "t.csv"), ("json", "a.json"), ("text", "a.txt")]
    assert [a.kind for a in snap.find("a.txt")] == ["text"]


def test_find_takes_either_spelling_of_a_name_and_refuses_what_no_save_could_make(snap):
    composed = "r\u00e9sum\u00e9.json"
    snap.json(composed).save({"ok": True})
    found = snap.find(unicodedata.normalize("NFD", composed))
    assert [(a.name, a.load()) for a in found] == [(composed, {"ok": True})]
    for char in ("\x85", "\u2028", "\u202e", "\udcff"):
        with pytest.raises(InvalidNameError, match=f"U\\+{ord(char):04X}"):
            snap.find(f"r\u00e9sum\u00e9{char}.json")


def test_setup_hooks_run_after_every_setup(oc):
    seen = []

    def hook(snapshot):
        seen.append(snapshot.version_name)

    oc.snapshot.on_setup(hook)
    try:
        oc.snapshot.setup(name="h", start="new")
        oc.snapshot.setup(name="h", start="new", tag="b")
    finally:
        oc.snapshot.remove_setup_hook(hook)
    assert seen == ["v0", "v1:b"]


def test_log_paths(oc):
    oc.snapshot.setup(name="paths", start="new")
    assert oc.snapshot.log_path == os.path.join(oc.snapshot.dir_path, "paths.log")
    assert oc.snapshot.history_log_path == os.path.join(oc.snapshot.dir_path, "paths.history.log")


# -- one version folder per setup, whatever the current folder becomes ------------------------------
def _everything_in_one_version(tmp_path, name="moving"):
    """What a run that changed folder must look like: one version, holding all its files."""
    from opencrate_nb.core import environment, record

    environment.wait()
    assert sorted(os.listdir(tmp_path / "snapshots")) == [name]
    version = tmp_path / "snapshots" / name / "v0"
    assert [p.name for p in (tmp_path / "snapshots" / name).iterdir() if not p.name.startswith(".")] == ["v0"]
    assert {"before.json", "after.json"} <= set(os.listdir(version / "jsons"))
    assert sorted(record.current_artifacts(str(version))) == ["jsons/after.json", "jsons/before.json"]
    with open(version / f"{name}.log", encoding="utf-8") as f:
        log_text = f.read()
    assert "before the move" in log_text and "after the move" in log_text
    assert environment.last_run(str(version))["kinds"] == ["json"]
    return version


def test_chdir_after_setup_changes_nothing_about_where_the_run_goes(oc, tmp_path):
    oc.snapshot.setup(name="moving", start="new")
    assert oc.snapshot.dir_path == os.path.join("snapshots", "moving", "v0")  # as the guide prints it
    before = oc.snapshot.json("before.json")
    before.save({"step": 1})
    oc.info("before the move")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chdir(elsewhere)
    oc.snapshot.json("after.json").save({"step": 2})
    before.save({"step": 3})  # an artifact made before the move saves into the same version
    oc.info("after the move")
    assert os.listdir(elsewhere) == []  # no snapshots/moving/v0 of its own
    version = _everything_in_one_version(tmp_path)
    # paths are still correct where they are read: absolute, as the version lies outside the current folder
    assert oc.snapshot.dir_path == str(version)
    assert before.path == str(version / "jsons" / "before.json") and before.load() == {"step": 3}
    assert [a.name for a in oc.snapshot.list_artifacts()] == ["after.json", "before.json"]
    assert oc.snapshot.list_versions() == ["v0"]
    os.chdir(tmp_path / "snapshots")
    assert oc.snapshot.dir_path == os.path.join("moving", "v0")  # relative again inside the current folder
    assert oc.snapshot.log_path == os.path.join("moving", "v0", "moving.log")
    os.chdir(tmp_path)
    assert oc.snapshot.dir_path == os.path.join("snapshots", "moving", "v0") and oc.snapshot.root == "snapshots"


def test_an_absolute_root_is_shown_absolute(oc, tmp_path):
    oc.snapshot.setup(name="abs", start="new", root=str(tmp_path / "store"))
    assert oc.snapshot.dir_path == str(tmp_path / "store" / "abs" / "v0")
    assert oc.snapshot.json("m.json").path == str(tmp_path / "store" / "abs" / "v0" / "jsons" / "m.json")


def test_reset_after_chdir_deletes_the_bound_snapshot_only(oc, tmp_path):
    oc.snapshot.setup(name="bound", start="new")
    oc.snapshot.text("a.txt").save("a")
    other = tmp_path / "other"
    (other / "snapshots" / "bound" / "v0").mkdir(parents=True)  # a look-alike in the new folder
    os.chdir(other)
    oc.snapshot.reset(confirm=True)
    assert not (tmp_path / "snapshots" / "bound").exists()
    assert (other / "snapshots" / "bound" / "v0").is_dir()


def test_a_custom_handler_writes_into_the_bound_version_after_chdir(oc, tmp_path):
    class Notes:
        def save(self, text):
            with open(self.path, "w", encoding="utf-8") as f:
                f.write(text)

        def load(self):
            with open(self.path, encoding="utf-8") as f:
                return f.read()

        def clear(self):
            os.remove(self.path)

    oc.snapshot.setup(name="custom", start="new")
    notes = oc.snapshot.notes("n.txt", handler=Notes)
    (tmp_path / "moved").mkdir()
    os.chdir(tmp_path / "moved")
    notes.save("hello")
    assert (tmp_path / "snapshots" / "custom" / "v0" / "notes" / "n.txt").read_text() == "hello"
    assert notes.load() == "hello" and os.listdir(tmp_path / "moved") == []
    os.chdir(tmp_path)
    notes.save("again")
    os.chdir(tmp_path / "moved")
    notes.clear()  # a method of the user's handler: it sees the bound path as well
    assert not (tmp_path / "snapshots" / "custom" / "v0" / "notes" / "n.txt").exists()


def test_percent_cd_in_ipython_changes_nothing_about_where_the_run_goes(ip, tmp_path):
    from _notebook_fixtures import run

    (tmp_path / "elsewhere").mkdir()
    for cell in (
        "import opencrate as oc",
        "%crate setup moving",
        "oc.snapshot.json('before.json').save({'step': 1}); oc.info('before the move')",
        "%cd elsewhere",
        "oc.snapshot.json('after.json').save({'step': 2}); oc.info('after the move')",
    ):
        result = run(ip, cell)
        assert result.success, (cell, result.error_in_exec)
    assert os.getcwd() == str(tmp_path / "elsewhere")
    assert os.listdir(tmp_path / "elsewhere") == []
    _everything_in_one_version(tmp_path)
    from opencrate_nb.notebook import _core

    assert {entry.get("source") for entry in _core.read_cells()} >= {"%cd elsewhere"}


def test_opencrate_level_names_on_the_snapshot_say_to_call_oc_level(snap):
    for level in ("debug", "info", "success", "warning", "error", "critical", "exception"):
        assert not hasattr(snap, level)  # an AttributeError: hasattr and completion stay quiet
        with pytest.raises(UnknownKindError) as info:
            getattr(snap, level)("training started")
        assert f"call oc.{level}(...), not oc.snapshot.{level}(...)" in str(info.value)


def test_snapshot_path_explains_artifact_path_and_dir_path(snap):
    with pytest.raises(UnknownKindError) as info:
        snap.path
    message = str(info.value)
    assert "oc.snapshot.json('metrics.json').path" in message and "oc.snapshot.dir_path" in message
    assert not (os.path.exists(os.path.join(snap.dir_path, "path")))


def test_names_of_the_api_never_become_custom_kinds(snap):
    class Handler:  # a custom handler works on self.path, bound by the artifact
        def save(self, obj):
            with open(self.path, "w") as f:
                f.write(str(obj))

        def load(self):
            with open(self.path) as f:
                return f.read()

    for word in ("info", "path", "log", "io"):
        with pytest.raises(UnknownKindError):
            snap.artifact(word, "x.txt", handler=Handler)
        with pytest.raises(UnknownKindError):
            getattr(snap, word)("x.txt", handler=Handler)
    with pytest.raises(UnknownKindError) as info:
        snap.artifact("setup", "x.txt", handler=Handler)
    assert "the name of oc.snapshot.setup" in str(info.value)
    assert not {"info", "path", "log", "io", "setup"} & set(os.listdir(snap.dir_path))
    labels = snap.labels("a.txt", handler=Handler)  # an ordinary word still makes a kind
    labels.save("cat")
    assert labels.load() == "cat"


def test_setup_without_a_name_says_what_to_pass(oc):
    with pytest.raises(TypeError) as info:
        oc.snapshot.setup()
    assert "oc.snapshot.setup(name='my_run')" in str(info.value)
    assert not os.path.exists("snapshots")


def test_every_level_name_the_errors_point_to_exists_on_oc(oc):
    from opencrate_nb.core import _api_words

    assert all(callable(getattr(oc, level)) for level in _api_words.LEVELS)
