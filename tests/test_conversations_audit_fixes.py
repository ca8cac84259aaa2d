"""Conversations, found by the audit of session 10: blocks stop direct conversations that already exist, every
write asks for the current agreement (and keeps what was typed when it changed), members of private groups are
added, removed and leave, and deleting a message is confirmed first."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network_service.audit.models import AuditLog
from network_service.conversations import operations
from network_service.conversations.models import Channel, ChannelKind, ChannelMember, Message
from network_service.db import session
from network_service.errors import Forbidden
from network_service.moderation import operations as moderation
from network_service.networks import operations as networks
from tests.conv_helpers import EMAILS, base, bearer_for, build_cast, network, person, post_form
from tests.helpers import assert_problem, csrf_from, sign_in_as


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


API = "/api/v1"


def signed_in(client, run, label: str):
    other = client.application.test_client()
    sign_in_as(other, run, EMAILS[label])
    return other


def open_direct(run, cast, writer: str, *others: str) -> str:
    def opened():
        channel = operations.open_direct(
            network(cast), actor=person(writer), person_ids=[cast.ids[o] for o in others]
        )
        operations.post_message(channel, actor=person(writer), body="Hello there")
        return channel.slug

    return run(opened)


def block(run, cast, blocker: str, blocked: str) -> None:
    run(lambda: moderation.block(network(cast), person(blocked), actor=person(blocker)))


def messages_in(run, cast, channel_slug: str) -> int:
    return run(
        lambda: session.scalar(
            sa.select(sa.func.count(Message.id))
            .join(Channel, Channel.id == Message.channel_id)
            .where(Channel.network_id == cast.network_id, Channel.slug == channel_slug)
        )
    )


def publish_new_agreement(run, cast) -> None:
    run(
        lambda: networks.publish_agreement(
            network(cast), "Rules v2", "Be kind, always.", actor=person("coordinator"), change_note="new"
        )
    )


# -- 1. a block stops a direct conversation that exists already ------------------------------------------------

BLOCKED_TEXT = "you blocked someone in it, or someone in it blocked you"


@pytest.mark.parametrize("blocker", ["novice", "experienced"])
def test_a_block_stops_an_existing_direct_conversation_both_ways_on_the_page(client, run, cast, blocker):
    slug = open_direct(run, cast, "novice", "experienced")
    root = run(lambda: session.scalar(sa.select(sa.func.min(Message.id))))
    block(run, cast, blocker, "experienced" if blocker == "novice" else "novice")
    for label in ("novice", "experienced"):
        browser = signed_in(client, run, label)
        page_url = f"{base(cast)}/c/{slug}"
        page = browser.get(page_url).get_data(as_text=True)
        assert BLOCKED_TEXT in page and 'name="body"' not in page  # a notice instead of the form
        thread = browser.get(f"{base(cast)}/threads/{root}").get_data(as_text=True)
        assert BLOCKED_TEXT in thread and 'name="body"' not in thread
        token = csrf_from(page)
        refused = browser.post(page_url, data={"body": "Still there?", "csrf_token": token})
        assert refused.status_code == 403 and BLOCKED_TEXT in refused.get_data(as_text=True)
        reply = browser.post(f"{base(cast)}/threads/{root}", data={"body": "Hm", "csrf_token": token})
        assert reply.status_code == 403
    assert messages_in(run, cast, slug) == 1


@pytest.mark.parametrize("blocker", ["novice", "experienced"])
def test_a_block_stops_an_existing_direct_conversation_both_ways_in_the_api(client, run, cast, blocker):
    slug = open_direct(run, cast, "novice", "experienced")
    root = run(lambda: session.scalar(sa.select(sa.func.min(Message.id))))
    block(run, cast, blocker, "experienced" if blocker == "novice" else "novice")
    for label in ("novice", "experienced"):
        headers = bearer_for(run, label)
        messages = f"{API}/networks/{cast.slug}/channels/{slug}/messages"
        body = assert_problem(
            client.post(messages, json={"body": "Still there?"}, headers=headers), 403, "body"
        )
        assert BLOCKED_TEXT in body["detail"]
        assert_problem(
            client.post(f"{API}/messages/{root}/replies", json={"body": "Hm"}, headers=headers), 403
        )
        assert client.get(messages, headers=headers).status_code == 200  # still read
    assert messages_in(run, cast, slug) == 1


def test_a_block_stops_a_small_group_conversation_and_unblocking_lets_it_go_on(client, run, cast):
    slug = open_direct(run, cast, "novice", "experienced", "office")
    block(run, cast, "office", "experienced")
    eva, mina = bearer_for(run, "experienced"), bearer_for(run, "novice")
    messages = f"{API}/networks/{cast.slug}/channels/{slug}/messages"
    assert_problem(client.post(messages, json={"body": "Hi all"}, headers=eva), 403, "body")
    # nobody Mina blocked or who blocked her is in it: she writes on
    assert client.post(messages, json={"body": "Hi all"}, headers=mina).status_code == 201
    run(lambda: moderation.unblock(network(cast), person("experienced"), actor=person("office")))
    assert client.post(messages, json={"body": "Hi again"}, headers=eva).status_code == 201


# -- 2. editing and creating channels ask for the current agreement ------------------------------------------------


def test_editing_a_message_and_creating_a_channel_need_the_current_agreement(run, cast, ctx):
    message = operations.post_message(
        operations.get_channel(network(cast), cast.general, person("novice")),
        actor=person("novice"),
        body="x",
    )
    networks.publish_agreement(
        network(cast), "Rules v2", "Be kind.", actor=person("coordinator"), change_note="new"
    )
    with pytest.raises(Forbidden, match="agreement"):
        operations.edit_message(message, actor=person("novice"), body="changed")
    for kind in (ChannelKind.private, ChannelKind.open):
        with pytest.raises(Forbidden, match="agreement"):
            operations.create_channel(network(cast), actor=person("experienced"), name="New", kind=kind)
    # the publisher accepted it by publishing; a site administrator without a membership is not asked
    operations.create_channel(network(cast), actor=person("coordinator"), name="Coordinators", kind="open")
    operations.create_channel(network(cast), actor=person("admin"), name="From the admin", kind="open")
    assert session.get(Message, message.id).body == "x"


def test_the_api_refuses_edits_and_channels_until_the_agreement_is_accepted(client, run, cast):
    eva = bearer_for(run, "experienced")
    posted = client.post(
        f"{API}/networks/{cast.slug}/channels/{cast.general}/messages", json={"body": "First"}, headers=eva
    )
    publish_new_agreement(run, cast)
    edit = client.patch(f"{API}/messages/{posted.get_json()['id']}", json={"body": "Second"}, headers=eva)
    body = assert_problem(edit, 403)
    assert "accept the new version" in body["detail"] and f"/networks/{cast.slug}/agreement" in body["detail"]
    created = client.post(f"{API}/networks/{cast.slug}/channels", json={"name": "New"}, headers=eva)
    assert_problem(created, 403)
    assert run(lambda: session.scalar(sa.select(Channel.id).where(Channel.name == "New"))) is None


def accept_on_the_page(client, run, cast, agreement_url: str):
    """Accept the current agreement through its page (``agreement_url``, with a ``?next=`` or not)."""
    page = client.get(agreement_url).get_data(as_text=True)
    version = run(lambda: networks.current_agreement(network(cast)).version)
    return client.post(
        agreement_url,
        data={"accept_agreement": "y", "agreement_version": str(version), "csrf_token": csrf_from(page)},
    )


# -- 3. the agreement changed while typing: the text is kept, with a link to the agreement ------------------------


def _agreement_form_refusal(response, cast, typed: str, back_to: str) -> None:
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "must be accepted first" in html
    assert typed in html  # what was typed is in the form again
    # in a new window: this page keeps the text (a way back would land on an empty form)
    assert f'href="/networks/{cast.slug}/agreement" target="_blank" rel="noopener"' in html, html


def test_the_agreement_changing_while_typing_keeps_the_text_of_every_form(client, run, cast):
    sign_in_as(client, run, EMAILS["experienced"])
    channel_url = f"{base(cast)}/c/{cast.general}"
    token = csrf_from(client.get(channel_url).get_data(as_text=True))
    assert client.post(channel_url, data={"body": "First words", "csrf_token": token}).status_code == 303
    root = run(lambda: session.scalar(sa.select(sa.func.max(Message.id))))
    edit_url = f"{base(cast)}/messages/{root}/edit"
    thread_url = f"{base(cast)}/threads/{root}"
    direct_url = f"{base(cast)}/direct/new"
    new_url = f"{base(cast)}/new"
    edit_token = csrf_from(client.get(edit_url).get_data(as_text=True))
    publish_new_agreement(run, cast)  # meanwhile

    sent = client.post(channel_url, data={"body": "A long thread text", "csrf_token": token})
    _agreement_form_refusal(sent, cast, "A long thread text", channel_url)
    reply = client.post(thread_url, data={"body": "A careful reply", "csrf_token": token})
    _agreement_form_refusal(reply, cast, "A careful reply", thread_url)
    edit = client.post(edit_url, data={"body": "Better words", "csrf_token": edit_token})
    _agreement_form_refusal(edit, cast, "Better words", edit_url)
    direct = client.post(
        direct_url,
        data={"members": str(cast.ids["novice"]), "body": "Just to you", "csrf_token": token},
    )
    _agreement_form_refusal(direct, cast, "Just to you", direct_url)
    assert f'<input type="hidden" name="members" value="{cast.ids["novice"]}">' in direct.get_data(
        as_text=True
    )
    group = client.post(new_url, data={"name": "Our group", "kind": "private", "csrf_token": token})
    _agreement_form_refusal(group, cast, "Our group", new_url)
    assert run(lambda: session.scalar(sa.select(sa.func.count(Message.id)))) == 1  # nothing saved
    assert run(lambda: session.get(Message, root).body) == "First words"

    # the link leads to the agreement (in another window); once accepted, the kept text is sent again
    accepted = accept_on_the_page(client, run, cast, f"/networks/{cast.slug}/agreement")
    assert accepted.status_code == 303
    again = client.post(channel_url, data={"body": "A long thread text", "csrf_token": token})
    assert again.status_code == 303


@pytest.mark.parametrize("next_url", ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "x"])
def test_the_agreement_page_goes_back_only_to_a_local_path(client, run, cast, next_url):
    sign_in_as(client, run, EMAILS["experienced"])
    publish_new_agreement(run, cast)
    from urllib.parse import quote

    accepted = accept_on_the_page(
        client, run, cast, f"/networks/{cast.slug}/agreement?next={quote(next_url, safe='')}"
    )
    assert accepted.status_code == 303
    assert accepted.headers["Location"].endswith(f"/networks/{cast.slug}/agreement")


def test_the_api_answers_a_pending_agreement_with_a_403_problem(client, run, cast):
    publish_new_agreement(run, cast)
    eva = bearer_for(run, "experienced")
    refused = client.post(
        f"{API}/networks/{cast.slug}/channels/{cast.general}/messages", json={"body": "Hi"}, headers=eva
    )
    body = assert_problem(refused, 403)
    assert body["title"] == "You are not allowed to do this" and "errors" not in body
    assert body["detail"] == (
        "The agreement of Test Network has changed. Please read and accept the new version first: "
        f"/networks/{cast.slug}/agreement"
    )


# -- 4. members of private groups: add, remove, leave --------------------------------------------------------------


def make_group(run, cast, creator: str, *others: str) -> str:
    return run(
        lambda: (
            operations.create_channel(
                network(cast),
                actor=person(creator),
                name="Housing help",
                kind="private",
                member_ids=[cast.ids[o] for o in others],
            ).slug
        )
    )


def audit_of(run, action: str) -> list[dict]:
    return run(
        lambda: [
            entry.detail
            for entry in session.scalars(
                sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
            )
        ]
    )


def test_the_creator_adds_a_member_found_by_name_who_sees_the_group_at_once(client, run, cast, page_cache_on):
    slug = make_group(run, cast, "novice", "experienced")
    run(
        lambda: operations.post_message(
            operations.get_channel(network(cast), slug, person("novice")), actor=person("novice"), body="Hi"
        )
    )
    olga = signed_in(client, run, "office")
    index = f"{base(cast)}"
    before = olga.get(index).get_data(as_text=True)  # the navigation and what it counts are kept now
    assert "Housing help" not in before and 'class="badge badge-count"' not in before
    assert olga.get(f"{base(cast)}/c/{slug}").status_code == 404

    sign_in_as(client, run, EMAILS["novice"])
    settings = f"{base(cast)}/c/{slug}/settings"
    page = client.get(settings).get_data(as_text=True)
    assert "Eva Experienced" in page and 'type="checkbox"' not in page  # no list of the whole network
    found = client.get(f"{settings}?q=olg").get_data(as_text=True)
    assert "Add Olga Office to the group" in found and "Add Marco Meta" not in found
    assert "Add Eva Experienced" not in client.get(f"{settings}?q=eva").get_data(
        as_text=True
    )  # in it already
    assert client.get(f"{settings}?q=x").status_code == 422
    added = client.post(
        f"{base(cast)}/c/{slug}/members",
        data={"person_id": cast.ids["office"], "csrf_token": csrf_from(found)},
    )
    assert added.status_code == 303
    assert audit_of(run, "conversations.group_member_add") == [{"person_id": cast.ids["office"]}]

    after = olga.get(index).get_data(as_text=True)
    assert "Housing help" in after  # not the list kept before
    assert '1<span class="visually-hidden"> unread message</span>' in after
    assert '1<span class="visually-hidden"> new</span>' in after  # the section's badge in the navigation
    assert olga.get(f"{base(cast)}/c/{slug}").status_code == 200

    outsider = client.post(
        f"{base(cast)}/c/{slug}/members",
        data={"person_id": cast.ids["outsider"], "csrf_token": csrf_from(found)},
    )
    assert outsider.status_code == 422 and "active members of this network" in outsider.get_data(as_text=True)


def test_a_removed_member_loses_the_group_at_once_and_others_may_not_remove(client, run, cast, page_cache_on):
    slug = make_group(run, cast, "novice", "experienced", "office")
    eva = signed_in(client, run, "experienced")
    assert "Housing help" in eva.get(base(cast)).get_data(as_text=True)
    assert eva.get(f"{base(cast)}/c/{slug}").status_code == 200
    assert eva.get(f"{base(cast)}/c/{slug}/settings").status_code == 403  # Eva does not manage it
    token = csrf_from(eva.get(f"{base(cast)}/c/{slug}").get_data(as_text=True))
    refused = eva.post(
        f"{base(cast)}/c/{slug}/members/{cast.ids['office']}/remove", data={"csrf_token": token}
    )
    assert refused.status_code == 403

    sign_in_as(client, run, EMAILS["novice"])
    page = client.get(f"{base(cast)}/c/{slug}/settings").get_data(as_text=True)
    removed = client.post(
        f"{base(cast)}/c/{slug}/members/{cast.ids['experienced']}/remove",
        data={"csrf_token": csrf_from(page)},
    )
    assert removed.status_code == 303
    assert audit_of(run, "conversations.group_member_remove") == [{"person_id": cast.ids["experienced"]}]
    assert "Housing help" not in eva.get(base(cast)).get_data(as_text=True)
    assert eva.get(f"{base(cast)}/c/{slug}").status_code == 404


def test_members_leave_and_the_last_one_leaving_archives_the_group(client, run, cast):
    slug = make_group(run, cast, "novice", "experienced")
    eva = signed_in(client, run, "experienced")
    channel_page = eva.get(f"{base(cast)}/c/{slug}").get_data(as_text=True)
    assert f"/c/{slug}/leave" in channel_page
    confirm = eva.get(f"{base(cast)}/c/{slug}/leave")
    assert confirm.status_code == 200
    left = eva.post(
        f"{base(cast)}/c/{slug}/leave", data={"csrf_token": csrf_from(confirm.get_data(as_text=True))}
    )
    assert left.status_code == 303 and left.headers["Location"].endswith(base(cast))
    assert eva.get(f"{base(cast)}/c/{slug}").status_code == 404
    assert audit_of(run, "conversations.group_leave") == [{"person_id": cast.ids["experienced"]}]

    sign_in_as(client, run, EMAILS["novice"])
    confirm = client.get(f"{base(cast)}/c/{slug}/leave").get_data(as_text=True)
    assert "the group will be archived" in confirm
    assert (
        client.post(f"{base(cast)}/c/{slug}/leave", data={"csrf_token": csrf_from(confirm)}).status_code
        == 303
    )
    archived = run(lambda: session.scalar(sa.select(Channel.archived_at).where(Channel.slug == slug)))
    assert archived is not None
    assert (
        run(
            lambda: session.scalar(
                sa.select(sa.func.count(ChannelMember.id)).where(
                    ChannelMember.member.is_(True),
                    ChannelMember.channel_id
                    == sa.select(Channel.id).where(Channel.slug == slug).scalar_subquery(),
                )
            )
        )
        == 0
    )
    # an open channel is not left
    assert client.get(f"{base(cast)}/c/{cast.general}/leave").status_code == 404


def test_the_api_lists_adds_and_removes_group_members(client, run, cast):
    slug = make_group(run, cast, "novice", "experienced")
    mina, eva, olga = bearer_for(run, "novice"), bearer_for(run, "experienced"), bearer_for(run, "office")
    members = f"{API}/networks/{cast.slug}/channels/{slug}/members"
    listed = client.get(members, headers=eva)
    assert listed.status_code == 200
    assert [m["display_name"] for m in listed.get_json()] == ["Eva Experienced", "Mina Mentor"]
    assert client.get(members, headers=olga).status_code == 404  # not in it: not even its name
    assert client.get(members, headers=bearer_for(run, "coordinator")).status_code == 404

    assert_problem(client.post(members, json={"person_id": cast.ids["office"]}, headers=eva), 403)
    assert_problem(
        client.post(members, json={"person_id": cast.ids["outsider"]}, headers=mina), 422, "person_id"
    )
    assert_problem(client.post(members, json={}, headers=mina), 422)
    added = client.post(members, json={"person_id": cast.ids["office"]}, headers=mina)
    assert added.status_code == 201 and added.get_json() == {
        "id": cast.ids["office"],
        "display_name": "Olga Office",
    }
    again = client.post(members, json={"person_id": cast.ids["office"]}, headers=mina)
    assert (
        again.status_code == 200 and again.get_json()["id"] == cast.ids["office"]
    )  # nothing changed: no 201
    assert len(audit_of(run, "conversations.group_member_add")) == 1
    assert slug in [
        c["slug"] for c in client.get(f"{API}/networks/{cast.slug}/channels", headers=olga).get_json()
    ]

    assert client.delete(f"{members}/{cast.ids['novice']}", headers=eva).status_code == 403
    assert client.delete(f"{members}/{cast.ids['office']}", headers=mina).status_code == 204
    assert client.get(members, headers=olga).status_code == 404
    assert client.delete(f"{members}/{cast.ids['office']}", headers=mina).status_code == 404
    assert client.delete(f"{members}/{cast.ids['experienced']}", headers=eva).status_code == 204  # leaves
    assert client.delete(f"{members}/{cast.ids['novice']}", headers=mina).status_code == 204  # the last one
    general = f"{API}/networks/{cast.slug}/channels/{cast.general}/members"
    assert client.get(general, headers=mina).get_json() == []
    assert_problem(
        client.post(general, json={"person_id": cast.ids["office"]}, headers=bearer_for(run, "coordinator")),
        409,
    )


def test_adding_to_a_group_needs_the_current_agreement(client, run, cast):
    slug = make_group(run, cast, "experienced", "novice")
    publish_new_agreement(run, cast)
    eva = bearer_for(run, "experienced")
    members = f"{API}/networks/{cast.slug}/channels/{slug}/members"
    assert_problem(client.post(members, json={"person_id": cast.ids["office"]}, headers=eva), 403)
    # leaving is never held back by it
    assert client.delete(f"{members}/{cast.ids['experienced']}", headers=eva).status_code == 204


def test_the_settings_page_links_to_the_agreement_when_a_change_waits_for_it(client, run, cast):
    slug = make_group(run, cast, "novice", "experienced")
    sign_in_as(client, run, EMAILS["novice"])
    settings = f"{base(cast)}/c/{slug}/settings"
    found = client.get(f"{settings}?q=olg").get_data(as_text=True)
    publish_new_agreement(run, cast)
    for url, data in (
        (f"{base(cast)}/c/{slug}/members", {"person_id": cast.ids["office"]}),
        (f"{base(cast)}/c/{slug}/members/{cast.ids['experienced']}/remove", {}),
    ):
        refused = client.post(url, data={**data, "csrf_token": csrf_from(found)})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 403
        assert "Nothing is changed in the group." in page
        assert f'href="/networks/{cast.slug}/agreement" target="_blank"' in page
        assert (
            "accept the new version first: /networks/" not in page
        )  # the refusal's text with its raw address
    assert audit_of(run, "conversations.group_member_add") == []
    assert audit_of(run, "conversations.group_member_remove") == []


def test_adding_a_member_of_the_group_again_says_so_on_the_page(client, run, cast):
    slug = make_group(run, cast, "novice", "experienced")
    sign_in_as(client, run, EMAILS["novice"])
    page = client.get(f"{base(cast)}/c/{slug}/settings").get_data(as_text=True)
    again = client.post(
        f"{base(cast)}/c/{slug}/members",
        data={"person_id": cast.ids["experienced"], "csrf_token": csrf_from(page)},
        follow_redirects=True,
    )
    assert "Eva Experienced was a member of the group already." in again.get_data(as_text=True)
    assert audit_of(run, "conversations.group_member_add") == []


# -- 5. deleting one's message is confirmed first ------------------------------------------------------------------


def test_delete_leads_to_a_page_that_asks_first(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    channel_url = f"{base(cast)}/c/{cast.general}"
    token = csrf_from(client.get(channel_url).get_data(as_text=True))
    client.post(channel_url, data={"body": "Oops, a typo", "csrf_token": token})
    message_id = run(lambda: session.scalar(sa.select(sa.func.max(Message.id))))
    delete_url = f"{base(cast)}/messages/{message_id}/delete"
    page = client.get(channel_url).get_data(as_text=True)
    # the Delete button is a link to the confirmation, not a form that deletes at once
    assert f'<a href="{delete_url}">Delete</a>' in page
    assert f'action="{delete_url}"' not in page
    confirm = client.get(delete_url)
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert "Delete this message?" in html and "Oops, a typo" in html and f'action="{delete_url}"' in html
    assert "<script" not in html.split("<main")[1]
    assert run(lambda: session.get(Message, message_id).deleted_at) is None  # asking deletes nothing
    done = client.post(delete_url, data={"csrf_token": csrf_from(html)})
    assert done.status_code == 303
    assert run(lambda: session.get(Message, message_id).deleted_at) is not None
    assert client.get(delete_url).status_code == 403  # deleted already

    eva = signed_in(client, run, "experienced")  # neither the author nor a moderator
    other = post_form(eva, channel_url, {"body": "Mine"})
    assert other.status_code == 303
    assert client.get(f"{base(cast)}/messages/{message_id + 1}/delete").status_code == 403


# -- found by the second audit of session 10 ---------------------------------------------------------------------


@pytest.mark.parametrize("blocker", ["novice", "experienced"])
def test_a_block_stops_rewriting_old_messages_of_a_direct_conversation_too(run, cast, blocker):
    slug = open_direct(run, cast, "novice", "experienced")
    block(run, cast, blocker, "experienced" if blocker == "novice" else "novice")

    def rewrite():
        message = session.scalar(
            sa.select(Message)
            .join(Channel, Channel.id == Message.channel_id)
            .where(Channel.network_id == cast.network_id, Channel.slug == slug)
        )
        with pytest.raises(Forbidden, match="blocked"):
            operations.edit_message(message, actor=person("novice"), body="Rewritten after the block")
        return message.body

    assert run(rewrite) == "Hello there"


def test_a_new_group_has_at_most_its_limit_of_members_the_creator_included(run, cast, monkeypatch):
    from network_service.errors import InvalidInput

    monkeypatch.setattr(operations, "MAX_GROUP_MEMBERS", 3)
    with pytest.raises(InvalidInput) as refused:
        make_group(run, cast, "novice", "experienced", "office", "meta_mentor")  # 4 others and the creator
    assert refused.value.field == "members"
    assert (
        run(
            lambda: session.scalar(sa.select(sa.func.count(Channel.id)).where(Channel.name == "Housing help"))
        )
        == 0
    )
    make_group(run, cast, "novice", "experienced", "office")  # 3 in all
