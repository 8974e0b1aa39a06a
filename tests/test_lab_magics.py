"""What ``%crate ls``, ``%crate status`` and ``%crate diff`` look like in a JupyterLab notebook in Chromium.

The tables are checked as a picky user reads them (every column has a heading, no empty
header row, text columns aligned left) and photographed for docs/images/
(``OPENCRATE_UPDATE_SCREENSHOTS=1``).
"""

import pytest
from _lab_fixtures import new_notebook, run_all_cells, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

CELLS = [
    "%load_ext opencrate",
    "import opencrate as oc\n%crate setup screens_demo --tag baseline",
    "oc.snapshot.json('metrics.json').save({'accuracy': 0.91, 'loss': 0.3})\n"
    "oc.snapshot.json('metrics.json').backup(tag='best')\n"
    "oc.snapshot.text('notes.txt').save('first run')",
    "%crate ls",
    "%crate status",
    "%crate setup screens_demo --new\n"
    "oc.snapshot.json('metrics.json').save({'accuracy': 0.94, 'loss': 0.2})\n"
    "oc.snapshot.text('summary.txt').save('second run')",
    "%crate diff 0",
]


def output_of(page, index):
    """The rendered HTML output of the notebook's cell ``index`` (waits until it is drawn)."""
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(index)
    html = cell.locator(".jp-OutputArea-output.jp-RenderedHTMLCommon").last
    html.wait_for(timeout=120_000)
    return html


def cell_styles(locator):
    return locator.evaluate(
        """(el) => [...el.querySelectorAll('tr')].map(tr => [...tr.children].map(c => ({
            tag: c.tagName, text: c.textContent.trim(), align: getComputedStyle(c).textAlign})))"""
    )


def test_ls_status_and_diff_tables_read_well(lab, page, tmp_path):
    new_notebook(lab, page, "screens.ipynb", CELLS)
    run_all_cells(page)

    ls = output_of(page, 3)
    rows = cell_styles(ls)
    header, *body = rows
    assert [c["tag"] for c in header] == ["TH"] * len(header)
    assert all(c["text"] for c in header), header  # every column has a heading
    assert all(len(r) == len(header) for r in body), rows  # no column without a heading
    assert [r[0]["text"] for r in body] == ["metrics.json", "metrics.backup_best.json", "notes.txt"]
    assert all(c["align"] in ("left", "start") for r in rows for c in r[:2]), rows
    screenshot(ls, tmp_path, "ls.png")

    status = output_of(page, 4)
    rows = cell_styles(status)
    assert rows[0][0]["text"] == "snapshot" and rows[0][1]["text"] == "screens_demo"  # no empty header row
    assert all(c["text"] for c in rows[0])
    screenshot(status, tmp_path, "status.png")

    diff = output_of(page, 6)
    page.wait_for_function("(el) => el.innerText.includes('summary.txt')", arg=diff.element_handle())
    rows = cell_styles(diff.locator("table").first)
    assert rows[0][1]["text"] == "artifact"
    artifact_cells = [r[1] for r in rows]
    assert all(c["align"] in ("left", "start") for c in artifact_cells), artifact_cells
    screenshot(diff, tmp_path, "diff.png")
