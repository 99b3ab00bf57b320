"""Cyrillic to Latin, and a Latin key on which both spellings of a name meet.

Why: ICRC lists carry names in Latin only, transliterated inconsistently: by the Ukrainian
national standard (Cabinet of Ministers resolution No. 55 of 27 January 2010: Oleksandr,
Serhii, Mykolaiv) or Russian-style (Aleksandr, Sergey, Nikolaev). To link them to Cyrillic
records we need (1) the official transliteration, done by `translitua` (its KMU 2010 table
handles the position-dependent є, ї, й, ю, я, зг -> zgh and the apostrophe), (2) a
Russian-style transliteration, and (3) `latin_key`, a phonetic-ish normal form on which the
national and Russian-style spellings of one surname collide (kh/h/g, y/i/yi/j, ye/e, iu/yu,
ia/ya, doubled letters, final -ii/-iy/-yi, ...). Given names and patronymics go through the
equivalence table in `given_names` instead; this module is for everything else.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pandas as pd
from translitua import RussianInternationalPassport1997, UkrainianKMU, translit

from ridni.standardise._vector import map_unique
from ridni.standardise.names import clean_name, has_cyrillic

# Letters of Russian Cyrillic that Ukrainian lacks, as a Ukrainian would write them, so the
# national table (which leaves them untouched) still gives Latin.
_RUSSIAN_LETTERS_TO_UK = str.maketrans({"ы": "и", "Ы": "И", "э": "е", "Э": "Е", "ъ": "'", "Ъ": "'"})
_YO = re.compile("[ёЁ]")

# Ukrainian letters as a Russian speaker spells them, before a Russian passport-style table.
_UK_TO_RU = str.maketrans({
    "і": "и", "І": "И", "ї": "йи", "Ї": "Йи", "є": "е", "Є": "Е", "ґ": "г", "Ґ": "Г", "'": "ь",
})


def _national(s: str) -> str:
    if "ё" in s or "Ё" in s:
        s = _YO.sub(lambda m: "Йо" if m.group(0).isupper() else "йо", s)
    return translit(s.translate(_RUSSIAN_LETTERS_TO_UK), UkrainianKMU)


def to_latin_national(value: Any) -> str | None:
    """Transliteration by the Ukrainian national standard of 2010 (`Знам'янка` -> `Znamianka`)."""
    s = clean_name(value)
    return _national(s) if s else None


def to_latin_russian(value: Any) -> str | None:
    """Russian-style transliteration (Russian international-passport table, 1997), for Ukrainian or
    Russian Cyrillic: `Микола Гаєвич` -> `Mikola Gaevich`, `Сергей` -> `Sergey`."""
    s = clean_name(value)
    if not s:
        return None
    return translit(s.translate(_UK_TO_RU), RussianInternationalPassport1997).replace("'", "")


# --- the matching key ---------------------------------------------------------------------

# Spellings of one sound, replaced in this order (longer ones first). Upper-case letters are
# placeholders (W shch, Z zh, H kh/h/g, Q ch, X sh, C ts) so that later steps do not split them.
_KEY_REPLACE = (
    ("shtch", "W"), ("chtch", "W"), ("shch", "W"), ("szcz", "W"), ("tsch", "Q"), ("sch", "W"), ("tch", "Q"),
    ("zh", "Z"), ("ph", "f"), ("th", "t"), ("kh", "H"), ("ch", "Q"), ("cz", "Q"), ("sh", "X"), ("sz", "X"),
    ("ts", "C"), ("tz", "C"), ("ck", "k"), ("x", "ks"),
    ("g", "H"), ("h", "H"), ("c", "k"), ("q", "k"), ("w", "v"), ("j", "i"), ("y", "i"),
)
_NOT_LETTER = re.compile("[^a-z]+")
_DOUBLE = re.compile(r"(.)\1+")
_SKAIA = re.compile(r"skaia\b")  # Russian feminine -skaya = Ukrainian -ska
_PLACEHOLDERS = (("W", "shch"), ("Z", "zh"), ("H", "h"), ("Q", "ch"), ("X", "sh"), ("C", "ts"))


def _ascii_letters(s: str) -> str:
    if not s.isascii():
        s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    return _NOT_LETTER.sub("", s.lower())


def latin_key(value: Any) -> str | None:
    """A phonetic-ish Latin key: Cyrillic goes through the national standard first, then
    spelling variants are folded so that `Петренко`, `Petrenko`; `Гаєвич`, `Haievych`,
    `Gaevich`; `Шевчук`, `Shevchuk`, `Szewczuk`; `Ковальський`, `Kovalskiy`, `Kovalsky` meet.

    Rules: kh/h/g one letter; y/j -> i; zh, ch, sh, shch, ts in their spellings (sch, szcz, cz,
    sz, tz); x -> ks, c/q -> k, w -> v, ph -> f; doubled letters once; ie -> e (Yevhen/Evgeniy,
    Haievych/Gaevich); ei -> i (Oliinyk/Oleynik); hence final -ii/-iy/-yi/-y all -> -i; -skaya ->
    -ska. Spaces, hyphens and apostrophes are dropped. `None` when no letter is left.
    """
    s = clean_name(value)
    if not s:
        return None
    if has_cyrillic(s):
        s = _national(s)
    s = _ascii_letters(s)
    for spelling, sound in _KEY_REPLACE:
        if spelling in s:
            s = s.replace(spelling, sound)
    if _DOUBLE.search(s):
        s = _DOUBLE.sub(r"\1", s)
    if "ie" in s or "ei" in s:
        s = s.replace("ie", "e").replace("ei", "i")
        s = _DOUBLE.sub(r"\1", s)
    if "skaia" in s:
        s = _SKAIA.sub("ska", s)
    if not s.islower():
        for placeholder, spelling in _PLACEHOLDERS:
            s = s.replace(placeholder, spelling)
    return s or None


# --- column forms ------------------------------------------------------------------------------


def to_latin_national_series(values: pd.Series) -> pd.Series:
    return map_unique(values, to_latin_national)


def to_latin_russian_series(values: pd.Series) -> pd.Series:
    return map_unique(values, to_latin_russian)


def latin_key_series(values: pd.Series) -> pd.Series:
    """Vectorised `latin_key` (one computation per distinct value)."""
    return map_unique(values, latin_key)
