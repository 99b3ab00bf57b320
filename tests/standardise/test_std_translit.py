"""Transliteration: the official examples of the 2010 table, Russian-style, and the matching key."""

import pandas as pd
import pytest

from ridni.standardise.translit import (
    latin_key,
    latin_key_series,
    to_latin_national,
    to_latin_national_series,
    to_latin_russian,
)

# Examples printed in the table of Cabinet of Ministers resolution No. 55 of 27 January 2010.
OFFICIAL = [
    ("Алушта", "Alushta"), ("Андрій", "Andrii"), ("Борщагівка", "Borshchahivka"), ("Борисенко", "Borysenko"),
    ("Вінниця", "Vinnytsia"), ("Володимир", "Volodymyr"), ("Гадяч", "Hadiach"), ("Богдан", "Bohdan"),
    ("Згурський", "Zghurskyi"), ("Ґалаґан", "Galagan"), ("Ґорґани", "Gorgany"), ("Донецьк", "Donetsk"),
    ("Дмитро", "Dmytro"), ("Рівне", "Rivne"), ("Олег", "Oleh"), ("Есмань", "Esman"),
    ("Єнакієве", "Yenakiieve"), ("Гаєвич", "Haievych"), ("Короп'є", "Koropie"), ("Житомир", "Zhytomyr"),
    ("Жанна", "Zhanna"), ("Жежелів", "Zhezheliv"), ("Закарпаття", "Zakarpattia"), ("Казимирчук", "Kazymyrchuk"),
    ("Медвин", "Medvyn"), ("Михайленко", "Mykhailenko"), ("Іванків", "Ivankiv"), ("Іващенко", "Ivashchenko"),
    ("Їжакевич", "Yizhakevych"), ("Кадиївка", "Kadyivka"), ("Мар'їне", "Marine"), ("Йосипівка", "Yosypivka"),
    ("Стрий", "Stryi"), ("Олексій", "Oleksii"), ("Київ", "Kyiv"), ("Коваленко", "Kovalenko"),
    ("Лебедин", "Lebedyn"), ("Леонід", "Leonid"), ("Миколаїв", "Mykolaiv"), ("Маринич", "Marynych"),
    ("Ніжин", "Nizhyn"), ("Наталія", "Nataliia"), ("Одеса", "Odesa"), ("Онищенко", "Onyshchenko"),
    ("Полтава", "Poltava"), ("Петро", "Petro"), ("Решетилівка", "Reshetylivka"), ("Рибчинський", "Rybchynskyi"),
    ("Суми", "Sumy"), ("Соломія", "Solomiia"), ("Тернопіль", "Ternopil"), ("Троць", "Trots"),
    ("Ужгород", "Uzhhorod"), ("Уляна", "Uliana"), ("Фастів", "Fastiv"), ("Філіпчук", "Filipchuk"),
    ("Харків", "Kharkiv"), ("Христина", "Khrystyna"), ("Біла Церква", "Bila Tserkva"), ("Стеценко", "Stetsenko"),
    ("Чернівці", "Chernivtsi"), ("Шевченко", "Shevchenko"), ("Шостка", "Shostka"), ("Кишеньки", "Kyshenky"),
    ("Щербухи", "Shcherbukhy"), ("Гоща", "Hoshcha"), ("Гаращенко", "Harashchenko"), ("Юрій", "Yurii"),
    ("Корюківка", "Koriukivka"), ("Яготин", "Yahotyn"), ("Ярошенко", "Yaroshenko"), ("Костянтин", "Kostiantyn"),
    ("Знам'янка", "Znamianka"), ("Феодосія", "Feodosiia"), ("Згорани", "Zghorany"), ("Розгон", "Rozghon"),
    ("Хуст", "Khust"), ("Бориспіль", "Boryspil"),
]


@pytest.mark.parametrize(("cyrillic", "latin"), OFFICIAL)
def test_official_examples_of_the_2010_table(cyrillic, latin):
    assert to_latin_national(cyrillic) == latin


@pytest.mark.parametrize("apostrophe", ["'", "\u2019", "\u02bc", "`"])
def test_apostrophe_is_not_transliterated_in_any_form(apostrophe):
    assert to_latin_national(f"Знам{apostrophe}янка") == "Znamianka"
    assert to_latin_national(f"Мар{apostrophe}яна") == "Mariana"


