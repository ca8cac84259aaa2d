"""Federations over HTTP: invite / ask / accept / leave with both sides' consent, no circles, several federations,
shared channels and resources (read, post, never private groups), the federated dashboard for every role, the
public page, the API, and the privacy promise: no private message body on any federation page or API answer."""

from __future__ import annotations

import dataclasses
import re

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.accounts.operations import create_api_token, get_or_create_person
from network_service.audit.models import AuditLog
from network_service.conversations import operations as conversations
from network_service.conversations.models import Channel, ChannelKind, Message
from network_service.db import session
from network_service.directory import operations as directory
from network_service.federations import operations
from network_service.federations.models import FederationLink, LinkStatus, SharedChannel, SharedResource
from network_service.help.models import HelpRequest
from network_service.networks.models import Level, Role
from network_service.networks.operations import create_network, create_organisation, get_network
from network_service.notifications.models import Notification
from network_service.resources import operations as resources
from tests.helpers import act_as_person, add_member, csrf_from

API = "/api/v1"
SECRET = "SECRET-BODY-7f3a"  # written in private places of the member network; must never show up

# label -> e-mail. "fed" is the federation network, "test" the world's network (the member), "other" a third.
PEOPLE = {
    "anonymous": None,
    "fed_coordinator": "fedcoord@example.org",
    "fed_meta": "fedmeta@example.org",
    "fed_mentor": "fedmentor@example.org",
    "member_coordinator": "coord@example.org",
    "member_meta": "meta@example.org",
    "member_mentor": "mentor@example.org",
    "other_coordinator": "othercoord@example.org",
    "other_mentor": "othermentor@example.org",
    "admin": "admin@example.org",
}


@dataclasses.dataclass
class Fed:
    ids: dict[str, int]
    tokens: dict[str, str]
    open_channel: str
    private_channel: str
    resource_id: int


def build_fed(world) -> Fed:
    test = get_network(world.slug)
    fed_coord, _c = get_or_create_person("fedcoord@example.org", display_name="Fiona Federation")
    fed = create_network(
        "fed-net", "Fed Network", create_organisation("Fed Org", "DE"), coordinator=fed_coord
    )
    add_member(fed, "fedmeta@example.org", "Felix Meta", Role.meta_mentor, Level.experienced)
    add_member(fed, "fedmentor@example.org", "Fanny Mentor")
    other_coord, _c = get_or_create_person("othercoord@example.org", display_name="Otto Other")
    other = create_network("other-net", "Other Network", create_organisation("Other Org", "IT"),
                           coordinator=other_coord)  # fmt: skip
    add_member(other, "othermentor@example.org", "Olga Other")
    admin, _c = get_or_create_person("admin@example.org", display_name="Ada Admin")
    admin.is_site_admin = True
    coordinator = session.get(Person, world.coordinator_id)
    mentor = session.get(Person, world.mentor_id)
    open_channel = conversations.create_channel(test, actor=coordinator, name="Housing tips")
    private = conversations.create_channel(
        test,
        actor=coordinator,
        name="Leaders only",
        kind=ChannelKind.private,
        member_ids=[world.meta_mentor_id],
    )
    session.add(Message(channel_id=private.id, author_id=coordinator.id, body=f"private {SECRET}"))
    session.add(Message(channel_id=open_channel.id, author_id=mentor.id, body=f"open {SECRET}"))
    session.add(
        HelpRequest(network=test, author_id=mentor.id, topic=f"topic {SECRET}", body=f"help {SECRET}")
    )
    resource = resources.add_link(
        test, actor=coordinator, title="Rental law in brief", url="https://example.org/r"
    )
    session.flush()
    ids = dict(
        session.execute(sa.select(Person.email, Person.id).where(Person.email.in_(PEOPLE.values()))).all()
    )
    tokens = {
        label: create_api_token(session.get(Person, ids[email]), "test")[1]
        for label, email in PEOPLE.items()
        if email
    }
    return Fed(
        {label: ids[email] for label, email in PEOPLE.items() if email},
        tokens,
        open_channel.slug,
        private.slug,
        resource.id,
    )


@pytest.fixture
def fed(run, world):
    return run(build_fed, world)


def act_as(client, fed: Fed, label: str) -> str | None:
    act_as_person(client, None if label == "anonymous" else fed.ids[label])
    if label == "anonymous":
        return None
    return csrf_from(client.get("/").get_data(as_text=True))


def bearer(fed: Fed, label: str) -> dict:
    return {} if label == "anonymous" else {"Authorization": f"Bearer {fed.tokens[label]}"}


def _link(run) -> FederationLink | None:
    return run(lambda: session.scalar(sa.select(FederationLink).order_by(FederationLink.id.desc())))


def _join(run, fed: Fed) -> None:
    """test-net becomes an active member of fed-net (invited, then accepted)."""

    def go():
        link = operations.invite_member(
            get_network("fed-net"), "test-net", actor=session.get(Person, fed.ids["fed_coordinator"])
        )
        operations.accept_link(link, actor=session.get(Person, fed.ids["member_coordinator"]))

    run(go)


# -- links: invite, accept, leave ------------------------------------------------------------------------------


