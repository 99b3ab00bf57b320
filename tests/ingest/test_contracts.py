"""The source contracts: one per source of SOURCES.md, in its exact format, and checked on load."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ridni.contracts import (
    CANONICAL_VALUES,
    CORE_FIELDS,
    ContractError,
    all_contracts,
    load,
    load_file,
    source_ids,
)
from ridni.contracts import docs as contract_docs

# The delivered columns of each source, in file order, as SOURCES.md gives them.
SOURCE_COLUMNS = {
    "npu_appeals": ["номер_звернення", "дата_реєстрації", "прізвище", "імʼя", "по_батькові", "дата_народження",
                    "стать", "рнокпп", "категорія", "дата_зникнення", "область_зникнення", "населений_пункт",
                    "обставини", "заявник_спорідненість", "заявник_телефон"],
    "mvs_register": ["register_no", "op", "changed_at", "surname", "given_name", "patronymic", "birth_date", "sex",
                     "rnokpp", "person_group", "status_code", "status_date", "region", "appeal_refs"],
    "coordhq_cases": ["case_id", "opened_on", "person.last_name", "person.first_name", "person.patronymic",
                      "person.birth_date", "person.sex", "military.rank", "military.unit", "military.service_no",
                      "is_civilian", "status", "status_confirmed_on", "confirmation_source", "office"],
    "sbu_jc": ["ПІБ", "Дата народження", "Місце утримання", "Країна", "Підтверджено", "Джерело", "Номер справи"],
    "ombudsman": ["case_no", "surname", "name", "patronymic", "birth_date", "category", "court", "sentence_years",
                  "icrc_confirmed", "confirmed_on", "region"],
    "icrc_confirmations": ["icrc_ref", "family_name", "first_name", "father_name", "date_of_birth", "sex", "status",
                           "notified_on", "detaining_power"],
    "exchange_returns": ["exchange_id", "exchange_date", "surname", "first_name", "patronymic", "birth_date",
                         "category", "service_no"],
    "children_deported": ["child_id", "surname", "first_name", "patronymic", "birth_date", "sex", "status",
                          "reported_on", "last_known_region"],
}
DELIVERY = {  # format, encoding, delimiter, cadence, file pattern
    "npu_appeals": ("csv", "utf-8-sig", ";", "snapshot", "appeals.csv"),
    "mvs_register": ("csv", "cp1251", ",", "delta", "register_*.csv"),
    "coordhq_cases": ("jsonl", "utf-8", None, "snapshot", "cases.jsonl"),
    "sbu_jc": ("xlsx", None, None, "snapshot", "registry.xlsx"),
    "ombudsman": ("csv", "utf-8", ",", "snapshot", "civilians.csv"),
    "icrc_confirmations": ("json", "utf-8", None, "snapshot", "confirmations.json"),
    "exchange_returns": ("csv", "utf-8", ",", "event", "exchange_*.csv"),
    "children_deported": ("csv", "utf-8", ",", "snapshot", "children.csv"),
}


def test_all_eight_sources_have_a_contract():
    assert source_ids() == sorted(SOURCE_COLUMNS)
    assert [c.source_id for c in all_contracts()] == sorted(SOURCE_COLUMNS)


@pytest.mark.parametrize("source_id", sorted(SOURCE_COLUMNS))
def test_contract_matches_sources_md(source_id):
    c = load(source_id)
    assert [col.source for col in c.columns] == SOURCE_COLUMNS[source_id]
    assert (c.format, c.encoding, c.delimiter, c.cadence, c.file_pattern) == DELIVERY[source_id]
    assert c.column("record_key") is not None or "record_key" in c.derived
    assert c.title and c.provider and all(col.description for col in c.columns)
    for col in c.columns:  # names, birth dates, identifiers and phones are personal
        if col.field in ("surname", "first_name", "patronymic", "full_name", "birth_date", "rnokpp", "service_no",
                         "applicant_phone", "place_of_detention"):
            assert col.personal, (source_id, col.source)
        if col.field in ("sex", "status", "person_type", "op", "region", "status_date"):
            assert not col.personal, (source_id, col.source)


def test_date_formats():
    assert load("npu_appeals").date_format == "%d.%m.%Y"
    for sid in ("mvs_register", "coordhq_cases", "ombudsman", "icrc_confirmations", "exchange_returns",
                "children_deported"):
        assert load(sid).date_format == "%Y-%m-%d"
    assert {c.type for c in load("sbu_jc").columns if c.field in ("birth_date", "status_date")} == {"excel_date"}
    assert load("sbu_jc").sheet == "Реєстр"
    assert load("icrc_confirmations").column("birth_date").type == "partial_date"
    assert load("mvs_register").column("changed_at").type == "timestamp"


def test_register_codes_are_allowed_mappings():
    c = load("mvs_register")
    assert c.column("status").allowed == {"10": "missing", "20": "found_alive", "30": "found_dead",
                                          "40": "captivity", "50": "returned"}
    assert c.column("person_type").allowed == {"1": "military", "2": "civilian", "3": "child"}
    assert c.column("op").allowed == {"I": "I", "U": "U", "D": "D"}
    assert c.manifest_extra == ("seq",) and c.cadence == "delta"
    assert c.key == ("record_key", "changed_at")


def test_other_mappings():
    assert load("npu_appeals").column("sex").allowed == {"ч": "M", "ж": "F"}
    assert load("npu_appeals").column("person_type").allowed == {
        "військовослужбовець": "military", "цивільний": "civilian", "дитина": "child"}
    assert load("coordhq_cases").column("person_type").allowed == {"true": "civilian", "false": "military"}
    assert load("coordhq_cases").column("sex").allowed == {"male": "M", "female": "F"}
    assert load("icrc_confirmations").column("status").allowed["POW"] == "pow"
    assert load("sbu_jc").constants == {"status": "detained"}
    assert load("npu_appeals").constants == {"status": "missing"}


def test_exchange_key_is_derived_from_exchange_and_line():
    c = load("exchange_returns")
    assert c.derived == {"record_key": "{exchange_id}/{line_no}"}
    assert c.constants == {"status": "returned"} and "record_key" in c.required_fields()


def test_status_tokens_are_the_architecture_vocabulary():
    for c in all_contracts():
        for col in c.columns:
            if col.field in CANONICAL_VALUES:
                assert set(col.allowed_values) <= CANONICAL_VALUES[col.field], (c.source_id, col.field)
        for f, v in c.constants.items():
            assert f not in CANONICAL_VALUES or v in CANONICAL_VALUES[f]


def test_core_and_attribute_fields():
    c = load("npu_appeals")
    assert set(c.core_fields) <= set(CORE_FIELDS)
    assert c.attribute_fields == ["settlement", "circumstances", "applicant_relation", "applicant_phone"]
    assert load("coordhq_cases").attribute_fields == ["rank", "unit", "confirmation_source", "office"]


# ------------------------------------------------------------------------------------------ shape checks
BASE = {
    "source_id": "demo", "title": "t", "provider": "p", "cadence": "snapshot", "format": "csv",
    "file_pattern": "demo.csv", "encoding": "utf-8", "delimiter": ",", "key": ["record_key"],
    "columns": [
        {"source": "id", "field": "record_key", "required": True},
        {"source": "s", "field": "sex", "allowed": {"m": "M", "f": "F"}},
    ],
}


def _write(tmp_path: Path, doc: dict, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _with(**changes) -> dict:
    doc = {k: (list(v) if isinstance(v, list) else v) for k, v in BASE.items()}
    doc["columns"] = [dict(c) for c in BASE["columns"]]
    doc.update(changes)
    return doc


def test_a_minimal_contract_loads(tmp_path):
    c = load_file(_write(tmp_path, BASE))
    assert c.source_id == "demo" and c.column("sex").allowed_values == ["F", "M"]


@pytest.mark.parametrize(("doc", "message"), [
    (_with(colour="red"), "unknown key(s) ['colour']"),
    (_with(cadence="weekly"), "'weekly' is not one of"),
    (_with(format="xml"), "'xml' is not one of"),
    (_with(encoding="klingon-8"), "unknown encoding"),
    (_with(delimiter=None), "needs a one-character `delimiter`"),
    (_with(format="xlsx", encoding=None, delimiter=None), "needs `sheet`"),
    (_with(timezone="Mars/Olympus"), "unknown time zone"),
    (_with(key=["nope"]), "'nope' is not a field of this source"),
    (_with(columns=[{"source": "id", "field": "record_key", "type": "uuid"}]), "type 'uuid' is not one of"),
    (_with(columns=[{"source": "id", "field": "record_key", "pattern": "("}]), "pattern does not compile"),
    (_with(columns=[{"source": "id", "field": "record_key"}, {"source": "s", "field": "sex"}]),
     "sex needs an `allowed` mapping"),
    (_with(columns=[{"source": "id", "field": "record_key"},
                    {"source": "s", "field": "status", "allowed": {"1": "vanished"}}]),
     "are not tokens of status"),
    (_with(columns=[{"source": "id", "field": "record_key"}, {"source": "d", "field": "status_date"}]),
     "status_date (date) cannot take type string"),
    (_with(columns=[{"source": "id", "field": "record_key"}, {"source": "id", "field": "other"}]),
     "delivered twice"),
    (_with(columns=[{"source": "id", "field": "record_key"}, {"source": "x", "field": "record_key"}]),
     "filled twice"),
    (_with(columns=[{"source": "id", "field": "Record Key"}]), "must be snake_case"),
    (_with(columns=[{"source": "a.b", "field": "record_key"}]), "dotted paths are for JSON sources only"),
    (_with(columns=[{"source": "x", "field": "other"}]), "no column or derived field fills record_key"),
    (_with(columns=[{"source": "x", "field": "other"}], derived={"record_key": "{nope}/{line_no}"}),
     "names 'nope'"),
    (_with(constants={"status": "vanished"}), "is not a token of status"),
    (_with(columns=[{"source": "id", "field": "record_key", "required": "yes"}]), "must be true or false"),
])
def test_shape_errors_name_the_file_and_the_entry(tmp_path, doc, message):
    with pytest.raises(ContractError) as info:
        load_file(_write(tmp_path, doc))
    assert str(info.value).startswith("demo.yaml: ") and message in str(info.value), str(info.value)


def test_source_id_must_match_the_file_name(tmp_path):
    with pytest.raises(ContractError, match="does not match the file name"):
        load_file(_write(tmp_path, BASE, "other.yaml"))


def test_not_yaml(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text("source_id: [unclosed", encoding="utf-8")
    with pytest.raises(ContractError, match="not valid YAML"):
        load_file(path)


def test_unknown_source():
    with pytest.raises(ContractError, match="no contract for source 'nowhere'"):
        load("nowhere")


# ------------------------------------------------------------------------------------------ generated docs
def test_committed_sources_page_is_up_to_date():
    assert contract_docs.DOCS_PATH.is_file(), "run: python -m ridni.contracts.docs"
    assert contract_docs.DOCS_PATH.read_text(encoding="utf-8") == contract_docs.render(), \
        "docs/sources.md is out of date: run python -m ridni.contracts.docs"


def test_sources_page_documents_every_column():
    page = contract_docs.render()
    for source_id, columns in SOURCE_COLUMNS.items():
        assert f"## `{source_id}`" in page
        for col in columns:
            assert f"`{col}`" in page
    assert "`10` → `missing`" in page and "`{exchange_id}/{line_no}`" in page
