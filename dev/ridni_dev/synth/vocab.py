"""Names, regions and word lists the generator draws from, loaded once.

Reused, not copied: given names (with their patronymic forms and Latin/Russian-style
variants) come from ``ridni/standardise/data/given_names.csv``; regions from
``ridni/standardise/data/regions.csv``; Latin spellings from ``translitua`` (the 2010
national standard, and the Russian international-passport table for Russian-style
spellings). Surnames (with their female forms) and the small word lists are the
generator's own, in ``ridni/synth/data/``.
"""

from __future__ import annotations

import csv
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import translitua

from ridni.standardise import given_names as given_names_table
from ridni.standardise import regions as regions_table

SYNTH_DATA = Path(__file__).resolve().parent / "data"

_RU_ENDINGS = (("ський", "ский"), ("цький", "цкий"), ("зький", "зкий"), ("ська", "ская"), ("цька", "цкая"),
               ("зька", "зкая"))
_RU_LETTERS = str.maketrans({"і": "и", "І": "И", "ї": "и", "Ї": "И", "є": "е", "Є": "Е", "ґ": "г", "Ґ": "Г",
                             "'": "ь"})
_RU_PATRONYMIC = {"Илья": ("Ильич", "Ильинична"), "Лука": ("Лукич", "Лукинична"), "Кузьма": ("Кузьмич", "Кузьминична"),
                  "Фома": ("Фомич", "Фоминична"), "Никита": ("Никитич", "Никитична"), "Лев": ("Львович", "Львовна"),
                  "Павел": ("Павлович", "Павловна"), "Пётр": ("Петрович", "Петровна"),
                  "Петр": ("Петрович", "Петровна"), "Яков": ("Яковлевич", "Яковлевна"),
                  "Михаил": ("Михайлович", "Михайловна")}


def latin_national(text: str) -> str:
    """Cyrillic -> Latin by the Ukrainian national standard (CMU resolution 55 of 2010)."""
    return translitua.translit(text, translitua.UkrainianKMU)


def latin_russian(text: str) -> str:
    """Russian Cyrillic -> Latin the way Russian-issued documents spell it (Aleksandr, Sergey)."""
    return translitua.translit(text, translitua.RussianInternationalPassport1997)


def russify_surname(surname: str) -> str:
    """A Ukrainian surname as a Russian clerk would write it (Ковальський -> Ковальский, Д'яченко -> Дьяченко)."""
    for uk, ru in _RU_ENDINGS:
        if surname.endswith(uk):
            surname = surname[: -len(uk)] + ru
            break
    return surname.translate(_RU_LETTERS)


def russian_patronymic(father_ru: str, male: bool) -> str:
    """Russian patronymic from the Russian form of the father's name (Сергей -> Сергеевич / Сергеевна)."""
    if father_ru in _RU_PATRONYMIC:
        return _RU_PATRONYMIC[father_ru][0 if male else 1]
    if father_ru.endswith("ий"):
        stem, m, f = father_ru[:-2], "ьевич", "ьевна"
    elif father_ru.endswith(("ей", "ай", "ой")):
        stem, m, f = father_ru[:-1], "евич", "евна"
    elif father_ru.endswith("ь"):
        stem, m, f = father_ru[:-1], "евич", "евна"
    elif father_ru.endswith(("а", "я")):
        stem, m, f = father_ru[:-1], "ич", "ична"
    elif father_ru.endswith("о"):
        stem, m, f = father_ru[:-1], "ович", "овна"
    else:
        stem, m, f = father_ru, "ович", "овна"
    return stem + (m if male else f)


# The surnames of surnames.csv are the head of the distribution; the tail (tail_surnames) holds the rest.
# A real population's commonest surname is well under 1% of it: a handful of names carrying a large
# share would make namesakes (and so linkage) far harder than in life.
HEAD_SHARE = 0.25


def _suffixed(root: str, suffix: str) -> str:
    """``root`` + a surname suffix, with the softening Ukrainian spelling needs (Коваль -> Коваленко,
    Ковалюк; Гордій -> Гордієнко, Гордіюк)."""
    soft = root.endswith(("ь", "й"))
    stem = root[:-1] if soft else root
    if suffix == "енко":
        return stem + ("єнко" if root.endswith("й") else "енко")
    if suffix == "юк":
        hard = stem.endswith(("ч", "ш", "щ", "ж", "б", "п", "в", "м", "ф", "к", "г", "х", "ц"))
        return stem + ("ук" if hard and not soft else ("юк" if soft or not hard else "ук"))
    if suffix == "чук":
        return root + "чук"
    return stem + suffix


def tail_surnames(roots: dict) -> list[tuple[str, str]]:
    """(male, female) surnames formed from ``surname_roots.json``: patronymic-style roots with -енко,
    -юк/-ук, -ишин, -ів (and -чук after a vowel and н, or ль), place roots with -ський/-цький, and compounds
    (Білоус, Кривоніс)."""
    out: list[tuple[str, str]] = []
    for root in roots["patronymic_roots"]:
        vowel_n = root.endswith("н") and root[-2] in "аеиіоуя"
        suffixes = ["енко", "юк", "ишин", "ів"] + (["чук"] if vowel_n or root.endswith("ль") else [])
        out += [(_suffixed(root, s),) * 2 for s in suffixes]
    for root in roots["place_roots"]:
        m = root + ("ький" if root.endswith("ц") else "ський")
        out.append((m, m[:-2] + "а"))
    out += [(head + tail,) * 2 for head in roots["compound_heads"] for tail in roots["compound_tails"]]
    return list(dict.fromkeys(out))


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split("|") if v.strip())


