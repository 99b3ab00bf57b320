"""Category conflicts in the review workbench, without a browser: the queue, the conflict as the page
weighs it, the door, and the next nights.

A copy of the demo's first night (``ridni synth``, its seed and size), whose decision step leaves a few
persons with two specific kinds of one date and rank (``review = 'kind'``). A case officer's decision
binds the next night (the person's kind from the record chosen, or from what remains when both are
wrong), a rerun changes nothing, and evidence the officer did not see opens the review again.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pytest
import sqlalchemy as sa
from hq_demo import PSEUDONYM_KEY
from review_night import NEXT_NIGHT

from ridni.decide.run import decide_night
from ridni.privacy import pseudonymise
from ridni.review import decisions, queue
from ridni.review.conflict import evidence_version, load_conflict
from ridni.web import data, review
from ridni.web.app import create_app
from ridni.web.i18n import language
from ridni.web.review_page import category_label

with warnings.catch_warnings():  # starlette's notice about its httpx-based client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

OFFICER = "officer.shevchenko"
THIRD_NIGHT = NEXT_NIGHT + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def client(review_warehouse):
    desk = data.Reader(lambda: review_warehouse.reviewer_url, check=review.check_reviewer, readonly=False)
    with TestClient(create_app(user_dependency=lambda: "analyst", officer_dependency=lambda: OFFICER, desk=desk),
                    follow_redirects=False) as c:
        yield c


@pytest.fixture(scope="module")
def decided() -> dict:
    """What the tests decided, for the later ones to check."""
    return {}


def _queue(engine, **flt) -> pd.DataFrame:
    with engine.connect() as conn:
        return queue.queue_page(conn, queue.QueueFilter(**flt), 1, 10_000).rows


def _status(engine, person_id: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT * FROM core.person_status WHERE person_id = :p AND valid_to IS NULL"),
                                 {"p": person_id}).mappings().one())


def _record(engine, person_id: int, decision: str, record: tuple[str, str] | None = None,
            version: str | None = None) -> int:
    with engine.begin() as conn:
        view = load_conflict(conn, person_id)
        return decisions.record(conn, kind="evidence", subject=person_id, decision=decision,
                                version=version or view.version, by=OFFICER, shown=view.shown() if view else {},
                                evidence=record,
                                note="checked against the ombudsman's file")


# --- the queue -------------------------------------------------------------------------------------------

def test_conflicts_wait_in_the_queue_beside_the_pairs(reviewer, owner):
    everything = _queue(reviewer)
    conflicts, pairs = _queue(reviewer, kind="conflict"), _queue(reviewer, kind="pair")
    assert len(conflicts) >= 3, "the demo's first night leaves some persons with two kinds of one date and rank"
    assert set(everything["kind"]) == {"pair", "conflict"}
    assert len(everything) == len(conflicts) + len(pairs)
    with owner.connect() as conn:
        waiting = conn.execute(sa.text("SELECT person_id FROM core.person_status WHERE valid_to IS NULL AND "
                                       "review IS NOT NULL ORDER BY 1")).scalars().all()
        sizes = queue.sizes(conn)
    assert sorted(conflicts["person_id"]) == waiting
    assert sizes == {"pair": len(pairs), "conflict": len(conflicts)}
    # one order for both kinds: by impact, and a conflict (evidence of equal weight) before the pairs of its class
    assert list(everything["impact"]) == sorted(everything["impact"])
    for _, group in everything.groupby("impact"):
        assert list(group["kind"]) == sorted(group["kind"])  # "conflict" before "pair"
    for _, r in conflicts.iterrows():  # the two records that disagree, and the categories they give
        assert r.review == "kind" and r.category == "civilian_detained"
        assert {r.left_category, r.right_category} > {r.category} or r.left_category != r.right_category


def test_the_filters_work_for_conflicts(reviewer):
    conflicts = _queue(reviewer, kind="conflict")
    source = conflicts["left_source_id"].iloc[0]
    with_source = _queue(reviewer, source=source)
    assert set(conflicts["person_id"]) <= set(with_source.loc[with_source["kind"] == "conflict", "person_id"])
    assert _queue(reviewer, source="exchange_returns", kind="conflict").empty
    region = conflicts["left_region"].iloc[0]
    in_region = _queue(reviewer, region=region, kind="conflict")
    assert 0 < len(in_region) and (in_region["left_region"] == region).all()
    assert len(_queue(reviewer, min_nights=0, kind="conflict")) == len(conflicts)
    assert _queue(reviewer, min_nights=1, kind="conflict").empty  # every conflict was queued tonight


def test_a_conflict_as_the_page_weighs_it(reviewer, owner):
    person = int(_queue(reviewer, kind="conflict")["person_id"].iloc[0])
    status = _status(owner, person)
    with reviewer.connect() as conn:
        view = load_conflict(conn, person)
    assert view.conflict == "kind" and view.conflict_rule == "kind_conflict_to_review"
    refs = {c.ref for c in view.choices}
    assert {f"{status['conflict_lead_source_id']}/{status['conflict_lead_record_key']}",
            f"{status['conflict_rival_source_id']}/{status['conflict_rival_record_key']}"} <= refs
    # each record, if it stands, gives the person its own kind; both wrong leaves the kind by person type
    assert all(c.result == c.category for c in view.choices)
    assert len({c.category for c in view.choices}) == 2
    assert view.all_wrong_result == "civilian_detained"
    assert not any(c.moves_group for c in view.choices)  # every kind of held is one headline group


# --- the door --------------------------------------------------------------------------------------------

def test_the_door_refuses_a_stale_view_and_a_record_of_another_person(reviewer, owner):
    person = int(_queue(reviewer, kind="conflict")["person_id"].iloc[0])
    with pytest.raises(decisions.StaleView):
        _record(reviewer, person, "all_wrong", version="an older view")
    with pytest.raises(sa.exc.DBAPIError, match="is not evidence of person"):
        _record(reviewer, person, "stands", ("npu_appeals", "no-such-record"))
    with pytest.raises(decisions.NoSuchSubject):
        _record(reviewer, 999_999_999, "all_wrong", version="x")
    with owner.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM core.review_decision WHERE kind = 'evidence'")).scalar() == 0


def test_the_page_refuses_a_stale_view_and_records_a_fresh_one(client, reviewer, owner, decided):
    """Three conflicts: one record chosen (by the page), both wrong and not sure (by the CLI's functions)."""
    conflicts = _queue(reviewer, kind="conflict")
    chosen_person, wrong_person, unsure_person = (int(p) for p in conflicts["person_id"].iloc[:3])
    with reviewer.connect() as conn:
        view = load_conflict(conn, chosen_person)
    becomes = next(c for c in view.choices if c.result != view.category)
    stale = client.post(f"/review/conflict/{chosen_person}", data={"decision": f"stands:{becomes.ref}",
                                                                  "version": "an older view"})
    assert stale.status_code == 409 and "Ваше рішення не записано" in stale.text  # Ukrainian by default
    page = client.get(f"/review/conflict/{chosen_person}", params={"lang": "en"})
    assert page.status_code == 200
    assert f"becomes {category_label(becomes.category, language('en'))}" in page.text
    posted = client.post(f"/review/conflict/{chosen_person}", data={
        "decision": f"stands:{becomes.ref}", "version": view.version, "note": "the later verdict"})
    assert posted.status_code == 303 and "done=" in posted.headers["location"]
    with owner.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM core.review_decision WHERE kind = 'evidence' AND person_id = :p"),
                           {"p": chosen_person}).mappings().one()
    assert (row["decision"], row["evidence_source_id"], row["evidence_record_key"], row["decided_by"], row["note"]) == (
        "stands", becomes.source_id, becomes.record_key, OFFICER, "the later verdict")
    assert sorted(map(tuple, row["evidence_seen"])) == sorted(zip(view.evidence["source_id"],
                                                                  view.evidence["record_key"], strict=True))
    assert row["shown"]["choices"] and row["shown"]["lang"] == "en"  # the language chosen stays
    _record(reviewer, wrong_person, "all_wrong")
    _record(reviewer, unsure_person, "not_sure")
    decided.update(chosen=chosen_person, becomes=becomes, wrong=wrong_person, unsure=unsure_person)
    # a settled conflict leaves the queue at once (the next night applies it); "not sure" leaves it waiting
    waiting = set(_queue(reviewer, kind="conflict")["person_id"])
    assert unsure_person in waiting and not {chosen_person, wrong_person} & waiting
    with reviewer.connect() as conn:
        assert queue.sizes(conn)["conflict"] == len(conflicts) - 2
    # "not sure" sends the conflict behind everything nobody has looked at
    assert int(_queue(reviewer)["subject_id"].iloc[-1]) == unsure_person


