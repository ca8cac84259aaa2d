"""The demo network as a world for the security tests: every module's objects exist (goals, help requests,
meetings, resources, conversations, directory entries), one person in every role, and a member of another
network. Built once per test run on the suite's database (SQLite, or a private schema of the PostgreSQL the suite
runs against); every request that writes runs inside a SAVEPOINT that is rolled back, so no request changes what
the next one sees."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import re
import secrets
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from network_service.accounts.models import Person
from network_service.accounts.operations import create_api_token, get_or_create_person
from network_service.app import create_app
from network_service.db import Base, db, session
from network_service.demo import build_demo, demo_config
from network_service.moderation.operations import suspend_member
from network_service.networks.models import Network
from network_service.networks.operations import (
    accept_agreement,
    create_network,
    current_agreement,
    invite_person,
)
from tests.conftest import TEST_DATABASE_URL
from tests.databases import app_config, drop_schema, reset_schema, with_private_schema
from tests.helpers import add_member, csrf_from, link_in, mails, path_of
from tests.http_client import HttpClient

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
    "suspended": "suspended@example.org",  # a mentor of the demo network whom its coordinator suspended
    "invited": "invited@example.org",  # invited into the demo network by its coordinator, not joined yet
}
ROLES = tuple(PEOPLE)


@dataclasses.dataclass
class SecurityWorld:
    app: object
    connection: object
    network_id: int
    ids: dict[str, int]
    tokens: dict[str, str]
    clients: dict[str, object]  # label -> Flask's test client, signed in
    http: dict[str, HttpClient] = dataclasses.field(default_factory=dict)  # label -> over HTTP, signed in
    base_url: str = ""  # the world's server on 127.0.0.1

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
        saved_http = {label: client.save() for label, client in self.http.items()}
        try:
            yield
        finally:
            savepoint.rollback()
            for label, client in self.clients.items():
                client._cookies.clear()
                client._cookies.update(saved[label])
            for label, client in self.http.items():
                client.restore(saved_http[label])

    def headers(self, label: str) -> dict:
        token = self.tokens.get(label)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def csrf(self, label: str, *, over_http: bool = False) -> str:
        client = (self.http if over_http else self.clients)[label]
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


def _add_people() -> None:
    """The outsider with their network, the suspended and the invited mentor; and the novice mentor accepts the
    agreement's current version (the demo leaves it for them to accept), so that each label stands for a role
    alone: accepting is walked in tests/test_permission_matrix.py and tests/test_agreements.py."""
    demo = session.scalar(sa.select(Network).where(Network.slug == SLUG))
    outsider, _created = get_or_create_person(PEOPLE["outsider"], display_name="Oscar Outsider")
    other = create_network("other-net", "Other Network", demo.organisation, coordinator=outsider)
    add_member(other, "other-mentor@example.org", "Olivia Other")
    accept_agreement(outsider, current_agreement(other))
    coordinator = session.scalar(sa.select(Person).where(Person.email == PEOPLE["coordinator"]))
    novice = session.scalar(sa.select(Person).where(Person.email == PEOPLE["novice"]))
    accept_agreement(novice, current_agreement(demo))
    suspended = add_member(demo, PEOPLE["suspended"], "Sami Suspended")
    suspend_member(demo, suspended, actor=coordinator, reason="Shared a mentee's address.")
    invite_person(demo, PEOPLE["invited"], actor=coordinator, display_name="Ida Invited")


@contextlib.contextmanager
def security_world(directory: Path):
    config = demo_config("127.0.0.1", 5000, directory)
    config["UPLOAD_DIR"] = str(directory / "uploads")
    if TEST_DATABASE_URL:
        config["DATABASE_URL"] = with_private_schema(
            TEST_DATABASE_URL, f"mentornet_world_{os.getpid()}_{secrets.token_hex(3)}"
        )
        reset_schema(config["DATABASE_URL"])
    build_demo(config)
    app = create_app(app_config(config["DATABASE_URL"], LANGUAGES=None, UPLOAD_DIR=config["UPLOAD_DIR"]))
    connection = db._state(app).engine.connect()
    transaction = connection.begin()
    try:
        with db.bound_to(app, connection):
            world = SecurityWorld(app, connection, 0, {}, {}, {})
            world.run(_add_people)

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
            # The server runs one request at a time, so that its requests and the walker's SAVEPOINTs take turns
            # on the one connection every session of the app joins.
            server = make_server("127.0.0.1", 0, app, threaded=False)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base_url = world.base_url = f"http://127.0.0.1:{server.server_port}"
            try:
                for label, email in PEOPLE.items():
                    world.clients[label] = app.test_client()
                    world.http[label] = HttpClient(base_url)
                    if email:
                        _sign_in(world, world.clients[label], email)
                        _sign_in(world, world.http[label], email)
                yield world
            finally:
                server.shutdown()
                server.server_close()
    finally:
        transaction.rollback()
        connection.close()
        db.dispose(app)
        if TEST_DATABASE_URL:
            drop_schema(config["DATABASE_URL"])


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


def fill(world: SecurityWorld, rule, given: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """The rule's URL with every argument filled by an object of the demo network (or of the person, for a
    notification), or by ``given`` (argument name -> value); returns the path and the names of the arguments no
    object could fill."""
    missing: set[str] = set()

    def value(converter: str | None, name: str) -> str:
        if given and name in given:
            return given[name]
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


@dataclasses.dataclass(frozen=True)
class Body:
    """What a write sends: JSON, or a form (with a small file in ``file`` when the form takes one)."""

    fields: dict = dataclasses.field(default_factory=dict)
    form: bool = False


def request_as(
    world: SecurityWorld,
    label: str,
    method: str,
    path: str,
    csrf: dict[str, str],
    body: Body | None = None,
    *,
    over_http: bool = False,
):
    """One request as ``label``, inside a rolled-back SAVEPOINT: the API with the person's bearer token, pages
    with their signed-in session (writes carry the session's CSRF token). A write sends ``body`` (by default
    ``{}`` to the API and the bridge, and a form with only the CSRF token to a page). ``over_http``: through the
    world's server on 127.0.0.1 (``csrf`` then holds the tokens of the HTTP sessions)."""
    body = body or Body()
    clients = world.http if over_http else world.clients
    with world.rolled_back():
        if path.startswith("/api/"):
            client = clients["anonymous"]
            if method not in WRITE_METHODS:
                sent = {}
            elif body.form:
                sent = {"data": {**body.fields, "file": (io.BytesIO(b"name,country\n"), "walk.csv")}}
            else:
                sent = {"json": body.fields}
            return client.open(path, method=method, headers=world.headers(label), **sent)
        client = clients[label]
        if path.startswith("/bridge/"):
            return client.open(path, method=method, json={})
        data = {"data": {"csrf_token": csrf[label], **body.fields}} if method in WRITE_METHODS else {}
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


