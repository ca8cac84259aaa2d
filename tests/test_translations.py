"""Every user-facing string is in the catalog, and every shipped language translates all of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from network_service.i18n import TRANSLATIONS, available_languages

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [
    ("network_service/**.py", "python"),
    ("lti_bridge/**.py", "python"),
    ("network_service/templates/**.html", "jinja2"),
    ("network_service/templates/**.txt", "jinja2"),
]
LANGUAGES = [code for code in available_languages("en") if code != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _source_messages() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=METHODS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def _key(message_id) -> str:
    """Plural messages are keyed by their singular form."""
    return message_id if isinstance(message_id, str) else message_id[0]


def _strings(value) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def test_template_catalog_holds_every_string_of_the_sources():
    template = {_key(m.id) for m in _catalog(TRANSLATIONS / "messages.pot") if m.id}
    missing = _source_messages() - template
    assert not missing, f"run `make extract_translations`; not in messages.pot: {sorted(missing)[:10]}"


def test_at_least_one_language_besides_english_is_shipped():
    assert LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_translates_every_string_with_the_same_placeholders(language):
    catalog = _catalog(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    translated = {_key(m.id): m for m in catalog if m.id}
    done = {key for key, m in translated.items() if all(_strings(m.string)) and not m.fuzzy}
    missing = sorted(_source_messages() - done)
    assert not missing, f"{language}: {len(missing)} untranslated, e.g. {missing[:5]}"
    for key, message in translated.items():
        expected = set(PLACEHOLDER.findall(key))
        for string in _strings(message.string):
            if string:
                assert set(PLACEHOLDER.findall(string)) == expected, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_matches_its_source(language):
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    source = {
        _key(m.id): _strings(m.string) for m in _catalog(folder / "messages.po") if m.id and not m.fuzzy
    }
    with (folder / "messages.mo").open("rb") as handle:
        compiled = {_key(m.id): _strings(m.string) for m in read_mo(handle) if m.id}
    assert compiled == source, f"run `make compile_translations` for {language}"


def test_pages_are_served_in_the_members_browser_language(client):
    page = client.get("/sign-in", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}).get_data(
        as_text=True
    )
    assert '<html lang="de"' in page
    assert "Anmeld" in page


ANY_PLACEHOLDER = re.compile(r"%\((\w+)\)([-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa])")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_formats_as_its_message_does(language):
    """Each translated form is formatted with the message's own variables, as the pages do (``text % variables``):
    a broken form ("(" for "(%(num)d unread)") raised ValueError in the header of every page, the error page
    included. Plural messages have exactly the language's number of forms, each a real sentence."""
    catalog = _catalog(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    problems = []
    for message in catalog:
        if not message.id:
            continue
        source = " ".join(_strings(message.id))
        variables = {
            name: (1 if kind[-1] in "dioux" else 1.5 if kind[-1] in "eEfFgG" else "x")
            for name, kind in ANY_PLACEHOLDER.findall(source)
        }
        forms = _strings(message.string)
        if message.pluralizable and len(forms) != catalog.num_plurals:
            problems.append(f"{_key(message.id)!r}: {len(forms)} forms, {language} has {catalog.num_plurals}")
        for form in forms:
            if not form:
                continue
            if message.pluralizable and len(form) < 3 <= len(_key(message.id)):
                problems.append(f"{_key(message.id)!r}: the form {form!r} is not a translation")
            try:
                form % variables
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(f"{_key(message.id)!r}: {form!r} does not format: {exc!r}")
    assert not problems, "\n".join(problems)


def test_right_to_left_pages_keep_the_brand_left_to_right(app, client, monkeypatch):
    """The header's links are flex boxes: in Arabic "mentor" and "NET" swapped places ("NETmentor")."""
    monkeypatch.setitem(app.config, "LANGUAGES", [*app.config["LANGUAGES"], "ar"])
    page = client.get("/sign-in", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in page
    assert re.search(r'<a class="brand" dir="ltr"[^>]*>mentor<strong>NET</strong></a>', page)


def test_german_addresses_people_as_sie_throughout():
    """The German catalogue says "Sie"; a few messages said "du" (the devices page mixed both)."""
    catalog = _catalog(TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.po")
    informal = re.compile(r"\b([Dd]u|[Dd]eine?[nmrs]?|[Dd]ich|[Dd]ir)\b")
    found = [m.id for m in catalog if m.id and any(informal.search(s) for s in _strings(m.string) if s)]
    assert not found, found
