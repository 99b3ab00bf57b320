"""``ridni bench``: the nightly run at scale, stage by stage, against the targets (docs/benchmark.md).

    python -m ridni_dev.bench                          # ~1,000,000 source records, then an incremental night
    python -m ridni_dev.bench --records 12000          # about the demo's size
    python -m ridni_dev.bench --work /tmp/rb --profile # keep (and reuse) the extracts; cProfile every stage
    python -m ridni_dev.bench --workers 1              # ingest the sources one after another, in this process
    python -m ridni_dev.bench --history 365            # a year of nights at 20,000 persons: the history curve
    python -m ridni_dev.bench --records 12000 --dags   # the nights through the DAGs (dag.test())
    python -m ridni_dev.bench --backends duckdb,spark  # the first night's linkage again on each backend

A benchmark, never a timed test. It generates a population (``ridni synth`` in a child process, so
its memory is not counted), makes a database of its own (``ridni_bench_<hex>``) on the warehouse's
server, migrates it, and runs the night's steps (``ridni.night``, what the DAGs' tasks call) in the
DAGs' order:

    ingest per source (in parallel) -> resolve -> decide -> publish (marts, exports)

for the first (full) night and for the second (incremental) night. The eight ingest DAGs are
independent and Celery runs them side by side, so ``--workers N`` (default: the usable CPUs) runs the
night's ingest steps in a pool of N spawned worker processes, submitted largest drop first
(rows in the manifest); ``resolve`` and the rest run after all of them, in this process, as
the asset schedule runs them after every ingest DAG. The workers are long-lived, like Celery's: started
before the first night's clock (each has imported the pipeline and Great Expectations, installed the
instrumentation below on a recorder of its own and made its engine; ``pool.start_seconds``) and
stopped at the end. After each ingest phase, off the clock, every worker closes its connections and
gives its freed heap back to the system (``malloc_trim``): an Airflow 3 task's process exits when its
task ends, and an idle worker should weigh what a worker holds, not what the last task let go.
``--workers 1`` keeps everything in this process, one source after another, as before; the first
night's ``validate`` then includes Great Expectations' import, as it always did.

The stages named in the report are timed in the process that runs them: the steps and a few parts of
the load mark their stages through ``ridni.timing``, to which the bench's recorder listens, and the
public functions inside a step are wrapped for the time of the run (:func:`instrument`):
``verify_archive`` (the ingest step's own time; receive: sha256 + archive copy; manifest check), ``parse`` (marked in ``ridni.ingest.load``), ``validate`` (the GX suite),
``load`` (the rest of ``load_drop``: row hash, COPY into staging, merge into core, withdrawals,
commit), ``data_docs`` (the source's Data Docs, which its DAG builds after the ingest) -- these five
make the *ingest phase* --, then ``standardise`` (``build_features``), ``link``
(the rest of ``resolve_persons``: deterministic keys, Splink, clusters, writes), ``decide``
(``decide_night``) and ``publish`` (``build_marts`` + ``publish_night``).

Seconds: a stage's seconds are *exclusive* (a stage nested in another, parse inside load_drop, is
charged to itself only). With workers, the four ingest stages are *worker-seconds*, summed over the
workers (marked ``*`` in the table, ``"parallel": true`` in the JSON); they add up to more than the
phase took, so the night's total (``total_seconds``, what the targets are judged on) counts the
ingest phase once, as its wall time (first submission to last result; ``ingest_phase.wall_seconds``),
plus the other stages' seconds. Their rows/s are rows per worker-second (what one worker does in that
stage; stages overlap across workers, so a stage has no wall time of its own); the phase's line gives
the rows parsed per wall second. Without workers the total is the stages' sum, as before. Handing
the COPY vs to_sql sample back and tidying the workers after the phase are outside the total (but in
``wall_seconds``, the night's raw wall clock).

Memory: a sampling thread reads the resident set (VmRSS) of this process *plus*, during the ingest
phase, of every worker (``/proc/<pid>/status``) every 10 ms, and charges the sum to the stage on top
here and to each stage a worker is in at that moment (the workers publish theirs in shared memory);
each process also keeps its own high-water mark per stage (``getrusage``, which catches peaks a thread
misses while C code holds the GIL), and a stage's peak is the larger of the two. The night's peak
(``peak_rss_mb``, judged against the target) is the largest sum: the processes running the pipeline
at the same time, never one of them alone; the ingest tasks' processes are gone when persons are
resolved, as in Airflow. ``peak_rss_with_idle_workers_mb`` adds the idle workers' resident sets
(measured after the tidying, ``ingest_phase.idle_workers_rss_mb``) to every later stage: the bound if
long-lived workers kept the pipeline's imports all night.

Side by side: the same staging rows loaded by COPY (``ridni.db.copy_frame``) and by pandas
``to_sql`` (the first rows of the largest staging COPY of the first night, kept by the worker that made
it); Splink's blocked comparisons against all pairs (the reduction ratio) and the share of the truly
matching pairs (generator truth) that blocking keeps. The database is dropped at the end.

Modes: ``--history N`` runs N consecutive generated nights (at ``--persons``, default 20,000) and
keeps, per night, its time, its stages' seconds and the size of what grows with history (Data Docs
and archive bytes, audit rows, ``core.source_record_version`` rows and bytes, the database), then
fits each against the night's number and carries it to ten years (``history_summary``). ``--dags``
runs each night through the DAGs (``dag.test()``, the demo's runner) in this process, on its
``AIRFLOW_HOME``: the stages are timed as before, and the runs' wall time less the stages' seconds is
the orchestration's overhead. ``--backends duckdb,spark`` links the first night's records again
(``resolve_persons(retrain=True)``) on each linkage backend, off the clock, and compares the persons.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import ctypes
import datetime as dt
import gc
import io
import json
import multiprocessing
import os
import platform
import pstats
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

STAGES = ["verify_archive", "parse", "validate", "load", "data_docs", "standardise", "link", "decide", "publish"]
INGEST_STAGES = STAGES[:5]  # what an ingest DAG does (ingest_source, then Data Docs): the workers' part
ROWS_OF = {
    "verify_archive": "rows declared in the manifests", "parse": "rows parsed", "validate": "rows validated",
    "load": "rows loaded into staging", "data_docs": "sources whose Data Docs were built",
    "standardise": "source records", "link": "source records",
    "decide": "linked source records", "publish": "persons with a status",
}
TARGETS = {"full_night_seconds": 180.0, "full_night_peak_rss_mb": 4096.0, "incremental_night_seconds": 30.0,
           "history_last_night_vs_night_2": 1.2}
START = dt.date(2026, 11, 1)


def first_night(nights: int) -> dt.date:
    """The first generated night: START, or earlier when the nights would run past today (ingestion
    refuses a drop dated more than a day ahead, as a source with a wrong clock)."""
    return min(START, dt.date.today() - dt.timedelta(days=nights - 1))
MB = 1024 * 1024


# ------------------------------------------------------------------------------------------ memory
def rss_bytes(pid: int | str = "self") -> int:
    """A process's resident set now (VmRSS), 0 where /proc is not there or the process is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def maxrss_bytes() -> int:
    """The process's resident high-water mark so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ------------------------------------------------------------------------------------------ recorder
@dataclass
class StageStat:
    seconds: float = 0.0
    calls: int = 0
    rows: int = 0
    peak_rss: int = 0
    rss_start: int | None = None


@dataclass
class _Frame:
    name: str
    group: str | None
    resumed: float


@dataclass
class Recorder:
    """Exclusive wall time, rows and peak RSS per stage; stages nest (the innermost is charged).

    ``extra_pids``: processes whose resident set counts with this one's (the ingest workers);
    ``busy``: the stages those processes are in now (they are charged the summed RSS too);
    ``on_top``: told the top stage whenever it changes (a worker publishes it to ``busy``).
    """

    interval: float = 0.01
    stats: dict[str, StageStat] = field(default_factory=dict)
    by_group: dict[tuple[str, str], float] = field(default_factory=dict)
    stack: list[_Frame] = field(default_factory=list)
    extra_pids: list[int] = field(default_factory=list)
    busy: Callable[[], list[str]] | None = None
    on_top: Callable[[str | None], None] | None = None

    def __post_init__(self):
        self._lock = threading.Lock()
        self._maxrss = maxrss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="ridni-bench-rss", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def reset(self) -> None:
        with self._lock:
            self.stats, self.by_group = {}, {}

    def _stat(self, name: str) -> StageStat:
        return self.stats.setdefault(name, StageStat())

    def rss(self) -> int:
        """The resident set of this process and of every live extra process, summed."""
        return rss_bytes() + sum(rss_bytes(pid) for pid in list(self.extra_pids))

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = self.rss()
            busy = self.busy() if self.busy else []
            with self._lock:
                for name in ([self.stack[-1].name] if self.stack else []) + busy:
                    s = self._stat(name)
                    s.peak_rss = max(s.peak_rss, rss)

    def _boundary(self, now: float) -> None:
        """Charge the time and any new high-water mark since the last boundary to the top stage."""
        if not self.stack:
            self._maxrss = max(self._maxrss, maxrss_bytes())
            return
        top = self.stack[-1]
        s = self._stat(top.name)
        s.seconds += now - top.resumed
        if top.group:
            key = (top.group, top.name.split("/")[0])
            self.by_group[key] = self.by_group.get(key, 0.0) + now - top.resumed
        rss, high = self.rss(), maxrss_bytes()
        s.peak_rss = max(s.peak_rss, rss, high if high > self._maxrss else 0)
        self._maxrss = max(self._maxrss, high)

    @property
    def top(self) -> str:
        return self.stack[-1].name.split("/")[0] if self.stack else "other"

    @contextlib.contextmanager
    def stage(self, name: str, group: str | None = None) -> Iterator[StageStat]:
        now = time.perf_counter()
        with self._lock:
            self._boundary(now)
            group = group or (self.stack[-1].group if self.stack else None)
            self.stack.append(_Frame(name, group, now))
            s = self._stat(name)
            if s.rss_start is None:
                s.rss_start = rss_bytes()
            if self.on_top:
                self.on_top(name.split("/")[0])
        try:
            yield s
        finally:
            now = time.perf_counter()
            with self._lock:
                self._boundary(now)
                self.stack.pop()
                s.calls += 1
                if self.stack:
                    self.stack[-1].resumed = now
                if self.on_top:
                    self.on_top(self.stack[-1].name.split("/")[0] if self.stack else None)

    def add_rows(self, stage: str, n: int) -> None:
        with self._lock:
            self._stat(stage).rows += int(n)

    def export(self) -> tuple[dict[str, dict], dict[tuple[str, str], float]]:
        """Stats as plain data (they cross a process boundary, where this module may be ``__main__``)."""
        with self._lock:
            return ({k: {"seconds": v.seconds, "calls": v.calls, "rows": v.rows, "peak_rss": v.peak_rss,
                         "rss_start": v.rss_start} for k, v in self.stats.items()}, dict(self.by_group))

    def merge(self, stats: dict[str, dict], by_group: dict[tuple[str, str], float]) -> None:
        """Add another recorder's :meth:`export` (a worker's, for one source): seconds add up, peaks take the max."""
        with self._lock:
            for name, v in stats.items():
                s = self._stat(name)
                s.seconds += v["seconds"]
                s.calls += v["calls"]
                s.rows += v["rows"]
                s.peak_rss = max(s.peak_rss, v["peak_rss"])
                if v["rss_start"] is not None:
                    s.rss_start = v["rss_start"] if s.rss_start is None else min(s.rss_start, v["rss_start"])
            for key, seconds in by_group.items():
                self.by_group[key] = self.by_group.get(key, 0.0) + seconds

    def table(self) -> list[dict]:
        """One row per stage of :data:`STAGES` (sub-stages folded into their stage)."""
        rows = []
        for name in STAGES:
            parts = {k: v for k, v in self.stats.items() if k == name or k.startswith(name + "/")}
            seconds = sum(v.seconds for v in parts.values())
            n = parts[name].rows if name in parts else 0
            starts = [v.rss_start for v in parts.values() if v.rss_start is not None]
            rows.append({
                "stage": name, "seconds": round(seconds, 3), "rows": n, "rows_of": ROWS_OF[name],
                "rows_per_second": round(n / seconds) if seconds > 0 else None,
                "peak_rss_mb": round(max((v.peak_rss for v in parts.values()), default=0) / MB, 1),
                "rss_at_start_mb": round(min(starts) / MB, 1) if starts else None,
            })
        return rows

    def substages(self) -> dict[str, dict]:
        return {k: {"seconds": round(v.seconds, 3), "calls": v.calls, "peak_rss_mb": round(v.peak_rss / MB, 1)}
                for k, v in sorted(self.stats.items())}

    def groups(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for (group, stage), seconds in sorted(self.by_group.items()):
            out.setdefault(group, {})[stage] = round(seconds, 3)
        return out


# ------------------------------------------------------------------------------------------ instrumentation
class Patches:
    """Attribute patches undone in reverse order: the instrumentation lives only in this process."""

    def __init__(self):
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner, attr: str, make: Callable[[Callable], Callable]) -> None:
        original = getattr(owner, attr)
        self._undo.append(lambda: setattr(owner, attr, original))
        setattr(owner, attr, make(original))

    def on_undo(self, undo: Callable[[], None]) -> None:
        self._undo.append(undo)

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()


def _timed(rec: Recorder, name: str | Callable[[], str], rows: Callable | None = None,
           rows_stage: str | None = None):
    def make(fn):
        def wrapper(*args, **kwargs):
            label = name() if callable(name) else name
            with rec.stage(label):
                result = fn(*args, **kwargs)
            if rows is not None:
                rec.add_rows(rows_stage or label.split("/")[0], rows(result, *args, **kwargs))
            return result
        wrapper.__wrapped__ = fn
        return wrapper
    return make


@dataclass
class Capture:
    """What the instrumentation keeps for the side-by-side comparisons (small)."""

    compare_rows: int
    staging_sample: object = None  # the first rows of the largest staging COPY
    staging_source_rows: int = 0
    staging_source: str | None = None
    current_source: str | None = None


def instrument(rec: Recorder, cap: Capture) -> Patches:
    """Time the stages: ``rec`` listens to the stages the pipeline marks (``ridni.timing``: the night's steps,
    and parts of the load), and wraps the public functions whose time is a stage of its own or a part of one
    (module attributes the stages look up at call time), Splink's training and scoring, and pandas' reads."""
    import pandas as pd
    import splink.internals.linker_components.inference as splink_inference
    import splink.internals.linker_components.training as splink_training

    import ridni.decide.run as decide_run
    import ridni.ingest.drops as drops
    import ridni.ingest.load as load
    import ridni.ingest.run as ingest_run
    import ridni.linkage.clusters as clusters
    import ridni.linkage.run as linkage_run
    import ridni.publish.marts as marts
    from ridni import night as night_steps
    from ridni import timing

    p = Patches()
    timing.start(rec)
    p.on_undo(lambda: timing.stop(rec))
    # verify and archive: ingest_source's own time (drop lookup, transaction) plus these two
    p.wrap(drops, "receive", _timed(rec, "verify_archive/receive",
                                    lambda d, *a, **k: sum(int(f.get("rows") or 0)
                                                           for f in d.manifest.get("files", [])
                                                           if isinstance(f, dict))))
    p.wrap(drops, "verify", _timed(rec, "verify_archive/verify"))
    # the ingest DAG's build_data_docs task (and the bench's own ingest_and_docs) call ridni.night.data_docs
    p.wrap(night_steps, "data_docs", _timed(rec, "data_docs", lambda r, *a, **k: 1))
    p.wrap(ingest_run, "load_drop", _timed(rec, "load", lambda r, *a, **k: r.rows_loaded))
    # parse: the package marks it (ridni.timing), the files of an event drop parsed together included
    p.wrap(load, "validate", _timed(rec, "validate", lambda r, contract, rows, **k: len(rows)))

    def copy_for(module):
        def make(fn):
            def wrapper(conn, table, columns, frame):
                if table == "staging.record" and len(frame) > cap.staging_source_rows:
                    cap.staging_sample = frame[list(columns)].head(cap.compare_rows).copy()
                    cap.staging_source_rows, cap.staging_source = len(frame), cap.current_source
                with rec.stage(f"{rec.top}/copy"):
                    return fn(conn, table, columns, frame)
            return wrapper
        p.wrap(module, "copy_frame", make)

    for module in (load, linkage_run, decide_run, marts):
        copy_for(module)
    p.wrap(pd, "read_sql", _timed(rec, lambda: f"{rec.top}/read_sql"))
    p.wrap(load, "read_text_frame", _timed(rec, lambda: f"{rec.top}/read_copy"))  # large reads go by COPY TO
    # linkage's parts by what they do (the reads of the first two are theirs)
    for part, name in (("_read_records", "changed_records"), ("_neighbourhood", "partners"),
                       ("_affected_records", "affected_persons"), ("_replace_edges", "edges"),
                       ("_write_links", "write_links")):
        p.wrap(linkage_run, part, _timed(rec, f"link/{name}"))

    p.wrap(linkage_run, "build_features", _timed(rec, "standardise", lambda r, *a, **k: len(r)))
    p.wrap(linkage_run, "deterministic_edges", _timed(rec, "link/deterministic_keys"))
    p.wrap(clusters, "components", _timed(rec, "link/clusters"))
    p.wrap(clusters, "assign_person_ids", _timed(rec, "link/person_ids"))
    training = splink_training.LinkerTraining
    p.wrap(training, "estimate_probability_two_random_records_match", _timed(rec, "link/splink_prior"))
    p.wrap(training, "estimate_u_using_random_sampling", _timed(rec, "link/splink_u"))
    p.wrap(training, "estimate_parameters_using_expectation_maximisation", _timed(rec, "link/splink_em"))
    p.wrap(splink_inference.LinkerInference, "predict", _timed(rec, "link/splink_predict"))

    p.wrap(decide_run, "person_profiles", _timed(rec, "decide/profiles"))
    p.wrap(decide_run, "to_evidence", _timed(rec, "decide/evidence", lambda r, records: len(records)))
    p.wrap(decide_run, "decide", _timed(rec, "decide/rules"))
    return p


# ------------------------------------------------------------------------------------------ machine
def machine(engine) -> dict:
    import sqlalchemy as sa

    cpu = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    with engine.connect() as conn:
        pg = conn.execute(sa.text("SELECT version()")).scalar()
        pg_settings = dict(conn.execute(sa.text(
            "SELECT name, setting || COALESCE(unit, '') FROM pg_settings WHERE name IN ('shared_buffers', "
            "'work_mem', 'maintenance_work_mem', 'max_wal_size', 'synchronous_commit', 'max_parallel_workers', "
            "'effective_cache_size', 'fsync')")).all())
    versions = {}
    for name in ("pandas", "numpy", "pyarrow", "duckdb", "splink", "great_expectations", "sqlalchemy", "psycopg2"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[name] = version(name if name != "psycopg2" else "psycopg2-binary")
    return {
        "cpu_model": cpu, "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gb": mem, "os": platform.platform(), "python": platform.python_version(),
        "postgresql": pg, "postgresql_settings": pg_settings, "packages": versions,
    }


# ------------------------------------------------------------------------------------------ database
@contextlib.contextmanager
def bench_database(server_url: str, keep: bool = False) -> Iterator[str]:
    """A fresh database ``ridni_bench_<hex>`` on the server, dropped afterwards (unless ``keep``)."""
    import sqlalchemy as sa

    from ridni import db

    admin = sa.create_engine(db.normalise_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"ridni_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(db.normalise_url(server_url)).set(database=name).render_as_string(
            hide_password=False)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def table_activity(engine) -> dict[str, dict[str, int]]:
    """Rows inserted/updated/deleted per table so far (pg_stat_user_tables; backends flush on exit)."""
    import sqlalchemy as sa

    engine.dispose()  # close the pool: its backends flush their statistics as they exit
    time.sleep(0.7)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        rows = conn.execute(sa.text(
            "SELECT schemaname || '.' || relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
            "WHERE schemaname IN ('raw', 'staging', 'quarantine', 'core', 'marts', 'audit')")).all()
    return {t: {"inserted": i, "updated": u, "deleted": d} for t, i, u, d in rows}


def _activity_delta(before: dict, after: dict) -> dict[str, dict[str, int]]:
    out = {}
    for table, now in sorted(after.items()):
        then = before.get(table, {"inserted": 0, "updated": 0, "deleted": 0})
        delta = {k: now[k] - then[k] for k in now}
        if any(delta.values()):
            out[table] = delta
    return out


# ------------------------------------------------------------------------------------------ generation
def generate_extracts(work: Path, records: int, nights: int, seed: int, persons: int | None = None) -> dict:
    """``ridni synth`` in a child process (its memory is not the pipeline's); reused when already there.
    ``persons``: the population, instead of the one whose first night delivers about ``records``."""
    from ridni_dev.synth.generate import records_to_persons

    persons = persons or records_to_persons(records)
    marker = work / "bench-synth.json"
    start = first_night(nights)
    wanted = {"persons": persons, "nights": nights, "seed": seed, "start": start.isoformat()}
    if marker.exists() and json.loads(marker.read_text()).get("args") == wanted:
        info = json.loads(marker.read_text())
        info["reused"] = True
        return info
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                                      os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, resource; from ridni.cli import main; rc = main(sys.argv[1:]); "
         "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)",
         "synth", "--out", str(work), "--persons", str(persons), "--nights", str(nights), "--seed", str(seed),
         "--start-date", start.isoformat()],
        env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"ridni synth failed:\n{proc.stdout}\n{proc.stderr}")
    maxrss = next((int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("maxrss_kb")), 0)
    info = {"args": wanted, "seconds": round(time.perf_counter() - t0, 1), "peak_rss_mb": round(maxrss / 1024, 1),
            "rows_per_night": {}, "reused": False}
    for n in range(nights):
        night = (start + dt.timedelta(days=n)).isoformat()
        per = {}
        for manifest in sorted((work / "landing").glob(f"*/{night}/manifest.json")):
            m = json.loads(manifest.read_text())
            per[m["source"]] = sum(int(f["rows"]) for f in m["files"])
        info["rows_per_night"][night] = per
    marker.write_text(json.dumps(info, indent=2))
    return info


# ------------------------------------------------------------------------------------------ a night
@dataclass
class Profiler:
    folder: Path | None
    results: dict[str, list[dict]] = field(default_factory=dict)

    @contextlib.contextmanager
    def segment(self, name: str) -> Iterator[None]:
        if self.folder is None:
            yield
            return
        prof = cProfile.Profile()
        prof.enable()
        try:
            yield
        finally:
            prof.disable()
            self.folder.mkdir(parents=True, exist_ok=True)
            prof.dump_stats(self.folder / f"{name}.prof")
            self.results[name] = hotspots(prof)


def hotspots(prof: cProfile.Profile, n: int = 15) -> list[dict]:
    """The functions with the most own time, with their cumulative time."""
    stats = pstats.Stats(prof, stream=io.StringIO())
    rows = []
    for (filename, line, func), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        rows.append({"function": f"{_short(filename)}:{line}({func})", "calls": calls,
                     "own_seconds": round(tottime, 3), "cumulative_seconds": round(cumtime, 3)})
    return sorted(rows, key=lambda r: r["own_seconds"], reverse=True)[:n]


def _short(filename: str) -> str:
    for marker in ("site-packages/", "include/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


# ------------------------------------------------------------------------------------------ the ingest workers
_WORKER: dict = {}  # a pool worker's own state, made by _worker_init (empty in the bench's process)


def _worker_init(url: str, compare_rows: int, slots, counter, barrier, largest) -> None:
    """A worker's start, before the night's clock: imports, instrumentation, engine (a Celery worker's state)."""
    import great_expectations  # noqa: F401 (seconds of import: a long-lived worker has paid them)
    import great_expectations.execution_engine.pandas_execution_engine  # noqa: F401

    import ridni.night  # noqa: F401
    from ridni import db

    with counter.get_lock():
        slot = counter.value
        counter.value += 1

    def on_top(name: str | None) -> None:  # what the bench's sampler charges this process's RSS to
        slots[slot] = STAGES.index(name) if name in STAGES else -1

    rec = Recorder(on_top=on_top)
    cap = Capture(compare_rows)
    _WORKER.update(rec=rec, cap=cap, patches=instrument(rec, cap), engine=db.make_engine(url), barrier=barrier,
                   largest=largest, held=(0, None, None))


def _worker_ready() -> int:
    """Every worker runs one of these at once (the barrier), so each has finished its initializer."""
    _WORKER["barrier"].wait(timeout=900)
    return os.getpid()


def _worker_ingest(source_id: str, night: dt.date, capture_above: int | None, profile_folder: str | None) -> dict:
    """One source's ingest DAG (ingest, then Data Docs), as its tasks run it; returns the recorder's stats for it."""
    rec: Recorder = _WORKER["rec"]
    cap: Capture = _WORKER["cap"]
    rec.reset()
    cap.current_source, cap.staging_sample, cap.staging_source = source_id, None, None
    # only a COPY larger than any the workers kept so far is worth a copy of its first rows
    cap.staging_source_rows = (sys.maxsize if capture_above is None
                               else max(capture_above, _WORKER["held"][0], _WORKER["largest"].value))
    prof = Profiler(Path(profile_folder) if profile_folder else None)
    t0 = time.perf_counter()
    with prof.segment(f"{night}-ingest-{source_id}"):
        result = ingest_and_docs(_WORKER["engine"], source_id, night)
    busy = time.perf_counter() - t0
    if cap.staging_sample is not None:
        # kept here, handed over after the phase (_worker_settle): pickling 100k rows takes a second
        if cap.staging_source_rows > _WORKER["held"][0]:
            _WORKER["held"] = (cap.staging_source_rows, cap.staging_source, cap.staging_sample)
        with _WORKER["largest"].get_lock():
            _WORKER["largest"].value = max(_WORKER["largest"].value, cap.staging_source_rows)
        cap.staging_sample = None
    stats, by_group = rec.export()
    return {"source": source_id, "pid": os.getpid(), "busy_seconds": busy, "stats": stats, "by_group": by_group,
            "profile": prof.results, "maxrss": maxrss_bytes(),
            "result": _ingest_result(result)}


def ingest_and_docs(engine, source_id: str, night: dt.date):
    """A source's ingest DAG: the ingest step, then the Data Docs of its validations unless the drop was
    refused or absent (``build_data_docs`` runs after ``ingest`` in the DAG, in the same worker slot)."""
    from ridni import night as steps

    result = steps.ingest(engine, source_id, night)
    if result.status not in ("no_drop", *steps.REFUSED):
        steps.data_docs(engine, source_id, night)  # timed as the stage data_docs by instrument()'s wrapper
    return result


def _ingest_result(result) -> dict:
    return {"status": result.status, **result.counts, "reason": result.reason}


def _worker_settle() -> dict:
    """After the phase, off the clock (every worker runs one, the barrier): hand over the largest staging
    sample if this worker holds it, close the connections (their backends flush their statistics for
    ``rows_written``) and give the freed heap back to the system -- an Airflow 3 task's process exits
    when its task ends, so an idle worker must not be counted for memory the pipeline has let go."""
    _WORKER["barrier"].wait(timeout=900)
    held, _WORKER["held"] = _WORKER["held"], (0, None, None)
    _WORKER["engine"].dispose()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return {"pid": os.getpid(), "rss": rss_bytes(),
            "sample": held if held[2] is not None and held[0] >= _WORKER["largest"].value else None}


class IngestPool:
    """N spawned worker processes for the ingest phases, ready before the first night's clock starts.

    Long-lived, as Celery's workers are: they stay up (idle between the ingest phases, when only
    ``peak_rss_with_idle_workers_mb`` counts them) until :meth:`close` at the end of the benchmark.
    """

    def __init__(self, workers: int, url: str, compare_rows: int):
        from ridni_dev import (
            bench as here,  # the workers' functions by their importable name, never __main__'s
        )

        ctx = multiprocessing.get_context("spawn")
        self.here = here
        self.workers = workers
        self.slots = ctx.Array("i", [-1] * workers, lock=False)  # each worker's stage now (index in STAGES)
        self.largest = ctx.Value("q", 0)  # rows of the largest staging COPY so far, over the workers
        self._barrier = ctx.Barrier(workers)
        self.closed = False
        t0 = time.perf_counter()
        self.executor = ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=here._worker_init,
            initargs=(url, compare_rows, self.slots, ctx.Value("i", 0), self._barrier, self.largest))
        try:
            self.pids = [f.result() for f in [self.executor.submit(here._worker_ready) for _ in range(workers)]]
        except BaseException:
            self.close()
            raise
        self.start_seconds = round(time.perf_counter() - t0, 2)

    def busy(self) -> list[str]:
        return [STAGES[i] for i in list(self.slots) if i >= 0]

    def settle(self) -> tuple[tuple[int, str, object] | None, dict[str, float]]:
        """Every worker's :func:`_worker_settle`: the largest staging sample, and each worker's RSS (MB) after."""
        done = [f.result() for f in [self.executor.submit(self.here._worker_settle) for _ in range(self.workers)]]
        sample = max((d["sample"] for d in done if d["sample"]), key=lambda h: h[0], default=None)
        return sample, {str(d["pid"]): round(d["rss"] / MB, 1) for d in done}

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.executor.shutdown(wait=True, cancel_futures=True)


def manifest_rows(landing: str, night: dt.date, sources: list[str]) -> dict[str, int]:
    """Rows each source's manifest declares for the night (0 without a drop): the submission order."""
    import fsspec

    from ridni.ingest import drops

    out = {}
    for source_id in sources:
        fs, root = fsspec.core.url_to_fs(drops.drop_uri(landing, source_id, night))
        try:
            with fs.open(f"{root}/{drops.MANIFEST}", "rb") as f:
                files = json.load(f).get("files", [])
            out[source_id] = sum(int(f.get("rows") or 0) for f in files if isinstance(f, dict))
        except (OSError, ValueError):
            out[source_id] = 0
    return out


def ingest_in_pool(pool: IngestPool, night: dt.date, rec: Recorder, cap: Capture, prof: Profiler,
                   capture: bool) -> tuple[dict, dict]:
    """The night's ingest phase in the pool, largest drop first; the workers' stats merged into ``rec``."""
    from ridni.config import settings
    from ridni.contracts import all_contracts

    sources = [c.source_id for c in all_contracts()]
    size = manifest_rows(settings().landing, night, sources)
    order = sorted(sources, key=lambda s: size[s], reverse=True)  # stable: ties keep the contracts' order
    above = cap.staging_source_rows if capture else None
    folder = str(prof.folder) if prof.folder else None
    done: dict[str, dict] = {}
    rec.extra_pids[:] = pool.pids  # their memory counts while they run the night's tasks
    rec.busy = pool.busy
    at_start = {"this_process": round(rss_bytes() / MB, 1),
                "workers": {str(pid): round(rss_bytes(pid) / MB, 1) for pid in pool.pids}}
    try:
        t0 = time.perf_counter()
        with rec.stage("ingest_phase"):
            futures = [pool.executor.submit(pool.here._worker_ingest, s, night, above, folder) for s in order]
            for future in as_completed(futures):
                r = future.result()
                done[r["source"]] = r
        wall = time.perf_counter() - t0
    finally:
        rec.busy = None
        rec.extra_pids.clear()
    held, rss_after = pool.settle()  # after the clock: neither the hand-over nor the tidying is the pipeline's
    if held and capture:
        cap.staging_source_rows, cap.staging_source, cap.staging_sample = held
    ingest, per_worker = {}, {}
    for source_id in sources:  # the contracts' order, as the serial run reports them
        r = done[source_id]
        rec.merge(r["stats"], r["by_group"])
        prof.results.update(r["profile"])
        ingest[source_id] = r["result"]
    for source_id in order:
        w = per_worker.setdefault(str(done[source_id]["pid"]), {"sources": [], "busy_seconds": 0.0})
        w["sources"].append(source_id)
        w["busy_seconds"] = round(w["busy_seconds"] + done[source_id]["busy_seconds"], 3)
        w["own_peak_rss_mb"] = round(max(w.get("own_peak_rss_mb", 0), done[source_id]["maxrss"] / MB), 1)
    phase = {
        "mode": f"{pool.workers} worker processes (spawn), side by side", "workers": pool.workers,
        "pids": pool.pids, "sources": len(done), "order": order, "manifest_rows": size,
        "wall_seconds": round(wall, 3),
        "worker_stage_seconds": round(sum(v["seconds"] for r in done.values() for v in r["stats"].values()), 3),
        "parallel_stages": INGEST_STAGES, "per_worker": per_worker, "rss_at_start_mb": at_start,
        "peak_rss_mb": round(rec.stats["ingest_phase"].peak_rss / MB, 1),
        "idle_workers_rss_mb": rss_after, "pool_start_seconds": pool.start_seconds,
    }
    return ingest, phase


def run_night(engine, night: dt.date, rec: Recorder, cap: Capture, prof: Profiler,
              pool: IngestPool | None = None, capture: bool = True) -> dict:
    """The night's steps (``ridni.night``) in the DAGs' order; returns what each returned.

    With a ``pool`` the ingest phase runs in its workers; without one, in this process, one source after
    another. Each source's Data Docs are built after its ingest, as its DAG does, and timed (``data_docs``).
    """
    from ridni import night as steps
    from ridni.contracts import all_contracts

    out: dict = {"ingest": {}}
    wall0 = time.perf_counter()
    if pool is not None:
        out["ingest"], out["ingest_phase"] = ingest_in_pool(pool, night, rec, cap, prof, capture)
    else:
        with prof.segment(f"{night}-ingest"):
            for contract in all_contracts():
                cap.current_source = contract.source_id
                out["ingest"][contract.source_id] = _ingest_result(ingest_and_docs(engine, contract.source_id, night))
        out["ingest_phase"] = {"mode": "in this process, one source after another", "workers": 1,
                               "sources": len(out["ingest"]), "wall_seconds": round(time.perf_counter() - wall0, 3),
                               "parallel_stages": []}
    cap.current_source = None
    gc.collect()
    with prof.segment(f"{night}-resolve_persons"):
        out["resolve_persons"] = steps.resolve(engine, night).counts
    gc.collect()
    with prof.segment(f"{night}-decide_night"):
        out["decide_night"] = steps.decide(engine, night).counts
    gc.collect()
    with prof.segment(f"{night}-publish"):
        out["build_marts"] = steps.publish(engine, night).counts
    out["wall_seconds"] = round(time.perf_counter() - wall0, 3)
    gc.collect()
    return out


def airflow_home() -> dict:
    """Airflow's metadata DB in this process's ``AIRFLOW_HOME``, migrated (``airflow db migrate``) off the clock."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True,
                          check=False)
    if proc.returncode:
        raise RuntimeError(f"airflow db migrate failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return {"home": os.environ.get("AIRFLOW_HOME"), "migrate_seconds": round(time.perf_counter() - t0, 1)}


def run_night_through_dags(url: str, night: dt.date, rec: Recorder) -> dict:
    """The night as the scheduler runs it: every ingest DAG, then ``resolve_persons`` and ``publish_hq`` as
    their assets trigger them (:func:`ridni_dev.demo.run_nightly_dags`, ``dag.test()``), in this process.

    The tasks call the same steps, so the recorder sees the same stages; what the night took beyond them
    is the orchestration's: parsing the DAG files, the metadata DB's runs, task instances and asset events,
    XComs and task start-up (``orchestration.overhead_seconds``).
    """
    from ridni_dev.demo import run_nightly_dags

    t0 = time.perf_counter()
    states = run_nightly_dags(url, night)
    wall = time.perf_counter() - t0
    failed = {d: s for d, s in states.items() if s != "success"}
    if failed:
        raise RuntimeError(f"{night}: DAG runs not successful: {failed}")
    stage_seconds = sum(v.seconds for v in rec.stats.values())
    ingest = sum(v.seconds for k, v in rec.stats.items() if k.split("/")[0] in INGEST_STAGES)
    return {"ingest_phase": {"mode": "the ingest DAGs one after another (dag.test(), this process); wall "
                             "seconds: their stages' seconds", "workers": 1, "sources": len(states) - 2,
                             "wall_seconds": round(ingest, 3), "parallel_stages": []},
            "wall_seconds": round(wall, 3), "dag_states": states,
            "orchestration": {"dags_wall_seconds": round(wall, 3), "stage_seconds": round(stage_seconds, 3),
                              "overhead_seconds": round(wall - stage_seconds, 3),
                              "overhead_share": round((wall - stage_seconds) / wall, 4) if wall else None}}


def _linkage_backend() -> str:
    from ridni.linkage.model import backend

    return backend()


def compare_backends(engine, night: dt.date, backends: list[str]) -> dict:
    """The night's records linked again (``resolve_persons(retrain=True)``: train and score every pair) on
    each backend in turn: the seconds it took, and whether the persons (sets of records) are the same."""
    import pandas as pd
    import sqlalchemy as sa

    from ridni.linkage.run import resolve_persons

    def persons() -> set[frozenset]:
        with engine.connect() as conn:
            links = pd.read_sql(sa.text("SELECT source_id, record_key, person_id FROM core.person_link"), conn)
        keys = links["source_id"] + "/" + links["record_key"]
        return {frozenset(g) for g in keys.groupby(links["person_id"]).agg(list)}

    saved = os.environ.get("RIDNI_LINKAGE_BACKEND")
    out: dict = {"runs": {}}
    partitions = {}
    try:
        for name in backends:
            os.environ["RIDNI_LINKAGE_BACKEND"] = name
            if name == "spark":  # the session's start (a JVM) is once per worker process, not per night
                from ridni.linkage.model import spark_session

                t0 = time.perf_counter()
                session = spark_session()
                out["spark_session"] = {"start_seconds": round(time.perf_counter() - t0, 1),
                                        "master": session.sparkContext.master, "version": session.version}
            gc.collect()
            t0 = time.perf_counter()
            counts = resolve_persons(engine, night, retrain=True)
            seconds = time.perf_counter() - t0
            partitions[name] = persons()
            out["runs"][name] = {"seconds": round(seconds, 2), "records": counts["records"],
                                 "persons": counts["persons"], "pairs_above_lower": counts["pairs_above_lower"],
                                 "splink_links": counts["splink_links"], "review_pairs": counts["review_pairs"]}
    finally:
        if saved is None:
            os.environ.pop("RIDNI_LINKAGE_BACKEND", None)
        else:
            os.environ["RIDNI_LINKAGE_BACKEND"] = saved
    first = backends[0]
    out["same_persons_as_" + first] = {b: partitions[b] == partitions[first] for b in backends[1:]}
    out["persons_differing_from_" + first] = {b: len(partitions[b] ^ partitions[first]) for b in backends[1:]}
    return out


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0


def grown(engine, work: Path) -> dict:
    """What grows with the history: files on disk and the rows of the tables that keep every night."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        audit = conn.execute(sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'audit' AND c.relkind IN ('r', 'p') AND NOT c.relispartition")).scalars().all()
        audit_rows = {name: conn.execute(sa.text(f'SELECT count(*) FROM audit."{name}"')).scalar()  # noqa: S608
                      for name in audit}  # (the catalogue's own table names)
        versions = conn.execute(sa.text("SELECT count(*) FROM core.source_record_version")).scalar()
        version_bytes = conn.execute(sa.text(
            "SELECT pg_total_relation_size('core.source_record_version')")).scalar()
        database = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
        quarantined = conn.execute(sa.text("SELECT count(*) FROM quarantine.rejected_row")).scalar()
        # the population itself grows too (new appeals every night): what a retraining night links again
        records, persons = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT person_id) FROM core.person_link")).one()
    return {"records": records, "persons": persons,
            "data_docs_bytes": _folder_bytes(work / "data_docs"), "archive_bytes": _folder_bytes(work / "archive"),
            "exports_bytes": _folder_bytes(work / "exports"), "audit_rows": sum(audit_rows.values()),
            "audit_rows_by_table": audit_rows, "source_record_version_rows": versions,
            "source_record_version_bytes": version_bytes, "quarantine_rows": quarantined,
            "database_bytes": database}


