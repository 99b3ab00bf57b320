"""The engine and the generator's ground truth (``ridni_dev.synth.truth.decide``, written apart from it) read the
rules tables alike, on random evidence dense with same-day conflicts of every sort (the generator's own
nights have few)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ridni.decide.engine import decide, to_evidence
from ridni.decide.rules import category_map
from ridni_dev.synth import truth

TYPES = np.array(["military", "civilian", "child"], dtype=object)


def _random_records(persons: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    statuses = category_map()[["source_id", "status"]].to_numpy()
    per_person = rng.integers(1, 7, persons)
    person = np.repeat(np.arange(persons), per_person)
    pick = statuses[rng.integers(0, len(statuses), len(person))]
    # few distinct dates, so that many records share a date (and often a rank)
    day = rng.integers(0, 5, len(person))
    return pd.DataFrame({
        "person_id": person, "source_id": pick[:, 0], "record_key": [f"r{i}" for i in range(len(person))],
        "status": pick[:, 1], "effective_date": pd.to_datetime("2024-01-01") + pd.to_timedelta(day * 30, unit="D"),
        "withdrawn": rng.random(len(person)) < 0.05, "person_type": TYPES[rng.integers(0, 3, persons)][person],
    })


def _oracle_input(evidence: pd.DataFrame) -> pd.DataFrame:
    default = evidence["person_type"].map({"military": "captive_pow", "civilian": "civilian_detained",
                                           "child": "deported_child"})
    return pd.DataFrame({
        "person_no": evidence["person_id"].to_numpy(), "source_id": evidence["source_id"].to_numpy(),
        "record_key": evidence["record_key"].to_numpy(), "situation": evidence["situation"].to_numpy(),
        "generic": evidence["generic"].to_numpy(), "category": evidence["category"].to_numpy(),
        "default_kind": default.to_numpy(), "e": (evidence["effective_date"] - pd.Timestamp("1970-01-01")).dt.days,
    })


def test_engine_and_ground_truth_decide_alike_on_conflicting_evidence():
    evidence = to_evidence(_random_records(6000, seed=16))
    ours = decide(evidence).set_index("person_id")
    persons = ours.index.to_numpy()
    oracle = truth.decide(_oracle_input(evidence), persons).set_index("person_no")
    # the random evidence holds every path of the rules, many times over
    assert set(ours["rule"]) >= {"missing_by_default", "latest_confirmation_wins", "authority_breaks_tie",
                                 "situation_conflict_previous_stands", "situation_conflict_no_earlier_decision"}
    assert set(ours["kind_rule"].dropna()) == {"latest_specific_kind", "generic_keeps_known_kind",
                                                "held_kind_by_person_type", "kind_conflict_to_review"}
    assert ours["review"].value_counts().min() > 20
    pd.testing.assert_series_equal(ours["category"], oracle["category"], check_names=False, check_index_type=False, check_dtype=False)
    pd.testing.assert_series_equal(ours["review"].fillna(""), oracle["review"], check_names=False, check_dtype=False,
                                   check_index_type=False)
    pd.testing.assert_series_equal(ours["icrc_confirmed"], oracle["icrc_confirmed"], check_names=False, check_dtype=False,
                                   check_index_type=False)