# --- the next nights -------------------------------------------------------------------------------------

def test_decisions_bind_the_next_night(review_warehouse, owner, reviewer, decided, monkeypatch, capsys):
    assert review_warehouse.run_next_night()["publish_hq"] == "success"
    chosen = _status(owner, decided["chosen"])
    assert (chosen["category"], chosen["kind_rule"], chosen["review"], chosen["needs_review"]) == (
        decided["becomes"].category, "reviewer_chose", None, False)
    assert (chosen["kind_source_id"], chosen["kind_record_key"]) == (decided["becomes"].source_id,
                                                                     decided["becomes"].record_key)
    assert chosen["review_decision_id"] is not None and chosen["valid_from"] == NEXT_NIGHT
    wrong = _status(owner, decided["wrong"])
    assert (wrong["category"], wrong["kind_rule"], wrong["review"]) == ("civilian_detained", "reviewer_set_aside", None)
    unsure = _status(owner, decided["unsure"])
    assert (unsure["review"], unsure["review_decision_id"]) == ("kind", None)
    waiting = set(_queue(reviewer, kind="conflict")["person_id"])
    assert decided["unsure"] in waiting and not {decided["chosen"], decided["wrong"]} & waiting
    with owner.connect() as conn:
        log = pd.read_sql(sa.text("SELECT * FROM marts.change_log WHERE night = :n"), conn, params={"n": NEXT_NIGHT})
        counts = dict(conn.execute(sa.text("SELECT night, category_conflicts FROM marts.review_queue_size")).all())
    monkeypatch.setenv("RIDNI_PSEUDONYM_KEY", PSEUDONYM_KEY)
    moved = log[log["pseudo_id"] == pseudonymise(pd.Series([decided["chosen"]])).iloc[0]]
    assert moved[["from_category", "to_category", "review"]].values.tolist() == [
        ["civilian_detained", decided["becomes"].category, "evidence"]]
    assert counts[NEXT_NIGHT] == counts[min(counts)] - 2

    from ridni.cli import main

    monkeypatch.setenv("RIDNI_WAREHOUSE_URL", review_warehouse.url)
    assert main(["explain", str(decided["chosen"])]) == 0
    out = capsys.readouterr().out
    assert f"kind {decided['becomes'].category}: rule reviewer_chose" in out
    assert "the category follows evidence decision #" in out
    assert f"{OFFICER}: stands on evidence {decided['becomes'].ref} [standing]" in out
    assert 'note: "the later verdict"' in out and "shown: kind conflict of civilian_detained" in out


