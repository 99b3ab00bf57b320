"""One person's category conflict as a reviewer weighs it: the competing records, the rule, each choice's effect.

A person waits for a review when evidence of one date and rank disagrees (``core.person_status.review``:
``kind`` or ``situation``; ``conflict_*`` name two of the records). The competing records are the
conflict's rows of the person's evidence (``ridni.decide.engine.conflict_records``: the lead record's date
and rank; of a kind conflict only the specific ones). What each choice would do is the decision engine's
own answer on the person's evidence with that choice applied, so the page never guesses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ridni.decide import rules
from ridni.decide.engine import conflict_records, decide
from ridni.review.pair import _plain

REVIEWER_RULES = ("reviewer_chose", "reviewer_set_aside")
EVIDENCE_SQL = """
SELECT e.person_id, e.source_id, e.record_key, e.category, e.generic, e.effective_date, e.authority,
       r.status, r.status_date, r.registered_on, r.first_seen_on, r.row_hash
FROM core.evidence e
LEFT JOIN core.source_record r ON r.source_id = e.source_id AND r.record_key = e.record_key
WHERE e.person_id = :p
ORDER BY e.effective_date DESC, e.authority, e.source_id, e.record_key
"""
HISTORY_SQL = """
SELECT decision_id, decision, evidence_source_id, evidence_record_key, decided_by, decided_at, note, supersedes
FROM core.review_decision WHERE kind = 'evidence' AND person_id = :p ORDER BY decision_id DESC
"""


@dataclass(frozen=True)
class Choice:
    """One competing record, and what choosing it would make of the person."""
    source_id: str
    record_key: str
    category: str  # the category its evidence gives (generic "held": the kind by person type)
    generic: bool
    effective_date: dt.date
    status: str | None  # the source's own status
    registered_on: dt.date | None
    first_seen_on: dt.date | None
    result: str | None  # the person's category if this record stands
    moves_group: bool  # ... and whether that moves the person between headline groups

    @property
    def ref(self) -> str:
        return f"{self.source_id}/{self.record_key}"


@dataclass(frozen=True)
class ConflictView:
    person_id: int
    category: str | None
    situation: str | None
    person_type: str | None
    region: str | None
    rule: str | None
    kind_rule: str | None
    review: str | None  # kind | situation: what waits for a review now (None: settled, or no conflict)
    conflict: str | None  # kind | situation: the conflict shown, waiting or settled by a reviewer
    conflict_rule: str | None  # the rule that made it a conflict
    settled_by: int | None  # the evidence decision the person's status follows
    version: str
    choices: list[Choice]
    all_wrong_result: str | None
    all_wrong_moves_group: bool
    evidence: pd.DataFrame  # every standing record of the person's evidence, latest first
    history: pd.DataFrame  # decisions on the person's evidence, newest first

    def choice(self, ref: str) -> Choice | None:
        return next((c for c in self.choices if c.ref == ref), None)

    def shown(self) -> dict:
        """What the page showed, for the decision's record: versions, record keys, categories; no names."""
        return {
            "version": self.version, "person": self.person_id, "category": self.category, "conflict": self.conflict,
            "rule": self.conflict_rule,
            "choices": [{"record": [c.source_id, c.record_key], "category": c.category,
                         "effective_date": c.effective_date, "result": c.result} for c in self.choices],
            "all_wrong_result": self.all_wrong_result,
            "records": [[r.source_id, r.record_key, r.row_hash] for r in self.evidence.itertuples(index=False)],
        }


def group_of(category: str | None) -> str | None:
    from ridni.review.queue import headline_groups

    categories, groups = headline_groups()
    return dict(zip(categories, groups, strict=True)).get(category) if category else None


def _engine_evidence(evidence: pd.DataFrame, person_type: str | None) -> pd.DataFrame:
    frame = evidence[["person_id", "source_id", "record_key", "category", "generic", "effective_date",
                      "authority"]].copy()
    frame["situation"] = frame["category"].map(rules.SITUATION_OF)
    frame["generic"] = frame["generic"].astype(bool)
    frame["effective_date"] = pd.to_datetime(frame["effective_date"])
    frame["authority"] = frame["authority"].astype(int)
    frame["person_type"] = person_type or "civilian"
    return frame


