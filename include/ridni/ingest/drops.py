"""A night's drop: find it, archive every file unchanged by sha256, verify the manifest.

The landing zone and the archive are fsspec URLs (a local folder, ``s3://``,
``sftp://``...): nothing here cares which. Files are archived *before* anything
parses them, so even a drop that is rejected is kept for inspection.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import posixpath
from dataclasses import dataclass, field
from fnmatch import fnmatch

import fsspec
import sqlalchemy as sa
from fsspec.implementations.local import LocalFileSystem
from sqlalchemy.engine import Connection

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


class DropRejected(Exception):
    """The whole drop is refused; nothing of it is loaded."""

    def __init__(self, reason: str, file_name: str | None = None, line_no: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.file_name = file_name
        self.line_no = line_no


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
    manifest_error: str | None = None

    @property
    def seq(self) -> int | None:
        return self.manifest.get("seq")


def drop_uri(landing: str, source_id: str, night: dt.date) -> str:
    return posixpath.join(landing.rstrip("/"), source_id, night.isoformat())


def manifest_present(landing: str, source_id: str, night: dt.date) -> bool:
    fs, root = fsspec.core.url_to_fs(drop_uri(landing, source_id, night))
    return fs.exists(posixpath.join(root, MANIFEST))


def drop_exists(landing: str, source_id: str, night: dt.date) -> bool:
    """True when the night's folder exists, complete or not."""
    fs, root = fsspec.core.url_to_fs(drop_uri(landing, source_id, night))
    return fs.isdir(root)


