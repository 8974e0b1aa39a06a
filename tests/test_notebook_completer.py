"""Tab completion of %crate (opencrate_nb/notebook/completer.py), through IPython's own completer."""

import pytest
from _notebook_fixtures import run
from IPython.core.completer import provisionalcompleter

import opencrate as oc
from opencrate_nb.notebook import completer, magics

# shell.complete() is IPython's legacy API (pending deprecation); both APIs are checked
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


def complete(shell, line):
    """What IPython offers for ``line`` with the cursor at its end (legacy and new APIs agree)."""
    _, matches = shell.complete("", line, len(line))
    with provisionalcompleter():
        texts = [c.text for c in shell.Completer.completions(line, len(line))]
    assert sorted(set(matches)) == sorted(set(texts)), (matches, texts)
    return sorted(set(matches))


def ours(shell, line):
    """What the %crate matcher itself proposes (None: not a %crate line)."""
    part = completer.magic_part(line)
    return None if part is None else completer.candidates(part, shell)


def test_subcommands(ip):
    assert complete(ip, "%crate ") == sorted(magics.COMMANDS)
    assert complete(ip, "%crate s") == ["save", "setup", "show", "status"]
    assert complete(ip, "%crate ba") == ["backup", "backups"]
    assert complete(ip, "%%crate s") == ["save"]
    assert complete(ip, "%crate help lo") == ["load", "log"]


def test_artifact_names(crate):
    oc.snapshot.json("metrics.json").save({})
    oc.snapshot.json("model_card.json").save({})
    oc.snapshot.text("notes.txt").save("x")
    for sub in ("show", "load", "backup", "backups", "rm", "save", "ls"):
        assert complete(crate, f"%crate {sub} m") == ["metrics.json", "model_card.json"], sub
    assert complete(crate, "%crate show ") == ["metrics.json", "model_card.json", "notes.txt"]
    assert complete(crate, "%%crate save no") == ["notes.txt"]
    assert complete(crate, "x = %crate load no") == ["notes.txt"]


def test_names_with_colons(crate):
    oc.snapshot.text("run.backup_11:46:37.txt").save("x")
    # IPython's token starts after ':', so only the rest of the name is inserted
    assert complete(crate, "%crate show run.backup_11:4") == ["46:37.txt"]


def test_options_and_their_values(crate):
    oc.snapshot.json("metrics.json").save({})
    assert complete(crate, "%crate load metrics.json --k") == ["--kind"]
    assert "json" in complete(crate, "%crate load metrics.json --kind ")
    assert complete(crate, "%crate log --level w") == ["warning"]
    assert complete(crate, "%crate setup x --log-level d") == ["debug"]
    assert complete(crate, "%crate capture o") == ["off", "on"]
    assert "--confirm" in complete(crate, "%crate rm metrics.json --")
    # after an option's value, positionals count again
    assert complete(crate, "%crate show --kind json m") == ["metrics.json"]


def test_variables_and_snapshot_names(crate):
    run(crate, "my_frame = 1\nmy_dict = 2")
    assert complete(crate, "%crate save out.json my_") == ["my_dict", "my_frame"]
    assert complete(crate, "%crate setup nb") == ["nbtest"]


def test_version_names_for_diff(crate):
    run(crate, "%crate setup nbtest --tag second")
    assert complete(crate, "%crate diff ") == ["v0", "v1:second"]
    assert complete(crate, "%crate diff v0 v1:s") == ["second"]  # the token starts after ':'
    assert complete(crate, "%crate browse --") == ["--root"]


def test_nothing_to_complete(crate):
    assert ours(crate, "%crate status ") == []
    assert ours(crate, "%crate nosuch ") == []
    assert ours(crate, "print(1)") is None
    assert ours(crate, "y = f(%crate ") is None


def test_without_a_snapshot(ip):
    assert ours(ip, "%crate show ") == []
    assert complete(ip, "%crate show x --kind j") == ["json"]


def test_a_failing_lookup_completes_nothing_quietly(crate, monkeypatch, capsys):
    def broken():
        raise RuntimeError("record unreadable")

    monkeypatch.setattr(oc.snapshot, "list_artifacts", broken)
    matcher = completer.make_matcher(crate)
    from IPython.core.completer import CompletionContext

    context = CompletionContext(token="", full_text="%crate show ", cursor_position=12, cursor_line=0, limit=None)
    assert matcher(context)["completions"] == []
    assert "record unreadable" not in capsys.readouterr().err


@pytest.mark.parametrize("line", ["%crate", "%crate sh"])
def test_removed_on_unload(crate, line):
    crate.run_line_magic("unload_ext", "opencrate")
    assert "show" not in complete(crate, "%crate sh")
