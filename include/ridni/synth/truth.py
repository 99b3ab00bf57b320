"""Ground truth for a night, written outside the landing zone (``<out>/truth/<YYYY-MM-DD>/``).

- ``records.csv``: every source record the warehouse can hold by that night (delivered on
  this or an earlier night of the run, withdrawn or not): ``source_id, record_key,
  person_id, standing, noise`` (standing: in tonight's snapshot, or not withdrawn by ``op=D``;
  noise: the record's planted typos, ``|``-joined, see ``ridni.synth.sources._noise``).
- ``persons.csv``: every person with at least one delivered record: ``person_id, category,
  person_type, icrc_confirmed, region, sex, birth_date, disappeared_on, latent_category``
  (``person_type`` child = under 18 on ``disappeared_on``). ``category`` is
  what a pipeline with perfect linkage must decide from the delivered evidence under
  DOMAIN.md's rules (the project's own tables ``rules/category_map.csv`` and
  ``rules/source_authority.csv``); empty when every piece of the person's evidence was
  withdrawn. ``latent_category`` is what truly was the case that night, known or not.
  ``patterns``: the situations planted in the person's life or records (``|``-joined, see
  ``ridni.synth.sources.planted_patterns``), delivered by that night or not.
- ``counts.json``: expected counts per category, per headline group, per person type,
  and the rows delivered per source.
- ``faults.json``: the faults injected into that night's drops (see ``ridni.synth.faults``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ridni.synth.population import STATES, TYPES, Population, day
from ridni.synth.sources import SOURCE_IDS, Table, planted_patterns

CATEGORIES = STATES
# DOMAIN.md: the groups headquarters reads first, in this order (None: the ICRC flag among the group above).
HEADLINE = [
    ("all missing", ["missing"]),
    ("confirmed captive servicemembers", ["captive_pow"]),
    ("confirmed civilians held", ["civilian_detained", "enforced_disappearance", "illegally_convicted"]),
    ("confirmed civilians held, ICRC-confirmed", None),
    ("deported children", ["deported_child"]),
    ("returned", ["returned"]),
]
HELD_TOKEN, WITHDRAWN_TOKEN = "{held}", "{withdrawn}"


def _rules() -> tuple[dict[tuple[str, str], str], dict[str, int]]:
    from ridni.decide.rules import category_map, source_authority

    cmap = category_map()
    return dict(zip(zip(cmap["source_id"], cmap["status"], strict=True), cmap["category"], strict=True)), \
        source_authority()


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
    """Standing evidence of the night: one row per standing record with its category."""
    cmap, _ = _rules()
    military = pop.ptype == 0
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
        cat = pd.Series(tokens).map({t: cmap[(sid, t)] for t in set(tokens)}).to_numpy(dtype=object)
        held = cat == HELD_TOKEN
        cat[held] = np.where(military[s["person_no"].to_numpy()[held]], "captive_pow", "civilian_detained")
        parts.append(pd.DataFrame({"person_no": s["person_no"].to_numpy(), "source_id": sid,
                                   "record_key": s["record_key"].to_numpy(), "token": s["token"].to_numpy(),
                                   "category": cat, "e": s["e"].to_numpy()}))
    ev = pd.concat(parts, ignore_index=True)
    return ev[ev["category"] != WITHDRAWN_TOKEN].reset_index(drop=True)


def decide(ev: pd.DataFrame, persons: np.ndarray) -> pd.DataFrame:
    """DOMAIN.md's decision for each person in ``persons`` (person numbers)."""
    _, authority = _rules()
    ev = ev.assign(rank=ev["source_id"].map(authority))
    confirmed = ev[ev["category"] != "missing"].sort_values(
        ["person_no", "e", "rank", "source_id", "record_key"], ascending=[True, False, True, True, True])
    top = confirmed.drop_duplicates("person_no").set_index("person_no")
    both = confirmed.join(top[["e", "rank", "category"]], on="person_no", rsuffix="_top")
    conflict = both[(both["e"] == both["e_top"]) & (both["rank"] == both["rank_top"])
                    & (both["category"] != both["category_top"])]["person_no"].unique()
    out = pd.DataFrame({"person_no": persons})
    cat = out["person_no"].map(top["category"]).to_numpy(dtype=object)
    cat[np.isin(persons, conflict)] = "missing"  # equal-weight conflict: to review, no guess (none expected)
    undecided = pd.isna(cat)
    has_any = np.isin(persons, ev["person_no"].to_numpy())
    cat[undecided] = np.where(has_any[undecided], "missing", "")
    out["category"] = cat
    icrc = ev[ev["source_id"] == "icrc_confirmations"]
    icrc_ok = set(zip(icrc["person_no"], icrc["category"], strict=True))
    out["icrc_confirmed"] = [(p, c) in icrc_ok for p, c in zip(out["person_no"], out["category"], strict=True)]
    out["review_conflict"] = out["person_no"].isin(conflict)
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
