"""Members make their own API tokens on the devices page (/profile/sessions), and list and revoke them through the
API (GET /api/v1/me/tokens, DELETE /api/v1/me/tokens/<id>). The secret is shown once, in the answer to the form
and nowhere else; making one needs a recent sign-in on that browser and is capped per person; the API cannot
make tokens. Over real requests to the suite's app, on both databases."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network_service.accounts.models import ApiToken, Person
from network_service.accounts.operations import create_api_token
from network_service.audit.models import AuditLog
from network_service.db import session
from tests.helpers import csrf_from, sign_in_as

MENTOR = "mentor@example.org"
COORDINATOR = "coord@example.org"
_SECRET_FIELD = re.compile(r'<input id="new-token-secret"[^>]*\bvalue="([^"]+)"')


def _signed_in(app, run, email: str = MENTOR):
    browser = app.test_client()
    sign_in_as(browser, run, email)
    return browser


def _make_on_page(browser, name: str = "Calendar script", csrf: str | None = None):
    if csrf is None:
        csrf = csrf_from(browser.get("/profile/sessions").get_data(as_text=True))
    return browser.post("/profile/tokens/new", data={"csrf_token": csrf, "name": name})


def _secret_in(response) -> str:
    match = _SECRET_FIELD.search(response.get_data(as_text=True))
    assert match, "the answer shows no new token"
    return match.group(1)


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _operator_token(run, email: str = MENTOR, name: str = "operator's") -> tuple[int, str]:
    def create():
        person = session.scalar(sa.select(Person).where(Person.email == email))
        api_token, secret = create_api_token(person, name)
        return api_token.id, secret

    return run(create)


def _live_tokens(run, email: str = MENTOR) -> list[str]:
    return run(
        lambda: list(
            session.scalars(
                sa.select(ApiToken.name)
                .join(Person, Person.id == ApiToken.person_id)
                .where(Person.email == email, ApiToken.revoked_at.is_(None))
                .order_by(ApiToken.id)
            )
        )
    )


@pytest.fixture
def audit(run, world):
    """The audit entries of one action written during this test (tests that commit for real, outside the test
    transaction, may have left older ones in the database)."""
    before = run(lambda: session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditLog.id), 0))))

    def entries(action: str) -> list[AuditLog]:
        return run(
            lambda: list(
                session.scalars(
                    sa.select(AuditLog)
                    .where(AuditLog.action == action, AuditLog.id > before)
                    .order_by(AuditLog.id)
                )
            )
        )

    return entries


# -- who made a token ------------------------------------------------------------------------------------------


def test_a_token_the_operator_makes_is_audited_as_the_operators(run, world, audit):
    token_id, _secret = _operator_token(run, name="made by the operator")
    [entry] = audit("api_token.create")
    assert (entry.actor_id, entry.target_id) == (None, token_id)
    assert entry.detail == {"name": "made by the operator", "person_id": world.mentor_id}
