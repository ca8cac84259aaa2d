"""The demo network as a world for the security tests: every module's objects exist (goals, help requests,
meetings, resources, conversations, directory entries), one person in every role, and a member of another
network. Built once per test module on SQLite (the database is not what these tests are about); every request
that writes runs inside a SAVEPOINT that is rolled back, so no request changes what the next one sees."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.accounts.operations import create_api_token, get_or_create_person
from network_service.app import create_app
from network_service.db import Base, db, session
from network_service.demo import build_demo, demo_config
from network_service.networks.models import Network
from network_service.networks.operations import accept_agreement, create_network, current_agreement
from tests.databases import app_config
from tests.helpers import add_member, csrf_from, link_in, mails, path_of

SLUG = "berlin-mentors"
OTHER_SLUG = "other-net"
# label -> e-mail; every label is a way of standing towards the demo network
PEOPLE = {
    "anonymous": None,
    "novice": "jonas@example.org",
    "experienced": "amira@example.org",
    "office": "office@example.org",
    "meta_mentor": "meta-mentor@example.org",
    "coordinator": "coordinator@example.org",
    "outsider": "outsider@example.org",  # an active member (and coordinator) of another network only
    "site_admin": "admin@example.org",
}
ROLES = tuple(PEOPLE)


@dataclasses.dataclass
class SecurityWorld:
    app: object
    connection: object
    network_id: int
    ids: dict[str, int]
    tokens: dict[str, str]
    clients: dict[str, object]

    def run(self, function, *args, **kwargs):
        with self.app.test_request_context():
            result = function(*args, **kwargs)
            session.commit()
            return result

    @contextlib.contextmanager
    def rolled_back(self):
        """Whatever a request writes in here is undone afterwards (the client's cookies too)."""
        savepoint = self.connection.begin_nested()
        saved = {label: dict(client._cookies) for label, client in self.clients.items()}
        try:
            yield
        finally:
            savepoint.rollback()
            for label, client in self.clients.items():
                client._cookies.clear()
                client._cookies.update(saved[label])

    def headers(self, label: str) -> dict:
        token = self.tokens.get(label)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def csrf(self, label: str) -> str:
        client = self.clients[label]
        return csrf_from(
            client.get("/sign-in" if label == "anonymous" else "/profile").get_data(as_text=True)
        )


def _sign_in(world: SecurityWorld, client, email: str) -> None:
    page = client.get("/sign-in").get_data(as_text=True)
    response = client.post("/sign-in", data={"email": email, "csrf_token": csrf_from(page)})
    assert response.status_code == 200, response.get_data(as_text=True)
    mail = world.run(lambda: mails(to=email, kind="sign_in")[-1])
    link = path_of(link_in(mail.body_text, "/sign-in/"))
    confirm = client.get(link).get_data(as_text=True)
    response = client.post(link, data={"csrf_token": csrf_from(confirm)})
    assert response.status_code == 302, response.get_data(as_text=True)


def _add_outsider() -> None:
    demo = session.scalar(sa.select(Network).where(Network.slug == SLUG))
    outsider, _created = get_or_create_person(PEOPLE["outsider"], display_name="Oscar Outsider")
    other = create_network("other-net", "Other Network", demo.organisation, coordinator=outsider)
    add_member(other, "other-mentor@example.org", "Olivia Other")
    accept_agreement(outsider, current_agreement(other))


@contextlib.contextmanager
def security_world(directory: Path):
    config = demo_config("127.0.0.1", 5000, directory)
    config["UPLOAD_DIR"] = str(directory / "uploads")
    build_demo(config)
    app = create_app(app_config(config["DATABASE_URL"], LANGUAGES=None, UPLOAD_DIR=config["UPLOAD_DIR"]))
    connection = db._state(app).engine.connect()
    transaction = connection.begin()
    try:
        with db.bound_to(app, connection):
            world = SecurityWorld(app, connection, 0, {}, {}, {})
            world.run(_add_outsider)

            def people():
                ids = {
                    label: session.scalar(sa.select(Person.id).where(Person.email == email))
                    for label, email in PEOPLE.items()
                    if email
                }
                tokens = {
                    label: create_api_token(session.get(Person, id_), "walker")[1]
                    for label, id_ in ids.items()
                }
                network_id = session.scalar(sa.select(Network.id).where(Network.slug == SLUG))
                return ids, tokens, network_id

            world.ids, world.tokens, world.network_id = world.run(people)
            for label, email in PEOPLE.items():
                client = app.test_client()
                if email:
                    _sign_in(world, client, email)
                world.clients[label] = client
            yield world
    finally:
        transaction.rollback()
        connection.close()
        db.dispose(app)


_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
MISSING = 999_999  # an id no object has: the route is walked, and everyone gets the same 404
TABLE_OF = {
    "request_id": "help_request",
    "entry_id": "directory_entry",
    "context_id": "lti_context",
    "report_id": "report",
    "notification_id": "notification",
    "application_id": "network_application",
    "partner_id": "network_partner",
    "start_id": "network_start",
}


def fill(world: SecurityWorld, rule) -> tuple[str, set[str]]:
    """The rule's URL with every argument filled by an object of the demo network (or of the person, for a
    notification); returns the path and the names of the arguments no object could fill."""
    missing: set[str] = set()

    def value(converter: str | None, name: str) -> str:
        if name == "slug":
            return SLUG
        if name == "channel_slug":
            return world.run(
                lambda: session.scalar(
                    sa.text(
                        "SELECT slug FROM channel WHERE network_id = :n AND kind = 'open' ORDER BY id LIMIT 1"
                    ),
                    {"n": world.network_id},
                )
            )
        if name == "message_id":
            found = world.run(
                lambda: session.scalar(
                    sa.text(
                        "SELECT message.id FROM message JOIN channel ON channel.id = message.channel_id "
                        "WHERE channel.network_id = :n AND channel.kind = 'open' AND message.parent_id IS NULL "
                        "AND message.deleted_at IS NULL ORDER BY message.id LIMIT 1"
                    ),
                    {"n": world.network_id},
                )
            )
            return str(found)
        if name == "resource_id" and rule.endpoint.endswith(("download", "Download")):
            return str(
                world.run(
                    lambda: session.scalar(
                        sa.text("SELECT min(id) FROM resource WHERE network_id = :n AND kind = 'file'"),
                        {"n": world.network_id},
                    )
                )
            )
        if name == "entry_id":  # an organisation's entry, not a network's public page
            return str(
                world.run(
                    lambda: session.scalar(
                        sa.text("SELECT min(id) FROM directory_entry WHERE network_id IS NULL")
                    )
                )
            )
        if name == "request_id" and rule.endpoint.startswith("growth."):
            found = world.run(
                lambda: session.scalar(
                    sa.text("SELECT min(id) FROM course_link_request WHERE network_id = :n"),
                    {"n": world.network_id},
                )
            )
            if found is None:
                missing.add(name)
            return str(found or MISSING)
        if name == "link_id":
            found = world.run(
                lambda: session.scalar(
                    sa.text("SELECT min(id) FROM federation_link WHERE member_id = :n OR federation_id = :n"),
                    {"n": world.network_id},
                )
            )
            if found is None:
                missing.add(name)
            return str(found or MISSING)
        if name == "share_id":  # shares belong to a federation, not to the demo network
            missing.add(name)
            return str(MISSING)
        if name == "decision":
            return "decline"
        if name == "step":
            return "organisation"
        if name == "person_id":
            return str(world.ids["novice"])
        if name == "version":
            return "1"
        if name == "dataset":
            return "active"
        if name == "filename":
            return "css/main.css"
        if name == "token":
            return "not-a-valid-token"
        if converter == "int":
            table_name = TABLE_OF.get(name, name.removesuffix("_id"))
            table = Base.metadata.tables.get(table_name)
            found = None
            if table is not None:
                query = sa.select(sa.func.min(table.c.id))
                if "network_id" in table.c:
                    query = query.where(table.c.network_id == world.network_id)
                found = world.run(lambda: session.scalar(query))
            if found is None:
                missing.add(name)
                return str(MISSING)
            return str(found)
        missing.add(name)
        return "x"

    path = rule.rule
    for match in _ARGUMENT.finditer(rule.rule):
        path = path.replace(match.group(0), value(match.group(1), match.group(2)), 1)
    return path, missing


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def routes(app) -> list[tuple[object, str]]:
    """Every (rule, method) of the application, HEAD and OPTIONS aside (Flask answers those itself)."""
    return sorted(
        (
            (rule, method)
            for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}
        ),
        key=lambda pair: (pair[0].rule, pair[1]),
    )


def request_as(world: SecurityWorld, label: str, method: str, path: str, csrf: dict[str, str]):
    """One request as ``label``: the API with the person's bearer token, pages with their signed-in session
    (writes carry the session's CSRF token and no other field); inside a rolled-back SAVEPOINT."""
    with world.rolled_back():
        if path.startswith("/api/"):
            client = world.clients["anonymous"]
            body = {"json": {}} if method in WRITE_METHODS else {}
            return client.open(path, method=method, headers=world.headers(label), **body)
        client = world.clients[label]
        if path.startswith("/bridge/"):
            return client.open(path, method=method, json={})
        data = {"data": {"csrf_token": csrf[label]}} if method in WRITE_METHODS else {}
        return client.open(path, method=method, **data)


_SHARED: dict = {}


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory, request):
    """One demo world for every test module that asks for it (built once per test run)."""
    if "world" not in _SHARED:
        manager = security_world(tmp_path_factory.mktemp("demo-world"))
        _SHARED["world"] = manager.__enter__()

        def close():
            _SHARED.pop("world", None)
            manager.__exit__(None, None, None)

        request.session.config.add_cleanup(close)
    return _SHARED["world"]
