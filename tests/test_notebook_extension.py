"""Loading and unloading the IPython extension (opencrate_nb/notebook/_extension.py)."""

import os
import subprocess
import sys
import textwrap

from _notebook_fixtures import REPO, require, reset_extension, run

from opencrate_nb.notebook import _extension, capture, completer, preview


def _callbacks(shell, event):
    return [
        cb for cb in shell.events.callbacks[event] if getattr(cb, "__self__", None).__class__.__name__ == "CellCapture"
    ]


def _html_printers(shell):
    formatter = shell.display_formatter.formatters["text/html"]
    return {cls: formatter.type_printers.get(cls) for cls, _ in preview.formatter_table()}


def _matchers(shell):
    return [
        m for m in shell.Completer.custom_matchers if getattr(m, "matcher_identifier", None) == completer.MATCHER_ID
    ]


def _registered(shell):
    return {
        "line": shell.find_line_magic("crate") is not None,
        "cell": shell.find_cell_magic("crate") is not None,
        "pre": len(_callbacks(shell, "pre_run_cell")),
        "post": len(_callbacks(shell, "post_run_cell")),
        "html": sum(1 for f in _html_printers(shell).values() if f is not None),
        "matchers": len(_matchers(shell)),
    }


ALL_ON = {"line": True, "cell": True, "pre": 1, "post": 1, "html": 4, "matchers": 1}
ALL_OFF = {"line": False, "cell": False, "pre": 0, "post": 0, "html": 0, "matchers": 0}


def test_load_registers_everything_once(shell):
    assert _registered(shell) == ALL_OFF
    shell.run_line_magic("load_ext", "opencrate")
    assert _registered(shell) == ALL_ON
    assert _extension.state_of(shell) is not None


def test_loading_twice_and_under_both_names_registers_once(shell):
    shell.run_line_magic("load_ext", "opencrate")
    shell.run_line_magic("load_ext", "opencrate")
    shell.run_line_magic("load_ext", "opencrate_nb")
    from opencrate_nb.notebook import load_ipython_extension

    load_ipython_extension(shell)
    assert _registered(shell) == ALL_ON


def test_unload_removes_everything(shell):
    original_stdout, original_stderr = sys.stdout, sys.stderr
    shell.run_line_magic("load_ext", "opencrate")
    run(shell, "print('a cell, so that the tees are installed')")
    shell.run_line_magic("unload_ext", "opencrate")
    assert _registered(shell) == ALL_OFF
    assert _extension.state_of(shell) is None
    assert "CrateMagics" not in shell.magics_manager.registry
    assert sys.stdout is original_stdout and sys.stderr is original_stderr
    assert not isinstance(sys.stdout, capture._Tee)
    # the output hooks are gone too
    assert "publish" not in vars(shell.display_pub)
    assert "_showtraceback" not in vars(shell)
    result = run(shell, "%crate status")
    assert result.error_in_exec is not None  # the magic no longer exists


def test_unload_keeps_formatters_registered_by_others_since(shell):
    shell.run_line_magic("load_ext", "opencrate")
    from opencrate_nb.core.handlers import AudioClip

    formatter = shell.display_formatter.formatters["text/html"]

    def theirs(obj):
        return "<i>theirs</i>"

    formatter.for_type(AudioClip, theirs)
    try:
        shell.run_line_magic("unload_ext", "opencrate")
        assert formatter.type_printers.get(AudioClip) is theirs
    finally:
        formatter.pop(AudioClip, None)


def test_reload_ext_registers_once_and_still_works(crate):
    crate.run_line_magic("reload_ext", "opencrate")
    crate.run_line_magic("reload_ext", "opencrate")
    assert _registered(crate) == ALL_ON
    result = run(crate, "print('after reload')")
    assert result.success
    from _notebook_fixtures import cell_entries

    entries = [e for e in cell_entries() if e["source"] == "print('after reload')"]
    assert len(entries) == 1  # captured once, not once per load


def test_load_after_unload_works_again(shell):
    for _ in range(2):
        shell.run_line_magic("load_ext", "opencrate")
        assert _registered(shell) == ALL_ON
        shell.run_line_magic("unload_ext", "opencrate")
        assert _registered(shell) == ALL_OFF


def test_load_only_registers(shell, workdir):
    shell.run_line_magic("load_ext", "opencrate")
    import opencrate as oc

    assert not oc.snapshot.is_set_up
    assert os.listdir(workdir) == []  # nothing written, nothing set up


def test_import_opencrate_does_not_import_ipython():
    code = (
        "import sys, opencrate, opencrate_nb; opencrate.snapshot; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('IPython', 'ipykernel', 'ipywidgets')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": REPO}
    )
    assert out.stdout.strip() == "[]"


LOAD_ONLY = textwrap.dedent("""
    import sys
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    heavy = ("numpy", "pandas", "torch", "ipywidgets", "fsspec", "opencrate_nb.notebook.magics._artifacts")
    shell.run_line_magic("load_ext", "opencrate")
    print("after load:", sorted(m for m in heavy if m in sys.modules))
    shell.run_line_magic("crate", "help")
    print("after %crate:", "opencrate_nb.notebook.magics._artifacts" in sys.modules)
""")


def test_load_ext_imports_only_what_capture_and_the_magics_entry_need():
    """The subcommand groups, the browser and data libraries wait for the first ``%crate`` that needs them."""
    out = subprocess.run(
        [sys.executable, "-c", LOAD_ONLY],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": REPO},
    )
    assert "after load: []" in out.stdout, out.stdout + out.stderr
    assert "after %crate: True" in out.stdout


def test_extension_from_interactive_shell_app_config(tmp_path):
    """``c.InteractiveShellApp.extensions = ["opencrate"]`` in a profile loads it at start-up."""
    require("IPython", "the IPython application")
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_config.py").write_text('c.InteractiveShellApp.extensions = ["opencrate"]\n')
    code = textwrap.dedent("""
        ip = get_ipython()
        print("magic:", ip.find_line_magic("crate") is not None)
        print("hooks:", len(ip.events.callbacks["pre_run_cell"]))
    """)
    env = {**os.environ, "PYTHONPATH": REPO, "IPYTHONDIR": str(tmp_path / "ipython")}
    out = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "magic: True" in out.stdout, out.stdout + out.stderr
    assert "Error" not in out.stderr, out.stderr


def test_reset_helper_leaves_a_clean_shell(shell):
    shell.run_line_magic("load_ext", "opencrate_nb")
    reset_extension(shell)
    assert _registered(shell) == ALL_OFF
