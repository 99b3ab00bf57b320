"""Secrets stay out of the repository; the demo's own pseudonymisation key is for its owner only."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess

import pytest

from ridni.config import PROJECT_ROOT
from ridni.privacy import pseudonym_key

SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|KEY|CONN_", re.I)
PLACEHOLDERS = {"", "change-me"}


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=False)


@pytest.mark.skipif(shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists(), reason="not a git checkout")
def test_env_files_and_the_demo_key_are_git_ignored_and_untracked():
    for path in (".env", "var/pseudonym.key"):
        assert _git("check-ignore", "-q", path).returncode == 0, f"{path} is not git-ignored"
        assert _git("ls-files", "--error-unmatch", path).returncode != 0, f"{path} is tracked"


def test_env_example_holds_no_secret_values():
    lines = (PROJECT_ROOT / ".env.example").read_text().splitlines()
    pairs = [ln.split("=", 1) for ln in lines if "=" in ln and not ln.lstrip().startswith("#")]
    secrets = {k: v.strip() for k, v in pairs if SECRET_NAME.search(k)}
    assert secrets, "the example names the secrets a deployment must provide"
    filled = {k: v for k, v in secrets.items() if v not in PLACEHOLDERS}
    assert not filled, f"values in .env.example: {sorted(filled)}"


def test_the_demo_key_is_generated_once_for_the_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv("RIDNI_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_RIDNI_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("RIDNI_DATA_DIR", str(tmp_path))
    key = pseudonym_key()
    path = tmp_path / "pseudonym.key"
    assert len(key) >= 64 and path.read_bytes().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pseudonym_key() == key, "the same key on every call (pseudonyms stable from night to night)"
    monkeypatch.setenv("RIDNI_PSEUDONYM_KEY", "from-the-secret-store")
    assert pseudonym_key() == b"from-the-secret-store", "a configured key wins over the demo's file"
