"""The snippet's size budget, and the built files in js-snippet/dist being what src/ builds to."""

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

SNIPPET = Path(__file__).resolve().parent.parent / "js-snippet"
BUDGET = 3000  # bytes of dist/hr.min.js after gzip -9


def gzipped_size(path: Path) -> int:
    """What `gzip -9c FILE | wc -c` counts (the header names the file)."""
    if shutil.which("gzip"):
        return len(subprocess.run(["gzip", "-9c", str(path)], check=True, capture_output=True).stdout)
    return len(gzip.compress(path.read_bytes(), 9)) + len(path.name) + 1


def test_core_snippet_fits_the_budget():
    """dist/hr.min.js is at most 3,000 bytes gzipped; the widget is not part of the budget."""
    size = gzipped_size(SNIPPET / "dist" / "hr.min.js")
    assert size <= BUDGET, f"hr.min.js is {size} bytes gzipped, over the budget of {BUDGET}"
    print(f"hr.min.js: {size} bytes gzipped (budget {BUDGET})")


def test_built_files_are_a_fresh_build_of_the_sources(tmp_path):
    """build.sh run now gives dist/ byte for byte: nobody edited the built files or forgot to build."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are needed to build the snippet (CI has them)")
    subprocess.run(["sh", str(SNIPPET / "build.sh"), str(tmp_path)], check=True, capture_output=True)
    for name in ("hr.min.js", "widget.min.js"):
        fresh, committed = (tmp_path / name).read_bytes(), (SNIPPET / "dist" / name).read_bytes()
        assert fresh == committed, f"dist/{name} differs from a fresh build of src/: run js-snippet/build.sh"
