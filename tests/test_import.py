"""``import opencrate`` / ``import opencrate_nb``: one API under two names, cheap to import."""

import pytest

HEAVY = ("numpy", "pandas", "torch", "matplotlib", "PIL", "soundfile", "IPython")


@pytest.mark.parametrize("module", ["opencrate", "opencrate_nb"])
def test_import_loads_no_heavy_library(module, tmp_path, run_python):
    out = run_python(
        f"""
        import sys
        import {module} as oc
        oc.snapshot  # the first attribute access imports the core
        print(",".join(m for m in {HEAVY!r} if m in sys.modules) or "none")
    """,
        cwd=tmp_path,
    ).stdout
    assert out.strip() == "none"


def test_a_run_of_text_json_and_yaml_loads_no_heavy_library(tmp_path, run_python):
    out = run_python(
        f"""
        import sys
        import opencrate as oc
        oc.snapshot.setup(name="light", start="new")
        oc.info("hello")
        oc.snapshot.json("m.json").save({{"a": 1}})
        oc.snapshot.yaml("c.yaml").save({{"b": 2}})
        oc.snapshot.text("t.txt").save("x")
        oc.snapshot.csv("t.csv").save([[1, 2]])
        oc.snapshot.json("m.json").load()
        print(",".join(m for m in {HEAVY!r} if m in sys.modules) or "none")
    """,
        cwd=tmp_path,
    ).stdout
    assert out.strip().splitlines()[-1] == "none"


def test_both_names_give_the_same_objects():
    import opencrate
    import opencrate_nb

    for name in ("snapshot", "io", "info", "debug", "warning", "error", "critical", "success", "exception"):
        assert getattr(opencrate, name) is getattr(opencrate_nb, name), name
    assert opencrate.__version__ == opencrate_nb.__version__
    assert set(opencrate.__all__) == set(opencrate_nb.__all__)
    assert {"snapshot", "io", "info"} <= set(dir(opencrate))


def test_unknown_names_raise_attribute_error():
    import opencrate
    import opencrate_nb

    with pytest.raises(AttributeError, match="has no attribute 'snapshots'"):
        opencrate.snapshots
    with pytest.raises(AttributeError):
        opencrate_nb.nothing


def test_the_distribution_ships_both_packages():
    from importlib.metadata import distribution

    dist = distribution("opencrate-nb")
    assert dist.metadata["Name"] == "opencrate-nb"
    extras = set(dist.metadata.get_all("Provides-Extra"))
    assert {"torch", "video", "all", "test"} <= extras


def test_alias_works_from_an_installed_layout(tmp_path, run_python):
    """Both packages copied side by side, as a wheel installs them (no editable finder involved)."""
    import shutil

    from _notebook_fixtures import REPO

    site = tmp_path / "site"
    for package in ("opencrate", "opencrate_nb"):
        shutil.copytree(
            f"{REPO}/{package}",
            site / package,
            ignore=shutil.ignore_patterns("__pycache__", "labextension", "node_modules"),
        )
    out = run_python(
        """
        import opencrate as oc
        import opencrate_nb
        assert oc.snapshot is opencrate_nb.snapshot and oc.io is opencrate_nb.io
        oc.snapshot.setup(name="installed", start="new")
        oc.info("hello from", opencrate_nb.__file__)
    """,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site)},
        checkout=False,
    ).stdout
    assert out.startswith("INFO      hello from " + str(site / "opencrate_nb" / "__init__.py"))
