"""Ingestion of every source from real generated files into the real warehouse: clean drops, reruns,
and every injected fault of the generator, each refused or quarantined with its reason and an alert."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from ridni.contracts import all_contracts
from ridni.ingest.run import ingest_night, ingest_source
from ridni_dev.synth.faults import FAULTS

START = dt.date(2026, 11, 1)
SOURCES = [c.source_id for c in all_contracts()]


def _scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def _fingerprint(engine) -> dict:
    """Row counts and content digests of every table the ingestion writes."""
    tables = ["raw.drop", "raw.file", "raw.drop_file", "staging.load", "staging.record", "core.source_record",
              "core.source_record_version", "core.delta_applied", "quarantine.rejected_drop",
              "quarantine.rejected_row", "audit.alert", "audit.validation"]
    out = {}
    with engine.connect() as conn:
        for t in tables:
            out[t] = conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()  # noqa: S608
        out["core_digest"] = conn.execute(sa.text(
            "SELECT md5(string_agg(source_id || record_key || row_hash || coalesce(withdrawn_on::text, ''), ',' "
            "ORDER BY source_id, record_key)) FROM core.source_record")).scalar()
    return out


def test_a_clean_night_loads_every_source_fully_and_a_rerun_changes_nothing(night_env, fresh_warehouse):
    _, engine = fresh_warehouse
    synth = night_env()
    reports = {r.source_id: r for r in ingest_night(engine, START)}
    truth_rows = synth.counts[START]["rows_delivered"]
    for source_id in SOURCES:
        report = reports[source_id]
        assert report.status == "loaded", (source_id, report.reason)
        assert report.rows_quarantined == 0, source_id
        assert report.rows_loaded == truth_rows[source_id], source_id
    # every delivered file is archived, content-addressed, and received = loaded + quarantined
    delivered = sum(len(d.files) + 1 for d in synth.drops)  # + manifest
    assert _scalar(engine, "SELECT count(*) FROM raw.file") == delivered
    assert _scalar(engine, "SELECT count(*) FROM staging.load WHERE rows_received <> rows_loaded + rows_quarantined") == 0
    before = _fingerprint(engine)
    again = {r.source_id: r.status for r in ingest_night(engine, START)}
    assert set(again.values()) == {"skipped"}
    assert _fingerprint(engine) == before


def test_the_same_file_under_another_name_loads_once(night_env, fresh_warehouse):
    _, engine = fresh_warehouse
    synth = night_env(nights=2)
    night2 = synth.nights[1]
    ingest_source(engine, "ombudsman", START)
    # night 2 delivers the same snapshot content: recognised by sha256, not loaded again
    report = ingest_source(engine, "ombudsman", night2)
    assert [f.status for f in report.files] in (["skipped_duplicate"], ["loaded"])
    dup = _scalar(engine, "SELECT count(*) FROM staging.load WHERE status = 'loaded' GROUP BY sha256 "
                          "ORDER BY count(*) DESC LIMIT 1")
    assert dup == 1


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_injected_fault_is_refused_or_quarantined_with_its_reason(night_env, fresh_warehouse, fault):
    _, engine = fresh_warehouse
    nights = 2 if fault == "register_seq_gap" else 1
    synth = night_env(nights=nights, faults=[fault])
    injected = synth.faults[0]
    source_id, night = injected.source_id, injected.night
    if fault == "register_seq_gap":
        ingest_source(engine, source_id, synth.nights[0])
    report = ingest_source(engine, source_id, night)
    expect = injected.expect
    with engine.connect() as conn:
        alerts = conn.execute(sa.text("SELECT kind, message FROM audit.alert WHERE source_id = :s AND "
                                      "extract_date = :n"), {"s": source_id, "n": night}).all()
        archived = conn.execute(sa.text("SELECT count(*) FROM raw.drop_file df JOIN raw.drop d USING (drop_id) "
                                        "WHERE d.source_id = :s AND d.extract_date = :n AND df.sha256 IS NOT NULL"),
                                {"s": source_id, "n": night}).scalar()
        rejected = conn.execute(sa.text("SELECT reason, file_name FROM quarantine.rejected_drop WHERE "
                                        "source_id = :s AND extract_date = :n"), {"s": source_id, "n": night}).all()
    assert alerts, "no alert"
    assert archived >= 1 or fault == "empty_file", "raw files not archived"
    if expect == "rows_quarantined":
        assert report.status == "loaded"
        assert report.rows_quarantined == len(injected.lines)
        with engine.connect() as conn:
            lines = {r[0] for r in conn.execute(sa.text(
                "SELECT line_no FROM quarantine.rejected_row WHERE source_id = :s"), {"s": source_id})}
        assert lines == set(injected.lines)
    else:
        assert report.status in ("rejected", "held"), report
        assert rejected and all(r.reason for r in rejected)
        assert _scalar(engine, "SELECT count(*) FROM core.source_record WHERE source_id = :s", s=source_id) == 0 \
            or fault == "register_seq_gap"
    # the alert text names source and night, and carries no personal values
    message = " ".join(m for _, m in alerts)
    truth = json.loads((synth.truth / night.isoformat() / "faults.json").read_text())
    assert truth
    assert "@" not in message and "+380" not in message


def test_withdrawals_over_two_nights_match_the_truth(night_env, fresh_warehouse):
    """A record absent from a later snapshot, or deleted by the register (op=D), is withdrawn, never deleted."""
    import pandas as pd

    _, engine = fresh_warehouse
    synth = night_env(persons=1200, nights=3)
    for night in synth.nights:
        list(ingest_night(engine, night))
    last = synth.nights[-1]
    truth = pd.read_csv(synth.truth / last.isoformat() / "records.csv", dtype=str)
    with engine.connect() as conn:
        core = pd.read_sql(sa.text("SELECT source_id, record_key, withdrawn_on IS NULL AS standing "
                                   "FROM core.source_record"), conn)
        versions = conn.execute(sa.text("SELECT count(*) FROM core.source_record_version "
                                        "WHERE change = 'withdrawn'")).scalar()
    joined = truth.merge(core, on=["source_id", "record_key"], how="outer", suffixes=("_true", ""))
    assert joined["standing"].notna().all(), "a record of the truth is missing from core"
    assert (joined["standing_true"] == joined["standing"].map({True: "true", False: "false"})).all()
    assert (~joined["standing"]).sum() > 0 and versions >= (~joined["standing"]).sum()
