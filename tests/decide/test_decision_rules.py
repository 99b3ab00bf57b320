"""Every sentence of "How a category is decided" (docs/domain.md) as a named case
(include/ridni/rules/decision_cases.yaml), and the rules tables' own consistency."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import yaml

from ridni.decide.engine import decide, to_evidence
from ridni.decide.rules import RULES_DIR, category_map, decision_rules

CASES = yaml.safe_load((RULES_DIR / "decision_cases.yaml").read_text())


def _evidence(case: dict, person_id: int = 1) -> pd.DataFrame:
    rows = [
        {"person_id": person_id, "source_id": e[0], "record_key": f"{e[0]}-{i}", "status": e[1],
         "effective_date": str(e[2]), "withdrawn": len(e) > 3 and e[3] == "withdrawn",
         "person_type": case.get("person_type", "military")}
        for i, e in enumerate(case["evidence"])
    ]
    return pd.DataFrame(rows)


def _reviews(case: dict, person_id: int = 1) -> pd.DataFrame | None:
    """The case officer's decision on the case's conflict (``reviewed``), as the decision step reads it."""
    reviewed = case.get("reviewed")
    if reviewed is None:
        return None
    evidence = case["evidence"]
    seen = [[e[0], f"{e[0]}-{i}"] for i, e in enumerate(evidence[:reviewed.get("seen", len(evidence))])]
    chosen = seen[reviewed["record"]] if "record" in reviewed else [None, None]
    return pd.DataFrame([{"person_id": person_id, "decision_id": 1, "decision": reviewed["decision"],
                          "evidence_source_id": chosen[0], "evidence_record_key": chosen[1], "evidence_seen": seen}])


def _same(got, expected) -> bool:
    if expected is None:
        return got is None
    if isinstance(expected, dt.date):
        return got is not None and pd.Timestamp(got) == pd.Timestamp(expected)
    return got == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(name):
    case = CASES[name]
    decisions = decide(to_evidence(_evidence(case)), _reviews(case))
    assert len(decisions) == 1
    decision = decisions.iloc[0]
    for field, expected in case["expect"].items():
        assert _same(decision[field], expected), (name, field, decision.to_dict())


def test_all_cases_decided_at_once_give_each_case_its_own_decision():
    """The engine decides every person in one set-based pass: persons never leak into each other."""
    names = sorted(CASES)
    evidence = pd.concat([_evidence(CASES[n], person_id=i) for i, n in enumerate(names)], ignore_index=True)
    reviews = [r for i, n in enumerate(names) if (r := _reviews(CASES[n], person_id=i)) is not None]
    together = decide(to_evidence(evidence.sample(frac=1, random_state=1)),
                      pd.concat(reviews, ignore_index=True)).set_index("person_id")
    for i, name in enumerate(names):
        alone = decide(to_evidence(_evidence(CASES[name], person_id=i)),
                       _reviews(CASES[name], person_id=i)).set_index("person_id")
        pd.testing.assert_frame_equal(together.loc[[i]], alone, check_dtype=False, obj=name)


def test_every_rule_has_a_case():
    covered = {c["expect"].get(key) for c in CASES.values() for key in ("rule", "kind_rule")}
    # the withdrawal rule shows in the cases whose evidence is withdrawn
    assert any(any(len(e) > 3 for e in c["evidence"]) for c in CASES.values())
    assert set(decision_rules()["rule"]) - {"withdrawn_evidence_ignored"} <= covered


def test_every_source_status_of_the_contracts_has_a_category():
    from ridni.contracts import all_contracts

    mapped = set(map(tuple, category_map()[["source_id", "status"]].to_numpy()))
    for contract in all_contracts():
        for status in contract.status_values():
            assert (contract.source_id, status) in mapped, (contract.source_id, status)


def test_unknown_status_is_an_error_not_a_guess():
    ev = pd.DataFrame([{"person_id": 1, "source_id": "ombudsman", "record_key": "x", "status": "vanished",
                        "effective_date": "2024-01-01", "withdrawn": False, "person_type": "civilian"}])
    with pytest.raises(ValueError, match="no category"):
        to_evidence(ev)