@pytest.mark.parametrize("label", [who for who in PEOPLE if who not in ("fed_coordinator", "admin")])
def test_only_the_federations_coordinator_invites(client, run, fed, label):
    token = act_as(client, fed, label)
    response = client.post(
        "/networks/fed-net/federation/invite", data={"network": "test-net", "csrf_token": token}
    )
    if label == "anonymous":
        assert response.status_code == 400  # no session, no CSRF token: refused before anything else
    else:
        assert response.status_code == 403
    assert _link(run) is None


def test_invitation_needs_the_member_coordinators_consent(client, run, fed):
    token = act_as(client, fed, "fed_coordinator")
    response = client.post(
        "/networks/fed-net/federation/invite", data={"network": "test-net", "csrf_token": token}
    )
    assert response.status_code == 303
    link = _link(run)
    assert link.status == LinkStatus.invited
    # the member network's coordinator is told; the inviting side cannot accept for them
    told = run(
        lambda: session.scalars(
            sa.select(Notification).where(Notification.kind == "federations.invited")
        ).all()
    )
    assert [n.person_id for n in told] == [fed.ids["member_coordinator"]]
    for label, status in (("fed_coordinator", 403), ("fed_meta", 403), ("member_meta", 403),
                          ("member_mentor", 403), ("other_coordinator", 404)):  # fmt: skip
        token = act_as(client, fed, label)
        slug = (
            "test-net"
            if label.startswith("member")
            else ("fed-net" if label.startswith("fed") else "other-net")
        )
        response = client.post(
            f"/networks/{slug}/federation/links/{link.id}/accept", data={"csrf_token": token}
        )
        assert response.status_code == status, label
    assert _link(run).status == LinkStatus.invited
    token = act_as(client, fed, "member_coordinator")
    page = client.get("/networks/test-net/federation").get_data(as_text=True)
    assert "Fed Network" in page and "Accept" in page
    response = client.post(
        f"/networks/test-net/federation/links/{link.id}/accept", data={"csrf_token": token}
    )
    assert response.status_code == 303
    assert _link(run).status == LinkStatus.active
    actions = run(
        lambda: session.scalars(sa.select(AuditLog.action).where(AuditLog.action.like("federations.%"))).all()
    )
    assert actions.count("federations.invite") == 1 and actions.count("federations.accept") == 2
    accepted = run(
        lambda: session.scalars(
            sa.select(Notification.person_id).where(Notification.kind == "federations.accepted")
        ).all()
    )
    assert fed.ids["fed_coordinator"] in accepted
    # members of both networks see the section; the public sees the member networks on a public federation page
    act_as(client, fed, "fed_mentor")
    assert "Test Network" in client.get("/networks/fed-net/federation").get_data(as_text=True)


def test_a_request_to_join_is_accepted_by_the_federation(client, run, fed):
    token = act_as(client, fed, "member_coordinator")
    response = client.post(
        "/networks/test-net/federation/join", data={"federation": "fed-net", "csrf_token": token}
    )
    assert response.status_code == 303
    link = _link(run)
    assert link.status == LinkStatus.requested
    response = client.post(
        f"/networks/test-net/federation/links/{link.id}/accept", data={"csrf_token": token}
    )
    assert response.status_code == 403  # the asking side cannot accept its own request
    token = act_as(client, fed, "fed_coordinator")
    response = client.post(f"/networks/fed-net/federation/links/{link.id}/accept", data={"csrf_token": token})
    assert response.status_code == 303
    assert _link(run).status == LinkStatus.active


def test_no_self_membership_no_circles_and_several_federations(client, run, fed):
    token = act_as(client, fed, "fed_coordinator")
    response = client.post(
        "/networks/fed-net/federation/invite", data={"network": "fed-net", "csrf_token": token}
    )
    assert response.status_code == 422 and "cannot be a member of itself" in response.get_data(as_text=True)
    response = client.post(
        "/networks/fed-net/federation/invite", data={"network": "nowhere", "csrf_token": token}
    )
    assert response.status_code == 422
    _join(run, fed)
    token = act_as(client, fed, "member_coordinator")
    response = client.post(
        "/networks/test-net/federation/invite", data={"network": "fed-net", "csrf_token": token}
    )
    assert response.status_code == 422 and "circle" in response.get_data(as_text=True)
    # a deeper circle: fed-net joins other-net, then other-net may not join test-net
    run(lambda: operations.accept_link(
        operations.invite_member(get_network("other-net"), "fed-net",
                                 actor=session.get(Person, fed.ids["other_coordinator"])),
        actor=session.get(Person, fed.ids["fed_coordinator"]),
    ))  # fmt: skip
    response = client.post(
        "/networks/test-net/federation/invite", data={"network": "other-net", "csrf_token": token}
    )
    assert response.status_code == 422
    # but test-net may belong to other-net directly as well: several federations
    response = client.post(
        "/networks/test-net/federation/join", data={"federation": "other-net", "csrf_token": token}
    )
    assert response.status_code == 303
    assert run(lambda: sorted(x.federation.slug for x in operations.links_of(
        get_network("test-net"), session.get(Person, fed.ids["member_coordinator"])).federations)) == [
        "fed-net", "other-net"]  # fmt: skip


