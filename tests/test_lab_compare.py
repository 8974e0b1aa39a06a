"""The "Compare versions" panel (labextension/src/compare.ts) in Debian's Chromium, on a real
``jupyter lab``: opened from the sidebar's context menu on a snapshot name, the table core computes
(sorted by a clicked header, every column or only those that differ, keys ignored), a plot of the
chosen metric, kept current when a version is saved; and the sort script of ``%crate compare``'s HTML.
"""

import re

import pytest
from _lab_fixtures import SIDEBAR, lab_server, open_sidebar, save_artifacts, screenshot, tree_row

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

XSS_KEY = '<img src=x onerror="window.__xss=1">'
PANEL = "#opencrate-compare-sweep"


def _version(root, lr, acc, tag):
    return save_artifacts(
        root,
        "sweep",
        [
            ("yaml", "config.yaml", {"lr": lr, "seed": 7, "model": {"depth": 4}, XSS_KEY: 1}),
            ("json", "metrics.json", {"acc": acc, "loss": round(1 - acc, 3)}),
        ],
        tag=tag,
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A server of this module's own, holding three versions of 'sweep'."""
    root = tmp_path_factory.mktemp("compare") / "root"
    root.mkdir()
    with lab_server(root) as server:
        for lr, acc in ((0.1, 0.71), (0.01, 0.83), (0.001, 0.78)):
            _version(server.snapshots, lr, acc, f"lr{lr}")
        yield server


def open_compare(page):
    open_sidebar(page)
    tree_row(page, "sweep").click(button="right")
    page.locator(".lm-Menu-item", has_text="Compare Versions").click()
    page.wait_for_selector(f"{PANEL} .opencrate-compare-table tbody tr")
    return page.locator(PANEL)


def column(panel, label):
    """The texts of one column, top to bottom."""
    cells = panel.locator(f'.opencrate-compare-table tbody td[data-label="{label}"]')
    return [cells.nth(i).inner_text() for i in range(cells.count())]


def versions(panel):
    rows = panel.locator(".opencrate-compare-table tbody tr")
    return [rows.nth(i).get_attribute("data-version") for i in range(rows.count())]


def headers(panel):
    keys = panel.locator(".opencrate-compare-table thead th[data-label]")
    return [keys.nth(i).get_attribute("data-label") for i in range(keys.count())]


def test_the_context_menu_opens_the_table_and_the_plot(page, lab, tmp_path):
    panel = open_compare(page)
    assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Compare sweep").is_visible()
    assert versions(panel) == ["v0:lr0.1", "v1:lr0.01", "v2:lr0.001"]
    assert headers(panel)[-3:] == ["config.lr", "metrics.acc", "metrics.loss"]
    assert column(panel, "metrics.acc") == ["0.71", "0.83", "0.78"]
    assert re.match(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d$", column(panel, "created")[0])  # core's format_time
    assert (
        "3 versions, 3 columns (3 identical columns hidden)" in panel.locator(".opencrate-compare-status").inner_text()
    )
    # the plot: the first differing metric over the versions, one dot per version
    assert panel.locator("svg").get_attribute("data-metric") == "metrics.acc"
    assert panel.locator("svg circle").count() == 3
    assert page.evaluate("() => window.__xss") is None
    assert panel.locator(".opencrate-compare-group").all_text_contents() == ["run", "config", "metric"]
    assert panel.locator(".opencrate-group-run").get_attribute("colspan") == "6"
    page.locator('.jp-SideBar [data-id="opencrate-snapshots"]').click()  # fold the sidebar: the table's whole width
    page.wait_for_selector(f"{SIDEBAR}", state="hidden")
    width, height = screenshot(panel.locator(".opencrate-compare-content"), tmp_path, "compare.png")
    assert width > 600 and height > 250
    # sorting: a click on a header, again for descending (the server orders, the panel draws)
    panel.locator('th[data-label="metrics.acc"] .opencrate-compare-sort').click()
    page.wait_for_function(
        f"""() => [...document.querySelectorAll('{PANEL} tbody tr')].map(r => r.dataset.version).join()
        === 'v0:lr0.1,v2:lr0.001,v1:lr0.01'"""
    )
    assert panel.locator('th[data-label="metrics.acc"]').get_attribute("aria-sort") == "ascending"
    panel.locator('th[data-label="metrics.acc"] .opencrate-compare-sort').click()
    page.wait_for_function(
        f"""() => [...document.querySelectorAll('{PANEL} tbody tr')].map(r => r.dataset.version).join()
        === 'v1:lr0.01,v2:lr0.001,v0:lr0.1'"""
    )
    assert panel.locator('th[data-label="metrics.acc"]').get_attribute("aria-sort") == "descending"


def test_all_columns_ignored_keys_the_metric_and_a_new_version(page, lab):
    panel = open_compare(page)
    panel.locator(".opencrate-compare-all input").check()
    page.wait_for_selector(f'{PANEL} th[data-label="config.seed"]')
    assert f"config.{XSS_KEY}" in headers(panel)  # a key full of HTML is a header's text
    assert page.evaluate("() => window.__xss") is None
    panel.locator(".opencrate-compare-ignore").fill("*.seed")
    panel.locator(".opencrate-compare-ignore").press("Enter")
    page.wait_for_selector(f'{PANEL} th[data-label="config.seed"]', state="detached")
    assert "config.model.depth" in headers(panel)
    panel.locator('th[data-label="config.model.depth"] .opencrate-compare-hide').click(force=True)
    page.wait_for_selector(f'{PANEL} th[data-label="config.model.depth"]', state="detached")
    assert panel.locator(".opencrate-compare-chip").all_inner_texts() == ["*.seed ×", "config.model.depth ×"]
    panel.locator(".opencrate-compare-chip", has_text="*.seed").click()
    page.wait_for_selector(f'{PANEL} th[data-label="config.seed"]')
    panel.locator(".opencrate-compare-metric").select_option("metrics.loss")
    page.wait_for_selector(f'{PANEL} svg[data-metric="metrics.loss"]')
    assert panel.locator("svg circle title").all_text_contents() == [
        "v0:lr0.1: 0.29",
        "v1:lr0.01: 0.17",
        "v2:lr0.001: 0.22",
    ]
    _version(lab.snapshots, 0.5, 0.9, "lr0.5")  # saved by another process: the panel polls
    page.wait_for_function(f"() => document.querySelector('{PANEL}').dataset.versions === '4'", timeout=30_000)
    assert versions(panel)[-1] == "v3:lr0.5" and panel.locator("svg circle").count() == 4


def test_the_notebook_tables_headers_sort_without_a_kernel(browser, tmp_path, monkeypatch):
    """``%crate compare``'s HTML in a page of its own: a click on a header orders the rows."""
    import opencrate as oc
    from opencrate_nb.core import compare, environment
    from opencrate_nb.notebook.magics import _compare_versions as view

    monkeypatch.chdir(tmp_path)
    for lr, acc in ((0.1, 0.5), (0.01, 0.9), (0.001, 0.7)):
        oc.snapshot.setup(name="nb", start="new", tag=f"lr{lr}", log_level="warning")
        oc.snapshot.json("config.json").save({"lr": lr})
        oc.snapshot.json("metrics.json").save({"acc": acc, "name": XSS_KEY})
    environment.wait()
    result = compare.table("nb")
    page_html = view.html_form(result, view.plotted_columns(result, []), None)
    tab = browser.new_page()
    try:
        tab.set_content(f"<html><body>{page_html}</body></html>")
        order = "() => [...document.querySelectorAll('tbody tr')].map(r => r.cells[0].textContent).join()"
        tab.locator("th", has_text="metrics.acc").click()
        assert tab.evaluate(order) == "v0:lr0.1,v2:lr0.001,v1:lr0.01"
        tab.locator("th", has_text="metrics.acc").click()
        assert tab.evaluate(order) == "v1:lr0.01,v2:lr0.001,v0:lr0.1"
        tab.locator("th", has_text="version").click()
        assert tab.evaluate(order) == "v0:lr0.1,v1:lr0.01,v2:lr0.001"
        assert tab.evaluate("() => window.__xss") is None
    finally:
        tab.close()
