"""Given-name and patronymic equivalence across Ukrainian, Russian and Latin spellings.

Why: a given name is not transliterated the same way twice. Олександр is Oleksandr by the
national standard, Aleksandr or Alexandr from a Russian form, Alexander in English; Сергій is
Serhii, Sergii, Sergiy or Sergey. No spelling rule makes Mykola meet Nikolay, so
`data/given_names.csv` lists the variants, and every variant maps to one canonical id (the
national-standard Latin form of the Ukrainian name, lower case: `oleksandr`, `serhii`,
`mykola`). A variant that is not listed is looked up by its `translit.latin_key`; a key that
two different names share is not used (no guessing). Patronymics get the same treatment: the
Ukrainian forms from the table, the Russian forms derived from the Russian name
(Сергей -> Сергеевич / Сергеевна), all mapped to the id of the Ukrainian form
(`serhiiovych`, `serhiivna`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ridni.standardise._vector import map_unique
from ridni.standardise.names import fold_name
from ridni.standardise.translit import latin_key, to_latin_national, to_latin_russian

DATA = Path(__file__).with_name("data") / "given_names.csv"
COLUMNS = ["uk", "sex", "patronymic_m", "patronymic_f", "latin_national", "ru", "latin_ru", "english"]

# Russian patronymics that the suffix rules below would get wrong.
_RU_PATRONYMIC_EXCEPTIONS = {
    "Илья": ("Ильич", "Ильинична"), "Кузьма": ("Кузьмич", "Кузьминична"), "Лука": ("Лукич", "Лукинична"),
    "Фома": ("Фомич", "Фоминична"), "Никита": ("Никитич", "Никитична"), "Лев": ("Львович", "Львовна"),
    "Павел": ("Павлович", "Павловна"), "Пётр": ("Петрович", "Петровна"), "Яков": ("Яковлевич", "Яковлевна"),
    "Михаил": ("Михайлович", "Михайловна"), "Георгий": ("Георгиевич", "Георгиевна"),
    "Дмитрий": ("Дмитриевич", "Дмитриевна"), "Фёдор": ("Федорович", "Федоровна"),
    "Олесь": ("Олесевич", "Олесевна"),
}


def russian_patronymics(ru: str) -> tuple[str, str]:
    """The son's and daughter's patronymic of a Russian given name (Сергей -> Сергеевич, Сергеевна)."""
    if ru in _RU_PATRONYMIC_EXCEPTIONS:
        return _RU_PATRONYMIC_EXCEPTIONS[ru]
    if ru.endswith("ий"):
        stem = ru[:-2] + "ье"
    elif ru.endswith(("ей", "ай")):
        stem = ru[:-1] + "е"
    elif ru.endswith("ь"):
        stem = ru[:-1] + "е"
    else:
        stem = ru + "о"
    return stem + "вич", stem + "вна"


def _ukrainian_patronymic_variants(uk: str, son: str, daughter: str) -> tuple[list[str], list[str]]:
    """Russified Ukrainian spellings seen in documents (Сергієвич, Миколаєвич, Ігоревич)."""
    sons, daughters = [son], [daughter]
    if uk.endswith("ій"):
        sons.append(uk[:-1] + "євич")
    elif uk.endswith("а") and son.endswith("айович"):
        sons.append(uk[:-1] + "аєвич")
    elif son.endswith("ович") and not uk.endswith(("о", "а")):
        sons.append(uk + "евич")
    return sons, daughters


@dataclass(frozen=True)
class GivenName:
    id: str
    uk: str
    sex: str
    ru: str
    latin_national: str
    variants: tuple[str, ...]


def _split(cell: str | None) -> list[str]:
    return [v.strip() for v in (cell or "").split("|") if v.strip()]


@functools.cache
def table() -> pd.DataFrame:
    """`data/given_names.csv` as a frame (all columns as text, empty cells as '')."""
    return pd.read_csv(DATA, dtype=str, keep_default_na=False)


class _Lookup:
    """variant -> id, by exact folded spelling first, then by latin_key when unambiguous."""

    def __init__(self) -> None:
        self.exact: dict[str, str] = {}
        self.by_key: dict[str, str | None] = {}
        self.ambiguous_exact: set[str] = set()

    def add(self, variant: str | None, id_: str) -> None:
        folded = fold_name(variant)
        if not folded:
            return
        if self.exact.get(folded, id_) != id_:
            self.ambiguous_exact.add(folded)
        self.exact.setdefault(folded, id_)
        key = latin_key(variant)
        if key:
            if key in self.by_key and self.by_key[key] != id_:
                self.by_key[key] = None  # two names share it: unusable
            else:
                self.by_key.setdefault(key, id_)

    def get(self, value: Any) -> str | None:
        folded = fold_name(value)
        if not folded:
            return None
        if folded in self.exact:
            return self.exact[folded]
        key = latin_key(folded)
        return self.by_key.get(key) if key else None


@functools.cache
def _given() -> tuple[_Lookup, dict[str, GivenName]]:
    lookup, names = _Lookup(), {}
    for row in table().to_dict("records"):
        id_ = row["latin_national"].casefold()
        variants = [row["uk"], row["latin_national"], row["ru"], *_split(row.get("uk_variants")),
                    *_split(row["latin_ru"]), *_split(row["english"])]
        variants += [to_latin_russian(row["ru"]) or ""]
        variants = list(dict.fromkeys(v for v in variants if v))
        names[id_] = GivenName(id_, row["uk"], row["sex"], row["ru"], row["latin_national"], tuple(variants))
        for v in variants:
            lookup.add(v, id_)
    return lookup, names


@functools.cache
def _patronymics() -> tuple[_Lookup, dict[str, tuple[str, str]]]:
    """Lookup of patronymic spellings; id -> (father's given-name id, sex of the bearer)."""
    lookup, meaning = _Lookup(), {}
    for row in table().to_dict("records"):
        if row["sex"] != "M" or not row["patronymic_m"]:
            continue
        father = row["latin_national"].casefold()
        ru_son, ru_daughter = russian_patronymics(row["ru"])
        sons, daughters = _ukrainian_patronymic_variants(row["uk"], row["patronymic_m"], row["patronymic_f"])
        for sex, uk_forms, ru_form in (("M", sons, ru_son), ("F", daughters, ru_daughter)):
            id_ = (to_latin_national(uk_forms[0]) or "").casefold()
            meaning[id_] = (father, sex)
            for form in [*uk_forms, ru_form]:
                lookup.add(form, id_)
                lookup.add(to_latin_national(form), id_)
                lookup.add(to_latin_russian(form), id_)
    return lookup, meaning


def given_name_id(value: Any) -> str | None:
    """Canonical id of a given name in any listed spelling (`Aleksandr` -> `oleksandr`); None if unknown."""
    return _given()[0].get(value)


def given_name_key(value: Any) -> str | None:
    """The given-name matching key: the canonical id when the name is known, else its `latin_key`."""
    return given_name_id(value) or latin_key(value)


def given_name(value: Any) -> GivenName | None:
    """The table entry for a given name in any listed spelling."""
    id_ = given_name_id(value)
    return _given()[1][id_] if id_ else None


def given_name_sex(value: Any) -> str | None:
    """`M`/`F` as the table records the name's sex; None if unknown."""
    entry = given_name(value)
    return entry.sex if entry else None


def patronymic_id(value: Any) -> str | None:
    """Canonical id of a patronymic (`Aleksandrovich`, `Олександрович` -> `oleksandrovych`); None if unknown."""
    return _patronymics()[0].get(value)


def patronymic_key(value: Any) -> str | None:
    """The patronymic matching key: the canonical id when known, else its `latin_key`."""
    return patronymic_id(value) or latin_key(value)


def patronymic_father(value: Any) -> str | None:
    """Given-name id of the father a known patronymic names (`Sergeevna` -> `serhii`)."""
    id_ = patronymic_id(value)
    return _patronymics()[1][id_][0] if id_ else None


def ambiguous_keys() -> dict[str, list[str]]:
    """Diagnostics: latin keys that several given names share (they are not used for lookup)."""
    lookup, names = _given()
    out: dict[str, list[str]] = {}
    for key, id_ in lookup.by_key.items():
        if id_ is None:
            out[key] = sorted(n for n, g in names.items() if any(latin_key(v) == key for v in g.variants))
    return out


# --- column forms ------------------------------------------------------------------------------


def given_name_id_series(values: pd.Series) -> pd.Series:
    return map_unique(values, given_name_id)


def given_name_key_series(values: pd.Series) -> pd.Series:
    """Vectorised `given_name_key`."""
    return map_unique(values, given_name_key)


def patronymic_key_series(values: pd.Series) -> pd.Series:
    """Vectorised `patronymic_key`."""
    return map_unique(values, patronymic_key)