def test_leaving_ends_the_link_and_the_shares(client, run, fed):
    _join(run, fed)
    token = act_as(client, fed, "member_coordinator")
    channel_id = run(lambda: session.scalar(sa.select(Channel.id).where(Channel.slug == fed.open_channel)))
    fed_id = run(lambda: get_network("fed-net").id)
    response = client.post("/networks/test-net/federation/share-channel", data={
        "share-channel-channel_id": channel_id, "share-channel-federation_id": fed_id,
        "share-channel-allow_posting": "y", "csrf_token": token})  # fmt: skip
    assert response.status_code == 303
    link = _link(run)
    for label in ("member_mentor", "fed_mentor", "other_coordinator"):
        token = act_as(client, fed, label)
        slug = (
            "test-net"
            if label.startswith("member")
            else ("fed-net" if label.startswith("fed") else "other-net")
        )
        response = client.post(f"/networks/{slug}/federation/links/{link.id}/end", data={"csrf_token": token})
        assert response.status_code in (403, 404), label
    token = act_as(client, fed, "member_coordinator")
    response = client.post(f"/networks/test-net/federation/links/{link.id}/end", data={"csrf_token": token})
    assert response.status_code == 303
    assert _link(run).status == LinkStatus.ended
    assert run(lambda: session.scalar(sa.select(sa.func.count(SharedChannel.id)))) == 0
    told = run(lambda: session.scalars(
        sa.select(Notification.person_id).where(Notification.kind == "federations.ended")).all())  # fmt: skip
    assert told == [fed.ids["fed_coordinator"]]


# -- sharing ---------------------------------------------------------------------------------------------------


def _share(client, fed, run, *, allow_posting=True):
    token = act_as(client, fed, "member_coordinator")
    channel_id = run(lambda: session.scalar(sa.select(Channel.id).where(Channel.slug == fed.open_channel)))
    fed_id = run(lambda: get_network("fed-net").id)
    data = {
        "share-channel-channel_id": channel_id,
        "share-channel-federation_id": fed_id,
        "csrf_token": token,
    }
    if allow_posting:
        data["share-channel-allow_posting"] = "y"
    assert client.post("/networks/test-net/federation/share-channel", data=data).status_code == 303
    data = {
        "share-resource-resource_id": fed.resource_id,
        "share-resource-federation_id": fed_id,
        "csrf_token": token,
    }
    assert client.post("/networks/test-net/federation/share-resource", data=data).status_code == 303


def test_shared_channel_is_read_and_written_by_the_federations_members(client, run, fed):
    _join(run, fed)
    channel_url = f"/networks/test-net/conversations/c/{fed.open_channel}"
    act_as(client, fed, "fed_mentor")
    assert client.get(channel_url).status_code == 404  # not shared yet
    _share(client, fed, run)
    for label, status in (("fed_mentor", 200), ("fed_coordinator", 200), ("other_mentor", 404),
                          ("other_coordinator", 404)):  # fmt: skip
        act_as(client, fed, label)
        assert client.get(channel_url).status_code == status, label
    token = act_as(client, fed, "fed_mentor")
    page = client.get("/networks/fed-net/conversations").get_data(as_text=True)
    assert "Housing tips" in page and "From the federation" in page
    response = client.post(channel_url, data={"body": "Hello from the federation", "csrf_token": token})
    assert response.status_code == 303
    # the author from the federation may delete their own message; nobody else from outside may
    message_id = run(
        lambda: session.scalar(sa.select(Message.id).where(Message.body == "Hello from the federation"))
    )
    delete_url = f"/networks/test-net/conversations/messages/{message_id}/delete"
    token = act_as(client, fed, "fed_coordinator")
    assert client.post(delete_url, data={"csrf_token": token}).status_code == 403
    token = act_as(client, fed, "fed_mentor")
    assert client.post(delete_url, data={"csrf_token": token}).status_code == 303
    assert run(lambda: session.get(Message, message_id).deleted_at) is not None
    token = act_as(client, fed, "other_mentor")
    assert client.post(channel_url, data={"body": "sneaking in", "csrf_token": token}).status_code == 404
    assert (
        run(lambda: session.scalar(sa.select(sa.func.count(Message.id)).where(Message.body == "sneaking in")))
        == 0
    )


def test_read_only_share(client, run, fed):
    _join(run, fed)
    _share(client, fed, run, allow_posting=False)
    channel_url = f"/networks/test-net/conversations/c/{fed.open_channel}"
    token = act_as(client, fed, "fed_mentor")
    assert client.get(channel_url).status_code == 200
    assert client.post(channel_url, data={"body": "may I?", "csrf_token": token}).status_code == 403


def test_private_groups_can_never_be_shared(client, run, fed):
    _join(run, fed)
    token = act_as(client, fed, "member_coordinator")
    private_id = run(lambda: session.scalar(sa.select(Channel.id).where(Channel.slug == fed.private_channel)))
    fed_id = run(lambda: get_network("fed-net").id)
    response = client.post("/networks/test-net/federation/share-channel", data={
        "share-channel-channel_id": private_id, "share-channel-federation_id": fed_id, "csrf_token": token})  # fmt: skip
    assert response.status_code == 422
    response = client.post(f"{API}/networks/test-net/federation/shared-channels", headers=bearer(fed, "member_coordinator"),
                           json={"channel_id": private_id, "federation_id": fed_id})  # fmt: skip
    assert response.status_code == 422
    # even a share row written behind the API's back opens nothing
    run(lambda: session.add(SharedChannel(federation_id=fed_id, channel_id=private_id)))
    act_as(client, fed, "fed_mentor")
    assert client.get(f"/networks/test-net/conversations/c/{fed.private_channel}").status_code == 404


