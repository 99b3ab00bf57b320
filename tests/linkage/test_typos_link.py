"""A typo never costs a person: generated drops with the typos the ground truth names go in, and the
warehouse keeps every record (flagged where its fields disagree) and links it to its person."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from generated import START as NIGHT
from generated import ingested

from ridni.decide.run import decide_night
from ridni.linkage.run import resolve_persons


@pytest.fixture(scope="module")
def night(tmp_path_factory, make_database):
    with ingested(tmp_path_factory, make_database, "typos", seed=11, persons=2500, nights=1) as (
            engine, url, synth, reports):
        resolve_persons(engine, NIGHT)
        decide_night(engine, NIGHT)
        truth = pd.read_csv(synth.truth / NIGHT.isoformat() / "records.csv", dtype=str, keep_default_na=False)
        with engine.connect() as conn:
            loaded = pd.read_sql(sa.text(
                "SELECT s.source_id, s.record_key, array_to_string(s.quality_flags, ',') AS flags, "
                "l.person_id AS found FROM core.source_record s JOIN core.person_link l USING (source_id, record_key)"),
                conn)
        truth = truth.rename(columns={"person_id": "true"})
        yield engine, url, reports, truth.merge(loaded, on=["source_id", "record_key"], how="left")


def _with(frame: pd.DataFrame, noise: str) -> pd.DataFrame:
    return frame[frame["noise"].str.split("|").map(lambda n: noise in n)]


def test_no_record_is_lost_or_quarantined(night):
    engine, _, reports, records = night
    assert sum(r.rows_quarantined for r in reports) == 0
    assert records["found"].notna().all()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM quarantine.rejected_row")).scalar() == 0


@pytest.mark.parametrize(("noise", "flag"), [("birth_rnokpp", "rnokpp_birth_date"),
                                             ("rnokpp_typo", "rnokpp_check_digit")])
def test_a_row_whose_rnokpp_disagrees_is_loaded_and_flagged(night, noise, flag):
    _, _, _, records = night
    typos = _with(records, noise)
    assert len(typos) >= 2
    # a mistyped number whose check digit still holds (one in ten) disagrees with the birth date instead
    flagged = typos["flags"].str.contains(flag) | typos["flags"].str.contains("rnokpp_birth_date")
    assert flagged.mean() >= 0.85, typos[["source_id", "flags"]]


def test_the_flags_are_counted_per_source_and_shown_by_explain(night, monkeypatch, capsys):
    from ridni.cli import main

    engine, url, _, records = night
    with engine.connect() as conn:
        counted = dict(conn.execute(sa.text(
            "SELECT source_id, rows_flagged FROM marts.source_quality WHERE night = :n"), {"n": NIGHT}).all())
    flagged = records[records["flags"] != ""]
    for source_id, n in flagged.groupby("source_id").size().items():
        assert counted[source_id] >= n  # (a snapshot's flagged rows count each night they arrive)
    person = int(flagged["found"].iloc[0])
    monkeypatch.setenv("RIDNI_WAREHOUSE_URL", url)
    main(["explain", str(person)])
    shown = capsys.readouterr().out
    row = flagged.iloc[0]
    assert f"flagged: {row.source_id} {row.record_key}: " in shown


@pytest.mark.parametrize("noise", ["lookalike", "birth_typo", "birth_rnokpp", "rnokpp_typo"])
def test_records_with_typos_link_to_their_person(night, noise):
    """Each record with a planted typo shares its warehouse person with the true person's other records."""
    _, _, _, records = night
    majority = records.groupby("true")["found"].agg(lambda s: s.mode().iloc[0])
    partnered = records.groupby("true").size() > 1
    typos = _with(records, noise)
    typos = typos[typos["true"].map(partnered)]
    linked = typos["found"] == typos["true"].map(majority)
    assert len(typos) >= 3 and linked.mean() >= 0.95, (noise, int((~linked).sum()), len(typos))
