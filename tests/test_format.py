"""core/format.py: how sizes, times, counts and saving cells read in every UI."""

import datetime as dt
import re

import pytest

from opencrate_nb.core.format import (
    cell_label,
    format_size,
    format_time,
    format_times,
    from_local_iso,
    local_iso,
    plural,
)


@pytest.mark.parametrize(
    "size, text",
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (46694, "45.6 KB"), (5 << 20, "5.0 MB"), (5 << 40, "5.0 TB")],
)
def test_sizes_in_binary_units_with_one_decimal(size, text):
    assert format_size(size) == text


@pytest.mark.parametrize("unknown", [None, "12", True, [1]])
def test_an_unknown_size_reads_as_a_question_mark(unknown):
    assert format_size(unknown) == "?"


def test_times_read_the_same_from_the_record_a_datetime_or_a_stat():
    local = dt.datetime(2026, 12, 1, 8, 22, 22, 500680).astimezone()
    record_text = local.isoformat(timespec="microseconds")  # how the record writes times
    assert format_time(record_text) == "2026-12-01 08:22:22"
    assert format_time(local) == "2026-12-01 08:22:22"
    assert format_time(local.timestamp()) == "2026-12-01 08:22:22"
    utc = local.astimezone(dt.timezone.utc).isoformat()
    assert format_time(utc) == "2026-12-01 08:22:22"  # shown in local time, whatever the offset written
    assert format_time(utc.replace("+00:00", "Z")) == "2026-12-01 08:22:22"


@pytest.mark.parametrize("unreadable", [None, "", "yesterday", float("inf"), True])
def test_an_unreadable_time_reads_as_a_question_mark(unreadable):
    assert format_time(unreadable) == "?"


@pytest.mark.parametrize(
    ("zone", "stored", "shown"),
    [
        ("UTC", "2026-12-01T08:22:22.500680+00:00", "2026-12-01 08:22:22"),  # local already
        ("UTC", "2026-12-01T08:22:22.500680+05:00", "2026-12-01 03:22:22"),  # saved elsewhere
        ("America/New_York", "2026-07-01T08:22:22.5-04:00", "2026-07-01 08:22:22"),  # summer time
        ("America/New_York", "2026-12-01T08:22:22-05:00", "2026-12-01 08:22:22"),  # winter time
        ("America/New_York", "2026-12-01T08:22:22+00:00", "2026-12-01 03:22:22"),
    ],
)
def test_a_record_time_is_shown_in_the_local_zone_of_the_reader(run_python, zone, stored, shown):
    """The shortcut for times already in local wall time (no parsing) agrees with a full conversion."""
    code = f"from opencrate_nb.core.format import format_time; print(format_time({stored!r}))"
    assert run_python(code, env={"TZ": zone}).stdout.strip() == shown


def test_many_times_read_as_each_does_alone(run_python):
    """format_times (a listing's times in one pass) gives what format_time gives each, whatever the mix."""
    local = dt.datetime(2026, 12, 1, 8, 22, 22, 500680).astimezone()
    record_times = [(local + dt.timedelta(minutes=7 * n)).isoformat(timespec="microseconds") for n in range(500)]
    odd = [
        "",
        "yesterday",
        "2026-12-01T08:22:22Z",
        "2026-12-01T08:22:22+05:00",
        "2026-12-01T08:22:22.5+00:00\n",
        None,
        3,
    ]
    odd.append(f"{record_times[0]}\n{record_times[1]}")  # two record times in one text: not a time
    for whens in (record_times, [*record_times, *odd], odd, [], [record_times[0], "x"], [record_times[0], odd[-1]]):
        assert format_times(whens) == [format_time(when) for when in whens]
    code = (
        "from opencrate_nb.core.format import format_time, format_times\n"
        "whens = ['2026-07-01T08:22:22.5-04:00', '2026-12-01T08:22:22.000001-05:00', '2026-12-01T08:22:22+00:00']\n"
        "assert format_times(whens) == [format_time(w) for w in whens], format_times(whens)\n"
        "assert format_times(whens[:2]) == ['2026-07-01 08:22:22', '2026-12-01 08:22:22']\n"
        "print('ok')"
    )
    assert run_python(code, env={"TZ": "America/New_York"}).stdout.strip() == "ok"  # summer and winter time


def test_cells_read_as_the_notebook_numbers_them_never_as_raw_ids():
    assert cell_label({"execution_count": 5, "cell_id": "31707322-aaaa"}) == "In [5]"
    assert cell_label({"execution_count": None, "cell_id": "31707322-aaaa"}) == "In [ ]"
    assert cell_label({"execution_count": None, "cell_id": None}) is None
    assert cell_label(None) is None
    assert cell_label("In [5]") is None