@pytest.mark.parametrize("label", ["member_meta", "member_mentor", "fed_coordinator", "other_coordinator"])
def test_only_the_owning_networks_coordinator_shares(client, run, fed, label):
    _join(run, fed)
    token = act_as(client, fed, label)
    channel_id = run(lambda: session.scalar(sa.select(Channel.id).where(Channel.slug == fed.open_channel)))
    fed_id = run(lambda: get_network("fed-net").id)
    response = client.post("/networks/test-net/federation/share-channel", data={
        "share-channel-channel_id": channel_id, "share-channel-federation_id": fed_id, "csrf_token": token})  # fmt: skip
    assert response.status_code == 403
    response = client.post(f"{API}/networks/test-net/federation/shared-resources", headers=bearer(fed, label),
                           json={"resource_id": fed.resource_id, "federation_id": fed_id})  # fmt: skip
    assert response.status_code == 403
    assert run(lambda: session.scalar(sa.select(sa.func.count(SharedChannel.id)))) == 0
    assert run(lambda: session.scalar(sa.select(sa.func.count(SharedResource.id)))) == 0


def test_shared_resource_shows_in_every_member_library(client, run, fed):
    _join(run, fed)
    resource_url = f"/networks/test-net/resources/{fed.resource_id}"
    act_as(client, fed, "fed_mentor")
    assert client.get(resource_url).status_code == 403
    _share(client, fed, run)
    act_as(client, fed, "fed_mentor")
    library = client.get("/networks/fed-net/resources").get_data(as_text=True)
    assert "From the federation" in library and "Rental law in brief" in library
    assert client.get(resource_url).status_code == 200
    act_as(client, fed, "other_mentor")
    assert client.get(resource_url).status_code == 403
    assert "Rental law in brief" not in client.get("/networks/other-net/resources").get_data(as_text=True)

    # the federation's own resource reaches its member networks too
    def fed_resource():
        return resources.add_link(get_network("fed-net"), actor=session.get(Person, fed.ids["fed_coordinator"]),
                                  title="Federation handbook", url="https://example.org/h").id  # fmt: skip

    fed_resource_id = run(fed_resource)
    fed_id = run(lambda: get_network("fed-net").id)
    response = client.post(f"{API}/networks/fed-net/federation/shared-resources", headers=bearer(fed, "fed_coordinator"),
                           json={"resource_id": fed_resource_id, "federation_id": fed_id})  # fmt: skip
    assert response.status_code == 201
    act_as(client, fed, "member_mentor")
    assert "Federation handbook" in client.get("/networks/test-net/resources").get_data(as_text=True)
    assert client.get(f"/networks/fed-net/resources/{fed_resource_id}").status_code == 200
    # unsharing closes it again
    response = client.delete(f"{API}/networks/fed-net/federation/shared-resources/{response.json['id']}",
                             headers=bearer(fed, "fed_coordinator"))  # fmt: skip
    assert response.status_code == 204
    assert client.get(f"/networks/fed-net/resources/{fed_resource_id}").status_code == 403


# -- the federated dashboard ------------------------------------------------------------------------------------


DASHBOARD_STATUS = {
    "anonymous": None,
    "fed_coordinator": 200,
    "fed_meta": 200,
    "fed_mentor": 403,
    "member_coordinator": 403,
    "member_meta": 403,
    "member_mentor": 403,
    "other_coordinator": 403,
    "other_mentor": 403,
    "admin": 200,
}


@pytest.mark.parametrize("label", list(PEOPLE))
def test_dashboard_for_every_role(client, run, fed, label):
    _join(run, fed)
    act_as(client, fed, label)
    page = client.get("/networks/fed-net/federation/dashboard")
    api = client.get(f"{API}/networks/fed-net/federation/dashboard", headers=bearer(fed, label))
    expected = DASHBOARD_STATUS[label]
    if expected is None:
        assert page.status_code == 302 and "/sign-in" in page.headers["Location"]
        assert api.status_code == 401
        return
    assert page.status_code == expected
    assert api.status_code == expected
    if expected == 200:
        text = page.get_data(as_text=True)
        assert "Test Network" in text and "<svg" in text and "<table>" in text
        # the retention and help sections shared with a network's insights, with the federation's CSV links
        assert "/federation/dashboard/retention.csv" in text and "/federation/dashboard/help.csv" in text
        data = api.json
        assert data["member_networks"] == 1
        row = data["networks"][0]
        assert row["slug"] == "test-net" and row["members"] == 3
        assert row["help"]["count"] == 1 and data["help"]["count"] == 1


