"""``%crate compare`` (opencrate_nb/notebook/magics/_compare_versions.py) in a real IPython shell:
the comparison as escaped, sortable HTML with a PNG of the chosen metrics, and as plain text."""

import base64
import re

import pytest
from _notebook_fixtures import run, run_captured
from IPython.core.error import UsageError

import opencrate as oc
from opencrate_nb.core import compare, environment
from opencrate_nb.notebook.magics import _compare_versions as view

XSS = '<img src=x onerror="window.__xss=1">'


@pytest.fixture
def sweep(ip):
    """Three versions of 'sweep' with an lr, an accuracy, a loss and a config key full of HTML."""
    for number, lr in enumerate((0.1, 0.01, 0.001)):
        oc.snapshot.setup(name="sweep", start="new", tag=f"lr{lr}")
        oc.snapshot.json("config.json").save({"lr": lr, "seed": 7, XSS: number})
        oc.snapshot.json("metrics.json").save({"acc": 0.5 + number / 10, "loss": 1 - number / 10})
    environment.wait()
    return ip


def shown(ip, line):
    result, _, _, outputs = run_captured(ip, line)
    assert result.success, result.error_in_exec
    [output] = outputs
    return output.data["text/plain"], output.data["text/html"]


def usage_error(ip, line):
    result = run(ip, line)
    assert isinstance(result.error_in_exec, UsageError), result.error_in_exec
    return str(result.error_in_exec)


def test_the_table_and_the_plot_of_the_current_snapshot(sweep):
    text, page = shown(sweep, "%crate compare")
    assert (
        text.splitlines()[0] == "compare sweep: 3 versions, 4 differing columns (1 identical in every version hidden)"
    )
    assert "over the versions:" in text and "metrics.acc  \u2581\u2584\u2588  v0:lr0.1 0.5, v1:lr0.01 0.6" in text
    assert page.count("<tr>") == 5  # two header rows, three versions
    assert '<th colspan="6" class="opencrate-group">run</th>' in page
    assert '<th colspan="2" class="opencrate-group">config</th>' in page
    [png] = re.findall(r'src="data:image/png;base64,([^"]+)" alt="metrics.acc, metrics.loss over the versions"', page)
    assert base64.b64decode(png).startswith(b"\x89PNG")
    assert "<script>" in page and "aria-sort" in page


def test_every_name_and_value_is_escaped(sweep):
    _, page = shown(sweep, "%crate compare")
    assert XSS not in page and html_escaped(f"config.{XSS}") in page


def html_escaped(text):
    import html

    return html.escape(text)


def test_all_ignore_sort_and_the_metric_to_plot(sweep):
    text, _ = shown(sweep, "%crate compare sweep --all --ignore *.seed --ignore config.<* --sort=-acc")
    lines = text.splitlines()
    assert "config.seed" not in lines[1] and "config.lr" in lines[1]
    assert [line.split()[0] for line in lines[2:5]] == ["v2:lr0.001", "v1:lr0.01", "v0:lr0.1"]
    text, page = shown(sweep, "%crate compare --metric loss")
    assert 'alt="metrics.loss over the versions"' in page
    assert [line.split()[0] for line in text.splitlines() if line.startswith("metrics.")] == ["metrics.loss"]
    assert "holds no numbers to plot" in usage_error(sweep, "%crate compare --metric tag")
    assert "No column 'nope'" in usage_error(sweep, "%crate compare --metric nope")
    assert "No snapshot named 'other'" in usage_error(sweep, "%crate compare other")


def test_without_a_plot_the_html_shows_the_metrics_as_text(sweep):
    result = compare.table("sweep")
    plotted = view.plotted_columns(result, [])
    page = view.html_form(result, plotted, None)
    assert "<img" not in page and "<pre>metrics.acc  \u2581\u2584\u2588" in page
    assert view.plot_png(compare.table("sweep", versions=[0]), plotted) is None  # one version: nothing to plot


def test_sparklines():
    assert view.spark_line([0.0, 0.5, 1.0, None]) == "\u2581\u2584\u2588 "
    assert view.spark_line([2, 2]) == "\u2585\u2585" and view.spark_line([None]) == ""


def test_it_needs_a_name_without_a_snapshot(ip):
    assert "Which snapshot?" in usage_error(ip, "%crate compare")
