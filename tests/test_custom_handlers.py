"""Custom kinds: ``oc.snapshot.<word>(name, handler=Class)`` and the ``opencrate.handlers`` entry points.

The guide's two handler classes are taken from the guide notebook's cells
(scripts/build_guide_notebooks.py) and run as written; the image archive cell uses
Pillow where the guide used OpenCV.
"""

import importlib.util
import os

import numpy as np
import pytest
from _notebook_fixtures import REPO

import opencrate as oc
from opencrate_nb.core import handlers, record
from opencrate_nb.core.errors import UnknownKindError


def guide_cell(marker):
    """The source of the guide notebook cell that defines ``marker`` (scripts/build_guide_notebooks.py)."""
    spec = importlib.util.spec_from_file_location(
        "build_guide_notebooks", os.path.join(REPO, "scripts", "build_guide_notebooks.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (source,) = [cell for cell in module.PART3 if marker in cell]
    return source


def guide_handler(marker):
    """Run the guide's cell as written (it defines the class and makes its artifact); returns its namespace."""

    namespace = {"oc": oc, "os": os, "np": np, "Dict": dict, "List": list}  # earlier guide cells import these
    exec(compile(guide_cell(f"class {marker}"), f"<guide {marker}>", "exec"), namespace)
    return namespace


@pytest.fixture
def BoundingBoxHandler(snap):
    return guide_handler("BoundingBoxHandler")["BoundingBoxHandler"]


@pytest.fixture
def ImageZipHandler(snap):
    return guide_handler("ImageZipHandler")["ImageZipHandler"]


BOXES1 = [{"x1": 10.0, "y1": 20.0, "x2": 150.0, "y2": 200.0}, {"x1": 50.0, "y1": 60.0, "x2": 180.0, "y2": 250.0}]
BOXES2 = [{"x1": 100.0, "y1": 110.0, "x2": 220.0, "y2": 300.0}]


def test_bounding_box_example_as_in_the_guide(oc, capsys):
    oc.snapshot.setup(name="snapshot_guide", start="new", tag="major-update")
    capsys.readouterr()
    artifact = guide_handler("BoundingBoxHandler")["bounding_box_artifact"]  # the guide's cell, as written
    assert (
        capsys.readouterr().out == f"INFO      Custom Bounding Box Artifact Handler initialized at: {artifact.path}\n"
    )
    assert artifact.path == "snapshots/snapshot_guide/v0:major-update/labels/bounding_boxes"
    assert (artifact.name, artifact.snapshot_type, artifact.verbose) == ("bounding_boxes", "labels", True)
    handler = artifact.handler  # the attributes are injected into the user's instance too
    assert (handler.path, handler.name, handler.snapshot_type, handler.verbose) == (
        artifact.path,
        "bounding_boxes",
        "labels",
        True,
    )
    capsys.readouterr()
    artifact.reset()  # a method of the user's class, reached through the artifact
    artifact.save(BOXES1)
    artifact.save(BOXES2)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"SUCCESS   Reset bounding box handler at {artifact.path}",
        f"SUCCESS   Successfully saved 2 bounding boxes to {artifact.path}/bounding_boxes_0.txt",
        f"INFO      ✓ 'bounding_boxes' of 'labels' saved successfully at '{artifact.path}'.",
        f"SUCCESS   Successfully saved 1 bounding boxes to {artifact.path}/bounding_boxes_1.txt",
        f"INFO      ✓ 'bounding_boxes' of 'labels' saved successfully at '{artifact.path}'.",
    ]
    assert oc.io.list_files_in_dir(artifact.path) == ["bounding_boxes_0.txt", "bounding_boxes_1.txt"]
    assert artifact.load() == [BOXES1, BOXES2]
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"INFO      ✓ 'bounding_boxes' of 'labels' loaded successfully from '{artifact.path}'."
    )


def test_custom_saves_are_recorded_with_a_folder_hash(snap, BoundingBoxHandler):
    artifact = snap.labels("bounding_boxes", handler=BoundingBoxHandler)
    artifact.save(BOXES1)
    entry = record.read_lines(snap.dir_path)[-1]
    assert entry["kind"] == "labels" and entry["path"] == "labels/bounding_boxes"
    assert entry["size"] == os.path.getsize(os.path.join(artifact.path, "bounding_boxes_0.txt"))
    assert len(entry["sha256"]) == 64
    assert artifact.describe()["files"] == ["bounding_boxes_0.txt"]


