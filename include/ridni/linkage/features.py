"""Standardised matching features of source records, built column-wise with ``ridni.standardise``.

Names meet across scripts through Latin keys (``latin_key``) and given-name and patronymic ids
(Олександр / Oleksandr / Aleksandr -> one id); swapped first name and patronymic are put back;
SBU's one-field name is split; birth dates keep their precision (a year-only date is never given a day).
"""

from __future__ import annotations

import pandas as pd

from ridni.standardise.dates import parse_partial_date_series
from ridni.standardise.given_names import given_name_key_series, patronymic_key_series
from ridni.standardise.names import looks_swapped_series, split_full_name_series
from ridni.standardise.regions import to_iso_series
from ridni.standardise.rnokpp import check_series
from ridni.standardise.sex import normalise_sex_series
from ridni.standardise.translit import latin_key_series

FEATURE_COLUMNS = [
    "source_id", "record_key", "surname_key", "first_key", "first_lat", "patronymic_key",
    "patronymic_lat", "birth_date", "birth_year", "birth_month", "birth_day", "birth_precision", "sex", "region",
    "rnokpp", "service_no", "appeal_refs",
]


def build_features(records: pd.DataFrame) -> pd.DataFrame:
    r = records.reset_index(drop=True)
    split = split_full_name_series(r["full_name"])
    surname = r["surname"].fillna(split["surname"])
    first = r["first_name"].fillna(split["first_name"])
    patronymic = r["patronymic"].fillna(split["patronymic"])
    swapped = looks_swapped_series(first, patronymic).fillna(False).astype(bool)
    first, patronymic = first.where(~swapped, patronymic), patronymic.where(~swapped, first)

    birth = parse_partial_date_series(r["birth_date"])
    start = birth["start"]
    day = birth["precision"] == "day"
    rnokpp = r["rnokpp"].astype("string").str.strip()
    # exactly ten digits with a correct check digit (vectorised: half a million numbers a night)
    ten = rnokpp.str.fullmatch(r"\d{10}").fillna(False).astype(bool).to_numpy()
    valid = pd.Series(False, index=r.index)
    valid[ten] = check_series(rnokpp[ten])["valid"].to_numpy()

    out = pd.DataFrame({
        "source_id": r["source_id"],
        "record_key": r["record_key"],
        "surname_key": latin_key_series(surname),
        "first_key": given_name_key_series(first),
        "first_lat": latin_key_series(first),
        "patronymic_key": patronymic_key_series(patronymic),
        "patronymic_lat": latin_key_series(patronymic),
        "birth_date": start.dt.strftime("%Y-%m-%d").where(day),
        "birth_year": start.dt.year.astype("Int64"),
        "birth_month": start.dt.month.astype("Int64").where(birth["precision"].isin(["day", "month"])),
        "birth_day": start.dt.day.astype("Int64").where(day),
        "birth_precision": birth["precision"],
        "sex": normalise_sex_series(r["sex"]),
        "region": to_iso_series(r["region"]),
        "rnokpp": rnokpp.where(valid),
        "service_no": r["service_no"].astype("string").str.strip().replace("", pd.NA),
        "appeal_refs": r["appeal_refs"],
    })
    return out[FEATURE_COLUMNS]
