"""Helpers of the security tests: personal-data needles read from the landing files themselves, a
scanner for them in any text or file, table fingerprints, drop rewriting, and a TCP proxy that lets a
test cut the warehouse off (and bring it back) at the same address.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import json
import re
import socket
import sqlite3
import threading
import unicodedata
import urllib.parse
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from ridni.contracts import all_contracts

# The night the security tests generate from, and the pseudonym key their pipeline runs with.
START = dt.date(2026, 11, 1)
PSEUDONYM_KEY = "test-key-not-secret"


def point_settings(setenv, root) -> None:
    """Point every pipeline setting at ``root`` (``setenv(name, value)``)."""
    setenv("RIDNI_DATA_DIR", str(root))
    setenv("RIDNI_LANDING", str(root / "landing"))
    setenv("RIDNI_ARCHIVE", str(root / "archive"))
    setenv("RIDNI_EXPORTS", str(root / "exports"))
    setenv("RIDNI_DATA_DOCS", str(root / "data_docs"))
    setenv("RIDNI_PSEUDONYM_KEY", PSEUDONYM_KEY)


# ------------------------------------------------------------------------------------------ needles
_APOSTROPHES = dict.fromkeys(map(ord, "'’ʼ`‘"), None)  # removed: Мар'яна, Марʼяна and Мар’яна are one word
_WORD = re.compile(r"[^\W\d_]+")
# Operational dates (disappearance, status, runs) start with the full-scale invasion; birth dates before 2022
# cannot be confused with them, so only those are needles (a later one could be a status date by chance).
BIRTH_BEFORE = dt.date(2022, 1, 1)


def words(text: str) -> list[str]:
    """Text as comparable words: NFC, case-folded, apostrophes dropped, everything but letters a separator."""
    return _WORD.findall(unicodedata.normalize("NFC", text).casefold().translate(_APOSTROPHES))


@dataclass
class Needles:
    """What must never appear where analysts, auditors or operators look."""

    name_pairs: set[tuple[str, str]] = field(default_factory=set)  # (surname, first name), both orders
    birth_dates: set[str] = field(default_factory=set)  # ISO and DD.MM.YYYY
    rnokpp: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)  # digits: 380XXXXXXXXX and 0XXXXXXXXX
    records: int = 0

    def add_name(self, surname, first_name) -> None:
        s, f = words(surname or ""), words(first_name or "")
        if s and f:
            self.name_pairs.add((s[-1], f[0]))  # "Surname First"
            self.name_pairs.add((f[-1], s[0]))  # "First Surname"

    def add_full_name(self, full) -> None:
        w = words(full or "")
        if len(w) >= 2:  # SBU: SURNAME First Patronymic
            self.add_name(w[0], w[1])

    def add_birth(self, value) -> None:
        if value is None or value == "":
            return
        if isinstance(value, dt.datetime):
            d = value.date()
        elif isinstance(value, dt.date):
            d = value
        else:
            text = str(value).strip()
            d = None
            for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
                try:
                    d = dt.datetime.strptime(text, fmt).date()
                    break
                except ValueError:
                    continue
            if d is None:
                return  # partial dates (YYYY, YYYY-MM) are too common to be needles
        if d < BIRTH_BEFORE:
            self.birth_dates.update({d.isoformat(), d.strftime("%d.%m.%Y")})

    def add_rnokpp(self, value) -> None:
        v = str(value or "").strip()
        if re.fullmatch(r"\d{10}", v):
            self.rnokpp.add(v)

    def add_phone(self, value) -> None:
        digits = re.sub(r"\D", "", str(value or ""))
        if len(digits) == 12 and digits.startswith("380"):
            self.phones.update({digits, digits[2:]})
        elif len(digits) == 10 and digits.startswith("0"):
            self.phones.update({digits, "38" + digits})

    def __bool__(self) -> bool:
        return bool(self.name_pairs and self.birth_dates and self.rnokpp and self.phones)


def _rows(contract, path: Path) -> Iterable[dict]:
    """Each delivered record as {column source name: value}, read without the pipeline's parser."""
    if contract.format == "csv":
        text = path.read_bytes().decode(contract.encoding)
        yield from csv.DictReader(
            io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=contract.delimiter
        )
    elif contract.format in ("jsonl", "json"):
        text = path.read_text(encoding="utf-8")
        objs = (
            json.loads(text) if contract.format == "json" else [json.loads(x) for x in text.splitlines() if x]
        )
        for obj in objs:
            flat = {}
            for c in contract.columns:
                v = obj
                for part in c.path:
                    v = v.get(part) if isinstance(v, dict) else None
                flat[c.source] = v
            yield flat
    elif contract.format == "xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = wb[contract.sheet].iter_rows(values_only=True)
        header = [str(h) if h is not None else "" for h in next(rows)]
        for r in rows:
            yield dict(zip(header, r, strict=False))
        wb.close()


