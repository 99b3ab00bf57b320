"""The decision, set-based over all persons at once (pandas), following ``rules/decision_rules.csv``.

Input: one evidence row per (person, source record) that still stands.
Output: one decision per person: the situation, with the rule and record that decided it; inside "held"
the kind, with the rule and record that decided it; and the review the person waits for, if any.

Each date of a person's confirmed evidence has a situation: that of the date's most authoritative
evidence. Where evidence of the date's best rank disagrees, the date keeps the situation of the date
before it (the previous decision stands) or, on the person's first confirmed date, takes the one
``situations.csv`` prefers. The person's situation is that of their last date. Inside "held", the kind
comes from the held evidence of the dates since the person last had another situation (the episode):
each date's best-ranked specific evidence names it; where two kinds disagree there, the kind known before
stands; with no specific evidence at all, the person type gives it (``categories.csv``).

A case officer's decision on a conflict (``reviews``) binds while the person has no evidence the officer
did not see: the record chosen stands and the conflict's records of another category are set aside
(``reviewer_chose``), or every record of the conflict is set aside (``reviewer_set_aside``); the person
is then decided from what remains, and no longer waits for a review.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ridni.decide import rules
from ridni.decide.rules import HELD, MISSING, WITHDRAWN

EVIDENCE_COLUMNS = ["person_id", "source_id", "record_key", "status", "effective_date", "withdrawn", "person_type"]
DECISION_COLUMNS = [
    "person_id", "category", "situation", "rule", "source_id", "record_key", "effective_date",
    "kind_rule", "kind_source_id", "kind_record_key", "kind_date", "review", "needs_review",
    "conflict_lead_source_id", "conflict_lead_record_key", "conflict_rival_source_id", "conflict_rival_record_key",
    "icrc_confirmed", "review_decision_id",
]
# a case officer's standing decision on a person's conflict (core.review_decision, kind 'evidence'):
# decision 'stands' (the record evidence_source_id/evidence_record_key) or 'all_wrong'; evidence_seen
# the (source_id, record_key) of the person's evidence the officer was shown
REVIEW_COLUMNS = ["person_id", "decision_id", "decision", "evidence_source_id", "evidence_record_key",
                  "evidence_seen"]
KEY = ["person_id", "source_id", "record_key"]
# a date's best-ranked records that disagree: the first in decision order (lead) and the first it disagrees with
CONFLICT_SIDES = ["lead_source_id", "lead_record_key", "rival_source_id", "rival_record_key"]
ICRC = "icrc_confirmations"
WORKING_COLUMNS = ["person_id", "source_id", "record_key", "situation", "generic", "category", "effective_date",
                   "authority", "person_type"]
DAY = ["person_id", "effective_date"]
# a person's evidence in decision order: latest first, then the more authoritative, then a stable order
ORDER = ["person_id", "effective_date", "authority", "source_id", "record_key"]
ASCENDING = [True, False, True, True, True]
# what a date's decision rests on, carried to a later date whose evidence disagrees
CARRIED = ["decided", "source_id", "record_key", "decided_on"]


def to_evidence(records: pd.DataFrame) -> pd.DataFrame:
    """Map each linked record's source status to its situation and category (category_map.csv).

    ``records`` has EVIDENCE_COLUMNS; ``person_type`` is the person's derived type. Generic evidence
    (``generic``: it says only "held") carries the kind it gives on its own, by person type.
    Records that are withdrawn, or whose status withdraws (not_confirmed), yield no evidence.
    """
    merged = records.merge(rules.category_map(), on=["source_id", "status"], how="left", validate="many_to_one")
    unmapped = merged["situation"].isna()
    if unmapped.any():
        pairs = merged.loc[unmapped, ["source_id", "status"]].drop_duplicates().to_records(index=False)
        raise ValueError(f"no category for source status: {sorted(map(tuple, pairs))}")
    standing = ~merged["withdrawn"].astype(bool) & (merged["situation"] != WITHDRAWN)
    out = merged[standing].copy()
    out["generic"] = out["generic"].astype(bool)
    out.loc[out["generic"], "category"] = out.loc[out["generic"], "person_type"].map(rules.held_kind_for())
    out["authority"] = out["source_id"].map(rules.source_authority()).astype(int)
    out["effective_date"] = pd.to_datetime(out["effective_date"])
    return out


def supports(evidence: pd.DataFrame, category: pd.Series) -> pd.Series:
    """Whether each evidence row supports the ``category`` beside it: specific evidence its own category,
    generic evidence any kind of held (it confirms the situation and never contradicts a kind)."""
    held = category.map(rules.SITUATION_OF).eq(HELD).to_numpy()
    specific_match = evidence["category"].to_numpy() == category.to_numpy()
    return pd.Series(np.where(evidence["generic"].to_numpy(), held, specific_match), index=evidence.index)


def _days(rows: pd.DataFrame, value: str) -> pd.DataFrame:
    """Per (person, date) of ``rows`` (given in decision order), oldest first: the ``value`` and record
    (``lead_*``) of the date's first row, one of its best rank; ``disagree`` when another best-ranked row
    of the date has another value (``rival_*``: the first such row); ``mixed`` when any row of the date
    has another value; ``first_day``: the person's first date."""
    new_day = (rows["person_id"].ne(rows["person_id"].shift()) | rows["effective_date"].ne(
        rows["effective_date"].shift())).to_numpy()
    day = pd.Series(np.cumsum(new_day), index=rows.index)
    lead_value = rows[value].where(new_day).ffill()
    lead_rank = rows["authority"].where(new_day).ffill()
    other = rows[rows[value] != lead_value]
    rival = other[other["authority"] == lead_rank[other.index]]
    rival = rival.set_index(day[rival.index])
    rival = rival[~rival.index.duplicated()]
    days = rows.loc[new_day, [*DAY, "authority", value, "source_id", "record_key"]].rename(
        columns={"source_id": "lead_source_id", "record_key": "lead_record_key"})
    number = day[new_day].to_numpy()
    days["rival_source_id"] = rival["source_id"].reindex(number).to_numpy()
    days["rival_record_key"] = rival["record_key"].reindex(number).to_numpy()
    days["mixed"] = np.isin(number, day[other.index].to_numpy())
    days = days.iloc[::-1].reset_index(drop=True)  # oldest first within each person
    days["disagree"] = days["rival_source_id"].notna()
    days["first_day"] = ~days["person_id"].duplicated()
    # until a disagreement is resolved below, each date's decision rests on its lead record
    days["decided"] = days[value]
    days["source_id"], days["record_key"] = days["lead_source_id"], days["lead_record_key"]
    days["decided_on"] = days["effective_date"]
    return days


