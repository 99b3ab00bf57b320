"""The pages' languages: Ukrainian by default, English on request, through Babel.

Texts in the code are English msgids, marked for extraction (``_``, ``ngettext``, ``N_``); their
Ukrainian translations live in ``locale/uk/LC_MESSAGES/messages.po``, compiled in memory on first use
(no compiled catalog is kept in the repository). Numbers, dates and times are formatted by Babel for the
chosen locale, times in Kyiv time. A page picks its language from ``?lang=`` (then kept in a cookie),
else the cookie, else Ukrainian. To add texts: mark them, then (docs/review.md)

    pybabel extract -F include/ridni/web/locale/babel.cfg -o include/ridni/web/locale/messages.pot \
        include/ridni/web include/ridni/ingest/docs.py
    pybabel update -i include/ridni/web/locale/messages.pot -d include/ridni/web/locale
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LOCALE_DIR = Path(__file__).with_name("locale")
# the code whose texts the catalog holds: the web pages, and the Data Docs pages (ridni.ingest.docs)
TEXT_SOURCES = (Path(__file__).parent, Path(__file__).parent.parent / "ingest" / "docs.py")
DOMAIN = "messages"
DEFAULT = "uk"
LANGUAGES = {"uk": "Українська", "en": "English"}  # each in its own language, for the switch
COOKIE = "ridni_lang"
TIMEZONE = ZoneInfo("Europe/Kyiv")


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "translate later")
    """Mark a text for extraction where it is defined; it is translated where it is shown."""
    return message


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def _translations(code: str) -> gettext.NullTranslations:
    path = catalog_path(code)
    if not path.exists():  # English: the msgids themselves
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@dataclass(frozen=True)
class Language:
    """A page's language: its translations and Babel's formatting for its locale."""
    code: str

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.code)

    def gettext(self, message: str) -> str:
        return _translations(self.code).gettext(message)

    _ = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _translations(self.code).ngettext(singular, plural, n)

    def number(self, value, digits: int | None = None) -> str:
        """A number in the locale's form (20 000 / 20,000); ``digits`` after the decimal sign."""
        if value is None:
            return ""
        pattern = None if digits is None else "#,##0." + "0" * digits if digits else "#,##0"
        return format_decimal(value, format=pattern, locale=self.code)

    def date(self, value: dt.date | None, length: str = "medium") -> str:
        """A date in the locale's form; ``length`` as Babel's: "medium" (3 лист. 2026 р.), "long" (3 листопада)."""
        return "" if value is None else format_date(value, format=length, locale=self.code)

    def short_date(self, value: dt.date | None) -> str:
        """Day and month only ("3 лист." / "Nov 3"): a chart's axis."""
        return "" if value is None else format_skeleton("MMMd", value, locale=self.code)

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return ""
        return format_datetime(value, format="short", tzinfo=TIMEZONE, locale=self.code)


def language(code: str | None) -> Language:
    """The language for ``code``; anything unknown is the default (Ukrainian)."""
    return Language(code if code in LANGUAGES else DEFAULT)


def choose(query: str | None, cookie: str | None) -> Language:
    """A request's language: the ``lang`` query parameter, else the cookie, else the default."""
    for code in (query, cookie):
        if code in LANGUAGES:
            return Language(code)
    return Language(DEFAULT)
