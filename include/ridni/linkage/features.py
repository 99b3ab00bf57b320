"""Standardised matching features of source records, built column-wise with ``ridni.standardise``.

Names meet across scripts through Latin keys (``latin_key``) and given-name and patronymic ids
(Олександр / Oleksandr / Aleksandr -> one id); swapped first name and patronymic are put back;
SBU's one-field name is split; birth dates keep their precision (a year-only date is never given a day).
Beside the stated birth date each record carries the date its RNOKPP encodes (``rnokpp_birth_date``),
so a typo in either never hides a match; ``person_type`` is who the source says the person is (for
the ICRC, what its status implies: a prisoner of war is a servicemember, an internee a civilian).
"""

from __future__ import annotations

import pandas as pd

from ridni.standardise.dates import parse_partial_date_series
from ridni.standardise.given_names import given_name_key_series, patronymic_key_series
from ridni.standardise.names import lookalikes_to_record_script, looks_swapped_series, split_full_name_series
from ridni.standardise.regions import to_iso_series
from ridni.standardise.rnokpp import birth_date_series, check_series
from ridni.standardise.sex import normalise_sex_series
from ridni.standardise.translit import latin_key_series

FEATURE_COLUMNS = [
    "source_id", "record_key", "surname_key", "first_key", "first_lat", "patronymic_key",
    "patronymic_lat", "birth_date", "birth_year", "birth_month", "birth_day", "birth_precision", "rnokpp_birth_date",
    "sex", "region", "person_type", "rnokpp", "service_no", "appeal_refs",
]
# What an ICRC status says about who the person is (its records have no person type of their own).
ICRC_PERSON_TYPE = {"pow": "military", "civilian_internee": "civilian"}


def build_features(records: pd.DataFrame) -> pd.DataFrame:
    r = records.reset_index(drop=True)
    split = split_full_name_series(r["full_name"])
    surname = r["surname"].fillna(split["surname"])
    first = r["first_name"].fillna(split["first_name"])
    patronymic = r["patronymic"].fillna(split["patronymic"])
    surname, first, patronymic = lookalikes_to_record_script([surname, first, patronymic])
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
    encoded = birth_date_series(rnokpp.where(valid))
    person_type = _column(r, "person_type")
    icrc = r["source_id"] == "icrc_confirmations"
    person_type = person_type.where(~icrc, _column(r, "status").map(ICRC_PERSON_TYPE))

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
        "rnokpp_birth_date": encoded,
        "sex": normalise_sex_series(r["sex"]),
        "region": to_iso_series(r["region"]),
        "person_type": person_type,
        "rnokpp": rnokpp.where(valid),
        "service_no": r["service_no"].astype("string").str.strip().replace("", pd.NA),
        "appeal_refs": r["appeal_refs"],
    })
    return out[FEATURE_COLUMNS]


def _column(records: pd.DataFrame, name: str) -> pd.Series:
    """A source column, or nothing when the records do not carry it (e.g. FEBRL's)."""
    return records[name] if name in records else pd.Series(None, index=records.index, dtype=object)

