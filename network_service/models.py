"""Imports every model so that the metadata is complete (Alembic, create_all in tests)."""

from network_service.accounts.models import ApiToken, Person, SignInToken
from network_service.audit.models import AuditLog
from network_service.courses.models import CompletionEvent, CourseLink
from network_service.help.models import HelpRequest, HelpRequestLanguage, HelpResponse, HelpSuggestion
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

__all__ = [
    "Agreement",
    "AgreementAcceptance",
    "ApiToken",
    "AuditLog",
    "CompletionEvent",
    "CourseLink",
    "HelpRequest",
    "HelpRequestLanguage",
    "HelpResponse",
    "HelpSuggestion",
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
    "SignInToken",
]
