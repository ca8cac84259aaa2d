"""One key per language, for comparing the languages people write as free text.

Members and help requests name their languages in whatever language the form was shown in: "Arabic",
"Arabisch", "arabo", "العربية" or "ar". ``language_key`` turns each of those into the same ISO 639 code, so that
matching and the "in my languages" filters compare languages rather than spellings. What people wrote is kept
for display; only comparisons use the key.

The names come from Babel's CLDR data (installed with Flask-Babel, nothing is fetched at run time): the name of
every language in each locale the interface ships (``UI_LOCALES``), English included. A name is compared with
spaces collapsed, case folded and, failing that, without accents ("Ελληνικα" finds "Ελληνικά"). A text that
is neither a known name nor a code keeps its old key, the text case-folded, so dialects and names CLDR does not
know ("Kurmanji", "Dari") still match themselves.
"""

from __future__ import annotations

import functools
import unicodedata

# The interface's languages (network_service/translations, plus the source language English): a test checks
# that every shipped catalog is here.
UI_LOCALES = ("en", "ar", "de", "el", "it", "pl", "uk")

# Names people use that CLDR does not list in these locales (kept short on purpose: CLDR is the list).
ALIASES = {"farsi": "fa"}


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def _without_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _is_code(code: str) -> bool:
    # plain ISO 639 codes only: not regional or script variants ("en_GB", "zh_Hant", "ar_001")
    return code.isascii() and code.isalpha() and 2 <= len(code) <= 3


def _tables() -> tuple[frozenset[str], dict[str, str]]:
    """(the known codes, every known name folded and without accents -> its code), from
    ``network_service/language_names.py``: ``build_tables`` run once and written out, because loading the CLDR
    data of seven locales in each web worker cost about 12 MB of memory (issue 9's target is 150 MB per worker).
    ``tests/test_languages.py`` checks that the file is what the installed Babel gives; after a Babel upgrade
    that changes a name, run ``python tools/make_language_names.py``."""
    from network_service import language_names  # noqa: PLC0415 - 80 KB of data, loaded on first use

    return language_names.CODES, language_names.NAMES


def build_tables() -> tuple[frozenset[str], dict[str, str]]:
    """The tables of ``_tables`` from Babel's CLDR data: where two languages share a name, the first locale of
    UI_LOCALES that names it decides."""
    codes: set[str] = set()
    names: dict[str, str] = {}
    from babel import Locale  # noqa: PLC0415 - only to build the table (tools/make_language_names.py, a test)

    for ui in UI_LOCALES:
        for code, name in Locale.parse(ui).languages.items():
            if not _is_code(code):
                continue
            code = code.lower()
            codes.add(code)
            names.setdefault(_without_accents(_folded(name)), code)
    for alias, code in ALIASES.items():
        names.setdefault(alias, code)
    return frozenset(codes), names


def build_spellings() -> dict[str, tuple[str, ...]]:
    """For each code, the names of its language as the interface's locales write them (lower case, accents kept),
    and its aliases: what people who follow the form's hint type. From Babel's CLDR data, like ``build_tables``;
    ``tools/make_language_names.py`` writes them to ``network_service/language_spellings.py``."""
    from babel import Locale  # noqa: PLC0415 - only to build the table

    spellings: dict[str, set[str]] = {}
    for ui in UI_LOCALES:
        for code, name in Locale.parse(ui).languages.items():
            if _is_code(code):
                spellings.setdefault(code.lower(), set()).add(" ".join(name.split()).lower())
    for alias, code in ALIASES.items():
        spellings.setdefault(code, set()).add(alias)
    return {code: tuple(sorted(names)) for code, names in sorted(spellings.items())}


def spellings_of(name: str) -> list[str]:
    """The ways people write the language ``name`` stands for: ``name`` itself, its code and, for a known
    language, its name in every interface language (for searching text as people typed it, such as the members'
    profiles). An unknown name is only itself."""
    written = " ".join(name.split())
    code = language_code(written)
    if code is None:
        return [written]
    from network_service import language_spellings  # noqa: PLC0415 - only the members filter needs them

    return list(dict.fromkeys([written, code, *language_spellings.SPELLINGS.get(code, ())]))


@functools.lru_cache(maxsize=4096)
def language_key(name: str) -> str:
    """The key ``name`` is compared by: its ISO 639 code when it is a code ("ar") or the name of a language in
    English or one of the interface's languages ("Arabic", "Arabisch", "arabo", "العربية"), else the name with
    spaces collapsed and case folded (as all languages were compared before)."""
    folded = _folded(name)
    codes, names = _tables()
    if folded in codes:
        return folded
    return names.get(_without_accents(folded), folded)


def language_code(name: str) -> str | None:
    """The ISO 639 code ``name`` stands for (as ``language_key`` finds it), or None when it is not a known
    language name or code."""
    key = language_key(name)
    return key if key in _tables()[0] else None


def shown(name: str) -> str:
    """A language as the reader sees it: a known language's name in the page's language ("Arabic" a member wrote
    reads "Arabisch" on a German page, "العربية" on an Arabic one); a name CLDR does not list ("Farsi") and anything
    else as written. Only what is shown changes: what people wrote stays what is stored and compared."""
    code = language_code(name)
    if code is None or _folded(name) in ALIASES:
        return name  # not a language CLDR names, or a name it does not list ("Farsi": what many who speak it call it)
    from network_service.directory.vocabulary import language_name  # noqa: PLC0415 - models import this module

    label = language_name(code)  # in the page's language (English outside a request)
    return name if _folded(name) == _folded(label) else label
