"""A night's drop: find it, archive every file unchanged by sha256, verify the manifest.

The landing zone and the archive are fsspec URLs (a local folder, ``s3://``,
``sftp://``...): nothing here cares which. Files are archived *before* anything
parses them, so even a drop that is rejected is kept for inspection.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import posixpath
import re
import stat
import uuid
from collections import Counter
from dataclasses import dataclass, field
from fnmatch import fnmatch
from zoneinfo import ZoneInfo

import fsspec
import sqlalchemy as sa
from fsspec.implementations.local import LocalFileSystem
from sqlalchemy.engine import Connection

from ridni.alerts import Alert, raise_alert

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 1 << 20  # a manifest lists a handful of files
MAX_SEQ = 2**31 - 1          # what raw.drop.seq (integer) holds
_CHUNK = 1 << 20
KYIV = ZoneInfo("Europe/Kyiv")
_NUMBER_LIKE = re.compile(r"[A-Za-z]{0,3}[-_]?[0-9][0-9_.-]{0,31}")


class DropRejected(Exception):
    """The whole drop is refused; nothing of it is loaded."""

    def __init__(self, reason: str, file_name: str | None = None, line_no: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.file_name = file_name
        self.line_no = line_no


class LandingChanged(RuntimeError):
    """The drop changed under the receiver's feet; nothing was recorded, a retry reads it again."""


@dataclass
class ArchivedFile:
    name: str
    sha256: str
    size_bytes: int
    archive_uri: str


@dataclass
class Drop:
    drop_id: int
    source_id: str
    night: dt.date
    landing_uri: str
    manifest: dict
    status: str
    files: list[ArchivedFile] = field(default_factory=list)
    manifest_error: str | None = None  # anything found on receipt that refuses the drop
    content_sha256: str | None = None

    @property
    def seq(self) -> int | None:
        """The manifest's ``seq`` when it is a JSON integer the warehouse can hold, else None."""
        return valid_seq(self.manifest.get("seq"))


def valid_seq(value) -> int | None:
    return value if type(value) is int and 0 < value <= MAX_SEQ else None


def file_label(name: str, pattern: str | None = None) -> str:
    """A file as reasons and alerts may name it: its name when that cannot be a personal value (the
    contract's pattern, the wildcard standing for a number, optionally after up to three letters),
    else its position-free stand-in. A file name is delivered text: it could be a person's name."""
    if pattern and fnmatch(name, pattern):
        literal = pattern.split("*")
        if len(literal) == 1:
            return name
        if len(literal) == 2 and name.startswith(literal[0]) and name.endswith(literal[1]):
            middle = name[len(literal[0]):len(name) - len(literal[1])]
            if _NUMBER_LIKE.fullmatch(middle):
                return name
    return "a file (name withheld)"


def drop_uri(landing: str, source_id: str, night: dt.date) -> str:
    return posixpath.join(landing.rstrip("/"), source_id, night.isoformat())


def manifest_present(landing: str, source_id: str, night: dt.date) -> bool:
    fs, root = fsspec.core.url_to_fs(drop_uri(landing, source_id, night))
    return fs.exists(posixpath.join(root, MANIFEST))


def drop_exists(landing: str, source_id: str, night: dt.date) -> bool:
    """True when the night's folder exists, complete or not."""
    fs, root = fsspec.core.url_to_fs(drop_uri(landing, source_id, night))
    return fs.isdir(root) or bool(fs.exists(root) and fs.info(root).get("islink"))


def lock(conn: Connection, source_id: str, night: dt.date) -> None:
    """Take the lock of one source's night for the transaction: two ingests of it never interleave.

    A second ingest (a manual run beside the scheduled one) waits for the first and then finds its work
    done; it says so in the log.
    """
    key = {"k": f"{source_id}/{night.isoformat()}"}
    taken = conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(hashtext('ridni.ingest'), hashtext(:k))"),
                         key).scalar()
    if not taken:
        log.info("another ingest of %s for %s is running: waiting for it to finish", source_id, night)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('ridni.ingest'), hashtext(:k))"), key)


