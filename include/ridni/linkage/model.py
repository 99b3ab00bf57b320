"""The probabilistic part of linkage: Splink 5 over the standardised records, on DuckDB or on Spark.

``RIDNI_LINKAGE_BACKEND`` chooses the engine Splink runs its SQL on: ``duckdb`` (the default: in the
task's own process, spilling to disk past ``RIDNI_DUCKDB_MEMORY``) or ``spark`` (a Spark session on
``RIDNI_SPARK_MASTER``, default ``local[2]``; a ``spark://`` URL sends the comparisons to a cluster).
Both run the same model: the same comparisons, blocking rules and estimation, so the same records give
the same partition into persons (tests/linkage/test_spark_backend.py).

Parameters are estimated from the data (u by random sampling, m by EM on blocking rules that together
leave every comparison free once, the prior as the expected share of matching pairs among all pairs);
no weight is set by hand. An exact match on a name weighs by how rare the name is (Splink's term
frequency adjustment). :func:`train` returns the :class:`Model`: Splink's settings dictionary and the
names' frequencies as of training, which the warehouse keeps (``core.linkage_model``) so that later
nights :func:`score` only the pairs that involve changed records, with the same weights.
Input columns are those of :func:`ridni.linkage.features.build_features`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_rule_library import And, CustomRule
from splink.internals.database_api import DatabaseAPI

log = logging.getLogger(__name__)

# Exact matches on these columns weigh by the value's frequency (a rare surname says more than Мельник).
TF_COLUMNS = ("surname_key", "first_key", "patronymic_key")
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
# A record that lacks a field those rules pin meets more partners: one without a birth date those that
# share its surname and one other name, one without a patronymic (ICRC often gives none) those that share its surname
# and birth year. (the missing field, the fields shared)
BLOCKING_KEYS_IF_MISSING = [
    ("birth_year", ("surname_key", "first_key")),
    ("birth_year", ("first_key", "patronymic_key", "substr(surname_key, 1, 3)")),
    ("birth_year", ("surname_key", "patronymic_key")),
    ("patronymic_key", ("surname_key", "birth_year")),
]
BLOCKING_RULES = [block_on(*keys) for keys in BLOCKING_KEYS] + [
    And(block_on(*keys), CustomRule(f"l.{missing} IS NULL OR r.{missing} IS NULL"))
    for missing, keys in BLOCKING_KEYS_IF_MISSING]
# EM sessions: each leaves out the fields it blocks on, so together they estimate every comparison
# (the last one the birth date, sex, region and person type).
EM_SESSIONS = [
    ("surname_key", "first_key", "birth_year"),
    ("birth_date", "surname_key"),
    ("birth_date", "first_key"),
    ("surname_key", "first_key", "patronymic_key"),
]
# Pairs below this probability hardly move the prior's estimate (see _calibrate_prior).
_PRIOR_FLOOR = 0.001
# On an incremental night only pairs with at least one changed record are scored.
CHANGED_ONLY = CustomRule("l.changed OR r.changed")


def _name(column: str, latin: str, label: str) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name=label,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column, term_frequency_adjustments=True),
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
            cll.ExactMatchLevel("first_key", term_frequency_adjustments=True),
            cll.JaroWinklerLevel("first_lat", 0.92),
            cll.DamerauLevenshteinLevel("first_lat", 1),
            cll.ElseLevel(),
        ],
    )


def _birth_date() -> cl.CustomComparison:
    both_full = "birth_precision_l = 'day' AND birth_precision_r = 'day'"
    # a stated date that disagrees with the record's own RNOKPP may be the typo: either date counts
    same_day = ("(birth_date_l = birth_date_r OR rnokpp_birth_date_l = birth_date_r "
                "OR birth_date_l = rnokpp_birth_date_r)")
    return cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_year"),
            cll.CustomLevel(f"{both_full} AND {same_day}", "exact date (as stated or as the RNOKPP encodes it)"),
            cll.CustomLevel(
                f"{both_full} AND birth_year_l = birth_year_r AND birth_month_l = birth_day_r "
                "AND birth_day_l = birth_month_r",
                "day and month swapped",
            ),
            # a partial date that agrees tells as much as the finer of the two can: a month and year
            # agreeing is rarer by chance than a year alone
            cll.CustomLevel(
                "birth_year_l = birth_year_r AND (birth_precision_l <> 'day' OR birth_precision_r <> 'day') "
                "AND birth_month_l = birth_month_r",
                "partial date: year and month agree",
            ),
            cll.CustomLevel(
                "birth_year_l = birth_year_r AND (birth_precision_l = 'year' OR birth_precision_r = 'year')",
                "partial date: the year agrees",
            ),
            cll.CustomLevel(
                f"{both_full} AND abs(date_diff('day', CAST(birth_date_l AS DATE), "
                "CAST(birth_date_r AS DATE))) <= 31",
                "within a month (typo)",
                base_dialect_str="duckdb",  # written in DuckDB's SQL; Splink translates it for Spark
            ),
            cll.CustomLevel("birth_year_l = birth_year_r", "same year"),
            cll.ElseLevel(),
        ],
    )


def _person_type() -> cl.CustomComparison:
    """Who the sources say the person is: a servicemember and a civilian are rarely one person; a child
    and a civilian often are (a source's own age limit, a child who came of age)."""
    return cl.CustomComparison(
        output_column_name="person_type",
        comparison_levels=[
            cll.NullLevel("person_type"),
            cll.ExactMatchLevel("person_type"),
            cll.CustomLevel("person_type_l <> 'military' AND person_type_r <> 'military'", "civilian and child"),
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


def settings(extra_fields: dict[str, str] | None = None, blocking_rules: list | None = None,
             prior: float = 0.0001) -> SettingsCreator:
    """The model: the ridni name/date/sex/region comparisons, plus ``extra_fields`` {column: id|text|exact}."""
    extra = [_extra(c, k) for c, k in (extra_fields or {}).items()]
    return SettingsCreator(
        link_type="dedupe_only",
        probability_two_random_records_match=prior,
        unique_id_column_name="unique_id",
        comparisons=[
            _name("surname_key", "surname_key", "surname"),
            _first_name(),
            _name("patronymic_key", "patronymic_lat", "patronymic"),
            _birth_date(),
            cl.ExactMatch("sex"),
            cl.ExactMatch("region"),
            _person_type(),
            *extra,
        ],
        blocking_rules_to_generate_predictions=blocking_rules or BLOCKING_RULES,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["source_id", "record_key"],
    )


def comparisons(model: dict | None = None) -> list[tuple[str, list[str]]]:
    """What a model compares (each comparison's levels, as SQL): this code's, or a stored ``model``'s."""
    spec = model or settings().create_settings_dict("duckdb")
    return [(c["output_column_name"], [level["sql_condition"] for level in c["comparison_levels"]])
            for c in spec["comparisons"]]


@dataclass
class Model:
    settings: dict  # Splink's settings JSON: comparisons with their m and u probabilities, the prior
    term_frequencies: dict[str, dict[str, float]]  # TF_COLUMNS: value -> share of the records, at training


def term_frequencies(features: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Each value's share of the records that have one, as Splink computes it, for :data:`TF_COLUMNS`."""
    return {c: features[c].dropna().value_counts(normalize=True).to_dict() for c in TF_COLUMNS if c in features}


def train(features: pd.DataFrame, deterministic_rules: list, extra_fields: dict[str, str] | None = None,
          blocking_rules: list | None = None, em_sessions: list[tuple[str, ...]] | None = None) -> Model:
    """Estimate the model's parameters on ``features``."""
    with _api() as api:
        return _train(api, features, deterministic_rules, extra_fields, blocking_rules, em_sessions)


def _train(api: DatabaseAPI, features: pd.DataFrame, deterministic_rules: list, extra_fields: dict[str, str] | None,
           blocking_rules: list | None, em_sessions: list[tuple[str, ...]] | None) -> Model:
    records = api.register(_for_engine(api, features), table_name="records")
    linker = Linker(records, settings(extra_fields, blocking_rules), log_level=logging.WARNING)
    # a first prior for EM to start from; _calibrate_prior replaces it
    linker.training.estimate_probability_two_random_records_match(deterministic_rules, recall=0.8)
    if not 0 < linker.misc.save_model_to_json()["probability_two_random_records_match"] < 1:
        # no two records share a key: start from one match per record
        linker = Linker(records, settings(extra_fields, blocking_rules, prior=1 / max(len(features), 2)),
                        log_level=logging.WARNING)
    with _one_thread(api):
        linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=1)
        for session in (block_on(*keys) for keys in em_sessions or EM_SESSIONS):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(session,
                                                                                   fix_u_probabilities=True)
            except ValueError as exc:
                # On small or lopsided data EM can push an m-probability below what float64 holds; Splink
                # refuses it. The other session's estimates (or the defaults) stand for those levels.
                log.warning("EM session skipped: %s", exc)
    model = linker.misc.save_model_to_json()
    weights = np.sort(_columns(api, linker.inference.predict(threshold_match_probability=_PRIOR_FLOOR),
                               ["match_weight"])["match_weight"].to_numpy())  # summed in one order every time
    model["probability_two_random_records_match"] = _calibrate_prior(
        weights, model["probability_two_random_records_match"], len(features))
    # kept in DuckDB's SQL whichever engine trained it: one stored form that either backend scores with
    return Model(_in_dialect(model, "duckdb", settings(extra_fields, blocking_rules)), term_frequencies(features))


@contextlib.contextmanager
def _one_thread(api: DatabaseAPI):
    """Estimate the same parameters from the same records every time: DuckDB's seeded sample and its sums
    repeat only in one thread (several threads add in the order they finish), and a model that differs
    in its last digits can move a pair across a threshold, and so a person between categories."""
    duckdb = api.sql_dialect.sql_dialect_str == "duckdb"
    if duckdb:
        api._execute_sql_against_backend("SET threads = 1")
    try:
        yield
    finally:
        if duckdb:
            api._execute_sql_against_backend("RESET threads")


def _calibrate_prior(weights: np.ndarray, prior: float, records: int) -> float:
    """The prior (probability that two random records match) as the expected share of matching pairs.

    The share of matching pairs that deterministic keys give depends on how many records carry a key
    (a guess of their recall sets it); instead, the prior is the mean match probability over all
    pairs (EM's update of the prior), iterated to its fixed point. Pairs outside the blocks, and those
    below :data:`_PRIOR_FLOOR`, count as no match. ``weights``: the candidates' match weights under
    ``prior``.
    """
    pairs = records * (records - 1) / 2
    if not len(weights) or pairs <= 0:
        return prior
    factors = weights - np.log2(prior / (1 - prior))  # each pair's Bayes factor (log2), without the prior
    for _ in range(50):
        odds = np.log2(prior / (1 - prior))
        expected = float((1.0 / (1.0 + np.exp2(-(factors + odds)))).sum()) / pairs
        if abs(expected - prior) <= 1e-4 * prior:
            return expected
        prior = min(expected, 0.5)
    return prior


@dataclass
class Prediction:
    pairs: pd.DataFrame  # unique_id_l, unique_id_r, match_probability, match_weight, gamma_* levels
    pairs_above_threshold: int  # pairs scored at or above the threshold (the only pairs Splink returns)


def score(features: pd.DataFrame, model: Model, threshold: float = 0.5, changed_only: bool = False) -> Prediction:
    """Score the blocked pairs of ``features`` with a trained ``model``; keep probability >= ``threshold``.

    ``changed_only``: ``features`` has a boolean ``changed`` column and only pairs with at least one
    changed record are scored (the incremental night; the others were scored on an earlier night).
    Names weigh by their frequencies at training, whatever subset of the records is scored.
    """
    with _api() as api:
        return _score(api, features, model, threshold, changed_only)


def _score(api: DatabaseAPI, features: pd.DataFrame, model: Model, threshold: float, changed_only: bool) -> Prediction:
    spec = dict(_in_dialect(model.settings, api.sql_dialect.sql_dialect_str), retain_matching_columns=True,
                retain_intermediate_calculation_columns=True, additional_columns_to_retain=[])
    if changed_only:
        spec["blocking_rules_to_generate_predictions"] = [
            And(rule, CHANGED_ONLY) for rule in BLOCKING_RULES]
    records = api.register(_for_engine(api, features), table_name="records")
    linker = Linker(records, spec, log_level=logging.WARNING)
    for column, shares in model.term_frequencies.items():
        lookup = pd.DataFrame({column: list(shares), f"tf_{column}": list(shares.values())})
        linker.table_management.register_term_frequency_lookup(
            api.register(_for_engine(api, lookup), table_name=f"tf_lookup_{column}"), column)
    predicted = linker.inference.predict(threshold_match_probability=threshold)
    # only what the links need crosses into pandas: ids, probability, weight and comparison levels
    gammas = [c for c in predicted.columns if c.unquote().name.startswith("gamma_")]
    pairs = _columns(api, predicted, ["unique_id_l", "unique_id_r", "match_probability", "match_weight",
                                 *(c.unquote().name for c in gammas)])
    return Prediction(pairs, len(pairs))


BACKENDS = ("duckdb", "spark")


def backend() -> str:
    """The engine Splink runs on, from ``RIDNI_LINKAGE_BACKEND`` (default ``duckdb``)."""
    name = os.environ.get("RIDNI_LINKAGE_BACKEND", "duckdb").strip().lower() or "duckdb"
    if name not in BACKENDS:
        raise ValueError(f"RIDNI_LINKAGE_BACKEND={name!r}: expected one of {', '.join(BACKENDS)}")
    return name


@contextmanager
def _api() -> Iterator[DatabaseAPI]:
    """Splink's connection to the chosen engine, for one training or scoring.

    On a Spark cluster, Splink writes its intermediate tables as Parquet under a folder of their own
    (in ``RIDNI_SPARK_CHECKPOINT_DIR``: storage that every executor reaches); in local mode it persists
    them in the session. Either is removed when the training or scoring is done: nights leave nothing behind.
    """
    if backend() != "spark":
        yield DuckDBAPI(_duckdb())
        return
    from splink.backends.spark import SparkAPI

    session = spark_session()
    root = os.environ.get("RIDNI_SPARK_CHECKPOINT_DIR", os.path.join(tempfile.gettempdir(), "ridni-spark"))
    os.makedirs(root, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="splink-", dir=root)
    session.sparkContext.setCheckpointDir(scratch)
    # locally Spark keeps them in its own memory and disk (fewer writes); a cluster's executors share files
    lineage = "persist" if session.sparkContext.master.startswith("local") else "parquet"
    try:
        yield SparkAPI(spark_session=session, break_lineage_method=lineage,
                       num_partitions_on_repartition=int(session.conf.get("spark.sql.shuffle.partitions")))
    finally:  # the session outlives the night: its views and cached tables must not
        for table in session.catalog.listTables():
            if table.isTemporary:
                session.catalog.dropTempView(table.name)
        session.catalog.clearCache()
        shutil.rmtree(scratch, ignore_errors=True)


def _for_engine(api: DatabaseAPI, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as the engine takes it. Spark converts pandas through Arrow only from arrays in one
    piece: text read from the warehouse comes in chunks (a million records), and Spark's fallback
    converts row by row, minutes at that size. So text goes to Spark as Python strings, in one piece."""
    if isinstance(api, DuckDBAPI):
        return frame
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c])]
    return frame.astype(dict.fromkeys(text, object))


def _columns(api: DatabaseAPI, frame, names: list[str]) -> pd.DataFrame:
    """Only the ``names`` columns of a Splink result, as pandas (only what the links need leaves the engine)."""
    if isinstance(api, DuckDBAPI):
        return frame.as_duckdbpyrelation().project(", ".join(names)).df()
    return frame.as_spark_dataframe().select(*names).toPandas()


def _in_dialect(spec: dict, dialect: str, code: SettingsCreator | None = None) -> dict:
    """A stored model's settings in ``dialect``'s SQL: a model trained on one backend scores on the other.

    The comparisons' and blocking rules' SQL is the code's (``code``, default :func:`settings`) rendered
    for ``dialect``; the estimated m and u probabilities and the prior are the stored model's, level by level.
    """
    if spec.get("sql_dialect", dialect) == dialect:
        return spec
    fresh = (code or settings()).create_settings_dict(dialect)
    stored, code = spec["comparisons"], fresh["comparisons"]
    shape = [(c["output_column_name"], len(c["comparison_levels"])) for c in stored]
    if shape != [(c["output_column_name"], len(c["comparison_levels"])) for c in code]:
        raise ValueError(f"the stored model ({spec.get('sql_dialect')}) compares {shape}, not what this code "
                         f"compares: retrain it on the {dialect} backend")
    for stored_comparison, comparison in zip(stored, code, strict=True):
        for stored_level, level in zip(stored_comparison["comparison_levels"], comparison["comparison_levels"],
                                       strict=True):
            for key in ("m_probability", "u_probability"):
                if key in stored_level:
                    level[key] = stored_level[key]
    return dict(spec, sql_dialect=dialect, comparisons=code,
                blocking_rules_to_generate_predictions=fresh["blocking_rules_to_generate_predictions"])


_SPARK = None


def spark_session():
    """The process's Spark session on ``RIDNI_SPARK_MASTER`` (default ``local[2]``), made on first use.

    Small by default (``RIDNI_SPARK_DRIVER_MEMORY`` 1g, ``RIDNI_SPARK_SHUFFLE_PARTITIONS`` 2, no web UI)
    so that it fits beside the night's other work on the Airflow worker; a cluster sizes its executors
    itself. Splink's similarity functions (Jaro-Winkler, Damerau-Levenshtein) come in its jar, which
    the session ships to the executors.
    """
    global _SPARK
    if _SPARK is not None and not _SPARK.sparkContext._jsc.sc().isStopped():
        return _SPARK
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    scratch = os.path.join(tempfile.gettempdir(), "ridni-spark", "local")
    builder = (SparkSession.builder.appName("ridni-linkage")
               .master(os.environ.get("RIDNI_SPARK_MASTER", "local[2]"))
               .config("spark.driver.memory", os.environ.get("RIDNI_SPARK_DRIVER_MEMORY", "1g"))
               .config("spark.sql.shuffle.partitions", os.environ.get("RIDNI_SPARK_SHUFFLE_PARTITIONS", "2"))
               .config("spark.default.parallelism", os.environ.get("RIDNI_SPARK_SHUFFLE_PARTITIONS", "2"))
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")  # no progress bars in the task's log
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.local.dir", scratch)
               .config("spark.jars", similarity_jar_location()))
    if os.environ.get("RIDNI_SPARK_DRIVER_HOST"):  # on a cluster: the name the executors reach this task by
        builder = (builder.config("spark.driver.host", os.environ["RIDNI_SPARK_DRIVER_HOST"])
                   .config("spark.driver.bindAddress", "0.0.0.0"))
    _SPARK = builder.getOrCreate()
    _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK


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
