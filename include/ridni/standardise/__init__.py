"""Standardisation of source values: names, scripts, dates, sex, regions, RNOKPP.

One concern per module, each rule a small tested function with a `_series` form for whole
columns (the linkage stage runs them on ~1M records):

- `names`: cleaning (case, spaces, hyphens, the three apostrophes), SBU's one-field `ПІБ`
  split, first name / patronymic swap detection;
- `translit`: Cyrillic -> Latin by the 2010 national standard and Russian-style, and
  `latin_key`, on which both spellings of a surname meet;
- `given_names`: given-name and patronymic equivalence across scripts (`data/given_names.csv`);
- `dates`: partial dates as ranges, day/month swaps, comparison levels;
- `sex`: `M` / `F`;
- `regions`: ISO 3166-2:UA codes (`data/regions.csv`);
- `rnokpp`: check digit, encoded birth date and sex.
"""
