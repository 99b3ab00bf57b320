"""Name cleaning, SBU full-name split, and first name / patronymic swap detection."""

import pandas as pd
import pytest

from ridni.standardise.names import (
    NameParts,
    clean_name,
    display_case,
    fix_mixed_script,
    fold_name,
    fold_name_series,
    is_patronymic,
    lookalikes_to_record_script,
    looks_swapped,
    looks_swapped_series,
    patronymic_sex,
    split_full_name,
    split_full_name_series,
    unswap,
)


def test_three_apostrophe_variants_are_one():
    variants = ["Мар\u0027яна", "Мар\u2019яна", "Мар\u02bcяна"]
    assert len(set(variants)) == 3
    assert {clean_name(v) for v in variants} == {"Мар'яна"}
    assert {fold_name(v) for v in variants} == {"мар'яна"}
    assert fold_name("Д\u2019ЯЧЕНКО") == fold_name("д\u02bcяченко") == "д'яченко"


def test_case_and_whitespace():
    assert fold_name("  ОЛЕКСАНДР ") == fold_name("олександр") == "олександр"
    assert clean_name("Петренко \t Олександр") == "Петренко Олександр"
    assert clean_name(None) is None and clean_name("   ") is None and clean_name(float("nan")) is None


@pytest.mark.parametrize("raw", ["Петренко-Коваль", "Петренко - Коваль", "Петренко–Коваль", "Петренко—Коваль",
                                 "ПЕТРЕНКО-КОВАЛЬ", "петренко \u2010 коваль"])
def test_double_barrelled_surname_hyphens(raw):
    assert fold_name(raw) == "петренко-коваль"
    assert display_case(raw) == "Петренко-Коваль"


def test_display_case_keeps_lower_case_after_apostrophe():
    assert display_case("Д'ЯЧЕНКО") == "Д'яченко"
    assert display_case("мар’яна") == "Мар'яна"


def test_latin_look_alikes_inside_cyrillic_words():
    assert fix_mixed_script("Iван") == "Іван"  # Latin I
    assert fold_name("Пeтpeнкo") == "петренко"  # Latin e, p, o
    assert fix_mixed_script("Petrenkо") == "Petrenko"  # Cyrillic о in a Latin word
    assert fix_mixed_script("Петренко") == "Петренко"


@pytest.mark.parametrize(("typed", "meant"), [
    ("COKОЛ", "СОКОЛ"),          # mostly Latin, but Л has no Latin twin: the word is Cyrillic
    ("OЛEKCAHДP", "ОЛЕКСАНДР"),
    ("Mapія", "Марія"),
    ("Xoмa", "Хома"),
    ("Oлeнa", "Олена"),
    ("KOBAЛЬЧУK", "КОВАЛЬЧУК"),
    ("Olеksandr", "Oleksandr"),   # a Cyrillic е in a Latin word: l, k, s, n, d, r have no Cyrillic twin
])
def test_look_alikes_fold_to_the_script_of_the_letters_that_have_no_twin(typed, meant):
    assert fix_mixed_script(typed) == meant
    assert clean_name(typed) == meant


def test_a_word_of_look_alikes_alone_takes_the_script_of_the_rest_of_the_name():
    assert clean_name("Tapac Петрович") == "Тарас Петрович"
    assert clean_name("OKCAHA Петрівна") == "ОКСАНА Петрівна"
    assert clean_name("Tapac") == "Tapac"  # nothing says it is not Latin
    assert clean_name("Oleksandr Petrenko") == "Oleksandr Petrenko"
    surname, first, patronymic = lookalikes_to_record_script(
        [pd.Series(["Петренко", "Petrenko"]), pd.Series(["Tapac", "Taras"]), pd.Series([None, "Tapac"])])
    assert first.tolist() == ["Тарас", "Taras"] and pd.isna(patronymic[0]) and patronymic[1] == "Tapac"


