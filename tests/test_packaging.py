"""pyproject.toml and what ships with it: one version, one license, and install hints that install what they name."""

import ast
import json
import os
import re
import sys

import pytest
from _notebook_fixtures import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

with open(os.path.join(REPO, "pyproject.toml"), "rb") as _f:
    PYPROJECT = tomllib.load(_f)
PROJECT = PYPROJECT["project"]
SELF = canonicalize_name(PROJECT["name"])
SOURCE = os.path.join(REPO, "opencrate_nb")


def _package_json():
    with open(os.path.join(REPO, "labextension", "package.json"), encoding="utf-8") as f:
        return json.load(f)


def _base_packages():
    return {canonicalize_name(Requirement(line).name) for line in PROJECT["dependencies"]}


def _extra_packages(extra):
    """What ``pip install "opencrate-nb[extra]"`` adds to the base dependencies (other extras it names included)."""
    extras = PROJECT["optional-dependencies"]
    assert extra in extras, f"no extra {extra!r} in pyproject.toml; the extras are {sorted(extras)}"
    found = set()
    for line in extras[extra]:
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) == SELF:
            for other in requirement.extras:
                found |= _extra_packages(other)
        else:
            found.add(canonicalize_name(requirement.name))
    return found


def _source_files():
    for folder, _, files in os.walk(SOURCE):
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def _require_calls():
    """Every ``require(module, extra, purpose)`` in opencrate_nb, as (where, module, extra)."""
    calls = []
    for path in _source_files():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "require":
                where = f"{os.path.relpath(path, REPO)}:{node.lineno}"
                module, extra = node.args[0], node.args[1]
                assert isinstance(module, ast.Constant), f"{where}: the module must be a literal"
                if isinstance(extra, ast.Name):
                    assert extra.id in constants, f"{where}: {extra.id} must be a module-level constant"
                    extra_value = constants[extra.id]
                else:
                    assert isinstance(extra, ast.Constant), f"{where}: the extra must be a literal or a constant"
                    extra_value = extra.value
                calls.append((where, module.value, extra_value))
    return calls


def _string_literals():
    for path in _source_files():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield f"{os.path.relpath(path, REPO)}:{node.lineno}", node.value


# -- one version --------------------------------------------------------------------------------


def test_the_version_is_written_once_and_the_sidebar_follows_it():
    import opencrate
    import opencrate_nb

    assert "version" in PROJECT.get("dynamic", []) and "version" not in PROJECT
    source = PYPROJECT["tool"]["hatch"]["version"]["path"]
    with open(os.path.join(REPO, source), encoding="utf-8") as f:
        written = re.findall(r'^__version__ = "([^"]+)"$', f.read(), re.M)
    assert written == [opencrate_nb.__version__]
    assert opencrate.__version__ == opencrate_nb.__version__
    assert _package_json()["version"] == opencrate_nb.__version__, (
        "labextension/package.json must carry the version of opencrate_nb/__init__.py"
    )


# -- license ------------------------------------------------------------------------------------


def test_the_license_file_field_and_sidebar_agree():
    assert PROJECT["license"] == "BSD-3-Clause"
    assert PROJECT["license-files"] == ["LICENSE"]
    with open(os.path.join(REPO, "LICENSE"), encoding="utf-8") as f:
        text = f.read()
    assert text.startswith("BSD 3-Clause License\n")
    assert "Copyright (c) 2026, opencrate-nb maintainers" in text
    assert "Neither the name of the copyright holder" in text  # the third clause
    assert _package_json()["license"] == PROJECT["license"]


# -- typed --------------------------------------------------------------------------------------


@pytest.mark.parametrize("package", ["opencrate_nb", "opencrate"])
def test_both_packages_ship_a_py_typed_marker(package):
    assert package in PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert os.path.isfile(os.path.join(REPO, package, "py.typed"))


# -- install hints ------------------------------------------------------------------------------


def test_every_require_names_an_extra_that_brings_its_package():
    from opencrate_nb.core.handlers._base import package_for

    calls = _require_calls()
    assert len(calls) >= 20, "the scan should find the handlers' require() calls"
    wrong = []
    for where, module, extra in calls:
        package = canonicalize_name(package_for(module))
        if extra is None:
            if package not in _base_packages():
                wrong.append(f"{where}: {package} is not a base dependency: name the extra that brings it")
        elif package not in _extra_packages(extra):
            wrong.append(f"{where}: the [{extra}] extra does not bring {package}")
    assert wrong == []


def _documents():
    names = ["README.md", "CONTRIBUTING.md"] + [
        os.path.join("docs", n) for n in sorted(os.listdir(os.path.join(REPO, "docs")))
    ]
    for name in names:
        if name.endswith(".md"):
            with open(os.path.join(REPO, name), encoding="utf-8") as f:
                yield name, f.read()


def test_every_pip_install_in_a_message_or_a_document_installs_what_it_names():
    declared = {SELF} | _base_packages()
    declared |= {p for extra in PROJECT["optional-dependencies"] for p in _extra_packages(extra)}
    hints = 0
    for where, text in [*_string_literals(), *_documents()]:
        for extras in re.findall(r"(?:opencrate-nb|\.)\[([a-z,]+)\]", text):
            hints += 1
            for extra in extras.split(","):
                assert extra in PROJECT["optional-dependencies"], f"{where}: no extra [{extra}]"
        for package in re.findall(r"pip install ([A-Za-z][A-Za-z0-9_.-]*)", text):
            hints += 1
            assert canonicalize_name(package) in declared, f"{where}: {package} is not a dependency of ours"
    assert hints >= 5, "the scan should find the hints of the browser, the README and CONTRIBUTING.md"


def test_a_missing_base_dependency_is_named_by_its_pip_name():
    from opencrate_nb.core.errors import MissingDependencyError
    from opencrate_nb.core.handlers._base import package_for, require

    assert package_for("PIL.Image") == "Pillow" and package_for("imageio_ffmpeg") == "imageio-ffmpeg"
    with pytest.raises(MissingDependencyError) as raised:
        require("no_such_library_xyz.sub", None, "Reading xyz files")
    assert str(raised.value) == (
        "Reading xyz files needs the 'no_such_library_xyz' package, which is not installed. "
        "Install it with: pip install no_such_library_xyz"
    )


def test_a_missing_optional_library_names_its_extra():
    from opencrate_nb.core.errors import MissingDependencyError
    from opencrate_nb.core.handlers import require

    with pytest.raises(MissingDependencyError, match=r'Install it with: pip install "opencrate-nb\[torch\]"$'):
        require("no_such_library_xyz", "torch", "Saving checkpoints")


# -- what an install gives (tests/test_install.py installs the built wheel and runs it) ------------


def test_the_crate_console_script_is_the_cli_main():
    import importlib

    import opencrate_nb.cli

    module, _, function = PROJECT["scripts"]["crate"].partition(":")
    assert getattr(importlib.import_module(module), function) is opencrate_nb.cli.main
    assert PROJECT["scripts"] == {"crate": "opencrate_nb.cli:main"}


def test_all_brings_jupyterlab_a_kernel_and_the_widgets_so_jupyter_lab_works():
    lab = _extra_packages("lab")
    assert {"jupyterlab", "ipykernel", "ipywidgets"} <= lab
    assert lab <= _extra_packages("all")
    assert {"torch", "h5py", "onnx", "joblib"} <= _extra_packages("all")
    assert "keras" not in _extra_packages("all")  # it needs a backend the user picks (README: Extras)
    assert {"keras", "h5py"} <= _extra_packages("keras")
    assert "keras" in _extra_packages("test") and "onnx" in _extra_packages("all")
