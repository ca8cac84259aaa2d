"""Imports every model so that the metadata is complete (Alembic, create_all in tests)."""

from network_service.accounts.models import ApiToken, DeviceSession, Person, SignInToken
from network_service.audit.models import AuditLog
from network_service.conversations.models import Channel, ChannelMember, Message, MessageRevision
from network_service.courses.models import CompletionEvent, CourseLink
from network_service.directory.models import (
    DirectoryEntry,
    EntryLanguage,
    EntryService,
    NetworkPublicPage,
)
from network_service.federations.models import FederationLink, SharedChannel, SharedResource
from network_service.goals.models import Goal, GoalUpdate
from network_service.growth.models import (
    CourseLinkRequest,
    GrowthSetting,
    NetworkApplication,
    NetworkPartner,
    NetworkStart,
)
from network_service.help.models import HelpRequest, HelpRequestLanguage, HelpResponse, HelpSuggestion
from network_service.insights.models import InsightCache, InsightNudge
from network_service.jobs import JobRun
from network_service.mail.models import OutboundEmail
from network_service.meetings.models import CalendarFeed, Meeting, MeetingReminder, Rsvp
from network_service.moderation.models import Block, Report
from network_service.networks.models import (
    Agreement,
    AgreementAcceptance,
    AgreementReminder,
    Invitation,
    InvitationReminder,
    Membership,
    Network,
    Organisation,
)
from network_service.notifications.models import Notification, NotificationSetting
from network_service.page_cache import CacheVersion
from network_service.privacy.models import ConsentRecord
from network_service.resources.models import Resource, ResourceTag

__all__ = [
    "CacheVersion",
    "Agreement",
    "AgreementAcceptance",
    "AgreementReminder",
    "ApiToken",
    "AuditLog",
    "CalendarFeed",
    "Block",
    "Channel",
    "ConsentRecord",
    "ChannelMember",
    "CompletionEvent",
    "CourseLink",
    "CourseLinkRequest",
    "DeviceSession",
    "DirectoryEntry",
    "EntryLanguage",
    "EntryService",
    "Goal",
    "GoalUpdate",
    "GrowthSetting",
    "HelpRequest",
    "HelpRequestLanguage",
    "HelpResponse",
    "HelpSuggestion",
    "InsightCache",
    "InsightNudge",
    "Invitation",
    "JobRun",
    "InvitationReminder",
    "Meeting",
    "MeetingReminder",
    "Membership",
    "Message",
    "MessageRevision",
    "Network",
    "NetworkApplication",
    "NetworkPartner",
    "NetworkPublicPage",
    "NetworkStart",
    "Notification",
    "NotificationSetting",
    "Organisation",
    "OutboundEmail",
    "Person",
    "Rsvp",
    "Report",
    "Resource",
    "ResourceTag",
    "FederationLink",
    "SharedChannel",
    "SharedResource",
    "SignInToken",
]
