"""Every kind of viewer the goals, roadmap and resources tests check each endpoint with."""

from __future__ import annotations

import contextlib
import dataclasses

import sqlalchemy as sa
from sqlalchemy import event

from network_service.accounts.models import Person
from network_service.accounts.operations import create_api_token, get_or_create_person
from network_service.db import db, session
from network_service.networks.models import Level, Role
from network_service.networks.operations import create_network, create_organisation, get_network
from tests.helpers import act_as_person, add_member, csrf_from

API = "/api/v1"

# label -> e-mail; "anonymous" has none. The world fixture makes coord@, meta@ and mentor@ (a novice).
ROLES = {
    "anonymous": None,
    "outsider": "outsider@example.org",  # the coordinator of another network
    "novice": "mentor@example.org",
    "experienced": "experienced@example.org",
    "office": "office@example.org",
    "meta_mentor": "meta@example.org",
    "coordinator": "coord@example.org",
    "admin": "admin@example.org",
}


@dataclasses.dataclass
class Cast:
    ids: dict[str, int]
    tokens: dict[str, str]


def build_cast(world) -> Cast:
    network = get_network(world.slug)
    add_member(network, "experienced@example.org", "Eda Experienced", Role.mentor, Level.experienced)
    add_member(network, "office@example.org", "Olga Office", Role.office, Level.experienced)
    other_org = create_organisation("Other Org", "DE")
    outsider, _created = get_or_create_person("outsider@example.org", display_name="Otto Outsider")
    create_network("other-net", "Other Network", other_org, coordinator=outsider)
    admin, _created = get_or_create_person("admin@example.org", display_name="Ada Admin")
    admin.is_site_admin = True
    session.flush()
    ids = dict(
        session.execute(sa.select(Person.email, Person.id).where(Person.email.in_(ROLES.values()))).all()
    )
    tokens = {
        label: create_api_token(session.get(Person, ids[email]), "test")[1]
        for label, email in ROLES.items()
        if email
    }
    return Cast({label: ids[email] for label, email in ROLES.items() if email}, tokens)


def bearer(cast: Cast, label: str) -> dict:
    return {} if label == "anonymous" else {"Authorization": f"Bearer {cast.tokens[label]}"}


def act_as(client, cast: Cast, label: str) -> str | None:
    """Sign the test client in as ``label`` (or out, for anonymous); returns a CSRF token for its forms."""
    act_as_person(client, None if label == "anonymous" else cast.ids[label])
    if label == "anonymous":
        return None
    return csrf_from(client.get("/").get_data(as_text=True))


@contextlib.contextmanager
def count_statements(app):
    """Collect the SQL statements run inside the block (the list grows while it runs)."""
    statements: list[str] = []

    def listener(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)
