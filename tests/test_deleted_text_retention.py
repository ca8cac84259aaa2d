"""How long the text of a deleted message is kept (docs/privacy.md, "Deleted messages"): its author's deletion
drops it at once, unless an open report or a moderator's hiding holds it; a moderator's removal keeps it for
``DELETED_TEXT_RETENTION_DAYS``, and the daily job ``privacy.retention`` drops it then. Earlier versions of a
message that is not deleted stay."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from network_service.audit.models import AuditLog
from network_service.config import ConfigurationError, load_config
from network_service.conversations import operations as conversations
from network_service.conversations.models import Message, MessageRevision
from network_service.db import db, session, utcnow
from network_service.jobs import TICK_SECONDS, jobs_of, run_job
from network_service.moderation import operations as moderation
from network_service.moderation.models import Report
from tests.conv_helpers import EMAILS, base, build_cast, general_channel, person, post_form
from tests.helpers import sign_in_as

DROPPED = "The text of this deleted message is no longer kept."


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def post_as(run, cast, label: str, body: str) -> int:
    return run(lambda: conversations.post_message(general_channel(cast), actor=person(label), body=body).id)


def edit_as(run, label: str, message_id: int, body: str) -> None:
    run(lambda: conversations.edit_message(session.get(Message, message_id), actor=person(label), body=body))


def delete_as(run, label: str, message_id: int) -> None:
    run(lambda: conversations.delete_message(session.get(Message, message_id), actor=person(label)))


def report_as(run, label: str, message_id: int) -> int:
    return run(
        lambda: (
            moderation.report_message(
                session.get(Message, message_id), actor=person(label), reason="harassment", note="insults"
            ).id
        )
    )


def kept_texts(run, message_id: int) -> list[str]:
    """Read straight from the table: what the database still holds, whoever may see it."""
    return run(
        lambda: list(
            session.scalars(
                sa.select(MessageRevision.body)
                .where(MessageRevision.message_id == message_id)
                .order_by(MessageRevision.id)
            )
        )
    )


def deleted_days_ago(run, message_id: int, days: float) -> None:
    """Move the deletion back in time (the job compares it with the clock)."""

    def move():
        message = session.get(Message, message_id)
        message.deleted_at = utcnow() - dt.timedelta(days=days)

    run(move)


def run_retention_job(app) -> None:
    with app.test_request_context():
        assert run_job(app, "privacy.retention", force=True)


def retention_entries(run) -> list[dict]:
    return run(
        lambda: [
            e.detail
            for e in session.scalars(
                sa.select(AuditLog).where(AuditLog.action == "privacy.retention").order_by(AuditLog.id)
            )
            if "deleted_messages_texts_dropped" in e.detail
        ]
    )


def history_as(client, run, cast, label: str, message_id: int) -> str:
    sign_in_as(client, run, EMAILS[label])
    response = client.get(f"{base(cast)}/messages/{message_id}/history")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_authors_deletion_drops_the_text_and_its_earlier_versions_at_once(client, run, cast):
    message_id = post_as(run, cast, "novice", "My first words")
    edit_as(run, "novice", message_id, "My second words")
    untouched = post_as(run, cast, "novice", "Another message")
    edit_as(run, "novice", untouched, "Another message, edited")
    assert kept_texts(run, message_id) == ["My first words"]

    sign_in_as(client, run, EMAILS["novice"])
    channel = f"{base(cast)}/c/{cast.general}"
    assert post_form(client, channel, {}, f"{base(cast)}/messages/{message_id}/delete").status_code == 303

    assert kept_texts(run, message_id) == []
    message = run(lambda: session.get(Message, message_id))
    assert message.body == "" and message.deleted_at is not None
    assert kept_texts(run, untouched) == ["Another message"]  # an edit's history is not touched
    detail = run(
        lambda: session.scalar(
            sa.select(AuditLog.detail)
            .where(AuditLog.action == "conversations.message_delete")
            .order_by(AuditLog.id.desc())
        )
    )
    assert detail["by_author"] is True and detail["text_kept"] is False

    # the moderators' and the author's "Earlier versions" say so instead of an empty list
    for label in ("novice", "meta_mentor"):
        page = history_as(client.application.test_client(), run, cast, label, message_id)
        assert f'<p class="conv-note">{DROPPED}</p>' in page
        assert "My first words" not in page and "My second words" not in page


def test_a_moderators_removal_keeps_the_text_for_the_period_then_the_job_drops_it(app, client, run, cast):
    message_id = post_as(run, cast, "novice", "Rude words")
    edit_as(run, "novice", message_id, "Ruder words")
    old_edit = post_as(run, cast, "novice", "An old message")
    edit_as(run, "novice", old_edit, "An old message, edited long ago")
    run(
        lambda: session.execute(
            sa.update(MessageRevision).values(replaced_at=utcnow() - dt.timedelta(days=400))
        )
    )

    sign_in_as(client, run, EMAILS["meta_mentor"])
    channel = f"{base(cast)}/c/{cast.general}"
    assert post_form(client, channel, {}, f"{base(cast)}/messages/{message_id}/delete").status_code == 303
    assert kept_texts(run, message_id) == ["Rude words", "Ruder words"]
    page = history_as(client, run, cast, "meta_mentor", message_id)
    assert "Rude words" in page and "Ruder words" in page
    assert "These texts are kept for the author and the moderators until" in page and DROPPED not in page

    deleted_days_ago(run, message_id, 89)
    run_retention_job(app)
    assert kept_texts(run, message_id) == ["Rude words", "Ruder words"]  # within the period
    assert retention_entries(run) == []

    deleted_days_ago(run, message_id, 91)
    run_retention_job(app)
    assert kept_texts(run, message_id) == []
    assert kept_texts(run, old_edit) == ["An old message"]  # not deleted: its history stays, however old
    assert retention_entries(run) == [
        {"deleted_messages_texts_dropped": 1, "revisions_dropped": 2, "days": 90}
    ]
    page = history_as(client, run, cast, "meta_mentor", message_id)
    assert DROPPED in page and "Rude words" not in page

    run_retention_job(app)  # a second run finds nothing and records nothing
    assert kept_texts(run, old_edit) == ["An old message"]
    assert len(retention_entries(run)) == 1
    assert run(lambda: conversations.purge_deleted_texts()) == (0, 0)


def test_the_period_is_the_setting(app, run, cast, monkeypatch):
    monkeypatch.setitem(app.config, "DELETED_TEXT_RETENTION_DAYS", 7)
    older, newer = post_as(run, cast, "novice", "Older"), post_as(run, cast, "novice", "Newer")
    for message_id, days in ((older, 8), (newer, 6)):
        delete_as(run, "coordinator", message_id)
        deleted_days_ago(run, message_id, days)
    run_retention_job(app)
    assert kept_texts(run, older) == []
    assert kept_texts(run, newer) == ["Newer"]
    assert retention_entries(run)[-1]["days"] == 7


def test_an_open_report_holds_the_authors_deleted_text_until_it_is_closed(client, run, cast):
    message_id = post_as(run, cast, "experienced", "You are all useless")
    first = report_as(run, "novice", message_id)
    second = report_as(run, "office", message_id)
    edit_as(run, "experienced", message_id, "You are all useless, and worse")  # after the report
    delete_as(run, "experienced", message_id)
    assert kept_texts(run, message_id) == ["You are all useless", "You are all useless, and worse"]

    page = history_as(client, run, cast, "meta_mentor", message_id)
    assert "You are all useless, and worse" in page and "at the latest" in page

    close = f"/networks/{cast.slug}/moderation/reports/{first}"
    queue = f"/networks/{cast.slug}/moderation"
    assert post_form(client, queue, {"status": "dismissed"}, close).status_code == 303
    assert len(kept_texts(run, message_id)) == 2  # the other report is still open

    close = f"/networks/{cast.slug}/moderation/reports/{second}"
    assert (
        post_form(client, queue, {"status": "resolved", "resolution": "Spoke with Eva"}, close).status_code
        == 303
    )
    assert kept_texts(run, message_id) == []
    # the report keeps its own evidence, under the report's rules (until the reported person is erased)
    assert run(lambda: session.get(Report, second).snapshot_body) == "You are all useless"


def test_an_open_report_holds_the_text_no_longer_than_the_period(app, run, cast):
    message_id = post_as(run, cast, "experienced", "Reported words")
    report_as(run, "novice", message_id)
    delete_as(run, "experienced", message_id)
    run_retention_job(app)
    assert kept_texts(run, message_id) == ["Reported words"]
    deleted_days_ago(run, message_id, 91)
    run_retention_job(app)
    assert kept_texts(run, message_id) == []


def test_the_job_drops_what_a_closed_report_no_longer_holds(app, run, cast):
    """A report closed by a way that does not drop the text itself (here: its status written directly, as an
    older version of the code or a passed-on report leaves it) is caught by the daily job."""
    message_id = post_as(run, cast, "experienced", "Held words")
    report_id = report_as(run, "novice", message_id)
    delete_as(run, "experienced", message_id)
    run(lambda: session.execute(sa.update(Report).where(Report.id == report_id).values(status="resolved")))
    assert kept_texts(run, message_id) == ["Held words"]
    run_retention_job(app)
    assert kept_texts(run, message_id) == []


def test_a_message_a_moderator_hid_keeps_its_text_for_the_period_when_its_author_deletes_it(app, run, cast):
    message_id = post_as(run, cast, "experienced", "Hidden words")
    run(lambda: moderation.hide_message(session.get(Message, message_id), actor=person("coordinator")))
    delete_as(run, "experienced", message_id)
    run_retention_job(app)
    assert kept_texts(run, message_id) == ["Hidden words"]
    deleted_days_ago(run, message_id, 91)
    run_retention_job(app)
    assert kept_texts(run, message_id) == []


@pytest.mark.parametrize("raw", ["-1", "ninety", "1.5", "true"])
def test_a_retention_that_is_not_whole_days_is_refused(raw):
    with pytest.raises(ConfigurationError, match="DELETED_TEXT_RETENTION_DAYS"):
        load_config(environ={"MENTORNET_DELETED_TEXT_RETENTION_DAYS": raw})
    assert (
        load_config(environ={"MENTORNET_DELETED_TEXT_RETENTION_DAYS": "0"})["DELETED_TEXT_RETENTION_DAYS"]
        == 0
    )


def test_the_job_drops_every_batch(app, run, cast, monkeypatch):
    monkeypatch.setattr(conversations, "PURGE_BATCH", 2)
    ids = [post_as(run, cast, "novice", f"Removed {n}") for n in range(5)]
    for message_id in ids:
        delete_as(run, "coordinator", message_id)
        deleted_days_ago(run, message_id, 91)
    run_retention_job(app)
    assert [kept_texts(run, message_id) for message_id in ids] == [[]] * 5
    assert retention_entries(run)[-1]["deleted_messages_texts_dropped"] == 5


def test_kept_until_is_the_latest_moment_the_daily_job_drops_the_text(app, client, run, cast, monkeypatch):
    """The job drops a text at its first run after the period: up to one interval of the job (as registered in
    network_service/jobs.py), and the half minute the in-process scheduler takes to look, after the period ends.
    "Kept until ... at the latest" (the page, the API's ``deleted_text_kept_until``) is that moment, not the end
    of the period."""
    message_id = post_as(run, cast, "novice", "Removed words")
    delete_as(run, "coordinator", message_id)
    deleted_at = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)  # noon: the same date in any time zone

    def set_deleted_at():
        session.get(Message, message_id).deleted_at = deleted_at

    run(set_deleted_at)
    job = jobs_of(app)["privacy.retention"]
    slack = dt.timedelta(seconds=TICK_SECONDS)
    latest = deleted_at + dt.timedelta(days=90) + job.every + slack

    def kept_until():
        return conversations.deleted_text_kept_until(session.get(Message, message_id))

    assert run(kept_until) == latest
    page = history_as(client, run, cast, "meta_mentor", message_id)
    assert "until Jan 31, 2027" in page and "Jan 30, 2027" not in page

    # read from where the job is registered, not a fixed day
    monkeypatch.setitem(
        jobs_of(app), "privacy.retention", dataclasses.replace(job, every=dt.timedelta(hours=6))
    )
    assert run(kept_until) == deleted_at + dt.timedelta(days=90, hours=6) + slack
    monkeypatch.setitem(jobs_of(app), "privacy.retention", job)

    # a run at the very end of the period keeps it; the next one, however late, by then drops it
    end = deleted_at + dt.timedelta(days=90)
    assert run(lambda: conversations.purge_deleted_texts(now=end)) == (0, 0)
    assert kept_texts(run, message_id) == ["Removed words"]
    assert run(lambda: conversations.purge_deleted_texts(now=end + job.every + slack)) == (1, 1)
    assert kept_texts(run, message_id) == []


def test_the_job_pages_through_the_ids_and_reaches_every_batch(app, run, cast, monkeypatch):
    """Each batch starts after the last id of the one before (``message_id > last``), instead of scanning the
    table again from its start: every message meeting the condition is dropped exactly once, in id order, in
    batches of PURGE_BATCH, and the messages between them that keep their texts are not touched."""
    monkeypatch.setattr(conversations, "PURGE_BATCH", 2)
    targets, kept = [], []
    for n in range(7):
        message_id = post_as(run, cast, "novice", f"Words {n}")
        edit_as(run, "novice", message_id, f"Words {n}, edited")
        if n % 3 == 1:
            kept.append(message_id)  # not deleted: its earlier version stays
            continue
        delete_as(run, "coordinator", message_id)
        deleted_days_ago(run, message_id, 91)
        targets.append(message_id)
    assert len(targets) == 5

    deleted: list[list[int]] = []
    selects: list[str] = []

    def spy(_connection, _cursor, statement, parameters, _context, _many):
        text = " ".join(statement.split())
        if text.startswith("DELETE FROM message_revision"):
            values = parameters.values() if isinstance(parameters, dict) else parameters
            deleted.append(sorted(int(value) for value in values))
        elif text.startswith("SELECT DISTINCT message_revision.message_id"):
            selects.append(text)

    engine = db._state(app).engine
    event.listen(engine, "before_cursor_execute", spy)
    try:
        assert run(lambda: conversations.purge_deleted_texts()) == (5, 10)
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert deleted == [targets[0:2], targets[2:4], targets[4:5]]  # every batch, no id skipped or repeated
    assert "message_revision.message_id >" not in selects[0]
    assert selects[1:] and all("message_revision.message_id >" in select for select in selects[1:])
    assert [kept_texts(run, message_id) for message_id in targets] == [[]] * 5
    assert [kept_texts(run, message_id) for message_id in kept] == [[f"Words {n}"] for n in (1, 4)]
    assert run(lambda: conversations.purge_deleted_texts()) == (0, 0)
