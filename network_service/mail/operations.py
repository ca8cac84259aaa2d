from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, get_locale, get_translations
from jinja2 import TemplateNotFound, pass_context
from markupsafe import Markup

from network_service.background import wake_after_commit
from network_service.db import session, utcnow
from network_service.i18n import RTL_LANGUAGES
from network_service.mail.models import MailStatus, OutboundEmail

log = logging.getLogger(__name__)

# Lines up to RFC 5322's limit of 998 characters: a long header with nowhere to fold, like List-Unsubscribe's
# <https://...> address, must stay one readable line (the default, 78, would turn it into encoded words that
# mail programs no longer recognise as a link).
MESSAGE_POLICY = policy.default.clone(max_line_length=998)

# A claim older than this belongs to a deliverer that died mid-send; the mail goes back to the queue.
STALE_CLAIM = dt.timedelta(minutes=10)


# Headers the transport writes itself; a caller's ``headers`` may not replace them.
RESERVED_HEADERS = {
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "message-id",
    "auto-submitted",
    "content-type",
    "content-transfer-encoding",
    "mime-version",
    "date",
    "sender",
    "reply-to",
}


def _checked_headers(headers: dict[str, str] | None) -> dict[str, str] | None:
    if not headers:
        return None
    for name, value in headers.items():
        if name.lower() in RESERVED_HEADERS or not name.replace("-", "").isalnum():
            raise ValueError(f"header {name!r} cannot be set on a queued mail")
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {name!r} has a line break in its value")
    return dict(headers)


@dataclasses.dataclass(frozen=True)
class RenderedMail:
    subject: str
    body_text: str
    body_html: str | None


def render_mail(template: str, locale: str | None = None, **context) -> RenderedMail:
    """``mail/<template>.txt`` (its first line is the subject) and ``mail/<template>.html`` when it exists, in
    ``locale`` (else the site's default language).

    A mail is rendered from what its caller gives, the page's language and direction (for the layout's
    ``lang`` and ``dir``), and the application's template globals: not through ``render_template``, whose
    context processors serve pages (the signed-in person, navigation, labels) and cost more than the mail
    itself when graduates are invited by the hundred. The translations are looked up once per mail, not once
    per string. ``tests/test_mail.py`` checks that this renders every mail exactly as ``render_template``
    would.
    """
    environment = current_app.jinja_env
    with force_locale(locale or current_app.config["DEFAULT_LOCALE"]):
        locale_ = get_locale()
        language = locale_.language if locale_ else "en"
        context = {  # as with render_template, what the caller gives wins
            **_gettext_callables(get_translations()),
            "page_language": language,
            "page_direction": "rtl" if language in RTL_LANGUAGES else "ltr",
            **context,
        }
        rendered = environment.get_template(f"mail/{template}.txt").render(context).strip()
        subject, _, body = rendered.partition("\n")
        subject = subject.strip()
        try:
            html_template = environment.get_template(f"mail/{template}.html")
        except TemplateNotFound:
            html = None
        else:
            html = html_template.render({**context, "subject": subject})
    return RenderedMail(subject, body.strip() + "\n", html)


def _gettext_callables(translations) -> dict:
    """Jinja's "newstyle" gettext functions (``jinja2.ext``: the result is a format string, escaped where the
    template autoescapes), bound to one catalogue instead of Flask-Babel's lookup of the current one per call."""

    def finish(context, text: str, variables: dict) -> str:
        # a translated message is markup of ours; the variables it is formatted with are escaped by Markup
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables  # noqa: S704  # nosec B704  # our catalogue's message, as jinja2.ext does

    @pass_context
    def gettext(__context, __string, **variables):
        return finish(__context, translations.ugettext(__string), variables)

    @pass_context
    def ngettext(__context, __singular, __plural, __num, **variables):
        variables.setdefault("num", __num)
        return finish(__context, translations.ungettext(__singular, __plural, __num), variables)

    @pass_context
    def pgettext(__context, __string_ctx, __string, **variables):
        variables.setdefault("context", __string_ctx)
        return finish(__context, translations.upgettext(__string_ctx, __string), variables)

    @pass_context
    def npgettext(__context, __string_ctx, __singular, __plural, __num, **variables):
        variables.setdefault("context", __string_ctx)
        variables.setdefault("num", __num)
        text = translations.unpgettext(__string_ctx, __singular, __plural, __num)
        return finish(__context, text, variables)

    # ``_`` is Jinja's alias that looks ``gettext`` up in the context on every call: given directly here
    return {
        "gettext": gettext,
        "_": gettext,
        "ngettext": ngettext,
        "pgettext": pgettext,
        "npgettext": npgettext,
    }


