"""``ridni accuracy``: a warehouse's published figures scored night by night against the synth truth."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from ridni_dev import accuracy


@pytest.fixture(scope="module")
def published(tmp_path_factory, make_database):
    """Two generated nights run through the pipeline (without Airflow) into a warehouse of their own."""
    from ridni import db
    from ridni_dev.demo import run_night_in_process
    from ridni_dev.synth import generate

    data = tmp_path_factory.mktemp("accuracy")
    mp = pytest.MonkeyPatch()
    for name, sub in [("RIDNI_DATA_DIR", ""), ("RIDNI_LANDING", "landing"), ("RIDNI_ARCHIVE", "archive"),
                      ("RIDNI_EXPORTS", "exports"), ("RIDNI_DATA_DOCS", "data_docs")]:
        mp.setenv(name, str(data / sub))
    mp.setenv("RIDNI_PSEUDONYM_KEY", "test-key-not-secret")
    synth = generate(data, seed=5, persons=600, nights=2, start_date=accuracy.START)
    url = make_database()
    db.upgrade(url)
    engine = db.make_engine(url)
    for night in synth.nights:
        run_night_in_process(engine, night)
    yield engine, url, synth
    engine.dispose()
    mp.undo()


def test_each_night_is_scored_against_its_truth(published):
    engine, _, synth = published
    first, second = accuracy.score(engine, synth.truth)
    assert (first.night, second.night) == tuple(synth.nights)
    assert first.persons > 500 and second.persons >= first.persons
    assert first.category_accuracy > 0.98 and second.category_accuracy > 0.98
    assert first.records_lost == second.records_lost == 0 and first.rows_quarantined == 0
    truth = synth.counts[synth.nights[0]]["headline"]
    assert [h["group"] for h in first.headline] == list(truth)
    assert [h["truth"] for h in first.headline] == list(truth.values())
    assert all(h["ridni"] is not None for h in first.headline if h["truth"] >= 5)
    assert first.linkage["all"]["f1"] > 0.99 and "cross_script" in first.linkage
    assert first.moves == 0 and second.moves == second.moves_matched  # (no previous night for the first)


def test_a_wrong_category_and_a_missed_move_are_counted(published, tmp_path):
    """Scoring catches what is wrong: a truth that says otherwise for one person costs exactly that person."""
    engine, _, synth = published
    truth = tmp_path / "truth"
    shutil.copytree(synth.truth, truth)
    night = synth.nights[1]
    persons = pd.read_csv(truth / night.isoformat() / "persons.csv", dtype=str, keep_default_na=False)
    target = persons.index[persons["category"] == "missing"][0]
    persons.loc[target, "category"] = "deceased"
    persons.to_csv(truth / night.isoformat() / "persons.csv", index=False)
    honest = accuracy.score(engine, synth.truth, [night])[0]
    altered = accuracy.score(engine, truth, [night])[0]
    assert altered.category_right == honest.category_right - 1
    assert altered.moves == honest.moves + 1 and altered.moves_matched == honest.moves_matched
    assert {"truth": "deceased", "ridni": "missing", "persons": 1} in altered.confusion


def test_the_command_prints_the_scores_and_writes_them_as_json(published, monkeypatch, capsys, tmp_path):
    from ridni.cli import main

    _, url, synth = published
    monkeypatch.setenv("RIDNI_WAREHOUSE_URL", url)
    out = tmp_path / "scores.json"
    code = main(["accuracy", "--truth", str(synth.truth), "--json", str(out)])
    printed = capsys.readouterr().out
    scores = json.loads(out.read_text())
    assert [s["night"] for s in scores] == [n.isoformat() for n in synth.nights]
    assert code == (0 if all(s["meets_targets"] for s in scores) else 1)
    assert "category accuracy" in printed and "confirmed civilians held" in printed and "cross-script" in printed


def test_a_whole_run_generates_runs_and_scores_in_a_database_of_its_own(server_url, monkeypatch, tmp_path):
    import sqlalchemy as sa

    for name in ("RIDNI_DATA_DIR", "RIDNI_LANDING", "RIDNI_ARCHIVE", "RIDNI_EXPORTS", "RIDNI_DATA_DOCS"):
        monkeypatch.setenv(name, str(tmp_path / name))  # (run() points them at its own folder; restored after)
    monkeypatch.setenv("RIDNI_WAREHOUSE_URL", server_url)
    monkeypatch.setenv("RIDNI_PSEUDONYM_KEY", "test-key-not-secret")
    admin = sa.create_engine(server_url)
    with admin.connect() as conn:
        before = set(conn.execute(sa.text("SELECT datname FROM pg_database")).scalars())
    scores = accuracy.run(persons=300, nights=2, seed=3)
    with admin.connect() as conn:
        after = set(conn.execute(sa.text("SELECT datname FROM pg_database")).scalars())
    admin.dispose()
    assert [s.night for s in scores] == [accuracy.START, accuracy.START + dt.timedelta(days=1)]
    assert all(s.persons > 200 and s.records_lost == 0 for s in scores)
    assert not {d for d in after - before if d.startswith("ridni_accuracy_")}  # dropped afterwards
