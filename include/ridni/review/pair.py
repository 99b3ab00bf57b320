"""One record pair as a reviewer weighs it: both records, Splink's comparison, both persons, the effect.

Identifiers (RNOKPP, service number) leave this module masked except their last digits, with whether
the two sides' full values are equal; the rest of each record is shown as the source delivered it, next
to the form the matcher compared (Latin transliteration keys, the given-name id, the parsed birth date
with the parts the source left out). ``effect`` says what "same" and "different" would change, from the
two persons' current categories.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ridni.review.decisions import pair_history, pair_version

SHOWN_DIGITS = 4
OTHER_RECORDS = 100  # per person; a person has a handful

RECORD_SQL = """
SELECT r.source_id, r.record_key, r.surname, r.first_name, r.patronymic, r.full_name, r.birth_date, r.sex,
       r.rnokpp, r.service_no, r.person_type, r.status, r.status_date, r.region AS region_delivered,
       r.disappeared_on, r.registered_on, r.first_seen_on, r.withdrawn_on, r.row_hash,
       f.surname_key, f.first_key, f.first_lat, f.patronymic_key, f.patronymic_lat, f.birth_year, f.birth_month,
       f.birth_day, f.birth_precision, f.sex AS sex_matched, f.region,
       l.person_id, l.rule AS link_rule, s.category, s.effective_date AS category_since, s.rule AS category_rule
FROM core.source_record r
LEFT JOIN core.link_record f ON f.source_id = r.source_id AND f.record_key = r.record_key
LEFT JOIN core.person_link l ON l.source_id = r.source_id AND l.record_key = r.record_key
LEFT JOIN core.person_status s ON s.person_id = l.person_id AND s.valid_to IS NULL
WHERE (r.source_id, r.record_key) IN ((:ls, :lk), (:rs, :rk))
"""

OTHERS_SQL = """
SELECT l.person_id, l.source_id, l.record_key, l.rule AS link_rule, r.surname, r.first_name, r.patronymic,
       r.full_name, r.birth_date, r.status, r.status_date, r.withdrawn_on
FROM core.person_link l JOIN core.source_record r ON r.source_id = l.source_id AND r.record_key = l.record_key
WHERE l.person_id = :p AND (l.source_id, l.record_key) NOT IN ((:ls, :lk), (:rs, :rk))
ORDER BY l.source_id, l.record_key
LIMIT :limit
"""


def mask(value) -> str | None:
    """An identifier with all but its last digits hidden: ``••••••7890``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or str(value) == "":
        return None
    text = str(value)
    return "\u2022" * max(0, len(text) - SHOWN_DIGITS) + text[-SHOWN_DIGITS:]


def same_value(a, b) -> bool | None:
    """Whether two identifiers are equal (None: one side has none)."""
    if not isinstance(a, str) or not isinstance(b, str) or not a or not b:
        return None
    return a.strip() == b.strip()


def birth_parts(year, month, day) -> str | None:
    """The parsed birth date with the parts the source left out as ``??``: ``1987-03-??``, ``1987-??-??``."""
    if year is None or pd.isna(year):
        return None

    def part(v, width):
        return "?" * width if v is None or pd.isna(v) else f"{int(v):0{width}d}"

    return f"{part(year, 4)}-{part(month, 2)}-{part(day, 2)}"


@dataclass(frozen=True)
class Level:
    """One field's comparison level, as Splink scored the pair."""
    field: str  # the comparison's output name: surname, first_name, patronymic, birth_date, sex, region
    gamma: int
    label: str  # Splink's label of the level (label_for_charts)
    weight: float | None  # log2(m/u): what the level added to the match weight


def comparison_levels(comparison: dict, model: dict | None) -> tuple[list[Level], float | None]:
    """The pair's level per field with label and weight, and the prior's weight, from the stored model."""
    levels_of: dict[str, list[dict]] = {}
    prior = None
    if model:
        for comp in model.get("comparisons", []):
            levels_of[comp.get("output_column_name")] = comp.get("comparison_levels", [])
        lam = model.get("probability_two_random_records_match")
        if lam and 0 < lam < 1:
            prior = math.log2(lam / (1 - lam))
    out = []
    for name, gamma in comparison.items():
        levels = levels_of.get(name, [])
        non_null = [lv for lv in levels if not lv.get("is_null_level")]
        label, weight = str(gamma), None
        if gamma == -1:
            nulls = [lv for lv in levels if lv.get("is_null_level")]
            label = nulls[0].get("label_for_charts", "null") if nulls else "null"
            weight = 0.0
        elif 0 <= gamma < len(non_null):
            level = non_null[len(non_null) - 1 - gamma]  # Splink numbers the levels from the last (0) up
            label = level.get("label_for_charts", label)
            m, u = level.get("m_probability"), level.get("u_probability")
            if m and u:
                weight = math.log2(m / u)
        out.append(Level(name, int(gamma), label, weight))
    return out, prior


@dataclass(frozen=True)
class Effect:
    """What each decision would change, from the two persons' current categories."""
    same: str  # already_one | out_of_missing | one_category | choose | join
    different: str  # split | apart
    left_person: int | None
    right_person: int | None
    left_category: str | None
    right_category: str | None
    result: str | None  # the category after "same" (None: the decision step chooses, or unknown)


