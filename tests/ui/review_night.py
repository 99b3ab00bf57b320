"""A warehouse for the review tests: the demo's first night (``ridni synth``, the demo's seed and size: some
twenty pairs in the review band), then "the next run" on demand: the same pipeline on the following night
with no new drops, so everything that moves that night moves because of the reviewers' decisions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hq_demo import DEMO_PERSONS, DEMO_SEED, settings_env

from ridni import db
from ridni_dev.demo import DEMO_START, run_night_in_process
from ridni_dev.synth import generate

NIGHT = DEMO_START
NEXT_NIGHT = NIGHT + dt.timedelta(days=1)


@dataclass(frozen=True)
class ReviewWarehouse:
    url: str  # the owner (tests only)
    reviewer_url: str  # a login in case_officer_reviewer: the review page's
    reader_url: str  # a login in hq_analyst: the headquarters page's
    root: Path  # the generated extracts and their ground truth
    exports: Path  # this copy's exports

    def truth(self) -> dict[tuple[str, str], str]:
        """(source_id, record_key) -> the generated person behind the record."""
        records = pd.read_csv(self.root / "truth" / NIGHT.isoformat() / "records.csv", dtype=str)
        return dict(zip(zip(records["source_id"], records["record_key"], strict=True), records["person_id"],
                        strict=True))

    def true_category(self) -> dict[tuple[str, str], str]:
        """(source_id, record_key) -> the generated person's true category."""
        persons = pd.read_csv(self.root / "truth" / NIGHT.isoformat() / "persons.csv", dtype=str)
        category = dict(zip(persons["person_id"], persons["category"], strict=True))
        return {record: category[person] for record, person in self.truth().items()}

    def run_next_night(self) -> dict[str, str]:
        """Resolve, decide and publish the next night (no source sent anything new)."""
        with pytest.MonkeyPatch.context() as mp:
            for name, value in {**settings_env(self.root), "RIDNI_EXPORTS": str(self.exports)}.items():
                mp.setenv(name, value)
            engine = db.make_engine(self.url)
            try:
                return run_night_in_process(engine, NEXT_NIGHT)
            finally:
                engine.dispose()


def fill_first_night(url: str, root: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in settings_env(root).items():
            mp.setenv(name, value)
        generate(root, seed=DEMO_SEED, persons=DEMO_PERSONS, nights=1, start_date=NIGHT)
        engine = db.make_engine(url)
        try:
            run_night_in_process(engine, NIGHT)
        finally:
            engine.dispose()


@contextlib.contextmanager
def copy_database(server_url: str, template_url: str):
    """A new database copied from ``template_url`` (no one may be connected to it); dropped after."""
    name = f"ridni_test_{uuid.uuid4().hex[:12]}"
    template = sa.engine.make_url(template_url).database
    admin = sa.create_engine(db.normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield sa.engine.make_url(template_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
