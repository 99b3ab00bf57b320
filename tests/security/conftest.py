"""Fixtures of the security tests: a night of generated drops in a folder of the test's own."""

from __future__ import annotations

import datetime as dt

import pytest

START = dt.date(2026, 11, 1)
PSEUDONYM_KEY = "test-key-not-secret"


def point_settings(setenv, root) -> None:
    """Point every pipeline setting at ``root`` (``setenv(name, value)``)."""
    setenv("RIDNI_DATA_DIR", str(root))
    setenv("RIDNI_LANDING", str(root / "landing"))
    setenv("RIDNI_ARCHIVE", str(root / "archive"))
    setenv("RIDNI_EXPORTS", str(root / "exports"))
    setenv("RIDNI_DATA_DOCS", str(root / "data_docs"))
    setenv("RIDNI_PSEUDONYM_KEY", PSEUDONYM_KEY)


@pytest.fixture
def night_env(tmp_path, monkeypatch):
    """Point the pipeline's settings at ``tmp_path``; returns a function that fills it with generated drops
    (and their ground truth). The same as the pipeline tests' fixture of that name."""
    from ridni_dev.synth import generate

    point_settings(monkeypatch.setenv, tmp_path)

    def fill(persons: int = 120, nights: int = 1, faults=(), seed: int = 7):
        return generate(tmp_path, seed=seed, persons=persons, nights=nights, start_date=START, faults=faults)

    return fill
