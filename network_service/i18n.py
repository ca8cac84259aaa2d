"""Languages and time zones: the member's own choice, else the browser's, else the site default."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import flask_wtf.i18n
from babel import support
from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, get_locale
from wtforms.i18n import messages_path

from network_service.security import current_person

log = logging.getLogger(__name__)

babel = Babel()

# Languages written right to left; the base template sets dir="rtl" for them.
RTL_LANGUAGES = {"ar", "fa", "he", "ur", "ps", "ku"}


def select_locale() -> str:
    supported = current_app.config["LANGUAGES"]
    person = current_person()
    if person is not None and person.locale in supported:
        return person.locale
    if not has_request_context():
        return current_app.config["DEFAULT_LOCALE"]
    return request.accept_languages.best_match(supported) or current_app.config["DEFAULT_LOCALE"]


def select_timezone() -> str:
    person = current_person()
    if person is not None and person.timezone:
        return person.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


TRANSLATIONS = Path(__file__).parent / "translations"


def available_languages(default: str) -> list[str]:
    """The source language plus every language with a compiled catalog."""
    compiled = sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.mo"))
    return [default, *[code for code in compiled if code != default]]


@functools.lru_cache(maxsize=64)
def _wtforms_catalog(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def _wtforms_translations():
    """WTForms' own messages ("This field is required.") in the page's language. Flask-WTF reads and parses
    their catalogue again in every request that builds a form; a catalogue does not change while the process
    runs, so each language is read once (as Flask-Babel does for ours)."""
    if not has_request_context() or "babel" not in current_app.extensions:
        return None
    return _wtforms_catalog(str(get_locale()))


def init_app(app: Flask) -> None:
    available = available_languages(app.config["DEFAULT_LOCALE"])
    configured = app.config["LANGUAGES"] or available
    # A language without a catalog would label English pages as another language: leave it out, loudly.
    missing = [code for code in configured if code not in available]
    if missing:
        log.warning("no translation catalog for %s; these languages are not offered", ", ".join(missing))
    app.config["LANGUAGES"] = [code for code in configured if code in available] or [
        app.config["DEFAULT_LOCALE"]
    ]
    translations = TRANSLATIONS
    flask_wtf.i18n._get_translations = _wtforms_translations  # noqa: SLF001 - see _wtforms_translations
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_locale=app.config["DEFAULT_LOCALE"],
        default_timezone=app.config["DEFAULT_TIMEZONE"],
        default_translation_directories=str(translations),
    )

    @app.context_processor
    def _i18n_context():
        locale = get_locale()
        language = locale.language if locale else "en"
        return {"page_language": language, "page_direction": "rtl" if language in RTL_LANGUAGES else "ltr"}
