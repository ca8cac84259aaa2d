"""Languages and time zones: the member's own choice, else the browser's, else the site default."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from types import SimpleNamespace

import flask_babel
import flask_wtf.i18n
from babel import support
from flask import Flask, current_app, has_request_context, request
from flask.globals import _cv_app
from flask_babel import Babel, Domain, get_locale
from jinja2 import pass_eval_context
from markupsafe import Markup
from werkzeug.utils import cached_property
from wtforms.i18n import messages_path

from network_service.security import current_person

log = logging.getLogger(__name__)


# -- Flask-Babel, per call made cheap ------------------------------------------------------------------------------
#
# Every translated string of a page (about 50 on the home page, 250 on the directory) asked Flask-Babel for the
# current catalogue: three lookups of its per-context state through the ``g`` proxy for the domain, three more for
# the locale, the locale turned into a string and a dictionary lookup, each time; and Jinja's ``_`` went through
# two more ``Context.call``\ s to reach it. The state and its meaning stay Flask-Babel's (``force_locale``,
# ``refresh`` and the selectors work as before); only the way to them is shorter.


def _babel_context() -> SimpleNamespace | None:
    """Flask-Babel's per-context state (``flask_babel._get_current_context``, which this replaces): on the
    application context's ``g``, None outside one. The same object, found without the ``g`` proxy."""
    app_context = _cv_app.get(None)
    if app_context is None:
        return None
    state = app_context.g.__dict__.get("_flask_babel")
    if state is None:
        state = app_context.g._flask_babel = SimpleNamespace()
    return state


_TRANSLATIONS_KEY = "mentornet_translations"


class _Domain(Domain):
    """The default domain, whose catalogue is looked up once per context and locale instead of once per string.

    The catalogue is kept on Flask-Babel's per-context state together with the very locale object it was looked up
    for, and used only while that object is still the context's locale: ``force_locale`` (a mail rendered in its
    recipient's language inside a request), ``refresh`` and a new request each put another locale object there,
    so a catalogue can never outlive its language."""

    def get_translations(self):
        state = _babel_context()
        if state is None:
            return support.NullTranslations()
        locale = state.__dict__.get("babel_locale")
        if locale is None:
            locale = get_locale()
        kept = state.__dict__.get(_TRANSLATIONS_KEY)
        if kept is not None and kept[0] is locale and kept[1] is self:
            return kept[2]
        translations = super().get_translations()
        setattr(state, _TRANSLATIONS_KEY, (locale, self, translations))
        return translations


class _Babel(Babel):
    @cached_property
    def domain_instance(self) -> Domain:  # as Flask-Babel's, one for every application
        return _Domain(domain=self.domain)


flask_babel._get_current_context = _babel_context  # noqa: SLF001 - see _babel_context

babel = _Babel()


def _translations():
    return flask_babel.get_domain().get_translations()


# Jinja's "newstyle" gettext functions (jinja2.ext's, the same results: the message is a format string, escaped
# where the template autoescapes), calling the catalogue directly and asking Jinja for the evaluation context
# only: jinja2.ext's ask for the whole template context (a new derived Context per call inside a loop or block)
# to reach Flask-Babel's functions through another ``Context.call``.
def _format(eval_ctx, text: str, source: str, variables: dict):
    """``text`` (the catalogue's message) formatted with ``variables``, escaped where the template autoescapes. A
    translation that does not format (a broken catalogue entry: tests/test_translations.py looks for them) is
    logged and the English message is shown instead: in the header, one bad entry failed every page of that
    language, the error page included."""
    try:
        return (Markup(text) if eval_ctx.autoescape else text) % variables  # noqa: S704  # nosec B704  # our catalogue's message, as jinja2.ext does
    except (ValueError, TypeError, KeyError):
        if text == source:
            raise  # the template's own message: a mistake of ours, to be seen
        log.error("the translation %r of %r does not format with %s", text, source, sorted(variables))
        return (Markup(source) if eval_ctx.autoescape else source) % variables  # noqa: S704  # nosec B704  # as above


@pass_eval_context
def _gettext(__eval_ctx, __string, **variables):
    return _format(__eval_ctx, _translations().ugettext(__string), __string, variables)


@pass_eval_context
def _ngettext(__eval_ctx, __singular, __plural, __num, **variables):
    variables.setdefault("num", __num)
    text = _translations().ungettext(__singular, __plural, __num)
    return _format(__eval_ctx, text, __singular if __num == 1 else __plural, variables)


@pass_eval_context
def _pgettext(__eval_ctx, __string_ctx, __string, **variables):
    variables.setdefault("context", __string_ctx)
    return _format(__eval_ctx, _translations().upgettext(__string_ctx, __string), __string, variables)


@pass_eval_context
def _npgettext(__eval_ctx, __string_ctx, __singular, __plural, __num, **variables):
    variables.setdefault("context", __string_ctx)
    variables.setdefault("num", __num)
    text = _translations().unpgettext(__string_ctx, __singular, __plural, __num)
    return _format(__eval_ctx, text, __singular if __num == 1 else __plural, variables)


JINJA_GETTEXT = {
    "gettext": _gettext,
    # jinja2.ext's ``_`` looks ``gettext`` up in the template context at every call; here it is ``gettext``
    # itself (a context that brings its own ``gettext``, like a mail's, brings its own ``_`` too)
    "_": _gettext,
    "ngettext": _ngettext,
    "pgettext": _pgettext,
    "npgettext": _npgettext,
}

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
    if not app.jinja_env.newstyle_gettext:  # pragma: no cover - Flask-Babel 4 installs them newstyle
        raise RuntimeError("Flask-Babel no longer installs newstyle gettext: check JINJA_GETTEXT")
    app.jinja_env.globals.update(JINJA_GETTEXT)

    @app.context_processor
    def _i18n_context():
        locale = get_locale()
        language = locale.language if locale else "en"
        return {"page_language": language, "page_direction": "rtl" if language in RTL_LANGUAGES else "ltr"}
