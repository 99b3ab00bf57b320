"""Ground truth for a night, written outside the landing zone (``<out>/truth/<YYYY-MM-DD>/``).

- ``records.csv``: every source record the warehouse can hold by that night (delivered on
  this or an earlier night of the run, withdrawn or not): ``source_id, record_key,
  person_id, standing, noise`` (standing: in tonight's snapshot, or not withdrawn by ``op=D``;
  noise: the record's planted typos, ``|``-joined, see ``ridni_dev.synth.sources._noise``).
- ``persons.csv``: every person with at least one delivered record: ``person_id, category,
  person_type, icrc_confirmed, region, sex, birth_date, disappeared_on, latent_category``
  (``person_type`` child = under 18 on ``disappeared_on``). ``category`` is
  what a pipeline with perfect linkage must decide from the delivered evidence under
  the rules of docs/domain.md (the project's own tables in ``include/ridni/rules/``, applied by
  this module's own code); empty when every piece of the person's evidence was
  withdrawn. ``latent_category`` is what truly was the case that night, known or not.
  ``patterns``: the situations planted in the person's life or records (``|``-joined, see
  ``ridni_dev.synth.sources.planted_patterns``), delivered by that night or not.
- ``counts.json``: expected counts per category, per headline group, per person type,
  and the rows delivered per source.
- ``faults.json``: the faults injected into that night's drops (see ``ridni_dev.synth.faults``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ridni_dev.synth.population import STATES, TYPES, Population, day
from ridni_dev.synth.sources import SOURCE_IDS, Table, planted_patterns

CATEGORIES = STATES
# docs/domain.md: the groups headquarters reads first, in this order (None: the ICRC flag among the group above).
HEADLINE = [
    ("all missing", ["missing"]),
    ("confirmed captive servicemembers", ["captive_pow"]),
    ("confirmed civilians held", ["civilian_detained", "enforced_disappearance", "illegally_convicted"]),
    ("confirmed civilians held, ICRC-confirmed", None),
    ("deported children", ["deported_child"]),
    ("returned", ["returned"]),
]


def _rules() -> dict:
    """The project's rules tables (include/ridni/rules/), read as plain data."""
    from ridni.decide.rules import categories, category_map, conflict_preference, source_authority

    cmap, cats = category_map(), categories()
    return {
        "map": {(r.source_id, r.status): (r.situation, r.generic, r.category) for r in cmap.itertuples()},
        "authority": source_authority(),
        "preference": conflict_preference(),
        "situation": dict(zip(cats["category"], cats["situation"], strict=True)),
        "held_kind_for": {t: c for t, c in zip(cats["held_kind_for"], cats["category"], strict=True) if t},
    }


def delivered(table: Table, night: int, start: int) -> pd.DataFrame:
    """Records that appeared in at least one drop of the run up to ``night``, with a ``standing`` flag."""
    r = table.records
    created, withdrawn = r["created"].to_numpy(), r["withdrawn"].to_numpy()
    if table.source_id == "mvs_register":  # the first delta carries the register's whole history
        seen = created <= night
    else:
        seen = (created <= night) & (withdrawn > np.maximum(created, start))
    out = r.loc[seen, ["person_no", "record_key", "noise"]].copy()
    out["standing"] = withdrawn[seen] > night
    out["rec"] = np.flatnonzero(seen)
    return out


def evidence(tables: dict[str, Table], pop: Population, night: int, start: int) -> pd.DataFrame:
    """Standing evidence of the night: one row per standing record with its situation and category
    (generic "held" evidence: ``generic`` and the kind the person's true type gives, ``default_kind``)."""
    rules = _rules()
    default_kind = np.asarray([rules["held_kind_for"][t] for t in TYPES], dtype=object)[pop.ptype]
    parts = []
    for sid in SOURCE_IDS:
        t = tables[sid]
        if sid == "exchange_returns":
            r = t.records
            vis = r["vis"].to_numpy()
            s = r[vis <= night]
            s = s.assign(token="returned", e=s["exchange_date"].to_numpy())
        else:
            s = t.standing(night)
            if sid != "mvs_register":
                s = s[s["created"].to_numpy() <= night]
        if s.empty:
            continue
        tokens = s["token"].to_numpy(dtype=object)
        mapped = [rules["map"][(sid, token)] for token in tokens]
        person = s["person_no"].to_numpy()
        generic = np.array([m[1] for m in mapped], dtype=bool)
        category = np.where(generic, default_kind[person], np.array([m[2] for m in mapped], dtype=object))
        parts.append(pd.DataFrame({"person_no": person, "source_id": sid, "record_key": s["record_key"].to_numpy(),
                                   "token": tokens, "situation": [m[0] for m in mapped], "generic": generic,
                                   "category": category, "default_kind": default_kind[person],
                                   "e": s["e"].to_numpy()}))
    ev = pd.concat(parts, ignore_index=True)
    return ev[ev["situation"] != "withdrawn"].reset_index(drop=True)


