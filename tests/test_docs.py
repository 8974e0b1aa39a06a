"""docs/: every ```python example of the core pages runs, in a fresh interpreter and an empty folder."""

import os
import re

import pytest
from _notebook_fixtures import REPO

PAGES = [
    "snapshots.md",
    "logging.md",
    "artifacts.md",
    "custom-handlers.md",
    "safety.md",
    "reproduce.md",
    "compare.md",
    "distributed.md",
    "remote.md",
]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def examples(page):
    with open(os.path.join(REPO, "docs", page), encoding="utf-8") as f:
        return BLOCK.findall(f.read())


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page, tmp_path, run_python):
    blocks = examples(page)
    assert blocks, f"docs/{page} has no python example"
    for number, code in enumerate(blocks, 1):
        folder = tmp_path / f"example{number}"
        folder.mkdir()
        result = run_python(code, cwd=folder, check=False)
        assert result.returncode == 0, f"docs/{page} example {number} failed:\n{code}\n{result.stderr}"
