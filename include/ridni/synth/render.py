"""How a clerk writes a person down: the noise of each source, and date formats.

Every function takes the record keys it renders for and draws its noise from named
streams, so a record is written the same way on every night it appears.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ridni.synth.rng import Rand
from ridni.synth.vocab import Vocab

APOSTROPHES = ("'", "\u2019", "\u02bc")  # U+0027, U+2019, U+02BC: all three arrive
CP1251_APOSTROPHES = ("'", "\u2019")      # U+02BC has no place in Windows-1251
MISSING_DAY = np.int64(-(10**9))

# Letters a hurried typist confuses: neighbours on the ЙЦУКЕН keyboard and sound-alikes.
_CYR_ROWS = ("йцукенгшщзхї", "фівапролджє", "ячсмитьбю")
_LAT_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_SOUND_ALIKE = {"и": "і", "і": "и", "е": "є", "є": "е", "г": "ґ", "о": "а", "а": "о", "ї": "і", "ш": "щ", "щ": "ш",
                "y": "i", "i": "y", "k": "c", "c": "k", "v": "w", "s": "z", "z": "s"}


def _neighbours(rows: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for row in rows:
        for i, c in enumerate(row):
            out[c] = (row[i - 1] if i else "") + (row[i + 1] if i + 1 < len(row) else "")
    return out


_NEIGHBOURS = {**_neighbours(_CYR_ROWS), **_neighbours(_LAT_ROWS)}


def typo(text: str, kind_u: float, pos_u: float) -> str:
    """One typing error: a wrong letter, a dropped one, a doubled one or two swapped."""
    if not isinstance(text, str) or len(text) < 4:
        return text
    pos = 1 + int(pos_u * (len(text) - 2))
    c = text[pos]
    if not c.isalpha():
        return text
    kind = int(kind_u * 4)
    if kind == 0:
        low = c.lower()
        pool = _SOUND_ALIKE.get(low, "") + _NEIGHBOURS.get(low, "")
        if not pool:
            return text
        new = pool[int(pos_u * 997) % len(pool)]
        return text[:pos] + (new.upper() if c.isupper() else new) + text[pos + 1:]
    if kind == 1:
        return text[:pos] + text[pos + 1:]
    if kind == 2:
        return text[:pos] + c + text[pos:]
    if pos + 1 < len(text) and text[pos + 1].isalpha():
        return text[:pos] + text[pos + 1] + c + text[pos + 2:]
    return text


def apply_typos(rng: Rand, stream: str, keys: np.ndarray, values: np.ndarray, p: float) -> np.ndarray:
    out = values.copy()
    hit = np.flatnonzero(rng.u(stream, keys) < p)
    if len(hit):
        ku, pu = rng.u(stream + ".kind", keys[hit]), rng.u(stream + ".pos", keys[hit])
        out[hit] = [typo(v, a, b) for v, a, b in zip(values[hit], ku, pu, strict=True)]
    return out


def apply_apostrophes(rng: Rand, stream: str, keys: np.ndarray, columns: list[np.ndarray],
                      variants: tuple[str, ...] = APOSTROPHES) -> list[np.ndarray]:
    """Each record types the apostrophe one way, in all its name fields."""
    pick = rng.choice(stream, keys, [1.0] * len(variants))
    out = []
    for col in columns:
        s = pd.Series(col, dtype=object)
        has = s.str.contains("'", regex=False, na=False).to_numpy()
        new = col.copy()
        for i, v in enumerate(variants):
            if v == "'":
                continue
            m = has & (pick == i)
            if m.any():
                new[m] = s[m].str.replace("'", v, regex=False).to_numpy()
        out.append(new)
    return out


def cyrillic_names(rng: Rand, vocab: Vocab, source: str, keys: np.ndarray, surname: np.ndarray,
                   first: np.ndarray, patronymic: np.ndarray, *, typo_p: float, swap_p: float,
                   variant_p: float = 0.02, caps_p: float = 0.0, patronymic_missing_p: float = 0.0,
                   apostrophes: tuple[str, ...] = APOSTROPHES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three name parts as one source writes them: typos, spelling variants, swaps, apostrophes."""
    first = first.copy()
    var = np.flatnonzero(rng.u(f"{source}.variant", keys) < variant_p)
    if len(var):
        pick = rng.u(f"{source}.variant.pick", keys[var])
        for i, p in zip(var, pick, strict=True):
            options = vocab.given_uk_variants.get(first[i], ())
            if options:
                first[i] = options[int(p * len(options))]
    surname = apply_typos(rng, f"{source}.typo.surname", keys, surname, typo_p)
    first = apply_typos(rng, f"{source}.typo.first", keys, first, typo_p / 2)
    patronymic = apply_typos(rng, f"{source}.typo.patronymic", keys, patronymic, typo_p / 2)
    swap = rng.u(f"{source}.swap", keys) < swap_p
    first, patronymic = np.where(swap, patronymic, first), np.where(swap, first, patronymic)
    if patronymic_missing_p:
        patronymic = np.where(rng.u(f"{source}.no_patronymic", keys) < patronymic_missing_p, "", patronymic)
    if caps_p:
        caps = rng.u(f"{source}.caps", keys) < caps_p
        if caps.any():
            surname = surname.copy()
            surname[caps] = pd.Series(surname[caps], dtype=object).str.upper().to_numpy()
    surname, first, patronymic = apply_apostrophes(rng, f"{source}.apostrophe", keys, [surname, first, patronymic],
                                                   apostrophes)
    return surname.astype(object), first.astype(object), patronymic.astype(object)


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    y = months.astype("datetime64[Y]").astype(np.int64) + 1970
    m = months.astype(np.int64) % 12 + 1
    dd = (d - months).astype(np.int64) + 1
    return y, m, dd