def _day_groups(person: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by (person, e): each row's day number, and the row where each day starts."""
    starts = np.flatnonzero(np.r_[True, (person[1:] != person[:-1]) | (e[1:] != e[:-1])])
    return np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(person)])), starts


def _carry_forward(valid: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Index of the latest valid day at or before each day of the same owner; -1 where there is none."""
    idx = np.maximum.accumulate(np.where(valid, np.arange(len(valid)), -1))
    return np.where((idx >= 0) & (owner[np.maximum(idx, 0)] == owner), idx, -1)


def _replay(rows: pd.DataFrame, value: str) -> dict:
    """Replay one person's evidence day by day, oldest first (rows sorted by person, e, rank, source, key).

    A day's value is that of its best-ranked rows; where those disagree the day is disputed."""
    person, e, rank = rows["person_no"].to_numpy(), rows["e"].to_numpy(), rows["rank"].to_numpy()
    values = rows[value].to_numpy(dtype=object)
    day, starts = _day_groups(person, e)
    best = rank == rank[starts][day]
    disputed = np.zeros(len(starts), dtype=bool)
    disputed[day[best & (values != values[starts][day])]] = True
    return {"day": day, "starts": starts, "best": best, "person": person[starts], "e": e[starts],
            "value": values[starts], "disputed": disputed}


def decide(ev: pd.DataFrame, persons: np.ndarray) -> pd.DataFrame:
    """docs/domain.md's decision for each person in ``persons`` (person numbers), replayed day by day from
    the rules tables: an oracle written apart from ``ridni.decide.engine``, so that the counts-vs-truth
    tests compare two readings of the rules."""
    rules = _rules()
    ev = ev.assign(rank=ev["source_id"].map(rules["authority"]))
    out = pd.DataFrame({"person_no": persons})
    out["category"] = np.where(np.isin(persons, ev["person_no"].to_numpy()), "missing", "")
    out["review"] = ""
    sort = ["person_no", "e", "rank", "source_id", "record_key"]
    confirmed = ev[ev["situation"] != "missing"].sort_values(sort, ignore_index=True)
    if not confirmed.empty:
        days = _replay(confirmed, "situation")
        n = len(days["starts"])
        first_day = np.r_[True, days["person"][1:] != days["person"][:-1]]
        situation = days["value"].copy()
        # a disputed first day: the preferred situation among its best-ranked rows
        pref = confirmed["situation"].map(rules["preference"]).to_numpy(dtype=float)
        pref[~days["best"]] = np.inf
        best_pref = np.full(n, np.inf)
        np.minimum.at(best_pref, days["day"], pref)
        by_pref = {v: k for k, v in rules["preference"].items()}
        opening = days["disputed"] & first_day
        situation[opening] = [by_pref[int(x)] for x in best_pref[opening]]
        # a later disputed day keeps the situation of the day before
        situation = situation[_carry_forward(~(days["disputed"] & ~first_day), days["person"])]
        last_day = np.r_[days["person"][1:] != days["person"][:-1], True]
        person_situation = pd.Series(situation[last_day], index=days["person"][last_day])
        review = pd.Series(np.where(days["disputed"][last_day], "situation", ""), index=days["person"][last_day])

        # inside held: the kind, from the held episode's specific evidence
        held = person_situation.index[person_situation == "held"]
        left = pd.Series(days["e"][situation != "held"], index=days["person"][situation != "held"])
        left = left.groupby(level=0).max().reindex(held)
        rows = confirmed[confirmed["person_no"].isin(held) & (confirmed["situation"] == "held")]
        since = rows["person_no"].map(left).to_numpy()
        episode = rows[np.isnan(since) | (rows["e"].to_numpy() > since)]
        kind = episode.drop_duplicates("person_no").set_index("person_no")["default_kind"]
        specific = episode[~episode["generic"].to_numpy()].reset_index(drop=True)
        if not specific.empty:
            kdays = _replay(specific, "category")
            carried = _carry_forward(~kdays["disputed"], kdays["person"])
            kinds = np.where(carried >= 0, kdays["value"][np.maximum(carried, 0)], None)
            klast = np.r_[kdays["person"][1:] != kdays["person"][:-1], True]
            known = pd.Series(kinds[klast], index=kdays["person"][klast]).dropna()
            kind.loc[known.index] = known
            disputed = pd.Index(kdays["person"][klast & kdays["disputed"]])
            review.loc[disputed[review.reindex(disputed) == ""]] = "kind"
        category = person_situation.copy()
        category.loc[held] = kind.reindex(held)
        out["category"] = out["person_no"].map(category).fillna(out["category"])
        out["review"] = out["person_no"].map(review).fillna("")
    # ICRC confirms the category its record names; generic evidence supports any kind of held
    icrc = ev[ev["source_id"] == "icrc_confirmations"]
    decided = icrc["person_no"].map(out.set_index("person_no")["category"])
    held_now = decided.map(rules["situation"]).eq("held")
    backing = np.where(icrc["generic"].to_numpy(), held_now.to_numpy(), icrc["category"].to_numpy() == decided)
    out["icrc_confirmed"] = out["person_no"].isin(icrc.loc[backing, "person_no"])
    out["review_conflict"] = out["review"] != ""
    return out


def latent(pop: Population, persons: np.ndarray, night: int) -> np.ndarray:
    seg = pop.segments
    s = seg[np.isin(seg["person_no"].to_numpy(), persons) & (seg["t"].to_numpy() <= night)]
    last = s.drop_duplicates("person_no", keep="last").set_index("person_no")["state"]
    return last.reindex(persons).fillna("missing").to_numpy(dtype=object)


def night_truth(tables: dict[str, Table], pop: Population, night: dt.date, start: dt.date) -> dict:
    n, s0 = day(night), day(start)
    recs = []
    for sid in SOURCE_IDS:
        t = tables[sid]
        if sid == "exchange_returns":
            r = t.records
            d = r["vis"].to_numpy() <= n
            rows = r.loc[d, ["person_no", "record_key", "noise"]].assign(standing=True)
        else:
            rows = delivered(t, n, s0)
        recs.append(rows[["person_no", "record_key", "standing", "noise"]].assign(source_id=sid))
    records = pd.concat(recs, ignore_index=True)
    persons = np.unique(records["person_no"].to_numpy())
    ev = evidence(tables, pop, n, s0)
    decided = decide(ev, persons)
    ptype = pop.ptype[persons]
    frame = pd.DataFrame({
        "person_id": pop.person_id(persons),
        "category": decided["category"].to_numpy(),
        "person_type": np.asarray(TYPES, dtype=object)[ptype],
        "icrc_confirmed": np.where(decided["icrc_confirmed"].to_numpy(), "true", "false"),
        "region": pop.region[persons],
        "sex": np.where(pop.male[persons], "M", "F"),
        "birth_date": np.datetime_as_string(pop.birth[persons].astype("datetime64[D]"), unit="D"),
        "disappeared_on": np.datetime_as_string(pop.d0[persons].astype("datetime64[D]"), unit="D"),
        "latent_category": latent(pop, persons, n),
        "patterns": _joined(planted_patterns(tables, pop), persons),
    })
    records["person_id"] = pop.person_id(records["person_no"].to_numpy())
    records = records.sort_values(["source_id", "record_key"], ignore_index=True)
    return {"records": records[["source_id", "record_key", "person_id", "standing", "noise"]], "persons": frame,
            "conflicts": int(decided["review_conflict"].sum())}


def _joined(flags: dict[str, np.ndarray], persons: np.ndarray) -> np.ndarray:
    """Per person (number), the names of the flags set for it, ``|``-joined."""
    out = np.full(len(persons), "", dtype=object)
    for name, hit in flags.items():
        on = hit[persons]
        out[on] = np.where(out[on] == "", name, out[on] + "|" + name)
    return out


def counts(persons: pd.DataFrame, night: dt.date, rows: dict[str, int], conflicts: int) -> dict:
    known = persons[persons["category"] != ""]
    by_cat = known["category"].value_counts()
    held = known[known["category"].isin(HEADLINE[2][1])]
    headline = {}
    for name, cats in HEADLINE:
        headline[name] = int((held["icrc_confirmed"] == "true").sum()) if cats is None else \
            int(by_cat.reindex(cats).fillna(0).sum())
    by_type = {t: {c: int(v) for c, v in known[known["person_type"] == t]["category"].value_counts()
                   .reindex(CATEGORIES).fillna(0).items()} for t in TYPES}
    return {
        "night": night.isoformat(),
        "persons": int(len(persons)),
        "persons_without_standing_evidence": int((persons["category"] == "").sum()),
        "categories": {c: int(by_cat.get(c, 0)) for c in CATEGORIES},
        "headline": headline,
        "icrc_confirmed": int((known["icrc_confirmed"] == "true").sum()),
        "by_person_type": by_type,
        "latent_categories": {c: int(v) for c, v in persons["latent_category"].value_counts()
                              .reindex(CATEGORIES).fillna(0).items()},
        "review_conflicts": conflicts,
        "rows_delivered": dict(sorted(rows.items())),
        "rows_delivered_total": int(sum(rows.values())),
    }


def write(folder: Path, truth: dict, counts_: dict, faults: list) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    recs = truth["records"].assign(standing=np.where(truth["records"]["standing"], "true", "false"))
    recs.to_csv(folder / "records.csv", index=False, lineterminator="\n")
    truth["persons"].to_csv(folder / "persons.csv", index=False, lineterminator="\n")
    (folder / "counts.json").write_text(json.dumps(counts_, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (folder / "faults.json").write_text(json.dumps([f.as_dict() for f in faults], ensure_ascii=False, indent=2)
                                        + "\n", encoding="utf-8")


__all__ = ["CATEGORIES", "HEADLINE", "counts", "night_truth", "write"]
