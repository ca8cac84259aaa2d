"""The federated dashboard: the insights of a federation's member networks, added up, and one row per member.

It reuses network_service.insights' queries, which take lists of network ids. Only counts leave the database:
no message body, no help request's text, no names of members (the "who helps whom" picture stays with each
network's own insights). People who belong to several member networks count once in the totals.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _

from network_service.accounts.models import Person
from network_service.db import session, utcnow
from network_service.errors import Forbidden
from network_service.federations import operations, permissions
from network_service.help.models import HelpRequest, HelpStatus
from network_service.insights import operations as insights
from network_service.networks.models import Network

FUNNEL_KEYS = ("passed", "invited", "accepted", "active")


def _seconds():
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.extract("epoch", HelpRequest.first_response_at - HelpRequest.created_at)
    return (
        sa.func.julianday(HelpRequest.first_response_at) - sa.func.julianday(HelpRequest.created_at)
    ) * 86400.0


def help_by_network(network_ids: list[int], since: dt.datetime) -> dict:
    """Help metrics per network and for all of them (the median is taken over every request, not averaged).
    Three statements whatever the number of networks."""
    seconds = _seconds()
    scope = (HelpRequest.network_id.in_(network_ids), HelpRequest.created_at >= since)
    rows = session.execute(
        sa.select(
            HelpRequest.network_id,
            sa.func.count(HelpRequest.id),
            sa.func.count(HelpRequest.first_response_at),
            sa.func.coalesce(sa.func.sum(sa.case((seconds <= 48 * 3600, 1), else_=0)), 0),
            sa.func.coalesce(
                sa.func.sum(sa.case((HelpRequest.status == HelpStatus.resolved, 1), else_=0)), 0
            ),
        )
        .where(*scope)
        .group_by(HelpRequest.network_id)
    ).all()
    times: dict[int, list[float]] = {}
    for network_id, value in session.execute(
        sa.select(HelpRequest.network_id, seconds).where(*scope, HelpRequest.first_response_at.is_not(None))
    ):
        times.setdefault(network_id, []).append(float(value))

    def figures(total, answered, within, resolved, values) -> dict:
        return {
            "count": total,
            "answered": answered,
            "answered_share": _share(answered, total),
            "median_hours_to_first_response": _median_hours(values),
            "answered_within_48h_share": _share(int(within), total),
            "resolved_share": _share(int(resolved), total),
        }

    per_network = {nid: figures(0, 0, 0, 0, []) for nid in network_ids}
    sums = [0, 0, 0, 0]
    for network_id, total, answered, within, resolved in rows:
        per_network[network_id] = figures(total, answered, within, resolved, times.get(network_id, []))
        sums = [a + int(b) for a, b in zip(sums, (total, answered, within, resolved), strict=True)]
    everything = [v for values in times.values() for v in values]
    return {"networks": per_network, "total": figures(*sums, everything)}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median_hours(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return round(median / 3600, 2)


def compute(federation: Network, now: dt.datetime) -> dict:
    members = operations.member_networks(federation)
    ids = [m.id for m in members]
    since = now - dt.timedelta(days=insights.HELP_DAYS)
    help_figures = help_by_network(ids, since)
    funnel_total = dict.fromkeys(FUNNEL_KEYS, 0)
    rows = []
    for member in members:
        active = insights.active_members([member.id], now)
        joined = insights.new_members([member.id], now)
        funnel = dict.fromkeys(FUNNEL_KEYS, 0)
        for cohort in insights.course_funnel(member):
            for key in FUNNEL_KEYS:
                funnel[key] += cohort[key]
                funnel_total[key] += cohort[key]
        rows.append(
            {
                "slug": member.slug,
                "name": member.name,
                "members": active["members"],
                "active": {str(p["days"]): p["active"] for p in active["periods"]},
                "joined_last_12_months": sum(row["joined"] for row in joined),
                "help": help_figures["networks"].get(member.id),
                "funnel": funnel,
            }
        )
    return {
        "computed_at": now.isoformat(),
        "federation": {"slug": federation.slug, "name": federation.name},
        "member_networks": len(members),
        "active": insights.active_members(ids, now),
        "new_members": insights.new_members(ids, now),
        "retention": insights.retention(ids, now),
        "help": {"days": insights.HELP_DAYS, **help_figures["total"]},
        "funnel": funnel_total,
        "networks": rows,
    }


def dashboard(federation: Network, viewer: Person | None, *, now: dt.datetime | None = None) -> dict:
    if not permissions.can_view_dashboard(viewer, federation):
        raise Forbidden(
            _("Only the federation's coordinator and Meta-Mentor can see the federated dashboard.")
        )
    return compute(federation, now or utcnow())


DATASETS = ("networks", "active", "new-members", "retention", "help", "funnel")


def csv_rows(dataset: str, data: dict) -> list[list]:
    """One dataset of the dashboard as rows, header first (the shared ones in the insights' own format)."""
    if dataset == "networks":
        rows = [
            [_("network"), _("members"), _("active 7 days"), _("active 30 days"), _("active 90 days"),
             _("joined in 12 months"), _("help requests"), _("answered within 48 hours"),
             _("median hours to first answer"), *FUNNEL_KEYS]
        ]  # fmt: skip
        for row in data["networks"]:
            help_ = row["help"] or {}
            rows.append(
                [row["name"], row["members"], *(row["active"].get(str(d)) for d in insights.ACTIVE_PERIODS),
                 row["joined_last_12_months"], help_.get("count"), help_.get("answered_within_48h_share"),
                 help_.get("median_hours_to_first_response"), *(row["funnel"][k] for k in FUNNEL_KEYS)]
            )  # fmt: skip
        return rows
    if dataset == "funnel":
        return [list(FUNNEL_KEYS), [data["funnel"][k] for k in FUNNEL_KEYS]]
    return insights.csv_rows(dataset, data)