def _carry_over_disagreements(days: pd.DataFrame, disputed: pd.Series) -> None:
    """A disputed date keeps the decision (and its record) of the person's date before it."""
    for col in CARRIED:
        days[col] = days[col].mask(disputed)
    days[CARRIED] = days.groupby("person_id")[CARRIED].ffill()


def _situation_days(confirmed: pd.DataFrame) -> pd.DataFrame:
    """Per (person, date) of confirmed evidence, oldest first: the situation decided as of that date."""
    days = _days(confirmed, "situation")
    opening = days["disagree"] & days["first_day"]
    if opening.any():  # nothing came before: the preferred of the situations that disagree, its first record
        candidates = confirmed.merge(days.loc[opening, [*DAY, "authority"]], on=[*DAY, "authority"])
        candidates = candidates.assign(preference=candidates["situation"].map(rules.conflict_preference()))
        chosen = candidates.sort_values([*DAY, "preference", "source_id", "record_key"]).drop_duplicates(DAY)
        chosen = days.loc[opening, DAY].merge(chosen, on=DAY, how="left")
        days.loc[opening, ["decided", "source_id", "record_key"]] = chosen[
            ["situation", "source_id", "record_key"]].to_numpy()
    _carry_over_disagreements(days, days["disagree"] & ~days["first_day"])
    # a date's less authoritative evidence of another situation: the rank broke the tie
    days["tie_broken"] = days["mixed"] & ~days["disagree"]
    return days


