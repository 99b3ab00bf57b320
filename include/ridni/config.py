"""Where things are: the warehouse, the landing zone, the archive and the exports.

Every setting comes from the environment so that the same code runs in the
demo, in tests and in production (where docker-compose sets the variables).
Paths may be local folders or fsspec URLs (``s3://...``, ``sftp://...``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = PROJECT_ROOT / "var"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing: str
    archive: str
    exports: str
    data_docs: str
    warehouse_url: str | None
    late_drop_hour: int
    max_bad_row_share: float
    max_volume_change: float
    suppression_threshold: int
    task_retries: int
    linkage_retrain_days: int

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pgdata"


def settings() -> Settings:
    """Read the settings from the environment, each with a local default under ``var/``."""
    data_dir = Path(os.environ.get("RIDNI_DATA_DIR", DEFAULT_DATA_DIR))
    return Settings(
        data_dir=data_dir,
        landing=os.environ.get("RIDNI_LANDING", str(data_dir / "landing")),
        archive=os.environ.get("RIDNI_ARCHIVE", str(data_dir / "archive")),
        exports=os.environ.get("RIDNI_EXPORTS", str(data_dir / "exports")),
        data_docs=os.environ.get("RIDNI_DATA_DOCS", str(data_dir / "data_docs")),
        warehouse_url=os.environ.get("RIDNI_WAREHOUSE_URL") or None,
        late_drop_hour=int(os.environ.get("RIDNI_LATE_DROP_HOUR", "6")),
        max_bad_row_share=float(os.environ.get("RIDNI_MAX_BAD_ROW_SHARE", "0.10")),
        max_volume_change=float(os.environ.get("RIDNI_MAX_VOLUME_CHANGE", "0.50")),
        suppression_threshold=int(os.environ.get("RIDNI_SUPPRESSION_THRESHOLD", "5")),
        task_retries=int(os.environ.get("RIDNI_TASK_RETRIES", "3")),
        # the linkage model is retrained (and every pair scored again) when it is this old
        linkage_retrain_days=int(os.environ.get("RIDNI_LINKAGE_RETRAIN_DAYS", "7")),
    )
