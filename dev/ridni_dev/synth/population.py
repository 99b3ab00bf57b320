"""The simulated population: who disappeared when and where, and what truly happened next.

Persons come in monthly cohorts of disappearance from 2022-02-24 on. A cohort's size
depends only on ``persons`` and ``start_date`` (scaled so that about ``persons`` people
disappeared before the first night), never on how many nights are generated, and every
attribute is a counter-based draw keyed by the person's number: a longer run simulates
the same people with the same lives, plus the cohorts of the extra months.

A life is a sequence of segments (``state`` from ``t`` until the next segment's ``t``),
drawn from per-type path templates (missing -> captive_pow -> returned; missing ->
deceased; civilian_detained -> illegally_convicted; deported_child -> returned; ...).
Returns by exchange fall on the dates of the exchange schedule.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ridni.standardise import rnokpp
from ridni_dev.synth.rng import Rand
from ridni_dev.synth.vocab import Vocab

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
WAR_START = dt.date(2022, 2, 24)
FAR = dt.date(2100, 1, 1).toordinal() - _EPOCH_ORDINAL
SCHEDULE_END = dt.date(2045, 1, 1)

TYPES = ("military", "civilian", "child")
STATES = ("missing", "captive_pow", "civilian_detained", "enforced_disappearance", "illegally_convicted",
          "deported_child", "returned", "found_alive", "deceased")
HELD_CIVILIAN = ("civilian_detained", "enforced_disappearance", "illegally_convicted")
HELD = ("captive_pow", *HELD_CIVILIAN)

# Time from one state to the next: (median days, log-normal sigma).
DURATIONS = {
    "confirm": (110, 1.0),      # missing -> confirmed captive
    "captivity": (430, 0.7),    # captive -> returned / died
    "recapture": (320, 0.6),    # returned -> captive again
    "death": (210, 1.0),        # missing -> death confirmed
    "found": (50, 1.1),         # missing -> found alive
    "taken": (70, 0.9),         # missing -> enforced disappearance confirmed
    "located": (190, 0.8),      # enforced disappearance -> place of detention confirmed
    "detained": (110, 1.0),     # missing -> civilian detention confirmed
    "trial": (390, 0.6),        # detained -> convicted
    "release": (470, 0.7),      # held civilian -> returned
    "sentence": (700, 0.6),     # convicted -> returned
    "redetain": (280, 0.6),     # returned -> detained again
    "deport": (45, 0.9),        # missing -> deported child confirmed
    "child_return": (330, 0.8),  # deported -> returned
}
# Path templates per type: (weight, steps after the initial `missing`); a step is (state, duration key).
PATHS: dict[str, list[tuple[float, tuple[tuple[str, str], ...]]]] = {
    "military": [
        (50.0, ()),
        (10.5, (("captive_pow", "confirm"),)),
        (12.0, (("captive_pow", "confirm"), ("returned", "captivity"))),
        (0.6, (("captive_pow", "confirm"), ("returned", "captivity"), ("captive_pow", "recapture"))),
        (1.2, (("captive_pow", "confirm"), ("deceased", "captivity"))),
        (13.0, (("deceased", "death"),)),
        (5.0, (("found_alive", "found"),)),
    ],
    "civilian": [
        (40.0, ()),
        (14.0, (("found_alive", "found"),)),
        (7.0, (("deceased", "death"),)),
        (4.0, (("enforced_disappearance", "taken"),)),
        (3.0, (("enforced_disappearance", "taken"), ("civilian_detained", "located"))),
        (1.2, (("enforced_disappearance", "taken"), ("civilian_detained", "located"), ("illegally_convicted", "trial"))),
        (1.5, (("enforced_disappearance", "taken"), ("civilian_detained", "located"), ("returned", "release"))),
        (5.0, (("civilian_detained", "detained"),)),
        (2.8, (("civilian_detained", "detained"), ("illegally_convicted", "trial"))),
        (0.5, (("civilian_detained", "detained"), ("illegally_convicted", "trial"), ("returned", "sentence"))),
        (5.5, (("civilian_detained", "detained"), ("returned", "release"))),
        (0.5, (("civilian_detained", "detained"), ("returned", "release"), ("civilian_detained", "redetain"))),
        (0.4, (("civilian_detained", "detained"), ("deceased", "captivity"))),
    ],
    "child": [
        (25.0, ()),
        (38.0, (("deported_child", "deport"),)),
        (17.0, (("deported_child", "deport"), ("returned", "child_return"))),
        (15.0, (("found_alive", "found"),)),
        (3.0, (("deceased", "death"),)),
        (2.0, (("civilian_detained", "detained"),)),
    ],
}
# Share of returns that happen through an exchange (the rest: release, a child brought back).
EXCHANGE_SHARE = {"military": 1.0, "civilian": 0.6, "child": 0.0}
RNOKPP_SHARE = {"military": 0.98, "civilian": 0.96, "child": 0.30}
FALSE_CONFIRMATION_SHARE = 0.03  # of those who stay missing: a confirmation later withdrawn


def day(d: dt.date) -> int:
    return d.toordinal() - _EPOCH_ORDINAL


def to_date(n: int) -> dt.date:
    return dt.date.fromordinal(int(n) + _EPOCH_ORDINAL)


def exchange_days(rng: Rand, start_date: dt.date) -> np.ndarray:
    """Days on which an exchange took place; each day decided on its own (never by the horizon).

    The eve of the first night always has one, so the first night carries an exchange file
    (whenever anyone came home in it: about 20 persons at the default 3,000).
    """
    days = np.arange(day(dt.date(2022, 3, 1)), day(SCHEDULE_END))
    p = np.where(days < day(dt.date(2023, 1, 1)), 1 / 9, 1 / 28)
    chosen = days[rng.u("exchange.day", days) < p]
    eve = day(start_date) - 1
    chosen = chosen[(chosen < eve - 20) | (chosen > eve)]  # the eve's exchange gathers three weeks of returns
    return np.union1d(chosen, [eve])


def _month_ranges(until: int) -> list[tuple[int, int]]:
    out, y, m = [], 2022, 2
    while True:
        lo = max(day(dt.date(y, m, 1)), day(WAR_START))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        if lo > until:
            return out
        out.append((lo, day(dt.date(y, m, 1))))


def _intensity(m: int) -> float:
    return 0.45 + 4.0 * math.exp(-m / 5.0)


def cohort_sizes(persons: int, start_date: dt.date, last_night: dt.date) -> list[tuple[int, int, int]]:
    """(first day, day after last, size) of each monthly cohort up to the last night's month."""
    start = day(start_date)
    ranges = _month_ranges(max(day(last_night), start))
    weights = [_intensity(m) * (hi - lo) / 30.44 for m, (lo, hi) in enumerate(ranges)]
    before = sum(w * min(max((start - lo) / (hi - lo), 0.0), 1.0) for w, (lo, hi) in zip(weights, ranges, strict=True))
    scale = persons / before
    cumulative = np.rint(np.cumsum(weights) * scale).astype(int)
    sizes = np.diff(np.concatenate([[0], cumulative]))
    return [(lo, hi, int(n)) for (lo, hi), n in zip(ranges, sizes, strict=True)]


