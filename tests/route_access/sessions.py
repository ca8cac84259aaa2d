"""Signed-in devices and API tokens (network_service/accounts/views.py, api/accounts.py): each person's own
sessions and tokens; a site administrator ends anyone's sessions."""

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
    # anyone signed in makes tokens of their own (the walker's empty form: 422, the name is missing)
    "accounts.create_token": SIGNED_IN,
    # the caller's own tokens; there is no POST: the API does not make tokens
    "api_accounts.Tokens": SIGNED_IN,
    # the walker has no token id of the caller to put in the URL: everyone who may gets the same 404
    "api_accounts.Token": access(*SIGNED_IN, own=True),
    "accounts.admin_sessions": SITE_ADMIN,
}