def test_image_zip_example(snap, ImageZipHandler):
    artifact = snap.image_archive("images_archive.zip", handler=ImageZipHandler, verbose=False)
    assert artifact.path.endswith("image_archive/images_archive.zip")
    random_images = [np.random.randint(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(5)]
    artifact.save(random_images)
    loaded = artifact.load()
    assert len(loaded) == 5 and loaded[0].shape == (64, 64, 3)
    assert all((a == b).all() for a, b in zip(loaded, random_images))  # PNG is lossless
    backup = artifact.backup(tag="first")
    assert backup == "images_archive.backup_first.zip" and artifact.list_backups() == [backup]


def test_the_handler_is_remembered_for_the_word(snap, BoundingBoxHandler):
    snap.labels("a", handler=BoundingBoxHandler).save(BOXES1)
    again = snap.labels("a")  # no handler= needed the second time in this process
    assert again.load() == [BOXES1]
    assert [a.name for a in snap.list_artifacts()] == ["a"]


def test_a_handler_for_a_builtin_word_applies_to_that_call_only(snap):
    class Upper:
        def save(self, text):
            with open(self.path, "w") as f:
                f.write(text.upper())

        def load(self):
            with open(self.path) as f:
                return f.read()

    snap.text("shout.txt", handler=Upper).save("hi")
    assert snap.text("shout.txt").load() == "HI"  # the file is in texts/ and loads as plain text
    snap.text("plain.txt").save("hi")
    assert snap.text("plain.txt").load() == "hi"


def test_handler_instances_and_bad_handlers(snap, BoundingBoxHandler):
    instance = BoundingBoxHandler()
    assert snap.labels("x", handler=instance).handler is instance

    class NoLoad:
        def save(self, data):
            pass

    with pytest.raises(TypeError, match="needs a load"):
        snap.broken("x", handler=NoLoad)

    class NeedsArguments:
        def __init__(self, required):
            self.required = required

        def save(self, data):
            pass

        def load(self):
            pass

    with pytest.raises(TypeError, match="constructible without arguments.*handler=MyHandler"):
        snap.args("x", handler=NeedsArguments)
    with pytest.raises(UnknownKindError):
        snap.broken("x")  # the bad handler was not remembered
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        snap.labels("x").nothing_here


def test_save_without_data_calls_the_handler_without_it(snap):
    class Counter:
        calls = []

        def save(self, *args, **kwargs):
            self.calls.append((args, kwargs))
            with open(self.path, "w") as f:
                f.write("x")

        def load(self):
            return self.calls

    artifact = snap.counter("c.txt", handler=Counter)
    artifact.save()
    artifact.save(step=2)
    artifact.save([1], 2, key="v")
    assert artifact.load() == [((), {}), ((), {"step": 2}), (([1], 2), {"key": "v"})]


def test_artifacts_of_an_unknown_custom_kind_are_listed_but_not_loadable(oc, tmp_path, run_python):
    run_python(
        """
        import os, opencrate as oc
        class H:
            def save(self, text):
                with open(self.path, "w") as f:
                    f.write(text)
            def load(self):
                return open(self.path).read()
        oc.snapshot.setup(name="mixed", start="new")
        oc.snapshot.notes("n.md", handler=H).save("hello")
    """,
        cwd=tmp_path,
    )
    oc.snapshot.setup(name="mixed", start="last")
    (found,) = oc.snapshot.list_artifacts()
    assert (found.kind, found.name) == ("notes", "n.md")
    with pytest.raises(UnknownKindError, match=r"needs its handler: oc.snapshot.notes\(name, handler=YourClass\)"):
        found.load()


PLUGIN = '''
from opencrate_nb.core.handlers import Handler


class PointsHandler(Handler):
    """Points as lines of "x y"."""

    folder = "points"
    suffixes = (".pts",)

    def to_bytes(self, points, path=None):
        return "".join(f"{x} {y}\\n" for x, y in points).encode()

    def load(self, path):
        with open(path) as f:
            return [tuple(float(v) for v in line.split()) for line in f if line.strip()]

    def describe(self, path):
        with open(path) as f:
            return {"points": sum(1 for _ in f)}

    def summary(self, description):
        return f"{description.get('points')} points"

    def compare(self, path_a, path_b):
        from opencrate_nb.core.handlers import Detail

        return Detail(rows=[("points", len(self.load(path_a)), len(self.load(path_b)))])
'''


@pytest.fixture
def plugin_dist(tmp_path, monkeypatch):
    """A real installed distribution (a dist-info folder with entry_points.txt) on sys.path."""
    site = tmp_path / "site"
    (site / "oc_points").mkdir(parents=True)
    (site / "oc_points" / "__init__.py").write_text(PLUGIN)
    info = site / "oc_points-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: oc-points\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[opencrate.handlers]\npoints = oc_points:PointsHandler\njson = oc_points:PointsHandler\n"
    )
    monkeypatch.syspath_prepend(str(site))
    handlers.refresh_entry_points()
    yield site
    monkeypatch.undo()
    handlers.refresh_entry_points()


