"""Moderation routes beyond tests/route_access/core.py's: passing a report on to another network."""

from tests.route_access import MODERATORS

ACCESS = {
    "moderation.forward": MODERATORS,
    "api_moderation.ReportForward": MODERATORS,
    "api_moderation.Suspensions": MODERATORS,  # the queue's list of suspended members (moderation.queue)
}
