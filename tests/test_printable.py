"""core/_printable.py: names that are not UTF-8 as text that can be shown and sent."""

import io
import json

from opencrate_nb.core._printable import escape_on, is_unicode, printable, printable_json

UNDECODABLE = b"odd\xff.json".decode("utf-8", "surrogateescape")  # what os.listdir gives for that file


def test_valid_names_are_unchanged_and_undecodable_bytes_become_escapes():
    assert printable("métriques.json") == "métriques.json" and is_unicode("métriques.json")
    assert not is_unicode(UNDECODABLE) and printable(UNDECODABLE) == "odd\\xff.json"
    assert printable("a\ud800b") == "a\\ud800b"  # a surrogate no file name decoding made


def test_json_stays_valid_utf8_and_decodes_to_the_printable_name():
    text = printable_json({"name": UNDECODABLE, "ok": "é"})
    text.encode("utf-8")
    assert json.loads(text) == {"name": "odd\\xff.json", "ok": "é"}


def test_a_stream_writes_undecodable_names_escaped():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    escape_on(stream)
    stream.write(f"untracked {UNDECODABLE}\n")
    stream.flush()
    assert raw.getvalue() == b"untracked odd\\xff.json\n"