def test_no_private_message_body_on_any_federation_page_or_api(client, run, fed):
    _join(run, fed)
    _share(client, fed, run)
    fed_id = run(lambda: get_network("fed-net").id)
    for label in ("fed_coordinator", "fed_meta", "admin", "member_coordinator"):
        act_as(client, fed, label)
        for url in ("/networks/fed-net/federation", "/networks/fed-net/federation/dashboard",
                    "/networks/test-net/federation", "/n/fed-net", "/networks/fed-net/resources"):  # fmt: skip
            body = client.get(url).get_data(as_text=True)
            assert SECRET not in body, (label, url)
        for url in ("/networks/fed-net/federation", "/networks/fed-net/federation/dashboard",
                    "/networks/test-net/federation", f"/federation-links/{_link(run).id}"):  # fmt: skip
            response = client.get(f"{API}{url}", headers=bearer(fed, label))
            assert SECRET not in response.get_data(as_text=True), (label, url)
    assert fed_id


def test_public_federation_page_lists_its_member_networks(client, run, fed):
    _join(run, fed)
    assert client.get("/n/fed-net").status_code == 404  # not public: nothing shown

    def publish(slug, who):
        directory.update_public_page(
            get_network(slug), session.get(Person, fed.ids[who]), public=True, country="DE"
        )

    run(publish, "fed-net", "fed_coordinator")
    page = client.get("/n/fed-net").get_data(as_text=True)
    assert "Member networks" in page and "Test Network" in page and 'href="/n/test-net"' not in page
    run(publish, "test-net", "member_coordinator")
    assert 'href="/n/test-net"' in client.get("/n/fed-net").get_data(as_text=True)
    member_page = client.get("/n/test-net").get_data(as_text=True)
    assert "Member of" in member_page and 'href="/n/fed-net"' in member_page


# -- the API ------------------------------------------------------------------------------------------------------


def test_api_invite_accept_share_leave(client, run, fed):
    response = client.post(f"{API}/networks/fed-net/federation/members", headers=bearer(fed, "fed_meta"),
                           json={"network": "test-net"})  # fmt: skip
    assert response.status_code == 403
    response = client.post(f"{API}/networks/fed-net/federation/members", json={"network": "test-net"})
    assert response.status_code == 401
    response = client.post(f"{API}/networks/fed-net/federation/members", headers=bearer(fed, "fed_coordinator"),
                           json={"network": "test-net"})  # fmt: skip
    assert response.status_code == 201 and response.json["status"] == "invited"
    link_id = response.json["id"]
    assert (
        client.get(f"{API}/federation-links/{link_id}", headers=bearer(fed, "other_coordinator")).status_code
        == 404
    )
    response = client.post(f"{API}/federation-links/{link_id}/accept", headers=bearer(fed, "fed_coordinator"))
    assert response.status_code == 403
    response = client.post(
        f"{API}/federation-links/{link_id}/accept", headers=bearer(fed, "member_coordinator")
    )
    assert response.status_code == 200 and response.json["status"] == "active"
    response = client.post(
        f"{API}/federation-links/{link_id}/accept", headers=bearer(fed, "member_coordinator")
    )
    assert response.status_code == 409
    channel_id = run(lambda: session.scalar(sa.select(Channel.id).where(Channel.slug == fed.open_channel)))
    fed_id = run(lambda: get_network("fed-net").id)
    response = client.post(f"{API}/networks/test-net/federation/shared-channels", headers=bearer(fed, "member_coordinator"),
                           json={"channel_id": channel_id, "federation_id": fed_id, "allow_posting": False})  # fmt: skip
    assert response.status_code == 201 and response.json["allow_posting"] is False
    overview = client.get(f"{API}/networks/fed-net/federation", headers=bearer(fed, "fed_mentor"))
    assert overview.status_code == 200
    assert [c["name"] for c in overview.json["shared_with_us"]["channels"]] == ["Housing tips"]
    assert (
        client.get(f"{API}/networks/fed-net/federation", headers=bearer(fed, "other_mentor")).status_code
        == 403
    )
    response = client.delete(f"{API}/federation-links/{link_id}", headers=bearer(fed, "fed_mentor"))
    assert response.status_code == 403
    response = client.delete(f"{API}/federation-links/{link_id}", headers=bearer(fed, "fed_coordinator"))
    assert response.status_code == 200 and response.json["status"] == "ended"
    overview = client.get(f"{API}/networks/fed-net/federation", headers=bearer(fed, "fed_mentor"))
    assert overview.json["shared_with_us"]["channels"] == []


def test_openapi_documents_the_federation_api(client):
    paths = client.get(f"{API}/openapi.json").json["paths"]
    for path in ("/api/v1/networks/{slug}/federation", "/api/v1/networks/{slug}/federation/members",
                 "/api/v1/federation-links/{link_id}/accept", "/api/v1/networks/{slug}/federation/dashboard",
                 "/api/v1/networks/{slug}/federation/shared-channels", "/api/v1/networks/{slug}/shared-channels",
                 "/api/v1/networks/{slug}/reports"):  # fmt: skip
        assert path in paths


def test_roadmap_checkpoint_and_navigation(client, run, fed):
    assert run(lambda: operations.in_a_federation(get_network("test-net"))) is False
    act_as(client, fed, "member_mentor")
    assert 'href="/networks/test-net/federation"' not in client.get("/networks/test-net").get_data(
        as_text=True
    )
    _join(run, fed)
    assert run(lambda: operations.in_a_federation(get_network("test-net"))) is True
    assert 'href="/networks/test-net/federation"' in client.get("/networks/test-net").get_data(as_text=True)


