"""The permission matrix, walked over every page of a network, over real HTTP (the suite's app on 127.0.0.1).

Every GET route under ``/networks/<slug>`` that the application has (this module's and those other modules add) is
requested as each way of standing towards the test network. The rules that hold for every route:

* never a server error;
* not signed in: a redirect to sign-in (or 401/403/404), never the page;
* a member of another network, a suspended member and someone invited who has not joined never get the page.

For the routes of the networks/organise module, ``EXPECTED`` says exactly which roles get 200 (the others 403),
as docs/permissions.md does. Then every POST of the module is tried as each role: 403 (or a redirect to sign-in)
and nothing saved for those not allowed.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.audit.models import AuditLog
from network_service.db import Base, session
from network_service.networks.models import Agreement, AgreementAcceptance, Membership, Network
from network_service.notifications.models import Notification
from tests import organise_helpers
from tests.helpers import csrf_from, sign_in_as
from tests.organise_helpers import MEMBERS, NOT_MEMBERS, PEOPLE, build_roles_world

ROLES = tuple(
    PEOPLE
)  # anonymous, outsider, novice, experienced, office, meta_mentor, coordinator, site admin, ...
ALL_MEMBERS = frozenset(MEMBERS) | {"site_admin"}
LEADERS_AND_OFFICE = frozenset({"coordinator", "meta_mentor", "office", "site_admin"})

# endpoint -> the roles that get 200; every other active member gets 403
EXPECTED: dict[str, frozenset[str]] = {
    "networks.network": ALL_MEMBERS,
    "networks.invite": LEADERS_AND_OFFICE,
    "courses.network_courses": frozenset({"coordinator", "site_admin"}),
    "organise.agreement": ALL_MEMBERS,
    "organise.versions": ALL_MEMBERS,
    "organise.version": ALL_MEMBERS,
    "organise.publish": frozenset({"coordinator", "meta_mentor", "site_admin"}),
    "organise.pending": LEADERS_AND_OFFICE,
    "organise.members": ALL_MEMBERS,
    "organise.settings": frozenset({"coordinator", "site_admin"}),
    "organise.leave": frozenset(MEMBERS),  # a site administrator is no member: nothing to leave
}
OUTSIDERS = frozenset(NOT_MEMBERS)
_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")


def _network_routes(app) -> list:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/networks/<slug>") and "GET" in rule.methods
        ),
        key=lambda rule: rule.rule,
    )


def _fill(rule, roles_world) -> str | None:
    """The rule's URL for the test network, with int arguments filled by an object of that network; None when an
    argument cannot be filled."""
    values: dict = {}
    for converter, name in _ARGUMENT.findall(rule.rule):
        if name == "slug":
            values[name] = roles_world.slug
        elif converter == "int":
            found = _existing_id(name, roles_world)
            if found is None:
                return None
            values[name] = found
        else:
            return None
    path = rule.rule
    for converter, name in _ARGUMENT.findall(rule.rule):
        path = path.replace(f"<{converter + ':' if converter else ''}{name}>", str(values[name]), 1)
    return path


def _existing_id(name: str, roles_world) -> int | None:
    """``version`` is an agreement version; ``<thing>_id`` (or ``id``) an object of the table ``thing`` belonging
    to the test network."""
    if name == "version":
        return 1
    table = Base.metadata.tables.get(name[: -len("_id")] if name.endswith("_id") else name)
    if table is None or "id" not in table.c:
        return None
    query = sa.select(sa.func.min(table.c.id))
    if "network_id" in table.c:
        query = query.where(table.c.network_id == roles_world.network_id)
    return session.scalar(query)


@pytest.fixture
def walk(app, run):
    """(roles world, [(rule, path)], [skipped rules]) with every role signed in once."""
    roles_world = run(build_roles_world)
    routes, skipped = [], []
    for rule in _network_routes(app):
        path = run(lambda rule=rule: _fill(rule, roles_world))
        (routes if path else skipped).append((rule, path))
    return roles_world, routes, [rule.rule for rule, _ in skipped]


@pytest.fixture
def clients(http_client, run):
    """A browser over real HTTP for a role, signed in through the real flow."""

    def make(label: str):
        client = http_client()
        if PEOPLE[label]:
            sign_in_as(client, run, PEOPLE[label])
        return client

    return make


def test_every_network_page_as_every_role(walk, clients):
    roles_world, routes, skipped = walk
    assert routes, "no network routes found"
    assert set(EXPECTED) <= {rule.endpoint for rule, _ in routes}, (
        "a route of the expectation table is not walked"
    )
    failures: list[str] = []
    for label in ROLES:
        client = clients(label)
        for rule, path in routes:
            response = client.get(path)
            status = response.status_code
            where = f"{label} GET {path} ({rule.endpoint}) -> {status}"
            if status >= 500:
                failures.append(f"{where}: server error")
            elif label == "anonymous":
                location = response.headers.get("Location", "")
                if not ((status in (301, 302, 303) and "/sign-in" in location) or status in (401, 403, 404)):
                    failures.append(f"{where}: not sent to sign-in")
            elif label in OUTSIDERS and status == 200:
                failures.append(f"{where}: an outsider sees the page")
            elif rule.endpoint in EXPECTED and label not in OUTSIDERS:
                expected = 200 if label in EXPECTED[rule.endpoint] else 403
                if status != expected:
                    failures.append(f"{where}: expected {expected}")
    assert not failures, "\n".join(failures)
    # Routes whose arguments the walker cannot fill (listed for whoever reads the test output).
    print("skipped routes:", skipped or "none")


def test_the_walker_fills_integer_ids_with_objects_of_the_network(walk, run):
    roles_world, routes, _skipped = walk
    paths = {rule.endpoint: path for rule, path in routes}
    assert paths["organise.version"] == f"/networks/{roles_world.slug}/agreement/versions/1"
    assert run(lambda: _existing_id("membership_id", roles_world)) is not None
    assert run(lambda: _existing_id("no_such_table_id", roles_world)) is None


# -- every POST of the module, as every role -------------------------------------------------------------------


def _fingerprint(network_id: int) -> tuple:
    """Everything these forms could change."""
    network = session.get(Network, network_id)
    return (
        session.scalar(sa.select(sa.func.count(AuditLog.id))),
        session.scalar(sa.select(sa.func.count(Notification.id))),
        session.scalar(sa.select(sa.func.count(Agreement.id))),
        session.scalar(sa.select(sa.func.count(AgreementAcceptance.id))),
        session.scalar(sa.select(sa.func.count(Person.id))),
        tuple(
            session.execute(
                sa.select(Membership.person_id, Membership.role, Membership.level, Membership.status)
                .where(Membership.network_id == network_id)
                .order_by(Membership.person_id)
            ).all()
        ),
        (network.name, network.description, tuple(network.languages or ()), network.contact_email),
    )


def _posts(roles_world) -> dict:
    """endpoint -> (path, form data, roles allowed)."""
    slug = roles_world.slug
    return {
        "organise.agreement": (
            f"/networks/{slug}/agreement",
            {"accept_agreement": "y", "agreement_version": "2"},
            frozenset(MEMBERS),
        ),
        "organise.publish": (
            f"/networks/{slug}/agreement/publish",
            {"title": "Rules", "body": "Rule one.\n\nRule two.", "change_note": "Shorter."},
            frozenset({"coordinator", "meta_mentor", "site_admin"}),
        ),
        "organise.remind": (f"/networks/{slug}/agreement/remind", {}, LEADERS_AND_OFFICE),
        "organise.settings": (
            f"/networks/{slug}/settings",
            {"name": "Renamed", "description": "", "languages": "German", "region": "", "contact_email": ""},
            frozenset({"coordinator", "site_admin"}),
        ),
        "organise.leave": (f"/networks/{slug}/leave", {"confirm": "y"}, frozenset(MEMBERS) - {"coordinator"}),
        "networks.appoint": (
            f"/networks/{slug}/appoint",
            {"person_id": str(roles_world.ids["novice"]), "role": "mentor", "level": "experienced"},
            frozenset({"coordinator", "site_admin"}),
        ),
        "networks.invite": (
            f"/networks/{slug}/invite",
            {"email": "newcomer@example.org", "display_name": "", "role": "mentor", "level": "novice"},
            LEADERS_AND_OFFICE,
        ),
    }


POST_ENDPOINTS = (
    "organise.agreement",
    "organise.publish",
    "organise.remind",
    "organise.settings",
    "organise.leave",
    "networks.appoint",
    "networks.invite",
)


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
@pytest.mark.parametrize("label", ROLES)
def test_every_post_as_every_role(app, run, clients, endpoint, label):
    roles_world = run(build_roles_world)
    if (
        endpoint == "organise.agreement"
    ):  # something to accept: version 2, published by the site administrator
        from network_service.networks.operations import publish_agreement

        run(
            lambda: publish_agreement(
                session.get(Network, roles_world.network_id),
                "Rules v2",
                "New rules.",
                actor=session.get(Person, roles_world.ids["site_admin"]),
                change_note="New.",
            )
        )
    if endpoint == "organise.remind":  # someone to remind: the novice mentor has not accepted version 1

        def forget():
            session.execute(
                sa.delete(AgreementAcceptance).where(
                    AgreementAcceptance.person_id == roles_world.ids["novice"]
                )
            )

        run(forget)
    path, data, allowed = _posts(roles_world)[endpoint]
    client = clients(label)
    token = csrf_from(client.get("/sign-in" if label == "anonymous" else "/profile").get_data(as_text=True))
    before = run(lambda: _fingerprint(roles_world.network_id))
    response = client.post(path, data={"csrf_token": token, **data})
    after = run(lambda: _fingerprint(roles_world.network_id))
    status = response.status_code
    if label == "anonymous":
        assert status == 302 and "/sign-in" in response.headers["Location"]
        assert after == before
    elif endpoint == "organise.leave" and label == "coordinator":  # the only coordinator: a conflict
        assert status == 409
        assert after == before
    elif label in allowed:
        assert status in (302, 303), response.get_data(as_text=True)
        assert after != before, "an allowed action changed nothing"
    else:
        assert status == 403, f"{label} POST {path} -> {status}"
        assert after == before, "a refused request saved something"


def test_helpers_are_shared_with_the_other_organise_tests():
    assert organise_helpers.PEOPLE is PEOPLE
