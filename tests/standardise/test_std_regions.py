"""Regions to ISO 3166-2:UA from every alias form; unknown is None."""

import csv

import pandas as pd
import pytest

from ridni.standardise.regions import DATA, to_iso, to_iso_series

ROWS = list(csv.DictReader(DATA.open(encoding="utf-8")))
ALIASES = [(r["code"], a) for r in ROWS for a in [r["code"], r["name_uk"], r["name_en"], *r["aliases"].split("|")] if a]


def test_table_has_the_27_regions():
    assert len(ROWS) == 27
    assert len({r["code"] for r in ROWS}) == 27
    assert list(ROWS[0]) == ["code", "name_uk", "name_en", "aliases"]


@pytest.mark.parametrize(("code", "alias"), ALIASES)
def test_every_alias_in_its_forms(code, alias):
    assert to_iso(alias) == code
    assert to_iso(alias.upper()) == code
    assert to_iso(f"  {alias.lower()} ") == code


@pytest.mark.parametrize(("code", "name_uk", "name_en"), [(r["code"], r["name_uk"], r["name_en"]) for r in ROWS
                                                          if r["code"] not in ("UA-30", "UA-32", "UA-40", "UA-43")])
def test_oblast_words_in_every_language(code, name_uk, name_en):
    for form in (f"{name_uk} область", f"{name_uk} обл.", f"{name_en} oblast", f"{name_en} Oblast",
                 f"{name_en} region", f"{name_en} Region"):
        assert to_iso(form) == code, form


@pytest.mark.parametrize(("raw", "code"), [
    ("UA-14", "UA-14"), ("ua-14", "UA-14"), ("UA14", "UA-14"),
    ("Донецька", "UA-14"), ("Донецька область", "UA-14"), ("Donetsk", "UA-14"), ("Donetsk oblast", "UA-14"),
    ("Donetsk Oblast", "UA-14"), ("Lugansk", "UA-09"), ("Luhansk", "UA-09"), ("Луганская обл.", "UA-09"),
    ("Zaporozhye", "UA-23"), ("Zaporizhzhia", "UA-23"), ("Zaporozhe", "UA-23"), ("Nikolaev", "UA-48"),
    ("Nikolayevskaya oblast", "UA-48"), ("Kharkovskaya oblast", "UA-63"), ("Kherson", "UA-65"),
    ("Krym", "UA-43"), ("АР Крим", "UA-43"), ("Sevastopol", "UA-40"),
    ("Kyiv", "UA-30"), ("Kiev", "UA-30"), ("м. Київ", "UA-30"), ("Kyiv city", "UA-30"), ("City of Kyiv", "UA-30"),
    ("Kyiv oblast", "UA-32"), ("Kyiv Oblast", "UA-32"), ("Kiev region", "UA-32"), ("Київська область", "UA-32"),
    ("Kyiv obl.", "UA-32"), ("Ivano Frankivsk", "UA-26"), ("Херсонщина", "UA-65"), ("Донеччина", "UA-14"),
    ("Запоріжжя", "UA-23"), ("Zaporizhzhia Oblast", "UA-23"),
])
def test_named_forms(raw, code):
    assert to_iso(raw) == code


@pytest.mark.parametrize("raw", [None, "", "UA-99", "14", "Moscow", "Донбас", "Sevastopol oblast", "ДНР",
                                 "Kyiv oblast city", "Rostov"])
def test_unknown_is_none_never_a_guess(raw):
    assert to_iso(raw) is None


def test_national_and_russian_style_city_names_meet_in_the_region():
    forms = ["Mykolaiv", "Nikolaev", "Nikolayev", "Миколаїв", "Николаев", "Миколаївська область", "Николаевская"]
    assert {to_iso(f) for f in forms} == {"UA-48"}


def test_vectorised_on_a_series():
    s = pd.Series(["Донецька", "Donetsk oblast", "UA-14", "Lugansk", None, "Atlantis"], index=[9, 8, 7, 6, 5, 4])
    out = to_iso_series(s)
    assert out.tolist() == ["UA-14", "UA-14", "UA-14", "UA-09", None, None]
    assert list(out.index) == [9, 8, 7, 6, 5, 4]