# -- the Federation page and CSV exports, for every role ---------------------------------------------------------

PAGE_STATUS = {  # GET /networks/fed-net/federation and /networks/test-net/federation once linked
    "fed_coordinator": (200, 403),
    "fed_meta": (200, 403),
    "fed_mentor": (200, 403),
    "member_coordinator": (403, 200),
    "member_meta": (403, 200),
    "member_mentor": (403, 200),
    "other_coordinator": (403, 403),
    "other_mentor": (403, 403),
    "admin": (200, 200),
}


@pytest.mark.parametrize("label", list(PEOPLE))
def test_federation_page_for_every_role(client, run, fed, label):
    _join(run, fed)
    act_as(client, fed, label)
    for slug, expected in zip(("fed-net", "test-net"), PAGE_STATUS.get(label, (None, None)), strict=True):
        page = client.get(f"/networks/{slug}/federation")
        api = client.get(f"{API}/networks/{slug}/federation", headers=bearer(fed, label))
        if label == "anonymous":
            assert page.status_code == 302 and "/sign-in" in page.headers["Location"]
            assert api.status_code == 401
            continue
        assert page.status_code == expected, (slug, label)
        assert api.status_code == expected, (slug, label)
        text = page.get_data(as_text=True)
        if expected == 200:
            manager = label in ("admin", "fed_coordinator" if slug == "fed-net" else "member_coordinator")
            assert ("Invite the network" in text) is manager, (slug, label)


def test_dashboard_csv_exports(client, run, fed):
    _join(run, fed)
    act_as(client, fed, "fed_coordinator")
    for dataset in ("networks", "active", "new-members", "retention", "help", "funnel"):
        response = client.get(f"/networks/fed-net/federation/dashboard/{dataset}.csv")
        assert response.status_code == 200 and response.mimetype == "text/csv", dataset
        text = response.get_data(as_text=True)
        assert SECRET not in text
        if dataset == "networks":
            assert "Test Network" in text.splitlines()[1]
    assert client.get("/networks/fed-net/federation/dashboard/nothing.csv").status_code == 404
    act_as(client, fed, "fed_mentor")
    assert client.get("/networks/fed-net/federation/dashboard/networks.csv").status_code == 403
    act_as(client, fed, "member_coordinator")
    assert client.get("/networks/fed-net/federation/dashboard/networks.csv").status_code == 403


# -- shared channels: reports, unread counts, the agreement ---------------------------------------------------------


def _other_joins(run, fed: Fed) -> FederationLink:
    """other-net becomes an active member of fed-net too (a second member network)."""

    def go():
        link = operations.invite_member(
            get_network("fed-net"), "other-net", actor=session.get(Person, fed.ids["fed_coordinator"])
        )
        return operations.accept_link(link, actor=session.get(Person, fed.ids["other_coordinator"])).id

    return run(go)


def _open_message_id(run) -> int:
    return run(lambda: session.scalar(sa.select(Message.id).where(Message.body == f"open {SECRET}")))


def _report_from_the_page(client, fed, label: str, message_id: int):
    act_as(client, fed, label)
    url = f"/networks/test-net/conversations/messages/{message_id}/report"
    page = client.get(url)
    if page.status_code != 200:
        return page
    return client.post(url, data={"reason": "harassment", "note": f"from {label}",
                                  "csrf_token": csrf_from(page.get_data(as_text=True))})  # fmt: skip


def _reports(run) -> list[tuple]:
    from network_service.moderation.models import Report

    return run(lambda: session.execute(
        sa.select(Report.network_id, Report.reporter_id, Report.person_id, Report.message_id, Report.note)
        .order_by(Report.id)).all())  # fmt: skip


