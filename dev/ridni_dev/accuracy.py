"""How right the published figures are: a warehouse scored night by night against a synth truth folder.

``ridni accuracy --truth DIR`` reads a warehouse (``RIDNI_WAREHOUSE_URL``) that ingested the drops of
``ridni synth`` and compares, for every night with a truth folder ``DIR/<YYYY-MM-DD>/``:

- **category accuracy**: the share of true persons whose category the warehouse has right. A true
  person is found in the warehouse through their records (``core.person_link``): the warehouse
  person holding most of them. Their category that night comes from ``core.person_status``.
- **headline groups**: each group of ``marts.headline`` against the truth's count, and the error.
- **moves**: of the persons whose true category changed since the previous night, how many appear in
  ``marts.change_log`` with the right from -> to (pseudonymous ids, matched with the deployment's key).
- **records lost**: records delivered by that night that are not in ``core.source_record``, and the
  rows quarantined that night (on clean synth drops, every quarantined row is a valid record lost).
- **linkage**: pairwise precision, recall and F1 of the persons against the true persons, overall
  and across scripts (ICRC's Latin records against Cyrillic ones).

The truth a warehouse should reach is what the delivered evidence supports, not what happened:
``ridni synth`` decides each true person's category from their delivered, standing records with
the project's rules (``ridni_dev.synth.truth``), so a person whom no source confirmed dead is rightly
counted missing; what truly happened is in the truth's ``latent_category``, not scored here.

With ``--truth``, links are the warehouse's current ones (person ids are stable from night to night,
so earlier nights are scored with today's links). ``ridni accuracy --persons N --nights K`` instead
generates K nights, runs each through the pipeline in a fresh database (``run_night_in_process``)
and scores each night right after it, with that night's links.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ridni import db
from ridni_dev.evaluate import score as linkage_score

START = dt.date(2026, 11, 1)
HEADLINE_TOLERANCE = 0.01  # a headline group within 1 % of the truth
TARGETS = {"category_accuracy": 0.995, "moves_matched": 0.95}


@dataclass
class NightScore:
    night: dt.date
    persons: int                     # true persons with a category that night
    category_right: int
    headline: list[dict] = field(default_factory=list)  # group, truth, ridni, error
    moves: int = 0                   # true moves since the previous night
    moves_matched: int = 0           # ... in the change log with the right from -> to
    moves_logged: int = 0            # category changes in the change log that night
    records_delivered: int = 0
    records_lost: int = 0
    rows_quarantined: int = 0
    linkage: dict = field(default_factory=dict)
    confusion: list[dict] = field(default_factory=list)  # the commonest wrong categories: truth, ridni, persons

    @property
    def category_accuracy(self) -> float:
        return self.category_right / self.persons if self.persons else 1.0

    @property
    def moves_share(self) -> float:
        return self.moves_matched / self.moves if self.moves else 1.0

    def meets_targets(self) -> bool:
        within = all(h["error"] is not None and abs(h["error"]) <= HEADLINE_TOLERANCE for h in self.headline
                     if h["truth"])
        return (self.category_accuracy >= TARGETS["category_accuracy"] and within
                and self.moves_share >= TARGETS["moves_matched"] and self.rows_quarantined == 0
                and self.records_lost == 0)

    def as_dict(self) -> dict:
        return {**asdict(self), "night": self.night.isoformat(), "category_accuracy": round(self.category_accuracy, 5),
                "moves_share": round(self.moves_share, 5), "meets_targets": self.meets_targets()}


# ------------------------------------------------------------------------------------------ reading
def _truth(truth_dir: Path, night: dt.date) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    folder = truth_dir / night.isoformat()
    records = pd.read_csv(folder / "records.csv", dtype=str, keep_default_na=False)
    persons = pd.read_csv(folder / "persons.csv", dtype=str, keep_default_na=False)
    counts = json.loads((folder / "counts.json").read_text(encoding="utf-8"))
    return records, persons, counts


def _main_person(records: pd.DataFrame, links: pd.DataFrame) -> pd.Series:
    """Each true person's warehouse person: the one holding most of their records (lowest id on a tie)."""
    m = records.merge(links, on=["source_id", "record_key"], suffixes=("_true", ""))
    votes = m.groupby(["person_id_true", "person_id"]).size().rename("n").reset_index()
    votes = votes.sort_values(["person_id_true", "n", "person_id"], ascending=[True, False, True])
    return votes.drop_duplicates("person_id_true").set_index("person_id_true")["person_id"]


