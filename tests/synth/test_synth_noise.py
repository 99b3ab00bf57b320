"""The noise each source adds, and the counter-based randomness under it."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
from synth_files import START, drop_dir

from ridni_dev.synth import render
from ridni_dev.synth.population import day, to_date
from ridni_dev.synth.rng import Rand
from ridni_dev.synth.vocab import latin_national, latin_russian, load, russian_patronymic, russify_surname


def test_draws_depend_only_on_seed_stream_and_key():
    r = Rand(5)
    keys = np.arange(1000)
    assert np.array_equal(r.u("a", keys), Rand(5).u("a", keys))
    assert np.array_equal(r.u("a", keys)[500:], r.u("a", keys[500:]))  # no dependence on the other keys
    assert not np.array_equal(r.u("a", keys), r.u("b", keys))
    assert not np.array_equal(r.u("a", keys), Rand(6).u("a", keys))
    u = r.u("x", np.arange(200_000))
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert np.bincount(r.choice("c", np.arange(30_000), [1, 2, 7]), minlength=3).argmax() == 2


def test_typos_apostrophes_swaps_and_missing_patronymics():
    rng, vocab = Rand(1), load()
    keys = np.arange(6)
    surname = np.array(["Д'яченко"] * 6, dtype=object)
    first = np.array(["Мар'яна"] * 6, dtype=object)
    patronymic = np.array(["Олексіївна"] * 6, dtype=object)
    s, f, p = render.cyrillic_names(rng, vocab, "t", keys, surname, first, patronymic, typo_p=0, swap_p=1.0,
                                    variant_p=0)
    assert set(f) == {"Олексіївна"} and {x.replace("\u2019", "'").replace("\u02bc", "'") for x in p} == {"Мар'яна"}
    variants = set()
    for k in range(40):
        out = render.cyrillic_names(rng, vocab, "t", np.array([k]), surname[:1], first[:1], patronymic[:1],
                                    typo_p=0, swap_p=0, variant_p=0)[0][0]
        variants.add(out[1])
        assert out[1] == render.cyrillic_names(rng, vocab, "t", np.array([k]), surname[:1], first[:1],
                                               patronymic[:1], typo_p=0, swap_p=0, variant_p=0)[0][0][1]
    assert variants == {"'", "\u2019", "\u02bc"}
    keys = np.arange(100)
    s, _, p = render.cyrillic_names(rng, vocab, "t", keys, np.repeat(surname[:1], 100), np.repeat(first[:1], 100),
                                    np.repeat(patronymic[:1], 100), typo_p=1.0, swap_p=0, variant_p=0,
                                    patronymic_missing_p=1.0, apostrophes=render.CP1251_APOSTROPHES)
    assert sum(x.replace("\u2019", "'") != "Д'яченко" for x in s) > 80 and set(p) == {""}  # (a typo may hit the ')
    assert render.typo("Шевченко", 0.3, 0.5) != "Шевченко"
    assert all("\u02bc" not in x for x in s)


def test_day_month_swap_only_where_possible_and_allowed():
    rng = Rand(1)
    born = np.array([day(dt.date(1990, 3, 7)), day(dt.date(1990, 3, 17)), day(dt.date(1990, 3, 3)),
                     day(dt.date(2022, 1, 5)), day(dt.date(1990, 3, 7))])
    latest = np.array([day(dt.date(2022, 3, 1))] * 5)
    allowed = np.array([True, True, True, True, False])
    out = render.birth_days(rng, "t", np.arange(5), born, latest, swap_p=1.0, missing_p=0, swap_allowed=allowed)
    assert [to_date(x) for x in out] == [dt.date(1990, 7, 3), dt.date(1990, 3, 17), dt.date(1990, 3, 3),
                                         dt.date(2022, 1, 5), dt.date(1990, 3, 7)]
    assert list(render.dmy(out[:1])) == ["03.07.1990"] and list(render.iso(out[:1])) == ["1990-07-03"]
    gone = render.birth_days(rng, "t", np.arange(5), born, latest, swap_p=0, missing_p=1.0)
    assert list(render.iso(gone)) == [""] * 5


def test_latin_spellings_both_standards():
    assert latin_national("Сергій") == "Serhii" and latin_national("Д'яченко") == "Diachenko"
    assert latin_russian(russify_surname("Д'яченко")) == "Dyachenko"
    assert russify_surname("Ковальська") == "Ковальская"
    assert russian_patronymic("Сергей", True) == "Сергеевич" and russian_patronymic("Юрий", False) == "Юрьевна"
    assert latin_russian(russian_patronymic("Александр", True)) == "Aleksandrovich"


def test_icrc_names_arrive_in_both_transliterations(run):
    vocab = load()
    icrc = json.loads((drop_dir(run, "icrc_confirmations", START) / "confirmations.json").read_text("utf-8"))
    national = set(vocab.given_latin.values())
    russian = {v for vs in vocab.given_latin_ru.values() for v in vs} - national
    firsts = {o["first_name"] for o in icrc}
    assert firsts & national and firsts & russian
    fathers = {o.get("father_name", "") for o in icrc}
    assert any(f.endswith(("ovych", "ivna", "yovych")) for f in fathers)   # national standard
    assert any(f.endswith(("ovich", "evich", "ovna", "evna")) for f in fathers)  # Russian-style
    assert any(o["family_name"].isupper() for o in icrc) and any(not o["family_name"].isupper() for o in icrc)
