"""``notify`` is how every module tells members about something; the rest of the module shows and mails it.

A module registers each kind of notification once, with the function that words it::

    register_kind("help.matched", lambda p: _("%(author)s asks for help: %(topic)s", **p))

and calls ``notify(recipients, "help.matched", network=..., url=..., actor=..., author=..., topic=...)`` in the
operation's transaction. The wording runs when the notification is shown or mailed, in the reader's language,
so ``params`` hold names and titles, never finished sentences.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from babel.dates import format_datetime as babel_format_datetime
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import joinedload

from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.db import flushed_connection, session, utcnow
from network_service.errors import InvalidInput, NotFound
from network_service.mail.operations import queue_mail
from network_service.notifications.models import (
    DEFAULT_FREQUENCY,
    EmailFrequency,
    Notification,
    NotificationSetting,
)
from network_service.urls import public_url

log = logging.getLogger(__name__)

PAGE_SIZE = 30
MAX_PAGE_SIZE = 50
DIGEST_ITEMS = 50  # a digest lists at most this many notifications and counts the rest


@dataclass(frozen=True)
class Kind:
    name: str
    title: Callable[[dict], str]  # called under the reader's locale with the notification's params


_KINDS: dict[str, Kind] = {}


def register_kind(name: str, title: Callable[[dict], str]) -> None:
    _KINDS[name] = Kind(name, title)


def title_of(notification: Notification) -> str:
    kind = _KINDS.get(notification.kind)
    if kind is None:  # a kind whose module was removed: still shows, plainly
        return notification.kind
    return kind.title(dict(notification.params or {}))


def notify(
    recipients: Iterable[Person | None],
    kind: str,
    *,
    url: str,
    network=None,
    actor: Person | None = None,
    email: bool = True,
    **params,
) -> list[Notification]:
    """One notification per distinct recipient (never the actor); members who chose "immediately" get an
    e-mail queued in the same transaction, unless ``email`` is False because the caller mails them itself (a
    decision with a personal message, say: one e-mail, not two). Returns the notifications created."""
    if kind not in _KINDS:
        raise ValueError(f"unregistered notification kind {kind!r}")
    if not is_local_path(url):
        raise ValueError(f"a notification links to a path on this service, not {url!r}")
    seen: set[int] = set()
    people: list[Person] = []
    for person in recipients:
        if person is None or person.id is None or person.id in seen:
            continue
        if actor is not None and person.id == actor.id:
            continue
        seen.add(person.id)
        people.append(person)
    if not people:
        return []
    # Who is mailed at once is known before the rows are written: they are inserted already marked as mailed
    # (one INSERT, no UPDATE afterwards).
    immediate = frequencies([p.id for p in people]) if email else {}
    now = utcnow()
    created: list[Notification] = []
    to_mail: list[Notification] = []
    for person in people:
        mailed = immediate.get(person.id) == EmailFrequency.immediately and bool(person.email)
        notification = Notification(
            person=person,
            network_id=getattr(network, "id", None),
            actor_id=getattr(actor, "id", None),
            kind=kind,
            params=params,
            url=url,
            created_at=now,
            mailed_at=now if mailed else None,
        )
        created.append(notification)
        if mailed:
            to_mail.append(notification)
    session.add_all(created)
    session.flush()
    for notification in to_mail:
        mail_now(notification)
    return created


def frequencies(person_ids: list[int]) -> dict[int, EmailFrequency]:
    """Each person's e-mail choice, the default where they made none, never where they withdrew consent to
    notification e-mails (one query)."""
    rows = session.execute(_frequencies_query(), {"person_ids": list(person_ids)}).all()
    result = dict.fromkeys(person_ids, DEFAULT_FREQUENCY)
    for pid, frequency, withdrawn in rows:
        if withdrawn:  # consent withdrawn: no notification e-mail
            result[pid] = EmailFrequency.never
        elif frequency is not None:
            result[pid] = frequency
    return result


@functools.cache
def _frequencies_query() -> sa.Select:
    """(person id, e-mail choice or NULL, consent to notification e-mails withdrawn?), built once."""
    from network_service.privacy.operations import EMAIL_NOTIFICATIONS, withdrawn_flag

    chosen = (
        sa.select(NotificationSetting.email_frequency)
        .where(NotificationSetting.person_id == Person.id)
        .scalar_subquery()
    )
    # each recipient's latest record by the index, not everyone's latest record (withdrawn_query) first
    withdrawn = sa.func.coalesce(withdrawn_flag(Person.id, EMAIL_NOTIFICATIONS), False)
    return sa.select(Person.id, chosen, withdrawn).where(
        Person.id.in_(sa.bindparam("person_ids", expanding=True))
    )


def mail_now(notification: Notification) -> None:
    person = notification.person
    locale = locale_of(person)
    with force_locale(locale):
        title = title_of(notification)
    queue_mail(
        f"notification.{notification.kind}"[:40],
        person.email,
        "notification",
        locale=locale,
        headers=unsubscribe_headers(person),
        person=person,
        title=title,
        link=public_url(notification.url),
        network_name=notification.network.name if notification.network is not None else None,
        unsubscribe_link=unsubscribe_url(person),
        settings_link=public_url(SETTINGS_PATH),
    )
    if notification.mailed_at is None:
        notification.mailed_at = utcnow()


def unread_count(person: Person) -> int:
    """The header's count (every page of a signed-in person): a statement built once, run on the connection."""
    return flushed_connection().execute(_UNREAD, {"person_id": person.id}).scalar_one()


