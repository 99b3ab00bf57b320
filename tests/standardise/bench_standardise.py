"""Speed of the vectorised standardisation functions on 1,000,000 values (not a test; run by hand:
`PYTHONPATH=include .venv/bin/python tests/standardise/bench_standardise.py`)."""
import datetime as dt
import time

import numpy as np
import pandas as pd

from ridni.standardise import dates, given_names, names, regions, rnokpp, sex, translit

N = 1_000_000
rng = np.random.default_rng(1)
roots = ["Петренк", "Коваль", "Шевчук", "Бойк", "Ткаченк", "Кравченк", "Олійник", "Мельник", "Гаєвич", "Д’яченк",
         "Литвиненк", "Сергієнк", "Поліщук", "Юрченк", "Захарченк"]
suff = ["о", "а", "ук", "енко", "ишин", "ський", "ська", ""]
# ~60k distinct surnames, as a national population of records would have
pool = np.array([f"{r}{s}{i if i else ''}" for r in roots for s in suff for i in range(500)])
surnames = pd.Series(rng.choice(pool, N))
surnames_unique = pd.Series([f"Петренко{i}" for i in range(N)])  # worst case: every value distinct
gpool = np.array([v for g in given_names._given()[1].values() for v in g.variants])
given = pd.Series(rng.choice(gpool, N))
patr = pd.Series(rng.choice(["Олександрович", "Sergeevich", "Миколаївна", "Ivanovna", "Юрійович"], N))
start = np.datetime64("1940-01-01")
d = pd.Series((start + rng.integers(0, 30000, N).astype("timedelta64[D]")).astype(str))
d[::10] = d[::10].str[:4]
d[1::10] = d[1::10].str[:7]
d2 = d.sample(frac=1, random_state=1).reset_index(drop=True)
rpool = [a for r in regions.regions() for a in [r["code"], r["name_uk"], r["name_en"], *r["aliases"].split("|")]]
reg = pd.Series(rng.choice(rpool + ["Donetsk oblast", "Донецька область", "Atlantis"], N))
sx = pd.Series(rng.choice(["ч", "ж", "male", "female", "M", "F", None], N))
born = [dt.date(1940, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 30000, 2000)]
rn = pd.Series([rnokpp.make(born[i % 2000], bool(i % 2), i) for i in range(N)])
rn_dates = pd.Series([born[i % 2000].isoformat() for i in range(N)])

cases = [
    ("names.fold_name_series (60k distinct)", lambda: names.fold_name_series(surnames)),
    ("translit.latin_key_series (60k distinct)", lambda: translit.latin_key_series(surnames)),
    ("translit.latin_key_series (1M distinct, worst case)", lambda: translit.latin_key_series(surnames_unique)),
    ("translit.to_latin_national_series (60k distinct)", lambda: translit.to_latin_national_series(surnames)),
    ("given_names.given_name_key_series", lambda: given_names.given_name_key_series(given)),
    ("given_names.patronymic_key_series", lambda: given_names.patronymic_key_series(patr)),
    ("names.looks_swapped_series", lambda: names.looks_swapped_series(given, patr)),
    ("dates.parse_partial_date_series", lambda: dates.parse_partial_date_series(d)),
    ("dates.compare_dates_series", lambda: dates.compare_dates_series(d, d2)),
    ("dates.swap_candidate_series", lambda: dates.swap_candidate_series(d)),
    ("sex.normalise_sex_series", lambda: sex.normalise_sex_series(sx)),
    ("regions.to_iso_series", lambda: regions.to_iso_series(reg)),
    ("rnokpp.check_series (with birth date and sex)", lambda: rnokpp.check_series(rn, rn_dates, sx)),
]
given_names.given_name_key("x"), given_names.patronymic_key("x"), regions.to_iso("x")  # load tables once
for name, fn in cases:
    t = time.perf_counter()
    out = fn()
    assert len(out) == N
    print(f"{name:55s} {time.perf_counter() - t:6.2f} s")
