"""Great Expectations suites from the contracts: row verdicts with line numbers, drop verdicts, summaries
and Data Docs that hold no personal value."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from ridni.contracts import load, source_ids
from ridni.ingest import validate as v
from ridni.ingest.run import build_data_docs_for_night
from ridni.standardise import rnokpp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_parse import (  # noqa: E402  (the sample files of every source, written from SOURCES.md)
    CHILDREN,
    COORDHQ,
    ICRC,
    MVS,
    NPU,
    PERSONAL,
    SAMPLES,
    parse_sample,
)

NIGHT = dt.date(2026, 11, 27)


def run(tmp_path, source_id, rows=None, **kwargs):
    parsed = parse_sample(tmp_path, source_id, rows)
    n = len(parsed.rows)
    kwargs.setdefault("manifest_rows", n)
    kwargs.setdefault("previous_rows", n)
    return v.validate(load(source_id), parsed.rows, extract_date=NIGHT, problems=parsed.problems,
                      file_name=SAMPLES[source_id][0], **kwargs)


def no_personal_values(obj, extra=()) -> None:
    text = json.dumps(obj, ensure_ascii=False, default=str)
    leaked = [p for p in [*PERSONAL, *extra] if p in text]
    assert not leaked, leaked


# ------------------------------------------------------------------------------------------ the suite
def test_suite_is_built_from_the_contract():
    names = [c.name for c in v.checks(load("npu_appeals"))]
    for expected in ["required(record_key)", "required(registered_on)", "required(surname)", "allowed(sex)",
                     "allowed(person_type)", "pattern(record_key)", "pattern(rnokpp)", "unique(record_key)",
                     "date_order(birth_date<=disappeared_on)", "date_order(disappeared_on<=registered_on)",
                     "date_order(registered_on<=extract_date)", "plausible_age", "rnokpp_check_digit",
                     "rnokpp_birth_date", "rnokpp_sex", "row_count_equals_manifest", "volume_change_within_bound"]:
        assert expected in names
    register = [c.name for c in v.checks(load("mvs_register"))]
    assert "unique(record_key+changed_at)" in register and "date_order(changed_at<=extract_date)" in register
    assert "allowed(status)" in register and "pattern(region)" in register
    suite = v.build_suite(load("icrc_confirmations"))
    assert suite.name == "ridni.icrc_confirmations"
    assert len(suite.expectations) == len(v.checks(load("icrc_confirmations")))
    # one suite per contract: the night's values are its parameters, not a suite of their own
    assert v.build_suite(load("icrc_confirmations")) is suite
    counts = [e for e in suite.expectations if e.expectation_type == "expect_table_row_count_to_be_between"]
    assert [(e.min_value, e.max_value) for e in counts] == [
        ({"$PARAMETER": v.MANIFEST_ROWS}, {"$PARAMETER": v.MANIFEST_ROWS}),
        ({"$PARAMETER": v.VOLUME_MIN}, {"$PARAMETER": v.VOLUME_MAX})]
    assert v.suite_parameters(manifest_rows=7, previous_rows=10, max_volume_change=0.2) == {
        v.MANIFEST_ROWS: 7, v.VOLUME_MIN: 8, v.VOLUME_MAX: 12, v.MAX_AGE: v.MAX_AGE_YEARS}
    assert v.suite_parameters()[v.VOLUME_MIN] is None  # a first drop: no bound
    in_set = [e for e in suite.expectations if getattr(e, "column", None) == "status" and hasattr(e, "value_set")]
    assert sorted(in_set[0].value_set) == ["civilian_internee", "deceased", "pow", "released"]


@pytest.mark.parametrize("source_id", source_ids())
def test_a_clean_file_of_every_source_passes(tmp_path, source_id):
    outcome = run(tmp_path, source_id)
    assert outcome.success, (outcome.row_failures, outcome.drop_failures, outcome.summary["unexpected_counts"])
    assert outcome.summary["gx_success"] and outcome.summary["evaluated_expectations"] >= 5
    assert outcome.rows_evaluated == len(SAMPLES[source_id][1])
    no_personal_values(outcome.summary)


# ------------------------------------------------------------------------------------------ row verdicts
def test_duplicate_keys_fail_on_every_line_that_has_them(tmp_path):
    rows = [dict(NPU[0]), dict(NPU[1]), dict(NPU[2], номер_звернення=NPU[0]["номер_звернення"])]
    outcome = run(tmp_path, "npu_appeals", rows)
    assert outcome.row_failures == {2: ["unique(record_key)"], 5: ["unique(record_key)"]}
    register = [dict(MVS[0]), dict(MVS[1], changed_at=MVS[0]["changed_at"]), dict(MVS[2])]
    outcome = run(tmp_path, "mvs_register", register)
    assert outcome.row_failures == {2: ["unique(record_key+changed_at)"], 3: ["unique(record_key+changed_at)"]}


def test_rnokpp_disagreements_are_flags_not_failures(tmp_path):
    """A typo is not a reason to lose a person: the rows load, each disagreement flagged."""
    typo = NPU[0]["рнокпп"][:9] + str((int(NPU[0]["рнокпп"][9]) + 1) % 10)
    other_birth = rnokpp.make(dt.date(1985, 12, 2), False, 5)
    male_code = rnokpp.make(dt.date(1985, 12, 1), True, 5)
    short = NPU[2]["рнокпп"][:9]
    rows = [dict(NPU[0], рнокпп=typo), dict(NPU[1], рнокпп=other_birth), dict(NPU[2]),
            dict(NPU[1], номер_звернення="20220000009", рнокпп=male_code),
            dict(NPU[2], номер_звернення="20220000010", рнокпп=short)]
    outcome = run(tmp_path, "npu_appeals", rows)
    assert outcome.success and outcome.row_failures == {}
    assert outcome.row_flags == {2: ["rnokpp_check_digit"], 3: ["rnokpp_birth_date"], 6: ["rnokpp_sex"],
                                 8: ["pattern(rnokpp)", "rnokpp_check_digit"]}
    assert outcome.summary["rows_flagged"] == 4
    assert outcome.summary["flag_counts"] == {"rnokpp_check_digit": 2, "rnokpp_birth_date": 1, "rnokpp_sex": 1,
                                              "pattern(rnokpp)": 1}
    no_personal_values(outcome.summary, [typo, other_birth, male_code, short])


def test_a_flagged_row_that_fails_another_check_names_both(tmp_path):
    rows = [dict(NPU[0], дата_народження="25.02.2022"), dict(NPU[1])]  # born after disappearing
    outcome = run(tmp_path, "npu_appeals", rows)
    assert outcome.row_failures == {2: ["date_order(birth_date<=disappeared_on)", "rnokpp_birth_date"]}
    assert outcome.row_flags == {}


def test_dates_in_order_and_plausible_ages(tmp_path):
    rows = [
        dict(NPU[0], дата_народження="25.02.2022"),                          # born after disappearing
        dict(NPU[1], дата_реєстрації="01.04.2022"),                          # registered before disappearing
        dict(NPU[2], дата_реєстрації="28.11.2026", дата_зникнення="27.11.2026"),  # registered after the extract
        dict(NPU[2], номер_звернення="20230000004", дата_народження="01.01.1880", рнокпп=""),  # 146 years old
    ]
    outcome = run(tmp_path, "npu_appeals", rows)
    assert outcome.row_failures[2] == ["date_order(birth_date<=disappeared_on)", "rnokpp_birth_date"]
    assert outcome.row_failures[3] == ["date_order(disappeared_on<=registered_on)"]
    assert outcome.row_failures[5] == ["date_order(registered_on<=extract_date)"]
    assert outcome.row_failures[6] == ["plausible_age"]


def test_status_and_change_dates_not_after_the_extract(tmp_path):
    register = [dict(MVS[0], changed_at="2026-11-28T10:00:00"), dict(MVS[1], status_date="2026-11-28"), dict(MVS[2])]
    outcome = run(tmp_path, "mvs_register", register)
    assert outcome.row_failures == {2: ["date_order(changed_at<=extract_date)"],
                                    3: ["date_order(status_date<=extract_date)"]}
    # a change late on the extract day in Kyiv is still that day
    late = [dict(MVS[0], changed_at="2026-11-27T23:30:00")]
    assert run(tmp_path, "mvs_register", late).success


def test_partial_birth_dates_are_compared_by_their_first_day(tmp_path):
    rows = [dict(ICRC[0], date_of_birth="2022", notified_on="2022-02-01"), dict(ICRC[1]),
            dict(ICRC[2], date_of_birth="2024-02", notified_on="2024-01-15")]
    outcome = run(tmp_path, "icrc_confirmations", rows)
    assert outcome.row_failures == {3: ["date_order(birth_date<=status_date)"]}


def test_values_outside_the_allowed_set(tmp_path):
    rows = [dict(CHILDREN[0], status="lost", sex="X"), dict(CHILDREN[1])]
    outcome = run(tmp_path, "children_deported", rows)
    # the parser's report and the expectation carry the same name: one entry per failure
    assert outcome.row_failures == {2: ["allowed(sex)", "allowed(status)"]}
    assert outcome.summary["unexpected_counts"] == {"allowed(sex)": 1, "allowed(status)": 1}
    assert outcome.summary["parse_problems"] == {"allowed(sex)": 1, "allowed(status)": 1}
    no_personal_values(outcome.summary, ["lost"])


def test_parse_problems_join_the_row_failures(tmp_path):
    rows = [dict(COORDHQ[0], opened_on="2022-02-30"), dict(COORDHQ[1])]
    outcome = run(tmp_path, "coordhq_cases", rows)
    assert outcome.row_failures == {1: ["parse(registered_on): not a date (%Y-%m-%d)", "required(registered_on)"]}


def test_attributes_are_checked_from_the_json_when_not_given_as_columns(tmp_path):
    parsed = parse_sample(tmp_path, "coordhq_cases")
    rows = parsed.rows.drop(columns=load("coordhq_cases").attribute_fields)
    attrs = [json.loads(a) for a in rows["attributes"]]
    attrs[1]["confirmation_source"] = "rumour"
    rows["attributes"] = [json.dumps(a, ensure_ascii=False) for a in attrs]
    outcome = v.validate(load("coordhq_cases"), rows, extract_date=NIGHT)
    assert outcome.row_failures == {2: ["allowed(confirmation_source)"]}


# ------------------------------------------------------------------------------------------ drop verdicts
def test_row_count_must_equal_the_manifest(tmp_path):
    outcome = run(tmp_path, "ombudsman", manifest_rows=5)
    assert outcome.drop_failures == ["row count 2 differs from the manifest's 5"] and not outcome.success
    check = next(e for e in outcome.summary["expectations"] if e["name"] == "row_count_equals_manifest")
    assert check["success"] is False and check["observed_value"] == 2


def test_volume_change_against_the_previous_drop(tmp_path):
    outcome = run(tmp_path, "children_deported", previous_rows=10)
    assert outcome.drop_failures == ["row count 2 is -80% against the previous drop's 10 (bound ±50%)"]
    assert run(tmp_path, "children_deported", previous_rows=3, max_volume_change=0.5).success
    assert not run(tmp_path, "children_deported", previous_rows=3, max_volume_change=0.2).success
    assert run(tmp_path, "children_deported", previous_rows=None).success  # the first drop


def test_share_of_bad_rows_over_the_threshold_fails_the_drop(tmp_path):
    good = [dict(CHILDREN[0], child_id=f"NIB-{i:07d}") for i in range(27)]
    bad = [dict(CHILDREN[0], child_id=f"NIB-9{i:06d}", sex="?") for i in range(3)]
    outcome = run(tmp_path, "children_deported", good + bad)
    assert outcome.drop_failures == [] and sorted(outcome.row_failures) == [29, 30, 31]
    bad = [dict(CHILDREN[0], child_id=f"NIB-9{i:06d}", sex="?") for i in range(4)]
    outcome = run(tmp_path, "children_deported", good[:26] + bad)
    assert outcome.drop_failures == ["4 of 30 rows (13.3%) failed validation, over the 10% threshold"]
    assert run(tmp_path, "children_deported", good[:26] + bad, max_bad_row_share=0.2).drop_failures == []
    # a handful of rows: bad ones are quarantined one by one, the file is not refused
    tiny = run(tmp_path, "children_deported", [CHILDREN[0], dict(CHILDREN[1], sex="?")])
    assert tiny.drop_failures == [] and list(tiny.row_failures) == [3]


def test_mass_failure_is_a_drop_failure_without_collecting_every_line(tmp_path):
    rows = [dict(CHILDREN[0], child_id=f"NIB-{i:07d}", status="gone") for i in range(200)]
    outcome = run(tmp_path, "children_deported", rows)
    assert outcome.drop_failures == ["200 of 200 rows (100.0%) failed validation, over the 10% threshold"]
    assert outcome.summary["unexpected_counts"]["allowed(status)"] == 200


# ------------------------------------------------------------------------------------------ Data Docs
def _failing_outcomes(tmp_path) -> tuple[list, list[str]]:
    bad_values = ["Привид", "lost", "1880-01-01"]
    outcomes = []
    for source_id in source_ids():
        outcomes.append(run(tmp_path, source_id))
    outcomes.append(run(tmp_path, "npu_appeals", [dict(NPU[0]), dict(NPU[1], стать="Привид"),
                                                   dict(NPU[2], номер_звернення=NPU[0]["номер_звернення"])]))
    outcomes.append(run(tmp_path, "children_deported", [dict(CHILDREN[0], status="lost", birth_date="1880-01-01"),
                                                        dict(CHILDREN[1])], manifest_rows=3))
    return outcomes, bad_values


def test_data_docs_have_no_personal_values(tmp_path):
    outcomes, bad_values = _failing_outcomes(tmp_path)
    docs = tmp_path / "data_docs"
    index = Path(v.build_data_docs(outcomes, docs))
    assert index.is_file() and index == (docs / "site" / "index.html").resolve()
    pages = list((docs / "site").rglob("*.html"))
    assert len([p for p in pages if "validations" in p.parts]) >= len(source_ids())
    html = index.read_text(encoding="utf-8")
    assert "ridni.npu_appeals" in html or "npu_appeals" in html
    for path in docs.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".yml", ".yaml"):
            text = path.read_text(encoding="utf-8", errors="replace")
            leaked = [p for p in [*PERSONAL, *bad_values] if p in text]
            assert not leaked, (path, leaked)
            assert "partial_unexpected_list" not in text and "unexpected_index_list" not in text
    failing = [p for p in pages if "validations" in p.parts and "npu_appeals" in str(p)]
    assert failing and any("unique" in p.read_text(encoding="utf-8") for p in failing)


def test_data_docs_are_rebuilt_for_a_night_from_the_audit_summaries(tmp_path, engine):
    outcome = run(tmp_path, "ombudsman", [dict(SAMPLES["ombudsman"][1][0], category="exiled")])
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit.validation (source_id, extract_date, file_name, suite, success, rows_evaluated, "
            "rows_failed, summary) VALUES (:s, :n, :f, :suite, :ok, :ev, :bad, CAST(:summary AS jsonb))"),
            {"s": "ombudsman", "n": NIGHT, "f": outcome.file_name, "suite": outcome.suite_name, "ok": outcome.success,
             "ev": outcome.rows_evaluated, "bad": outcome.rows_failed,
             "summary": json.dumps(outcome.summary, default=str)})
    with engine.begin() as conn:
        index = Path(build_data_docs_for_night(conn, "ombudsman", NIGHT, str(tmp_path / "docs")))
    assert index.is_file()
    pages = [p for p in (tmp_path / "docs" / "site").rglob("*.html") if "ombudsman" in str(p)]
    assert pages and not any("exiled" in p.read_text(encoding="utf-8") for p in pages)


# ------------------------------------------------------------------------------------------ large files (speed: see the benchmark)
def test_a_large_frame_is_validated_row_by_row(tmp_path):
    one = parse_sample(tmp_path, "npu_appeals").rows
    n = 200_000
    rows = one.iloc[[0, 2] * (n // 2)].reset_index(drop=True)
    rows["line_no"] = range(2, n + 2)
    rows["record_key"] = pd.Series(range(n)).astype(str).str.zfill(11).astype("str")
    rows.loc[[10, 150_000], "sex"] = "X"
    outcome = v.validate(load("npu_appeals"), rows, extract_date=NIGHT, manifest_rows=n, previous_rows=n)
    assert outcome.row_failures == {12: ["allowed(sex)"], 150_002: ["allowed(sex)"]}
    assert outcome.drop_failures == []
