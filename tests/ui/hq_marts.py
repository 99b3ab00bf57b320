"""Three nights of marts (and of ingestion bookkeeping), hand-written by SQL, for the app's narrow tests.

The browser test reads a warehouse filled by the demo's nights (``hq_demo.py``). This fixture is kept for
what the demo's nights never produce and the app's tests check: a refused drop (``sbu_jc`` rejected), a
late source (``ombudsman``), quarantined rows and a failed validation, a headline group suppressed on one
night and published on the next ("<5", then no change), a region x category cell suppressed,
the reconciliation's small counts, and figures known in advance. The rows are shaped like the pipeline's;
the view ``marts.source_quality`` comes from migration 0005.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from ridni.web import i18n

NIGHTS = [dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
LAST = NIGHTS[-1]
HEADLINE = {  # group -> value per night (None: suppressed, 1 to 4)
    "all missing": [2412, 2398, 2377],
    "confirmed captive servicemembers": [312, 318, 325],
    "confirmed civilians held": [141, 146, 149],
    "confirmed civilians held, ICRC-confirmed": [73, 75, 79],
    "deported children": [9, None, 6],
    "returned": [58, 61, 70],
}
# (category, person_type, region, sex, age_band) -> count on the last night; None = suppressed
COUNTS = {
    ("missing", "military", "UA-14", "M", "30-44"): 611,
    ("missing", "military", "UA-14", "M", "18-29"): 402,
    ("missing", "military", "UA-23", "M", "30-44"): 388,
    ("missing", "civilian", "UA-14", "F", "60+"): 97,
    ("missing", "civilian", "UA-65", "F", "45-59"): None,  # 3: primary
    ("missing", "civilian", "UA-65", "M", "45-59"): None,  # 6: complementary
    ("missing", "military", "UA-65", "M", "30-44"): 870,
    ("captive_pow", "military", "UA-14", "M", "30-44"): 201,
    ("captive_pow", "military", "UA-23", "M", "18-29"): 124,
    ("civilian_detained", "civilian", "UA-14", "M", "45-59"): 88,
    ("civilian_detained", "civilian", "UA-23", "F", "30-44"): 41,
    ("civilian_detained", "civilian", "UA-09", "F", "60+"): None,  # 2: primary, alone in its region
    ("illegally_convicted", "civilian", "UA-14", "M", "30-44"): None,  # 4: primary
    ("illegally_convicted", "civilian", "UA-23", "M", "30-44"): None,  # 7: complementary
    ("enforced_disappearance", "civilian", "UA-65", "M", "45-59"): 7,
    ("deported_child", "child", "UA-14", "F", "0-17"): 6,
    ("returned", "military", "UA-23", "M", "30-44"): 70,
}
# (category, region) -> count on the last night (marts.region_category_counts); None = suppressed
REGION_COUNTS = {
    ("missing", "UA-14"): 1110, ("missing", "UA-23"): 388, ("missing", "UA-65"): 879,
    ("captive_pow", "UA-14"): 201, ("captive_pow", "UA-23"): 124,
    ("civilian_detained", "UA-14"): 88, ("civilian_detained", "UA-23"): 41,
    ("civilian_detained", "UA-09"): None,  # 2: primary, alone in its region
    ("illegally_convicted", "UA-14"): None, ("illegally_convicted", "UA-23"): None,  # 4 and 7
    ("enforced_disappearance", "UA-65"): 7, ("deported_child", "UA-14"): 6, ("returned", "UA-23"): 70,
}
TOTALS = {"missing": 2377, "captive_pow": 325, "civilian_detained": 131, "enforced_disappearance": 7,
          "illegally_convicted": 11, "deported_child": 6, "returned": 70, "found_alive": None, "deceased": 0}
CHANGE_LOG = [  # pseudo_id, change, from, to, effective, source, record, rule
    ("P-0a1b2c3d4e5f", "category_change", "missing", "captive_pow", "2026-11-02", "icrc_confirmations",
     "R-9f8e7d6c5b4a", "latest_confirmed"),
    ("P-1b2c3d4e5f60", "category_change", "missing", "civilian_detained", "2026-11-03", "ombudsman",
     "R-8e7d6c5b4a39", "latest_confirmed"),
    ("P-2c3d4e5f6071", "category_change", "missing", "illegally_convicted", "2026-11-01", "sbu_jc",
     "R-7d6c5b4a3928", "latest_confirmed"),
    ("P-3d4e5f607182", "category_change", "captive_pow", "returned", "2026-11-03", "exchange_returns",
     "R-6c5b4a392817", "end_state"),
    ("P-4e5f60718293", "new_person", None, "missing", "2026-11-03", "npu_appeals", "R-5b4a39281706",
     "no_confirmation"),
    ("P-5f60718293a4", "withdrawal", "civilian_detained", "missing", "2026-11-03", "ombudsman",
     "R-4a39281706f5", "withdrawn"),
]
RECONCILIATION = [  # source, category, source_count, warehouse_count, only_in_source, disagreeing
    ("npu_appeals", "missing", 2105, 1950, 612, 155),
    ("mvs_register", "missing", 2280, 2101, 240, 179),
    ("icrc_confirmations", "captive_pow", 290, 288, 12, 2),
    ("ombudsman", "civilian_detained", 120, 117, 9, 3),
    ("sbu_jc", "illegally_convicted", 12, 11, 1, 1),
    ("exchange_returns", "returned", 70, 70, 0, 0),
]
REVIEW = {NIGHTS[0]: (41, 2), NIGHTS[1]: (37, 1), LAST: (29, 3)}


def create_source_quality_view(conn) -> None:
    # the view is created by migration 0005; this only checks that it is there
    assert conn.execute(sa.text("SELECT to_regclass('marts.source_quality')")).scalar() is not None


def fill_marts(conn, data_docs: Path) -> None:
    """Three nights of marts and of ingestion bookkeeping, as the pipeline would leave them."""
    for ord_, (grp, values) in enumerate(HEADLINE.items()):
        for i, night in enumerate(NIGHTS):
            prev = values[i - 1] if i else None
            value = values[i]
            conn.execute(sa.text(
                "INSERT INTO marts.headline (night, ord, grp, count_value, previous_value, change) "
                "VALUES (:n, :o, :g, :v, :p, :c)"),
                {"n": night, "o": ord_, "g": grp, "v": value, "p": prev,
                 "c": None if value is None or prev is None else value - prev})
    for night in NIGHTS:
        shift = (LAST - night).days  # earlier nights: a little different
        for (category, ptype, region, sex, band), value in COUNTS.items():
            count = None if value is None else value + shift * 3
            conn.execute(sa.text(
                "INSERT INTO marts.category_counts VALUES (:n, :c, :t, :r, :s, :b, :v, :sup, :how)"),
                {"n": night, "c": category, "t": ptype, "r": region, "s": sex, "b": band, "v": count,
                 "sup": value is None, "how": "primary" if value is None else None})
        for (category, region), value in REGION_COUNTS.items():
            count = None if value is None else value + shift * 3
            conn.execute(sa.text(
                "INSERT INTO marts.region_category_counts VALUES (:n, :c, :r, :v, :sup, :how)"),
                {"n": night, "c": category, "r": region, "v": count, "sup": value is None,
                 "how": "primary" if value is None else None})
        for category, value in TOTALS.items():
            conn.execute(sa.text("INSERT INTO marts.category_totals VALUES (:n, :c, :v, :sup)"),
                         {"n": night, "c": category, "v": value, "sup": value is None})
        linkage, conflicts = REVIEW[night]
        conn.execute(sa.text("INSERT INTO marts.review_queue_size VALUES (:n, :l, :c)"),
                     {"n": night, "l": linkage, "c": conflicts})
    for row in CHANGE_LOG:
        conn.execute(sa.text(
            "INSERT INTO marts.change_log (night, pseudo_id, change, from_category, to_category, effective_date, "
            "evidence_source, evidence_record, rule, dag_run_id) VALUES (:n, :p, :ch, :f, :t, :e, :s, :r, :rule, "
            "'publish_hq__2026-11-03')"),
            {"n": LAST, "p": row[0], "ch": row[1], "f": row[2], "t": row[3], "e": row[4], "s": row[5],
             "r": row[6], "rule": row[7]})
    for row in RECONCILIATION:
        conn.execute(sa.text("INSERT INTO marts.reconciliation VALUES (:n, :s, :c, :sc, :wc, :o, :d)"),
                     {"n": LAST, "s": row[0], "c": row[1], "sc": row[2], "wc": row[3], "o": row[4], "d": row[5]})
    _fill_ingestion(conn, data_docs)


# source -> (status, received, loaded, quarantined, validation ok) for the last night; earlier nights load
QUALITY = {
    "npu_appeals": ("loaded", 2512, 2498, 14, False),
    "mvs_register": ("loaded", 37, 37, 0, True),
    "icrc_confirmations": ("loaded", 301, 301, 0, True),
    "sbu_jc": ("rejected", None, None, None, None),
    "children_deported": ("loaded", 12, 12, 0, True),
    "coordhq_cases": ("loaded", 988, 985, 3, False),
}
LATE = "ombudsman"  # no drop by the late hour on the last night; exchange_returns sends nothing (normal)


def _fill_ingestion(conn, data_docs: Path) -> None:
    site = data_docs / "pages"  # the served Data Docs pages (ridni.ingest.docs), a folder per language
    for code in i18n.LANGUAGES:
        (site / code).mkdir(parents=True, exist_ok=True)
        (site / code / "index.html").write_text(f"<html lang=\"{code}\"><body><h1>Data Docs index</h1></body></html>",
                                                encoding="utf-8")
    for night in NIGHTS:
        for source, (status, received, loaded, quarantined, ok) in QUALITY.items():
            if night != LAST:
                status, received, loaded, quarantined, ok = "loaded", 100, 100, 0, True
            drop_id = conn.execute(sa.text(
                "INSERT INTO raw.drop (source_id, extract_date, landing_uri, manifest_sha256, status, reason) "
                "VALUES (:s, :n, :u, :m, :st, :r) RETURNING drop_id"),
                {"s": source, "n": night, "u": f"var/landing/{source}/{night}", "m": f"{source}{night}",
                 "st": status, "r": "row count differs from the manifest" if status == "rejected" else None}).scalar()
            if received is None:
                continue
            sha = f"{source}-{night}".ljust(64, "0")
            conn.execute(sa.text("INSERT INTO raw.file VALUES (:h, 1000, :a, :f)"),
                         {"h": sha, "a": f"var/archive/{sha[:2]}/{sha}", "f": f"{source}.csv"})
            load_id = conn.execute(sa.text(
                "INSERT INTO staging.load (drop_id, source_id, extract_date, file_name, sha256, rows_received, "
                "rows_loaded, rows_quarantined, status) VALUES (:d, :s, :n, :f, :h, :rr, :rl, :rq, 'loaded') "
                "RETURNING load_id"),
                {"d": drop_id, "s": source, "n": night, "f": f"{source}.csv", "h": sha, "rr": received,
                 "rl": loaded, "rq": quarantined}).scalar()
            for code in i18n.LANGUAGES:
                page = site / code / night.isoformat() / source / f"{source}.csv.html"
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_text(f"<html lang=\"{code}\"><body><h1>Validation of {source} on {night}</h1>"
                                f"<p>{quarantined} rows failed</p></body></html>", encoding="utf-8")
            page = site / i18n.DEFAULT / night.isoformat() / source / f"{source}.csv.html"  # as write_night returns
            conn.execute(sa.text(
                "INSERT INTO audit.validation (load_id, source_id, extract_date, file_name, suite, success, "
                "rows_evaluated, rows_failed, summary, data_docs_uri) VALUES (:l, :s, :n, :f, :suite, :ok, :rr, "
                ":rq, '{}'::jsonb, :uri)"),
                {"l": load_id, "s": source, "n": night, "f": f"{source}.csv", "suite": f"ridni.{source}", "ok": ok,
                 "rr": received, "rq": quarantined, "uri": str(page.resolve())})
        if night == LAST:
            conn.execute(sa.text(
                "INSERT INTO audit.alert (kind, severity, source_id, extract_date, message) "
                "VALUES ('late_drop', 'error', :s, :n, 'no drop by 06:00 UTC')"), {"s": LATE, "n": night})
        else:
            conn.execute(sa.text(
                "INSERT INTO raw.drop (source_id, extract_date, landing_uri, manifest_sha256, status) "
                "VALUES (:s, :n, 'x', :m, 'loaded')"), {"s": LATE, "n": night, "m": f"{LATE}{night}"})


BAD_NIGHT = LAST + dt.timedelta(days=1)
# the bad night: one drop rejected, six nightly sources with no drop by the late hour (exchange_returns, an
# event source, sends nothing as usual); the figures stay those of the last night
REJECTED_ON_BAD_NIGHT = "sbu_jc"
SILENT_ON_BAD_NIGHT = sorted(set(QUALITY) - {REJECTED_ON_BAD_NIGHT} | {LATE})


def fill_bad_night(conn) -> None:
    """A fourth night after :data:`NIGHTS` on which nothing was loaded (``BAD_NIGHT``)."""
    n = {"n": BAD_NIGHT, "l": LAST}
    conn.execute(sa.text(
        "INSERT INTO marts.headline (night, ord, grp, count_value, previous_value, change) "
        "SELECT :n, ord, grp, count_value, count_value, CASE WHEN count_value IS NOT NULL THEN 0 END "
        "FROM marts.headline WHERE night = :l"), n)
    for table in ("region_category_counts", "category_counts", "category_totals", "reconciliation",
                  "review_queue_size"):
        columns = [c for c in conn.execute(sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = :t "
            "ORDER BY ordinal_position"), {"t": table}).scalars() if c != "night"]
        listed = ", ".join(columns)
        conn.execute(sa.text(f"INSERT INTO marts.{table} (night, {listed}) "  # noqa: S608 (our own names)
                             f"SELECT :n, {listed} FROM marts.{table} WHERE night = :l"), n)
    conn.execute(sa.text(
        "INSERT INTO raw.drop (source_id, extract_date, landing_uri, manifest_sha256, status, reason) "
        "VALUES (:s, :n, 'x', :m, 'rejected', 'row count differs from the manifest')"),
        {"s": REJECTED_ON_BAD_NIGHT, "n": BAD_NIGHT, "m": f"{REJECTED_ON_BAD_NIGHT}{BAD_NIGHT}"})
    conn.execute(sa.text(
        "INSERT INTO audit.alert (kind, severity, source_id, extract_date, message) "
        "VALUES ('drop_rejected', 'error', :s, :n, 'drop rejected, nothing loaded: row count differs')"),
        {"s": REJECTED_ON_BAD_NIGHT, "n": BAD_NIGHT})
    for source in SILENT_ON_BAD_NIGHT:
        conn.execute(sa.text(
            "INSERT INTO audit.alert (kind, severity, source_id, extract_date, message) "
            "VALUES ('late_drop', 'error', :s, :n, 'no drop by 06:00 UTC')"), {"s": source, "n": BAD_NIGHT})