def score_night(engine: Engine, truth_dir: Path, night: dt.date, previous: dt.date | None = None) -> NightScore:
    """Score the warehouse's figures for ``night`` against ``truth_dir/<night>/`` (and the moves since
    ``previous``, whose truth folder must exist too)."""
    from ridni.privacy import pseudonymise

    records, persons, counts = _truth(truth_dir, night)
    with engine.connect() as conn:
        links = pd.read_sql(sa.text("SELECT source_id, record_key, person_id FROM core.person_link"), conn)
        status = pd.read_sql(sa.text(
            "SELECT person_id, category FROM core.person_status "
            "WHERE valid_from <= :n AND (valid_to IS NULL OR valid_to > :n)"), conn, params={"n": night})
        headline = dict(conn.execute(sa.text(
            "SELECT grp, count_value FROM marts.headline WHERE night = :n"), {"n": night}).all())
        log = pd.read_sql(sa.text(
            "SELECT pseudo_id, from_category, to_category FROM marts.change_log "
            "WHERE night = :n AND change IN ('category_change', 'withdrawal')"), conn, params={"n": night})
        loaded = pd.read_sql(sa.text(
            "SELECT source_id, record_key FROM core.source_record WHERE first_seen_on <= :n"), conn,
            params={"n": night})
        quarantined = conn.execute(sa.text(
            "SELECT count(*) FROM quarantine.rejected_row q JOIN staging.load l USING (load_id) "
            "WHERE l.extract_date = :n"), {"n": night}).scalar()

    main = _main_person(records, links)
    category = status.set_index("person_id")["category"]
    known = persons[persons["category"] != ""]
    decided = known["person_id"].map(main).map(category)
    right = decided.to_numpy() == known["category"].to_numpy()
    wrong = known.assign(ridni=decided.fillna("(none)"))[~right]
    confusion = (wrong.groupby(["category", "ridni"]).size().sort_values(ascending=False).head(8)
                 .rename("persons").reset_index().rename(columns={"category": "truth"}).to_dict("records"))

    groups = []
    for grp, truth_value in counts["headline"].items():
        value = headline.get(grp)
        error = None if value is None or not truth_value else (value - truth_value) / truth_value
        groups.append({"group": grp, "truth": truth_value, "ridni": value, "error": error})

    result = NightScore(night, len(known), int(right.sum()), groups, confusion=confusion)
    if previous is not None:
        _, before, _ = _truth(truth_dir, previous)
        both = known.merge(before[before["category"] != ""], on="person_id", suffixes=("", "_before"))
        moved = both[both["category"] != both["category_before"]]
        pseudo = pseudonymise(moved["person_id"].map(main).astype("Int64"))
        wanted = set(zip(pseudo, moved["category_before"], moved["category"], strict=True))
        logged = set(zip(log["pseudo_id"], log["from_category"], log["to_category"], strict=True))
        result.moves, result.moves_matched, result.moves_logged = len(moved), len(wanted & logged), len(log)

    keys = records[["source_id", "record_key"]]
    present = keys.merge(loaded.assign(present=True), how="left", on=["source_id", "record_key"])["present"]
    result.records_delivered, result.records_lost = len(keys), int(present.isna().sum())
    result.rows_quarantined = int(quarantined)
    m = records.merge(links, on=["source_id", "record_key"], suffixes=("_true", ""))
    result.linkage = {k: v.as_dict() for k, v in linkage_score(
        m["person_id"], m["person_id_true"], m["source_id"] == "icrc_confirmations").items()}
    return result


def score(engine: Engine, truth_dir: Path, nights: list[dt.date] | None = None) -> list[NightScore]:
    """Score every night of ``truth_dir`` (or the given ones) that the warehouse has published."""
    truth_dir = Path(truth_dir)
    available = sorted(dt.date.fromisoformat(p.name) for p in truth_dir.iterdir() if p.is_dir())
    out = []
    for night in nights or available:
        previous = night - dt.timedelta(days=1)
        out.append(score_night(engine, truth_dir, night, previous if previous in available else None))
    return out


