"""Name parts as sources deliver them, made comparable.

Why: the same person's name arrives with different case, stray spaces, three different
apostrophes (U+0027, U+2019, U+02BC: Мар'яна), dashes instead of hyphens in double-barrelled
surnames, Latin look-alike letters typed into Cyrillic words (Latin `i` in `Iван`), SBU's one
field `ПІБ` (SURNAME in capitals, then first name and patronymic), and first name and
patronymic swapped between fields. Each rule here is one small function; the `_series` forms
run them over whole columns for linkage.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, NamedTuple

import pandas as pd

from ridni.standardise._vector import is_missing, map_unique

APOSTROPHE = "'"
# U+0027 is the canonical form; U+2019 and U+02BC are the two other forms sources send; the rest
# are what keyboards produce when someone types an apostrophe by hand.
APOSTROPHES = "'\u2019\u02bc\u2018\u0060\u00b4\u02b9\u02bb\u2032"
HYPHENS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad"

_TRANSLATE = str.maketrans({**{c: APOSTROPHE for c in APOSTROPHES}, **{c: "-" for c in HYPHENS}})
_AROUND_HYPHEN = re.compile(r"\s*-\s*")
_AROUND_APOSTROPHE = re.compile(r"\s*'\s*")

# Latin letters that look like Cyrillic ones, and back.
_LOOK_LAT, _LOOK_CYR = "aceikopxyABCEHIKMOPTXYï", "асеікорхуАВСЕНІКМОРТХУї"
_LAT_TO_CYR = str.maketrans(_LOOK_LAT, _LOOK_CYR)
_CYR_TO_LAT = str.maketrans(_LOOK_CYR, _LOOK_LAT)


_CYR = re.compile("[\u0400-\u04ff]")
_LAT = re.compile("[A-Za-z\u00c0-\u024f]")


def has_cyrillic(text: str) -> bool:
    return _CYR.search(text) is not None


def _unique_letters(text: str) -> tuple[bool, bool]:
    """Whether ``text`` has Cyrillic letters without a Latin twin (Л, я, м), and Latin ones without a
    Cyrillic twin (l, n, s): those say which script a word is written in."""
    return (any(c not in _LOOK_CYR and _CYR.match(c) is not None for c in text),
            any(c not in _LOOK_LAT and _LAT.match(c) is not None for c in text))


def _script(text: str) -> str | None:
    cyr, lat = _unique_letters(text)
    return None if cyr == lat else ("cyr" if cyr else "lat")


def fix_mixed_script(word: str, context: str | None = None) -> str:
    """A word typed with look-alike letters of the other script, rewritten in its own script.

    The script is the one of the word's letters that exist in one script only (Latin ``C``, ``O``, ``K``
    in ``COKОЛ`` become Cyrillic: Л has no Latin twin). A word made of look-alikes alone takes the
    script of ``context`` (the value's other words), else its majority; so does a word of one script
    in a ``context`` of the other (``OKCAHA Петренко``). Letters of both kinds without a twin: left as is.
    """
    cyr = sum(1 for c in word if _CYR.match(c))
    lat = sum(1 for c in word if _LAT.match(c))
    cyr_only, lat_only = _unique_letters(word)
    if cyr_only and lat_only or not (cyr or lat):
        return word
    if cyr_only or lat_only:
        script = "cyr" if cyr_only else "lat"
    else:
        script = _script(context or "") or (None if not (cyr and lat) else "cyr" if cyr >= lat else "lat")
    if script is None:
        return word
    return word.translate(_LAT_TO_CYR if script == "cyr" else _CYR_TO_LAT)


def clean_name(value: Any) -> str | None:
    """Unicode NFC, one apostrophe (U+0027), one hyphen, single spaces, script look-alikes fixed.

    Case is kept; `None` for missing or blank values.
    """
    if is_missing(value):
        return None
    s = unicodedata.normalize("NFC", str(value)).translate(_TRANSLATE)
    s = " ".join(s.split()).strip(" -',")
    if "-" in s:
        s = _AROUND_HYPHEN.sub("-", s)
    if APOSTROPHE in s:
        s = _AROUND_APOSTROPHE.sub(APOSTROPHE, s)
    if _CYR.search(s) and _LAT.search(s):
        words = s.split(" ")
        s = " ".join(fix_mixed_script(w, " ".join(words[:i] + words[i + 1:])) for i, w in enumerate(words))
    return s or None


def fold_name(value: Any) -> str | None:
    """`clean_name` then case folding: the form to compare names in the same script."""
    s = clean_name(value)
    return s.casefold() if s else None


def display_case(value: Any) -> str | None:
    """`ПЕТРЕНКО-КОВАЛЬ` -> `Петренко-Коваль`, `д'яченко` -> `Д'яченко` (capital after space or hyphen only)."""
    s = clean_name(value)
    if not s:
        return None
    return re.sub(r"(^|[ -])(\w)", lambda m: m.group(1) + m.group(2).upper(), s.lower())


# --- patronymics --------------------------------------------------------------------------

_PATRONYMIC_CYR = re.compile(
    r"\w{2,}(ович|евич|євич|ьович|йович|івна|ївна|овна|евна|ьовна|ьєвна|ична|інична|инична)$"
)
_PATRONYMIC_LAT = re.compile(
    r"[a-z]{2,}(ovych|evych|ovich|evich|ovitch|evitch|ovytch|ivna|yivna|ovna|evna|ichna|inichna)$"
)
# Patronymics in -ич from names ending in -а/-я (Ілля -> Ілліч, Кузьма -> Кузьмич): listed, because
# a bare -ич ending is also a common surname ending.
_PATRONYMIC_ICH = frozenset(
    "ілліч ільїч ильич кузьмич лукич хомич фомич микитич никитич "
    "illich ilich ilyich ilich kuzmych kuzmich lukych lukich khomych fomich mykytych nikitich".split()
)


def is_patronymic(value: Any) -> bool:
    """True when the word has a patronymic ending (-ович, -евич, -івна, -ївна, -овна, ...; -ovych, -ivna, -ovich, -ovna, ...)."""
    s = fold_name(value)
    if not s or " " in s:
        return False
    s = s.replace(APOSTROPHE, "")
    if s in _PATRONYMIC_ICH:
        return True
    return bool(_PATRONYMIC_CYR.fullmatch(s) or _PATRONYMIC_LAT.fullmatch(s))


def patronymic_sex(value: Any) -> str | None:
    """`M` for a son's patronymic, `F` for a daughter's, `None` when the word is not a patronymic."""
    if not is_patronymic(value):
        return None
    s = fold_name(value) or ""
    return "F" if s.endswith(("на", "na")) else "M"


def looks_swapped(first_name: Any, patronymic: Any) -> bool:
    """True when the first-name field holds a patronymic and the patronymic field does not."""
    return is_patronymic(first_name) and not is_patronymic(patronymic)


def unswap(first_name: Any, patronymic: Any) -> tuple[Any, Any, bool]:
    """(first_name, patronymic, swapped): the two fields put back in place when `looks_swapped`."""
    if looks_swapped(first_name, patronymic):
        return patronymic, first_name, True
    return first_name, patronymic, False


# --- SBU's one-field full name --------------------------------------------------------------


class NameParts(NamedTuple):
    surname: str | None
    first_name: str | None
    patronymic: str | None


def _is_caps(token: str) -> bool:
    letters = [c for c in token if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def split_full_name(value: Any) -> NameParts:
    """Split `ПІБ` (`ПЕТРЕНКО Олександр Миколайович`) into surname, first name and patronymic.

    The surname is the word(s) in capitals wherever they stand. When case tells nothing
    (all capitals or none), the order is surname, first name, patronymic, unless the
    patronymic ending shows `first name, patronymic, surname`. Parts come back in display case.
    """
    s = clean_name(value)
    if not s:
        return NameParts(None, None, None)
    tokens = [t for t in s.replace(",", " ").replace(".", ". ").split(" ") if t]  # О.М. -> О. М.
    caps = [_is_caps(t) for t in tokens]
    if any(caps) and not all(caps):
        surname = " ".join(t for t, c in zip(tokens, caps, strict=True) if c)
        rest = [t for t, c in zip(tokens, caps, strict=True) if not c]
    elif len(tokens) == 3 and not is_patronymic(tokens[2]) and is_patronymic(tokens[1]):
        surname, rest = tokens[2], tokens[:2]
    elif len(tokens) > 3 and is_patronymic(tokens[-1]):
        surname, rest = " ".join(tokens[:-2]), tokens[-2:]
    else:
        surname, rest = tokens[0], tokens[1:]
    first = rest[0] if rest else None
    patronymic = " ".join(rest[1:]) or None
    return NameParts(display_case(surname), display_case(first), display_case(patronymic))


# --- column forms ------------------------------------------------------------------------------


def clean_name_series(values: pd.Series) -> pd.Series:
    return map_unique(values, clean_name)


def fold_name_series(values: pd.Series) -> pd.Series:
    return map_unique(values, fold_name)


def is_patronymic_series(values: pd.Series) -> pd.Series:
    return map_unique(values, is_patronymic).fillna(False).astype(bool)


def looks_swapped_series(first_name: pd.Series, patronymic: pd.Series) -> pd.Series:
    """Vectorised `looks_swapped`."""
    return is_patronymic_series(first_name) & ~is_patronymic_series(patronymic)


def lookalikes_to_record_script(parts: list[pd.Series]) -> list[pd.Series]:
    """Name parts typed wholly in Latin look-alike letters (``Tapac``) in a record whose other parts are
    Cyrillic, rewritten in Cyrillic; a part that mixes both scripts is ``fix_mixed_script``'s (word by word).
    A record of Latin names (ICRC's) is left as it is."""
    unique_cyr = f"[^\\W\\d_{_LOOK_CYR}A-Za-z\u00c0-\u024f]"
    cyrillic = pd.Series(False, index=parts[0].index)
    for part in parts:
        cyrillic |= part.astype("string").str.contains(unique_cyr, regex=True).fillna(False).astype(bool)
    out = []
    for part in parts:
        text = part.astype("string")
        latin = text.str.fullmatch(f"[{_LOOK_LAT}'\u2019\u02bc -]*[{_LOOK_LAT}][{_LOOK_LAT}'\u2019\u02bc -]*")
        hit = (latin.fillna(False).astype(bool) & cyrillic).to_numpy()
        out.append(part.where(~hit, text.str.translate(_LAT_TO_CYR).astype(object)) if hit.any() else part)
    return out


def split_full_name_series(values: pd.Series) -> pd.DataFrame:
    """Vectorised `split_full_name`: a frame with columns surname, first_name, patronymic."""
    parts = map_unique(values, split_full_name)
    empty = NameParts(None, None, None)
    rows = [p if p is not None else empty for p in parts]
    return pd.DataFrame(rows, index=values.index, columns=list(NameParts._fields), dtype=object)
