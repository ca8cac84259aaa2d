"""The outbox: mail is stored with the change that causes it and leaves only through a real SMTP server."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from jinja2 import meta

from network_service.db import session, utcnow
from network_service.mail import operations as mail_ops
from network_service.mail.models import MailStatus, OutboundEmail
from tests.smtp import Inbox, SmtpServer, html_of, text_of


@pytest.fixture
def smtp(app):
    server = SmtpServer().start()
    app.config["SMTP_URL"] = server.url
    yield server
    app.config["SMTP_URL"] = None
    server.stop()


def _queue(to="someone@example.org"):
    return mail_ops.queue_mail(
        "sign_in",
        to,
        "sign_in",
        person=type("P", (), {"name_or_email": "Sam"})(),
        link="http://localhost/sign-in/abc",
        minutes=30,
    )


def test_queued_mail_is_delivered_by_smtp_and_its_body_is_not_kept(ctx, smtp):
    mail = _queue()
    session.commit()
    assert mail_ops.deliver_due() == 1
    [message] = smtp.inbox.wait_for(1)
    assert message["To"] == "someone@example.org"
    assert message["Subject"] == "Your sign-in link for mentorNET"
    assert "http://localhost/sign-in/abc" in text_of(message)
    assert message.is_multipart() and '<a href="http://localhost/sign-in/abc"' in html_of(message)
    session.refresh(mail)
    assert (mail.status, mail.delivered_to, mail.body_text) == (MailStatus.sent, "smtp", None)
    assert mail_ops.deliver_due() == 0  # nothing goes out twice


def test_mail_waits_while_smtp_is_down_and_goes_out_on_recovery(ctx, app):
    server = SmtpServer()  # not started: the port refuses connections
    app.config["SMTP_URL"] = server.url
    try:
        mail = _queue()
        session.commit()
        assert mail_ops.deliver_due() == 0
        session.refresh(mail)
        assert mail.status == MailStatus.pending and mail.attempts == 1
        assert "ConnectionRefused" in mail.last_error
        assert mail.next_attempt_at > utcnow() + dt.timedelta(seconds=20)  # backs off
        assert mail_ops.deliver_due() == 0  # not due yet

        server.start()
        mail.next_attempt_at = utcnow()
        session.commit()
        assert mail_ops.deliver_due() == 1
        server.inbox.wait_for(1)
        session.refresh(mail)
        assert mail.status == MailStatus.sent and mail.attempts == 2
    finally:
        server.stop()
        app.config["SMTP_URL"] = None


def test_mail_gives_up_after_the_configured_attempts(ctx, app):
    app.config["SMTP_URL"] = SmtpServer().url
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    try:
        mail = _queue()
        session.commit()
        for _attempt in range(2):
            mail_ops.deliver_due()
            mail.next_attempt_at = utcnow()
            session.commit()
        session.refresh(mail)
        assert mail.status == MailStatus.failed and mail.attempts == 2
    finally:
        app.config["SMTP_URL"] = None
        app.config["OUTBOX_MAX_ATTEMPTS"] = 12


def test_a_claimed_mail_is_not_sent_by_a_second_deliverer(ctx, smtp):
    mail = _queue()
    session.commit()
    assert mail_ops._claim([mail.id], utcnow()) == [mail]
    assert mail_ops._claim([mail.id], utcnow()) == []
    assert mail_ops.deliver_due() == 0
    assert smtp.inbox.messages == []


def test_a_claim_left_by_a_dead_deliverer_is_taken_over(ctx, smtp):
    mail = _queue()
    session.commit()
    assert mail_ops._claim([mail.id], utcnow()) == [mail]
    # ... by a deliverer that died: its claim is older than STALE_CLAIM
    mail.claimed_at = utcnow() - mail_ops.STALE_CLAIM - dt.timedelta(seconds=1)
    session.commit()
    assert mail_ops.deliver_due() == 1
    smtp.inbox.wait_for(1)


def test_mail_of_a_rolled_back_transaction_never_leaves(ctx, smtp):
    _queue()
    session.rollback()
    assert mail_ops.deliver_due() == 0
    assert session.scalar(sa.select(sa.func.count(OutboundEmail.id))) == 0


def test_retry_delay_grows_and_is_capped():
    delays = [mail_ops.retry_delay(n).total_seconds() for n in (1, 2, 3, 20)]
    assert delays == [30, 60, 120, 6 * 3600]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", ("smtp", "mail.example.org", 25, None, None)),
        (
            "smtp+starttls://u%40x:p%2Fw@mail.example.org",
            ("smtp+starttls", "mail.example.org", 587, "u@x", "p/w"),
        ),
        ("smtps://mail.example.org:2465", ("smtps", "mail.example.org", 2465, None, None)),
    ],
)
def test_smtp_url_forms(url, expected):
    transport = mail_ops.SmtpTransport(url, "from@example.org")
    assert (
        transport.scheme,
        transport.host,
        transport.port,
        transport.username,
        transport.password,
    ) == expected


def test_unknown_smtp_scheme_is_refused():
    with pytest.raises(ValueError, match="unsupported"):
        mail_ops.SmtpTransport("http://mail.example.org", "from@example.org")


def test_without_smtp_and_without_demo_mailbox_mail_waits(ctx, app):
    app.config["DEMO_MAILBOX"] = False
    try:
        mail = _queue()
        session.commit()
        assert mail_ops.deliver_due() == 0
        session.refresh(mail)
        assert mail.status == MailStatus.pending and mail.attempts == 0
    finally:
        app.config["DEMO_MAILBOX"] = True


def test_failed_mail_can_be_queued_again(ctx, smtp):
    mail = _queue()
    mail.status, mail.attempts = MailStatus.failed, 30
    session.commit()
    assert mail_ops.deliver_due() == 0
    assert mail_ops.requeue_failed() == 1
    session.commit()
    assert mail_ops.deliver_due() == 1
    smtp.inbox.wait_for(1)


MAIL_TEMPLATES = sorted(
    {
        path.stem
        for path in (Path(mail_ops.__file__).parent.parent / "templates" / "mail").glob("*.txt")
        if not path.stem.startswith("_")
    }
)


def test_mail_templates_need_nothing_from_the_pages_context_processors(app):
    """Mails are rendered without the context processors (``render_mail``): a mail template may use what its
    caller gives and the language and direction of the layout, not what the processors give pages."""
    with app.test_request_context():
        from_processors = {}
        app.update_template_context(from_processors)
    allowed = {"page_language", "page_direction"}
    environment = app.jinja_env
    used = set()
    for name in environment.list_templates(filter_func=lambda name: name.startswith("mail/")):
        if name == "mail/mailbox.html":  # the demo's mailbox is a page, not a mail
            continue
        source = environment.loader.get_source(environment, name)[0]
        used |= {
            (name, variable)
            for variable in meta.find_undeclared_variables(environment.parse(source))
            if variable in set(from_processors) - allowed and variable not in environment.globals
        }
    assert not used


@pytest.mark.parametrize("locale", ["en", "de", "ar"])
def test_render_mail_renders_every_mail_as_render_template_would(ctx, app, locale):
    """``render_mail`` skips render_template's context processors and binds gettext to one catalogue: the
    result must be the very same text and HTML, in every language and direction."""
    person = type("P", (), {"name_or_email": "Sam <&> Smith", "email": "sam@example.org"})()
    network = type("N", (), {"name": "Net & <Work>", "organisation": type("O", (), {"name": 'Org "A"'})()})()
    context = {
        "person": person,
        "network": network,
        "network_name": "Net & <Work>",
        "inviter": type("I", (), {"display_name": "Ina", "name_or_email": "Ina"})(),
        "link": "http://localhost/x?a=1&b=<2>",
        "settings_link": "http://localhost/settings",
        "unsubscribe_link": "http://localhost/unsubscribe/abc",
        "days": 30,
        "minutes": 30,
        "expires_at": dt.datetime(2026, 12, 24, 18, 30, tzinfo=dt.UTC),
        "accepted": True,
        "message": "Welcome & <b>hello</b>",
        "title": "A title & <more>",
        "weekly": True,
        "count": 3,
        "more": 2,
        "groups": [
            SimpleNamespace(
                network_name="Net", items=[SimpleNamespace(title="T & <1>", when="today", link="http://l/1")]
            ),
            SimpleNamespace(network_name="", items=[]),
        ],
    }
    from flask import render_template
    from flask_babel import force_locale

    for template in MAIL_TEMPLATES:
        rendered = mail_ops.render_mail(template, locale, **context)
        with force_locale(locale):
            text = render_template(f"mail/{template}.txt", **context).strip()
            subject, _, body = text.partition("\n")
            html = render_template(f"mail/{template}.html", **{**context, "subject": subject.strip()})
        assert (rendered.subject, rendered.body_text, rendered.body_html) == (
            subject.strip(),
            body.strip() + "\n",
            html,
        ), template
        assert rendered.subject and rendered.body_html
    if locale == "ar":
        assert 'dir="rtl"' in rendered.body_html


class _Picky(Inbox):
    """Refuses one recipient for good (550) and answers one message "421 closing" (smtplib then hangs up)."""

    refused = "refused@example.org"
    closing = "closing@example.org"

    def __init__(self):
        super().__init__()
        self.rcpt_peers: set[tuple] = set()  # every connection that asked for a recipient, refused or not

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        self.rcpt_peers.add(session.peer)
        if address == self.refused:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if envelope.rcpt_tos == [self.closing]:
            return "421 closing the connection"
        return await super().handle_DATA(server, session, envelope)


def _status(mail_id: int) -> tuple:
    mail = session.get(OutboundEmail, mail_id, populate_existing=True)
    return mail.status, mail.attempts


def test_a_batch_of_mail_goes_out_over_one_connection(ctx, smtp):
    mails = [_queue(f"person{n}@example.org") for n in range(5)]
    session.commit()
    ids = [mail.id for mail in mails]
    assert mail_ops.deliver_due() == 5
    smtp.inbox.wait_for(5)
    assert sorted(message["To"] for message in smtp.inbox.messages) == [
        f"person{n}@example.org" for n in range(5)
    ]
    assert smtp.inbox.connections() == 1
    assert [_status(mail_id) for mail_id in ids] == [(MailStatus.sent, 1)] * 5


def test_a_connection_carries_at_most_its_share_of_mails(ctx, smtp, monkeypatch):
    monkeypatch.setattr(mail_ops.SmtpTransport, "MAILS_PER_CONNECTION", 2)
    for n in range(5):
        _queue(f"person{n}@example.org")
    session.commit()
    assert mail_ops.deliver_due() == 5
    smtp.inbox.wait_for(5)
    assert smtp.inbox.connections() == 3


def test_a_refused_mail_counts_alone_and_the_connection_goes_on(ctx, app):
    server = SmtpServer(inbox=_Picky()).start()
    app.config["SMTP_URL"] = server.url
    try:
        mails = [
            _queue(to) for to in ("first@example.org", _Picky.refused, _Picky.closing, "last@example.org")
        ]
        session.commit()
        first, refused, closing, last = (mail.id for mail in mails)
        assert mail_ops.deliver_due() == 2
        assert [message["To"] for message in server.inbox.messages] == [
            "first@example.org",
            "last@example.org",
        ]
        # the 550 left the connection usable; the 421 made the client hang up, and "last" went over a new one
        assert len(server.inbox.rcpt_peers) == 2
        assert _status(first) == _status(last) == (MailStatus.sent, 1)
        assert _status(refused) == _status(closing) == (MailStatus.pending, 1)
        errors = {mail_id: session.get(OutboundEmail, mail_id).last_error for mail_id in (refused, closing)}
        assert "SMTPRecipientsRefused" in errors[refused] and "421" in errors[closing]
    finally:
        server.stop()
        app.config["SMTP_URL"] = None


def test_a_connection_the_server_closed_is_replaced_before_sending(ctx, smtp, app):
    one, two = _queue("one@example.org"), _queue("two@example.org")
    session.commit()
    with mail_ops.SmtpTransport(smtp.url, app.config["MAIL_FROM"], timeout=30) as transport:
        transport.send(one)
        smtp.stop()  # the server goes away and comes back: the kept connection is dead
        smtp.start()
        transport.send(two)
    assert [message["To"] for message in smtp.inbox.wait_for(2)] == ["one@example.org", "two@example.org"]
    assert smtp.inbox.connections() == 2


class _Slow(Inbox):
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(0.4)
        return await super().handle_DATA(server, session, envelope)


def test_a_slow_server_gets_the_rest_of_a_batch_back_in_the_outbox(ctx, app, monkeypatch):
    # a claim older than STALE_CLAIM is another deliverer's to take: a batch that takes half of it stops sending
    monkeypatch.setattr(mail_ops, "STALE_CLAIM", dt.timedelta(seconds=0.5))
    monkeypatch.setattr(mail_ops, "_ROUND_TRIPS_PER_MAIL", 0)  # the window is then half the claim: 0.25 s
    server = SmtpServer(inbox=_Slow()).start()
    app.config["SMTP_URL"] = server.url
    try:
        mails = [_queue(f"person{n}@example.org") for n in range(4)]
        session.commit()
        ids = [mail.id for mail in mails]
        sent = mail_ops.deliver_due()
        assert 1 <= sent < 4
        statuses = [_status(mail_id) for mail_id in ids]
        assert statuses[:sent] == [(MailStatus.sent, 1)] * sent
        # given back untouched: no attempt counted, no claim left, due at once
        assert statuses[sent:] == [(MailStatus.pending, 0)] * (4 - sent)
        assert all(session.get(OutboundEmail, mail_id).claimed_at is None for mail_id in ids[sent:])
        while mail_ops.deliver_due():
            pass
        server.inbox.wait_for(4)
        assert sorted(message["To"] for message in server.inbox.messages) == [
            f"person{n}@example.org" for n in range(4)
        ]
    finally:
        server.stop()
        app.config["SMTP_URL"] = None


def test_a_mail_erased_while_it_is_sent_leaves_the_rest_of_its_batch_going(ctx, smtp, monkeypatch):
    # an erasure deletes the person's mails whatever their status (privacy: the outbox eraser)
    mails = [_queue(f"person{n}@example.org") for n in range(4)]
    session.commit()
    ids = [mail.id for mail in mails]
    send = mail_ops.SmtpTransport.send

    def send_then_erase(transport, mail):
        send(transport, mail)
        if mail.id == ids[0]:
            session.execute(sa.delete(OutboundEmail).where(OutboundEmail.id == mail.id))

    monkeypatch.setattr(mail_ops.SmtpTransport, "send", send_then_erase)
    assert mail_ops.deliver_due() == 3  # the erased one is not counted, and nothing stops
    assert session.get(OutboundEmail, ids[0]) is None
    assert [_status(mail_id) for mail_id in ids[1:]] == [(MailStatus.sent, 1)] * 3


def test_a_database_failure_between_mails_gives_the_rest_back_at_once(ctx, smtp, monkeypatch):
    mails = [_queue(f"person{n}@example.org") for n in range(4)]
    session.commit()
    ids = [mail.id for mail in mails]
    record = mail_ops._record

    def failing_on_the_second(mail, claimed_at, **values):
        if mail.id == ids[1]:
            raise sa.exc.OperationalError(
                "UPDATE outbound_email", {}, Exception("server closed the connection")
            )
        return record(mail, claimed_at, **values)

    monkeypatch.setattr(mail_ops, "_record", failing_on_the_second)
    with pytest.raises(sa.exc.OperationalError):
        mail_ops.deliver_due()
    assert _status(ids[0]) == (MailStatus.sent, 1)
    # the one that failed waits for its claim to go stale (it may have left); the others wait for nothing
    assert _status(ids[1]) == (MailStatus.sending, 0)
    assert [_status(mail_id) for mail_id in ids[2:]] == [(MailStatus.pending, 0)] * 2
    assert all(session.get(OutboundEmail, mail_id).claimed_at is None for mail_id in ids[2:])


def test_a_mail_another_deliverer_put_off_is_not_claimed_before_its_time(ctx, smtp):
    mail = _queue()
    session.commit()
    mail.next_attempt_at = utcnow() + dt.timedelta(minutes=5)  # failed meanwhile, by another deliverer
    session.commit()
    assert mail_ops._claim([mail.id], utcnow()) == []
    assert _status(mail.id) == (MailStatus.pending, 0)


def test_with_a_long_smtp_timeout_mails_are_claimed_one_at_a_time(ctx, smtp, app, monkeypatch):
    # 12 round trips of 60 s may outlast half the claim: each mail is claimed alone, as before batches
    assert mail_ops._sending_window(mail_ops.SmtpTransport(smtp.url, "x@example.org", timeout=15)) == (
        mail_ops.STALE_CLAIM / 2
    )
    assert mail_ops._sending_window(mail_ops.SmtpTransport(smtp.url, "x@example.org", timeout=60)) == (
        dt.timedelta(0)
    )
    claims = []
    claim = mail_ops._claim
    monkeypatch.setattr(mail_ops, "_claim", lambda ids, now: claims.append(len(ids)) or claim(ids, now))
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 60)
    for n in range(3):
        _queue(f"person{n}@example.org")
    session.commit()
    assert mail_ops.deliver_due() == 3
    assert claims == [1, 1, 1]


def test_the_outcome_of_a_mail_another_deliverer_took_over_is_not_written(ctx, smtp, monkeypatch):
    # a server so slow that the claim went stale: another deliverer has the mail now, and its outcome counts
    mail = _queue()
    session.commit()
    send = mail_ops.SmtpTransport.send
    theirs = utcnow() + dt.timedelta(seconds=1)

    def send_while_taken_over(transport, sent):
        send(transport, sent)
        session.execute(sa.update(OutboundEmail).where(OutboundEmail.id == sent.id).values(claimed_at=theirs))

    monkeypatch.setattr(mail_ops.SmtpTransport, "send", send_while_taken_over)
    assert mail_ops.deliver_due() == 0
    taken = session.get(OutboundEmail, mail.id, populate_existing=True)
    assert (taken.status, taken.attempts, taken.claimed_at) == (MailStatus.sending, 0, theirs)