def _kind(entry: dict) -> str | None:
    """None for a regular file; else what the entry is (symbolic links are never followed)."""
    if entry.get("islink"):
        return "symbolic link"
    if entry.get("type") == "file":
        return None
    if entry.get("type") == "directory":
        return "sub-folder"
    mode = entry.get("mode")
    if isinstance(mode, int):
        for test, what in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "device"),
                           (stat.S_ISBLK, "device")):
            if test(mode):
                return what
    return "special file"


def _open_regular(fs, path: str):
    """Open a regular file for reading: on a local disk without following a link or blocking on a FIFO,
    and refused unless it is still a regular file once open (the listing may be out of date)."""
    if not isinstance(fs, LocalFileSystem):
        return fs.open(path, "rb")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LandingChanged("an entry of the drop changed into something other than a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _archive_one(fs, path: str, archive: str) -> ArchivedFile:
    """Stream one file into the archive under its sha256; a file already there is not copied again."""
    digest = hashlib.sha256()
    size = 0
    with _open_regular(fs, path) as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    sha = digest.hexdigest()
    afs, aroot = fsspec.core.url_to_fs(archive)
    target = posixpath.join(aroot, sha[:2], sha)
    if not afs.exists(target):
        afs.makedirs(posixpath.dirname(target), exist_ok=True)
        partial = f"{target}.{uuid.uuid4().hex}.partial"  # a writer's own: two receivers never share one
        copied = hashlib.sha256()
        with _open_regular(fs, path) as src, afs.open(partial, "wb") as dst:
            while chunk := src.read(_CHUNK):
                copied.update(chunk)
                dst.write(chunk)
        if copied.hexdigest() != sha:  # changed between the two reads: never archive it under a wrong name
            afs.rm(partial)
            raise LandingChanged("a file of the drop changed while it was archived (still being written?)")
        afs.mv(partial, target)  # the archive never holds half a file
        if isinstance(afs, LocalFileSystem):  # personal data: owner and group only
            os.chmod(target, 0o640)
            os.chmod(posixpath.dirname(target), 0o750)
    return ArchivedFile(posixpath.basename(path), sha, size, posixpath.join(archive.rstrip("/"), sha[:2], sha))


def open_archived(archive_uri: str):
    return fsspec.open(archive_uri, "rb").open()


def _read_manifest(archived: dict[str, ArchivedFile]) -> tuple[dict, str | None]:
    """The manifest as archived (what was received, not what the landing zone holds now) and its error."""
    entry = archived.get(MANIFEST)
    if entry is None:
        return {}, "manifest.json missing"
    if entry.size_bytes > MAX_MANIFEST_BYTES:
        return {}, f"manifest.json larger than {MAX_MANIFEST_BYTES} bytes"
    try:
        with open_archived(entry.archive_uri) as f:
            manifest = json.loads(f.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return {}, f"manifest.json unreadable: {type(exc).__name__}"
    if not isinstance(manifest, dict):
        return {}, "manifest.json is not a JSON object"
    return manifest, None


def content_digest(manifest_sha: str | None, files: dict[str, str | None]) -> str:
    """A drop's identity: manifest.json's sha256, then each file's name and sha256 (None: declared, not
    delivered), by name. Migration 0011 computes the same for the drops before it."""
    text = f"{MANIFEST}\t{manifest_sha or ''}\n" + "".join(
        f"{name}\t{sha or ''}\n" for name, sha in sorted(files.items(), key=lambda kv: kv[0].encode()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def receive(conn: Connection, *, landing: str, archive: str, source_id: str, night: dt.date) -> Drop:
    """Archive a complete drop and record it in ``raw``; return the drop (a repeat returns the same one).

    Only regular files directly inside the night's folder are read and archived; any other entry (a
    symbolic link, a sub-folder, a FIFO, a device) refuses the drop, named by kind and count only. The
    same content received again is the same drop; other content for a night already loaded is a new
    drop, loaded or refused on its own, with an alert that the source re-delivered the night.
    """
    lock(conn, source_id, night)
    uri = drop_uri(landing, source_id, night)
    fs, root = fsspec.core.url_to_fs(uri)
    irregular: Counter[str] = Counter()
    regular: list[str] = []
    if fs.info(root).get("islink"):
        irregular["the night's folder is itself a symbolic link"] += 1
    else:
        for entry in fs.ls(root, detail=True):
            kind = _kind(entry)
            if kind:
                irregular[kind] += 1
            else:
                regular.append(posixpath.basename(entry["name"]))
    archived = {name: _archive_one(fs, posixpath.join(root, name), archive) for name in sorted(regular)}
    manifest, manifest_error = _read_manifest(archived)
    if irregular:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(irregular.items()))
        manifest_error = f"entries that are not regular files ({kinds}): only regular files inside the drop " \
                         "folder are read"
    manifest_sha = archived[MANIFEST].sha256 if MANIFEST in archived else None
    declared = {f.get("name"): f for f in manifest.get("files", []) if isinstance(f, dict)} \
        if isinstance(manifest.get("files"), list) else {}
    declared = {n: f for n, f in declared.items() if isinstance(n, str) and n}
    names = sorted(set(archived) - {MANIFEST} | set(declared))
    content = content_digest(manifest_sha, {n: archived[n].sha256 if n in archived else None for n in names})
    if irregular:  # the same regular files beside other entries are not the drop that was loaded
        content = hashlib.sha256(f"{content}\n{manifest_error}".encode()).hexdigest()

    for f in archived.values():
        conn.execute(
            sa.text(
                "INSERT INTO raw.file (sha256, size_bytes, archive_uri, first_name_received) "
                "VALUES (:sha, :size, :uri, :name) ON CONFLICT (sha256) DO NOTHING"
            ),
            {"sha": f.sha256, "size": f.size_bytes, "uri": f.archive_uri, "name": f.name},
        )
    existing = conn.execute(
        sa.text("SELECT drop_id, status FROM raw.drop WHERE source_id=:s AND extract_date=:n AND content_sha256=:c"),
        {"s": source_id, "n": night, "c": content},
    ).first()
    if existing:
        drop_id, status = existing
    else:
        loaded_before = conn.execute(
            sa.text("SELECT drop_id FROM raw.drop WHERE source_id=:s AND extract_date=:n AND status='loaded' "
                    "ORDER BY drop_id DESC LIMIT 1"), {"s": source_id, "n": night}).scalar()
        drop_id = conn.execute(
            sa.text(
                "INSERT INTO raw.drop (source_id, extract_date, landing_uri, manifest, manifest_sha256, seq, status, "
                "content_sha256, reason) VALUES (:s, :n, :uri, CAST(:manifest AS jsonb), :m, :seq, 'received', :c, "
                ":reason) RETURNING drop_id"
            ),
            {"s": source_id, "n": night, "uri": uri, "manifest": json.dumps(manifest, ensure_ascii=False),
             "m": manifest_sha, "seq": valid_seq(manifest.get("seq")), "c": content, "reason": manifest_error},
        ).scalar_one()
        status = "received"
        for name in names:
            entry = declared.get(name, {})
            rows = entry.get("rows")
            conn.execute(
                sa.text(
                    "INSERT INTO raw.drop_file (drop_id, file_name, sha256, declared_sha256, declared_rows) "
                    "VALUES (:d, :name, :sha, :dsha, :drows)"
                ),
                {"d": drop_id, "name": name, "sha": archived[name].sha256 if name in archived else None,
                 "dsha": entry.get("sha256") if isinstance(entry.get("sha256"), str) else None,
                 "drows": rows if type(rows) is int and 0 <= rows <= MAX_SEQ else None},
            )
        if loaded_before:
            raise_alert(conn, Alert(
                kind="night_redelivered", severity="warning",
                message=f"the source re-delivered a night it had delivered and we had loaded (drop {loaded_before}); "
                        f"the new content is drop {drop_id}, checked on its own",
                source_id=source_id, extract_date=night, quarantine_ref=f"raw.drop drop_id={drop_id}",
            ))
    files = [f for n, f in archived.items() if n != MANIFEST]
    return Drop(drop_id, source_id, night, uri, manifest, status, files, manifest_error, content)


def verify(drop: Drop, file_pattern: str) -> None:
    """Raise :class:`DropRejected` unless the drop's files match its manifest exactly.

    Reasons name the manifest's fields, counts and the contract's expected values; a delivered string
    (a file name, a source name) only through :func:`file_label`.
    """
    if drop.manifest_error:
        raise DropRejected(drop.manifest_error, MANIFEST if drop.manifest_error.startswith(MANIFEST) else None)
    m = drop.manifest
    if m.get("source") != drop.source_id:
        raise DropRejected(f"manifest names another source than {drop.source_id!r}", MANIFEST)
    if m.get("extract_date") != drop.night.isoformat():
        raise DropRejected(f"manifest extract_date is not the night {drop.night.isoformat()}", MANIFEST)
    ahead = (drop.night - dt.datetime.now(KYIV).date()).days
    if ahead > 1:
        raise DropRejected(f"a drop for a night {ahead} days in the future (the source's clock is wrong?)", MANIFEST)
    declared = m.get("files")
    if not isinstance(declared, list) or not declared:
        raise DropRejected("manifest lists no files", MANIFEST)
    received = {f.name: f for f in drop.files}
    names = [entry.get("name") if isinstance(entry, dict) else None for entry in declared]
    for i, (entry, name) in enumerate(zip(declared, names, strict=True), start=1):
        if not isinstance(name, str) or not name:
            raise DropRejected(f"manifest file entry {i} has no name", MANIFEST)
        label = file_label(name, file_pattern)
        if not fnmatch(name, file_pattern) or name == MANIFEST:
            raise DropRejected(f"manifest file entry {i}: the name does not match the contract's pattern "
                               f"{file_pattern!r}", MANIFEST)
        if names.count(name) > 1:
            raise DropRejected(f"manifest file entry {i}: the same file is listed {names.count(name)} times", MANIFEST)
        if name not in received:
            raise DropRejected(f"{label}: listed in the manifest (entry {i}) but not delivered", label)
        if entry.get("sha256") != received[name].sha256:
            raise DropRejected(f"{label}: sha256 differs from the manifest (file altered or incomplete)", label)
        rows = entry.get("rows")
        if type(rows) is not int or not 0 <= rows <= MAX_SEQ:
            raise DropRejected(f"{label}: manifest row count missing or not a non-negative integer", label)
    extra = set(received) - set(names)
    if extra:
        raise DropRejected(f"{len(extra)} delivered file(s) not listed in the manifest", None)


def get(conn: Connection, drop_id: int) -> Drop:
    """A recorded drop with its archived files, as :func:`receive` returned it."""
    row = conn.execute(
        sa.text("SELECT source_id, extract_date, landing_uri, manifest, status, reason, content_sha256 FROM raw.drop "
                "WHERE drop_id=:d"),
        {"d": drop_id},
    ).one()
    files = [
        ArchivedFile(name, sha, size, uri)
        for name, sha, size, uri in conn.execute(
            sa.text(
                "SELECT df.file_name, f.sha256, f.size_bytes, f.archive_uri FROM raw.drop_file df "
                "JOIN raw.file f ON f.sha256 = df.sha256 WHERE df.drop_id = :d ORDER BY df.file_name"
            ),
            {"d": drop_id},
        )
    ]
    manifest = row.manifest or {}
    error = row.reason if row.status == "received" and row.reason else None
    if not manifest and not error:
        error = "manifest.json missing or unreadable"
    return Drop(drop_id, row.source_id, row.extract_date, row.landing_uri, manifest, row.status, files, error,
                row.content_sha256)