def _kinds(confirmed: pd.DataFrame, days: pd.DataFrame, held: pd.Index, person_type: pd.Series) -> pd.DataFrame:
    """For the persons ``held`` now: the kind of the current held episode, its rule and record, and the
    two records when the kind waits for a review."""
    out = pd.DataFrame(index=held)
    out["kind"] = person_type.reindex(held).map(rules.held_kind_for())
    out["kind_rule"] = "held_kind_by_person_type"
    out["kind_review"] = False
    for col in ("kind_source_id", "kind_record_key", "kind_date", *CONFLICT_SIDES):
        out[col] = None
    # the episode: dates after the last one on which the person had another situation
    left_held = days[days["person_id"].isin(held) & (days["decided"] != HELD)].groupby("person_id")[
        "effective_date"].max()
    rows = confirmed[confirmed["person_id"].isin(held) & (confirmed["situation"] == HELD)]
    rows = rows.join(left_held.rename("left_held"), on="person_id")
    episode = rows[rows["left_held"].isna() | (rows["effective_date"] > rows["left_held"])]
    specific = episode[~episode["generic"]]
    if specific.empty:
        return out
    kinds = _days(specific, "category")
    _carry_over_disagreements(kinds, kinds["disagree"])
    last = kinds.drop_duplicates("person_id", keep="last").set_index("person_id")
    named = last[last["decided"].notna()]  # else: every specific date disagreed, the person type decides
    out.loc[named.index, "kind"] = named["decided"]
    out.loc[named.index, ["kind_source_id", "kind_record_key", "kind_date"]] = named[
        ["source_id", "record_key", "decided_on"]].to_numpy()
    generic_since = episode[episode["generic"]].groupby("person_id")["effective_date"].max().reindex(named.index)
    out.loc[named.index, "kind_rule"] = np.where(generic_since > named["effective_date"],
                                                 "generic_keeps_known_kind", "latest_specific_kind")
    disputed = last[last["disagree"]]
    out.loc[disputed.index, "kind_rule"] = "kind_conflict_to_review"
    out.loc[disputed.index, "kind_review"] = True
    out.loc[disputed.index, CONFLICT_SIDES] = disputed[CONFLICT_SIDES].to_numpy()
    return out


def decide(evidence: pd.DataFrame, reviews: pd.DataFrame | None = None) -> pd.DataFrame:
    """Decide every person's category from ``to_evidence`` rows (the rules of decision_rules.csv), and
    settle the conflicts a case officer decided (``reviews``, REVIEW_COLUMNS, one row per person)."""
    base = _decide(evidence).assign(review_decision_id=None)
    if reviews is None or reviews.empty or base.empty:
        return base[DECISION_COLUMNS]
    binding, aside = binding_reviews(evidence, base, reviews)
    if binding.empty:
        return base[DECISION_COLUMNS]
    persons = binding["person_id"]
    kept = evidence[evidence["person_id"].isin(persons)].drop(index=aside)
    settled = _decide(kept) if not kept.empty else base.iloc[0:0].drop(columns="review_decision_id")
    # every record set aside and nothing else: no confirmation, so missing
    emptied = persons[~persons.isin(settled["person_id"])]
    if len(emptied):
        settled = pd.concat([settled, pd.DataFrame({
            "person_id": emptied.to_numpy(), "category": MISSING, "situation": MISSING, "rule": "missing_by_default",
            "review": None, "needs_review": False, "icrc_confirmed": False})], ignore_index=True)
    settled = settled.set_index("person_id")
    before = base.set_index("person_id").loc[persons]
    decision = binding.set_index("person_id")
    settled["review_decision_id"] = decision["decision_id"]
    rule = decision["decision"].map({"stands": "reviewer_chose", "all_wrong": "reviewer_set_aside"})
    done = settled["review"].isna()  # else the records left still conflict: the person waits again
    for which, column in (("situation", "rule"), ("kind", "kind_rule")):
        hit = done & (before["review"] == which)
        settled.loc[hit, column] = rule[hit[hit].index]
    sides = [f"conflict_{side}" for side in CONFLICT_SIDES]
    settled.loc[done, sides] = before.loc[done[done].index, sides].to_numpy()  # the conflict the decision settled
    out = pd.concat([base[~base["person_id"].isin(persons)], settled.reset_index()], ignore_index=True)
    optional = [c for c in DECISION_COLUMNS if c.startswith(("kind_", "conflict_", "review"))]
    out[optional] = out[optional].astype(object).where(out[optional].notna(), None)
    return out[DECISION_COLUMNS].sort_values("person_id", ignore_index=True)


