"""Reconciliation: read the LMS's own record of who passed, and provision every graduate no push delivered.

Pushes (our forwarder, openedx-webhooks, xAPI) can be lost; the LMS's grades are not. A run walks every page of
the course's grades, keeps the learners who pass under the course link's rule, skips those already provisioned
(one query up front, not one per learner), and provisions the rest through ``provision_graduate`` with an event
id per course and learner (by the learner's pseudonym, never the username), so a rerun never invites anyone twice.
Each page is committed before the next is fetched, with a cursor (the LMS's next page): a run that stops half-way
keeps its work, and the next run goes on from where it stopped.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import sqlalchemy as sa

from lti_bridge.completions import as_bool, as_grade
from lti_bridge.lms import LmsError, OpenEdxClient
from lti_bridge.models import ReconcileCursor
from network_service.accounts.models import Person
from network_service.accounts.operations import normalise_email
from network_service.courses.models import CompletionEvent, CompletionRule, CompletionStatus, CourseLink
from network_service.courses.operations import provision_graduate
from network_service.db import session, utcnow
from network_service.errors import InvalidInput, MentorNetError, NotFound
from network_service.networks.models import Membership
from network_service.privacy.pseudonyms import digest, learner_pseudonym

log = logging.getLogger(__name__)

SOURCE = "reconcile"
PLATFORM = "openedx"
PREFIX = "openedx-reconcile:"
OPENEDX_PREFIX = "course-v1:"
PROVISIONED = (CompletionStatus.invited, CompletionStatus.already_member)
MAX_PROBLEMS = 20  # details kept for the report; the count covers them all


@dataclasses.dataclass
class ReconcileReport:
    course_key: str
    rule: str
    pages: int = 0
    seen: int = 0  # learners on the pages walked
    passed: int = 0  # learners who pass under the course link's rule
    provisioned: int = 0  # invited by this run
    already_provisioned: int = 0  # had a place in the network or a stored pass already
    errors: int = 0  # passed, but could not be provisioned (details in ``problems``)
    resumed_after: int = 0  # pages an earlier, interrupted run had done (this run started after them)
    problems: list[str] = dataclasses.field(default_factory=list)

    def problem(self, text: str) -> None:
        self.errors += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def summary(self) -> str:
        resumed = f" (resumed after page {self.resumed_after})" if self.resumed_after else ""
        return (
            f"{self.course_key} (rule {self.rule}): {self.pages} page(s){resumed}, {self.seen} learner(s) seen, "
            f"{self.passed} passed, {self.provisioned} newly provisioned, "
            f"{self.already_provisioned} already provisioned, {self.errors} error(s)"
        )


class ReconcileStopped(Exception):
    """The LMS failed part-way; the pages before it are committed and ``report`` counts them."""

    def __init__(self, report: ReconcileReport, cause: LmsError):
        super().__init__(str(cause))
        self.report = report
        self.cause = cause


def linked_openedx_courses() -> list[str]:
    """Course keys of every link that names an Open edX course (LTI contexts and others are not in the LMS)."""
    query = (
        sa.select(CourseLink.course_key)
        .where(CourseLink.course_key.startswith(OPENEDX_PREFIX, autoescape=True))
        .order_by(CourseLink.course_key)
    )
    return list(session.scalars(query))


@dataclasses.dataclass
class _Provisioned:
    """Who already has their place: e-mails with a membership in the network, usernames with a stored pass (in
    clear in passes younger than the retention period, as pseudonyms in older ones: privacy.pseudonyms)."""

    emails: set[str]
    usernames: set[str]
    pseudonyms: set[str] = dataclasses.field(default_factory=set)

    @classmethod
    def load(cls, link: CourseLink) -> _Provisioned:
        emails = session.scalars(
            sa.select(Person.email)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.network_id == link.network_id)
        )
        identities = session.scalars(
            sa.select(CompletionEvent.identity).where(
                CompletionEvent.course_key == link.course_key,
                CompletionEvent.network_id == link.network_id,
                CompletionEvent.status.in_(PROVISIONED),
            )
        )
        usernames, pseudonyms = set(), set()
        for identity in identities:
            if not isinstance(identity, dict) or identity.get("platform") != PLATFORM:
                continue
            if identity.get("username"):
                usernames.add(str(identity["username"]))
            if identity.get("pseudonym"):
                pseudonyms.add(str(identity["pseudonym"]))
        return cls(set(emails), usernames, pseudonyms)

    def includes(self, username: str, email: str | None) -> bool:
        return (
            username in self.usernames
            or (email is not None and email in self.emails)
            or (bool(self.pseudonyms) and learner_pseudonym(PLATFORM, username) in self.pseudonyms)
        )

    def add(self, username: str, email: str | None) -> None:
        self.usernames.add(username)
        if email is not None:
            self.emails.add(email)


@dataclasses.dataclass(frozen=True)
class _Graduate:
    username: str
    email: str | None
    kind: str
    grade: float | None
    payload: dict[str, Any]


def reconcile_course(
    course_key: str, client: OpenEdxClient, *, budget: float | None = None
) -> ReconcileReport:
    """Provision every learner of COURSE_KEY who passed in the LMS and is not provisioned yet.

    Commits after each page, with a cursor (the LMS's next page) that the next run resumes from when this one
    stops part-way. Raises ``NotFound`` for a course without a link and ``ReconcileStopped`` when the LMS fails
    part-way or the run has used up ``budget`` seconds (checked between pages; each request to the LMS is
    bounded by the client's timeouts and attempts).
    """
    link = session.scalar(sa.select(CourseLink).where(CourseLink.course_key == course_key))
    if link is None:
        # Only operators meet this (the command, the scheduled job): English, like the rest of the CLI.
        raise NotFound(
            f"No course link for {course_key}: link it first with "
            f"`mentornet course link {course_key} --network SLUG`.",
            field="course_key",
        )
    report = ReconcileReport(course_key=course_key, rule=link.rule.value)
    provisioned = _Provisioned.load(link)
    cursor = session.get(ReconcileCursor, course_key)
    if cursor is not None:
        # The last run stopped part-way: go on from the page it did not finish.
        report.resumed_after = cursor.pages_done
        log.info("reconciling %s resumes after %d page(s)", course_key, cursor.pages_done)
    start_url = cursor.next_url if cursor is not None else None
    pages_done = cursor.pages_done if cursor is not None else 0
    started = time.monotonic()
    # No transaction stays open while we wait for the LMS (on SQLite it would hold the write lock).
    session.commit()
    try:
        for page, next_url in client.grade_pages(course_key, start_url):
            report.pages += 1
            pages_done += 1
            graduates = _graduates_on(page, link, client, provisioned, report)  # may ask the LMS more
            for graduate in graduates:
                _provision(link, graduate, provisioned, report)
            _save_cursor(course_key, next_url, pages_done)  # with the page's work, in the same commit
            session.commit()
            if next_url is not None and budget is not None and time.monotonic() - started > budget:
                raise LmsError(
                    f"The run used up its time budget of {budget:g} s; the next run goes on from page "
                    f"{pages_done + 1}.",
                    url=next_url,
                )
    except LmsError as exc:
        session.rollback()
        log.warning("reconciling %s stopped after %d page(s): %s", course_key, report.pages, exc)
        raise ReconcileStopped(report, exc) from exc
    log.info("reconciled %s", report.summary())
    return report


def _save_cursor(course_key: str, next_url: str | None, pages_done: int) -> None:
    cursor = session.get(ReconcileCursor, course_key)
    if next_url is None:  # the last page: the next run starts from the beginning again
        if cursor is not None:
            session.delete(cursor)
        return
    if cursor is None:
        cursor = ReconcileCursor(course_key=course_key, next_url=next_url)
        session.add(cursor)
    cursor.next_url, cursor.pages_done, cursor.updated_at = next_url, pages_done, utcnow()


def _graduates_on(
    page: list[dict[str, Any]],
    link: CourseLink,
    client: OpenEdxClient,
    provisioned: _Provisioned,
    report: ReconcileReport,
) -> list[_Graduate]:
    graduates = []
    for row in page:
        report.seen += 1
        username = str(row.get("username") or "").strip()
        if not username:
            report.problem("a grade without a username was skipped")
            continue
        percent = as_grade(row.get("percent"))
        if link.rule == CompletionRule.min_grade:
            passes = percent is not None and percent >= (link.min_grade or 0)
        else:
            passes = as_bool(row.get("passed"))
        if not passes:
            continue
        email = _email(row.get("email"))
        if provisioned.includes(username, email):
            # Under the certificate rule the certificate is not looked up: the place is already given.
            report.passed += 1
            report.already_provisioned += 1
            continue
        kind, grade, payload = ("grade" if link.rule == CompletionRule.min_grade else "passed"), percent, row
        if link.rule == CompletionRule.certificate:
            certificate = client.certificate(username, link.course_key)
            if certificate is None or not _is_passing_certificate(certificate):
                continue
            kind, grade = "certificate", as_grade(certificate.get("grade"))
            grade = grade if grade is not None else percent
            payload = {"grade": row, "certificate": certificate}
        report.passed += 1
        graduates.append(_Graduate(username, email, kind, grade, dict(payload)))
    return graduates


def _is_passing_certificate(certificate: dict[str, Any]) -> bool:
    if "is_passing" in certificate:  # LMS releases before 2020 send only the status
        return as_bool(certificate["is_passing"])
    return str(certificate.get("status") or "").lower() == "downloadable"


def _email(raw: Any) -> str | None:
    try:
        return normalise_email(str(raw)) if raw else None
    except InvalidInput:
        return None


def _event_id(course_key: str, username: str) -> str:
    """One event per course and learner, naming the learner only by their pseudonym (privacy.pseudonyms), so the
    id may stay after the retention period and a rerun then still finds the event. (Until sp9001 the username
    itself was in the id; migration q0002 rewrote those ids to this form.)"""
    pseudonym = learner_pseudonym(PLATFORM, username)
    event_id = f"{PREFIX}{course_key}:{pseudonym}"
    if len(event_id) <= 255:
        return event_id
    return PREFIX + "hmac:" + digest(course_key + "\n" + pseudonym)


def _provision(
    link: CourseLink, graduate: _Graduate, provisioned: _Provisioned, report: ReconcileReport
) -> None:
    identity = {"platform": PLATFORM, "username": graduate.username}
    if graduate.email is not None:
        identity["email"] = graduate.email
    try:
        result = provision_graduate(
            link.course_key,
            identity,
            event_id=_event_id(link.course_key, graduate.username),
            source=SOURCE,
            payload=graduate.payload,
            kind=graduate.kind,
            is_passing=True,
            grade=graduate.grade,
        )
    except MentorNetError as exc:
        report.problem(f"{graduate.username}: {exc.detail}")
        return
    status = result.status
    if status == CompletionStatus.invited and not result.duplicate:
        report.provisioned += 1
    elif status in PROVISIONED:
        report.already_provisioned += 1
    else:
        detail = f" ({result.event.outcome_detail})" if result.event.outcome_detail else ""
        again = (
            "a run once the LMS shares the learner's e-mail address acts on it again"
            if status == CompletionStatus.expired
            else "`mentornet bridge replay` acts on it again"
        )
        report.problem(f"{graduate.username}: event {result.event.id} is {status.value}{detail}; {again}")
        return
    provisioned.add(graduate.username, graduate.email)