# ------------------------------------------------------------------------------------------ a whole run
@contextmanager
def scratch_warehouse() -> Iterator[tuple[Engine, Path]]:
    """A migrated warehouse of its own on the configured server, and a folder for its landing zone,
    archive, exports and Data Docs (the settings point there from now on); both removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix="ridni-accuracy-"))
    os.environ.update({"RIDNI_DATA_DIR": str(work), "RIDNI_LANDING": str(work / "landing"),
                       "RIDNI_ARCHIVE": str(work / "archive"), "RIDNI_EXPORTS": str(work / "exports"),
                       "RIDNI_DATA_DOCS": str(work / "data_docs")})
    os.environ.setdefault("RIDNI_PSEUDONYM_KEY", secrets.token_hex(32))  # a throwaway warehouse's own key
    server, _ = db.resolve_url()
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"ridni_accuracy_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        db.upgrade(url)
        engine = db.make_engine(url)
        yield engine, work
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)


def run(persons: int = 3000, nights: int = 3, seed: int = 1, start: dt.date = START) -> list[NightScore]:
    """Generate ``nights`` nights of ``persons``, run each through the pipeline in a scratch warehouse and
    score it right after it ran."""
    from ridni_dev.demo import run_night_in_process
    from ridni_dev.synth import generate

    scores = []
    with scratch_warehouse() as (engine, work):
        synth = generate(work, seed=seed, persons=persons, nights=nights, start_date=start)
        for i, night in enumerate(synth.nights):
            run_night_in_process(engine, night)
            scores.append(score_night(engine, synth.truth, night, synth.nights[i - 1] if i else None))
    return scores


# ------------------------------------------------------------------------------------------ the command
def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:+.2%}"


def report(scores: list[NightScore]) -> str:
    lines = []
    for s in scores:
        lines.append(f"night {s.night}: {s.persons} persons, category accuracy {s.category_accuracy:.2%} "
                     f"({s.persons - s.category_right} wrong); moves in the change log {s.moves_matched}/{s.moves}"
                     f" ({s.moves_share:.1%}; {s.moves_logged} logged); records lost {s.records_lost} of "
                     f"{s.records_delivered}, rows quarantined {s.rows_quarantined}")
        for h in s.headline:
            lines.append(f"  {h['group']:42} truth {h['truth']:>7}  ridni {h['ridni'] if h['ridni'] is not None else '—':>7}"
                         f"  {_pct(h['error'])}")
        link = s.linkage
        lines.append("  linkage F1 {:.4f} (precision {:.4f}, recall {:.4f}); cross-script F1 {:.4f} "
                     "(precision {:.4f}, recall {:.4f})".format(
                         link["all"]["f1"], link["all"]["precision"], link["all"]["recall"],
                         link["cross_script"]["f1"], link["cross_script"]["precision"], link["cross_script"]["recall"]))
        if s.confusion:
            lines.append("  wrong categories (truth -> ridni: persons): " + "; ".join(
                f"{c['truth']} -> {c['ridni']}: {c['persons']}" for c in s.confusion))
        lines.append(f"  targets met: {'yes' if s.meets_targets() else 'no'}")
    return "\n".join(lines)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "accuracy", help="score a warehouse night by night against a synth truth folder (or generate, run and score)",
        description=__doc__, formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("--truth", type=Path, help="a synth truth folder (<out>/truth): score the warehouse against it")
    p.add_argument("--night", action="append", type=dt.date.fromisoformat, help="only this night (repeatable)")
    p.add_argument("--persons", type=int, default=3000, help="without --truth: generate this many persons ...")
    p.add_argument("--nights", type=int, default=3, help="... and this many nights, run and score them")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write the scores as JSON to this file")
    p.set_defaults(func=main)


def main(args) -> int:
    if args.truth:
        url, _ = db.resolve_url()
        engine = db.make_engine(url)
        scores = score(engine, args.truth, args.night)
        engine.dispose()
    else:
        scores = run(args.persons, args.nights, args.seed)
    print(report(scores))
    if args.json:
        args.json.write_text(json.dumps([s.as_dict() for s in scores], indent=2, default=str) + "\n")
    return 0 if all(s.meets_targets() for s in scores) else 1
