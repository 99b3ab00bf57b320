"""Regions to ISO 3166-2:UA codes, the warehouse's form.

Why: sources send `UA-14`, `Донецька`, `Донецька область`, `Donetsk`, `Donetsk Oblast`, or the
old Russian-style `Lugansk`, `Zaporozhye`, `Nikolaev`. `data/regions.csv` lists the 27 regions
with their Ukrainian and English names and known aliases. A value is matched by its code, then
by an exact alias (case, spaces, apostrophes and hyphens ignored), then with the words
"область / oblast / region / м. / city" set aside, then by `translit.latin_key`, so a spelling
variant of a listed alias (`Zaporozhe`, `Kharkovskaya oblast`) still finds its region. A key
that two regions share is never used, and anything else is None: a region is never guessed.
Kyiv is two regions: the city (UA-30) and the oblast around it (UA-32); "Kyiv" alone is the
city, "Kyiv oblast" the oblast.
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ridni.standardise._vector import is_missing, map_unique
from ridni.standardise.names import clean_name
from ridni.standardise.translit import latin_key, to_latin_national, to_latin_russian

DATA = Path(__file__).with_name("data") / "regions.csv"
KYIV_CITY, KYIV_OBLAST, SEVASTOPOL = "UA-30", "UA-32", "UA-40"

_CODE = re.compile(r"ua[ -]?(\d{2})")
_OBLAST_WORDS = r"область|області|обл|oblast|oblasts|oblasti|obl|region|reg|province|провінція|регіон"
_CITY_WORDS = r"city of|місто|м|город|г|city|m"
_OBLAST = re.compile(rf"(^|\s)({_OBLAST_WORDS})(\s|$)")
_CITY = re.compile(rf"(^|\s)({_CITY_WORDS})(\s|$)")


def _norm(value: Any) -> str | None:
    s = clean_name(value)
    if not s:
        return None
    s = s.casefold().replace("ё", "е").replace("'", "")
    s = re.sub(r"[.,;:()\"«»/-]", " ", s)
    return " ".join(s.split()) or None


@functools.cache
def regions() -> list[dict[str, str]]:
    """The rows of `data/regions.csv`."""
    with DATA.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@functools.cache
def _lookups() -> tuple[dict[str, str], dict[str, str | None]]:
    exact: dict[str, str] = {}
    by_key: dict[str, str | None] = {}
    for row in regions():
        code = row["code"]
        names = [code, row["name_uk"], row["name_en"], *row["aliases"].split("|")]
        for name in filter(None, (n.strip() for n in names)):
            norm = _norm(name)
            if norm is None:
                continue
            if exact.get(norm, code) != code:
                raise ValueError(f"regions.csv: alias {name!r} names two regions")
            exact[norm] = code
            if _CODE.fullmatch(norm):
                continue  # codes are matched by pattern, not by key
            spellings = {name, to_latin_national(name), to_latin_russian(name)}
            for key in {latin_key(s) for s in spellings if s}:
                if key and by_key.get(key, code) != code:
                    by_key[key] = None  # shared by two regions: never used
                elif key:
                    by_key[key] = code
    return exact, by_key


def _lookup(norm: str) -> str | None:
    exact, by_key = _lookups()
    if norm in exact:
        return exact[norm]
    key = latin_key(norm)
    return by_key.get(key) if key else None


def to_iso(value: Any) -> str | None:
    """ISO 3166-2:UA code for a region given as a code, a Ukrainian, English or Russian-style name."""
    if is_missing(value):
        return None
    norm = _norm(value)
    if not norm:
        return None
    if m := _CODE.fullmatch(norm):
        code = f"UA-{m.group(1)}"
        return code if any(r["code"] == code for r in regions()) else None
    exact, _ = _lookups()
    if norm in exact:
        return exact[norm]
    oblast = bool(_OBLAST.search(norm))
    city = bool(_CITY.search(norm))
    stem = " ".join(_CITY.sub(" ", _OBLAST.sub(" ", norm)).split())
    if not stem or (oblast and city):
        return None
    code = _lookup(stem)
    if oblast and code == KYIV_CITY:
        return KYIV_OBLAST
    if oblast and code == SEVASTOPOL:
        return None
    return code


def to_iso_series(values: pd.Series) -> pd.Series:
    """Vectorised `to_iso` (object dtype, None where unknown)."""
    return map_unique(values, to_iso)