@dataclass(frozen=True)
class Vocab:
    # surnames
    surname_m: np.ndarray
    surname_f: np.ndarray
    surname_weight: np.ndarray
    # given names, by sex: arrays of the Ukrainian form and variants
    first_m: np.ndarray
    first_f: np.ndarray
    first_m_weight: np.ndarray
    first_f_weight: np.ndarray
    # fathers (male names that have patronymic forms)
    father_patronymic_m: np.ndarray
    father_patronymic_f: np.ndarray
    father_ru: np.ndarray
    father_weight: np.ndarray
    # per Ukrainian given name: variants
    given_latin: dict[str, str]
    given_ru: dict[str, str]
    given_latin_ru: dict[str, tuple[str, ...]]
    given_english: dict[str, tuple[str, ...]]
    given_uk_variants: dict[str, tuple[str, ...]]
    # regions
    region_codes: np.ndarray
    region_uk: dict[str, str]
    region_en: dict[str, str]
    region_latin_aliases: dict[str, tuple[str, ...]]
    words: dict

    def settlements(self, code: str) -> list[str]:
        return self.words["settlements"].get(code) or [self.region_uk[code]]


def _zipf(n: int, s: float = 0.75, shift: float = 4.0) -> np.ndarray:
    return 1.0 / (np.arange(n) + shift) ** s


@functools.cache
def load() -> Vocab:
    with open(SYNTH_DATA / "surnames.csv", encoding="utf-8", newline="") as f:
        surnames = list(csv.DictReader(f))
    head = {s["surname_m"] for s in surnames}
    tail = [t for t in tail_surnames(json.loads((SYNTH_DATA / "surname_roots.json").read_text(encoding="utf-8")))
            if t[0] not in head]
    head_weight = np.array([float(s["weight"]) for s in surnames])
    tail_weight = _zipf(len(tail), s=0.6, shift=60.0)
    # the tail's forms in a fixed shuffled order, so their frequency does not follow the roots' order
    tail = [tail[i] for i in np.random.default_rng(0).permutation(len(tail))]
    with open(given_names_table.DATA, encoding="utf-8", newline="") as f:
        given = [row for row in csv.DictReader(f) if row.get("uk")]
    with open(regions_table.DATA, encoding="utf-8", newline="") as f:
        regions = list(csv.DictReader(f))
    words = json.loads((SYNTH_DATA / "vocabulary.json").read_text(encoding="utf-8"))

    males = [g for g in given if g["sex"] == "M"]
    females = [g for g in given if g["sex"] == "F"]
    fathers = [g for g in males if g.get("patronymic_m") and g.get("patronymic_f")]
    if len(males) < 20 or len(females) < 20 or len(fathers) < 20:
        raise RuntimeError("given_names.csv has too few names for the generator")

    def ru_of(g: dict) -> str:
        return g.get("ru") or g["uk"]

    return Vocab(
        surname_m=np.array([s["surname_m"] for s in surnames] + [m for m, _ in tail], dtype=object),
        surname_f=np.array([s["surname_f"] for s in surnames] + [f for _, f in tail], dtype=object),
        surname_weight=np.concatenate([HEAD_SHARE * head_weight / head_weight.sum(),
                                       (1 - HEAD_SHARE) * tail_weight / tail_weight.sum()]),
        first_m=np.array([g["uk"] for g in males], dtype=object),
        first_f=np.array([g["uk"] for g in females], dtype=object),
        first_m_weight=_zipf(len(males)),
        first_f_weight=_zipf(len(females)),
        father_patronymic_m=np.array([g["patronymic_m"] for g in fathers], dtype=object),
        father_patronymic_f=np.array([g["patronymic_f"] for g in fathers], dtype=object),
        father_ru=np.array([ru_of(g) for g in fathers], dtype=object),
        father_weight=_zipf(len(fathers)),
        given_latin={g["uk"]: g.get("latin_national") or latin_national(g["uk"]) for g in given},
        given_ru={g["uk"]: ru_of(g) for g in given},
        given_latin_ru={g["uk"]: _split(g.get("latin_ru", "")) or (latin_russian(ru_of(g)),) for g in given},
        given_english={g["uk"]: _split(g.get("english", "")) for g in given},
        given_uk_variants={g["uk"]: _split(g.get("uk_variants", "")) for g in given},
        region_codes=np.array([r["code"] for r in regions], dtype=object),
        region_uk={r["code"]: r["name_uk"] for r in regions},
        region_en={r["code"]: r["name_en"] for r in regions},
        region_latin_aliases={
            r["code"]: tuple(a for a in _split(r.get("aliases", ""))
                             if a.isascii() and " " not in a and "(" not in a and not a.endswith(("ka", "yna")))
            for r in regions
        },
        words=words,
    )
