"""``ridni night YYYY-MM-DD``: a whole night without Airflow (every ingest, then resolve, decide, publish),
one status line per step, exit code 1 when a step fails."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from ridni import db
from ridni.cli import main
from ridni.config import settings
from ridni.contracts import all_contracts

STEPS = [f"ingest_{c.source_id}" for c in all_contracts()] + ["resolve_persons", "decide", "publish"]


def _night(night, capsys) -> tuple[int, dict[str, list[str]]]:
    code = main(["night", night.isoformat()])
    lines = capsys.readouterr().out.splitlines()
    return code, {line.split()[0]: line.split()[1:] for line in lines}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_night_runs_every_step_and_a_rerun_changes_nothing(night_env, fresh_warehouse, monkeypatch, capsys):
    url, engine = fresh_warehouse
    monkeypatch.setenv("RIDNI_WAREHOUSE_URL", url)
    synth = night_env(persons=300)
    night = synth.nights[0]

    code, steps = _night(night, capsys)
    assert code == 0, steps
    assert list(steps) == STEPS
    delivered = synth.counts[night]["rows_delivered"]
    for c in all_contracts():
        status, loaded = steps[f"ingest_{c.source_id}"][:2]
        if c.cadence == "event" and not delivered.get(c.source_id):
            assert status == "no_drop", steps  # exchanges send nothing on most nights: that is normal
        else:
            assert (status, loaded) == ("loaded", f"loaded={delivered[c.source_id]}"), (c.source_id, steps)
    assert [steps[s][0] for s in ("resolve_persons", "decide", "publish")] == ["success"] * 3
    exports = Path(settings().exports) / night.isoformat()
    with engine.connect() as conn:
        persons = conn.execute(sa.text("SELECT count(DISTINCT person_id) FROM core.person_link")).scalar()
        headline = conn.execute(sa.text("SELECT count(*) FROM marts.headline WHERE night = :n"), {"n": night}).scalar()
    assert f"persons={persons}" in steps["resolve_persons"] and headline > 0
    assert f"exports={exports}" in steps["publish"]
    assert (Path(settings().data_docs) / "site" / "index.html").exists()
    first = _files(exports)

    code, steps = _night(night, capsys)
    assert code == 0
    assert {steps[s][0] for s in STEPS[:-3]} <= {"skipped", "no_drop"}
    assert _files(exports) == first


def test_a_refused_drop_fails_the_night_and_the_rest_still_runs(night_env, fresh_warehouse, monkeypatch, capsys):
    url, _ = fresh_warehouse
    monkeypatch.setenv("RIDNI_WAREHOUSE_URL", url)
    synth = night_env(persons=200, faults=["sha256_mismatch:sbu_jc"])
    night = synth.nights[0]

    code, steps = _night(night, capsys)
    assert code == 1
    assert list(steps) == STEPS
    assert steps["ingest_sbu_jc"][0] == "rejected" and "reason:" in steps["ingest_sbu_jc"]
    assert steps["publish"][0] == "success"
    assert (Path(settings().exports) / night.isoformat() / "manifest.json").exists()


def test_a_step_that_raises_ends_the_night_with_its_error_type(night_env, make_database, monkeypatch, capsys):
    url = make_database()  # not migrated: the first step cannot write
    monkeypatch.setenv("RIDNI_WAREHOUSE_URL", url)
    synth = night_env(persons=50)

    code, steps = _night(synth.nights[0], capsys)
    assert code == 1
    assert steps == {STEPS[0]: ["failed", "reason:", "ProgrammingError"]}
    engine = db.make_engine(url)
    with engine.connect() as conn:  # nothing was created either
        assert conn.execute(sa.text("SELECT to_regclass('marts.headline')")).scalar() is None
    engine.dispose()
