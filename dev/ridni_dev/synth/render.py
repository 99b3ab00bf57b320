"""How a clerk writes a person down: the noise of each source, and date formats.

Every function takes the record keys it renders for and draws its noise from named
streams, so a record is written the same way on every night it appears.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ridni_dev.synth.rng import Rand
from ridni_dev.synth.vocab import Vocab

APOSTROPHES = ("'", "\u2019", "\u02bc")  # U+0027, U+2019, U+02BC: all three arrive
CP1251_APOSTROPHES = ("'", "\u2019")      # U+02BC has no place in Windows-1251
MISSING_DAY = np.int64(-(10**9))

# Letters a hurried typist confuses: neighbours on the ЙЦУКЕН keyboard and sound-alikes.
_CYR_ROWS = ("йцукенгшщзхї", "фівапролджє", "ячсмитьбю")
_LAT_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_SOUND_ALIKE = {"и": "і", "і": "и", "е": "є", "є": "е", "г": "ґ", "о": "а", "а": "о", "ї": "і", "ш": "щ", "щ": "ш",
                "y": "i", "i": "y", "k": "c", "c": "k", "v": "w", "s": "z", "z": "s"}


# Cyrillic letters with a Latin twin: what a typist (or a form that autocorrects) slips into a Cyrillic name.
LOOKALIKES = str.maketrans("аеорсухіКМНТВАЕОРСХІ", "aeopcyxiKMHTBAEOPCXI")


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


def lookalike(text: str, pick_u: float) -> str:
    """``text`` with some of its look-alike letters typed in Latin (about half, at least one)."""
    if not isinstance(text, str):
        return text
    spots = [i for i, c in enumerate(text) if c.translate(LOOKALIKES) != c]
    if not spots:
        return text
    # which letters: a deterministic pattern drawn from one number (bit i of it says letter i)
    bits = int(pick_u * (1 << 30)) | 1
    chosen = {spots[i] for i in range(len(spots)) if bits >> (i % 30) & 1} or {spots[0]}
    return "".join(c.translate(LOOKALIKES) if i in chosen else c for i, c in enumerate(text))


def apply_lookalikes(rng: Rand, stream: str, keys: np.ndarray, columns: list[np.ndarray], p: float
                     ) -> tuple[list[np.ndarray], np.ndarray]:
    """A share ``p`` of records gets Latin look-alike letters in every name part; returns (columns, hit)."""
    hit = rng.u(stream, keys) < p
    out = []
    for n, col in enumerate(columns):
        new = np.asarray(col, dtype=object).copy()
        idx = np.flatnonzero(hit)
        if len(idx):
            picks = rng.u(f"{stream}.{n}", keys[idx])
            new[idx] = [lookalike(v, u) for v, u in zip(new[idx], picks, strict=True)]
        out.append(new)
    return out, hit


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
                   apostrophes: tuple[str, ...] = APOSTROPHES, lookalike_p: float = 0.0,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three name parts as one source writes them: typos, spelling variants, swaps, apostrophes, Latin
    look-alike letters."""
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
    if lookalike_p:
        (surname, first, patronymic), _ = apply_lookalikes(rng, f"{source}.lookalike", keys,
                                                           [surname, first, patronymic], lookalike_p)
    return surname.astype(object), first.astype(object), patronymic.astype(object)


def rnokpp_typos(rng: Rand, stream: str, keys: np.ndarray, values: np.ndarray, *, typo_p: float,
                 short_p: float) -> np.ndarray:
    """RNOKPPs as typed: one digit mistyped (the check digit then fails, but for one time in ten), or the
    last digit left off. Empty values stay empty."""
    out = np.asarray(values, dtype=object).copy()
    present = np.asarray([isinstance(v, str) and len(v) == 10 for v in out])
    u = rng.u(stream, keys)
    typo = present & (u < typo_p)
    short = present & (u >= typo_p) & (u < typo_p + short_p)
    if typo.any():
        pos = rng.integers(f"{stream}.pos", keys[typo], 0, 9)
        step = rng.integers(f"{stream}.step", keys[typo], 1, 10)
        out[typo] = [v[:i] + str((int(v[i]) + k) % 10) + v[i + 1:] for v, i, k in zip(out[typo], pos, step,
                                                                                        strict=True)]
    out[short] = [v[:9] for v in out[short]]
    return out


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    y = months.astype("datetime64[Y]").astype(np.int64) + 1970
    m = months.astype(np.int64) % 12 + 1
    dd = (d - months).astype(np.int64) + 1
    return y, m, dd


def birth_days(rng: Rand, source: str, keys: np.ndarray, birth: np.ndarray, latest: np.ndarray, *,
               swap_p: float, missing_p: float, swap_allowed: np.ndarray | None = None,
               swap_p_otherwise: float = 0.0, typo_p: float = 0.0) -> np.ndarray:
    """The birth date a record shows: day and month swapped now and then, a mistyped digit, sometimes absent.

    A swap or a typo is only made where the result is a real date not after ``latest`` (the
    disappearance). Where ``swap_allowed`` is false (a record whose RNOKPP would contradict the
    swap) the swap rate is ``swap_p_otherwise`` instead: the clerical error a typo flag catches.
    A typo changes one digit of the day (13 -> 18) or swaps the year's last two digits (1985 -> 1958).
    """
    out = birth.astype(np.int64).copy()
    y, m, d = _ymd(out)
    p = swap_p if swap_allowed is None else np.where(swap_allowed, swap_p, swap_p_otherwise)
    swap = (rng.u(f"{source}.dm_swap", keys) < p) & (d <= 12) & (d != m)
    if swap.any():
        _replace(out, swap, _date_days(y[swap], d[swap], m[swap]), latest)
    if typo_p:
        typo = (rng.u(f"{source}.birth_typo", keys) < typo_p) & ~swap
        kind = rng.u(f"{source}.birth_typo.kind", keys) < 0.8
        day_typo = typo & kind
        new_day = np.where(d % 10 < 5, d + 5, d - 5)  # a 3 for an 8 and back: the digit a hurried hand swaps
        _replace(out, day_typo, _date_days(y[day_typo], m[day_typo], np.clip(new_day[day_typo], 1, 28)), latest)
        flipped = y - y % 100 + (y % 10) * 10 + (y // 10) % 10
        year_typo = typo & ~kind & (flipped != y) & (flipped >= 1930)  # (no one made 110 years old by it)
        _replace(out, year_typo, _date_days(flipped[year_typo], m[year_typo], d[year_typo]), latest)
    out[rng.u(f"{source}.no_birth", keys) < missing_p] = MISSING_DAY
    return out


def _date_days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Day numbers of (year, month, day); a day past the month's end rolls into the next month."""
    first_of_month = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]").astype("datetime64[D]")
    return (first_of_month + (d - 1)).astype(np.int64)


def _replace(out: np.ndarray, where: np.ndarray, days: np.ndarray, latest: np.ndarray) -> None:
    """``out[where] = days`` for the days not after ``latest`` (a birth date after the disappearance is no typo
    a clerk lets through)."""
    ok = days <= latest[where]
    out[np.flatnonzero(where)[ok]] = days[ok]


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