_UNREAD = sa.select(sa.func.count(Notification.id)).where(
    Notification.person_id == sa.bindparam("person_id", type_=sa.Integer), Notification.read_at.is_(None)
)


# Paths written literally: mails are also rendered by jobs, outside any request, where url_for cannot build.
SETTINGS_PATH = "/notifications/settings"
UNSUBSCRIBE_PATH = "/notifications/unsubscribe/"


def is_local_path(url: str | None) -> bool:
    """A path on this service ("/networks/x"), never another host: no scheme, no "//host", no backslash
    (browsers read "/\\\\host" as "//host"), no control characters."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return False
    if any(ord(char) < 32 or ord(char) == 127 for char in url):
        return False
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def locale_of(person: Person) -> str:
    """The language of a member's e-mails: their profile's choice when the site offers it, else the default."""
    config = current_app.config
    if person.locale and person.locale in (config.get("LANGUAGES") or [person.locale]):
        return person.locale
    return config["DEFAULT_LOCALE"]


def timezone_of(person: Person) -> ZoneInfo:
    for name in (person.timezone, current_app.config["DEFAULT_TIMEZONE"]):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


# -- in-app -----------------------------------------------------------------------------------------------------


def list_for(
    person: Person, *, before: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Notification], int | None]:
    """The person's notifications, newest first, ``limit`` at a time (one query). ``before`` is the cursor the
    previous page returned: the id of its last item. Ids grow with every insert, so id order is creation order
    and a page never shifts when new notifications arrive. Returns the page and the next cursor (or None)."""
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    query = (
        sa.select(Notification)
        .where(Notification.person_id == person.id)
        .options(joinedload(Notification.network))
        .order_by(Notification.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(Notification.id < before)
    rows = list(session.scalars(query))
    page = rows[:limit]
    return page, (page[-1].id if len(rows) > limit else None)


def get_own(person: Person, notification_id: int) -> Notification:
    """One of the person's own notifications; anyone else's is "not found", so ids reveal nothing."""
    notification = session.scalar(
        sa.select(Notification).where(Notification.id == notification_id, Notification.person_id == person.id)
    )
    if notification is None:
        raise NotFound(_("There is no such notification for you."))
    return notification


def mark_read(person: Person, notification_id: int, now: dt.datetime | None = None) -> Notification:
    notification = get_own(person, notification_id)
    if notification.read_at is None:
        notification.read_at = now or utcnow()
        session.flush()
    return notification


def mark_all_read(person: Person, now: dt.datetime | None = None) -> int:
    """Mark every unread notification of the person read (one UPDATE); returns how many."""
    result = session.execute(
        sa.update(Notification)
        .where(Notification.person_id == person.id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return result.rowcount


def prune_read(now: dt.datetime | None = None) -> int:
    """Delete read notifications older than ``NOTIFICATION_RETENTION_DAYS`` (180 by default). Unread ones stay,
    however old: nobody has seen them yet."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=int(current_app.config["NOTIFICATION_RETENTION_DAYS"]))
    result = session.execute(
        sa.delete(Notification)
        .where(Notification.read_at.is_not(None), Notification.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# -- settings and unsubscribing ---------------------------------------------------------------------------------


def frequency_of(person: Person) -> EmailFrequency:
    return frequencies([person.id])[person.id]


def set_frequency(
    person: Person, frequency: EmailFrequency | str, *, actor: Person | None, via: str = "settings"
) -> NotificationSetting:
    """Save the member's e-mail choice. ``actor`` is None when an unsubscribe link did it."""
    try:
        frequency = EmailFrequency(frequency)
    except ValueError:
        raise InvalidInput(
            _("Choose how often you want e-mail: immediately, daily, weekly or never."),
            field="email_frequency",
        ) from None
    setting = session.get(NotificationSetting, person.id)
    if setting is None:
        setting = NotificationSetting(person_id=person.id, email_frequency=frequency)
        session.add(setting)
        before = DEFAULT_FREQUENCY
    else:
        before = setting.email_frequency
        setting.email_frequency = frequency
        setting.updated_at = utcnow()
    session.flush()
    if before != frequency:
        record(
            "notifications.frequency_changed",
            actor=actor,
            target=person,
            before=before.value,
            after=frequency.value,
            via=via,
        )
    return setting


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="mentornet.notifications.unsubscribe")


def unsubscribe_token(person: Person) -> str:
    """A personal token for one-click unsubscribing: signed with the secret key and bound to this person and
    this purpose (the salt), so it can be neither forged nor used for anything else, nor for anyone else."""
    return _serializer().dumps({"p": person.id})


def person_for_unsubscribe_token(token: str) -> Person:
    try:
        data = _serializer().loads(token)
        person_id = int(data["p"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotFound(_("This unsubscribe link is not valid.")) from None
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(_("This unsubscribe link is not valid."))
    return person


def unsubscribe_url(person: Person) -> str:
    return public_url(UNSUBSCRIBE_PATH + unsubscribe_token(person))


def unsubscribe_headers(person: Person) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: mail programs offer an "unsubscribe" button that POSTs to the link."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(person)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def unsubscribe(token: str) -> Person:
    """Stop every notification e-mail of the token's person (their in-app notifications stay)."""
    person = person_for_unsubscribe_token(token)
    set_frequency(person, EmailFrequency.never, actor=None, via="unsubscribe_link")
    return person


# -- digests ----------------------------------------------------------------------------------------------------


def digest_period_start(frequency: EmailFrequency, now: dt.datetime, tz: ZoneInfo, hour: int) -> dt.datetime:
    """The start of the digest period ``now`` falls in, in the member's time zone: today's (or yesterday's)
    ``hour`` o'clock for daily digests, the last Monday's for weekly ones. One digest per period."""
    local = now.astimezone(tz)
    day = local.date()
    if frequency == EmailFrequency.weekly:
        day -= dt.timedelta(days=day.weekday())
    step = dt.timedelta(days=7 if frequency == EmailFrequency.weekly else 1)
    start = dt.datetime.combine(day, dt.time(hour), tzinfo=tz)
    if start > local:
        start = dt.datetime.combine(day - step, dt.time(hour), tzinfo=tz)
    return start.astimezone(dt.UTC)


def claim_digest(person_id: int, period_start: dt.datetime, now: dt.datetime) -> bool:
    """Take the person's digest for this period: a conditional UPDATE that only one of several concurrent runs
    can win (the others find ``last_digest_at`` already moved). The setting row is created first if the member
    never chose (INSERT ... ON CONFLICT DO NOTHING), keeping the default frequency."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(NotificationSetting)
        .values(person_id=person_id, email_frequency=DEFAULT_FREQUENCY, updated_at=now)
        .on_conflict_do_nothing(index_elements=["person_id"])
    )
    result = session.execute(
        sa.update(NotificationSetting)
        .where(
            NotificationSetting.person_id == person_id,
            NotificationSetting.email_frequency.in_([EmailFrequency.daily, EmailFrequency.weekly]),
            sa.or_(
                NotificationSetting.last_digest_at.is_(None),
                NotificationSetting.last_digest_at < period_start,
            ),
        )
        .values(last_digest_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


@dataclass
class DigestGroup:
    network_name: str | None
    items: list[dict] = field(default_factory=list)


def send_digest(person: Person, frequency: EmailFrequency, now: dt.datetime) -> bool:
    """Queue the person's digest of everything not mailed yet (and not read in the meantime), grouped by
    network, and mark those notifications mailed in the same transaction. False when there is nothing new."""
    pending = list(
        session.scalars(
            sa.select(Notification)
            .where(
                Notification.person_id == person.id,
                Notification.mailed_at.is_(None),
                Notification.read_at.is_(None),
                Notification.created_at <= now,
            )
            .options(joinedload(Notification.network))
            .order_by(Notification.id)
        )
    )
    if not pending:
        return False
    locale = locale_of(person)
    tz = timezone_of(person)
    groups: dict[int | None, DigestGroup] = {}
    with force_locale(locale):
        for notification in pending[:DIGEST_ITEMS]:
            network = notification.network
            group = groups.setdefault(
                notification.network_id, DigestGroup(network.name if network is not None else None)
            )
            group.items.append(
                {
                    "title": title_of(notification),
                    "link": public_url(notification.url),
                    "when": babel_format_datetime(notification.created_at, "short", tzinfo=tz, locale=locale),
                }
            )
    ordered = sorted(groups.values(), key=lambda g: (g.network_name is None, (g.network_name or "").lower()))
    queue_mail(
        "notification.digest",
        person.email,
        "digest",
        locale=locale,
        headers=unsubscribe_headers(person),
        person=person,
        weekly=frequency == EmailFrequency.weekly,
        count=len(pending),
        more=max(len(pending) - DIGEST_ITEMS, 0),
        groups=ordered,
        link=public_url("/notifications"),
        unsubscribe_link=unsubscribe_url(person),
        settings_link=public_url(SETTINGS_PATH),
    )
    session.execute(
        sa.update(Notification)
        .where(Notification.id.in_([n.id for n in pending]), Notification.mailed_at.is_(None))
        .values(mailed_at=now)
        .execution_options(synchronize_session=False)
    )
    for notification in pending:
        notification.mailed_at = now
    return True


def send_due_digests(now: dt.datetime | None = None) -> int:
    """The hourly job: every member with a daily or weekly choice, an e-mail address and something not mailed
    yet gets their digest once per period. A period starts at ``NOTIFICATION_DIGEST_HOUR`` o'clock in the
    member's time zone (every day, or every Monday); the digest goes out at the first run after that start when
    something from before the start is still unmailed, and lists everything unmailed up to then. Each person's
    digest is claimed, queued and marked mailed in one savepoint. Returns how many digests went out."""
    now = now or utcnow()
    hour = int(current_app.config["NOTIFICATION_DIGEST_HOUR"])
    digest_kinds = [EmailFrequency.daily.value, EmailFrequency.weekly.value]
    oldest_pending = (
        sa.select(Notification.person_id, sa.func.min(Notification.created_at).label("oldest"))
        .where(
            Notification.mailed_at.is_(None), Notification.read_at.is_(None), Notification.created_at <= now
        )
        .group_by(Notification.person_id)
        .subquery()
    )
    frequency = sa.func.coalesce(NotificationSetting.email_frequency, DEFAULT_FREQUENCY.value)
    rows = session.execute(
        sa.select(
            Person,
            NotificationSetting.email_frequency,
            NotificationSetting.last_digest_at,
            oldest_pending.c.oldest,
        )
        .join(oldest_pending, oldest_pending.c.person_id == Person.id)
        .outerjoin(NotificationSetting, NotificationSetting.person_id == Person.id)
        .where(Person.email.is_not(None), Person.email != "", frequency.in_(digest_kinds))
        .where(Person.id.not_in(_email_consent_withdrawn()))
        .order_by(Person.id)
    ).all()
    sent = 0
    for person, chosen, last_digest_at, oldest in rows:
        chosen = EmailFrequency(chosen or DEFAULT_FREQUENCY)
        period_start = digest_period_start(chosen, now, timezone_of(person), hour)
        if _aware(oldest) >= period_start:
            continue  # everything pending arrived in this period: it waits for the next digest
        if last_digest_at is not None and last_digest_at >= period_start:
            continue  # this period's digest went out already
        try:
            with session.begin_nested():
                if claim_digest(person.id, period_start, now) and send_digest(person, chosen, now):
                    sent += 1
        except Exception:  # one member's broken digest must not hold back everyone else's
            log.exception("digest for person %s failed", person.id)
    return sent


def _email_consent_withdrawn():
    from network_service.privacy.operations import EMAIL_NOTIFICATIONS, withdrawn_query

    return withdrawn_query(EMAIL_NOTIFICATIONS)


def _aware(value: dt.datetime) -> dt.datetime:
    """An aggregate (MIN) bypasses the column type: SQLite hands back naive UTC (sometimes as text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