def vacuum_between_nights(url: str) -> float | None:
    """Between two nights, what PostgreSQL's autovacuum does in the day between two real nights, when
    the server has it off (this machine's has): VACUUM (ANALYZE), off the clock. Without it the tables
    each night rewrites in part (links, evidence, reconciliation) keep every dead row, and a year of
    nights measures the bloat; and the night after a first (full) night runs on tables never analysed,
    with no visibility map, which no warehouse with autovacuum on does. Returns the seconds it took
    (None: autovacuum is on)."""
    import sqlalchemy as sa

    from ridni import db

    engine = sa.create_engine(db.normalise_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.execute(sa.text("SHOW autovacuum")).scalar() == "on":
                return None
            t0 = time.perf_counter()
            conn.execute(sa.text("VACUUM (ANALYZE)"))
            return round(time.perf_counter() - t0, 2)
    finally:
        engine.dispose()


def history_point(n: int, entry: dict) -> dict:
    """One night of the history curve: its time, its stages' seconds and what has grown by then."""
    g = entry["grown"]
    return {"n": n, "night": entry["night"], "kind": entry["kind"], "total_seconds": entry["total_seconds"],
            "vacuum_seconds_after": entry.get("vacuum_seconds"),
            "wall_seconds": entry["wall_seconds"], "peak_rss_mb": entry["peak_rss_mb"],
            "stage_seconds": {s["stage"]: s["seconds"] for s in entry["stages"]},
            "records_changed": entry["change"]["records_changed"],
            **{k: v for k, v in g.items() if k != "audit_rows_by_table"}}


GROWING = ("records", "data_docs_bytes", "archive_bytes", "exports_bytes", "audit_rows", "source_record_version_rows",
           "source_record_version_bytes", "database_bytes")
TEN_YEARS = 3653


def history_summary(points: list[dict]) -> dict:
    """The curve's shape: the last night against night 2, the per-night trend of the time (least squares over
    the incremental nights) and of each growing size, and those trends carried on to ten years of nights."""
    import numpy as np

    later = [p for p in points if p["kind"] == "incremental"]
    out: dict = {"nights": len(points)}
    if len(later) < 2:
        return out
    n = np.array([p["n"] for p in later], dtype=float)
    t = np.array([p["total_seconds"] for p in later])
    slope, intercept = np.polyfit(n, t, 1)
    out["night_2_seconds"] = later[0]["total_seconds"]
    out["last_night_seconds"] = later[-1]["total_seconds"]
    out["last_vs_night_2"] = round(later[-1]["total_seconds"] / later[0]["total_seconds"], 3)
    # single nights vary (the machine; the weekly retraining of the linkage model), so the curve is also
    # read by its week medians and by its trend line
    week = min(7, len(later))
    out["last_week_vs_first_week"] = round(float(np.median(t[-week:]) / np.median(t[:week])), 3)
    out["trend_last_vs_night_2"] = round(float((intercept + slope * n[-1]) / (intercept + slope * n[0])), 3)
    out["median_incremental_seconds"] = round(float(np.median(t)), 2)
    out["seconds_per_night_trend"] = round(float(slope), 5)
    out["projected_night_seconds_at_ten_years"] = round(float(intercept + slope * TEN_YEARS), 1)
    out["stage_trend_seconds_per_night"] = {
        stage: round(float(np.polyfit(n, [p["stage_seconds"].get(stage, 0.0) for p in later], 1)[0]), 5)
        for stage in STAGES}
    growth = {}
    for key in GROWING:
        values = np.array([p[key] for p in later], dtype=float)
        per_night = float(np.polyfit(n, values, 1)[0])
        growth[key] = {"after_night_1": points[0][key], "last": later[-1][key], "per_night": round(per_night, 1),
                       "projected_at_ten_years": round(float(later[-1][key] + per_night * (TEN_YEARS - n[-1])))}
    out["growth"] = growth
    return out


def change_of_night(engine, night: dt.date) -> dict:
    """How much the night changed: record versions written, persons whose status changed."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        versions = dict(conn.execute(sa.text(
            "SELECT change, count(*) FROM core.source_record_version WHERE valid_from = :n GROUP BY change"),
            {"n": night}).all())
        records = conn.execute(sa.text("SELECT count(*) FROM core.source_record")).scalar()
        current = conn.execute(sa.text("SELECT count(*) FROM core.source_record WHERE withdrawn_on IS NULL")).scalar()
        persons = conn.execute(sa.text("SELECT count(*) FROM core.person_status WHERE valid_to IS NULL")).scalar()
        new_status = conn.execute(sa.text("SELECT count(*) FROM core.person_status WHERE valid_from = :n"),
                                  {"n": night}).scalar()
        staged = conn.execute(sa.text(
            "SELECT COALESCE(sum(rows_loaded), 0) FROM staging.load WHERE extract_date = :n AND status = 'loaded'"),
            {"n": night}).scalar()
    changed = sum(versions.values())
    return {"record_versions": versions, "records_changed": changed, "source_records": records,
            "current_source_records": current, "changed_share": round(changed / records, 5) if records else None,
            "rows_staged": int(staged), "persons_with_status": persons, "status_versions_written": new_status}


# ------------------------------------------------------------------------------------------ side by side
def copy_vs_to_sql(engine, sample) -> dict:
    """The same staging rows into two empty copies of staging.record: COPY, then pandas ``to_sql``."""
    import sqlalchemy as sa

    from ridni.db import copy_frame

    if sample is None or len(sample) == 0:
        return {"rows": 0}
    columns = list(sample.columns)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS bench_cmp CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA bench_cmp"))
        for t in ("by_copy", "by_to_sql"):
            conn.execute(sa.text(f"CREATE TABLE bench_cmp.{t} (LIKE staging.record INCLUDING DEFAULTS)"))
    t0 = time.perf_counter()
    with engine.begin() as conn:
        copy_frame(conn, "bench_cmp.by_copy", columns, sample)
    copy_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.begin() as conn:
        sample.to_sql("by_to_sql", conn, schema="bench_cmp", if_exists="append", index=False)
    to_sql_s = time.perf_counter() - t0
    with engine.begin() as conn:
        n_copy = conn.execute(sa.text("SELECT count(*) FROM bench_cmp.by_copy")).scalar()
        n_sql = conn.execute(sa.text("SELECT count(*) FROM bench_cmp.by_to_sql")).scalar()
        same = conn.execute(sa.text(
            "SELECT count(*) FROM (SELECT * FROM bench_cmp.by_copy EXCEPT ALL SELECT * FROM bench_cmp.by_to_sql) d"
        )).scalar()
        conn.execute(sa.text("DROP SCHEMA bench_cmp CASCADE"))
    return {"rows": len(sample), "rows_copied": n_copy, "rows_to_sql": n_sql, "rows_differing": same,
            "copy_seconds": round(copy_s, 3), "to_sql_seconds": round(to_sql_s, 3),
            "copy_rows_per_second": round(len(sample) / copy_s) if copy_s else None,
            "to_sql_rows_per_second": round(len(sample) / to_sql_s) if to_sql_s else None,
            "ratio": round(to_sql_s / copy_s, 1) if copy_s else None,
            "to_sql": "DataFrame.to_sql(if_exists='append', index=False): SQLAlchemy executemany"}


def blocking_analysis(engine, truth_csv: Path) -> dict:
    """Splink's blocked comparisons vs all pairs, and the true pairs that blocking keeps."""
    import duckdb
    import numpy as np
    import pandas as pd
    import sqlalchemy as sa
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    from ridni.linkage.features import build_features
    from ridni.linkage.model import BLOCKING_RULES
    from ridni_dev.evaluate import score

    t0 = time.perf_counter()
    with engine.connect() as conn:  # exactly what resolve_persons reads, in its order
        records = pd.read_sql(sa.text(
            "SELECT source_id, record_key, surname, first_name, patronymic, full_name, birth_date, sex, rnokpp, "
            "service_no, region, appeal_refs FROM core.source_record ORDER BY source_id, record_key"), conn)
        links = pd.read_sql(sa.text("SELECT source_id, record_key, person_id FROM core.person_link"), conn)
    f = build_features(records)
    del records
    f["unique_id"] = np.arange(len(f))
    n = len(f)
    all_pairs = n * (n - 1) // 2

    api = DuckDBAPI()
    counts = count_comparisons_from_blocking_rules(
        api.register(f, table_name="records"), blocking_rules=BLOCKING_RULES, link_type="dedupe_only",
        record_sample_proportion=1.0)
    per_rule = [{"rule": c["blocking_rule"], "marginal": int(c["marginal_comparison_count"]),
                 "cumulative": int(c["cumulative_comparison_count"])} for c in counts]
    blocked = per_rule[-1]["cumulative"] if per_rule else 0

    truth = pd.read_csv(truth_csv, dtype=str, usecols=["source_id", "record_key", "person_id"])
    t = f.merge(truth.rename(columns={"person_id": "true_person"}), on=["source_id", "record_key"], how="inner")
    conditions = [r.get_blocking_rule("duckdb").blocking_rule_sql for r in BLOCKING_RULES]
    blocked_sql = " OR ".join(f"COALESCE(({c}), FALSE)" for c in conditions)
    keys_sql = "COALESCE(l.rnokpp = r.rnokpp, FALSE) OR COALESCE(l.service_no = r.service_no, FALSE)"
    con = duckdb.connect()
    con.register("t", t)
    true_pairs, kept, kept_or_keys = con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE {blocked_sql}),
               count(*) FILTER (WHERE {blocked_sql} OR {keys_sql})
        FROM t l JOIN t r ON l.true_person = r.true_person AND l.unique_id < r.unique_id
    """).fetchone()  # noqa: S608 (the rules' own SQL)
    con.close()
    m = links.merge(truth, on=["source_id", "record_key"], suffixes=("", "_true"))
    final = score(m["person_id"], m["person_id_true"])["all"].as_dict()
    return {
        "records": n, "records_with_truth": len(t), "all_pairs": all_pairs, "blocked_comparisons": blocked,
        "reduction_ratio": round(1 - blocked / all_pairs, 8) if all_pairs else None,
        "all_pairs_per_blocked_comparison": round(all_pairs / blocked, 1) if blocked else None,
        "per_rule": per_rule, "true_pairs": int(true_pairs),
        "blocking_recall": round(kept / true_pairs, 5) if true_pairs else None,
        "blocking_or_deterministic_keys_recall": round(kept_or_keys / true_pairs, 5) if true_pairs else None,
        "final_linkage": final, "seconds": round(time.perf_counter() - t0, 1),
    }


# ------------------------------------------------------------------------------------------ the command
def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("bench", help="benchmark the nightly run at scale (stages, memory, ratios)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _arguments(p)
    p.set_defaults(func=run)
    return p


def _arguments(p: argparse.ArgumentParser) -> None:
    from ridni.config import DEFAULT_DATA_DIR

    p.add_argument("--records", type=int, default=1_000_000,
                   help="source records in the first night's drops (default 1,000,000; 12,000 ~ the demo)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-incremental", action="store_true", help="only the full night")
    p.add_argument("--report", type=Path, default=Path(os.environ.get("RIDNI_DATA_DIR", DEFAULT_DATA_DIR))
                   / "bench" / "report.json", help="the JSON report (default var/bench/report.json)")
    p.add_argument("--work", type=Path, default=None,
                   help="folder for extracts, archive and exports; kept, and its extracts reused by a later run "
                        "with the same --records/--seed (default: a temporary folder, removed)")
    p.add_argument("--server-url", default=None,
                   help="PostgreSQL server on which to create the bench database (default: the warehouse's "
                        "server, RIDNI_WAREHOUSE_URL, else the embedded one)")
    p.add_argument("--keep-db", action="store_true", help="do not drop the bench database (its name is printed)")
    p.add_argument("--compare-rows", type=int, default=100_000,
                   help="staging rows for COPY vs to_sql (the first rows of the largest load)")
    p.add_argument("--no-blocking-analysis", action="store_true", help="skip the reduction ratio and recall")
    p.add_argument("--profile", action="store_true",
                   help="cProfile each stage group (slower: the times are then not the benchmark's)")
    p.add_argument("--workers", type=_positive, default=None,
                   help="worker processes for the ingest phase, the sources side by side as Celery runs their "
                        "DAGs (default: the usable CPUs; 1: in this process, one source after another)")
    p.add_argument("--history", type=_positive, default=None, metavar="N",
                   help="N consecutive nights at --persons (default 20,000): each night's time and the size of "
                        "what grows with history (Data Docs, archive, audit rows, record versions)")
    p.add_argument("--persons", type=_positive, default=None,
                   help="the population (default: --records' population; with --history 20,000)")
    p.add_argument("--dags", action="store_true",
                   help="run the nights through the DAGs (dag.test(), as the demo does) on this process's Airflow "
                        "home, so the orchestration's overhead is measured too (implies --workers 1)")
    p.add_argument("--backends", type=_backends, default=None, metavar="duckdb,spark",
                   help="after the first night, link the same records again on each of these linkage backends "
                        "(RIDNI_LINKAGE_BACKEND) and compare their times and persons")


def _backends(text: str) -> list[str]:
    from ridni.linkage.model import BACKENDS

    names = [b.strip() for b in text.split(",") if b.strip()]
    if not names or set(names) - set(BACKENDS):
        raise argparse.ArgumentTypeError(f"a comma-separated list of {', '.join(BACKENDS)}")
    return names


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return n


def run(args: argparse.Namespace) -> int:
    workers = 1 if args.dags else (args.workers or usable_cpus())
    persons = args.persons or (HISTORY_PERSONS if args.history else None)
    scale = [f"--history {args.history}", f"--persons {persons}"] if args.history else (
        [f"--persons {persons}"] if persons else [f"--records {args.records}"])
    command = " ".join(["python -m ridni_dev.bench", *scale, f"--workers {workers}",
                        *(["--no-incremental"] if args.no_incremental else []), *(["--profile"] if args.profile else []),
                        *(["--dags"] if args.dags else []),
                        *([f"--backends {','.join(args.backends)}"] if args.backends else [])])
    report = bench(command=command, records=args.records, seed=args.seed, incremental=not args.no_incremental,
                   report_path=args.report, work=args.work, server_url=args.server_url, keep_db=args.keep_db,
                   compare_rows=args.compare_rows, blocking=not args.no_blocking_analysis and not args.history,
                   profile=args.profile, workers=workers, history=args.history, persons=persons, dags=args.dags,
                   backends=args.backends)
    print(render(report))
    print(f"\nreport: {args.report}")
    return 0


_ENV = ("RIDNI_DATA_DIR", "RIDNI_LANDING", "RIDNI_ARCHIVE", "RIDNI_EXPORTS", "RIDNI_DATA_DOCS",
        "RIDNI_PSEUDONYM_KEY", "GX_ANALYTICS_ENABLED", "RIDNI_LINKAGE_BACKEND", "AIRFLOW_CONN_RIDNI_WAREHOUSE")
HISTORY_PERSONS = 20_000


def bench(*, command: str | None = None, records: int = 1_000_000, seed: int = 1, incremental: bool = True, report_path: Path,
          work: Path | None = None, server_url: str | None = None, keep_db: bool = False,
          compare_rows: int = 100_000, blocking: bool = True, profile: bool = False,
          workers: int | None = None, history: int | None = None, persons: int | None = None,
          dags: bool = False, backends: list[str] | None = None) -> dict:
    """Run the benchmark and write the report; returns it. ``workers``: see the module's docstring.

    ``history``: that many consecutive nights (the report's ``history``: each night's time and what has
    grown); ``persons``: the population instead of ``records``'; ``dags``: the nights through the DAGs
    (``dag.test()``), in this process; ``backends``: the first night's records linked again on each.
    """
    from ridni import db

    report_path = Path(report_path).resolve()
    temporary = work is None
    work = Path(tempfile.mkdtemp(prefix="ridni-bench-")) if temporary else Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    saved_env = {k: os.environ.get(k) for k in _ENV}
    count = history or (2 if incremental else 1)
    nights = [first_night(count) + dt.timedelta(days=i) for i in range(count)]
    workers = 1 if dags else (workers or usable_cpus())
    report: dict = {"command": command,
                    "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "records_requested": None if persons else records, "persons_requested": persons,
                    "seed": seed, "workers": workers, "targets": TARGETS,
                    "runner": "Airflow dag.test(), in this process" if dags else "ridni.night's steps",
                    "linkage_backend": _linkage_backend(), "nights": []}
    try:
        for sub in ("archive", "exports", "data_docs"):  # a reused work folder starts without them
            shutil.rmtree(work / sub, ignore_errors=True)
        os.environ.update({
            "RIDNI_DATA_DIR": str(work), "RIDNI_LANDING": str(work / "landing"),
            "RIDNI_ARCHIVE": str(work / "archive"), "RIDNI_EXPORTS": str(work / "exports"),
            "RIDNI_DATA_DOCS": str(work / "data_docs"), "GX_ANALYTICS_ENABLED": "false",
        })
        os.environ.setdefault("RIDNI_PSEUDONYM_KEY", secrets.token_hex(32))
        scale = f"{persons:,} persons" if persons else f"~{records:,} records"
        print(f"generating {scale}, {len(nights)} night(s) in {work} ...", flush=True)
        report["generation"] = generate_extracts(work, records, len(nights), seed, persons)
        server = server_url or db.resolve_url()[0]
        with bench_database(server, keep=keep_db) as url:
            report["database"] = db.redacted(url)
            t0 = time.perf_counter()
            db.upgrade(url)
            report["migrate_seconds"] = round(time.perf_counter() - t0, 2)
            engine = db.make_engine(url)
            report["machine"] = machine(engine)
            rec = Recorder()
            cap = Capture(compare_rows)
            prof = Profiler(report_path.parent / "profile" if profile else None)
            if dags:  # Airflow's metadata DB, before the clock
                report["airflow"] = airflow_home()
            pool = None
            if workers > 1:  # before the first night's clock, and up until the end
                print(f"starting {workers} ingest workers ...", flush=True)
                pool = IngestPool(workers, url, compare_rows)
                report["pool"] = {"workers": workers, "pids": pool.pids, "start_seconds": pool.start_seconds}
            patches = instrument(rec, cap)
            try:
                for i, night in enumerate(nights):
                    kind = "full" if i == 0 else "incremental"
                    print(f"{night}: {kind} night ...", flush=True)
                    rec.reset()
                    before = table_activity(engine)
                    if dags:
                        result = run_night_through_dags(url, night, rec)
                    else:
                        result = run_night(engine, night, rec, cap, prof, pool=pool, capture=i == 0)
                    entry = night_entry(night, kind, rec, result)
                    entry.update(change=change_of_night(engine, night),
                                 rows_written=_activity_delta(before, table_activity(engine)))
                    if history:
                        entry["grown"] = grown(engine, work)
                    if history or i + 1 < len(nights):
                        entry["vacuum_seconds"] = vacuum_between_nights(url)
                        if entry["vacuum_seconds"] is not None and not history:
                            print(f"  VACUUM (ANALYZE) between nights, off the clock: {entry['vacuum_seconds']} s",
                                  flush=True)
                    if history:
                        report.setdefault("history", []).append(history_point(i + 1, entry))
                        _write(report_path, report)  # the curve so far survives a run stopped midway
                    if i < 2:
                        report["nights"].append(entry)
                    if i == 0 and backends:
                        patches.undo()  # off the clock
                        print(f"linkage on {', '.join(backends)} ...", flush=True)
                        report["backends"] = compare_backends(engine, night, backends)
                        patches = instrument(rec, cap)
                    if i == 0:
                        patches.undo()  # the comparisons are not stages
                        print("COPY vs to_sql ...", flush=True)
                        report["copy_vs_to_sql"] = {"source": cap.staging_source,
                                                    "largest_load_rows": cap.staging_source_rows,
                                                    **copy_vs_to_sql(engine, cap.staging_sample)}
                        cap.staging_sample = None
                        if blocking:
                            print("blocking: reduction ratio and recall ...", flush=True)
                            report["blocking"] = blocking_analysis(
                                engine, work / "truth" / night.isoformat() / "records.csv")
                        gc.collect()
                        patches = instrument(rec, cap)
            finally:
                patches.undo()
                if pool is not None:
                    pool.close()
                rec.close()
                engine.dispose()
            report["profile"] = prof.results or None
            report["max_rss_mb"] = round(maxrss_bytes() / MB, 1)
        if history:
            report["history_summary"] = history_summary(report["history"])
        report["verdict"] = verdict(report)
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    report["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _write(report_path, report)
    return report


def _write(report_path: Path, report: dict) -> None:
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def night_entry(night: dt.date, kind: str, rec: Recorder, result: dict) -> dict:
    """A night's report: its stages, and its total counting a parallel ingest phase once, by its wall time.
    Through the DAGs (``orchestration`` in ``result``) the total is the runs' wall time, overhead included."""
    stages = rec.table()
    phase = result.pop("ingest_phase")
    orchestration = result.pop("orchestration", None)
    parallel = set(phase["parallel_stages"])
    for s in stages:
        s["parallel"] = s["stage"] in parallel
        s["seconds_are"] = (f"worker-seconds, summed over {phase['workers']} workers" if s["parallel"]
                            else "exclusive wall seconds")
        s["rows_per_second_are"] = "rows per worker-second" if s["parallel"] else "rows per second"
    phase["stage_seconds"] = round(sum(s["seconds"] for s in stages if s["stage"] in INGEST_STAGES), 3)
    if parallel:
        phase["rows_parsed_per_wall_second"] = (round(next(s["rows"] for s in stages if s["stage"] == "parse")
                                                      / phase["wall_seconds"]) if phase["wall_seconds"] else None)
        total = phase["wall_seconds"] + sum(s["seconds"] for s in stages if not s["parallel"])
        total_is = "the ingest phase's wall time + the other stages' seconds"
    elif orchestration:
        total = orchestration["dags_wall_seconds"]
        total_is = "the DAG runs' wall time (dag.test(), one after another): stages and orchestration"
    else:
        total = sum(s["seconds"] for s in stages)
        total_is = "the stages' seconds, summed (one process, one stage at a time)"
    phase_peak = rec.stats["ingest_phase"].peak_rss if "ingest_phase" in rec.stats else 0
    peak = max([s["peak_rss_mb"] for s in stages] + [round(phase_peak / MB, 1)])
    # idle, a worker's resident set stays as the tidying left it: added to every later stage's peak
    idle = sum(phase.get("idle_workers_rss_mb", {}).values())
    later = max((s["peak_rss_mb"] for s in stages if not s["parallel"]), default=0.0)
    return {
        "night": night.isoformat(), "kind": kind, "stages": stages, "ingest_phase": phase,
        "total_seconds": round(total, 2), "total_is": total_is,
        "wall_seconds": result.pop("wall_seconds"),
        "peak_rss_mb": peak,
        "peak_rss_is": (f"this process + {phase['workers']} ingest workers while they run the night's tasks, "
                        "resident sets summed" if parallel else "this process"),
        "peak_rss_with_idle_workers_mb": round(max(peak, later + idle), 1) if parallel else peak,
        "substages": rec.substages(), "per_source_seconds": rec.groups(), "results": result,
        **({"orchestration": orchestration} if orchestration else {}),
    }


