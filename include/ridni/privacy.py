"""Pseudonymous person ids for everything analysts read: a keyed hash (HMAC-SHA256) of the person id.

Stable across nights for one key, not reversible without it. The key comes from the Airflow
connection ``ridni_pseudonym_key`` (its password) or ``RIDNI_PSEUDONYM_KEY``, one key for the whole
deployment. Without it nothing is published: a key made up on the spot would give every worker and
every redeployment other pseudonyms. The demo makes its own key explicitly (:func:`demo_key`, in
``var/``, never in the repository). Rotating the key changes every pseudonym at once.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

from ridni.config import settings

PREFIX = "P-"


class PseudonymKeyMissing(RuntimeError):
    """No pseudonymisation key is configured: publishing is refused."""


def pseudonym_key() -> bytes:
    """The deployment's pseudonymisation key; :class:`PseudonymKeyMissing` when none is configured."""
    key = os.environ.get("RIDNI_PSEUDONYM_KEY")
    if not key:
        try:
            from airflow.sdk import Connection

            key = Connection.get("ridni_pseudonym_key").password
        except Exception:  # no Airflow, or the connection is not defined
            key = None
    if not key:
        raise PseudonymKeyMissing(
            "no pseudonymisation key: set the Airflow connection ridni_pseudonym_key (its password, e.g. "
            "AIRFLOW_CONN_RIDNI_PSEUDONYM_KEY=generic://:<64 random hex>@ in .env) or RIDNI_PSEUDONYM_KEY. "
            "Nothing is published without it: pseudonyms must be the same for every worker and every night.")
    return key.encode()


def demo_key(data_dir: Path | None = None) -> str:
    """The demo's own key: made once, random, in ``<data dir>/pseudonym.key`` (owner only), and returned."""
    path = Path(data_dir or settings().data_dir) / "pseudonym.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def pseudonymise(values: pd.Series, key: bytes | None = None, prefix: str = PREFIX) -> pd.Series:
    """Keyed hash of each value (person ids, or record references); missing values stay missing."""
    key = key or pseudonym_key()
    # hmac.digest: the one-shot C path, about twice as fast as hmac.new(...).hexdigest() per value
    return pd.Series([None if pd.isna(v) else prefix + hmac.digest(key, str(v).encode(), "sha256").hex()[:16]
                      for v in values.to_numpy(dtype=object)], index=values.index, dtype=object)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Make text cells inert for spreadsheets: control characters (a CR or LF would start a new row in
    many CSV readers) become spaces, and a cell a spreadsheet would run as a formula (=, +, -, @) gets a
    leading quote."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            s = out[col].astype("string").str.replace(r"[\x00-\x1f\x7f]", " ", regex=True)
            risky = s.str.match(r"^\s*[=+\-@]").fillna(False)
            out[col] = s.where(~risky, "'" + s)
    return out