@dataclass
class Population:
    """Column arrays, one entry per person, index == person number."""

    person_no: np.ndarray
    d0: np.ndarray            # day of disappearance
    ptype: np.ndarray         # index into TYPES
    male: np.ndarray
    birth: np.ndarray         # day of birth
    region: np.ndarray        # ISO code
    settlement: np.ndarray
    surname: np.ndarray       # canonical surname (sex form)
    first_name: np.ndarray
    patronymic: np.ndarray
    father_ru: np.ndarray     # the father's name in its Russian form (for Russian-style patronymics)
    rnokpp: np.ndarray        # "" when the person has none
    rank: np.ndarray
    unit: np.ndarray
    service_no: np.ndarray
    false_from: np.ndarray    # a confirmation later withdrawn: from (FAR when none)
    false_to: np.ndarray
    segments: pd.DataFrame    # person_no, j, state, t, t_end, prev_state, via_exchange
    exchanges: np.ndarray     # exchange days

    @property
    def size(self) -> int:
        return len(self.person_no)

    def type_name(self) -> np.ndarray:
        return np.asarray(TYPES, dtype=object)[self.ptype]

    def person_id(self, person_no) -> np.ndarray:
        return np.char.add("P", np.char.zfill(np.asarray(person_no).astype(str), 7)).astype(object)


