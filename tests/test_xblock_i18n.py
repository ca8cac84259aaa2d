"""The XBlock's own translation catalogs, where Open edX looks for them, and the block's views in German.

Open edX's ``XBlockI18nService`` (edx-platform, ``xmodule/modulestore/django.py``) gives each block a gettext
translator for the **``text``** domain in the ``translations`` folder of the block's root package (unless an
OEP-58 ``atlas`` folder for the package exists), in the learner's language, and falls back to the platform's
own catalog when there is none. The catalog tests need only Babel; the view tests need XBlock and are skipped
without it.
"""

from __future__ import annotations

import gettext
import html
import json
import re
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from network_service.i18n import available_languages

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "mentornet_xblock" / "translations"
DOMAIN = "text"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
LANGUAGES = [code for code in available_languages("en") if code != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _source_messages() -> set[str]:
    """What `make extract_translations` takes from mentornet_xblock (babel-xblock.cfg: its Python files)."""
    return {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / "mentornet_xblock"), method_map=[("**.py", "python")], keywords=KEYWORDS
        )
    }


def _read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def _strings(value) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _key(message_id) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def test_the_xblock_has_strings_and_its_template_holds_exactly_them():
    source = _source_messages()
    assert "Open the mentor network in a new window" in source and "Save" in source
    template = {_key(m.id) for m in _read(CATALOGS / f"{DOMAIN}.pot") if m.id}
    assert template == source, (
        f"run `make extract_translations`; missing {sorted(source - template)[:5]}, "
        f"stale {sorted(template - source)[:5]}"
    )


def test_the_xblock_ships_every_language_of_mentornet():
    shipped = {path.parent.parent.name for path in CATALOGS.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    assert LANGUAGES and shipped == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_translates_exactly_the_xblock_strings_with_the_same_placeholders(language):
    catalog = _read(CATALOGS / language / "LC_MESSAGES" / f"{DOMAIN}.po")
    messages = {_key(m.id): m for m in catalog if m.id}
    source = _source_messages()
    assert set(messages) == source, f"{language}: run `make extract_translations`"
    untranslated = sorted(key for key, m in messages.items() if m.fuzzy or not all(_strings(m.string)))
    assert not untranslated, f"{language}: untranslated {untranslated[:5]}"
    for key, message in messages.items():
        for string in _strings(message.string):
            assert set(PLACEHOLDER.findall(string)) == set(PLACEHOLDER.findall(key)), (language, key)


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_matches_its_source(language):
    folder = CATALOGS / language / "LC_MESSAGES"
    source = {_key(m.id): _strings(m.string) for m in _read(folder / f"{DOMAIN}.po") if m.id and not m.fuzzy}
    with (folder / f"{DOMAIN}.mo").open("rb") as handle:
        compiled = {_key(m.id): _strings(m.string) for m in read_mo(handle) if m.id}
    assert compiled == source, f"run `make compile_translations` for {language}"


# -- the block's views through the i18n service --------------------------------------------------------------


class BundledI18nService:
    """What edx-platform's XBlockI18nService does for a block that ships its catalogs (no atlas folder):
    ``gettext.translation("text", <root package>/translations, [locale])``. Raises if there is no catalog
    (Open edX would then fall back to its own catalog, and the block would be English)."""

    def __init__(self, block, locale: str):
        root = getattr(block, "unmixed_class", type(block)).__module__.split(".")[0]
        folder = resources.files(root) / "translations"
        self.translator = gettext.translation(DOMAIN, str(folder), [locale])

    def __getattr__(self, name):
        return getattr(self.translator, "gettext" if name == "ugettext" else name)


def _runtime(locale: str):
    pytest.importorskip("xblock")
    from tests.test_xblock import LMS, settings
    from tests.xblock_runtime import LmsRuntime, lms_user

    class LocalisedLms(LmsRuntime):
        """The test LMS, with the block's i18n service made per block, as edx-platform makes it."""

        __test__ = False

        def service(self, block, service_name):
            if service_name == "i18n":
                return BundledI18nService(block, locale)
            return super().service(block, service_name)

    return LocalisedLms(settings(), lms_user(), base=LMS)


def _block(runtime, **fields):
    from tests.xblock_runtime import make_block

    return make_block(runtime, network_slug="test-net", **fields)


@pytest.mark.parametrize("locale", ["de", "de_DE"])
def test_student_view_in_german(locale):
    runtime = _runtime(locale)
    page = runtime.render(_block(runtime), "student_view").body_html()
    assert "<h2>Mentorennetzwerk</h2>" in page and 'title="Mentorennetzwerk"' in page
    assert "Open the mentor network" not in page and "Mentor network" not in page
    window = runtime.render(_block(runtime, display_mode="window"), "student_view").body_html()
    assert "Lernen Sie die Mentorinnen und Mentoren" in window and "Meet the mentors" not in window


def test_studio_and_author_views_in_german():
    runtime = _runtime("de")
    block = _block(runtime)
    studio = runtime.render(block, "studio_view").body_html()
    for german in ("Titel", "Netzwerk", "Anzeige", "Speichern", "Abbrechen"):
        assert f">{german}<" in studio, german
    for english in (">Title<", ">Save<", ">Cancel<", "Panel in the page"):
        assert english not in studio
    author = runtime.render(block, "author_view").body_html()
    assert "480 Pixel" in author and "Panel in the page" not in author


def test_the_studio_form_errors_come_back_in_german():
    runtime = _runtime("de")
    block = _block(runtime)
    from webob import Request

    body = json.dumps({"display_name": "", "display_mode": "popup", "height": 1}).encode()
    request = Request.blank("/handler/save_settings", method="POST", body=body)
    answer = json.loads(runtime.handle(block, "save_settings", request).body)
    german = _read(CATALOGS / "de" / "LC_MESSAGES" / f"{DOMAIN}.po")
    assert answer["result"] == "error"
    assert answer["errors"]["display_name"] == german.get("Give a title of at most 200 characters.").string
    assert answer["errors"]["height"] == "Geben Sie eine Höhe zwischen 160 und 2000 Pixeln an."


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_reaches_the_learner(language):
    runtime = _runtime(language)
    page = html.unescape(runtime.render(_block(runtime), "student_view").body_html())
    catalog = _read(CATALOGS / language / "LC_MESSAGES" / f"{DOMAIN}.po")
    for msgid in ("Mentor network", "Open the mentor network in a new window"):
        assert catalog.get(msgid).string in page and msgid not in page
