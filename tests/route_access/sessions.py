"""Signed-in devices (network_service/accounts/views.py): each person's own sessions; a site administrator ends
anyone's."""

from __future__ import annotations

from tests.route_access import SIGNED_IN, SITE_ADMIN, access

ACCESS = {
    "accounts.sessions": SIGNED_IN,
    # the walker has no session id to put in the URL: everyone who may gets the same 404
    "accounts.revoke_session": access(*SIGNED_IN, own=True),
    "accounts.revoke_other_sessions": SIGNED_IN,
    "accounts.revoke_all_sessions": SIGNED_IN,
    # the walker has no token of the person to put in the URL: everyone who may gets the same 404
    "accounts.revoke_token": access(*SIGNED_IN, own=True),
    "accounts.admin_sessions": SITE_ADMIN,
}