def simulate(rng: Rand, vocab: Vocab, *, persons: int, start_date: dt.date, last_night: dt.date) -> Population:
    cohorts = cohort_sizes(persons, start_date, last_night)
    total = sum(n for _, _, n in cohorts)
    no = np.arange(total, dtype=np.int64)
    lo = np.repeat([c[0] for c in cohorts], [c[2] for c in cohorts])
    hi = np.repeat([c[1] for c in cohorts], [c[2] for c in cohorts])
    month = np.repeat(np.arange(len(cohorts)), [c[2] for c in cohorts])
    d0 = lo + np.floor(rng.u("d0", no) * (hi - lo)).astype(np.int64)

    decay = np.exp(-month / 8.0)
    p_child, p_civ = 0.015 + 0.06 * decay, 0.10 + 0.30 * decay
    u = rng.u("type", no)
    ptype = np.where(u < p_child, 2, np.where(u < p_child + p_civ, 1, 0)).astype(np.int8)

    male = rng.u("sex", no) < np.choose(ptype, [0.92, 0.58, 0.51])
    z = rng.normal("age", no)
    age = np.choose(ptype, [np.clip(36 + 9 * z, 18.2, 62), np.clip(47 + 16 * z, 18.2, 88),
                            0.3 + 17.6 * rng.u("age.child", no) ** 0.8])
    birth = d0 - np.rint(age * 365.25).astype(np.int64)

    # regions: servicemembers where the front was, civilians where the occupation was
    weights = vocab.words["region_weights"]
    region = np.empty(total, dtype=object)
    for t, key in ((0, "military"), (1, "civilian"), (2, "civilian")):
        idx = np.flatnonzero(ptype == t)
        codes = list(weights[key])
        region[idx] = np.asarray(codes, dtype=object)[rng.choice(f"region.{t}", no[idx], list(weights[key].values()))]
    settlement = np.empty(total, dtype=object)
    pick = rng.u("settlement", no)
    for code in np.unique(region):
        idx = np.flatnonzero(region == code)
        places = np.asarray(vocab.settlements(code), dtype=object)
        settlement[idx] = places[np.floor(pick[idx] * len(places)).astype(int)]

    # names
    surname = np.where(male, vocab.surname_m[rng.choice("surname", no, vocab.surname_weight)],
                       vocab.surname_f[rng.choice("surname", no, vocab.surname_weight)])
    first_name = np.where(male, vocab.first_m[rng.choice("first.m", no, vocab.first_m_weight)],
                          vocab.first_f[rng.choice("first.f", no, vocab.first_f_weight)])
    father = rng.choice("father", no, vocab.father_weight)
    patronymic = np.where(male, vocab.father_patronymic_m[father], vocab.father_patronymic_f[father])

    # RNOKPP: unique per person (serial digits distinct within a birth date and sex)
    has = rng.u("rnokpp.has", no) < np.choose(ptype, [RNOKPP_SHARE[t] for t in TYPES])
    codes = np.full(total, "", dtype=object)
    idx = np.flatnonzero(has)
    groups = pd.DataFrame({"b": birth[idx], "m": male[idx]})
    nth = groups.groupby(["b", "m"], sort=False).cumcount().to_numpy()
    base = rng.integers("rnokpp.serial", birth[idx] * 2 + male[idx], 0, 1000)
    serial = (base + 337 * nth) % 1000
    codes[idx] = [rnokpp.make(to_date(b), bool(m), int(s)) for b, m, s in zip(birth[idx], male[idx], serial,
                                                                              strict=True)]

    # servicemembers
    ranks = vocab.words["ranks"]
    rank = np.asarray(list(ranks), dtype=object)[rng.choice("rank", no, list(ranks.values()))]
    brigades = np.asarray(vocab.words["brigades"], dtype=object)
    unit_no = 1000 + (rng.integers("unit.no", no, 0, 450) * 19) % 9000
    unit = np.where(rng.u("unit.kind", no) < 0.65,
                    np.char.add("в/ч А", unit_no.astype(str)).astype(object),
                    brigades[rng.integers("unit.brigade", no, 0, len(brigades))])
    letters = np.asarray(list("АВГДЕКМНОПРСТХШ"), dtype=object)
    serial_no = (no * 7919 + 104729) % 1_000_000
    service_no = letters[rng.integers("service.letter", no, 0, len(letters))] + "-" + \
        np.char.zfill(serial_no.astype(str), 6).astype(object)
    military = ptype == 0
    rank, unit, service_no = (np.where(military, a, None) for a in (rank, unit, service_no))

    exchanges = exchange_days(rng, start_date)
    segments, stays_missing = _trajectories(rng, no, ptype, d0, exchanges)
    false = stays_missing & (rng.u("false", no) < FALSE_CONFIRMATION_SHARE)
    false_from = np.where(false, d0 + rng.days("false.from", no, 60, 0.9, low=5), FAR)
    false_to = np.where(false, false_from + rng.days("false.to", no, 150, 0.6, low=10), FAR)

    return Population(
        person_no=no, d0=d0, ptype=ptype, male=male, birth=birth, region=region, settlement=settlement,
        surname=surname, first_name=first_name, patronymic=patronymic, father_ru=vocab.father_ru[father],
        rnokpp=codes, rank=rank, unit=unit, service_no=service_no, false_from=false_from, false_to=false_to,
        segments=segments, exchanges=exchanges,
    )


