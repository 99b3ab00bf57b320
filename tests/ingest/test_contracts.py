"""The source contracts: one per source of docs/sources.md, in its exact format, and checked on load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

import ridni.contracts
from ridni.contracts import (
    CANONICAL_VALUES,
    CONTRACTS_DIR,
    CORE_FIELDS,
    SCHEMA_PATH,
    ContractError,
    _validator,
    all_contracts,
    check_shape,
    load,
    load_file,
    references,
    source_ids,
)
from ridni.contracts import docs as contract_docs

# The delivered columns of each source, in file order, as docs/sources.md gives them.
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


def test_every_documented_source_has_a_contract():
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


def _without(*keys) -> dict:
    return {k: v for k, v in _with().items() if k not in keys}


# (document, JSON path, message): the schema's shape checks first, then the cross-field rules
@pytest.mark.parametrize(("doc", "where", "message"), [
    (_with(colour="red"), "$", "Additional properties are not allowed ('colour' was unexpected)"),
    (_without("title"), "$", "'title' is a required property"),
    (_with(cadence="weekly"), "$.cadence", "'weekly' is not one of"),
    (_with(format="xml"), "$.format", "'xml' is not one of"),
    (_with(title=7), "$.title", "7 is not of type 'string'"),
    (_with(encoding="klingon-8"), "$.encoding", "unknown encoding 'klingon-8'"),
    (_without("delimiter"), "$", "'delimiter' is a required property"),
    (_with(delimiter=";;"), "$.delimiter", "is too long"),
    (_with(format="xlsx"), "$", "'sheet' is a required property"),
    (_with(format="xlsx", sheet="S"), "$.encoding", "does not apply to a source of this format or cadence"),
    (_with(cadence="event", max_withdrawal_share=0.1), "$.max_withdrawal_share", "does not apply"),
    (_with(max_withdrawal_share=0), "$.max_withdrawal_share", "less than or equal to the minimum of 0"),
    (_with(max_quarantine_share=1.5), "$.max_quarantine_share", "greater than the maximum of 1"),
    (_with(timezone="Mars/Olympus"), "$.timezone", "unknown time zone"),
    (_with(key=["nope"]), "$.key[0]", "'nope' is not a field of this source"),
    (_with(columns=[{"source": "id", "field": "record_key", "type": "uuid"}]), "$.columns[0].type",
     "'uuid' is not one of"),
    (_with(columns=[{"source": "id", "field": "record_key", "colour": "red"}]), "$.columns[0]",
     "('colour' was unexpected)"),
    (_with(columns=[{"source": "id", "field": "record_key", "pattern": "("}]), "$.columns[0].pattern",
     "pattern does not compile"),
    (_with(columns=[{"source": "id", "field": "record_key", "type": "date", "pattern": "x"}]),
     "$.columns[0].type", "'date' is not one of ['string', 'integer']"),
    (_with(columns=[{"source": "id", "field": "record_key"}, {"source": "s", "field": "sex"}]), "$.columns[1]",
     "sex needs an `allowed` mapping"),
    (_with(columns=[{"source": "id", "field": "record_key"},
                    {"source": "s", "field": "status", "allowed": {"1": "vanished"}}]), "$.columns[1].allowed",
     "are not tokens of status"),
    (_with(columns=[{"source": "id", "field": "record_key"}, {"source": "s", "field": "sex", "allowed": []}]),
     "$.columns[1].allowed", "should be non-empty"),
    (_with(columns=[{"source": "id", "field": "record_key"}, {"source": "d", "field": "status_date"}]),
     "$.columns[1].type", "status_date (date) cannot take type string"),
    (_with(columns=[{"source": "id", "field": "record_key"}, {"source": "id", "field": "other"}]),
     "$.columns[1].source", "delivered twice"),
    (_with(columns=[{"source": "id", "field": "record_key"}, {"source": "x", "field": "record_key"}]),
     "$.columns[1].field", "filled twice"),
    (_with(columns=[{"source": "id", "field": "Record Key"}]), "$.columns[0].field", "does not match"),
    (_with(columns=[{"source": "id", "field": "line_no"}]), "$.columns[0].field", "should not be valid"),
    (_with(columns=[{"source": "a.b", "field": "record_key"}]), "$.columns[0].source",
     "dotted paths are for JSON sources only"),
    (_with(columns=[{"source": "x", "field": "other"}]), "$.columns", "no column or derived field fills record_key"),
    (_with(columns=[{"source": "x", "field": "other"}], derived={"record_key": "{nope}/{line_no}"}),
     "$.derived.record_key", "names 'nope'"),
    (_with(constants={"status": "vanished"}), "$.constants.status", "is not a token of status"),
    (_with(columns=[{"source": "id", "field": "record_key", "required": "yes"}]), "$.columns[0].required",
     "'yes' is not of type 'boolean'"),
    (_with(references=[{"field": "nope", "source": "other", "key": "record_key"}]), "$.references[0].field",
     "'nope' is not a field of this source"),
    (_with(references=[{"field": "sex", "source": "other", "key": "case_no"}]), "$.references[0].key",
     "'record_key' was expected"),
])
def test_shape_errors_name_the_file_and_the_json_path(tmp_path, doc, where, message):
    with pytest.raises(ContractError) as info:
        load_file(_write(tmp_path, doc))
    assert str(info.value).startswith(f"demo.yaml: {where}: ") and message in str(info.value), str(info.value)


@pytest.mark.parametrize("path", sorted(CONTRACTS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_contract_matches_the_schema(path):
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(_validator().iter_errors(raw)) == []
    check_shape(raw, path)


def test_the_schema_is_a_valid_draft_2020_12_schema():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


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


def test_cross_source_references_are_declared_in_the_contracts():
    (ref,) = load("mvs_register").references
    assert (ref.field, ref.source, ref.key, ref.separator) == ("appeal_refs", "npu_appeals", "record_key", "|")
    assert ref.values(" NP-1 | NP-2||") == ["NP-1", "NP-2"]
    assert [(citing, r.source) for citing, r in references()] == [("mvs_register", "npu_appeals")]
    assert "**References `appeal_refs`**: cites the `record_key` of `npu_appeals` records" in contract_docs.render()


def test_a_reference_to_a_source_without_a_contract_is_refused(tmp_path, monkeypatch):
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    _write(contracts, _with(references=[{"field": "sex", "source": "nowhere", "key": "record_key"}]))
    monkeypatch.setattr(ridni.contracts, "CONTRACTS_DIR", contracts)
    load.cache_clear()
    try:
        with pytest.raises(ContractError, match=r"demo.yaml: \$.references\[0\].source: no contract for source"):
            references()
    finally:
        monkeypatch.undo()
        load.cache_clear()