def conflict_records(evidence: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """The evidence rows of each conflict in ``decisions`` (persons with a ``review``): the rows of the
    lead record's date and rank; of a kind conflict only the specific ones (generic evidence names no kind).
    Adds the column ``review`` (kind | situation)."""
    waiting = decisions.loc[decisions["review"].notna(), ["person_id", "review", "conflict_lead_source_id",
                                                          "conflict_lead_record_key"]]
    lead = evidence[KEY + ["effective_date", "authority"]].merge(
        waiting, left_on=KEY, right_on=["person_id", "conflict_lead_source_id", "conflict_lead_record_key"])
    rows = evidence.rename_axis("row").reset_index().merge(
        lead[["person_id", "effective_date", "authority", "review"]], on=["person_id", "effective_date", "authority"])
    return rows[(rows["review"] == "situation") | ~rows["generic"].astype(bool)].set_index("row")


def binding_reviews(evidence: pd.DataFrame, base: pd.DataFrame,
                    reviews: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index]:
    """The reviews that bind tonight, and the index of the evidence rows they set aside.

    A review binds while the person still waits for a review (``base``), every standing record of theirs
    was shown to the officer, and (for ``stands``) the chosen record is one of the conflict's.
    """
    reviews = reviews[reviews["decision"].isin(["stands", "all_wrong"])]
    reviews = reviews[reviews["person_id"].isin(base.loc[base["review"].notna(), "person_id"])]
    if reviews.empty:
        return reviews, pd.Index([])
    seen = reviews[["person_id", "evidence_seen"]].explode("evidence_seen").dropna()
    seen = pd.DataFrame({"person_id": seen["person_id"].to_numpy(),
                         "source_id": [s[0] for s in seen["evidence_seen"]],
                         "record_key": [s[1] for s in seen["evidence_seen"]]})
    own = evidence[evidence["person_id"].isin(reviews["person_id"])][KEY]
    unseen = own.merge(seen.astype({"person_id": own["person_id"].dtype}), on=KEY, how="left", indicator=True)
    new_evidence = unseen.loc[unseen["_merge"] == "left_only", "person_id"].unique()
    reviews = reviews[~reviews["person_id"].isin(new_evidence)]
    conflict = conflict_records(evidence, base[base["person_id"].isin(reviews["person_id"])])
    chosen = conflict.reset_index().merge(
        reviews[["person_id", "evidence_source_id", "evidence_record_key"]],
        left_on=KEY, right_on=["person_id", "evidence_source_id", "evidence_record_key"])
    chosen = chosen.set_index("person_id")["category"]
    reviews = reviews[(reviews["decision"] == "all_wrong") | reviews["person_id"].isin(chosen.index)]
    conflict = conflict[conflict["person_id"].isin(reviews["person_id"])]
    all_wrong = conflict["person_id"].isin(reviews.loc[reviews["decision"] == "all_wrong", "person_id"])
    other_category = conflict["category"].to_numpy() != conflict["person_id"].map(chosen).to_numpy()
    return reviews, conflict.index[all_wrong.to_numpy() | other_category]


def _decide(evidence: pd.DataFrame) -> pd.DataFrame:
    """The decision from evidence alone (decision_rules.csv), DECISION_COLUMNS but the reviewer's."""
    evidence = evidence[WORKING_COLUMNS]
    evidence = evidence.sort_values(ORDER, ascending=ASCENDING, ignore_index=True)  # every step keeps this order
    person_type = evidence.drop_duplicates("person_id").set_index("person_id")["person_type"]
    confirmed = evidence[evidence["situation"] != MISSING]
    days = _situation_days(confirmed) if not confirmed.empty else None
    if days is not None:
        last = days.drop_duplicates("person_id", keep="last").set_index("person_id")
        disagree = last["disagree"]
        decided = pd.DataFrame({
            "situation": last["decided"], "source_id": last["source_id"], "record_key": last["record_key"],
            "effective_date": last["decided_on"],
            "rule": np.select(
                [disagree & last["first_day"], disagree, last["tie_broken"]],
                ["situation_conflict_no_earlier_decision", "situation_conflict_previous_stands",
                 "authority_breaks_tie"], "latest_confirmation_wins"),
            "review": np.where(disagree, "situation", None),
        }, index=last.index)
        for side in CONFLICT_SIDES:  # the two records that disagree
            decided[f"conflict_{side}"] = last[side].where(disagree)
        held = decided.index[decided["situation"] == HELD]
        kinds = _kinds(confirmed, days, held, person_type)
        decided["category"] = decided["situation"]
        decided.loc[held, "category"] = kinds["kind"]
        for col in ("kind_rule", "kind_source_id", "kind_record_key", "kind_date"):
            decided[col] = kinds[col].reindex(decided.index)
        kind_review = kinds.index[kinds["kind_review"]].difference(decided.index[disagree])
        decided.loc[kind_review, "review"] = "kind"
        for side in CONFLICT_SIDES:
            decided.loc[kind_review, f"conflict_{side}"] = kinds.loc[kind_review, side]
        decided = decided.reset_index()
    else:
        decided = pd.DataFrame(columns=[c for c in DECISION_COLUMNS if c not in ("needs_review", "icrc_confirmed")])

    unconfirmed = evidence[~evidence["person_id"].isin(decided["person_id"])]
    missing = unconfirmed.drop_duplicates("person_id")[["person_id", "source_id", "record_key", "effective_date"]]
    missing = missing.assign(category=MISSING, situation=MISSING, rule="missing_by_default", review=None)
    out = pd.concat([decided, missing], ignore_index=True)
    out["person_id"] = out["person_id"].astype(evidence["person_id"].dtype)
    out["needs_review"] = out["review"].notna()
    optional = [c for c in DECISION_COLUMNS if c.startswith(("kind_", "conflict_", "review")) and c in out]
    out[optional] = out[optional].astype(object).where(out[optional].notna(), None)
    out["icrc_confirmed"] = out["person_id"].isin(_icrc_confirmed(evidence, out))
    columns = [c for c in DECISION_COLUMNS if c != "review_decision_id"]
    return out[columns].sort_values("person_id", ignore_index=True)


def _icrc_confirmed(evidence: pd.DataFrame, decisions: pd.DataFrame) -> pd.Index:
    """Persons with an ICRC record that supports their decided category."""
    icrc = evidence[evidence["source_id"] == ICRC]
    category = icrc["person_id"].map(decisions.set_index("person_id")["category"])
    return pd.Index(icrc.loc[supports(icrc, category), "person_id"].unique())