def test_a_reader_from_the_federation_reports_a_message_to_the_owning_network(client, run, fed, world):
    _join(run, fed)
    _share(client, fed, run)
    message_id = _open_message_id(run)
    channel_url = f"/networks/test-net/conversations/c/{fed.open_channel}"
    report_href = f'href="/networks/test-net/conversations/messages/{message_id}/report"'
    # the message's <article> is cached for plain readers: a site administrator (who may not report) reads it
    # first, then the reader from the federation must still get the report link
    act_as(client, fed, "admin")
    assert report_href not in client.get(channel_url).get_data(as_text=True)
    act_as(client, fed, "fed_mentor")
    assert report_href in client.get(channel_url).get_data(as_text=True)
    # a person of a network outside the federation: neither the page nor the API
    assert _report_from_the_page(client, fed, "other_mentor", message_id).status_code == 404
    response = client.post(f"{API}/networks/test-net/reports", headers=bearer(fed, "other_mentor"),
                           json={"message_id": message_id, "reason": "spam"})  # fmt: skip
    assert response.status_code in (403, 404)
    assert _reports(run) == []

    response = _report_from_the_page(client, fed, "fed_mentor", message_id)
    assert response.status_code == 303
    test_id = run(lambda: get_network("test-net").id)
    assert _reports(run) == [(test_id, fed.ids["fed_mentor"], world.mentor_id, message_id, "from fed_mentor")]
    logged = run(lambda: session.execute(
        sa.select(AuditLog.network_id, AuditLog.actor_id).where(AuditLog.action == "moderation.report")).all())  # fmt: skip
    assert logged == [(test_id, fed.ids["fed_mentor"])]
    # it is in the owning network's queue, for its moderators; not in the federation's
    act_as(client, fed, "member_meta")
    queue = client.get("/networks/test-net/moderation").get_data(as_text=True)
    assert "from fed_mentor" in queue and "Fanny Mentor" in queue
    act_as(client, fed, "fed_coordinator")
    assert "from fed_mentor" not in client.get("/networks/fed-net/moderation").get_data(as_text=True)
    assert client.get("/networks/test-net/moderation").status_code == 403

    # the API, for a member of a second member network (the reporter learns nothing new through the answer)
    other_link = _other_joins(run, fed)
    response = client.post(f"{API}/networks/test-net/reports", headers=bearer(fed, "other_mentor"),
                           json={"message_id": message_id, "reason": "spam", "note": "api"})  # fmt: skip
    assert response.status_code == 201 and response.json["message"] is None
    queue = client.get(f"{API}/networks/test-net/reports", headers=bearer(fed, "member_coordinator"))
    assert [(r["note"], r["reporter"]["id"]) for r in queue.json["reports"]] == [
        ("api", fed.ids["other_mentor"]), ("from fed_mentor", fed.ids["fed_mentor"])]  # fmt: skip
    # the author is reported with the message; nobody reports their own message
    token = act_as(client, fed, "fed_mentor")
    client.post(channel_url, data={"body": "my own words", "csrf_token": token})
    own_id = run(lambda: session.scalar(sa.select(Message.id).where(Message.body == "my own words")))
    response = client.post(f"{API}/networks/test-net/reports", headers=bearer(fed, "fed_mentor"),
                           json={"message_id": own_id, "reason": "spam"})  # fmt: skip
    assert response.status_code == 422

    # the federation ended for other-net: its members no longer read the channel, nor report in it
    run(lambda: operations.end_link(session.get(FederationLink, other_link),
                                    actor=session.get(Person, fed.ids["other_coordinator"])))  # fmt: skip
    response = client.post(f"{API}/networks/test-net/reports", headers=bearer(fed, "other_mentor"),
                           json={"message_id": message_id, "reason": "spam"})  # fmt: skip
    assert response.status_code in (403, 404)
    # the channel is no longer shared: refused for the federation's members too
    share_id = run(lambda: session.scalar(sa.select(SharedChannel.id)))
    response = client.delete(f"{API}/networks/test-net/federation/shared-channels/{share_id}",
                             headers=bearer(fed, "member_coordinator"))  # fmt: skip
    assert response.status_code == 204
    assert _report_from_the_page(client, fed, "fed_mentor", message_id).status_code in (403, 404)
    response = client.post(f"{API}/networks/test-net/reports", headers=bearer(fed, "fed_mentor"),
                           json={"message_id": message_id, "reason": "spam"})  # fmt: skip
    assert response.status_code in (403, 404)
    assert len(_reports(run)) == 2


def _federation_section(html: str) -> str:
    start = html.find('id="h-federation-channels"')
    return html[start : html.find("</section>", start)] if start >= 0 else ""


def _shared_badge(client) -> str | None:
    section = _federation_section(client.get("/networks/fed-net/conversations").get_data(as_text=True))
    assert "Housing tips" in section
    found = re.search(r'badge-count">(\d+)<', section)
    return found.group(1) if found else None


def _nav_badge(client) -> int:
    """The Conversations section's badge in fed-net's navigation (0: none shown)."""
    html = client.get("/networks/fed-net").get_data(as_text=True)
    found = re.search(
        r'<a href="/networks/fed-net/conversations"[^>]*>[^<]*(?:<span class="badge badge-count">(\d+))?',
        html,
    )
    assert found, "no Conversations section"
    return int(found.group(1) or 0)


