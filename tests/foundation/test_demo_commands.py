"""``bash bin/test`` runs every test: a skipped test fails the run (the ``pytest11`` plugin of ridni-dev), and
bin/test installs the browser the browser tests need when it is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pytest(folder: Path, body: str) -> subprocess.CompletedProcess:
    (folder / "test_sample.py").write_text(body)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
                          cwd=folder, capture_output=True, text=True, timeout=120)


def test_a_skipped_test_fails_the_run_and_is_named(tmp_path):
    run = _pytest(tmp_path, "import pytest\n\n"
                            "def test_runs():\n    assert True\n\n"
                            "@pytest.mark.skipif(True, reason='chromium is missing')\n"
                            "def test_needs_a_browser():\n    assert True\n")
    assert run.returncode == 1, run.stdout
    assert "skipped tests fail this run" in run.stdout
    assert "test_sample.py::test_needs_a_browser: chromium is missing" in run.stdout


def test_a_run_without_skips_passes_and_an_expected_failure_is_not_a_skip(tmp_path):
    run = _pytest(tmp_path, "import pytest\n\n"
                            "def test_runs():\n    assert True\n\n"
                            "@pytest.mark.xfail(reason='known', strict=True)\n"
                            "def test_known_failure():\n    assert False\n")
    assert run.returncode == 0, run.stdout
    assert "skipped tests fail this run" not in run.stdout


def test_bin_test_installs_the_browser_when_it_is_missing():
    """bin/test calls bin/install-browser before pytest when Debian's chromium is not there (read from the
    script: running it here would run the whole suite)."""
    script = (ROOT / "bin" / "test").read_text()
    install = script.index('bash "$ROOT/bin/install-browser"')
    assert script.index("[ ! -x /usr/bin/chromium ]") < install < script.index("python -m pytest")
    assert "/usr/bin/chromium" in (ROOT / "bin" / "install-browser").read_text()
