"""docs/ARCHITECTURE.md's package maps name every module of the product and of the development package."""

from __future__ import annotations

from pathlib import Path

import ridni
import ridni_dev

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _modules(package) -> list[str]:
    root = Path(package.__file__).resolve().parent
    out = []
    for path in sorted(root.rglob("*.py")):
        parts = [package.__name__, *path.relative_to(root).with_suffix("").parts]
        if "versions" in parts or parts[-1] == "__main__":
            continue
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def _mapped(module: str) -> bool:
    """Named in full (`ridni.linkage.run`), a package by its modules (`ridni.ingest.parse`), or in its package's row
    (`ridni.decide` (`engine`, …))."""
    if f"`{module}`" in DOC or f"`{module}." in DOC:  # a package: by its modules' rows
        return True
    package, _, name = module.rpartition(".")
    rows = [line for line in DOC.splitlines() if line.startswith(f"| `{package}`")]
    return any(f"`{name}`" in row for row in rows)


def test_every_module_is_in_the_package_map():
    modules = _modules(ridni) + _modules(ridni_dev)
    assert "ridni.linkage.run" in modules and "ridni_dev.synth.writers" in modules
    assert [m for m in modules if not _mapped(m)] == []
