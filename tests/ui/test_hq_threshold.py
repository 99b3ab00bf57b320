"""The page hides person counts below RIDNI_SUPPRESSION_THRESHOLD, whatever it is (here 10): the same setting
as the marts and the exports."""

from __future__ import annotations

import html as htmllib
import re
import warnings

from hq_marts import NIGHTS, RECONCILIATION

from ridni.web import data
from ridni.web.app import create_app

with warnings.catch_warnings():  # starlette's notice about its httpx-based client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _cells(row_html: str) -> list[str]:
    return [htmllib.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)]


def test_the_page_hides_counts_below_the_configured_threshold(hq_warehouse, monkeypatch):
    monkeypatch.setenv("RIDNI_SUPPRESSION_THRESHOLD", "10")
    monkeypatch.setenv("RIDNI_DATA_DOCS", str(hq_warehouse.data_docs))
    app = create_app(user_dependency=lambda: "tester", reader=data.Reader(lambda: hq_warehouse.reader_url))
    with TestClient(app) as client:
        last = client.get("/", params={"lang": "en"}).text
        past = client.get("/", params={"night": NIGHTS[1].isoformat()}).text

    body = last.split('class="reconciliation"')[1].split("<tbody>")[1].split("</tbody>")[0]
    shown = {(s, c): _cells(tr)[2:6] for s, c, tr in
             re.findall(r'<tr data-source="([^"]+)" data-category="([^"]+)"[^>]*>(.*?)</tr>', body)}
    expected = {(s, c): ["<10" if 0 < v < 10 else f"{v:,}" for v in values] for s, c, *values in RECONCILIATION}
    assert shown == expected
    assert any(5 <= v < 10 for row in RECONCILIATION for v in row[2:])  # shown at 5, hidden at 10

    # every suppressed cell and the notes say "<10"; nothing says "<5"
    assert "&lt;5" not in last and "&lt;5" not in past
    assert last.count(">&lt;10<") >= 3
    assert "Counts from 1 to 9" in last
    deported = re.search(r'<tr data-group="deported children"[^>]*>(.*?)</tr>', past, re.S).group(1)
    assert _cells(deported)[0] == "<10"  # a headline group the mart holds as suppressed