def queue_mail(
    kind: str,
    to_address: str,
    template: str,
    locale: str | None = None,
    headers: dict[str, str] | None = None,
    **context,
) -> OutboundEmail:
    """Render ``mail/<template>.txt`` (and ``.html`` when it exists) in the recipient's language into the outbox.

    The first line of the text template is the subject. Nothing is sent here: the mail leaves only after the
    surrounding transaction commits (see ``deliver_due``). ``headers`` are extra header fields for the SMTP
    message (e.g. ``List-Unsubscribe``); the ones the transport writes itself are refused.
    """
    headers = _checked_headers(headers)
    rendered = render_mail(template, locale, **context)
    mail = OutboundEmail(
        kind=kind,
        to_address=to_address,
        subject=rendered.subject,
        body_text=rendered.body_text,
        body_html=rendered.body_html,
        headers=headers,
    )
    session.add(mail)
    wake_after_commit()
    return mail


class SmtpTransport:
    """Sends through the server named by an ``smtp://``, ``smtp+starttls://`` or ``smtps://`` URL."""

    def __init__(self, url: str, sender: str, timeout: float = 15):
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps", "smtp+starttls"}:
            raise ValueError(f"unsupported SMTP URL scheme {parts.scheme!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or {"smtp": 25, "smtps": 465, "smtp+starttls": 587}[parts.scheme]
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout
        self._client: smtplib.SMTP | None = None
        self._sent_on_connection = 0

    # Mails sent over one connection before it is closed and a new one opened (servers limit it, often to 100).
    MAILS_PER_CONNECTION = 50

    def send(self, mail: OutboundEmail) -> None:
        """Send one mail over the transport's connection, opening it (or a new one) when needed.

        A connection is kept for the next mail of the same batch (``close`` ends it): a batch of invitations opens
        one connection, not one each. Before a kept connection is used again it is asked for ``NOOP``; one the
        server has closed meanwhile is replaced before anything of the mail is sent, so a mail is never sent twice
        because of it. Any failure while sending counts against that mail only (the caller records it) and drops
        the connection, unless the server refused the mail and reset the transaction (smtplib sends ``RSET``)."""
        message = EmailMessage(policy=MESSAGE_POLICY)
        message["From"] = self.sender
        message["To"] = mail.to_address
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain="mentornet")
        message["Auto-Submitted"] = "auto-generated"
        for name, value in (mail.headers or {}).items():
            if name.lower() not in RESERVED_HEADERS:
                message[name] = value
        message.set_content(mail.body_text or "")
        if mail.body_html:
            message.add_alternative(mail.body_html, subtype="html")
        client = self._connection()
        try:
            client.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError):
            # refused by the server, which reset the transaction: the connection stays for the next mail (after a
            # "421 closing" smtplib has hung up, and the next mail's NOOP check replaces it)
            raise
        except BaseException:
            self.close()  # a timeout or a broken connection: its state is unknown, never reuse it
            raise
        self._sent_on_connection += 1
        if self._sent_on_connection >= self.MAILS_PER_CONNECTION:
            self.close()

    def _connection(self) -> smtplib.SMTP:
        client = self._client
        if client is not None:
            try:
                if client.noop()[0] == 250:
                    return client
            except (smtplib.SMTPException, OSError):
                pass
            self.close()  # closed by the server while idle: open a new one
        if self.scheme == "smtps":
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
        except BaseException:
            _quit(client)
            raise
        self._client, self._sent_on_connection = client, 0
        return client

    def close(self) -> None:
        """End the kept connection, if any (``QUIT``; a connection already broken is just closed)."""
        client, self._client = self._client, None
        if client is not None:
            _quit(client)

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _claim(mail_ids: list[int], now: dt.datetime) -> list[OutboundEmail]:
    """Atomically take these mails for delivery, so two deliverers never send the same mail: the ones still
    waiting (or abandoned by a deliverer that died), as claimed (the same statement returns them), in id order.
    Mails another deliverer has, or that left the outbox, are left out. Committed."""
    if not mail_ids:
        return []
    mails = session.scalars(
        sa.update(OutboundEmail)
        .where(OutboundEmail.id.in_(mail_ids))
        .where(
            sa.or_(
                # still due: another deliverer may have failed it (and set a later attempt) since it was read
                sa.and_(OutboundEmail.status == MailStatus.pending, OutboundEmail.next_attempt_at <= now),
                sa.and_(
                    OutboundEmail.status == MailStatus.sending, OutboundEmail.claimed_at < now - STALE_CLAIM
                ),
            )
        )
        .values(status=MailStatus.sending, claimed_at=now)
        .returning(OutboundEmail)
    ).all()
    session.commit()
    return sorted(mails, key=lambda mail: mail.id)


