"""Generated nights ingested into a warehouse of the test module's own (shared by the linkage tests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

START = dt.date(2026, 11, 1)


@contextmanager
def ingested(tmp_path_factory, make_database, name: str, *, seed: int, persons: int, nights: int) -> Iterator:
    """(engine, url, synth, reports): ``nights`` generated nights, the first ingested."""
    from ridni import db
    from ridni.ingest.run import ingest_night
    from ridni_dev.synth import generate

    data = tmp_path_factory.mktemp(name)
    mp = pytest.MonkeyPatch()
    for var, sub in [("RIDNI_DATA_DIR", ""), ("RIDNI_LANDING", "landing"), ("RIDNI_ARCHIVE", "archive")]:
        mp.setenv(var, str(data / sub))
    synth = generate(data, seed=seed, persons=persons, nights=nights, start_date=START)
    url = make_database()
    db.upgrade(url)
    engine = db.make_engine(url)
    reports = list(ingest_night(engine, START))
    try:
        yield engine, url, synth, reports
    finally:
        engine.dispose()
        mp.undo()