def _archive_one(fs, path: str, archive: str) -> ArchivedFile:
    """Stream one file into the archive under its sha256; a file already there is not copied again."""
    digest = hashlib.sha256()
    size = 0
    with fs.open(path, "rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    sha = digest.hexdigest()
    afs, aroot = fsspec.core.url_to_fs(archive)
    target = posixpath.join(aroot, sha[:2], sha)
    if not afs.exists(target):
        afs.makedirs(posixpath.dirname(target), exist_ok=True)
        partial = f"{target}.partial"
        with fs.open(path, "rb") as src, afs.open(partial, "wb") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(chunk)
        afs.mv(partial, target)  # the archive never holds half a file
        if isinstance(afs, LocalFileSystem):  # personal data: owner and group only
            os.chmod(target, 0o640)
            os.chmod(posixpath.dirname(target), 0o750)
    return ArchivedFile(posixpath.basename(path), sha, size, posixpath.join(archive.rstrip("/"), sha[:2], sha))


def open_archived(archive_uri: str):
    return fsspec.open(archive_uri, "rb").open()


def receive(conn: Connection, *, landing: str, archive: str, source_id: str, night: dt.date) -> Drop:
    """Archive a complete drop and record it in ``raw``; return the drop (a repeat returns the same one)."""
    uri = drop_uri(landing, source_id, night)
    fs, root = fsspec.core.url_to_fs(uri)
    names = sorted(posixpath.basename(p) for p in fs.ls(root, detail=False))
    archived = {name: _archive_one(fs, posixpath.join(root, name), archive) for name in names}
    manifest_file = archived.get(MANIFEST)
    manifest_sha = manifest_file.sha256 if manifest_file else None
    try:
        with fs.open(posixpath.join(root, MANIFEST), "rb") as f:
            manifest = json.loads(f.read().decode("utf-8"))
        manifest_error = None if isinstance(manifest, dict) else "manifest.json is not a JSON object"
    except (FileNotFoundError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        manifest, manifest_error = {}, f"manifest.json unreadable: {type(exc).__name__}"

    existing = conn.execute(
        sa.text(
            "SELECT drop_id, status FROM raw.drop WHERE source_id=:s AND extract_date=:n "
            "AND manifest_sha256 IS NOT DISTINCT FROM :m ORDER BY drop_id DESC LIMIT 1"
        ),
        {"s": source_id, "n": night, "m": manifest_sha},
    ).first()
    for f in archived.values():
        conn.execute(
            sa.text(
                "INSERT INTO raw.file (sha256, size_bytes, archive_uri, first_name_received) "
                "VALUES (:sha, :size, :uri, :name) ON CONFLICT (sha256) DO NOTHING"
            ),
            {"sha": f.sha256, "size": f.size_bytes, "uri": f.archive_uri, "name": f.name},
        )
    if existing:
        drop_id, status = existing
    else:
        drop_id = conn.execute(
            sa.text(
                "INSERT INTO raw.drop (source_id, extract_date, landing_uri, manifest, manifest_sha256, seq, status) "
                "VALUES (:s, :n, :uri, CAST(:manifest AS jsonb), :m, :seq, 'received') RETURNING drop_id"
            ),
            {
                "s": source_id,
                "n": night,
                "uri": uri,
                "manifest": json.dumps(manifest, ensure_ascii=False),
                "m": manifest_sha,
                "seq": manifest.get("seq") if isinstance(manifest.get("seq"), int) else None,
            },
        ).scalar_one()
        status = "received"
        declared = {f.get("name"): f for f in manifest.get("files", []) if isinstance(f, dict)}
        for name in sorted(set(archived) - {MANIFEST} | set(declared)):
            conn.execute(
                sa.text(
                    "INSERT INTO raw.drop_file (drop_id, file_name, sha256, declared_sha256, declared_rows) "
                    "VALUES (:d, :name, :sha, :dsha, :drows)"
                ),
                {
                    "d": drop_id,
                    "name": name,
                    "sha": archived[name].sha256 if name in archived else None,
                    "dsha": declared.get(name, {}).get("sha256"),
                    "drows": declared.get(name, {}).get("rows"),
                },
            )
    files = [f for n, f in archived.items() if n != MANIFEST]
    return Drop(drop_id, source_id, night, uri, manifest, status, files, manifest_error)


def verify(drop: Drop, file_pattern: str) -> None:
    """Raise :class:`DropRejected` unless the drop's files match its manifest exactly."""
    if drop.manifest_error:
        raise DropRejected(drop.manifest_error, "manifest.json")
    m = drop.manifest
    if m.get("source") != drop.source_id:
        raise DropRejected(f"manifest names source {m.get('source')!r}, expected {drop.source_id!r}", MANIFEST)
    if m.get("extract_date") != drop.night.isoformat():
        raise DropRejected(
            f"manifest extract_date {m.get('extract_date')!r} is not the night {drop.night.isoformat()}", MANIFEST
        )
    declared = m.get("files")
    if not isinstance(declared, list) or not declared:
        raise DropRejected("manifest lists no files", MANIFEST)
    received = {f.name: f for f in drop.files}
    for entry in declared:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not name:
            raise DropRejected("manifest has a file entry without a name", MANIFEST)
        if not fnmatch(name, file_pattern):
            raise DropRejected(f"{name}: file name does not match the contract's pattern {file_pattern!r}", name)
        if name not in received:
            raise DropRejected(f"{name}: listed in the manifest but not delivered", name)
        if entry.get("sha256") != received[name].sha256:
            raise DropRejected(f"{name}: sha256 differs from the manifest (file altered or incomplete)", name)
        if not isinstance(entry.get("rows"), int) or entry["rows"] < 0:
            raise DropRejected(f"{name}: manifest row count missing or invalid", name)
    extra = sorted(set(received) - {e["name"] for e in declared})
    if extra:
        raise DropRejected(f"{extra[0]}: delivered but not listed in the manifest", extra[0])


def get(conn: Connection, drop_id: int) -> Drop:
    """A recorded drop with its archived files, as :func:`receive` returned it."""
    row = conn.execute(
        sa.text("SELECT source_id, extract_date, landing_uri, manifest, status FROM raw.drop WHERE drop_id=:d"),
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
    error = None if manifest else "manifest.json missing or unreadable"
    return Drop(drop_id, row.source_id, row.extract_date, row.landing_uri, manifest, row.status, files, error)