def test_plural():
    assert plural(1, "artifact") == "1 artifact"
    assert plural(0, "artifact") == "0 artifacts"
    assert plural(2, "entry", "entries") == "2 entries"


# -- one artifact, the same facts in every UI ----------------------------------------------------
def _ls_row(shell, name):
    """The cells of ``name``'s row in ``%crate ls`` (columns split on runs of 2+ spaces)."""
    from _notebook_fixtures import run_captured

    _, out, _, outputs = run_captured(shell, "%crate ls")
    text = out + "".join(o.data.get("text/plain", "") for o in outputs)
    [header, *rows] = text.strip().splitlines()
    columns = re.split(r"\s{2,}", header.strip())
    [row] = [re.split(r"\s{2,}", r.strip()) for r in rows if r.startswith(name + " ")]
    return dict(zip(columns, row))


def _crate_show(capsys, *argv):
    from opencrate_nb.cli import main

    capsys.readouterr()
    assert main(["show", *argv]) == 0
    out = capsys.readouterr().out
    return dict(re.findall(r"^  (\w+) +(.+)$", out, flags=re.M))


def _catalog_item(root, path):
    from opencrate_nb.core import catalog

    for snapshot in catalog.tree(root)["snapshots"]:
        for version in snapshot["versions"]:
            for kind in version["kinds"]:
                for item in kind["artifacts"]:
                    if item["path"] == path:
                        return item
    raise AssertionError(f"{path} is not in the catalog's tree")


def test_one_artifact_reads_the_same_in_every_ui(ip, capsys):
    """crate show, %crate ls, the widget and the catalog's tree (what the sidebar draws) agree."""
    from _notebook_fixtures import require, run

    require("ipywidgets", "the widget browser")
    assert run(ip, "%crate setup same").success
    run(ip, "import opencrate as oc\noc.snapshot.json('m.json').save({'loss': [0.5] * 200})")
    result = run(ip, "oc.snapshot.json('m.json').save({'loss': [0.25] * 9000})")  # several KB: one decimal shown
    assert result.success
    label = f"In [{result.execution_count}]"

    ls = _ls_row(ip, "m.json")
    show = _crate_show(capsys, "same", "0", "m.json")
    item = _catalog_item("snapshots", "same/v0/jsons/m.json")

    size, time = format_size(item["size"]), format_time(item["modified"])
    assert size.endswith(" KB") and label == cell_label(item["cell"])
    assert (ls["size"], ls["modified"], ls["cell"]) == (size, time, label)
    assert (show["size"], show["saved"], show["cell"]) == (size, time, label)
    # the rendered fields of the tree (the sidebar shows them as sent), where the catalog sends them
    rendered = {"size_text": size, "modified_text": time, "cell_label": label}
    assert {k: item[k] for k in rendered if k in item} == {k: v for k, v in rendered.items() if k in item}

    run(ip, "browser = oc.browse(poll=None)")
    browser = ip.user_ns["browser"]
    try:
        browser.expand("same/v0/jsons/m.json")
        row = browser._rows["same/v0/jsons/m.json"]
        assert row.info.value.split(" \u00b7 ")[0] == size
        row.node.click()
        facts = browser._meta.value  # the details pane: each fact once, from the catalog node
        assert label in facts and size in facts and time in facts
    finally:
        browser.close()


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"])
def test_a_local_iso_time_reads_as_datetimes_isoformat(zone, monkeypatch):
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        for seconds in (1_764_590_000.25, 1_751_000_000.0625, 1_700_000_000.5):  # winter, summer, a half second
            when = dt.datetime.fromtimestamp(seconds).astimezone()
            assert local_iso(seconds) == when.isoformat(timespec="microseconds")
            assert local_iso(seconds, 3) == when.isoformat(timespec="milliseconds")
        assert local_iso(1_764_590_000.9999).startswith(
            dt.datetime.fromtimestamp(1_764_590_000).astimezone().isoformat()[:19]
        )  # a fraction never rounds into the next second
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_just_stamped_time_reads_back_as_datetime_reads_it():
    """from_local_iso (the record index's fast path) gives what datetime.fromisoformat gives."""
    import time

    from opencrate_nb.core import _timelines

    now = int(time.time())
    for seconds in (now, now + 0.999999, now + 0.5, now + 0.000001):
        text = local_iso(seconds)
        fast = from_local_iso(text)
        assert fast == dt.datetime.fromisoformat(text).timestamp()
        assert _timelines.parse_time(text) == fast
    assert from_local_iso("2001-01-01T00:00:00.000000+00:00") is None  # not the second last stamped
    assert from_local_iso(local_iso(now, digits=3)) is None
