"""The given-name table and cross-script equivalence of given names and patronymics."""

import csv

import pandas as pd
import pytest
from translitua import translit

from ridni.standardise import given_names as gn
from ridni.standardise.names import fold_name
from ridni.standardise.translit import latin_key

ROWS = list(csv.DictReader(gn.DATA.open(encoding="utf-8")))


def test_table_shape():
    assert set(gn.COLUMNS) <= set(ROWS[0])
    assert sum(r["sex"] == "M" for r in ROWS) >= 70
    assert sum(r["sex"] == "F" for r in ROWS) >= 70
    assert {r["sex"] for r in ROWS} == {"M", "F"}
    assert len({r["uk"] for r in ROWS}) == len(ROWS)
    assert len({r["latin_national"].casefold() for r in ROWS}) == len(ROWS)


def test_every_row_is_consistent():
    for r in ROWS:
        assert r["latin_national"] == translit(r["uk"]), r["uk"]
        assert r["ru"] and r["latin_ru"], r["uk"]
        if r["sex"] == "M":
            assert r["patronymic_m"].endswith(("ович", "евич", "ич", "іч")), r["uk"]
            assert r["patronymic_f"].endswith("вна"), r["uk"]
        else:
            assert r["patronymic_m"] == r["patronymic_f"] == "", r["uk"]


def test_no_spelling_points_to_two_names():
    assert gn.ambiguous_keys() == {}
    assert gn._given()[0].ambiguous_exact == set()
    assert gn._patronymics()[0].ambiguous_exact == set()


def test_every_listed_spelling_maps_back_to_its_row():
    for r in ROWS:
        id_ = r["latin_national"].casefold()
        spellings = [r["uk"], r["latin_national"], r["ru"], *r["latin_ru"].split("|"), *r["english"].split("|"),
                     *r.get("uk_variants", "").split("|")]
        for s in filter(None, spellings):
            assert gn.given_name_id(s) == id_, (s, id_)


@pytest.mark.parametrize(("id_", "spellings"), [
    ("oleksandr", ["Олександр", "Oleksandr", "Aleksandr", "Alexandr", "Alexander", "Александр", "OLEKSANDR"]),
    ("serhii", ["Сергій", "Serhii", "Sergey", "Sergii", "Sergiy", "Serhiy", "Сергей", "Sergei"]),
    ("mykola", ["Микола", "Mykola", "Nikolay", "Nikolai", "Николай"]),
    ("yurii", ["Юрій", "Yurii", "Yuriy", "Yury", "Iurii", "Юрий"]),
    ("andrii", ["Андрій", "Andrii", "Andriy", "Andrey", "Andrei"]),
    ("dmytro", ["Дмитро", "Dmytro", "Dmitriy", "Dmitry", "Дмитрий"]),
    ("oleksii", ["Олексій", "Oleksii", "Oleksiy", "Aleksey", "Alexey", "Алексей"]),
    ("yevhen", ["Євген", "Yevhen", "Evgeniy", "Yevgeny", "Eugene", "Евгений", "Євгеній"]),
    ("ihor", ["Ігор", "Ihor", "Igor", "Игорь"]),
    ("vitalii", ["Віталій", "Vitalii", "Vitaliy", "Vitaly", "Виталий"]),
    ("hanna", ["Ганна", "Hanna", "Anna", "Анна"]),
    ("nataliia", ["Наталія", "Nataliia", "Natalia", "Natalya", "Наталья", "Наталя"]),
    ("olena", ["Олена", "Olena", "Elena", "Yelena", "Елена"]),
    ("yuliia", ["Юлія", "Yuliia", "Yulia", "Julia", "Юлия"]),
    ("tetiana", ["Тетяна", "Tetiana", "Tatyana", "Tatiana", "Татьяна"]),
    ("iryna", ["Ірина", "Iryna", "Irina", "Ирина"]),
    ("mariana", ["Мар'яна", "Мар\u2019яна", "Мар\u02bcяна", "Mariana", "Maryana"]),
])
def test_cross_script_given_names(id_, spellings):
    assert {gn.given_name_key(s) for s in spellings} == {id_}


