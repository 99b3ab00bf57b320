"""Sex as `M` / `F`, whatever the source wrote.

Why: the police write `ч`/`ж`, the register `M`/`F`, the headquarters `male`/`female`, forms say
`чоловіча`/`жіноча`, and Russian-language lists `муж`/`жен`. A value not in the table is
None, never a guess (numeric codes like 1/2 mean different things in different systems).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ridni.standardise._vector import is_missing, map_unique

_MALE = """m м ч male man men masculine boy чоловіча чоловічий чоловік чол чол. хлопчик
    мужской мужчина муж муж. мальчик"""
_FEMALE = """f ж w female woman women feminine girl жіноча жіночий жінка жін жін. дівчинка
    женский женщина жен жен. девочка"""

SEX_MAP: dict[str, str] = {**dict.fromkeys(_MALE.split(), "M"), **dict.fromkeys(_FEMALE.split(), "F")}


def normalise_sex(value: Any) -> str | None:
    """`ч`, `male`, `M`, `чоловіча` -> `M`; `ж`, `female`, `F`, `жіноча` -> `F`; anything else None."""
    if is_missing(value):
        return None
    return SEX_MAP.get(" ".join(str(value).split()).casefold())


def normalise_sex_series(values: pd.Series) -> pd.Series:
    """Vectorised `normalise_sex` (object dtype, None for unknown)."""
    return map_unique(values, normalise_sex)