def test_position_dependent_letters_and_upper_case():
    assert to_latin_national("ЄНАКІЄВЕ") == "YENAKIIEVE"
    assert to_latin_national("Юрій Яковенко") == "Yurii Yakovenko"  # each word starts anew
    assert to_latin_national("Ганна-Марія") == "Hanna-Mariia"


def test_russian_letters_get_latin_too():
    assert to_latin_national("Эдуард Рыбаков") == "Eduard Rybakov"
    assert to_latin_national("Фёдор") == "Fiodor"


def test_missing_values():
    assert to_latin_national(None) is None
    assert to_latin_national("  ") is None
    assert latin_key(None) is None
    assert latin_key("--") is None


@pytest.mark.parametrize(("cyrillic", "russian_style"), [
    ("Сергей", "Sergey"), ("Микола", "Mikola"), ("Гаєвич", "Gaevich"), ("Олійник", "Oliynik"),
    ("Мар'яна", "Maryana"), ("Юрій", "Yuriy"), ("Наталья", "Natalya"), ("Шевченко", "Shevchenko"),
    ("Щербаков", "Shcherbakov"), ("Хмельницкий", "Khmelnitskiy"),
])
def test_russian_style_transliteration(cyrillic, russian_style):
    assert to_latin_russian(cyrillic) == russian_style


@pytest.mark.parametrize(("a", "b"), [
    ("Петренко", "Petrenko"),
    ("Гаєвич", "Gaevich"), ("Гаєвич", "Gayevich"), ("Haievych", "Gaevich"),
    ("Хоменко", "Homenko"), ("Захарченко", "Zaharchenko"),  # kh / h
    ("Гончаренко", "Goncharenko"), ("Гнатюк", "Gnatyuk"),  # h / g, iu / yu
    ("Мельничук", "Melnichuk"), ("Литвиненко", "Litvinenko"),  # y / i
    ("Яковенко", "Yakovenko"), ("Яковенко", "Jakovenko"),  # ia / ya / ja
    ("Юрченко", "Yurchenko"), ("Юрченко", "Jurchenko"),
    ("Ющенко", "Yushchenko"), ("Ющенко", "Jushtchenko"), ("Поліщук", "Polischuk"),  # shch
    ("Шевчук", "Szewczuk"), ("Журавель", "Zhuravel"), ("Кравець", "Kravets"), ("Кравець", "Kravetz"),
    ("Ковальський", "Kovalskiy"), ("Ковальський", "Kovalsky"), ("Ковальський", "Kovalskii"),  # -yi / -iy / -y
    ("Ковальська", "Kovalskaya"),
    ("Олійник", "Oleynik"), ("Сергієнко", "Sergienko"), ("Андрєєв", "Andreev"), ("Андрєєв", "Andreyev"),
    ("Д'яченко", "Dyachenko"), ("Дьяченко", "Diachenko"), ("Бойко", "Boyko"),
    ("Їжакевич", "Yizhakevych"), ("Ілліч", "Illich"), ("Кирилл", "Kiril"),  # doubled letters
    ("Петренко-Коваль", "PETRENKO KOVAL"),
    ("Миколаїв", "Mikolaiv"),
])
def test_cross_script_surnames_share_a_key(a, b):
    assert latin_key(a) == latin_key(b)


@pytest.mark.parametrize(("a", "b"), [
    ("Петренко", "Петриченко"), ("Коваль", "Ковальчук"), ("Шевчук", "Шевченко"), ("Бойко", "Божко"),
])
def test_different_surnames_keep_different_keys(a, b):
    assert latin_key(a) != latin_key(b)


def test_apostrophe_variants_share_a_key():
    keys = {latin_key(f"Мар{a}яна") for a in ("'", "\u2019", "\u02bc")}
    assert keys == {latin_key("Mariana")}


def test_vectorised_forms_on_a_series():
    s = pd.Series(["Петренко", None, "Petrenko", "Гаєвич", "", "Петренко"], index=[10, 11, 12, 13, 14, 15])
    keys = latin_key_series(s)
    assert list(keys.index) == [10, 11, 12, 13, 14, 15]
    assert keys.tolist() == [latin_key(v) for v in s]
    assert keys[10] == keys[12] == keys[15]
    assert keys[11] is None and keys[14] is None
    assert to_latin_national_series(s).tolist() == ["Petrenko", None, "Petrenko", "Haievych", None, "Petrenko"]
