"""Routes of the privacy module: one's own data, consents and erasure (see __init__.py)."""

from __future__ import annotations

from tests.route_access import SIGNED_IN, SITE_ADMIN

ACCESS = {
    "privacy.privacy": SIGNED_IN,
    "privacy.consents": SIGNED_IN,
    "privacy.sharing_choice": SIGNED_IN,
    "privacy.export": SIGNED_IN,
    "privacy.erase": SIGNED_IN,
    "privacy.admin_erase": SITE_ADMIN,
    "api_privacy.Consents": SIGNED_IN,
    "api_privacy.Export": SIGNED_IN,
    "api_privacy.Erase": SIGNED_IN,
}
