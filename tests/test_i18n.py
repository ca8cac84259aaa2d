"""network_service/i18n.py: the catalogue looked up once per context and locale, and Jinja's gettext functions
that call it directly, give exactly what Flask-Babel and jinja2.ext gave, in every language and context."""

from __future__ import annotations

import flask_babel
import jinja2
import pytest
from babel import support
from flask import render_template_string
from flask_babel import force_locale, get_locale, gettext, lazy_gettext, ngettext, refresh

from network_service.i18n import TRANSLATIONS
from network_service.mail import operations as mail_ops

SIGN_OUT = "Sign out"


def _catalogue(language: str) -> support.Translations:
    return support.Translations.load(str(TRANSLATIONS), [language])


def _expected(language: str, message: str = SIGN_OUT) -> str:
    translated = _catalogue(language).ugettext(message)
    assert language == "en" or translated != message, "the catalogue must translate the test's message"
    return translated


# Templates that use every form jinja2.ext's newstyle gettext knows, with values that need escaping, in loops and
# blocks (where Jinja passes the loop's and block's variables along), with and without autoescaping.
SNIPPETS = [
    '{{ _("Sign out") }}|{{ gettext("Sign out") }}',
    '{{ _("The platform\'s configuration has no usable %(name)s.", name="<b>&") }}',
    '{{ gettext("The platform\'s configuration has no usable %(name)s.", name=markup) }}',
    '{% for n in [0, 1, 2, 5] %}{{ ngettext("%(num)d invitation is sent.", "%(num)d invitations are sent.", n) }};'
    "{% endfor %}",
    '{{ ngettext("%(name)s is signed out on %(num)d device.", "%(name)s is signed out on %(num)d devices.", 3,'
    ' name="<i>Sam</i>") }}',
    '{{ pgettext("menu", "Sign out") }}|{{ npgettext("menu", "%(num)d item", "%(num)d items", 2) }}',
    "{% trans %}Sign out{% endtrans %}|{% trans name='<x>' %}The platform's configuration has no usable "
    "%(name)s.{% endtrans %}",
    "{% trans count=4 %}{{ count }} invitation is sent.{% pluralize %}{{ count }} invitations are sent."
    "{% endtrans %}",
    "{% macro m(x) %}{{ _('Sign out') }} {{ x }}{% endmacro %}{% for i in [1, 2] %}{{ m(i) }}{% endfor %}",
    "{% autoescape false %}{{ _(\"The platform's configuration has no usable %(name)s.\", name='<b>') }}"
    "{{ ngettext('%(num)d invitation is sent.', '%(num)d invitations are sent.', 1) }}{% endautoescape %}",
    '{{ "100%% sure: %(what)s" }}|{{ _("100%% sure: %(what)s", what="<a>") }}',
]


def _reference_environment() -> jinja2.Environment:
    """Jinja with Flask-Babel's own installation of the gettext functions (Babel.init_app), as before."""
    environment = jinja2.Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    environment.install_gettext_callables(
        gettext=lambda s: flask_babel.get_translations().ugettext(s),
        ngettext=lambda s, p, n: flask_babel.get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: flask_babel.get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: flask_babel.get_translations().unpgettext(c, s, p, n),
    )
    return environment


@pytest.mark.parametrize("language", ["en", "de", "ar"])
def test_jinja_gettext_renders_as_jinja2_ext_would(app, language):
    from markupsafe import Markup

    reference = _reference_environment()
    with app.test_request_context(headers={"Accept-Language": "de"}), force_locale(language):
        assert get_locale().language == language
        for snippet in SNIPPETS:
            values = {"markup": Markup("<em>ok</em>")}
            ours = app.jinja_env.from_string(snippet).render(values)
            assert ours == reference.from_string(snippet).render(values), snippet
            assert ours == render_template_string(snippet, **values), snippet
    # the same through Flask's render_template: translated, and escaped where the template autoescapes
    with app.test_request_context(), force_locale(language):
        page = render_template_string(SNIPPETS[1])
    assert "&lt;b&gt;&amp;" in page and "<b>" not in page
    if language != "en":
        with app.test_request_context(), force_locale(language):
            assert render_template_string(SNIPPETS[0]) == f"{_expected(language)}|{_expected(language)}"


def test_a_translation_that_does_not_format_shows_the_english_message(app, monkeypatch, caplog):
    """A broken catalogue entry ("%" for "(%(num)d unread)", seen in German) failed every page of that language,
    since the header shows the count: the English message is shown instead, and the entry is logged."""
    from network_service import i18n

    class Broken:
        def ugettext(self, string):
            return "%(nme)s <" if "%(name)s" in string else string

        def ungettext(self, singular, plural, num):
            return "%"

        def upgettext(self, context, string):
            return "%"

        def unpgettext(self, context, singular, plural, num):
            return "%(num)"

    monkeypatch.setattr(i18n, "_translations", Broken)
    with app.test_request_context():
        rendered = render_template_string(
            "{{ ngettext('(%(num)d unread)', '(%(num)d unread)', 2) }}|{{ _('Hello %(name)s', name='<b>') }}"
            "|{{ pgettext('menu', 'Open') }}|{{ npgettext('menu', '%(num)d file', '%(num)d files', 1) }}"
        )
    assert rendered == "(2 unread)|Hello &lt;b&gt;|Open|1 file"
    assert "does not format" in caplog.text
    # the template's own message is ours: a mistake in it is not hidden
    monkeypatch.setattr(i18n, "_translations", lambda: support.NullTranslations())
    with app.test_request_context(), pytest.raises(ValueError):
        render_template_string("{{ _('100%') }}")


