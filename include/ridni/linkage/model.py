"""The probabilistic part of linkage: Splink 5 on DuckDB over the standardised records.

Parameters are estimated from the data (u by random sampling, m by EM on two blocking rules, the
prior from the deterministic keys); no weight is set by hand. :func:`train` returns the model as
Splink's settings dictionary, which the warehouse keeps (``core.linkage_model``) so that later
nights :func:`score` only the pairs that involve changed records, with the same weights.
Input columns are those of :func:`ridni.linkage.features.build_features`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass

import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_rule_library import And, CustomRule

log = logging.getLogger(__name__)

# Candidate pairs: records that share all columns of one of these; the rest are never compared.
# Each rule pins at least three name/date fields so blocks stay small at a million records (a pair
# differing in one of them is still caught by another rule): 11.7 million candidate pairs on the
# benchmark's 868,160 records, keeping 99.6% of the true pairs (99.65% with the deterministic keys);
# the two-field rules they replace gave 110 million for 99.8% (docs/benchmark.md).
BLOCKING_KEYS = [
    ("surname_key", "first_key", "birth_year"),
    ("first_key", "patronymic_key", "birth_year"),
    ("surname_key", "patronymic_key", "birth_year"),
    ("surname_key", "first_key", "patronymic_key"),
    ("birth_date", "first_key"),
    ("birth_date", "surname_key"),
]
BLOCKING_RULES = [block_on(*keys) for keys in BLOCKING_KEYS]
# EM sessions: each leaves out the fields it blocks on, so together they estimate every comparison.
EM_SESSIONS = [
    ("surname_key", "first_key", "birth_year"),
    ("birth_date", "surname_key"),
    ("birth_date", "first_key"),
]
# On an incremental night only pairs with at least one changed record are scored.
CHANGED_ONLY = CustomRule("l.changed OR r.changed")


def _name(column: str, latin: str, label: str) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name=label,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column),
            cll.JaroWinklerLevel(latin, 0.94),
            cll.JaroWinklerLevel(latin, 0.85),
            cll.ElseLevel(),
        ],
    )


def _first_name() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            cll.NullLevel("first_key"),
            cll.ExactMatchLevel("first_key"),
            cll.JaroWinklerLevel("first_lat", 0.92),
            cll.ElseLevel(),
        ],
    )


def _birth_date() -> cl.CustomComparison:
    both_full = "birth_precision_l = 'day' AND birth_precision_r = 'day'"
    return cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_year"),
            cll.CustomLevel(f"{both_full} AND birth_date_l = birth_date_r", "exact date"),
            cll.CustomLevel(
                f"{both_full} AND birth_year_l = birth_year_r AND birth_month_l = birth_day_r "
                "AND birth_day_l = birth_month_r",
                "day and month swapped",
            ),
            cll.CustomLevel(
                "birth_year_l = birth_year_r AND (birth_precision_l <> 'day' OR birth_precision_r <> 'day') "
                "AND (birth_month_l IS NULL OR birth_month_r IS NULL OR birth_month_l = birth_month_r)",
                "partial date consistent",
            ),
            cll.CustomLevel(
                f"{both_full} AND abs(date_diff('day', CAST(birth_date_l AS DATE), "
                "CAST(birth_date_r AS DATE))) <= 31",
                "within a month (typo)",
            ),
            cll.CustomLevel("birth_year_l = birth_year_r", "same year"),
            cll.ElseLevel(),
        ],
    )


def _extra(column: str, kind: str):
    """A comparison for a field outside the ridni vocabulary (used by the FEBRL field mapping)."""
    if kind == "id":
        return cl.LevenshteinAtThresholds(column, [1, 2])
    if kind == "text":
        return cl.JaroWinklerAtThresholds(column, [0.95, 0.88])
    return cl.ExactMatch(column)


def settings(extra_fields: dict[str, str] | None = None, blocking_rules: list | None = None) -> SettingsCreator:
    """The model: the ridni name/date/sex/region comparisons, plus ``extra_fields`` {column: id|text|exact}."""
    extra = [_extra(c, k) for c, k in (extra_fields or {}).items()]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            _name("surname_key", "surname_key", "surname"),
            _first_name(),
            _name("patronymic_key", "patronymic_lat", "patronymic"),
            _birth_date(),
            cl.ExactMatch("sex"),
            cl.ExactMatch("region"),
            *extra,
        ],
        blocking_rules_to_generate_predictions=blocking_rules or BLOCKING_RULES,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["source_id", "record_key"],
    )


def train(features: pd.DataFrame, deterministic_rules: list, extra_fields: dict[str, str] | None = None,
          blocking_rules: list | None = None, em_sessions: list[tuple[str, ...]] | None = None) -> dict:
    """Estimate the model's parameters on ``features``; returns Splink's settings dictionary."""
    api = DuckDBAPI(_duckdb())
    records = api.register(features, table_name="records")
    linker = Linker(records, settings(extra_fields, blocking_rules), log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(deterministic_rules, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=1)
    for session in (block_on(*keys) for keys in em_sessions or EM_SESSIONS):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(session, fix_u_probabilities=True)
        except ValueError as exc:
            # On small or lopsided data EM can push an m-probability below what float64 holds; Splink
            # refuses it. The other session's estimates (or the defaults) stand for those levels.
            log.warning("EM session skipped: %s", exc)
    return linker.misc.save_model_to_json()


@dataclass
class Prediction:
    pairs: pd.DataFrame  # unique_id_l, unique_id_r, match_probability, match_weight, gamma_* levels
    comparisons: int  # candidate pairs scored (after blocking)


def score(features: pd.DataFrame, model: dict, threshold: float = 0.5, changed_only: bool = False) -> Prediction:
    """Score the blocked pairs of ``features`` with a trained ``model``; keep probability >= ``threshold``.

    ``changed_only``: ``features`` has a boolean ``changed`` column and only pairs with at least one
    changed record are scored (the incremental night; the others were scored on an earlier night).
    """
    model = dict(model, retain_matching_columns=True, retain_intermediate_calculation_columns=True,
                 additional_columns_to_retain=[])
    if changed_only:
        model["blocking_rules_to_generate_predictions"] = [
            And(rule, CHANGED_ONLY) for rule in BLOCKING_RULES]
    api = DuckDBAPI(_duckdb())
    records = api.register(features, table_name="records")
    linker = Linker(records, model, log_level=logging.WARNING)
    predicted = linker.inference.predict(threshold_match_probability=threshold)
    # only what the links need crosses into pandas: ids, probability, weight and comparison levels
    pairs = predicted.as_duckdbpyrelation().project(
        "unique_id_l, unique_id_r, match_probability, match_weight, COLUMNS('^gamma_')").df()
    return Prediction(pairs, len(pairs))


def _duckdb():
    """A DuckDB connection that spills to disk rather than growing past a bounded share of memory."""
    import duckdb

    conn = duckdb.connect()
    conn.execute(f"SET memory_limit = '{os.environ.get('RIDNI_DUCKDB_MEMORY', '1GB')}'")
    conn.execute(f"SET temp_directory = '{tempfile.gettempdir()}/ridni-duckdb'")
    conn.execute("SET preserve_insertion_order = false")
    return conn


def predict(features: pd.DataFrame, deterministic_rules: list, threshold: float = 0.5,
            extra_fields: dict[str, str] | None = None, blocking_rules: list | None = None,
            em_sessions: list[tuple[str, ...]] | None = None) -> Prediction:
    """Train on ``features`` and score every blocked pair with probability >= ``threshold``."""
    model = train(features, deterministic_rules, extra_fields, blocking_rules, em_sessions)
    return score(features, model, threshold)
