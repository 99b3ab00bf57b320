"""Decisions from evidence as agencies send it, night to night: generic confirmations beside specific ones,
and conflicts of equal weight, counted in the marts, shown on the page and by ``ridni explain``.

Two nights of generated drops; before the second night is loaded, rows are added to its files as an agency
would send them, for four civilians whose kind the Ombudsman named (on the latest date of their evidence):
- A: the SBU Joint Centre's register lists A as detained, later;
- B: the SBU register and the MIA register (status 40) confirm B held on the very date the Ombudsman did;
- C: the Ombudsman sends a second case for C, another kind of held on the same date (kinds disagree);
- D: the Ombudsman sends a second case for D, released on the same date (situations disagree).
Links are the generator's true ones (the decision is under test, not the linkage).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from ridni import db
from ridni.decide.run import decide_night
from ridni.ingest.run import ingest_night
from ridni.privacy import pseudonymise
from ridni.publish.marts import build_marts
from ridni_dev.synth import generate

START = dt.date(2026, 11, 1)
SECOND = START + dt.timedelta(days=1)
KINDS = ("enforced_disappearance", "illegally_convicted")
CIVILIANS_HELD = ("civilian_detained", "enforced_disappearance", "illegally_convicted")


def _update_manifest(path: Path, added: int) -> None:
    manifest_path = path.parent / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["name"] == path.name)
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    entry["rows"] += added
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _add_to_sbu_register(folder: Path, rows: list[dict]) -> None:
    path = folder / "registry.xlsx"
    wb = openpyxl.load_workbook(path)
    sheet = wb["Реєстр"]
    header = [c.value for c in sheet[1]]
    for row in rows:
        sheet.append([row.get(h) for h in header])
    wb.save(path)
    _update_manifest(path, len(rows))


def _add_to_mia_register(folder: Path, rows: list[dict]) -> None:
    path = next(folder.glob("register_*.csv"))
    text = path.read_bytes().decode("cp1251")
    header = next(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n" if "\r\n" in text else "\n").writerows(
        [[row.get(h, "") for h in header] for row in rows])
    path.write_bytes((text + out.getvalue()).encode("cp1251"))
    _update_manifest(path, len(rows))


def _add_to_ombudsman(folder: Path, rows: list[dict]) -> None:
    path = folder / "civilians.csv"
    text = path.read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [[row.get("ombudsman_status" if h == "category" else h, "") for h in header] for row in rows])
    path.write_text(text + out.getvalue(), encoding="utf-8")
    _update_manifest(path, len(rows))


def _link_as_truth(engine, truth_dir: Path, night: dt.date, extra: dict[tuple[str, str], int]) -> None:
    truth = pd.read_csv(truth_dir / night.isoformat() / "records.csv", dtype=str)
    truth["person_id"] = truth["person_id"].str[1:].astype(int) + 1
    added = pd.DataFrame([(s, k, p) for (s, k), p in extra.items()], columns=["source_id", "record_key", "person_id"])
    truth = pd.concat([truth[["source_id", "record_key", "person_id"]], added], ignore_index=True)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE core.person_link"))
        known = set(pd.read_sql(sa.text("SELECT person_id FROM core.person"), conn)["person_id"])
        new = pd.DataFrame({"person_id": sorted(set(truth["person_id"]) - known), "created_on": night})
        db.copy_frame(conn, "core.person", ["person_id", "created_on"], new)
        records = pd.read_sql(sa.text("SELECT source_id, record_key FROM core.source_record"), conn)
        links = records.merge(truth, on=["source_id", "record_key"])
        assert len(links) == len(records)
        db.copy_frame(conn, "core.person_link", ["source_id", "record_key", "person_id", "rule", "linked_on"],
                      links.assign(rule="truth", linked_on=night))


def _status(engine, person_id: int, night: dt.date) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT * FROM core.person_status WHERE person_id = :p AND valid_from <= :n "
            "AND (valid_to IS NULL OR valid_to > :n)"), {"p": person_id, "n": night}).mappings().one())


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory, make_database):
    """Night 1 as generated; night 2 with the rows added for persons A to D (see the module's doc)."""
    out = tmp_path_factory.mktemp("generic")
    url = make_database()
    db.upgrade(url)
    engine = db.make_engine(url)
    with pytest.MonkeyPatch.context() as mp:
        for name, sub in (("RIDNI_DATA_DIR", ""), ("RIDNI_LANDING", "landing"), ("RIDNI_ARCHIVE", "archive"),
                          ("RIDNI_EXPORTS", "exports"), ("RIDNI_DATA_DOCS", "data_docs")):
            mp.setenv(name, str(out / sub))
        mp.setenv("RIDNI_PSEUDONYM_KEY", "test-key-not-secret")
        synth = generate(out, seed=7, persons=800, nights=2, start_date=START)
        list(ingest_night(engine, START))
        _link_as_truth(engine, synth.truth, START, {})
        decide_night(engine, START)
        build_marts(engine, START, threshold=5)

        # civilians whose kind the Ombudsman named, on the latest date of their evidence
        with engine.connect() as conn:
            named = pd.read_sql(sa.text(
                "SELECT person_id, category, kind_record_key FROM core.person_status WHERE valid_to IS NULL "
                "AND person_type = 'civilian' AND category IN :kinds AND review IS NULL "
                "AND kind_source_id = 'ombudsman' AND evidence_source_id = 'ombudsman' "
                "AND evidence_record_key = kind_record_key ORDER BY person_id"
            ).bindparams(sa.bindparam("kinds", expanding=True)), conn, params={"kinds": list(KINDS)})
        # empty cells stay empty (not NaN, which the rows copied below would write as "nan")
        ombudsman = pd.read_csv(out / "landing" / "ombudsman" / SECOND.isoformat() / "civilians.csv", dtype=str,
                                keep_default_na=False)
        ombudsman = ombudsman.rename(columns={"category": "ombudsman_status"})
        named = named.merge(ombudsman, left_on="kind_record_key", right_on="case_no")
        assert len(named) >= 4, "the generated population has four civilians the Ombudsman names"
        a, b, c, d = (named.iloc[i] for i in range(4))
        persons = pd.read_csv(synth.truth / START.isoformat() / "persons.csv", dtype=str)
        persons = persons.set_index(persons["person_id"].str[1:].astype(int) + 1)

        def sbu_row(p, key: str, confirmed: dt.date) -> dict:
            return {"ПІБ": f"{p.surname.upper()} {p['name']} {p.patronymic}",
                    "Дата народження": dt.datetime.fromisoformat(p.birth_date), "Місце утримання": "СІЗО-1",
                    "Країна": "РФ", "Підтверджено": dt.datetime.combine(confirmed, dt.time()), "Джерело": "тест",
                    "Номер справи": key}

        landing = out / "landing"
        a_confirmed = SECOND - dt.timedelta(days=1)
        b_confirmed = dt.date.fromisoformat(b.confirmed_on)
        _add_to_sbu_register(landing / "sbu_jc" / SECOND.isoformat(),
                             [sbu_row(a, "ТЕСТ-A-1", a_confirmed), sbu_row(b, "ТЕСТ-B-1", b_confirmed)])
        _add_to_mia_register(landing / "mvs_register" / SECOND.isoformat(), [{
            "register_no": "09990001", "op": "I", "changed_at": f"{b_confirmed.isoformat()}T10:00:00",
            "surname": b.surname, "given_name": b["name"], "patronymic": b.patronymic, "birth_date": b.birth_date,
            "sex": persons.at[b.person_id, "sex"], "person_group": "2", "status_code": "40",
            "status_date": b_confirmed.isoformat(), "region": persons.at[b.person_id, "region"]}])

        other_kind = {"enforced_disappearance": "illegally_convicted", "illegally_convicted": "enforced_disappearance"}
        _add_to_ombudsman(landing / "ombudsman" / SECOND.isoformat(), [
            {**c.to_dict(), "case_no": "OMB-TEST-C", "ombudsman_status": other_kind[c.category]},
            {**d.to_dict(), "case_no": "OMB-TEST-D", "ombudsman_status": "released"}])

        reports = {r.source_id: r for r in ingest_night(engine, SECOND)}
        with engine.connect() as conn:
            print("QQQ", conn.execute(sa.text("SELECT source_id, line_no, reasons FROM quarantine.rejected_row")).all())
        assert all(reports[s].rows_quarantined == 0 for s in ("sbu_jc", "mvs_register", "ombudsman"))
        _link_as_truth(engine, synth.truth, SECOND, {
            ("sbu_jc", "ТЕСТ-A-1"): int(a.person_id), ("sbu_jc", "ТЕСТ-B-1"): int(b.person_id),
            ("mvs_register", "09990001"): int(b.person_id), ("ombudsman", "OMB-TEST-C"): int(c.person_id),
            ("ombudsman", "OMB-TEST-D"): int(d.person_id)})
        decide_night(engine, SECOND)
        build_marts(engine, SECOND, threshold=5)
        mp.setenv("RIDNI_WAREHOUSE_URL", url)
        yield {"engine": engine, "a": a, "b": b, "c": c, "d": d, "truth": synth.counts}
    engine.dispose()


def test_a_later_generic_reconfirmation_keeps_the_kind_from_night_to_night(two_nights):
    engine, a = two_nights["engine"], two_nights["a"]
    before, after = _status(engine, int(a.person_id), START), _status(engine, int(a.person_id), SECOND)
    assert before["category"] == a.category and before["kind_rule"] == "latest_specific_kind"
    # the SBU register's later "detained" decides the situation; the Ombudsman's kind stays
    assert after["category"] == a.category
    assert (after["rule"], after["evidence_source_id"], after["evidence_record_key"]) == (
        "latest_confirmation_wins", "sbu_jc", "ТЕСТ-A-1")
    assert (after["kind_rule"], after["kind_source_id"], after["kind_record_key"]) == (
        "generic_keeps_known_kind", "ombudsman", a.case_no)
    assert after["review"] is None and not after["needs_review"]
    with engine.connect() as conn:
        moves = pd.read_sql(sa.text("SELECT pseudo_id, change FROM marts.change_log WHERE night = :n"), conn,
                            params={"n": SECOND})
    assert pseudonymise(pd.Series([int(a.person_id)])).iloc[0] not in set(moves["pseudo_id"])


def test_a_person_confirmed_held_by_three_agencies_on_one_date_is_counted_held(two_nights):
    engine, b = two_nights["engine"], two_nights["b"]
    status = _status(engine, int(b.person_id), SECOND)
    with engine.connect() as conn:
        evidence = pd.read_sql(sa.text("SELECT source_id, category, generic, effective_date FROM core.evidence "
                                       "WHERE person_id = :p"), conn, params={"p": int(b.person_id)})
        headline = dict(conn.execute(sa.text("SELECT grp, count_value FROM marts.headline WHERE night = :n"),
                                     {"n": SECOND}).all())
    on_the_date = evidence[evidence["effective_date"] == dt.date.fromisoformat(b.confirmed_on)]
    assert {"sbu_jc", "mvs_register", "ombudsman"} <= set(on_the_date["source_id"])
    assert set(on_the_date.loc[on_the_date["source_id"] != "ombudsman", "generic"]) == {True}
    assert status["category"] == b.category and status["situation"] == "held"
    assert status["review"] is None and not status["needs_review"]
    # the published groups are those of the truth: nobody moved to missing, nobody waits for a review
    truth = two_nights["truth"][SECOND]["headline"]
    for group in ("all missing", "confirmed civilians held"):
        assert headline[group] == truth[group], group


def test_two_kinds_of_one_date_count_held_and_the_kind_waits_for_review(two_nights):
    engine, c = two_nights["engine"], two_nights["c"]
    status = _status(engine, int(c.person_id), SECOND)
    assert status["situation"] == "held" and status["category"] in CIVILIANS_HELD
    assert (status["kind_rule"], status["review"]) == ("kind_conflict_to_review", "kind")
    assert {status["conflict_lead_record_key"], status["conflict_rival_record_key"]} == {c.case_no, "OMB-TEST-C"}


def test_two_situations_of_one_date_keep_the_previous_decision_and_wait_for_review(two_nights):
    engine, d = two_nights["engine"], two_nights["d"]
    before, after = _status(engine, int(d.person_id), START), _status(engine, int(d.person_id), SECOND)
    # never back to missing: the person stays held (earlier held evidence, or held preferred with none)
    assert after["situation"] == "held" and after["category"] == before["category"] == d.category
    assert after["rule"] in ("situation_conflict_previous_stands", "situation_conflict_no_earlier_decision")
    assert after["review"] == "situation"
    assert {after["conflict_lead_record_key"], after["conflict_rival_record_key"]} == {d.case_no, "OMB-TEST-D"}


def test_the_marts_and_the_page_count_who_waits_for_which_review(two_nights):
    from ridni.web.data import load_night
    from ridni.web.page import render_page

    engine = two_nights["engine"]
    build_marts(engine, SECOND, threshold=0)  # C and D alone: below the publication threshold otherwise
    with engine.connect() as conn:
        review = {r.grp: (r.kind_review, r.situation_review) for r in conn.execute(sa.text(
            "SELECT grp, kind_review, situation_review FROM marts.headline WHERE night = :n"), {"n": SECOND})}
        conflicts = conn.execute(sa.text("SELECT category_conflicts FROM marts.review_queue_size WHERE night = :n"),
                                 {"n": SECOND}).scalar()
    assert review["confirmed civilians held"] == (1, 1)
    assert review["all missing"] == review["deported children"] == (0, 0)
    assert conflicts == 2
    page = render_page(load_night(engine, SECOND), docs_link=lambda *_: None)
    row = page.split('<table class="review-by-group">')[1].split('data-group="confirmed civilians held"')[1]
    assert row.split("</tr>")[0].count('<td class="num">1</td>') == 2

    build_marts(engine, SECOND, threshold=5)  # published: a count of 1 to 4 is hidden
    with engine.connect() as conn:
        hidden = conn.execute(sa.text("SELECT kind_review, situation_review FROM marts.headline "
                                      "WHERE night = :n AND grp = 'confirmed civilians held'"), {"n": SECOND}).one()
    assert tuple(hidden) == (None, None)


def test_explain_shows_the_rule_and_the_record_of_the_situation_and_of_the_kind(two_nights, capsys):
    from ridni.cli import main

    a, d = two_nights["a"], two_nights["d"]
    assert main(["explain", str(int(a.person_id))]) == 0
    text = capsys.readouterr().out
    assert "situation held: rule latest_confirmation_wins, on sbu_jc record ТЕСТ-A-1 (detained" in text
    assert f"kind {a.category}: rule generic_keeps_known_kind, on ombudsman record {a.case_no} ({a.category}" in text
    assert "REVIEW" not in text
    assert main(["explain", str(int(d.person_id))]) == 0
    text = capsys.readouterr().out
    assert "ON THE REVIEW LIST: its situation" in text and "OMB-TEST-D (released)" in text
