"""Imports every model so that the metadata is complete (Alembic, create_all in tests)."""

from network_service.accounts.models import ApiToken, Person, SignInToken
from network_service.audit.models import AuditLog
from network_service.courses.models import CompletionEvent, CourseLink
from network_service.goals.models import Goal, GoalUpdate
from network_service.jobs import JobRun
from network_service.mail.models import OutboundEmail
from network_service.networks.models import (
    Agreement,
    AgreementAcceptance,
    Invitation,
    InvitationReminder,
    Membership,
    Network,
    Organisation,
)
from network_service.notifications.models import Notification, NotificationSetting
from network_service.resources.models import Resource, ResourceTag

__all__ = [
    "Agreement",
    "AgreementAcceptance",
    "ApiToken",
    "AuditLog",
    "CompletionEvent",
    "CourseLink",
    "Goal",
    "GoalUpdate",
    "Invitation",
    "JobRun",
    "InvitationReminder",
    "Membership",
    "Network",
    "Notification",
    "NotificationSetting",
    "Organisation",
    "OutboundEmail",
    "Person",
    "Resource",
    "ResourceTag",
    "SignInToken",
]