def test_unlisted_spelling_found_by_its_key():
    assert gn.given_name_id("Serhij") == "serhii"
    assert gn.given_name_id("Oleksandre") is None  # not a spelling of anything listed
    assert gn.given_name_id("Natalija") == "nataliia"


def test_unknown_names_fall_back_to_the_latin_key():
    assert gn.given_name_id("Тарасик") is None
    assert gn.given_name_key("Тарасик") == latin_key("Tarasyk")
    assert gn.given_name_key(None) is None


def test_sex_of_a_given_name():
    assert gn.given_name_sex("Sergey") == "M"
    assert gn.given_name_sex("Natalya") == "F"
    assert gn.given_name_sex("Xyz") is None


@pytest.mark.parametrize(("id_", "spellings"), [
    ("oleksandrovych", ["Олександрович", "Oleksandrovych", "Александрович", "Aleksandrovich", "Alexandrovich"]),
    ("oleksandrivna", ["Олександрівна", "Oleksandrivna", "Александровна", "Aleksandrovna"]),
    ("serhiiovych", ["Сергійович", "Serhiiovych", "Сергеевич", "Sergeevich", "Sergeyevich", "Сергієвич"]),
    ("mykolaiovych", ["Миколайович", "Mykolaiovych", "Николаевич", "Nikolaevich", "Миколаєвич"]),
    ("mykolaivna", ["Миколаївна", "Mykolaivna", "Николаевна", "Nikolaevna"]),
    ("yuriiovych", ["Юрійович", "Yuriiovych", "Юрьевич", "Yurevich", "Yuryevich"]),
    ("illich", ["Ілліч", "Illich", "Ильич", "Ilyich"]),
    ("ivanivna", ["Іванівна", "Ivanivna", "Ивановна", "Ivanovna"]),
])
def test_cross_script_patronymics(id_, spellings):
    assert {gn.patronymic_key(s) for s in spellings} == {id_}


def test_patronymic_father():
    assert gn.patronymic_father("Sergeevna") == "serhii"
    assert gn.patronymic_father("Миколаївна") == "mykola"
    assert gn.patronymic_father("Петренко") is None


def test_russian_patronymic_rules():
    assert gn.russian_patronymics("Сергей") == ("Сергеевич", "Сергеевна")
    assert gn.russian_patronymics("Юрий") == ("Юрьевич", "Юрьевна")
    assert gn.russian_patronymics("Николай") == ("Николаевич", "Николаевна")
    assert gn.russian_patronymics("Игорь") == ("Игоревич", "Игоревна")
    assert gn.russian_patronymics("Александр") == ("Александрович", "Александровна")
    assert gn.russian_patronymics("Илья") == ("Ильич", "Ильинична")


def test_a_cyrillic_and_two_latin_records_of_one_person_share_keys():
    cyrillic = ("Петренко", "Олександр", "Миколайович")
    national = ("Petrenko", "Oleksandr", "Mykolaiovych")
    russian = ("Petrenko", "Aleksandr", "Nikolaevich")

    def keys(rec):
        return latin_key(rec[0]), gn.given_name_key(rec[1]), gn.patronymic_key(rec[2])

    assert keys(cyrillic) == keys(national) == keys(russian)
    assert fold_name(cyrillic[1]) != fold_name(russian[1])


def test_vectorised_forms_on_a_series():
    s = pd.Series(["Sergey", "Сергій", None, "Serhii", "Тарасик"], index=list("abcde"))
    keys = gn.given_name_key_series(s)
    assert keys.tolist() == ["serhii", "serhii", None, "serhii", latin_key("Тарасик")]
    assert list(keys.index) == list("abcde")
    assert gn.patronymic_key_series(pd.Series(["Sergeevna", "Сергіївна"])).tolist() == ["serhiivna"] * 2
