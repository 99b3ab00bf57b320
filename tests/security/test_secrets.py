"""Secrets stay out of the repository; the demo's own pseudonymisation key is for its owner only."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess

import pytest

from ridni.config import PROJECT_ROOT
from ridni.privacy import PseudonymKeyMissing, demo_key, pseudonym_key

SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|KEY|CONN_", re.I)
PLACEHOLDERS = {"", "change-me"}


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=False
    )


@pytest.mark.skipif(
    shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists(), reason="not a git checkout"
)
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
    monkeypatch.setenv("RIDNI_DATA_DIR", str(tmp_path))
    key = demo_key()
    path = tmp_path / "pseudonym.key"
    assert len(key) >= 64 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert demo_key() == key, "the same key on every call (pseudonyms stable from night to night)"


def test_without_a_key_there_is_no_pseudonym_and_no_made_up_key(tmp_path, monkeypatch):
    monkeypatch.delenv("RIDNI_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_RIDNI_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("RIDNI_DATA_DIR", str(tmp_path))
    with pytest.raises(PseudonymKeyMissing, match="ridni_pseudonym_key.*RIDNI_PSEUDONYM_KEY"):
        pseudonym_key()
    assert not any(tmp_path.iterdir()), "no key file made up on the spot"
    monkeypatch.setenv("AIRFLOW_CONN_RIDNI_PSEUDONYM_KEY", "generic://:from-the-secret-store@")
    assert pseudonym_key() == b"from-the-secret-store"
    monkeypatch.setenv("RIDNI_PSEUDONYM_KEY", "from-the-environment")
    assert pseudonym_key() == b"from-the-environment"


def test_the_example_env_makes_the_missing_key_obvious():
    lines = (PROJECT_ROOT / ".env.example").read_text().splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("AIRFLOW_CONN_RIDNI_PSEUDONYM_KEY="))
    comment = " ".join(lines[max(0, at - 4) : at])
    assert "REQUIRED" in comment and "refuses to publish" in comment


def test_a_night_without_a_key_is_not_published_then_is_with_one(
    night_env, fresh_warehouse, monkeypatch, tmp_path
):
    """Outside the demo, no key is a refusal to publish with a clear error: no marts, no exports, no pseudonym
    made with a key of the moment; the same night with the deployment's key publishes."""
    import sqlalchemy as sa
    from secutil import START

    from ridni.night import run_night
    from ridni_dev.demo import run_night_in_process

    _, engine = fresh_warehouse
    night_env(persons=60)
    monkeypatch.delenv("RIDNI_PSEUDONYM_KEY")
    monkeypatch.delenv("AIRFLOW_CONN_RIDNI_PSEUDONYM_KEY", raising=False)
    steps = {r.step: r for r in run_night(engine, START)}
    assert (steps["publish"].status, steps["publish"].reason) == ("failed", PseudonymKeyMissing.__name__)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM marts.change_log")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM marts.headline")).scalar() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM core.source_record")).scalar() > 0, "ingest ran"
    assert not (tmp_path / "exports").exists() or not any((tmp_path / "exports").iterdir())
    assert not (tmp_path / "pseudonym.key").exists()

    monkeypatch.setenv("RIDNI_PSEUDONYM_KEY", "the-deployment-key")
    assert run_night_in_process(engine, START)["publish_hq"] == "success"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM marts.change_log")).scalar() > 0
    assert any((tmp_path / "exports").iterdir())
