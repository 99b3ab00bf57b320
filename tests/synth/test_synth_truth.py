"""Ground truth consistent with what was written: every record has a true person, counts add up."""

from __future__ import annotations

import csv
import datetime as dt
import json

from synth_files import KEY_OF, START, drop_dir, read_records

from ridni.publish import marts
from ridni_dev.synth import SOURCE_IDS, generate

# the delivered value -> the canonical status token (what the contracts map it to)
TOKENS = {
    "npu_appeals": lambda r: "missing",
    "mvs_register": lambda r: {"10": "missing", "20": "found_alive", "30": "found_dead", "40": "captivity",
                               "50": "returned"}[r["status_code"]],
    "coordhq_cases": lambda r: r["status"],
    "sbu_jc": lambda r: "detained",
    "ombudsman": lambda r: r["category"],
    "icrc_confirmations": lambda r: {"POW": "pow"}.get(r["status"], r["status"]),
    "exchange_returns": lambda r: "returned",
    "children_deported": lambda r: r["status"],
}


def _truth(result, night):
    folder = result.truth / night.isoformat()
    with open(folder / "records.csv", encoding="utf-8", newline="") as f:
        records = list(csv.DictReader(f))
    with open(folder / "persons.csv", encoding="utf-8", newline="") as f:
        persons = {p["person_id"]: p for p in csv.DictReader(f)}
    counts = json.loads((folder / "counts.json").read_text(encoding="utf-8"))
    return records, persons, counts


def test_every_written_record_has_a_true_person(run):
    for night in run.nights:
        records, persons, _ = _truth(run, night)
        truth = {(r["source_id"], r["record_key"]): r for r in records}
        assert len(truth) == len(records)
        assert {r["person_id"] for r in records} == set(persons)
        for sid in SOURCE_IDS:
            if sid == "exchange_returns":
                delivered = {KEY_OF[sid](r) for d in run.drops if d.source_id == sid and d.night <= night
                             for r in read_records(d.folder, sid)}
                standing = delivered
            elif sid == "mvs_register":
                rows = [r for d in run.drops if d.source_id == sid and d.night <= night
                        for r in read_records(d.folder, sid)]
                delivered = {r["register_no"] for r in rows}
                last = {}
                for r in rows:
                    last[r["register_no"]] = r["op"]
                standing = {k for k, op in last.items() if op != "D"}
            else:
                standing = {KEY_OF[sid](r) for r in read_records(drop_dir(run, sid, night), sid)}
                delivered = {KEY_OF[sid](r) for d in run.drops if d.source_id == sid and d.night <= night
                             for r in read_records(d.folder, sid)}
            in_truth = {k for s, k in truth if s == sid}
            assert delivered == in_truth, sid
            assert standing == {k for (s, k), r in truth.items() if s == sid and r["standing"] == "true"}, sid
    # a record in the first night's snapshot is absent from a later one: withdrawn, and still in the truth
    first, last = (_truth(run, n)[0] for n in (run.nights[0], run.nights[-1]))
    was = {(r["source_id"], r["record_key"]) for r in first if r["standing"] == "true"}
    withdrawn = {(r["source_id"], r["record_key"]) for r in last if r["standing"] == "false"}
    assert was & withdrawn


def test_counts_add_up_and_persons_are_consistent(run):
    from ridni.decide.rules import CATEGORIES

    for night in run.nights:
        _, persons, counts = _truth(run, night)
        assert counts["night"] == night.isoformat() and counts["persons"] == len(persons)
        cats = [p["category"] for p in persons.values()]
        assert set(counts["categories"]) == set(CATEGORIES)
        assert sum(counts["categories"].values()) == len(persons) - counts["persons_without_standing_evidence"]
        for c, n in counts["categories"].items():
            assert cats.count(c) == n
        h = counts["headline"]
        assert h["all missing"] == counts["categories"]["missing"]
        assert h["confirmed civilians held"] == sum(counts["categories"][c] for c in (
            "civilian_detained", "enforced_disappearance", "illegally_convicted"))
        assert 0 < h["confirmed civilians held, ICRC-confirmed"] <= h["confirmed civilians held"]
        assert sum(sum(v.values()) for v in counts["by_person_type"].values()) == sum(counts["categories"].values())
        assert counts["rows_delivered"] == {d.source_id: sum(d.files.values()) for d in run.drops if d.night == night}
        for p in persons.values():
            born, gone = dt.date.fromisoformat(p["birth_date"]), dt.date.fromisoformat(p["disappeared_on"])
            age = (gone - born).days / 365.2425
            assert (p["person_type"] == "child") == (age < 18), p
            assert p["region"].startswith("UA-") and p["sex"] in ("M", "F")
            if p["category"] == "captive_pow":
                assert p["person_type"] == "military"
            if p["category"] in ("deported_child",):
                assert p["person_type"] == "child"
            if p["icrc_confirmed"] == "true":  # civilian_internee says "held": it supports every kind of held
                assert p["category"] in ("captive_pow", "civilian_detained", "enforced_disappearance",
                                         "illegally_convicted", "deported_child", "deceased", "returned")


def test_headline_groups_are_those_headquarters_reads():
    from ridni_dev.synth.truth import HEADLINE

    assert HEADLINE == marts.HEADLINE


def test_every_delivered_status_has_a_category_in_the_rules(run):
    from ridni.decide.rules import category_map

    known = set(zip(category_map()["source_id"], category_map()["status"], strict=True))
    seen = set()
    for d in run.drops:
        for r in read_records(d.folder, d.source_id):
            seen.add((d.source_id, TOKENS[d.source_id](r)))
    assert seen <= known
    assert len(seen) >= 20  # nearly every status the sources can send occurs


def test_icrc_confirmed_persons_have_an_icrc_record(run):
    records, persons, _ = _truth(run, START)
    with_icrc = {r["person_id"] for r in records if r["source_id"] == "icrc_confirmations" and r["standing"] == "true"}
    flagged = {pid for pid, p in persons.items() if p["icrc_confirmed"] == "true"}
    assert flagged and flagged <= with_icrc


def test_default_scale_looks_like_the_headquarters_reality(tmp_path):
    r = generate(tmp_path, seed=1, persons=3000, nights=1)
    c = r.counts[START]
    n, h = c["persons"], c["headline"]
    assert 2700 < n < 3100
    assert h["all missing"] / n > 0.5  # most persons are missing
    assert 0.05 < h["confirmed captive servicemembers"] / n < 0.15  # "a few thousand" at the real scale
    held = h["confirmed civilians held"]
    assert 0.025 < held / n < 0.06  # ~1,700 of ~45,000
    assert 0.35 < h["confirmed civilians held, ICRC-confirmed"] / held < 0.65  # about half ICRC-confirmed
    assert 0.005 < h["deported children"] / n < 0.03  # some hundreds
    assert h["returned"] > 0 and c["categories"]["found_alive"] > 0 and c["categories"]["deceased"] > 0
    assert c["latent_categories"] != c["categories"]  # sources lag behind what really happened
    statuses = {json.loads(line)["status"] for line in (drop_dir(r, "coordhq_cases", START) / "cases.jsonl")
                .read_text(encoding="utf-8").splitlines()}
    assert statuses == {"missing", "captivity_confirmed", "released", "deceased", "not_confirmed"}
    assert 8000 < c["rows_delivered_total"] < 14000
