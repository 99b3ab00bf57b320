"""What each source sees of the population: its records, their versions over time, withdrawals.

Each source is a :class:`Table`: ``records`` (one row per source record: the person,
the record key, the fields that do not change) and ``versions`` (the record's status
as the source knew it, from day ``vis`` on; ``e`` is the date the source gives for
it). A snapshot for night d is every record first visible on or before d and not
withdrawn by d, with its latest version; the register's delta for night d is the
versions that became visible since the previous night.

A source reports a segment of a person's life only when its own lag still falls
inside that segment (``e < t_end``): no source confirms captivity after the person
came home. That keeps every source's evidence dates in the order of the true events,
so the latest confirmed evidence always names the latest known state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ridni_dev.synth import render
from ridni_dev.synth.population import FAR, HELD, TYPES, Population, day
from ridni_dev.synth.rng import Rand
from ridni_dev.synth.vocab import Vocab, latin_national, latin_russian, russian_patronymic, russify_surname

SOURCE_IDS = ("npu_appeals", "mvs_register", "coordhq_cases", "sbu_jc", "ombudsman", "icrc_confirmations",
              "exchange_returns", "children_deported")


@dataclass
class Table:
    source_id: str
    records: pd.DataFrame   # positional index == rec; person_no, created, withdrawn, record_key, fields...
    versions: pd.DataFrame  # rec, e, vis, token, version fields...; sorted by (rec, vis, order)

    def standing(self, night: int) -> pd.DataFrame:
        """Records in the night's snapshot, each with its latest version's columns."""
        v = self.versions[self.versions["vis"].to_numpy() <= night]
        last = v.drop_duplicates("rec", keep="last")
        recs = self.records.iloc[last["rec"].to_numpy()].reset_index(drop=True)
        out = pd.concat([recs, last.drop(columns=["rec"]).reset_index(drop=True)], axis=1)
        out["rec"] = last["rec"].to_numpy()
        return out[out["withdrawn"].to_numpy() > night].reset_index(drop=True)


# Held episodes (any kind of "held") that the agencies confirm jointly: every agency taking part reports
# the episode on one shared date, so generic and specific evidence of it carry the same day.
HELD_KINDS = (*HELD, "deported_child")
JOINT_SHARE = 0.5
JOINT_LAG = (35, 0.9)

# Typos the contracts let through, each flagged by validation (the record still loads): a birth date with day
# and month swapped against the record's own RNOKPP, a mistyped or cut-short RNOKPP, the wrong sex ticked;
# and, in any source, a mistyped birth date or Latin look-alike letters inside Cyrillic names.
SWAP_AGAINST_RNOKPP = 0.004
RNOKPP_TYPO_P = 0.002
RNOKPP_SHORT_P = 0.0005
SEX_SLIP_P = 0.001
BIRTH_TYPO_P = 0.002
LOOKALIKE_P = 0.004
OMBUDSMAN_LOOKALIKE_P = 0.2  # the source of issue #16: a fifth of its records
# Conflicts of equal weight (same date, same rank), planted: a death against a detention (coordhq vs
# sbu_jc), and an Ombudsman case opened twice with two kinds of detention.
CONFLICT_SHARE = 0.01
OTHER_KIND = {"deprived_of_liberty": "enforced_disappearance", "enforced_disappearance": "deprived_of_liberty",
              "illegally_convicted": "deprived_of_liberty"}
EXCHANGE_BACKLOG_SHARE = 0.15  # of exchanges whose list arrives one to four nights late
COPY_KEY = 1 << 40  # draws of a second record of the same person (keys stay distinct from the first's)

# Share of a source's records edited on a night of the run (a new phone, a case moved to another
# office, a region written another way, a register name corrected): about 1% of all records a night.
NPU_CLOSE_RATE = 0.003  # a night's share of repeat appeals closed (absent from later snapshots)
CHURN = {"npu_appeals": 0.010, "mvs_register": 0.003, "coordhq_cases": 0.015, "ombudsman": 0.005,
         "children_deported": 0.005}


@dataclass
class World:
    rng: Rand
    vocab: Vocab
    pop: Population
    start: int
    last: int

    def words(self, name):
        return self.vocab.words[name]


def _finish(source_id: str, records: pd.DataFrame, versions: pd.DataFrame) -> Table:
    versions = versions.sort_values(["rec", "vis", "order"], kind="stable", ignore_index=True)
    created = versions.groupby("rec")["vis"].min()
    records = records.copy()
    records["created"] = created.reindex(np.arange(len(records))).to_numpy()
    return Table(source_id, records, versions)


def _reports(w: World, source: str, spec: dict[str, tuple[str, float]], lag: tuple[float, float],
             persons: np.ndarray | None = None, after_held: tuple[str, ...] = (), joint: bool = False,
             again: tuple[float, float] | None = None) -> pd.DataFrame:
    """The segments a source reports: (person_no, j, state, token, e, key).

    ``joint``: the source takes part in joint confirmations (:data:`JOINT_SHARE` of held segments are
    confirmed by every such source on one shared date). ``again``: (share, median days) of reported
    held segments the source confirms a second time, later in the same segment (a re-confirmation).
    """
    seg = w.pop.segments
    m = seg["state"].isin(list(spec)).to_numpy()
    if persons is not None:
        m = m & persons[seg["person_no"].to_numpy()]
    s = seg[m]
    if after_held:
        s = s[~s["state"].isin(after_held) | s["prev_state"].isin(HELD)]
    key = s["person_no"].to_numpy() * 16 + s["j"].to_numpy()
    e = s["t"].to_numpy() + w.rng.days(f"{source}.lag", key, *lag)
    if joint:
        shared = s["state"].isin(HELD_KINDS).to_numpy() & (w.rng.u("joint", key) < JOINT_SHARE)
        e = np.where(shared, s["t"].to_numpy() + w.rng.days("joint.lag", key, *JOINT_LAG), e)
    p = s["state"].map({k: v[1] for k, v in spec.items()}).to_numpy(dtype=float)
    ok = (e < s["t_end"].to_numpy()) & (w.rng.u(f"{source}.report", key) < p)
    out = s.loc[ok, ["person_no", "j", "state", "t", "t_end"]].reset_index(drop=True)
    out["token"] = out["state"].map({k: v[0] for k, v in spec.items()})
    out["e"] = e[ok]
    out["key"] = key[ok]
    out["again"] = False
    if again is not None:
        share, median = again
        k = out["key"].to_numpy()
        later = out["e"].to_numpy() + w.rng.days(f"{source}.again", k, median, 0.6, low=20)
        repeat = (out["state"].isin(HELD_KINDS).to_numpy() & (later < out["t_end"].to_numpy())
                  & (w.rng.u(f"{source}.again.p", k) < share))
        out = pd.concat([out, out[repeat].assign(e=later[repeat], key=k[repeat] + 8, again=True)],
                        ignore_index=True)
    return out


def _rank(created: np.ndarray, tiebreak: np.ndarray, per_year: bool) -> tuple[np.ndarray, np.ndarray]:
    """(year, 1-based rank) of each record in the order the source registered them."""
    df = pd.DataFrame({"c": created, "t": tiebreak, "i": np.arange(len(created))})
    df["y"] = created.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    df = df.sort_values(["c", "t", "i"], kind="stable")
    df["r"] = df.groupby("y").cumcount() + 1 if per_year else np.arange(1, len(df) + 1)
    df = df.sort_values("i")
    return df["y"].to_numpy(), df["r"].to_numpy()


def _zfill(values: np.ndarray, width: int) -> np.ndarray:
    return pd.Series(values).astype(str).str.zfill(width).to_numpy(dtype=object)


def _canonical(pop: Population, pno: np.ndarray):
    return pop.surname[pno], pop.first_name[pno], pop.patronymic[pno]


def _has_held(pop: Population, states=HELD) -> np.ndarray:
    seg = pop.segments
    out = np.zeros(pop.size, dtype=bool)
    out[seg.loc[seg["state"].isin(states), "person_no"].to_numpy()] = True
    return out


def _noise(pop: Population, pno: np.ndarray, records: pd.DataFrame) -> np.ndarray:
    """The typos of each record that validation or standardisation must absorb, ``|``-joined (ground truth):
    ``lookalike`` (Latin letters in a Cyrillic name), ``birth_typo`` (a birth date not the person's),
    ``birth_rnokpp`` (one that contradicts the RNOKPP the record shows), ``rnokpp_typo``, ``sex_rnokpp``."""
    names = [records[c] for c in ("surname", "first_name", "patronymic", "full_name") if c in records]
    latin = np.zeros(len(records), dtype=bool)
    for col in names:
        latin |= col.astype("string").str.contains("[A-Za-z]", regex=True).fillna(False).to_numpy(dtype=bool)
    birth = records["birth"].to_numpy()
    wrong_birth = (birth != render.MISSING_DAY) & (birth != pop.birth[pno])
    shown = records["rnokpp"].to_numpy(dtype=object) if "rnokpp" in records else np.full(len(records), "")
    has = shown != ""
    flags = {"lookalike": latin, "birth_typo": wrong_birth,
             "birth_rnokpp": wrong_birth & has,
             "rnokpp_typo": has & (shown != pop.rnokpp[pno]),
             "sex_rnokpp": has & (records["male"].to_numpy() != pop.male[pno]) if "male" in records
             else np.zeros(len(records), dtype=bool)}
    out = np.full(len(records), "", dtype=object)
    for name, hit in flags.items():
        out[hit] = np.where(out[hit] == "", name, out[hit] + "|" + name)
    return out


def _region_mixed(w: World, source: str, keys: np.ndarray, codes: np.ndarray, weights) -> np.ndarray:
    """Region as sources write it: code, Ukrainian name, English name, '<English> oblast', Russian-style."""
    v = w.vocab
    kind = w.rng.choice(f"{source}.region.kind", keys, weights)
    pick = w.rng.u(f"{source}.region.alias", keys)
    out = np.empty(len(codes), dtype=object)
    for i, (c, k, p) in enumerate(zip(codes, kind, pick, strict=True)):
        en = v.region_en[c]
        if k == 0:
            out[i] = c
        elif k == 1:
            out[i] = v.region_uk[c]
        elif k == 2 or (k == 3 and ("oblast" in en or c in ("UA-30", "UA-40", "UA-43"))):
            out[i] = en
        elif k == 3:
            out[i] = f"{en} oblast"
        else:
            aliases = v.region_latin_aliases.get(c) or (en,)
            out[i] = aliases[int(p * len(aliases))]
    return out


# ---------------------------------------------------------------- npu_appeals
def npu_appeals(w: World) -> Table:
    pop, rng = w.pop, w.rng
    no = pop.person_no
    covered = rng.u("npu.cover", no) < np.choose(pop.ptype, [0.90, 0.95, 0.90])
    count = 1 + rng.choice("npu.count", no, [55, 27, 12, 6])
    persons, counts = no[covered], count[covered]
    pno = np.repeat(persons, counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(pno)) - np.repeat(starts, counts)
    key = pno * 4 + slot
    gap = np.where(slot == 0, rng.days("npu.lag", pno, 7, 1.0, high=400),
                   rng.days("npu.gap", key, 90, 1.0, low=1, high=1500))
    cs = np.cumsum(gap)
    registered = pop.d0[pno] + cs - np.repeat(cs[starts] - gap[starts], counts)
    vis = registered + rng.integers("npu.delay", key, 0, 3)
    withdrawn = np.where((slot >= 1) & (rng.u("npu.withdraw", key) < 0.08),
                         vis + rng.days("npu.withdraw.after", key, 150, 0.8, low=1), FAR)
    # during the run, now and then a repeat appeal is closed (the person's first appeal always stays)
    for d in range(w.start, w.last + 1):
        hit = (slot >= 1) & (withdrawn == FAR) & (vis < d) & (rng.u("npu.close", key * 65536 + d % 65536)
                                                               < NPU_CLOSE_RATE)
        withdrawn[hit] = d

    ptype = pop.ptype[pno]
    surname, first, patronymic = render.cyrillic_names(
        rng, w.vocab, "npu", key, *_canonical(pop, pno), typo_p=0.03, swap_p=0.02, caps_p=0.02,
        patronymic_missing_p=0.01, lookalike_p=LOOKALIKE_P)
    shown_rnokpp = np.where(rng.u("npu.rnokpp", key) < 0.75, pop.rnokpp[pno], "")
    birth = render.birth_days(rng, "npu", key, pop.birth[pno], pop.d0[pno], swap_p=0.03, missing_p=0.01,
                              swap_allowed=shown_rnokpp == "", swap_p_otherwise=SWAP_AGAINST_RNOKPP,
                              typo_p=BIRTH_TYPO_P)
    shown_rnokpp = render.rnokpp_typos(rng, "npu.rnokpp.typo", key, shown_rnokpp, typo_p=RNOKPP_TYPO_P,
                                       short_p=RNOKPP_SHORT_P)
    male = pop.male[pno] ^ (rng.u("npu.sex.slip", key) < SEX_SLIP_P)  # the other box ticked
    claim = np.choose(ptype, [0, 1, 2])
    claim = np.where((ptype == 2) & (rng.u("npu.claim", key) < 0.15), 1, claim)
    shift = rng.integers("npu.d0.shift", key, -3, 4) * (rng.u("npu.d0.noisy", key) < 0.08)
    disappeared = np.clip(pop.d0[pno] + shift, pop.birth[pno] + 1, registered)
    settlement = np.where(rng.u("npu.no_town", key) < 0.05, "", pop.settlement[pno])

    circumstances = np.empty(len(pno), dtype=object)
    rel = np.empty(len(pno), dtype=object)
    texts, relations = w.words("circumstances"), w.words("relations")
    tpick = rng.u("npu.text", key)
    r0 = rng.u("npu.relation", pno)
    for t, name in enumerate(TYPES):
        idx = np.flatnonzero(ptype == t)
        options = texts[name]
        circumstances[idx] = [options[int(p * len(options))].format(town=town or pop.region[n])
                              for p, town, n in zip(tpick[idx], pop.settlement[pno[idx]], pno[idx], strict=True)]
        names = list(relations[name])
        cum = np.cumsum(list(relations[name].values()), dtype=float)
        first_rel = np.minimum(np.searchsorted(cum / cum[-1], r0[idx], side="right"), len(names) - 1)
        rel[idx] = np.asarray(names, dtype=object)[(first_rel + slot[idx]) % len(names)]
    circumstances[rng.u("npu.no_text", key) < 0.10] = ""
    operators = np.asarray(w.words("phone_operators"), dtype=object)
    op = operators[rng.integers("npu.phone.op", key, 0, len(operators))]
    digits = _zfill(rng.integers("npu.phone.no", key, 0, 10_000_000), 7)
    style = rng.choice("npu.phone.style", key, [70, 20, 10])
    phone = np.where(style == 0, "+380" + op + digits,
                     np.where(style == 1, "0" + op + digits,
                              "0" + op + "-" + pd.Series(digits).str[:3].to_numpy(dtype=object) + "-"
                              + pd.Series(digits).str[3:5].to_numpy(dtype=object) + "-"
                              + pd.Series(digits).str[5:].to_numpy(dtype=object)))

    year, rank = _rank(registered, rng.u("npu.order", key), per_year=True)
    records = pd.DataFrame({
        "person_no": pno, "ekey": key, "slot": slot, "withdrawn": withdrawn,
        "record_key": year.astype(str).astype(object) + _zfill(rank, 7),
        "registered": registered, "surname": surname, "first_name": first, "patronymic": patronymic,
        "birth": birth, "male": male, "rnokpp": shown_rnokpp, "claim": claim,
        "disappeared": disappeared, "region": pop.region[pno], "settlement": settlement,
        "circumstances": circumstances, "relation": rel, "phone": phone,
    })
    records["noise"] = _noise(pop, pno, records)
    versions = pd.DataFrame({"rec": np.arange(len(pno)), "e": registered, "vis": vis, "token": "missing", "order": 0})
    return _finish("npu_appeals", records, versions)


# ---------------------------------------------------------------- mvs_register
def mvs_register(w: World, npu: Table) -> Table:
    pop, rng = w.pop, w.rng
    no = pop.person_no
    covered = rng.u("mvs.cover", no) < np.choose(pop.ptype, [0.86, 0.85, 0.72])
    first_appeal = npu.records.groupby("person_no")["registered"].min().reindex(no).to_numpy()
    base = np.where(np.isnan(first_appeal), pop.d0 + rng.days("mvs.base", no, 10, 1.0),
                    np.nan_to_num(first_appeal)).astype(np.int64)
    main = no[covered]
    created_main = base[main] + rng.days("mvs.lag", main, 20, 1.0, high=700)
    dup = main[rng.u("mvs.dup", main) < 0.03]
    created_dup = created_main[np.isin(main, dup)] + rng.days("mvs.dup.after", dup, 60, 1.0, low=1)
    pno = np.concatenate([main, dup])
    created = np.concatenate([created_main, created_dup])
    is_dup = np.concatenate([np.zeros(len(main), bool), np.ones(len(dup), bool)])
    key = pno * 2 + is_dup
    order = np.lexsort((is_dup, pno))
    pno, created, is_dup, key = pno[order], created[order], is_dup[order], key[order]
    n = len(pno)
    rec = np.arange(n)

    has = pop.rnokpp[pno] != ""
    mode = rng.u("mvs.rnokpp.mode", key)
    known_from_start = has & (mode < 0.70)
    added_later = has & (mode >= 0.70) & (mode < 0.85)

    parts = [pd.DataFrame({"rec": rec, "e": created, "vis": created, "token": "missing", "order": 0, "op": "I",
                           "rn": known_from_start.astype(float)})]
    rep = _reports(w, "mvs", {"captive_pow": ("captivity", 0.9), "civilian_detained": ("captivity", 0.9),
                              "enforced_disappearance": ("captivity", 0.5), "illegally_convicted": ("captivity", 0.9),
                              "deported_child": ("captivity", 0.35), "returned": ("returned", 0.9),
                              "found_alive": ("found_alive", 0.9), "deceased": ("found_dead", 0.9)}, (45, 0.9),
                   persons=covered, joint=True)
    main_rec = pd.Series(rec[~is_dup], index=pno[~is_dup])
    rrec = main_rec.reindex(rep["person_no"]).to_numpy()
    rcreated = created[rrec]
    parts.append(pd.DataFrame({
        "rec": rrec, "e": rep["e"].to_numpy(),
        "vis": np.maximum(rep["e"].to_numpy(), rcreated) + rng.integers("mvs.delay", rep["key"].to_numpy(), 0, 4),
        "token": rep["token"].to_numpy(), "order": 1 + rep["j"].to_numpy(), "op": "U", "rn": np.nan}))
    fix = rec[added_later]
    parts.append(pd.DataFrame({"rec": fix, "e": -1, "vis": created[fix] + rng.days("mvs.fix", key[fix], 60, 1.0, low=1),
                               "token": None, "order": 50, "op": "U", "rn": 1.0}))
    gone = rec[is_dup & (rng.u("mvs.dup.withdraw", key) < 0.7)]
    withdrawn_on = created[gone] + rng.days("mvs.dup.withdraw.after", key[gone], 90, 0.8, low=1)
    parts.append(pd.DataFrame({"rec": gone, "e": -1, "vis": withdrawn_on, "token": None, "order": 99, "op": "D",
                               "rn": np.nan}))
    withdrawn = np.full(n, FAR)
    withdrawn[gone] = withdrawn_on
    # during the run, the register corrects its records' names now and then (a U row, same status)
    for d in range(w.start, w.last + 1):
        fix_rec = rec[(created < d) & (withdrawn > d) & (rng.u("mvs.correct", key * 65536 + d % 65536)
                                                          < CHURN["mvs_register"])]
        parts.append(pd.DataFrame({"rec": fix_rec, "e": -1, "vis": d, "token": None, "order": 60, "op": "U",
                                   "rn": np.nan, "clean": 1.0}))
    versions = pd.concat(parts, ignore_index=True)
    # nothing happens to an entry after the register withdrew it
    versions = versions[(versions["vis"].to_numpy() < withdrawn[versions["rec"].to_numpy()])
                        | (versions["op"].to_numpy() == "D")]
    versions = versions.sort_values(["rec", "vis", "order"], kind="stable", ignore_index=True)
    # a correction or withdrawal repeats the status the record had
    versions["e"] = versions["e"].where(versions["e"] >= 0)
    g = versions.groupby("rec")
    versions["token"] = g["token"].ffill()
    versions["e"] = g["e"].ffill().astype(np.int64)
    for flag in ("rn", "clean"):
        versions[flag] = pd.to_numeric(versions[flag], errors="coerce").fillna(0.0)
        versions[flag] = versions.groupby("rec")[flag].cummax().astype(bool)
    versions.loc[versions.groupby("rec").cumcount() == 0, "op"] = "I"
    # time of day: increasing within a record's day, so the file's line order is the version order
    nth = versions.groupby(["rec", "vis"]).cumcount().to_numpy()
    day_key = key[versions["rec"].to_numpy()] * 65536 + versions["vis"].to_numpy() % 65536
    versions["seconds"] = 28800 + np.floor(rng.u("mvs.time", day_key) * 25000).astype(np.int64) \
        + 1200 * np.minimum(nth, 20)

    surname, first, patronymic = render.cyrillic_names(
        rng, w.vocab, "mvs", key, *_canonical(pop, pno), typo_p=0.02, swap_p=0.01, caps_p=0.05,
        apostrophes=render.CP1251_APOSTROPHES, lookalike_p=LOOKALIKE_P)
    birth = render.birth_days(rng, "mvs", key, pop.birth[pno], pop.d0[pno], swap_p=0.02, missing_p=0.005,
                              swap_allowed=~has, swap_p_otherwise=SWAP_AGAINST_RNOKPP, typo_p=BIRTH_TYPO_P)
    typed_rnokpp = render.rnokpp_typos(rng, "mvs.rnokpp.typo", key, pop.rnokpp[pno], typo_p=RNOKPP_TYPO_P,
                                       short_p=RNOKPP_SHORT_P)
    group = np.choose(pop.ptype[pno], [1, 2, 3])
    group = np.where((group == 3) & (rng.u("mvs.group", key) < 0.15), 2, group)
    _, rank = _rank(created, rng.u("mvs.order", key), per_year=False)
    canon_surname, canon_first, canon_patronymic = _canonical(pop, pno)
    records = pd.DataFrame({
        "person_no": pno, "ekey": key, "dup": is_dup, "withdrawn": withdrawn, "record_key": _zfill(rank + 1000, 8),
        "surname": surname, "first_name": first, "patronymic": patronymic, "birth": birth,
        "surname_clean": canon_surname, "first_name_clean": canon_first, "patronymic_clean": canon_patronymic,
        "male": pop.male[pno], "rnokpp": typed_rnokpp, "group": group, "region": pop.region[pno],
        "cites": rng.u("mvs.cites", key) < 0.9,
    })
    # (a number the register never shows carries no typo anyone sees)
    shown = records.assign(rnokpp=np.where(known_from_start | added_later, typed_rnokpp, ""))
    records["noise"] = _noise(pop, pno, shown)
    return _finish("mvs_register", records, versions)


# ---------------------------------------------------------------- coordhq_cases
def coordhq_cases(w: World, sbu: Table) -> Table:
    pop, rng = w.pop, w.rng
    no = pop.person_no
    held_civ = _has_held(pop, ("civilian_detained",))
    p = np.choose(pop.ptype, [0.85, 0.30, 0.12])
    p = np.where((pop.ptype > 0) & held_civ, 0.7, p)
    covered = rng.u("hq.cover", no) < p
    pno = no[covered]
    rec_of = pd.Series(np.arange(len(pno)), index=pno)
    opened = pop.d0[pno] + rng.days("hq.lag", pno, 35, 1.0, high=900)
    opened_vis = opened + rng.integers("hq.delay.open", pno, 0, 3)
    sources = w.words("coordhq_confirmation_sources")
    src_names = np.asarray(list(sources), dtype=object)

    parts = [pd.DataFrame({"rec": np.arange(len(pno)), "e": opened, "vis": opened_vis, "token": "missing",
                           "order": 0, "conf": None})]
    rep = _reports(w, "hq", {"captive_pow": ("captivity_confirmed", 0.95),
                             "civilian_detained": ("captivity_confirmed", 0.95),
                             "enforced_disappearance": ("captivity_confirmed", 0.8),
                             "illegally_convicted": ("captivity_confirmed", 0.95),
                             "deported_child": ("captivity_confirmed", 0.9),
                             "returned": ("released", 0.95), "deceased": ("deceased", 0.95)}, (20, 1.0),
                   persons=covered, joint=True, again=(0.25, 180))
    rrec = rec_of.reindex(rep["person_no"]).to_numpy()
    conf = src_names[rng.choice("hq.conf", rep["key"].to_numpy(), list(sources.values()))]
    conf = np.where(rep["token"] == "released", "other", conf)
    parts.append(pd.DataFrame({
        "rec": rrec, "e": rep["e"].to_numpy(),
        "vis": np.maximum(rep["e"].to_numpy(), opened_vis[rrec]) + rng.integers("hq.delay", rep["key"].to_numpy(), 0, 4),
        "token": rep["token"].to_numpy(), "order": 1 + rep["j"].to_numpy(), "conf": conf}))
    # a confirmation the headquarters later withdraws (never held: the person stays missing)
    false = (pop.false_from[pno] < FAR) & (pop.ptype[pno] == 0)
    frec = np.flatnonzero(false)
    fp = pno[frec]
    for token, when, order, conf_value in (("captivity_confirmed", pop.false_from[fp], 1, "open_source"),
                                           ("not_confirmed", pop.false_to[fp], 2, None)):
        parts.append(pd.DataFrame({"rec": frec, "e": when,
                                   "vis": np.maximum(when, opened_vis[frec]) + rng.integers(f"hq.false.{order}", fp, 0, 3),
                                   "token": token, "order": order, "conf": conf_value}))
    parts.append(_death_reported_against_detention(w, sbu, pno, opened_vis))
    versions = pd.concat(parts, ignore_index=True)

    # found alive: the case is closed and leaves the snapshot
    seg = pop.segments
    found = seg[seg["state"].eq("found_alive") & covered[seg["person_no"].to_numpy()]]
    withdrawn = np.full(len(pno), FAR)
    fkeys = found["person_no"].to_numpy()
    close = rng.u("hq.close", fkeys) < 0.6
    withdrawn[rec_of.reindex(fkeys[close]).to_numpy()] = (
        found["t"].to_numpy()[close] + rng.days("hq.close.after", fkeys[close], 20, 1.0, low=1))

    surname, first, patronymic = render.cyrillic_names(
        rng, w.vocab, "hq", pno, *_canonical(pop, pno), typo_p=0.02, swap_p=0.01, patronymic_missing_p=0.01,
        lookalike_p=LOOKALIKE_P)
    birth = render.birth_days(rng, "hq", pno, pop.birth[pno], pop.d0[pno], swap_p=0.01, missing_p=0.03,
                              typo_p=BIRTH_TYPO_P)
    service = np.where(rng.u("hq.no_service", pno) < 0.10, None, pop.service_no[pno])
    offices = np.asarray(w.words("offices"), dtype=object)
    year, rank = _rank(opened, rng.u("hq.order", pno), per_year=True)
    records = pd.DataFrame({
        "person_no": pno, "ekey": pno, "withdrawn": withdrawn,
        "record_key": "KSH-" + year.astype(str).astype(object) + "-" + _zfill(rank, 6),
        "opened": opened, "surname": surname, "first_name": first, "patronymic": patronymic, "birth": birth,
        "male": pop.male[pno], "military": pop.ptype[pno] == 0, "rank": pop.rank[pno], "unit": pop.unit[pno],
        "service_no": service, "office": offices[rng.integers("hq.office", pno, 0, len(offices))],
    })
    records["noise"] = _noise(pop, pno, records)
    return _finish("coordhq_cases", records, versions)


def _death_reported_against_detention(w: World, sbu: Table, pno: np.ndarray, opened_vis: np.ndarray) -> pd.DataFrame:
    """A conflict of equal weight: the headquarters records a death on the very date the SBU Joint Centre
    (the same rank) confirmed the person held. For :data:`CONFLICT_SHARE` of the persons both hold."""
    rec_of = pd.Series(np.arange(len(pno)), index=pno)
    v = sbu.versions.assign(person_no=sbu.records["person_no"].to_numpy()[sbu.versions["rec"].to_numpy()])
    first = v.sort_values(["person_no", "vis"]).drop_duplicates("person_no")
    first = first[first["person_no"].isin(pno)]
    first = first[w.rng.u("hq.conflict", first["person_no"].to_numpy()) < CONFLICT_SHARE]
    rec = rec_of.reindex(first["person_no"]).to_numpy()
    return pd.DataFrame({"rec": rec, "e": first["e"].to_numpy(),
                         "vis": np.maximum(first["vis"].to_numpy(), opened_vis[rec]) + 1, "token": "deceased",
                         "order": 90, "conf": "other"})


# ---------------------------------------------------------------- children_deported
def children_deported(w: World) -> Table:
    pop, rng = w.pop, w.rng
    no = pop.person_no
    covered = (pop.ptype == 2) & (rng.u("nib.cover", no) < 0.88)
    pno = no[covered]
    rec_of = pd.Series(np.arange(len(pno)), index=pno)
    reported = pop.d0[pno] + rng.days("nib.lag", pno, 25, 1.0, high=600)
    reported_vis = reported + rng.integers("nib.delay.open", pno, 0, 3)
    rep = _reports(w, "nib", {"deported_child": ("deported", 0.95), "returned": ("returned", 0.95),
                              "found_alive": ("found", 0.95), "deceased": ("deceased", 0.95)}, (25, 1.0),
                   persons=covered, joint=True)
    rrec = rec_of.reindex(rep["person_no"]).to_numpy()
    versions = pd.concat([
        pd.DataFrame({"rec": np.arange(len(pno)), "e": reported, "vis": reported_vis, "token": "missing", "order": 0}),
        pd.DataFrame({"rec": rrec, "e": rep["e"].to_numpy(),
                      "vis": np.maximum(rep["e"].to_numpy(), reported_vis[rrec])
                      + rng.integers("nib.delay", rep["key"].to_numpy(), 0, 4),
                      "token": rep["token"].to_numpy(), "order": 1 + rep["j"].to_numpy()}),
    ], ignore_index=True)
    surname, first, patronymic = render.cyrillic_names(
        rng, w.vocab, "nib", pno, *_canonical(pop, pno), typo_p=0.02, swap_p=0.01, patronymic_missing_p=0.08,
        lookalike_p=LOOKALIKE_P)
    birth = render.birth_days(rng, "nib", pno, pop.birth[pno], pop.d0[pno], swap_p=0.01, missing_p=0.0,
                              typo_p=BIRTH_TYPO_P)
    region = np.where(rng.u("nib.region", pno) < 0.6,
                      np.asarray([w.vocab.region_uk[c] for c in pop.region[pno]], dtype=object), pop.region[pno])
    _, rank = _rank(reported, rng.u("nib.order", pno), per_year=False)
    records = pd.DataFrame({
        "person_no": pno, "ekey": pno, "withdrawn": FAR, "record_key": "NIB-" + _zfill(rank, 7), "surname": surname,
        "first_name": first, "patronymic": patronymic, "birth": birth, "male": pop.male[pno], "region": region,
        "region_code": pop.region[pno],
    })
    records["noise"] = _noise(pop, pno, records)
    return _finish("children_deported", records, versions)


# ---------------------------------------------------------------- sbu_jc
def sbu_jc(w: World) -> Table:
    pop, rng = w.pop, w.rng
    rep = _reports(w, "sbu", {"captive_pow": ("detained", 0.2), "civilian_detained": ("detained", 0.65),
                              "enforced_disappearance": ("detained", 0.5), "illegally_convicted": ("detained", 0.65),
                              "deported_child": ("detained", 0.1)}, (30, 1.0), joint=True, again=(0.3, 200))
    rep["vis"] = rep["e"] + rng.integers("sbu.delay", rep["key"].to_numpy(), 0, 4)
    seg = pop.segments
    # withdrawn once the person is home or dead, unless a later detention was reported
    last = rep.sort_values(["person_no", "j"]).drop_duplicates("person_no", keep="last")
    nxt = seg.set_index(["person_no", "j"])["state"].reindex(
        list(zip(last["person_no"], last["j"] + 1, strict=True))).to_numpy()
    lkey = last["person_no"].to_numpy()
    out = (last["t_end"].to_numpy() < FAR) & pd.notna(nxt) & (rng.u("sbu.withdraw", lkey) < 0.7)
    withdraw_on = pd.Series(np.where(out, last["t_end"].to_numpy() + rng.days("sbu.withdraw.after", lkey, 30, 1.0,
                                                                              low=1), FAR), index=lkey)
    # a detention the SBU registers and later removes (the person was never held)
    false = np.flatnonzero((pop.false_from < FAR) & (pop.ptype > 0))
    fake = pd.DataFrame({"person_no": false, "j": 0, "state": "civilian_detained", "token": "detained",
                         "e": pop.false_from[false], "key": false * 16 + 15})
    fake["vis"] = fake["e"] + rng.integers("sbu.false.delay", false, 0, 3)
    withdraw_on = pd.concat([withdraw_on, pd.Series(pop.false_to[false], index=false)])
    rep = pd.concat([rep, fake], ignore_index=True)
    pno = np.unique(rep["person_no"].to_numpy())
    rec_of = pd.Series(np.arange(len(pno)), index=pno)

    places, weights = w.words("detention_places"), w.words("country_weights")
    countries = list(weights)
    country = np.asarray(countries, dtype=object)[rng.choice("sbu.country", rep["key"].to_numpy(),
                                                                 list(weights.values()))]
    pick = rng.u("sbu.place", rep["key"].to_numpy())
    place = np.asarray([places[c][int(p * len(places[c]))] for c, p in zip(country, pick, strict=True)], dtype=object)
    texts = np.asarray(w.words("sbu_sources"), dtype=object)
    versions = pd.DataFrame({
        "rec": rec_of.reindex(rep["person_no"]).to_numpy(), "e": rep["e"].to_numpy(), "vis": rep["vis"].to_numpy(),
        "token": "detained", "order": rep["j"].to_numpy(), "place": place, "country": country,
        "said_by": texts[rng.integers("sbu.said", rep["key"].to_numpy(), 0, len(texts))],
    })
    surname, first, patronymic = render.cyrillic_names(
        rng, w.vocab, "sbu", pno, *_canonical(pop, pno), typo_p=0.03, swap_p=0.02, lookalike_p=LOOKALIKE_P)
    birth = render.birth_days(rng, "sbu", pno, pop.birth[pno], pop.d0[pno], swap_p=0.02, missing_p=0.05,
                              typo_p=BIRTH_TYPO_P)
    full = (pd.Series(surname, dtype=object).str.upper() + " " + first + " " + patronymic).str.strip()
    first_seen = versions.groupby("rec")["e"].min().to_numpy()
    year, rank = _rank(first_seen, rng.u("sbu.order", pno), per_year=True)
    records = pd.DataFrame({
        "person_no": pno, "withdrawn": withdraw_on.groupby(level=0).min().reindex(pno).fillna(FAR).to_numpy(np.int64),
        "record_key": "22" + year.astype(str).astype(object) + _zfill(rank, 11),
        "full_name": full.to_numpy(dtype=object), "birth": birth,
    })
    records["noise"] = _noise(pop, pno, records)
    return _finish("sbu_jc", records, versions)


# ---------------------------------------------------------------- icrc_confirmations
def icrc_confirmations(w: World) -> Table:
    pop, rng, vocab = w.pop, w.rng, w.vocab
    rep = _reports(w, "icrc", {"captive_pow": ("pow", 0.45), "civilian_detained": ("civilian_internee", 0.82),
                               "illegally_convicted": ("civilian_internee", 0.6),
                               "deceased": ("deceased", 0.5), "returned": ("released", 0.2)}, (90, 0.9),
                   after_held=("deceased", "returned"))
    rep["vis"] = rep["e"] + rng.integers("icrc.delay", rep["key"].to_numpy(), 0, 4)
    pno = np.unique(rep["person_no"].to_numpy())
    rec_of = pd.Series(np.arange(len(pno)), index=pno)
    versions = pd.DataFrame({"rec": rec_of.reindex(rep["person_no"]).to_numpy(), "e": rep["e"].to_numpy(),
                             "vis": rep["vis"].to_numpy(), "token": rep["token"].to_numpy(),
                             "order": rep["j"].to_numpy()})

    # Latin names: the national standard, Russian-style, or an English first name
    style = rng.choice("icrc.style", pno, [45, 45, 10])
    male = pop.male[pno]
    uk_surname, uk_first, uk_patronymic = _canonical(pop, pno)
    national_s = {s: latin_national(s) for s in np.unique(uk_surname)}
    russian_s = {s: latin_russian(russify_surname(s)) for s in np.unique(uk_surname)}
    national_p = {s: latin_national(s) for s in np.unique(uk_patronymic)}
    pick = rng.u("icrc.variant", pno)
    family, given, father = [], [], []
    for i in range(len(pno)):
        s, f, p = uk_surname[i], uk_first[i], uk_patronymic[i]
        if style[i] == 1:
            family.append(russian_s[s])
            options = vocab.given_latin_ru.get(f) or (vocab.given_latin.get(f) or latin_national(f),)
            given.append(options[int(pick[i] * len(options))])
            father.append(latin_russian(russian_patronymic(pop.father_ru[pno[i]], bool(male[i]))))
        else:
            family.append(national_s[s])
            options = vocab.given_english.get(f) if style[i] == 2 else None
            given.append(options[int(pick[i] * len(options))] if options else
                         vocab.given_latin.get(f) or latin_national(f))
            father.append(national_p[p])
    family, given, father = (np.asarray(a, dtype=object) for a in (family, given, father))
    family = render.apply_typos(rng, "icrc.typo.family", pno, family, 0.03)
    given = render.apply_typos(rng, "icrc.typo.given", pno, given, 0.015)
    upper = rng.u("icrc.upper", pno) < 0.25
    family[upper] = pd.Series(family[upper], dtype=object).str.upper().to_numpy()
    father = np.where(rng.u("icrc.no_father", pno) < 0.30, None, father)
    precision = rng.choice("icrc.precision", pno, [55, 15, 30])  # full, year-month, year
    # (a day and month swapped only where the day is given)
    birth = render.birth_days(rng, "icrc", pno, pop.birth[pno], pop.d0[pno], swap_p=0.02, missing_p=0.0,
                              swap_allowed=precision == 0)
    powers = w.words("detaining_powers")
    power = np.asarray(list(powers), dtype=object)[rng.choice("icrc.power", pno, list(powers.values()))]
    _, rank = _rank(versions.groupby("rec")["e"].min().to_numpy(), rng.u("icrc.order", pno), per_year=False)
    records = pd.DataFrame({
        "person_no": pno, "withdrawn": FAR, "record_key": "ICRC-UA-" + _zfill(rank, 7),
        "family_name": family, "first_name": given, "father_name": father, "birth": birth,
        "precision": precision, "male": male, "power": power,
    })
    records["noise"] = np.where(birth != pop.birth[pno], "birth_typo", "").astype(object)  # (names are Latin)
    return _finish("icrc_confirmations", records, versions)


# ---------------------------------------------------------------- ombudsman
def ombudsman(w: World, icrc: Table) -> Table:
    pop, rng = w.pop, w.rng
    covered = (pop.ptype > 0) & _has_held(pop, ("civilian_detained", "enforced_disappearance", "illegally_convicted"))
    covered &= rng.u("omb.cover", pop.person_no) < 0.85
    rep = _reports(w, "omb", {"civilian_detained": ("deprived_of_liberty", 0.95),
                              "enforced_disappearance": ("enforced_disappearance", 0.95),
                              "illegally_convicted": ("illegally_convicted", 0.95), "returned": ("released", 0.95)},
                   (40, 0.9), persons=covered, after_held=("returned",), joint=True)
    rep["vis"] = rep["e"] + rng.integers("omb.delay", rep["key"].to_numpy(), 0, 4)
    rep["copy"] = 0
    # a case opened twice (another office), naming another kind of detention on the same dates
    persons = np.unique(rep["person_no"].to_numpy())
    twice = persons[rng.u("omb.twice", persons) < CONFLICT_SHARE]
    dup = rep[rep["person_no"].isin(twice) & rep["token"].isin(list(OTHER_KIND))]
    rep = pd.concat([rep, dup.assign(token=dup["token"].map(OTHER_KIND), key=dup["key"] + COPY_KEY, copy=1)],
                    ignore_index=True)
    cases = rep[["person_no", "copy"]].drop_duplicates().sort_values(["person_no", "copy"], ignore_index=True)
    pno, copy = cases["person_no"].to_numpy(), cases["copy"].to_numpy()
    ekey = pno + copy * COPY_KEY
    rec_of = pd.Series(np.arange(len(cases)), index=pd.MultiIndex.from_frame(cases))
    key = rep["key"].to_numpy()
    convicted = rep["token"].eq("illegally_convicted").to_numpy()
    courts = np.asarray(w.words("courts"), dtype=object)
    sentence = (4 + np.floor(rng.u("omb.sentence", key) * 17)).astype(int).astype(str).astype(object)
    sentence = np.where(rng.u("omb.half", key) < 0.15, sentence + ".5", sentence)
    icrc_first = icrc.versions.groupby("rec")["vis"].min()
    icrc_first = pd.Series(icrc_first.to_numpy(), index=icrc.records["person_no"].to_numpy()[icrc_first.index])
    icrc_by = icrc_first.reindex(rep["person_no"]).fillna(FAR).to_numpy()
    versions = pd.DataFrame({
        "rec": rec_of.reindex(pd.MultiIndex.from_frame(rep[["person_no", "copy"]])).to_numpy(),
        "e": rep["e"].to_numpy(), "vis": rep["vis"].to_numpy(),
        "token": rep["token"].to_numpy(), "order": rep["j"].to_numpy(),
        "court": np.where(convicted, courts[rng.integers("omb.court", key, 0, len(courts))], None),
        "sentence": np.where(convicted, sentence, None),
        "icrc": icrc_by <= rep["vis"].to_numpy(),
    })
    surname, first, patronymic = render.cyrillic_names(
        rng, w.vocab, "omb", ekey, *_canonical(pop, pno), typo_p=0.02, swap_p=0.01, patronymic_missing_p=0.01,
        lookalike_p=OMBUDSMAN_LOOKALIKE_P)
    birth = render.birth_days(rng, "omb", ekey, pop.birth[pno], pop.d0[pno], swap_p=0.015, missing_p=0.01,
                              typo_p=BIRTH_TYPO_P)
    year, rank = _rank(versions.groupby("rec")["e"].min().to_numpy(), rng.u("omb.order", ekey), per_year=True)
    records = pd.DataFrame({
        "person_no": pno, "ekey": ekey, "withdrawn": FAR,
        "record_key": "OMB-" + year.astype(str).astype(object) + "-" + _zfill(rank, 5),
        "surname": surname, "first_name": first, "patronymic": patronymic, "birth": birth,
        "region": _region_mixed(w, "omb", ekey, pop.region[pno], [40, 15, 25, 10, 10]),
        "region_code": pop.region[pno],
    })
    records["noise"] = _noise(pop, pno, records)
    return _finish("ombudsman", records, versions)


# ---------------------------------------------------------------- exchange_returns
def exchange_returns(w: World) -> Table:
    pop, rng = w.pop, w.rng
    seg = pop.segments
    t = seg["t"].to_numpy()
    vis = t + 1 + exchange_backlog(rng, t, w.start)
    s = seg[seg["via_exchange"].to_numpy() & (vis >= w.start) & (t < FAR)].reset_index(drop=True)
    vis = vis[seg["via_exchange"].to_numpy() & (vis >= w.start) & (t < FAR)]
    pno = s["person_no"].to_numpy()
    key = pno * 16 + s["j"].to_numpy()
    surname, first, patronymic = render.cyrillic_names(
        rng, w.vocab, "ex", key, *_canonical(pop, pno), typo_p=0.02, swap_p=0.01, patronymic_missing_p=0.02,
        lookalike_p=LOOKALIKE_P)
    birth = render.birth_days(rng, "ex", key, pop.birth[pno], pop.d0[pno], swap_p=0.01, missing_p=0.03,
                              typo_p=BIRTH_TYPO_P)
    military = pop.ptype[pno] == 0
    service = np.where(military & (rng.u("ex.service", key) < 0.85), pop.service_no[pno], None)
    ex_date = s["t"].to_numpy()
    exchange_id = "EX-" + pd.Series(render.iso(ex_date)).str.replace("-", "", regex=False).to_numpy(dtype=object)
    records = pd.DataFrame({
        "person_no": pno, "withdrawn": FAR, "exchange_id": exchange_id, "exchange_date": ex_date, "vis": vis,
        "surname": surname, "first_name": first, "patronymic": patronymic, "birth": birth,
        "category": np.where(military, "military", "civilian").astype(object), "service_no": service,
    })
    records["noise"] = _noise(pop, pno, records)
    # the official list: servicemembers first, then civilians, alphabetical; key = <exchange_id>/<line>
    records = records.sort_values(["exchange_date", "category", "surname", "first_name", "person_no"],
                                  key=lambda c: c.map({"military": 0, "civilian": 1}) if c.name == "category" else c,
                                  ignore_index=True)
    line = records.groupby("exchange_id").cumcount().to_numpy() + 2
    records["line"] = line
    records["record_key"] = records["exchange_id"] + "/" + line.astype(str).astype(object)
    versions = pd.DataFrame({"rec": np.arange(len(records)), "e": records["exchange_date"].to_numpy(),
                             "vis": records["vis"].to_numpy(), "token": "returned", "order": 0})
    return _finish("exchange_returns", records, versions)


def exchange_backlog(rng: Rand, exchange_day: np.ndarray, start: int) -> np.ndarray:
    """Days an exchange's list arrives late (usually none): a backlog puts several lists in one night's drop.

    Decided per exchange day; the eve of the first night is never late (that night always has its list).
    """
    late = (rng.u("exchange.backlog", exchange_day) < EXCHANGE_BACKLOG_SHARE) & (exchange_day != start - 1)
    return np.where(late, rng.integers("exchange.backlog.days", exchange_day, 1, 5), 0)


# Source statuses that say only "held" (generic) and those that name the kind (specific), for the patterns.
GENERIC = {("sbu_jc", "detained"), ("mvs_register", "captivity"), ("coordhq_cases", "captivity_confirmed"),
           ("icrc_confirmations", "civilian_internee")}
SPECIFIC = {("ombudsman", "deprived_of_liberty"), ("ombudsman", "enforced_disappearance"),
            ("ombudsman", "illegally_convicted"), ("icrc_confirmations", "pow"), ("children_deported", "deported")}


def planted_patterns(tables: dict[str, Table], pop: Population) -> dict[str, np.ndarray]:
    """Which persons' lives or records carry each pattern the generator plants (ground truth; a pattern
    may not be delivered yet on a given night): name -> boolean per person number.

    - ``generic_and_specific_same_date``: a generic and a specific "held" confirmation on one date;
    - ``generic_after_specific``: a generic confirmation dated after a specific one in the same held episode;
    - ``kind_changed_in_episode``: held, then held in another way (detained, then convicted);
    - ``generic_only_child``: a deported child whose deportation only generic sources report;
    - ``conflict_two_kinds``: two Ombudsman cases naming two kinds on the same dates;
    - ``conflict_death_vs_detention``: a death recorded on the date another agency of the same rank
      confirmed the detention;
    - ``re_detained``: held again after coming home;
    - ``exchange_backlog``: returned by an exchange whose list arrived late.
    """
    n = pop.size
    seg = pop.segments.sort_values(["person_no", "t", "j"])
    held = seg["state"].isin(HELD_KINDS).to_numpy()
    same_person = seg["person_no"].shift(1).to_numpy() == seg["person_no"].to_numpy()
    prev_held = np.roll(held, 1) & same_person
    seg = seg.assign(held=held, episode=(held & ~prev_held).cumsum())

    parts = []
    for sid, t in tables.items():
        v = t.versions[["rec", "e", "token"]].assign(source_id=sid, person_no=t.records["person_no"].to_numpy()[
            t.versions["rec"].to_numpy()], order=t.versions["order"].to_numpy())
        parts.append(v)
    ev = pd.concat(parts, ignore_index=True)
    pair = list(zip(ev["source_id"], ev["token"], strict=True))
    ev["kind"] = np.where([p in GENERIC for p in pair], "generic", np.where([p in SPECIFIC for p in pair],
                                                                            "specific", ""))
    ev = ev[ev["kind"] != ""].sort_values("e")
    at = pd.merge_asof(ev, seg[["person_no", "t", "held", "episode"]].sort_values("t"), left_on="e",
                       right_on="t", by="person_no")
    at = at[at["held"].fillna(False).astype(bool)]

    def persons(where) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        out[np.asarray(where, dtype=np.int64)] = True
        return out

    gen, spec = at[at["kind"] == "generic"], at[at["kind"] == "specific"]
    same_day = gen.merge(spec, on=["person_no", "e"])["person_no"]
    last_generic = gen.groupby(["person_no", "episode"])["e"].max()
    first_specific = spec.groupby(["person_no", "episode"])["e"].min()
    both = pd.concat([last_generic, first_specific], axis=1, keys=["g", "s"], join="inner")
    after = both[both["g"] > both["s"]].index.get_level_values("person_no")
    kinds = seg[seg["held"]].groupby("episode")["state"].nunique()
    changed = seg.loc[seg["held"] & seg["episode"].isin(kinds[kinds > 1].index), "person_no"]
    deported = seg.loc[seg["state"] == "deported_child", "person_no"].unique()
    nib = ev.loc[(ev["source_id"] == "children_deported") & (ev["token"] == "deported"), "person_no"]
    generic_child = gen["person_no"][np.isin(gen["person_no"], deported) & ~np.isin(gen["person_no"], nib)]
    omb = tables["ombudsman"].records["person_no"]
    hq = tables["coordhq_cases"]
    death = hq.records["person_no"].to_numpy()[hq.versions.loc[hq.versions["order"] == 90, "rec"].to_numpy()]
    returned_before = seg["state"].eq("returned").groupby(seg["person_no"]).cumsum().to_numpy() > 0
    ex = tables["exchange_returns"].records
    return {
        "generic_and_specific_same_date": persons(same_day),
        "generic_after_specific": persons(after),
        "kind_changed_in_episode": persons(changed),
        "generic_only_child": persons(generic_child),
        "conflict_two_kinds": persons(omb[omb.duplicated()]),
        "conflict_death_vs_detention": persons(death),
        "re_detained": persons(seg.loc[seg["held"].to_numpy() & returned_before, "person_no"]),
        "exchange_backlog": persons(ex.loc[ex["vis"] > ex["exchange_date"] + 1, "person_no"]),
    }


def build(rng: Rand, vocab: Vocab, pop: Population, start_date, last_night) -> dict[str, Table]:
    w = World(rng, vocab, pop, day(start_date), day(last_night))
    npu = npu_appeals(w)
    icrc = icrc_confirmations(w)
    sbu = sbu_jc(w)
    tables = {
        "npu_appeals": npu,
        "mvs_register": mvs_register(w, npu),
        "coordhq_cases": coordhq_cases(w, sbu),
        "sbu_jc": sbu,
        "ombudsman": ombudsman(w, icrc),
        "icrc_confirmations": icrc,
        "exchange_returns": exchange_returns(w),
        "children_deported": children_deported(w),
    }
    return {s: tables[s] for s in SOURCE_IDS}