def needles_from_landing(landing: Path) -> Needles:
    """Names, birth dates, RNOKPPs and applicant phones of every record in every drop under ``landing``."""
    out = Needles()
    for contract in all_contracts():
        by_field = {c.field: c.source for c in contract.columns}
        for path in sorted((landing / contract.source_id).glob(f"*/{contract.file_pattern}")):
            for row in _rows(contract, path):
                out.records += 1
                if "surname" in by_field:
                    out.add_name(row.get(by_field["surname"]), row.get(by_field.get("first_name", "")))
                if "full_name" in by_field:
                    out.add_full_name(row.get(by_field["full_name"]))
                if "birth_date" in by_field:
                    out.add_birth(row.get(by_field["birth_date"]))
                if "rnokpp" in by_field:
                    out.add_rnokpp(row.get(by_field["rnokpp"]))
                if "applicant_phone" in by_field:
                    out.add_phone(row.get(by_field["applicant_phone"]))
    return out


# ------------------------------------------------------------------------------------------ haystacks
_U_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_ISO = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)")
_DMY = re.compile(r"(?<!\d)\d{2}\.\d{2}\.\d{4}(?!\d)")
_TEN = re.compile(r"(?<!\d)\d{10}(?!\d)")
_PHONE = re.compile(r"(?<!\d)\+?380\d{9}(?!\d)")
NEAR = 40  # words: a surname and a first name this close are one person's (a log line, a JSON record)


def _variants(text: str) -> str:
    """The text and its decoded forms (JSON \\u escapes, HTML entities, URL encoding), one string."""
    out = [text]
    if "\\u" in text:
        out.append(_U_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))
    if "&" in text:
        out.append(html.unescape(text))
    if "%" in text:
        out.append(urllib.parse.unquote(text))
    return "\n".join(out)


@dataclass
class Finding:
    where: str
    kind: str
    value: str

    def __str__(self) -> str:  # the value masked: the message itself must not become a leak
        return f"{self.where}: {self.kind} {self.value[:2]}…{self.value[-1:]}"


def near_pairs(w: list[str], pairs: set[tuple[str, str]], near: int = NEAR) -> list[tuple[str, str]]:
    """The needle pairs whose two words occur within ``near`` words of each other in ``w``."""
    wanted = {a for a, _ in pairs} | {b for _, b in pairs}
    where: dict[str, list[int]] = {}
    for i, x in enumerate(w):
        if x in wanted:
            where.setdefault(x, []).append(i)
    hits = []
    for a, b in pairs:
        if a in where and b in where and a != b:
            pa, pb = where[a], where[b]
            j = 0
            for i in pa:  # both lists are sorted: the nearest b to each a
                while j + 1 < len(pb) and pb[j + 1] <= i:
                    j += 1
                if abs(pb[j] - i) <= near or (j + 1 < len(pb) and abs(pb[j + 1] - i) <= near):
                    hits.append((a, b))
                    break
    return sorted(hits)


def scan_text(needles: Needles, where: str, text: str) -> list[Finding]:
    text = _variants(text)
    found = []
    found += [Finding(where, "name", " ".join(pair)) for pair in near_pairs(words(text), needles.name_pairs)]
    for value in sorted((set(_ISO.findall(text)) | set(_DMY.findall(text))) & needles.birth_dates):
        found.append(Finding(where, "birth date", value))
    tens = set(_TEN.findall(text))
    for value in sorted(tens & needles.rnokpp):
        found.append(Finding(where, "RNOKPP", value))
    phones = {p.lstrip("+") for p in _PHONE.findall(text)} | tens
    for value in sorted(phones & needles.phones):
        found.append(Finding(where, "phone", value))
    return found


IMAGES_AND_FONTS = {".gif", ".png", ".jpg", ".jpeg", ".ico", ".woff", ".woff2", ".ttf", ".eot", ".otf"}


def file_texts(path: Path) -> Iterable[tuple[str, str]]:
    """The readable content of a file, as (where, text): zip members unpacked, Parquet read as a table
    (images and fonts, e.g. Data Docs' static assets, by their name only)."""
    data = path.read_bytes()
    yield str(path), path.name  # the name itself
    if path.suffix.lower() in IMAGES_AND_FONTS:
        return
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        yield f"{path} (table)", frame.to_csv(index=False)
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        yield f"{path} (metadata)", " ".join(v.decode("utf-8", "replace") for v in meta.values())
    elif data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                yield f"{path}!{info.filename}", zf.read(info).decode("utf-8", "replace")
    else:
        yield str(path), data.decode("utf-8", "replace")