def test_entry_point_kinds_work_like_builtin_ones(snap, plugin_dist):
    assert handlers.plugin_kinds() == ["points"]  # a plugin cannot replace a built-in kind (json)
    artifact = snap.points("track")
    assert artifact.name == "track.pts" and artifact.path.endswith(os.path.join("points", "track.pts"))
    artifact.save([(1, 2), (3.5, 4)])
    assert artifact.load() == [(1.0, 2.0), (3.5, 4.0)]
    assert artifact.describe() == {"points": 2}
    assert record.read_lines(snap.dir_path)[-1]["kind"] == "points"
    assert oc.io.points.load(artifact.path) == [(1.0, 2.0), (3.5, 4.0)]
    assert handlers.get_handler("json").kind == "json" and type(handlers.get_handler("json")).__name__ == "JsonHandler"
    with pytest.raises(UnknownKindError, match="Kinds from installed packages: points"):
        snap.pionts("x")


def test_entry_point_kinds_summarise_and_compare_themselves(oc, plugin_dist):
    from opencrate_nb.notebook import preview

    oc.snapshot.setup(name="pts", start="new")
    oc.snapshot.points("track").save([(1, 2)])
    assert preview.summary_line("points", oc.snapshot.points("track").describe()) == "1 points"
    oc.snapshot.setup(name="pts", start="new")
    oc.snapshot.points("track").save([(1, 2), (3, 4), (5, 6)])
    change = oc.snapshot.diff(0, 1).change("track.pts")
    assert change.detail.rows == [("points", 1, 3)]


def test_entry_point_kinds_in_a_fresh_process(plugin_dist, tmp_path, run_python):
    out = run_python(
        """
        import opencrate as oc
        oc.snapshot.setup(name="p", start="new")
        oc.snapshot.points("a").save([(0, 1)])
        print(oc.snapshot.points("a").load())
    """,
        cwd=tmp_path,
        env={"PYTHONPATH": f"{plugin_dist}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"},
    ).stdout
    assert out.strip() == "[(0.0, 1.0)]"


def test_a_broken_entry_point_says_which_package(snap, tmp_path, monkeypatch):
    site = tmp_path / "broken_site"
    info = site / "oc_broken-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: oc-broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[opencrate.handlers]\nbroken = no_such_module:Handler\n")
    monkeypatch.syspath_prepend(str(site))
    handlers.refresh_entry_points()
    try:
        with pytest.raises(ImportError, match="'broken' from entry point 'no_such_module:Handler'"):
            snap.broken("x")
    finally:
        monkeypatch.undo()
        handlers.refresh_entry_points()


class GenerationsHandler:
    """A folder of files rewritten in place, each holding the save's generation (as the guide's
    handlers write: no temporary files, no renames)."""

    def save(self, generation):
        os.makedirs(self.path, exist_ok=True)
        for number in range(20):
            with open(os.path.join(self.path, f"{number}.txt"), "w") as f:
                f.write(str(generation) * 200)

    def load(self):
        return {open(os.path.join(self.path, name)).read() for name in os.listdir(self.path)}


def test_a_backup_taken_while_another_thread_saves_in_place_is_one_whole_save(snap):
    import threading

    labels = snap.artifact("labels", "gen", handler=GenerationsHandler)
    labels.save(0)
    stop = threading.Event()

    def keep_saving():
        generation = 1
        while not stop.is_set():
            snap.artifact("labels", "gen", handler=GenerationsHandler).save(generation)
            generation += 1

    saver = threading.Thread(target=keep_saving)
    saver.start()
    try:
        names = [labels.backup(f"b{n}") for n in range(15)]
    finally:
        stop.set()
        saver.join()
    for name in names:
        contents = snap.artifact("labels", name, handler=GenerationsHandler).load()
        assert len(contents) == 1, f"{name} mixes the files of {len(contents)} saves"
    assert snap.verify().ok