def test_jinja_underscore_is_gettext_itself(app):
    """Not jinja2.ext's alias, which looks ``gettext`` up in the context at every call (docs/performance.md)."""
    assert app.jinja_env.globals["_"] is app.jinja_env.globals["gettext"]
    assert app.jinja_env.newstyle_gettext


def test_force_locale_inside_a_request_and_back(app):
    """A mail rendered in its recipient's language inside a request: the request's catalogue, kept for the
    request, must neither leak into the mail nor be replaced by the mail's afterwards."""
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert gettext(SIGN_OUT) == _expected("de")
        assert render_template_string("{{ _('Sign out') }}") == _expected("de")
        with force_locale("uk"):
            assert gettext(SIGN_OUT) == _expected("uk")
            assert render_template_string("{{ _('Sign out') }}") == _expected("uk")
            assert str(lazy_gettext(SIGN_OUT)) == _expected("uk")
            with force_locale("en"):
                assert gettext(SIGN_OUT) == SIGN_OUT
            assert gettext(SIGN_OUT) == _expected("uk")
        assert gettext(SIGN_OUT) == _expected("de")
        assert render_template_string("{{ _('Sign out') }}") == _expected("de")
        assert ngettext("%(num)d invitation is sent.", "%(num)d invitations are sent.", 2) == _catalogue(
            "de"
        ).ungettext("%(num)d invitation is sent.", "%(num)d invitations are sent.", 2) % {"num": 2}


@pytest.mark.parametrize("language", ["ar", "en"])
def test_mail_rendered_inside_a_request_keeps_its_language(app, language):
    """``render_mail`` inside a German request gives the very mail a job (no request) gives, and the request
    goes on in German."""
    context = {"link": "http://localhost/x?a=1&b=<2>", "minutes": 30, "person": None, "network": None}
    with app.app_context():
        from_job = mail_ops.render_mail("sign_in", language, **context)
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert gettext(SIGN_OUT) == _expected("de")  # the request's catalogue is now kept
        assert mail_ops.render_mail("sign_in", language, **context) == from_job
        assert gettext(SIGN_OUT) == _expected("de")
        assert render_template_string("{{ _('Sign out') }}") == _expected("de")
    assert ('dir="rtl"' in from_job.body_html) == (language == "ar")


def test_refresh_after_a_language_change_takes_the_new_catalogue(app, monkeypatch):
    """A person who changes their language: ``refresh()`` and the rest of the request is in the new one."""
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert gettext(SIGN_OUT) == _expected("de")
        monkeypatch.setattr(flask_babel.get_babel(), "locale_selector", lambda: "it")
        assert gettext(SIGN_OUT) == _expected("de")  # the request's language stays until refreshed
        refresh()
        assert gettext(SIGN_OUT) == _expected("it")
        assert render_template_string("{{ _('Sign out') }}") == _expected("it")


def test_catalogue_is_looked_up_once_per_request(app, monkeypatch):
    lookups = []
    original = flask_babel.Domain.get_translations

    def counted(self):
        lookups.append(1)
        return original(self)

    monkeypatch.setattr(flask_babel.Domain, "get_translations", counted)
    with app.test_request_context(headers={"Accept-Language": "de"}):
        render_template_string("{% for i in range(20) %}{{ _('Sign out') }}{% endfor %}")
        assert [gettext(SIGN_OUT) for _ in range(5)] == [_expected("de")] * 5
    assert len(lookups) == 1
    with app.test_request_context(headers={"Accept-Language": "de"}):
        gettext(SIGN_OUT)
    assert len(lookups) == 2  # a new request looks it up again (the process keeps the catalogue itself)


def test_outside_a_request(app):
    """Jobs and the CLI: the site's default language in an application context, none outside one."""
    assert flask_babel._get_current_context() is None  # noqa: SLF001
    assert get_locale() is None
    assert gettext(SIGN_OUT) == SIGN_OUT
    assert str(lazy_gettext(SIGN_OUT)) == SIGN_OUT
    with app.app_context():
        assert str(get_locale()) == app.config["DEFAULT_LOCALE"]
        assert gettext(SIGN_OUT) == _expected(app.config["DEFAULT_LOCALE"])
        with force_locale("pl"):
            assert gettext(SIGN_OUT) == _expected("pl")
            assert str(lazy_gettext(SIGN_OUT)) == _expected("pl")
        assert gettext(SIGN_OUT) == _expected(app.config["DEFAULT_LOCALE"])
