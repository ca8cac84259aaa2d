"""Insights for a network's leaders: who is active, who joined, who stayed, how help flows, goals, the MOOC
funnel, and members going quiet (docs/insights.md).

Every figure comes from a few aggregate queries over one "activity" relation (``_activity``): a UNION ALL of
(person_id, at) from every place a member leaves a trace. No query runs per member.

Federations: every query of ``compute`` is written over ``network_ids`` (a list), so a federation's insights
are the same functions called with its member networks' ids; only the help metrics (a median, which cannot be
added up) and the course funnel are per network and would need a list-aware variant there.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from network_service.accounts.models import Person
from network_service.audit.operations import record
from network_service.conversations.models import Channel, Message
from network_service.courses.models import CourseLink
from network_service.courses.operations import funnel
from network_service.db import session, utcnow
from network_service.errors import Conflict, Forbidden, InvalidInput, NotFound
from network_service.goals.models import Goal, GoalStatus, GoalUpdate
from network_service.help.models import HelpRequest, HelpResponse
from network_service.help.operations import help_metrics
from network_service.insights import permissions
from network_service.insights.models import InsightCache, InsightNudge
from network_service.meetings.models import Meeting, Rsvp
from network_service.networks import roadmap
from network_service.networks.models import Membership, MembershipStatus, Network
from network_service.notifications.operations import notify, register_kind
from network_service.resources.models import Resource

CACHE_TTL = dt.timedelta(minutes=10)
ACTIVE_PERIODS = (7, 30, 90)
QUIET_DAYS = 30
NUDGE_DAYS = 14
QUIET_LIMIT = 50
MONTHS = 12
RETENTION_MARKS = (1, 3, 6)  # months after joining
MONTH_DAYS = 30  # a "month" in the retention maths
HELP_DAYS = 90
HELPERS_DAYS = 365
HELPER_EDGES = 60
GOALS_SHOWN = 20
DATASETS = ("active", "new-members", "retention", "help", "goals", "funnel", "helpers", "quiet")

register_kind(
    "insights.nudge",
    lambda p: _(
        "%(sender)s misses you in %(network)s. Come and say hello!",
        sender=p.get("sender", ""),
        network=p.get("network_name", ""),
    ),
)


def _require_viewer(viewer: Person | None, network: Network) -> None:
    if not permissions.can_view_insights(viewer, network):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor can see the network's insights."))


# -- SQL building blocks --------------------------------------------------------------------------------------


def _postgres() -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _month(column):
    """'YYYY-MM' of a UTC timestamp column."""
    if _postgres():
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def _days(later, earlier):
    """Days (fractional) from ``earlier`` to ``later``."""
    if _postgres():
        return sa.func.extract("epoch", later - earlier) / 86400.0
    return sa.func.julianday(later) - sa.func.julianday(earlier)


def _activity(network_ids: list[int]):
    """(person_id, at) for everything a member did in the networks: messages and replies, help requests and
    answers, meetings organised, RSVPs, goal updates, resources added, and the last sign-in."""
    in_networks = Channel.network_id.in_(network_ids)
    parts = [
        sa.select(Message.author_id.label("person_id"), Message.created_at.label("at"))
        .join(Channel, Channel.id == Message.channel_id)
        .where(in_networks, Message.author_id.is_not(None)),
        sa.select(HelpRequest.author_id, HelpRequest.created_at).where(
            HelpRequest.network_id.in_(network_ids), HelpRequest.author_id.is_not(None)
        ),
        sa.select(HelpResponse.author_id, HelpResponse.created_at)
        .join(HelpRequest, HelpRequest.id == HelpResponse.request_id)
        .where(HelpRequest.network_id.in_(network_ids), HelpResponse.author_id.is_not(None)),
        sa.select(Meeting.organiser_id, Meeting.created_at).where(
            Meeting.network_id.in_(network_ids), Meeting.organiser_id.is_not(None)
        ),
        sa.select(Rsvp.person_id, Rsvp.updated_at)
        .join(Meeting, Meeting.id == Rsvp.meeting_id)
        .where(Meeting.network_id.in_(network_ids)),
        sa.select(GoalUpdate.author_id, GoalUpdate.created_at)
        .join(Goal, Goal.id == GoalUpdate.goal_id)
        .where(Goal.network_id.in_(network_ids), GoalUpdate.author_id.is_not(None)),
        sa.select(Resource.created_by_id, Resource.created_at).where(
            Resource.network_id.in_(network_ids), Resource.created_by_id.is_not(None)
        ),
        sa.select(Person.id, Person.last_sign_in_at)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.network_id.in_(network_ids), Person.last_sign_in_at.is_not(None)),
    ]
    return sa.union_all(*parts).subquery("activity")


def _months_back(now: dt.datetime, count: int) -> list[str]:
    year, month = now.year, now.month
    months = []
    for _step in range(count):
        months.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(months))


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# -- the figures ----------------------------------------------------------------------------------------------


def active_members(network_ids: list[int], now: dt.datetime) -> dict:
    """Active members (distinct people with any activity) in the last 7, 30 and 90 days, and the number of
    current members. Two statements."""
    activity = _activity(network_ids)
    last = (  # each person's latest activity first: one hash aggregate, then a small join
        sa.select(activity.c.person_id, sa.func.max(activity.c.at).label("last_at"))
        .where(activity.c.at <= now)
        .group_by(activity.c.person_id)
        .subquery("last")
    )
    counts = session.execute(
        sa.select(
            *[
                sa.func.count(
                    sa.distinct(
                        sa.case((last.c.last_at >= now - dt.timedelta(days=days), Membership.person_id))
                    )
                )
                for days in ACTIVE_PERIODS
            ]
        )
        .select_from(Membership)
        .join(last, last.c.person_id == Membership.person_id)
        .where(Membership.network_id.in_(network_ids), Membership.status == MembershipStatus.active)
    ).one()
    members = session.scalar(
        sa.select(sa.func.count(sa.distinct(Membership.person_id))).where(
            Membership.network_id.in_(network_ids), Membership.status == MembershipStatus.active
        )
    )
    return {
        "members": members,
        "periods": [
            {"days": days, "active": count, "share": _share(count, members)}
            for days, count in zip(ACTIVE_PERIODS, counts, strict=True)
        ],
    }


def new_members(network_ids: list[int], now: dt.datetime) -> list[dict]:
    """Members who joined in each of the last 12 months (whatever their status now). One statement."""
    months = _months_back(now, MONTHS)
    start = dt.datetime(int(months[0][:4]), int(months[0][5:]), 1, tzinfo=dt.UTC)
    month = _month(Membership.joined_at)
    rows = dict(
        session.execute(
            sa.select(month, sa.func.count(Membership.id))
            .where(
                Membership.network_id.in_(network_ids),
                Membership.joined_at >= start,
                Membership.joined_at <= now,
            )
            .group_by(month)
        ).all()
    )
    return [{"month": m, "joined": int(rows.get(m, 0))} for m in months]


def retention(network_ids: list[int], now: dt.datetime) -> list[dict]:
    """Cohorts by month of joining (last 12 months). A member counts as retained at +k months when they did
    anything from day 30*k to day 30*k+29 after their own joining day; that mark is only counted for members
    whose window has fully passed (``eligible``). One statement, one row per member of those cohorts."""
    months = _months_back(now, MONTHS)
    start = dt.datetime(int(months[0][:4]), int(months[0][5:]), 1, tzinfo=dt.UTC)
    activity = _activity(network_ids)
    days = _days(activity.c.at, Membership.joined_at)
    flags = [
        sa.func.max(sa.case((sa.and_(days >= MONTH_DAYS * k, days < MONTH_DAYS * (k + 1)), 1), else_=0))
        for k in RETENTION_MARKS
    ]
    rows = session.execute(
        sa.select(Membership.joined_at, *flags)
        .select_from(Membership)
        .outerjoin(activity, sa.and_(activity.c.person_id == Membership.person_id, activity.c.at <= now))
        .where(
            Membership.network_id.in_(network_ids),
            Membership.joined_at >= start,
            Membership.joined_at <= now,
        )
        .group_by(Membership.id, Membership.joined_at)
    ).all()
    cohorts = {m: {"month": m, "joined": 0, "marks": {k: [0, 0] for k in RETENTION_MARKS}} for m in months}
    for joined_at, *retained in rows:
        if joined_at.tzinfo is None:
            joined_at = joined_at.replace(tzinfo=dt.UTC)
        cohort = cohorts.get(joined_at.strftime("%Y-%m"))
        if cohort is None:
            continue
        cohort["joined"] += 1
        for k, flag in zip(RETENTION_MARKS, retained, strict=True):
            if joined_at + dt.timedelta(days=MONTH_DAYS * (k + 1)) <= now:
                cohort["marks"][k][0] += 1
                cohort["marks"][k][1] += int(flag or 0)
    result = []
    for m in months:
        cohort = cohorts[m]
        result.append(
            {
                "month": m,
                "joined": cohort["joined"],
                "marks": [
                    {
                        "months": k,
                        "eligible": eligible,
                        "retained": kept,
                        "share": _share(kept, eligible),
                    }
                    for k, (eligible, kept) in cohort["marks"].items()
                ],
            }
        )
    return result


def goals_progress(network_ids: list[int]) -> list[dict]:
    """Open goals, soonest due first. One statement."""
    goals = session.execute(
        sa.select(Goal.title, Goal.current_value, Goal.target_value, Goal.unit, Goal.due_date)
        .where(Goal.network_id.in_(network_ids), Goal.status == GoalStatus.open)
        .order_by(Goal.due_date.is_(None), Goal.due_date, Goal.id)
        .limit(GOALS_SHOWN)
    ).all()
    return [
        {
            "title": title,
            "current": current,
            "target": target,
            "unit": unit,
            "percent": max(0, min(100, current * 100 // target)) if target > 0 else 0,
            "due_date": due.isoformat() if due else None,
        }
        for title, current, target, unit, due in goals
    ]


def course_funnel(network: Network) -> list[dict]:
    """The MOOC funnel of every course linked to the network, cohorts merged by month, newest first."""
    merged: dict[str, dict] = {}
    for link in session.scalars(sa.select(CourseLink).where(CourseLink.network_id == network.id)):
        for row in funnel(link):
            into = merged.setdefault(
                row.cohort, {"month": row.cohort, "passed": 0, "invited": 0, "accepted": 0, "active": 0}
            )
            for key in ("passed", "invited", "accepted", "active"):
                into[key] += getattr(row, key)
    return sorted(merged.values(), key=lambda r: r["month"], reverse=True)[:MONTHS]


def helpers(network_ids: list[int], now: dt.datetime) -> list[dict]:
    """Who helped whom in the last year: (helper, helped, requests answered), most first. One statement."""
    helper, helped = aliased(Person), aliased(Person)
    count = sa.func.count(sa.distinct(HelpRequest.id))
    rows = session.execute(
        sa.select(
            helper.id, helper.display_name, helper.email, helped.id, helped.display_name, helped.email, count
        )
        .select_from(HelpResponse)
        .join(HelpRequest, HelpRequest.id == HelpResponse.request_id)
        .join(helper, helper.id == HelpResponse.author_id)
        .join(helped, helped.id == HelpRequest.author_id)
        .where(
            HelpRequest.network_id.in_(network_ids),
            HelpResponse.author_id != HelpRequest.author_id,
            HelpResponse.created_at >= now - dt.timedelta(days=HELPERS_DAYS),
            HelpResponse.created_at <= now,
        )
        .group_by(helper.id, helper.display_name, helper.email, helped.id, helped.display_name, helped.email)
        .order_by(count.desc(), helper.id, helped.id)
        .limit(HELPER_EDGES)
    ).all()
    return [
        {
            "helper_id": a_id,
            "helper": _name(a_name, a_email),
            "helped_id": b_id,
            "helped": _name(b_name, b_email),
            "count": n,
        }
        for a_id, a_name, a_email, b_id, b_name, b_email, n in rows
    ]


def _name(display_name: str | None, email: str | None) -> str:
    return display_name or (email or "").split("@")[0]


def compute(network: Network, now: dt.datetime) -> dict:
    """Every cached figure of the network (plain JSON)."""
    ids = [network.id]
    return {
        "computed_at": now.isoformat(),
        "active": active_members(ids, now),
        "new_members": new_members(ids, now),
        "retention": retention(ids, now),
        "help": {"days": HELP_DAYS, **help_metrics(network, now - dt.timedelta(days=HELP_DAYS))},
        "goals": goals_progress(ids),
        "funnel": course_funnel(network),
        "helpers": helpers(ids, now),
    }


def insights(
    network: Network, viewer: Person | None, *, now: dt.datetime | None = None, refresh=False
) -> dict:
    """The network's insights. Served from the cache when computed less than ``CACHE_TTL`` ago; ``refresh``
    computes them again. With an explicit ``now`` (tests, reports of the past) nothing is cached."""
    _require_viewer(viewer, network)
    if now is not None:
        return compute(network, now)
    current = utcnow()
    row = session.get(InsightCache, network.id)
    if row is not None and not refresh and row.computed_at > current - CACHE_TTL:
        return row.data
    data = compute(network, current)
    if row is not None:
        row.data, row.computed_at = data, current
        session.flush()
    else:
        try:
            with session.begin_nested():
                session.add(InsightCache(network_id=network.id, computed_at=current, data=data))
        except sa.exc.IntegrityError:  # another request stored it a moment ago: theirs is as fresh
            pass
    return data


def forget(network: Network) -> None:
    """Drop the cached insights (the next view computes them again)."""
    session.execute(sa.delete(InsightCache).where(InsightCache.network_id == network.id))


# -- members going quiet and the friendly nudge ---------------------------------------------------------------


def quiet_members(network: Network, viewer: Person | None, *, now: dt.datetime | None = None) -> dict:
    """Active members with nothing done in the last 30 days (the earliest quiet first), with their last activity
    and last nudge; never cached, so a nudge shows at once. One statement (the total is a window count)."""
    _require_viewer(viewer, network)
    now = now or utcnow()
    activity = _activity([network.id])
    last = (
        sa.select(activity.c.person_id, sa.func.max(activity.c.at).label("last_at"))
        .where(activity.c.at <= now)
        .group_by(activity.c.person_id)
        .subquery("last")
    )
    nudged = (
        sa.select(InsightNudge.person_id, sa.func.max(InsightNudge.sent_at).label("nudged_at"))
        .where(InsightNudge.network_id == network.id)
        .group_by(InsightNudge.person_id)
        .subquery("nudged")
    )
    cutoff = now - dt.timedelta(days=QUIET_DAYS)
    scope = (
        Membership.network_id == network.id,
        Membership.status == MembershipStatus.active,
        sa.or_(
            last.c.last_at < cutoff,
            sa.and_(last.c.last_at.is_(None), Membership.joined_at < cutoff),
        ),
    )
    rows = session.execute(
        sa.select(
            Person.id,
            Person.display_name,
            Person.email,
            Membership.joined_at,
            last.c.last_at,
            nudged.c.nudged_at,
            sa.func.count().over().label("total"),  # all quiet members: the activity is aggregated once
        )
        .select_from(Membership)
        .join(Person, Person.id == Membership.person_id)
        .outerjoin(last, last.c.person_id == Membership.person_id)
        .outerjoin(nudged, nudged.c.person_id == Membership.person_id)
        .where(*scope)
        .order_by(sa.func.coalesce(last.c.last_at, Membership.joined_at), Person.id)
        .limit(QUIET_LIMIT)
    ).all()
    again = now - dt.timedelta(days=NUDGE_DAYS)
    return {
        "total": rows[0].total if rows else 0,
        "members": [
            {
                "id": pid,
                "name": _name(name, email),
                "joined_at": joined_at,
                "last_active_at": last_at,
                "nudged_at": nudged_at,
                "can_nudge": pid != viewer.id and (nudged_at is None or nudged_at <= again),
            }
            for pid, name, email, joined_at, last_at, nudged_at, _total in rows
        ],
    }


def nudge(network: Network, person_id, *, actor: Person, now: dt.datetime | None = None) -> InsightNudge:
    """A friendly nudge to a member who went quiet: a notification in their own language (and an e-mail if they
    chose e-mails at once). At most one per member every 14 days, whoever sends it."""
    if not permissions.can_nudge(actor, network):
        raise Forbidden(_("Only the coordinator and the Meta-Mentor can nudge members."))
    if not isinstance(person_id, int) or isinstance(person_id, bool):
        raise InvalidInput(_("Choose a member."), field="person_id")
    now = now or utcnow()
    membership = session.scalar(
        sa.select(Membership).where(
            Membership.network_id == network.id,
            Membership.person_id == person_id,
            Membership.status == MembershipStatus.active,
        )
    )
    if membership is None:
        raise NotFound(_("This person is not a member of this network."), field="person_id")
    person = membership.person
    if person.id == actor.id:
        raise InvalidInput(_("You cannot nudge yourself."), field="person_id")
    last = session.scalar(
        sa.select(sa.func.max(InsightNudge.sent_at)).where(
            InsightNudge.network_id == network.id, InsightNudge.person_id == person.id
        )
    )
    if last is not None and last > now - dt.timedelta(days=NUDGE_DAYS):
        raise Conflict(
            _("%(name)s had a nudge less than 14 days ago.", name=person.name_or_email), field="person_id"
        )
    sent = InsightNudge(network_id=network.id, person_id=person.id, sent_by_id=actor.id, sent_at=now)
    session.add(sent)
    session.flush()
    notify(
        [person],
        "insights.nudge",
        url=f"/networks/{network.slug}",
        network=network,
        actor=actor,
        sender=actor.name_or_email,
        network_name=network.name,
    )
    record("insights.nudge", actor=actor, target=person, network=network)
    return sent


# -- CSV ------------------------------------------------------------------------------------------------------


def _cell(value) -> str:
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):  # a spreadsheet would run it as a formula
        return "'" + text
    return text


def csv_rows(dataset: str, data: dict, quiet: dict | None = None) -> list[list]:
    """The rows of one dataset, header first."""
    if dataset == "active":
        return [[_("days"), _("active members"), _("share of members")]] + [
            [p["days"], p["active"], p["share"]] for p in data["active"]["periods"]
        ]
    if dataset == "new-members":
        return [[_("month"), _("joined")]] + [[r["month"], r["joined"]] for r in data["new_members"]]
    if dataset == "retention":
        header = [_("month"), _("joined")]
        for k in RETENTION_MARKS:
            header += [
                _("eligible after %(months)s months", months=k),
                _("active after %(months)s months", months=k),
            ]
        rows = [header]
        for cohort in data["retention"]:
            row = [cohort["month"], cohort["joined"]]
            for mark in cohort["marks"]:
                row += [mark["eligible"], mark["retained"]]
            rows.append(row)
        return rows
    if dataset == "help":
        help_ = data["help"]
        keys = (
            "days",
            "count",
            "answered",
            "answered_share",
            "median_hours_to_first_response",
            "answered_within_48h_share",
            "resolved_share",
        )
        return [list(keys), [help_.get(k) for k in keys]]
    if dataset == "goals":
        return [[_("goal"), _("current"), _("target"), _("unit"), _("percent"), _("due")]] + [
            [g["title"], g["current"], g["target"], g["unit"], g["percent"], g["due_date"]]
            for g in data["goals"]
        ]
    if dataset == "funnel":
        return [[_("month"), _("passed"), _("invited"), _("accepted"), _("active")]] + [
            [r["month"], r["passed"], r["invited"], r["accepted"], r["active"]] for r in data["funnel"]
        ]
    if dataset == "helpers":
        return [[_("helper"), _("helped"), _("requests answered")]] + [
            [e["helper"], e["helped"], e["count"]] for e in data["helpers"]
        ]
    if dataset == "quiet":
        return [[_("member"), _("last active"), _("joined")]] + [
            [
                m["name"],
                m["last_active_at"].isoformat() if m["last_active_at"] else "",
                m["joined_at"].isoformat() if m["joined_at"] else "",
            ]
            for m in (quiet or {"members": []})["members"]
        ]
    raise NotFound(_("There is no such dataset."))


def to_csv(rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


# -- the roadmap ----------------------------------------------------------------------------------------------

RETENTION_CHECKPOINT_SHARE = 0.5


def members_stay(network: Network) -> bool:
    """At least half of the members past their +3-month mark in the last 12 months' cohorts were active then."""
    eligible = kept = 0
    for cohort in retention([network.id], utcnow()):
        for mark in cohort["marks"]:
            if mark["months"] == 3:
                eligible += mark["eligible"]
                kept += mark["retained"]
    return eligible > 0 and kept >= RETENTION_CHECKPOINT_SHARE * eligible


roadmap.register_checkpoint(
    roadmap.Checkpoint(
        key="insights.retention",
        phase=roadmap.Phase.grow,
        order=40,
        label=lambda: _("Members stay: half are still active 3 months after joining"),
        reached=members_stay,
        hint=lambda: _("Welcome new members personally and nudge those who go quiet (see Insights)."),
    )
)
