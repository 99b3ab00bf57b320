"""The situations issue #16 found on another generator's data are in ours too, each with its truth: read
back from the written files, not from the generator's tables."""

from __future__ import annotations

import csv
import datetime as dt
import re

import pytest
from synth_files import START, drop_dir, manifest, read_records

from ridni.standardise import rnokpp
from ridni_dev.synth import generate

PATTERNS = ["generic_and_specific_same_date", "generic_after_specific", "kind_changed_in_episode",
            "generic_only_child", "conflict_two_kinds", "conflict_death_vs_detention", "re_detained"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_patterns")
    return generate(out, seed=2, persons=4000, nights=1, start_date=START)


def _truth(run, name):
    with open(run.truth / START.isoformat() / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _person_of(run) -> dict[tuple[str, str], str]:
    return {(r["source_id"], r["record_key"]): r["person_id"] for r in _truth(run, "records.csv")}


def _records(run, source_id):
    return read_records(drop_dir(run, source_id, START), source_id)


def test_every_planted_pattern_is_in_the_truth(world):
    persons = _truth(world, "persons.csv")
    found = {p for person in persons for p in person["patterns"].split("|") if p}
    assert set(PATTERNS) <= found, set(PATTERNS) - found


def test_generic_and_specific_evidence_of_one_episode_on_the_same_date(world):
    """SBU register + MIA status 40 + Ombudsman's specific kind, the same date, one person."""
    person = _person_of(world)
    sbu = {person[("sbu_jc", r["Номер справи"])]: r["Підтверджено"].date().isoformat()
           for r in _records(world, "sbu_jc")}
    omb = {person[("ombudsman", r["case_no"])]: r["confirmed_on"] for r in _records(world, "ombudsman")
           if r["category"] in ("enforced_disappearance", "illegally_convicted", "deprived_of_liberty")}
    mvs = {person[("mvs_register", r["register_no"])]: r["status_date"] for r in _records(world, "mvs_register")
           if r["status_code"] == "40"}
    all_three = [p for p in sbu if sbu[p] == omb.get(p) == mvs.get(p)]
    assert len(all_three) >= 3
    patterns = {p["person_id"]: p["patterns"] for p in _truth(world, "persons.csv")}
    assert all("generic_and_specific_same_date" in patterns[p] for p in all_three)


def test_a_kind_that_changes_inside_an_episode(world):
    """Detained, then convicted: the Ombudsman's record moved from one kind to the other."""
    persons = {p["person_id"]: p for p in _truth(world, "persons.csv")}
    changed = [p for p in persons.values() if "kind_changed_in_episode" in p["patterns"]]
    assert changed and any(p["latent_category"] == "illegally_convicted" for p in changed)


def test_deported_children_with_only_generic_evidence(world):
    person = _person_of(world)
    nib = {person[("children_deported", r["child_id"])] for r in _records(world, "children_deported")}
    generic = {person[("mvs_register", r["register_no"])] for r in _records(world, "mvs_register")
               if r["status_code"] == "40"}
    generic |= {person[("coordhq_cases", r["case_id"])] for r in _records(world, "coordhq_cases")
                if r["status"] == "captivity_confirmed"}
    generic |= {person[("sbu_jc", r["Номер справи"])] for r in _records(world, "sbu_jc")}
    persons = {p["person_id"]: p for p in _truth(world, "persons.csv")}
    only_generic = [p for p in generic - nib if persons[p]["latent_category"] == "deported_child"]
    assert only_generic
    assert all(persons[p]["person_type"] == "child" for p in only_generic)


def test_day_and_month_swapped_against_the_rnokpp_is_in_the_file_and_the_truth(world):
    noise = {r["record_key"]: r["noise"] for r in _truth(world, "records.csv") if r["source_id"] == "npu_appeals"}
    swapped = []
    for r in _records(world, "npu_appeals"):
        if r["рнокпп"] and r["дата_народження"] and rnokpp.is_valid(r["рнокпп"]):
            stated = dt.datetime.strptime(r["дата_народження"], "%d.%m.%Y").date()
            encoded = rnokpp.birth_date(r["рнокпп"])
            if stated != encoded and (stated.year, stated.month, stated.day) == (encoded.year, encoded.day,
                                                                                   encoded.month):
                swapped.append(r["номер_звернення"])
    assert swapped and all("birth_rnokpp" in noise[k] for k in swapped)


def test_look_alike_latin_letters_in_a_fifth_of_the_ombudsman_names(world):
    noise = {r["record_key"]: r["noise"] for r in _truth(world, "records.csv") if r["source_id"] == "ombudsman"}
    rows = _records(world, "ombudsman")
    mixed = [r["case_no"] for r in rows
             if any(re.search("[A-Za-z]", r[c]) and re.search("[а-яіїєґА-ЯІЇЄҐ]", r[c])
                    for c in ("surname", "name", "patronymic") if r[c])]
    assert 0.1 < len(mixed) / len(rows) < 0.3
    assert all("lookalike" in noise[k] for k in mixed)


def test_icrc_records_with_year_only_dates_and_russian_style_names(world):
    rows = _records(world, "icrc_confirmations")
    year_only = [r for r in rows if re.fullmatch(r"\d{4}", r["date_of_birth"])]
    russian = [r for r in rows if r["first_name"] in ("Aleksandr", "Sergey", "Nikolay", "Aleksey", "Dmitriy")]
    assert len(year_only) > 0.2 * len(rows) and russian


def test_conflicts_of_equal_weight_reach_the_files(world):
    """An Ombudsman case opened twice with two kinds on one date; a death against a detention."""
    person = _person_of(world)
    by_person: dict[str, list[dict]] = {}
    for r in _records(world, "ombudsman"):
        by_person.setdefault(person[("ombudsman", r["case_no"])], []).append(r)
    twice = [rs for rs in by_person.values() if len(rs) == 2]
    assert any(rs[0]["confirmed_on"] == rs[1]["confirmed_on"] and rs[0]["category"] != rs[1]["category"]
               for rs in twice)
    patterns = {p["person_id"]: p["patterns"] for p in _truth(world, "persons.csv")}
    assert any("conflict_death_vs_detention" in v for v in patterns.values())


def test_exchange_lists_arrive_late_and_pile_up(tmp_path):
    """A backlog: a night whose drop holds an exchange list older than the day before, and the truth
    counts those persons returned only from that night."""
    from ridni_dev.synth.population import day, exchange_days, to_date
    from ridni_dev.synth.rng import Rand
    from ridni_dev.synth.sources import exchange_backlog

    rng = Rand(4)
    start = START
    for _ in range(1000):  # the first start whose five nights meet a late list
        days = exchange_days(rng, start)
        days = days[(days >= day(start) + 2) & (days <= day(start) + 3)]  # (a few days' returns to list)
        delay = exchange_backlog(rng, days, day(start))
        late = days[(delay > 0) & (days + 1 + delay <= day(start) + 4)]
        if len(late):
            break
        start += dt.timedelta(days=1)
    run = generate(tmp_path, seed=4, persons=6000, nights=5, start_date=start)
    held_back = []
    for d in run.drops:
        if d.source_id == "exchange_returns":
            for f in manifest(d.folder)["files"]:
                exchanged = dt.datetime.strptime(f["name"][len("exchange_EX-"):-4], "%Y%m%d").date()
                if exchanged < d.night - dt.timedelta(days=1):
                    held_back.append((d.night, exchanged, f["rows"]))
    assert held_back, (start, to_date(late[0]) if len(late) else None)
    night, exchanged, rows = held_back[0]
    before = {r["record_key"] for r in csv.DictReader(open(run.truth / (night - dt.timedelta(days=1)).isoformat()
                                                             / "records.csv", encoding="utf-8"))}
    assert not any(k.startswith(f"EX-{exchanged:%Y%m%d}/") for k in before)  # not delivered until then