def verdict(report: dict) -> dict:
    out = {}
    nights = report["nights"]
    if nights:
        full = nights[0]
        out["full_night_seconds"] = {"measured": full["total_seconds"], "target": TARGETS["full_night_seconds"],
                                     "met": full["total_seconds"] <= TARGETS["full_night_seconds"]}
        out["full_night_peak_rss_mb"] = {"measured": full["peak_rss_mb"], "target": TARGETS["full_night_peak_rss_mb"],
                                         "met": full["peak_rss_mb"] <= TARGETS["full_night_peak_rss_mb"]}
    if len(nights) > 1:
        inc, full = nights[1], nights[0]
        out["incremental_night_seconds"] = {"measured": inc["total_seconds"],
                                            "target": TARGETS["incremental_night_seconds"],
                                            "met": inc["total_seconds"] <= TARGETS["incremental_night_seconds"]}
        out["incremental_vs_full"] = {
            s["stage"]: round(s["seconds"] / f["seconds"], 3) if f["seconds"] else None
            for s, f in zip(inc["stages"], full["stages"], strict=True)}
        out["incremental_vs_full"]["total"] = round(inc["total_seconds"] / full["total_seconds"], 3)
        out["incremental_changed_share"] = inc["change"]["changed_share"]
    h = report.get("history_summary") or {}
    if "last_vs_night_2" in h:
        out["history_last_night_vs_night_2"] = {"measured": h["last_vs_night_2"],
                                                "target": TARGETS["history_last_night_vs_night_2"],
                                                "met": h["last_vs_night_2"] <= TARGETS["history_last_night_vs_night_2"]}
    return out


