"""A warehouse filled by the demo's nights: generated extracts through the pipeline's own functions.

The demo's generator (``ridni synth``: the demo's seed, start date and population size) writes two nights
of drops of every source; each night goes through what the nightly DAGs do, in their order, without
Airflow (``ridni_dev.demo.run_night_in_process``: ingest and Data Docs per source, resolve persons, decide,
marts, exports). Two nights, so that the page has a previous night to compare with and a time series.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ridni import db
from ridni_dev.demo import DEMO_START, run_night_in_process
from ridni_dev.synth import generate

DEMO_SEED = 1  # ridni_dev.demo.run_demo's default
DEMO_PERSONS = 3000  # the demo's size (bin/demo, ``ridni synth --persons 3000``)
DEMO_NIGHTS = 2
PSEUDONYM_KEY = "test-key-not-secret"


def settings_env(root: Path) -> dict[str, str]:
    """The pipeline's settings pointed at ``root`` (landing, archive, exports, Data Docs) and a test key."""
    return {
        "RIDNI_DATA_DIR": str(root),
        "RIDNI_LANDING": str(root / "landing"),
        "RIDNI_ARCHIVE": str(root / "archive"),
        "RIDNI_EXPORTS": str(root / "exports"),
        "RIDNI_DATA_DOCS": str(root / "data_docs"),
        "RIDNI_PSEUDONYM_KEY": PSEUDONYM_KEY,
    }


def fill_with_demo_nights(url: str, root: Path, *, persons: int = DEMO_PERSONS,
                          nights: int = DEMO_NIGHTS) -> list[dt.date]:
    """Generate the demo's extracts under ``root`` and run every night into the (migrated) warehouse at
    ``url``; return the nights. Settings are changed only while this runs."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in settings_env(root).items():
            mp.setenv(name, value)
        synth = generate(root, seed=DEMO_SEED, persons=persons, nights=nights, start_date=DEMO_START)
        engine = db.make_engine(url)
        try:
            for night in synth.nights:
                states = run_night_in_process(engine, night)
                refused = {k: v for k, v in states.items() if v in ("rejected", "held")}
                assert not refused, (night, refused)
        finally:
            engine.dispose()
    return list(synth.nights)
