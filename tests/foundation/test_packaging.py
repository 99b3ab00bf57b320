"""The production image installs the product package only: its wheel holds ``ridni`` with every data file
the code reads (contracts, rules, migrations, name tables, the page's script and catalogs), and none of the
development tools (``ridni_dev``: synth, demo, bench, accuracy)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_product_wheel_holds_the_product_and_its_data_only(tmp_path):
    # what the Dockerfile copies, in a clean folder (no build/ left over from another build)
    source_tree = tmp_path / "src"
    shutil.copytree(ROOT / "include", source_tree / "include", ignore=shutil.ignore_patterns("*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source_tree / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), str(source_tree)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("ridni-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not any(n.startswith("ridni_dev") or "/synth/" in n for n in names)
    packaged = {n for n in names if n.startswith("ridni/") and not n.endswith(".py")}
    source = {str(p.relative_to(ROOT / "include")) for p in (ROOT / "include" / "ridni").rglob("*")
              if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    assert source - packaged == set(), "data files the code reads but the wheel leaves out"
    assert "ridni/contracts/npu_appeals.yaml" in packaged and "ridni/standardise/data/given_names.csv" in packaged
