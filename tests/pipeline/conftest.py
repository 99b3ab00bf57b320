"""A night of generated extracts in a folder of the test's own, and the settings pointing at it."""

from __future__ import annotations

import datetime as dt

import pytest

from ridni.synth import generate

START = dt.date(2026, 11, 1)


@pytest.fixture
def night_env(tmp_path, monkeypatch):
    """Point the pipeline's settings at a temporary data folder; returns a function that fills it."""
    monkeypatch.setenv("RIDNI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RIDNI_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("RIDNI_ARCHIVE", str(tmp_path / "archive"))
    monkeypatch.setenv("RIDNI_EXPORTS", str(tmp_path / "exports"))
    monkeypatch.setenv("RIDNI_DATA_DOCS", str(tmp_path / "data_docs"))
    monkeypatch.setenv("RIDNI_PSEUDONYM_KEY", "test-key-not-secret")

    def fill(persons: int = 400, nights: int = 1, faults=(), seed: int = 7):
        return generate(tmp_path, seed=seed, persons=persons, nights=nights, start_date=START, faults=faults)

    return fill