def test_a_rerun_of_the_night_changes_nothing(review_warehouse, owner):
    def snapshot():
        with owner.connect() as conn:
            return pd.read_sql(sa.text("SELECT person_id, valid_from, category, rule, kind_rule, review, "
                                       "review_decision_id FROM core.person_status ORDER BY 1, 2"), conn)

    before = snapshot()
    assert review_warehouse.run_next_night()["publish_hq"] == "success"
    pd.testing.assert_frame_equal(snapshot(), before)


def test_evidence_the_officer_did_not_see_reopens_the_review(owner, reviewer, decided):
    """A later generic confirmation (a copy of the person's sbu_jc record, dated after) is new evidence: the
    decision no longer binds, and the person waits again, with their kind as the rules give it."""
    person = decided["chosen"]
    with owner.begin() as conn:
        source_id, key = conn.execute(sa.text(
            "SELECT e.source_id, e.record_key FROM core.evidence e WHERE e.person_id = :p AND e.generic "
            "ORDER BY e.authority DESC, e.source_id LIMIT 1"), {"p": person}).one()
        copy = {"record_key": f"{key}-new", "status_date": THIRD_NIGHT.isoformat()}
        for table in ("core.source_record", "core.source_record_version"):
            conn.execute(sa.text(
                f"INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table}, to_jsonb(r) || "  # noqa: S608
                f"CAST(:copy AS jsonb))).* FROM {table} r WHERE source_id = :s AND record_key = :k "
                + ("" if table == "core.source_record" else "ORDER BY valid_from DESC LIMIT 1")),
                {"copy": pd.Series({**copy, "valid_from": THIRD_NIGHT.isoformat(), "change": "new"}
                                   if table.endswith("version") else copy).to_json(), "s": source_id, "k": key})
        conn.execute(sa.text(
            "INSERT INTO core.person_link (source_id, record_key, person_id, rule, linked_on) "
            "VALUES (:s, :k, :p, 'deterministic', :n)"), {"s": source_id, "k": copy["record_key"], "p": person,
                                                          "n": THIRD_NIGHT})
    decide_night(owner, THIRD_NIGHT)
    status = _status(owner, person)
    assert (status["review"], status["kind_rule"], status["review_decision_id"]) == (
        "kind", "kind_conflict_to_review", None)
    assert person in set(_queue(reviewer, kind="conflict")["person_id"])
    # the other decision still binds: that person had nothing new
    assert _status(owner, decided["wrong"])["kind_rule"] == "reviewer_set_aside"
    # and the officer decides again on what the page shows now
    with reviewer.connect() as conn:
        view = load_conflict(conn, person)
        assert view.version == evidence_version(conn, person)
    assert f"{source_id}/{copy['record_key']}" in {f"{s}/{k}" for s, k in zip(
        view.evidence["source_id"], view.evidence["record_key"], strict=True)}
