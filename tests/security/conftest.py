"""Fixtures of the security tests: a night of generated drops in a folder of the test's own."""

from __future__ import annotations

import pytest
from secutil import START, point_settings


@pytest.fixture
def night_env(tmp_path, monkeypatch):
    """Point the pipeline's settings at ``tmp_path``; returns a function that fills it with generated drops
    (and their ground truth). The same as the pipeline tests' fixture of that name."""
    from ridni_dev.synth import generate

    point_settings(monkeypatch.setenv, tmp_path)

    def fill(persons: int = 120, nights: int = 1, faults=(), seed: int = 7):
        return generate(tmp_path, seed=seed, persons=persons, nights=nights, start_date=START, faults=faults)

    return fill
