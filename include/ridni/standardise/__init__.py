"""Standardisation of source values: names, scripts, dates, sex, regions, RNOKPP."""