def _trajectories(rng: Rand, no, ptype, d0, exchanges) -> tuple[pd.DataFrame, np.ndarray]:
    def next_exchange(t):
        i = np.searchsorted(exchanges, t, side="left")
        return np.where(i < len(exchanges), exchanges[np.minimum(i, len(exchanges) - 1)], FAR)

    parts = [pd.DataFrame({"person_no": no, "j": 0, "state": "missing", "t": d0, "via_exchange": False})]
    stays_missing = np.zeros(len(no), dtype=bool)
    for ti, tname in enumerate(TYPES):
        table = PATHS[tname]
        members = np.flatnonzero(ptype == ti)
        chosen = rng.choice(f"path.{tname}", no[members], [w for w, _ in table])
        for c, (_, steps) in enumerate(table):
            idx = members[chosen == c]
            if not steps:
                stays_missing[idx] = True
                continue
            keys, t = no[idx], d0[idx]
            for k, (state, dur) in enumerate(steps, start=1):
                median, sigma = DURATIONS[dur]
                t = t + rng.days(f"dur.{dur}", keys * 8 + k, median, sigma, low=1, high=5000)
                via = np.zeros(len(idx), dtype=bool)
                if state == "returned":
                    via = rng.u("via_exchange", keys * 8 + k) < EXCHANGE_SHARE[tname]
                    t = np.where(via, next_exchange(t), t)
                parts.append(pd.DataFrame({"person_no": keys, "j": k, "state": state, "t": t, "via_exchange": via}))
    seg = pd.concat(parts, ignore_index=True).sort_values(["person_no", "j"], ignore_index=True)
    same = seg["person_no"].shift(-1) == seg["person_no"]
    seg["t_end"] = np.where(same, seg["t"].shift(-1).fillna(FAR), FAR).astype(np.int64)
    before = seg["person_no"].shift(1) == seg["person_no"]
    seg["prev_state"] = seg["state"].shift(1).where(before)
    seg["t"] = seg["t"].astype(np.int64)
    return seg, stays_missing
