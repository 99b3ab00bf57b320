"""Shared generated runs for the synth tests (small populations; each generated once per session)."""

from __future__ import annotations

import pytest
from synth_files import ALL_FAULTS, START

from ridni_dev.synth import generate


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    """Two clean nights of a small population."""
    out = tmp_path_factory.mktemp("synth_clean")
    return generate(out, seed=7, persons=1000, nights=2, start_date=START)


@pytest.fixture(scope="session")
def faulty(tmp_path_factory):
    """Two nights with every fault injected once, each on its default source."""
    out = tmp_path_factory.mktemp("synth_faults")
    return generate(out, seed=3, persons=400, nights=2, start_date=START, faults=ALL_FAULTS)
