"""``%crate notebook`` and ``%crate gather`` in a real IPython shell (``%crate reproduce``: test_reproduce.py)."""

from _notebook_fixtures import run, run_captured


def test_notebook_links_the_run_notebook_up_to_date(crate, workdir):
    run(crate, "x = 41")
    _, _, _, outputs = run_captured(crate, "%crate notebook")
    [shown] = outputs
    assert shown.data["text/plain"] == "the run's notebook: snapshots/nbtest/v0/run.ipynb"
    assert '<a href="snapshots/nbtest/v0/run.ipynb" target="_blank">' in shown.data["text/html"]
    text = (workdir / "snapshots" / "nbtest" / "v0" / "run.ipynb").read_text(encoding="utf-8")
    assert '"x = 41"' in text  # written now, not only in the background


def test_notebook_of_another_version_and_errors(crate):
    run(crate, "%crate setup nbtest")
    _, _, _, outputs = run_captured(crate, "%crate notebook v0")
    assert outputs[0].data["text/plain"].endswith("snapshots/nbtest/v0/run.ipynb")
    result = run(crate, "%crate notebook v9")
    assert not result.success and "has no version" in str(result.error_in_exec)
    result = run(crate, "%crate gather missing.json")
    assert not result.success and "missing.json" in str(result.error_in_exec)