@pytest.mark.parametrize(("raw", "expected"), [
    ("ПЕТРЕНКО Олександр Миколайович", ("Петренко", "Олександр", "Миколайович")),
    ("Олександр Миколайович ПЕТРЕНКО", ("Петренко", "Олександр", "Миколайович")),
    ("ПЕТРЕНКО-КОВАЛЬ Ганна Іллівна", ("Петренко-Коваль", "Ганна", "Іллівна")),
    ("Д’ЯЧЕНКО Мар’яна Сергіївна", ("Д'яченко", "Мар'яна", "Сергіївна")),
    ("  ШЕВЧУК   Тарас  ", ("Шевчук", "Тарас", None)),
    ("ПЕТРЕНКО, Олександр Миколайович", ("Петренко", "Олександр", "Миколайович")),
    ("ПЕТРЕНКО О.М.", ("Петренко", "О.", "М.")),
    # case says nothing: the official order, unless the patronymic shows another one
    ("Петренко Олександр Миколайович", ("Петренко", "Олександр", "Миколайович")),
    ("ПЕТРЕНКО ОЛЕКСАНДР МИКОЛАЙОВИЧ", ("Петренко", "Олександр", "Миколайович")),
    ("Олександр Миколайович Петренко", ("Петренко", "Олександр", "Миколайович")),
    ("Ван дер Берг Олександр Миколайович", ("Ван Дер Берг", "Олександр", "Миколайович")),
])
def test_sbu_full_name_split(raw, expected):
    assert split_full_name(raw) == NameParts(*expected)


def test_full_name_split_of_nothing():
    assert split_full_name(None) == NameParts(None, None, None)


@pytest.mark.parametrize("word", [
    "Олександрович", "Миколайович", "Сергійович", "Олександрівна", "Миколаївна", "Сергеевич", "Александровна",
    "Ілліч", "Іллівна", "Ильинична", "Oleksandrovych", "Aleksandrovich", "Serhiivna", "Sergeevna",
    "Mykolaiovych", "ivanovna", "Illich", "Мар’янович",
])
def test_patronymic_endings(word):
    assert is_patronymic(word)


@pytest.mark.parametrize("word", ["Олександр", "Сергій", "Ганна", "Aleksandr", "Ivanna", "Петренко", "Бабич",
                                  "Іван Петрович", None, "", "Вна"])
def test_not_patronymics(word):
    assert not is_patronymic(word)


def test_patronymic_sex():
    assert patronymic_sex("Миколайович") == "M"
    assert patronymic_sex("Миколаївна") == "F"
    assert patronymic_sex("Aleksandrovna") == "F"
    assert patronymic_sex("Олександр") is None


def test_swap_detection():
    assert looks_swapped("Миколайович", "Олександр")
    assert looks_swapped("Sergeevna", "Anna")
    assert looks_swapped("Олександрович", None)
    assert not looks_swapped("Олександр", "Миколайович")
    assert not looks_swapped("Олександрович", "Миколайович")  # both look like patronymics: no guess
    assert unswap("Іванівна", "Ганна") == ("Ганна", "Іванівна", True)
    assert unswap("Ганна", "Іванівна") == ("Ганна", "Іванівна", False)


def test_vectorised_forms_on_a_series():
    first = pd.Series(["Миколайович", "Олександр", None, "Sergeevna"], index=[3, 4, 5, 6])
    patr = pd.Series(["Олександр", "Миколайович", "Іванович", "Anna"], index=[3, 4, 5, 6])
    assert looks_swapped_series(first, patr).tolist() == [True, False, False, True]
    assert fold_name_series(pd.Series(["Мар\u2019яна", "МАР\u02bcЯНА", None])).tolist() == ["мар'яна", "мар'яна", None]
    parts = split_full_name_series(pd.Series(["ПЕТРЕНКО Олександр Миколайович", None], index=[7, 8]))
    assert list(parts.columns) == ["surname", "first_name", "patronymic"]
    assert parts.loc[7].tolist() == ["Петренко", "Олександр", "Миколайович"]
    assert parts.loc[8].isna().all()
