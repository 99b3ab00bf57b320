"""The decision, set-based over all persons at once (pandas), following ``rules/decision_rules.csv``.

Input: one evidence row per (person, source record) that still stands.
Output: one decision per person, naming the rule and the record that decided it.
"""

from __future__ import annotations

import pandas as pd

from ridni.decide.rules import HELD, WITHDRAWN, category_map, source_authority

EVIDENCE_COLUMNS = ["person_id", "source_id", "record_key", "status", "effective_date", "withdrawn", "person_type"]
DECISION_COLUMNS = [
    "person_id", "category", "rule", "source_id", "record_key", "effective_date", "needs_review",
    "conflict_source_id", "conflict_record_key",
]


def to_evidence(records: pd.DataFrame) -> pd.DataFrame:
    """Map each linked record's source status to a warehouse category (category_map.csv).

    ``records`` has EVIDENCE_COLUMNS; ``person_type`` is the person's derived type.
    Records that are withdrawn, or whose status withdraws (not_confirmed), yield no evidence.
    """
    merged = records.merge(category_map(), on=["source_id", "status"], how="left", validate="many_to_one")
    unmapped = merged["category"].isna()
    if unmapped.any():
        pairs = merged.loc[unmapped, ["source_id", "status"]].drop_duplicates().to_records(index=False)
        raise ValueError(f"no category for source status: {sorted(map(tuple, pairs))}")
    held = merged["category"] == HELD
    merged.loc[held, "category"] = merged.loc[held, "person_type"].map(
        lambda t: "captive_pow" if t == "military" else "civilian_detained"
    )
    standing = ~merged["withdrawn"].astype(bool) & (merged["category"] != WITHDRAWN)
    out = merged[standing].copy()
    out["authority"] = out["source_id"].map(source_authority()).astype(int)
    out["effective_date"] = pd.to_datetime(out["effective_date"])
    return out


def decide(evidence: pd.DataFrame, previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """Decide every person's category from ``to_evidence`` rows; ``previous`` (person_id, category) is
    yesterday's decision, kept when confirmations of equal weight conflict."""
    confirmed = evidence[evidence["category"] != "missing"].sort_values(
        ["person_id", "effective_date", "authority", "source_id", "record_key"],
        ascending=[True, False, True, True, True],
    )
    top = confirmed.drop_duplicates("person_id", keep="first").set_index("person_id")
    # the runner-up with the same date and rank but another category is a conflict
    same_weight = confirmed.join(top[["effective_date", "authority", "category"]], on="person_id", rsuffix="_top")
    rivals = same_weight[
        (same_weight["effective_date"] == same_weight["effective_date_top"])
        & (same_weight["authority"] == same_weight["authority_top"])
        & (same_weight["category"] != same_weight["category_top"])
    ].drop_duplicates("person_id").set_index("person_id")
    # runner-up on the same date but less authoritative: the tie was broken by authority
    tied = same_weight[
        (same_weight["effective_date"] == same_weight["effective_date_top"])
        & (same_weight["authority"] > same_weight["authority_top"])
        & (same_weight["category"] != same_weight["category_top"])
    ]["person_id"].unique()

    decided = top.reset_index()[["person_id", "category", "source_id", "record_key", "effective_date"]]
    decided["rule"] = "latest_confirmation_wins"
    decided.loc[decided["person_id"].isin(tied), "rule"] = "authority_breaks_tie"
    decided["needs_review"] = decided["person_id"].isin(rivals.index)
    decided["conflict_source_id"] = decided["person_id"].map(rivals["source_id"])
    decided["conflict_record_key"] = decided["person_id"].map(rivals["record_key"])
    if decided["needs_review"].any():
        prev = (previous.set_index("person_id")["category"] if previous is not None and not previous.empty
                else pd.Series(dtype=str))
        review = decided["needs_review"]
        decided.loc[review, "category"] = decided.loc[review, "person_id"].map(prev).fillna("missing")
        decided.loc[review, "rule"] = "equal_weight_conflict_to_review"

    unconfirmed = evidence[~evidence["person_id"].isin(decided["person_id"])].sort_values(
        ["person_id", "effective_date", "authority", "source_id", "record_key"],
        ascending=[True, False, True, True, True],
    ).drop_duplicates("person_id", keep="first")
    missing = unconfirmed[["person_id", "source_id", "record_key", "effective_date"]].assign(
        category="missing", rule="missing_by_default", needs_review=False,
        conflict_source_id=None, conflict_record_key=None,
    )
    out = pd.concat([decided, missing], ignore_index=True)[DECISION_COLUMNS]
    return out.sort_values("person_id", ignore_index=True)