def _release(mails: list[OutboundEmail], claimed_at: dt.datetime) -> None:
    """Give claimed, unsent mails back to the outbox (only while the claim is still this deliverer's)."""
    session.execute(
        sa.update(OutboundEmail)
        .where(
            OutboundEmail.id.in_([mail.id for mail in mails]),
            OutboundEmail.status == MailStatus.sending,
            OutboundEmail.claimed_at == claimed_at,
        )
        .values(status=MailStatus.pending, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential back-off: 30 s, 1 min, 2 min, ... capped at 6 hours."""
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


_WHEN = OutboundEmail.__table__.c.next_attempt_at.type
# The mails due now, built once (the drain asks after every commit that left mail behind).
_DUE = (
    sa.select(OutboundEmail.id)
    .where(
        sa.or_(
            sa.and_(
                OutboundEmail.status == MailStatus.pending,
                OutboundEmail.next_attempt_at <= sa.bindparam("now", type_=_WHEN),
            ),
            sa.and_(
                OutboundEmail.status == MailStatus.sending,
                OutboundEmail.claimed_at < sa.bindparam("stale", type_=_WHEN),
            ),
        )
    )
    .order_by(OutboundEmail.id)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


def deliver_due(limit: int = 50) -> int:
    """Deliver the mails that are due; commit after each one. Returns how many left the outbox.

    Without ``SMTP_URL`` the mail is delivered to the local mailbox (the demo's /mailbox page) instead. Mails are
    claimed ``CLAIM_BATCH`` at a time (one statement) and sent over one SMTP connection.
    """
    config = current_app.config
    transport = (
        SmtpTransport(config["SMTP_URL"], config["MAIL_FROM"], timeout=float(config["SMTP_TIMEOUT"]))
        if config["SMTP_URL"]
        else None
    )
    if transport is None and not config["DEMO_MAILBOX"]:
        # Nowhere to deliver: keep every mail waiting until MENTORNET_SMTP_URL is set.
        log.warning("MENTORNET_SMTP_URL is not set: e-mails wait in the outbox")
        return 0
    now = utcnow()
    due_ids = session.scalars(_DUE, {"now": now, "stale": now - STALE_CLAIM, "limit": limit}).all()
    session.rollback()  # end the read transaction before the slow part
    delivered = 0
    window = _sending_window(transport)
    # a timeout so long that one mail may outlast the claim: each mail claimed alone
    batch = CLAIM_BATCH if window else 1
    try:
        for first in range(0, len(due_ids), batch):
            claimed_at = utcnow()
            mails = _claim(due_ids[first : first + batch], claimed_at)
            last_start = claimed_at + window
            for index, mail in enumerate(mails):
                if index and utcnow() > last_start:
                    # a slow server: give the rest back before another deliverer could take them as abandoned
                    _release(mails[index:], claimed_at)
                    return delivered
                try:
                    delivered += _deliver(mail, claimed_at, transport, config)
                    session.commit()
                except BaseException:
                    # the database failed between two mails: the rest of the batch goes back to the outbox at
                    # once (not after STALE_CLAIM), if the database lets us
                    with contextlib.suppress(Exception):  # the first failure is the one to tell
                        session.rollback()
                        _release(mails[index + 1 :], claimed_at)
                    raise
    finally:
        if transport is not None:
            transport.close()
    return delivered


# Mails claimed by one statement. A claim older than STALE_CLAIM is taken over by another deliverer, so a batch
# stops starting new mails in time for the last one to end before that (``_sending_window``) and gives the rest
# back.
CLAIM_BATCH = 10
# The SMTP round trips of one mail (connect or NOOP, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, the message, QUIT),
# each of which may take up to SMTP_TIMEOUT.
_ROUND_TRIPS_PER_MAIL = 12


def _sending_window(transport: SmtpTransport | None) -> dt.timedelta:
    """How long after its claim a batch may start sending another mail: the claim must still be ours when that
    mail's last round trip ends. The first mail of a batch is always sent (as when each mail was claimed alone,
    whatever the timeout)."""
    slowest_mail = dt.timedelta(seconds=_ROUND_TRIPS_PER_MAIL * (transport.timeout if transport else 0))
    return max(dt.timedelta(0), min(STALE_CLAIM / 2, STALE_CLAIM - slowest_mail))


def _deliver(mail: OutboundEmail, claimed_at: dt.datetime, transport: SmtpTransport | None, config) -> int:
    """Send one claimed mail and record the outcome (not committed); 1 when it left the outbox.

    The outcome is written only while the claim is still this deliverer's (status ``sending``, the same
    ``claimed_at``): a mail erased meanwhile (its recipient's account), or taken over by another deliverer after
    a very slow server, is left as it is."""
    try:
        if transport is not None:
            transport.send(mail)
    except Exception as exc:  # any failure counts as an attempt; the mail stays in the outbox
        attempts = mail.attempts + 1
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
            outcome = {"status": MailStatus.failed}
            log.error("giving up on mail %s to %s: %s", mail.id, mail.to_address, error)
        else:
            outcome = {"status": MailStatus.pending, "next_attempt_at": utcnow() + retry_delay(attempts)}
            log.warning("mail %s not delivered (attempt %s): %s", mail.id, attempts, error)
        _record(mail, claimed_at, attempts=attempts, last_error=error, **outcome)
        return 0
    outcome = {"status": MailStatus.sent, "sent_at": utcnow(), "last_error": ""}
    if transport is not None:
        # The body holds single-use links (and the headers unsubscribe links); once the recipient's server has
        # it, we need not keep it.
        outcome.update(delivered_to="smtp", body_text=None, body_html=None, headers=None)
    else:
        outcome["delivered_to"] = "mailbox"
    return 1 if _record(mail, claimed_at, attempts=mail.attempts + 1, **outcome) else 0


def _record(mail: OutboundEmail, claimed_at: dt.datetime, **values) -> bool:
    """Write a claimed mail's outcome if the claim is still ours; whether it was."""
    written = session.execute(
        sa.update(OutboundEmail)
        .where(
            OutboundEmail.id == mail.id,
            OutboundEmail.status == MailStatus.sending,
            OutboundEmail.claimed_at == claimed_at,
        )
        .values(**values)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if not written:
        log.warning(
            "mail %s left the outbox or was taken over while being sent: outcome not recorded", mail.id
        )
    return bool(written)


def requeue_failed() -> int:
    """Give the mails that ran out of attempts a fresh start (after a long outage has been fixed)."""
    result = session.execute(
        sa.update(OutboundEmail)
        .where(OutboundEmail.status == MailStatus.failed)
        .values(status=MailStatus.pending, attempts=0, next_attempt_at=utcnow())
    )
    wake_after_commit()
    return result.rowcount