def render(report: dict) -> str:
    lines = []
    m = report.get("machine", {})
    lines.append(f"machine: {m.get('cpu_model')}, {m.get('usable_cpus')} CPUs, {m.get('ram_gb')} GB RAM, "
                 f"{m.get('os')}, Python {m.get('python')}, {str(m.get('postgresql', '')).split(' on ')[0]}")
    for night in report["nights"]:
        phase = night.get("ingest_phase") or {}
        parallel = bool(phase.get("parallel_stages"))
        lines.append(f"\n{night['night']} ({night['kind']} night): {night['total_seconds']:.1f} s, peak RSS "
                     f"{night['peak_rss_mb']:.0f} MB" + (
                         f" (this process + {phase['workers']} workers at work; "
                         f"{night['peak_rss_with_idle_workers_mb']:.0f} MB counting the idle workers all night)"
                         if parallel else ""))
        if parallel:
            lines.append(f"  ingest phase: {phase['sources']} sources in {phase['workers']} workers, wall "
                         f"{phase['wall_seconds']:.2f} s (sum of worker stage seconds {phase['stage_seconds']:.2f} s; "
                         f"{phase['rows_parsed_per_wall_second'] or 0:,} rows parsed per wall second)")
        elif phase:
            lines.append(f"  ingest phase: {phase['sources']} sources in this process, one after another, wall "
                         f"{phase['wall_seconds']:.2f} s")
        lines.append(f"  {'stage':17} {'seconds':>9} {'rows':>10} {'rows/s':>10} {'peak MB':>8}")
        for s in night["stages"]:
            rps = f"{s['rows_per_second']:,}" if s["rows_per_second"] is not None else "-"
            name = s["stage"] + (" *" if s.get("parallel") else "")
            lines.append(f"  {name:17} {s['seconds']:9.2f} {s['rows']:>10,} {rps:>10} {s['peak_rss_mb']:8.0f}")
        if parallel:
            lines.append(f"  * ran in {phase['workers']} workers side by side: seconds are worker-seconds summed over "
                         f"the workers, rows/s per worker-second; the total counts the phase once, by its wall time")
        o = night.get("orchestration")
        if o:
            lines.append(f"  through the DAGs: {o['dags_wall_seconds']:.2f} s of runs, {o['stage_seconds']:.2f} s in the "
                         f"stages: orchestration overhead {o['overhead_seconds']:.2f} s "
                         f"({100 * (o['overhead_share'] or 0):.1f}%)")
        c = night["change"]
        lines.append(f"  changed records: {c['records_changed']:,} of {c['source_records']:,} "
                     f"({100 * (c['changed_share'] or 0):.2f}%); status versions written: "
                     f"{c['status_versions_written']:,} of {c['persons_with_status']:,} persons")
    cmp_ = report.get("copy_vs_to_sql")
    if cmp_ and cmp_.get("rows"):
        lines.append(f"\nCOPY vs to_sql ({cmp_['rows']:,} staging rows of {cmp_['source']}): COPY "
                     f"{cmp_['copy_seconds']:.2f} s, to_sql {cmp_['to_sql_seconds']:.2f} s -> {cmp_['ratio']}x")
    b = report.get("blocking")
    if b:
        lines.append(f"blocking: {b['blocked_comparisons']:,} comparisons of {b['all_pairs']:,} pairs "
                     f"(reduction ratio {b['reduction_ratio']}); recall kept by blocking {b['blocking_recall']} "
                     f"(with the deterministic keys {b['blocking_or_deterministic_keys_recall']}); final linkage "
                     f"F1 {b['final_linkage']['f1']}")
    be = report.get("backends")
    if be:
        lines.append("linkage backends (the first night's records, trained and scored again):")
        for name, r in be["runs"].items():
            lines.append(f"  {name:7} {r['seconds']:8.2f} s  {r['pairs_above_lower']:,} pairs at or above the review band, {r['persons']:,} persons")
        for key in (k for k in be if k.startswith("same_persons_as_")):
            lines.append(f"  {key.replace('_', ' ')}: {be[key]}")
    h = report.get("history_summary")
    if h and "last_vs_night_2" in h:
        lines.append(f"\nhistory: {h['nights']} nights; night 2 {h['night_2_seconds']:.2f} s, last night "
                     f"{h['last_night_seconds']:.2f} s ({h['last_vs_night_2']}x); trend "
                     f"{h['seconds_per_night_trend']:+.4f} s per night; last week's median / first week's "
                     f"{h['last_week_vs_first_week']}x; trend line, last night / night 2 {h['trend_last_vs_night_2']}x")
        lines.append(f"  {'grows':30} {'after night 1':>15} {'last night':>15} {'per night':>12} {'at ten years':>16}")
        for key, g in h["growth"].items():
            lines.append(f"  {key:30} {g['after_night_1']:>15,} {g['last']:>15,} {g['per_night']:>12,.1f} "
                         f"{g['projected_at_ten_years']:>16,}")
    for name, v in report.get("verdict", {}).items():
        if isinstance(v, dict) and "met" in v:
            lines.append(f"target {name}: {v['measured']} (target {v['target']}) {'met' if v['met'] else 'NOT MET'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import logging

    parser = argparse.ArgumentParser(prog="python -m ridni_dev.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
