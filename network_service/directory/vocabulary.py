"""Countries, languages and services the directory knows, with their names in the viewer's language."""

from __future__ import annotations

import functools

from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from network_service.directory.models import Service

_NOT_COUNTRIES = {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"}  # unknown, unions, pseudo-regions

SERVICE_LABELS = {
    Service.legal: _l("Legal advice"),
    Service.housing: _l("Housing"),
    Service.employment: _l("Employment"),
    Service.language_courses: _l("Language courses"),
    Service.health: _l("Health"),
    Service.education: _l("Education"),
    Service.psychosocial: _l("Psychosocial support"),
    Service.other: _l("Other support"),
}


@functools.cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (Babel's territories without the numeric regions and the unknown ZZ)."""
    return frozenset(
        code
        for code in Locale("en").territories
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    )


def _viewer_locale() -> Locale:
    try:
        return get_locale() or Locale("en")
    except RuntimeError:  # outside a request
        return Locale("en")


def country_name(code: str) -> str:
    return _viewer_locale().territories.get(code, code)


def language_name(code: str) -> str:
    name = _viewer_locale().languages.get(code) or Locale("en").languages.get(code, code)
    return name[:1].upper() + name[1:]


def service_label(value: str) -> str:
    try:
        return str(SERVICE_LABELS[Service(value)])
    except ValueError:
        return value


def country_choices() -> list[tuple[str, str]]:
    names = _viewer_locale().territories
    return sorted(((code, names.get(code, code)) for code in country_codes()), key=lambda item: item[1])