# -- a valid request body for each operation of the API ---------------------------------------------------------

_ROUTE_ARGUMENT = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")


def openapi_path(rule) -> str:
    """``/api/v1/networks/<slug>/goals/<int:goal_id>`` -> ``/api/v1/networks/{slug}/goals/{goal_id}``."""
    return _ROUTE_ARGUMENT.sub(r"{\1}", rule.rule)


def smallest_instance(spec: dict, schema: dict):
    """The smallest value the JSON schema accepts: every required field (and nothing else), each the least its
    type and limits allow. The description's own check rejects what is wrong by shape, so a request carrying this
    gets past the input's shape to the operation, which must refuse a person who may not."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: smallest_instance(spec, properties[name]) for name in schema.get("required", [])}
    if kind == "array":
        return [smallest_instance(spec, schema["items"]) for _ in range(schema.get("minItems", 0))]
    if kind == "integer" or kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    text = {"email": "someone@example.org", "date": "2030-01-01", "date-time": "2030-01-01T10:00:00Z"}
    return text.get(schema.get("format"), "x" * max(1, schema.get("minLength", 1)))


def valid_bodies(app) -> dict[tuple[str, str], Body]:
    """(OpenAPI path, METHOD) -> the smallest valid body of each operation that takes one."""
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    bodies = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = (
                (operation.get("requestBody") or {}).get("content", {}) if isinstance(operation, dict) else {}
            )
            for media_type, media in content.items():
                if media.get("schema"):
                    bodies[(path, method.upper())] = Body(
                        smallest_instance(spec, media["schema"]), form=media_type != "application/json"
                    )
    return bodies
