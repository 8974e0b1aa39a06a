"""The sidebar with several snapshot roots, and the details a picky user notices, in Chromium.

A notebook in ``experiments/`` writes ``experiments/snapshots/``: the sidebar shows that root
next to ``snapshots/``, grouped by folder, and previews its files. Counts are words, a version
row's click shows its log without closing it (its caret opens and closes it), the filter's
placeholder fits, and the log preview keeps its lines.
"""

import pytest
from _lab_fixtures import SIDEBAR, lab_server, open_lab, open_sidebar, screenshot, tree_row
from _notebook_fixtures import forget_snapshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

LONG = "epoch 12 finished: loss=0.2314 accuracy=0.9172 learning_rate=0.000125 grad_norm=1.734 samples_per_second=5123"


def make_version(root, name, texts, log_lines=()):
    """A version of ``name`` under ``root`` with text artifacts and warning lines in its run log."""
    import opencrate as oc

    forget_snapshot()
    try:
        oc.snapshot.setup(name=name, start="new", root=str(root), log_level="warning")
        for file_name, text in texts:
            oc.snapshot.text(file_name).save(text)
        for line in log_lines:
            oc.warning(line)
        return oc.snapshot.dir_path
    finally:
        forget_snapshot()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("roots") / "root"
    root.mkdir()
    make_version(root / "snapshots", "mnist", [("notes.txt", "top-level run"), ("todo.txt", "more")], [LONG] * 3)
    make_version(root / "experiments" / "snapshots", "exp_run", [("result.txt", "written by experiments/run.ipynb")])
    with lab_server(root) as server:
        yield server


@pytest.fixture
def page(lab, browser):
    with open_lab(browser, lab) as tab:
        yield tab


def names(page):
    return page.eval_on_selector_all(f"{SIDEBAR} .opencrate-node-name", "nodes => nodes.map(n => n.textContent)")


def test_every_snapshot_root_is_shown_grouped_by_folder(page, tmp_path):
    panel = open_sidebar(page)
    tree_row(page, "experiments/snapshots").wait_for()
    assert names(page)[:2] == ["snapshots", "mnist"]
    assert names(page).index("experiments/snapshots") < names(page).index("exp_run")
    folder = tree_row(page, "experiments/snapshots")
    assert folder.get_attribute("data-type") == "folder"
    assert folder.get_attribute("title") == "experiments/snapshots"
    fits = folder.locator(".opencrate-node-name").evaluate("el => el.scrollWidth <= el.clientWidth")
    assert fits  # the root's path is not cut off in the 250 px panel
    tree_row(page, "result.txt").click()
    page.wait_for_selector(f'{SIDEBAR} .opencrate-preview[data-preview-type="text"]')
    page.wait_for_function(
        "(el) => el.innerText.includes('written by experiments/run.ipynb')",
        arg=panel.locator(".opencrate-preview").element_handle(),
    )
    screenshot(panel, tmp_path, "sidebar-roots.png")
    folder.locator(".opencrate-caret").click()  # a root closes like any branch
    tree_row(page, "exp_run").wait_for(state="detached")


def test_counts_in_words_and_a_placeholder_that_fits(page):
    panel = open_sidebar(page)
    version = tree_row(page, "v0").first
    assert version.locator(".opencrate-node-detail").inner_text().startswith("2 artifacts · ")
    assert tree_row(page, "texts").first.locator(".opencrate-node-detail").inner_text() == "2 artifacts"
    assert tree_row(page, "mnist").locator(".opencrate-node-detail").inner_text() == "1 version"
    search = panel.locator(".opencrate-filter")
    assert search.get_attribute("placeholder") == "Filter…"
    assert "every word" in search.get_attribute("title")
    fits = search.evaluate(
        """(input) => { const c = document.createElement('canvas').getContext('2d');
        const s = getComputedStyle(input); c.font = s.font;
        return c.measureText(input.placeholder).width + parseFloat(s.paddingLeft) <= input.clientWidth; }"""
    )
    assert fits
    caret = version.locator(".opencrate-caret")
    assert caret.get_attribute("title") == "Collapse v0"


def test_a_version_row_shows_its_log_and_only_its_caret_toggles_it(page, tmp_path):
    panel = open_sidebar(page)
    version = tree_row(page, "v0").first
    assert version.get_attribute("aria-expanded") == "true"
    version.locator(".opencrate-node-name").click()
    page.wait_for_selector(f'{SIDEBAR} .opencrate-preview[data-preview-type="log"]')
    assert version.get_attribute("aria-expanded") == "true"  # still open: selecting is not toggling
    tree_row(page, "notes.txt").wait_for()
    log = panel.locator(".opencrate-preview .opencrate-log")
    page.wait_for_function("(el) => el.textContent.includes('samples_per_second')", arg=log.element_handle())
    style = log.evaluate("el => [getComputedStyle(el).whiteSpace, el.scrollWidth > el.clientWidth]")
    assert style == ["pre", True]  # no wrapping in the narrow panel: it scrolls sideways
    screenshot(panel, tmp_path, "sidebar-log.png")
    version.locator(".opencrate-caret").click()
    tree_row(page, "notes.txt").wait_for(state="detached")
    assert tree_row(page, "v0").first.get_attribute("aria-expanded") == "false"
    tree_row(page, "v0").first.locator(".opencrate-caret").click()
    tree_row(page, "notes.txt").wait_for()