def test_shared_channels_have_unread_counts_with_the_page_cache_on(client, run, fed, page_cache_on):
    _join(run, fed)
    _share(client, fed, run)
    channel_url = f"/networks/test-net/conversations/c/{fed.open_channel}"
    act_as(client, fed, "fed_mentor")
    # written before the channel was shared with the federation: not unread for its members
    assert _shared_badge(client) is None
    own = _nav_badge(client)  # fed-net's own conversations with unread messages
    token = act_as(client, fed, "member_mentor")
    for body in ("first news", "second news"):
        assert client.post(channel_url, data={"body": body, "csrf_token": token}).status_code == 303
    act_as(client, fed, "fed_mentor")
    assert _shared_badge(client) == "2"
    assert _shared_badge(client) == "2"  # seen again (from the cache where it keeps anything)
    assert _nav_badge(client) == own + 1  # the section's badge counts the shared channel too
    assert client.get(channel_url).status_code == 200  # reading the channel moves the reader's marker
    assert _shared_badge(client) is None
    assert _nav_badge(client) == own
    token = act_as(client, fed, "member_mentor")
    assert client.post(channel_url, data={"body": "third news", "csrf_token": token}).status_code == 303
    token = act_as(client, fed, "fed_mentor")
    assert _shared_badge(client) == "1"
    # the API: the same counts, and its read marker moves the reader's marker
    api_list = f"{API}/networks/fed-net/shared-channels"
    shared = client.get(api_list, headers=bearer(fed, "fed_mentor"))
    assert shared.status_code == 200
    assert [(c["name"], c["network"], c["unread"]) for c in shared.json] == [("Housing tips", "test-net", 1)]
    assert client.get(api_list, headers=bearer(fed, "other_mentor")).status_code == 403
    response = client.post(f"{API}/networks/test-net/channels/{fed.open_channel}/read",
                           headers=bearer(fed, "fed_mentor"), json={})  # fmt: skip
    assert response.status_code == 200 and response.json["last_read_message_id"]
    assert client.get(api_list, headers=bearer(fed, "fed_mentor")).json[0]["unread"] == 0
    assert _shared_badge(client) is None
    token = act_as(client, fed, "member_mentor")
    assert client.post(channel_url, data={"body": "fourth news", "csrf_token": token}).status_code == 303
    token = act_as(client, fed, "fed_mentor")
    assert _shared_badge(client) == "1"
    # their own post is not unread, and writing marks what came before it read
    assert client.post(channel_url, data={"body": "thanks!", "csrf_token": token}).status_code == 303
    assert _shared_badge(client) is None
    act_as(client, fed, "member_meta")
    page = client.get("/networks/test-net/conversations").get_data(as_text=True)
    assert "h-federation-channels" not in page  # test-net's own channel is not "from the federation"
    # another network's page shows nothing from this federation
    act_as(client, fed, "other_mentor")
    assert "Housing tips" not in client.get("/networks/other-net/conversations").get_data(as_text=True)
    # the share ends: the channel leaves the list
    share_id = run(lambda: session.scalar(sa.select(SharedChannel.id)))
    client.delete(f"{API}/networks/test-net/federation/shared-channels/{share_id}",
                  headers=bearer(fed, "member_coordinator"))  # fmt: skip
    act_as(client, fed, "fed_mentor")
    assert "Housing tips" not in client.get("/networks/fed-net/conversations").get_data(as_text=True)


def test_writing_in_a_shared_channel_needs_the_own_networks_current_agreement(client, run, fed):
    from network_service.networks.operations import accept_agreement, current_agreement, publish_agreement

    _join(run, fed)
    _share(client, fed, run)
    channel_url = f"/networks/test-net/conversations/c/{fed.open_channel}"
    run(lambda: publish_agreement(get_network("fed-net"), "Rules v2", "Be kind, always.",
                                  actor=session.get(Person, fed.ids["fed_coordinator"])))  # fmt: skip
    token = act_as(client, fed, "fed_mentor")
    assert client.get(channel_url).status_code == 200  # reading needs no acceptance
    response = client.post(channel_url, data={"body": "before accepting", "csrf_token": token})
    assert response.status_code == 403
    assert "/networks/fed-net/agreement" in response.get_data(as_text=True)
    response = client.post(f"{API}/networks/test-net/channels/{fed.open_channel}/messages",
                           headers=bearer(fed, "fed_mentor"), json={"body": "before accepting"})  # fmt: skip
    assert response.status_code == 403
    count = sa.select(sa.func.count(Message.id)).where(Message.body == "before accepting")
    assert run(lambda: session.scalar(count)) == 0
    # the owning network's agreement is not asked: the writer accepted their own network's
    run(
        lambda: accept_agreement(
            session.get(Person, fed.ids["fed_mentor"]), current_agreement(get_network("fed-net"))
        )
    )
    response = client.post(channel_url, data={"body": "after accepting", "csrf_token": token})
    assert response.status_code == 303
    # and a new version in the owning network does not stop them
    run(lambda: publish_agreement(get_network("test-net"), "Rules v2", "Be kind.",
                                  actor=session.get(Person, fed.ids["member_coordinator"])))  # fmt: skip
    response = client.post(channel_url, data={"body": "still welcome", "csrf_token": token})
    assert response.status_code == 303
    # while the owning network's own members are asked as before
    token = act_as(client, fed, "member_mentor")
    assert client.post(channel_url, data={"body": "home", "csrf_token": token}).status_code == 403
    # someone who writes through two networks needs the current agreement of one of them
    _other_joins(run, fed)
    run(lambda: add_member(get_network("other-net"), "fedmentor@example.org", "Fanny Mentor"))
    run(lambda: publish_agreement(get_network("fed-net"), "Rules v3", "Be kind, really.",
                                  actor=session.get(Person, fed.ids["fed_coordinator"])))  # fmt: skip
    token = act_as(client, fed, "fed_mentor")
    response = client.post(channel_url, data={"body": "through other-net", "csrf_token": token})
    assert response.status_code == 303
    run(lambda: publish_agreement(get_network("other-net"), "Regole v2", "Gentilezza.",
                                  actor=session.get(Person, fed.ids["other_coordinator"])))  # fmt: skip
    response = client.post(channel_url, data={"body": "through neither", "csrf_token": token})
    assert response.status_code == 403
    assert run(lambda: session.scalar(sa.select(sa.func.count(Message.id)).where(
        Message.body == "through neither"))) == 0  # fmt: skip
