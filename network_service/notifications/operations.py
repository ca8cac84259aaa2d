"""``notify`` is how every module tells members about something; the rest of the module shows and mails it.

A module registers each kind of notification once, with the function that words it::

    register_kind("help.matched", lambda p: _("%(author)s asks for help: %(topic)s", **p))

and calls ``notify(recipients, "help.matched", network=..., url=..., actor=..., author=..., topic=...)`` in the
operation's transaction. The wording runs when the notification is shown or mailed, in the reader's language,
so ``params`` hold names and titles, never finished sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from network_service.accounts.models import Person
from network_service.db import session, utcnow
from network_service.mail.operations import queue_mail
from network_service.notifications.models import (
    DEFAULT_FREQUENCY,
    EmailFrequency,
    Notification,
    NotificationSetting,
)
from network_service.urls import public_url


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
    **params,
) -> list[Notification]:
    """One notification per distinct recipient (never the actor); members who chose "immediately" get an
    e-mail queued in the same transaction. Returns the notifications created."""
    if kind not in _KINDS:
        raise ValueError(f"unregistered notification kind {kind!r}")
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
    created = [
        Notification(
            person=person,
            network_id=getattr(network, "id", None),
            actor_id=getattr(actor, "id", None),
            kind=kind,
            params=params,
            url=url,
        )
        for person in people
    ]
    session.add_all(created)
    session.flush()
    immediate = frequencies([p.id for p in people])
    for notification in created:
        if immediate[notification.person_id] == EmailFrequency.immediately and notification.person.email:
            mail_now(notification)
    return created


def frequencies(person_ids: list[int]) -> dict[int, EmailFrequency]:
    """Each person's e-mail choice, the default where they made none (one query)."""
    chosen = dict(
        session.execute(
            sa.select(NotificationSetting.person_id, NotificationSetting.email_frequency).where(
                NotificationSetting.person_id.in_(person_ids)
            )
        ).all()
    )
    return {pid: chosen.get(pid, DEFAULT_FREQUENCY) for pid in person_ids}


def mail_now(notification: Notification) -> None:
    person = notification.person
    locale = person.locale or current_app.config["DEFAULT_LOCALE"]
    with force_locale(locale):
        title = title_of(notification)
    queue_mail(
        f"notification.{notification.kind}"[:40],
        person.email,
        "notification",
        locale=locale,
        person=person,
        title=title,
        link=public_url(notification.url),
    )
    notification.mailed_at = utcnow()


def unread_count(person: Person) -> int:
    return session.scalar(
        sa.select(sa.func.count(Notification.id)).where(
            Notification.person_id == person.id, Notification.read_at.is_(None)
        )
    )