def _outcomes(evidence: pd.DataFrame, choices: list[tuple[str, str] | None]) -> pd.DataFrame:
    """The decision engine's answer for the person as they are and for each choice (a record that stands;
    None: all wrong), in one pass: copy ``i`` of the person's evidence carries choice ``i``, the last copy
    none (the decision as it stands). Indexed by copy."""
    seen = [[s, k] for s, k in zip(evidence["source_id"], evidence["record_key"], strict=True)]
    copies = pd.concat([evidence.assign(person_id=i) for i in range(len(choices) + 1)], ignore_index=True)
    reviews = pd.DataFrame([{"person_id": i, "decision_id": 0, "decision": "stands" if chosen else "all_wrong",
                             "evidence_source_id": chosen[0] if chosen else None,
                             "evidence_record_key": chosen[1] if chosen else None, "evidence_seen": seen}
                            for i, chosen in enumerate(choices)])
    return decide(copies, reviews).set_index("person_id")


def load_conflict(conn: Connection, person_id: int) -> ConflictView | None:
    """The person's conflict as the page shows it (None: no such person with evidence)."""
    status = conn.execute(sa.text("SELECT * FROM core.person_status WHERE person_id = :p AND valid_to IS NULL"),
                          {"p": person_id}).mappings().first()
    evidence = pd.read_sql(sa.text(EVIDENCE_SQL), conn, params={"p": person_id})
    if status is None or evidence.empty:
        return None
    version = conn.execute(sa.text("SELECT core.review_evidence_version(:p)"), {"p": person_id}).scalar()
    history = pd.read_sql(sa.text(HISTORY_SQL), conn, params={"p": person_id})
    conflict = status["review"]
    if conflict is None and status["conflict_lead_source_id"] is not None:  # settled by a reviewer
        conflict = "kind" if status["kind_rule"] in REVIEWER_RULES else "situation"
    choices: list[Choice] = []
    all_wrong, all_wrong_moves, conflict_rule = None, False, None
    if conflict is not None:
        engine_ev = _engine_evidence(evidence, status["person_type"])
        waiting = pd.DataFrame([{"person_id": person_id, "review": conflict,
                                 "conflict_lead_source_id": status["conflict_lead_source_id"],
                                 "conflict_lead_record_key": status["conflict_lead_record_key"]}])
        competing = conflict_records(engine_ev, waiting).sort_values(["source_id", "record_key"])
        refs = list(zip(competing["source_id"], competing["record_key"], strict=True))
        outcome = _outcomes(engine_ev, [*refs, None])
        now = outcome.loc[len(refs) + 1]
        conflict_rule = now["kind_rule"] if conflict == "kind" else now["rule"]
        group_now = group_of(status["category"])
        rows = evidence.set_index(["source_id", "record_key"])
        for i, r in enumerate(competing.itertuples(index=False)):
            result = outcome.loc[i, "category"]
            record = rows.loc[(r.source_id, r.record_key)]
            choices.append(Choice(
                r.source_id, r.record_key, r.category, bool(r.generic), _plain(r.effective_date),
                _plain(record["status"]), _plain(record["registered_on"]), _plain(record["first_seen_on"]),
                result, group_of(result) != group_now))
        all_wrong = outcome.loc[len(refs), "category"]
        all_wrong_moves = group_of(all_wrong) != group_now
    return ConflictView(
        person_id=person_id, category=status["category"], situation=status["situation"],
        person_type=status["person_type"], region=status["region"], rule=status["rule"],
        kind_rule=status["kind_rule"], review=status["review"], conflict=conflict, conflict_rule=conflict_rule,
        settled_by=status["review_decision_id"], version=version, choices=choices, all_wrong_result=all_wrong,
        all_wrong_moves_group=all_wrong_moves, evidence=evidence, history=history)


def evidence_version(conn: Connection, person_id: int) -> str | None:
    """The person's evidence version now (None: no evidence): a decision names the version it was taken on."""
    return conn.execute(sa.text("SELECT core.review_evidence_version(:p)"), {"p": person_id}).scalar()
