"""The checkpoints of the strategy's roadmap that the core data and the goals decide, and the roadmap itself.

Each checkpoint asks one aggregate question of the database (EXISTS or COUNT); the page runs one statement per
registered checkpoint whatever the size of the network. Other modules (resources, meetings, help, ...) register
their own checkpoints at import; ``roadmap_for`` shows every registered one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from network_service.accounts.models import Person
from network_service.courses.models import CourseLink
from network_service.db import session, utcnow
from network_service.errors import Forbidden
from network_service.goals import permissions
from network_service.goals.models import Goal, GoalStatus
from network_service.networks.models import (
    Agreement,
    AgreementAcceptance,
    Membership,
    MembershipStatus,
    Network,
    Origin,
    Role,
)
from network_service.networks.roadmap import Checkpoint, Phase, checkpoints, register_checkpoint

# What the strategy says each phase is about (shown under the phase's heading).
PHASE_TITLES = {
    Phase.initiate: _l("Initiate the network"),
    Phase.organise: _l("Organise the network"),
    Phase.sustain: _l("Sustain the network"),
    Phase.grow: _l("Promote and grow the network"),
}
PHASE_EXPLANATIONS = {
    Phase.initiate: _l(
        "The organisation decides to run a mentorNET MOOC session. Its graduates are invited into the "
        "network and form its basis, built on mutual trust and goals the members work towards."
    ),
    Phase.organise: _l(
        "The roles in the network are made formal, above all that of the Meta-Mentor. The network agrees "
        "on its communication rules, may set up a network office, and its members accept an agreement. "
        "Experienced mentors may join besides the MOOC graduates."
    ),
    Phase.sustain: _l(
        "The real challenge is to last: members talk regularly, support each other in their mentoring, "
        "work towards their shared goals, exchange ideas and experience and build common resources."
    ),
    Phase.grow: _l(
        "The network goes outside: it promotes itself so that other mentoring organisations, or "
        "organisations that help migrants, run their own MOOC and set up a network or join this one."
    ),
}


def _exists(query) -> bool:
    return bool(session.scalar(sa.select(sa.exists(query))))


def _active(network: Network):
    return sa.and_(Membership.network_id == network.id, Membership.status == MembershipStatus.active)


def _course_linked(network: Network) -> bool:
    return _exists(sa.select(CourseLink.id).where(CourseLink.network_id == network.id))


def _graduates_invited(network: Network) -> bool:
    return _exists(
        sa.select(Membership.id).where(
            Membership.network_id == network.id, Membership.origin == Origin.graduate
        )
    )


def _graduates_joined(network: Network) -> bool:
    return _exists(sa.select(Membership.id).where(_active(network), Membership.origin == Origin.graduate))


def _has_active_role(role: Role):
    def reached(network: Network) -> bool:
        return _exists(sa.select(Membership.id).where(_active(network), Membership.role == role))

    return reached


AGREEMENT_SHARE = 0.9  # the share of active members who must have accepted the current agreement


def _agreement_accepted(network: Network) -> bool:
    """At least 90% of the active members accepted the current (highest) version: one statement."""
    current = (
        sa.select(Agreement.id)
        .where(Agreement.network_id == network.id)
        .order_by(Agreement.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    accepted = sa.exists().where(
        AgreementAcceptance.agreement_id == current, AgreementAcceptance.person_id == Membership.person_id
    )
    total, agreed = session.execute(
        sa.select(
            sa.func.count(Membership.id),
            sa.func.count(sa.case((accepted, Membership.id))),
        ).where(_active(network))
    ).one()
    return total > 0 and agreed >= AGREEMENT_SHARE * total


def _rules_revised(network: Network) -> bool:
    return (
        session.scalar(sa.select(sa.func.count(Agreement.id)).where(Agreement.network_id == network.id)) or 0
    ) >= 2


def _goal_set(network: Network) -> bool:
    return _exists(sa.select(Goal.id).where(Goal.network_id == network.id, Goal.status != GoalStatus.dropped))


def _goal_achieved(network: Network) -> bool:
    return _exists(
        sa.select(Goal.id).where(Goal.network_id == network.id, Goal.status == GoalStatus.achieved)
    )


GROW_MEMBERS = 10
RECENT_DAYS = 90
RECENT_JOINS = 3


def _members_at_least(network: Network) -> bool:
    return (
        session.scalar(sa.select(sa.func.count(Membership.id)).where(_active(network))) or 0
    ) >= GROW_MEMBERS


def _recent_joins(network: Network) -> bool:
    since = utcnow() - dt.timedelta(days=RECENT_DAYS)
    count = session.scalar(
        sa.select(sa.func.count(Membership.id)).where(_active(network), Membership.joined_at >= since)
    )
    return (count or 0) >= RECENT_JOINS


def _second_course(network: Network) -> bool:
    count = session.scalar(sa.select(sa.func.count(CourseLink.id)).where(CourseLink.network_id == network.id))
    return (count or 0) >= 2


for _checkpoint in (
    Checkpoint(
        "core.course_linked",
        Phase.initiate,
        10,
        lambda: _("A MOOC course is linked to the network"),
        _course_linked,
        lambda: _("Ask the site administrator to link your organisation's mentorNET MOOC to this network."),
    ),
    Checkpoint(
        "core.graduates_invited",
        Phase.initiate,
        20,
        lambda: _("The first course graduates are invited"),
        _graduates_invited,
        lambda: _("Graduates are invited automatically when they pass the linked course."),
    ),
    Checkpoint(
        "core.graduates_joined",
        Phase.initiate,
        30,
        lambda: _("The first course graduates have joined"),
        _graduates_joined,
        lambda: _("Remind invited graduates personally; the invitation e-mail may be in their spam folder."),
    ),
    Checkpoint(
        "core.meta_mentor",
        Phase.organise,
        10,
        lambda: _("A Meta-Mentor is appointed"),
        _has_active_role(Role.meta_mentor),
        lambda: _("The coordinator appoints an experienced member as Meta-Mentor on the members page."),
    ),
    Checkpoint(
        "core.office",
        Phase.organise,
        20,
        lambda: _("The network office is staffed"),
        _has_active_role(Role.office),
        lambda: _("The coordinator gives a member the role “Network office”: the network's contact point."),
    ),
    Checkpoint(
        "core.rules_revised",
        Phase.organise,
        30,
        lambda: _("The network has published its own agreement and communication rules"),
        _rules_revised,
        lambda: _(
            "Discuss the default agreement with the members, then the coordinator or Meta-Mentor publishes "
            "the network's own version."
        ),
    ),
    Checkpoint(
        "core.agreement_accepted",
        Phase.organise,
        40,
        lambda: _(
            "At least %(share)s%% of the active members accepted the current agreement",
            share=int(AGREEMENT_SHARE * 100),
        ),
        _agreement_accepted,
        lambda: _("Remind members who have not yet accepted the current version of the agreement."),
    ),
    Checkpoint(
        "goals.goal_set",
        Phase.sustain,
        10,
        lambda: _("A shared goal is set"),
        _goal_set,
        lambda: _(
            "Agree with the members on a goal the network works towards, and set it on the goals page."
        ),
    ),
    Checkpoint(
        "goals.goal_achieved",
        Phase.sustain,
        20,
        lambda: _("A goal is achieved"),
        _goal_achieved,
        lambda: _("Report progress on the goals page; a goal is achieved when it reaches its target."),
    ),
    Checkpoint(
        "core.ten_members",
        Phase.grow,
        10,
        lambda: _("At least %(count)s active members", count=GROW_MEMBERS),
        _members_at_least,
        lambda: _("Promote the network: invite experienced mentors and people from partner organisations."),
    ),
    Checkpoint(
        "core.recent_joins",
        Phase.grow,
        20,
        lambda: _(
            "At least %(count)s new members in the last %(days)s days", count=RECENT_JOINS, days=RECENT_DAYS
        ),
        _recent_joins,
        lambda: _("Keep inviting: present the network at events of organisations that support migrants."),
    ),
    Checkpoint(
        "core.second_course",
        Phase.grow,
        30,
        lambda: _("Another MOOC session or course brings new graduates"),
        _second_course,
        lambda: _("Encourage your organisation, or a partner, to run another mentorNET MOOC session."),
    ),
):
    register_checkpoint(_checkpoint)


@dataclass
class CheckpointState:
    key: str
    label: str
    hint: str
    reached: bool


@dataclass
class PhaseState:
    phase: Phase
    title: str
    explanation: str
    checkpoints: list[CheckpointState]
    current: bool = False

    @property
    def reached_count(self) -> int:
        return sum(1 for c in self.checkpoints if c.reached)


def roadmap_for(network: Network, viewer: Person | None) -> list[PhaseState]:
    """The four phases in order with every registered checkpoint; the current phase is the first with an
    open checkpoint. One statement per checkpoint."""
    if not permissions.can_view_goals(viewer, network):
        raise Forbidden(_("Only members of this network can see its roadmap."))
    phases = {
        phase: PhaseState(phase, str(PHASE_TITLES[phase]), str(PHASE_EXPLANATIONS[phase]), [])
        for phase in Phase
    }
    for checkpoint in checkpoints():
        phases[checkpoint.phase].checkpoints.append(
            CheckpointState(
                checkpoint.key,
                checkpoint.label(),
                checkpoint.hint() if checkpoint.hint else "",
                bool(checkpoint.reached(network)),
            )
        )
    ordered = [phases[phase] for phase in Phase]
    for state in ordered:
        if any(not c.reached for c in state.checkpoints):
            state.current = True
            break
    return ordered