def scan_files(needles: Needles, root: Path) -> tuple[list[Finding], int]:
    """Scan every file under ``root``; returns the findings and the number of files read."""
    found, n = [], 0
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        n += 1
        for where, text in file_texts(path):
            found += scan_text(needles, where, text)
    return found, n


def table_texts(engine: sa.Engine, schemas: Iterable[str]) -> Iterable[tuple[str, str]]:
    """Every row of every table of ``schemas`` as JSON text, per table."""
    with engine.connect() as conn:
        tables = conn.execute(
            sa.text(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema = ANY(:s) AND table_type = 'BASE TABLE' ORDER BY 1"
            ),
            {"s": list(schemas)},
        ).scalars()
        for table in list(tables):
            rows = conn.execute(sa.text(f"SELECT row_to_json(t)::text FROM {table} t")).scalars().all()  # noqa: S608
            yield table, "\n".join(rows)


def airflow_texts(airflow_home: Path) -> Iterable[tuple[str, str]]:
    """What Airflow keeps of task runs in its metadata DB (XComs, rendered fields, logs, run conf, notes)."""
    db = Path(airflow_home) / "airflow.db"
    if not db.exists():
        return
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in (
            "xcom",
            "rendered_task_instance_fields",
            "log",
            "dag_run",
            "task_instance",
            "task_instance_history",
            "asset_event",
            "trigger",
            "task_instance_note",
            "dag_run_note",
            "callback",
            "hitl_detail",
        ):
            if table not in names:
                continue
            parts = []
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608
                parts.append(
                    " | ".join(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row)
                )
            yield f"airflow.db:{table}", "\n".join(parts)
    finally:
        conn.close()


# ------------------------------------------------------------------------------------------ fingerprints
# Surrogate keys, clocks and run ids differ between two equivalent runs; everything else must not.
# Paths (landing_uri, archive_uri, folder) name the test's own folders. audit.validation.summary holds GX's run
# times; quarantine_ref and alert messages name row ids.
VOLATILE = {
    "load_id",
    "last_load_id",
    "drop_id",
    "id",
    "run_id",
    "dag_run_id",
    "data_docs_uri",
    "summary",
    "folder",
    "quarantine_ref",
    "landing_uri",
    "archive_uri",
    "at",
}
LAYERS = ("raw", "staging", "quarantine", "core", "marts", "audit")


def fingerprint(
    engine: sa.Engine, schemas: Iterable[str] = LAYERS, skip: Iterable[str] = ()
) -> dict[str, tuple]:
    """Per table: (row count, digest of the rows' content without surrogate keys and timestamps)."""
    out = {}
    skip = set(skip)
    with engine.connect() as conn:
        cols = conn.execute(
            sa.text(
                "SELECT c.table_schema || '.' || c.table_name, c.column_name, c.data_type "
                "FROM information_schema.columns c JOIN information_schema.tables t "
                "ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
                "WHERE c.table_schema = ANY(:s) ORDER BY 1, c.ordinal_position"
            ),
            {"s": list(schemas)},
        ).all()
        by_table: dict[str, list[str]] = {}
        for table, col, _ in cols:
            by_table.setdefault(table, [])
            if col in VOLATILE or (col.endswith("_at") and col != "changed_at"):
                continue
            by_table[table].append(col)
        for table, keep in by_table.items():
            if table in skip:
                continue
            select = ", ".join(f'"{c}"::text' for c in keep) or "1"
            rows = conn.execute(sa.text(f"SELECT {select} FROM {table}")).all()  # noqa: S608
            digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
            out[table] = (len(rows), digest)
    return out


def diff(a: dict, b: dict) -> dict:
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


# ------------------------------------------------------------------------------------------ drops
def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def refresh_manifest(folder: Path, name: str, rows: int | None = None) -> None:
    """After a test rewrote ``name`` in a drop: its manifest entry gets the new sha256 (and row count)."""
    path = Path(folder) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["name"] == name)
    entry["sha256"] = sha256_of(Path(folder) / name)
    if rows is not None:
        entry["rows"] = rows
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_drop(
    folder: Path,
    source_id: str,
    night: dt.date,
    files: dict[str, bytes],
    rows: dict[str, int],
    seq: int | None = None,
) -> Path:
    """A complete drop of the test's own: the files, then a manifest that matches them exactly."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    manifest = {
        "source": source_id,
        "extract_date": night.isoformat(),
        "files": [
            {"name": n, "sha256": hashlib.sha256(d).hexdigest(), "rows": rows[n]}
            for n, d in sorted(files.items())
        ],
    }
    if seq is not None:
        manifest["seq"] = seq
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------------------ the network
class TcpProxy:
    """A local TCP port forwarding to PostgreSQL. ``cut()`` closes the port and every open connection
    (the warehouse is unreachable, mid-transaction included); ``restore()`` opens the same port again."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            listener.close()
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