def effect_of(left: dict, right: dict) -> Effect:
    a, b = left.get("person_id"), right.get("person_id")
    ca, cb = left.get("category"), right.get("category")
    if a is not None and a == b:
        return Effect("already_one", "split", a, b, ca, cb, ca)
    if (ca == "missing") != (cb == "missing") and ca and cb:
        return Effect("out_of_missing", "apart", a, b, ca, cb, cb if ca == "missing" else ca)
    if ca and ca == cb:
        return Effect("one_category", "apart", a, b, ca, cb, ca)
    if ca and cb:  # two confirmed categories: the later confirmation wins, an equal one goes to review
        da, db = left.get("category_since"), right.get("category_since")
        if isinstance(da, dt.date) and isinstance(db, dt.date) and da != db:
            return Effect("join", "apart", a, b, ca, cb, ca if da > db else cb)
        return Effect("choose", "apart", a, b, ca, cb, None)
    return Effect("join", "apart", a, b, ca, cb, ca or cb)


@dataclass(frozen=True)
class PairView:
    pair_id: int
    match_probability: float
    match_weight: float | None
    first_queued_on: dt.date
    last_seen_on: dt.date
    decision: str | None  # the standing decision (None: undecided)
    decided_by: str | None
    version: str
    left: dict  # one record: delivered fields, matched fields, masked identifiers, person and category
    right: dict
    left_others: pd.DataFrame  # the left person's other records
    right_others: pd.DataFrame
    levels: list[Level]
    prior_weight: float | None
    effect: Effect
    history: pd.DataFrame  # decisions on the pair, newest first
    identifiers_equal: dict[str, bool | None] = field(default_factory=dict)  # rnokpp, service_no

    def shown(self) -> dict:
        """What the page showed, for the decision's record: versions, ids, scores, no personal data."""
        return {
            "version": self.version,
            "records": [{k: side[k] for k in ("source_id", "record_key", "row_hash")} for side in (self.left, self.right)],
            "persons": [self.effect.left_person, self.effect.right_person],
            "categories": [self.effect.left_category, self.effect.right_category],
            "match_probability": self.match_probability, "match_weight": self.match_weight,
            "comparison": {lv.field: lv.gamma for lv in self.levels},
            "effect": {"same": self.effect.same, "different": self.effect.different, "result": self.effect.result},
        }


def _plain(value):
    """A value from pandas as a plain Python value (NaN/NaT/NA as None, numpy ints as int)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    return value


def load_pair(conn: Connection, pair_id: int) -> PairView | None:
    """The pair as the page shows it (None: no such pair). Read in one snapshot with its version."""
    pair = conn.execute(sa.text(
        "SELECT pair_id, left_source_id, left_record_key, right_source_id, right_record_key, match_probability, "
        "match_weight, comparison, first_queued_on, last_seen_on, decision, decided_by "
        "FROM core.review_pair WHERE pair_id = :p"), {"p": pair_id}).mappings().first()
    if pair is None:
        return None
    keys = {"ls": pair["left_source_id"], "lk": pair["left_record_key"],
            "rs": pair["right_source_id"], "rk": pair["right_record_key"]}
    records = pd.read_sql(sa.text(RECORD_SQL), conn, params=keys)
    by_key = {(r["source_id"], r["record_key"]): {k: _plain(v) for k, v in r.items()}
              for r in records.to_dict("records")}
    left = by_key.get((keys["ls"], keys["lk"]), {"source_id": keys["ls"], "record_key": keys["lk"]})
    right = by_key.get((keys["rs"], keys["rk"]), {"source_id": keys["rs"], "record_key": keys["rk"]})
    equal = {k: same_value(left.get(k), right.get(k)) for k in ("rnokpp", "service_no")}
    for side in (left, right):
        side.setdefault("row_hash", None)
        for k in ("rnokpp", "service_no"):
            side[k] = mask(side.get(k))
        side["birth_parsed"] = birth_parts(side.get("birth_year"), side.get("birth_month"), side.get("birth_day"))

    def others(side: dict) -> pd.DataFrame:
        if side.get("person_id") is None:
            return pd.DataFrame()
        return pd.read_sql(sa.text(OTHERS_SQL), conn, params={**keys, "p": side["person_id"], "limit": OTHER_RECORDS})

    model = conn.execute(sa.text("SELECT settings FROM core.linkage_model ORDER BY model_id DESC LIMIT 1")).scalar()
    comparison = pair["comparison"] if isinstance(pair["comparison"], dict) else json.loads(pair["comparison"] or "{}")
    levels, prior = comparison_levels(comparison, model)
    same_person = left.get("person_id") is not None and left.get("person_id") == right.get("person_id")
    return PairView(
        pair_id=pair["pair_id"], match_probability=pair["match_probability"], match_weight=pair["match_weight"],
        first_queued_on=pair["first_queued_on"], last_seen_on=pair["last_seen_on"], decision=pair["decision"],
        decided_by=pair["decided_by"], version=pair_version(conn, pair_id), left=left, right=right,
        left_others=others(left), right_others=pd.DataFrame() if same_person else others(right),
        levels=levels, prior_weight=prior, effect=effect_of(left, right), history=pair_history(conn, pair_id),
        identifiers_equal=equal)
