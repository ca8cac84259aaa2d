"""Languages and time zones: the member's own choice, else the browser's, else the site default."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, get_locale

from network_service.security import current_person

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


def init_app(app: Flask) -> None:
    translations = Path(__file__).parent / "translations"
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
