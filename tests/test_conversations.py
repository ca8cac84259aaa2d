"""Conversations over real HTTP: channels, threads, mentions, direct messages, unread state, search, the API."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from network_service.conversations import operations
from network_service.conversations.models import Channel, ChannelKind, ChannelMember, Message, MessageRevision
from network_service.db import db, session
from network_service.jobs import TICK_SECONDS, jobs_of
from network_service.markup import MAX_MARKDOWN_CHARS
from network_service.networks.models import Membership, MembershipStatus
from network_service.networks.roadmap import checkpoints
from network_service.notifications.models import Notification
from tests.conv_helpers import EMAILS, base, bearer_for, build_cast, network, person, post_form
from tests.helpers import assert_problem, csrf_from, sign_in_as


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


API = "/api/v1"
ROLES = ["coordinator", "meta_mentor", "office", "experienced", "novice", "outsider", "admin"]


def post_as(run, cast, label: str, body: str, channel_slug: str | None = None, parent_id: int | None = None):
    def write():
        channel = session.scalar(
            sa.select(Channel).where(
                Channel.network_id == cast.network_id, Channel.slug == (channel_slug or cast.general)
            )
        )
        parent = session.get(Message, parent_id) if parent_id else None
        return operations.post_message(channel, actor=person(label), body=body, parent=parent).id

    return run(write)


def notifications_of(run, label: str, kind: str) -> list[Notification]:
    return run(
        lambda: list(
            session.scalars(
                sa.select(Notification).where(
                    Notification.person_id == person(label).id, Notification.kind == kind
                )
            )
        )
    )


# -- channel page, threads, replies, mentions ------------------------------------------------------------


def test_a_member_starts_a_thread_with_a_mention_and_others_reply(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    channel_url = f"{base(cast)}/c/{cast.general}"
    refused = post_form(
        client,
        channel_url,
        {"body": "Who knows the **housing** office? @[marco meta] <script>alert(1)</script>"},
    )
    assert refused.status_code == 422 and "Found: &lt;script&gt;" in refused.get_data(as_text=True)
    response = post_form(
        client,
        channel_url,
        {"body": "Who knows the **housing** office? @[marco meta] `<script>alert(1)</script>`"},
    )
    assert response.status_code == 303
    html = client.get(channel_url).get_data(as_text=True)
    assert "<strong>housing</strong>" in html
    assert "<strong>@marco meta</strong>" in html
    assert "<script>alert" not in html and "<code>&lt;script&gt;" in html

    mention = notifications_of(run, "meta_mentor", "conversations.mention")
    assert len(mention) == 1 and mention[0].params["author"] == "Mina Mentor"
    assert notifications_of(run, "coordinator", "conversations.mention") == []

    root_id = run(lambda: session.scalar(sa.select(sa.func.max(Message.id))))
    post_as(run, cast, "meta_mentor", "Try the office on Main Street.", parent_id=root_id)
    post_as(run, cast, "experienced", "I went there last week. @[Mina Mentor]", parent_id=root_id)
    # the root's author is told about replies; earlier repliers too; a mention is not told twice
    assert len(notifications_of(run, "novice", "conversations.reply")) == 1
    assert len(notifications_of(run, "novice", "conversations.mention")) == 1
    assert len(notifications_of(run, "meta_mentor", "conversations.reply")) == 1

    thread = client.get(f"{base(cast)}/threads/{root_id}").get_data(as_text=True)
    assert "Try the office on Main Street." in thread and "I went there last week." in thread
    assert "2 replies" in thread
    response = post_form(client, f"{base(cast)}/threads/{root_id}", {"body": "Thank you both!"})
    assert response.status_code == 303 and f"/threads/{root_id}#m" in response.headers["Location"]
    root = run(lambda: session.get(Message, root_id))
    assert root.reply_count == 3 and root.last_reply_at is not None


def test_bad_input_is_refused_with_the_reason_next_to_the_field(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    channel_url = f"{base(cast)}/c/{cast.general}"
    empty = post_form(client, channel_url, {"body": "   "})
    assert empty.status_code == 422
    assert 'aria-invalid="true"' in empty.get_data(as_text=True)
    huge = post_form(client, channel_url, {"body": "x" * (MAX_MARKDOWN_CHARS + 1)})
    assert huge.status_code == 422
    no_csrf = client.post(channel_url, data={"body": "hello"})
    assert no_csrf.status_code in (400, 422)
    assert run(lambda: session.scalar(sa.select(sa.func.count(Message.id)))) == 0
    html_tag = post_form(client, channel_url, {"body": "look <img src=x onerror=alert(1)>"})
    assert html_tag.status_code == 422 and 'id="body-error"' in html_tag.get_data(as_text=True)
    assert run(lambda: session.scalar(sa.select(sa.func.count(Message.id)))) == 0
    link = post_form(
        client, channel_url, {"body": "[click](javascript:alert(1)) `<img src=x onerror=alert(1)>`"}
    )
    assert link.status_code == 303
    html = client.get(channel_url).get_data(as_text=True)
    assert 'href="javascript' not in html and "<img" not in html


def test_posting_fast_is_slowed_down(run, cast, ctx):
    channel = session.scalar(
        sa.select(Channel).where(Channel.network_id == cast.network_id, Channel.slug == cast.general)
    )
    for number in range(operations.FLOOD_LIMIT):
        operations.post_message(channel, actor=person("novice"), body=f"message {number}")
    with pytest.raises(operations.TooManyMessages):
        operations.post_message(channel, actor=person("novice"), body="one too many")


def test_anonymous_visitors_are_sent_to_sign_in(client, cast):
    for path in ("", f"/c/{cast.general}", "/new", "/direct", "/direct/new", "/search?q=hello", "/threads/1"):
        response = client.get(base(cast) + path)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], path


@pytest.mark.parametrize("label,status", [("outsider", 403), ("admin", 200), ("office", 200)])
def test_who_sees_the_channel_list(client, run, cast, label, status):
    sign_in_as(client, run, EMAILS[label])
    assert client.get(base(cast)).status_code == status
    channel = client.get(f"{base(cast)}/c/{cast.general}")
    assert channel.status_code == (200 if status == 200 else 404)


def test_a_network_without_channels_offers_one_to_those_who_may_open_it(client, run, cast):
    run(lambda: session.execute(sa.delete(Channel).where(Channel.network_id == cast.network_id)))
    sign_in_as(client, run, EMAILS["novice"])
    html = client.get(base(cast)).get_data(as_text=True)
    assert "There is no channel here yet." in html and "/setup" not in html
    count = sa.select(sa.func.count(Channel.id)).where(Channel.network_id == cast.network_id)
    assert run(lambda: session.scalar(count)) == 0  # never created on GET
    response = client.post(f"{base(cast)}/setup", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 403

    client.post("/sign-out", data={"csrf_token": csrf_from(html)})
    sign_in_as(client, run, EMAILS["coordinator"])
    html = client.get(base(cast)).get_data(as_text=True)
    assert "/setup" in html
    response = client.post(f"{base(cast)}/setup", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/c/general")
    assert run(lambda: operations.create_default_channels(network(cast)))[0].slug == "general"  # idempotent


# -- channels and groups ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label,allowed", [("novice", False), ("experienced", True), ("office", True), ("meta_mentor", True)]
)
def test_who_opens_an_open_channel(client, run, cast, label, allowed):
    sign_in_as(client, run, EMAILS[label])
    response = post_form(client, f"{base(cast)}/new", {"name": "Housing tips", "kind": "open"})
    if allowed:
        assert response.status_code == 303 and response.headers["Location"].endswith("/c/housing-tips")
    else:
        assert response.status_code == 422  # the open choice is not offered to novices
        assert (
            run(
                lambda: session.scalar(
                    sa.select(Channel).where(
                        Channel.network_id == cast.network_id, Channel.slug == "housing-tips"
                    )
                )
            )
            is None
        )


def test_a_private_group_is_read_by_its_members_only(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    html = client.get(f"{base(cast)}/new").get_data(as_text=True)
    response = client.post(
        f"{base(cast)}/new",
        data={
            "name": "Arabic speakers",
            "kind": "private",
            "members": [str(cast.ids["experienced"])],
            "csrf_token": csrf_from(html),
        },
    )
    assert response.status_code == 303
    group = response.headers["Location"].rsplit("/", 1)[-1]
    post_form(client, f"{base(cast)}/c/{group}", {"body": "Our group message"})
    listing = client.get(base(cast)).get_data(as_text=True)
    assert "Arabic speakers" in listing

    for label, status in [("experienced", 200), ("coordinator", 404), ("admin", 404), ("outsider", 404)]:
        other = client.application.test_client()
        sign_in_as(other, run, EMAILS[label])
        assert other.get(f"{base(cast)}/c/{group}").status_code == status, label
        if label in ("coordinator", "admin"):
            assert "Arabic speakers" not in other.get(base(cast)).get_data(as_text=True)
            found = other.get(f"{base(cast)}/search?q=group+message").get_data(as_text=True)
            assert "Our group message" not in found


def test_a_group_with_someone_from_another_network_is_refused(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    html = client.get(f"{base(cast)}/new").get_data(as_text=True)
    response = client.post(
        f"{base(cast)}/new",
        data={
            "name": "Mixed",
            "kind": "private",
            "members": [str(cast.ids["outsider"])],
            "csrf_token": csrf_from(html),
        },
    )
    assert response.status_code == 422
    assert "Choose only active members of this network." in response.get_data(as_text=True)


def test_rename_and_archive(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    assert client.get(f"{base(cast)}/c/{cast.general}/settings").status_code == 403
    client2 = client.application.test_client()
    sign_in_as(client2, run, EMAILS["meta_mentor"])
    settings = f"{base(cast)}/c/{cast.general}/settings"
    assert post_form(client2, settings, {"name": "", "description": ""}).status_code == 422
    assert post_form(client2, settings, {"name": "Everyone", "description": "For all"}).status_code == 303
    response = post_form(
        client2, settings, {"archived": "1"}, action=f"{base(cast)}/c/{cast.general}/archive"
    )
    assert response.status_code == 303
    html = client.get(f"{base(cast)}/c/{cast.general}").get_data(as_text=True)
    assert "Everyone" in html and "archived" in html and 'name="body"' not in html
    assert run(
        lambda: session.scalar(
            sa.select(Channel.archived_at).where(
                Channel.network_id == cast.network_id, Channel.slug == cast.general
            )
        )
    )


# -- direct messages ---------------------------------------------------------------------------------------


def test_direct_messages_between_two_people_reuse_one_conversation(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    new = f"{base(cast)}/direct/new"
    first = post_form(client, new, {"members": str(cast.ids["experienced"]), "body": "Hi Eva"})
    second = post_form(client, new, {"members": str(cast.ids["experienced"]), "body": "Me again"})
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(notifications_of(run, "experienced", "conversations.direct")) == 2
    listing = client.get(f"{base(cast)}/direct").get_data(as_text=True)
    assert "Eva Experienced" in listing

    eva = client.application.test_client()
    sign_in_as(eva, run, EMAILS["experienced"])
    assert "Eva Experienced" not in eva.get(f"{base(cast)}/direct").get_data(as_text=True).split("<main")[
        1
    ].split("Back to the conversations")[0].replace("Direct messages", "")  # Eva sees Mina, not herself
    assert eva.get(first.headers["Location"]).status_code == 200
    for label in ("coordinator", "admin"):
        other = client.application.test_client()
        sign_in_as(other, run, EMAILS[label])
        assert other.get(first.headers["Location"]).status_code == 404

    refused = post_form(client, new, {"members": str(cast.ids["outsider"]), "body": "hello"})
    assert refused.status_code == 422
    nobody = post_form(client, new, {"body": "hello"})
    assert nobody.status_code == 422


def test_a_group_dm_has_at_most_eight_people(run, cast, ctx):
    from network_service.errors import InvalidInput
    from tests.helpers import add_member

    extra = [add_member(network(cast), f"p{i}@example.org", f"Person {i}").id for i in range(8)]
    with pytest.raises(InvalidInput):
        operations.open_direct(network(cast), actor=person("novice"), person_ids=extra)
    channel = operations.open_direct(network(cast), actor=person("novice"), person_ids=extra[:7])
    assert channel.kind == ChannelKind.direct and channel.direct_key is None


# -- edit, delete, history ---------------------------------------------------------------------------------


def test_edits_keep_history_for_moderators_and_the_author_and_their_deletion_drops_it(client, run, cast):
    message_id = post_as(run, cast, "novice", "First text")
    edit_url = f"{base(cast)}/messages/{message_id}/edit"
    history_url = f"{base(cast)}/messages/{message_id}/history"

    other = client.application.test_client()
    sign_in_as(other, run, EMAILS["experienced"])
    assert other.get(edit_url).status_code == 403
    html = other.get(f"{base(cast)}/c/{cast.general}").get_data(as_text=True)
    assert (
        other.post(
            f"{base(cast)}/messages/{message_id}/delete", data={"csrf_token": csrf_from(html)}
        ).status_code
        == 403
    )

    sign_in_as(client, run, EMAILS["novice"])
    assert post_form(client, edit_url, {"body": ""}).status_code == 422
    assert post_form(client, edit_url, {"body": "Second text"}).status_code == 303
    assert "First text" in client.get(history_url).get_data(as_text=True)
    assert other.get(history_url).status_code == 403

    html = client.get(f"{base(cast)}/c/{cast.general}").get_data(as_text=True)
    assert "Second text" in html and "(edited)" in html
    response = client.post(f"{base(cast)}/messages/{message_id}/delete", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 303
    page = other.get(f"{base(cast)}/c/{cast.general}").get_data(as_text=True)
    assert "Message deleted." in page and "Second text" not in page

    meta = client.application.test_client()
    sign_in_as(meta, run, EMAILS["meta_mentor"])
    history = meta.get(history_url).get_data(as_text=True)
    # the author withdrew their words: the deleted text and its earlier version went with them
    assert "First text" not in history and "Second text" not in history
    assert "The text of this deleted message is no longer kept." in history
    assert run(lambda: session.scalar(sa.select(sa.func.count(MessageRevision.id)))) == 0
    assert post_form(client, edit_url, {"body": "Third"}).status_code == 403  # deleted: no more edits


def test_moderators_delete_others_messages(client, run, cast):
    message_id = post_as(run, cast, "novice", "Something off topic")
    sign_in_as(client, run, EMAILS["coordinator"])
    html = client.get(f"{base(cast)}/c/{cast.general}").get_data(as_text=True)
    response = client.post(f"{base(cast)}/messages/{message_id}/delete", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 303
    message = run(lambda: session.get(Message, message_id))
    assert (
        message.deleted_at is not None
        and message.body == ""
        and message.deleted_by_id == cast.ids["coordinator"]
    )


# -- unread state ------------------------------------------------------------------------------------------


def test_unread_counts_and_the_section_badge(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    post_as(run, cast, "novice", "mine do not count")  # writing marks the channel read up to one's message
    post_as(run, cast, "experienced", "one")
    post_as(run, cast, "experienced", "two")
    listing = client.get(base(cast)).get_data(as_text=True)
    assert '<span class="badge badge-count">2<span class="visually-hidden"> unread messages' in listing
    assert (
        '<span class="badge badge-count">1<span class="visually-hidden"> new' in listing
    )  # the section badge
    client.get(f"{base(cast)}/c/{cast.general}")
    listing = client.get(base(cast)).get_data(as_text=True)
    assert "unread message" not in listing and 'visually-hidden"> new' not in listing
    post_as(run, cast, "experienced", "three")
    assert run(lambda: operations.unread_counts(network(cast), person("novice"))) == {
        run(
            lambda: session.scalar(
                sa.select(Channel.id).where(
                    Channel.network_id == cast.network_id, Channel.slug == cast.general
                )
            )
        ): 1
    }


# -- search ------------------------------------------------------------------------------------------------


def test_search_finds_readable_messages_case_insensitively_with_literal_wildcards(client, run, cast):
    post_as(run, cast, "experienced", "The Job Centre opens at 8")
    post_as(run, cast, "experienced", "Discount of 100% for students")
    post_as(run, cast, "experienced", "Discount of 1000 for students")
    sign_in_as(client, run, EMAILS["novice"])
    found = client.get(f"{base(cast)}/search?q=job+centre").get_data(as_text=True)
    assert "The Job Centre opens at 8" in found
    percent = client.get(f"{base(cast)}/search?q=100%25").get_data(as_text=True)
    assert "100% for students" in percent and "1000 for students" not in percent
    assert client.get(f"{base(cast)}/search?q=x").status_code == 422
    assert client.get(f"{base(cast)}/search?q=" + "y" * 300).status_code == 422
    outsider = client.application.test_client()
    sign_in_as(outsider, run, EMAILS["outsider"])
    assert outsider.get(f"{base(cast)}/search?q=job").status_code == 403


def test_search_pages_newest_first(run, cast, ctx):
    for number in range(operations.SEARCH_PAGE_SIZE + 3):
        operations.post_message(
            session.scalar(
                sa.select(Channel).where(Channel.network_id == cast.network_id, Channel.slug == cast.general)
            ),
            actor=person(["novice", "experienced", "office"][number % 3]),
            body=f"needle {number}",
        )
    first, older = operations.search(network(cast), person("novice"), "needle")
    assert len(first) == operations.SEARCH_PAGE_SIZE and first[0].body.endswith(
        str(operations.SEARCH_PAGE_SIZE + 2)
    )
    rest, none = operations.search(network(cast), person("novice"), "NEEDLE", before=older)
    assert len(rest) == 3 and none is None


# -- suspended members, roadmap ----------------------------------------------------------------------------


def test_a_suspended_member_loses_access(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    assert client.get(f"{base(cast)}/c/{cast.general}").status_code == 200

    def suspend():
        membership = session.scalar(sa.select(Membership).where(Membership.person_id == cast.ids["novice"]))
        membership.status = MembershipStatus.suspended

    run(suspend)
    assert client.get(base(cast)).status_code == 403
    assert client.get(f"{base(cast)}/c/{cast.general}").status_code == 404


def test_the_roadmap_checkpoint_counts_different_recent_authors(run, cast, ctx):
    checkpoint = next(c for c in checkpoints() if c.key == "conversations.under_way")
    channel = session.scalar(
        sa.select(Channel).where(Channel.network_id == cast.network_id, Channel.slug == cast.general)
    )
    operations.post_message(channel, actor=person("novice"), body="a")
    operations.post_message(channel, actor=person("novice"), body="b")
    operations.post_message(channel, actor=person("office"), body="c")
    assert not checkpoint.reached(network(cast))
    operations.post_message(channel, actor=person("experienced"), body="d")
    assert checkpoint.reached(network(cast))


# -- performance -------------------------------------------------------------------------------------------


def _statements_for(client, url: str) -> int:
    count = 0

    def counter(*_args):
        nonlocal count
        count += 1

    engine = db._state(client.application).engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    assert response.status_code == 200
    return count


def _add_messages(cast, count: int) -> None:
    channel = session.scalar(
        sa.select(Channel).where(Channel.network_id == cast.network_id, Channel.slug == cast.general)
    )
    labels = ["novice", "experienced", "office", "meta_mentor", "coordinator"]
    authors = [person(label) for label in labels]
    now = operations.utcnow()
    for number in range(count):
        root = Message(
            channel_id=channel.id,
            author_id=authors[number % 5].id,
            body=f"thread {number} @[Mina Mentor]",
            created_at=now,
        )
        session.add(root)
        session.flush()
        session.add(
            Message(
                channel_id=channel.id,
                author_id=authors[(number + 1) % 5].id,
                parent_id=root.id,
                body="reply",
                created_at=now,
            )
        )
        if number % 7 == 0:
            root.hidden_at = now
        if number % 11 == 0:
            root.edited_at = now
    session.flush()


def test_the_channel_page_runs_the_same_statements_at_n_and_5n_messages(client, run, cast):
    sign_in_as(client, run, EMAILS["meta_mentor"])
    url = f"{base(cast)}/c/{cast.general}"
    run(_add_messages, cast, 8)
    client.get(url)
    small = _statements_for(client, url)
    run(_add_messages, cast, 40)
    client.get(url)
    large = _statements_for(client, url)
    assert small == large
    listing_small = _statements_for(client, base(cast))
    run(_add_messages, cast, 40)
    assert _statements_for(client, base(cast)) == listing_small

    def add_replies(count):
        root = session.scalar(
            sa.select(Message).where(Message.parent_id.is_(None)).order_by(Message.id.desc())
        )
        for number in range(count):
            author = person(["novice", "experienced", "office", "coordinator"][number % 4])
            session.add(
                Message(channel_id=root.channel_id, author_id=author.id, parent_id=root.id, body="more")
            )
        session.flush()
        return root.id

    thread_id = run(add_replies, 2)
    client.get(f"{base(cast)}/threads/{thread_id}")  # moves the read marker; the count is taken when read
    thread_small = _statements_for(client, f"{base(cast)}/threads/{thread_id}")
    run(add_replies, 10)
    client.get(f"{base(cast)}/threads/{thread_id}")
    assert _statements_for(client, f"{base(cast)}/threads/{thread_id}") == thread_small


# -- the JSON API ------------------------------------------------------------------------------------------


def test_api_channels_messages_replies_read_and_search(client, run, cast):
    mina = bearer_for(run, "novice")
    listing = client.get(f"{API}/networks/{cast.slug}/channels", headers=mina)
    assert listing.status_code == 200 and [c["slug"] for c in listing.get_json()] == ["general"]

    url = f"{API}/networks/{cast.slug}/channels/{cast.general}/messages"
    created = client.post(url, json={"body": "From the *API*"}, headers=mina)
    assert created.status_code == 201, created.get_json()
    message = created.get_json()
    assert message["body"] == "From the *API*" and message["author"]["display_name"] == "Mina Mentor"

    assert client.post(url, json={"body": ""}, headers=mina).status_code == 422
    assert client.post(url, json={"body": 5}, headers=mina).status_code == 422
    assert client.post(url, json={"body": "x" * (MAX_MARKDOWN_CHARS + 1)}, headers=mina).status_code == 422
    assert client.post(url, json={"text": "typo"}, headers=mina).status_code == 422
    assert client.post(url, data="body=x", content_type="text/plain", headers=mina).status_code == 415

    eva = bearer_for(run, "experienced")
    reply = client.post(f"{API}/messages/{message['id']}/replies", json={"body": "Answer"}, headers=eva)
    assert reply.status_code == 201 and reply.get_json()["parent_id"] == message["id"]
    thread = client.get(f"{API}/messages/{message['id']}", headers=mina).get_json()
    assert [r["body"] for r in thread["replies"]] == ["Answer"] and thread["root"]["reply_count"] == 1

    page = client.get(url, headers=eva).get_json()
    assert page["messages"][0]["id"] == message["id"] and page["next_cursor"] is None
    assert client.get(url + "?before=abc", headers=eva).status_code == 422

    unread = client.get(f"{API}/networks/{cast.slug}/channels", headers=mina).get_json()[0]["unread"]
    assert unread == 1
    read = client.post(f"{API}/networks/{cast.slug}/channels/{cast.general}/read", json={}, headers=mina)
    assert read.status_code == 200
    assert client.get(f"{API}/networks/{cast.slug}/channels", headers=mina).get_json()[0]["unread"] == 0

    edited = client.patch(f"{API}/messages/{message['id']}", json={"body": "Edited"}, headers=mina)
    assert edited.status_code == 200 and edited.get_json()["edited_at"]
    assert (
        client.patch(f"{API}/messages/{message['id']}", json={"body": "no"}, headers=eva).status_code == 403
    )
    assert client.delete(f"{API}/messages/{message['id']}", headers=eva).status_code == 403

    found = client.get(f"{API}/networks/{cast.slug}/conversations/search?q=edited", headers=eva).get_json()
    assert [m["id"] for m in found["messages"]] == [message["id"]]

    assert client.delete(f"{API}/messages/{message['id']}", headers=mina).status_code == 204
    gone = client.get(f"{API}/messages/{message['id']}", headers=eva).get_json()["root"]
    assert gone["state"] == "deleted" and gone["body"] is None


def test_api_channel_creation_direct_messages_and_channel_updates(client, run, cast):
    mina, eva = bearer_for(run, "novice"), bearer_for(run, "experienced")
    channels = f"{API}/networks/{cast.slug}/channels"
    assert client.post(channels, json={"name": "Open one", "kind": "open"}, headers=mina).status_code == 403
    group = client.post(
        channels,
        json={"name": "Group", "kind": "private", "member_ids": [cast.ids["experienced"]]},
        headers=mina,
    )
    assert group.status_code == 201 and group.get_json()["kind"] == "private"
    opened = client.post(channels, json={"name": "Open one", "kind": "open"}, headers=eva)
    assert opened.status_code == 201
    assert client.post(channels, json={"name": "x" * 81}, headers=eva).status_code == 422
    assert client.post(channels, json={"name": "Bad", "kind": "nope"}, headers=eva).status_code == 422

    detail = f"{channels}/{opened.get_json()['slug']}"
    assert client.patch(detail, json={"name": "Renamed"}, headers=mina).status_code == 403
    assert client.patch(detail, json={"name": "Renamed", "archived": True}, headers=eva).get_json()[
        "archived"
    ]
    post = client.post(f"{detail}/messages", json={"body": "late"}, headers=eva)
    assert post.status_code == 409

    direct = f"{API}/networks/{cast.slug}/direct"
    dm = client.post(direct, json={"person_ids": [cast.ids["experienced"]], "body": "Hi"}, headers=mina)
    assert dm.status_code == 201
    again = client.post(direct, json={"person_ids": [cast.ids["experienced"]]}, headers=mina)
    assert again.get_json()["slug"] == dm.get_json()["slug"]
    assert client.post(direct, json={"person_ids": []}, headers=mina).status_code == 422
    assert client.post(direct, json={"person_ids": [cast.ids["outsider"]]}, headers=mina).status_code == 422
    listed = client.get(direct, headers=eva).get_json()
    assert listed[0]["unread"] == 1 and listed[0]["members"][0]["display_name"] == "Mina Mentor"


def test_api_revisions_for_the_author_and_moderators(client, run, cast):
    message_id = post_as(run, cast, "novice", "First text")
    mina = bearer_for(run, "novice")
    url = f"{API}/messages/{message_id}/revisions"
    unedited = client.get(url, headers=mina)
    assert unedited.status_code == 200 and unedited.get_json()["revisions"] == []
    assert (
        client.patch(f"{API}/messages/{message_id}", json={"body": "Second text"}, headers=mina).status_code
        == 200
    )

    for label in ("novice", "meta_mentor", "coordinator"):
        response = client.get(url, headers=bearer_for(run, label))
        assert response.status_code == 200, (label, response.get_data(as_text=True))
        history = response.get_json()
        assert history["message"]["id"] == message_id and history["message"]["body"] == "Second text"
        assert [r["body"] for r in history["revisions"]] == ["First text"]
        assert history["revisions"][0]["editor"]["display_name"] == "Mina Mentor"
        assert history["revisions"][0]["replaced_at"]

    for label in ("experienced", "office", "admin"):  # they read the message, not its earlier texts
        assert client.get(f"{API}/messages/{message_id}", headers=bearer_for(run, label)).status_code == 200
        body = assert_problem(client.get(url, headers=bearer_for(run, label)), 403)
        assert "First text" not in str(body)
    assert "First text" not in str(assert_problem(client.get(url, headers=bearer_for(run, "outsider")), 404))
    assert_problem(client.get(url), 401)
    assert_problem(client.get(f"{API}/messages/999999/revisions", headers=mina), 404)

    assert history["deleted_text_kept_until"] is None  # not deleted

    # removed by a moderator: the author and moderators still see every earlier text, newest first, for a while
    meta = bearer_for(run, "meta_mentor")
    assert client.delete(f"{API}/messages/{message_id}", headers=meta).status_code == 204
    history = client.get(url, headers=meta).get_json()
    assert history["message"]["state"] == "deleted" and history["message"]["body"] is None
    assert [r["body"] for r in history["revisions"]] == ["Second text", "First text"]
    # the latest moment: the period, then at most one interval of the daily job that drops it (and its tick)
    deleted_at = run(lambda: session.get(Message, message_id).deleted_at)
    wait = jobs_of(client.application)["privacy.retention"].every + dt.timedelta(seconds=TICK_SECONDS)
    kept_until = dt.datetime.fromisoformat(history["deleted_text_kept_until"])
    assert kept_until.replace(tzinfo=kept_until.tzinfo or dt.UTC) == (
        deleted_at.replace(tzinfo=deleted_at.tzinfo or dt.UTC) + dt.timedelta(days=90) + wait
    )
    assert [r["body"] for r in client.get(url, headers=mina).get_json()["revisions"]] == [
        "Second text",
        "First text",
    ]

    # deleted by its author: no earlier text is kept
    own = post_as(run, cast, "novice", "Withdrawn words")
    assert (
        client.patch(f"{API}/messages/{own}", json={"body": "Edited words"}, headers=mina).status_code == 200
    )
    assert client.delete(f"{API}/messages/{own}", headers=mina).status_code == 204
    history = client.get(f"{API}/messages/{own}/revisions", headers=meta).get_json()
    assert history["revisions"] == [] and history["deleted_text_kept_until"] is None


def test_api_revisions_of_a_private_group_message_are_as_hidden_as_the_message(client, run, cast):
    group_slug = run(
        lambda: (
            operations.create_channel(
                network(cast), actor=person("novice"), name="Small group", kind=ChannelKind.private
            ).slug
        )
    )
    message_id = post_as(run, cast, "novice", "private words", channel_slug=group_slug)
    mina = bearer_for(run, "novice")
    client.patch(f"{API}/messages/{message_id}", json={"body": "private, edited"}, headers=mina)
    meta = bearer_for(run, "meta_mentor")
    assert client.get(f"{API}/messages/{message_id}", headers=meta).status_code == 404  # as the thread
    body = assert_problem(client.get(f"{API}/messages/{message_id}/revisions", headers=meta), 404)
    assert "private" not in str(body)
    own = client.get(f"{API}/messages/{message_id}/revisions", headers=mina).get_json()
    assert [r["body"] for r in own["revisions"]] == ["private words"]


@pytest.mark.parametrize("label", ROLES)
def test_api_authorisation_for_every_role(client, run, cast, label):
    headers = bearer_for(run, label)
    member = label not in ("outsider", "admin")
    group_slug = run(
        lambda: (
            operations.create_channel(
                network(cast), actor=person("novice"), name="Small group", kind=ChannelKind.private
            ).slug
        )
    )
    group_message = post_as(run, cast, "novice", "private words", channel_slug=group_slug)
    open_message = post_as(run, cast, "novice", "open words")

    channels = client.get(f"{API}/networks/{cast.slug}/channels", headers=headers)
    assert channels.status_code == (403 if label == "outsider" else 200)
    if channels.status_code == 200:
        slugs = {c["slug"] for c in channels.get_json()}
        assert cast.general in slugs and (group_slug in slugs) == (label == "novice")

    messages = client.get(f"{API}/networks/{cast.slug}/channels/{cast.general}/messages", headers=headers)
    assert messages.status_code == (404 if label == "outsider" else 200)
    post = client.post(
        f"{API}/networks/{cast.slug}/channels/{cast.general}/messages", json={"body": "hi"}, headers=headers
    )
    assert post.status_code == (201 if member else 403 if label == "admin" else 404)
    group = client.get(f"{API}/messages/{group_message}", headers=headers)
    assert group.status_code == (200 if label == "novice" else 404)
    thread = client.get(f"{API}/messages/{open_message}", headers=headers)
    assert thread.status_code == (404 if label == "outsider" else 200)
    delete = client.delete(f"{API}/messages/{open_message}", headers=headers)
    assert delete.status_code == {
        "novice": 204, "coordinator": 204, "meta_mentor": 204, "outsider": 404
    }.get(label, 403)  # fmt: skip
    search = client.get(f"{API}/networks/{cast.slug}/conversations/search?q=words", headers=headers)
    assert search.status_code == (403 if label == "outsider" else 200)
    if search.status_code == 200:
        assert ("private words" in str(search.get_json())) == (label == "novice")
    dm = client.post(
        f"{API}/networks/{cast.slug}/direct",
        json={"person_ids": [cast.ids["novice"] if label != "novice" else cast.ids["office"]]},
        headers=headers,
    )
    assert dm.status_code == (201 if member else 403)
    create_open = client.post(
        f"{API}/networks/{cast.slug}/channels", json={"name": f"by {label}"}, headers=headers
    )
    assert create_open.status_code == (403 if label in ("novice", "outsider") else 201)


def test_api_needs_a_valid_token(client, cast):
    assert client.get(f"{API}/networks/{cast.slug}/channels").status_code == 401
    bad = {"Authorization": "Bearer nonsense-token"}
    assert client.post(f"{API}/messages/1/replies", json={"body": "x"}, headers=bad).status_code == 401


def test_the_demo_content_is_created_through_the_operations(run, cast, ctx):
    from network_service.conversations.demo import seed_demo
    from network_service.networks.models import Level, Role
    from tests.helpers import add_member

    net = network(cast)
    people = {
        "Coordinator": person("coordinator"),
        "Meta-Mentor": person("meta_mentor"),
        "Network office": person("office"),
        "Experienced mentor": add_member(
            net, "amira@example.org", "Amira Saleh", Role.mentor, Level.experienced
        ),
        "Novice mentor": person("novice"),
    }
    seed_demo(net, people)
    kinds = sorted(
        k.value for k in session.scalars(sa.select(Channel.kind).where(Channel.network_id == net.id))
    )
    assert kinds == ["direct", "open", "private"]
    assert session.scalar(sa.select(sa.func.count(Message.id))) == 9
    mentions = session.scalars(
        sa.select(Notification).where(Notification.kind == "conversations.mention")
    ).all()
    assert [n.person_id for n in mentions] == [people["Experienced mentor"].id]  # "@[Amira Saleh]"


def test_a_site_admin_reads_open_channels_but_does_not_write_in_them(client, run, cast):
    post_as(run, cast, "novice", "Visible to the admin")
    sign_in_as(client, run, EMAILS["admin"])
    page = client.get(f"{base(cast)}/c/{cast.general}").get_data(as_text=True)
    assert "Visible to the admin" in page and 'name="body"' not in page
    response = client.post(
        f"{base(cast)}/c/{cast.general}", data={"body": "hi", "csrf_token": csrf_from(page)}
    )
    assert response.status_code == 403
    assert client.get(f"{base(cast)}/direct/new").status_code == 403
    assert run(lambda: session.scalar(sa.select(sa.func.count(Message.id)))) == 1


def test_a_site_admin_may_open_an_open_channel_but_not_a_group(client, run, cast):
    sign_in_as(client, run, EMAILS["admin"])
    html = client.get(f"{base(cast)}/new").get_data(as_text=True)
    assert 'value="open"' in html and 'value="private"' not in html
    refused = post_form(client, f"{base(cast)}/new", {"name": "Admins' group", "kind": "private"})
    assert refused.status_code == 422
    created = post_form(client, f"{base(cast)}/new", {"name": "Announcements", "kind": "open"})
    assert created.status_code == 303 and created.headers["Location"].endswith("/c/announcements")


def test_reading_a_thread_does_not_mark_other_threads_read(client, run, cast):
    sign_in_as(client, run, EMAILS["novice"])
    client.get(f"{base(cast)}/c/{cast.general}")  # a read marker before anything was written
    first = post_as(run, cast, "experienced", "first thread")
    other = post_as(run, cast, "office", "another thread")
    post_as(run, cast, "experienced", "reply in the first thread", parent_id=first)
    client.get(f"{base(cast)}/threads/{first}")  # the marker stops before the other thread
    channel_id = run(
        lambda: session.scalar(
            sa.select(Channel.id).where(Channel.network_id == cast.network_id, Channel.slug == cast.general)
        )
    )
    assert run(lambda: operations.unread_counts(network(cast), person("novice"))) == {channel_id: 2}
    client.get(f"{base(cast)}/threads/{other}")
    assert run(lambda: operations.unread_counts(network(cast), person("novice"))) == {channel_id: 1}
    client.get(f"{base(cast)}/threads/{first}")
    assert run(lambda: operations.unread_counts(network(cast), person("novice"))) == {}


def test_every_new_network_starts_with_its_general_channel(run, world):
    channels = run(
        lambda: list(session.scalars(sa.select(Channel).where(Channel.network_id == world.network_id)))
    )
    assert [(c.slug, c.kind.value) for c in channels] == [("general", "open")]


def test_writing_moves_an_existing_read_marker_to_ones_message(client, run, cast):
    """The one-statement path of a post: the author has a marker already (read the channel before)."""
    sign_in_as(client, run, EMAILS["novice"])
    client.get(f"{base(cast)}/c/{cast.general}")  # the novice's marker exists now
    post_as(run, cast, "experienced", "one")
    mine = post_as(run, cast, "novice", "mine")  # the marker moves to it, past "one" (as reading would)
    post_as(run, cast, "experienced", "two")

    def state():
        channel_id = session.scalar(
            sa.select(Channel.id).where(Channel.network_id == cast.network_id, Channel.slug == cast.general)
        )
        marker = session.scalar(
            sa.select(ChannelMember.last_read_message_id).where(
                ChannelMember.channel_id == channel_id, ChannelMember.person_id == person("novice").id
            )
        )
        return marker, operations.unread_counts(network(cast), person("novice")).get(channel_id)

    marker, unread = run(state)
    assert unread == 1 and marker == mine


def test_a_posted_message_is_written_with_its_channel_and_read_without_a_statement(client, app, run, cast):
    """post_message writes the message and the channel's last_message_at with two statements and no ORM flush;
    the Message it returns (a new thread and a reply) is the stored row, and reading it asks the database nothing."""
    from tests.goals_roles import count_statements

    sign_in_as(client, run, EMAILS["novice"])
    client.get(f"{base(cast)}/c/{cast.general}")  # the novice's marker exists now

    def write(parent_id=None):
        channel = session.scalar(
            sa.select(Channel).where(Channel.network_id == cast.network_id, Channel.slug == cast.general)
        )
        parent = session.get(Message, parent_id) if parent_id else None
        with count_statements(app) as statements:
            message = operations.post_message(
                channel, actor=person("novice"), body="Hello *all*", parent=parent
            )
        written = list(statements)
        with count_statements(app) as reads:
            seen = {column.key: getattr(message, column.key) for column in Message.__table__.columns}
            seen["url"] = operations.thread_url(message)
            seen["author"] = message.author.name_or_email
        assert reads == [], reads
        assert channel.last_message_at == message.created_at
        return message.id, seen, written

    root = None
    for _reply in (False, True):
        message_id, seen, written = run(write, root)
        root = root or message_id
        # SQLite: INSERT and UPDATE; PostgreSQL: one WITH statement of both (and the writer's marker)
        sql = " ".join(" ".join(statement.split()) for statement in written)
        assert "INSERT INTO message " in sql and "UPDATE channel SET last_message_at" in sql, written
        assert not any(s.lstrip().startswith("SELECT message.") for s in written), written

        def stored(message_id=message_id):
            row = session.get(Message, message_id)
            return {column.key: getattr(row, column.key) for column in Message.__table__.columns}, (
                session.scalar(sa.select(Channel.last_message_at).where(Channel.id == row.channel_id))
            )

        row, last_message_at = run(stored)
        assert {key: value for key, value in seen.items() if key in row} == row
        assert last_message_at == row["created_at"]
        assert seen["author"] == "Mina Mentor" and seen["url"].endswith(f"#m{message_id}")
    assert run(lambda: session.get(Message, root).reply_count) == 1
