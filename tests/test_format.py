"""core/format.py: how sizes, times, counts and saving cells read in every UI."""

import datetime as dt

import pytest

from opencrate_nb.core.format import cell_label, format_size, format_time, plural


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