def birth_days(rng: Rand, source: str, keys: np.ndarray, birth: np.ndarray, latest: np.ndarray, *,
               swap_p: float, missing_p: float, swap_allowed: np.ndarray | None = None) -> np.ndarray:
    """The birth date a record shows: day and month swapped now and then, sometimes absent.

    A swap is only made where the result is a real date not after ``latest`` (the
    disappearance), and only where ``swap_allowed`` (e.g. no RNOKPP in the record to
    contradict it).
    """
    out = birth.astype(np.int64).copy()
    y, m, d = _ymd(out)
    swap = (rng.u(f"{source}.dm_swap", keys) < swap_p) & (d <= 12) & (d != m)
    if swap_allowed is not None:
        swap &= swap_allowed
    if swap.any():
        first_of_month = ((y[swap] - 1970) * 12 + (d[swap] - 1)).astype("datetime64[M]").astype("datetime64[D]")
        swapped = (first_of_month + (m[swap] - 1)).astype(np.int64)
        ok = swapped <= latest[swap]
        idx = np.flatnonzero(swap)[ok]
        out[idx] = swapped[ok]
    out[rng.u(f"{source}.no_birth", keys) < missing_p] = MISSING_DAY
    return out


def _day_table(days: np.ndarray, style: str) -> tuple[np.ndarray, np.ndarray]:
    """Formatted strings for every day in the range of ``days`` (a few tens of thousands at most)."""
    ok = days != MISSING_DAY
    if not ok.any():
        return ok, np.full(len(days), "", dtype=object)
    lo, hi = int(days[ok].min()), int(days[ok].max())
    table = np.datetime_as_string(np.arange(lo, hi + 1).astype("datetime64[D]"), unit="D").astype(object)
    if style == "dmy":
        table = np.asarray([f"{s[8:10]}.{s[5:7]}.{s[0:4]}" for s in table], dtype=object)
    out = np.full(len(days), "", dtype=object)
    out[ok] = table[days[ok] - lo]
    return ok, out


def iso(days: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD``; empty string for a missing day."""
    return _day_table(np.asarray(days, dtype=np.int64), "iso")[1]


def dmy(days: np.ndarray) -> np.ndarray:
    """``DD.MM.YYYY``; empty string for a missing day."""
    return _day_table(np.asarray(days, dtype=np.int64), "dmy")[1]


def timestamps(days: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DDTHH:MM:SS``."""
    t = days.astype("datetime64[D]").astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    return np.datetime_as_string(t, unit="s").astype(object)
