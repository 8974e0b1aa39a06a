"""Naming versions (opencrate_nb/core/refs.py): numbers, v-names, tags, 'last', 'name/version'."""

import os
import unicodedata

import pytest

from opencrate_nb.core import refs
from opencrate_nb.core.errors import InvalidNameError


@pytest.fixture
def store(workdir):
    for folder in ("run/v0", "run/v1:baseline", "run/v2", "run/v2:other", "other/v0:x", "empty/.hidden"):
        os.makedirs(os.path.join("snapshots", folder))
    return workdir


@pytest.mark.parametrize(
    "ref, folder",
    [
        (0, "v0"),
        ("0", "v0"),
        (1, "v1:baseline"),
        ("v1", "v1:baseline"),
        ("v1:baseline", "v1:baseline"),
        ("baseline", "v1:baseline"),
        ("v2", "v2"),
        ("v2:other", "v2:other"),
        (-1, "v2:other"),
        ("last", "v2:other"),
        (None, "v2:other"),
    ],
)
def test_resolve_forms(store, ref, folder):
    found = refs.resolve(ref, name="run")
    assert (found.name, found.folder) == ("run", folder)
    assert found.dir_path == os.path.join("snapshots", "run", folder)


def test_name_in_the_reference_wins(store):
    assert refs.resolve("other/v0", name="run").label == "other/v0:x"
    assert refs.resolve("other/", name="run").label == "other/v0:x"
    assert refs.resolve("x", name="other").number == 0


def test_errors_name_the_problem_and_the_choices(store):
    with pytest.raises(refs.VersionNotFoundError, match=r"'run' has no version 'v7'. Versions: v0, v1:baseline"):
        refs.resolve("v7", name="run")
    with pytest.raises(refs.VersionNotFoundError, match="No snapshot named 'nope'"):
        refs.resolve(0, name="nope")
    with pytest.raises(refs.VersionNotFoundError, match="out of range"):
        refs.resolve(-9, name="run")
    with pytest.raises(InvalidNameError, match="Which snapshot"):
        refs.resolve(1)
    with pytest.raises(InvalidNameError, match="Invalid version True"):
        refs.resolve(True, name="run")
    with pytest.raises(InvalidNameError, match="the part before '/'"):
        refs.resolve("/v1", name="run")


def test_a_number_matching_a_tagged_and_an_untagged_folder_is_an_error_naming_both(store):
    for ref in (2, "2", "run/2"):
        with pytest.raises(refs.VersionNotFoundError, match=r"Version .* of 'run' is ambiguous") as caught:
            refs.resolve(ref, name="run")
        assert "'v2' or 'v2:other'" in str(caught.value)
    # written out, each folder is named exactly
    assert refs.resolve("v2", name="run").folder == "v2"
    assert refs.resolve("v2:other", name="run").folder == "v2:other"
    assert refs.resolve("other", name="run").folder == "v2:other"


def test_a_number_matching_one_folder_resolves_to_it_whatever_its_tag(store):
    os.rmdir(os.path.join("snapshots", "run", "v2"))
    assert refs.resolve(2, name="run").folder == "v2:other"
    assert refs.resolve("v2", name="run").folder == "v2:other"
    os.makedirs(os.path.join("snapshots", "run", "v2:third"))
    with pytest.raises(refs.VersionNotFoundError, match="'v2:other' or 'v2:third'"):
        refs.resolve("v2", name="run")


def test_listing(store):
    assert refs.list_names() == ["other", "run"]
    assert [r.folder for r in refs.list_versions("snapshots", "run")] == ["v0", "v1:baseline", "v2", "v2:other"]
    assert [r.label for r in refs.iter_versions()] == [
        "other/v0:x",
        "run/v0",
        "run/v1:baseline",
        "run/v2",
        "run/v2:other",
    ]
    with pytest.raises(refs.VersionNotFoundError, match="Names: other, run"):
        refs.iter_versions(name="missing")
    ref = refs.resolve(0, name="run")
    assert ref == refs.resolve("v0", name="run") and len({ref, refs.resolve("0", name="run")}) == 1
    assert ref.to_dict()["version"] == "v0"


def test_decomposed_spellings_find_the_version_setup_stored(oc):
    oc.snapshot.setup(name="caf\u00e9", start="new", tag="\u00e9t\u00e9")
    ref = refs.resolve("cafe\u0301/v0:e\u0301te\u0301")
    assert (ref.name, ref.folder) == ("caf\u00e9", "v0:\u00e9t\u00e9")


def test_a_folder_written_in_another_spelling_is_found_by_either(workdir):
    tag = "\u00e9t\u00e9"
    decomposed = unicodedata.normalize("NFD", tag)
    os.makedirs(os.path.join("snapshots", "run", f"v4:{decomposed}"))  # as a pull that did not normalise wrote it
    for ref in (tag, decomposed, f"v4:{tag}", f"v4:{decomposed}", 4, "last"):
        assert refs.resolve(ref, name="run").folder == f"v4:{decomposed}", ref


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u202e", "\udcff"])
def test_a_reference_with_a_refused_character_is_refused_naming_it(store, char):
    for ref, name in (
        (f"v1:baseline{char}", "run"),
        (f"baseline{char}", "run"),
        (0, f"run{char}"),
        (f"run{char}/v0", None),
    ):
        with pytest.raises(InvalidNameError, match=f"U\\+{ord(char):04X}"):
            refs.resolve(ref, name=name)
    with pytest.raises(InvalidNameError, match=f"U\\+{ord(char):04X}"):
        refs.iter_versions("snapshots", f"run{char}")
