"""Human labels for the warehouse's codes, in the reader's language: one table for every page.

Categories, person types, sexes, age bands, sources, drop statuses and the headline groups are stored as
codes (``enforced_disappearance``, ``npu_appeals``, ``all missing``); the pages show these labels instead,
translated through ``ridni.web.i18n`` (the msgids are the English labels). An unknown code is shown as it is.
"""

from __future__ import annotations

import functools

import pandas as pd

from ridni.web.i18n import N_, Language

CATEGORIES = {
    "missing": N_("missing"),
    "captive_pow": N_("captive servicemember"),
    "civilian_detained": N_("civilian deprived of liberty"),
    "enforced_disappearance": N_("enforced disappearance"),
    "illegally_convicted": N_("illegally convicted"),
    "deported_child": N_("deported child"),
    "returned": N_("returned"),
    "found_alive": N_("found alive"),
    "deceased": N_("deceased"),
}
PERSON_TYPES = {"military": N_("servicemember"), "civilian": N_("civilian"), "child": N_("child"),
                "unknown": N_("not known")}
SEXES = {"M": N_("male"), "F": N_("female"), "unknown": N_("not known")}
AGE_BANDS = {"unknown": N_("age not known")}  # the others ("0-17", "60+") read the same in both languages
SOURCES = {
    "npu_appeals": N_("National Police: appeals"),
    "mvs_register": N_("Ministry of Internal Affairs: register"),
    "icrc_confirmations": N_("ICRC: confirmations"),
    "ombudsman": N_("Ombudsman's office"),
    "sbu_jc": N_("SBU Joint Centre"),
    "children_deported": N_("National Information Bureau: deported children"),
    "coordhq_cases": N_("Coordination Headquarters: cases"),
    "exchange_returns": N_("Coordination Headquarters: exchange lists"),
}
# the marts' headline groups (ridni.publish.marts.HEADLINE), in the reader's words
GROUPS = {
    "all missing": N_("Missing"),
    "confirmed captive servicemembers": N_("Captive servicemembers (confirmed)"),
    "confirmed civilians held": N_("Civilians held (confirmed)"),
    "confirmed civilians held, ICRC-confirmed": N_("of them confirmed by the ICRC"),
    "deported children": N_("Deported children"),
    "returned": N_("Returned"),
}
# what a headline group counts when it is not a set of categories
GROUP_NOTES = {"confirmed civilians held, ICRC-confirmed": N_("civilians held whose captivity the ICRC confirmed")}


def _label(table: dict[str, str], code, lang: Language) -> str:
    if code is None or (not isinstance(code, str) and pd.isna(code)):
        return ""
    text = table.get(str(code))
    return lang.gettext(text) if text else str(code)


def category(code, lang: Language) -> str:
    return _label(CATEGORIES, code, lang)


def person_type(code, lang: Language) -> str:
    return _label(PERSON_TYPES, code, lang)


def sex(code, lang: Language) -> str:
    return _label(SEXES, code, lang)


def age_band(code, lang: Language) -> str:
    return _label(AGE_BANDS, code, lang)


def source(code, lang: Language) -> str:
    return _label(SOURCES, code, lang)


def group(code, lang: Language) -> str:
    return _label(GROUPS, code, lang)


@functools.cache
def _region_names() -> dict[str, dict[str, str]]:
    try:
        from ridni.standardise.regions import regions

        return {r["code"]: {"uk": r["name_uk"], "en": r["name_en"]} for r in regions()}
    except Exception:  # names are a courtesy; codes alone still read
        return {}


def region(code, lang: Language) -> str:
    """A region's name in the reader's language with its ISO code: "Donetsk Oblast (UA-14)"."""
    if code is None or (not isinstance(code, str) and pd.isna(code)):
        return ""
    if str(code) == "unknown":
        return lang.gettext("region not known")
    name = _region_names().get(str(code), {}).get(lang.code)
    return f"{name} ({code})" if name else str(code)


def legend() -> list[tuple[str, list[str] | None]]:
    """The headline groups with the categories each one counts (None: a note in GROUP_NOTES instead)."""
    from ridni.publish.marts import HEADLINE

    return list(HEADLINE)
