"""``docs/sources.md``, generated from the contracts (never edited by hand).

    python -m ridni.contracts.docs          # rewrite docs/sources.md
    python -m ridni.contracts.docs --check  # exit 1 when the committed page is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from ridni.contracts import CORE_FIELDS, MIN_WITHDRAWALS_HELD, Column, Contract, all_contracts

DOCS_PATH = Path(__file__).resolve().parents[3] / "docs" / "sources.md"

_CADENCE = {
    "snapshot": "full snapshot: every current record; a record absent from it is withdrawn",
    "delta": "numbered deltas: only changed records, applied in order exactly once",
    "event": "one file per event; most nights no drop, which is not an error",
}
_FORMAT = {"csv": "CSV", "jsonl": "JSON Lines", "json": "JSON array", "xlsx": "XLSX"}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    text = str(text).replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _allowed(c: Column) -> str:
    if c.allowed is None:
        return ""
    if all(k == v for k, v in c.allowed.items()):
        return ", ".join(_code(k) for k in c.allowed)
    return ", ".join(f"{_code(k)} → {_code(v)}" for k, v in c.allowed.items())


def _section(c: Contract) -> str:
    lines = [f"## `{c.source_id}`: {c.title}", ""]
    if c.description:
        lines += [c.description, ""]
    facts = [
        ("Provider", c.provider),
        ("Cadence", f"{c.cadence} ({_CADENCE[c.cadence]})"),
        ("Format", _FORMAT[c.format]),
        ("File", _code(c.file_pattern) + " in `<landing>/" + c.source_id + "/<YYYY-MM-DD>/`"),
    ]
    if c.encoding:
        facts.append(("Encoding", _code(c.encoding)))
    if c.delimiter:
        facts.append(("Delimiter", _code(c.delimiter)))
    if c.sheet:
        facts.append(("Sheet", _code(c.sheet)))
    if any(col.type in ("date", "excel_date") for col in c.columns):
        facts.append(("Date format", _code(c.date_format)))
    if any(col.type == "timestamp" for col in c.columns):
        facts.append(("Timestamps", f"ISO 8601; without an offset they are {_code(c.timezone)} time"))
    facts.append(("Key (unique in a file)", ", ".join(_code(k) for k in c.key)))
    for f, v in c.constants.items():
        facts.append((f"Constant `{f}`", _code(v)))
    for f, t in c.derived.items():
        facts.append((f"Derived `{f}`", _code(t) + " (`line_no`: the line in the file, header = line 1)"))
    if c.cadence == "snapshot":
        facts.append(("Withdrawals held", f"a night that would withdraw more than {c.max_withdrawal_share:.0%} of "
                      f"the standing records (and more than {MIN_WITHDRAWALS_HELD}) holds them until an operator "
                      "confirms (`max_withdrawal_share`)"))
    if c.manifest_extra:
        facts.append(("Manifest adds", ", ".join(_code(m) for m in c.manifest_extra)))
    for ref in c.references:
        split = f", several separated by {_code(ref.separator)}" if ref.separator else ""
        facts.append((f"References `{ref.field}`", f"cites the {_code(ref.key)} of `{ref.source}` records{split}; "
                      "a citing and a cited record are linked as the same person"))
    facts.append(("Contract", f"`include/ridni/contracts/{c.source_id}.yaml`"))
    lines += [f"- **{k}**: {v}" for k, v in facts]
    lines += ["", "| column | canonical field | type | required | allowed (→ canonical) | pattern | personal | "
                  "description |",
              "|---|---|---|---|---|---|---|---|"]
    for col in c.columns:
        target = _code(col.field) + ("" if col.core else " (attributes)")
        lines.append("| " + " | ".join([
            _code(col.source), target, col.type + (" (key may be absent)" if col.optional else ""),
            "yes" if col.required else "", _allowed(col), _code(col.pattern) if col.pattern else "",
            "**yes**" if col.personal else "", _cell(col.description),
        ]) + " |")
    return "\n".join(lines) + "\n"


def render(contracts: list[Contract] | None = None) -> str:
    contracts = contracts if contracts is not None else all_contracts()
    out = [
        "# Sources and their contracts",
        "",
        "<!-- Generated from include/ridni/contracts/*.yaml by `python -m ridni.contracts.docs`; do not edit. -->",
        "",
        "Each source delivers one drop a night into `<landing>/<source_id>/<YYYY-MM-DD>/`, complete when its",
        "`manifest.json` is present. Its contract (one YAML file per source) drives the parser, the Great",
        "Expectations suite and this page. Columns map onto the canonical source record of",
        "`docs/ARCHITECTURE.md`; fields that are not core columns go into `attributes`. Personal columns",
        "never appear in logs, alerts or Data Docs.",
        "",
        "| source | provider | cadence | format | file |",
        "|---|---|---|---|---|",
    ]
    for c in contracts:
        out.append(f"| `{c.source_id}` | {_cell(c.provider)} | {c.cadence} | "
                   f"{_FORMAT[c.format]} | {_code(c.file_pattern)} |")
    out.append("")
    out.append("Core canonical fields: " + ", ".join(f"`{f}`" for f in CORE_FIELDS) + ".")
    out.append("")
    for c in contracts:
        out.append(_section(c))
    return "\n".join(out).rstrip("\n") + "\n"


def write(path: Path = DOCS_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path


def is_current(path: Path = DOCS_PATH) -> bool:
    return path.is_file() and path.read_text(encoding="utf-8") == render()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--check" in argv:
        if is_current():
            return 0
        print(f"{DOCS_PATH} is out of date: run python -m ridni.contracts.docs", file=sys.stderr)
        return 1
    print(write())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
